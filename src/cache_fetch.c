/* cache_fetch.c - see cache.h: requests on the workers, the readers'
 * single-flight state machine, prefetch. */
#include "cache_internal.h"
#include "limiter.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void pfs_cache_free_job(void *data)
{
	struct job *job = data;

	g_free(job->pipeline_id);
	g_free(job->build_id);
	g_strfreev(job->batch);
	g_free(job);
}

void pfs_cache_reader_init(struct pfs_cache *cache, struct pfs_reader *reader)
{
	reader->deadline = pfs_cache_now() + cache->config.timeout;
	reader->interrupted = 0;
}

void pfs_cache_interrupt(struct pfs_cache *cache, struct pfs_reader *reader)
{
	__atomic_store_n(&reader->interrupted, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&cache->board.lock);
	pthread_cond_broadcast(&cache->board.landed);
	pthread_mutex_unlock(&cache->board.lock);
}

/* ---- requests, on the workers ------------------------------------------ */

/* Called with the lock held: hands a fetch of @f to a worker. @urgent: a
 * reader waits for it, so it goes before queued prefetches. */
void pfs_cache_start_fetch(struct pfs_cache *cache, struct pfs_flight *f,
			   const char *pipeline_id, const char *build_id,
			   double deadline, bool urgent)
{
	struct job *job = g_new0(struct job, 1);

	job->pipeline_id = g_strdup(pipeline_id);
	job->build_id = g_strdup(build_id);
	job->deadline = deadline;
	pfs_cache_push_job(cache, job, f, urgent);
}

void pfs_cache_push_job(struct pfs_cache *cache, struct job *job,
			struct pfs_flight *f, bool urgent)
{
	pfs_flight_begin(f, job, pfs_cache_now());
	if (pfs_flight_board_stopping(&cache->board) ||
	    !g_thread_pool_push(cache->workers, job, NULL)) {
		/* the session is over: the workers are going away */
		pfs_flight_land(&cache->board, f, -ECANCELED);
		pfs_cache_free_job(job);
		return;
	}
	if (urgent)
		g_thread_pool_move_to_front(cache->workers, job);
}

/* Called with the lock held, by a reader about to wait for @f: a fetch
 * still queued behind prefetches goes first. */
static void hurry(struct pfs_cache *cache, struct pfs_flight *f)
{
	if (f->job)
		g_thread_pool_move_to_front(cache->workers, f->job);
}

/* Called with the lock held after a fetch failed with @err: an answer
 * that says gone or forbidden takes the copy away from readers. */
static void forget_copy_if_refused(struct pfs_cache *cache, int err,
				   struct build_entry *e,
				   struct pipeline_entry *p)
{
	if (err != -ENOENT && err != -EACCES)
		return;
	if (e)
		pfs_cache_drop_build(cache, e);
	if (e && err == -ENOENT) {	/* gone: ls and find must not list it */
		pfs_cache_note_gone(cache, e->pipeline_id, e->build_id);
		pfs_cache_notify(cache, e, NULL, pfs_cache_wall_ns());
	}
	if (p && p->latest_known) {
		if (p->latest)
			pfs_cache_note_latest(cache, p, p->latest, NULL);
		p->latest_known = false;
		g_free(p->latest);
		p->latest = NULL;
		clock_gettime(CLOCK_REALTIME, &p->latest_changed);
		p->listing_changed = p->latest_changed;
		p->listing_version++;
	}
}

/* Called with the lock held: the service named @build_id (NULL: none)
 * as @p's latest build. */
static void set_latest(struct pfs_cache *cache, struct pipeline_entry *p,
		       const char *build_id)
{
	if (!p->latest_known || g_strcmp0(p->latest, build_id) != 0) {
		clock_gettime(CLOCK_REALTIME, &p->latest_changed);
		p->listing_changed = p->latest_changed;
		p->listing_version++;
		if (p->latest || build_id)
			pfs_cache_note_latest(cache, p, p->latest, build_id);
	}
	g_free(p->latest);
	p->latest = g_strdup(build_id);
	p->latest_known = true;
	p->flight.fresh_until = pfs_cache_now() + cache->config.ttl;
	pfs_cache_note_listed(cache, p);
}

/* Runs on a worker, with the lock held, for build @e, or (@e NULL) for
 * @p's latest call, whose flight is fetching (so the entry is not
 * recycled); drops the lock while the request runs. */
static void fetch(struct pfs_cache *cache, struct build_entry *e,
		  struct pipeline_entry *p, double deadline)
{
	struct pfs_flight *f = e ? &e->flight : &p->flight;
	const char *pipeline_id = e ? e->pipeline_id : p->id;
	const char *build_id = e ? e->build_id : NULL;
	bool had_copy = e ? e->build != NULL : p->latest_known;
	struct pipeline_entry *owner = p ? p : pfs_cache_pipeline_entry(cache, pipeline_id);
	enum pfs_api_version api = pfs_cache_api_of(cache, owner);
	char *project_id = g_strdup(pfs_cache_project_of(cache, owner));
	struct pfs_backend_failure failure;
	struct pfs_build *build = NULL;
	double asked_at = f->started_at;
	char what[300];
	int res;

	pthread_mutex_unlock(&cache->board.lock);
	res = pfs_backend_get_build(cache->backend, api, project_id, pipeline_id,
				    build_id, deadline, &build, &failure);
	g_free(project_id);
	pthread_mutex_lock(&cache->board.lock);
	snprintf(what, sizeof(what), "pipeline %s %s%s", pipeline_id,
		 build_id ? "build " : "latest", build_id ? build_id : "");
	pfs_flight_note(f, res, what, &failure, had_copy, pfs_cache_now());
	if (res == 0) {
		if (!e)
			set_latest(cache, p, build->build_id);
		/* a latest answer is that build's status: no second request
		 * (a build's own answer may name no build: it is the one asked) */
		if (build_id || build->build_id)
			pfs_cache_install_build(cache, pipeline_id,
						build_id ? build_id : build->build_id,
						build, asked_at);
		pfs_build_unref(build);
	}
	forget_copy_if_refused(cache, res, e, p);
	pfs_flight_land(&cache->board, f, res);
}

/* Called with the lock held, the latest flights of @ids marked fetching by
 * this batch job: one batch call learns which build is the latest of each,
 * and only the builds not cached yet are fetched. A pipeline the answer
 * does not name gets its own latest call. */
static void fetch_latest_batch(struct pfs_cache *cache, char **ids,
			       double deadline)
{
	struct pfs_backend_failure failure;
	GHashTable *latest = NULL;
	char **id;
	int res;

	pthread_mutex_unlock(&cache->board.lock);
	res = pfs_backend_get_latest_ids(cache->backend, PFS_API_V3, ids, deadline,
					 &latest, &failure);
	pthread_mutex_lock(&cache->board.lock);
	if (res == -ECANCELED || pfs_flight_board_stopping(&cache->board)) {
		for (id = ids; *id; id++)
			pfs_flight_land(&cache->board,
					&pfs_cache_pipeline_entry(cache, *id)->flight, -ECANCELED);
		if (latest)
			g_hash_table_destroy(latest);
		return;
	}
	/* 404, 400, 405...: the call is not there; 401 or a bad body is no
	 * reason to give it up */
	if ((res == -ENOENT || res == -EIO) && !cache->no_batch) {
		cache->no_batch = true;
		pfs_log_info("%s; asking pipeline by pipeline from now on",
			     failure.what);
	}
	for (id = ids; *id; id++) {
		struct pipeline_entry *p = pfs_cache_pipeline_entry(cache, *id);
		const char *build_id = latest ? g_hash_table_lookup(latest, *id) : NULL;
		struct build_entry *e;
		double now = pfs_cache_now();

		if (!build_id) {
			/* the flight goes on as that pipeline's own call */
			pfs_cache_start_fetch(cache, &p->flight, p->id, NULL,
				    now + cache->config.timeout, false);
			continue;
		}
		set_latest(cache, p, build_id);
		pfs_flight_note(&p->flight, 0, p->id, &failure, true, now);
		e = pfs_cache_build_entry(cache, p->id, build_id);
		if (!e->build && !e->flight.fetching && now >= e->flight.retry_at)
			pfs_cache_start_fetch(cache, &e->flight, p->id, build_id,
				    now + cache->config.timeout, false);
		pfs_flight_land(&cache->board, &p->flight, 0);
	}
	if (latest)
		g_hash_table_destroy(latest);
}

/* Called with the lock held: a worker takes @job, so its flights are no
 * longer queued (a reader cannot hurry them any more). */
static void take_job(struct pfs_cache *cache, struct job *job)
{
	char **id;

	if (job->log) {
		job->log->flight.job = NULL;
	} else if (job->list) {
		job->list->flight.job = NULL;
	} else if (job->batch) {
		for (id = job->batch; *id; id++)
			pfs_cache_pipeline_entry(cache, *id)->flight.job = NULL;
	} else if (job->build_id) {
		pfs_cache_build_entry(cache, job->pipeline_id, job->build_id)->flight.job = NULL;
	} else {
		pfs_cache_pipeline_entry(cache, job->pipeline_id)->flight.job = NULL;
	}
}

/* Runs on a worker thread. The entries of a job are not recycled while
 * their flights are fetching, so the lookups below find them. */
void pfs_cache_run_job(gpointer data, gpointer user_data)
{
	struct pfs_cache *cache = user_data;
	struct job *job = data;

	pthread_mutex_lock(&cache->board.lock);
	take_job(cache, job);
	if (job->log)
		pfs_cache_fetch_log(cache, job->log_build, job->log, job->deadline);
	else if (job->list)
		pfs_cache_fetch_list(cache, job->list, job->deadline);
	else if (job->batch)
		fetch_latest_batch(cache, job->batch, job->deadline);
	else if (job->build_id)
		fetch(cache, pfs_cache_build_entry(cache, job->pipeline_id,
						   job->build_id), NULL, job->deadline);
	else
		fetch(cache, NULL, pfs_cache_pipeline_entry(cache, job->pipeline_id),
		      job->deadline);
	pthread_mutex_unlock(&cache->board.lock);
	pfs_cache_free_job(job);
}

/* ---- readers ------------------------------------------------------------ */

/* What a reader resolves: the log @g of a step of build @e, build @e
 * (of pipeline @p), the answer of list call @l, or (all NULL) @p's
 * latest answer. */
struct subject {
	struct log_entry *g;
	struct build_entry *e;
	struct pipeline_entry *p;
	struct list_entry *l;
};

static struct pfs_flight *flight_of(const struct subject *s)
{
	return s->g ? &s->g->flight : s->e ? &s->e->flight :
	       s->l ? &s->l->flight : &s->p->flight;
}

static bool has_copy(const struct subject *s)
{
	if (s->g)	/* an ended step's log is whole or not there */
		return s->g->known && (s->g->finished || !s->g->step_ended);
	return s->e ? s->e->build != NULL : s->l ? s->l->known : s->p->latest_known;
}

static bool is_fresh(const struct subject *s, double now)
{
	if (s->g)	/* a step that ended since is asked for its last lines */
		return s->g->finished ||
		       (s->g->known && !s->g->step_ended &&
			now < s->g->flight.fresh_until);
	if (s->e)
		return s->e->build && (s->e->build->completed ||
				       now < s->e->flight.fresh_until);
	return has_copy(s) && now < flight_of(s)->fresh_until;
}

void pfs_cache_start_list(struct pfs_cache *cache, struct list_entry *l,
			  double deadline, bool urgent)
{
	struct job *job = g_new0(struct job, 1);

	job->list = l;
	/* pages follow pages: each may wait for the limiter */
	job->deadline = deadline > 0 ? deadline : pfs_cache_now() + cache->config.timeout;
	pfs_cache_push_job(cache, job, &l->flight, urgent);
}

/* Called with the lock held: hands the fetch of @s to a worker. */
static void start(struct pfs_cache *cache, const struct subject *s,
		  double deadline, bool urgent)
{
	if (s->g)
		pfs_cache_start_log(cache, s->e, s->g, deadline, urgent);
	else if (s->l)
		pfs_cache_start_list(cache, s->l, deadline, urgent);
	else
		pfs_cache_start_fetch(cache, flight_of(s), s->p->id,
				      s->e ? s->e->build_id : NULL, deadline, urgent);
}

bool pfs_cache_latest_due(const struct pipeline_entry *p, double now)
{
	return p->latest_known && now >= p->flight.fresh_until &&
	       !p->flight.fetching && now >= p->flight.retry_at;
}

/* Called with the lock held: @p's stale latest answer is refreshed with
 * those of the other listed pipelines gone stale too, in batch calls.
 * Latest answers fetched together go stale together: a crawl over many
 * pipelines would otherwise pay one call per pipeline (and wait on each). */
static void refresh_latest(struct pfs_cache *cache, struct pipeline_entry *p)
{
	GPtrArray *due = g_ptr_array_new_with_free_func(g_free);
	double now = pfs_cache_now();
	guint i;

	g_ptr_array_add(due, g_strdup(p->id));
	for (i = 0; !cache->no_batch && i < cache->listed->len; i++) {
		struct pipeline_entry *other = pfs_cache_find_pipeline(
			cache, cache->listed->pdata[i]);

		/* v5 has no batch call: each would be a whole run detail */
		if (other != p && pfs_cache_latest_due(other, now) &&
		    pfs_cache_api_of(cache, other) == PFS_API_V3)
			g_ptr_array_add(due, g_strdup(other->id));
	}
	pfs_cache_start_latest_jobs(cache, due);
	g_ptr_array_free(due, TRUE);
}

/* Called with the lock held: a stale copy is refreshed in the background
 * (unless backing off); the reader waits for that only a little, counted
 * from the start of the refresh, so a reader that comes later, or again,
 * does not wait anew. */
static int refresh(struct pfs_cache *cache, struct pfs_reader *reader,
		   const struct subject *s)
{
	struct pfs_flight *f = flight_of(s);
	int res;

	if (!f->fetching && pfs_cache_now() >= f->retry_at && !s->e && !s->l &&
	    !s->g && cache->config.prefetch)
		refresh_latest(cache, s->p);
	else if (!f->fetching && pfs_cache_now() >= f->retry_at)
		/* a copy to serve: the refresh does not wait for the limiter */
		start(cache, s, 0, false);
	if (!f->fetching)
		return 0;
	res = pfs_flight_wait(&cache->board, f,
			      f->started_at + PFS_CACHE_PATIENCE, reader);
	if (res == -EINTR)
		return res;
	if (res < 0 || f->fetching)
		return 0;	/* still running: serve the stale copy */
	return pfs_flight_outcome_with_copy(f->last_err);
}

/* Called with the lock held, which it drops for a moment: true when the
 * credentials changed since @f's last failure. */
static bool credentials_changed(struct pfs_cache *cache, struct pfs_flight *f)
{
	unsigned refused = f->credentials, now;

	pthread_mutex_unlock(&cache->board.lock);
	now = pfs_backend_credentials(cache->backend);
	pthread_mutex_lock(&cache->board.lock);
	return now != refused;
}

/* How much of a reader's time a request should have: a reader does not
 * wait for a retry that would leave its request less (it would fail for
 * want of time, and back the entry off further). */
static double request_room(const struct pfs_cache *cache)
{
	return MIN(1.0, cache->config.timeout / 2);
}

/* Called with the lock held, @e and @p pinned: 0 when what the reader
 * asked for may be served; else the error, -ETIMEDOUT at the reader's
 * deadline. Readers only wait: the requests run on the workers. */
static int resolve(struct pfs_cache *cache, struct pfs_reader *reader,
		   const struct subject *s)
{
	struct pfs_flight *f = flight_of(s);
	struct build_entry *e = s->e;
	struct pipeline_entry *p = s->p;
	bool waited_for_latest = false, credentials_checked = false;
	int res;

	for (;;) {
		double now = pfs_cache_now();

		if (is_fresh(s, now))
			return 0;
		if (has_copy(s))
			return refresh(cache, reader, s);
		if (now >= reader->deadline)
			return -ETIMEDOUT;
		if (f->fetching) {
			hurry(cache, f);
			res = pfs_flight_wait(&cache->board, f, reader->deadline,
					      reader);
			if (res < 0)
				return res;
			if (!f->fetching && f->last_err < 0 && !has_copy(s))
				return f->last_err;
			continue;
		}
		if (now < f->retry_at && !credentials_checked &&
		    (f->last_err == -EACCES || f->last_err == -EKEYREJECTED)) {
			/* refused: new credentials end the backoff */
			credentials_checked = true;
			if (credentials_changed(cache, f))
				f->retry_at = 0;
			continue;
		}
		if (now < f->retry_at) {
			/* backing off: wait for the retry if it comes in time
			 * and can help, else the last error at once */
			if (f->retry_at + request_room(cache) > reader->deadline ||
			    !pfs_flight_worth_waiting(f->last_err))
				return f->last_err < 0 ? f->last_err : -EIO;
			res = pfs_flight_nap(&cache->board, f->retry_at, reader);
			if (res < 0)
				return res;
			continue;
		}
		/* a latest call under way may be bringing this very build:
		 * worth a short wait, not one behind a call that hangs */
		if (e && !s->g && p->flight.fetching && !waited_for_latest &&
		    (!p->latest_known || g_strcmp0(p->latest, e->build_id) == 0)) {
			waited_for_latest = true;
			hurry(cache, &p->flight);
			res = pfs_flight_wait(&cache->board, &p->flight,
					      MIN(p->flight.started_at + PFS_CACHE_PATIENCE,
						  reader->deadline - request_room(cache)),
					      reader);
			if (res < 0 && res != -ETIMEDOUT)
				return res;
			continue;
		}
		start(cache, s, reader->deadline, true);
	}
}

int pfs_cache_resolve_list(struct pfs_cache *cache, struct pfs_reader *reader,
			   struct list_entry *l)
{
	return resolve(cache, reader, &(struct subject){ .l = l });
}

int pfs_cache_resolve_log(struct pfs_cache *cache, struct pfs_reader *reader,
			  struct build_entry *e, struct log_entry *g)
{
	return resolve(cache, reader, &(struct subject){
		.g = g, .e = e, .p = pfs_cache_pipeline_entry(cache, e->pipeline_id) });
}

/* What a reader gets for the outcome of a call to the API. */
int pfs_cache_reader_errno(int err)
{
	if (err == -EKEYREJECTED)	/* not sent while the credentials are refused */
		return -EACCES;
	if (err == 0 || err == -ENOENT || err == -EACCES || err == -EINTR)
		return err;
	return -EIO;
}

int pfs_cache_get_build(struct pfs_cache *cache, struct pfs_reader *reader,
			const char *pipeline_id, const char *build_id,
			struct pfs_build **out, double *fresh_for)
{
	struct pipeline_entry *p;
	struct build_entry *e;
	double now;
	int res;

	*out = NULL;
	pthread_mutex_lock(&cache->board.lock);
	e = pfs_cache_build_entry(cache, pipeline_id, build_id);
	p = pfs_cache_pipeline_entry(cache, pipeline_id);
	e->pins++;
	p->pins++;
	pfs_cache_learn_project(cache, reader, p);
	if (is_fresh(&(struct subject){ .e = e, .p = p }, pfs_cache_now()))
		pfs_stats_cache_hit();
	else
		pfs_stats_cache_miss();
	res = resolve(cache, reader, &(struct subject){ .e = e, .p = p });
	if (res == 0 && !pfs_cache_copy(cache, e))
		res = -EIO;
	if (res == 0) {
		pfs_cache_touch(cache, e);
		*out = pfs_build_ref(e->build);
		pfs_cache_cool(cache);
		now = pfs_cache_now();
		*fresh_for = e->build->completed ? PFS_CACHE_FOREVER
			   : e->flight.fresh_until > now ? e->flight.fresh_until - now
			   : 0;
	}
	e->pins--;
	p->pins--;
	pthread_mutex_unlock(&cache->board.lock);
	return pfs_cache_reader_errno(res);
}

int pfs_cache_get_latest(struct pfs_cache *cache, struct pfs_reader *reader,
			 const char *pipeline_id, char **build_id,
			 double *fresh_for, struct timespec *changed)
{
	struct pipeline_entry *p;
	double now;
	int res;

	*build_id = NULL;
	pthread_mutex_lock(&cache->board.lock);
	p = pfs_cache_pipeline_entry(cache, pipeline_id);
	p->pins++;
	pfs_cache_learn_project(cache, reader, p);
	res = resolve(cache, reader, &(struct subject){ .p = p });
	if (res == 0 && !p->latest)
		res = -ENOENT;
	if (res == 0) {
		*build_id = g_strdup(p->latest);
		now = pfs_cache_now();
		*fresh_for = p->flight.fresh_until > now ? p->flight.fresh_until - now : 0;
		if (changed)
			*changed = p->latest_changed;
	}
	p->pins--;
	pthread_mutex_unlock(&cache->board.lock);
	return pfs_cache_reader_errno(res);
}

int pfs_cache_check_pipeline(struct pfs_cache *cache, struct pfs_reader *reader,
			     const char *pipeline_id)
{
	struct pipeline_entry *p;
	int res = 0;

	pthread_mutex_lock(&cache->board.lock);
	p = pfs_cache_pipeline_entry(cache, pipeline_id);
	if (!p->listed) {
		p->pins++;
		pfs_cache_learn_project(cache, reader, p);
		res = resolve(cache, reader, &(struct subject){ .p = p });
		p->pins--;
		/* a pipeline with no build yet still exists */
		if (p->listed)
			res = 0;
	}
	pthread_mutex_unlock(&cache->board.lock);
	return pfs_cache_reader_errno(res);
}

/* ---- prefetch ----------------------------------------------------------- */

/* Called with the lock held: the latest answers of @ids (flights begun
 * with @job NULL) in batch calls of at most BATCH_MAX, or one latest call
 * when there is just one. */
void pfs_cache_start_latest_jobs(struct pfs_cache *cache, GPtrArray *ids)
{
	double deadline = pfs_cache_now() + cache->config.timeout;
	GPtrArray *batched = g_ptr_array_new();
	guint i, n, k;

	/* only v3 has the batch call */
	for (i = 0; i < ids->len; i++) {
		struct pipeline_entry *p = pfs_cache_pipeline_entry(cache, ids->pdata[i]);

		if (ids->len > 1 && !cache->no_batch &&
		    pfs_cache_api_of(cache, p) == PFS_API_V3)
			g_ptr_array_add(batched, ids->pdata[i]);
		else
			pfs_cache_start_fetch(cache, &p->flight, p->id, NULL,
					      deadline, false);
	}
	if (batched->len == 1)
		pfs_cache_start_fetch(cache, &pfs_cache_pipeline_entry(cache, batched->pdata[0])->flight,
				      batched->pdata[0], NULL, deadline, false);
	for (i = 0; batched->len > 1 && i < batched->len; i += n) {
		struct job *job = g_new0(struct job, 1);

		n = batched->len - i < BATCH_MAX ? batched->len - i : BATCH_MAX;
		job->deadline = deadline;
		job->batch = g_new0(char *, n + 1);
		for (k = 0; k < n; k++) {
			job->batch[k] = g_strdup(batched->pdata[i + k]);
			pfs_flight_begin(&pfs_cache_pipeline_entry(cache, job->batch[k])->flight,
					 job, pfs_cache_now());
		}
		if (pfs_flight_board_stopping(&cache->board) ||
		    !g_thread_pool_push(cache->workers, job, NULL)) {
			for (k = 0; k < n; k++)
				pfs_flight_land(&cache->board,
						&pfs_cache_pipeline_entry(cache, job->batch[k])->flight,
						-ECANCELED);
			pfs_cache_free_job(job);
		}
	}
	g_ptr_array_free(batched, TRUE);
}

void pfs_cache_prefetch_latest(struct pfs_cache *cache, char **pipeline_ids,
			       bool only_stale)
{
	GPtrArray *due;
	double now = pfs_cache_now();
	char **id;

	if (!cache->config.prefetch)
		return;
	due = g_ptr_array_new_with_free_func(g_free);
	pthread_mutex_lock(&cache->board.lock);
	for (id = pipeline_ids; *id; id++) {
		struct pipeline_entry *p = pfs_cache_pipeline_entry(cache, *id);

		if ((p->latest_known && now < p->flight.fresh_until) ||
		    (only_stale && !p->latest_known) ||
		    p->flight.fetching || now < p->flight.retry_at)
			continue;
		g_ptr_array_add(due, g_strdup(p->id));
	}
	if (due->len > 0)
		pfs_cache_start_latest_jobs(cache, due);
	pthread_mutex_unlock(&cache->board.lock);
	g_ptr_array_free(due, TRUE);
}
