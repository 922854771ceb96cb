/* inode.c - see inode.h */
#include "inode.h"

#include <errno.h>
#include <string.h>

#include "model.h"

#define KIND_SHIFT 62
#define KIND_MOUNT UINT64_C(0)
#define KIND_PIPELINE UINT64_C(1)
#define KIND_WAIT UINT64_C(2)
#define KIND_BUILD UINT64_C(3)
#define REST_MASK ((UINT64_C(1) << KIND_SHIFT) - 1)
#define BUILD_SHIFT 40
/* a pipeline's nodes: which one, above the slot */
#define PIPELINE_NODE_SHIFT 56
#define PIPELINE_DIR 0
#define PIPELINE_LATEST 1
#define PIPELINE_VIEW 2		/* + enum pfs_view */
/* latest: the build it points at, above the pipeline's slot */
#define LATEST_BUILD_SHIFT 32
/* the mount's own: 1 the root, 2 .pipelinefs, 3 + enum pfs_view its files */
#define MOUNT_STATE_DIR 2
#define MOUNT_VIEW 3
#define MOUNT_VIEWS 4
#define MOUNT_BY_NAME (MOUNT_VIEW + MOUNT_VIEWS)
#define MOUNT_PROJECTS (MOUNT_BY_NAME + 1)
/* the mount's nodes made of the catalog: which, a project slot + 1 (0 for
 * by-name/), a pipeline slot */
#define MOUNT_WHICH_SHIFT 56
#define MOUNT_PROJECT_SHIFT 32
#define MOUNT_PROJECT_MASK ((UINT64_C(1) << 24) - 1)
#define MOUNT_NAME_LINK 1
#define MOUNT_PROJECT 2

static fuse_ino_t pipeline_ino(uint64_t which, uint32_t slot, uint32_t build)
{
	return (KIND_PIPELINE << KIND_SHIFT) | (which << PIPELINE_NODE_SHIFT) |
	       ((uint64_t)build << LATEST_BUILD_SHIFT) | slot;
}

static fuse_ino_t mount_ino(uint64_t which, uint32_t project, uint32_t pipeline)
{
	return (which << MOUNT_WHICH_SHIFT) |
	       (((uint64_t)project & MOUNT_PROJECT_MASK) << MOUNT_PROJECT_SHIFT) |
	       pipeline;
}

static fuse_ino_t build_ino(uint64_t kind, uint32_t slot, uint64_t low)
{
	return (kind << KIND_SHIFT) | ((uint64_t)slot << BUILD_SHIFT) |
	       (low & PFS_PATH_HASH_MASK);
}

fuse_ino_t pfs_ino_encode(const struct pfs_ns_node *node)
{
	switch (node->kind) {
	case PFS_NS_ROOT:
		break;
	case PFS_NS_STATE_DIR:
		return MOUNT_STATE_DIR;
	case PFS_NS_STATE_FILE:
		return MOUNT_VIEW + node->view;
	case PFS_NS_BY_NAME_DIR:
		return MOUNT_BY_NAME;
	case PFS_NS_PROJECTS_DIR:
		return MOUNT_PROJECTS;
	case PFS_NS_PROJECT:
		return mount_ino(MOUNT_PROJECT, node->project, 0);
	case PFS_NS_NAME_LINK:
		return mount_ino(MOUNT_NAME_LINK, node->project, node->pipeline);
	case PFS_NS_PIPELINE:
		return pipeline_ino(PIPELINE_DIR, node->pipeline, 0);
	case PFS_NS_LATEST:
		return pipeline_ino(PIPELINE_LATEST, node->pipeline, node->build);
	case PFS_NS_PIPELINE_FILE:
		return pipeline_ino(PIPELINE_VIEW + node->view, node->pipeline, 0);
	case PFS_NS_WAIT:
		return build_ino(KIND_WAIT, node->build, node->path_hash);
	case PFS_NS_BUILD:
		return build_ino(KIND_BUILD, node->build, node->path_hash);
	}
	return FUSE_ROOT_ID;
}

static int decode_pipeline(uint64_t rest, struct pfs_ns_node *node)
{
	uint64_t which = rest >> PIPELINE_NODE_SHIFT;
	uint64_t build = (rest & ((UINT64_C(1) << PIPELINE_NODE_SHIFT) - 1)) >>
			 LATEST_BUILD_SHIFT;

	if (which >= PIPELINE_VIEW + 2 || (build && which != PIPELINE_LATEST))
		return -ESTALE;
	node->pipeline = (uint32_t)rest;
	if (which == PIPELINE_DIR)
		node->kind = PFS_NS_PIPELINE;
	else if (which == PIPELINE_LATEST) {
		node->kind = PFS_NS_LATEST;
		node->build = (uint32_t)build;
	} else {
		node->kind = PFS_NS_PIPELINE_FILE;
		node->view = (uint32_t)(which - PIPELINE_VIEW);
	}
	return 0;
}

static int decode_mount(uint64_t ino, struct pfs_ns_node *node)
{
	uint64_t which = ino >> MOUNT_WHICH_SHIFT;

	node->project = (uint32_t)((ino >> MOUNT_PROJECT_SHIFT) & MOUNT_PROJECT_MASK);
	node->pipeline = (uint32_t)ino;
	if (which == MOUNT_NAME_LINK) {
		node->kind = PFS_NS_NAME_LINK;
		return 0;
	}
	if (which == MOUNT_PROJECT && node->project && !node->pipeline) {
		node->kind = PFS_NS_PROJECT;
		return 0;
	}
	node->project = node->pipeline = 0;
	if (ino == FUSE_ROOT_ID)
		node->kind = PFS_NS_ROOT;
	else if (ino == MOUNT_STATE_DIR)
		node->kind = PFS_NS_STATE_DIR;
	else if (ino >= MOUNT_VIEW && ino < MOUNT_VIEW + MOUNT_VIEWS) {
		node->kind = PFS_NS_STATE_FILE;
		node->view = (uint32_t)(ino - MOUNT_VIEW);
	} else if (ino == MOUNT_BY_NAME)
		node->kind = PFS_NS_BY_NAME_DIR;
	else if (ino == MOUNT_PROJECTS)
		node->kind = PFS_NS_PROJECTS_DIR;
	else
		return -ESTALE;
	return 0;
}

int pfs_ino_decode(fuse_ino_t ino, struct pfs_ns_node *node)
{
	uint64_t kind = ino >> KIND_SHIFT;
	uint64_t rest = ino & REST_MASK;

	memset(node, 0, sizeof(*node));
	switch (kind) {
	case KIND_MOUNT:
		return decode_mount(ino, node);
	case KIND_PIPELINE:
		return decode_pipeline(rest, node);
	default:
		node->kind = kind == KIND_WAIT ? PFS_NS_WAIT : PFS_NS_BUILD;
		node->build = (uint32_t)(rest >> BUILD_SHIFT);
		node->path_hash = rest & PFS_PATH_HASH_MASK;
		return 0;
	}
}
