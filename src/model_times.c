/* model_times.c - see model.h: when each node of a build last changed.
 *
 * Times belong to the model because they are a build's own, like its
 * content; the cache sets them once, before the build is shared, from the
 * API's times (first seen) or from the copy it replaces (refreshed).
 */
#include "model.h"
#include "apitime.h"

#include <stdint.h>
#include <string.h>

/* The newest time at or below directory @dir, of a build first seen. */
static int64_t newest_below(const struct pfs_build *build, uint32_t dir)
{
	int64_t newest = 0;
	uint32_t child;

	for (child = build->nodes[dir].first_child; child != PFS_NODE_NONE;
	     child = build->nodes[child].next_sibling) {
		int64_t t = build->nodes[child].is_dir ? newest_below(build, child)
						       : build->times[build->nodes[child].time];

		if (t > newest)
			newest = t;
	}
	/* an empty directory: its group's */
	return newest ? newest : build->times[build->nodes[dir].time];
}

int64_t pfs_build_node_ns(const struct pfs_build *build, uint32_t node)
{
	if (build->node_ns)
		return build->node_ns[node];
	if (build->nodes[node].is_dir)
		return newest_below(build, node);
	return build->times[build->nodes[node].time];
}

uint32_t pfs_build_parent(const struct pfs_build *build, uint32_t node)
{
	uint32_t dir, child;

	/* children come after their parent: look only before @node */
	for (dir = 0; dir < node && dir < build->n_nodes; dir++)
		for (child = build->nodes[dir].first_child; child != PFS_NODE_NONE;
		     child = build->nodes[child].next_sibling)
			if (child == node)
				return dir;
	return PFS_NODE_NONE;
}

/* The API time of group @dir: its end_time, else its start_time; 0 when
 * it has neither (or they are no time). */
static int64_t group_api_ns(const struct pfs_build *build, uint32_t dir,
			    GTimeZone *tz)
{
	static const char *const keys[] = { "end_time", "start_time" };
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(keys); i++) {
		uint32_t field = pfs_build_child(build, dir, keys[i]);
		struct timespec ts;
		const char *text;
		size_t len;

		if (field == PFS_NODE_NONE || build->nodes[field].is_dir)
			continue;
		text = pfs_build_node_content(build, field, &len);
		/* epoch ns end in 2262: a later (or much earlier) time is none */
		if (text && len > 0 && pfs_apitime_parse(tz, text, len, &ts) == 0 &&
		    ts.tv_sec < INT64_MAX / 1000000000 - 1 &&
		    ts.tv_sec > INT64_MIN / 1000000000 + 1)
			return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	}
	return 0;
}

/* What each time is made of is needed only to make them: a cached build
 * does without (a kilobyte or two of each). */
static void drop_slots(struct pfs_build *build)
{
	g_free(build->time_slots);
	build->time_slots = NULL;
}

/* A refreshed build's directories: the newest time below each. */
static int64_t fill_dirs(struct pfs_build *build, uint32_t node)
{
	const struct pfs_node *n = &build->nodes[node];
	int64_t newest = 0;
	uint32_t child;

	if (!n->is_dir)
		return build->node_ns[node];
	for (child = n->first_child; child != PFS_NODE_NONE;
	     child = build->nodes[child].next_sibling) {
		int64_t t = fill_dirs(build, child);

		if (t > newest)
			newest = t;
	}
	build->node_ns[node] = newest ? newest : build->times[0];
	return build->node_ns[node];
}

void pfs_build_set_times(struct pfs_build *build, GTimeZone *tz,
			 int64_t now_ns)
{
	uint32_t i;

	/* slot 0 is the build's group: the others fall back on it */
	build->times[0] = group_api_ns(build, PFS_NODE_ROOT, tz);
	if (build->times[0] == 0)
		build->times[0] = now_ns;
	for (i = 1; i < build->n_times; i++) {
		build->times[i] = group_api_ns(build, build->time_slots[i].dir, tz);
		if (build->times[i] == 0)
			build->times[i] = build->times[0];
	}
	drop_slots(build);
}

/* Whether node @a of @x has what node @b of @y has. */
static bool same_content(const struct pfs_build *x, uint32_t a,
			 const struct pfs_build *y, uint32_t b)
{
	const struct pfs_node *na = &x->nodes[a], *nb = &y->nodes[b];

	if (na->kind != nb->kind)
		return false;
	if (na->kind == PFS_NODE_BODY)
		return x->zbody_len == y->zbody_len &&
		       memcmp(x->zbody, y->zbody, x->zbody_len) == 0;
	return na->content_len == nb->content_len &&
	       memcmp(x->strings + na->content, y->strings + nb->content,
		      na->content_len) == 0;
}

/* What is made of the whole build changes whenever anything does. */
static bool follows_build(const struct pfs_node *n)
{
	return n->kind == PFS_NODE_BODY || n->kind == PFS_NODE_SUMMARY ||
	       n->kind == PFS_NODE_EVENTS || n->kind == PFS_NODE_WAIT;
}

uint32_t pfs_build_carry_times(struct pfs_build *build,
			       const struct pfs_build *old, int64_t now_ns)
{
	uint32_t i, changed = 0;

	build->node_ns = g_new0(int64_t, build->n_nodes);
	build->times[0] = old->times[0];
	drop_slots(build);
	for (i = 0; i < build->n_nodes; i++) {
		const struct pfs_node *n = &build->nodes[i];
		uint32_t was;

		if (n->is_dir || follows_build(n))
			continue;
		was = pfs_build_find(old, n->path_hash);
		if (was != PFS_NODE_NONE && same_content(build, i, old, was)) {
			build->node_ns[i] = pfs_build_node_ns(old, was);
		} else {
			build->node_ns[i] = now_ns;
			changed++;
		}
	}
	for (i = 0; i < build->n_nodes; i++) {
		const struct pfs_node *n = &build->nodes[i];
		uint32_t was = pfs_build_find(old, n->path_hash);

		if (!follows_build(n))
			continue;
		if (changed == 0 && was != PFS_NODE_NONE)
			build->node_ns[i] = pfs_build_node_ns(old, was);
		else
			build->node_ns[i] = now_ns;
	}
	/* a directory whose entries went away changed too */
	for (i = 0; i < old->n_nodes; i++)
		if (pfs_build_find(build, old->nodes[i].path_hash) == PFS_NODE_NONE)
			changed++;
	fill_dirs(build, PFS_NODE_ROOT);
	if (changed)
		build->node_ns[PFS_NODE_ROOT] = now_ns > build->node_ns[PFS_NODE_ROOT]
						? now_ns : build->node_ns[PFS_NODE_ROOT];
	return changed;
}
