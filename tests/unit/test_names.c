/* Unit tests for names.c: which ids are safe, and file names from API text. */
#include <glib.h>
#include <string.h>

#include "names.h"

static void test_plain_ids_are_valid(void)
{
	g_assert_true(pfs_name_is_valid_id("8025ba36a87a4dd5af496708c2961817"));
	g_assert_true(pfs_name_is_valid_id("23"));
	g_assert_true(pfs_name_is_valid_id("build_1.2-rc"));
	g_assert_true(pfs_name_is_valid_id("..."));
}

static void test_weird_ids_are_refused(void)
{
	char long_id[130];

	g_assert_false(pfs_name_is_valid_id(""));
	g_assert_false(pfs_name_is_valid_id("."));
	g_assert_false(pfs_name_is_valid_id(".."));
	g_assert_false(pfs_name_is_valid_id("a b"));
	g_assert_false(pfs_name_is_valid_id("a/b"));
	g_assert_false(pfs_name_is_valid_id("a?build_id=1"));
	g_assert_false(pfs_name_is_valid_id("a%2f"));
	g_assert_false(pfs_name_is_valid_id("构建"));
	g_assert_false(pfs_name_is_valid_id(NULL));
	memset(long_id, 'a', 129);
	long_id[129] = '\0';
	g_assert_false(pfs_name_is_valid_id(long_id));
	long_id[128] = '\0';
	g_assert_true(pfs_name_is_valid_id(long_id));
}

static void sanitize(char *out, const char *name, const char *fallback)
{
	pfs_name_sanitize(out, name, name ? strlen(name) : 0, fallback);
}

static void test_slash_and_control_characters_become_underscores(void)
{
	char out[PFS_NAME_MAX + 1];

	sanitize(out, "build/test", "s1");
	g_assert_cmpstr(out, ==, "build_test");
	sanitize(out, "a\nb\tc\x1b[31m\x7f", "s1");
	g_assert_cmpstr(out, ==, "a_b_c_[31m_");
	sanitize(out, "构建", "s1");
	g_assert_cmpstr(out, ==, "构建");
}

static void sanitize_len(char *out, const char *name, size_t len)
{
	pfs_name_sanitize(out, name, len, "fallback");
}

/* C1 controls are treated as C0 ones whether they come as characters
 * (U+0080-U+009F) or as raw bytes outside any well-formed character. */
static void test_c1_control_characters_become_underscores(void)
{
	char out[PFS_NAME_MAX + 1];

	sanitize(out, "a\xc2\x85" "b\xc2\x80\xc2\x9f" "c", "s1");
	g_assert_cmpstr(out, ==, "a_b__c");
	sanitize(out, "\x9b" "31m\x85x\x80\x9f", "s1");
	g_assert_cmpstr(out, ==, "_31m_x__");
	/* U+00A0 and U+00FF are not controls */
	sanitize(out, "\xc2\xa0\xc3\xbf", "s1");
	g_assert_cmpstr(out, ==, "\xc2\xa0\xc3\xbf");
	/* a lone C2 is no character: it stays, the 0x85 after it does not */
	sanitize(out, "\xc2" "a\xc2", "s1");
	g_assert_cmpstr(out, ==, "\xc2" "a\xc2");
	/* continuation bytes in 0x80-0x9F of well-formed characters stay:
	 * 构 is E6 9E 84, 𝄞 is F0 9D 84 9E */
	sanitize(out, "构建\xf0\x9d\x84\x9e", "s1");
	g_assert_cmpstr(out, ==, "构建\xf0\x9d\x84\x9e");
	/* ... but not those of a cut, overlong or surrogate sequence */
	sanitize(out, "\xe6\x9e", "s1");
	g_assert_cmpstr(out, ==, "\xe6_");
	sanitize(out, "\xe6\x9e" "a", "s1");
	g_assert_cmpstr(out, ==, "\xe6_a");
	sanitize(out, "\xc0\x80\xe0\x80\x80", "s1");
	g_assert_cmpstr(out, ==, "\xc0_\xe0__");
	sanitize(out, "\xed\xa0\x80", "s1");
	g_assert_cmpstr(out, ==, "\xed\xa0_");
	sanitize_len(out, "\xc2\x85", 1);
	g_assert_cmpstr(out, ==, "\xc2");
}

/* The 255-byte cut counts what is written and never splits a character,
 * and a C1 character written as one '_' counts one byte. */
static void test_cut_with_c1_characters(void)
{
	char name[400], out[PFS_NAME_MAX + 1];

	memset(name, 'a', 254);
	memcpy(name + 254, "构", 3);
	sanitize_len(out, name, 257);
	g_assert_cmpuint(strlen(out), ==, 254);
	memcpy(name + 254, "\xc2\x85", 2);
	sanitize_len(out, name, 256);
	g_assert_cmpuint(strlen(out), ==, 255);
	g_assert_cmpint(out[254], ==, '_');
	memset(name, 0x85, 300);
	sanitize_len(out, name, 300);
	g_assert_cmpuint(strlen(out), ==, 255);
	g_assert_cmpuint(strspn(out, "_"), ==, 255);
	for (int i = 0; i < 130; i++)
		memcpy(name + 2 * i, "\xc2\x9f", 2);
	sanitize_len(out, name, 260);
	g_assert_cmpuint(strspn(out, "_"), ==, 130);
	g_assert_cmpuint(strlen(out), ==, 130);
}

static void test_embedded_nul_is_replaced(void)
{
	char out[PFS_NAME_MAX + 1];

	pfs_name_sanitize(out, "a\0b", 3, "x");
	g_assert_cmpstr(out, ==, "a_b");
}

static void test_empty_and_dot_names_fall_back_to_the_id(void)
{
	char out[PFS_NAME_MAX + 1];

	sanitize(out, "", "state_4");
	g_assert_cmpstr(out, ==, "state_4");
	sanitize(out, ".", "state_4");
	g_assert_cmpstr(out, ==, "state_4");
	sanitize(out, "..", "Task/1");
	g_assert_cmpstr(out, ==, "Task_1");
	sanitize(out, NULL, "state_4");
	g_assert_cmpstr(out, ==, "state_4");
	sanitize(out, "..", "..");
	g_assert_cmpstr(out, ==, "_");
}

static void test_long_names_are_cut_on_a_utf8_boundary(void)
{
	GString *name = g_string_new(NULL);
	char out[PFS_NAME_MAX + 1];
	int i;

	/* 100 three-byte characters: 300 bytes; 255 is mid-character */
	for (i = 0; i < 100; i++)
		g_string_append(name, "构");
	sanitize(out, name->str, "x");
	g_assert_cmpuint(strlen(out), ==, 255);
	g_assert_true(g_utf8_validate(out, -1, NULL));
	g_string_assign(name, "a");
	for (i = 0; i < 100; i++)
		g_string_append(name, "构");
	sanitize(out, name->str, "x");
	g_assert_cmpuint(strlen(out), ==, 253);
	g_assert_true(g_utf8_validate(out, -1, NULL));
	g_string_free(name, TRUE);
}

static bool in_list(const char *name, void *ctx)
{
	const char *const *list = ctx;

	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

static void test_duplicates_get_a_counter(void)
{
	const char *taken[] = { "build", "build~2", NULL };
	char name[PFS_NAME_MAX + 1] = "build";

	pfs_name_make_unique(name, in_list, taken, 2);
	g_assert_cmpstr(name, ==, "build~3");
	strcpy(name, "test");
	g_assert_cmpuint(pfs_name_make_unique(name, in_list, taken, 2), ==, 0);
	g_assert_cmpstr(name, ==, "test");
	strcpy(name, "build");
	g_assert_cmpuint(pfs_name_make_unique(name, in_list, taken, 7), ==, 7);
	g_assert_cmpstr(name, ==, "build~7");
}

static void test_unique_long_names_stay_within_255_bytes(void)
{
	char name[PFS_NAME_MAX + 1];
	char first[PFS_NAME_MAX + 1];
	const char *taken[] = { first, NULL };

	memset(name, 'x', PFS_NAME_MAX);
	name[PFS_NAME_MAX] = '\0';
	strcpy(first, name);
	pfs_name_make_unique(name, in_list, taken, 2);
	g_assert_cmpuint(strlen(name), ==, PFS_NAME_MAX);
	g_assert_true(g_str_has_suffix(name, "x~2"));
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/names/plain_ids_are_valid", test_plain_ids_are_valid);
	g_test_add_func("/names/weird_ids_are_refused", test_weird_ids_are_refused);
	g_test_add_func("/names/slash_and_control_characters_become_underscores",
			test_slash_and_control_characters_become_underscores);
	g_test_add_func("/names/c1_control_characters_become_underscores",
			test_c1_control_characters_become_underscores);
	g_test_add_func("/names/cut_with_c1_characters", test_cut_with_c1_characters);
	g_test_add_func("/names/embedded_nul_is_replaced", test_embedded_nul_is_replaced);
	g_test_add_func("/names/empty_and_dot_names_fall_back_to_the_id",
			test_empty_and_dot_names_fall_back_to_the_id);
	g_test_add_func("/names/long_names_are_cut_on_a_utf8_boundary",
			test_long_names_are_cut_on_a_utf8_boundary);
	g_test_add_func("/names/duplicates_get_a_counter", test_duplicates_get_a_counter);
	g_test_add_func("/names/unique_long_names_stay_within_255_bytes",
			test_unique_long_names_stay_within_255_bytes);
	return g_test_run();
}
