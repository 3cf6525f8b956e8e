/*
 * Request sources other than Permissions Management, end to end: the real
 * approvald against the real graph-emulator over HTTPS, asserting on the
 * emulator's ground truth.
 *
 * Suite `group`: PIM for Groups (v1.0).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cu.h"
#include "harness.h"

#define PIM1        "/v1.0/identityGovernance/privilegedAccess/group"
#define PROD_ADMINS "2b5ed229-4072-478d-9504-a047ebd4b07d"
#define ALEX_ID     "3cce9d87-3986-4f19-8335-7ed075408ca2"
#define MORGAN      "morgan@contoso.com"

static char policy_path[600];
static char fixture_path[600];

static int
setup(void)
{
	snprintf(policy_path, sizeof(policy_path), "%s",
	    cu_srcpath("examples/policy.yaml"));
	snprintf(fixture_path, sizeof(fixture_path), "%s",
	    cu_srcpath("examples/demo-tenant.json"));
	return 0;
}

/* ad_prepare, with the `sources:` block replaced by `sources_yaml`. */
static int
ad_prepare_sources(
    struct ad *a, struct emu *e, const char *policy, const char *sources_yaml)
{
	static const char *const line =
	    "  permissions: { enabled: true, poll_interval: PT1S }\n";
	char *text, *at, *out = NULL;
	FILE *f;
	int rc = -1;

	if (ad_prepare(a, e, policy, NULL) == -1 ||
	    (text = cu_slurp(a->conf, NULL)) == NULL)
		return -1;
	if ((at = strstr(text, line)) != NULL &&
	    asprintf(&out, "%.*s%s%s", (int)(at - text), text, sources_yaml,
	        at + strlen(line)) != -1 &&
	    (f = fopen(a->conf, "w")) != NULL) {
		rc = fputs(out, f) == EOF ? -1 : 0;
		if (fclose(f) != 0)
			rc = -1;
	}
	free(out);
	free(text);
	return rc;
}

#define GROUP_ONLY "  group: { enabled: true, poll_interval: PT1S }\n"

static int
start_daemon(struct ad *a, struct emu *e, const char *policy)
{
	if (ad_prepare_sources(a, e, policy, GROUP_ONLY) == -1 ||
	    ad_start(a) == -1)
		return -1;
	return ad_wait_ready(a, 20000);
}

/* A group request as alex: `access`, `justification` over the fixture. */
static char *
group_create(struct emu *e, const char *access, const char *justification)
{
	char path[600], *text, *id = NULL, *body = NULL;
	struct json_object *o, *req, *v;
	long st;

	snprintf(path, sizeof(path), "%s",
	    cu_srcpath("examples/requests/group-request-self-activate.json"));
	if ((text = cu_slurp(path, NULL)) == NULL ||
	    (req = json_tokener_parse(text)) == NULL) {
		free(text);
		return NULL;
	}
	free(text);
	json_object_object_add(req, "accessId", json_object_new_string(access));
	json_object_object_add(
	    req, "justification", json_object_new_string(justification));
	if (asprintf(&body,
	        "{\"requestor\":\"alex@contoso.com\",\"source\":\"group\","
	        "\"body\":%s}",
	        json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN)) !=
	    -1) {
		o = emu_json(e, "POST", "/_emulator/requests", body, &st);
		if (o != NULL && st == 201 &&
		    json_object_object_get_ex(o, "id", &v))
			id = strdup(json_object_get_string(v));
		json_object_put(o);
	}
	json_object_put(req);
	free(body);
	return id;
}

static char *
user_token(struct emu *e, const char *upn)
{
	char body[200];
	struct json_object *o, *v;
	char *tok = NULL;
	long st;

	snprintf(body, sizeof(body), "{\"user\":\"%s\"}", upn);
	o = emu_json(e, "POST", "/_emulator/token", body, &st);
	if (o != NULL && json_object_object_get_ex(o, "access_token", &v))
		tok = strdup(json_object_get_string(v));
	json_object_put(o);
	return tok;
}

/* A human decides the stage of group request `id` in Entra. */
static long
human_decide(struct emu *e, const char *upn, const char *id, int approve)
{
	char url[1200], body[200], *resp = NULL, *tok = user_token(e, upn);
	struct json_object *o = NULL, *stages, *v;
	long st = 0;

	if (tok == NULL)
		return 0;
	snprintf(
	    url, sizeof(url), "%s" PIM1 "/assignmentApprovals/%s", e->url, id);
	if (h_http(e->ca, "GET", url, tok, NULL, &resp) == 200 &&
	    (o = json_tokener_parse(resp)) != NULL &&
	    json_object_object_get_ex(o, "stages", &stages) &&
	    json_object_array_length(stages) >= 1 &&
	    json_object_object_get_ex(
	        json_object_array_get_idx(stages, 0), "id", &v)) {
		snprintf(url, sizeof(url),
		    "%s" PIM1 "/assignmentApprovals/%s/stages/%s", e->url, id,
		    json_object_get_string(v));
		snprintf(body, sizeof(body),
		    "{\"reviewResult\":\"%s\",\"justification\":\"by hand\"}",
		    approve ? "Approve" : "Deny");
		st = h_http(e->ca, "PATCH", url, tok, body, NULL);
	}
	json_object_put(o);
	free(resp);
	free(tok);
	return st;
}

static long
requestor_cancel(struct emu *e, const char *upn, const char *id)
{
	char url[1200], *tok = user_token(e, upn);
	long st;

	if (tok == NULL)
		return 0;
	snprintf(url, sizeof(url),
	    "%s" PIM1 "/assignmentScheduleRequests/%s/cancel", e->url, id);
	st = h_http(e->ca, "POST", url, tok, NULL, NULL);
	free(tok);
	return st;
}

struct want {
	struct ad *a;
	const char *key_id;
	const char *state, *alt; /* alt: also accepted (may be NULL) */
};

static int
state_is(void *arg)
{
	struct want *w = arg;
	char key[300], *s;
	int ok;

	snprintf(key, sizeof(key), "group:%s", w->key_id);
	s = ad_state(w->a, key);
	ok = s != NULL && (strcmp(s, w->state) == 0 ||
	                      (w->alt != NULL && strcmp(s, w->alt) == 0));
	free(s);
	return ok;
}

static int
wait_state(struct ad *a, const char *id, const char *state, const char *alt)
{
	struct want w = { a, id, state, alt };

	return h_until(state_is, &w, 30000);
}

/* Who made the decisions on request `id`: counts by caller kind. */
static void
truth_callers(struct emu *e, const char *id, int *delegated_by_upn,
    const char *upn, int *total)
{
	struct json_object *o, *d, *x, *v, *c;
	size_t i;

	*delegated_by_upn = *total = 0;
	o = emu_json(e, "GET", "/_emulator/truth", NULL, NULL);
	CU_ASSERT_FATAL(
	    o != NULL && json_object_object_get_ex(o, "decisions", &d));
	for (i = 0; i < json_object_array_length(d); i++) {
		x = json_object_array_get_idx(d, i);
		if (!json_object_object_get_ex(x, "requestId", &v) ||
		    strcmp(json_object_get_string(v), id) != 0)
			continue;
		(*total)++;
		if (json_object_object_get_ex(x, "caller", &c) &&
		    json_object_object_get_ex(c, "upn", &v) &&
		    json_object_get_string(v) != NULL &&
		    strcmp(json_object_get_string(v), upn) == 0)
			(*delegated_by_upn)++;
	}
	json_object_put(o);
}

/* The example policy approves a short member self-activation with a
 * reason and leaves one without a usable reason to humans; Graph sees
 * exactly one approval, from approvald, and nothing for the other. */
static void
test_group_auto_and_ignored(void)
{
	struct emu e;
	struct ad a;
	char *ok_id, *ign_id;
	int ap, dn, cn, mine, total;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	ok_id = group_create(&e, "member", "Activate assignment.");
	ign_id = group_create(&e, "member", "x");
	CU_ASSERT_FATAL(ok_id != NULL && ign_id != NULL);
	CU_ASSERT_FATAL(start_daemon(&a, &e, policy_path) == 0);
	CU_ASSERT(wait_state(&a, ok_id, "approved", "completed") == 0);
	CU_ASSERT(wait_state(&a, ign_id, "ignored", NULL) == 0);
	CU_ASSERT_EQUAL(emu_truth_counts(&e, ok_id, &ap, &dn, &cn), 0);
	CU_ASSERT_EQUAL(ap, 1);
	CU_ASSERT_EQUAL(dn, 0);
	CU_ASSERT_EQUAL(cn, 0);
	truth_callers(&e, ok_id, &mine, "approvald@contoso.com", &total);
	CU_ASSERT_EQUAL(mine, 1);
	CU_ASSERT_EQUAL(emu_truth_counts(&e, ign_id, &ap, &dn, &cn), 0);
	CU_ASSERT_EQUAL(ap + dn + cn, 0);
	CU_ASSERT_EQUAL(emu_truth_total(&e), 1);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(ok_id);
	free(ign_id);
	emu_stop(&e);
}

/* A request left to humans, then approved in Entra by morgan: approvald
 * records the outcome and sends nothing itself. */
static void
test_group_human_in_entra(void)
{
	struct emu e;
	struct ad a;
	char *id;
	int mine, total;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL((id = group_create(&e, "member", "x")) != NULL);
	CU_ASSERT_FATAL(start_daemon(&a, &e, policy_path) == 0);
	CU_ASSERT_FATAL(wait_state(&a, id, "ignored", NULL) == 0);
	CU_ASSERT_EQUAL(human_decide(&e, MORGAN, id, 1), 204);
	CU_ASSERT(wait_state(&a, id, "approved", "completed") == 0);
	truth_callers(&e, id, &mine, MORGAN, &total);
	CU_ASSERT_EQUAL(mine, 1);
	CU_ASSERT_EQUAL(total, 1);
	CU_ASSERT_EQUAL(emu_truth_total(&e), 1);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(id);
	emu_stop(&e);
}

/* Owner access goes through a human stage; the requestor cancels while
 * it waits. */
static const char stage_policy[] =
    "version: 1\n"
    "approvers:\n"
    "  ciso: { user: 7deff43e-1f17-44ef-9e5f-d516b0ba11d4 }\n"
    "rules:\n"
    "  - name: group-owner-stage\n"
    "    when:\n"
    "      source: group\n"
    "      access: owner\n"
    "    decide: stages\n"
    "    reason: owner access is reviewed by the CISO\n"
    "    stages:\n"
    "      - name: ciso\n"
    "        approvers: [ciso]\n"
    "        deny_after: P1D\n"
    "default:\n"
    "  decide: ignore\n";

static void
test_group_cancel_mid_stage(void)
{
	struct emu e;
	struct ad a;
	char *id, path[700];
	FILE *f;
	int ap, dn, cn;

	snprintf(path, sizeof(path), "%s/stage-policy.yaml", h_tmpdir());
	CU_ASSERT_FATAL((f = fopen(path, "w")) != NULL);
	CU_ASSERT_FATAL(fputs(stage_policy, f) != EOF);
	CU_ASSERT_FATAL(fclose(f) == 0);
	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL((id = group_create(
	                     &e, "owner", "Owner for the migration")) != NULL);
	CU_ASSERT_FATAL(start_daemon(&a, &e, path) == 0);
	CU_ASSERT_FATAL(wait_state(&a, id, "pending", NULL) == 0);
	CU_ASSERT_EQUAL(requestor_cancel(&e, "alex@contoso.com", id), 204);
	CU_ASSERT(wait_state(&a, id, "canceled", NULL) == 0);
	CU_ASSERT_EQUAL(emu_truth_counts(&e, id, &ap, &dn, &cn), 0);
	CU_ASSERT_EQUAL(ap + dn, 0);
	CU_ASSERT_EQUAL(cn, 1);
	CU_ASSERT_EQUAL(emu_truth_total(&e), 1);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(id);
	emu_stop(&e);
}

struct seen_call {
	struct emu *e;
	const char *method, *needle;
	long status; /* 0: any */
};

static int
log_has(void *arg)
{
	struct seen_call *s = arg;
	struct json_object *o, *calls, *c, *v;
	size_t i;
	int found = 0;

	if ((o = emu_json(s->e, "GET", "/_emulator/log", NULL, NULL)) == NULL)
		return 0;
	if (json_object_object_get_ex(o, "calls", &calls))
		for (i = 0; i < json_object_array_length(calls) && !found;
		     i++) {
			c = json_object_array_get_idx(calls, i);
			found =
			    json_object_object_get_ex(c, "method", &v) &&
			    strcmp(json_object_get_string(v), s->method) == 0 &&
			    json_object_object_get_ex(c, "path", &v) &&
			    strstr(json_object_get_string(v), s->needle) !=
			        NULL &&
			    (s->status == 0 ||
			        (json_object_object_get_ex(c, "status", &v) &&
			            json_object_get_int(v) == s->status));
		}
	json_object_put(o);
	return found;
}

/* approvald read the stage as undecided; morgan denies it before the
 * PATCH arrives: Graph answers 409, approvald records morgan's denial, and
 * Graph holds exactly one decision. */
static void
test_group_409_decided_by_other(void)
{
	struct emu e;
	struct ad a;
	char *id, needle[300];
	struct seen_call got, conflict;
	int mine, total;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(
	    (id = group_create(&e, "member", "Activate assignment.")) != NULL);
	/* The daemon's read of the approval is answered late. */
	CU_ASSERT_FATAL(
	    emu_fault(&e, "{\"method\":\"GET\",\"path\":\"" PIM1
	                  "/assignmentApprovals/*\",\"kind\":\"delay\","
	                  "\"delayMs\":4000,\"count\":1}") == 0);
	CU_ASSERT_FATAL(start_daemon(&a, &e, policy_path) == 0);
	snprintf(needle, sizeof(needle), "assignmentApprovals/%s", id);
	got = (struct seen_call){ &e, "GET", needle, 0 };
	CU_ASSERT_FATAL(h_until(log_has, &got, 30000) == 0);
	CU_ASSERT_EQUAL(human_decide(&e, MORGAN, id, 0), 204);
	conflict = (struct seen_call){ &e, "PATCH", needle, 409 };
	CU_ASSERT(h_until(log_has, &conflict, 30000) == 0);
	CU_ASSERT(wait_state(&a, id, "rejected", NULL) == 0);
	truth_callers(&e, id, &mine, MORGAN, &total);
	CU_ASSERT_EQUAL(mine, 1);
	CU_ASSERT_EQUAL(total, 1);
	CU_ASSERT_EQUAL(emu_truth_total(&e), 1);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(id);
	emu_stop(&e);
}

static const struct cu_test group_tests[] = {
	{ "auto-approve once; ignored left alone",
	    test_group_auto_and_ignored },
	{ "approved in Entra by a human: recorded, not acted on",
	    test_group_human_in_entra },
	{ "canceled by the requestor mid-stage", test_group_cancel_mid_stage },
	{ "409 on a stage someone else decided",
	    test_group_409_decided_by_other },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "group", setup, NULL, group_tests },
	{ NULL, NULL, NULL, NULL },
};
