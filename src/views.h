/* views.h - the files the daemon writes itself about more than one build:
 * a pipeline's `summary` and `events`, and `.pipelinefs/` (health,
 * metrics, summary, events).
 *
 * Their content changes whenever the cache learns something, so the
 * kernel keeps none of it (attribute timeout 0: every read asks for the
 * attributes first, and drops its pages when they changed). The kernel
 * reads a file up to the size its last getattr gave, and a reader at the
 * end asks again: were every getattr to make the text anew, a reader
 * could get the start of one text and the end of a longer one. So a text
 * made is served, size, time and bytes, for PFS_VIEW_SNAPSHOT_LIFE
 * seconds: what changes is seen within a second. Event logs need none:
 * they only grow.
 *
 * Locking: its own mutex, never held while calling the cache.
 */
#ifndef PFS_VIEWS_H
#define PFS_VIEWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"

#define PFS_VIEW_SNAPSHOT_LIFE 1.0

enum pfs_view {
	PFS_VIEW_EVENTS,	/* a pipeline's, or (no pipeline) the mount's */
	PFS_VIEW_SUMMARY,
	PFS_VIEW_HEALTH,	/* the mount's only */
	PFS_VIEW_METRICS,
};

struct pfs_views;

/* Uses, does not own, @cache. */
struct pfs_views *pfs_views_new(struct pfs_cache *cache);
void pfs_views_free(struct pfs_views *views);

/* The name of @view's file: "events", "summary", "health", "metrics". */
const char *pfs_view_name(enum pfs_view view);

/* The size (bytes) and mtime (epoch ns) of @view of @pipeline_id (NULL:
 * the mount's); makes the snapshot later reads serve. */
void pfs_views_stat(struct pfs_views *views, enum pfs_view view,
		    const char *pipeline_id, size_t *size, int64_t *mtime_ns);

/* At most @size bytes at @off in *@data (g_free it), *@len long. */
void pfs_views_read(struct pfs_views *views, enum pfs_view view,
		    const char *pipeline_id, uint64_t off, size_t size,
		    char **data, size_t *len);

#endif
