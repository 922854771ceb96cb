/* stats.h - the mount's health and metrics: process-wide counters fed by
 * the places that know (http.c, api.c, limiter.c, the cache and its
 * monitor), a health state derived from them, and the two texts served
 * as .pipelinefs/health and .pipelinefs/metrics.
 *
 * Units: durations in seconds (double); times passed in are monotonic
 * seconds on the clock of pfs_limiter_now(), and are shown as wall-clock
 * times (ISO 8601 UTC, seconds) converted when a text is made, so a step
 * of the wall clock (NTP at boot) never garbles them; sizes in bytes.
 *
 * Health states, the first that holds, at the time a text is made:
 *   throttled     a pause the service asked for (429, or 503 with
 *                 Retry-After) is on: pfs_stats_throttled_until()
 *   unauthorized  a pause after refused credentials is on
 *                 (pfs_stats_unauthorized_until())
 *   down          the last PFS_STATS_DOWN_AFTER or more requests in a row
 *                 ended in a network error, a timeout or a 5xx, and
 *                 nothing succeeded since
 *   unauthorized  the last HTTP answer was a 401 or 403 (any other answer
 *                 clears that; a network failure does not)
 *   degraded      the last request failed, or an entry of the cache is
 *                 backing off (pfs_stats_backoff_until()): stale copies
 *                 are served, some reads fail
 *   ok            none of that
 * Down against degraded: only failures that say "the service cannot be
 * reached or cannot work" count towards down, and only in a row: any
 * answer that proves it reachable and working (a 200, a 404 or 400 for a
 * build it does not know, a 401, a 429, another 4xx, an unusable 200)
 * starts the count over. So one pipeline's garbage or one slow request
 * among good ones is degraded; an outage is down after three requests.
 * Answers that count as successes (last_success, and the end of down and
 * degraded): 200 with a usable body, and 404 or 400: the service answered
 * that a build or pipeline does not exist, which the mount caches as
 * such. They are not errors of the mount: last_error keeps the last real
 * failure. Requests not sent (the limiter held them back, no token) are
 * counted in the metrics but change no state: the pause that held them is
 * the state.
 * "since" is when the current state began: the time of the event that
 * changed it, or the end of the pause whose end changed it.
 *
 * Locking: counters are atomics; the health state and the table of
 * requests by result and status sit under one mutex inside, a leaf lock
 * held for a few assignments only, never across I/O or a call out of this
 * module. So every function may be called from any thread, under any
 * other lock (the limiter calls in with its own held). Texts are made
 * under the mutex, from a consistent snapshot.
 *
 * Ownership: strings passed in are copied (error texts are cleaned first,
 * see pfs_stats_request_end()); texts returned are new, freed by the
 * caller with g_free().
 */
#ifndef PFS_STATS_H
#define PFS_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Failures in a row (network, timeout, 5xx) that make the mount down. */
#define PFS_STATS_DOWN_AFTER 3
/* Longest error_msg kept for health, in bytes (cut with "..."). */
#define PFS_STATS_ERROR_MSG_MAX 400

/* How a request ended: the `result` label of pipelinefs_requests_total. */
enum pfs_stats_result {
	PFS_STATS_OK,		/* 200 with a usable body */
	PFS_STATS_HTTP_ERROR,	/* any other status */
	PFS_STATS_NETWORK_ERROR,/* no answer: connection, protocol, cancelled */
	PFS_STATS_TIMEOUT,	/* no answer in time */
	PFS_STATS_INVALID,	/* an answer with an unusable or oversized body */
	PFS_STATS_NOT_SENT,	/* held back by the limiter, or no token */
	PFS_STATS_RESULTS
};

enum pfs_stats_state {
	PFS_STATS_STATE_OK,
	PFS_STATS_STATE_DEGRADED,
	PFS_STATS_STATE_THROTTLED,
	PFS_STATS_STATE_UNAUTHORIZED,
	PFS_STATS_STATE_DOWN,
};

/* What only the cache knows, given when a text is made. */
struct pfs_stats_gauges {
	uint64_t cached_builds;	/* builds with a copy in the cache */
	uint64_t cached_bytes;	/* bytes they take (the max_bytes account) */
};

/* Starts over: every counter 0, state ok since now. Optional in the
 * daemon (the first use starts the clock); tests call it between cases.
 * Call with no other thread using this module. */
void pfs_stats_reset(void);

/* Replaces the monotonic clock (NULL: pfs_limiter_now()), for tests that
 * move time by hand. Same rule as pfs_stats_reset(). */
void pfs_stats_set_clock(double (*now)(void));

/* ---- requests (http.c, api.c) ---- */

/* A transfer begins (one request in flight more); returns its start, to
 * give back to pfs_stats_transfer_end(). */
double pfs_stats_transfer_begin(void);
/* The transfer that began at @start ended, answered or not, after
 * receiving @bytes of body (after content decoding). */
void pfs_stats_transfer_end(double start, size_t bytes);

/* Each request's outcome, once: @status the HTTP status, 0 when no answer
 * came; @error_code and @error_msg what the body said (either may be
 * NULL), or for no answer a reason in @error_msg ("Connection refused").
 * They are cleaned with pfs_log_clean() (secrets redacted, control
 * characters '?', one line) before they are kept. */
void pfs_stats_request_end(enum pfs_stats_result result, long status,
			   const char *error_code, const char *error_msg);
/* The result of a request that got no usable answer, from the -errno the
 * http client returned: -ETIMEDOUT timeout, -EMSGSIZE invalid, the rest
 * network_error. */
enum pfs_stats_result pfs_stats_result_of(int err);

/* ---- pauses and backoff (limiter.c, the cache) ---- */

/* The limiter stops every request until @until (monotonic s) for a
 * throttling answer; the latest of the times given counts. */
void pfs_stats_throttled_until(double until);
/* The limiter stops every request until @until for refused credentials;
 * 0 when new credentials end the pause early. The last call counts. */
void pfs_stats_unauthorized_until(double until);
/* A cache entry whose fetch failed with @err is not fetched again before
 * @until (monotonic s); the latest of the times given counts. -ENOENT
 * (an answer: the build does not exist) and -ECANCELED (unmounting) are
 * ignored. */
void pfs_stats_backoff_until(double until, int err);

/* ---- the cache and its monitor ---- */

void pfs_stats_cache_hit(void);
void pfs_stats_cache_miss(void);
void pfs_stats_eviction(void);
/* Readers blocked on `wait`: +1 when one starts, -1 when it ends. */
void pfs_stats_waiters_add(int delta);
/* One notification sent to the kernel (inval_inode, inval_entry, ...). */
void pfs_stats_notification(void);

/* ---- what is served ---- */

/* The state now (see above). */
enum pfs_stats_state pfs_stats_state(void);
const char *pfs_stats_state_name(enum pfs_stats_state state);

/* .pipelinefs/health: `key: value` lines (state, since, last_success,
 * last_error, throttled_until, backing_off_until, requests_in_flight,
 * waiters); times past (a pause that ended) and never are "-". @g may be
 * NULL: health shows no cache gauge today. *@len gets the length. */
char *pfs_stats_health_text(const struct pfs_stats_gauges *g, size_t *len);

/* @value as a label value of the exposition format: quoted, with
 * backslash, double quote and newline escaped (g_free() it). Every label
 * value of the metrics text goes through it. */
char *pfs_stats_label_value(const char *value);

/* .pipelinefs/metrics: Prometheus text exposition format 0.0.4, every
 * family with # HELP and # TYPE. @g NULL counts as zeros. */
char *pfs_stats_metrics_text(const struct pfs_stats_gauges *g, size_t *len);

#endif
