/* v5_model.c - see v5.h: a v5 run detail body as the generic tree
 * (model.h), in v3's shapes (v3_model.c). */
#include "v5.h"
#include "json.h"
#include "tree_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* The last time a node's mtime (int64 nanoseconds since 1970) can hold,
 * to the second: 2262-04-11 23:47:16 UTC. No run goes on so long; a
 * later one is no time. */
#define LAST_MS INT64_C(9223372036999)

struct status_map {
	const char *v5;
	const char *status;
	const char *outcome;	/* NULL: none (an empty file) */
};

/* v5.h says why each is what it is. */
static const struct status_map statuses[] = {
	{ "RUNNING", "running", NULL },
	{ "ASYNC_RUNNING", "running", NULL },
	{ "REDISPATCH", "running", NULL },
	{ "COMPLETED", "completed", "success" },
	{ "FAILED", "completed", "error" },
	{ "ASYNC_FAILED", "completed", "error" },
	{ "CANCELED", "completed", "aborted" },
	{ "SKIPPED", "completed", "skipped" },
	{ "UNSELECTED", "completed", "skipped" },
	{ "IGNORED", "completed", "ignored" },
	{ "QUEUED", "waiting", NULL },
	{ "INIT", "waiting", NULL },
	{ "PAUSED", "verifying", NULL },
	{ "SUSPEND", "suspending", NULL },
};

/* Build fields read as they come: { file, key }. */
static const char *const build_fields[][2] = {
	{ "pipeline_id", "pipeline_id" }, { "pipeline_name", "name" },
	{ "executor", "executor_name" }, { "build_id", "run_number" },
};

static const char *const build_extras[][2] = {
	{ "pipeline_run_id", "id" }, { "v5_status", "status" },
	{ "start_time_ms", "start_time" }, { "end_time_ms", "end_time" },
	{ "trigger_type", "trigger_type" }, { "executor_id", "executor_id" },
	{ "project_id", "project_id" }, { "description", "description" },
};

struct reader {
	struct pfs_tree_builder *b;
	GTimeZone *tz;
	char *err;
	size_t errsize;
};

static int fail(struct reader *r, const char *what)
{
	snprintf(r->err, r->errsize, "%s", what);
	return -EPROTO;
}

static void add_renamed(struct reader *r, uint32_t dir, struct json_object *obj,
			const char *const (*fields)[2], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		pfs_tree_json_field(r->b, dir, fields[i][0], obj, fields[i][1]);
}

/* --- statuses ---------------------------------------------------------- */

static const struct status_map *known_status(const char *text, size_t len)
{
	size_t i;

	if (strlen(text) != len)
		return NULL;
	for (i = 0; i < G_N_ELEMENTS(statuses); i++)
		if (g_ascii_strcasecmp(text, statuses[i].v5) == 0)
			return &statuses[i];
	return NULL;
}

size_t pfs_v5_status_map(const char *text, size_t len, char **status,
			 char **outcome)
{
	const struct status_map *known;
	size_t i;

	*status = *outcome = NULL;
	if (!text)
		return 0;
	known = known_status(text, len);
	if (known) {
		*status = g_strdup(known->status);
		*outcome = g_strdup(known->outcome);
		return strlen(known->status);
	}
	/* unknown: passed on, never "completed" (a known end) */
	*status = g_malloc(len + 1);
	for (i = 0; i < len; i++)
		(*status)[i] = g_ascii_tolower(text[i]);
	(*status)[len] = '\0';
	return len;
}

/* status and outcome files in @dir from @obj's status. */
static void add_status(struct reader *r, uint32_t dir, struct json_object *obj)
{
	size_t len;
	const char *text = pfs_json_text(pfs_json_get(obj, "status"), &len);
	char *status, *outcome;
	/* every byte: "completed\0x" is no "completed" */
	size_t status_len = pfs_v5_status_map(text, len, &status, &outcome);

	pfs_tree_file(r->b, dir, "status", status, status_len);
	pfs_tree_file(r->b, dir, "outcome", outcome, outcome ? strlen(outcome) : 0);
	g_free(status);
	g_free(outcome);
}

/* --- times ------------------------------------------------------------- */

/* @value as epoch milliseconds that have a v3 text time: true with *@ms. */
static bool read_ms(struct json_object *value, gint64 *ms)
{
	const char *text;
	guint64 parsed;
	double d;
	size_t len;

	if (!value)
		return false;
	switch (json_object_get_type(value)) {
	case json_type_int:
		*ms = json_object_get_int64(value);
		break;
	case json_type_double:
		d = json_object_get_double(value);
		if (!isfinite(d) || d != floor(d) || d < 1 || d > (double)LAST_MS)
			return false;
		*ms = (gint64)d;
		break;
	case json_type_string:
		text = pfs_json_text(value, &len);
		if (len == 0 || strlen(text) != len || !g_ascii_isdigit(text[0]) ||
		    !g_ascii_string_to_unsigned(text, 10, 1, (guint64)LAST_MS,
						&parsed, NULL))
			return false;
		*ms = (gint64)parsed;
		break;
	default:
		return false;
	}
	return *ms >= 1 && *ms <= LAST_MS;
}

/* A time file @name in @dir: @obj's @key as v3 text in the reader's zone.
 * Returns whether it is a time, with it in *@ms. */
static bool add_time(struct reader *r, uint32_t dir, const char *name,
		     struct json_object *obj, const char *key, gint64 *ms)
{
	GDateTime *utc, *local;
	char *text = NULL;

	if (read_ms(pfs_json_get(obj, key), ms)) {
		utc = g_date_time_new_from_unix_utc(*ms / 1000);
		local = utc ? g_date_time_to_timezone(utc, r->tz) : NULL;
		text = local ? g_date_time_format(local, "%Y-%m-%d %H:%M:%S") : NULL;
		if (local)
			g_date_time_unref(local);
		if (utc)
			g_date_time_unref(utc);
	}
	pfs_tree_file(r->b, dir, name, text, text ? strlen(text) : 0);
	g_free(text);
	return text != NULL;
}

/* start_time, end_time and elapsed_time in @dir from @obj. */
static void add_times(struct reader *r, uint32_t dir, struct json_object *obj)
{
	gint64 start, end;
	bool has_start = add_time(r, dir, "start_time", obj, "start_time", &start);
	bool has_end = add_time(r, dir, "end_time", obj, "end_time", &end);
	char elapsed[24];

	if (has_start && has_end && end >= start) {
		snprintf(elapsed, sizeof(elapsed), "%" G_GINT64_FORMAT, end - start);
		pfs_tree_file(r->b, dir, "elapsed_time", elapsed, strlen(elapsed));
	} else {
		pfs_tree_file(r->b, dir, "elapsed_time", NULL, 0);
	}
}

static void add_times_ms(struct reader *r, uint32_t dir, struct json_object *obj)
{
	pfs_tree_json_field(r->b, dir, "start_time_ms", obj, "start_time");
	pfs_tree_json_field(r->b, dir, "end_time_ms", obj, "end_time");
}

/* --- errors ------------------------------------------------------------ */

/* @message as an object with errorMessage or errorCode: a new reference
 * (json_object_put it), else NULL. */
static struct json_object *split_message(struct json_object *message)
{
	struct json_object *obj = NULL;
	char ignored[64];

	if (!message)
		return NULL;
	if (json_object_is_type(message, json_type_object)) {
		obj = json_object_get(message);
	} else if (json_object_is_type(message, json_type_string)) {
		const char *text = json_object_get_string(message);
		size_t len = (size_t)json_object_get_string_len(message);
		size_t start = strspn(text, " \t\r\n");

		/* most messages are plain text: no parser for them */
		if (start < len && text[start] == '{')
			obj = pfs_json_parse(text, len, json_type_object, ignored,
					     sizeof(ignored));
	}
	if (obj && !json_object_object_get_ex(obj, "errorMessage", NULL) &&
	    !json_object_object_get_ex(obj, "errorCode", NULL)) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

/* error_code and error_msg in @dir from @obj's message. */
static void add_error(struct reader *r, uint32_t dir, struct json_object *obj)
{
	struct json_object *message = pfs_json_get(obj, "message");
	struct json_object *split = split_message(message);

	if (split) {
		pfs_tree_json_field(r->b, dir, "error_code", split, "errorCode");
		pfs_tree_json_field(r->b, dir, "error_msg", split, "errorMessage");
		json_object_put(split);
	} else {
		pfs_tree_file(r->b, dir, "error_code", NULL, 0);
		pfs_tree_json_field(r->b, dir, "error_msg", obj, "message");
	}
}

/* --- stages, jobs, steps ----------------------------------------------- */

/* Fills directory @dir of a stage, job or step @item: 0, or -EPROTO. */
typedef int (*fill_fn)(struct reader *r, uint32_t dir, struct json_object *item,
		       const void *data);

/* The directory of a stage, job or step: named after its name, else its
 * identifier, else its id, else its @position (from 0) in its list. */
static uint32_t add_named_dir(struct reader *r, uint32_t parent,
			      GHashTable *taken, struct json_object *item,
			      size_t position)
{
	static const char *const fallbacks[] = { "identifier", "id" };
	char fallback[32];
	const char *text = NULL;
	size_t len, i;

	for (i = 0; !text && i < G_N_ELEMENTS(fallbacks); i++) {
		text = pfs_json_text(pfs_json_get(item, fallbacks[i]), &len);
		if (text && len == 0)
			text = NULL;
	}
	if (!text) {
		snprintf(fallback, sizeof(fallback), "%zu", position + 1);
		text = fallback;
	}
	return pfs_tree_json_named(r->b, parent, taken, pfs_json_get(item, "name"),
				   text, true);
}

/* A directory in @parent, unique in @taken, for each item of @obj's
 * array @key, filled by @fill as a time group of its own. */
static int add_items(struct reader *r, uint32_t parent, GHashTable *taken,
		     struct json_object *obj, const char *key, fill_fn fill,
		     const void *data)
{
	struct json_object *items;
	int res = pfs_json_objects(obj, key, &items, r->err, r->errsize);
	size_t i;

	for (i = 0; res == 0 && items && i < json_object_array_length(items); i++) {
		struct json_object *item = json_object_array_get_idx(items, i);
		uint32_t dir;
		uint16_t outer;

		if (pfs_tree_full(r->b))
			return fail(r, "more stages, jobs and steps than any real run has");
		dir = add_named_dir(r, parent, taken, item, i);
		outer = pfs_tree_group_begin(r->b, dir);
		res = fill(r, dir, item, data);
		pfs_tree_group_end(r->b, outer);
	}
	return res;
}

/* Directory @name in @parent with @obj's array @key in it. */
static int add_list_dir(struct reader *r, uint32_t parent, const char *name,
			struct json_object *obj, const char *key, fill_fn fill)
{
	GHashTable *taken = pfs_tree_json_taken();
	int res = add_items(r, pfs_tree_dir(r->b, parent, name), taken, obj, key,
			    fill, NULL);

	g_hash_table_destroy(taken);
	return res;
}

/* The fields v3's stages and tasks have, from a v5 stage or job. */
static void add_state_fields(struct reader *r, uint32_t dir,
			     struct json_object *state)
{
	pfs_tree_json_field(r->b, dir, "id", state, "id");
	pfs_tree_json_field(r->b, dir, "name", state, "name");
	pfs_tree_file(r->b, dir, "type", NULL, 0);
	add_status(r, dir, state);
	add_times(r, dir, state);
	add_error(r, dir, state);
	pfs_tree_file(r->b, dir, "detail_url", NULL, 0);
	pfs_tree_json_field(r->b, dir, "v5_status", state, "status");
	pfs_tree_json_field(r->b, dir, "identifier", state, "identifier");
	pfs_tree_json_field(r->b, dir, "sequence", state, "sequence");
}

/* A step of a job, or a gate (@gate "pre" or "post"). */
static int fill_step(struct reader *r, uint32_t dir, struct json_object *step,
		     const void *gate)
{
	static const char *const fields[] = {
		"id", "name", "task", "business_type", "sequence", NULL
	};

	pfs_tree_json_fields(r->b, dir, step, fields);
	add_status(r, dir, step);
	pfs_tree_json_field(r->b, dir, "v5_status", step, "status");
	add_times(r, dir, step);
	add_times_ms(r, dir, step);
	add_error(r, dir, step);
	pfs_tree_json_field(r->b, dir, "message", step, "message");
	if (gate)
		pfs_tree_file(r->b, dir, "gate", gate, strlen(gate));
	pfs_tree_log(r->b, dir);
	return 0;
}

static int fill_job(struct reader *r, uint32_t dir, struct json_object *job,
		    const void *unused)
{
	add_state_fields(r, dir, job);
	add_times_ms(r, dir, job);
	pfs_tree_json_field(r->b, dir, "message", job, "message");
	pfs_tree_json_field(r->b, dir, "async", job, "async");
	pfs_tree_log(r->b, dir);
	return add_list_dir(r, dir, "steps", job, "steps", fill_step);
}

/* gates/: the stage's pre[] and post[] steps, named in one set. */
static int add_gates(struct reader *r, uint32_t stage_dir,
		     struct json_object *stage)
{
	GHashTable *taken = pfs_tree_json_taken();
	uint32_t dir = pfs_tree_dir(r->b, stage_dir, "gates");
	int res = add_items(r, dir, taken, stage, "pre", fill_step, "pre");

	if (res == 0)
		res = add_items(r, dir, taken, stage, "post", fill_step, "post");
	g_hash_table_destroy(taken);
	return res;
}

static int fill_stage(struct reader *r, uint32_t dir, struct json_object *stage,
		      const void *unused)
{
	int res;

	add_state_fields(r, dir, stage);
	pfs_tree_json_field(r->b, dir, "parallel", stage, "parallel");
	add_times_ms(r, dir, stage);
	res = add_list_dir(r, dir, "tasks", stage, "jobs", fill_job);
	if (res == 0)
		res = add_gates(r, dir, stage);
	return res;
}

/* --- the run ----------------------------------------------------------- */

static int build_tree(struct pfs_tree_builder *b, struct json_object *body,
		      void *tz, char *err, size_t errsize)
{
	struct reader reader = { .b = b, .tz = tz, .err = err, .errsize = errsize };
	struct reader *r = &reader;
	int res;

	add_status(r, PFS_NODE_ROOT, body);
	add_renamed(r, PFS_NODE_ROOT, body, build_fields, G_N_ELEMENTS(build_fields));
	add_times(r, PFS_NODE_ROOT, body);
	pfs_tree_json_field(b, PFS_NODE_ROOT, "detail_url", body, "detail_url");
	add_renamed(r, PFS_NODE_ROOT, body, build_extras, G_N_ELEMENTS(build_extras));
	res = pfs_tree_json_parameters(b, body, "build_params", err, errsize);
	if (res < 0)
		return res;
	pfs_tree_add_build_files(b);
	res = add_list_dir(r, PFS_NODE_ROOT, "stages", body, "stages", fill_stage);
	if (res == 0)
		pfs_tree_add_failed(b);
	return res;
}

static void read_build_identity(struct pfs_build *build, struct json_object *body)
{
	const struct status_map *known = NULL;
	struct json_object *value;
	const char *text;
	size_t len;

	text = pfs_json_text(pfs_json_get(body, "status"), &len);
	if (text)
		known = known_status(text, len);
	build->completed = known && strcmp(known->status, "completed") == 0;
	if (known && known->outcome) {
		g_free(build->outcome);
		build->outcome = g_strdup(known->outcome);
	}
	value = pfs_json_get(body, "run_number");
	build->build_id = pfs_v5_run_number(value);
	/* a run names itself with its number: -7 or 7.5 is no run's */
	build->bad_identity = value && !json_object_is_type(value, json_type_null) &&
			      !build->build_id;
	build->bad_identity |= pfs_tree_json_id(body, "pipeline_id", &build->pipeline_id);
}

char *pfs_v5_run_number(struct json_object *value)
{
	const char *text;
	size_t len, i;

	if (value && json_object_is_type(value, json_type_int))
		return json_object_get_int64(value) > 0
			? g_strdup_printf("%" G_GINT64_FORMAT,
					  json_object_get_int64(value)) : NULL;
	if (!value || !json_object_is_type(value, json_type_string))
		return NULL;
	text = pfs_json_text(value, &len);
	if (len == 0 || len > 19 || text[0] == '0')
		return NULL;
	for (i = 0; i < len; i++)
		if (!g_ascii_isdigit(text[i]))
			return NULL;
	return g_strdup(text);
}

static int parse_again(const char *body, size_t len, const void *arg,
		       struct pfs_build **out, char *err, size_t errsize)
{
	return pfs_v5_model_parse(body, len, (GTimeZone *)arg, out, err, errsize);
}

int pfs_v5_model_parse(const char *body, size_t len, GTimeZone *tz,
		       struct pfs_build **out, char *err, size_t errsize)
{
	static const struct pfs_tree_json_schema v5 = {
		.build = build_tree,
		.identity = read_build_identity,
	};
	int res = pfs_tree_json_read(body, len, &v5, tz, out, err, errsize);

	/* the tree is the body's and the zone's: made again from them when
	 * dropped */
	if (res == 0)
		(*out)->source = (struct pfs_tree_source){
			.parse = parse_again, .arg = g_time_zone_ref(tz),
			.free_arg = (void (*)(void *))g_time_zone_unref };
	return res;
}
