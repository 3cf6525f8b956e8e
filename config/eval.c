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

#include "cfg_glob.h"
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
	/* The rule approves: every condition must hold for every reading of
	 * the request (`strict`). Reject, stages and ignore rules match when a
	 * condition holds for some reading: an uncertain match never lets a
	 * request through to a later approve rule. */
	int strict;
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

#define EVAL_MAX_STARS    8   /* in one requested item, for approve rules */
#define EVAL_MAX_ITEM_LEN 512 /* bytes of one requested item, idem */

static int
has_wild(const char *s)
{
	return strpbrk(s, "*?") != NULL;
}

/*
 * Case, field by field, as the clouds compare (README "How matching
 * works"): AWS actions and policy ARNs, Azure operations and resource ids,
 * role ids, GUIDs, system ids, UPNs compare case-insensitively; GCP
 * permissions, GCP roles and resource names and AWS resource ARNs are
 * case-sensitive. Only an approve rule uses the case-sensitive reading:
 * a reject or stages rule folds case everywhere, since a miss there is the
 * dangerous error.
 */
static int
field_icase(const struct ectx *e, enum cond_id id)
{
	enum req_cloud cl = e->q->cloud;

	if (!e->strict)
		return 1;
	switch (id) {
	case C_ACTIONS:
	case C_ROLES:
		return cl != REQ_CLOUD_GCP;
	case C_RESOURCES:
		return cl == REQ_CLOUD_AZURE;
	default:
		return 1;
	}
}

/*
 * One requested value `s` (a pattern: a requestor may ask for `s3:De*`)
 * against the rule's globs. strict: L(s) inside the union of the globs;
 * otherwise: L(s) meets some glob. `hit` names the glob that decided (the
 * first overlapping one, or the first matching one on the literal path).
 * With `scope`, s also stands for its subtree `s/...`.
 */
static int
value_test(const struct ectx *e, const struct globs *g, const char *s,
    int icase, int scope, const char **hit)
{
	char buf[1100];
	size_t i, len = strlen(s);
	int k;

	*hit = NULL;
	if (!scope && !has_wild(s)) {
		/* a literal: plain matching is inclusion and overlap */
		if ((k = globs_find(g, s, icase)) >= 0)
			*hit = g->v[k].pat;
		return k >= 0;
	}
	if (scope) {
		while (len > 1 && s[len - 1] == '/')
			len--;
		if (len + 3 > sizeof(buf))
			return !e->strict; /* fail closed */
		memcpy(buf, s, len);
		buf[len] = '\0';
	}
	if (e->strict) {
		/* Inclusion costs grow with the stars of a requested item; no
		 * real action or scope needs many. Past the bound: not
		 * covered, so a hostile request cannot buy CPU time. */
		size_t stars = 0;
		const char *c;

		for (c = s; *c; c++)
			stars += *c == '*';
		if (stars > EVAL_MAX_STARS || len > EVAL_MAX_ITEM_LEN)
			return 0;
		if (!cfg_glob_subset(scope ? buf : s, g->pats, g->npats, icase))
			return 0;
		if (scope) {
			memcpy(buf + len, "/*", 3);
			if (!cfg_glob_subset(buf, g->pats, g->npats, icase))
				return 0;
		}
		*hit = g->npats ? g->pats[0] : NULL;
		for (i = 0; i < g->npats; i++)
			if (cfg_glob_overlap(
			        scope ? buf : s, g->pats[i], icase)) {
				*hit = g->pats[i];
				break;
			}
		return 1;
	}
	for (i = 0; i < g->npats; i++) {
		if (cfg_glob_overlap(scope ? buf : s, g->pats[i], icase)) {
			*hit = g->pats[i];
			return 1;
		}
	}
	if (scope) {
		memcpy(buf + len, "/*", 3);
		for (i = 0; i < g->npats; i++) {
			if (cfg_glob_overlap(buf, g->pats[i], icase)) {
				*hit = g->pats[i];
				return 1;
			}
		}
	}
	return 0;
}

static const char *
relation(const struct ectx *e, const char *s, const char *pat)
{
	if (pat != NULL && !has_wild(s) && !has_wild(pat) &&
	    strcasecmp(s, pat) == 0)
		return "equals";
	if (!has_wild(s))
		return "matches";
	return e->strict ? "is covered by" : "overlaps";
}

static int
scalar_cond(struct ectx *e, enum cond_id id, const struct globs *g,
    const char *val, const char *what)
{
	const char *hit;
	int ok;

	if (val == NULL) {
		if (e->trace)
			tr(e, id, 0, "request has no %s", what);
		return 0;
	}
	ok = value_test(e, g, val, field_icase(e, id), 0, &hit);
	if (e->trace) {
		if (ok)
			tr(e, id, 1, "%s %s %s %s", what, val,
			    relation(e, val, hit), nz(hit));
		else
			tr(e, id, 0, "%s %s %s %s", what, val,
			    e->strict && has_wild(val) ? "is not covered by"
			                               : "matches none of",
			    e->r->canon[id]);
	}
	return ok;
}

static int
item_cond(struct ectx *e, enum cond_id id, const struct req_list *l)
{
	const struct globs *g = &e->r->items[id - C_ACTIONS];
	int all = e->strict, icase = field_icase(e, id);
	int scope = id == C_RESOURCES;
	const char *hit = NULL;
	size_t i;
	int k;

	if (l->n == 0) {
		if (e->trace)
			tr(e, id, 0, "request has no %s", cond_names[id]);
		return 0;
	}
	for (i = 0; i < l->n; i++) {
		k = value_test(e, g, l->v[i], icase, scope, &hit);
		if (all && !k) {
			if (e->trace)
				tr(e, id, 0,
				    "%s %s %s (approve rules need every one of "
				    "%zu item(s) covered%s)",
				    l->v[i],
				    has_wild(l->v[i]) || scope
				        ? "is not covered by"
				        : "matches none of",
				    e->r->canon[id], l->n,
				    scope ? ", each scope with its subtree"
				          : "");
			return 0;
		}
		if (!all && k) {
			if (e->trace)
				tr(e, id, 1, "%s %s %s%s", l->v[i],
				    relation(e, l->v[i], hit), nz(hit),
				    scope ? " (a scope holds its subtree)"
				          : "");
			return 1;
		}
	}
	if (e->trace) {
		if (all)
			tr(e, id, 1, "all %zu item(s) covered by %s", l->n,
			    e->r->canon[id]);
		else
			tr(e, id, 0, "none of %zu item(s) overlaps %s", l->n,
			    e->r->canon[id]);
	}
	return all;
}

/* One resolved principal against the requestor globs; `strict` reads only
 * the directory's id and UPN, otherwise mail as well. */
static int
principal_match(
    const struct ectx *e, const struct req_principal *p, const char **hit)
{
	const char *v[3] = { p->id, p->upn, e->strict ? NULL : p->mail };
	size_t i;

	for (i = 0; i < 3; i++)
		if (v[i] != NULL &&
		    globs_find(&e->r->requestor, v[i], 1) >= 0) {
			*hit = v[i];
			return 1;
		}
	return 0;
}

/*
 * requestor: only the identity resolved from the directory counts, never
 * what the body says. The requestor and, where another person gains the
 * access, the beneficiary: an approve rule needs both to match, any other
 * rule matches on either. Unresolved (unchecked or unverified): the
 * condition cannot be decided, so it fails an approve rule and holds for
 * any other.
 */
static int
requestor_cond(struct ectx *e)
{
	const struct request *q = e->q;
	const char *h1 = NULL, *h2 = NULL;
	int a, b, two = q->beneficiary_key != NULL, ok;

	if (q->identity != REQ_ID_VERIFIED) {
		ok = !e->strict;
		if (e->trace)
			tr(e, C_REQUESTOR, ok,
			    "identity %s (%s): cannot be decided, %s",
			    req_identity_name(q->identity),
			    nz(q->requestor_key),
			    ok ? "counted as matching" : "never approved");
		return ok;
	}
	a = principal_match(e, &q->who, &h1);
	b = two && principal_match(e, &q->beneficiary, &h2);
	ok = e->strict ? a && (!two || b) : a || b;
	if (e->trace) {
		if (two)
			tr(e, C_REQUESTOR, ok,
			    "requestor %s %s, beneficiary %s %s %s",
			    nz(q->who.upn), a ? "matches" : "does not match",
			    nz(q->beneficiary.upn),
			    b ? "matches" : "does not match",
			    e->r->canon[C_REQUESTOR]);
		else
			tr(e, C_REQUESTOR, ok, "requestor %s (%s) %s %s",
			    nz(q->who.upn), nz(q->who.id),
			    ok ? "matches" : "matches none of",
			    ok ? h1 : e->r->canon[C_REQUESTOR]);
	}
	return ok;
}

/* Is instant t (UTC) inside the rule's weekly hours? Also the seconds
 * until that could next change (a local midnight or an hours boundary). */
static int
sched_at(const struct rule *r, int64_t t, int64_t *next, int *wdp, int *minp)
{
	int64_t local = t + cfg_tz_offset(r->tz, t);
	int64_t days = (local >= 0 ? local : local - 86399) / 86400;
	int wd = (int)(((days % 7) + 11) % 7);
	int64_t sec = local - days * 86400;
	int mins = (int)(sec / 60), in_hours;
	int64_t b[3] = { (int64_t)r->start_min * 60, (int64_t)r->end_min * 60,
		86400 };
	int i;

	if (r->start_min < r->end_min)
		in_hours = mins >= r->start_min && mins < r->end_min;
	else
		in_hours = mins >= r->start_min || mins < r->end_min;
	*next = 86400 - sec;
	for (i = 0; i < 3; i++)
		if (b[i] > sec && b[i] - sec < *next)
			*next = b[i] - sec;
	if (*next <= 0)
		*next = 60;
	if (wdp)
		*wdp = wd;
	if (minp)
		*minp = mins;
	return in_hours && (r->weekdays & (1u << wd));
}

/*
 * schedule: checked against the grant window [start, start + duration)
 * (start: the request's startDateTime, or now when none or past). An
 * approve rule needs the whole window inside the hours; any other rule
 * matches when some instant of it is. An unbounded window never fits an
 * approve rule; for other rules eight days of it are looked at, which sees
 * every weekday. Time-zone changes inside the window move a boundary by
 * at most the change.
 */
static int
schedule_cond(struct ectx *e)
{
	const struct rule *r = e->r;
	const struct request *q = e->q;
	int64_t a = q->start > e->now ? q->start : e->now, b, t, step;
	int wd, mins, in, ok, steps = 0;

	if (q->duration < 0 || q->sched_invalid)
		b = e->strict ? -1 : a + 8 * 86400;
	else
		b = a + (q->duration > 0 ? q->duration : 1);
	in = sched_at(r, a, &step, &wd, &mins);
	if (b < 0) {
		ok = 0;
	} else if (e->strict) {
		ok = in;
		for (t = a + step; ok && t < b && steps < 4000; steps++) {
			ok = sched_at(r, t, &step, NULL, NULL);
			t += step;
		}
		if (steps >= 4000)
			ok = 0;
	} else {
		ok = in;
		for (t = a + step; !ok && t < b && steps < 4000; steps++) {
			ok = sched_at(r, t, &step, NULL, NULL);
			t += step;
		}
		if (steps >= 4000)
			ok = 1;
	}
	if (e->trace) {
		static const char *const wdn[] = { "sun", "mon", "tue", "wed",
			"thu", "fri", "sat" };
		char d[64];

		if (b < 0)
			snprintf(d, sizeof(d), "unbounded");
		else
			cfg_format_duration(b - a, d, sizeof(d));
		tr(e, C_SCHEDULE, ok,
		    "grant window from %s %02d:%02d (%s) for %s: %s %s",
		    wdn[wd], mins / 60, mins % 60, r->tz_name, d,
		    ok ? (e->strict ? "within" : "meets")
		       : (e->strict ? "not within" : "outside"),
		    r->canon[C_SCHEDULE]);
	}
	return ok;
}

/* Membership of one principal in any of the rule's sets: 1, 0, -1. */
static int
member_any(struct ectx *e, const struct request *q, const char **set)
{
	const struct rule *r = e->r;
	int unknown = 0, m;
	size_t i;

	for (i = 0; i < r->nreq_in; i++) {
		m = e->member ? e->member(e->mctx, r->req_in[i], q) : -1;
		if (m == 1) {
			*set = r->req_in[i]->name;
			return 1;
		}
		if (m != 0)
			unknown = 1;
	}
	return unknown ? -1 : 0;
}

/*
 * requestor_in: the oracle is asked about the resolved requestor (and the
 * beneficiary, as a request whose `who` is the beneficiary). Unresolved
 * identity: undecidable, so it fails an approve rule and holds for others;
 * an oracle that cannot answer makes the verdict indeterminate (retried).
 */
static int
member_cond(struct ectx *e)
{
	const struct request *q = e->q;
	const char *set = NULL;
	int a, b = 1, ok;

	if (q->identity != REQ_ID_VERIFIED) {
		ok = !e->strict;
		if (e->trace)
			tr(e, C_REQUESTOR_IN, ok,
			    "identity %s: membership cannot be decided, %s",
			    req_identity_name(q->identity),
			    ok ? "counted as matching" : "never approved");
		return ok;
	}
	a = member_any(e, q, &set);
	if (q->beneficiary_key != NULL && q->beneficiary.id != NULL) {
		struct request alt = *q; /* shallow: only `who` differs */

		alt.who = q->beneficiary;
		b = member_any(e, &alt, &set);
	}
	if (e->strict)
		ok = a == 1 && b == 1 ? 1 : (a == 0 || b == 0) ? 0 : -1;
	else
		ok = a == 1 || (q->beneficiary_key && b == 1)       ? 1
		     : (a == -1 || (q->beneficiary_key && b == -1)) ? -1
		                                                    : 0;
	if (e->trace)
		tr(e, C_REQUESTOR_IN, ok,
		    ok == 1   ? "in approver set `%s`"
		    : ok == 0 ? "not in %s"
		              : "membership in %s could not be determined",
		    ok == 1 ? set : e->r->canon[C_REQUESTOR_IN]);
	return ok;
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
		return scalar_cond(
		    e, id, &r->system, q->system_id, "authorizationSystemId");
	case C_REQUEST_ACTION:
		return scalar_cond(
		    e, id, &r->request_action, q->request_action, "action");
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
		return scalar_cond(e, id, &r->group, q->group_id, "group");
	case C_PACKAGE:
		return scalar_cond(
		    e, id, &r->package, q->package_id, "access package");
	case C_REQUESTOR:
		return requestor_cond(e);
	case C_MAX_DURATION:
		/* the whole span asked for, recurrence included; an
		 * unreadable schedule holds only for a non-approve rule */
		if (q->sched_invalid)
			ok = !e->strict;
		else
			ok = q->duration >= 0 && q->duration <= r->max_duration;
		if (e->trace) {
			char a[64];

			if (q->sched_invalid)
				snprintf(a, sizeof(a), "invalid schedule");
			else if (q->duration < 0)
				snprintf(a, sizeof(a), "unbounded");
			else
				cfg_format_duration(q->duration, a, sizeof(a));
			tr(e, id, ok, "duration %s%s %s %s", a,
			    q->recurring ? " (whole recurrence)" : "",
			    ok ? "<=" : "exceeds", r->canon[id]);
		}
		return ok;
	case C_MAX_START_DELAY: {
		int64_t delay = q->start > e->now ? q->start - e->now : 0;

		ok = delay <= r->max_start_delay;
		if (e->trace) {
			char a[64];

			cfg_format_duration(delay, a, sizeof(a));
			tr(e, id, ok, "starts in %s, %s %s", a,
			    ok ? "within" : "beyond", r->canon[id]);
		}
		return ok;
	}
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
			tr(&e, C_MAX, 1, "%s (%s): unverified_identity: %s",
			    never,
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
				tr(&e, C_MAX, 0, "never approves: %s", never);
			continue;
		}
		res = rule_eval(&e);
		if (res != 0) {
			set_verdict(out, e.r, (int)ri, res);
			return;
		}
	}
	e.r = &p->deflt;
	e.ri = -1;
	e.strict = 0;
	if (trace)
		tr(&e, C_MAX, 1, "no rule matched: default %s",
		    verdict_name(p->deflt.decide));
	set_verdict(out, &p->deflt, -1, 1);
}
