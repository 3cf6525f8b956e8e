#!/usr/bin/env bash
# approvalctl's conventions, table-driven from its own command table
# (`approvalctl help`): every command answers --help on stdout with exit 0,
# refuses an option its usage does not name with exit 2 and the usage on
# stderr; -o takes json or table; list --state refuses an unknown state
# before contacting anything; the completion scripts parse and name every
# command; --version names the version.
set -uo pipefail
ctl=$1
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
pass=0 fail=0
check() { # name, want-exit, got-exit, condition...
	local name=$1 want=$2 got=$3; shift 3
	if [ "$got" -eq "$want" ] && "$@"; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "FAIL: $name (exit $got, want $want)"; sed 's/^/  out: /' "$out"; sed 's/^/  err: /' "$err"; fi
}
has() { grep -q -- "$2" "$1"; }
empty() { [ ! -s "$1" ]; }

cmds=$("$ctl" help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
[ "$(echo "$cmds" | wc -l)" -ge 15 ] || { echo "FAIL: too few commands in \`approvalctl help\`"; exit 1; }
for c in $cmds; do
	"$ctl" "$c" --help >"$out" 2>"$err"; rc=$?
	check "$c --help" 0 $rc has "$out" "^usage: approvalctl $c"
	"$ctl" "$c" -h >"$out" 2>"$err"; rc=$?
	check "$c -h" 0 $rc has "$out" "^usage: approvalctl $c"
	"$ctl" "$c" --no-such-option >"$out" 2>"$err"; rc=$?
	check "$c --no-such-option" 2 $rc has "$err" "unknown option \`--no-such-option\`"
	check "$c --no-such-option: usage on stderr" 2 $rc has "$err" "^usage: approvalctl $c"
done
"$ctl" list --state pendng --socket /nonexistent >"$out" 2>"$err"; rc=$?
check "list --state pendng" 2 $rc has "$err" "no state \`pendng\`"
"$ctl" status -o yaml --socket /nonexistent >"$out" 2>"$err"; rc=$?
check "status -o yaml" 2 $rc has "$err" "json or table"
# --output is -o's long name; =FORMAT and an attached -oFORMAT as well
for o in "--output json" "--output=json" "-ojson" "-o=json" "-o json"; do
	# shellcheck disable=SC2086
	"$ctl" status $o --socket /nonexistent >"$out" 2>"$err"; rc=$?
	check "status $o (reaches the socket)" 1 $rc has "$err" "is approvald running"
done
"$ctl" list --output yaml --socket /nonexistent >"$out" 2>"$err"; rc=$?
check "list --output yaml" 2 $rc has "$err" "json or table"
"$ctl" check --output json >"$out" 2>"$err"; rc=$?
check "check --output (an offline command has no -o)" 2 $rc has "$err" "unknown option \`--output\`"
"$ctl" show >"$out" 2>"$err"; rc=$?
check "show without a key" 2 $rc has "$err" "^usage: approvalctl show"
# a command called without its arguments: its usage once, from the table
for c in check explain test show retry decide import-policy audit replay backup completion; do
	"$ctl" $c </dev/null >"$out" 2>"$err"; rc=$?
	check "$c without arguments: one usage" 2 $rc [ "$(grep -c '^usage:' "$err")" -eq 1 ]
done
"$ctl" nosuchcommand >"$out" 2>"$err"; rc=$?
check "unknown command" 2 $rc has "$err" "unknown command"
"$ctl" --version >"$out" 2>"$err"; rc=$?
check "--version" 0 $rc has "$out" "^approvalctl [0-9][0-9.]*$"
"$ctl" --help >"$out" 2>"$err"; rc=$?
check "--help" 0 $rc empty "$err"
for sh in bash zsh; do
	"$ctl" completion $sh >"$out" 2>"$err"; rc=$?
	if [ $sh = zsh ] && command -v zsh >/dev/null; then
		check "completion $sh" 0 $rc zsh -n "$out"
	else
		check "completion $sh" 0 $rc bash -n "$out"
	fi
	for c in $cmds; do
		check "completion $sh names $c" 0 0 has "$out" " $c\\b\\|\"$c \\|^	$c)"
	done
done
"$ctl" completion fish >"$out" 2>"$err"; rc=$?
check "completion fish" 2 $rc has "$err" "bash or zsh"
# the bash completion completes a command's options from its usage
"$ctl" completion bash >"$out"
# shellcheck disable=SC1090
source "$out"
COMP_WORDS=(approvalctl list --st); COMP_CWORD=2; _approvalctl
check "bash completes list --st" 0 0 [ "${COMPREPLY[*]}" = "--state" ]
COMP_WORDS=(approvalctl status --ou); COMP_CWORD=2; _approvalctl
check "bash completes status --ou" 0 0 [ "${COMPREPLY[*]}" = "--output" ]
COMP_WORDS=(approvalctl re); COMP_CWORD=1; _approvalctl
check "bash completes re" 0 0 [ "${COMPREPLY[*]}" = "reload retry replay" ]
# zsh completes on the first TAB (autoloaded from fpath, as installed)
if command -v zsh >/dev/null; then
	zdir=$(mktemp -d)
	"$ctl" completion zsh >"$zdir/_approvalctl"
	ln -s "$(cd "$(dirname "$ctl")" && pwd)/$(basename "$ctl")" "$zdir/approvalctl"
	here=$(dirname "$0")
	for t in "approvalctl rel|approvalctl reload" "approvalctl list --st|approvalctl list --state" "approvalctl status --ou|approvalctl status --output"; do
		timeout 10 zsh -f "$here/zsh-complete.zsh" "$zdir" "${t%%|*}" "${t#*|}" >"$out" 2>"$err"; rc=$?
		check "zsh completes \`${t%%|*}\` on the first TAB" 0 $rc has "$out" "${t#*|}"
	done
	rm -rf "$zdir"
else
	echo "zsh not installed: zsh completion checked for syntax by bash only"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
