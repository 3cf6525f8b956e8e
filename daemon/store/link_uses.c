/*
 * Used decision-link nonces (daemon/effects/links.c, decide.c): a link
 * decides once; a nonce is kept until its link has expired anyway.
 */
#include <sqlite3.h>

#include "store_sql.h"

int
store_link_use(struct store *s, const char *nonce, const char *key,
    int64_t used, int64_t expires)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(store_db(s),
	        "INSERT OR IGNORE INTO link_uses (nonce, key, used, expires)"
	        " VALUES (?1, ?2, ?3, ?4)",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, nonce, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, used);
	sqlite3_bind_int64(st, 4, expires);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	if (rc == 0 && sqlite3_changes(store_db(s)) == 0)
		rc = 1;
	sqlite3_finalize(st);
	return rc;
}

int
store_link_used(struct store *s, const char *nonce)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(store_db(s),
	        "SELECT 1 FROM link_uses WHERE nonce = ?1", -1, &st,
	        NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, nonce, -1, SQLITE_TRANSIENT);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		rc = 1;
		break;
	case SQLITE_DONE:
		rc = 0;
		break;
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_link_prune(struct store *s, int64_t before, int limit)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(store_db(s),
	        "DELETE FROM link_uses WHERE rowid IN (SELECT rowid FROM"
	        " link_uses WHERE expires < ?1 LIMIT ?2)",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int(st, 2, limit);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}
