/* iam.c - see iam.h */
#include "iam.h"
#include "limiter.h"
#include "log.h"
#include "token.h"

#include <errno.h>
#include <glib.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define IAM_PATH "/v3/auth/tokens"
/* Renewal: at RENEW_AT of the lifetime or RENEW_BEFORE before its end,
 * whichever is earlier, never before RENEW_NOT_BEFORE of it. */
#define RENEW_AT 0.8
#define RENEW_BEFORE_US (600 * G_USEC_PER_SEC)
#define RENEW_NOT_BEFORE 0.5

struct pfs_iam {
	struct pfs_http *http;
	char *url;		/* {iam_endpoint}/v3/auth/tokens */
	char *user, *domain;
	char *project;		/* the scope: the region's project, or NULL */
	struct pfs_token *password;	/* the followed password file */
	pthread_mutex_t lock;
	pthread_cond_t changed;	/* a call ended, a renewal is asked, stop */
	/* guarded by lock: */
	char *token;		/* valid until expires, or NULL */
	char *previous;		/* the one replaced: still a secret */
	unsigned generation;	/* of token; 0 before the first */
	gint64 expires, due;	/* monotonic µs: its end, its renewal */
	bool asking;		/* a call to IAM is on */
	bool renew_now;
	unsigned refused;	/* the generation a 401 renewed, or 0 */
	int last_res;		/* of the last call that failed, and why */
	char last_err[384];
	unsigned failures;	/* in a row */
	gint64 retry_at;	/* monotonic µs: no call before, or 0 */
	bool stopping;
	bool running;		/* the thread */
	pthread_t thread;
};

/* ---- the call ---- */

static void append_json_string(GString *out, const char *text)
{
	const unsigned char *c;

	g_string_append_c(out, '"');
	for (c = (const unsigned char *)text; *c; c++) {
		if (*c == '"' || *c == '\\')
			g_string_append_printf(out, "\\%c", *c);
		else if (*c < 0x20)
			g_string_append_printf(out, "\\u%04x", *c);
		else
			g_string_append_c(out, (char)*c);
	}
	g_string_append_c(out, '"');
}

/* The password body of API notes section 4; built here rather than with
 * json-c so that every copy of the password can be wiped. */
static GString *request_body(const struct pfs_iam *iam, const char *password)
{
	GString *body = g_string_sized_new(512);

	g_string_append(body, "{\"auth\":{\"identity\":{\"methods\":[\"password\"],"
			"\"password\":{\"user\":{\"name\":");
	append_json_string(body, iam->user);
	g_string_append(body, ",\"password\":");
	append_json_string(body, password);
	g_string_append(body, ",\"domain\":{\"name\":");
	append_json_string(body, iam->domain);
	g_string_append(body, "}}}},\"scope\":");
	if (iam->project) {
		g_string_append(body, "{\"project\":{\"name\":");
		append_json_string(body, iam->project);
	} else {
		g_string_append(body, "{\"domain\":{\"name\":");
		append_json_string(body, iam->domain);
	}
	g_string_append(body, "}}}}");
	return body;
}

static gint64 iso_time_us(struct json_object *token, const char *key)
{
	struct json_object *value;
	GDateTime *t;
	gint64 res;

	if (!json_object_object_get_ex(token, key, &value) ||
	    !json_object_is_type(value, json_type_string))
		return 0;
	t = g_date_time_new_from_iso8601(json_object_get_string(value), NULL);
	if (!t)
		return 0;
	res = g_date_time_to_unix(t) * G_USEC_PER_SEC +
	      g_date_time_get_microsecond(t);
	g_date_time_unref(t);
	return res;
}

/* The token's lifetime from the body: expires_at - issued_at (both the
 * service's clock), else expires_at - our clock; 0 when unusable. */
static gint64 lifetime_of(const struct pfs_http_response *resp)
{
	struct json_object *body = json_tokener_parse(resp->body);
	struct json_object *token;
	gint64 expires = 0, issued = 0;

	if (body && json_object_object_get_ex(body, "token", &token)) {
		expires = iso_time_us(token, "expires_at");
		issued = iso_time_us(token, "issued_at");
	}
	json_object_put(body);
	if (!expires)
		return 0;
	return MAX(0, expires - (issued ? issued : g_get_real_time()));
}

/* IAM's words for a refusal, either error shape, cleaned; or "". */
static const char *refusal_words(const struct pfs_http_response *resp, char *buf,
				 size_t size)
{
	struct json_object *body = json_tokener_parse(resp->body);
	struct json_object *error, *message = NULL;

	buf[0] = '\0';
	if (body && ((json_object_object_get_ex(body, "error", &error) &&
		      json_object_object_get_ex(error, "message", &message)) ||
		     json_object_object_get_ex(body, "error_msg", &message)) &&
	    json_object_is_type(message, json_type_string))
		pfs_log_clean(buf, size, json_object_get_string(message),
			      (size_t)json_object_get_string_len(message));
	json_object_put(body);
	return buf;
}

static bool header_safe(const char *value)
{
	const unsigned char *c;

	for (c = (const unsigned char *)value; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return false;
	return value[0] != '\0';
}

/* What an answer of IAM gives: 0 with the token and its lifetime. */
static int read_answer(const struct pfs_iam *iam, struct pfs_http_response *resp,
		       char **token, gint64 *lifetime, char *err, size_t errsize)
{
	char words[256];

	if (resp->status == 401 || resp->status == 403) {
		snprintf(err, errsize, "IAM refused user %s of account %s "
			 "(HTTP %ld): %s", iam->user, iam->domain, resp->status,
			 refusal_words(resp, words, sizeof(words)));
		return -EACCES;
	}
	if (resp->status != 201 && resp->status != 200) {
		snprintf(err, errsize, "IAM answered HTTP %ld: %s", resp->status,
			 refusal_words(resp, words, sizeof(words)));
		return -EPROTO;
	}
	*lifetime = lifetime_of(resp);
	if (!resp->captured || !header_safe(resp->captured) || *lifetime <= 0) {
		snprintf(err, errsize, "IAM answered HTTP %ld without a usable "
			 "X-Subject-Token and token.expires_at", resp->status);
		return -EPROTO;
	}
	*token = resp->captured;
	resp->captured = NULL;
	return 0;
}

/* One call to IAM, no lock held. */
static int call_iam(struct pfs_iam *iam, long timeout_ms, char **token,
		    gint64 *lifetime, char *err, size_t errsize)
{
	struct pfs_http_response resp = { 0 };
	char *password = NULL;
	GString *body;
	int res;

	pfs_token_get(iam->password, &password);
	body = request_body(iam, password);
	pfs_token_release(password);
	res = pfs_http_request(iam->http, &(struct pfs_http_request){
		.method = "POST", .url = iam->url, .body = body->str,
		.body_len = body->len, .timeout_ms = timeout_ms,
		.capture = "X-Subject-Token",
	}, &resp, err, errsize);
	explicit_bzero(body->str, body->len);
	g_string_free(body, TRUE);
	if (res < 0) {
		char why[256];

		g_strlcpy(why, err, sizeof(why));
		snprintf(err, errsize, "cannot reach IAM at %s: %s", iam->url, why);
		return res;
	}
	res = read_answer(iam, &resp, token, lifetime, err, errsize);
	pfs_http_response_clear(&resp);
	return res;
}

/* ---- the state ---- */

static void forget(char *secret)
{
	if (secret) {
		pfs_log_remove_secret(secret);
		explicit_bzero(secret, strlen(secret));
		g_free(secret);
	}
}

/* Called with the lock held. */
static void install(struct pfs_iam *iam, char *token, gint64 lifetime)
{
	gint64 now = g_get_monotonic_time();
	gint64 renew_in = MIN((gint64)(lifetime * RENEW_AT),
			      lifetime - RENEW_BEFORE_US);

	pfs_log_add_secret(token);
	forget(iam->previous);
	iam->previous = iam->token;
	iam->token = token;
	iam->generation++;
	iam->expires = now + lifetime;
	iam->due = now + MAX(renew_in, (gint64)(lifetime * RENEW_NOT_BEFORE));
	iam->failures = 0;
	iam->retry_at = 0;
	iam->last_res = 0;
	pfs_log_info("IAM: a token for user %s of account %s, valid %" G_GINT64_FORMAT
		     " s, renewed in %" G_GINT64_FORMAT " s", iam->user, iam->domain,
		     lifetime / G_USEC_PER_SEC, (iam->due - now) / G_USEC_PER_SEC);
}

/* Called with the lock held. */
static void note_failure(struct pfs_iam *iam, int res, const char *err)
{
	double pause = MIN(PFS_IAM_RETRY_MAX,
			   PFS_IAM_RETRY_MIN * (double)(1u << MIN(iam->failures, 16u)));

	iam->failures++;
	iam->retry_at = g_get_monotonic_time() + (gint64)(pause * G_USEC_PER_SEC);
	iam->last_res = res;
	g_strlcpy(iam->last_err, err, sizeof(iam->last_err));
	pfs_log_warn("%s%s", err, iam->token ? "; the current token is used "
			     "while it lasts" : "");
}

/* One call to IAM, made by the caller; called with the lock held and no
 * call on, which it releases meanwhile. */
static int ask_locked(struct pfs_iam *iam, long timeout_ms)
{
	char err[384] = "";
	char *token = NULL;
	gint64 lifetime = 0;
	int res;

	iam->asking = true;
	pthread_mutex_unlock(&iam->lock);
	res = call_iam(iam, timeout_ms, &token, &lifetime, err, sizeof(err));
	pthread_mutex_lock(&iam->lock);
	iam->asking = false;
	if (res == 0 && !iam->stopping)
		install(iam, token, lifetime);
	else if (res == 0)
		forget(token);
	else if (!iam->stopping)
		note_failure(iam, res, err);
	pthread_cond_broadcast(&iam->changed);
	return res;
}

static bool valid_locked(const struct pfs_iam *iam)
{
	return iam->token && g_get_monotonic_time() < iam->expires;
}

/* Waits on changed until @until_us (monotonic µs; 0: no end). */
static int wait_locked(struct pfs_iam *iam, gint64 until_us)
{
	struct timespec ts;

	if (!until_us)
		return pthread_cond_wait(&iam->changed, &iam->lock);
	ts.tv_sec = until_us / G_USEC_PER_SEC;
	ts.tv_nsec = (until_us % G_USEC_PER_SEC) * 1000;
	return pthread_cond_timedwait(&iam->changed, &iam->lock, &ts);
}

int pfs_iam_token(struct pfs_iam *iam, double deadline, char **out,
		  unsigned *generation, char *err, size_t errsize)
{
	gint64 until = deadline > 0 ? g_get_monotonic_time() +
		(gint64)((deadline - pfs_limiter_now()) * G_USEC_PER_SEC) : 0;
	int res = 0;

	pthread_mutex_lock(&iam->lock);
	while (!valid_locked(iam) && res == 0) {
		if (iam->asking) {
			if (wait_locked(iam, until) == ETIMEDOUT) {
				snprintf(err, errsize, "no IAM token yet: IAM has "
					 "not answered in time");
				res = -ETIMEDOUT;
			}
		} else if (g_get_monotonic_time() < iam->retry_at) {
			g_strlcpy(err, iam->last_err, errsize);
			res = iam->last_res;
		} else {
			long ms = until ? MAX(1, (long)((until - g_get_monotonic_time()) /
							1000)) : 0;

			res = ask_locked(iam, ms);
			if (res < 0)
				g_strlcpy(err, iam->last_err, errsize);
		}
	}
	if (res == 0) {
		*out = g_strdup(iam->token);
		*generation = iam->generation;
	}
	pthread_mutex_unlock(&iam->lock);
	return res;
}

unsigned pfs_iam_generation(struct pfs_iam *iam)
{
	unsigned generation;

	pthread_mutex_lock(&iam->lock);
	generation = iam->generation;
	pthread_mutex_unlock(&iam->lock);
	return generation;
}

void pfs_iam_refused(struct pfs_iam *iam, unsigned generation)
{
	pthread_mutex_lock(&iam->lock);
	if (generation && generation == iam->generation &&
	    iam->refused != generation) {
		iam->refused = generation;
		iam->renew_now = true;
		iam->retry_at = 0;
		pthread_cond_broadcast(&iam->changed);
	}
	pthread_mutex_unlock(&iam->lock);
}

/* ---- the renewal thread ---- */

static void *renew(void *arg)
{
	struct pfs_iam *iam = arg;

	pthread_mutex_lock(&iam->lock);
	while (!iam->stopping) {
		gint64 now = g_get_monotonic_time();

		if (iam->token && now >= iam->expires) {
			/* renewals failed until the end: requests ask now */
			forget(iam->previous);
			iam->previous = iam->token;
			iam->token = NULL;
		}
		if (!iam->asking && (iam->renew_now ||
				     (iam->token && now >= MAX(iam->due, iam->retry_at)))) {
			iam->renew_now = false;
			ask_locked(iam, 0);
			continue;
		}
		wait_locked(iam, iam->asking || !iam->token ? 0
				 : MIN(iam->expires, MAX(iam->due, iam->retry_at)));
	}
	pthread_mutex_unlock(&iam->lock);
	return NULL;
}

/* ---- setting up ---- */

/* The first line of the password file, its line end dropped. */
static char *parse_password(const char *text, size_t len, const char *path,
			    char *err, size_t errsize)
{
	size_t end = 0;

	while (end < len && text[end] != '\n' && text[end] != '\r')
		end++;
	if (end == 0 || memchr(text, '\0', end)) {
		snprintf(err, errsize, "password file %s holds no password on "
			 "its first line", path);
		return NULL;
	}
	return g_strndup(text, end);
}

static const struct pfs_token_format password_format = {
	.what = "password file",
	.noun = "password",
	.parse = parse_password,
};

/* The project IAM scopes the token to: region=, else the region in the
 * IAM host iam.<region>.myhuaweicloud.com; NULL: the account. */
static char *project_of(const struct pfs_options *opts)
{
	const char *host, *dot;

	if (opts->region)
		return g_strdup(opts->region);
	host = strstr(opts->iam_endpoint, "://");
	if (!host || !g_str_has_prefix(host + 3, "iam."))
		return NULL;
	host += 7;
	dot = strchr(host, '.');
	return dot && dot > host && g_str_has_prefix(dot, ".myhuaweicloud.com")
		? g_strndup(host, (gsize)(dot - host)) : NULL;
}

int pfs_iam_new(const struct pfs_options *opts, struct pfs_http *http,
		struct pfs_iam **out, char *err, size_t errsize)
{
	struct pfs_iam *iam;
	pthread_condattr_t attr;
	int res;

	if (!opts->iam_endpoint) {
		snprintf(err, errsize, "iam_user= needs the IAM host: give "
			 "-o region=NAME or -o iam_endpoint=URL");
		return -EINVAL;
	}
	iam = g_new0(struct pfs_iam, 1);
	res = pfs_token_new_from_file_as(opts->iam_password_file, &password_format,
					 &iam->password, err, errsize);
	if (res < 0) {
		g_free(iam);
		return res;
	}
	iam->http = http;
	iam->url = g_strconcat(opts->iam_endpoint, IAM_PATH, NULL);
	iam->user = g_strdup(opts->iam_user);
	iam->domain = g_strdup(opts->iam_domain);
	iam->project = project_of(opts);
	pthread_mutex_init(&iam->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&iam->changed, &attr);
	pthread_condattr_destroy(&attr);
	*out = iam;
	return 0;
}

int pfs_iam_start(struct pfs_iam *iam)
{
	sigset_t all, old;
	int res;

	pfs_token_start(iam->password);
	pthread_mutex_lock(&iam->lock);
	iam->renew_now = !iam->token;	/* the first token, before it is needed */
	pthread_mutex_unlock(&iam->lock);
	/* signals are for the threads that wait for them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	res = pthread_create(&iam->thread, NULL, renew, iam);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	iam->running = res == 0;
	if (res != 0)
		pfs_log_err("cannot start the IAM renewal thread: %s; tokens are "
			    "asked for as they expire", strerror(res));
	return -res;
}

void pfs_iam_free(struct pfs_iam *iam)
{
	if (!iam)
		return;
	pthread_mutex_lock(&iam->lock);
	iam->stopping = true;
	pthread_cond_broadcast(&iam->changed);
	pthread_mutex_unlock(&iam->lock);
	if (iam->running)
		pthread_join(iam->thread, NULL);
	forget(iam->token);
	forget(iam->previous);
	pfs_token_free(iam->password);
	pthread_cond_destroy(&iam->changed);
	pthread_mutex_destroy(&iam->lock);
	g_free(iam->url);
	g_free(iam->user);
	g_free(iam->domain);
	g_free(iam->project);
	g_free(iam);
}
