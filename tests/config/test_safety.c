/*
 * Decision safety (issue 12): every case here was approved by the literal,
 * case-sensitive, identity-trusting evaluator, and none may be now. Each
 * case is a policy, a request body, how its identity resolved, and the
 * verdict and rule that must come out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tests.h"

#define NOW 1767225600 /* 2026-01-01T00:00:00Z, a Thursday */

static const char *const pols[] = {
	/* 0: the AWS policy */
	"version: 1\n"
	"rules:\n"
	"  - name: no-destruction\n"
	"    when: { cloud: aws, actions: [\"iam:*\", \"s3:Delete*\", "
	"\"s3:PutBucketPolicy\"] }\n"
	"    decide: reject\n"
	"  - name: s3\n"
	"    when: { cloud: aws, actions: [\"s3:*\"] }\n"
	"    decide: approve\n"
	"  - name: versions\n"
	"    when: { cloud: aws, actions: [\"s3:GetObjectVersio?\"] }\n"
	"    decide: approve\n"
	"default: ignore\n",
	/* 1: Azure authorization writes and production scopes */
	"version: 1\n"
	"rules:\n"
	"  - name: no-role-writes\n"
	"    when: { cloud: azure, actions: "
	"[\"Microsoft.Authorization/roleAssignments/write\"] }\n"
	"    decide: reject\n"
	"  - name: no-prod\n"
	"    when: { cloud: azure, resources: "
	"[\"/subscriptions/AAAA/resourceGroups/Prod-*\"] }\n"
	"    decide: reject\n"
	"  - name: dev-rg\n"
	"    when: { cloud: azure, resources: "
	"[\"/subscriptions/AAAA/resourceGroups/dev\"], actions: [\"*\"] }\n"
	"    decide: approve\n"
	"default: ignore\n",
	/* 2: durations */
	"version: 1\n"
	"rules:\n"
	"  - name: short\n"
	"    when: { max_duration: PT4H }\n"
	"    decide: approve\n"
	"  - name: day\n"
	"    when: { source: access-package, max_duration: P1D }\n"
	"    decide: approve\n"
	"default: ignore\n",
	/* 3: identity */
	"version: 1\n"
	"rules:\n"
	"  - name: no-guests\n"
	"    when: { requestor: [\"*#EXT#*\"] }\n"
	"    decide: reject\n"
	"  - name: contoso\n"
	"    when: { requestor: [\"*@contoso.com\"] }\n"
	"    decide: approve\n"
	"  - name: everyone-else\n"
	"    when: { source: [permissions, group, access-package] }\n"
	"    decide: approve\n"
	"default: ignore\n",
	/* 4: identity, rejecting the unverified */
	"version: 1\n"
	"unverified_identity: reject\n"
	"rules:\n"
	"  - name: all\n"
	"    when: { source: permissions }\n"
	"    decide: approve\n"
	"default: ignore\n",
	/* 5: identity, rules decide the unverified */
	"version: 1\n"
	"unverified_identity: evaluate\n"
	"approvers:\n"
	"  sec: { group: 11111111-1111-1111-1111-111111111111 }\n"
	"rules:\n"
	"  - name: all\n"
	"    when: { source: permissions }\n"
	"    decide: approve\n"
	"  - name: review\n"
	"    when: { requestor: [\"ciso@contoso.com\"] }\n"
	"    decide: stages\n"
	"    stages: [{ name: s, approvers: [sec], deny_after: P1D }]\n"
	"default: ignore\n",
	/* 6: start delay and schedule on the grant window */
	"version: 1\n"
	"rules:\n"
	"  - name: soon\n"
	"    when: { source: permissions, max_start_delay: PT1H, "
	"schedule: { hours: \"08:00-18:00\", timezone: UTC } }\n"
	"    decide: approve\n"
	"default: ignore\n",
	/* 7: a `?` allows one character, not a requested `*` */
	"version: 1\n"
	"rules:\n"
	"  - name: versions\n"
	"    when: { cloud: aws, actions: [\"s3:GetObjectVersio?\"] }\n"
	"    decide: approve\n"
	"default: ignore\n",
};
#define NPOL (sizeof(pols) / sizeof(pols[0]))

#define AWS(acts, sched)                                                       \
	"{\"@odata.type\":\"#microsoft.graph.scheduledPermissionsRequest\","   \
	"\"requestedPermissions\":{\"@odata.type\":"                           \
	"\"#microsoft.graph.awsPermissionsDefinition\","                       \
	"\"authorizationSystemInfo\":{\"authorizationSystemId\":\"1\","        \
	"\"authorizationSystemType\":\"aws\"},\"actionInfo\":{"                \
	"\"@odata.type\":\"#microsoft.graph."                                  \
	"awsActionsPermissionsDefinitionAction\",\"statements\":[{"            \
	"\"actions\":" acts ",\"resources\":[\"*\"]}]},"                       \
	"\"identityInfo\":{\"externalId\":\"alex@contoso.com\"}},"             \
	"\"scheduleInfo\":" sched "}"

#define AZ(acts, scope)                                                        \
	"{\"requestedPermissions\":{\"@odata.type\":"                          \
	"\"microsoft.graph.singleResourceAzurePermissionsDefinition\","        \
	"\"authorizationSystemInfo\":{\"authorizationSystemId\":\"AAAA\"},"    \
	"\"resourceId\":\"" scope "\",\"actionInfo\":{\"@odata.type\":"        \
	"\"microsoft.graph.azureActionPermissionsDefinitionAction\","          \
	"\"actions\":" acts "},\"identityInfo\":{\"externalId\":"              \
	"\"alex@contoso.com\"}},\"scheduleInfo\":{\"expiration\":"             \
	"{\"duration\":\"PT1H\"}}}"

#define PT1H                                                                   \
	"{\"expiration\":{\"type\":\"afterDuration\",\"duration\":\"PT1H\"}}"

#define PKG(sched)                                                             \
	"{\"@odata.type\":\"#microsoft.graph."                                 \
	"accessPackageAssignmentRequest\","                                    \
	"\"requestType\":\"userAdd\",\"accessPackage\":{\"id\":\"p1\"},"       \
	"\"requestor\":{\"objectId\":\"u-alex\"},"                             \
	"\"schedule\":" sched "}"

enum who { W_ALEX = 0, W_GUEST, W_NONE, W_UNCHECKED };

struct scase {
	const char *name;
	int pol;
	const char *json;
	enum who who;
	const char *verdict;
	const char *rule;
};

static const struct scase cases[] = {
	/* 1. case and requested wildcards against reject rules */
	{ "lower-case delete", 0, AWS("[\"s3:deleteBucket\"]", PT1H), W_ALEX,
	    "reject", "no-destruction" },
	{ "upper-case service", 0, AWS("[\"S3:DeleteBucket\"]", PT1H), W_ALEX,
	    "reject", "no-destruction" },
	{ "requested s3:De*", 0, AWS("[\"s3:De*\"]", PT1H), W_ALEX, "reject",
	    "no-destruction" },
	{ "requested s3:*", 0, AWS("[\"s3:*\"]", PT1H), W_ALEX, "reject",
	    "no-destruction" },
	{ "requested *", 0, AWS("[\"*\"]", PT1H), W_ALEX, "reject",
	    "no-destruction" },
	{ "requested s3:Delet?Bucket", 0, AWS("[\"s3:Delet?Bucket\"]", PT1H),
	    W_ALEX, "reject", "no-destruction" },
	{ "lower-case putbucketpolicy", 0,
	    AWS("[\"s3:putbucketpolicy\"]", PT1H), W_ALEX, "reject",
	    "no-destruction" },
	{ "iam hidden among reads", 0,
	    AWS("[\"s3:GetObject\", \"IAM:PassRole\"]", PT1H), W_ALEX, "reject",
	    "no-destruction" },
	{ "plain read still approved", 0, AWS("[\"s3:GetObject\"]", PT1H),
	    W_ALEX, "approve", "s3" },
	{ "case-folded read approved", 0, AWS("[\"S3:GETOBJECT\"]", PT1H),
	    W_ALEX, "approve", "s3" },
	{ "wider request than the allowed ?", 7,
	    AWS("[\"s3:GetObjectVersio*\"]", PT1H), W_ALEX, "ignore",
	    "default" },
	{ "nine stars are never covered", 0,
	    AWS("[\"s3:G*e*t*O*b*j*e*c*t*\"]", PT1H), W_ALEX, "ignore",
	    "default" },
	{ "the allowed ? itself", 7, AWS("[\"s3:GetObjectVersion\"]", PT1H),
	    W_ALEX, "approve", "versions" },
	/* Azure */
	{ "WRITE in capitals", 1,
	    AZ("[\"Microsoft.Authorization/roleAssignments/WRITE\"]",
	        "/subscriptions/AAAA/resourceGroups/dev"),
	    W_ALEX, "reject", "no-role-writes" },
	{ "Microsoft.Authorization/*", 1,
	    AZ("[\"Microsoft.Authorization/*\"]",
	        "/subscriptions/AAAA/resourceGroups/dev"),
	    W_ALEX, "reject", "no-role-writes" },
	{ "lower-cased production group", 1,
	    AZ("[\"Microsoft.Compute/virtualMachines/read\"]",
	        "/subscriptions/aaaa/resourcegroups/prod-web"),
	    W_ALEX, "reject", "no-prod" },
	{ "whole subscription holds production", 1,
	    AZ("[\"Microsoft.Compute/virtualMachines/read\"]",
	        "/subscriptions/AAAA"),
	    W_ALEX, "reject", "no-prod" },
	{ "a resource inside production", 1,
	    AZ("[\"Microsoft.Compute/virtualMachines/read\"]",
	        "/subscriptions/AAAA/resourceGroups/Prod-web/providers/"
	        "Microsoft.Compute/virtualMachines/vm1"),
	    W_ALEX, "reject", "no-prod" },
	{ "dev group approved", 1,
	    AZ("[\"Microsoft.Compute/virtualMachines/read\"]",
	        "/subscriptions/AAAA/resourceGroups/dev"),
	    W_ALEX, "approve", "dev-rg" },
	{ "inside dev approved", 1,
	    AZ("[\"Microsoft.Compute/virtualMachines/read\"]",
	        "/subscriptions/AAAA/resourceGroups/DEV/providers/x/y"),
	    W_ALEX, "approve", "dev-rg" },
	{ "dev2 is not dev", 1,
	    AZ("[\"Microsoft.Compute/virtualMachines/read\"]",
	        "/subscriptions/AAAA/resourceGroups/dev2"),
	    W_ALEX, "ignore", "default" },
	{ "a wildcard scope is not inside dev", 1,
	    AZ("[\"Microsoft.Compute/virtualMachines/read\"]",
	        "/subscriptions/AAAA/resourceGroups/*"),
	    W_ALEX, "reject", "no-prod" },
	/* 2. recurrence and expiration */
	{ "PT1H monthly forever", 2,
	    AWS("[\"ec2:Describe*\"]",
	        "{\"startDateTime\":\"2026-01-01T00:00:00Z\",\"expiration\":"
	        "{\"duration\":\"PT1H\"},\"recurrence\":{\"pattern\":{"
	        "\"reccurencePatternType\":\"absoluteMonthly\",\"interval\":1},"
	        "\"range\":{\"reccurenceRangeType\":\"noEnd\"}}}"),
	    W_ALEX, "ignore", "default" },
	{ "P1D daily forever", 2,
	    PKG("{\"startDateTime\":\"2026-01-01T00:00:00Z\",\"expiration\":"
	        "{\"type\":\"afterDuration\",\"duration\":\"P1D\"},"
	        "\"recurrence\":{\"pattern\":{\"type\":\"daily\",\"interval\":"
	        "1},\"range\":{\"type\":\"noEnd\"}}}"),
	    W_ALEX, "ignore", "default" },
	{ "PT1H daily for 10 occurrences", 2,
	    AWS("[\"ec2:Describe*\"]",
	        "{\"startDateTime\":\"2026-01-01T00:00:00Z\",\"expiration\":"
	        "{\"duration\":\"PT1H\"},\"recurrence\":{\"pattern\":{"
	        "\"type\":\"daily\",\"interval\":1},\"range\":{\"type\":"
	        "\"numbered\",\"numberOfOccurrences\":10}}}"),
	    W_ALEX, "ignore", "default" },
	{ "PT1H daily until a date three days on", 2,
	    AWS("[\"ec2:Describe*\"]",
	        "{\"startDateTime\":\"2026-01-01T00:00:00Z\",\"expiration\":"
	        "{\"duration\":\"PT1H\"},\"recurrence\":{\"pattern\":{"
	        "\"type\":\"daily\",\"interval\":1},\"range\":{\"type\":"
	        "\"endDate\",\"startDate\":\"2026-01-01\",\"endDate\":"
	        "\"2026-01-03\"}}}"),
	    W_ALEX, "ignore", "default" },
	{ "duration wins over nothing: afterDateTime counts", 2,
	    AWS("[\"ec2:Describe*\"]",
	        "{\"startDateTime\":\"2026-01-01T00:00:00Z\",\"expiration\":"
	        "{\"type\":\"afterDateTime\",\"endDateTime\":"
	        "\"2026-01-09T00:00:00Z\"}}"),
	    W_ALEX, "ignore", "default" },
	{ "duration and end disagree", 2,
	    AWS("[\"ec2:Describe*\"]",
	        "{\"startDateTime\":\"2026-01-01T00:00:00Z\",\"expiration\":"
	        "{\"duration\":\"PT1H\",\"endDateTime\":"
	        "\"2026-03-01T00:00:00Z\"}}"),
	    W_ALEX, "ignore", "default" },
	{ "afterDuration without duration", 2,
	    AWS("[\"ec2:Describe*\"]",
	        "{\"expiration\":{\"type\":\"afterDuration\",\"endDateTime\":"
	        "\"2026-03-01T00:00:00Z\"}}"),
	    W_ALEX, "ignore", "default" },
	{ "unknown expiration type", 2,
	    AWS("[\"ec2:Describe*\"]",
	        "{\"expiration\":{\"type\":\"afterCoffee\",\"duration\":"
	        "\"PT1H\"}}"),
	    W_ALEX, "ignore", "default" },
	{ "zero duration", 2,
	    AWS("[\"ec2:Describe*\"]",
	        "{\"expiration\":{\"type\":\"afterDuration\",\"duration\":"
	        "\"PT0S\"}}"),
	    W_ALEX, "ignore", "default" },
	{ "noExpiration", 2,
	    AWS("[\"ec2:Describe*\"]", "{\"expiration\":{\"type\":"
	                               "\"noExpiration\"}}"),
	    W_ALEX, "ignore", "default" },
	{ "notSpecified", 2,
	    AWS("[\"ec2:Describe*\"]", "{\"expiration\":{\"type\":"
	                               "\"notSpecified\"}}"),
	    W_ALEX, "ignore", "default" },
	{ "a short, plain hour is approved", 2,
	    AWS("[\"ec2:Describe*\"]", PT1H), W_ALEX, "approve", "short" },
	{ "a day of access package is approved", 2,
	    PKG("{\"startDateTime\":\"2026-01-01T00:00:00Z\",\"expiration\":"
	        "{\"type\":\"afterDuration\",\"duration\":\"P1D\"}}"),
	    W_ALEX, "approve", "day" },
	/* 3. identity */
	{ "unverified externalId is left to humans", 3,
	    AWS("[\"ec2:Describe*\"]", PT1H), W_NONE, "ignore",
	    "unverified_identity" },
	{ "a resolved guest is rejected", 3, AWS("[\"ec2:Describe*\"]", PT1H),
	    W_GUEST, "reject", "no-guests" },
	{ "offline without a directory: reject rule counts as matching", 3,
	    AWS("[\"ec2:Describe*\"]", PT1H), W_UNCHECKED, "reject",
	    "no-guests" },
	{ "a resolved member is approved", 3, AWS("[\"ec2:Describe*\"]", PT1H),
	    W_ALEX, "approve", "contoso" },
	{ "unverified_identity: reject", 4, AWS("[\"ec2:Describe*\"]", PT1H),
	    W_NONE, "reject", "unverified_identity" },
	{ "unverified_identity: evaluate never approves", 5,
	    AWS("[\"ec2:Describe*\"]", PT1H), W_NONE, "stages", "review" },
	{ "verified under evaluate approves", 5,
	    AWS("[\"ec2:Describe*\"]", PT1H), W_ALEX, "approve", "all" },
	/* 7. start delay, schedule on the grant window (NOW is 00:00) */
	{ "starts tomorrow 09:00 for an hour", 6,
	    AWS("[\"ec2:Describe*\"]",
	        "{\"startDateTime\":\"2026-01-02T09:00:00Z\",\"expiration\":"
	        "{\"duration\":\"PT1H\"}}"),
	    W_ALEX, "ignore", "default" },
	{ "starts in 30 minutes, at night", 6,
	    AWS("[\"ec2:Describe*\"]",
	        "{\"startDateTime\":\"2026-01-01T00:30:00Z\",\"expiration\":"
	        "{\"duration\":\"PT1H\"}}"),
	    W_ALEX, "ignore", "default" },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void
set_who(struct request *r, enum who w)
{
	struct req_principal p = { NULL, NULL, NULL, -1, NULL };

	switch (w) {
	case W_ALEX:
		p.id = "u-alex";
		p.upn = "alex@contoso.com";
		p.guest = 0;
		request_set_identity(r, REQ_ID_VERIFIED, &p, NULL);
		break;
	case W_GUEST:
		p.id = "u-guest";
		p.upn = "eve_fabrikam.com#EXT#@contoso.onmicrosoft.com";
		p.guest = 1;
		request_set_identity(r, REQ_ID_VERIFIED, &p, NULL);
		break;
	case W_NONE:
		request_set_identity(r, REQ_ID_UNVERIFIED, NULL, NULL);
		break;
	case W_UNCHECKED:
		break;
	}
}

static void
test_cases(void)
{
	struct policy *p[NPOL];
	struct cfg_diags d = { 0 };
	size_t i;

	for (i = 0; i < NPOL; i++) {
		p[i] = NULL;
		if (policy_load_buffer(
		        "safety", pols[i], strlen(pols[i]), &p[i], &d) != 0) {
			char buf[512];

			cfg_diag_format(&d.v[0], buf, sizeof(buf));
			fprintf(stderr, "policy %zu: %s\n", i, buf);
		}
		CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
	}
	cfg_diags_free(&d);
	for (i = 0; i < NCASES; i++) {
		const struct scase *c = &cases[i];
		struct request r;
		struct verdict v;
		struct policy_trace t = { 0 };
		char *err = NULL;

		if (request_from_json(
		        c->json, strlen(c->json), REQ_SRC_MAX, &r, &err) != 0) {
			fprintf(stderr, "case `%s`: %s\n", c->name, err);
			free(err);
			CU_FAIL("request did not parse");
			continue;
		}
		set_who(&r, c->who);
		policy_evaluate(p[c->pol], &r, NOW, NULL, NULL, &v, NULL);
		if (strcmp(verdict_name(v.kind), c->verdict) != 0 ||
		    strcmp(v.rule, c->rule) != 0)
			fprintf(stderr,
			    "case `%s`: got %s by %s, want %s by %s\n", c->name,
			    verdict_name(v.kind), v.rule, c->verdict, c->rule);
		CU_ASSERT_STRING_EQUAL(verdict_name(v.kind), c->verdict);
		CU_ASSERT_STRING_EQUAL(v.rule, c->rule);
		/* the traced walk decides the same */
		policy_evaluate(p[c->pol], &r, NOW, NULL, NULL, &v, &t);
		CU_ASSERT_STRING_EQUAL(verdict_name(v.kind), c->verdict);
		policy_trace_free(&t);
		request_free(&r);
	}
	for (i = 0; i < NPOL; i++)
		policy_free(p[i]);
}

/* explain names why an item matched */
static void
test_explain_overlap(void)
{
	const char *json = AWS("[\"s3:De*\"]", PT1H);
	struct policy *p = NULL;
	struct cfg_diags d = { 0 };
	struct request r;
	struct verdict v;
	struct policy_trace t = { 0 };
	size_t i;
	int found = 0;

	CU_ASSERT_EQUAL_FATAL(
	    policy_load_buffer("x", pols[0], strlen(pols[0]), &p, &d), 0);
	CU_ASSERT_EQUAL_FATAL(
	    request_from_json(json, strlen(json), REQ_SRC_MAX, &r, NULL), 0);
	set_who(&r, W_ALEX);
	policy_evaluate(p, &r, NOW, NULL, NULL, &v, &t);
	for (i = 0; i < t.n; i++)
		if (t.v[i].detail &&
		    strstr(t.v[i].detail, "s3:De* overlaps s3:Delete*"))
			found = 1;
	CU_ASSERT(found);
	policy_trace_free(&t);
	request_free(&r);
	policy_free(p);
	cfg_diags_free(&d);
}

/* 7. an embedded NUL makes the request malformed, never truncated */
static void
test_embedded_nul(void)
{
	static const char json[] = AWS("[\"s3:GetObject\\u0000:x\"]", PT1H);
	struct request r;
	char *err = NULL;

	CU_ASSERT_EQUAL(
	    request_from_json(json, strlen(json), REQ_SRC_MAX, &r, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(err);
	if (err)
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "NUL"));
	free(err);
}

/* 7. warnings a careless author gets; every stage ends */
static void
test_author_warnings(void)
{
	static const char pol[] =
	    "version: 1\n"
	    "approvers:\n"
	    "  sec: { group: 11111111-1111-1111-1111-111111111111 }\n"
	    "rules:\n"
	    "  - name: t\n"
	    "    when: { source: permissions, ticket: { pattern: \"INC[0-9]+\" "
	    "} }\n"
	    "    decide: stages\n"
	    "    stages: [{ name: s, approvers: [sec] }]\n"
	    "default: ignore\n";
	struct policy *p = NULL;
	struct cfg_diags d = { 0 };
	struct verdict v;
	struct request r;
	static const char json[] = AWS("[\"x:y\"]", PT1H);
	size_t i;
	int anchor = 0, deny = 0;

	CU_ASSERT_EQUAL_FATAL(
	    policy_load_buffer("w", pol, strlen(pol), &p, &d), 0);
	for (i = 0; i < d.n; i++) {
		if (strstr(d.v[i].message, "not anchored"))
			anchor = 1;
		if (strstr(d.v[i].message, "no `deny_after`"))
			deny = 1;
	}
	CU_ASSERT(anchor);
	CU_ASSERT(deny);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL_FATAL(
	    request_from_json(json, strlen(json), REQ_SRC_MAX, &r, NULL), 0);
	free(r.ticket_number);
	r.ticket_number = strdup("INC1");
	policy_evaluate(p, &r, NOW, NULL, NULL, &v, NULL);
	CU_ASSERT_EQUAL(v.kind, VERDICT_STAGES);
	if (v.kind == VERDICT_STAGES)
		CU_ASSERT_EQUAL(v.stages[0].deny_after, CFG_STAGE_DENY_MAX);
	request_free(&r);
	policy_free(p);
	cfg_diags_free(&d);
}

/* PIM approvals expire after 24 h: group stages may not wait longer */
static void
test_pim_window(void)
{
	static const char named[] =
	    "version: 1\n"
	    "approvers:\n"
	    "  sec: { group: 11111111-1111-1111-1111-111111111111 }\n"
	    "rules:\n"
	    "  - name: g\n"
	    "    when: { source: group }\n"
	    "    decide: stages\n"
	    "    stages: [{ name: a, approvers: [sec], deny_after: PT20H },\n"
	    "             { name: b, approvers: [sec], deny_after: PT5H }]\n"
	    "default: ignore\n";
	static const char implied[] =
	    "version: 1\n"
	    "approvers:\n"
	    "  sec: { group: 11111111-1111-1111-1111-111111111111 }\n"
	    "rules:\n"
	    "  - name: any\n"
	    "    when: { justification: { min_length: 1 } }\n"
	    "    decide: stages\n"
	    "    stages: [{ name: a, approvers: [sec], deny_after: P2D }]\n"
	    "default: ignore\n";
	struct policy *p = NULL;
	struct cfg_diags d = { 0 };
	size_t i;
	int warned = 0;

	CU_ASSERT_EQUAL(
	    policy_load_buffer("n", named, strlen(named), &p, &d), -1);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT(d.nerrors == 1 && strstr(d.v[0].message, "24 hours"));
	cfg_diags_free(&d);
	memset(&d, 0, sizeof(d));
	CU_ASSERT_EQUAL(
	    policy_load_buffer("i", implied, strlen(implied), &p, &d), 0);
	for (i = 0; i < d.n; i++)
		if (d.v[i].severity == CFG_WARNING &&
		    strstr(d.v[i].message, "24 hours"))
			warned = 1;
	CU_ASSERT(warned);
	policy_free(p);
	cfg_diags_free(&d);
}

const struct cu_test safety_tests[] = {
	{ "pim_window", test_pim_window },
	{ "cases", test_cases },
	{ "explain_overlap", test_explain_overlap },
	{ "embedded_nul", test_embedded_nul },
	{ "author_warnings", test_author_warnings },
	{ NULL, NULL },
};
