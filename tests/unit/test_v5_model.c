/* Unit tests for v5_model.c: a v5 run detail body -> the generic tree in
 * v3's shapes (v5.h). */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "apitime.h"
#include "model.h"
#include "tree_check.h"
#include "v5.h"

/* A run detail as the simulator serves it (contrib/pipelinefs_sim/v5.py,
 * run_detail() of a v3 document): run 12, FAILED; stage Build with two
 * jobs named compile (the first with steps checkout, make, make) and
 * gates "entry check" pre and post; stage Test with job unit (FAILED, a
 * JSON message), lint (FAILED, a plain message) and a nameless CANCELED
 * job j5; stage s3 (no name, INIT). Times are 2026-03-01 10:00:00 +08:00
 * on. */
static const char sim_run[] =
	"{\"id\":\"5012eaf409136f994140a0c4f9e6d22c\",\"pipeline_id\":\"75c562a"
	"081574ff28224fb2c123a0643\",\"name\":\"demo-pipeline\",\"project_id\":"
	"\"0d1e2f3a4b5c46d7e8f9a0b1c2d3e4f5\",\"description\":\"\",\"run_number"
	"\":12,\"status\":\"FAILED\",\"trigger_type\":\"Manual\",\"executor_id"
	"\":\"e6619e678487b22a6ebd6be309b5179b\",\"executor_name\":\"zhangsan\""
	",\"start_time\":1772330400000,\"end_time\":1772330730000,\"stages\":[{"
	"\"id\":\"89e5a1b3e788f0e7b3cc07f166ec0265\",\"name\":\"Build\",\"ident"
	"ifier\":\"s1\",\"sequence\":0,\"status\":\"COMPLETED\",\"start_time\":"
	"1772330400000,\"end_time\":1772330520000,\"parallel\":\"false\",\"pre"
	"\":[{\"id\":\"4513ad192be8dd5aa4641ca8a0aad1af\",\"name\":\"entry chec"
	"k\",\"task\":\"official_devcloud_gate\",\"business_type\":\"Gate\",\"s"
	"equence\":0,\"status\":\"COMPLETED\",\"message\":null,\"start_time\":1"
	"772330400000,\"end_time\":1772330520000}],\"post\":[{\"id\":\"18169ad7"
	"67e19da1463c065fc0ce5d93\",\"name\":\"entry check\",\"task\":\"officia"
	"l_devcloud_gate\",\"business_type\":\"Gate\",\"sequence\":0,\"status\""
	":\"COMPLETED\",\"message\":null,\"start_time\":1772330400000,\"end_tim"
	"e\":1772330520000}],\"jobs\":[{\"id\":\"3359f6808590786db935ac63ff2b57"
	"2f\",\"name\":\"compile\",\"identifier\":\"j1\",\"sequence\":0,\"statu"
	"s\":\"COMPLETED\",\"message\":null,\"async\":\"false\",\"start_time\":"
	"1772330400000,\"end_time\":1772330460000,\"steps\":[{\"id\":\"9b7b4c86"
	"0ee0ece99579376ac1fe5331\",\"name\":\"checkout\",\"task\":\"official_s"
	"hell_plugin\",\"business_type\":\"Normal\",\"sequence\":0,\"status\":"
	"\"COMPLETED\",\"message\":null,\"start_time\":1772330400000,\"end_time"
	"\":1772330460000},{\"id\":\"bed754865e415bbb8a0f8fca72917582\",\"name"
	"\":\"make\",\"task\":\"official_shell_plugin\",\"business_type\":\"Nor"
	"mal\",\"sequence\":1,\"status\":\"COMPLETED\",\"message\":null,\"start"
	"_time\":1772330400000,\"end_time\":1772330460000},{\"id\":\"e081c32f95"
	"3ef67f7585659e1ec88371\",\"name\":\"make\",\"task\":\"official_shell_p"
	"lugin\",\"business_type\":\"Normal\",\"sequence\":2,\"status\":\"COMPL"
	"ETED\",\"message\":null,\"start_time\":1772330400000,\"end_time\":1772"
	"330460000}]},{\"id\":\"f1e6a9da88ba05c09cb9d7484b583bea\",\"name\":\"c"
	"ompile\",\"identifier\":\"j2\",\"sequence\":1,\"status\":\"COMPLETED\""
	",\"message\":null,\"async\":\"false\",\"start_time\":1772330460000,\"e"
	"nd_time\":1772330520000,\"steps\":[]}]},{\"id\":\"1a0a78615559b2bbcf63"
	"75ce99963752\",\"name\":\"Test\",\"identifier\":\"s2\",\"sequence\":1,"
	"\"status\":\"FAILED\",\"start_time\":1772330520000,\"end_time\":177233"
	"0730000,\"parallel\":\"false\",\"pre\":[],\"post\":[],\"jobs\":[{\"id"
	"\":\"957faddeaf405adecf568049814118a8\",\"name\":\"unit\",\"identifier"
	"\":\"j3\",\"sequence\":0,\"status\":\"FAILED\",\"message\":\"{\\\"erro"
	"rMessage\\\": \\\"3 tests failed\\\", \\\"errorCode\\\": \\\"DEV-CODEC"
	"I-35002\\\"}\",\"async\":\"false\",\"start_time\":1772330520000,\"end_"
	"time\":1772330730000,\"steps\":[{\"id\":\"e283c99607db9c6fb1451154aff3"
	"5f5e\",\"name\":\"unit\",\"task\":\"official_shell_plugin\",\"business"
	"_type\":\"Normal\",\"sequence\":0,\"status\":\"FAILED\",\"message\":nu"
	"ll,\"start_time\":1772330520000,\"end_time\":1772330730000}]},{\"id\":"
	"\"6385ca5fc054a39f888a849c6104a2ed\",\"name\":\"lint\",\"identifier\":"
	"\"j4\",\"sequence\":1,\"status\":\"FAILED\",\"message\":\"style errors"
	"\",\"async\":\"false\",\"start_time\":1772330520000,\"end_time\":17723"
	"30580000,\"steps\":[]},{\"id\":\"0ba3035bce41e6a9b6605f1dbc2eb546\",\""
	"name\":\"\",\"identifier\":\"j5\",\"sequence\":2,\"status\":\"CANCELED"
	"\",\"message\":null,\"async\":\"false\",\"start_time\":1772330520000,"
	"\"end_time\":1772330580000,\"steps\":[]}]},{\"id\":\"90b57a69c9825c62c"
	"9251e5810d6ed11\",\"name\":null,\"identifier\":\"s3\",\"sequence\":2,"
	"\"status\":\"INIT\",\"start_time\":0,\"end_time\":0,\"parallel\":\"fal"
	"se\",\"pre\":[],\"post\":[],\"jobs\":[]}],\"sources\":[],\"artifacts\""
	":[],\"build_params\":[{\"name\":\"branch\",\"value\":\"main\"},{\"name"
	"\":\"branch\",\"value\":\"dev\"}],\"detail_url\":\"https://example.com"
	"/run/12\"}";

#define SIM_PIPELINE "75c562a081574ff28224fb2c123a0643"

static GTimeZone *zone(const char *spec)
{
	GTimeZone *tz = NULL;
	char err[256];

	if (pfs_apitime_zone_new(spec, &tz, err, sizeof(err)) != 0)
		g_error("zone %s: %s", spec, err);
	return tz;
}

static struct pfs_build *parse_in(const char *json, const char *zone_spec)
{
	GTimeZone *tz = zone(zone_spec);
	struct pfs_build *build = NULL;
	char err[256] = "";
	int res = pfs_v5_model_parse(json, strlen(json), tz, &build, err, sizeof(err));

	g_time_zone_unref(tz);
	if (res != 0)
		g_error("parse failed (%d): %s", res, err);
	return build;
}

static struct pfs_build *parse_ok(const char *json)
{
	return parse_in(json, PFS_APITIME_DEFAULT_ZONE);
}

/* The error of parsing @json; the reason is in @err. */
static int parse_error(const char *json, size_t len, char *err, size_t size)
{
	GTimeZone *tz = zone(PFS_APITIME_DEFAULT_ZONE);
	struct pfs_build *build = NULL;
	int res;

	err[0] = '\0';
	res = pfs_v5_model_parse(json, len, tz, &build, err, size);
	g_time_zone_unref(tz);
	g_assert_null(build);
	g_assert_cmpint(res, !=, 0);
	return res;
}

static uint8_t kind_at(const struct pfs_build *build, const char *path)
{
	return build->nodes[tree_check_node(build, path)].kind;
}

/* The fields every step and gate has, in tree order. */
#define STEP_FIELDS "id|name|task|business_type|sequence|status|outcome|" \
	"v5_status|start_time|end_time|elapsed_time|start_time_ms|end_time_ms|" \
	"error_code|error_msg|message"
/* The fields of v3's stages and tasks, then v5's own of stages and jobs. */
#define STATE_FIELDS "id|name|type|status|outcome|start_time|end_time|" \
	"elapsed_time|error_code|error_msg|detail_url|v5_status|identifier|sequence"

static void test_simulator_run_is_the_v3_tree(void)
{
	struct pfs_build *build = parse_ok(sim_run);
	const char *step = "stages/Build/tasks/compile/steps/make~2/";
	char *body;

	assert_children(build, "", "status|outcome|pipeline_id|pipeline_name|"
			"executor|build_id|start_time|end_time|elapsed_time|detail_url|"
			"pipeline_run_id|v5_status|start_time_ms|end_time_ms|"
			"trigger_type|executor_id|project_id|description|parameters|"
			"status.json|summary|events|wait|stages|failed");
	assert_content(build, "status", "completed\n");
	assert_content(build, "outcome", "error\n");
	assert_content(build, "v5_status", "FAILED\n");
	assert_content(build, "pipeline_id", SIM_PIPELINE "\n");
	assert_content(build, "pipeline_name", "demo-pipeline\n");
	assert_content(build, "executor", "zhangsan\n");
	assert_content(build, "build_id", "12\n");
	assert_content(build, "start_time", "2026-03-01 10:00:00\n");
	assert_content(build, "end_time", "2026-03-01 10:05:30\n");
	assert_content(build, "elapsed_time", "330000\n");
	assert_content(build, "start_time_ms", "1772330400000\n");
	assert_content(build, "end_time_ms", "1772330730000\n");
	assert_content(build, "detail_url", "https://example.com/run/12\n");
	assert_content(build, "pipeline_run_id", "5012eaf409136f994140a0c4f9e6d22c\n");
	assert_content(build, "trigger_type", "Manual\n");
	assert_content(build, "project_id", "0d1e2f3a4b5c46d7e8f9a0b1c2d3e4f5\n");
	assert_content(build, "description", "\n");
	assert_children(build, "parameters", "branch|branch~2");
	assert_content(build, "parameters/branch~2", "dev\n");
	g_assert_cmpuint(kind_at(build, "status.json"), ==, PFS_NODE_BODY);

	assert_children(build, "stages", "Build|Test|s3");
	assert_children(build, "stages/Build", STATE_FIELDS "|parallel|"
			"start_time_ms|end_time_ms|tasks|gates");
	assert_content(build, "stages/Build/identifier", "s1\n");
	assert_content(build, "stages/Build/parallel", "false\n");
	assert_content(build, "stages/Build/elapsed_time", "120000\n");
	assert_content(build, "stages/Build/type", "");
	assert_content(build, "stages/Build/detail_url", "");
	assert_children(build, "stages/Build/tasks", "compile|compile~2");
	assert_children(build, "stages/Build/tasks/compile", STATE_FIELDS
			"|start_time_ms|end_time_ms|message|async|log|steps");
	assert_content(build, "stages/Build/tasks/compile~2/identifier", "j2\n");
	assert_content(build, "stages/Build/tasks/compile/async", "false\n");
	g_assert_cmpuint(kind_at(build, "stages/Build/tasks/compile/log"), ==,
			 PFS_NODE_LOG);
	assert_children(build, "stages/Build/tasks/compile/steps",
			"checkout|make|make~2");
	assert_children(build, step, STEP_FIELDS "|log");
	{
		char *log = g_strconcat(step, "log", NULL);
		char *sequence = g_strconcat(step, "sequence", NULL);

		g_assert_cmpuint(kind_at(build, log), ==, PFS_NODE_LOG);
		assert_content(build, sequence, "2\n");
		g_free(log);
		g_free(sequence);
	}
	assert_content(build, "stages/Build/tasks/compile/steps/make/task",
		       "official_shell_plugin\n");
	assert_children(build, "stages/Build/gates", "entry check|entry check~2");
	assert_children(build, "stages/Build/gates/entry check", STEP_FIELDS "|gate|log");
	assert_content(build, "stages/Build/gates/entry check/gate", "pre\n");
	assert_content(build, "stages/Build/gates/entry check~2/gate", "post\n");
	assert_content(build, "stages/Build/gates/entry check/business_type", "Gate\n");

	assert_children(build, "stages/Test/tasks", "unit|lint|j5");
	assert_content(build, "stages/Test/tasks/unit/error_code", "DEV-CODECI-35002\n");
	assert_content(build, "stages/Test/tasks/unit/error_msg", "3 tests failed\n");
	assert_content(build, "stages/Test/tasks/lint/error_code", "");
	assert_content(build, "stages/Test/tasks/lint/error_msg", "style errors\n");
	assert_content(build, "stages/Test/tasks/j5/outcome", "aborted\n");
	assert_children(build, "stages/Test/gates", "");
	assert_content(build, "stages/s3/status", "waiting\n");
	assert_content(build, "stages/s3/start_time", "");
	assert_content(build, "stages/s3/start_time_ms", "0\n");
	assert_children(build, "stages/s3/tasks", "");

	assert_children(build, "failed", "Test|Test:unit|Test:lint");
	assert_content(build, "failed/Test:unit", "../stages/Test/tasks/unit");

	g_assert_cmpstr(build->build_id, ==, "12");
	g_assert_cmpstr(build->pipeline_id, ==, SIM_PIPELINE);
	g_assert_false(build->bad_identity);
	g_assert_true(build->completed);
	g_assert_cmpstr(build->outcome, ==, "error");
	body = pfs_build_body(build);
	g_assert_cmpstr(body, ==, sim_run);
	g_free(body);
	pfs_build_unref(build);
}

struct status_case {
	const char *json;	/* the value of "status", NULL: none */
	const char *status, *outcome, *raw;	/* the files */
	bool completed;
};

static const struct status_case status_cases[] = {
	{ "\"RUNNING\"", "running\n", "", "RUNNING\n", false },
	{ "\"ASYNC_RUNNING\"", "running\n", "", "ASYNC_RUNNING\n", false },
	{ "\"REDISPATCH\"", "running\n", "", "REDISPATCH\n", false },
	{ "\"COMPLETED\"", "completed\n", "success\n", "COMPLETED\n", true },
	{ "\"FAILED\"", "completed\n", "error\n", "FAILED\n", true },
	{ "\"ASYNC_FAILED\"", "completed\n", "error\n", "ASYNC_FAILED\n", true },
	{ "\"CANCELED\"", "completed\n", "aborted\n", "CANCELED\n", true },
	{ "\"SKIPPED\"", "completed\n", "skipped\n", "SKIPPED\n", true },
	{ "\"UNSELECTED\"", "completed\n", "skipped\n", "UNSELECTED\n", true },
	{ "\"IGNORED\"", "completed\n", "ignored\n", "IGNORED\n", true },
	{ "\"QUEUED\"", "waiting\n", "", "QUEUED\n", false },
	{ "\"INIT\"", "waiting\n", "", "INIT\n", false },
	{ "\"PAUSED\"", "verifying\n", "", "PAUSED\n", false },
	{ "\"SUSPEND\"", "suspending\n", "", "SUSPEND\n", false },
	/* a known value in another case is that value */
	{ "\"Completed\"", "completed\n", "success\n", "Completed\n", true },
	{ "\"failed\"", "completed\n", "error\n", "failed\n", true },
	/* unknown values are passed on in lower case, and never end a run */
	{ "\"WAITING_FOR_GODOT\"", "waiting_for_godot\n", "", "WAITING_FOR_GODOT\n", false },
	{ "\"CANCELLED\"", "cancelled\n", "", "CANCELLED\n", false },
	{ "\"COMPLETED \"", "completed \n", "", "COMPLETED \n", false },
	{ "\"\"", "\n", "", "\n", false },
	{ "42", "42\n", "", "42\n", false },
	{ "[\"RUNNING\"]", "[\"running\"]\n", "", "[\"RUNNING\"]\n", false },
	{ "null", "", "", "", false },
	{ NULL, "", "", "", false },
};

/* A run whose every part (the run, a stage, a gate, a job, a step) has
 * status @value (NULL: no status). */
static char *run_with_status(const char *value)
{
	char *status = value ? g_strdup_printf("\"status\":%s,", value) : g_strdup("");
	char *json = g_strdup_printf(
		"{%s\"run_number\":1,\"stages\":[{%s\"name\":\"s\","
		"\"pre\":[{%s\"name\":\"g\"}],\"jobs\":[{%s\"name\":\"j\","
		"\"steps\":[{%s\"name\":\"p\"}]}]}]}",
		status, status, status, status, status);

	g_free(status);
	return json;
}

static void test_every_status_maps_to_v3(void)
{
	static const char *const parts[] = {
		"", "stages/s", "stages/s/gates/g", "stages/s/tasks/j",
		"stages/s/tasks/j/steps/p",
	};
	const struct status_case *c;
	size_t i;

	for (c = status_cases; c < status_cases + G_N_ELEMENTS(status_cases); c++) {
		char *json = run_with_status(c->json);
		struct pfs_build *build = parse_ok(json);

		for (i = 0; i < G_N_ELEMENTS(parts); i++) {
			char *status = g_strconcat(parts[i], *parts[i] ? "/" : "", "status", NULL);
			char *outcome = g_strconcat(parts[i], *parts[i] ? "/" : "", "outcome", NULL);
			char *raw = g_strconcat(parts[i], *parts[i] ? "/" : "", "v5_status", NULL);

			g_test_message("status %s at '%s'", c->json ? c->json : "(none)",
				       parts[i]);
			assert_content(build, status, c->status);
			assert_content(build, outcome, c->outcome);
			assert_content(build, raw, c->raw);
			g_free(status);
			g_free(outcome);
			g_free(raw);
		}
		g_assert_cmpint(build->completed, ==, c->completed);
		/* the build's outcome is the outcome file's, without its newline */
		g_assert_cmpuint(strlen(build->outcome) + (*c->outcome ? 1 : 0), ==,
				 strlen(c->outcome));
		g_assert_true(strncmp(build->outcome, c->outcome, strlen(build->outcome)) == 0);
		pfs_build_unref(build);
		g_free(json);
	}
}

/* A NUL in a status makes it no known value: the bytes are kept. */
static void test_status_with_a_nul_is_unknown(void)
{
	struct pfs_build *build = parse_ok("{\"status\":\"COMPLETED\\u0000x\"}");
	uint32_t node = tree_check_node(build, "status");
	const char *content;
	size_t len;

	content = pfs_build_node_content(build, node, &len);
	g_assert_cmpmem(content, len, "completed\0x\n", 12);
	g_assert_false(build->completed);
	g_assert_cmpstr(build->outcome, ==, "");
	pfs_build_unref(build);
}

struct time_case {
	const char *json;	/* the value of start_time */
	const char *text;	/* start_time in +08:00 */
	const char *ms;		/* start_time_ms */
};

static const struct time_case time_cases[] = {
	{ "1772330400000", "2026-03-01 10:00:00\n", "1772330400000\n" },
	/* milliseconds do not round the second up */
	{ "1772330400999", "2026-03-01 10:00:00\n", "1772330400999\n" },
	{ "\"1772330400000\"", "2026-03-01 10:00:00\n", "1772330400000\n" },
	{ "1772330400000.0", "2026-03-01 10:00:00\n", "1772330400000.0\n" },
	{ "1", "1970-01-01 08:00:00\n", "1\n" },
	{ "9223372036000", "2262-04-12 07:47:16\n", "9223372036000\n" },
	{ "9223372036999", "2262-04-12 07:47:16\n", "9223372036999\n" },
	/* no time: 0 (unfinished), no v3 text, or not a number of ms */
	{ "0", "", "0\n" },
	{ "\"0\"", "", "0\n" },
	{ "null", "", "" },
	{ "-1772330400000", "", "-1772330400000\n" },
	/* past what an mtime can hold */
	{ "9223372037000", "", "9223372037000\n" },
	{ "253402300799999", "", "253402300799999\n" },
	{ "9223372036854775807", "", "9223372036854775807\n" },
	{ "1e300", "", "1e300\n" },
	{ "1772330400000.5", "", "1772330400000.5\n" },
	{ "\"soon\"", "", "soon\n" },
	{ "\"2026-03-01 10:00:00\"", "", "2026-03-01 10:00:00\n" },
	{ "\"+1772330400000\"", "", "+1772330400000\n" },
	{ "\" 1772330400000\"", "", " 1772330400000\n" },
	{ "\"1772330400000x\"", "", "1772330400000x\n" },
	{ "\"99999999999999999999999\"", "", "99999999999999999999999\n" },
	{ "\"\"", "", "\n" },
	{ "true", "", "true\n" },
	{ "[1772330400000]", "", "[1772330400000]\n" },
};

static void test_times_are_v3_text_in_the_zone(void)
{
	const struct time_case *c;
	struct pfs_build *build;

	for (c = time_cases; c < time_cases + G_N_ELEMENTS(time_cases); c++) {
		char *json = g_strdup_printf("{\"start_time\":%s}", c->json);

		g_test_message("start_time %s", c->json);
		build = parse_ok(json);
		assert_content(build, "start_time", c->text);
		assert_content(build, "start_time_ms", c->ms);
		assert_content(build, "end_time", "");
		assert_content(build, "end_time_ms", "");
		assert_content(build, "elapsed_time", "");
		pfs_build_unref(build);
		g_free(json);
	}
	/* the zone of -o timezone=, whatever the service's */
	build = parse_in("{\"start_time\":1772330400000,\"stages\":[{\"name\":\"s\","
			 "\"end_time\":\"1772330730000\"}]}", "UTC");
	assert_content(build, "start_time", "2026-03-01 02:00:00\n");
	assert_content(build, "stages/s/end_time", "2026-03-01 02:05:30\n");
	pfs_build_unref(build);
	build = parse_in("{\"start_time\":9223372036000}", "UTC");
	assert_content(build, "start_time", "2262-04-11 23:47:16\n");
	pfs_build_unref(build);
	build = parse_in("{\"start_time\":1772330400000}", "-05:30");
	assert_content(build, "start_time", "2026-02-28 20:30:00\n");
	pfs_build_unref(build);
}

static void test_elapsed_time_needs_both_ends(void)
{
	static const char *const cases[][2] = {
		{ "\"start_time\":1772330400000,\"end_time\":1772330730000", "330000\n" },
		{ "\"start_time\":1772330400999,\"end_time\":\"1772330730000\"", "329001\n" },
		{ "\"start_time\":1772330400000,\"end_time\":1772330400000", "0\n" },
		/* running: no end yet */
		{ "\"start_time\":1772330400000,\"end_time\":0", "" },
		{ "\"start_time\":1772330400000", "" },
		{ "\"start_time\":0,\"end_time\":1772330730000", "" },
		/* an end before the start is no duration */
		{ "\"start_time\":1772330730000,\"end_time\":1772330400000", "" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *json = g_strdup_printf(
			"{%s,\"stages\":[{\"name\":\"s\",%s,\"jobs\":[{\"name\":\"j\",%s,"
			"\"steps\":[{\"name\":\"p\",%s}]}]}]}",
			cases[i][0], cases[i][0], cases[i][0], cases[i][0]);
		struct pfs_build *build = parse_ok(json);

		g_test_message("%s", cases[i][0]);
		assert_content(build, "elapsed_time", cases[i][1]);
		assert_content(build, "stages/s/elapsed_time", cases[i][1]);
		assert_content(build, "stages/s/tasks/j/elapsed_time", cases[i][1]);
		assert_content(build, "stages/s/tasks/j/steps/p/elapsed_time", cases[i][1]);
		pfs_build_unref(build);
		g_free(json);
	}
}

/* Each stage, job, step and gate is a time group: its files are first
 * seen at its own end_time (else start_time), a part without either at
 * the build's. */
static void test_parts_are_time_groups(void)
{
	struct pfs_build *build = parse_ok(
		"{\"start_time\":1772330400000,\"stages\":[{\"name\":\"s\","
		"\"end_time\":1772330520000,\"post\":[{\"name\":\"g\","
		"\"start_time\":1772330700000}],\"jobs\":[{\"name\":\"j\","
		"\"end_time\":1772330460000,\"steps\":[{\"name\":\"p\","
		"\"end_time\":1772330430000},{\"name\":\"q\"}]}]}]}");
	GTimeZone *tz = zone(PFS_APITIME_DEFAULT_ZONE);
	static const struct {
		const char *path;
		int64_t s;
	} expected[] = {
		{ "status", 1772330400 },
		{ "stages/s/status", 1772330520 },
		{ "stages/s/gates/g/gate", 1772330700 },
		{ "stages/s/tasks/j/message", 1772330460 },
		{ "stages/s/tasks/j/log", 1772330460 },
		{ "stages/s/tasks/j/steps/p/status", 1772330430 },
		{ "stages/s/tasks/j/steps/p/log", 1772330430 },
		{ "stages/s/tasks/j/steps/q/status", 1772330400 },
	};
	size_t i;

	pfs_build_set_times(build, tz, 1);
	for (i = 0; i < G_N_ELEMENTS(expected); i++) {
		g_test_message("%s", expected[i].path);
		g_assert_cmpint(pfs_build_node_ns(build, tree_check_node(build, expected[i].path)),
				==, expected[i].s * 1000000000);
	}
	g_time_zone_unref(tz);
	pfs_build_unref(build);
}

struct message_case {
	const char *json;	/* the job's (and its step's) message */
	const char *error_msg, *error_code, *message;
};

static const struct message_case message_cases[] = {
	{ "\"3 tests failed\"", "3 tests failed\n", "", "3 tests failed\n" },
	{ "\"{\\\"errorMessage\\\": \\\"disk full\\\", \\\"errorCode\\\": \\\"DEV-1\\\"}\"",
	  "disk full\n", "DEV-1\n",
	  "{\"errorMessage\": \"disk full\", \"errorCode\": \"DEV-1\"}\n" },
	{ "\"{\\\"errorCode\\\":\\\"DEV-2\\\"}\"", "", "DEV-2\n", "{\"errorCode\":\"DEV-2\"}\n" },
	{ "\"{\\\"errorMessage\\\":\\\"m\\\",\\\"errorCode\\\":35002,\\\"x\\\":1}\"",
	  "m\n", "35002\n", "{\"errorMessage\":\"m\",\"errorCode\":35002,\"x\":1}\n" },
	{ "\"{\\\"errorMessage\\\":null,\\\"errorCode\\\":null}\"", "", "",
	  "{\"errorMessage\":null,\"errorCode\":null}\n" },
	{ "\" {\\\"errorMessage\\\":\\\"m\\\"} \"", "m\n", "", " {\"errorMessage\":\"m\"} \n" },
	/* already an object (not the documented string) */
	{ "{\"errorMessage\":\"m\",\"errorCode\":\"c\"}", "m\n", "c\n",
	  "{\"errorMessage\":\"m\",\"errorCode\":\"c\"}\n" },
	/* JSON, but not such an object: the message as it is */
	{ "\"{\\\"x\\\":1}\"", "{\"x\":1}\n", "", "{\"x\":1}\n" },
	{ "\"[\\\"errorMessage\\\"]\"", "[\"errorMessage\"]\n", "", "[\"errorMessage\"]\n" },
	{ "\"{\\\"errorMessage\\\":\"", "{\"errorMessage\":\n", "", "{\"errorMessage\":\n" },
	{ "\"{\\\"errorMessage\\\":\\\"m\\\"} x\"", "{\"errorMessage\":\"m\"} x\n", "",
	  "{\"errorMessage\":\"m\"} x\n" },
	{ "{\"x\":1}", "{\"x\":1}\n", "", "{\"x\":1}\n" },
	{ "7", "7\n", "", "7\n" },
	{ "\"\"", "\n", "", "\n" },
	{ "null", "", "", "" },
};

static void test_message_is_split_into_error_fields(void)
{
	static const char *const parts[] = { "stages/s/tasks/j", "stages/s/tasks/j/steps/p" };
	const struct message_case *c;
	size_t i;

	for (c = message_cases; c < message_cases + G_N_ELEMENTS(message_cases); c++) {
		char *json = g_strdup_printf(
			"{\"stages\":[{\"name\":\"s\",\"jobs\":[{\"name\":\"j\",\"message\":%s,"
			"\"steps\":[{\"name\":\"p\",\"message\":%s}]}]}]}", c->json, c->json);
		struct pfs_build *build = parse_ok(json);

		for (i = 0; i < G_N_ELEMENTS(parts); i++) {
			char *msg = g_strconcat(parts[i], "/error_msg", NULL);
			char *code = g_strconcat(parts[i], "/error_code", NULL);
			char *raw = g_strconcat(parts[i], "/message", NULL);

			g_test_message("message %s at %s", c->json, parts[i]);
			assert_content(build, msg, c->error_msg);
			assert_content(build, code, c->error_code);
			assert_content(build, raw, c->message);
			g_free(msg);
			g_free(code);
			g_free(raw);
		}
		pfs_build_unref(build);
		g_free(json);
	}
}

static void test_failed_job_is_linked_from_failed(void)
{
	struct pfs_build *build = parse_ok(
		"{\"status\":\"RUNNING\",\"stages\":["
		"{\"name\":\"build\",\"status\":\"COMPLETED\",\"jobs\":[{\"name\":\"ok\","
		"\"status\":\"COMPLETED\"}]},"
		"{\"name\":\"test\",\"status\":\"RUNNING\",\"jobs\":["
		"{\"name\":\"unit\",\"status\":\"FAILED\",\"steps\":[{\"name\":\"run\","
		"\"status\":\"FAILED\"}]},"
		"{\"name\":\"async\",\"status\":\"ASYNC_FAILED\"},"
		"{\"name\":\"said\",\"status\":\"COMPLETED\",\"message\":\"warning\"},"
		"{\"name\":\"stopped\",\"status\":\"CANCELED\"},"
		"{\"name\":\"running\",\"status\":\"RUNNING\"}]}]}");

	/* a failed step shows in its job, which is what failed/ points at */
	assert_children(build, "failed", "test:unit|test:async|test:said");
	assert_content(build, "failed/test:unit", "../stages/test/tasks/unit");
	assert_content(build, "failed/test:async", "../stages/test/tasks/async");
	g_assert_false(build->completed);
	g_assert_cmpstr(build->outcome, ==, "");
	pfs_build_unref(build);
}

static void test_parts_are_named_like_v3(void)
{
	struct pfs_build *build = parse_ok(
		"{\"stages\":["
		"{\"name\":\"x\"},{\"name\":\"x\"},"
		"{\"name\":null,\"identifier\":7,\"id\":\"i\"},"
		"{\"identifier\":null,\"id\":\"only-id\"},"
		"{},"
		"{\"name\":\"a/b\"},{\"name\":\"..\",\"id\":\"dots\"},"
		"{\"name\":\"\",\"identifier\":\"\"},"
		"{\"name\":\"x\",\"jobs\":[{\"name\":\"j\",\"steps\":[{},{\"name\":\"p\"},"
		"{\"name\":\"p\"},{\"id\":\"3\"}]},{\"name\":\"j\"},{\"identifier\":\"j\"}],"
		"\"pre\":[{\"name\":\"g\"},{}],\"post\":[{\"name\":\"g\"},{}]}]}");

	/* name, else identifier, else id, else the place; unique, safe */
	assert_children(build, "stages", "x|x~2|7|only-id|5|a_b|dots|8|x~3");
	assert_children(build, "stages/x~3/tasks", "j|j~2|j~3");
	assert_children(build, "stages/x~3/tasks/j/steps", "1|p|p~2|3");
	/* pre and post share one directory: the place counts in each list */
	assert_children(build, "stages/x~3/gates", "g|2|g~2|2~2");
	assert_content(build, "stages/x~3/gates/2~2/gate", "post\n");
	pfs_build_unref(build);
}

static void test_identity(void)
{
	static const struct {
		const char *json;
		const char *build_id, *pipeline_id;
		bool bad;
	} cases[] = {
		{ "{\"run_number\":7,\"pipeline_id\":\"p1\"}", "7", "p1", false },
		{ "{\"run_number\":\"8\",\"pipeline_id\":\"p1\"}", "8", "p1", false },
		/* no run is numbered 0 or below: such a number names none */
		{ "{\"run_number\":0}", NULL, NULL, true },
		{ "{\"run_number\":-7}", NULL, NULL, true },
		{ "{\"run_number\":\"007\"}", NULL, NULL, true },
		{ "{}", NULL, NULL, false },
		{ "{\"run_number\":null,\"pipeline_id\":null}", NULL, NULL, false },
		{ "{\"run_number\":\"../x\"}", NULL, NULL, true },
		{ "{\"run_number\":1.5}", NULL, NULL, true },
		{ "{\"run_number\":[7]}", NULL, NULL, true },
		{ "{\"run_number\":7,\"pipeline_id\":\"a b\"}", "7", NULL, true },
		/* the run's id is not its number */
		{ "{\"id\":\"5012eaf409136f994140a0c4f9e6d22c\"}", NULL, NULL, false },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct pfs_build *build = parse_ok(cases[i].json);

		g_test_message("%s", cases[i].json);
		g_assert_cmpstr(build->build_id, ==, cases[i].build_id);
		g_assert_cmpstr(build->pipeline_id, ==, cases[i].pipeline_id);
		g_assert_cmpint(build->bad_identity, ==, cases[i].bad);
		pfs_build_unref(build);
	}
}

/* Scalars of the wrong type show as their JSON text, as in v3 (the
 * simulator's wrong_types fault, without its broken lists). */
static void test_wrong_scalar_types_show_as_json_text(void)
{
	struct pfs_build *build = parse_ok(
		"{\"id\":7,\"run_number\":\"3\",\"status\":42,\"start_time\":\"2026-01-01\","
		"\"end_time\":true,\"name\":[\"x\"],\"executor_name\":{},"
		"\"stages\":[{\"id\":1,\"name\":2,\"status\":[],\"sequence\":\"0\","
		"\"parallel\":false,\"jobs\":[{\"message\":{\"errorCode\":1},"
		"\"status\":null,\"async\":true,\"steps\":[{\"name\":{\"a\":1}}]}]}]}");

	assert_content(build, "pipeline_name", "[\"x\"]\n");
	assert_content(build, "executor", "{}\n");
	assert_content(build, "pipeline_run_id", "7\n");
	assert_content(build, "start_time", "");
	assert_content(build, "start_time_ms", "2026-01-01\n");
	assert_content(build, "end_time_ms", "true\n");
	assert_content(build, "status", "42\n");
	assert_content(build, "stages/2/status", "[]\n");
	assert_content(build, "stages/2/parallel", "false\n");
	assert_content(build, "stages/2/tasks/1/error_code", "1\n");
	assert_content(build, "stages/2/tasks/1/error_msg", "");
	assert_content(build, "stages/2/tasks/1/async", "true\n");
	assert_children(build, "stages/2/tasks/1/steps", "{\"a\":1}");
	g_assert_cmpstr(build->build_id, ==, "3");
	pfs_build_unref(build);
}

static void test_wrong_shapes_are_errors(void)
{
	static const struct {
		const char *json;
		const char *reason;
	} cases[] = {
		{ "[]", "the body is not a JSON object" },
		{ "\"x\"", "the body is not a JSON object" },
		{ "{\"stages\":{}}", "\"stages\" is not an array" },
		{ "{\"stages\":\"x\"}", "\"stages\" is not an array" },
		{ "{\"stages\":[1]}", "an element of \"stages\" is not an object" },
		{ "{\"stages\":[{},null]}", "an element of \"stages\" is not an object" },
		{ "{\"stages\":[{\"jobs\":\"x\"}]}", "\"jobs\" is not an array" },
		{ "{\"stages\":[{\"jobs\":[{\"steps\":[7,null]}]}]}",
		  "an element of \"steps\" is not an object" },
		{ "{\"stages\":[{\"pre\":{}}]}", "\"pre\" is not an array" },
		{ "{\"stages\":[{\"post\":[[]]}]}", "an element of \"post\" is not an object" },
		{ "{\"build_params\":7}", "\"build_params\" is not an array" },
		{ "{\"build_params\":[\"a=b\"]}",
		  "an element of \"build_params\" is not an object" },
		/* the simulator's wrong_types fault on the detail call */
		{ "{\"id\":7,\"stages\":[{\"id\":1,\"name\":2,\"status\":[],\"jobs\":\"x\","
		  "\"pre\":{},\"sequence\":\"0\"},{\"jobs\":[{\"message\":{\"errorCode\":1},"
		  "\"steps\":[7,null],\"status\":null,\"async\":true}]},\"x\",null]}",
		  "an element of \"stages\" is not an object" },
		{ "", "truncated JSON" },
		{ "{\"stages\":[", "truncated JSON" },
		{ "{} x", "text after the JSON value" },
		{ "<html>502</html>", "not JSON" },
	};
	char err[256];
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("%s", cases[i].json);
		g_assert_cmpint(parse_error(cases[i].json, strlen(cases[i].json), err,
					    sizeof(err)), ==, -EPROTO);
		g_assert_nonnull(strstr(err, cases[i].reason));
	}
}

static void test_deep_nesting_is_an_error(void)
{
	GString *json = g_string_new("{\"stages\":[{\"jobs\":[{\"steps\":[{\"name\":");
	char err[256];
	int i;

	for (i = 0; i < 40; i++)
		g_string_append(json, "[");
	for (i = 0; i < 40; i++)
		g_string_append(json, "]");
	g_string_append(json, "}]}]}]}");
	g_assert_cmpint(parse_error(json->str, json->len, err, sizeof(err)), ==, -EPROTO);
	g_assert_nonnull(strstr(err, "not JSON"));
	g_string_free(json, TRUE);
}

/* A small body cannot make more nodes than any real run: a list of empty
 * objects at any level is cut off with an error. */
static void test_huge_lists_are_errors(void)
{
	static const char *const shapes[][2] = {
		{ "{\"stages\":[", "]}" },
		{ "{\"stages\":[{\"jobs\":[", "]}]}" },
		{ "{\"stages\":[{\"jobs\":[{\"steps\":[", "]}]}]}" },
		{ "{\"stages\":[{\"pre\":[", "]}]}" },
		{ "{\"build_params\":[", "]}" },
	};
	char err[256];
	size_t i;
	int n;

	for (i = 0; i < G_N_ELEMENTS(shapes); i++) {
		GString *json = g_string_new(shapes[i][0]);

		for (n = 0; n < 120000; n++)
			g_string_append(json, n ? ",{}" : "{}");
		g_string_append(json, shapes[i][1]);
		g_test_message("%s", shapes[i][0]);
		g_assert_cmpint(parse_error(json->str, json->len, err, sizeof(err)), ==,
				-EPROTO);
		g_assert_nonnull(strstr(err, "than any real"));
		g_string_free(json, TRUE);
	}
}

/* The parser reads body[0..len-1] and nothing else. */
static void test_only_len_bytes_are_read(void)
{
	static const char *const bodies[] = {
		"{\"status\":\"RUNNING\"}", "{\"stages\":[{}]}  \n", "{}", "{} x", "{",
		"{\"a\":12", "{\"a\":\"\\u00", "", " ", "[]", "t", "nul", NULL
	};
	GTimeZone *tz = zone("UTC");
	const char *const *body;
	char err[256];

	for (body = bodies; *body; body++) {
		size_t len = strlen(*body);
		char *copy = g_malloc(len ? len : 1);
		struct pfs_build *build = NULL;

		memcpy(copy, *body, len);
		if (pfs_v5_model_parse(copy, len, tz, &build, err, sizeof(err)) == 0)
			pfs_build_unref(build);
		g_free(copy);
	}
	{
		/* what follows len is not the body, even when it would make it
		 * valid or invalid */
		struct pfs_build *build = NULL;

		g_assert_cmpint(pfs_v5_model_parse("{}  garbage", 4, tz, &build, err,
						   sizeof(err)), ==, 0);
		g_assert_cmpuint(build->body_len, ==, 4);
		pfs_build_unref(build);
		g_assert_cmpint(pfs_v5_model_parse("{\"a\":1}", 6, tz, &build, err,
						   sizeof(err)), ==, -EPROTO);
		g_assert_null(build);
	}
	g_time_zone_unref(tz);
}

/* A cached v5 build drops its tree and makes it again from its body and
 * the zone it was read in (model.h: a compact tree). */
static void test_a_dropped_tree_is_made_again_the_same(void)
{
	struct pfs_build *build = parse_ok(
		"{\"id\":\"5012eaf409136f994140a0c4f9e6d22c\",\"run_number\":3,"
		"\"status\":\"COMPLETED\",\"start_time\":1764295200000,\"stages\":"
		"[{\"name\":\"s\",\"jobs\":[{\"name\":\"j\",\"status\":\"FAILED\","
		"\"message\":\"boom\",\"steps\":[{\"id\":\"a\",\"name\":\"p\"}]}]}]}");
	GTimeZone *zone = g_time_zone_new_utc();
	uint32_t n_nodes = build->n_nodes;

	pfs_build_set_times(build, zone, 1);
	g_assert_true(pfs_build_shrink(build));
	g_assert_cmpint(pfs_build_expand(build), ==, 0);
	g_assert_cmpuint(build->n_nodes, ==, n_nodes);
	assert_content(build, "stages/s/tasks/j/error_msg", "boom\n");
	assert_content(build, "start_time", "2025-11-28 10:00:00\n");
	pfs_build_unref(build);
	g_time_zone_unref(zone);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/v5_model/simulator_run_is_the_v3_tree",
			test_simulator_run_is_the_v3_tree);
	g_test_add_func("/v5_model/every_status_maps_to_v3",
			test_every_status_maps_to_v3);
	g_test_add_func("/v5_model/status_with_a_nul_is_unknown",
			test_status_with_a_nul_is_unknown);
	g_test_add_func("/v5_model/times_are_v3_text_in_the_zone",
			test_times_are_v3_text_in_the_zone);
	g_test_add_func("/v5_model/elapsed_time_needs_both_ends",
			test_elapsed_time_needs_both_ends);
	g_test_add_func("/v5_model/parts_are_time_groups",
			test_parts_are_time_groups);
	g_test_add_func("/v5_model/message_is_split_into_error_fields",
			test_message_is_split_into_error_fields);
	g_test_add_func("/v5_model/failed_job_is_linked_from_failed",
			test_failed_job_is_linked_from_failed);
	g_test_add_func("/v5_model/parts_are_named_like_v3",
			test_parts_are_named_like_v3);
	g_test_add_func("/v5_model/identity", test_identity);
	g_test_add_func("/v5_model/wrong_scalar_types_show_as_json_text",
			test_wrong_scalar_types_show_as_json_text);
	g_test_add_func("/v5_model/wrong_shapes_are_errors",
			test_wrong_shapes_are_errors);
	g_test_add_func("/v5_model/deep_nesting_is_an_error",
			test_deep_nesting_is_an_error);
	g_test_add_func("/v5_model/huge_lists_are_errors", test_huge_lists_are_errors);
	g_test_add_func("/v5_model/a_dropped_tree_is_made_again_the_same",
			test_a_dropped_tree_is_made_again_the_same);
	g_test_add_func("/v5_model/only_len_bytes_are_read",
			test_only_len_bytes_are_read);
	return g_test_run();
}
