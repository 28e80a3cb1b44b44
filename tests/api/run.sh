#!/usr/bin/env bash
# The API contract (issue 14, finding 5): the OpenAPI document validates with a real validator
# (openapi-spec-validator), and schemathesis drives the running binary from it with a bounded
# number of examples per operation: no 5xx, every answer as documented (status, content type,
# schema). Usage: tests/api/run.sh [path to the muster binary]
set -euo pipefail
cd "$(dirname "$0")/../.."

target="${CARGO_TARGET_DIR:-$HOME/.cache/muster-target}"
binary="${1:-$target/debug/muster}"
document=crates/muster-web/src/api/openapi.json
examples="${MUSTER_API_EXAMPLES:-15}"

for package in openapi-spec-validator schemathesis; do
  module="${package//-/_}"
  if ! python3 -c "import $module" 2>/dev/null; then
    echo "installing $package"
    python3 -m pip install --quiet "$package"
  fi
done

echo "==> openapi-spec-validator $document"
python3 -m openapi_spec_validator "$document"

work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

export MUSTER__DATABASE__URL="sqlite://$work/muster.db?mode=rwc"
export MUSTER__SERVER__BIND=127.0.0.1:0
export MUSTER__MAIL__URL="file://$work/outbox"
export MUSTER__INBOUND__SECRET=api-contract-secret-0123456789abcdef
export MUSTER__LOG__LEVEL=warn

"$binary" serve >"$work/stdout" 2>"$work/stderr" &
server=$!
url=""
for _ in $(seq 1 120); do
  url="$(sed -n 's/^muster listening on //p' "$work/stdout" | head -1)"
  [ -n "$url" ] && break
  sleep 0.5
done
if [ -z "$url" ]; then
  echo "muster did not start:" >&2
  cat "$work/stderr" >&2
  exit 1
fi

MUSTER_PASSWORD='api contract password' "$binary" user add --email manager@example.com \
  --name Manager --role manager >/dev/null
token="$("$binary" token create --user manager@example.com --name api-contract)"
# An incident to find, so that the operations on a slug get past "not found" too.
curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"slug":"storm","title":"Storm","time_zone":"UTC"}' "$url/api/v1/incidents"

echo "==> schemathesis against $url ($examples examples per operation)"
document_url="${MUSTER_API_DOCUMENT:-$url/api/v1/openapi.json}"
# From the scratch folder: schemathesis and hypothesis keep their state in the working one.
cd "$work"
python3 -m schemathesis.cli run "$document_url" \
  --url "$url" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$examples" \
  --seed 14 \
  --no-color
