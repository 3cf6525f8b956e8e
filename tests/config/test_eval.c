/* Evaluation tables: verdict and rule per fixture for several policies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tests.h"

static const char *const fixtures[] = {
	"permissions-request-aws-policy.json",       /* 0 */
	"permissions-request-aws-action.json",       /* 1 */
	"permissions-request-azure-action.json",     /* 2 */
	"permissions-request-azure-role.json",       /* 3 */
	"permissions-request-gcp-action.json",       /* 4 */
	"permissions-request-gcp-role.json",         /* 5 */
	"permissions-request-created-response.json", /* 6 */
	"group-request-admin-assign.json",           /* 7 */
	"group-request-self-activate.json",          /* 8 */
	"access-package-request.json",               /* 9 */
};
#define NFIX (sizeof(fixtures) / sizeof(fixtures[0]))

static const char *const policies[] = {
	/* 0: approve-ALL vs reject-ANY on the same globs */
	"version: 1\n"
	"rules:\n"
	"  - name: approve-s3\n"
	"    when: { actions: [\"s3:Abort*\", \"s3:Create*\"] }\n"
	"    decide: approve\n"
	"  - name: reject-s3-delete\n"
	"    when: { actions: [\"s3:Delete*\"] }\n"
	"    decide: reject\n"
	"  - name: roles-any\n"
	"    when: { roles: [\"cdda3590-*\"] }\n"
	"    decide: reject\n"
	"  - name: approve-one-role\n"
	"    when: { roles: [\"roles/dialogflow.*\"] }\n"
	"    decide: approve\n"
	"default: { decide: ignore }\n",
	/* 1: empty items are false; requestor globs; ticket regex */
	"version: 1\n"
	"rules:\n"
	"  - name: any-action\n"
	"    when: { actions: [\"*\"] }\n"
	"    decide: reject\n"
	"  - name: by-upn\n"
	"    when: { requestor: [\"ALEX@CONTOSO.COM\"], ticket: { pattern: "
	"\"^INC[0-9]{7}$\" } }\n"
	"    decide: approve\n"
	"  - name: groups\n"
	"    when: { source: group, access: member, request_action: "
	"selfActivate }\n"
	"    decide: approve\n"
	"default: reject\n",
	/* 2: requestor_in (oracle) and justification */
	"version: 1\n"
	"approvers:\n"
	"  admins: { group: 11111111-1111-1111-1111-111111111111 }\n"
	"rules:\n"
	"  - name: admins-activate\n"
	"    when: { source: group, requestor_in: admins }\n"
	"    decide: approve\n"
	"  - name: long-justification\n"
	"    when: { justification: { pattern: \"azure|GCP\", min_length: 20 "
	"} }\n"
	"    decide: reject\n"
	"default: { decide: ignore }\n",
	/* 3: duration and system */
	"version: 1\n"
	"rules:\n"
	"  - name: short-aws\n"
	"    when: { cloud: aws, system: [\"9569*\"], max_duration: PT1H, "
	"policies: [\"arn:aws:iam::*:policy/*\"] }\n"
	"    decide: approve\n"
	"  - name: group-short\n"
	"    when: { source: group, max_duration: PT1H }\n"
	"    decide: approve\n"
	"  - name: pkg\n"
	"    when: { package: [\"d7be3253-*\"] }\n"
	"    decide: reject\n"
	"default: { decide: ignore }\n",
};
#define NPOL (sizeof(policies) / sizeof(policies[0]))

static const struct {
	int pol, fix;
	enum verdict_kind v;
	const char *rule;
} table[] = {
	/* approve needs every action: s3:Delete:* is not covered */
	{ 0, 1, VERDICT_REJECT, "reject-s3-delete" },
	/* any role matching fires the reject */
	{ 0, 3, VERDICT_REJECT, "roles-any" },
	{ 0, 5, VERDICT_APPROVE, "approve-one-role" },
	/* no actions, no roles: item rules are false */
	{ 0, 0, VERDICT_IGNORE, "default" },
	{ 0, 7, VERDICT_IGNORE, "default" },
	{ 0, 9, VERDICT_IGNORE, "default" },
	{ 1, 0, VERDICT_APPROVE, "by-upn" },
	{ 1, 6, VERDICT_APPROVE, "by-upn" },
	{ 1, 1, VERDICT_REJECT, "any-action" },
	{ 1, 2, VERDICT_REJECT, "any-action" },
	{ 1, 3, VERDICT_APPROVE, "by-upn" }, /* roles only: not any-action */
	{ 1, 5, VERDICT_REJECT, "default" }, /* ticket 123456 fails */
	{ 1, 8, VERDICT_APPROVE, "groups" },
	{ 1, 7, VERDICT_REJECT, "default" },
	/* NULL oracle: membership unknown -> indeterminate, never approve */
	{ 2, 7, VERDICT_INDETERMINATE, "admins-activate" },
	{ 2, 8, VERDICT_INDETERMINATE, "admins-activate" },
	{ 2, 3, VERDICT_REJECT, "long-justification" },
	{ 2, 4, VERDICT_REJECT, "long-justification" },
	{ 2, 0, VERDICT_IGNORE, "default" },
	{ 3, 0, VERDICT_APPROVE, "short-aws" },
	{ 3, 7, VERDICT_IGNORE, "default" }, /* PT2H > PT1H */
	{ 3, 9, VERDICT_REJECT, "pkg" },
	{ 3, 2, VERDICT_IGNORE, "default" },
};

static struct request reqs[NFIX];
static struct policy *pols[NPOL];

static int
eval_init(void)
{
	size_t i, len;

	for (i = 0; i < NFIX; i++) {
		char p[256], *buf;
		int rc;

		snprintf(p, sizeof(p), "examples/requests/%s", fixtures[i]);
		if ((buf = cu_slurp(cu_srcpath(p), &len)) == NULL)
			return -1;
		rc = request_from_json(buf, len, REQ_SRC_MAX, &reqs[i], NULL);
		free(buf);
		if (rc < 0)
			return -1;
		/* as a directory would: the body's keys are real users */
		{
			struct req_principal w = { reqs[i].requestor_key,
				reqs[i].requestor_key, NULL, 0, NULL };
			struct req_principal b = { reqs[i].beneficiary_key,
				NULL, NULL, 0, NULL };

			if (w.id == NULL)
				w.id = w.upn = "unknown-user";
			if (strchr(w.upn, '@') == NULL)
				w.upn = NULL;
			request_set_identity(&reqs[i], REQ_ID_VERIFIED, &w,
			    reqs[i].beneficiary_key ? &b : NULL);
		}
	}
	for (i = 0; i < NPOL; i++) {
		struct cfg_diags d = { 0 };

		if (policy_load_buffer("t.yaml", policies[i],
		        strlen(policies[i]), &pols[i], &d) < 0) {
			char b[512];

			cfg_diag_format(&d.v[0], b, sizeof(b));
			fprintf(stderr, "policy %zu: %s\n", i, b);
			cfg_diags_free(&d);
			return -1;
		}
		cfg_diags_free(&d);
	}
	return 0;
}

static int
eval_cleanup(void)
{
	size_t i;

	for (i = 0; i < NFIX; i++)
		request_free(&reqs[i]);
	for (i = 0; i < NPOL; i++)
		policy_free(pols[i]);
	return 0;
}

static void
test_table(void)
{
	size_t i;
	char msg[256];

	CU_ASSERT_EQUAL_FATAL(eval_init(), 0);
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct verdict v, vt;
		struct policy_trace t = { 0 };

		policy_evaluate(pols[table[i].pol], &reqs[table[i].fix],
		    1700000000, NULL, NULL, &v, NULL);
		snprintf(msg, sizeof(msg), "case %zu: got %s/%s", i,
		    verdict_name(v.kind), v.rule);
		if (v.kind != table[i].v ||
		    strcmp(v.rule, table[i].rule) != 0) {
			fprintf(stderr, "%s\n", msg);
			CU_FAIL(msg);
		}
		/* the traced walk (no index) decides the same */
		policy_evaluate(pols[table[i].pol], &reqs[table[i].fix],
		    1700000000, NULL, NULL, &vt, &t);
		CU_ASSERT_EQUAL(vt.kind, v.kind);
		CU_ASSERT_STRING_EQUAL(vt.rule, v.rule);
		CU_ASSERT(t.n > 0);
		policy_trace_free(&t);
	}
	eval_cleanup();
}

static int
oracle_yes(void *ctx, const struct approver_set *s, const struct request *r)
{
	(*(int *)ctx)++;
	return strcmp(s->name, "admins") == 0 ? 1 : 0;
}

static int
oracle_no(void *ctx, const struct approver_set *s, const struct request *r)
{
	(*(int *)ctx)++;
	return 0;
}

static void
test_oracle(void)
{
	struct verdict v;
	int calls = 0;

	CU_ASSERT_EQUAL_FATAL(eval_init(), 0);
	policy_evaluate(pols[2], &reqs[8], 0, oracle_yes, &calls, &v, NULL);
	CU_ASSERT_EQUAL(v.kind, VERDICT_APPROVE);
	CU_ASSERT_EQUAL(calls, 1);
	policy_evaluate(pols[2], &reqs[8], 0, oracle_no, &calls, &v, NULL);
	CU_ASSERT_EQUAL(v.kind, VERDICT_IGNORE);
	/* not asked for permissions requests: the source condition fails */
	calls = 0;
	policy_evaluate(pols[2], &reqs[0], 0, oracle_yes, &calls, &v, NULL);
	CU_ASSERT_EQUAL(calls, 0);
	eval_cleanup();
}

static void
test_stages_verdict(void)
{
	struct policy *p = NULL;
	struct cfg_diags d = { 0 };
	struct verdict v;
	size_t len;
	char *buf = cu_slurp(cu_srcpath("examples/policy.yaml"), &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_EQUAL_FATAL(
	    policy_load_buffer("policy.yaml", buf, len, &p, &d), 0);
	CU_ASSERT_EQUAL_FATAL(eval_init(), 0);
	policy_evaluate(p, &reqs[3], 0, NULL, NULL, &v, NULL);
	CU_ASSERT_EQUAL(v.kind, VERDICT_STAGES);
	CU_ASSERT_EQUAL_FATAL(v.nstages, 2);
	CU_ASSERT_STRING_EQUAL(v.stages[0].name, "manager");
	CU_ASSERT_EQUAL(v.stages[0].approvers.n, 1);
	CU_ASSERT_EQUAL(v.stages[0].approvers.v[0]->kind, APPROVER_MANAGER);
	CU_ASSERT_EQUAL(v.stages[0].fallback.v[0]->kind, APPROVER_USER);
	CU_ASSERT_STRING_EQUAL(v.stages[0].fallback.v[0]->value,
	    "7deff43e-1f17-44ef-9e5f-d516b0ba11d4");
	CU_ASSERT_EQUAL(v.stages[0].escalate_after, 4 * 3600);
	CU_ASSERT_EQUAL(v.stages[0].deny_after, 86400);
	CU_ASSERT_EQUAL(v.stages[0].justification_required, 1);
	CU_ASSERT_EQUAL(v.stages[1].deny_after, 2 * 86400);
	CU_ASSERT_EQUAL(v.stages[1].approvals, 1);
	CU_ASSERT_PTR_NOT_NULL(policy_approver_set(p, "secops"));
	CU_ASSERT_PTR_NULL(policy_approver_set(p, "nobody"));
	{
		const struct approver_set *a;
		size_t i, groups = 0;

		for (i = 0; (a = policy_approver_set_at(p, i)) != NULL; i++)
			if (a->kind == APPROVER_GROUP) {
				groups++;
				CU_ASSERT_STRING_EQUAL(a->name, "secops");
			}
		CU_ASSERT_EQUAL(i, 3); /* ciso, secops, manager */
		CU_ASSERT_EQUAL(groups, 1);
	}
	CU_ASSERT_EQUAL(policy_nrules(p), 13);
	eval_cleanup();
	cfg_diags_free(&d);
	policy_free(p);
	free(buf);
}

static const char sched_policy[] =
    "version: 1\n"
    "rules:\n"
    "  - name: office-hours\n"
    "    when:\n"
    "      source: group\n"
    "      schedule: { weekdays: [mon, tue, wed, thu, fri], hours: "
    "\"09:00-17:00\", timezone: Europe/Paris }\n"
    "    decide: approve\n"
    "  - name: night\n"
    "    when:\n"
    "      source: group\n"
    "      schedule: { hours: \"22:00-06:00\", timezone: UTC }\n"
    "    decide: reject\n"
    "default: { decide: ignore }\n";

static void
test_schedule(void)
{
	static const struct {
		const char *at;
		enum verdict_kind v;
	} cases[] = {
		/* winter: Paris = UTC+1 */
		{ "2024-01-15T07:59:00Z", VERDICT_IGNORE },  /* Mon 08:59 */
		{ "2024-01-15T08:00:00Z", VERDICT_APPROVE }, /* Mon 09:00 */
		/* Mon 16:59: the 2-hour grant runs past 17:00 */
		{ "2024-01-15T15:59:00Z", VERDICT_IGNORE },
		{ "2024-01-15T13:59:00Z", VERDICT_APPROVE }, /* Mon 14:59 */
		{ "2024-01-15T16:00:00Z", VERDICT_IGNORE },  /* Mon 17:00 */
		/* summer: Paris = UTC+2 */
		{ "2024-07-15T07:30:00Z", VERDICT_APPROVE }, /* Mon 09:30 */
		{ "2024-07-15T06:30:00Z", VERDICT_IGNORE },  /* Mon 08:30 */
		{ "2024-01-13T10:00:00Z", VERDICT_IGNORE },  /* Saturday */
		{ "2024-01-13T23:00:00Z", VERDICT_REJECT },  /* night UTC */
		{ "2024-01-14T05:59:00Z", VERDICT_REJECT },
		{ "2024-01-14T06:00:00Z", VERDICT_IGNORE },
		/* far future: the zone's POSIX rule applies */
		{ "2090-07-17T07:30:00Z", VERDICT_APPROVE }, /* Mon 09:30 */
	};
	struct policy *p = NULL;
	struct cfg_diags d = { 0 };
	size_t i;

	CU_ASSERT_EQUAL_FATAL(policy_load_buffer("s.yaml", sched_policy,
	                          strlen(sched_policy), &p, &d),
	    0);
	CU_ASSERT_EQUAL_FATAL(eval_init(), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct verdict v;

		policy_evaluate(p, &reqs[8], cfg_parse_timestamp(cases[i].at),
		    NULL, NULL, &v, NULL);
		if (v.kind != cases[i].v) {
			fprintf(stderr, "%s: %s\n", cases[i].at,
			    verdict_name(v.kind));
			CU_FAIL(cases[i].at);
		}
	}
	eval_cleanup();
	policy_free(p);
	cfg_diags_free(&d);
}

static void
test_trace_text(void)
{
	struct verdict v;
	struct policy_trace t = { 0 };
	size_t i;
	int found = 0;

	CU_ASSERT_EQUAL_FATAL(eval_init(), 0);
	policy_evaluate(pols[0], &reqs[1], 0, NULL, NULL, &v, &t);
	for (i = 0; i < t.n; i++)
		if (strcmp(t.v[i].rule, "approve-s3") == 0 &&
		    strcmp(t.v[i].cond, "actions") == 0) {
			found = 1;
			CU_ASSERT_EQUAL(t.v[i].result, 0);
			CU_ASSERT_PTR_NOT_NULL(strstr(
			    t.v[i].detail, "s3:Delete:* is not covered by"));
		}
	CU_ASSERT(found);
	policy_trace_free(&t);
	policy_trace_free(NULL);
	eval_cleanup();
}

const struct cu_test eval_tests[] = {
	{ "table", test_table },
	{ "oracle", test_oracle },
	{ "stages_verdict", test_stages_verdict },
	{ "schedule", test_schedule },
	{ "trace_text", test_trace_text },
	{ NULL, NULL },
};
