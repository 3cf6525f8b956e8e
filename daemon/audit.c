/*
 * Audit trail: every transition is appended to the `audit` table in the
 * open batch, chained by SHA-256 (see audit_chain.c). A row that cannot be
 * written fails the caller, which drops the whole batch (fail closed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "approvald.h"
#include "audit_chain.h"

static const char audit_sql_last[] =
    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
static const char audit_sql_add[] =
    "INSERT INTO audit (seq, at, key, kind, detail, prev_hash, hash)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/* Append one entry; `detail` is JSON text (borrowed). 0 or -1. */
int
audit_append(struct store *s, const char *key, int64_t at, const char *kind,
    const char *detail)
{
	sqlite3_stmt *st;
	char prev[AUDIT_HASH_HEX], hash[AUDIT_HASH_HEX];
	int64_t seq = 1;
	int rc;

	if (!store_in_batch(s))
		return -1;
	memcpy(prev, audit_genesis, sizeof(prev));
	if ((st = store_cached(s, audit_sql_last)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(st, 1);

		seq = sqlite3_column_int64(st, 0) + 1;
		if (h == NULL || strlen((const char *)h) != AUDIT_HASH_HEX - 1)
			rc = SQLITE_ERROR;
		else
			memcpy(prev, h, sizeof(prev));
	}
	sqlite3_reset(st);
	if ((rc != SQLITE_ROW && rc != SQLITE_DONE) ||
	    audit_chain_hash(prev, seq, at, key, kind, detail, hash) == -1 ||
	    (st = store_cached(s, audit_sql_add)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, prev, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
audit_add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(
	    o, k, v != NULL ? json_object_new_string(v) : NULL);
}

/* Append a transition of request `key`; every argument is borrowed. */
int
audit_transition(struct store *s, const char *key, int64_t at, const char *from,
    const char *to, const char *event, const char *rule, const char *verdict,
    const char *detail)
{
	struct json_object *o;
	const char *text;
	int rc;

#ifdef APPROVALD_CRASHPOINTS
	/* Tests: prove that a transition without its audit row is dropped. */
	if (getenv("APPROVALD_AUDIT_FAIL") != NULL)
		return -1;
#endif
	if ((o = json_object_new_object()) == NULL)
		return -1;
	audit_add_str(o, "from", from);
	audit_add_str(o, "to", to);
	audit_add_str(o, "event", event);
	audit_add_str(o, "rule", rule);
	audit_add_str(o, "verdict", verdict);
	audit_add_str(o, "detail", detail);
	text = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	rc = text != NULL ? audit_append(s, key, at, "transition", text) : -1;
	json_object_put(o);
	return rc;
}
