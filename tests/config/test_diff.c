/*
 * Differential test of the policy evaluator: random policies x random
 * requests (case variants, requested wildcards, identities, schedules,
 * unverified_identity modes) decided by policy_evaluate() and by a slow
 * reference written here from the rules in the README ("How matching
 * works"), independently of config/. Glob questions are answered by brute
 * force: every string up to DIFF_LEN over a three-letter alphabet.
 *
 * DIFF_CASES (environment) sets the number of cases; `make fuzz` runs more.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tests.h"

#define DIFF_LEN 7 /* patterns hold at most 3 symbols: see enum_strings */
#define NSTR     (1 + 3 + 9 + 27 + 81 + 243 + 729 + 2187)
#define NWORDS   ((NSTR + 63) / 64)

static char strs[NSTR][DIFF_LEN + 1];
static size_t nstrs;

/* Every string over {a, b, c} of length 0..DIFF_LEN; `c` stands for any
 * byte no pattern names. A pattern of k <= 3 symbols has, for any set of
 * such patterns, a separating witness no longer than the sum of their
 * literal counts plus one per `*`, well under DIFF_LEN. */
static void
enum_strings(void)
{
	size_t len, i, k, n = 1;

	nstrs = 0;
	for (len = 0; len <= DIFF_LEN; len++, n *= 3)
		for (i = 0; i < n; i++) {
			size_t v = i;

			for (k = 0; k < len; k++, v /= 3)
				strs[nstrs][k] = "abc"[v % 3];
			strs[nstrs][len] = '\0';
			nstrs++;
		}
}

static int
ref_match(const char *p, const char *s)
{
	if (*p == '\0')
		return *s == '\0';
	if (*p == '*')
		return ref_match(p + 1, s) || (*s && ref_match(p, s + 1));
	if (*s == '\0')
		return 0;
	if (*p == '?' || *p == *s)
		return ref_match(p + 1, s + 1);
	return 0;
}

struct bits {
	uint64_t w[NWORDS];
};

static void lang_compute(const char *pat, struct bits *b);

/* Patterns are 1..3 symbols of "abA*?": one cached language each. */
static struct bits cache[1 + 5 + 25 + 125 + 625];
static unsigned char cached[sizeof(cache) / sizeof(cache[0])];

static void
lang(const char *pat, struct bits *b)
{
	static const char alpha[] = "abA*?";
	size_t idx = 0, i;

	for (i = 0; pat[i]; i++)
		idx = idx * 5 + (size_t)(strchr(alpha, pat[i]) - alpha) + 1;
	if (i > 3 || idx >= sizeof(cache) / sizeof(cache[0])) {
		lang_compute(pat, b);
		return;
	}
	if (!cached[idx]) {
		lang_compute(pat, &cache[idx]);
		cached[idx] = 1;
	}
	*b = cache[idx];
}

static void
lang_compute(const char *pat, struct bits *b)
{
	char low[16];
	size_t i;

	for (i = 0; i < sizeof(low) - 1 && pat[i]; i++)
		low[i] = pat[i] == 'A' ? 'a' : pat[i]; /* AWS folds case */
	low[i] = '\0';
	memset(b, 0, sizeof(*b));
	for (i = 0; i < nstrs; i++)
		if (ref_match(low, strs[i]))
			b->w[i / 64] |= 1ull << (i % 64);
}

/* ---- random policy and request ---- */

enum { D_APPROVE, D_REJECT, D_STAGES, D_IGNORE };
static const char *const dnames[] = { "approve", "reject", "stages", "ignore" };
enum { ID_ALEX, ID_EVE, ID_UNVERIFIED, ID_UNCHECKED };
enum { S_1H, S_8H, S_UNBOUNDED, S_INVALID };
static const char *const scheds[] = {
	"{\"expiration\":{\"type\":\"afterDuration\",\"duration\":\"PT1H\"}}",
	"{\"expiration\":{\"type\":\"afterDuration\",\"duration\":\"PT8H\"}}",
	"{\"expiration\":{\"type\":\"noExpiration\"}}",
	"{\"expiration\":{\"type\":\"afterDuration\",\"duration\":\"PT0S\"}}",
};

struct rrule {
	int decide;
	size_t nglobs;
	char globs[3][8];
	int has_actions;
	int requestor; /* 0 none, 1 "*@contoso.com", 2 "*#EXT#*" */
	int max_dur;   /* 0 none, 1 PT4H */
};

struct rcase {
	size_t nrules;
	struct rrule r[4];
	int mode; /* 0 ignore, 1 reject, 2 evaluate */
	size_t nitems;
	char items[3][8];
	int id, sched;
};

static uint64_t rng;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void
rpat(char *out, unsigned minlen)
{
	static const char alpha[] = "abA*?";
	unsigned len = minlen + rnd(4 - minlen), i;

	for (i = 0; i < len; i++)
		out[i] = alpha[rnd(5)];
	out[len] = '\0';
}

static void
gen(struct rcase *c)
{
	size_t i, j;

	memset(c, 0, sizeof(*c));
	c->nrules = 1 + rnd(4);
	for (i = 0; i < c->nrules; i++) {
		struct rrule *r = &c->r[i];

		r->decide = (int)rnd(4);
		r->has_actions = rnd(4) != 0;
		r->nglobs = 1 + rnd(3);
		for (j = 0; j < r->nglobs; j++)
			rpat(r->globs[j], 1);
		r->requestor = (int)rnd(3);
		r->max_dur = (int)rnd(2);
	}
	c->mode = (int)rnd(3);
	c->nitems = 1 + rnd(3);
	for (i = 0; i < c->nitems; i++)
		rpat(c->items[i], 1);
	c->id = (int)rnd(4);
	c->sched = (int)rnd(4);
}

static char *
policy_text(const struct rcase *c)
{
	static const char *const modes[] = { "ignore", "reject", "evaluate" };
	static char buf[4096];
	size_t i, j, n = 0;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
	    "version: 1\nunverified_identity: %s\napprovers:\n"
	    "  s: { user: u-x }\nrules:\n",
	    modes[c->mode]);
	for (i = 0; i < c->nrules; i++) {
		const struct rrule *r = &c->r[i];

		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    "  - name: r%zu\n    decide: %s\n    when:\n      "
		    "cloud: aws\n",
		    i, dnames[r->decide]);
		if (r->has_actions) {
			n += (size_t)snprintf(
			    buf + n, sizeof(buf) - n, "      actions: [");
			for (j = 0; j < r->nglobs; j++)
				n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				    "%s\"a:%s\"", j ? ", " : "", r->globs[j]);
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "]\n");
		}
		if (r->requestor)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			    "      requestor: [\"%s\"]\n",
			    r->requestor == 1 ? "*@contoso.com" : "*#EXT#*");
		if (r->max_dur)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			    "      max_duration: PT4H\n");
		if (r->decide == D_STAGES)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			    "    stages: [{ name: one, approvers: [s], "
			    "deny_after: P1D }]\n");
	}
	snprintf(buf + n, sizeof(buf) - n, "default: ignore\n");
	return buf;
}

static char *
request_text(const struct rcase *c)
{
	static char buf[2048];
	size_t i, n = 0;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
	    "{\"requestedPermissions\":{\"@odata.type\":"
	    "\"microsoft.graph.awsPermissionsDefinition\","
	    "\"authorizationSystemInfo\":{\"authorizationSystemId\":\"1\"},"
	    "\"actionInfo\":{\"@odata.type\":\"microsoft.graph."
	    "awsActionsPermissionsDefinitionAction\",\"statements\":[{"
	    "\"actions\":[");
	for (i = 0; i < c->nitems; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"A:%s\"",
		    i ? "," : "", c->items[i]);
	snprintf(buf + n, sizeof(buf) - n,
	    "],\"resources\":[\"x\"]}]},\"identityInfo\":{\"externalId\":"
	    "\"someone\"}},\"scheduleInfo\":%s}",
	    scheds[c->sched]);
	return buf;
}

/* ---- the reference ---- */

static int
ref_subset(const char *item, const struct rrule *r)
{
	struct bits a, u, g;
	size_t i, k;

	lang(item, &a);
	memset(&u, 0, sizeof(u));
	for (i = 0; i < r->nglobs; i++) {
		lang(r->globs[i], &g);
		for (k = 0; k < NWORDS; k++)
			u.w[k] |= g.w[k];
	}
	for (k = 0; k < NWORDS; k++)
		if (a.w[k] & ~u.w[k])
			return 0;
	return 1;
}

static int
ref_overlap(const char *item, const struct rrule *r)
{
	struct bits a, g;
	size_t i, k;

	lang(item, &a);
	for (i = 0; i < r->nglobs; i++) {
		lang(r->globs[i], &g);
		for (k = 0; k < NWORDS; k++)
			if (a.w[k] & g.w[k])
				return 1;
	}
	return 0;
}

/* returns the rule index, -1 default, -2 unverified pseudo-rule; *v the
 * verdict name */
static int
ref_eval(const struct rcase *c, const char **v)
{
	int never = c->id == ID_UNVERIFIED || c->sched == S_INVALID;
	size_t i, j;

	if (c->id == ID_UNVERIFIED && c->mode != 2) {
		*v = c->mode == 1 ? "reject" : "ignore";
		return -2;
	}
	for (i = 0; i < c->nrules; i++) {
		const struct rrule *r = &c->r[i];
		int strict = r->decide == D_APPROVE, ok = 1;

		if (strict && never)
			continue;
		if (r->has_actions) {
			int any = 0, all = 1;

			for (j = 0; j < c->nitems; j++) {
				if (ref_overlap(c->items[j], r))
					any = 1;
				if (!ref_subset(c->items[j], r))
					all = 0;
			}
			ok = ok && (strict ? all : any);
		}
		if (r->requestor) {
			int m;

			if (c->id == ID_ALEX)
				m = r->requestor == 1;
			else if (c->id == ID_EVE) /* a guest UPN ends in the
						     tenant's domain */
				m = 1;
			else
				m = !strict; /* undecidable */
			ok = ok && m;
		}
		if (r->max_dur) {
			int m = c->sched == S_1H ||
			        (c->sched == S_INVALID && !strict);

			ok = ok && m;
		}
		if (ok) {
			*v = dnames[r->decide];
			return (int)i;
		}
	}
	*v = "ignore";
	return -1;
}

static void
set_identity(struct request *q, int id)
{
	struct req_principal alex = { "u-alex", "alex@contoso.com", NULL, 0,
		NULL };
	struct req_principal eve = { "u-eve",
		"eve_fabrikam.com#EXT#@contoso.com", "eve@contoso.com", 1,
		NULL };

	if (id == ID_ALEX)
		request_set_identity(q, REQ_ID_VERIFIED, &alex, NULL);
	else if (id == ID_EVE)
		request_set_identity(q, REQ_ID_VERIFIED, &eve, NULL);
	else if (id == ID_UNVERIFIED)
		request_set_identity(q, REQ_ID_UNVERIFIED, NULL, NULL);
}

static void
test_differential(void)
{
	const char *env = getenv("DIFF_CASES");
	unsigned long n = env ? strtoul(env, NULL, 10) : 100000, i;
	unsigned long bad = 0, approvals = 0;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	const char *seed_env = getenv("DIFF_SEED");

	if (seed_env != NULL)
		seed = strtoull(seed_env, NULL, 0);
	rng = seed;
	enum_strings();
	CU_ASSERT_EQUAL_FATAL(nstrs, NSTR);
	for (i = 0; i < n; i++) {
		struct rcase c;
		struct policy *p = NULL;
		struct cfg_diags d = { 0 };
		struct request q;
		struct verdict v;
		const char *pt, *rt, *want;
		char wrule[32];
		int ri;

		gen(&c);
		pt = policy_text(&c);
		if (policy_load_buffer("diff", pt, strlen(pt), &p, &d) != 0) {
			fprintf(stderr, "case %lu: policy did not load:\n%s", i,
			    pt);
			CU_FAIL("policy did not load");
			cfg_diags_free(&d);
			break;
		}
		cfg_diags_free(&d);
		rt = request_text(&c);
		if (request_from_json(
		        rt, strlen(rt), REQ_SRC_PERMISSIONS, &q, NULL) != 0) {
			CU_FAIL("request did not parse");
			policy_free(p);
			break;
		}
		set_identity(&q, c.id);
		policy_evaluate(p, &q, 0, NULL, NULL, &v, NULL);
		ri = ref_eval(&c, &want);
		if (ri == -2)
			snprintf(wrule, sizeof(wrule), "unverified_identity");
		else if (ri == -1)
			snprintf(wrule, sizeof(wrule), "default");
		else
			snprintf(wrule, sizeof(wrule), "r%d", ri);
		if (strcmp(verdict_name(v.kind), want) != 0 ||
		    strcmp(v.rule, wrule) != 0) {
			if (bad++ < 5)
				fprintf(stderr,
				    "case %lu (seed %#llx): got %s by %s, "
				    "reference %s by %s\n%s%s\n",
				    i, (unsigned long long)seed,
				    verdict_name(v.kind), v.rule, want, wrule,
				    pt, rt);
		}
		if (v.kind == VERDICT_APPROVE)
			approvals++;
		request_free(&q);
		policy_free(p);
	}
	printf("differential: %lu cases, %lu approvals, %lu mismatches "
	       "(seed %#llx)\n",
	    n, approvals, bad, (unsigned long long)seed);
	CU_ASSERT_EQUAL(bad, 0);
	/* the generator reaches approvals and non-approvals alike */
	CU_ASSERT(n < 1000 || (approvals > n / 50 && approvals < n));
}

const struct cu_test diff_tests[] = {
	{ "differential", test_differential },
	{ NULL, NULL },
};
