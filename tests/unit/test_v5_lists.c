/* Unit tests for v5_lists.c: the v5 pipeline list and runs list answers,
 * log pages (their exact bytes) and the three request bodies. */
#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "v5.h"

#define PROJ "0d1e2f3a4b5c46d7e8f9a0b1c2d3e4f5"
#define PROJ_B "abcdefabcdefabcdefabcdefabcdef00"
#define PID_A "8025ba36a87a4dd5af496708c2961817"
#define PID_B "1c4b7e1d0a9c4f3e8b2a6d5c7e9f0a1b"

/* @len bytes of @text in a buffer of exactly that size: a read past it
 * is one AddressSanitizer (the sanitize build) reports. */
static char *exact(const char *text, size_t len)
{
	return g_memdup2(text, len);
}

typedef int (*list_parser)(const char *body, size_t len, const char *asked,
			   GPtrArray *into, struct pfs_v5_page *page,
			   char *err, size_t errsize);

static GPtrArray *list_ok(list_parser parse, GDestroyNotify free_fn,
			  const char *body, const char *asked,
			  struct pfs_v5_page *page)
{
	GPtrArray *into = g_ptr_array_new_with_free_func(free_fn);
	size_t len = strlen(body);
	char *copy = exact(body, len);
	char err[256] = "";

	if (parse(copy, len, asked, into, page, err, sizeof(err)))
		g_error("answer refused: %s (%.80s)", err, body);
	g_free(copy);
	return into;
}

static GPtrArray *pipelines_ok(const char *body, struct pfs_v5_page *page)
{
	return list_ok(pfs_v5_parse_pipelines, pfs_pipeline_entry_free, body,
		       PROJ, page);
}

static GPtrArray *runs_ok(const char *body, struct pfs_v5_page *page)
{
	return list_ok(pfs_v5_parse_runs, pfs_history_entry_free, body, PID_A,
		       page);
}

/* A list answer that must fail: nothing appended, a reason, page zeroed. */
static int list_fail(list_parser parse, const char *body, size_t len)
{
	GPtrArray *into = g_ptr_array_new();
	struct pfs_v5_page page = { .total = 77, .items = 77 };
	char *copy = exact(body, len);
	char err[256];
	int res;

	memset(err, 'x', sizeof(err));
	res = parse(copy, len, PID_A, into, &page, err, sizeof(err));
	g_assert_cmpint(res, <, 0);
	g_assert_cmpuint(into->len, ==, 0);
	g_assert_cmpint(page.total, ==, 0);
	g_assert_nonnull(memchr(err, '\0', sizeof(err)));
	g_assert_cmpuint(strlen(err), >, 0);
	g_free(copy);
	g_ptr_array_unref(into);
	return res;
}

static void both_fail(const char *body, int expected)
{
	g_assert_cmpint(list_fail(pfs_v5_parse_pipelines, body, strlen(body)), ==,
			expected);
	g_assert_cmpint(list_fail(pfs_v5_parse_runs, body, strlen(body)), ==,
			expected);
}

/* ---- the pipeline list ---- */

static void test_pipelines_as_the_simulator_sends_them(void)
{
	struct pfs_v5_page page;
	GPtrArray *got = pipelines_ok(
		"{\"offset\": 0, \"limit\": 50, \"total\": 3, \"pipelines\": [\n"
		" {\"pipeline_id\": \"" PID_A "\", \"name\": \"后端服务-backend\",\n"
		"  \"project_id\": \"" PROJ "\", \"project_name\": \"project-0d1e2f\",\n"
		"  \"create_time\": 1764291600000, \"is_collect\": false,\n"
		"  \"latest_run\": {\"pipeline_run_id\": \"x\", \"run_number\": 7}},\n"
		" {\"pipeline_id\": \"" PID_B "\", \"name\": \"frontend-ci\",\n"
		"  \"project_id\": \"" PROJ_B "\", \"project_name\": null,\n"
		"  \"latest_run\": null}]}", &page);
	struct pfs_pipeline_entry *a, *b;

	g_assert_cmpint(page.total, ==, 3);
	g_assert_cmpuint(page.items, ==, 2);
	g_assert_cmpuint(got->len, ==, 2);
	a = got->pdata[0];
	b = got->pdata[1];
	g_assert_cmpstr(a->pipeline_id, ==, PID_A);
	g_assert_cmpstr(a->name, ==, "后端服务-backend");
	g_assert_cmpstr(a->project_id, ==, PROJ);
	g_assert_cmpstr(a->project_name, ==, "project-0d1e2f");
	g_assert_cmpstr(b->pipeline_id, ==, PID_B);
	/* the item's project wins over the one asked */
	g_assert_cmpstr(b->project_id, ==, PROJ_B);
	g_assert_null(b->project_name);
	g_ptr_array_unref(got);
}

static void test_pipeline_items_hostile(void)
{
	struct pfs_v5_page page;
	GPtrArray *got = pipelines_ok(
		"{\"total\": 9, \"pipelines\": ["
		"{\"name\": \"no id\"},"
		"{\"pipeline_id\": \"../etc\", \"name\": \"bad id\"},"
		"{\"pipeline_id\": 1.5},"
		"7, null, \"x\", [],"
		"{\"pipeline_id\": 42, \"name\": 3, \"project_id\": \"a/b\","
		" \"project_name\": \"\"},"
		"{\"pipeline_id\": \"" PID_B "\", \"name\": \"cut\\u0000here\","
		" \"project_id\": {}, \"project_name\": [1]}]}", &page);
	struct pfs_pipeline_entry *e;

	g_assert_cmpuint(page.items, ==, 9);
	g_assert_cmpuint(got->len, ==, 2);
	e = got->pdata[0];
	g_assert_cmpstr(e->pipeline_id, ==, "42");
	g_assert_cmpstr(e->name, ==, "3");
	g_assert_cmpstr(e->project_id, ==, PROJ);	/* "a/b" is no id */
	g_assert_null(e->project_name);
	e = got->pdata[1];
	g_assert_cmpstr(e->name, ==, "cut");
	g_assert_cmpstr(e->project_id, ==, PROJ);
	g_assert_null(e->project_name);
	g_ptr_array_unref(got);
}

static void test_empty_pages(void)
{
	static const char *const bodies[] = {
		"{\"total\": 0, \"pipelines\": [], \"pipeline_runs\": []}",
		"{\"total\": 5}",
		"{\"total\": 5, \"pipelines\": null, \"pipeline_runs\": null}",
		"  {\"total\": 5.0, \"offset\": \"x\", \"limit\": null}\n\t ",
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bodies); i++) {
		struct pfs_v5_page page = { .items = 9, .oldest_ms = 9 };
		GPtrArray *p = pipelines_ok(bodies[i], &page);

		g_assert_cmpuint(p->len, ==, 0);
		g_assert_cmpuint(page.items, ==, 0);
		g_assert_cmpint(page.oldest_ms, ==, 0);
		g_ptr_array_unref(p);
		p = runs_ok(bodies[i], &page);
		g_assert_cmpuint(p->len, ==, 0);
		g_assert_cmpuint(page.items, ==, 0);
		g_assert_cmpint(page.total, ==, i == 0 ? 0 : 5);
		g_ptr_array_unref(p);
	}
}

static void test_totals(void)
{
	struct pfs_v5_page page;
	GPtrArray *p;

	p = pipelines_ok("{\"total\": 99999999999999999999}", &page);
	g_assert_cmpint(page.total, ==, PFS_V5_MAX_TOTAL);
	g_ptr_array_unref(p);
	p = pipelines_ok("{\"total\": 1e300}", &page);
	g_assert_cmpint(page.total, ==, PFS_V5_MAX_TOTAL);
	g_ptr_array_unref(p);
	p = pipelines_ok("{\"total\": 120.0}", &page);
	g_assert_cmpint(page.total, ==, 120);
	g_ptr_array_unref(p);
	both_fail("{\"total\": -1, \"pipelines\": []}", -EPROTO);
	both_fail("{\"total\": 1.5}", -EPROTO);
	both_fail("{\"total\": \"many\"}", -EPROTO);
	both_fail("{\"total\": null}", -EPROTO);
	both_fail("{\"pipelines\": [], \"pipeline_runs\": []}", -EPROTO);
	both_fail("{\"total\": true}", -EPROTO);
}

static void test_malformed_answers_are_refused(void)
{
	static const char *const bodies[] = {
		"", "   ", "null", "[]", "[{\"total\": 1}]", "7", "\"x\"",
		"{\"total\": 1, \"pipelines\": [", "{\"total\": 1} {}",
		"{\"total\": 1} x",
		("{\"total\": 1, \"pipelines\": {}, \"pipeline_runs\": \"x\"}"),
		"<html>502 Bad Gateway</html>",
	};
	size_t i;
	GString *deep = g_string_new("{\"total\": 1, \"x\": ");

	for (i = 0; i < G_N_ELEMENTS(bodies); i++)
		both_fail(bodies[i], -EPROTO);
	for (i = 0; i < 40; i++)
		g_string_append_c(deep, '[');
	for (i = 0; i < 40; i++)
		g_string_append_c(deep, ']');
	g_string_append_c(deep, '}');
	both_fail(deep->str, -EPROTO);
	g_string_free(deep, TRUE);
	/* a wrongly typed array is refused only where it is the items */
	g_assert_cmpint(list_fail(pfs_v5_parse_pipelines,
				  "{\"total\": 1, \"pipelines\": 3}", 29), ==, -EPROTO);
	g_assert_cmpint(list_fail(pfs_v5_parse_runs,
				  "{\"total\": 1, \"pipeline_runs\": {}}", 33), ==,
			-EPROTO);
}

static void test_only_len_bytes_are_read(void)
{
	const char *body = "{\"total\": 1, \"pipelines\": []}GARBAGE";
	struct pfs_v5_page page;
	GPtrArray *into = g_ptr_array_new_with_free_func(pfs_pipeline_entry_free);
	size_t len = strlen("{\"total\": 1, \"pipelines\": []}");
	char *copy = exact(body, len);
	char err[128];

	g_assert_cmpint(pfs_v5_parse_pipelines(copy, len, PROJ, into, &page, err,
					       sizeof(err)), ==, 0);
	g_assert_cmpint(page.total, ==, 1);
	/* the same bytes cut short are truncated JSON */
	g_assert_cmpint(list_fail(pfs_v5_parse_pipelines, copy, len - 1), ==, -EPROTO);
	g_free(copy);
	g_ptr_array_unref(into);
}

static void test_bodies_over_the_limit_are_refused_unread(void)
{
	size_t len = PFS_V5_MAX_LIST_BODY + 1;
	char *body = g_malloc(len);

	/* not JSON at all: refused for its size before any parsing */
	memset(body, '[', len);
	g_assert_cmpint(list_fail(pfs_v5_parse_pipelines, body, len), ==, -EMSGSIZE);
	g_assert_cmpint(list_fail(pfs_v5_parse_runs, body, len), ==, -EMSGSIZE);
	g_free(body);
}

/* ---- the runs list ---- */

static void test_runs_as_the_simulator_sends_them(void)
{
	struct pfs_v5_page page;
	GPtrArray *got = runs_ok(
		"{\"offset\": 0, \"limit\": 100, \"total\": 2, \"pipeline_runs\": [\n"
		" {\"pipeline_run_id\": \"bd0c0e3dbb0f4d0b8b3c8d4c1a2b3c4d\",\n"
		"  \"pipeline_id\": \"" PID_A "\", \"run_number\": 7,\n"
		"  \"status\": \"COMPLETED\", \"trigger_type\": \"Manual\",\n"
		"  \"start_time\": 1764291600000, \"end_time\": 1764291780000,\n"
		"  \"stage_status_list\": [{\"start_time\": \"1\", \"end_time\": \"0\"}],\n"
		"  \"build_params\": [], \"detail_url\": null},\n"
		" {\"pipeline_id\": \"" PID_A "\", \"run_number\": 6,\n"
		"  \"status\": \"RUNNING\", \"start_time\": 1764234000000,\n"
		"  \"end_time\": 0}]}", &page);
	struct pfs_history_entry *e;

	g_assert_cmpint(page.total, ==, 2);
	g_assert_cmpuint(page.items, ==, 2);
	g_assert_cmpint(page.oldest_ms, ==, G_GINT64_CONSTANT(1764234000000));
	g_assert_cmpuint(got->len, ==, 2);
	e = got->pdata[0];
	g_assert_cmpstr(e->pipeline_id, ==, PID_A);
	g_assert_cmpstr(e->build_id, ==, "7");
	g_assert_null(e->pipeline_name);
	g_assert_cmpstr(e->status, ==, "completed");
	g_assert_cmpstr(e->outcome, ==, "success");
	g_assert_cmpint(e->start_ms, ==, G_GINT64_CONSTANT(1764291600000));
	g_assert_cmpint(e->end_ms, ==, G_GINT64_CONSTANT(1764291780000));
	e = got->pdata[1];
	g_assert_cmpstr(e->build_id, ==, "6");
	g_assert_cmpstr(e->status, ==, "running");
	g_assert_null(e->outcome);
	g_assert_cmpint(e->end_ms, ==, 0);
	g_ptr_array_unref(got);
}

/* Each v5 status as the runs list maps it: the run detail's table. */
static void test_run_statuses(void)
{
	static const char *const cases[][3] = {
		{ "RUNNING", "running", NULL }, { "ASYNC_RUNNING", "running", NULL },
		{ "REDISPATCH", "running", NULL },
		{ "COMPLETED", "completed", "success" },
		{ "FAILED", "completed", "error" },
		{ "ASYNC_FAILED", "completed", "error" },
		{ "CANCELED", "completed", "aborted" },
		{ "SKIPPED", "completed", "skipped" },
		{ "UNSELECTED", "completed", "skipped" },
		{ "IGNORED", "completed", "ignored" },
		{ "QUEUED", "waiting", NULL }, { "INIT", "waiting", NULL },
		{ "PAUSED", "verifying", NULL }, { "SUSPEND", "suspending", NULL },
		{ "failed", "completed", "error" },	/* ASCII case ignored */
		{ "BRAND_NEW", "brand_new", NULL },	/* unknown: never completed */
		{ "", NULL, NULL },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct pfs_v5_page page;
		char *body = g_strdup_printf("{\"total\": 1, \"pipeline_runs\": "
					     "[{\"run_number\": 3, \"status\": \"%s\"}]}",
					     cases[i][0]);
		GPtrArray *got = runs_ok(body, &page);
		struct pfs_history_entry *e = got->pdata[0];

		g_assert_cmpstr(e->status, ==, cases[i][1]);
		g_assert_cmpstr(e->outcome, ==, cases[i][2]);
		g_ptr_array_unref(got);
		g_free(body);
	}
}

static void test_run_items_hostile(void)
{
	struct pfs_v5_page page;
	GPtrArray *got = runs_ok(
		"{\"total\": 50, \"pipeline_runs\": ["
		"{\"run_number\": 0, \"start_time\": 5},"
		"{\"run_number\": -3}, {\"run_number\": 2.0}, {\"run_number\": \"07\"},"
		"{\"run_number\": \"3x\"}, {\"run_number\": \"\"}, {\"run_number\": null},"
		"{\"run_number\": \"12345678901234567890\"},"
		"{\"run_number\": 8, \"pipeline_id\": \"" PID_B "\"},"
		"7, null, [],"
		"{\"run_number\": \"12\", \"pipeline_id\": \"not/an/id\","
		" \"status\": 1, \"start_time\": \"1764291600000\", \"end_time\": -5},"
		"{\"run_number\": 9223372036854775807, \"status\": null,"
		" \"start_time\": 1.5e3, \"end_time\": \"soon\"},"
		"{\"run_number\": 4, \"status\": \"A\\u0000B\", \"start_time\": 1e300,"
		" \"end_time\": true}]}", &page);
	struct pfs_history_entry *e;

	g_assert_cmpuint(page.items, ==, 15);
	/* run 0's start counts: the cutoff is about what the page reached */
	g_assert_cmpint(page.oldest_ms, ==, 5);
	g_assert_cmpuint(got->len, ==, 3);
	e = got->pdata[0];
	/* a pipeline_id that is no id names no other pipeline */
	g_assert_cmpstr(e->build_id, ==, "12");
	g_assert_cmpstr(e->pipeline_id, ==, PID_A);
	g_assert_cmpstr(e->status, ==, "1");
	g_assert_null(e->outcome);
	g_assert_cmpint(e->start_ms, ==, G_GINT64_CONSTANT(1764291600000));
	g_assert_cmpint(e->end_ms, ==, 0);
	e = got->pdata[1];
	g_assert_cmpstr(e->build_id, ==, "9223372036854775807");
	g_assert_null(e->status);
	g_assert_cmpint(e->start_ms, ==, 1500);
	g_assert_cmpint(e->end_ms, ==, 0);
	e = got->pdata[2];
	g_assert_cmpstr(e->build_id, ==, "4");
	g_assert_cmpstr(e->status, ==, "a?b");	/* never cut into a known value */
	g_assert_cmpint(e->start_ms, ==, 0);
	g_ptr_array_unref(got);
}

/* ---- log pages ---- */

static int log_parse(const char *body, size_t len, struct pfs_log_page *out)
{
	char *copy = exact(body, len);
	char err[256];
	int res;

	memset(err, 'x', sizeof(err));
	res = pfs_v5_parse_log(copy, len, out, err, sizeof(err));
	if (res < 0) {
		g_assert_nonnull(memchr(err, '\0', sizeof(err)));
		g_assert_cmpuint(strlen(err), >, 0);
		g_assert_null(out->text);
		g_assert_null(out->start_offset);
		g_assert_null(out->end_offset);
	}
	g_free(copy);
	return res;
}

static void test_log_page_as_the_simulator_sends_it(void)
{
	const char *body = "{\"has_more\": true, \"start_offset\": \"0\", "
			   "\"end_offset\": \"2\", \"log\": \"[2026-11-28 09:00:00] "
			   "[INFO] build: started\\n[2026-11-28 09:03:00] [INFO] "
			   "build: COMPLETED\\n\"}";
	const char *text = "[2026-11-28 09:00:00] [INFO] build: started\n"
			   "[2026-11-28 09:03:00] [INFO] build: COMPLETED\n";
	struct pfs_log_page page;

	g_assert_cmpint(log_parse(body, strlen(body), &page), ==, 0);
	g_assert_true(page.has_more);
	g_assert_cmpstr(page.start_offset, ==, "0");
	g_assert_cmpstr(page.end_offset, ==, "2");
	g_assert_cmpmem(page.text->data, page.text->len, text, strlen(text));
	pfs_log_page_clear(&page);
	g_assert_null(page.text);
}

/* The simulator's json_string(): only what JSON must escape is escaped;
 * bytes >= 0x80 go raw, UTF-8 or not. */
static GString *json_string(const guint8 *data, size_t len)
{
	GString *out = g_string_new("\"");
	size_t i;

	for (i = 0; i < len; i++) {
		if (data[i] == '"')
			g_string_append(out, "\\\"");
		else if (data[i] == '\\')
			g_string_append(out, "\\\\");
		else if (data[i] == '\n')
			g_string_append(out, "\\n");
		else if (data[i] < 0x20)
			g_string_append_printf(out, "\\u%04x", data[i]);
		else
			g_string_append_c(out, (char)data[i]);
	}
	g_string_append_c(out, '"');
	return out;
}

static void check_exact_bytes(const guint8 *data, size_t len)
{
	GString *log = json_string(data, len);
	GString *body = g_string_new("{\"has_more\": false, \"start_offset\": \"3\", "
				     "\"end_offset\": \"5\", \"log\": ");
	struct pfs_log_page page;

	g_string_append_len(body, log->str, (gssize)log->len);
	g_string_append(body, "}");
	g_assert_cmpint(log_parse(body->str, body->len, &page), ==, 0);
	g_assert_false(page.has_more);
	g_assert_cmpmem(page.text->data, page.text->len, data, len);
	pfs_log_page_clear(&page);
	g_string_free(body, TRUE);
	g_string_free(log, TRUE);
}

static void test_hostile_log_bytes_come_out_exactly(void)
{
	static const guint8 hostile[] =
		"ok \xff\xfe bad utf-8\n\x00nul\x1b[31mred\x1b[0m \"q\" \\ \t\r\n"
		"\xed\xa0\x80 surrogate \xf4\x90\x80\x80 past U+10FFFF \xc0\xaf overlong"
		" \xe4\xb8 cut \x7f" " del \xc2\x9b\x32J c1 csi\x07 bell\n";
	guint8 all[256];
	guint8 *long_line;
	size_t i;

	check_exact_bytes(hostile, sizeof(hostile) - 1);
	check_exact_bytes((const guint8 *)"", 0);
	for (i = 0; i < 256; i++)
		all[i] = (guint8)i;
	check_exact_bytes(all, sizeof(all));
	/* a 1 MB line */
	long_line = g_malloc(1 << 20);
	for (i = 0; i < (1 << 20) - 1; i++)
		long_line[i] = (guint8)("x\x1b\xff\"\\\x00"[i % 6]);
	long_line[(1 << 20) - 1] = '\n';
	check_exact_bytes(long_line, 1 << 20);
	g_free(long_line);
}

static void test_log_page_fields(void)
{
	struct pfs_log_page page;
	const char *body;

	body = "{\"start_offset\": 0, \"end_offset\": 500, \"has_more\": \"true\"}";
	g_assert_cmpint(log_parse(body, strlen(body), &page), ==, 0);
	g_assert_cmpstr(page.start_offset, ==, "0");
	g_assert_cmpstr(page.end_offset, ==, "500");
	g_assert_true(page.has_more);
	g_assert_nonnull(page.text);
	g_assert_cmpuint(page.text->len, ==, 0);
	pfs_log_page_clear(&page);

	body = "{\"start_offset\": \"\", \"end_offset\": \"opaque-17:x\", "
	       "\"has_more\": null, \"log\": null, \"extra\": [1]}";
	g_assert_cmpint(log_parse(body, strlen(body), &page), ==, 0);
	g_assert_cmpstr(page.start_offset, ==, "");
	g_assert_cmpstr(page.end_offset, ==, "opaque-17:x");
	g_assert_false(page.has_more);
	g_assert_cmpuint(page.text->len, ==, 0);
	pfs_log_page_clear(&page);
}

static void test_bad_log_pages_are_refused(void)
{
	static const char *const bodies[] = {
		/* the simulator's wrong_types fault */
		"{\"has_more\": \"yes\", \"start_offset\": 0, \"end_offset\": [], \"log\": 7}",
		"{\"has_more\": false, \"start_offset\": \"0\", \"end_offset\": \"1\", \"log\": 7}",
		"{\"has_more\": false, \"start_offset\": \"0\", \"end_offset\": \"1\", \"log\": []}",
		"{\"has_more\": 1, \"start_offset\": \"0\", \"end_offset\": \"1\"}",
		"{\"has_more\": false, \"start_offset\": \"0\"}",
		"{\"has_more\": false, \"end_offset\": \"0\"}",
		"{\"start_offset\": \"0\", \"end_offset\": null}",
		"{\"start_offset\": \"0\", \"end_offset\": 1.5}",
		"{\"start_offset\": \"0\", \"end_offset\": \"a\\\"b\"}",
		"{\"start_offset\": \"0\", \"end_offset\": \"a\\\\b\"}",
		"{\"start_offset\": \"0\", \"end_offset\": \"a\\u0000b\"}",
		"{\"start_offset\": \"0\", \"end_offset\": \"\xc3\xa9\"}",
		"{\"start_offset\": \"0\", \"end_offset\": \"1\", \"log\": \"unterminated}",
		"[]", "", "{\"start_offset\": \"0\", \"end_offset\": \"1\"} x",
	};
	struct pfs_log_page page;
	GString *long_offset = g_string_new("{\"start_offset\": \"0\", \"end_offset\": \"");
	char *big;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bodies); i++)
		g_assert_cmpint(log_parse(bodies[i], strlen(bodies[i]), &page), ==,
				-EPROTO);
	for (i = 0; i <= PFS_V5_MAX_OFFSET; i++)
		g_string_append_c(long_offset, '1');
	g_string_append(long_offset, "\"}");
	g_assert_cmpint(log_parse(long_offset->str, long_offset->len, &page), ==,
			-EPROTO);
	g_string_free(long_offset, TRUE);
	big = g_malloc(PFS_V5_MAX_LOG_BODY + 1);
	memset(big, ' ', PFS_V5_MAX_LOG_BODY + 1);
	g_assert_cmpint(log_parse(big, PFS_V5_MAX_LOG_BODY + 1, &page), ==, -EMSGSIZE);
	g_free(big);
}

/* ---- requests ---- */

static void test_request_bodies(void)
{
	char *body;

	body = pfs_v5_pipelines_request(0);
	g_assert_cmpstr(body, ==, "{\"offset\":0,\"limit\":50}");
	g_free(body);
	body = pfs_v5_pipelines_request(PFS_V5_MAX_TOTAL);
	g_assert_cmpstr(body, ==, "{\"offset\":1000000,\"limit\":50}");
	g_free(body);
	g_assert_null(pfs_v5_pipelines_request(-1));
	g_assert_null(pfs_v5_pipelines_request(PFS_V5_MAX_TOTAL + 1));
	body = pfs_v5_runs_request(200);
	g_assert_cmpstr(body, ==, "{\"offset\":200,\"limit\":100,\"sort_key\":"
				  "\"start_time\",\"sort_dir\":\"desc\"}");
	g_free(body);
	g_assert_null(pfs_v5_runs_request(-5));
}

static void test_log_requests(void)
{
	char *body;
	GString *long_offset = g_string_new(NULL);
	size_t i;

	body = pfs_v5_log_request(NULL, NULL, PFS_LOG_PAGE_LINES);
	g_assert_cmpstr(body, ==, "{\"start_offset\":\"0\",\"end_offset\":\"0\","
				  "\"limit\":500,\"sort\":\"asc\"}");
	g_free(body);
	/* the page after one that ended at 500 */
	body = pfs_v5_log_request("500", "0", 5);
	g_assert_cmpstr(body, ==, "{\"start_offset\":\"500\",\"end_offset\":\"0\","
				  "\"limit\":5,\"sort\":\"asc\"}");
	g_free(body);
	body = pfs_v5_log_request("", "opaque:1", 1);
	g_assert_cmpstr(body, ==, "{\"start_offset\":\"\",\"end_offset\":\"opaque:1\","
				  "\"limit\":1,\"sort\":\"asc\"}");
	g_free(body);
	g_assert_null(pfs_v5_log_request("0", "0", 0));
	g_assert_null(pfs_v5_log_request("0", "0", PFS_LOG_PAGE_LINES + 1));
	g_assert_null(pfs_v5_log_request("a\"b", "0", 1));
	g_assert_null(pfs_v5_log_request("0", "a\\b", 1));
	g_assert_null(pfs_v5_log_request("a\nb", NULL, 1));
	for (i = 0; i <= PFS_V5_MAX_OFFSET; i++)
		g_string_append_c(long_offset, '9');
	g_assert_null(pfs_v5_log_request(long_offset->str, NULL, 1));
	g_assert_null(pfs_v5_log_request(NULL, long_offset->str, 1));
	g_string_truncate(long_offset, PFS_V5_MAX_OFFSET);
	body = pfs_v5_log_request(long_offset->str, long_offset->str, 1);
	g_assert_nonnull(body);
	g_free(body);
	g_string_free(long_offset, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/v5_lists/pipelines_as_the_simulator_sends_them",
			test_pipelines_as_the_simulator_sends_them);
	g_test_add_func("/v5_lists/pipeline_items_hostile", test_pipeline_items_hostile);
	g_test_add_func("/v5_lists/empty_pages", test_empty_pages);
	g_test_add_func("/v5_lists/totals", test_totals);
	g_test_add_func("/v5_lists/malformed_answers_are_refused",
			test_malformed_answers_are_refused);
	g_test_add_func("/v5_lists/only_len_bytes_are_read", test_only_len_bytes_are_read);
	g_test_add_func("/v5_lists/bodies_over_the_limit_are_refused_unread",
			test_bodies_over_the_limit_are_refused_unread);
	g_test_add_func("/v5_lists/runs_as_the_simulator_sends_them",
			test_runs_as_the_simulator_sends_them);
	g_test_add_func("/v5_lists/run_statuses", test_run_statuses);
	g_test_add_func("/v5_lists/run_items_hostile", test_run_items_hostile);
	g_test_add_func("/v5_lists/log_page_as_the_simulator_sends_it",
			test_log_page_as_the_simulator_sends_it);
	g_test_add_func("/v5_lists/hostile_log_bytes_come_out_exactly",
			test_hostile_log_bytes_come_out_exactly);
	g_test_add_func("/v5_lists/log_page_fields", test_log_page_fields);
	g_test_add_func("/v5_lists/bad_log_pages_are_refused",
			test_bad_log_pages_are_refused);
	g_test_add_func("/v5_lists/request_bodies", test_request_bodies);
	g_test_add_func("/v5_lists/log_requests", test_log_requests);
	return g_test_run();
}
