/* v5.c - the v5 API's calls (../shared/api/README.md section 2) behind
 * backend.h: the run detail, the pipeline list, the runs list (as the
 * history) and step logs. Every path carries the pipeline's CodeArts
 * project id; there is no call for many pipelines' latest builds (the
 * cache asks pipeline by pipeline). */
#include "backend_internal.h"
#include "names.h"
#include "v5.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Fewer lines a log page is asked for each time one is too large (lines
 * of a megabyte): 500, 50, 5, 1. */
#define LOG_LIMIT_DIVISOR 10

/* Not sent: the call needs a CodeArts project and none is known. */
static int no_project(const char *pipeline_id, struct pfs_backend_failure *failure)
{
	memset(failure, 0, sizeof(*failure));
	snprintf(failure->what, sizeof(failure->what),
		 "no CodeArts project known for pipeline %s: set projects= or "
		 "project_id=", pipeline_id ? pipeline_id : "?");
	return -ENOENT;
}

/* Not sent: @what (an id going into a path) is not one. */
static int not_an_id(const char *what, const char *value,
		     struct pfs_backend_failure *failure)
{
	memset(failure, 0, sizeof(*failure));
	snprintf(failure->what, sizeof(failure->what), "v5: %s %s is not a valid id",
		 what, value && pfs_name_is_valid_id(value) ? value : "(unusable)");
	return -EINVAL;
}

/* @project_id, else the configured one, when it can go into a path. */
static const char *project_of(const struct pfs_backend *b, const char *project_id)
{
	if (!project_id)
		project_id = b->project_id;
	return project_id && pfs_name_is_valid_id(project_id) ? project_id : NULL;
}

/* Whether @build_id is a run number the detail call can be asked for. */
static bool is_run_number(const char *build_id)
{
	size_t i, len = strlen(build_id);

	if (len == 0 || len > 19 || build_id[0] == '0')
		return false;
	for (i = 0; i < len; i++)
		if (!g_ascii_isdigit(build_id[i]))
			return false;
	return true;
}

static int parse_build(const char *body, size_t len, const void *tz,
		       struct pfs_build **out, char *err, size_t errsize)
{
	return pfs_v5_model_parse(body, len, (GTimeZone *)tz, out, err, errsize);
}

static int get_build(struct pfs_backend *b, const char *project_id,
		     const char *pipeline_id, const char *build_id,
		     double deadline, struct pfs_build **out,
		     struct pfs_backend_failure *failure)
{
	struct pfs_build_answer answer = { .parse = parse_build, .arg = b->tz,
					   .pipeline_id = pipeline_id,
					   .build_id = build_id };
	const char *project = project_of(b, project_id);
	char *path;
	int res;

	if (!project)
		return no_project(pipeline_id, failure);
	if (build_id && !is_run_number(build_id)) {
		memset(failure, 0, sizeof(*failure));
		snprintf(failure->what, sizeof(failure->what),
			 "v5: build %s of pipeline %s is not a run number",
			 build_id, pipeline_id);
		return -ENOENT;
	}
	path = g_strdup_printf("/v5/%s/api/pipelines/%s/pipeline-runs/detail%s%s",
			       project, pipeline_id,
			       build_id ? "?pipeline_run_number=" : "",
			       build_id ? build_id : "");
	/* a 400 to a named run is "no such run" (DEVPIPE.00011104); to
	 * the latest, as on v3, a failure (the pipeline's 404 says gone) */
	res = pfs_backend_call_build(b, &(struct pfs_call){
					     .method = "GET", .path = path,
					     .named_build = build_id != NULL },
				     deadline, &answer, failure);
	*out = answer.build;
	g_free(path);
	return res;
}

/* A list page being read: its items go to @into. */
struct list_page {
	const char *asked;	/* the project or pipeline asked for */
	GPtrArray *into;
	struct pfs_v5_page page;
};

static int parse_pipelines(const char *body, size_t len, void *data,
			   char *err, size_t errsize)
{
	struct list_page *p = data;

	return pfs_v5_parse_pipelines(body, len, p->asked, p->into, &p->page,
				      err, errsize);
}

static int parse_runs(const char *body, size_t len, void *data, char *err,
		      size_t errsize)
{
	struct list_page *p = data;

	return pfs_v5_parse_runs(body, len, p->asked, p->into, &p->page, err,
				 errsize);
}

/* Every page of a list at @path (POST, bodies from @request), read by
 * @parse into @into, from offset 0 until the total, an empty page or,
 * @cutoff_ms > 0, a page holding an item that started before it. */
static int list_pages(struct pfs_backend *b, const char *path,
		      const char *asked, char *(*request)(long offset),
		      int (*parse)(const char *, size_t, void *, char *, size_t),
		      gint64 cutoff_ms, double deadline, GPtrArray *into,
		      struct pfs_backend_failure *failure)
{
	struct list_page p = { .asked = asked, .into = into };
	long offset = 0;
	int res;

	do {
		char *body = request(offset);

		if (!body)
			return -EINVAL;
		res = pfs_transport_call(b->transport,
					 &(struct pfs_call){ .method = "POST",
							     .path = path, .body = body },
					 deadline, parse, &p, failure);
		g_free(body);
		/* an empty page ends it whatever total says: never a loop */
		if (res < 0 || p.page.items == 0 ||
		    (cutoff_ms && p.page.oldest_ms && p.page.oldest_ms < cutoff_ms))
			break;
		offset += (long)MIN(p.page.items, (size_t)PFS_V5_MAX_TOTAL);
	} while (offset < p.page.total);
	return res;
}

static gint newest_first(gconstpointer a, gconstpointer b)
{
	const struct pfs_pipeline_entry *x = *(struct pfs_pipeline_entry *const *)a;
	const struct pfs_pipeline_entry *y = *(struct pfs_pipeline_entry *const *)b;

	return (x->created_ms < y->created_ms) - (x->created_ms > y->created_ms);
}

static int list_pipelines(struct pfs_backend *b, char *const *project_ids,
			  double deadline, GPtrArray **out,
			  struct pfs_backend_failure *failure)
{
	char *const configured[] = { b->project_id, NULL };
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	size_t i;
	int res = 0;

	if (!project_ids || !project_ids[0])
		project_ids = configured;
	if (!project_ids[0]) {
		g_hash_table_destroy(seen);
		memset(failure, 0, sizeof(*failure));
		snprintf(failure->what, sizeof(failure->what),
			 "the v5 pipeline list is per CodeArts project: set "
			 "projects= or project_id=");
		return -ENOTSUP;
	}
	*out = g_ptr_array_new_with_free_func(pfs_pipeline_entry_free);
	for (i = 0; res == 0 && project_ids[i]; i++) {
		char *path;

		if (!pfs_name_is_valid_id(project_ids[i])) {
			res = not_an_id("project", project_ids[i], failure);
			break;
		}
		if (!g_hash_table_add(seen, project_ids[i]))
			continue;
		path = g_strdup_printf("/v5/%s/api/pipelines/list", project_ids[i]);
		res = list_pages(b, path, project_ids[i], pfs_v5_pipelines_request,
				 parse_pipelines, 0, deadline, *out, failure);
		g_free(path);
	}
	g_hash_table_destroy(seen);
	if (res < 0) {
		g_ptr_array_unref(*out);
		*out = NULL;
		return res;
	}
	/* one answer per project: newest first across them, as v3's list
	 * comes, so that the oldest pipeline of a name keeps it */
	g_ptr_array_sort(*out, newest_first);
	return 0;
}

/* Newest first, until a run started before @cutoff_ms: the service
 * sorts by start_time, so the pages after it hold older runs only. */
static int history_of(struct pfs_backend *b, const char *project_id,
		      const char *pipeline_id, gint64 cutoff_ms, double deadline,
		      GPtrArray *into, struct pfs_backend_failure *failure)
{
	char *path;
	int res;

	if (!pfs_name_is_valid_id(pipeline_id))
		return not_an_id("pipeline", pipeline_id, failure);
	path = g_strdup_printf("/v5/%s/api/pipelines/%s/pipeline-runs/list",
			       project_id, pipeline_id);
	res = list_pages(b, path, pipeline_id, pfs_v5_runs_request, parse_runs,
			 cutoff_ms, deadline, into, failure);
	g_free(path);
	return res;
}

static int get_history(struct pfs_backend *b, const char *project_id,
		       char *const *pipeline_ids, unsigned days,
		       double deadline, GPtrArray **out,
		       struct pfs_backend_failure *failure)
{
	const char *project = project_of(b, project_id);
	gint64 cutoff_ms = g_get_real_time() / 1000 -
			   (gint64)MIN(days, 3653000u) * 24 * 3600 * 1000;
	size_t i, gone = 0;
	int res = 0;

	if (!project)
		return no_project(pipeline_ids ? pipeline_ids[0] : NULL, failure);
	*out = g_ptr_array_new_with_free_func(pfs_history_entry_free);
	for (i = 0; days && pipeline_ids && pipeline_ids[i]; i++) {
		res = history_of(b, project, pipeline_ids[i], cutoff_ms, deadline,
				 *out, failure);
		/* a pipeline deleted since the list has no history: the
		 * others still have theirs */
		if (res == -ENOENT) {
			gone++;
			continue;
		}
		if (res < 0)
			break;
	}
	if (res == -ENOENT && gone < i)
		res = 0;
	if (res < 0) {
		g_ptr_array_unref(*out);
		*out = NULL;
		return res;
	}
	pfs_backend_drop_older(*out, cutoff_ms);
	return 0;
}

static int parse_log(const char *body, size_t len, void *data, char *err,
		     size_t errsize)
{
	return pfs_v5_parse_log(body, len, data, err, errsize);
}

static int get_log(struct pfs_backend *b, const struct pfs_log_ref *ref,
		   const char *start_offset, const char *end_offset,
		   unsigned *lines, double deadline, struct pfs_log_page *out,
		   struct pfs_backend_failure *failure)
{
	const char *project = project_of(b, ref->project_id);
	const char *const ids[] = { ref->pipeline_id, ref->run_id, ref->job_run_id,
				    ref->step_run_id };
	unsigned limit = *lines && *lines < PFS_LOG_PAGE_LINES ? *lines
							       : PFS_LOG_PAGE_LINES;
	char *path;
	size_t i;
	int res;

	if (!project)
		return no_project(ref->pipeline_id, failure);
	for (i = 0; i < G_N_ELEMENTS(ids); i++)
		if (!ids[i] || !pfs_name_is_valid_id(ids[i]))
			return not_an_id("step log part", ids[i], failure);
	path = g_strdup_printf("/v5/%s/api/pipelines/%s/pipeline-runs/%s/jobs/%s"
			       "/steps/%s/logs", project, ref->pipeline_id,
			       ref->run_id, ref->job_run_id, ref->step_run_id);
	for (;;) {
		char *body = pfs_v5_log_request(start_offset, end_offset, limit);

		if (!body) {
			res = not_an_id("log offset", start_offset, failure);
			break;
		}
		/* a 400 is "no such job or step in the run" */
		res = pfs_transport_call(b->transport,
					 &(struct pfs_call){ .method = "POST",
							     .path = path, .body = body,
							     .named_build = true },
					 deadline, parse_log, out, failure);
		g_free(body);
		if (res != -EMSGSIZE || limit == 1)
			break;
		limit = MAX(limit / LOG_LIMIT_DIVISOR, 1u);
	}
	*lines = limit;
	g_free(path);
	return res;
}

const struct pfs_backend_ops pfs_backend_v5 = {
	.name = "v5",
	.get_build = get_build,
	/* no get_latest_ids: v5 has no call for many pipelines at once */
	.list_pipelines = list_pipelines,
	.get_history = get_history,
	.get_log = get_log,
};
