/* v5.c - the v5 API's calls (../shared/api/README.md section 2) behind
 * backend.h. */
#include "backend_internal.h"

#include <errno.h>
#include <stdio.h>

static int get_build(struct pfs_backend *b, const char *project_id,
		     const char *pipeline_id, const char *build_id,
		     double deadline, struct pfs_build **out,
		     struct pfs_backend_failure *failure)
{
	(void)b; (void)project_id; (void)pipeline_id; (void)build_id;
	(void)deadline; (void)out;
	snprintf(failure->what, sizeof(failure->what), "v5: not yet");
	return -ENOTSUP;
}

const struct pfs_backend_ops pfs_backend_v5 = {
	.name = "v5",
	.get_build = get_build,
};
