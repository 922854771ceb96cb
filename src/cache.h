/* cache.h - what the mount knows: pipelines, their latest build, and
 * fetched builds, each fetched lazily and kept while it is fresh.
 *
 * A completed build never changes: once cached it is never fetched again
 * (unless evicted). An unfinished build, and which build is "latest",
 * stay fresh for ttl seconds. Concurrent readers of one entry share one
 * request (single flight, flight.h), and a reader of a build waits for a
 * latest call of its pipeline in flight, which may bring that very build.
 *
 * Requests run on the cache's worker threads, never on a reader's: a
 * reader only waits, and every wait ends at the reader's deadline
 * (timeout seconds after it asked) or as soon as the kernel interrupts
 * it, whatever the request does; the request then goes on for the cache.
 * A reader of a stale copy waits for its refresh at most
 * PFS_CACHE_PATIENCE seconds, then gets the stale copy.
 *
 * Every failed fetch backs the entry off (exponential, jittered); during
 * the backoff a reader with nothing cached gets the last error at once.
 * A cached copy is served whatever the refresh failed with, unless the
 * service said the build is gone (-ENOENT) or forbidden (-EACCES).
 * Cached builds are bounded by max_bytes, least recently used dropped
 * first; entries with nothing cached that the kernel does not hold are
 * recycled past max(1024, max_bytes / 4096) of a kind.
 *
 * One mutex (cache->lock) guards every entry; it is never held across a
 * request. Builds handed out are references the caller must drop with
 * pfs_build_unref().
 */
#ifndef PFS_CACHE_H
#define PFS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "backend.h"
#include "flight.h"
#include "model.h"

/* How long a reader holding a stale copy waits for its refresh. */
#define PFS_CACHE_PATIENCE 1.0

/* freshness reported for what never changes: a completed build */
#define PFS_CACHE_FOREVER (365.0 * 24 * 3600)

struct pfs_cache_config {
	double ttl;		/* seconds: freshness of unfinished builds and latest */
	double timeout;		/* seconds: how long a reader may wait in all */
	size_t max_bytes;	/* bound on cached build data */
	unsigned workers;	/* threads that run requests (max_requests) */
	bool prefetch;		/* listings start their children's requests */
	GTimeZone *tz;		/* the zone of the API's times (borrowed) */
	double list_ttl;	/* seconds: freshness of the catalog and histories */
	unsigned history_days;	/* days of history listed; 0: none */
	char **projects;	/* narrows the catalog: NULL-ended ids (borrowed), or NULL */
	bool fixed_root;	/* pipelines= given: the catalog lists nothing at the root */
};

/* What the change hook hears: a build first seen or changed (@build, a
 * reference the hook owns), or gone (@build NULL: the service said 404),
 * or (@build_slot PFS_CACHE_NO_SLOT) a pipeline's latest build moved. */
#define PFS_CACHE_NO_SLOT UINT32_MAX
struct pfs_cache_change {
	uint32_t pipeline_slot;
	uint32_t build_slot;
	struct pfs_build *build;
	int64_t changed_ns;	/* epoch ns: the nodes with this time changed */
	bool first_seen;
};

/* Called with the cache's lock held, on the thread that saw the change:
 * it must only queue @change (which it owns) for a thread of its own. */
typedef void (*pfs_cache_change_fn)(struct pfs_cache_change *change,
				    void *arg);

struct pfs_cache;

/* The cache uses, but does not own, @backend: the one place that
 * fetches, it asks the backend and never sees an API's JSON. */
int pfs_cache_new(struct pfs_backend *backend, const struct pfs_cache_config *config,
		  struct pfs_cache **out);
/* Readers and workers waiting give up soon after @stop(@arg) returns
 * true: so that unmounting never waits for them. Set before any read. */
void pfs_cache_set_stop(struct pfs_cache *cache, bool (*stop)(void *),
			void *arg);

/* Sets the change hook: before any read. */
void pfs_cache_set_change_hook(struct pfs_cache *cache, pfs_cache_change_fn fn,
			       void *arg);

/* Waits for the requests under way to end (they end at once once @stop
 * says so). */
void pfs_cache_free(struct pfs_cache *cache);

/* A reader that asks now may wait timeout seconds in all. */
void pfs_cache_reader_init(struct pfs_cache *cache, struct pfs_reader *reader);
/* Releases @reader from any wait with -EINTR, now and later: the kernel
 * interrupted its request. Safe from any thread, with no lock held. */
void pfs_cache_interrupt(struct pfs_cache *cache, struct pfs_reader *reader);

/* Slots: small numbers that name a pipeline or a build (inode numbers are
 * made of them, inode.h). Asking for the slot of an id gives it one and
 * pins the entry: it is not recycled until pfs_cache_unpin_*(). An entry
 * the kernel holds (pfs_cache_ref_*(), counted like FUSE lookups) is not
 * recycled either, so its slot names the same id until forgotten.
 * -ENOSPC when @max_slots are in use. The ids returned for a slot stay
 * valid while the entry is pinned or held. */
int pfs_cache_pipeline_slot(struct pfs_cache *cache, const char *pipeline_id,
			    uint32_t *slot);
int pfs_cache_build_slot(struct pfs_cache *cache, const char *pipeline_id,
			 const char *build_id, uint32_t max_slots,
			 uint32_t *slot);
void pfs_cache_unpin_pipeline(struct pfs_cache *cache, uint32_t slot);
void pfs_cache_unpin_build(struct pfs_cache *cache, uint32_t slot);
/* @delta lookups more (> 0) or fewer (< 0, a FUSE forget) that the kernel
 * holds; a slot that names nothing is ignored. */
void pfs_cache_ref_pipeline(struct pfs_cache *cache, uint32_t slot,
			    int64_t delta);
void pfs_cache_ref_build(struct pfs_cache *cache, uint32_t slot, int64_t delta);
/* NULL / -ESTALE for a slot that names nothing. */
const char *pfs_cache_pipeline_of_slot(struct pfs_cache *cache, uint32_t slot);
int pfs_cache_build_of_slot(struct pfs_cache *cache, uint32_t slot,
			    const char **pipeline_id, const char **build_id);

/* Puts @pipeline_id at the root's listing without fetching anything. */
void pfs_cache_list_pipeline(struct pfs_cache *cache, const char *pipeline_id);

/* 0 if @pipeline_id exists: it is listed, or the API knows it (which
 * costs the latest call, and lists it); else -ENOENT, -EACCES, -EIO or
 * -EINTR. */
int pfs_cache_check_pipeline(struct pfs_cache *cache, struct pfs_reader *reader,
			     const char *pipeline_id);

/* The id of the newest build of @pipeline_id in *@build_id (g_free it),
 * for how many seconds that answer stays fresh, and (if @changed is not
 * NULL) when it last changed. The call behind it also caches that build.
 * -ENOENT when the API names no build; else as pfs_cache_get_build(). */
int pfs_cache_get_latest(struct pfs_cache *cache, struct pfs_reader *reader,
			 const char *pipeline_id, char **build_id,
			 double *fresh_for, struct timespec *changed);

/* Build @build_id of @pipeline_id: *@out gets a reference, *@fresh_for
 * the seconds it stays fresh (PFS_CACHE_FOREVER once completed; 0 for a
 * stale copy served while the service fails). Errors for the reader:
 * -ENOENT, -EACCES, -EIO (any other failure, the deadline included) or
 * -EINTR. */
int pfs_cache_get_build(struct pfs_cache *cache, struct pfs_reader *reader,
			const char *pipeline_id, const char *build_id,
			struct pfs_build **out, double *fresh_for);

/* Starts, in the background, the latest calls of those of @pipeline_ids
 * whose answer is not fresh (@only_stale: that have an answer, gone
 * stale): someone listing them is about to look. */
void pfs_cache_prefetch_latest(struct pfs_cache *cache, char **pipeline_ids,
			       bool only_stale);

/* true when the last latest call named no build: "latest" does not exist */
bool pfs_cache_latest_absent(struct pfs_cache *cache, const char *pipeline_id);

/* NULL-ended lists to free with g_strfreev(): the pipelines at the root,
 * and the builds of @pipeline_id seen so far, in the order first seen. */
char **pfs_cache_list_pipelines(struct pfs_cache *cache);
char **pfs_cache_list_builds(struct pfs_cache *cache, const char *pipeline_id);

/* When the listing of the root (@pipeline_id NULL) or of a pipeline last
 * changed, zero if never; *@version counts its changes. */
struct timespec pfs_cache_listing_changed(struct pfs_cache *cache,
					  const char *pipeline_id,
					  uint32_t *version);

/* Drops every unfinished build and every latest answer, so the next read
 * fetches afresh (SIGHUP). @dropped, if not NULL, is called for each
 * build dropped (outside the cache's lock), so that the kernel can be
 * told to forget what it holds of it. */
void pfs_cache_drop_unfinished(struct pfs_cache *cache,
			       void (*dropped)(uint32_t build_slot,
					       const struct pfs_build *build,
					       void *arg),
			       void *arg);

/* ---- monitoring ---- */

/* The events of build @build_id of @pipeline_id (the caller holds a copy
 * of it from pfs_cache_get_build()), of the pipeline (@build_id NULL) or
 * of the mount (both NULL) (events.h): at most @size bytes at @off in
 * *@data (g_free it), *@len long; *@total the file's size, *@changed_ns
 * its last change (epoch ns, 0 if none). -ENOENT when the build is not
 * cached (any more). */
int pfs_cache_read_events(struct pfs_cache *cache, const char *pipeline_id,
			  const char *build_id, uint64_t off, size_t size,
			  char **data, size_t *len, size_t *total,
			  int64_t *changed_ns);

/* The log of log node @node (PFS_NODE_LOG) of @build, pipeline
 * @pipeline_id's build @build_id: its step's (POST .../steps/{id}/logs,
 * every page), or a job's: its steps' in order. Bytes @off.. (at most
 * @size) in *@data (g_free it; NULL when none) and *@len, the length of
 * the whole in *@total. With @reader, what is missing is fetched within
 * its deadline: a step that ended once and kept, a running one again
 * after ttl (only the lines after those read: the file only grows); a
 * step not started has an empty log and costs nothing. Without @reader
 * (a listing), only what is known. Errors: -EIO (the tree names no
 * usable step, the service failed, or an ended step's log could not be
 * read whole), -EACCES, -ENOENT, -EINTR. *@finished (may be NULL): every
 * step ended and its log read whole: it never changes again. Takes the
 * lock. */
int pfs_cache_read_log(struct pfs_cache *cache, struct pfs_reader *reader,
		       const char *pipeline_id, const char *build_id,
		       const struct pfs_build *build, uint32_t node,
		       uint64_t off, size_t size, char **data, size_t *len,
		       size_t *total, bool *finished);

/* Starts, in the background, the refresh of what went stale among
 * @pipeline_id's latest answer and its unfinished cached builds (NULL:
 * of every pipeline listed): someone follows their events. */
void pfs_cache_refresh_stale(struct pfs_cache *cache, const char *pipeline_id);

/* Starts, in the background, the refresh of build @slot if it went
 * stale (someone waits for it). */
void pfs_cache_refresh_build(struct pfs_cache *cache, uint32_t slot);

/* Without fetching: 0 and a reference to build @slot's copy in *@out;
 * -EAGAIN with nothing cached; -ENOENT if the slot names nothing or the
 * service said the build is gone. */
int pfs_cache_peek_build(struct pfs_cache *cache, uint32_t slot,
			 struct pfs_build **out);

/* Whether listings start their children's requests (prefetch=1). */
bool pfs_cache_prefetches(struct pfs_cache *cache);

/* The latest build of @pipeline_id as last answered (g_free it), or
 * NULL; never asks the service. */
char *pfs_cache_known_latest(struct pfs_cache *cache, const char *pipeline_id);

/* How many builds the cache holds copies of, and their bytes. */
void pfs_cache_gauges(struct pfs_cache *cache, uint64_t *builds,
		      uint64_t *bytes);

/* The newest change among @pipeline_id's builds (NULL: any pipeline's),
 * epoch ns; 0 if none seen. */
int64_t pfs_cache_newest_change(struct pfs_cache *cache,
				const char *pipeline_id);

/* How many ids pfs_cache_list_pipelines() (@pipeline_id NULL) or
 * pfs_cache_list_builds() would return now. */
size_t pfs_cache_listing_size(struct pfs_cache *cache, const char *pipeline_id);

/* ---- the account: the catalog of pipelines and build history ----
 * (cache_lists.c) The catalog is the v3 pipeline list (every page,
 * narrowed to config.projects); a history is one CodeArts project's
 * build-result over the last config.history_days. Both stay fresh for
 * config.list_ttl, single flight like builds, and are fetched only when a
 * reader needs them: never at mount. */

/* Makes the catalog fresh (waiting within @reader's deadline); unless
 * config.fixed_root, its pipelines are then listed at the root (and
 * those it no longer names, listed only because of it, are not). 0 (also
 * when the call failed but an older answer is there to serve), or -EACCES,
 * -EINTR, or -EIO when the service never answered. */
int pfs_cache_load_catalog(struct pfs_cache *cache, struct pfs_reader *reader);

/* Makes @pipeline_id's history fresh: the catalog first if its project
 * is not known (or config.projects names exactly one project, taken as
 * its project). 0 (also when no project is known: no history), or as
 * pfs_cache_load_catalog() for the catalog or the history. Costs nothing
 * with history_days 0. */
int pfs_cache_load_history(struct pfs_cache *cache, struct pfs_reader *reader,
			   const char *pipeline_id);

/* A pipeline as the catalog names it. */
struct pfs_cache_named {
	char *pipeline_id;
	char *name;		/* as the service gives it (unsanitised), or NULL */
	char *project_id;	/* or NULL */
	char *project_name;	/* or NULL */
	uint32_t project_slot;	/* a small number for project_id, stable and
				 * never reused (inode numbers of projects/
				 * are made of it, inode.h) */
};

/* The pipelines the catalog named (with config.fixed_root: only those
 * listed at the root), in its order, without fetching: a GPtrArray of
 * struct pfs_cache_named to free with g_ptr_array_unref(). */
GPtrArray *pfs_cache_catalog_names(struct pfs_cache *cache);
void pfs_cache_named_free(void *named);

/* Without fetching: whether the history names build @build_id of
 * @pipeline_id, and its times from there (epoch ms, 0 if none). */
bool pfs_cache_history_build(struct pfs_cache *cache, const char *pipeline_id,
			     const char *build_id, int64_t *start_ms,
			     int64_t *end_ms);

/* Starts, in the background, the refresh of the catalog (@pipeline_id
 * NULL) or of @pipeline_id's history, if known and gone stale: the kernel
 * asks for the directory's attributes as a listing starts, and keeps the
 * listing it has while the mtime stays. */
void pfs_cache_refresh_lists(struct pfs_cache *cache, const char *pipeline_id);

/* @pipeline_id's name as the catalog gives it (g_free it), or NULL when
 * the catalog did not name it; never asks the service. */
char *pfs_cache_pipeline_name(struct pfs_cache *cache, const char *pipeline_id);

/* Without fetching: build @build_id of @pipeline_id as its history tells
 * it, in the shape of the API's own fields (g_free each): status,
 * outcome (either may be NULL), start_time ("YYYY-MM-DD HH:MM:SS" in
 * config.tz, or NULL) and elapsed_time (milliseconds as text, or NULL).
 * false when the history does not name it. */
bool pfs_cache_history_brief(struct pfs_cache *cache, const char *pipeline_id,
			     const char *build_id, char **status, char **outcome,
			     char **start_time, char **elapsed_time);

/* Whether pipelines= fixed the root: the catalog lists nothing there. */
bool pfs_cache_fixed_root(struct pfs_cache *cache);

#endif
