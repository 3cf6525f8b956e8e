#!/bin/sh
# approvald --check says once that Permissions Management is retired when
# the source is enabled against graph.microsoft.com, and only then.
set -eu
approvald=$1
policy=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'x\n' >"$dir/secret"
chmod 600 "$dir/secret"
conf() { # graph-url permissions-enabled
	cat >"$dir/approvald.yaml" <<YAML
graph:
  url: $1
  tenant: contoso.onmicrosoft.com
  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e
  client_secret_file: secret
  approver_token_file: secret
sources:
  permissions: { enabled: $2 }
policy: $policy
state: $dir/state.db
control_socket: $dir/control.sock
YAML
}
count() { # how many retirement lines --check prints
	"$approvald" --config "$dir/approvald.yaml" --check 2>&1 >/dev/null |
		grep -c 'retired Entra Permissions Management' || true
}
conf https://graph.microsoft.com true
test "$(count)" -eq 1
conf https://Graph.Microsoft.com:443/ true
test "$(count)" -eq 1
conf https://graph.microsoft.com false
test "$(count)" -eq 0
conf http://127.0.0.1:8751 true
test "$(count)" -eq 0
"$approvald" --config "$dir/approvald.yaml" --check >/dev/null 2>&1
