/* Unit tests for model.c: status JSON -> tree of directories and files. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "model.h"
#include "v3.h"

static struct pfs_build *parse_ok(const char *json)
{
	struct pfs_build *build = NULL;
	char err[256] = "";
	int res = pfs_v3_model_parse(json, strlen(json), &build, err, sizeof(err));

	if (res != 0)
		g_error("parse failed: %s", err);
	return build;
}

static int parse_error(const char *json, size_t len, char *err, size_t size)
{
	struct pfs_build *build = NULL;
	int res = pfs_v3_model_parse(json, len, &build, err, size);

	g_assert_null(build);
	return res;
}

/* The content of the file at @path, as a C string (for comparison). */
static char *content_at(struct pfs_build *build, const char *path)
{
	uint32_t node = pfs_build_walk(build, path);
	const char *content;
	size_t len;

	if (node == PFS_NODE_NONE)
		g_error("no node at %s", path);
	g_assert_false(build->nodes[node].is_dir);
	content = pfs_build_node_content(build, node, &len);
	return g_strndup(content, len);
}

#define assert_content(build, path, expected) do { \
	char *got_ = content_at(build, path); \
	g_assert_cmpstr(got_, ==, expected); \
	g_free(got_); \
} while (0)

static char *children_of(struct pfs_build *build, const char *path)
{
	uint32_t dir = pfs_build_walk(build, path);
	GString *names = g_string_new(NULL);
	uint32_t child;

	g_assert_cmpuint(dir, !=, PFS_NODE_NONE);
	for (child = build->nodes[dir].first_child; child != PFS_NODE_NONE;
	     child = build->nodes[child].next_sibling)
		g_string_append_printf(names, "%s%s", names->len ? "|" : "",
				       pfs_build_node_name(build, child));
	return g_string_free(names, FALSE);
}

#define assert_children(build, path, expected) do { \
	char *got_ = children_of(build, path); \
	g_assert_cmpstr(got_, ==, expected); \
	g_free(got_); \
} while (0)

static void test_seed_example_becomes_a_tree(void)
{
	const char *path = g_getenv("PFS_SEED_EXAMPLE");
	struct pfs_build *build;
	char *body;
	size_t len;

	g_assert_nonnull(path);
	g_assert_true(g_file_get_contents(path, &body, &len, NULL));
	build = parse_ok(body);
	assert_content(build, "pipeline_name", "pipeline-1185523_Cx2Ur\n");
	assert_content(build, "start_time", "2022-04-01 19:44:16\n");
	assert_content(build, "executor", "");
	assert_content(build, "status", "");
	assert_content(build, "parameters/seviceName", "pipeline-23\n");
	assert_content(build, "parameters/codeBranch", "master\n");
	assert_content(build, "stages/构建/id", "state_4\n");
	assert_content(build, "stages/构建/error_msg", "");
	assert_content(build, "stages/构建/tasks/人工审核/type", "task\n");
	/* the seed misspells this key as end_time\": the field is missing */
	assert_content(build, "stages/构建/tasks/人工审核/end_time", "");
	{
		char *kept = pfs_build_body(build);

		g_assert_cmpuint(build->body_len, ==, len);
		g_assert_cmpmem(kept, len, body, len);
		g_free(kept);
	}
	g_assert_null(build->build_id);
	g_assert_false(build->completed);
	assert_children(build, "", "status|outcome|pipeline_id|pipeline_name|"
			"executor|build_id|start_time|end_time|elapsed_time|"
			"detail_url|parameters|status.json|summary|events|wait|stages|failed");
	pfs_build_unref(build);
	g_free(body);
}

static void test_completed_build_knows_its_id(void)
{
	struct pfs_build *build = parse_ok(
		"{\"build_id\":\"23\",\"status\":\"completed\",\"outcome\":\"error\"}");

	g_assert_true(build->completed);
	g_assert_cmpstr(build->build_id, ==, "23");
	assert_children(build, "stages", "");
	assert_children(build, "parameters", "");
	pfs_build_unref(build);
	build = parse_ok("{\"build_id\":24,\"status\":\"running\"}");
	g_assert_false(build->completed);
	g_assert_cmpstr(build->build_id, ==, "24");
	pfs_build_unref(build);
	build = parse_ok("{\"build_id\":\"../etc\"}");
	g_assert_null(build->build_id);
	pfs_build_unref(build);
}

static void test_wrong_scalar_types_show_as_json_text(void)
{
	struct pfs_build *build = parse_ok(
		"{\"status\":42,\"outcome\":true,\"executor\":{\"a\":[1,\"x/y\"]},"
		"\"elapsed_time\":1.5,\"pipeline_name\":\"\"}");

	assert_content(build, "status", "42\n");
	assert_content(build, "outcome", "true\n");
	assert_content(build, "executor", "{\"a\":[1,\"x/y\"]}\n");
	assert_content(build, "elapsed_time", "1.5\n");
	assert_content(build, "pipeline_name", "\n");
	g_assert_false(build->completed);
	pfs_build_unref(build);
}

static void test_wrong_structure_is_an_error(void)
{
	static const char *const bodies[] = {
		"{\"states\":\"x\"}",
		"{\"states\":[1]}",
		"{\"parameters\":7}",
		"{\"states\":[{\"name\":\"a\",\"children\":{}}]}",
		"{\"states\":[{\"name\":\"a\",\"children\":[null]}]}",
		NULL
	};
	const char *const *body;
	char err[256];

	for (body = bodies; *body; body++) {
		g_assert_cmpint(parse_error(*body, strlen(*body), err, sizeof(err)),
				==, -EPROTO);
		g_assert_cmpstr(err, !=, "");
	}
}

static void test_garbage_and_truncated_bodies_are_errors(void)
{
	static const char *const bodies[] = {
		"", "garbage", "<html>502 Bad Gateway</html>", "{\"status\":\"comp",
		"[]", "\"completed\"", "null", "{} trailing", NULL
	};
	const char *const *body;
	char err[256];

	for (body = bodies; *body; body++)
		g_assert_cmpint(parse_error(*body, strlen(*body), err, sizeof(err)),
				==, -EPROTO);
	g_assert_cmpint(parse_error("{}\0{}", 5, err, sizeof(err)), ==, -EPROTO);
}

static void test_hostile_and_duplicate_names_are_made_safe(void)
{
	struct pfs_build *build = parse_ok(
		"{\"states\":["
		"{\"id\":\"s1\",\"name\":\"a/b\",\"children\":[]},"
		"{\"id\":\"s2\",\"name\":\"..\",\"children\":[]},"
		"{\"id\":\"s3\",\"name\":\"a/b\",\"children\":[]},"
		"{\"id\":\"s4\",\"name\":\"\\u001b[2Jx\\n\",\"children\":[]},"
		"{\"id\":\"s5\",\"children\":[]},"
		"{\"name\":7,\"children\":["
		"  {\"id\":\"t\",\"name\":\"same\"},{\"id\":\"t2\",\"name\":\"same\"}]}"
		"]}");

	assert_children(build, "stages", "a_b|s2|a_b~2|_[2Jx_|s5|7");
	assert_children(build, "stages/7/tasks", "same|same~2");
	assert_content(build, "stages/7/tasks/same~2/id", "t2\n");
	assert_content(build, "stages/7/name", "7\n");
	pfs_build_unref(build);
}

static void test_nested_children_of_a_task_get_their_own_tasks(void)
{
	struct pfs_build *build = parse_ok(
		"{\"states\":[{\"name\":\"s\",\"children\":["
		"{\"name\":\"t\",\"children\":[{\"name\":\"sub\",\"status\":\"running\"}]},"
		"{\"name\":\"u\",\"children\":[]}]}]}");

	assert_content(build, "stages/s/tasks/t/tasks/sub/status", "running\n");
	g_assert_cmpuint(pfs_build_walk(build, "stages/s/tasks/u/tasks"), ==,
			 PFS_NODE_NONE);
	pfs_build_unref(build);
}

static void test_parameters_with_odd_names(void)
{
	struct pfs_build *build = parse_ok(
		"{\"parameters\":[{\"name\":\"branch\",\"value\":\"main\"},"
		"{\"name\":\"\",\"value\":\"x\"},{\"value\":null},"
		"{\"name\":\"branch\",\"value\":3}]}");

	assert_children(build, "parameters",
			"branch|parameter-2|parameter-3|branch~2");
	assert_content(build, "parameters/parameter-3", "");
	assert_content(build, "parameters/branch~2", "3\n");
	pfs_build_unref(build);
}

static void test_every_node_is_found_by_its_path_hash(void)
{
	struct pfs_build *build = parse_ok(
		"{\"states\":[{\"name\":\"a\",\"children\":[{\"name\":\"t\"}]},"
		"{\"name\":\"b\",\"children\":[{\"name\":\"t\"}]}]}");
	struct pfs_build *again = parse_ok(
		"{\"status\":\"running\",\"states\":[{\"name\":\"b\","
		"\"children\":[{\"name\":\"t\"}]}]}");
	uint32_t i;

	for (i = 0; i < build->n_nodes; i++) {
		g_assert_cmpuint(build->nodes[i].path_hash, <=, PFS_PATH_HASH_MASK);
		g_assert_cmpuint(pfs_build_find(build, build->nodes[i].path_hash), ==, i);
	}
	/* the same path has the same hash in another version of the build */
	g_assert_cmpuint(
		build->nodes[pfs_build_walk(build, "stages/b/tasks/t/status")].path_hash,
		==,
		again->nodes[pfs_build_walk(again, "stages/b/tasks/t/status")].path_hash);
	g_assert_cmpuint(
		build->nodes[pfs_build_walk(build, "stages/a/tasks/t/status")].path_hash,
		!=,
		build->nodes[pfs_build_walk(build, "stages/b/tasks/t/status")].path_hash);
	g_assert_cmpuint(pfs_build_find(build, PFS_PATH_HASH_MASK + 1), ==, PFS_NODE_NONE);
	pfs_build_unref(again);
	pfs_build_unref(build);
}

static void test_repeated_text_is_stored_once(void)
{
	struct pfs_build *build = parse_ok(
		"{\"status\":\"completed\",\"states\":["
		"{\"name\":\"a\",\"status\":\"completed\"},"
		"{\"name\":\"b\",\"status\":\"completed\"}]}");

	g_assert_cmpuint(build->nodes[pfs_build_walk(build, "status")].content, ==,
			 build->nodes[pfs_build_walk(build, "stages/b/status")].content);
	assert_content(build, "stages/b/status", "completed\n");
	pfs_build_unref(build);
}

static void test_batch_answer_names_latest_builds(void)
{
	const char *body =
		"[{\"pipeline_id\":\"p1\",\"build_id\":\"7\",\"status\":\"running\"},"
		"{\"pipeline_id\":\"p2\",\"build_id\":8},"
		"{\"pipeline_id\":\"p3\",\"build_id\":null},"
		"{\"pipeline_id\":\"../x\",\"build_id\":\"1\"},"
		"{\"pipeline_id\":\"p4\",\"build_id\":\"a b\"}, 42, \"x\"]";
	GHashTable *latest = NULL;
	char err[128];

	g_assert_cmpint(pfs_v3_model_parse_latest_ids(body, strlen(body), &latest, err,
						   sizeof(err)), ==, 0);
	g_assert_cmpuint(g_hash_table_size(latest), ==, 2);
	g_assert_cmpstr(g_hash_table_lookup(latest, "p1"), ==, "7");
	g_assert_cmpstr(g_hash_table_lookup(latest, "p2"), ==, "8");
	g_hash_table_destroy(latest);
	g_assert_cmpint(pfs_v3_model_parse_latest_ids("{}", 2, &latest, err, sizeof(err)),
			==, -EPROTO);
	g_assert_null(latest);
	g_assert_cmpint(pfs_v3_model_parse_latest_ids("[{", 2, &latest, err, sizeof(err)),
			==, -EPROTO);
}

/* A copy of @text in a buffer of exactly its length, with no NUL after it:
 * under AddressSanitizer a read of body[len] is reported. */
static char *exact_copy(const char *text, size_t len)
{
	char *copy = g_malloc(len ? len : 1);

	memcpy(copy, text, len);
	return copy;
}

/* The interface takes a length: the parsers read body[0..len-1] and
 * nothing else, whatever the body ends with. */
static void test_parsers_read_only_len_bytes(void)
{
	static const char *const bodies[] = {
		"{\"status\":\"completed\"}", "{\"status\":\"completed\"}  \n",
		"{}", "{} x", "{", "{\"a\":1", "{\"a\":12", "{\"a\":\"\\u00", "12",
		"", " ", "[]", "[{\"pipeline_id\":\"p\",\"build_id\":\"1\"}] ",
		"[{\"pipeline_id\":\"p\",\"build_id\":1", "[1", "[1] x", "t", "nul",
		NULL
	};
	const char *const *body;
	char err[256];

	for (body = bodies; *body; body++) {
		size_t len = strlen(*body);
		char *copy = exact_copy(*body, len);
		struct pfs_build *build = NULL;
		GHashTable *latest = NULL;

		if (pfs_v3_model_parse(copy, len, &build, err, sizeof(err)) == 0)
			pfs_build_unref(build);
		if (pfs_v3_model_parse_latest_ids(copy, len, &latest, err,
					       sizeof(err)) == 0)
			g_hash_table_destroy(latest);
		g_free(copy);
	}
}

/* What follows @len is not part of the body, even when it would make
 * the body valid or invalid. */
static void test_bytes_past_len_are_not_the_body(void)
{
	struct pfs_build *build = NULL;
	GHashTable *latest = NULL;
	char err[256];

	g_assert_cmpint(pfs_v3_model_parse("{}  garbage", 4, &build, err,
					sizeof(err)), ==, 0);
	g_assert_cmpuint(build->body_len, ==, 4);
	pfs_build_unref(build);
	g_assert_cmpint(pfs_v3_model_parse("{\"a\":1}", 6, &build, err,
					sizeof(err)), ==, -EPROTO);
	g_assert_cmpint(pfs_v3_model_parse_latest_ids("[] x", 2, &latest, err,
						   sizeof(err)), ==, 0);
	g_assert_cmpuint(g_hash_table_size(latest), ==, 0);
	g_hash_table_destroy(latest);
	g_assert_cmpint(pfs_v3_model_parse_latest_ids("[1]", 2, &latest, err,
						   sizeof(err)), ==, -EPROTO);
	g_assert_null(latest);
}

static void test_walk_refuses_missing_paths(void)
{
	struct pfs_build *build = parse_ok("{\"status\":\"running\"}");

	g_assert_cmpuint(pfs_build_walk(build, ""), ==, PFS_NODE_ROOT);
	g_assert_cmpuint(pfs_build_walk(build, "nope"), ==, PFS_NODE_NONE);
	g_assert_cmpuint(pfs_build_walk(build, "status/x"), ==, PFS_NODE_NONE);
	g_assert_cmpuint(pfs_build_size(build), >, 0);
	pfs_build_unref(build);
}

/* A cached build drops its tree and makes it again from its body: the
 * same files, the change times kept, and only then (the cache sets the
 * times first). */
static void test_a_dropped_tree_is_made_again_the_same(void)
{
	struct pfs_build *build = parse_ok(
		"{\"status\":\"completed\",\"build_id\":\"9\",\"states\":[{\"name\":"
		"\"s\",\"status\":\"completed\",\"children\":[{\"name\":\"t\","
		"\"error_msg\":\"boom\"}]}]}");
	struct pfs_build *old = parse_ok("{\"status\":\"running\",\"build_id\":\"9\"}");
	GTimeZone *utc = g_time_zone_new_utc();
	uint32_t n_nodes = build->n_nodes;
	size_t expanded = build->strings_len;
	int64_t status_ns;
	char *text;

	g_assert_false(pfs_build_shrink(build));	/* times not set yet */
	pfs_build_set_times(old, utc, 1000);
	pfs_build_set_times(build, utc, 1000);
	pfs_build_carry_times(build, old, 2000);	/* a refresh: node_ns */
	status_ns = pfs_build_node_ns(build, pfs_build_walk(build, "status"));
	g_assert_cmpint(status_ns, ==, 2000);
	g_assert_true(pfs_build_shrink(build));
	g_assert_true(build->shrunk && !build->nodes && !build->strings);
	g_assert_false(pfs_build_shrink(build));
	g_assert_cmpint(pfs_build_expand(build), ==, 0);
	g_assert_false(build->shrunk);
	g_assert_cmpuint(build->n_nodes, ==, n_nodes);
	g_assert_cmpuint(build->strings_len, ==, expanded);
	text = content_at(build, "stages/s/tasks/t/error_msg");
	g_assert_cmpstr(text, ==, "boom\n");
	g_free(text);
	g_assert_cmpint(pfs_build_node_ns(build, pfs_build_walk(build, "status")), ==,
			status_ns);
	g_assert_cmpint(pfs_build_expand(build), ==, 0);	/* already there */
	pfs_build_unref(old);
	pfs_build_unref(build);
	g_time_zone_unref(utc);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/model/seed_example_becomes_a_tree",
			test_seed_example_becomes_a_tree);
	g_test_add_func("/model/completed_build_knows_its_id",
			test_completed_build_knows_its_id);
	g_test_add_func("/model/wrong_scalar_types_show_as_json_text",
			test_wrong_scalar_types_show_as_json_text);
	g_test_add_func("/model/wrong_structure_is_an_error",
			test_wrong_structure_is_an_error);
	g_test_add_func("/model/garbage_and_truncated_bodies_are_errors",
			test_garbage_and_truncated_bodies_are_errors);
	g_test_add_func("/model/hostile_and_duplicate_names_are_made_safe",
			test_hostile_and_duplicate_names_are_made_safe);
	g_test_add_func("/model/nested_children_of_a_task_get_their_own_tasks",
			test_nested_children_of_a_task_get_their_own_tasks);
	g_test_add_func("/model/parameters_with_odd_names",
			test_parameters_with_odd_names);
	g_test_add_func("/model/every_node_is_found_by_its_path_hash",
			test_every_node_is_found_by_its_path_hash);
	g_test_add_func("/model/repeated_text_is_stored_once",
			test_repeated_text_is_stored_once);
	g_test_add_func("/model/batch_answer_names_latest_builds",
			test_batch_answer_names_latest_builds);
	g_test_add_func("/model/parsers_read_only_len_bytes",
			test_parsers_read_only_len_bytes);
	g_test_add_func("/model/bytes_past_len_are_not_the_body",
			test_bytes_past_len_are_not_the_body);
	g_test_add_func("/model/walk_refuses_missing_paths",
			test_walk_refuses_missing_paths);
	g_test_add_func("/model/a_dropped_tree_is_made_again_the_same",
			test_a_dropped_tree_is_made_again_the_same);
	return g_test_run();
}
