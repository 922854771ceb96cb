/* namespace.h - the mount's directory tree, resolved over the cache.
 *
 *   /                                   the pipelines listed (the account's,
 *                                       or pipelines=) or looked up
 *   /.pipelinefs/                       health, metrics, summary, events
 *   /by-name/<name>                     symlink to ../<pipeline>
 *   /projects/<project>/<name>          symlink to ../../<pipeline>
 *   /<pipeline>/                        "latest", its history and the
 *                                       builds seen, and
 *   /<pipeline>/events, summary         the pipeline's (views.h)
 *   /<pipeline>/latest                  symlink to the newest build
 *   /<pipeline>/<build>/...             the build's tree (model.h)
 *   /<pipeline>/<build>/wait            each lookup a node of its own
 *
 * A node is named by its identity (kind, the cache's slot numbers for its
 * pipeline and build, the hash of its path inside the build), not by a
 * pointer, so it survives refreshes and evictions: every call resolves it
 * again through the cache. The FUSE layer (fs.c) turns identities into
 * inode numbers (inode.h) and replies; all decisions live here.
 */
#ifndef PFS_NAMESPACE_H
#define PFS_NAMESPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cache.h"

enum pfs_ns_kind {
	PFS_NS_ROOT,
	PFS_NS_PIPELINE,
	PFS_NS_LATEST,
	PFS_NS_BUILD,		/* a node of a build's tree */
	PFS_NS_PIPELINE_FILE,	/* a pipeline's events or summary */
	PFS_NS_STATE_DIR,	/* /.pipelinefs */
	PFS_NS_STATE_FILE,	/* a file of it */
	PFS_NS_WAIT,		/* one reader's `wait` of a build */
	PFS_NS_BY_NAME_DIR,	/* /by-name */
	PFS_NS_PROJECTS_DIR,	/* /projects */
	PFS_NS_PROJECT,		/* /projects/<project name> */
	PFS_NS_NAME_LINK,	/* a pipeline's name in by-name/ or a project */
};

/* A plain value: nothing to free. */
struct pfs_ns_node {
	enum pfs_ns_kind kind;
	uint32_t pipeline;	/* slot, for PIPELINE, LATEST, PIPELINE_FILE */
	uint32_t build;		/* slot, for BUILD and WAIT */
	uint64_t path_hash;	/* BUILD: which node of the build's tree;
				 * WAIT: which lookup (40 bits) */
	uint32_t view;		/* PIPELINE_FILE, STATE_FILE: enum pfs_view */
	uint32_t project;	/* PROJECT, NAME_LINK in a project: its slot
				 * (cache.h) + 1; 0: a NAME_LINK of by-name/ */
};

struct pfs_ns_attr {
	struct stat st;		/* st_ino is left to the caller */
	double timeout;		/* how long the kernel may trust it */
	double entry_timeout;	/* and the name's link to the node */
};

struct pfs_ns_dirent {
	char *name;
	mode_t type;		/* S_IFDIR, S_IFREG or S_IFLNK */
	struct pfs_ns_node node;
	bool has_attr;		/* attr is known without asking the API */
	struct pfs_ns_attr attr;
	const char *content;	/* a small file's content, in listing->build */
	size_t content_len;
	uint32_t name_hash;	/* of name: 21 bits, never 0 (for offsets) */
};

/* A directory's entries as they are now: "." and ".." first (nodes of
 * the directory and its parent, no attr), then the others in the order
 * they have always been listed (the API's, or the order first seen). */
struct pfs_ns_listing {
	size_t count;
	struct pfs_ns_dirent *entries;
	struct pfs_build *build;	/* reference held for the contents */
};

/* An open file: a consistent copy of its content for as long as it is
 * open, even if the build is refreshed meanwhile. */
struct pfs_ns_file {
	struct pfs_build *build;	/* holds the reference */
	const char *content;	/* in build, or body */
	size_t len;
	char *body;		/* owned: the inflated body, for status.json */
	bool volatile_content;	/* the build may still change */
};

struct pfs_ns;

/* The namespace uses, but does not own, @cache. @ttl bounds how long the
 * kernel may cache anything that can change. */
int pfs_ns_new(struct pfs_cache *cache, double ttl, struct pfs_ns **out);
void pfs_ns_free(struct pfs_ns *ns);

/* How long the kernel may remember that a name does not exist: what
 * does not exist now may appear at the next refresh, ttl from now. */
double pfs_ns_absence_timeout(const struct pfs_ns *ns);

/* Readers: every call that may wait for the API takes the reader's wait
 * (made by pfs_ns_reader_init() as the kernel's request arrives); it
 * returns by the reader's deadline, and with -EINTR as soon as
 * pfs_ns_interrupt() is called (from any thread). */
void pfs_ns_reader_init(struct pfs_ns *ns, struct pfs_reader *reader);
void pfs_ns_interrupt(struct pfs_ns *ns, struct pfs_reader *reader);

/* Errors are -errno for the reader: -ENOENT, -ENOTDIR, -EACCES, -EIO,
 * -EINTR, -ESTALE (a node number that names nothing).
 *
 * Lookup counts, as FUSE keeps them: a successful pfs_ns_lookup() counts
 * one lookup of @child, as does pfs_ns_remember() (a readdirplus entry
 * handed to the kernel with its inode number); pfs_ns_forget() takes
 * @nlookup away. The caller undoes the count with pfs_ns_forget() when
 * the kernel did not get the reply. A node whose pipeline or build the
 * kernel holds keeps its identity; others may be recycled. */
int pfs_ns_lookup(struct pfs_ns *ns, struct pfs_reader *reader,
		  const struct pfs_ns_node *parent, const char *name,
		  struct pfs_ns_node *child, struct pfs_ns_attr *attr);
void pfs_ns_remember(struct pfs_ns *ns, const struct pfs_ns_node *node);
void pfs_ns_forget(struct pfs_ns *ns, const struct pfs_ns_node *node,
		   uint64_t nlookup);

int pfs_ns_getattr(struct pfs_ns *ns, struct pfs_reader *reader,
		   const struct pfs_ns_node *node, struct pfs_ns_attr *attr);
int pfs_ns_readlink(struct pfs_ns *ns, struct pfs_reader *reader,
		    const struct pfs_ns_node *node, char **target);

int pfs_ns_list(struct pfs_ns *ns, struct pfs_reader *reader,
		const struct pfs_ns_node *dir, struct pfs_ns_listing **out);
void pfs_ns_listing_free(struct pfs_ns_listing *listing);

/* Directory offsets (d_off) name the entry they follow, not its position,
 * because the kernel asks for each part of a listing separately and the
 * listing may change in between (the kernel has no open handle to keep a
 * copy in: no opendir). The offset after entry @i of @listing: */
off_t pfs_ns_listing_offset(const struct pfs_ns_listing *listing, size_t i);

/* The index in @listing of the entry that follows the one @off was made
 * for, in whatever listing of the same directory: right after it where it
 * still is, even when entries came or went before it; else at the entry
 * that followed it then. Every entry present throughout is so listed
 * once, in order. 0 starts over; @listing->count: nothing is left. */
size_t pfs_ns_listing_seek(const struct pfs_ns_listing *listing, off_t off);

/* *@out NULL (and 0) for a live file, whose every read must come to
 * pfs_ns_read() (or, for a wait, pfs_ns_wait_answer()): events, wait and
 * the files of views.h. */
int pfs_ns_open(struct pfs_ns *ns, struct pfs_reader *reader,
		const struct pfs_ns_node *node, struct pfs_ns_file **out);

/* Drops every unfinished build from the cache (SIGHUP), calling @forget
 * for each node of each, and for each pipeline's "latest" (a LATEST node
 * of no build: its name), so that the kernel can be told to drop what it
 * holds of them. */
void pfs_ns_drop_unfinished(struct pfs_ns *ns,
			    void (*forget)(const struct pfs_ns_node *node,
					   void *arg),
			    void *arg);

/* Reads without an open file: a copy of at most @size bytes at @off in
 * *@data (g_free it), *@len long. */
int pfs_ns_read(struct pfs_ns *ns, struct pfs_reader *reader,
		const struct pfs_ns_node *node, off_t off, size_t size,
		char **data, size_t *len);
void pfs_ns_file_free(struct pfs_ns_file *file);

/* For a read of @node, a `wait`: 0 and the answer (monitor.h) in *@answer
 * (g_free it) once the build is completed; -EAGAIN while it is not, or
 * while the service fails (a wait goes on through an outage); -ENOENT
 * when it is gone; -EINTR. */
int pfs_ns_wait_answer(struct pfs_ns *ns, struct pfs_reader *reader,
		       const struct pfs_ns_node *node, char **answer,
		       size_t *len);

#endif
