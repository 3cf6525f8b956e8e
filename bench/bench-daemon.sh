#!/usr/bin/env bash
# approvald end to end: N auto-approvable requests waiting in the emulator,
# approvald started on an empty state; time from start until Graph has
# acknowledged every decision; peak RSS; bytes written per request.
set -euo pipefail
. "$(dirname "$0")/../examples/stack.sh"
stack_init "${1:-build}"
N=${BENCH_REQUESTS:-10000}

stack_emulator
stack_curl -X POST "$url/_emulator/generate" -H 'Content-Type: application/json' \
	-d "{\"count\":$N,\"requestor\":\"alex@contoso.com\",\"kinds\":[\"aws-policy\"]}" >/dev/null
stack_config "  permissions: { enabled: true, poll_interval: PT1S }" "${BENCH_LOG:-warn}"
# Every request approved by the policy: the example policy sends this kind
# of request to human stages.
cat >"$work/policy.yaml" <<'YAML'
version: 1
rules:
  - name: approve-all
    when: { source: permissions }
    decide: approve
    reason: every request is approved in this benchmark
default:
  decide: ignore
YAML
sed -i "s|^policy: .*|policy: $work/policy.yaml|" "$work/approvald.yaml"
# A known listener port, to read the store's counters from /metrics.
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s/listen: 127.0.0.1:0/listen: 127.0.0.1:$mport/" "$work/approvald.yaml"
decided() {
	stack_ctl status -o json 2>/dev/null | grep -o '"approved": *[0-9]*' | grep -o '[0-9]*$' || echo 0
}
start=$(date +%s.%N)
"$bin/daemon/approvald" --config "$work/approvald.yaml" 2>"$work/approvald.log" &
ad_pid=$!
# Until every decision is acknowledged by Graph (approved in the store
# means Graph answered 204); polled every 200 ms to cost little.
for _ in $(seq 1500); do [ "$(decided)" -ge "$N" ] && break; sleep 0.2; done
end=$(date +%s.%N)
n=$(decided)
rss=$(awk '/VmHWM/ {print $2}' /proc/$ad_pid/status)
# CPU seconds (user + system) of each process: less sensitive to a busy
# machine than the wall clock.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
ad_cpu=$(cpu_of "$ad_pid")
emu_cpu=$(cpu_of "$emu_pid")
wchar=$(awk '/^wchar/ {print $2}' /proc/$ad_pid/io)
# SQL statements and request-row reads and writes per decision (issue 15).
metrics=$(curl -s "http://127.0.0.1:$mport/metrics")
counter() { printf '%s\n' "$metrics" | awk -v m="$1" '$1 == m {print $2}'; }
stmts=$(counter approvald_store_statements_total)
rw=$(counter approvald_store_request_writes_total)
rr=$(counter approvald_store_request_reads_total)
truth=$(stack_curl "$url/_emulator/truth" | grep -o '"action": *"approve"' | wc -l)
awk -v n="$n" -v s="$start" -v e="$end" -v rss="$rss" -v truth="$truth" -v wchar="$wchar" \
    -v adc="$ad_cpu" -v emc="$emu_cpu" -v st="${stmts:-0}" -v rw="${rw:-0}" -v rr="${rr:-0}" 'BEGIN {
	printf "requests=%d graph_approvals=%d seconds=%.2f decisions_per_s=%.0f peak_rss_kb=%d written_kb_per_request=%.1f daemon_cpu_us_per_request=%.0f emulator_cpu_us_per_request=%.0f statements_per_request=%.1f request_writes_per_request=%.2f request_reads_per_request=%.2f\n",
	    n, truth, e - s, n / (e - s), rss, wchar / 1024 / n, adc * 1e6 / n, emc * 1e6 / n, st / n, rw / n, rr / n
}'
