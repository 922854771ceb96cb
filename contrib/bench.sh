#!/usr/bin/env bash
# The pipelinefs benchmark: installs what is missing, builds a release build in
# build-release and runs bench/pipelinefs-bench with it against the simulator.
# Usage: contrib/bench.sh [pipelinefs-bench options]   (--help lists them)
# e.g.   contrib/bench.sh --skip-memory      contrib/bench.sh --only cold --rounds 9
# Run it as root: the kernel-only cold crawl drops the kernel's caches
# (/proc/sys/vm/drop_caches, machine-wide); without root it is left out.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/contrib/ensure-deps.sh"

ensure_deps
echo "==> building in build-release" >&2
build_pipelinefs build-release -Dbuildtype=release
echo "==> benchmarking" >&2
PIPELINEFS_BIN="$top/build-release/src/pipelinefs" exec "$top/bench/pipelinefs-bench" "$@"
