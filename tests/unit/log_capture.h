/* log_capture.h - what pfs_log() writes while a unit test looks, and how
 * often a text occurs in it. pfs_log() writes to stderr (fd 2) in one
 * fprintf per line, so fd 2 goes to a temporary file meanwhile. Only the
 * test's own thread starts and ends a capture; assertions come after the
 * end, so that a failing one is seen. */
#ifndef PFS_TEST_LOG_CAPTURE_H
#define PFS_TEST_LOG_CAPTURE_H

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int capture_saved_fd = -1;
static char capture_path[64];

static inline void capture_start(void)
{
	int fd;

	g_strlcpy(capture_path, "/tmp/pfs-log-XXXXXX", sizeof(capture_path));
	fd = g_mkstemp(capture_path);
	g_assert_cmpint(fd, >=, 0);
	fflush(stderr);
	capture_saved_fd = dup(2);
	g_assert_cmpint(dup2(fd, 2), ==, 2);
	close(fd);
}

/* What was written since capture_start(), without ending the capture. */
/* not inlined: gcc 12 then takes the result for a dangling pointer */
static G_GNUC_NO_INLINE G_GNUC_UNUSED char *capture_text(void)
{
	char *text = NULL;

	fflush(stderr);
	if (!g_file_get_contents(capture_path, &text, NULL, NULL))
		text = g_strdup("");
	return text;
}

static inline char *capture_end(void)
{
	char *text = capture_text();

	dup2(capture_saved_fd, 2);
	close(capture_saved_fd);
	capture_saved_fd = -1;
	g_unlink(capture_path);
	return text;
}

static inline unsigned count_of(const char *text, const char *needle)
{
	unsigned n = 0;
	size_t at = 0;
	const char *hit;

	while ((hit = strstr(text + at, needle))) {
		n++;
		at = (size_t)(hit - text) + 1;
	}
	return n;
}

#endif
