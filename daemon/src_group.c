/*
 * Source adapter `group`: PIM for Groups (v1.0). The only file that knows
 * its paths and JSON shapes.
 *
 * There is no change feed: every cycle lists the requests pending approval
 * (all pages). New ids are observed with their body; requests the store
 * still follows that are no longer listed are fetched one by one and their
 * status observed. A cycle with a failed page concludes nothing about the
 * requests it did not see.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "approvald.h"
#include "limits.h"
#include "log.h"

#define GRP_PREFIX "/v1.0/identityGovernance/privilegedAccess/group"

/* Requests the store follows, gathered at the start of a cycle. */
struct grp_known {
	char *gid;
	int listed; /* seen pending in this cycle's listing */
};

static struct {
	struct grp_known *v;
	size_t n, cap;
	int checking; /* the listing is done; fetching the rest */
} grp;

struct grp_fetch {
	struct daemon *d;
	char *gid;
	adapter_body_cb cb;
	void *arg;
};

/*
 * privilegedAccessGroupAssignmentScheduleRequest.status. Everything past
 * the approval counts as approved until the grant ends (Revoked, Failed
 * after provisioning is not distinguishable: completed). Unknown values
 * (unknownFutureValue, anything new) are tolerated as unknown.
 */
static enum sm_event_kind
grp_observe(const char *status)
{
	static const struct {
		const char *name;
		enum sm_event_kind ev;
	} map[] = {
		{ "PendingApproval", SM_E_GRAPH_SUBMITTED },
		{ "Granted", SM_E_GRAPH_APPROVED },
		{ "PendingScheduleCreation", SM_E_GRAPH_APPROVED },
		{ "ScheduleCreated", SM_E_GRAPH_APPROVED },
		{ "PendingProvisioning", SM_E_GRAPH_APPROVED },
		{ "Provisioned", SM_E_GRAPH_APPROVED },
		{ "Denied", SM_E_GRAPH_REJECTED },
		{ "Canceled", SM_E_GRAPH_CANCELED },
		{ "Revoked", SM_E_GRAPH_COMPLETED },
		{ "Failed", SM_E_GRAPH_COMPLETED },
	};
	size_t i;

	if (status == NULL)
		return SM_E_GRAPH_UNKNOWN;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(status, map[i].name) == 0)
			return map[i].ev;
	return SM_E_GRAPH_UNKNOWN;
}

/* ---- poll cycle ------------------------------------------------------ */

static void grp_page(void *arg, long status, const char *body, const char *err);
static void grp_check_rest(struct daemon *d);

static void
grp_known_free(void)
{
	size_t i;

	for (i = 0; i < grp.n; i++)
		free(grp.v[i].gid);
	free(grp.v);
	memset(&grp, 0, sizeof(grp));
}

static int
grp_known_add(void *arg, const struct store_request *r)
{
	struct grp_known *v;

	(void)arg;
	if (r->source != REQ_SRC_GROUP || r->gid == NULL)
		return 0;
	if (grp.n == grp.cap) {
		size_t cap = grp.cap ? grp.cap * 2 : 32;

		if ((v = realloc(grp.v, cap * sizeof(*v))) == NULL)
			return 1;
		grp.v = v;
		grp.cap = cap;
	}
	if ((grp.v[grp.n].gid = strdup(r->gid)) == NULL)
		return 1;
	grp.v[grp.n++].listed = 0;
	return 0;
}

/* Requests whose Graph status can still move without us: waiting for
 * approvers, left to humans, or granted until the grant ends. Requests
 * with a Graph call in flight are settled by the executor. */
static int
grp_known_load(struct daemon *d)
{
	static const enum sm_state follow[] = { SM_S_PENDING, SM_S_ESCALATED,
		SM_S_IGNORED, SM_S_APPROVED, SM_S_ATTENTION };
	size_t i;

	grp_known_free();
	for (i = 0; i < sizeof(follow) / sizeof(follow[0]); i++)
		if (store_request_each(d->store, sm_state_name(follow[i]),
		        grp_known_add, NULL) != 0)
			return -1;
	return 0;
}

static void
grp_known_listed(const char *gid)
{
	size_t i;

	for (i = 0; i < grp.n; i++)
		if (strcmp(grp.v[i].gid, gid) == 0)
			grp.v[i].listed = 1;
}

static void
grp_cycle_end(struct daemon *d)
{
	struct poll_state *ps = &d->poll[REQ_SRC_GROUP];

	if (ps->pages != 0 || ps->fetches != 0)
		return;
	if (!grp.checking && !ps->failed && !d->stopping) {
		grp_check_rest(d);
		if (ps->fetches != 0)
			return;
	}
	grp_known_free();
	poll_cycle_done(d, REQ_SRC_GROUP, !ps->failed);
}

static void
grp_fetched(void *arg, long status, const char *body, const char *err)
{
	struct grp_fetch *f = arg;
	struct daemon *d = f->d;
	struct poll_state *ps = &d->poll[REQ_SRC_GROUP];
	struct json_object *o;

	ps->fetches--;
	if (status != 200 || body == NULL) {
		log_warnx("poll group: cannot fetch request %s: %ld %s", f->gid,
		    status, err ? err : "");
		ps->failed = 1;
	} else if ((o = json_tokener_parse(body)) == NULL) {
		log_warnx("poll group: request %s: malformed JSON", f->gid);
		ps->failed = 1;
	} else {
		const char *st = adapter_str(o, "status");

		if (engine_observe(d, REQ_SRC_GROUP, f->gid,
		        st ? st : "unknown", body) == -1)
			ps->failed = 1;
		json_object_put(o);
	}
	free(f->gid);
	free(f);
	grp_cycle_end(d);
}

/* Fetch every followed request the listing did not show as pending. */
static void
grp_check_rest(struct daemon *d)
{
	struct poll_state *ps = &d->poll[REQ_SRC_GROUP];
	struct grp_fetch *f;
	size_t i;

	grp.checking = 1;
	for (i = 0; i < grp.n && !d->stopping; i++) {
		if (grp.v[i].listed)
			continue;
		if ((f = calloc(1, sizeof(*f))) == NULL ||
		    (f->gid = strdup(grp.v[i].gid)) == NULL) {
			free(f);
			ps->failed = 1;
			return;
		}
		f->d = d;
		ps->fetches++;
		adapter_group.fetch(d, grp.v[i].gid, grp_fetched, f);
	}
}

/* Observe one listed request; 0 ok, -1 failed. */
static int
grp_apply(struct daemon *d, struct json_object *item)
{
	const char *id = adapter_str(item, "id"),
	           *st = adapter_str(item, "status");
	struct store_request r;
	char *key;
	int rc;

	if (id == NULL) {
		log_warnx("poll group: request without id; skipped");
		return 0;
	}
	grp_known_listed(id);
	if ((key = engine_key(REQ_SRC_GROUP, id)) == NULL)
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
	return engine_observe(d, REQ_SRC_GROUP, id, st ? st : "unknown",
	           json_object_to_json_string_ext(
	               item, JSON_C_TO_STRING_PLAIN)) == -1
	           ? -1
	           : 0;
}

static void
grp_page(void *arg, long status, const char *body, const char *err)
{
	struct daemon *d = arg;
	struct poll_state *ps = &d->poll[REQ_SRC_GROUP];
	struct json_object *root = NULL, *value, *next;
	size_t i, n;

	if (status != 200 || body == NULL) {
		log_warnx("poll group: requests page: %ld %s", status,
		    err ? err : "");
		ps->failed = 1;
		goto out;
	}
	if ((root = json_tokener_parse(body)) == NULL ||
	    !json_object_object_get_ex(root, "value", &value) ||
	    !json_object_is_type(value, json_type_array)) {
		log_warnx("poll group: requests page is malformed");
		ps->failed = 1;
		goto out;
	}
	if (store_begin(d->store) == -1) {
		ps->failed = 1;
		goto out;
	}
	engine_batch_dirty(d);
	n = json_object_array_length(value);
	for (i = 0; i < n && !d->stopping; i++)
		if (grp_apply(d, json_object_array_get_idx(value, i)) == -1)
			ps->failed = 1;
	if (json_object_object_get_ex(root, "@odata.nextLink", &next) &&
	    json_object_is_type(next, json_type_string) && !d->stopping)
		if (poll_follow(d, REQ_SRC_GROUP, json_object_get_string(next),
		        grp_page) == -1)
			ps->failed = 1;
out:
	json_object_put(root);
	ps->pages--; /* last, so a failed fetch cannot end the cycle early */
	grp_cycle_end(d);
}

static void
grp_poll(struct daemon *d)
{
	struct poll_state *ps = &d->poll[REQ_SRC_GROUP];
	char *esc = NULL, *url = NULL;

	if (grp_known_load(d) == -1 ||
	    (esc = graph_escape("status eq 'PendingApproval'")) == NULL ||
	    (url = adapter_url(d, GRP_PREFIX,
	         "/assignmentScheduleRequests?$filter=%s&$top=%d", esc,
	         GRAPH_PAGE_SIZE)) == NULL) {
		log_warnx("poll group: cannot start a cycle");
		grp_known_free();
		ps->failed = 1;
		poll_cycle_done(d, REQ_SRC_GROUP, 0);
		goto out;
	}
	log_debug("poll group: %zu followed requests", grp.n);
	ps->pages = 1;
	daemon_graph(d, TOKEN_APP, "GET", url, NULL, grp_page, d);
out:
	free(esc);
	free(url);
}

/* ---- request, step, decision, cancel ----------------------------------- */

static void
grp_fetch(struct daemon *d, const char *gid, adapter_body_cb cb, void *arg)
{
	char *g = graph_escape(gid), *url = NULL;

	if (g == NULL || (url = adapter_url(d, GRP_PREFIX,
	                      "/assignmentScheduleRequests/%s", g)) == NULL)
		cb(arg, 0, NULL, "out of memory");
	else
		daemon_graph(d, TOKEN_APP, "GET", url, NULL, cb, arg);
	free(g);
	free(url);
}

struct grp_step {
	adapter_step_cb cb;
	void *arg;
};

static char *
grp_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Pick the stage not yet reviewed, else the last one. */
static void
grp_step_done(void *arg, long status, const char *body, const char *err)
{
	struct grp_step *gs = arg;
	struct json_object *root = NULL, *stages, *s, *rb, *user;
	struct step_info si;
	size_t i, n;

	memset(&si, 0, sizeof(si));
	if (status != 200 || body == NULL) {
		gs->cb(gs->arg, status, NULL, err ? err : "no answer");
		goto out;
	}
	if ((root = json_tokener_parse(body)) == NULL ||
	    !json_object_object_get_ex(root, "stages", &stages) ||
	    !json_object_is_type(stages, json_type_array)) {
		gs->cb(gs->arg, 0, NULL, "malformed approval");
		goto out;
	}
	n = json_object_array_length(stages);
	for (i = 0; i < n; i++) {
		const char *review;

		s = json_object_array_get_idx(stages, i);
		review = adapter_str(s, "reviewResult");
		step_info_clear(&si);
		si.found = 1;
		si.id = grp_dup(adapter_str(s, "id"));
		si.review = grp_dup(review);
		si.status = grp_dup(adapter_str(s, "status"));
		/* reviewedBy is an identity: {id, userPrincipalName} or
		 * {user: {id, ...}} depending on the API version. */
		if (json_object_object_get_ex(s, "reviewedBy", &rb) &&
		    json_object_is_type(rb, json_type_object)) {
			if (json_object_object_get_ex(rb, "user", &user) &&
			    json_object_is_type(user, json_type_object))
				rb = user;
			si.reviewer_id = grp_dup(adapter_str(rb, "id"));
			si.reviewer_upn =
			    grp_dup(adapter_str(rb, "userPrincipalName"));
		}
		if (review == NULL || strcmp(review, "NotReviewed") == 0)
			break;
	}
	gs->cb(gs->arg, 200, &si, NULL);
out:
	step_info_clear(&si);
	json_object_put(root);
	free(gs);
}

static void
grp_read_step(
    struct daemon *d, const char *approval_id, adapter_step_cb cb, void *arg)
{
	struct grp_step *gs = NULL;
	char *esc = graph_escape(approval_id), *url = NULL;

	if (esc == NULL || (gs = calloc(1, sizeof(*gs))) == NULL ||
	    (url = adapter_url(
	         d, GRP_PREFIX, "/assignmentApprovals/%s", esc)) == NULL) {
		free(esc);
		free(gs);
		cb(arg, 0, NULL, "out of memory");
		return;
	}
	gs->cb = cb;
	gs->arg = arg;
	daemon_graph(d, TOKEN_APP, "GET", url, NULL, grp_step_done, gs);
	free(esc);
	free(url);
}

static void
grp_decide(struct daemon *d, const char *approval_id, const char *step_id,
    int approve, const char *justification, adapter_body_cb cb, void *arg)
{
	struct json_object *o = json_object_new_object();
	char *a = graph_escape(approval_id), *s = graph_escape(step_id);
	char *url = NULL;

	json_object_object_add(o, "reviewResult",
	    json_object_new_string(approve ? "Approve" : "Deny"));
	json_object_object_add(o, "justification",
	    json_object_new_string(justification ? justification : ""));
	if (a == NULL || s == NULL ||
	    (url = adapter_url(d, GRP_PREFIX,
	         "/assignmentApprovals/%s/stages/%s", a, s)) == NULL)
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

/* Cancel allows application permissions. */
static void
grp_cancel(struct daemon *d, const char *gid, adapter_body_cb cb, void *arg)
{
	char *g = graph_escape(gid), *url = NULL;

	if (g == NULL ||
	    (url = adapter_url(d, GRP_PREFIX,
	         "/assignmentScheduleRequests/%s/cancel", g)) == NULL)
		cb(arg, 0, NULL, "out of memory");
	else
		daemon_graph(d, TOKEN_APP, "POST", url, NULL, cb, arg);
	free(g);
	free(url);
}

const struct source_adapter adapter_group = {
	.source = REQ_SRC_GROUP,
	.name = "group",
	.poll = grp_poll,
	.fetch = grp_fetch,
	.read_step = grp_read_step,
	.decide = grp_decide,
	.cancel = grp_cancel,
	.observe = grp_observe,
	.status_field = "status",
};
