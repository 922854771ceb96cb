/* monitor.h - tells readers and the kernel about changes, from a thread
 * of its own (never from a request handler, never under a lock a handler
 * takes).
 *
 * - Waiters: a read of `wait` whose build is not completed is stored (its
 *   fuse_req_t) and answered later, by this thread, when the build
 *   completes (its outcome) or is gone (ENOENT); by libfuse's thread when
 *   the kernel interrupts it (EINTR); with ENOTCONN when the mount goes
 *   away (lazy unmount, seen in /proc/self/mountinfo) or the daemon stops.
 *   A waiter holds no thread: 1000 of them cost 1000 small structs.
 * - While anyone waits on a build, it is refreshed every ttl (the cache's
 *   single flight: one request however many wait).
 * - The cache's change hook queues what changed; this thread tells the
 *   kernel to drop the attributes and pages of each node that changed
 *   (fuse_lowlevel_notify_inval_inode), so `cat` sees a change at once.
 *
 * Locking: one mutex for the waiters, one for the queue; neither is held
 * while calling the cache or libfuse.
 */
#ifndef PFS_MONITOR_H
#define PFS_MONITOR_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "cache.h"

/* How often waited-on builds are looked at (seconds). */
#define PFS_MONITOR_TICK 0.25

struct pfs_monitor;

/* Uses, does not own, @cache. Installs itself as its change hook. */
int pfs_monitor_new(struct pfs_cache *cache, struct pfs_monitor **out);

/* Starts the thread (after fuse_daemonize(): threads do not survive its
 * fork), for session @se mounted on @mountpoint. 0 or -errno. */
int pfs_monitor_start(struct pfs_monitor *m, struct fuse_session *se,
		      const char *mountpoint);

/* Replies to @req, a read of @size bytes at @off of the `wait` of build
 * @build_slot that is not completed (yet): now if it completed meanwhile,
 * else when it does. Call from the read handler, which then returns. */
void pfs_monitor_park(struct pfs_monitor *m, fuse_req_t req,
		      uint32_t build_slot, off_t off, size_t size);

/* Ends every waiter with -@err's errno and the thread. */
void pfs_monitor_stop(struct pfs_monitor *m, int err);
void pfs_monitor_free(struct pfs_monitor *m);

/* What a completed build's `wait` holds: its outcome and a newline
 * ("unknown" when the service gave none). g_free it. */
char *pfs_monitor_answer(const struct pfs_build *build, size_t *len);

#endif
