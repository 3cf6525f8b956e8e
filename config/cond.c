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

#include "policy_int.h"

#define CLOUDS_ALL ((1u << REQ_CLOUD_MAX) - 1)

static const char *const srcs[] = { "permissions", "group", "access-package" };
static const char *const clouds[] = { "aws", "azure", "gcp" };
static const char *const accesses[] = { "member", "owner" };

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

/* ---- shared by the condition files ---- */

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

const char *
cond_nz(const char *s)
{
	return s ? s : "(none)";
}

/* Iterate a string-or-list node: returns the i-th scalar or NULL. */
const struct ynode *
cond_list_item(const struct ynode *n, size_t i)
{
	if (n->type == YN_SCALAR)
		return i == 0 ? n : NULL;
	return i < n->n ? n->v[i] : NULL;
}

size_t
cond_list_len(const struct ynode *n)
{
	return n->type == YN_SCALAR ? 1 : n->n;
}

int
cond_check_scalars(struct pctx *c, const struct ynode *k, const struct ynode *n)
{
	const struct ynode *it;
	size_t i;
	int bad = 0;

	if (cond_list_len(n) == 0) {
		yerr(&c->y, n, "`%s` must not be an empty list", k->str);
		return -1;
	}
	if (cond_list_len(n) > CFG_MAX_ITEMS) {
		yerr(&c->y, n, "`%s` has more than %d entries", k->str,
		    CFG_MAX_ITEMS);
		return -1;
	}
	for (i = 0; (it = cond_list_item(n, i)) != NULL; i++)
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

	if (cond_check_scalars(c, k, n) < 0)
		return -1;
	if ((p->v = calloc(cond_list_len(n), sizeof(*p->v))) == NULL) {
		yerr(&c->y, n, "out of memory");
		return -1;
	}
	for (i = 0; (it = cond_list_item(n, i)) != NULL; i++) {
		for (j = 0; j < ck->nvocab; j++)
			if (strcmp(ck->vocab[j], it->str) == 0)
				break;
		if (j == ck->nvocab) {
			const char *s =
			    ysuggest(it->str, ck->vocab, ck->nvocab);

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
	const struct pick *p = (const struct pick *)((const char *)r + ck->at);
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
		cond_trace(e, id, ok, "access %s %s %s", cond_nz(access),
		    ok ? "in" : "not in", e->r->canon[id]);
	return ok;
}

/* ---- durations: max_duration, max_start_delay ---- */

static int
compile_dur(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *v, struct rule *r)
{
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
		    (strlen(x->str) > 1 && x->str[strlen(x->str) - 2] == '\\'))
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
		    cond_nz(q->ticket_system), cond_nz(q->ticket_number),
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
		cond_trace(e, id, ok, "justification \"%s\" %s %s", cond_nz(j),
		    ok ? "matches" : "does not match", r->canon[id]);
	return ok;
}

/* ---- requestor_in ---- */

static int
compile_requestor_in(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *v, struct rule *r)
{
	const struct ynode *x;
	size_t i;

	if (cond_check_scalars(c, k, v) < 0)
		return -1;
	r->req_in = calloc(cond_list_len(v), sizeof(*r->req_in));
	if (r->req_in == NULL)
		return -1;
	for (i = 0; (x = cond_list_item(v, i)) != NULL; i++)
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
	    dump_pick, .data = COND_PICK, .at = RULE(source), .vocab = srcs,
	    .nvocab = nitems(srcs) },
	/* bit 0 of the mask is REQ_CLOUD_NONE, which no rule names */
	[C_CLOUD] = { "cloud", YT_STR_OR_SEQ, compile_pick, eval_cloud,
	    dump_pick, .data = COND_PICK, .at = RULE(cloud), .vocab = clouds,
	    .nvocab = nitems(clouds), .pick_base = 1,
	    .only_src = 1u << REQ_SRC_PERMISSIONS },
	[C_SYSTEM] = { "system", YT_STR_OR_SEQ, cond_compile_globs,
	    cond_eval_scalar, cond_dump_globs, .data = COND_GLOBS,
	    .at = RULE(system), .field = REQ(system_id),
	    .what = "authorizationSystemId", .fold = CLOUDS_ALL },
	[C_REQUEST_ACTION] = { "request_action", YT_STR_OR_SEQ,
	    cond_compile_request_action, cond_eval_scalar, cond_dump_globs,
	    .data = COND_GLOBS, .at = RULE(request_action),
	    .field = REQ(request_action), .what = "action",
	    .fold = CLOUDS_ALL },
	[C_ACCESS] = { "access", YT_STR_OR_SEQ, compile_pick, eval_access,
	    dump_pick, .data = COND_PICK, .at = RULE(access), .vocab = accesses,
	    .nvocab = nitems(accesses) },
	[C_GROUP] = { "group", YT_STR_OR_SEQ, cond_compile_globs,
	    cond_eval_scalar, cond_dump_globs, .data = COND_GLOBS,
	    .at = RULE(group), .field = REQ(group_id), .what = "group",
	    .fold = CLOUDS_ALL },
	[C_PACKAGE] = { "package", YT_STR_OR_SEQ, cond_compile_globs,
	    cond_eval_scalar, cond_dump_globs, .data = COND_GLOBS,
	    .at = RULE(package), .field = REQ(package_id),
	    .what = "access package", .fold = CLOUDS_ALL,
	    .only_src = 1u << REQ_SRC_ACCESS_PACKAGE },
	[C_REQUESTOR] = { "requestor", YT_STR_OR_SEQ, cond_compile_globs,
	    cond_eval_requestor, cond_dump_globs, .data = COND_GLOBS,
	    .at = RULE(requestor) },
	[C_MAX_DURATION] = { "max_duration", YT_DUR, compile_dur,
	    eval_max_duration, dump_dur, .data = COND_DURATION,
	    .at = RULE(max_duration) },
	[C_MAX_START_DELAY] = { "max_start_delay", YT_DUR, compile_dur,
	    eval_max_start_delay, dump_dur, .data = COND_DURATION,
	    .at = RULE(max_start_delay) },
	[C_TICKET] = { "ticket", YT_MAP, compile_ticket, eval_ticket,
	    dump_ticket, .keys = ticket_keys },
	[C_ACTIONS] = { "actions", YT_STR_OR_SEQ, cond_compile_globs,
	    cond_eval_items, cond_dump_globs, .data = COND_GLOBS,
	    .at = RULE(actions), .field = REQ(actions),
	    .fold = CLOUDS_ALL & ~(1u << REQ_CLOUD_GCP) },
	[C_ROLES] = { "roles", YT_STR_OR_SEQ, cond_compile_globs,
	    cond_eval_items, cond_dump_globs, .data = COND_GLOBS,
	    .at = RULE(roles), .field = REQ(roles),
	    .fold = CLOUDS_ALL & ~(1u << REQ_CLOUD_GCP) },
	[C_POLICIES] = { "policies", YT_STR_OR_SEQ, cond_compile_globs,
	    cond_eval_items, cond_dump_globs, .data = COND_GLOBS,
	    .at = RULE(policies), .field = REQ(policies), .fold = CLOUDS_ALL },
	[C_RESOURCES] = { "resources", YT_STR_OR_SEQ, cond_compile_globs,
	    cond_eval_items, cond_dump_globs, .data = COND_GLOBS,
	    .at = RULE(resources), .field = REQ(resources),
	    .fold = 1u << REQ_CLOUD_AZURE, .scope = 1 },
	[C_JUSTIFICATION] = { "justification", YT_STR_OR_MAP,
	    compile_justification, eval_justification, dump_justification,
	    .keys = just_keys },
	[C_SCHEDULE] = { "schedule", YT_MAP, cond_compile_schedule,
	    cond_eval_schedule, cond_dump_schedule, .keys = cond_sched_keys },
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
			cond_globs_free(r, (enum cond_id)id);
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
