/* Unit tests for region.c: the hosts each region picks, and the error list. */
#include <glib.h>
#include <string.h>

#include "region.h"

static void assert_hosts(const char *region, const char *endpoint, const char *iam)
{
	char *got_endpoint = pfs_region_endpoint(region);
	char *got_iam = pfs_region_iam_endpoint(region);

	g_assert_true(pfs_region_known_name(region));
	g_assert_cmpstr(got_endpoint, ==, endpoint);
	g_assert_cmpstr(got_iam, ==, iam);
	g_free(got_endpoint);
	g_free(got_iam);
}

static void test_each_host_pattern(void)
{
	assert_hosts("cn-north-4", "https://cloudpipeline-ext.cn-north-4.myhuaweicloud.com",
		     "https://iam.cn-north-4.myhuaweicloud.com");
	assert_hosts("ap-southeast-3",
		     "https://cloudpipeline-ext.ap-southeast-3.myhuaweicloud.com",
		     "https://iam.ap-southeast-3.myhuaweicloud.com");
	assert_hosts("tr-west-1", "https://pipeline-external.tr-west-1.myhuaweicloud.com",
		     "https://iam.tr-west-1.myhuaweicloud.com");
	assert_hosts("la-south-2", "https://pipeline-external.la-south-2.myhuaweicloud.com",
		     "https://iam.la-south-2.myhuaweicloud.com");
	assert_hosts("af-north-1", "https://pipeline.af-north-1.myhuaweicloud.com",
		     "https://iam.af-north-1.myhuaweicloud.com");
	assert_hosts("me-east-1", "https://pipeline.me-east-1.myhuaweicloud.com",
		     "https://iam.me-east-1.myhuaweicloud.com");
}

static void test_unknown_regions_have_no_hosts(void)
{
	static const char *const unknown[] = { "", "cn-north", "CN-NORTH-4", "cn-north-4 ",
					       "xx-nowhere-9", NULL };
	const char *const *region;

	for (region = unknown; *region; region++) {
		g_assert_false(pfs_region_known_name(*region));
		g_assert_null(pfs_region_endpoint(*region));
		g_assert_null(pfs_region_iam_endpoint(*region));
	}
	g_assert_false(pfs_region_known_name(NULL));
}

static void test_known_lists_all_fifteen(void)
{
	char *known = pfs_region_known();
	char **names = g_strsplit(known, ", ", -1);
	char **name;

	g_assert_cmpuint(g_strv_length(names), ==, 15);
	for (name = names; *name; name++)
		g_assert_true(pfs_region_known_name(*name));
	g_assert_true(g_str_has_prefix(known, "cn-north-1, cn-north-4, "));
	g_strfreev(names);
	g_free(known);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/region/each_host_pattern", test_each_host_pattern);
	g_test_add_func("/region/unknown_regions_have_no_hosts",
			test_unknown_regions_have_no_hosts);
	g_test_add_func("/region/known_lists_all_fifteen", test_known_lists_all_fifteen);
	return g_test_run();
}
