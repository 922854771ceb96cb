/* apitime.h - the API's times ("2026-11-27 16:40:51", local time with no
 * zone) read in the zone of -o timezone=, and times written for people
 * and logs as ISO 8601 UTC.
 *
 * Calendar and zone rules are glib's (GTimeZone, GDateTime), never our
 * own arithmetic. Every function here is pure and thread-safe; a
 * GTimeZone is immutable and may be shared by threads.
 */
#ifndef PFS_APITIME_H
#define PFS_APITIME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <glib.h>

/* The service's own zone (China Standard Time), used when -o timezone=
 * is not given. */
#define PFS_APITIME_DEFAULT_ZONE "+08:00"

/* Length of "2026-11-30T12:34:56Z" with its NUL. */
#define PFS_APITIME_ISO_SIZE 21

/* Reads the zone @spec into *@out, a new GTimeZone for the caller to
 * g_time_zone_unref(). Accepted, and nothing else:
 *   UTC, Z, GMT (any case)                          offset 0
 *   +HH:MM, -HH:MM, +HHMM, -HHMM, +HH, +H, -H        fixed offsets up to
 *                                                    14:00 either way
 *   a tz database name, e.g. Asia/Shanghai, Etc/GMT-8: a TZif file under
 *   $TZDIR (default /usr/share/zoneinfo), so daylight saving applies.
 * Not accepted: a sign-less number, POSIX TZ rules ("CST-8", where the
 * sign means the opposite of +08:00), "UTC+8", paths, names with "." .
 * -EINVAL, with a one-line message in @err saying what is accepted, for
 * anything else (NULL and "" included). */
int pfs_apitime_zone_new(const char *spec, GTimeZone **out, char *err,
			 size_t errsize);

/* Whether @len bytes of @text have the layout "YYYY-MM-DD HH:MM:SS"
 * (digits where shown, nothing more; ranges are not checked). Such times
 * of one zone sort as text in time order. */
bool pfs_apitime_has_layout(const char *text, size_t len);

/* Reads @len bytes of @text (no NUL needed) as "YYYY-MM-DD HH:MM:SS" in
 * @tz: exactly that, digits where shown, optionally followed by one
 * newline (a field file's content). On success *@out holds the instant
 * (tv_nsec 0). -EINVAL for anything else: empty, other layouts, a date
 * or time that does not exist (2026-02-30, 24:00:00, 60 seconds), year 0.
 * A local time skipped by a daylight saving change is taken as glib
 * does (moved forward); an ambiguous one as its first occurrence. */
int pfs_apitime_parse(GTimeZone *tz, const char *text, size_t len,
		      struct timespec *out);

/* Writes @t as "2026-11-30T12:34:56Z" (UTC, seconds). Times before year 1
 * or after 9999 are written as the nearest of those bounds, so the text
 * always has this length. */
void pfs_apitime_iso(time_t t, char buf[static PFS_APITIME_ISO_SIZE]);

#endif
