/* iam.h - an IAM token asked for with a user's password, kept in memory
 * only, renewed before it expires.
 *
 * -o iam_user=NAME,iam_domain=ACCOUNT,iam_password_file=PATH: the
 * password is the first line of PATH (its line end dropped), never an
 * option. The file is followed as a token file is (token.h): a changed
 * password is used by the next call to IAM.
 *
 * The call: POST {iam_endpoint}/v3/auth/tokens with the password body,
 * scoped to the region's project (region=, else the region in
 * iam.<region>.myhuaweicloud.com; else the account); the token is the
 * answer's X-Subject-Token header, its lifetime expires_at - issued_at
 * of the body (timed on the monotonic clock from the answer, so our wall
 * clock does not matter).
 *
 * Renewal, by a thread of ours (never inside a FUSE handler): at 80% of
 * the lifetime or 10 minutes before it ends, whichever is earlier, but
 * never before half of it; and at once after the first 401 of a token
 * (pfs_iam_refused). A failed renewal is retried (1 s, doubling to
 * 60 s) while the old token lasts. Should no token be valid, the
 * request that needs one asks IAM itself, one at a time (the others wait
 * for that answer within their deadlines). After IAM refused the
 * password or could not be reached, nobody asks again before the retry
 * time: requests get that failure at once.
 *
 * Secrets: the password (as the followed file's value) and every token
 * are registered with the log; the request body is wiped after use.
 *
 * Threads: thread-safe but new/start/free; one mutex guards the state and
 * is never held across a call to IAM.
 */
#ifndef PFS_IAM_H
#define PFS_IAM_H

#include <stddef.h>

#include "http.h"
#include "options.h"

/* Retry after a failed call to IAM: from 1 s, doubling, capped. */
#define PFS_IAM_RETRY_MIN 1.0
#define PFS_IAM_RETRY_MAX 60.0

struct pfs_iam;

/* Reads the password file once (see token.h for what is refused); needs
 * opts->iam_endpoint. -errno with a one-line message (no secret). Uses
 * @http, which it does not own. */
int pfs_iam_new(const struct pfs_options *opts, struct pfs_http *http,
		struct pfs_iam **out, char *err, size_t errsize);
/* After fuse_daemonize(): the renewal thread, the password file's
 * watcher. 0 or -errno (logged; then requests ask IAM as tokens expire). */
int pfs_iam_start(struct pfs_iam *iam);
/* Stops the thread (a call to IAM in progress ends with the HTTP
 * client's stop or timeout) and wipes the token. NULL is fine. */
void pfs_iam_free(struct pfs_iam *iam);

/* A copy of a valid token in *@out (free with pfs_token_release()) and
 * its generation; asks IAM first if there is none, within @deadline
 * (monotonic seconds as pfs_limiter_now(); 0: the HTTP timeout).
 * -EACCES (IAM refused the password), -ETIMEDOUT, -ECOMM, -EPROTO (an
 * unusable answer), -EAGAIN (a failure is fresh: not asked again yet),
 * with @err. */
int pfs_iam_token(struct pfs_iam *iam, double deadline, char **out,
		  unsigned *generation, char *err, size_t errsize);
/* Changes with each new token; never blocks. */
unsigned pfs_iam_generation(struct pfs_iam *iam);
/* The token of @generation was refused: renew it now, once. */
void pfs_iam_refused(struct pfs_iam *iam, unsigned generation);

#endif
