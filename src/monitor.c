/* monitor.c - see monitor.h */
#include "monitor.h"
#include "inode.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <stdlib.h>
#include <unistd.h>

struct waiter {
	fuse_req_t req;
	struct pfs_monitor *m;
	uint32_t slot;
	off_t off;
	size_t size;
	bool parked;		/* in the table (or taken out of it) */
	bool interrupted;	/* while being parked: park() replies EINTR */
	bool taken;		/* out of the table: its taker replies */
};

struct pfs_monitor {
	struct pfs_cache *cache;
	struct fuse_session *se;
	pthread_mutex_t lock;		/* guards waiters, ended */
	GHashTable *waiters;		/* build slot -> GList of struct waiter */
	int ended;			/* errno new waiters get: the mount is gone */
	pthread_mutex_t queue_lock;	/* a leaf: taken under the cache's lock */
	GQueue changes;			/* of struct pfs_cache_change */
	int wake_fd;			/* eventfd: a change, or stop */
	int mountinfo_fd;		/* /proc/self/mountinfo, or -1 */
	char mount_dev[32];		/* "major:minor" of our mount */
	bool stop;
	pthread_t thread;
	bool started;
};

char *pfs_monitor_answer(const struct pfs_build *build, size_t *len)
{
	char *answer = g_strconcat(build->outcome && build->outcome[0]
				   ? build->outcome : "unknown", "\n", NULL);

	*len = strlen(answer);
	return answer;
}

int pfs_monitor_new(struct pfs_cache *cache, struct pfs_monitor **out)
{
	struct pfs_monitor *m = g_new0(struct pfs_monitor, 1);

	m->cache = cache;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->queue_lock, NULL);
	m->waiters = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_queue_init(&m->changes);
	m->mountinfo_fd = -1;
	m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->wake_fd < 0) {
		pfs_monitor_free(m);
		return -errno;
	}
	*out = m;
	return 0;
}

static void wake(struct pfs_monitor *m)
{
	uint64_t one = 1;

	if (write(m->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pfs_log_warn("monitor: cannot wake its thread: %s", strerror(errno));
}

/* The change hook: under the cache's lock, so only queues. */
static void on_change(struct pfs_cache_change *change, void *arg)
{
	struct pfs_monitor *m = arg;

	pthread_mutex_lock(&m->queue_lock);
	g_queue_push_tail(&m->changes, change);
	pthread_mutex_unlock(&m->queue_lock);
	wake(m);
}

/* ---- waiters ------------------------------------------------------------ */

static void reply_answer(struct waiter *w, const struct pfs_build *build)
{
	size_t len;
	char *answer = pfs_monitor_answer(build, &len);

	if (w->off < 0 || (size_t)w->off >= len)
		fuse_reply_buf(w->req, NULL, 0);
	else
		fuse_reply_buf(w->req, answer + w->off,
			       MIN(w->size, len - (size_t)w->off));
	g_free(answer);
}

/* Replies to @w, out of the table: with @build's answer, or -@err. */
static void finish(struct waiter *w, const struct pfs_build *build, int err)
{
	/* no interrupt callback runs on @w once this returns */
	fuse_req_interrupt_func(w->req, NULL, NULL);
	if (build)
		reply_answer(w, build);
	else
		fuse_reply_err(w->req, -err);
	pfs_stats_waiters_add(-1);
	g_free(w);
}

/* Takes the waiters of @slot out of the table (all, when @slot is
 * PFS_CACHE_NO_SLOT). */
static GList *take(struct pfs_monitor *m, uint32_t slot)
{
	GList *taken = NULL, *list, *l;
	GHashTableIter iter;
	gpointer value;

	pthread_mutex_lock(&m->lock);
	if (slot == PFS_CACHE_NO_SLOT) {
		g_hash_table_iter_init(&iter, m->waiters);
		while (g_hash_table_iter_next(&iter, NULL, &value))
			taken = g_list_concat(taken, value);
		g_hash_table_remove_all(m->waiters);
	} else if (g_hash_table_steal_extended(m->waiters, GUINT_TO_POINTER(slot),
					       NULL, (gpointer *)&list)) {
		taken = list;
	}
	for (l = taken; l; l = l->next)
		((struct waiter *)l->data)->taken = true;
	pthread_mutex_unlock(&m->lock);
	return taken;
}

static void finish_all(GList *taken, const struct pfs_build *build, int err)
{
	GList *l;

	for (l = taken; l; l = l->next)
		finish(l->data, build, err);
	g_list_free(taken);
}

/* Answers the waiters of @slot if its build is completed or gone. */
static void settle(struct pfs_monitor *m, uint32_t slot)
{
	struct pfs_build *build;
	int res = pfs_cache_peek_build(m->cache, slot, &build);

	if (res == -ENOENT)
		finish_all(take(m, slot), NULL, -ENOENT);
	else if (res == 0 && build->completed)
		finish_all(take(m, slot), build, 0);
	pfs_build_unref(build);
}

/* The kernel interrupted a waiter (Ctrl-C): on libfuse's thread as the
 * interrupt arrives, which may reply (libfuse holds the request for it);
 * or inside pfs_monitor_park()'s registration, which must not (libfuse
 * unlocks the request after), so only marks it. */
static void on_interrupt(fuse_req_t req, void *data)
{
	struct waiter *w = data;
	struct pfs_monitor *m = w->m;
	GList *list;

	pthread_mutex_lock(&m->lock);
	if (!w->parked) {	/* being parked: park() replies */
		w->interrupted = true;
		pthread_mutex_unlock(&m->lock);
		return;
	}
	if (w->taken) {		/* its taker replies */
		pthread_mutex_unlock(&m->lock);
		return;
	}
	list = g_hash_table_lookup(m->waiters, GUINT_TO_POINTER(w->slot));
	list = g_list_remove(list, w);
	if (list)
		g_hash_table_insert(m->waiters, GUINT_TO_POINTER(w->slot), list);
	else
		g_hash_table_remove(m->waiters, GUINT_TO_POINTER(w->slot));
	pthread_mutex_unlock(&m->lock);
	/* replying here is what libfuse allows: the request is ours */
	fuse_reply_err(req, EINTR);
	pfs_stats_waiters_add(-1);
	g_free(w);
}

void pfs_monitor_park(struct pfs_monitor *m, fuse_req_t req,
		      uint32_t build_slot, off_t off, size_t size)
{
	struct waiter *w = g_new0(struct waiter, 1);
	GList *list;
	int ended;

	w->req = req;
	w->m = m;
	w->slot = build_slot;
	w->off = off;
	w->size = size;
	/* first the interrupt, then the table: nobody else can reply to it
	 * before this returns (on_interrupt only marks it meanwhile) */
	fuse_req_interrupt_func(req, on_interrupt, w);
	pthread_mutex_lock(&m->lock);
	ended = w->interrupted ? EINTR : m->ended;
	if (!ended) {
		w->parked = true;
		list = g_hash_table_lookup(m->waiters, GUINT_TO_POINTER(build_slot));
		g_hash_table_insert(m->waiters, GUINT_TO_POINTER(build_slot),
				    g_list_prepend(list, w));
		pfs_stats_waiters_add(1);
	}
	pthread_mutex_unlock(&m->lock);
	if (ended) {
		fuse_req_interrupt_func(req, NULL, NULL);
		fuse_reply_err(req, ended);
		g_free(w);
		return;
	}
	/* from here on @w may be answered, and freed, by another thread */
	/* it may have completed between the read's look and now */
	settle(m, build_slot);
	pfs_cache_refresh_build(m->cache, build_slot);
}

/* ---- the thread --------------------------------------------------------- */

/* Drops the kernel's attributes and pages of what changed at
 * @change->changed_ns in @change->build. */
static void tell_kernel(struct pfs_monitor *m,
			const struct pfs_cache_change *change)
{
	const struct pfs_build *build = change->build;
	struct pfs_ns_node node = { .kind = PFS_NS_BUILD,
				    .build = change->build_slot };
	uint32_t i;

	for (i = 0; i < build->n_nodes; i++) {
		if (pfs_build_node_ns(build, i) != change->changed_ns)
			continue;
		node.path_hash = build->nodes[i].path_hash;
		/* -ENOENT: the kernel does not hold it, nothing to drop */
		if (fuse_lowlevel_notify_inval_inode(m->se, pfs_ino_encode(&node),
						     0, 0) == 0)
			pfs_stats_notification();
	}
}

/* The pipeline's "latest" now names another build (another node): the
 * kernel's name for it goes, so the next look finds the new one. */
static void forget_latest(struct pfs_monitor *m, uint32_t pipeline_slot)
{
	struct pfs_ns_node dir = { .kind = PFS_NS_PIPELINE,
				   .pipeline = pipeline_slot };

	if (fuse_lowlevel_notify_inval_entry(m->se, pfs_ino_encode(&dir), "latest",
					     strlen("latest")) == 0)
		pfs_stats_notification();
}

static void handle(struct pfs_monitor *m, struct pfs_cache_change *change)
{
	if (change->build_slot == PFS_CACHE_NO_SLOT) {
		forget_latest(m, change->pipeline_slot);
		goto out;
	}
	if (!change->build) {
		finish_all(take(m, change->build_slot), NULL, -ENOENT);
		goto out;
	}
	if (!change->first_seen)
		tell_kernel(m, change);
	if (change->build->completed)
		finish_all(take(m, change->build_slot), change->build, 0);
out:
	pfs_build_unref(change->build);
	g_free(change);
}

static void drain(struct pfs_monitor *m)
{
	struct pfs_cache_change *change;
	uint64_t count;

	if (read(m->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		pfs_log_debug("monitor: eventfd: %s", strerror(errno));
	for (;;) {
		pthread_mutex_lock(&m->queue_lock);
		change = g_queue_pop_head(&m->changes);
		pthread_mutex_unlock(&m->queue_lock);
		if (!change)
			return;
		handle(m, change);
	}
}

/* Each build waited on: refreshed when stale, settled if it is done. */
static void tick(struct pfs_monitor *m)
{
	GList *slots, *l;

	pthread_mutex_lock(&m->lock);
	slots = g_hash_table_get_keys(m->waiters);
	pthread_mutex_unlock(&m->lock);
	for (l = slots; l; l = l->next) {
		pfs_cache_refresh_build(m->cache, GPOINTER_TO_UINT(l->data));
		settle(m, GPOINTER_TO_UINT(l->data));
	}
	g_list_free(slots);
}

/* Whether our mount is still in the mount table: a lazy unmount takes it
 * out at once, but the kernel keeps the session while files are open, so
 * waiters would wait for ever. */
static bool still_mounted(struct pfs_monitor *m)
{
	char *text = NULL, *needle;
	gsize len;
	bool found;

	if (!g_file_get_contents("/proc/self/mountinfo", &text, &len, NULL))
		return true;
	needle = g_strdup_printf(" %s ", m->mount_dev);
	found = strstr(text, needle) != NULL;
	g_free(needle);
	g_free(text);
	return found;
}

/* Returns how many were ended. */
static unsigned end_waiters(struct pfs_monitor *m, int err)
{
	GList *taken;
	unsigned n;

	pthread_mutex_lock(&m->lock);
	m->ended = err;
	pthread_mutex_unlock(&m->lock);
	taken = take(m, PFS_CACHE_NO_SLOT);
	n = g_list_length(taken);
	finish_all(taken, NULL, -err);
	return n;
}

static void *run(void *arg)
{
	struct pfs_monitor *m = arg;
	double next_tick = g_get_monotonic_time() / 1e6 + PFS_MONITOR_TICK;

	while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd fds[2] = {
			{ .fd = m->wake_fd, .events = POLLIN },
			{ .fd = m->mountinfo_fd, .events = POLLPRI },
		};
		double now = g_get_monotonic_time() / 1e6;
		int wait_ms = next_tick > now ? (int)((next_tick - now) * 1000) + 1 : 0;

		if (poll(fds, m->mountinfo_fd >= 0 ? 2 : 1, wait_ms) < 0 &&
		    errno != EINTR)
			break;
		if (fds[0].revents & POLLIN)
			drain(m);
		if ((fds[1].revents & (POLLPRI | POLLERR)) && !still_mounted(m)) {
			unsigned n = end_waiters(m, ENOTCONN);

			if (n)
				pfs_log_info("unmounted: ended %u reads of wait", n);
			close(m->mountinfo_fd);
			m->mountinfo_fd = -1;
		}
		now = g_get_monotonic_time() / 1e6;
		if (now >= next_tick) {
			tick(m);
			next_tick = now + PFS_MONITOR_TICK;
		}
	}
	return NULL;
}

/* The "major:minor" of the mount on @mountpoint, from the mount table:
 * a stat() of it would be a request to ourselves, before we serve. */
static bool find_mount_dev(const char *mountpoint, char *dev, size_t size)
{
	char *text = NULL, **lines, **line, *path = realpath(mountpoint, NULL);
	bool found = false;

	if (!path || !g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL)) {
		free(path);
		return false;
	}
	lines = g_strsplit(text, "\n", -1);
	for (line = lines; *line; line++) {
		/* id parent major:minor root mountpoint ... (octal escapes) */
		char **fields = g_strsplit(*line, " ", 6);
		char *point = g_strv_length(fields) >= 5 ? g_strcompress(fields[4]) : NULL;

		if (point && strcmp(point, path) == 0) {
			snprintf(dev, size, "%s", fields[2]);
			found = true;	/* the last one is on top */
		}
		g_free(point);
		g_strfreev(fields);
	}
	g_strfreev(lines);
	g_free(text);
	free(path);
	return found;
}

int pfs_monitor_start(struct pfs_monitor *m, struct fuse_session *se,
		      const char *mountpoint)
{
	int res;

	m->se = se;
	if (find_mount_dev(mountpoint, m->mount_dev, sizeof(m->mount_dev)))
		m->mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (m->mountinfo_fd < 0)
		pfs_log_warn("cannot watch the mount table: a lazy unmount will "
			     "not end reads of wait");
	pfs_cache_set_change_hook(m->cache, on_change, m);
	res = pthread_create(&m->thread, NULL, run, m);
	if (res != 0)
		return -res;
	m->started = true;
	return 0;
}

void pfs_monitor_stop(struct pfs_monitor *m, int err)
{
	if (!m)
		return;
	if (m->started) {
		__atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
		wake(m);
		pthread_join(m->thread, NULL);
		m->started = false;
	}
	end_waiters(m, err);
}

void pfs_monitor_free(struct pfs_monitor *m)
{
	struct pfs_cache_change *change;

	if (!m)
		return;
	while ((change = g_queue_pop_head(&m->changes))) {
		pfs_build_unref(change->build);
		g_free(change);
	}
	if (m->mountinfo_fd >= 0)
		close(m->mountinfo_fd);
	if (m->wake_fd >= 0)
		close(m->wake_fd);
	g_hash_table_destroy(m->waiters);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->queue_lock);
	g_free(m);
}
