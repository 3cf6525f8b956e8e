/*
 * The database file itself, for the benchmarks (bench/): space in use,
 * checkpoint, vacuum, and the old full-scan request count that
 * store_request_counts replaced (a baseline to measure against).
 */
#include <sqlite3.h>

#include "store_sql.h"

int
store_space_used(struct store *s, int64_t *bytes)
{
	sqlite3_stmt *st = NULL;
	int64_t v[3] = { 0, 0, 0 };
	static const char *const q[] = { "PRAGMA page_count",
		"PRAGMA freelist_count", "PRAGMA page_size" };
	size_t i;
	int rc = 0;

	for (i = 0; i < 3; i++) {
		if (sqlite3_prepare_v2(store_db(s), q[i], -1, &st, NULL) ==
		        SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			v[i] = sqlite3_column_int64(st, 0);
		else
			rc = -1;
		sqlite3_finalize(st);
		st = NULL;
	}
	*bytes = (v[0] - v[1]) * v[2];
	return rc;
}

int
store_checkpoint(struct store *s)
{
	return sqlite3_wal_checkpoint_v2(store_db(s), NULL,
	           SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK
	           ? 0
	           : -1;
}

int
store_vacuum(struct store *s)
{
	return sqlite3_exec(store_db(s), "VACUUM", NULL, NULL, NULL) ==
	               SQLITE_OK
	           ? 0
	           : -1;
}

int
store_request_counts_scan(struct store *s, int64_t *groups)
{
	sqlite3_stmt *st = NULL;

	*groups = 0;
	if (sqlite3_prepare_v2(store_db(s),
	        "SELECT source, state, count(*) FROM requests"
	        " GROUP BY source, state",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW)
		(*groups)++;
	sqlite3_finalize(st);
	return 0;
}
