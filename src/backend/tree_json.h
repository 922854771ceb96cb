/* tree_json.h - the generic tree (model.h) made from JSON values: what
 * every API's model (v3_model.c, v5_model.c) does alike with the builder.
 *
 * Values are read as json.h reads them: any field may be missing, null or
 * of another type; a file shows a string as itself and anything else as
 * its JSON text, and is empty for null or missing. Names made from the
 * answer go through pfs_tree_named() (names.h: safe and unique).
 * Pure functions of their arguments; a builder is one thread's.
 */
#ifndef PFS_TREE_JSON_H
#define PFS_TREE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <json-c/json.h>

#include "model.h"

/* How an API's model reads a body into a build (pfs_tree_json_read). */
struct pfs_tree_json_schema {
	/* Adds the tree of @body to @b (whose build directory is made):
	 * 0, or -EPROTO with a one-line reason in @err. */
	int (*build)(struct pfs_tree_builder *b, struct json_object *body,
		     void *data, char *err, size_t errsize);
	/* Sets the finished @build's identity (model.h: build_id,
	 * pipeline_id, bad_identity, completed, outcome) from @body. */
	void (*identity)(struct pfs_build *build, struct json_object *body);
};

/* Reads @len bytes of @body (pfs_json_parse: a JSON object, nothing read
 * past them) into *@out with @schema (@data is its): a new build with one
 * reference for the caller that keeps the body for status.json. -EPROTO
 * with the reason in @err when the body is no object or @schema's build
 * says so; -ENOMEM. *@out is NULL on any error. */
int pfs_tree_json_read(const char *body, size_t len,
		       const struct pfs_tree_json_schema *schema, void *data,
		       struct pfs_build **out, char *err, size_t errsize);

/* A field file @name in @dir holding @obj's member @key (see above). */
uint32_t pfs_tree_json_field(struct pfs_tree_builder *b, uint32_t dir,
			     const char *name, struct json_object *obj,
			     const char *key);

/* A field file per key of @keys (NULL-ended) in @dir, named as the key. */
void pfs_tree_json_fields(struct pfs_tree_builder *b, uint32_t dir,
			  struct json_object *obj, const char *const *keys);

/* A new set of the names taken in one directory, for pfs_tree_named()
 * (g_hash_table_destroy it). */
GHashTable *pfs_tree_json_taken(void);

/* A directory (@is_dir) or file in @parent named after the text of @raw
 * (see above; @fallback when it has none), unique in @taken. */
uint32_t pfs_tree_json_named(struct pfs_tree_builder *b, uint32_t parent,
			     GHashTable *taken, struct json_object *raw,
			     const char *fallback, bool is_dir);

/* parameters/ in the build directory: a file per item {name, value} of
 * the array @key of @body (missing or null: none), named after name
 * ("parameter-N" when it has none), holding value. -EPROTO with the
 * reason in @err when @key is not an array of objects or holds more
 * items than any real build (pfs_tree_full). */
int pfs_tree_json_parameters(struct pfs_tree_builder *b,
			     struct json_object *body, const char *key,
			     char *err, size_t errsize);

/* The id in @obj's member @key (pfs_json_id): *@id a g_malloc'd copy, or
 * NULL. Returns true if the member holds something (not null) that is no
 * usable id: a build's bad_identity (model.h). */
bool pfs_tree_json_id(struct json_object *obj, const char *key, char **id);

#endif
