/* flight.c - see flight.h */
#include "flight.h"
#include "limiter.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <time.h>

/* How often a waiter looks at the stop condition: the session's end is
 * not broadcast. */
#define STOP_CHECK_INTERVAL 0.25

void pfs_flight_board_init(struct pfs_flight_board *board)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&board->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&board->landed, &attr);
	pthread_condattr_destroy(&attr);
}

void pfs_flight_board_destroy(struct pfs_flight_board *board)
{
	pthread_cond_destroy(&board->landed);
	pthread_mutex_destroy(&board->lock);
}

bool pfs_flight_board_stopping(struct pfs_flight_board *board)
{
	return board->stop && board->stop(board->stop_arg);
}

void pfs_flight_begin(struct pfs_flight *f, void *job, double now)
{
	f->fetching = true;
	f->job = job;
	f->started_at = now;
}

void pfs_flight_land(struct pfs_flight_board *board, struct pfs_flight *f,
		     int err)
{
	f->fetching = false;
	f->job = NULL;
	f->generation++;
	f->last_err = err;
	pthread_cond_broadcast(&board->landed);
}

/* Why a waiter must stop waiting now: -EINTR, -ECANCELED, -ETIMEDOUT
 * (past @until or the reader's deadline); or 0. */
static int wait_over(struct pfs_flight_board *board, double until,
		     const struct pfs_reader *reader)
{
	if (reader && __atomic_load_n(&reader->interrupted, __ATOMIC_ACQUIRE))
		return -EINTR;
	if (pfs_flight_board_stopping(board))
		return -ECANCELED;
	if (pfs_limiter_now() >= until ||
	    (reader && pfs_limiter_now() >= reader->deadline))
		return -ETIMEDOUT;
	return 0;
}

int pfs_flight_nap(struct pfs_flight_board *board, double until,
		   struct pfs_reader *reader)
{
	double when;
	struct timespec ts;
	int res = wait_over(board, until, reader);

	if (res == -ETIMEDOUT && (!reader || pfs_limiter_now() < reader->deadline))
		return 0;	/* @until came: the nap is over */
	if (res < 0)
		return res;
	when = fmin(until, pfs_limiter_now() + STOP_CHECK_INTERVAL);
	if (reader)
		when = fmin(when, reader->deadline);
	ts.tv_sec = (time_t)when;
	ts.tv_nsec = (long)((when - (double)ts.tv_sec) * 1e9);
	pthread_cond_timedwait(&board->landed, &board->lock, &ts);
	return 0;
}

int pfs_flight_wait(struct pfs_flight_board *board, struct pfs_flight *f,
		    double until, struct pfs_reader *reader)
{
	unsigned generation = f->generation;
	int res;

	while (f->fetching && f->generation == generation) {
		if (pfs_limiter_now() >= until)
			return -ETIMEDOUT;
		res = pfs_flight_nap(board, until, reader);
		if (res < 0)
			return res;
	}
	return 0;
}

bool pfs_flight_worth_waiting(int err)
{
	return err != -ENOENT && err != -EACCES && err != -EKEYREJECTED;
}

int pfs_flight_outcome_with_copy(int err)
{
	return (err == -ENOENT || err == -EACCES) ? err : 0;
}

void pfs_flight_note(struct pfs_flight *f, int err, const char *what,
		     const struct pfs_backend_failure *failure, bool have_copy,
		     double now)
{
	if (err == -ECANCELED)
		return;		/* the session is ending: nothing to report */
	if (err == 0) {
		if (f->logged_err)
			pfs_log_info("%s: the service answers again", what);
		f->failures = 0;
		f->retry_at = 0;
		f->logged_err = 0;
		return;
	}
	f->credentials = failure->credentials;
	if (failure->not_before > 0) {
		/* not sent, for the limiter's reasons (a pause the service
		 * asked for, or the mount's own limits): look again when a
		 * request may go, without growing this entry's backoff. Not
		 * a backoff for health: the limiter's pauses are there as
		 * throttled or unauthorized, and end with them */
		f->retry_at = failure->not_before > now ? failure->not_before
							: now + PFS_FLIGHT_BACKOFF_BASE;
		pfs_log_debug("%s", failure->what);
		return;
	}
	/* every answer that is not a good one backs off, so that no reader
	 * loop can turn into a request storm: 404s and garbage included */
	f->failures++;
	f->retry_at = now + pfs_limiter_backoff(PFS_FLIGHT_BACKOFF_BASE,
						f->failures,
						PFS_FLIGHT_BACKOFF_CAP);
	pfs_stats_backoff_until(f->retry_at, err);
	if (f->logged_err == err) {
		pfs_log_debug("%s", failure->what);
		return;
	}
	f->logged_err = err;
	if (err == -ENOENT)
		pfs_log_info("%s", failure->what);	/* an answer, not an outage */
	else
		pfs_log_err("%s", failure->what);
	if (have_copy && pfs_flight_outcome_with_copy(err) == 0)
		pfs_log_warn("%s: serving the cached copy until the service "
			     "answers again", what);
}
