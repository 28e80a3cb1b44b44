#!/usr/bin/env bash
# Muster's browser tests: the journeys of a manager, customers (English, Persian) and an agent
# in headless Chromium against `muster demo`, with an axe-core accessibility check on every
# page they visit. Installs what is missing (Debian's chromium, the npm packages), builds the
# binary, starts the demo on a free port in a temporary folder, runs `node --test`, stops it.
# The group journey submits 50 forms from one address (the per-address limit is raised) and
# waits out a group reply's hold (10 s here instead of 60); the surge journey has an agent
# answer twenty cases by keyboard while a colleague's queue follows live.
# Screenshots of every step go to tests/artifacts/browser/. The journeys read the mail the
# server wrote from MUSTER_OUTBOX. Usage: tests/browser/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/muster-target}"
export MUSTER_CHROMIUM="${MUSTER_CHROMIUM:-/usr/bin/chromium}"

say() { printf '\n==> %s\n' "$*"; }

if [ ! -x "$MUSTER_CHROMIUM" ]; then
  say "installing chromium"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
if ! command -v npm >/dev/null; then
  say "installing node and npm"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
fi
# playwright-core needs Node.js 20 or later.
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "the browser tests need Node.js 20 or later; this is $(node --version)" >&2
  exit 1
fi
# npm ci again only when the lock file changed since the last install.
if ! cmp -s "$here/package-lock.json" "$here/node_modules/.muster-installed-lock" 2>/dev/null; then
  say "npm ci (tests/browser)"
  (cd "$here" && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.muster-installed-lock)
fi

work="$(mktemp -d -t muster-browser-XXXXXX)"
server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_server EXIT

say "cargo build -p muster"
cargo build -p muster --locked
# The target folder may be shared with other checkouts, whose builds replace debug/muster:
# run a copy taken right after our build.
cp "$CARGO_TARGET_DIR/debug/muster" "$work/muster"
binary="$work/muster"

say "starting muster demo in $work"
mkfifo "$work/stdout"
(
  cd "$work"
  MUSTER__SERVER__BIND=127.0.0.1:0 \
    MUSTER__SERVER__WORKERS=2 \
    MUSTER__DATABASE__URL="sqlite://$work/muster.db" \
    MUSTER__MAIL__URL="file://$work/outbox" \
    MUSTER__INTAKE__MAX_PER_ADDRESS=1000 \
    MUSTER__QUEUE__GROUP_REPLY_HOLD_SECS=10 \
    exec "$binary" demo >"$work/stdout" 2>"$work/server.log"
) &
server_pid=$!
exec 3<"$work/stdout"
url=""
if read -r -t 60 first <&3; then
  url="$(printf '%s' "$first" | sed -n 's#^muster listening on \(http://[0-9.:]*\)$#\1#p')"
fi
if [ -z "$url" ]; then
  echo "muster demo did not start; its log:" >&2
  cat "$work/server.log" >&2 || true
  exit 1
fi
# Keep draining stdout so the server never blocks writing to it.
cat <&3 >"$work/banner.txt" &
exec 3<&-
echo "muster demo at $url"

mkdir -p "$root/tests/artifacts/browser"
rm -f "$root/tests/artifacts/browser/"*.png
say "browser tests"
status=0
# One file at a time: four Chromiums at once would crowd a two-core machine.
MUSTER_URL="$url" MUSTER_OUTBOX="$work/outbox" node --test --test-concurrency=1 "$here/" || status=$?
if [ "$status" -ne 0 ]; then
  echo "server log (last 50 lines):" >&2
  tail -n 50 "$work/server.log" >&2 || true
fi
exit "$status"
