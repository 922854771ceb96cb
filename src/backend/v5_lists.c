/* v5_lists.c - see v5.h: the v5 list answers, log pages, their requests */
#include "v5.h"
#include "json.h"
#include "names.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* @value (the "status" member, or NULL) -> *@status and *@outcome in the
 * v3 vocabulary, as the run detail maps them (pfs_v5_status_map), NULL
 * when empty. Entries' texts end at a NUL: one inside an unknown value
 * becomes '?', so it cannot end as a known one. */
static void status_map(struct json_object *value, char **status, char **outcome)
{
	size_t len, i;
	const char *v5 = pfs_json_text(value, &len);

	*status = *outcome = NULL;
	if (!v5 || !*v5)
		return;
	len = pfs_v5_status_map(v5, len, status, outcome);
	for (i = 0; i < len; i++)
		if ((*status)[i] == '\0')
			(*status)[i] = '?';
}

/* A text field as backend.h's entries hold them: a string cut at a NUL,
 * a number as its JSON text; NULL for "" and anything else. */
static char *text_field(struct json_object *obj, const char *key)
{
	struct json_object *value = pfs_json_get(obj, key);
	size_t len;
	const char *text;

	if (!value || !(json_object_is_type(value, json_type_string) ||
			json_object_is_type(value, json_type_int) ||
			json_object_is_type(value, json_type_double)))
		return NULL;
	text = pfs_json_text(value, &len);
	return *text ? g_strdup(text) : NULL;
}

/* Epoch ms from an int64 time: an integer, a finite number (its whole
 * part) or decimal text; 0 for anything else and below 0. */
static gint64 ms_field(struct json_object *obj, const char *key)
{
	struct json_object *value = pfs_json_get(obj, key);
	gint64 ms = 0;
	double d;

	if (!value)
		return 0;
	switch (json_object_get_type(value)) {
	case json_type_int:
		ms = json_object_get_int64(value);
		break;
	case json_type_double:
		d = json_object_get_double(value);
		ms = isfinite(d) && d > 0 && d < 9.2e18 ? (gint64)d : 0;
		break;
	case json_type_string:
		if (!g_ascii_string_to_signed(json_object_get_string(value), 10, 0,
					      G_MAXINT64, &ms, NULL))
			ms = 0;
		break;
	default:
		break;
	}
	return MAX(ms, 0);
}

/* "total": a whole number >= 0 (an integer, or a double with no
 * fraction), capped at PFS_V5_MAX_TOTAL. */
static int read_total(struct json_object *obj, long *total, char *err,
		      size_t errsize)
{
	struct json_object *value = pfs_json_get(obj, "total");
	double d;

	*total = 0;
	if (value && json_object_is_type(value, json_type_int) &&
	    json_object_get_int64(value) >= 0) {
		*total = (long)MIN(json_object_get_int64(value), PFS_V5_MAX_TOTAL);
		return 0;
	}
	d = value && json_object_is_type(value, json_type_double)
		? json_object_get_double(value) : -1;
	if (isfinite(d) && d >= 0 && d == floor(d)) {
		*total = (long)MIN(d, (double)PFS_V5_MAX_TOTAL);
		return 0;
	}
	snprintf(err, errsize, "\"total\" is %s, not a whole number >= 0",
		 value ? json_type_to_name(json_object_get_type(value)) : "missing");
	return -EPROTO;
}

typedef void *(*item_reader)(struct json_object *item, const char *asked);

/* The frame both lists share: {total, KEY: [items]}; each object item
 * @read makes an entry of (@asked: the project or pipeline asked for)
 * is appended to @into. Nothing is appended when it fails. */
static int parse_page(const char *body, size_t len, const char *key,
		      item_reader read, const char *asked, GPtrArray *into,
		      struct pfs_v5_page *page, char *err, size_t errsize)
{
	struct json_object *obj, *items;
	size_t i;
	int res;

	memset(page, 0, sizeof(*page));
	if (len > PFS_V5_MAX_LIST_BODY) {
		snprintf(err, errsize, "answer of %zu bytes, over the %u allowed",
			 len, PFS_V5_MAX_LIST_BODY);
		return -EMSGSIZE;
	}
	obj = pfs_json_parse(body, len, json_type_object, err, errsize);
	if (!obj)
		return -EPROTO;
	res = read_total(obj, &page->total, err, errsize);
	items = pfs_json_get(obj, key);
	if (res == 0 && items && !json_object_is_type(items, json_type_null) &&
	    !json_object_is_type(items, json_type_array)) {
		snprintf(err, errsize, "\"%s\" is %s, not an array", key,
			 json_type_to_name(json_object_get_type(items)));
		page->total = 0;
		res = -EPROTO;
	}
	if (res == 0 && items && json_object_is_type(items, json_type_array))
		page->items = json_object_array_length(items);
	for (i = 0; i < page->items; i++) {
		struct json_object *item = json_object_array_get_idx(items, i);
		gint64 start = ms_field(item, "start_time");
		void *entry;

		if (start && (!page->oldest_ms || start < page->oldest_ms))
			page->oldest_ms = start;
		if (json_object_is_type(item, json_type_object) &&
		    (entry = read(item, asked)))
			g_ptr_array_add(into, entry);
	}
	json_object_put(obj);
	return res;
}

static void *read_pipeline(struct json_object *item, const char *project_id)
{
	struct pfs_pipeline_entry *entry;
	char *pipeline_id = pfs_json_id(pfs_json_get(item, "pipeline_id"));

	if (!pipeline_id)
		return NULL;
	entry = g_new0(struct pfs_pipeline_entry, 1);
	entry->pipeline_id = pipeline_id;
	entry->name = text_field(item, "name");
	entry->project_id = pfs_json_id(pfs_json_get(item, "project_id"));
	if (!entry->project_id)
		entry->project_id = g_strdup(project_id);
	entry->project_name = text_field(item, "project_name");
	entry->created_ms = ms_field(item, "create_time");
	return entry;
}

static void *read_run(struct json_object *item, const char *pipeline_id)
{
	struct pfs_history_entry *entry;
	char *number = pfs_v5_run_number(pfs_json_get(item, "run_number"));
	char *named = pfs_json_id(pfs_json_get(item, "pipeline_id"));
	bool other = named && strcmp(named, pipeline_id) != 0;

	g_free(named);
	if (!number || other) {
		g_free(number);
		return NULL;
	}
	entry = g_new0(struct pfs_history_entry, 1);
	entry->pipeline_id = g_strdup(pipeline_id);
	entry->build_id = number;
	status_map(pfs_json_get(item, "status"), &entry->status, &entry->outcome);
	entry->start_ms = ms_field(item, "start_time");
	entry->end_ms = ms_field(item, "end_time");
	return entry;
}

int pfs_v5_parse_pipelines(const char *body, size_t len, const char *project_id,
			   GPtrArray *into, struct pfs_v5_page *page,
			   char *err, size_t errsize)
{
	return parse_page(body, len, "pipelines", read_pipeline, project_id,
			  into, page, err, errsize);
}

int pfs_v5_parse_runs(const char *body, size_t len, const char *pipeline_id,
		      GPtrArray *into, struct pfs_v5_page *page, char *err,
		      size_t errsize)
{
	return parse_page(body, len, "pipeline_runs", read_run, pipeline_id,
			  into, page, err, errsize);
}

/* Whether @text (@len bytes) can be sent back as it came (v5.h). */
static bool offset_is_usable(const char *text, size_t len)
{
	size_t i;

	if (len > PFS_V5_MAX_OFFSET)
		return false;
	for (i = 0; i < len; i++)
		if (text[i] < 0x20 || text[i] > 0x7e || text[i] == '"' ||
		    text[i] == '\\')
			return false;
	return true;
}

static char *read_offset(struct json_object *obj, const char *key, char *err,
			 size_t errsize)
{
	struct json_object *value = pfs_json_get(obj, key);
	const char *text;
	size_t len;

	if (value && (json_object_is_type(value, json_type_string) ||
		      json_object_is_type(value, json_type_int))) {
		text = pfs_json_text(value, &len);
		if (offset_is_usable(text, len))
			return g_strndup(text, len);
	}
	snprintf(err, errsize, "\"%s\" is %s, not an offset to send back", key,
		 value ? json_type_to_name(json_object_get_type(value)) : "missing");
	return NULL;
}

static int read_has_more(struct json_object *obj, bool *has_more, char *err,
			 size_t errsize)
{
	struct json_object *value = pfs_json_get(obj, "has_more");
	const char *text;

	*has_more = false;
	if (!value)
		return 0;
	if (json_object_is_type(value, json_type_boolean)) {
		*has_more = json_object_get_boolean(value);
		return 0;
	}
	text = json_object_is_type(value, json_type_string)
		? json_object_get_string(value) : "";
	if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
		*has_more = text[0] == 't';
		return 0;
	}
	snprintf(err, errsize, "\"has_more\" is %s, not true or false",
		 json_type_to_name(json_object_get_type(value)));
	return -EPROTO;
}

/* The log's bytes: json-c keeps a string's unescaped bytes as they are
 * (\u0000 as NUL, raw bytes >= 0x80 whether UTF-8 or not: it does not
 * validate unless asked), so no reader of our own is needed. */
static int read_text(struct json_object *obj, GByteArray **text, char *err,
		     size_t errsize)
{
	struct json_object *value = pfs_json_get(obj, "log");

	*text = g_byte_array_new();
	if (!value)
		return 0;
	if (!json_object_is_type(value, json_type_string)) {
		snprintf(err, errsize, "\"log\" is %s, not a string",
			 json_type_to_name(json_object_get_type(value)));
		return -EPROTO;
	}
	g_byte_array_append(*text, (const guint8 *)json_object_get_string(value),
			    (guint)json_object_get_string_len(value));
	return 0;
}

int pfs_v5_parse_log(const char *body, size_t len, struct pfs_log_page *out,
		     char *err, size_t errsize)
{
	struct json_object *obj;
	int res = -EPROTO;

	memset(out, 0, sizeof(*out));
	if (len > PFS_V5_MAX_LOG_BODY) {
		snprintf(err, errsize, "log page of %zu bytes, over the %u allowed",
			 len, PFS_V5_MAX_LOG_BODY);
		return -EMSGSIZE;
	}
	obj = pfs_json_parse(body, len, json_type_object, err, errsize);
	if (!obj)
		return -EPROTO;
	if ((out->start_offset = read_offset(obj, "start_offset", err, errsize)) &&
	    (out->end_offset = read_offset(obj, "end_offset", err, errsize)) &&
	    read_has_more(obj, &out->has_more, err, errsize) == 0)
		res = read_text(obj, &out->text, err, errsize);
	json_object_put(obj);
	if (res < 0)
		pfs_log_page_clear(out);
	return res;
}

char *pfs_v5_pipelines_request(long offset)
{
	if (offset < 0 || offset > PFS_V5_MAX_TOTAL)
		return NULL;
	return g_strdup_printf("{\"offset\":%ld,\"limit\":%d}", offset,
			       PFS_V5_PIPELINES_PAGE);
}

char *pfs_v5_runs_request(long offset)
{
	if (offset < 0 || offset > PFS_V5_MAX_TOTAL)
		return NULL;
	return g_strdup_printf("{\"offset\":%ld,\"limit\":%d,\"sort_key\":"
			       "\"start_time\",\"sort_dir\":\"desc\"}", offset,
			       PFS_V5_RUNS_PAGE);
}

char *pfs_v5_log_request(const char *start_offset, const char *end_offset,
			 unsigned limit)
{
	if (!start_offset)
		start_offset = "0";
	if (!end_offset)
		end_offset = "0";
	if (limit < 1 || limit > PFS_LOG_PAGE_LINES ||
	    !offset_is_usable(start_offset, strlen(start_offset)) ||
	    !offset_is_usable(end_offset, strlen(end_offset)))
		return NULL;
	return g_strdup_printf("{\"start_offset\":\"%s\",\"end_offset\":\"%s\","
			       "\"limit\":%u,\"sort\":\"asc\"}", start_offset,
			       end_offset, limit);
}
