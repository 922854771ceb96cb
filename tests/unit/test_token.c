/* Unit tests for token.c: the token file is read only when it is a
 * regular file, never in a way that blocks a request, followed when it
 * is rotated, and its token never logged.
 *
 * A call that used to block (on a FIFO) runs under alarm(): if it blocks,
 * SIGALRM ends the test program, which fails the test. Every bound is
 * multiplied by PIPELINEFS_TEST_TIME_FACTOR. */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fuse_lowlevel.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "log_capture.h"
#include "token.h"

/* no piece of 16 characters in common: each is its own secret */
#define FIRST "first-5f3a9c1e7b2d4068a1c3e5f7"
#define SECOND "second-Qm8Zt2Lx9Vb4Np7Rk1Hs6Dw3"
#define THIRD "third-Jc5Ye0Ug8Fo2Ti6Wa4Xn9Pl1"

static double time_factor(void)
{
	const char *text = g_getenv("PIPELINEFS_TEST_TIME_FACTOR");
	double factor = text ? g_ascii_strtod(text, NULL) : 1.0;

	return factor > 0 ? factor : 1.0;
}

static long scaled_ms(long ms)
{
	return (long)(ms * time_factor());
}

/* Ends the test program if what follows blocks for @seconds (scaled). */
static void deadline(unsigned seconds)
{
	signal(SIGALRM, SIG_DFL);
	alarm((unsigned)(seconds * time_factor() + 0.5));
}

struct dir {
	char *path;
	char *token;		/* path/token */
};

static void dir_init(struct dir *d)
{
	d->path = g_dir_make_tmp("pfs-token-XXXXXX", NULL);
	g_assert_nonnull(d->path);
	d->token = g_build_filename(d->path, "token", NULL);
}

static void dir_cleanup(struct dir *d)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", d->path);

	g_assert_cmpint(system(cmd), ==, 0);
	g_free(cmd);
	g_free(d->token);
	g_free(d->path);
}

/* Replaces the token file as tools do: a new file renamed over it. */
static void put_file(struct dir *d, const char *text, mode_t mode)
{
	char *next = g_build_filename(d->path, "next", NULL);

	g_assert_true(g_file_set_contents(next, text, -1, NULL));
	g_assert_cmpint(chmod(next, mode), ==, 0);
	g_assert_cmpint(rename(next, d->token), ==, 0);
	g_free(next);
}

static void put_fifo(struct dir *d)
{
	char *next = g_build_filename(d->path, "next", NULL);

	g_assert_cmpint(mkfifo(next, 0600), ==, 0);
	g_assert_cmpint(rename(next, d->token), ==, 0);
	g_free(next);
}

static void put_directory(struct dir *d)
{
	char *next = g_build_filename(d->path, "next", NULL);

	g_assert_cmpint(g_mkdir(next, 0700), ==, 0);
	g_assert_cmpint(g_unlink(d->token) == 0 || errno == ENOENT, ==, 1);
	g_assert_cmpint(rename(next, d->token), ==, 0);
	g_free(next);
}

static struct pfs_token *open_ok(const char *path)
{
	struct pfs_token *token = NULL;
	char err[512] = "";

	if (pfs_token_new_from_file(path, &token, err, sizeof(err)) != 0)
		g_error("cannot open the token: %s", err);
	return token;
}

static void assert_token(struct pfs_token *token, const char *expected)
{
	char *copy = NULL;

	g_assert_cmpint(pfs_token_get(token, &copy), ==, 0);
	g_assert_cmpstr(copy, ==, expected);
	pfs_token_release(copy);
}

/* A look at the file that ended; the generation after it. */
static unsigned look(struct pfs_token *token)
{
	unsigned generation = 0;

	g_assert_cmpint(pfs_token_look(token, scaled_ms(5000), &generation), ==, 0);
	return generation;
}

/* A fresh directory with a token file holding FIRST, and its token with
 * the watcher started. */
static struct pfs_token *watched(struct dir *d)
{
	struct pfs_token *token;

	dir_init(d);
	put_file(d, FIRST "\n", 0600);
	token = open_ok(d->token);
	g_assert_cmpint(pfs_token_start(token), ==, 0);
	return token;
}

static void assert_redacted(const char *secret)
{
	char buf[128];

	g_assert_cmpstr(pfs_log_clean(buf, sizeof(buf), secret, strlen(secret)),
			==, PFS_LOG_REDACTED);
}

static void assert_not_redacted(const char *secret)
{
	char buf[128];

	g_assert_cmpstr(pfs_log_clean(buf, sizeof(buf), secret, strlen(secret)),
			==, secret);
}

static void test_file_is_read_and_trimmed(void)
{
	struct dir d;
	struct pfs_token *token;

	dir_init(&d);
	put_file(&d, "  " FIRST "\n\n", 0600);
	token = open_ok(d.token);
	assert_token(token, FIRST);
	assert_redacted(FIRST);
	pfs_token_free(token);
	assert_not_redacted(FIRST);
	dir_cleanup(&d);
}

static void assert_refused(const char *path, const char *message)
{
	struct pfs_token *token = NULL;
	char err[512] = "";

	deadline(5);
	g_assert_cmpint(pfs_token_new_from_file(path, &token, err, sizeof(err)), <, 0);
	alarm(0);
	g_assert_null(token);
	g_assert_nonnull(strstr(err, message));
	g_assert_null(strchr(err, '\n'));
}

static void test_start_refuses_what_is_not_a_token_file(void)
{
	struct dir d;

	dir_init(&d);
	assert_refused(d.token, "cannot read token file");
	put_fifo(&d);		/* opened for reading, a FIFO waits for a writer */
	assert_refused(d.token, "is a FIFO, not a regular file");
	put_directory(&d);
	assert_refused(d.token, "is a directory, not a regular file");
	g_assert_cmpint(g_rmdir(d.token), ==, 0);
	put_file(&d, " \n", 0600);
	assert_refused(d.token, "holds no token");
	put_file(&d, "a b\n", 0600);
	assert_refused(d.token, "holds no token");
	assert_refused("/dev/null", "is a device");
	dir_cleanup(&d);
}

static void test_rotated_file_is_used_after_one_look(void)
{
	struct dir d;
	struct pfs_token *token;
	unsigned before, after;
	char *copy, *log;

	token = watched(&d);
	capture_start();
	before = look(token);
	g_assert_cmpuint(look(token), ==, before);
	put_file(&d, SECOND "\n", 0600);
	after = look(token);
	g_assert_cmpint(pfs_token_get_generation(token, &copy, &after), ==, 0);
	g_assert_cmpstr(copy, ==, SECOND);
	pfs_token_release(copy);
	g_assert_cmpuint(after, !=, before);
	g_assert_cmpuint(pfs_token_generation(token), ==, after);
	/* the replaced token may still be in use: it stays a secret ... */
	assert_redacted(FIRST);
	assert_redacted(SECOND);
	put_file(&d, THIRD "\n", 0600);
	g_assert_cmpuint(look(token), !=, after);
	/* ... until the next rotation */
	assert_not_redacted(FIRST);
	assert_redacted(SECOND);
	assert_redacted(THIRD);
	log = capture_end();
	g_assert_cmpuint(count_of(log, "changed: using the new token"), ==, 2);
	g_assert_null(strstr(log, SECOND));
	g_assert_null(strstr(log, THIRD));
	pfs_token_free(token);
	assert_not_redacted(SECOND);
	assert_not_redacted(THIRD);
	g_free(log);
	dir_cleanup(&d);
}

static void test_same_token_rewritten_keeps_the_generation(void)
{
	struct dir d;
	struct pfs_token *token;
	unsigned before;
	char *log;

	token = watched(&d);
	before = look(token);
	capture_start();
	put_file(&d, FIRST, 0600);
	g_assert_cmpuint(look(token), ==, before);
	log = capture_end();
	g_assert_cmpstr(log, ==, "");
	pfs_token_free(token);
	g_free(log);
	dir_cleanup(&d);
}

/* The file becomes a FIFO, then a directory, then is missing: requests
 * go on with the last good token at once, and the log says why once per
 * reason; then a good file is taken. */
static void test_odd_files_keep_the_last_token_and_are_logged_once(void)
{
	struct dir d;
	struct pfs_token *token;
	unsigned generation;
	char *log;

	token = watched(&d);
	generation = look(token);
	capture_start();
	put_fifo(&d);
	deadline(5);
	assert_token(token, FIRST);
	g_assert_cmpuint(look(token), ==, generation);
	g_assert_cmpuint(look(token), ==, generation);
	g_assert_cmpuint(pfs_token_generation(token), ==, generation);
	alarm(0);
	put_directory(&d);
	look(token);
	g_assert_cmpuint(look(token), ==, generation);
	g_assert_cmpint(g_rmdir(d.token), ==, 0);
	look(token);
	assert_token(token, FIRST);
	g_assert_cmpuint(look(token), ==, generation);
	put_file(&d, SECOND "\n", 0600);
	g_assert_cmpuint(look(token), !=, generation);
	assert_token(token, SECOND);
	log = capture_end();
	g_assert_cmpuint(count_of(log, "\n"), ==, 4);
	g_assert_cmpuint(count_of(log, "is a FIFO, not a regular file; still "
				  "using the last good token"), ==, 1);
	g_assert_cmpuint(count_of(log, "is a directory, not a regular file"), ==, 1);
	g_assert_cmpuint(count_of(log, "No such file or directory"), ==, 1);
	g_assert_cmpuint(count_of(log, "changed: using the new token"), ==, 1);
	deadline(5);
	pfs_token_free(token);
	alarm(0);
	g_free(log);
	dir_cleanup(&d);
}

/* Root reads any file: the part of the test that needs a file it cannot
 * read runs in a child that drops to nobody. */
static void test_unreadable_file_keeps_the_last_token(void)
{
	struct pfs_token *token;
	struct dir d;

	if (!g_test_subprocess()) {
		g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
		g_test_trap_assert_passed();
		g_test_trap_assert_stderr("*cannot read token file *: Permission denied; "
					  "still using the last good token*");
		return;
	}
	if (geteuid() == 0)
		g_assert_true(setgid(65534) == 0 && setuid(65534) == 0);
	token = watched(&d);
	look(token);
	put_file(&d, SECOND "\n", 0000);
	look(token);
	assert_token(token, FIRST);
	put_file(&d, SECOND "\n", 0400);
	look(token);
	assert_token(token, SECOND);
	pfs_token_free(token);
	dir_cleanup(&d);
}

static void test_loose_modes_are_warned_about(void)
{
	struct dir d;
	struct pfs_token *token;
	char *log;

	dir_init(&d);
	put_file(&d, FIRST "\n", 0640);
	capture_start();
	token = open_ok(d.token);
	g_assert_cmpint(pfs_token_start(token), ==, 0);
	look(token);
	look(token);
	put_file(&d, SECOND "\n", 0604);	/* a new token from a loose file */
	look(token);
	put_file(&d, THIRD "\n", 0600);		/* a tight one */
	look(token);
	g_assert_cmpint(chmod(d.token, 0644), ==, 0);	/* loosened */
	look(token);
	look(token);
	log = capture_end();
	g_assert_cmpuint(count_of(log, "is readable by group or others"), ==, 3);
	g_assert_cmpuint(count_of(log, "(mode 0640)"), ==, 1);
	g_assert_cmpuint(count_of(log, "(mode 0604)"), ==, 1);
	g_assert_cmpuint(count_of(log, "(mode 0644)"), ==, 1);
	pfs_token_free(token);
	g_free(log);
	dir_cleanup(&d);
}

static void test_token_from_a_string_has_no_watcher(void)
{
	struct pfs_token *token = NULL;
	char err[256] = "";
	unsigned generation;

	g_assert_cmpint(pfs_token_new_from_string(" \t", &token, err, sizeof(err)),
			==, -EINVAL);
	g_assert_cmpint(pfs_token_new_from_string(" " FIRST "\n", &token, err,
						  sizeof(err)), ==, 0);
	g_assert_cmpint(pfs_token_start(token), ==, 0);
	g_assert_cmpint(pfs_token_look(token, 1, &generation), ==, -ESRCH);
	g_assert_cmpuint(pfs_token_generation(token), ==, generation);
	assert_token(token, FIRST);
	assert_redacted(FIRST);
	pfs_token_free(token);
	assert_not_redacted(FIRST);
}

/* Many requests at once, while the file turns: each gets a whole token,
 * and the last look sees the last file. */
struct reader {
	struct pfs_token *token;
	gint *stop;
};

static gpointer read_tokens(gpointer arg)
{
	struct reader *r = arg;

	while (!g_atomic_int_get(r->stop)) {
		char *copy = NULL;

		pfs_token_get(r->token, &copy);
		g_assert_true(g_str_equal(copy, FIRST) || g_str_equal(copy, SECOND));
		pfs_token_release(copy);
	}
	return NULL;
}

static void test_concurrent_requests_during_rotation(void)
{
	struct dir d;
	gint stop = 0;
	struct reader r = { .stop = &stop };
	GThread *readers[4];
	unsigned i;

	r.token = watched(&d);
	for (i = 0; i < G_N_ELEMENTS(readers); i++)
		readers[i] = g_thread_new("reader", read_tokens, &r);
	for (i = 0; i < 20; i++) {
		put_file(&d, i % 2 ? FIRST "\n" : SECOND "\n", 0600);
		look(r.token);
	}
	g_atomic_int_set(&stop, 1);
	for (i = 0; i < G_N_ELEMENTS(readers); i++)
		g_thread_join(readers[i]);
	assert_token(r.token, FIRST);
	deadline(5);
	pfs_token_free(r.token);
	alarm(0);
	dir_cleanup(&d);
}

/* main.c may forget pfs_token_start(): the first request starts the
 * watcher, and a rotated file is followed all the same. */
static void test_first_request_starts_the_watcher(void)
{
	struct dir d;
	struct pfs_token *token;

	dir_init(&d);
	put_file(&d, FIRST "\n", 0600);
	token = open_ok(d.token);
	assert_token(token, FIRST);
	put_file(&d, SECOND "\n", 0600);
	look(token);
	assert_token(token, SECOND);
	pfs_token_free(token);
	dir_cleanup(&d);
}

/* fuse_daemonize() forks after the token is made: the watcher does not
 * come along, and the child needs one of its own. */
static void test_a_forked_child_starts_its_own_watcher(void)
{
	struct dir d;
	struct pfs_token *token = watched(&d);
	int status = -1;
	pid_t child;

	look(token);		/* the watcher waits, holding no lock */
	child = fork();
	g_assert_cmpint(child, >=, 0);
	if (child == 0) {
		unsigned generation = 0;

		deadline(5);
		put_file(&d, SECOND "\n", 0600);
		pfs_token_look(token, scaled_ms(5000), &generation);
		assert_token(token, SECOND);
		pfs_token_free(token);
		_exit(generation == 2 ? 0 : 1);
	}
	g_assert_cmpint(waitpid(child, &status, 0), ==, child);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	pfs_token_free(token);
	dir_cleanup(&d);
}

/* ---- a filesystem that hangs, as a dead NFS server does ----
 *
 * It runs in a child process: were it served by a thread of the test
 * process, a test that fails with the watcher (or, in the old code, a
 * request) stuck in it could not even die. The child dies with the test
 * (PR_SET_PDEATHSIG) or after a deadline longer than the test's, and its
 * end aborts the stuck request. */

static int hung_pipe = -1;	/* the child writes a byte when mounted and per lookup */

static void hung_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (write(hung_pipe, "l", 1) != 1)
		fuse_reply_err(req, EIO);
	/* else never answered */
}

static void hung_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st = { .st_ino = ino, .st_mode = S_IFDIR | 0755, .st_nlink = 2 };

	fuse_reply_attr(req, &st, 0);
}

static const struct fuse_lowlevel_ops hung_ops = {
	.lookup = hung_lookup,
	.getattr = hung_getattr,
};

static G_GNUC_NORETURN void hung_serve(const char *mountpoint)
{
	char *argv[] = { "test_token", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct fuse_session *se;
	struct sigaction end;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	se = fuse_session_new(&args, &hung_ops, sizeof(hung_ops), NULL);
	if (!se || fuse_set_signal_handlers(se) != 0 ||
	    fuse_session_mount(se, mountpoint) != 0)
		_exit(1);
	/* a test process stuck in a request cannot die, so no death signal
	 * comes: after a deadline longer than the test's, SIGALRM ends the
	 * loop as SIGTERM does */
	sigaction(SIGTERM, NULL, &end);
	sigaction(SIGALRM, &end, NULL);
	alarm((unsigned)(15 * time_factor() + 0.5));
	if (write(hung_pipe, "m", 1) != 1)
		_exit(1);
	fuse_session_loop(se);
	fuse_session_unmount(se);
	fuse_session_destroy(se);	/* the stuck request ends: ENOTCONN */
	_exit(0);
}

/* The server's pid, or -1 if it could not mount. */
static pid_t hung_mount(const char *mountpoint)
{
	int fds[2];
	pid_t pid;
	char c;

	g_assert_cmpint(pipe(fds), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		close(fds[0]);
		hung_pipe = fds[1];
		hung_serve(mountpoint);
	}
	close(fds[1]);
	hung_pipe = fds[0];
	if (read(hung_pipe, &c, 1) == 1 && c == 'm')
		return pid;
	waitpid(pid, NULL, 0);
	close(hung_pipe);
	return -1;
}

static void hung_wait_for_a_lookup(void)
{
	struct pollfd pfd = { .fd = hung_pipe, .events = POLLIN };
	char c;

	g_assert_cmpint(poll(&pfd, 1, (int)scaled_ms(5000)), ==, 1);
	g_assert_cmpint(read(hung_pipe, &c, 1), ==, 1);
	g_assert_cmpint(c, ==, 'l');
}

static void hung_unmount(pid_t server)
{
	int status = -1;

	kill(server, SIGTERM);
	g_assert_cmpint(waitpid(server, &status, 0), ==, server);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(hung_pipe);
}

static double seconds_since(gint64 start)
{
	return (g_get_monotonic_time() - start) / 1e6;
}

/* The token file's directory becomes one on a filesystem that never
 * answers: the watcher hangs in stat(). A request waits for it at most
 * PFS_TOKEN_LOOK_WAIT_MS once, later ones not at all, and freeing the
 * token leaves the watcher behind in PFS_TOKEN_STOP_WAIT_MS. */
static void test_a_hung_file_system_blocks_only_the_watcher(void)
{
	double slack = 0.5 * time_factor();
	struct pfs_token *token;
	char *real, *link, *mnt, *path, *tmp;
	struct dir d;
	gint64 start;
	pid_t server;
	int i;

	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
		g_test_skip("needs root and /dev/fuse to mount");
		return;
	}
	dir_init(&d);
	real = g_build_filename(d.path, "real", NULL);
	link = g_build_filename(d.path, "link", NULL);
	mnt = g_build_filename(d.path, "mnt", NULL);
	tmp = g_build_filename(d.path, "tmp", NULL);
	path = g_build_filename(link, "token", NULL);
	g_assert_cmpint(g_mkdir(real, 0700), ==, 0);
	g_assert_cmpint(g_mkdir(mnt, 0700), ==, 0);
	g_assert_cmpint(symlink(real, link), ==, 0);
	g_free(d.token);
	d.token = g_build_filename(real, "token", NULL);
	put_file(&d, FIRST "\n", 0600);
	server = hung_mount(mnt);	/* before any thread: it forks */
	if (server < 0) {
		g_test_skip("cannot mount a FUSE filesystem here");
		goto out;
	}
	token = open_ok(path);
	g_assert_cmpint(pfs_token_start(token), ==, 0);
	look(token);
	g_assert_cmpint(symlink(mnt, tmp), ==, 0);
	g_assert_cmpint(rename(tmp, link), ==, 0);

	deadline(10);		/* the old token.c stat()ed in the request */
	start = g_get_monotonic_time();
	assert_token(token, FIRST);
	g_assert_cmpfloat(seconds_since(start), <, PFS_TOKEN_LOOK_WAIT_MS / 1e3 + slack);
	hung_wait_for_a_lookup();
	start = g_get_monotonic_time();
	for (i = 0; i < 20; i++) {
		assert_token(token, FIRST);
		pfs_token_generation(token);
	}
	/* waiting 100 ms each, these would take 4 s */
	g_assert_cmpfloat(seconds_since(start), <, slack);
	start = g_get_monotonic_time();
	pfs_token_free(token);
	g_assert_cmpfloat(seconds_since(start), <, PFS_TOKEN_STOP_WAIT_MS / 1e3 + slack);
	alarm(0);
	hung_unmount(server);
out:
	g_free(path);
	g_free(tmp);
	g_free(mnt);
	g_free(link);
	g_free(real);
	dir_cleanup(&d);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/token/file_is_read_and_trimmed", test_file_is_read_and_trimmed);
	g_test_add_func("/token/start_refuses_what_is_not_a_token_file",
			test_start_refuses_what_is_not_a_token_file);
	g_test_add_func("/token/rotated_file_is_used_after_one_look",
			test_rotated_file_is_used_after_one_look);
	g_test_add_func("/token/same_token_rewritten_keeps_the_generation",
			test_same_token_rewritten_keeps_the_generation);
	g_test_add_func("/token/odd_files_keep_the_last_token_and_are_logged_once",
			test_odd_files_keep_the_last_token_and_are_logged_once);
	g_test_add_func("/token/unreadable_file_keeps_the_last_token",
			test_unreadable_file_keeps_the_last_token);
	g_test_add_func("/token/loose_modes_are_warned_about",
			test_loose_modes_are_warned_about);
	g_test_add_func("/token/token_from_a_string_has_no_watcher",
			test_token_from_a_string_has_no_watcher);
	g_test_add_func("/token/concurrent_requests_during_rotation",
			test_concurrent_requests_during_rotation);
	g_test_add_func("/token/first_request_starts_the_watcher",
			test_first_request_starts_the_watcher);
	g_test_add_func("/token/a_forked_child_starts_its_own_watcher",
			test_a_forked_child_starts_its_own_watcher);
	g_test_add_func("/token/a_hung_file_system_blocks_only_the_watcher",
			test_a_hung_file_system_blocks_only_the_watcher);
	return g_test_run();
}
