#!/usr/bin/env bash
# Webhook -> Graph decision PATCH latency for auto-approved requests on
# loopback: approvald polls only hourly, so each decision is caused by a
# signed POST /v1/hooks/evaluate. The driver (bench_hooks) creates one
# request at a time, sends the hook and waits for the emulator's ground
# truth to hold the approval (its truth polling is included in the time).
set -euo pipefail
build=${1:-build}
N=${BENCH_HOOKS:-300}
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/$build"
work=$(mktemp -d /tmp/approvald-bench-hooks.XXXXXX)
emu_pid= ad_pid=
cleanup() {
	[ -n "$ad_pid" ] && kill -TERM "$ad_pid" 2>/dev/null && wait "$ad_pid" 2>/dev/null || true
	[ -n "$emu_pid" ] && kill -TERM "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null || true
	[ -n "${BENCH_KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
tenant="$top/examples/demo-tenant.json"
json_field() { grep -o "\"$2\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" "$1" | head -1 | sed 's/.*:[[:space:]]*"\(.*\)"/\1/'; }

"$bin/emulator/graph-emulator" --listen 127.0.0.1:0 --fixture "$tenant" \
	--tls-cert "$bin/tls/server.pem" --tls-key "$bin/tls/server-key.pem" >"$work/emu.out" 2>"$work/emu.log" &
emu_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/emu.out" && break; sleep 0.05; done
url=$(sed -n 's/^listening on //p' "$work/emu.out")

umask 077
mkdir "$work/secrets"
json_field "$tenant" clientSecret >"$work/secrets/client-secret"
json_field "$tenant" token >"$work/secrets/approver-token"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/secrets/hook-secret"
cat >"$work/approvald.yaml" <<YAML
graph:
  url: $url
  login_url: $url
  tenant: $(json_field "$tenant" tenantId)
  client_id: $(json_field "$tenant" clientId)
  client_secret_file: secrets/client-secret
  approver_token_file: secrets/approver-token
  ca_file: $bin/tls/ca.pem
sources:
  permissions: { enabled: true, poll_interval: PT1H }
policy: $top/examples/policy.yaml
state: $work/state.db
control_socket: $work/control.sock
http:
  listen: 127.0.0.1:0
  hook_secret_file: secrets/hook-secret
  rate_limit: 1024  # one peer sends every hook: no 429s in the measurement
  rate_burst: 1024
log: { level: info }  # the listener port is read from the log
YAML
"$bin/daemon/approvald" --config "$work/approvald.yaml" 2>"$work/approvald.log" &
ad_pid=$!
for _ in $(seq 200); do grep -q 'http: listening on' "$work/approvald.log" && break; sleep 0.05; done
port=$(sed -n 's/.*http: listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/approvald.log" | head -1)
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
"$bin/bench/bench_hooks" "$url" "$bin/tls/ca.pem" "http://127.0.0.1:$port/v1/hooks/evaluate" \
	"$work/secrets/hook-secret" "$top/examples/requests/permissions-request-aws-policy.json" "$N"
