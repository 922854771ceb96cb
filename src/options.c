/* options.c - see options.h */
#include "options.h"
#include "apitime.h"
#include "backend.h"
#include "names.h"
#include "region.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_TTL 5.0
#define DEFAULT_TIMEOUT 30.0
#define DEFAULT_MAX_REQUESTS 8
#define DEFAULT_CACHE_MIB 64.0
#define DEFAULT_LIST_TTL 60.0
#define DEFAULT_HISTORY_DAYS 7
/* Requests that hang hold a thread each: keep enough for the rest. */
#define DEFAULT_MAX_THREADS "-omax_threads=64"

enum { KEY_HELP, KEY_VERSION, KEY_TOKEN, KEY_SECRET };

#define PFS_OPT(name, field) \
	{ name "=%s", offsetof(struct pfs_options, field), 0 }, \
	{ "--" name "=%s", offsetof(struct pfs_options, field), 0 }

static const struct fuse_opt option_table[] = {
	PFS_OPT("endpoint", endpoint),
	PFS_OPT("token_file", token_file),
	PFS_OPT("pipelines", pipelines_text),
	PFS_OPT("ttl", ttl_text),
	PFS_OPT("timeout", timeout_text),
	PFS_OPT("max_requests", max_requests_text),
	PFS_OPT("rate", rate_text),
	PFS_OPT("cache_size", cache_size_text),
	PFS_OPT("prefetch", prefetch_text),
	PFS_OPT("timezone", timezone_text),
	/* net */
	PFS_OPT("region", region),
	PFS_OPT("iam_endpoint", iam_endpoint),
	PFS_OPT("cacert", cacert),
	/* lead: the account */
	PFS_OPT("projects", projects_text),
	PFS_OPT("list_ttl", list_ttl_text),
	PFS_OPT("history", history_text),
	PFS_OPT("api", api_text),
	PFS_OPT("project_id", project_id),
	/* a token on the command line would show in ps and shell history */
	FUSE_OPT_KEY("token=", KEY_TOKEN),
	FUSE_OPT_KEY("--token=", KEY_TOKEN),
	/* auth: files and names only; keys and passwords never as options */
	PFS_OPT("credentials_file", credentials_file),
	PFS_OPT("iam_user", iam_user),
	PFS_OPT("iam_domain", iam_domain),
	PFS_OPT("iam_password_file", iam_password_file),
	FUSE_OPT_KEY("sk=", KEY_SECRET),
	FUSE_OPT_KEY("--sk=", KEY_SECRET),
	FUSE_OPT_KEY("ak=", KEY_SECRET),
	FUSE_OPT_KEY("--ak=", KEY_SECRET),
	FUSE_OPT_KEY("security_token=", KEY_SECRET),
	FUSE_OPT_KEY("--security_token=", KEY_SECRET),
	FUSE_OPT_KEY("password=", KEY_SECRET),
	FUSE_OPT_KEY("--password=", KEY_SECRET),
	FUSE_OPT_KEY("iam_password=", KEY_SECRET),
	FUSE_OPT_KEY("--iam_password=", KEY_SECRET),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END
};

static void print_usage(const char *progname)
{
	printf("usage: %s [options] [ENDPOINT] MOUNTPOINT\n\n"
	       "Mounts Huawei Cloud CodeArts Pipeline build status as files.\n\n"
	       "pipelinefs options (each also as --NAME=VALUE):\n"
	       "    -o endpoint=URL        API base URL, e.g.\n"
	       "                           https://cloudpipeline-ext.cn-north-4.myhuaweicloud.com\n"
	       "                           (or ENDPOINT, or $PIPELINEFS_ENDPOINT, or\n"
	       "                           the region's)\n"
	       "    -o token_file=PATH     file holding the IAM token, re-read when it\n"
	       "                           changes (or the token in $PIPELINEFS_TOKEN)\n"
	       "    -o credentials_file=PATH  AK/SK in the SDKs' INI file ([basic] ak,\n"
	       "                           sk, security_token), re-read when it changes\n"
	       "                           (or $HUAWEICLOUD_SDK_AK/_SK/_SECURITY_TOKEN,\n"
	       "                           or $HUAWEICLOUD_SDK_CREDENTIALS_FILE, or\n"
	       "                           ~/.huaweicloud/credentials)\n"
	       "    -o iam_user=NAME,iam_domain=ACCOUNT,iam_password_file=PATH\n"
	       "                           ask IAM for a token with this user's password\n"
	       "                           (the first line of PATH), renewed before it\n"
	       "                           expires\n"
	       "    -o pipelines=ID[:ID]   pipelines listed at the root (default:\n"
	       "                           every pipeline the account can see)\n"
	       "    -o projects=ID[:ID]    only the pipelines of these CodeArts\n"
	       "                           projects\n"
	       "    -o list_ttl=SECONDS    freshness of the pipeline list and of\n"
	       "                           build history (1-86400, default: 60)\n"
	       "    -o history=DAYS        days of builds listed in a pipeline\n"
	       "                           (0-366, default: 7; 0: only those seen)\n"
	       "    -o api=v3|v5|auto      the API builds are read with (default:\n"
	       "                           auto: v5 where the pipeline's CodeArts\n"
	       "                           project is known, else v3)\n"
	       "    -o project_id=ID       the CodeArts project of pipelines nothing\n"
	       "                           else places (v5 paths need it)\n"
	       "    -o ttl=SECONDS         freshness of unfinished builds and of\n"
	       "                           'latest' (1-86400, default: 5)\n"
	       "    -o timeout=SECONDS     limit of one HTTP request, and of all a\n"
	       "                           read waits for (default: 30)\n"
	       "    -o max_requests=N      requests in flight at most (default: 8)\n"
	       "    -o rate=N              requests per second at most (default: no\n"
	       "                           limit)\n"
	       "    -o cache_size=MIB      memory for cached builds (default: 64)\n"
	       "    -o prefetch=0|1        start the requests a listing's children\n"
	       "                           need before they are read (default: 1)\n"
	       "    -o timezone=ZONE       zone of the API's times (UTC, +05:30,\n"
	       "                           Asia/Shanghai; default: +08:00)\n"
	       "    -o region=NAME         Huawei Cloud region, e.g. cn-north-4: the\n"
	       "                           API host (unless an endpoint is given) and\n"
	       "                           the IAM host\n"
	       "    -o iam_endpoint=URL    IAM base URL (default: the region's,\n"
	       "                           https://iam.REGION.myhuaweicloud.com)\n"
	       "    -o cacert=PATH         CA bundle (PEM) to check servers with, e.g.\n"
	       "                           a TLS-inspecting proxy's (or\n"
	       "                           $CURL_CA_BUNDLE, $SSL_CERT_FILE; default:\n"
	       "                           the system's); proxies: $https_proxy,\n"
	       "                           $no_proxy, as for curl\n"
	       "    -h, --help             this help, then libfuse's options\n"
	       "    -V, --version          version of pipelinefs and libfuse\n\n",
	       progname);
}

static int option_proc(void *data, const char *arg, int key,
		       struct fuse_args *outargs)
{
	struct pfs_options *opts = data;

	(void)outargs;
	switch (key) {
	case KEY_HELP:
		opts->show_help = 1;
		return 0;
	case KEY_VERSION:
		opts->show_version = 1;
		return 0;
	case KEY_TOKEN:
		opts->token_on_command_line = 1;
		return 0;
	case KEY_SECRET:
		opts->secret_on_command_line = 1;
		return 0;
	case FUSE_OPT_KEY_NONOPT:
		if (opts->n_positional < 3)
			opts->positional[opts->n_positional] = g_strdup(arg);
		opts->n_positional++;
		return 0;
	}
	return 1;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr: what is wrong, before anything is mounted. */
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "pipelinefs: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

/* Reads @text as a number within [@min, @max]; -1 when it is not. */
static int parse_number(const char *name, const char *text, double min,
			double max, double *out)
{
	char *end;
	double value;

	if (!text)
		return 0;
	errno = 0;
	value = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(value) || value < min ||
	    value > max) {
		fprintf(stderr, "pipelinefs: %s=%s: expected a number from %g to %g\n",
			name, text, min, max);
		return -1;
	}
	*out = value;
	return 0;
}

/* @*url (option @name) as a base URL without trailing '/'. */
static int check_base_url(const char *name, char *url)
{
	const char *rest;
	size_t len;

	if (g_str_has_prefix(url, "https://"))
		rest = url + 8;
	else if (g_str_has_prefix(url, "http://"))
		rest = url + 7;
	else
		return fail("%s %s: expected an http:// or https:// URL", name, url);
	if (!*rest || *rest == '/' || strpbrk(url, "?# \t\r\n"))
		return fail("%s %s: expected a base URL like "
			    "https://host[:port][/path]", name, url);
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
	return 0;
}

static int check_endpoint(struct pfs_options *opts)
{
	const char *from_env = getenv("PIPELINEFS_ENDPOINT");

	if (!opts->endpoint && from_env && *from_env)
		opts->endpoint = g_strdup(from_env);
	/* an endpoint given wins: region= then names the IAM host only */
	if (!opts->endpoint && opts->region)
		opts->endpoint = pfs_region_endpoint(opts->region);
	if (!opts->endpoint)
		return fail("no endpoint: give ENDPOINT, -o endpoint=URL, "
			    "PIPELINEFS_ENDPOINT or -o region=NAME (see --help)");
	return check_base_url("endpoint", opts->endpoint);
}

/* An absolute path, with ~/ expanded, without following links: a token
 * file may be a link that is replaced to rotate it. */
static char *absolute_path(const char *path)
{
	const char *home = getenv("HOME");
	char *cwd;
	char *abs;

	if (g_str_has_prefix(path, "~/") && home)
		return g_build_filename(home, path + 2, NULL);
	if (g_path_is_absolute(path))
		return g_strdup(path);
	cwd = g_get_current_dir();
	abs = g_build_filename(cwd, path, NULL);
	g_free(cwd);
	return abs;
}

/* net: region= must be in the table; it names the IAM host unless
 * iam_endpoint= does. */
static int check_region(struct pfs_options *opts)
{
	char *known;

	if (opts->region && !pfs_region_known_name(opts->region)) {
		known = pfs_region_known();
		fail("region %s: unknown; known regions: %s (or give "
		     "-o endpoint=URL,iam_endpoint=URL)", opts->region, known);
		g_free(known);
		return -1;
	}
	if (!opts->iam_endpoint && opts->region)
		opts->iam_endpoint = pfs_region_iam_endpoint(opts->region);
	return opts->iam_endpoint ? check_base_url("iam_endpoint", opts->iam_endpoint)
				  : 0;
}

/* A CA bundle must be a file we can read: found out now, not as a TLS
 * error of every request. The path is made absolute: the daemon leaves
 * its working directory. */
static int check_cacert(struct pfs_options *opts)
{
	/* as the curl tool reads them (libcurl reads none) */
	static const char *const variables[] = { "CURL_CA_BUNDLE", "SSL_CERT_FILE" };
	struct stat st;
	bool regular;
	char *abs;
	size_t i;
	int fd;

	opts->cacert_source = "cacert";
	for (i = 0; !opts->cacert && i < G_N_ELEMENTS(variables); i++) {
		const char *value = getenv(variables[i]);

		if (value && *value) {
			opts->cacert = g_strdup(value);
			opts->cacert_source = variables[i];
		}
	}
	if (!opts->cacert)
		return 0;
	abs = absolute_path(opts->cacert);
	g_free(opts->cacert);
	opts->cacert = abs;
	fd = open(abs, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("%s=%s: %s", opts->cacert_source, abs, strerror(errno));
	regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	close(fd);
	if (!regular)
		return fail("%s=%s: not a regular file (expected a PEM bundle of "
			    "CA certificates)", opts->cacert_source, abs);
	return 0;
}

static void make_absolute(char **path)
{
	char *abs;

	if (*path) {
		abs = absolute_path(*path);
		g_free(*path);
		*path = abs;
	}
}

/* The paths made absolute (the daemon changes directory), the token of
 * the environment taken; which source is used, and whether any is,
 * auth.c decides (pfs_auth_new). */
static int check_token_source(struct pfs_options *opts)
{
	const char *from_env = getenv("PIPELINEFS_TOKEN");
	bool iam = opts->iam_user || opts->iam_domain || opts->iam_password_file;

	if (opts->secret_on_command_line)
		return fail("keys and passwords are refused as options: on the "
			    "command line they are visible to every user; use "
			    "-o credentials_file=PATH or -o iam_password_file=PATH");
	if (iam && (!opts->iam_user || !opts->iam_domain || !opts->iam_password_file))
		return fail("IAM needs all three of iam_user=NAME, "
			    "iam_domain=ACCOUNT and iam_password_file=PATH");
	make_absolute(&opts->token_file);
	make_absolute(&opts->credentials_file);
	make_absolute(&opts->iam_password_file);
	if (!opts->token_file && from_env && *from_env) {
		opts->token = g_strdup(from_env);
		/* out of /proc/PID/environ, where other tools may read it */
		explicit_bzero((char *)from_env, strlen(from_env));
		unsetenv("PIPELINEFS_TOKEN");
	}
	return 0;
}

/* A ':'-separated list of ids in *@out (NULL-ended; empty when @text is
 * NULL); -1 after a one-line error naming the first bad one. */
static int split_ids(const char *name, const char *what, const char *text,
		     char ***out)
{
	char **id;

	*out = g_strsplit(text ? text : "", ":", -1);
	for (id = *out; *id; id++)
		if (!pfs_name_is_valid_id(*id))
			return fail("%s: '%s' is not a %s id", name, *id, what);
	return 0;
}

/* A CodeArts project id: 32 hex digits (the v5 paths carry it). */
static bool is_project_id(const char *id)
{
	size_t i;

	for (i = 0; id[i]; i++)
		if (!g_ascii_isxdigit(id[i]))
			return false;
	return i == 32;
}

static int check_projects(struct pfs_options *opts)
{
	char **id;

	for (id = opts->projects; id && *id; id++)
		if (!is_project_id(*id))
			return fail("projects=: '%s' is not a CodeArts project id "
				    "(32 hex digits)", *id);
	if (opts->project_id && !is_project_id(opts->project_id))
		return fail("project_id=: '%s' is not a CodeArts project id "
			    "(32 hex digits)", opts->project_id);
	return 0;
}

static int check_pipelines(struct pfs_options *opts)
{
	if (split_ids("pipelines", "pipeline", opts->pipelines_text,
		      &opts->pipelines) < 0 ||
	    split_ids("projects", "CodeArts project", opts->projects_text,
		      &opts->projects) < 0)
		return -1;
	if (opts->projects_text && !opts->projects[0])
		return fail("projects=: expected project ids separated by ':'");
	if (opts->pipelines_text && !opts->pipelines[0])
		return fail("pipelines=: expected pipeline ids separated by ':'");
	if (!opts->projects_text) {
		g_strfreev(opts->projects);
		opts->projects = NULL;
	}
	return check_projects(opts);
}

static int check_api(struct pfs_options *opts)
{
	static const char *const names[] = {
		[PFS_API_AUTO] = "auto", [PFS_API_V3] = "v3", [PFS_API_V5] = "v5" };
	size_t i;

	if (!opts->api_text)
		return 0;
	for (i = 0; i < G_N_ELEMENTS(names); i++)
		if (strcmp(opts->api_text, names[i]) == 0)
			opts->api = (int)i;
	if (strcmp(opts->api_text, names[opts->api]) != 0)
		return fail("api=%s: expected v3, v5 or auto", opts->api_text);
	/* v5 paths carry the project: nothing else could name it */
	if (opts->api == PFS_API_V5 && !opts->projects && !opts->project_id)
		return fail("api=v5 needs the CodeArts project: projects=ID[:ID] "
			    "or project_id=ID");
	return 0;
}

static int parse_whole(const char *name, const char *text, unsigned min,
		       unsigned max, unsigned *out)
{
	double value = *out;

	if (parse_number(name, text, min, max, &value) < 0)
		return -1;
	if (value != (unsigned)value)
		return fail("%s=%s: expected a whole number", name, text);
	*out = (unsigned)value;
	return 0;
}

static int check_numbers(struct pfs_options *opts)
{
	unsigned prefetch = (unsigned)opts->prefetch;
	unsigned history = opts->history_days;

	/* || stops at the first bad value: one error line, not several */
	/* under a second every lookup, stat and read of a file would ask the
	 * service again: a request storm by configuration */
	if (parse_number("ttl", opts->ttl_text, 1, 86400, &opts->ttl) < 0 ||
	    parse_number("timeout", opts->timeout_text, 0.001, 3600,
			 &opts->timeout) < 0 ||
	    parse_whole("max_requests", opts->max_requests_text, 1, 1024,
			&opts->max_requests) < 0 ||
	    parse_number("rate", opts->rate_text, 0, 1e6, &opts->rate) < 0 ||
	    parse_number("cache_size", opts->cache_size_text, 0, 1 << 20,
			 &opts->cache_mib) < 0 ||
	    parse_whole("prefetch", opts->prefetch_text, 0, 1, &prefetch) < 0 ||
	    parse_number("list_ttl", opts->list_ttl_text, 1, 86400,
			 &opts->list_ttl) < 0 ||
	    parse_whole("history", opts->history_text, 0, 366, &history) < 0)
		return -1;
	opts->prefetch = (int)prefetch;
	opts->history_days = history;
	return 0;
}

static int check_timezone(struct pfs_options *opts)
{
	char err[256];

	if (pfs_apitime_zone_new(opts->timezone_text ? opts->timezone_text
						     : PFS_APITIME_DEFAULT_ZONE,
				 &opts->timezone, err, sizeof(err)) < 0)
		return fail("%s", err);
	return 0;
}

static int take_positional(struct pfs_options *opts, struct fuse_args *args)
{
	const char *mountpoint;

	if (opts->n_positional == 0)
		return fail("no mountpoint given (see --help)");
	if (opts->n_positional > 2)
		return fail("too many arguments: expected [ENDPOINT] MOUNTPOINT "
			    "(see --help)");
	if (opts->n_positional == 2) {
		if (opts->endpoint)
			return fail("endpoint given twice: as %s and as an "
				    "option", opts->positional[0]);
		opts->endpoint = g_strdup(opts->positional[0]);
	}
	mountpoint = opts->positional[opts->n_positional - 1];
	/* "pipelinefs URL" alone: the endpoint came, the mountpoint did not */
	if (opts->n_positional == 1 && (g_str_has_prefix(mountpoint, "http://") ||
					g_str_has_prefix(mountpoint, "https://")))
		return fail("no mountpoint given after the endpoint %s (see --help)",
			    mountpoint);
	return fuse_opt_add_arg(args, mountpoint) == 0 ? 0 : -1;
}

static void print_help(const char *progname)
{
	print_usage(progname);
	printf("FUSE options:\n");
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

static void print_version(void)
{
	printf("pipelinefs version %s\n", PFS_VERSION);
	printf("FUSE library version %s\n", fuse_pkgversion());
	fuse_lowlevel_version();
}

/* Options we add in front, so that the user's own come later and win;
 * but "ro" comes last, as nothing here can be written: mount(8) and fstab
 * pass "rw" unasked, and a mount that says rw makes access(W_OK) say yes.
 * The endpoint as fsname makes mount(8) and df(1) say what is mounted. */
static int add_defaults(struct fuse_args *args, const char *endpoint)
{
	char *escaped = NULL;
	char *fsname;
	int res;

	if (fuse_opt_add_opt_escaped(&escaped, endpoint) != 0)
		return -1;
	fsname = g_strconcat("-ofsname=", escaped, NULL);
	res = fuse_opt_add_arg(args, "-oro") ||
	      fuse_opt_insert_arg(args, 1, "-osubtype=pipelinefs") ||
	      fuse_opt_insert_arg(args, 1, DEFAULT_MAX_THREADS) ||
	      fuse_opt_insert_arg(args, 1, fsname);
	g_free(fsname);
	free(escaped);
	return res;
}

int pfs_options_parse(struct fuse_args *args, struct pfs_options *opts,
		      struct fuse_cmdline_opts *cmdline)
{
	memset(opts, 0, sizeof(*opts));
	memset(cmdline, 0, sizeof(*cmdline));
	opts->ttl = DEFAULT_TTL;
	opts->timeout = DEFAULT_TIMEOUT;
	opts->max_requests = DEFAULT_MAX_REQUESTS;
	opts->cache_mib = DEFAULT_CACHE_MIB;
	opts->prefetch = 1;
	opts->list_ttl = DEFAULT_LIST_TTL;
	opts->history_days = DEFAULT_HISTORY_DAYS;
	opts->api = PFS_API_AUTO;
	if (fuse_opt_parse(args, opts, option_table, option_proc) < 0)
		return -1;
	if (opts->show_help) {
		print_help(args->argv[0]);
		return 1;
	}
	if (opts->show_version) {
		print_version();
		return 1;
	}
	if (opts->token_on_command_line)
		return fail("token= is refused: a token on the command line is "
			    "visible to every user; use -o token_file=PATH or "
			    "PIPELINEFS_TOKEN");
	if (take_positional(opts, args) < 0 || check_region(opts) < 0 ||
	    check_endpoint(opts) < 0 || check_cacert(opts) < 0 ||
	    check_token_source(opts) < 0 || check_pipelines(opts) < 0 ||
	    check_api(opts) < 0 ||
	    check_numbers(opts) < 0 || check_timezone(opts) < 0 ||
	    add_defaults(args, opts->endpoint) != 0)
		return -1;
	if (fuse_parse_cmdline(args, cmdline) != 0)
		return -1;
	return 0;
}

void pfs_options_free(struct pfs_options *opts)
{
	int i;

	g_free(opts->endpoint);
	g_free(opts->token_file);
	if (opts->token)
		explicit_bzero(opts->token, strlen(opts->token));
	g_free(opts->token);
	free(opts->credentials_file);
	free(opts->iam_user);
	free(opts->iam_domain);
	free(opts->iam_password_file);
	g_strfreev(opts->pipelines);
	free(opts->pipelines_text);
	free(opts->ttl_text);
	free(opts->timeout_text);
	free(opts->max_requests_text);
	free(opts->rate_text);
	free(opts->cache_size_text);
	free(opts->prefetch_text);
	free(opts->timezone_text);
	g_free(opts->region);
	g_free(opts->iam_endpoint);
	g_free(opts->cacert);
	g_strfreev(opts->projects);
	free(opts->projects_text);
	free(opts->list_ttl_text);
	free(opts->history_text);
	free(opts->api_text);
	free(opts->project_id);
	if (opts->timezone)
		g_time_zone_unref(opts->timezone);
	for (i = 0; i < 3 && i < opts->n_positional; i++)
		g_free(opts->positional[i]);
}
