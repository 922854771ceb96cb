/* credentials.h - AK/SK as Huawei's SDKs keep them: an INI file, or the
 * environment.
 *
 * The file (-o credentials_file=PATH, else $HUAWEICLOUD_SDK_CREDENTIALS_FILE,
 * else ~/.huaweicloud/credentials):
 *     [basic]
 *     ak = ...
 *     sk = ...
 *     security_token = ...     (temporary keys only)
 *     project_id = ...         (ignored: the pipelines' projects are listed)
 * Comments start with '#' or ';', lines may end in CRLF, white space
 * around names and values is dropped, other sections and keys are
 * ignored. A key given twice: the last wins, as the SDKs' readers do.
 * The environment: HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK,
 * HUAWEICLOUD_SDK_SECURITY_TOKEN.
 *
 * The file is followed (token.h, with pfs_credentials_format): keys that
 * rotate are picked up by the next request. The three values travel as
 * one packed secret ("AK\nSK\nTOKEN"); pfs_credentials_unpack() splits it.
 *
 * No function here logs, and no message holds a value read: a file that
 * is not INI is described without quoting it.
 */
#ifndef PFS_CREDENTIALS_H
#define PFS_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>

#include "token.h"

struct pfs_credentials {
	char *ak;
	char *sk;
	char *security_token;	/* NULL unless temporary */
};

/* Reads the [basic] section of the INI text @text (@len bytes, not
 * NUL-ended) into @out (cleared first; free with pfs_credentials_clear).
 * @path names the file in messages. -EINVAL with a message in @err when
 * the text is not INI, has no [basic] section, no ak or no sk, or a value
 * that cannot go in a header (spaces or control characters inside). */
int pfs_credentials_parse_ini(const char *text, size_t len, const char *path,
			      struct pfs_credentials *out, char *err,
			      size_t errsize);

/* From the environment: 0 with @out filled when HUAWEICLOUD_SDK_AK and
 * _SK are both set (then the secrets are wiped from the environment, out
 * of /proc/PID/environ); -ENOENT when neither is; -EINVAL with @err when
 * only one is, or a value is unusable. */
int pfs_credentials_from_env(struct pfs_credentials *out, char *err,
			     size_t errsize);

/* Where the SDKs look for the file: $HUAWEICLOUD_SDK_CREDENTIALS_FILE,
 * else ~/.huaweicloud/credentials (NULL if there is no $HOME). g_malloc'd. */
char *pfs_credentials_default_path(void);

/* The packed secret of @creds, g_malloc'd; pfs_credentials_unpack()
 * fills @out with copies of the three parts of @packed. */
char *pfs_credentials_pack(const struct pfs_credentials *creds);
void pfs_credentials_unpack(const char *packed, struct pfs_credentials *out);

/* Zeroes and frees the three strings. */
void pfs_credentials_clear(struct pfs_credentials *creds);

/* The INI file as token.h follows it: its value is the packed secret. */
extern const struct pfs_token_format pfs_credentials_format;

#endif
