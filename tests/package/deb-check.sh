#!/usr/bin/env bash
# make package-check: the .debs built by `make deb` (in $1) are lintian
# clean, unpack (dpkg -x) to exactly tests/package/deb-files.expected, mark
# /etc/approvald as conffiles, create the account before its folders, and
# work: the installed approvald accepts the installed configuration and,
# against the installed graph-emulator, approves one request.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/approvald-deb.XXXXXX)
root=$work/root
emu_pid= ad_pid=
cleanup() {
	[ -n "$ad_pid" ] && kill -TERM "$ad_pid" 2>/dev/null && wait "$ad_pid" 2>/dev/null || true
	[ -n "$emu_pid" ] && kill -TERM "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -n 20 "$work"/*.log 2>/dev/null || true; exit 1; }
debs=$(ls "$out"/approvald_*.deb "$out"/graph-emulator_*.deb)

echo "== lintian"
lintian --fail-on error,warning $debs 2>&1 | grep -v 'root privileges' || true
lintian --fail-on error,warning $debs >/dev/null 2>&1 || fail "lintian reports errors or warnings"

echo "== dpkg -x"
for d in $debs; do dpkg -x "$d" "$root"; done
(cd "$root" && find . \( -type f -o -type l \) | sed 's|^\.||' | LC_ALL=C sort) >"$work/files"
diff -u "$top/tests/package/deb-files.expected" "$work/files" ||
	fail "packaged files differ from tests/package/deb-files.expected (- expected, + packaged)"

echo "== maintainer scripts"
dpkg-deb -e "$out"/approvald_*.deb "$work/control"
printf '/etc/approvald/approvald.yaml\n/etc/approvald/policy.yaml\n' |
	diff -u - "$work/control/conffiles" || fail "conffiles"
su=$(grep -n 'systemd-sysusers' "$work/control/postinst" | head -1 | cut -d: -f1)
tf=$(grep -n 'systemd-tmpfiles' "$work/control/postinst" | head -1 | cut -d: -f1)
[ -n "$su" ] && [ -n "$tf" ] && [ "$su" -lt "$tf" ] ||
	fail "postinst must run systemd-sysusers before systemd-tmpfiles"
grep -q 'deb-systemd-invoke start' "$work/control/postinst" &&
	fail "postinst starts approvald before it is configured"

echo "== installed approvald --check on the installed configuration"
# valid; only what systemd provides at start may be missing here
chk=$("$root/usr/sbin/approvald" --config "$root/etc/approvald/approvald.yaml" --check --quiet 2>&1) || true
printf '%s\n' "$chk" | grep -v -e '^$' \
	-e '^/run/credentials/approvald\.service/[a-z-]*: graph\.[a-z_]*: No such file or directory$' \
	-e '^/var/lib/approvald: state: No such file or directory$' \
	-e '^/run/approvald: control_socket: No such file or directory$' \
	-e '^approvald: .*: [0-9]* problems*; the daemon would not start$' >/dev/null &&
	{ printf '%s\n' "$chk"; fail "installed approvald --check refuses /etc/approvald"; }

echo "== one decision: installed approvald against installed graph-emulator"
tenant=$root/usr/share/graph-emulator/demo-tenant.json
field() { grep -o "\"$2\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" "$1" | head -1 |
	sed 's/.*:[[:space:]]*"\(.*\)"/\1/'; }
wait_for() { # seconds command...: poll a condition, no fixed sleeps
	local t=$(($1 * 20)); shift
	until "$@" >/dev/null 2>&1; do t=$((t - 1)); [ $t -gt 0 ] || return 1; sleep 0.05; done
}
"$root/usr/bin/graph-emulator" --listen 127.0.0.1:0 --fixture "$tenant" \
	>"$work/emulator.out" 2>"$work/emulator.log" &
emu_pid=$!
wait_for 10 grep -q 'listening on' "$work/emulator.out" || fail "graph-emulator did not start"
url=$(sed -n 's/^listening on //p' "$work/emulator.out" | head -1)
(umask 077; mkdir "$work/secrets"
	field "$tenant" clientSecret >"$work/secrets/client-secret"
	field "$tenant" token >"$work/secrets/approver-token")
# The approver signs in through the tenant's public client (approvalctl's
# registration): the one whose apps[] entry says "publicClient": true.
pub=$(tr '\n' ' ' <"$tenant" | grep -o '"clientId": *"[^"]*"[^}]*"publicClient": *true' |
	sed 's/"clientId": *"\([^"]*\)".*/\1/' | head -1)
[ ${#pub} -eq 36 ] || fail "no public client in $tenant"
# The installed settings, pointed at the emulator and a private state.
sed -e "s|^graph:|graph:\n  url: $url\n  login_url: $url|" \
	-e "s|^  tenant: .*|  tenant: $(field "$tenant" tenantId)|" \
	-e "s|^  client_id: .*|  client_id: $(field "$tenant" clientId)\n  approver_client_id: $pub|" \
	-e "s|^  client_secret_file: .*|  client_secret_file: $work/secrets/client-secret|" \
	-e "s|^  approver_token_file: .*|  approver_token_file: $work/secrets/approver-token|" \
	-e "s|^sources:|sources:\n  permissions: { enabled: true, poll_interval: PT1S }|" \
	-e "s|^policy: .*|policy: $root/usr/share/doc/approvald/examples/policy.yaml|" \
	-e "s|^state: .*|state: $work/state.db|" \
	-e "s|^control_socket: .*|control_socket: $work/control.sock|" \
	"$root/etc/approvald/approvald.yaml" >"$work/approvald.yaml"
"$root/usr/sbin/approvald" --config "$work/approvald.yaml" 2>"$work/approvald.log" &
ad_pid=$!
ready() { "$root/usr/bin/approvalctl" status -o json --socket "$work/control.sock" | grep -Eq '"ready": *true'; }
wait_for 30 ready || fail "installed approvald did not become ready"
# The seed AWS policy request, for an AWS managed read-only policy: the
# example policy's aws-policy-with-ticket rule approves it.
body=$(sed 's|arn:aws:iam::956987887735:policy/AddUserToGroup|arn:aws:iam::aws:policy/ReadOnlyAccess|' \
	"$root/usr/share/doc/approvald/examples/requests/permissions-request-aws-policy.json")
# The created request's own id is the last "id" of the answer.
id=$(curl -sS -X POST "$url/_emulator/requests" -H 'Content-Type: application/json' \
	--data-binary "{\"requestor\":\"alex@contoso.com\",\"source\":\"permissions\",\"body\":$body}" |
	grep -o '"id":"[0-9a-f-]*"' | tail -n 1 | cut -d'"' -f4)
[ ${#id} -eq 36 ] || fail "the emulator did not take the request"
decided() { curl -sS "$url/_emulator/truth" | grep -q "\"requestId\": *\"$id\""; }
wait_for 60 decided || fail "no decision on $id in the emulator's ground truth"
truth=$(curl -sS "$url/_emulator/truth" | tr '{' '\n' | grep "\"requestId\": *\"$id\"")
echo "   $truth"
grep -q '"action": *"approve' <<<"$truth" || fail "request $id was not approved"

echo "== approvalctl backup while the installed daemon runs; the copy verifies"
"$root/usr/bin/approvalctl" backup --state "$work/state.db" "$work/backup.db" || fail "backup"
"$root/usr/bin/approvalctl" audit verify --state "$work/backup.db" || fail "audit verify refuses the backup"
"$root/usr/bin/approvalctl" audit export --state "$work/backup.db" | grep -q "$id" ||
	fail "the backup's audit trail lacks the decision on $id"
echo "1 passed, 0 failed"
