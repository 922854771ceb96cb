/* v3.c - the v3 API's calls (../shared/api/README.md sections 1 and 2)
 * behind backend.h: the status call, the batch call, the list call and
 * build-result. */
#include "backend_internal.h"
#include "lists.h"
#include "v3.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int parse_build(const char *body, size_t len, const void *arg,
		       struct pfs_build **out, char *err, size_t errsize)
{
	(void)arg;
	return pfs_v3_model_parse(body, len, out, err, errsize);
}

static int get_build(struct pfs_backend *b, const char *project_id,
		     const char *pipeline_id, const char *build_id,
		     double deadline, struct pfs_build **out,
		     struct pfs_backend_failure *failure)
{
	struct pfs_build_answer answer = { .parse = parse_build,
					   .pipeline_id = pipeline_id,
					   .build_id = build_id };
	char *path;
	int res;

	(void)project_id;
	path = build_id ? g_strdup_printf("/v3/pipelines/%s/status?build_id=%s",
					  pipeline_id, build_id)
			: g_strdup_printf("/v3/pipelines/%s/status", pipeline_id);
	res = pfs_backend_call_build(b, &(struct pfs_call){
					     .method = "GET", .path = path,
					     .named_build = build_id != NULL },
				     deadline, &answer, failure);
	*out = answer.build;
	g_free(path);
	return res;
}

static int parse_latest(const char *body, size_t len, void *out, char *err,
			size_t errsize)
{
	return pfs_v3_model_parse_latest_ids(body, len, out, err, errsize);
}

static int get_latest_ids(struct pfs_backend *b, char **pipeline_ids,
			  double deadline, GHashTable **out,
			  struct pfs_backend_failure *failure)
{
	char *ids = g_strjoinv(",", pipeline_ids);
	char *path = g_strconcat("/v3/pipelines/status?pipeline_ids=", ids, NULL);
	int res = pfs_transport_call(b->transport,
				     &(struct pfs_call){ .method = "GET", .path = path },
				     deadline, parse_latest, out, failure);

	g_free(path);
	g_free(ids);
	return res;
}

/* A page being read: its items go to @into, its total to @total. */
struct page {
	GPtrArray *into;
	long total;
	GTimeZone *tz;
};

static int parse_pipelines(const char *body, size_t len, void *data,
			   char *err, size_t errsize)
{
	struct page *page = data;

	return pfs_lists_parse_pipelines(body, len, page->into, &page->total,
					 err, errsize);
}

static int parse_history(const char *body, size_t len, void *data, char *err,
			 size_t errsize)
{
	struct page *page = data;

	return pfs_lists_parse_history(body, len, page->tz, page->into,
				       &page->total, err, errsize);
}

/* Every page of the pipeline list narrowed to @projects (NULL: all). */
static int list_pages(struct pfs_backend *b, char *const *projects,
		      double deadline, GPtrArray *into,
		      struct pfs_backend_failure *failure)
{
	struct page page = { .into = into };
	long offset = 0;
	int res = 0;

	do {
		char *body = pfs_lists_pipelines_request(offset, projects);
		guint before = into->len;

		if (!body)
			return -EINVAL;
		res = pfs_transport_call(b->transport,
					 &(struct pfs_call){ .method = "POST",
							     .path = "/v3/pipelines/list",
							     .body = body },
					 deadline, parse_pipelines, &page, failure);
		g_free(body);
		/* an empty page ends it whatever total says: never a loop */
		if (res < 0 || into->len == before)
			break;
		offset += PFS_LISTS_PAGE;
	} while (offset < page.total);
	return res;
}

static int list_pipelines(struct pfs_backend *b, char *const *project_ids,
			  double deadline, GPtrArray **out,
			  struct pfs_backend_failure *failure)
{
	GPtrArray *batches = pfs_lists_project_batches(project_ids);
	guint i;
	int res = 0;

	*out = g_ptr_array_new_with_free_func(pfs_pipeline_entry_free);
	if (batches->len == 0)
		res = list_pages(b, NULL, deadline, *out, failure);
	for (i = 0; res == 0 && i < batches->len; i++)
		res = list_pages(b, batches->pdata[i], deadline, *out, failure);
	g_ptr_array_unref(batches);
	if (res < 0) {
		g_ptr_array_unref(*out);
		*out = NULL;
	}
	return res;
}

/* Every page of build-result for @project_id in @window. */
static int history_pages(struct pfs_backend *b, const char *project_id,
			 const struct pfs_history_window *window,
			 double deadline, GPtrArray *into,
			 struct pfs_backend_failure *failure)
{
	struct page page = { .into = into, .tz = b->tz };
	long offset = 0;
	int res = 0;

	do {
		char *query = pfs_lists_history_query(project_id, window, offset);
		char *path;
		guint before = into->len;

		if (!query)
			return -EINVAL;
		path = g_strconcat("/v3/pipelines/build-result?", query, NULL);
		res = pfs_transport_call(b->transport,
					 &(struct pfs_call){ .method = "GET", .path = path },
					 deadline, parse_history, &page, failure);
		g_free(path);
		g_free(query);
		if (res < 0 || into->len == before)
			break;
		offset += PFS_LISTS_HISTORY_PAGE;
	} while (offset < page.total);
	return res;
}

static int get_history(struct pfs_backend *b, const char *project_id,
		       char *const *pipeline_ids, unsigned days,
		       double deadline, GPtrArray **out,
		       struct pfs_backend_failure *failure)
{
	gint64 now_ms = g_get_real_time() / 1000;
	GPtrArray *windows = pfs_lists_history_windows(now_ms, b->tz, days);
	guint i;
	int res = 0;

	(void)pipeline_ids;	/* one call serves the whole project */
	*out = g_ptr_array_new_with_free_func(pfs_history_entry_free);
	for (i = 0; res == 0 && i < windows->len; i++)
		res = history_pages(b, project_id, windows->pdata[i], deadline,
				    *out, failure);
	g_ptr_array_unref(windows);
	if (res < 0) {
		g_ptr_array_unref(*out);
		*out = NULL;
		return res;
	}
	/* the windows hold whole dates: the first one's early builds are
	 * older than asked for */
	pfs_backend_drop_older(*out, now_ms - (gint64)days * 24 * 3600 * 1000);
	return 0;
}

const struct pfs_backend_ops pfs_backend_v3 = {
	.name = "v3",
	.get_build = get_build,
	.get_latest_ids = get_latest_ids,
	.list_pipelines = list_pipelines,
	.get_history = get_history,
};
