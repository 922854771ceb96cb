/* http.h - the HTTP client: GET a URL with libcurl, bounded in time and size.
 *
 * One struct pfs_http is shared by every thread; it holds a libcurl share
 * handle so that connections, DNS answers and TLS sessions are reused.
 * Each pfs_http_get() runs on its own easy handle, so calls may run
 * concurrently.
 */
#ifndef PFS_HTTP_H
#define PFS_HTTP_H

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
};

/* Call once from main() before any thread starts. */
int pfs_http_global_init(void);
void pfs_http_global_cleanup(void);

/* @timeout_ms bounds a whole request, connection included;
 * @max_connections are kept alive for reuse. */
int pfs_http_new(long timeout_ms, long max_connections, struct pfs_http **out);
void pfs_http_free(struct pfs_http *http);

/* Transfers stop (as -ECANCELED) as soon as @stop(@arg) returns true:
 * so that unmounting never waits for a request that hangs. */
void pfs_http_set_stop(struct pfs_http *http, bool (*stop)(void *), void *arg);

/* GETs @url sending the NULL-ended list @headers ("Name: value"), within
 * @timeout_ms if that is shorter than the configured timeout (0: none).
 * Returns 0 when a response arrived, whatever its status; then the caller
 * owns resp->body. Otherwise -ETIMEDOUT, -ECOMM (connection or protocol
 * failure), -EMSGSIZE (body over PFS_HTTP_MAX_BODY), -ECANCELED (stopped)
 * or -ENOMEM, with a
 * description in @err. */
int pfs_http_get(struct pfs_http *http, const char *url,
		 const char *const *headers, long timeout_ms,
		 struct pfs_http_response *resp, char *err, size_t errsize);

void pfs_http_response_clear(struct pfs_http_response *resp);

#endif
