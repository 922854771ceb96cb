/* namespace_internal.h - what namespace.c (pipelines and builds) and
 * namespace_account.c (by-name/, projects/, history) share. Not for other
 * modules: they use namespace.h. */
#ifndef PFS_NAMESPACE_INTERNAL_H
#define PFS_NAMESPACE_INTERNAL_H

#include "namespace.h"
#include "views.h"

#include <glib.h>
#include <time.h>

struct pfs_ns {
	struct pfs_cache *cache;
	double ttl;
	uid_t uid;
	gid_t gid;
	struct timespec mount_time;
	uint64_t build_root_hash;	/* path hash of every build directory */
	struct pfs_views *views;
	uint64_t wait_lookups;		/* atomic: numbers each wait node */
};

/* The kernel may keep what never changes (a completed build) this long. */
#define PFS_NS_IMMUTABLE_TIMEOUT (24.0 * 3600)

struct timespec pfs_ns_time(int64_t ns);
/* @attr of a node of @type (S_IFDIR, S_IFREG, S_IFLNK), @size bytes,
 * changed at @mtime, that the kernel may keep @timeout seconds. */
void pfs_ns_fill_attr(const struct pfs_ns *ns, struct pfs_ns_attr *attr,
		      mode_t type, off_t size, struct timespec mtime,
		      double timeout);
void pfs_ns_set_node(struct pfs_ns_node *node, enum pfs_ns_kind kind,
		     uint32_t pipeline, uint32_t build, uint64_t path_hash);
/* Appends an entry (its name copied) to @entries (of struct pfs_ns_dirent). */
struct pfs_ns_dirent *pfs_ns_add_entry(GArray *entries, const char *name,
				       mode_t type);
/* "." and "..": with their inode numbers, or readdir(3) skips them. */
void pfs_ns_add_dots(GArray *entries, const struct pfs_ns_node *dir,
		     const struct pfs_ns_node *parent);

/* ---- namespace_attr.c ---- */

/* How long the kernel may keep what is fresh for @fresh_for seconds. */
double pfs_ns_kernel_timeout(double fresh_for);
/* S_IFDIR, S_IFLNK or S_IFREG. */
mode_t pfs_ns_node_type(const struct pfs_node *n);
/* @attr of node @node of build @build (slot @slot), fresh for @fresh_for
 * seconds; a step log's size is fetched with @reader (a lookup, a stat:
 * its errors are returned, namespace.h's), not without (a listing: then
 * it is what is known, and the kernel must ask again). 0 or -errno. */
int pfs_ns_build_node_attr(struct pfs_ns *ns, struct pfs_reader *reader,
			    uint32_t slot, const struct pfs_build *build,
			    uint32_t node, double fresh_for,
			    struct pfs_ns_attr *attr);

/* The build of @node and its node index in *@build_node (a reference in
 * *@build to drop), fresh for *@fresh_for seconds; errors as namespace.h. */
int pfs_ns_resolve_build_node(struct pfs_ns *ns, struct pfs_reader *reader,
			      const struct pfs_ns_node *node,
			      struct pfs_build **build, uint32_t *build_node,
			      double *fresh_for);
/* The pipeline a view node names (NULL for the mount's own files);
 * -ESTALE when its slot names nothing. */
int pfs_ns_view_pipeline(struct pfs_ns *ns, const struct pfs_ns_node *node,
			 const char **pipeline_id);

/* ---- namespace_account.c ---- */

/* The root's by-name/ and projects/ directories, and what is in them. */
#define PFS_NS_BY_NAME "by-name"
#define PFS_NS_PROJECTS "projects"

/* Lookups, listings, attributes and link targets of the kinds
 * PFS_NS_BY_NAME_DIR, PFS_NS_PROJECTS_DIR, PFS_NS_PROJECT and
 * PFS_NS_NAME_LINK; errors as namespace.h says. */
int pfs_ns_account_lookup(struct pfs_ns *ns, struct pfs_reader *reader,
			  const struct pfs_ns_node *parent, const char *name,
			  struct pfs_ns_node *child, struct pfs_ns_attr *attr);
int pfs_ns_account_getattr(struct pfs_ns *ns, const struct pfs_ns_node *node,
			   struct pfs_ns_attr *attr);
int pfs_ns_account_list(struct pfs_ns *ns, struct pfs_reader *reader,
			const struct pfs_ns_node *dir, GArray *entries);
int pfs_ns_account_readlink(struct pfs_ns *ns, const struct pfs_ns_node *node,
			    char **target);

/* Build @node (a build's directory) is not cached but its pipeline's
 * history names it: 0 with attributes from there (no request), else
 * -EAGAIN. */
int pfs_ns_history_attr(struct pfs_ns *ns, const struct pfs_ns_node *node,
			struct pfs_ns_attr *attr);

#endif
