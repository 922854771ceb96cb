/* Unit tests for summary.c: failed/ entries and the summary texts, on the
 * demo scenario's builds, the seed's all-null example, a running build and
 * hostile names and values. */
#include <glib.h>
#include <json-c/json.h>
#include <string.h>

#include "names.h"
#include "summary.h"
#include "v3.h"

#define WEB_FRONTEND "8025ba36a87a4dd5af496708c2961817"

static struct pfs_build *parse_ok(const char *json, size_t len)
{
	struct pfs_build *build = NULL;
	char err[256] = "";

	if (pfs_v3_model_parse(json, len, &build, err, sizeof(err)) != 0)
		g_error("parse failed: %s", err);
	return build;
}

static struct pfs_build *parse_str(const char *json)
{
	return parse_ok(json, strlen(json));
}

/* The body of build @build_id of @pipeline_id in contrib's demo scenario. */
static struct pfs_build *demo_build(const char *pipeline_id,
				    const char *build_id)
{
	const char *path = g_getenv("PFS_DEMO_SCENARIO");
	struct json_object *scenario, *body;
	struct pfs_build *build;
	char *key;
	const char *text;

	g_assert_nonnull(path);
	scenario = json_object_from_file(path);
	g_assert_nonnull(scenario);
	key = g_strdup_printf("pipelines.%s.builds.%s.body", pipeline_id, build_id);
	body = scenario;
	{
		char **parts = g_strsplit(key, ".", -1), **part;

		for (part = parts; *part; part++)
			g_assert_true(json_object_object_get_ex(body, *part, &body));
		g_strfreev(parts);
	}
	text = json_object_to_json_string(body);
	build = parse_str(text);
	json_object_put(scenario);
	g_free(key);
	return build;
}

static struct pfs_build *seed_build(void)
{
	const char *path = g_getenv("PFS_SEED_EXAMPLE");
	struct pfs_build *build;
	char *body;
	size_t len;

	g_assert_nonnull(path);
	g_assert_true(g_file_get_contents(path, &body, &len, NULL));
	build = parse_ok(body, len);
	g_free(body);
	return build;
}

static char *summary_of(const struct pfs_build *build, const char *build_id)
{
	size_t len;
	char *text = pfs_summary_build(build, build_id, &len);

	g_assert_cmpuint(strlen(text), ==, len);
	g_assert_true(g_utf8_validate(text, (gssize)len, NULL));
	return text;
}

#define assert_summary(build, id, expected) do { \
	char *got_ = summary_of(build, id); \
	g_assert_cmpstr(got_, ==, expected); \
	g_free(got_); \
} while (0)

/* Each failure as "entry -> target\n". */
static int collect_failure(const char *entry, const char *target,
			   uint32_t dir, void *ctx)
{
	g_assert_cmpuint(dir, !=, PFS_NODE_NONE);
	g_assert_cmpuint(strlen(entry), <=, PFS_NAME_MAX);
	g_assert_null(strchr(entry, '/'));
	g_string_append_printf(ctx, "%s -> %s\n", entry, target);
	return 0;
}

static char *failures_of(const struct pfs_build *build)
{
	GString *out = g_string_new(NULL);

	g_assert_cmpint(pfs_summary_failures(build, collect_failure, out), ==, 0);
	return g_string_free(out, FALSE);
}

#define assert_failures(build, expected) do { \
	char *got_ = failures_of(build); \
	g_assert_cmpstr(got_, ==, expected); \
	g_free(got_); \
} while (0)

/* The whole text, so that a change of format is noticed. */
static const char failed_demo_summary[] =
	"web-frontend #22  completed error  2026-11-28 09:12:03 → 2026-11-28 09:17:24  5m21s\n"
	"✓ completed  success     8s 代码检出\n"
	"  ✓ completed  success     8s git clone web-frontend\n"
	"✓ completed  success  3m12s 构建\n"
	"  ✓ completed  success  1m11s npm ci\n"
	"  ✓ completed  success  2m01s webpack 打包\n"
	"✗ completed  error    1m55s 测试  — 任务 unit-tests 执行失败\n"
	"  ✓ completed  success    19s lint\n"
	"  ✗ completed  error    1m36s unit-tests  — npm test exited with code 1: 3 failing\n";

static void test_failed_demo_build(void)
{
	struct pfs_build *build = demo_build(WEB_FRONTEND, "22");

	assert_summary(build, "22", failed_demo_summary);
	assert_summary(build, NULL, failed_demo_summary);
	assert_failures(build,
			"测试 -> ../stages/测试\n"
			"测试:unit-tests -> ../stages/测试/tasks/unit-tests\n");
	pfs_build_unref(build);
}

static void test_successful_demo_build_has_no_failures(void)
{
	struct pfs_build *build = demo_build(WEB_FRONTEND, "21");
	char *text = summary_of(build, "21");

	assert_failures(build, "");
	g_assert_true(g_str_has_prefix(text, "web-frontend #21  completed success  "
				       "2026-11-27 16:40:51 → 2026-11-27 16:46:02  5m11s\n"
				       "✓ completed  success     9s 代码检出\n"));
	g_assert_null(strstr(text, "✗"));
	g_assert_null(strstr(text, "cat wait"));
	g_free(text);
	pfs_build_unref(build);
}

static void test_seed_all_null_example(void)
{
	struct pfs_build *build = seed_build();

	/* build_id is null in the body: the caller's id is shown */
	assert_summary(build, "2",
		"pipeline-1185523_Cx2Ur #2  - -  2022-04-01 19:44:16 → -  -\n"
		"· -          -            - 构建\n"
		"  · -          -            - 人工审核\n"
		PFS_SUMMARY_WAIT_HINT);
	assert_summary(build, NULL,
		"pipeline-1185523_Cx2Ur #-  - -  2022-04-01 19:44:16 → -  -\n"
		"· -          -            - 构建\n"
		"  · -          -            - 人工审核\n"
		PFS_SUMMARY_WAIT_HINT);
	assert_failures(build, "");
	pfs_build_unref(build);
}

static const char running_build[] =
	"{\"pipeline_name\":\"order service\",\"build_id\":\"109\","
	"\"status\":\"running\",\"start_time\":\"2026-11-28 10:02:19\","
	"\"elapsed_time\":\"3725000\",\"states\":["
	"{\"name\":\"checkout\",\"status\":\"completed\",\"outcome\":\"success\","
	" \"elapsed_time\":\"5000\",\"children\":["
	"  {\"name\":\"git\",\"status\":\"completed\",\"outcome\":\"success\","
	"   \"elapsed_time\":\"5000\"}]},"
	"{\"name\":\"build\",\"status\":\"running\",\"elapsed_time\":\"61999\","
	" \"children\":["
	"  {\"name\":\"go build\",\"status\":\"completed\",\"outcome\":\"aborted\","
	"   \"elapsed_time\":\"0\"},"
	"  {\"name\":\"image\",\"status\":\"running\",\"elapsed_time\":\"359999000\"}]},"
	"{\"name\":\"deploy\",\"status\":\"waiting\",\"elapsed_time\":\"0\","
	" \"children\":[{\"name\":\"approve\",\"status\":\"verifying\"}]}]}";

static void test_running_build(void)
{
	struct pfs_build *build = parse_str(running_build);

	assert_summary(build, "109",
		"order service #109  running -  2026-11-28 10:02:19 → -  1h02m\n"
		"✓ completed  success     5s checkout\n"
		"  ✓ completed  success     5s git\n"
		"● running    -        1m01s build\n"
		"  – completed  aborted     0s go build\n"
		"  ● running    -       99h59m image\n"
		"○ waiting    -           0s deploy\n"
		"  · verifying  -            - approve\n"
		PFS_SUMMARY_WAIT_HINT);
	assert_failures(build, "");
	pfs_build_unref(build);
}

static void test_error_text_is_the_first_line(void)
{
	struct pfs_build *build = parse_str(
		"{\"status\":\"completed\",\"outcome\":\"error\",\"states\":["
		"{\"name\":\"multi\",\"status\":\"completed\",\"outcome\":\"error\","
		" \"error_msg\":\"first line\\nsecond line\\nthird\",\"children\":["
		"  {\"name\":\"blank first\",\"error_msg\":\"\\n\\r\\nreal cause\\nmore\"},"
		"  {\"name\":\"crlf\",\"error_msg\":\"windows\\r\\nnext\"},"
		"  {\"name\":\"code only\",\"outcome\":\"success\",\"error_code\":\"E42\"},"
		"  {\"name\":\"nothing\",\"outcome\":\"error\",\"error_msg\":\"\"},"
		"  {\"name\":\"ok\",\"outcome\":\"success\",\"error_msg\":null}]}]}");

	assert_summary(build, "5",
		"- #5  completed error  - → -  -\n"
		"✗ completed  error        - multi  — first line\n"
		"  ✗ -          -            - blank first  — real cause\n"
		"  ✗ -          -            - crlf  — windows\n"
		"  ✗ -          success      - code only  — E42\n"
		"  ✗ -          error        - nothing\n"
		"  ✓ -          success      - ok\n");
	assert_failures(build,
		"multi -> ../stages/multi\n"
		"multi:blank first -> ../stages/multi/tasks/blank first\n"
		"multi:crlf -> ../stages/multi/tasks/crlf\n"
		"multi:code only -> ../stages/multi/tasks/code only\n"
		"multi:nothing -> ../stages/multi/tasks/nothing\n");
	pfs_build_unref(build);
}

/* Values may hold anything: controls, C1, bytes that are not UTF-8,
 * spaces in a column. Names are already safe (model.c, names.c). */
static void test_hostile_values_are_made_printable(void)
{
	struct pfs_build *build = parse_str(
		"{\"pipeline_name\":\"evil\\u001b]0;title\\u0007\","
		"\"status\":\"in progress\",\"outcome\":\"a\\tb\","
		"\"start_time\":\"\\u009b2J\",\"elapsed_time\":\"12 s\","
		"\"states\":[{\"name\":\"x\\u001b[2Jy\",\"status\":\"com\\u2028pleted\","
		"\"outcome\":\"error\",\"elapsed_time\":\"-5\","
		"\"error_msg\":\"bad\\u001b[31m\\ttab\\u007f\\u0085c1\\u202eok\\u2066\"}]}");
	char *text;

	assert_summary(build, "7",
		"evil?]0;title? #7  in progress a?b  ?2J → -  12_s\n"
		"✗ com?pleted error       -5 x_[2Jy  — bad?[31m?tab??c1?ok?\n"
		PFS_SUMMARY_WAIT_HINT);
	pfs_build_unref(build);
	/* bytes that are not UTF-8 (the model keeps a string's bytes) */
	build = parse_str("{\"status\":\"completed\",\"states\":[{\"name\":\"s\","
			  "\"outcome\":\"\xff\xfe\xc3\",\"error_msg\":\"\xe6\xb5\"}]}");
	text = summary_of(build, "8");
	g_assert_cmpstr(text, ==,
		"- #8  completed -  - → -  -\n"
		"✗ -          ???          - s  — ??\n");
	g_free(text);
	pfs_build_unref(build);
}

static void test_entries_are_unique_and_fit(void)
{
	char *long_stage = g_strnfill(250, 'x');
	char *long_task_a = g_strnfill(250, 'y');
	char *json = g_strdup_printf(
		"{\"states\":["
		"{\"name\":\"a:b\",\"outcome\":\"error\",\"children\":[]},"
		"{\"name\":\"a\",\"children\":[{\"name\":\"b\",\"outcome\":\"error\"}]},"
		"{\"name\":\"%s\",\"error_code\":\"E\",\"children\":["
		"  {\"name\":\"%s1\",\"outcome\":\"error\"},"
		"  {\"name\":\"%s2\",\"outcome\":\"error\"},"
		"  {\"name\":\"构建\",\"outcome\":\"error\"}]}]}",
		long_stage, long_task_a, long_task_a);
	struct pfs_build *build = parse_str(json);
	char *got = failures_of(build);
	char **lines = g_strsplit(got, "\n", -1);
	/* "<stage>:<task>" is cut to PFS_NAME_MAX bytes: 250 + ":" + 4, alike
	 * for both long tasks; a CJK name is cut before a character */
	char *line2 = g_strdup_printf("%s -> ../stages/%s", long_stage, long_stage);
	char *line3 = g_strdup_printf("%s:yyyy -> ../stages/%s/tasks/%s1",
				      long_stage, long_stage, long_task_a);
	char *line4_target = g_strdup_printf(" -> ../stages/%s/tasks/%s2",
					     long_stage, long_task_a);
	char *line5 = g_strdup_printf("%s:构 -> ../stages/%s/tasks/构建",
				      long_stage, long_stage);
	char *entry4;

	g_assert_cmpuint(g_strv_length(lines), ==, 7);
	g_assert_cmpstr(lines[0], ==, "a:b -> ../stages/a:b");
	g_assert_cmpstr(lines[1], ==, "a:b~2 -> ../stages/a/tasks/b");
	g_assert_cmpstr(lines[2], ==, line2);
	g_assert_cmpstr(lines[3], ==, line3);
	g_assert_true(g_str_has_suffix(lines[4], line4_target));
	entry4 = g_strndup(lines[4], strlen(lines[4]) - strlen(line4_target));
	g_assert_cmpuint(strlen(entry4), <=, PFS_NAME_MAX);
	g_assert_true(g_str_has_suffix(entry4, "~2"));
	g_assert_true(g_str_has_prefix(entry4, long_stage));
	g_assert_cmpstr(lines[5], ==, line5);
	g_assert_cmpstr(lines[6], ==, "");
	g_free(entry4);
	g_free(line2);
	g_free(line3);
	g_free(line4_target);
	g_free(line5);
	g_strfreev(lines);
	g_free(got);
	g_free(json);
	g_free(long_stage);
	g_free(long_task_a);
	pfs_build_unref(build);
}

static int stop_at_first(const char *entry, const char *target, uint32_t dir,
			 void *ctx)
{
	(*(int *)ctx)++;
	return 7;
}

static void test_callback_stops_the_walk(void)
{
	struct pfs_build *build = demo_build(WEB_FRONTEND, "22");
	int calls = 0;

	g_assert_cmpint(pfs_summary_failures(build, stop_at_first, &calls), ==, 7);
	g_assert_cmpint(calls, ==, 1);
	pfs_build_unref(build);
}

/* summary.h promises nodes, links and contents are all it reads: a view
 * of a build being assembled (no index, no identity) works the same. */
static void test_a_view_without_index_works(void)
{
	struct pfs_build *build = demo_build(WEB_FRONTEND, "22");
	struct pfs_build view = {
		.nodes = build->nodes, .n_nodes = build->n_nodes,
		.strings = build->strings, .strings_len = build->strings_len,
	};

	assert_summary(&view, "22", failed_demo_summary);
	assert_failures(&view,
			"测试 -> ../stages/测试\n"
			"测试:unit-tests -> ../stages/测试/tasks/unit-tests\n");
	pfs_build_unref(build);
}

static void test_marks(void)
{
	g_assert_cmpstr(pfs_summary_mark("completed\n", "success\n", false), ==, "✓");
	g_assert_cmpstr(pfs_summary_mark("completed", "success", true), ==, "✗");
	g_assert_cmpstr(pfs_summary_mark("completed", "error", false), ==, "✗");
	g_assert_cmpstr(pfs_summary_mark("completed", "aborted", false), ==, "–");
	g_assert_cmpstr(pfs_summary_mark("running\n", NULL, false), ==, "●");
	g_assert_cmpstr(pfs_summary_mark("waiting", "", false), ==, "○");
	g_assert_cmpstr(pfs_summary_mark("verifying", NULL, false), ==, "·");
	g_assert_cmpstr(pfs_summary_mark(NULL, NULL, false), ==, "·");
	g_assert_cmpstr(pfs_summary_mark("running\n\n", "success ", false), ==, "·");
	g_assert_cmpstr(pfs_summary_mark("Running", "ERROR", false), ==, "·");
}

static void test_pipeline_lines_newest_first(void)
{
	struct pfs_build *b21 = demo_build(WEB_FRONTEND, "21");
	struct pfs_build *b22 = demo_build(WEB_FRONTEND, "22");
	struct pfs_build *seed = seed_build();
	GString *out = g_string_new(NULL);

	g_assert_cmpint(pfs_summary_compare_builds("22", b22, "21", b21), <, 0);
	g_assert_cmpint(pfs_summary_compare_builds("21", b21, "22", b22), >, 0);
	g_assert_cmpint(pfs_summary_compare_builds("100", NULL, "99", b22), <, 0);
	g_assert_cmpint(pfs_summary_compare_builds("0100", NULL, "99", NULL), <, 0);
	g_assert_cmpint(pfs_summary_compare_builds("22", b22, "22", b22), ==, 0);
	/* not both numbers: by start time, then a build without one last */
	g_assert_cmpint(pfs_summary_compare_builds("a", b21, "b", b22), >, 0);
	g_assert_cmpint(pfs_summary_compare_builds("a", seed, "b", b22), >, 0);
	g_assert_cmpint(pfs_summary_compare_builds("a", NULL, "b", seed), >, 0);
	g_assert_cmpint(pfs_summary_compare_builds("a", NULL, "b", NULL), >, 0);

	/* the pipeline list's name wins; else the build's; else "-" */
	pfs_summary_pipeline_line(out, "24", NULL, &(struct pfs_summary_brief){
		.status = "completed", .outcome = "error",
		.start_time = "2026-11-28 10:00:00", .elapsed_time = "3723000" },
		"web frontend");
	pfs_summary_pipeline_line(out, "23", NULL, NULL, "web frontend");
	pfs_summary_pipeline_line(out, "22", b22, NULL, NULL);
	pfs_summary_pipeline_line(out, "21", b21, NULL, NULL);
	pfs_summary_pipeline_line(out, "2", seed, NULL, NULL);
	pfs_summary_pipeline_line(out, "1", NULL, NULL, NULL);
	g_assert_cmpstr(out->str, ==,
		"24     ✗ completed  error   2026-11-28 10:00:00  1h02m web_frontend\n"
		"23     · -          -       -                        - web_frontend\n"
		"22     ✗ completed  error   2026-11-28 09:12:03  5m21s web-frontend\n"
		"21     ✓ completed  success 2026-11-27 16:40:51  5m11s web-frontend\n"
		"2      · -          -       2022-04-01 19:44:16      - pipeline-1185523_Cx2Ur\n"
		"1      · -          -       -                        - -\n");
	g_string_free(out, TRUE);
	pfs_build_unref(b21);
	pfs_build_unref(b22);
	pfs_build_unref(seed);
}

static void test_root_lines(void)
{
	struct pfs_build *b22 = demo_build(WEB_FRONTEND, "22");
	struct pfs_build *running = parse_str(running_build);
	GString *out = g_string_new(NULL);

	pfs_summary_root_line(out, WEB_FRONTEND, NULL, "22", b22);
	pfs_summary_root_line(out, "c41e7b0f95d24a6e8b3f2a1d07e9c5b8", NULL, "109", running);
	pfs_summary_root_line(out, "5b9e0d3c2a7f41e6b8d4c1f0a9e2d7c3", "payments", "41", NULL);
	pfs_summary_root_line(out, "75c562a081574ff28224fb2c123a0643", NULL, NULL, NULL);
	g_assert_cmpstr(out->str, ==,
		WEB_FRONTEND " web-frontend             22     ✗ completed  error   2026-11-28 09:17:24\n"
		"c41e7b0f95d24a6e8b3f2a1d07e9c5b8 order_service            109    ● running    -       2026-11-28 10:02:19\n"
		"5b9e0d3c2a7f41e6b8d4c1f0a9e2d7c3 payments                 41     · -          -       -\n"
		"75c562a081574ff28224fb2c123a0643 -                        -      · -          -       -\n");
	g_string_free(out, TRUE);
	pfs_build_unref(b22);
	pfs_build_unref(running);
}

/* Wide characters take two cells: names line up in a terminal. */
static void test_wide_names_are_padded_by_cells(void)
{
	struct pfs_build *build = parse_str("{\"pipeline_name\":\"订单服务\"}");
	GString *out = g_string_new(NULL);

	pfs_summary_root_line(out, "p", NULL, "1", build);
	g_assert_cmpstr(out->str, ==,
		"p 订单服务                 1      · -          -       -\n");
	g_string_free(out, TRUE);
	pfs_build_unref(build);
}

/* Random values never give text that is not UTF-8 or holds a control
 * character other than the line ends, nor a different number of lines. */
static void test_random_values_stay_printable(void)
{
	int round;

	for (round = 0; round < 2000; round++) {
		struct json_object *body = json_object_new_object();
		struct json_object *states = json_object_new_array();
		struct json_object *stage = json_object_new_object();
		static const char *const keys[] = {
			"status", "outcome", "elapsed_time", "error_msg",
			"error_code", "start_time", "pipeline_name",
		};
		char value[16];
		struct pfs_build *build;
		char *text;
		size_t i, j, len;
		const char *p;

		for (i = 0; i < G_N_ELEMENTS(keys); i++) {
			for (j = 0; j < sizeof(value); j++)
				value[j] = (char)g_test_rand_int_range(1, 256);
			json_object_object_add(i % 2 ? body : stage, keys[i],
				json_object_new_string_len(value, sizeof(value)));
		}
		json_object_object_add(stage, "name", json_object_new_string("s"));
		json_object_array_add(states, stage);
		json_object_object_add(body, "states", states);
		build = parse_str(json_object_to_json_string(body));
		text = pfs_summary_build(build, "1", &len);
		g_assert_true(g_utf8_validate(text, (gssize)len, NULL));
		for (p = text; *p; p = g_utf8_next_char(p)) {
			gunichar c = g_utf8_get_char(p);

			g_assert_true(c == '\n' || (c >= 0x20 && c != 0x7f &&
						    (c < 0x80 || c > 0x9f)));
		}
		g_assert_cmpuint(len, ==, strlen(text));
		for (i = 0, p = text; (p = strchr(p, '\n')); p++)
			i++;
		g_assert_cmpuint(i, >=, 2);
		g_assert_cmpuint(i, <=, 3);
		g_free(text);
		pfs_build_unref(build);
		json_object_put(body);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/summary/failed-demo-build", test_failed_demo_build);
	g_test_add_func("/summary/successful-demo-build-has-no-failures",
			test_successful_demo_build_has_no_failures);
	g_test_add_func("/summary/seed-all-null-example", test_seed_all_null_example);
	g_test_add_func("/summary/running-build", test_running_build);
	g_test_add_func("/summary/error-text-is-the-first-line",
			test_error_text_is_the_first_line);
	g_test_add_func("/summary/hostile-values-are-made-printable",
			test_hostile_values_are_made_printable);
	g_test_add_func("/summary/entries-are-unique-and-fit",
			test_entries_are_unique_and_fit);
	g_test_add_func("/summary/callback-stops-the-walk",
			test_callback_stops_the_walk);
	g_test_add_func("/summary/a-view-without-index-works",
			test_a_view_without_index_works);
	g_test_add_func("/summary/marks", test_marks);
	g_test_add_func("/summary/pipeline-lines-newest-first",
			test_pipeline_lines_newest_first);
	g_test_add_func("/summary/root-lines", test_root_lines);
	g_test_add_func("/summary/wide-names-are-padded-by-cells",
			test_wide_names_are_padded_by_cells);
	g_test_add_func("/summary/random-values-stay-printable",
			test_random_values_stay_printable);
	return g_test_run();
}
