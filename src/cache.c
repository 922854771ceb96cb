/* cache.c - see cache.h */
#include "cache.h"
#include "limiter.h"
#include "log.h"

#include <errno.h>
#include <glib.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Pipelines per batch call: keeps its URL under 2 KB. */
#define BATCH_MAX 50
/* Backoff after failures that are not throttling: 1 s, 2 s, ... 60 s. */
#define BACKOFF_BASE 1.0
#define BACKOFF_CAP 60.0
/* How often a reader waiting out a backoff looks at cache->stop. */
#define STOP_CHECK_INTERVAL 0.25

/* One fetch at a time per entry; others wait for its outcome. */
struct flight {
	bool fetching;
	unsigned generation;	/* bumped when a fetch ends */
	int last_err;		/* outcome of the last fetch */
	double fresh_until;	/* monotonic seconds */
	double started_at;	/* of the fetch in flight */
	bool queued;		/* in flight, but still waiting for a worker */
	double retry_at;	/* no new attempt before, after a failure */
	unsigned failures;	/* in a row; 0 when the last fetch worked */
	int logged_err;		/* the failure last logged; 0 when none */
};

struct build_entry {
	uint32_t slot;
	char *pipeline_id;
	char *build_id;
	struct pfs_build *build;	/* last good copy, or NULL */
	size_t size;			/* of build, as counted in cache->bytes */
	double asked_at;		/* when the request that brought it began */
	GList lru_link;			/* in cache->lru while build is set */
	struct flight flight;
};

struct pipeline_entry {
	uint32_t slot;
	char *id;
	bool listed;		/* shown at the root */
	bool latest_known;	/* a latest call has succeeded */
	char *latest;		/* the build it named, or NULL */
	struct timespec latest_changed;	/* when latest last changed */
	struct timespec listing_changed;	/* when builds or latest came or went */
	struct flight flight;	/* of the latest call */
	GPtrArray *builds;	/* ids seen, in order first seen */
};

struct pfs_cache {
	struct pfs_api *api;
	struct pfs_cache_config config;
	bool (*stop)(void *);
	void *stop_arg;
	GThreadPool *workers;		/* of struct job: background fetches */
	pthread_mutex_t lock;
	pthread_cond_t fetched;		/* broadcast when any fetch ends */
	/* guarded by lock: */
	GHashTable *pipelines;		/* id -> struct pipeline_entry */
	GPtrArray *listed;		/* ids shown at the root, in order */
	struct timespec listed_changed;	/* when the last id was added */
	GHashTable *builds;		/* "pipeline/build" -> struct build_entry */
	GPtrArray *pipeline_slots;	/* slot -> struct pipeline_entry */
	GPtrArray *build_slots;		/* slot -> struct build_entry */
	GQueue lru;			/* entries holding a build, newest first */
	bool no_batch;			/* the service refused the batch call */
	size_t bytes;			/* sum of their sizes */
};

/* A fetch to run in the background; its entry's flight is already
 * marked as fetching, so readers wait for it rather than start another. */
struct job {
	char *pipeline_id;
	char *build_id;		/* NULL: the latest call */
	char **batch;		/* instead: the batch call for these pipelines */
};

static void run_job(gpointer data, gpointer user_data);

static void free_job(void *data)
{
	struct job *job = data;

	g_free(job->pipeline_id);
	g_free(job->build_id);
	g_strfreev(job->batch);
	g_free(job);
}

static void free_pipeline_entry(void *data)
{
	struct pipeline_entry *p = data;

	g_free(p->id);
	g_free(p->latest);
	g_ptr_array_free(p->builds, TRUE);
	g_free(p);
}

static void free_build_entry(void *data)
{
	struct build_entry *e = data;

	pfs_build_unref(e->build);
	g_free(e->pipeline_id);
	g_free(e->build_id);
	g_free(e);
}

int pfs_cache_new(struct pfs_api *api, const struct pfs_cache_config *config,
		  struct pfs_cache **out)
{
	struct pfs_cache *cache = g_new0(struct pfs_cache, 1);
	pthread_condattr_t attr;

	cache->api = api;
	cache->config = *config;
	pthread_mutex_init(&cache->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&cache->fetched, &attr);
	pthread_condattr_destroy(&attr);
	cache->pipelines = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
						 free_pipeline_entry);
	cache->listed = g_ptr_array_new();
	cache->builds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      free_build_entry);
	g_queue_init(&cache->lru);
	cache->pipeline_slots = g_ptr_array_new();
	cache->build_slots = g_ptr_array_new();
	cache->workers = g_thread_pool_new_full(run_job, cache, free_job,
						(gint)(config->workers ? config->workers : 1),
						FALSE, NULL);
	*out = cache;
	return 0;
}

void pfs_cache_set_stop(struct pfs_cache *cache, bool (*stop)(void *),
			void *arg)
{
	cache->stop = stop;
	cache->stop_arg = arg;
}

void pfs_cache_free(struct pfs_cache *cache)
{
	if (!cache)
		return;
	if (cache->workers)
		g_thread_pool_free(cache->workers, TRUE, TRUE);
	g_ptr_array_free(cache->build_slots, TRUE);
	g_ptr_array_free(cache->pipeline_slots, TRUE);
	g_hash_table_destroy(cache->builds);
	g_ptr_array_free(cache->listed, TRUE);
	g_hash_table_destroy(cache->pipelines);
	pthread_cond_destroy(&cache->fetched);
	pthread_mutex_destroy(&cache->lock);
	g_free(cache);
}

/* Called with cache->lock held. */
static struct pipeline_entry *pipeline_entry(struct pfs_cache *cache,
					     const char *id)
{
	struct pipeline_entry *p = g_hash_table_lookup(cache->pipelines, id);

	if (!p) {
		p = g_new0(struct pipeline_entry, 1);
		p->id = g_strdup(id);
		p->builds = g_ptr_array_new_with_free_func(g_free);
		p->slot = cache->pipeline_slots->len;
		g_ptr_array_add(cache->pipeline_slots, p);
		g_hash_table_insert(cache->pipelines, p->id, p);
	}
	return p;
}

/* Called with cache->lock held. Entries live as long as the cache, so
 * pointers to them stay valid while the lock is dropped. */
static struct build_entry *build_entry(struct pfs_cache *cache,
				       const char *pipeline_id,
				       const char *build_id)
{
	char *key = g_strconcat(pipeline_id, "/", build_id, NULL);
	struct build_entry *e = g_hash_table_lookup(cache->builds, key);

	if (e) {
		g_free(key);
		return e;
	}
	e = g_new0(struct build_entry, 1);
	e->pipeline_id = g_strdup(pipeline_id);
	e->build_id = g_strdup(build_id);
	e->lru_link.data = e;
	e->slot = cache->build_slots->len;
	g_ptr_array_add(cache->build_slots, e);
	g_hash_table_insert(cache->builds, key, e);
	return e;
}

/* Called with cache->lock held. */
static void list_pipeline(struct pfs_cache *cache, struct pipeline_entry *p)
{
	if (!p->listed) {
		p->listed = true;
		g_ptr_array_add(cache->listed, p->id);
		clock_gettime(CLOCK_REALTIME, &cache->listed_changed);
	}
}

/* Called with cache->lock held. */
static void note_build_seen(struct pfs_cache *cache, const char *pipeline_id,
			    const char *build_id)
{
	struct pipeline_entry *p = pipeline_entry(cache, pipeline_id);
	guint i;

	for (i = 0; i < p->builds->len; i++)
		if (strcmp(p->builds->pdata[i], build_id) == 0)
			return;
	g_ptr_array_add(p->builds, g_strdup(build_id));
	clock_gettime(CLOCK_REALTIME, &p->listing_changed);
}

static double now_monotonic(void)
{
	return pfs_limiter_now();
}

/* ---- the memory bound ------------------------------------------------ */

/* Called with cache->lock held. */
static void drop_build(struct pfs_cache *cache, struct build_entry *e)
{
	if (!e->build)
		return;
	g_queue_unlink(&cache->lru, &e->lru_link);
	cache->bytes -= e->size;
	pfs_build_unref(e->build);	/* open files keep their own reference */
	e->build = NULL;
	e->size = 0;
	e->flight.fresh_until = 0;
}

/* Called with cache->lock held. Evicts least recently used builds until
 * the cache fits, sparing @keep (the build just asked for). */
static void evict(struct pfs_cache *cache, struct build_entry *keep)
{
	while (cache->bytes > cache->config.max_bytes) {
		GList *oldest = g_queue_peek_tail_link(&cache->lru);

		if (!oldest || oldest->data == keep)
			break;
		pfs_log_debug("cache full: dropping pipeline %s build %s",
			      ((struct build_entry *)oldest->data)->pipeline_id,
			      ((struct build_entry *)oldest->data)->build_id);
		drop_build(cache, oldest->data);
	}
}

/* Called with cache->lock held. */
static void touch(struct pfs_cache *cache, struct build_entry *e)
{
	g_queue_unlink(&cache->lru, &e->lru_link);
	g_queue_push_head_link(&cache->lru, &e->lru_link);
}

/* Called with cache->lock held. Installs @build, fetched by a request
 * that began at @asked_at (monotonic). */
static void install_build(struct pfs_cache *cache, const char *pipeline_id,
			  const char *build_id, struct pfs_build *build,
			  double asked_at)
{
	struct build_entry *e = build_entry(cache, pipeline_id, build_id);
	double now = now_monotonic();

	if (e->build && e->build->completed) {
		/* a completed build never changes (a latest call brought it
		 * again): keep the copy, and its mtime, the kernel caches */
		touch(cache, e);
		return;
	}
	if (e->build && asked_at < e->asked_at)
		return;	/* a slower, older answer: the copy is newer */
	e->asked_at = asked_at;
	clock_gettime(CLOCK_REALTIME, &build->fetched_at);
	drop_build(cache, e);
	e->build = pfs_build_ref(build);
	e->size = pfs_build_size(build);
	cache->bytes += e->size;
	g_queue_push_head_link(&cache->lru, &e->lru_link);
	e->flight.fresh_until = now + cache->config.ttl;
	note_build_seen(cache, pipeline_id, build_id);
	evict(cache, e);
}

/* ---- SIGHUP ------------------------------------------------------------ */

void pfs_cache_drop_unfinished(struct pfs_cache *cache,
			       void (*dropped)(uint32_t build_slot,
					       const struct pfs_build *build,
					       void *arg),
			       void *arg)
{
	GPtrArray *gone = g_ptr_array_new();
	GArray *slots = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	GHashTableIter iter;
	gpointer value;
	guint i;

	pthread_mutex_lock(&cache->lock);
	g_hash_table_iter_init(&iter, cache->builds);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct build_entry *e = value;

		if (e->build && !e->build->completed) {
			g_ptr_array_add(gone, pfs_build_ref(e->build));
			g_array_append_val(slots, e->slot);
			drop_build(cache, e);
		}
		e->flight.retry_at = 0;
	}
	g_hash_table_iter_init(&iter, cache->pipelines);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct pipeline_entry *p = value;

		p->flight.fresh_until = 0;
		p->flight.retry_at = 0;
	}
	pthread_mutex_unlock(&cache->lock);
	/* outside the lock: the callback may wait for the kernel, which may
	 * be waiting for a reader, which may be waiting for the lock */
	for (i = 0; i < gone->len; i++) {
		if (dropped)
			dropped(g_array_index(slots, uint32_t, i), gone->pdata[i], arg);
		pfs_build_unref(gone->pdata[i]);
	}
	pfs_log_info("refresh asked for: dropped %u unfinished builds", gone->len);
	g_array_free(slots, TRUE);
	g_ptr_array_free(gone, TRUE);
}

/* ---- single flight, failures, backoff ----------------------------------- */


static bool stopping(struct pfs_cache *cache)
{
	return cache->stop && cache->stop(cache->stop_arg);
}

/* Called with cache->lock held: sleeps until @until at most, or until
 * any fetch ends, or a moment passes so that stopping() is looked at. */
static void sleep_a_little(struct pfs_cache *cache, double until)
{
	double when = fmin(until, now_monotonic() + STOP_CHECK_INTERVAL);
	struct timespec ts;

	ts.tv_sec = (time_t)when;
	ts.tv_nsec = (long)((when - (double)ts.tv_sec) * 1e9);
	pthread_cond_timedwait(&cache->fetched, &cache->lock, &ts);
}

/* Called with cache->lock held: waits until the fetch of @f in flight
 * ends, but not past @until nor the end of the session. True if it
 * ended. */
static bool wait_for_flight(struct pfs_cache *cache, struct flight *f,
			    double until)
{
	unsigned generation = f->generation;

	while (f->fetching && f->generation == generation) {
		if (now_monotonic() >= until || stopping(cache))
			return false;
		sleep_a_little(cache, until);
	}
	return true;
}

/* How long a reader with nothing cached may wait. */
static double reader_deadline(const struct pfs_cache *cache)
{
	return now_monotonic() + cache->config.timeout;
}

/* Called with cache->lock held: marks a fetch of @f as in flight. */
static void begin_flight(struct flight *f)
{
	f->fetching = true;
	f->queued = false;
	f->started_at = now_monotonic();
}

/* Called with cache->lock held: a fetch of @f is handed to a worker; a
 * reader may claim it (claim_flight) before a worker gets to it. */
static void queue_flight(struct flight *f)
{
	begin_flight(f);
	f->queued = true;
}

/* Called with cache->lock held: true if the fetch of @f was still queued,
 * and is now the caller's to run. Behind a long queue of prefetches a
 * reader would otherwise wait its whole timeout for its turn. */
static bool claim_flight(struct flight *f)
{
	if (!f->fetching || !f->queued)
		return false;
	f->queued = false;
	f->started_at = now_monotonic();
	return true;
}

static void land(struct pfs_cache *cache, struct flight *f, int err);

/* Called with cache->lock held. Once the session is over the workers are
 * going away: the flight @f (if any) ends at once instead. */
static void push_job(struct pfs_cache *cache, struct job *job, struct flight *f)
{
	char **id;

	if (!stopping(cache) && g_thread_pool_push(cache->workers, job, NULL))
		return;
	if (f)
		land(cache, f, -ECANCELED);
	for (id = job->batch; id && *id; id++)
		land(cache, &pipeline_entry(cache, *id)->flight, -ECANCELED);
	free_job(job);
}

/* Called with cache->lock held: hands a fetch to a worker thread. */
static void start_job(struct pfs_cache *cache, struct flight *f,
		      const char *pipeline_id, const char *build_id)
{
	struct job *job = g_new0(struct job, 1);

	job->pipeline_id = g_strdup(pipeline_id);
	job->build_id = g_strdup(build_id);
	queue_flight(f);
	push_job(cache, job, f);
}

/* Called with cache->lock held, by a reader with nothing cached whose
 * entry is backing off: true after waiting a little towards the retry
 * time, false when that is past the reader's @deadline. */
static bool wait_for_retry(struct pfs_cache *cache, double retry_at,
			   double deadline)
{
	if (retry_at > deadline || stopping(cache))
		return false;
	sleep_a_little(cache, retry_at);
	return true;
}

/* Called with cache->lock held, by the thread that led the fetch. */
static void land(struct pfs_cache *cache, struct flight *f, int err)
{
	f->fetching = false;
	f->generation++;
	f->last_err = err;
	pthread_cond_broadcast(&cache->fetched);
}

/* Called with cache->lock held after a fetch of @what ended: logs an
 * outage once (and when it changes), its end, and sets the backoff. */
static void note_outcome(struct flight *f, int err, const char *what,
			 const struct pfs_api_failure *failure, bool have_copy,
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
	if (err == -EBUSY) {
		/* not sent, for the limiter's reasons (local, not an outage):
		 * look again when it says a request may go, without growing
		 * the backoff that the service's own failures earn */
		f->retry_at = failure->not_before > now ? failure->not_before
							: now + BACKOFF_BASE;
		pfs_log_debug("%s", failure->what);
		return;
	} else {
		f->failures++;
		if (pfs_api_is_transient(err))
			f->retry_at = now + pfs_limiter_backoff(BACKOFF_BASE,
								f->failures,
								BACKOFF_CAP);
	}
	if (f->logged_err == err) {
		pfs_log_debug("%s", failure->what);
		return;
	}
	f->logged_err = err;
	pfs_log_err("%s", failure->what);
	if (have_copy && pfs_api_is_transient(err))
		pfs_log_warn("%s: serving the cached copy until the service "
			     "answers again", what);
}

/* What a reader gets for the outcome of a call to the API. */
static int reader_errno(int err)
{
	return (err == 0 || err == -ENOENT || err == -EACCES) ? err : -EIO;
}

/* A reader that has a copy to fall back on does not wait for the limiter. */
static double deadline_for(const struct pfs_cache *cache, bool have_copy)
{
	return have_copy ? 0 : now_monotonic() + cache->config.timeout;
}

/* ---- builds ----------------------------------------------------------- */

static bool build_usable(const struct build_entry *e, double now)
{
	return e->build && (e->build->completed || now < e->flight.fresh_until);
}

static double build_fresh_for(const struct build_entry *e, double now)
{
	if (e->build->completed)
		return PFS_CACHE_FOREVER;
	return e->flight.fresh_until > now ? e->flight.fresh_until - now : 0;
}

/* Called with cache->lock held, with e->flight.fetching set by the
 * caller; drops the lock while the request runs. Returns the outcome. */
static int fetch_build(struct pfs_cache *cache, struct build_entry *e)
{
	struct pfs_api_failure failure;
	struct pfs_build *build = NULL;
	double deadline = deadline_for(cache, e->build != NULL);
	double asked_at = e->flight.started_at;
	char what[300];
	int res;

	pthread_mutex_unlock(&cache->lock);
	res = pfs_api_get_status(cache->api, e->pipeline_id, e->build_id,
				 deadline, &build, &failure);
	pthread_mutex_lock(&cache->lock);
	snprintf(what, sizeof(what), "pipeline %s build %s", e->pipeline_id,
		 e->build_id);
	note_outcome(&e->flight, res, what, &failure, e->build != NULL,
		     now_monotonic());
	if (res == 0) {
		install_build(cache, e->pipeline_id, e->build_id, build, asked_at);
		pfs_build_unref(build);
	}
	land(cache, &e->flight, res);
	return res;
}

/* What a reader holding @copy gets after a fetch ended with @err: the
 * copy, also when the service failed for a passing reason. */
static int outcome_with_copy(bool copy, int err)
{
	if (copy && (err == 0 || pfs_api_is_transient(err)))
		return 0;
	return err;
}

/* Called with cache->lock held: a stale copy is refreshed in the
 * background; the reader waits for that only a little. */
static int refresh_build(struct pfs_cache *cache, struct build_entry *e)
{
	if (!e->flight.fetching)
		start_job(cache, &e->flight, e->pipeline_id, e->build_id);
	/* patience counts from the start of the refresh: a reader that
	 * comes later, or again, does not wait anew */
	if (!wait_for_flight(cache, &e->flight,
			     e->flight.started_at + PFS_CACHE_PATIENCE))
		return 0;	/* still running: serve the stale copy */
	return outcome_with_copy(e->build != NULL, e->flight.last_err);
}

/* Called with cache->lock held. 0 when e->build may be served. */
static int resolve_build(struct pfs_cache *cache, struct build_entry *e)
{
	const double deadline = reader_deadline(cache);
	struct pipeline_entry *p;

	for (;;) {
		double now = now_monotonic();

		if (build_usable(e, now))
			return 0;
		if (e->build && now >= e->flight.retry_at)
			return refresh_build(cache, e);
		if (e->build)		/* backing off: the copy will do */
			return 0;
		if (claim_flight(&e->flight))
			return fetch_build(cache, e);
		if (e->flight.fetching) {
			if (!wait_for_flight(cache, &e->flight, deadline))
				return -ETIMEDOUT;
			if (e->flight.last_err < 0)
				return e->flight.last_err;
			continue;
		}
		/* a latest call under way may be bringing this very build */
		p = pipeline_entry(cache, e->pipeline_id);
		if (p->flight.fetching && !p->flight.queued) {
			if (!wait_for_flight(cache, &p->flight, deadline))
				return -ETIMEDOUT;
			continue;
		}
		if (now < e->flight.retry_at) {
			if (!wait_for_retry(cache, e->flight.retry_at, deadline))
				return e->flight.last_err;
			continue;
		}
		begin_flight(&e->flight);
		return fetch_build(cache, e);
	}
}

int pfs_cache_get_build(struct pfs_cache *cache, const char *pipeline_id,
			const char *build_id, struct pfs_build **out,
			double *fresh_for)
{
	struct build_entry *e;
	int res;

	*out = NULL;
	pthread_mutex_lock(&cache->lock);
	e = build_entry(cache, pipeline_id, build_id);
	res = resolve_build(cache, e);
	if (res == 0 && !e->build)
		res = -EIO;
	if (res == 0) {
		touch(cache, e);
		*out = pfs_build_ref(e->build);
		*fresh_for = build_fresh_for(e, now_monotonic());
	}
	pthread_mutex_unlock(&cache->lock);
	return reader_errno(res);
}

/* ---- latest ----------------------------------------------------------- */

/* Called with cache->lock held: the service named @build_id (NULL: none)
 * as @p's latest build. */
static void set_latest(struct pfs_cache *cache, struct pipeline_entry *p,
		       const char *build_id)
{
	if (!p->latest_known || g_strcmp0(p->latest, build_id) != 0) {
		clock_gettime(CLOCK_REALTIME, &p->latest_changed);
		p->listing_changed = p->latest_changed;
	}
	g_free(p->latest);
	p->latest = g_strdup(build_id);
	p->latest_known = true;
	p->flight.fresh_until = now_monotonic() + cache->config.ttl;
	list_pipeline(cache, p);
}

/* Called with cache->lock held, with p->flight.fetching set by the
 * caller; drops the lock while the request runs. Returns the outcome. */
static int fetch_latest(struct pfs_cache *cache, struct pipeline_entry *p)
{
	struct pfs_api_failure failure;
	struct pfs_build *build = NULL;
	double deadline = deadline_for(cache, p->latest_known);
	double asked_at = p->flight.started_at;
	char what[300];
	int res;

	pthread_mutex_unlock(&cache->lock);
	res = pfs_api_get_status(cache->api, p->id, NULL, deadline, &build,
				 &failure);
	pthread_mutex_lock(&cache->lock);
	snprintf(what, sizeof(what), "pipeline %s latest", p->id);
	note_outcome(&p->flight, res, what, &failure, p->latest_known,
		     now_monotonic());
	if (res == 0) {
		set_latest(cache, p, build->build_id);
		/* the same body is that build's status: no second request */
		if (build->build_id)
			install_build(cache, p->id, build->build_id, build,
				      asked_at);
		pfs_build_unref(build);
	}
	land(cache, &p->flight, res);
	return res;
}

/* Called with cache->lock held. 0 when p->latest may be served. */
static int resolve_latest(struct pfs_cache *cache, struct pipeline_entry *p)
{
	const double deadline = reader_deadline(cache);

	for (;;) {
		double now = now_monotonic();

		if (p->latest_known && now < p->flight.fresh_until)
			return 0;
		if (p->latest_known && now >= p->flight.retry_at) {
			if (!p->flight.fetching)
				start_job(cache, &p->flight, p->id, NULL);
			if (!wait_for_flight(cache, &p->flight,
					     p->flight.started_at + PFS_CACHE_PATIENCE))
				return 0;
			return outcome_with_copy(true, p->flight.last_err);
		}
		if (p->latest_known)	/* backing off: the last answer will do */
			return 0;
		if (claim_flight(&p->flight))
			return fetch_latest(cache, p);
		if (p->flight.fetching) {
			if (!wait_for_flight(cache, &p->flight, deadline))
				return -ETIMEDOUT;
			if (p->flight.last_err < 0)
				return p->flight.last_err;
			continue;
		}
		if (now < p->flight.retry_at) {
			if (!wait_for_retry(cache, p->flight.retry_at, deadline))
				return p->flight.last_err;
			continue;
		}
		begin_flight(&p->flight);
		return fetch_latest(cache, p);
	}
}

static double latest_fresh_for(const struct pipeline_entry *p)
{
	double now = now_monotonic();

	return p->flight.fresh_until > now ? p->flight.fresh_until - now : 0;
}

int pfs_cache_get_latest(struct pfs_cache *cache, const char *pipeline_id,
			 char **build_id, double *fresh_for,
			 struct timespec *changed)
{
	struct pipeline_entry *p;
	int res;

	*build_id = NULL;
	pthread_mutex_lock(&cache->lock);
	p = pipeline_entry(cache, pipeline_id);
	res = resolve_latest(cache, p);
	if (res == 0 && !p->latest)
		res = -ENOENT;
	if (res == 0) {
		*build_id = g_strdup(p->latest);
		*fresh_for = latest_fresh_for(p);
		if (changed)
			*changed = p->latest_changed;
	}
	pthread_mutex_unlock(&cache->lock);
	return reader_errno(res);
}

int pfs_cache_check_pipeline(struct pfs_cache *cache, const char *pipeline_id)
{
	struct pipeline_entry *p;
	int res = 0;

	pthread_mutex_lock(&cache->lock);
	p = pipeline_entry(cache, pipeline_id);
	if (!p->listed) {
		res = resolve_latest(cache, p);
		/* a pipeline with no build yet still exists */
		if (p->listed)
			res = 0;
	}
	pthread_mutex_unlock(&cache->lock);
	return reader_errno(res);
}

/* ---- background work ------------------------------------------------- */

/* Called with cache->lock held, with the latest flights of @ids begun:
 * one batch call learns which build is the latest of each, and only the
 * builds not cached yet are fetched, in the background. A pipeline the
 * answer does not name gets its own latest call. */
static void fetch_latest_batch(struct pfs_cache *cache, char **queued)
{
	struct pfs_api_failure failure;
	GHashTable *latest = NULL;
	GPtrArray *claimed = g_ptr_array_new();
	char **ids, **id;
	int res;

	/* only the pipelines no reader has claimed meanwhile */
	for (id = queued; *id; id++)
		if (claim_flight(&pipeline_entry(cache, *id)->flight))
			g_ptr_array_add(claimed, *id);
	g_ptr_array_add(claimed, NULL);
	ids = (char **)g_ptr_array_free(claimed, FALSE);
	if (!ids[0]) {
		g_free(ids);
		return;
	}
	pthread_mutex_unlock(&cache->lock);
	res = pfs_api_get_latest_ids(cache->api, ids, reader_deadline(cache),
				     &latest, &failure);
	pthread_mutex_lock(&cache->lock);
	if (res == -ECANCELED || stopping(cache)) {
		for (id = ids; *id; id++)
			land(cache, &pipeline_entry(cache, *id)->flight, -ECANCELED);
		if (latest)
			g_hash_table_destroy(latest);
		g_free(ids);
		return;
	}
	/* 404, 400, 405...: the call is not there; 401 or a bad body is no
	 * reason to give it up */
	if ((res == -ENOENT || res == -EIO) && !cache->no_batch) {
		/* a service without the call: stop asking for it */
		cache->no_batch = true;
		pfs_log_info("%s; asking pipeline by pipeline from now on",
			     failure.what);
	}
	for (id = ids; *id; id++) {
		struct pipeline_entry *p = pipeline_entry(cache, *id);
		const char *build_id = latest ? g_hash_table_lookup(latest, *id) : NULL;
		struct build_entry *e;

		if (!build_id) {
			start_job(cache, &p->flight, p->id, NULL);
			continue;
		}
		set_latest(cache, p, build_id);
		note_outcome(&p->flight, 0, p->id, &failure, true, now_monotonic());
		e = build_entry(cache, p->id, build_id);
		if (!build_usable(e, now_monotonic()) && !e->flight.fetching &&
		    now_monotonic() >= e->flight.retry_at)
			start_job(cache, &e->flight, p->id, build_id);
		land(cache, &p->flight, 0);
	}
	if (latest)
		g_hash_table_destroy(latest);
	g_free(ids);
}

/* Runs on a worker thread. */
static void run_job(gpointer data, gpointer user_data)
{
	struct pfs_cache *cache = user_data;
	struct job *job = data;

	struct build_entry *e;
	struct pipeline_entry *p;

	pthread_mutex_lock(&cache->lock);
	/* each fetch runs only if no reader has claimed it meanwhile */
	if (job->batch) {
		fetch_latest_batch(cache, job->batch);
	} else if (job->build_id) {
		e = build_entry(cache, job->pipeline_id, job->build_id);
		if (claim_flight(&e->flight))
			fetch_build(cache, e);
	} else {
		p = pipeline_entry(cache, job->pipeline_id);
		if (claim_flight(&p->flight))
			fetch_latest(cache, p);
	}
	pthread_mutex_unlock(&cache->lock);
	free_job(job);
}

/* Called with cache->lock held: the latest answers of @ids (flights
 * begun) in batch calls of at most BATCH_MAX, or one latest call when
 * there is just one. */
static void start_latest_jobs(struct pfs_cache *cache, GPtrArray *ids)
{
	guint i, n;

	if (ids->len == 1 || cache->no_batch) {
		for (i = 0; i < ids->len; i++)
			start_job(cache,
				  &pipeline_entry(cache, ids->pdata[i])->flight,
				  ids->pdata[i], NULL);
		return;
	}
	for (i = 0; i < ids->len; i += n) {
		struct job *job = g_new0(struct job, 1);
		guint k;

		n = ids->len - i < BATCH_MAX ? ids->len - i : BATCH_MAX;
		job->batch = g_new0(char *, n + 1);
		for (k = 0; k < n; k++)
			job->batch[k] = g_strdup(ids->pdata[i + k]);
		push_job(cache, job, NULL);
	}
}

void pfs_cache_prefetch_latest(struct pfs_cache *cache, char **pipeline_ids,
			       bool only_stale)
{
	GPtrArray *due = g_ptr_array_new();
	double now = now_monotonic();
	char **id;

	if (!cache->config.prefetch) {
		g_ptr_array_free(due, TRUE);
		return;
	}
	pthread_mutex_lock(&cache->lock);
	for (id = pipeline_ids; *id; id++) {
		struct pipeline_entry *p = pipeline_entry(cache, *id);

		if ((p->latest_known && now < p->flight.fresh_until) ||
		    (only_stale && !p->latest_known) ||
		    p->flight.fetching || now < p->flight.retry_at)
			continue;
		queue_flight(&p->flight);
		g_ptr_array_add(due, p->id);
	}
	if (due->len > 0)
		start_latest_jobs(cache, due);
	pthread_mutex_unlock(&cache->lock);
	g_ptr_array_free(due, TRUE);
}

/* ---- slots ------------------------------------------------------------- */

int pfs_cache_pipeline_slot(struct pfs_cache *cache, const char *pipeline_id,
			    uint32_t *slot)
{
	pthread_mutex_lock(&cache->lock);
	*slot = pipeline_entry(cache, pipeline_id)->slot;
	pthread_mutex_unlock(&cache->lock);
	return 0;
}

int pfs_cache_build_slot(struct pfs_cache *cache, const char *pipeline_id,
			 const char *build_id, uint32_t max_slots,
			 uint32_t *slot)
{
	char *key = g_strconcat(pipeline_id, "/", build_id, NULL);
	int res = 0;

	pthread_mutex_lock(&cache->lock);
	if (!g_hash_table_contains(cache->builds, key) &&
	    cache->build_slots->len >= max_slots)
		res = -ENOSPC;
	else
		*slot = build_entry(cache, pipeline_id, build_id)->slot;
	pthread_mutex_unlock(&cache->lock);
	g_free(key);
	return res;
}

const char *pfs_cache_pipeline_of_slot(struct pfs_cache *cache, uint32_t slot)
{
	const char *id = NULL;

	pthread_mutex_lock(&cache->lock);
	if (slot < cache->pipeline_slots->len)
		id = ((struct pipeline_entry *)cache->pipeline_slots->pdata[slot])->id;
	pthread_mutex_unlock(&cache->lock);
	return id;
}

int pfs_cache_build_of_slot(struct pfs_cache *cache, uint32_t slot,
			    const char **pipeline_id, const char **build_id)
{
	struct build_entry *e = NULL;

	pthread_mutex_lock(&cache->lock);
	if (slot < cache->build_slots->len)
		e = cache->build_slots->pdata[slot];
	pthread_mutex_unlock(&cache->lock);
	if (!e)
		return -ESTALE;
	*pipeline_id = e->pipeline_id;
	*build_id = e->build_id;
	return 0;
}

/* ---- listings ---------------------------------------------------------- */

void pfs_cache_list_pipeline(struct pfs_cache *cache, const char *pipeline_id)
{
	pthread_mutex_lock(&cache->lock);
	list_pipeline(cache, pipeline_entry(cache, pipeline_id));
	pthread_mutex_unlock(&cache->lock);
}

bool pfs_cache_latest_absent(struct pfs_cache *cache, const char *pipeline_id)
{
	struct pipeline_entry *p;
	bool absent;

	pthread_mutex_lock(&cache->lock);
	p = pipeline_entry(cache, pipeline_id);
	absent = p->latest_known && !p->latest;
	pthread_mutex_unlock(&cache->lock);
	return absent;
}

static char **copy_strv(GPtrArray *strings)
{
	char **strv = g_new(char *, strings->len + 1);
	guint i;

	for (i = 0; i < strings->len; i++)
		strv[i] = g_strdup(strings->pdata[i]);
	strv[i] = NULL;
	return strv;
}

char **pfs_cache_list_pipelines(struct pfs_cache *cache)
{
	char **strv;

	pthread_mutex_lock(&cache->lock);
	strv = copy_strv(cache->listed);
	pthread_mutex_unlock(&cache->lock);
	return strv;
}

char **pfs_cache_list_builds(struct pfs_cache *cache, const char *pipeline_id)
{
	char **strv;

	pthread_mutex_lock(&cache->lock);
	strv = copy_strv(pipeline_entry(cache, pipeline_id)->builds);
	pthread_mutex_unlock(&cache->lock);
	return strv;
}

struct timespec pfs_cache_listing_changed(struct pfs_cache *cache,
					  const char *pipeline_id)
{
	struct timespec changed;

	pthread_mutex_lock(&cache->lock);
	changed = pipeline_id ? pipeline_entry(cache, pipeline_id)->listing_changed
			      : cache->listed_changed;
	pthread_mutex_unlock(&cache->lock);
	return changed;
}

size_t pfs_cache_listing_size(struct pfs_cache *cache, const char *pipeline_id)
{
	size_t size;

	pthread_mutex_lock(&cache->lock);
	size = pipeline_id ? pipeline_entry(cache, pipeline_id)->builds->len
			   : cache->listed->len;
	pthread_mutex_unlock(&cache->lock);
	return size;
}
