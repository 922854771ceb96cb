/* events.h - the `events` files: what changed in a build, as lines.
 *
 * One line per observed change of a field (a file of the build, of a
 * stage or of a task):
 *
 *   TIME<TAB>PATH<TAB>FIELD<TAB>OLD<TAB>NEW<LF>
 *
 * TIME is ISO 8601 UTC to the second, PATH the field's directory relative
 * to the build ("." for the build's own), preceded by the caller's prefix
 * for the pipeline's and the mount's merged logs ("22", "22/stages/x").
 * Values are the field's text without its newline, with '\\', TAB, LF and
 * CR escaped as \\\\, \\t, \\n and \\r; empty for null (and OLD when first
 * seen).
 *
 * An event log is append-only: bytes once written never change, so
 * `tail -f` and `tail -c +N` can follow it. The pipeline's and the
 * mount's logs are merged from many builds; to stay bounded they are
 * rotated past a limit as logrotate's copytruncate does: the oldest half
 * goes, the file gets shorter, and `tail -f` says "file truncated" and
 * follows on.
 */
#ifndef PFS_EVENTS_H
#define PFS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "model.h"

/* The lines of a build first seen at @t (epoch seconds): status and
 * outcome of the build, then (unless @build_only) of each stage and task
 * in tree order. @prefix: "" for the build's own log, else what PATH
 * starts with. Appended to @out. */
void pfs_events_first_seen(GString *out, const struct pfs_build *build,
			   int64_t t, const char *prefix, bool build_only);

/* The lines for every field of @now that differs from @before (a field
 * added or gone: one side empty), seen at @t. Returns how many. */
unsigned pfs_events_diff(GString *out, const struct pfs_build *before,
			 const struct pfs_build *now, int64_t t,
			 const char *prefix);

/* Longest value a line shows, in bytes; a longer one is cut (on a
 * character) and followed by "... (N bytes)". */
#define PFS_EVENTS_VALUE_MAX 1024

/* One line about something other than a build's field: e.g. PATH
 * "latest", FIELD "build_id". @old/@new may be NULL (empty). */
void pfs_events_line(GString *out, int64_t t, const char *path,
		     const char *field, const char *old, const char *new);

/* An append-only log, rotated past a limit. A plain value: zero is an
 * empty log. Not locked: its owner's lock guards it. */
struct pfs_event_log {
	GString *text;		/* NULL before the first line */
	int64_t changed_ns;	/* epoch ns of the last append, 0 if never */
};

/* Appends @len bytes (whole lines) seen at @now_ns (the log's time only
 * moves forward). Past @max bytes: with @rotate the older half goes
 * (whole lines, never the last); without, nothing is appended and false
 * returned: a log whose bytes must never change is full. */
bool pfs_event_log_append(struct pfs_event_log *log, const char *lines,
			  size_t len, size_t max, bool rotate, int64_t now_ns);
size_t pfs_event_log_size(const struct pfs_event_log *log);
/* A copy of at most @size bytes at @off in *@data (g_free it), *@len
 * long; NULL and 0 past the end. */
void pfs_event_log_read(const struct pfs_event_log *log, uint64_t off,
			size_t size, char **data, size_t *len);
void pfs_event_log_clear(struct pfs_event_log *log);

#endif
