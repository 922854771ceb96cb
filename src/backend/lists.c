/* lists.c - see lists.h */
#include "lists.h"
#include "json.h"
#include "log.h"
#include "apitime.h"
#include "names.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A real answer nests 3 deep; json-c's default 32 keeps a hostile body
 * from exhausting the stack (as model.c). */
/* How much of the service's error text is kept: a code is short, a
 * message a sentence; a hostile body may send megabytes of either. */
#define CODE_MAX 64
#define MSG_MAX 512
/* The days from 0001-01-01 to 9999-12-31, all glib's dates can hold:
 * also keeps @days x one day in microseconds far from overflow. */
#define DAYS_MAX 3652059u

typedef void *(*item_reader)(struct json_object *item, GTimeZone *tz);

/* Exactly one JSON object in @len bytes of @body (whitespace may follow),
 * or NULL with the reason in @err: read as status bodies are (model.h). */
static struct json_object *parse_object(const char *body, size_t len,
					char *err, size_t errsize)
{
	return pfs_json_parse(body, len, json_type_object, err, errsize);
}

static struct json_object *field(struct json_object *obj, const char *key)
{
	struct json_object *value = NULL;

	json_object_object_get_ex(obj, key, &value);
	return value;
}

static bool is_number(struct json_object *value)
{
	return value && (json_object_is_type(value, json_type_int) ||
			 json_object_is_type(value, json_type_double));
}

/* A string as itself, a number as its JSON text; NULL for anything else
 * and for "". Not a copy: valid while @value is. */
static const char *text_of(struct json_object *value)
{
	const char *text;

	if (value && json_object_is_type(value, json_type_string))
		text = json_object_get_string(value);
	else if (is_number(value))
		text = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN);
	else
		return NULL;
	return *text ? text : NULL;
}

static char *text_field(struct json_object *obj, const char *key)
{
	return g_strdup(text_of(field(obj, key)));
}

/* An id as the API gives it: a string (with no NUL inside) or an integer
 * that is a valid id; a double's text, "1e3", is no id anyone meant. */
static char *id_field(struct json_object *obj, const char *key)
{
	struct json_object *value = field(obj, key);
	const char *text;

	if (!value || json_object_is_type(value, json_type_double))
		return NULL;
	text = text_of(value);
	if (!text || !pfs_name_is_valid_id(text) ||
	    (json_object_is_type(value, json_type_string) &&
	     strlen(text) != (size_t)json_object_get_string_len(value)))
		return NULL;
	return g_strdup(text);
}

static gint64 time_field(struct json_object *obj, const char *key,
			 GTimeZone *tz)
{
	struct json_object *value = field(obj, key);
	struct timespec ts;

	if (!value || !json_object_is_type(value, json_type_string) ||
	    pfs_apitime_parse(tz, json_object_get_string(value),
			      (size_t)json_object_get_string_len(value), &ts))
		return 0;
	return (gint64)ts.tv_sec * 1000;
}

/* A whole number >= 0 in @value: an integer, or a double with no fraction
 * (the JSON text 120.0), capped at PFS_LISTS_MAX_TOTAL. */
static bool whole_number(struct json_object *value, long *out)
{
	gint64 n;
	double d;

	if (json_object_is_type(value, json_type_int)) {
		n = json_object_get_int64(value);	/* saturated beyond 64 bits */
		*out = (long)MIN(n, PFS_LISTS_MAX_TOTAL);
		return n >= 0;
	}
	d = json_object_get_double(value);
	*out = isfinite(d) && d >= 0 ? (long)MIN(d, (double)PFS_LISTS_MAX_TOTAL) : 0;
	return isfinite(d) && d >= 0 && d == floor(d);
}

static int read_total(struct json_object *obj, long *total, char *err,
		      size_t errsize)
{
	struct json_object *value = field(obj, "total");

	if (!is_number(value)) {
		snprintf(err, errsize, "\"total\" is %s, not a number",
			 value ? json_type_to_name(json_object_get_type(value))
			       : "missing");
		return -EPROTO;
	}
	if (!whole_number(value, total)) {
		snprintf(err, errsize, "\"total\" is %s, not a whole number >= 0",
			 json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
		*total = 0;
		return -EPROTO;
	}
	return 0;
}

/* The frame both answers share: {total, KEY: [items]}; each object item
 * that @read accepts is appended to @into. */
static int parse_page(const char *body, size_t len, const char *key,
		      item_reader read, GTimeZone *tz, GPtrArray *into,
		      long *total, char *err, size_t errsize)
{
	struct json_object *obj, *items;
	size_t i, n;
	int res;

	*total = 0;
	if (len > PFS_LISTS_MAX_BODY) {
		snprintf(err, errsize, "answer of %zu bytes, over the %u allowed",
			 len, PFS_LISTS_MAX_BODY);
		return -EMSGSIZE;
	}
	obj = parse_object(body, len, err, errsize);
	if (!obj)
		return -EPROTO;
	res = read_total(obj, total, err, errsize);
	items = field(obj, key);
	if (res == 0 && items && !json_object_is_type(items, json_type_array)) {
		snprintf(err, errsize, "\"%s\" is %s, not an array", key,
			 json_type_to_name(json_object_get_type(items)));
		*total = 0;
		res = -EPROTO;
	}
	n = res == 0 && items ? json_object_array_length(items) : 0;
	for (i = 0; i < n; i++) {
		struct json_object *item = json_object_array_get_idx(items, i);
		void *entry;

		if (item && json_object_is_type(item, json_type_object) &&
		    (entry = read(item, tz)))
			g_ptr_array_add(into, entry);
	}
	json_object_put(obj);
	return res;
}

static void *read_pipeline(struct json_object *item, GTimeZone *tz)
{
	struct pfs_pipeline_entry *entry;
	char *pipeline_id = id_field(item, "pipeline_id");

	(void)tz;
	if (!pipeline_id)
		return NULL;
	entry = g_new0(struct pfs_pipeline_entry, 1);
	entry->pipeline_id = pipeline_id;
	entry->name = text_field(item, "pipeline_name");
	entry->project_id = id_field(item, "project_id");
	entry->project_name = text_field(item, "project_name");
	return entry;
}

static void *read_build(struct json_object *item, GTimeZone *tz)
{
	struct pfs_history_entry *entry;
	char *pipeline_id = id_field(item, "pipeline_id");
	char *build_id = id_field(item, "build_id");

	if (!pipeline_id || !build_id) {
		g_free(pipeline_id);
		g_free(build_id);
		return NULL;
	}
	entry = g_new0(struct pfs_history_entry, 1);
	entry->pipeline_id = pipeline_id;
	entry->build_id = build_id;
	entry->pipeline_name = text_field(item, "pipeline_name");
	entry->status = text_field(item, "status");
	entry->outcome = text_field(item, "outcome");
	entry->start_ms = time_field(item, "start_time", tz);
	entry->end_ms = time_field(item, "end_time", tz);
	return entry;
}

int pfs_lists_parse_pipelines(const char *body, size_t len, GPtrArray *into,
			      long *total, char *err, size_t errsize)
{
	return parse_page(body, len, "result", read_pipeline, NULL, into,
			  total, err, errsize);
}

int pfs_lists_parse_history(const char *body, size_t len, GTimeZone *tz,
			    GPtrArray *into, long *total, char *err,
			    size_t errsize)
{
	return parse_page(body, len, "build_results", read_build, tz, into,
			  total, err, errsize);
}

char *pfs_lists_pipelines_request(long offset, char *const *project_ids)
{
	GString *body;
	size_t i;

	if (offset < 0 || offset > PFS_LISTS_MAX_TOTAL)
		return NULL;
	body = g_string_new(NULL);
	g_string_printf(body, "{\"offset\":%ld,\"limit\":%d", offset, PFS_LISTS_PAGE);
	for (i = 0; project_ids && project_ids[i]; i++) {
		/* a valid id needs no JSON escaping */
		if (i == PFS_LISTS_MAX_PROJECTS || !pfs_name_is_valid_id(project_ids[i])) {
			g_string_free(body, TRUE);
			return NULL;
		}
		g_string_append(body, i ? "," : ",\"project_ids\":\"");
		g_string_append(body, project_ids[i]);
	}
	g_string_append(body, i ? "\"}" : "}");
	return g_string_free(body, FALSE);
}

GPtrArray *pfs_lists_project_batches(char *const *project_ids)
{
	GPtrArray *batches = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	GPtrArray *batch = NULL;
	size_t i;

	for (i = 0; project_ids && project_ids[i]; i++) {
		if (!g_hash_table_add(seen, project_ids[i]))
			continue;
		if (!batch)
			batch = g_ptr_array_new();
		g_ptr_array_add(batch, g_strdup(project_ids[i]));
		if (batch->len == PFS_LISTS_MAX_PROJECTS) {
			g_ptr_array_add(batch, NULL);
			g_ptr_array_add(batches, g_ptr_array_free(batch, FALSE));
			batch = NULL;
		}
	}
	if (batch) {
		g_ptr_array_add(batch, NULL);
		g_ptr_array_add(batches, g_ptr_array_free(batch, FALSE));
	}
	g_hash_table_destroy(seen);
	return batches;
}

/* The Julian day number (GDate's, 0001-01-01 is 1) of the date at epoch
 * microseconds @us in @tz, or 0 when glib cannot represent it. */
static guint32 julian_at(gint64 us, GTimeZone *tz)
{
	GDateTime *utc = g_date_time_new_from_unix_utc(0), *at, *local;
	GDate date;
	guint32 julian = 0;

	at = g_date_time_add(utc, us);
	g_date_time_unref(utc);
	if (!at)
		return 0;
	local = g_date_time_to_timezone(at, tz);
	g_date_time_unref(at);
	if (local) {
		g_date_set_dmy(&date, (GDateDay)g_date_time_get_day_of_month(local),
			       (GDateMonth)g_date_time_get_month(local),
			       (GDateYear)g_date_time_get_year(local));
		julian = g_date_get_julian(&date);
		g_date_time_unref(local);
	}
	return julian;
}

static void format_day(char out[static 11], guint32 julian)
{
	GDate date;

	g_date_clear(&date, 1);
	g_date_set_julian(&date, julian);
	g_snprintf(out, 11, "%04u-%02u-%02u", (unsigned)g_date_get_year(&date),
		   (unsigned)g_date_get_month(&date), (unsigned)g_date_get_day(&date));
}

GPtrArray *pfs_lists_history_windows(gint64 now_ms, GTimeZone *tz,
				     unsigned days)
{
	GPtrArray *windows = g_ptr_array_new_with_free_func(g_free);
	gint64 now_us;
	guint32 today, first, end, start;

	if (!days || now_ms > G_MAXINT64 / 1000 || now_ms < G_MININT64 / 1000)
		return windows;
	now_us = now_ms * 1000;
	today = julian_at(now_us, tz);
	if (!today)
		return windows;
	days = MIN(days, DAYS_MAX);
	/* by the instant, not the calendar: across a daylight saving change
	 * days x 24 h may reach one date further back */
	first = julian_at(now_us - (gint64)days * G_TIME_SPAN_DAY, tz);
	if (!first)
		first = 1;
	for (end = today; end >= first; end = start - 1) {
		struct pfs_history_window *w = g_new(struct pfs_history_window, 1);

		start = end - first + 1 > PFS_LISTS_WINDOW_DAYS
			? end - PFS_LISTS_WINDOW_DAYS + 1 : first;
		format_day(w->start, start);
		format_day(w->end, end);
		g_ptr_array_add(windows, w);
		if (start == first)
			break;
	}
	return windows;
}

char *pfs_lists_history_query(const char *project_id,
			      const struct pfs_history_window *window,
			      long offset)
{
	if (!project_id || !pfs_name_is_valid_id(project_id) || offset < 0 ||
	    offset > PFS_LISTS_MAX_TOTAL)
		return NULL;
	return g_strdup_printf("project_id=%s&start_date=%.10s&end_date=%.10s"
			       "&offset=%ld&limit=%d", project_id, window->start,
			       window->end, offset, PFS_LISTS_HISTORY_PAGE);
}

/* @text made safe to log and show as the log shows it (log.h): secrets
 * redacted, control characters and bytes that are not UTF-8 as '?', at
 * most @max bytes cut on a character boundary. */
static char *printable(const char *text, size_t max)
{
	char *out;

	if (!text)
		return NULL;
	out = g_malloc(max + 1);
	return pfs_log_clean(out, max + 1, text, strlen(text));
}

/* A status or list body carrying "error_code": null beside its data is
 * data; these keys (when not null) mark it so. */
static bool has_data(struct json_object *obj)
{
	static const char *const data_keys[] = {
		"result", "build_results", "states", "pipeline_id", NULL
	};
	const char *const *key;

	for (key = data_keys; *key; key++) {
		struct json_object *value = field(obj, *key);

		if (value && !json_object_is_type(value, json_type_null))
			return true;
	}
	return false;
}

bool pfs_lists_body_error(const char *body, size_t len, char **code,
			  char **msg)
{
	struct json_object *obj, *inner, *code_v, *msg_v;
	char err[128];
	bool found = false;

	if (code)
		*code = NULL;
	if (msg)
		*msg = NULL;
	if (len > PFS_LISTS_MAX_BODY || !(obj = parse_object(body, len, err, sizeof(err))))
		return false;
	code_v = field(obj, "error_code");
	msg_v = field(obj, "error_msg");
	inner = field(obj, "error");
	if (!text_of(code_v) && inner && json_object_is_type(inner, json_type_object)) {
		code_v = field(inner, "code");
		msg_v = field(inner, "message");
	}
	if (text_of(code_v) && !has_data(obj)) {
		found = true;
		if (code)
			*code = printable(text_of(code_v), CODE_MAX);
		if (msg)
			*msg = printable(text_of(msg_v), MSG_MAX);
	}
	json_object_put(obj);
	return found;
}

bool pfs_lists_is_throttling_code(const char *code)
{
	static const char *const throttling[] = {
		"COCT.0070003", "APIG.0308", "APIGW.0308", NULL
	};
	const char *const *known;

	for (known = throttling; code && *known; known++)
		if (g_ascii_strcasecmp(code, *known) == 0)
			return true;
	return false;
}
