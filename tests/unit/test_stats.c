/* Unit tests for stats.c: the health state machine on a clock moved by
 * hand, the health text (one clean line per key, no secret), and the
 * metrics text read back line by line against the exposition grammar.
 *
 * `test_stats --print-metrics` prints the metrics text of a fixed mix of
 * requests instead, for tests/test_prometheus_text.py. */
#include <errno.h>
#include <glib.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "stats.h"

/* 40 characters, as a quoted IAM token would look */
#define SECRET "MIIZbAYJKoZIhvcNAQcCoIIZXTCCGVkCAQExDTAL"

static double fake_now;

static double fake_clock(void)
{
	return fake_now;
}

static void start_over(void)
{
	fake_now = 1000.0;
	pfs_stats_set_clock(fake_clock);
	pfs_stats_reset();
}

static void assert_state(enum pfs_stats_state want)
{
	g_assert_cmpstr(pfs_stats_state_name(pfs_stats_state()), ==,
			pfs_stats_state_name(want));
}

static void network_error(void)
{
	pfs_stats_request_end(PFS_STATS_NETWORK_ERROR, 0, NULL,
			      "Failed to connect to 127.0.0.1 port 9: Connection refused");
}

static void success(void)
{
	pfs_stats_request_end(PFS_STATS_OK, 200, NULL, NULL);
}

/* The value of `key: ` in the health text @text (g_free it). */
static char *value_in(const char *text, const char *key)
{
	char **lines = g_strsplit(text, "\n", -1);
	char *value = NULL;
	size_t klen = strlen(key);
	char **l;

	for (l = lines; *l; l++)
		if (strncmp(*l, key, klen) == 0 && strncmp(*l + klen, ": ", 2) == 0)
			value = g_strdup(*l + klen + 2);
	g_strfreev(lines);
	g_assert_nonnull(value);
	return value;
}

static char *health_value(const char *key)
{
	size_t len;
	char *text = pfs_stats_health_text(NULL, &len);
	char *value = value_in(text, key);

	g_assert_cmpuint(len, ==, strlen(text));
	g_free(text);
	return value;
}

static void assert_health(const char *key, const char *want)
{
	char *value = health_value(key);

	g_assert_cmpstr(value, ==, want);
	g_free(value);
}

/* Seconds between two times of one health text (ISO 8601 UTC). */
static double health_seconds_between(const char *key_a, const char *key_b)
{
	size_t len;
	char *text = pfs_stats_health_text(NULL, &len);
	char *a = value_in(text, key_a), *b = value_in(text, key_b);
	GDateTime *ta = g_date_time_new_from_iso8601(a, NULL);
	GDateTime *tb = g_date_time_new_from_iso8601(b, NULL);
	double d;

	g_assert_nonnull(ta);
	g_assert_nonnull(tb);
	d = (double)g_date_time_difference(tb, ta) / G_USEC_PER_SEC;
	g_date_time_unref(ta);
	g_date_time_unref(tb);
	g_free(a);
	g_free(b);
	g_free(text);
	return d;
}

static void test_starts_ok(void)
{
	start_over();
	assert_state(PFS_STATS_STATE_OK);
	assert_health("state", "ok");
	g_assert_cmpfloat(health_seconds_between("since", "since"), ==, 0);	/* a time */
	assert_health("last_success", "-");
	assert_health("last_error", "-");
	assert_health("throttled_until", "-");
	assert_health("backing_off_until", "-");
	assert_health("requests_in_flight", "0");
	assert_health("waiters", "0");
}

static void test_network_failures_in_a_row_are_down(void)
{
	int i;

	start_over();
	success();
	for (i = 1; i < PFS_STATS_DOWN_AFTER; i++) {
		fake_now += 1;
		network_error();
		assert_state(PFS_STATS_STATE_DEGRADED);
	}
	fake_now += 1;
	pfs_stats_request_end(PFS_STATS_TIMEOUT, 0, NULL, "Operation timed out");
	assert_state(PFS_STATS_STATE_DOWN);
	assert_health("state", "down");
	fake_now += 10;
	network_error();
	/* down began with the failure that made it, not with the last one */
	fake_now += 5;
	g_assert_cmpfloat(health_seconds_between("since", "last_success"), ==,
			  -(double)PFS_STATS_DOWN_AFTER);
	fake_now += 5;
	success();
	assert_state(PFS_STATS_STATE_OK);
	g_assert_cmpfloat(health_seconds_between("since", "last_success"), ==, 0);
}

static void test_5xx_counts_towards_down(void)
{
	int i;

	start_over();
	for (i = 0; i < PFS_STATS_DOWN_AFTER; i++)
		pfs_stats_request_end(PFS_STATS_HTTP_ERROR, 502, NULL, NULL);
	assert_state(PFS_STATS_STATE_DOWN);
}

static void test_an_answer_starts_the_count_over(void)
{
	int i;

	start_over();
	for (i = 1; i < PFS_STATS_DOWN_AFTER; i++)
		network_error();
	pfs_stats_request_end(PFS_STATS_HTTP_ERROR, 409, "X.1", "conflict");
	network_error();
	assert_state(PFS_STATS_STATE_DEGRADED);
	pfs_stats_request_end(PFS_STATS_INVALID, 200, NULL, "unusable body");
	for (i = 1; i < PFS_STATS_DOWN_AFTER; i++)
		network_error();
	assert_state(PFS_STATS_STATE_DEGRADED);
}

static void test_not_found_is_an_answer(void)
{
	char *value;

	start_over();
	network_error();
	assert_state(PFS_STATS_STATE_DEGRADED);
	fake_now += 2;
	pfs_stats_request_end(PFS_STATS_HTTP_ERROR, 404, "DEVPIPE.00011401",
			      "not found");
	assert_state(PFS_STATS_STATE_OK);
	/* not an error of the mount: last_error keeps the real one */
	value = health_value("last_error");
	g_assert_true(g_str_has_suffix(value, " - - Failed to connect to 127.0.0.1 "
				       "port 9: Connection refused"));
	g_free(value);
	g_assert_cmpfloat(health_seconds_between("since", "last_success"), ==, 0);
}

static void test_429_is_throttled_until_the_pause_ends(void)
{
	start_over();
	success();
	fake_now += 1;
	pfs_stats_request_end(PFS_STATS_HTTP_ERROR, 429, "APIGW.0308", "throttled");
	pfs_stats_throttled_until(fake_now + 5);
	assert_state(PFS_STATS_STATE_THROTTLED);
	g_assert_cmpfloat(health_seconds_between("since", "throttled_until"), ==, 5);
	/* requests held back meanwhile change nothing */
	pfs_stats_request_end(PFS_STATS_NOT_SENT, 0, NULL, NULL);
	fake_now += 7;
	/* the last request failed: degraded, since the pause ended */
	assert_state(PFS_STATS_STATE_DEGRADED);
	assert_health("throttled_until", "-");
	g_assert_cmpfloat(health_seconds_between("last_success", "since"), ==, 6);
	success();
	assert_state(PFS_STATS_STATE_OK);
}

static void test_401_is_unauthorized_until_an_answer_says_otherwise(void)
{
	start_over();
	pfs_stats_request_end(PFS_STATS_HTTP_ERROR, 401, "APIGW.0301",
			      "Incorrect IAM authentication information");
	pfs_stats_unauthorized_until(fake_now + 1);
	assert_state(PFS_STATS_STATE_UNAUTHORIZED);
	fake_now += 2;
	assert_state(PFS_STATS_STATE_UNAUTHORIZED);	/* the last answer was 401 */
	pfs_stats_unauthorized_until(0);	/* new credentials */
	network_error();			/* says nothing about them */
	assert_state(PFS_STATS_STATE_UNAUTHORIZED);
	pfs_stats_request_end(PFS_STATS_HTTP_ERROR, 403, NULL, NULL);
	assert_state(PFS_STATS_STATE_UNAUTHORIZED);
	success();
	assert_state(PFS_STATS_STATE_OK);
}

static void test_backoff_is_degraded_until_it_ends(void)
{
	start_over();
	pfs_stats_backoff_until(fake_now + 30, -ENOENT);	/* an answer */
	assert_state(PFS_STATS_STATE_OK);
	pfs_stats_backoff_until(fake_now + 4, -EAGAIN);
	pfs_stats_backoff_until(fake_now + 2, -EIO);		/* the latest counts */
	success();
	assert_state(PFS_STATS_STATE_DEGRADED);
	g_assert_cmpfloat(health_seconds_between("since", "backing_off_until"), ==, 4);
	fake_now += 10;
	assert_state(PFS_STATS_STATE_OK);
	assert_health("backing_off_until", "-");
	g_assert_cmpfloat(health_seconds_between("last_success", "since"), ==, 4);
}

static void test_last_error_is_one_clean_line(void)
{
	size_t len;
	char *text, *value, **lines, **l;

	start_over();
	pfs_log_add_secret(SECRET);
	pfs_stats_request_end(PFS_STATS_HTTP_ERROR, 500, "DEV.1 x",
			      "bad\ntoken " SECRET "\x1b[31m\r\nstate: ok");
	pfs_log_remove_secret(SECRET);
	value = health_value("last_error");
	g_assert_true(g_str_has_suffix(value, " 500 DEV.1_x bad?token "
				       PFS_LOG_REDACTED "?[31m??state: ok"));
	g_free(value);
	text = pfs_stats_health_text(NULL, &len);
	g_assert_null(strstr(text, SECRET));
	g_assert_true(g_str_has_suffix(text, "\n"));
	lines = g_strsplit(text, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 8 + 1);	/* 8 keys, "" */
	for (l = lines; l[1]; l++)
		g_assert_true(g_regex_match_simple("^[a-z_]+: [^\\x00-\\x1f]+$", *l, 0, 0));
	g_strfreev(lines);
	g_free(text);
}

static void test_network_reason_in_last_error(void)
{
	char *value;

	start_over();
	network_error();
	value = health_value("last_error");
	g_assert_true(g_regex_match_simple(
		"^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ - - Failed to connect "
		"to 127.0.0.1 port 9: Connection refused$", value, 0, 0));
	g_free(value);
}

/* ---- the exposition format, read back ---- */

struct family {
	char *type;
	bool help;
	bool sampled;
};

struct sample {
	char *name;
	GHashTable *labels;	/* name -> unescaped value */
	double value;
};

static bool is_name(const char *p, size_t n, bool colons)
{
	size_t i;

	if (n == 0 || g_ascii_isdigit(p[0]))
		return false;
	for (i = 0; i < n; i++)
		if (!g_ascii_isalnum(p[i]) && p[i] != '_' && !(colons && p[i] == ':'))
			return false;
	return true;
}

/* A label value after its opening quote, unescaped into @out; the byte
 * after its closing quote, or NULL when malformed. */
static const char *read_label_value(const char *p, GString *out)
{
	for (; *p && *p != '"'; p++) {
		if (*p != '\\') {
			g_string_append_c(out, *p);
			continue;
		}
		p++;
		if (*p == 'n')
			g_string_append_c(out, '\n');
		else if (*p == '\\' || *p == '"')
			g_string_append_c(out, *p);
		else
			return NULL;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *read_labels(const char *p, GHashTable *labels)
{
	while (*p != '}') {
		const char *eq = strchr(p, '=');
		GString *value = g_string_new(NULL);
		char *name;

		g_assert_nonnull(eq);
		g_assert_true(is_name(p, (size_t)(eq - p), false));
		g_assert_cmpint(eq[1], ==, '"');
		name = g_strndup(p, (size_t)(eq - p));
		p = read_label_value(eq + 2, value);
		g_assert_nonnull(p);
		g_assert_false(g_hash_table_contains(labels, name));
		g_hash_table_insert(labels, name, g_string_free(value, FALSE));
		if (*p == ',')
			p++;
		else
			g_assert_cmpint(*p, ==, '}');
	}
	return p + 1;
}

static struct sample *parse_sample(const char *line)
{
	struct sample *s = g_new0(struct sample, 1);
	size_t n = strcspn(line, "{ ");
	const char *p = line + n;
	char *end;

	g_assert_true(is_name(line, n, true));
	s->name = g_strndup(line, n);
	s->labels = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (*p == '{')
		p = read_labels(p + 1, s->labels);
	g_assert_cmpint(*p, ==, ' ');
	s->value = g_ascii_strtod(p + 1, &end);
	g_assert_true(end != p + 1 && *end == '\0');	/* a number, no timestamp */
	g_assert_true(isfinite(s->value));
	return s;
}

static void sample_free(gpointer data)
{
	struct sample *s = data;

	g_free(s->name);
	g_hash_table_destroy(s->labels);
	g_free(s);
}

static void family_free(gpointer data)
{
	struct family *f = data;

	g_free(f->type);
	g_free(f);
}

static void read_comment(GHashTable *families, const char *line)
{
	char **w = g_strsplit(line, " ", 4);
	struct family *f;

	g_assert_cmpstr(w[0], ==, "#");
	g_assert_true(g_strv_length(w) >= 4 - (strcmp(w[1], "TYPE") == 0));
	g_assert_true(is_name(w[2], strlen(w[2]), true));
	f = g_hash_table_lookup(families, w[2]);
	if (!f) {
		f = g_new0(struct family, 1);
		g_hash_table_insert(families, g_strdup(w[2]), f);
	}
	g_assert_false(f->sampled);		/* comments come first */
	if (strcmp(w[1], "HELP") == 0) {
		g_assert_false(f->help);
		f->help = true;
	} else {
		g_assert_cmpstr(w[1], ==, "TYPE");
		g_assert_null(f->type);
		g_assert_true(g_strv_contains((const char *const[]){ "counter",
			"gauge", "summary", "histogram", "untyped", NULL }, w[3]));
		f->type = g_strdup(w[3]);
	}
	g_strfreev(w);
}

/* The family a sample belongs to: its own name, or a summary's. */
static struct family *family_of(GHashTable *families, const char *name)
{
	struct family *f = g_hash_table_lookup(families, name);
	const char *suffixes[] = { "_sum", "_count" };
	size_t i;

	for (i = 0; !f && i < G_N_ELEMENTS(suffixes); i++) {
		if (g_str_has_suffix(name, suffixes[i])) {
			char *base = g_strndup(name, strlen(name) - strlen(suffixes[i]));

			f = g_hash_table_lookup(families, base);
			g_assert_true(!f || g_strcmp0(f->type, "summary") == 0);
			g_free(base);
		}
	}
	g_assert_nonnull(f);
	g_assert_true(f->help && f->type);
	if (strcmp(f->type, "counter") == 0)
		g_assert_true(g_str_has_suffix(name, "_total"));
	return f;
}

/* Parses the metrics text strictly; returns its samples in order. */
static GPtrArray *parse_metrics(const char *text)
{
	GHashTable *families = g_hash_table_new_full(g_str_hash, g_str_equal,
						     g_free, family_free);
	GPtrArray *samples = g_ptr_array_new_with_free_func(sample_free);
	char **lines = g_strsplit(text, "\n", -1);
	char **l;

	g_assert_true(g_str_has_suffix(text, "\n"));
	for (l = lines; l[1]; l++) {
		g_assert_cmpstr(*l, !=, "");
		if ((*l)[0] == '#') {
			read_comment(families, *l);
		} else {
			struct sample *s = parse_sample(*l);

			family_of(families, s->name)->sampled = true;
			g_ptr_array_add(samples, s);
		}
	}
	g_strfreev(lines);
	g_hash_table_destroy(families);
	return samples;
}

/* The value of the sample @name with @labels ("k=v,k=v" unescaped, or
 * NULL for none); NAN when there is none. */
static double sample_value(GPtrArray *samples, const char *name, const char *labels)
{
	guint i;

	for (i = 0; i < samples->len; i++) {
		struct sample *s = g_ptr_array_index(samples, i);
		char **pairs = g_strsplit(labels ? labels : "", ",", -1);
		bool match = strcmp(s->name, name) == 0 &&
			     g_hash_table_size(s->labels) == (labels ? g_strv_length(pairs) : 0);
		char **p;

		for (p = pairs; match && labels && *p; p++) {
			char **kv = g_strsplit(*p, "=", 2);

			match = g_strcmp0(g_hash_table_lookup(s->labels, kv[0]), kv[1]) == 0;
			g_strfreev(kv);
		}
		g_strfreev(pairs);
		if (match)
			return s->value;
	}
	return NAN;
}

/* A mix of every kind of request, for both the test and --print-metrics. */
static void record_mix(void)
{
	double start;

	start = pfs_stats_transfer_begin();
	fake_now += 0.25;
	pfs_stats_transfer_end(start, 1500);
	success();
	start = pfs_stats_transfer_begin();
	fake_now += 0.5;
	pfs_stats_transfer_end(start, 100);
	pfs_stats_request_end(PFS_STATS_HTTP_ERROR, 503, "DEV.5", "try \"later\"\\");
	pfs_stats_request_end(PFS_STATS_HTTP_ERROR, 503, NULL, NULL);
	pfs_stats_request_end(PFS_STATS_TIMEOUT, 0, NULL, "timed out");
	pfs_stats_request_end(PFS_STATS_NOT_SENT, 0, NULL, NULL);
	pfs_stats_request_end(PFS_STATS_INVALID, 200, NULL, "unusable");
	pfs_stats_transfer_begin();	/* still in flight */
	pfs_stats_cache_hit();
	pfs_stats_cache_hit();
	pfs_stats_cache_miss();
	pfs_stats_eviction();
	pfs_stats_waiters_add(3);
	pfs_stats_waiters_add(-1);
	pfs_stats_notification();
}

static void test_metrics_follow_the_exposition_format(void)
{
	struct pfs_stats_gauges g = { .cached_builds = 7, .cached_bytes = 12345 };
	GPtrArray *samples;
	size_t len;
	char *text;

	start_over();
	record_mix();
	text = pfs_stats_metrics_text(&g, &len);
	g_assert_cmpuint(len, ==, strlen(text));
	samples = parse_metrics(text);
#define VALUE(name, labels, want) \
	g_assert_cmpfloat(sample_value(samples, name, labels), ==, want)
	VALUE("pipelinefs_requests_total", "result=ok,status=200", 1);
	VALUE("pipelinefs_requests_total", "result=http_error,status=503", 2);
	VALUE("pipelinefs_requests_total", "result=timeout,status=", 1);
	VALUE("pipelinefs_requests_total", "result=not_sent,status=", 1);
	VALUE("pipelinefs_requests_total", "result=invalid,status=200", 1);
	VALUE("pipelinefs_request_duration_seconds_sum", NULL, 0.75);
	VALUE("pipelinefs_request_duration_seconds_count", NULL, 2);
	VALUE("pipelinefs_received_bytes_total", NULL, 1600);
	VALUE("pipelinefs_requests_in_flight", NULL, 1);
	VALUE("pipelinefs_cache_hits_total", NULL, 2);
	VALUE("pipelinefs_cache_misses_total", NULL, 1);
	VALUE("pipelinefs_cache_evictions_total", NULL, 1);
	VALUE("pipelinefs_cached_builds", NULL, 7);
	VALUE("pipelinefs_cached_bytes", NULL, 12345);
	VALUE("pipelinefs_waiters", NULL, 2);
	VALUE("pipelinefs_kernel_notifications_total", NULL, 1);
	VALUE("pipelinefs_up", NULL, 1);
	VALUE("pipelinefs_state", "state=degraded", 1);
	VALUE("pipelinefs_state", "state=ok", 0);
	g_ptr_array_free(samples, TRUE);
	g_free(text);

	/* down: pipelinefs_up 0; no gauges given: zeros */
	network_error();
	network_error();
	network_error();
	text = pfs_stats_metrics_text(NULL, &len);
	samples = parse_metrics(text);
	VALUE("pipelinefs_up", NULL, 0);
	VALUE("pipelinefs_state", "state=down", 1);
	VALUE("pipelinefs_cached_builds", NULL, 0);
	VALUE("pipelinefs_requests_total", "result=network_error,status=", 3);
#undef VALUE
	g_ptr_array_free(samples, TRUE);
	g_free(text);
}

static void assert_label_value(const char *value, const char *want)
{
	char *quoted = pfs_stats_label_value(value);

	g_assert_cmpstr(quoted, ==, want);
	g_free(quoted);
}

static void test_label_values_are_escaped(void)
{
	assert_label_value("200", "\"200\"");
	assert_label_value("", "\"\"");
	assert_label_value("a\\b\"c\nd", "\"a\\\\b\\\"c\\nd\"");
}

static void test_label_values_are_unescaped_by_the_reader(void)
{
	GPtrArray *samples = parse_metrics(
		"# HELP x_total a \\\\ help\\nline\n# TYPE x_total counter\n"
		"x_total{a=\"q\\\"uote\",b=\"back\\\\slash\",c=\"new\\nline\"} 1\n");
	struct sample *s = g_ptr_array_index(samples, 0);

	g_assert_cmpstr(g_hash_table_lookup(s->labels, "a"), ==, "q\"uote");
	g_assert_cmpstr(g_hash_table_lookup(s->labels, "b"), ==, "back\\slash");
	g_assert_cmpstr(g_hash_table_lookup(s->labels, "c"), ==, "new\nline");
	g_ptr_array_free(samples, TRUE);
}

#define THREADS 4
#define ROUNDS 5000

static void *hammer(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < ROUNDS; i++) {
		double start = pfs_stats_transfer_begin();

		pfs_stats_transfer_end(start, 1);
		pfs_stats_request_end(i % 2 ? PFS_STATS_OK : PFS_STATS_TIMEOUT,
				      i % 2 ? 200 : 0, NULL, "timed out");
		pfs_stats_cache_hit();
	}
	return NULL;
}

static void test_counts_are_exact_across_threads(void)
{
	pthread_t threads[THREADS];
	GPtrArray *samples;
	size_t len;
	char *text;
	int i;

	start_over();
	pfs_stats_set_clock(NULL);	/* fake_now is no atomic */
	pfs_stats_reset();
	for (i = 0; i < THREADS; i++)
		g_assert_cmpint(pthread_create(&threads[i], NULL, hammer, NULL), ==, 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	text = pfs_stats_metrics_text(NULL, &len);
	samples = parse_metrics(text);
	g_assert_cmpfloat(sample_value(samples, "pipelinefs_cache_hits_total", NULL),
			  ==, THREADS * ROUNDS);
	g_assert_cmpfloat(sample_value(samples, "pipelinefs_received_bytes_total", NULL),
			  ==, THREADS * ROUNDS);
	g_assert_cmpfloat(sample_value(samples, "pipelinefs_requests_total",
				       "result=ok,status=200"), ==, THREADS * ROUNDS / 2);
	g_assert_cmpfloat(sample_value(samples, "pipelinefs_request_duration_seconds_count",
				       NULL), ==, THREADS * ROUNDS);
	g_assert_cmpfloat(sample_value(samples, "pipelinefs_requests_in_flight", NULL),
			  ==, 0);
	g_ptr_array_free(samples, TRUE);
	g_free(text);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--print-metrics") == 0) {
		size_t len;
		char *text;

		start_over();
		record_mix();
		text = pfs_stats_metrics_text(&(struct pfs_stats_gauges){ 7, 12345 }, &len);
		fwrite(text, 1, len, stdout);
		g_free(text);
		return 0;
	}
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/stats/starts-ok", test_starts_ok);
	g_test_add_func("/stats/network-failures-in-a-row-are-down",
			test_network_failures_in_a_row_are_down);
	g_test_add_func("/stats/5xx-counts-towards-down", test_5xx_counts_towards_down);
	g_test_add_func("/stats/an-answer-starts-the-count-over",
			test_an_answer_starts_the_count_over);
	g_test_add_func("/stats/not-found-is-an-answer", test_not_found_is_an_answer);
	g_test_add_func("/stats/429-is-throttled-until-the-pause-ends",
			test_429_is_throttled_until_the_pause_ends);
	g_test_add_func("/stats/401-is-unauthorized-until-an-answer-says-otherwise",
			test_401_is_unauthorized_until_an_answer_says_otherwise);
	g_test_add_func("/stats/backoff-is-degraded-until-it-ends",
			test_backoff_is_degraded_until_it_ends);
	g_test_add_func("/stats/last-error-is-one-clean-line",
			test_last_error_is_one_clean_line);
	g_test_add_func("/stats/network-reason-in-last-error",
			test_network_reason_in_last_error);
	g_test_add_func("/stats/metrics-follow-the-exposition-format",
			test_metrics_follow_the_exposition_format);
	g_test_add_func("/stats/label-values-are-escaped", test_label_values_are_escaped);
	g_test_add_func("/stats/label-values-are-unescaped-by-the-reader",
			test_label_values_are_unescaped_by_the_reader);
	g_test_add_func("/stats/counts-are-exact-across-threads",
			test_counts_are_exact_across_threads);
	return g_test_run();
}
