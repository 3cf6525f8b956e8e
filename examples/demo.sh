#!/usr/bin/env bash
# make demo: graph-emulator with the demo tenant, approvald with the example
# policy, the seed requests flowing through, and a readable timeline.
set -euo pipefail
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/$build"
work=$(mktemp -d /tmp/approvald-demo.XXXXXX)
emu_pid= ad_pid=
cleanup() {
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "demo failed; last lines of the logs:" >&2
		tail -n 15 "$work"/approvald.log "$work"/emulator.log >&2 2>/dev/null || true
	fi
	[ -n "$ad_pid" ] && kill -TERM "$ad_pid" 2>/dev/null && wait "$ad_pid" 2>/dev/null || true
	[ -n "$emu_pid" ] && kill -TERM "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\033[1m%s\033[0m\n' "$*"; }
json_field() { # file field: first string value of "field" in a JSON file
	grep -o "\"$2\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" "$1" | head -1 | sed 's/.*:[[:space:]]*"\(.*\)"/\1/'
}
wait_for() { # seconds command...: run until it succeeds or time runs out
	local t=$(( $1 * 10 )); shift
	until "$@" >/dev/null 2>&1; do t=$((t - 1)); [ $t -gt 0 ] || return 1; sleep 0.1; done
}

tenant="$top/examples/demo-tenant.json"
tls=()
scheme=http
if [ -f "$bin/tls/server.pem" ]; then
	tls=(--tls-cert "$bin/tls/server.pem" --tls-key "$bin/tls/server-key.pem")
	scheme=https
fi

say "1. Starting graph-emulator with the demo tenant ($scheme, loopback)"
"$bin/emulator/graph-emulator" --listen 127.0.0.1:0 --fixture "$tenant" "${tls[@]}" \
	>"$work/emulator.out" 2>"$work/emulator.log" &
emu_pid=$!
wait_for 10 grep -q 'listening on' "$work/emulator.out"
url=$(sed -n 's/^listening on //p' "$work/emulator.out" | head -1)
echo "   Graph and login endpoints at $url"
curl_ca=()
[ "$scheme" = https ] && curl_ca=(--cacert "$bin/tls/ca.pem")

say "2. Starting approvald with examples/policy.yaml"
mkdir -m 0700 "$work/secrets"
umask 077
json_field "$tenant" clientSecret >"$work/secrets/client-secret"
json_field "$tenant" token >"$work/secrets/approver-token"
cat >"$work/approvald.yaml" <<YAML
graph:
  url: $url
  login_url: $url
  tenant: $(json_field "$tenant" tenantId)
  client_id: $(json_field "$tenant" clientId)
  client_secret_file: secrets/client-secret
  approver_token_file: secrets/approver-token
$( [ "$scheme" = https ] && echo "  ca_file: $bin/tls/ca.pem" )
sources:
  permissions: { enabled: true, poll_interval: PT1S }
  group: { enabled: true, poll_interval: PT1S }
  overlap: PT1M
policy: $top/examples/policy.yaml
state: $work/state.db
control_socket: $work/control.sock
http:
  listen: 127.0.0.1:0
log: { level: info, format: text }
YAML
"$bin/daemon/approvald" --config "$work/approvald.yaml" 2>"$work/approvald.log" &
ad_pid=$!
ctl() { "$bin/ctl/approvalctl" "$1" --socket "$work/control.sock" "${@:2}"; }
is_ready() { ctl status 2>/dev/null | grep -Eq '"ready": *true'; }
wait_for 20 is_ready
echo "   ready: $(grep -o 'http: listening on .*' "$work/approvald.log" | head -1)"

say "3. alex@contoso.com submits the six seed requests (AWS, Azure, GCP)"
for f in aws-policy aws-action azure-action azure-role gcp-action gcp-role; do
	code=$(curl -sS "${curl_ca[@]}" -o /dev/null -w '%{http_code}' -X POST "$url/_emulator/requests" \
		-H 'Content-Type: application/json' \
		--data-binary "{\"requestor\":\"alex@contoso.com\",\"body\":$(cat "$top/examples/requests/permissions-request-$f.json")}")
	printf '   %-14s -> Graph %s\n' "$f" "$code"
done

say "4. alex activates a PIM for Groups membership twice (one with a thin justification)"
submit_group() { # label body
	code=$(curl -sS "${curl_ca[@]}" -o /dev/null -w '%{http_code}' -X POST "$url/_emulator/requests" \
		-H 'Content-Type: application/json' \
		--data-binary "{\"requestor\":\"alex@contoso.com\",\"source\":\"group\",\"body\":$2}")
	printf '   %-14s -> Graph %s\n' "$1" "$code"
}
group_body=$(cat "$top/examples/requests/group-request-self-activate.json")
submit_group self-activate "$group_body"
submit_group thin-reason "$(sed 's/"justification": *"[^"]*"/"justification": "x"/' <<<"$group_body")"

say "5. Waiting for approvald to decide"
settled() {
	local out
	out=$(ctl list) || return 1
	! grep -Eq '"state": *"(new|evaluating|approving|rejecting|canceling)"' <<<"$out" &&
		[ "$(grep -c '"key"' <<<"$out")" -ge 8 ]
}
wait_for 30 settled

say "6. Timeline (what approvald decided, and why)"
ctl timeline
say "7. What Graph saw (emulator ground truth)"
curl -sS "${curl_ca[@]}" "$url/_emulator/truth" | tr '{' '\n' |
	sed -n 's/.*"requestId" *: *"\([^"]*\)".*"action" *: *"\([^"]*\)".*/   \2  \1/p'
echo "   (requests with no line were left to humans: ignored, or waiting in a stage)"
say "Done. approvald stops cleanly:"
kill -TERM "$ad_pid"; wait "$ad_pid" && echo "   approvald exited 0"; ad_pid=
