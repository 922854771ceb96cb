#!/usr/bin/env bash
# Zero to a mounted demo: installs what is missing, builds, starts the API
# simulator with the demo scenario, mounts it and shows cat and grep on it.
# Usage: contrib/demo.sh [MOUNTPOINT]   (default: ./demo-mnt)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/contrib/ensure-deps.sh"

mnt=${1:-$top/demo-mnt}
# a free port unless one is asked for: whatever else answers on a fixed
# port must never be what gets mounted
port=${PIPELINEFS_DEMO_PORT:-0}
state=$top/build/demo
ensure_deps
echo "==> building"
build_pipelinefs build

mkdir -p "$state" "$mnt"
if mountpoint -q "$mnt"; then fusermount3 -u "$mnt"; fi
if [ -f "$state/sim.pid" ]; then kill "$(cat "$state/sim.pid")" 2>/dev/null || true; fi
scenario=$top/contrib/scenarios/demo.json
echo "==> starting the API simulator ($scenario)"
# AK/SK as a user keeps them: the SDKs' INI file, here the scenario's pair
(umask 077; python3 - "$scenario" > "$state/credentials" <<'EOP'
import json, sys
pair = json.load(open(sys.argv[1]))["credentials"][0]
print("[basic]\nak = %s\nsk = %s" % (pair["ak"], pair["sk"]))
EOP
)
"$top/contrib/pipelinefs-sim" --port "$port" --scenario "$scenario" --quiet \
  > "$state/sim.log" 2>&1 &
echo $! > "$state/sim.pid"
url=
for _ in $(seq 100); do
  url=$(sed -n 's/^pipelinefs-sim: listening on \(http:[^ ]*\).*/\1/p' "$state/sim.log")
  [ -n "$url" ] && break
  kill -0 "$(cat "$state/sim.pid")" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "demo: the simulator did not start:" >&2
  cat "$state/sim.log" >&2
  exit 1
fi

echo "==> mounting $url on $mnt"
"$top/build/src/pipelinefs" "$url" "$mnt" \
  -o credentials_file="$state/credentials"

show() { echo; echo "\$ $1"; eval "$1" || true; }
cd "$mnt"
show 'ls'
show 'ls by-name/ projects/*/'
show 'ls -lt by-name/web-frontend/'
show 'cat 8025ba36a87a4dd5af496708c2961817/latest/status 8025ba36a87a4dd5af496708c2961817/latest/outcome'
show 'ls 8025ba36a87a4dd5af496708c2961817/latest/stages/'
show 'grep -r . */latest/stages/*/tasks/*/error_msg'
show 'cat 8025ba36a87a4dd5af496708c2961817/latest/summary'
show 'ls -l 8025ba36a87a4dd5af496708c2961817/latest/failed/'
show 'cat .pipelinefs/summary'
show 'cat c41e7b0f95d24a6e8b3f2a1d07e9c5b8/latest/status'
cat <<EOT

The demo is mounted on $mnt. Try:
  watch 'cat $mnt/c41e7b0f95d24a6e8b3f2a1d07e9c5b8/latest/stages/*/status'
  tail -f $mnt/c41e7b0f95d24a6e8b3f2a1d07e9c5b8/latest/events
  cat $mnt/c41e7b0f95d24a6e8b3f2a1d07e9c5b8/latest/wait      # blocks until it completes
  grep -r . $mnt/*/latest/failed/*/error_msg
  cat $mnt/.pipelinefs/health
The keys are in $state/credentials (the SDKs' INI file); every request is signed with them.
When done, unmount and stop the simulator:
  fusermount3 -u $mnt && kill \$(cat $state/sim.pid)
EOT
