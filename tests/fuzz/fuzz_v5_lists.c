/* Fuzz target: a body read as a v5 pipeline list answer, a runs list
 * answer and a log page; what a log page returns is sent back in the next
 * request. Each reading must either fail cleanly (nothing appended, a
 * reason) or leave sound entries. */
#include "fuzz.h"
#include "names.h"
#include "v5.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#define PROJECT "0d1e2f3a4b5c46d7e8f9a0b1c2d3e4f5"
#define PIPELINE "8025ba36a87a4dd5af496708c2961817"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Whether a parse succeeded; either way what it left must be sound. */
static bool parsed(int res, GPtrArray *into, const struct pfs_v5_page *page,
		   const char *err, size_t errsize)
{
	if (res == 0) {
		FUZZ_CHECK(page->total >= 0 && page->total <= PFS_V5_MAX_TOTAL);
		FUZZ_CHECK(into->len <= page->items);
		FUZZ_CHECK(page->oldest_ms >= 0);
		return true;
	}
	FUZZ_CHECK(res == -EPROTO || res == -EMSGSIZE);
	FUZZ_CHECK(into->len == 0 && page->total == 0);
	FUZZ_CHECK(memchr(err, '\0', errsize) && err[0]);
	return false;
}

static void check_pipelines(const char *body, size_t len)
{
	GPtrArray *into = g_ptr_array_new_with_free_func(pfs_pipeline_entry_free);
	struct pfs_v5_page page;
	char err[256] = "";
	int res = pfs_v5_parse_pipelines(body, len, PROJECT, into, &page, err,
					 sizeof(err));
	bool ok = parsed(res, into, &page, err, sizeof(err));
	guint i;

	for (i = 0; ok && i < into->len; i++) {
		struct pfs_pipeline_entry *e = g_ptr_array_index(into, i);

		FUZZ_CHECK(e->pipeline_id && pfs_name_is_valid_id(e->pipeline_id));
		FUZZ_CHECK(e->project_id && pfs_name_is_valid_id(e->project_id));
		FUZZ_CHECK(!e->name || e->name[0]);
		FUZZ_CHECK(!e->project_name || e->project_name[0]);
	}
	g_ptr_array_unref(into);
}

static void check_runs(const char *body, size_t len)
{
	GPtrArray *into = g_ptr_array_new_with_free_func(pfs_history_entry_free);
	struct pfs_v5_page page;
	char err[256] = "";
	int res = pfs_v5_parse_runs(body, len, PIPELINE, into, &page, err,
				    sizeof(err));
	bool ok = parsed(res, into, &page, err, sizeof(err));
	guint i;

	for (i = 0; ok && i < into->len; i++) {
		struct pfs_history_entry *e = g_ptr_array_index(into, i);
		const char *p;

		FUZZ_CHECK(strcmp(e->pipeline_id, PIPELINE) == 0);
		FUZZ_CHECK(pfs_name_is_valid_id(e->build_id) && e->build_id[0] != '0');
		for (p = e->build_id; *p; p++)
			FUZZ_CHECK(g_ascii_isdigit(*p));
		FUZZ_CHECK(!e->pipeline_name);
		FUZZ_CHECK(!e->status || e->status[0]);
		FUZZ_CHECK(!e->outcome || (e->status && !strcmp(e->status, "completed")));
		FUZZ_CHECK(e->start_ms >= 0 && e->end_ms >= 0);
		FUZZ_CHECK(!e->start_ms || e->start_ms >= page.oldest_ms);
	}
	g_ptr_array_unref(into);
}

static void check_log(const char *body, size_t len)
{
	struct pfs_log_page page;
	char err[256] = "";
	char *next;
	int res = pfs_v5_parse_log(body, len, &page, err, sizeof(err));

	if (res < 0) {
		FUZZ_CHECK(res == -EPROTO || res == -EMSGSIZE);
		FUZZ_CHECK(!page.text && !page.start_offset && !page.end_offset);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) && err[0]);
		return;
	}
	FUZZ_CHECK(page.text && page.start_offset && page.end_offset);
	/* unescaping only shrinks: the text fits in the body */
	FUZZ_CHECK(page.text->len <= len);
	/* an offset received can always be sent back */
	next = pfs_v5_log_request(page.end_offset, page.start_offset,
				  PFS_LOG_PAGE_LINES);
	FUZZ_CHECK(next && strstr(next, page.end_offset) &&
		   strstr(next, page.start_offset));
	g_free(next);
	pfs_log_page_clear(&page);
	FUZZ_CHECK(!page.text && !page.end_offset);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;

	check_pipelines(body, size);
	check_runs(body, size);
	check_log(body, size);
	return 0;
}
