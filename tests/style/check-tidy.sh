#!/bin/sh
# clang-tidy over every C file the build compiles (the files and flags of
# BUILD/compile_commands.json; checks in .clang-tidy, narrowed for tests/
# and bench/ by their own), JOBS files at a time (default: one per core):
# a CI gate that fails on any finding. About 6 CPU-minutes (3 minutes on
# 2 idle cores). Usage: check-tidy.sh SOURCE-DIR BUILD-DIR
set -eu
src=$(cd "${1:?usage: check-tidy.sh SOURCE-DIR BUILD-DIR}" && pwd)
build=$(cd "${2:?usage: check-tidy.sh SOURCE-DIR BUILD-DIR}" && pwd)
tidy=$(command -v clang-tidy-14 || command -v clang-tidy) ||
	{ echo "clang-tidy missing (make check-deps)"; exit 1; }
. "$src/tests/style/sources.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
n=$(echo "$files" | wc -l)
start=$(date +%s)
# one log per file, so parallel runs do not interleave their lines
# shellcheck disable=SC2016
echo "$files" | xargs -P "${JOBS:-$(nproc 2>/dev/null || echo 2)}" -n 1 sh -c '
	log="$2/$(echo "$5" | tr / _).log"
	"$1" -p "$3" --quiet --header-filter="^$4/" "$5" >"$log" 2>&1 ||
		echo "$5" >"$log.failed"
' sh "$tidy" "$out" "$build" "$src" || true
secs=$(($(date +%s) - start))
# a header's finding shows once per file including it: report it once
findings=$(cat "$out"/*.log | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' |
	sed "s|^$src/||" | sort -u)
if [ -z "$findings" ] && ! ls "$out"/*.failed >/dev/null 2>&1; then
	echo "$n files checked by $($tidy --version | sed -n 's/.*version /clang-tidy /p'), no findings (${secs}s)"
	exit 0
fi
if [ -n "$findings" ]; then
	echo "$findings"
	echo
	echo "$(echo "$findings" | wc -l) findings in $n files (${secs}s); full output:"
	cat "$out"/*.log | sed "s|^$src/||"
else
	echo "clang-tidy failed without a finding:"
	cat "$out"/*.log
fi
exit 1
