#!/usr/bin/env bash
# Zero to a full test run: installs what is missing, builds with -Werror and
# runs every test (C unit tests and pytest through real mounts).
# Usage: contrib/test.sh [--sanitize]   (--sanitize: ASan + UBSan build)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/contrib/ensure-deps.sh"

builddir=build
options=(-Dwerror=true)
if [ "${1:-}" = "--sanitize" ]; then
  builddir=build-sanitize
  options+=(-Db_sanitize=address,undefined -Db_lundef=false)
  # any report fails the test that caused it: the daemon must exit 0
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
ensure_deps
echo "==> building in $builddir"
build_pipelinefs "$builddir" "${options[@]}"
echo "==> testing"
meson test -C "$top/$builddir" --print-errorlogs
