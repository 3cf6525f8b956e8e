#!/bin/sh
# `approvald --check` (and start-up) refuse an empty or short webhook
# secret or Graph clientState (< 32 bytes, as decision links) with a clear
# message; a long enough one passes.
# usage: check-secrets.sh APPROVALD SOURCE_DIR
set -u
bin=$1
src=$2
dir=$(mktemp -d /tmp/approvald-check-XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/secrets"
umask 077
printf 'app-secret\n' >"$dir/secrets/client-secret"
good=0123456789abcdef0123456789abcdef
cat >"$dir/approvald.yaml" <<EOY
graph:
  url: http://127.0.0.1:9
  login_url: http://127.0.0.1:9
  tenant: contoso.onmicrosoft.com
  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e
  client_secret_file: secrets/client-secret
policy: $src/examples/policy.yaml
state: $dir/state.db
control_socket: $dir/control.sock
http:
  listen: 127.0.0.1:0
  hook_secret_file: secrets/hook-secret
  graph_client_state_file: secrets/client-state
EOY
rc=0
# expect WANT_EXIT WANT_TEXT: run --check, compare
expect() {
	out=$("$bin" --config "$dir/approvald.yaml" --check 2>&1)
	got=$?
	if [ "$got" -ne "$1" ]; then
		echo "FAIL ($3): exit $got, want $1"
		echo "$out"
		rc=1
	elif ! printf '%s' "$out" | grep -q -- "$2"; then
		echo "FAIL ($3): no \"$2\" in:"
		echo "$out"
		rc=1
	else
		echo "ok: $3"
	fi
	if printf '%s' "$out" | grep -q "short-secret-value"; then
		echo "FAIL ($3): the secret itself was printed"
		rc=1
	fi
}
printf '\n' >"$dir/secrets/hook-secret"
printf '%s\n' "$good" >"$dir/secrets/client-state"
expect 1 "hook-secret: http.hook_secret_file: the secret is empty" "empty hook secret"
printf 'short-secret-value\n' >"$dir/secrets/hook-secret"
expect 1 "hook-secret: http.hook_secret_file: the secret is too short (18 bytes).*at least 32" "short hook secret"
printf '%s\n' "$good" >"$dir/secrets/hook-secret"
: >"$dir/secrets/client-state"
expect 1 "client-state: http.graph_client_state_file: the secret is empty" "empty clientState"
printf 'short-secret-value' >"$dir/secrets/client-state"
expect 1 "client-state: http.graph_client_state_file: the secret is too short" "short clientState"
printf '%s\n' "$good" >"$dir/secrets/client-state"
expect 0 "is valid" "32-byte secrets"
# --quiet (ExecStartPre): nothing at all when the daemon would start, the
# problems only when it would not
out=$("$bin" --config "$dir/approvald.yaml" --check --quiet 2>&1)
if [ $? -ne 0 ] || [ -n "$out" ]; then
	echo "FAIL (--quiet, valid): output or exit"; echo "$out"; rc=1
else
	echo "ok: --quiet says nothing on success"
fi
rm "$dir/secrets/client-secret"
out=$("$bin" --config "$dir/approvald.yaml" -q --check 2>&1)
if [ $? -ne 1 ] || [ "$(printf '%s\n' "$out" | wc -l)" -ne 2 ] ||
	! printf '%s' "$out" | grep -q "^$dir/secrets/client-secret: graph.client_secret_file: No such file or directory$"; then
	echo "FAIL (--quiet, missing client secret)"; echo "$out"; rc=1
else
	echo "ok: --quiet names the missing client secret"
fi
printf 'app-secret\n' >"$dir/secrets/client-secret"
# start-up refuses the same (it exits before binding anything else)
printf 'short-secret-value\n' >"$dir/secrets/hook-secret"
out=$("$bin" --config "$dir/approvald.yaml" 2>&1 </dev/null)
got=$?
if [ "$got" -eq 0 ] || ! printf '%s' "$out" | grep -q "too short"; then
	echo "FAIL (start-up): exit $got"
	echo "$out"
	rc=1
else
	echo "ok: start-up refused"
fi
exit $rc
