/* model.h - a build as the tree the mount shows, whichever API it came
 * from.
 *
 * A backend (backend/: v3, v5) reads its API's answer and makes a struct
 * pfs_build with the builder below: every field a file, stages and tasks
 * as directories named after them. The cache, namespace and FUSE layers
 * see only this tree, never an API's JSON. A build is immutable once made;
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
	PFS_NODE_LOG,		/* a v5 step's log (its directory's id names
				 * the step), or a job's: its steps' in order;
				 * fetched and kept by the cache */
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

struct pfs_build;

/* How a build's tree is made again from its body (model_pack.c): the
 * backend's parser and what it needs beside the body (v5: the zone). */
struct pfs_tree_source {
	int (*parse)(const char *body, size_t len, const void *arg,
		     struct pfs_build **out, char *err, size_t errsize);
	void *arg;		/* owned by the build: */
	void (*free_arg)(void *arg);	/* called when it goes, if set */
};

struct pfs_build {
	int refcount;		/* atomic */
	/* set by the backend: the tree can be dropped and made again from
	 * the body (pfs_build_shrink); parse NULL: it is kept */
	struct pfs_tree_source source;
	bool shrunk;		/* nodes, by_hash, strings and node_ns are
				 * not there: pfs_build_expand makes them */
	unsigned char *znode_ns;	/* shrunk: node_ns deflated, or NULL */
	size_t znode_ns_len;
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

/* The builder a backend makes a build with. Not thread-safe; one per
 * answer. pfs_tree_new() starts the tree with its build directory (node
 * PFS_NODE_ROOT) in the build's time group; every node added gets the
 * path hash of its path and the current group. Text is copied (and stored
 * once however often it occurs). */
struct pfs_tree_builder;

/* A builder for an answer of about @body_len bytes (a size hint). */
struct pfs_tree_builder *pfs_tree_new(size_t body_len);
/* Frees a builder not finished (NULL is fine). */
void pfs_tree_free(struct pfs_tree_builder *b);

/* A directory @name (a safe name: names.h) in directory @parent. */
uint32_t pfs_tree_dir(struct pfs_tree_builder *b, uint32_t parent,
		      const char *name);
/* A field file @name in @parent: @len bytes of @text and a newline, or
 * empty when @text is NULL (null or missing in the answer). */
uint32_t pfs_tree_file(struct pfs_tree_builder *b, uint32_t parent,
		       const char *name, const char *text, size_t len);
/* Sets file @file's content as pfs_tree_file() does. */
void pfs_tree_set_value(struct pfs_tree_builder *b, uint32_t file,
			const char *text, size_t len);
/* A directory (@is_dir) or file named after untrusted @text (@len bytes,
 * NULL for none: then @fallback), made safe and unique in @taken (a set
 * of g_malloc'd names, which the name is added to): names.h. */
uint32_t pfs_tree_named(struct pfs_tree_builder *b, uint32_t parent,
			GHashTable *taken, const char *text, size_t len,
			const char *fallback, bool is_dir);
/* Nodes added from now until pfs_tree_group_end(@returned) are a time
 * group of directory @dir (a stage, a task): they share its first-seen
 * time (pfs_build_set_times), its end_time or start_time file. */
uint16_t pfs_tree_group_begin(struct pfs_tree_builder *b, uint32_t dir);
void pfs_tree_group_end(struct pfs_tree_builder *b, uint16_t outer);
/* Whether the tree has more nodes than any real build (100000): a
 * backend stops and fails with -EPROTO, so a small hostile body cannot
 * make gigabytes of nodes. */
bool pfs_tree_full(const struct pfs_tree_builder *b);
/* A `log` file (PFS_NODE_LOG) in directory @parent: a step's or a job's. */
uint32_t pfs_tree_log(struct pfs_tree_builder *b, uint32_t parent);
/* The files every build directory has whatever its API: status.json,
 * summary, events and wait. */
void pfs_tree_add_build_files(struct pfs_tree_builder *b);
/* failed/, from the tree so far (summary.h says what failed): add it
 * once every stage and task is in. */
void pfs_tree_add_failed(struct pfs_tree_builder *b);
/* Ends the tree: *@out a new build with one reference for the caller,
 * keeping @len bytes of @body (the answer as received) deflated for
 * status.json, and its identity (build_id, pipeline_id, completed,
 * outcome: "") for the backend to set before it shares the build. Frees
 * the builder whatever happens; -ENOMEM (and *@out NULL) on failure. */
int pfs_tree_finish(struct pfs_tree_builder *b, const char *body, size_t len,
		    struct pfs_build **out);

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

/* Bytes @build holds once shrunk, for cache accounting: the deflated
 * body, its times and identity (its tree comes on top while expanded). */
size_t pfs_build_size(const struct pfs_build *build);

/* A compact tree (model_pack.c). A cached build need not keep its nodes:
 * they are made again from the body, so a cache keeps most builds shrunk
 * (a few KiB: the deflated body and the change times) and only those in
 * use expanded. Neither is thread-safe on its own: the caller (the cache,
 * under its lock) must be the build's only user, which it is when
 * @build->refcount is 1 and every other reference is taken under the
 * same lock, after pfs_build_expand.
 *
 * pfs_build_shrink: drops the tree (a build without a source, or already
 * shrunk, is left as it is); true when it did. pfs_build_expand: makes
 * the tree again; 0, or -ENOMEM / -EPROTO (the body no longer parses the
 * same: a bug; the build must then be dropped). */
bool pfs_build_shrink(struct pfs_build *build);
int pfs_build_expand(struct pfs_build *build);

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
