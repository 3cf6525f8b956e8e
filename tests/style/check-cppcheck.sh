#!/bin/sh
# cppcheck (warning, portability, performance) over every C file the build
# compiles (from BUILD/compile_commands.json), with the project's include
# directories: a CI gate that fails on any finding. Each suppression is in
# tests/style/cppcheck.supp or inline (/* cppcheck-suppress id */) with
# its reason. Usage: check-cppcheck.sh SOURCE-DIR BUILD-DIR
set -eu
src=$(cd "${1:?usage: check-cppcheck.sh SOURCE-DIR BUILD-DIR}" && pwd)
build=$(cd "${2:?usage: check-cppcheck.sh SOURCE-DIR BUILD-DIR}" && pwd)
command -v cppcheck >/dev/null || { echo "cppcheck missing (make check-deps)"; exit 1; }
. "$src/tests/style/sources.sh"
n=$(echo "$files" | wc -l)
inc=
for d in $incdirs; do
	inc="$inc -I$d"
done
start=$(date +%s)
# -D_GNU_SOURCE as the build compiles (and only that configuration); no
# system headers: cppcheck knows libc through its own library file.
# shellcheck disable=SC2086
if out=$(cd "$src" && cppcheck -j "${JOBS:-$(nproc 2>/dev/null || echo 2)}" --quiet --language=c --std=c11 \
	--library=posix,gnu,libcurl,openssl,sqlite3 \
	--library="$src/tests/style/cppcheck.cfg" --platform=unix64 -D_GNU_SOURCE $inc \
	--enable=warning,portability,performance --inline-suppr \
	--suppressions-list="$src/tests/style/cppcheck.supp" \
	--error-exitcode=1 \
	--template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
	$files 2>&1); then
	echo "$n files checked by $(cppcheck --version), no findings ($(($(date +%s) - start))s)"
	exit 0
fi
echo "$out" | sed "s|^$src/||"
echo
echo "cppcheck found the above in $n files ($(($(date +%s) - start))s)"
exit 1
