#!/usr/bin/env bash
# graph-emulator throughput: simple authenticated GETs from wrk on loopback,
# then the same with 50,000 stored requests; reports requests/s and RSS.
# Usage: bench/bench-emulator.sh [BUILD_DIR]   (needs wrk: apt-get install wrk)
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
emu=$build/emulator/graph-emulator
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install wrk)"; exit 1; }
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkfifo "$work/out"
"$emu" --listen 127.0.0.1:0 --fixture "$here/examples/demo-tenant.json" >"$work/out" &
pid=$!
read -r line <"$work/out"
base=${line#listening on }
tok=$(curl -s -X POST "$base/_emulator/token" -d '{"user":"approvald@contoso.com"}' |
	sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }
run() { # label url
	echo "-- $1"
	wrk -t2 -c64 -d10s -H "Authorization: Bearer $tok" "$2" | grep -E "Requests/sec|Latency|Non-2xx"
	echo "RSS $(rss)"
}
run "GET /v1.0/users/{upn}" "$base/v1.0/users/alex@contoso.com"
curl -s -o /dev/null -X POST "$base/_emulator/generate" \
	-d '{"count":50000,"requestor":"alex@contoso.com"}'
run "GET /v1.0/users/{upn} with 50,000 stored requests" "$base/v1.0/users/alex@contoso.com"
run "GET permissionsRequestChanges?\$top=10 (50,000 requests)" \
	"$base/beta/identityGovernance/permissionsManagement/permissionsRequestChanges?\$top=10"
