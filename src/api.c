/* api.c - see api.h */
#include "api.h"
#include "log.h"

#include <errno.h>
#include <glib.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

struct pfs_api {
	char *endpoint;
	struct pfs_http *http;
	struct pfs_token *token;
};

int pfs_api_new(const char *endpoint, struct pfs_http *http,
		struct pfs_token *token, struct pfs_api **out)
{
	struct pfs_api *api = g_new0(struct pfs_api, 1);

	api->endpoint = g_strdup(endpoint);
	api->http = http;
	api->token = token;
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

bool pfs_api_is_transient(int err)
{
	return err == -EAGAIN || err == -ETIMEDOUT || err == -ECOMM;
}

static const char *json_string_at(struct json_object *obj, const char *key)
{
	struct json_object *value;

	if (!json_object_object_get_ex(obj, key, &value) ||
	    !json_object_is_type(value, json_type_string))
		return NULL;
	return json_object_get_string(value);
}

/* Logs a failed call with what the service said, in either of its two
 * error shapes: {"error_code","error_msg"} or {"error":{"code","message"}}. */
static void log_http_error(const char *path, const struct pfs_http_response *resp)
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
	if (!code && !msg)
		msg = resp->body;	/* not the service's shape: show the text */
	pfs_log_err("GET %s: HTTP %ld %s %s", path, resp->status,
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
		      struct pfs_build **out)
{
	char err[256];
	int res = pfs_model_parse(resp->body, resp->body_len, out, err, sizeof(err));

	if (res < 0)
		pfs_log_err("GET %s: HTTP 200 with an unusable body: %s", path, err);
	return res;
}

static int send_request(struct pfs_api *api, const char *url,
			struct pfs_http_response *resp, char *err,
			size_t errsize)
{
	char *token = NULL;
	char *auth;
	int res;

	res = pfs_token_get(api->token, &token);
	if (res < 0) {
		snprintf(err, errsize, "no token");
		return res;
	}
	auth = g_strconcat("X-Auth-Token: ", token, NULL);
	pfs_token_release(token);
	res = pfs_http_get(api->http, url, (const char *const[]){ auth, NULL },
			   resp, err, errsize);
	pfs_token_release(auth);
	return res;
}

int pfs_api_get_status(struct pfs_api *api, const char *pipeline_id,
		       const char *build_id, struct pfs_build **out,
		       long *retry_after)
{
	struct pfs_http_response resp;
	char err[512];
	char *path, *url;
	int res;

	*out = NULL;
	*retry_after = -1;
	path = build_id ? g_strdup_printf("/v3/pipelines/%s/status?build_id=%s",
					  pipeline_id, build_id)
			: g_strdup_printf("/v3/pipelines/%s/status", pipeline_id);
	url = g_strconcat(api->endpoint, path, NULL);
	res = send_request(api, url, &resp, err, sizeof(err));
	if (res < 0) {
		pfs_log_err("GET %s: %s", path, err);
		goto out;
	}
	pfs_log_debug("GET %s: HTTP %ld, %zu bytes", path, resp.status, resp.body_len);
	if (resp.status == 200) {
		res = parse_body(path, &resp, out);
	} else {
		res = status_to_errno(resp.status, build_id != NULL);
		*retry_after = resp.retry_after;
		log_http_error(path, &resp);
	}
	pfs_http_response_clear(&resp);
out:
	g_free(url);
	g_free(path);
	return res;
}
