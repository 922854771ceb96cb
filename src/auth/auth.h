/* auth.h - what authenticates a request: one source of credentials,
 * chosen at start, and the headers it puts on each request.
 *
 * Sources, in the order they are looked for (the first present wins; one
 * that is present but unusable is an error, not a reason to try the next):
 *   1. -o token_file=PATH         an IAM token, followed (token.h)
 *   2. -o iam_user=,iam_domain=,iam_password_file=
 *                                 a token asked of IAM, renewed (iam.h)
 *   3. -o credentials_file=PATH   AK/SK from the SDKs' INI file, followed
 *   4. $PIPELINEFS_TOKEN          an IAM token
 *   5. $HUAWEICLOUD_SDK_AK/_SK (+ _SECURITY_TOKEN)   AK/SK
 *   6. the INI file at $HUAWEICLOUD_SDK_CREDENTIALS_FILE, else
 *      ~/.huaweicloud/credentials, when it exists
 * A token goes out as X-Auth-Token; AK/SK sign each request (sign.h) with
 * X-Sdk-Date and Authorization, temporary keys adding X-Security-Token.
 *
 * Generations: a number that changes whenever the credentials do (a file
 * rotated, an IAM token renewed) and never otherwise. The API pauses the
 * mount after a 401 and ends the pause when the generation moves.
 *
 * Secrets: every token, SK and password is registered with the log
 * (pfs_log_add_secret) as soon as it is read, and no message of this
 * module holds one. The source chosen is logged once, by name only.
 *
 * Threads: everything but pfs_auth_new/start/free is thread-safe and may
 * be called from any number of threads; a file source may wait up to
 * PFS_TOKEN_LOOK_WAIT_MS for a look at its file, so call them with no
 * lock held. pfs_auth_start() after fuse_daemonize() (threads do not
 * survive the fork): it starts the file watcher and IAM's renewal thread.
 */
#ifndef PFS_AUTH_H
#define PFS_AUTH_H

#include <glib.h>
#include <stddef.h>

#include "http.h"
#include "options.h"

struct pfs_auth;

/* Chooses the source from @opts (and the environment) as above and reads
 * it once. Uses @http for IAM, which it does not own. Fails with -errno
 * and a one-line message in @err (no secret) when no source is usable. */
int pfs_auth_new(const struct pfs_options *opts, struct pfs_http *http,
		 struct pfs_auth **out, char *err, size_t errsize);
/* After fuse_daemonize(): logs which source is used (pfs_log_info, once),
 * starts the file watcher, IAM's renewal. 0 or -errno (logged; the
 * credentials read at start stay in use). */
int pfs_auth_start(struct pfs_auth *auth);
/* Stops the threads (never hangs on one stuck in a system call) and
 * wipes the secrets. NULL is fine. */
void pfs_auth_free(struct pfs_auth *auth);

/* Appends to @headers (a GPtrArray of g_malloc'd "Name: value" strings,
 * freed by the caller with pfs_auth_headers_free(), which zeroes them)
 * what authenticates one request of @method to @url (scheme, host[:port],
 * path, query) with @body (@body_len bytes; NULL for none): X-Auth-Token,
 * or X-Sdk-Date + Authorization (+ X-Security-Token) signed over it. The
 * generation of the credentials used goes to *@generation. IAM obtains a
 * token first if it has none, within @deadline (monotonic seconds as
 * pfs_limiter_now(); 0: the HTTP timeout). Errors, with @err:
 * -EACCES when IAM refuses the password, -ETIMEDOUT/-ECOMM when it
 * cannot be reached, -EPROTO when its answer is unusable. */
int pfs_auth_headers(struct pfs_auth *auth, const char *method, const char *url,
		     const char *body, size_t body_len, double deadline,
		     GPtrArray *headers, unsigned *generation, char *err,
		     size_t errsize);
/* Zeroes and frees every string of @headers, then the array. NULL is fine. */
void pfs_auth_headers_free(GPtrArray *headers);

/* The current generation (see above), after the same bounded look at a
 * followed file as pfs_auth_headers(). */
unsigned pfs_auth_generation(struct pfs_auth *auth);

/* The service refused credentials of @generation (a 401): IAM renews its
 * token, once per generation (so the next generation differs), on its
 * own thread; other sources have nothing to do. Never blocks long. */
void pfs_auth_refused(struct pfs_auth *auth, unsigned generation);

/* A refusal (or any answer) to look at for clock skew: @code and @msg are
 * the service's error_code and error_msg (either may be NULL), and
 * @server_date the answer's Date header in epoch seconds (0 if none).
 * Logs "clock skew: ..." once per mount when @msg says the request time
 * is out of range, or @server_date is more than PFS_AUTH_SKEW_WARN
 * seconds from our clock: a signature dated by a wrong clock is refused
 * with nothing else to show why. Cheap; call it for every 401, and for
 * any answer with a Date when convenient. */
#define PFS_AUTH_SKEW_WARN 300
void pfs_auth_check_refusal(struct pfs_auth *auth, const char *code,
			    const char *msg, gint64 server_date);

#endif
