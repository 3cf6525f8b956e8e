/*
 * Eligibility at decision time. The stored set of a stage (approvers.c) is
 * who was eligible when the stage started, or at the last membership
 * change Graph notified; a decision is accepted only when its decider is
 * in that set AND still in one of the stage's approver sets now:
 *
 * - group sets: transitive membership is asked from Graph with
 *   POST /v1.0/users/{id}/checkMemberGroups {"groupIds": [...]} (at most
 *   20 ids a call; microsoft-graph-docs-contrib
 *   api-reference/v1.0/api/directoryobject-checkmembergroups.md), or
 *   taken from an answer at most decisions.membership_max_age old (0:
 *   always asked);
 * - manager sets: the requestor's manager (level 1 or 2) is read again
 *   from Graph (GET /v1.0/users/{id}/manager), never cached;
 * - user sets: a named person stays eligible (nothing to re-check).
 *
 * The sets checked are the stage's primaries and fallback, and, once the
 * stage escalated, its escalation sets. Which of primaries or fallback
 * produced the stored set is not recorded: a person still in the fallback
 * sets stays eligible even when the primaries were in use (the requestor
 * and earlier-stage approvers were excluded from the stored set anyway).
 * Any set that confirms is enough; no set confirming and a Graph call
 * failing is "could not verify" (the decision is refused, fail closed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "effects.h"
#include "ident.h"
#include "limits.h"
#include "log.h"
#include "member.h"

#define ELIG_CACHE_MAX  1024 /* cached (user, group) answers */
#define ELIG_GROUPS_MAX 64   /* group sets checked per decision */
#define ELIG_MGR_MAX    16   /* manager sets checked per decision */
#define ELIG_CALL_IDS   20   /* groupIds per checkMemberGroups call */

struct elig_cache {
	struct elig_cache *next;
	char user[SM_ID_MAX];
	char group[SM_ID_MAX];
	int member;
	int64_t at;
};

struct elig_op {
	struct elig_op *next;
	struct daemon *d;
	eligible_cb cb;
	void *arg;
	struct sm_principal who;
	char requestor[SM_ID_MAX];
	char *groups[ELIG_GROUPS_MAX]; /* to ask Graph */
	size_t ngroups, gdone;
	int mgr[ELIG_MGR_MAX]; /* levels to ask Graph */
	size_t nmgr, mdone;
	int hops_left;
	int failed; /* a call failed: no "no" answer */
	int yes;
	int asked; /* Graph calls made */
};

struct elig_state {
	struct elig_cache *cache;
	size_t ncache;
	struct elig_op *ops;
};

static void elig_step(struct elig_state *els, struct elig_op *op);

/* A cached answer for (user, group) no older than the bound: 1 member,
 * 0 not, -1 none. */
static int
elig_cache_get(struct daemon *d, const char *user, const char *group)
{
	struct elig_state *els = d->elig;
	struct elig_cache *c;
	int64_t now = clock_now(), max = d->settings->membership_max_age;

	for (c = els->cache; c != NULL; c = c->next)
		if (strcasecmp(c->user, user) == 0 &&
		    strcasecmp(c->group, group) == 0)
			return now - c->at < max && now >= c->at ? c->member
			                                         : -1;
	return -1;
}

static void
elig_cache_put(
    struct elig_state *els, const char *user, const char *group, int member)
{
	struct elig_cache *c, **pp;

	for (pp = &els->cache; *pp != NULL; pp = &(*pp)->next) {
		c = *pp;
		if (strcasecmp(c->user, user) == 0 &&
		    strcasecmp(c->group, group) == 0) {
			*pp = c->next;
			els->ncache--;
			free(c);
			break;
		}
	}
	if (els->ncache >= ELIG_CACHE_MAX && els->cache != NULL) {
		/* Drop the oldest (the list's tail). */
		for (pp = &els->cache; (*pp)->next != NULL; pp = &(*pp)->next)
			;
		free(*pp);
		*pp = NULL;
		els->ncache--;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	snprintf(c->user, sizeof(c->user), "%s", user);
	snprintf(c->group, sizeof(c->group), "%s", group);
	c->member = member;
	c->at = clock_now();
	c->next = els->cache;
	els->cache = c;
	els->ncache++;
}

/* Forget cached answers about `group` (NULL: all). */
void
eligible_group_changed(struct daemon *d, const char *group)
{
	struct elig_state *els = d->elig;
	struct elig_cache *c, **pp;

	if (els == NULL)
		return;
	for (pp = &els->cache; *pp != NULL;) {
		c = *pp;
		if (group == NULL || strcasecmp(c->group, group) == 0) {
			*pp = c->next;
			els->ncache--;
			free(c);
			continue;
		}
		pp = &c->next;
	}
}

static void
elig_op_free(struct elig_state *els, struct elig_op *op)
{
	struct elig_op **pp;
	size_t i;

	for (pp = &els->ops; *pp != NULL; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			break;
		}
	for (i = 0; i < op->ngroups; i++)
		free(op->groups[i]);
	free(op);
}

/* Answer the caller and forget the check. */
static void
elig_done(struct elig_state *els, struct elig_op *op, enum elig_result res,
    const char *why)
{
	if (op->cb != NULL)
		op->cb(op->arg, res, why);
	elig_op_free(els, op);
}

static const char *
elig_user(const struct elig_op *op)
{
	return op->who.id[0] ? op->who.id : op->who.upn;
}

static void
elig_groups_cb(void *arg, long status, const char *body, const char *err)
{
	struct elig_op *op = arg;
	struct elig_state *els = op->d->elig;
	struct json_object *o = NULL, *arr;
	size_t i, j, end = op->gdone + ELIG_CALL_IDS;
	const char *g;
	int member;

	if (end > op->ngroups)
		end = op->ngroups;
	if (status != 200 || body == NULL ||
	    (o = parse_json(body, strlen(body))) == NULL ||
	    (arr = parse_arr(o, "value")) == NULL) {
		log_warnx("decision by %s: membership not verified: Graph "
		          "checkMemberGroups answered %ld%s%s",
		    elig_user(op), status, err ? ": " : "", err ? err : "");
		op->failed = 1;
	} else
		for (i = op->gdone; i < end; i++) {
			member = 0;
			for (j = 0; j < json_object_array_length(arr); j++) {
				g = json_object_get_string(
				    json_object_array_get_idx(arr, j));
				if (g != NULL &&
				    strcasecmp(g, op->groups[i]) == 0)
					member = 1;
			}
			elig_cache_put(
			    els, elig_user(op), op->groups[i], member);
			if (member)
				op->yes = 1;
		}
	json_object_put(o);
	op->gdone = end;
	elig_step(els, op);
}

static void
elig_manager_cb(void *arg, long status, const char *body, const char *err)
{
	struct elig_op *op = arg;
	struct elig_state *els = op->d->elig;
	struct json_object *o = NULL;
	const char *id;
	char url[1024];

	if (status == 404) { /* no manager: this set is nobody */
		op->mdone++;
		elig_step(els, op);
		return;
	}
	if (status != 200 || body == NULL ||
	    (o = json_tokener_parse(body)) == NULL ||
	    (id = adapter_str(o, "id")) == NULL || !approvers_safe_value(id)) {
		log_warnx("decision by %s: manager not verified: Graph "
		          "answered %ld%s%s",
		    elig_user(op), status, err ? ": " : "", err ? err : "");
		op->failed = 1;
		op->mdone++;
		json_object_put(o);
		elig_step(els, op);
		return;
	}
	if (--op->hops_left > 0) {
		snprintf(url, sizeof(url), "%s/v1.0/users/%s/manager",
		    op->d->graph_base, id);
		json_object_put(o);
		op->asked++;
		daemon_graph(
		    op->d, TOKEN_APP, "GET", url, NULL, elig_manager_cb, op);
		return;
	}
	if (strcasecmp(id, op->who.id) == 0 ||
	    (op->who.upn[0] != '\0' &&
	        adapter_str(o, "userPrincipalName") != NULL &&
	        strcasecmp(adapter_str(o, "userPrincipalName"), op->who.upn) ==
	            0))
		op->yes = 1;
	json_object_put(o);
	op->mdone++;
	elig_step(els, op);
}

/* The next Graph call, or the answer. */
static void
elig_step(struct elig_state *els, struct elig_op *op)
{
	struct json_object *b, *ids;
	char url[1024];
	size_t i, end;

	if (op->yes) {
		elig_done(els, op, ELIG_YES, NULL);
		return;
	}
	if (op->gdone < op->ngroups) {
		if (!approvers_safe_value(elig_user(op))) {
			op->failed = 1;
			op->gdone = op->ngroups;
			elig_step(els, op);
			return;
		}
		end = op->gdone + ELIG_CALL_IDS;
		if (end > op->ngroups)
			end = op->ngroups;
		b = json_object_new_object();
		ids = json_object_new_array();
		for (i = op->gdone; i < end; i++)
			json_object_array_add(
			    ids, json_object_new_string(op->groups[i]));
		json_object_object_add(b, "groupIds", ids);
		snprintf(url, sizeof(url), "%s/v1.0/users/%s/checkMemberGroups",
		    op->d->graph_base, elig_user(op));
		op->asked++;
		daemon_graph(op->d, TOKEN_APP, "POST", url,
		    json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN),
		    elig_groups_cb, op);
		json_object_put(b);
		return;
	}
	if (op->mdone < op->nmgr) {
		if (!approvers_safe_value(op->requestor) ||
		    op->mgr[op->mdone] < 1 || op->mgr[op->mdone] > 2) {
			op->failed = 1;
			op->mdone++;
			elig_step(els, op);
			return;
		}
		op->hops_left = op->mgr[op->mdone];
		snprintf(url, sizeof(url), "%s/v1.0/users/%s/manager",
		    op->d->graph_base, op->requestor);
		op->asked++;
		daemon_graph(
		    op->d, TOKEN_APP, "GET", url, NULL, elig_manager_cb, op);
		return;
	}
	if (op->failed)
		elig_done(els, op, ELIG_UNKNOWN,
		    "could not verify your membership, try again");
	else
		elig_done(els, op, ELIG_NO,
		    "you are no longer an approver for this request");
}

/* Add the sets of `l` to the check; 1 when a user set names the decider. */
static int
elig_add_sets(struct elig_op *op, const struct approver_ref_list *l)
{
	size_t i, k;
	const struct approver_set *s;

	for (i = 0; i < l->n; i++) {
		s = l->v[i];
		switch (s->kind) {
		case APPROVER_USER:
			if (s->value != NULL &&
			    (strcasecmp(s->value, op->who.id) == 0 ||
			        (op->who.upn[0] != '\0' &&
			            strcasecmp(s->value, op->who.upn) == 0)))
				return 1;
			break;
		case APPROVER_GROUP:
			if (s->value == NULL ||
			    !approvers_safe_value(s->value)) {
				op->failed = 1;
				break;
			}
			for (k = 0; k < op->ngroups; k++)
				if (strcasecmp(op->groups[k], s->value) == 0)
					break;
			if (k < op->ngroups)
				break;
			switch (
			    elig_cache_get(op->d, elig_user(op), s->value)) {
			case 1:
				return 1;
			case 0:
				break;
			default:
				if (op->ngroups == ELIG_GROUPS_MAX) {
					op->failed = 1;
					break;
				}
				if ((op->groups[op->ngroups] =
				            strdup(s->value)) == NULL)
					op->failed = 1;
				else
					op->ngroups++;
			}
			break;
		case APPROVER_MANAGER:
			for (k = 0; k < op->nmgr; k++)
				if (op->mgr[k] == s->level)
					break;
			if (k == op->nmgr && op->nmgr < ELIG_MGR_MAX)
				op->mgr[op->nmgr++] = s->level;
			break;
		default:
			op->failed = 1;
		}
	}
	return 0;
}

void
eligible_check(struct daemon *d, const struct store_request *r,
    const struct sm_principal *who, eligible_cb cb, void *arg)
{
	struct elig_state *els = d->elig;
	struct elig_op *op;
	struct request req;
	struct policy_stages *st = NULL;
	const struct policy_stage *ps;
	const char *why = NULL;
	char *err = NULL;
	int yes;

	memset(&req, 0, sizeof(req));
	if (els == NULL && (els = d->elig = calloc(1, sizeof(*els))) == NULL) {
		cb(arg, ELIG_UNKNOWN,
		    "could not verify your membership, try again");
		return;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL) {
		cb(arg, ELIG_UNKNOWN,
		    "could not verify your membership, "
		    "try again");
		return;
	}
	op->d = d;
	op->cb = cb;
	op->arg = arg;
	op->who = *who;
	snprintf(op->requestor, sizeof(op->requestor), "%s",
	    r->sm.requestor.id[0] ? r->sm.requestor.id : r->sm.requestor.upn);
	op->next = els->ops;
	els->ops = op;
	/* Recorded before stages were stored: the policy in force decides
	 * them, on the identity the request was decided on (stages_of). */
	if (r->stages == NULL &&
	    (r->body == NULL || ident_request(r, &req, &err) == -1 ||
	        req.identity == REQ_ID_UNCHECKED)) {
		free(err);
		request_free(&req);
		elig_done(els, op, ELIG_UNKNOWN,
		    "could not verify your membership, try again");
		return;
	}
	/* The stage definitions as the verdict that decided gave them
	 * (stored with it), never the policy evaluated again now. */
	if (stages_of(d, r, r->stages == NULL ? &req : NULL, &st, &why) == -1 ||
	    r->sm.stage >= st->v.nstages) {
		request_free(&req);
		log_warnx("request %s: %s: decision not verified", r->key,
		    st == NULL ? why : "the deciding rule has no such stage");
		policy_stages_free(st);
		elig_done(els, op, ELIG_UNKNOWN,
		    "could not verify your membership, try again");
		return;
	}
	ps = &st->v.stages[r->sm.stage];
	yes = elig_add_sets(op, &ps->approvers) ||
	      elig_add_sets(op, &ps->fallback) ||
	      (r->sm.state == SM_S_ESCALATED &&
	          (elig_add_sets(op, &ps->escalation) ||
	              elig_add_sets(op, &ps->fallback_escalation)));
	request_free(&req);
	policy_stages_free(st);
	if (yes) {
		elig_done(els, op, ELIG_YES, NULL);
		return;
	}
	elig_step(els, op);
}

/* Checks in flight are answered "could not verify" (the daemon stops);
 * their Graph calls are dropped with the Graph client. */
void
eligible_free(struct daemon *d)
{
	struct elig_state *els = d->elig;
	struct elig_op *op;
	struct elig_cache *c;
	size_t i;

	if (els == NULL)
		return;
	while ((op = els->ops) != NULL) {
		eligible_cb cb = op->cb;

		op->cb = NULL;
		els->ops = op->next;
		op->next = NULL;
		if (cb != NULL)
			cb(op->arg, ELIG_UNKNOWN,
			    "could not verify your membership, try again");
		for (i = 0; i < op->ngroups; i++)
			free(op->groups[i]);
		free(op);
	}
	while ((c = els->cache) != NULL) {
		els->cache = c->next;
		free(c);
	}
	free(els);
	d->elig = NULL;
}
