/*
 * Source adapter `access-package`: entitlement management (v1.0) access
 * package assignment requests. Its paths and fields; the poll cycle,
 * reads, decisions and cancel are lister.c's.
 *
 * The accessPackage, requestor and assignment of a request are navigation
 * properties: every read expands them, so the listing and a read-back
 * normalize (and digest) alike. Approvals are read with the delegated
 * token and cancel uses it too: Graph documents neither for application
 * permissions.
 */
#include "sources.h"

static void acc_page(void *arg, long status, const char *body, const char *err);

/* A delivered request never changes again; its assignment lives on. */
static const char *const acc_settled[] = { "delivered", NULL };

static const struct lister_source acc_source = {
	.source = REQ_SRC_ACCESS_PACKAGE,
	.prefix = "/v1.0/identityGovernance/entitlementManagement",
	.requests = "/assignmentRequests",
	.approvals = "/accessPackageAssignmentApprovals",
	.pending = "state eq 'pendingApproval'",
	/* v1.0's assignment names its target only as a navigation property:
	 * "to retrieve the target of the access package assignment, include
	 * $expand=assignment($expand=target)"
	 * (https://learn.microsoft.com/graph/api/
	 * accesspackageassignmentrequest-get); targetId is beta's. */
	.expand = "accessPackage,requestor,assignment($expand=target)",
	.status_field = "state",
	.read_token = TOKEN_DELEGATED,
	.cancel_token = TOKEN_DELEGATED,
	.settled = acc_settled,
	.page = acc_page,
};

/*
 * accessPackageAssignmentRequest.state (accessPackageRequestState).
 * `submitted` comes before the approval exists: nothing to act on yet.
 * Delivery failing after an approval ends the request (completed).
 * Unknown values (unknownFutureValue, anything new) are tolerated.
 */
static enum sm_event_kind
acc_observe(const char *status)
{
	static const struct lister_status map[] = {
		{ "pendingApproval", SM_E_GRAPH_SUBMITTED },
		{ "scheduled", SM_E_GRAPH_APPROVED },
		{ "delivering", SM_E_GRAPH_APPROVED },
		{ "partiallyDelivered", SM_E_GRAPH_APPROVED },
		{ "delivered", SM_E_GRAPH_APPROVED },
		{ "denied", SM_E_GRAPH_REJECTED },
		{ "canceled", SM_E_GRAPH_CANCELED },
		{ "deliveryFailed", SM_E_GRAPH_COMPLETED },
		{ NULL, SM_E_GRAPH_UNKNOWN },
	};

	return lister_observe(map, status);
}

static void
acc_page(void *arg, long status, const char *body, const char *err)
{
	lister_page(arg, &acc_source, status, body, err);
}

static void
acc_poll(struct daemon *d)
{
	lister_poll(d, &acc_source);
}

static void
acc_fetch(struct daemon *d, const char *gid, adapter_body_cb cb, void *arg)
{
	lister_fetch(d, &acc_source, gid, cb, arg);
}

static void
acc_read_step(
    struct daemon *d, const char *approval_id, adapter_step_cb cb, void *arg)
{
	lister_read_step(d, &acc_source, approval_id, cb, arg);
}

static void
acc_decide(struct daemon *d, const char *approval_id, const char *step_id,
    int approve, const char *justification, adapter_body_cb cb, void *arg)
{
	lister_decide(d, &acc_source, approval_id, step_id, approve,
	    justification, cb, arg);
}

static void
acc_cancel(struct daemon *d, const char *gid, adapter_body_cb cb, void *arg)
{
	lister_cancel(d, &acc_source, gid, cb, arg);
}

const struct source_adapter adapter_access = {
	.source = REQ_SRC_ACCESS_PACKAGE,
	.name = "access-package",
	.poll = acc_poll,
	.fetch = acc_fetch,
	.read_step = acc_read_step,
	.decide = acc_decide,
	.cancel = acc_cancel,
	.observe = acc_observe,
	.status_field = "state",
};
