/* transport.c - see transport.h */
#include "transport.h"
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

struct pfs_transport {
	char *endpoint;
	struct pfs_http *http;
	struct pfs_auth *auth;
	struct pfs_limiter *limiter;
	/* after a 401/403: the token generation that was refused; the
	 * mount's pause ends as soon as the token changes */
	int refused;		/* atomic: a refusal pause may be on */
	unsigned refused_generation;
};

struct pfs_transport *pfs_transport_new(const char *endpoint,
					struct pfs_http *http,
					struct pfs_auth *auth,
					struct pfs_limiter *limiter)
{
	struct pfs_transport *api = g_new0(struct pfs_transport, 1);

	api->endpoint = g_strdup(endpoint);
	api->http = http;
	api->auth = auth;
	api->limiter = limiter;
	return api;
}

void pfs_transport_free(struct pfs_transport *api)
{
	if (!api)
		return;
	g_free(api->endpoint);
	g_free(api);
}

/* Describes a failed call with what the service said (@code, @msg: the
 * error in its body, either shape, already made printable), and counts it. */
static void describe_error(const struct pfs_call *call,
			   const struct pfs_http_response *resp,
			   const char *code, const char *msg,
			   struct pfs_backend_failure *failure)
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
static int send_request(struct pfs_transport *api, const struct pfs_call *call,
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
static void refuse(struct pfs_transport *api, unsigned generation)
{
	api->refused_generation = generation;
	__atomic_store_n(&api->refused, 1, __ATOMIC_RELEASE);
	pfs_limiter_unauthorized(api->limiter);
	pfs_auth_refused(api->auth, generation);
}

/* One request, once the limiter lets it go. Returns 0 with the 200
 * response in @resp (the caller clears it), else as backend.h says;
 * *pause >= 0 after a throttling answer worth waiting out. */
static int request_once(struct pfs_transport *api, const struct pfs_call *call,
			const char *url, double deadline,
			struct pfs_http_response *resp,
			struct pfs_backend_failure *failure, double *pause)
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

void pfs_transport_note_answer(int res, const struct pfs_backend_failure *failure)
{
	pfs_stats_request_end(res == 0 ? PFS_STATS_OK : PFS_STATS_INVALID, 200,
			      NULL, res == 0 ? NULL : failure->what);
}

int pfs_transport_request(struct pfs_transport *api, const struct pfs_call *call,
		   double deadline, struct pfs_http_response *resp,
		   struct pfs_backend_failure *failure)
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

unsigned pfs_transport_credentials(struct pfs_transport *api)
{
	return pfs_auth_generation(api->auth);
}


int pfs_transport_call(struct pfs_transport *api, const struct pfs_call *call,
		       double deadline,
		       int (*parse)(const char *body, size_t len, void *data,
				    char *err, size_t errsize),
		       void *data, struct pfs_backend_failure *failure)
{
	struct pfs_http_response resp;
	char err[256];
	int res = pfs_transport_request(api, call, deadline, &resp, failure);

	if (res < 0)
		return res;
	res = parse(resp.body, resp.body_len, data, err, sizeof(err));
	if (res < 0)
		snprintf(failure->what, sizeof(failure->what),
			 "%s %s: HTTP 200 with an unusable body: %s",
			 call->method, call->path, err);
	pfs_http_response_clear(&resp);
	pfs_transport_note_answer(res, failure);
	return res;
}
