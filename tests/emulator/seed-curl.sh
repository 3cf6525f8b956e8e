#!/bin/sh
# Drives graph-emulator with curl command lines as the seed documents show
# them (POST the fixtures, list changes, get a change, cancel) and checks
# the documented status codes. Usage: seed-curl.sh GRAPH-EMULATOR REPO
set -eu
emu=$1
repo=$2
fx=$repo/tests/emulator/fixtures
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
mkfifo "$work/out"
"$emu" --listen 127.0.0.1:0 --fixture "$repo/examples/demo-tenant.json" \
	>"$work/out" &
pid=$!
read -r line <"$work/out"
base=${line#listening on }
graph=$base
fail=0
check() { # expected actual what
	if [ "$1" != "$2" ]; then
		echo "FAIL: $3: expected $1, got $2"
		fail=1
	else
		echo "ok: $3 -> $2"
	fi
}
json() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -n 1; }

token=$(curl -s -X POST "$base/_emulator/token" -d '{"user":"alex@contoso.com"}' | json access_token)
auth="Authorization: Bearer $token"

# Seed 001/003: POST .../scheduledPermissionsRequests, Content-Type JSON -> 201
for f in aws-policy aws-action azure-action azure-role gcp-action gcp-role; do
	code=$(curl -s -o "$work/$f.json" -w '%{http_code}' -X POST \
		"$graph/beta/identityGovernance/permissionsManagement/scheduledPermissionsRequests" \
		-H "$auth" -H 'Content-Type: application/json' \
		-d @"$fx/permissions-request-$f.json")
	check 201 "$code" "POST scheduledPermissionsRequests ($f)"
done
id=$(json id <"$work/aws-policy.json")

# Seed 003: GET .../permissionsRequestChanges -> 200
code=$(curl -s -o "$work/changes.json" -w '%{http_code}' -H "$auth" \
	"$graph/beta/identityGovernance/permissionsManagement/permissionsRequestChanges")
check 200 "$code" "GET permissionsRequestChanges"
change=$(json id <"$work/changes.json")

# Seed 003: ?$filter=modificationDateTime gt {t} -> 200 with our 6 records
code=$(curl -s -o "$work/filtered.json" -w '%{http_code}' -H "$auth" -G \
	--data-urlencode '$filter=modificationDateTime gt 2023-02-06T12:15:00Z' \
	"$graph/beta/identityGovernance/permissionsManagement/permissionsRequestChanges")
check 200 "$code" "GET permissionsRequestChanges?\$filter=modificationDateTime gt t"
n=$(grep -o '"statusDetail":"submitted"' "$work/filtered.json" | wc -l)
check 6 "$n" "submitted change records"

# Seed 003: GET .../permissionsRequestChanges/{id} -> 200
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" \
	"$graph/beta/identityGovernance/permissionsManagement/permissionsRequestChanges/$change")
check 200 "$code" "GET permissionsRequestChanges/{id}"

# Seed 003: POST .../permissionsManagement/scheduledPermissionsRequests/{id}/cancelAll -> 204
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$auth" \
	"$graph/beta/permissionsManagement/scheduledPermissionsRequests/$id/cancelAll")
check 204 "$code" "POST scheduledPermissionsRequests/{id}/cancelAll"
code=$(curl -s -o "$work/after.json" -w '%{http_code}' -H "$auth" -G \
	--data-urlencode "\$filter=id eq '$id'" \
	"$graph/beta/identityGovernance/permissionsManagement/scheduledPermissionsRequests")
check canceled "$(json statusDetail <"$work/after.json")" "statusDetail after cancel"

# Seed 004: POST .../privilegedAccess/group/assignmentScheduleRequests -> 201
# adminAssign by an administrator (the CISO), selfActivate by alex, who is
# eligible; alex cannot adminAssign himself (not a member, not an admin).
admin=$(curl -s -X POST "$base/_emulator/token" -d '{"user":"ciso@contoso.com"}' | json access_token)
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	"$graph/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleRequests" \
	-H "$auth" -H 'Content-Type: application/json' \
	-d @"$fx/group-request-admin-assign.json")
check 403 "$code" "POST assignmentScheduleRequests (admin-assign by a non-admin)"
for f in admin-assign self-activate; do
	if [ "$f" = admin-assign ]; then h="Authorization: Bearer $admin"; else h=$auth; fi
	code=$(curl -s -o "$work/g-$f.json" -w '%{http_code}' -X POST \
		"$graph/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleRequests" \
		-H "$h" -H 'Content-Type: application/json' \
		-d @"$fx/group-request-$f.json")
	check 201 "$code" "POST assignmentScheduleRequests ($f)"
done
check Provisioned "$(json status <"$work/g-admin-assign.json")" "adminAssign status"
check PendingApproval "$(json status <"$work/g-self-activate.json")" "selfActivate status"

# Without a token Graph answers 401
code=$(curl -s -o /dev/null -w '%{http_code}' \
	"$graph/beta/identityGovernance/permissionsManagement/permissionsRequestChanges")
check 401 "$code" "GET without token"

kill "$pid"
wait "$pid" && rc=0 || rc=$?
pid=
check 0 "$rc" "exit status after SIGTERM"
exit $fail
