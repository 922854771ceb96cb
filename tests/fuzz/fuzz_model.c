/* Fuzz target: a status body -> tree of files (pfs_v3_model_parse), then
 * everything a reader of the mount can reach in the tree (fuzz_tree.h),
 * and the same tree made again from the body once dropped. */
#include "fuzz.h"
#include "fuzz_tree.h"
#include "model.h"
#include "v3.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pfs_build *build = NULL;
	char err[256];

	if (pfs_v3_model_parse((const char *)data, size, &build, err, sizeof(err))) {
		FUZZ_CHECK(!build && memchr(err, '\0', sizeof(err)));
		return 0;
	}
	fuzz_tree_check(build, data, size);
	fuzz_tree_check_compact(build);
	fuzz_tree_check(build, data, size);
	pfs_build_unref(pfs_build_ref(build));
	pfs_build_unref(build);
	return 0;
}
