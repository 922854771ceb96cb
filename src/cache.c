/* cache.c - see cache.h */
#include "cache.h"
#include "limiter.h"
#include "log.h"

#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Pipelines per batch call: keeps its URL under 2 KB. */
#define BATCH_MAX 50
/* Entries of a kind kept at least, whatever cache_size says. */
#define MIN_ENTRIES 1024
/* cache_size bytes per entry kept: ~300 B each, a tenth of the cache. */
#define BYTES_PER_ENTRY 4096

struct build_entry {
	uint32_t slot;
	unsigned pins;			/* callers between slot and unpin */
	int64_t kernel_refs;		/* lookups the kernel holds */
	char *pipeline_id;
	char *build_id;
	struct pfs_build *build;	/* last good copy, or NULL */
	size_t size;			/* of build, as counted in cache->bytes */
	double asked_at;		/* when the request that brought it began */
	GList lru_link;			/* in cache->lru while build is set */
	struct pfs_flight flight;
};

struct pipeline_entry {
	uint32_t slot;
	unsigned pins;
	int64_t kernel_refs;
	char *id;
	bool listed;		/* shown at the root */
	bool latest_known;	/* a latest call has succeeded */
	char *latest;		/* the build it named, or NULL */
	struct timespec latest_changed;	/* when latest last changed */
	struct timespec listing_changed;	/* when builds or latest came or went */
	struct pfs_flight flight;	/* of the latest call */
	GPtrArray *builds;	/* ids seen, in order first seen */
};

/* Slot numbers of one kind of entry, reused once an entry is recycled. */
struct slot_table {
	GPtrArray *entries;	/* slot -> entry, NULL when free */
	GArray *free;		/* of uint32_t: free slots */
	guint used;
	guint recycle_at;	/* look for entries to recycle at this many */
};

struct pfs_cache {
	struct pfs_api *api;
	struct pfs_cache_config config;
	struct pfs_flight_board board;	/* its lock guards all below */
	GThreadPool *workers;		/* of struct job: every request */
	GHashTable *pipelines;		/* id -> struct pipeline_entry */
	GPtrArray *listed;		/* ids shown at the root, in order */
	struct timespec listed_changed;	/* when the last id was added */
	GHashTable *builds;		/* "pipeline/build" -> struct build_entry */
	struct slot_table pipeline_slots;
	struct slot_table build_slots;
	guint max_entries;		/* of a kind, before recycling */
	GQueue lru;			/* entries holding a build, newest first */
	bool no_batch;			/* the service refused the batch call */
	size_t bytes;			/* sum of their sizes */
};

/* A request for a worker; the flights it serves are marked fetching with
 * it as their job until a worker takes it. */
struct job {
	char *pipeline_id;
	char *build_id;		/* NULL: the latest call */
	char **batch;		/* instead: the batch call for these pipelines */
	double deadline;	/* how long it may wait for the limiter; 0: not */
};

static void run_job(gpointer data, gpointer user_data);

static double now_monotonic(void)
{
	return pfs_limiter_now();
}

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

static void slot_table_init(struct slot_table *t, guint max_entries)
{
	t->entries = g_ptr_array_new();
	t->free = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	t->recycle_at = max_entries;
}

static void slot_table_destroy(struct slot_table *t)
{
	g_ptr_array_free(t->entries, TRUE);
	g_array_free(t->free, TRUE);
}

int pfs_cache_new(struct pfs_api *api, const struct pfs_cache_config *config,
		  struct pfs_cache **out)
{
	struct pfs_cache *cache = g_new0(struct pfs_cache, 1);
	size_t by_size = config->max_bytes / BYTES_PER_ENTRY;

	cache->api = api;
	cache->config = *config;
	pfs_flight_board_init(&cache->board);
	cache->pipelines = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
						 free_pipeline_entry);
	cache->listed = g_ptr_array_new();
	cache->builds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      free_build_entry);
	g_queue_init(&cache->lru);
	cache->max_entries = by_size > MIN_ENTRIES ? (guint)MIN(by_size, G_MAXINT)
						   : MIN_ENTRIES;
	slot_table_init(&cache->pipeline_slots, cache->max_entries);
	slot_table_init(&cache->build_slots, cache->max_entries);
	cache->workers = g_thread_pool_new_full(run_job, cache, free_job,
						(gint)(config->workers ? config->workers : 1),
						FALSE, NULL);
	*out = cache;
	return 0;
}

void pfs_cache_set_stop(struct pfs_cache *cache, bool (*stop)(void *),
			void *arg)
{
	cache->board.stop = stop;
	cache->board.stop_arg = arg;
}

void pfs_cache_free(struct pfs_cache *cache)
{
	if (!cache)
		return;
	if (cache->workers)
		g_thread_pool_free(cache->workers, TRUE, TRUE);
	slot_table_destroy(&cache->build_slots);
	slot_table_destroy(&cache->pipeline_slots);
	g_hash_table_destroy(cache->builds);
	g_ptr_array_free(cache->listed, TRUE);
	g_hash_table_destroy(cache->pipelines);
	pfs_flight_board_destroy(&cache->board);
	g_free(cache);
}

void pfs_cache_reader_init(struct pfs_cache *cache, struct pfs_reader *reader)
{
	reader->deadline = now_monotonic() + cache->config.timeout;
	reader->interrupted = 0;
}

void pfs_cache_interrupt(struct pfs_cache *cache, struct pfs_reader *reader)
{
	__atomic_store_n(&reader->interrupted, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&cache->board.lock);
	pthread_cond_broadcast(&cache->board.landed);
	pthread_mutex_unlock(&cache->board.lock);
}

/* ---- entries and their slots ------------------------------------------ */

/* Called with the lock held: a slot for @entry, a free one first. */
static uint32_t take_slot(struct slot_table *t, void *entry)
{
	uint32_t slot;

	if (t->free->len > 0) {
		slot = g_array_index(t->free, uint32_t, t->free->len - 1);
		g_array_set_size(t->free, t->free->len - 1);
		t->entries->pdata[slot] = entry;
	} else {
		slot = t->entries->len;
		g_ptr_array_add(t->entries, entry);
	}
	t->used++;
	return slot;
}

static void give_back_slot(struct slot_table *t, uint32_t slot)
{
	t->entries->pdata[slot] = NULL;
	g_array_append_val(t->free, slot);
	t->used--;
}

static void *entry_of_slot(const struct slot_table *t, uint32_t slot)
{
	return slot < t->entries->len ? t->entries->pdata[slot] : NULL;
}

/* Nothing would be lost: nothing cached or listed, no request under way,
 * no caller holding its slot, and the kernel holds none of its inodes. */
static bool build_recyclable(const struct build_entry *e)
{
	return !e->build && !e->flight.fetching && !e->pins && !e->kernel_refs;
}

static bool pipeline_recyclable(const struct pipeline_entry *p)
{
	return !p->listed && !p->builds->len && !p->flight.fetching &&
	       !p->pins && !p->kernel_refs;
}

/* Called with the lock held, when a table reached its bound: recycles
 * what nobody uses (typically ids that turned out not to exist), then
 * looks again only after a quarter of the bound more, so that a table
 * full of entries in use costs no scan per new entry. */
static void recycle(struct pfs_cache *cache, struct slot_table *t,
		    GHashTable *by_id, bool builds)
{
	GHashTableIter iter;
	gpointer key, value;
	guint before = t->used;

	g_hash_table_iter_init(&iter, by_id);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		uint32_t slot;

		if (builds ? !build_recyclable(value) : !pipeline_recyclable(value))
			continue;
		slot = builds ? ((struct build_entry *)value)->slot
			      : ((struct pipeline_entry *)value)->slot;
		give_back_slot(t, slot);
		g_hash_table_iter_remove(&iter);
	}
	t->recycle_at = MAX(t->used, cache->max_entries) + cache->max_entries / 4;
	pfs_log_debug("recycled %u unused %s entries, %u in use", before - t->used,
		      builds ? "build" : "pipeline", t->used);
}

/* Called with the lock held. */
static struct pipeline_entry *find_pipeline(struct pfs_cache *cache,
					    const char *id)
{
	return g_hash_table_lookup(cache->pipelines, id);
}

/* Called with the lock held. An entry may be recycled once the lock is
 * dropped unless the caller pins it (or it is otherwise in use). */
static struct pipeline_entry *pipeline_entry(struct pfs_cache *cache,
					     const char *id)
{
	struct pipeline_entry *p = find_pipeline(cache, id);

	if (p)
		return p;
	if (cache->pipeline_slots.used >= cache->pipeline_slots.recycle_at)
		recycle(cache, &cache->pipeline_slots, cache->pipelines, false);
	p = g_new0(struct pipeline_entry, 1);
	p->id = g_strdup(id);
	p->builds = g_ptr_array_new_with_free_func(g_free);
	p->slot = take_slot(&cache->pipeline_slots, p);
	g_hash_table_insert(cache->pipelines, p->id, p);
	return p;
}

/* Called with the lock held; as pipeline_entry(). */
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
	if (cache->build_slots.used >= cache->build_slots.recycle_at)
		recycle(cache, &cache->build_slots, cache->builds, true);
	e = g_new0(struct build_entry, 1);
	e->pipeline_id = g_strdup(pipeline_id);
	e->build_id = g_strdup(build_id);
	e->lru_link.data = e;
	e->slot = take_slot(&cache->build_slots, e);
	g_hash_table_insert(cache->builds, key, e);
	return e;
}

/* Called with the lock held. */
static void list_pipeline(struct pfs_cache *cache, struct pipeline_entry *p)
{
	if (!p->listed) {
		p->listed = true;
		g_ptr_array_add(cache->listed, p->id);
		clock_gettime(CLOCK_REALTIME, &cache->listed_changed);
	}
}

/* Called with the lock held. */
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

/* ---- the memory bound ------------------------------------------------ */

/* Called with the lock held. */
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

/* Called with the lock held. Evicts least recently used builds until
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

/* Called with the lock held. */
static void touch(struct pfs_cache *cache, struct build_entry *e)
{
	g_queue_unlink(&cache->lru, &e->lru_link);
	g_queue_push_head_link(&cache->lru, &e->lru_link);
}

/* Called with the lock held. Installs @build, fetched by a request
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

	pthread_mutex_lock(&cache->board.lock);
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
	pthread_mutex_unlock(&cache->board.lock);
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

/* ---- requests, on the workers ------------------------------------------ */

/* Called with the lock held: hands a fetch of @f to a worker. @urgent: a
 * reader waits for it, so it goes before queued prefetches. */
static void start_fetch(struct pfs_cache *cache, struct pfs_flight *f,
			const char *pipeline_id, const char *build_id,
			double deadline, bool urgent)
{
	struct job *job = g_new0(struct job, 1);

	job->pipeline_id = g_strdup(pipeline_id);
	job->build_id = g_strdup(build_id);
	job->deadline = deadline;
	pfs_flight_begin(f, job, now_monotonic());
	if (pfs_flight_board_stopping(&cache->board) ||
	    !g_thread_pool_push(cache->workers, job, NULL)) {
		/* the session is over: the workers are going away */
		pfs_flight_land(&cache->board, f, -ECANCELED);
		free_job(job);
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
		drop_build(cache, e);
	if (p && p->latest_known) {
		p->latest_known = false;
		g_free(p->latest);
		p->latest = NULL;
		clock_gettime(CLOCK_REALTIME, &p->latest_changed);
		p->listing_changed = p->latest_changed;
	}
}

/* Runs on a worker, with the lock held, for a build whose flight is
 * fetching; drops the lock while the request runs. */
static void fetch_build(struct pfs_cache *cache, struct build_entry *e,
			double deadline)
{
	struct pfs_api_failure failure;
	struct pfs_build *build = NULL;
	double asked_at = e->flight.started_at;
	char what[300];
	int res;

	pthread_mutex_unlock(&cache->board.lock);
	res = pfs_api_get_status(cache->api, e->pipeline_id, e->build_id,
				 deadline, &build, &failure);
	pthread_mutex_lock(&cache->board.lock);
	snprintf(what, sizeof(what), "pipeline %s build %s", e->pipeline_id,
		 e->build_id);
	pfs_flight_note(&e->flight, res, what, &failure, e->build != NULL,
			now_monotonic());
	if (res == 0) {
		install_build(cache, e->pipeline_id, e->build_id, build, asked_at);
		pfs_build_unref(build);
	}
	forget_copy_if_refused(cache, res, e, NULL);
	pfs_flight_land(&cache->board, &e->flight, res);
}

/* Called with the lock held: the service named @build_id (NULL: none)
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

/* Runs on a worker, as fetch_build(), for @p's latest call. */
static void fetch_latest(struct pfs_cache *cache, struct pipeline_entry *p,
			 double deadline)
{
	struct pfs_api_failure failure;
	struct pfs_build *build = NULL;
	double asked_at = p->flight.started_at;
	char what[300];
	int res;

	pthread_mutex_unlock(&cache->board.lock);
	res = pfs_api_get_status(cache->api, p->id, NULL, deadline, &build,
				 &failure);
	pthread_mutex_lock(&cache->board.lock);
	snprintf(what, sizeof(what), "pipeline %s latest", p->id);
	pfs_flight_note(&p->flight, res, what, &failure, p->latest_known,
			now_monotonic());
	if (res == 0) {
		set_latest(cache, p, build->build_id);
		/* the same body is that build's status: no second request */
		if (build->build_id)
			install_build(cache, p->id, build->build_id, build,
				      asked_at);
		pfs_build_unref(build);
	}
	forget_copy_if_refused(cache, res, NULL, p);
	pfs_flight_land(&cache->board, &p->flight, res);
}

/* Called with the lock held, the latest flights of @ids marked fetching by
 * this batch job: one batch call learns which build is the latest of each,
 * and only the builds not cached yet are fetched. A pipeline the answer
 * does not name gets its own latest call. */
static void fetch_latest_batch(struct pfs_cache *cache, char **ids,
			       double deadline)
{
	struct pfs_api_failure failure;
	GHashTable *latest = NULL;
	char **id;
	int res;

	pthread_mutex_unlock(&cache->board.lock);
	res = pfs_api_get_latest_ids(cache->api, ids, deadline, &latest, &failure);
	pthread_mutex_lock(&cache->board.lock);
	if (res == -ECANCELED || pfs_flight_board_stopping(&cache->board)) {
		for (id = ids; *id; id++)
			pfs_flight_land(&cache->board,
					&pipeline_entry(cache, *id)->flight, -ECANCELED);
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
		struct pipeline_entry *p = pipeline_entry(cache, *id);
		const char *build_id = latest ? g_hash_table_lookup(latest, *id) : NULL;
		struct build_entry *e;
		double now = now_monotonic();

		if (!build_id) {
			/* the flight goes on as that pipeline's own call */
			start_fetch(cache, &p->flight, p->id, NULL,
				    now + cache->config.timeout, false);
			continue;
		}
		set_latest(cache, p, build_id);
		pfs_flight_note(&p->flight, 0, p->id, &failure, true, now);
		e = build_entry(cache, p->id, build_id);
		if (!e->build && !e->flight.fetching && now >= e->flight.retry_at)
			start_fetch(cache, &e->flight, p->id, build_id,
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

	if (job->batch) {
		for (id = job->batch; *id; id++)
			pipeline_entry(cache, *id)->flight.job = NULL;
	} else if (job->build_id) {
		build_entry(cache, job->pipeline_id, job->build_id)->flight.job = NULL;
	} else {
		pipeline_entry(cache, job->pipeline_id)->flight.job = NULL;
	}
}

/* Runs on a worker thread. The entries of a job are not recycled while
 * their flights are fetching, so the lookups below find them. */
static void run_job(gpointer data, gpointer user_data)
{
	struct pfs_cache *cache = user_data;
	struct job *job = data;

	pthread_mutex_lock(&cache->board.lock);
	take_job(cache, job);
	if (job->batch)
		fetch_latest_batch(cache, job->batch, job->deadline);
	else if (job->build_id)
		fetch_build(cache, build_entry(cache, job->pipeline_id,
					       job->build_id), job->deadline);
	else
		fetch_latest(cache, pipeline_entry(cache, job->pipeline_id),
			     job->deadline);
	pthread_mutex_unlock(&cache->board.lock);
	free_job(job);
}

/* ---- readers ------------------------------------------------------------ */

/* What a reader resolves: build @e, or (@e NULL) @p's latest answer. */
static bool has_copy(const struct build_entry *e, const struct pipeline_entry *p)
{
	return e ? e->build != NULL : p->latest_known;
}

static bool is_fresh(const struct build_entry *e, const struct pipeline_entry *p,
		     double now)
{
	if (e)
		return e->build && (e->build->completed ||
				    now < e->flight.fresh_until);
	return p->latest_known && now < p->flight.fresh_until;
}

/* Called with the lock held: a stale copy is refreshed in the background
 * (unless backing off); the reader waits for that only a little, counted
 * from the start of the refresh, so a reader that comes later, or again,
 * does not wait anew. */
static int refresh(struct pfs_cache *cache, struct pfs_reader *reader,
		   struct build_entry *e, struct pipeline_entry *p)
{
	struct pfs_flight *f = e ? &e->flight : &p->flight;
	int res;

	if (!f->fetching && now_monotonic() >= f->retry_at)
		/* a copy to serve: the refresh does not wait for the limiter */
		start_fetch(cache, f, p->id, e ? e->build_id : NULL, 0, false);
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
	now = pfs_api_credentials(cache->api);
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
		   struct build_entry *e, struct pipeline_entry *p)
{
	struct pfs_flight *f = e ? &e->flight : &p->flight;
	bool waited_for_latest = false, credentials_checked = false;
	int res;

	for (;;) {
		double now = now_monotonic();

		if (is_fresh(e, p, now))
			return 0;
		if (has_copy(e, p))
			return refresh(cache, reader, e, p);
		if (now >= reader->deadline)
			return -ETIMEDOUT;
		if (f->fetching) {
			hurry(cache, f);
			res = pfs_flight_wait(&cache->board, f, reader->deadline,
					      reader);
			if (res < 0)
				return res;
			if (!f->fetching && f->last_err < 0 && !has_copy(e, p))
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
		if (e && p->flight.fetching && !waited_for_latest &&
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
		start_fetch(cache, f, p->id, e ? e->build_id : NULL,
			    reader->deadline, true);
	}
}

/* What a reader gets for the outcome of a call to the API. */
static int reader_errno(int err)
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
	e = build_entry(cache, pipeline_id, build_id);
	p = pipeline_entry(cache, pipeline_id);
	e->pins++;
	p->pins++;
	res = resolve(cache, reader, e, p);
	if (res == 0 && !e->build)
		res = -EIO;
	if (res == 0) {
		touch(cache, e);
		*out = pfs_build_ref(e->build);
		now = now_monotonic();
		*fresh_for = e->build->completed ? PFS_CACHE_FOREVER
			   : e->flight.fresh_until > now ? e->flight.fresh_until - now
			   : 0;
	}
	e->pins--;
	p->pins--;
	pthread_mutex_unlock(&cache->board.lock);
	return reader_errno(res);
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
	p = pipeline_entry(cache, pipeline_id);
	p->pins++;
	res = resolve(cache, reader, NULL, p);
	if (res == 0 && !p->latest)
		res = -ENOENT;
	if (res == 0) {
		*build_id = g_strdup(p->latest);
		now = now_monotonic();
		*fresh_for = p->flight.fresh_until > now ? p->flight.fresh_until - now : 0;
		if (changed)
			*changed = p->latest_changed;
	}
	p->pins--;
	pthread_mutex_unlock(&cache->board.lock);
	return reader_errno(res);
}

int pfs_cache_check_pipeline(struct pfs_cache *cache, struct pfs_reader *reader,
			     const char *pipeline_id)
{
	struct pipeline_entry *p;
	int res = 0;

	pthread_mutex_lock(&cache->board.lock);
	p = pipeline_entry(cache, pipeline_id);
	if (!p->listed) {
		p->pins++;
		res = resolve(cache, reader, NULL, p);
		p->pins--;
		/* a pipeline with no build yet still exists */
		if (p->listed)
			res = 0;
	}
	pthread_mutex_unlock(&cache->board.lock);
	return reader_errno(res);
}

/* ---- prefetch ----------------------------------------------------------- */

/* Called with the lock held: the latest answers of @ids (flights begun
 * with @job NULL) in batch calls of at most BATCH_MAX, or one latest call
 * when there is just one. */
static void start_latest_jobs(struct pfs_cache *cache, GPtrArray *ids)
{
	double deadline = now_monotonic() + cache->config.timeout;
	guint i, n, k;

	if (ids->len == 1 || cache->no_batch) {
		for (i = 0; i < ids->len; i++)
			start_fetch(cache, &pipeline_entry(cache, ids->pdata[i])->flight,
				    ids->pdata[i], NULL, deadline, false);
		return;
	}
	for (i = 0; i < ids->len; i += n) {
		struct job *job = g_new0(struct job, 1);

		n = ids->len - i < BATCH_MAX ? ids->len - i : BATCH_MAX;
		job->deadline = deadline;
		job->batch = g_new0(char *, n + 1);
		for (k = 0; k < n; k++) {
			job->batch[k] = g_strdup(ids->pdata[i + k]);
			pfs_flight_begin(&pipeline_entry(cache, job->batch[k])->flight,
					 job, now_monotonic());
		}
		if (pfs_flight_board_stopping(&cache->board) ||
		    !g_thread_pool_push(cache->workers, job, NULL)) {
			for (k = 0; k < n; k++)
				pfs_flight_land(&cache->board,
						&pipeline_entry(cache, job->batch[k])->flight,
						-ECANCELED);
			free_job(job);
		}
	}
}

void pfs_cache_prefetch_latest(struct pfs_cache *cache, char **pipeline_ids,
			       bool only_stale)
{
	GPtrArray *due;
	double now = now_monotonic();
	char **id;

	if (!cache->config.prefetch)
		return;
	due = g_ptr_array_new_with_free_func(g_free);
	pthread_mutex_lock(&cache->board.lock);
	for (id = pipeline_ids; *id; id++) {
		struct pipeline_entry *p = pipeline_entry(cache, *id);

		if ((p->latest_known && now < p->flight.fresh_until) ||
		    (only_stale && !p->latest_known) ||
		    p->flight.fetching || now < p->flight.retry_at)
			continue;
		g_ptr_array_add(due, g_strdup(p->id));
	}
	if (due->len > 0)
		start_latest_jobs(cache, due);
	pthread_mutex_unlock(&cache->board.lock);
	g_ptr_array_free(due, TRUE);
}

/* ---- slots ------------------------------------------------------------- */

int pfs_cache_pipeline_slot(struct pfs_cache *cache, const char *pipeline_id,
			    uint32_t *slot)
{
	struct pipeline_entry *p;

	pthread_mutex_lock(&cache->board.lock);
	p = pipeline_entry(cache, pipeline_id);
	p->pins++;
	*slot = p->slot;
	pthread_mutex_unlock(&cache->board.lock);
	return 0;
}

int pfs_cache_build_slot(struct pfs_cache *cache, const char *pipeline_id,
			 const char *build_id, uint32_t max_slots,
			 uint32_t *slot)
{
	char *key = g_strconcat(pipeline_id, "/", build_id, NULL);
	struct build_entry *e;
	int res = 0;

	pthread_mutex_lock(&cache->board.lock);
	e = g_hash_table_lookup(cache->builds, key);
	if (!e && cache->build_slots.used >= cache->build_slots.recycle_at)
		recycle(cache, &cache->build_slots, cache->builds, true);
	if (!e && cache->build_slots.free->len == 0 &&
	    cache->build_slots.entries->len >= max_slots) {
		res = -ENOSPC;
	} else {
		e = build_entry(cache, pipeline_id, build_id);
		e->pins++;
		*slot = e->slot;
	}
	pthread_mutex_unlock(&cache->board.lock);
	g_free(key);
	return res;
}

void pfs_cache_unpin_pipeline(struct pfs_cache *cache, uint32_t slot)
{
	struct pipeline_entry *p;

	pthread_mutex_lock(&cache->board.lock);
	p = entry_of_slot(&cache->pipeline_slots, slot);
	if (p && p->pins)
		p->pins--;
	pthread_mutex_unlock(&cache->board.lock);
}

void pfs_cache_unpin_build(struct pfs_cache *cache, uint32_t slot)
{
	struct build_entry *e;

	pthread_mutex_lock(&cache->board.lock);
	e = entry_of_slot(&cache->build_slots, slot);
	if (e && e->pins)
		e->pins--;
	pthread_mutex_unlock(&cache->board.lock);
}

static void add_refs(int64_t *refs, int64_t delta)
{
	*refs = *refs + delta > 0 ? *refs + delta : 0;
}

void pfs_cache_ref_pipeline(struct pfs_cache *cache, uint32_t slot,
			    int64_t delta)
{
	struct pipeline_entry *p;

	pthread_mutex_lock(&cache->board.lock);
	p = entry_of_slot(&cache->pipeline_slots, slot);
	if (p)
		add_refs(&p->kernel_refs, delta);
	pthread_mutex_unlock(&cache->board.lock);
}

void pfs_cache_ref_build(struct pfs_cache *cache, uint32_t slot, int64_t delta)
{
	struct build_entry *e;

	pthread_mutex_lock(&cache->board.lock);
	e = entry_of_slot(&cache->build_slots, slot);
	if (e)
		add_refs(&e->kernel_refs, delta);
	pthread_mutex_unlock(&cache->board.lock);
}

const char *pfs_cache_pipeline_of_slot(struct pfs_cache *cache, uint32_t slot)
{
	struct pipeline_entry *p;

	pthread_mutex_lock(&cache->board.lock);
	p = entry_of_slot(&cache->pipeline_slots, slot);
	pthread_mutex_unlock(&cache->board.lock);
	return p ? p->id : NULL;
}

int pfs_cache_build_of_slot(struct pfs_cache *cache, uint32_t slot,
			    const char **pipeline_id, const char **build_id)
{
	struct build_entry *e;

	pthread_mutex_lock(&cache->board.lock);
	e = entry_of_slot(&cache->build_slots, slot);
	pthread_mutex_unlock(&cache->board.lock);
	if (!e)
		return -ESTALE;
	*pipeline_id = e->pipeline_id;
	*build_id = e->build_id;
	return 0;
}

/* ---- listings ---------------------------------------------------------- */

void pfs_cache_list_pipeline(struct pfs_cache *cache, const char *pipeline_id)
{
	pthread_mutex_lock(&cache->board.lock);
	list_pipeline(cache, pipeline_entry(cache, pipeline_id));
	pthread_mutex_unlock(&cache->board.lock);
}

bool pfs_cache_latest_absent(struct pfs_cache *cache, const char *pipeline_id)
{
	struct pipeline_entry *p;
	bool absent;

	pthread_mutex_lock(&cache->board.lock);
	p = find_pipeline(cache, pipeline_id);
	absent = p && p->latest_known && !p->latest;
	pthread_mutex_unlock(&cache->board.lock);
	return absent;
}

static char **copy_strv(GPtrArray *strings)
{
	char **strv = g_new(char *, (strings ? strings->len : 0) + 1);
	guint i;

	for (i = 0; strings && i < strings->len; i++)
		strv[i] = g_strdup(strings->pdata[i]);
	strv[i] = NULL;
	return strv;
}

char **pfs_cache_list_pipelines(struct pfs_cache *cache)
{
	char **strv;

	pthread_mutex_lock(&cache->board.lock);
	strv = copy_strv(cache->listed);
	pthread_mutex_unlock(&cache->board.lock);
	return strv;
}

char **pfs_cache_list_builds(struct pfs_cache *cache, const char *pipeline_id)
{
	struct pipeline_entry *p;
	char **strv;

	pthread_mutex_lock(&cache->board.lock);
	p = find_pipeline(cache, pipeline_id);
	strv = copy_strv(p ? p->builds : NULL);
	pthread_mutex_unlock(&cache->board.lock);
	return strv;
}

struct timespec pfs_cache_listing_changed(struct pfs_cache *cache,
					  const char *pipeline_id)
{
	struct timespec changed = { 0, 0 };
	struct pipeline_entry *p;

	pthread_mutex_lock(&cache->board.lock);
	if (!pipeline_id) {
		changed = cache->listed_changed;
	} else {
		p = find_pipeline(cache, pipeline_id);
		if (p)
			changed = p->listing_changed;
	}
	pthread_mutex_unlock(&cache->board.lock);
	return changed;
}

size_t pfs_cache_listing_size(struct pfs_cache *cache, const char *pipeline_id)
{
	struct pipeline_entry *p;
	size_t size = 0;

	pthread_mutex_lock(&cache->board.lock);
	if (!pipeline_id) {
		size = cache->listed->len;
	} else {
		p = find_pipeline(cache, pipeline_id);
		if (p)
			size = p->builds->len;
	}
	pthread_mutex_unlock(&cache->board.lock);
	return size;
}
