/* inode.h - inode numbers: a node's identity packed into 64 bits.
 *
 *   00 | 1                                     the root
 *   00 | 2                                     /.pipelinefs
 *   00 | 3 + view (views.h)                    its files
 *   00 | 7, 8                                  /by-name, /projects
 *   00 | 1 (6) | project + 1 (24) | pipeline (32)
 *                                              a name link: of by-name/
 *                                              (project 0), or of a
 *                                              project's directory
 *   00 | 2 (6) | project + 1 (24) | 0 (32)     a project's directory
 *   01 | which (6) | build (24) | pipeline (32) a pipeline's directory (0),
 *                                              its files (2 + view), its
 *                                              "latest" link (1) with the
 *                                              slot of the build it points
 *                                              at: a new target, a new node
 *   10 | build slot (22 bits) | lookup (40)    a `wait` of a build: every
 *                                              lookup of it a new node, so
 *                                              that no reader shares the
 *                                              kernel's page of another
 *   11 | build slot (22 bits) | path (40 bits) a node of a build's tree
 *
 * Slots are the cache's small numbers for pipelines, builds and projects
 * (cache.h),
 * paths the model's path hashes (model.h). Nothing is stored per inode, so
 * the kernel may hold any number of them at no cost to the daemon, the
 * same node has the same number in a readdir, a stat and after a refresh,
 * and lookup counts need no bookkeeping.
 */
#ifndef PFS_INODE_H
#define PFS_INODE_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "namespace.h"

#define PFS_INO_MAX_BUILDS (UINT32_C(1) << 22)

fuse_ino_t pfs_ino_encode(const struct pfs_ns_node *node);

/* 0, or -ESTALE for a number no node of ours can have. */
int pfs_ino_decode(fuse_ino_t ino, struct pfs_ns_node *node);

#endif
