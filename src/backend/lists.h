/* lists.h - the v3 list answers (as backend.h's entries): every pipeline (POST /v3/pipelines/list)
 * and a project's run history (GET /v3/pipelines/build-result), their
 * requests, the date windows history is asked in, and errors carried in
 * a body whatever the HTTP status.
 *
 * Pure parsing and formatting: no I/O, no globals, no locks; every
 * function is thread-safe. Bodies are untrusted (fuzzed: tests/fuzz/
 * fuzz_lists.c): any field may be null, missing, of another JSON type or
 * beside unknown keys. An item that cannot be used (no valid id) is
 * skipped; only a body that is not the documented shape at all fails,
 * with -EPROTO and a one-line reason in @err. Bodies need not be
 * NUL-terminated and are never read past @len.
 */
#ifndef PFS_LISTS_H
#define PFS_LISTS_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

#include "backend.h"

/* A page of 50 or 100 items is tens of kilobytes; a body over this is
 * refused unread (-EMSGSIZE), so a hostile one costs no parsing. */
#define PFS_LISTS_MAX_BODY (2u << 20)
/* Items per page of the list call (the service accepts 10..50). */
#define PFS_LISTS_PAGE 50
/* Items per page of build-result (the service accepts 1..100). */
#define PFS_LISTS_HISTORY_PAGE 100
/* project_ids the list call accepts at once. */
#define PFS_LISTS_MAX_PROJECTS 10
/* Longest history window, in calendar days counted inclusively. The
 * service allows "one month"; 28 days is within that for every month. */
#define PFS_LISTS_WINDOW_DAYS 28
/* A larger "total" is read as this: the caller's offset arithmetic stays
 * far from overflow (it stops at an empty page anyway). */
#define PFS_LISTS_MAX_TOTAL 1000000L

/* One date window of build-result: "YYYY-MM-DD", both ends inclusive,
 * start <= end, at most PFS_LISTS_WINDOW_DAYS days. */
struct pfs_history_window {
	char start[11];
	char end[11];
};

/* Reads @len bytes of @body, an answer {offset, limit, total, result[]}
 * of the list call: appends one entry per usable item to @into (in the
 * answer's order; the caller made @into with pfs_pipeline_entry_free as
 * its free function) and sets *@total (0..PFS_LISTS_MAX_TOTAL). "result"
 * null or missing is an empty page. Returns 0, or with @err set and
 * nothing appended:
 *   -EMSGSIZE  @len over PFS_LISTS_MAX_BODY
 *   -EPROTO    not one JSON object (garbage, truncated, nested deeper than
 *              32, text after it); "total" missing or not a whole number
 *              >= 0 (a string is not one); "result" not an array.
 * An error body ({"error_code": ...}) fails with -EPROTO too: ask
 * pfs_lists_body_error() first to tell the service's error apart. */
int pfs_lists_parse_pipelines(const char *body, size_t len, GPtrArray *into,
			      long *total, char *err, size_t errsize);

/* The same for build-result {offset, limit, total, build_results[]}, with
 * items of struct pfs_history_entry (@into's free function
 * pfs_history_entry_free); times are read in @tz (the service's zone,
 * apitime.h). */
int pfs_lists_parse_history(const char *body, size_t len, GTimeZone *tz,
			    GPtrArray *into, long *total, char *err,
			    size_t errsize);

/* The JSON request body of the list call for the page at item @offset,
 * PFS_LISTS_PAGE items, narrowed to @project_ids (a NULL-ended list) when
 * that is not NULL and not empty: e.g.
 *   {"offset":0,"limit":50,"project_ids":"a,b"}
 * A g_malloc'd string (g_free it), or NULL when @offset < 0 or
 * > PFS_LISTS_MAX_TOTAL, when there are more than PFS_LISTS_MAX_PROJECTS
 * projects (split them with pfs_lists_project_batches()), or when one is
 * not a valid id. */
char *pfs_lists_pipelines_request(long offset, char *const *project_ids);

/* @project_ids (a NULL-ended list) in order, duplicates dropped, as
 * batches of at most PFS_LISTS_MAX_PROJECTS: a GPtrArray of NULL-ended
 * g_strv lists (its free function g_strfreev; the caller unrefs it).
 * Empty for NULL or an empty list. One list call per batch covers them. */
GPtrArray *pfs_lists_project_batches(char *const *project_ids);

/* Date windows covering every instant of the last @days days up to
 * @now_ms (epoch ms) in @tz: the dates from that of now - @days x 24 h to
 * today, both inclusive (so @days + 1 dates), split into windows of at
 * most PFS_LISTS_WINDOW_DAYS days, newest first, each starting the day
 * after the next one ends. A GPtrArray of struct pfs_history_window (free
 * function g_free). Empty for @days 0 or a @now_ms glib cannot represent;
 * @days reaching before year 1 is cut there. Calendar rules are glib's. */
GPtrArray *pfs_lists_history_windows(gint64 now_ms, GTimeZone *tz,
				     unsigned days);

/* The query of build-result (without '?') for @project_id's builds in
 * @window from item @offset, PFS_LISTS_HISTORY_PAGE a page:
 *   project_id=P&start_date=D&end_date=D&offset=N&limit=100
 * g_malloc'd, or NULL when @project_id is not a valid id or @offset is
 * outside 0..PFS_LISTS_MAX_TOTAL. */
char *pfs_lists_history_query(const char *project_id,
			      const struct pfs_history_window *window,
			      long offset);

/* Whether @body (@len bytes, any HTTP status) is an error of either shape
 *   {"error_code": CODE, "error_msg": MSG}
 *   {"error": {"code": CODE, "message": MSG}}      (IAM, gateways)
 * that is: one JSON object whose CODE is a non-empty string or a number
 * and that has none of the data keys result, build_results, states,
 * pipeline_id (a status body with "error_code": null is data, not an
 * error). When true, *@code and *@msg (either may be NULL; @code or @msg
 * itself may be NULL when not wanted) are g_malloc'd, made printable
 * as the log does (log.h: control characters and bytes that are not UTF-8
 * as '?', secrets redacted) and cut to 64 and 512 bytes: the service's text is safe to log and show in health. When false
 * both are set to NULL. Bodies over PFS_LISTS_MAX_BODY are not errors. */
bool pfs_lists_body_error(const char *body, size_t len, char **code,
			  char **msg);

/* Whether @code (NULL is fine) says the service throttled the request,
 * whatever the HTTP status: COCT.0070003 (sent with 500), APIG.0308 and
 * APIGW.0308 (ASCII case ignored). */
bool pfs_lists_is_throttling_code(const char *code);

#endif
