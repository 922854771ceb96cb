/* names.h - which ids are safe to use, and file names made from API text.
 *
 * Ids travel into URLs and names come from the network, so both are
 * checked here and nowhere else.
 */
#ifndef PFS_NAMES_H
#define PFS_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

#define PFS_ID_MAX 128
#define PFS_NAME_MAX 255

/* true for [A-Za-z0-9_.-]{1,128} other than "." and "..": such an id needs
 * no escaping in a URL and is never a path trick. */
bool pfs_name_is_valid_id(const char *id);

/* Writes into @out (PFS_NAME_MAX + 1 bytes) a directory-entry name made of
 * @name (@len bytes, may hold NULs, need not be valid UTF-8): '/' and each
 * control character become one '_' -- C0 and DEL, C1 as a character
 * (U+0080-U+009F) and bytes 0x80-0x9F outside a well-formed UTF-8
 * character; other bytes are kept. "", "." and ".." fall back to @fallback
 * (treated the same way; if that is unusable too, "_"). At most
 * PFS_NAME_MAX bytes, cut before the first character that does not fit. */
void pfs_name_sanitize(char *out, const char *name, size_t len,
		       const char *fallback);

/* Makes @name (a buffer of PFS_NAME_MAX + 1 bytes holding a sanitized
 * name) differ from every name for which @taken returns true, by adding
 * "~N" for the first free N from @first (at least 2) and cutting the base
 * as needed to stay within PFS_NAME_MAX bytes. Returns the N used, 0 if
 * @name was free: a caller that passes N + 1 next time for the same base
 * keeps a thousand duplicates from costing a million tries. */
unsigned pfs_name_make_unique(char *name, bool (*taken)(const char *, void *),
			      void *ctx, unsigned first);

/* Makes @name (PFS_NAME_MAX + 1 bytes) unique among the names in @taken
 * (a set of g_strdup'ed keys, made with g_str_hash and g_free) as
 * pfs_name_make_unique() does, and adds it. @taken also keeps, under each
 * base name, the next suffix worth trying for it. */
void pfs_name_claim(char *name, GHashTable *taken);

#endif
