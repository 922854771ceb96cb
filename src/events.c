/* events.c - see events.h */
#include "events.h"
#include "apitime.h"

#include <string.h>

static void append_escaped(GString *out, const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		switch (text[i]) {
		case '\\': g_string_append(out, "\\\\"); break;
		case '\t': g_string_append(out, "\\t"); break;
		case '\n': g_string_append(out, "\\n"); break;
		case '\r': g_string_append(out, "\\r"); break;
		default: g_string_append_c(out, text[i]);
		}
	}
}

/* A field's value: its text without the newline the file ends with, cut
 * at PFS_EVENTS_VALUE_MAX bytes (on a character) with how much there was:
 * a line is for reading, the file holds it all. */
static void append_value(GString *out, const struct pfs_build *build,
			 uint32_t node)
{
	size_t len = 0, cut;
	const char *text = build && node != PFS_NODE_NONE
			   ? pfs_build_node_content(build, node, &len) : NULL;

	if (!text)
		return;
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len <= PFS_EVENTS_VALUE_MAX) {
		append_escaped(out, text, len);
		return;
	}
	for (cut = PFS_EVENTS_VALUE_MAX; cut > 0 && (text[cut] & 0xc0) == 0x80; cut--)
		;
	append_escaped(out, text, cut);
	g_string_append_printf(out, "... (%zu bytes)", len);
}

static void begin_line(GString *out, int64_t t, const char *prefix,
		       const char *dir)
{
	char iso[PFS_APITIME_ISO_SIZE];

	pfs_apitime_iso((time_t)t, iso);
	g_string_append(out, iso);
	g_string_append_c(out, '\t');
	if (*prefix) {
		append_escaped(out, prefix, strlen(prefix));
		if (*dir)
			g_string_append_c(out, '/');
	}
	if (*dir)
		append_escaped(out, dir, strlen(dir));
	else if (!*prefix)
		g_string_append_c(out, '.');
	g_string_append_c(out, '\t');
}

static void field_line(GString *out, int64_t t, const char *prefix,
		       const char *dir, const char *field,
		       const struct pfs_build *before, uint32_t was,
		       const struct pfs_build *now, uint32_t is)
{
	begin_line(out, t, prefix, dir);
	append_escaped(out, field, strlen(field));
	g_string_append_c(out, '\t');
	append_value(out, before, was);
	g_string_append_c(out, '\t');
	append_value(out, now, is);
	g_string_append_c(out, '\n');
}

void pfs_events_line(GString *out, int64_t t, const char *path,
		     const char *field, const char *old, const char *new)
{
	begin_line(out, t, path, "");
	append_escaped(out, field, strlen(field));
	g_string_append_c(out, '\t');
	if (old)
		append_escaped(out, old, strlen(old));
	g_string_append_c(out, '\t');
	if (new)
		append_escaped(out, new, strlen(new));
	g_string_append_c(out, '\n');
}

static char *child_path(const char *dir, const char *name)
{
	return *dir ? g_strconcat(dir, "/", name, NULL) : g_strdup(name);
}

/* The state lines of directory @node (at @dir) and the stages and tasks
 * below it. */
static void state_lines(GString *out, const struct pfs_build *build,
			uint32_t node, const char *dir, int64_t t,
			const char *prefix, bool build_only)
{
	static const char *const fields[] = { "status", "outcome" };
	uint32_t child;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(fields); i++) {
		uint32_t field = pfs_build_child(build, node, fields[i]);

		if (field != PFS_NODE_NONE && !build->nodes[field].is_dir)
			field_line(out, t, prefix, dir, fields[i], NULL,
				   PFS_NODE_NONE, build, field);
	}
	if (build_only)
		return;
	/* the stages below the build, the tasks below a stage */
	child = pfs_build_child(build, node, node == PFS_NODE_ROOT ? "stages" : "tasks");
	if (child == PFS_NODE_NONE || !build->nodes[child].is_dir)
		return;
	for (child = build->nodes[child].first_child; child != PFS_NODE_NONE;
	     child = build->nodes[child].next_sibling) {
		char *path;

		if (!build->nodes[child].is_dir)
			continue;
		path = child_path(dir, node == PFS_NODE_ROOT ? "stages" : "tasks");
		{
			char *full = child_path(path, pfs_build_node_name(build, child));

			state_lines(out, build, child, full, t, prefix, false);
			g_free(full);
		}
		g_free(path);
	}
}

void pfs_events_first_seen(GString *out, const struct pfs_build *build,
			   int64_t t, const char *prefix, bool build_only)
{
	state_lines(out, build, PFS_NODE_ROOT, "", t, prefix, build_only);
}

/* Fields are the value files: not what the daemon makes of the whole
 * build (status.json, summary, events, wait) nor failed/'s links. */
static bool is_field(const struct pfs_build *build, uint32_t node)
{
	return build->nodes[node].kind == PFS_NODE_FILE;
}

static bool same_value(const struct pfs_build *a, uint32_t x,
		       const struct pfs_build *b, uint32_t y)
{
	size_t la, lb;
	const char *ta = pfs_build_node_content(a, x, &la);
	const char *tb = pfs_build_node_content(b, y, &lb);

	return la == lb && memcmp(ta, tb, la) == 0;
}

/* Walks @now's directory @node (at @dir), and the same directory of
 * @before (@was, or PFS_NODE_NONE), writing a line per changed field;
 * then, with @gone, @before's fields that @now lacks. */
static unsigned diff_dir(GString *out, const struct pfs_build *before,
			 uint32_t was, const struct pfs_build *now,
			 uint32_t node, const char *dir, int64_t t,
			 const char *prefix)
{
	unsigned lines = 0;
	uint32_t child;

	for (child = now->nodes[node].first_child; child != PFS_NODE_NONE;
	     child = now->nodes[child].next_sibling) {
		const char *name = pfs_build_node_name(now, child);
		uint32_t old = was == PFS_NODE_NONE ? PFS_NODE_NONE
			       : pfs_build_child(before, was, name);

		if (now->nodes[child].is_dir) {
			char *path = child_path(dir, name);

			if (old != PFS_NODE_NONE && !before->nodes[old].is_dir)
				old = PFS_NODE_NONE;
			lines += diff_dir(out, before, old, now, child, path, t, prefix);
			g_free(path);
			continue;
		}
		if (!is_field(now, child))
			continue;
		if (old != PFS_NODE_NONE && is_field(before, old) &&
		    same_value(before, old, now, child))
			continue;
		if (old != PFS_NODE_NONE && !is_field(before, old))
			old = PFS_NODE_NONE;
		field_line(out, t, prefix, dir, name, before, old, now, child);
		lines++;
	}
	if (was == PFS_NODE_NONE)
		return lines;
	for (child = before->nodes[was].first_child; child != PFS_NODE_NONE;
	     child = before->nodes[child].next_sibling) {
		const char *name = pfs_build_node_name(before, child);

		if (!is_field(before, child) ||
		    pfs_build_child(now, node, name) != PFS_NODE_NONE)
			continue;
		field_line(out, t, prefix, dir, name, before, child, NULL,
			   PFS_NODE_NONE);
		lines++;
	}
	return lines;
}

unsigned pfs_events_diff(GString *out, const struct pfs_build *before,
			 const struct pfs_build *now, int64_t t,
			 const char *prefix)
{
	return diff_dir(out, before, PFS_NODE_ROOT, now, PFS_NODE_ROOT, "", t,
			prefix);
}

/* Where to cut @text to keep about its newer half: after a newline in
 * the older half, never into the last line. */
static size_t older_half(const GString *text)
{
	size_t last = text->len > 1 ? text->len - 1 : 0, i;

	/* the start of the last line: it stays, whatever its length */
	while (last > 0 && text->str[last - 1] != '\n')
		last--;
	for (i = MIN(text->len / 2, last); i > 0; i--)
		if (text->str[i - 1] == '\n')
			return i;
	return 0;
}

bool pfs_event_log_append(struct pfs_event_log *log, const char *lines,
			  size_t len, size_t max, bool rotate, int64_t now_ns)
{
	if (len == 0)
		return true;
	if (!rotate && pfs_event_log_size(log) + len > max)
		return false;
	if (!log->text)
		log->text = g_string_new(NULL);
	g_string_append_len(log->text, lines, (gssize)len);
	log->changed_ns = MAX(log->changed_ns, now_ns);
	if (log->text->len > max)
		g_string_erase(log->text, 0, (gssize)older_half(log->text));
	return true;
}

size_t pfs_event_log_size(const struct pfs_event_log *log)
{
	return log->text ? log->text->len : 0;
}

void pfs_event_log_read(const struct pfs_event_log *log, uint64_t off,
			size_t size, char **data, size_t *len)
{
	size_t total = pfs_event_log_size(log);

	*data = NULL;
	*len = 0;
	if (off >= total || size == 0)
		return;
	*len = MIN(size, total - (size_t)off);
	*data = g_memdup2(log->text->str + off, *len);
}

void pfs_event_log_clear(struct pfs_event_log *log)
{
	if (log->text)
		g_string_free(log->text, TRUE);
	log->text = NULL;
	log->changed_ns = 0;
}
