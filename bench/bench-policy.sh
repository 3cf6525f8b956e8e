#!/usr/bin/env bash
# Policy decision latency for 100 and 1,000 generated rules over the
# fixtures (median and p99 ns per decision). Usage: bench-policy.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
bin="$build/bench/bench_policy"
if [ ! -x "$bin" ]; then
	cmake --build "$build" --target bench_policy >/dev/null
fi
for n in 100 1000; do
	"$bin" "$n" "$src"
done
