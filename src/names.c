/* names.c - see names.h */
#include "names.h"

#include <stdio.h>
#include <string.h>

bool pfs_name_is_valid_id(const char *id)
{
	size_t len;

	if (!id)
		return false;
	len = strlen(id);
	if (len == 0 || len > PFS_ID_MAX)
		return false;
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			  "0123456789_.-") == len;
}

static bool is_utf8_continuation(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* Largest length <= @max that does not split a UTF-8 sequence of @s. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && is_utf8_continuation((unsigned char)s[max]))
		max--;
	return max;
}

static bool is_unusable(const char *s)
{
	return s[0] == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
}

static void copy_safe(char *out, const char *name, size_t len)
{
	size_t n = utf8_cut(name, len, PFS_NAME_MAX);
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		out[i] = (c == '/' || c < 0x20 || c == 0x7f) ? '_' : (char)c;
	}
	out[n] = '\0';
}

void pfs_name_sanitize(char *out, const char *name, size_t len,
		       const char *fallback)
{
	copy_safe(out, name ? name : "", name ? len : 0);
	if (!is_unusable(out))
		return;
	if (fallback)
		copy_safe(out, fallback, strlen(fallback));
	if (is_unusable(out))
		strcpy(out, "_");
}

unsigned pfs_name_make_unique(char *name, bool (*taken)(const char *, void *),
			      void *ctx, unsigned first)
{
	char base[PFS_NAME_MAX + 1];
	unsigned n;

	if (!taken(name, ctx))
		return 0;
	strcpy(base, name);
	for (n = first > 2 ? first : 2;; n++) {
		char suffix[16];
		size_t slen = (size_t)snprintf(suffix, sizeof(suffix), "~%u", n);
		size_t blen = utf8_cut(base, strlen(base), PFS_NAME_MAX - slen);

		memcpy(name, base, blen);
		memcpy(name + blen, suffix, slen + 1);
		if (!taken(name, ctx))
			return n;
	}
}
