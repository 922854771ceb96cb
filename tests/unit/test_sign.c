/* Unit tests for sign.c: the three vectors Huawei's SDKs publish, and the
 * canonical request's corners (queries with spaces, repeated keys, empty
 * values, non-ASCII; paths; headers), each against the text the SDKs'
 * algorithm gives (the API notes, section 4). */
#include <glib.h>
#include <string.h>

#include "sign.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static char *authorization(const char *method, const char *url,
			   const char *const *headers, const char *body,
			   const char *date)
{
	struct pfs_sign_request req = {
		.method = method, .url = url, .headers = headers, .body = body,
		.body_len = body ? strlen(body) : 0,
	};
	char err[256] = "";
	char *res = pfs_sign_authorization(&req, date, "AccessKey", "SecretKey",
					   err, sizeof(err));

	g_assert_nonnull(res);
	return res;
}

static void assert_signature(const char *authorization_value, const char *names,
			     const char *signature)
{
	char *want = g_strdup_printf("SDK-HMAC-SHA256 Access=AccessKey, "
				     "SignedHeaders=%s, Signature=%s", names,
				     signature);

	g_assert_cmpstr(authorization_value, ==, want);
	g_free(want);
}

static const char *const vector_headers[] = {
	"Host: service.endpoint.myhuaweicloud.com",
	"X-Sdk-Date: 20200608T023900Z",
	NULL,
};

static void test_vector_get(void)
{
	struct pfs_sign_request req = {
		.method = "GET",
		.url = "https://service.endpoint.myhuaweicloud.com/resources?size=1",
		.headers = vector_headers,
	};
	char err[256];
	char *canonical = pfs_sign_canonical_request(&req, err, sizeof(err));
	char *auth = authorization(req.method, req.url, vector_headers, NULL,
				   "20200608T023900Z");

	g_assert_cmpstr(canonical, ==,
			"GET\n/resources/\nsize=1\n"
			"host:service.endpoint.myhuaweicloud.com\n"
			"x-sdk-date:20200608T023900Z\n\nhost;x-sdk-date\n"
			EMPTY_SHA256);
	assert_signature(auth, "host;x-sdk-date",
			 "cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842");
	g_free(auth);
	g_free(canonical);
}

static void test_vector_post(void)
{
	char *auth = authorization("POST",
				   "https://service.endpoint.myhuaweicloud.com/resources?size=1",
				   vector_headers, "{\"name\":\"test\",\"id\":1}",
				   "20200608T023900Z");

	assert_signature(auth, "host;x-sdk-date",
			 "436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f");
	g_free(auth);
}

static void test_vector_date_only(void)
{
	const char *const headers[] = { "X-Sdk-Date: 20060102T150405Z", NULL };
	char *auth = authorization("GET", "https://example.huaweicloud.com/path?limit=1",
				   headers, NULL, "20060102T150405Z");

	assert_signature(auth, "x-sdk-date",
			 "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624");
	g_free(auth);
}

/* The path and query lines of the canonical request of a GET of @url. */
static char *path_and_query(const char *url)
{
	const char *const headers[] = { "X-Sdk-Date: 20060102T150405Z", NULL };
	struct pfs_sign_request req = { .method = "GET", .url = url, .headers = headers };
	char err[256];
	char *canonical = pfs_sign_canonical_request(&req, err, sizeof(err));
	char **lines;
	char *res;

	g_assert_nonnull(canonical);
	lines = g_strsplit(canonical, "\n", 4);
	res = g_strconcat(lines[1], " ", lines[2], NULL);
	g_strfreev(lines);
	g_free(canonical);
	return res;
}

static void assert_path_and_query(const char *url, const char *want)
{
	char *got = path_and_query(url);

	g_assert_cmpstr(got, ==, want);
	g_free(got);
}

static void test_query_edges(void)
{
	/* spaces: as %20, as '+' (the SDKs parse queries as forms) */
	assert_path_and_query("http://h/p?q=a%20b&r=c+d", "/p/ q=a%20b&r=c%20d");
	/* repeated keys: sorted by key, then value */
	assert_path_and_query("http://h/p?b=2&a=1&b=1", "/p/ a=1&b=1&b=2");
	/* empty values, a key alone, empty pieces */
	assert_path_and_query("http://h/p?x=&y&&z=1&", "/p/ x=&y=&z=1");
	/* non-ASCII, raw or already encoded, and reserved characters */
	assert_path_and_query("http://h/p?name=%E5%90%8D&k=\xc3\xa9",
			      "/p/ k=%C3%A9&name=%E5%90%8D");
	assert_path_and_query("http://h/p?a=%2F%3D%26~-_.", "/p/ a=%2F%3D%26~-_.");
	/* sorted decoded, as bytes: uppercase before lowercase */
	assert_path_and_query("http://h/p?b=1&B=2&a%20=3", "/p/ B=2&a%20=3&b=1");
	/* a fragment is no part of it; a stray '%' is encoded */
	assert_path_and_query("http://h/p?a=100%#frag", "/p/ a=100%25");
}

static void test_paths(void)
{
	assert_path_and_query("https://h", "/ ");
	assert_path_and_query("https://h/", "/ ");
	assert_path_and_query("https://h/v3/pipelines/abc/status",
			      "/v3/pipelines/abc/status/ ");
	assert_path_and_query("https://h/a%20b/c+d/", "/a%20b/c%2Bd/ ");
	assert_path_and_query("https://h/%E5%90%8D", "/%E5%90%8D/ ");
	assert_path_and_query("https://h:8443/x?", "/x/ ");
}

static void test_headers(void)
{
	const char *const headers[] = {
		"X-Sdk-Date:   20060102T150405Z  ",
		"host: H:8080",
		"X-Security-Token: tok",
		NULL,
	};
	struct pfs_sign_request req = { .method = "GET", .url = "http://H:8080/",
					.headers = headers };
	const char *const nameless[] = { "no colon here", NULL };
	char err[256] = "";
	char *canonical = pfs_sign_canonical_request(&req, err, sizeof(err));

	g_assert_cmpstr(canonical, ==,
			"GET\n/\n\nhost:H:8080\nx-sdk-date:20060102T150405Z\n"
			"x-security-token:tok\n\nhost;x-sdk-date;x-security-token\n"
			EMPTY_SHA256);
	g_free(canonical);
	req.headers = nameless;
	g_assert_null(pfs_sign_canonical_request(&req, err, sizeof(err)));
	g_assert_cmpstr(err, !=, "");
	req.headers = headers;
	req.url = "/relative";
	g_assert_null(pfs_sign_canonical_request(&req, err, sizeof(err)));
}

static void test_date(void)
{
	char date[PFS_SIGN_DATE_LEN + 1];

	pfs_sign_date(1591583940, date);
	g_assert_cmpstr(date, ==, "20200608T023900Z");
	pfs_sign_date(0, date);
	g_assert_cmpstr(date, ==, "19700101T000000Z");
}

static void assert_host(const char *url, const char *want)
{
	char *host = pfs_sign_host(url);

	g_assert_cmpstr(host, ==, want);
	g_free(host);
}

static void test_host(void)
{
	assert_host("https://example.com/x", "example.com");
	assert_host("https://example.com:443/x", "example.com");
	assert_host("https://example.com:8443/x", "example.com:8443");
	assert_host("http://127.0.0.1:8080", "127.0.0.1:8080");
	assert_host("http://127.0.0.1:80?x", "127.0.0.1");
	assert_host("HTTP://user:pw@Example.com:81/", "Example.com:81");
	assert_host("http://[::1]:8080/", "[::1]:8080");
	assert_host("http://[::1]/", "[::1]");
	assert_host("ftp://example.com/", NULL);
	assert_host("example.com", NULL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sign/vector/get", test_vector_get);
	g_test_add_func("/sign/vector/post", test_vector_post);
	g_test_add_func("/sign/vector/date-only", test_vector_date_only);
	g_test_add_func("/sign/query", test_query_edges);
	g_test_add_func("/sign/path", test_paths);
	g_test_add_func("/sign/headers", test_headers);
	g_test_add_func("/sign/date", test_date);
	g_test_add_func("/sign/host", test_host);
	return g_test_run();
}
