/* v5.h - the v5 API (../shared/api/README.md section 2): its answers read
 * into what backend.h hands up. The calls themselves are backend.h's,
 * served by v5.c. Pure parsing: thread-safe, no state.
 */
#ifndef PFS_V5_H
#define PFS_V5_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "model.h"

/* --- The run detail (v5_model.c) ---------------------------------------
 *
 * Reads @len bytes of @body (GET /v5/{project}/api/pipelines/{pipeline}/
 * pipeline-runs/detail), which need not be NUL-terminated: nothing past
 * body[len - 1] is read, and only whitespace may follow the JSON object.
 * The tree is v3's (v3.h), so that what reads a v3 build reads this one:
 *   build dir   status, outcome, pipeline_id, pipeline_name (the run's
 *               name), executor (executor_name), build_id (run_number),
 *               start_time, end_time, elapsed_time, detail_url; the v5
 *               extras pipeline_run_id (id), v5_status, start_time_ms,
 *               end_time_ms, trigger_type, executor_id, project_id,
 *               description; parameters/ (build_params), status.json,
 *               summary, events, wait, stages/, failed/
 *   stages/<stage>/          id, name, type, status, outcome, start_time,
 *               end_time, elapsed_time, error_code, error_msg, detail_url,
 *               v5_status, identifier, sequence, parallel, start_time_ms,
 *               end_time_ms; tasks/ (its jobs), gates/ (pre[] and post[])
 *   .../tasks/<job>/         the stage's fields but parallel, then
 *               message, async, log (its steps' logs in order,
 *               PFS_NODE_LOG); steps/ (its steps)
 *   .../steps/<step>/, .../gates/<gate>/   id, name, task, business_type,
 *               sequence, status, outcome, v5_status, start_time,
 *               end_time, elapsed_time, start_time_ms, end_time_ms,
 *               error_code, error_msg, message, gate (a gate's only: "pre"
 *               or "post"), log (the step's log, PFS_NODE_LOG)
 * Each stage, job, step and gate is named after its name, else its
 * identifier, else its id, else its place (1, 2...), made safe and unique
 * (names.h), and is a time group (model.h).
 *
 * Statuses (the run's, a stage's, a job's, a step's alike) become the v3
 * vocabulary in status/outcome; the raw value is v5_status:
 *   RUNNING, ASYNC_RUNNING, REDISPATCH   running
 *   COMPLETED                            completed  success
 *   FAILED, ASYNC_FAILED                 completed  error
 *   CANCELED                             completed  aborted
 *   SKIPPED, UNSELECTED                  completed  skipped
 *   IGNORED                              completed  ignored
 *   QUEUED, INIT                         waiting
 *   PAUSED                               verifying
 *   SUSPEND                              suspending
 * matched without regard to ASCII case; null or missing: both empty; any
 * other value: status the value (its JSON text if not a string) in lower
 * case, outcome empty, so a wait on it goes on until a known end.
 *
 * Times come as epoch milliseconds (an integer, or a string of digits)
 * and show as v3's text, "YYYY-MM-DD HH:MM:SS" in @tz (borrowed, not
 * NULL: -o timezone=), empty when 0, missing, or no time from 1970 to
 * what an mtime can hold (2262-04-11 23:47:16 UTC); the _ms files hold
 * the value as received. elapsed_time is
 * end - start in milliseconds when both are times and end is not before
 * start, else empty.
 *
 * A `message` (a job's failure text) that is a JSON object with
 * errorMessage or errorCode, as text or as an object, is split into
 * error_msg and error_code; any other message is error_msg as is, and
 * error_code is empty.
 *
 * On success *@out holds a new build with one reference for the caller;
 * its build_id is run_number and its pipeline_id the body's when they are
 * valid ids (bad_identity when either holds something no id can be),
 * completed when the run's mapped status is "completed", outcome the
 * mapped outcome. On a body that is not the documented shape (not a JSON
 * object, a list that is not an array of objects, more nodes than any
 * real build: pfs_tree_full) returns -EPROTO and writes a one-line reason
 * to @err; -ENOMEM on allocation failure. *@out is NULL on any error. */
int pfs_v5_model_parse(const char *body, size_t len, GTimeZone *tz,
		       struct pfs_build **out, char *err, size_t errsize);

/* A v5 status value (@len bytes of @text, NULL: none) in the v3
 * vocabulary (the table above): *@status and *@outcome g_malloc'd (NUL
 * after them), NULL when there is none (no value; a status without an
 * outcome). Known values match ignoring ASCII case; an unknown one is
 * itself lower-cased, every byte of it (NULs too: "completed\0x" must
 * not read as "completed"), with no outcome. Returns *@status's length. */
size_t pfs_v5_status_map(const char *text, size_t len, char **status,
			 char **outcome);

/* A run number as the detail call is asked with it and a run's directory
 * is named: an integer > 0, or its decimal text (no sign, no leading
 * zero, at most 19 digits); a g_malloc'd string, else NULL. */
struct json_object;
char *pfs_v5_run_number(struct json_object *value);

/* --- The list answers and a log page (v5_lists.c) ----------------------
 *
 * The pipeline list (POST /v5/{project}/api/pipelines/list), a pipeline's
 * runs (POST .../pipelines/{id}/pipeline-runs/list) and one page of a
 * step's log (POST .../steps/{step}/logs): their answers as backend.h's
 * entries, and their request bodies.
 *
 * Pure parsing and formatting, as lists.h: no I/O, no globals, no locks.
 * Bodies are untrusted (fuzzed: tests/fuzz/fuzz_v5_lists.c), need not be
 * NUL-terminated and are never read past @len; any field may be null,
 * missing, of another JSON type or beside unknown keys. An item that
 * cannot be used (no valid id, no run number) is skipped; only a body
 * that is not the documented frame fails, with nothing appended and a
 * one-line reason in @err that never quotes the body (a log's text stays
 * out of the log):
 *   -EMSGSIZE  @len over the limit below: refused unread
 *   -EPROTO    not one JSON object (garbage, truncated, nested deeper
 *              than 32, text after it), or a frame field of a wrong type.
 */

/* A page of 100 runs is a few hundred kilobytes at most. */
#define PFS_V5_MAX_LIST_BODY (4u << 20)
/* One page of a log: 500 lines of 16 KiB each. A page of longer lines is
 * asked again with fewer lines (v5.c), down to one line a page. */
#define PFS_V5_MAX_LOG_BODY (8u << 20)
/* Items asked for per page (the answer may hold fewer; paging goes on
 * by what it holds). */
#define PFS_V5_PIPELINES_PAGE 50
#define PFS_V5_RUNS_PAGE 100
/* A larger "total" reads as this: offsets stay far from overflow. */
#define PFS_V5_MAX_TOTAL 1000000L
/* A log offset the service returns is kept when it is an integer or a
 * string of at most this many printable ASCII bytes other than '"' and
 * '\\' (so it goes back in a request without escaping). */
#define PFS_V5_MAX_OFFSET 128

/* What a list page said besides its items. */
struct pfs_v5_page {
	long total;		/* "total", 0..PFS_V5_MAX_TOTAL */
	size_t items;		/* elements of its array, usable or not:
				 * the next page starts that much further */
	gint64 oldest_ms;	/* runs: the earliest start_time > 0 among
				 * them (epoch ms), 0 if none */
};

/* Reads an answer {offset, limit, total, pipelines[]} of the pipeline
 * list of project @project_id (a valid id): appends a struct
 * pfs_pipeline_entry per item with a valid pipeline_id to @into (made
 * with pfs_pipeline_entry_free as its free function), in the answer's
 * order: name from "name", project_id and project_name from the item
 * (project_id @project_id when the item has no valid one). "pipelines"
 * null or missing is an empty page; "total" must be a whole number >= 0. */
int pfs_v5_parse_pipelines(const char *body, size_t len, const char *project_id,
			   GPtrArray *into, struct pfs_v5_page *page,
			   char *err, size_t errsize);

/* Reads an answer {offset, limit, total, pipeline_runs[]} of pipeline
 * @pipeline_id's runs: a struct pfs_history_entry per item with a run
 * number (an integer > 0, or its decimal text without leading zeros)
 * that names no other pipeline, appended to @into (free function
 * pfs_history_entry_free): build_id the run number as decimal text,
 * status and outcome in the v3 vocabulary (mapped as the run detail's
 * are: empty ones NULL), start_ms and end_ms from the int64 times
 * (0 when missing, negative or not a number), pipeline_name NULL. */
int pfs_v5_parse_runs(const char *body, size_t len, const char *pipeline_id,
		      GPtrArray *into, struct pfs_v5_page *page, char *err,
		      size_t errsize);

/* Reads a log page {has_more, start_offset, end_offset, log} into *@out
 * (clear it with pfs_log_page_clear; on failure it is left empty): the
 * text exactly as the JSON string holds it once unescaped (NUL, invalid
 * UTF-8 and control bytes kept), the offsets as received (an integer as
 * its decimal text), has_more a boolean or "true"/"false" (null or
 * missing: false). "log" null or missing is no text. -EPROTO when an
 * offset is missing or not as PFS_V5_MAX_OFFSET says, "log" is not a
 * string or has_more not a truth value; -EMSGSIZE over
 * PFS_V5_MAX_LOG_BODY. */
int pfs_v5_parse_log(const char *body, size_t len, struct pfs_log_page *out,
		     char *err, size_t errsize);

/* The JSON request bodies (g_malloc'd; g_free them), or NULL when
 * @offset is outside 0..PFS_V5_MAX_TOTAL:
 *   pipelines  {"offset":N,"limit":50}
 *   runs       {"offset":N,"limit":100,"sort_key":"start_time","sort_dir":"desc"} */
char *pfs_v5_pipelines_request(long offset);
char *pfs_v5_runs_request(long offset);

/* The request for a log page from @start_offset to @end_offset (NULL:
 * "0"), at most @limit lines (1..PFS_LOG_PAGE_LINES), oldest first:
 *   {"start_offset":"S","end_offset":"E","limit":L,"sort":"asc"}
 * Both "0": from the start; the page after one that ended at E is asked
 * with S = E and E = "0" (no bound), as the simulator's page() reads them.
 * NULL when an offset is not one PFS_V5_MAX_OFFSET allows or @limit is
 * out of range. */
char *pfs_v5_log_request(const char *start_offset, const char *end_offset,
			 unsigned limit);

#endif
