#!/usr/bin/env bash
# `cmake --install` into a staging root (DESTDIR): the file list is exactly
# tests/package/files.expected, the modes are right, and the installed
# approvald accepts the installed /etc/approvald configuration.
set -euo pipefail
src=$1 build=$2
root=$(mktemp -d /tmp/approvald-install.XXXXXX)
trap 'rm -rf "$root"' EXIT
fail=0

DESTDIR=$root cmake --install "$build" >/dev/null
(cd "$root" && find . \( -type f -o -type l \) | sed 's|^\.||' | LC_ALL=C sort) >"$root.list"
trap 'rm -rf "$root" "$root.list"' EXIT
if ! diff -u "$src/tests/package/files.expected" "$root.list"; then
	echo "installed files differ from tests/package/files.expected (- expected, + installed)"
	fail=1
fi

mode() { stat -c %a "$root$1"; }
for f in /etc/approvald/approvald.yaml /etc/approvald/policy.yaml; do
	[ "$(mode $f)" = 644 ] || { echo "$f: mode $(mode $f), want 644"; fail=1; }
done
for f in /usr/sbin/approvald /usr/bin/approvalctl; do
	[ -x "$root$f" ] || { echo "$f: not executable"; fail=1; }
done
grep -q '^ExecStart=/usr/sbin/approvald ' "$root/lib/systemd/system/approvald.service" ||
	{ echo "unit does not start /usr/sbin/approvald"; fail=1; }
# Every man: page the unit names is installed.
for m in $(sed -n 's/^Documentation=//p' "$root/lib/systemd/system/approvald.service"); do
	case $m in
	man:*) p=${m#man:}; name=${p%%(*}; sec=${p#*(}; sec=${sec%)}
		[ -f "$root/usr/share/man/man$sec/$name.$sec" ] ||
			{ echo "unit Documentation=$m: not installed"; fail=1; } ;;
	*) echo "unit Documentation=$m: not a man: page"; fail=1 ;;
	esac
done

# The configuration itself is valid; what --check may still miss here is
# what systemd provides at start (the credentials, StateDirectory=,
# RuntimeDirectory=) and nothing else.
out=$("$root/usr/sbin/approvald" --config "$root/etc/approvald/approvald.yaml" --check --quiet 2>&1) || true
rest=$(printf '%s\n' "$out" | grep -v -e '^$' \
	-e '^/run/credentials/approvald\.service/[a-z-]*: graph\.[a-z_]*: No such file or directory$' \
	-e '^/var/lib/approvald: state: No such file or directory$' \
	-e '^/run/approvald: control_socket: No such file or directory$' \
	-e '^approvald: .*: [0-9]* problems*; the daemon would not start$' || true)
[ -z "$rest" ] ||
	{ echo "$out"; echo "installed approvald --check refuses the installed configuration"; fail=1; }
"$root/usr/bin/approvalctl" check "$root/etc/approvald/policy.yaml" ||
	{ echo "approvalctl check refuses the installed policy"; fail=1; }

[ $fail -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $fail
