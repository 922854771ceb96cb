/* http.h - the HTTP client: GET or POST with libcurl, bounded in time and
 * size.
 *
 * One struct pfs_http is shared by every thread; it holds a libcurl share
 * handle so that connections, DNS answers and TLS sessions are reused.
 * Each pfs_http_request() runs on its own easy handle, so calls may run
 * concurrently.
 */
#ifndef PFS_HTTP_H
#define PFS_HTTP_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* Bodies larger than this are cut off there (or refused unread when
 * announced so): no real status response is near. */
#define PFS_HTTP_MAX_BODY (16u << 20)

struct pfs_http;

struct pfs_http_response {
	long status;		/* HTTP status code */
	char *body;		/* NUL-ended; owned, free with pfs_http_response_clear */
	size_t body_len;
	long retry_after;	/* seconds from a Retry-After header, or -1 */
	char *captured;		/* value of the request's capture header,
				 * trimmed, or NULL; owned; may be a token:
				 * pfs_http_response_clear zeroes it */
	gint64 date;		/* the Date header, epoch seconds, or 0 (for
				 * clock skew) */
};

/* One request. Only the last response's headers count (not those of a
 * proxy's CONNECT answer or of a 100 Continue). */
struct pfs_http_request {
	const char *method;		/* "GET" or "POST" */
	const char *url;
	const char *const *headers;	/* NULL-ended "Name: value", or NULL */
	const char *body;		/* POST body (sent as is), or NULL */
	size_t body_len;
	long timeout_ms;		/* 0: the configured timeout; else the
					 * shorter of the two */
	const char *capture;		/* one response header to keep (e.g.
					 * "X-Subject-Token"), or NULL */
};

/* Call once from main() before any thread starts. */
int pfs_http_global_init(void);
void pfs_http_global_cleanup(void);

/* @timeout_ms bounds a whole request, connection included;
 * @max_connections are kept alive for reuse. */
int pfs_http_new(long timeout_ms, long max_connections, struct pfs_http **out);
void pfs_http_free(struct pfs_http *http);

/* Verifies servers against the PEM bundle at @path (CURLOPT_CAINFO)
 * instead of libcurl's built-in default; before any request. libcurl reads
 * no environment variable for it (the curl tool does): the caller chooses
 * (options.h: cacert=, $CURL_CA_BUNDLE, $SSL_CERT_FILE). The file is read
 * by each new connection; a later failure to read it is a TLS error. */
void pfs_http_set_cacert(struct pfs_http *http, const char *path);

/* Transfers stop (as -ECANCELED) as soon as @stop(@arg) returns true:
 * so that unmounting never waits for a request that hangs. */
void pfs_http_set_stop(struct pfs_http *http, bool (*stop)(void *), void *arg);

/* Sends @req and fills @resp. "Accept: application/json" is always sent;
 * a POST also sends "Content-Type: application/json" unless @req->headers
 * name a Content-Type. Returns 0 when a response arrived, whatever its
 * status; then the caller owns what @resp holds (pfs_http_response_clear).
 * Otherwise @resp holds nothing and the result is -ETIMEDOUT, -ECOMM
 * (connection, TLS or protocol failure; a failed certificate check says
 * which one: "TLS: unknown certificate authority ...", "TLS: certificate
 * name mismatch (HOST)", "TLS: certificate expired (HOST)"), -EMSGSIZE (body over
 * PFS_HTTP_MAX_BODY), -ECANCELED (stopped), -EINVAL (a method other than
 * GET or POST) or -ENOMEM, with a description in @err. */
int pfs_http_request(struct pfs_http *http, const struct pfs_http_request *req,
		     struct pfs_http_response *resp, char *err, size_t errsize);

/* pfs_http_request() of a GET of @url with @headers within @timeout_ms. */
int pfs_http_get(struct pfs_http *http, const char *url,
		 const char *const *headers, long timeout_ms,
		 struct pfs_http_response *resp, char *err, size_t errsize);

void pfs_http_response_clear(struct pfs_http_response *resp);

#endif
