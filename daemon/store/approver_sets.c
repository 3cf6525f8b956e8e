/*
 * The stored eligible approver sets, one per (request, stage): who may
 * decide a stage, resolved once (daemon/effects/approvers.c) and read by
 * decisions, summaries and the control socket. Writes go into the open
 * batch of the caller.
 */
#include <stdio.h>

#include <sqlite3.h>

#include "store_sql.h"

int
store_approvers_count(struct store *s, const char *key, uint32_t stage)
{
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (sqlite3_prepare_v2(store_db(s),
	        "SELECT count(*) FROM stage_approvers WHERE key = ?1 AND "
	        "stage = ?2",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, (int)stage);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

int
store_approvers_add(struct store *s, const char *key, uint32_t stage,
    const struct sm_principal *v, size_t n, int escalation)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = -1;

	if (sqlite3_prepare_v2(store_db(s),
	        "INSERT OR IGNORE INTO stage_approvers (key, stage, id, upn,"
	        " escalation) VALUES (?1, ?2, ?3, ?4, ?5)",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, (int)stage);
		sqlite3_bind_text(st, 3, v[i].id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, v[i].upn, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 5, escalation);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int
store_approvers_clear_stage(struct store *s, const char *key, uint32_t stage)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(store_db(s),
	        "DELETE FROM stage_approvers WHERE key = ?1 AND stage = ?2", -1,
	        &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, (int)stage);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_approvers_forget(struct store *s, const char *key)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(store_db(s),
	        "DELETE FROM stage_approvers WHERE key = ?1", -1, &st,
	        NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_approvers_prune(struct store *s, int limit, int *pruned)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	*pruned = 0;
	if (sqlite3_prepare_v2(store_db(s),
	        "DELETE FROM stage_approvers WHERE rowid IN (SELECT a.rowid"
	        " FROM stage_approvers a JOIN requests r ON r.key = a.key"
	        " WHERE r.state IN (?1, ?2, ?3) LIMIT ?4)",
	        -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, sm_state_name(SM_S_REJECTED), -1,
	        SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, sm_state_name(SM_S_CANCELED), -1,
	        SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, sm_state_name(SM_S_COMPLETED), -1,
	        SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 4, limit) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		goto out;
	*pruned = sqlite3_changes(store_db(s));
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int
store_approvers_lookup(struct store *s, const char *key, uint32_t stage,
    const char *name, struct sm_principal *out)
{
	sqlite3_stmt *st = NULL;
	int found = 0;

	if (sqlite3_prepare_v2(store_db(s),
	        "SELECT id, upn FROM stage_approvers WHERE key = ?1 AND "
	        "stage = ?2 AND (id = ?3 OR upn = ?3 COLLATE NOCASE)",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, (int)stage);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(st, 0);
		const unsigned char *upn = sqlite3_column_text(st, 1);

		snprintf(
		    out->id, sizeof(out->id), "%s", id ? (const char *)id : "");
		snprintf(out->upn, sizeof(out->upn), "%s",
		    upn ? (const char *)upn : "");
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

int
store_approvers_each(struct store *s, const char *key, uint32_t stage,
    enum store_approver_order order,
    int (*cb)(void *, const struct store_approver *), void *arg)
{
	static const char by_upn[] =
	    "SELECT id, upn, escalation FROM stage_approvers WHERE "
	    "key = ?1 AND stage = ?2 ORDER BY upn";
	static const char by_escalation[] =
	    "SELECT id, upn, escalation FROM stage_approvers WHERE "
	    "key = ?1 AND stage = ?2 ORDER BY escalation, upn, id";
	sqlite3_stmt *st = NULL;
	struct store_approver a;
	const unsigned char *t;

	if (sqlite3_prepare_v2(store_db(s),
	        order == STORE_APPROVERS_BY_UPN ? by_upn : by_escalation, -1,
	        &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, (int)stage);
	while (sqlite3_step(st) == SQLITE_ROW) {
		t = sqlite3_column_text(st, 0);
		a.id = t ? (const char *)t : "";
		t = sqlite3_column_text(st, 1);
		a.upn = t ? (const char *)t : "";
		a.escalation = sqlite3_column_int(st, 2);
		if (cb(arg, &a) != 0)
			break;
	}
	sqlite3_finalize(st);
	return 0;
}
