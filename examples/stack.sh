# Shared by examples/demo.sh and bench/*.sh (sourced, not run): start
# graph-emulator with the demo tenant and approvald against it, in a
# private temp folder that is removed on exit.
#   stack_init BUILD_DIR               sets top, bin, work; installs cleanup
#   stack_emulator                     starts the emulator (HTTPS); sets url
#   stack_config SOURCES_YAML LOG      writes secrets and approvald.yaml
#   stack_daemon                       starts approvald; waits until ready
#   stack_ctl CMD [ARGS...]            approvalctl against the daemon
#   stack_curl [CURL ARGS...]          curl trusting the emulator's CA

stack_init() {
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	case $1 in /*) bin=$1 ;; *) bin="$top/$1" ;; esac
	work=$(mktemp -d /tmp/approvald-stack.XXXXXX)
	tenant="$top/examples/demo-tenant.json"
	emu_pid= ad_pid=
	trap stack_cleanup EXIT
}

stack_cleanup() {
	local rc=$?
	if [ $rc -ne 0 ] && [ -z "${STACK_QUIET:-}" ]; then
		echo "failed; last lines of the logs:" >&2
		tail -n 15 "$work"/approvald.log "$work"/emulator.log >&2 2>/dev/null || true
	fi
	[ -n "$ad_pid" ] && kill -TERM "$ad_pid" 2>/dev/null && wait "$ad_pid" 2>/dev/null || true
	[ -n "$emu_pid" ] && kill -TERM "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null || true
	if [ -n "${STACK_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}

# First string value of "field" in a JSON file (the demo tenant is ours).
json_field() {
	grep -o "\"$2\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" "$1" | head -1 |
		sed 's/.*:[[:space:]]*"\(.*\)"/\1/'
}

# The public client app of the demo tenant (approvalctl): the approver
# signs in to it and approvald redeems its refresh token without a secret.
approver_client() {
	tr -d "\n" <"$1" | grep -o '"clientId"[^}]*"publicClient"[[:space:]]*:[[:space:]]*true' |
		head -1 | sed 's/"clientId"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/'
}

# Run a command until it succeeds, for at most $1 seconds.
wait_for() {
	local t=$(($1 * 20))
	shift
	until "$@" >/dev/null 2>&1; do
		t=$((t - 1))
		[ $t -gt 0 ] || return 1
		sleep 0.05
	done
}

stack_emulator() {
	"$bin/emulator/graph-emulator" --listen 127.0.0.1:0 --fixture "$tenant" \
		--tls-cert "$bin/tls/server.pem" --tls-key "$bin/tls/server-key.pem" \
		>"$work/emulator.out" 2>"$work/emulator.log" &
	emu_pid=$!
	wait_for 10 grep -q 'listening on' "$work/emulator.out"
	url=$(sed -n 's/^listening on //p' "$work/emulator.out" | head -1)
}

stack_curl() {
	curl -sS --cacert "$bin/tls/ca.pem" "$@"
}

stack_config() {
	local sources=$1 level=${2:-info}
	(
		umask 077
		mkdir -p "$work/secrets"
		json_field "$tenant" clientSecret >"$work/secrets/client-secret"
		json_field "$tenant" token >"$work/secrets/approver-token"
	)
	cat >"$work/approvald.yaml" <<YAML
graph:
  url: $url
  login_url: $url
  tenant: $(json_field "$tenant" tenantId)
  client_id: $(json_field "$tenant" clientId)
  client_secret_file: secrets/client-secret
  approver_token_file: secrets/approver-token
  approver_client_id: $(approver_client "$tenant")
  ca_file: $bin/tls/ca.pem
  max_inflight: 32
sources:
$sources
  overlap: PT1M
policy: $top/examples/policy.yaml
state: $work/state.db
control_socket: $work/control.sock
http:
  listen: 127.0.0.1:0
log: { level: $level, format: text }
# The demo decides as these two over the control socket, as whoever runs it.
operators:
  - { unix: "$(id -u)", as: [alexmanager@contoso.com, ciso@contoso.com] }
YAML
}

stack_ctl() {
	"$bin/ctl/approvalctl" "$1" --socket "$work/control.sock" "${@:2}"
}

stack_ready() {
	stack_ctl status -o json 2>/dev/null | grep -Eq '"ready": *true'
}

stack_daemon() {
	"$bin/daemon/approvald" --config "$work/approvald.yaml" 2>>"$work/approvald.log" &
	ad_pid=$!
	wait_for 20 stack_ready
}
