/* model_pack.c - see model.h: a build's tree dropped while it is not in
 * use, and made again from the body when it is.
 *
 * A cached build's tree (a node of 32 bytes per file, an index, its
 * strings) is several times its deflated body; the body is what the tree
 * was made of, and the backend's parser makes the same tree from the
 * same body (same names, same path hashes, same order). What the body
 * cannot give back is kept: the change times (times[], node_ns deflated).
 */
#include "model.h"

#include <errno.h>
#include <glib.h>
#include <string.h>
#include <zlib.h>

static void drop_tree(struct pfs_build *build)
{
	g_free(build->nodes);
	g_free(build->by_hash);
	g_free(build->strings);
	g_free(build->node_ns);
	build->nodes = NULL;
	build->by_hash = NULL;
	build->strings = NULL;
	build->node_ns = NULL;
	build->strings_len = 0;
}

bool pfs_build_shrink(struct pfs_build *build)
{
	uLongf zlen;

	/* slots are only there until the cache sets the times */
	if (build->shrunk || !build->source.parse || build->time_slots)
		return false;
	if (build->node_ns) {
		uLong len = (uLong)(build->n_nodes * sizeof(int64_t));

		zlen = compressBound(len);
		build->znode_ns = g_malloc(zlen);
		if (compress2(build->znode_ns, &zlen, (const Bytef *)build->node_ns,
			      len, Z_BEST_SPEED) != Z_OK) {
			g_free(build->znode_ns);
			build->znode_ns = NULL;
			return false;
		}
		build->znode_ns = g_realloc(build->znode_ns, zlen);
		build->znode_ns_len = zlen;
	}
	drop_tree(build);
	build->shrunk = true;
	return true;
}

static int restore_node_ns(struct pfs_build *build)
{
	uLongf len = (uLongf)(build->n_nodes * sizeof(int64_t));

	if (!build->znode_ns)
		return 0;
	build->node_ns = g_new(int64_t, build->n_nodes);
	if (uncompress((Bytef *)build->node_ns, &len, build->znode_ns,
		       (uLong)build->znode_ns_len) != Z_OK ||
	    len != build->n_nodes * sizeof(int64_t))
		return -EPROTO;
	g_free(build->znode_ns);
	build->znode_ns = NULL;
	build->znode_ns_len = 0;
	return 0;
}

int pfs_build_expand(struct pfs_build *build)
{
	struct pfs_build *again = NULL;
	char err[128];
	char *body;
	int res;

	if (!build->shrunk)
		return 0;
	body = pfs_build_body(build);
	if (!body)
		return -ENOMEM;
	res = build->source.parse(body, build->body_len, build->source.arg,
				   &again, err, sizeof(err));
	g_free(body);
	if (res < 0)
		return res;
	if (again->n_nodes != build->n_nodes) {
		pfs_build_unref(again);
		return -EPROTO;
	}
	build->nodes = again->nodes;
	build->by_hash = again->by_hash;
	build->strings = again->strings;
	build->strings_len = again->strings_len;
	again->nodes = NULL;
	again->by_hash = NULL;
	again->strings = NULL;
	pfs_build_unref(again);
	res = restore_node_ns(build);
	if (res < 0) {
		drop_tree(build);
		return res;
	}
	build->shrunk = false;
	return 0;
}
