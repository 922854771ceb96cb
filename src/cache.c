/* cache.c - see cache.h: entries, their slots and recycling, the memory
 * bound, listings. Requests and readers are in cache_fetch.c. */
#include "cache_internal.h"
#include "lists.h"
#include "limiter.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <malloc.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

double pfs_cache_now(void)
{
	return pfs_limiter_now();
}

static void free_pipeline_entry(void *data)
{
	struct pipeline_entry *p = data;

	pfs_event_log_clear(&p->events);
	pfs_cache_clear_pipeline_lists(p);
	g_free(p->id);
	g_free(p->latest);
	g_ptr_array_free(p->builds, TRUE);
	g_free(p);
}

static void free_build_entry(void *data)
{
	struct build_entry *e = data;

	pfs_build_unref(e->build);
	pfs_event_log_clear(&e->events);
	pfs_cache_free_logs(e);
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

int pfs_cache_new(struct pfs_backend *backend, const struct pfs_cache_config *config,
		  struct pfs_cache **out)
{
	struct pfs_cache *cache = g_new0(struct pfs_cache, 1);
	size_t by_size = config->max_bytes / BYTES_PER_ENTRY;

	cache->backend = backend;
	cache->config = *config;
	pfs_flight_board_init(&cache->board);
	cache->pipelines = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
						 free_pipeline_entry);
	cache->listed = g_ptr_array_new();
	pfs_cache_lists_init(cache);
	cache->builds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      free_build_entry);
	g_queue_init(&cache->lru);
	g_queue_init(&cache->hot);
	cache->max_entries = by_size > MIN_ENTRIES ? (guint)MIN(by_size, G_MAXINT)
						   : MIN_ENTRIES;
	slot_table_init(&cache->pipeline_slots, cache->max_entries);
	slot_table_init(&cache->build_slots, cache->max_entries);
	cache->workers = g_thread_pool_new_full(pfs_cache_run_job, cache,
						pfs_cache_free_job,
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
	pfs_cache_lists_free(cache);
	pfs_event_log_clear(&cache->events);
	pfs_flight_board_destroy(&cache->board);
	g_free(cache);
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

struct build_entry *pfs_cache_build_of_slot_locked(struct pfs_cache *cache,
						   uint32_t slot)
{
	return entry_of_slot(&cache->build_slots, slot);
}

/* Nothing would be lost: nothing cached or listed, no request under way,
 * no caller holding its slot, and the kernel holds none of its inodes. */
static bool build_recyclable(const struct build_entry *e)
{
	return !e->build && !e->flight.fetching && !e->log_flights && !e->pins &&
	       !e->kernel_refs;
}

static bool pipeline_recyclable(const struct pipeline_entry *p)
{
	return !p->listed && !p->builds->len && !p->flight.fetching &&
	       !p->in_catalog && !p->history &&
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
struct pipeline_entry *pfs_cache_find_pipeline(struct pfs_cache *cache,
					    const char *id)
{
	return g_hash_table_lookup(cache->pipelines, id);
}

/* Called with the lock held. An entry may be recycled once the lock is
 * dropped unless the caller pins it (or it is otherwise in use). */
struct pipeline_entry *pfs_cache_pipeline_entry(struct pfs_cache *cache,
					     const char *id)
{
	struct pipeline_entry *p = pfs_cache_find_pipeline(cache, id);

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
struct build_entry *pfs_cache_build_entry(struct pfs_cache *cache,
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
void pfs_cache_note_listed(struct pfs_cache *cache, struct pipeline_entry *p)
{
	if (!p->listed) {
		p->listed = true;
		g_ptr_array_add(cache->listed, p->id);
		clock_gettime(CLOCK_REALTIME, &cache->listed_changed);
		cache->listed_version++;
	}
}

/* Called with the lock held. */
static void note_build_seen(struct pfs_cache *cache, const char *pipeline_id,
			    const char *build_id)
{
	struct pipeline_entry *p = pfs_cache_pipeline_entry(cache, pipeline_id);
	guint i;

	for (i = 0; i < p->builds->len; i++)
		if (strcmp(p->builds->pdata[i], build_id) == 0)
			return;
	g_ptr_array_add(p->builds, g_strdup(build_id));
	clock_gettime(CLOCK_REALTIME, &p->listing_changed);
	p->listing_version++;
}

void pfs_cache_note_gone(struct pfs_cache *cache, const char *pipeline_id,
			 const char *build_id)
{
	struct pipeline_entry *p = pfs_cache_find_pipeline(cache, pipeline_id);
	guint i;

	for (i = 0; p && i < p->builds->len; i++)
		if (strcmp(p->builds->pdata[i], build_id) == 0) {
			g_ptr_array_remove_index(p->builds, i);
			clock_gettime(CLOCK_REALTIME, &p->listing_changed);
			p->listing_version++;
			return;
		}
}

/* ---- the memory bound ------------------------------------------------ */

/* Called with the lock held. */
void pfs_cache_drop_build(struct pfs_cache *cache, struct build_entry *e)
{
	if (!e->build)
		return;
	g_queue_unlink(&cache->lru, &e->lru_link);
	if (e->hot)
		g_queue_unlink(&cache->hot, &e->hot_link);
	e->hot = false;
	cache->bytes -= e->size;
	pfs_build_unref(e->build);	/* open files keep their own reference */
	e->build = NULL;
	e->size = 0;
	e->flight.fresh_until = 0;
	/* what it logged goes with it: seen again, it is first seen again */
	pfs_event_log_clear(&e->events);
	e->first_seen_ns = 0;
	e->events_full = false;
	pfs_cache_drop_logs(e);
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
		pfs_cache_drop_build(cache, oldest->data);
		pfs_stats_eviction();
	}
}

static void make_hot(struct pfs_cache *cache, struct build_entry *e)
{
	if (e->hot)
		g_queue_unlink(&cache->hot, &e->hot_link);
	e->hot_link.data = e;
	g_queue_push_head_link(&cache->hot, &e->hot_link);
	e->hot = true;
}

struct pfs_build *pfs_cache_copy(struct pfs_cache *cache, struct build_entry *e)
{
	if (!e->build)
		return NULL;
	if (pfs_build_expand(e->build) < 0) {
		pfs_log_err("pipeline %s build %s: its tree could not be made "
			    "again from its body; it will be fetched again",
			    e->pipeline_id, e->build_id);
		pfs_cache_drop_build(cache, e);
		return NULL;
	}
	make_hot(cache, e);
	return e->build;
}

void pfs_cache_cool(struct pfs_cache *cache)
{
	guint tries = cache->hot.length;

	while (cache->hot.length > HOT_BUILDS && tries-- > 0) {
		GList *coldest = g_queue_peek_tail_link(&cache->hot);
		struct build_entry *e = coldest->data;

		g_queue_unlink(&cache->hot, coldest);
		/* a reader's or an open file's: its tree stays while held */
		if (__atomic_load_n(&e->build->refcount, __ATOMIC_ACQUIRE) > 1) {
			g_queue_push_head_link(&cache->hot, coldest);
			continue;
		}
		e->hot = false;
		if (pfs_build_shrink(e->build) &&
		    ++cache->shrunk_since_trim >= TRIM_EVERY) {
			/* the trees went back to malloc, among the small blocks
			 * cached builds keep: give their pages to the kernel */
			cache->shrunk_since_trim = 0;
			malloc_trim(0);
		}
	}
}

void pfs_cache_grew(struct pfs_cache *cache, struct build_entry *e,
		    size_t bytes)
{
	if (!e->build)
		return;	/* counted when a copy comes: install_build */
	e->size += bytes;
	cache->bytes += bytes;
	evict(cache, e);
}

/* Called with the lock held. */
void pfs_cache_touch(struct pfs_cache *cache, struct build_entry *e)
{
	g_queue_unlink(&cache->lru, &e->lru_link);
	g_queue_push_head_link(&cache->lru, &e->lru_link);
}

/* Called with the lock held. Installs @build, fetched by a request
 * that began at @asked_at (monotonic). */
void pfs_cache_install_build(struct pfs_cache *cache, const char *pipeline_id,
			  const char *build_id, struct pfs_build *build,
			  double asked_at)
{
	struct build_entry *e = pfs_cache_build_entry(cache, pipeline_id, build_id);
	double now = pfs_cache_now();
	struct pfs_event_log log;
	GHashTable *logs;
	int64_t first_seen;

	if (e->build && e->build->completed) {
		/* a completed build never changes (a latest call brought it
		 * again): keep the copy, and its mtime, the kernel caches */
		pfs_cache_touch(cache, e);
		return;
	}
	if (e->build && asked_at < e->asked_at)
		return;	/* a slower, older answer: the copy is newer */
	e->asked_at = asked_at;
	pfs_cache_observe(cache, e, build);
	/* the copy goes, its log and its steps' logs stay */
	log = e->events;
	first_seen = e->first_seen_ns;
	logs = e->logs;
	e->events = (struct pfs_event_log){ 0 };
	e->logs = NULL;
	pfs_cache_drop_build(cache, e);
	e->events = log;
	e->first_seen_ns = first_seen;
	e->logs = logs;
	e->build = pfs_build_ref(build);
	e->size = pfs_build_size(build) + pfs_event_log_size(&e->events) +
		  pfs_cache_logs_size(e);
	cache->bytes += e->size;
	g_queue_push_head_link(&cache->lru, &e->lru_link);
	make_hot(cache, e);
	e->flight.fresh_until = now + cache->config.ttl;
	note_build_seen(cache, pipeline_id, build_id);
	evict(cache, e);
	pfs_cache_cool(cache);
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

		if (e->build && !e->build->completed && pfs_cache_copy(cache, e)) {
			g_ptr_array_add(gone, pfs_build_ref(e->build));
			g_array_append_val(slots, e->slot);
			pfs_cache_drop_build(cache, e);
		}
		e->flight.retry_at = 0;
	}
	g_hash_table_iter_init(&iter, cache->pipelines);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct pipeline_entry *p = value;

		p->flight.fresh_until = 0;
		p->flight.retry_at = 0;
	}
	pfs_cache_lists_stale(cache);
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

/* ---- slots ------------------------------------------------------------- */

int pfs_cache_pipeline_slot(struct pfs_cache *cache, const char *pipeline_id,
			    uint32_t *slot)
{
	struct pipeline_entry *p;

	pthread_mutex_lock(&cache->board.lock);
	p = pfs_cache_pipeline_entry(cache, pipeline_id);
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
		e = pfs_cache_build_entry(cache, pipeline_id, build_id);
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
	pfs_cache_note_listed(cache, pfs_cache_pipeline_entry(cache, pipeline_id));
	pthread_mutex_unlock(&cache->board.lock);
}

bool pfs_cache_latest_absent(struct pfs_cache *cache, const char *pipeline_id)
{
	struct pipeline_entry *p;
	bool absent;

	pthread_mutex_lock(&cache->board.lock);
	p = pfs_cache_find_pipeline(cache, pipeline_id);
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

/* Called with the lock held: @p's builds, those of its history first
 * (newest first), then the others seen, in the order first seen. */
static GPtrArray *builds_of(const struct pipeline_entry *p)
{
	GPtrArray *ids = g_ptr_array_new();
	guint i;

	for (i = 0; p && p->history && i < p->history->len; i++)
		g_ptr_array_add(ids, ((struct pfs_history_entry *)p->history->pdata[i])->build_id);
	for (i = 0; p && i < p->builds->len; i++)
		if (!p->history_index ||
		    !g_hash_table_contains(p->history_index, p->builds->pdata[i]))
			g_ptr_array_add(ids, p->builds->pdata[i]);
	return ids;
}

char **pfs_cache_list_builds(struct pfs_cache *cache, const char *pipeline_id)
{
	GPtrArray *ids;
	char **strv;

	pthread_mutex_lock(&cache->board.lock);
	ids = builds_of(pfs_cache_find_pipeline(cache, pipeline_id));
	strv = copy_strv(ids);
	pthread_mutex_unlock(&cache->board.lock);
	g_ptr_array_free(ids, TRUE);
	return strv;
}

struct timespec pfs_cache_listing_changed(struct pfs_cache *cache,
					  const char *pipeline_id,
					  uint32_t *version)
{
	struct timespec changed = { 0, 0 };
	struct pipeline_entry *p;

	*version = 0;
	pthread_mutex_lock(&cache->board.lock);
	if (!pipeline_id) {
		changed = cache->listed_changed;
		*version = cache->listed_version;
	} else {
		p = pfs_cache_find_pipeline(cache, pipeline_id);
		if (p) {
			changed = p->listing_changed;
			*version = p->listing_version;
		}
	}
	pthread_mutex_unlock(&cache->board.lock);
	return changed;
}

size_t pfs_cache_listing_size(struct pfs_cache *cache, const char *pipeline_id)
{
	size_t size = 0;

	pthread_mutex_lock(&cache->board.lock);
	if (!pipeline_id) {
		size = cache->listed->len;
	} else {
		GPtrArray *ids = builds_of(pfs_cache_find_pipeline(cache, pipeline_id));

		size = ids->len;
		g_ptr_array_free(ids, TRUE);
	}
	pthread_mutex_unlock(&cache->board.lock);
	return size;
}
