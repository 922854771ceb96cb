/* Unit tests for http.c's requests against a one-shot server on 127.0.0.1:
 * what a POST sends, the captured header, Date, and that only the final
 * response's headers count. */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

/* Accepts one connection, keeps the request, sends @reply, closes. */
struct server {
	int listener;
	char url[64];
	const char *reply;
	GString *request;	/* head and body as received */
	pthread_t thread;
};

static void read_request(int fd, GString *request)
{
	char buf[4096];
	const char *head_end, *length;
	size_t want = 0;
	ssize_t n;

	for (;;) {
		head_end = strstr(request->str, "\r\n\r\n");
		if (head_end) {
			length = strcasestr(request->str, "\r\nContent-Length:");
			want = (size_t)(head_end + 4 - request->str) +
			       (length && length < head_end ? strtoul(length + 17, NULL, 10) : 0);
			if (request->len >= want)
				return;
		}
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		g_string_append_len(request, buf, n);
	}
}

static void *serve_one(void *arg)
{
	struct server *server = arg;
	int fd = accept(server->listener, NULL, NULL);

	if (fd < 0)
		return NULL;
	read_request(fd, server->request);
	g_assert_cmpint(write(fd, server->reply, strlen(server->reply)), ==,
			(ssize_t)strlen(server->reply));
	close(fd);
	return NULL;
}

static void server_start(struct server *server, const char *reply)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	server->listener = socket(AF_INET, SOCK_STREAM, 0);
	g_assert_cmpint(bind(server->listener, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	g_assert_cmpint(listen(server->listener, 1), ==, 0);
	g_assert_cmpint(getsockname(server->listener, (struct sockaddr *)&addr, &len), ==, 0);
	snprintf(server->url, sizeof(server->url), "http://127.0.0.1:%u/v3/auth/tokens",
		 ntohs(addr.sin_port));
	server->reply = reply;
	server->request = g_string_new(NULL);
	g_assert_cmpint(pthread_create(&server->thread, NULL, serve_one, server), ==, 0);
}

/* After the thread is joined. */
static void server_stop(struct server *server)
{
	close(server->listener);
	g_string_free(server->request, TRUE);
}

/* Runs @req against a server answering @reply; the request as received
 * in *@received (g_malloc'd). */
static int run(struct pfs_http_request *req, const char *reply,
	       struct pfs_http_response *resp, char **received)
{
	struct pfs_http *http;
	struct server server;
	char err[256];
	int res;

	server_start(&server, reply);
	req->url = server.url;
	g_assert_cmpint(pfs_http_new(5000, 1, &http), ==, 0);
	res = pfs_http_request(http, req, resp, err, sizeof(err));
	pfs_http_free(http);
	pthread_join(server.thread, NULL);
	*received = g_strdup(server.request->str);
	server_stop(&server);
	return res;
}

static const char created[] =
	"HTTP/1.1 201 Created\r\n"
	"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	"X-Subject-Token:   MIIsecret-token  \r\n"
	"Content-Length: 2\r\n\r\n{}";

/* Over 1 MiB: libcurl would ask for a 100 Continue first. */
static void test_post_sends_the_body_as_json(void)
{
	char *pad = g_strnfill((1 << 20) + 100, 'a');
	char *body = g_strdup_printf("{\"auth\": \"%s\"}", pad);
	char *tail = g_strconcat("\r\n\r\n", body, NULL);
	struct pfs_http_request req = { .method = "POST", .body = body,
					.body_len = strlen(body),
					.capture = "x-subject-token" };
	struct pfs_http_response resp;
	char *received;

	g_assert_cmpint(run(&req, created, &resp, &received), ==, 0);
	g_assert_true(g_str_has_prefix(received, "POST /v3/auth/tokens HTTP/1.1\r\n"));
	g_assert_nonnull(strstr(received, "\r\nContent-Type: application/json\r\n"));
	g_assert_null(strcasestr(received, "\r\nExpect:"));
	g_assert_true(g_str_has_suffix(received, tail));
	g_assert_cmpint(resp.status, ==, 201);
	g_assert_cmpstr(resp.captured, ==, "MIIsecret-token");
	g_assert_cmpint(resp.date, ==, 784111777);
	g_assert_cmpstr(resp.body, ==, "{}");
	pfs_http_response_clear(&resp);
	g_assert_null(resp.captured);
	g_free(received);
	g_free(tail);
	g_free(body);
	g_free(pad);
}

static void test_post_keeps_a_given_content_type(void)
{
	const char *const headers[] = { "content-type: text/plain", NULL };
	struct pfs_http_request req = { .method = "POST", .headers = headers,
					.body = "x", .body_len = 1 };
	struct pfs_http_response resp;
	char *received;

	g_assert_cmpint(run(&req, created, &resp, &received), ==, 0);
	g_assert_nonnull(strstr(received, "\r\ncontent-type: text/plain\r\n"));
	g_assert_null(strstr(received, "application/json\r\nContent-Type"));
	g_assert_null(strstr(received, "Content-Type: application/json"));
	/* nothing asked to capture */
	g_assert_null(resp.captured);
	pfs_http_response_clear(&resp);
	g_free(received);
}

static void test_get_without_date_or_capture(void)
{
	struct pfs_http_request req = { .method = "GET", .capture = "X-Subject-Token" };
	struct pfs_http_response resp;
	char *received;

	g_assert_cmpint(run(&req, "HTTP/1.1 200 OK\r\nRetry-After: 7\r\n"
			    "Content-Length: 2\r\n\r\n{}", &resp, &received), ==, 0);
	g_assert_true(g_str_has_prefix(received, "GET /v3/auth/tokens HTTP/1.1\r\n"));
	g_assert_null(strcasestr(received, "\r\nContent-Type:"));
	g_assert_null(resp.captured);
	g_assert_cmpint(resp.date, ==, 0);
	g_assert_cmpint(resp.retry_after, ==, 7);
	pfs_http_response_clear(&resp);
	g_free(received);
}

/* A 100 Continue's headers (or a proxy's) are not the answer's. */
static void test_only_the_final_response_counts(void)
{
	struct pfs_http_request req = { .method = "POST", .body = "{}", .body_len = 2,
					.capture = "X-Subject-Token" };
	struct pfs_http_response resp;
	char *received;

	g_assert_cmpint(run(&req, "HTTP/1.1 100 Continue\r\nX-Subject-Token: early\r\n"
			    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nRetry-After: 3\r\n\r\n"
			    "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\n{}",
			    &resp, &received), ==, 0);
	g_assert_cmpint(resp.status, ==, 401);
	g_assert_null(resp.captured);
	g_assert_cmpint(resp.date, ==, 0);
	g_assert_cmpint(resp.retry_after, ==, -1);
	pfs_http_response_clear(&resp);
	g_free(received);
}

static void test_other_methods_are_refused(void)
{
	struct pfs_http_request req = { .method = "PUT", .url = "http://127.0.0.1:1/" };
	struct pfs_http_response resp;
	struct pfs_http *http;
	char err[256];

	g_assert_cmpint(pfs_http_new(5000, 1, &http), ==, 0);
	g_assert_cmpint(pfs_http_request(http, &req, &resp, err, sizeof(err)), ==, -EINVAL);
	g_assert_cmpstr(err, ==, "HTTP method PUT not supported");
	g_assert_null(resp.body);
	pfs_http_free(http);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_assert_cmpint(pfs_http_global_init(), ==, 0);
	g_test_add_func("/http/post_sends_the_body_as_json", test_post_sends_the_body_as_json);
	g_test_add_func("/http/post_keeps_a_given_content_type",
			test_post_keeps_a_given_content_type);
	g_test_add_func("/http/get_without_date_or_capture", test_get_without_date_or_capture);
	g_test_add_func("/http/only_the_final_response_counts",
			test_only_the_final_response_counts);
	g_test_add_func("/http/other_methods_are_refused", test_other_methods_are_refused);
	return g_test_run();
}
