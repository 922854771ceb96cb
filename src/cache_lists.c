/* cache_lists.c - see cache.h: the account's catalog of pipelines and the
 * projects' build histories, kept like builds (single flight, backoff,
 * freshness) and handed to the pipeline entries as they land. */
#include "cache_internal.h"
#include "log.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void free_list_entry(void *data)
{
	struct list_entry *l = data;

	g_free(l->key);
	g_free(l->project_id);
	g_free(l->pipeline_id);
	g_free(l);
}

void pfs_cache_lists_init(struct pfs_cache *cache)
{
	cache->catalog_ids = g_ptr_array_new_with_free_func(g_free);
	cache->histories = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
						 free_list_entry);
	cache->project_ids = g_ptr_array_new_with_free_func(g_free);
}

void pfs_cache_lists_free(struct pfs_cache *cache)
{
	g_ptr_array_free(cache->catalog_ids, TRUE);
	g_hash_table_destroy(cache->histories);
	g_ptr_array_free(cache->project_ids, TRUE);
}

void pfs_cache_clear_pipeline_lists(struct pipeline_entry *p)
{
	g_free(p->name);
	g_free(p->project_id);
	g_free(p->project_name);
	if (p->history)
		g_ptr_array_unref(p->history);
	if (p->history_index)
		g_hash_table_destroy(p->history_index);
	p->name = p->project_id = p->project_name = NULL;
	p->history = NULL;
	p->history_index = NULL;
}

struct list_entry *pfs_cache_history_entry(struct pfs_cache *cache,
					   struct pipeline_entry *p,
					   const char *project_id)
{
	bool own = pfs_cache_api_of(cache, p) == PFS_API_V5;
	char *key = own ? g_strconcat("pipeline/", p->id, NULL) : g_strdup(project_id);
	struct list_entry *l = g_hash_table_lookup(cache->histories, key);

	if (l) {
		g_free(key);
		return l;
	}
	l = g_new0(struct list_entry, 1);
	l->key = key;
	l->project_id = g_strdup(project_id);
	l->pipeline_id = own ? g_strdup(p->id) : NULL;
	g_hash_table_insert(cache->histories, l->key, l);
	return l;
}

/* Called with the lock held. */
static uint32_t project_slot_locked(struct pfs_cache *cache, const char *id)
{
	guint i;

	for (i = 0; i < cache->project_ids->len; i++)
		if (strcmp(cache->project_ids->pdata[i], id) == 0)
			return i;
	g_ptr_array_add(cache->project_ids, g_strdup(id));
	return i;
}

static void replace(char **field, const char *value)
{
	if (g_strcmp0(*field, value) != 0) {
		g_free(*field);
		*field = g_strdup(value);
	}
}

static void touch_root(struct pfs_cache *cache)
{
	clock_gettime(CLOCK_REALTIME, &cache->listed_changed);
	cache->listed_version++;
}

/* Called with the lock held: @p leaves the root, where only the catalog
 * had put it. */
static void unlist(struct pfs_cache *cache, struct pipeline_entry *p)
{
	g_ptr_array_remove(cache->listed, p->id);
	p->listed = false;
	p->listed_by_catalog = false;
	touch_root(cache);
}

/* Called with the lock held: the catalog answered @items (struct
 * pfs_pipeline_entry, service order). */
static void land_catalog(struct pfs_cache *cache, GPtrArray *items)
{
	GHashTableIter iter;
	gpointer value;
	guint i;

	g_hash_table_iter_init(&iter, cache->pipelines);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		((struct pipeline_entry *)value)->in_catalog = false;
	g_ptr_array_set_size(cache->catalog_ids, 0);
	for (i = 0; i < items->len; i++) {
		const struct pfs_pipeline_entry *item = items->pdata[i];
		struct pipeline_entry *p = pfs_cache_pipeline_entry(cache,
								    item->pipeline_id);

		if (p->in_catalog)
			continue;	/* twice in the answer (pages moved) */
		p->in_catalog = true;
		g_ptr_array_add(cache->catalog_ids, g_strdup(p->id));
		replace(&p->name, item->name);
		replace(&p->project_name, item->project_name);
		replace(&p->project_id, item->project_id);
		if (p->project_id)
			project_slot_locked(cache, p->project_id);
		if (!cache->config.fixed_root && !p->listed) {
			pfs_cache_note_listed(cache, p);
			p->listed_by_catalog = true;
		}
	}
	g_hash_table_iter_init(&iter, cache->pipelines);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct pipeline_entry *p = value;

		if (p->listed_by_catalog && !p->in_catalog)
			unlist(cache, p);
	}
}

static bool same_history(GPtrArray *a, GPtrArray *b)
{
	guint i;

	if (!a || !b || a->len != b->len)
		return a == b;
	for (i = 0; i < a->len; i++) {
		const struct pfs_history_entry *x = a->pdata[i], *y = b->pdata[i];

		if (strcmp(x->build_id, y->build_id) != 0 ||
		    x->start_ms != y->start_ms || x->end_ms != y->end_ms)
			return false;
	}
	return true;
}

/* Called with the lock held: @p's history is now @history (owned). */
static void set_history(struct pipeline_entry *p, GPtrArray *history)
{
	bool changed = !same_history(p->history, history);
	guint i;

	if (p->history)
		g_ptr_array_unref(p->history);
	if (p->history_index)
		g_hash_table_destroy(p->history_index);
	p->history = history;
	p->history_index = g_hash_table_new(g_str_hash, g_str_equal);
	for (i = 0; i < history->len; i++) {
		struct pfs_history_entry *h = history->pdata[i];

		g_hash_table_insert(p->history_index, h->build_id, h);
	}
	if (changed) {
		clock_gettime(CLOCK_REALTIME, &p->listing_changed);
		p->listing_version++;
	}
}

/* Called with the lock held: project @l->project_id's history answered
 * @items (struct pfs_history_entry, newest first), which this takes. */
static void land_history(struct pfs_cache *cache, struct list_entry *l,
			 GPtrArray *items)
{
	GHashTable *by_pipeline = g_hash_table_new_full(
		g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						 NULL);
	GHashTableIter iter;
	gpointer key, value;
	guint i;

	/* every pipeline asked for: those with no build in the window have
	 * an empty history, not an old one */
	g_hash_table_iter_init(&iter, cache->pipelines);
	while (g_hash_table_iter_next(&iter, &key, &value))
		if (l->pipeline_id ? strcmp(key, l->pipeline_id) == 0 :
		    g_strcmp0(((struct pipeline_entry *)value)->project_id,
			      l->project_id) == 0)
			g_hash_table_insert(by_pipeline, key,
					    g_ptr_array_new_with_free_func(pfs_history_entry_free));
	for (i = 0; i < items->len; i++) {
		struct pfs_history_entry *h = items->pdata[i];
		struct pipeline_entry *p = pfs_cache_pipeline_entry(cache,
								    h->pipeline_id);
		GPtrArray *mine = g_hash_table_lookup(by_pipeline, p->id);

		if (!p->project_id)
			p->project_id = g_strdup(l->project_id);
		if (g_strcmp0(p->project_id, l->project_id) != 0 ||
		    (l->pipeline_id && strcmp(p->id, l->pipeline_id) != 0))
			continue;	/* the catalog says another project */
		if (!mine) {
			mine = g_ptr_array_new_with_free_func(pfs_history_entry_free);
			g_hash_table_insert(by_pipeline, p->id, mine);
		}
		items->pdata[i] = NULL;
		key = g_strconcat(p->id, "/", h->build_id, NULL);
		if (g_hash_table_add(seen, key))
			g_ptr_array_add(mine, h);
		else	/* twice in the answer: pages moved as builds came */
			pfs_history_entry_free(h);
	}
	g_hash_table_destroy(seen);
	g_hash_table_iter_init(&iter, by_pipeline);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		g_hash_table_iter_steal(&iter);
		set_history(pfs_cache_find_pipeline(cache, key), value);
	}
	g_hash_table_destroy(by_pipeline);
}

/* What the list call of @l asks, gathered with the lock held so that the
 * call runs without it. */
struct list_call {
	enum pfs_api_version api;
	char *project_id;	/* history: its project; NULL: the catalog */
	char **projects;	/* catalog: projects= (or project_id=), or NULL */
	char **pipeline_ids;	/* history: the project's pipelines (v5 asks
				 * pipeline by pipeline) */
};

static void list_call_clear(struct list_call *c)
{
	g_free(c->project_id);
	g_strfreev(c->projects);
	g_strfreev(c->pipeline_ids);
}

/* Called with the lock held. */
static void prepare_list_call(struct pfs_cache *cache,
			      const struct list_entry *l, struct list_call *c)
{
	GPtrArray *ids = g_ptr_array_new();
	GHashTableIter iter;
	gpointer key, value;

	memset(c, 0, sizeof(*c));
	if (!l->project_id) {
		const char *fallback = pfs_backend_project(cache->backend);

		c->projects = g_strdupv(cache->config.projects);
		if (!c->projects && fallback)
			c->projects = g_strdupv((char *[]){ (char *)fallback, NULL });
		c->api = pfs_backend_choose(cache->backend,
					    c->projects ? c->projects[0] : NULL);
		g_ptr_array_free(ids, TRUE);
		return;
	}
	c->project_id = g_strdup(l->project_id);
	c->api = l->pipeline_id ? PFS_API_V5 : PFS_API_V3;
	if (l->pipeline_id) {
		g_ptr_array_add(ids, g_strdup(l->pipeline_id));
		g_ptr_array_add(ids, NULL);
		c->pipeline_ids = (char **)g_ptr_array_free(ids, FALSE);
		return;
	}
	g_hash_table_iter_init(&iter, cache->pipelines);
	while (g_hash_table_iter_next(&iter, &key, &value))
		if (g_strcmp0(pfs_cache_project_of(cache, value), l->project_id) == 0)
			g_ptr_array_add(ids, g_strdup(key));
	g_ptr_array_add(ids, NULL);
	c->pipeline_ids = (char **)g_ptr_array_free(ids, FALSE);
}

/* The list call @c, without the lock: 0 with its items in *@out. */
static int call_list(struct pfs_cache *cache, const struct list_call *c,
		     double deadline, GPtrArray **out,
		     struct pfs_backend_failure *failure)
{
	if (!c->project_id)
		return pfs_backend_list_pipelines(cache->backend, c->api,
						  c->projects, deadline, out,
						  failure);
	return pfs_backend_get_history(cache->backend, c->api, c->project_id,
				       c->pipeline_ids, cache->config.history_days,
				       deadline, out, failure);
}

void pfs_cache_fetch_list(struct pfs_cache *cache, struct list_entry *l,
			  double deadline)
{
	struct pfs_backend_failure failure;
	struct list_call call;
	GPtrArray *items = NULL;
	char what[200];
	int res;

	prepare_list_call(cache, l, &call);
	pthread_mutex_unlock(&cache->board.lock);
	res = call_list(cache, &call, deadline, &items, &failure);
	list_call_clear(&call);
	pthread_mutex_lock(&cache->board.lock);
	if (l->pipeline_id)
		snprintf(what, sizeof(what), "build history of pipeline %s",
			 l->pipeline_id);
	else if (l->project_id)
		snprintf(what, sizeof(what), "build history of project %s",
			 l->project_id);
	else
		snprintf(what, sizeof(what), "pipeline list");
	pfs_flight_note(&l->flight, res, what, &failure, l->known,
			pfs_cache_now());
	if (res == 0) {
		if (l->project_id)
			land_history(cache, l, items);
		else
			land_catalog(cache, items);
		l->known = true;
		l->flight.fresh_until = pfs_cache_now() + cache->config.list_ttl;
	}
	if (items)
		g_ptr_array_unref(items);
	pfs_flight_land(&cache->board, &l->flight, res);
}

/* ---- readers ------------------------------------------------------------ */

/* Called with the lock held: as pfs_cache_load_catalog(). */
static int load_list(struct pfs_cache *cache, struct pfs_reader *reader,
		     struct list_entry *l)
{
	int res = pfs_cache_resolve_list(cache, reader, l);

	/* a failure with an older answer to list is that answer */
	if (res < 0 && res != -EACCES && res != -EINTR && l->known)
		res = 0;
	return res;
}

int pfs_cache_load_catalog(struct pfs_cache *cache, struct pfs_reader *reader)
{
	int res;

	pthread_mutex_lock(&cache->board.lock);
	res = load_list(cache, reader, &cache->catalog);
	pthread_mutex_unlock(&cache->board.lock);
	return pfs_cache_reader_errno(res);
}

const char *pfs_cache_project_of(struct pfs_cache *cache,
				 const struct pipeline_entry *p)
{
	char **projects = cache->config.projects;

	if (p->project_id)
		return p->project_id;
	if (projects && projects[0] && !projects[1])
		return projects[0];
	return pfs_backend_project(cache->backend);
}

void pfs_cache_learn_project(struct pfs_cache *cache, struct pfs_reader *reader,
			     struct pipeline_entry *p)
{
	/* only api=v5 must know: auto takes v3 where nothing says */
	if (p->api != PFS_API_AUTO || pfs_cache_project_of(cache, p) ||
	    cache->catalog.known ||
	    pfs_backend_choose(cache->backend, NULL) != PFS_API_V5)
		return;
	p->pins++;
	/* a failure leaves it unknown: the build call then says so */
	load_list(cache, reader, &cache->catalog);
	p->pins--;
}

enum pfs_api_version pfs_cache_api_of(struct pfs_cache *cache,
				      struct pipeline_entry *p)
{
	if (p->api == PFS_API_AUTO)
		p->api = pfs_backend_choose(cache->backend,
					    pfs_cache_project_of(cache, p));
	return p->api;
}

int pfs_cache_load_history(struct pfs_cache *cache, struct pfs_reader *reader,
			   const char *pipeline_id)
{
	struct pipeline_entry *p;
	const char *project;
	int res = 0;

	if (!cache->config.history_days)
		return 0;
	pthread_mutex_lock(&cache->board.lock);
	p = pfs_cache_pipeline_entry(cache, pipeline_id);
	p->pins++;
	if (!pfs_cache_project_of(cache, p) && !cache->catalog.known)
		res = load_list(cache, reader, &cache->catalog);
	project = pfs_cache_project_of(cache, p);
	if (res == 0 && project)
		res = load_list(cache, reader, pfs_cache_history_entry(cache, p, project));
	p->pins--;
	pthread_mutex_unlock(&cache->board.lock);
	/* a pipeline the catalog does not name is still there by id */
	return pfs_cache_reader_errno(res);
}

GPtrArray *pfs_cache_catalog_names(struct pfs_cache *cache)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(pfs_cache_named_free);
	guint i;

	pthread_mutex_lock(&cache->board.lock);
	for (i = 0; i < cache->catalog_ids->len; i++) {
		struct pipeline_entry *p = pfs_cache_find_pipeline(
			cache, cache->catalog_ids->pdata[i]);
		struct pfs_cache_named *n;

		if (!p || (cache->config.fixed_root && !p->listed))
			continue;
		n = g_new0(struct pfs_cache_named, 1);
		n->pipeline_id = g_strdup(p->id);
		n->name = g_strdup(p->name);
		n->project_id = g_strdup(p->project_id);
		n->project_name = g_strdup(p->project_name);
		n->project_slot = p->project_id ? project_slot_locked(cache, p->project_id)
						: UINT32_MAX;
		g_ptr_array_add(names, n);
	}
	pthread_mutex_unlock(&cache->board.lock);
	return names;
}

void pfs_cache_named_free(void *data)
{
	struct pfs_cache_named *n = data;

	g_free(n->pipeline_id);
	g_free(n->name);
	g_free(n->project_id);
	g_free(n->project_name);
	g_free(n);
}

/* Called with the lock held: what @pipeline_id's history says of
 * @build_id, or NULL. */
static const struct pfs_history_entry *history_of(struct pfs_cache *cache,
						  const char *pipeline_id,
						  const char *build_id)
{
	struct pipeline_entry *p = pfs_cache_find_pipeline(cache, pipeline_id);

	return p && p->history_index ? g_hash_table_lookup(p->history_index, build_id)
				     : NULL;
}

bool pfs_cache_history_build(struct pfs_cache *cache, const char *pipeline_id,
			     const char *build_id, int64_t *start_ms,
			     int64_t *end_ms)
{
	const struct pfs_history_entry *h;

	pthread_mutex_lock(&cache->board.lock);
	h = history_of(cache, pipeline_id, build_id);
	if (h) {
		*start_ms = h->start_ms;
		*end_ms = h->end_ms;
	}
	pthread_mutex_unlock(&cache->board.lock);
	return h != NULL;
}

bool pfs_cache_fixed_root(struct pfs_cache *cache)
{
	return cache->config.fixed_root;
}

/* Called with the lock held: starts a refresh of @l if its answer went
 * stale, or its last call failed, and it may be asked for again now (a
 * listing the kernel keeps is read again only once its mtime moves: a
 * list that failed at the first ls must be asked for from here). */
static void refresh_if_stale(struct pfs_cache *cache, struct list_entry *l)
{
	double now = pfs_cache_now();

	if ((l->known || l->flight.failures) && now >= l->flight.fresh_until &&
	    !l->flight.fetching && now >= l->flight.retry_at)
		pfs_cache_start_list(cache, l, 0, false);
}

void pfs_cache_refresh_lists(struct pfs_cache *cache, const char *pipeline_id)
{
	struct pipeline_entry *p;
	const char *project;

	pthread_mutex_lock(&cache->board.lock);
	if (!pipeline_id) {
		if (!cache->config.fixed_root)
			refresh_if_stale(cache, &cache->catalog);
	} else if (cache->config.history_days &&
		   (p = pfs_cache_find_pipeline(cache, pipeline_id)) &&
		   (project = pfs_cache_project_of(cache, p))) {
		refresh_if_stale(cache, pfs_cache_history_entry(cache, p, project));
	}
	pthread_mutex_unlock(&cache->board.lock);
}

char *pfs_cache_pipeline_name(struct pfs_cache *cache, const char *pipeline_id)
{
	struct pipeline_entry *p;
	char *name = NULL;

	pthread_mutex_lock(&cache->board.lock);
	p = pfs_cache_find_pipeline(cache, pipeline_id);
	if (p)
		name = g_strdup(p->name);
	pthread_mutex_unlock(&cache->board.lock);
	return name;
}

void pfs_cache_lists_stale(struct pfs_cache *cache)
{
	GHashTableIter iter;
	gpointer value;

	cache->catalog.flight.fresh_until = cache->catalog.flight.retry_at = 0;
	g_hash_table_iter_init(&iter, cache->histories);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct list_entry *l = value;

		l->flight.fresh_until = l->flight.retry_at = 0;
	}
}

/* @ms (epoch ms) as the API writes times, in @tz; NULL for 0. */
static char *api_time_text(gint64 ms, GTimeZone *tz)
{
	GDateTime *utc, *local;
	char *text;

	if (!ms || !tz)
		return NULL;
	utc = g_date_time_new_from_unix_utc(ms / 1000);
	if (!utc)
		return NULL;
	local = g_date_time_to_timezone(utc, tz);
	text = local ? g_date_time_format(local, "%Y-%m-%d %H:%M:%S") : NULL;
	if (local)
		g_date_time_unref(local);
	g_date_time_unref(utc);
	return text;
}

bool pfs_cache_history_brief(struct pfs_cache *cache, const char *pipeline_id,
			     const char *build_id, char **status, char **outcome,
			     char **start_time, char **elapsed_time)
{
	const struct pfs_history_entry *h;

	pthread_mutex_lock(&cache->board.lock);
	h = history_of(cache, pipeline_id, build_id);
	if (h) {
		*status = g_strdup(h->status);
		*outcome = g_strdup(h->outcome);
		*start_time = api_time_text(h->start_ms, cache->config.tz);
		*elapsed_time = h->start_ms && h->end_ms >= h->start_ms
			? g_strdup_printf("%" G_GINT64_FORMAT, h->end_ms - h->start_ms)
			: NULL;
	}
	pthread_mutex_unlock(&cache->board.lock);
	return h != NULL;
}
