/* dirops.h - parallel directory operations on libfuse before 3.17.1.
 *
 * Without FUSE_PARALLEL_DIROPS in the INIT reply the kernel serialises
 * lookups and listings within a directory: one request hanging in a
 * lookup stalls every other lookup of that directory, and N cold builds
 * cost N round trips one after another. libfuse enables the capability by
 * default but, before 3.17.1 (libfuse #861), never puts it in the reply.
 * This module puts it there: it wraps the session's device I/O
 * (fuse_session_custom_io) and adds the flag to the INIT reply when the
 * kernel offered it and the filesystem wants it.
 */
#ifndef PFS_DIROPS_H
#define PFS_DIROPS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <stdbool.h>

/* Call after fuse_session_mount() and before the session loop starts;
 * @wanted(@arg) is asked as the INIT reply goes out (after the
 * filesystem's init), so it can say what the filesystem asked for.
 * Returns 0 or -errno (the session then works as before). */
int pfs_dirops_install(struct fuse_session *se, bool (*wanted)(void *),
		       void *arg);

#endif
