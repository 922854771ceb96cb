/* fs.h - the FUSE low-level operations. Each handler resolves its inode,
 * asks the namespace (namespace.h), and sends exactly one reply.
 */
#ifndef PFS_FS_H
#define PFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "monitor.h"
#include "namespace.h"

#include <glib.h>
#include <pthread.h>
#include <stdbool.h>

/* Passed as the session's userdata. The fs uses, but does not own, ns;
 * it owns the handles of open files and directories. */
struct pfs_fs {
	struct pfs_ns *ns;
	struct pfs_monitor *monitor;	/* answers reads of wait */
	struct fuse_session *se;	/* set before the session starts */
	bool no_open;		/* set at init: the kernel can do without open */
	bool no_opendir;	/* and without opendir */
	bool parallel_dirops;	/* set at init: asked for (dirops.h) */
	pthread_mutex_t lock;
	GHashTable *open_handles;	/* guarded by lock: handle -> its kind */
};

extern const struct fuse_lowlevel_ops pfs_fs_ops;

void pfs_fs_init(struct pfs_fs *fs, struct pfs_ns *ns,
		 struct pfs_monitor *monitor);

/* For pfs_dirops_install(): whether init asked for parallel directory
 * operations (@fs is the struct pfs_fs). */
bool pfs_fs_wants_parallel_dirops(void *fs);

/* Drops every unfinished build, here and in the kernel's caches, so that
 * the next read fetches afresh (SIGHUP). Call from a thread of its own,
 * never from a request handler. */
void pfs_fs_refresh(struct pfs_fs *fs);

/* Frees what the kernel never released: files still open at unmount. */
void pfs_fs_cleanup(struct pfs_fs *fs);

#endif
