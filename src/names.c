/* names.c - see names.h */
#include "names.h"

#include <glib.h>
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

/* The length of the well-formed UTF-8 character (RFC 3629: no overlong
 * forms, surrogates or code points past U+10FFFF) that @s (@len > 0 bytes)
 * starts with, or 0 if it starts with none. */
static size_t utf8_char_len(const unsigned char *s, size_t len)
{
	unsigned char low = 0x80, high = 0xbf;	/* allowed second byte */
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		low = 0xa0;
	else if (s[0] == 0xed)
		high = 0x9f;
	else if (s[0] == 0xf0)
		low = 0x90;
	else if (s[0] == 0xf4)
		high = 0x8f;
	if (len < n || s[1] < low || s[1] > high)
		return 0;
	for (i = 2; i < n; i++)
		if (!is_utf8_continuation(s[i]))
			return 0;
	return n;
}

/* A name is read in units: a well-formed character, or else one byte (so
 * a stray byte never swallows the valid text after it). */
static size_t unit_len(const char *s, size_t len)
{
	size_t n = utf8_char_len((const unsigned char *)s, len);

	return n ? n : 1;
}

/* '/', and C0 and C1 control characters however they come: U+0000-U+001F,
 * U+007F, U+0080-U+009F (C2 80-C2 9F), and bytes 0x80-0x9F that are not
 * part of a well-formed character (a terminal may take them for C1). */
static bool is_unsafe_unit(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];

	if (n == 1)
		return c == '/' || c < 0x20 || (c >= 0x7f && c <= 0x9f);
	return n == 2 && c == 0xc2 && (unsigned char)s[1] <= 0x9f;
}

/* Largest length <= @max made of whole units of @s. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	size_t at = 0;

	while (at < len) {
		size_t n = unit_len(s + at, len - at);

		if (at + n > max)
			break;
		at += n;
	}
	return at;
}

static bool is_unusable(const char *s)
{
	return s[0] == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
}

/* Each unsafe unit becomes one '_'; the copy stops before the first unit
 * that would take it past PFS_NAME_MAX bytes. */
static void copy_safe(char *out, const char *name, size_t len)
{
	size_t in = 0, used = 0;

	while (in < len) {
		size_t n = unit_len(name + in, len - in);
		bool unsafe = is_unsafe_unit(name + in, n);

		if (used + (unsafe ? 1 : n) > PFS_NAME_MAX)
			break;
		if (unsafe)
			out[used++] = '_';
		else {
			memcpy(out + used, name + in, n);
			used += n;
		}
		in += n;
	}
	out[used] = '\0';
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

static bool name_taken(const char *name, void *set)
{
	return g_hash_table_contains(set, name);
}

void pfs_name_claim(char *name, GHashTable *taken)
{
	char base[PFS_NAME_MAX + 1];
	unsigned used;

	strcpy(base, name);
	used = pfs_name_make_unique(name, name_taken, taken,
				    GPOINTER_TO_UINT(g_hash_table_lookup(taken, base)));
	if (used)
		g_hash_table_insert(taken, g_strdup(base), GUINT_TO_POINTER(used + 1));
	g_hash_table_insert(taken, g_strdup(name), NULL);
}
