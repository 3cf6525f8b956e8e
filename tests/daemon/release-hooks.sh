#!/bin/sh
# The product approvald carries no test hook: neither the code nor the name
# of APPROVALD_CRASH_AT, APPROVALD_TEST_CLOCK or APPROVALD_AUDIT_FAIL is in
# the binary, so setting them changes nothing. approvald-test (what the
# integration tests start) has them, which shows this check can fail.
# usage: release-hooks.sh APPROVALD APPROVALD_TEST
set -eu
prod=$1
test=$2
rc=0
for v in APPROVALD_CRASH_AT APPROVALD_TEST_CLOCK APPROVALD_AUDIT_FAIL \
	APPROVALD_TEST_MAX_PAGES_FILE; do
	if grep -a -q "$v" "$prod"; then
		echo "FAIL: $prod names $v (a test hook in the product)"
		rc=1
	fi
	if ! grep -a -q "$v" "$test"; then
		echo "FAIL: $test does not name $v (the test binary lost a hook)"
		rc=1
	fi
done
[ $rc -eq 0 ] && echo "ok: no test hook in $prod"
exit $rc
