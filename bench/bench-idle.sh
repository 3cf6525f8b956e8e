#!/usr/bin/env bash
# approvald with 100,000 settled requests in its store and nothing to do:
# resident memory, and CPU used over 30 s of idling (30 s poll interval).
set -euo pipefail
. "$(dirname "$0")/../examples/stack.sh"
stack_init "${1:-build}"
N=${BENCH_STORED:-100000}

"$bin/bench/store_fill" "$work/state.db" "$N"
stack_emulator
stack_config "  permissions: { enabled: true, poll_interval: PT30S }" warn
stack_daemon
stack_ctl status -o json | grep -o '"completed": *[0-9]*'
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
