/*
 * Audit trail: every transition, every human decision (who, and how:
 * control socket, decision link or Entra) and the answer to every Graph
 * call that decides is appended to the `audit` table in the open batch,
 * chained by SHA-256 (see audit_chain.c). A transition or decision row
 * that cannot be written fails the caller, which acts on nothing (fail
 * closed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "audit_chain.h"
#include "batch.h"
#include "log.h"
#include "store_sql.h"

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
	if (store_audit_head(s, &seq, prev, sizeof(prev)) == 1 &&
	    strlen(prev) == AUDIT_HASH_HEX - 1) {
		/* the head this batch appended last */
		seq++;
		rc = SQLITE_ROW;
	} else {
		memcpy(prev, audit_genesis, sizeof(prev));
		seq = 1;
		if ((st = store_cached(s, audit_sql_last)) == NULL)
			return -1;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const unsigned char *h = sqlite3_column_text(st, 1);

			seq = sqlite3_column_int64(st, 0) + 1;
			if (h == NULL ||
			    strlen((const char *)h) != AUDIT_HASH_HEX - 1)
				rc = SQLITE_ERROR;
			else
				memcpy(prev, h, sizeof(prev));
		}
		sqlite3_reset(st);
	}
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
	if (rc != SQLITE_DONE) {
		store_audit_head_set(s, 0, "");
		return -1;
	}
	store_audit_head_set(s, seq, hash);
	return 0;
}

static void
audit_add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(
	    o, k, v != NULL ? json_object_new_string(v) : NULL);
}

/* Append `kind` with the JSON object o (put here). 0 or -1. */
static int
audit_json(struct store *s, const char *key, int64_t at, const char *kind,
    struct json_object *o)
{
	const char *text = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = text != NULL ? audit_append(s, key, at, kind, text) : -1;

	json_object_put(o);
	return rc;
}

/* A fresh detail object, or NULL; tests can make it fail (to prove that
 * nothing is acted on without its audit row). */
static struct json_object *
audit_detail(void)
{
	if (crash_audit_fail())
		return NULL;
	return json_object_new_object();
}

/* Append a transition of request `key`; every argument is borrowed. */
int
audit_transition(struct store *s, const char *key, int64_t at, const char *from,
    const char *to, const char *event, const char *rule, const char *verdict,
    const char *detail)
{
	struct json_object *o;

	if ((o = audit_detail()) == NULL)
		return -1;
	audit_add_str(o, "from", from);
	audit_add_str(o, "to", to);
	audit_add_str(o, "event", event);
	audit_add_str(o, "rule", rule);
	audit_add_str(o, "verdict", verdict);
	audit_add_str(o, "detail", detail);
	return audit_json(s, key, at, "transition", o);
}

/* A human decision, before it is fed to the state machine (same batch):
 * `who` as resolved, `how` it came in (control socket, decision link,
 * Entra). */
int
audit_decision(struct store *s, const char *key, int64_t at,
    const char *verdict, const char *who, const char *how, uint32_t stage,
    const char *reason, long peer_uid, const char *peer_user)
{
	struct json_object *o;

	if ((o = audit_detail()) == NULL)
		return -1;
	audit_add_str(o, "verdict", verdict);
	audit_add_str(o, "who", who);
	audit_add_str(o, "how", how);
	json_object_object_add(o, "stage", json_object_new_int((int)stage + 1));
	audit_add_str(o, "reason", reason);
	if (peer_uid >= 0) {
		json_object_object_add(
		    o, "peer_uid", json_object_new_int64(peer_uid));
		audit_add_str(o, "peer_user", peer_user);
	}
	return audit_json(s, key, at, "decision", o);
}

/* A request's decision no longer follows from the policy in force: the
 * rule and verdict it was decided by, the ones that decide it now, and
 * when it was noticed (`why`). Every argument is borrowed. */
int
audit_policy_change(struct store *s, const char *key, int64_t at,
    const char *old_rule, const char *old_verdict, const char *new_rule,
    const char *new_verdict, const char *why)
{
	struct json_object *o;

	if ((o = audit_detail()) == NULL)
		return -1;
	audit_add_str(o, "from_rule", old_rule);
	audit_add_str(o, "from_verdict", old_verdict);
	audit_add_str(o, "to_rule", new_rule);
	audit_add_str(o, "to_verdict", new_verdict);
	audit_add_str(o, "why", why);
	return audit_json(s, key, at, "policy_change", o);
}

/* A reloaded policy came into force (key "policy"): its file, its rules,
 * and what became of the undecided requests. */
int
audit_policy_reload(struct store *s, int64_t at, const char *path, size_t rules,
    const struct audit_reload_counts *n)
{
	struct json_object *o;

	if ((o = audit_detail()) == NULL)
		return -1;
	audit_add_str(o, "policy", path);
	json_object_object_add(
	    o, "rules", json_object_new_int64((int64_t)rules));
	json_object_object_add(
	    o, "undecided", json_object_new_int64((int64_t)n->undecided));
	json_object_object_add(
	    o, "kept", json_object_new_int64((int64_t)n->kept));
	json_object_object_add(
	    o, "changed", json_object_new_int64((int64_t)n->changed));
	json_object_object_add(
	    o, "evaluated", json_object_new_int64((int64_t)n->evaluated));
	json_object_object_add(
	    o, "held", json_object_new_int64((int64_t)n->held));
	return audit_json(s, "policy", at, "policy_reload", o);
}

/* The request a deciding call was about: the one with that id and an open
 * intent (the executor acts only on those); NULL when none matches. */
static char *
audit_call_key(struct store *s, int source, const char *id)
{
	static const char sql_direct[] =
	    "SELECT 1 FROM intents WHERE key = ?1 AND outcome IS NULL";
	static const char sql_approval[] =
	    "SELECT r.key FROM intents i JOIN requests r ON r.key = i.key"
	    " WHERE i.outcome IS NULL AND r.source = ?1 AND"
	    " r.approval_id = ?2 LIMIT 1";
	sqlite3_stmt *st;
	char *key = NULL, *direct = NULL;
	const unsigned char *k;
	int found = 0;

	if (asprintf(&direct, "%s:%s", req_source_name(source), id) == -1)
		return NULL;
	/* Usually the id is the request's own (approval id = request id):
	 * one lookup in the open-intent index. */
	if ((st = store_cached(s, sql_direct)) != NULL) {
		sqlite3_bind_text(st, 1, direct, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_reset(st);
	}
	if (found)
		return direct;
	if ((st = store_cached(s, sql_approval)) != NULL) {
		sqlite3_bind_int(st, 1, source);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    (k = sqlite3_column_text(st, 0)) != NULL)
			key = strdup((const char *)k);
		sqlite3_reset(st);
	}
	free(direct);
	return key;
}

/* What the body of a deciding call asks for. */
static const char *
audit_call_action(const struct call_endpoint *ep, const char *body)
{
	struct json_object *o, *v;
	const char *a = "cancel";

	if (strstr(ep->name, "decide") == NULL)
		return a;
	a = "unknown";
	if (body != NULL && (o = json_tokener_parse(body)) != NULL) {
		if (json_object_object_get_ex(o, "reviewResult", &v) &&
		    json_object_is_type(v, json_type_string))
			a = strcmp(json_object_get_string(v), "Approve") == 0
			        ? "approve"
			    : strcmp(json_object_get_string(v), "Deny") == 0
			        ? "deny"
			        : "unknown";
		json_object_put(o);
	}
	return a;
}

void
audit_graph_call(struct daemon *d, const struct call_endpoint *ep,
    const char *id, const char *method, const char *body, long status,
    const char *err)
{
	struct json_object *o;
	char *gid = evhttp_uridecode(id, 0, NULL), *key = NULL;
	const char *outcome;

	outcome = graph_outcome_name(graph_outcome(status));
	if (gid != NULL)
		key = audit_call_key(d->store, ep->source, gid);
	if ((o = json_object_new_object()) == NULL)
		goto fail;
	audit_add_str(o, "endpoint", ep->name);
	audit_add_str(o, "method", method);
	audit_add_str(o, "action", audit_call_action(ep, body));
	audit_add_str(o, "id", gid);
	json_object_object_add(o, "status", json_object_new_int64(status));
	audit_add_str(o, "outcome", outcome);
	audit_add_str(o, "error", err);
	if (store_begin(d->store) == -1 ||
	    audit_json(d->store, key != NULL ? key : "graph", clock_now(),
	        "graph_call", o) == -1)
		goto fail;
	batch_dirty(d);
	free(key);
	free(gid);
	return;
fail:
	log_warnx("audit: cannot record %s %s -> %ld: %s", ep->name,
	    key != NULL ? key : "?", status, store_errmsg(d->store));
	free(key);
	free(gid);
}
