/*
 * policy.yaml: schema, validation (every error in one run) and compilation
 * (globs, regexes, time zones, the source x cloud rule index).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_int.h"

static const struct ykey top_keys[] = {
	{ "version", YT_INT },
	{ "approvers", YT_MAP },
	{ "rules", YT_SEQ },
	{ "default", YT_STR_OR_MAP },
	{ "unverified_identity", YT_STR },
	{ NULL, YT_ANY },
};

static const struct ykey rule_keys[] = {
	{ "name", YT_STR },
	{ "when", YT_MAP },
	{ "decide", YT_STR },
	{ "reason", YT_STR },
	{ "stages", YT_SEQ },
	{ NULL, YT_ANY },
};

static const struct ykey default_keys[] = {
	{ "decide", YT_STR },
	{ "reason", YT_STR },
	{ "stages", YT_SEQ },
	{ NULL, YT_ANY },
};

static const char *const decide_names[] = { "approve", "reject", "ignore",
	"stages" };

void
rule_free(struct rule *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->name);
	free(r->reason);
	cond_free(r);
	for (i = 0; i < r->nstages; i++) {
		free((char *)r->stages[i].name);
		free(r->stages[i].approvers.v);
		free(r->stages[i].fallback.v);
		free(r->stages[i].escalation.v);
		free(r->stages[i].fallback_escalation.v);
	}
	free(r->stages);
}

void
policy_free(struct policy *p)
{
	size_t i, s, c;

	if (p == NULL)
		return;
	for (i = 0; i < p->nsets; i++) {
		free((char *)p->sets[i].name);
		free((char *)p->sets[i].value);
	}
	free(p->sets);
	for (i = 0; i < p->nrules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	rule_free(&p->deflt);
	for (s = 0; s < REQ_SRC_MAX; s++)
		for (c = 0; c < REQ_CLOUD_MAX; c++)
			free(p->index[s][c]);
	for (i = 0; i < p->nzones; i++) {
		cfg_tz_free(p->zones[i]);
		free(p->zone_names[i]);
	}
	free(p->zones);
	free(p->zone_names);
	free(p);
}

size_t
policy_nrules(const struct policy *p)
{
	return p ? p->nrules : 0;
}

const struct approver_set *
policy_approver_set_at(const struct policy *p, size_t i)
{
	return p != NULL && i < p->nsets ? &p->sets[i] : NULL;
}

static int rule_sees_group(const struct rule *r);

size_t
policy_group_scopes(
    const struct policy *p, const char **ids, size_t max, int *unscoped)
{
	const struct rule *r;
	size_t i, k, j, n = 0;

	*unscoped = p != NULL && p->deflt.decide != VERDICT_IGNORE;
	for (i = 0; p != NULL && i < p->nrules; i++) {
		r = &p->rules[i];
		if (!rule_sees_group(r))
			continue;
		if (!(r->conds & (1u << C_GROUP))) {
			*unscoped = 1;
			continue;
		}
		for (k = 0; k < r->group.n; k++) {
			if (r->group.v[k].kind != GLOB_EXACT) {
				*unscoped = 1;
				continue;
			}
			for (j = 0; j < n; j++)
				if (strcasecmp(ids[j], r->group.v[k].pat) == 0)
					break;
			if (j < n)
				continue;
			if (n == max) {
				*unscoped = 1;
				continue;
			}
			ids[n++] = r->group.v[k].pat;
		}
	}
	return n;
}

const struct approver_set *
policy_approver_set(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; p && name && i < p->nsets; i++)
		if (strcmp(p->sets[i].name, name) == 0)
			return &p->sets[i];
	return NULL;
}

/* Compile each `when` condition through its row of cond_table, keeping
 * its canonical text (the row's dump) for shadows, traces and the dump. */
static int
compile_when(struct pctx *c, const struct ynode *n, struct rule *r)
{
	struct ykey keys[C_MAX + 1];
	size_t i;
	int errs = 0;

	if (ycheck_map(&c->y, n, cond_keys(keys)))
		errs++;
	for (i = 0; i < n->n; i++) {
		const struct ynode *k = n->v[2 * i], *v = n->v[2 * i + 1];
		enum cond_id id = cond_lookup(k->str);
		struct sbuf b = { 0 };

		if (id == C_MAX || !yis_type(v, cond_table[id].type))
			continue; /* reported by ycheck_map */
		if (cond_table[id].compile(c, id, k, v, r) < 0) {
			errs++;
			continue;
		}
		cond_table[id].dump(&b, r, id);
		r->conds |= 1u << id;
		r->canon[id] = sb_finish(&b);
	}
	if ((r->conds & (1u << C_CLOUD)) && (r->conds & (1u << C_SOURCE)) &&
	    !(r->source.mask & (1u << REQ_SRC_PERMISSIONS))) {
		yerr(&c->y, ymap_get(n, "cloud"),
		    "`cloud` only applies to source `permissions`");
		errs++;
	}
	return errs ? -1 : 0;
}

static int
parse_decide(struct pctx *c, const struct ynode *v, enum verdict_kind *out)
{
	size_t i;
	const char *sug;

	for (i = 0; i < 4; i++)
		if (strcmp(decide_names[i], v->str) == 0) {
			*out = (enum verdict_kind)i;
			return 0;
		}
	sug = ysuggest(v->str, decide_names, 4);
	if (sug)
		yerr(&c->y, v,
		    "unknown decide `%s`; did you mean `%s`? (approve, reject, "
		    "ignore, stages)",
		    v->str, sug);
	else
		yerr(&c->y, v,
		    "unknown decide `%s` (approve, reject, ignore, stages)",
		    v->str);
	return -1;
}

/* Common part of rules and the default: decide, reason, stages. */
static int
compile_outcome(
    struct pctx *c, const struct ynode *n, struct rule *r, const char *what)
{
	const struct ynode *v;
	int errs = 0;

	if ((v = ymap_get(n, "decide")) == NULL) {
		yerr(&c->y, n,
		    "%s needs `decide` (approve, reject, ignore, "
		    "stages)",
		    what);
		return -1;
	}
	if (!yis_type(v, YT_STR) || parse_decide(c, v, &r->decide) < 0)
		return -1;
	if ((v = ymap_get(n, "reason")) && yis_type(v, YT_STR))
		r->reason = strdup(v->str);
	v = ymap_get(n, "stages");
	if (r->decide == VERDICT_STAGES && v == NULL) {
		yerr(&c->y, ymap_get(n, "decide"),
		    "%s decides `stages` but has no `stages`", what);
		errs++;
	} else if (r->decide != VERDICT_STAGES && v != NULL) {
		yerr(&c->y, v, "`stages` on a %s that decides `%s`", what,
		    decide_names[r->decide]);
		errs++;
	} else if (v != NULL && yis_type(v, YT_SEQ) &&
	           policy_compile_stages(c, v, r) < 0) {
		errs++;
	}
	return errs ? -1 : 0;
}

static int
compile_rule(struct pctx *c, const struct ynode *n, size_t idx, struct rule *r)
{
	const struct ynode *v;
	int errs = 0;
	size_t j;

	r->line = n->line;
	r->col = n->col;
	if (ycheck_map(&c->y, n, rule_keys))
		errs++;
	if (n->type != YN_MAP)
		return -1;
	if ((v = ymap_get(n, "name")) == NULL || !yis_type(v, YT_STR)) {
		if (v == NULL)
			yerr(&c->y, n, "rule %zu needs a `name`", idx + 1);
		r->name = cfg_asprintf("rule%zu", idx + 1);
		errs++;
	} else {
		r->name = strdup(v->str);
		if (strcmp(v->str, "default") == 0) {
			yerr(&c->y, v, "`default` is reserved as a rule name");
			errs++;
		}
		for (j = 0; j < idx; j++)
			if (c->p->rules[j].name &&
			    strcmp(c->p->rules[j].name, v->str) == 0) {
				yerr(&c->y, v,
				    "duplicate rule name `%s` (first at %u:%u)",
				    v->str, c->p->rules[j].line,
				    c->p->rules[j].col);
				errs++;
			}
	}
	if (compile_outcome(c, n, r, "rule") < 0)
		errs++;
	if ((v = ymap_get(n, "when")) != NULL && yis_type(v, YT_MAP) &&
	    compile_when(c, v, r) < 0)
		errs++;
	if (errs == 0 && r->decide == VERDICT_APPROVE && r->conds == 0) {
		yerr(&c->y, n,
		    "approve rule `%s` has no conditions: it would approve "
		    "every request",
		    r->name);
		errs++;
	}
	return errs ? -1 : 0;
}

/* Whether every request matching rule b also matches earlier rule a. */
static int
shadows(const struct rule *a, const struct rule *b)
{
	int id;

	if ((a->conds & b->conds) != a->conds)
		return 0;
	for (id = 0; id < C_MAX; id++) {
		if (!(a->conds & (1u << id)))
			continue;
		if (strcmp(a->canon[id], b->canon[id]) != 0)
			return 0;
		/* An approve rule reads every condition strictly and never
		 * sees an unverified request; a later rule of another kind
		 * reads the same text more widely, so it can still match. */
		if (a->decide == VERDICT_APPROVE &&
		    b->decide != VERDICT_APPROVE)
			return 0;
	}
	return 1;
}

/* Can rule r ever see a PIM for Groups request? */
static int
rule_sees_group(const struct rule *r)
{
	int id;

	if ((r->conds & (1u << C_SOURCE)) &&
	    !(r->source.mask & (1u << REQ_SRC_GROUP)))
		return 0;
	/* a condition that only other sources' requests carry (cloud,
	 * package) */
	for (id = 0; id < C_MAX; id++)
		if ((r->conds & (1u << id)) && cond_table[id].only_src != 0 &&
		    !(cond_table[id].only_src & (1u << REQ_SRC_GROUP)))
			return 0;
	return 1;
}

/*
 * PIM for Groups approvals expire after 24 hours and that is not
 * configurable ("Delegated approvers have 24 hours to approve requests",
 * entra-docs: id-governance/privileged-identity-management/
 * groups-approval-workflow.md). Stages that may wait longer in all would
 * still be waiting when Entra has already expired the request.
 */
static void
check_pim_window(struct pctx *c, const struct rule *r, const char *file,
    struct cfg_diags *diags)
{
	int64_t total = 0;
	size_t i;
	char d[64];

	if (r->decide != VERDICT_STAGES || !rule_sees_group(r))
		return;
	for (i = 0; i < r->nstages; i++)
		total += r->stages[i].deny_after;
	if (total <= 86400)
		return;
	cfg_format_duration(total, d, sizeof(d));
	/* Named for groups: refused. Reaching them by having no `source`:
	 * warned (Entra expires such a request unapproved: safe, not
	 * useful). */
	cfg_diag_add(diags,
	    (r->conds & (1u << C_SOURCE)) ? CFG_ERROR : CFG_WARNING, file,
	    r->line, r->col,
	    "%s `%s` can wait %s in all for its stages, but PIM for Groups "
	    "approvals expire after 24 hours (not configurable): keep the "
	    "stages' deny_after within PT24H in all%s",
	    r == &c->p->deflt ? "default" : "rule", r->name, d,
	    (r->conds & (1u << C_SOURCE))
	        ? ""
	        : ", or give the rule a `source` without `group`");
}

/* Rules by request source and cloud: this decides the COND_INDEXED
 * conditions, which the indexed walk then skips. */
static int
build_index(struct policy *p)
{
	size_t s, cl, i;

	for (s = 0; s < REQ_SRC_MAX; s++)
		for (cl = 0; cl < REQ_CLOUD_MAX; cl++) {
			uint32_t *v = calloc(p->nrules + 1, sizeof(*v));
			size_t n = 0;

			if (v == NULL)
				return -1;
			for (i = 0; i < p->nrules; i++) {
				const struct rule *r = &p->rules[i];

				if ((r->conds & (1u << C_SOURCE)) &&
				    !(r->source.mask & (1u << s)))
					continue;
				if ((r->conds & (1u << C_CLOUD)) &&
				    !(r->cloud.mask & (1u << cl)))
					continue;
				v[n++] = (uint32_t)i;
			}
			p->index[s][cl] = v;
			p->nindex[s][cl] = n;
		}
	return 0;
}

int
policy_load_buffer(const char *name, const char *buf, size_t len,
    struct policy **out, struct cfg_diags *diags)
{
	struct cfg_diags local = { 0 };
	struct ydoc doc;
	struct pctx c;
	const struct ynode *root, *v;
	size_t i, j, nerr0, n0;
	long long ll;

	*out = NULL;
	if (diags == NULL)
		diags = &local;
	nerr0 = diags->nerrors;
	n0 = diags->n;
	memset(&c, 0, sizeof(c));
	c.y.file = name;
	c.y.diags = diags;
	if (ydoc_load(&doc, name, buf, len, diags) < 0)
		goto fail_nodoc;
	if ((c.p = calloc(1, sizeof(*c.p))) == NULL)
		goto fail;
	c.p->deflt.name = strdup("default");
	c.p->deflt.decide = VERDICT_IGNORE;
	root = doc.root;
	if (root == NULL || root->type != YN_MAP) {
		cfg_diag_add(diags, CFG_ERROR, name, root ? root->line : 1,
		    root ? root->col : 1,
		    "a policy is a mapping with `version`, `approvers`, "
		    "`rules` and `default`");
		goto fail;
	}
	ycheck_map(&c.y, root, top_keys);
	if ((v = ymap_get(root, "version")) == NULL)
		yerr(&c.y, root, "missing `version: 1`");
	else if (yis_type(v, YT_INT) &&
	         yget_int(&c.y, v, 0, 1000000, &ll) == 0 && ll != 1)
		yerr(&c.y, v, "unsupported version %lld (expected 1)", ll);
	if ((v = ymap_get(root, "approvers")) != NULL && v->type == YN_MAP)
		policy_compile_sets(&c, v);
	if ((v = ymap_get(root, "rules")) != NULL && v->type == YN_SEQ) {
		if (v->n > CFG_MAX_RULES) {
			yerr(&c.y, v, "more than %d rules", CFG_MAX_RULES);
			goto fail;
		}
		c.p->rules = calloc(v->n ? v->n : 1, sizeof(*c.p->rules));
		if (c.p->rules == NULL)
			goto fail;
		for (i = 0; i < v->n; i++) {
			compile_rule(&c, v->v[i], i, &c.p->rules[i]);
			c.p->nrules++;
		}
	}
	if ((v = ymap_get(root, "default")) != NULL) {
		if (v->type == YN_SCALAR && yis_type(v, YT_STR)) {
			if (parse_decide(&c, v, &c.p->deflt.decide) == 0 &&
			    c.p->deflt.decide == VERDICT_STAGES)
				yerr(&c.y, v,
				    "default `stages` needs the mapping form "
				    "with `stages:`");
		} else if (v->type == YN_MAP &&
		           ycheck_map(&c.y, v, default_keys) == 0) {
			compile_outcome(&c, v, &c.p->deflt, "default");
		}
		if (c.p->deflt.decide == VERDICT_APPROVE)
			yerr(&c.y, v,
			    "`default` must not approve: requests no rule "
			    "matches are never approved automatically");
	}
	if ((v = ymap_get(root, "unverified_identity")) != NULL &&
	    yis_type(v, YT_STR)) {
		static const char *const modes[] = { "ignore", "reject",
			"evaluate" };
		const char *sug;

		for (i = 0; i < 3; i++)
			if (strcmp(v->str, modes[i]) == 0)
				break;
		if (i < 3) {
			c.p->unverified = (enum unverified_mode)i;
		} else if ((sug = ysuggest(v->str, modes, 3)) != NULL) {
			yerr(&c.y, v,
			    "unknown unverified_identity `%s`; did you mean "
			    "`%s`?",
			    v->str, sug);
		} else {
			yerr(&c.y, v,
			    "unknown unverified_identity `%s` (ignore, reject "
			    "or evaluate)",
			    v->str);
		}
	}
	if (diags->nerrors == nerr0) {
		for (j = 1; j < c.p->nrules; j++)
			for (i = 0; i < j; i++)
				if (shadows(&c.p->rules[i], &c.p->rules[j])) {
					cfg_diag_add(diags, CFG_WARNING, name,
					    c.p->rules[j].line,
					    c.p->rules[j].col,
					    "rule `%s` is shadowed by earlier "
					    "rule `%s` and never matches",
					    c.p->rules[j].name,
					    c.p->rules[i].name);
					break;
				}
	}
	if (diags->nerrors == nerr0) {
		for (i = 0; i < c.p->nrules; i++)
			check_pim_window(&c, &c.p->rules[i], name, diags);
		check_pim_window(&c, &c.p->deflt, name, diags);
	}
	cfg_diags_sort(diags, n0);
	if (diags->nerrors != nerr0)
		goto fail;
	if (build_index(c.p) < 0) {
		cfg_diag_add(diags, CFG_ERROR, name, 0, 0, "out of memory");
		goto fail;
	}
	ydoc_free(&doc);
	cfg_diags_free(&local);
	*out = c.p;
	return 0;
fail:
	ydoc_free(&doc);
fail_nodoc:
	policy_free(c.p);
	cfg_diags_free(&local);
	return -1;
}

int
policy_load_file(const char *path, struct policy **out, struct cfg_diags *diags)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if (cfg_read_file(path, &buf, &len, diags) < 0)
		return -1;
	rc = policy_load_buffer(path, buf, len, out, diags);
	free(buf);
	return rc;
}

/* policy.yaml's mappings and where they sit, in the manual's order;
 * `keys` is NULL for the two tables stages.c owns (stages 1: set, 2:
 * stage) and for the `when` keys, which come from cond_table (conds 1:
 * its names, 2: each mapping-valued condition's keys). */
static const struct {
	const char *prefix;
	const struct ykey *keys;
	int stages, conds;
} policy_sections[] = {
	{ "", top_keys, 0, 0 },
	{ "approvers.NAME.", NULL, 1, 0 },
	{ "rules[].", rule_keys, 0, 0 },
	{ "when.", NULL, 0, 1 },
	{ "when.", NULL, 0, 2 },
	{ "stages[].", NULL, 2, 0 },
	{ "default.", default_keys, 0, 0 },
};

/* Set out->path to prefix + key and out->type for key k of keys when it is
 * key number i; count the keys in *n. */
static int
key_at(size_t i, size_t *n, const char *prefix, const char *sub,
    const struct ykey *keys, struct cfg_key *out)
{
	static char paths[256][64];
	size_t k;

	for (k = 0; keys[k].name != NULL; k++, (*n)++) {
		if (*n != i)
			continue;
		if (*n >= 256)
			return 0;
		snprintf(paths[*n], sizeof(paths[*n]), "%s%s%s%s", prefix,
		    sub ? sub : "", sub ? "." : "", keys[k].name);
		out->path = paths[*n];
		out->type = ytype_name(keys[k].type);
		out->def = NULL;
		return 1;
	}
	return 0;
}

int
policy_key_at(size_t i, struct cfg_key *out)
{
	struct ykey when[C_MAX + 1];
	size_t s, n = 0;
	int id;

	for (s = 0; s < sizeof(policy_sections) / sizeof(policy_sections[0]);
	     s++) {
		const char *prefix = policy_sections[s].prefix;
		const struct ykey *keys = policy_sections[s].keys;

		if (policy_sections[s].conds == 2) {
			for (id = 0; id < C_MAX; id++)
				if (cond_table[id].keys != NULL &&
				    key_at(i, &n, prefix, cond_table[id].name,
				        cond_table[id].keys, out))
					return 1;
			continue;
		}
		if (policy_sections[s].conds == 1)
			keys = cond_keys(when);
		else if (keys == NULL)
			keys = stages_schema(policy_sections[s].stages - 1);
		if (key_at(i, &n, prefix, NULL, keys, out))
			return 1;
	}
	return 0;
}
