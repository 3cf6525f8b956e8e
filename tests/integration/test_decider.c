/*
 * Decision safety (issue 12, items 4 and 6), end to end: the notify stack
 * (graph-emulator, approvald with decision links, a message receiver) with
 * no Graph change notifications, so the stored approver sets are never
 * refreshed by the daemon itself.
 *
 * - A member removed from the stage's approver group on Graph after the
 *   stage started is refused at decision time, over the control socket and
 *   through a decision link (GET and POST); a still-eligible approver then
 *   decides. Ground truth: no Graph decision until then, then one.
 * - Graph failing the membership check: refused, nothing recorded.
 * - The control socket's peer: `decide` only as a principal its
 *   `operators` entry names; the audit row keeps its uid.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "harness.h"
#include "hookutil.h"
#include "notify_stack.h"

#define APP      "0f6b3a2e-9c1d-4e8a-b7f5-3d2c1b0a9e8f" /* admin app */
#define SECOPS   "1623f912-5e86-41c2-af47-39dd67582b66"
#define CMG_GLOB "/v1.0/users/*/checkMemberGroups"

/* A Graph membership write on emulator `e` as the admin app; status. */
static long
member(struct emu *e, const char *method, const char *who)
{
	struct json_object *o, *v;
	char url[600], body[300], *tok = NULL;
	long st;

	o = emu_json(
	    e, "POST", "/_emulator/token", "{\"app\":\"" APP "\"}", &st);
	if (o != NULL && json_object_object_get_ex(o, "access_token", &v))
		tok = strdup(json_object_get_string(v));
	json_object_put(o);
	if (tok == NULL)
		return 0;
	if (strcmp(method, "POST") == 0) {
		snprintf(url, sizeof(url),
		    "%s/v1.0/groups/" SECOPS "/members/$ref", e->url);
		snprintf(body, sizeof(body),
		    "{\"@odata.id\":\"https://graph.microsoft.com/v1.0/"
		    "directoryObjects/%s\"}",
		    who);
		st = h_http(e->ca, "POST", url, tok, body, NULL);
	} else {
		snprintf(url, sizeof(url),
		    "%s/v1.0/groups/" SECOPS "/members/%s/$ref", e->url, who);
		st = h_http(e->ca, "DELETE", url, tok, NULL, NULL);
	}
	free(tok);
	return st;
}

/* A control command's reply member `k` (heap; "" when absent). */
static char *
ctl_str(struct ad *a, const char *cmd, const char *k)
{
	struct json_object *o = ad_ctl(a, cmd), *v;
	char *s;

	s = strdup(o != NULL && json_object_object_get_ex(o, k, &v) &&
	                   json_object_get_string(v) != NULL
	               ? json_object_get_string(v)
	               : "");
	json_object_put(o);
	return s;
}

/* decide over the control socket (once): "ok", or "result: why" (heap). */
static char *
decide_why(struct ad *a, const char *key, const char *verb, const char *who)
{
	struct json_object *o, *r, *w;
	char cmd[1024], *out = NULL;

	snprintf(cmd, sizeof(cmd), "decide %s %s %s checked by the test", key,
	    verb, who);
	o = ad_ctl(a, cmd);
	if (o == NULL || !json_object_object_get_ex(o, "result", &r))
		out = strdup("(no answer)");
	else if (strcmp(json_object_get_string(r), "ok") == 0)
		out = strdup("ok");
	else if (asprintf(&out, "%s: %s", json_object_get_string(r),
	             json_object_object_get_ex(o, "why", &w)
	                 ? json_object_get_string(w)
	                 : "") == -1)
		out = NULL;
	json_object_put(o);
	return out;
}

static void
assert_state(struct ad *a, const char *key, const char *want)
{
	char *s = ad_state(a, key);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, want);
	free(s);
}

/* Replace the daemon's `operators:` (the last block of its settings). */
static int
set_operators(struct ad *a, const char *yaml)
{
	char *text = cu_slurp(a->conf, NULL), *at, *out = NULL;
	int rc = -1;

	if (text != NULL && (at = strstr(text, "operators:")) != NULL) {
		*at = '\0';
		if (asprintf(&out, "%s%s", text, yaml) != -1)
			rc = h_write_file(a->conf, out, 0600);
	}
	free(out);
	free(text);
	return rc;
}

/* Decisions Graph saw on the request, in all. */
static int
truth_all(struct emu *e, const char *key)
{
	int ap = -1, dn = -1, cn = -1;

	if (emu_truth_counts(e, key + strlen("permissions:"), &ap, &dn, &cn) ==
	    -1)
		return -1;
	return ap + dn + cn;
}

/* A links-two request whose stage 1 the CISO approved (control socket):
 * stage 2 is SecOps (jordan, morgan), one approval. */
static char *
at_secops_stage(void)
{
	char *k = create("links-two decider");

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	decide(k, "approve", "ciso@contoso.com", "ok");
	CU_ASSERT_FATAL(wait_approvers(k, 2, 2) == 0);
	return k;
}

/* Removed from the group after the stage started, no change notification:
 * the stored set still names jordan, the control socket refuses him, Graph
 * saw no decision; morgan (still a member) approves. */
static void
test_removed_socket(void)
{
	char *k = at_secops_stage(), *r;

	CU_ASSERT_EQUAL_FATAL(member(&E, "DELETE", JORDAN_ID), 204);
	CU_ASSERT_EQUAL(napprovers(k, 2), 2); /* not refreshed */
	r = decide_why(&A, k, "approve", "jordan@contoso.com");
	CU_ASSERT_STRING_EQUAL(
	    r, "refused: you are no longer an approver for this request");
	free(r);
	assert_state(&A, k, "pending");
	CU_ASSERT_EQUAL(decision_audits(k), 1); /* stage 1 only */
	CU_ASSERT_EQUAL(truth_all(&E, k), 0);
	decide(k, "approve", "morgan@contoso.com", "ok");
	CU_ASSERT(wait_state(k, "approved") == 0);
	assert_truth(k, 1);
	CU_ASSERT_EQUAL(member(&E, "POST", JORDAN_ID), 204);
	free(k);
}

/* The same through jordan's decision link: the page says so on GET and
 * POST, nothing is recorded, the link stays unused. */
static void
test_removed_link(void)
{
	char *k = at_secops_stage(), *l;

	CU_ASSERT_FATAL(rx_wait("/json", k, "pending", 200, 2) == 0);
	l = link_for(k, "pending", 1, "jordan@contoso.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	/* The previous test's answers about jordan (removed, then added
	 * back) may be reused for a minute. */
	clock_advance(61);
	CU_ASSERT(web_says(l, NULL, 200, "2 of 2 (secops)"));
	CU_ASSERT_EQUAL_FATAL(member(&E, "DELETE", JORDAN_ID), 204);
	/* A positive answer may be reused for decisions.membership_max_age
	 * (PT1M by default): let it age out. */
	clock_advance(61);
	CU_ASSERT(
	    web_says(l, NULL, 403, "no longer an approver for this request"));
	CU_ASSERT(web_says(l, "decision=approve&reason=fine", 403,
	    "no longer an approver for this request"));
	CU_ASSERT_EQUAL(decision_audits(k), 1);
	CU_ASSERT_EQUAL(truth_all(&E, k), 0);
	assert_state(&A, k, "pending");
	/* Back in the group: the same link works (it was never used). */
	CU_ASSERT_EQUAL_FATAL(member(&E, "POST", JORDAN_ID), 204);
	clock_advance(61);
	CU_ASSERT(web_says(
	    l, "decision=approve&reason=fine", 200, "Approval recorded"));
	CU_ASSERT(wait_state(k, "approved") == 0);
	assert_truth(k, 1);
	free(l);
	free(k);
}

/* Graph fails checkMemberGroups: refused with "could not verify", nothing
 * recorded, over the socket and by link; once Graph answers, recorded. */
static void
test_graph_fails(void)
{
	char *k = at_secops_stage(), *r, *l;
	long st;
	struct json_object *o;

	CU_ASSERT_FATAL(rx_wait("/json", k, "pending", 200, 2) == 0);
	l = link_for(k, "pending", 1, "morgan@contoso.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	clock_advance(61); /* no reusable answer */
	CU_ASSERT_FATAL(
	    emu_fault(&E, "{\"method\":\"POST\",\"path\":\"" CMG_GLOB
	                  "\",\"kind\":\"status\",\"status\":503}") == 0);
	r = decide_why(&A, k, "approve", "morgan@contoso.com");
	CU_ASSERT_STRING_EQUAL(
	    r, "refused: could not verify your membership, try again");
	free(r);
	CU_ASSERT(web_says(l, "decision=approve&reason=fine", 503,
	    "could not verify your membership, try again"));
	CU_ASSERT_EQUAL(decision_audits(k), 1);
	CU_ASSERT_EQUAL(truth_all(&E, k), 0);
	assert_state(&A, k, "pending");
	o = emu_json(&E, "DELETE", "/_emulator/faults", NULL, &st);
	json_object_put(o);
	CU_ASSERT_EQUAL(st, 204);
	CU_ASSERT(web_says(
	    l, "decision=approve&reason=fine", 200, "Approval recorded"));
	CU_ASSERT(wait_state(k, "approved") == 0);
	assert_truth(k, 1);
	free(l);
	free(k);
}

/* The stack's operators entry (uid 0, "*"): the audit row names the peer. */
static void
test_peer_audited(void)
{
	char *k = create("links-one peer"), sql[800];

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	decide(k, "approve", "ciso@contoso.com", "ok");
	CU_ASSERT(wait_state(k, "approved") == 0);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM audit WHERE key = '%s' AND kind = "
	    "'decision' AND json_extract(detail, '$.peer_uid') = 0 AND "
	    "json_extract(detail, '$.peer_user') = 'root' AND "
	    "json_extract(detail, '$.how') = 'control socket'",
	    k);
	CU_ASSERT(sql_wait(A.state, sql, 1, WAIT_MS) == 0);
	free(k);
}

/* Another stack whose operators do not map uid 0 (the tests run as root):
 * refused with the message, nothing recorded; mapped to the CISO only
 * (reload): refused as jordan, accepted as the CISO, uid in the audit. */
static void
test_operators(void)
{
	struct emu e;
	struct ad a;
	char policy[600], fixture[600], *k, *r, sql[800];

	snprintf(fixture, sizeof(fixture), "%s",
	    cu_srcpath("examples/demo-tenant.json"));
	snprintf(policy, sizeof(policy), "%s",
	    cu_srcpath("tests/integration/notify-policy.yaml"));
	CU_ASSERT_FATAL(emu_start(&e, fixture, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy,
	                    "operators:\n"
	                    "  - { unix: \"4242\", as: \"*\" }\n") == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	k = emu_create_tagged(&e, "links-two operators", "alex@contoso.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(ad_wait_state(&a, k, "pending", WAIT_MS) == 0);
	/* read-only commands stay open */
	r = ad_state(&a, k);
	CU_ASSERT_STRING_EQUAL(r, "pending");
	free(r);
	r = decide_why(&a, k, "approve", "ciso@contoso.com");
	CU_ASSERT_STRING_EQUAL(r,
	    "refused: unix user 'root' (uid 0) may not decide as "
	    "ciso@contoso.com: no operators entry");
	free(r);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM audit WHERE key = '%s' AND kind = "
	    "'decision'",
	    k);
	CU_ASSERT_EQUAL(sql_count(a.state, sql), 0);
	/* root, by name, as the CISO only */
	CU_ASSERT_FATAL(
	    set_operators(&a,
	        "operators:\n"
	        "  - { unix: root, as: [ciso@contoso.com] }\n") == 0);
	r = ctl_str(&a, "reload", "reloaded");
	CU_ASSERT_STRING_EQUAL(r, "true");
	free(r);
	r = decide_why(&a, k, "approve", "jordan@contoso.com");
	CU_ASSERT_STRING_EQUAL(r,
	    "refused: unix user 'root' (uid 0) may not decide as "
	    "jordan@contoso.com: its operators entry does not name them");
	free(r);
	/* by object id: the stored set maps it to the UPN */
	r = decide_why(&a, k, "approve", CISO_ID);
	CU_ASSERT_STRING_EQUAL(r, "ok");
	free(r);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM audit WHERE key = '%s' AND kind = "
	    "'decision' AND json_extract(detail, '$.who') = "
	    "'ciso@contoso.com' AND json_extract(detail, '$.peer_uid') = 0 "
	    "AND json_extract(detail, '$.peer_user') = 'root'",
	    k);
	CU_ASSERT(sql_wait(a.state, sql, 1, WAIT_MS) == 0);
	CU_ASSERT(ad_wait_state(&a, k, "pending", WAIT_MS) == 0);
	CU_ASSERT(emu_truth_total(&e) == 0);
	ad_stop(&a, SIGTERM);
	emu_stop(&e);
	free(k);
}

static const struct cu_test decider_tests[] = {
	{ "removed from the group: control socket refused",
	    test_removed_socket },
	{ "removed from the group: decision link refused", test_removed_link },
	{ "membership check fails: refused, nothing recorded",
	    test_graph_fails },
	{ "the peer's uid is audited", test_peer_audited },
	{ "operators: who may decide as whom", test_operators },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "decider", stack_start, stack_stop, decider_tests },
	{ NULL, NULL, NULL, NULL },
};
