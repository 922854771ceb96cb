/* token.c - see token.h */
#include "token.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pfs_token {
	pthread_mutex_t lock;
	char *path;		/* NULL for a fixed token */
	/* guarded by lock: */
	char *value;
	struct stat seen;	/* the file as it was when value was read */
};

static void forget_secret(char *secret)
{
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		g_free(secret);
	}
}

/* The token in @text with surrounding white space removed, or NULL if
 * what is left is empty or holds characters a header must not carry. */
static char *clean_token(const char *text, size_t len)
{
	size_t start = 0, end = len, i;

	while (start < end && g_ascii_isspace(text[start]))
		start++;
	while (end > start && g_ascii_isspace(text[end - 1]))
		end--;
	if (start == end)
		return NULL;
	for (i = start; i < end; i++)
		if ((unsigned char)text[i] <= 0x20 || (unsigned char)text[i] >= 0x7f)
			return NULL;
	return g_strndup(text + start, end - start);
}

static int read_token_file(const char *path, struct stat *st, char **out,
			   char *err, size_t errsize)
{
	char *buf = g_malloc(PFS_TOKEN_MAX + 1);
	ssize_t n;
	size_t len = 0;
	int res = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, st) < 0) {
		res = -errno;
		snprintf(err, errsize, "cannot read token file %s: %s", path,
			 strerror(errno));
		goto out;
	}
	while ((n = read(fd, buf + len, PFS_TOKEN_MAX + 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len > PFS_TOKEN_MAX) {
		res = n < 0 ? -errno : -EFBIG;
		snprintf(err, errsize, "cannot read token file %s: %s", path,
			 n < 0 ? strerror(errno) : "larger than 64 KiB");
		goto out;
	}
	*out = clean_token(buf, len);
	if (!*out) {
		res = -EINVAL;
		snprintf(err, errsize, "token file %s holds no token "
			 "(empty, or with spaces or control characters inside)", path);
	}
out:
	if (fd >= 0)
		close(fd);
	explicit_bzero(buf, PFS_TOKEN_MAX + 1);
	g_free(buf);
	return res;
}

int pfs_token_new_from_file(const char *path, struct pfs_token **out,
			    char *err, size_t errsize)
{
	struct pfs_token *token = g_new0(struct pfs_token, 1);
	int res = read_token_file(path, &token->seen, &token->value, err, errsize);

	if (res < 0) {
		g_free(token);
		return res;
	}
	pthread_mutex_init(&token->lock, NULL);
	token->path = g_strdup(path);
	*out = token;
	return 0;
}

int pfs_token_new_from_string(const char *text, struct pfs_token **out,
			      char *err, size_t errsize)
{
	struct pfs_token *token;
	char *value = clean_token(text, strlen(text));

	if (!value) {
		snprintf(err, errsize, "PIPELINEFS_TOKEN holds no usable token");
		return -EINVAL;
	}
	token = g_new0(struct pfs_token, 1);
	pthread_mutex_init(&token->lock, NULL);
	token->value = value;
	*out = token;
	return 0;
}

void pfs_token_free(struct pfs_token *token)
{
	if (!token)
		return;
	forget_secret(token->value);
	g_free(token->path);
	pthread_mutex_destroy(&token->lock);
	g_free(token);
}

static bool file_changed(const struct stat *a, const struct stat *b)
{
	return a->st_ino != b->st_ino || a->st_dev != b->st_dev ||
	       a->st_size != b->st_size ||
	       a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	       a->st_mtim.tv_nsec != b->st_mtim.tv_nsec;
}

/* Called with token->lock held. */
static void reread_if_changed(struct pfs_token *token)
{
	struct stat now, read_st;
	char err[512];
	char *value;

	if (stat(token->path, &now) < 0 || !file_changed(&now, &token->seen))
		return;
	if (read_token_file(token->path, &read_st, &value, err, sizeof(err)) < 0) {
		/* mid-rotation the file may be empty for a moment: keep the
		 * old token and look again on the next request */
		pfs_log_warn("%s; still using the previous token", err);
		return;
	}
	forget_secret(token->value);
	token->value = value;
	token->seen = read_st;
	pfs_log_info("token file %s changed: using the new token", token->path);
}

int pfs_token_get(struct pfs_token *token, char **out)
{
	pthread_mutex_lock(&token->lock);
	if (token->path)
		reread_if_changed(token);
	*out = g_strdup(token->value);
	pthread_mutex_unlock(&token->lock);
	return 0;
}

void pfs_token_release(char *copy)
{
	forget_secret(copy);
}
