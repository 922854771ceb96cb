/* namespace_attr.c - see namespace.h: the attributes of a build's nodes:
 * sizes (the made files' and the step logs' too), times, how long the
 * kernel may keep them. */
#include "namespace_internal.h"
#include "summary.h"

#include <string.h>
#include <sys/stat.h>

/* What a `wait` of an unfinished build claims to hold: the kernel reads a
 * file only up to its size, and the answer is shorter (it then learns the
 * true size from the short read). */
#define WAIT_SIZE 4096

double pfs_ns_kernel_timeout(double fresh_for)
{
	return fresh_for > PFS_NS_IMMUTABLE_TIMEOUT ? PFS_NS_IMMUTABLE_TIMEOUT : fresh_for;
}

/* What st_nlink adds to 2 for directory @node: its subdirectories (find(1)
 * and Perl's File::Find stop looking for them once they have seen as many). */
static nlink_t build_subdirs(const struct pfs_build *build, uint32_t node)
{
	nlink_t subdirs = 0;
	uint32_t child;

	for (child = build->nodes[node].first_child; child != PFS_NODE_NONE;
	     child = build->nodes[child].next_sibling)
		subdirs += build->nodes[child].is_dir;
	return subdirs;
}

mode_t pfs_ns_node_type(const struct pfs_node *n)
{
	return n->is_dir ? S_IFDIR : n->kind == PFS_NODE_LINK ? S_IFLNK : S_IFREG;
}

/* The size of a file the daemon makes of build @build (slot @slot). */
static size_t made_size(struct pfs_ns *ns, uint32_t slot,
			const struct pfs_build *build, const struct pfs_node *n,
			int64_t *changed_ns)
{
	const char *pipeline_id, *build_id;
	size_t len = 0, total = 0;
	char *text;

	if (n->kind == PFS_NODE_SUMMARY) {
		if (pfs_cache_build_of_slot(ns->cache, slot, &pipeline_id,
					    &build_id) == 0) {
			g_free(pfs_summary_build(build, build_id, &len));
		}
		return len;
	}
	if (n->kind == PFS_NODE_WAIT)
		return build->completed ? strlen(build->outcome[0] ? build->outcome
							  : "unknown") + 1
					: WAIT_SIZE;
	/* events */
	if (pfs_cache_build_of_slot(ns->cache, slot, &pipeline_id, &build_id) == 0 &&
	    pfs_cache_read_events(ns->cache, pipeline_id, build_id, 0, 0, &text,
				  &len, &total, changed_ns) == 0)
		return total;
	return 0;
}

/* The size of log node @node of build @build (slot @slot): fetched
 * with @reader, as known without. */
static int log_size(struct pfs_ns *ns, struct pfs_reader *reader,
		    uint32_t slot, const struct pfs_build *build, uint32_t node,
		    size_t *total, bool *finished)
{
	const char *pipeline_id, *build_id;
	size_t len;
	char *data;
	int res = pfs_cache_build_of_slot(ns->cache, slot, &pipeline_id, &build_id);

	*total = 0;
	*finished = false;
	if (res == 0)
		res = pfs_cache_read_log(ns->cache, reader, pipeline_id, build_id,
					 build, node, 0, 0, &data, &len, total,
					 finished);
	return res;
}

/* Node @node of build @build (slot @slot), fresh for @fresh_for seconds;
 * a log's size is fetched with @reader (a lookup, a stat), not without
 * (a listing). */
int pfs_ns_build_node_attr(struct pfs_ns *ns, struct pfs_reader *reader,
			    uint32_t slot, const struct pfs_build *build,
			    uint32_t node, double fresh_for,
			    struct pfs_ns_attr *attr)
{
	const struct pfs_node *n = &build->nodes[node];
	int64_t changed_ns = 0;
	double timeout = pfs_ns_kernel_timeout(fresh_for);
	bool finished;
	size_t len;
	int res;

	switch (n->kind) {
	case PFS_NODE_BODY:
		len = build->body_len;
		break;
	case PFS_NODE_SUMMARY:
	case PFS_NODE_EVENTS:
	case PFS_NODE_WAIT:
		len = made_size(ns, slot, build, n, &changed_ns);
		/* an unfinished build's grows or answers: always ask */
		if (!build->completed && n->kind != PFS_NODE_SUMMARY)
			timeout = 0;
		break;
	case PFS_NODE_LOG:
		res = log_size(ns, reader, slot, build, node, &len, &finished);
		/* a listing does not fetch it: what it says is a guess */
		if (res < 0 && reader)
			return res;
		/* a running step's grows: stat must ask (tail -f polls it) */
		if (!reader || !finished)
			timeout = 0;
		break;
	default:
		len = n->content_len;
	}
	pfs_ns_fill_attr(ns, attr, pfs_ns_node_type(n), n->is_dir ? 0 : (off_t)len,
		  pfs_ns_time(MAX(pfs_build_node_ns(build, node), changed_ns)),
		  timeout);
	if (n->is_dir)
		attr->st.st_nlink += build_subdirs(build, node);
	return 0;
}
