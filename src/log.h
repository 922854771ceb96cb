/* log.h - diagnostics to stderr (foreground) or syslog (daemon).
 *
 * Anything that came from the network or from a file is passed through
 * pfs_log_clean() before it is logged, so a hostile server cannot write
 * terminal escapes or fake log lines, and no secret is ever logged.
 */
#ifndef PFS_LOG_H
#define PFS_LOG_H

#include <stddef.h>
#include <syslog.h>

/* Call once before any thread starts. */
void pfs_log_init(int foreground, int debug);

void pfs_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pfs_log_err(...)   pfs_log(LOG_ERR, __VA_ARGS__)
#define pfs_log_warn(...)  pfs_log(LOG_WARNING, __VA_ARGS__)
#define pfs_log_info(...)  pfs_log(LOG_INFO, __VA_ARGS__)
#define pfs_log_debug(...) pfs_log(LOG_DEBUG, __VA_ARGS__)

/* Copy at most @len bytes of untrusted @text into @buf (size @size) with
 * control characters replaced by '?'; cuts long text with "...".
 * Returns @buf. */
char *pfs_log_clean(char *buf, size_t size, const char *text, size_t len);

#endif
