/*
 * Policy evaluation: first matching rule wins. Without a trace the walk
 * uses the source x cloud index, short-circuits and never allocates; with a
 * trace it walks every rule and evaluates every condition so the explanation
 * is complete (the verdict is the same either way).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_int.h"

const char *
verdict_name(enum verdict_kind k)
{
	static const char *const names[VERDICT_MAX] = {
		[VERDICT_APPROVE] = "approve",
		[VERDICT_REJECT] = "reject",
		[VERDICT_IGNORE] = "ignore",
		[VERDICT_STAGES] = "stages",
		[VERDICT_INDETERMINATE] = "indeterminate",
	};
	return (unsigned)k < VERDICT_MAX ? names[k] : "unknown";
}

void
policy_trace_free(struct policy_trace *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		free(t->v[i].detail);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Classify a pattern so most matches avoid the general matcher. */
void
cfg_glob_compile(struct glob *g, const char *pat)
{
	size_t len = strlen(pat);
	const char *star = strchr(pat, '*');

	g->pat = pat;
	g->len = len;
	if (strchr(pat, '?') == NULL && star == NULL) {
		g->kind = GLOB_EXACT;
	} else if (strcmp(pat, "*") == 0) {
		g->kind = GLOB_ANY;
	} else if (strchr(pat, '?') == NULL && star == pat + len - 1) {
		g->kind = GLOB_PREFIX;
		g->len = len - 1;
	} else {
		g->kind = GLOB_GENERAL;
	}
}

static int
ceq(char a, char b, int icase)
{
	if (icase) {
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
	}
	return a == b;
}

/* `*` any run, `?` one character; no classes, no escapes, no '/' rules. */
int
cfg_glob_match(const char *pat, const char *s, int icase)
{
	const char *bp = NULL, *bs = NULL;

	while (*s) {
		if (*pat == '*') {
			bp = ++pat;
			bs = s;
		} else if (*pat == '?' || (*pat && ceq(*pat, *s, icase))) {
			pat++;
			s++;
		} else if (bp != NULL) {
			pat = bp;
			s = ++bs;
		} else {
			return 0;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

int
cfg_glob_test(const struct glob *g, const char *s, size_t slen, int icase)
{
	switch (g->kind) {
	case GLOB_ANY:
		return 1;
	case GLOB_EXACT:
		if (slen != g->len)
			return 0;
		return icase ? strcasecmp(g->pat, s) == 0
		             : memcmp(g->pat, s, slen) == 0;
	case GLOB_PREFIX:
		if (slen < g->len)
			return 0;
		return icase ? strncasecmp(g->pat, s, g->len) == 0
		             : memcmp(g->pat, s, g->len) == 0;
	case GLOB_GENERAL:
		return cfg_glob_match(g->pat, s, icase);
	}
	return 0;
}

void
cond_trace(struct ectx *e, enum cond_id id, int result, const char *fmt, ...)
{
	struct policy_trace *t = e->trace;
	struct trace_line *nv;
	va_list ap;
	char *d = NULL;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;

		if ((nv = realloc(t->v, cap * sizeof(*nv))) == NULL)
			return;
		t->v = nv;
		t->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&d, fmt, ap) < 0)
		d = NULL;
	va_end(ap);
	t->v[t->n].rule_index = e->ri;
	t->v[t->n].rule = e->r->name;
	t->v[t->n].cond = id == C_MAX ? "default" : cond_table[id].name;
	t->v[t->n].result = result;
	t->v[t->n].detail = d;
	t->n++;
}

/* Index of the lowest bit set in m (not 0). */
static int
lowest_bit(uint32_t m)
{
#if defined(__GNUC__)
	return __builtin_ctz(m);
#else
	int i = 0;

	while (!(m & 1)) {
		m >>= 1;
		i++;
	}
	return i;
#endif
}

/* 1 match, 0 no match, -1 undecidable; conditions in `skip` are known to
 * hold. Conditions are tested in enum order through their rows. */
static int
rule_eval(struct ectx *e, uint32_t skip)
{
	uint32_t conds = e->r->conds, m;
	int id, res = 1, v;

	for (m = conds & ~skip; m != 0; m &= m - 1) {
		id = lowest_bit(m);
		v = cond_table[id].eval(e, (enum cond_id)id);
		if (v == 0) {
			res = 0;
			if (e->trace == NULL)
				return 0;
		} else if (v < 0 && res == 1) {
			res = -1;
		}
	}
	if (e->trace && conds == 0)
		cond_trace(e, C_MAX, 1, "rule has no conditions");
	return res;
}

static void
set_verdict(struct verdict *out, const struct rule *r, int ri, int res)
{
	out->rule = r->name;
	out->rule_index = ri;
	if (res < 0) {
		out->kind = VERDICT_INDETERMINATE;
		out->reason = "a condition could not be decided "
		              "(membership lookup failed)";
		out->nstages = 0;
		out->stages = NULL;
		return;
	}
	out->kind = r->decide;
	out->reason = r->reason;
	out->nstages = r->nstages;
	out->stages = r->stages;
}

void
policy_evaluate(const struct policy *p, const struct request *r, int64_t now,
    policy_member_fn member, void *member_ctx, struct verdict *out,
    struct policy_trace *trace)
{
	struct ectx e = { r, now, member, member_ctx, trace, NULL, -1, 0 };
	size_t i, n;
	const uint32_t *idx = NULL;
	const char *never = NULL;
	int res;

	memset(out, 0, sizeof(*out));
	out->kind = VERDICT_INDETERMINATE;
	out->rule = "default";
	out->rule_index = -1;
	if (p == NULL || r == NULL || (unsigned)r->source >= REQ_SRC_MAX ||
	    (unsigned)r->cloud >= REQ_CLOUD_MAX) {
		out->reason = "invalid request or policy";
		return;
	}
	/* What no rule may approve, whatever it says. */
	if (r->identity == REQ_ID_UNVERIFIED)
		never = "identity unverified: the requestor could not be "
		        "resolved to exactly one directory user";
	else if (r->sched_invalid)
		never = "the schedule is inconsistent, unknown or zero";
	if (r->identity == REQ_ID_UNVERIFIED &&
	    p->unverified != UNVERIFIED_EVALUATE) {
		out->kind = p->unverified == UNVERIFIED_REJECT ? VERDICT_REJECT
		                                               : VERDICT_IGNORE;
		out->rule = "unverified_identity";
		out->reason = never;
		if (trace) {
			e.r = &p->deflt;
			cond_trace(&e, C_MAX, 1,
			    "%s (%s): unverified_identity: %s", never,
			    r->requestor_key ? r->requestor_key : "no key",
			    verdict_name(out->kind));
		}
		return;
	}
	if (trace == NULL) {
		idx = p->index[r->source][r->cloud];
		n = p->nindex[r->source][r->cloud];
	} else {
		n = p->nrules;
	}
	for (i = 0; i < n; i++) {
		size_t ri = idx ? idx[i] : i;

		e.r = &p->rules[ri];
		e.ri = (int)ri;
		e.strict = e.r->decide == VERDICT_APPROVE;
		if (never != NULL && e.strict) {
			if (trace)
				cond_trace(
				    &e, C_MAX, 0, "never approves: %s", never);
			continue;
		}
		/* the index holds only rules whose source and cloud
		 * conditions hold for this request */
		res = rule_eval(&e, idx ? COND_INDEXED : 0);
		if (res != 0) {
			set_verdict(out, e.r, (int)ri, res);
			return;
		}
	}
	e.r = &p->deflt;
	e.ri = -1;
	e.strict = 0;
	if (trace)
		cond_trace(&e, C_MAX, 1, "no rule matched: default %s",
		    verdict_name(p->deflt.decide));
	set_verdict(out, &p->deflt, -1, 1);
}
