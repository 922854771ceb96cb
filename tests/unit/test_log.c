/* Unit tests for log.c: the filter every log line goes through (control
 * characters, bytes that are not UTF-8, cutting) and secret redaction. */
#include <glib.h>
#include <string.h>

#include "log.h"
#include "log_capture.h"

/* 40 characters, as a quoted IAM token would look to the filter */
#define SECRET "MIIZbAYJKoZIhvcNAQcCoIIZXTCCGVkCAQExDTAL"

static char *clean(char *buf, size_t size, const char *text)
{
	return pfs_log_clean(buf, size, text, strlen(text));
}

static void assert_no_piece_of(const char *text, const char *secret)
{
	size_t i, n = strlen(secret);

	for (i = 0; i + PFS_LOG_SECRET_PIECE <= n; i++) {
		char *piece = g_strndup(secret + i, PFS_LOG_SECRET_PIECE);

		if (strstr(text, piece))
			g_error("\"%s\" holds \"%s\"", text, piece);
		g_free(piece);
	}
}

static void test_c0_controls_become_question_marks(void)
{
	char buf[64];

	g_assert_cmpstr(clean(buf, sizeof(buf), "a\nb\tc\x1b[31m\x7f"), ==,
			"a?b?c?[31m?");
	g_assert_cmpstr(pfs_log_clean(buf, sizeof(buf), "a\0b", 3), ==, "a?b");
	g_assert_cmpstr(pfs_log_clean(buf, sizeof(buf), NULL, 5), ==, "");
}

static void test_c1_controls_become_question_marks(void)
{
	char buf[64];

	/* U+0080..U+009F in UTF-8: one '?' a character */
	g_assert_cmpstr(clean(buf, sizeof(buf), "a\xc2\x80" "b\xc2\x9b" "31m\xc2\x9f"),
			==, "a?b?31m?");
	/* raw 0x80..0x9F, not part of any character: one '?' a byte */
	g_assert_cmpstr(clean(buf, sizeof(buf), "a\x80\x9b" "31m\x9f" "b"), ==,
			"a??31m?b");
	/* U+00A0 is no control character */
	g_assert_cmpstr(clean(buf, sizeof(buf), "a\xc2\xa0" "b"), ==, "a\xc2\xa0" "b");
}

static void test_bytes_that_are_not_utf8_become_question_marks(void)
{
	char buf[64];

	g_assert_cmpstr(clean(buf, sizeof(buf), "\xff\xfe" "a"), ==, "??a");
	g_assert_cmpstr(clean(buf, sizeof(buf), "\xc0\xaf" "a"), ==, "??a");	/* overlong '/' */
	g_assert_cmpstr(clean(buf, sizeof(buf), "\xed\xa0\x80"), ==, "???");	/* surrogate */
	g_assert_cmpstr(clean(buf, sizeof(buf), "\xf4\x90\x80\x80"), ==, "????"); /* > U+10FFFF */
	g_assert_cmpstr(clean(buf, sizeof(buf), "a\xe6\x9e"), ==, "a??");	/* cut short */
	g_assert_cmpstr(clean(buf, sizeof(buf), "\xe6" "a\x84"), ==, "?a?");
}

static void test_valid_utf8_is_kept(void)
{
	char buf[64];

	g_assert_cmpstr(clean(buf, sizeof(buf), "构建 \xf0\x9f\x9a\x80 ok"), ==,
			"构建 \xf0\x9f\x9a\x80 ok");
}

static void test_cutting_never_splits_a_character(void)
{
	char buf[64];
	size_t size;

	/* every size, so that the cut falls on every byte of a character */
	for (size = 4; size < 16; size++) {
		clean(buf, size, "ab构建构建构建");
		g_assert_true(g_utf8_validate(buf, -1, NULL));
		g_assert_true(g_str_has_suffix(buf, "..."));
		g_assert_cmpuint(strlen(buf), <, size);
	}
	g_assert_cmpstr(clean(buf, 8, "ab构建构建"), ==, "ab...");
	g_assert_cmpstr(clean(buf, 9, "ab构建构建"), ==, "ab构...");
	g_assert_cmpstr(clean(buf, 7, "abcdef"), ==, "abcdef");
	g_assert_cmpstr(clean(buf, 7, "abcdefg"), ==, "abc...");
	g_assert_cmpstr(clean(buf, 3, "abcdefg"), ==, "ab");
}

static void test_secrets_are_redacted(void)
{
	char buf[256];

	pfs_log_add_secret(SECRET);
	g_assert_cmpstr(clean(buf, sizeof(buf), "token '" SECRET "' expired, "
			      "token '" SECRET "'"), ==,
			"token '[redacted]' expired, token '[redacted]'");
	/* a token someone cut short, with at least 16 characters left */
	g_assert_cmpstr(clean(buf, sizeof(buf), "echo: X-Auth-Token: MIIZbAYJKoZIhvcN..."),
			==, "echo: X-Auth-Token: [redacted]...");
	g_assert_cmpstr(clean(buf, sizeof(buf), "MIIZbAYJKoZIhvcNAQcCoIIZ\n"), ==,
			"[redacted]?");
	/* a piece from the middle, cut at both ends */
	g_assert_cmpstr(clean(buf, sizeof(buf), "[KoZIhvcNAQcCoIIZXTC]"), ==,
			"[[redacted]]");
	/* 15 characters say nothing, and may be anything */
	g_assert_cmpstr(clean(buf, sizeof(buf), "MIIZbAYJKoZIhvc"), ==, "MIIZbAYJKoZIhvc");
	pfs_log_remove_secret(SECRET);
	g_assert_cmpstr(clean(buf, sizeof(buf), SECRET), ==, SECRET);
}

static void test_redaction_comes_before_cutting(void)
{
	char buf[32];

	pfs_log_add_secret(SECRET);
	/* cut first, 'token=' and 25 characters of the secret would remain */
	clean(buf, sizeof(buf), "token=" SECRET " is refused");
	assert_no_piece_of(buf, SECRET);
	g_assert_cmpstr(buf, ==, "token=[redacted] is refused");
	clean(buf, 20, "token=" SECRET);
	assert_no_piece_of(buf, SECRET);
	g_assert_cmpstr(buf, ==, "token=[redacted]");
	clean(buf, 12, "token=" SECRET);
	g_assert_cmpstr(buf, ==, "token=...");
	pfs_log_remove_secret(SECRET);
}

static void test_short_secrets_only_whole(void)
{
	char buf[64];

	pfs_log_add_secret("test-token");
	g_assert_cmpstr(clean(buf, sizeof(buf), "a test-token, a test-tok"), ==,
			"a [redacted], a test-tok");
	pfs_log_remove_secret("test-token");
}

static void test_registrations_are_counted(void)
{
	char buf[64];

	pfs_log_add_secret(SECRET);
	pfs_log_add_secret(SECRET);
	pfs_log_add_secret("");
	pfs_log_add_secret(NULL);
	pfs_log_remove_secret(SECRET);
	g_assert_cmpstr(clean(buf, sizeof(buf), SECRET), ==, "[redacted]");
	pfs_log_remove_secret(SECRET);
	pfs_log_remove_secret("never added");
	g_assert_cmpstr(clean(buf, sizeof(buf), SECRET), ==, SECRET);
}

/* Every piece of 16 characters, whatever the text around it. */
static void test_every_piece_is_found(void)
{
	char text[128], buf[128];
	size_t i;

	pfs_log_add_secret(SECRET);
	for (i = 0; i + PFS_LOG_SECRET_PIECE <= strlen(SECRET); i++) {
		g_snprintf(text, sizeof(text), "x%.*sy", PFS_LOG_SECRET_PIECE, &SECRET[i]);
		g_assert_cmpstr(clean(buf, sizeof(buf), text), ==, "x[redacted]y");
	}
	pfs_log_remove_secret(SECRET);
}

static void test_several_secrets(void)
{
	char buf[128];

	pfs_log_add_secret(SECRET);
	pfs_log_add_secret("second-secret-0123456789");
	g_assert_cmpstr(clean(buf, sizeof(buf), "second-secret-0123456789 " SECRET
			      " second-secret-01234"), ==,
			"[redacted] [redacted] [redacted]");
	pfs_log_remove_secret("second-secret-0123456789");
	pfs_log_remove_secret(SECRET);
}

static void test_log_lines_are_clean_and_redacted(void)
{
	char *text, *line, *expected;

	pfs_log_add_secret(SECRET);
	capture_start();
	pfs_log_warn("GET /x: HTTP 401 APIG.0301 token %s\nfake line\xc2\x9b", SECRET);
	line = g_strnfill(3 * PFS_LOG_LINE_MAX, 'x');
	pfs_log_warn("%s%s", line, SECRET);
	g_free(line);
	text = capture_end();
	pfs_log_remove_secret(SECRET);
	line = g_strnfill(PFS_LOG_LINE_MAX - 3, 'x');
	expected = g_strdup_printf("pipelinefs: GET /x: HTTP 401 APIG.0301 token "
				   "[redacted]?fake line?\npipelinefs: %s...\n", line);
	g_assert_cmpstr(text, ==, expected);
	assert_no_piece_of(text, SECRET);
	g_free(expected);
	g_free(line);
	g_free(text);
}

/* Readers clean while a writer changes the registry: nothing breaks,
 * and a secret that stays registered throughout is always redacted. */
static gpointer churn(gpointer stop)
{
	unsigned i = 0;

	while (!g_atomic_int_get((gint *)stop)) {
		char *other = g_strdup_printf("another-secret-%u-abcdefgh", i++ % 7);

		pfs_log_add_secret(other);
		pfs_log_remove_secret(other);
		g_free(other);
	}
	return NULL;
}

static void test_registry_is_thread_safe(void)
{
	gint stop = 0;
	GThread *writer;
	char buf[128];
	int i;

	pfs_log_add_secret(SECRET);
	writer = g_thread_new("churn", churn, &stop);
	for (i = 0; i < 20000; i++)
		g_assert_cmpstr(clean(buf, sizeof(buf), "t=" SECRET), ==, "t=[redacted]");
	g_atomic_int_set(&stop, 1);
	g_thread_join(writer);
	pfs_log_remove_secret(SECRET);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/log/c0_controls_become_question_marks",
			test_c0_controls_become_question_marks);
	g_test_add_func("/log/c1_controls_become_question_marks",
			test_c1_controls_become_question_marks);
	g_test_add_func("/log/bytes_that_are_not_utf8_become_question_marks",
			test_bytes_that_are_not_utf8_become_question_marks);
	g_test_add_func("/log/valid_utf8_is_kept", test_valid_utf8_is_kept);
	g_test_add_func("/log/cutting_never_splits_a_character",
			test_cutting_never_splits_a_character);
	g_test_add_func("/log/secrets_are_redacted", test_secrets_are_redacted);
	g_test_add_func("/log/redaction_comes_before_cutting",
			test_redaction_comes_before_cutting);
	g_test_add_func("/log/short_secrets_only_whole", test_short_secrets_only_whole);
	g_test_add_func("/log/registrations_are_counted", test_registrations_are_counted);
	g_test_add_func("/log/every_piece_is_found", test_every_piece_is_found);
	g_test_add_func("/log/several_secrets", test_several_secrets);
	g_test_add_func("/log/log_lines_are_clean_and_redacted",
			test_log_lines_are_clean_and_redacted);
	g_test_add_func("/log/registry_is_thread_safe", test_registry_is_thread_safe);
	return g_test_run();
}
