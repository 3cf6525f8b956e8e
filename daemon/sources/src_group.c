/*
 * Source adapter `group`: PIM for Groups (v1.0). Its paths and fields;
 * the poll cycle, reads, decisions and cancel are lister.c's.
 */
#include <string.h>

#include <json-c/json.h>

#include "sources.h"

static void grp_page(void *arg, long status, const char *body, const char *err);
static void grp_mine_page(
    void *arg, long status, const char *body, const char *err);
static size_t grp_scopes(
    struct daemon *d, const char **ids, size_t max, int *unscoped);
static int64_t grp_grant_end(const char *body);

/*
 * Listing: the v1.0 list "requires the $filter (eq) query parameter to
 * scope the request to a principalId or a groupId" (microsoft-graph-docs-
 * contrib: api-reference/v1.0/api/
 * privilegedaccessgroup-list-assignmentschedulerequests.md), so a cycle
 * asks filterByCurrentUser(on='approver') with the approver's delegated
 * token: exactly the requests approvald's account may decide
 * (api-reference/v1.0/api/
 * privilegedaccessgroupassignmentschedulerequest-filterbycurrentuser.md).
 * Public clients report that function answers at most 50 items and no
 * nextLink (microsoftgraph/microsoft-graph-docs issue 15755, as they cite
 * it): a full answer is completed by one `groupId eq` list per group the
 * policy names.
 */
static const struct lister_source grp_source = {
	.source = REQ_SRC_GROUP,
	.prefix = "/v1.0/identityGovernance/privilegedAccess/group",
	.requests = "/assignmentScheduleRequests",
	.approvals = "/assignmentApprovals",
	.pending = "status eq 'PendingApproval'",
	.status_field = "status",
	.read_token =
	    TOKEN_DELEGATED,       /* approvals: delegated only (GRAPH.md) */
	.cancel_token = TOKEN_APP, /* application permission allowed */
	.page = grp_page,
	.mine =
	    "/assignmentScheduleRequests/filterByCurrentUser(on='approver')",
	.mine_page = grp_mine_page,
	.mine_cap = 50,
	.scope_field = "groupId",
	.scopes = grp_scopes,
	.grant_end = grp_grant_end,
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
	static const struct lister_status map[] = {
		{ "PendingApproval", SM_E_GRAPH_SUBMITTED },
		{ "Granted", SM_E_GRAPH_APPROVED },
		{ "PendingScheduleCreation", SM_E_GRAPH_APPROVED },
		{ "ScheduleCreated", SM_E_GRAPH_APPROVED },
		{ "PendingProvisioning", SM_E_GRAPH_APPROVED },
		{ "Provisioned", SM_E_GRAPH_APPROVED },
		{ "Denied", SM_E_GRAPH_REJECTED },
		/* an approval that expired after 24 h (entra-docs
		 * groups-approval-workflow.md; Graph documents no status value,
		 * the emulator answers TimedOut): closed, not approved */
		{ "TimedOut", SM_E_GRAPH_REJECTED },
		{ "Canceled", SM_E_GRAPH_CANCELED },
		{ "Revoked", SM_E_GRAPH_COMPLETED },
		{ "Failed", SM_E_GRAPH_COMPLETED },
		{ NULL, SM_E_GRAPH_UNKNOWN },
	};

	return lister_observe(map, status);
}

static void
grp_page(void *arg, long status, const char *body, const char *err)
{
	lister_page(arg, &grp_source, status, body, err);
}

static void
grp_mine_page(void *arg, long status, const char *body, const char *err)
{
	lister_mine_page(arg, &grp_source, status, body, err);
}

/* The groups named by the policy's `group:` conditions. */
static size_t
grp_scopes(struct daemon *d, const char **ids, size_t max, int *unscoped)
{
	return policy_group_scopes(d->policy, ids, max, unscoped);
}

static int64_t
grp_time(struct json_object *o, const char *k)
{
	const char *s = adapter_str(o, k);
	int64_t t;

	return s != NULL && (t = cfg_parse_timestamp(s)) > 0 ? t : 0;
}

/*
 * The end of an approved request's grant, from its scheduleInfo
 * (requestSchedule: startDateTime, expiration {type, endDateTime,
 * duration}; microsoft-graph-docs-contrib: api-reference/v1.0/resources/
 * requestschedule.md, expirationpattern.md). A grant begins at its start,
 * or when it was provisioned if that is later (completedDateTime), and ends
 * at endDateTime or duration after it began; noExpiration never ends (0).
 */
static int64_t
grp_grant_end(const char *body)
{
	struct json_object *o, *si = NULL, *ex = NULL;
	const char *dur;
	int64_t begin, t, end = 0, d;

	if ((o = parse_json(body, strlen(body))) == NULL)
		return 0;
	if ((si = parse_obj(o, "scheduleInfo")) == NULL ||
	    (ex = parse_obj(si, "expiration")) == NULL)
		goto out;
	if ((end = grp_time(ex, "endDateTime")) > 0)
		goto out;
	if ((dur = adapter_str(ex, "duration")) == NULL ||
	    (d = cfg_parse_duration(dur)) <= 0)
		goto out;
	begin = grp_time(si, "startDateTime");
	if ((t = grp_time(o, "createdDateTime")) > begin)
		begin = t;
	if ((t = grp_time(o, "completedDateTime")) > begin)
		begin = t;
	if (begin > 0)
		end = begin + d;
out:
	json_object_put(o);
	return end;
}

static void
grp_poll(struct daemon *d)
{
	lister_poll(d, &grp_source);
}

static void
grp_fetch(struct daemon *d, const char *gid, adapter_body_cb cb, void *arg)
{
	lister_fetch(d, &grp_source, gid, cb, arg);
}

static void
grp_read_step(
    struct daemon *d, const char *approval_id, adapter_step_cb cb, void *arg)
{
	lister_read_step(d, &grp_source, approval_id, cb, arg);
}

static void
grp_decide(struct daemon *d, const char *approval_id, const char *step_id,
    int approve, const char *justification, adapter_body_cb cb, void *arg)
{
	lister_decide(d, &grp_source, approval_id, step_id, approve,
	    justification, cb, arg);
}

static void
grp_cancel(struct daemon *d, const char *gid, adapter_body_cb cb, void *arg)
{
	lister_cancel(d, &grp_source, gid, cb, arg);
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
