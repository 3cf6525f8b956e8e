/*
 * approvald core, end to end on loopback over HTTPS with verification on:
 * the real approvald against the real graph-emulator, asserting on the
 * emulator's ground truth (what Graph actually saw).
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cu.h"
#include "harness.h"

#define NSEED 6

static const char *const seed_files[NSEED] = {
	"permissions-request-aws-policy.json",
	"permissions-request-aws-action.json",
	"permissions-request-azure-action.json",
	"permissions-request-azure-role.json",
	"permissions-request-gcp-action.json",
	"permissions-request-gcp-role.json",
};

struct seed {
	char *id;
	enum verdict_kind expect;
	const char *expect_state; /* state when settled */
};

static char policy_path[600];
static char fixture_path[600];

static const char *
req_path(const char *name)
{
	static char buf[700];

	snprintf(buf, sizeof(buf), "%s/examples/requests/%s",
	    getenv("APPROVALD_SOURCE_DIR") ? getenv("APPROVALD_SOURCE_DIR")
	                                   : SOURCE_DIR,
	    name);
	return buf;
}

/* What the example policy decides for a fixture: the oracle. */
static enum verdict_kind
expected_verdict(const char *file)
{
	struct policy *p = NULL;
	struct cfg_directory *dir = NULL;
	struct cfg_diags dg;
	struct request r;
	struct verdict v;
	char *text = cu_slurp(file, NULL), *err = NULL;

	memset(&dg, 0, sizeof(dg));
	memset(&r, 0, sizeof(r));
	CU_ASSERT_FATAL(text != NULL);
	CU_ASSERT_FATAL(policy_load_file(policy_path, &p, &dg) == 0);
	CU_ASSERT_FATAL(request_from_json(text, strlen(text),
	                    REQ_SRC_PERMISSIONS, &r, &err) == 0);
	/* As the daemon does: the identity resolved against the tenant. */
	CU_ASSERT_FATAL(cfg_directory_load(fixture_path, &dir, &err) == 0);
	cfg_directory_resolve(dir, &r);
	policy_evaluate(p, &r, (int64_t)time(NULL), NULL, NULL, &v, NULL);
	request_free(&r);
	cfg_directory_free(dir);
	policy_free(p);
	cfg_diags_free(&dg);
	free(text);
	return v.kind;
}

static const char *
settled_state(enum verdict_kind k)
{
	switch (k) {
	case VERDICT_APPROVE:
		return "approved";
	case VERDICT_REJECT:
		return "rejected";
	case VERDICT_STAGES:
		return "pending";
	default:
		return "ignored";
	}
}

static int
setup(void)
{
	snprintf(policy_path, sizeof(policy_path), "%s",
	    cu_srcpath("tests/integration/flow-policy.yaml"));
	snprintf(fixture_path, sizeof(fixture_path), "%s",
	    cu_srcpath("examples/demo-tenant.json"));
	return 0;
}

struct settle {
	struct ad *a;
	struct seed *s;
	size_t n;
};

/* Every seed request reached its settled state (approved may complete). */
static int
all_settled(void *arg)
{
	struct settle *st = arg;
	char key[256], *state;
	size_t i;
	int ok = 1;

	for (i = 0; i < st->n && ok; i++) {
		snprintf(key, sizeof(key), "permissions:%s", st->s[i].id);
		state = ad_state(st->a, key);
		ok = state != NULL &&
		     (strcmp(state, st->s[i].expect_state) == 0 ||
		         (strcmp(st->s[i].expect_state, "approved") == 0 &&
		             strcmp(state, "completed") == 0));
		free(state);
	}
	return ok;
}

/* Exactly one matching Graph decision per decided request, none else. */
static void
assert_truth(struct emu *e, struct seed *s, size_t n)
{
	size_t i;
	int ap, dn, cn, want_total = 0;

	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL_FATAL(
		    emu_truth_counts(e, s[i].id, &ap, &dn, &cn), 0);
		CU_ASSERT_EQUAL(ap, s[i].expect == VERDICT_APPROVE ? 1 : 0);
		CU_ASSERT_EQUAL(dn, s[i].expect == VERDICT_REJECT ? 1 : 0);
		CU_ASSERT_EQUAL(cn, 0);
		want_total += (s[i].expect == VERDICT_APPROVE ||
		               s[i].expect == VERDICT_REJECT);
	}
	CU_ASSERT_EQUAL(emu_truth_total(e), want_total);
}

static void
create_seeds(struct emu *e, struct seed *s)
{
	size_t i;

	for (i = 0; i < NSEED; i++) {
		s[i].expect = expected_verdict(req_path(seed_files[i]));
		s[i].expect_state = settled_state(s[i].expect);
		s[i].id =
		    emu_create(e, "alex@contoso.com", req_path(seed_files[i]));
		CU_ASSERT_PTR_NOT_NULL_FATAL(s[i].id);
	}
}

static void
free_seeds(struct seed *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(s[i].id);
}

/* The example policy must exercise approve, reject and a non-decision. */
static void
test_oracle_covers_kinds(void)
{
	int seen[VERDICT_MAX] = { 0 };
	size_t i;

	for (i = 0; i < NSEED; i++)
		seen[expected_verdict(req_path(seed_files[i]))]++;
	CU_ASSERT(seen[VERDICT_APPROVE] >= 1);
	CU_ASSERT(seen[VERDICT_REJECT] >= 1);
	CU_ASSERT(seen[VERDICT_STAGES] + seen[VERDICT_IGNORE] >= 1);
}

#define REQUESTS_PATH                                                          \
	"/beta/identityGovernance/permissionsManagement/"                      \
	"scheduledPermissionsRequests"

/* Over the emulator's call log, GETs of the request listing: how many
 * asked for several ids at once (`bulk`), the most ids in one (`most`),
 * and how many came after the first 400 (`after400`, bulk ones only;
 * -1 when there was no 400). */
static void
listing_calls(struct emu *e, int *bulk, int *most, int *after400)
{
	struct json_object *log, *calls, *c, *v;
	size_t i, n;
	int ids, seen400 = 0;

	*bulk = *most = *after400 = 0;
	log = emu_json(e, "GET", "/_emulator/log", NULL, NULL);
	CU_ASSERT_FATAL(
	    log != NULL && json_object_object_get_ex(log, "calls", &calls));
	n = json_object_array_length(calls);
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(calls, i);
		if (!json_object_object_get_ex(c, "path", &v) ||
		    strcmp(json_object_get_string(v), REQUESTS_PATH) != 0)
			continue;
		ids = json_object_object_get_ex(c, "filterIds", &v)
		          ? json_object_get_int(v)
		          : 0;
		if (ids > 1) {
			(*bulk)++;
			if (seen400)
				(*after400)++;
		}
		if (ids > *most)
			*most = ids;
		if (json_object_object_get_ex(c, "status", &v) &&
		    json_object_get_int(v) == 400)
			seen400 = 1;
	}
	if (!seen400)
		*after400 = -1;
	json_object_put(log);
}

static void
test_flow(void)
{
	struct emu e;
	struct ad a;
	struct seed s[NSEED];
	struct settle st = { &a, s, NSEED };

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	create_seeds(&e, s);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, NULL) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT(ad_wait_ready(&a, 20000) == 0);
	CU_ASSERT(h_until(all_settled, &st, 30000) == 0);
	assert_truth(&e, s, NSEED);
	/* The seeds, new on one changes page, were fetched in one call.
	 * (Their intents are no longer committed together: each request is
	 * decided when its identity lookup is in, so the read-backs come in
	 * as many batches as there were answers.) */
	{
		int bulk, most, after400;

		listing_calls(&e, &bulk, &most, &after400);
		CU_ASSERT(bulk >= 1);
		CU_ASSERT_EQUAL(most, NSEED);
	}
	/* A clean stop exits 0. */
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free_seeds(s, NSEED);
	emu_stop(&e);
}

/* Crash at a labelled step, restart, and nothing is lost or doubled. */
static void
crash_at(const char *label, int second_label)
{
	struct emu e;
	struct ad a;
	struct seed s[NSEED];
	struct settle st = { &a, s, NSEED };
	int status;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	create_seeds(&e, s);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, NULL) == 0);
	snprintf(a.extra_env, sizeof(a.extra_env), "APPROVALD_CRASH_AT=%s:1",
	    second_label ? "intent-committed" : label);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	status = h_wait_exit(&a.p, 30000);
	CU_ASSERT(
	    status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	if (second_label) {
		/* The restart dies in the middle of reconciling. */
		snprintf(a.extra_env, sizeof(a.extra_env),
		    "APPROVALD_CRASH_AT=%s:1", label);
		CU_ASSERT_FATAL(ad_start(&a) == 0);
		status = h_wait_exit(&a.p, 30000);
		CU_ASSERT(status != -1 && WIFSIGNALED(status) &&
		          WTERMSIG(status) == SIGKILL);
	}
	a.extra_env[0] = '\0';
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT(h_until(all_settled, &st, 30000) == 0);
	assert_truth(&e, s, NSEED);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free_seeds(s, NSEED);
	emu_stop(&e);
}

static void
test_crash_intent_committed(void)
{
	crash_at("intent-committed", 0);
}

static void
test_crash_patch_sent(void)
{
	crash_at("patch-sent", 0);
}

static void
test_crash_reply_received(void)
{
	crash_at("reply-received", 0);
}

static void
test_crash_mid_reconcile(void)
{
	crash_at("reconcile", 1);
}

/* One fault, then the same assertions; the emulator is handed back
 * running (*keep) for more checks, or stopped. */
static void
fault_case_keep(const char *fault, const char *extra_yaml, struct emu **keep)
{
	struct emu *ep = calloc(1, sizeof(*ep));
	struct emu e;
	struct ad a;
	struct seed s[NSEED];
	struct settle st = { &a, s, NSEED };
	struct json_object *o;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(emu_fault(&e, fault) == 0);
	create_seeds(&e, s);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, extra_yaml) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT(h_until(all_settled, &st, 60000) == 0);
	assert_truth(&e, s, NSEED);
	/* Still running and answering. */
	o = ad_ctl(&a, "status");
	CU_ASSERT_PTR_NOT_NULL(o);
	json_object_put(o);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free_seeds(s, NSEED);
	if (keep != NULL && ep != NULL) {
		*ep = e;
		*keep = ep;
		return;
	}
	free(ep);
	emu_stop(&e);
}

static void
fault_case(const char *fault, const char *extra_yaml)
{
	fault_case_keep(fault, extra_yaml, NULL);
}

#define STEPS_GLOB                                                             \
	"/beta/identityGovernance/permissionsManagement/"                      \
	"scheduledPermissionsApprovals/*/steps/*"
#define CHANGES_GLOB                                                           \
	"/beta/identityGovernance/permissionsManagement/"                      \
	"permissionsRequestChanges*"

static void
test_fault_patch_500(void)
{
	fault_case("{\"method\":\"PATCH\",\"path\":\"" STEPS_GLOB
	           "\",\"kind\":\"status\",\"status\":500,\"count\":2}",
	    NULL);
}

static void
test_fault_patch_503_retry_after(void)
{
	fault_case("{\"method\":\"PATCH\",\"path\":\"" STEPS_GLOB
	           "\",\"kind\":\"status\",\"status\":503,"
	           "\"retryAfter\":\"0.5\",\"count\":2}",
	    NULL);
}

/* Seconds since the epoch, with fraction, of an emulator log time. */
static double
log_time(struct json_object *call)
{
	struct json_object *v;
	const char *t, *dot;
	double frac = 0;

	if (!json_object_object_get_ex(call, "time", &v))
		return -1;
	t = json_object_get_string(v);
	if ((dot = strchr(t, '.')) != NULL)
		frac = strtod(dot, NULL);
	return (double)cfg_parse_timestamp(t) + frac;
}

/* After a 429 with Retry-After 1.5, Graph saw no call before it elapsed. */
static void
test_fault_patch_429(void)
{
	struct emu *e = NULL;

	fault_case_keep("{\"method\":\"PATCH\",\"path\":\"" STEPS_GLOB
	                "\",\"kind\":\"status\",\"status\":429,"
	                "\"retryAfter\":\"1.5\",\"count\":1}",
	    NULL, &e);
	if (e != NULL) {
		struct json_object *log, *calls, *c, *v;
		double t429 = -1, t;
		size_t i, n, early = 0, later = 0;

		log = emu_json(e, "GET", "/_emulator/log", NULL, NULL);
		CU_ASSERT_FATAL(log != NULL && json_object_object_get_ex(
		                                   log, "calls", &calls));
		n = json_object_array_length(calls);
		/* Calls within 100 ms of the 429 were already in flight when
		 * it arrived; any later call before 1.5 s breaks the gate. */
		for (i = 0; i < n; i++) {
			c = json_object_array_get_idx(calls, i);
			json_object_object_get_ex(c, "status", &v);
			t = log_time(c);
			if (t429 < 0 && json_object_get_int(v) == 429)
				t429 = t;
			else if (t429 >= 0 && t - t429 >= 0.1 && t - t429 < 1.5)
				early++;
			else if (t429 >= 0 && t - t429 >= 1.5)
				later++;
		}
		CU_ASSERT(t429 > 0);
		CU_ASSERT_EQUAL(early, 0);
		CU_ASSERT(later > 0);
		json_object_put(log);
		emu_stop(e);
		free(e);
	}
}

/* How many calls the first fault hit. */
static long
fault_hits(struct emu *e)
{
	struct json_object *o, *a, *v;
	long hits = -1;

	o = emu_json(e, "GET", "/_emulator/faults", NULL, NULL);
	if (o != NULL && json_object_object_get_ex(o, "faults", &a) &&
	    json_object_array_length(a) > 0 &&
	    json_object_object_get_ex(
	        json_object_array_get_idx(a, 0), "hits", &v))
		hits = (long)json_object_get_int64(v);
	json_object_put(o);
	return hits;
}

/* More throttled answers than any attempt budget (10 a request, NSEED
 * requests at most): every one is waited out, none uses an attempt, and
 * once Graph takes calls again each request is decided exactly once
 * (assert_truth), none left in attention (all_settled). */
#define THROTTLED_PATCHES (11 * NSEED)

static void
throttled_case(const char *fault)
{
	struct emu *e = NULL;

	fault_case_keep(fault, NULL, &e);
	if (e != NULL) {
		CU_ASSERT_EQUAL(fault_hits(e), THROTTLED_PATCHES);
		emu_stop(e);
		free(e);
	}
}

static void
test_fault_patch_429_many(void)
{
	char f[512];

	snprintf(f, sizeof(f),
	    "{\"method\":\"PATCH\",\"path\":\"" STEPS_GLOB
	    "\",\"kind\":\"status\",\"status\":429,"
	    "\"retryAfter\":\"0\",\"count\":%d}",
	    THROTTLED_PATCHES);
	throttled_case(f);
}

/* The same with 503 and Retry-After as an HTTP-date (in the past: at
 * once; unparsed it would back off for minutes). */
static void
test_fault_patch_503_many_http_date(void)
{
	char f[512];

	snprintf(f, sizeof(f),
	    "{\"method\":\"PATCH\",\"path\":\"" STEPS_GLOB
	    "\",\"kind\":\"status\",\"status\":503,"
	    "\"retryAfter\":\"Wed, 21 Oct 2015 07:28:00 GMT\","
	    "\"count\":%d}",
	    THROTTLED_PATCHES);
	throttled_case(f);
}

/* 200 with a body, not applied: not Graph's 204, so an unknown outcome;
 * the daemon reads back, finds the step undecided and decides it again,
 * once (assert_truth counts the decisions Graph applied). */
static void
test_fault_patch_200_not_applied(void)
{
	struct emu *e = NULL;

	fault_case_keep("{\"method\":\"PATCH\",\"path\":\"" STEPS_GLOB
	                "\",\"kind\":\"not_applied\",\"status\":200,"
	                "\"count\":2}",
	    NULL, &e);
	if (e != NULL) {
		CU_ASSERT_EQUAL(fault_hits(e), 2);
		emu_stop(e);
		free(e);
	}
}

static void
test_fault_patch_reset(void)
{
	fault_case("{\"method\":\"PATCH\",\"path\":\"" STEPS_GLOB
	           "\",\"kind\":\"reset\",\"count\":2}",
	    NULL);
}

static void
test_fault_patch_applied_then_reset(void)
{
	fault_case("{\"method\":\"PATCH\",\"path\":\"" STEPS_GLOB
	           "\",\"kind\":\"apply_then_reset\",\"count\":2}",
	    NULL);
}

static void
test_fault_patch_409(void)
{
	fault_case("{\"method\":\"PATCH\",\"path\":\"" STEPS_GLOB
	           "\",\"kind\":\"status\",\"status\":409,\"count\":1}",
	    NULL);
}

static void
test_fault_patch_slow(void)
{
	fault_case("{\"method\":\"PATCH\",\"path\":\"" STEPS_GLOB
	           "\",\"kind\":\"delay\",\"delayMs\":7000,\"count\":1}",
	    NULL);
}

/* Graph refuses a filter on several ids: each request is fetched alone
 * from then on, and every one is still decided once. */
static void
test_fault_bulk_refused(void)
{
	struct emu *e = NULL;
	int bulk, most, after400;

	fault_case_keep("{\"method\":\"GET\",\"path\":\"" REQUESTS_PATH
	                "\",\"kind\":\"status\",\"status\":400,"
	                "\"count\":1}",
	    NULL, &e);
	if (e != NULL) {
		listing_calls(e, &bulk, &most, &after400);
		CU_ASSERT_EQUAL(after400, 0);
		emu_stop(e);
		free(e);
	}
}

static void
test_fault_changes_truncated(void)
{
	fault_case("{\"method\":\"GET\",\"path\":\"" CHANGES_GLOB
	           "\",\"kind\":\"truncate\",\"count\":2}",
	    NULL);
}

static void
test_fault_changes_malformed(void)
{
	fault_case("{\"method\":\"GET\",\"path\":\"" CHANGES_GLOB
	           "\",\"kind\":\"malformed\",\"count\":2}",
	    NULL);
}

static void
test_fault_changes_500(void)
{
	fault_case("{\"method\":\"GET\",\"path\":\"" CHANGES_GLOB
	           "\",\"kind\":\"status\",\"status\":500,\"count\":3}",
	    NULL);
}

static void
test_fault_token_401(void)
{
	fault_case("{\"method\":\"GET\",\"path\":\"" CHANGES_GLOB
	           "\",\"kind\":\"status\",\"status\":401,\"count\":1}",
	    NULL);
}

/* A human approved in Entra before approvald saw the request. */
static void
test_decided_elsewhere(void)
{
	struct emu e;
	struct ad a;
	struct seed s[NSEED];
	struct settle st = { &a, s, NSEED };
	struct json_object *o, *v, *steps, *step;
	char path[512], body[256], *tok = NULL;
	long status;
	size_t i;
	int ap, dn, cn;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	create_seeds(&e, s);
	/* Morgan denies every request in Entra first. */
	o = emu_json(&e, "POST", "/_emulator/token",
	    "{\"user\":\"morgan@contoso.com\"}", &status);
	CU_ASSERT_FATAL(
	    o != NULL && json_object_object_get_ex(o, "access_token", &v));
	tok = strdup(json_object_get_string(v));
	json_object_put(o);
	for (i = 0; i < NSEED; i++) {
		char url[1200], *resp = NULL;

		snprintf(path, sizeof(path),
		    "/beta/identityGovernance/permissionsManagement/"
		    "scheduledPermissionsApprovals/%s/steps",
		    s[i].id);
		snprintf(url, sizeof(url), "%s%s", e.url, path);
		CU_ASSERT_EQUAL(
		    h_http(e.ca, "GET", url, tok, NULL, &resp), 200);
		o = resp ? json_tokener_parse(resp) : NULL;
		free(resp);
		CU_ASSERT_FATAL(o != NULL &&
		                json_object_object_get_ex(o, "value", &steps) &&
		                json_object_array_length(steps) >= 1);
		step = json_object_array_get_idx(steps, 0);
		json_object_object_get_ex(step, "id", &v);
		snprintf(url, sizeof(url), "%s%s/%s", e.url, path,
		    json_object_get_string(v));
		snprintf(body, sizeof(body),
		    "{\"reviewResult\":\"Deny\",\"justification\":\"no\"}");
		CU_ASSERT_EQUAL(
		    h_http(e.ca, "PATCH", url, tok, body, NULL), 204);
		json_object_put(o);
		s[i].expect_state = "rejected";
	}
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, NULL) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT(h_until(all_settled, &st, 30000) == 0);
	/* Graph saw only Morgan's decisions: approvald sent none. */
	for (i = 0; i < NSEED; i++) {
		CU_ASSERT_EQUAL(
		    emu_truth_counts(&e, s[i].id, &ap, &dn, &cn), 0);
		CU_ASSERT_EQUAL(ap, 0);
		CU_ASSERT_EQUAL(dn, 1);
	}
	CU_ASSERT_EQUAL(emu_truth_total(&e), NSEED);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(tok);
	free_seeds(s, NSEED);
	emu_stop(&e);
}

/* Secrets never appear in any log or in the state file. */
static void
test_secret_canary(void)
{
	struct emu e;
	struct ad a;
	struct seed s[NSEED];
	struct settle st = { &a, s, NSEED };
	char path[700], *secret, *refresh, *text;
	const char *files[] = { "approvald.log", "state.db", "state.db-wal",
		"approvald.yaml" };
	size_t i, len;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	create_seeds(&e, s);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, NULL) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT(h_until(all_settled, &st, 30000) == 0);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	snprintf(path, sizeof(path), "%s/client-secret", a.dir);
	secret = cu_slurp(path, NULL);
	snprintf(path, sizeof(path), "%s/approver-token", a.dir);
	refresh = cu_slurp(path, NULL);
	CU_ASSERT_FATAL(secret != NULL && refresh != NULL &&
	                strlen(secret) >= 8 && strlen(refresh) >= 8);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", a.dir, files[i]);
		if ((text = cu_slurp(path, &len)) == NULL)
			continue;
		CU_ASSERT_PTR_NULL(memmem(text, len, secret, strlen(secret)));
		CU_ASSERT_PTR_NULL(memmem(text, len, refresh, strlen(refresh)));
		free(text);
	}
	free(secret);
	free(refresh);
	free_seeds(s, NSEED);
	emu_stop(&e);
}

/* A second daemon on the same state file refuses to start. */
static void
test_single_instance(void)
{
	struct emu e;
	struct ad a, b;
	int status;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, NULL) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT(ad_wait_ready(&a, 20000) == 0);
	b = a;
	memset(&b.p, 0, sizeof(b.p));
	snprintf(b.p.log, sizeof(b.p.log), "%s", a.p.log);
	CU_ASSERT_FATAL(ad_start(&b) == 0);
	status = h_wait_exit(&b.p, 10000);
	CU_ASSERT(
	    status != -1 && WIFEXITED(status) && WEXITSTATUS(status) != 0);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	emu_stop(&e);
}

/* Kill -9 at random moments under load, 50 times; then nothing is lost
 * and Graph saw exactly one decision per decided request. */
#define CHAOS_REQUESTS 300
#define CHAOS_KILLS    50

static const char *const chaos_kinds[] = { "aws-policy", "aws-action",
	"azure-role" };
static const char *const chaos_files[] = {
	"permissions-request-aws-policy.json",
	"permissions-request-aws-action.json",
	"permissions-request-azure-role.json",
};

struct chaos {
	struct ad *a;
	size_t want;
};

static int
chaos_all_known_and_settled(void *arg)
{
	struct chaos *c = arg;
	struct json_object *o = ad_ctl(c->a, "list"), *r, *v;
	size_t i, n, settled = 0;
	const char *st;

	if (o == NULL)
		return 0;
	n = json_object_array_length(o);
	for (i = 0; i < n; i++) {
		r = json_object_array_get_idx(o, i);
		if (!json_object_object_get_ex(r, "state", &v))
			continue;
		st = json_object_get_string(v);
		if (strcmp(st, "approved") == 0 ||
		    strcmp(st, "completed") == 0 ||
		    strcmp(st, "rejected") == 0 || strcmp(st, "pending") == 0)
			settled++;
	}
	json_object_put(o);
	return settled == c->want;
}

static void
test_chaos_kill_loop(void)
{
	struct emu e;
	struct ad a;
	struct json_object *o, *ids, *v;
	enum verdict_kind expect[3];
	char body[256];
	unsigned seed = 20261122;
	size_t i, k, n;
	int status, kills = 0, ap, dn, cn, want_total = 0;
	struct chaos c = { &a, CHAOS_REQUESTS };

	for (k = 0; k < 3; k++)
		expect[k] = expected_verdict(req_path(chaos_files[k]));
	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	snprintf(body, sizeof(body),
	    "{\"count\":%d,\"requestor\":\"alex@contoso.com\",\"kinds\":"
	    "[\"%s\",\"%s\",\"%s\"]}",
	    CHAOS_REQUESTS, chaos_kinds[0], chaos_kinds[1], chaos_kinds[2]);
	o = emu_json(&e, "POST", "/_emulator/generate", body, NULL);
	CU_ASSERT_FATAL(o != NULL && json_object_object_get_ex(o, "ids", &ids));
	n = json_object_array_length(ids);
	CU_ASSERT_EQUAL_FATAL(n, CHAOS_REQUESTS);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, NULL) == 0);
	for (i = 0; i < CHAOS_KILLS; i++) {
		CU_ASSERT_FATAL(ad_start(&a) == 0);
		/* Die anywhere from start-up to full speed (seeded). */
		poll(NULL, 0, (int)(rand_r(&seed) % 250));
		status = ad_stop(&a, SIGKILL);
		if (status != -1 && WIFSIGNALED(status))
			kills++;
	}
	CU_ASSERT(kills >= CHAOS_KILLS);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT(h_until(chaos_all_known_and_settled, &c, 120000) == 0);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(ids, i);
		CU_ASSERT_EQUAL(emu_truth_counts(&e, json_object_get_string(v),
		                    &ap, &dn, &cn),
		    0);
		CU_ASSERT_EQUAL(ap, expect[i % 3] == VERDICT_APPROVE ? 1 : 0);
		CU_ASSERT_EQUAL(dn, expect[i % 3] == VERDICT_REJECT ? 1 : 0);
		CU_ASSERT_EQUAL(cn, 0);
		want_total += expect[i % 3] == VERDICT_APPROVE ||
		              expect[i % 3] == VERDICT_REJECT;
	}
	CU_ASSERT_EQUAL(emu_truth_total(&e), want_total);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	json_object_put(o);
	emu_stop(&e);
}

static const struct cu_test chaos_tests[] = {
	{ "50 random SIGKILLs under load", test_chaos_kill_loop },
	{ NULL, NULL },
};

/* approvalctl login: device-code sign-in stores a 0600 refresh token that
 * approvald then approves with. */
static void
test_login(void)
{
	struct emu e;
	struct ad a;
	struct proc lp;
	struct seed s[NSEED];
	struct settle st = { &a, s, NSEED };
	struct stat sb;
	char bin[700], log[700], tokpath[700], line[256], body[512];
	char *argv[5];
	long status;
	int ws;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, NULL) == 0);
	snprintf(tokpath, sizeof(tokpath), "%s/approver-token", a.dir);
	CU_ASSERT_FATAL(unlink(tokpath) == 0);
	snprintf(bin, sizeof(bin), "%s", cu_buildpath("ctl/approvalctl"));
	snprintf(log, sizeof(log), "%s/login.log", a.dir);
	argv[0] = bin;
	argv[1] = "login";
	argv[2] = "--config";
	argv[3] = a.conf;
	argv[4] = NULL;
	memset(&lp, 0, sizeof(lp));
	CU_ASSERT_FATAL(h_spawn(&lp, argv, NULL, log) == 0);
	CU_ASSERT_FATAL(
	    h_wait_line(&lp, "user_code: ", line, sizeof(line), 20000) == 0);
	snprintf(body, sizeof(body),
	    "{\"user_code\":\"%s\",\"user\":\"approvald@contoso.com\"}",
	    line + strlen("user_code: "));
	json_object_put(
	    emu_json(&e, "POST", "/_emulator/devicecode", body, &status));
	CU_ASSERT(status >= 200 && status < 300);
	ws = h_wait_exit(&lp, 30000);
	CU_ASSERT(ws != -1 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	CU_ASSERT_FATAL(stat(tokpath, &sb) == 0);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
	CU_ASSERT(sb.st_size > 0);
	/* The daemon decides with the signed-in account. */
	create_seeds(&e, s);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT(h_until(all_settled, &st, 30000) == 0);
	assert_truth(&e, s, NSEED);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free_seeds(s, NSEED);
	emu_stop(&e);
}

static const struct cu_test flow_tests[] = {
	{ "oracle covers approve, reject, no decision",
	    test_oracle_covers_kinds },
	{ "seed requests flow to their verdicts, once", test_flow },
	{ "decided in Entra first: recorded, not acted on",
	    test_decided_elsewhere },
	{ "second daemon on the same state refuses", test_single_instance },
	{ "secrets never in logs or state", test_secret_canary },
	{ "approvalctl login stores a usable 0600 refresh token", test_login },
	{ NULL, NULL },
};

static const struct cu_test crash_tests[] = {
	{ "after intent commit", test_crash_intent_committed },
	{ "after PATCH sent, before reply", test_crash_patch_sent },
	{ "after reply, before commit", test_crash_reply_received },
	{ "mid-reconcile", test_crash_mid_reconcile },
	{ NULL, NULL },
};

static const struct cu_test fault_tests[] = {
	{ "PATCH 500", test_fault_patch_500 },
	{ "PATCH 503 with Retry-After", test_fault_patch_503_retry_after },
	{ "PATCH 429 with fractional Retry-After", test_fault_patch_429 },
	{ "PATCH 429 more often than any attempt budget",
	    test_fault_patch_429_many },
	{ "PATCH 503, Retry-After an HTTP-date, beyond the budget",
	    test_fault_patch_503_many_http_date },
	{ "PATCH 200 not applied: read back, decided once",
	    test_fault_patch_200_not_applied },
	{ "PATCH reset", test_fault_patch_reset },
	{ "PATCH applied, answer reset", test_fault_patch_applied_then_reset },
	{ "PATCH 409", test_fault_patch_409 },
	{ "PATCH slower than the client timeout", test_fault_patch_slow },
	{ "changes truncated", test_fault_changes_truncated },
	{ "several-id fetch refused: one by one", test_fault_bulk_refused },
	{ "changes malformed", test_fault_changes_malformed },
	{ "changes 500", test_fault_changes_500 },
	{ "401 forces one token refresh", test_fault_token_401 },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "flow", setup, NULL, flow_tests },
	{ "crash", setup, NULL, crash_tests },
	{ "faults", setup, NULL, fault_tests },
	{ "chaos", setup, NULL, chaos_tests },
	{ NULL, NULL, NULL, NULL },
};
