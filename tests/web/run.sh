#!/usr/bin/env bash
# Browser tests of the web console: builds the server (debug), starts the demo on a
# free loopback port with a throwaway data directory, runs node's test runner, which
# drives Debian's chromium through playwright-core, and stops the server.
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
port=$(free_port)
PATROL_DATA_DIR="$dir/data" PATROL_LISTEN="127.0.0.1:$port" "$target/debug/patrol-server" demo \
  >"$dir/out.log" 2>"$dir/err.log" &
pid=$!
stop() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap stop EXIT

for _ in $(seq 1 150); do
  grep -q "^  patrol " "$dir/out.log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { echo "the demo server stopped:"; cat "$dir/err.log"; exit 1; }
  sleep 0.2
done
grep -q "^  patrol " "$dir/out.log" || { echo "the demo server printed no logins:"; cat "$dir/out.log" "$dir/err.log"; exit 1; }

# The logins follow the line "… sign in at … with:", one per line as
# "  <login> <password> <role…>", up to a blank line.
awk '/sign in at .* with:/ { on = 1; next }
     on && /^$/ { exit }
     on && /^  [^ ]/ { printf "%s\"%s\":\"%s\"", (n++ ? "," : "{"), $1, $2 }
     END { print (n ? "}" : "{}") }' "$dir/out.log" >"$dir/logins.json"

export PATROL_WEB_URL="http://127.0.0.1:$port"
export PATROL_WEB_LOGINS="$dir/logins.json"
export PATROL_WEB_ARTIFACTS="${PATROL_WEB_ARTIFACTS:-$root/test-artifacts}"
mkdir -p "$PATROL_WEB_ARTIFACTS/screenshots"
log "browser tests against $PATROL_WEB_URL"
cd tests/web
status=0
node --test --test-concurrency=1 ${PATROL_WEB_TESTS:-tests/*.test.mjs} || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log (last 50 lines) ---"
  tail -n 50 "$dir/err.log"
fi
exit "$status"
