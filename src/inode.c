/* inode.c - see inode.h */
#include "inode.h"

#include <glib.h>
#include <pthread.h>
#include <string.h>

struct pfs_inodes {
	pthread_mutex_t lock;
	struct pfs_inode root;
	/* guarded by lock: */
	GHashTable *by_key;	/* key -> struct pfs_inode */
	GHashTable *by_ino;	/* &ino -> struct pfs_inode */
	fuse_ino_t next_spare;	/* numbers for the rare hash collision */
};

/* FNV-1a: cheap, and well spread over the short keys used here. */
static fuse_ino_t hash_key(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 0x100000001b3ULL;
	}
	/* keep clear of 0, the root, and the spare range (top bit set) */
	h &= ~(1ULL << 63);
	return h <= FUSE_ROOT_ID ? h + 2 : h;
}

static void free_inode(void *data)
{
	struct pfs_inode *inode = data;

	pfs_ns_node_clear(&inode->node);
	g_free(inode->key);
	g_free(inode);
}

int pfs_inodes_new(struct pfs_inodes **out)
{
	struct pfs_inodes *inodes = g_new0(struct pfs_inodes, 1);

	pthread_mutex_init(&inodes->lock, NULL);
	inodes->root.ino = FUSE_ROOT_ID;
	inodes->root.node.kind = PFS_NS_ROOT;
	inodes->root.key = pfs_ns_node_key(&inodes->root.node);
	inodes->by_key = g_hash_table_new(g_str_hash, g_str_equal);
	inodes->by_ino = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
					       free_inode);
	inodes->next_spare = 1ULL << 63;
	*out = inodes;
	return 0;
}

void pfs_inodes_free(struct pfs_inodes *inodes)
{
	if (!inodes)
		return;
	g_hash_table_destroy(inodes->by_key);
	g_hash_table_destroy(inodes->by_ino);
	g_free(inodes->root.key);
	pthread_mutex_destroy(&inodes->lock);
	g_free(inodes);
}

fuse_ino_t pfs_inodes_number(struct pfs_inodes *inodes,
			     const struct pfs_ns_node *node)
{
	char *key = pfs_ns_node_key(node);
	struct pfs_inode *inode;
	fuse_ino_t ino;

	if (node->kind == PFS_NS_ROOT) {
		g_free(key);
		return FUSE_ROOT_ID;
	}
	pthread_mutex_lock(&inodes->lock);
	inode = g_hash_table_lookup(inodes->by_key, key);
	ino = inode ? inode->ino : hash_key(key);
	pthread_mutex_unlock(&inodes->lock);
	g_free(key);
	return ino;
}

/* Called with inodes->lock held. */
static struct pfs_inode *create_inode(struct pfs_inodes *inodes,
				      const struct pfs_ns_node *node, char *key)
{
	struct pfs_inode *inode = g_new0(struct pfs_inode, 1);

	inode->ino = hash_key(key);
	if (g_hash_table_contains(inodes->by_ino, &inode->ino))
		inode->ino = inodes->next_spare++;
	inode->key = key;
	pfs_ns_node_copy(&inode->node, node);
	g_hash_table_insert(inodes->by_ino, &inode->ino, inode);
	g_hash_table_insert(inodes->by_key, inode->key, inode);
	return inode;
}

fuse_ino_t pfs_inodes_remember(struct pfs_inodes *inodes,
			       const struct pfs_ns_node *node)
{
	char *key;
	struct pfs_inode *inode;
	fuse_ino_t ino;

	if (node->kind == PFS_NS_ROOT)
		return FUSE_ROOT_ID;
	key = pfs_ns_node_key(node);
	pthread_mutex_lock(&inodes->lock);
	inode = g_hash_table_lookup(inodes->by_key, key);
	if (inode)
		g_free(key);
	else
		inode = create_inode(inodes, node, key);
	inode->nlookup++;
	ino = inode->ino;
	pthread_mutex_unlock(&inodes->lock);
	return ino;
}

struct pfs_inode *pfs_inodes_find(struct pfs_inodes *inodes, fuse_ino_t ino)
{
	struct pfs_inode *inode;

	if (ino == FUSE_ROOT_ID)
		return &inodes->root;
	pthread_mutex_lock(&inodes->lock);
	inode = g_hash_table_lookup(inodes->by_ino, &ino);
	pthread_mutex_unlock(&inodes->lock);
	return inode;
}

void pfs_inodes_forget(struct pfs_inodes *inodes, fuse_ino_t ino,
		       uint64_t nlookup)
{
	struct pfs_inode *inode;

	if (ino == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&inodes->lock);
	inode = g_hash_table_lookup(inodes->by_ino, &ino);
	if (inode) {
		inode->nlookup -= nlookup < inode->nlookup ? nlookup : inode->nlookup;
		if (inode->nlookup == 0) {
			g_hash_table_remove(inodes->by_key, inode->key);
			g_hash_table_remove(inodes->by_ino, &ino);
		}
	}
	pthread_mutex_unlock(&inodes->lock);
}
