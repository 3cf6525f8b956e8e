/* ISO-8601 parsing and request normalization of every fixture. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tests.h"

static const struct {
	const char *in;
	int64_t want;
} durations[] = {
	{ "PT1H", 3600 },
	{ "PT4H", 14400 },
	{ "P1D", 86400 },
	{ "P14D", 14 * 86400 },
	{ "P2W", 14 * 86400 },
	{ "PT30S", 30 },
	{ "PT1M", 60 },
	{ "P1DT2H3M4S", 86400 + 7200 + 180 + 4 },
	{ "P1Y", 365 * 86400 },
	{ "P1M", 30 * 86400 },
	{ "PT1.5S", 1 },
	{ "PT0S", 0 },
	{ "", -1 },
	{ "P", -1 },
	{ "PT", -1 },
	{ "1H", -1 },
	{ "PT1", -1 },
	{ "PT1H1H", -1 },
	{ "PT1M1H", -1 },
	{ "P1H", -1 },
	{ "PT-1H", -1 },
	{ "P1DT", -1 },
	{ "PT1.5H", -1 },
	{ "pt1h", -1 },
	{ "PT99999999999999999999H", -1 },
	{ "P1D ", -1 },
};

static void
test_durations(void)
{
	size_t i;

	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		int64_t got = cfg_parse_duration(durations[i].in);

		if (got != durations[i].want)
			CU_FAIL(durations[i].in);
	}
	CU_ASSERT_EQUAL(cfg_parse_duration(NULL), -1);
}

static const struct {
	const char *in;
	int64_t want;
} stamps[] = {
	{ "1970-01-01T00:00:00Z", 0 },
	{ "2023-02-06T12:15:00Z", 1675685700 },
	{ "2023-02-06T12:15:00.1234567Z", 1675685700 },
	{ "2022-12-08T07:43:00.000Z", 1670485380 },
	{ "2023-02-06T13:15:00+01:00", 1675685700 },
	{ "2023-02-06T11:15:00-0100", 1675685700 },
	{ "2024-02-29T00:00:00Z", 1709164800 },
	{ "2023-02-29T00:00:00Z", -1 },
	{ "2023-13-01T00:00:00Z", -1 },
	{ "2023-02-06T24:00:00Z", -1 },
	{ "2023-02-06T12:15:00", -1 },
	{ "2023-02-06", -1 },
	{ "2023-02-06T12:15:00.Z", -1 },
	{ "2023-02-06T12:15:00Zjunk", -1 },
	{ "1969-12-31T23:59:59Z", -1 },
	{ "", -1 },
};

static void
test_timestamps(void)
{
	size_t i;

	for (i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++)
		if (cfg_parse_timestamp(stamps[i].in) != stamps[i].want)
			CU_FAIL(stamps[i].in);
}

const struct cu_test iso8601_tests[] = {
	{ "durations", test_durations },
	{ "timestamps", test_timestamps },
	{ NULL, NULL },
};

/* ---- requests ---- */

static int
load_fixture(const char *name, enum req_source src, struct request *r)
{
	char path[512], *buf, *err = NULL;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "examples/requests/%s", name);
	buf = cu_slurp(cu_srcpath(path), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	rc = request_from_json(buf, len, src, r, &err);
	if (rc != 0)
		CU_FAIL(err ? err : name);
	free(err);
	free(buf);
	return rc;
}

static int
streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static int
list_is(const struct req_list *l, const char *const *want)
{
	size_t i;

	for (i = 0; want[i]; i++)
		if (i >= l->n || strcmp(l->v[i], want[i]) != 0)
			return 0;
	return i == l->n;
}

static void
test_aws_policy(void)
{
	struct request r;
	static const char *const pol[] = {
		"arn:aws:iam::956987887735:policy/AddUserToGroup", NULL
	};
	static const char *const none[] = { NULL };

	if (load_fixture(
	        "permissions-request-aws-policy.json", REQ_SRC_MAX, &r))
		return;
	CU_ASSERT_EQUAL(r.source, REQ_SRC_PERMISSIONS);
	CU_ASSERT_EQUAL(r.cloud, REQ_CLOUD_AWS);
	CU_ASSERT_EQUAL(r.kind, REQ_KIND_POLICY);
	CU_ASSERT(streq(r.system_id, "956987887735"));
	CU_ASSERT(list_is(&r.policies, pol));
	CU_ASSERT(list_is(&r.actions, none));
	CU_ASSERT(list_is(&r.roles, none));
	CU_ASSERT(list_is(&r.resources, none));
	CU_ASSERT(streq(r.requestor_upn, "alex@contoso.com"));
	CU_ASSERT_PTR_NULL(r.requestor_id);
	CU_ASSERT_PTR_NULL(r.id);
	CU_ASSERT_EQUAL(r.duration, 3600);
	CU_ASSERT_EQUAL(r.start, 0);
	CU_ASSERT(streq(r.ticket_system, "ServiceNow"));
	CU_ASSERT(streq(r.ticket_number, "INC1234567"));
	CU_ASSERT(streq(r.justification,
	    "I need to do this because I want to add a user to a group"));
	request_free(&r);
}

static void
test_aws_action(void)
{
	struct request r;
	static const char *const act[] = { "s3:AbortMultipartUpload",
		"s3:CreateBucket", "s3:Delete:*", NULL };
	static const char *const res[] = { "*", "*", NULL };

	if (load_fixture(
	        "permissions-request-aws-action.json", REQ_SRC_PERMISSIONS, &r))
		return;
	CU_ASSERT_EQUAL(r.kind, REQ_KIND_ACTION);
	CU_ASSERT(list_is(&r.actions, act));
	CU_ASSERT(list_is(&r.resources, res));
	CU_ASSERT(streq(r.requestor_upn, "rsn:alex@contoso.com"));
	CU_ASSERT_EQUAL(r.start, 1675858500);
	/* PT1H every month with no end: the whole span is unbounded */
	CU_ASSERT_EQUAL(r.recurring, 1);
	CU_ASSERT_EQUAL(r.duration, -1);
	CU_ASSERT_EQUAL(r.sched_invalid, 0);
	CU_ASSERT(streq(r.requestor_key, "rsn:alex@contoso.com"));
	CU_ASSERT_EQUAL(r.identity, REQ_ID_UNCHECKED);
	request_free(&r);
}

static void
test_azure(void)
{
	struct request r;
	static const char *const act[] = {
		"Microsoft.Authorization/roleassignments/read",
		"Microsoft.Authorization/roleassignments/write", NULL
	};
	static const char *const roles[] = {
		"cdda3590-29a3-44f6-95f2-9f980659eb04",
		"312a565d-c81f-4fd8-895a-4e21e48d571c", NULL
	};
	static const char *const res[] = {
		"/subscriptions/87eefd90-95a3-480a-ba42-56ff299a05ee", NULL
	};

	if (load_fixture("permissions-request-azure-action.json", REQ_SRC_MAX,
	        &r) == 0) {
		CU_ASSERT_EQUAL(r.cloud, REQ_CLOUD_AZURE);
		CU_ASSERT_EQUAL(r.kind, REQ_KIND_ACTION);
		CU_ASSERT(list_is(&r.actions, act));
		CU_ASSERT(list_is(&r.resources, res));
		CU_ASSERT(streq(r.resource_id, res[0]));
		CU_ASSERT(streq(r.requestor_upn, "alex@adatum.com"));
		CU_ASSERT_EQUAL(r.start, 0);
		request_free(&r);
	}
	if (load_fixture(
	        "permissions-request-azure-role.json", REQ_SRC_MAX, &r) == 0) {
		CU_ASSERT_EQUAL(r.kind, REQ_KIND_ROLE);
		CU_ASSERT(list_is(&r.roles, roles));
		CU_ASSERT_EQUAL(r.actions.n, 0);
		request_free(&r);
	}
}

static void
test_gcp(void)
{
	struct request r;
	static const char *const act[] = { "aiplatform:dataitems", NULL };
	static const char *const roles[] = { "roles/dialogflow.aamAdmin",
		NULL };

	if (load_fixture(
	        "permissions-request-gcp-action.json", REQ_SRC_MAX, &r) == 0) {
		CU_ASSERT_EQUAL(r.cloud, REQ_CLOUD_GCP);
		CU_ASSERT_EQUAL(r.kind, REQ_KIND_ACTION);
		CU_ASSERT(list_is(&r.actions, act));
		CU_ASSERT(streq(r.system_id, "carbide-bonsai-205017"));
		CU_ASSERT(streq(r.resource_id, "carbide-bonsai-205017"));
		request_free(&r);
	}
	if (load_fixture(
	        "permissions-request-gcp-role.json", REQ_SRC_MAX, &r) == 0) {
		CU_ASSERT_EQUAL(r.kind, REQ_KIND_ROLE);
		CU_ASSERT(list_is(&r.roles, roles));
		CU_ASSERT(streq(r.ticket_number, "123456"));
		request_free(&r);
	}
}

static void
test_created_response(void)
{
	struct request a, b;
	char da[65], db[65];

	if (load_fixture(
	        "permissions-request-created-response.json", REQ_SRC_MAX, &a))
		return;
	CU_ASSERT(streq(a.id, "00000000-0000-0000-0000-000000000002"));
	CU_ASSERT(streq(a.approval_id, a.id));
	CU_ASSERT(streq(a.status, "submitted"));
	CU_ASSERT_EQUAL(a.created, 1675685700);
	if (load_fixture(
	        "permissions-request-aws-policy.json", REQ_SRC_MAX, &b) == 0) {
		/* same policy-visible fields: same digest */
		request_digest(&a, da);
		request_digest(&b, db);
		CU_ASSERT_EQUAL(strlen(da), 64);
		CU_ASSERT_STRING_EQUAL(da, db);
		free(b.justification);
		b.justification = strdup("different");
		request_digest(&b, db);
		CU_ASSERT_STRING_NOT_EQUAL(da, db);
		request_free(&b);
	}
	request_free(&a);
}

static void
test_group(void)
{
	struct request r;

	if (load_fixture("group-request-admin-assign.json", REQ_SRC_MAX, &r) ==
	    0) {
		CU_ASSERT_EQUAL(r.source, REQ_SRC_GROUP);
		CU_ASSERT_EQUAL(r.cloud, REQ_CLOUD_NONE);
		CU_ASSERT_EQUAL(r.kind, REQ_KIND_GROUP);
		CU_ASSERT(
		    streq(r.group_id, "68e55cce-cf7e-4a2d-9046-3e4e75c4bfa7"));
		CU_ASSERT(streq(r.access, "member"));
		CU_ASSERT(streq(r.request_action, "adminAssign"));
		CU_ASSERT(streq(
		    r.principal_id, "3cce9d87-3986-4f19-8335-7ed075408ca2"));
		CU_ASSERT(streq(r.requestor_id, r.principal_id));
		CU_ASSERT_EQUAL(r.start, 1670485380);
		CU_ASSERT_EQUAL(r.duration, 7200);
		request_free(&r);
	}
	if (load_fixture(
	        "group-request-self-activate.json", REQ_SRC_GROUP, &r) == 0) {
		CU_ASSERT(streq(r.request_action, "selfActivate"));
		CU_ASSERT(streq(r.justification, "Activate assignment."));
		request_free(&r);
	}
}

static void
test_package(void)
{
	struct request r;

	if (load_fixture("access-package-request.json", REQ_SRC_MAX, &r))
		return;
	CU_ASSERT_EQUAL(r.source, REQ_SRC_ACCESS_PACKAGE);
	CU_ASSERT_EQUAL(r.kind, REQ_KIND_PACKAGE);
	CU_ASSERT(streq(r.package_id, "d7be3253-b9c6-4fab-adef-30d30de8da2b"));
	CU_ASSERT(
	    streq(r.requestor_id, "3cce9d87-3986-4f19-8335-7ed075408ca2"));
	CU_ASSERT(streq(r.request_action, "userAdd"));
	CU_ASSERT_EQUAL(r.duration, 7 * 86400);
	request_free(&r);
}

/* Who gets the access: v1.0 names the assignment's target only when
 * expanded (assignment($expand=target)); a stored beta-shaped body still
 * reads; a target other than the requestor is the beneficiary. */
static void
test_package_target(void)
{
	static const char v1[] =
	    "{\"requestType\":\"adminAdd\",\"state\":\"pendingApproval\","
	    "\"requestor\":{\"objectId\":\"req-1\"},"
	    "\"accessPackage\":{\"id\":\"pkg-1\"},"
	    "\"assignment\":{\"id\":\"as-1\",\"target\":{\"objectId\":"
	    "\"tgt-1\",\"subjectType\":\"user\"}}}";
	static const char beta[] =
	    "{\"requestType\":\"adminAdd\",\"state\":\"pendingApproval\","
	    "\"requestor\":{\"objectId\":\"req-1\"},"
	    "\"assignment\":{\"id\":\"as-1\",\"targetId\":\"tgt-2\","
	    "\"accessPackageId\":\"pkg-2\"}}";
	struct request r;
	char *err = NULL;

	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL_FATAL(request_from_json(v1, sizeof(v1) - 1,
	                          REQ_SRC_ACCESS_PACKAGE, &r, &err),
	    0);
	CU_ASSERT(streq(r.principal_id, "tgt-1"));
	CU_ASSERT(streq(r.beneficiary_key, "tgt-1"));
	CU_ASSERT(streq(r.package_id, "pkg-1"));
	request_free(&r);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL_FATAL(request_from_json(beta, sizeof(beta) - 1,
	                          REQ_SRC_ACCESS_PACKAGE, &r, &err),
	    0);
	CU_ASSERT(streq(r.principal_id, "tgt-2"));
	CU_ASSERT(streq(r.package_id, "pkg-2"));
	request_free(&r);
	free(err);
}

static const struct {
	const char *json;
	enum req_source src;
	int ok;
	const char *what;
} bodies[] = {
	{ "{", REQ_SRC_MAX, 0, "truncated" },
	{ "[]", REQ_SRC_MAX, 0, "not an object" },
	{ "{}", REQ_SRC_MAX, 0, "unknown kind" },
	{ "{} x", REQ_SRC_MAX, 0, "trailing data" },
	{ "{\"@odata.type\":\"#microsoft.graph.somethingElse\","
	  "\"groupId\":\"g\"}",
	    REQ_SRC_MAX, 0, "unknown top-level type" },
	{ "{\"requestedPermissions\":{\"@odata.type\":\"microsoft.graph."
	  "awsFooDefinition\"}}",
	    REQ_SRC_MAX, 0, "unknown permissions type" },
	{ "{\"requestedPermissions\":{\"@odata.type\":\"microsoft.graph."
	  "awsPermissionsDefinition\",\"actionInfo\":{\"@odata.type\":"
	  "\"microsoft.graph.azureRolePermissionsDefinitionAction\","
	  "\"roles\":[{\"id\":\"r\"}]}}}",
	    REQ_SRC_MAX, 0, "aws definition with azure action" },
	{ "{\"requestedPermissions\":{\"@odata.type\":\"microsoft.graph."
	  "awsPermissionsDefinition\",\"authorizationSystemInfo\":{"
	  "\"authorizationSystemType\":\"GCP\"},\"actionInfo\":{"
	  "\"@odata.type\":\"microsoft.graph."
	  "awsPolicyPermissionsDefinitionAction\",\"policies\":[]}}}",
	    REQ_SRC_MAX, 0, "type contradiction" },
	{ "{\"groupId\":\"g\",\"accessId\":\"member\"}", REQ_SRC_PERMISSIONS, 0,
	    "source mismatch" },
	{ "{\"groupId\":\"g\",\"accessId\":\"member\",\"scheduleInfo\":{"
	  "\"expiration\":{\"type\":\"noExpiration\"}}}",
	    REQ_SRC_MAX, 1, "no expiration" },
	{ "{\"groupId\":5}", REQ_SRC_MAX, 0, "non-string field" },
	{ "{\"groupId\":\"g\",\"scheduleInfo\":{\"startDateTime\":\"soon\"}}",
	    REQ_SRC_MAX, 0, "bad timestamp" },
};

static void
test_bad_bodies(void)
{
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct request r;
		char *err = NULL;
		int rc = request_from_json(bodies[i].json,
		    strlen(bodies[i].json), bodies[i].src, &r, &err);

		if ((rc == 0) != bodies[i].ok)
			CU_FAIL(bodies[i].what);
		if (rc != 0)
			CU_ASSERT_PTR_NOT_NULL(err);
		if (rc == 0 && strcmp(bodies[i].what, "no expiration") == 0)
			CU_ASSERT_EQUAL(r.duration, -1);
		free(err);
		request_free(&r);
	}
}

static void
test_not_lists(void)
{
	static const char body[] =
	    "{\"requestedPermissions\":{\"@odata.type\":\"microsoft.graph."
	    "awsPermissionsDefinition\",\"actionInfo\":{\"@odata.type\":"
	    "\"microsoft.graph.awsActionsPermissionsDefinitionAction\","
	    "\"statements\":[{\"actions\":[\"s3:GetObject\"],\"notActions\":"
	    "[\"s3:DeleteObject\"],\"resources\":[\"arn:aws:s3:::b/*\"],"
	    "\"notResources\":[\"arn:aws:s3:::secret/*\"]}]}},"
	    "\"scheduleInfo\":{\"startDateTime\":\"2023-02-08T12:00:00Z\","
	    "\"expiration\":{\"endDateTime\":\"2023-02-08T14:00:00Z\"}}}";
	static const char *const act[] = { "s3:GetObject", "*", NULL };
	static const char *const res[] = { "arn:aws:s3:::b/*", "*", NULL };
	struct request r;
	char *err = NULL;

	CU_ASSERT_EQUAL_FATAL(
	    request_from_json(body, strlen(body), REQ_SRC_MAX, &r, &err), 0);
	CU_ASSERT(list_is(&r.actions, act));
	CU_ASSERT(list_is(&r.resources, res));
	CU_ASSERT_EQUAL(r.duration, 7200);
	request_free(&r);
}

static void
test_names(void)
{
	int i;

	for (i = 0; i < REQ_SRC_MAX; i++)
		CU_ASSERT_EQUAL(
		    req_source_from_name(req_source_name((enum req_source)i)),
		    i);
	CU_ASSERT_EQUAL(req_source_from_name("nope"), -1);
	for (i = 0; i < REQ_CLOUD_MAX; i++)
		CU_ASSERT_STRING_NOT_EQUAL(
		    req_cloud_name((enum req_cloud)i), "unknown");
	for (i = 0; i < REQ_KIND_MAX; i++)
		CU_ASSERT_STRING_NOT_EQUAL(
		    req_kind_name((enum req_kind)i), "unknown");
	for (i = 0; i < VERDICT_MAX; i++)
		CU_ASSERT_STRING_NOT_EQUAL(
		    verdict_name((enum verdict_kind)i), "unknown");
}

/* Display names (issue 16): an access package's from the body (a
 * non-string one is left out, the request still reads); the stored
 * identity keeps the directory's displayName, and a row stored before
 * names were kept still applies. */
static void
test_display_names(void)
{
	static const char body[] =
	    "{\"@odata.type\":\"#microsoft.graph."
	    "accessPackageAssignmentRequest\",\"id\":\"r1\","
	    "\"requestType\":\"userAdd\",\"state\":\"pendingApproval\","
	    "\"requestor\":{\"objectId\":\"u-alex\"},"
	    "\"accessPackage\":{\"id\":\"p1\",\"displayName\":"
	    "\"Finance reporting\"},"
	    "\"schedule\":{\"startDateTime\":\"2024-03-04T10:00:00Z\","
	    "\"expiration\":{\"type\":\"afterDuration\",\"duration\":"
	    "\"P7D\"}}}";
	struct req_principal alex = { "u-alex", "alex@contoso.com", NULL, 0,
		"Alex Wilber" };
	struct request r, r2;
	char *err = NULL, *text, *bad, *at;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(
	    request_from_json(body, strlen(body), REQ_SRC_MAX, &r, &err), 0);
	CU_ASSERT(streq(r.package_id, "p1"));
	CU_ASSERT(streq(r.package_name, "Finance reporting"));
	CU_ASSERT_EQUAL_FATAL(
	    request_set_identity(&r, REQ_ID_VERIFIED, &alex, NULL), 0);
	CU_ASSERT(streq(r.who.name, "Alex Wilber"));
	text = request_identity_encode(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"name\":\"Alex Wilber\""));
	CU_ASSERT_EQUAL_FATAL(
	    request_from_json(body, strlen(body), REQ_SRC_MAX, &r2, &err), 0);
	CU_ASSERT_EQUAL(request_identity_apply(&r2, text), 0);
	CU_ASSERT_EQUAL(r2.identity, REQ_ID_VERIFIED);
	CU_ASSERT(streq(r2.who.name, "Alex Wilber"));
	request_free(&r2);
	/* as stored before display names: no "name" member */
	at = strstr(text, ",\"name\":\"Alex Wilber\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	n = strlen(",\"name\":\"Alex Wilber\"");
	bad = strdup(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
	memmove(bad + (at - text), bad + (at - text) + n,
	    strlen(bad + (at - text) + n) + 1);
	CU_ASSERT_EQUAL_FATAL(
	    request_from_json(body, strlen(body), REQ_SRC_MAX, &r2, &err), 0);
	CU_ASSERT_EQUAL(request_identity_apply(&r2, bad), 0);
	CU_ASSERT_EQUAL(r2.identity, REQ_ID_VERIFIED);
	CU_ASSERT(streq(r2.who.upn, "alex@contoso.com"));
	CU_ASSERT_PTR_NULL(r2.who.name);
	request_free(&r2);
	free(bad);
	free(text);
	request_free(&r);
	/* a name that is not a string is no reason to refuse the request */
	{
		char *b2 = strdup(body),
		     *q = strstr(b2, "\"Finance reporting\"");

		CU_ASSERT_PTR_NOT_NULL_FATAL(q);
		/* in place, inside the string: no terminator wanted */
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
		memcpy(
		    q, "42                 ", strlen("\"Finance reporting\""));
		CU_ASSERT_EQUAL(
		    request_from_json(b2, strlen(b2), REQ_SRC_MAX, &r, &err),
		    0);
		CU_ASSERT(streq(r.package_id, "p1"));
		CU_ASSERT_PTR_NULL(r.package_name);
		request_free(&r);
		free(err);
		free(b2);
	}
}

const struct cu_test request_tests[] = {
	{ "aws_policy", test_aws_policy },
	{ "aws_action", test_aws_action },
	{ "azure", test_azure },
	{ "gcp", test_gcp },
	{ "created_response", test_created_response },
	{ "group", test_group },
	{ "access_package", test_package },
	{ "access_package_target", test_package_target },
	{ "bad_bodies", test_bad_bodies },
	{ "not_lists_fail_closed", test_not_lists },
	{ "names", test_names },
	{ "display_names", test_display_names },
	{ NULL, NULL },
};
