/*
 * Sources polled by listing their pending requests (PIM for Groups,
 * entitlement management): the shared poll cycle, request read, approval
 * read, stage decision and cancel. Each source names its paths and fields
 * in a struct lister_source; nothing here knows one source from another.
 *
 * There is no change feed: every cycle lists the requests pending approval
 * (all pages). New ids are observed with their body; requests the store
 * still follows that are no longer listed are fetched one by one and their
 * status observed. A cycle with a failed page concludes nothing about the
 * requests it did not see.
 *
 * A source may list only what approvald's account may decide (PIM for
 * Groups: filterByCurrentUser(on='approver'), delegated). That answer is
 * capped without a nextLink; when it is full the source's scopes (the
 * policy's groups) are listed one by one as well, so nothing is missed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "limits.h"
#include "log.h"
#include "parse.h"
#include "sources.h"

/* Requests the store follows, gathered at the start of a cycle. */
struct lister_known {
	char *gid;
	int listed; /* seen pending in this cycle's listing */
};

/* A listed source's state (d->poll[source].lister), allocated by the
 * first cycle. */
struct lister_state {
	struct lister_known *v;
	size_t n, cap;
	char **ended; /* approved requests whose grant has ended (keys) */
	size_t nended;
	int checking; /* the listing is done; fetching the rest */
	int scoped;   /* the per-scope listings were started this cycle */
	/* the policy already warned about (requests beyond the cap) */
	const struct policy *warned;
};

struct lister_fetch {
	struct daemon *d;
	const struct lister_source *ls;
	char *gid;
};

struct lister_step {
	adapter_step_cb cb;
	void *arg;
};

static void lister_check_rest(struct daemon *d, const struct lister_source *ls);

static const char *
lister_name(const struct lister_source *ls)
{
	return req_source_name(ls->source);
}

static struct lister_state *
lister_st(struct daemon *d, const struct lister_source *ls)
{
	return d->poll[ls->source].lister;
}

struct lister_known_arg {
	const struct lister_source *ls;
	struct lister_state *st;
};

static void
lister_known_free(struct lister_state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		free(st->v[i].gid);
	free(st->v);
	st->v = NULL;
	st->n = st->cap = 0;
	for (i = 0; i < st->nended; i++)
		free(st->ended[i]);
	free(st->ended);
	st->ended = NULL;
	st->nended = 0;
	st->checking = st->scoped = 0;
}

/* 1 when Graph never changes a request with this status again. */
static int
lister_settled(const struct lister_source *ls, const char *status)
{
	size_t i;

	for (i = 0; ls->settled != NULL && ls->settled[i] != NULL; i++)
		if (status != NULL && strcmp(status, ls->settled[i]) == 0)
			return 1;
	return 0;
}

/*
 * An approved request is followed until its grant ends, plus a margin:
 * Graph documents no status change when a grant simply runs out (`Revoked`
 * follows a cancel), so reading it further would never end.
 */
static int
lister_grant_over(const struct lister_source *ls, const struct store_request *r)
{
	int64_t end;

	if (ls->grant_end == NULL || r->sm.state != SM_S_APPROVED ||
	    r->body == NULL)
		return 0;
	end = ls->grant_end(r->body);
	return end > 0 && clock_now() >= end + LISTER_GRANT_MARGIN;
}

/* Record the end of each ended grant (completed); 0 or -1. */
static int
lister_close_ended(struct daemon *d, const struct lister_source *ls)
{
	struct lister_state *st = lister_st(d, ls);
	struct store_request r;
	struct sm_event ev;
	size_t i;
	int rc = 0;

	for (i = 0; i < st->nended && !d->stopping; i++) {
		memset(&r, 0, sizeof(r));
		if (store_begin(d->store) == -1 ||
		    store_request_get(d->store, st->ended[i], &r) != 0) {
			store_request_clear(&r);
			rc = -1;
			continue;
		}
		batch_dirty(d);
		log_info("request %s: its grant has ended; no longer read "
		         "from Graph",
		    r.key);
		memset(&ev, 0, sizeof(ev));
		ev.kind = SM_E_GRAPH_COMPLETED;
		d->eng->event(d, &r, &ev, "grant ended (schedule)");
		store_request_clear(&r);
	}
	return rc;
}

static int
lister_known_add(void *arg, const struct store_request *r)
{
	const struct lister_known_arg *ka = arg;
	const struct lister_source *ls = ka->ls;
	struct lister_state *st = ka->st;
	struct lister_known *v;

	if (r->source != (int)ls->source || r->gid == NULL ||
	    lister_settled(ls, r->graph_status))
		return 0;
	if (lister_grant_over(ls, r)) {
		char **e = realloc(st->ended, (st->nended + 1) * sizeof(*e));

		if (e == NULL)
			return 1;
		st->ended = e;
		if ((e[st->nended] = strdup(r->key)) == NULL)
			return 1;
		st->nended++;
		return 0;
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 32;

		if ((v = realloc(st->v, cap * sizeof(*v))) == NULL)
			return 1;
		st->v = v;
		st->cap = cap;
	}
	if ((st->v[st->n].gid = strdup(r->gid)) == NULL)
		return 1;
	st->v[st->n++].listed = 0;
	return 0;
}

/* Requests whose Graph status can still move without us: waiting for
 * approvers, left to humans, or granted until the grant ends. Requests
 * with a Graph call in flight are settled by the executor. */
static int
lister_known_load(struct daemon *d, const struct lister_source *ls)
{
	static const enum sm_state follow[] = { SM_S_PENDING, SM_S_ESCALATED,
		SM_S_IGNORED, SM_S_APPROVED, SM_S_ATTENTION };
	struct lister_known_arg ka = { ls, lister_st(d, ls) };
	size_t i;

	lister_known_free(ka.st);
	for (i = 0; i < sizeof(follow) / sizeof(follow[0]); i++)
		if (store_request_each(d->store, sm_state_name(follow[i]),
		        lister_known_add, &ka) != 0)
			return -1;
	return lister_close_ended(d, ls);
}

static void
lister_known_listed(
    struct daemon *d, const struct lister_source *ls, const char *gid)
{
	struct lister_state *st = lister_st(d, ls);
	size_t i;

	for (i = 0; i < st->n; i++)
		if (strcmp(st->v[i].gid, gid) == 0)
			st->v[i].listed = 1;
}

static void
lister_cycle_end(struct daemon *d, const struct lister_source *ls)
{
	struct poll_state *ps = &d->poll[ls->source];

	if (ps->pages != 0 || ps->fetches != 0)
		return;
	if (!lister_st(d, ls)->checking && !ps->failed && !d->stopping) {
		lister_check_rest(d, ls);
		if (ps->fetches != 0)
			return;
	}
	lister_known_free(lister_st(d, ls));
	poll_cycle_done(d, ls->source, !ps->failed);
}

static void
lister_fetched(void *arg, long status, const char *body, const char *err)
{
	struct lister_fetch *f = arg;
	struct daemon *d = f->d;
	const struct lister_source *ls = f->ls;
	struct poll_state *ps = &d->poll[ls->source];
	struct json_object *o;

	ps->fetches--;
	if (status != 200 || body == NULL) {
		log_warnx("poll %s: cannot fetch request %s: %ld %s",
		    lister_name(ls), f->gid, status, err ? err : "");
		ps->failed = 1;
	} else if ((o = parse_json(body, strlen(body))) == NULL ||
	           !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		log_warnx("poll %s: request %s: malformed JSON",
		    lister_name(ls), f->gid);
		ps->failed = 1;
	} else {
		const char *st = adapter_str(o, ls->status_field);

		/* No status: a bad read, fetched again (issue 14, item 15). */
		if (st == NULL) {
			log_warnx("poll %s: request %s has no %s; read again "
			          "later",
			    lister_name(ls), f->gid, ls->status_field);
			metrics_bad_read(d, lister_name(ls), "status");
			ps->failed = 1;
		} else if (d->eng->observe(d, ls->source, f->gid, st, body) ==
		           -1)
			ps->failed = 1;
		json_object_put(o);
	}
	free(f->gid);
	free(f);
	lister_cycle_end(d, ls);
}

/* Fetch every followed request the listing did not show as pending. */
static void
lister_check_rest(struct daemon *d, const struct lister_source *ls)
{
	struct lister_state *st = lister_st(d, ls);
	struct poll_state *ps = &d->poll[ls->source];
	struct lister_fetch *f;
	size_t i;

	st->checking = 1;
	for (i = 0; i < st->n && !d->stopping; i++) {
		if (st->v[i].listed)
			continue;
		if ((f = calloc(1, sizeof(*f))) == NULL ||
		    (f->gid = strdup(st->v[i].gid)) == NULL) {
			free(f);
			ps->failed = 1;
			return;
		}
		f->d = d;
		f->ls = ls;
		ps->fetches++;
		lister_fetch(d, ls, st->v[i].gid, lister_fetched, f);
	}
}

/* Observe one listed request; 0 ok, -1 failed. */
static int
lister_apply(
    struct daemon *d, const struct lister_source *ls, struct json_object *item)
{
	const char *id = adapter_str(item, "id"),
	           *st = adapter_str(item, ls->status_field);
	struct store_request r;
	char *key;
	int rc;

	if (id == NULL) {
		log_warnx(
		    "poll %s: request without id; skipped", lister_name(ls));
		return 0;
	}
	lister_known_listed(d, ls, id);
	if ((key = source_key(ls->source, id)) == NULL)
		return -1;
	memset(&r, 0, sizeof(r));
	rc = store_request_get(d->store, key, &r);
	free(key);
	if (rc == -1)
		return -1;
	/* Still pending and already known: nothing new to record. */
	if (rc == 0 && r.graph_status != NULL && st != NULL &&
	    strcmp(r.graph_status, st) == 0) {
		store_request_clear(&r);
		return 0;
	}
	store_request_clear(&r);
	return d->eng->observe(d, ls->source, id, st ? st : "unknown",
	           json_object_to_json_string_ext(
	               item, JSON_C_TO_STRING_PLAIN)) == -1
	           ? -1
	           : 0;
}

/* The pending requests of one scope (`requests`, app token); 0 or -1. */
static int
lister_list_scope(
    struct daemon *d, const struct lister_source *ls, const char *id)
{
	char *q = NULL, *filter = NULL, *expand = NULL, *url = NULL;
	int rc = -1;

	/* OData string literals double their quotes. */
	if (strchr(id, '\'') != NULL)
		return -1;
	if (asprintf(&q, "%s eq '%s' and %s", ls->scope_field, id,
	        ls->pending) == -1) {
		q = NULL;
		goto out;
	}
	if ((filter = graph_escape(q)) == NULL ||
	    (ls->expand != NULL &&
	        (expand = graph_escape(ls->expand)) == NULL) ||
	    (url = adapter_url(d, ls->prefix, "%s?$filter=%s%s%s", ls->requests,
	         filter, expand ? "&$expand=" : "", expand ? expand : "")) ==
	        NULL)
		goto out;
	d->poll[ls->source].pages++;
	daemon_graph(d, TOKEN_APP, "GET", url, NULL, ls->page, d);
	rc = 0;
out:
	free(q);
	free(filter);
	free(expand);
	free(url);
	return rc;
}

/*
 * The capped listing came back full: list every scope the policy names
 * (once per cycle). Requests of scopes it does not name are seen when the
 * capped listing shows them or they are followed: say so once per policy.
 */
static void
lister_list_scopes(struct daemon *d, const struct lister_source *ls)
{
	struct lister_state *st = lister_st(d, ls);
	struct poll_state *ps = &d->poll[ls->source];
	const char *ids[LISTER_MAX_SCOPES];
	char **copy;
	size_t i, n;
	int unscoped = 0;

	if (st->scoped || ls->scopes == NULL)
		return;
	st->scoped = 1;
	n = ls->scopes(d, ids, LISTER_MAX_SCOPES, &unscoped);
	log_debug("poll %s: the approver listing holds %zu requests, its "
	          "limit; listing %zu groups one by one",
	    lister_name(ls), ls->mine_cap, n);
	if (unscoped && st->warned != d->policy) {
		st->warned = d->policy;
		log_warnx("poll %s: Graph lists at most %zu requests awaiting "
		          "approvald's account; the policy has rules for "
		          "requests of groups it does not name (no `group:` "
		          "condition, a wildcard, or a non-ignore default), so "
		          "requests beyond %zu may be seen late",
		    lister_name(ls), ls->mine_cap, ls->mine_cap);
	}
	if ((copy = calloc(n + 1, sizeof(*copy))) == NULL) {
		ps->failed = 1;
		return;
	}
	for (i = 0; i < n; i++)
		if ((copy[i] = strdup(ids[i])) == NULL)
			ps->failed = 1;
	for (i = 0; i < n && !ps->failed && !d->stopping; i++)
		if (lister_list_scope(d, ls, copy[i]) == -1) {
			log_warnx("poll %s: cannot list group %s",
			    lister_name(ls), copy[i]);
			ps->failed = 1;
		}
	for (i = 0; i < n; i++)
		free(copy[i]);
	free(copy);
}

static void
lister_page_any(struct daemon *d, const struct lister_source *ls, int mine,
    long status, const char *body, const char *err)
{
	struct poll_state *ps = &d->poll[ls->source];
	struct json_object *root = NULL, *value;
	const char *next;
	size_t i, n;
	int more = 0;

	if (status != 200 || body == NULL) {
		log_warnx("poll %s: requests page: %ld %s", lister_name(ls),
		    status, err ? err : "");
		ps->failed = 1;
		goto out;
	}
	if ((root = parse_page(body, strlen(body), &value, &next)) == NULL) {
		log_warnx(
		    "poll %s: requests page is malformed", lister_name(ls));
		ps->failed = 1;
		goto out;
	}
	if (store_begin(d->store) == -1) {
		ps->failed = 1;
		goto out;
	}
	batch_dirty(d);
	n = json_object_array_length(value);
	for (i = 0; i < n && !d->stopping; i++)
		if (lister_apply(d, ls, json_object_array_get_idx(value, i)) ==
		    -1)
			ps->failed = 1;
	if (next != NULL && !d->stopping) {
		more = 1;
		if (poll_follow_as(d, ls->source, next,
		        mine ? ls->mine_page : ls->page,
		        mine ? TOKEN_DELEGATED : TOKEN_APP) == -1)
			ps->failed = 1;
	}
	if (mine && !more && n >= ls->mine_cap && !d->stopping)
		lister_list_scopes(d, ls);
out:
	json_object_put(root);
	ps->pages--; /* last, so a failed fetch cannot end the cycle early */
	lister_cycle_end(d, ls);
}

void
lister_page(void *arg, const struct lister_source *ls, long status,
    const char *body, const char *err)
{
	lister_page_any(arg, ls, 0, status, body, err);
}

void
lister_mine_page(void *arg, const struct lister_source *ls, long status,
    const char *body, const char *err)
{
	lister_page_any(arg, ls, 1, status, body, err);
}

void
lister_poll(struct daemon *d, const struct lister_source *ls)
{
	struct poll_state *ps = &d->poll[ls->source];
	char *filter = NULL, *expand = NULL, *url = NULL;

	if (ps->lister == NULL &&
	    (ps->lister = calloc(1, sizeof(*ps->lister))) == NULL) {
		log_warnx("poll %s: out of memory", lister_name(ls));
		ps->failed = 1;
		poll_cycle_done(d, ls->source, 0);
		return;
	}

	/* No $top: neither list documents it (microsoft-graph-docs-contrib:
	 * api-reference/v1.0/api/
	 * privilegedaccessgroupassignmentschedulerequest-filterbycurrentuser.md,
	 * entitlementmanagement-list-assignmentrequests.md: $expand and
	 * $filter only); Graph pages with nextLinks. */
	if (lister_known_load(d, ls) == -1 ||
	    (filter = graph_escape(ls->pending)) == NULL ||
	    (ls->expand != NULL &&
	        (expand = graph_escape(ls->expand)) == NULL) ||
	    (url = adapter_url(d, ls->prefix, "%s?$filter=%s%s%s",
	         ls->mine ? ls->mine : ls->requests, filter,
	         expand ? "&$expand=" : "", expand ? expand : "")) == NULL) {
		log_warnx("poll %s: cannot start a cycle", lister_name(ls));
		lister_known_free(lister_st(d, ls));
		ps->failed = 1;
		poll_cycle_done(d, ls->source, 0);
		goto out;
	}
	log_debug("poll %s: %zu followed requests", lister_name(ls),
	    lister_st(d, ls)->n);
	ps->pages = 1;
	if (ls->mine != NULL)
		daemon_graph(
		    d, TOKEN_DELEGATED, "GET", url, NULL, ls->mine_page, d);
	else
		daemon_graph(d, TOKEN_APP, "GET", url, NULL, ls->page, d);
out:
	free(filter);
	free(expand);
	free(url);
}

/* ---- request, step, decision, cancel ----------------------------------- */

void
lister_fetch(struct daemon *d, const struct lister_source *ls, const char *gid,
    adapter_body_cb cb, void *arg)
{
	char *g = graph_escape(gid), *expand = NULL, *url = NULL;

	if (g == NULL ||
	    (ls->expand != NULL &&
	        (expand = graph_escape(ls->expand)) == NULL) ||
	    (url = adapter_url(d, ls->prefix, "%s/%s%s%s", ls->requests, g,
	         expand ? "?$expand=" : "", expand ? expand : "")) == NULL)
		cb(arg, 0, NULL, "out of memory");
	else
		daemon_graph(d, TOKEN_APP, "GET", url, NULL, cb, arg);
	free(g);
	free(expand);
	free(url);
}

static void
lister_step_done(void *arg, long status, const char *body, const char *err)
{
	struct lister_step *ss = arg;
	struct step_info si;

	memset(&si, 0, sizeof(si));
	if (status != 200 || body == NULL)
		ss->cb(ss->arg, status, NULL, err ? err : "no answer");
	else if (parse_stages(body, strlen(body), &si) == -1)
		ss->cb(ss->arg, 0, NULL, "malformed approval stages");
	else if (si.found && si.id == NULL) {
		/* A stage without id is a bad read, read again (issue 14,
		 * item 15), not "no approval step". */
		ss->cb(ss->arg, 0, NULL, "a stage without id");
	} else
		ss->cb(ss->arg, 200, &si, NULL);
	step_info_clear(&si);
	free(ss);
}

void
lister_read_step(struct daemon *d, const struct lister_source *ls,
    const char *approval_id, adapter_step_cb cb, void *arg)
{
	struct lister_step *st = NULL;
	char *esc = graph_escape(approval_id), *url = NULL;

	/* The stages, read explicitly: {"value": [approvalStage]}. List
	 * approval stages (microsoft-graph-docs-contrib: api-reference/v1.0/
	 * api/approval-list-stages.md) documents the entitlement-management
	 * path only; for PIM for Groups, Get approval and Get approvalStage
	 * (approval-get.md, approvalstage-get.md) document the approval's
	 * `stages` relationship, which this reads the same way. */
	if (esc == NULL || (st = calloc(1, sizeof(*st))) == NULL ||
	    (url = adapter_url(d, ls->prefix, "%s/%s/%s", ls->approvals, esc,
	         ls->stages ? ls->stages : "stages")) == NULL) {
		free(esc);
		free(st);
		cb(arg, 0, NULL, "out of memory");
		return;
	}
	st->cb = cb;
	st->arg = arg;
	daemon_graph(d, ls->read_token, "GET", url, NULL, lister_step_done, st);
	free(esc);
	free(url);
}

void
lister_decide(struct daemon *d, const struct lister_source *ls,
    const char *approval_id, const char *step_id, int approve,
    const char *justification, adapter_body_cb cb, void *arg)
{
	struct json_object *o = json_object_new_object();
	char *a = graph_escape(approval_id), *s = graph_escape(step_id);
	char *url = NULL;

	json_object_object_add(o, "reviewResult",
	    json_object_new_string(approve ? "Approve" : "Deny"));
	json_object_object_add(o, "justification",
	    json_object_new_string(justification ? justification : ""));
	if (a == NULL || s == NULL ||
	    (url = adapter_url(d, ls->prefix, "%s/%s/%s/%s", ls->approvals, a,
	         ls->stages ? ls->stages : "stages", s)) == NULL)
		cb(arg, 0, NULL, "out of memory");
	else
		daemon_graph(d, TOKEN_DELEGATED, "PATCH", url,
		    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
		    cb, arg);
	json_object_put(o);
	free(a);
	free(s);
	free(url);
}

void
lister_cancel(struct daemon *d, const struct lister_source *ls, const char *gid,
    adapter_body_cb cb, void *arg)
{
	char *g = graph_escape(gid), *url = NULL;

	if (g == NULL ||
	    (url = adapter_url(d, ls->prefix, "%s/%s/%s", ls->requests, g,
	         ls->cancel ? ls->cancel : "cancel")) == NULL)
		cb(arg, 0, NULL, "out of memory");
	else
		daemon_graph(d, ls->cancel_token, "POST", url, NULL, cb, arg);
	free(g);
	free(url);
}

/* Map a Graph status through a table; unknown values are tolerated. */
enum sm_event_kind
lister_observe(const struct lister_status *map, const char *status)
{
	size_t i;

	for (i = 0; status != NULL && map[i].name != NULL; i++)
		if (strcmp(status, map[i].name) == 0)
			return map[i].ev;
	return SM_E_GRAPH_UNKNOWN;
}

/* Free a listed source's state (poll_free). */
void
lister_state_free(struct poll_state *ps)
{
	if (ps->lister == NULL)
		return;
	lister_known_free(ps->lister);
	free(ps->lister);
	ps->lister = NULL;
}
