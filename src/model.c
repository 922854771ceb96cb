/* model.c - see model.h: the generic tree of a build, and the builder
 * the backends (backend/) make it with from their own JSON. */
#include "model.h"
#include "names.h"
#include "summary.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct pfs_tree_builder {
	GArray *nodes;		/* of struct pfs_node */
	GArray *last_child;	/* of uint32_t, per node, while building */
	GArray *path_state;	/* of uint64_t: FNV-1a state of each node's path */
	GString *strings;
	GHashTable *interned;	/* GBytes text -> offset + 1 in strings */
	GArray *time_slots;	/* of struct pfs_time_slot */
	uint16_t group;		/* the time slot of the group being built */
};
static struct pfs_node *node_at(struct pfs_tree_builder *b, uint32_t index)
{
	return &g_array_index(b->nodes, struct pfs_node, index);
}

/* Text is stored once per build however often it occurs: values such as
 * "completed\n" and every field name repeat on each task. */
static uint32_t add_text(struct pfs_tree_builder *b, const char *text, size_t len)
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
static uint16_t add_time_slot(struct pfs_tree_builder *b, uint32_t dir, uint16_t fallback)
{
	struct pfs_time_slot slot = { .dir = dir };

	if (b->time_slots->len >= UINT16_MAX)
		return fallback;
	g_array_append_val(b->time_slots, slot);
	return (uint16_t)(b->time_slots->len - 1);
}

static uint32_t add_node(struct pfs_tree_builder *b, uint32_t parent, const char *name,
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

static uint32_t add_special(struct pfs_tree_builder *b, uint32_t parent,
			    const char *name, enum pfs_node_kind kind)
{
	uint32_t node = add_node(b, parent, name, false);

	node_at(b, node)->kind = kind;
	node_at(b, node)->content = add_text(b, "", 0);
	return node;
}

/* A value file is the value and a newline; null is an empty file. */
static void set_content(struct pfs_tree_builder *b, uint32_t file, const char *text,
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

/* A real build has hundreds of nodes. A few bytes of "{}," per stage
 * would otherwise turn a small (or gzipped) body into gigabytes. */
#define MAX_NODES 100000

struct pfs_tree_builder *pfs_tree_new(size_t body_len)
{
	struct pfs_tree_builder *b = g_new0(struct pfs_tree_builder, 1);

	b->nodes = g_array_new(FALSE, FALSE, sizeof(struct pfs_node));
	b->last_child = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	b->path_state = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	b->strings = g_string_sized_new(body_len / 4);
	b->interned = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
					    (GDestroyNotify)g_bytes_unref, NULL);
	b->time_slots = g_array_new(FALSE, FALSE, sizeof(struct pfs_time_slot));
	b->group = add_time_slot(b, PFS_NODE_ROOT, 0);
	add_node(b, PFS_NODE_NONE, "", true);
	return b;
}

void pfs_tree_free(struct pfs_tree_builder *b)
{
	if (!b)
		return;
	if (b->nodes)
		g_array_free(b->nodes, TRUE);
	if (b->strings)
		g_string_free(b->strings, TRUE);
	g_array_free(b->last_child, TRUE);
	g_array_free(b->path_state, TRUE);
	g_hash_table_destroy(b->interned);
	if (b->time_slots)
		g_array_free(b->time_slots, TRUE);
	g_free(b);
}

uint32_t pfs_tree_dir(struct pfs_tree_builder *b, uint32_t parent,
		      const char *name)
{
	return add_node(b, parent, name, true);
}

uint32_t pfs_tree_file(struct pfs_tree_builder *b, uint32_t parent,
		       const char *name, const char *text, size_t len)
{
	uint32_t file = add_node(b, parent, name, false);

	set_content(b, file, text, len);
	return file;
}

void pfs_tree_set_value(struct pfs_tree_builder *b, uint32_t file,
			const char *text, size_t len)
{
	set_content(b, file, text, len);
}

uint32_t pfs_tree_named(struct pfs_tree_builder *b, uint32_t parent,
			GHashTable *taken, const char *text, size_t len,
			const char *fallback, bool is_dir)
{
	char name[PFS_NAME_MAX + 1];

	pfs_name_sanitize(name, text, len, fallback);
	pfs_name_claim(name, taken);
	return add_node(b, parent, name, is_dir);
}

uint16_t pfs_tree_group_begin(struct pfs_tree_builder *b, uint32_t dir)
{
	uint16_t outer = b->group;

	b->group = add_time_slot(b, dir, outer);
	return outer;
}

void pfs_tree_group_end(struct pfs_tree_builder *b, uint16_t outer)
{
	b->group = outer;
}

bool pfs_tree_full(const struct pfs_tree_builder *b)
{
	return b->nodes->len > MAX_NODES;
}

uint32_t pfs_tree_log(struct pfs_tree_builder *b, uint32_t parent)
{
	return add_special(b, parent, "log", PFS_NODE_LOG);
}

void pfs_tree_add_build_files(struct pfs_tree_builder *b)
{
	add_special(b, PFS_NODE_ROOT, "status.json", PFS_NODE_BODY);
	add_special(b, PFS_NODE_ROOT, "summary", PFS_NODE_SUMMARY);
	add_special(b, PFS_NODE_ROOT, "events", PFS_NODE_EVENTS);
	add_special(b, PFS_NODE_ROOT, "wait", PFS_NODE_WAIT);
}

static int note_failure(const char *entry, const char *target, uint32_t dir,
			void *failed)
{
	g_ptr_array_add(failed, g_strdup(entry));
	g_ptr_array_add(failed, g_strdup(target));
	return 0;
}

void pfs_tree_add_failed(struct pfs_tree_builder *b)
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

/* The body is kept deflated: for status.json, and to make the tree again
 * from (model_pack.c). It is what a cached build mostly is, so it is
 * deflated well, once, into a buffer of its own size: a cached build's
 * few KiB must not sit among the holes of a larger one. */
static int keep_body(struct pfs_build *build, const char *body, size_t len)
{
	uLongf zlen = compressBound((uLong)len);
	Bytef *scratch = g_malloc(zlen);
	int res = compress2(scratch, &zlen, (const Bytef *)body, (uLong)len,
			    Z_DEFAULT_COMPRESSION);

	if (res == Z_OK) {
		build->zbody = g_memdup2(scratch, zlen ? zlen : 1);
		build->zbody_len = zlen;
		build->body_len = len;
	}
	g_free(scratch);
	return res == Z_OK ? 0 : -ENOMEM;
}

int pfs_tree_finish(struct pfs_tree_builder *b, const char *body, size_t len,
		    struct pfs_build **out)
{
	struct pfs_build *build = g_new0(struct pfs_build, 1);
	int res;

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
	build->outcome = g_strdup("");
	pfs_tree_free(b);
	index_nodes(build);
	res = keep_body(build, body, len);
	if (res < 0) {
		pfs_build_unref(build);
		build = NULL;
	}
	*out = build;
	return res;
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
	g_free(build->znode_ns);
	if (build->source.free_arg)
		build->source.free_arg(build->source.arg);
	g_free(build);
}

size_t pfs_build_size(const struct pfs_build *build)
{
	return sizeof(*build) + build->zbody_len +
	       build->n_times * sizeof(int64_t) + build->znode_ns_len +
	       (build->outcome ? strlen(build->outcome) + 1 : 0) +
	       (build->build_id ? strlen(build->build_id) + 1 : 0) +
	       (build->pipeline_id ? strlen(build->pipeline_id) + 1 : 0);
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
