#!/bin/sh
# daemon/ in rooms: each room's library may use only the rooms below it.
# Fails on a back-edge: a symbol a room's objects need that a room above
# it defines. Reads the built libraries (nm),
# so it sees calls, not just #includes.
#   layering.sh BUILD_DIR
set -eu
build=$1
order="base net store sources effects engine listen"
lib() { echo "$build/daemon/libapprovald_$1.a"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rank=0
for room in $order; do
	[ -f "$(lib "$room")" ] || { echo "layering: $(lib "$room") not built" >&2; exit 1; }
	nm --defined-only -g "$(lib "$room")" 2>/dev/null |
		awk -v r="$room" -v k="$rank" 'NF == 3 { print $3, r, k }' >>"$tmp/defs"
	rank=$((rank + 1))
done
sort -k1,1 "$tmp/defs" >"$tmp/defs.sorted"
rank=0
bad=0
for room in $order; do
	# object:symbol pairs this room needs from elsewhere
	nm -u -A "$(lib "$room")" 2>/dev/null |
		awk '{ n = split($1, p, ":"); print $NF, p[n - 1] }' | sort -k1,1 >"$tmp/undef"
	join "$tmp/undef" "$tmp/defs.sorted" |
		awk -v r="$room" -v k="$rank" '$4 > k {
			printf "layering: %s/%s calls %s, defined in room %s above it\n", r, $2, $1, $3; found = 1
		} END { exit found ? 1 : 0 }' || bad=1
	rank=$((rank + 1))
done
if [ "$bad" -ne 0 ]; then
	echo "layering: FAILED: a room may use only the rooms below it ($order); hand results up through a function pointer given at init (daemon/daemon.h)" >&2
	exit 1
fi
echo "layering: ok ($order)"
