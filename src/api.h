/* api.h - the CodeArts Pipeline API: the status call, its errors mapped to
 * errno values and described for the log (the caller decides what to log,
 * so that an outage is reported once, not on every read).
 * Thread-safe; holds no state but its configuration.
 */
#ifndef PFS_API_H
#define PFS_API_H

#include <glib.h>
#include <stdbool.h>

#include "auth.h"
#include "http.h"
#include "limiter.h"
#include "model.h"

struct pfs_api;

struct pfs_api_failure {
	char what[768];		/* e.g. "GET /v3/...: HTTP 404 DEVPIPE.00011401 not found" */
	double not_before;	/* not sent: when a request may go (monotonic), or 0 */
	unsigned credentials;	/* generation of the credentials it went with */
};

/* @endpoint is the base URL without a trailing '/'. The api uses, but
 * does not own, @http, @auth and @limiter. */
int pfs_api_new(const char *endpoint, struct pfs_http *http,
		struct pfs_auth *auth, struct pfs_limiter *limiter,
		struct pfs_api **out);
void pfs_api_free(struct pfs_api *api);

/* GET /v3/pipelines/@pipeline_id/status[?build_id=@build_id]; @build_id
 * NULL asks for the latest build. Both ids must pass
 * pfs_name_is_valid_id(). Waits for the limiter (and, when throttled,
 * retries) only until @deadline (monotonic seconds). Returns 0 with a new
 * build in *out, or, with @failure filled in:
 *   -ENOENT     404, or 400 when a build was named
 *   -EACCES     401 or 403 (the whole mount pauses)
 *   -EKEYREJECTED  not sent: paused after a 401/403 until past @deadline
 *   -EPROTO     200 with a body that is not the documented JSON
 *   -EAGAIN     429 or 5xx
 *   -EBUSY      not sent: throttled or at a limit until past @deadline
 *   -ETIMEDOUT, -ECOMM, -EMSGSIZE   no usable response
 *   -EIO        any other status */
int pfs_api_get_status(struct pfs_api *api, const char *pipeline_id,
		       const char *build_id, double deadline,
		       struct pfs_build **out, struct pfs_api_failure *failure);

/* The batch call GET /v3/pipelines/status?pipeline_ids=@pipeline_ids
 * (a NULL-ended list of valid ids): *out maps each pipeline the answer
 * names a latest build for to that build's id (destroy it when done).
 * Errors as pfs_api_get_status(). */
int pfs_api_get_latest_ids(struct pfs_api *api, char **pipeline_ids,
			   double deadline, GHashTable **out,
			   struct pfs_api_failure *failure);

/* POST /v3/pipelines/list, every page (lists.h: PFS_LISTS_PAGE a page,
 * until an empty page or the total), narrowed to @project_ids (a
 * NULL-ended list, in calls of at most 10 projects) unless NULL or
 * empty. 0 with *@out a GPtrArray of struct pfs_pipeline_entry (lists.h)
 * in the service's order (unref it); else as pfs_api_get_status() (an
 * error in a 200 body included: -ENOENT, -EACCES, -EIO or -EAGAIN). */
int pfs_api_list_pipelines(struct pfs_api *api, char *const *project_ids,
			   double deadline, GPtrArray **out,
			   struct pfs_api_failure *failure);

/* GET /v3/pipelines/build-result for CodeArts project @project_id over
 * the last @days days (in windows of at most 28 days, newest first,
 * every page; times read in @tz). 0 with *@out a GPtrArray of struct
 * pfs_history_entry (lists.h), newest window first and in the service's
 * order within one (newest first); else as pfs_api_list_pipelines(). */
int pfs_api_get_history(struct pfs_api *api, const char *project_id,
			unsigned days, GTimeZone *tz, double deadline,
			GPtrArray **out, struct pfs_api_failure *failure);

/* The generation of the credentials (auth.h): it changes when they do.
 * May wait up to PFS_TOKEN_LOOK_WAIT_MS for the file to be looked at:
 * call it with no lock held. */
unsigned pfs_api_credentials(struct pfs_api *api);

#endif
