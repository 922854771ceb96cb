/* model.h - a status response turned into the tree the mount shows.
 *
 * pfs_model_parse() reads the body of GET /v3/pipelines/{id}/status and
 * builds a struct pfs_build: every documented field as a file, stages and
 * tasks as directories named after them. A build is immutable once made;
 * the cache and every open file hold a reference (pfs_build_ref/unref),
 * so a reader keeps a consistent copy while a refresh replaces it.
 *
 * Nodes live in one array and their text in one string block, to keep a
 * cached build small; node 0 is the build directory.
 */
#ifndef PFS_MODEL_H
#define PFS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <glib.h>

#define PFS_NODE_NONE UINT32_MAX
#define PFS_NODE_ROOT 0
/* Path hashes have 40 bits: they are the low bits of inode numbers. */
#define PFS_PATH_HASH_MASK ((UINT64_C(1) << 40) - 1)

struct pfs_node {
	uint64_t path_hash;	/* of the path from the build directory; unique
				 * in the build, the same after a refresh */
	uint32_t name;		/* offset into strings */
	uint32_t content;	/* offset into strings, files only */
	uint32_t content_len;
	uint32_t first_child;
	uint32_t next_sibling;
	bool is_dir;
	bool is_body;		/* content is the body (status.json) */
};

struct pfs_build {
	int refcount;		/* atomic */
	unsigned char *zbody;	/* the response body as received, deflated */
	size_t zbody_len;
	size_t body_len;	/* inflated */
	struct pfs_node *nodes;
	uint32_t *by_hash;	/* node indices sorted by path_hash */
	uint32_t n_nodes;
	char *strings;
	size_t strings_len;
	char *build_id;		/* body's build_id if a valid id, else NULL */
	char *pipeline_id;	/* body's pipeline_id if a valid id, else NULL */
	bool bad_identity;	/* either holds something no id can be */
	bool completed;		/* status is "completed": never changes again */
	/* wall clock, set by the cache before sharing; the mtime of the
	 * build's files, so that the kernel drops its cached pages of a build
	 * that was refreshed */
	struct timespec fetched_at;
};

/* Parses @len bytes of @body, which need not be NUL-terminated: nothing
 * past body[len - 1] is read, and only whitespace may follow the JSON
 * value within them. On success *out holds a new build with one
 * reference for the caller. On a body that is not the documented shape
 * returns -EPROTO and writes the reason to @err; -ENOMEM on allocation
 * failure. */
int pfs_model_parse(const char *body, size_t len, struct pfs_build **out,
		    char *err, size_t errsize);

/* Reads the body of the batch call GET /v3/pipelines/status?pipeline_ids=
 * (a JSON array, one object per pipeline) into *out: pipeline id -> the id
 * of its latest build, for the items that name both as valid ids (a new
 * GHashTable of strings, for the caller to destroy). -EPROTO when the body
 * is not such an array (read as by pfs_model_parse: @len bytes, no NUL
 * needed, nothing but whitespace after the array). */
int pfs_model_parse_latest_ids(const char *body, size_t len, GHashTable **out,
			       char *err, size_t errsize);

struct pfs_build *pfs_build_ref(struct pfs_build *build);
void pfs_build_unref(struct pfs_build *build);

/* Bytes held by @build, for cache accounting. */
size_t pfs_build_size(const struct pfs_build *build);

/* The child of directory @dir called @name, or PFS_NODE_NONE. */
uint32_t pfs_build_child(const struct pfs_build *build, uint32_t dir,
			 const char *name);

/* The node at @relpath ("" for the build directory, else names joined by
 * '/'), or PFS_NODE_NONE. */
uint32_t pfs_build_walk(const struct pfs_build *build, const char *relpath);

/* The node whose path_hash is @path_hash, or PFS_NODE_NONE. */
uint32_t pfs_build_find(const struct pfs_build *build, uint64_t path_hash);

const char *pfs_build_node_name(const struct pfs_build *build, uint32_t node);

/* A file's content; NULL for the body node (see pfs_build_body). */
const char *pfs_build_node_content(const struct pfs_build *build,
				   uint32_t node, size_t *len);

/* The body as received (body_len bytes, NUL-ended), inflated into a new
 * buffer for the caller to g_free(); NULL if out of memory. */
char *pfs_build_body(const struct pfs_build *build);

#endif
