/* namespace_files.c - see namespace.h: opening and reading files, the
 * made ones (summary, events, the views) and `wait` included. */
#include "namespace_internal.h"
#include "monitor.h"
#include "summary.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

/* The part at @off of a file the daemon makes of build @build (slot
 * @slot): its summary, its events or a step's log (fetched with @reader). */
static int made_content(struct pfs_ns *ns, struct pfs_reader *reader,
			uint32_t slot,
			const struct pfs_build *build, uint32_t index,
			uint64_t off, size_t size, char **data, size_t *len)
{
	const char *pipeline_id, *build_id;
	int64_t changed_ns;
	size_t total;
	char *text;
	int res = pfs_cache_build_of_slot(ns->cache, slot, &pipeline_id, &build_id);

	*data = NULL;
	*len = 0;
	if (res < 0)
		return res;
	if (build->nodes[index].kind == PFS_NODE_EVENTS)
		return pfs_cache_read_events(ns->cache, pipeline_id, build_id, off,
					     size, data, len, &total, &changed_ns);
	if (build->nodes[index].kind == PFS_NODE_LOG)
		return pfs_cache_read_log(ns->cache, reader, pipeline_id, build_id,
					  build, index, off, size, data, len,
					  &total, NULL);
	text = pfs_summary_build(build, build_id, &total);
	if (off < total) {
		*len = MIN(size, total - (size_t)off);
		*data = g_memdup2(text + off, *len);
	}
	g_free(text);
	return 0;
}

/* A file that grows while its build runs: read through on every read. */
static bool is_growing(const struct pfs_node *n)
{
	return n->kind == PFS_NODE_EVENTS || n->kind == PFS_NODE_LOG;
}

/* Reads @node if it is a build's events or a step's log (true, the
 * result in *@res): only the part asked for is copied, however long. */
static bool read_growing(struct pfs_ns *ns, struct pfs_reader *reader,
			const struct pfs_ns_node *node, off_t off, size_t size,
			char **data, size_t *len, int *res)
{
	struct pfs_build *build;
	uint32_t index;
	double fresh_for;

	*res = pfs_ns_resolve_build_node(ns, reader, node, &build, &index, &fresh_for);
	if (*res < 0)
		return true;
	if (!is_growing(&build->nodes[index])) {
		pfs_build_unref(build);
		return false;
	}
	*res = made_content(ns, reader, node->build, build, index, (uint64_t)off, size,
			    data, len);
	pfs_build_unref(build);
	return true;
}

int pfs_ns_open(struct pfs_ns *ns, struct pfs_reader *reader,
		const struct pfs_ns_node *node, struct pfs_ns_file **out)
{
	struct pfs_build *build;
	struct pfs_ns_file *file;
	uint32_t index;
	double fresh_for;
	int res;

	*out = NULL;
	if (node->kind == PFS_NS_PIPELINE_FILE || node->kind == PFS_NS_STATE_FILE ||
	    node->kind == PFS_NS_WAIT)
		return 0;	/* live */
	if (node->kind != PFS_NS_BUILD)
		return -EISDIR;
	res = pfs_ns_resolve_build_node(ns, reader, node, &build, &index, &fresh_for);
	if (res < 0)
		return res;
	if (build->nodes[index].is_dir || is_growing(&build->nodes[index])) {
		res = build->nodes[index].is_dir ? -EISDIR : 0;	/* live */
		pfs_build_unref(build);
		return res;
	}
	file = g_new0(struct pfs_ns_file, 1);
	file->build = build;
	file->volatile_content = !build->completed;
	switch (build->nodes[index].kind) {
	case PFS_NODE_BODY:
		file->body = pfs_build_body(build);
		file->content = file->body;
		file->len = file->body ? build->body_len : 0;
		if (!file->body)
			res = -ENOMEM;
		break;
	case PFS_NODE_SUMMARY:
	case PFS_NODE_EVENTS:
		res = made_content(ns, reader, node->build, build, index, 0, SIZE_MAX,
				   &file->body, &file->len);
		file->content = file->body;
		break;
	default:
		file->content = pfs_build_node_content(build, index, &file->len);
	}
	if (res < 0) {
		pfs_ns_file_free(file);
		return res;
	}
	*out = file;
	return 0;
}

int pfs_ns_read(struct pfs_ns *ns, struct pfs_reader *reader,
		const struct pfs_ns_node *node, off_t off, size_t size,
		char **data, size_t *len)
{
	struct pfs_ns_file *file;
	const char *pipeline_id;
	int res;

	*data = NULL;
	*len = 0;
	if (off < 0)
		return -EINVAL;
	if (node->kind == PFS_NS_PIPELINE_FILE || node->kind == PFS_NS_STATE_FILE) {
		res = pfs_ns_view_pipeline(ns, node, &pipeline_id);
		if (res == 0)
			pfs_views_read(ns->views, node->view, pipeline_id,
				       (uint64_t)off, size, data, len);
		return res;
	}
	if (node->kind == PFS_NS_BUILD && read_growing(ns, reader, node, off, size,
						       data, len, &res))
		return res;
	res = pfs_ns_open(ns, reader, node, &file);
	if (res < 0 || !file)
		return res;
	if (off >= 0 && (size_t)off < file->len) {
		*len = file->len - (size_t)off < size ? file->len - (size_t)off : size;
		*data = g_memdup2(file->content + off, *len);
	}
	pfs_ns_file_free(file);
	return 0;
}

void pfs_ns_file_free(struct pfs_ns_file *file)
{
	if (!file)
		return;
	pfs_build_unref(file->build);
	g_free(file->body);
	g_free(file);
}

int pfs_ns_wait_answer(struct pfs_ns *ns, struct pfs_reader *reader,
		       const struct pfs_ns_node *node, char **answer,
		       size_t *len)
{
	const char *pipeline_id, *build_id;
	struct pfs_build *build;
	double fresh_for;
	int res = pfs_cache_build_of_slot(ns->cache, node->build, &pipeline_id,
					  &build_id);

	*answer = NULL;
	*len = 0;
	if (res < 0)
		return res;
	res = pfs_cache_get_build(ns->cache, reader, pipeline_id, build_id,
				  &build, &fresh_for);
	if (res == -ENOENT || res == -EINTR)
		return res;
	if (res < 0)
		return -EAGAIN;
	if (build->completed)
		*answer = pfs_monitor_answer(build, len);
	else
		res = -EAGAIN;
	pfs_build_unref(build);
	return res;
}
