/* fuzz_tree.h - what every model fuzz target (an API's body -> the
 * generic tree, model.h) checks of a tree it got: every node a reader of
 * the mount can reach, by each way it can be reached. Header-only, for
 * the targets in tests/fuzz; a broken invariant aborts (FUZZ_CHECK).
 */
#ifndef PFS_FUZZ_TREE_H
#define PFS_FUZZ_TREE_H

#include <string.h>

#include <glib.h>

#include "fuzz.h"
#include "model.h"
#include "names.h"

/* A name the tree shows is already safe: sanitizing changes nothing. */
static inline void fuzz_tree_check_name(const struct pfs_build *build,
					uint32_t node)
{
	const char *name = pfs_build_node_name(build, node);
	size_t len = strlen(name);
	char again[PFS_NAME_MAX + 1];

	FUZZ_CHECK(len >= 1 && len <= PFS_NAME_MAX);
	FUZZ_CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
	pfs_name_sanitize(again, name, len, NULL);
	FUZZ_CHECK(strcmp(again, name) == 0);
}

/* Checks the subtree at @dir, whose path from the build directory is
 * @path ("" for the build directory; restored on return). Returns the
 * nodes seen. */
static inline uint32_t fuzz_tree_walk(const struct pfs_build *build,
				      uint32_t dir, GString *path, int depth)
{
	size_t plen = path->len;
	uint32_t seen = 1, child;

	FUZZ_CHECK(depth < 64);
	for (child = build->nodes[dir].first_child; child != PFS_NODE_NONE;
	     child = build->nodes[child].next_sibling) {
		const char *name = pfs_build_node_name(build, child);
		const char *content;
		size_t len;

		FUZZ_CHECK(child < build->n_nodes);
		fuzz_tree_check_name(build, child);
		/* names are unique in a directory: the lookup finds this one */
		FUZZ_CHECK(pfs_build_child(build, dir, name) == child);
		FUZZ_CHECK(pfs_build_find(build, build->nodes[child].path_hash) == child);
		g_string_append_printf(path, "%s%s", plen ? "/" : "", name);
		FUZZ_CHECK(pfs_build_walk(build, path->str) == child);
		if (build->nodes[child].is_dir) {
			seen += fuzz_tree_walk(build, child, path, depth + 1);
		} else {
			content = pfs_build_node_content(build, child, &len);
			if (build->nodes[child].kind == PFS_NODE_BODY)
				FUZZ_CHECK(!content);
			else if (build->nodes[child].kind == PFS_NODE_LINK)
				/* failed/: a link into the build's own stages */
				FUZZ_CHECK(content && strncmp(content, "../stages/", 10) == 0 &&
					   !strstr(content, "/../"));
			else
				FUZZ_CHECK(content && (len == 0 || content[len - 1] == '\n'));
			seen++;
		}
		g_string_truncate(path, plen);
	}
	return seen;
}

/* Checks all of @build, made from the @size bytes of @data: every node
 * reachable, the body kept as received, references counted. */
static inline void fuzz_tree_check(const struct pfs_build *build,
				   const uint8_t *data, size_t size)
{
	GString *path = g_string_new(NULL);
	char *body;

	FUZZ_CHECK(build && build->n_nodes > 0 && build->nodes[PFS_NODE_ROOT].is_dir);
	FUZZ_CHECK(!build->build_id || pfs_name_is_valid_id(build->build_id));
	FUZZ_CHECK(!build->pipeline_id || pfs_name_is_valid_id(build->pipeline_id));
	FUZZ_CHECK(build->outcome);
	FUZZ_CHECK(fuzz_tree_walk(build, PFS_NODE_ROOT, path, 0) == build->n_nodes);
	g_string_free(path, TRUE);
	FUZZ_CHECK(pfs_build_size(build) > 0);
	body = pfs_build_body(build);
	FUZZ_CHECK(body && build->body_len == size && memcmp(body, data, size) == 0);
	g_free(body);
}

/* A cached build drops its tree and makes it again from its body (model.h:
 * a compact tree): the same tree, node for node. @build's times are set
 * (as the cache does first) and it is its caller's alone. */
static inline void fuzz_tree_check_compact(struct pfs_build *build)
{
	GTimeZone *utc = g_time_zone_new_utc();
	uint32_t n_nodes = build->n_nodes, i;
	uint64_t *hashes = g_new(uint64_t, n_nodes);

	pfs_build_set_times(build, utc, 1);
	for (i = 0; i < n_nodes; i++)
		hashes[i] = build->nodes[i].path_hash;
	if (pfs_build_shrink(build)) {
		FUZZ_CHECK(build->shrunk && !build->nodes);
		FUZZ_CHECK(pfs_build_expand(build) == 0);
		FUZZ_CHECK(!build->shrunk && build->n_nodes == n_nodes);
		for (i = 0; i < n_nodes; i++)
			FUZZ_CHECK(build->nodes[i].path_hash == hashes[i]);
	}
	g_free(hashes);
	g_time_zone_unref(utc);
}

#endif
