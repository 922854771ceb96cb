/* fs.h - the FUSE low-level operations. Each handler resolves its inode,
 * asks the namespace (namespace.h), and sends exactly one reply.
 */
#ifndef PFS_FS_H
#define PFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "inode.h"
#include "namespace.h"

/* Passed as the session's userdata; the fs uses, but does not own, them. */
struct pfs_fs {
	struct pfs_ns *ns;
	struct pfs_inodes *inodes;
};

extern const struct fuse_lowlevel_ops pfs_fs_ops;

#endif
