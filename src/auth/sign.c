/* sign.c - see sign.h */
#include "sign.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The parts of an absolute URL, pointing into it (not NUL-ended). */
struct url_parts {
	const char *scheme, *authority, *path, *query;
	size_t scheme_len, authority_len, path_len, query_len;
};

static int split_url(const char *url, struct url_parts *p)
{
	const char *sep = strstr(url, "://");
	const char *s;

	if (!sep || sep == url)
		return -1;
	memset(p, 0, sizeof(*p));
	p->scheme = url;
	p->scheme_len = (size_t)(sep - url);
	p->authority = sep + 3;
	p->authority_len = strcspn(p->authority, "/?#");
	if (p->authority_len == 0)
		return -1;
	s = p->authority + p->authority_len;
	p->path = s;
	p->path_len = strcspn(s, "?#");
	s += p->path_len;
	if (*s == '?') {
		p->query = s + 1;
		p->query_len = strcspn(p->query, "#");
	}
	return 0;
}

static int hex_value(char c)
{
	return g_ascii_xdigit_value(c);
}

/* @len bytes of @text with %XX decoded (a '%' not followed by two hex
 * digits stays), and '+' made a space when @plus_is_space. */
static GString *decode(const char *text, size_t len, bool plus_is_space)
{
	GString *out = g_string_sized_new(len);
	size_t i;

	for (i = 0; i < len; i++) {
		if (text[i] == '%' && i + 2 < len &&
		    hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
			g_string_append_c(out, (char)(hex_value(text[i + 1]) * 16 +
						      hex_value(text[i + 2])));
			i += 2;
		} else if (text[i] == '+' && plus_is_space) {
			g_string_append_c(out, ' ');
		} else {
			g_string_append_c(out, text[i]);
		}
	}
	return out;
}

/* Appends @len bytes of @text, every byte but A-Za-z0-9-_.~ as %XX. */
static void encode_into(GString *out, const char *text, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			g_string_append_c(out, (char)c);
		} else {
			g_string_append_c(out, '%');
			g_string_append_c(out, hex[c >> 4]);
			g_string_append_c(out, hex[c & 15]);
		}
	}
}

static void append_path(GString *out, const struct url_parts *p)
{
	GString *path = decode(p->path, p->path_len, false);
	char **segments = g_strsplit(path->str, "/", -1);
	char **s;

	for (s = segments; *s; s++) {
		if (s != segments)
			g_string_append_c(out, '/');
		encode_into(out, *s, strlen(*s));
	}
	if (out->len == 0 || out->str[out->len - 1] != '/')
		g_string_append_c(out, '/');
	g_strfreev(segments);
	g_string_free(path, TRUE);
}

struct query_pair {
	GString *key, *value;
};

static gint compare_pairs(gconstpointer a, gconstpointer b)
{
	const struct query_pair *x = a, *y = b;
	int res = strcmp(x->key->str, y->key->str);

	return res ? res : strcmp(x->value->str, y->value->str);
}

/* Keys and values are compared as bytes: strcmp() stops at a NUL, which
 * a decoded %00 could hold; such a query is nothing the API takes. */
static void append_query(GString *out, const struct url_parts *p)
{
	GArray *pairs = g_array_new(FALSE, FALSE, sizeof(struct query_pair));
	const char *s = p->query, *end = p->query + p->query_len;
	guint i;

	while (s && s < end) {
		size_t len = strcspn(s, "&#");
		const char *eq = memchr(s, '=', MIN(len, (size_t)(end - s)));
		struct query_pair pair;

		len = MIN(len, (size_t)(end - s));
		if (len > 0) {
			pair.key = decode(s, eq ? (size_t)(eq - s) : len, true);
			pair.value = eq ? decode(eq + 1, len - (size_t)(eq + 1 - s), true)
					: g_string_new("");
			g_array_append_val(pairs, pair);
		}
		s += len + 1;
	}
	g_array_sort(pairs, compare_pairs);
	for (i = 0; i < pairs->len; i++) {
		struct query_pair *pair = &g_array_index(pairs, struct query_pair, i);

		if (i > 0)
			g_string_append_c(out, '&');
		encode_into(out, pair->key->str, pair->key->len);
		g_string_append_c(out, '=');
		encode_into(out, pair->value->str, pair->value->len);
		g_string_free(pair->key, TRUE);
		g_string_free(pair->value, TRUE);
	}
	g_array_free(pairs, TRUE);
}

struct header {
	char *name;		/* lowercase */
	const char *value;	/* trimmed, into the request's header */
	size_t value_len;
};

static gint compare_headers(gconstpointer a, gconstpointer b)
{
	return strcmp(((const struct header *)a)->name,
		      ((const struct header *)b)->name);
}

static void free_header(gpointer data)
{
	g_free(((struct header *)data)->name);
}

/* The signed headers, sorted by name; NULL when one has no ':'. */
static GArray *collect_headers(const char *const *headers, char *err,
			       size_t errsize)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct header));
	const char *const *h;

	g_array_set_clear_func(out, free_header);
	for (h = headers; h && *h; h++) {
		const char *colon = strchr(*h, ':');
		struct header header;
		const char *v, *e;

		if (!colon || colon == *h) {
			snprintf(err, errsize, "a header to sign has no name: "
				 "expected \"Name: value\"");
			g_array_free(out, TRUE);
			return NULL;
		}
		header.name = g_ascii_strdown(*h, colon - *h);
		g_strstrip(header.name);
		for (v = colon + 1; g_ascii_isspace(*v); v++)
			;
		for (e = v + strlen(v); e > v && g_ascii_isspace(e[-1]); e--)
			;
		header.value = v;
		header.value_len = (size_t)(e - v);
		g_array_append_val(out, header);
	}
	g_array_sort(out, compare_headers);
	return out;
}

static void append_headers(GString *out, GArray *headers)
{
	guint i;

	for (i = 0; i < headers->len; i++) {
		struct header *h = &g_array_index(headers, struct header, i);

		g_string_append_printf(out, "%s:%.*s\n", h->name, (int)h->value_len,
				       h->value);
	}
}

static char *signed_names(GArray *headers)
{
	GString *out = g_string_new(NULL);
	guint i;

	for (i = 0; i < headers->len; i++)
		g_string_append_printf(out, "%s%s", i ? ";" : "",
				       g_array_index(headers, struct header, i).name);
	return g_string_free(out, FALSE);
}

/* The canonical request, and the signed names in *@names. */
static char *canonical(const struct pfs_sign_request *req, char **names,
		       char *err, size_t errsize)
{
	struct url_parts parts;
	GArray *headers;
	GString *out;
	char *hash;

	if (split_url(req->url, &parts) < 0) {
		snprintf(err, errsize, "cannot sign a request to a URL that "
			 "is not absolute");
		return NULL;
	}
	headers = collect_headers(req->headers, err, errsize);
	if (!headers)
		return NULL;
	out = g_string_new(req->method);
	g_string_append_c(out, '\n');
	append_path(out, &parts);
	g_string_append_c(out, '\n');
	append_query(out, &parts);
	g_string_append_c(out, '\n');
	append_headers(out, headers);
	*names = signed_names(headers);
	hash = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
					   (const guchar *)(req->body ? req->body : ""),
					   req->body ? req->body_len : 0);
	g_string_append_printf(out, "\n%s\n%s", *names, hash);
	g_free(hash);
	g_array_free(headers, TRUE);
	return g_string_free(out, FALSE);
}

char *pfs_sign_canonical_request(const struct pfs_sign_request *req,
				 char *err, size_t errsize)
{
	char *names = NULL;
	char *res = canonical(req, &names, err, errsize);

	g_free(names);
	return res;
}

char *pfs_sign_authorization(const struct pfs_sign_request *req,
			     const char *date, const char *ak, const char *sk,
			     char *err, size_t errsize)
{
	char *names = NULL;
	char *request = canonical(req, &names, err, errsize);
	char *hash, *to_sign, *signature, *res;

	if (!request)
		return NULL;
	hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, request, -1);
	to_sign = g_strconcat(PFS_SIGN_ALGORITHM "\n", date, "\n", hash, NULL);
	signature = g_compute_hmac_for_string(G_CHECKSUM_SHA256,
					      (const guchar *)sk, strlen(sk),
					      to_sign, -1);
	res = g_strdup_printf(PFS_SIGN_ALGORITHM " Access=%s, SignedHeaders=%s, "
			      "Signature=%s", ak, names, signature);
	g_free(signature);
	g_free(to_sign);
	g_free(hash);
	g_free(request);
	g_free(names);
	return res;
}

void pfs_sign_date(gint64 epoch_seconds, char out[PFS_SIGN_DATE_LEN + 1])
{
	GDateTime *t = g_date_time_new_from_unix_utc(epoch_seconds);
	char *text = g_date_time_format(t, "%Y%m%dT%H%M%SZ");

	g_strlcpy(out, text, PFS_SIGN_DATE_LEN + 1);
	g_free(text);
	g_date_time_unref(t);
}

/* The port of an authority ("host", "host:port", "[v6]:port"), or NULL. */
static const char *port_of(const char *authority)
{
	const char *bracket = strrchr(authority, ']');
	const char *colon = strrchr(bracket ? bracket : authority, ':');

	return colon ? colon + 1 : NULL;
}

char *pfs_sign_host(const char *url)
{
	struct url_parts p;
	const char *at, *port;
	char *authority, *host;
	const char *dflt;

	if (split_url(url, &p) < 0)
		return NULL;
	if (p.scheme_len == 5 && g_ascii_strncasecmp(p.scheme, "https", 5) == 0)
		dflt = "443";
	else if (p.scheme_len == 4 && g_ascii_strncasecmp(p.scheme, "http", 4) == 0)
		dflt = "80";
	else
		return NULL;
	authority = g_strndup(p.authority, p.authority_len);
	at = strrchr(authority, '@');
	host = g_strdup(at ? at + 1 : authority);
	g_free(authority);
	port = port_of(host);
	/* "host:" and "host:443" on https are sent as plain "host" */
	if (port && (!*port || strcmp(port, dflt) == 0))
		host[port - 1 - host] = '\0';
	return host;
}
