/* stats.c - see stats.h */
#include "stats.h"
#include "limiter.h"
#include "log.h"

#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#define COUNT(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define BUMP(x, n) __atomic_fetch_add(&(x), (n), __ATOMIC_RELAXED)

static const char *const result_names[PFS_STATS_RESULTS] = {
	[PFS_STATS_OK] = "ok",
	[PFS_STATS_HTTP_ERROR] = "http_error",
	[PFS_STATS_NETWORK_ERROR] = "network_error",
	[PFS_STATS_TIMEOUT] = "timeout",
	[PFS_STATS_INVALID] = "invalid",
	[PFS_STATS_NOT_SENT] = "not_sent",
};

static const char *const state_names[] = {
	[PFS_STATS_STATE_OK] = "ok",
	[PFS_STATS_STATE_DEGRADED] = "degraded",
	[PFS_STATS_STATE_THROTTLED] = "throttled",
	[PFS_STATS_STATE_UNAUTHORIZED] = "unauthorized",
	[PFS_STATS_STATE_DOWN] = "down",
};

/* Counters that need no lock. */
static struct {
	uint64_t cache_hits, cache_misses, evictions, notifications;
	uint64_t received_bytes;
	int64_t in_flight, waiters;
} counters;

/* requests_total, one row per result and status seen */
struct request_row {
	enum pfs_stats_result result;
	long status;
	uint64_t count;
};

struct last_error {
	double at;		/* monotonic s; 0: none yet */
	long status;		/* 0: no answer */
	char code[64];		/* cleaned; "" when none */
	char msg[PFS_STATS_ERROR_MSG_MAX];	/* cleaned; "" when none */
};

/* Everything under the lock. Times are monotonic seconds; 0 is never. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static double (*clock_now)(void) = pfs_limiter_now;
static struct {
	bool started;
	GArray *requests;	/* of struct request_row, in first-seen order */
	double duration_sum;	/* seconds of finished transfers */
	uint64_t duration_count;
	/* facts the state is derived from */
	double throttled_until, unauthorized_until, backoff_until;
	unsigned down_streak;	/* network/timeout/5xx in a row */
	bool refused;		/* the last HTTP answer was 401/403 */
	bool last_failed;	/* the last request sent failed */
	double last_success;
	struct last_error last_error;
	/* the state as last derived, and since when */
	enum pfs_stats_state state;
	double since;
	double looked;		/* the state was derived for this time */
} s;

/* ---- the state machine (called with lock held) ---- */

static enum pfs_stats_state derive(double now)
{
	if (now < s.throttled_until)
		return PFS_STATS_STATE_THROTTLED;
	if (now < s.unauthorized_until)
		return PFS_STATS_STATE_UNAUTHORIZED;
	if (s.down_streak >= PFS_STATS_DOWN_AFTER)
		return PFS_STATS_STATE_DOWN;
	if (s.refused)
		return PFS_STATS_STATE_UNAUTHORIZED;
	if (s.last_failed || now < s.backoff_until)
		return PFS_STATS_STATE_DEGRADED;
	return PFS_STATS_STATE_OK;
}

static void start_locked(double now)
{
	if (s.started)
		return;
	s.started = true;
	s.requests = g_array_new(FALSE, FALSE, sizeof(struct request_row));
	s.state = PFS_STATS_STATE_OK;
	s.since = s.looked = now;
}

static void settle(double t)
{
	enum pfs_stats_state state = derive(t);

	if (state != s.state) {
		s.state = state;
		s.since = t;
	}
	s.looked = t;
}

/* Brings the state up to @now: pauses end by themselves, and each end
 * that changes the state starts the new one at that end, not when someone
 * next looks. */
static double advance(void)
{
	double now = clock_now();

	start_locked(now);
	for (;;) {
		double ends[] = { s.throttled_until, s.unauthorized_until,
				  s.backoff_until };
		double next = now;
		size_t i;

		for (i = 0; i < G_N_ELEMENTS(ends); i++)
			if (ends[i] > s.looked && ends[i] < next)
				next = ends[i];
		if (next >= now)
			break;
		settle(next);
	}
	settle(now);
	return now;
}

/* ---- requests ---- */

double pfs_stats_transfer_begin(void)
{
	BUMP(counters.in_flight, 1);
	return clock_now();
}

void pfs_stats_transfer_end(double start, size_t bytes)
{
	double seconds = clock_now() - start;

	BUMP(counters.received_bytes, (uint64_t)bytes);
	pthread_mutex_lock(&lock);
	s.duration_sum += seconds > 0 ? seconds : 0;
	s.duration_count++;
	pthread_mutex_unlock(&lock);
	BUMP(counters.in_flight, -1);
}

enum pfs_stats_result pfs_stats_result_of(int err)
{
	if (err == 0)
		return PFS_STATS_OK;
	if (err == -ETIMEDOUT)
		return PFS_STATS_TIMEOUT;
	if (err == -EMSGSIZE)
		return PFS_STATS_INVALID;
	return PFS_STATS_NETWORK_ERROR;
}

static void count_request(enum pfs_stats_result result, long status)
{
	struct request_row row = { result, status, 1 };
	guint i;

	for (i = 0; i < s.requests->len; i++) {
		struct request_row *r = &g_array_index(s.requests, struct request_row, i);

		if (r->result == result && r->status == status) {
			r->count++;
			return;
		}
	}
	g_array_append_val(s.requests, row);
}

static bool counts_towards_down(enum pfs_stats_result result, long status)
{
	return result == PFS_STATS_NETWORK_ERROR || result == PFS_STATS_TIMEOUT ||
	       (result == PFS_STATS_HTTP_ERROR && status >= 500 && status <= 599);
}

/* A 404, or the 400 the service gives for a build it does not know: an
 * answer the mount caches, not a failure. */
static bool is_success(enum pfs_stats_result result, long status)
{
	return result == PFS_STATS_OK ||
	       (result == PFS_STATS_HTTP_ERROR && (status == 404 || status == 400));
}

/* Applies one sent request's outcome to the facts. */
static void note_outcome(enum pfs_stats_result result, long status,
			 const struct last_error *error, double now)
{
	if (status > 0)		/* any answer says whether it took our token */
		s.refused = status == 401 || status == 403;
	if (is_success(result, status)) {
		s.last_success = now;
		s.last_failed = false;
		s.down_streak = 0;
		return;
	}
	s.last_failed = true;
	s.down_streak = counts_towards_down(result, status) ? s.down_streak + 1 : 0;
	s.last_error = *error;
	s.last_error.at = now;
}

/* @text cleaned into @buf (one line, no secret), "" for NULL. */
static void clean_into(char *buf, size_t size, const char *text)
{
	pfs_log_clean(buf, size, text, text ? strlen(text) : 0);
}

void pfs_stats_request_end(enum pfs_stats_result result, long status,
			   const char *error_code, const char *error_msg)
{
	struct last_error error = { .status = status };
	double now;

	/* cleaned before the lock: pfs_log_clean() takes the log's */
	clean_into(error.code, sizeof(error.code), error_code);
	g_strdelimit(error.code, " ", '_');	/* one field of the line */
	clean_into(error.msg, sizeof(error.msg), error_msg);
	pthread_mutex_lock(&lock);
	now = advance();
	count_request(result, status);
	if (result != PFS_STATS_NOT_SENT) {
		note_outcome(result, status, &error, now);
		settle(now);
	}
	pthread_mutex_unlock(&lock);
}

/* ---- pauses ---- */

/* Sets a pause's end (@latest: only if later) and the state it makes. */
static void set_until(double *field, double until, bool latest)
{
	double now;

	pthread_mutex_lock(&lock);
	now = advance();
	if (!latest || until > *field)
		*field = until;
	settle(now);
	pthread_mutex_unlock(&lock);
}

void pfs_stats_throttled_until(double until)
{
	set_until(&s.throttled_until, until, true);
}

void pfs_stats_unauthorized_until(double until)
{
	set_until(&s.unauthorized_until, until, false);
}

void pfs_stats_backoff_until(double until, int err)
{
	if (err == -ENOENT || err == -ECANCELED)
		return;
	set_until(&s.backoff_until, until, true);
}

/* ---- the cache ---- */

void pfs_stats_cache_hit(void)
{
	BUMP(counters.cache_hits, 1);
}

void pfs_stats_cache_miss(void)
{
	BUMP(counters.cache_misses, 1);
}

void pfs_stats_eviction(void)
{
	BUMP(counters.evictions, 1);
}

void pfs_stats_waiters_add(int delta)
{
	BUMP(counters.waiters, delta);
}

void pfs_stats_notification(void)
{
	BUMP(counters.notifications, 1);
}

/* ---- set-up ---- */

void pfs_stats_reset(void)
{
	pthread_mutex_lock(&lock);
	if (s.requests)
		g_array_free(s.requests, TRUE);
	memset(&s, 0, sizeof(s));
	memset(&counters, 0, sizeof(counters));
	start_locked(clock_now());
	pthread_mutex_unlock(&lock);
}

void pfs_stats_set_clock(double (*now)(void))
{
	pthread_mutex_lock(&lock);
	clock_now = now ? now : pfs_limiter_now;
	pthread_mutex_unlock(&lock);
}

enum pfs_stats_state pfs_stats_state(void)
{
	enum pfs_stats_state state;

	pthread_mutex_lock(&lock);
	advance();
	state = s.state;
	pthread_mutex_unlock(&lock);
	return state;
}

const char *pfs_stats_state_name(enum pfs_stats_state state)
{
	return state_names[state];
}

/* ---- health ---- */

/* Monotonic @t as ISO 8601 UTC, shown against the wall clock now. */
static void append_time(GString *out, double t, double now)
{
	double real_now = (double)g_get_real_time() / G_USEC_PER_SEC;
	time_t wall = (time_t)(real_now + (t - now));
	struct tm tm;
	char buf[32];

	gmtime_r(&wall, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	g_string_append(out, buf);
}

/* `key: time` for a time that has come (> 0, <= now), else `key: -`;
 * @pending: for a time still to come instead. */
static void append_time_line(GString *out, const char *key, double t,
			     double now, bool pending)
{
	g_string_append_printf(out, "%s: ", key);
	if (t > 0 && (pending ? t > now : t <= now))
		append_time(out, t, now);
	else
		g_string_append_c(out, '-');
	g_string_append_c(out, '\n');
}

static const char *or_dash(const char *text)
{
	return text[0] ? text : "-";
}

static void append_last_error(GString *out, double now)
{
	const struct last_error *e = &s.last_error;

	g_string_append(out, "last_error: ");
	if (e->at <= 0) {
		g_string_append(out, "-\n");
		return;
	}
	append_time(out, e->at, now);
	if (e->status > 0)
		g_string_append_printf(out, " %ld", e->status);
	else
		g_string_append(out, " -");
	g_string_append_printf(out, " %s %s\n", or_dash(e->code), or_dash(e->msg));
}

char *pfs_stats_health_text(const struct pfs_stats_gauges *g, size_t *len)
{
	GString *out = g_string_new(NULL);
	double now;

	(void)g;
	pthread_mutex_lock(&lock);
	now = advance();
	g_string_append_printf(out, "state: %s\n", state_names[s.state]);
	append_time_line(out, "since", s.since, now, false);
	append_time_line(out, "last_success", s.last_success, now, false);
	append_last_error(out, now);
	append_time_line(out, "throttled_until", s.throttled_until, now, true);
	append_time_line(out, "backing_off_until", s.backoff_until, now, true);
	pthread_mutex_unlock(&lock);
	g_string_append_printf(out, "requests_in_flight: %" PRId64 "\n",
			       COUNT(counters.in_flight));
	g_string_append_printf(out, "waiters: %" PRId64 "\n", COUNT(counters.waiters));
	*len = out->len;
	return g_string_free(out, FALSE);
}

/* ---- metrics ---- */

/* # HELP text: backslash and newline escaped. */
static void append_help(GString *out, const char *name, const char *type,
			const char *help)
{
	const char *p;

	g_string_append_printf(out, "# HELP %s ", name);
	for (p = help; *p; p++) {
		if (*p == '\\')
			g_string_append(out, "\\\\");
		else if (*p == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *p);
	}
	g_string_append_printf(out, "\n# TYPE %s %s\n", name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void append_label_value(GString *out, const char *value)
{
	const char *p;

	g_string_append_c(out, '"');
	for (p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			g_string_append_c(out, '\\');
		if (*p == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
}

char *pfs_stats_label_value(const char *value)
{
	GString *out = g_string_new(NULL);

	append_label_value(out, value);
	return g_string_free(out, FALSE);
}

static void append_family(GString *out, const char *name, const char *type,
			  const char *help, uint64_t value)
{
	append_help(out, name, type, help);
	g_string_append_printf(out, "%s %" PRIu64 "\n", name, value);
}

static gint by_result_then_status(gconstpointer a, gconstpointer b)
{
	const struct request_row *x = a, *y = b;

	if (x->result != y->result)
		return x->result < y->result ? -1 : 1;
	return x->status < y->status ? -1 : x->status > y->status;
}

/* Called with lock held. */
static void append_requests(GString *out)
{
	guint i;

	append_help(out, "pipelinefs_requests_total", "counter",
		    "API requests by how they ended; status is the HTTP status, "
		    "\"\" when no answer came.");
	g_array_sort(s.requests, by_result_then_status);
	for (i = 0; i < s.requests->len; i++) {
		const struct request_row *r =
			&g_array_index(s.requests, struct request_row, i);
		char status[24] = "";

		if (r->status > 0)
			g_snprintf(status, sizeof(status), "%ld", r->status);
		g_string_append(out, "pipelinefs_requests_total{result=");
		append_label_value(out, result_names[r->result]);
		g_string_append(out, ",status=");
		append_label_value(out, status);
		g_string_append_printf(out, "} %" PRIu64 "\n", r->count);
	}
	append_help(out, "pipelinefs_request_duration_seconds", "summary",
		    "Seconds API requests took, from sending to the end of the "
		    "answer (requests sent only).");
	g_string_append_printf(out, "pipelinefs_request_duration_seconds_sum %.6f\n"
			       "pipelinefs_request_duration_seconds_count %" PRIu64 "\n",
			       s.duration_sum, s.duration_count);
}

/* Called with lock held. */
static void append_state(GString *out)
{
	size_t i;

	append_help(out, "pipelinefs_up", "gauge",
		    "1 unless the health state is down.");
	g_string_append_printf(out, "pipelinefs_up %d\n",
			       s.state != PFS_STATS_STATE_DOWN);
	append_help(out, "pipelinefs_state", "gauge",
		    "1 for the health state of .pipelinefs/health, 0 for the others.");
	for (i = 0; i < G_N_ELEMENTS(state_names); i++) {
		g_string_append(out, "pipelinefs_state{state=");
		append_label_value(out, state_names[i]);
		g_string_append_printf(out, "} %d\n", s.state == (enum pfs_stats_state)i);
	}
}

char *pfs_stats_metrics_text(const struct pfs_stats_gauges *g, size_t *len)
{
	static const struct pfs_stats_gauges none;
	GString *out = g_string_new(NULL);

	if (!g)
		g = &none;
	pthread_mutex_lock(&lock);
	advance();
	append_requests(out);
	append_state(out);
	pthread_mutex_unlock(&lock);
	append_family(out, "pipelinefs_received_bytes_total", "counter",
		      "Bytes of response bodies received, after decoding.",
		      COUNT(counters.received_bytes));
	append_family(out, "pipelinefs_requests_in_flight", "gauge",
		      "API requests being transferred now.",
		      (uint64_t)MAX(0, COUNT(counters.in_flight)));
	append_family(out, "pipelinefs_cache_hits_total", "counter",
		      "Reads answered from the cache without a request.",
		      COUNT(counters.cache_hits));
	append_family(out, "pipelinefs_cache_misses_total", "counter",
		      "Reads that needed a request.", COUNT(counters.cache_misses));
	append_family(out, "pipelinefs_cache_evictions_total", "counter",
		      "Cached builds dropped to stay within max_bytes.",
		      COUNT(counters.evictions));
	append_family(out, "pipelinefs_cached_builds", "gauge",
		      "Builds with a copy in the cache.", g->cached_builds);
	append_family(out, "pipelinefs_cached_bytes", "gauge",
		      "Bytes the cached builds take.", g->cached_bytes);
	append_family(out, "pipelinefs_waiters", "gauge",
		      "Readers blocked on a build's wait file.",
		      (uint64_t)MAX(0, COUNT(counters.waiters)));
	append_family(out, "pipelinefs_kernel_notifications_total", "counter",
		      "Invalidations sent to the kernel.", COUNT(counters.notifications));
	*len = out->len;
	return g_string_free(out, FALSE);
}
