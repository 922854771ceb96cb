/* options.h - the command line: our options through a fuse_opt table, the
 * rest left for libfuse; every value checked before anything is mounted.
 */
#ifndef PFS_OPTIONS_H
#define PFS_OPTIONS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <glib.h>

struct pfs_options {
	char *endpoint;		/* base URL, no trailing '/' */
	char *token_file;	/* absolute path, or NULL */
	char *token;		/* from PIPELINEFS_TOKEN when no token_file */
	/* auth (src/auth/auth.h picks the source): absolute paths, or NULL */
	char *credentials_file;	/* the SDKs' INI file: AK/SK */
	char *iam_user;		/* with iam_domain and iam_password_file */
	char *iam_domain;
	char *iam_password_file;
	int secret_on_command_line;	/* sk=, password=, ... given: refused */
	char **pipelines;	/* NULL-ended list of ids to show at the root */
	double ttl;
	double timeout;
	unsigned max_requests;
	double rate;		/* requests per second; 0: no limit */
	double cache_mib;
	int prefetch;
	GTimeZone *timezone;	/* of the API's times (apitime.h) */
	/* net: regions and company networks */
	char *region;		/* region=, as given (a known one), or NULL */
	char *iam_endpoint;	/* IAM base URL, no trailing '/': iam_endpoint=,
				 * else the region's, else NULL */
	char *cacert;		/* absolute path of a readable CA bundle:
				 * cacert=, else $CURL_CA_BUNDLE, else
				 * $SSL_CERT_FILE; NULL: libcurl's default */
	const char *cacert_source;	/* "cacert", "CURL_CA_BUNDLE" or
					 * "SSL_CERT_FILE": for messages */
	/* the account's pipelines and history (lead): */
	char **projects;	/* NULL-ended CodeArts project ids, or NULL: all */
	double list_ttl;	/* seconds a pipeline list or history stays fresh */
	unsigned history_days;	/* days of build history listed; 0: none */
	char *projects_text;
	/* the API (backend.h): */
	int api;		/* enum pfs_api_version: api=v3|v5|auto */
	char *project_id;	/* project_id=: a valid id, or NULL */
	char *api_text;
	char *list_ttl_text;
	char *history_text;
	/* as given, before checking: */
	char *pipelines_text;
	char *ttl_text;
	char *timeout_text;
	char *max_requests_text;
	char *rate_text;
	char *cache_size_text;
	char *prefetch_text;
	char *timezone_text;
	int show_help;
	int show_version;
	int token_on_command_line;
	char *positional[3];
	int n_positional;
};

/* Parses @args (and the environment) into @opts and @cmdline, and leaves
 * in @args what fuse_session_new() should see. Returns 0 to go on
 * mounting, 1 when the output asked for (help, version) has been printed,
 * -1 after printing a one-line error to stderr. */
int pfs_options_parse(struct fuse_args *args, struct pfs_options *opts,
		      struct fuse_cmdline_opts *cmdline);
void pfs_options_free(struct pfs_options *opts);

#endif
