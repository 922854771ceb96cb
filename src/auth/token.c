/* token.c - see token.h */
#include "token.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Shared by the owner and the watcher; freed by the last to let go. */
struct pfs_token {
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* to the watcher: a look is asked, or stop */
	pthread_cond_t looked;	/* from the watcher: a look ended */
	char *path;		/* NULL for a fixed token; never changes */
	const struct pfs_token_format *format;	/* of the file */
	/* guarded by lock: */
	int refs;		/* the owner's, and the running watcher's */
	char *value;		/* written only by the watcher once it runs */
	unsigned generation;
	bool stopping;		/* the owner let go */
	pthread_t watcher;
	bool watching;		/* a watcher was started ... */
	pid_t watcher_pid;	/* ... by this process, or one it forked from */
	bool start_failed;	/* and that was logged */
	unsigned asked;		/* looks asked for (a wrapping count) */
	unsigned done;		/* asked, as it was when the last look began */
	bool looking;
	gint64 look_began;	/* monotonic µs, while looking */
	/* the watcher's alone once it runs (the creator's before): */
	struct stat seen;	/* the file value came from */
	char *previous;		/* the token value replaced, still a secret */
	char *problem;		/* why the file was refused, as logged, or NULL */
	bool loose;		/* seen is readable by group or others */
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

static char *parse_token(const char *text, size_t len, const char *path,
			 char *err, size_t errsize)
{
	char *value = clean_token(text, len);

	if (!value)
		snprintf(err, errsize, "token file %s holds no token (empty, or "
			 "with spaces or control characters inside)", path);
	return value;
}

const struct pfs_token_format pfs_token_format_token = {
	.what = "token file",
	.noun = "token",
	.parse = parse_token,
};

/* What a file that is not a regular one is, for a message; NULL for a
 * regular file. */
static const char *odd_kind(mode_t mode)
{
	if (S_ISREG(mode))
		return NULL;
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

static int refuse_odd_kind(const struct pfs_token_format *format,
			   const char *path, const struct stat *st,
			   char *err, size_t errsize)
{
	const char *kind = odd_kind(st->st_mode);

	if (!kind)
		return 0;
	snprintf(err, errsize, "%s %s is %s, not a regular file", format->what,
		 path, kind);
	return S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
}

static int cannot_read(const struct pfs_token_format *format, const char *path,
		       int errnum, char *err, size_t errsize)
{
	snprintf(err, errsize, "cannot read %s %s: %s", format->what, path,
		 strerror(errnum));
	return -errnum;
}

/* Reads the value in the regular file @path into *@out, and what fstat()
 * says of the file read into *@st. O_NONBLOCK: should the file have
 * become a FIFO since it was stat()ed, opening it does not wait for a
 * writer (and fstat() refuses it). */
static int read_token_file(const struct pfs_token_format *format,
			   const char *path, struct stat *st, char **out,
			   char *err, size_t errsize)
{
	char *buf = g_malloc(PFS_TOKEN_MAX + 1);
	ssize_t n = 0;
	size_t len = 0;
	int res = 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 || fstat(fd, st) < 0) {
		res = cannot_read(format, path, errno, err, errsize);
		goto out;
	}
	res = refuse_odd_kind(format, path, st, err, errsize);
	while (res == 0 && len <= PFS_TOKEN_MAX &&
	       ((n = read(fd, buf + len, PFS_TOKEN_MAX + 1 - len)) > 0 ||
		(n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	if (res == 0 && n < 0)
		res = cannot_read(format, path, errno, err, errsize);
	else if (res == 0 && len > PFS_TOKEN_MAX) {
		res = -EFBIG;
		snprintf(err, errsize, "cannot read %s %s: larger than 64 KiB",
			 format->what, path);
	}
	if (res == 0 && !(*out = format->parse(buf, len, path, err, errsize)))
		res = -EINVAL;
out:
	if (fd >= 0)
		close(fd);
	explicit_bzero(buf, PFS_TOKEN_MAX + 1);
	g_free(buf);
	return res;
}

/* stat(), then the read if @path is a regular file: a FIFO or a device
 * is never opened. */
static int load_token_file(const struct pfs_token_format *format,
			   const char *path, struct stat *st, char **out,
			   char *err, size_t errsize)
{
	int res;

	if (stat(path, st) < 0)
		return cannot_read(format, path, errno, err, errsize);
	res = refuse_odd_kind(format, path, st, err, errsize);
	return res < 0 ? res : read_token_file(format, path, st, out, err, errsize);
}

static bool is_loose(const struct stat *st)
{
	return (st->st_mode & (S_IRGRP | S_IROTH)) != 0;
}

static void warn_loose(const struct pfs_token *token, const struct stat *st)
{
	pfs_log_warn("%s %s is readable by group or others (mode %04o): "
		     "chmod 600 it", token->format->what, token->path,
		     (unsigned)(st->st_mode & 07777));
}

/* Waits on them have monotonic deadlines. */
static void init_conds(struct pfs_token *token)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&token->wake, &attr);
	pthread_cond_init(&token->looked, &attr);
	pthread_condattr_destroy(&attr);
}

static struct pfs_token *token_new(char *value)
{
	struct pfs_token *token = g_new0(struct pfs_token, 1);

	pthread_mutex_init(&token->lock, NULL);
	init_conds(token);
	token->refs = 1;
	token->value = value;
	token->generation = 1;
	pfs_log_add_secret(value);
	return token;
}

int pfs_token_new_from_file_as(const char *path,
			       const struct pfs_token_format *format,
			       struct pfs_token **out, char *err, size_t errsize)
{
	struct pfs_token *token;
	struct stat st;
	char *value = NULL;
	int res = load_token_file(format, path, &st, &value, err, errsize);

	if (res < 0)
		return res;
	token = token_new(value);
	token->path = g_strdup(path);
	token->format = format;
	token->seen = st;
	token->loose = is_loose(&st);
	if (token->loose)
		warn_loose(token, &st);
	*out = token;
	return 0;
}

int pfs_token_new_from_file(const char *path, struct pfs_token **out,
			    char *err, size_t errsize)
{
	return pfs_token_new_from_file_as(path, &pfs_token_format_token, out,
					  err, errsize);
}

int pfs_token_new_from_string(const char *text, struct pfs_token **out,
			      char *err, size_t errsize)
{
	char *value = clean_token(text, strlen(text));

	if (!value) {
		snprintf(err, errsize, "PIPELINEFS_TOKEN holds no usable token");
		return -EINVAL;
	}
	*out = token_new(value);
	return 0;
}

static void token_unref(struct pfs_token *token)
{
	bool last;

	pthread_mutex_lock(&token->lock);
	last = --token->refs == 0;
	pthread_mutex_unlock(&token->lock);
	if (!last)
		return;
	pfs_log_remove_secret(token->value);
	pfs_log_remove_secret(token->previous);
	forget_secret(token->value);
	forget_secret(token->previous);
	g_free(token->problem);
	g_free(token->path);
	pthread_cond_destroy(&token->looked);
	pthread_cond_destroy(&token->wake);
	pthread_mutex_destroy(&token->lock);
	g_free(token);
}

/* ---- the watcher ---- */

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_size == b->st_size && a->st_mode == b->st_mode &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Logs why the file was refused, unless that is what was logged last. */
static void report_problem(struct pfs_token *token, const char *why)
{
	if (token->problem && strcmp(token->problem, why) == 0)
		return;
	g_free(token->problem);
	token->problem = g_strdup(why);
	pfs_log_warn("%s; still using the last good %s", why, token->format->noun);
}

/* The file is fine again: a new problem, even the old one, is news. */
static void clear_problem(struct pfs_token *token, bool say)
{
	if (!token->problem)
		return;
	g_clear_pointer(&token->problem, g_free);
	if (say)
		pfs_log_info("%s %s is readable again", token->format->what,
			     token->path);
}

/* Makes @value (read from a file as @st says) the token, unless the owner
 * let go meanwhile. The replaced token stays a secret until the next
 * replacement: requests that began with it may still log it. */
static void install(struct pfs_token *token, char *value, const struct stat *st)
{
	bool changed = strcmp(value, token->value) != 0;
	bool loose = is_loose(st);
	bool stopping;
	char *old = token->value;

	if (changed)
		pfs_log_add_secret(value);
	pthread_mutex_lock(&token->lock);
	stopping = token->stopping;
	if (!stopping && changed) {
		token->value = value;
		token->generation++;
	}
	pthread_mutex_unlock(&token->lock);
	if (stopping || !changed) {
		if (changed)
			pfs_log_remove_secret(value);
		forget_secret(value);
		if (stopping)
			return;
	} else {
		pfs_log_remove_secret(token->previous);
		forget_secret(token->previous);
		token->previous = old;
	}
	clear_problem(token, !changed);
	if (loose && (changed || !token->loose))
		warn_loose(token, st);
	token->loose = loose;
	token->seen = *st;
	if (changed)
		pfs_log_info("%s %s changed: using the new %s", token->format->what,
			     token->path, token->format->noun);
}

static bool stopping(struct pfs_token *token)
{
	bool res;

	pthread_mutex_lock(&token->lock);
	res = token->stopping;
	pthread_mutex_unlock(&token->lock);
	return res;
}

/* One look at the file; this is where the watcher may block. */
static void look(struct pfs_token *token)
{
	char why[512];
	struct stat st;
	char *value = NULL;

	if (stat(token->path, &st) == 0 && same_file(&st, &token->seen)) {
		if (!stopping(token))
			clear_problem(token, true);
		return;
	}
	if (load_token_file(token->format, token->path, &st, &value, why,
			    sizeof(why)) == 0)
		install(token, value, &st);
	else if (!stopping(token))
		/* mid-rotation a file may be empty for a moment: the next
		 * look tries again, and says nothing new if nothing is */
		report_problem(token, why);
}

static struct timespec monotonic_in(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static void *watch(void *arg)
{
	struct pfs_token *token = arg;

	pthread_mutex_lock(&token->lock);
	while (!token->stopping) {
		struct timespec poll = monotonic_in(PFS_TOKEN_POLL_MS);
		unsigned serving;

		while (token->asked == token->done && !token->stopping &&
		       pthread_cond_timedwait(&token->wake, &token->lock,
					      &poll) != ETIMEDOUT)
			;
		if (token->stopping)
			break;
		serving = token->asked;
		token->looking = true;
		token->look_began = g_get_monotonic_time();
		pthread_mutex_unlock(&token->lock);
		look(token);
		pthread_mutex_lock(&token->lock);
		token->looking = false;
		token->done = serving;
		pthread_cond_broadcast(&token->looked);
	}
	pthread_mutex_unlock(&token->lock);
	token_unref(token);
	return NULL;
}

/* Starts the watcher unless one runs in this process (one started before
 * a fork stays behind in the parent; its reference is dropped here, as
 * nothing will ever let go of it). Called with token->lock held: the new
 * thread waits for it before its first look. */
static int start_locked(struct pfs_token *token)
{
	sigset_t all, old;
	int res;

	if (!token->path || token->stopping ||
	    (token->watching && token->watcher_pid == getpid()))
		return 0;
	if (token->watching) {
		/* forked: the parent's watcher is not here, and the
		 * condition variables may count it (or other threads of the
		 * parent's) as waiting, which would hang a signal. Nobody
		 * here waits yet (waiters get here first): start them anew,
		 * without destroying, which would wait for the ghosts. */
		token->refs--;
		token->looking = false;
		init_conds(token);
	}
	/* signals are for the threads that wait for them, not this one */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	res = pthread_create(&token->watcher, NULL, watch, token);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	token->watching = res == 0;
	if (res != 0) {
		if (!token->start_failed)
			pfs_log_err("cannot start the %s watcher: %s; the "
				    "file is not read again until one starts",
				    token->format->what, strerror(res));
		token->start_failed = true;
		return -res;
	}
	token->refs++;
	token->watcher_pid = getpid();
	return 0;
}

int pfs_token_start(struct pfs_token *token)
{
	int res;

	pthread_mutex_lock(&token->lock);
	res = start_locked(token);
	pthread_mutex_unlock(&token->lock);
	return res;
}

void pfs_token_free(struct pfs_token *token)
{
	struct timespec until;
	bool joinable;

	if (!token)
		return;
	pthread_mutex_lock(&token->lock);
	token->stopping = true;	/* from now on, nobody starts a watcher */
	joinable = token->watching && token->watcher_pid == getpid();
	if (token->watching && !joinable)
		token->refs--;	/* a watcher of the process we forked from */
	pthread_cond_broadcast(&token->wake);
	pthread_cond_broadcast(&token->looked);
	pthread_mutex_unlock(&token->lock);
	if (joinable) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += PFS_TOKEN_STOP_WAIT_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		/* stuck in a system call: leave it behind with its reference */
		if (pthread_timedjoin_np(token->watcher, NULL, &until) != 0)
			pthread_detach(token->watcher);
	}
	token_unref(token);
}

/* ---- requests ---- */

/* Asks for a look and waits until one that began after the asking ended,
 * at most @timeout_ms; with @hot, not at all while the watcher has been
 * in a look for longer than PFS_TOKEN_LOOK_WAIT_MS (it is stuck: one
 * waiter paid for that already). Called with token->lock held. */
static int look_locked(struct pfs_token *token, long timeout_ms, bool hot)
{
	struct timespec until;
	unsigned mine;

	if (start_locked(token) < 0 || !token->watching || token->stopping)
		return -ESRCH;
	mine = ++token->asked;
	pthread_cond_signal(&token->wake);
	if (hot && token->looking && g_get_monotonic_time() - token->look_began >
				     PFS_TOKEN_LOOK_WAIT_MS * 1000L)
		return -ETIMEDOUT;
	until = monotonic_in(timeout_ms);
	while ((int)(token->done - mine) < 0 && !token->stopping)
		if (pthread_cond_timedwait(&token->looked, &token->lock,
					   &until) == ETIMEDOUT)
			return -ETIMEDOUT;
	return token->stopping ? -ESRCH : 0;
}

int pfs_token_look(struct pfs_token *token, long timeout_ms,
		   unsigned *generation)
{
	int res;

	pthread_mutex_lock(&token->lock);
	res = look_locked(token, timeout_ms, false);
	if (generation)
		*generation = token->generation;
	pthread_mutex_unlock(&token->lock);
	return res;
}

int pfs_token_get_generation(struct pfs_token *token, char **out,
			     unsigned *generation)
{
	pthread_mutex_lock(&token->lock);
	look_locked(token, PFS_TOKEN_LOOK_WAIT_MS, true);
	*out = g_strdup(token->value);
	if (generation)
		*generation = token->generation;
	pthread_mutex_unlock(&token->lock);
	return 0;
}

int pfs_token_get(struct pfs_token *token, char **out)
{
	return pfs_token_get_generation(token, out, NULL);
}

unsigned pfs_token_generation(struct pfs_token *token)
{
	unsigned generation;

	pthread_mutex_lock(&token->lock);
	look_locked(token, PFS_TOKEN_LOOK_WAIT_MS, true);
	generation = token->generation;
	pthread_mutex_unlock(&token->lock);
	return generation;
}

void pfs_token_release(char *copy)
{
	forget_secret(copy);
}
