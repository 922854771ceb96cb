/* inode.h - inode numbers for namespace nodes, and the kernel's lookup
 * counts on them.
 *
 * A node's number is a hash of its identity, so it is the same in a
 * readdir, a stat and a later mount. An inode lives from the first
 * lookup the kernel is told of until the kernel forgets it; the table owns
 * every struct pfs_inode and its lock guards the table and all nlookup
 * counts. A struct pfs_inode found by number stays valid while the
 * kernel holds a lookup on it, which it does for the whole of any
 * operation on it.
 */
#ifndef PFS_INODE_H
#define PFS_INODE_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdint.h>

#include "namespace.h"

struct pfs_inode {
	fuse_ino_t ino;
	struct pfs_ns_node node;	/* owned */
	char *key;			/* pfs_ns_node_key(), owned */
	uint64_t nlookup;		/* guarded by the table's lock */
};

struct pfs_inodes;

int pfs_inodes_new(struct pfs_inodes **out);
void pfs_inodes_free(struct pfs_inodes *inodes);

/* The number @node has (or will have, once looked up). */
fuse_ino_t pfs_inodes_number(struct pfs_inodes *inodes,
			     const struct pfs_ns_node *node);

/* Counts one kernel lookup of @node, creating its inode if needed (the
 * table copies @node). Returns the inode number. */
fuse_ino_t pfs_inodes_remember(struct pfs_inodes *inodes,
			       const struct pfs_ns_node *node);

/* The inode numbered @ino, or NULL (FUSE_ROOT_ID always exists). */
struct pfs_inode *pfs_inodes_find(struct pfs_inodes *inodes, fuse_ino_t ino);

/* The kernel dropped @nlookup lookups of @ino; frees it at zero. */
void pfs_inodes_forget(struct pfs_inodes *inodes, fuse_ino_t ino,
		       uint64_t nlookup);

#endif
