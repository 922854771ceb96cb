/* log.h - diagnostics to stderr (foreground) or syslog (daemon).
 *
 * Every line pfs_log() writes goes through the same filter as
 * pfs_log_clean(): secrets are redacted, control characters and bytes
 * that are not UTF-8 become '?', and the line is cut to at most
 * PFS_LOG_LINE_MAX bytes without splitting a character. So a hostile
 * server cannot write terminal escapes or fake log lines, and a message
 * that quotes the token does not put it in the log. Callers still pass
 * anything that came from the network or a file through pfs_log_clean()
 * when they keep it in a buffer of their own (error messages).
 *
 * Secrets: a registry, guarded by a mutex inside, of strings never to be
 * written. Wherever a secret occurs in a line, and wherever any piece of
 * one at least PFS_LOG_SECRET_PIECE bytes long occurs (a quoted token cut
 * short by someone's truncation, at either end), the match is replaced
 * with PFS_LOG_REDACTED. Shorter pieces are left: 15 characters of a
 * 6 KiB token are worthless, and may be anything. Cost: each secret keeps
 * a hash table of its pieces (about 24 bytes a byte of secret), and a
 * line costs one lookup per byte and secret.
 *
 * All functions are thread-safe but pfs_log_init().
 */
#ifndef PFS_LOG_H
#define PFS_LOG_H

#include <stddef.h>
#include <syslog.h>

/* Longest line pfs_log() writes, in bytes, "pipelinefs: " aside. */
#define PFS_LOG_LINE_MAX 2047

#define PFS_LOG_SECRET_PIECE 16
#define PFS_LOG_REDACTED "[redacted]"

/* Call once before any thread starts. */
void pfs_log_init(int foreground, int debug);

void pfs_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pfs_log_err(...)   pfs_log(LOG_ERR, __VA_ARGS__)
#define pfs_log_warn(...)  pfs_log(LOG_WARNING, __VA_ARGS__)
#define pfs_log_info(...)  pfs_log(LOG_INFO, __VA_ARGS__)
#define pfs_log_debug(...) pfs_log(LOG_DEBUG, __VA_ARGS__)

/* Copies untrusted @text (@len bytes, NULs allowed) into @buf (@size
 * bytes, always NUL-ended if @size > 0): first every secret is redacted,
 * then C0 and C1 control characters (U+0000-U+001F, U+007F-U+009F) and
 * every byte that is not part of valid UTF-8 become one '?' each; valid
 * UTF-8 is kept. What does not fit is cut at a character boundary and
 * "..." ends the copy instead. Redacting before cutting means a cut never
 * leaves a piece of a secret behind. Returns @buf. */
char *pfs_log_clean(char *buf, size_t size, const char *text, size_t len);

/* Registers @secret (a copy is kept; empty strings are ignored). Adding
 * the same string twice needs two removals. Never fails: the registry
 * grows with glib's allocator, which aborts when memory is out. */
void pfs_log_add_secret(const char *secret);
/* Forgets one registration of @secret (its copy is wiped); a string that
 * is not registered is ignored. */
void pfs_log_remove_secret(const char *secret);

#endif
