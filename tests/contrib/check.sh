#!/bin/sh
# The monitoring kit in contrib/ against the code: the alert rules pass
# `promtool check rules` and their unit tests (`promtool test rules`), the
# Grafana dashboard is valid JSON with a query in every panel, and every
# approvald_* metric either names is one daemon/listen/metrics.c exports.
# Usage: check.sh SOURCE-DIR
set -eu
src=${1:?usage: check.sh SOURCE-DIR}
rules=$src/contrib/prometheus/approvald-alerts.yml
tests=$src/contrib/prometheus/approvald-alerts.test.yml
dash=$src/contrib/grafana/approvald.json
fail=0

command -v promtool >/dev/null || { echo "promtool missing (Debian package prometheus; make deps)"; exit 1; }
promtool check rules "$rules"
(cd "$(dirname "$tests")" && promtool test rules "$(basename "$tests")")

node -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const ids = new Set();
let bad = 0;
if (!Array.isArray(d.panels) || d.panels.length === 0) { console.error("no panels"); process.exit(1); }
for (const p of d.panels) {
	if (ids.has(p.id)) { console.error("duplicate panel id " + p.id); bad++; }
	ids.add(p.id);
	if (!p.title || !Array.isArray(p.targets) || p.targets.length === 0 ||
	    p.targets.some(t => typeof t.expr !== "string" || !/approvald_|up\{/.test(t.expr))) {
		console.error("panel " + p.id + " (" + p.title + "): no approvald query"); bad++;
	}
}
process.exit(bad ? 1 : 0);
' "$dash"

for m in $(grep -oh 'approvald_[a-z_]*' "$rules" "$tests" "$dash" | sort -u); do
	base=$(printf '%s\n' "$m" | sed -E 's/_(bucket|sum|count)$//')
	if ! grep -q "\"$base" "$src/daemon/listen/metrics.c"; then
		echo "contrib names $m, which approvald does not export"
		fail=1
	fi
done
# and the alerts the issue asks for are there
for a in ApprovaldCredentialDead ApprovaldGraphUnreachable ApprovaldPollStale \
	ApprovaldRequestsNeedAttention ApprovaldNotificationBacklog ApprovaldDenyDeadlineNear; do
	grep -q "alert: $a\$" "$rules" || { echo "alert $a missing"; fail=1; }
	grep -q "alertname: $a\$" "$tests" || { echo "alert $a has no unit test"; fail=1; }
done
[ $fail -eq 0 ] && echo "contrib: rules, tests and dashboard agree with the code"
exit $fail
