/* Unit tests for credentials.c: the SDKs' INI file as they write and read
 * it (comments, spaces, CRLF, other sections, missing keys), the
 * environment, and the file followed by token.c's watcher when keys
 * rotate; no message quotes a value. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credentials.h"
#include "log.h"
#include "token.h"

#define AK "QTWAOYTTINDUT2QVKYUC"
#define SK "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
#define STS "gQpjbi1ub3J0aC00jAH3bCaD1jy5LtF8Ao9lEtTZk"

static int parse(const char *text, struct pfs_credentials *out, char *err,
		 size_t errsize)
{
	return pfs_credentials_parse_ini(text, strlen(text), "/etc/creds", out,
					 err, errsize);
}

static void assert_parsed(const char *text, const char *ak, const char *sk,
			  const char *token)
{
	struct pfs_credentials c;
	char err[256] = "";

	if (parse(text, &c, err, sizeof(err)) != 0)
		g_error("refused %s: %s", text, err);
	g_assert_cmpstr(c.ak, ==, ak);
	g_assert_cmpstr(c.sk, ==, sk);
	g_assert_cmpstr(c.security_token, ==, token);
	pfs_credentials_clear(&c);
}

/* Refused with a message holding @words and none of the values. */
static void assert_refused(const char *text, const char *words)
{
	struct pfs_credentials c;
	char err[256] = "";

	g_assert_cmpint(parse(text, &c, err, sizeof(err)), ==, -EINVAL);
	g_assert_nonnull(strstr(err, words));
	g_assert_nonnull(strstr(err, "/etc/creds"));
	g_assert_null(strstr(err, SK));
	g_assert_null(strstr(err, "MFyfvK41"));
	g_assert_null(c.ak);
	g_assert_null(c.sk);
}

static void test_plain(void)
{
	assert_parsed("[basic]\nak = " AK "\nsk = " SK "\n", AK, SK, NULL);
	assert_parsed("[basic]\nak=" AK "\nsk=" SK "\nproject_id=0123\n"
		      "security_token=" STS "\n", AK, SK, STS);
	/* no newline at the end */
	assert_parsed("[basic]\nak=" AK "\nsk=" SK, AK, SK, NULL);
}

static void test_spaces_comments_crlf(void)
{
	assert_parsed("# written by hand\r\n; an SDK comment\r\n\r\n"
		      "  [basic]  \r\n\tak  =   " AK "   \r\n"
		      "   # sk = wrong\r\n sk =" SK "\t\r\n", AK, SK, NULL);
	/* a byte order mark first, as Notepad saves files */
	assert_parsed("\xef\xbb\xbf[basic]\r\nak=" AK "\r\nsk=" SK "\r\n", AK, SK, NULL);
	/* an empty security_token is none */
	assert_parsed("[basic]\nak=" AK "\nsk=" SK "\nsecurity_token =\n",
		      AK, SK, NULL);
}

static void test_other_sections_and_case(void)
{
	assert_parsed("[profile]\nak=other\nsk=other\n[basic]\nAK=" AK "\n"
		      "Sk=" SK "\n[later]\nsk=no\n", AK, SK, NULL);
	/* a key given twice: the last */
	assert_parsed("[basic]\nak=first\nak=" AK "\nsk=" SK "\n", AK, SK, NULL);
}

static void test_missing_and_bad(void)
{
	assert_refused("", "no [basic] section");
	assert_refused("[other]\nak=" AK "\nsk=" SK "\n", "no [basic] section");
	assert_refused("[basic]\nak=" AK "\n", "no sk");
	assert_refused("[basic]\nsk=" SK "\n", "no ak");
	assert_refused("[basic]\nak=" AK "\nsk=\n", "no sk");
	assert_refused("[basic]\nak=" AK "\nsk=" SK " and more\n", "spaces or control");
	/* not INI: GKeyFile's message would quote the line */
	assert_refused("sk: " SK "\n", "not an INI file");
	assert_refused("[basic]\nsk " SK "\n", "not an INI file");
}

static void test_pack(void)
{
	struct pfs_credentials in = { .ak = AK, .sk = SK, .security_token = STS };
	struct pfs_credentials out;
	char *packed = pfs_credentials_pack(&in);

	pfs_credentials_unpack(packed, &out);
	g_assert_cmpstr(out.ak, ==, AK);
	g_assert_cmpstr(out.sk, ==, SK);
	g_assert_cmpstr(out.security_token, ==, STS);
	pfs_credentials_clear(&out);
	g_free(packed);
	in.security_token = NULL;
	packed = pfs_credentials_pack(&in);
	pfs_credentials_unpack(packed, &out);
	g_assert_null(out.security_token);
	pfs_credentials_clear(&out);
	g_free(packed);
}

static void test_environment(void)
{
	struct pfs_credentials c;
	char err[256] = "";

	g_unsetenv("HUAWEICLOUD_SDK_AK");
	g_unsetenv("HUAWEICLOUD_SDK_SK");
	g_unsetenv("HUAWEICLOUD_SDK_SECURITY_TOKEN");
	g_assert_cmpint(pfs_credentials_from_env(&c, err, sizeof(err)), ==, -ENOENT);
	g_setenv("HUAWEICLOUD_SDK_AK", AK, TRUE);
	g_assert_cmpint(pfs_credentials_from_env(&c, err, sizeof(err)), ==, -EINVAL);
	g_assert_nonnull(strstr(err, "HUAWEICLOUD_SDK_SK is not set"));
	g_setenv("HUAWEICLOUD_SDK_SK", SK, TRUE);
	g_setenv("HUAWEICLOUD_SDK_SECURITY_TOKEN", STS, TRUE);
	g_assert_cmpint(pfs_credentials_from_env(&c, err, sizeof(err)), ==, 0);
	g_assert_cmpstr(c.ak, ==, AK);
	g_assert_cmpstr(c.sk, ==, SK);
	g_assert_cmpstr(c.security_token, ==, STS);
	/* the secrets leave the environment */
	g_assert_null(g_getenv("HUAWEICLOUD_SDK_SK"));
	g_assert_null(g_getenv("HUAWEICLOUD_SDK_SECURITY_TOKEN"));
	pfs_credentials_clear(&c);
	g_unsetenv("HUAWEICLOUD_SDK_AK");
}

static void test_default_path(void)
{
	char *path;

	g_setenv("HOME", "/home/u", TRUE);
	g_unsetenv("HUAWEICLOUD_SDK_CREDENTIALS_FILE");
	path = pfs_credentials_default_path();
	g_assert_cmpstr(path, ==, "/home/u/.huaweicloud/credentials");
	g_free(path);
	g_setenv("HUAWEICLOUD_SDK_CREDENTIALS_FILE", "/etc/creds", TRUE);
	path = pfs_credentials_default_path();
	g_assert_cmpstr(path, ==, "/etc/creds");
	g_free(path);
	g_unsetenv("HUAWEICLOUD_SDK_CREDENTIALS_FILE");
}

static void put_file(const char *dir, const char *path, const char *text)
{
	char *next = g_build_filename(dir, "next", NULL);

	g_assert_true(g_file_set_contents(next, text, -1, NULL));
	g_assert_cmpint(chmod(next, 0600), ==, 0);
	g_assert_cmpint(rename(next, path), ==, 0);
	g_free(next);
}

static void assert_keys(struct pfs_token *token, const char *ak, const char *sk)
{
	struct pfs_credentials c;
	char *packed = NULL;

	g_assert_cmpint(pfs_token_get(token, &packed), ==, 0);
	pfs_credentials_unpack(packed, &c);
	g_assert_cmpstr(c.ak, ==, ak);
	g_assert_cmpstr(c.sk, ==, sk);
	pfs_credentials_clear(&c);
	pfs_token_release(packed);
}

/* The file is followed as a token file is: rotated keys are taken, a
 * broken file keeps the last good keys. */
static void test_followed(void)
{
	char *dir = g_dir_make_tmp("pfs-creds-XXXXXX", NULL);
	char *path = g_build_filename(dir, "credentials", NULL);
	struct pfs_token *token = NULL;
	unsigned first, second, third;
	char err[256] = "";

	put_file(dir, path, "[basic]\nak=" AK "\nsk=" SK "\n");
	g_assert_cmpint(pfs_token_new_from_file_as(path, &pfs_credentials_format,
						   &token, err, sizeof(err)), ==, 0);
	g_assert_cmpint(pfs_token_start(token), ==, 0);
	g_assert_cmpint(pfs_token_look(token, 5000, &first), ==, 0);
	assert_keys(token, AK, SK);
	put_file(dir, path, "[basic]\nak=NEWAK\nsk=NEWSK-0123456789abcdef\n");
	g_assert_cmpint(pfs_token_look(token, 5000, &second), ==, 0);
	g_assert_cmpuint(second, !=, first);
	assert_keys(token, "NEWAK", "NEWSK-0123456789abcdef");
	put_file(dir, path, "[basic]\nak=NEWAK\n");
	g_assert_cmpint(pfs_token_look(token, 5000, &third), ==, 0);
	g_assert_cmpuint(third, ==, second);
	assert_keys(token, "NEWAK", "NEWSK-0123456789abcdef");
	pfs_token_free(token);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	pfs_log_init(1, 0);
	g_test_add_func("/credentials/plain", test_plain);
	g_test_add_func("/credentials/spaces_comments_crlf", test_spaces_comments_crlf);
	g_test_add_func("/credentials/other_sections_and_case",
			test_other_sections_and_case);
	g_test_add_func("/credentials/missing_and_bad", test_missing_and_bad);
	g_test_add_func("/credentials/pack", test_pack);
	g_test_add_func("/credentials/environment", test_environment);
	g_test_add_func("/credentials/default_path", test_default_path);
	g_test_add_func("/credentials/followed", test_followed);
	return g_test_run();
}
