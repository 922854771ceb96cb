/* fs.c - see fs.h */
#include "fs.h"
#include "inode.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>

static struct pfs_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Open handles are tracked so that those still open when the session ends
 * (a lazy unmount, a signal) are freed too. */
enum handle_kind { HANDLE_FILE = 1, HANDLE_LISTING };

static void free_handle(void *handle, enum handle_kind kind)
{
	if (kind == HANDLE_FILE)
		pfs_ns_file_free(handle);
	else
		pfs_ns_listing_free(handle);
}

static void track_handle(struct pfs_fs *fs, void *handle, enum handle_kind kind)
{
	pthread_mutex_lock(&fs->lock);
	g_hash_table_insert(fs->open_handles, handle, GINT_TO_POINTER(kind));
	pthread_mutex_unlock(&fs->lock);
}

static void release_handle(struct pfs_fs *fs, void *handle)
{
	enum handle_kind kind;

	pthread_mutex_lock(&fs->lock);
	kind = GPOINTER_TO_INT(g_hash_table_lookup(fs->open_handles, handle));
	g_hash_table_remove(fs->open_handles, handle);
	pthread_mutex_unlock(&fs->lock);
	if (kind)
		free_handle(handle, kind);
}

void pfs_fs_init(struct pfs_fs *fs, struct pfs_ns *ns,
		 struct pfs_monitor *monitor)
{
	fs->ns = ns;
	fs->monitor = monitor;
	pthread_mutex_init(&fs->lock, NULL);
	fs->open_handles = g_hash_table_new(g_direct_hash, g_direct_equal);
}

bool pfs_fs_wants_parallel_dirops(void *fs)
{
	return ((struct pfs_fs *)fs)->parallel_dirops;
}

static void forget_in_kernel(const struct pfs_ns_node *node, void *arg)
{
	struct pfs_fs *fs = arg;
	struct pfs_ns_node dir = { .kind = PFS_NS_PIPELINE,
				   .pipeline = node->pipeline };

	if (node->kind == PFS_NS_LATEST) {	/* the name: it may mean another */
		fuse_lowlevel_notify_inval_entry(fs->se, pfs_ino_encode(&dir),
						 "latest", strlen("latest"));
		return;
	}
	/* attributes and pages; -ENOENT for inodes the kernel does not hold */
	fuse_lowlevel_notify_inval_inode(fs->se, pfs_ino_encode(node), 0, 0);
}

void pfs_fs_refresh(struct pfs_fs *fs)
{
	pfs_ns_drop_unfinished(fs->ns, forget_in_kernel, fs);
}

void pfs_fs_cleanup(struct pfs_fs *fs)
{
	GHashTableIter iter;
	gpointer handle, kind;

	if (!fs->open_handles)
		return;
	g_hash_table_iter_init(&iter, fs->open_handles);
	while (g_hash_table_iter_next(&iter, &handle, &kind))
		free_handle(handle, GPOINTER_TO_INT(kind));
	g_hash_table_destroy(fs->open_handles);
	fs->open_handles = NULL;
	pthread_mutex_destroy(&fs->lock);
}

/* A request that may wait for the API. A signal to the process that made
 * it makes the kernel send an interrupt: the reader is released at once
 * with EINTR (the request to the API goes on for the cache). */
struct waiting {
	struct pfs_reader reader;
	struct pfs_ns *ns;
};

static void on_interrupt(fuse_req_t req, void *data)
{
	struct waiting *w = data;

	(void)req;
	pfs_ns_interrupt(w->ns, &w->reader);
}

/* The reader's deadline counts from here. */
static struct pfs_reader *begin_wait(fuse_req_t req, struct waiting *w)
{
	w->ns = fs_of(req)->ns;
	pfs_ns_reader_init(w->ns, &w->reader);
	fuse_req_interrupt_func(req, on_interrupt, w);
	return &w->reader;
}

/* Call before replying: libfuse runs the interrupt callback under the
 * request's lock, which this takes, so none runs on @w after it. */
static void end_wait(fuse_req_t req)
{
	fuse_req_interrupt_func(req, NULL, NULL);
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param entry;
	struct pfs_ns_node dir, child;
	struct pfs_ns_attr attr;
	struct waiting w;
	int res = pfs_ino_decode(parent, &dir);

	if (res == 0) {
		res = pfs_ns_lookup(fs_of(req)->ns, begin_wait(req, &w), &dir,
				    name, &child, &attr);
		end_wait(req);
	}
	memset(&entry, 0, sizeof(entry));
	if (res == -ENOENT) {
		/* a negative entry: git, shells and file managers probe for
		 * names like .git again and again; the kernel answers them */
		entry.entry_timeout = pfs_ns_absence_timeout(fs_of(req)->ns);
		fuse_reply_entry(req, &entry);
		return;
	}
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	entry.ino = pfs_ino_encode(&child);
	entry.attr = attr.st;
	entry.attr.st_ino = entry.ino;
	entry.attr_timeout = attr.timeout;
	entry.entry_timeout = attr.entry_timeout;
	if (fuse_reply_entry(req, &entry) != 0)
		/* the kernel did not take it (interrupted meanwhile) */
		pfs_ns_forget(fs_of(req)->ns, &child, 1);
}

/* Inode numbers carry their meaning (inode.h); the lookup counts only
 * say which pipelines and builds the kernel still holds. */
static void forget_one(struct pfs_fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct pfs_ns_node node;

	if (pfs_ino_decode(ino, &node) == 0)
		pfs_ns_forget(fs->ns, &node, nlookup);
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		forget_one(fs_of(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pfs_ns_node node;
	struct pfs_ns_attr attr;
	struct waiting w;
	int res = pfs_ino_decode(ino, &node);

	(void)fi;
	if (res == 0) {
		res = pfs_ns_getattr(fs_of(req)->ns, begin_wait(req, &w), &node,
				     &attr);
		end_wait(req);
	}
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	attr.st.st_ino = ino;
	fuse_reply_attr(req, &attr.st, attr.timeout);
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct pfs_ns_node node;
	char *target = NULL;
	struct waiting w;
	int res = pfs_ino_decode(ino, &node);

	if (res == 0) {
		res = pfs_ns_readlink(fs_of(req)->ns, begin_wait(req, &w), &node,
				      &target);
		end_wait(req);
	}
	if (res < 0)
		fuse_reply_err(req, -res);
	else
		fuse_reply_readlink(req, target);
	g_free(target);
}

/* Kernels that can do without open and opendir are told so (fs_init):
 * then a warm read costs no round trip to the daemon at all, and the
 * kernel keeps pages and listings until the attributes say they changed
 * (a refresh gives every file of the build a new mtime). */
static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct pfs_fs *fs = userdata;

	fs->no_open = conn->capable & FUSE_CAP_NO_OPEN_SUPPORT;
	fs->no_opendir = conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT;
	/* links are kept: a "latest" node names the build it points at, so a
	 * new latest build is a new node (inode.h), and failed/'s targets
	 * follow from their names */
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	/* reads through the page cache (no open) come as background requests
	 * otherwise: a kernel sends at most max_background of those at once
	 * and cannot interrupt them, and a read of wait is answered only when
	 * its build completes. Synchronous reads can wait, any number, and a
	 * signal ends them. */
	conn->want &= ~FUSE_CAP_ASYNC_READ;
	/* lookups and listings of one directory run in parallel: without it
	 * the kernel serialises them, and one hung request stalls every
	 * lookup behind it (libfuse before 3.17.1 needs dirops.h for it) */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) {
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
		fs->parallel_dirops = true;
	}
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pfs_ns_listing *listing = NULL;
	struct pfs_ns_node node;
	struct waiting w;
	int res = pfs_ino_decode(ino, &node);

	if (fs_of(req)->no_opendir)
		res = -ENOSYS;	/* the kernel stops asking */
	if (res == 0) {
		res = pfs_ns_list(fs_of(req)->ns, begin_wait(req, &w), &node,
				  &listing);
		end_wait(req);
	}
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	/* the listing is taken once: a consistent copy for this reader */
	fi->fh = (uintptr_t)listing;
	/* a completed build's directories never change: the kernel may keep
	 * what it read of them (a warm crawl then never asks, and a cached
	 * build's tree need not be made again for it) */
	if (listing->build && listing->build->completed)
		fi->cache_readdir = fi->keep_cache = 1;
	track_handle(fs_of(req), listing, HANDLE_LISTING);
	if (fuse_reply_open(req, fi) == -ENOENT)
		release_handle(fs_of(req), listing);
}

/* One entry for readdirplus: everything the kernel needs to skip the
 * lookup, when the namespace knows it without a request; else ino 0,
 * which makes the kernel look it up itself when it is used. */
static void plus_entry(const struct pfs_ns_dirent *dirent,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->attr.st_mode = dirent->type;
	e->attr.st_ino = pfs_ino_encode(&dirent->node);
	if (!dirent->has_attr)
		return;
	e->ino = e->attr.st_ino;
	e->attr = dirent->attr.st;
	e->attr.st_ino = e->ino;
	e->attr_timeout = dirent->attr.timeout;
	e->entry_timeout = dirent->attr.entry_timeout;
}

static size_t add_dirent(fuse_req_t req, char *buf, size_t size,
			 const struct pfs_ns_listing *listing, size_t i, bool plus)
{
	const struct pfs_ns_dirent *dirent = &listing->entries[i];
	off_t next = pfs_ns_listing_offset(listing, i);
	struct fuse_entry_param e;

	plus_entry(dirent, &e);
	if (plus)
		return fuse_add_direntry_plus(req, buf, size, dirent->name, &e, next);
	return fuse_add_direntry(req, buf, size, dirent->name, &e.attr, next);
}

/* Puts the contents of a directory's small files in the kernel's page
 * cache, so that reading them (grep -r reads everything it lists) costs
 * no round trip. Called as the kernel asks for the end of the listing:
 * by then it has made inodes for the entries readdirplus gave it, and the
 * lister waits for our answer before it opens any of them. */
static void push_contents(struct pfs_fs *fs, const struct pfs_ns_listing *listing)
{
	size_t i;

	for (i = 0; i < listing->count; i++) {
		const struct pfs_ns_dirent *dirent = &listing->entries[i];
		struct fuse_bufvec buf = FUSE_BUFVEC_INIT(dirent->content_len);

		if (!dirent->content || !dirent->content_len || !dirent->has_attr)
			continue;
		buf.buf[0].mem = (void *)dirent->content;
		if (fuse_lowlevel_notify_store(fs->se, pfs_ino_encode(&dirent->node),
					       0, &buf, 0) < 0)
			return;	/* no inode (a plain readdir), or no support */
	}
}

/* Counts (@handed) or takes back a lookup of entries [@from, @to) that
 * readdirplus hands over with attributes. */
static void remember_entries(struct pfs_fs *fs,
			     const struct pfs_ns_listing *listing, size_t from,
			     size_t to, bool handed)
{
	size_t i;

	for (i = from; i < to; i++) {
		if (!listing->entries[i].has_attr)
			continue;
		if (handed)
			pfs_ns_remember(fs->ns, &listing->entries[i].node);
		else
			pfs_ns_forget(fs->ns, &listing->entries[i].node, 1);
	}
}

static void reply_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi, bool plus)
{
	struct pfs_ns_listing *listing = (struct pfs_ns_listing *)(uintptr_t)fi->fh;
	struct pfs_fs *fs = fs_of(req);
	struct pfs_ns_listing *taken = NULL;
	struct pfs_ns_node node;
	struct waiting w;
	char *buf;
	size_t used = 0, first, i;
	int res = 0;

	if (!listing) {		/* no opendir: list now */
		res = pfs_ino_decode(ino, &node);
		if (res == 0) {
			struct pfs_reader *reader = begin_wait(req, &w);

			/* the rest of a listing: what is there now, no wait
			 * (the first part waited its time already; each part
			 * waiting anew would make ls wait timeout per getdents) */
			if (off != 0)
				reader->deadline = 0;
			res = pfs_ns_list(fs->ns, reader, &node, &taken);
			end_wait(req);
		}
		if (res < 0) {
			fuse_reply_err(req, -res);
			return;
		}
		listing = taken;
	}
	/* offsets name entries (namespace.h): the listing may have changed
	 * since the kernel's last call, and no entry must be lost for it */
	first = i = pfs_ns_listing_seek(listing, off);
	if (i >= listing->count)
		push_contents(fs, listing);
	buf = g_malloc(size);
	for (; i < listing->count; i++) {
		size_t len = add_dirent(req, buf + used, size - used, listing, i, plus);

		if (len > size - used)
			break;
		used += len;
	}
	/* the kernel counts a lookup of each entry handed over with its
	 * attributes (not "." and "..", which have none) */
	if (plus)
		remember_entries(fs, listing, first, i, true);
	if (fuse_reply_buf(req, buf, used) != 0 && plus)
		remember_entries(fs, listing, first, i, false);
	g_free(buf);
	pfs_ns_listing_free(taken);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	reply_dir(req, ino, size, off, fi, false);
}

static void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	reply_dir(req, ino, size, off, fi, true);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	(void)ino;
	release_handle(fs_of(req), (void *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pfs_ns_file *file = NULL;
	struct pfs_ns_node node;
	struct waiting w;
	int res = pfs_ino_decode(ino, &node);

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		res = -EROFS;
	else if (fs_of(req)->no_open)
		res = -ENOSYS;	/* the kernel stops asking */
	if (res == 0) {
		res = pfs_ns_open(fs_of(req)->ns, begin_wait(req, &w), &node,
				  &file);
		end_wait(req);
	}
	if (res < 0) {
		fuse_reply_err(req, -res);
		return;
	}
	if (!file) {	/* live: every read comes here, as it is then */
		fi->direct_io = 1;
		fi->fh = 0;
		fuse_reply_open(req, fi);
		return;
	}
	/* a file that can still change is read through to us on every
	 * read, so cat never sees stale pages; one that cannot, stays cached */
	fi->direct_io = file->volatile_content;
	fi->keep_cache = !file->volatile_content;
	fi->fh = (uintptr_t)file;
	track_handle(fs_of(req), file, HANDLE_FILE);
	if (fuse_reply_open(req, fi) == -ENOENT)
		release_handle(fs_of(req), file);
}

/* A read of wait: answered now if the build is completed (or gone),
 * else stored by the monitor and answered when it completes. */
static void read_wait(fuse_req_t req, const struct pfs_ns_node *node,
		      size_t size, off_t off)
{
	struct waiting w;
	char *answer = NULL;
	size_t len = 0;
	int res = pfs_ns_wait_answer(fs_of(req)->ns, begin_wait(req, &w), node,
				     &answer, &len);

	end_wait(req);
	if (res == -EAGAIN) {
		pfs_monitor_park(fs_of(req)->monitor, req, node->build, off, size);
		return;
	}
	if (res < 0)
		fuse_reply_err(req, -res);
	else if (off >= 0 && (size_t)off < len)
		fuse_reply_buf(req, answer + off, MIN(size, len - (size_t)off));
	else
		fuse_reply_buf(req, NULL, 0);
	g_free(answer);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct pfs_ns_file *file = (struct pfs_ns_file *)(uintptr_t)fi->fh;
	struct pfs_ns_node node;
	struct waiting w;
	char *copy = NULL;
	size_t len = 0;
	int res = 0;

	if (file) {
		if (off >= 0 && (size_t)off < file->len) {
			len = file->len - (size_t)off < size ? file->len - (size_t)off
							      : size;
			/* once the kernel has the reply it may release the file
			 * on another thread: reply from our own copy */
			copy = g_memdup2(file->content + off, len);
		}
	} else {		/* no open: read the node as it is now */
		res = pfs_ino_decode(ino, &node);
		if (res == 0 && node.kind == PFS_NS_WAIT) {
			read_wait(req, &node, size, off);
			return;
		}
		if (res == 0) {
			res = pfs_ns_read(fs_of(req)->ns, begin_wait(req, &w), &node,
					  off, size, &copy, &len);
			end_wait(req);
		}
	}
	if (res < 0)
		fuse_reply_err(req, -res);
	else
		fuse_reply_buf(req, copy, len);
	g_free(copy);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	release_handle(fs_of(req), (void *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* Everything that would change the tree: it is a read-only view. */
static void reply_erofs(fuse_req_t req)
{
	fuse_reply_err(req, EROFS);
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	(void)ino, (void)attr, (void)to_set, (void)fi;
	reply_erofs(req);
}

static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	(void)parent, (void)name, (void)mode, (void)rdev;
	reply_erofs(req);
}

static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	reply_erofs(req);
}

static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent, (void)name;
	reply_erofs(req);
}

static void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	(void)link, (void)parent, (void)name;
	reply_erofs(req);
}

static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	(void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
	reply_erofs(req);
}

static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	reply_erofs(req);
}

static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	(void)parent, (void)name, (void)mode, (void)fi;
	reply_erofs(req);
}

static void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	(void)ino, (void)name, (void)value, (void)size, (void)flags;
	reply_erofs(req);
}

static void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino, (void)name;
	reply_erofs(req);
}

const struct fuse_lowlevel_ops pfs_fs_ops = {
	.lookup = fs_lookup,
	.forget = fs_forget,
	.forget_multi = fs_forget_multi,
	.getattr = fs_getattr,
	.readlink = fs_readlink,
	.init = fs_init,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.readdirplus = fs_readdirplus,
	.releasedir = fs_releasedir,
	.open = fs_open,
	.read = fs_read,
	.release = fs_release,
	.setattr = fs_setattr,
	.mknod = fs_mknod,
	.mkdir = fs_mkdir,
	.unlink = fs_unlink,
	.rmdir = fs_unlink,
	.symlink = fs_symlink,
	.rename = fs_rename,
	.link = fs_link,
	.create = fs_create,
	.setxattr = fs_setxattr,
	.removexattr = fs_removexattr,
};
