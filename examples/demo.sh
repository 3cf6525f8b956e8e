#!/usr/bin/env bash
# make demo: graph-emulator with the demo tenant, approvald with the example
# policy, the seed requests flowing through, and a readable timeline.
set -euo pipefail
. "$(dirname "$0")/stack.sh"
stack_init "${1:-build}"

say() { printf '\033[1m%s\033[0m\n' "$*"; }
submit() { # label source body
	local code
	code=$(stack_curl -o /dev/null -w '%{http_code}' -X POST "$url/_emulator/requests" \
		-H 'Content-Type: application/json' \
		--data-binary "{\"requestor\":\"alex@contoso.com\",\"source\":\"$2\",\"body\":$3}")
	printf '   %-14s -> Graph %s\n' "$1" "$code"
}

say "1. Starting graph-emulator with the demo tenant (HTTPS, loopback)"
stack_emulator
echo "   Graph and login endpoints at $url"

say "2. Starting approvald with examples/policy.yaml"
stack_config "  permissions: { enabled: true, poll_interval: PT1S }
  group: { enabled: true, poll_interval: PT1S }" info
stack_daemon
echo "   ready: $(grep -o 'http: listening on .*' "$work/approvald.log" | head -1)"

say "3. alex@contoso.com submits the six seed requests (AWS, Azure, GCP)"
for f in aws-policy aws-action azure-action azure-role gcp-action gcp-role; do
	submit "$f" permissions "$(cat "$top/examples/requests/permissions-request-$f.json")"
done

say "4. alex activates a PIM for Groups membership twice (one with a thin justification)"
group_body=$(cat "$top/examples/requests/group-request-self-activate.json")
submit self-activate group "$group_body"
submit thin-reason group "$(sed 's/"justification": *"[^"]*"/"justification": "x"/' <<<"$group_body")"

say "5. Waiting for approvald to decide"
settled() {
	local out
	out=$(stack_ctl list) || return 1
	! grep -Eq '"state": *"(new|evaluating|approving|rejecting|canceling)"' <<<"$out" &&
		[ "$(grep -c '"key"' <<<"$out")" -ge 8 ]
}
wait_for 30 settled

say "6. Timeline (what approvald decided, and why)"
stack_ctl timeline

say "7. What Graph saw (emulator ground truth)"
stack_curl "$url/_emulator/truth" | tr '{' '\n' |
	sed -n 's/.*"requestId" *: *"\([^"]*\)".*"action" *: *"\([^"]*\)".*/   \2  \1/p'
echo "   (requests with no line were left to humans: ignored, or waiting in a stage)"

say "Done. approvald stops cleanly:"
kill -TERM "$ad_pid"
wait "$ad_pid" && echo "   approvald exited 0"
ad_pid=
