/* cache_events.c - see cache.h: what changed. Times of a new copy, the
 * events logs of builds, pipelines and the mount, the change hook, and
 * the refreshes that those who follow and wait need. */
#include "cache_internal.h"
#include "log.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* Merged logs are rotated past these (events.h). */
#define PIPELINE_EVENTS_MAX (4u << 20)
#define MOUNT_EVENTS_MAX (16u << 20)
/* A build's own log: only a service gone mad changes a build this much. */
#define BUILD_EVENTS_MAX (4u << 20)

int64_t pfs_cache_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void pfs_cache_set_change_hook(struct pfs_cache *cache, pfs_cache_change_fn fn,
			       void *arg)
{
	cache->on_change = fn;
	cache->on_change_arg = arg;
}

static void tell(struct pfs_cache *cache, uint32_t pipeline_slot,
		 uint32_t build_slot, struct pfs_build *build, int64_t ns,
		 bool first_seen)
{
	struct pfs_cache_change *change;

	if (!cache->on_change)
		return;
	change = g_new0(struct pfs_cache_change, 1);
	change->pipeline_slot = pipeline_slot;
	change->build_slot = build_slot;
	change->build = build ? pfs_build_ref(build) : NULL;
	change->changed_ns = ns;
	change->first_seen = first_seen;
	cache->on_change(change, cache->on_change_arg);
}

void pfs_cache_notify(struct pfs_cache *cache, struct build_entry *e,
		      struct pfs_build *build, int64_t ns)
{
	struct pipeline_entry *p = pfs_cache_pipeline_entry(cache, e->pipeline_id);

	tell(cache, p->slot, e->slot, build, ns, false);
}

/* Appends @lines to the pipeline's log and (prefixed by the pipeline) to
 * the mount's, as seen at @ns (0: not a change, the logs' times stay). */
static void merge(struct pfs_cache *cache, struct pipeline_entry *p,
		  const GString *lines, const GString *mount_lines, int64_t ns)
{
	pfs_event_log_append(&p->events, lines->str, lines->len,
			     PIPELINE_EVENTS_MAX, true, ns);
	pfs_event_log_append(&cache->events, mount_lines->str, mount_lines->len,
			     MOUNT_EVENTS_MAX, true, ns);
}

void pfs_cache_note_latest(struct pfs_cache *cache, struct pipeline_entry *p,
			   const char *old, const char *new)
{
	int64_t ns = pfs_cache_wall_ns();
	GString *lines = g_string_new(NULL), *mount_lines = g_string_new(NULL);
	char *path = g_strconcat(p->id, "/latest", NULL);

	pfs_events_line(lines, ns / 1000000000, "latest", "build_id", old, new);
	pfs_events_line(mount_lines, ns / 1000000000, path, "build_id", old, new);
	/* learning which build is latest is no change; another one is */
	merge(cache, p, lines, mount_lines, old ? ns : 0);
	if (old) {
		p->newest_ns = MAX(p->newest_ns, ns);
		cache->newest_ns = MAX(cache->newest_ns, ns);
	}
	g_free(path);
	g_string_free(lines, TRUE);
	g_string_free(mount_lines, TRUE);
	tell(cache, p->slot, PFS_CACHE_NO_SLOT, NULL, ns, false);
}

static void note_newest(struct pfs_cache *cache, struct pipeline_entry *p,
			const struct pfs_build *build)
{
	int64_t ns = pfs_build_node_ns(build, PFS_NODE_ROOT);

	p->newest_ns = MAX(p->newest_ns, ns);
	cache->newest_ns = MAX(cache->newest_ns, ns);
}

/* Lines about @e for the merged logs: @first (its build-level state when
 * first seen) or the changes from @before to @now. */
static void merge_build(struct pfs_cache *cache, struct build_entry *e,
			const struct pfs_build *before,
			const struct pfs_build *now, int64_t ns)
{
	struct pipeline_entry *p = pfs_cache_pipeline_entry(cache, e->pipeline_id);
	char *mount_prefix = g_strconcat(e->pipeline_id, "/", e->build_id, NULL);
	GString *lines = g_string_new(NULL), *mount_lines = g_string_new(NULL);

	if (before) {
		pfs_events_diff(lines, before, now, ns / 1000000000, e->build_id);
		pfs_events_diff(mount_lines, before, now, ns / 1000000000,
				mount_prefix);
	} else {
		pfs_events_first_seen(lines, now, ns / 1000000000, e->build_id, true);
		pfs_events_first_seen(mount_lines, now, ns / 1000000000,
				      mount_prefix, true);
		/* a build first seen changed when its times say */
		ns = pfs_build_node_ns(now, PFS_NODE_ROOT);
	}
	merge(cache, p, lines, mount_lines, ns);
	note_newest(cache, p, now);
	g_free(mount_prefix);
	g_string_free(lines, TRUE);
	g_string_free(mount_lines, TRUE);
}

/* Called with the lock held by pfs_cache_install_build(), before @build
 * replaces @e's copy (if any): sets @build's times, and logs and tells
 * what changed. Returns how many bytes @e's log grew by. */
size_t pfs_cache_observe(struct pfs_cache *cache, struct build_entry *e,
			 struct pfs_build *build)
{
	struct pfs_build *before = pfs_cache_copy(cache, e);
	int64_t ns = pfs_cache_wall_ns();
	size_t was = pfs_event_log_size(&e->events);
	GString *lines;

	if (!before) {
		pfs_build_set_times(build, cache->config.tz, ns);
		e->first_seen_ns = ns;
		if (!e->announced)
			merge_build(cache, e, NULL, build, ns);
		e->announced = true;
		note_newest(cache, pfs_cache_pipeline_entry(cache, e->pipeline_id),
			    build);
		tell(cache, pfs_cache_pipeline_entry(cache, e->pipeline_id)->slot,
		     e->slot, build, ns, true);
		return 0;
	}
	if (pfs_build_carry_times(build, before, ns) == 0)
		return 0;
	lines = g_string_new(NULL);
	if (!e->events.text)	/* the first change: the lines so far */
		pfs_events_first_seen(lines, before, e->first_seen_ns / 1000000000,
				      "", false);
	pfs_events_diff(lines, before, build, ns / 1000000000, "");
	if (!pfs_event_log_append(&e->events, lines->str, lines->len,
				  BUILD_EVENTS_MAX, false, ns) && !e->events_full) {
		/* append-only: once full, it stays as it is */
		e->events_full = true;
		pfs_log_warn("pipeline %s build %s: events reached %u bytes; "
			     "further changes are not logged", e->pipeline_id,
			     e->build_id, BUILD_EVENTS_MAX);
	}
	g_string_free(lines, TRUE);
	merge_build(cache, e, before, build, ns);
	pfs_cache_notify(cache, e, build, ns);
	return pfs_event_log_size(&e->events) - MIN(was, pfs_event_log_size(&e->events));
}

static struct build_entry *find_build(struct pfs_cache *cache,
				      const char *pipeline_id,
				      const char *build_id)
{
	char *key = g_strconcat(pipeline_id, "/", build_id, NULL);
	struct build_entry *e = g_hash_table_lookup(cache->builds, key);

	g_free(key);
	return e;
}

int pfs_cache_read_events(struct pfs_cache *cache, const char *pipeline_id,
			  const char *build_id, uint64_t off, size_t size,
			  char **data, size_t *len, size_t *total,
			  int64_t *changed_ns)
{
	struct pfs_event_log made = { 0 };
	const struct pfs_event_log *log;
	struct pipeline_entry *p;
	struct build_entry *e;
	int res = 0;

	*data = NULL;
	*len = *total = 0;
	*changed_ns = 0;
	pthread_mutex_lock(&cache->board.lock);
	if (!pipeline_id) {
		log = &cache->events;
	} else if (!build_id) {
		p = pfs_cache_find_pipeline(cache, pipeline_id);
		log = p ? &p->events : &made;
	} else {
		e = find_build(cache, pipeline_id, build_id);
		if (!e || !e->build || (!e->events.text && !pfs_cache_copy(cache, e))) {
			res = -ENOENT;
			goto out;
		}
		log = &e->events;
		if (!e->events.text) {
			/* nothing changed since first seen: its state then */
			made.text = g_string_new(NULL);
			pfs_events_first_seen(made.text, e->build,
					      e->first_seen_ns / 1000000000, "", false);
			made.changed_ns = 0;	/* the build's time, as first seen */
			log = &made;
		}
	}
	pfs_event_log_read(log, off, size, data, len);
	*total = pfs_event_log_size(log);
	*changed_ns = log->changed_ns;
out:
	pthread_mutex_unlock(&cache->board.lock);
	pfs_event_log_clear(&made);
	return res;
}

int64_t pfs_cache_newest_change(struct pfs_cache *cache,
				const char *pipeline_id)
{
	struct pipeline_entry *p;
	int64_t ns;

	pthread_mutex_lock(&cache->board.lock);
	if (pipeline_id) {
		p = pfs_cache_find_pipeline(cache, pipeline_id);
		ns = p ? p->newest_ns : 0;
	} else {
		ns = cache->newest_ns;
	}
	pthread_mutex_unlock(&cache->board.lock);
	return ns;
}

/* Called with the lock held: starts @f's refresh if it is due. */
static void refresh_if_stale(struct pfs_cache *cache, struct pfs_flight *f,
			     bool has_copy, bool completed,
			     const char *pipeline_id, const char *build_id)
{
	double now = pfs_cache_now();

	if (completed || f->fetching || now < f->retry_at ||
	    (has_copy && now < f->fresh_until))
		return;
	pfs_cache_start_fetch(cache, f, pipeline_id, build_id,
			      now + cache->config.timeout, false);
}

/* Called with the lock held: @p's stale latest answer joins @due (for
 * batch calls), its stale unfinished builds are refreshed. */
static void refresh_pipeline(struct pfs_cache *cache, struct pipeline_entry *p,
			     GPtrArray *due)
{
	double now = pfs_cache_now();
	guint i;

	if (pfs_cache_latest_due(p, now))
		g_ptr_array_add(due, g_strdup(p->id));
	for (i = 0; i < p->builds->len; i++) {
		struct build_entry *e = find_build(cache, p->id, p->builds->pdata[i]);

		if (e && e->build)
			refresh_if_stale(cache, &e->flight, true, e->build->completed,
					 p->id, e->build_id);
	}
}

void pfs_cache_refresh_stale(struct pfs_cache *cache, const char *pipeline_id)
{
	GPtrArray *due = g_ptr_array_new_with_free_func(g_free);
	struct pipeline_entry *p;
	guint i;

	pthread_mutex_lock(&cache->board.lock);
	if (pipeline_id) {
		p = pfs_cache_find_pipeline(cache, pipeline_id);
		if (p)
			refresh_pipeline(cache, p, due);
	} else {
		for (i = 0; i < cache->listed->len; i++)
			refresh_pipeline(cache, pfs_cache_find_pipeline(
						cache, cache->listed->pdata[i]), due);
	}
	/* many pipelines' latest answers: in batch calls, as a listing does */
	if (due->len > 0)
		pfs_cache_start_latest_jobs(cache, due);
	pthread_mutex_unlock(&cache->board.lock);
	g_ptr_array_free(due, TRUE);
}

void pfs_cache_refresh_build(struct pfs_cache *cache, uint32_t slot)
{
	struct build_entry *e;

	pthread_mutex_lock(&cache->board.lock);
	e = pfs_cache_build_of_slot_locked(cache, slot);
	if (e)
		refresh_if_stale(cache, &e->flight, e->build != NULL,
				 e->build && e->build->completed,
				 e->pipeline_id, e->build_id);
	pthread_mutex_unlock(&cache->board.lock);
}

int pfs_cache_peek_build(struct pfs_cache *cache, uint32_t slot,
			 struct pfs_build **out)
{
	struct build_entry *e;
	int res;

	*out = NULL;
	pthread_mutex_lock(&cache->board.lock);
	e = pfs_cache_build_of_slot_locked(cache, slot);
	if (!e)
		res = -ENOENT;
	else if (pfs_cache_copy(cache, e)) {
		res = 0, *out = pfs_build_ref(e->build);
		pfs_cache_cool(cache);
	}
	else if (!e->flight.fetching && e->flight.last_err == -ENOENT)
		res = -ENOENT;
	else
		res = -EAGAIN;
	pthread_mutex_unlock(&cache->board.lock);
	return res;
}

char *pfs_cache_known_latest(struct pfs_cache *cache, const char *pipeline_id)
{
	struct pipeline_entry *p;
	char *latest = NULL;

	pthread_mutex_lock(&cache->board.lock);
	p = pfs_cache_find_pipeline(cache, pipeline_id);
	if (p && p->latest_known)
		latest = g_strdup(p->latest);
	pthread_mutex_unlock(&cache->board.lock);
	return latest;
}

void pfs_cache_gauges(struct pfs_cache *cache, uint64_t *builds,
		      uint64_t *bytes)
{
	pthread_mutex_lock(&cache->board.lock);
	*builds = cache->lru.length;
	*bytes = cache->bytes;
	pthread_mutex_unlock(&cache->board.lock);
}

bool pfs_cache_prefetches(struct pfs_cache *cache)
{
	return cache->config.prefetch;
}
