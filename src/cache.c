/* cache.c - see cache.h */
#include "cache.h"
#include "log.h"

#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* One fetch at a time per entry; others wait for its outcome. */
struct flight {
	bool fetching;
	unsigned generation;	/* bumped when a fetch ends */
	int last_err;		/* outcome of the last fetch */
	double fresh_until;	/* monotonic seconds */
	bool stale_logged;	/* "serving a stale copy" said once per outage */
};

struct build_entry {
	struct pfs_build *build;	/* last good copy, or NULL */
	struct flight flight;
};

struct pipeline_entry {
	char *id;
	bool listed;		/* shown at the root */
	bool latest_known;	/* a latest call has succeeded */
	char *latest;		/* the build it named, or NULL */
	struct flight flight;	/* of the latest call */
	GPtrArray *builds;	/* ids seen, in order first seen */
};

struct pfs_cache {
	struct pfs_api *api;
	double ttl;
	pthread_mutex_t lock;
	pthread_cond_t fetched;		/* broadcast when any fetch ends */
	/* guarded by lock: */
	GHashTable *pipelines;		/* id -> struct pipeline_entry */
	GPtrArray *listed;		/* ids shown at the root, in order */
	GHashTable *builds;		/* "pipeline/build" -> struct build_entry */
};

static double now_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	g_free(e);
}

int pfs_cache_new(struct pfs_api *api, double ttl, struct pfs_cache **out)
{
	struct pfs_cache *cache = g_new0(struct pfs_cache, 1);

	cache->api = api;
	cache->ttl = ttl;
	pthread_mutex_init(&cache->lock, NULL);
	pthread_cond_init(&cache->fetched, NULL);
	cache->pipelines = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
						 free_pipeline_entry);
	cache->listed = g_ptr_array_new();
	cache->builds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      free_build_entry);
	*out = cache;
	return 0;
}

void pfs_cache_free(struct pfs_cache *cache)
{
	if (!cache)
		return;
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
		g_hash_table_insert(cache->pipelines, p->id, p);
	}
	return p;
}

/* Called with cache->lock held. */
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
	g_hash_table_insert(cache->builds, key, e);
	return e;
}

/* Called with cache->lock held. */
static void list_pipeline(struct pfs_cache *cache, struct pipeline_entry *p)
{
	if (!p->listed) {
		p->listed = true;
		g_ptr_array_add(cache->listed, p->id);
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
}

/* Called with cache->lock held. Either waits for the fetch in flight and
 * returns false (its outcome is in the entry), or claims the fetch for
 * the calling thread and returns true. */
static bool lead_or_wait(struct pfs_cache *cache, struct flight *f)
{
	unsigned generation = f->generation;

	if (!f->fetching) {
		f->fetching = true;
		return true;
	}
	while (f->fetching && f->generation == generation)
		pthread_cond_wait(&cache->fetched, &cache->lock);
	return false;
}

/* Called with cache->lock held, by the thread that led the fetch. */
static void land(struct pfs_cache *cache, struct flight *f, int err)
{
	f->fetching = false;
	f->generation++;
	f->last_err = err;
	pthread_cond_broadcast(&cache->fetched);
}

/* What a reader gets for the outcome of a call to the API. */
static int reader_errno(int err)
{
	return (err == 0 || err == -ENOENT || err == -EACCES) ? err : -EIO;
}

/* Called with cache->lock held. Installs a freshly fetched @build. */
static void install_build(struct pfs_cache *cache, const char *pipeline_id,
			  const char *build_id, struct pfs_build *build,
			  double now)
{
	struct build_entry *e = build_entry(cache, pipeline_id, build_id);

	build->fetched_at = time(NULL);
	pfs_build_unref(e->build);
	e->build = pfs_build_ref(build);
	e->flight.fresh_until = now + cache->ttl;
	e->flight.stale_logged = false;
	note_build_seen(cache, pipeline_id, build_id);
}

/* Called with cache->lock held, after a refresh failed for a passing
 * reason while an older copy exists: keep serving it, retry after ttl. */
static void keep_stale(struct pfs_cache *cache, struct flight *f,
		       const char *what, double now)
{
	f->fresh_until = now + cache->ttl;
	if (!f->stale_logged)
		pfs_log_warn("%s: refresh failed, serving the cached copy", what);
	f->stale_logged = true;
}

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

/* Called with cache->lock held; drops it while the request runs. Entries
 * are never freed while the cache lives, so @e stays valid. */
static int fetch_build(struct pfs_cache *cache, struct build_entry *e,
		       const char *pipeline_id, const char *build_id)
{
	struct pfs_build *build = NULL;
	long retry_after;
	double now;
	int res;

	pthread_mutex_unlock(&cache->lock);
	res = pfs_api_get_status(cache->api, pipeline_id, build_id, &build,
				 &retry_after);
	pthread_mutex_lock(&cache->lock);
	now = now_monotonic();
	if (res == 0) {
		install_build(cache, pipeline_id, build_id, build, now);
		pfs_build_unref(build);
	} else if (pfs_api_is_transient(res) && e->build) {
		char what[300];

		snprintf(what, sizeof(what), "pipeline %s build %s", pipeline_id,
			 build_id);
		keep_stale(cache, &e->flight, what, now);
		res = 0;
	}
	land(cache, &e->flight, res);
	return res;
}

int pfs_cache_get_build(struct pfs_cache *cache, const char *pipeline_id,
			const char *build_id, struct pfs_build **out,
			double *fresh_for)
{
	struct build_entry *e;
	int res = 0;

	*out = NULL;
	pthread_mutex_lock(&cache->lock);
	e = build_entry(cache, pipeline_id, build_id);
	for (;;) {
		if (build_usable(e, now_monotonic()))
			break;
		if (lead_or_wait(cache, &e->flight)) {
			res = fetch_build(cache, e, pipeline_id, build_id);
			break;
		}
		/* a fetch we waited for ended: share its outcome */
		res = e->flight.last_err;
		if (res < 0 || e->build)
			break;
	}
	if (res == 0) {
		*out = pfs_build_ref(e->build);
		*fresh_for = build_fresh_for(e, now_monotonic());
	}
	pthread_mutex_unlock(&cache->lock);
	return reader_errno(res);
}

/* Called with cache->lock held; drops it while the request runs. */
static int fetch_latest(struct pfs_cache *cache, struct pipeline_entry *p)
{
	struct pfs_build *build = NULL;
	long retry_after;
	double now;
	int res;

	pthread_mutex_unlock(&cache->lock);
	res = pfs_api_get_status(cache->api, p->id, NULL, &build, &retry_after);
	pthread_mutex_lock(&cache->lock);
	now = now_monotonic();
	if (res == 0) {
		g_free(p->latest);
		p->latest = g_strdup(build->build_id);
		p->latest_known = true;
		p->flight.fresh_until = now + cache->ttl;
		p->flight.stale_logged = false;
		list_pipeline(cache, p);
		/* the same body is that build's status: no second request */
		if (build->build_id)
			install_build(cache, p->id, build->build_id, build, now);
		pfs_build_unref(build);
	} else if (pfs_api_is_transient(res) && p->latest_known) {
		char what[300];

		snprintf(what, sizeof(what), "pipeline %s latest", p->id);
		keep_stale(cache, &p->flight, what, now);
		res = 0;
	}
	land(cache, &p->flight, res);
	return res;
}

/* Called with cache->lock held. */
static int resolve_latest(struct pfs_cache *cache, struct pipeline_entry *p)
{
	int res;

	for (;;) {
		if (p->latest_known && now_monotonic() < p->flight.fresh_until)
			return 0;
		if (lead_or_wait(cache, &p->flight))
			return fetch_latest(cache, p);
		res = p->flight.last_err;
		if (res < 0 || p->latest_known)
			return res;
	}
}

int pfs_cache_get_latest(struct pfs_cache *cache, const char *pipeline_id,
			 char **build_id, double *fresh_for)
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
		double now = now_monotonic();

		*build_id = g_strdup(p->latest);
		*fresh_for = p->flight.fresh_until > now ? p->flight.fresh_until - now : 0;
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
