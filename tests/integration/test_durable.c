/*
 * Issue 14, reliability under faults, end to end on loopback against the
 * real graph-emulator, asserting on its ground truth:
 *
 * - intake: a change dated 2999 does not poison the watermark; a decision
 *   call whose connection dies unanswered is never resent by the
 *   transport, only read back;
 * - store: one daemon per state database whatever name reaches it
 *   (symlink, hard link); a damaged database is refused at start; a full
 *   disk degrades the daemon (/readyz 503) and it recovers by itself,
 *   every decision made exactly once.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cu.h"
#include "harness.h"
#include "hookutil.h"

static char policy_path[600];
static char fixture_path[600];

#define REQUESTOR "alex@contoso.com"
#define HTTP_YAML "http:\n  listen: 127.0.0.1:0\n"
#define STEPS_PREFIX                                                           \
	"/beta/identityGovernance/permissionsManagement/"                      \
	"scheduledPermissionsApprovals/"
#define STEPS_GLOB STEPS_PREFIX "*/steps/*"

static int
setup(void)
{
	snprintf(fixture_path, sizeof(fixture_path), "%s",
	    cu_srcpath("examples/demo-tenant.json"));
	snprintf(policy_path, sizeof(policy_path), "%s/approve-all.yaml",
	    h_tmpdir());
	return h_write_file(policy_path,
	    "version: 1\n"
	    "rules:\n"
	    "  - name: approve-all\n"
	    "    when: { source: permissions }\n"
	    "    decide: approve\n"
	    "    reason: every request is approved in this test\n"
	    "default:\n"
	    "  decide: ignore\n",
	    0600);
}

/* The Graph id of a daemon key "permissions:<id>". */
static const char *
gid(const char *key)
{
	const char *c = strchr(key, ':');

	return c != NULL ? c + 1 : key;
}

/* Does the daemon's log contain `text`? */
static int
log_has(struct ad *a, const char *text)
{
	char *log = cu_slurp(a->p.log, NULL);
	int found = log != NULL && strstr(log, text) != NULL;

	free(log);
	return found;
}

/* Every key in `keys` approved on Graph exactly once, nothing else. */
static void
assert_approved_once(struct emu *e, char **keys, size_t n)
{
	size_t i;
	int ap, dn, cn;

	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL_FATAL(
		    emu_truth_counts(e, gid(keys[i]), &ap, &dn, &cn), 0);
		CU_ASSERT_EQUAL(ap, 1);
		CU_ASSERT_EQUAL(dn, 0);
		CU_ASSERT_EQUAL(cn, 0);
	}
}

static void
free_keys(char **keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(keys[i]);
}

/* ---- intake ----------------------------------------------------------- */

struct metric_wait {
	int port;
	const char *series;
	double min;
};

static int
metric_reached(void *arg)
{
	struct metric_wait *mw = arg;

	return metric0(mw->port, mw->series) >= mw->min;
}

/*
 * One change dated 2999 used to set the watermark to 2998: every later
 * change was filtered out and intake stopped. Now it is counted, logged,
 * kept out of the watermark, and a request created afterwards is still
 * taken in and decided.
 */
static void
test_watermark_future_change(void)
{
	struct emu e;
	struct ad a;
	struct metric_wait mw;
	char *keys[2] = { NULL, NULL }, body[256];
	struct json_object *o;
	long st;
	int port;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, HTTP_YAML) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	CU_ASSERT_FATAL((port = ad_port(&a)) > 0);
	keys[0] = emu_create_tagged(&e, "before the skewed change", REQUESTOR);
	CU_ASSERT_FATAL(keys[0] != NULL);
	CU_ASSERT(ad_wait_state(&a, keys[0], "approved", 20000) == 0);

	/* Graph serves a change record for it dated 2999. */
	snprintf(body, sizeof(body),
	    "{\"requestId\":\"%s\","
	    "\"modificationDateTime\":\"2999-01-01T00:00:00Z\"}",
	    gid(keys[0]));
	o = emu_json(&e, "POST", "/_emulator/changes", body, &st);
	json_object_put(o);
	CU_ASSERT_EQUAL_FATAL(st, 204);
	/* Two poll cycles start after it: one whole cycle saw it. */
	mw.port = port;
	mw.series = "approvald_poll_cycles_total{source=\"permissions\"}";
	CU_ASSERT_FATAL((mw.min = metric0(port, mw.series)) >= 0);
	mw.min += 2;
	CU_ASSERT_FATAL(h_until(metric_reached, &mw, 20000) == 0);

	/* A request created afterwards is taken in and decided, once. */
	keys[1] = emu_create_tagged(&e, "after the skewed change", REQUESTOR);
	CU_ASSERT_FATAL(keys[1] != NULL);
	CU_ASSERT(ad_wait_state(&a, keys[1], "approved", 20000) == 0);
	/* The skewed change was counted and logged. */
	CU_ASSERT(metric0(port, "approvald_poll_implausible_times_total"
	                        "{source=\"permissions\"}") >= 1);
	CU_ASSERT(log_has(&a, "implausible modificationDateTime"));
	assert_approved_once(&e, keys, 2);
	CU_ASSERT_EQUAL(emu_truth_total(&e), 2);
	/* The durable watermark is not in the future. */
	CU_ASSERT_EQUAL(sql_count(a.state,
	                    "SELECT CAST(strftime('%s', value) AS INTEGER) <="
	                    " CAST(strftime('%s', 'now') AS INTEGER) + 300"
	                    " FROM meta WHERE key = 'watermark:permissions'"),
	    1);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free_keys(keys, 2);
	emu_stop(&e);
}

/* PATCHes to approval steps in the emulator's call log, answered or not. */
static int
step_patches(struct emu *e)
{
	struct json_object *log, *calls, *c, *v;
	size_t i, n;
	int count = 0;

	log = emu_json(e, "GET", "/_emulator/log", NULL, NULL);
	if (log == NULL || !json_object_object_get_ex(log, "calls", &calls)) {
		json_object_put(log);
		return -1;
	}
	n = json_object_array_length(calls);
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(calls, i);
		if (!json_object_object_get_ex(c, "method", &v) ||
		    strcmp(json_object_get_string(v), "PATCH") != 0 ||
		    !json_object_object_get_ex(c, "path", &v) ||
		    strncmp(json_object_get_string(v), STEPS_PREFIX,
		        strlen(STEPS_PREFIX)) != 0)
			continue;
		count++;
	}
	json_object_put(log);
	return count;
}

#define RESEND_REQUESTS 3

/*
 * Graph applies a decision PATCH and the connection dies before it
 * answers. libcurl used to send the PATCH again by itself on a fresh
 * connection ("Connection died, retrying a fresh connect") when the dead
 * connection was a reused one. Now Graph receives exactly one PATCH per
 * decision and the daemon learns the outcome by reading back.
 */
static void
test_no_blind_resend(void)
{
	struct emu e;
	struct ad a;
	char *keys[RESEND_REQUESTS], tag[64];
	size_t i;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(
	    emu_fault(&e,
	        "{\"method\":\"PATCH\",\"path\":\"" STEPS_GLOB
	        "\",\"kind\":\"apply_then_reset\",\"count\":2}") == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, NULL) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	/* One at a time: each PATCH follows reads on a kept-alive
	 * connection, the case where libcurl resent. */
	for (i = 0; i < RESEND_REQUESTS; i++) {
		snprintf(tag, sizeof(tag), "resend %zu", i);
		keys[i] = emu_create_tagged(&e, tag, REQUESTOR);
		CU_ASSERT_FATAL(keys[i] != NULL);
		CU_ASSERT(ad_wait_state(&a, keys[i], "approved", 30000) == 0);
	}
	assert_approved_once(&e, keys, RESEND_REQUESTS);
	CU_ASSERT_EQUAL(emu_truth_total(&e), RESEND_REQUESTS);
	CU_ASSERT_EQUAL(step_patches(&e), RESEND_REQUESTS);
	CU_ASSERT(!log_has(&a, "Connection died"));
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free_keys(keys, RESEND_REQUESTS);
	emu_stop(&e);
}

static const struct cu_test intake_tests[] = {
	{ "a change dated 2999 does not stop intake",
	    test_watermark_future_change },
	{ "a decision whose connection dies is read back, never resent",
	    test_no_blind_resend },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "intake", setup, NULL, intake_tests },
	{ NULL, NULL, NULL, NULL },
};
