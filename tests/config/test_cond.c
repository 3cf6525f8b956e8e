/*
 * The condition table (config/cond.c): every enum cond_id has a complete
 * row, names are unique and round-trip, and each row compiles, evaluates
 * and dumps a sample through the public loader, evaluator and dump.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"
#include "tests.h"

/* One `when` value per kind and its normalized text; a new kind needs a
 * line here (test_samples fails otherwise). */
static const struct {
	const char *name, *value, *dump;
} samples[] = {
	{ "source", "[group, permissions, group]",
	    "[group, permissions, group]" },
	{ "cloud", "[gcp, aws]", "[gcp, aws]" },
	{ "system", "\"12*\"", "[\"12*\"]" },
	{ "request_action", "[selfActivate, adminAssign]",
	    "[selfActivate, adminAssign]" },
	{ "access", "[owner, member]", "[owner, member]" },
	{ "group", "[g1, \"g 2\"]", "[g1, \"g 2\"]" },
	{ "package", "p*", "[\"p*\"]" },
	{ "requestor", "[\"*@contoso.com\"]", "[\"*@contoso.com\"]" },
	{ "max_duration", "PT90M", "PT1H30M" },
	{ "max_start_delay", "P1D", "P1D" },
	{ "ticket", "{ pattern: \"^INC[0-9]+$\", system: ServiceNow }",
	    "{ system: ServiceNow, pattern: \"^INC[0-9]+$\" }" },
	{ "actions", "[\"s3:Get*\", s3:ListBucket]",
	    "[\"s3:Get*\", \"s3:ListBucket\"]" },
	{ "roles", "reader", "[reader]" },
	{ "policies", "[\"arn:aws:iam::*:policy/R*\"]",
	    "[\"arn:aws:iam::*:policy/R*\"]" },
	{ "resources", "[/subscriptions/x/]", "[/subscriptions/x/]" },
	{ "justification", "{ min_length: 4 }", "{ min_length: 4 }" },
	{ "schedule", "{ weekdays: [sun, mon], timezone: UTC }",
	    "{ weekdays: [mon, sun], hours: \"00:00-24:00\", timezone: UTC }" },
	{ "requestor_in", "[admins]", "[admins]" },
};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

/* Every enum value has a row with a name, a shape and its three
 * functions; the table is exactly as long as the enum. */
static void
test_rows(void)
{
	int id;

	CU_ASSERT_EQUAL_FATAL(cond_table_len, (size_t)C_MAX);
	for (id = 0; id < C_MAX; id++) {
		const struct cond_kind *k = &cond_table[id];

		CU_ASSERT_PTR_NOT_NULL_FATAL(k->name);
		CU_ASSERT(k->name[0] != '\0');
		CU_ASSERT(k->type != YT_ANY);
		CU_ASSERT_PTR_NOT_NULL(k->compile);
		CU_ASSERT_PTR_NOT_NULL(k->eval);
		CU_ASSERT_PTR_NOT_NULL(k->dump);
		/* a mapping-valued condition names its keys (the manual
		 * lists them as when.NAME.KEY) */
		CU_ASSERT_EQUAL(k->keys != NULL,
		    k->type == YT_MAP || k->type == YT_STR_OR_MAP);
		/* stored data sits past the rule's name */
		CU_ASSERT_EQUAL(k->data != COND_OWN, k->at != 0);
		CU_ASSERT_EQUAL(
		    k->data == COND_PICK, k->vocab != NULL && k->nvocab > 0);
		CU_ASSERT(k->only_src < (1u << REQ_SRC_MAX));
	}
}

/* Names are unique and name -> kind -> name round-trips; the `when` key
 * table follows the enum and ends in NULL. */
static void
test_names(void)
{
	struct ykey keys[C_MAX + 1];
	int id, j;

	for (id = 0; id < C_MAX; id++)
		CU_ASSERT_PTR_NOT_NULL_FATAL(cond_table[id].name);
	for (id = 0; id < C_MAX; id++) {
		for (j = id + 1; j < C_MAX; j++)
			CU_ASSERT(strcmp(cond_table[id].name,
			              cond_table[j].name) != 0);
		CU_ASSERT_EQUAL(cond_lookup(cond_table[id].name), id);
		CU_ASSERT_STRING_EQUAL(
		    cond_table[cond_lookup(cond_table[id].name)].name,
		    cond_table[id].name);
	}
	CU_ASSERT_EQUAL(cond_lookup("sourc"), C_MAX);
	CU_ASSERT_EQUAL(cond_lookup(""), C_MAX);
	CU_ASSERT_PTR_EQUAL(cond_keys(keys), keys);
	for (id = 0; id < C_MAX; id++) {
		CU_ASSERT_PTR_EQUAL(keys[id].name, cond_table[id].name);
		CU_ASSERT_EQUAL(keys[id].type, cond_table[id].type);
	}
	CU_ASSERT_PTR_NULL(keys[C_MAX].name);
}

/* Each row, through policy_load_buffer, policy_dump and a traced
 * policy_evaluate: the condition compiles, dumps its normalized text and
 * is evaluated under its own name. */
static void
test_samples(void)
{
	struct request q;
	size_t len;
	char *json;
	int id;

	json = cu_slurp(
	    cu_srcpath("examples/requests/permissions-request-aws-action.json"),
	    &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	CU_ASSERT_EQUAL_FATAL(
	    request_from_json(json, len, REQ_SRC_MAX, &q, NULL), 0);
	free(json);
	for (id = 0; id < C_MAX; id++) {
		struct cfg_diags d = { 0 };
		struct policy_trace t = { 0 };
		struct policy *p = NULL;
		struct verdict v;
		char yaml[1024], want[512], *dump;
		size_t i, s;
		int seen = 0;

		for (s = 0; s < NSAMPLES; s++)
			if (strcmp(samples[s].name, cond_table[id].name) == 0)
				break;
		if (s == NSAMPLES) {
			fprintf(stderr, "no sample for condition `%s`\n",
			    cond_table[id].name);
			CU_FAIL("condition without a sample");
			continue;
		}
		snprintf(yaml, sizeof(yaml),
		    "version: 1\n"
		    "approvers:\n"
		    "  admins: { group: 11111111-1111-1111-1111-111111111111 "
		    "}\n"
		    "unverified_identity: evaluate\n"
		    "rules:\n"
		    "  - name: r\n"
		    "    when: { %s: %s }\n"
		    "    decide: reject\n"
		    "default: ignore\n",
		    samples[s].name, samples[s].value);
		if (policy_load_buffer("t.yaml", yaml, strlen(yaml), &p, &d) !=
		    0) {
			for (i = 0; i < d.n; i++)
				fprintf(stderr, "%s: %u:%u: %s\n",
				    samples[s].name, d.v[i].line, d.v[i].col,
				    d.v[i].message);
			CU_FAIL("sample does not load");
			cfg_diags_free(&d);
			continue;
		}
		dump = policy_dump(p);
		snprintf(want, sizeof(want), "\n      %s: %s\n",
		    samples[s].name, samples[s].dump);
		CU_ASSERT_PTR_NOT_NULL(dump);
		if (dump != NULL && strstr(dump, want) == NULL) {
			fprintf(stderr, "dump of `%s` lacks%sgot:\n%s\n",
			    samples[s].name, want, dump);
			CU_FAIL("dump differs");
		}
		free(dump);
		policy_evaluate(p, &q, 1764756000, NULL, NULL, &v, &t);
		for (i = 0; i < t.n; i++)
			if (t.v[i].rule_index == 0 &&
			    strcmp(t.v[i].cond, cond_table[id].name) == 0)
				seen++;
		CU_ASSERT_EQUAL(seen, 1);
		policy_trace_free(&t);
		policy_free(p);
		cfg_diags_free(&d);
	}
	request_free(&q);
}

const struct cu_test cond_tests[] = {
	{ "rows", test_rows },
	{ "names", test_names },
	{ "samples", test_samples },
	{ NULL, NULL },
};
