/* tree_json.c - see tree_json.h */
#include "tree_json.h"
#include "json.h"

#include <errno.h>
#include <stdio.h>

int pfs_tree_json_read(const char *body, size_t len,
		       const struct pfs_tree_json_schema *schema, void *data,
		       struct pfs_build **out, char *err, size_t errsize)
{
	struct pfs_tree_builder *b;
	struct json_object *obj;
	int res;

	*out = NULL;
	obj = pfs_json_parse(body, len, json_type_object, err, errsize);
	if (!obj)
		return -EPROTO;
	b = pfs_tree_new(len);
	res = schema->build(b, obj, data, err, errsize);
	if (res == 0) {
		res = pfs_tree_finish(b, body, len, out);
		if (res == 0)
			schema->identity(*out, obj);
	} else {
		pfs_tree_free(b);
	}
	json_object_put(obj);
	return res;
}

uint32_t pfs_tree_json_field(struct pfs_tree_builder *b, uint32_t dir,
			     const char *name, struct json_object *obj,
			     const char *key)
{
	size_t len;
	const char *text = pfs_json_text(pfs_json_get(obj, key), &len);

	return pfs_tree_file(b, dir, name, text, len);
}

void pfs_tree_json_fields(struct pfs_tree_builder *b, uint32_t dir,
			  struct json_object *obj, const char *const *keys)
{
	for (; *keys; keys++)
		pfs_tree_json_field(b, dir, *keys, obj, *keys);
}

GHashTable *pfs_tree_json_taken(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

uint32_t pfs_tree_json_named(struct pfs_tree_builder *b, uint32_t parent,
			     GHashTable *taken, struct json_object *raw,
			     const char *fallback, bool is_dir)
{
	size_t len;
	const char *text = pfs_json_text(raw, &len);

	return pfs_tree_named(b, parent, taken, text, len, fallback, is_dir);
}

int pfs_tree_json_parameters(struct pfs_tree_builder *b,
			     struct json_object *body, const char *key,
			     char *err, size_t errsize)
{
	struct json_object *params;
	uint32_t dir = pfs_tree_dir(b, PFS_NODE_ROOT, "parameters");
	GHashTable *taken = pfs_tree_json_taken();
	int res = pfs_json_objects(body, key, &params, err, errsize);
	size_t i;

	for (i = 0; res == 0 && params && i < json_object_array_length(params); i++) {
		struct json_object *param = json_object_array_get_idx(params, i);
		char fallback[32];
		const char *text;
		size_t len;
		uint32_t file;

		if (pfs_tree_full(b)) {
			snprintf(err, errsize, "more parameters than any real build has");
			res = -EPROTO;
			break;
		}
		snprintf(fallback, sizeof(fallback), "parameter-%zu", i + 1);
		file = pfs_tree_json_named(b, dir, taken, pfs_json_get(param, "name"),
					   fallback, false);
		text = pfs_json_text(pfs_json_get(param, "value"), &len);
		pfs_tree_set_value(b, file, text, len);
	}
	g_hash_table_destroy(taken);
	return res;
}

bool pfs_tree_json_id(struct json_object *obj, const char *key, char **id)
{
	struct json_object *value = pfs_json_get(obj, key);

	*id = pfs_json_id(value);
	return value && !json_object_is_type(value, json_type_null) && !*id;
}
