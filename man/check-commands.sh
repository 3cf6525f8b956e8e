#!/usr/bin/env bash
# Every approvalctl command (its usage lists the command table) has an
# `.It Cm NAME` entry in approvalctl(8), and every such entry is a command.
set -euo pipefail
ctl=$1 page=$2
code=$("$ctl" help 2>&1 | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' | LC_ALL=C sort -u)
man=$(sed -n 's/^\.It Cm \([a-z-]*\).*/\1/p' "$page" | LC_ALL=C sort -u)
[ -n "$code" ] || { echo "no commands in \`$ctl help\`"; exit 1; }
if [ "$code" != "$man" ]; then
	diff -u <(echo "$man") <(echo "$code") | sed 1,2d
	echo "approvalctl(8) and approvalctl's command table differ" \
		"(- only in $page, + only in the code): add or remove an \`.It Cm\` entry"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "$(echo "$code" | wc -l) commands documented; 1 passed, 0 failed"
