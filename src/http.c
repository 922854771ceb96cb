/* http.c - see http.h */
#include "http.h"
#include "stats.h"

#include <curl/curl.h>
#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct pfs_http {
	CURLSH *share;
	/* one lock per curl_lock_data kind, as libcurl asks of a share */
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
	long timeout_ms;
	long max_connections;
	char *cacert;		/* CA bundle path, or NULL: libcurl's default */
	bool (*stop)(void *);	/* set before any request */
	void *stop_arg;
};

/* What one transfer gathers. The header fields describe the latest
 * response seen: a proxy's or an interim answer's are forgotten when the
 * next status line comes. */
struct transfer {
	GString *body;
	int too_large;
	const char *capture;	/* header name to keep, or NULL */
	char *captured;		/* its value: may be a token */
	long retry_after;
	gint64 date;
};

static void share_lock(CURL *handle, curl_lock_data data,
		       curl_lock_access access, void *userp)
{
	struct pfs_http *http = userp;

	(void)handle;
	(void)access;
	pthread_mutex_lock(&http->locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userp)
{
	struct pfs_http *http = userp;

	(void)handle;
	pthread_mutex_unlock(&http->locks[data]);
}

int pfs_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
}

void pfs_http_global_cleanup(void)
{
	curl_global_cleanup();
}

int pfs_http_new(long timeout_ms, long max_connections, struct pfs_http **out)
{
	struct pfs_http *http = g_new0(struct pfs_http, 1);
	int i;

	http->timeout_ms = timeout_ms;
	http->max_connections = max_connections;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&http->locks[i], NULL);
	http->share = curl_share_init();
	if (!http->share) {
		pfs_http_free(http);
		return -ENOMEM;
	}
	curl_share_setopt(http->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(http->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(http->share, CURLSHOPT_USERDATA, http);
	curl_share_setopt(http->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(http->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(http->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	*out = http;
	return 0;
}

void pfs_http_free(struct pfs_http *http)
{
	int i;

	if (!http)
		return;
	if (http->share)
		curl_share_cleanup(http->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&http->locks[i]);
	g_free(http->cacert);
	g_free(http);
}

void pfs_http_set_cacert(struct pfs_http *http, const char *path)
{
	g_free(http->cacert);
	http->cacert = g_strdup(path);
}

void pfs_http_set_stop(struct pfs_http *http, bool (*stop)(void *), void *arg)
{
	http->stop = stop;
	http->stop_arg = arg;
}

static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct pfs_http *http = userp;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return http->stop && http->stop(http->stop_arg);	/* nonzero aborts */
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct transfer *t = userp;
	size_t len = size * nmemb;

	if (t->body->len + len > PFS_HTTP_MAX_BODY) {
		/* cut off at the limit: libcurl stops with CURLE_WRITE_ERROR
		 * and closes the connection, reading no more of it */
		t->too_large = 1;
		return 0;
	}
	g_string_append_len(t->body, data, (gssize)len);
	return len;
}

static void forget_captured(struct transfer *t)
{
	if (t->captured)
		explicit_bzero(t->captured, strlen(t->captured));
	g_free(t->captured);
	t->captured = NULL;
}

/* The value of header line @line (@len bytes, CRLF included) if it is
 * header @name, trimmed, as a pointer into @line and its length; else
 * NULL. */
static const char *header_value(const char *line, size_t len,
				const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *value, *end = line + len;

	if (len <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
		return NULL;
	value = line + nlen + 1;
	while (value < end && (*value == ' ' || *value == '\t'))
		value++;
	while (end > value && strchr(" \t\r\n", end[-1]))
		end--;
	*vlen = (size_t)(end - value);
	return value;
}

/* Copies @value (@vlen bytes) into @buf as a string; false when too long. */
static bool copy_value(const char *value, size_t vlen, char *buf, size_t size)
{
	if (vlen >= size)
		return false;
	memcpy(buf, value, vlen);
	buf[vlen] = '\0';
	return true;
}

static void read_retry_after(struct transfer *t, const char *value, size_t vlen)
{
	char text[32];
	char *end;
	long seconds;

	if (!copy_value(value, vlen, text, sizeof(text)))
		return;
	seconds = strtol(text, &end, 10);
	/* only delta-seconds; an HTTP date counts as absent */
	if (end != text && seconds >= 0 && !*end)
		t->retry_after = seconds;
}

static void read_date(struct transfer *t, const char *value, size_t vlen)
{
	char text[64];
	time_t date;

	if (!copy_value(value, vlen, text, sizeof(text)))
		return;
	date = curl_getdate(text, NULL);
	t->date = date > 0 ? (gint64)date : 0;
}

/* libcurl hands each header line whole, at most CURL_MAX_HTTP_HEADER
 * (100 KiB) long: that bounds a captured value too. */
static size_t on_header(char *line, size_t size, size_t nmemb, void *userp)
{
	struct transfer *t = userp;
	size_t len = size * nmemb;
	const char *value;
	size_t vlen;

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		t->retry_after = -1;
		t->date = 0;
		forget_captured(t);
	} else if ((value = header_value(line, len, "Retry-After", &vlen))) {
		read_retry_after(t, value, vlen);
	} else if ((value = header_value(line, len, "Date", &vlen))) {
		read_date(t, value, vlen);
	} else if (t->capture &&
		   (value = header_value(line, len, t->capture, &vlen))) {
		forget_captured(t);
		t->captured = g_strndup(value, vlen);
	}
	return len;
}

static bool has_header(const char *const *headers, const char *name)
{
	size_t nlen = strlen(name);

	for (; headers && *headers; headers++)
		if (strncasecmp(*headers, name, nlen) == 0 && (*headers)[nlen] == ':')
			return true;
	return false;
}

/* The copies libcurl made may hold a token: zeroed before freeing. */
static void free_header_list(struct curl_slist *list)
{
	struct curl_slist *node;

	for (node = list; node; node = node->next)
		explicit_bzero(node->data, strlen(node->data));
	curl_slist_free_all(list);
}

static struct curl_slist *append_header(struct curl_slist **list,
					const char *header)
{
	struct curl_slist *next = curl_slist_append(*list, header);

	if (!next) {
		free_header_list(*list);
		*list = NULL;
		return NULL;
	}
	*list = next;
	return next;
}

static struct curl_slist *make_header_list(const struct pfs_http_request *req,
					   bool post)
{
	struct curl_slist *list = NULL;
	const char *const *header;

	for (header = req->headers; header && *header; header++)
		if (!append_header(&list, *header))
			return NULL;
	if (post && !has_header(req->headers, "Content-Type") &&
	    !append_header(&list, "Content-Type: application/json"))
		return NULL;
	/* libcurl would wait for a 100 Continue before a body over 1 MiB
	 * (1 KiB in older versions): a round trip for nothing */
	if (post && !append_header(&list, "Expect:"))
		return NULL;
	if (!append_header(&list, "Accept: application/json"))
		return NULL;
	return list;
}

static void set_request_options(struct pfs_http *http, CURL *curl,
				const struct pfs_http_request *req, bool post,
				struct curl_slist *headers, struct transfer *t,
				char *curl_err)
{
	long timeout_ms = req->timeout_ms;

	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	if (post) {
		curl_easy_setopt(curl, CURLOPT_POST, 1L);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(req->body ? req->body_len : 0));
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
	curl_easy_setopt(curl, CURLOPT_SHARE, http->share);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
			 timeout_ms > 0 && timeout_ms < http->timeout_ms ? timeout_ms
									 : http->timeout_ms);
	/* the shared pool keeps this many alive (libcurl's default is 5):
	 * against the real service each new one is a TLS handshake */
	curl_easy_setopt(curl, CURLOPT_MAXCONNECTS, http->max_connections);
	/* a body announced larger than the limit is refused unread */
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)PFS_HTTP_MAX_BODY);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (http->cacert)
		curl_easy_setopt(curl, CURLOPT_CAINFO, http->cacert);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "pipelinefs/" PFS_VERSION);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(curl, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, http);
}

/* OpenSSL's X509_V_ERR_* codes, as CURLINFO_SSL_VERIFYRESULT gives them
 * (libcurl is built with OpenSSL here; its headers are not ours to need). */
enum {
	X509_UNABLE_TO_GET_ISSUER_CERT = 2,
	X509_CERT_NOT_YET_VALID = 9,
	X509_CERT_HAS_EXPIRED = 10,
	X509_DEPTH_ZERO_SELF_SIGNED_CERT = 18,
	X509_SELF_SIGNED_CERT_IN_CHAIN = 19,
	X509_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20,
	X509_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21,
	X509_HOSTNAME_MISMATCH = 62,
	X509_IP_ADDRESS_MISMATCH = 64,
};

static void url_host(const char *url, char *host, size_t size)
{
	CURLU *parsed = curl_url();
	char *part = NULL;

	snprintf(host, size, "the server");
	if (parsed && curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(parsed, CURLUPART_HOST, &part, 0) == CURLUE_OK)
		snprintf(host, size, "%s", part);
	curl_free(part);
	curl_url_cleanup(parsed);
}

static const char *ca_bundle(struct pfs_http *http, CURL *curl)
{
	char *path = NULL;

	if (http->cacert)
		return http->cacert;
	/* libcurl's built-in default */
	if (curl_easy_getinfo(curl, CURLINFO_CAINFO, &path) != CURLE_OK || !path)
		return "the system's CA bundle";
	return path;
}

/* Says which check of the server's certificate failed. libcurl checks
 * the name itself once OpenSSL's chain checks passed, and then reports no
 * verify result of OpenSSL's (1, "unspecified"): only its message says
 * so, in every version ("... target host name '%s'"). */
static void certificate_error(struct pfs_http *http, CURL *curl,
			      const char *url, const char *detail, char *err,
			      size_t errsize)
{
	long verify = -1;
	char host[256];

	curl_easy_getinfo(curl, CURLINFO_SSL_VERIFYRESULT, &verify);
	url_host(url, host, sizeof(host));
	switch (verify) {
	case X509_UNABLE_TO_GET_ISSUER_CERT:
	case X509_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		snprintf(err, errsize, "TLS: unknown certificate authority: the "
			 "certificate of %s is not signed by a CA in %s (behind a "
			 "TLS-inspecting proxy, set -o cacert=PATH to its CA bundle)",
			 host, ca_bundle(http, curl));
		return;
	case X509_CERT_HAS_EXPIRED:
		snprintf(err, errsize, "TLS: certificate expired (%s)", host);
		return;
	case X509_CERT_NOT_YET_VALID:
		snprintf(err, errsize, "TLS: certificate not yet valid (%s; is "
			 "this machine's clock right?)", host);
		return;
	case X509_HOSTNAME_MISMATCH:
	case X509_IP_ADDRESS_MISMATCH:
		snprintf(err, errsize, "TLS: certificate name mismatch (%s)", host);
		return;
	}
	if (strstr(detail, "target host name"))
		snprintf(err, errsize, "TLS: certificate name mismatch (%s): %s",
			 host, detail);
	else
		snprintf(err, errsize, "TLS: certificate of %s refused: %s",
			 host, detail);
}

static void tls_error(struct pfs_http *http, CURL *curl, const char *url,
		      CURLcode code, const char *detail, char *err,
		      size_t errsize)
{
	if (code == CURLE_PEER_FAILED_VERIFICATION)
		certificate_error(http, curl, url, detail, err, errsize);
	else if (code == CURLE_SSL_CACERT_BADFILE)
		snprintf(err, errsize, "TLS: cannot use the CA bundle %s: %s",
			 ca_bundle(http, curl), detail);
	else
		snprintf(err, errsize, "TLS: %s", detail);
}

static bool is_tls_error(CURLcode code)
{
	switch (code) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return true;
	default:
		return false;
	}
}

static int transfer_error(struct pfs_http *http, CURL *curl, const char *url,
			  CURLcode code, const struct transfer *t,
			  const char *curl_err, char *err, size_t errsize)
{
	const char *detail = curl_err[0] ? curl_err : curl_easy_strerror(code);

	if (t->too_large || code == CURLE_FILESIZE_EXCEEDED) {
		snprintf(err, errsize, "response body over %u bytes",
			 PFS_HTTP_MAX_BODY);
		return -EMSGSIZE;
	}
	if (is_tls_error(code))
		tls_error(http, curl, url, code, detail, err, errsize);
	else
		snprintf(err, errsize, "%s", detail);
	if (code == CURLE_OPERATION_TIMEDOUT)
		return -ETIMEDOUT;
	if (code == CURLE_ABORTED_BY_CALLBACK)
		return -ECANCELED;
	if (code == CURLE_OUT_OF_MEMORY)
		return -ENOMEM;
	return -ECOMM;
}

static int check_method(const struct pfs_http_request *req, bool *post,
			char *err, size_t errsize)
{
	if (req->method && strcmp(req->method, "POST") == 0) {
		*post = true;
		return 0;
	}
	*post = false;
	if (!req->method || strcmp(req->method, "GET") == 0)
		return 0;
	snprintf(err, errsize, "HTTP method %s not supported", req->method);
	return -EINVAL;
}

static void take_response(CURL *curl, struct transfer *t,
			  struct pfs_http_response *resp)
{
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->body_len = t->body->len;
	resp->body = g_string_free(t->body, FALSE);
	t->body = NULL;
	resp->retry_after = t->retry_after;
	resp->date = t->date;
	resp->captured = t->captured;
	t->captured = NULL;
}

int pfs_http_request(struct pfs_http *http, const struct pfs_http_request *req,
		     struct pfs_http_response *resp, char *err, size_t errsize)
{
	char curl_err[CURL_ERROR_SIZE] = "";
	struct transfer t = { .retry_after = -1, .capture = req->capture };
	struct curl_slist *list;
	CURLcode code;
	CURL *curl;
	double start;
	bool post;
	int res;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
	res = check_method(req, &post, err, errsize);
	if (res < 0)
		return res;
	res = -ENOMEM;
	snprintf(err, errsize, "out of memory");
	curl = curl_easy_init();
	if (!curl)
		return -ENOMEM;
	list = make_header_list(req, post);
	if (!list)
		goto out_curl;
	t.body = g_string_new(NULL);
	set_request_options(http, curl, req, post, list, &t, curl_err);
	start = pfs_stats_transfer_begin();
	code = curl_easy_perform(curl);
	pfs_stats_transfer_end(start, t.body->len);
	if (code == CURLE_OK) {
		take_response(curl, &t, resp);
		err[0] = '\0';
		res = 0;
	} else {
		res = transfer_error(http, curl, req->url, code, &t, curl_err, err,
				     errsize);
		g_string_free(t.body, TRUE);
		forget_captured(&t);
	}
	free_header_list(list);
out_curl:
	curl_easy_cleanup(curl);
	return res;
}

int pfs_http_get(struct pfs_http *http, const char *url,
		 const char *const *headers, long timeout_ms,
		 struct pfs_http_response *resp, char *err, size_t errsize)
{
	const struct pfs_http_request req = {
		.method = "GET",
		.url = url,
		.headers = headers,
		.timeout_ms = timeout_ms,
	};

	return pfs_http_request(http, &req, resp, err, errsize);
}

void pfs_http_response_clear(struct pfs_http_response *resp)
{
	g_free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	if (resp->captured)
		explicit_bzero(resp->captured, strlen(resp->captured));
	g_free(resp->captured);
	resp->captured = NULL;
}
