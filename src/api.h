/* api.h - the CodeArts Pipeline API: the status call, its errors mapped to
 * errno values, each failure logged once with the service's error_code
 * and error_msg. Thread-safe; holds no state but its configuration.
 */
#ifndef PFS_API_H
#define PFS_API_H

#include <stdbool.h>

#include "http.h"
#include "model.h"
#include "token.h"

struct pfs_api;

/* @endpoint is the base URL without a trailing '/'. The api uses, but
 * does not own, @http and @token. */
int pfs_api_new(const char *endpoint, struct pfs_http *http,
		struct pfs_token *token, struct pfs_api **out);
void pfs_api_free(struct pfs_api *api);

/* GET /v3/pipelines/@pipeline_id/status[?build_id=@build_id]; @build_id
 * NULL asks for the latest build. Both ids must pass
 * pfs_name_is_valid_id(). Returns 0 with a new build in *out, or
 *   -ENOENT     404, or 400 when a build was named
 *   -EACCES     401 or 403
 *   -EPROTO     200 with a body that is not the documented JSON
 *   -EAGAIN     429 or 5xx (*retry_after: its Retry-After, or -1)
 *   -ETIMEDOUT, -ECOMM, -EMSGSIZE   no usable response
 *   -EIO        any other status */
int pfs_api_get_status(struct pfs_api *api, const char *pipeline_id,
		       const char *build_id, struct pfs_build **out,
		       long *retry_after);

/* true for errors worth a retry later, where a cached copy may be served */
bool pfs_api_is_transient(int err);

#endif
