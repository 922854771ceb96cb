/* main.c - pipelinefs: mount CodeArts Pipeline build status as files.
 *
 * Parses the command line, builds the modules bottom up (HTTP client,
 * credentials, API, cache, namespace, inode table), mounts, and runs the
 * multi-threaded FUSE loop until unmounted or signalled.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "auth.h"
#include "cache.h"
#include "dirops.h"
#include "fs.h"
#include "http.h"
#include "limiter.h"
#include "log.h"
#include "monitor.h"
#include "namespace.h"
#include "options.h"

struct daemon {
	struct pfs_options opts;
	struct fuse_cmdline_opts cmdline;
	struct pfs_auth *auth;
	struct pfs_http *http;
	struct pfs_limiter *limiter;
	struct pfs_backend *backend;
	struct pfs_cache *cache;
	struct pfs_ns *ns;
	struct pfs_monitor *monitor;
	struct pfs_fs fs;
	struct fuse_session *se;
	bool signals_set;
	int stopping;		/* atomic: the session is over */
	sem_t hup_sem;
	pthread_t hup_thread;
	bool hup_thread_started;
};

static int build_modules(struct daemon *d)
{
	struct pfs_cache_config config = {
		.ttl = d->opts.ttl,
		.timeout = d->opts.timeout,
		.max_bytes = (size_t)(d->opts.cache_mib * 1024 * 1024),
		.workers = d->opts.max_requests,
		.prefetch = d->opts.prefetch,
		.tz = d->opts.timezone,
		.list_ttl = d->opts.list_ttl,
		.history_days = d->opts.history_days,
		.projects = d->opts.projects,
		.fixed_root = d->opts.pipelines[0] != NULL,
	};
	char err[512];
	char **id;

	if (pfs_http_new((long)(d->opts.timeout * 1000),
			 (long)d->opts.max_requests, &d->http) < 0) {
		fprintf(stderr, "pipelinefs: out of memory\n");
		return -1;
	}
	if (d->opts.cacert)
		pfs_http_set_cacert(d->http, d->opts.cacert);
	if (pfs_auth_new(&d->opts, d->http, &d->auth, err, sizeof(err)) < 0) {
		fprintf(stderr, "pipelinefs: %s\n", err);
		return -1;
	}
	if (pfs_limiter_new(d->opts.max_requests, d->opts.rate, &d->limiter) < 0 ||
	    pfs_backend_new(&(struct pfs_backend_config){
				    .endpoint = d->opts.endpoint,
				    .api = (enum pfs_api_version)d->opts.api,
				    .project_id = d->opts.project_id,
				    .tz = d->opts.timezone },
			    d->http, d->auth, d->limiter, &d->backend) < 0 ||
	    pfs_cache_new(d->backend, &config, &d->cache) < 0 ||
	    pfs_monitor_new(d->cache, &d->monitor) < 0 ||
	    pfs_ns_new(d->cache, d->opts.ttl, &d->ns) < 0) {
		fprintf(stderr, "pipelinefs: out of memory\n");
		return -1;
	}
	for (id = d->opts.pipelines; *id; id++)
		pfs_cache_list_pipeline(d->cache, *id);
	pfs_fs_init(&d->fs, d->ns, d->monitor);
	return 0;
}

static void free_modules(struct daemon *d)
{
	pfs_fs_cleanup(&d->fs);
	pfs_ns_free(d->ns);
	pfs_cache_free(d->cache);
	pfs_monitor_free(d->monitor);
	pfs_backend_free(d->backend);
	pfs_limiter_free(d->limiter);
	pfs_auth_free(d->auth);
	pfs_http_free(d->http);
}

static int run_loop(struct daemon *d, struct fuse_session *se)
{
	struct fuse_loop_config *config;
	int res;

	if (d->cmdline.singlethread)
		return fuse_session_loop(se);
	config = fuse_loop_cfg_create();
	fuse_loop_cfg_set_clone_fd(config, (unsigned)d->cmdline.clone_fd);
	fuse_loop_cfg_set_max_threads(config, d->cmdline.max_threads);
	/* UINT_MAX means "not given": leave libfuse's default */
	if (d->cmdline.max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(config, d->cmdline.max_idle_threads);
	res = fuse_session_loop_mt(se, config);
	fuse_loop_cfg_destroy(config);
	return res;
}

/* SIGHUP asks for fresh data instead of ending the session as libfuse's
 * handler would. The handler only posts a semaphore; a thread of ours
 * does the work, which takes locks and talks to the kernel. */
static sem_t *hup_sem;

static void on_sighup(int sig)
{
	(void)sig;
	sem_post(hup_sem);
}

static void *refresh_on_hup(void *arg)
{
	struct daemon *d = arg;

	for (;;) {
		while (sem_wait(&d->hup_sem) != 0)
			;
		if (__atomic_load_n(&d->stopping, __ATOMIC_ACQUIRE))
			return NULL;
		pfs_fs_refresh(&d->fs);
	}
}

static int start_hup_thread(struct daemon *d)
{
	struct sigaction sa = { .sa_handler = on_sighup };

	if (sem_init(&d->hup_sem, 0, 0) != 0 ||
	    pthread_create(&d->hup_thread, NULL, refresh_on_hup, d) != 0)
		return -1;
	d->hup_thread_started = true;
	hup_sem = &d->hup_sem;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	return sigaction(SIGHUP, &sa, NULL);
}

/* Ends everything that runs beside the session: the SIGHUP thread, and
 * (through stopping) requests and waits in progress, before the session
 * they look at is destroyed. */
static void stop_background(struct daemon *d)
{
	__atomic_store_n(&d->stopping, 1, __ATOMIC_RELEASE);
	if (d->hup_thread_started) {
		signal(SIGHUP, SIG_IGN);
		sem_post(&d->hup_sem);
		pthread_join(d->hup_thread, NULL);
		sem_destroy(&d->hup_sem);
		d->hup_thread_started = false;
	}
}

static bool should_stop(void *arg)
{
	struct daemon *d = arg;

	return __atomic_load_n(&d->stopping, __ATOMIC_ACQUIRE) ||
	       fuse_session_exited(d->se);
}

/* Mounts and serves until unmounted or signalled; leaves d->se for main()
 * to destroy once nothing looks at it any more. Returns the exit status:
 * 0 when unmounted or stopped by a signal. */
static int serve(struct daemon *d, struct fuse_args *args)
{
	int res = 1;

	d->se = fuse_session_new(args, &pfs_fs_ops, sizeof(pfs_fs_ops), &d->fs);
	if (!d->se)
		return 1;
	d->fs.se = d->se;
	if (fuse_set_signal_handlers(d->se) != 0)
		return 1;
	d->signals_set = true;
	/* requests and waits in progress end when the session does */
	pfs_http_set_stop(d->http, should_stop, d);
	pfs_limiter_set_stop(d->limiter, should_stop, d);
	pfs_cache_set_stop(d->cache, should_stop, d);
	if (fuse_session_mount(d->se, d->cmdline.mountpoint) != 0)
		return 1;
	if (pfs_dirops_install(d->se, pfs_fs_wants_parallel_dirops, &d->fs) < 0)
		pfs_log_warn("lookups in one directory will run one at a time");
	/* threads do not survive the fork of fuse_daemonize() */
	if (fuse_daemonize(d->cmdline.foreground) != 0 || start_hup_thread(d) != 0 ||
	    pfs_monitor_start(d->monitor, d->se, d->cmdline.mountpoint) < 0)
		goto out_mount;
	pfs_auth_start(d->auth);
	pfs_log_info("mounted %s on %s", d->opts.endpoint, d->cmdline.mountpoint);
	if (d->opts.cacert && g_str_has_prefix(d->opts.endpoint, "https://"))
		pfs_log_info("TLS: servers checked against %s (from %s)",
			     d->opts.cacert, d->opts.cacert_source);
	/* a positive result is the signal that ended the loop: a clean stop */
	res = run_loop(d, d->se) < 0 ? 1 : 0;
out_mount:
	/* reads of wait end before the session does (they hold no thread:
	 * nothing else would answer them) */
	pfs_monitor_stop(d->monitor, ENOTCONN);
	fuse_session_unmount(d->se);
	return res;
}

static void end_session(struct daemon *d)
{
	if (!d->se)
		return;
	if (d->signals_set)
		fuse_remove_signal_handlers(d->se);
	fuse_session_destroy(d->se);
	d->se = NULL;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct daemon d;
	int res;

	memset(&d, 0, sizeof(d));
	/* glibc gives each thread that allocates its own arena, and each keeps
	 * freed memory: with 64 FUSE threads and the workers that was about a
	 * third of the daemon's RSS. Two arenas keep contention low enough. */
	mallopt(M_ARENA_MAX, 2);
	res = pfs_options_parse(&args, &d.opts, &d.cmdline);
	if (res != 0) {
		res = res > 0 ? 0 : 1;
		goto out_options;
	}
	res = 1;
	pfs_log_init(d.cmdline.foreground, d.cmdline.debug);
	if (pfs_http_global_init() < 0)
		goto out_options;
	if (build_modules(&d) == 0)
		res = serve(&d, &args);
	stop_background(&d);
	free_modules(&d);
	end_session(&d);
	pfs_http_global_cleanup();
out_options:
	free(d.cmdline.mountpoint);
	pfs_options_free(&d.opts);
	fuse_opt_free_args(&args);
	return res;
}
