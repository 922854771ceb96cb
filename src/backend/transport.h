/* transport.h - one request to the service, whichever API: the limiter,
 * the credentials' headers, throttling waited out within the deadline,
 * errors (in any status, in either body shape) mapped to -errno and
 * described for the log (the caller decides what to log, so an outage is
 * reported once, not on every read), a 401 pausing the mount.
 * Thread-safe; holds no state but its configuration and the refusal.
 */
#ifndef PFS_TRANSPORT_H
#define PFS_TRANSPORT_H

#include <stdbool.h>

#include "backend.h"

struct pfs_transport;

/* One call: what is sent, and how its answer is judged. */
struct pfs_call {
	const char *method;	/* "GET" or "POST" */
	const char *path;	/* and query: for the URL and the log */
	const char *body;	/* POST body, or NULL */
	bool named_build;	/* a 400 means "no such build" */
};

/* @endpoint is the base URL without a trailing '/'. Uses, but does not
 * own, @http, @auth and @limiter. */
struct pfs_transport *pfs_transport_new(const char *endpoint,
					struct pfs_http *http,
					struct pfs_auth *auth,
					struct pfs_limiter *limiter);
void pfs_transport_free(struct pfs_transport *t);

/* Sends @call, waiting out throttling if that ends before @deadline.
 * 0 with the 200 response in @resp (clear it with
 * pfs_http_response_clear, and judge its body with
 * pfs_transport_note_answer), else the errors of backend.h with @failure
 * filled in. */
int pfs_transport_request(struct pfs_transport *t, const struct pfs_call *call,
			  double deadline, struct pfs_http_response *resp,
			  struct pfs_backend_failure *failure);

/* A 200 counts (stats.h) once its body is judged: usable (@res 0) or not
 * (@failure says why). */
void pfs_transport_note_answer(int res, const struct pfs_backend_failure *failure);

/* Sends @call and hands its 200 body to @parse (@len bytes, not
 * NUL-ended; it returns 0 or -errno with a reason in @err), describing an
 * unusable body in @failure. The common shape of every JSON call. */
int pfs_transport_call(struct pfs_transport *t, const struct pfs_call *call,
		       double deadline,
		       int (*parse)(const char *body, size_t len, void *data,
				    char *err, size_t errsize),
		       void *data, struct pfs_backend_failure *failure);

unsigned pfs_transport_credentials(struct pfs_transport *t);

#endif
