/* Unit tests for lists.c: the list and build-result answers, the list
 * call's request, project batches, history date windows, errors in
 * bodies and throttling codes. */
#include <errno.h>
#include <glib.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "apitime.h"
#include "lists.h"

#define PID_A "8025ba36a87a4dd5af496708c2961817"
#define PID_B "1c4b7e1d0a9c4f3e8b2a6d5c7e9f0a1b"
#define PROJ "0000000000000000000000000000000a"

static GTimeZone *zone(const char *spec)
{
	GTimeZone *tz = NULL;
	char err[256];

	if (pfs_apitime_zone_new(spec, &tz, err, sizeof(err)))
		g_error("zone %s: %s", spec, err);
	return tz;
}

/* Epoch ms of a local time "YYYY-MM-DD HH:MM:SS" in @spec. */
static gint64 ms_at(const char *spec, const char *local)
{
	GTimeZone *tz = zone(spec);
	struct timespec ts;

	g_assert_cmpint(pfs_apitime_parse(tz, local, strlen(local), &ts), ==, 0);
	g_time_zone_unref(tz);
	return (gint64)ts.tv_sec * 1000;
}

static GPtrArray *pipelines_parse(const char *body, size_t len, long *total)
{
	GPtrArray *into = g_ptr_array_new_with_free_func(pfs_pipeline_entry_free);
	char err[256] = "";

	if (pfs_lists_parse_pipelines(body, len, into, total, err, sizeof(err)))
		g_error("list answer refused: %s (%.80s)", err, body);
	return into;
}

static GPtrArray *pipelines_ok(const char *body, long *total)
{
	return pipelines_parse(body, strlen(body), total);
}

/* The result of parsing a list answer that must fail: nothing appended,
 * a message, total 0. */
static int pipelines_fail(const char *body, size_t len)
{
	GPtrArray *into = g_ptr_array_new_with_free_func(pfs_pipeline_entry_free);
	char err[256];
	long total = 77;
	int res;

	memset(err, 'x', sizeof(err));
	res = pfs_lists_parse_pipelines(body, len, into, &total, err, sizeof(err));
	g_assert_cmpint(res, <, 0);
	g_assert_cmpuint(into->len, ==, 0);
	g_assert_cmpint(total, ==, 0);
	g_assert_nonnull(memchr(err, '\0', sizeof(err)));
	g_assert_cmpuint(strlen(err), >, 0);
	g_ptr_array_unref(into);
	return res;
}

static GPtrArray *history_ok(const char *body, const char *zone_spec,
			     long *total)
{
	GPtrArray *into = g_ptr_array_new_with_free_func(pfs_history_entry_free);
	GTimeZone *tz = zone(zone_spec);
	char err[256] = "";

	if (pfs_lists_parse_history(body, strlen(body), tz, into, total, err,
				    sizeof(err)))
		g_error("history answer refused: %s (%s)", err, body);
	g_time_zone_unref(tz);
	return into;
}

#define PIPELINE(i) ((struct pfs_pipeline_entry *)g_ptr_array_index(list, i))
#define BUILD(i) ((struct pfs_history_entry *)g_ptr_array_index(list, i))

/* An answer as the simulator (and the API notes) give it: every item
 * field a string. */
static void test_pipelines_as_the_service_sends_them(void)
{
	long total = -1;
	GPtrArray *list = pipelines_ok(
		"{\"offset\": 50, \"limit\": 50, \"total\": 120, \"result\": ["
		"{\"project_id\": \"" PROJ "\", \"project_name\": \"研发 team\","
		" \"pipeline_id\": \"" PID_A "\", \"pipeline_name\": \"build/deploy\","
		" \"creator_id\": \"u1\", \"creator_name\": \"ann\", \"executor_id\": \"\","
		" \"executor_name\": \"\", \"start_time\": \"2026-11-27 16:40:51\","
		" \"create_time\": \"2026-01-02 03:04:05\", \"watched\": \"false\"},"
		"{\"project_id\": \"" PROJ "\", \"project_name\": \"研发 team\","
		" \"pipeline_id\": \"" PID_B "\", \"pipeline_name\": \"nightly\"}]}\r\n",
		&total);

	g_assert_cmpint(total, ==, 120);
	g_assert_cmpuint(list->len, ==, 2);
	g_assert_cmpstr(PIPELINE(0)->pipeline_id, ==, PID_A);
	g_assert_cmpstr(PIPELINE(0)->name, ==, "build/deploy");
	g_assert_cmpstr(PIPELINE(0)->project_id, ==, PROJ);
	g_assert_cmpstr(PIPELINE(0)->project_name, ==, "研发 team");
	g_assert_cmpstr(PIPELINE(1)->pipeline_id, ==, PID_B);
	g_assert_cmpstr(PIPELINE(1)->name, ==, "nightly");
	g_ptr_array_unref(list);
}

static void test_pipeline_items_without_a_valid_id_are_skipped(void)
{
	long total = -1;
	GPtrArray *list = pipelines_ok(
		"{\"total\": 9, \"surprise\": {\"x\": [null]}, \"result\": ["
		"\"x\", 7, null, [], {},"
		"{\"pipeline_id\": \"../etc\"}, {\"pipeline_id\": \"a b\"},"
		"{\"pipeline_id\": null}, {\"pipeline_id\": 12.5},"
		"{\"pipeline_id\": {\"id\": \"" PID_A "\"}}, {\"pipeline_id\": \"\"},"
		"{\"pipeline_id\": \"a\\u0000b\"},"
		"{\"pipeline_id\": 42, \"pipeline_name\": 123, \"project_id\": \"../p\","
		" \"project_name\": {\"a\": null}},"
		"{\"pipeline_id\": \"" PID_A "\", \"pipeline_name\": \"\","
		" \"project_id\": null, \"project_name\": [null], \"extra\": null},"
		"{\"pipeline_id\": \"" PID_B "\", \"pipeline_name\": null}]}",
		&total);

	g_assert_cmpint(total, ==, 9);
	g_assert_cmpuint(list->len, ==, 3);
	/* an integer id is the id the service means; a number as a name too */
	g_assert_cmpstr(PIPELINE(0)->pipeline_id, ==, "42");
	g_assert_cmpstr(PIPELINE(0)->name, ==, "123");
	g_assert_null(PIPELINE(0)->project_id);
	g_assert_null(PIPELINE(0)->project_name);
	g_assert_cmpstr(PIPELINE(1)->pipeline_id, ==, PID_A);
	g_assert_null(PIPELINE(1)->name);
	g_assert_null(PIPELINE(1)->project_id);
	g_assert_null(PIPELINE(1)->project_name);
	g_assert_cmpstr(PIPELINE(2)->pipeline_id, ==, PID_B);
	g_assert_null(PIPELINE(2)->name);
	g_ptr_array_unref(list);
}

static void test_total_must_be_a_whole_number(void)
{
	static const char *const refused[] = {
		"{\"result\": []}",
		"{\"total\": null, \"result\": []}",
		"{\"total\": \"120\", \"result\": []}",
		"{\"total\": true, \"result\": []}",
		"{\"total\": [120], \"result\": []}",
		"{\"total\": -1, \"result\": []}",
		"{\"total\": -99999999999999999999, \"result\": []}",
		"{\"total\": 12.5, \"result\": []}",
		"{\"total\": -0.5, \"result\": []}",
		"{\"total\": 1e999, \"result\": []}",
	};
	static const struct {
		const char *body;
		long total;
	} read[] = {
		{ "{\"total\": 0}", 0 },
		{ "{\"total\": 120.0, \"result\": null}", 120 },
		{ "{\"total\": 1000000}", PFS_LISTS_MAX_TOTAL },
		{ "{\"total\": 1000001}", PFS_LISTS_MAX_TOTAL },
		{ "{\"total\": 99999999999999999999}", PFS_LISTS_MAX_TOTAL },
		{ "{\"total\": 18446744073709551615}", PFS_LISTS_MAX_TOTAL },
		{ "{\"total\": 1e300}", PFS_LISTS_MAX_TOTAL },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(refused); i++)
		g_assert_cmpint(pipelines_fail(refused[i], strlen(refused[i])), ==, -EPROTO);
	for (i = 0; i < G_N_ELEMENTS(read); i++) {
		long total = -1;
		GPtrArray *list = pipelines_ok(read[i].body, &total);

		g_assert_cmpint(total, ==, read[i].total);
		g_assert_cmpuint(list->len, ==, 0);
		g_ptr_array_unref(list);
	}
}

static void test_malformed_answers_are_refused(void)
{
	static const char *const bodies[] = {
		"", "   ", "garbage", "<html><h1>502 Bad Gateway</h1></html>",
		"[{\"total\": 1}]", "\"total\"", "null", "120",
		"{\"total\": 1, \"result\": [", "{\"total\": 1} trailing",
		"{\"total\": 1}{\"total\": 2}",
		"{\"total\": 1, \"result\": \"x\"}", "{\"total\": 1, \"result\": {}}",
		"{\"total\": 1, \"result\": 7}",
		/* an error body is not a page (pfs_lists_body_error tells which) */
		"{\"error_code\": \"DEVCP.00014031\", \"error_msg\": \"no permission\"}",
	};
	static const char nul_inside[] = "{\"total\": 0}\0{}";
	GString *deep = g_string_new("{\"total\": 1, \"result\": [");
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bodies); i++)
		g_assert_cmpint(pipelines_fail(bodies[i], strlen(bodies[i])), ==, -EPROTO);
	g_assert_cmpint(pipelines_fail(nul_inside, sizeof(nul_inside) - 1), ==, -EPROTO);
	/* deeper than json-c is allowed to go */
	for (i = 0; i < 40; i++)
		g_string_append(deep, "{\"x\": [");
	for (i = 0; i < 40; i++)
		g_string_append(deep, "]}");
	g_string_append(deep, "]}");
	g_assert_cmpint(pipelines_fail(deep->str, deep->len), ==, -EPROTO);
	g_string_free(deep, TRUE);
}

/* Only the first @len bytes are read: the body needs no NUL and a longer
 * buffer's rest is never looked at. */
static void test_only_len_bytes_are_read(void)
{
	static const char body[] = "{\"total\": 3, \"result\": []}GARBAGE";
	GPtrArray *into = g_ptr_array_new_with_free_func(pfs_pipeline_entry_free);
	char err[128];
	long total = 0;

	g_assert_cmpint(pfs_lists_parse_pipelines(body, strlen(body) - 7, into, &total,
						  err, sizeof(err)), ==, 0);
	g_assert_cmpint(total, ==, 3);
	g_ptr_array_unref(into);
}

static void test_bodies_over_the_limit_are_refused_unread(void)
{
	size_t len = PFS_LISTS_MAX_BODY + 1;
	char *huge = g_malloc(len);
	char *code = (char *)"unset", *msg = (char *)"unset";

	/* a valid answer padded with whitespace: refused by size alone */
	memset(huge, ' ', len);
	memcpy(huge, "{\"total\": 0}", 12);
	g_assert_cmpint(pipelines_fail(huge, len), ==, -EMSGSIZE);
	memcpy(huge, "{\"error_code\":\"X\"}", 18);
	g_assert_false(pfs_lists_body_error(huge, len, &code, &msg));
	g_assert_null(code);
	g_assert_null(msg);
	/* and just within the limit it is read */
	memcpy(huge, "{\"total\": 0}      ", 18);
	g_ptr_array_unref(pipelines_parse(huge, len - 1, &(long){ 0 }));
	g_free(huge);
}

static void test_history_as_the_service_sends_it(void)
{
	static const char body[] =
		"{\"offset\": 0, \"limit\": 100, \"total\": 2, \"build_results\": ["
		"{\"build_id\": \"23\", \"pipeline_id\": \"" PID_A "\","
		" \"pipeline_name\": \"nightly\", \"status\": \"completed\","
		" \"outcome\": \"error\", \"start_time\": \"2026-11-27 16:40:51\","
		" \"end_time\": \"2026-11-27 16:45:01\", \"elapse_time\": \"250000\"},"
		"{\"build_id\": \"22\", \"pipeline_id\": \"" PID_A "\","
		" \"status\": \"running\", \"outcome\": null,"
		" \"start_time\": \"2024-02-29 23:59:59\", \"end_time\": null}]}";
	long total = -1;
	GPtrArray *list = history_ok(body, "+08:00", &total);

	g_assert_cmpint(total, ==, 2);
	g_assert_cmpuint(list->len, ==, 2);
	g_assert_cmpstr(BUILD(0)->pipeline_id, ==, PID_A);
	g_assert_cmpstr(BUILD(0)->build_id, ==, "23");
	g_assert_cmpstr(BUILD(0)->pipeline_name, ==, "nightly");
	g_assert_cmpstr(BUILD(0)->status, ==, "completed");
	g_assert_cmpstr(BUILD(0)->outcome, ==, "error");
	/* 16:40:51 at +08:00 is 08:40:51 UTC */
	g_assert_cmpint(BUILD(0)->start_ms, ==, INT64_C(1795797651000) - 8 * 3600 * 1000);
	g_assert_cmpint(BUILD(0)->end_ms - BUILD(0)->start_ms, ==, 250000);
	g_assert_cmpstr(BUILD(1)->build_id, ==, "22");
	g_assert_null(BUILD(1)->outcome);
	g_assert_null(BUILD(1)->pipeline_name);
	g_assert_cmpint(BUILD(1)->start_ms, ==, ms_at("+08:00", "2024-02-29 23:59:59"));
	g_assert_cmpint(BUILD(1)->end_ms, ==, 0);
	g_ptr_array_unref(list);

	/* the same text read as UTC is eight hours later */
	list = history_ok(body, "UTC", &total);
	g_assert_cmpint(BUILD(0)->start_ms, ==, INT64_C(1795797651000));
	g_assert_cmpint(BUILD(1)->start_ms, ==, INT64_C(1709251199000));
	g_ptr_array_unref(list);
}

static void test_history_items_and_times_hostile(void)
{
	long total = -1;
	GPtrArray *list = history_ok(
		"{\"total\": 12, \"build_results\": ["
		"{\"build_id\": \"1\"}, {\"pipeline_id\": \"" PID_A "\"},"
		"{\"pipeline_id\": \"" PID_A "\", \"build_id\": null},"
		"{\"pipeline_id\": \"" PID_A "\", \"build_id\": 2.5},"
		"{\"pipeline_id\": \"" PID_A "\", \"build_id\": \"../1\"},"
		"{\"pipeline_id\": \"..\", \"build_id\": \"1\"},"
		"{\"pipeline_id\": \"" PID_A "\", \"build_id\": {\"n\": 1}},"
		"null, \"1\", [\"" PID_A "\", \"1\"],"
		"{\"pipeline_id\": \"" PID_A "\", \"build_id\": 7, \"status\": 3,"
		" \"outcome\": [\"x\"], \"start_time\": 1700000000000,"
		" \"end_time\": \"2023-02-29 10:00:00\"},"
		"{\"pipeline_id\": \"" PID_A "\", \"build_id\": \"8\","
		" \"start_time\": \"2026-11-27T16:40:51Z\", \"end_time\": \"2026-11-27 24:00:00\"},"
		"{\"pipeline_id\": \"" PID_A "\", \"build_id\": \"9\","
		" \"start_time\": \"\", \"end_time\": {\"t\": null}},"
		"{\"pipeline_id\": \"" PID_A "\", \"build_id\": \"10\","
		" \"start_time\": \"2026-12-31 23:59:59\", \"end_time\": \"2027-01-01 00:00:00\"}"
		"]}", "UTC", &total);

	g_assert_cmpint(total, ==, 12);
	g_assert_cmpuint(list->len, ==, 4);
	g_assert_cmpstr(BUILD(0)->build_id, ==, "7");
	g_assert_cmpstr(BUILD(0)->status, ==, "3");
	g_assert_null(BUILD(0)->outcome);
	g_assert_cmpint(BUILD(0)->start_ms, ==, 0);	/* a number: not the layout */
	g_assert_cmpint(BUILD(0)->end_ms, ==, 0);	/* 2023 has no leap day */
	g_assert_cmpint(BUILD(1)->start_ms, ==, 0);
	g_assert_cmpint(BUILD(1)->end_ms, ==, 0);
	g_assert_cmpint(BUILD(2)->start_ms, ==, 0);
	g_assert_cmpint(BUILD(2)->end_ms, ==, 0);
	g_assert_cmpint(BUILD(3)->end_ms - BUILD(3)->start_ms, ==, 1000);
	g_ptr_array_unref(list);
}

static void test_history_frame_errors(void)
{
	static const char *const bodies[] = {
		"{\"build_results\": []}", "{\"total\": \"2\", \"build_results\": []}",
		"{\"total\": 2, \"build_results\": {}}", "[]", "{\"total\": 2, ",
		"{\"error\": {\"code\": \"APIG.0308\", \"message\": \"over ratelimit\"}}",
	};
	GTimeZone *tz = zone("+08:00");
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bodies); i++) {
		GPtrArray *into = g_ptr_array_new_with_free_func(pfs_history_entry_free);
		char err[256] = "";
		long total = 5;

		g_assert_cmpint(pfs_lists_parse_history(bodies[i], strlen(bodies[i]), tz,
							into, &total, err, sizeof(err)),
				==, -EPROTO);
		g_assert_cmpuint(into->len, ==, 0);
		g_assert_cmpint(total, ==, 0);
		g_assert_cmpstr(err, !=, "");
		g_ptr_array_unref(into);
	}
	g_time_zone_unref(tz);
}

/* The request must be JSON the service reads as meant. */
static void assert_request(long offset, char *const *projects, const char *expected)
{
	char *body = pfs_lists_pipelines_request(offset, projects);
	struct json_object *obj;

	g_assert_cmpstr(body, ==, expected);
	obj = json_tokener_parse(body);
	g_assert_nonnull(obj);
	g_assert_true(json_object_is_type(obj, json_type_object));
	json_object_put(obj);
	g_free(body);
}

static void test_list_request_body(void)
{
	char *none[] = { NULL };
	char *two[] = { PROJ, "p-2", NULL };
	char *bad[] = { PROJ, "a\",\"x", NULL };
	char *dotdot[] = { "..", NULL };
	char *eleven[12];
	size_t i;

	assert_request(0, NULL, "{\"offset\":0,\"limit\":50}");
	assert_request(0, none, "{\"offset\":0,\"limit\":50}");
	assert_request(100, two, "{\"offset\":100,\"limit\":50,\"project_ids\":\""
		       PROJ ",p-2\"}");
	for (i = 0; i < 11; i++)
		eleven[i] = g_strdup_printf("p%zu", i);
	eleven[11] = NULL;
	g_assert_null(pfs_lists_pipelines_request(0, eleven));
	g_free(eleven[10]);
	eleven[10] = NULL;
	assert_request(PFS_LISTS_MAX_TOTAL, eleven, "{\"offset\":1000000,\"limit\":50,"
		       "\"project_ids\":\"p0,p1,p2,p3,p4,p5,p6,p7,p8,p9\"}");
	g_assert_null(pfs_lists_pipelines_request(0, bad));
	g_assert_null(pfs_lists_pipelines_request(0, dotdot));
	g_assert_null(pfs_lists_pipelines_request(-1, NULL));
	g_assert_null(pfs_lists_pipelines_request(-50, two));
	g_assert_null(pfs_lists_pipelines_request(PFS_LISTS_MAX_TOTAL + 1, NULL));
	g_assert_null(pfs_lists_pipelines_request(G_MAXLONG, NULL));
	for (i = 0; i < 10; i++)
		g_free(eleven[i]);
}

static void test_projects_split_into_batches_of_ten(void)
{
	char *ids[30];
	GPtrArray *batches;
	size_t i;

	/* 23 distinct ids, p0 and p5 given twice more */
	for (i = 0; i < 25; i++)
		ids[i] = g_strdup_printf("p%zu", i < 23 ? i : (i == 23 ? 0 : 5));
	ids[25] = NULL;
	batches = pfs_lists_project_batches(ids);
	g_assert_cmpuint(batches->len, ==, 3);
	g_assert_cmpuint(g_strv_length(g_ptr_array_index(batches, 0)), ==, 10);
	g_assert_cmpuint(g_strv_length(g_ptr_array_index(batches, 1)), ==, 10);
	g_assert_cmpuint(g_strv_length(g_ptr_array_index(batches, 2)), ==, 3);
	g_assert_cmpstr(((char **)g_ptr_array_index(batches, 0))[0], ==, "p0");
	g_assert_cmpstr(((char **)g_ptr_array_index(batches, 1))[0], ==, "p10");
	g_assert_cmpstr(((char **)g_ptr_array_index(batches, 2))[2], ==, "p22");
	for (i = 0; i < batches->len; i++) {
		char *body = pfs_lists_pipelines_request(0, g_ptr_array_index(batches, i));

		g_assert_nonnull(body);
		g_free(body);
	}
	g_ptr_array_unref(batches);
	for (i = 0; i < 25; i++)
		g_free(ids[i]);

	batches = pfs_lists_project_batches(NULL);
	g_assert_cmpuint(batches->len, ==, 0);
	g_ptr_array_unref(batches);
	ids[0] = PROJ;
	ids[1] = NULL;
	batches = pfs_lists_project_batches(ids);
	g_assert_cmpuint(batches->len, ==, 1);
	g_assert_cmpstr(((char **)g_ptr_array_index(batches, 0))[0], ==, PROJ);
	g_assert_null(((char **)g_ptr_array_index(batches, 0))[1]);
	g_ptr_array_unref(batches);
}

/* The windows as "START..END|START..END", newest first. */
static char *windows_text(const char *zone_spec, const char *now_local,
			  unsigned days)
{
	GTimeZone *tz = zone(zone_spec);
	GPtrArray *windows = pfs_lists_history_windows(ms_at(zone_spec, now_local),
							tz, days);
	GString *text = g_string_new(NULL);
	guint i;

	for (i = 0; i < windows->len; i++) {
		struct pfs_history_window *w = g_ptr_array_index(windows, i);

		g_string_append_printf(text, "%s%s..%s", i ? "|" : "", w->start, w->end);
	}
	g_ptr_array_unref(windows);
	g_time_zone_unref(tz);
	return g_string_free(text, FALSE);
}

#define assert_windows(zone, now, days, expected) do { \
	char *got_ = windows_text(zone, now, days); \
	g_assert_cmpstr(got_, ==, expected); \
	g_free(got_); \
} while (0)

static void test_history_windows_examples(void)
{
	assert_windows("+08:00", "2026-03-03 10:00:00", 7, "2026-02-24..2026-03-03");
	assert_windows("+08:00", "2026-03-03 10:00:00", 0, "");
	/* 04:00 on April 1st at +08:00 is still March 31st in UTC */
	assert_windows("+08:00", "2026-04-01 04:00:00", 1, "2026-03-31..2026-04-01");
	assert_windows("UTC", "2026-03-31 20:00:00", 1, "2026-03-30..2026-03-31");
	/* 27 days back: 28 dates, one window; 28 back: one date more */
	assert_windows("UTC", "2026-01-31 12:00:00", 27, "2026-01-04..2026-01-31");
	assert_windows("UTC", "2026-01-31 12:00:00", 28,
		       "2026-01-04..2026-01-31|2026-01-03..2026-01-03");
	/* across a leap day and month ends: 61 dates in 28 + 28 + 5 */
	assert_windows("UTC", "2024-03-01 12:00:00", 60,
		       "2024-02-03..2024-03-01|2024-01-06..2024-02-02|"
		       "2024-01-01..2024-01-05");
	assert_windows("+08:00", "2025-03-01 00:00:00", 30,
		       "2025-02-02..2025-03-01|2025-01-30..2025-02-01");
	/* across a year end */
	assert_windows("UTC", "2027-01-02 00:00:01", 10,
		       "2026-12-23..2027-01-02");
}

static bool have_zone(const char *name)
{
	char *path = g_build_filename("/usr/share/zoneinfo", name, NULL);
	bool found = g_file_test(path, G_FILE_TEST_IS_REGULAR);

	g_free(path);
	return found;
}

/* Seven days of 24 hours before 00:30 on the day after clocks went
 * forward reach 23:30 eight calendar days back. */
static void test_history_windows_across_daylight_saving(void)
{
	if (!have_zone("America/New_York")) {
		g_test_skip("tzdata is not installed");
		return;
	}
	assert_windows("America/New_York", "2026-03-09 00:30:00", 7,
		       "2026-03-01..2026-03-09");
	assert_windows("America/New_York", "2026-03-09 01:30:00", 7,
		       "2026-03-02..2026-03-09");
}

static guint32 julian_of(const char *ymd)
{
	GDate date;
	unsigned y, m, d;

	g_assert_cmpint(sscanf(ymd, "%4u-%2u-%2u", &y, &m, &d), ==, 3);
	g_assert_cmpuint(strlen(ymd), ==, 10);
	g_date_clear(&date, 1);
	g_date_set_dmy(&date, (GDateDay)d, (GDateMonth)m, (GDateYear)y);
	g_assert_true(g_date_valid(&date));
	return g_date_get_julian(&date);
}

/* For every length up to 400 days: contiguous, newest first, none longer
 * than PFS_LISTS_WINDOW_DAYS, from today back to today - days. */
static void test_history_windows_cover_every_day_once(void)
{
	GTimeZone *tz = zone("+08:00");
	gint64 now = ms_at("+08:00", "2028-02-29 08:00:00");
	guint32 today = julian_of("2028-02-29");
	unsigned days;

	for (days = 1; days <= 400; days++) {
		GPtrArray *windows = pfs_lists_history_windows(now, tz, days);
		guint32 next_end = today;
		guint i;

		g_assert_cmpuint(windows->len, ==, days / PFS_LISTS_WINDOW_DAYS + 1);
		for (i = 0; i < windows->len; i++) {
			struct pfs_history_window *w = g_ptr_array_index(windows, i);
			guint32 start = julian_of(w->start), end = julian_of(w->end);

			g_assert_cmpuint(end, ==, next_end);
			g_assert_cmpuint(start, <=, end);
			g_assert_cmpuint(end - start + 1, <=, PFS_LISTS_WINDOW_DAYS);
			next_end = start - 1;
		}
		g_assert_cmpuint(next_end + 1, ==, today - days);
		g_ptr_array_unref(windows);
	}
	g_time_zone_unref(tz);
}

static void test_history_windows_extremes(void)
{
	GTimeZone *tz = zone("UTC");
	GPtrArray *windows;
	struct pfs_history_window *last;

	windows = pfs_lists_history_windows(G_MAXINT64, tz, 7);
	g_assert_cmpuint(windows->len, ==, 0);
	g_ptr_array_unref(windows);
	windows = pfs_lists_history_windows(G_MININT64, tz, 7);
	g_assert_cmpuint(windows->len, ==, 0);
	g_ptr_array_unref(windows);
	/* every day glib knows, then no further */
	windows = pfs_lists_history_windows(ms_at("UTC", "2026-01-01 00:00:00"), tz,
					    G_MAXUINT);
	last = g_ptr_array_index(windows, windows->len - 1);
	g_assert_cmpstr(last->start, ==, "0001-01-01");
	g_assert_cmpstr(((struct pfs_history_window *)g_ptr_array_index(windows, 0))->end,
			==, "2026-01-01");
	g_ptr_array_unref(windows);
	g_time_zone_unref(tz);
}

static void test_history_query(void)
{
	struct pfs_history_window w = { "2026-02-24", "2026-03-03" };
	char *query = pfs_lists_history_query(PROJ, &w, 200);

	g_assert_cmpstr(query, ==, "project_id=" PROJ "&start_date=2026-02-24"
			"&end_date=2026-03-03&offset=200&limit=100");
	g_free(query);
	g_assert_null(pfs_lists_history_query("a&b=c", &w, 0));
	g_assert_null(pfs_lists_history_query(NULL, &w, 0));
	g_assert_null(pfs_lists_history_query(PROJ, &w, -100));
	g_assert_null(pfs_lists_history_query(PROJ, &w, G_MAXLONG));
}

static void assert_body_error(const char *body, const char *code, const char *msg)
{
	char *got_code = (char *)"unset", *got_msg = (char *)"unset";
	bool is_error = pfs_lists_body_error(body, strlen(body), &got_code, &got_msg);

	if (is_error != (code != NULL))
		g_error("body_error(%s) = %d", body, is_error);
	g_assert_cmpstr(got_code, ==, code);
	g_assert_cmpstr(got_msg, ==, msg);
	g_free(got_code);
	g_free(got_msg);
}

static void test_body_errors_of_both_shapes(void)
{
	/* with HTTP 200, as DEVCP errors come */
	assert_body_error("{\"error_code\": \"DEVCP.00014031\", \"error_msg\": \"no permission\"}",
			  "DEVCP.00014031", "no permission");
	assert_body_error("{\"error\": {\"code\": 401, \"message\": \"The username or password "
			  "is wrong.\", \"title\": \"Unauthorized\"}}",
			  "401", "The username or password is wrong.");
	assert_body_error("{\"error_code\": \"COCT.0070003\", \"error_msg\": \"access too "
			  "frequent\", \"request_id\": \"abc\"}",
			  "COCT.0070003", "access too frequent");
	assert_body_error("{\"error\": {\"code\": \"APIG.0308\", \"message\": null},"
			  " \"result\": null, \"status\": \"error\"}", "APIG.0308", NULL);
	assert_body_error("{\"error_code\": null, \"error\": {\"code\": \"DEV.1\"}}",
			  "DEV.1", NULL);
	assert_body_error("{\"error_code\": 12.5, \"error_msg\": 7}", "12.5", "7");
	assert_body_error("{\"error_code\": \"X\", \"error_msg\": {\"m\": 1}}", "X", NULL);
}

static void test_data_is_not_an_error(void)
{
	static const char *const bodies[] = {
		/* a status body: error_code null on the build and its tasks */
		"{\"pipeline_id\": \"" PID_A "\", \"build_id\": \"3\", \"error_code\": null,"
		" \"error_msg\": null, \"states\": [{\"error_code\": null, \"children\": []}]}",
		/* data keys win even beside a code */
		"{\"pipeline_id\": \"" PID_A "\", \"error_code\": \"DEV.2\", \"states\": []}",
		"{\"total\": 0, \"result\": [], \"error_code\": \"X\"}",
		"{\"total\": 0, \"build_results\": [], \"error\": {\"code\": \"X\"}}",
		"{\"total\": 0, \"result\": []}",
		"{\"error_code\": \"\", \"error_msg\": \"empty code\"}",
		"{\"error_code\": true}", "{\"error_code\": {}}", "{\"error_code\": [\"X\"]}",
		"{\"error\": \"X\"}", "{\"error\": null}", "{\"error\": {\"code\": null}}",
		"{\"error\": {\"message\": \"no code\"}}", "{}",
		"[{\"error_code\": \"X\"}]", "\"error_code\"", "not json",
		"{\"error_code\": \"X\"", "{\"error_code\": \"X\"} {}", "",
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bodies); i++)
		assert_body_error(bodies[i], NULL, NULL);
	/* code and msg pointers are optional */
	g_assert_true(pfs_lists_body_error("{\"error_code\":\"X\"}", 18, NULL, NULL));
	g_assert_false(pfs_lists_body_error("{}", 2, NULL, NULL));
}

/* The service's text reaches the log and health: printable, bounded. */
static void test_error_text_is_made_safe(void)
{
	GString *body = g_string_new("{\"error_code\": \"");
	char *code, *msg;
	guint i;

	for (i = 0; i < 100; i++)
		g_string_append(body, "C");
	g_string_append(body, "\", \"error_msg\": \"");
	for (i = 0; i < 300; i++)
		g_string_append(body, "构");	/* 3 bytes each */
	g_string_append(body, "\"}");
	g_assert_true(pfs_lists_body_error(body->str, body->len, &code, &msg));
	g_assert_cmpuint(strlen(code), ==, 64);
	g_assert_cmpuint(strlen(msg), ==, 510);	/* not 512: no half character */
	g_assert_true(g_utf8_validate(msg, -1, NULL));
	g_free(code);
	g_free(msg);
	g_string_free(body, TRUE);

	assert_body_error("{\"error_code\": \"A\\nB\", \"error_msg\": \"x\\u001b[2J\\ty\\u0085z"
			  "\\u007f\\ud800!\"}", "A?B", "x?[2J?y?z?\xef\xbf\xbd!");
	assert_body_error("{\"error_code\": \"X\", \"error_msg\": \"cut\\u0000hidden\"}",
			  "X", "cut");
	assert_body_error("{\"error_code\": \"X\", \"error_msg\": \"\xff\xfe bad\"}",
			  "X", "?? bad");
}

static void test_throttling_codes(void)
{
	g_assert_true(pfs_lists_is_throttling_code("COCT.0070003"));
	g_assert_true(pfs_lists_is_throttling_code("APIG.0308"));
	g_assert_true(pfs_lists_is_throttling_code("APIGW.0308"));
	g_assert_true(pfs_lists_is_throttling_code("apig.0308"));
	g_assert_false(pfs_lists_is_throttling_code(NULL));
	g_assert_false(pfs_lists_is_throttling_code(""));
	g_assert_false(pfs_lists_is_throttling_code("APIG.0301"));
	g_assert_false(pfs_lists_is_throttling_code("COCT.00700031"));
	g_assert_false(pfs_lists_is_throttling_code("DEVCP.00014031"));
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/lists/pipelines_as_the_service_sends_them",
			test_pipelines_as_the_service_sends_them);
	g_test_add_func("/lists/pipeline_items_without_a_valid_id_are_skipped",
			test_pipeline_items_without_a_valid_id_are_skipped);
	g_test_add_func("/lists/total_must_be_a_whole_number",
			test_total_must_be_a_whole_number);
	g_test_add_func("/lists/malformed_answers_are_refused",
			test_malformed_answers_are_refused);
	g_test_add_func("/lists/only_len_bytes_are_read", test_only_len_bytes_are_read);
	g_test_add_func("/lists/bodies_over_the_limit_are_refused_unread",
			test_bodies_over_the_limit_are_refused_unread);
	g_test_add_func("/lists/history_as_the_service_sends_it",
			test_history_as_the_service_sends_it);
	g_test_add_func("/lists/history_items_and_times_hostile",
			test_history_items_and_times_hostile);
	g_test_add_func("/lists/history_frame_errors", test_history_frame_errors);
	g_test_add_func("/lists/list_request_body", test_list_request_body);
	g_test_add_func("/lists/projects_split_into_batches_of_ten",
			test_projects_split_into_batches_of_ten);
	g_test_add_func("/lists/history_windows_examples", test_history_windows_examples);
	g_test_add_func("/lists/history_windows_across_daylight_saving",
			test_history_windows_across_daylight_saving);
	g_test_add_func("/lists/history_windows_cover_every_day_once",
			test_history_windows_cover_every_day_once);
	g_test_add_func("/lists/history_windows_extremes", test_history_windows_extremes);
	g_test_add_func("/lists/history_query", test_history_query);
	g_test_add_func("/lists/body_errors_of_both_shapes", test_body_errors_of_both_shapes);
	g_test_add_func("/lists/data_is_not_an_error", test_data_is_not_an_error);
	g_test_add_func("/lists/error_text_is_made_safe", test_error_text_is_made_safe);
	g_test_add_func("/lists/throttling_codes", test_throttling_codes);
	return g_test_run();
}
