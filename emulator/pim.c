/*
 * PIM for Groups: assignmentScheduleRequests and assignmentApprovals
 * (v1.0 "stages", beta "steps").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"

#define PIM1 "v1.0/identityGovernance/privilegedAccess/group/"
#define PIMB "beta/identityGovernance/privilegedAccess/group/"

static const char *const pim_status[RS_MAX] = {
	[RS_PENDING_APPROVAL] = "PendingApproval",
	[RS_GRANTED] = "Granted",
	[RS_PROVISIONED] = "Provisioned",
	[RS_REVOKED] = "Revoked",
	[RS_DENIED] = "Denied",
	[RS_PIM_CANCELED] = "Canceled",
	[RS_PIM_TIMED_OUT] = "TimedOut",
};

/*
 * "Delegated approvers have 24 hours to approve requests. If a request
 * isn't approved within 24 hours, then the eligible user must re-submit a
 * new request. The 24-hour approval time window isn't configurable."
 * (entra-docs: id-governance/privileged-identity-management/
 * groups-approval-workflow.md). The status an expired request shows is not
 * documented for Graph (privilegedAccessGroupAssignmentScheduleRequest
 * lists no status values); we answer `TimedOut`, the PIM RequestStatus
 * value of the Azure RBAC REST API, which approvald must also survive as an
 * unknown status.
 */
#define PIM_APPROVAL_TTL ((int64_t)86400 * EMU_TICKS_PER_SEC)

static const char *const actions[] = { "adminAssign", "adminUpdate",
	"adminRemove", "selfActivate", "selfDeactivate", "adminExtend",
	"adminRenew", "selfExtend", "selfRenew", NULL };

/*
 * Query options, as each page documents them (microsoft-graph-docs-contrib:
 * api-reference/v1.0/api/): the list "supports the $select, $filter, and
 * $expand OData query parameters" (privilegedaccessgroup-list-
 * assignmentschedulerequests.md; $top is not among them), get "supports
 * the $select and $expand" (privilegedaccessgroupassignmentschedulerequest-
 * get.md); approval-get.md, approval-list-stages.md and approvalstage-get.md
 * document none. $expand is refused too: the emulator does not expand the
 * navigation properties, and approvald does not ask for them. $skiptoken is
 * the emulator's own nextLink.
 */
static const char *const list_opts[] = { "$filter", "$select", "$skiptoken",
	NULL };
static const char *const get_opts[] = { "$select", NULL };
static const char *const no_opts[] = { NULL };
/* privilegedAccessGroupAssignmentScheduleRequest's properties
 * (api-reference/v1.0/resources/
 * privilegedaccessgroupassignmentschedulerequest.md). */
static const char *const req_props[] = { "id", "status", "approvalId",
	"completedDateTime", "createdDateTime", "createdBy", "customData",
	"action", "isValidationOnly", "justification", "scheduleInfo",
	"ticketInfo", "accessId", "groupId", "principalId", "targetScheduleId",
	NULL };
#define REQ_TYPE "privilegedAccessGroupAssignmentScheduleRequest"

static const char *
jstr(json_object *o, const char *k)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void
set_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(
	    o, k, v != NULL ? json_object_new_string(v) : NULL);
}

static void
set_now(struct emu *e, json_object *o, const char *k)
{
	char iso[40];

	clock_iso(emu_now(e), iso);
	set_str(o, k, iso);
}

void
pim_sync(struct emu *e, struct req *r)
{
	set_str(r->obj, "status", pim_status[r->state]);
	if (r->state != RS_PENDING_APPROVAL && r->state != RS_GRANTED)
		set_now(e, r->obj, "completedDateTime");
}

/* Move to Provisioned and schedule the expiry. */
static void
provision(struct emu *e, struct req *r)
{
	int64_t now = emu_now(e), begin = r->start > now ? r->start : now;

	r->state = RS_PROVISIONED;
	pim_sync(e, r);
	req_schedule(e, r, r->duration > 0 ? begin + r->duration : 0);
}

void
pim_due(struct emu *e, struct req *r)
{
	switch (r->state) {
	case RS_GRANTED:
		provision(e, r);
		break;
	case RS_PROVISIONED:
		/* The grant ends; the request does not change. Graph documents
		 * `Revoked` for a canceled grant, nothing at natural expiry
		 * (microsoft-graph-docs-contrib: api-reference/v1.0/resources/
		 * privilegedaccessgroupassignmentschedulerequest.md). */
		break;
	case RS_PENDING_APPROVAL:
		r->state = RS_PIM_TIMED_OUT;
		r->step_status = STEP_EXPIRED;
		pim_sync(e, r);
		break;
	default:
		break;
	}
}

static const char *
check_schedule(json_object *s, const char *action, int64_t *start, int64_t *dur)
{
	json_object *exp, *v;
	const char *t;
	int64_t end;

	*start = *dur = 0;
	if (s == NULL || !json_object_is_type(s, json_type_object)) {
		if (strstr(action, "Remove") != NULL ||
		    strstr(action, "Deactivate") != NULL)
			return NULL;
		return "The property 'scheduleInfo' is required.";
	}
	if (json_object_object_get_ex(s, "recurrence", &v) && v != NULL)
		return "Recurring schedules are not supported.";
	if (json_object_object_get_ex(s, "startDateTime", &v) && v != NULL &&
	    (!json_object_is_type(v, json_type_string) ||
	        clock_parse_iso(json_object_get_string(v), start) < 0))
		return "scheduleInfo.startDateTime is not a valid "
		       "DateTimeOffset.";
	if (!json_object_object_get_ex(s, "expiration", &exp) || exp == NULL)
		return NULL;
	if (!json_object_is_type(exp, json_type_object))
		return "scheduleInfo.expiration must be an object.";
	t = jstr(exp, "type");
	if (t != NULL && strcmp(t, "notSpecified") != 0 &&
	    strcmp(t, "noExpiration") != 0 && strcmp(t, "afterDateTime") != 0 &&
	    strcmp(t, "afterDuration") != 0)
		return "scheduleInfo.expiration.type is not a known value.";
	if (json_object_object_get_ex(exp, "duration", &v) && v != NULL &&
	    (!json_object_is_type(v, json_type_string) ||
	        clock_parse_duration(json_object_get_string(v), dur) < 0))
		return "scheduleInfo.expiration.duration is not a valid ISO "
		       "8601 "
		       "duration.";
	if (t != NULL && strcmp(t, "afterDuration") == 0 && *dur == 0)
		return "scheduleInfo.expiration.duration is required for "
		       "afterDuration.";
	if (json_object_object_get_ex(exp, "endDateTime", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_string) ||
		    clock_parse_iso(json_object_get_string(v), &end) < 0)
			return "scheduleInfo.expiration.endDateTime is not a "
			       "valid DateTimeOffset.";
		if (*dur == 0)
			*dur = end - (*start ? *start : clock_real_ticks());
		if (*dur <= 0)
			return "scheduleInfo.expiration.endDateTime is in the "
			       "past.";
	} else if (t != NULL && strcmp(t, "afterDateTime") == 0)
		return "scheduleInfo.expiration.endDateTime is required for "
		       "afterDateTime.";
	return NULL;
}

struct req *
pim_create_quiet(struct emu *e, json_object *body, const char *requestor_id,
    bool is_app, char *err, size_t errlen)
{
	static const char *const allowed[] = { "accessId", "principalId",
		"groupId", "action", "scheduleInfo", "justification",
		"customData", "ticketInfo", "isValidationOnly",
		"targetScheduleId", "@odata.type", NULL };
	const char *access, *principal, *gid, *action, *msg;
	const struct group *g;
	json_object *v, *by, *who;
	int64_t start, dur;
	struct req *r;
	char iso[40], tsid[200];
	const char *bad;
	int i;

	if ((bad = emu_unknown_key(body, allowed)) != NULL) {
		snprintf(err, errlen,
		    "The property '%s' does not exist on type "
		    "'microsoft.graph."
		    "privilegedAccessGroupAssignmentScheduleRequest'.",
		    bad);
		return NULL;
	}
	access = jstr(body, "accessId");
	principal = jstr(body, "principalId");
	gid = jstr(body, "groupId");
	action = jstr(body, "action");
	if (access == NULL || principal == NULL || gid == NULL ||
	    action == NULL) {
		snprintf(err, errlen,
		    "The properties accessId, principalId, "
		    "groupId and action are required.");
		return NULL;
	}
	if (strcmp(access, "member") != 0 && strcmp(access, "owner") != 0) {
		snprintf(err, errlen, "accessId must be 'member' or 'owner'.");
		return NULL;
	}
	for (i = 0; actions[i] != NULL; i++)
		if (strcmp(actions[i], action) == 0)
			break;
	if (actions[i] == NULL) {
		snprintf(
		    err, errlen, "action '%s' is not a known value.", action);
		return NULL;
	}
	if ((g = store_group(e, gid)) == NULL) {
		snprintf(err, errlen, "The group '%s' was not found.", gid);
		return NULL;
	}
	if (store_user(e, principal) == NULL &&
	    store_group(e, principal) == NULL) {
		snprintf(err, errlen, "The principal '%s' was not found.",
		    principal);
		return NULL;
	}
	v = NULL;
	json_object_object_get_ex(body, "scheduleInfo", &v);
	if ((msg = check_schedule(v, action, &start, &dur)) != NULL) {
		snprintf(err, errlen, "%s", msg);
		return NULL;
	}
	if (json_object_object_get_ex(body, "justification", &v) && v != NULL &&
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "justification must be a string.");
		return NULL;
	}
	if ((r = req_new(e, SRC_GROUP)) == NULL) {
		snprintf(err, errlen, "quota");
		return NULL;
	}
	snprintf(r->requestor_id, sizeof(r->requestor_id), "%s", requestor_id);
	r->requestor_is_app = is_app;
	r->start = start;
	r->duration = dur;
	r->obj = json_object_new_object();
	clock_iso(r->created, iso);
	set_str(r->obj, "id", r->id);
	set_str(r->obj, "status", NULL);
	set_str(r->obj, "completedDateTime", NULL);
	set_str(r->obj, "createdDateTime", iso);
	set_str(r->obj, "approvalId", NULL);
	set_str(r->obj, "customData", jstr(body, "customData"));
	by = json_object_new_object();
	who = json_object_new_object();
	set_str(who, "id", requestor_id);
	json_object_object_add(by, is_app ? "application" : "user", who);
	json_object_object_add(r->obj, "createdBy", by);
	set_str(r->obj, "action", action);
	json_object_object_add(
	    r->obj, "isValidationOnly", json_object_new_boolean(false));
	set_str(r->obj, "justification", jstr(body, "justification"));
	if (json_object_object_get_ex(body, "scheduleInfo", &v) && v != NULL) {
		json_object *copy = NULL;

		if (json_object_deep_copy(v, &copy, NULL) != 0)
			abort();
		if (jstr(copy, "startDateTime") == NULL)
			set_str(copy, "startDateTime", iso);
		json_object_object_add(r->obj, "scheduleInfo", copy);
	} else
		json_object_object_add(r->obj, "scheduleInfo", NULL);
	if (json_object_object_get_ex(body, "ticketInfo", &v) &&
	    json_object_is_type(v, json_type_object)) {
		json_object *copy = NULL;

		if (json_object_deep_copy(v, &copy, NULL) != 0)
			abort();
		json_object_object_add(r->obj, "ticketInfo", copy);
		r->ticket = xstrdup(jstr(v, "ticketNumber"));
	} else {
		json_object *ti = json_object_new_object();

		set_str(ti, "ticketNumber", NULL);
		set_str(ti, "ticketSystem", NULL);
		json_object_object_add(r->obj, "ticketInfo", ti);
	}
	set_str(r->obj, "accessId", access);
	set_str(r->obj, "principalId", principal);
	set_str(r->obj, "groupId", gid);
	snprintf(tsid, sizeof(tsid), "%s_%s_%s", gid, access, r->step_id);
	set_str(r->obj, "targetScheduleId", tsid);
	if (g->requires_approval && strncmp(action, "self", 4) == 0 &&
	    strcmp(action, "selfDeactivate") != 0) {
		r->state = RS_PENDING_APPROVAL;
		set_str(r->obj, "approvalId", r->id);
		pim_sync(e, r);
		req_schedule(e, r, emu_now(e) + PIM_APPROVAL_TTL);
	} else {
		r->step_status = STEP_COMPLETED;
		provision(e, r);
	}
	return r;
}

void
pim_create(
    struct call *c, json_object *body, const char *requestor_id, bool is_app)
{
	char err[256];
	struct req *r;

	if ((r = pim_create_quiet(c->emu, body, requestor_id, is_app, err,
	         sizeof(err))) == NULL) {
		if (strcmp(err, "quota") == 0)
			call_error(c, 507, "quotaLimitReached",
			    "The emulator's request store is full (%zu).",
			    c->emu->cfg.max_requests);
		else
			call_error(c, 400, "BadRequest", "%s", err);
		return;
	}
	call_reply(c, 201, json_object_get(r->obj));
}

/*
 * Is an activation of (group, principal, access) already waiting for
 * approval? The PIM request API refuses a second one, 400
 * PendingRoleAssignmentRequest, "There already exists a pending
 * governanceRoleAssignmentRequest in the system"
 * (microsoft-graph-docs-contrib: api-reference/beta/api/
 * governanceroleassignmentrequest-post.md, "Error codes"; the v1.0 PIM for
 * Groups page documents no errors, so the emulator is the stricter).
 */
static bool
pending_activation(
    struct emu *e, const char *gid, const char *principal, const char *access)
{
	const struct reqlist *l = &e->reqs[SRC_GROUP];
	const struct req *r;
	const char *g, *p, *a;
	size_t i;

	for (i = 0; i < l->n; i++) {
		r = l->v[i];
		if (r->state != RS_PENDING_APPROVAL)
			continue;
		g = jstr(r->obj, "groupId");
		p = jstr(r->obj, "principalId");
		a = jstr(r->obj, "accessId");
		if (g != NULL && p != NULL && a != NULL &&
		    strcasecmp(g, gid) == 0 && strcasecmp(p, principal) == 0 &&
		    strcmp(a, access) == 0)
			return true;
	}
	return false;
}

/*
 * An admin action by a signed-in user: "The calling user must also be the
 * owner or member of the group or be assigned one of the following
 * Microsoft Entra roles" (microsoft-graph-docs-contrib: api-reference/
 * v1.0/includes/rbac-for-apis/
 * rbac-pim-groups-apis-write-assignmentschedulerequests.md, included by
 * privilegedaccessgroup-post-assignmentschedulerequests.md). The
 * fixture's `admins` stand for those roles; an app token holds the
 * application permission. Anyone else: 403 (no documented error; ours).
 */
static bool
admin_action_ok(struct call *c, const char *action, const char *gid)
{
	if (action == NULL || gid == NULL || strncmp(action, "admin", 5) != 0 ||
	    c->tok->kind == TOK_APP)
		return true;
	if (c->user != NULL && (store_is_admin(c->emu, c->user->id) ||
	                           store_member_of(c->emu, gid, c->user->id)))
		return true;
	call_error(c, 403, "Authorization_RequestDenied",
	    "The caller is neither a member of the group '%s' nor an "
	    "administrator, and cannot make a '%s' request.",
	    gid, action);
	return false;
}

/*
 * The self actions are the principal's own: "selfActivate: For principals
 * to activate their assignments", and the documented example is "a user
 * ... activates their *eligible membership*" (microsoft-graph-docs-contrib:
 * api-reference/v1.0/api/privilegedaccessgroup-post-assignmentschedulerequests.md).
 * So a self action needs the principal's own delegated token (an app or
 * another user is refused 403: the page documents no error, ours is the
 * stricter choice), and selfActivate needs an eligibility schedule for that
 * group and accessId, else 400 RoleAssignmentDoesNotExist, the code the
 * PIM request API documents for an assignment "requested to be
 * updated/extended [that] does not exist" (api-reference/beta/api/
 * governanceroleassignmentrequest-post.md, "Error codes"). Returns true
 * when the call may go on; answers otherwise. Requests made through the
 * control API (/_emulator/requests, test fixtures) are not checked.
 */
static bool
self_action_ok(struct call *c, json_object *b)
{
	const char *action = jstr(b, "action"), *principal, *gid, *access;

	if (action == NULL || strncmp(action, "self", 4) != 0)
		return admin_action_ok(c, action, jstr(b, "groupId"));
	if (!call_require_delegated(c))
		return false;
	principal = jstr(b, "principalId");
	gid = jstr(b, "groupId");
	access = jstr(b, "accessId");
	if (principal == NULL || gid == NULL || access == NULL)
		return true; /* pim_create answers the missing property */
	if (strcasecmp(principal, c->user->id) != 0) {
		call_error(c, 403, "Authorization_RequestDenied",
		    "The action '%s' can only be requested by the principal "
		    "'%s' itself.",
		    action, principal);
		return false;
	}
	if (strcmp(action, "selfActivate") == 0 &&
	    !store_pim_eligible(c->emu, gid, principal, access)) {
		call_error(c, 400, "RoleAssignmentDoesNotExist",
		    "The principal '%s' has no eligible '%s' assignment for "
		    "the group '%s' to activate.",
		    principal, access, gid);
		return false;
	}
	if (strcmp(action, "selfActivate") == 0 &&
	    pending_activation(c->emu, gid, principal, access)) {
		call_error(c, 400, "PendingRoleAssignmentRequest",
		    "A request to activate '%s' of the group '%s' for '%s' is "
		    "already pending approval.",
		    access, gid, principal);
		return false;
	}
	return true;
}

static void
post_create(struct call *c, char **caps)
{
	json_object *b;

	if ((b = call_body(c, true)) == NULL || !self_action_ok(c, b))
		return;
	if (c->tok->kind == TOK_APP)
		pim_create(c, b, c->tok->client_id, true);
	else
		pim_create(c, b,
		    c->user != NULL ? c->user->id : c->tok->user_id, false);
}

/*
 * "This method requires the `$filter` (`eq`) query parameter to scope the
 * request to a principalId or a groupId" (microsoft-graph-docs-contrib:
 * api-reference/v1.0/api/privilegedaccessgroup-list-assignmentschedulerequests.md).
 * The error an unscoped list gets is not documented; a 400 BadRequest that
 * says what is missing is our stricter choice. Clauses joined by 'or' are
 * scoped only when every one of them is.
 */
static bool
list_scoped(const struct filter *f)
{
	size_t i;
	bool scoped;

	for (i = 0; i < f->n; i++) {
		scoped = f->op[i] == FOP_EQ &&
		         (strcmp(f->field[i], "groupId") == 0 ||
		             strcmp(f->field[i], "principalId") == 0);
		if (scoped && !f->any)
			return true;
		if (!scoped && f->any)
			return false;
	}
	return f->any && f->n > 0;
}

/* A request as $select asks for it. */
static json_object *
select_view(struct call *c, struct req *r, void *arg)
{
	(void)arg;
	return req_select(c, r->obj);
}

static void
get_list(struct call *c, char **caps)
{
	struct filter f;
	char err[160];
	bool scoped;

	(void)caps;
	if (req_query_check(c, list_opts, req_props, REQ_TYPE) < 0)
		return;
	if (filter_parse(call_query(c, "$filter"), &f, err, sizeof(err)) < 0) {
		call_error(c, 400, "BadRequest", "%s", err);
		return;
	}
	scoped = list_scoped(&f);
	filter_free(&f);
	if (!scoped) {
		call_error(c, 400, "BadRequest",
		    "This query requires a $filter (eq) on groupId or "
		    "principalId.");
		return;
	}
	req_list_view(c, SRC_GROUP, select_view, NULL);
}

/*
 * Is the signed-in user an approver of request r: an approval exists, the
 * user approves this source, and is not the requestor (approvers never
 * approve their own requests, entra-docs: id-governance/
 * privileged-identity-management/groups-approval-workflow.md).
 */
static bool
approver_of(struct emu *e, const struct user *u, const struct req *r)
{
	return json_object_get_string(
	           json_object_object_get(r->obj, "approvalId")) != NULL &&
	       strcmp(u->id, r->requestor_id) != 0 &&
	       store_is_approver(e, u->id, SRC_GROUP);
}

/*
 * GET assignmentScheduleRequests/filterByCurrentUser(on='…')
 * (microsoft-graph-docs-contrib: api-reference/v1.0/api/
 * privilegedaccessgroupassignmentschedulerequest-filterbycurrentuser.md):
 * `on` is principal, createdBy or approver; `$filter` applies on top.
 * "Current user" needs a signed-in user: an app-only token is refused with
 * 400 (our stricter choice; the page lists application permissions but no
 * user to filter by). Public clients report that this function answers
 * at most 50 items and never a nextLink (microsoftgraph/
 * microsoft-graph-docs issue 15755, as cited by them); we reproduce that.
 */
#define PIM_FBCU_CAP 50

static void
filter_by_current_user(struct call *c, const char *fn)
{
	struct emu *e = c->emu;
	struct reqlist *l = &e->reqs[SRC_GROUP];
	struct filter f;
	json_object *o, *a;
	struct req *r;
	char on[32], err[160];
	size_t i, n = 0;
	bool keep;

	if (sscanf(fn, "filterByCurrentUser(on='%31[^']')", on) != 1 ||
	    strlen(fn) != strlen("filterByCurrentUser(on='')") + strlen(on)) {
		call_error(c, 400, "BadRequest",
		    "Invalid function call '%s': expected "
		    "filterByCurrentUser(on='principal|createdBy|approver').",
		    fn);
		return;
	}
	if (strcmp(on, "principal") != 0 && strcmp(on, "createdBy") != 0 &&
	    strcmp(on, "approver") != 0) {
		call_error(c, 400, "BadRequest",
		    "The parameter 'on' has an invalid value '%s'.", on);
		return;
	}
	if (c->tok->kind != TOK_DELEGATED || c->user == NULL) {
		call_error(c, 400, "BadRequest",
		    "filterByCurrentUser needs a signed-in user (a delegated "
		    "token).");
		return;
	}
	if (req_query_check(c, list_opts, req_props, REQ_TYPE) < 0)
		return;
	if (filter_parse(call_query(c, "$filter"), &f, err, sizeof(err)) < 0) {
		call_error(c, 400, "BadRequest", "%s", err);
		return;
	}
	o = json_object_new_object();
	a = json_object_new_array();
	for (i = 0; i < l->n && n < PIM_FBCU_CAP; i++) {
		r = l->v[i];
		if (strcmp(on, "principal") == 0)
			keep = jstr(r->obj, "principalId") != NULL &&
			       strcmp(jstr(r->obj, "principalId"),
			           c->user->id) == 0;
		else if (strcmp(on, "createdBy") == 0)
			keep = strcmp(r->requestor_id, c->user->id) == 0;
		else
			keep = approver_of(e, c->user, r);
		if (!keep || !filter_match(&f, r->obj))
			continue;
		json_object_array_add(a, req_select(c, r->obj));
		n++;
	}
	json_object_object_add(o, "value", a);
	filter_free(&f);
	call_reply(c, 200, o);
}

static struct req *
find(struct call *c, const char *id, bool approval)
{
	struct req *r = req_get(c->emu, SRC_GROUP, id);

	if (r == NULL ||
	    (approval && json_object_get_string(json_object_object_get(
	                     r->obj, "approvalId")) == NULL)) {
		call_error(c, 404, "Request_ResourceNotFound",
		    "%s '%s' was not found.",
		    approval ? "Approval" : "Assignment schedule request", id);
		return NULL;
	}
	return r;
}

static void
get_one(struct call *c, char **caps)
{
	struct req *r;

	if (strncasecmp(caps[0], "filterByCurrentUser(", 20) == 0) {
		filter_by_current_user(c, caps[0]);
		return;
	}
	if (req_query_check(c, get_opts, req_props, REQ_TYPE) < 0)
		return;
	r = find(c, caps[0], false);

	if (r != NULL)
		call_reply(c, 200, req_select(c, r->obj));
}

static void
post_cancel(struct call *c, char **caps)
{
	struct emu *e = c->emu;
	struct req *r = find(c, caps[0], false);

	if (r == NULL)
		return;
	if (c->tok->kind == TOK_DELEGATED &&
	    (c->user == NULL || (strcmp(c->user->id, r->requestor_id) != 0 &&
	                            !store_is_admin(e, c->user->id)))) {
		call_error(c, 403, "Authorization_RequestDenied",
		    "Only the requestor or an administrator can cancel this "
		    "request.");
		return;
	}
	if (r->state != RS_PENDING_APPROVAL) {
		call_error(c, 400, "BadRequest",
		    "Only requests in the PendingApproval status can be "
		    "canceled; this one is %s.",
		    pim_status[r->state]);
		return;
	}
	r->state = RS_PIM_CANCELED;
	r->step_status = STEP_COMPLETED;
	pim_sync(e, r);
	truth_add(e, c, r, "cancel", NULL);
	call_reply(c, 204, NULL);
}

/*
 * Approvals are read and decided with delegated tokens only: "Application:
 * Not supported" for PIM for Groups in the permissions tables of
 * microsoft-graph-docs-contrib: api-reference/v1.0/api/approval-get.md,
 * approvalstage-get.md and approvalstage-update.md. An app token gets 403.
 */
static struct req *
find_approval(struct call *c, const char *id)
{
	if (!call_require_delegated(c) ||
	    req_query_check(c, no_opts, NULL, "approval") < 0)
		return NULL;
	return find(c, id, true);
}

static void
get_approval(struct call *c, char **caps)
{
	struct req *r = find_approval(c, caps[0]);
	json_object *o, *a;

	if (r == NULL)
		return;
	o = json_object_new_object();
	a = json_object_new_array();
	json_object_array_add(a, req_step_json(c->emu, c, r));
	set_str(o, "id", r->id);
	json_object_object_add(
	    o, strcmp(c->segv[0], "beta") == 0 ? "steps" : "stages", a);
	call_reply(c, 200, o);
}

static void
get_stages(struct call *c, char **caps)
{
	struct req *r = find_approval(c, caps[0]);

	if (r != NULL)
		req_steps_reply(c, r);
}

static void
stage(struct call *c, char **caps)
{
	struct emu *e = c->emu;
	struct req *r;
	int rv;

	if ((r = find_approval(c, caps[0])) == NULL ||
	    (rv = req_step_call(c, r, caps[1], "stage")) < 0)
		return;
	if (rv == 1) {
		r->state = RS_GRANTED;
		pim_sync(e, r);
		req_schedule(e, r, emu_now(e) + e->cfg.provisioning_delay);
		req_tick(e);
	} else {
		r->state = RS_DENIED;
		pim_sync(e, r);
	}
	call_reply(c, 204, NULL);
}

const struct route pim_routes[] = {
	{ PIM1 "assignmentScheduleRequests", M_GET, get_list },
	{ PIM1 "assignmentScheduleRequests", M_POST, post_create },
	{ PIM1 "assignmentScheduleRequests/*", M_GET, get_one },
	{ PIM1 "assignmentScheduleRequests/*/cancel", M_POST, post_cancel },
	{ PIM1 "assignmentApprovals/*", M_GET, get_approval },
	{ PIM1 "assignmentApprovals/*/stages", M_GET, get_stages },
	{ PIM1 "assignmentApprovals/*/stages/*", M_GET | M_PATCH, stage },
	{ PIMB "assignmentScheduleRequests", M_GET, get_list },
	{ PIMB "assignmentScheduleRequests", M_POST, post_create },
	{ PIMB "assignmentScheduleRequests/*", M_GET, get_one },
	{ PIMB "assignmentScheduleRequests/*/cancel", M_POST, post_cancel },
	{ PIMB "assignmentApprovals/*", M_GET, get_approval },
	{ PIMB "assignmentApprovals/*/steps", M_GET, get_stages },
	{ PIMB "assignmentApprovals/*/steps/*", M_GET | M_PATCH, stage },
	{ NULL, 0, NULL },
};
