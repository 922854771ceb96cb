/* summary.h - a build at a glance: what failed, and one-screen text views
 * of a build, of a pipeline's builds and of the mount's pipelines.
 *
 * Everything here reads a parsed build (model.h) through its nodes, child
 * links and file contents only: never its index (by_hash), identity
 * fields or nodes other than the documented fields, "stages" and "tasks".
 * So a view of a build still being assembled works, and nodes added later
 * (failed/, summary, events) change nothing here.
 *
 * A stage or task has failed when its outcome is "error" or its
 * error_code or error_msg is not empty.
 *
 * Text made here is UTF-8 whatever the API sent: a value shows up to its
 * first line break (the first non-empty line of an error_msg), and
 * control characters (C0, DEL, C1, U+2028/9, bidirectional controls) and
 * bytes that are not UTF-8 each become '?'. An empty or missing value shows as "-". Names are the
 * safe directory names (names.h), shown as themselves.
 *
 * Pure functions of their arguments; no locking; returned text belongs to
 * the caller (g_free), marks are static.
 */
#ifndef PFS_SUMMARY_H
#define PFS_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "model.h"

/* Column widths of the summary lines, in terminal cells: values that are
 * longer push the line on, but stay one word (spaces in a column's value
 * show as '_'), so `awk '{print $2}'` is the status of every stage and
 * task line. */
#define PFS_SUMMARY_STATUS_WIDTH 10	/* "suspending" */
#define PFS_SUMMARY_OUTCOME_WIDTH 7	/* "success", "aborted" */
#define PFS_SUMMARY_ELAPSED_WIDTH 6	/* "59m59s", right-aligned */
#define PFS_SUMMARY_BUILD_ID_WIDTH 6
#define PFS_SUMMARY_NAME_WIDTH 24	/* pipeline names at the root */

/* The last line of a build's summary while it is not completed. */
#define PFS_SUMMARY_WAIT_HINT "(cat wait to block until it completes)\n"

/* The mark of a build, stage or task, a static UTF-8 string:
 *   "✗" if @failed or outcome is error, "✓" outcome success,
 *   "–" outcome aborted, "●" status running, "○" status waiting,
 *   "·" anything else (including verifying, suspending, unknown).
 * @status and @outcome are values as in the field files (one trailing
 * newline is ignored); NULL is empty. */
const char *pfs_summary_mark(const char *status, const char *outcome,
			     bool failed);

/* Whether the stage or task directory @dir of @build has failed. */
bool pfs_summary_node_failed(const struct pfs_build *build, uint32_t dir);

/* Called once per failed stage or task, in tree order (a stage, then its
 * tasks): @entry is its name in failed/ and @target the symlink's
 * relative target, both NUL-terminated and valid only during the call;
 * @dir is the failed directory's node. A non-zero return stops the walk
 * and is returned by pfs_summary_failures(). */
typedef int (*pfs_summary_failure_fn)(const char *entry, const char *target,
				      uint32_t dir, void *ctx);

/* Walks the failures of @build's stages and of their tasks (and of a
 * task's own tasks: "<s>:<t>:<u>", "../stages/<s>/tasks/<t>/tasks/<u>"):
 *   stage "<s>"          entry "<s>"      target "../stages/<s>"
 *   task "<t>" of "<s>"  entry "<s>:<t>"  target "../stages/<s>/tasks/<t>"
 * with <s>, <t> the directory names. Entries are unique and at most
 * PFS_NAME_MAX bytes: one that is too long is cut, and one equal to an
 * earlier entry (a stage itself named "a:b", or two cut alike) gets "~N"
 * as names.h makes names unique. The same build always gives the same
 * entries. Returns 0, or what @fn returned to stop. */
int pfs_summary_failures(const struct pfs_build *build,
			 pfs_summary_failure_fn fn, void *ctx);

/* The build's summary file, a new buffer (NUL-ended, *@len bytes without
 * the NUL) for g_free():
 *   <pipeline_name> #<build_id>  <status> <outcome>  <start> → <end>  <elapsed>
 * then per stage, and per task indented by two more spaces:
 *   <mark> <status> <outcome> <elapsed> <name>[  — <error_msg line>]
 * status, outcome and elapsed in the column widths above; elapsed from
 * elapsed_time in milliseconds as 9s, 3m12s, 1h05m (as sent if it is not
 * a number of milliseconds); the error text of a failure is the first
 * line of error_msg, else its error_code. A build not completed ends with
 * PFS_SUMMARY_WAIT_HINT. @build_id is the build's directory name; NULL
 * for the body's build_id field. */
char *pfs_summary_build(const struct pfs_build *build, const char *build_id,
			size_t *len);

/* What a build's history says of it (cache.h), for a build not cached:
 * its fields as the API writes them, any of them NULL. */
struct pfs_summary_brief {
	const char *status;
	const char *outcome;
	const char *start_time;		/* "YYYY-MM-DD HH:MM:SS" */
	const char *elapsed_time;	/* milliseconds */
};

/* Appends the pipeline summary's line for build @build_id, @build its
 * cached copy or NULL when there is none (its columns then come from
 * @brief, or show "-"), of the pipeline called @name (the pipeline list's;
 * NULL: the build's pipeline_name, else "-"), last so that awk's columns
 * stay put:
 *   <build_id> <mark> <status> <outcome> <start_time> <elapsed> <name>\n */
void pfs_summary_pipeline_line(GString *out, const char *build_id,
			       const struct pfs_build *build,
			       const struct pfs_summary_brief *brief,
			       const char *name);

/* Orders builds for the pipeline summary, newest first: both ids numbers
 * -> the larger first; else the later start_time first (a build with none
 * or not cached last); else by id, larger first. qsort-style result. */
int pfs_summary_compare_builds(const char *id_a, const struct pfs_build *a,
			       const char *id_b, const struct pfs_build *b);

/* Appends the root summary's line for pipeline @pipeline_id called @name
 * (the pipeline list's; NULL: the build's pipeline_name), whose latest
 * build is @latest_build_id (NULL when unknown) and @build that build's
 * cached copy (NULL when there is none):
 *   <pipeline_id> <pipeline_name> <latest> <mark> <status> <outcome> <time>\n
 * time being the build's end_time, else its start_time. The name is
 * padded to PFS_SUMMARY_NAME_WIDTH cells, spaces in it shown as '_'. */
void pfs_summary_root_line(GString *out, const char *pipeline_id,
			   const char *name, const char *latest_build_id,
			   const struct pfs_build *build);

#endif
