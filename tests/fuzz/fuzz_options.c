/* Fuzz target: the command line (pfs_options_parse, which also runs
 * fuse_opt_parse and fuse_parse_cmdline).
 *
 * The input is split on NUL bytes into arguments after argv[0]. A piece
 * "env:PIPELINEFS_TOKEN=..." or "env:PIPELINEFS_ENDPOINT=..." sets that
 * variable for this run instead (the parser reads and unsets them); both
 * are cleared after every run, so each input runs alone. Everything the
 * parser prints (errors, --help, --version) goes to /dev/null: fd 2 stays
 * open for libFuzzer's and the sanitizers' reports.
 */
#include "fuzz.h"
#include "options.h"

#include <glib.h>
#include <string.h>

static const char *const env_names[] = {
	"PIPELINEFS_TOKEN", "PIPELINEFS_ENDPOINT", NULL
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *null = fopen("/dev/null", "w");

	(void)argc;
	(void)argv;
	if (!null)
		abort();
	/* stdio only: libFuzzer and the sanitizers write to fd 2 itself */
	stdout = null;
	stderr = null;
	return 0;
}

/* Puts a piece "env:NAME=VALUE" into the environment; false if @piece is
 * an argument. */
static bool set_env(const char *piece)
{
	const char *const *name;

	if (!g_str_has_prefix(piece, "env:"))
		return false;
	piece += 4;
	for (name = env_names; *name; name++) {
		size_t len = strlen(*name);

		if (strncmp(piece, *name, len) == 0 && piece[len] == '=')
			setenv(*name, piece + len + 1, 1);
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct pfs_options opts;
	struct fuse_cmdline_opts cmdline;
	size_t at = 0;
	const char *const *name;

	FUZZ_CHECK(fuse_opt_add_arg(&args, "pipelinefs") == 0);
	while (at < size) {
		const uint8_t *nul = memchr(data + at, '\0', size - at);
		size_t len = nul ? (size_t)(nul - (data + at)) : size - at;
		char *piece = g_strndup((const char *)data + at, len);

		if (!set_env(piece))
			FUZZ_CHECK(fuse_opt_add_arg(&args, piece) == 0);
		g_free(piece);
		at += len + 1;
	}
	/* which credentials, if any, is the auth module's to decide (auth.h):
	 * a command line without them still parses */
	if (pfs_options_parse(&args, &opts, &cmdline) == 0)
		FUZZ_CHECK(cmdline.mountpoint && opts.endpoint);
	free(cmdline.mountpoint);
	pfs_options_free(&opts);
	fuse_opt_free_args(&args);
	for (name = env_names; *name; name++)
		unsetenv(*name);
	return 0;
}
