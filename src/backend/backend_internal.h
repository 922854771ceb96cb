/* backend_internal.h - what an API's implementation provides (curl's
 * vtls shape: one table of calls per API) and the state they share.
 * Only backend/ includes it. */
#ifndef PFS_BACKEND_INTERNAL_H
#define PFS_BACKEND_INTERNAL_H

#include "backend.h"
#include "transport.h"

struct pfs_backend {
	struct pfs_transport *transport;
	enum pfs_api_version api;
	char *project_id;	/* -o project_id=, or NULL */
	GTimeZone *tz;		/* borrowed */
};

/* One API's calls, as backend.h describes them; a NULL call is -ENOTSUP. */
struct pfs_backend_ops {
	const char *name;
	int (*get_build)(struct pfs_backend *b, const char *project_id,
			 const char *pipeline_id, const char *build_id,
			 double deadline, struct pfs_build **out,
			 struct pfs_backend_failure *failure);
	int (*get_latest_ids)(struct pfs_backend *b, char **pipeline_ids,
			      double deadline, GHashTable **out,
			      struct pfs_backend_failure *failure);
	int (*list_pipelines)(struct pfs_backend *b, char *const *project_ids,
			      double deadline, GPtrArray **out,
			      struct pfs_backend_failure *failure);
	int (*get_history)(struct pfs_backend *b, const char *project_id,
			   char *const *pipeline_ids, unsigned days,
			   double deadline, GPtrArray **out,
			   struct pfs_backend_failure *failure);
	int (*get_log)(struct pfs_backend *b, const struct pfs_log_ref *ref,
		       const char *start_offset, const char *end_offset,
		       unsigned *lines, double deadline, struct pfs_log_page *out,
		       struct pfs_backend_failure *failure);
};

extern const struct pfs_backend_ops pfs_backend_v3;
extern const struct pfs_backend_ops pfs_backend_v5;

/* A build's answer: the model that reads it (a pfs_tree_source's parse
 * and argument) and the build asked for (@build_id NULL: the latest). */
struct pfs_build_answer {
	int (*parse)(const char *body, size_t len, const void *arg,
		     struct pfs_build **out, char *err, size_t errsize);
	const void *arg;
	const char *pipeline_id;
	const char *build_id;
	struct pfs_build *build;	/* read: a reference for the caller */
};

/* Sends @call (a build's call) and reads its 200 body into @answer->build
 * (pfs_transport_call). An answer about another build or pipeline, or
 * naming one with something no id can be (a misrouted proxy, a bug
 * upstream), answers nothing asked: as any unusable body it is -EPROTO
 * and never replaces a good copy. A null or missing id is fine (the API
 * document's own example has them). */
int pfs_backend_call_build(struct pfs_backend *b, const struct pfs_call *call,
			   double deadline, struct pfs_build_answer *answer,
			   struct pfs_backend_failure *failure);

/* Builds older than @cutoff_ms (epoch ms) dropped from @history. */
void pfs_backend_drop_older(GPtrArray *history, gint64 cutoff_ms);

#endif
