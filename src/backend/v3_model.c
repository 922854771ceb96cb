/* v3_model.c - see v3.h: a v3 status body as the generic tree (model.h),
 * read with tree_json.h as v5_model.c is. */
#include "v3.h"
#include "json.h"
#include "tree_json.h"

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
	dir = pfs_tree_json_named(r->b, parent, taken, pfs_json_get(state, "name"),
				  fallback, true);
	outer = pfs_tree_group_begin(r->b, dir);
	pfs_tree_json_fields(r->b, dir, state, state_fields);
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
	taken = pfs_tree_json_taken();
	n = json_object_array_length(states);
	for (i = 0; res == 0 && i < n; i++) {
		if (pfs_tree_full(r->b)) {
			snprintf(r->err, r->errsize,
				 "more stages and tasks than any real build has");
			res = -EPROTO;
		} else {
			res = add_state(r, dir, taken,
					json_object_array_get_idx(states, i), i, depth);
		}
	}
	g_hash_table_destroy(taken);
	return res;
}

static int build_tree(struct pfs_tree_builder *b, struct json_object *body,
		      void *data, char *err, size_t errsize)
{
	struct reader r = { .b = b, .err = err, .errsize = errsize };
	struct json_object *states;
	int res;

	(void)data;
	pfs_tree_json_fields(b, PFS_NODE_ROOT, body, build_fields);
	res = pfs_tree_json_parameters(b, body, "parameters", err, errsize);
	if (res < 0)
		return res;
	pfs_tree_add_build_files(b);
	res = pfs_json_objects(body, "states", &states, err, errsize);
	if (res < 0)
		return res;
	res = add_states(&r, pfs_tree_dir(b, PFS_NODE_ROOT, "stages"), states, 0);
	if (res == 0)
		pfs_tree_add_failed(b);
	return res;
}

static int parse_again(const char *body, size_t len, const void *arg,
		       struct pfs_build **out, char *err, size_t errsize)
{
	(void)arg;
	return pfs_v3_model_parse(body, len, out, err, errsize);
}

static void read_build_identity(struct pfs_build *build, struct json_object *body)
{
	struct json_object *value = pfs_json_get(body, "status");

	build->completed = value && json_object_is_type(value, json_type_string) &&
			   strcmp(json_object_get_string(value), "completed") == 0;
	value = pfs_json_get(body, "outcome");
	if (value && json_object_is_type(value, json_type_string)) {
		g_free(build->outcome);
		build->outcome = g_strdup(json_object_get_string(value));
	}
	build->bad_identity = pfs_tree_json_id(body, "build_id", &build->build_id);
	build->bad_identity |= pfs_tree_json_id(body, "pipeline_id", &build->pipeline_id);
	/* a v3 tree is its body's alone: made again from it when dropped */
	build->source = (struct pfs_tree_source){ .parse = parse_again };
}

int pfs_v3_model_parse(const char *body, size_t len, struct pfs_build **out,
		       char *err, size_t errsize)
{
	static const struct pfs_tree_json_schema v3 = {
		.build = build_tree,
		.identity = read_build_identity,
	};

	return pfs_tree_json_read(body, len, &v3, NULL, out, err, errsize);
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
