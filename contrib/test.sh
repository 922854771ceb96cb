#!/usr/bin/env bash
# Zero to a test run: installs what is missing, builds with -Werror, runs the
# C unit tests (meson) and then pytest through real mounts, pytest directly
# so that its own summary line ("250 passed in 98.1s") is in the output.
#
# Usage: contrib/test.sh [--sanitize | --valgrind]
#   (none)       build/, every test
#   --sanitize   build-sanitize/ (ASan + UBSan), every test; any report
#                makes the daemon exit non-zero, which fails the test
#   --valgrind   build/, the unit tests and a crawl-and-refresh subset of
#                pytest (VALGRIND_TESTS below) with the daemon under
#                valgrind memcheck; a memory error or a definite or possible
#                leak makes it exit 1, which fails the test. Time bounds are
#                stretched (PIPELINEFS_TEST_TIME_FACTOR, 10 unless set).
#                contrib/valgrind.supp says what is suppressed and why.
# PIPELINEFS_TEST_TIME_FACTOR and other PIPELINEFS_* variables pass through
# to pytest (see tests/conftest.py). A test still running after
# PIPELINEFS_TEST_TIMEOUT seconds (900) is a hang: pytest-timeout prints
# every thread's stack and ends the run, so CI fails in minutes, not at
# its time limit. (Thread method: tests use SIGALRM themselves.)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/contrib/ensure-deps.sh"

# crawl (grep -r, stat and read every file), names, refresh after ttl and
# on SIGHUP, prefetch, eviction, serving cached copies, unmount by signal
# and lazily: the daemon's life from mount to exit; the account's lists and
# names, history, AK/SK signing, IAM renewal; v5 and step logs (tests
# of a BOTH_BACKENDS module run on both)
VALGRIND_TESTS="grep or stat_size or hostile_stage or after_ttl or latest_follows \
or sixteen_concurrent or sighup or prefetches_every or small_cache or outage \
or stays_readable_while or lazy_unmount or signal_unmounts \
or sigint_ends_a_waiting or unmount_or_sigterm or tail_f_events or pipeline_events \
or interrupted_as_they_park \
or root_lists_every_pipeline or by_name_links or history_lists_builds or list_ttl_refreshes \
or credentials_file_signs or rotated_credentials or iam_token_is_renewed or iam_refusing \
or tail_f_follows_a_running_step or 20000_line_log or hostile_log or auto_takes_the_project"

mode=${1:-}
builddir=build
options=(-Dwerror=true)
pytest_args=("$top/tests")
case "$mode" in
  "") ;;
  --sanitize)
    builddir=build-sanitize
    options+=(-Db_sanitize=address,undefined -Db_lundef=false)
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
    # libfuse's own leak of a crossed INTERRUPT (contrib/lsan.supp says why)
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/contrib/lsan.supp:print_suppressions=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    ;;
  --valgrind)
    ensure_packages valgrind
    export PIPELINEFS_WRAPPER="valgrind --error-exitcode=1 --leak-check=full \
--errors-for-leak-kinds=definite,possible --num-callers=30 \
--suppressions=$top/contrib/valgrind.supp"
    export PIPELINEFS_TEST_TIME_FACTOR=${PIPELINEFS_TEST_TIME_FACTOR:-10}
    pytest_args=("$top/tests" -k "$VALGRIND_TESTS")
    ;;
  *)
    echo "usage: contrib/test.sh [--sanitize | --valgrind]" >&2
    exit 2
    ;;
esac
ensure_deps
echo "==> building in $builddir"
build_pipelinefs "$builddir" "${options[@]}"
echo "==> unit tests"
meson test -C "$top/$builddir" --suite unit --print-errorlogs
echo "==> pytest${PIPELINEFS_WRAPPER:+ (daemon under ${PIPELINEFS_WRAPPER%% *})}"
# Debian's pytest lives with /usr/bin/python3, which may not be first on PATH
PIPELINEFS_BIN="$top/$builddir/src/pipelinefs" \
PIPELINEFS_SIM="$top/contrib/pipelinefs-sim" \
  /usr/bin/python3 -m pytest -q -rfE -p no:cacheprovider \
  --timeout="${PIPELINEFS_TEST_TIMEOUT:-900}" --timeout-method=thread "${pytest_args[@]}"
