/*
 * Glob-list conditions: system, request_action, group, package, requestor
 * (one string of the request each) and actions, roles, policies, resources
 * (lists of requested items). Their rows in cond_table (cond.c) say where
 * the rule keeps the globs, which request field is read and how case is
 * compared.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg_glob.h"
#include "policy_int.h"

static const char *const request_actions[] = {
	/* PIM for Groups */
	"adminAssign", "adminUpdate", "adminRemove", "selfActivate",
	"selfDeactivate", "adminExtend", "adminRenew", "selfExtend",
	"selfRenew",
	/* entitlement management requestType */
	"userAdd", "userUpdate", "userRemove", "adminAdd", "systemAdd",
	"systemUpdate", "systemRemove", "onBehalfAdd", "userExtend", "userRenew"
};

/* The rule's globs and the request field of kind id (its row's `at` and
 * `field`). */
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

static const char *
req_str(const struct request *q, enum cond_id id)
{
	return *(char *const *)((const char *)q + cond_table[id].field);
}

static const struct req_list *
req_list(const struct request *q, enum cond_id id)
{
	const char *base = (const char *)q;

	return (const struct req_list *)(base + cond_table[id].field);
}

void
cond_globs_free(struct rule *r, enum cond_id id)
{
	struct globs *g = rule_globs(r, id);
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

#define EVAL_MAX_STARS    8   /* in one requested item, for approve rules */
#define EVAL_MAX_ITEM_LEN 512 /* bytes of one requested item, idem */

static int
has_wild(const char *s)
{
	return strpbrk(s, "*?") != NULL;
}

/* Index of the first glob matching s (of length len), or -1. */
static int
globs_find(const struct globs *g, const char *s, size_t len, int icase)
{
	size_t i;

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
		if ((k = globs_find(g, s, len, icase)) >= 0)
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

int
cond_compile_globs(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *n, struct rule *r)
{
	struct globs *g = rule_globs(r, id);
	const struct ynode *it;
	size_t i;

	if (cond_check_scalars(c, k, n) < 0)
		return -1;
	g->n = cond_list_len(n);
	if ((g->v = calloc(g->n, sizeof(*g->v))) == NULL) {
		yerr(&c->y, n, "out of memory");
		return -1;
	}
	/* cfg_glob_compile keeps pat (in g->v[i], freed with the policy);
	 * the analyzer takes a const parameter for a borrow. */
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	for (i = 0; i < g->n && (it = cond_list_item(n, i)) != NULL; i++) {
		char *pat = strdup(it->str);

		if (pat == NULL) {
			g->n = i;
			return -1;
		}
		cfg_glob_compile(&g->v[i], pat);
	}
	g->n = i; /* what was compiled, should the two counts disagree */
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
void
cond_dump_globs(struct sbuf *b, const struct rule *r, enum cond_id id)
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
int
cond_compile_request_action(struct pctx *c, enum cond_id id,
    const struct ynode *k, const struct ynode *v, struct rule *r)
{
	const struct ynode *x;
	const char *sug;
	size_t i;

	if (cond_check_scalars(c, k, v) < 0)
		return -1;
	for (i = 0; (x = cond_list_item(v, i)) != NULL; i++) {
		size_t j,
		    n = sizeof(request_actions) / sizeof(request_actions[0]);

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
	return cond_compile_globs(c, id, k, v, r);
}

/* One string field of the request (the row's `field`) against the globs. */
int
cond_eval_scalar(struct ectx *e, enum cond_id id)
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
			    relation(e, val, hit), cond_nz(hit));
		else
			cond_trace(e, id, 0, "%s %s %s %s", what, val,
			    e->strict && has_wild(val) ? "is not covered by"
			                               : "matches none of",
			    e->r->canon[id]);
	}
	return ok;
}

/* The requested items (the row's `field`, a list) against the globs. */
int
cond_eval_items(struct ectx *e, enum cond_id id)
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
				    relation(e, l->v[i], hit), cond_nz(hit),
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

	for (i = 0; i < 3; i++)
		if (v[i] != NULL &&
		    globs_find(&e->r->requestor, v[i], strlen(v[i]), 1) >= 0) {
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
int
cond_eval_requestor(struct ectx *e, enum cond_id id)
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
			    cond_nz(q->requestor_key),
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
			    cond_nz(q->who.upn),
			    a ? "matches" : "does not match",
			    cond_nz(q->beneficiary.upn),
			    b ? "matches" : "does not match", e->r->canon[id]);
		else
			cond_trace(e, id, ok, "requestor %s (%s) %s %s",
			    cond_nz(q->who.upn), cond_nz(q->who.id),
			    ok ? "matches" : "matches none of",
			    ok ? h1 : e->r->canon[id]);
	}
	return ok;
}
