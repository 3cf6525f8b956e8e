/*
 * Policy conditions: one row per `when` key in cond_table, with the kind's
 * compile, eval and dump functions and the data its shared functions read.
 * A new condition kind is a value of enum cond_id (policy_int.h), its row
 * and its three functions; the loader, the evaluator, the dump, shadow
 * detection and the manual's key list find it through the table.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg_glob.h"
#include "policy_int.h"

#define CLOUDS_ALL ((1u << REQ_CLOUD_MAX) - 1)

static const char *const srcs[] = { "permissions", "group", "access-package" };
static const char *const clouds[] = { "aws", "azure", "gcp" };
static const char *const accesses[] = { "member", "owner" };

static const char *const request_actions[] = {
	/* PIM for Groups */
	"adminAssign", "adminUpdate", "adminRemove", "selfActivate",
	"selfDeactivate", "adminExtend", "adminRenew", "selfExtend",
	"selfRenew",
	/* entitlement management requestType */
	"userAdd", "userUpdate", "userRemove", "adminAdd", "systemAdd",
	"systemUpdate", "systemRemove", "onBehalfAdd", "userExtend", "userRenew"
};

static const char *const weekday_names[] = { "sun", "mon", "tue", "wed", "thu",
	"fri", "sat" };

static const struct ykey ticket_keys[] = {
	{ "system", YT_STR },
	{ "pattern", YT_STR },
	{ NULL, YT_ANY },
};

static const struct ykey just_keys[] = {
	{ "pattern", YT_STR },
	{ "min_length", YT_INT },
	{ NULL, YT_ANY },
};

static const struct ykey sched_keys[] = {
	{ "weekdays", YT_SEQ },
	{ "hours", YT_STR },
	{ "timezone", YT_STR },
	{ NULL, YT_ANY },
};

/* ---- where a kind keeps its compiled form ---- */

static struct globs *
rule_globs(struct rule *r, enum cond_id id)
{
	return (struct globs *)((char *)r + cond_table[id].at);
}

static const struct globs *
rule_cglobs(const struct rule *r, enum cond_id id)
{
	return (const struct globs *)((const char *)r + cond_table[id].at);
}

static struct pick *
rule_pick(struct rule *r, enum cond_id id)
{
	return (struct pick *)((char *)r + cond_table[id].at);
}

static int64_t *
rule_dur(struct rule *r, enum cond_id id)
{
	return (int64_t *)((char *)r + cond_table[id].at);
}

static const char *
req_str(const struct request *q, enum cond_id id)
{
	return *(char *const *)((const char *)q + cond_table[id].field);
}

static const struct req_list *
req_list(const struct request *q, enum cond_id id)
{
	return (const struct req_list *)((const char *)q +
	                                  cond_table[id].field);
}

/* ---- compile helpers ---- */

/* Iterate a string-or-list node: returns the i-th scalar or NULL. */
static const struct ynode *
list_item(const struct ynode *n, size_t i)
{
	if (n->type == YN_SCALAR)
		return i == 0 ? n : NULL;
	return i < n->n ? n->v[i] : NULL;
}

static size_t
list_len(const struct ynode *n)
{
	return n->type == YN_SCALAR ? 1 : n->n;
}

static int
check_scalars(struct pctx *c, const struct ynode *k, const struct ynode *n)
{
	const struct ynode *it;
	size_t i;
	int bad = 0;

	if (list_len(n) == 0) {
		yerr(&c->y, n, "`%s` must not be an empty list", k->str);
		return -1;
	}
	if (list_len(n) > CFG_MAX_ITEMS) {
		yerr(&c->y, n, "`%s` has more than %d entries", k->str,
		    CFG_MAX_ITEMS);
		return -1;
	}
	for (i = 0; (it = list_item(n, i)) != NULL; i++)
		if (it->type != YN_SCALAR || it->str[0] == '\0') {
			yerr(&c->y, it,
			    "`%s` entries must be non-empty strings", k->str);
			bad = -1;
		}
	return bad;
}

static int
compile_regex(struct pctx *c, const struct ynode *n, regex_t *re)
{
	char msg[256];
	int e;

	if ((e = regcomp(re, n->str, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(e, re, msg, sizeof(msg));
		yerr(&c->y, n, "bad regular expression `%s`: %s", n->str, msg);
		return -1;
	}
	return 0;
}

static void
globs_free(struct globs *g)
{
	size_t i;

	if (g->v == NULL)
		return;
	for (i = 0; i < g->n; i++)
		free((char *)g->v[i].pat);
	free(g->v);
	/* pats[0..n) alias v[i].pat; the rest are owned */
	for (i = g->n; i < g->npats; i++)
		free((char *)g->pats[i]);
	free(g->pats);
}

/* Scopes are trees: a rule scope `G` also names its subtree `G/...`. A
 * trailing '/' is dropped so `/subscriptions/x/` and `/subscriptions/x`
 * are one scope. */
static int
globs_add_subtrees(struct globs *g)
{
	size_t i, n = g->n;

	for (i = 0; i < n; i++) {
		const char *p = g->pats[i];
		size_t len = strlen(p);
		char *q;

		if (len > 0 && p[len - 1] == '*')
			continue; /* `G*` already holds `G/...` */
		if ((q = malloc(len + 3)) == NULL)
			return -1;
		while (len > 1 && p[len - 1] == '/')
			len--;
		memcpy(q, p, len);
		memcpy(q + len, "/*", 3);
		g->pats[g->npats++] = q;
	}
	return 0;
}

/* ---- evaluation helpers ---- */

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

/*
 * Case, field by field, as the clouds compare (README "How matching
 * works"): AWS actions and policy ARNs, Azure operations and resource ids,
 * role ids, GUIDs, system ids, UPNs compare case-insensitively; GCP
 * permissions, GCP roles and resource names and AWS resource ARNs are
 * case-sensitive (the rows' `fold`). Only an approve rule uses the
 * case-sensitive reading: a reject or stages rule folds case everywhere,
 * since a miss there is the dangerous error.
 */
static int
field_icase(const struct ectx *e, enum cond_id id)
{
	if (!e->strict)
		return 1;
	return (cond_table[id].fold >> e->q->cloud) & 1;
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
	if (!has_wild(s) && !has_wild(pat) && pat != NULL &&
	    strcasecmp(s, pat) == 0)
		return "equals";
	if (!has_wild(s))
		return "matches";
	return e->strict ? "is covered by" : "overlaps";
}

/* ---- picks: source, cloud, access ---- */

/* Match names from the row's vocabulary into the rule's pick. */
static int
compile_pick(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *n, struct rule *r)
{
	const struct cond_kind *ck = &cond_table[id];
	struct pick *p = rule_pick(r, id);
	const struct ynode *it;
	size_t i, j;
	int rc = 0;

	if (check_scalars(c, k, n) < 0)
		return -1;
	if ((p->v = calloc(list_len(n), sizeof(*p->v))) == NULL) {
		yerr(&c->y, n, "out of memory");
		return -1;
	}
	for (i = 0; (it = list_item(n, i)) != NULL; i++) {
		for (j = 0; j < ck->nvocab; j++)
			if (strcmp(ck->vocab[j], it->str) == 0)
				break;
		if (j == ck->nvocab) {
			const char *s = ysuggest(it->str, ck->vocab, ck->nvocab);

			if (s)
				yerr(&c->y, it,
				    "unknown %s `%s`; did you mean `%s`?",
				    k->str, it->str, s);
			else
				yerr(&c->y, it, "unknown %s `%s`", k->str,
				    it->str);
			rc = -1;
			continue;
		}
		p->mask |= 1u << (ck->pick_base + j);
		p->v[p->n++] = (uint8_t)j;
	}
	return rc;
}

static void
dump_pick(struct sbuf *b, const struct rule *r, enum cond_id id)
{
	const struct cond_kind *ck = &cond_table[id];
	const struct pick *p =
	    (const struct pick *)((const char *)r + ck->at);
	size_t i;

	sb_add(b, "[");
	for (i = 0; i < p->n; i++) {
		if (i)
			sb_add(b, ", ");
		sb_yaml_str(b, ck->vocab[p->v[i]]);
	}
	sb_add(b, "]");
}

static int
eval_source(struct ectx *e, enum cond_id id)
{
	int ok = (e->r->source.mask >> e->q->source) & 1;

	if (e->trace)
		cond_trace(e, id, ok, "source %s %s %s",
		    req_source_name(e->q->source), ok ? "in" : "not in",
		    e->r->canon[id]);
	return ok;
}

static int
eval_cloud(struct ectx *e, enum cond_id id)
{
	int ok = (e->r->cloud.mask >> e->q->cloud) & 1;

	if (e->trace)
		cond_trace(e, id, ok, "cloud %s %s %s",
		    req_cloud_name(e->q->cloud), ok ? "in" : "not in",
		    e->r->canon[id]);
	return ok;
}

static int
eval_access(struct ectx *e, enum cond_id id)
{
	const char *access = e->q->access;
	unsigned mask = e->r->access.mask;
	int ok;

	ok = access != NULL &&
	     (((mask & 1) && strcasecmp(access, "member") == 0) ||
	         ((mask & 2) && strcasecmp(access, "owner") == 0));
	if (e->trace)
		cond_trace(e, id, ok, "access %s %s %s", nz(access),
		    ok ? "in" : "not in", e->r->canon[id]);
	return ok;
}

/* ---- glob lists: system, request_action, group, package, requestor,
 * actions, roles, policies, resources ---- */

static int
compile_globs(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *n, struct rule *r)
{
	struct globs *g = rule_globs(r, id);
	const struct ynode *it;
	size_t i;

	if (check_scalars(c, k, n) < 0)
		return -1;
	g->n = list_len(n);
	if ((g->v = calloc(g->n, sizeof(*g->v))) == NULL) {
		yerr(&c->y, n, "out of memory");
		return -1;
	}
	for (i = 0; (it = list_item(n, i)) != NULL; i++) {
		char *pat = strdup(it->str);

		if (pat == NULL) {
			g->n = i;
			return -1;
		}
		cfg_glob_compile(&g->v[i], pat);
	}
	if ((g->pats = calloc(2 * g->n, sizeof(*g->pats))) == NULL) {
		yerr(&c->y, n, "out of memory");
		return -1;
	}
	for (i = 0; i < g->n; i++)
		g->pats[i] = g->v[i].pat;
	g->npats = g->n;
	if (cond_table[id].scope && globs_add_subtrees(g) < 0) {
		yerr(&c->y, n, "out of memory");
		return -1;
	}
	return 0;
}

/* The rule's patterns as written: ["a", b]. */
static void
dump_globs(struct sbuf *b, const struct rule *r, enum cond_id id)
{
	const struct globs *g = rule_cglobs(r, id);
	size_t i;

	sb_add(b, "[");
	for (i = 0; i < g->n; i++) {
		if (i)
			sb_add(b, ", ");
		sb_yaml_str(b, g->v[i].pat);
	}
	sb_add(b, "]");
}

/* request_action: the names Graph uses, checked before they become
 * globs. */
static int
compile_request_action(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *v, struct rule *r)
{
	const struct ynode *x;
	const char *sug;
	size_t i;

	if (check_scalars(c, k, v) < 0)
		return -1;
	for (i = 0; (x = list_item(v, i)) != NULL; i++) {
		size_t j, n = sizeof(request_actions) /
		              sizeof(request_actions[0]);

		for (j = 0; j < n; j++)
			if (strcmp(request_actions[j], x->str) == 0)
				break;
		if (j < n)
			continue;
		sug = ysuggest(x->str, request_actions, n);
		if (sug)
			yerr(&c->y, x,
			    "unknown request_action `%s`; did you mean "
			    "`%s`?",
			    x->str, sug);
		else
			yerr(&c->y, x, "unknown request_action `%s`", x->str);
		return -1;
	}
	return compile_globs(c, id, k, v, r);
}

/* One string field of the request (the row's `field`) against the globs. */
static int
eval_scalar(struct ectx *e, enum cond_id id)
{
	const struct globs *g = rule_cglobs(e->r, id);
	const char *val = req_str(e->q, id), *what = cond_table[id].what;
	const char *hit;
	int ok;

	if (val == NULL) {
		if (e->trace)
			cond_trace(e, id, 0, "request has no %s", what);
		return 0;
	}
	ok = value_test(e, g, val, field_icase(e, id), 0, &hit);
	if (e->trace) {
		if (ok)
			cond_trace(e, id, 1, "%s %s %s %s", what, val,
			    relation(e, val, hit), nz(hit));
		else
			cond_trace(e, id, 0, "%s %s %s %s", what, val,
			    e->strict && has_wild(val) ? "is not covered by"
			                               : "matches none of",
			    e->r->canon[id]);
	}
	return ok;
}

/* The requested items (the row's `field`, a list) against the globs. */
static int
eval_items(struct ectx *e, enum cond_id id)
{
	const struct globs *g = rule_cglobs(e->r, id);
	const struct req_list *l = req_list(e->q, id);
	int all = e->strict, icase = field_icase(e, id);
	int scope = cond_table[id].scope;
	const char *hit = NULL;
	size_t i;
	int k;

	if (l->n == 0) {
		if (e->trace)
			cond_trace(
			    e, id, 0, "request has no %s", cond_table[id].name);
		return 0;
	}
	for (i = 0; i < l->n; i++) {
		k = value_test(e, g, l->v[i], icase, scope, &hit);
		if (all && !k) {
			if (e->trace)
				cond_trace(e, id, 0,
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
				cond_trace(e, id, 1, "%s %s %s%s", l->v[i],
				    relation(e, l->v[i], hit), nz(hit),
				    scope ? " (a scope holds its subtree)"
				          : "");
			return 1;
		}
	}
	if (e->trace) {
		if (all)
			cond_trace(e, id, 1, "all %zu item(s) covered by %s",
			    l->n, e->r->canon[id]);
		else
			cond_trace(e, id, 0, "none of %zu item(s) overlaps %s",
			    l->n, e->r->canon[id]);
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
	int k;

	for (i = 0; i < 3; i++)
		if (v[i] != NULL &&
		    (k = globs_find(&e->r->requestor, v[i], 1)) >= 0) {
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
eval_requestor(struct ectx *e, enum cond_id id)
{
	const struct request *q = e->q;
	const char *h1 = NULL, *h2 = NULL;
	int a, b, two = q->beneficiary_key != NULL, ok;

	if (q->identity != REQ_ID_VERIFIED) {
		ok = !e->strict;
		if (e->trace)
			cond_trace(e, id, ok,
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
			cond_trace(e, id, ok,
			    "requestor %s %s, beneficiary %s %s %s",
			    nz(q->who.upn), a ? "matches" : "does not match",
			    nz(q->beneficiary.upn),
			    b ? "matches" : "does not match", e->r->canon[id]);
		else
			cond_trace(e, id, ok, "requestor %s (%s) %s %s",
			    nz(q->who.upn), nz(q->who.id),
			    ok ? "matches" : "matches none of",
			    ok ? h1 : e->r->canon[id]);
	}
	return ok;
}

/* ---- durations: max_duration, max_start_delay ---- */

static int
compile_dur(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *v, struct rule *r)
{
	(void)k;
	return yget_dur(&c->y, v, rule_dur(r, id));
}

static void
dump_dur(struct sbuf *b, const struct rule *r, enum cond_id id)
{
	char dur[64];

	cfg_format_duration(
	    *(const int64_t *)((const char *)r + cond_table[id].at), dur,
	    sizeof(dur));
	sb_add(b, dur);
}

/* The whole span asked for, recurrence included; an unreadable schedule
 * holds only for a non-approve rule. */
static int
eval_max_duration(struct ectx *e, enum cond_id id)
{
	const struct request *q = e->q;
	int ok;

	if (q->sched_invalid)
		ok = !e->strict;
	else
		ok = q->duration >= 0 && q->duration <= e->r->max_duration;
	if (e->trace) {
		char a[64];

		if (q->sched_invalid)
			snprintf(a, sizeof(a), "invalid schedule");
		else if (q->duration < 0)
			snprintf(a, sizeof(a), "unbounded");
		else
			cfg_format_duration(q->duration, a, sizeof(a));
		cond_trace(e, id, ok, "duration %s%s %s %s", a,
		    q->recurring ? " (whole recurrence)" : "",
		    ok ? "<=" : "exceeds", e->r->canon[id]);
	}
	return ok;
}

static int
eval_max_start_delay(struct ectx *e, enum cond_id id)
{
	const struct request *q = e->q;
	int64_t delay = q->start > e->now ? q->start - e->now : 0;
	int ok = delay <= e->r->max_start_delay;

	if (e->trace) {
		char a[64];

		cfg_format_duration(delay, a, sizeof(a));
		cond_trace(e, id, ok, "starts in %s, %s %s", a,
		    ok ? "within" : "beyond", e->r->canon[id]);
	}
	return ok;
}

/* ---- ticket ---- */

static int
compile_ticket(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *v, struct rule *r)
{
	const struct ynode *x;

	(void)k;
	if (ycheck_map(&c->y, v, cond_table[id].keys))
		return -1;
	if (v->n == 0) {
		yerr(&c->y, v, "ticket needs `system` or `pattern`");
		return -1;
	}
	if ((x = ymap_get(v, "system")) != NULL)
		r->ticket_system = strdup(x->str);
	if ((x = ymap_get(v, "pattern")) != NULL) {
		if (compile_regex(c, x, &r->ticket_re) < 0)
			return -1;
		/* `INC[0-9]+` also matches "xINC1;rm"; the author almost
		 * always meant the whole number. */
		if (x->str[0] != '^' || x->str[strlen(x->str) - 1] != '$' ||
		    (strlen(x->str) > 1 &&
		        x->str[strlen(x->str) - 2] == '\\'))
			ywarn(&c->y, x,
			    "ticket pattern `%s` is not anchored: it matches "
			    "any ticket number containing it; write ^...$",
			    x->str);
		r->has_ticket_re = 1;
		r->ticket_pattern = strdup(x->str);
	}
	return 0;
}

static void
dump_ticket(struct sbuf *b, const struct rule *r, enum cond_id id)
{
	(void)id;
	sb_add(b, "{ ");
	if (r->ticket_system != NULL) {
		sb_add(b, "system: ");
		sb_yaml_str(b, r->ticket_system);
	}
	if (r->ticket_pattern != NULL) {
		sb_add(b, r->ticket_system ? ", pattern: " : "pattern: ");
		sb_yaml_str(b, r->ticket_pattern);
	}
	sb_add(b, " }");
}

static int
eval_ticket(struct ectx *e, enum cond_id id)
{
	const struct rule *r = e->r;
	const struct request *q = e->q;
	int ok = 1;

	if (r->ticket_system &&
	    (q->ticket_system == NULL ||
	        strcasecmp(q->ticket_system, r->ticket_system) != 0))
		ok = 0;
	if (ok && r->has_ticket_re &&
	    (q->ticket_number == NULL ||
	        regexec(&r->ticket_re, q->ticket_number, 0, NULL, 0) != 0))
		ok = 0;
	if (e->trace)
		cond_trace(e, id, ok, "ticket %s %s %s %s",
		    nz(q->ticket_system), nz(q->ticket_number),
		    ok ? "matches" : "does not match", r->canon[id]);
	return ok;
}

/* ---- justification ---- */

static int
compile_justification(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *v, struct rule *r)
{
	const struct ynode *x = v;
	long long ll;

	(void)k;
	if (v->type == YN_MAP) {
		if (ycheck_map(&c->y, v, cond_table[id].keys))
			return -1;
		if (v->n == 0) {
			yerr(&c->y, v,
			    "justification needs `pattern` or `min_length`");
			return -1;
		}
		x = ymap_get(v, "pattern");
		if (ymap_get(v, "min_length")) {
			if (yget_int(&c->y, ymap_get(v, "min_length"), 0,
			        100000, &ll) < 0)
				return -1;
			r->just_min = (size_t)ll;
		}
	}
	if (x != NULL) {
		if (compile_regex(c, x, &r->just_re) < 0)
			return -1;
		r->has_just_re = 1;
		r->just_pattern = strdup(x->str);
	}
	return 0;
}

static void
dump_justification(struct sbuf *b, const struct rule *r, enum cond_id id)
{
	(void)id;
	sb_add(b, "{ ");
	if (r->just_pattern) {
		sb_add(b, "pattern: ");
		sb_yaml_str(b, r->just_pattern);
		sb_add(b, ", ");
	}
	sb_printf(b, "min_length: %zu }", r->just_min);
}

static int
eval_justification(struct ectx *e, enum cond_id id)
{
	const struct rule *r = e->r;
	const char *j = e->q->justification;
	int ok;

	ok = j != NULL && strlen(j) >= r->just_min &&
	     (!r->has_just_re || regexec(&r->just_re, j, 0, NULL, 0) == 0);
	if (e->trace)
		cond_trace(e, id, ok, "justification \"%s\" %s %s", nz(j),
		    ok ? "matches" : "does not match", r->canon[id]);
	return ok;
}

/* ---- schedule ---- */

static int
parse_hhmm(const char *s, int *out)
{
	if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
	        s[2] == ':' && s[3] >= '0' && s[3] <= '5' && s[4] >= '0' &&
	        s[4] <= '9'))
		return -1;
	*out = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 +
	       (s[4] - '0');
	return *out > 24 * 60 ? -1 : 0;
}

/* The policy's loaded zone named by n, loading it on first use. */
static const struct cfg_tz *
policy_zone(struct pctx *c, const struct ynode *n)
{
	struct cfg_tz *tz, **nz;
	char **nn;
	const char *err;
	size_t i;

	for (i = 0; i < c->p->nzones; i++)
		if (strcmp(c->p->zone_names[i], n->str) == 0)
			return c->p->zones[i];
	if ((tz = cfg_tz_load(n->str, &err)) == NULL) {
		yerr(&c->y, n, "%s `%s`", err, n->str);
		return NULL;
	}
	nz = realloc(c->p->zones, (c->p->nzones + 1) * sizeof(*nz));
	if (nz == NULL) {
		cfg_tz_free(tz);
		return NULL;
	}
	c->p->zones = nz;
	nn = realloc(c->p->zone_names, (c->p->nzones + 1) * sizeof(*nn));
	if (nn == NULL) {
		cfg_tz_free(tz);
		return NULL;
	}
	c->p->zone_names = nn;
	c->p->zones[c->p->nzones] = tz;
	c->p->zone_names[c->p->nzones++] = strdup(n->str);
	return tz;
}

static int
compile_schedule(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *n, struct rule *r)
{
	const struct ynode *v, *it;
	size_t i;
	int errs = 0, d;

	(void)k;
	if (ycheck_map(&c->y, n, cond_table[id].keys))
		return -1;
	r->weekdays = 0x7f;
	r->start_min = 0;
	r->end_min = 24 * 60;
	if ((v = ymap_get(n, "weekdays")) != NULL) {
		r->weekdays = 0;
		if (v->n == 0) {
			yerr(&c->y, v, "`weekdays` must not be empty");
			errs++;
		}
		for (i = 0; i < v->n; i++) {
			it = v->v[i];
			for (d = 0; d < 7; d++)
				if (it->type == YN_SCALAR &&
				    strcasecmp(it->str, weekday_names[d]) == 0)
					break;
			if (d == 7) {
				yerr(&c->y, it,
				    "bad weekday (use mon, tue, wed, thu, fri, "
				    "sat, sun)");
				errs++;
				continue;
			}
			r->weekdays |= (uint8_t)(1u << d);
		}
	}
	if ((v = ymap_get(n, "hours")) != NULL) {
		if (strlen(v->str) != 11 || v->str[5] != '-' ||
		    parse_hhmm(v->str, &r->start_min) < 0 ||
		    parse_hhmm(v->str + 6, &r->end_min) < 0 ||
		    r->start_min == r->end_min || r->start_min >= 24 * 60) {
			yerr(&c->y, v, "bad hours `%s` (expected HH:MM-HH:MM)",
			    v->str);
			errs++;
		}
	}
	if ((v = ymap_get(n, "timezone")) == NULL) {
		yerr(&c->y, n,
		    "schedule needs a `timezone` (IANA name, e.g. "
		    "Europe/Paris or UTC)");
		errs++;
	} else {
		r->tz_name = strdup(v->str);
		if ((r->tz = policy_zone(c, v)) == NULL)
			errs++;
	}
	return errs ? -1 : 0;
}

/* Weekdays from Monday, hours, zone. */
static void
dump_schedule(struct sbuf *b, const struct rule *r, enum cond_id id)
{
	size_t i;
	int d;

	(void)id;
	sb_add(b, "{ weekdays: [");
	for (d = 0, i = 0; d < 7; d++)
		if (r->weekdays & (1u << ((d + 1) % 7)))
			sb_printf(b, "%s%s", i++ ? ", " : "",
			    weekday_names[(d + 1) % 7]);
	sb_printf(b,
	    "], hours: \"%02d:%02d-%02d:%02d\", timezone: ", r->start_min / 60,
	    r->start_min % 60, r->end_min / 60, r->end_min % 60);
	sb_yaml_str(b, r->tz_name);
	sb_add(b, " }");
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
eval_schedule(struct ectx *e, enum cond_id id)
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
		char d[64];

		if (b < 0)
			snprintf(d, sizeof(d), "unbounded");
		else
			cfg_format_duration(b - a, d, sizeof(d));
		cond_trace(e, id, ok,
		    "grant window from %s %02d:%02d (%s) for %s: %s %s",
		    weekday_names[wd], mins / 60, mins % 60, r->tz_name, d,
		    ok ? (e->strict ? "within" : "meets")
		       : (e->strict ? "not within" : "outside"),
		    r->canon[id]);
	}
	return ok;
}

/* ---- requestor_in ---- */

static int
compile_requestor_in(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *v, struct rule *r)
{
	const struct ynode *x;
	size_t i;

	(void)id;
	if (check_scalars(c, k, v) < 0)
		return -1;
	r->req_in = calloc(list_len(v), sizeof(*r->req_in));
	if (r->req_in == NULL)
		return -1;
	for (i = 0; (x = list_item(v, i)) != NULL; i++)
		if ((r->req_in[r->nreq_in] = policy_resolve_set(c, x)) != NULL)
			r->nreq_in++;
		else
			return -1;
	return 0;
}

static void
dump_requestor_in(struct sbuf *b, const struct rule *r, enum cond_id id)
{
	size_t i;

	(void)id;
	sb_add(b, "[");
	for (i = 0; i < r->nreq_in; i++) {
		if (i)
			sb_add(b, ", ");
		sb_yaml_str(b, r->req_in[i]->name);
	}
	sb_add(b, "]");
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
eval_requestor_in(struct ectx *e, enum cond_id id)
{
	const struct request *q = e->q;
	const char *set = NULL;
	int a, b = 1, ok;

	if (q->identity != REQ_ID_VERIFIED) {
		ok = !e->strict;
		if (e->trace)
			cond_trace(e, id, ok,
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
		cond_trace(e, id, ok,
		    ok == 1   ? "in approver set `%s`"
		    : ok == 0 ? "not in %s"
		              : "membership in %s could not be determined",
		    ok == 1 ? set : e->r->canon[id]);
	return ok;
}

/* ---- the table ---- */

#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#define RULE(f)   offsetof(struct rule, f)
#define REQ(f)    offsetof(struct request, f)

const struct cond_kind cond_table[] = {
	[C_SOURCE] = { "source", YT_STR_OR_SEQ, compile_pick, eval_source,
	    dump_pick, .data = COND_PICK, .at = RULE(source),
	    .vocab = srcs, .nvocab = nitems(srcs) },
	/* bit 0 of the mask is REQ_CLOUD_NONE, which no rule names */
	[C_CLOUD] = { "cloud", YT_STR_OR_SEQ, compile_pick, eval_cloud,
	    dump_pick, .data = COND_PICK, .at = RULE(cloud),
	    .vocab = clouds, .nvocab = nitems(clouds), .pick_base = 1,
	    .only_src = 1u << REQ_SRC_PERMISSIONS },
	[C_SYSTEM] = { "system", YT_STR_OR_SEQ, compile_globs, eval_scalar,
	    dump_globs, .data = COND_GLOBS, .at = RULE(system),
	    .field = REQ(system_id), .what = "authorizationSystemId",
	    .fold = CLOUDS_ALL },
	[C_REQUEST_ACTION] = { "request_action", YT_STR_OR_SEQ,
	    compile_request_action, eval_scalar, dump_globs,
	    .data = COND_GLOBS, .at = RULE(request_action),
	    .field = REQ(request_action), .what = "action",
	    .fold = CLOUDS_ALL },
	[C_ACCESS] = { "access", YT_STR_OR_SEQ, compile_pick, eval_access,
	    dump_pick, .data = COND_PICK, .at = RULE(access),
	    .vocab = accesses, .nvocab = nitems(accesses) },
	[C_GROUP] = { "group", YT_STR_OR_SEQ, compile_globs, eval_scalar,
	    dump_globs, .data = COND_GLOBS, .at = RULE(group),
	    .field = REQ(group_id), .what = "group", .fold = CLOUDS_ALL },
	[C_PACKAGE] = { "package", YT_STR_OR_SEQ, compile_globs, eval_scalar,
	    dump_globs, .data = COND_GLOBS, .at = RULE(package),
	    .field = REQ(package_id), .what = "access package",
	    .fold = CLOUDS_ALL, .only_src = 1u << REQ_SRC_ACCESS_PACKAGE },
	[C_REQUESTOR] = { "requestor", YT_STR_OR_SEQ, compile_globs,
	    eval_requestor, dump_globs, .data = COND_GLOBS,
	    .at = RULE(requestor) },
	[C_MAX_DURATION] = { "max_duration", YT_DUR, compile_dur,
	    eval_max_duration, dump_dur, .data = COND_DURATION,
	    .at = RULE(max_duration) },
	[C_MAX_START_DELAY] = { "max_start_delay", YT_DUR, compile_dur,
	    eval_max_start_delay, dump_dur, .data = COND_DURATION,
	    .at = RULE(max_start_delay) },
	[C_TICKET] = { "ticket", YT_MAP, compile_ticket, eval_ticket,
	    dump_ticket, .keys = ticket_keys },
	[C_ACTIONS] = { "actions", YT_STR_OR_SEQ, compile_globs, eval_items,
	    dump_globs, .data = COND_GLOBS, .at = RULE(actions),
	    .field = REQ(actions),
	    .fold = CLOUDS_ALL & ~(1u << REQ_CLOUD_GCP) },
	[C_ROLES] = { "roles", YT_STR_OR_SEQ, compile_globs, eval_items,
	    dump_globs, .data = COND_GLOBS, .at = RULE(roles),
	    .field = REQ(roles), .fold = CLOUDS_ALL & ~(1u << REQ_CLOUD_GCP) },
	[C_POLICIES] = { "policies", YT_STR_OR_SEQ, compile_globs, eval_items,
	    dump_globs, .data = COND_GLOBS, .at = RULE(policies),
	    .field = REQ(policies), .fold = CLOUDS_ALL },
	[C_RESOURCES] = { "resources", YT_STR_OR_SEQ, compile_globs,
	    eval_items, dump_globs, .data = COND_GLOBS, .at = RULE(resources),
	    .field = REQ(resources), .fold = 1u << REQ_CLOUD_AZURE,
	    .scope = 1 },
	[C_JUSTIFICATION] = { "justification", YT_STR_OR_MAP,
	    compile_justification, eval_justification, dump_justification,
	    .keys = just_keys },
	[C_SCHEDULE] = { "schedule", YT_MAP, compile_schedule, eval_schedule,
	    dump_schedule, .keys = sched_keys },
	[C_REQUESTOR_IN] = { "requestor_in", YT_STR_OR_SEQ,
	    compile_requestor_in, eval_requestor_in, dump_requestor_in },
};

/* A row left out at the end shortens the table; one left out in between
 * has a NULL name (the table test walks every row). */
_Static_assert(sizeof(cond_table) / sizeof(cond_table[0]) == C_MAX,
    "cond_table needs a row for every enum cond_id");

const size_t cond_table_len = sizeof(cond_table) / sizeof(cond_table[0]);

enum cond_id
cond_lookup(const char *name)
{
	int id;

	for (id = 0; id < C_MAX; id++)
		if (strcmp(cond_table[id].name, name) == 0)
			return (enum cond_id)id;
	return C_MAX;
}

const struct ykey *
cond_keys(struct ykey keys[C_MAX + 1])
{
	int id;

	for (id = 0; id < C_MAX; id++) {
		keys[id].name = cond_table[id].name;
		keys[id].type = cond_table[id].type;
	}
	keys[C_MAX].name = NULL;
	keys[C_MAX].type = YT_ANY;
	return keys;
}

void
cond_free(struct rule *r)
{
	int id;

	for (id = 0; id < C_MAX; id++) {
		if (cond_table[id].data == COND_GLOBS)
			globs_free(rule_globs(r, (enum cond_id)id));
		else if (cond_table[id].data == COND_PICK)
			free(rule_pick(r, (enum cond_id)id)->v);
		free(r->canon[id]);
	}
	free(r->ticket_system);
	free(r->ticket_pattern);
	if (r->has_ticket_re)
		regfree(&r->ticket_re);
	free(r->just_pattern);
	if (r->has_just_re)
		regfree(&r->just_re);
	free(r->tz_name);
	free(r->req_in);
}
