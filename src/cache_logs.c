/* cache_logs.c - see cache.h: v5 step logs, read page by page with the
 * offsets the service returns, kept with their build (counted in its
 * size, dropped with it), and followed while their step runs.
 *
 * A log is a resolve() subject like a build or a list (cache_fetch.c):
 * one flight per step, readers wait within their deadline, the requests
 * run on the workers. It only grows: a refresh asks for the lines after
 * the last page, so `tail -f` sees an append-only file.
 */
#include "cache_internal.h"
#include "log.h"
#include "names.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

/* A log longer than this stops there: a service (or a step) that never
 * stops talking must not take the daemon's memory. */
#define LOG_MAX_BYTES (64u << 20)
/* Pages one request job reads at most: the rest comes with the next. */
#define PAGES_PER_JOB 400

static void free_log(void *data)
{
	struct log_entry *g = data;

	g_free(g->project_id);
	g_free(g->run_id);
	g_free(g->job_id);
	g_free(g->step_id);
	if (g->text)
		g_byte_array_unref(g->text);
	g_free(g->next_offset);
	g_free(g);
}

static void forget_text(struct log_entry *g)
{
	g_byte_array_set_size(g->text, 0);
	g_free(g->next_offset);
	g->next_offset = g_strdup("0");
	g->known = g->finished = false;
	g->flight.fresh_until = 0;
}

size_t pfs_cache_logs_size(const struct build_entry *e)
{
	GHashTableIter iter;
	gpointer value;
	size_t size = 0;

	if (!e->logs)
		return 0;
	g_hash_table_iter_init(&iter, e->logs);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		size += sizeof(struct log_entry) + ((struct log_entry *)value)->text->len;
	return size;
}

void pfs_cache_drop_logs(struct build_entry *e)
{
	GHashTableIter iter;
	gpointer value;

	if (!e->logs)
		return;
	/* entries stay (a reader may be waiting on one): only their text goes */
	g_hash_table_iter_init(&iter, e->logs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct log_entry *g = value;

		if (g->flight.fetching)
			g->orphan = true;
		forget_text(g);
	}
}

void pfs_cache_free_logs(struct build_entry *e)
{
	if (e->logs)
		g_hash_table_destroy(e->logs);
	e->logs = NULL;
}

void pfs_cache_start_log(struct pfs_cache *cache, struct build_entry *e,
			 struct log_entry *g, double deadline, bool urgent)
{
	struct job *job = g_new0(struct job, 1);

	job->log = g;
	job->log_build = e;
	job->pipeline_id = g_strdup(e->pipeline_id);
	/* pages follow pages: each may wait for the limiter */
	job->deadline = deadline > 0 ? deadline : pfs_cache_now() + cache->config.timeout;
	e->log_flights++;
	pfs_cache_push_job(cache, job, &g->flight, urgent);
	if (!g->flight.fetching)	/* not taken: the session is ending */
		e->log_flights--;
}

/* Without the lock: the pages after @next (a g_malloc'd offset it
 * replaces with where the next page starts) into @into; *@more whether
 * lines exist past them now. */
static int read_pages(struct pfs_cache *cache, const struct pfs_log_ref *ref,
		      char **next, double deadline, GByteArray *into,
		      size_t room, bool *more, struct pfs_backend_failure *failure)
{
	unsigned pages, lines = 0;	/* a page size that worked goes on */
	int res = 0;

	*more = true;
	for (pages = 0; *more && pages < PAGES_PER_JOB && into->len < room; pages++) {
		struct pfs_log_page page;

		res = pfs_backend_get_log(cache->backend, ref, *next, "0", &lines,
					  deadline, &page, failure);
		if (res < 0)
			break;
		g_byte_array_append(into, page.text->data, page.text->len);
		*more = page.has_more;
		/* no offset to go on from, or none that moves: stop, not loop */
		if (!page.end_offset || strcmp(page.end_offset, *next) == 0)
			*more = false;
		else {
			g_free(*next);
			*next = g_strdup(page.end_offset);
		}
		pfs_log_page_clear(&page);
	}
	return res;
}

void pfs_cache_fetch_log(struct pfs_cache *cache, struct build_entry *e,
			 struct log_entry *g, double deadline)
{
	struct pfs_backend_failure failure = { .what = "" };
	struct pfs_log_ref ref;
	GByteArray *got = g_byte_array_new();
	char *next = g_strdup(g->next_offset);
	char *pipeline_id = g_strdup(e->pipeline_id);
	bool ended = g->step_ended, more = true;
	size_t room = LOG_MAX_BYTES - MIN(g->text->len, LOG_MAX_BYTES);
	char what[300];
	int res;

	ref = (struct pfs_log_ref){ .project_id = g->project_id,
				    .pipeline_id = pipeline_id, .run_id = g->run_id,
				    .job_run_id = g->job_id, .step_run_id = g->step_id };
	pthread_mutex_unlock(&cache->board.lock);
	res = read_pages(cache, &ref, &next, deadline, got, room, &more, &failure);
	pthread_mutex_lock(&cache->board.lock);
	snprintf(what, sizeof(what), "log of step %s of pipeline %s build %s",
		 g->step_id, e->pipeline_id, e->build_id);
	pfs_flight_note(&g->flight, res, what, &failure, g->known, pfs_cache_now());
	if (g->orphan) {	/* its build went meanwhile: so do these pages */
		g->orphan = false;
		more = true;	/* and nothing is known: asked again */
	} else if (res == 0 || got->len > 0) {
		g_byte_array_append(g->text, got->data, got->len);
		g_free(g->next_offset);
		g->next_offset = next;
		next = NULL;
		g->known = true;
		pfs_cache_grew(cache, e, got->len);
		if (g->text->len >= LOG_MAX_BYTES && !g->finished) {
			pfs_log_warn("%s: longer than %u MiB, not read further",
					what, LOG_MAX_BYTES >> 20);
			g->finished = true;
		}
	}
	if (res == 0 && !more) {
		g->flight.fresh_until = pfs_cache_now() + cache->config.ttl;
		/* the step had ended before this read began: nothing comes after */
		if (ended)
			g->finished = true;
	}
	e->log_flights--;
	pfs_flight_land(&cache->board, &g->flight, res);
	g_byte_array_unref(got);
	g_free(next);
	g_free(pipeline_id);
}

/* ---- which step a log node is ------------------------------------------ */

/* The content of field @name of directory @dir without its newline, a new
 * string, or NULL when it has none. */
static char *field_text(const struct pfs_build *build, uint32_t dir,
			const char *name)
{
	uint32_t node = pfs_build_child(build, dir, name);
	const char *text;
	size_t len;

	if (node == PFS_NODE_NONE || build->nodes[node].is_dir)
		return NULL;
	text = pfs_build_node_content(build, node, &len);
	if (!text || len <= 1)
		return NULL;
	return g_strndup(text, len - 1);
}

/* A step of a log being read. */
struct step {
	uint32_t dir;		/* the step's directory */
	uint32_t job;		/* its job's (a gate's: its stage's) */
	bool ended, started;
};

static struct step step_at(const struct pfs_build *build, uint32_t dir)
{
	/* steps/<step> in a job, gates/<gate> in a stage: two levels up */
	uint32_t up = pfs_build_parent(build, dir);
	char *status = field_text(build, dir, "status");
	struct step s = {
		.dir = dir,
		.job = up == PFS_NODE_NONE ? PFS_NODE_NONE : pfs_build_parent(build, up),
		.ended = build->completed || g_strcmp0(status, "completed") == 0,
		.started = g_strcmp0(status, "waiting") != 0,
	};

	g_free(status);
	return s;
}

/* The steps whose logs log node @node is: its step's, or (a job's log)
 * every step of the job, in order. */
static GArray *steps_of(const struct pfs_build *build, uint32_t node)
{
	GArray *steps = g_array_new(FALSE, FALSE, sizeof(struct step));
	uint32_t dir = pfs_build_parent(build, node);
	uint32_t list = dir == PFS_NODE_NONE ? PFS_NODE_NONE
			: pfs_build_child(build, dir, "steps");
	uint32_t child;

	if (dir == PFS_NODE_NONE)
		return steps;
	if (list == PFS_NODE_NONE || !build->nodes[list].is_dir) {
		struct step s = step_at(build, dir);

		g_array_append_val(steps, s);
		return steps;
	}
	for (child = build->nodes[list].first_child; child != PFS_NODE_NONE;
	     child = build->nodes[child].next_sibling) {
		struct step s = step_at(build, child);

		if (build->nodes[child].is_dir)
			g_array_append_val(steps, s);
	}
	return steps;
}

/* Called with the lock held: @e's log entry of step @s, made if missing
 * and @make; NULL when it is not there or the tree does not say which
 * step it is. */
static struct log_entry *log_of(struct pfs_cache *cache, struct build_entry *e,
				const struct pfs_build *build,
				const struct step *s, bool make)
{
	uint64_t hash = build->nodes[s->dir].path_hash;
	struct log_entry *g = e->logs ? g_hash_table_lookup(e->logs, &hash) : NULL;
	struct pipeline_entry *p;

	if (g || !make)
		return g;
	if (!e->logs)
		e->logs = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
						free_log);
	g = g_new0(struct log_entry, 1);
	g->path_hash = hash;
	g->step_id = field_text(build, s->dir, "id");
	g->job_id = s->job == PFS_NODE_NONE ? NULL : field_text(build, s->job, "id");
	g->run_id = field_text(build, PFS_NODE_ROOT, "pipeline_run_id");
	g->project_id = field_text(build, PFS_NODE_ROOT, "project_id");
	if (!g->project_id) {
		p = pfs_cache_pipeline_entry(cache, e->pipeline_id);
		g->project_id = g_strdup(pfs_cache_project_of(cache, p));
	}
	g->text = g_byte_array_new();
	g->next_offset = g_strdup("0");
	/* they go into the request's path: ids, nothing else */
	if (!g->step_id || !g->job_id || !g->run_id || !g->project_id ||
	    !pfs_name_is_valid_id(g->step_id) || !pfs_name_is_valid_id(g->job_id) ||
	    !pfs_name_is_valid_id(g->run_id) || !pfs_name_is_valid_id(g->project_id)) {
		free_log(g);
		return NULL;
	}
	g_hash_table_insert(e->logs, &g->path_hash, g);
	return g;
}

/* The part of what is being read: bytes [@off, @off + @size) of the
 * steps' logs one after the other, counted in @total. */
struct window {
	uint64_t off;
	size_t size;
	size_t total;
	GByteArray *out;
};

/* Only the part asked for is copied, however long the log (cat reads a
 * 30 MB log in 128 KiB reads: not 30 MB each). */
static void take(struct window *w, const GByteArray *text)
{
	uint64_t start = w->total, end = start + text->len;

	if (w->size > 0 && w->off < end && w->off + w->size > start) {
		uint64_t from = MAX(w->off, start) - start;
		uint64_t to = MIN(w->off + w->size, end) - start;

		g_byte_array_append(w->out, text->data + from, (guint)(to - from));
	}
	w->total += text->len;
}

/* Called with the lock held: step @s's log, fetched if @reader (else
 * only as known), taken into @w; *@finished stays true if it is
 * whole for good. An ended step's log is served whole or not at all: a
 * fetch cut short (its deadline, a failure) is no log. */
static int read_step(struct pfs_cache *cache, struct pfs_reader *reader,
		     struct build_entry *e, const struct pfs_build *build,
		     const struct step *s, struct window *w, bool *finished)
{
	struct log_entry *g;
	int res = 0;

	if (!s->started) {
		*finished &= s->ended;
		return 0;	/* nothing to ask for before it runs */
	}
	/* a listing costs no entry: a crawl of 2000 builds' trees lists
	 * tens of thousands of steps whose logs no one reads */
	g = log_of(cache, e, build, s, reader != NULL);
	if (!g) {
		*finished = false;
		return reader ? -EIO : 0;
	}
	g->step_ended |= s->ended;
	if (reader)
		res = pfs_cache_resolve_log(cache, reader, e, g);
	if (res < 0)
		return res;
	if (reader && !g->known)
		return -EIO;
	take(w, g->text);
	*finished &= g->finished;
	return 0;
}

int pfs_cache_read_log(struct pfs_cache *cache, struct pfs_reader *reader,
		       const char *pipeline_id, const char *build_id,
		       const struct pfs_build *build, uint32_t node,
		       uint64_t off, size_t size, char **data, size_t *len,
		       size_t *total, bool *finished)
{
	bool whole = true;
	GArray *steps = steps_of(build, node);
	struct window w = { .off = off, .size = size, .out = g_byte_array_new() };
	struct build_entry *e;
	guint i;
	int res = 0;

	*data = NULL;
	*len = *total = 0;
	pthread_mutex_lock(&cache->board.lock);
	e = pfs_cache_build_entry(cache, pipeline_id, build_id);
	e->pins++;
	for (i = 0; res == 0 && i < steps->len; i++)
		res = read_step(cache, reader, e, build,
				&g_array_index(steps, struct step, i), &w, &whole);
	e->pins--;
	pthread_mutex_unlock(&cache->board.lock);
	if (finished)
		*finished = res == 0 && whole;
	if (res == 0 && w.out->len > 0) {
		*len = w.out->len;
		*data = (char *)g_byte_array_free(w.out, FALSE);
	} else {
		g_byte_array_unref(w.out);
	}
	if (res == 0)
		*total = w.total;
	g_array_free(steps, TRUE);
	return pfs_cache_reader_errno(res);
}
