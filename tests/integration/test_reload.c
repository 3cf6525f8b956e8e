/*
 * Policy reload and decisions in progress (issue 12, item 5), end to end on
 * loopback over HTTPS: the real approvald against the real graph-emulator.
 * Each scenario writes a policy whose rules select its requests by a tag
 * in the justification, starts them, rewrites the policy and reloads it
 * (`reload` on the control socket, or SIGHUP), then checks the emulator's
 * ground truth, the journal (`show`) and the audit trail (state database).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cu.h"
#include "harness.h"
#include "hookutil.h"

#define CISO_ID   "7deff43e-1f17-44ef-9e5f-d516b0ba11d4"
#define JORDAN_ID "46184453-e63b-4f20-86c2-c557ed5d5df9"
#define SECOPS_ID "1623f912-5e86-41c2-af47-39dd67582b66"
#define WAIT_MS   30000

/* Reading a request's approval step: refused until the fault is removed,
 * so an approve intent waits, unsent, in the executor. */
#define STEPS_FAULT                                                            \
	"{\"method\":\"GET\",\"path\":\"/beta/identityGovernance/"             \
	"permissionsManagement/scheduledPermissionsApprovals/*/steps*\","      \
	"\"kind\":\"status\",\"status\":403}"

static struct emu E;
static struct ad A;
static char policy_path[600];
static int started;

/* The approver sets every policy of this suite starts with. */
static const char sets_default[] = "  ciso:   { user: " CISO_ID " }\n"
                                   "  secops: { group: " SECOPS_ID " }\n";

/* Write the policy file: approver sets (NULL: sets_default) and rules;
 * anything no rule matches is ignored. */
static int
write_policy(const char *sets, const char *rules)
{
	char *text = NULL;
	int rc;

	if (asprintf(&text,
	        "version: 1\n"
	        "approvers:\n%s"
	        "rules:\n%s"
	        "default:\n"
	        "  decide: ignore\n",
	        sets ? sets : sets_default, rules) == -1)
		return -1;
	rc = h_write_file(policy_path, text, 0600);
	free(text);
	return rc;
}

/* Two human stages: the CISO, then security operations. */
#define RULE_TWO_STAGES(name, tag)                                             \
	"  - name: " name "\n"                                                 \
	"    when: { justification: \"^" tag "\" }\n"                          \
	"    decide: stages\n"                                                 \
	"    stages:\n"                                                        \
	"      - name: first\n"                                                \
	"        approvers: [ciso]\n"                                          \
	"        deny_after: P7D\n"                                            \
	"      - name: second\n"                                               \
	"        approvers: [secops]\n"                                        \
	"        deny_after: P7D\n"
#define RULE_DECIDE(name, tag, verdict)                                        \
	"  - name: " name "\n"                                                 \
	"    when: { justification: \"^" tag "\" }\n"                          \
	"    decide: " verdict "\n"                                            \
	"    reason: " name " says " verdict "\n"

/* The daemon's settings, in one place (ad_prepare writes approvald.yaml). */
static int
stack_start(void)
{
	char fixture[600];

	snprintf(fixture, sizeof(fixture), "%s",
	    cu_srcpath("examples/demo-tenant.json"));
	snprintf(policy_path, sizeof(policy_path), "%s/reload-policy.yaml",
	    h_tmpdir());
	if (write_policy(NULL, RULE_DECIDE("none", "reload-none", "reject")) ==
	        -1 ||
	    emu_start(&E, fixture, 1) == -1 ||
	    ad_prepare(&A, &E, policy_path, NULL) == -1)
		return -1;
	if (ad_start(&A) == -1 || ad_wait_ready(&A, 20000) == -1)
		return -1;
	started = 1;
	return 0;
}

static int
suite_init(void)
{
	return stack_start();
}

static int
suite_clean(void)
{
	if (started)
		ad_stop(&A, SIGTERM);
	emu_stop(&E);
	return 0;
}

/* Rewrite the policy and reload it over the control socket. */
static void
reload_policy(const char *sets, const char *rules)
{
	struct json_object *o, *v;

	CU_ASSERT_FATAL(write_policy(sets, rules) == 0);
	o = ad_ctl(&A, "reload");
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_FATAL(json_object_object_get_ex(o, "reloaded", &v) &&
	                json_object_get_boolean(v));
	json_object_put(o);
}

static int
wait_state(const char *key, const char *state)
{
	return ad_wait_state(&A, key, state, WAIT_MS);
}

struct want {
	const char *key;
	int stage, napprovers;
};

static int
approvers_are(void *arg)
{
	struct want *w = arg;

	return ad_napprovers(&A, w->key, w->stage) == w->napprovers;
}

/* Wait until `stage` (1-based) of `key` has `n` stored approvers. */
static int
wait_approvers(const char *key, int stage, int n)
{
	struct want w = { key, stage, n };

	return h_until(approvers_are, &w, WAIT_MS);
}

/* 1 when `who` (object id) is in the stored set of `stage` of `key`. */
static int
has_approver(const char *key, int stage, const char *who)
{
	char cmd[600];
	struct json_object *o, *arr, *v;
	size_t i;
	int found = 0;

	snprintf(cmd, sizeof(cmd), "approvers %s %d", key, stage);
	if ((o = ad_ctl(&A, cmd)) == NULL)
		return 0;
	if (json_object_object_get_ex(o, "approvers", &arr))
		for (i = 0; i < json_object_array_length(arr); i++)
			if (json_object_object_get_ex(
			        json_object_array_get_idx(arr, i), "id", &v) &&
			    strcmp(json_object_get_string(v), who) == 0)
				found = 1;
	json_object_put(o);
	return found;
}

/* The current stage (1-based) of `key` from `show`; 0 when none. */
static int
stage_of(const char *key)
{
	char cmd[600];
	struct json_object *o, *v;
	int stage = 0;

	snprintf(cmd, sizeof(cmd), "show %s", key);
	if ((o = ad_ctl(&A, cmd)) != NULL &&
	    json_object_object_get_ex(o, "stage", &v))
		stage = json_object_get_int(v);
	json_object_put(o);
	return stage;
}

/* Journal entries of `key` with `event` whose detail contains `needle`
 * (NULL: any). */
static int
journal_count(const char *key, const char *event, const char *needle)
{
	char cmd[600];
	struct json_object *o, *arr, *j, *v;
	const char *detail;
	size_t i;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "show %s", key);
	if ((o = ad_ctl(&A, cmd)) == NULL)
		return -1;
	if (json_object_object_get_ex(o, "timeline", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			j = json_object_array_get_idx(arr, i);
			if (!json_object_object_get_ex(j, "event", &v) ||
			    strcmp(json_object_get_string(v), event) != 0)
				continue;
			detail = json_object_object_get_ex(j, "detail", &v)
			             ? json_object_get_string(v)
			             : NULL;
			if (needle == NULL ||
			    (detail != NULL && strstr(detail, needle) != NULL))
				n++;
		}
	json_object_put(o);
	return n;
}

/* Audit rows `policy_change` of `key` from rule `from` to rule `to`. */
static long long
audited_changes(const char *key, const char *from, const char *to)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM audit WHERE kind = 'policy_change' AND"
	    " key = '%s' AND json_extract(detail, '$.from_rule') = '%s' AND"
	    " json_extract(detail, '$.to_rule') = '%s'",
	    key, from, to);
	return sql_count(A.state, sql);
}

/* Member `field` of the newest `policy_reload` audit row; -1 none. */
static long long
last_reload(const char *field)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
	    "SELECT json_extract(detail, '$.%s') FROM audit WHERE kind ="
	    " 'policy_reload' ORDER BY seq DESC LIMIT 1",
	    field);
	return sql_count(A.state, sql);
}

/* decide over the control socket; the reply's result (heap). */
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

/* `approvalctl decide` as a person would run it; its exit code. */
static int
ctl_decide(
    const char *key, const char *verb, const char *who, const char *reason)
{
	return ad_ctl_decide(&A, key, verb, who, reason);
}

/* Effective Graph decisions of `key` in the emulator's ground truth. */
static void
truth(const char *key, int approve, int deny)
{
	int ap = -1, dn = -1, cn = -1;

	CU_ASSERT_EQUAL_FATAL(
	    emu_truth_counts(&E, key + strlen("permissions:"), &ap, &dn, &cn),
	    0);
	if (ap != approve || dn != deny || cn != 0)
		fprintf(stderr, "%s: truth approve %d deny %d cancel %d\n", key,
		    ap, dn, cn);
	CU_ASSERT_EQUAL(ap, approve);
	CU_ASSERT_EQUAL(dn, deny);
	CU_ASSERT_EQUAL(cn, 0);
}

static char *
create(const char *tag)
{
	return emu_create_tagged(&E, tag, "alex@contoso.com");
}

/* (a) Waiting at a human stage; a reject rule now matches: denied on
 * Graph at the reload, and a later approval changes nothing. */
static void
test_now_rejected(void)
{
	char *k;

	reload_policy(NULL, RULE_TWO_STAGES("a-stages", "reload-a"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(k = create("reload-a waiting"));
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	CU_ASSERT(wait_state(k, "pending") == 0);
	reload_policy(NULL, RULE_DECIDE("a-reject", "reload-a", "reject")
	                        RULE_TWO_STAGES("a-stages", "reload-a"));
	CU_ASSERT(wait_state(k, "rejected") == 0);
	truth(k, 0, 1);
	/* the CISO was an approver of the stage: now refused */
	CU_ASSERT_EQUAL(ctl_decide(k, "approve", CISO_ID, "looks fine"), 1);
	CU_ASSERT_EQUAL(ctl_decide(k, "approve", "ciso@contoso.com", "ok"), 1);
	CU_ASSERT_EQUAL(ad_napprovers(&A, k, 1), 0);
	truth(k, 0, 1);
	/* journaled and audited as a change of rule */
	CU_ASSERT_EQUAL(journal_count(k, "policy_changed",
	                    "a-stages (stages) -> rule "
	                    "a-reject (reject)"),
	    1);
	CU_ASSERT_EQUAL(journal_count(k, "verdict_reject", "a-reject"), 1);
	CU_ASSERT_EQUAL(audited_changes(k, "a-stages", "a-reject"), 1);
	CU_ASSERT_EQUAL(last_reload("changed"), 1);
	free(k);
}

/* (b) Waiting at stage 2 of 2, stage 1 approved; the stages change:
 * stage 1 again with the new approvers, the old approval forgotten. */
static void
test_stages_changed(void)
{
	char *k;

	reload_policy(NULL, RULE_TWO_STAGES("b-stages", "reload-b"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(k = create("reload-b waiting"));
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	ASSERT_DECIDE(k, "approve", CISO_ID, "stage one", "ok");
	CU_ASSERT_FATAL(wait_approvers(k, 2, 2) == 0);
	CU_ASSERT_EQUAL(stage_of(k), 2);
	/* Same rule name and verdict; the stages swap their approvers. */
	reload_policy(NULL, "  - name: b-stages\n"
	                    "    when: { justification: \"^reload-b\" }\n"
	                    "    decide: stages\n"
	                    "    stages:\n"
	                    "      - name: first\n"
	                    "        approvers: [secops]\n"
	                    "        deny_after: P7D\n"
	                    "      - name: second\n"
	                    "        approvers: [ciso]\n"
	                    "        deny_after: P7D\n");
	CU_ASSERT(wait_state(k, "pending") == 0);
	CU_ASSERT_EQUAL(stage_of(k), 1);
	/* the old sets are gone; stage 1 is resolved from the new policy */
	CU_ASSERT_EQUAL(ad_napprovers(&A, k, 2), 0);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 2) == 0);
	CU_ASSERT(has_approver(k, 1, JORDAN_ID));
	CU_ASSERT(!has_approver(k, 1, CISO_ID));
	ASSERT_DECIDE(k, "approve", CISO_ID, "again", "refused");
	ASSERT_DECIDE(k, "approve", JORDAN_ID, "new stage one", "ok");
	CU_ASSERT_FATAL(wait_approvers(k, 2, 1) == 0);
	CU_ASSERT_EQUAL(stage_of(k), 2);
	/* the CISO's approval under the old stage 1 is not an earlier stage
	 * of this decision: he may decide stage 2 now */
	ASSERT_DECIDE(k, "approve", CISO_ID, "new stage two", "ok");
	CU_ASSERT(wait_state(k, "approved") == 0);
	truth(k, 1, 0);
	CU_ASSERT_EQUAL(journal_count(k, "policy_changed", "b-stages"), 1);
	CU_ASSERT_EQUAL(audited_changes(k, "b-stages", "b-stages"), 1);
	free(k);
}

/* (c) Waiting; the new policy (by SIGHUP) approves: approved on Graph,
 * exactly once. */
static void
test_now_approved(void)
{
	char *k;

	reload_policy(NULL, RULE_TWO_STAGES("c-stages", "reload-c"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(k = create("reload-c waiting"));
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	CU_ASSERT_FATAL(write_policy(NULL, RULE_DECIDE("c-approve", "reload-c",
	                                       "approve")) == 0);
	CU_ASSERT_FATAL(kill(A.p.pid, SIGHUP) == 0);
	CU_ASSERT(wait_state(k, "approved") == 0);
	truth(k, 1, 0);
	ASSERT_DECIDE(k, "approve", CISO_ID, "late", "refused");
	CU_ASSERT_EQUAL(ctl_decide(k, "approve", CISO_ID, "late"), 1);
	truth(k, 1, 0);
	CU_ASSERT_EQUAL(audited_changes(k, "c-stages", "c-approve"), 1);
	CU_ASSERT_EQUAL(journal_count(k, "verdict_approve", "c-approve"), 1);
	free(k);
}

/* (d) A reload that decides the request as before (a rule added above
 * it, stages and approver sets renamed, another reason) keeps its
 * progress: the stage 1 approval still counts. */
static void
test_unchanged_kept(void)
{
	char *k;

	reload_policy(NULL, RULE_TWO_STAGES("d-stages", "reload-d"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(k = create("reload-d waiting"));
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	ASSERT_DECIDE(k, "approve", CISO_ID, "stage one", "ok");
	CU_ASSERT_FATAL(wait_approvers(k, 2, 2) == 0);
	reload_policy("  chief: { user: " CISO_ID " }\n"
	              "  operators: { group: " SECOPS_ID " }\n",
	    RULE_DECIDE("d-other", "reload-nothing",
	        "reject") "  - name: d-stages\n"
	                  "    when: { justification: \"^reload-d\" }\n"
	                  "    decide: stages\n"
	                  "    reason: renamed, reworded\n"
	                  "    stages:\n"
	                  "      - name: one\n"
	                  "        approvers: [chief]\n"
	                  "        deny_after: P7D\n"
	                  "      - name: two\n"
	                  "        approvers: [operators]\n"
	                  "        deny_after: P7D\n");
	CU_ASSERT_EQUAL(last_reload("undecided"), 1);
	CU_ASSERT_EQUAL(last_reload("kept"), 1);
	CU_ASSERT_EQUAL(last_reload("changed"), 0);
	CU_ASSERT_EQUAL(stage_of(k), 2);
	CU_ASSERT_EQUAL(ad_napprovers(&A, k, 2), 2);
	CU_ASSERT_EQUAL(journal_count(k, "policy_changed", NULL), 0);
	/* the CISO approved stage 1: still one person per request */
	ASSERT_DECIDE(k, "approve", CISO_ID, "twice", "refused");
	ASSERT_DECIDE(k, "approve", JORDAN_ID, "stage two", "ok");
	CU_ASSERT(wait_state(k, "approved") == 0);
	truth(k, 1, 0);
	free(k);
}

static int
fault_hit(void *arg)
{
	struct json_object *o, *arr, *v;
	long long hits = 0;

	(void)arg;
	o = emu_json(&E, "GET", "/_emulator/faults", NULL, NULL);
	if (o != NULL && json_object_object_get_ex(o, "faults", &arr) &&
	    json_object_array_length(arr) > 0 &&
	    json_object_object_get_ex(
	        json_object_array_get_idx(arr, 0), "hits", &v))
		hits = json_object_get_int64(v);
	json_object_put(o);
	return hits >= 1; /* the executor is at work on the intents */
}

/* (e) Approve intents waiting in the executor (an automatic approval and
 * a stage approval) while the policy changes: neither is sent; the
 * automatic one is denied by the new reject rule, the stage one starts
 * its new stages. */
static void
test_executor_recheck(void)
{
	char *ka, *ks;
	long st;

	reload_policy(NULL, RULE_DECIDE("e-auto", "reload-e-auto", "approve")
	                        RULE_TWO_STAGES("e-stages", "reload-e-stage"));
	CU_ASSERT_FATAL(emu_fault(&E, STEPS_FAULT) == 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ks = create("reload-e-stage waiting"));
	CU_ASSERT_FATAL(wait_approvers(ks, 1, 1) == 0);
	ASSERT_DECIDE(ks, "approve", CISO_ID, "stage one", "ok");
	CU_ASSERT_FATAL(wait_approvers(ks, 2, 2) == 0);
	ASSERT_DECIDE(ks, "approve", JORDAN_ID, "stage two", "ok");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ka = create("reload-e-auto please"));
	CU_ASSERT_FATAL(wait_state(ka, "approving") == 0);
	CU_ASSERT_FATAL(wait_state(ks, "approving") == 0);
	CU_ASSERT_FATAL(h_until(fault_hit, NULL, WAIT_MS) == 0);
	/* e-auto now rejects; e-stages has one stage, the CISO's */
	reload_policy(NULL,
	    RULE_DECIDE("e-reject", "reload-e-auto",
	        "reject") "  - name: e-stages\n"
	                  "    when: { justification: \"^reload-e-"
	                  "stage\" }\n"
	                  "    decide: stages\n"
	                  "    stages:\n"
	                  "      - name: only\n"
	                  "        approvers: [ciso]\n"
	                  "        deny_after: P7D\n");
	/* the pass leaves approve intents to the executor */
	CU_ASSERT_EQUAL(last_reload("held"), 2);
	json_object_put(emu_json(&E, "DELETE", "/_emulator/faults", NULL, &st));
	CU_ASSERT_FATAL(st >= 200 && st < 300);
	CU_ASSERT(wait_state(ka, "rejected") == 0);
	CU_ASSERT(wait_state(ks, "pending") == 0);
	CU_ASSERT_EQUAL(stage_of(ks), 1);
	truth(ka, 0, 1);
	truth(ks, 0, 0);
	CU_ASSERT_EQUAL(audited_changes(ka, "e-auto", "e-reject"), 1);
	CU_ASSERT_EQUAL(audited_changes(ks, "e-stages", "e-stages"), 1);
	CU_ASSERT_EQUAL(journal_count(ka, "policy_changed", "e-reject"), 1);
	/* the new stage decides: the CISO's old approval does not count */
	CU_ASSERT_FATAL(wait_approvers(ks, 1, 1) == 0);
	ASSERT_DECIDE(ks, "deny", CISO_ID, "not any more", "ok");
	CU_ASSERT(wait_state(ks, "rejected") == 0);
	truth(ks, 0, 1);
	free(ka);
	free(ks);
}

/* Stop the daemon, run `sql` on its database, start it again; 0 or -1. */
static int
edit_stopped(const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	if (ad_stop(&A, SIGTERM) == -1)
		return -1;
	rc = sqlite3_open(A.state, &db) == SQLITE_OK &&
	             sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK &&
	             sqlite3_changes(db) == 1
	         ? 0
	         : -1;
	sqlite3_close(db);
	if (ad_start(&A) == -1 || ad_wait_ready(&A, 20000) == -1)
		return -1;
	return rc;
}

/* Requests `key` whose stored stages are rule `rule`'s (issue 15). */
static long long
stored_stages(const char *key, const char *rule)
{
	char sql[600];

	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM requests WHERE key = '%s' AND"
	    " json_extract(stages, '$.version') = 1 AND"
	    " json_extract(stages, '$.rule') = '%s'",
	    key, rule);
	return sql_count(A.state, sql);
}

/* (f) A request recorded before stages were stored with the verdict
 * (issue 15; here its stages emptied while the daemon is stopped): at
 * start-up the policy, deciding it as before, gives it its stages, and
 * both its stages resolve and decide. */
static void
test_legacy_adopts_stages(void)
{
	char *k, sql[600];

	reload_policy(NULL, RULE_TWO_STAGES("f-stages", "reload-f"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(k = create("reload-f waiting"));
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	CU_ASSERT_EQUAL(stored_stages(k, "f-stages"), 1);
	snprintf(sql, sizeof(sql),
	    "UPDATE requests SET stages = NULL WHERE key = '%s'", k);
	CU_ASSERT_FATAL(edit_stopped(sql) == 0);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM requests WHERE key = '%s' AND"
	    " json_extract(stages, '$.rule') = 'f-stages'",
	    k);
	CU_ASSERT_FATAL(sql_wait(A.state, sql, 1, WAIT_MS) == 0);
	ASSERT_DECIDE(k, "approve", CISO_ID, "stage one", "ok");
	CU_ASSERT_FATAL(wait_approvers(k, 2, 2) == 0);
	ASSERT_DECIDE(k, "approve", JORDAN_ID, "stage two", "ok");
	CU_ASSERT(wait_state(k, "approved") == 0);
	truth(k, 1, 0);
	CU_ASSERT_EQUAL(journal_count(k, "policy_changed", NULL), 0);
	free(k);
}

/* (g) Stored stages that cannot be read (an unknown version) are never
 * replaced by the policy's: nobody's decision is verified, nothing
 * reaches Graph (fail closed; deny_after ends it). */
static void
test_damaged_stages_refused(void)
{
	char *k, sql[600];

	reload_policy(NULL, RULE_TWO_STAGES("g-stages", "reload-g"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(k = create("reload-g waiting"));
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	snprintf(sql, sizeof(sql),
	    "UPDATE requests SET stages = json_set(stages, '$.version', 2)"
	    " WHERE key = '%s'",
	    k);
	CU_ASSERT_FATAL(edit_stopped(sql) == 0);
	ASSERT_DECIDE(k, "approve", CISO_ID, "stage one", "refused");
	CU_ASSERT(wait_state(k, "pending") == 0);
	CU_ASSERT_EQUAL(stored_stages(k, "g-stages"), 0);
	truth(k, 0, 0);
	free(k);
}

static const struct cu_test reload_tests[] = {
	{ "a reject rule now matches: denied, later approval refused",
	    test_now_rejected },
	{ "stages changed: stage 1 again, old approval forgotten",
	    test_stages_changed },
	{ "an approve rule now matches: approved once", test_now_approved },
	{ "decided as before: progress kept", test_unchanged_kept },
	{ "approve intents re-checked by the executor", test_executor_recheck },
	{ "stages recorded before they were stored are adopted",
	    test_legacy_adopts_stages },
	{ "stored stages that cannot be read decide nothing",
	    test_damaged_stages_refused },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "reload", suite_init, suite_clean, reload_tests },
	{ NULL, NULL, NULL, NULL },
};
