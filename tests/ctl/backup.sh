#!/usr/bin/env bash
# approvalctl backup: the copy holds what the source holds (replay of both
# reads the same history), passes `audit verify`, is 0600, never
# overwrites, and a failed backup leaves no file behind.
set -euo pipefail
ctl=$1 fill=$2 policy=$3
w=$(mktemp -d /tmp/approvald-backup.XXXXXX)
trap 'rm -rf "$w"' EXIT
fail() { echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }

"$fill" "$w/state.db" 40 >/dev/null
"$ctl" backup --state "$w/state.db" "$w/copy.db" >/dev/null || fail "backup exited $?"
[ "$(stat -c %a "$w/copy.db")" = 600 ] || fail "copy mode $(stat -c %a "$w/copy.db")"
"$ctl" audit verify --state "$w/copy.db" >/dev/null || fail "audit verify refuses the copy"
"$ctl" replay "$policy" --state "$w/state.db" --since P5000D >"$w/src.txt" 2>&1 || true
"$ctl" replay "$policy" --state "$w/copy.db" --since P5000D >"$w/copy.txt" 2>&1 || true
grep -q 40 "$w/src.txt" || fail "replay of the source does not see its 40 requests: $(cat "$w/src.txt")"
sed -i "s|$w/state.db|DB|g" "$w/src.txt"; sed -i "s|$w/copy.db|DB|g" "$w/copy.txt"
diff -u "$w/src.txt" "$w/copy.txt" || fail "the copy reads differently from the source"

sum=$(md5sum <"$w/copy.db")
if "$ctl" backup --state "$w/state.db" "$w/copy.db" 2>/dev/null; then fail "overwrote an existing file"; fi
[ "$(md5sum <"$w/copy.db")" = "$sum" ] || fail "the existing file changed"
if "$ctl" backup --state "$w/missing.db" "$w/none.db" 2>/dev/null; then fail "backed up a missing state"; fi
[ ! -e "$w/none.db" ] || fail "a failed backup left a file"
"$ctl" backup --state "$w/state.db" 2>/dev/null && fail "accepted a missing OUT" || [ $? -eq 2 ] || fail "usage error is not exit 2"
echo "1 passed, 0 failed"
