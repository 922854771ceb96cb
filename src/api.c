/* api.c - see api.h */
#include "api.h"
#include "lists.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <glib.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

/* Throttled answers waited out within one call, at most. */
#define MAX_THROTTLED_ATTEMPTS 5
/* A request for a reader ends this long before the reader's deadline. */
#define DEADLINE_MARGIN_MS 100

struct pfs_api {
	char *endpoint;
	struct pfs_http *http;
	struct pfs_auth *auth;
	struct pfs_limiter *limiter;
	/* after a 401/403: the token generation that was refused; the
	 * mount's pause ends as soon as the token changes */
	int refused;		/* atomic: a refusal pause may be on */
	unsigned refused_generation;
};

int pfs_api_new(const char *endpoint, struct pfs_http *http,
		struct pfs_auth *auth, struct pfs_limiter *limiter,
		struct pfs_api **out)
{
	struct pfs_api *api = g_new0(struct pfs_api, 1);

	api->endpoint = g_strdup(endpoint);
	api->http = http;
	api->auth = auth;
	api->limiter = limiter;
	*out = api;
	return 0;
}

void pfs_api_free(struct pfs_api *api)
{
	if (!api)
		return;
	g_free(api->endpoint);
	g_free(api);
}

/* One call: what is sent, and how its answer is judged. */
struct call {
	const char *method;	/* "GET" or "POST" */
	const char *path;	/* and query: for the URL and the log */
	const char *body;	/* POST body, or NULL */
	bool named_build;	/* a 400 means "no such build" */
};

/* Describes a failed call with what the service said (@code, @msg: the
 * error in its body, either shape, already made printable), and counts it. */
static void describe_error(const struct call *call,
			   const struct pfs_http_response *resp,
			   const char *code, const char *msg,
			   struct pfs_api_failure *failure)
{
	pfs_stats_request_end(PFS_STATS_HTTP_ERROR, resp->status, code, msg);
	if (!code && !msg) {
		/* not the service's shape: a proxy's page, perhaps one that
		 * echoes the request (and its token) back; say only its size */
		snprintf(failure->what, sizeof(failure->what),
			 "%s %s: HTTP %ld, a %zu-byte body that is not the "
			 "service's error", call->method, call->path,
			 resp->status, resp->body_len);
		return;
	}
	snprintf(failure->what, sizeof(failure->what), "%s %s: HTTP %ld %s %s",
		 call->method, call->path, resp->status, code ? code : "-",
		 msg ? msg : "");
}

/* The service's codes for "no such thing" (../shared/api/README.md,
 * section 5): pipeline, project, or a project that does not own it. */
static bool is_not_found_code(const char *code)
{
	static const char *const codes[] = {
		"DEVPIPE.00011401", "DEVPIPE.00011412", "DEVPIPE.00011136",
		"DEVPIPE.30021001", NULL };
	const char *const *c;

	for (c = codes; code && *c; c++)
		if (strcmp(code, *c) == 0)
			return true;
	return false;
}

static int status_to_errno(long status, const char *code, bool named_build)
{
	if (pfs_lists_is_throttling_code(code))
		return -EAGAIN;
	if (status == 404 || (status == 400 && named_build) ||
	    is_not_found_code(code))
		return -ENOENT;
	if (status == 401 || status == 403)
		return -EACCES;
	if (status == 200)	/* an error in a 200 body: no permission and such */
		return code && strstr(code, "00014031") ? -EACCES : -EIO;
	if (status == 429 || (status >= 500 && status <= 599))
		return -EAGAIN;
	return -EIO;
}

static int parse_body(const char *path, const struct pfs_http_response *resp,
		      struct pfs_build **out, struct pfs_api_failure *failure)
{
	char err[256];
	int res = pfs_model_parse(resp->body, resp->body_len, out, err, sizeof(err));

	if (res < 0)
		snprintf(failure->what, sizeof(failure->what),
			 "GET %s: HTTP 200 with an unusable body: %s", path, err);
	return res;
}

/* An answer about another build, or naming its build with something no
 * id can be (a misrouted proxy, a bug upstream), answers nothing asked:
 * as any unusable body it must not replace a good copy. A null or missing
 * id is fine (the API document's own example has them). */
static int check_identity(const char *path, const struct pfs_build *build,
			  const char *pipeline_id, const char *build_id,
			  struct pfs_api_failure *failure)
{
	const char *why = NULL;

	if (build->bad_identity)
		why = "names its build or pipeline with no usable id";
	else if (build->pipeline_id && strcmp(build->pipeline_id, pipeline_id) != 0)
		why = "is about another pipeline";
	else if (build_id && build->build_id && strcmp(build->build_id, build_id) != 0)
		why = "is about another build";
	if (!why)
		return 0;
	snprintf(failure->what, sizeof(failure->what),
		 "GET %s: HTTP 200 with an unusable body: it %s", path, why);
	return -EPROTO;
}

/* Throttling, not an outage: 429, a 503 that says when to come back, and
 * the codes the gateway and the service throttle with, whatever the
 * status (COCT.0070003 comes with 500, APIG.0308 with 429 or 200). */
static bool is_throttling(const struct pfs_http_response *resp, const char *code)
{
	return resp->status == 429 || (resp->status == 503 && resp->retry_after >= 0) ||
	       pfs_lists_is_throttling_code(code);
}

/* Sends the request; a reader waiting for it (@deadline > 0) waits no
 * longer than its deadline, so the request ends then too and its outcome
 * is the one the reader gets (and the log says). */
static int send_request(struct pfs_api *api, const struct call *call,
			const char *url, double deadline,
			struct pfs_http_response *resp, unsigned *generation,
			char *err, size_t errsize)
{
	GPtrArray *headers = g_ptr_array_new();
	long timeout_ms = 0;
	int res;

	/* AK/SK sign the body: the bytes signed are the bytes sent */
	res = pfs_auth_headers(api->auth, call->method, url, call->body,
			       call->body ? strlen(call->body) : 0, deadline,
			       headers, generation, err, errsize);
	if (res < 0) {
		pfs_auth_headers_free(headers);
		return res;
	}
	g_ptr_array_add(headers, NULL);
	if (deadline > 0)	/* a little before: the reader sees it land */
		timeout_ms = MAX(1, (long)((deadline - pfs_limiter_now()) * 1000) -
				    DEADLINE_MARGIN_MS);
	res = pfs_http_request(api->http, &(struct pfs_http_request){
				       .method = call->method, .url = url,
				       .headers = (const char *const *)headers->pdata,
				       .body = call->body,
				       .body_len = call->body ? strlen(call->body) : 0,
				       .timeout_ms = timeout_ms },
			       resp, err, errsize);
	pfs_auth_headers_free(headers);
	return res;
}

/* The credentials of @generation were refused: every other request would
 * be refused too, and keys that keep failing get locked, so the whole
 * mount pauses (limiter.h) until they change. */
static void refuse(struct pfs_api *api, unsigned generation)
{
	api->refused_generation = generation;
	__atomic_store_n(&api->refused, 1, __ATOMIC_RELEASE);
	pfs_limiter_unauthorized(api->limiter);
	pfs_auth_refused(api->auth, generation);
}

/* One request, once the limiter lets it go. Returns 0 with the 200
 * response in @resp (the caller clears it), else as pfs_api_get_status();
 * *pause >= 0 after a throttling answer worth waiting out. */
static int request_once(struct pfs_api *api, const struct call *call,
			const char *url, double deadline,
			struct pfs_http_response *resp,
			struct pfs_api_failure *failure, double *pause)
{
	const char *path = call->path;
	char *code = NULL, *msg = NULL;
	char err[512];
	int res;

	*pause = -1;
	if (__atomic_load_n(&api->refused, __ATOMIC_ACQUIRE) &&
	    pfs_auth_generation(api->auth) != api->refused_generation) {
		/* new credentials: they deserve a request at once */
		__atomic_store_n(&api->refused, 0, __ATOMIC_RELEASE);
		pfs_limiter_credentials_changed(api->limiter);
	}
	failure->credentials = api->refused_generation;
	res = pfs_limiter_acquire(api->limiter, deadline);
	if (res < 0) {
		snprintf(failure->what, sizeof(failure->what), "%s %s: not sent: %s",
			 call->method, path, res == -EACCES ? "the service refused our credentials"
					      : "throttled, or at max_requests/rate");
		failure->not_before = pfs_limiter_next_start(api->limiter);
		pfs_stats_request_end(PFS_STATS_NOT_SENT, 0, NULL, NULL);
		return res == -EACCES ? -EKEYREJECTED : -EBUSY;
	}
	res = send_request(api, call, url, deadline, resp, &failure->credentials,
			   err, sizeof(err));
	pfs_limiter_release(api->limiter);
	if (res < 0) {
		snprintf(failure->what, sizeof(failure->what), "%s %s: %s",
			 call->method, path, err);
		pfs_stats_request_end(pfs_stats_result_of(res), 0, NULL, err);
		if (res == -EACCES)	/* IAM refused the password */
			refuse(api, failure->credentials);
		return res;
	}
	pfs_log_debug("%s %s: HTTP %ld, %zu bytes", call->method, path,
		      resp->status, resp->body_len);
	/* an error may come in a 200 body too (section 5 of the API notes) */
	if (!pfs_lists_body_error(resp->body, resp->body_len, &code, &msg) &&
	    resp->status == 200) {
		pfs_limiter_succeeded(api->limiter);
		return 0;
	}
	res = status_to_errno(resp->status, code, call->named_build);
	describe_error(call, resp, code, msg, failure);
	if (is_throttling(resp, code))
		*pause = pfs_limiter_throttled(api->limiter, (double)resp->retry_after);
	else if (resp->status == 401)	/* 403: this resource, not the keys */
		refuse(api, failure->credentials);
	if (resp->status == 401)	/* the request's time may be what is wrong */
		pfs_auth_check_refusal(api->auth, code, msg, resp->date);
	g_free(code);
	g_free(msg);
	pfs_http_response_clear(resp);
	return res;
}

/* A 200 counts (stats.h) once its body is judged: usable (@res 0) or not. */
static void note_answer(int res, const struct pfs_api_failure *failure)
{
	pfs_stats_request_end(res == 0 ? PFS_STATS_OK : PFS_STATS_INVALID, 200,
			      NULL, res == 0 ? NULL : failure->what);
}

/* Sends @call, waiting out throttling if that ends before @deadline. */
static int request(struct pfs_api *api, const struct call *call,
		   double deadline, struct pfs_http_response *resp,
		   struct pfs_api_failure *failure)
{
	char *url = g_strconcat(api->endpoint, call->path, NULL);
	int attempts = 0;
	double pause;
	int res;

	failure->what[0] = '\0';
	failure->not_before = 0;
	failure->credentials = 0;
	do {
		res = request_once(api, call, url, deadline, resp, failure,
				   &pause);
	} while (pause >= 0 && pfs_limiter_now() + pause <= deadline &&
		 ++attempts < MAX_THROTTLED_ATTEMPTS);
	g_free(url);
	return res;
}

int pfs_api_get_status(struct pfs_api *api, const char *pipeline_id,
		       const char *build_id, double deadline,
		       struct pfs_build **out, struct pfs_api_failure *failure)
{
	struct pfs_http_response resp;
	char *path;
	int res;

	*out = NULL;
	path = build_id ? g_strdup_printf("/v3/pipelines/%s/status?build_id=%s",
					  pipeline_id, build_id)
			: g_strdup_printf("/v3/pipelines/%s/status", pipeline_id);
	res = request(api, &(struct call){ .method = "GET", .path = path,
					   .named_build = build_id != NULL },
		      deadline, &resp, failure);
	if (res == 0) {
		res = parse_body(path, &resp, out, failure);
		pfs_http_response_clear(&resp);
		if (res == 0)
			res = check_identity(path, *out, pipeline_id, build_id, failure);
		if (res < 0) {
			pfs_build_unref(*out);
			*out = NULL;
		}
		note_answer(res, failure);
	}
	g_free(path);
	return res;
}

int pfs_api_get_latest_ids(struct pfs_api *api, char **pipeline_ids,
			   double deadline, GHashTable **out,
			   struct pfs_api_failure *failure)
{
	struct pfs_http_response resp;
	char *ids = g_strjoinv(",", pipeline_ids);
	char *path = g_strconcat("/v3/pipelines/status?pipeline_ids=", ids, NULL);
	char err[256];
	int res;

	*out = NULL;
	res = request(api, &(struct call){ .method = "GET", .path = path },
		      deadline, &resp, failure);
	if (res == 0) {
		res = pfs_model_parse_latest_ids(resp.body, resp.body_len, out, err,
						 sizeof(err));
		if (res < 0)
			snprintf(failure->what, sizeof(failure->what),
				 "GET %s: HTTP 200 with an unusable body: %s", path, err);
		pfs_http_response_clear(&resp);
		note_answer(res, failure);
	}
	g_free(path);
	g_free(ids);
	return res;
}

unsigned pfs_api_credentials(struct pfs_api *api)
{
	return pfs_auth_generation(api->auth);
}

/* The items of one page, sent as @call: 0 with them appended to @into and
 * the service's total in *@total; else as pfs_api_get_status(). */
static int get_page(struct pfs_api *api, const struct call *call,
		    GTimeZone *tz, double deadline, GPtrArray *into,
		    long *total, struct pfs_api_failure *failure)
{
	struct pfs_http_response resp;
	char err[256];
	int res = request(api, call, deadline, &resp, failure);

	if (res < 0)
		return res;
	res = tz ? pfs_lists_parse_history(resp.body, resp.body_len, tz, into,
					   total, err, sizeof(err))
		 : pfs_lists_parse_pipelines(resp.body, resp.body_len, into,
					     total, err, sizeof(err));
	if (res < 0)
		snprintf(failure->what, sizeof(failure->what),
			 "%s %s: HTTP 200 with an unusable body: %s",
			 call->method, call->path, err);
	pfs_http_response_clear(&resp);
	note_answer(res, failure);
	return res;
}

/* Every page of the pipeline list narrowed to @projects (NULL: all). */
static int list_pages(struct pfs_api *api, char *const *projects,
		      double deadline, GPtrArray *into,
		      struct pfs_api_failure *failure)
{
	long offset = 0, total = 0;
	int res = 0;

	do {
		char *body = pfs_lists_pipelines_request(offset, projects);
		guint before = into->len;

		if (!body)
			return -EINVAL;
		res = get_page(api, &(struct call){ .method = "POST",
						    .path = "/v3/pipelines/list",
						    .body = body },
			       NULL, deadline, into, &total, failure);
		g_free(body);
		/* an empty page ends it whatever total says: never a loop */
		if (res < 0 || into->len == before)
			break;
		offset += PFS_LISTS_PAGE;
	} while (offset < total);
	return res;
}

int pfs_api_list_pipelines(struct pfs_api *api, char *const *project_ids,
			   double deadline, GPtrArray **out,
			   struct pfs_api_failure *failure)
{
	GPtrArray *batches = pfs_lists_project_batches(project_ids);
	guint i;
	int res = 0;

	*out = g_ptr_array_new_with_free_func(pfs_pipeline_entry_free);
	if (batches->len == 0)
		res = list_pages(api, NULL, deadline, *out, failure);
	for (i = 0; res == 0 && i < batches->len; i++)
		res = list_pages(api, batches->pdata[i], deadline, *out, failure);
	g_ptr_array_unref(batches);
	if (res < 0) {
		g_ptr_array_unref(*out);
		*out = NULL;
	}
	return res;
}

/* The windows hold whole dates: builds of the first one that started
 * before @cutoff_ms (epoch ms) are older than asked for. */
static void drop_older(GPtrArray *history, gint64 cutoff_ms)
{
	guint i = 0;

	while (i < history->len) {
		const struct pfs_history_entry *h = history->pdata[i];

		if (h->start_ms && h->start_ms < cutoff_ms)
			g_ptr_array_remove_index(history, i);
		else
			i++;
	}
}

int pfs_api_get_history(struct pfs_api *api, const char *project_id,
			unsigned days, GTimeZone *tz, double deadline,
			GPtrArray **out, struct pfs_api_failure *failure)
{
	gint64 now_ms = g_get_real_time() / 1000;
	GPtrArray *windows = pfs_lists_history_windows(now_ms, tz, days);
	guint i;
	int res = 0;

	*out = g_ptr_array_new_with_free_func(pfs_history_entry_free);
	for (i = 0; res == 0 && i < windows->len; i++) {
		long offset = 0, total = 0;

		do {
			char *query = pfs_lists_history_query(project_id,
							      windows->pdata[i], offset);
			char *path;
			guint before = (*out)->len;

			if (!query) {
				res = -EINVAL;
				break;
			}
			path = g_strconcat("/v3/pipelines/build-result?", query, NULL);
			res = get_page(api, &(struct call){ .method = "GET", .path = path },
				       tz, deadline, *out, &total, failure);
			g_free(path);
			g_free(query);
			if (res < 0 || (*out)->len == before)
				break;
			offset += PFS_LISTS_HISTORY_PAGE;
		} while (offset < total);
	}
	g_ptr_array_unref(windows);
	if (res < 0) {
		g_ptr_array_unref(*out);
		*out = NULL;
		return res;
	}
	drop_older(*out, now_ms - (gint64)days * 24 * 3600 * 1000);
	return 0;
}
