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

/* What a node is. Files whose content the daemon makes, not the body,
 * have no content here: the namespace makes it (summary, events, wait). */
enum pfs_node_kind {
	PFS_NODE_FILE,		/* a field: content is the value and a newline */
	PFS_NODE_DIR,
	PFS_NODE_BODY,		/* status.json: the body as received */
	PFS_NODE_LINK,		/* a symlink (failed/): content is its target */
	PFS_NODE_SUMMARY,	/* the build at a glance */
	PFS_NODE_EVENTS,	/* the build's change log, kept by the cache */
	PFS_NODE_WAIT,		/* blocks until completed; found, never listed */
};

struct pfs_node {
	uint64_t path_hash;	/* of the path from the build directory; unique
				 * in the build, the same after a refresh */
	uint32_t name;		/* offset into strings */
	uint32_t content;	/* offset into strings, files and links only */
	uint32_t content_len;
	uint32_t first_child;
	uint32_t next_sibling;
	bool is_dir;		/* kind == PFS_NODE_DIR */
	uint8_t kind;		/* enum pfs_node_kind */
	uint16_t time;		/* index into the build's times[]: its group */
};

/* Where a build's first-seen times come from: each of times[] is a
 * group's (the build, a stage or a task: its end_time, else start_time),
 * which every file of the group shares. A directory's is the newest time
 * below it, worked out when asked. */
struct pfs_time_slot {
	uint32_t dir;		/* the group's node */
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
	char *outcome;		/* the build's outcome as given, "" if none */
	/* Change times, epoch nanoseconds, set once by the cache before the
	 * build is shared (pfs_build_set_times / pfs_build_carry_times): a
	 * node's mtime is node_ns[node] when node_ns is set (a build refreshed
	 * from an older copy), else a file's is times[nodes[node].time] and a
	 * directory's the newest below it. */
	int64_t *times;
	struct pfs_time_slot *time_slots;	/* n_times, what each one is;
						 * freed once the times are set */
	uint32_t n_times;
	int64_t *node_ns;
};

/* Parses @len bytes of @body, which need not be NUL-terminated: nothing
 * past body[len - 1] is read, and only whitespace may follow the JSON
 * value within them. On success *out holds a new build with one
 * reference for the caller. On a body that is not the documented shape
 * returns -EPROTO and writes the reason to @err; -ENOMEM on allocation
 * failure. */
int pfs_model_parse(const char *body, size_t len, struct pfs_build **out,
		    char *err, size_t errsize);

/* One JSON value of @type (json_type_object or json_type_array) in
 * exactly @len bytes of @body, which need not be NUL-terminated (nothing
 * but whitespace may follow it; nesting deeper than 32 is refused): a new
 * json-c object (json_object_put it), or NULL with a one-line reason in
 * @err. Every JSON answer of the service is read with it. */
struct json_object;
struct json_object *pfs_model_parse_json(const char *body, size_t len,
					 int type, char *err, size_t errsize);

/* Reads the body of the batch call GET /v3/pipelines/status?pipeline_ids=
 * (a JSON array, one object per pipeline) into *out: pipeline id -> the id
 * of its latest build, for the items that name both as valid ids (a new
 * GHashTable of strings, for the caller to destroy). -EPROTO when the body
 * is not such an array (read as by pfs_model_parse: @len bytes, no NUL
 * needed, nothing but whitespace after the array). */
int pfs_model_parse_latest_ids(const char *body, size_t len, GHashTable **out,
			       char *err, size_t errsize);

/* First seen: every node's time from the API's times (end_time, else
 * start_time, "YYYY-MM-DD HH:MM:SS" read in @tz, see apitime.h) of its
 * group; a group without one takes the build's, a build without one
 * @now_ns (epoch ns). A directory's is the newest below it. */
void pfs_build_set_times(struct pfs_build *build, GTimeZone *tz,
			 int64_t now_ns);

/* Refreshed: a node whose content is as in @old keeps its time there, a
 * new or changed one gets @now_ns; status.json, summary and wait change
 * when anything does. Returns how many files and links changed. */
uint32_t pfs_build_carry_times(struct pfs_build *build,
			       const struct pfs_build *old, int64_t now_ns);

/* The mtime of node @node, epoch ns. */
int64_t pfs_build_node_ns(const struct pfs_build *build, uint32_t node);

/* The parent directory of node @node; PFS_NODE_NONE for the root. */
uint32_t pfs_build_parent(const struct pfs_build *build, uint32_t node);

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

/* A file's or link's content; NULL for the body node (see
 * pfs_build_body) and for content the namespace makes (summary, events,
 * wait: len 0). */
const char *pfs_build_node_content(const struct pfs_build *build,
				   uint32_t node, size_t *len);

/* The body as received (body_len bytes, NUL-ended), inflated into a new
 * buffer for the caller to g_free(); NULL if out of memory. */
char *pfs_build_body(const struct pfs_build *build);

#endif
