#!/usr/bin/env bash
# Fuzzes the code that reads untrusted input, with libFuzzer (Debian's clang)
# under AddressSanitizer and UndefinedBehaviorSanitizer:
#   model    a status body -> the tree of files, and every walk of it
#   batch    the batch answer -> the latest build id of each pipeline
#   names    file names from API text, unique names, the id check
#   options  the command line (argv from the input split on NUL bytes)
#   lists    the list and build-result answers, errors in bodies, history
#            date windows and the list call's request
#   v5_model a v5 run detail -> the tree of files, in two zones alike
#   v5_lists the v5 pipeline and runs lists, a step log page (its bytes)
# Installs what it needs, builds the targets in build-fuzz (CC=clang,
# meson -Dfuzz=true), runs each target for SECONDS_PER_TARGET seconds (25 by
# default: about three and a half minutes in all, as .ci/run runs it) from its
# seeds in tests/fuzz/corpus/TARGET/ plus what earlier runs here found
# (build-fuzz/fuzz-corpus/TARGET/), then replays every seed file once
# (meson test --suite fuzz). Exits non-zero if anything crashed, leaked or
# tripped a sanitizer or a check.
#
# Usage: contrib/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]
#   contrib/fuzz.sh                 the bounded run CI does
#   contrib/fuzz.sh 3600            an hour per target, by hand
#   contrib/fuzz.sh 600 model batch ten minutes each for the two parsers
#
# A crash leaves its input in build-fuzz/fuzz-artifacts/; reproduce it with
# build-fuzz/tests/fuzz/fuzz_TARGET FILE. Once fixed, copy the file into
# tests/fuzz/corpus/TARGET/ (named crash-*) and commit it: the replay keeps
# it a regression test. tests/fuzz/make-seeds rewrites the seeds.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/contrib/ensure-deps.sh"

seconds=${1:-25}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(model batch names options lists v5_model v5_lists)
builddir=build-fuzz

ensure_deps
# libFuzzer itself is in libclang-rt-14-dev, which clang does not pull in
ensure_packages clang libclang-rt-14-dev
echo "==> building the fuzz targets in $builddir"
CC=clang build_pipelinefs "$builddir" -Dfuzz=true -Dwerror=true

# detect_leaks: a leak on any input is a failure, as in the sanitize build
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
summary=()
for target in "${targets[@]}"; do
  binary=$top/$builddir/tests/fuzz/fuzz_$target
  found=$top/$builddir/fuzz-corpus/$target
  artifacts=$top/$builddir/fuzz-artifacts
  log=$top/$builddir/fuzz-$target.log
  [ -x "$binary" ] || { echo "no fuzz target '$target'" >&2; exit 2; }
  mkdir -p "$found" "$artifacts"
  echo "==> fuzzing $target for ${seconds}s"
  if "$binary" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$artifacts/$target-" \
       "$found" "$top/tests/fuzz/corpus/$target" >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$target")
    # the report: what broke, the stack, and where the input was saved
    grep -E -A40 "ERROR|check failed|runtime error" "$log" | head -80 >&2 || tail -40 "$log" >&2
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  summary+=("$target: ${runs:-?} executions in ${seconds}s, $(ls "$found" | wc -l) inputs kept, $status")
done

echo "==> replaying every corpus file"
if ! meson test -C "$top/$builddir" --suite fuzz --print-errorlogs \
     >"$top/$builddir/fuzz-replay.log" 2>&1; then
  tail -60 "$top/$builddir/fuzz-replay.log" >&2
  failed+=(replay)
fi
printf 'fuzz: %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $builddir/fuzz-artifacts/, logs in $builddir/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash; every corpus file replayed"
