/* token.h - the IAM token sent as X-Auth-Token.
 *
 * The token comes from a file, re-read whenever the file changes (tokens
 * live 24 hours and users rotate the file in place), or from a string
 * (the PIPELINEFS_TOKEN environment variable). It is never logged.
 * All functions are thread-safe; a mutex inside guards the cached token.
 */
#ifndef PFS_TOKEN_H
#define PFS_TOKEN_H

#include <stddef.h>

/* IAM tokens are around 6-10 KiB; this leaves room. */
#define PFS_TOKEN_MAX (64u << 10)

struct pfs_token;

/* Reads the token in @path (which should be absolute: the daemon changes
 * directory). Fails with -errno and a message in @err if the file cannot
 * be read or holds no usable token. */
int pfs_token_new_from_file(const char *path, struct pfs_token **out,
			    char *err, size_t errsize);
int pfs_token_new_from_string(const char *token, struct pfs_token **out,
			      char *err, size_t errsize);
void pfs_token_free(struct pfs_token *token);

/* A copy of the current token in *@out, to be freed with
 * pfs_token_release(). If the file changed since it was last read it is
 * read again; if that read fails, the last good token is kept. */
int pfs_token_get(struct pfs_token *token, char **out);
void pfs_token_release(char *copy);

#endif
