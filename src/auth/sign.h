/* sign.h - SDK-HMAC-SHA256: the AK/SK signature of Huawei Cloud's API
 * gateway, as its SDKs compute it (not the derived V11- variant).
 *
 *   canonical request = METHOD \n path \n query \n headers \n signed \n body hash
 *     path:    the URL's path decoded, split at '/', each segment encoded,
 *              always ending in '/' ("" is "/")
 *     query:   pairs decoded ('+' is a space, as the SDKs parse queries),
 *              sorted by key then value (bytes), each side encoded, "k=v"
 *              joined by '&'; a key with no '=' has the value ""
 *     headers: "name:value\n" for each signed header, the name lowercase,
 *              the value trimmed, sorted by name
 *     signed:  the names, sorted, joined by ';'
 *     body:    hex SHA-256 of the body ("" when none)
 *   encoded: every byte but A-Za-z0-9-_.~ as %XX, uppercase hex
 *   string to sign = "SDK-HMAC-SHA256\n" date "\n" hex SHA-256(canonical)
 *   signature = hex HMAC-SHA256(key SK, string to sign)
 *   Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=signed, Signature=hex
 *
 * The gateway recomputes all of it from the request as received, so the
 * headers signed must be sent exactly as signed: Host as the HTTP client
 * sends it (pfs_sign_host()), X-Sdk-Date with the same date.
 *
 * Pure: no I/O, no clock, no globals; thread-safe. The SK is used as the
 * HMAC key and goes nowhere else.
 */
#ifndef PFS_SIGN_H
#define PFS_SIGN_H

#include <glib.h>
#include <stddef.h>

#define PFS_SIGN_ALGORITHM "SDK-HMAC-SHA256"
/* "YYYYMMDDTHHMMSSZ" */
#define PFS_SIGN_DATE_LEN 16

struct pfs_sign_request {
	const char *method;		/* "GET", "POST" */
	const char *url;		/* scheme://[user@]host[:port][/path][?query][#x] */
	const char *const *headers;	/* NULL-ended "Name: value", exactly
					 * those signed; Host and X-Sdk-Date
					 * among them as the gateway wants */
	const char *body;		/* NULL for none */
	size_t body_len;
};

/* The canonical request of @req: g_malloc'd, or NULL with a message in
 * @err when the URL is not absolute or a header has no ':'. */
char *pfs_sign_canonical_request(const struct pfs_sign_request *req,
				 char *err, size_t errsize);

/* The value of the Authorization header for @req dated @date (the value
 * of its X-Sdk-Date), with access key @ak and secret key @sk: g_malloc'd,
 * or NULL with @err as pfs_sign_canonical_request(). */
char *pfs_sign_authorization(const struct pfs_sign_request *req,
			     const char *date, const char *ak, const char *sk,
			     char *err, size_t errsize);

/* @epoch_seconds (UTC) as X-Sdk-Date wants it, in @out. */
void pfs_sign_date(gint64 epoch_seconds, char out[PFS_SIGN_DATE_LEN + 1]);

/* The Host header an HTTP client sends for @url: the authority without
 * user info, with the port only when it is not the scheme's default (80
 * for http, 443 for https). g_malloc'd, or NULL when @url is not an
 * absolute http(s) URL. */
char *pfs_sign_host(const char *url);

#endif
