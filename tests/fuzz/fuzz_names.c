/* Fuzz target: file names from untrusted text (pfs_name_sanitize,
 * pfs_name_make_unique) and the id check (pfs_name_is_valid_id).
 *
 * The input is the name; its first byte also says how many of the
 * "~N" variants of the name are taken, to drive make_unique's cutting. */
#include "fuzz.h"
#include "names.h"

#include <glib.h>
#include <string.h>

/* A byte sequence a terminal could act on, or a path separator. */
static bool has_unsafe_byte(const char *name)
{
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++) {
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return true;
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return true;
	}
	return false;
}

static void check_safe(const char *name)
{
	char again[PFS_NAME_MAX + 1];
	size_t len = strlen(name);

	FUZZ_CHECK(len >= 1 && len <= PFS_NAME_MAX);
	FUZZ_CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
	FUZZ_CHECK(!has_unsafe_byte(name));
	pfs_name_sanitize(again, name, len, NULL);
	FUZZ_CHECK(strcmp(again, name) == 0);
}

struct taken {
	const char *base;
	unsigned up_to;	/* base and base~2 .. base~up_to are taken */
	unsigned tries;
};

static bool is_taken(const char *name, void *ctx)
{
	struct taken *t = ctx;
	const char *tilde = strrchr(name, '~');

	t->tries++;
	FUZZ_CHECK(strlen(name) <= PFS_NAME_MAX);
	if (strcmp(name, t->base) == 0)
		return true;
	return tilde && strtoul(tilde + 1, NULL, 10) <= t->up_to &&
	       strncmp(name, t->base, (size_t)(tilde - name)) == 0;
}

static void check_unique(const char *safe, unsigned up_to)
{
	char name[PFS_NAME_MAX + 1];
	struct taken t = { safe, up_to, 0 };
	unsigned used;

	strcpy(name, safe);
	used = pfs_name_make_unique(name, is_taken, &t, 2);
	/* every N up to up_to is taken, and so may be N a little past it when
	 * the name already ends in "~N" and cutting gives the name back */
	FUZZ_CHECK(used >= 2 && used > up_to && used <= MAX(2, up_to + 1) + 1);
	FUZZ_CHECK(t.tries == used);
	FUZZ_CHECK(!is_taken(name, &t));
	FUZZ_CHECK(strlen(name) <= PFS_NAME_MAX);
	/* the base was cut between characters: it is still safe */
	*strrchr(name, '~') = '\0';
	FUZZ_CHECK(strncmp(name, safe, strlen(name)) == 0);
	check_safe(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[PFS_NAME_MAX + 1], fallback_out[PFS_NAME_MAX + 1];
	char *text = g_strndup((const char *)data, size);	/* to the first NUL */

	pfs_name_sanitize(out, (const char *)data, size, "fallback");
	check_safe(out);
	/* text that is already a safe name is kept as it is */
	if (size <= PFS_NAME_MAX && strlen(text) == size &&
	    g_utf8_validate(text, (gssize)size, NULL) && !has_unsafe_byte(text) &&
	    strcmp(text, "") && strcmp(text, ".") && strcmp(text, ".."))
		FUZZ_CHECK(strcmp(out, text) == 0);
	pfs_name_sanitize(fallback_out, NULL, 0, text);
	check_safe(fallback_out);
	if (pfs_name_is_valid_id(text)) {
		FUZZ_CHECK(strlen(text) <= PFS_ID_MAX);
		FUZZ_CHECK(strcmp(fallback_out, text) == 0);
	}
	check_unique(out, size ? data[0] % 8 : 0);
	g_free(text);
	return 0;
}
