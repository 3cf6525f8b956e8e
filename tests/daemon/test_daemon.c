/* Unit tests for daemon pieces that stand alone: the Graph client's origin
 * allow-list (bearer tokens never leave the configured hosts), the store,
 * the source adapters' reading of Graph statuses and approval stages, and
 * the verdict fingerprint a policy reload compares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include <json-c/json.h>

#include "cu.h"
#include "graph.h"
#include "listen.h"
#include "store.h"
#include "store_sql.h"

static struct event_base *base;
static struct graph *g;

static int
graph_setup(void)
{
	static const char *const origins[] = { "https://graph.microsoft.com",
		"https://login.microsoftonline.com" };
	struct graph_opts o;
	char *err = NULL;

	memset(&o, 0, sizeof(o));
	o.origins = origins;
	o.norigins = 2;
	o.max_inflight = 4;
	o.timeout = 5;
	if ((base = event_base_new()) == NULL ||
	    (g = graph_new(base, &o, &err)) == NULL)
		return -1;
	return 0;
}

static int
graph_teardown(void)
{
	graph_free(g);
	event_base_free(base);
	return 0;
}

static const struct {
	const char *url;
	int allowed;
} origin_cases[] = {
	{ "https://graph.microsoft.com/beta/x", 1 },
	{ "https://graph.microsoft.com", 1 },
	{ "https://graph.microsoft.com?$skiptoken=1", 1 },
	{ "HTTPS://GRAPH.MICROSOFT.COM/v1.0/users", 1 },
	{ "https://login.microsoftonline.com/t/oauth2/v2.0/token", 1 },
	{ "http://graph.microsoft.com/beta/x", 0 },          /* scheme */
	{ "https://graph.microsoft.com.evil.example/x", 0 }, /* suffix */
	{ "https://graph.microsoft.com@evil.example/x", 0 }, /* userinfo */
	{ "https://graph.microsoft.com:8443/x", 0 },         /* port */
	{ "https://evil.example/https://graph.microsoft.com/", 0 },
	{ "https://graph.microsoft.co/x", 0 },
	{ "//graph.microsoft.com/x", 0 },
	{ "", 0 },
};

static void
test_origin_allow_list(void)
{
	size_t i;

	for (i = 0; i < sizeof(origin_cases) / sizeof(origin_cases[0]); i++) {
		int got = graph_url_allowed(g, origin_cases[i].url);

		if (got != origin_cases[i].allowed)
			fprintf(stderr, "origin case %zu (%s): got %d\n", i,
			    origin_cases[i].url, got);
		CU_ASSERT_EQUAL(got, origin_cases[i].allowed);
	}
}

static void
noop_cb(void *arg, const struct graph_resp *r)
{
	(*(int *)arg)++;
}

/* A foreign URL is refused before any transfer exists. */
static void
test_foreign_call_refused(void)
{
	int called = 0;

	CU_ASSERT_EQUAL(graph_call(g, "GET", "https://evil.example/beta/x",
	                    "secret-bearer", NULL, NULL, noop_cb, &called),
	    -1);
	CU_ASSERT_EQUAL(graph_pending(g), 0);
	CU_ASSERT_EQUAL(called, 0);
}

static char dbpath[256];

static int
store_setup(void)
{
	snprintf(dbpath, sizeof(dbpath), "/tmp/approvald-store-XXXXXX");
	if (mkdtemp(dbpath) == NULL)
		return -1;
	strcat(dbpath, "/state.db");
	return 0;
}

static void
test_store_roundtrip(void)
{
	struct store *s;
	struct store_request r, back;
	char *err = NULL;

	CU_ASSERT_FATAL(store_open(dbpath, &s, &err) == 0);
	memset(&r, 0, sizeof(r));
	r.key = "permissions:abc";
	r.gid = "abc";
	r.source = 0;
	r.sm.state = SM_S_PENDING;
	r.sm.nstages = 2;
	r.sm.stage = 1;
	snprintf(
	    r.sm.requestor.upn, sizeof(r.sm.requestor.upn), "alex@contoso.com");
	snprintf(r.sm.record[0].approvers[0].id,
	    sizeof(r.sm.record[0].approvers[0].id), "morgan");
	r.sm.record[0].napprovals = 1;
	r.sm.deadline = 1234567890;
	r.body = "{\"id\":\"abc\"}";
	snprintf(r.fingerprint, sizeof(r.fingerprint), "%064d", 7);
	CU_ASSERT(store_begin(s) == 0);
	CU_ASSERT(store_request_put(s, &r) == 0);
	CU_ASSERT(store_commit(s) == 0);
	CU_ASSERT_FATAL(store_request_get(s, "permissions:abc", &back) == 0);
	/* The encoded record decodes to exactly what was stored. */
	CU_ASSERT(memcmp(&back.sm, &r.sm, sizeof(r.sm)) == 0);
	CU_ASSERT_STRING_EQUAL(back.body, r.body);
	CU_ASSERT_STRING_EQUAL(back.fingerprint, r.fingerprint);
	store_request_clear(&back);
	CU_ASSERT_EQUAL(store_request_get(s, "permissions:none", &back), 1);
	store_close(s);
}

static void
test_store_single_instance(void)
{
	struct store *a, *b = NULL;
	char *err = NULL;

	CU_ASSERT_FATAL(store_open(dbpath, &a, &err) == 0);
	CU_ASSERT_EQUAL(store_open(dbpath, &b, &err), -1);
	CU_ASSERT_PTR_NULL(b);
	CU_ASSERT_PTR_NOT_NULL(err);
	if (err != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "in use"));
	free(err);
	store_close(a);
}

/* The lock belongs to the file: a symlink or a hard link to the database
 * meets it too (OFD locks conflict even within one process). */
static void
test_store_lock_by_file(void)
{
	struct store *a, *b = NULL;
	char soft[300], hard[300], *err = NULL;

	snprintf(soft, sizeof(soft), "%s.symlink", dbpath);
	snprintf(hard, sizeof(hard), "%s.hardlink", dbpath);
	CU_ASSERT_FATAL(store_open(dbpath, &a, &err) == 0);
	CU_ASSERT_FATAL(symlink(dbpath, soft) == 0);
	CU_ASSERT_FATAL(link(dbpath, hard) == 0);
	CU_ASSERT_EQUAL(store_open(soft, &b, &err), -1);
	CU_ASSERT(err != NULL && strstr(err, "in use") != NULL);
	free(err);
	err = NULL;
	CU_ASSERT_EQUAL(store_open(hard, &b, &err), -1);
	CU_ASSERT(err != NULL && strstr(err, "in use") != NULL);
	free(err);
	err = NULL;
	store_close(a);
	/* Released with its holder. */
	CU_ASSERT_EQUAL(store_open(hard, &b, &err), 0);
	store_close(b);
	unlink(soft);
	unlink(hard);
}

static int
store_count(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int store_faults;

static void
store_fault(void *arg)
{
	store_faults++;
}

/*
 * Disk full in the middle of a batch: SQLite rolls the whole transaction
 * back by itself; what the batch writes afterwards must not commit
 * statement by statement. The batch is durable whole or not at all, the
 * store says it is degraded, and store_recover() cures it once there is
 * room again.
 */
static void
test_store_full_batch(void)
{
	struct store *s;
	struct store_request r;
	char *err = NULL, *big, sql[64];
	int pages;

	CU_ASSERT_FATAL(store_open(dbpath, &s, &err) == 0);
	store_set_fault_cb(s, store_fault, NULL);
	store_faults = 0;
	pages = store_count(s, "PRAGMA page_count");
	CU_ASSERT_FATAL(pages > 0);
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %d", pages);
	CU_ASSERT_FATAL(
	    sqlite3_exec(store_db(s), sql, NULL, NULL, NULL) == SQLITE_OK);
	memset(&r, 0, sizeof(r));
	r.key = "permissions:full-a";
	r.gid = "full-a";
	r.sm.state = SM_S_APPROVING;
	CU_ASSERT_FATAL((big = calloc(1, 256 * 1024)) != NULL);
	memset(big, 'x', 256 * 1024 - 1);
	CU_ASSERT(store_begin(s) == 0);
	CU_ASSERT(store_intent_add(s, r.key, "approve", "j", 1, NULL) == 0);
	r.body = big;
	CU_ASSERT_EQUAL(store_request_put(s, &r), -1);
	CU_ASSERT_STRING_EQUAL(store_degraded(s), "disk full");
	CU_ASSERT_EQUAL(store_faults, 1);
	/* The rest of the batch: small rows that would fit. */
	r.key = "permissions:full-b";
	r.body = NULL;
	CU_ASSERT(store_request_put(s, &r) == 0);
	CU_ASSERT(store_journal_add(
	              s, r.key, 1, "new", "approving", "e", NULL, NULL) == 0);
	CU_ASSERT_EQUAL(store_commit(s), -1);
	CU_ASSERT_EQUAL(store_in_batch(s), 0);
	CU_ASSERT_EQUAL(store_count(s, "SELECT count(*) FROM requests WHERE"
	                               " key LIKE 'permissions:full-%'"),
	    0);
	CU_ASSERT_EQUAL(store_count(s, "SELECT count(*) FROM intents WHERE"
	                               " key LIKE 'permissions:full-%'"),
	    0);
	CU_ASSERT_EQUAL(store_count(s, "SELECT count(*) FROM journal WHERE"
	                               " key LIKE 'permissions:full-%'"),
	    0);
	/* Still no room: still degraded. */
	CU_ASSERT_EQUAL(store_recover(s), -1);
	CU_ASSERT_PTR_NOT_NULL(store_degraded(s));
	CU_ASSERT_FATAL(
	    sqlite3_exec(store_db(s), "PRAGMA max_page_count = 1073741823",
	        NULL, NULL, NULL) == SQLITE_OK);
	CU_ASSERT_EQUAL(store_recover(s), 0);
	CU_ASSERT_PTR_NULL(store_degraded(s));
	/* And the batch, redone, commits whole. */
	r.key = "permissions:full-a";
	r.body = big;
	CU_ASSERT(store_begin(s) == 0);
	CU_ASSERT(store_intent_add(s, r.key, "approve", "j", 1, NULL) == 0);
	CU_ASSERT(store_request_put(s, &r) == 0);
	CU_ASSERT(store_commit(s) == 0);
	CU_ASSERT_EQUAL(store_count(s, "SELECT count(*) FROM requests WHERE"
	                               " key LIKE 'permissions:full-%'"),
	    1);
	free(big);
	store_close(s);
}

/* A database with garbage in its middle is refused, with the way out. */
static void
test_store_damaged(void)
{
	char path[300], *err = NULL;
	struct store *s;
	sqlite3 *db;
	FILE *f;
	long i;

	snprintf(path, sizeof(path), "%s.damaged", dbpath);
	CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
	CU_ASSERT_FATAL(sqlite3_exec(db,
	                    "CREATE TABLE t (x); WITH RECURSIVE n(i) AS"
	                    " (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	                    " WHERE i < 2000) INSERT INTO t SELECT"
	                    " printf('%0100d', i) FROM n;",
	                    NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CU_ASSERT_FATAL((f = fopen(path, "r+")) != NULL);
	CU_ASSERT_FATAL(fseek(f, 10 * 4096, SEEK_SET) == 0);
	for (i = 0; i < 3 * 4096; i++)
		fputc(0xa5, f);
	fclose(f);
	CU_ASSERT_EQUAL(store_open(path, &s, &err), -1);
	CU_ASSERT(err != NULL && strstr(err, "is damaged") != NULL &&
	          strstr(err, ".recover") != NULL);
	free(err);
	unlink(path);
}

static void
test_store_journal_append_only(void)
{
	struct store *s;
	char *err = NULL;

	CU_ASSERT_FATAL(store_open(dbpath, &s, &err) == 0);
	CU_ASSERT(store_begin(s) == 0);
	CU_ASSERT(store_journal_add(
	              s, "k", 1, "new", "evaluating", "e", NULL, NULL) == 0);
	CU_ASSERT(store_commit(s) == 0);
	store_close(s);
	/* The journal refuses edits and deletes through plain SQL. */
	{
		sqlite3 *db = NULL;

		CU_ASSERT_FATAL(sqlite3_open(dbpath, &db) == SQLITE_OK);
		CU_ASSERT_NOT_EQUAL(
		    sqlite3_exec(db, "UPDATE journal SET to_state = 'approved'",
		        NULL, NULL, NULL),
		    SQLITE_OK);
		CU_ASSERT_NOT_EQUAL(
		    sqlite3_exec(db, "DELETE FROM journal", NULL, NULL, NULL),
		    SQLITE_OK);
		CU_ASSERT_EQUAL(sqlite3_exec(db,
		                    "INSERT INTO journal (key, at, from_state,"
		                    " to_state, event) VALUES ('k', 2, 'a',"
		                    " 'b', 'e')",
		                    NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(db);
	}
}

static void
test_store_intents_and_changes(void)
{
	struct store *s;
	struct store_intent i;
	char *err = NULL;
	int64_t id;

	CU_ASSERT_FATAL(store_open(dbpath, &s, &err) == 0);
	CU_ASSERT(store_begin(s) == 0);
	CU_ASSERT(store_intent_add(s, "k", "approve", "why", 1, &id) == 0);
	CU_ASSERT_EQUAL(store_intent_open_for(s, "k", &i), 0);
	CU_ASSERT_STRING_EQUAL(i.kind, "approve");
	store_intent_clear(&i);
	CU_ASSERT(store_intent_close(s, id, "result_ok", 2) == 0);
	CU_ASSERT_EQUAL(store_intent_open_for(s, "k", &i), 1);
	CU_ASSERT_EQUAL(store_change_seen(s, "c1"), 0);
	CU_ASSERT_EQUAL(store_change_mark(s, "c1", 1), 0);
	CU_ASSERT_EQUAL(store_change_seen(s, "c1"), 1);
	CU_ASSERT_EQUAL(store_change_mark(s, "c1", 1), 1);
	/* Rolled back: neither the intent close nor the marks happened. */
	store_rollback(s);
	CU_ASSERT_EQUAL(store_change_seen(s, "c1"), 0);
	CU_ASSERT_EQUAL(store_intent_open_for(s, "k", &i), 1);
	store_close(s);
}

/* Every documented status maps to its event; anything else (including
 * unknownFutureValue and a case change) is tolerated as unknown. */
static void
test_adapter_statuses(void)
{
	static const struct {
		enum req_source src;
		const char *status;
		enum sm_event_kind ev;
	} cases[] = {
		{ REQ_SRC_ACCESS_PACKAGE, "pendingApproval",
		    SM_E_GRAPH_SUBMITTED },
		{ REQ_SRC_ACCESS_PACKAGE, "delivering", SM_E_GRAPH_APPROVED },
		{ REQ_SRC_ACCESS_PACKAGE, "delivered", SM_E_GRAPH_APPROVED },
		{ REQ_SRC_ACCESS_PACKAGE, "scheduled", SM_E_GRAPH_APPROVED },
		{ REQ_SRC_ACCESS_PACKAGE, "partiallyDelivered",
		    SM_E_GRAPH_APPROVED },
		{ REQ_SRC_ACCESS_PACKAGE, "denied", SM_E_GRAPH_REJECTED },
		{ REQ_SRC_ACCESS_PACKAGE, "canceled", SM_E_GRAPH_CANCELED },
		{ REQ_SRC_ACCESS_PACKAGE, "deliveryFailed",
		    SM_E_GRAPH_COMPLETED },
		{ REQ_SRC_ACCESS_PACKAGE, "submitted", SM_E_GRAPH_UNKNOWN },
		{ REQ_SRC_ACCESS_PACKAGE, "unknownFutureValue",
		    SM_E_GRAPH_UNKNOWN },
		{ REQ_SRC_ACCESS_PACKAGE, "PendingApproval",
		    SM_E_GRAPH_UNKNOWN },
		{ REQ_SRC_ACCESS_PACKAGE, NULL, SM_E_GRAPH_UNKNOWN },
		{ REQ_SRC_GROUP, "PendingApproval", SM_E_GRAPH_SUBMITTED },
		{ REQ_SRC_GROUP, "Provisioned", SM_E_GRAPH_APPROVED },
		{ REQ_SRC_GROUP, "Denied", SM_E_GRAPH_REJECTED },
		{ REQ_SRC_GROUP, "Canceled", SM_E_GRAPH_CANCELED },
		{ REQ_SRC_GROUP, "Revoked", SM_E_GRAPH_COMPLETED },
		{ REQ_SRC_GROUP, "TimedOut", SM_E_GRAPH_REJECTED },
		{ REQ_SRC_GROUP, "SomethingNew", SM_E_GRAPH_UNKNOWN },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct source_adapter *ad = adapter_for(cases[i].src);

		CU_ASSERT_PTR_NOT_NULL_FATAL(ad);
		CU_ASSERT_EQUAL(ad->observe(cases[i].status), cases[i].ev);
	}
	CU_ASSERT_STRING_EQUAL(
	    adapter_for(REQ_SRC_ACCESS_PACKAGE)->status_field, "state");
}

/* The stage to act on: the first not yet reviewed, else the last. */
static void
test_adapter_step_pick(void)
{
	static const struct {
		const char *stages;
		const char *id, *review, *reviewer;
	} cases[] = {
		{ "[{\"id\":\"s1\",\"reviewResult\":\"Approved\","
		  "\"reviewedBy\":{\"id\":\"u1\"}},{\"id\":\"s2\","
		  "\"reviewResult\":\"NotReviewed\",\"reviewedBy\":null}]",
		    "s2", "NotReviewed", NULL },
		{ "[{\"id\":\"s1\",\"reviewResult\":\"Denied\","
		  "\"reviewedBy\":{\"user\":{\"id\":\"u2\"}}}]",
		    "s1", "Denied", "u2" },
		{ "[{\"id\":\"s1\",\"reviewResult\":\"Approved\"},"
		  "{\"id\":\"s2\",\"reviewResult\":\"Approved\","
		  "\"reviewedBy\":{\"id\":\"u3\"}}]",
		    "s2", "Approved", "u3" },
	};
	struct step_info si;
	struct json_object *a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&si, 0, sizeof(si));
		CU_ASSERT_PTR_NOT_NULL_FATAL(
		    a = json_tokener_parse(cases[i].stages));
		adapter_step_pick(a, &si);
		CU_ASSERT_EQUAL(si.found, 1);
		CU_ASSERT(si.id != NULL && strcmp(si.id, cases[i].id) == 0);
		CU_ASSERT(si.review != NULL &&
		          strcmp(si.review, cases[i].review) == 0);
		CU_ASSERT(
		    cases[i].reviewer == NULL
		        ? si.reviewer_id == NULL
		        : si.reviewer_id != NULL &&
		              strcmp(si.reviewer_id, cases[i].reviewer) == 0);
		step_info_clear(&si);
		json_object_put(a);
	}
	memset(&si, 0, sizeof(si));
	a = json_object_new_array();
	adapter_step_pick(a, &si);
	CU_ASSERT_EQUAL(si.found, 0);
	json_object_put(a);
}

/*
 * reload_fingerprint: what a verdict decides. Each case changes one thing
 * of a two-stage verdict and says whether a reload must start the
 * request's stages again (the fingerprint differs) or not.
 */
enum fp_change {
	FP_NOTHING = 0,
	FP_STAGE_NAME,
	FP_SET_NAME,
	FP_REASON,
	FP_RULE_INDEX,
	FP_RULE,
	FP_VERDICT,
	FP_GROUP,
	FP_SET_KIND,
	FP_MANAGER_LEVEL,
	FP_FALLBACK,
	FP_ESCALATION,
	FP_SET_ORDER,
	FP_APPROVALS,
	FP_JUSTIFICATION,
	FP_ESCALATE_AFTER,
	FP_DENY_AFTER,
	FP_REMIND_EVERY,
	FP_NSTAGES,
};

static const struct {
	enum fp_change change;
	const char *what;
	int differs;
} fp_cases[] = {
	{ FP_NOTHING, "nothing", 0 },
	{ FP_STAGE_NAME, "a stage renamed", 0 },
	{ FP_SET_NAME, "an approver set renamed", 0 },
	{ FP_REASON, "the rule's reason", 0 },
	{ FP_RULE_INDEX, "the rule moved in the file", 0 },
	{ FP_RULE, "another rule decides", 1 },
	{ FP_VERDICT, "another verdict", 1 },
	{ FP_GROUP, "a set's group", 1 },
	{ FP_SET_KIND, "a set's kind", 1 },
	{ FP_MANAGER_LEVEL, "a manager level", 1 },
	{ FP_FALLBACK, "a fallback added", 1 },
	{ FP_ESCALATION, "an escalation set added", 1 },
	{ FP_SET_ORDER, "sets swapped between stages", 1 },
	{ FP_APPROVALS, "a quorum", 1 },
	{ FP_JUSTIFICATION, "justification required", 1 },
	{ FP_ESCALATE_AFTER, "escalate_after", 1 },
	{ FP_DENY_AFTER, "deny_after", 1 },
	{ FP_REMIND_EVERY, "remind_every", 1 },
	{ FP_NSTAGES, "a stage dropped", 1 },
};

/* The base verdict with `change` applied, into `out`. */
static void
fp_verdict(enum fp_change change, char out[65])
{
	struct approver_set ciso = { "ciso", APPROVER_USER, "ciso-id", 0 };
	struct approver_set secops = { "secops", APPROVER_GROUP, "g-1", 0 };
	struct approver_set mgr = { "manager", APPROVER_MANAGER, NULL, 1 };
	const struct approver_set *a1[1] = { &ciso },
	                          *a2[2] = { &secops, &mgr };
	const struct approver_set *fb[1] = { &ciso };
	struct policy_stage st[2];
	struct verdict v;

	memset(st, 0, sizeof(st));
	memset(&v, 0, sizeof(v));
	st[0].name = "first";
	st[0].approvers.n = 1;
	st[0].approvers.v = a1;
	st[0].approvals = 1;
	st[0].deny_after = 86400;
	st[1].name = "second";
	st[1].approvers.n = 2;
	st[1].approvers.v = a2;
	st[1].approvals = 2;
	st[1].escalate_after = 3600;
	st[1].deny_after = 7200;
	v.kind = VERDICT_STAGES;
	v.rule = "azure-roles";
	v.reason = "two stages";
	v.rule_index = 3;
	v.nstages = 2;
	v.stages = st;
	switch (change) {
	case FP_STAGE_NAME:
		st[1].name = "security";
		break;
	case FP_SET_NAME:
		secops.name = "operators";
		break;
	case FP_REASON:
		v.reason = "reworded";
		break;
	case FP_RULE_INDEX:
		v.rule_index = 0;
		break;
	case FP_RULE:
		v.rule = "azure-roles-2";
		break;
	case FP_VERDICT:
		v.kind = VERDICT_REJECT;
		v.nstages = 0;
		v.stages = NULL;
		break;
	case FP_GROUP:
		secops.value = "g-2";
		break;
	case FP_SET_KIND:
		ciso.kind = APPROVER_GROUP;
		break;
	case FP_MANAGER_LEVEL:
		mgr.level = 2;
		break;
	case FP_FALLBACK:
		st[0].fallback.n = 1;
		st[0].fallback.v = fb;
		break;
	case FP_ESCALATION:
		st[1].escalation.n = 1;
		st[1].escalation.v = fb;
		break;
	case FP_SET_ORDER:
		a1[0] = &secops;
		a2[0] = &ciso;
		break;
	case FP_APPROVALS:
		st[1].approvals = 1;
		break;
	case FP_JUSTIFICATION:
		st[0].justification_required = 1;
		break;
	case FP_ESCALATE_AFTER:
		st[1].escalate_after = 1800;
		break;
	case FP_DENY_AFTER:
		st[0].deny_after = 86401;
		break;
	case FP_REMIND_EVERY:
		st[0].remind_every = 600;
		break;
	case FP_NSTAGES:
		v.nstages = 1;
		break;
	default:
		break;
	}
	reload_fingerprint(&v, out);
}

static void
test_reload_fingerprint(void)
{
	char orig[65], fp[65];
	size_t i;

	fp_verdict(FP_NOTHING, orig);
	CU_ASSERT_EQUAL_FATAL(strlen(orig), 64);
	for (i = 0; i < sizeof(fp_cases) / sizeof(fp_cases[0]); i++) {
		fp_verdict(fp_cases[i].change, fp);
		CU_ASSERT_EQUAL(strlen(fp), 64);
		if ((strcmp(fp, orig) != 0) != fp_cases[i].differs)
			fprintf(stderr, "fingerprint: %s %s\n",
			    fp_cases[i].what,
			    fp_cases[i].differs ? "not noticed"
			                        : "noticed, should not be");
		CU_ASSERT_EQUAL(strcmp(fp, orig) != 0, fp_cases[i].differs);
	}
}

/* One meaning of Graph's answer to a decision, for the executor and the
 * audit trail alike: only 204 is done; any other 2xx is read back. */
static void
test_graph_outcome(void)
{
	static const struct {
		long status;
		enum graph_outcome want;
		const char *name;
	} cases[] = {
		{ 204, GRAPH_OUTCOME_OK, "ok" },
		{ 200, GRAPH_OUTCOME_UNKNOWN, "unknown" },
		{ 202, GRAPH_OUTCOME_UNKNOWN, "unknown" },
		{ 409, GRAPH_OUTCOME_CONFLICT, "conflict" },
		{ 400, GRAPH_OUTCOME_REFUSED, "refused" },
		{ 403, GRAPH_OUTCOME_REFUSED, "refused" },
		{ 404, GRAPH_OUTCOME_REFUSED, "refused" },
		{ 429, GRAPH_OUTCOME_THROTTLED, "throttled" },
		{ 503, GRAPH_OUTCOME_THROTTLED, "throttled" },
		{ 500, GRAPH_OUTCOME_UNKNOWN, "unknown" },
		{ 401, GRAPH_OUTCOME_UNKNOWN, "unknown" },
		{ 0, GRAPH_OUTCOME_UNKNOWN, "unknown" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(graph_outcome(cases[i].status), cases[i].want);
		CU_ASSERT_STRING_EQUAL(
		    graph_outcome_name(graph_outcome(cases[i].status)),
		    cases[i].name);
	}
	CU_ASSERT_STRING_EQUAL(
	    graph_outcome_name(GRAPH_OUTCOME_MAX), "unknown");
}

/* reviewResult read back: only Graph's exact words mean a decision; any
 * other string is "other" (nothing inferred), absent is "none". */
static void
test_review_result(void)
{
	CU_ASSERT_EQUAL(review_result_from(NULL), REVIEW_NONE);
	CU_ASSERT_EQUAL(review_result_from("NotReviewed"), REVIEW_NOT_REVIEWED);
	CU_ASSERT_EQUAL(review_result_from("Approved"), REVIEW_APPROVED);
	CU_ASSERT_EQUAL(review_result_from("Denied"), REVIEW_DENIED);
	CU_ASSERT_EQUAL(review_result_from("approved"), REVIEW_OTHER);
	CU_ASSERT_EQUAL(review_result_from("Approve"), REVIEW_OTHER);
	CU_ASSERT_EQUAL(review_result_from(""), REVIEW_OTHER);
}

static const struct cu_test graph_tests[] = {
	{ "one outcome per Graph answer", test_graph_outcome },
	{ "review results by name", test_review_result },
	{ "origin allow-list", test_origin_allow_list },
	{ "foreign call refused before any transfer",
	    test_foreign_call_refused },
	{ NULL, NULL },
};

static void
ret_put(struct store *s, const char *key, enum sm_state state, int64_t upd)
{
	struct store_request r;

	memset(&r, 0, sizeof(r));
	r.key = (char *)key;
	r.gid = (char *)key;
	r.sm.state = state;
	r.created = 1;
	r.updated = upd;
	CU_ASSERT(store_request_put(s, &r) == 0);
	CU_ASSERT(store_journal_add(s, key, upd, "new", sm_state_name(state),
	              "e", NULL, NULL) == 0);
}

static long long
ret_count(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Retention: settled requests older than the cutoff go with their rows,
 * in batches; not one with an open intent, not a younger or unsettled
 * one; the audit prefix goes up to the first entry of a stored request,
 * behind an anchor; raw deletes are still refused. */
static void
test_store_retention(void)
{
	static const char *const old[] = { "permissions:r1", "permissions:r2",
		"permissions:r3" };
	struct store *s;
	struct store_prune p;
	char path[300], *err = NULL;
	int64_t id;
	size_t i;

	snprintf(path, sizeof(path), "%s.retention", dbpath);
	unlink(path);
	CU_ASSERT_FATAL(store_open(path, &s, &err) == 0);
	CU_ASSERT_FATAL(store_begin(s) == 0);
	ret_put(s, old[0], SM_S_REJECTED, 100);
	ret_put(s, old[1], SM_S_CANCELED, 100);
	ret_put(s, "permissions:p1", SM_S_PENDING, 100);
	ret_put(s, old[2], SM_S_COMPLETED, 100);
	ret_put(s, "permissions:busy", SM_S_COMPLETED, 100);
	ret_put(s, "permissions:young", SM_S_REJECTED, 5000);
	CU_ASSERT(store_intent_add(
	              s, "permissions:busy", "approve", NULL, 100, &id) == 0);
	CU_ASSERT(store_intent_add(s, old[0], "deny", NULL, 90, &id) == 0);
	CU_ASSERT(store_intent_close(s, id, "done", 95) == 0);
	CU_ASSERT(store_timer_set(s, old[0], 1, 0, 200) == 0);
	CU_ASSERT(sqlite3_exec(store_db(s),
	              "INSERT INTO stage_approvers (key, stage, id) VALUES"
	              " ('permissions:r1', 0, 'a');"
	              "INSERT INTO outbox (target, key, event, stage, started,"
	              " created, ready, next_at) VALUES ('t',"
	              " 'permissions:r2', 'rejected', 0, 1, 1, 1, 1)",
	              NULL, NULL, NULL) == SQLITE_OK);
	/* the audit chain: r1, r2, then p1 (stays), then r3 */
	CU_ASSERT(audit_append(s, old[0], 50, "transition", "{}") == 0);
	CU_ASSERT(audit_append(s, "graph", 50, "graph_call", "{}") == 0);
	CU_ASSERT(audit_append(s, old[1], 60, "transition", "{}") == 0);
	CU_ASSERT(
	    audit_append(s, "permissions:p1", 70, "transition", "{}") == 0);
	CU_ASSERT(audit_append(s, old[2], 80, "transition", "{}") == 0);
	CU_ASSERT_FATAL(store_commit(s) == 0);

	/* outside a batch: refused */
	CU_ASSERT_EQUAL(store_retention_prune(s, 1000, 1000, 2, &p), -1);
	CU_ASSERT_FATAL(store_begin(s) == 0);
	CU_ASSERT_EQUAL(store_retention_prune(s, 1000, 1000, 2, &p), 0);
	CU_ASSERT_EQUAL(p.requests, 2);
	CU_ASSERT_EQUAL(p.more, 1);
	CU_ASSERT_FATAL(store_commit(s) == 0);
	CU_ASSERT_FATAL(store_begin(s) == 0);
	CU_ASSERT_EQUAL(store_retention_prune(s, 1000, 1000, 2, &p), 0);
	CU_ASSERT_EQUAL(p.requests, 1);
	CU_ASSERT_EQUAL(p.more, 0);
	CU_ASSERT_FATAL(store_commit(s) == 0);
	CU_ASSERT_EQUAL(
	    ret_count(s, "SELECT count(*) FROM requests WHERE key IN"
	                 " ('permissions:r1', 'permissions:r2',"
	                 " 'permissions:r3')"),
	    0);
	for (i = 0; i < 3; i++) {
		char sql[600];

		snprintf(sql, sizeof(sql),
		    "SELECT (SELECT count(*) FROM journal WHERE key = '%s') +"
		    " (SELECT count(*) FROM intents WHERE key = '%s') +"
		    " (SELECT count(*) FROM timers WHERE key = '%s') +"
		    " (SELECT count(*) FROM outbox WHERE key = '%s') +"
		    " (SELECT count(*) FROM stage_approvers WHERE key = '%s')",
		    old[i], old[i], old[i], old[i], old[i]);
		CU_ASSERT_EQUAL(ret_count(s, sql), 0);
	}
	/* an open intent, a younger one, an unsettled one: kept */
	CU_ASSERT_EQUAL(ret_count(s, "SELECT count(*) FROM requests"), 3);
	CU_ASSERT_EQUAL(ret_count(s, "SELECT count(*) FROM journal"), 3);
	CU_ASSERT_EQUAL(
	    ret_count(s, "SELECT n FROM request_counts WHERE state ="
	                 " 'completed'"),
	    1);
	/* the audit prefix before p1's entry, behind the anchor */
	CU_ASSERT_EQUAL(ret_count(s, "SELECT min(seq) FROM audit"), 4);
	CU_ASSERT_EQUAL(ret_count(s, "SELECT audit_seq FROM prune_anchor"), 3);
	CU_ASSERT_EQUAL(
	    ret_count(s, "SELECT count(*) FROM audit a, prune_anchor p"
	                 " WHERE a.seq = 4 AND a.prev_hash = p.audit_hash"),
	    1);
	/* nothing more; the chain goes on from its head */
	CU_ASSERT_FATAL(store_begin(s) == 0);
	CU_ASSERT_EQUAL(store_retention_prune(s, 1000, 1000, 2, &p), 0);
	CU_ASSERT(p.requests == 0 && p.audit == 0 && p.more == 0);
	CU_ASSERT(audit_append(s, "graph", 90, "graph_call", "{}") == 0);
	CU_ASSERT_FATAL(store_commit(s) == 0);
	CU_ASSERT_EQUAL(ret_count(s, "SELECT max(seq) FROM audit"), 6);
	/* plain SQL still cannot delete or move the anchor back */
	CU_ASSERT_NOT_EQUAL(sqlite3_exec(store_db(s),
	                        "DELETE FROM journal WHERE key ="
	                        " 'permissions:p1'",
	                        NULL, NULL, NULL),
	    SQLITE_OK);
	CU_ASSERT_NOT_EQUAL(
	    sqlite3_exec(store_db(s), "DELETE FROM audit WHERE seq = 4", NULL,
	        NULL, NULL),
	    SQLITE_OK);
	CU_ASSERT_NOT_EQUAL(sqlite3_exec(store_db(s),
	                        "UPDATE prune_anchor SET audit_seq = 5,"
	                        " audit_hash = 'x'",
	                        NULL, NULL, NULL),
	    SQLITE_OK);
	CU_ASSERT_NOT_EQUAL(sqlite3_exec(store_db(s),
	                        "DELETE FROM prune_anchor", NULL, NULL, NULL),
	    SQLITE_OK);
	store_close(s);
	unlink(path);
}

static const struct cu_test store_tests[] = {
	{ "request round trip", test_store_roundtrip },
	{ "second opener refused", test_store_single_instance },
	{ "lock by file: symlink and hard link refused",
	    test_store_lock_by_file },
	{ "disk full mid-batch: whole batch rolled back, then recovered",
	    test_store_full_batch },
	{ "damaged database refused", test_store_damaged },
	{ "journal append-only", test_store_journal_append_only },
	{ "intents, change marks, rollback", test_store_intents_and_changes },
	{ "retention: settled requests and the audit prefix",
	    test_store_retention },
	{ NULL, NULL },
};

/* A request that keeps coming back to evaluating is held after 8 returns
 * within a minute (the executor and the policy re-check then wait on its
 * retry timer instead of spinning); another key and a later minute are
 * not held. */
static void
test_reevaluate_churn(void)
{
	struct daemon dd, *d = &dd;
	int i;

	memset(&dd, 0, sizeof(dd));
	for (i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(
		    engine_churn(d, "permissions:spin", 1000 + i), 0);
	CU_ASSERT_EQUAL(engine_churn(d, "permissions:spin", 1010), 1);
	CU_ASSERT_EQUAL(engine_churn(d, "permissions:spin", 1011), 1);
	CU_ASSERT_EQUAL(engine_churn(d, "permissions:calm", 1011), 0);
	CU_ASSERT_EQUAL(engine_churn(d, "permissions:spin", 1000 + 61), 0);
	engine_free(d);
}

static const struct cu_test reload_tests[] = {
	{ "fingerprint of a verdict: what restarts stages",
	    test_reload_fingerprint },
	{ "a request coming back to evaluating too often is held",
	    test_reevaluate_churn },
	{ NULL, NULL },
};

/* Human durations and deadlines next to the ISO 8601 values (issue 16),
 * with fixed English names whatever the locale. */
static void
test_summary_human(void)
{
	static const struct {
		int64_t s;
		const char *want;
	} d[] = { { 3600, "1 hour" }, { 9000, "2 hours 30 minutes" },
		{ 86400, "1 day" }, { 7 * 86400, "7 days" },
		{ 90061, "1 day 1 hour 1 minute 1 second" },
		{ 45, "45 seconds" }, { 0, "0 seconds" } };
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		summary_human_duration(d[i].s, buf, sizeof(buf));
		CU_ASSERT_STRING_EQUAL(buf, d[i].want);
	}
	/* 2026-12-04T14:00:00Z is a Friday */
	summary_when(1796392800, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "Fri 4 Dec 14:00 UTC");
	summary_time(1796392800, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "2026-12-04T14:00:00Z");
	summary_when(0, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "Thu 1 Jan 00:00 UTC");
}

static const struct cu_test adapter_tests[] = {
	{ "human durations and deadlines", test_summary_human },
	{ "Graph statuses, unknown values tolerated", test_adapter_statuses },
	{ "the approval stage to act on", test_adapter_step_pick },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "graph", graph_setup, graph_teardown, graph_tests },
	{ "store", store_setup, NULL, store_tests },
	{ "adapters", NULL, NULL, adapter_tests },
	{ "reload", NULL, NULL, reload_tests },
	{ NULL, NULL, NULL, NULL },
};
