/*
 * Human approval stages (issue 5), end to end on loopback over HTTPS: the
 * real approvald with its test clock against the real graph-emulator.
 * Each scenario is a request whose justification selects one rule of
 * stages-policy.yaml; every scenario ends by checking the emulator's ground
 * truth: exactly one Graph decision, and the right one.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cu.h"
#include "harness.h"
#include "hookutil.h"

#define CISO_ID   "7deff43e-1f17-44ef-9e5f-d516b0ba11d4"
#define ALEX_ID   "3cce9d87-3986-4f19-8335-7ed075408ca2"
#define JORDAN_ID "46184453-e63b-4f20-86c2-c557ed5d5df9"
#define WAIT_MS   30000

static struct emu E;
static struct ad A;
static int started;

static int
suite_init(void)
{
	char fixture[600], policy[600];

	snprintf(fixture, sizeof(fixture), "%s",
	    cu_srcpath("examples/demo-tenant.json"));
	snprintf(policy, sizeof(policy), "%s",
	    cu_srcpath("tests/integration/stages-policy.yaml"));
	if (emu_start(&E, fixture, 1) == -1 ||
	    ad_prepare(&A, &E, policy, NULL) == -1)
		return -1;
	snprintf(A.extra_env, sizeof(A.extra_env), "APPROVALD_TEST_CLOCK=1");
	if (ad_start(&A) == -1 || ad_wait_ready(&A, 20000) == -1)
		return -1;
	started = 1;
	return 0;
}

static int
suite_clean(void)
{
	if (started)
		ad_stop(&A, SIGTERM);
	emu_stop(&E);
	return 0;
}

static char *
create(const char *tag, const char *requestor)
{
	return emu_create_tagged(&E, tag, requestor);
}

struct want {
	const char *key;
	int stage, napprovers;
};

static int
wait_state(const char *key, const char *state)
{
	return ad_wait_state(&A, key, state, WAIT_MS);
}

/* Number of stored eligible approvers of `stage` (1-based). */
static int
napprovers(const char *key, int stage)
{
	return ad_napprovers(&A, key, stage);
}

static int
approvers_are(void *arg)
{
	struct want *w = arg;

	return napprovers(w->key, w->stage) == w->napprovers;
}

static int
wait_approvers(const char *key, int stage, int n)
{
	struct want w = { key, stage, n };

	return h_until(approvers_are, &w, WAIT_MS);
}

/* 1 when `who` (id or UPN) is in the stored set of `stage`. */
static int
has_approver(const char *key, int stage, const char *who)
{
	char cmd[600];
	struct json_object *o, *arr, *a, *v;
	size_t i;
	int found = 0;

	snprintf(cmd, sizeof(cmd), "approvers %s %d", key, stage);
	if ((o = ad_ctl(&A, cmd)) == NULL)
		return 0;
	if (json_object_object_get_ex(o, "approvers", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			a = json_object_array_get_idx(arr, i);
			if ((json_object_object_get_ex(a, "id", &v) &&
			        strcmp(json_object_get_string(v), who) == 0) ||
			    (json_object_object_get_ex(a, "upn", &v) &&
			        strcasecmp(json_object_get_string(v), who) ==
			            0))
				found = 1;
		}
	json_object_put(o);
	return found;
}

/* decide; returns the reply's result ("ok", "refused", "noop") (heap). */
static char *
decide(const char *key, const char *verb, const char *who, const char *reason)
{
	char cmd[1024];

	snprintf(
	    cmd, sizeof(cmd), "decide %s %s %s %s", key, verb, who, reason);
	return ad_result(&A, cmd);
}

#define ASSERT_DECIDE(key, verb, who, reason, want)                            \
	do {                                                                   \
		char *r_ = decide(key, verb, who, reason);                     \
		CU_ASSERT_STRING_EQUAL(r_, want);                              \
		free(r_);                                                      \
	} while (0)

/* Exactly one effective Graph decision for the request: `approve` or not. */
static void
assert_truth(const char *key, int approve)
{
	int ap = -1, dn = -1, cn = -1;

	CU_ASSERT_EQUAL_FATAL(
	    emu_truth_counts(&E, key + strlen("permissions:"), &ap, &dn, &cn),
	    0);
	CU_ASSERT_EQUAL(ap, approve ? 1 : 0);
	CU_ASSERT_EQUAL(dn, approve ? 0 : 1);
	CU_ASSERT_EQUAL(cn, 0);
}

static void
restart(void)
{
	CU_ASSERT_FATAL(ad_restart(&A) == 0);
}

static void
clock_advance(long secs)
{
	char cmd[64], *res;

	snprintf(cmd, sizeof(cmd), "clock advance %ld", secs);
	res = ad_result(&A, cmd);
	CU_ASSERT_STRING_EQUAL(res, "ok");
	free(res);
}

/* Stage 1 without primaries -> fallback; the stage-1 approver is refused
 * in stage 2; kill -9 and restart in the middle of each stage. */
static void
test_two_stage_fallback(void)
{
	char *k = create("scenario-fallback two stages", "alex@contoso.com");

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_state(k, "pending") == 0);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	CU_ASSERT(has_approver(k, 1, CISO_ID));
	restart();
	CU_ASSERT_FATAL(wait_state(k, "pending") == 0);
	CU_ASSERT(has_approver(k, 1, "CISO@contoso.com"));
	ASSERT_DECIDE(
	    k, "approve", "jordan@contoso.com", "not mine", "refused");
	ASSERT_DECIDE(k, "approve", "ciso@contoso.com", "ok by me", "ok");
	/* Stage 2: "everyone" (jordan, morgan, ciso) minus the stage-1
	 * approver. */
	CU_ASSERT_FATAL(wait_approvers(k, 2, 2) == 0);
	CU_ASSERT(!has_approver(k, 2, CISO_ID));
	restart();
	ASSERT_DECIDE(k, "approve", CISO_ID, "again", "refused");
	ASSERT_DECIDE(k, "approve", JORDAN_ID, "fine", "ok");
	CU_ASSERT(wait_state(k, "approved") == 0);
	assert_truth(k, 1);
	free(k);
}

/* Requestor without a manager: the fallback group decides. */
static void
test_manager_missing(void)
{
	char *k = create("scenario-manager none", "ciso@contoso.com");

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 2) == 0);
	CU_ASSERT(has_approver(k, 1, "morgan@contoso.com"));
	ASSERT_DECIDE(k, "approve", "ciso@contoso.com", "self", "refused");
	ASSERT_DECIDE(k, "approve", "morgan@contoso.com", "yes", "ok");
	CU_ASSERT(wait_state(k, "approved") == 0);
	assert_truth(k, 1);
	free(k);
}

/* Primaries and fallback are only the requestor: denied, never left open. */
static void
test_nobody_eligible(void)
{
	char *k = create("scenario-nobody at all", "alex@contoso.com");

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT(wait_state(k, "rejected") == 0);
	CU_ASSERT_EQUAL(napprovers(k, 1), 0);
	assert_truth(k, 0);
	free(k);
}

static void
test_requestor_refused(void)
{
	char *k = create("scenario-self approve", "alex@contoso.com");

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	CU_ASSERT(!has_approver(k, 1, ALEX_ID));
	ASSERT_DECIDE(k, "approve", ALEX_ID, "mine", "refused");
	ASSERT_DECIDE(k, "approve", "ALEX@Contoso.COM", "mine", "refused");
	/* justification: required */
	ASSERT_DECIDE(k, "approve", CISO_ID, "", "refused");
	ASSERT_DECIDE(k, "approve", CISO_ID, "checked", "ok");
	CU_ASSERT(wait_state(k, "approved") == 0);
	assert_truth(k, 1);
	free(k);
}

static void
test_quorum(void)
{
	char *k = create("scenario-quorum of two", "alex@contoso.com");

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 2) == 0);
	ASSERT_DECIDE(k, "approve", "jordan@contoso.com", "one", "ok");
	ASSERT_DECIDE(k, "approve", JORDAN_ID, "one again", "noop");
	CU_ASSERT(wait_state(k, "pending") == 0);
	ASSERT_DECIDE(k, "approve", "morgan@contoso.com", "two", "ok");
	CU_ASSERT(wait_state(k, "approved") == 0);
	assert_truth(k, 1);
	free(k);
}

/* `approvalctl decide` as a person would run it; its exit code. */
static int
ctl_decide(
    const char *key, const char *verb, const char *who, const char *reason)
{
	return ad_ctl_decide(&A, key, verb, who, reason);
}

static void
test_deny_stage_one(void)
{
	char *k = create("scenario-deny in stage one", "alex@contoso.com");

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	/* Through approvalctl: exit 0 when recorded, 1 when not. */
	CU_ASSERT_EQUAL(ctl_decide(k, "deny", CISO_ID, "no"), 0);
	CU_ASSERT(wait_state(k, "rejected") == 0);
	CU_ASSERT_EQUAL(
	    ctl_decide(k, "approve", CISO_ID, "changed my mind"), 1);
	ASSERT_DECIDE(k, "approve", CISO_ID, "changed my mind", "noop");
	CU_ASSERT_EQUAL(napprovers(k, 2), 0);
	assert_truth(k, 0);
	free(k);
}

/* Escalation after its duration adds secops; the primary still decides.
 * deny_after on another request: timed out on Graph, later decisions
 * change nothing. Both timers survive a kill -9. */
static void
test_escalation_and_timeout(void)
{
	char *ke = create("scenario-escalate later", "alex@contoso.com");
	char *kt = create("scenario-timeout soon", "alex@contoso.com");

	CU_ASSERT_PTR_NOT_NULL_FATAL(ke);
	CU_ASSERT_PTR_NOT_NULL_FATAL(kt);
	CU_ASSERT_FATAL(wait_approvers(ke, 1, 1) == 0);
	CU_ASSERT_FATAL(wait_approvers(kt, 1, 1) == 0);
	restart();
	ASSERT_DECIDE(ke, "approve", JORDAN_ID, "too early", "refused");
	clock_advance(3700);
	CU_ASSERT(wait_state(ke, "escalated") == 0);
	CU_ASSERT(wait_approvers(ke, 1, 3) == 0);
	CU_ASSERT(wait_state(kt, "pending") == 0);
	ASSERT_DECIDE(ke, "approve", CISO_ID, "primary still decides", "ok");
	CU_ASSERT(wait_state(ke, "approved") == 0);
	{
		char *r = decide(ke, "approve", JORDAN_ID, "late");

		CU_ASSERT(strcmp(r, "ok") != 0);
		free(r);
	}
	clock_advance(3600);
	CU_ASSERT(wait_state(kt, "rejected") == 0);
	{
		char *r = decide(kt, "approve", CISO_ID, "after deadline");

		CU_ASSERT(strcmp(r, "ok") != 0);
		free(r);
	}
	assert_truth(ke, 1);
	assert_truth(kt, 0);
	free(ke);
	free(kt);
}

/*
 * Issue 15: a stages rule whose `schedule` (Mondays, UTC) held when it
 * decided and holds no longer. Two days later its escalation resolves the
 * escalation approvers from the stages stored with the verdict, and an
 * escalation approver's decision is accepted and reaches Graph. Evaluating
 * the policy again (the default: ignore) would leave it stuck: no
 * escalation approvers, every decision refused as unverifiable.
 */
static void
test_stored_stages_outlive_schedule(void)
{
	struct json_object *o, *v;
	long long now = 0, day, monday;
	char *k;

	o = ad_ctl(&A, "clock show");
	CU_ASSERT_FATAL(o != NULL && json_object_object_get_ex(o, "now", &v));
	now = json_object_get_int64(v);
	json_object_put(o);
	/* to the next Monday, 02:00 UTC (1970-01-01 was a Thursday) */
	day = now / 86400;
	monday = (day + (1 - (day + 4) % 7 + 7) % 7) * 86400 + 7200;
	if (monday <= now)
		monday += 7 * 86400;
	clock_advance((long)(monday - now));
	k = create("scenario-scheduled on a monday", "alex@contoso.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_state(k, "pending") == 0);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	CU_ASSERT(has_approver(k, 1, CISO_ID));
	/* Wednesday: the rule matches no more; its escalation is due. */
	clock_advance(2 * 86400);
	CU_ASSERT_FATAL(wait_state(k, "escalated") == 0);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 3) == 0);
	CU_ASSERT(has_approver(k, 1, JORDAN_ID));
	ASSERT_DECIDE(k, "approve", JORDAN_ID, "after hours", "ok");
	CU_ASSERT(wait_state(k, "approved") == 0);
	assert_truth(k, 1);
	free(k);
}

/* Without APPROVALD_TEST_CLOCK the clock command is refused. */
static void
test_clock_refused(void)
{
	struct ad b;
	struct json_object *o, *v;
	char policy[600];

	snprintf(policy, sizeof(policy), "%s",
	    cu_srcpath("tests/integration/stages-policy.yaml"));
	CU_ASSERT_FATAL(ad_prepare(&b, &E, policy, NULL) == 0);
	CU_ASSERT_FATAL(ad_start(&b) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&b, 20000) == 0);
	o = ad_ctl(&b, "clock advance 3600");
	CU_ASSERT(o != NULL && json_object_object_get_ex(o, "result", &v) &&
	          strcmp(json_object_get_string(v), "refused") == 0);
	json_object_put(o);
	ad_stop(&b, SIGTERM);
}

/* The product approvald has no test clock, whatever its environment. */
static void
test_clock_not_in_product(void)
{
	struct ad b;
	struct json_object *o, *v;
	char policy[600];

	snprintf(policy, sizeof(policy), "%s",
	    cu_srcpath("tests/integration/stages-policy.yaml"));
	CU_ASSERT_FATAL(ad_prepare(&b, &E, policy, NULL) == 0);
	b.product = 1;
	snprintf(b.extra_env, sizeof(b.extra_env), "APPROVALD_TEST_CLOCK=1");
	CU_ASSERT_FATAL(ad_start(&b) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&b, 20000) == 0);
	o = ad_ctl(&b, "clock advance 3600");
	CU_ASSERT(o != NULL && json_object_object_get_ex(o, "result", &v) &&
	          strcmp(json_object_get_string(v), "refused") == 0);
	json_object_put(o);
	ad_stop(&b, SIGTERM);
}

/* Nothing decided twice across every scenario. */
static void
test_truth_total(void)
{
	CU_ASSERT_EQUAL(emu_truth_total(&E), 8);
}

static const struct cu_test stage_tests[] = {
	{ "two stages, fallback, restarts in each stage",
	    test_two_stage_fallback },
	{ "missing manager uses the fallback", test_manager_missing },
	{ "nobody eligible is denied", test_nobody_eligible },
	{ "requestor refused by id and UPN", test_requestor_refused },
	{ "quorum of two", test_quorum },
	{ "deny in stage one ends it", test_deny_stage_one },
	{ "escalation and automatic denial", test_escalation_and_timeout },
	{ "one Graph decision per request", test_truth_total },
	{ "stored stages outlive the rule's schedule",
	    test_stored_stages_outlive_schedule },
	{ "test clock refused unless enabled", test_clock_refused },
	{ "no test clock in the product", test_clock_not_in_product },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "stages", suite_init, suite_clean, stage_tests },
	{ NULL, NULL, NULL, NULL },
};
