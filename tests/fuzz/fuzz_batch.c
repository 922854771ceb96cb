/* Fuzz target: the batch answer -> pipeline id to latest build id
 * (pfs_v3_model_parse_latest_ids). Every id it yields must be safe to put in
 * a URL and a path. */
#include "fuzz.h"
#include "model.h"
#include "v3.h"
#include "names.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GHashTable *latest = NULL;
	GHashTableIter iter;
	gpointer pipeline_id, build_id;
	char err[256];

	if (pfs_v3_model_parse_latest_ids((const char *)data, size, &latest, err,
				       sizeof(err))) {
		FUZZ_CHECK(!latest && memchr(err, '\0', sizeof(err)));
		return 0;
	}
	FUZZ_CHECK(latest);
	g_hash_table_iter_init(&iter, latest);
	while (g_hash_table_iter_next(&iter, &pipeline_id, &build_id))
		FUZZ_CHECK(pfs_name_is_valid_id(pipeline_id) &&
			   pfs_name_is_valid_id(build_id));
	g_hash_table_destroy(latest);
	return 0;
}
