/* region.c - see region.h */
#include "region.h"

#include <glib.h>
#include <string.h>

struct region {
	const char *name;
	const char *pipeline_service;	/* first label of the API's host */
};

/* From Huawei's SDK (CodeArts Pipeline's region table): most regions
 * serve the API as cloudpipeline-ext, a few newer ones under other
 * names. */
static const struct region regions[] = {
	{ "cn-north-1", "cloudpipeline-ext" },
	{ "cn-north-4", "cloudpipeline-ext" },
	{ "cn-south-1", "cloudpipeline-ext" },
	{ "cn-south-2", "cloudpipeline-ext" },
	{ "cn-east-2", "cloudpipeline-ext" },
	{ "cn-east-3", "cloudpipeline-ext" },
	{ "cn-southwest-2", "cloudpipeline-ext" },
	{ "ap-southeast-3", "cloudpipeline-ext" },
	{ "sa-brazil-1", "cloudpipeline-ext" },
	{ "la-north-2", "cloudpipeline-ext" },
	{ "tr-west-1", "pipeline-external" },
	{ "la-south-2", "pipeline-external" },
	{ "af-north-1", "pipeline" },
	{ "me-east-1", "pipeline" },
	{ "af-south-1", "pipeline" },
};

static const struct region *find(const char *name)
{
	size_t i;

	for (i = 0; name && i < G_N_ELEMENTS(regions); i++)
		if (strcmp(regions[i].name, name) == 0)
			return &regions[i];
	return NULL;
}

bool pfs_region_known_name(const char *region)
{
	return find(region) != NULL;
}

char *pfs_region_endpoint(const char *region)
{
	const struct region *found = find(region);

	return found ? g_strdup_printf("https://%s.%s.myhuaweicloud.com",
				       found->pipeline_service, found->name)
		     : NULL;
}

char *pfs_region_iam_endpoint(const char *region)
{
	const struct region *found = find(region);

	return found ? g_strdup_printf("https://iam.%s.myhuaweicloud.com", found->name)
		     : NULL;
}

char *pfs_region_known(void)
{
	GString *list = g_string_new(NULL);
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(regions); i++)
		g_string_append_printf(list, "%s%s", i ? ", " : "", regions[i].name);
	return g_string_free(list, FALSE);
}
