/* credentials.c - see credentials.h */
#include "credentials.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void wipe(char *text)
{
	if (text) {
		explicit_bzero(text, strlen(text));
		g_free(text);
	}
}

void pfs_credentials_clear(struct pfs_credentials *creds)
{
	wipe(creds->ak);
	wipe(creds->sk);
	wipe(creds->security_token);
	memset(creds, 0, sizeof(*creds));
}

/* A value that can go in a header as is: not empty, printable ASCII with
 * no space (keys and tokens never have one). */
static bool usable(const char *value)
{
	const unsigned char *c;

	if (!value || !*value)
		return false;
	for (c = (const unsigned char *)value; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return false;
	return true;
}

/* @text as GKeyFile reads it: lines ending in CRLF lose the CR, lines
 * that are ';' comments (the SDKs' readers take them, GKeyFile not) go,
 * white space around each line goes. The copy holds the secrets: the
 * caller wipes it. */
static GString *normalise(const char *text, size_t len)
{
	GString *out = g_string_sized_new(len + 1);
	const char *s = text, *end = text + len;

	/* the byte order mark editors such as Notepad put first */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		const char *b = s;

		while (b < e && g_ascii_isspace(*b))
			b++;
		while (e > b && g_ascii_isspace(e[-1]))
			e--;
		if (b < e && *b != ';')
			g_string_append_len(out, b, e - b);
		g_string_append_c(out, '\n');
		s = nl ? nl + 1 : end;
	}
	return out;
}

/* The value of @name in [basic], names compared without case as the
 * SDKs' readers do; the last one given wins. g_malloc'd, trimmed, or
 * NULL. */
static char *basic_value(GKeyFile *file, const char *name)
{
	char **keys = g_key_file_get_keys(file, "basic", NULL, NULL);
	char *value = NULL;
	char **k;

	for (k = keys; k && *k; k++) {
		if (g_ascii_strcasecmp(*k, name) != 0)
			continue;
		wipe(value);
		value = g_key_file_get_value(file, "basic", *k, NULL);
		if (value)
			g_strstrip(value);
	}
	g_strfreev(keys);
	return value;
}

/* @where: "credentials file PATH", "the environment". */
static int check_values(const char *where, struct pfs_credentials *out,
			char *err, size_t errsize)
{
	const char *missing = !out->ak || !*out->ak ? "ak" :
			      !out->sk || !*out->sk ? "sk" : NULL;

	if (missing) {
		snprintf(err, errsize, "%s has no %s in its [basic] section",
			 where, missing);
		return -EINVAL;
	}
	if (out->security_token && !*out->security_token)
		g_clear_pointer(&out->security_token, g_free);
	if (!usable(out->ak) || !usable(out->sk) ||
	    (out->security_token && !usable(out->security_token))) {
		snprintf(err, errsize, "%s: a value of ak, sk or security_token "
			 "has spaces or control characters inside", where);
		return -EINVAL;
	}
	return 0;
}

int pfs_credentials_parse_ini(const char *text, size_t len, const char *path,
			      struct pfs_credentials *out, char *err,
			      size_t errsize)
{
	GString *clean = normalise(text, len);
	GKeyFile *file = g_key_file_new();
	int res = 0;

	memset(out, 0, sizeof(*out));
	/* GKeyFile's own message may quote the line, secret and all */
	if (!g_key_file_load_from_data(file, clean->str, clean->len,
				       G_KEY_FILE_NONE, NULL)) {
		snprintf(err, errsize, "credentials file %s is not an INI file "
			 "(sections in [brackets], then name = value lines)", path);
		res = -EINVAL;
	} else if (!g_key_file_has_group(file, "basic")) {
		snprintf(err, errsize, "credentials file %s has no [basic] section",
			 path);
		res = -EINVAL;
	} else {
		char *where = g_strconcat("credentials file ", path, NULL);

		out->ak = basic_value(file, "ak");
		out->sk = basic_value(file, "sk");
		out->security_token = basic_value(file, "security_token");
		res = check_values(where, out, err, errsize);
		g_free(where);
	}
	if (res < 0)
		pfs_credentials_clear(out);
	g_key_file_free(file);
	explicit_bzero(clean->str, clean->len);
	g_string_free(clean, TRUE);
	return res;
}

/* Takes the variable @name: a copy, and the environment's wiped. */
static char *take_env(const char *name, bool wipe_it)
{
	char *value = getenv(name);
	char *copy;

	if (!value || !*value)
		return NULL;
	copy = g_strstrip(g_strdup(value));
	if (wipe_it) {
		explicit_bzero(value, strlen(value));
		unsetenv(name);
	}
	return copy;
}

int pfs_credentials_from_env(struct pfs_credentials *out, char *err,
			     size_t errsize)
{
	memset(out, 0, sizeof(*out));
	out->ak = take_env("HUAWEICLOUD_SDK_AK", false);
	out->sk = take_env("HUAWEICLOUD_SDK_SK", true);
	out->security_token = take_env("HUAWEICLOUD_SDK_SECURITY_TOKEN", true);
	if (!out->ak && !out->sk) {
		pfs_credentials_clear(out);
		return -ENOENT;
	}
	if (check_values("HUAWEICLOUD_SDK_AK/_SK/_SECURITY_TOKEN", out, err,
			 errsize) < 0) {
		if (!out->ak || !out->sk)
			snprintf(err, errsize, "HUAWEICLOUD_SDK_%s is not set, "
				 "HUAWEICLOUD_SDK_%s is: set both or neither",
				 out->ak ? "SK" : "AK", out->ak ? "AK" : "SK");
		pfs_credentials_clear(out);
		return -EINVAL;
	}
	return 0;
}

char *pfs_credentials_default_path(void)
{
	const char *from_env = getenv("HUAWEICLOUD_SDK_CREDENTIALS_FILE");
	const char *home = getenv("HOME");

	if (from_env && *from_env)
		return g_strdup(from_env);
	return home && *home ? g_build_filename(home, ".huaweicloud",
						"credentials", NULL)
			     : NULL;
}

char *pfs_credentials_pack(const struct pfs_credentials *creds)
{
	return g_strconcat(creds->ak, "\n", creds->sk, "\n",
			   creds->security_token ? creds->security_token : "",
			   NULL);
}

void pfs_credentials_unpack(const char *packed, struct pfs_credentials *out)
{
	char **parts = g_strsplit(packed, "\n", 3);
	char **p;

	out->ak = g_strdup(parts[0]);
	out->sk = g_strdup(parts[0] ? parts[1] : NULL);
	out->security_token = parts[0] && parts[1] && parts[2] && *parts[2]
			      ? g_strdup(parts[2]) : NULL;
	for (p = parts; *p; p++)
		explicit_bzero(*p, strlen(*p));
	g_strfreev(parts);
}

static char *parse_file(const char *text, size_t len, const char *path,
			char *err, size_t errsize)
{
	struct pfs_credentials creds;
	char *packed;

	if (pfs_credentials_parse_ini(text, len, path, &creds, err, errsize) < 0)
		return NULL;
	packed = pfs_credentials_pack(&creds);
	pfs_credentials_clear(&creds);
	return packed;
}

const struct pfs_token_format pfs_credentials_format = {
	.what = "credentials file",
	.noun = "keys",
	.parse = parse_file,
};
