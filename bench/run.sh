#!/usr/bin/env bash
# make bench: run every bench/bench-*.sh against the build folder given.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
for b in "$here"/bench-*.sh; do
	[ -e "$b" ] || continue
	echo "== $(basename "$b")"
	"$b" "$build"
done
