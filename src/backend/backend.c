/* backend.c - see backend.h: the choice of API and the calls handed to
 * it. */
#include "backend_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int pfs_backend_new(const struct pfs_backend_config *config,
		    struct pfs_http *http, struct pfs_auth *auth,
		    struct pfs_limiter *limiter, struct pfs_backend **out)
{
	struct pfs_backend *b = g_new0(struct pfs_backend, 1);

	b->transport = pfs_transport_new(config->endpoint, http, auth, limiter);
	b->api = config->api;
	b->project_id = g_strdup(config->project_id);
	b->tz = config->tz;
	*out = b;
	return 0;
}

void pfs_backend_free(struct pfs_backend *b)
{
	if (!b)
		return;
	pfs_transport_free(b->transport);
	g_free(b->project_id);
	g_free(b);
}

enum pfs_api_version pfs_backend_choose(const struct pfs_backend *b,
					const char *project_id)
{
	if (b->api != PFS_API_AUTO)
		return b->api;
	return project_id || b->project_id ? PFS_API_V5 : PFS_API_V3;
}

const char *pfs_backend_project(const struct pfs_backend *b)
{
	return b->project_id;
}

const char *pfs_backend_api_name(enum pfs_api_version api)
{
	return api == PFS_API_V3 ? "v3" : api == PFS_API_V5 ? "v5" : "auto";
}

static const struct pfs_backend_ops *ops_of(const struct pfs_backend *b,
					    enum pfs_api_version api)
{
	if (api == PFS_API_AUTO)
		api = pfs_backend_choose(b, NULL);
	return api == PFS_API_V5 ? &pfs_backend_v5 : &pfs_backend_v3;
}

static int not_supported(const struct pfs_backend_ops *ops, const char *call,
			 struct pfs_backend_failure *failure)
{
	memset(failure, 0, sizeof(*failure));
	snprintf(failure->what, sizeof(failure->what), "the %s API has no %s",
		 ops->name, call);
	return -ENOTSUP;
}

int pfs_backend_get_build(struct pfs_backend *b, enum pfs_api_version api,
			  const char *project_id, const char *pipeline_id,
			  const char *build_id, double deadline,
			  struct pfs_build **out,
			  struct pfs_backend_failure *failure)
{
	*out = NULL;
	return ops_of(b, api)->get_build(b, project_id ? project_id : b->project_id,
					 pipeline_id, build_id, deadline, out,
					 failure);
}

int pfs_backend_get_latest_ids(struct pfs_backend *b, enum pfs_api_version api,
			       char **pipeline_ids, double deadline,
			       GHashTable **out,
			       struct pfs_backend_failure *failure)
{
	const struct pfs_backend_ops *ops = ops_of(b, api);

	*out = NULL;
	if (!ops->get_latest_ids)
		return not_supported(ops, "call for many pipelines' latest builds",
				     failure);
	return ops->get_latest_ids(b, pipeline_ids, deadline, out, failure);
}

int pfs_backend_list_pipelines(struct pfs_backend *b, enum pfs_api_version api,
			       char *const *project_ids, double deadline,
			       GPtrArray **out,
			       struct pfs_backend_failure *failure)
{
	const struct pfs_backend_ops *ops = ops_of(b, api);

	*out = NULL;
	if (!ops->list_pipelines)
		return not_supported(ops, "pipeline list", failure);
	return ops->list_pipelines(b, project_ids, deadline, out, failure);
}

int pfs_backend_get_history(struct pfs_backend *b, enum pfs_api_version api,
			    const char *project_id, char *const *pipeline_ids,
			    unsigned days, double deadline, GPtrArray **out,
			    struct pfs_backend_failure *failure)
{
	const struct pfs_backend_ops *ops = ops_of(b, api);

	*out = NULL;
	if (!ops->get_history)
		return not_supported(ops, "run history", failure);
	return ops->get_history(b, project_id, pipeline_ids, days, deadline, out,
				failure);
}

int pfs_backend_get_log(struct pfs_backend *b, const struct pfs_log_ref *ref,
			const char *start_offset, const char *end_offset,
			unsigned *lines, double deadline, struct pfs_log_page *out,
			struct pfs_backend_failure *failure)
{
	memset(out, 0, sizeof(*out));
	if (!pfs_backend_v5.get_log)
		return not_supported(&pfs_backend_v5, "step logs", failure);
	return pfs_backend_v5.get_log(b, ref, start_offset, end_offset, lines,
				      deadline, out, failure);
}

void pfs_log_page_clear(struct pfs_log_page *page)
{
	if (page->text)
		g_byte_array_unref(page->text);
	g_free(page->start_offset);
	g_free(page->end_offset);
	memset(page, 0, sizeof(*page));
}

unsigned pfs_backend_credentials(struct pfs_backend *b)
{
	return pfs_transport_credentials(b->transport);
}

static int read_build(const char *body, size_t len, void *data, char *err,
		      size_t errsize)
{
	struct pfs_build_answer *answer = data;
	const struct pfs_build *build;
	const char *why = NULL;
	int res = answer->parse(body, len, answer->arg, &answer->build, err, errsize);

	if (res < 0)
		return res;
	build = answer->build;
	if (build->bad_identity)
		why = "names its build or pipeline with no usable id";
	else if (build->pipeline_id && strcmp(build->pipeline_id, answer->pipeline_id) != 0)
		why = "is about another pipeline";
	else if (answer->build_id && build->build_id &&
		 strcmp(build->build_id, answer->build_id) != 0)
		why = "is about another build";
	if (!why)
		return 0;
	snprintf(err, errsize, "it %s", why);
	pfs_build_unref(answer->build);
	answer->build = NULL;
	return -EPROTO;
}

int pfs_backend_call_build(struct pfs_backend *b, const struct pfs_call *call,
			   double deadline, struct pfs_build_answer *answer,
			   struct pfs_backend_failure *failure)
{
	answer->build = NULL;
	return pfs_transport_call(b->transport, call, deadline, read_build, answer,
				  failure);
}

void pfs_backend_drop_older(GPtrArray *history, gint64 cutoff_ms)
{
	guint i = 0;

	while (i < history->len) {
		const struct pfs_history_entry *h = history->pdata[i];

		if (h->start_ms && h->start_ms < cutoff_ms)
			g_ptr_array_remove_index(history, i);
		else
			i++;
	}
}

void pfs_pipeline_entry_free(void *entry)
{
	struct pfs_pipeline_entry *e = entry;

	if (!e)
		return;
	g_free(e->pipeline_id);
	g_free(e->name);
	g_free(e->project_id);
	g_free(e->project_name);
	g_free(e);
}

void pfs_history_entry_free(void *entry)
{
	struct pfs_history_entry *e = entry;

	if (!e)
		return;
	g_free(e->pipeline_id);
	g_free(e->build_id);
	g_free(e->pipeline_name);
	g_free(e->status);
	g_free(e->outcome);
	g_free(e);
}
