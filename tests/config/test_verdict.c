/* A stages verdict as stored with its request (issue 15): encode, decode,
 * the fingerprint across both, and every kind of malformed input refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tests.h"

#define CISO   "7deff43e-1f17-44ef-9e5f-d516b0ba11d4"
#define SECOPS "1623f912-5e86-41c2-af47-39dd67582b66"

static const struct approver_set set_user = { "ciso", APPROVER_USER, CISO, 0 };
static const struct approver_set set_upn = { "ciso_upn", APPROVER_USER,
	"ciso@contoso.com", 0 };
static const struct approver_set set_group = { "secops", APPROVER_GROUP, SECOPS,
	0 };
static const struct approver_set set_mgr1 = { "manager", APPROVER_MANAGER, NULL,
	1 };
static const struct approver_set set_mgr2 = { "skip", APPROVER_MANAGER, NULL,
	2 };

static const struct approver_set *l_ug[] = { &set_user, &set_group };
static const struct approver_set *l_m1[] = { &set_mgr1 };
static const struct approver_set *l_m2u[] = { &set_mgr2, &set_upn };
static const struct approver_set *l_g[] = { &set_group };

/* Three stages, every list, every kind of set, every field non-default. */
static const struct policy_stage stages3[] = {
	{ "manager", { 1, l_m1 }, { 2, l_ug }, { 2, l_m2u }, { 1, l_g },
	    4 * 3600, 86400, 1800, 1, 1 },
	{ "security", { 1, l_g }, { 0, NULL }, { 0, NULL }, { 0, NULL }, 0,
	    2 * 86400, 0, 2, 0 },
	{ "ciso", { 0, NULL }, { 1, l_m2u + 1 }, { 0, NULL }, { 0, NULL }, 0,
	    604800, 3600, 1, 1 },
};

static const struct verdict verdict3 = { VERDICT_STAGES, "prod-admin", "reason",
	4, 3, stages3 };

static void
assert_lists(
    const struct approver_ref_list *a, const struct approver_ref_list *b)
{
	size_t i;

	CU_ASSERT_EQUAL_FATAL(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		CU_ASSERT_STRING_EQUAL(a->v[i]->name, b->v[i]->name);
		CU_ASSERT_EQUAL(a->v[i]->kind, b->v[i]->kind);
		if (b->v[i]->kind == APPROVER_MANAGER) {
			CU_ASSERT_EQUAL(a->v[i]->level, b->v[i]->level);
			CU_ASSERT_PTR_NULL(a->v[i]->value);
		} else
			CU_ASSERT_STRING_EQUAL(a->v[i]->value, b->v[i]->value);
	}
}

static void
test_round_trip(void)
{
	struct policy_stages *ps = NULL;
	char *text, *again, *err = NULL, fa[65], fb[65];
	size_t i;

	text = policy_stages_encode(&verdict3, 1764806400);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"version\":1"));
	CU_ASSERT_EQUAL_FATAL(policy_stages_decode(text, &ps, &err), 0);
	CU_ASSERT_PTR_NULL(err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	CU_ASSERT_EQUAL(ps->at, 1764806400);
	CU_ASSERT_EQUAL(ps->v.kind, VERDICT_STAGES);
	CU_ASSERT_STRING_EQUAL(ps->v.rule, "prod-admin");
	CU_ASSERT_EQUAL_FATAL(ps->v.nstages, 3);
	for (i = 0; i < 3; i++) {
		const struct policy_stage *a = &ps->v.stages[i],
		                          *b = &stages3[i];

		CU_ASSERT_STRING_EQUAL(a->name, b->name);
		assert_lists(&a->approvers, &b->approvers);
		assert_lists(&a->fallback, &b->fallback);
		assert_lists(&a->escalation, &b->escalation);
		assert_lists(&a->fallback_escalation, &b->fallback_escalation);
		CU_ASSERT_EQUAL(a->escalate_after, b->escalate_after);
		CU_ASSERT_EQUAL(a->deny_after, b->deny_after);
		CU_ASSERT_EQUAL(a->remind_every, b->remind_every);
		CU_ASSERT_EQUAL(a->approvals, b->approvals);
		CU_ASSERT_EQUAL(
		    a->justification_required, b->justification_required);
	}
	/* The decoded verdict is the one that was recorded: same
	 * fingerprint, and the same text again (a stable encoding). */
	verdict_fingerprint(&verdict3, fa);
	verdict_fingerprint(&ps->v, fb);
	CU_ASSERT_EQUAL(strlen(fa), 64);
	CU_ASSERT_STRING_EQUAL(fa, fb);
	again = policy_stages_encode(&ps->v, ps->at);
	CU_ASSERT_PTR_NOT_NULL_FATAL(again);
	CU_ASSERT_STRING_EQUAL(again, text);
	policy_stages_free(ps);
	free(again);
	free(text);
}

/* The fingerprint stored before this change stays what it was: the
 * hashing moved from the daemon to config/ unchanged. */
static void
test_fingerprint_stable(void)
{
	static const struct approver_set *l_u[] = { &set_user };
	static const struct policy_stage one[] = {
		{ "ciso", { 1, l_u }, { 0, NULL }, { 0, NULL }, { 0, NULL }, 0,
		    604800, 0, 1, 0 },
	};
	struct verdict v = { VERDICT_STAGES, "r", NULL, 0, 1, one };
	struct verdict a = { VERDICT_APPROVE, "r", NULL, 0, 0, NULL };
	char f1[65], f2[65], f3[65];

	verdict_fingerprint(&v, f1);
	verdict_fingerprint(&a, f2);
	/* what daemon/engine/reload.c computed before the move (a change
	 * would restart every waiting stage at the next start-up) */
	CU_ASSERT_STRING_EQUAL(f1,
	    "d2c088b2396bf6b1323e3ab48d46e59b4eaf2998c0e4432d101a16b8be3de82b");
	CU_ASSERT_STRING_NOT_EQUAL(f1, f2);
	/* stage names do not count; a quorum does */
	{
		struct policy_stage renamed = one[0];

		renamed.name = "other";
		v.stages = &renamed;
		verdict_fingerprint(&v, f3);
		CU_ASSERT_STRING_EQUAL(f1, f3);
		renamed.approvals = 2;
		verdict_fingerprint(&v, f3);
		CU_ASSERT_STRING_NOT_EQUAL(f1, f3);
	}
}

static void
test_encode_refuses(void)
{
	static const struct approver_set *many[POLICY_STAGES_MAX_SETS + 1];
	struct policy_stage four[CFG_MAX_STAGES + 1], big;
	struct verdict v = verdict3;
	size_t i;

	/* not a stages verdict */
	v.kind = VERDICT_APPROVE;
	CU_ASSERT_PTR_NULL(policy_stages_encode(&v, 0));
	v = verdict3;
	v.nstages = 0;
	CU_ASSERT_PTR_NULL(policy_stages_encode(&v, 0));
	for (i = 0; i < CFG_MAX_STAGES + 1; i++)
		four[i] = stages3[0];
	v.stages = four;
	v.nstages = CFG_MAX_STAGES + 1;
	CU_ASSERT_PTR_NULL(policy_stages_encode(&v, 0));
	for (i = 0; i < POLICY_STAGES_MAX_SETS + 1; i++)
		many[i] = &set_user;
	big = stages3[0];
	big.approvers.n = POLICY_STAGES_MAX_SETS + 1;
	big.approvers.v = many;
	v.stages = &big;
	v.nstages = 1;
	CU_ASSERT_PTR_NULL(policy_stages_encode(&v, 0));
	big.approvers.n = POLICY_STAGES_MAX_SETS;
	{
		char *t = policy_stages_encode(&v, 0);

		CU_ASSERT_PTR_NOT_NULL(t);
		free(t);
	}
}

/* One good document, edited by replacing one piece of its text. */
static const char good[] =
    "{\"version\":1,\"rule\":\"r\",\"at\":1700000000,\"stages\":[{\"name\":"
    "\"first\",\"approvals\":2,\"justification_required\":true,"
    "\"escalate_after\":3600,\"deny_after\":86400,\"remind_every\":600,"
    "\"approvers\":[{\"set\":\"ciso\",\"user\":\"" CISO "\"},{\"set\":"
    "\"secops\",\"group\":\"" SECOPS "\"}],\"fallback\":[{\"set\":"
    "\"manager\",\"manager\":2}],\"escalation\":[],"
    "\"fallback_escalation\":[]}]}";

struct bad {
	const char *what, *from, *to;
};

static const struct bad bads[] = {
	/* not one JSON object */
	{ "empty", NULL, "" },
	{ "not JSON", NULL, "stages: [first]" },
	{ "truncated", "}]}", "}]" },
	{ "trailing text", "}]}", "}]} x" },
	{ "two documents", "}]}", "}]}{}" },
	{ "an array", NULL, "[1]" },
	{ "single quotes", "\"rule\":\"r\"", "\"rule\":'r'" },
	/* version */
	{ "unknown version", "\"version\":1", "\"version\":2" },
	{ "version 0", "\"version\":1", "\"version\":0" },
	{ "version as a string", "\"version\":1", "\"version\":\"1\"" },
	{ "no version", "\"version\":1,", "" },
	/* missing members */
	{ "no rule", "\"rule\":\"r\",", "" },
	{ "no at", "\"at\":1700000000,", "" },
	{ "no stages", ",\"stages\":[", ",\"x\":[" },
	{ "stage without name", "\"name\":\"first\",", "" },
	{ "stage without approvals", "\"approvals\":2,", "" },
	{ "stage without justification", "\"justification_required\":true,",
	    "" },
	{ "stage without deny_after", "\"deny_after\":86400,", "" },
	{ "stage without fallback_escalation", ",\"fallback_escalation\":[]",
	    "" },
	{ "set without name", "{\"set\":\"ciso\",", "{" },
	{ "set without kind", ",\"user\":\"" CISO "\"", "" },
	/* unknown members */
	{ "unknown top member", "\"at\":", "\"extra\":1,\"at\":" },
	{ "unknown stage member", "\"approvals\":2,",
	    "\"approvals\":2,\"quorum\":2," },
	{ "two kinds in one set", "\"user\":\"" CISO "\"",
	    "\"user\":\"" CISO "\",\"group\":\"" SECOPS "\"" },
	{ "unknown set member", "\"manager\":2}", "\"manager\":2,\"x\":1}" },
	/* wrong types */
	{ "rule not a string", "\"rule\":\"r\"", "\"rule\":7" },
	{ "at not an integer", "\"at\":1700000000", "\"at\":\"now\"" },
	{ "at a double", "\"at\":1700000000", "\"at\":1.5" },
	{ "stages an object", NULL,
	    "{\"version\":1,\"rule\":\"r\",\"at\":1,\"stages\":{}}" },
	{ "stage not an object", "\"stages\":[{", "\"stages\":[1,{" },
	{ "approvals a string", "\"approvals\":2", "\"approvals\":\"2\"" },
	{ "justification an integer", "\"justification_required\":true",
	    "\"justification_required\":1" },
	{ "approvers a string", "\"escalation\":[]", "\"escalation\":\"x\"" },
	{ "approvers null", "\"escalation\":[]", "\"escalation\":null" },
	{ "set a string", "\"escalation\":[]", "\"escalation\":[\"secops\"]" },
	{ "user an integer", "\"user\":\"" CISO "\"", "\"user\":1" },
	{ "manager a string", "\"manager\":2}", "\"manager\":\"2\"}" },
	{ "name null", "\"name\":\"first\"", "\"name\":null" },
	/* out of range */
	{ "approvals 0", "\"approvals\":2", "\"approvals\":0" },
	{ "approvals over the cap", "\"approvals\":2", "\"approvals\":9" },
	{ "manager 3", "\"manager\":2}", "\"manager\":3}" },
	{ "manager 0", "\"manager\":2}", "\"manager\":0}" },
	{ "negative deny_after", "\"deny_after\":86400", "\"deny_after\":-1" },
	{ "huge escalate_after", "\"escalate_after\":3600",
	    "\"escalate_after\":99999999999999" },
	{ "negative at", "\"at\":1700000000", "\"at\":-5" },
	{ "empty rule", "\"rule\":\"r\"", "\"rule\":\"\"" },
	{ "empty user", "\"user\":\"" CISO "\"", "\"user\":\"\"" },
	{ "NUL inside a name", "\"name\":\"first\"",
	    "\"name\":\"fi\\u0000rst\"" },
	/* meaningless */
	{ "no stages at all", NULL,
	    "{\"version\":1,\"rule\":\"r\",\"at\":1,\"stages\":[]}" },
	{ "stage without approvers or fallback",
	    "\"approvers\":[{\"set\":\"ciso\",\"user\":\"" CISO
	    "\"},{\"set\":\"secops\",\"group\":\"" SECOPS
	    "\"}],\"fallback\":[{\"set\":\"manager\",\"manager\":2}]",
	    "\"approvers\":[],\"fallback\":[]" },
};

/* `good` with `from` replaced by `to` (the whole text when from is NULL). */
static char *
edit(const struct bad *b)
{
	const char *at;
	char *out;
	size_t n;

	if (b->from == NULL)
		return strdup(b->to);
	at = strstr(good, b->from);
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	n = strlen(good) - strlen(b->from) + strlen(b->to) + 1;
	out = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	snprintf(out, n, "%.*s%s%s", (int)(at - good), good, b->to,
	    at + strlen(b->from));
	return out;
}

static void
assert_refused(const char *what, const char *text)
{
	struct policy_stages *ps = (struct policy_stages *)1;
	char *err = NULL;
	int rc = policy_stages_decode(text, &ps, &err);

	if (rc != -1)
		fprintf(stderr, "  accepted: %s\n", what);
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_PTR_NULL(ps);
	CU_ASSERT_PTR_NOT_NULL(err);
	if (rc == 0)
		policy_stages_free(ps);
	free(err);
}

static void
test_decode_refuses(void)
{
	struct policy_stages *ps = NULL;
	char *text, *err = NULL, *big;
	size_t i, n;

	/* the document every case edits is itself good */
	CU_ASSERT_EQUAL_FATAL(policy_stages_decode(good, &ps, &err), 0);
	CU_ASSERT_EQUAL(ps->v.stages[0].approvers.n, 2);
	CU_ASSERT_EQUAL(ps->v.stages[0].fallback.v[0]->level, 2);
	policy_stages_free(ps);
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		text = edit(&bads[i]);
		assert_refused(bads[i].what, text);
		free(text);
	}
	assert_refused("NULL", NULL);
	/* too many stages */
	{
		const char *s = strstr(good, "{\"name\"");
		size_t sl = strlen(s) - 2; /* the stage object, without ]} */

		n = strlen(good) + 3 * (sl + 1) + 1;
		big = malloc(n);
		CU_ASSERT_PTR_NOT_NULL_FATAL(big);
		snprintf(big, n, "%.*s%.*s,%.*s,%.*s,%.*s]}", (int)(s - good),
		    good, (int)sl, s, (int)sl, s, (int)sl, s, (int)sl, s);
		assert_refused("four stages", big);
		/* three are fine (but for duplicate names, which the
		 * policy refuses and the stored form need not) */
		snprintf(big, n, "%.*s%.*s,%.*s,%.*s]}", (int)(s - good), good,
		    (int)sl, s, (int)sl, s, (int)sl, s);
		CU_ASSERT_EQUAL(policy_stages_decode(big, &ps, NULL), 0);
		policy_stages_free(ps);
		free(big);
	}
	/* too many approver sets in one list */
	{
		const char *set = "{\"set\":\"g\",\"group\":\"" SECOPS "\"}";
		size_t k, o;

		n = strlen(good) +
		    (POLICY_STAGES_MAX_SETS + 1) * (strlen(set) + 1) + 64;
		big = malloc(n);
		CU_ASSERT_PTR_NOT_NULL_FATAL(big);
		for (k = POLICY_STAGES_MAX_SETS;
		     k <= POLICY_STAGES_MAX_SETS + 1; k++) {
			const char *e = strstr(good, "\"escalation\":[]");

			o = (size_t)snprintf(big, n, "%.*s\"escalation\":[",
			    (int)(e - good), good);
			for (i = 0; i < k; i++)
				o += (size_t)snprintf(
				    big + o, n - o, "%s%s", i ? "," : "", set);
			snprintf(big + o, n - o, "]%s",
			    e + strlen("\"escalation\":[]"));
			if (k == POLICY_STAGES_MAX_SETS) {
				CU_ASSERT_EQUAL(
				    policy_stages_decode(big, &ps, NULL), 0);
				policy_stages_free(ps);
			} else
				assert_refused("65 sets", big);
		}
		free(big);
	}
	/* more text than a stored verdict can have */
	n = POLICY_STAGES_MAX_TEXT + 64;
	big = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, ' ', n - 1);
	memcpy(big, good, strlen(good));
	big[n - 1] = '\0';
	assert_refused("too long", big);
	free(big);
}

const struct cu_test verdict_tests[] = {
	{ "round trip", test_round_trip },
	{ "fingerprint", test_fingerprint_stable },
	{ "encode refuses", test_encode_refuses },
	{ "decode refuses", test_decode_refuses },
	{ NULL, NULL },
};
