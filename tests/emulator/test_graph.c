/* graph-emulator: EPM, PIM for Groups and directory endpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "harness.h"
#include "suites.h"

#define PROD "2b5ed229-4072-478d-9504-a047ebd4b07d" /* Prod Admins */
#define FBCU_APPROVER                                                          \
	"assignmentScheduleRequests/filterByCurrentUser(on='approver')"
#define PENDING_FILTER "?$filter=status%20eq%20'PendingApproval'"

static char *alex, *morgan, *bot, *sam, *app, *ciso;

static void
tokens_fresh(void)
{
	h_reset();
	free(alex);
	free(morgan);
	free(bot);
	free(sam);
	free(app);
	free(ciso);
	alex = h_token("alex@contoso.com");
	morgan = h_token("morgan@contoso.com");
	bot = h_token("approvald@contoso.com");
	sam = h_token("sam@contoso.com");
	ciso = h_token("ciso@contoso.com");
	app = h_token("app:" APP_ID);
}

int
graph_init(void)
{
	return h_start(NULL);
}

int
graph_cleanup(void)
{
	free(alex);
	free(morgan);
	free(bot);
	free(sam);
	free(app);
	free(ciso);
	alex = morgan = bot = sam = app = ciso = NULL;
	h_stop();
	return 0;
}

static const char *const epm_fixtures[] = {
	"permissions-request-aws-policy.json",
	"permissions-request-aws-action.json",
	"permissions-request-azure-action.json",
	"permissions-request-azure-role.json",
	"permissions-request-gcp-action.json",
	"permissions-request-gcp-role.json",
	NULL,
};

/* Every EPM fixture: POST → 201 with the body echoed; GET by $filter. */
static void
t_epm_roundtrip(void)
{
	const char *const *f;
	char path[256];
	struct resp *r, *g;
	json_object *sent, *v;

	tokens_fresh();
	for (f = epm_fixtures; *f != NULL; f++) {
		char *body = h_fixture(*f);

		CU_ASSERT_PTR_NOT_NULL_FATAL(body);
		r = h_call("POST", EPM "scheduledPermissionsRequests", alex,
		    body, NULL);
		CU_ASSERT_EQUAL(r->status, 201);
		H_ASSERT_STR(h_str(r->json, "statusDetail"), "submitted");
		CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "createdDateTime"));
		sent = json_tokener_parse(body);
		json_object_object_get_ex(sent, "requestedPermissions", &v);
		CU_ASSERT_TRUE(json_object_equal(v,
		    json_object_object_get(r->json, "requestedPermissions")));
		H_ASSERT_STR(h_str(r->json, "justification"),
		    h_str(sent, "justification"));
		snprintf(path, sizeof(path),
		    EPM "scheduledPermissionsRequests?$filter=id%%20eq%%20'%s'",
		    h_str(r->json, "id"));
		g = h_call("GET", path, app, NULL, NULL);
		CU_ASSERT_EQUAL(g->status, 200);
		H_ASSERT_STR(
		    h_str(g->json, "value/0/id"), h_str(r->json, "id"));
		CU_ASSERT_TRUE(json_object_equal(
		    json_object_object_get(
		        json_object_array_get_idx(
		            json_object_object_get(g->json, "value"), 0),
		        "requestedPermissions"),
		    v));
		json_object_put(sent);
		h_free(g);
		h_free(r);
		free(body);
	}
}

static void
expect_400(const char *body)
{
	struct resp *r = h_call(
	    "POST", EPM "scheduledPermissionsRequests", alex, body, NULL);

	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error/code"), "BadRequest");
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "error/innerError/request-id"));
	h_free(r);
}

static void
t_epm_validation(void)
{
	struct resp *r;

	tokens_fresh();
	expect_400("{}");
	expect_400("not json");
	expect_400("{\"justification\":\"x\"}");
	expect_400("{\"requestedPermissions\":{\"@odata.type\":"
	           "\"#microsoft.graph.unknownDefinition\"}}");
	expect_400("{\"bogus\":1,\"requestedPermissions\":{}}");
	/* valid definition, action type from another cloud */
	expect_400(
	    "{\"requestedPermissions\":{\"@odata.type\":\"microsoft.graph."
	    "awsPermissionsDefinition\",\"authorizationSystemInfo\":{"
	    "\"authorizationSystemId\":\"1\",\"authorizationSystemType\":"
	    "\"AWS\"},\"actionInfo\":{\"@odata.type\":\"microsoft.graph."
	    "gcpRolePermissionsDefinitionAction\",\"roles\":[{\"id\":\"r\"}"
	    "]},\"identityInfo\":{\"externalId\":\"a\",\"identityType\":"
	    "\"user\",\"source\":{\"@odata.type\":\"microsoft.graph."
	    "edIdentitySource\"}}}}");
	/* bad ISO duration */
	expect_400(
	    "{\"requestedPermissions\":{\"@odata.type\":\"microsoft.graph."
	    "singleResourceGcpPermissionsDefinition\",\"resourceId\":\"p\","
	    "\"authorizationSystemInfo\":{\"authorizationSystemId\":\"p\","
	    "\"authorizationSystemType\":\"GCP\"},\"actionInfo\":{\"@odata."
	    "type\":\"microsoft.graph.gcpRolePermissionsDefinitionAction\","
	    "\"roles\":[{\"id\":\"r\"}]},\"identityInfo\":{\"externalId\":"
	    "\"a\",\"identityType\":\"user\",\"source\":{\"@odata.type\":"
	    "\"microsoft.graph.edIdentitySource\"}}},\"scheduleInfo\":{"
	    "\"expiration\":{\"duration\":\"1 hour\"}}}");
	/* app token may not create */
	r = h_call("POST", EPM "scheduledPermissionsRequests", app, "{}", NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	/* no token / bad token */
	r = h_call("GET", EPM "scheduledPermissionsRequests", NULL, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 401);
	H_ASSERT_STR(
	    h_str(r->json, "error/code"), "InvalidAuthenticationToken");
	h_free(r);
	r = h_call(
	    "GET", EPM "scheduledPermissionsRequests", "nope", NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 401);
	h_free(r);
}

static char *
step_id(const char *req, const char *token)
{
	char path[256];
	struct resp *r;
	char *id = NULL;

	snprintf(
	    path, sizeof(path), EPM "scheduledPermissionsApprovals/%s", req);
	r = h_call("GET", path, token, NULL, NULL);
	if (r->status == 200 && h_str(r->json, "steps/0/id") != NULL)
		id = strdup(h_str(r->json, "steps/0/id"));
	h_free(r);
	return id;
}

static long
decide(const char *req, const char *step, const char *token, const char *result)
{
	char path[256], body[128];
	struct resp *r;
	long st;

	snprintf(path, sizeof(path),
	    EPM "scheduledPermissionsApprovals/%s/steps/%s", req, step);
	snprintf(body, sizeof(body),
	    "{\"reviewResult\":\"%s\",\"justification\":\"test\"}", result);
	r = h_call("PATCH", path, token, body, NULL);
	st = r->status;
	h_free(r);
	return st;
}

static long
cancel(const char *req, const char *token)
{
	char path[256];
	struct resp *r;
	long st;

	snprintf(path, sizeof(path),
	    EPM "scheduledPermissionsRequests/%s/cancelAll", req);
	r = h_call("POST", path, token, NULL, NULL);
	st = r->status;
	h_free(r);
	return st;
}

static const char *
status_of(const char *id, char *buf, size_t len)
{
	char path[256];
	struct resp *r;

	snprintf(path, sizeof(path),
	    EPM "scheduledPermissionsRequests?$filter=id%%20eq%%20'%s'", id);
	r = h_call("GET", path, bot, NULL, NULL);
	snprintf(buf, len, "%s",
	    h_str(r->json, "value/0/statusDetail")
	        ? h_str(r->json, "value/0/statusDetail")
	        : "?");
	h_free(r);
	return buf;
}

/* The permission model: app PATCH, non-approver, requestor, decided. */
static void
t_epm_permission_model(void)
{
	char *id, *step, path[256], buf[32];
	struct resp *r;

	tokens_fresh();
	id = h_create_epm("permissions-request-aws-policy.json", alex);
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	step = step_id(id, bot);
	CU_ASSERT_PTR_NOT_NULL_FATAL(step);
	CU_ASSERT_EQUAL(decide(id, step, app, "Approve"), 403);
	CU_ASSERT_EQUAL(decide(id, step, sam, "Approve"), 403);
	CU_ASSERT_EQUAL(decide(id, step, alex, "Approve"), 403);
	CU_ASSERT_EQUAL(decide(id, step, bot, "Maybe"), 400);
	CU_ASSERT_EQUAL(decide(id, "no-such-step", bot, "Approve"), 404);
	CU_ASSERT_EQUAL(decide("no-such-request", step, bot, "Approve"), 404);
	/* cancel of a pending request by anyone but the requestor */
	CU_ASSERT_EQUAL(cancel(id, bot), 403);
	CU_ASSERT_EQUAL(cancel(id, app), 403);
	/* assignedToMe relative to the caller */
	snprintf(
	    path, sizeof(path), EPM "scheduledPermissionsApprovals/%s", id);
	r = h_call("GET", path, morgan, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "steps/0/assignedToMe"), "true");
	H_ASSERT_STR(h_str(r->json, "steps/0/status"), "InProgress");
	H_ASSERT_STR(h_str(r->json, "steps/0/reviewResult"), "NotReviewed");
	h_free(r);
	r = h_call("GET", path, alex, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "steps/0/assignedToMe"), "false");
	h_free(r);
	CU_ASSERT_STRING_EQUAL(status_of(id, buf, sizeof(buf)), "submitted");
	CU_ASSERT_EQUAL(decide(id, step, morgan, "Approve"), 204);
	CU_ASSERT_EQUAL(decide(id, step, bot, "Approve"), 409);
	CU_ASSERT_EQUAL(decide(id, step, bot, "Deny"), 409);
	snprintf(path, sizeof(path),
	    EPM "scheduledPermissionsApprovals/%s/steps/%s", id, step);
	r = h_call("GET", path, bot, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "status"), "Completed");
	H_ASSERT_STR(h_str(r->json, "reviewResult"), "Approved");
	/* an identity: id and displayName (approvalstage.md) */
	H_ASSERT_STR(h_str(r->json, "reviewedBy/id"),
	    "a3d7c1f0-2b4e-4f6a-8c9d-0e1f2a3b4c5d");
	CU_ASSERT_PTR_NULL(h_str(r->json, "reviewedBy/userPrincipalName"));
	H_ASSERT_STR(h_str(r->json, "justification"), "test");
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "reviewedDateTime"));
	h_free(r);
	CU_ASSERT_STRING_EQUAL(status_of(id, buf, sizeof(buf)), "approved");
	/* approved: requestor or admin may cancel, others not */
	CU_ASSERT_EQUAL(cancel(id, sam), 403);
	CU_ASSERT_EQUAL(cancel(id, ciso), 204);
	CU_ASSERT_STRING_EQUAL(status_of(id, buf, sizeof(buf)), "canceled");
	CU_ASSERT_EQUAL(cancel(id, alex), 400);
	/* truth: exactly one approve and one cancel */
	r = h_call("GET", "/_emulator/truth", NULL, NULL, NULL);
	snprintf(path, sizeof(path), "requests/%s/approve", id);
	H_ASSERT_STR(h_str(r->json, path), "1");
	snprintf(path, sizeof(path), "requests/%s/cancel", id);
	H_ASSERT_STR(h_str(r->json, path), "1");
	H_ASSERT_STR(
	    h_str(r->json, "decisions/0/caller/upn"), "morgan@contoso.com");
	H_ASSERT_STR(h_str(r->json, "decisions/0/action"), "approve");
	H_ASSERT_STR(h_str(r->json, "decisions/1/action"), "cancel");
	CU_ASSERT_PTR_NULL(h_str(r->json, "decisions/2"));
	h_free(r);
	free(step);
	free(id);
	/* deny path and requestor cancel of pending */
	id = h_create_epm("permissions-request-gcp-role.json", alex);
	step = step_id(id, bot);
	CU_ASSERT_EQUAL(decide(id, step, bot, "Deny"), 204);
	CU_ASSERT_STRING_EQUAL(status_of(id, buf, sizeof(buf)), "rejected");
	free(step);
	free(id);
	id = h_create_epm("permissions-request-gcp-role.json", alex);
	/* a bodiless action POST with a form content type is refused 415 and
	 * changes nothing; JSON, or no type at all, is taken */
	snprintf(path, sizeof(path),
	    EPM "scheduledPermissionsRequests/%s/cancelAll", id);
	r = h_call_hdr("POST", path, alex, NULL, NULL,
	    "Content-Type: application/x-www-form-urlencoded");
	CU_ASSERT_EQUAL(r->status, 415);
	H_ASSERT_STR(h_str(r->json, "error/code"), "UnsupportedMediaType");
	h_free(r);
	CU_ASSERT_STRING_EQUAL(status_of(id, buf, sizeof(buf)), "submitted");
	r = h_call_hdr("POST", path, alex, NULL, NULL,
	    "Content-Type: application/json; charset=utf-8");
	CU_ASSERT_EQUAL(r->status, 204);
	h_free(r);
	CU_ASSERT_STRING_EQUAL(status_of(id, buf, sizeof(buf)), "canceled");
	free(id);
	id = h_create_epm("permissions-request-gcp-role.json", alex);
	CU_ASSERT_EQUAL(cancel(id, alex), 204);
	CU_ASSERT_STRING_EQUAL(status_of(id, buf, sizeof(buf)), "canceled");
	step = step_id(id, bot);
	CU_ASSERT_EQUAL(decide(id, step, bot, "Approve"), 409);
	free(step);
	free(id);
	CU_ASSERT_EQUAL(cancel("unknown-id", alex), 404);
}

/* Collect the statusDetail/activeOccurrenceStatus history of one request. */
static void
history(const char *id, char *out, size_t len)
{
	struct resp *r;
	json_object *v;
	size_t i;
	char path[512];

	out[0] = '\0';
	snprintf(path, sizeof(path),
	    EPM
	    "permissionsRequestChanges?$filter=permissionsRequestId%%20eq%%20"
	    "'%s'",
	    id);
	r = h_call("GET", path, bot, NULL, NULL);
	v = json_object_object_get(r->json, "value");
	for (i = 0; v != NULL && i < json_object_array_length(v); i++) {
		json_object *c = json_object_array_get_idx(v, i);
		const char *occ = h_str(c, "activeOccurrenceStatus");

		snprintf(out + strlen(out), len - strlen(out), "%s%s/%s",
		    i ? "," : "", h_str(c, "statusDetail"), occ ? occ : "-");
	}
	h_free(r);
}

static void
t_epm_lifecycle(void)
{
	char *id, *step, hist[512], buf[32];
	struct resp *r;

	tokens_fresh();
	id = h_create_epm("permissions-request-azure-role.json", alex);
	step = step_id(id, bot);
	CU_ASSERT_EQUAL(decide(id, step, bot, "Approve"), 204);
	history(id, hist, sizeof(hist));
	/* prefix: real time may already have completed the granting delay */
	CU_ASSERT_EQUAL(strncmp(hist, "submitted/-,approved/granting", 29), 0);
	r = h_call(
	    "POST", "/_emulator/clock", NULL, "{\"advance\":\"PT3S\"}", NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "now"));
	h_free(r);
	history(id, hist, sizeof(hist));
	CU_ASSERT_STRING_EQUAL(
	    hist, "submitted/-,approved/granting,approved/granted");
	/* tokens expire on the emulator clock too: mint fresh ones after */
	r = h_call(
	    "POST", "/_emulator/clock", NULL, "{\"advance\":\"PT2H\"}", NULL);
	h_free(r);
	r = h_call("GET", EPM "permissionsRequestChanges", bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 401);
	h_free(r);
	free(bot);
	bot = h_token("approvald@contoso.com");
	history(id, hist, sizeof(hist));
	CU_ASSERT_STRING_EQUAL(hist, "submitted/-,approved/granting,"
	                             "approved/granted,completed/revoked");
	CU_ASSERT_STRING_EQUAL(status_of(id, buf, sizeof(buf)), "completed");
	r = h_call("GET", "/_emulator/clock", NULL, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "now"));
	h_free(r);
	r = h_call(
	    "POST", "/_emulator/clock", NULL, "{\"advance\":\"soon\"}", NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	free(step);
	free(id);
}

/* Changes: filter on time, $top pages with nextLink on our host. */
static void
t_epm_changes_paging(void)
{
	struct resp *r, *one;
	char path[512], *next = NULL;
	int pages = 0, total = 0, i;
	const char *first_id;

	tokens_fresh();
	for (i = 0; i < 5; i++)
		free(h_create_epm("permissions-request-aws-action.json", alex));
	r = h_call("POST", "/_emulator/generate", NULL,
	    "{\"count\":20,\"requestor\":\"alex@contoso.com\","
	    "\"kinds\":[\"aws-policy\",\"gcp-role\"]}",
	    NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_EQUAL(
	    json_object_array_length(json_object_object_get(r->json, "ids")),
	    20);
	h_free(r);
	snprintf(path, sizeof(path),
	    EPM
	    "permissionsRequestChanges?$filter=modificationDateTime%%20gt%%20"
	    "2023-02-06T12:15:00Z&$top=7");
	next = strdup(path);
	while (next != NULL && pages < 20) {
		r = h_call("GET", next, bot, NULL, NULL);
		CU_ASSERT_EQUAL(r->status, 200);
		total += (int)json_object_array_length(
		    json_object_object_get(r->json, "value"));
		free(next);
		next = NULL;
		if (h_str(r->json, "@odata.nextLink") != NULL) {
			CU_ASSERT_EQUAL(
			    strncmp(h_str(r->json, "@odata.nextLink"), h_base(),
			        strlen(h_base())),
			    0);
			CU_ASSERT_PTR_NOT_NULL(strstr(
			    h_str(r->json, "@odata.nextLink"), "$skiptoken="));
			next = strdup(h_str(r->json, "@odata.nextLink"));
		}
		pages++;
		h_free(r);
	}
	CU_ASSERT_EQUAL(total, 25);
	CU_ASSERT_EQUAL(pages, 4);
	/* a filter in the future matches nothing */
	r = h_call("GET",
	    EPM "permissionsRequestChanges?$filter=modificationDateTime%20gt%20"
	        "2999-01-01T00:00:00Z",
	    bot, NULL, NULL);
	CU_ASSERT_EQUAL(
	    json_object_array_length(json_object_object_get(r->json, "value")),
	    0);
	h_free(r);
	/* get one change by id */
	r = h_call(
	    "GET", EPM "permissionsRequestChanges?$top=1", bot, NULL, NULL);
	first_id = h_str(r->json, "value/0/id");
	CU_ASSERT_PTR_NOT_NULL_FATAL(first_id);
	snprintf(
	    path, sizeof(path), EPM "permissionsRequestChanges/%s", first_id);
	one = h_call("GET", path, bot, NULL, NULL);
	CU_ASSERT_EQUAL(one->status, 200);
	H_ASSERT_STR(h_str(one->json, "statusDetail"), "submitted");
	CU_ASSERT_EQUAL(strlen(h_str(one->json, "modificationDateTime")), 28);
	h_free(one);
	h_free(r);
	r = h_call(
	    "GET", EPM "permissionsRequestChanges/nope", bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	h_free(r);
	/* bad query options */
	r = h_call(
	    "GET", EPM "permissionsRequestChanges?$top=0", bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	r = h_call("GET", EPM "permissionsRequestChanges?$skiptoken=@@", bot,
	    NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	r = h_call("GET", EPM "permissionsRequestChanges?$filter=foo%20bar",
	    bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	/* requests list: statusDetail filter with paging */
	r = h_call("GET",
	    EPM "scheduledPermissionsRequests?$filter=statusDetail%20eq%20"
	        "'submitted'&$top=10",
	    bot, NULL, NULL);
	CU_ASSERT_EQUAL(
	    json_object_array_length(json_object_object_get(r->json, "value")),
	    10);
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "@odata.nextLink"));
	{
		/* several ids joined by 'or': each once, unknown ones
		 * absent; 'and' and 'or' in one filter: 400 */
		char a[64], b[64], ids[512];
		struct resp *q;

		snprintf(a, sizeof(a), "%s", h_str(r->json, "value/0/id"));
		snprintf(b, sizeof(b), "%s", h_str(r->json, "value/1/id"));
		snprintf(ids, sizeof(ids),
		    EPM "scheduledPermissionsRequests?$filter=id%%20eq%%20'%s'"
		        "%%20or%%20id%%20eq%%20'nope'%%20or%%20id%%20eq%%20"
		        "'%s'%%20or%%20id%%20eq%%20'%s'",
		    a, b, a);
		q = h_call("GET", ids, bot, NULL, NULL);
		CU_ASSERT_EQUAL(q->status, 200);
		CU_ASSERT_EQUAL(json_object_array_length(
		                    json_object_object_get(q->json, "value")),
		    2);
		H_ASSERT_STR(h_str(q->json, "value/0/id"), a);
		H_ASSERT_STR(h_str(q->json, "value/1/id"), b);
		h_free(q);
		q = h_call("GET",
		    EPM "scheduledPermissionsRequests?$filter=statusDetail%20eq"
		        "%20'submitted'%20or%20statusDetail%20eq%20'canceled'"
		        "&$top=3",
		    bot, NULL, NULL);
		CU_ASSERT_EQUAL(q->status, 200);
		CU_ASSERT_EQUAL(json_object_array_length(
		                    json_object_object_get(q->json, "value")),
		    3);
		h_free(q);
		q = h_call("GET",
		    EPM "scheduledPermissionsRequests?$filter=id%20eq%20'x'%20"
		        "or%20id%20eq%20'y'%20and%20statusDetail%20eq%20'z'",
		    bot, NULL, NULL);
		CU_ASSERT_EQUAL(q->status, 400);
		h_free(q);
	}
	h_free(r);
}

static void
t_pim(void)
{
	char *body = h_fixture("group-request-self-activate.json"), path[256],
	     *id, *stage;
	struct resp *r;

	tokens_fresh();
	r = h_call("POST", PIM "assignmentScheduleRequests", alex, body, NULL);
	CU_ASSERT_EQUAL(r->status, 201);
	H_ASSERT_STR(h_str(r->json, "status"), "PendingApproval");
	H_ASSERT_STR(h_str(r->json, "createdBy/user/id"), ALEX_ID);
	H_ASSERT_STR(
	    h_str(r->json, "groupId"), "2b5ed229-4072-478d-9504-a047ebd4b07d");
	id = strdup(h_str(r->json, "id"));
	H_ASSERT_STR(h_str(r->json, "approvalId"), id);
	h_free(r);
	free(body);
	/* The v1.0 list must be scoped to a group or a principal. */
	r = h_call("GET",
	    PIM "assignmentScheduleRequests?$filter=status%20eq%20"
	        "'PendingApproval'",
	    app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error/code"), "BadRequest");
	h_free(r);
	r = h_call("GET", PIM "assignmentScheduleRequests", app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	r = h_call("GET",
	    PIM "assignmentScheduleRequests?$filter=groupId%20eq%20'" PROD
	        "'%20or%20status%20eq%20'PendingApproval'",
	    app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	r = h_call("GET",
	    PIM "assignmentScheduleRequests?$filter=groupId%20eq%20'" PROD
	        "'%20and%20status%20eq%20'PendingApproval'",
	    app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "value/0/id"), id);
	h_free(r);
	r = h_call("GET",
	    PIM
	    "assignmentScheduleRequests?$filter=principalId%20eq%20'" ALEX_ID
	    "'",
	    app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "value/0/id"), id);
	h_free(r);
	r = h_call("GET",
	    PIM "assignmentScheduleRequests?$filter=groupId%20eq%20'"
	        "68e55cce-cf7e-4a2d-9046-3e4e75c4bfa7'",
	    app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_PTR_NULL(strstr(r->body ? r->body : "", id));
	h_free(r);
	/* What the signed-in approver may decide; never the requestor's
	 * own request, never for an app-only token. */
	r = h_call("GET", PIM FBCU_APPROVER PENDING_FILTER, bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "value/0/id"), id);
	h_free(r);
	r = h_call("GET", PIM FBCU_APPROVER PENDING_FILTER, alex, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_PTR_NULL(strstr(r->body ? r->body : "", id));
	h_free(r);
	r = h_call("GET",
	    PIM
	    "assignmentScheduleRequests/filterByCurrentUser(on='principal')",
	    alex, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "value/0/id"), id);
	h_free(r);
	r = h_call("GET", PIM FBCU_APPROVER PENDING_FILTER, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	r = h_call("GET",
	    PIM "assignmentScheduleRequests/filterByCurrentUser(on='nobody')",
	    bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s", id);
	r = h_call("GET", path, bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	stage = strdup(h_str(r->json, "stages/0/id"));
	h_free(r);
	snprintf(path, sizeof(path),
	    "/beta/identityGovernance/privilegedAccess/group/"
	    "assignmentApprovals/%s",
	    id);
	r = h_call("GET", path, bot, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "steps/0/id"), stage);
	h_free(r);
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s/stages/%s", id,
	    stage);
	r = h_call("PATCH", path, app, "{\"reviewResult\":\"Approve\"}", NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	r = h_call("PATCH", path, alex, "{\"reviewResult\":\"Approve\"}", NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	r = h_call("PATCH", path, sam, "{\"reviewResult\":\"Approve\"}", NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	r = h_call("PATCH", path, morgan,
	    "{\"reviewResult\":\"Approve\",\"justification\":\"ok\"}", NULL);
	CU_ASSERT_EQUAL(r->status, 204);
	h_free(r);
	r = h_call("PATCH", path, bot, "{\"reviewResult\":\"Deny\"}", NULL);
	CU_ASSERT_EQUAL(r->status, 409);
	h_free(r);
	snprintf(path, sizeof(path), PIM "assignmentScheduleRequests/%s", id);
	r = h_call("GET", path, app, NULL, NULL);
	CU_ASSERT_TRUE(H_STRCMP(h_str(r->json, "status"), "Granted") == 0 ||
	               H_STRCMP(h_str(r->json, "status"), "Provisioned") == 0);
	h_free(r);
	h_free(h_call(
	    "POST", "/_emulator/clock", NULL, "{\"advance\":\"PT3S\"}", NULL));
	r = h_call("GET", path, app, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "status"), "Provisioned");
	h_free(r);
	h_free(h_call(
	    "POST", "/_emulator/clock", NULL, "{\"advance\":\"PT1H\"}", NULL));
	free(app); /* an hour later the old token has expired */
	app = h_token("app:" APP_ID);
	r = h_call("GET", path, app, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "status"), "Provisioned");
	h_free(r);
	h_free(h_call(
	    "POST", "/_emulator/clock", NULL, "{\"advance\":\"PT1H\"}", NULL));
	free(app);
	app = h_token("app:" APP_ID);
	/* past the end of the schedule: still Provisioned (Graph documents
	 * Revoked for a canceled grant, nothing at natural expiry) */
	r = h_call("GET", path, app, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "status"), "Provisioned");
	h_free(r);
	snprintf(
	    path, sizeof(path), PIM "assignmentScheduleRequests/%s/cancel", id);
	r = h_call("POST", path, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	free(stage);
	free(id);
}

/* PIM approvals expire after 24 hours (entra-docs groups-approval-
 * workflow): the request times out and its stage can no longer be
 * decided. */
static void
t_pim_expiry(void)
{
	char *body = h_fixture("group-request-self-activate.json"), path[256],
	     *id, *stage;
	struct resp *r;

	tokens_fresh();
	r = h_call("POST", PIM "assignmentScheduleRequests", alex, body, NULL);
	CU_ASSERT_EQUAL_FATAL(r->status, 201);
	id = strdup(h_str(r->json, "id"));
	h_free(r);
	free(body);
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s", id);
	r = h_call("GET", path, bot, NULL, NULL);
	stage = strdup(h_str(r->json, "stages/0/id"));
	h_free(r);
	h_free(h_call("POST", "/_emulator/clock", NULL,
	    "{\"advance\":\"PT23H59M\"}", NULL));
	free(app); /* tokens a day old have expired; the state stays */
	free(bot);
	free(morgan);
	app = h_token("app:" APP_ID);
	bot = h_token("approvald@contoso.com");
	morgan = h_token("morgan@contoso.com");
	snprintf(path, sizeof(path), PIM "assignmentScheduleRequests/%s", id);
	r = h_call("GET", path, app, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "status"), "PendingApproval");
	h_free(r);
	h_free(h_call(
	    "POST", "/_emulator/clock", NULL, "{\"advance\":\"PT2M\"}", NULL));
	r = h_call("GET", path, app, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "status"), "TimedOut");
	h_free(r);
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s", id);
	r = h_call("GET", path, bot, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "stages/0/status"), "Expired");
	h_free(r);
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s/stages/%s", id,
	    stage);
	r = h_call(
	    "PATCH", path, morgan, "{\"reviewResult\":\"Approve\"}", NULL);
	CU_ASSERT_EQUAL(r->status, 409);
	h_free(r);
	r = h_call("GET", PIM FBCU_APPROVER PENDING_FILTER, bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_PTR_NULL(strstr(r->body ? r->body : "", id));
	h_free(r);
	free(stage);
	free(id);
}

/* filterByCurrentUser answers at most 50 items and no nextLink; the
 * group-scoped list pages through all of them (no $top: the list does not
 * document it). */
static void
t_pim_approver_cap(void)
{
	char *body = h_fixture("group-request-self-activate.json");
	struct resp *r;
	json_object *v;
	int n = 0, pages = 0;
	char path[1024];

	h_reset();
	tokens_fresh();
	r = h_call("POST", PIM "assignmentScheduleRequests", alex, body, NULL);
	CU_ASSERT_EQUAL(r->status, 201);
	h_free(r);
	/* Graph refuses a second pending activation of the same membership
	 * (PendingRoleAssignmentRequest); the control API, a test fixture,
	 * makes the other 119. */
	r = h_call("POST", PIM "assignmentScheduleRequests", alex, body, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(
	    h_str(r->json, "error/code"), "PendingRoleAssignmentRequest");
	h_free(r);
	free(body);
	r = h_call("POST", "/_emulator/generate", NULL,
	    "{\"count\":119,\"requestor\":\"alex@contoso.com\","
	    "\"kinds\":[\"group-self-activate\"]}",
	    NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	h_free(r);
	r = h_call("GET", PIM FBCU_APPROVER PENDING_FILTER, bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_FATAL(json_object_object_get_ex(r->json, "value", &v));
	CU_ASSERT_EQUAL(json_object_array_length(v), 50);
	CU_ASSERT_PTR_NULL(h_str(r->json, "@odata.nextLink"));
	h_free(r);
	snprintf(path, sizeof(path),
	    PIM "assignmentScheduleRequests?$filter=groupId%%20eq%%20'" PROD
	        "'%%20and%%20status%%20eq%%20'PendingApproval'");
	while (pages++ < 10) {
		r = h_call("GET", path, app, NULL, NULL);
		CU_ASSERT_EQUAL_FATAL(r->status, 200);
		CU_ASSERT_FATAL(
		    json_object_object_get_ex(r->json, "value", &v));
		n += (int)json_object_array_length(v);
		if (h_str(r->json, "@odata.nextLink") == NULL) {
			h_free(r);
			break;
		}
		snprintf(path, sizeof(path), "%s",
		    strstr(h_str(r->json, "@odata.nextLink"), "/v1.0/"));
		h_free(r);
	}
	CU_ASSERT_EQUAL(n, 120);
	CU_ASSERT_EQUAL(pages, 2); /* the emulator's page holds 100 */
}

static void
t_pim_admin_cancel_deny(void)
{
	char *body = h_fixture("group-request-admin-assign.json"), path[256],
	     *id;
	struct resp *r;

	tokens_fresh();
	r = h_call("POST", PIM "assignmentScheduleRequests", app, body, NULL);
	CU_ASSERT_EQUAL(r->status, 201);
	H_ASSERT_STR(h_str(r->json, "status"), "Provisioned");
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "completedDateTime"));
	CU_ASSERT_PTR_NULL(h_str(r->json, "approvalId"));
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s",
	    h_str(r->json, "id"));
	h_free(r);
	free(body);
	r = h_call("GET", path, bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	h_free(r);
	/* cancel: app allowed, non-requestor user not */
	body = h_fixture("group-request-self-activate.json");
	r = h_call("POST", PIM "assignmentScheduleRequests", alex, body, NULL);
	id = strdup(h_str(r->json, "id"));
	h_free(r);
	snprintf(
	    path, sizeof(path), PIM "assignmentScheduleRequests/%s/cancel", id);
	r = h_call("POST", path, sam, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	r = h_call("POST", path, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 204);
	h_free(r);
	free(id);
	/* deny */
	r = h_call("POST", PIM "assignmentScheduleRequests", alex, body, NULL);
	id = strdup(h_str(r->json, "id"));
	h_free(r);
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s/stages", id);
	r = h_call("GET", path, bot, NULL, NULL);
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s/stages/%s", id,
	    h_str(r->json, "value/0/id"));
	h_free(r);
	r = h_call("PATCH", path, bot, "{\"reviewResult\":\"Deny\"}", NULL);
	CU_ASSERT_EQUAL(r->status, 204);
	h_free(r);
	snprintf(path, sizeof(path), PIM "assignmentScheduleRequests/%s", id);
	r = h_call("GET", path, bot, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "status"), "Denied");
	h_free(r);
	free(id);
	free(body);
	/* validation */
	r = h_call("POST", PIM "assignmentScheduleRequests", alex,
	    "{\"accessId\":\"member\",\"principalId\":\"" ALEX_ID
	    "\",\"groupId\":\"nope\",\"action\":\"selfActivate\"}",
	    NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	r = h_call(
	    "GET", PIM "assignmentScheduleRequests/unknown", bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	h_free(r);
}

/* POST a PIM request as `tok`; the status, the id in *id (heap) if 201. */
static long
pim_post(const char *tok, const char *body, char **id, char *code, size_t n)
{
	struct resp *r;
	long st;

	r = h_call("POST", PIM "assignmentScheduleRequests", tok, body, NULL);
	st = r->status;
	if (id != NULL)
		*id = st == 201 && h_str(r->json, "id") != NULL
		          ? strdup(h_str(r->json, "id"))
		          : NULL;
	if (code != NULL)
		snprintf(code, n, "%s",
		    h_str(r->json, "error/code") ? h_str(r->json, "error/code")
		                                 : "");
	h_free(r);
	return st;
}

#define SAM_ID   "c5a9e3b1-7d2f-4a8c-b6e4-1f3a5c7e9b2d"
#define HELPDESK "68e55cce-cf7e-4a2d-9046-3e4e75c4bfa7"
#define SELF_BODY(principal, group, access)                                    \
	"{\"accessId\":\"" access "\",\"principalId\":\"" principal            \
	"\",\"groupId\":\"" group "\",\"action\":\"selfActivate\","            \
	"\"scheduleInfo\":{\"expiration\":{\"type\":\"afterDuration\","        \
	"\"duration\":\"PT2H\"}}}"

#define ADMIN_BODY(principal, group)                                           \
	"{\"accessId\":\"member\",\"principalId\":\"" principal                \
	"\",\"groupId\":\"" group "\",\"action\":\"adminAssign\","             \
	"\"scheduleInfo\":{\"expiration\":{\"type\":\"afterDuration\","        \
	"\"duration\":\"PT2H\"}}}"

/* selfActivate only for an eligible principal with its own delegated
 * token, admin actions only by a member of the group or an administrator
 * (privilegedaccessgroup-post-assignmentschedulerequests and its RBAC
 * note). */
static void
t_pim_self_activate_rules(void)
{
	char code[64], *id = NULL;

	tokens_fresh();
	/* an app token cannot self-activate anybody */
	CU_ASSERT_EQUAL(pim_post(app, SELF_BODY(ALEX_ID, PROD, "member"), NULL,
	                    code, sizeof(code)),
	    403);
	CU_ASSERT_STRING_EQUAL(code, "Authorization_RequestDenied");
	/* another user cannot activate alex's eligibility */
	CU_ASSERT_EQUAL(pim_post(sam, SELF_BODY(ALEX_ID, PROD, "member"), NULL,
	                    code, sizeof(code)),
	    403);
	CU_ASSERT_STRING_EQUAL(code, "Authorization_RequestDenied");
	/* sam is not eligible for Prod Admins */
	CU_ASSERT_EQUAL(pim_post(sam, SELF_BODY(SAM_ID, PROD, "member"), NULL,
	                    code, sizeof(code)),
	    400);
	CU_ASSERT_STRING_EQUAL(code, "RoleAssignmentDoesNotExist");
	/* alex is eligible as a member of Helpdesk, not as its owner */
	CU_ASSERT_EQUAL(pim_post(alex, SELF_BODY(ALEX_ID, HELPDESK, "owner"),
	                    NULL, code, sizeof(code)),
	    400);
	CU_ASSERT_STRING_EQUAL(code, "RoleAssignmentDoesNotExist");
	CU_ASSERT_EQUAL(pim_post(alex, SELF_BODY(ALEX_ID, HELPDESK, "member"),
	                    &id, NULL, 0),
	    201);
	free(id);
	id = NULL;
	/* admin actions: a member of the group or an administrator only */
	CU_ASSERT_EQUAL(pim_post(sam, ADMIN_BODY(SAM_ID, HELPDESK), NULL, code,
	                    sizeof(code)),
	    403);
	CU_ASSERT_STRING_EQUAL(code, "Authorization_RequestDenied");
	CU_ASSERT_EQUAL(
	    pim_post(alex, ADMIN_BODY(ALEX_ID, HELPDESK), NULL, NULL, 0), 403);
	CU_ASSERT_EQUAL(
	    pim_post(alex, ADMIN_BODY(SAM_ID, PROD), &id, NULL, 0), 201);
	free(id);
	id = NULL;
	CU_ASSERT_EQUAL(
	    pim_post(ciso, ADMIN_BODY(SAM_ID, HELPDESK), &id, NULL, 0), 201);
	free(id);
	id = NULL;
	/* the principal's own token, eligible: accepted */
	CU_ASSERT_EQUAL(
	    pim_post(alex, SELF_BODY(ALEX_ID, PROD, "member"), &id, NULL, 0),
	    201);
	CU_ASSERT_PTR_NOT_NULL(id);
	free(id);
}

/* Approvals (PIM and Permissions Management) are read and decided with
 * delegated tokens only (approval-get, approvalstage-get,
 * approvalstage-update: "Application: Not supported"). */
static void
t_approvals_delegated_only(void)
{
	char *body = h_fixture("group-request-self-activate.json"), path[256],
	     *id = NULL, *stage = NULL, *epm;
	struct resp *r;

	tokens_fresh();
	CU_ASSERT_EQUAL_FATAL(pim_post(alex, body, &id, NULL, 0), 201);
	free(body);
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s", id);
	r = h_call("GET", path, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	H_ASSERT_STR(
	    h_str(r->json, "error/code"), "Authorization_RequestDenied");
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "error/innerError/request-id"));
	h_free(r);
	r = h_call("GET", path, bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	if (h_str(r->json, "stages/0/id") != NULL)
		stage = strdup(h_str(r->json, "stages/0/id"));
	h_free(r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(stage);
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s/stages", id);
	r = h_call("GET", path, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s/stages/%s", id,
	    stage);
	r = h_call("GET", path, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	snprintf(path, sizeof(path),
	    "/beta/identityGovernance/privilegedAccess/group/"
	    "assignmentApprovals/%s/steps",
	    id);
	r = h_call("GET", path, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	/* Permissions Management: the same approval entity */
	epm = h_create_epm("permissions-request-aws-policy.json", alex);
	CU_ASSERT_PTR_NOT_NULL_FATAL(epm);
	snprintf(
	    path, sizeof(path), EPM "scheduledPermissionsApprovals/%s", epm);
	r = h_call("GET", path, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	snprintf(path, sizeof(path),
	    EPM "scheduledPermissionsApprovals/%s/steps", epm);
	r = h_call("GET", path, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	r = h_call("GET", path, bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	h_free(r);
	free(epm);
	free(stage);
	free(id);
}

/* Status of a call (freed). */
static long
status_of_call(const char *method, const char *path, const char *tok,
    const char *body, char *code, size_t n)
{
	struct resp *r = h_call(method, path, tok, body, NULL);
	long st = r->status;

	if (code != NULL)
		snprintf(code, n, "%s",
		    h_str(r->json, "error/code") ? h_str(r->json, "error/code")
		                                 : "");
	h_free(r);
	return st;
}

/* Query options only as each page documents them; $select projects and
 * refuses unknown properties; approval pages take none. */
static void
t_pim_query_options(void)
{
	char *body = h_fixture("group-request-self-activate.json"), path[512],
	     code[64], *id = NULL;
	struct resp *r;

	tokens_fresh();
	CU_ASSERT_EQUAL_FATAL(pim_post(alex, body, &id, NULL, 0), 201);
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	free(body);
	/* $top is not documented on the list */
	CU_ASSERT_EQUAL(
	    status_of_call("GET",
	        PIM "assignmentScheduleRequests?$filter=groupId%20eq"
	            "%20'" PROD "'&$top=5",
	        app, NULL, code, sizeof(code)),
	    400);
	CU_ASSERT_STRING_EQUAL(code, "BadRequest");
	CU_ASSERT_EQUAL(
	    status_of_call("GET", PIM FBCU_APPROVER PENDING_FILTER "&$top=5",
	        bot, NULL, NULL, 0),
	    400);
	CU_ASSERT_EQUAL(
	    status_of_call("GET",
	        PIM "assignmentScheduleRequests?$filter=groupId%20eq"
	            "%20'" PROD "'&$orderby=createdDateTime",
	        app, NULL, NULL, 0),
	    400);
	/* $select: known properties only, and only those come back */
	CU_ASSERT_EQUAL(
	    status_of_call("GET",
	        PIM "assignmentScheduleRequests?$filter=groupId%20eq"
	            "%20'" PROD "'&$select=id,bogus",
	        app, NULL, code, sizeof(code)),
	    400);
	CU_ASSERT_STRING_EQUAL(code, "BadRequest");
	r = h_call("GET",
	    PIM "assignmentScheduleRequests?$filter=groupId%20eq%20'" PROD
	        "'&$select=id,status",
	    app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "value/0/id"), id);
	H_ASSERT_STR(h_str(r->json, "value/0/status"), "PendingApproval");
	CU_ASSERT_PTR_NULL(h_str(r->json, "value/0/groupId"));
	h_free(r);
	snprintf(path, sizeof(path),
	    PIM "assignmentScheduleRequests/%s?$select=groupId", id);
	r = h_call("GET", path, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "groupId"), PROD);
	CU_ASSERT_PTR_NULL(h_str(r->json, "status"));
	h_free(r);
	snprintf(path, sizeof(path),
	    PIM "assignmentScheduleRequests/%s?$filter=id%%20eq%%20'x'", id);
	CU_ASSERT_EQUAL(status_of_call("GET", path, app, NULL, NULL, 0), 400);
	/* approvals: no query options */
	snprintf(path, sizeof(path),
	    PIM "assignmentApprovals/%s?$select=stages", id);
	CU_ASSERT_EQUAL(status_of_call("GET", path, bot, NULL, NULL, 0), 400);
	snprintf(
	    path, sizeof(path), PIM "assignmentApprovals/%s/stages?$top=1", id);
	CU_ASSERT_EQUAL(status_of_call("GET", path, bot, NULL, NULL, 0), 400);
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s/stages", id);
	CU_ASSERT_EQUAL(status_of_call("GET", path, bot, NULL, NULL, 0), 200);
	free(id);
}

/* A decision's body: exactly Approve or Deny, nothing but reviewResult
 * and justification (approvalstage-update). */
static void
t_pim_review_body(void)
{
	char *body = h_fixture("group-request-self-activate.json"), path[512],
	     *id = NULL, *stage = NULL;
	struct resp *r;

	tokens_fresh();
	CU_ASSERT_EQUAL_FATAL(pim_post(alex, body, &id, NULL, 0), 201);
	free(body);
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s", id);
	r = h_call("GET", path, bot, NULL, NULL);
	if (h_str(r->json, "stages/0/id") != NULL)
		stage = strdup(h_str(r->json, "stages/0/id"));
	h_free(r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(stage);
	snprintf(path, sizeof(path), PIM "assignmentApprovals/%s/stages/%s", id,
	    stage);
	CU_ASSERT_EQUAL(status_of_call("PATCH", path, morgan,
	                    "{\"reviewResult\":\"approve\"}", NULL, 0),
	    400);
	CU_ASSERT_EQUAL(status_of_call("PATCH", path, morgan,
	                    "{\"reviewResult\":\"Approved\"}", NULL, 0),
	    400);
	CU_ASSERT_EQUAL(
	    status_of_call("PATCH", path, morgan,
	        "{\"reviewResult\":\"Approve\",\"reviewedBy\":{\"id\":\"x\"}}",
	        NULL, 0),
	    400);
	CU_ASSERT_EQUAL(status_of_call("PATCH", path, morgan,
	                    "{\"reviewResult\":\"Approve\",\"status\":"
	                    "\"Completed\"}",
	                    NULL, 0),
	    400);
	/* still undecided: the refused PATCHes changed nothing */
	r = h_call("GET", path, morgan, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "status"), "InProgress");
	H_ASSERT_STR(h_str(r->json, "assignedToMe"), "true");
	h_free(r);
	CU_ASSERT_EQUAL(status_of_call("PATCH", path, morgan,
	                    "{\"reviewResult\":\"Approve\","
	                    "\"justification\":\"ok\"}",
	                    NULL, 0),
	    204);
	/* decided: no longer assigned to anyone for review */
	r = h_call("GET", path, bot, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "status"), "Completed");
	H_ASSERT_STR(h_str(r->json, "reviewResult"), "Approved");
	H_ASSERT_STR(h_str(r->json, "assignedToMe"), "false");
	h_free(r);
	free(stage);
	free(id);
}

static void
t_directory(void)
{
	struct resp *r;
	int n = 0, pages = 0;
	char *next;

	tokens_fresh();
	r = h_call("GET", "/v1.0/users/alex@contoso.com", app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "id"), ALEX_ID);
	h_free(r);
	r = h_call("GET", "/v1.0/users/" ALEX_ID "/manager", app, NULL, NULL);
	H_ASSERT_STR(
	    h_str(r->json, "userPrincipalName"), "alexmanager@contoso.com");
	h_free(r);
	r = h_call("GET",
	    "/v1.0/users/7deff43e-1f17-44ef-9e5f-d516b0ba11d4/"
	    "manager",
	    app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	H_ASSERT_STR(h_str(r->json, "error/code"), "Request_ResourceNotFound");
	h_free(r);
	r = h_call("GET", "/v1.0/users/nobody", app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	h_free(r);
	r = h_call("GET",
	    "/v1.0/groups/1623f912-5e86-41c2-af47-39dd67582b66/members", app,
	    NULL, NULL);
	CU_ASSERT_EQUAL(
	    json_object_array_length(json_object_object_get(r->json, "value")),
	    2);
	h_free(r);
	next = strdup("/v1.0/groups/d2f4a6c8-3e5b-4d7f-a1c3-5e7a9c1e3f5b/"
	              "transitiveMembers?$top=2");
	while (next != NULL && pages < 10) {
		r = h_call("GET", next, app, NULL, NULL);
		CU_ASSERT_EQUAL(r->status, 200);
		n += (int)json_object_array_length(
		    json_object_object_get(r->json, "value"));
		free(next);
		next = h_str(r->json, "@odata.nextLink")
		           ? strdup(h_str(r->json, "@odata.nextLink"))
		           : NULL;
		h_free(r);
		pages++;
	}
	CU_ASSERT_EQUAL(n, 4); /* SecOps, CISO, jordan, morgan */
	CU_ASSERT_EQUAL(pages, 2);
	r = h_call("GET", "/v1.0/me", alex, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "userPrincipalName"), "alex@contoso.com");
	h_free(r);
	r = h_call("GET", "/v1.0/nothing/here", app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	r = h_call_hdr("GET", "/v1.0/users/nobody", app, NULL, NULL,
	    "client-request-id: abc-123");
	CU_ASSERT_STRING_EQUAL(r->client_request_id, "abc-123");
	H_ASSERT_STR(
	    h_str(r->json, "error/innerError/client-request-id"), "abc-123");
	CU_ASSERT_NOT_EQUAL(r->request_id[0], '\0');
	h_free(r);
}

/* POST /users/{id}/checkMemberGroups: transitive, only the listed groups,
 * by id or UPN, /me for a delegated token; 404, 400 and at most 20 ids. */
static void
t_check_member_groups(void)
{
	static const char body[] =
	    "{\"groupIds\":[\"d2f4a6c8-3e5b-4d7f-a1c3-5e7a9c1e3f5b\","
	    "\"1623f912-5e86-41c2-af47-39dd67582b66\","
	    "\"2b5ed229-4072-478d-9504-a047ebd4b07d\","
	    "\"00000000-0000-0000-0000-000000000000\"]}";
	struct resp *r;
	json_object *v;
	char big[2048];
	int i, n;

	tokens_fresh();
	/* jordan: SecOps directly, All Approvers through SecOps */
	r = h_call("POST",
	    "/v1.0/users/46184453-e63b-4f20-86c2-c557ed5d5df9/"
	    "checkMemberGroups",
	    app, body, "application/json");
	CU_ASSERT_EQUAL(r->status, 200);
	v = json_object_object_get(r->json, "value");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(v), 2);
	CU_ASSERT_STRING_EQUAL(
	    json_object_get_string(json_object_array_get_idx(v, 0)),
	    "d2f4a6c8-3e5b-4d7f-a1c3-5e7a9c1e3f5b");
	CU_ASSERT_STRING_EQUAL(
	    json_object_get_string(json_object_array_get_idx(v, 1)),
	    "1623f912-5e86-41c2-af47-39dd67582b66");
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(r->json, "@odata.context"),
	    "$metadata#Collection(Edm.String)"));
	h_free(r);
	/* by UPN, and through /directoryObjects */
	r = h_call("POST", "/v1.0/users/alex@contoso.com/checkMemberGroups",
	    app, body, "application/json");
	CU_ASSERT_EQUAL(r->status, 200);
	v = json_object_object_get(r->json, "value");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(v), 1);
	CU_ASSERT_STRING_EQUAL(
	    json_object_get_string(json_object_array_get_idx(v, 0)),
	    "2b5ed229-4072-478d-9504-a047ebd4b07d");
	h_free(r);
	r = h_call("POST",
	    "/v1.0/directoryObjects/7deff43e-1f17-44ef-9e5f-d516b0ba11d4/"
	    "checkMemberGroups",
	    app, body, "application/json");
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_EQUAL(
	    json_object_array_length(json_object_object_get(r->json, "value")),
	    1); /* ciso: All Approvers */
	h_free(r);
	r = h_call("POST", "/v1.0/me/checkMemberGroups", alex, body,
	    "application/json");
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_EQUAL(
	    json_object_array_length(json_object_object_get(r->json, "value")),
	    1);
	h_free(r);
	r = h_call("POST", "/v1.0/me/checkMemberGroups", app, body,
	    "application/json");
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	/* errors */
	r = h_call("POST", "/v1.0/users/nobody@contoso.com/checkMemberGroups",
	    app, body, "application/json");
	CU_ASSERT_EQUAL(r->status, 404);
	H_ASSERT_STR(h_str(r->json, "error/code"), "Request_ResourceNotFound");
	h_free(r);
	r = h_call("POST", "/v1.0/users/alex@contoso.com/checkMemberGroups",
	    app, "{\"groups\":[]}", "application/json");
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	r = h_call("POST", "/v1.0/users/alex@contoso.com/checkMemberGroups",
	    app, "{\"groupIds\":[1]}", "application/json");
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	n = snprintf(big, sizeof(big), "{\"groupIds\":[");
	for (i = 0; i < 21; i++)
		n += snprintf(big + n, sizeof(big) - (size_t)n, "%s\"g%d\"",
		    i ? "," : "", i);
	snprintf(big + n, sizeof(big) - (size_t)n, "]}");
	r = h_call("POST", "/v1.0/users/alex@contoso.com/checkMemberGroups",
	    app, big, "application/json");
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	r = h_call("GET", "/v1.0/users/alex@contoso.com/checkMemberGroups", app,
	    NULL, NULL);
	CU_ASSERT_NOT_EQUAL(r->status, 200);
	h_free(r);
	r = h_call("POST", "/v1.0/users/alex@contoso.com/checkMemberGroups",
	    NULL, body, "application/json");
	CU_ASSERT_EQUAL(r->status, 401);
	h_free(r);
}

/* GET /users/{id | upn} with $select (user-get.md) and POST
 * /users/{id}/checkMemberGroups (directoryobject-checkmembergroups.md), as
 * approvald resolves identities and requestor_in. */
static void
t_directory_identity(void)
{
	struct resp *r;
	json_object *v;

	tokens_fresh();
	r = h_call("GET",
	    "/v1.0/users/ALEX@contoso.com?$select=id,userPrincipalName,mail,"
	    "userType",
	    app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "id"), ALEX_ID);
	H_ASSERT_STR(h_str(r->json, "userType"), "Member");
	H_ASSERT_STR(h_str(r->json, "mail"), "alex@contoso.com");
	CU_ASSERT_FALSE(json_object_object_get_ex(r->json, "displayName", &v));
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "@odata.context"));
	h_free(r);
	/* userType is not a default property */
	r = h_call("GET", "/v1.0/users/" ALEX_ID, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_FALSE(json_object_object_get_ex(r->json, "userType", &v));
	H_ASSERT_STR(h_str(r->json, "displayName"), "Alex Wilber");
	h_free(r);
	/* a guest by UPN, '#' sent as %23 */
	r = h_call("GET",
	    "/v1.0/users/kim_fabrikam.com%23EXT%23@contoso.com"
	    "?$select=id,userType,mail",
	    app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "userType"), "Guest");
	H_ASSERT_STR(h_str(r->json, "mail"), "kim@fabrikam.com");
	h_free(r);
	/* neither an id nor a UPN: nobody */
	r = h_call("GET",
	    "/v1.0/users/rsn%3Aalex%40contoso.com?$select=id,userType", app,
	    NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	H_ASSERT_STR(h_str(r->json, "error/code"), "Request_ResourceNotFound");
	h_free(r);
	r = h_call("GET", "/v1.0/users/" ALEX_ID "?$select=id,nonsense", app,
	    NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	/* a group's name, $select honoured (group-get) */
	r = h_call("GET",
	    "/v1.0/groups/2b5ed229-4072-478d-9504-a047ebd4b07d"
	    "?$select=id,displayName",
	    app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "displayName"), "Prod Admins");
	H_ASSERT_STR(
	    h_str(r->json, "id"), "2b5ed229-4072-478d-9504-a047ebd4b07d");
	CU_ASSERT_FALSE(json_object_object_get_ex(r->json, "description", &v));
	h_free(r);
	r = h_call("GET",
	    "/v1.0/groups/2b5ed229-4072-478d-9504-a047ebd4b07d"
	    "?$select=id,nonsense",
	    app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	/* transitive membership: jordan is in All Approvers through SecOps */
	r = h_call("POST",
	    "/v1.0/users/46184453-e63b-4f20-86c2-c557ed5d5df9/"
	    "checkMemberGroups",
	    app,
	    "{\"groupIds\":[\"d2f4a6c8-3e5b-4d7f-a1c3-5e7a9c1e3f5b\","
	    "\"2b5ed229-4072-478d-9504-a047ebd4b07d\","
	    "\"00000000-0000-0000-0000-000000000000\"]}",
	    NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	v = json_object_object_get(r->json, "value");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(v), 1);
	CU_ASSERT_STRING_EQUAL(
	    json_object_get_string(json_object_array_get_idx(v, 0)),
	    "d2f4a6c8-3e5b-4d7f-a1c3-5e7a9c1e3f5b");
	h_free(r);
	r = h_call("POST", "/v1.0/users/alex@contoso.com/checkMemberGroups",
	    app, "{\"groupIds\":[\"1623f912-5e86-41c2-af47-39dd67582b66\"]}",
	    NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_EQUAL(
	    json_object_array_length(json_object_object_get(r->json, "value")),
	    0);
	h_free(r);
	r = h_call("POST", "/v1.0/users/nobody@contoso.com/checkMemberGroups",
	    app, "{\"groupIds\":[\"1623f912-5e86-41c2-af47-39dd67582b66\"]}",
	    NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	h_free(r);
	r = h_call("POST", "/v1.0/users/" ALEX_ID "/checkMemberGroups", app,
	    "{}", NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
}

static void
t_clean_exit(void)
{
	CU_ASSERT_EQUAL(h_stop(), 0);
}

const struct cu_test graph_tests[] = {
	{ "epm_roundtrip", t_epm_roundtrip },
	{ "epm_validation", t_epm_validation },
	{ "epm_permission_model", t_epm_permission_model },
	{ "epm_lifecycle", t_epm_lifecycle },
	{ "epm_changes_paging", t_epm_changes_paging },
	{ "pim", t_pim },
	{ "pim_expiry", t_pim_expiry },
	{ "pim_approver_cap", t_pim_approver_cap },
	{ "pim_admin_cancel_deny", t_pim_admin_cancel_deny },
	{ "pim_self_activate_rules", t_pim_self_activate_rules },
	{ "approvals_delegated_only", t_approvals_delegated_only },
	{ "pim_query_options", t_pim_query_options },
	{ "pim_review_body", t_pim_review_body },
	{ "directory", t_directory },
	{ "check_member_groups", t_check_member_groups },
	{ "directory_identity", t_directory_identity },
	{ "clean_exit", t_clean_exit },
	{ NULL, NULL },
};
