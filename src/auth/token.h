/* token.h - a secret kept in a file that is followed: the IAM token sent
 * as X-Auth-Token, or the AK/SK of an INI file (credentials.h).
 *
 * The token comes from a file or from a string (the PIPELINEFS_TOKEN
 * environment variable). Users rotate the file (tokens live 24 hours,
 * temporary keys as little as 15 minutes), so a token from a file is
 * followed: a watcher thread looks at the file every PFS_TOKEN_POLL_MS
 * and whenever a request asks, and takes a new token from it when it
 * changed. What a file holds is read by its format (struct
 * pfs_token_format): the plain token by default; any other secret packed
 * in one string (credentials.h packs ak, sk and security_token), which
 * is what "token" means below.
 *
 * Nothing but the watcher touches the file once it runs: a token file on
 * a hung network filesystem, or replaced by a FIFO, blocks at most the
 * watcher, never a request. The watcher reads only a regular file: it
 * stat()s the path, and when it changed (inode, device, size, mode,
 * mtime, ctime) opens it with O_NONBLOCK|O_NOCTTY, fstat()s it and reads
 * it. When the file is not a regular file, cannot be read or holds no
 * token, the last good token stays in use and the log says why, once
 * (again only when the reason changes). A token file readable by group
 * or others is warned about at start, and again whenever a new token is
 * read from such a file.
 *
 * Why stat polling and not inotify: inotify does not see changes made on
 * another host of a network filesystem, where the file most likely lives
 * when it hangs; a stat a second costs nothing; and requests ask for a
 * look anyway (below), which is what makes a rotated file count at once.
 *
 * The token is registered with the log (pfs_log_add_secret), so it never
 * reaches a log line; the one it replaced stays registered until the next
 * rotation, because requests that started with it may still log answers
 * that quote it. Error messages of this module never hold the token.
 *
 * Threads and ownership: all functions are thread-safe. A mutex inside
 * guards the current token and is held only to copy it. The watcher
 * holds a reference of its own to the token's state, so pfs_token_free()
 * waits for it at most PFS_TOKEN_STOP_WAIT_MS and then leaves a watcher
 * stuck in a system call behind, detached: the state is freed by the
 * last of the two to let go, and a watcher that wakes after the owner is
 * gone logs nothing and installs nothing.
 */
#ifndef PFS_TOKEN_H
#define PFS_TOKEN_H

#include <stddef.h>

/* IAM tokens are around 6-10 KiB; this leaves room. */
#define PFS_TOKEN_MAX (64u << 10)

/* How often the watcher looks at the file unasked. */
#define PFS_TOKEN_POLL_MS 1000
/* How long a request waits for the look it asks for. A watcher that is
 * stuck costs the first request this long; later ones do not wait while
 * it stays stuck. */
#define PFS_TOKEN_LOOK_WAIT_MS 100
/* How long pfs_token_free() waits for the watcher to end. */
#define PFS_TOKEN_STOP_WAIT_MS 250

struct pfs_token;

/* How a followed file reads. The messages name the file "@what PATH"
 * ("token file", "credentials file") and what it holds @noun ("token",
 * "keys": "still using the last good keys"). @parse turns @len bytes of
 * the file at @path (not NUL-ended) into the value, a g_malloc'd string
 * that is the secret (registered with the log whole, compared with
 * strcmp to see whether it changed), or NULL with a one-line message in
 * @err naming @path and never quoting the file. */
struct pfs_token_format {
	const char *what;
	const char *noun;
	char *(*parse)(const char *text, size_t len, const char *path,
		       char *err, size_t errsize);
};

/* The plain token: the file's text, white space around it removed;
 * refused when empty or holding spaces or control characters inside. */
extern const struct pfs_token_format pfs_token_format_token;

/* Reads the token in @path (which should be absolute: the daemon changes
 * directory) once, before any thread runs. Fails with -errno and a
 * one-line message in @err if the file cannot be read, is not a regular
 * file (a FIFO is refused without being opened: this never blocks on
 * one), or holds no usable token. Warns if the file is readable by group
 * or others. The file is not looked at again until the watcher runs. */
int pfs_token_new_from_file(const char *path, struct pfs_token **out,
			    char *err, size_t errsize);
/* The same for a file read as @format says (which must outlive it). */
int pfs_token_new_from_file_as(const char *path,
			       const struct pfs_token_format *format,
			       struct pfs_token **out, char *err, size_t errsize);
int pfs_token_new_from_string(const char *token, struct pfs_token **out,
			      char *err, size_t errsize);

/* Starts the watcher of a token from a file (nothing to do for one from
 * a string, or if one runs). Call it after fuse_daemonize(): a thread
 * does not survive the fork, and one running at the fork may hold the
 * lock. Should nobody call it, the first request starts the watcher; a
 * process forked from one with a watcher starts its own the same way.
 * 0, or -errno if no thread could be started (logged; then the token in
 * use stays, and the next request tries again). */
int pfs_token_start(struct pfs_token *token);

/* Stops the watcher (waiting for it at most PFS_TOKEN_STOP_WAIT_MS) and
 * lets go of the token. Never hangs. NULL is fine. */
void pfs_token_free(struct pfs_token *token);

/* A copy of the current token in *@out, to be freed with
 * pfs_token_release(), and the generation it belongs to in
 * *@generation (if not NULL). Never touches the file system: it asks the
 * watcher to look at the file and waits at most PFS_TOKEN_LOOK_WAIT_MS for
 * that look, so a rotated file is used by the very next request. Always
 * 0 today; callers should still check. */
int pfs_token_get_generation(struct pfs_token *token, char **out,
			     unsigned *generation);
/* The same without the generation. */
int pfs_token_get(struct pfs_token *token, char **out);
void pfs_token_release(char *copy);

/* A number that changes whenever the token does (never otherwise), after
 * the same bounded look as pfs_token_get(): an authentication pause ends
 * when it differs from the generation of the token that was refused. */
unsigned pfs_token_generation(struct pfs_token *token);

/* Asks the watcher to look at the file now and waits for that look at
 * most @timeout_ms; the generation after it in *@generation (if not
 * NULL). 0 when the look ended in time, -ETIMEDOUT when not, -ESRCH when
 * no watcher runs (a token from a string, or none could start). For tests,
 * and for anyone who must know the file has been looked at. */
int pfs_token_look(struct pfs_token *token, long timeout_ms,
		   unsigned *generation);

#endif
