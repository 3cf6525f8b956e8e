/*
 * Identity (issue 12, item 3), end to end on loopback over HTTPS: the real
 * approvald against the real graph-emulator. A request's identity keys are
 * resolved through Graph (GET /users/{id | upn}) before the policy sees
 * it: the requestor and the beneficiary never approve, a manager stage of
 * an unverified request falls back, requestor_in asks Graph
 * (checkMemberGroups), a guest known only by id is still a guest, and a
 * lookup that fails approves nothing until Graph answers. Every scenario
 * is checked on the emulator's ground truth.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "cu.h"
#include "harness.h"

#define CISO_ID   "7deff43e-1f17-44ef-9e5f-d516b0ba11d4"
#define CASEY_ID  "f6a8c0e2-4b6d-4f8a-9c0e-2b4d6f8a0c1e"
#define CASEY_UPN "casey@contoso.onmicrosoft.com"
#define SAM_ID    "c5a9e3b1-7d2f-4a8c-b6e4-1f3a5c7e9b2d"
#define MORGAN_ID "a3d7c1f0-2b4e-4f6a-8c9d-0e1f2a3b4c5d"
#define KIM_ID    "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
#define KIM_UPN   "kim_fabrikam.com#EXT#@contoso.com"
#define FINANCE   "d7be3253-b9c6-4fab-adef-30d30de8da2b"
#define PRODADM   "2b5ed229-4072-478d-9504-a047ebd4b07d"
#define WAIT_MS   30000

static struct emu E;
static struct ad A;
static int started;
static char policy_path[700];

/*
 * The policy, with `unverified_identity: evaluate` when the policy
 * language has it (unverified requests then go to their rule's stages;
 * without it they are evaluated as any other on this branch).
 */
static int
policy_prepare(void)
{
	char *text =
	    cu_slurp(cu_srcpath("tests/integration/ident-policy.yaml"), NULL);
	int rc = -1;

	snprintf(policy_path, sizeof(policy_path), "%s/ident-policy.yaml",
	    h_tmpdir());
	if (text != NULL)
		rc = h_write_file(policy_path, text, 0600);
	free(text);
	return rc;
}

static int
suite_init(void)
{
	char fixture[600], *text = NULL, *at, *out = NULL;
	static const char *const line =
	    "  permissions: { enabled: true, poll_interval: PT1S }\n";
	int rc = -1;

	snprintf(fixture, sizeof(fixture), "%s",
	    cu_srcpath("examples/demo-tenant.json"));
	if (policy_prepare() == -1 || emu_start(&E, fixture, 1) == -1 ||
	    ad_prepare(&A, &E, policy_path, NULL) == -1 ||
	    (text = cu_slurp(A.conf, NULL)) == NULL ||
	    (at = strstr(text, line)) == NULL)
		goto out;
	/* Every source, polled each second. */
	if (asprintf(&out,
	        "%.*s%s  group: { enabled: true, poll_interval: PT1S }\n"
	        "  access-package: { enabled: true, poll_interval: PT1S }\n%s",
	        (int)(at - text), text, line, at + strlen(line)) == -1 ||
	    h_write_file(A.conf, out, 0600) == -1)
		goto out;
	if (ad_start(&A) == -1 || ad_wait_ready(&A, 20000) == -1)
		goto out;
	started = 1;
	rc = 0;
out:
	free(text);
	free(out);
	return rc;
}

static int
suite_clean(void)
{
	if (started)
		ad_stop(&A, SIGTERM);
	emu_stop(&E);
	return 0;
}

/* POST /_emulator/requests; the new request's key "<source>:<id>" (heap). */
static char *
create(const char *source, const char *requestor, struct json_object *body)
{
	struct json_object *wrap = json_object_new_object(), *o, *v;
	char *key = NULL;
	long st;

	json_object_object_add(
	    wrap, "requestor", json_object_new_string(requestor));
	json_object_object_add(wrap, "source", json_object_new_string(source));
	json_object_object_add(wrap, "body", body);
	o = emu_json(&E, "POST", "/_emulator/requests",
	    json_object_to_json_string_ext(wrap, JSON_C_TO_STRING_PLAIN), &st);
	if (o != NULL && st == 201 && json_object_object_get_ex(o, "id", &v) &&
	    asprintf(&key, "%s:%s", source, json_object_get_string(v)) == -1)
		key = NULL;
	json_object_put(o);
	json_object_put(wrap);
	return key;
}

static struct json_object *
fixture_json(const char *name)
{
	char path[300], *text;
	struct json_object *o;

	snprintf(path, sizeof(path), "examples/requests/%s", name);
	if ((text = cu_slurp(cu_srcpath(path), NULL)) == NULL)
		return NULL;
	o = json_tokener_parse(text);
	free(text);
	return o;
}

/* A permissions request by alex whose identityInfo.externalId is `ext`. */
static char *
perm_create(const char *ext, const char *tag)
{
	struct json_object *req = fixture_json(
	                       "permissions-request-azure-role.json"),
	                   *perm, *ident;

	if (req == NULL)
		return NULL;
	json_object_object_add(
	    req, "justification", json_object_new_string(tag));
	if (json_object_object_get_ex(req, "requestedPermissions", &perm) &&
	    json_object_object_get_ex(perm, "identityInfo", &ident))
		json_object_object_add(
		    ident, "externalId", json_object_new_string(ext));
	return create("permissions", "alex@contoso.com", req);
}

/* A PIM for Groups self-activation of Prod Admins by `upn` (`id`). */
static char *
group_create(const char *upn, const char *id, const char *tag)
{
	struct json_object *req =
	    fixture_json("group-request-self-activate.json");

	if (req == NULL)
		return NULL;
	json_object_object_add(req, "principalId", json_object_new_string(id));
	json_object_object_add(
	    req, "justification", json_object_new_string(tag));
	return create("group", upn, req);
}

/* Finance reporting for `target_id`, asked by `requestor`. */
static char *
package_create(const char *requestor, const char *target_id, const char *tag)
{
	struct json_object *req = json_tokener_parse(
	                       "{\"requestType\":\"userAdd\",\"assignment\":{"
	                       "\"accessPackageId\":"
	                       "\"" FINANCE
	                       "\"},\"schedule\":{\"expiration\":{\"type\":"
	                       "\"afterDuration\",\"duration\":\"PT8H\"}}}"),
	                   *as;

	json_object_object_add(
	    req, "justification", json_object_new_string(tag));
	if (target_id != NULL &&
	    json_object_object_get_ex(req, "assignment", &as))
		json_object_object_add(
		    as, "targetId", json_object_new_string(target_id));
	return create("access-package", requestor, req);
}

static const char *
gid(const char *key)
{
	return strchr(key, ':') + 1;
}

static int
truth(const char *key, int *ap, int *dn)
{
	int cn;

	return emu_truth_counts(&E, gid(key), ap, dn, &cn);
}

/* decide; the reply's result ("ok", "refused", "noop") (heap). */
static char *
decide(const char *key, const char *verb, const char *who)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "decide %s %s %s checked", key, verb, who);
	return ad_result(&A, cmd);
}

#define ASSERT_NOT_OK(key, who)                                                \
	do {                                                                   \
		char *r_ = decide(key, "approve", who);                        \
		CU_ASSERT_STRING_NOT_EQUAL(r_, "ok");                          \
		free(r_);                                                      \
	} while (0)

/* 1 when `who` (id or UPN) is in the stored set of `stage`. */
static int
has_approver(const char *key, int stage, const char *who)
{
	char cmd[600];
	struct json_object *o, *arr, *a, *v;
	size_t i;
	int found = 0;

	snprintf(cmd, sizeof(cmd), "approvers %s %d", key, stage);
	if ((o = ad_ctl(&A, cmd)) == NULL)
		return 0;
	if (json_object_object_get_ex(o, "approvers", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			a = json_object_array_get_idx(arr, i);
			if ((json_object_object_get_ex(a, "id", &v) &&
			        strcasecmp(json_object_get_string(v), who) ==
			            0) ||
			    (json_object_object_get_ex(a, "upn", &v) &&
			        strcasecmp(json_object_get_string(v), who) ==
			            0))
				found = 1;
		}
	json_object_put(o);
	return found;
}

/* `show KEY`'s identity member `path` ("state", "who/upn", ...) (heap). */
static char *
identity(const char *key, const char *path)
{
	char cmd[600], part[64], *res = NULL;
	struct json_object *o, *v;
	const char *p = path;
	size_t n;

	snprintf(cmd, sizeof(cmd), "show %s", key);
	if ((o = ad_ctl(&A, cmd)) == NULL)
		return NULL;
	if (json_object_object_get_ex(o, "identity", &v))
		for (; v != NULL && *p != '\0'; p += n + (p[n] == '/')) {
			n = strcspn(p, "/");
			snprintf(part, sizeof(part), "%.*s", (int)n, p);
			if (!json_object_object_get_ex(v, part, &v))
				v = NULL;
		}
	if (v != NULL && json_object_is_type(v, json_type_string))
		res = strdup(json_object_get_string(v));
	json_object_put(o);
	return res;
}

#define ASSERT_IDENTITY(key, path, want)                                       \
	do {                                                                   \
		char *i_ = identity(key, path);                                \
		CU_ASSERT_PTR_NOT_NULL(i_);                                    \
		if (i_ != NULL)                                                \
			CU_ASSERT_STRING_EQUAL(i_, want);                      \
		free(i_);                                                      \
	} while (0)

struct waiting {
	const char *key;
	const char *state; /* or: pending with approvers */
	int napprovers;
};

/* The stage is waiting for its (resolved) approvers, or the request
 * reached `state`. */
static int
settled(void *arg)
{
	struct waiting *w = arg;
	char *st = ad_state(&A, w->key);
	int ok = 0;

	if (st != NULL)
		ok = (w->state != NULL && strcmp(st, w->state) == 0) ||
		     (strcmp(st, "pending") == 0 &&
		         ad_napprovers(&A, w->key, 1) >= w->napprovers);
	free(st);
	return ok;
}

static int
wait_stage(const char *key, int n)
{
	struct waiting w = { key, NULL, n };

	return h_until(settled, &w, WAIT_MS);
}

/* Hits of the emulator's faults so far. */
static long
fault_hits(void)
{
	struct json_object *o = emu_json(
	                       &E, "GET", "/_emulator/faults", NULL, NULL),
	                   *a, *v;
	long hits = 0;
	size_t i;

	if (o != NULL && json_object_object_get_ex(o, "faults", &a))
		for (i = 0; i < json_object_array_length(a); i++)
			if (json_object_object_get_ex(
			        json_object_array_get_idx(a, i), "hits", &v))
				hits += (long)json_object_get_int64(v);
	json_object_put(o);
	return hits;
}

static int
two_hits(void *arg)
{
	(void)arg;
	return fault_hits() >= 2;
}

static void
faults_clear(void)
{
	long st = 0;

	json_object_put(emu_json(&E, "DELETE", "/_emulator/faults", NULL, &st));
	CU_ASSERT_EQUAL(st, 204);
}

/* 1 when the emulator's call log has a call whose path holds `needle`. */
static int
log_has(const char *needle)
{
	struct json_object *o = emu_json(
	                       &E, "GET", "/_emulator/log", NULL, NULL),
	                   *calls, *v;
	size_t i;
	int found = 0;

	if (o != NULL && json_object_object_get_ex(o, "calls", &calls))
		for (i = 0; i < json_object_array_length(calls); i++)
			if (json_object_object_get_ex(
			        json_object_array_get_idx(calls, i), "path",
			        &v) &&
			    strstr(json_object_get_string(v), needle) != NULL)
				found = 1;
	json_object_put(o);
	return found;
}

/* (a) An approver cannot approve their own request, whichever way the
 * requestor typed their identity: by object id or UPN it resolves to them
 * (excluded); `rsn:<upn>` resolves to nobody (unverified: never theirs to
 * approve either). */
static void
test_self(void)
{
	static const char *const ext[] = { CASEY_ID,
		"CASEY@Contoso.onmicrosoft.com", "rsn:" CASEY_UPN };
	size_t i;
	int ap, dn;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		char *k = perm_create(ext[i], "ident-self casey asks");

		CU_ASSERT_PTR_NOT_NULL_FATAL(k);
		CU_ASSERT_FATAL(wait_stage(k, 1) == 0);
		CU_ASSERT(has_approver(k, 1, CISO_ID));
		if (i < 2) {
			ASSERT_IDENTITY(k, "state", "verified");
			ASSERT_IDENTITY(k, "who/id", CASEY_ID);
		} else {
			/* unverified_identity: evaluate sends it to the
			 * stage; the name typed still excludes casey */
			ASSERT_IDENTITY(k, "state", "unverified");
		}
		CU_ASSERT(!has_approver(k, 1, CASEY_ID));
		ASSERT_NOT_OK(k, CASEY_UPN);
		ASSERT_NOT_OK(k, CASEY_ID);
		CU_ASSERT_EQUAL(truth(k, &ap, &dn), 0);
		CU_ASSERT_EQUAL(ap, 0);
		free(k);
	}
	/* The typed key never became a Graph path. */
	CU_ASSERT(!log_has("rsn:"));
	CU_ASSERT(!log_has("rsn%3A"));
}

/* (b) A manager asks for an access package on behalf of sam: sam, the
 * beneficiary, is in the approver set and may not approve it. */
static void
test_on_behalf(void)
{
	char *k = package_create(
	    "alexmanager@contoso.com", SAM_ID, "ident-behalf for sam");
	int ap = -1, dn = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_stage(k, 1) == 0);
	ASSERT_IDENTITY(k, "who/upn", "alexmanager@contoso.com");
	ASSERT_IDENTITY(k, "beneficiary/id", SAM_ID);
	CU_ASSERT(!has_approver(k, 1, SAM_ID));
	CU_ASSERT(has_approver(k, 1, "jordan@contoso.com"));
	ASSERT_NOT_OK(k, "sam@contoso.com");
	{
		char *r = decide(k, "approve", "jordan@contoso.com");

		CU_ASSERT_STRING_EQUAL(r, "ok");
		free(r);
	}
	CU_ASSERT(ad_wait_state(&A, k, "approved", WAIT_MS) == 0);
	CU_ASSERT_EQUAL(truth(k, &ap, &dn), 0);
	CU_ASSERT_EQUAL(ap, 1);
	CU_ASSERT_EQUAL(dn, 0);
	free(k);
}

/* (c) The manager of nobody is nobody: an unverified request's manager
 * stage goes to the fallback at once (no lookup of the typed key, no
 * retry loop). */
static void
test_manager_unverified(void)
{
	char *k = perm_create("rsn:alex@contoso.com", "ident-manager of?");

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_stage(k, 1) == 0);
	ASSERT_IDENTITY(k, "state", "unverified");
	CU_ASSERT(has_approver(k, 1, CISO_ID));
	CU_ASSERT(!has_approver(k, 1, "alexmanager@contoso.com"));
	CU_ASSERT(!log_has("rsn"));
	free(k);
}

/* (d) requestor_in asks Graph: a member gets the rule's approval (not
 * while the membership call fails: then it waits and is retried), a
 * non-member does not. */
static void
test_requestor_in(void)
{
	char *k, *st;
	int ap = -1, dn = -1;

	CU_ASSERT_FATAL(
	    emu_fault(&E, "{\"method\":\"POST\",\"path\":\"/v1.0/users/*/"
	                  "checkMemberGroups\",\"kind\":\"status\","
	                  "\"status\":503}") == 0);
	k = perm_create("alex@contoso.com", "ident-member alex");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(h_until(two_hits, NULL, WAIT_MS) == 0);
	st = ad_state(&A, k);
	CU_ASSERT_STRING_EQUAL(st ? st : "", "evaluating");
	free(st);
	CU_ASSERT_EQUAL(truth(k, &ap, &dn), 0);
	CU_ASSERT_EQUAL(ap, 0);
	faults_clear();
	CU_ASSERT(ad_wait_state(&A, k, "approved", WAIT_MS) == 0);
	CU_ASSERT_EQUAL(truth(k, &ap, &dn), 0);
	CU_ASSERT_EQUAL(ap, 1);
	free(k);
	k = perm_create("jordan@contoso.com", "ident-member jordan");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT(ad_wait_state(&A, k, "ignored", WAIT_MS) == 0);
	CU_ASSERT_EQUAL(truth(k, &ap, &dn), 0);
	CU_ASSERT_EQUAL(ap + dn, 0);
	free(k);
}

/* (e) A guest activating a group names only their object id: resolved,
 * their UPN holds #EXT#, and the guest rule rejects it. */
static void
test_guest_group(void)
{
	char *k = group_create(KIM_UPN, KIM_ID, "ident-guest activation");
	int ap = -1, dn = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT(ad_wait_state(&A, k, "rejected", WAIT_MS) == 0);
	ASSERT_IDENTITY(k, "who/upn", KIM_UPN);
	CU_ASSERT_EQUAL(truth(k, &ap, &dn), 0);
	CU_ASSERT_EQUAL(ap, 0);
	CU_ASSERT_EQUAL(dn, 1);
	free(k);
}

/* (f) While /users fails nothing is decided; once Graph answers the
 * request is approved: after Graph's own retries (503), and after the
 * daemon's retries with backoff (403 is not retried by the client). */
static void
test_lookup_faults(void)
{
	char *k, *st;
	int ap = -1, dn = -1;

	CU_ASSERT_FATAL(
	    emu_fault(&E, "{\"method\":\"GET\",\"path\":\"/v1.0/users/*\","
	                  "\"kind\":\"status\",\"status\":503}") == 0);
	k = perm_create("sam@contoso.com", "ident-auto sam");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(h_until(two_hits, NULL, WAIT_MS) == 0);
	st = ad_state(&A, k);
	CU_ASSERT_STRING_EQUAL(st ? st : "", "evaluating");
	free(st);
	CU_ASSERT_EQUAL(truth(k, &ap, &dn), 0);
	CU_ASSERT_EQUAL(ap, 0);
	faults_clear();
	CU_ASSERT(ad_wait_state(&A, k, "approved", WAIT_MS) == 0);
	CU_ASSERT_EQUAL(truth(k, &ap, &dn), 0);
	CU_ASSERT_EQUAL(ap, 1);
	free(k);

	CU_ASSERT_FATAL(
	    emu_fault(&E, "{\"method\":\"GET\",\"path\":\"/v1.0/users/*\","
	                  "\"kind\":\"status\",\"status\":403,"
	                  "\"count\":2}") == 0);
	/* (an id no earlier scenario resolved: not in the cache) */
	k = perm_create(MORGAN_ID, "ident-auto morgan by id");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT(ad_wait_state(&A, k, "approved", WAIT_MS) == 0);
	CU_ASSERT_EQUAL(fault_hits(), 2);
	CU_ASSERT_EQUAL(truth(k, &ap, &dn), 0);
	CU_ASSERT_EQUAL(ap, 1);
	faults_clear();
	free(k);
}

static const struct cu_test ident_tests[] = {
	{ "approver's own request: id, UPN, rsn:", test_self },
	{ "beneficiary of an on-behalf request excluded", test_on_behalf },
	{ "unverified manager stage falls back", test_manager_unverified },
	{ "requestor_in through checkMemberGroups", test_requestor_in },
	{ "guest known by id only is rejected", test_guest_group },
	{ "identity lookups failing decide nothing", test_lookup_faults },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "ident", suite_init, suite_clean, ident_tests },
	{ NULL, NULL, NULL, NULL },
};
