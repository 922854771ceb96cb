/* apitime.c - see apitime.h */
#include "apitime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The widest offsets in use are -12:00 and +14:00; anything past 14 hours
 * is a typo, not a zone. */
#define MAX_OFFSET_MINUTES (14 * 60)
#define MAX_ZONE_NAME 255

/* The bounds of what "YYYY-MM-DDTHH:MM:SSZ" can say:
 * 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define ISO_MIN ((time_t)-62135596800LL)
#define ISO_MAX ((time_t)253402300799LL)

static bool all_digits(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!g_ascii_isdigit(text[i]))
			return false;
	return true;
}

static int digits_value(const char *text, size_t len)
{
	int value = 0;
	size_t i;

	for (i = 0; i < len; i++)
		value = value * 10 + (text[i] - '0');
	return value;
}

/* "+HH:MM", "+HHMM", "+HH", "+H" (or '-') into minutes east of UTC; false
 * if @spec is none of these or beyond MAX_OFFSET_MINUTES. */
static bool parse_offset(const char *spec, int *minutes)
{
	const char *digits = spec + 1;
	size_t len;
	int hours, mins = 0;

	if (spec[0] != '+' && spec[0] != '-')
		return false;
	len = strlen(digits);
	if (len == 5 && digits[2] == ':' && all_digits(digits, 2) &&
	    all_digits(digits + 3, 2)) {
		hours = digits_value(digits, 2);
		mins = digits_value(digits + 3, 2);
	} else if (len == 4 && all_digits(digits, 4)) {
		hours = digits_value(digits, 2);
		mins = digits_value(digits + 2, 2);
	} else if ((len == 1 || len == 2) && all_digits(digits, len)) {
		hours = digits_value(digits, len);
	} else {
		return false;
	}
	if (mins > 59 || hours * 60 + mins > MAX_OFFSET_MINUTES)
		return false;
	*minutes = (spec[0] == '-' ? -1 : 1) * (hours * 60 + mins);
	return true;
}

/* A tz database name: segments of letters, digits, '_', '+', '-' joined
 * by '/', each starting with a letter (Etc/GMT-8, America/Port-au-Prince).
 * No '.', no leading '/': never a path out of the zone directory. */
static bool looks_like_zone_name(const char *spec)
{
	bool segment_start = true;
	const char *p;

	if (strlen(spec) > MAX_ZONE_NAME)
		return false;
	for (p = spec; *p; p++) {
		if (*p == '/') {
			if (segment_start)
				return false;
			segment_start = true;
		} else if (segment_start) {
			if (!g_ascii_isalpha(*p))
				return false;
			segment_start = false;
		} else if (!g_ascii_isalnum(*p) && !strchr("_+-", *p)) {
			return false;
		}
	}
	return !segment_start;
}

/* Whether @name is a compiled zone file in the directory glib reads. glib
 * would otherwise read an unknown name as a POSIX TZ rule ("EST5" works,
 * "UTC+8" means -08:00) and warns on a file that is not one. */
static bool zone_file_exists(const char *name)
{
	const char *dir = g_getenv("TZDIR");
	char *path, magic[4];
	bool found = false;
	int fd;

	path = g_build_filename(dir && *dir ? dir : "/usr/share/zoneinfo",
				name, NULL);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		found = read(fd, magic, sizeof(magic)) == sizeof(magic) &&
			memcmp(magic, "TZif", 4) == 0;
		close(fd);
	}
	g_free(path);
	return found;
}

static GTimeZone *zone_from_identifier(const char *identifier)
{
#if GLIB_CHECK_VERSION(2, 68, 0)
	return g_time_zone_new_identifier(identifier);
#else
	return g_time_zone_new(identifier);
#endif
}

static void say_what_is_accepted(const char *spec, char *err, size_t errsize)
{
	bool printable = spec && *spec && strlen(spec) <= 64;
	const char *p;

	for (p = spec; printable && *p; p++)
		printable = g_ascii_isprint(*p);
	snprintf(err, errsize,
		 "timezone %s%s%sis not UTC, Z, an offset such as +08:00, "
		 "+0800, -05:30 or +8 (at most 14 hours), or a zone name "
		 "known to the system such as Asia/Shanghai",
		 printable ? "\"" : "", printable ? spec : "",
		 printable ? "\" " : "");
}

int pfs_apitime_zone_new(const char *spec, GTimeZone **out, char *err,
			 size_t errsize)
{
	GTimeZone *tz = NULL;
	int minutes;

	*out = NULL;
	if (!spec || !*spec) {
		/* fall through to the message */
	} else if (g_ascii_strcasecmp(spec, "UTC") == 0 ||
		   g_ascii_strcasecmp(spec, "Z") == 0 ||
		   g_ascii_strcasecmp(spec, "GMT") == 0) {
		tz = g_time_zone_new_utc();
	} else if (parse_offset(spec, &minutes)) {
		char canonical[32];

		snprintf(canonical, sizeof(canonical), "%c%02d:%02d",
			 minutes < 0 ? '-' : '+', abs(minutes) / 60,
			 abs(minutes) % 60);
		tz = zone_from_identifier(canonical);
	} else if (looks_like_zone_name(spec) && zone_file_exists(spec)) {
		tz = zone_from_identifier(spec);
	}
	if (!tz) {
		say_what_is_accepted(spec, err, errsize);
		return -EINVAL;
	}
	*out = tz;
	return 0;
}

/* "YYYY-MM-DD HH:MM:SS": which places hold digits. */
static const char api_layout[] = "dddd-dd-dd dd:dd:dd";

bool pfs_apitime_has_layout(const char *text, size_t len)
{
	size_t i;

	if (len != sizeof(api_layout) - 1)
		return false;
	for (i = 0; i < len; i++) {
		if (api_layout[i] == 'd' ? !g_ascii_isdigit(text[i])
					 : text[i] != api_layout[i])
			return false;
	}
	return true;
}

int pfs_apitime_parse(GTimeZone *tz, const char *text, size_t len,
		      struct timespec *out)
{
	GDateTime *when;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (!pfs_apitime_has_layout(text, len))
		return -EINVAL;
	/* g_date_time_new() checks every range and answers NULL, quietly */
	when = g_date_time_new(tz, digits_value(text, 4),
			       digits_value(text + 5, 2),
			       digits_value(text + 8, 2),
			       digits_value(text + 11, 2),
			       digits_value(text + 14, 2),
			       digits_value(text + 17, 2));
	if (!when)
		return -EINVAL;
	out->tv_sec = (time_t)g_date_time_to_unix(when);
	out->tv_nsec = 0;
	g_date_time_unref(when);
	return 0;
}

/* @value, 0 <= @value < 10^@width, as exactly @width digits */
static void put_digits(char *out, int value, int width)
{
	while (width-- > 0) {
		out[width] = (char)('0' + value % 10);
		value /= 10;
	}
}

void pfs_apitime_iso(time_t t, char buf[static PFS_APITIME_ISO_SIZE])
{
	struct tm tm;

	if (t < ISO_MIN)
		t = ISO_MIN;
	if (t > ISO_MAX)
		t = ISO_MAX;
	gmtime_r(&t, &tm);
	/* not strftime: its %Y does not pad years before 1000 */
	memcpy(buf, "YYYY-MM-DDTHH:MM:SSZ", PFS_APITIME_ISO_SIZE);
	put_digits(buf, tm.tm_year + 1900, 4);
	put_digits(buf + 5, tm.tm_mon + 1, 2);
	put_digits(buf + 8, tm.tm_mday, 2);
	put_digits(buf + 11, tm.tm_hour, 2);
	put_digits(buf + 14, tm.tm_min, 2);
	put_digits(buf + 17, tm.tm_sec, 2);
}
