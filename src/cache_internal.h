/* cache_internal.h - what cache.c (entries, slots, the memory bound,
 * listings) and cache_fetch.c (requests on the workers, readers, prefetch)
 * share. Not for other modules: they use cache.h.
 *
 * Locking: every function here is called with cache->board.lock held.
 */
#ifndef PFS_CACHE_INTERNAL_H
#define PFS_CACHE_INTERNAL_H

#include "cache.h"
#include "events.h"

#include <glib.h>

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
	/* the build's events: NULL text while nothing changed since first
	 * seen (the lines are then made from build); dropped with build */
	struct pfs_event_log events;
	int64_t first_seen_ns;		/* epoch ns, 0 while not cached */
	bool events_full;		/* its log reached its bound */
	bool announced;			/* its first lines are in the merged logs */
	/* its steps' logs (cache_logs.c): path hash of the step -> struct
	 * log_entry, made when first read; their text is counted in size
	 * and goes when the build does */
	GHashTable *logs;
	unsigned log_flights;		/* of them fetching: not recycled */
	GList hot_link;			/* in cache->hot while its tree is there */
	bool hot;
};

/* A v5 step's log (cache_logs.c): what has been read of it so far. */
struct log_entry {
	uint64_t path_hash;	/* of the step's directory */
	char *project_id, *run_id, *job_id, *step_id;	/* its pfs_log_ref */
	GByteArray *text;	/* the log so far, as sent */
	char *next_offset;	/* where the next page starts ("0": the start) */
	bool known;		/* a fetch has succeeded (text may be empty) */
	bool step_ended;	/* its step had ended when last asked for */
	bool finished;		/* ended and read to the end: never asked again */
	bool orphan;		/* its build was dropped while it was fetching */
	struct pfs_flight flight;
};

/* A list call's answer (cache_lists.c): the account's pipelines (the
 * catalog), or the build history of one CodeArts project. Its items are
 * handed to the pipeline entries as it lands. */
struct list_entry {
	char *key;		/* in cache->histories */
	char *project_id;	/* NULL: the catalog */
	char *pipeline_id;	/* v5: the history of this pipeline alone (its
				 * runs list), else NULL: the project's */
	bool known;		/* a call has succeeded */
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
	uint32_t listing_version;	/* how often they did */
	struct pfs_flight flight;	/* of the latest call */
	GPtrArray *builds;	/* ids seen, in order first seen */
	struct pfs_event_log events;	/* merged from its builds */
	int64_t newest_ns;	/* newest change of a build of it, epoch ns */
	/* from the catalog (cache_lists.c), NULL while unknown: */
	char *name;
	char *project_id;
	char *project_name;
	bool in_catalog;	/* in the last catalog answer */
	bool listed_by_catalog;	/* at the root because of it */
	/* its builds in its project's history, newest first (struct
	 * pfs_history_entry, lists.h), and by build id; NULL: none known */
	GPtrArray *history;
	GHashTable *history_index;
	/* the API it is served with, chosen when first needed and kept, so
	 * that one build is never read by two (PFS_API_AUTO: not yet) */
	enum pfs_api_version api;
};

/* Slot numbers of one kind of entry, reused once an entry is recycled. */
struct slot_table {
	GPtrArray *entries;	/* slot -> entry, NULL when free */
	GArray *free;		/* of uint32_t: free slots */
	guint used;
	guint recycle_at;	/* look for entries to recycle at this many */
};

struct pfs_cache {
	struct pfs_backend *backend;
	struct pfs_cache_config config;
	struct pfs_flight_board board;	/* its lock guards all below */
	GThreadPool *workers;		/* of struct job: every request */
	GHashTable *pipelines;		/* id -> struct pipeline_entry */
	GPtrArray *listed;		/* ids shown at the root, in order */
	struct timespec listed_changed;	/* when the last id was added */
	uint32_t listed_version;	/* how many were */
	GHashTable *builds;		/* "pipeline/build" -> struct build_entry */
	struct slot_table pipeline_slots;
	struct slot_table build_slots;
	guint max_entries;		/* of a kind, before recycling */
	GQueue lru;			/* entries holding a build, newest first */
	GQueue hot;			/* of them, those whose tree is expanded,
					 * most recently used first */
	unsigned shrunk_since_trim;	/* trees dropped since malloc_trim */
	bool no_batch;			/* the service refused the batch call */
	size_t bytes;			/* sum of their sizes */
	struct pfs_event_log events;	/* every pipeline's, merged */
	int64_t newest_ns;		/* newest change of any build */
	pfs_cache_change_fn on_change;	/* the change hook, and its arg */
	void *on_change_arg;
	/* cache_lists.c: */
	struct list_entry catalog;
	GPtrArray *catalog_ids;		/* pipeline ids, in the catalog's order */
	GHashTable *histories;		/* project id -> struct list_entry */
	GPtrArray *project_ids;		/* project slot -> id, append-only */
};

/* A request for a worker; the flights it serves are marked fetching with
 * it as their job until a worker takes it. */
struct job {
	char *pipeline_id;
	char *build_id;		/* NULL: the latest call */
	char **batch;		/* instead: the batch call for these pipelines */
	struct list_entry *list;	/* instead: a list call (never freed) */
	struct log_entry *log;	/* instead: the next pages of a step's log */
	struct build_entry *log_build;	/* whose step it is */
	double deadline;	/* how long it may wait for the limiter; 0: not */
};

/* Monotonic seconds. */
double pfs_cache_now(void);

/* The entry of an id, made if missing. An entry may be recycled once the
 * lock is dropped unless it is pinned, fetching, listed, or the kernel
 * holds it. */
struct pipeline_entry *pfs_cache_find_pipeline(struct pfs_cache *cache,
					       const char *id);
struct pipeline_entry *pfs_cache_pipeline_entry(struct pfs_cache *cache,
						const char *id);
struct build_entry *pfs_cache_build_entry(struct pfs_cache *cache,
					  const char *pipeline_id,
					  const char *build_id);

/* Shows @p at the root. */
void pfs_cache_note_listed(struct pfs_cache *cache, struct pipeline_entry *p);

/* The service said @build_id is gone: no longer listed. */
void pfs_cache_note_gone(struct pfs_cache *cache, const char *pipeline_id,
			 const char *build_id);

/* Installs @build, fetched by a request that began at @asked_at
 * (monotonic), unless the copy is newer or completed. */
void pfs_cache_install_build(struct pfs_cache *cache, const char *pipeline_id,
			     const char *build_id, struct pfs_build *build,
			     double asked_at);
/* Drops @e's copy (open files keep theirs). */
void pfs_cache_drop_build(struct pfs_cache *cache, struct build_entry *e);
/* Builds whose trees are kept expanded, most recently used; the others
 * keep only what their tree is made again from (model.h: a compact
 * tree). A warm crawl of this many builds makes no tree twice. */
#define HOT_BUILDS 32
/* Trees dropped between two malloc_trim(0) calls: each walks the heap. */
#define TRIM_EVERY 64

/* @e's copy with its tree there (made again if it was dropped), now the
 * most recently used; NULL when it has none (or, a bug, its tree could
 * not be made again: then the copy is dropped). Take a reference before
 * the lock is dropped. */
struct pfs_build *pfs_cache_copy(struct pfs_cache *cache, struct build_entry *e);
/* Drops the trees of the least recently used builds past HOT_BUILDS that
 * no one else holds. Never while a caller uses a copy it holds no
 * reference to. */
void pfs_cache_cool(struct pfs_cache *cache);

/* What @e holds grew by @bytes beside its build (a step's log): counted,
 * and older builds evicted if the cache no longer fits. */
void pfs_cache_grew(struct pfs_cache *cache, struct build_entry *e,
		    size_t bytes);
/* @e was used: last to be evicted. */
void pfs_cache_touch(struct pfs_cache *cache, struct build_entry *e);

/* Wall-clock epoch nanoseconds. */
int64_t pfs_cache_wall_ns(void);

/* Tells the change hook (if any) about @build of @e: changed at @ns, or
 * (@build NULL) gone. */
void pfs_cache_notify(struct pfs_cache *cache, struct build_entry *e,
		      struct pfs_build *build, int64_t ns);

/* @p's latest build moved from @old to @new (either may be NULL). */
void pfs_cache_note_latest(struct pfs_cache *cache, struct pipeline_entry *p,
			   const char *old, const char *new);

/* Called with the lock held by pfs_cache_install_build() before @build
 * replaces @e's copy: sets @build's times, logs and tells what changed
 * (cache_events.c). Returns how many bytes @e's log grew by. */
size_t pfs_cache_observe(struct pfs_cache *cache, struct build_entry *e,
			 struct pfs_build *build);

/* The entry of build slot @slot, NULL if it names nothing. */
struct build_entry *pfs_cache_build_of_slot_locked(struct pfs_cache *cache,
						   uint32_t slot);

/* Hands a fetch of @f (build @build_id, or NULL: the latest call) to a
 * worker; @urgent: a reader waits for it (cache_fetch.c). */
void pfs_cache_start_fetch(struct pfs_cache *cache, struct pfs_flight *f,
			   const char *pipeline_id, const char *build_id,
			   double deadline, bool urgent);

/* Called with the lock held: whether @p's latest answer is known, gone
 * stale, and may be asked for again now (not under way, not backing off). */
bool pfs_cache_latest_due(const struct pipeline_entry *p, double now);

/* Called with the lock held: the latest answers of @ids (g_strdup'ed
 * pipeline ids) fetched in batch calls, or one latest call for one id
 * (cache_fetch.c). */
void pfs_cache_start_latest_jobs(struct pfs_cache *cache, GPtrArray *ids);

/* Hands @job to a worker for flight @f, which it begins; a session
 * ending lands @f with -ECANCELED at once (cache_fetch.c). */
void pfs_cache_push_job(struct pfs_cache *cache, struct job *job,
			struct pfs_flight *f, bool urgent);

/* ---- cache_logs.c ---- */

/* Called with the lock held: hands the next pages of log @g (of @e's
 * build) to a worker. */
void pfs_cache_start_log(struct pfs_cache *cache, struct build_entry *e,
			 struct log_entry *g, double deadline, bool urgent);
/* Runs on a worker with the lock held (dropped across the requests). */
void pfs_cache_fetch_log(struct pfs_cache *cache, struct build_entry *e,
			 struct log_entry *g, double deadline);
/* As pfs_cache_resolve_list(), for log @g of build @e (cache_fetch.c). */
int pfs_cache_resolve_log(struct pfs_cache *cache, struct pfs_reader *reader,
			  struct build_entry *e, struct log_entry *g);
/* Bytes of @e's logs' text. */
size_t pfs_cache_logs_size(const struct build_entry *e);
/* Drops @e's logs' text with its build (those fetching are orphaned:
 * their pages are dropped as they land). */
void pfs_cache_drop_logs(struct build_entry *e);
void pfs_cache_free_logs(struct build_entry *e);

/* ---- cache_lists.c ---- */

/* Called with the lock held: the CodeArts project @p belongs to (the
 * catalog, projects= naming one, project_id=), or NULL. */
const char *pfs_cache_project_of(struct pfs_cache *cache,
				 const struct pipeline_entry *p);

/* Called with the lock held, by a reader: with api=v5 and several
 * projects, @p's project comes from the pipeline list, loaded (within
 * @reader's deadline) if it was not. */
void pfs_cache_learn_project(struct pfs_cache *cache, struct pfs_reader *reader,
			     struct pipeline_entry *p);

/* Called with the lock held: the API that serves @p (chosen now if not
 * yet: pfs_backend_choose). */
enum pfs_api_version pfs_cache_api_of(struct pfs_cache *cache,
				      struct pipeline_entry *p);

/* Called with the lock held: the list entry of @p's history in project
 * @project_id: the project's (v3: build-result serves every pipeline of
 * it), or @p's own (v5: a runs list per pipeline), made if missing (never
 * freed before the cache). */
struct list_entry *pfs_cache_history_entry(struct pfs_cache *cache,
					   struct pipeline_entry *p,
					   const char *project_id);
/* Runs on a worker with the lock held (dropped across the requests): the
 * list call of @l, then lands its flight. */
void pfs_cache_fetch_list(struct pfs_cache *cache, struct list_entry *l,
			  double deadline);
/* Called with the lock held: hands the list call of @l to a worker, as
 * pfs_cache_start_fetch() does a build's (cache_fetch.c). */
void pfs_cache_start_list(struct pfs_cache *cache, struct list_entry *l,
			  double deadline, bool urgent);
/* Called with the lock held: the catalog and every history are asked for
 * again at their next use (SIGHUP); until then they are served. */
void pfs_cache_lists_stale(struct pfs_cache *cache);
/* Frees what cache_lists.c keeps in @p / in the cache. */
void pfs_cache_clear_pipeline_lists(struct pipeline_entry *p);
void pfs_cache_lists_init(struct pfs_cache *cache);
void pfs_cache_lists_free(struct pfs_cache *cache);

/* Called with the lock held (cache_fetch.c): 0 when the answer of @l may
 * be served; else the reader's error. The one state machine that serves
 * builds and latest answers. */
int pfs_cache_resolve_list(struct pfs_cache *cache, struct pfs_reader *reader,
			   struct list_entry *l);
/* What a reader gets for the outcome of a call (cache_fetch.c). */
int pfs_cache_reader_errno(int err);

/* The workers' function, and how a job is freed (cache_fetch.c). */
void pfs_cache_run_job(gpointer data, gpointer user_data);
void pfs_cache_free_job(void *data);

#endif
