#!/bin/sh
# daemon/'s rooms keep no mutable state at file scope: every room's state
# hangs off struct daemon, so two daemons can live in one process (the
# engine and executor unit tests build two). Reads the built libraries:
# any object in .bss/.data (not .rodata/.data.rel.ro: tables) fails,
# except the allowlist below, each with its reason.
#   statics.sh BUILD_DIR
set -eu
build=$1
# object:symbol allowed, and why
allow="
log.c.o:log_level
log.c.o:log_json
log.c.o:log_journal
log.c.o:log_journal_send
"
# log.c: the process's logging (level, format, journal), set once at start
# from the command line and settings, like openlog(3); one per process.
# (The test clock and crash points are test hooks outside the rooms.)
bad=0
for room in base net store sources effects engine listen core; do
	lib="$build/daemon/libapprovald_$room.a"
	[ -f "$lib" ] || { echo "statics: $lib not built" >&2; exit 1; }
	found=$(objdump -t "$lib" | awk '
		/file format/ { obj = $1; sub(/:$/, "", obj); next }
		$0 ~ / (\.bss|\.data|\.data\.rel|\.data\.rel\.local)[ \t]/ && $NF !~ /^\./ {
			print obj ":" $NF
		}')
	for s in $found; do
		case "$allow" in
		*"
$s
"*) ;;
		*) echo "statics: $room/$s is mutable state at file or function scope; hang it off struct daemon (daemon/daemon.h)"; bad=1 ;;
		esac
	done
done
[ "$bad" -eq 0 ] || exit 1
echo "statics: ok"
