/* log.c - see log.h */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int log_to_stderr = 1;
static int log_debug_enabled;

void pfs_log_init(int foreground, int debug)
{
	log_to_stderr = foreground;
	log_debug_enabled = debug;
	if (!foreground)
		openlog("pipelinefs", LOG_PID, LOG_DAEMON);
}

void pfs_log(int priority, const char *fmt, ...)
{
	va_list ap;

	if (priority == LOG_DEBUG && !log_debug_enabled)
		return;
	va_start(ap, fmt);
	if (log_to_stderr) {
		char line[2048];

		vsnprintf(line, sizeof(line), fmt, ap);
		/* one fprintf per line keeps lines of concurrent threads whole */
		fprintf(stderr, "pipelinefs: %s\n", line);
	} else {
		vsyslog(priority, fmt, ap);
	}
	va_end(ap);
}

char *pfs_log_clean(char *buf, size_t size, const char *text, size_t len)
{
	size_t n = 0;
	size_t i;

	if (size == 0)
		return buf;
	if (!text) {
		text = "";
		len = 0;
	}
	for (i = 0; i < len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)text[i];

		buf[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	buf[n] = '\0';
	if (i < len && n >= 3)
		memcpy(buf + n - 3, "...", 3);
	return buf;
}
