/*
 * policy.yaml: schema, validation (every error in one run) and compilation
 * (globs, regexes, time zones, the source x cloud rule index).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_int.h"

const char *const cond_names[C_MAX] = {
	[C_SOURCE] = "source",
	[C_CLOUD] = "cloud",
	[C_SYSTEM] = "system",
	[C_REQUEST_ACTION] = "request_action",
	[C_ACCESS] = "access",
	[C_GROUP] = "group",
	[C_PACKAGE] = "package",
	[C_REQUESTOR] = "requestor",
	[C_MAX_DURATION] = "max_duration",
	[C_MAX_START_DELAY] = "max_start_delay",
	[C_TICKET] = "ticket",
	[C_ACTIONS] = "actions",
	[C_ROLES] = "roles",
	[C_POLICIES] = "policies",
	[C_RESOURCES] = "resources",
	[C_JUSTIFICATION] = "justification",
	[C_SCHEDULE] = "schedule",
	[C_REQUESTOR_IN] = "requestor_in",
};

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

static const struct ykey when_keys[] = {
	{ "source", YT_STR_OR_SEQ },
	{ "cloud", YT_STR_OR_SEQ },
	{ "system", YT_STR_OR_SEQ },
	{ "request_action", YT_STR_OR_SEQ },
	{ "access", YT_STR_OR_SEQ },
	{ "group", YT_STR_OR_SEQ },
	{ "package", YT_STR_OR_SEQ },
	{ "requestor", YT_STR_OR_SEQ },
	{ "max_duration", YT_DUR },
	{ "max_start_delay", YT_DUR },
	{ "ticket", YT_MAP },
	{ "actions", YT_STR_OR_SEQ },
	{ "roles", YT_STR_OR_SEQ },
	{ "policies", YT_STR_OR_SEQ },
	{ "resources", YT_STR_OR_SEQ },
	{ "justification", YT_STR_OR_MAP },
	{ "schedule", YT_MAP },
	{ "requestor_in", YT_STR_OR_SEQ },
	{ NULL, YT_ANY },
};

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

static const char *const request_actions[] = {
	/* PIM for Groups */
	"adminAssign", "adminUpdate", "adminRemove", "selfActivate",
	"selfDeactivate", "adminExtend", "adminRenew", "selfExtend",
	"selfRenew",
	/* entitlement management requestType */
	"userAdd", "userUpdate", "userRemove", "adminAdd", "systemAdd",
	"systemUpdate", "systemRemove", "onBehalfAdd", "userExtend", "userRenew"
};

static const char *const decide_names[] = { "approve", "reject", "ignore",
	"stages" };
static const char *const weekday_names[] = { "sun", "mon", "tue", "wed", "thu",
	"fri", "sat" };

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

void
rule_free(struct rule *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->name);
	free(r->reason);
	globs_free(&r->system);
	globs_free(&r->request_action);
	globs_free(&r->group);
	globs_free(&r->package);
	globs_free(&r->requestor);
	for (i = 0; i < 4; i++)
		globs_free(&r->items[i]);
	free(r->ticket_system);
	free(r->ticket_pattern);
	if (r->has_ticket_re)
		regfree(&r->ticket_re);
	free(r->just_pattern);
	if (r->has_just_re)
		regfree(&r->just_re);
	free(r->tz_name);
	free(r->req_in);
	for (i = 0; i < r->nstages; i++) {
		free((char *)r->stages[i].name);
		free(r->stages[i].approvers.v);
		free(r->stages[i].fallback.v);
		free(r->stages[i].escalation.v);
		free(r->stages[i].fallback_escalation.v);
	}
	free(r->stages);
	for (i = 0; i < C_MAX; i++)
		free(r->canon[i]);
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

/* Canonical flow list text of the scalars of n: ["a", b]. */
static void
canon_list(struct sbuf *b, const struct ynode *n)
{
	const struct ynode *it;
	size_t i;

	sb_add(b, "[");
	for (i = 0; (it = list_item(n, i)) != NULL; i++) {
		if (i)
			sb_add(b, ", ");
		if (it->type == YN_SCALAR)
			sb_yaml_str(b, it->str);
	}
	sb_add(b, "]");
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
compile_globs(struct pctx *c, const struct ynode *k, const struct ynode *n,
    struct globs *g)
{
	const struct ynode *it;
	size_t i;

	if (check_scalars(c, k, n) < 0)
		return -1;
	g->n = list_len(n);
	if ((g->v = calloc(g->n, sizeof(*g->v))) == NULL) {
		yerr(&c->y, n, "out of memory");
		return -1;
	}
	/* cfg_glob_compile keeps pat (in g->v[i], freed with the policy);
	 * the analyzer takes a const parameter for a borrow. */
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	for (i = 0; i < g->n && (it = list_item(n, i)) != NULL; i++) {
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
	return 0;
}

/* Match names from a fixed vocabulary into a bit mask. */
static int
compile_enum(struct pctx *c, const struct ynode *k, const struct ynode *n,
    const char *const *names, size_t nnames, unsigned *mask)
{
	const struct ynode *it;
	size_t i, j;
	int rc = 0;

	if (check_scalars(c, k, n) < 0)
		return -1;
	for (i = 0; (it = list_item(n, i)) != NULL; i++) {
		for (j = 0; j < nnames; j++)
			if (strcmp(names[j], it->str) == 0)
				break;
		if (j == nnames) {
			const char *s = ysuggest(it->str, names, nnames);

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
		*mask |= 1u << j;
	}
	return rc;
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
compile_schedule(
    struct pctx *c, const struct ynode *n, struct rule *r, struct sbuf *b)
{
	const struct ynode *v, *it;
	size_t i;
	int errs = 0, d;

	if (ycheck_map(&c->y, n, sched_keys))
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
	if (errs)
		return -1;
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
	return 0;
}

/* Compile one `when` condition into r and its canonical text into b. */
static int
compile_cond(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *v, struct rule *r, struct sbuf *b)
{
	static const char *const srcs[] = { "permissions", "group",
		"access-package" };
	static const char *const clouds[] = { "none", "aws", "azure", "gcp" };
	static const char *const accesses[] = { "member", "owner" };
	const struct ynode *x;
	const char *sug;
	unsigned mask = 0;
	size_t i;
	long long ll;
	char dur[64];

	switch (id) {
	case C_SOURCE:
		if (compile_enum(c, k, v, srcs, 3, &r->src_mask) < 0)
			return -1;
		canon_list(b, v);
		return 0;
	case C_CLOUD:
		if (compile_enum(c, k, v, clouds + 1, 3, &mask) < 0)
			return -1;
		r->cloud_mask = mask << 1;
		canon_list(b, v);
		return 0;
	case C_ACCESS:
		if (compile_enum(c, k, v, accesses, 2, &r->access_mask) < 0)
			return -1;
		canon_list(b, v);
		return 0;
	case C_REQUEST_ACTION:
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
				yerr(&c->y, x, "unknown request_action `%s`",
				    x->str);
			return -1;
		}
		if (compile_globs(c, k, v, &r->request_action) < 0)
			return -1;
		canon_list(b, v);
		return 0;
	case C_SYSTEM:
	case C_GROUP:
	case C_PACKAGE:
	case C_REQUESTOR:
	case C_ACTIONS:
	case C_ROLES:
	case C_POLICIES:
	case C_RESOURCES: {
		struct globs *g = id == C_SYSTEM    ? &r->system
		                  : id == C_GROUP   ? &r->group
		                  : id == C_PACKAGE ? &r->package
		                  : id == C_REQUESTOR
		                      ? &r->requestor
		                      : &r->items[id - C_ACTIONS];

		if (compile_globs(c, k, v, g) < 0)
			return -1;
		if (id == C_RESOURCES && globs_add_subtrees(g) < 0) {
			yerr(&c->y, v, "out of memory");
			return -1;
		}
		canon_list(b, v);
		return 0;
	}
	case C_MAX_DURATION:
	case C_MAX_START_DELAY: {
		int64_t *d = id == C_MAX_DURATION ? &r->max_duration
		                                  : &r->max_start_delay;

		if (yget_dur(&c->y, v, d) < 0)
			return -1;
		cfg_format_duration(*d, dur, sizeof(dur));
		sb_add(b, dur);
		return 0;
	}
	case C_TICKET:
		if (ycheck_map(&c->y, v, ticket_keys))
			return -1;
		if (v->n == 0) {
			yerr(&c->y, v, "ticket needs `system` or `pattern`");
			return -1;
		}
		sb_add(b, "{ ");
		if ((x = ymap_get(v, "system")) != NULL) {
			r->ticket_system = strdup(x->str);
			sb_add(b, "system: ");
			sb_yaml_str(b, x->str);
		}
		if ((x = ymap_get(v, "pattern")) != NULL) {
			if (compile_regex(c, x, &r->ticket_re) < 0)
				return -1;
			/* `INC[0-9]+` also matches "xINC1;rm"; the author
			 * almost always meant the whole number. */
			if (x->str[0] != '^' ||
			    x->str[strlen(x->str) - 1] != '$' ||
			    (strlen(x->str) > 1 &&
			        x->str[strlen(x->str) - 2] == '\\'))
				ywarn(&c->y, x,
				    "ticket pattern `%s` is not anchored: it "
				    "matches any ticket number containing it; "
				    "write ^...$",
				    x->str);
			r->has_ticket_re = 1;
			r->ticket_pattern = strdup(x->str);
			sb_add(
			    b, r->ticket_system ? ", pattern: " : "pattern: ");
			sb_yaml_str(b, x->str);
		}
		sb_add(b, " }");
		return 0;
	case C_JUSTIFICATION:
		x = v;
		if (v->type == YN_MAP) {
			if (ycheck_map(&c->y, v, just_keys))
				return -1;
			if (v->n == 0) {
				yerr(&c->y, v,
				    "justification needs `pattern` or "
				    "`min_length`");
				return -1;
			}
			x = ymap_get(v, "pattern");
			if (ymap_get(v, "min_length")) {
				if (yget_int(&c->y, ymap_get(v, "min_length"),
				        0, 100000, &ll) < 0)
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
		sb_add(b, "{ ");
		if (r->just_pattern) {
			sb_add(b, "pattern: ");
			sb_yaml_str(b, r->just_pattern);
			sb_add(b, ", ");
		}
		sb_printf(b, "min_length: %zu }", r->just_min);
		return 0;
	case C_SCHEDULE:
		return compile_schedule(c, v, r, b);
	case C_REQUESTOR_IN:
		if (check_scalars(c, k, v) < 0)
			return -1;
		r->req_in = calloc(list_len(v), sizeof(*r->req_in));
		if (r->req_in == NULL)
			return -1;
		for (i = 0; (x = list_item(v, i)) != NULL; i++)
			if ((r->req_in[r->nreq_in] =
			            policy_resolve_set(c, x)) != NULL)
				r->nreq_in++;
			else
				return -1;
		canon_list(b, v);
		return 0;
	case C_MAX:
		break;
	}
	return -1;
}

static int
compile_when(struct pctx *c, const struct ynode *n, struct rule *r)
{
	size_t i;
	int id, errs = 0;

	if (ycheck_map(&c->y, n, when_keys))
		errs++;
	for (i = 0; i < n->n; i++) {
		const struct ynode *k = n->v[2 * i], *v = n->v[2 * i + 1];
		struct sbuf b = { 0 };

		for (id = 0; id < C_MAX; id++)
			if (strcmp(cond_names[id], k->str) == 0)
				break;
		if (id == C_MAX || !yis_type(v, when_keys[id].type))
			continue; /* reported by ycheck_map */
		if (compile_cond(c, (enum cond_id)id, k, v, r, &b) < 0) {
			free(sb_finish(&b));
			errs++;
			continue;
		}
		r->conds |= 1u << id;
		r->canon[id] = sb_finish(&b);
	}
	if ((r->conds & (1u << C_CLOUD)) && (r->conds & (1u << C_SOURCE)) &&
	    !(r->src_mask & (1u << REQ_SRC_PERMISSIONS))) {
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
	if ((r->conds & (1u << C_SOURCE)) &&
	    !(r->src_mask & (1u << REQ_SRC_GROUP)))
		return 0;
	/* cloud and package only exist on the other sources */
	return !(r->conds & ((1u << C_CLOUD) | (1u << C_PACKAGE)));
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
				    !(r->src_mask & (1u << s)))
					continue;
				if ((r->conds & (1u << C_CLOUD)) &&
				    !(r->cloud_mask & (1u << cl)))
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
 * `stages` is NULL for the two tables stages.c owns (1: set, 2: stage). */
static const struct {
	const char *prefix;
	const struct ykey *keys;
	int stages;
} policy_sections[] = {
	{ "", top_keys, 0 },
	{ "approvers.NAME.", NULL, 1 },
	{ "rules[].", rule_keys, 0 },
	{ "when.", when_keys, 0 },
	{ "when.ticket.", ticket_keys, 0 },
	{ "when.justification.", just_keys, 0 },
	{ "when.schedule.", sched_keys, 0 },
	{ "stages[].", NULL, 2 },
	{ "default.", default_keys, 0 },
};

int
policy_key_at(size_t i, struct cfg_key *out)
{
	static char paths[256][64];
	size_t s, k, n = 0;

	for (s = 0; s < sizeof(policy_sections) / sizeof(policy_sections[0]);
	     s++) {
		const struct ykey *keys = policy_sections[s].keys;

		if (keys == NULL)
			keys = stages_schema(policy_sections[s].stages - 1);
		for (k = 0; keys[k].name != NULL; k++, n++) {
			if (n != i)
				continue;
			if (n >= 256)
				return 0;
			snprintf(paths[n], sizeof(paths[n]), "%s%s",
			    policy_sections[s].prefix, keys[k].name);
			out->path = paths[n];
			out->type = ytype_name(keys[k].type);
			out->def = NULL;
			return 1;
		}
	}
	return 0;
}
