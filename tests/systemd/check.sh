#!/usr/bin/env bash
# systemd unit checks: `systemd-analyze verify` clean and
# `systemd-analyze security --offline=yes` exposure <= 1.5.
set -euo pipefail
src=$1 bin=$2
# No core dumps of a process that holds tokens (issue 14), checked even
# where systemd-analyze is absent.
if ! grep -qx 'LimitCORE=0' "$src/systemd/approvald.service"; then
	echo "approvald.service: LimitCORE=0 missing"; exit 1
fi
if ! command -v systemd-analyze >/dev/null; then
	echo "systemd-analyze not present: other unit checks skipped"
	exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/sbin/approvald|$bin|g" "$src/systemd/approvald.service" >"$dir/approvald.service"
# `verify` runs man(1) on the Documentation= pages: look in the build tree.
# Without man(1) on the machine there is nothing to look the pages up with
# (tests/package checks they are installed).
man=${3:-}
[ -n "$man" ] && export MANPATH=$man
manopt=
command -v man >/dev/null || manopt=--man=no
out=$(systemd-analyze verify $manopt "$dir/approvald.service" 2>&1 || true)
if [ -n "$out" ]; then
	echo "systemd-analyze verify:"; echo "$out"; exit 1
fi
line=$(systemd-analyze security --offline=yes "$dir/approvald.service" 2>&1 | grep 'Overall exposure level')
echo "$line"
level=$(echo "$line" | sed -E 's/.*: ([0-9]+\.[0-9]+).*/\1/')
awk -v l="$level" 'BEGIN { exit !(l <= 1.5) }' || { echo "exposure $level > 1.5"; exit 1; }
echo "1 passed, 0 failed"
