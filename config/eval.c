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

/* Index of the first glob matching s, or -1. */
static int
globs_find(const struct globs *g, const char *s, int icase)
{
	size_t i, len = strlen(s);

	for (i = 0; i < g->n; i++)
		if (cfg_glob_test(&g->v[i], s, len, icase))
			return (int)i;
	return -1;
}

struct ectx {
	const struct request *q;
	int64_t now;
	policy_member_fn member;
	void *mctx;
	struct policy_trace *trace;
	const struct rule *r;
	int ri;
};

static void tr(struct ectx *e, enum cond_id id, int result, const char *fmt,
    ...) CFG_PRINTF(4, 5);

static void
tr(struct ectx *e, enum cond_id id, int result, const char *fmt, ...)
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
	t->v[t->n].cond = id == C_MAX ? "default" : cond_names[id];
	t->v[t->n].result = result;
	t->v[t->n].detail = d;
	t->n++;
}

static const char *
nz(const char *s)
{
	return s ? s : "(none)";
}

static int
scalar_cond(struct ectx *e, enum cond_id id, const struct globs *g,
    const char *val, const char *what, int icase)
{
	int k;

	if (val == NULL) {
		if (e->trace)
			tr(e, id, 0, "request has no %s", what);
		return 0;
	}
	k = globs_find(g, val, icase);
	if (e->trace) {
		if (k >= 0)
			tr(e, id, 1, "%s %s matches %s", what, val,
			    g->v[k].pat);
		else
			tr(e, id, 0, "%s %s matches none of %s", what, val,
			    e->r->canon[id]);
	}
	return k >= 0;
}

static int
item_cond(struct ectx *e, enum cond_id id, const struct req_list *l)
{
	const struct globs *g = &e->r->items[id - C_ACTIONS];
	int all = e->r->decide == VERDICT_APPROVE, k = -1;
	size_t i;

	if (l->n == 0) {
		if (e->trace)
			tr(e, id, 0, "request has no %s", cond_names[id]);
		return 0;
	}
	for (i = 0; i < l->n; i++) {
		k = globs_find(g, l->v[i], 0);
		if (all && k < 0) {
			if (e->trace)
				tr(e, id, 0,
				    "%s matches none of %s (approve rules need "
				    "every one of %zu item(s) covered)",
				    l->v[i], e->r->canon[id], l->n);
			return 0;
		}
		if (!all && k >= 0) {
			if (e->trace)
				tr(e, id, 1, "%s matches %s", l->v[i],
				    g->v[k].pat);
			return 1;
		}
	}
	if (e->trace) {
		if (all)
			tr(e, id, 1, "all %zu item(s) match %s", l->n,
			    e->r->canon[id]);
		else
			tr(e, id, 0, "none of %zu item(s) matches %s", l->n,
			    e->r->canon[id]);
	}
	return all;
}

static int
schedule_cond(struct ectx *e)
{
	const struct rule *r = e->r;
	int64_t local = e->now + cfg_tz_offset(r->tz, e->now);
	int64_t days = (local >= 0 ? local : local - 86399) / 86400;
	int wd = (int)(((days % 7) + 11) % 7);
	int mins = (int)((local - days * 86400) / 60);
	int in_hours, ok;

	if (r->start_min < r->end_min)
		in_hours = mins >= r->start_min && mins < r->end_min;
	else
		in_hours = mins >= r->start_min || mins < r->end_min;
	ok = in_hours && (r->weekdays & (1u << wd));
	if (e->trace) {
		static const char *const wdn[] = { "sun", "mon", "tue", "wed",
			"thu", "fri", "sat" };

		tr(e, C_SCHEDULE, ok, "local time %s %02d:%02d (%s) %s %s",
		    wdn[wd], mins / 60, mins % 60, r->tz_name,
		    ok ? "within" : "outside", r->canon[C_SCHEDULE]);
	}
	return ok;
}

static int
member_cond(struct ectx *e)
{
	const struct rule *r = e->r;
	int unknown = 0, m;
	size_t i;

	for (i = 0; i < r->nreq_in; i++) {
		m = e->member ? e->member(e->mctx, r->req_in[i], e->q) : -1;
		if (m == 1) {
			if (e->trace)
				tr(e, C_REQUESTOR_IN, 1,
				    "requestor is in approver set `%s`",
				    r->req_in[i]->name);
			return 1;
		}
		if (m != 0)
			unknown = 1;
	}
	if (e->trace)
		tr(e, C_REQUESTOR_IN, unknown ? -1 : 0,
		    unknown ? "membership in %s could not be determined"
		            : "requestor is in none of %s",
		    r->canon[C_REQUESTOR_IN]);
	return unknown ? -1 : 0;
}

static int
cond_eval(struct ectx *e, enum cond_id id)
{
	const struct rule *r = e->r;
	const struct request *q = e->q;
	int ok;

	switch (id) {
	case C_SOURCE:
		ok = (r->src_mask >> q->source) & 1;
		if (e->trace)
			tr(e, id, ok, "source %s %s %s",
			    req_source_name(q->source), ok ? "in" : "not in",
			    r->canon[id]);
		return ok;
	case C_CLOUD:
		ok = (r->cloud_mask >> q->cloud) & 1;
		if (e->trace)
			tr(e, id, ok, "cloud %s %s %s",
			    req_cloud_name(q->cloud), ok ? "in" : "not in",
			    r->canon[id]);
		return ok;
	case C_SYSTEM:
		return scalar_cond(e, id, &r->system, q->system_id,
		    "authorizationSystemId", 0);
	case C_REQUEST_ACTION:
		return scalar_cond(
		    e, id, &r->request_action, q->request_action, "action", 1);
	case C_ACCESS:
		ok = q->access != NULL &&
		     (((r->access_mask & 1) &&
		          strcasecmp(q->access, "member") == 0) ||
		         ((r->access_mask & 2) &&
		             strcasecmp(q->access, "owner") == 0));
		if (e->trace)
			tr(e, id, ok, "access %s %s %s", nz(q->access),
			    ok ? "in" : "not in", r->canon[id]);
		return ok;
	case C_GROUP:
		return scalar_cond(e, id, &r->group, q->group_id, "group", 1);
	case C_PACKAGE:
		return scalar_cond(
		    e, id, &r->package, q->package_id, "access package", 1);
	case C_REQUESTOR: {
		/* Resolved: only the resolved principals (the requestor, and
		 * the one who gains access when that is someone else).
		 * Unchecked (offline, no directory; the daemon never
		 * evaluates one): the body's fields, as before. */
		const struct req_principal *w = &q->who, *b = &q->beneficiary;
		const char *x = q->requestor_id, *y = q->requestor_upn;
		int a;

		if (q->identity != REQ_ID_UNCHECKED)
			x = w->id, y = w->upn;
		a = (x && globs_find(&r->requestor, x, 1) >= 0) ||
		    (y && globs_find(&r->requestor, y, 1) >= 0);
		if (q->identity != REQ_ID_UNCHECKED)
			a = a ||
			    (b->id &&
			        globs_find(&r->requestor, b->id, 1) >= 0) ||
			    (b->upn &&
			        globs_find(&r->requestor, b->upn, 1) >= 0);
		ok = a;
		if (e->trace)
			tr(e, id, ok, "requestor id %s / upn %s%s%s %s %s",
			    nz(x), nz(y), b->id ? " for " : "",
			    b->id ? (b->upn ? b->upn : b->id) : "",
			    ok ? "matches" : "matches none of", r->canon[id]);
		return ok;
	}
	case C_MAX_DURATION:
		ok = q->duration >= 0 && q->duration <= r->max_duration;
		if (e->trace) {
			char a[64];

			if (q->duration < 0)
				snprintf(a, sizeof(a), "unbounded/unknown");
			else
				cfg_format_duration(q->duration, a, sizeof(a));
			tr(e, id, ok, "duration %s %s %s", a,
			    ok ? "<=" : "exceeds", r->canon[id]);
		}
		return ok;
	case C_TICKET:
		ok = 1;
		if (r->ticket_system &&
		    (q->ticket_system == NULL ||
		        strcasecmp(q->ticket_system, r->ticket_system) != 0))
			ok = 0;
		if (ok && r->has_ticket_re &&
		    (q->ticket_number == NULL ||
		        regexec(&r->ticket_re, q->ticket_number, 0, NULL, 0) !=
		            0))
			ok = 0;
		if (e->trace)
			tr(e, id, ok, "ticket %s %s %s %s",
			    nz(q->ticket_system), nz(q->ticket_number),
			    ok ? "matches" : "does not match", r->canon[id]);
		return ok;
	case C_ACTIONS:
		return item_cond(e, id, &q->actions);
	case C_ROLES:
		return item_cond(e, id, &q->roles);
	case C_POLICIES:
		return item_cond(e, id, &q->policies);
	case C_RESOURCES:
		return item_cond(e, id, &q->resources);
	case C_JUSTIFICATION:
		ok = q->justification != NULL &&
		     strlen(q->justification) >= r->just_min &&
		     (!r->has_just_re || regexec(&r->just_re, q->justification,
		                             0, NULL, 0) == 0);
		if (e->trace)
			tr(e, id, ok, "justification \"%s\" %s %s",
			    nz(q->justification),
			    ok ? "matches" : "does not match", r->canon[id]);
		return ok;
	case C_SCHEDULE:
		return schedule_cond(e);
	case C_REQUESTOR_IN:
		return member_cond(e);
	case C_MAX:
		break;
	}
	return 0;
}

/* 1 match, 0 no match, -1 undecidable. */
static int
rule_eval(struct ectx *e)
{
	uint32_t conds = e->r->conds;
	int id, res = 1, v;

	for (id = 0; id < C_MAX; id++) {
		if (!(conds & (1u << id)))
			continue;
		v = cond_eval(e, (enum cond_id)id);
		if (v == 0) {
			res = 0;
			if (e->trace == NULL)
				return 0;
		} else if (v < 0 && res == 1) {
			res = -1;
		}
	}
	if (e->trace && conds == 0)
		tr(e, C_MAX, 1, "rule has no conditions");
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
	struct ectx e = { r, now, member, member_ctx, trace, NULL, -1 };
	size_t i, n;
	const uint32_t *idx = NULL;
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
		res = rule_eval(&e);
		if (res != 0) {
			set_verdict(out, e.r, (int)ri, res);
			return;
		}
	}
	e.r = &p->deflt;
	e.ri = -1;
	if (trace)
		tr(&e, C_MAX, 1, "no rule matched: default %s",
		    verdict_name(p->deflt.decide));
	set_verdict(out, &p->deflt, -1, 1);
}
