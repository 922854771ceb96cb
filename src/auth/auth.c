/* auth.c - see auth.h */
#include "auth.h"
#include "log.h"
#include "token.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum source {
	SOURCE_TOKEN_FILE,
	SOURCE_TOKEN_ENV,
};

struct pfs_auth {
	enum source source;
	struct pfs_token *token;	/* the token sources */
	int skew_logged;		/* atomic: "clock skew" said once */
};

static void zero_free(void *text)
{
	if (text) {
		explicit_bzero(text, strlen(text));
		g_free(text);
	}
}

static int open_token(struct pfs_auth *auth, const struct pfs_options *opts,
		      char *err, size_t errsize)
{
	int res;

	if (opts->token_file) {
		auth->source = SOURCE_TOKEN_FILE;
		res = pfs_token_new_from_file(opts->token_file, &auth->token,
					      err, errsize);
		if (res == 0)
			pfs_log_info("credentials: the IAM token in %s",
				     opts->token_file);
		return res;
	}
	auth->source = SOURCE_TOKEN_ENV;
	res = pfs_token_new_from_string(opts->token, &auth->token, err, errsize);
	if (res == 0)
		pfs_log_info("credentials: the IAM token in PIPELINEFS_TOKEN");
	return res;
}

int pfs_auth_new(const struct pfs_options *opts, struct pfs_http *http,
		 struct pfs_auth **out, char *err, size_t errsize)
{
	struct pfs_auth *auth = g_new0(struct pfs_auth, 1);
	int res;

	(void)http;
	if (!opts->token_file && !opts->token) {
		snprintf(err, errsize, "no credentials: give -o token_file=PATH "
			 "or set PIPELINEFS_TOKEN");
		res = -ENOENT;
	} else {
		res = open_token(auth, opts, err, errsize);
	}
	if (res < 0) {
		pfs_auth_free(auth);
		return res;
	}
	*out = auth;
	return 0;
}

int pfs_auth_start(struct pfs_auth *auth)
{
	return auth->token ? pfs_token_start(auth->token) : 0;
}

void pfs_auth_free(struct pfs_auth *auth)
{
	if (!auth)
		return;
	pfs_token_free(auth->token);
	g_free(auth);
}

static int token_headers(struct pfs_auth *auth, GPtrArray *headers,
			 unsigned *generation)
{
	char *token = NULL;
	int res = pfs_token_get_generation(auth->token, &token, generation);

	if (res < 0)
		return res;
	g_ptr_array_add(headers, g_strconcat("X-Auth-Token: ", token, NULL));
	pfs_token_release(token);
	return 0;
}

int pfs_auth_headers(struct pfs_auth *auth, const char *method, const char *url,
		     const char *body, size_t body_len, double deadline,
		     GPtrArray *headers, unsigned *generation, char *err,
		     size_t errsize)
{
	int res;

	(void)method, (void)url, (void)body, (void)body_len, (void)deadline;
	res = token_headers(auth, headers, generation);
	if (res < 0)
		snprintf(err, errsize, "no token");
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
	return pfs_token_generation(auth->token);
}

void pfs_auth_refused(struct pfs_auth *auth, unsigned generation)
{
	(void)auth, (void)generation;
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
