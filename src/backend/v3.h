/* v3.h - the v3 API (../shared/api/README.md sections 1 and 2, the seed's
 * generation): its status body as the generic tree. The calls themselves
 * are backend.h's, served by v3.c. Pure parsing: thread-safe, no state.
 */
#ifndef PFS_V3_H
#define PFS_V3_H

#include <glib.h>
#include <stddef.h>

#include "model.h"

/* Reads @len bytes of @body (GET /v3/pipelines/{id}/status), which need
 * not be NUL-terminated: nothing past body[len - 1] is read, and only
 * whitespace may follow the JSON value within them. Every documented
 * field a file, states as stages/<stage>/tasks/<task>/, parameters/,
 * failed/. On success *out holds a new build with one reference for the
 * caller; its build_id and pipeline_id are the body's when valid ids
 * (bad_identity when either holds something no id can be), completed
 * when status is "completed", outcome as given. On a body that is not the
 * documented shape returns -EPROTO and writes the reason to @err;
 * -ENOMEM on allocation failure. */
int pfs_v3_model_parse(const char *body, size_t len, struct pfs_build **out,
		       char *err, size_t errsize);

/* Reads the body of the batch call GET /v3/pipelines/status?pipeline_ids=
 * (a JSON array, one object per pipeline) into *out: pipeline id -> the id
 * of its latest build, for the items that name both as valid ids (a new
 * GHashTable of strings, for the caller to destroy). -EPROTO when the body
 * is not such an array (read as by pfs_v3_model_parse). */
int pfs_v3_model_parse_latest_ids(const char *body, size_t len,
				  GHashTable **out, char *err, size_t errsize);

#endif
