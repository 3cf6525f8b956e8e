#!/bin/sh
# The store is the only code that writes SQL: no file under daemon/
# outside daemon/store/ includes sqlite3.h, calls sqlite3_*, or reaches for
# the store's handle (store_db, store_cached, store_sql.h).
#   sql-in-store.sh SOURCE_DIR
set -eu
src=$1
bad=$(find "$src/daemon" -path "$src/daemon/store" -prune -o \
	-type f \( -name '*.c' -o -name '*.h' \) -print |
	xargs grep -nE '#[[:space:]]*include[[:space:]]*[<"](sqlite3\.h|store_sql\.h)[>"]|\bsqlite3_[a-z_0-9]+|\bstore_(db|cached)[[:space:]]*\(' || true)
if [ -n "$bad" ]; then
	echo "$bad" >&2
	echo "sql-in-store: FAILED: SQL outside daemon/store/; add a named store function (daemon/store/store.h)" >&2
	exit 1
fi
echo "sql-in-store: ok"
