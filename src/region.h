/* region.h - Huawei Cloud's host table: the CodeArts Pipeline and IAM base
 * URLs of a region (-o region=NAME).
 *
 * Pure lookups over a constant table: no I/O, no state, any thread. The
 * table follows Huawei's SDK (three host patterns for the pipeline API,
 * one for IAM); endpoint= and iam_endpoint= override it for a region it
 * does not know yet.
 */
#ifndef PFS_REGION_H
#define PFS_REGION_H

#include <stdbool.h>

/* Whether @region is in the table. */
bool pfs_region_known_name(const char *region);

/* The pipeline API base URL of @region ("https://HOST", no trailing '/'),
 * g_malloc'd; NULL when the region is not in the table. */
char *pfs_region_endpoint(const char *region);

/* The IAM base URL of @region (https://iam.REGION.myhuaweicloud.com),
 * g_malloc'd; NULL when the region is not in the table. */
char *pfs_region_iam_endpoint(const char *region);

/* Every region of the table, ", "-separated in the table's order, for an
 * error message: g_malloc'd. */
char *pfs_region_known(void);

#endif
