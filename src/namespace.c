/* namespace.c - see namespace.h */
#include "namespace_internal.h"
#include "inode.h"
#include "names.h"
#include "summary.h"
#include "monitor.h"
#include "views.h"

#include <errno.h>
#include <glib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>



/* Not a pipeline id: no id starts with a dot, and shells, prompts and git
 * probe for such names all the time. */
#define STATE_DIR_NAME ".pipelinefs"


int pfs_ns_new(struct pfs_cache *cache, double ttl, struct pfs_ns **out)
{
	struct pfs_ns *ns = g_new0(struct pfs_ns, 1);
	struct pfs_build *empty;

	ns->cache = cache;
	ns->ttl = ttl;
	ns->uid = getuid();
	ns->gid = getgid();
	clock_gettime(CLOCK_REALTIME, &ns->mount_time);
	/* the build directory's path hash, whichever API a build comes from */
	if (pfs_tree_finish(pfs_tree_new(0), "", 0, &empty) < 0) {
		g_free(ns);
		return -ENOMEM;
	}
	ns->build_root_hash = empty->nodes[PFS_NODE_ROOT].path_hash;
	pfs_build_unref(empty);
	ns->views = pfs_views_new(cache);
	*out = ns;
	return 0;
}

double pfs_ns_absence_timeout(const struct pfs_ns *ns)
{
	return ns->ttl;
}

void pfs_ns_free(struct pfs_ns *ns)
{
	if (ns)
		pfs_views_free(ns->views);
	g_free(ns);
}

struct timespec pfs_ns_time(int64_t ns)
{
	return (struct timespec){ .tv_sec = ns / 1000000000,
				  .tv_nsec = ns % 1000000000 };
}

void pfs_ns_fill_attr(const struct pfs_ns *ns, struct pfs_ns_attr *attr,
		      mode_t type, off_t size, struct timespec mtime,
		      double timeout)
{
	struct stat *st = &attr->st;

	memset(attr, 0, sizeof(*attr));
	st->st_mode = type | (type == S_IFDIR ? 0555 : type == S_IFLNK ? 0777 : 0444);
	st->st_nlink = type == S_IFDIR ? 2 : 1;	/* callers add subdirectories */
	st->st_uid = ns->uid;
	st->st_gid = ns->gid;
	st->st_size = size;
	st->st_blksize = 4096;
	st->st_blocks = (size + 511) / 512;
	st->st_mtim = st->st_ctim = st->st_atim = mtime;
	attr->timeout = timeout;
	attr->entry_timeout = timeout;
}


/* The build of @node and its node index in @build_node. */
int pfs_ns_resolve_build_node(struct pfs_ns *ns, struct pfs_reader *reader,
			      const struct pfs_ns_node *node,
			      struct pfs_build **build, uint32_t *build_node,
			      double *fresh_for)
{
	const char *pipeline_id, *build_id;
	int res = pfs_cache_build_of_slot(ns->cache, node->build, &pipeline_id,
					  &build_id);

	if (res < 0)
		return res;
	res = pfs_cache_get_build(ns->cache, reader, pipeline_id, build_id,
				  build, fresh_for);
	if (res < 0)
		return res;
	*build_node = pfs_build_find(*build, node->path_hash);
	if (*build_node == PFS_NODE_NONE) {
		pfs_build_unref(*build);
		*build = NULL;
		return -ENOENT;
	}
	return 0;
}

/* Like pfs_ns_resolve_build_node(), for a node that must be a directory. */
static int resolve_build_dir(struct pfs_ns *ns, struct pfs_reader *reader,
			     const struct pfs_ns_node *node,
			     struct pfs_build **build, uint32_t *build_node,
			     double *fresh_for)
{
	int res = pfs_ns_resolve_build_node(ns, reader, node, build, build_node,
				     fresh_for);

	if (res == 0 && !(*build)->nodes[*build_node].is_dir) {
		pfs_build_unref(*build);
		*build = NULL;
		return -ENOTDIR;
	}
	return res;
}

void pfs_ns_set_node(struct pfs_ns_node *node, enum pfs_ns_kind kind,
		     uint32_t pipeline, uint32_t build, uint64_t path_hash)
{
	node->kind = kind;
	node->pipeline = pipeline;
	node->build = build;
	node->path_hash = path_hash;
}

/* A "latest" node names its pipeline and the build it points at (so a
 * new target is a new node, and the kernel may keep a link's target for
 * as long as it holds the node). @node->build is the target's slot, or,
 * with @make (a lookup), filled in from the service's latest answer and
 * counted as a lookup of the node. */
static int latest_attr(struct pfs_ns *ns, struct pfs_reader *reader,
		       struct pfs_ns_node *node, bool make,
		       struct pfs_ns_attr *attr)
{
	const char *pipeline_id = pfs_cache_pipeline_of_slot(ns->cache,
							     node->pipeline);
	const char *own_pipeline, *own = NULL;
	struct timespec changed;
	bool pinned = false;
	char *target;
	double fresh_for;
	int res;

	if (!pipeline_id)
		return -ESTALE;
	/* a look at latest refreshes it when stale */
	res = pfs_cache_get_latest(ns->cache, reader, pipeline_id, &target,
				   &fresh_for, &changed);
	if (res < 0)
		return res;
	if (make) {
		res = pfs_cache_build_slot(ns->cache, pipeline_id, target,
					   PFS_INO_MAX_BUILDS, &node->build);
		pinned = res == 0;
	}
	if (res == 0 && pfs_cache_build_of_slot(ns->cache, node->build,
						&own_pipeline, &own) < 0)
		res = -ESTALE;
	if (res == 0)
		/* the link as it was named: no longer the latest, a look again
		 * finds the one that is */
		pfs_ns_fill_attr(ns, attr, S_IFLNK, (off_t)strlen(own), changed,
			  strcmp(own, target) == 0 ? pfs_ns_kernel_timeout(fresh_for) : 0);
	if (res == 0 && make) {
		pfs_cache_ref_pipeline(ns->cache, node->pipeline, 1);
		pfs_cache_ref_build(ns->cache, node->build, 1);
	}
	if (pinned)
		pfs_cache_unpin_build(ns->cache, node->build);
	g_free(target);
	return res;
}

/* Someone is about to look inside the pipelines listed in @pipeline_id's
 * directory (NULL: the root's): start the latest calls they will need
 * (@only_stale: only those whose earlier answer went stale). */
static void prefetch_listing(struct pfs_ns *ns, const char *pipeline_id,
			     bool only_stale)
{
	char **ids;

	if (pipeline_id) {
		pfs_cache_prefetch_latest(ns->cache,
					  (char *[]){ (char *)pipeline_id, NULL },
					  only_stale);
		return;
	}
	ids = pfs_cache_list_pipelines(ns->cache);
	pfs_cache_prefetch_latest(ns->cache, ids, only_stale);
	g_strfreev(ids);
}

/* The root and a pipeline's directory change as pipelines are looked up
 * and builds seen: their mtime says when, and the kernel must ask every
 * time (timeout 0) so that it never lists from a stale copy. The kernel
 * asks as a listing starts, even one it then serves from its cache: the
 * time to refresh what went stale. (Not what was never fetched: a stat of
 * the mountpoint must not fetch everything.) */
static int listing_attr(struct pfs_ns *ns, const struct pfs_ns_node *node,
			struct pfs_ns_attr *attr)
{
	const char *pipeline_id = NULL;
	struct timespec changed;
	uint32_t version;
	int64_t newest_ns;

	if (node->kind == PFS_NS_PIPELINE) {
		pipeline_id = pfs_cache_pipeline_of_slot(ns->cache, node->pipeline);
		if (!pipeline_id)
			return -ESTALE;
	}
	prefetch_listing(ns, pipeline_id, true);
	pfs_cache_refresh_lists(ns->cache, pipeline_id);
	changed = pfs_cache_listing_changed(ns->cache, pipeline_id, &version);
	if (changed.tv_sec == 0)
		changed = ns->mount_time;
	/* the newest change inside: ls -lt puts the liveliest first. The
	 * kernel keeps a listing until the mtime changes: every entry that
	 * comes or goes adds a nanosecond, so a listing is never stale and
	 * the order of ls -lt stays that of the builds' times */
	newest_ns = pfs_cache_newest_change(ns->cache, pipeline_id);
	if (newest_ns)
		changed = pfs_ns_time(newest_ns + version);
	pfs_ns_fill_attr(ns, attr, S_IFDIR, 0, changed, 0);
	/* every pipeline, every build is a directory ("latest" a link) */
	attr->st.st_nlink += pfs_cache_listing_size(ns->cache, pipeline_id);
	if (!pipeline_id)	/* .pipelinefs, and by-name/ and projects/ */
		attr->st.st_nlink += pfs_cache_fixed_root(ns->cache) ? 1 : 3;
	/* a pipeline's name always leads to the same directory */
	attr->entry_timeout = PFS_NS_IMMUTABLE_TIMEOUT;
	return 0;
}

/* The pipeline a node names (NULL for the mount's own files); -ESTALE
 * when its slot names nothing. */
int pfs_ns_view_pipeline(struct pfs_ns *ns, const struct pfs_ns_node *node,
			 const char **pipeline_id)
{
	*pipeline_id = NULL;
	if (node->kind != PFS_NS_PIPELINE_FILE)
		return 0;
	*pipeline_id = pfs_cache_pipeline_of_slot(ns->cache, node->pipeline);
	return *pipeline_id ? 0 : -ESTALE;
}

/* A file of views.h: never cached by the kernel (views.h says why). */
static int view_attr(struct pfs_ns *ns, const struct pfs_ns_node *node,
		     struct pfs_ns_attr *attr)
{
	const char *pipeline_id;
	int64_t mtime_ns;
	size_t size;
	int res = pfs_ns_view_pipeline(ns, node, &pipeline_id);

	if (res < 0)
		return res;
	pfs_views_stat(ns->views, node->view, pipeline_id, &size, &mtime_ns);
	pfs_ns_fill_attr(ns, attr, S_IFREG, (off_t)size,
		  mtime_ns ? pfs_ns_time(mtime_ns) : ns->mount_time, 0);
	attr->entry_timeout = PFS_NS_IMMUTABLE_TIMEOUT;
	return 0;
}

static int wait_attr(struct pfs_ns *ns, struct pfs_reader *reader,
		     const struct pfs_ns_node *node, struct pfs_ns_attr *attr)
{
	struct pfs_ns_node build_node = *node;
	struct pfs_build *build;
	uint32_t index;
	double fresh_for;
	int res;

	build_node.kind = PFS_NS_BUILD;
	build_node.path_hash = ns->build_root_hash;
	res = pfs_ns_resolve_build_node(ns, reader, &build_node, &build, &index,
				 &fresh_for);
	if (res < 0)
		return res;
	index = pfs_build_child(build, PFS_NODE_ROOT, "wait");
	if (index == PFS_NODE_NONE)
		res = -ENOENT;
	else
		res = pfs_ns_build_node_attr(ns, reader, node->build, build, index,
					     fresh_for, attr);
	/* each lookup names a node of its own: never one of another reader */
	attr->timeout = attr->entry_timeout = 0;
	pfs_build_unref(build);
	return res;
}

int pfs_ns_getattr(struct pfs_ns *ns, struct pfs_reader *reader,
		   const struct pfs_ns_node *node, struct pfs_ns_attr *attr)
{
	struct pfs_ns_node latest;
	struct pfs_build *build;
	uint32_t index;
	double fresh_for;
	int res;

	switch (node->kind) {
	case PFS_NS_ROOT:
	case PFS_NS_PIPELINE:
		return listing_attr(ns, node, attr);
	case PFS_NS_LATEST:
		latest = *node;
		return latest_attr(ns, reader, &latest, false, attr);
	case PFS_NS_STATE_DIR:	/* what is in it changes all the time */
		pfs_ns_fill_attr(ns, attr, S_IFDIR, 0, pfs_ns_time(g_get_real_time() * 1000), 0);
		attr->entry_timeout = PFS_NS_IMMUTABLE_TIMEOUT;
		return 0;
	case PFS_NS_PIPELINE_FILE:
	case PFS_NS_STATE_FILE:
		return view_attr(ns, node, attr);
	case PFS_NS_WAIT:
		return wait_attr(ns, reader, node, attr);
	case PFS_NS_BY_NAME_DIR:
	case PFS_NS_PROJECTS_DIR:
	case PFS_NS_PROJECT:
	case PFS_NS_NAME_LINK:
		return pfs_ns_account_getattr(ns, node, attr);
	case PFS_NS_BUILD:
		/* a build only listed in history: ls -l fetches nothing */
		if (pfs_ns_history_attr(ns, node, attr) == 0)
			return 0;
		break;
	}
	res = pfs_ns_resolve_build_node(ns, reader, node, &build, &index, &fresh_for);
	if (res < 0)
		return res;
	res = pfs_ns_build_node_attr(ns, reader, node->build, build, index,
				     fresh_for, attr);
	pfs_build_unref(build);
	return res;
}

/* The view called @name, of those a pipeline (@pipeline) or .pipelinefs
 * has; -1 if none. */
static int view_named(const char *name, bool pipeline)
{
	int view;

	for (view = PFS_VIEW_EVENTS; view <= PFS_VIEW_METRICS; view++)
		if (strcmp(name, pfs_view_name(view)) == 0)
			return pipeline && view > PFS_VIEW_SUMMARY ? -1 : view;
	return -1;
}

static int lookup_in_state_dir(struct pfs_ns *ns, const char *name,
			       struct pfs_ns_node *child,
			       struct pfs_ns_attr *attr)
{
	int view = view_named(name, false);

	if (view < 0)
		return -ENOENT;
	child->kind = PFS_NS_STATE_FILE;
	child->view = (uint32_t)view;
	return view_attr(ns, child, attr);
}

static int lookup_in_root(struct pfs_ns *ns, struct pfs_reader *reader,
			  const char *name, struct pfs_ns_node *child,
			  struct pfs_ns_attr *attr)
{
	uint32_t slot;
	int res;

	if (strcmp(name, STATE_DIR_NAME) == 0) {
		child->kind = PFS_NS_STATE_DIR;
		return pfs_ns_getattr(ns, reader, child, attr);
	}
	/* real pipeline ids are 32 hex digits: these names are free */
	if (strcmp(name, PFS_NS_BY_NAME) == 0 || strcmp(name, PFS_NS_PROJECTS) == 0) {
		child->kind = name[0] == 'b' ? PFS_NS_BY_NAME_DIR : PFS_NS_PROJECTS_DIR;
		return pfs_ns_getattr(ns, reader, child, attr);
	}
	if (name[0] == '.' || !pfs_name_is_valid_id(name))
		return -ENOENT;
	res = pfs_cache_check_pipeline(ns->cache, reader, name);
	if (res < 0)
		return res;
	pfs_cache_pipeline_slot(ns->cache, name, &slot);
	pfs_ns_set_node(child, PFS_NS_PIPELINE, slot, 0, 0);
	res = pfs_ns_getattr(ns, reader, child, attr);
	if (res == 0)
		pfs_cache_ref_pipeline(ns->cache, slot, 1);
	pfs_cache_unpin_pipeline(ns->cache, slot);
	return res;
}

static int lookup_in_pipeline(struct pfs_ns *ns, struct pfs_reader *reader,
			      const struct pfs_ns_node *parent,
			      const char *name, struct pfs_ns_node *child,
			      struct pfs_ns_attr *attr)
{
	const char *pipeline_id = pfs_cache_pipeline_of_slot(ns->cache,
							     parent->pipeline);
	uint32_t slot;
	int res;

	if (!pipeline_id)
		return -ESTALE;
	if (strcmp(name, "latest") == 0) {
		pfs_ns_set_node(child, PFS_NS_LATEST, parent->pipeline, 0, 0);
		return latest_attr(ns, reader, child, true, attr);
	}
	/* no build id starts with a dot: .git and the like cost nothing */
	if (name[0] == '.')
		return -ENOENT;
	if (view_named(name, true) >= 0) {
		pfs_ns_set_node(child, PFS_NS_PIPELINE_FILE, parent->pipeline, 0, 0);
		child->view = (uint32_t)view_named(name, true);
		res = view_attr(ns, child, attr);
		if (res == 0)
			pfs_cache_ref_pipeline(ns->cache, parent->pipeline, 1);
		return res;
	}
	if (!pfs_name_is_valid_id(name))
		return -ENOENT;
	if (pfs_cache_build_slot(ns->cache, pipeline_id, name,
				 PFS_INO_MAX_BUILDS, &slot) < 0)
		return -ENOSPC;
	pfs_ns_set_node(child, PFS_NS_BUILD, 0, slot, ns->build_root_hash);
	res = pfs_ns_getattr(ns, reader, child, attr);
	if (res == 0)
		pfs_cache_ref_build(ns->cache, slot, 1);
	pfs_cache_unpin_build(ns->cache, slot);
	return res;
}

static int lookup_in_build(struct pfs_ns *ns, struct pfs_reader *reader,
			   const struct pfs_ns_node *parent,
			   const char *name, struct pfs_ns_node *child,
			   struct pfs_ns_attr *attr)
{
	struct pfs_build *build;
	uint32_t dir, index;
	double fresh_for;
	int res = resolve_build_dir(ns, reader, parent, &build, &dir, &fresh_for);

	if (res < 0)
		return res;
	index = pfs_build_child(build, dir, name);
	if (index == PFS_NODE_NONE) {
		res = -ENOENT;
	} else if (build->nodes[index].kind == PFS_NODE_WAIT) {
		pfs_ns_set_node(child, PFS_NS_WAIT, 0, parent->build,
			 __atomic_add_fetch(&ns->wait_lookups, 1, __ATOMIC_RELAXED) &
			 PFS_PATH_HASH_MASK);
		pfs_ns_build_node_attr(ns, reader, parent->build, build, index, fresh_for, attr);
		attr->timeout = attr->entry_timeout = 0;
		pfs_cache_ref_build(ns->cache, parent->build, 1);
	} else {
		pfs_ns_set_node(child, PFS_NS_BUILD, 0, parent->build,
			 build->nodes[index].path_hash);
		/* a step log the service fails to send is an error, not empty */
		res = pfs_ns_build_node_attr(ns, reader, parent->build, build,
					     index, fresh_for, attr);
		if (res == 0)
			pfs_cache_ref_build(ns->cache, parent->build, 1);
	}
	pfs_build_unref(build);
	return res;
}

int pfs_ns_lookup(struct pfs_ns *ns, struct pfs_reader *reader,
		  const struct pfs_ns_node *parent, const char *name,
		  struct pfs_ns_node *child, struct pfs_ns_attr *attr)
{
	memset(child, 0, sizeof(*child));
	switch (parent->kind) {
	case PFS_NS_ROOT:
		return lookup_in_root(ns, reader, name, child, attr);
	case PFS_NS_PIPELINE:
		return lookup_in_pipeline(ns, reader, parent, name, child, attr);
	case PFS_NS_BUILD:
		return lookup_in_build(ns, reader, parent, name, child, attr);
	case PFS_NS_STATE_DIR:
		return lookup_in_state_dir(ns, name, child, attr);
	case PFS_NS_BY_NAME_DIR:
	case PFS_NS_PROJECTS_DIR:
	case PFS_NS_PROJECT:
		return pfs_ns_account_lookup(ns, reader, parent, name, child, attr);
	default:
		break;
	}
	return -ENOTDIR;
}

/* The kernel holds @delta more (or, < 0, fewer) lookups of @node. */
static void add_kernel_refs(struct pfs_ns *ns, const struct pfs_ns_node *node,
			    int64_t delta)
{
	switch (node->kind) {
	case PFS_NS_ROOT:
	case PFS_NS_STATE_DIR:
	case PFS_NS_STATE_FILE:
	case PFS_NS_BY_NAME_DIR:
	case PFS_NS_PROJECTS_DIR:
	case PFS_NS_PROJECT:
		break;
	case PFS_NS_NAME_LINK:	/* its slot must keep naming its pipeline */
		pfs_cache_ref_pipeline(ns->cache, node->pipeline, delta);
		break;
	case PFS_NS_LATEST:	/* and the build it points at */
		pfs_cache_ref_build(ns->cache, node->build, delta);
		/* fall through */
	case PFS_NS_PIPELINE:
	case PFS_NS_PIPELINE_FILE:
		pfs_cache_ref_pipeline(ns->cache, node->pipeline, delta);
		break;
	case PFS_NS_BUILD:
	case PFS_NS_WAIT:
		pfs_cache_ref_build(ns->cache, node->build, delta);
		break;
	}
}

void pfs_ns_remember(struct pfs_ns *ns, const struct pfs_ns_node *node)
{
	add_kernel_refs(ns, node, 1);
}

void pfs_ns_forget(struct pfs_ns *ns, const struct pfs_ns_node *node,
		   uint64_t nlookup)
{
	add_kernel_refs(ns, node, -(int64_t)nlookup);
}

void pfs_ns_reader_init(struct pfs_ns *ns, struct pfs_reader *reader)
{
	pfs_cache_reader_init(ns->cache, reader);
}

void pfs_ns_interrupt(struct pfs_ns *ns, struct pfs_reader *reader)
{
	pfs_cache_interrupt(ns->cache, reader);
}

int pfs_ns_readlink(struct pfs_ns *ns, struct pfs_reader *reader,
		    const struct pfs_ns_node *node, char **target)
{
	const char *pipeline_id, *build_id;
	struct pfs_build *build;
	uint32_t index;
	double fresh_for;
	int res;

	if (node->kind == PFS_NS_BUILD) {	/* a link of failed/ */
		res = pfs_ns_resolve_build_node(ns, reader, node, &build, &index,
					 &fresh_for);
		if (res < 0)
			return res;
		if (build->nodes[index].kind != PFS_NODE_LINK)
			res = -EINVAL;
		else
			*target = g_strdup(build->strings + build->nodes[index].content);
		pfs_build_unref(build);
		return res;
	}
	if (node->kind == PFS_NS_NAME_LINK)
		return pfs_ns_account_readlink(ns, node, target);
	if (node->kind != PFS_NS_LATEST)
		return -EINVAL;
	/* the node is its target: no request (the lookup made the node) */
	if (pfs_cache_build_of_slot(ns->cache, node->build, &pipeline_id,
				    &build_id) < 0)
		return -ESTALE;
	*target = g_strdup(build_id);
	return 0;
}


static int list_root(struct pfs_ns *ns, struct pfs_reader *reader,
		     const struct pfs_ns_node *dir, GArray *entries)
{
	bool fixed = pfs_cache_fixed_root(ns->cache);
	char **ids, **id;
	uint32_t slot;

	/* the account's pipelines (an older list while the service fails;
	 * with none, the error: an empty root would say there is nothing) */
	if (!fixed) {
		int res = pfs_cache_load_catalog(ns->cache, reader);

		if (res < 0)
			return res;
	}
	ids = pfs_cache_list_pipelines(ns->cache);
	pfs_ns_add_dots(entries, dir, dir);	/* the mount's ".." is the kernel's */
	pfs_ns_add_entry(entries, STATE_DIR_NAME, S_IFDIR)->node.kind = PFS_NS_STATE_DIR;
	/* with pipelines= they are found by name only: a glob or a crawl of
	 * the root must not cost the list calls that fill them */
	if (!fixed) {
		pfs_ns_add_entry(entries, PFS_NS_BY_NAME, S_IFDIR)->node.kind = PFS_NS_BY_NAME_DIR;
		pfs_ns_add_entry(entries, PFS_NS_PROJECTS, S_IFDIR)->node.kind = PFS_NS_PROJECTS_DIR;
	}
	/* a crawl of pipelines= goes into each: their latest calls, in batch
	 * calls, start now; the whole account's would cost as many calls
	 * again as listing it did */
	if (fixed)
		prefetch_listing(ns, NULL, false);
	for (id = ids; *id; id++) {
		pfs_cache_pipeline_slot(ns->cache, *id, &slot);
		pfs_ns_set_node(&pfs_ns_add_entry(entries, *id, S_IFDIR)->node,
			 PFS_NS_PIPELINE, slot, 0, 0);
		/* listed: never recycled, the pin is not needed */
		pfs_cache_unpin_pipeline(ns->cache, slot);
	}
	g_strfreev(ids);
	return 0;
}

static void list_views(GArray *entries, const struct pfs_ns_node *dir,
		       enum pfs_ns_kind kind, enum pfs_view last)
{
	int view;

	for (view = PFS_VIEW_EVENTS; view <= (int)last; view++) {
		struct pfs_ns_node *node = &pfs_ns_add_entry(entries, pfs_view_name(view),
						      S_IFREG)->node;

		pfs_ns_set_node(node, kind, dir->pipeline, 0, 0);
		node->view = (uint32_t)view;
	}
}

static void list_state_dir(const struct pfs_ns_node *dir, GArray *entries)
{
	struct pfs_ns_node root = { .kind = PFS_NS_ROOT };

	pfs_ns_add_dots(entries, dir, &root);
	list_views(entries, dir, PFS_NS_STATE_FILE, PFS_VIEW_METRICS);
}

static int list_pipeline(struct pfs_ns *ns, struct pfs_reader *reader,
			 const struct pfs_ns_node *dir, GArray *entries)
{
	const char *pipeline_id = pfs_cache_pipeline_of_slot(ns->cache,
							     dir->pipeline);
	struct pfs_ns_node root = { .kind = PFS_NS_ROOT };
	char **ids, **id, *latest = NULL;
	double fresh_for;
	uint32_t slot;
	int res;

	if (!pipeline_id)
		return -ESTALE;
	/* its builds of the last days: an extra, the pipeline is there by id
	 * whatever the history calls do (they log their failures) */
	res = pfs_cache_load_history(ns->cache, reader, pipeline_id);
	if (res == -EINTR)
		return res;
	pfs_ns_add_dots(entries, dir, &root);
	prefetch_listing(ns, pipeline_id, false);
	/* only what can be looked up: "latest" once the service named a
	 * build (ls -l of a pipeline it does not know shows no dangling
	 * entry); asked for here only if never answered, and prefetching */
	latest = pfs_cache_known_latest(ns->cache, pipeline_id);
	if (!latest && !pfs_cache_latest_absent(ns->cache, pipeline_id) &&
	    pfs_cache_prefetches(ns->cache))
		pfs_cache_get_latest(ns->cache, reader, pipeline_id, &latest,
				     &fresh_for, NULL);
	if (latest && pfs_cache_build_slot(ns->cache, pipeline_id, latest,
					   PFS_INO_MAX_BUILDS, &slot) == 0) {
		pfs_ns_set_node(&pfs_ns_add_entry(entries, "latest", S_IFLNK)->node,
			 PFS_NS_LATEST, dir->pipeline, slot, 0);
		/* listed: never recycled */
		pfs_cache_unpin_build(ns->cache, slot);
	}
	g_free(latest);
	list_views(entries, dir, PFS_NS_PIPELINE_FILE, PFS_VIEW_SUMMARY);
	ids = pfs_cache_list_builds(ns->cache, pipeline_id);
	for (id = ids; *id; id++)
		if (pfs_cache_build_slot(ns->cache, pipeline_id, *id,
					 PFS_INO_MAX_BUILDS, &slot) == 0) {
			/* only d_ino: readdirplus hands no attributes for
			 * these, so the kernel takes no reference */
			pfs_ns_set_node(&pfs_ns_add_entry(entries, *id, S_IFDIR)->node,
				 PFS_NS_BUILD, 0, slot, ns->build_root_hash);
			pfs_cache_unpin_build(ns->cache, slot);
		}
	g_strfreev(ids);
	return 0;
}

/* The node of the directory above @dir, node @index of @build; @dir
 * itself when it cannot be named. */
static void build_dotdot(struct pfs_ns *ns, const struct pfs_ns_node *dir,
			 const struct pfs_build *build, uint32_t index,
			 struct pfs_ns_node *parent)
{
	const char *pipeline_id, *build_id;
	uint32_t above = index == PFS_NODE_ROOT ? PFS_NODE_NONE
						: pfs_build_parent(build, index);
	uint32_t slot;

	*parent = *dir;
	if (above != PFS_NODE_NONE)
		parent->path_hash = build->nodes[above].path_hash;
	else if (index == PFS_NODE_ROOT &&
		 pfs_cache_build_of_slot(ns->cache, dir->build, &pipeline_id,
					 &build_id) == 0 &&
		 pfs_cache_pipeline_slot(ns->cache, pipeline_id, &slot) == 0) {
		pfs_ns_set_node(parent, PFS_NS_PIPELINE, slot, 0, 0);
		/* it has builds seen: never recycled */
		pfs_cache_unpin_pipeline(ns->cache, slot);
	}
}

static int list_build_dir(struct pfs_ns *ns, struct pfs_reader *reader,
			  const struct pfs_ns_node *dir, GArray *entries,
			  struct pfs_build **holder)
{
	struct pfs_ns_node parent;
	struct pfs_build *build;
	uint32_t index, child;
	double fresh_for;
	int res = resolve_build_dir(ns, reader, dir, &build, &index, &fresh_for);

	if (res < 0)
		return res;
	build_dotdot(ns, dir, build, index, &parent);
	pfs_ns_add_dots(entries, dir, &parent);
	for (child = build->nodes[index].first_child; child != PFS_NODE_NONE;
	     child = build->nodes[child].next_sibling) {
		const struct pfs_node *n = &build->nodes[child];
		struct pfs_ns_dirent *entry;

		/* found by name only: grep -r, find, tar must not block on it */
		if (n->kind == PFS_NODE_WAIT)
			continue;
		entry = pfs_ns_add_entry(entries, pfs_build_node_name(build, child),
				  pfs_ns_node_type(n));
		pfs_ns_set_node(&entry->node, PFS_NS_BUILD, 0, dir->build, n->path_hash);
		/* known without a request: readdirplus can hand it over */
		pfs_ns_build_node_attr(ns, NULL, dir->build, build, child, fresh_for,
				&entry->attr);
		entry->has_attr = true;
		if (n->kind == PFS_NODE_FILE)
			entry->content = pfs_build_node_content(build, child,
								&entry->content_len);
	}
	*holder = build;
	return 0;
}

int pfs_ns_list(struct pfs_ns *ns, struct pfs_reader *reader,
		const struct pfs_ns_node *dir, struct pfs_ns_listing **out)
{
	GArray *entries = g_array_new(FALSE, TRUE, sizeof(struct pfs_ns_dirent));
	struct pfs_ns_listing *listing;
	struct pfs_build *build = NULL;
	int res = 0;

	*out = NULL;
	switch (dir->kind) {
	case PFS_NS_ROOT:
		res = list_root(ns, reader, dir, entries);
		break;
	case PFS_NS_BY_NAME_DIR:
	case PFS_NS_PROJECTS_DIR:
	case PFS_NS_PROJECT:
		res = pfs_ns_account_list(ns, reader, dir, entries);
		break;
	case PFS_NS_PIPELINE:
		res = list_pipeline(ns, reader, dir, entries);
		break;
	case PFS_NS_BUILD:
		res = list_build_dir(ns, reader, dir, entries, &build);
		break;
	case PFS_NS_STATE_DIR:
		list_state_dir(dir, entries);
		break;
	default:
		res = -ENOTDIR;
		break;
	}
	listing = g_new0(struct pfs_ns_listing, 1);
	listing->count = entries->len;
	listing->entries = (struct pfs_ns_dirent *)g_array_free(entries, FALSE);
	listing->build = build;
	if (res < 0) {
		pfs_ns_listing_free(listing);
		return res;
	}
	*out = listing;
	return 0;
}



struct forget_ctx {
	void (*forget)(const struct pfs_ns_node *node, void *arg);
	void *arg;
};

static void forget_build(uint32_t build_slot, const struct pfs_build *build,
			 void *arg)
{
	struct forget_ctx *ctx = arg;
	struct pfs_ns_node node;
	uint32_t i;

	for (i = 0; i < build->n_nodes; i++) {
		pfs_ns_set_node(&node, PFS_NS_BUILD, 0, build_slot, build->nodes[i].path_hash);
		ctx->forget(&node, ctx->arg);
	}
}

void pfs_ns_drop_unfinished(struct pfs_ns *ns,
			    void (*forget)(const struct pfs_ns_node *node,
					   void *arg),
			    void *arg)
{
	struct forget_ctx ctx = { .forget = forget, .arg = arg };
	struct pfs_ns_node latest = { .kind = PFS_NS_LATEST };
	char **ids, **id;

	pfs_cache_drop_unfinished(ns->cache, forget ? forget_build : NULL, &ctx);
	ids = pfs_cache_list_pipelines(ns->cache);
	for (id = ids; forget && *id; id++)
		if (pfs_cache_pipeline_slot(ns->cache, *id, &latest.pipeline) == 0) {
			forget(&latest, arg);
			pfs_cache_unpin_pipeline(ns->cache, latest.pipeline);
		}
	g_strfreev(ids);
}
