/* views.c - see views.h */
#include "views.h"
#include "inode.h"
#include "stats.h"
#include "summary.h"

#include <pthread.h>
#include <string.h>

struct snapshot {
	char *text;
	size_t len;
	int64_t mtime_ns;
	double made_at;		/* monotonic */
};

struct pfs_views {
	struct pfs_cache *cache;
	pthread_mutex_t lock;
	GHashTable *snapshots;	/* "view/pipeline" -> struct snapshot */
};

static void free_snapshot(void *data)
{
	struct snapshot *s = data;

	g_free(s->text);
	g_free(s);
}

struct pfs_views *pfs_views_new(struct pfs_cache *cache)
{
	struct pfs_views *views = g_new0(struct pfs_views, 1);

	views->cache = cache;
	pthread_mutex_init(&views->lock, NULL);
	views->snapshots = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						 free_snapshot);
	return views;
}

void pfs_views_free(struct pfs_views *views)
{
	if (!views)
		return;
	g_hash_table_destroy(views->snapshots);
	pthread_mutex_destroy(&views->lock);
	g_free(views);
}

const char *pfs_view_name(enum pfs_view view)
{
	static const char *const names[] = {
		[PFS_VIEW_EVENTS] = "events", [PFS_VIEW_SUMMARY] = "summary",
		[PFS_VIEW_HEALTH] = "health", [PFS_VIEW_METRICS] = "metrics",
	};

	return names[view];
}

/* The cached copy of build @build_id of @pipeline_id, or NULL. */
static struct pfs_build *cached(struct pfs_cache *cache, const char *pipeline_id,
				const char *build_id)
{
	struct pfs_build *build = NULL;
	uint32_t slot;

	if (pfs_cache_build_slot(cache, pipeline_id, build_id, PFS_INO_MAX_BUILDS,
				 &slot) < 0)
		return NULL;
	pfs_cache_peek_build(cache, slot, &build);
	pfs_cache_unpin_build(cache, slot);
	return build;
}

struct seen {
	char *id;
	struct pfs_build *build;
};

static int newest_first(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	return pfs_summary_compare_builds(x->id, x->build, y->id, y->build);
}

/* @seen's line: from its cached copy, else from its history, else "-". */
static void append_pipeline_line(struct pfs_cache *cache, GString *out,
				 const char *pipeline_id, const struct seen *seen,
				 const char *name)
{
	char *status = NULL, *outcome = NULL, *start = NULL, *elapsed = NULL;
	bool known = !seen->build &&
		     pfs_cache_history_brief(cache, pipeline_id, seen->id, &status,
					     &outcome, &start, &elapsed);

	pfs_summary_pipeline_line(out, seen->id, seen->build,
				  known ? &(struct pfs_summary_brief){
					  .status = status, .outcome = outcome,
					  .start_time = start, .elapsed_time = elapsed }
					: NULL,
				  name);
	g_free(status);
	g_free(outcome);
	g_free(start);
	g_free(elapsed);
}

/* One line per build seen, newest first. */
static char *pipeline_summary(struct pfs_cache *cache, const char *pipeline_id,
			      size_t *len)
{
	char **ids = pfs_cache_list_builds(cache, pipeline_id);
	guint n = g_strv_length(ids), i;
	struct seen *builds = g_new0(struct seen, n ? n : 1);
	GString *out = g_string_new(NULL);
	char *name = pfs_cache_pipeline_name(cache, pipeline_id);

	for (i = 0; i < n; i++) {
		builds[i].id = ids[i];
		builds[i].build = cached(cache, pipeline_id, ids[i]);
	}
	qsort(builds, n, sizeof(*builds), newest_first);
	for (i = 0; i < n; i++) {
		append_pipeline_line(cache, out, pipeline_id, &builds[i], name);
		pfs_build_unref(builds[i].build);
	}
	g_free(name);
	g_free(builds);
	g_strfreev(ids);
	*len = out->len;
	return g_string_free(out, FALSE);
}

/* One line per pipeline listed: its latest build as far as known, without
 * asking the service. */
static char *mount_summary(struct pfs_cache *cache, size_t *len)
{
	char **ids = pfs_cache_list_pipelines(cache), **id;
	GString *out = g_string_new(NULL);

	for (id = ids; *id; id++) {
		char *latest = pfs_cache_known_latest(cache, *id);
		struct pfs_build *build = latest ? cached(cache, *id, latest) : NULL;
		char *name = pfs_cache_pipeline_name(cache, *id);

		pfs_summary_root_line(out, *id, name, latest, build);
		pfs_build_unref(build);
		g_free(latest);
		g_free(name);
	}
	g_strfreev(ids);
	*len = out->len;
	return g_string_free(out, FALSE);
}

static char *render(struct pfs_views *views, enum pfs_view view,
		    const char *pipeline_id, size_t *len, int64_t *mtime_ns)
{
	struct pfs_stats_gauges gauges = { 0 };

	*mtime_ns = pfs_cache_newest_change(views->cache, pipeline_id);
	switch (view) {
	case PFS_VIEW_SUMMARY:
		return pipeline_id ? pipeline_summary(views->cache, pipeline_id, len)
				   : mount_summary(views->cache, len);
	case PFS_VIEW_HEALTH:
	case PFS_VIEW_METRICS:
		*mtime_ns = g_get_real_time() * 1000;
		pfs_cache_gauges(views->cache, &gauges.cached_builds,
				 &gauges.cached_bytes);
		return view == PFS_VIEW_HEALTH ? pfs_stats_health_text(&gauges, len)
					       : pfs_stats_metrics_text(&gauges, len);
	case PFS_VIEW_EVENTS:
		break;
	}
	*len = 0;
	return g_strdup("");
}

static char *snapshot_key(enum pfs_view view, const char *pipeline_id)
{
	return g_strdup_printf("%d/%s", (int)view, pipeline_id ? pipeline_id : "");
}

/* The snapshot of @view made in the last PFS_VIEW_SNAPSHOT_LIFE seconds,
 * else a new one; a copy of the part at @off if @data. */
static void snapshot(struct pfs_views *views, enum pfs_view view,
		     const char *pipeline_id, uint64_t off,
		     size_t size, char **data, size_t *len, size_t *total,
		     int64_t *mtime_ns)
{
	char *key = snapshot_key(view, pipeline_id);
	struct snapshot *s;
	double now = g_get_monotonic_time() / 1e6;

	pthread_mutex_lock(&views->lock);
	s = g_hash_table_lookup(views->snapshots, key);
	if (!s || now - s->made_at >= PFS_VIEW_SNAPSHOT_LIFE) {
		pthread_mutex_unlock(&views->lock);
		s = g_new0(struct snapshot, 1);
		s->text = render(views, view, pipeline_id, &s->len, &s->mtime_ns);
		s->made_at = now;
		pthread_mutex_lock(&views->lock);
		g_hash_table_replace(views->snapshots, g_strdup(key), s);
	}
	*total = s->len;
	*mtime_ns = s->mtime_ns;
	if (data) {
		*data = NULL;
		*len = 0;
		if (off < s->len) {
			*len = MIN(size, s->len - (size_t)off);
			*data = g_memdup2(s->text + off, *len);
		}
	}
	pthread_mutex_unlock(&views->lock);
	g_free(key);
}

void pfs_views_stat(struct pfs_views *views, enum pfs_view view,
		    const char *pipeline_id, size_t *size, int64_t *mtime_ns)
{
	char *data;
	size_t len;

	if (view == PFS_VIEW_EVENTS) {
		/* someone follows it: what it merges is kept fresh */
		pfs_cache_refresh_stale(views->cache, pipeline_id);
		pfs_cache_read_events(views->cache, pipeline_id, NULL, 0, 0, &data,
				      &len, size, mtime_ns);
		if (*mtime_ns == 0)
			*mtime_ns = pfs_cache_newest_change(views->cache, pipeline_id);
		return;
	}
	snapshot(views, view, pipeline_id, 0, 0, NULL, NULL, size, mtime_ns);
}

void pfs_views_read(struct pfs_views *views, enum pfs_view view,
		    const char *pipeline_id, uint64_t off, size_t size,
		    char **data, size_t *len)
{
	size_t total;
	int64_t mtime_ns;

	if (view == PFS_VIEW_EVENTS) {
		pfs_cache_read_events(views->cache, pipeline_id, NULL, off, size,
				      data, len, &total, &mtime_ns);
		return;
	}
	snapshot(views, view, pipeline_id, off, size, data, len, &total, &mtime_ns);
}
