#!/usr/bin/env bash
# Installs the Debian packages pipelinefs needs to build, test and demo,
# when any is missing. Sourced by demo.sh, test.sh and fuzz.sh; safe to run
# alone.
set -euo pipefail

PIPELINEFS_PACKAGES=(
  build-essential meson ninja-build pkg-config
  libfuse3-dev fuse3 libcurl4-openssl-dev libjson-c-dev libglib2.0-dev zlib1g-dev
  python3 python3-pytest curl jq
  python3-pytest-timeout   # contrib/test.sh: a hung test fails CI in minutes
  openssl   # tests/test_network.py: a test CA and server certificates
  rsync     # tests/test_monitoring.py: rsync -ai over a mount
  systemd   # systemd-analyze, for tests/test_systemd.py; missing from minimal containers
)

# ensure_packages PKG...: installs those of the Debian packages not installed.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_deps() {
  ensure_packages "${PIPELINEFS_PACKAGES[@]}"
}

# build_pipelinefs BUILDDIR [meson options...]: configure (a directory that
# exists gets the options again: test.sh must build with -Werror even where
# demo.sh configured build/ without it), then build; quiet when it works,
# the compiler's errors on stderr when not.
build_pipelinefs() {
  local builddir=$1; shift
  local top; top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if [ ! -f "$top/$builddir/build.ninja" ]; then
    meson setup "$top/$builddir" "$top" "$@" >/dev/null || return 1
  elif [ $# -gt 0 ]; then
    meson configure "$top/$builddir" "$@" >/dev/null || return 1
  fi
  if ! ninja -C "$top/$builddir" >/dev/null; then
    ninja -C "$top/$builddir" >&2
    echo "==> the build in $builddir failed" >&2
    return 1
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  ensure_deps
fi
