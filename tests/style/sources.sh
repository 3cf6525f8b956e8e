# Sourced by the static-analysis gates: sets `files` (every C file of the
# source tree the build compiles, largest first, from BUILD's
# compile_commands.json, so moved or added files need no edit here) and
# `incdirs` (their -I directories inside the source or build tree).
# Needs src and build set to absolute paths.
db=$build/compile_commands.json
if [ ! -f "$db" ]; then
	echo "$db missing: configure the build first (CMAKE_EXPORT_COMPILE_COMMANDS)"
	exit 1
fi
# CMake writes one "file": line per entry; generated files (under the
# build tree) are not ours to fix.
files=$(sed -n 's/^[[:space:]]*"file":[[:space:]]*"\(.*\)",\{0,1\}[[:space:]]*$/\1/p' "$db" |
	grep "^$src/" | grep -v "^$build/" | sort -u)
if [ -z "$files" ]; then
	echo "no source files found in $db"
	exit 1
fi
# shellcheck disable=SC2086
files=$(ls -S $files)
incdirs=$(grep -o -- '-I[^ "]*' "$db" | sed 's/^-I//' | sort -u |
	grep -e "^$src/" -e "^$build/" || true)
