/*
 * graph-emulator: entitlement management (v1.0) — access packages, their
 * assignment policies (seed 002 loaded as one), assignment requests and
 * Graph's own stage behaviour (fallback, escalation, automatic denial, one
 * approval per stage, any denial ends the request).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "harness.h"
#include "suites.h"

#define EM        "/v1.0/identityGovernance/entitlementManagement/"
#define FINANCE   "d7be3253-b9c6-4fab-adef-30d30de8da2b"
#define EXTERNAL  "a2e1ca1e-4e56-47d2-9daa-e2ba8d12a82b"
#define PRODDB    "c4d5e6f7-8a9b-4c0d-9e1f-2a3b4c5d6e7f"
#define SEED2_POL "f3a3d4d9-5c1e-4a52-8b0b-2f6e1a7c9d01"
#define SAM_ID    "c5a9e3b1-7d2f-4a8c-b6e4-1f3a5c7e9b2d"
#define PENDING_Q "?$filter=state%20eq%20%27pendingApproval%27"
/* A guest from Fabrikam, a connected organization of the demo tenant:
 * the only kind of user seed 002's policy admits. */
#define KIM    "kim_fabrikam.com#EXT#@contoso.com"
#define KIM_ID "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"

static char *alex, *morgan, *jordan, *ciso, *bot, *sam, *mgr, *app, *kim;

/* Mint every token anew (after a reset or a clock jump past expiry). */
static void
tokens(void)
{
	char **t[] = { &alex, &morgan, &jordan, &ciso, &bot, &sam, &mgr, &app,
		&kim };
	const char *who[] = { "alex@contoso.com", "morgan@contoso.com",
		"jordan@contoso.com", "ciso@contoso.com",
		"approvald@contoso.com", "sam@contoso.com",
		/* "app:" APP_ID is one string, joined on purpose */
		/* NOLINTNEXTLINE(bugprone-suspicious-missing-comma) */
		"alexmanager@contoso.com", "app:" APP_ID, KIM };
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		free(*t[i]);
		*t[i] = h_token(who[i]);
	}
}

static void
fresh(void)
{
	h_reset();
	tokens();
}

int
access_init(void)
{
	return h_start(NULL);
}

int
access_cleanup(void)
{
	char **t[] = { &alex, &morgan, &jordan, &ciso, &bot, &sam, &mgr, &app,
		&kim };
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		free(*t[i]);
		*t[i] = NULL;
	}
	h_stop();
	return 0;
}

/* POST a request as `tok`; returns the status, the id in *id (heap). */
static long
ap_create(const char *tok, const char *type, const char *package,
    const char *extra, char **id)
{
	char body[1024];
	struct resp *r;
	long st;

	snprintf(body, sizeof(body),
	    "{\"requestType\":\"%s\",\"assignment\":{\"accessPackageId\":"
	    "\"%s\"%s},\"justification\":\"for the quarter close\"}",
	    type, package, extra ? extra : "");
	r = h_call("POST", EM "assignmentRequests", tok, body, NULL);
	st = r->status;
	if (id != NULL)
		*id = st == 201 && h_str(r->json, "id") != NULL
		          ? strdup(h_str(r->json, "id"))
		          : NULL;
	h_free(r);
	return st;
}

/* Field `path` of request id (expanded), heap copy or NULL. */
static char *
ap_field(const char *id, const char *path)
{
	char url[512];
	struct resp *r;
	char *v = NULL;

	snprintf(url, sizeof(url),
	    EM "assignmentRequests/%s?$expand=accessPackage,requestor", id);
	r = h_call("GET", url, app, NULL, NULL);
	if (r->status == 200 && h_str(r->json, path) != NULL)
		v = strdup(h_str(r->json, path));
	h_free(r);
	return v;
}

#define ASSERT_FIELD(id, path, want)                                           \
	do {                                                                   \
		char *v_ = ap_field(id, path);                                 \
		H_ASSERT_STR(v_, want);                                        \
		free(v_);                                                      \
	} while (0)

/* Stage k (0-based) of the approval as seen by `tok`; NULL if none. */
static struct resp *
ap_approval(const char *id, const char *tok)
{
	char url[512];

	snprintf(
	    url, sizeof(url), EM "accessPackageAssignmentApprovals/%s", id);
	return h_call("GET", url, tok, NULL, NULL);
}

static char *
ap_stage_id(const char *id, int k)
{
	struct resp *r = ap_approval(id, ciso);
	char path[64], *s = NULL;

	snprintf(path, sizeof(path), "stages/%d/id", k);
	if (r->status == 200 && h_str(r->json, path) != NULL)
		s = strdup(h_str(r->json, path));
	h_free(r);
	return s;
}

static long
ap_review(const char *id, const char *stage, const char *tok,
    const char *result, const char *just)
{
	char url[512], body[256];
	struct resp *r;
	long st;

	snprintf(url, sizeof(url),
	    EM "accessPackageAssignmentApprovals/%s/stages/%s", id, stage);
	if (just != NULL)
		snprintf(body, sizeof(body),
		    "{\"reviewResult\":\"%s\",\"justification\":\"%s\"}",
		    result, just);
	else
		snprintf(
		    body, sizeof(body), "{\"reviewResult\":\"%s\"}", result);
	r = h_call("PATCH", url, tok, body, NULL);
	st = r->status;
	h_free(r);
	return st;
}

static void
clock_advance(const char *dur)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"advance\":\"%s\"}", dur);
	h_free(h_call("POST", "/_emulator/clock", NULL, body, NULL));
	tokens();
}

/* Truth counts of one request. */
static void
truth(const char *id, int *ap, int *dn, int *cn)
{
	struct resp *r = h_call("GET", "/_emulator/truth", NULL, NULL, NULL);
	char path[128];
	const char *v;

	*ap = *dn = *cn = 0;
	snprintf(path, sizeof(path), "requests/%s/approve", id);
	if ((v = h_str(r->json, path)) != NULL)
		*ap = atoi(v);
	snprintf(path, sizeof(path), "requests/%s/deny", id);
	if ((v = h_str(r->json, path)) != NULL)
		*dn = atoi(v);
	snprintf(path, sizeof(path), "requests/%s/cancel", id);
	if ((v = h_str(r->json, path)) != NULL)
		*cn = atoi(v);
	h_free(r);
}

/* Create answers submitted; the list shows it pending; navigation
 * properties only with $expand; $filter on a path; bad $expand -> 400. */
static void
t_request_roundtrip(void)
{
	struct resp *r;
	char *id = NULL, url[512];

	fresh();
	r = h_call("POST", EM "assignmentRequests", alex,
	    "{\"requestType\":\"UserAdd\",\"assignment\":{\"accessPackageId\":"
	    "\"" FINANCE "\"},\"justification\":\"quarter close\"}",
	    NULL);
	CU_ASSERT_EQUAL(r->status, 201);
	H_ASSERT_STR(h_str(r->json, "state"), "submitted");
	H_ASSERT_STR(h_str(r->json, "status"), "Accepted");
	H_ASSERT_STR(h_str(r->json, "requestType"), "userAdd");
	CU_ASSERT_PTR_NULL(h_str(r->json, "accessPackage/id"));
	if (h_str(r->json, "id") != NULL)
		id = strdup(h_str(r->json, "id"));
	h_free(r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);

	r = h_call("GET", EM "assignmentRequests" PENDING_Q, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "value/0/id"), id);
	H_ASSERT_STR(h_str(r->json, "value/0/status"), "PendingApproval");
	CU_ASSERT_PTR_NULL(h_str(r->json, "value/0/requestor"));
	h_free(r);

	ASSERT_FIELD(id, "accessPackage/id", FINANCE);
	ASSERT_FIELD(id, "accessPackage/displayName", "Finance reporting");
	ASSERT_FIELD(id, "requestor/objectId", ALEX_ID);
	ASSERT_FIELD(id, "requestor/principalName", "alex@contoso.com");
	ASSERT_FIELD(id, "state", "pendingApproval");

	r = h_call("GET",
	    EM "assignmentRequests?$expand=accessPackage&$filter="
	       "accessPackage/id%20eq%20%27" EXTERNAL "%27",
	    app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_PTR_NULL(h_str(r->json, "value/0"));
	h_free(r);

	snprintf(
	    url, sizeof(url), EM "assignmentRequests/%s?$expand=bogus", id);
	r = h_call("GET", url, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	r = h_call("GET", EM "assignmentRequests/nope", app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	h_free(r);
	free(id);
}

/* Who may create what: user requests need a user token for themselves,
 * admin requests an admin (or an app) and go straight to delivery. */
static void
t_create_rules(void)
{
	struct resp *r;
	char *id = NULL;

	fresh();
	CU_ASSERT_EQUAL(ap_create(app, "userAdd", FINANCE, NULL, NULL), 403);
	CU_ASSERT_EQUAL(ap_create(alex, "adminAdd", FINANCE,
	                    ",\"targetId\":\"" SAM_ID "\"", NULL),
	    403);
	CU_ASSERT_EQUAL(ap_create(alex, "userAdd", FINANCE,
	                    ",\"targetId\":\"" SAM_ID "\"", NULL),
	    403);
	CU_ASSERT_EQUAL(ap_create(alex, "userAdd", "nope", NULL, NULL), 400);
	CU_ASSERT_EQUAL(ap_create(alex, "systemAdd", FINANCE, NULL, NULL), 400);
	CU_ASSERT_EQUAL(ap_create(alex, "userAdd", FINANCE,
	                    ",\"assignmentPolicyId\":\"" SEED2_POL "\"", NULL),
	    400);
	r = h_call("POST", EM "assignmentRequests", alex,
	    "{\"requestType\":\"userAdd\",\"bogus\":1}", NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	CU_ASSERT_EQUAL(ap_create(app, "adminAdd", FINANCE,
	                    ",\"targetId\":\"" SAM_ID "\"", &id),
	    201);
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	ASSERT_FIELD(id, "state", "delivering");
	clock_advance("PT3S");
	ASSERT_FIELD(id, "state", "delivered");
	ASSERT_FIELD(id, "requestor/objectId", SAM_ID);
	free(id);
}

/* Seed 002 natively: internal sponsors resolve to nobody, so stage 1 goes
 * to the fallback (CISO + SecOps) and stage 2 to its fallback (Jordan +
 * SecOps); one approval per stage; only eligible approvers count. */
static void
t_seed002_two_stages(void)
{
	struct resp *r;
	char *id = NULL, *s1, *s2;
	int ap, dn, cn;

	fresh();
	CU_ASSERT_EQUAL_FATAL(
	    ap_create(kim, "userAdd", EXTERNAL, NULL, &id), 201);
	r = ap_approval(id, app);
	CU_ASSERT_EQUAL(r->status, 403); /* delegated only */
	h_free(r);
	r = ap_approval(id, morgan);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "stages/0/assignedToMe"), "true");
	H_ASSERT_STR(h_str(r->json, "stages/0/status"), "InProgress");
	CU_ASSERT_PTR_NULL(h_str(r->json, "stages/1"));
	h_free(r);
	r = ap_approval(id, kim);
	H_ASSERT_STR(h_str(r->json, "stages/0/assignedToMe"), "false");
	h_free(r);
	s1 = ap_stage_id(id, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s1);
	CU_ASSERT_EQUAL(ap_review(id, s1, kim, "Approve", NULL), 403);
	CU_ASSERT_EQUAL(ap_review(id, s1, alex, "Approve", NULL), 403);
	CU_ASSERT_EQUAL(ap_review(id, s1, bot, "Approve", NULL), 403);
	CU_ASSERT_EQUAL(ap_review(id, s1, app, "Approve", NULL), 403);
	CU_ASSERT_EQUAL(ap_review(id, "nope", ciso, "Approve", NULL), 404);
	CU_ASSERT_EQUAL(ap_review(id, s1, ciso, "Maybe", NULL), 400);
	CU_ASSERT_EQUAL(ap_review(id, s1, ciso, "Approve", "fine"), 204);
	CU_ASSERT_EQUAL(ap_review(id, s1, morgan, "Deny", NULL), 409);
	ASSERT_FIELD(id, "state", "pendingApproval");
	s2 = ap_stage_id(id, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s2);
	CU_ASSERT_EQUAL(ap_review(id, s2, ciso, "Approve", NULL), 403);
	CU_ASSERT_EQUAL(ap_review(id, s2, jordan, "Approve", NULL), 204);
	ASSERT_FIELD(id, "state", "delivering");
	truth(id, &ap, &dn, &cn);
	CU_ASSERT_EQUAL(ap, 2);
	CU_ASSERT_EQUAL(dn + cn, 0);
	free(s1);
	free(s2);
	free(id);
}

/* Any denial ends the request: no further stage, later PATCHes 409. */
static void
t_deny_ends(void)
{
	char *id = NULL, *s1;
	struct resp *r;
	int ap, dn, cn;

	fresh();
	CU_ASSERT_EQUAL_FATAL(
	    ap_create(kim, "userAdd", EXTERNAL, NULL, &id), 201);
	s1 = ap_stage_id(id, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s1);
	CU_ASSERT_EQUAL(ap_review(id, s1, morgan, "Deny", "no"), 204);
	CU_ASSERT_EQUAL(ap_review(id, s1, ciso, "Approve", NULL), 409);
	ASSERT_FIELD(id, "state", "denied");
	ASSERT_FIELD(id, "status", "Denied");
	r = ap_approval(id, ciso);
	H_ASSERT_STR(h_str(r->json, "stages/0/reviewResult"), "Denied");
	H_ASSERT_STR(h_str(r->json, "stages/0/reviewedBy/id"),
	    "a3d7c1f0-2b4e-4f6a-8c9d-0e1f2a3b4c5d");
	CU_ASSERT_PTR_NULL(
	    h_str(r->json, "stages/0/reviewedBy/userPrincipalName"));
	CU_ASSERT_PTR_NULL(h_str(r->json, "stages/1"));
	h_free(r);
	truth(id, &ap, &dn, &cn);
	CU_ASSERT_EQUAL(ap + cn, 0);
	CU_ASSERT_EQUAL(dn, 1);
	free(s1);
	free(id);
}

/* durationBeforeAutomaticDenial on the virtual clock: Graph denies by
 * itself, recorded in the truth log as a system decision. */
static void
t_automatic_denial(void)
{
	char *id = NULL;
	struct resp *r;
	int ap, dn, cn;

	fresh();
	CU_ASSERT_EQUAL_FATAL(
	    ap_create(kim, "userAdd", EXTERNAL, NULL, &id), 201);
	clock_advance("P13D");
	ASSERT_FIELD(id, "state", "pendingApproval");
	clock_advance("P1DT1M");
	ASSERT_FIELD(id, "state", "denied");
	ASSERT_FIELD(id, "status", "Expired");
	truth(id, &ap, &dn, &cn);
	CU_ASSERT_EQUAL(dn, 1);
	CU_ASSERT_EQUAL(ap + cn, 0);
	r = h_call("GET", "/_emulator/truth", NULL, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "decisions/0/caller/kind"), "system");
	h_free(r);
	free(id);
}

/* requestorManager, escalation to SecOps after PT4H (primaries may still
 * decide), justification required; a requestor without a manager gets the
 * fallback approver. */
static void
t_manager_escalation_fallback(void)
{
	char *id = NULL, *id2 = NULL, *s1;
	struct resp *r;

	fresh();
	CU_ASSERT_EQUAL_FATAL(
	    ap_create(alex, "userAdd", PRODDB, NULL, &id), 201);
	s1 = ap_stage_id(id, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s1);
	r = ap_approval(id, mgr);
	H_ASSERT_STR(h_str(r->json, "stages/0/assignedToMe"), "true");
	h_free(r);
	CU_ASSERT_EQUAL(ap_review(id, s1, morgan, "Approve", "ok"), 403);
	CU_ASSERT_EQUAL(ap_review(id, s1, ciso, "Approve", "ok"), 403);
	clock_advance("PT4H1M");
	ASSERT_FIELD(id, "status", "PendingApprovalEscalated");
	ASSERT_FIELD(id, "state", "pendingApproval");
	CU_ASSERT_EQUAL(ap_review(id, s1, morgan, "Approve", NULL), 400);
	CU_ASSERT_EQUAL(ap_review(id, s1, morgan, "Approve", "ok"), 204);
	CU_ASSERT_EQUAL(ap_review(id, s1, mgr, "Approve", "late"), 409);
	ASSERT_FIELD(id, "state", "delivering");
	free(s1);

	CU_ASSERT_EQUAL_FATAL(
	    ap_create(bot, "userAdd", PRODDB, NULL, &id2), 201);
	s1 = ap_stage_id(id2, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s1);
	CU_ASSERT_EQUAL(ap_review(id2, s1, mgr, "Approve", "ok"), 403);
	CU_ASSERT_EQUAL(ap_review(id2, s1, ciso, "Deny", "no manager"), 204);
	ASSERT_FIELD(id2, "state", "denied");
	free(s1);
	free(id);
	free(id2);
}

/* Cancel: delegated only, the requestor or an admin, pending only. */
static void
t_cancel(void)
{
	char *id = NULL, url[512], *s1;
	struct resp *r;
	int ap, dn, cn;

	fresh();
	CU_ASSERT_EQUAL_FATAL(
	    ap_create(kim, "userAdd", EXTERNAL, NULL, &id), 201);
	snprintf(url, sizeof(url), EM "assignmentRequests/%s/cancel", id);
	r = h_call("POST", url, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	r = h_call("POST", url, sam, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	r = h_call("POST", url, kim, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 204);
	h_free(r);
	r = h_call("POST", url, kim, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	ASSERT_FIELD(id, "state", "canceled");
	s1 = ap_stage_id(id, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s1);
	CU_ASSERT_EQUAL(ap_review(id, s1, ciso, "Approve", NULL), 409);
	truth(id, &ap, &dn, &cn);
	CU_ASSERT_EQUAL(cn, 1);
	CU_ASSERT_EQUAL(ap + dn, 0);
	free(s1);
	free(id);
}

/* allowedTargetScope (accesspackageassignmentpolicy): seed 002 admits
 * only users of connected organizations; Production database only member
 * users; an admin cannot assign outside the scope either. The control API
 * (test fixtures) is not held to it. */
static void
t_target_scope(void)
{
	struct resp *r;
	char *id = NULL;

	fresh();
	CU_ASSERT_EQUAL(ap_create(alex, "userAdd", EXTERNAL, NULL, NULL), 403);
	CU_ASSERT_EQUAL(ap_create(alex, "userAdd", EXTERNAL,
	                    ",\"assignmentPolicyId\":\"" SEED2_POL "\"", NULL),
	    403);
	CU_ASSERT_EQUAL(ap_create(kim, "userAdd", PRODDB, NULL, NULL), 403);
	CU_ASSERT_EQUAL(ap_create(app, "adminAdd", EXTERNAL,
	                    ",\"targetId\":\"" ALEX_ID "\"", NULL),
	    403);
	r = h_call("POST", EM "assignmentRequests", alex,
	    "{\"requestType\":\"userAdd\",\"assignment\":{"
	    "\"accessPackageId\":\"" EXTERNAL "\"}}",
	    NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	H_ASSERT_STR(
	    h_str(r->json, "error/code"), "Authorization_RequestDenied");
	h_free(r);
	CU_ASSERT_EQUAL(ap_create(kim, "userAdd", EXTERNAL, NULL, &id), 201);
	CU_ASSERT_PTR_NOT_NULL(id);
	free(id);
	id = NULL;
	CU_ASSERT_EQUAL(ap_create(app, "adminAdd", EXTERNAL,
	                    ",\"targetId\":\"" KIM_ID "\"", &id),
	    201);
	free(id);
	id = NULL;
	CU_ASSERT_EQUAL(ap_create(kim, "userAdd", FINANCE, NULL, &id), 201);
	free(id);
	r = h_call("POST", "/_emulator/requests", NULL,
	    "{\"requestor\":\"alex@contoso.com\",\"source\":"
	    "\"access-package\",\"body\":{\"requestType\":\"userAdd\","
	    "\"assignment\":{\"accessPackageId\":\"" EXTERNAL "\"}}}",
	    NULL);
	CU_ASSERT_EQUAL(r->status, 201);
	h_free(r);
}

/* Query options as documented: the list $filter/$expand, get $expand,
 * approvals none; decisions exactly Approve/Deny with nothing else. */
static void
t_query_and_review_body(void)
{
	struct resp *r;
	char *id = NULL, *s1, url[512];

	fresh();
	CU_ASSERT_EQUAL_FATAL(
	    ap_create(alex, "userAdd", FINANCE, NULL, &id), 201);
	r = h_call("GET", EM "assignmentRequests?$top=5", app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error/code"), "BadRequest");
	h_free(r);
	r = h_call("GET", EM "assignmentRequests?$select=id", app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	r = h_call("GET",
	    EM "assignmentRequests" PENDING_Q "&$expand=requestor", app, NULL,
	    NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	h_free(r);
	snprintf(url, sizeof(url), EM "assignmentRequests/%s?$filter=x", id);
	r = h_call("GET", url, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	snprintf(url, sizeof(url),
	    EM "accessPackageAssignmentApprovals/%s?$expand=stages", id);
	r = h_call("GET", url, ciso, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	s1 = ap_stage_id(id, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s1);
	CU_ASSERT_EQUAL(ap_review(id, s1, ciso, "approve", NULL), 400);
	CU_ASSERT_EQUAL(ap_review(id, s1, ciso, "DENY", NULL), 400);
	snprintf(url, sizeof(url),
	    EM "accessPackageAssignmentApprovals/%s/stages/%s", id, s1);
	r = h_call("PATCH", url, ciso,
	    "{\"reviewResult\":\"Approve\",\"reviewedDateTime\":"
	    "\"2020-01-01T00:00:00Z\"}",
	    NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	ASSERT_FIELD(id, "state", "pendingApproval");
	CU_ASSERT_EQUAL(ap_review(id, s1, ciso, "Approve", "ok"), 204);
	free(s1);
	free(id);
}

/* The catalog: packages and the seed 002 policy as loaded. */
static void
t_catalog(void)
{
	struct resp *r;

	fresh();
	r = h_call("GET", EM "accessPackages", app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "value/2/id"));
	h_free(r);
	r = h_call("GET", EM "assignmentPolicies/" SEED2_POL, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "displayName"),
	    "policy for external access requests");
	H_ASSERT_STR(h_str(r->json, "accessPackage/id"), EXTERNAL);
	H_ASSERT_STR(h_str(r->json, "requestApprovalSettings/stages/1/"
	                            "fallbackPrimaryApprovers/0/userId"),
	    "46184453-e63b-4f20-86c2-c557ed5d5df9");
	h_free(r);
	r = h_call("GET", EM "accessPackages/nope", app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	h_free(r);
}

const struct cu_test access_tests[] = {
	{ "request_roundtrip", t_request_roundtrip },
	{ "create_rules", t_create_rules },
	{ "seed002_two_stages", t_seed002_two_stages },
	{ "deny_ends", t_deny_ends },
	{ "automatic_denial", t_automatic_denial },
	{ "manager_escalation_fallback", t_manager_escalation_fallback },
	{ "cancel", t_cancel },
	{ "catalog", t_catalog },
	{ "target_scope", t_target_scope },
	{ "query_and_review_body", t_query_and_review_body },
	{ NULL, NULL },
};
