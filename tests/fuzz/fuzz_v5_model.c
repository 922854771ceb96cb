/* Fuzz target: a v5 run detail body -> tree of files (pfs_v5_model_parse,
 * v5.h), read in two zones, then everything a reader of the mount can
 * reach in it and what the v3 vocabulary promises of its fields. */
#include "fuzz.h"
#include "fuzz_tree.h"
#include "apitime.h"
#include "model.h"
#include "v5.h"

#include <errno.h>
#include <string.h>

static GTimeZone *zones[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[128];

	(void)argc;
	(void)argv;
	FUZZ_CHECK(pfs_apitime_zone_new(PFS_APITIME_DEFAULT_ZONE, &zones[0], err,
					sizeof(err)) == 0);
	FUZZ_CHECK(pfs_apitime_zone_new("-05:30", &zones[1], err, sizeof(err)) == 0);
	return 0;
}

static bool content_is(const char *content, size_t len, const char *expected)
{
	return len == strlen(expected) && memcmp(content, expected, len) == 0;
}

/* A time file is empty or v3's text; elapsed_time empty or digits. */
static void check_field(const char *name, const char *content, size_t len)
{
	size_t i;

	if (len == 0)
		return;
	if (strcmp(name, "start_time") == 0 || strcmp(name, "end_time") == 0)
		FUZZ_CHECK(pfs_apitime_has_layout(content, len - 1));
	if (strcmp(name, "elapsed_time") == 0)
		for (i = 0; i + 1 < len; i++)
			FUZZ_CHECK(g_ascii_isdigit(content[i]));
	if (strcmp(name, "outcome") == 0)
		FUZZ_CHECK(content_is(content, len, "success\n") ||
			   content_is(content, len, "error\n") ||
			   content_is(content, len, "aborted\n") ||
			   content_is(content, len, "skipped\n") ||
			   content_is(content, len, "ignored\n"));
	if (strcmp(name, "status") == 0)
		for (i = 0; i < len; i++)
			FUZZ_CHECK(!g_ascii_isupper(content[i]));
}

/* The v3 promises of every field file below @dir. */
static void check_fields(const struct pfs_build *build, uint32_t dir)
{
	uint32_t child;

	for (child = build->nodes[dir].first_child; child != PFS_NODE_NONE;
	     child = build->nodes[child].next_sibling) {
		const char *content;
		size_t len;

		if (build->nodes[child].is_dir) {
			/* parameters are named by the body: any name, any value */
			if (dir != PFS_NODE_ROOT ||
			    strcmp(pfs_build_node_name(build, child), "parameters") != 0)
				check_fields(build, child);
		} else if (build->nodes[child].kind == PFS_NODE_FILE) {
			content = pfs_build_node_content(build, child, &len);
			check_field(pfs_build_node_name(build, child), content, len);
		}
	}
}

/* Two zones change the content of time files only: the same nodes. */
static void check_same_shape(const struct pfs_build *a, const struct pfs_build *b)
{
	uint32_t i;

	FUZZ_CHECK(a->n_nodes == b->n_nodes);
	for (i = 0; i < a->n_nodes; i++) {
		FUZZ_CHECK(a->nodes[i].path_hash == b->nodes[i].path_hash);
		FUZZ_CHECK(a->nodes[i].kind == b->nodes[i].kind);
	}
	FUZZ_CHECK(a->completed == b->completed && strcmp(a->outcome, b->outcome) == 0);
	FUZZ_CHECK(g_strcmp0(a->build_id, b->build_id) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pfs_build *builds[2] = { NULL, NULL };
	char err[256];
	int res[2];
	size_t i;
	const char *status;
	size_t len;

	for (i = 0; i < 2; i++) {
		res[i] = pfs_v5_model_parse((const char *)data, size, zones[i],
					    &builds[i], err, sizeof(err));
		FUZZ_CHECK(res[i] == 0 || res[i] == -EPROTO || res[i] == -ENOMEM);
		FUZZ_CHECK(res[i] == 0 || (!builds[i] && memchr(err, '\0', sizeof(err))));
	}
	FUZZ_CHECK(res[0] == res[1]);
	if (res[0] != 0)
		return 0;
	fuzz_tree_check(builds[0], data, size);
	check_fields(builds[0], PFS_NODE_ROOT);
	check_same_shape(builds[0], builds[1]);
	/* completed exactly when the status file says so */
	status = pfs_build_node_content(builds[0],
					pfs_build_child(builds[0], PFS_NODE_ROOT, "status"),
					&len);
	FUZZ_CHECK(builds[0]->completed == content_is(status, len, "completed\n"));
	pfs_build_set_times(builds[1], zones[1], 1);
	for (i = 0; i < builds[1]->n_nodes; i++)
		FUZZ_CHECK(pfs_build_node_ns(builds[1], (uint32_t)i) >= 1);
	/* dropped and made again from the body (and its zone): the same tree */
	fuzz_tree_check_compact(builds[0]);
	fuzz_tree_check(builds[0], data, size);
	pfs_build_unref(pfs_build_ref(builds[0]));
	pfs_build_unref(builds[0]);
	pfs_build_unref(builds[1]);
	return 0;
}
