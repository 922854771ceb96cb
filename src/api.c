/* api.c - see api.h */
#include "api.h"
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

static const char *json_string_at(struct json_object *obj, const char *key)
{
	struct json_object *value;

	if (!json_object_object_get_ex(obj, key, &value) ||
	    !json_object_is_type(value, json_type_string))
		return NULL;
	return json_object_get_string(value);
}

/* Describes a failed call with what the service said, in either of its
 * two error shapes: {"error_code","error_msg"} or
 * {"error":{"code","message"}}. */
static void describe_http_error(const char *path,
				const struct pfs_http_response *resp,
				struct pfs_api_failure *failure)
{
	struct json_object *body = json_tokener_parse(resp->body);
	struct json_object *nested;
	const char *code = NULL, *msg = NULL;
	char clean_code[128], clean_msg[512];

	if (body && json_object_is_type(body, json_type_object)) {
		code = json_string_at(body, "error_code");
		msg = json_string_at(body, "error_msg");
		if (!code && !msg && json_object_object_get_ex(body, "error", &nested)) {
			code = json_string_at(nested, "code");
			msg = json_string_at(nested, "message");
		}
	}
	pfs_stats_request_end(PFS_STATS_HTTP_ERROR, resp->status, code, msg);
	if (!code && !msg) {
		/* not the service's shape: a proxy's page, perhaps one that
		 * echoes the request (and its token) back; say only its size */
		snprintf(failure->what, sizeof(failure->what),
			 "GET %s: HTTP %ld, a %zu-byte body that is not the "
			 "service's error", path, resp->status, resp->body_len);
		json_object_put(body);
		return;
	}
	snprintf(failure->what, sizeof(failure->what), "GET %s: HTTP %ld %s %s",
		 path, resp->status,
		 pfs_log_clean(clean_code, sizeof(clean_code), code ? code : "-",
			       code ? strlen(code) : 1),
		 pfs_log_clean(clean_msg, sizeof(clean_msg), msg ? msg : "",
			       msg ? strlen(msg) : 0));
	json_object_put(body);
}

static int status_to_errno(long status, bool named_build)
{
	if (status == 404 || (status == 400 && named_build))
		return -ENOENT;
	if (status == 401 || status == 403)
		return -EACCES;
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

static bool is_throttling(const struct pfs_http_response *resp)
{
	return resp->status == 429 || (resp->status == 503 && resp->retry_after >= 0);
}

/* Sends the request; a reader waiting for it (@deadline > 0) waits no
 * longer than its deadline, so the request ends then too and its outcome
 * is the one the reader gets (and the log says). */
static int send_request(struct pfs_api *api, const char *url, double deadline,
			struct pfs_http_response *resp, unsigned *generation,
			char *err, size_t errsize)
{
	GPtrArray *headers = g_ptr_array_new();
	long timeout_ms = 0;
	int res;

	res = pfs_auth_headers(api->auth, "GET", url, NULL, 0, deadline, headers,
			       generation, err, errsize);
	if (res < 0) {
		pfs_auth_headers_free(headers);
		return res;
	}
	g_ptr_array_add(headers, NULL);
	if (deadline > 0)	/* a little before: the reader sees it land */
		timeout_ms = MAX(1, (long)((deadline - pfs_limiter_now()) * 1000) -
				    DEADLINE_MARGIN_MS);
	res = pfs_http_get(api->http, url, (const char *const *)headers->pdata,
			   timeout_ms, resp, err, errsize);
	pfs_auth_headers_free(headers);
	return res;
}

/* One request, once the limiter lets it go. Returns 0 with the 200
 * response in @resp (the caller clears it), else as pfs_api_get_status();
 * *pause >= 0 after a throttling answer worth waiting out. */
static int request_once(struct pfs_api *api, const char *path, const char *url,
			bool named_build, double deadline,
			struct pfs_http_response *resp,
			struct pfs_api_failure *failure, double *pause)
{
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
		snprintf(failure->what, sizeof(failure->what), "GET %s: not sent: %s",
			 path, res == -EACCES ? "the service refused our credentials"
					      : "throttled, or at max_requests/rate");
		failure->not_before = pfs_limiter_next_start(api->limiter);
		pfs_stats_request_end(PFS_STATS_NOT_SENT, 0, NULL, NULL);
		return res == -EACCES ? -EKEYREJECTED : -EBUSY;
	}
	res = send_request(api, url, deadline, resp, &failure->credentials, err,
			   sizeof(err));
	pfs_limiter_release(api->limiter);
	if (res < 0) {
		snprintf(failure->what, sizeof(failure->what), "GET %s: %s", path, err);
		pfs_stats_request_end(pfs_stats_result_of(res), 0, NULL, err);
		return res;
	}
	pfs_log_debug("GET %s: HTTP %ld, %zu bytes", path, resp->status, resp->body_len);
	if (resp->status == 200) {
		pfs_limiter_succeeded(api->limiter);
		return 0;
	}
	res = status_to_errno(resp->status, named_build);
	describe_http_error(path, resp, failure);
	if (is_throttling(resp))
		*pause = pfs_limiter_throttled(api->limiter, (double)resp->retry_after);
	else if (res == -EACCES) {
		/* every other request would be refused too, and keys that
		 * keep failing get locked: pause the whole mount */
		api->refused_generation = failure->credentials;
		__atomic_store_n(&api->refused, 1, __ATOMIC_RELEASE);
		pfs_limiter_unauthorized(api->limiter);
		pfs_auth_refused(api->auth, failure->credentials);
	}
	pfs_http_response_clear(resp);
	return res;
}

/* A 200 counts (stats.h) once its body is judged: usable (@res 0) or not. */
static void note_answer(int res, const struct pfs_api_failure *failure)
{
	pfs_stats_request_end(res == 0 ? PFS_STATS_OK : PFS_STATS_INVALID, 200,
			      NULL, res == 0 ? NULL : failure->what);
}

/* GETs @path, waiting out throttling if that ends before @deadline. */
static int request(struct pfs_api *api, const char *path, bool named_build,
		   double deadline, struct pfs_http_response *resp,
		   struct pfs_api_failure *failure)
{
	char *url = g_strconcat(api->endpoint, path, NULL);
	int attempts = 0;
	double pause;
	int res;

	failure->what[0] = '\0';
	failure->not_before = 0;
	failure->credentials = 0;
	do {
		res = request_once(api, path, url, named_build, deadline, resp,
				   failure, &pause);
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
	res = request(api, path, build_id != NULL, deadline, &resp, failure);
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
	res = request(api, path, false, deadline, &resp, failure);
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
