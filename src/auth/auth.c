/* auth.c - see auth.h */
#include "auth.h"
#include "credentials.h"
#include "iam.h"
#include "log.h"
#include "sign.h"
#include "token.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum source {
	SOURCE_TOKEN_FILE,	/* token_file= */
	SOURCE_TOKEN_ENV,	/* PIPELINEFS_TOKEN */
	SOURCE_KEYS_FILE,	/* credentials_file=, or the SDKs' default */
	SOURCE_KEYS_ENV,	/* HUAWEICLOUD_SDK_AK/_SK */
	SOURCE_IAM,		/* iam_user= */
};

struct pfs_auth {
	enum source source;
	/* the token, or for SOURCE_KEYS_FILE the packed keys (credentials.h) */
	struct pfs_token *token;
	struct pfs_credentials keys;	/* SOURCE_KEYS_ENV: fixed */
	struct pfs_iam *iam;		/* SOURCE_IAM */
	char *source_text;		/* for the log, once started: no secret */
	int skew_logged;		/* atomic: "clock skew" said once */
};

static void zero_free(void *text)
{
	if (text) {
		explicit_bzero(text, strlen(text));
		g_free(text);
	}
}

static const char *temporary(const struct pfs_credentials *keys)
{
	return keys->security_token ? " (temporary: with a security token)" : "";
}

static int open_token_file(struct pfs_auth *auth, const char *path,
			   char *err, size_t errsize)
{
	int res = pfs_token_new_from_file(path, &auth->token, err, errsize);

	auth->source = SOURCE_TOKEN_FILE;
	if (res == 0)
		auth->source_text = g_strdup_printf("the IAM token in %s", path);
	return res;
}

static int open_token_env(struct pfs_auth *auth, const char *token,
			  char *err, size_t errsize)
{
	int res = pfs_token_new_from_string(token, &auth->token, err, errsize);

	auth->source = SOURCE_TOKEN_ENV;
	if (res == 0)
		auth->source_text = g_strdup("the IAM token in PIPELINEFS_TOKEN");
	return res;
}

static int open_keys_file(struct pfs_auth *auth, const char *path,
			  char *err, size_t errsize)
{
	struct pfs_credentials keys;
	char *packed = NULL;
	int res = pfs_token_new_from_file_as(path, &pfs_credentials_format,
					     &auth->token, err, errsize);

	auth->source = SOURCE_KEYS_FILE;
	if (res < 0)
		return res;
	pfs_token_get(auth->token, &packed);
	pfs_credentials_unpack(packed, &keys);
	auth->source_text = g_strdup_printf("AK/SK in %s, signed SDK-HMAC-SHA256%s",
					    path, temporary(&keys));
	pfs_credentials_clear(&keys);
	pfs_token_release(packed);
	return 0;
}

static void add_secrets(const struct pfs_credentials *keys)
{
	pfs_log_add_secret(keys->sk);
	if (keys->security_token)
		pfs_log_add_secret(keys->security_token);
}

/* The environment's keys: 0 when taken, -ENOENT when there are none. */
static int open_keys_env(struct pfs_auth *auth, char *err, size_t errsize)
{
	int res = pfs_credentials_from_env(&auth->keys, err, errsize);

	if (res < 0)
		return res;
	auth->source = SOURCE_KEYS_ENV;
	add_secrets(&auth->keys);
	auth->source_text = g_strdup_printf("AK/SK in HUAWEICLOUD_SDK_AK/_SK, "
					    "signed SDK-HMAC-SHA256%s",
					    temporary(&auth->keys));
	return 0;
}

/* The SDKs' default file, if there is one (a file there that cannot be
 * read is an error: the user meant it). */
static int open_default_keys_file(struct pfs_auth *auth, char *err,
				  size_t errsize)
{
	char *path = pfs_credentials_default_path();
	struct stat st;
	int res = -ENOENT;

	if (path && (stat(path, &st) == 0 || errno != ENOENT))
		res = open_keys_file(auth, path, err, errsize);
	g_free(path);
	return res;
}

static int open_iam(struct pfs_auth *auth, const struct pfs_options *opts,
		    struct pfs_http *http, char *err, size_t errsize)
{
	int res = pfs_iam_new(opts, http, &auth->iam, err, errsize);

	auth->source = SOURCE_IAM;
	if (res == 0)
		auth->source_text = g_strdup_printf(
			"IAM tokens for user %s of account %s from %s, renewed "
			"before they expire", opts->iam_user, opts->iam_domain,
			opts->iam_endpoint);
	return res;
}

static int choose(struct pfs_auth *auth, const struct pfs_options *opts,
		  struct pfs_http *http, char *err, size_t errsize)
{
	int res;

	if (opts->token_file)
		return open_token_file(auth, opts->token_file, err, errsize);
	if (opts->iam_user)
		return open_iam(auth, opts, http, err, errsize);
	if (opts->credentials_file)
		return open_keys_file(auth, opts->credentials_file, err, errsize);
	if (opts->token)
		return open_token_env(auth, opts->token, err, errsize);
	res = open_keys_env(auth, err, errsize);
	if (res == -ENOENT)
		res = open_default_keys_file(auth, err, errsize);
	if (res == -ENOENT)
		snprintf(err, errsize, "no token or keys: give -o token_file=PATH, "
			 "-o credentials_file=PATH or -o iam_user=...; or set "
			 "PIPELINEFS_TOKEN or HUAWEICLOUD_SDK_AK/_SK (see --help)");
	return res;
}

int pfs_auth_new(const struct pfs_options *opts, struct pfs_http *http,
		 struct pfs_auth **out, char *err, size_t errsize)
{
	struct pfs_auth *auth = g_new0(struct pfs_auth, 1);
	int res = choose(auth, opts, http, err, errsize);

	if (res < 0) {
		pfs_auth_free(auth);
		return res;
	}
	*out = auth;
	return 0;
}

int pfs_auth_start(struct pfs_auth *auth)
{
	/* said once the mount is up: not when a later option fails it */
	if (auth->source_text)
		pfs_log_info("credentials: %s", auth->source_text);
	g_clear_pointer(&auth->source_text, g_free);
	if (auth->iam)
		return pfs_iam_start(auth->iam);
	return auth->token ? pfs_token_start(auth->token) : 0;
}

void pfs_auth_free(struct pfs_auth *auth)
{
	if (!auth)
		return;
	pfs_token_free(auth->token);
	pfs_iam_free(auth->iam);
	pfs_log_remove_secret(auth->keys.sk);
	pfs_log_remove_secret(auth->keys.security_token);
	pfs_credentials_clear(&auth->keys);
	g_free(auth->source_text);
	g_free(auth);
}

static void add_header(GPtrArray *headers, const char *name, const char *value)
{
	g_ptr_array_add(headers, g_strconcat(name, ": ", value, NULL));
}

/* X-Sdk-Date, X-Security-Token (temporary keys) and Authorization for
 * one request, signed over Host as the HTTP client sends it (not added:
 * the client adds it) and the headers added. */
static int sign(const struct pfs_credentials *keys, const char *method,
		const char *url, const char *body, size_t body_len,
		GPtrArray *headers, char *err, size_t errsize)
{
	char date[PFS_SIGN_DATE_LEN + 1];
	char *host = pfs_sign_host(url);
	GPtrArray *to_sign = g_ptr_array_new();
	struct pfs_sign_request req = {
		.method = method, .url = url, .body = body, .body_len = body_len,
	};
	char *authorization;
	guint first = headers->len, i;

	if (!host) {
		snprintf(err, errsize, "cannot sign a request to %s", url);
		g_ptr_array_free(to_sign, TRUE);
		return -EINVAL;
	}
	pfs_sign_date(g_get_real_time() / G_USEC_PER_SEC, date);
	add_header(headers, "X-Sdk-Date", date);
	if (keys->security_token)
		add_header(headers, "X-Security-Token", keys->security_token);
	g_ptr_array_add(to_sign, g_strconcat("Host: ", host, NULL));
	for (i = first; i < headers->len; i++)
		g_ptr_array_add(to_sign, g_strdup(headers->pdata[i]));
	g_ptr_array_add(to_sign, NULL);
	req.headers = (const char *const *)to_sign->pdata;
	authorization = pfs_sign_authorization(&req, date, keys->ak, keys->sk,
					       err, errsize);
	pfs_auth_headers_free(to_sign);
	g_free(host);
	if (!authorization)
		return -EINVAL;
	add_header(headers, "Authorization", authorization);
	g_free(authorization);
	return 0;
}

int pfs_auth_headers(struct pfs_auth *auth, const char *method, const char *url,
		     const char *body, size_t body_len, double deadline,
		     GPtrArray *headers, unsigned *generation, char *err,
		     size_t errsize)
{
	struct pfs_credentials keys = { 0 };
	char *value = NULL;
	int res;

	if (auth->source == SOURCE_KEYS_ENV) {
		*generation = 1;
		return sign(&auth->keys, method, url, body, body_len, headers,
			    err, errsize);
	}
	if (auth->iam)
		res = pfs_iam_token(auth->iam, deadline, &value, generation, err,
				    errsize);
	else if ((res = pfs_token_get_generation(auth->token, &value,
						 generation)) < 0)
		snprintf(err, errsize, "no credentials");
	if (res < 0)
		return res;
	if (auth->source == SOURCE_KEYS_FILE) {
		pfs_credentials_unpack(value, &keys);
		res = sign(&keys, method, url, body, body_len, headers, err,
			   errsize);
		pfs_credentials_clear(&keys);
	} else {
		add_header(headers, "X-Auth-Token", value);
	}
	pfs_token_release(value);
	return res;
}

void pfs_auth_headers_free(GPtrArray *headers)
{
	guint i;

	if (!headers)
		return;
	for (i = 0; i < headers->len; i++)	/* a NULL end is fine */
		zero_free(headers->pdata[i]);
	g_ptr_array_free(headers, TRUE);
}

unsigned pfs_auth_generation(struct pfs_auth *auth)
{
	if (auth->iam)
		return pfs_iam_generation(auth->iam);
	return auth->token ? pfs_token_generation(auth->token) : 1;
}

void pfs_auth_refused(struct pfs_auth *auth, unsigned generation)
{
	if (auth->iam)
		pfs_iam_refused(auth->iam, generation);
}

/* The gateway's words for a signature dated too far from its clock. */
static bool says_time_is_off(const char *msg)
{
	return msg && (strcasestr(msg, "request time") ||
		       strcasestr(msg, "x-sdk-date"));
}

void pfs_auth_check_refusal(struct pfs_auth *auth, const char *code,
			    const char *msg, gint64 server_date)
{
	gint64 off = server_date ? g_get_real_time() / G_USEC_PER_SEC - server_date : 0;
	bool told = says_time_is_off(msg);
	char clean_msg[256], clean_code[64], offset[128] = "";

	if (!told && ABS(off) <= PFS_AUTH_SKEW_WARN)
		return;
	if (__atomic_exchange_n(&auth->skew_logged, 1, __ATOMIC_ACQ_REL))
		return;
	if (server_date)
		snprintf(offset, sizeof(offset), "our clock is %" G_GINT64_FORMAT
			 " s %s the service's Date; ", ABS(off),
			 off >= 0 ? "ahead of" : "behind");
	if (told)
		pfs_log_warn("clock skew: %sthe service says: %s %s; signed "
			     "requests are refused beyond 15 minutes: set the "
			     "clock (NTP)", offset,
			     pfs_log_clean(clean_code, sizeof(clean_code),
					   code ? code : "-", code ? strlen(code) : 1),
			     pfs_log_clean(clean_msg, sizeof(clean_msg), msg,
					   strlen(msg)));
	else
		pfs_log_warn("clock skew: %ssigned requests are refused beyond "
			     "15 minutes: set the clock (NTP)", offset);
}
