/* limiter.h - how many requests may go out, and when.
 *
 * Three limits, one place: at most max_in_flight requests at once (the
 * connection pool's size), at most `rate` requests per second across the
 * mount (a token bucket holding one second's worth), and none at all while
 * the service has told us to back off (429, or 503 with Retry-After) or
 * refused our credentials (401, 403: every other request would be refused
 * too, and a key that keeps failing gets locked).
 * Thread-safe: one mutex guards every field.
 */
#ifndef PFS_LIMITER_H
#define PFS_LIMITER_H

#include <stdbool.h>

/* Shortest and longest pause a Retry-After may impose. */
#define PFS_LIMITER_MIN_PAUSE 1.0
#define PFS_LIMITER_MAX_PAUSE 60.0
/* The pause after refused credentials: one request per 30 s probes them
 * (the gateway locks a key for five minutes after five bad signatures). */
#define PFS_LIMITER_AUTH_PAUSE 30.0

struct pfs_limiter;

/* @rate 0 means no rate limit. */
int pfs_limiter_new(unsigned max_in_flight, double rate,
		    struct pfs_limiter **out);
void pfs_limiter_free(struct pfs_limiter *limiter);

/* Waits for the right to send one request until @deadline (monotonic
 * seconds, see pfs_limiter_now()). Returns 0, and the caller must call
 * pfs_limiter_release() when the request ends; or -EACCES at once while
 * paused for refused credentials, or -EAGAIN at once when the right cannot
 * come by @deadline (throttled, rate or slots exhausted). */
int pfs_limiter_acquire(struct pfs_limiter *limiter, double deadline);
void pfs_limiter_release(struct pfs_limiter *limiter);

/* Waits in pfs_limiter_acquire() end with -EAGAIN soon after @stop(@arg)
 * returns true: so that unmounting never waits for them. Set it before
 * any request. */
void pfs_limiter_set_stop(struct pfs_limiter *limiter, bool (*stop)(void *),
			  void *arg);

/* When the next request could start (monotonic seconds): the end of a
 * pause, or of the wait for a token; now when only slots are short. */
double pfs_limiter_next_start(struct pfs_limiter *limiter);

/* The service throttled us: no request starts for @retry_after seconds,
 * or, when it named none (< 0), for an exponentially growing, jittered
 * pause. Returns the pause chosen. */
double pfs_limiter_throttled(struct pfs_limiter *limiter, double retry_after);

/* The service refused our credentials (a 401): no request starts for
 * PFS_LIMITER_AUTH_PAUSE seconds, unless they change meanwhile. Returns
 * the pause. */
double pfs_limiter_unauthorized(struct pfs_limiter *limiter);

/* The credentials changed: a pause for refused ones ends now. */
void pfs_limiter_credentials_changed(struct pfs_limiter *limiter);

/* A request went through: throttling and refusal backoffs start over. */
void pfs_limiter_succeeded(struct pfs_limiter *limiter);

double pfs_limiter_now(void);

/* @base * 2^(@attempt - 1), capped at @cap, times a random factor in
 * [0.5, 1.5) so that many clients do not retry in step. */
double pfs_limiter_backoff(double base, unsigned attempt, double cap);

#endif
