#!/bin/sh
# Every C file of the project is as clang-format (.clang-format) leaves it:
# a CI gate, so style never needs a review comment. Usage: check-format.sh SRC
set -eu
src=${1:?usage: check-format.sh SOURCE-DIR}
command -v clang-format >/dev/null || { echo "clang-format missing (make deps)"; exit 1; }
cd "$src"
if [ -d .git ] && command -v git >/dev/null; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find . -name '*.[ch]' -not -path '*/node_modules/*' -not -path './build*' -not -path './out/*')
fi
n=$(echo "$files" | wc -l)
# one run over all files; each file that differs is named in a warning
if out=$(clang-format --dry-run -Werror $files 2>&1); then
	echo "$n files checked, all formatted"
	exit 0
fi
echo "$out" | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/not formatted: \1/p' | sort -u
echo "$n files checked; run clang-format -i on the files above (make format)"
exit 1
