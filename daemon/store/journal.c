/*
 * Journal reads for the request summary (daemon/effects/summary.c).
 */
#include <sqlite3.h>

#include "store_sql.h"

int
store_journal_approvals(struct store *s, const char *key,
    int (*cb)(void *, int64_t, const char *), void *arg)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *det;

	if (sqlite3_prepare_v2(store_db(s),
	        "SELECT at, detail FROM journal WHERE key = ?1 AND "
	        "event = 'decision_approve' ORDER BY seq",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW)
		if ((det = sqlite3_column_text(st, 1)) != NULL &&
		    cb(arg, sqlite3_column_int64(st, 0), (const char *)det) !=
		        0)
			break;
	sqlite3_finalize(st);
	return 0;
}
