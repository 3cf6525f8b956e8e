#!/usr/bin/env bash
# approvald end to end: N auto-approvable requests waiting in the emulator,
# approvald started on an empty state; time from start until Graph has
# acknowledged every decision; peak RSS; CPU used while idle afterwards.
set -euo pipefail
build=${1:-build}
N=${BENCH_REQUESTS:-10000}
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/$build"
work=$(mktemp -d /tmp/approvald-bench.XXXXXX)
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
ca=(--cacert "$bin/tls/ca.pem")
curl -sS "${ca[@]}" -X POST "$url/_emulator/generate" -H 'Content-Type: application/json' \
	-d "{\"count\":$N,\"requestor\":\"alex@contoso.com\",\"kinds\":[\"aws-policy\"]}" >/dev/null

umask 077
mkdir "$work/secrets"
json_field "$tenant" clientSecret >"$work/secrets/client-secret"
json_field "$tenant" token >"$work/secrets/approver-token"
cat >"$work/approvald.yaml" <<YAML
graph:
  url: $url
  login_url: $url
  tenant: $(json_field "$tenant" tenantId)
  client_id: $(json_field "$tenant" clientId)
  client_secret_file: secrets/client-secret
  approver_token_file: secrets/approver-token
  ca_file: $bin/tls/ca.pem
  max_inflight: 32
sources:
  permissions: { enabled: true, poll_interval: PT1S }
policy: $top/examples/policy.yaml
state: $work/state.db
control_socket: $work/control.sock
log: { level: ${BENCH_LOG:-warn} }
YAML
decided() {
	"$bin/ctl/approvalctl" status --socket "$work/control.sock" 2>/dev/null |
		grep -o '"approved": *[0-9]*' | grep -o '[0-9]*$' || echo 0
}
start=$(date +%s.%N)
"$bin/daemon/approvald" --config "$work/approvald.yaml" 2>"$work/approvald.log" &
ad_pid=$!
# Wait until Graph has acknowledged every decision (approved in the store
# means Graph answered 204), with a generous bound.
for _ in $(seq 1500); do [ "$(decided)" -ge "$N" ] && break; sleep 0.2; done
end=$(date +%s.%N)
n=$(decided)
rss=$(awk '/VmHWM/ {print $2}' /proc/$ad_pid/status)
wchar=$(awk '/^wchar/ {print $2}' /proc/$ad_pid/io)
t0=$(awk '{print $14 + $15}' /proc/$ad_pid/stat)
sleep 5
t1=$(awk '{print $14 + $15}' /proc/$ad_pid/stat)
truth=$(curl -sS "${ca[@]}" "$url/_emulator/truth" | grep -o '"action": *"approve"' | wc -l)
awk -v n="$n" -v s="$start" -v e="$end" -v rss="$rss" -v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v truth="$truth" -v wchar="$wchar" 'BEGIN {
	printf "requests=%d graph_approvals=%d seconds=%.2f decisions_per_s=%.0f peak_rss_kb=%d written_kb_per_request=%.1f idle_cpu_5s=%.2f%%\n",
	    n, truth, e - s, n / (e - s), rss, wchar / 1024 / n, 100 * ticks / hz / 5
}'
