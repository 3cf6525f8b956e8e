#!/usr/bin/env bash
# approvald with 100,000 settled requests in its store and nothing to do:
# resident memory, and CPU used over 30 s of idling (30 s poll interval).
set -euo pipefail
build=${1:-build}
N=${BENCH_STORED:-100000}
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/$build"
work=$(mktemp -d /tmp/approvald-idle.XXXXXX)
emu_pid= ad_pid=
cleanup() {
	[ -n "$ad_pid" ] && kill -TERM "$ad_pid" 2>/dev/null && wait "$ad_pid" 2>/dev/null || true
	[ -n "$emu_pid" ] && kill -TERM "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
tenant="$top/examples/demo-tenant.json"
json_field() { grep -o "\"$2\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" "$1" | head -1 | sed 's/.*:[[:space:]]*"\(.*\)"/\1/'; }
"$bin/bench/store_fill" "$work/state.db" "$N"
"$bin/emulator/graph-emulator" --listen 127.0.0.1:0 --fixture "$tenant" \
	--tls-cert "$bin/tls/server.pem" --tls-key "$bin/tls/server-key.pem" >"$work/emu.out" 2>/dev/null &
emu_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/emu.out" && break; sleep 0.05; done
url=$(sed -n 's/^listening on //p' "$work/emu.out")
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
sources:
  permissions: { enabled: true, poll_interval: PT30S }
policy: $top/examples/policy.yaml
state: $work/state.db
control_socket: $work/control.sock
log: { level: warn }
YAML
"$bin/daemon/approvald" --config "$work/approvald.yaml" 2>"$work/approvald.log" &
ad_pid=$!
for _ in $(seq 200); do
	"$bin/ctl/approvalctl" status --socket "$work/control.sock" 2>/dev/null | grep -Eq '"ready": *true' && break
	sleep 0.05
done
"$bin/ctl/approvalctl" status --socket "$work/control.sock" | grep -o '"completed": *[0-9]*'
sleep 2
t0=$(awk '{print $14 + $15}' /proc/$ad_pid/stat)
sleep 30
t1=$(awk '{print $14 + $15}' /proc/$ad_pid/stat)
awk -v n="$N" -v rss="$(awk '/VmRSS/ {print $2}' /proc/$ad_pid/status)" \
	-v hwm="$(awk '/VmHWM/ {print $2}' /proc/$ad_pid/status)" \
	-v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {
	printf "stored=%d rss_kb=%d peak_rss_kb=%d idle_cpu_30s=%.3f%% (%d ticks)\n",
	    n, rss, hwm, 100 * ticks / hz / 30, ticks
}'
