/*
 * The notification outbox: one row per (target, request, event, stage),
 * queued in the batch of the transition that causes it, delivered by
 * daemon/effects/notify.c and marked in its batches.
 */
#include <sqlite3.h>

#include "store_sql.h"

int
store_outbox_enqueue(struct store *s, const char *target, const char *key,
    const char *event, uint32_t stage, int64_t started, int64_t now, int ready)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	/* One row per (target, request, event, stage) except reminders:
	 * "timed out" is announced by the timer and again by the deny. */
	if (sqlite3_prepare_v2(store_db(s),
	        "INSERT INTO outbox (target, key, event, stage, started,"
	        " created, ready, next_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	        " ?6 WHERE ?3 = 'reminder' OR NOT EXISTS (SELECT 1 FROM"
	        " outbox WHERE key = ?2 AND stage = ?4 AND event = ?3 AND"
	        " target = ?1 AND started = ?5)",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, event, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, (int)stage);
	sqlite3_bind_int64(st, 5, started);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int(st, 7, ready);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = sqlite3_changes(store_db(s));
	sqlite3_finalize(st);
	return rc;
}

int
store_outbox_release(
    struct store *s, const char *key, uint32_t stage, int64_t now)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(store_db(s),
	        "UPDATE outbox SET ready = 1, next_at = ?3 WHERE key = ?1"
	        " AND stage = ?2 AND ready = 0 AND done IS NULL",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, stage);
	sqlite3_bind_int64(st, 3, now);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = sqlite3_changes(store_db(s));
	sqlite3_finalize(st);
	return rc;
}

int
store_outbox_settle(struct store *s, int64_t id, int attempts, int64_t next_at,
    const char *outcome, int64_t now)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(store_db(s),
	        "UPDATE outbox SET attempts = ?2, next_at = ?3,"
	        " outcome = ?4, done = CASE WHEN ?4 IS NULL THEN NULL"
	        " ELSE ?5 END WHERE id = ?1",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, attempts);
	sqlite3_bind_int64(st, 3, next_at);
	if (outcome != NULL)
		sqlite3_bind_text(st, 4, outcome, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, now);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int
store_outbox_due(struct store *s, const char *target, int64_t now, int limit,
    int (*cb)(void *, const struct store_outbox_row *), void *arg)
{
	sqlite3_stmt *st = NULL;
	struct store_outbox_row w;
	const unsigned char *k, *e;

	if (sqlite3_prepare_v2(store_db(s),
	        "SELECT id, key, event, stage, started, attempts FROM outbox"
	        " WHERE target = ?1 AND ready = 1 AND done IS NULL AND"
	        " next_at <= ?2 ORDER BY next_at, id LIMIT ?3",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, limit);
	while (sqlite3_step(st) == SQLITE_ROW) {
		w.id = sqlite3_column_int64(st, 0);
		k = sqlite3_column_text(st, 1);
		e = sqlite3_column_text(st, 2);
		w.key = k ? (const char *)k : "";
		w.event = e ? (const char *)e : "";
		w.stage = (uint32_t)sqlite3_column_int(st, 3);
		w.started = sqlite3_column_int64(st, 4);
		w.attempts = sqlite3_column_int(st, 5);
		if (cb(arg, &w) != 0)
			break;
	}
	sqlite3_finalize(st);
	return 0;
}

int
store_outbox_targets(
    struct store *s, int (*cb)(void *, const char *), void *arg)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *name;

	if (sqlite3_prepare_v2(store_db(s),
	        "SELECT DISTINCT target FROM outbox WHERE done IS NULL", -1,
	        &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		name = sqlite3_column_text(st, 0);
		if (name != NULL && cb(arg, (const char *)name) != 0)
			break;
	}
	sqlite3_finalize(st);
	return 0;
}

int
store_outbox_drop_target(struct store *s, const char *target, int64_t now)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(store_db(s),
	        "UPDATE outbox SET done = ?2, outcome ="
	        " 'no such target' WHERE target = ?1 AND done IS"
	        " NULL",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int
store_outbox_next_at(struct store *s, int64_t now, int64_t *next)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(store_db(s),
	        "SELECT min(next_at) FROM outbox WHERE ready = 1 AND done"
	        " IS NULL AND next_at > ?1",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		rc = 0;
		if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
			*next = sqlite3_column_int64(st, 0);
			rc = 1;
		}
		break;
	case SQLITE_DONE:
		rc = 0;
		break;
	}
	sqlite3_finalize(st);
	return rc;
}

static int
outbox_prune(struct store *s, const char *sql, int64_t before, int limit)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 2, before);
	sqlite3_bind_int64(st, 3, limit);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int
store_outbox_prune_done(struct store *s, int64_t before, int limit)
{
	return outbox_prune(s,
	    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE"
	    " done IS NOT NULL AND done < ?2 LIMIT ?3)",
	    before, limit);
}

int
store_outbox_prune_held(struct store *s, int64_t before, int limit)
{
	return outbox_prune(s,
	    "DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox o"
	    " LEFT JOIN requests r ON r.key = o.key WHERE o.ready = 0 AND"
	    " o.done IS NULL AND (o.created < ?2 OR r.key IS NULL OR"
	    " r.state NOT IN ('pending', 'escalated')) LIMIT ?3)",
	    before, limit);
}
