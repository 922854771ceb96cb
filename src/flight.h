/* flight.h - single flight: one fetch at a time per cache entry, readers
 * that wait for it within their deadline, and what a failure costs.
 *
 * Each cache entry (a build, a pipeline's latest answer) has a struct
 * pfs_flight. Fetches run on worker threads; readers only wait on the
 * board's condition, which every landing fetch broadcasts, so a reader is
 * released at its deadline, when interrupted, or when the session stops,
 * whatever the request does meanwhile.
 *
 * Locking: every function is called with board->lock held (the cache's one
 * lock); the waits drop it while they sleep.
 */
#ifndef PFS_FLIGHT_H
#define PFS_FLIGHT_H

#include <pthread.h>
#include <stdbool.h>

#include "backend.h"

/* Backoff after a failed fetch: 1 s, 2 s, 4 s ... 60 s, jittered. */
#define PFS_FLIGHT_BACKOFF_BASE 1.0
#define PFS_FLIGHT_BACKOFF_CAP 60.0

/* One reader's wait: a plain value on the reader's stack, made by
 * pfs_cache_reader_init(). Every wait ends by @deadline, and at once with
 * -EINTR once @interrupted is set (pfs_cache_interrupt()). */
struct pfs_reader {
	double deadline;	/* monotonic seconds (pfs_limiter_now()) */
	int interrupted;	/* atomic */
};

/* Where flights land and readers wait. */
struct pfs_flight_board {
	pthread_mutex_t lock;
	pthread_cond_t landed;		/* broadcast when a fetch lands */
	bool (*stop)(void *);		/* the session is ending */
	void *stop_arg;
};

struct pfs_flight {
	bool fetching;		/* a fetch is queued or running */
	void *job;		/* while queued: the worker job, else NULL */
	unsigned generation;	/* bumped when a fetch lands */
	int last_err;		/* outcome of the last fetch */
	double started_at;	/* of the fetch in flight (monotonic s) */
	double fresh_until;	/* the last answer is fresh until then */
	double retry_at;	/* no new fetch before, after a failure */
	unsigned failures;	/* in a row; 0 after a success */
	int logged_err;		/* the failure last logged; 0 when none */
	unsigned credentials;	/* generation the last failure went with */
};

void pfs_flight_board_init(struct pfs_flight_board *board);
void pfs_flight_board_destroy(struct pfs_flight_board *board);
bool pfs_flight_board_stopping(struct pfs_flight_board *board);

/* A fetch of @f is handed to a worker (@job) at @now (monotonic s). */
void pfs_flight_begin(struct pfs_flight *f, void *job, double now);
/* The fetch of @f ended with @err: wakes every waiter. */
void pfs_flight_land(struct pfs_flight_board *board, struct pfs_flight *f,
		     int err);

/* Waits until the fetch of @f in flight lands, but not past @until
 * (monotonic s) nor @reader's deadline. Returns 0 when it landed (or none
 * was in flight), -ETIMEDOUT, -EINTR (@reader interrupted) or -ECANCELED
 * (the session is ending). @reader may be NULL. */
int pfs_flight_wait(struct pfs_flight_board *board, struct pfs_flight *f,
		    double until, struct pfs_reader *reader);

/* Sleeps until @until at most, or until any fetch lands: 0, or
 * -ETIMEDOUT only for the reader's deadline, -EINTR, -ECANCELED. */
int pfs_flight_nap(struct pfs_flight_board *board, double until,
		   struct pfs_reader *reader);

/* Records the outcome of a fetch of @what (for the log) at @now: resets
 * the backoff after a success; after a failure backs @f off (the
 * service's failures exponentially; a request not sent for the limiter's
 * reasons until @failure->not_before) and logs an outage once, and its
 * end. @have_copy: a cached copy is served meanwhile. */
void pfs_flight_note(struct pfs_flight *f, int err, const char *what,
		     const struct pfs_backend_failure *failure, bool have_copy,
		     double now);

/* true when a reader with nothing cached may wait out a backoff after
 * @err: the service failed for a passing reason (not gone, forbidden). */
bool pfs_flight_worth_waiting(int err);

/* What a reader holding a copy gets after a fetch that ended with @err:
 * the copy (0), unless the service said gone (-ENOENT) or forbidden
 * (-EACCES). */
int pfs_flight_outcome_with_copy(int err);

#endif
