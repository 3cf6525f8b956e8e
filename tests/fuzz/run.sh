#!/usr/bin/env bash
# Build the config/ libFuzzer targets with clang (ASan + UBSan) into
# BUILD_DIR/fuzz and run each for a bounded time. Fails on any crash, leak
# or timeout. Exits 0 with a clear message only when clang is absent.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
secs=${FUZZ_SECONDS:-20}
out="$build/fuzz"
mkdir -p "$out"

if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz: SKIPPED: clang is not installed (apt-get install clang libclang-rt-14-dev)"
	exit 0
fi
flags="-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
deps=$(pkg-config --cflags --libs yaml-0.1 json-c openssl)
csrc=$(ls "$src"/config/*.c)
for t in policy request; do
	# shellcheck disable=SC2086
	if ! clang $flags -I"$src/config" "$src/tests/fuzz/fuzz_$t.c" $csrc $deps \
		-o "$out/fuzz_$t" 2>"$out/fuzz_$t.build.log"; then
		cat "$out/fuzz_$t.build.log" >&2
		echo "fuzz: FAILED to build fuzz_$t with clang (is libFuzzer's runtime, libclang-rt-*-dev, installed?)" >&2
		exit 1
	fi
done
for t in policy request; do
	corpus="$out/corpus-$t"
	mkdir -p "$corpus"
	cp -n "$src/tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true
	echo "fuzz: running fuzz_$t for ${secs}s"
	(cd "$out" && ASAN_OPTIONS=detect_leaks=1 "$out/fuzz_$t" \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 "$corpus" \
		>"$out/fuzz_$t.log" 2>&1) || {
		tail -50 "$out/fuzz_$t.log" >&2
		echo "fuzz: fuzz_$t FAILED (crash, leak or timeout; artifacts in $out)" >&2
		exit 1
	}
	grep -E "stat::number_of_executed_units|Done" "$out/fuzz_$t.log" || true
done
echo "fuzz: ok"
