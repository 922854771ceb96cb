/* namespace_account.c - see namespace_internal.h: the account's pipelines
 * by name (by-name/, projects/) and builds known from history only.
 *
 * Names are made from the catalog each time they are needed, in its
 * order, sanitised and made unique as stage names are (names.h): the same
 * catalog always gives the same names, and nothing is stored per name. */
#include "namespace_internal.h"
#include "names.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

/* One name of a directory made of the catalog. */
struct named_entry {
	char name[PFS_NAME_MAX + 1];
	const struct pfs_cache_named *named;
};

/* The names of by-name/ (@project 0) or of one project's directory
 * (@project: its slot + 1), or (@projects) of projects/ itself: a GArray
 * of struct named_entry pointing into @catalog, in its order. Duplicates
 * are told apart oldest first (the list comes newest first), so that a
 * new pipeline called like an old one gets the "~2", not the old one. */
static GArray *make_names(GPtrArray *catalog, uint32_t project, bool projects)
{
	GArray *names = g_array_new(FALSE, FALSE, sizeof(struct named_entry));
	GHashTable *taken = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, NULL);
	GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
	guint i;

	for (i = 0; i < catalog->len; i++) {
		const struct pfs_cache_named *n = catalog->pdata[i];
		struct named_entry entry = { .named = n };
		const char *text, *fallback;

		if (projects) {
			if (!n->project_id ||
			    !g_hash_table_add(seen, GUINT_TO_POINTER(n->project_slot + 1)))
				continue;
			text = n->project_name;
			fallback = n->project_id;
		} else {
			if (project && (!n->project_id || n->project_slot + 1 != project))
				continue;
			text = n->name;
			fallback = n->pipeline_id;
		}
		pfs_name_sanitize(entry.name, text ? text : fallback,
				  text ? strlen(text) : strlen(fallback), fallback);
		g_array_append_val(names, entry);
	}
	for (i = names->len; i-- > 0;)
		pfs_name_claim(g_array_index(names, struct named_entry, i).name, taken);
	g_hash_table_destroy(seen);
	g_hash_table_destroy(taken);
	return names;
}

static const struct named_entry *find_name(GArray *names, const char *name)
{
	guint i;

	for (i = 0; i < names->len; i++)
		if (strcmp(g_array_index(names, struct named_entry, i).name, name) == 0)
			return &g_array_index(names, struct named_entry, i);
	return NULL;
}

/* The catalog, fresh if the service answers (a reader with an older one
 * gets it; with none, the error: a name must not look gone because the
 * service failed). */
static int load_catalog(struct pfs_ns *ns, struct pfs_reader *reader,
			GPtrArray **catalog)
{
	int res = pfs_cache_load_catalog(ns->cache, reader);

	*catalog = NULL;
	if (res < 0)
		return res;
	*catalog = pfs_cache_catalog_names(ns->cache);
	return 0;
}

/* These directories change when the catalog does: when the root's
 * listing last changed (or the mount time), asked again every time. */
static void dir_attr(struct pfs_ns *ns, struct pfs_ns_attr *attr)
{
	uint32_t version;
	struct timespec changed = pfs_cache_listing_changed(ns->cache, NULL,
							    &version);

	pfs_ns_fill_attr(ns, attr, S_IFDIR, 0,
			 changed.tv_sec ? changed : ns->mount_time, 0);
	attr->entry_timeout = PFS_NS_IMMUTABLE_TIMEOUT;
}

static char *link_target(struct pfs_ns *ns, const struct pfs_ns_node *node)
{
	const char *pipeline_id = pfs_cache_pipeline_of_slot(ns->cache,
							     node->pipeline);

	if (!pipeline_id)
		return NULL;
	return g_strconcat(node->project ? "../../" : "../", pipeline_id, NULL);
}

/* How many projects the catalog names: projects/'s subdirectories. */
static nlink_t projects_known(struct pfs_ns *ns)
{
	GPtrArray *catalog = pfs_cache_catalog_names(ns->cache);
	GArray *names = make_names(catalog, 0, true);
	nlink_t count = names->len;

	g_array_free(names, TRUE);
	g_ptr_array_unref(catalog);
	return count;
}

int pfs_ns_account_getattr(struct pfs_ns *ns, const struct pfs_ns_node *node,
			   struct pfs_ns_attr *attr)
{
	char *target;

	if (node->kind != PFS_NS_NAME_LINK) {
		dir_attr(ns, attr);
		if (node->kind == PFS_NS_PROJECTS_DIR)
			attr->st.st_nlink += projects_known(ns);
		return 0;
	}
	target = link_target(ns, node);
	if (!target)
		return -ESTALE;
	dir_attr(ns, attr);
	pfs_ns_fill_attr(ns, attr, S_IFLNK, (off_t)strlen(target),
			 attr->st.st_mtim, ns->ttl);
	g_free(target);
	return 0;
}

int pfs_ns_account_readlink(struct pfs_ns *ns, const struct pfs_ns_node *node,
			    char **target)
{
	if (node->kind != PFS_NS_NAME_LINK)
		return -EINVAL;
	*target = link_target(ns, node);
	return *target ? 0 : -ESTALE;
}

/* @parent's names: those of by-name/, projects/ or a project. */
static GArray *names_of(const struct pfs_ns_node *parent, GPtrArray *catalog)
{
	if (parent->kind == PFS_NS_PROJECTS_DIR)
		return make_names(catalog, 0, true);
	return make_names(catalog, parent->kind == PFS_NS_PROJECT ? parent->project : 0,
			  false);
}

/* The node an entry of @parent names. */
static void entry_node(struct pfs_ns *ns, const struct pfs_ns_node *parent,
		       const struct named_entry *entry, struct pfs_ns_node *node)
{
	uint32_t slot;

	memset(node, 0, sizeof(*node));
	if (parent->kind == PFS_NS_PROJECTS_DIR) {
		node->kind = PFS_NS_PROJECT;
		node->project = entry->named->project_slot + 1;
		return;
	}
	pfs_cache_pipeline_slot(ns->cache, entry->named->pipeline_id, &slot);
	/* in the catalog: not recycled, the pin is not needed */
	pfs_cache_unpin_pipeline(ns->cache, slot);
	node->kind = PFS_NS_NAME_LINK;
	node->pipeline = slot;
	node->project = parent->kind == PFS_NS_PROJECT ? parent->project : 0;
}

int pfs_ns_account_lookup(struct pfs_ns *ns, struct pfs_reader *reader,
			  const struct pfs_ns_node *parent, const char *name,
			  struct pfs_ns_node *child, struct pfs_ns_attr *attr)
{
	const struct named_entry *entry;
	GPtrArray *catalog;
	GArray *names;
	int res = load_catalog(ns, reader, &catalog);

	if (res < 0)
		return res;
	names = names_of(parent, catalog);
	entry = find_name(names, name);
	if (!entry) {
		res = -ENOENT;
	} else {
		entry_node(ns, parent, entry, child);
		res = pfs_ns_account_getattr(ns, child, attr);
		if (res == 0 && child->kind == PFS_NS_NAME_LINK)
			pfs_cache_ref_pipeline(ns->cache, child->pipeline, 1);
	}
	g_array_free(names, TRUE);
	g_ptr_array_unref(catalog);
	return res;
}

int pfs_ns_account_list(struct pfs_ns *ns, struct pfs_reader *reader,
			const struct pfs_ns_node *dir, GArray *entries)
{
	struct pfs_ns_node root = { .kind = PFS_NS_ROOT };
	struct pfs_ns_node parent = root;
	GPtrArray *catalog;
	GArray *names;
	guint i;
	int res;

	if (dir->kind == PFS_NS_NAME_LINK)
		return -ENOTDIR;
	if (dir->kind == PFS_NS_PROJECT)
		parent.kind = PFS_NS_PROJECTS_DIR;
	res = load_catalog(ns, reader, &catalog);
	if (res < 0)
		return res;
	pfs_ns_add_dots(entries, dir, &parent);
	names = names_of(dir, catalog);
	for (i = 0; i < names->len; i++) {
		const struct named_entry *entry = &g_array_index(names, struct named_entry, i);

		entry_node(ns, dir, entry,
			   &pfs_ns_add_entry(entries, entry->name,
					     dir->kind == PFS_NS_PROJECTS_DIR ? S_IFDIR
									       : S_IFLNK)->node);
	}
	g_array_free(names, TRUE);
	g_ptr_array_unref(catalog);
	return 0;
}

int pfs_ns_history_attr(struct pfs_ns *ns, const struct pfs_ns_node *node,
			struct pfs_ns_attr *attr)
{
	const char *pipeline_id, *build_id;
	struct pfs_build *build;
	int64_t start_ms, end_ms;
	int res;

	if (node->path_hash != ns->build_root_hash ||
	    pfs_cache_build_of_slot(ns->cache, node->build, &pipeline_id,
				    &build_id) < 0)
		return -EAGAIN;
	res = pfs_cache_peek_build(ns->cache, node->build, &build);
	if (res == 0)
		pfs_build_unref(build);
	if (res != -EAGAIN ||
	    !pfs_cache_history_build(ns->cache, pipeline_id, build_id, &start_ms,
				     &end_ms))
		return -EAGAIN;
	pfs_ns_fill_attr(ns, attr, S_IFDIR, 0,
			 end_ms ? pfs_ns_time(end_ms * 1000000)
				: start_ms ? pfs_ns_time(start_ms * 1000000)
					   : ns->mount_time,
			 ns->ttl);
	/* its subdirectories are not known before it is fetched: 1 says so
	 * to find(1), which then does not count on the number */
	attr->st.st_nlink = 1;
	return 0;
}
