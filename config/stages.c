/* policy.yaml: approver sets and approval stages (validation, capacity). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_int.h"

static const struct ykey set_keys[] = {
	{ "user", YT_STR },
	{ "group", YT_STR },
	{ "manager", YT_INT },
	{ NULL, YT_ANY },
};

static const struct ykey stage_keys[] = {
	{ "name", YT_STR },
	{ "approvers", YT_STR_OR_SEQ },
	{ "fallback", YT_STR_OR_SEQ },
	{ "escalate_after", YT_DUR },
	{ "escalation", YT_STR_OR_SEQ },
	{ "fallback_escalation", YT_STR_OR_SEQ },
	{ "deny_after", YT_DUR },
	{ "remind_every", YT_DUR },
	{ "approvals", YT_INT },
	{ "justification", YT_ANY },
	{ NULL, YT_ANY },
};

/* The approver-set (0) or stage (1) key table, for policy_key_at(). */
const struct ykey *
stages_schema(int which)
{
	return which ? stage_keys : set_keys;
}

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

const struct approver_set *
policy_resolve_set(struct pctx *c, const struct ynode *n)
{
	const struct approver_set *s = policy_approver_set(c->p, n->str);
	const char *names[256];
	size_t i;

	if (s != NULL)
		return s;
	for (i = 0; i < c->p->nsets && i < 256; i++)
		names[i] = c->p->sets[i].name;
	{
		const char *sug = ysuggest(n->str, names, i);

		if (sug)
			yerr(&c->y, n,
			    "undefined approver set `%s`; did you mean `%s`?",
			    n->str, sug);
		else
			yerr(&c->y, n, "undefined approver set `%s`", n->str);
	}
	return NULL;
}

static int
compile_refs(struct pctx *c, const struct ynode *k, const struct ynode *n,
    struct approver_ref_list *l, int allow_empty)
{
	const struct ynode *it;
	size_t i;
	int rc = 0;

	if (list_len(n) == 0) {
		if (!allow_empty) {
			yerr(&c->y, n, "`%s` must not be empty", k->str);
			return -1;
		}
		return 0;
	}
	if (list_len(n) > 64) {
		yerr(&c->y, n, "`%s` has more than 64 entries", k->str);
		return -1;
	}
	if ((l->v = calloc(list_len(n), sizeof(*l->v))) == NULL)
		return -1;
	for (i = 0; (it = list_item(n, i)) != NULL; i++) {
		const struct approver_set *s;

		if (it->type != YN_SCALAR) {
			yerr(&c->y, it,
			    "`%s` entries must be approver set names", k->str);
			rc = -1;
			continue;
		}
		if ((s = policy_resolve_set(c, it)) == NULL) {
			rc = -1;
			continue;
		}
		l->v[l->n++] = s;
	}
	return rc;
}

/* Most distinct people two approver lists can ever supply. */
static unsigned
capacity(const struct approver_ref_list *a, const struct approver_ref_list *b)
{
	const struct approver_set *seen[128];
	size_t ns = 0, i, j, k;
	const struct approver_ref_list *ls[2] = { a, b };

	for (k = 0; k < 2; k++)
		for (i = 0; i < ls[k]->n; i++) {
			const struct approver_set *s = ls[k]->v[i];

			if (s->kind == APPROVER_GROUP)
				return CFG_MAX_APPROVALS;
			for (j = 0; j < ns; j++)
				if (seen[j]->kind == s->kind &&
				    (s->kind == APPROVER_MANAGER
				            ? seen[j]->level == s->level
				            : strcasecmp(seen[j]->value,
				                  s->value) == 0))
					break;
			if (j == ns && ns < 128)
				seen[ns++] = s;
		}
	return (unsigned)ns;
}

static int
compile_stage(
    struct pctx *c, const struct ynode *n, size_t idx, struct policy_stage *st)
{
	const struct ynode *v, *kn;
	long long ll;
	int errs;
	size_t i;
	static const char *const refkeys[] = { "approvers", "fallback",
		"escalation", "fallback_escalation" };
	struct approver_ref_list *refs[] = { &st->approvers, &st->fallback,
		&st->escalation, &st->fallback_escalation };
	unsigned cap;

	st->approvals = 1;
	errs = ycheck_map(&c->y, n, stage_keys);
	if (n->type != YN_MAP)
		return -1;
	if ((v = ymap_get(n, "name")) && yis_type(v, YT_STR))
		st->name = strdup(v->str);
	else
		st->name = cfg_asprintf("stage%zu", idx + 1);
	for (i = 0; i < 4; i++) {
		if ((v = ymap_get(n, refkeys[i])) == NULL ||
		    !yis_type(v, YT_STR_OR_SEQ))
			continue;
		kn = n->v[0];
		for (size_t j = 0; j < n->n; j++)
			if (n->v[2 * j + 1] == v)
				kn = n->v[2 * j];
		if (compile_refs(c, kn, v, refs[i], 1) < 0)
			errs++;
	}
	if (errs) {
		/* unresolved sets: the emptiness checks below would mislead */
	} else if (ymap_get(n, "approvers") == NULL) {
		yerr(&c->y, n, "stage `%s` needs `approvers`", st->name);
		errs++;
	} else if (st->approvers.n == 0 && st->fallback.n == 0 &&
	           ymap_get(n, "fallback") == NULL) {
		yerr(&c->y, ymap_get(n, "approvers"),
		    "stage `%s` has no approvers and no fallback", st->name);
		errs++;
	} else if (st->approvers.n == 0 && st->fallback.n == 0) {
		yerr(&c->y, ymap_get(n, "fallback"),
		    "stage `%s` has no approvers and no fallback", st->name);
		errs++;
	}
	if ((v = ymap_get(n, "escalate_after")) && yis_type(v, YT_DUR) &&
	    yget_dur(&c->y, v, &st->escalate_after) < 0)
		errs++;
	if ((v = ymap_get(n, "deny_after")) && yis_type(v, YT_DUR) &&
	    yget_dur(&c->y, v, &st->deny_after) < 0)
		errs++;
	if ((v = ymap_get(n, "remind_every")) && yis_type(v, YT_DUR) &&
	    yget_dur(&c->y, v, &st->remind_every) < 0)
		errs++;
	/* Every waiting state has a timer: a stage that names no end waits
	 * the documented maximum, then denies. */
	if (!errs && ymap_get(n, "deny_after") == NULL) {
		char d[64];

		cfg_format_duration(CFG_STAGE_DENY_MAX, d, sizeof(d));
		ywarn(&c->y, n,
		    "stage `%s` has no `deny_after`: it is denied after %s "
		    "without a decision",
		    st->name, d);
		st->deny_after = CFG_STAGE_DENY_MAX;
		if (st->escalate_after > st->deny_after)
			st->deny_after = st->escalate_after;
	}
	if (st->deny_after && st->escalate_after &&
	    st->deny_after < st->escalate_after) {
		yerr(&c->y, ymap_get(n, "deny_after"),
		    "deny_after is shorter than escalate_after");
		errs++;
	}
	if (st->escalate_after && st->escalation.n == 0 &&
	    st->fallback_escalation.n == 0) {
		yerr(&c->y, ymap_get(n, "escalate_after"),
		    "escalate_after without `escalation` approvers");
		errs++;
	}
	if ((v = ymap_get(n, "escalation")) && st->escalate_after == 0 &&
	    list_len(v) > 0) {
		yerr(&c->y, v, "`escalation` needs `escalate_after`");
		errs++;
	}
	if ((v = ymap_get(n, "approvals")) && yis_type(v, YT_INT)) {
		if (yget_int(&c->y, v, 0, 1000, &ll) < 0) {
			errs++;
		} else if (ll < 1) {
			yerr(&c->y, v, "approvals must be at least 1");
			errs++;
		} else if (ll > CFG_MAX_APPROVALS) {
			yerr(&c->y, v, "approvals must be at most %d",
			    CFG_MAX_APPROVALS);
			errs++;
		} else {
			st->approvals = (uint32_t)ll;
			cap = capacity(&st->approvers, &st->escalation);
			if (st->approvers.n > 0 && st->approvals > cap) {
				yerr(&c->y, v,
				    "approvals: %u but the approvers can "
				    "supply at most %u distinct people",
				    st->approvals, cap);
				errs++;
			}
			cap = capacity(&st->fallback, &st->fallback_escalation);
			if (st->fallback.n > 0 && st->approvals > cap) {
				yerr(&c->y, v,
				    "approvals: %u but the fallback can "
				    "supply at most %u distinct people",
				    st->approvals, cap);
				errs++;
			}
		}
	}
	if ((v = ymap_get(n, "justification")) != NULL) {
		if (v->type == YN_SCALAR && (strcmp(v->str, "required") == 0 ||
		                                strcmp(v->str, "true") == 0))
			st->justification_required = 1;
		else if (v->type == YN_SCALAR &&
		         (strcmp(v->str, "optional") == 0 ||
		             strcmp(v->str, "false") == 0))
			st->justification_required = 0;
		else {
			yerr(&c->y, v,
			    "justification must be `required` or `optional`");
			errs++;
		}
	}
	return errs ? -1 : 0;
}

int
policy_compile_stages(struct pctx *c, const struct ynode *n, struct rule *r)
{
	size_t i, j;
	int errs = 0;

	if (n->n == 0) {
		yerr(&c->y, n, "`stages` must not be empty");
		return -1;
	}
	if (n->n > CFG_MAX_STAGES) {
		yerr(&c->y, n->v[CFG_MAX_STAGES], "more than %d stages",
		    CFG_MAX_STAGES);
		return -1;
	}
	if ((r->stages = calloc(n->n, sizeof(*r->stages))) == NULL)
		return -1;
	r->nstages = n->n;
	for (i = 0; i < n->n; i++) {
		if (compile_stage(c, n->v[i], i, &r->stages[i]) < 0)
			errs++;
		for (j = 0; j < i; j++)
			if (r->stages[i].name && r->stages[j].name &&
			    strcmp(r->stages[i].name, r->stages[j].name) == 0) {
				yerr(&c->y, n->v[i],
				    "duplicate stage name `%s`",
				    r->stages[i].name);
				errs++;
			}
	}
	return errs ? -1 : 0;
}

int
policy_compile_sets(struct pctx *c, const struct ynode *n)
{
	size_t i;
	int errs = 0;
	long long ll;

	if ((c->p->sets = calloc(n->n ? n->n : 1, sizeof(*c->p->sets))) == NULL)
		return -1;
	for (i = 0; i < n->n; i++) {
		const struct ynode *k = n->v[2 * i], *v = n->v[2 * i + 1];
		struct approver_set *s = &c->p->sets[c->p->nsets];
		const struct ynode *x;

		if (ycheck_map(&c->y, v, set_keys)) {
			errs++;
			continue;
		}
		if (v->n != 1) {
			yerr(&c->y, v,
			    "approver set `%s` needs exactly one of `user`, "
			    "`group`, `manager`",
			    k->str);
			errs++;
			continue;
		}
		if ((x = ymap_get(v, "user")) != NULL) {
			s->kind = APPROVER_USER;
			s->value = strdup(x->str);
		} else if ((x = ymap_get(v, "group")) != NULL) {
			s->kind = APPROVER_GROUP;
			s->value = strdup(x->str);
		} else {
			x = ymap_get(v, "manager");
			if (yget_int(&c->y, x, 1, 2, &ll) < 0) {
				errs++;
				continue;
			}
			s->kind = APPROVER_MANAGER;
			s->level = (int)ll;
		}
		s->name = strdup(k->str);
		c->p->nsets++;
	}
	return errs ? -1 : 0;
}
