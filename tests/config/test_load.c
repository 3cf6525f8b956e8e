/* Policy validation diagnostics and golden files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tests.h"

#define HDR                                                                    \
	"version: 1\napprovers:\n  ciso: { user: u1 }\n  bob: { user: u2 }\n " \
	" sec: { group: g1 }\n  mgr: { manager: 1 }\n"

static const struct {
	const char *yaml;
	const char *want; /* "line:col: error: text" substring of some diag */
} bad[] = {
	{ "version: 2\n", "1:10: error: unsupported version 2" },
	{ "rules: []\n", "1:1: error: missing `version: 1`" },
	{ "version: 1\nrulez: []\n",
	    "2:1: error: unknown key `rulez`; did you mean `rules`?" },
	{ "version: 1\nversion: 1\n", "2:1: error: duplicate key `version`" },
	{ "version: 1\ndefault: approve\n",
	    "2:10: error: `default` must not approve" },
	{ "version: 1\ndefault: { decide: approve }\n",
	    "2:10: error: `default` must not approve" },
	{ HDR "rules:\n  - name: a\n    when: { cloud: aws }\n    decide: "
	      "aprove\n",
	    "10:13: error: unknown decide `aprove`; did you mean `approve`?" },
	{ HDR "rules:\n  - name: a\n    when: { clod: aws }\n    decide: "
	      "reject\n",
	    "9:13: error: unknown key `clod`; did you mean `cloud`?" },
	{ HDR "rules:\n  - name: a\n    when: { cloud: aws }\n    decide: "
	      "reject\n  - name: a\n    when: { cloud: gcp }\n    decide: "
	      "reject\n",
	    "11:11: error: duplicate rule name `a`" },
	{ HDR "rules:\n  - name: a\n    when: { max_duration: 4h }\n    "
	      "decide: reject\n",
	    "9:27: error: bad ISO-8601 duration `4h`" },
	{ HDR "rules:\n  - name: a\n    when: { ticket: { pattern: \"(\" } "
	      "}\n    decide: reject\n",
	    "9:32: error: bad regular expression `(`" },
	{ HDR "rules:\n  - name: a\n    when: { cloud: aws }\n    decide: "
	      "stages\n    stages:\n      - approvers: [cisco]\n",
	    "12:21: error: undefined approver set `cisco`; did you mean "
	    "`ciso`?" },
	{ HDR "rules:\n  - name: a\n    when: { cloud: aws }\n    decide: "
	      "stages\n    stages:\n      - { approvers: [ciso], approvals: 0 "
	      "}\n",
	    "12:41: error: approvals must be at least 1" },
	{ HDR "rules:\n  - name: a\n    when: { cloud: aws }\n    decide: "
	      "stages\n    stages:\n      - { approvers: [ciso, bob], "
	      "approvals: 3 }\n",
	    "error: approvals: 3 but the approvers can supply at most 2" },
	{ HDR "rules:\n  - name: a\n    when: { cloud: aws }\n    decide: "
	      "stages\n    stages:\n      - { approvers: [sec], approvals: 9 "
	      "}\n",
	    "error: approvals must be at most 8" },
	{ HDR "rules:\n  - name: a\n    when: { cloud: aws }\n    decide: "
	      "stages\n    stages:\n      - { approvers: [mgr], escalation: "
	      "[sec], escalate_after: P1D, deny_after: PT1H }\n",
	    "error: deny_after is shorter than escalate_after" },
	{ HDR "rules:\n  - name: a\n    when: { cloud: aws }\n    decide: "
	      "reject\n    stages:\n      - { approvers: [mgr] }\n",
	    "12:7: error: `stages` on a rule that decides `reject`" },
	{ HDR "rules:\n  - name: a\n    when: { cloud: aws }\n    decide: "
	      "stages\n",
	    "error: rule decides `stages` but has no `stages`" },
	{ HDR "rules:\n  - name: a\n    when: { cloud: aws }\n    decide: "
	      "stages\n    stages:\n      - { approvers: [] }\n",
	    "error: stage `stage1` has no approvers and no fallback" },
	{ HDR "rules:\n  - name: a\n    when: { cloud: aws }\n    decide: "
	      "stages\n    stages:\n      - { approvers: [mgr] }\n      - { "
	      "approvers: [mgr] }\n      - { approvers: [mgr] }\n      - { "
	      "approvers: [mgr] }\n",
	    "15:9: error: more than 3 stages" },
	{ HDR "rules:\n  - name: a\n    when: {}\n    decide: approve\n",
	    "error: approve rule `a` has no conditions" },
	{ HDR "rules:\n  - name: a\n    when: { requestor_in: admins }\n    "
	      "decide: reject\n",
	    "error: undefined approver set `admins`" },
	{ HDR "rules:\n  - name: a\n    when: { schedule: { hours: "
	      "\"09:00-17:00\", timezone: Mars/Olympus } }\n    decide: "
	      "reject\n",
	    "error: unknown time zone `Mars/Olympus`" },
	{ HDR "rules:\n  - name: a\n    when: { schedule: { hours: 9-5, "
	      "timezone: UTC } }\n    decide: reject\n",
	    "error: bad hours `9-5`" },
	{ HDR "rules:\n  - name: a\n    when: { actions: 5 }\n    decide: "
	      "reject\n",
	    NULL /* a number is a string in YAML: accepted */ },
	{ HDR "rules:\n  - name: a\n    when: { actions: { a: b } }\n    "
	      "decide: reject\n",
	    "9:22: error: `actions` must be a string or list of strings" },
	{ HDR "rules:\n  - name: a\n    when: { source: groups }\n    decide: "
	      "reject\n",
	    "error: unknown source `groups`; did you mean `group`?" },
	{ "version: 1\napprovers:\n  m: { manager: 3 }\n",
	    "3:17: error: 3 is out of range (1..2)" },
	{ "version: 1\napprovers:\n  m: { user: a, group: b }\n",
	    "error: approver set `m` needs exactly one of" },
	{ "version: 1\nrules: [\n", "error: YAML syntax error" },
	{ "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	  "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	  "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	  "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
	    "error: alias expansion exceeds 100000 nodes" },
	{ "version: 1\nrules: *nope\n", "error: undefined alias `nope`" },
	{ "version: 1\n---\nversion: 1\n",
	    "error: only one YAML document is allowed" },
};

/* Format all diagnostics into one string. */
static char *
diags_text(const struct cfg_diags *d)
{
	size_t i, n = 0;
	char *s = calloc(1, 65536), line[2048];

	for (i = 0; s && i < d->n; i++) {
		cfg_diag_format(&d->v[i], line, sizeof(line));
		n += (size_t)snprintf(s + n, 65536 - n, "%s\n", line);
		if (n >= 65536)
			break;
	}
	return s;
}

static void
test_bad(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg_diags d = { 0 };
		struct policy *p = (struct policy *)1;
		int rc = policy_load_buffer(
		    "p.yaml", bad[i].yaml, strlen(bad[i].yaml), &p, &d);
		char *txt = diags_text(&d);

		if (bad[i].want == NULL) {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_PTR_NOT_NULL(p);
		} else {
			char msg[4096];

			snprintf(msg, sizeof(msg), "want `%s` in:\n%s",
			    bad[i].want, txt);
			CU_ASSERT_EQUAL(rc, -1);
			CU_ASSERT_PTR_NULL(p);
			CU_ASSERT(d.nerrors > 0);
			if (strstr(txt, bad[i].want) == NULL) {
				fprintf(stderr, "%s\n", msg);
				CU_FAIL(bad[i].want);
			}
		}
		policy_free(p);
		free(txt);
		cfg_diags_free(&d);
	}
}

static void
test_limits(void)
{
	struct cfg_diags d = { 0 };
	struct policy *p = NULL;
	char *big, *deep;
	size_t i, n = CFG_MAX_FILE_SIZE + 10;

	big = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, '#', n);
	CU_ASSERT_EQUAL(policy_load_buffer("big.yaml", big, n, &p, &d), -1);
	CU_ASSERT_EQUAL(d.nerrors, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.v[0].message, "larger than"));
	cfg_diags_free(&d);
	free(big);

	deep = calloc(1, 200);
	for (i = 0; i < 40; i++)
		deep[i] = '[';
	CU_ASSERT_EQUAL(
	    policy_load_buffer("deep.yaml", deep, strlen(deep), &p, &d), -1);
	CU_ASSERT(d.nerrors >= 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.v[0].message, "deeper than 32"));
	cfg_diags_free(&d);
	free(deep);

	/* every error is reported in one run */
	{
		static const char y[] =
		    "version: 1\nrulez: []\nfoo: 1\ndefault: approve\n";

		CU_ASSERT_EQUAL(
		    policy_load_buffer("m.yaml", y, strlen(y), &p, &d), -1);
		CU_ASSERT_EQUAL(d.nerrors, 3);
		cfg_diags_free(&d);
	}
	CU_ASSERT_EQUAL(policy_load_file("/nonexistent/p.yaml", &p, &d), -1);
	CU_ASSERT_EQUAL(d.nerrors, 1);
	cfg_diags_free(&d);
	cfg_diags_free(NULL);
	policy_free(NULL);
}

static void
test_shadow(void)
{
	static const char y[] = HDR
	    "rules:\n"
	    "  - name: broad\n    when: { cloud: aws }\n    decide: reject\n"
	    "  - name: narrow\n    when: { cloud: aws, actions: [\"s3:*\"] "
	    "}\n    decide: reject\n"
	    "  - name: approve-s3\n    when: { actions: [\"s3:*\"] }\n    "
	    "decide: approve\n"
	    "  - name: reject-s3\n    when: { actions: [\"s3:*\"] }\n    "
	    "decide: reject\n"
	    "  - name: catch-all\n    when: {}\n    decide: ignore\n"
	    "  - name: after-all\n    when: { cloud: gcp }\n    decide: "
	    "reject\n";
	struct cfg_diags d = { 0 };
	struct policy *p = NULL;
	char *txt;

	CU_ASSERT_EQUAL_FATAL(
	    policy_load_buffer("s.yaml", y, strlen(y), &p, &d), 0);
	txt = diags_text(&d);
	CU_ASSERT_EQUAL(d.nerrors, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(txt, "11:5: warning: rule `narrow` is "
	                                   "shadowed by earlier rule `broad`"));
	/* all-of approve does not shadow any-of reject */
	CU_ASSERT_PTR_NULL(strstr(txt, "rule `reject-s3` is shadowed"));
	CU_ASSERT_PTR_NOT_NULL(strstr(txt, "rule `after-all` is shadowed by "
	                                   "earlier rule `catch-all`"));
	free(txt);
	cfg_diags_free(&d);
	policy_free(p);
}

/* The groups a PIM listing must cover: literal `group:` values of rules
 * that can see group requests, once each; anything broader is unscoped. */
static void
test_group_scopes(void)
{
	static const struct {
		const char *rules;
		size_t n;
		int unscoped;
	} cases[] = {
		{ "  - name: a\n    when: { source: group, group: [G1, g1, G2] "
		  "}\n"
		  "    decide: approve\n"
		  "  - name: b\n    when: { source: permissions }\n"
		  "    decide: reject\n"
		  "  - name: c\n    when: { cloud: aws }\n    decide: reject\n",
		    2, 0 },
		{ "  - name: a\n    when: { source: group, group: [G1, \"G*\"] "
		  "}\n"
		  "    decide: approve\n",
		    1, 1 },
		{ "  - name: a\n    when: { access: owner }\n    decide: "
		  "reject\n",
		    0, 1 },
		{ "  - name: a\n    when: { source: group, group: [G1] }\n"
		  "    decide: approve\n"
		  "default:\n  decide: reject\n",
		    1, 1 },
	};
	const char *ids[4];
	char y[1024];
	size_t i, n;
	int unscoped;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_diags d = { 0 };
		struct policy *p = NULL;

		snprintf(y, sizeof(y), HDR "rules:\n%s", cases[i].rules);
		CU_ASSERT_EQUAL_FATAL(
		    policy_load_buffer("g.yaml", y, strlen(y), &p, &d), 0);
		n = policy_group_scopes(p, ids, 4, &unscoped);
		CU_ASSERT_EQUAL(n, cases[i].n);
		CU_ASSERT_EQUAL(unscoped, cases[i].unscoped);
		if (n > 0)
			CU_ASSERT_STRING_EQUAL(ids[0], "G1");
		cfg_diags_free(&d);
		policy_free(p);
	}
}

const struct cu_test load_tests[] = {
	{ "bad_policies", test_bad },
	{ "limits", test_limits },
	{ "shadow_warnings", test_shadow },
	{ "group_scopes", test_group_scopes },
	{ NULL, NULL },
};

/* ---- golden files: tests/config/golden/NAME.yaml -> NAME.expected ---- */

static const char *const golden[] = {
	"example",
	"full",
	"errors",
	"stages-errors",
	"shadow",
	"yaml-errors",
	NULL,
};

static void
test_golden(void)
{
	size_t i;

	for (i = 0; golden[i]; i++) {
		char in[256], ex[256], name[128];
		char *buf, *want, *txt, *dump = NULL, *got;
		struct cfg_diags d = { 0 };
		struct policy *p = NULL;
		size_t len;

		snprintf(
		    in, sizeof(in), "tests/config/golden/%s.yaml", golden[i]);
		snprintf(ex, sizeof(ex), "tests/config/golden/%s.expected",
		    golden[i]);
		snprintf(name, sizeof(name), "%s.yaml", golden[i]);
		buf = cu_slurp(cu_srcpath(in), &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		policy_load_buffer(name, buf, len, &p, &d);
		txt = diags_text(&d);
		if (p)
			dump = policy_dump(p);
		if (asprintf(&got, "%s%s", txt, dump ? dump : "") < 0)
			got = NULL;
		CU_ASSERT_PTR_NOT_NULL_FATAL(got);
		if (getenv("GOLDEN_UPDATE")) {
			FILE *f = fopen(cu_srcpath(ex), "w");

			if (f) {
				fputs(got, f);
				fclose(f);
			}
		}
		want = cu_slurp(cu_srcpath(ex), NULL);
		CU_ASSERT_PTR_NOT_NULL(want);
		if (want && strcmp(want, got) != 0) {
			fprintf(stderr, "golden %s differs; got:\n%s\n",
			    golden[i], got);
			CU_FAIL(golden[i]);
		}
		/* a dump loads again and dumps identically */
		if (dump) {
			struct policy *p2 = NULL;
			struct cfg_diags d2 = { 0 };
			char *dump2;

			CU_ASSERT_EQUAL(policy_load_buffer("dump.yaml", dump,
			                    strlen(dump), &p2, &d2),
			    0);
			dump2 = policy_dump(p2);
			CU_ASSERT(dump2 && strcmp(dump, dump2) == 0);
			free(dump2);
			policy_free(p2);
			cfg_diags_free(&d2);
		}
		free(want);
		free(got);
		free(dump);
		free(txt);
		free(buf);
		policy_free(p);
		cfg_diags_free(&d);
	}
}

const struct cu_test golden_tests[] = {
	{ "golden", test_golden },
	{ NULL, NULL },
};
