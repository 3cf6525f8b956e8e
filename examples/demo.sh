#!/usr/bin/env bash
# make demo: graph-emulator with the demo tenant, approvald with the example
# policy, the seed requests flowing through, and a readable timeline.
set -euo pipefail
. "$(dirname "$0")/stack.sh"
stack_init "${1:-build}"

say() { printf '\033[1m%s\033[0m\n' "$*"; }
submit() { # label source body [requestor]; the new id in $last_id
	local out
	out=$(stack_curl -w '\n%{http_code}' -X POST "$url/_emulator/requests" \
		-H 'Content-Type: application/json' \
		--data-binary "{\"requestor\":\"${4:-alex@contoso.com}\",\"source\":\"$2\",\"body\":$3}")
	last_id=$(sed -n 's/^{"id":"\([^"]*\)".*/\1/p' <<<"$out")
	printf '   %-14s -> Graph %s\n' "$1" "$(tail -n 1 <<<"$out")"
}
package() { # package duration justification: an access package request body
	printf '{"requestType":"userAdd","assignment":{"accessPackageId":"%s"},"justification":"%s","schedule":{"expiration":{"type":"afterDuration","duration":"%s"}}}' \
		"$1" "$3" "$2"
}
finance=d7be3253-b9c6-4fab-adef-30d30de8da2b
external=a2e1ca1e-4e56-47d2-9daa-e2ba8d12a82b

say "1. Starting graph-emulator with the demo tenant (HTTPS, loopback)"
stack_emulator
echo "   Graph and login endpoints at $url"

say "2. Starting approvald with examples/policy.yaml"
stack_config "  permissions: { enabled: true, poll_interval: PT1S }
  group: { enabled: true, poll_interval: PT1S }
  access-package: { enabled: true, poll_interval: PT1S }" info
stack_daemon
echo "   ready: $(grep -o 'http: listening on .*' "$work/approvald.log" | head -1)"

say "3. alex@contoso.com submits the six seed requests (AWS, Azure, GCP)"
for f in aws-policy aws-action azure-action azure-role gcp-action gcp-role; do
	submit "$f" permissions "$(cat "$top/examples/requests/permissions-request-$f.json")"
done
echo "   (approvald looks each typed identityInfo.externalId up in the directory first:"
echo "    aws-action's rsn:alex@contoso.com and azure-action's alex@adatum.com name"
echo "    no directory user, so those two are identity-unverified and never auto-approved)"

say "4. alex activates a PIM for Groups membership twice (one with a thin justification), and ownership once"
group_body=$(cat "$top/examples/requests/group-request-self-activate.json")
submit self-activate group "$group_body"
submit thin-reason group "$(sed 's/"justification": *"[^"]*"/"justification": "x"/' <<<"$group_body")"
submit owner group "$(sed 's/"accessId": *"member"/"accessId": "owner"/' <<<"$group_body")"

say "5. Access packages: Finance reporting for a day and for a week, a guest, and the seed 002 package (for a partner guest)"
submit finance-day access-package "$(package $finance PT8H 'Need the Q1 close numbers for the board pack')"
submit finance-week access-package "$(package $finance P7D 'Quarter close support')"
week=$last_id
submit guest access-package "$(package $finance PT8H 'Audit engagement reporting')" 'kim_fabrikam.com#EXT#@contoso.com'
# Seed 002's policy admits only users of connected organizations
# (allowedTargetScope): Kim, a guest from Fabrikam, asks for it.
submit seed-002 access-package "$(package $external P30D 'Partner project kickoff')" 'kim_fabrikam.com#EXT#@contoso.com'

say "6. Waiting for approvald to decide"
settled() {
	local out
	out=$(stack_ctl list -o json) || return 1
	! grep -Eq '"state": *"(new|evaluating|approving|rejecting|canceling)"' <<<"$out" &&
		[ "$(grep -c '"key"' <<<"$out")" -ge "$1" ]
}
wait_for 30 settled 13

say "7. The week of Finance reporting waits for alex's manager, then the CISO"
# A decision is refused (and changes nothing) until the stage's approvers
# are resolved: retry until it is recorded.
wait_for 30 stack_ctl decide "access-package:$week" approve \
	--as alexmanager@contoso.com --reason 'quarter close, fine'
echo "   stage 1 approved by alexmanager@contoso.com (approvalctl decide)"
wait_for 30 stack_ctl decide "access-package:$week" approve \
	--as ciso@contoso.com --reason 'ok for a week'
echo "   stage 2 approved by ciso@contoso.com (approvalctl decide)"
approved() { stack_ctl show "access-package:$week" -o json | grep -Eq '"state": *"(approved|completed)"'; }
wait_for 30 approved

say "8. Timeline (what approvald decided, and why)"
stack_ctl timeline

say "9. What Graph saw (emulator ground truth)"
stack_curl "$url/_emulator/truth" | tr '{' '\n' |
	sed -n 's/.*"requestId" *: *"\([^"]*\)".*"action" *: *"\([^"]*\)".*/   \2  \1/p'
echo "   (requests with no line were left to humans: ignored, or waiting in a stage)"

say "Done. approvald stops cleanly:"
kill -TERM "$ad_pid"
wait "$ad_pid" && echo "   approvald exited 0"
ad_pid=
