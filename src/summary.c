/* summary.c - see summary.h */
#include "summary.h"
#include "apitime.h"
#include "names.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* "2026-11-27 16:40:51": the width of a time column */
#define TIME_WIDTH 19
/* "../stages/" NAME "/tasks/" NAME */

/* A field's value: its bytes without the file's trailing newline. */
struct value {
	const char *text;
	size_t len;
};

static struct value field(const struct pfs_build *build, uint32_t dir,
			  const char *name)
{
	uint32_t node = dir == PFS_NODE_NONE ? PFS_NODE_NONE :
			pfs_build_child(build, dir, name);
	struct value v = { "", 0 };
	const char *text;

	if (node == PFS_NODE_NONE || build->nodes[node].is_dir)
		return v;
	text = pfs_build_node_content(build, node, &v.len);
	if (!text) {
		v.len = 0;
		return v;
	}
	v.text = text;
	if (v.len > 0 && text[v.len - 1] == '\n')
		v.len--;
	return v;
}

static bool value_is(struct value v, const char *word)
{
	return v.len == strlen(word) && memcmp(v.text, word, v.len) == 0;
}

/* The next child directory of a node after @node, or PFS_NODE_NONE. */
static uint32_t next_dir(const struct pfs_build *build, uint32_t node)
{
	while (node != PFS_NODE_NONE && !build->nodes[node].is_dir)
		node = build->nodes[node].next_sibling;
	return node;
}

static uint32_t first_dir_in(const struct pfs_build *build, uint32_t parent,
			     const char *name)
{
	uint32_t dir = pfs_build_child(build, parent, name);

	return dir == PFS_NODE_NONE ? PFS_NODE_NONE :
	       next_dir(build, build->nodes[dir].first_child);
}

#define for_each_dir_in(build, parent, name, node) \
	for (node = first_dir_in(build, parent, name); node != PFS_NODE_NONE; \
	     node = next_dir(build, build->nodes[node].next_sibling))

static const char *mark_of(struct value status, struct value outcome,
			   bool failed)
{
	if (failed || value_is(outcome, "error"))
		return "✗";
	if (value_is(outcome, "success"))
		return "✓";
	if (value_is(outcome, "aborted"))
		return "–";
	if (value_is(status, "running"))
		return "●";
	if (value_is(status, "waiting"))
		return "○";
	return "·";
}

static struct value from_string(const char *text)
{
	struct value v = { text ? text : "", text ? strlen(text) : 0 };

	if (v.len > 0 && v.text[v.len - 1] == '\n')
		v.len--;
	return v;
}

const char *pfs_summary_mark(const char *status, const char *outcome,
			     bool failed)
{
	return mark_of(from_string(status), from_string(outcome), failed);
}

bool pfs_summary_node_failed(const struct pfs_build *build, uint32_t dir)
{
	return value_is(field(build, dir, "outcome"), "error") ||
	       field(build, dir, "error_code").len > 0 ||
	       field(build, dir, "error_msg").len > 0;
}

static const char *build_mark(const struct pfs_build *build)
{
	return mark_of(field(build, PFS_NODE_ROOT, "status"),
		       field(build, PFS_NODE_ROOT, "outcome"), false);
}

/* ---- failed/ ---- */

/* Where a failed stage or task is: its entry's name (the names from the
 * stage down, joined by ':') and its directory below the build. */
struct failure_walk {
	const struct pfs_build *build;
	GHashTable *taken;	/* entries so far, as pfs_name_claim() keeps them */
	pfs_summary_failure_fn fn;
	void *ctx;
};

static int report_failure(struct failure_walk *walk, const char *joined,
			  const char *dir, uint32_t node)
{
	char entry[PFS_NAME_MAX + 1];
	char *target = g_strconcat("../", dir, NULL);
	int res;

	/* cuts an over-long entry at a character; safe names pass unchanged */
	pfs_name_sanitize(entry, joined, strlen(joined), "_");
	pfs_name_claim(entry, walk->taken);
	res = walk->fn(entry, target, node, walk->ctx);
	g_free(target);
	return res;
}

/* The stage or task @node, named @joined, at @dir; then its tasks, and
 * theirs (a task may have tasks of its own). */
static int walk_failures(struct failure_walk *walk, uint32_t node,
			 const char *joined, const char *dir)
{
	uint32_t task;
	int res = 0;

	if (pfs_summary_node_failed(walk->build, node))
		res = report_failure(walk, joined, dir, node);
	for_each_dir_in(walk->build, node, "tasks", task) {
		const char *name = pfs_build_node_name(walk->build, task);
		char *task_joined = g_strconcat(joined, ":", name, NULL);
		char *task_dir = g_strconcat(dir, "/tasks/", name, NULL);

		if (res == 0)
			res = walk_failures(walk, task, task_joined, task_dir);
		g_free(task_joined);
		g_free(task_dir);
	}
	return res;
}

int pfs_summary_failures(const struct pfs_build *build,
			 pfs_summary_failure_fn fn, void *ctx)
{
	struct failure_walk walk = {
		.build = build, .fn = fn, .ctx = ctx,
		.taken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
	};
	uint32_t stage;
	int res = 0;

	for_each_dir_in(build, PFS_NODE_ROOT, "stages", stage) {
		const char *name = pfs_build_node_name(build, stage);
		char *dir = g_strconcat("stages/", name, NULL);

		if (res == 0)
			res = walk_failures(&walk, stage, name, dir);
		g_free(dir);
	}
	g_hash_table_destroy(walk.taken);
	return res;
}

/* ---- text ---- */

/* C0, DEL, C1, line and paragraph separators, and the bidirectional
 * embeddings, overrides and isolates that reorder what a terminal shows */
static bool is_control(gunichar c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

static unsigned cells_of(gunichar c)
{
	if (g_unichar_iszerowidth(c))
		return 0;
	return g_unichar_iswide(c) ? 2 : 1;
}

/* Appends @v up to its first line break, made printable UTF-8 (see
 * summary.h); spaces become '_' if @one_word. Returns the terminal cells
 * it takes. */
static size_t append_clean(GString *out, struct value v, bool one_word)
{
	const char *p = v.text, *end = v.text + v.len;
	size_t cells = 0;

	while (p < end && *p != '\n' && *p != '\r') {
		gunichar c = g_utf8_get_char_validated(p, end - p);

		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append_c(out, '?');
			p++;
			cells++;
			continue;
		}
		if (is_control(c))
			g_string_append_c(out, '?');
		else if (c == ' ' && one_word)
			g_string_append_c(out, '_');
		else
			g_string_append_len(out, p, g_utf8_next_char(p) - p);
		cells += is_control(c) ? 1 : cells_of(c);
		p = g_utf8_next_char(p);
	}
	return cells;
}

static void pad(GString *out, size_t cells, size_t width)
{
	for (; cells < width; cells++)
		g_string_append_c(out, ' ');
}

/* append_clean(), or "-" if that shows nothing. */
static size_t append_or_dash(GString *out, struct value v, bool one_word)
{
	size_t before = out->len;
	size_t cells = append_clean(out, v, one_word);

	if (out->len > before)
		return cells;
	g_string_append_c(out, '-');
	return 1;
}

/* @v as one word, left-aligned in @width cells. */
static void append_column(GString *out, struct value v, size_t width)
{
	pad(out, append_or_dash(out, v, true), width);
}

/* A value shown as sent (a time, a name). */
static size_t append_text(GString *out, struct value v)
{
	return append_or_dash(out, v, false);
}

/* elapsed_time (milliseconds) as 9s, 3m12s, 1h05m; false if it is not a
 * plain number of milliseconds. */
static bool format_elapsed(struct value v, char *buf, size_t size)
{
	uint64_t seconds = 0;
	size_t i;

	if (v.len == 0 || v.len > 18)
		return false;
	for (i = 0; i < v.len; i++) {
		if (!g_ascii_isdigit(v.text[i]))
			return false;
		seconds = seconds * 10 + (uint64_t)(v.text[i] - '0');
	}
	seconds /= 1000;
	if (seconds < 60)
		snprintf(buf, size, "%" PRIu64 "s", seconds);
	else if (seconds < 3600)
		snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", seconds / 60,
			 seconds % 60);
	else
		snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", seconds / 3600,
			 seconds / 60 % 60);
	return true;
}

/* The elapsed time of @dir, right-aligned in @width cells (0: as is). */
static void append_elapsed(GString *out, const struct pfs_build *build,
			   uint32_t dir, size_t width)
{
	struct value v = field(build, dir, "elapsed_time");
	char buf[32];
	GString *text = g_string_new(NULL);
	size_t cells;

	if (format_elapsed(v, buf, sizeof(buf))) {
		g_string_append(text, buf);
		cells = strlen(buf);
	} else {
		cells = append_or_dash(text, v, true);
	}
	pad(out, cells, width);
	g_string_append_len(out, text->str, (gssize)text->len);
	g_string_free(text, TRUE);
}

/* A failure's text in a summary: a line of a screen or two, not a
 * megabyte (the whole message is in error_msg). */
#define ERROR_TEXT_MAX 300

/* The first non-empty line of @v, at most ERROR_TEXT_MAX bytes of it (cut
 * on a character). */
static struct value first_line(struct value v)
{
	while (v.len > 0 && (*v.text == '\n' || *v.text == '\r')) {
		v.text++;
		v.len--;
	}
	if (v.len > ERROR_TEXT_MAX) {
		v.len = ERROR_TEXT_MAX;
		while (v.len > 0 && (v.text[v.len] & 0xc0) == 0x80)
			v.len--;
	}
	return v;
}

static void append_state_line(GString *out, const struct pfs_build *build,
			      uint32_t dir, int depth)
{
	struct value status = field(build, dir, "status");
	struct value outcome = field(build, dir, "outcome");
	struct value error = first_line(field(build, dir, "error_msg"));
	bool failed = pfs_summary_node_failed(build, dir);
	struct value name = from_string(pfs_build_node_name(build, dir));
	int i;

	for (i = 0; i < depth; i++)
		g_string_append(out, "  ");
	g_string_append_printf(out, "%s ", mark_of(status, outcome, failed));
	append_column(out, status, PFS_SUMMARY_STATUS_WIDTH);
	g_string_append_c(out, ' ');
	append_column(out, outcome, PFS_SUMMARY_OUTCOME_WIDTH);
	g_string_append_c(out, ' ');
	append_elapsed(out, build, dir, PFS_SUMMARY_ELAPSED_WIDTH);
	g_string_append_c(out, ' ');
	append_clean(out, name, false);
	if (error.len == 0)
		error = field(build, dir, "error_code");
	if (failed && error.len > 0) {
		g_string_append(out, "  — ");
		append_clean(out, error, false);
	}
	g_string_append_c(out, '\n');
}

/* A stage or task, then its tasks one level deeper. */
static void append_state(GString *out, const struct pfs_build *build,
			 uint32_t dir, int depth)
{
	uint32_t task;

	append_state_line(out, build, dir, depth);
	for_each_dir_in(build, dir, "tasks", task)
		append_state(out, build, task, depth + 1);
}

static struct value id_value(const struct pfs_build *build, const char *id)
{
	if (id && *id)
		return from_string(id);
	return build ? field(build, PFS_NODE_ROOT, "build_id") : from_string(NULL);
}

static void append_header(GString *out, const struct pfs_build *build,
			  const char *build_id)
{
	append_text(out, field(build, PFS_NODE_ROOT, "pipeline_name"));
	g_string_append(out, " #");
	append_text(out, id_value(build, build_id));
	g_string_append(out, "  ");
	append_text(out, field(build, PFS_NODE_ROOT, "status"));
	g_string_append_c(out, ' ');
	append_text(out, field(build, PFS_NODE_ROOT, "outcome"));
	g_string_append(out, "  ");
	append_text(out, field(build, PFS_NODE_ROOT, "start_time"));
	g_string_append(out, " → ");
	append_text(out, field(build, PFS_NODE_ROOT, "end_time"));
	g_string_append(out, "  ");
	append_elapsed(out, build, PFS_NODE_ROOT, 0);
	g_string_append_c(out, '\n');
}

char *pfs_summary_build(const struct pfs_build *build, const char *build_id,
			size_t *len)
{
	GString *out = g_string_new(NULL);
	uint32_t stage;

	append_header(out, build, build_id);
	for_each_dir_in(build, PFS_NODE_ROOT, "stages", stage)
		append_state(out, build, stage, 0);
	if (!value_is(field(build, PFS_NODE_ROOT, "status"), "completed"))
		g_string_append(out, PFS_SUMMARY_WAIT_HINT);
	*len = out->len;
	return g_string_free(out, FALSE);
}

/* ---- pipeline and root lines ---- */

/* A field of @build's own directory; empty without a build. */
static struct value build_field(const struct pfs_build *build,
				const char *name)
{
	return build ? field(build, PFS_NODE_ROOT, name) : from_string(NULL);
}

/* mark, status and outcome columns of @build ("·", "-", "-" without) */
static void append_state_columns(GString *out, const struct pfs_build *build)
{
	g_string_append_printf(out, "%s ", build ? build_mark(build) : "·");
	append_column(out, build_field(build, "status"),
		      PFS_SUMMARY_STATUS_WIDTH);
	g_string_append_c(out, ' ');
	append_column(out, build_field(build, "outcome"),
		      PFS_SUMMARY_OUTCOME_WIDTH);
	g_string_append_c(out, ' ');
}

/* The pipeline's name: the list's, else the build's. */
static struct value name_value(const struct pfs_build *build, const char *name)
{
	return name ? from_string(name) : build_field(build, "pipeline_name");
}

/* The line of a build known only from its history. */
static void append_brief_columns(GString *out, const struct pfs_summary_brief *brief)
{
	struct value elapsed = from_string(brief->elapsed_time);
	char buf[32];

	g_string_append_printf(out, "%s ", pfs_summary_mark(brief->status,
							    brief->outcome, false));
	append_column(out, from_string(brief->status), PFS_SUMMARY_STATUS_WIDTH);
	g_string_append_c(out, ' ');
	append_column(out, from_string(brief->outcome), PFS_SUMMARY_OUTCOME_WIDTH);
	g_string_append_c(out, ' ');
	pad(out, append_text(out, from_string(brief->start_time)), TIME_WIDTH);
	g_string_append_c(out, ' ');
	if (!format_elapsed(elapsed, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "-");
	pad(out, strlen(buf), PFS_SUMMARY_ELAPSED_WIDTH);
	g_string_append(out, buf);
}

void pfs_summary_pipeline_line(GString *out, const char *build_id,
			       const struct pfs_build *build,
			       const struct pfs_summary_brief *brief,
			       const char *name)
{
	append_column(out, id_value(build, build_id),
		      PFS_SUMMARY_BUILD_ID_WIDTH);
	g_string_append_c(out, ' ');
	if (!build && brief) {
		append_brief_columns(out, brief);
	} else {
		append_state_columns(out, build);
		pad(out, append_text(out, build_field(build, "start_time")), TIME_WIDTH);
		g_string_append_c(out, ' ');
	}
	if (build) {
		append_elapsed(out, build, PFS_NODE_ROOT,
			       PFS_SUMMARY_ELAPSED_WIDTH);
	} else if (!brief) {
		pad(out, 1, PFS_SUMMARY_ELAPSED_WIDTH);
		g_string_append_c(out, '-');
	}
	g_string_append_c(out, ' ');
	append_column(out, name_value(build, name), 0);
	g_string_append_c(out, '\n');
}

void pfs_summary_root_line(GString *out, const char *pipeline_id,
			   const char *name, const char *latest_build_id,
			   const struct pfs_build *build)
{
	struct value when = build_field(build, "end_time");

	append_column(out, from_string(pipeline_id), 0);
	g_string_append_c(out, ' ');
	append_column(out, name_value(build, name), PFS_SUMMARY_NAME_WIDTH);
	g_string_append_c(out, ' ');
	append_column(out, from_string(latest_build_id),
		      PFS_SUMMARY_BUILD_ID_WIDTH);
	g_string_append_c(out, ' ');
	append_state_columns(out, build);
	if (when.len == 0)
		when = build_field(build, "start_time");
	append_text(out, when);
	g_string_append_c(out, '\n');
}

/* ---- order ---- */

static bool is_number(const char *id)
{
	if (!id || !*id)
		return false;
	for (; *id; id++)
		if (!g_ascii_isdigit(*id))
			return false;
	return true;
}

/* Numbers as text, any length: leading zeros do not count. */
static int compare_numbers(const char *a, const char *b)
{
	size_t la, lb;

	while (*a == '0' && a[1])
		a++;
	while (*b == '0' && b[1])
		b++;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

/* The build's start_time if it is an API time: then text order is time
 * order (one zone for all). Empty otherwise. */
static struct value sortable_start(const struct pfs_build *build)
{
	struct value v = build_field(build, "start_time");

	return pfs_apitime_has_layout(v.text, v.len) ? v : from_string(NULL);
}

int pfs_summary_compare_builds(const char *id_a, const struct pfs_build *a,
			       const char *id_b, const struct pfs_build *b)
{
	struct value sa, sb;
	int order;

	if (is_number(id_a) && is_number(id_b)) {
		order = compare_numbers(id_a, id_b);
		if (order != 0)
			return -order;
	}
	sa = sortable_start(a);
	sb = sortable_start(b);
	if (sa.len != sb.len)		/* one has a time, the other not */
		return sa.len ? -1 : 1;
	order = sa.len ? memcmp(sa.text, sb.text, sa.len) : 0;
	if (order != 0)
		return -order;
	return -strcmp(id_a ? id_a : "", id_b ? id_b : "");
}
