/* log.c - see log.h */
#include "log.h"

#include <glib.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int log_to_stderr = 1;
static int log_debug_enabled;

struct secret {
	char *text;
	size_t len;
	unsigned count;		/* registrations */
	/* every PFS_LOG_SECRET_PIECE-byte piece of text (keys point into
	 * it; the first place of a piece that occurs twice), or NULL for a
	 * secret shorter than that */
	GHashTable *pieces;
};

/* Pieces are PFS_LOG_SECRET_PIECE bytes, not strings: FNV-1a and memcmp. */
static guint piece_hash(gconstpointer key)
{
	const unsigned char *p = key;
	guint h = 2166136261u;
	int i;

	for (i = 0; i < PFS_LOG_SECRET_PIECE; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static gboolean piece_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, PFS_LOG_SECRET_PIECE) == 0;
}

static GHashTable *index_pieces(const char *text, size_t len)
{
	GHashTable *pieces;
	size_t i;

	if (len < PFS_LOG_SECRET_PIECE)
		return NULL;
	pieces = g_hash_table_new(piece_hash, piece_equal);
	for (i = 0; i + PFS_LOG_SECRET_PIECE <= len; i++)
		if (!g_hash_table_contains(pieces, text + i))
			g_hash_table_add(pieces, (gpointer)(text + i));
	return pieces;
}

static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;
static GPtrArray *secrets;	/* of struct secret *; guarded by secrets_lock */

void pfs_log_init(int foreground, int debug)
{
	log_to_stderr = foreground;
	log_debug_enabled = debug;
	if (!foreground)
		openlog("pipelinefs", LOG_PID, LOG_DAEMON);
}

void pfs_log_add_secret(const char *text)
{
	struct secret *s;
	guint i;

	if (!text || !*text)
		return;
	pthread_mutex_lock(&secrets_lock);
	if (!secrets)
		secrets = g_ptr_array_new();
	for (i = 0; i < secrets->len; i++) {
		s = g_ptr_array_index(secrets, i);
		if (strcmp(s->text, text) == 0) {
			s->count++;
			goto out;
		}
	}
	s = g_new(struct secret, 1);
	s->text = g_strdup(text);
	s->len = strlen(text);
	s->count = 1;
	s->pieces = index_pieces(s->text, s->len);
	g_ptr_array_add(secrets, s);
out:
	pthread_mutex_unlock(&secrets_lock);
}

void pfs_log_remove_secret(const char *text)
{
	guint i;

	if (!text)
		return;
	pthread_mutex_lock(&secrets_lock);
	for (i = 0; secrets && i < secrets->len; i++) {
		struct secret *s = g_ptr_array_index(secrets, i);

		if (strcmp(s->text, text) != 0)
			continue;
		if (--s->count == 0) {
			if (s->pieces)
				g_hash_table_destroy(s->pieces);
			explicit_bzero(s->text, s->len);
			g_free(s->text);
			g_free(s);
			g_ptr_array_remove_index_fast(secrets, i);
		}
		break;
	}
	pthread_mutex_unlock(&secrets_lock);
}

/* How long the piece of @s that @text (@avail bytes) begins with is, if
 * it is at least PFS_LOG_SECRET_PIECE bytes long (or all of a shorter
 * secret); else 0. */
static size_t piece_at(const struct secret *s, const char *text, size_t avail)
{
	const char *found;
	size_t k;

	if (!s->pieces)
		return avail >= s->len && memcmp(text, s->text, s->len) == 0 ?
		       s->len : 0;
	if (avail < PFS_LOG_SECRET_PIECE ||
	    !g_hash_table_lookup_extended(s->pieces, text, (gpointer *)&found, NULL))
		return 0;
	/* the piece's first place in s; a longer match elsewhere in s is
	 * found as a second match right after this one */
	for (k = PFS_LOG_SECRET_PIECE; k < avail &&
	     found + k < s->text + s->len && text[k] == found[k]; k++)
		;
	return k;
}

/* Where the first secret, or piece of one of at least
 * PFS_LOG_SECRET_PIECE bytes, begins in @text at or after @from, if it
 * begins before @scan_end; @len if none does. Its length (which may reach
 * past @scan_end) in *@match_len. One hash lookup per byte and secret.
 * Called with secrets_lock held. */
static size_t next_secret(const char *text, size_t len, size_t from,
			  size_t scan_end, size_t *match_len)
{
	size_t i, end = MIN(len, scan_end);
	guint j;

	for (i = from; i < end; i++) {
		size_t best = 0;

		for (j = 0; j < secrets->len; j++)
			best = MAX(best, piece_at(g_ptr_array_index(secrets, j),
						  text + i, len - i));
		if (best > 0) {
			*match_len = best;
			return i;
		}
	}
	return len;
}

/* Length of the valid UTF-8 character at @p (@avail bytes there) with its
 * code point in *@cp, or 0 if the bytes there are not one (overlong
 * forms, surrogates and code points past U+10FFFF are not). */
static size_t utf8_char(const unsigned char *p, size_t avail, uint32_t *cp)
{
	uint32_t c = p[0], min;
	size_t need, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (avail <= need)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return need + 1;
}

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

struct out {
	char *buf;
	size_t room;		/* bytes left before the NUL */
	size_t n;
};

/* Appends all of @bytes or, if they do not fit, nothing. */
static bool put(struct out *o, const char *bytes, size_t k)
{
	if (k > o->room)
		return false;
	memcpy(o->buf + o->n, bytes, k);
	o->n += k;
	o->room -= k;
	return true;
}

/* Replaces the end of a cut copy with "...", at a character boundary
 * (the copy is valid UTF-8, so a boundary is any byte that does not
 * continue a character). */
static void mark_cut(struct out *o, size_t size)
{
	if (size < 4)
		return;
	if (o->n > size - 4)
		o->n = size - 4;
	while (o->n > 0 && ((unsigned char)o->buf[o->n] & 0xc0) == 0x80)
		o->n--;
	memcpy(o->buf + o->n, "...", 3);
	o->n += 3;
}

/* One character (or invalid byte) of @text at @i, cleaned; the number of
 * bytes it took, or 0 if the output is full. A character never reaches
 * into @stop, where a secret begins. */
static size_t put_char(struct out *o, const char *text, size_t i, size_t stop)
{
	uint32_t cp;
	size_t k = utf8_char((const unsigned char *)text + i, stop - i, &cp);

	if (k == 0 || is_control(cp))
		return put(o, "?", 1) ? (k ? k : 1) : 0;
	return put(o, text + i, k) ? k : 0;
}

char *pfs_log_clean(char *buf, size_t size, const char *text, size_t len)
{
	struct out o = { .buf = buf, .room = size ? size - 1 : 0 };
	size_t i = 0, next, match = 0;

	if (size == 0)
		return buf;
	if (!text)
		len = 0;
	pthread_mutex_lock(&secrets_lock);
	/* no byte past 2 * room can reach the output, but a secret that
	 * begins before it may reach on: scan only that far */
#define SCAN_END(from) (secrets && secrets->len ? (from) + 2 * o.room + 1 : 0)
	next = next_secret(text, len, 0, SCAN_END(0), &match);
	while (i < len) {
		size_t k;

		if (i == next) {
			if (!put(&o, PFS_LOG_REDACTED, strlen(PFS_LOG_REDACTED)))
				break;
			i += match;
			match = 0;
			next = next_secret(text, len, i, SCAN_END(i), &match);
			continue;
		}
		k = put_char(&o, text, i, MIN(next, len));
		if (k == 0)
			break;
		i += k;
	}
#undef SCAN_END
	pthread_mutex_unlock(&secrets_lock);
	if (i < len)
		mark_cut(&o, size);
	buf[o.n] = '\0';
	return buf;
}

void pfs_log(int priority, const char *fmt, ...)
{
	char line[PFS_LOG_LINE_MAX + 1];
	va_list ap;
	char *text;

	if (priority == LOG_DEBUG && !log_debug_enabled)
		return;
	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	pfs_log_clean(line, sizeof(line), text, strlen(text));
	explicit_bzero(text, strlen(text));	/* it may hold a secret */
	g_free(text);
	if (log_to_stderr)
		/* one fprintf per line keeps lines of concurrent threads whole */
		fprintf(stderr, "pipelinefs: %s\n", line);
	else
		syslog(priority, "%s", line);
}
