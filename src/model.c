/* model.c - see model.h */
#include "model.h"
#include "names.h"
#include "summary.h"

#include <errno.h>
#include <glib.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The depth of nesting a real response needs is 6; json-c's default 32
 * keeps a hostile body from exhausting the stack. */
#define JSON_MAX_DEPTH 32
/* A real build has hundreds of nodes. A few bytes of "{}," per stage
 * would otherwise turn a small (or gzipped) body into gigabytes. */
#define MAX_NODES 100000

static const char *const build_fields[] = {
	"status", "outcome", "pipeline_id", "pipeline_name", "executor",
	"build_id", "start_time", "end_time", "elapsed_time", "detail_url",
	NULL
};

static const char *const state_fields[] = {
	"id", "name", "type", "status", "outcome", "start_time", "end_time",
	"elapsed_time", "error_code", "error_msg", "detail_url", NULL
};

struct builder {
	GArray *nodes;		/* of struct pfs_node */
	GArray *last_child;	/* of uint32_t, per node, while building */
	GArray *path_state;	/* of uint64_t: FNV-1a state of each node's path */
	GString *strings;
	GHashTable *interned;	/* GBytes text -> offset + 1 in strings */
	GArray *time_slots;	/* of struct pfs_time_slot */
	uint16_t group;		/* the time slot of the group being built */
	char *err;
	size_t errsize;
};

static struct pfs_node *node_at(struct builder *b, uint32_t index)
{
	return &g_array_index(b->nodes, struct pfs_node, index);
}

/* Text is stored once per build however often it occurs: values such as
 * "completed\n" and every field name repeat on each task. */
static uint32_t add_text(struct builder *b, const char *text, size_t len)
{
	GBytes *key = g_bytes_new(text, len);
	gpointer found = g_hash_table_lookup(b->interned, key);
	uint32_t offset;

	if (found) {
		g_bytes_unref(key);
		return (uint32_t)(GPOINTER_TO_SIZE(found) - 1);
	}
	offset = (uint32_t)b->strings->len;
	g_string_append_len(b->strings, text, (gssize)len);
	g_string_append_c(b->strings, '\0');
	g_hash_table_insert(b->interned, key, GSIZE_TO_POINTER(offset + 1));
	return offset;
}

/* FNV-1a over the path, continued from the parent's state, so a node's
 * number depends on its path alone: the same after every refresh. */
static uint64_t extend_path(uint64_t state, const char *name)
{
	state ^= '/';
	state *= 0x100000001b3ULL;
	for (; *name; name++) {
		state ^= (unsigned char)*name;
		state *= 0x100000001b3ULL;
	}
	return state;
}

/* The final mix spreads FNV's state over the 40 bits that are kept. */
static uint64_t finish_hash(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h & PFS_PATH_HASH_MASK;
}

/* A new time slot, or @fallback when a hostile build has used them all. */
static uint16_t add_time_slot(struct builder *b, uint32_t dir, uint16_t fallback)
{
	struct pfs_time_slot slot = { .dir = dir };

	if (b->time_slots->len >= UINT16_MAX)
		return fallback;
	g_array_append_val(b->time_slots, slot);
	return (uint16_t)(b->time_slots->len - 1);
}

static uint32_t add_node(struct builder *b, uint32_t parent, const char *name,
			 bool is_dir)
{
	uint64_t state = parent == PFS_NODE_NONE ? 0xcbf29ce484222325ULL :
		extend_path(g_array_index(b->path_state, uint64_t, parent), name);
	struct pfs_node node = {
		.path_hash = finish_hash(state),
		.name = add_text(b, name, strlen(name)),
		.first_child = PFS_NODE_NONE,
		.next_sibling = PFS_NODE_NONE,
		.is_dir = is_dir,
		.kind = is_dir ? PFS_NODE_DIR : PFS_NODE_FILE,
		.time = b->group,
	};
	uint32_t index = b->nodes->len;
	uint32_t none = PFS_NODE_NONE;


	g_array_append_val(b->nodes, node);
	g_array_append_val(b->last_child, none);
	g_array_append_val(b->path_state, state);
	if (parent != PFS_NODE_NONE) {
		uint32_t *last = &g_array_index(b->last_child, uint32_t, parent);

		if (*last == PFS_NODE_NONE)
			node_at(b, parent)->first_child = index;
		else
			node_at(b, *last)->next_sibling = index;
		*last = index;
	}
	return index;
}

static uint32_t add_special(struct builder *b, uint32_t parent,
			    const char *name, enum pfs_node_kind kind)
{
	uint32_t node = add_node(b, parent, name, false);

	node_at(b, node)->kind = kind;
	node_at(b, node)->content = add_text(b, "", 0);
	return node;
}

/* A value file is the value and a newline; null is an empty file. */
static void set_content(struct builder *b, uint32_t file, const char *text,
			size_t len)
{
	char *line;

	if (!text) {
		node_at(b, file)->content = add_text(b, "", 0);
		node_at(b, file)->content_len = 0;
		return;
	}
	line = g_malloc(len + 1);
	memcpy(line, text, len);
	line[len] = '\n';
	node_at(b, file)->content = add_text(b, line, len + 1);
	node_at(b, file)->content_len = (uint32_t)(len + 1);
	g_free(line);
}

/* A value as text: a string as itself, anything else (a wrong type) as
 * its JSON text; NULL for null or missing. */
static const char *value_text(struct json_object *value, size_t *len)
{
	const char *text;

	if (!value) {
		*len = 0;
		return NULL;
	}
	if (json_object_is_type(value, json_type_string)) {
		*len = (size_t)json_object_get_string_len(value);
		return json_object_get_string(value);
	}
	text = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
	*len = strlen(text);
	return text;
}

static void add_fields(struct builder *b, uint32_t dir,
		       struct json_object *obj, const char *const *keys)
{
	for (; *keys; keys++) {
		struct json_object *value = NULL;
		const char *text;
		size_t len;

		json_object_object_get_ex(obj, *keys, &value);
		text = value_text(value, &len);
		set_content(b, add_node(b, dir, *keys, false), text, len);
	}
}

/* A directory (or file) named after untrusted @raw, safe and unique in
 * @taken (which it is added to). */
static uint32_t add_named(struct builder *b, uint32_t parent,
			  GHashTable *taken, struct json_object *raw,
			  const char *fallback, bool is_dir)
{
	char name[PFS_NAME_MAX + 1];
	size_t len;
	const char *text = value_text(raw, &len);

	pfs_name_sanitize(name, text, len, fallback);
	pfs_name_claim(name, taken);
	return add_node(b, parent, name, is_dir);
}

static int fail(struct builder *b, const char *what)
{
	snprintf(b->err, b->errsize, "%s", what);
	return -EPROTO;
}

/* The array at @key of @obj in *@array: NULL when missing or null,
 * -EPROTO when it is anything but an array of objects. */
static int get_object_array(struct builder *b, struct json_object *obj,
			    const char *key, struct json_object **array)
{
	size_t i, n;

	*array = NULL;
	if (!json_object_object_get_ex(obj, key, array) || !*array)
		return 0;
	if (!json_object_is_type(*array, json_type_array)) {
		snprintf(b->err, b->errsize, "\"%s\" is not an array", key);
		return -EPROTO;
	}
	n = json_object_array_length(*array);
	for (i = 0; i < n; i++) {
		struct json_object *item = json_object_array_get_idx(*array, i);

		if (!json_object_is_type(item, json_type_object)) {
			snprintf(b->err, b->errsize,
				 "an element of \"%s\" is not an object", key);
			return -EPROTO;
		}
	}
	return 0;
}

static void add_parameter(struct builder *b, uint32_t dir, GHashTable *taken,
			  struct json_object *param, size_t position)
{
	struct json_object *name = NULL, *value = NULL;
	char fallback[32];
	const char *text;
	size_t len;
	uint32_t file;

	json_object_object_get_ex(param, "name", &name);
	json_object_object_get_ex(param, "value", &value);
	snprintf(fallback, sizeof(fallback), "parameter-%zu", position + 1);
	file = add_named(b, dir, taken, name, fallback, false);
	text = value_text(value, &len);
	set_content(b, file, text, len);
}

static int add_parameters(struct builder *b, struct json_object *body)
{
	struct json_object *params;
	uint32_t dir = add_node(b, PFS_NODE_ROOT, "parameters", true);
	GHashTable *taken = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, NULL);
	int res = get_object_array(b, body, "parameters", &params);
	size_t i;

	for (i = 0; res == 0 && params && i < json_object_array_length(params); i++) {
		if (b->nodes->len > MAX_NODES)
			res = fail(b, "more parameters than any real build has");
		else
			add_parameter(b, dir, taken,
				      json_object_array_get_idx(params, i), i);
	}
	g_hash_table_destroy(taken);
	return res;
}

static int add_states(struct builder *b, uint32_t dir,
		      struct json_object *states, int depth);

static int add_state(struct builder *b, uint32_t parent, GHashTable *taken,
		     struct json_object *state, size_t position, int depth)
{
	struct json_object *id = NULL, *name = NULL, *children;
	char position_text[32];
	const char *fallback;
	uint16_t outer = b->group;
	size_t len;
	uint32_t dir;
	int res;

	json_object_object_get_ex(state, "id", &id);
	json_object_object_get_ex(state, "name", &name);
	/* a nameless state is named by its id, or by its place if it has none */
	fallback = value_text(id, &len);
	if (!fallback) {
		snprintf(position_text, sizeof(position_text), "%zu", position + 1);
		fallback = position_text;
	}
	dir = add_named(b, parent, taken, name, fallback, true);
	b->group = add_time_slot(b, dir, outer);
	add_fields(b, dir, state, state_fields);
	res = get_object_array(b, state, "children", &children);
	/* every stage has tasks/; a task only if it has children of its own */
	if (res == 0 && (depth == 0 ||
			 (children && json_object_array_length(children) > 0)))
		res = add_states(b, add_node(b, dir, "tasks", true), children,
				 depth + 1);
	b->group = outer;
	return res;
}

static int add_states(struct builder *b, uint32_t dir,
		      struct json_object *states, int depth)
{
	GHashTable *taken;
	size_t i, n;
	int res = 0;

	if (!states)
		return 0;
	taken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	n = json_object_array_length(states);
	for (i = 0; res == 0 && i < n; i++) {
		if (b->nodes->len > MAX_NODES)
			res = fail(b, "more stages and tasks than any real build has");
		else
			res = add_state(b, dir, taken,
					json_object_array_get_idx(states, i), i, depth);
	}
	g_hash_table_destroy(taken);
	return res;
}

static int note_failure(const char *entry, const char *target, uint32_t dir,
			void *failed)
{
	g_ptr_array_add(failed, g_strdup(entry));
	g_ptr_array_add(failed, g_strdup(target));
	return 0;
}

/* failed/: a link to each stage and task that failed (summary.h names
 * them and says which failed). */
static void add_failed(struct builder *b)
{
	/* the tree so far, as a build for summary.h, which reads only these */
	struct pfs_build so_far = {
		.nodes = (struct pfs_node *)(void *)b->nodes->data,
		.n_nodes = b->nodes->len,
		.strings = b->strings->str,
	};
	GPtrArray *failed = g_ptr_array_new_with_free_func(g_free);
	uint32_t dir;
	guint i;

	pfs_summary_failures(&so_far, note_failure, failed);
	/* the links only now: adding nodes moves the array so_far reads */
	dir = add_node(b, PFS_NODE_ROOT, "failed", true);
	for (i = 0; i + 1 < failed->len; i += 2) {
		const char *target = failed->pdata[i + 1];
		uint32_t link = add_node(b, dir, failed->pdata[i], false);

		node_at(b, link)->kind = PFS_NODE_LINK;
		node_at(b, link)->content = add_text(b, target, strlen(target));
		node_at(b, link)->content_len = (uint32_t)strlen(target);
	}
	g_ptr_array_free(failed, TRUE);
}

static int build_tree(struct builder *b, struct json_object *body)
{
	struct json_object *states;
	int res;

	b->group = add_time_slot(b, PFS_NODE_ROOT, 0);
	add_node(b, PFS_NODE_NONE, "", true);
	add_fields(b, PFS_NODE_ROOT, body, build_fields);
	res = add_parameters(b, body);
	if (res < 0)
		return res;
	add_special(b, PFS_NODE_ROOT, "status.json", PFS_NODE_BODY);
	add_special(b, PFS_NODE_ROOT, "summary", PFS_NODE_SUMMARY);
	add_special(b, PFS_NODE_ROOT, "events", PFS_NODE_EVENTS);
	add_special(b, PFS_NODE_ROOT, "wait", PFS_NODE_WAIT);
	res = get_object_array(b, body, "states", &states);
	if (res < 0)
		return res;
	res = add_states(b, add_node(b, PFS_NODE_ROOT, "stages", true), states, 0);
	if (res == 0)
		add_failed(b);
	return res;
}

/* Whether @text (@len bytes) is JSON whitespace only. The body need not be
 * NUL-terminated, so no str* function may look at it. */
static bool only_whitespace(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!memchr(" \t\r\n", text[i], 4))
			return false;
	return true;
}

struct json_object *pfs_model_parse_json(const char *body, size_t len,
					 int type, char *err, size_t errsize)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (len > INT32_MAX) {
		snprintf(err, errsize, "body too large");
		return NULL;
	}
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	obj = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue)
		snprintf(err, errsize, "truncated JSON");
	else if (jerr != json_tokener_success)
		snprintf(err, errsize, "not JSON: %s", json_tokener_error_desc(jerr));
	else if (end > len || !only_whitespace(body + end, len - end))
		snprintf(err, errsize, "text after the JSON value");
	else if (!json_object_is_type(obj, (enum json_type)type))
		snprintf(err, errsize, "the body is not a JSON %s",
			 type == json_type_array ? "array" : "object");
	else
		goto out;
	json_object_put(obj);
	obj = NULL;
out:
	json_tokener_free(tok);
	return obj;
}

/* An id as the API gives it: a string, or a number, that is a valid id. */
static char *id_text(struct json_object *value)
{
	const char *text;
	size_t len;

	if (!value || !(json_object_is_type(value, json_type_string) ||
			json_object_is_type(value, json_type_int)))
		return NULL;
	text = value_text(value, &len);
	if (strlen(text) != len || !pfs_name_is_valid_id(text))
		return NULL;
	return g_strdup(text);
}

/* The id in @body's field @key: *@id a copy, or NULL; true if the field
 * holds something (not null) that is no usable id. */
static bool read_id(struct json_object *body, const char *key, char **id)
{
	struct json_object *value = NULL;

	json_object_object_get_ex(body, key, &value);
	*id = id_text(value);
	return value && !json_object_is_type(value, json_type_null) && !*id;
}

static void read_build_identity(struct pfs_build *build,
				struct json_object *body)
{
	struct json_object *value = NULL;

	json_object_object_get_ex(body, "status", &value);
	build->completed = value && json_object_is_type(value, json_type_string) &&
			   strcmp(json_object_get_string(value), "completed") == 0;
	value = NULL;
	json_object_object_get_ex(body, "outcome", &value);
	build->outcome = g_strdup(value && json_object_is_type(value, json_type_string)
				  ? json_object_get_string(value) : "");
	build->bad_identity = read_id(body, "build_id", &build->build_id);
	build->bad_identity |= read_id(body, "pipeline_id", &build->pipeline_id);
}

static void builder_init(struct builder *b, size_t body_len)
{
	b->nodes = g_array_new(FALSE, FALSE, sizeof(struct pfs_node));
	b->last_child = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	b->path_state = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	b->strings = g_string_sized_new(body_len / 4);
	b->interned = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
					    (GDestroyNotify)g_bytes_unref, NULL);
	b->time_slots = g_array_new(FALSE, FALSE, sizeof(struct pfs_time_slot));
}

static void builder_clear(struct builder *b)
{
	if (b->nodes)
		g_array_free(b->nodes, TRUE);
	if (b->strings)
		g_string_free(b->strings, TRUE);
	g_array_free(b->last_child, TRUE);
	g_array_free(b->path_state, TRUE);
	g_hash_table_destroy(b->interned);
	if (b->time_slots)
		g_array_free(b->time_slots, TRUE);
}

struct hash_slot {
	uint64_t hash;
	uint32_t node;
};

static int by_hash(const void *a, const void *b)
{
	const struct hash_slot *x = a, *y = b;

	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static void sort_index(struct pfs_build *build)
{
	struct hash_slot *slots = g_new(struct hash_slot, build->n_nodes);
	uint32_t i;

	for (i = 0; i < build->n_nodes; i++) {
		slots[i].hash = build->nodes[i].path_hash;
		slots[i].node = i;
	}
	qsort(slots, build->n_nodes, sizeof(*slots), by_hash);
	for (i = 0; i < build->n_nodes; i++)
		build->by_hash[i] = slots[i].node;
	g_free(slots);
}

/* Two paths of one build with the same 40-bit hash would share an inode:
 * astronomically rare, but then the later node is moved to a free value. */
static void separate_collisions(struct pfs_build *build)
{
	GHashTable *used = g_hash_table_new(g_int64_hash, g_int64_equal);
	bool moved = false;
	uint32_t i;

	for (i = 0; i < build->n_nodes; i++) {
		struct pfs_node *node = &build->nodes[i];

		while (g_hash_table_contains(used, &node->path_hash)) {
			node->path_hash = finish_hash(node->path_hash + 1);
			moved = true;
		}
		g_hash_table_add(used, &node->path_hash);
	}
	g_hash_table_destroy(used);
	if (moved)
		sort_index(build);
}

static void index_nodes(struct pfs_build *build)
{
	uint32_t i;

	build->by_hash = g_new(uint32_t, build->n_nodes);
	sort_index(build);
	for (i = 1; i < build->n_nodes; i++)
		if (build->nodes[build->by_hash[i]].path_hash ==
		    build->nodes[build->by_hash[i - 1]].path_hash) {
			separate_collisions(build);
			break;
		}
}

/* The body is kept for status.json, deflated: JSON shrinks several times,
 * and it is read far less often than the fields. */
static int keep_body(struct pfs_build *build, const char *body, size_t len)
{
	uLongf zlen = compressBound((uLong)len);

	build->zbody = g_malloc(zlen);
	if (compress2(build->zbody, &zlen, (const Bytef *)body, (uLong)len,
		      Z_BEST_SPEED) != Z_OK)
		return -ENOMEM;
	build->zbody = g_realloc(build->zbody, zlen ? zlen : 1);
	build->zbody_len = zlen;
	build->body_len = len;
	return 0;
}

static struct pfs_build *finish_build(struct builder *b, struct json_object *obj)
{
	struct pfs_build *build = g_new0(struct pfs_build, 1);

	build->refcount = 1;
	build->n_nodes = b->nodes->len;
	build->nodes = (struct pfs_node *)g_array_free(b->nodes, FALSE);
	build->nodes = g_renew(struct pfs_node, build->nodes, build->n_nodes);
	b->nodes = NULL;
	build->strings_len = b->strings->len;
	build->strings = g_realloc(b->strings->str, b->strings->len);
	g_string_free(b->strings, FALSE);
	b->strings = NULL;
	build->n_times = b->time_slots->len;
	build->time_slots = (struct pfs_time_slot *)g_array_free(b->time_slots, FALSE);
	b->time_slots = NULL;
	build->times = g_new0(int64_t, build->n_times);
	index_nodes(build);
	read_build_identity(build, obj);
	return build;
}

int pfs_model_parse(const char *body, size_t len, struct pfs_build **out,
		    char *err, size_t errsize)
{
	struct builder b = { .err = err, .errsize = errsize };
	struct pfs_build *build;
	struct json_object *obj;
	int res;

	*out = NULL;
	obj = pfs_model_parse_json(body, len, json_type_object, err, errsize);
	if (!obj)
		return -EPROTO;
	builder_init(&b, len);
	res = build_tree(&b, obj);
	if (res == 0) {
		build = finish_build(&b, obj);
		res = keep_body(build, body, len);
		if (res < 0)
			pfs_build_unref(build);
		else
			*out = build;
	}
	builder_clear(&b);
	json_object_put(obj);
	return res;
}

int pfs_model_parse_latest_ids(const char *body, size_t len, GHashTable **out,
			       char *err, size_t errsize)
{
	struct json_object *array;
	size_t i, n;

	*out = NULL;
	array = pfs_model_parse_json(body, len, json_type_array, err, errsize);
	if (!array)
		return -EPROTO;
	*out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	n = json_object_array_length(array);
	for (i = 0; i < n; i++) {
		struct json_object *item = json_object_array_get_idx(array, i);
		struct json_object *pid = NULL, *bid = NULL;
		char *pipeline_id, *build_id;

		if (!json_object_is_type(item, json_type_object))
			continue;
		json_object_object_get_ex(item, "pipeline_id", &pid);
		json_object_object_get_ex(item, "build_id", &bid);
		pipeline_id = id_text(pid);
		build_id = id_text(bid);
		if (pipeline_id && build_id)
			g_hash_table_replace(*out, pipeline_id, build_id);
		else {
			g_free(pipeline_id);
			g_free(build_id);
		}
	}
	json_object_put(array);
	return 0;
}

struct pfs_build *pfs_build_ref(struct pfs_build *build)
{
	__atomic_add_fetch(&build->refcount, 1, __ATOMIC_RELAXED);
	return build;
}

void pfs_build_unref(struct pfs_build *build)
{
	if (!build || __atomic_sub_fetch(&build->refcount, 1, __ATOMIC_ACQ_REL))
		return;
	g_free(build->zbody);
	g_free(build->by_hash);
	g_free(build->nodes);
	g_free(build->strings);
	g_free(build->build_id);
	g_free(build->pipeline_id);
	g_free(build->outcome);
	g_free(build->times);
	g_free(build->time_slots);
	g_free(build->node_ns);
	g_free(build);
}

size_t pfs_build_size(const struct pfs_build *build)
{
	return sizeof(*build) + build->zbody_len + build->strings_len +
	       build->n_nodes * (sizeof(struct pfs_node) + sizeof(uint32_t)) +
	       build->n_times * sizeof(int64_t) +
	       (build->time_slots ? build->n_times * sizeof(struct pfs_time_slot) : 0) +
	       (build->node_ns ? build->n_nodes * sizeof(int64_t) : 0);
}

uint32_t pfs_build_child(const struct pfs_build *build, uint32_t dir,
			 const char *name)
{
	uint32_t child;

	if (dir >= build->n_nodes || !build->nodes[dir].is_dir)
		return PFS_NODE_NONE;
	for (child = build->nodes[dir].first_child; child != PFS_NODE_NONE;
	     child = build->nodes[child].next_sibling)
		if (strcmp(build->strings + build->nodes[child].name, name) == 0)
			return child;
	return PFS_NODE_NONE;
}

uint32_t pfs_build_walk(const struct pfs_build *build, const char *relpath)
{
	uint32_t node = PFS_NODE_ROOT;
	char name[PFS_NAME_MAX + 1];

	while (*relpath && node != PFS_NODE_NONE) {
		size_t len = strcspn(relpath, "/");

		if (len > PFS_NAME_MAX)
			return PFS_NODE_NONE;
		memcpy(name, relpath, len);
		name[len] = '\0';
		node = pfs_build_child(build, node, name);
		relpath += len + (relpath[len] == '/');
	}
	return node;
}

const char *pfs_build_node_name(const struct pfs_build *build, uint32_t node)
{
	return build->strings + build->nodes[node].name;
}

const char *pfs_build_node_content(const struct pfs_build *build,
				   uint32_t node, size_t *len)
{
	const struct pfs_node *n = &build->nodes[node];

	if (n->kind == PFS_NODE_BODY) {
		*len = 0;
		return NULL;
	}
	*len = n->content_len;
	return build->strings + n->content;
}

char *pfs_build_body(const struct pfs_build *build)
{
	char *body = g_malloc(build->body_len + 1);
	uLongf len = (uLongf)build->body_len;

	if (uncompress((Bytef *)body, &len, build->zbody,
		       (uLong)build->zbody_len) != Z_OK || len != build->body_len) {
		g_free(body);
		return NULL;
	}
	body[len] = '\0';
	return body;
}

uint32_t pfs_build_find(const struct pfs_build *build, uint64_t path_hash)
{
	size_t low = 0, high = build->n_nodes;

	while (low < high) {
		size_t mid = low + (high - low) / 2;
		uint64_t h = build->nodes[build->by_hash[mid]].path_hash;

		if (h == path_hash)
			return build->by_hash[mid];
		if (h < path_hash)
			low = mid + 1;
		else
			high = mid;
	}
	return PFS_NODE_NONE;
}
