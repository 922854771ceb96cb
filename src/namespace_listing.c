/* namespace_listing.c - see namespace.h and namespace_internal.h: a
 * directory's entries, and the offsets (d_off) that name them across
 * listings that change between the kernel's calls. */
#include "namespace_internal.h"

#include <glib.h>
#include <string.h>

/* Offsets (pfs_ns_listing_offset) carry 21 bits of a name's hash. */
#define COOKIE_BITS 21
#define COOKIE_MASK ((UINT64_C(1) << COOKIE_BITS) - 1)

static uint32_t cookie_hash(const char *name)
{
	uint32_t hash = (g_str_hash(name) * UINT32_C(2654435761)) >> (32 - COOKIE_BITS);

	return hash ? hash : 1;	/* 0 stands for the end of the listing */
}

struct pfs_ns_dirent *pfs_ns_add_entry(GArray *entries, const char *name,
				       mode_t type)
{
	struct pfs_ns_dirent entry = { .name = g_strdup(name), .type = type,
				       .name_hash = cookie_hash(name) };

	g_array_append_val(entries, entry);
	return &g_array_index(entries, struct pfs_ns_dirent, entries->len - 1);
}

/* "." and "..": with their inode numbers, or readdir(3) skips them. */
void pfs_ns_add_dots(GArray *entries, const struct pfs_ns_node *dir,
		     const struct pfs_ns_node *parent)
{
	pfs_ns_add_entry(entries, ".", S_IFDIR)->node = *dir;
	pfs_ns_add_entry(entries, "..", S_IFDIR)->node = *parent;
}

void pfs_ns_listing_free(struct pfs_ns_listing *listing)
{
	size_t i;

	if (!listing)
		return;
	for (i = 0; i < listing->count; i++)
		g_free(listing->entries[i].name);
	g_free(listing->entries);
	pfs_build_unref(listing->build);
	g_free(listing);
}

/* An offset after entry i >= 2 (63 bits, so never negative):
 *
 *   position hint (21 bits) | hash of i's name | hash of the next's, 0 at the end
 *
 * The hint (i + 1 folded into 1..2^21-1, so the offset is never 0, 1 or 2,
 * the offsets after "." and "..") finds the entry at once while nothing
 * moved; the hashes find it, or the one after it, when something did. */
off_t pfs_ns_listing_offset(const struct pfs_ns_listing *listing, size_t i)
{
	uint64_t hint = i % COOKIE_MASK + 1;
	uint64_t next = i + 1 < listing->count ? listing->entries[i + 1].name_hash : 0;

	if (i < 2)
		return (off_t)i + 1;
	return (off_t)(hint << (2 * COOKIE_BITS) |
		       (uint64_t)listing->entries[i].name_hash << COOKIE_BITS | next);
}

static size_t distance(size_t a, size_t b)
{
	return a > b ? a - b : b - a;
}

/* Scores where to go on from: after the entry @off followed (2), better
 * if the next one is still next (3); at the one that followed it (1);
 * the nearest to where it was wins among equals. */
struct resume {
	size_t at;
	int score;
	size_t distance;
};

static void consider(struct resume *best, size_t at, int score, size_t hint)
{
	if (score > best->score ||
	    (score == best->score && distance(at, hint) < best->distance)) {
		best->at = at;
		best->score = score;
		best->distance = distance(at, hint);
	}
}

size_t pfs_ns_listing_seek(const struct pfs_ns_listing *listing, off_t off)
{
	const struct pfs_ns_dirent *e = listing->entries;
	size_t n = listing->count;
	uint64_t cookie = (uint64_t)off;
	uint32_t last = (cookie >> COOKIE_BITS) & COOKIE_MASK;
	uint32_t next = cookie & COOKIE_MASK;
	/* where the entry after it was: hint - 1 + 1 */
	size_t hint = (cookie >> (2 * COOKIE_BITS)) & COOKIE_MASK;
	struct resume best = { .at = hint < n ? hint : n, .score = 0 };
	size_t i;

	if (off < 3)
		return off < 0 ? n : MIN((size_t)off, n);
	if (hint >= 3 && hint - 1 < n && e[hint - 1].name_hash == last)
		return hint;
	if (next == 0)
		consider(&best, n, 1, hint);
	for (i = 2; i < n; i++) {
		uint32_t after = i + 1 < n ? e[i + 1].name_hash : 0;

		if (e[i].name_hash == last)
			consider(&best, i + 1, after == next ? 3 : 2, hint);
		else if (e[i].name_hash == next)
			consider(&best, i, 1, hint);
	}
	/* neither is left: from where they were, the best guess there is */
	return best.at;
}
