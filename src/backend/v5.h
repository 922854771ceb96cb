/* v5.h - the v5 API (../shared/api/README.md section 2): its answers read
 * into what backend.h hands up. The calls themselves are backend.h's,
 * served by v5.c. Pure parsing: thread-safe, no state.
 */
#ifndef PFS_V5_H
#define PFS_V5_H

#include <glib.h>
#include <stddef.h>

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
 * NULL: -o timezone=), empty when 0, missing or no time of years 1970 to
 * 9999; the _ms files hold the value as received. elapsed_time is
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

#endif
