/* inode.c - see inode.h */
#include "inode.h"

#include <errno.h>
#include <string.h>

#include "model.h"

#define KIND_SHIFT 62
#define KIND_PIPELINE UINT64_C(1)
#define KIND_LATEST UINT64_C(2)
#define KIND_BUILD UINT64_C(3)
#define SLOT_MASK ((UINT64_C(1) << KIND_SHIFT) - 1)
#define BUILD_SHIFT 40

fuse_ino_t pfs_ino_encode(const struct pfs_ns_node *node)
{
	switch (node->kind) {
	case PFS_NS_ROOT:
		break;
	case PFS_NS_PIPELINE:
		return (KIND_PIPELINE << KIND_SHIFT) | node->pipeline;
	case PFS_NS_LATEST:
		return (KIND_LATEST << KIND_SHIFT) | node->pipeline;
	case PFS_NS_BUILD:
		return (KIND_BUILD << KIND_SHIFT) |
		       ((uint64_t)node->build << BUILD_SHIFT) |
		       (node->path_hash & PFS_PATH_HASH_MASK);
	}
	return FUSE_ROOT_ID;
}

int pfs_ino_decode(fuse_ino_t ino, struct pfs_ns_node *node)
{
	uint64_t kind = ino >> KIND_SHIFT;
	uint64_t rest = ino & SLOT_MASK;

	memset(node, 0, sizeof(*node));
	if (ino == FUSE_ROOT_ID) {
		node->kind = PFS_NS_ROOT;
		return 0;
	}
	if ((kind == KIND_PIPELINE || kind == KIND_LATEST) && rest <= UINT32_MAX) {
		node->kind = kind == KIND_PIPELINE ? PFS_NS_PIPELINE : PFS_NS_LATEST;
		node->pipeline = (uint32_t)rest;
		return 0;
	}
	if (kind == KIND_BUILD) {
		node->kind = PFS_NS_BUILD;
		node->build = (uint32_t)(rest >> BUILD_SHIFT);
		node->path_hash = rest & PFS_PATH_HASH_MASK;
		return 0;
	}
	return -ESTALE;
}
