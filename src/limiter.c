/* limiter.c - see limiter.h */
#include "limiter.h"
#include "stats.h"

#include <errno.h>
#include <glib.h>
#include <math.h>
#include <pthread.h>
#include <time.h>

/* The service's advice for throttling is to retry after 2-5 s. */
#define THROTTLE_BASE 2.0

struct pfs_limiter {
	pthread_mutex_t lock;
	pthread_cond_t changed;		/* a slot freed or a pause ended */
	unsigned max_in_flight;
	double rate;
	/* guarded by lock: */
	unsigned in_flight;
	double tokens;
	double refilled_at;
	double paused_until;
	bool paused_unauthorized;	/* the pause is for refused credentials */
	unsigned throttles;		/* in a row, for the backoff */
	bool (*stop)(void *);
	void *stop_arg;
};

/* How often a waiting thread looks at the stop condition. */
#define STOP_CHECK_INTERVAL 0.25

double pfs_limiter_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double pfs_limiter_backoff(double base, unsigned attempt, double cap)
{
	double delay = base * ldexp(1.0, attempt > 30 ? 30 : (int)attempt - 1);

	if (delay > cap)
		delay = cap;
	return delay * g_random_double_range(0.5, 1.5);
}

int pfs_limiter_new(unsigned max_in_flight, double rate,
		    struct pfs_limiter **out)
{
	struct pfs_limiter *limiter = g_new0(struct pfs_limiter, 1);
	pthread_condattr_t attr;

	pthread_mutex_init(&limiter->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&limiter->changed, &attr);
	pthread_condattr_destroy(&attr);
	limiter->max_in_flight = max_in_flight ? max_in_flight : 1;
	limiter->rate = rate;
	limiter->tokens = rate > 1 ? rate : 1;
	limiter->refilled_at = pfs_limiter_now();
	*out = limiter;
	return 0;
}

void pfs_limiter_free(struct pfs_limiter *limiter)
{
	if (!limiter)
		return;
	pthread_cond_destroy(&limiter->changed);
	pthread_mutex_destroy(&limiter->lock);
	g_free(limiter);
}

/* Called with limiter->lock held. */
static void refill(struct pfs_limiter *limiter, double now)
{
	double capacity = limiter->rate > 1 ? limiter->rate : 1;

	limiter->tokens += (now - limiter->refilled_at) * limiter->rate;
	if (limiter->tokens > capacity)
		limiter->tokens = capacity;
	limiter->refilled_at = now;
}

/* Called with limiter->lock held. When may a request start: @now if it
 * can, a later time if it must wait for one, INFINITY if for a slot. */
static double next_start(struct pfs_limiter *limiter, double now)
{
	if (now < limiter->paused_until)
		return limiter->paused_until;
	if (limiter->in_flight >= limiter->max_in_flight)
		return INFINITY;
	if (limiter->rate <= 0)
		return now;
	refill(limiter, now);
	if (limiter->tokens >= 1)
		return now;
	return now + (1 - limiter->tokens) / limiter->rate;
}

static void wait_until(struct pfs_limiter *limiter, double when)
{
	struct timespec ts;

	ts.tv_sec = (time_t)when;
	ts.tv_nsec = (long)((when - (double)ts.tv_sec) * 1e9);
	pthread_cond_timedwait(&limiter->changed, &limiter->lock, &ts);
}

int pfs_limiter_acquire(struct pfs_limiter *limiter, double deadline)
{
	int res = 0;

	pthread_mutex_lock(&limiter->lock);
	for (;;) {
		double now = pfs_limiter_now();
		double start = next_start(limiter, now);

		if (start <= now)
			break;
		if (limiter->stop && limiter->stop(limiter->stop_arg)) {
			res = -EAGAIN;
			goto out;
		}
		/* refused credentials stay refused: waiting would not help */
		if (now < limiter->paused_until && limiter->paused_unauthorized) {
			res = -EACCES;
			goto out;
		}
		/* a slot may free up any time: wait for it up to the deadline;
		 * a pause or a token comes at a known time: wait only if in time */
		if ((isinf(start) && now >= deadline) ||
		    (!isinf(start) && start > deadline)) {
			res = -EAGAIN;
			goto out;
		}
		wait_until(limiter, fmin(isinf(start) ? deadline : start,
					 now + STOP_CHECK_INTERVAL));
	}
	if (limiter->rate > 0)
		limiter->tokens -= 1;
	limiter->in_flight++;
out:
	pthread_mutex_unlock(&limiter->lock);
	return res;
}

void pfs_limiter_set_stop(struct pfs_limiter *limiter, bool (*stop)(void *),
			  void *arg)
{
	limiter->stop = stop;
	limiter->stop_arg = arg;
}

double pfs_limiter_next_start(struct pfs_limiter *limiter)
{
	double now = pfs_limiter_now();
	double start;

	pthread_mutex_lock(&limiter->lock);
	start = next_start(limiter, now);
	pthread_mutex_unlock(&limiter->lock);
	return isinf(start) ? now : start;
}

void pfs_limiter_release(struct pfs_limiter *limiter)
{
	pthread_mutex_lock(&limiter->lock);
	limiter->in_flight--;
	pthread_cond_broadcast(&limiter->changed);
	pthread_mutex_unlock(&limiter->lock);
}

double pfs_limiter_throttled(struct pfs_limiter *limiter, double retry_after)
{
	double pause;

	pthread_mutex_lock(&limiter->lock);
	limiter->throttles++;
	if (retry_after >= 0)
		/* "Retry-After: 0" must not turn into a storm of retries */
		pause = fmin(fmax(retry_after, PFS_LIMITER_MIN_PAUSE),
			     PFS_LIMITER_MAX_PAUSE);
	else
		pause = pfs_limiter_backoff(THROTTLE_BASE, limiter->throttles,
					    PFS_LIMITER_MAX_PAUSE);
	if (pfs_limiter_now() + pause > limiter->paused_until) {
		limiter->paused_until = pfs_limiter_now() + pause;
		limiter->paused_unauthorized = false;
		pfs_stats_throttled_until(limiter->paused_until);
	}
	pthread_mutex_unlock(&limiter->lock);
	return pause;
}

double pfs_limiter_unauthorized(struct pfs_limiter *limiter)
{
	double pause;

	pthread_mutex_lock(&limiter->lock);
	pause = PFS_LIMITER_AUTH_PAUSE;
	if (pfs_limiter_now() + pause > limiter->paused_until) {
		limiter->paused_until = pfs_limiter_now() + pause;
		limiter->paused_unauthorized = true;
		pfs_stats_unauthorized_until(limiter->paused_until);
	}
	pthread_mutex_unlock(&limiter->lock);
	return pause;
}

void pfs_limiter_credentials_changed(struct pfs_limiter *limiter)
{
	pthread_mutex_lock(&limiter->lock);
	if (limiter->paused_unauthorized) {
		limiter->paused_until = 0;
		limiter->paused_unauthorized = false;
		pfs_stats_unauthorized_until(0);
		pthread_cond_broadcast(&limiter->changed);
	}
	pthread_mutex_unlock(&limiter->lock);
}

void pfs_limiter_succeeded(struct pfs_limiter *limiter)
{
	pthread_mutex_lock(&limiter->lock);
	limiter->throttles = 0;
	pthread_mutex_unlock(&limiter->lock);
}
