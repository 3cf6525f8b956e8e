/*
 * Request store shared by the sources: hash maps plus creation order, the
 * lifecycle timer heap, permissionsRequestChanges, ground truth, the single
 * approval step and $filter evaluation.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "emu.h"

const char *const src_names[SRC_MAX] = {
	[SRC_PERMISSIONS] = "permissions",
	[SRC_GROUP] = "group",
	[SRC_ACCESS_PACKAGE] = "access-package",
};

int64_t
emu_now(struct emu *e)
{
	return clock_real_ticks() + e->clock_offset;
}

int
reqs_init(struct emu *e)
{
	int s;

	for (s = 0; s < SRC_MAX; s++)
		hmap_init(&e->reqs[s].byid);
	hmap_init(&e->changes_byid);
	return 0;
}

struct req *
req_new(struct emu *e, enum src src)
{
	struct reqlist *l = &e->reqs[src];
	struct req *r;

	if (l->n >= e->cfg.max_requests)
		return NULL;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (l->v == NULL)
			abort();
	}
	r = xcalloc(1, sizeof(*r));
	r->src = src;
	emu_guid(r->id);
	emu_guid(r->step_id);
	r->created = emu_now(e);
	l->v[l->n++] = r;
	hmap_put(&l->byid, r->id, r, NULL);
	return r;
}

struct req *
req_get(struct emu *e, enum src src, const char *id)
{
	return hmap_get(&e->reqs[src].byid, id);
}

static void
req_free(void *p)
{
	struct req *r = p;

	json_object_put(r->obj);
	free(r->ticket);
	free(r->review_justification);
	access_req_free(r->ap);
	free(r);
}

void
req_free_all(struct emu *e)
{
	int s;

	for (s = 0; s < SRC_MAX; s++) {
		struct reqlist *l = &e->reqs[s];

		hmap_clear(&l->byid, NULL);
		while (l->n > 0)
			req_free(l->v[--l->n]);
		free(l->v);
		l->v = NULL;
		l->cap = 0;
	}
	free(e->changes);
	e->changes = NULL;
	e->nchanges = e->capchanges = 0;
	hmap_clear(&e->changes_byid, NULL);
	e->last_change = 0;
	e->nskewed = 0;
	free(e->timers);
	e->timers = NULL;
	e->ntimers = e->captimers = 0;
	if (e->truth_decisions != NULL)
		json_object_put(e->truth_decisions);
	e->truth_decisions = NULL;
	e->truth_seq = 0;
}

void
req_change(
    struct emu *e, struct req *r, const char *status, const char *occurrence)
{
	struct change *ch;
	int64_t t = emu_now(e);

	if (t <= e->last_change)
		t = e->last_change + 1;
	e->last_change = t;
	if (e->nchanges == e->capchanges) {
		e->capchanges = e->capchanges ? e->capchanges * 2 : 1024;
		e->changes =
		    realloc(e->changes, e->capchanges * sizeof(*e->changes));
		if (e->changes == NULL)
			abort();
	}
	ch = &e->changes[e->nchanges++];
	emu_guid(ch->id);
	ch->t = t;
	ch->r = r;
	ch->status = status;
	ch->occurrence = occurrence;
	hmap_put(
	    &e->changes_byid, ch->id, (void *)(uintptr_t)e->nchanges, NULL);
}

static void
heap_swap(struct timer_ent *a, struct timer_ent *b)
{
	struct timer_ent t = *a;

	*a = *b;
	*b = t;
}

void
req_schedule(struct emu *e, struct req *r, int64_t due)
{
	size_t i;

	r->gen++;
	r->due = due;
	if (due == 0)
		return;
	if (e->ntimers == e->captimers) {
		e->captimers = e->captimers ? e->captimers * 2 : 256;
		e->timers =
		    realloc(e->timers, e->captimers * sizeof(*e->timers));
		if (e->timers == NULL)
			abort();
	}
	i = e->ntimers++;
	e->timers[i].due = due;
	e->timers[i].r = r;
	e->timers[i].gen = r->gen;
	while (i > 0 && e->timers[(i - 1) / 2].due > e->timers[i].due) {
		heap_swap(&e->timers[(i - 1) / 2], &e->timers[i]);
		i = (i - 1) / 2;
	}
}

static struct timer_ent
heap_pop(struct emu *e)
{
	struct timer_ent top = e->timers[0];
	size_t i = 0, l, m;

	e->timers[0] = e->timers[--e->ntimers];
	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < e->ntimers && e->timers[l].due < e->timers[m].due)
			m = l;
		if (l + 1 < e->ntimers &&
		    e->timers[l + 1].due < e->timers[m].due)
			m = l + 1;
		if (m == i)
			break;
		heap_swap(&e->timers[i], &e->timers[m]);
		i = m;
	}
	return top;
}

void
req_tick(struct emu *e)
{
	int64_t now;
	struct timer_ent t;

	if (e->ntimers == 0)
		return;
	now = emu_now(e);
	while (e->ntimers > 0 && e->timers[0].due <= now) {
		t = heap_pop(e);
		if (t.gen != t.r->gen || t.r->due != t.due)
			continue;
		t.r->due = 0;
		switch (t.r->src) {
		case SRC_PERMISSIONS:
			epm_due(e, t.r);
			break;
		case SRC_GROUP:
			pim_due(e, t.r);
			break;
		default:
			access_due(e, t.r);
			break;
		}
	}
}

void
truth_add(struct emu *e, struct call *c, struct req *r, const char *action,
    const char *justification)
{
	json_object *d = json_object_new_object(), *caller;
	char iso[40];

	if (e->truth_decisions == NULL)
		e->truth_decisions = json_object_new_array();
	clock_iso(emu_now(e), iso);
	caller = json_object_new_object();
	json_object_object_add(caller, "kind",
	    json_object_new_string(c == NULL                 ? "system"
	                           : c->tok == NULL          ? "control"
	                           : c->tok->kind == TOK_APP ? "app"
	                                                     : "delegated"));
	json_object_object_add(caller, "id",
	    c != NULL && c->user != NULL ? json_object_new_string(c->user->id)
	                                 : NULL);
	json_object_object_add(caller, "upn",
	    c != NULL && c->user != NULL ? json_object_new_string(c->user->upn)
	                                 : NULL);
	json_object_object_add(caller, "app",
	    c != NULL && c->tok != NULL
	        ? json_object_new_string(c->tok->client_id)
	        : NULL);
	json_object_object_add(
	    d, "seq", json_object_new_int64((int64_t)++e->truth_seq));
	json_object_object_add(
	    d, "source", json_object_new_string(src_names[r->src]));
	json_object_object_add(d, "requestId", json_object_new_string(r->id));
	json_object_object_add(d, "stepId", json_object_new_string(r->step_id));
	json_object_object_add(d, "action", json_object_new_string(action));
	json_object_object_add(d, "caller", caller);
	json_object_object_add(d, "justification",
	    justification != NULL ? json_object_new_string(justification)
	                          : NULL);
	json_object_object_add(d, "time", json_object_new_string(iso));
	json_object_array_add(e->truth_decisions, d);
}

static const char *const step_status_names[] = { "InProgress", "Completed",
	"Expired" };
static const char *const review_names[] = { "NotReviewed", "Approved",
	"Denied" };

json_object *
req_step_json(struct emu *e, struct call *c, struct req *r)
{
	json_object *o = json_object_new_object(), *by = NULL;
	const struct user *u;
	char iso[40];
	bool mine = false;

	json_object_object_add(o, "id", json_object_new_string(r->step_id));
	json_object_object_add(
	    o, "displayName", json_object_new_string("Approval stage 1"));
	json_object_object_add(o, "status",
	    json_object_new_string(step_status_names[r->step_status]));
	json_object_object_add(
	    o, "reviewResult", json_object_new_string(review_names[r->review]));
	/* reviewedBy is an `identity`: displayName and id, nothing more
	 * (microsoft-graph-docs-contrib: api-reference/v1.0/resources/
	 * approvalstage.md, identity.md; beta approvalstep.md likewise). */
	if (r->reviewer_id[0] != '\0') {
		by = json_object_new_object();
		u = store_user(e, r->reviewer_id);
		json_object_object_add(
		    by, "id", json_object_new_string(r->reviewer_id));
		json_object_object_add(by, "displayName",
		    u != NULL ? json_object_new_string(u->name) : NULL);
	}
	json_object_object_add(o, "reviewedBy", by);
	if (r->reviewed != 0) {
		clock_iso(r->reviewed, iso);
		json_object_object_add(
		    o, "reviewedDateTime", json_object_new_string(iso));
	} else
		json_object_object_add(o, "reviewedDateTime", NULL);
	json_object_object_add(o, "justification",
	    r->review_justification != NULL
	        ? json_object_new_string(r->review_justification)
	        : NULL);
	/* "assignedToMe: Indicates whether the stage is assigned to the
	 * calling user to review" (microsoft-graph-docs-contrib:
	 * api-reference/v1.0/resources/approvalstage.md): only while it is
	 * in progress, as the access-package stages answer too. */
	if (c->user != NULL && c->tok != NULL &&
	    c->tok->kind == TOK_DELEGATED && r->step_status == STEP_INPROGRESS)
		mine = store_is_approver(e, c->user->id, r->src) &&
		       strcmp(c->user->id, r->requestor_id) != 0;
	json_object_object_add(
	    o, "assignedToMe", json_object_new_boolean(mine));
	return o;
}

/*
 * The body of an approval decision: "reviewResult ... Possible values
 * are: `Approve`, `Deny`. Required." and an optional justification
 * (microsoft-graph-docs-contrib: api-reference/v1.0/api/
 * approvalstage-update.md). Anything else in the body (a read-only
 * property such as reviewedBy, a typo) is refused 400, and the values are
 * matched exactly: where the docs say no more, the emulator is the
 * stricter. True when the body may be read on; answers otherwise.
 */
bool
review_body_ok(struct call *c, json_object *b)
{
	static const char *const allowed[] = { "reviewResult", "justification",
		"@odata.type", NULL };
	const char *bad = emu_unknown_key(b, allowed);

	if (bad == NULL)
		return true;
	call_error(c, 400, "BadRequest",
	    "The property '%s' cannot be set when updating an approvalStage; "
	    "give reviewResult (Approve or Deny) and justification.",
	    bad);
	return false;
}

int
req_review(struct emu *e, struct call *c, struct req *r, const char *step_id)
{
	json_object *b, *v;
	const char *res, *just = NULL;
	bool approve;

	if (strcasecmp(step_id, r->step_id) != 0) {
		call_error(c, 404, "Request_ResourceNotFound",
		    "Approval step '%s' was not found.", step_id);
		return -1;
	}
	if ((b = call_body(c, true)) == NULL || !review_body_ok(c, b))
		return -1;
	if (!json_object_object_get_ex(b, "reviewResult", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		call_error(c, 400, "BadRequest",
		    "The property 'reviewResult' is required.");
		return -1;
	}
	res = json_object_get_string(v);
	if (strcmp(res, "Approve") == 0)
		approve = true;
	else if (strcmp(res, "Deny") == 0)
		approve = false;
	else {
		call_error(c, 400, "BadRequest",
		    "Invalid reviewResult '%s': expected Approve or Deny.",
		    res);
		return -1;
	}
	if (json_object_object_get_ex(b, "justification", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) > 500) {
			call_error(c, 400, "BadRequest",
			    "The property 'justification' must be a string of "
			    "at most 500 characters.");
			return -1;
		}
		just = json_object_get_string(v);
	}
	if (!store_is_approver(e, c->user->id, r->src)) {
		call_error(c, 403, "Authorization_RequestDenied",
		    "The caller is not an approver of this request.");
		return -1;
	}
	if (strcmp(c->user->id, r->requestor_id) == 0) {
		call_error(c, 403, "Authorization_RequestDenied",
		    "The requestor cannot approve their own request.");
		return -1;
	}
	if (r->step_status != STEP_INPROGRESS) {
		call_error(c, 409, "Conflict",
		    "The approval step has already been completed.");
		return -1;
	}
	r->step_status = STEP_COMPLETED;
	r->review = approve ? REV_APPROVED : REV_DENIED;
	snprintf(r->reviewer_id, sizeof(r->reviewer_id), "%s", c->user->id);
	r->reviewed = emu_now(e);
	free(r->review_justification);
	r->review_justification = xstrdup(just);
	truth_add(e, c, r, approve ? "approve" : "deny", just);
	return approve ? 1 : 0;
}

void
req_steps_reply(struct call *c, struct req *r)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_array_add(a, req_step_json(c->emu, c, r));
	json_object_object_add(o, "value", a);
	call_reply(c, 200, o);
}

int
req_step_call(
    struct call *c, struct req *r, const char *step_id, const char *noun)
{
	if (c->cmd != EVHTTP_REQ_GET)
		return req_review(c->emu, c, r, step_id);
	if (strcasecmp(step_id, r->step_id) != 0)
		call_error(c, 404, "Request_ResourceNotFound",
		    "Approval %s '%s' was not found.", noun, step_id);
	else
		call_reply(c, 200, req_step_json(c->emu, c, r));
	return -1;
}

/* ---- query options ---- */

static bool
name_in(const char *const *list, const char *name, size_t n)
{
	size_t i;

	for (i = 0; list != NULL && list[i] != NULL; i++)
		if (strlen(list[i]) == n && strncasecmp(list[i], name, n) == 0)
			return true;
	return false;
}

int
req_query_check(struct call *c, const char *const *opts,
    const char *const *props, const char *type)
{
	struct evkeyval *kv;
	const char *sel, *p;
	size_t n;

	TAILQ_FOREACH(kv, &c->q, next)
	{
		if (kv->key[0] != '$' ||
		    name_in(opts, kv->key, strlen(kv->key)))
			continue;
		call_error(c, 400, "BadRequest",
		    "The query option '%s' is not supported by this method.",
		    kv->key);
		return -1;
	}
	if ((sel = call_query(c, "$select")) == NULL)
		return 0;
	if (*sel == '\0') {
		call_error(c, 400, "BadRequest", "$select names no property.");
		return -1;
	}
	for (p = sel; *p != '\0'; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		if (n > 0 && name_in(props, p, n))
			continue;
		call_error(c, 400, "BadRequest",
		    "Could not find a property named '%.*s' on type "
		    "'microsoft.graph.%s'.",
		    (int)(n > 64 ? 64 : n), p, type != NULL ? type : "entity");
		return -1;
	}
	return 0;
}

json_object *
req_select(struct call *c, json_object *o)
{
	const char *sel = call_query(c, "$select");
	json_object *out;

	if (sel == NULL)
		return json_object_get(o);
	out = json_object_new_object();
	json_object_object_foreach(o, k, v)
	{
		const char *p;
		size_t n, kl = strlen(k);

		for (p = sel; *p != '\0'; p += n + (p[n] == ',')) {
			n = strcspn(p, ",");
			if (n == kl && strncasecmp(p, k, n) == 0) {
				json_object_object_add(
				    out, k, json_object_get(v));
				break;
			}
		}
	}
	return out;
}

/* ---- $filter ---- */

static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

int
filter_parse(const char *s, struct filter *f, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		enum fop op;
	} ops[] = { { "eq", FOP_EQ }, { "ne", FOP_NE }, { "gt", FOP_GT },
		{ "ge", FOP_GE }, { "lt", FOP_LT }, { "le", FOP_LE } };
	const char *p, *start;
	char *v;
	size_t i, n;

	memset(f, 0, sizeof(*f));
	if (s == NULL)
		return 0;
	p = skip_ws(s);
	while (*p != '\0') {
		if (f->n == EMU_FILTER_MAX) {
			snprintf(err, errlen, "Too many filter clauses.");
			goto fail;
		}
		start = p;
		while (isalnum((unsigned char)*p) || *p == '/' || *p == '@' ||
		       *p == '.')
			p++;
		if (p == start) {
			snprintf(err, errlen,
			    "Invalid filter clause near '%s'.", start);
			goto fail;
		}
		f->field[f->n] = strndup(start, (size_t)(p - start));
		p = skip_ws(p);
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (strncasecmp(p, ops[i].name, 2) == 0 && p[2] == ' ')
				break;
		if (i == sizeof(ops) / sizeof(ops[0])) {
			f->n++;
			snprintf(err, errlen,
			    "Invalid filter clause: unsupported operator.");
			goto fail;
		}
		f->op[f->n] = ops[i].op;
		p = skip_ws(p + 2);
		if (*p == '\'') {
			v = xcalloc(strlen(p) + 1, 1);
			n = 0;
			for (p++;; p++) {
				if (*p == '\0') {
					free(v);
					f->n++;
					snprintf(err, errlen,
					    "Unterminated string literal.");
					goto fail;
				}
				if (*p == '\'') {
					if (p[1] == '\'') {
						v[n++] = '\'';
						p++;
						continue;
					}
					p++;
					break;
				}
				v[n++] = *p;
			}
			f->val[f->n] = v;
		} else {
			start = p;
			while (*p != '\0' && *p != ' ')
				p++;
			if (p == start) {
				f->n++;
				snprintf(err, errlen, "Missing filter value.");
				goto fail;
			}
			f->val[f->n] = strndup(start, (size_t)(p - start));
		}
		f->n++;
		p = skip_ws(p);
		if (*p == '\0')
			break;
		/* 'and' or 'or' throughout; the emulator does not mix them
		 * (no precedence, no parentheses). */
		if (strncasecmp(p, "and ", 4) == 0 && (f->n == 1 || !f->any))
			p = skip_ws(p + 4);
		else if (strncasecmp(p, "or ", 3) == 0 &&
		         (f->n == 1 || f->any)) {
			f->any = true;
			p = skip_ws(p + 3);
		} else {
			snprintf(err, errlen,
			    "Invalid filter: join clauses with 'and' or with "
			    "'or', not both.");
			goto fail;
		}
		if (*p == '\0') {
			snprintf(err, errlen, "Invalid filter: dangling join.");
			goto fail;
		}
	}
	return 0;
fail:
	filter_free(f);
	return -1;
}

void
filter_free(struct filter *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->field[i]);
		free(f->val[i]);
	}
	memset(f, 0, sizeof(*f));
}

static json_object *
field_get(json_object *o, const char *path)
{
	char buf[128], *seg, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = strtok_r(buf, "/", &save); seg != NULL && o != NULL;
	     seg = strtok_r(NULL, "/", &save))
		if (!json_object_object_get_ex(o, seg, &o))
			return NULL;
	return o;
}

static bool
filter_clause(const struct filter *f, size_t i, json_object *o)
{
	json_object *v = field_get(o, f->field[i]);
	const char *s = v != NULL ? json_object_get_string(v) : NULL;
	int64_t a, b;
	int cmp;

	if (strcmp(f->val[i], "null") == 0)
		cmp = s == NULL ? 0 : 1;
	else if (s == NULL)
		return f->op[i] == FOP_NE;
	else if (clock_parse_iso(s, &a) == 0 &&
	         clock_parse_iso(f->val[i], &b) == 0)
		cmp = a < b ? -1 : a > b;
	else if (f->op[i] == FOP_EQ || f->op[i] == FOP_NE)
		cmp = strcasecmp(s, f->val[i]);
	else
		cmp = strcmp(s, f->val[i]);
	switch (f->op[i]) {
	case FOP_EQ:
		return cmp == 0;
	case FOP_NE:
		return cmp != 0;
	case FOP_GT:
		return cmp > 0;
	case FOP_GE:
		return cmp >= 0;
	case FOP_LT:
		return cmp < 0;
	case FOP_LE:
		return cmp <= 0;
	}
	return false;
}

bool
filter_match(const struct filter *f, json_object *o)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (filter_clause(f, i, o) == f->any)
			return f->any;
	return f->n == 0 || !f->any;
}

/* Is value i a repeat of an earlier one (ids are case-insensitive)? */
static bool
filter_seen_before(const struct filter *f, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (strcasecmp(f->val[j], f->val[i]) == 0)
			return true;
	return false;
}

/* "id eq 'a'" or "id eq 'a' or id eq 'b' …": answered by id lookups. */
static bool
filter_ids_only(const struct filter *f)
{
	size_t i;

	if (f->n == 0 || (f->n > 1 && !f->any))
		return false;
	for (i = 0; i < f->n; i++)
		if (f->op[i] != FOP_EQ || strcmp(f->field[i], "id") != 0)
			return false;
	return true;
}

void
req_list(struct call *c, enum src src)
{
	req_list_view(c, src, NULL, NULL);
}

void
req_list_view(struct call *c, enum src src,
    json_object *(*view)(struct call *, struct req *, void *), void *arg)
{
	struct emu *e = c->emu;
	struct reqlist *l = &e->reqs[src];
	struct filter f;
	json_object *o, *a;
	char err[160], *link;
	size_t skip, i, n = 0;
	int top;
	struct req *r;

	if (call_top(c, &top) < 0 || call_skiptoken(c, &skip) < 0)
		return;
	if (filter_parse(call_query(c, "$filter"), &f, err, sizeof(err)) < 0) {
		call_error(c, 400, "BadRequest", "%s", err);
		return;
	}
	o = json_object_new_object();
	a = json_object_new_array();
	if (filter_ids_only(&f)) {
		c->filter_ids = (int)f.n;
		for (i = 0; i < f.n; i++)
			if (!filter_seen_before(&f, i) &&
			    (r = req_get(e, src, f.val[i])) != NULL)
				json_object_array_add(
				    a, view != NULL ? view(c, r, arg)
				                    : json_object_get(r->obj));
		i = l->n;
	} else {
		for (i = skip; i < l->n && n < (size_t)top; i++) {
			if (!filter_match(&f, l->v[i]->obj))
				continue;
			json_object_array_add(
			    a, view != NULL ? view(c, l->v[i], arg)
			                    : json_object_get(l->v[i]->obj));
			n++;
		}
	}
	json_object_object_add(o, "value", a);
	if (i < l->n) {
		link = call_next_link(c, i);
		json_object_object_add(
		    o, "@odata.nextLink", json_object_new_string(link));
		free(link);
	}
	filter_free(&f);
	call_reply(c, 200, o);
}
