/* Unit tests for events.c (the lines of `events`) and model_times.c (when
 * each node changed). */
#include <glib.h>
#include <string.h>

#include "apitime.h"
#include "events.h"
#include "model.h"
#include "v3.h"

#define T0 1796000000		/* 2026-11-29T...Z, any fixed second */
#define NS(s) ((int64_t)(s) * 1000000000)

static struct pfs_build *parse(const char *json)
{
	struct pfs_build *build = NULL;
	char err[256] = "";

	if (pfs_v3_model_parse(json, strlen(json), &build, err, sizeof(err)) != 0)
		g_error("parse failed: %s", err);
	return build;
}

static const char *running =
	"{\"status\": \"running\", \"start_time\": \"2026-11-28 09:00:00\","
	" \"states\": [{\"name\": \"build\", \"status\": \"completed\","
	"  \"outcome\": \"success\", \"start_time\": \"2026-11-28 09:00:00\","
	"  \"end_time\": \"2026-11-28 09:05:00\", \"children\": []},"
	" {\"name\": \"test\", \"status\": \"running\","
	"  \"start_time\": \"2026-11-28 09:05:00\", \"children\": ["
	"  {\"name\": \"unit\", \"status\": \"running\"}]}]}";

static const char *failed =
	"{\"status\": \"completed\", \"outcome\": \"error\","
	" \"start_time\": \"2026-11-28 09:00:00\", \"end_time\": \"2026-11-28 09:09:00\","
	" \"states\": [{\"name\": \"build\", \"status\": \"completed\","
	"  \"outcome\": \"success\", \"start_time\": \"2026-11-28 09:00:00\","
	"  \"end_time\": \"2026-11-28 09:05:00\", \"children\": []},"
	" {\"name\": \"test\", \"status\": \"completed\", \"outcome\": \"error\","
	"  \"start_time\": \"2026-11-28 09:05:00\", \"children\": ["
	"  {\"name\": \"unit\", \"status\": \"completed\", \"outcome\": \"error\","
	"   \"error_msg\": \"3 failed:\\n\\ta\\\\b\"}]}]}";

static GTimeZone *zone(const char *spec)
{
	GTimeZone *tz = NULL;
	char err[256];

	g_assert_cmpint(pfs_apitime_zone_new(spec, &tz, err, sizeof(err)), ==, 0);
	return tz;
}

static int64_t mtime(struct pfs_build *build, const char *path)
{
	uint32_t node = pfs_build_walk(build, path);

	g_assert_cmpuint(node, !=, PFS_NODE_NONE);
	return pfs_build_node_ns(build, node);
}

/* 2026-11-28 09:05:00 +08:00 */
#define STAGE_END 1795827900

static void test_first_seen_times_are_the_api_times(void)
{
	GTimeZone *tz = zone("+08:00");
	struct pfs_build *build = parse(running);

	pfs_build_set_times(build, tz, NS(T0));
	/* a stage's files: its end_time; a running stage: its start_time */
	g_assert_cmpint(mtime(build, "stages/build/status"), ==, NS(STAGE_END));
	g_assert_cmpint(mtime(build, "stages/test/status"), ==, NS(STAGE_END));
	/* a task without times takes its build's (start_time here) */
	g_assert_cmpint(mtime(build, "stages/test/tasks/unit/status"), ==,
			NS(STAGE_END - 300));
	/* a directory: the newest below it */
	g_assert_cmpint(mtime(build, ""), ==, NS(STAGE_END));
	g_assert_cmpint(mtime(build, "status.json"), ==, NS(STAGE_END - 300));
	pfs_build_unref(build);
	g_time_zone_unref(tz);

	tz = zone("UTC");
	build = parse(running);
	pfs_build_set_times(build, tz, NS(T0));
	g_assert_cmpint(mtime(build, "stages/build/status"), ==,
			NS(STAGE_END + 8 * 3600));
	pfs_build_unref(build);
	g_time_zone_unref(tz);
}

static void test_a_refresh_moves_only_what_changed(void)
{
	GTimeZone *tz = zone("+08:00");
	struct pfs_build *before = parse(running), *same = parse(running);
	struct pfs_build *after = parse(failed);

	pfs_build_set_times(before, tz, NS(T0));
	g_assert_cmpuint(pfs_build_carry_times(same, before, NS(T0 + 10)), ==, 0);
	g_assert_cmpint(mtime(same, ""), ==, mtime(before, ""));
	g_assert_cmpint(mtime(same, "summary"), ==, mtime(before, "summary"));
	g_assert_cmpuint(pfs_build_carry_times(after, same, NS(T0 + 20)), >, 0);
	g_assert_cmpint(mtime(after, "stages/build/status"), ==, NS(STAGE_END));
	g_assert_cmpint(mtime(after, "stages/test/outcome"), ==, NS(T0 + 20));
	g_assert_cmpint(mtime(after, "stages/test"), ==, NS(T0 + 20));
	g_assert_cmpint(mtime(after, "stages/build"), ==, NS(STAGE_END));
	g_assert_cmpint(mtime(after, ""), ==, NS(T0 + 20));
	g_assert_cmpint(mtime(after, "status.json"), ==, NS(T0 + 20));
	pfs_build_unref(before);
	pfs_build_unref(same);
	pfs_build_unref(after);
	g_time_zone_unref(tz);
}

static void test_first_seen_lines(void)
{
	struct pfs_build *build = parse(running);
	GString *out = g_string_new(NULL);

	pfs_events_first_seen(out, build, T0, "", false);
	g_assert_cmpstr(out->str, ==,
		"2026-11-30T00:53:20Z\t.\tstatus\t\trunning\n"
		"2026-11-30T00:53:20Z\t.\toutcome\t\t\n"
		"2026-11-30T00:53:20Z\tstages/build\tstatus\t\tcompleted\n"
		"2026-11-30T00:53:20Z\tstages/build\toutcome\t\tsuccess\n"
		"2026-11-30T00:53:20Z\tstages/test\tstatus\t\trunning\n"
		"2026-11-30T00:53:20Z\tstages/test\toutcome\t\t\n"
		"2026-11-30T00:53:20Z\tstages/test/tasks/unit\tstatus\t\trunning\n"
		"2026-11-30T00:53:20Z\tstages/test/tasks/unit\toutcome\t\t\n");
	g_string_truncate(out, 0);
	pfs_events_first_seen(out, build, T0, "22", true);
	g_assert_cmpstr(out->str, ==,
		"2026-11-30T00:53:20Z\t22\tstatus\t\trunning\n"
		"2026-11-30T00:53:20Z\t22\toutcome\t\t\n");
	g_string_free(out, TRUE);
	pfs_build_unref(build);
}

static void test_diff_lines_escape_values(void)
{
	struct pfs_build *before = parse(running), *after = parse(failed);
	GString *out = g_string_new(NULL);
	unsigned lines = pfs_events_diff(out, before, after, T0, "p/22");

	g_assert_true(strstr(out->str,
		"2026-11-30T00:53:20Z\tp/22/stages/test/tasks/unit\terror_msg\t\t"
		"3 failed:\\n\\ta\\\\b\n"));
	g_assert_true(strstr(out->str, "\tp/22\tstatus\trunning\tcompleted\n"));
	g_assert_true(strstr(out->str, "\tp/22/stages/test\toutcome\t\terror\n"));
	/* nothing about what did not change, nor about made files */
	g_assert_null(strstr(out->str, "stages/build\t"));
	g_assert_null(strstr(out->str, "status.json"));
	g_assert_null(strstr(out->str, "summary"));
	g_assert_cmpuint(lines, ==, 8);	/* build 3, stage 2, task 3 */
	g_string_truncate(out, 0);
	g_assert_cmpuint(pfs_events_diff(out, after, after, T0, ""), ==, 0);
	g_string_free(out, TRUE);
	pfs_build_unref(before);
	pfs_build_unref(after);
}

static void test_a_log_rotates_at_a_line(void)
{
	struct pfs_event_log log = { 0 };
	char *data;
	size_t len;
	int i;

	for (i = 0; i < 100; i++)
		g_assert_true(pfs_event_log_append(&log, "0123456789\n", 11, 500, true,
						   NS(T0 + i)));
	g_assert_cmpuint(pfs_event_log_size(&log), <=, 500);
	g_assert_cmpuint(pfs_event_log_size(&log) % 11, ==, 0);
	pfs_event_log_read(&log, 0, 11, &data, &len);
	g_assert_cmpmem(data, len, "0123456789\n", 11);
	g_free(data);
	pfs_event_log_read(&log, pfs_event_log_size(&log), 11, &data, &len);
	g_assert_null(data);
	g_assert_cmpint(log.changed_ns, ==, NS(T0 + 99));
	/* a line longer than half the bound: it stays, what came before goes */
	data = g_strnfill(400, 'x');
	data[399] = '\n';
	g_assert_true(pfs_event_log_append(&log, data, 400, 500, true, NS(T0 + 100)));
	g_assert_cmpuint(pfs_event_log_size(&log), >=, 400);
	g_assert_cmpint(log.text->str[log.text->len - 1], ==, '\n');
	/* not rotating: full, and unchanged */
	g_assert_false(pfs_event_log_append(&log, data, 400, 500, false, NS(T0 + 101)));
	g_assert_cmpint(log.changed_ns, ==, NS(T0 + 100));
	g_free(data);
	pfs_event_log_clear(&log);
}

static void test_failed_links(void)
{
	struct pfs_build *build = parse(failed);
	uint32_t dir = pfs_build_walk(build, "failed"), link;
	size_t len;

	g_assert_cmpuint(dir, !=, PFS_NODE_NONE);
	link = pfs_build_child(build, dir, "test:unit");
	g_assert_cmpuint(link, !=, PFS_NODE_NONE);
	g_assert_cmpint(build->nodes[link].kind, ==, PFS_NODE_LINK);
	g_assert_cmpstr(pfs_build_node_content(build, link, &len), ==,
			"../stages/test/tasks/unit");
	g_assert_cmpuint(pfs_build_child(build, dir, "build"), ==, PFS_NODE_NONE);
	g_assert_cmpint(build->nodes[pfs_build_walk(build, "wait")].kind, ==,
			PFS_NODE_WAIT);
	pfs_build_unref(build);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/times/first-seen", test_first_seen_times_are_the_api_times);
	g_test_add_func("/times/refresh", test_a_refresh_moves_only_what_changed);
	g_test_add_func("/events/first-seen", test_first_seen_lines);
	g_test_add_func("/events/diff", test_diff_lines_escape_values);
	g_test_add_func("/events/rotate", test_a_log_rotates_at_a_line);
	g_test_add_func("/model/failed", test_failed_links);
	return g_test_run();
}
