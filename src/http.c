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
	bool (*stop)(void *);	/* set before any request */
	void *stop_arg;
};

struct transfer {
	GString *body;
	long retry_after;
	int too_large;
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
	g_free(http);
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

static size_t on_header(char *line, size_t size, size_t nmemb, void *userp)
{
	struct transfer *t = userp;
	size_t len = size * nmemb;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 &&
	    strncasecmp(line, name, sizeof(name) - 1) == 0) {
		char value[32];
		size_t vlen = len - (sizeof(name) - 1);
		char *end;
		long seconds;

		if (vlen >= sizeof(value))
			vlen = sizeof(value) - 1;
		memcpy(value, line + sizeof(name) - 1, vlen);
		value[vlen] = '\0';
		seconds = strtol(value, &end, 10);
		/* only delta-seconds; an HTTP date counts as absent */
		if (end != value && seconds >= 0 && strspn(end, " \t\r\n") == strlen(end))
			t->retry_after = seconds;
	}
	return len;
}

static struct curl_slist *make_header_list(const char *const *headers)
{
	struct curl_slist *list = NULL;

	for (; headers && *headers; headers++) {
		struct curl_slist *next = curl_slist_append(list, *headers);

		if (!next) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = next;
	}
	return curl_slist_append(list, "Accept: application/json");
}

static void set_request_options(struct pfs_http *http, CURL *curl,
				const char *url, struct curl_slist *headers,
				long timeout_ms, struct transfer *t,
				char *curl_err)
{
	curl_easy_setopt(curl, CURLOPT_URL, url);
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
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "pipelinefs/" PFS_VERSION);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, http);
}

static int transfer_error(CURLcode code, const struct transfer *t,
			  const char *curl_err, char *err, size_t errsize)
{
	if (t->too_large || code == CURLE_FILESIZE_EXCEEDED) {
		snprintf(err, errsize, "response body over %u bytes",
			 PFS_HTTP_MAX_BODY);
		return -EMSGSIZE;
	}
	snprintf(err, errsize, "%s", curl_err[0] ? curl_err : curl_easy_strerror(code));
	if (code == CURLE_OPERATION_TIMEDOUT)
		return -ETIMEDOUT;
	if (code == CURLE_ABORTED_BY_CALLBACK)
		return -ECANCELED;
	if (code == CURLE_OUT_OF_MEMORY)
		return -ENOMEM;
	return -ECOMM;
}

int pfs_http_get(struct pfs_http *http, const char *url,
		 const char *const *headers, long timeout_ms,
		 struct pfs_http_response *resp, char *err, size_t errsize)
{
	char curl_err[CURL_ERROR_SIZE] = "";
	struct transfer t = { .retry_after = -1 };
	struct curl_slist *list;
	CURLcode code;
	CURL *curl;
	double start;
	int res = -ENOMEM;

	memset(resp, 0, sizeof(*resp));
	snprintf(err, errsize, "out of memory");
	curl = curl_easy_init();
	if (!curl)
		return -ENOMEM;
	list = make_header_list(headers);
	if (!list)
		goto out_curl;
	t.body = g_string_new(NULL);
	set_request_options(http, curl, url, list, timeout_ms, &t, curl_err);
	start = pfs_stats_transfer_begin();
	code = curl_easy_perform(curl);
	pfs_stats_transfer_end(start, t.body->len);
	if (code != CURLE_OK) {
		res = transfer_error(code, &t, curl_err, err, errsize);
		g_string_free(t.body, TRUE);
		goto out_list;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->body_len = t.body->len;
	resp->body = g_string_free(t.body, FALSE);
	resp->retry_after = t.retry_after;
	err[0] = '\0';
	res = 0;
out_list:
	curl_slist_free_all(list);
out_curl:
	curl_easy_cleanup(curl);
	return res;
}

void pfs_http_response_clear(struct pfs_http_response *resp)
{
	g_free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}
