/* Fuzz target: a body read as a list answer, as a build-result answer (in
 * +08:00 and in a zone with daylight saving when tzdata has one) and as a
 * possible error body; the first bytes also pick a time, a number of days
 * and an offset for the history windows and the request builders. */
#include "fuzz.h"
#include "lists.h"
#include "names.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

static GTimeZone *zones[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	zones[0] = g_time_zone_new_offset(8 * 3600);
	zones[1] = g_file_test("/usr/share/zoneinfo/America/New_York",
			       G_FILE_TEST_IS_REGULAR)
		   ? g_time_zone_new_identifier("America/New_York") : NULL;
	if (!zones[1])
		zones[1] = g_time_zone_new_utc();
	return 0;
}

/* Whether a parse succeeded; either way what it left must be sound. */
static bool parsed(int res, GPtrArray *into, long total, const char *err,
		   size_t errsize)
{
	if (res == 0) {
		FUZZ_CHECK(total >= 0 && total <= PFS_LISTS_MAX_TOTAL);
		return true;
	}
	FUZZ_CHECK(res == -EPROTO || res == -EMSGSIZE);
	FUZZ_CHECK(into->len == 0 && total == 0);
	FUZZ_CHECK(memchr(err, '\0', errsize) && err[0]);
	return false;
}

static void check_pipelines(const char *body, size_t len)
{
	GPtrArray *into = g_ptr_array_new_with_free_func(pfs_pipeline_entry_free);
	char err[256] = "";
	long total = -1;
	int res = pfs_lists_parse_pipelines(body, len, into, &total, err, sizeof(err));
	guint i;
	bool ok = parsed(res, into, total, err, sizeof(err));

	for (i = 0; ok && i < into->len; i++) {
		struct pfs_pipeline_entry *e = g_ptr_array_index(into, i);

		FUZZ_CHECK(e->pipeline_id && pfs_name_is_valid_id(e->pipeline_id));
		FUZZ_CHECK(!e->project_id || pfs_name_is_valid_id(e->project_id));
		FUZZ_CHECK(!e->name || e->name[0]);
		FUZZ_CHECK(!e->project_name || e->project_name[0]);
	}
	g_ptr_array_unref(into);
}

static void check_history(const char *body, size_t len, GTimeZone *tz)
{
	GPtrArray *into = g_ptr_array_new_with_free_func(pfs_history_entry_free);
	char err[256] = "";
	long total = -1;
	int res = pfs_lists_parse_history(body, len, tz, into, &total, err, sizeof(err));
	guint i;
	bool ok = parsed(res, into, total, err, sizeof(err));

	for (i = 0; ok && i < into->len; i++) {
		struct pfs_history_entry *e = g_ptr_array_index(into, i);

		FUZZ_CHECK(pfs_name_is_valid_id(e->pipeline_id));
		FUZZ_CHECK(pfs_name_is_valid_id(e->build_id));
		FUZZ_CHECK(!e->status || e->status[0]);
	}
	g_ptr_array_unref(into);
}

/* Printable: valid UTF-8 without control characters, at most @max bytes. */
static void check_printable(const char *text, size_t max)
{
	const char *p;

	if (!text)
		return;
	FUZZ_CHECK(strlen(text) <= max && g_utf8_validate(text, -1, NULL));
	for (p = text; *p; p = g_utf8_next_char(p))
		FUZZ_CHECK(!g_unichar_iscntrl(g_utf8_get_char(p)));
}

static void check_body_error(const char *body, size_t len)
{
	char *code = (char *)"unset", *msg = (char *)"unset";

	if (pfs_lists_body_error(body, len, &code, &msg)) {
		FUZZ_CHECK(code && code[0]);
		check_printable(code, 64);
		check_printable(msg, 512);
		(void)pfs_lists_is_throttling_code(code);
	} else {
		FUZZ_CHECK(!code && !msg);
	}
	g_free(code);
	g_free(msg);
}

/* The Julian day of exactly "YYYY-MM-DD", or 0. */
static guint32 julian(const char *text)
{
	unsigned y, m, d;
	int end = 0;
	GDate date;

	if (strlen(text) != 10 || sscanf(text, "%4u-%2u-%2u%n", &y, &m, &d, &end) != 3 ||
	    end != 10 || !g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y))
		return 0;
	g_date_clear(&date, 1);
	g_date_set_dmy(&date, (GDateDay)d, (GDateMonth)m, (GDateYear)y);
	return g_date_get_julian(&date);
}

/* Windows from @now_ms over @days: real dates, contiguous, newest first,
 * each 1 to PFS_LISTS_WINDOW_DAYS dates. */
static void check_windows(gint64 now_ms, unsigned days, GTimeZone *tz)
{
	GPtrArray *windows = pfs_lists_history_windows(now_ms, tz, days);
	guint32 prev_start = 0;
	guint i;

	FUZZ_CHECK(days || windows->len == 0);
	for (i = 0; i < windows->len; i++) {
		struct pfs_history_window *w = g_ptr_array_index(windows, i);
		guint32 start = julian(w->start), end = julian(w->end);
		char *query;

		FUZZ_CHECK(start && start <= end && end - start < PFS_LISTS_WINDOW_DAYS);
		FUZZ_CHECK(!prev_start || end + 1 == prev_start);
		prev_start = start;
		query = pfs_lists_history_query("p", w, 0);
		FUZZ_CHECK(query && strstr(query, w->start) && strstr(query, w->end));
		g_free(query);
	}
	g_ptr_array_unref(windows);
}

static void check_requests(long offset)
{
	static char *const projects[] = { "a", "b.c", NULL };
	char *body = pfs_lists_pipelines_request(offset, projects);

	FUZZ_CHECK(!body == (offset < 0 || offset > PFS_LISTS_MAX_TOTAL));
	g_free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	gint64 now_ms;
	guint32 days;

	check_pipelines(body, size);
	check_history(body, size, zones[0]);
	check_history(body, size, zones[1]);
	check_body_error(body, size);
	if (size >= 12) {
		memcpy(&now_ms, data, sizeof(now_ms));
		memcpy(&days, data + 8, sizeof(days));
		if (data[0] & 2)	/* mostly a time glib can hold: years 1 to 9999 */
			now_ms %= INT64_C(253402300800000);
		/* beyond a few years only the count of windows grows */
		check_windows(now_ms, days % 4000, zones[data[0] & 1]);
		check_requests((long)now_ms);
	}
	return 0;
}
