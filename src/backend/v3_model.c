/* v3_model.c - see v3.h: a v3 status body as the generic tree (model.h). */
#include "v3.h"
#include "json.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

static const char *const build_fields[] = {
	"status", "outcome", "pipeline_id", "pipeline_name", "executor",
	"build_id", "start_time", "end_time", "elapsed_time", "detail_url",
	NULL
};

static const char *const state_fields[] = {
	"id", "name", "type", "status", "outcome", "start_time", "end_time",
	"elapsed_time", "error_code", "error_msg", "detail_url", NULL
};

struct reader {
	struct pfs_tree_builder *b;
	char *err;
	size_t errsize;
};

static void add_fields(struct reader *r, uint32_t dir,
		       struct json_object *obj, const char *const *keys)
{
	for (; *keys; keys++) {
		size_t len;
		const char *text = pfs_json_text(pfs_json_get(obj, *keys), &len);

		pfs_tree_file(r->b, dir, *keys, text, len);
	}
}

static int fail(struct reader *r, const char *what)
{
	snprintf(r->err, r->errsize, "%s", what);
	return -EPROTO;
}

static uint32_t add_named(struct reader *r, uint32_t parent, GHashTable *taken,
			  struct json_object *raw, const char *fallback,
			  bool is_dir)
{
	size_t len;
	const char *text = pfs_json_text(raw, &len);

	return pfs_tree_named(r->b, parent, taken, text, len, fallback, is_dir);
}

static int add_parameters(struct reader *r, struct json_object *body)
{
	struct json_object *params;
	uint32_t dir = pfs_tree_dir(r->b, PFS_NODE_ROOT, "parameters");
	GHashTable *taken = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, NULL);
	int res = pfs_json_objects(body, "parameters", &params, r->err, r->errsize);
	size_t i;

	for (i = 0; res == 0 && params && i < json_object_array_length(params); i++) {
		struct json_object *param = json_object_array_get_idx(params, i);
		char fallback[32];
		const char *text;
		size_t len;
		uint32_t file;

		if (pfs_tree_full(r->b)) {
			res = fail(r, "more parameters than any real build has");
			break;
		}
		snprintf(fallback, sizeof(fallback), "parameter-%zu", i + 1);
		file = add_named(r, dir, taken, pfs_json_get(param, "name"),
				 fallback, false);
		text = pfs_json_text(pfs_json_get(param, "value"), &len);
		pfs_tree_set_value(r->b, file, text, len);
	}
	g_hash_table_destroy(taken);
	return res;
}

static int add_states(struct reader *r, uint32_t dir,
		      struct json_object *states, int depth);

static int add_state(struct reader *r, uint32_t parent, GHashTable *taken,
		     struct json_object *state, size_t position, int depth)
{
	struct json_object *children;
	char position_text[32];
	const char *fallback;
	uint16_t outer;
	size_t len;
	uint32_t dir;
	int res;

	/* a nameless state is named by its id, or by its place if it has none */
	fallback = pfs_json_text(pfs_json_get(state, "id"), &len);
	if (!fallback) {
		snprintf(position_text, sizeof(position_text), "%zu", position + 1);
		fallback = position_text;
	}
	dir = add_named(r, parent, taken, pfs_json_get(state, "name"), fallback,
			true);
	outer = pfs_tree_group_begin(r->b, dir);
	add_fields(r, dir, state, state_fields);
	res = pfs_json_objects(state, "children", &children, r->err, r->errsize);
	/* every stage has tasks/; a task only if it has children of its own */
	if (res == 0 && (depth == 0 ||
			 (children && json_object_array_length(children) > 0)))
		res = add_states(r, pfs_tree_dir(r->b, dir, "tasks"), children,
				 depth + 1);
	pfs_tree_group_end(r->b, outer);
	return res;
}

static int add_states(struct reader *r, uint32_t dir,
		      struct json_object *states, int depth)
{
	GHashTable *taken;
	size_t i, n;
	int res = 0;

	if (!states)
		return 0;
	taken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	n = json_object_array_length(states);
	for (i = 0; res == 0 && i < n; i++) {
		if (pfs_tree_full(r->b))
			res = fail(r, "more stages and tasks than any real build has");
		else
			res = add_state(r, dir, taken,
					json_object_array_get_idx(states, i), i, depth);
	}
	g_hash_table_destroy(taken);
	return res;
}

static int build_tree(struct reader *r, struct json_object *body)
{
	struct json_object *states;
	int res;

	add_fields(r, PFS_NODE_ROOT, body, build_fields);
	res = add_parameters(r, body);
	if (res < 0)
		return res;
	pfs_tree_add_build_files(r->b);
	res = pfs_json_objects(body, "states", &states, r->err, r->errsize);
	if (res < 0)
		return res;
	res = add_states(r, pfs_tree_dir(r->b, PFS_NODE_ROOT, "stages"), states, 0);
	if (res == 0)
		pfs_tree_add_failed(r->b);
	return res;
}

/* The id in @body's field @key: *@id a copy, or NULL; true if the field
 * holds something (not null) that is no usable id. */
static bool read_id(struct json_object *body, const char *key, char **id)
{
	struct json_object *value = pfs_json_get(body, key);

	*id = pfs_json_id(value);
	return value && !json_object_is_type(value, json_type_null) && !*id;
}

static void read_build_identity(struct pfs_build *build,
				struct json_object *body)
{
	struct json_object *value = pfs_json_get(body, "status");

	build->completed = value && json_object_is_type(value, json_type_string) &&
			   strcmp(json_object_get_string(value), "completed") == 0;
	value = pfs_json_get(body, "outcome");
	if (value && json_object_is_type(value, json_type_string)) {
		g_free(build->outcome);
		build->outcome = g_strdup(json_object_get_string(value));
	}
	build->bad_identity = read_id(body, "build_id", &build->build_id);
	build->bad_identity |= read_id(body, "pipeline_id", &build->pipeline_id);
}

static int parse_again(const char *body, size_t len, const void *arg,
		       struct pfs_build **out, char *err, size_t errsize)
{
	(void)arg;
	return pfs_v3_model_parse(body, len, out, err, errsize);
}

/* A v3 tree is its body's alone: made again from it when dropped. */
static const struct pfs_tree_source v3_source = { .parse = parse_again };

int pfs_v3_model_parse(const char *body, size_t len, struct pfs_build **out,
		       char *err, size_t errsize)
{
	struct reader r = { .err = err, .errsize = errsize };
	struct json_object *obj;
	int res;

	*out = NULL;
	obj = pfs_json_parse(body, len, json_type_object, err, errsize);
	if (!obj)
		return -EPROTO;
	r.b = pfs_tree_new(len);
	res = build_tree(&r, obj);
	if (res == 0) {
		res = pfs_tree_finish(r.b, body, len, out);
		if (res == 0) {
			read_build_identity(*out, obj);
			(*out)->source = &v3_source;
		}
	} else {
		pfs_tree_free(r.b);
	}
	json_object_put(obj);
	return res;
}

int pfs_v3_model_parse_latest_ids(const char *body, size_t len,
				  GHashTable **out, char *err, size_t errsize)
{
	struct json_object *array;
	size_t i, n;

	*out = NULL;
	array = pfs_json_parse(body, len, json_type_array, err, errsize);
	if (!array)
		return -EPROTO;
	*out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	n = json_object_array_length(array);
	for (i = 0; i < n; i++) {
		struct json_object *item = json_object_array_get_idx(array, i);
		char *pipeline_id = pfs_json_id(pfs_json_get(item, "pipeline_id"));
		char *build_id = pfs_json_id(pfs_json_get(item, "build_id"));

		if (pipeline_id && build_id)
			g_hash_table_replace(*out, pipeline_id, build_id);
		else {
			g_free(pipeline_id);
			g_free(build_id);
		}
	}
	json_object_put(array);
	return 0;
}
