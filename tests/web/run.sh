#!/usr/bin/env bash
# Browser tests of the web console: builds the server (debug), starts the demo on a
# free loopback port with a throwaway data directory, runs node's test runner, which
# drives Debian's chromium through playwright-core, and stops the server.
# The tests run against `patrol-server demo --empty` (people and places, no history:
# they count what they make); tests/demo.test.mjs reads a second server started as
# `patrol-server demo`, with its month of history (PATROL_WEB_DEMO_URL, _LOGINS).
# Screenshots land in test-artifacts/screenshots/ (override with PATROL_WEB_ARTIFACTS).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
. scripts/lib/env.sh

ensure_apt chromium fonts-wqy-microhei poppler-utils unzip
# Machines with Node from another source already have npm; Debian's npm conflicts.
command -v npm >/dev/null || ensure_apt nodejs npm
target="${CARGO_TARGET_DIR:-$root/target}"
log "building patrol-server (debug)"
build_server
(cd tests/web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

dir=$(mktemp -d /tmp/patrol-web.XXXXXX)
pids=()
stop() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
}
trap stop EXIT

# start_demo NAME [--empty]: starts a demo server under $dir/NAME on a free port; its
# port goes to $dir/NAME/port.
start_demo() {
  local name=$1 port
  shift
  port=$(free_port)
  mkdir -p "$dir/$name"
  echo "$port" >"$dir/$name/port"
  PATROL_DATA_DIR="$dir/$name/data" PATROL_LISTEN="127.0.0.1:$port" "$target/debug/patrol-server" demo "$@" \
    >"$dir/$name/out.log" 2>"$dir/$name/err.log" &
  pids+=($!)
  echo $! >"$dir/$name/pid"
}

# wait_demo NAME SECONDS: waits for the printed logins and writes them as JSON to
# $dir/NAME/logins.json.
wait_demo() {
  local name=$1 tries=$(($2 * 5)) pid
  pid=$(cat "$dir/$name/pid")
  for _ in $(seq 1 "$tries"); do
    grep -q "^  patrol " "$dir/$name/out.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { echo "the $name demo server stopped:"; cat "$dir/$name/err.log"; exit 1; }
    sleep 0.2
  done
  grep -q "^  patrol " "$dir/$name/out.log" \
    || { echo "the $name demo server printed no logins:"; cat "$dir/$name/out.log" "$dir/$name/err.log"; exit 1; }
  # The logins follow the line "… sign in at … with:", one per line as
  # "  <login> <password> <role…>", up to a blank line.
  awk '/sign in at .* with:/ { on = 1; next }
       on && /^$/ { exit }
       on && /^  [^ ]/ { printf "%s\"%s\":\"%s\"", (n++ ? "," : "{"), $1, $2 }
       END { print (n ? "}" : "{}") }' "$dir/$name/out.log" >"$dir/$name/logins.json"
}

selected=$(cd tests/web && echo ${PATROL_WEB_TESTS:-tests/*.test.mjs})
start_demo empty --empty
seeded=""
case " $selected " in
  *demo.test.mjs*) seeded=1 ;;
esac
# The month is made before the logins are printed: seconds in a debug build.
[ -z "$seeded" ] || start_demo seeded
wait_demo empty 30
[ -z "$seeded" ] || wait_demo seeded 180

export PATROL_WEB_URL="http://127.0.0.1:$(cat "$dir/empty/port")"
export PATROL_WEB_LOGINS="$dir/empty/logins.json"
if [ -n "$seeded" ]; then
  export PATROL_WEB_DEMO_URL="http://127.0.0.1:$(cat "$dir/seeded/port")"
  export PATROL_WEB_DEMO_LOGINS="$dir/seeded/logins.json"
fi
export PATROL_WEB_ARTIFACTS="${PATROL_WEB_ARTIFACTS:-$root/test-artifacts}"
mkdir -p "$PATROL_WEB_ARTIFACTS/screenshots"
log "browser tests against $PATROL_WEB_URL${seeded:+ and the month-long demo at $PATROL_WEB_DEMO_URL}"
cd tests/web
status=0
node --test --test-concurrency=1 $selected || status=$?
if [ "$status" -ne 0 ]; then
  for name in empty seeded; do
    [ -f "$dir/$name/err.log" ] || continue
    echo "--- $name server log (last 50 lines) ---"
    tail -n 50 "$dir/$name/err.log"
  done
fi
exit "$status"
