#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan + UBSan) into BUILD_DIR/fuzz
# and run each for a bounded time (FUZZ_SECONDS each; FUZZ_TARGETS picks
# some): config/ (policy, request, stages: the stored stages verdict) and
# the daemon's network-facing parsers in daemon/sources/parse.c
# (hook_graph, hook_evaluate, link_form, graph_resp).
# Each runs with its dictionary (<target>.dict) when there is one, from
# the kept corpus in corpus/<target>/. Fails on any crash, leak or
# timeout. Exits 0 with a clear message only when clang is absent.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
secs=${FUZZ_SECONDS:-20}
mkdir -p "$build"
out="$(cd "$build" && pwd)/fuzz"
mkdir -p "$out"

if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz: SKIPPED: clang is not installed (apt-get install clang libclang-rt-14-dev)"
	exit 0
fi
flags="-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
deps=$(pkg-config --cflags --libs yaml-0.1 json-c openssl)
ddeps=$(pkg-config --cflags --libs json-c openssl libevent libcurl sqlite3)
csrc=$(ls "$src"/config/*.c)
dsrc="$src/daemon/sources/parse.c $src/daemon/sources/adapter.c $src/daemon/base/json.c"
dinc="-I$src/config -I$src/statemachine"
for room in "$src"/daemon/*/; do dinc="$dinc -I$room"; done
dinc="$dinc -I$src/daemon"
config_targets="policy request stages"
daemon_targets="hook_graph hook_evaluate link_form graph_resp"
targets=${FUZZ_TARGETS:-"$config_targets $daemon_targets"}
for t in $targets; do
	case " $config_targets " in
	*" $t "*) what="-I$src/config $csrc $deps" ;;
	*) what="$dinc $dsrc $ddeps" ;;
	esac
	# shellcheck disable=SC2086
	if ! clang $flags "$src/tests/fuzz/fuzz_$t.c" $what \
		-o "$out/fuzz_$t" 2>"$out/fuzz_$t.build.log"; then
		cat "$out/fuzz_$t.build.log" >&2
		echo "fuzz: FAILED to build fuzz_$t with clang (is libFuzzer's runtime, libclang-rt-*-dev, installed?)" >&2
		exit 1
	fi
done
for t in $targets; do
	corpus="$out/corpus-$t"
	mkdir -p "$corpus"
	cp -n "$src/tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true
	dict=
	if [ -f "$src/tests/fuzz/$t.dict" ]; then
		dict="-dict=$src/tests/fuzz/$t.dict"
	fi
	echo "fuzz: running fuzz_$t for ${secs}s"
	# shellcheck disable=SC2086
	(cd "$out" && ASAN_OPTIONS=detect_leaks=1 "$out/fuzz_$t" $dict \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 "$corpus" \
		>"$out/fuzz_$t.log" 2>&1) || {
		tail -50 "$out/fuzz_$t.log" >&2
		echo "fuzz: fuzz_$t FAILED (crash, leak or timeout; artifacts in $out)" >&2
		exit 1
	}
	grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|Done" \
		"$out/fuzz_$t.log" || true
done
echo "fuzz: ok"
