/* tree_check.h - what unit tests of a backend's model (an API's body ->
 * the generic tree, model.h) check a tree with: a file's content and a
 * directory's entries by path. Header-only, for test programs; a missing
 * path fails the test.
 */
#ifndef PFS_TREE_CHECK_H
#define PFS_TREE_CHECK_H

#include <glib.h>

#include "model.h"

/* The node at @path ("" for the build directory); fails if none. */
static inline uint32_t tree_check_node(const struct pfs_build *build,
				       const char *path)
{
	uint32_t node = pfs_build_walk(build, path);

	if (node == PFS_NODE_NONE)
		g_error("no node at %s", path);
	return node;
}

/* The content of the file at @path as a new C string (g_free). */
static inline char *tree_check_content(const struct pfs_build *build,
				       const char *path)
{
	uint32_t node = tree_check_node(build, path);
	const char *content;
	size_t len;

	g_assert_false(build->nodes[node].is_dir);
	content = pfs_build_node_content(build, node, &len);
	return g_strndup(content, len);
}

/* The names in directory @path, in tree order, joined by '|'. */
static inline char *tree_check_children(const struct pfs_build *build,
					const char *path)
{
	uint32_t dir = tree_check_node(build, path);
	GString *names = g_string_new(NULL);
	uint32_t child;

	g_assert_true(build->nodes[dir].is_dir);
	for (child = build->nodes[dir].first_child; child != PFS_NODE_NONE;
	     child = build->nodes[child].next_sibling)
		g_string_append_printf(names, "%s%s", names->len ? "|" : "",
				       pfs_build_node_name(build, child));
	return g_string_free(names, FALSE);
}

#define assert_content(build, path, expected) do { \
	char *got_ = tree_check_content(build, path); \
	g_assert_cmpstr(got_, ==, expected); \
	g_free(got_); \
} while (0)

#define assert_children(build, path, expected) do { \
	char *got_ = tree_check_children(build, path); \
	g_assert_cmpstr(got_, ==, expected); \
	g_free(got_); \
} while (0)

#endif
