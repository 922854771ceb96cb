/* backend.h - the CodeArts Pipeline service behind one interface.
 *
 * The cache asks for builds, latest builds, the pipeline list, run
 * histories and step logs here; which API answers (v3: backend/v3.c, v5:
 * backend/v5.c) is chosen per pipeline and hidden from everything above:
 * the cache, namespace and FUSE layers see the generic tree (model.h) and
 * the entries below, never v3 or v5 JSON. Requests go through one shared
 * transport (transport.h: limiter, credentials, errors, throttling).
 *
 * Thread-safe: every call may run on any worker at once; none holds a
 * lock across the network. Errors are -errno with @failure filled in:
 *   -ENOENT     no such pipeline, build, project or step (404, 400 when a
 *               build was named, the service's "not found" codes)
 *   -EACCES     401 or 403 (after a 401 the whole mount pauses)
 *   -EKEYREJECTED  not sent: paused after a 401 until past @deadline
 *   -EPROTO     200 with a body that is not the documented JSON
 *   -EAGAIN     429, 5xx, throttling codes
 *   -EBUSY      not sent: throttled or at a limit until past @deadline
 *   -ETIMEDOUT, -ECOMM, -EMSGSIZE   no usable response
 *   -ENOTSUP    the chosen API has no such call (the caller falls back)
 *   -EIO        anything else
 * @deadline is monotonic seconds (limiter.h's clock): no call waits past
 * it, for the limiter or the network.
 */
#ifndef PFS_BACKEND_H
#define PFS_BACKEND_H

#include <glib.h>
#include <stdbool.h>

#include "auth.h"
#include "http.h"
#include "limiter.h"
#include "model.h"

/* The API a pipeline is served with (-o api=). */
enum pfs_api_version {
	PFS_API_AUTO,	/* v5 where the CodeArts project id is known, else v3 */
	PFS_API_V3,
	PFS_API_V5,
};

struct pfs_backend;

struct pfs_backend_failure {
	char what[768];		/* e.g. "GET /v3/...: HTTP 404 DEVPIPE.00011401 not found" */
	double not_before;	/* not sent: when a request may go (monotonic), or 0 */
	unsigned credentials;	/* generation of the credentials it went with */
};

/* One pipeline of the list call (v3 POST /v3/pipelines/list, v5 POST
 * /v5/{project}/api/pipelines/list). Every string is g_malloc'd and owned
 * by the entry; a text field is NULL when missing, null, empty or not a
 * string (a number is kept as its JSON text); text is cut at an embedded
 * NUL and is not sanitized (names go through names.h). */
struct pfs_pipeline_entry {
	char *pipeline_id;	/* valid (pfs_name_is_valid_id), never NULL */
	char *name;		/* pipeline_name, or NULL */
	char *project_id;	/* valid id, or NULL (an invalid one too) */
	char *project_name;	/* or NULL */
	gint64 created_ms;	/* v5's create_time, epoch ms; 0: not given
				 * (v3 answers come newest first) */
};

/* One build of a run history (v3 build-result, v5 pipeline-runs/list);
 * strings as above, values in the v3 vocabulary whatever the API. */
struct pfs_history_entry {
	char *pipeline_id;	/* valid, never NULL */
	char *build_id;		/* valid (v5: the run number), never NULL */
	char *pipeline_name;	/* or NULL */
	char *status, *outcome;	/* or NULL */
	gint64 start_ms, end_ms; /* epoch ms; 0 when unknown */
};

void pfs_pipeline_entry_free(void *entry);
void pfs_history_entry_free(void *entry);

struct pfs_backend_config {
	const char *endpoint;	/* base URL, no trailing '/' */
	enum pfs_api_version api;
	const char *project_id;	/* -o project_id=: every pipeline's CodeArts
				 * project when nothing says otherwise, or NULL */
	GTimeZone *tz;		/* the zone of the API's text times (borrowed) */
};

/* Uses, but does not own, @http, @auth and @limiter; copies @config's
 * strings. -ENOMEM is the only error. */
int pfs_backend_new(const struct pfs_backend_config *config,
		    struct pfs_http *http, struct pfs_auth *auth,
		    struct pfs_limiter *limiter, struct pfs_backend **out);
void pfs_backend_free(struct pfs_backend *backend);

/* The API that serves a pipeline of CodeArts project @project_id (NULL:
 * not known): PFS_API_V3 or PFS_API_V5, never AUTO. The caller keeps the
 * answer for the pipeline, so that one build is never read by two APIs. */
enum pfs_api_version pfs_backend_choose(const struct pfs_backend *backend,
					const char *project_id);

/* The project -o project_id= names, or NULL. */
const char *pfs_backend_project(const struct pfs_backend *backend);

/* A build of pipeline @pipeline_id (a valid id) in project @project_id
 * (v5 needs it; NULL: the configured one): @build_id (v3 build id, v5 run
 * number) or, NULL, the latest. 0 with a new build in *@out whose
 * build_id is the one asked for (or, for the latest, the one it is, or
 * NULL when the answer names none). */
int pfs_backend_get_build(struct pfs_backend *backend, enum pfs_api_version api,
			  const char *project_id, const char *pipeline_id,
			  const char *build_id, double deadline,
			  struct pfs_build **out,
			  struct pfs_backend_failure *failure);

/* The latest build of each of @pipeline_ids (NULL-ended valid ids) in one
 * call: *@out maps each pipeline the answer names a latest build for to
 * its id (destroy it). -ENOTSUP when @api has no such call. */
int pfs_backend_get_latest_ids(struct pfs_backend *backend,
			       enum pfs_api_version api, char **pipeline_ids,
			       double deadline, GHashTable **out,
			       struct pfs_backend_failure *failure);

/* Every pipeline, every page, narrowed to @project_ids (NULL-ended; NULL
 * or empty: all the account sees; v5 needs at least one). 0 with *@out
 * a GPtrArray of struct pfs_pipeline_entry in the service's order. */
int pfs_backend_list_pipelines(struct pfs_backend *backend,
			       enum pfs_api_version api, char *const *project_ids,
			       double deadline, GPtrArray **out,
			       struct pfs_backend_failure *failure);

/* The builds of the last @days days of project @project_id's pipelines
 * (v5: of @pipeline_ids, NULL-ended, the project's pipelines; v3 asks
 * for the project at once and ignores them), newest first within a
 * pipeline. 0 with *@out a GPtrArray of struct pfs_history_entry. */
int pfs_backend_get_history(struct pfs_backend *backend,
			    enum pfs_api_version api, const char *project_id,
			    char *const *pipeline_ids, unsigned days,
			    double deadline, GPtrArray **out,
			    struct pfs_backend_failure *failure);

/* A v5 step's log: which step (every id as the run detail gives it). */
struct pfs_log_ref {
	const char *project_id;
	const char *pipeline_id;
	const char *run_id;	/* the run's 32-character pipeline_run_id */
	const char *job_run_id;	/* the job's id */
	const char *step_run_id;	/* the step's id */
};

/* One page of a step's log. */
struct pfs_log_page {
	GByteArray *text;	/* the lines as sent (JSON-unescaped bytes: NUL,
				 * invalid UTF-8 and escapes included) */
	char *start_offset;	/* as the service returned them: sent back */
	char *end_offset;	/* as they are for the next page */
	bool has_more;		/* lines exist past this page now */
};

void pfs_log_page_clear(struct pfs_log_page *page);

/* A page of @ref's log, at most PFS_LOG_PAGE_LINES lines (POST
 * .../steps/{step}/logs, sort asc): the lines from @start_offset, up to
 * @end_offset ("0": no bound). Offsets are the service's, sent as given:
 * "0" and "0" for the start, then a page's end_offset as the next
 * start_offset. *@lines (0: PFS_LOG_PAGE_LINES) is the page's size in
 * lines: a page too large to take (-EMSGSIZE, lines of a megabyte) is
 * asked again smaller, and *@lines says what worked, for the next page.
 * 0 with *@out filled in (clear it); -ENOTSUP for v3. */
#define PFS_LOG_PAGE_LINES 500
int pfs_backend_get_log(struct pfs_backend *backend, const struct pfs_log_ref *ref,
			const char *start_offset, const char *end_offset,
			unsigned *lines, double deadline, struct pfs_log_page *out,
			struct pfs_backend_failure *failure);

/* The credentials' generation (auth.h): it changes when they do. May
 * wait up to PFS_TOKEN_LOOK_WAIT_MS: call it with no lock held. */
unsigned pfs_backend_credentials(struct pfs_backend *backend);

/* The name of @api for logs and health: "v3", "v5", "auto". */
const char *pfs_backend_api_name(enum pfs_api_version api);

#endif
