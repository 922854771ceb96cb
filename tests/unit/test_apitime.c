/* Unit tests for apitime.c: zones from -o timezone=, the API's times read
 * in them, and ISO 8601 UTC text. */
#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "apitime.h"

/* 2026-11-27 16:40:51 UTC, the start of build 21 in contrib's demo */
#define DEMO_UTC INT64_C(1795797651)

static GTimeZone *zone_ok(const char *spec)
{
	GTimeZone *tz = NULL;
	char err[256] = "";

	if (pfs_apitime_zone_new(spec, &tz, err, sizeof(err)) != 0)
		g_error("zone \"%s\" refused: %s", spec, err);
	g_assert_nonnull(tz);
	return tz;
}

/* Seconds east of UTC that @spec gives a time at @unix. */
static gint32 offset_of(const char *spec, gint64 unix_time)
{
	GTimeZone *tz = zone_ok(spec);
	gint interval = g_time_zone_find_interval(tz, G_TIME_TYPE_UNIVERSAL,
						  unix_time);
	gint32 offset = g_time_zone_get_offset(tz, interval);

	g_time_zone_unref(tz);
	return offset;
}

static void test_utc_and_offsets_are_accepted(void)
{
	static const struct {
		const char *spec;
		gint32 offset;
	} cases[] = {
		{ "UTC", 0 }, { "utc", 0 }, { "Z", 0 }, { "z", 0 }, { "GMT", 0 },
		{ "+08:00", 8 * 3600 }, { "+0800", 8 * 3600 },
		{ "+08", 8 * 3600 }, { "+8", 8 * 3600 },
		{ "-05:30", -(5 * 3600 + 1800) }, { "-0530", -(5 * 3600 + 1800) },
		{ "+05:45", 5 * 3600 + 45 * 60 }, { "-0700", -7 * 3600 },
		{ "+00:00", 0 }, { "-0", 0 },
		{ "+14:00", 14 * 3600 }, { "-12:00", -12 * 3600 },
		{ PFS_APITIME_DEFAULT_ZONE, 8 * 3600 },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpint(offset_of(cases[i].spec, DEMO_UTC), ==,
				cases[i].offset);
}

static bool have_zone_file(const char *name)
{
	char *path = g_build_filename("/usr/share/zoneinfo", name, NULL);
	bool found = g_file_test(path, G_FILE_TEST_IS_REGULAR);

	g_free(path);
	return found;
}

static void test_zone_names_follow_their_rules(void)
{
	if (!have_zone_file("Asia/Shanghai") ||
	    !have_zone_file("America/New_York")) {
		g_test_skip("tzdata is not installed");
		return;
	}
	g_assert_cmpint(offset_of("Asia/Shanghai", DEMO_UTC), ==, 8 * 3600);
	g_assert_cmpint(offset_of("Etc/GMT-8", DEMO_UTC), ==, 8 * 3600);
	/* daylight saving: 2026-07-01 is EDT, 2026-11-27 EST */
	g_assert_cmpint(offset_of("America/New_York", INT64_C(1782864000)), ==,
			-4 * 3600);
	g_assert_cmpint(offset_of("America/New_York", DEMO_UTC), ==, -5 * 3600);
}

static void test_anything_else_is_refused_with_what_is_accepted(void)
{
	static const char *const refused[] = {
		"", "8", "0800", "+", "-", "+123", "+08:0", "+08:60", "+8:00",
		"+0860", "+14:01", "+15", "-1400x", "+24:00", "+99", "08:00",
		" +08:00", "+08:00 ", "+08:00\n", "UTC+8", "UTC+08:00", "CST-8",
		"Foo/Bar", "Asia/Nowhere", "/etc/passwd", "../etc/passwd",
		"Asia/../Asia/Shanghai", "Asia//Shanghai", "Asia/", "/Asia",
		"zone.tab", "tzdata.zi", "asia shanghai", "Asia/Shanghai\x1b[2J",
		"构建", "\xff\xfe",
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(refused); i++) {
		GTimeZone *tz = (GTimeZone *)&tz;	/* must be reset */
		char err[256] = "";

		g_assert_cmpint(pfs_apitime_zone_new(refused[i], &tz, err,
						     sizeof(err)), ==, -EINVAL);
		g_assert_null(tz);
		g_assert_nonnull(strstr(err, "+08:00"));
		g_assert_nonnull(strstr(err, "Asia/Shanghai"));
		g_assert_null(strchr(err, '\n'));
		g_assert_null(strchr(err, '\x1b'));
	}
}

static void test_refusal_names_a_printable_value_only(void)
{
	GTimeZone *tz;
	char err[256];

	g_assert_cmpint(pfs_apitime_zone_new("UTC+8", &tz, err, sizeof(err)),
			==, -EINVAL);
	g_assert_true(g_str_has_prefix(err, "timezone \"UTC+8\" is not UTC, Z,"));
	g_assert_cmpint(pfs_apitime_zone_new(NULL, &tz, err, sizeof(err)),
			==, -EINVAL);
	g_assert_true(g_str_has_prefix(err, "timezone is not UTC"));
	g_assert_cmpint(pfs_apitime_zone_new("x\ty", &tz, err, sizeof(err)),
			==, -EINVAL);
	g_assert_true(g_str_has_prefix(err, "timezone is not UTC"));
	/* a short buffer gets a cut message, never an overflow */
	g_assert_cmpint(pfs_apitime_zone_new("?", &tz, err, 8), ==, -EINVAL);
	g_assert_cmpstr(err, ==, "timezon");
}

static gint64 parse_in(const char *spec, const char *text)
{
	GTimeZone *tz = zone_ok(spec);
	struct timespec ts = { -1, -1 };

	g_assert_cmpint(pfs_apitime_parse(tz, text, strlen(text), &ts), ==, 0);
	g_assert_cmpint(ts.tv_nsec, ==, 0);
	g_time_zone_unref(tz);
	return ts.tv_sec;
}

static void test_api_times_are_read_in_the_zone(void)
{
	g_assert_cmpint(parse_in("UTC", "2026-11-27 16:40:51"), ==, DEMO_UTC);
	g_assert_cmpint(parse_in("+08:00", "2026-11-27 16:40:51"), ==,
			DEMO_UTC - 8 * 3600);
	g_assert_cmpint(parse_in("+0800", "2026-11-27 16:40:51\n"), ==,
			DEMO_UTC - 8 * 3600);
	g_assert_cmpint(parse_in("-05:30", "2026-11-27 16:40:51"), ==,
			DEMO_UTC + 5 * 3600 + 1800);
	g_assert_cmpint(parse_in("UTC", "1970-01-01 00:00:00"), ==, 0);
	g_assert_cmpint(parse_in("UTC", "2024-02-29 12:00:00"), ==,
			INT64_C(1709208000));
	g_assert_cmpint(parse_in("UTC", "9999-12-31 23:59:59"), ==,
			INT64_C(253402300799));
	g_assert_cmpint(parse_in("UTC", "0001-01-01 00:00:00"), ==,
			INT64_C(-62135596800));
	if (have_zone_file("Asia/Shanghai"))
		g_assert_cmpint(parse_in("Asia/Shanghai", "2022-04-01 19:44:16"),
				==, parse_in("+08:00", "2022-04-01 19:44:16"));
}

/* Only @len bytes are read: the text need not end there, nor at all. */
static void test_only_len_bytes_are_read(void)
{
	GTimeZone *tz = zone_ok("UTC");
	char *exact = g_malloc(19);
	struct timespec ts;

	memcpy(exact, "2026-11-27 16:40:51", 19);
	g_assert_cmpint(pfs_apitime_parse(tz, "2026-11-27 16:40:51junk", 19, &ts),
			==, 0);
	g_assert_cmpint(ts.tv_sec, ==, DEMO_UTC);
	g_assert_cmpint(pfs_apitime_parse(tz, exact, 19, &ts), ==, 0);
	g_assert_cmpint(pfs_apitime_parse(tz, exact, 18, &ts), ==, -EINVAL);
	g_assert_cmpint(pfs_apitime_parse(tz, exact, 0, &ts), ==, -EINVAL);
	g_assert_cmpint(pfs_apitime_parse(tz, "2026-11-27\0" "16:40:51", 19, &ts),
			==, -EINVAL);
	g_free(exact);
	g_time_zone_unref(tz);
}

static void test_other_text_is_refused(void)
{
	static const char *const refused[] = {
		"", "\n", "\n\n", "null", "2026-11-27", "2026-11-27 16:40",
		"2026-11-27 16:40:5", "2026-11-27 16:40:51\n\n",
		"2026-11-27 16:40:51 ", " 2026-11-27 16:40:51",
		"2026-11-27\n16:40:51", "2026-11-27 16:40:51\r\n",
		"2026-11-27T16:40:51", "2026-11-27 16:40:51Z",
		"2026-11-27 16:40:51.5", "2026/11/27 16:40:51",
		"26-11-27 16:40:51", "+2026-11-27 16:40:51",
		"-026-11-27 16:40:51", "2026-1a-27 16:40:51",
		"２０２６-11-27 16:40:51",
		"2026-02-29 00:00:00", "2026-02-30 00:00:00", "2026-04-31 00:00:00",
		"2026-00-10 00:00:00", "2026-13-01 00:00:00", "2026-11-00 00:00:00",
		"2026-11-27 24:00:00", "2026-11-27 23:60:00", "2026-11-27 23:59:60",
		"0000-01-01 00:00:00", "9999-99-99 99:99:99",
	};
	GTimeZone *tz = zone_ok("+08:00");
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(refused); i++) {
		struct timespec ts = { 7, 7 };

		if (pfs_apitime_parse(tz, refused[i], strlen(refused[i]), &ts) != -EINVAL)
			g_error("accepted \"%s\"", refused[i]);
		g_assert_cmpint(ts.tv_sec, ==, 7);
	}
	g_time_zone_unref(tz);
}

static void test_layout_alone_is_checked_without_ranges(void)
{
	g_assert_true(pfs_apitime_has_layout("2026-11-27 16:40:51", 19));
	g_assert_true(pfs_apitime_has_layout("9999-99-99 99:99:99", 19));
	g_assert_true(pfs_apitime_has_layout("2026-11-27 16:40:51\n", 19));
	g_assert_false(pfs_apitime_has_layout("2026-11-27 16:40:51\n", 20));
	g_assert_false(pfs_apitime_has_layout("2026-11-27T16:40:51", 19));
	g_assert_false(pfs_apitime_has_layout("2026-11-27 16:40:5", 18));
	g_assert_false(pfs_apitime_has_layout("", 0));
}

/* Random bytes, and random edits of a good time, never crash and are
 * either refused or read as something in range. */
static void test_garbage_never_crashes(void)
{
	GTimeZone *tz = zone_ok("+08:00");
	char text[24];
	int round;

	for (round = 0; round < 20000; round++) {
		size_t len = (size_t)g_test_rand_int_range(0, sizeof(text) + 1);
		struct timespec ts;
		size_t i;

		memcpy(text, "2026-11-27 16:40:51\n\n\n\n\n", sizeof(text));
		for (i = 0; i < len; i++)
			if (round % 2 == 0 || g_test_rand_int_range(0, 8) == 0)
				text[i] = (char)g_test_rand_int_range(0, 256);
		if (pfs_apitime_parse(tz, text, len, &ts) == 0)
			g_assert_cmpint(ts.tv_sec, <=, INT64_C(253402300799));
	}
	g_time_zone_unref(tz);
}

static char *iso(time_t t)
{
	char buf[PFS_APITIME_ISO_SIZE];

	memset(buf, 'x', sizeof(buf));
	pfs_apitime_iso(t, buf);
	g_assert_cmpuint(strlen(buf), ==, PFS_APITIME_ISO_SIZE - 1);
	return g_strdup(buf);
}

#define assert_iso(t, expected) do { \
	char *got_ = iso(t); \
	g_assert_cmpstr(got_, ==, expected); \
	g_free(got_); \
} while (0)

static void test_iso_is_utc_seconds(void)
{
	assert_iso(0, "1970-01-01T00:00:00Z");
	assert_iso((time_t)DEMO_UTC, "2026-11-27T16:40:51Z");
	assert_iso((time_t)(DEMO_UTC - 8 * 3600), "2026-11-27T08:40:51Z");
	assert_iso((time_t)-1, "1969-12-31T23:59:59Z");
	assert_iso((time_t)INT64_C(-62135596800), "0001-01-01T00:00:00Z");
	assert_iso((time_t)INT64_C(-62135596801), "0001-01-01T00:00:00Z");
	assert_iso((time_t)INT64_C(253402300800), "9999-12-31T23:59:59Z");
	assert_iso((time_t)INT64_MAX, "9999-12-31T23:59:59Z");
	assert_iso((time_t)INT64_MIN, "0001-01-01T00:00:00Z");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/apitime/utc-and-offsets-are-accepted",
			test_utc_and_offsets_are_accepted);
	g_test_add_func("/apitime/zone-names-follow-their-rules",
			test_zone_names_follow_their_rules);
	g_test_add_func("/apitime/anything-else-is-refused-with-what-is-accepted",
			test_anything_else_is_refused_with_what_is_accepted);
	g_test_add_func("/apitime/refusal-names-a-printable-value-only",
			test_refusal_names_a_printable_value_only);
	g_test_add_func("/apitime/api-times-are-read-in-the-zone",
			test_api_times_are_read_in_the_zone);
	g_test_add_func("/apitime/only-len-bytes-are-read",
			test_only_len_bytes_are_read);
	g_test_add_func("/apitime/other-text-is-refused", test_other_text_is_refused);
	g_test_add_func("/apitime/layout-alone-is-checked-without-ranges",
			test_layout_alone_is_checked_without_ranges);
	g_test_add_func("/apitime/garbage-never-crashes", test_garbage_never_crashes);
	g_test_add_func("/apitime/iso-is-utc-seconds", test_iso_is_utc_seconds);
	return g_test_run();
}
