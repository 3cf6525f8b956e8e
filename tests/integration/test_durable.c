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
 *   every decision made exactly once;
 * - decide: `approvalctl decide` is acknowledged only once the decision is
 *   committed: a crash before the commit leaves nothing recorded and no
 *   "ok", a crash after it is applied once, a full disk is a refusal;
 * - attention: read-backs that keep failing stop after EXEC_READBACK_MAX
 *   tries with the reason recorded, and `approvalctl retry` drives the
 *   request again, audited, exactly once on Graph (issue 13 item 9).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cu.h"
#include "harness.h"
#include "hookutil.h"
#include "version.h"

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

/* A failed Graph call logged with the emulator's request-id and our
 * client-request-id (both GUIDs: 36 characters, never "-"). */
static int
failure_logged(void *arg)
{
	char *log = cu_slurp(((struct ad *)arg)->p.log, NULL), *p, *q;
	int found = 0;

	for (p = log; p != NULL && (p = strstr(p, "(request-id ")) != NULL;
	     p++) {
		q = strstr(p, ", client-request-id ");
		if (q != NULL && q - p == 12 + 36 && q[20] != '-' &&
		    strlen(q) >= 20 + 36 && q[20 + 36] == ')') {
			found = 1;
			break;
		}
	}
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

/* ---- store ------------------------------------------------------------ */

/* A second daemon, state.db reached as `name` (a link in a's folder):
 * refused, exit non-zero, naming the holder's pid. */
static void
second_refused(struct ad *a, const char *name)
{
	struct ad b;
	char conf[600], from[64], to[700], want[256];
	char *text;
	int status;

	text = cu_slurp(a->conf, NULL);
	CU_ASSERT_FATAL(text != NULL);
	snprintf(conf, sizeof(conf), "%s/second-%s.yaml", a->dir, name);
	CU_ASSERT_FATAL(h_write_file(conf, text, 0600) == 0);
	free(text);
	snprintf(to, sizeof(to), "state: %s", name);
	CU_ASSERT_FATAL(file_replace(conf, "state: state.db", to) == 0);
	snprintf(from, sizeof(from), "control_socket: ctl.sock");
	snprintf(to, sizeof(to), "control_socket: ctl-%s.sock", name);
	CU_ASSERT_FATAL(file_replace(conf, from, to) == 0);
	b = *a;
	memset(&b.p, 0, sizeof(b.p));
	snprintf(b.conf, sizeof(b.conf), "%s", conf);
	CU_ASSERT_FATAL(ad_start(&b) == 0);
	status = h_wait_exit(&b.p, 10000);
	if (status == -1)
		ad_stop(&b, SIGKILL);
	CU_ASSERT(
	    status != -1 && WIFEXITED(status) && WEXITSTATUS(status) != 0);
	snprintf(want, sizeof(want),
	    "%s is in use by another approvald (pid %d)", name, (int)a->p.pid);
	CU_ASSERT(log_has(a, want));
}

static void
test_lock_follows_the_file(void)
{
	struct emu e;
	struct ad a;
	char soft[700], hard[700];
	struct json_object *o;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, NULL) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	snprintf(soft, sizeof(soft), "%s/symlink.db", a.dir);
	snprintf(hard, sizeof(hard), "%s/hardlink.db", a.dir);
	CU_ASSERT_FATAL(symlink(a.state, soft) == 0);
	CU_ASSERT_FATAL(link(a.state, hard) == 0);
	second_refused(&a, "symlink.db");
	second_refused(&a, "hardlink.db");
	/* The first one is untouched. */
	o = ad_ctl(&a, "status");
	CU_ASSERT_PTR_NOT_NULL(o);
	json_object_put(o);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	emu_stop(&e);
}

/* Overwrite the middle third of `path` with a byte pattern. */
static int
scribble(const char *path)
{
	struct stat sb;
	FILE *f;
	long i, from, to;

	if (stat(path, &sb) == -1 || sb.st_size < 8 * 4096 ||
	    (f = fopen(path, "r+")) == NULL)
		return -1;
	from = (long)sb.st_size / 3;
	to = 2 * (long)sb.st_size / 3;
	if (fseek(f, from, SEEK_SET) == -1) {
		fclose(f);
		return -1;
	}
	for (i = from; i < to; i++)
		fputc((int)((i * 7919) & 0xff) | 0x80, f);
	return fclose(f) == 0 ? 0 : -1;
}

/*
 * A database damaged while the daemon was down: the daemon refuses it at
 * start with the recovery steps, exits non-zero and never reports ready.
 */
static void
test_damaged_store_refused(void)
{
	struct emu e;
	struct ad a;
	char *keys[4], tag[64], wal[700], *log, *tail;
	size_t i, before;
	struct stat sb;
	int status;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, NULL) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	for (i = 0; i < 4; i++) {
		snprintf(tag, sizeof(tag), "damaged %zu", i);
		CU_ASSERT_FATAL(
		    (keys[i] = emu_create_tagged(&e, tag, REQUESTOR)) != NULL);
	}
	for (i = 0; i < 4; i++)
		CU_ASSERT(ad_wait_state(&a, keys[i], "approved", 20000) == 0);
	/* A clean stop leaves everything in the database file. */
	CU_ASSERT_EQUAL_FATAL(ad_stop(&a, SIGTERM), 0);
	snprintf(wal, sizeof(wal), "%s-wal", a.state);
	CU_ASSERT(stat(wal, &sb) == -1 || sb.st_size == 0);
	CU_ASSERT_FATAL(scribble(a.state) == 0);

	log = cu_slurp(a.p.log, &before);
	free(log);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	status = h_wait_exit(&a.p, 20000);
	if (status == -1)
		ad_stop(&a, SIGKILL);
	CU_ASSERT(
	    status != -1 && WIFEXITED(status) && WEXITSTATUS(status) != 0);
	log = cu_slurp(a.p.log, NULL);
	CU_ASSERT_FATAL(log != NULL && strlen(log) >= before);
	tail = log + before;
	CU_ASSERT(strstr(tail, "is damaged") != NULL);
	CU_ASSERT(strstr(tail, ".recover") != NULL);
	CU_ASSERT(strstr(tail, "restore the last backup") != NULL);
	/* Refused before anything else started (it logs "approvald
	 * starting" on the way to ready). */
	CU_ASSERT(strstr(tail, "approvald starting") == NULL);
	free(log);
	/* Graph saw each decision once, before the damage; nothing since. */
	assert_approved_once(&e, keys, 4);
	CU_ASSERT_EQUAL(emu_truth_total(&e), 4);
	free_keys(keys, 4);
	emu_stop(&e);
}

#define FULL_REQUESTS 12

static int
log_says_still_degraded(void *arg)
{
	return log_has(arg, "store: still degraded (disk full) after 1 ");
}

/*
 * The disk fills up (simulated with a page quota, PRAGMA max_page_count,
 * which test builds read from APPROVALD_TEST_MAX_PAGES_FILE): commits
 * fail, the daemon says so on /readyz and in /metrics and retries; once
 * space is back it recovers by itself and every request is decided
 * exactly once.
 */
static void
test_disk_full_recovers(void)
{
	struct emu e;
	struct ad a;
	struct readyz_wait rw;
	char quota[700], old[700], *keys[FULL_REQUESTS + 1], tag[64];
	size_t i;
	int port;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, HTTP_YAML) == 0);
	snprintf(quota, sizeof(quota), "%s/quota", a.dir);
	CU_ASSERT_FATAL(strlen(quota) < 200);
	snprintf(a.extra_env, sizeof(a.extra_env),
	    "APPROVALD_TEST_MAX_PAGES_FILE=%.200s", quota);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	keys[0] = emu_create_tagged(&e, "before the disk fills", REQUESTOR);
	CU_ASSERT_FATAL(keys[0] != NULL);
	CU_ASSERT(ad_wait_state(&a, keys[0], "approved", 20000) == 0);
	CU_ASSERT_EQUAL_FATAL(ad_stop(&a, SIGTERM), 0);

	/* No room to grow: the database may not pass its current size. */
	CU_ASSERT_FATAL(h_write_file(quota, "1\n", 0600) == 0);
	snprintf(old, sizeof(old), "%s.1", a.p.log);
	CU_ASSERT_FATAL(rename(a.p.log, old) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	CU_ASSERT_FATAL((port = ad_port(&a)) > 0);
	for (i = 1; i <= FULL_REQUESTS; i++) {
		snprintf(tag, sizeof(tag), "while the disk is full %zu", i);
		keys[i] = emu_create_tagged(&e, tag, REQUESTOR);
		CU_ASSERT_FATAL(keys[i] != NULL);
	}
	rw.port = port;
	rw.status = 503;
	rw.text = "store degraded: disk full";
	CU_ASSERT_FATAL(h_until(readyz_is, &rw, 20000) == 0);
	CU_ASSERT_EQUAL(metric0(port, "approvald_store_degraded"), 1);
	CU_ASSERT(metric0(port, "approvald_store_degraded_total") >= 1);

	/* A recovery attempt failed and was scheduled again. */
	CU_ASSERT(h_until(log_says_still_degraded, &a, 20000) == 0);
	/* Space is back: recovered without help, every request decided
	 * once. */
	CU_ASSERT_FATAL(h_write_file(quota, "1073741823\n", 0600) == 0);
	rw.status = 200;
	rw.text = "ready";
	CU_ASSERT(h_until(readyz_is, &rw, 30000) == 0);
	for (i = 1; i <= FULL_REQUESTS; i++)
		CU_ASSERT(ad_wait_state(&a, keys[i], "approved", 30000) == 0);
	CU_ASSERT_EQUAL(metric0(port, "approvald_store_degraded"), 0);
	assert_approved_once(&e, keys, FULL_REQUESTS + 1);
	CU_ASSERT_EQUAL(emu_truth_total(&e), FULL_REQUESTS + 1);
	CU_ASSERT(log_has(&a, "store: writes work again"));
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free_keys(keys, FULL_REQUESTS + 1);
	emu_stop(&e);
}

/* ---- an acknowledged decision ---------------------------------------- */

#define CISO_ID "7deff43e-1f17-44ef-9e5f-d516b0ba11d4"

static char stages_policy[600];

static int
setup_decide(void)
{
	snprintf(fixture_path, sizeof(fixture_path), "%s",
	    cu_srcpath("examples/demo-tenant.json"));
	snprintf(stages_policy, sizeof(stages_policy), "%s",
	    cu_srcpath("tests/integration/stages-policy.yaml"));
	return 0;
}

struct resolved_wait {
	struct ad *a;
	const char *key;
};

/* Are the first stage's approvers resolved (a decision before that is
 * refused as "not resolved yet")? */
static int
approvers_resolved(void *arg)
{
	struct resolved_wait *w = arg;

	return ad_napprovers(w->a, w->key, 1) > 0;
}

/* A started stack holding one request that waits for the CISO (the
 * policy's "escalation" rule), its approvers resolved; its key (heap). */
static char *
decide_stack(struct emu *e, struct ad *a, const char *env)
{
	struct resolved_wait rw;
	char *k;

	CU_ASSERT_FATAL(emu_start(e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(a, e, stages_policy, HTTP_YAML) == 0);
	snprintf(a->extra_env, sizeof(a->extra_env), "%s", env);
	CU_ASSERT_FATAL(ad_start(a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(a, 20000) == 0);
	k = emu_create_tagged(
	    e, "scenario-escalate decide durability", REQUESTOR);
	CU_ASSERT_FATAL(k != NULL);
	CU_ASSERT_FATAL(ad_wait_state(a, k, "pending", 30000) == 0);
	rw.a = a;
	rw.key = k;
	CU_ASSERT_FATAL(h_until(approvers_resolved, &rw, 30000) == 0);
	return k;
}

static void
assert_truth_is(struct emu *e, const char *key, int ap, int dn)
{
	int a, d, c;

	CU_ASSERT_EQUAL_FATAL(emu_truth_counts(e, gid(key), &a, &d, &c), 0);
	CU_ASSERT_EQUAL(a, ap);
	CU_ASSERT_EQUAL(d, dn);
	CU_ASSERT_EQUAL(c, 0);
}

/* VACUUM the database at `path` (no daemon running): no free page left. */
static int
vacuum(const char *path)
{
	sqlite3 *db = NULL;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	rc = sqlite3_exec(
	    db, "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;", NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/*
 * Crash at `label` while `approvalctl decide` denies: approvalctl is never
 * told "ok" (no answer: exit non-zero), the daemon dies by SIGKILL and is
 * started again. `committed` says whether the decision was on disk.
 */
static void
decide_crash(const char *label, int committed)
{
	struct emu e;
	struct ad a;
	char env[128], *k;
	int status;

	snprintf(env, sizeof(env), "APPROVALD_CRASH_AT=%s:1", label);
	k = decide_stack(&e, &a, env);
	CU_ASSERT_EQUAL(
	    ad_ctl_decide(&a, k, "deny", CISO_ID, "a crash meanwhile"), 1);
	status = h_wait_exit(&a.p, 20000);
	CU_ASSERT(
	    status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	a.extra_env[0] = '\0';
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	if (!committed) {
		/* Nothing recorded, nothing on Graph: decide again. */
		CU_ASSERT(ad_wait_state(&a, k, "pending", 20000) == 0);
		assert_truth_is(&e, k, 0, 0);
		CU_ASSERT_EQUAL(
		    ad_ctl_decide(&a, k, "deny", CISO_ID, "after the restart"),
		    0);
	}
	CU_ASSERT(ad_wait_state(&a, k, "rejected", 30000) == 0);
	assert_truth_is(&e, k, 0, 1);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(k);
	emu_stop(&e);
}

/* Before the commit: not acknowledged, not recorded; the second decision
 * is applied exactly once. */
static void
test_decide_crash_uncommitted(void)
{
	decide_crash("decide-uncommitted", 0);
}

/* After the commit, before the answer: the decision is on disk and
 * reaches Graph exactly once after the restart. */
static void
test_decide_crash_committed(void)
{
	decide_crash("decide-committed", 1);
}

/* The commit of a decision fails (disk full): approvalctl exits non-zero
 * with "not recorded", nothing reaches Graph; once there is room again
 * the same decision is recorded and applied once. */
static void
test_decide_commit_fails(void)
{
	struct emu e;
	struct ad a;
	char quota[700], env[300], big[3000], *k;
	struct json_object *o;
	const char *why = NULL;
	struct json_object *v;

	snprintf(quota, sizeof(quota), "%s/decide-quota", h_tmpdir());
	CU_ASSERT_FATAL(strlen(quota) < 200);
	CU_ASSERT_FATAL(h_write_file(quota, "1073741823\n", 0600) == 0);
	snprintf(
	    env, sizeof(env), "APPROVALD_TEST_MAX_PAGES_FILE=%.200s", quota);
	k = decide_stack(&e, &a, env);
	CU_ASSERT_EQUAL_FATAL(ad_stop(&a, SIGTERM), 0);
	/* No room to grow from the next start on: every page packed full
	 * (VACUUM) and the file may not grow, so a decision's rows, with a
	 * reason near a page long, cannot be stored. */
	CU_ASSERT_FATAL(vacuum(a.state) == 0);
	CU_ASSERT_FATAL(h_write_file(quota, "1\n", 0600) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(ad_ctl_decide(&a, k, "deny", CISO_ID, big), 1);
	assert_truth_is(&e, k, 0, 0);
	/* Refused at the statement or at the commit, the log says so. */
	CU_ASSERT(log_has(&a, "decision on the request not recorded") ||
	          log_has(&a, "database or disk is full"));
	/* The reply itself says why. */
	{
		char cmd[4000];

		snprintf(
		    cmd, sizeof(cmd), "decide %s deny %s %s", k, CISO_ID, big);
		o = ad_ctl(&a, cmd);
		CU_ASSERT_FATAL(o != NULL);
		if (json_object_object_get_ex(o, "why", &v))
			why = json_object_get_string(v);
		CU_ASSERT(why != NULL && strstr(why, "not recorded") != NULL);
		json_object_put(o);
	}
	assert_truth_is(&e, k, 0, 0);
	CU_ASSERT_FATAL(h_write_file(quota, "1073741823\n", 0600) == 0);
	CU_ASSERT_EQUAL_FATAL(ad_stop(&a, SIGTERM), 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	CU_ASSERT(ad_wait_state(&a, k, "pending", 20000) == 0);
	CU_ASSERT_EQUAL(ad_ctl_decide(&a, k, "deny", CISO_ID, "room again"), 0);
	CU_ASSERT(ad_wait_state(&a, k, "rejected", 30000) == 0);
	assert_truth_is(&e, k, 0, 1);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(k);
	emu_stop(&e);
}

/* ---- a bad read is read again, never a verdict ----------------------- */

#define REQS_PATH                                                              \
	"/beta/identityGovernance/permissionsManagement/"                      \
	"scheduledPermissionsRequests"

/*
 * One answer of `path` (GET) comes back with member `field` null; the
 * request must still end approved by the policy, exactly once on Graph,
 * and the bad read be counted. Before, a null requestedPermissions made
 * the request `ignored` for good, a null statusDetail left it in `new`,
 * and a null step id sent it to `attention`.
 */
static void
bad_read_once(const char *path, const char *field, const char *what)
{
	struct emu e;
	struct ad a;
	char fault[400], *key, series[160];
	int port;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	snprintf(fault, sizeof(fault),
	    "{\"method\":\"GET\",\"path\":\"%s\",\"kind\":\"null_field\","
	    "\"field\":\"%s\",\"count\":1}",
	    path, field);
	CU_ASSERT_FATAL(emu_fault(&e, fault) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, HTTP_YAML) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	CU_ASSERT_FATAL((port = ad_port(&a)) > 0);
	key = emu_create_tagged(&e, "a bad read first", REQUESTOR);
	CU_ASSERT_FATAL(key != NULL);
	CU_ASSERT(ad_wait_state(&a, key, "approved", 30000) == 0);
	assert_approved_once(&e, &key, 1);
	snprintf(series, sizeof(series),
	    "approvald_bad_reads_total{source=\"permissions\",what=\"%s\"}",
	    what);
	CU_ASSERT(metric0(port, series) >= 1);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(key);
	emu_stop(&e);
}

static void
test_bad_read_request(void)
{
	bad_read_once(REQS_PATH, "requestedPermissions", "request");
}

static void
test_bad_read_status(void)
{
	bad_read_once(REQS_PATH, "statusDetail", "status");
}

static void
test_bad_read_step(void)
{
	bad_read_once(STEPS_PREFIX "*/steps", "id", "step");
}

struct calls_at_least {
	struct emu *e;
	const char *method, *prefix;
	int n;
};

static int
calls_reached(void *arg)
{
	struct calls_at_least *w = arg;

	return emu_count_calls(w->e, w->method, w->prefix) >= w->n;
}

/* SIGTERM while a request fetch is in flight (its answer held back):
 * approvald exits 0, and under LeakSanitizer nothing is left (the fetch
 * context used to leak, a flake of any suite stopping mid-poll). */
static void
test_stop_mid_fetch(void)
{
	struct emu e;
	struct ad a;
	struct calls_at_least w = { &e, "GET", REQS_PATH, 1 };
	char *key;
	int st;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(
	    emu_fault(&e, "{\"method\":\"GET\",\"path\":\"" REQS_PATH
	                  "\",\"kind\":\"delay\",\"delayMs\":20000}") == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, HTTP_YAML) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	key = emu_create_tagged(&e, "stopped mid-fetch", REQUESTOR);
	CU_ASSERT_FATAL(key != NULL);
	CU_ASSERT_FATAL(h_until(calls_reached, &w, 20000) == 0);
	st = ad_stop(&a, SIGTERM);
	CU_ASSERT(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT(!log_has(&a, "LeakSanitizer"));
	free(key);
	emu_stop(&e);
}

/* ---- attention --------------------------------------------------------- */

/* Run `approvalctl ARGS... --socket S`; its exit code (or -1), stdout in
 * `out`. */
static int
ctl_run3(struct ad *a, const char *a1, const char *a2, const char *a3,
    char *out, size_t n)
{
	char bin[600], log[700], *argv[8];
	struct proc p;
	ssize_t r;
	size_t len = 0;
	int st, fd, i;

	snprintf(bin, sizeof(bin), "%s", cu_buildpath("ctl/approvalctl"));
	snprintf(log, sizeof(log), "%s/approvalctl.log", a->dir);
	i = 0;
	argv[i++] = bin;
	argv[i++] = (char *)a1;
	if (a2 != NULL)
		argv[i++] = (char *)a2;
	if (a3 != NULL)
		argv[i++] = (char *)a3;
	argv[i++] = "--socket";
	argv[i++] = a->sock;
	argv[i] = NULL;
	memset(&p, 0, sizeof(p));
	out[0] = '\0';
	if (h_spawn(&p, argv, NULL, log) == -1)
		return -1;
	/* its output is small: the pipe holds it until the child is gone */
	fd = dup(p.out_fd);
	st = h_wait_exit(&p, 20000);
	while (fd != -1 && len + 1 < n &&
	       (r = read(fd, out + len, n - len - 1)) > 0)
		len += (size_t)r;
	out[len] = '\0';
	if (fd != -1)
		close(fd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
ctl_run(struct ad *a, const char *a1, const char *a2, char *out, size_t n)
{
	return ctl_run3(a, a1, a2, NULL, out, n);
}

/* The detail of the last journal row of `key` that contains `text`
 * (heap), or NULL. */
static char *
journal_detail(struct ad *a, const char *key, const char *text)
{
	struct json_object *o, *tl, *row, *d;
	char cmd[300], *found = NULL;
	size_t i;

	snprintf(cmd, sizeof(cmd), "show %s", key);
	if ((o = ad_ctl(a, cmd)) == NULL)
		return NULL;
	if (json_object_object_get_ex(o, "timeline", &tl))
		for (i = 0; i < json_object_array_length(tl); i++) {
			row = json_object_array_get_idx(tl, i);
			if (json_object_object_get_ex(row, "detail", &d) &&
			    d != NULL &&
			    strstr(json_object_get_string(d), text) != NULL) {
				free(found);
				found = strdup(json_object_get_string(d));
			}
		}
	json_object_put(o);
	return found;
}

struct cycles_wait {
	int port;
	double want;
};

static int
cycles_reached(void *arg)
{
	struct cycles_wait *w = arg;

	return metric0(w->port,
	           "approvald_poll_cycles_total{source=\"permissions\"}") >=
	       w->want;
}

/*
 * Graph answers 500 to every read of the approval step: approvald used to
 * read it again forever (~16,600 reads in the run). Now it stops
 * after EXEC_READBACK_MAX (12) reads, each with the call layer's own
 * GRAPH_MAX_RETRIES (8) tries, puts the request in attention saying what
 * happened, counts it in a metric, and reads no more. Once Graph works,
 * `approvalctl retry` drives it again: approved once, the retry recorded
 * with who asked. A second retry and `retry --all` find nothing to do.
 */
static void
test_readback_bounded_then_retry(void)
{
	struct emu e;
	struct ad a;
	struct cycles_wait cw;
	struct json_object *o, *v;
	char *key, *d, out[512];
	int port, n1, rc;
	long st = 0;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(
	    emu_fault(&e,
	        "{\"method\":\"GET\",\"path\":\"" STEPS_PREFIX
	        "*/steps\",\"kind\":\"status\",\"status\":500}") == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, HTTP_YAML) == 0);
	snprintf(a.extra_env, sizeof(a.extra_env),
	    "APPROVALD_TEST_BACKOFF_MAX_MS=20");
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	CU_ASSERT_FATAL((port = ad_port(&a)) > 0);
	key = emu_create_tagged(&e, "steps unreadable", REQUESTOR);
	CU_ASSERT_FATAL(key != NULL);
	CU_ASSERT_FATAL(ad_wait_state(&a, key, "attention", 60000) == 0);
	n1 = emu_count_calls(&e, "GET", STEPS_PREFIX);
	CU_ASSERT(n1 >= 12);
	CU_ASSERT(n1 <= 12 * 8);
	CU_ASSERT_EQUAL(emu_count_calls(&e, "PATCH", STEPS_PREFIX), 0);
	d = journal_detail(&a, key, "could not read the approval step");
	CU_ASSERT_PTR_NOT_NULL(d);
	if (d != NULL) {
		CU_ASSERT_PTR_NOT_NULL(strstr(d, "12 reads failed"));
		CU_ASSERT_PTR_NOT_NULL(strstr(d, "answered 500"));
	}
	free(d);
	CU_ASSERT_EQUAL(metric0(port, "approvald_requests_attention"), 1);
	o = ad_ctl(&a, "status");
	CU_ASSERT(o != NULL && json_object_object_get_ex(o, "attention", &v) &&
	          json_object_get_int(v) == 1);
	json_object_put(o);
	/* two more poll cycles: no read of the step since */
	cw.port = port;
	cw.want = metric0(port,
	              "approvald_poll_cycles_total{source=\"permissions\"}") +
	          2;
	CU_ASSERT(h_until(cycles_reached, &cw, 30000) == 0);
	CU_ASSERT_EQUAL(emu_count_calls(&e, "GET", STEPS_PREFIX), n1);
	CU_ASSERT_EQUAL(ad_wait_state(&a, key, "attention", 1000), 0);

	/* Graph works again; an operator retries */
	json_object_put(emu_json(&e, "DELETE", "/_emulator/faults", NULL, &st));
	CU_ASSERT(st == 200 || st == 204);
	rc = ctl_run(&a, "retry", key, out, sizeof(out));
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "retried permissions:"));
	CU_ASSERT(ad_wait_state(&a, key, "approved", 30000) == 0);
	assert_approved_once(&e, &key, 1);
	d = journal_detail(&a, key, "retry by unix uid");
	CU_ASSERT_PTR_NOT_NULL(d);
	free(d);
	CU_ASSERT_EQUAL(metric0(port, "approvald_requests_attention"), 0);
	/* nothing left to retry */
	CU_ASSERT_EQUAL(ctl_run(&a, "retry", key, out, sizeof(out)), 1);
	CU_ASSERT_EQUAL(ctl_run(&a, "retry", "--all", out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "no request needs attention"));
	CU_ASSERT_EQUAL(ctl_run(&a, "retry", "--bogus", out, sizeof(out)), 2);
	assert_approved_once(&e, &key, 1);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(key);
	emu_stop(&e);
}

/* The SHA-256 of `path` in hex (sha256sum), or "". */
static void
file_sha256(const char *path, char out[65])
{
	char cmd[800];
	FILE *p;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	if ((p = popen(cmd, "r")) == NULL)
		return;
	if (fscanf(p, "%64s", out) != 1)
		out[0] = '\0';
	pclose(p);
}

static int
iso_utc(const char *s)
{
	return s != NULL && strlen(s) == 20 && s[4] == '-' && s[10] == 'T' &&
	       s[19] == 'Z';
}

/*
 * approvalctl against a running daemon, as an operator uses it: status
 * names the version, the policy file and its SHA-256, credentials and
 * polls, in a table and in JSON with ISO-8601 times; show reads like a
 * sentence and says how fresh Graph's status is; a key that does not exist
 * exits 1; reload prints the policy's errors (file:line:col) and exits 1,
 * and a good policy reloads.
 */
static void
test_ctl_online(void)
{
	struct emu e;
	struct ad a;
	struct json_object *o, *v, *w;
	char *key, out[16384], sha[65], *log, *saved;
	int rc;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, HTTP_YAML) == 0);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	key = emu_create_tagged(&e, "an operator looks", REQUESTOR);
	CU_ASSERT_FATAL(key != NULL);
	CU_ASSERT_FATAL(ad_wait_state(&a, key, "approved", 30000) == 0);
	file_sha256(policy_path, sha);
	CU_ASSERT_EQUAL_FATAL(strlen(sha), 64);

	rc = ctl_run(&a, "status", NULL, out, sizeof(out));
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "approvald " APPROVALD_VERSION));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, sha));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, policy_path));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "app up"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "attention:      0"));
	/* the last poll with its age */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "last poll:      permissions 20"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "s ago)"));

	rc = ctl_run3(&a, "status", "-o", "json", out, sizeof(out));
	CU_ASSERT_EQUAL(rc, 0);
	o = json_tokener_parse(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(json_object_object_get_ex(o, "version", &v) &&
	          strcmp(json_object_get_string(v), APPROVALD_VERSION) == 0);
	CU_ASSERT(json_object_object_get_ex(o, "policy_sha256", &v) &&
	          strcmp(json_object_get_string(v), sha) == 0);
	CU_ASSERT(json_object_object_get_ex(o, "uptime_seconds", &v) &&
	          json_object_get_int64(v) >= 0);
	CU_ASSERT(json_object_object_get_ex(o, "started", &v) &&
	          iso_utc(json_object_get_string(v)));
	CU_ASSERT(json_object_object_get_ex(o, "last_poll", &v) &&
	          json_object_object_get_ex(v, "permissions", &w) &&
	          iso_utc(json_object_get_string(w)));
	CU_ASSERT(json_object_object_get_ex(o, "credentials", &v) &&
	          json_object_object_get_ex(v, "app", &w) &&
	          json_object_object_get_ex(w, "up", &w) &&
	          json_object_get_boolean(w));
	json_object_put(o);

	rc = ctl_run(&a, "show", key, out, sizeof(out));
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "who:"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(out, "decided:    approve by rule approve-all"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "as approvald last recorded it"));
	/* a stale reading says it is one, and how old */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "(a last-read value, not live"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "s ago)\n  polled:     20"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "timeline:"));
	rc = ctl_run3(&a, "show", key, "--output=json", out, sizeof(out));
	CU_ASSERT_EQUAL(rc, 0);
	o = json_tokener_parse(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(json_object_object_get_ex(o, "key", &v) &&
	          strcmp(json_object_get_string(v), key) == 0);
	CU_ASSERT(json_object_object_get_ex(o, "updated", &v) &&
	          iso_utc(json_object_get_string(v)));
	CU_ASSERT(json_object_object_get_ex(o, "source_last_poll", &v) &&
	          iso_utc(json_object_get_string(v)));
	CU_ASSERT(json_object_object_get_ex(o, "graph_status", &v) &&
	          json_object_get_string(v) != NULL);
	json_object_put(o);
	rc = ctl_run3(&a, "show", key, "-o", out, sizeof(out));
	CU_ASSERT_EQUAL(rc, 2); /* -o without a format */
	rc = ctl_run3(&a, "-o", "json", NULL, out, sizeof(out));
	CU_ASSERT_EQUAL(rc, 2); /* not a command */
	rc = ctl_run(&a, "show", "permissions:nope", out, sizeof(out));
	CU_ASSERT_EQUAL(rc, 1);

	rc = ctl_run3(&a, "list", "-o", "json", out, sizeof(out));
	CU_ASSERT_EQUAL(rc, 0);
	o = json_tokener_parse(out);
	CU_ASSERT(o != NULL && json_object_is_type(o, json_type_array) &&
	          json_object_array_length(o) >= 1);
	if (o != NULL && json_object_array_length(o) >= 1) {
		v = json_object_array_get_idx(o, 0);
		CU_ASSERT(json_object_object_get_ex(v, "updated", &w) &&
		          iso_utc(json_object_get_string(w)));
	}
	json_object_put(o);

	/* a broken policy: refused with its errors, the old one kept */
	saved = cu_slurp(policy_path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(saved);
	CU_ASSERT_FATAL(h_write_file(policy_path,
	                    "version: 1\nrules:\n  - name: x\n    decide: "
	                    "approv\n",
	                    0600) == 0);
	rc = ctl_run(&a, "reload", NULL, out, sizeof(out));
	CU_ASSERT_EQUAL(rc, 1);
	{
		char lp[700];

		snprintf(lp, sizeof(lp), "%s/approvalctl.log", a.dir);
		log = cu_slurp(lp, NULL);
	}
	CU_ASSERT(log != NULL && strstr(log, "approve-all.yaml:4:") != NULL);
	CU_ASSERT(log != NULL && strstr(log, "reload refused") != NULL);
	free(log);
	CU_ASSERT_FATAL(h_write_file(policy_path, saved, 0600) == 0);
	free(saved);
	rc = ctl_run(&a, "reload", NULL, out, sizeof(out));
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "reloaded"));
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(key);
	emu_stop(&e);
}

/*
 * An open intent whose stored kind is no known action (a damaged row, a
 * hand edit): before, anything not "cancel" was decided, and anything not
 * "approve" was a deny. Now nothing is sent for it and the request needs
 * attention, saying why.
 */
static void
test_unknown_intent_kind(void)
{
	struct emu e;
	struct ad a;
	sqlite3 *db = NULL;
	char *key, *d;
	int status, changed = 0;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, HTTP_YAML) == 0);
	snprintf(a.extra_env, sizeof(a.extra_env),
	    "APPROVALD_CRASH_AT=intent-committed:1");
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	key = emu_create_tagged(&e, "a damaged intent", REQUESTOR);
	CU_ASSERT_FATAL(key != NULL);
	status = h_wait_exit(&a.p, 30000);
	CU_ASSERT_FATAL(
	    status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CU_ASSERT_FATAL(sqlite3_open(a.state, &db) == SQLITE_OK);
	CU_ASSERT(
	    sqlite3_exec(db,
	        "UPDATE intents SET kind = 'approv' WHERE outcome IS NULL",
	        NULL, NULL, NULL) == SQLITE_OK);
	changed = sqlite3_changes(db);
	sqlite3_close(db);
	CU_ASSERT_EQUAL_FATAL(changed, 1);
	a.extra_env[0] = '\0';
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	CU_ASSERT(ad_wait_state(&a, key, "attention", 30000) == 0);
	d = journal_detail(&a, key, "names no known action");
	CU_ASSERT_PTR_NOT_NULL(d);
	free(d);
	CU_ASSERT_EQUAL(emu_count_calls(&e, "PATCH", STEPS_PREFIX), 0);
	assert_truth_is(&e, key, 0, 0);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(key);
	emu_stop(&e);
}

static const struct cu_test attention_tests[] = {
	{ "an intent of unknown kind: nothing sent, attention",
	    test_unknown_intent_kind },
	{ "approvalctl against a running daemon: status, show, reload",
	    test_ctl_online },
	{ "read-backs bounded, attention says why, retry drives it once",
	    test_readback_bounded_then_retry },
	{ NULL, NULL },
};

static const struct cu_test badread_tests[] = {
	{ "SIGTERM with a request fetch in flight", test_stop_mid_fetch },
	{ "an unreadable request body is read again, not ignored",
	    test_bad_read_request },
	{ "a null statusDetail is read again, not stuck in new",
	    test_bad_read_status },
	{ "a step without id is read again, not attention",
	    test_bad_read_step },
	{ NULL, NULL },
};

static const struct cu_test decide_tests[] = {
	{ "a crash before the commit: not acknowledged, not recorded",
	    test_decide_crash_uncommitted },
	{ "a crash after the commit: applied once after restart",
	    test_decide_crash_committed },
	{ "a failed commit: refused with the reason, nothing applied",
	    test_decide_commit_fails },
	{ NULL, NULL },
};

/*
 * Graph answers nothing but 503 for longer than GRAPH_DOWN_AFTER_S (the
 * daemon's test clock moved on): /readyz says so and approvald_graph_up
 * is 0, with one log line; once Graph answers again both recover.
 */
static void
test_graph_unreachable_visible(void)
{
	struct emu e;
	struct ad a;
	struct readyz_wait rw;
	struct metric_wait mw;
	long st = 0;
	char *res;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, HTTP_YAML) == 0);
	snprintf(a.extra_env, sizeof(a.extra_env), "APPROVALD_TEST_CLOCK=1");
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	CU_ASSERT_FATAL((rw.port = ad_port(&a)) > 0);
	CU_ASSERT_EQUAL(metric0(rw.port, "approvald_graph_up"), 1);
	/* one answer 404 (not retried: logged at once), then, once it has
	 * been seen, 503 only: a 404 after a 503 would count as Graph
	 * answering and start the outage again after the clock moved */
	CU_ASSERT_FATAL(emu_fault(&e, "{\"method\":\"GET\",\"path\":\"/*\","
	                              "\"kind\":\"status\",\"status\":404,"
	                              "\"count\":1}") == 0);
	/* a call that failed for good names Graph's request-id and ours */
	CU_ASSERT(h_until(failure_logged, &a, 20000) == 0);
	CU_ASSERT_FATAL(
	    emu_fault(&e, "{\"method\":\"GET\",\"path\":\"/*\","
	                  "\"kind\":\"status\",\"status\":503}") == 0);
	/* a 503 answered (counted, not guessed from the log, where a
	 * request-id may hold "503") before the clock passes the threshold */
	mw.port = rw.port;
	mw.series = "approvald_graph_calls_total{endpoint=\"permissions_"
	            "changes\",status=\"503\"}";
	mw.min = 1;
	CU_ASSERT(h_until(metric_reached, &mw, 30000) == 0);
	res = ad_result(&a, "clock advance 120");
	CU_ASSERT_STRING_EQUAL(res, "ok");
	free(res);
	rw.status = 503;
	rw.text = "Graph unreachable since";
	CU_ASSERT(h_until(readyz_is, &rw, 30000) == 0);
	CU_ASSERT_EQUAL(metric0(rw.port, "approvald_graph_up"), 0);
	json_object_put(emu_json(&e, "DELETE", "/_emulator/faults", NULL, &st));
	CU_ASSERT(st == 200 || st == 204);
	rw.status = 200;
	rw.text = "ready";
	CU_ASSERT(h_until(readyz_is, &rw, 30000) == 0);
	CU_ASSERT_EQUAL(metric0(rw.port, "approvald_graph_up"), 1);
	CU_ASSERT(log_has(&a, "graph: unreachable for"));
	CU_ASSERT(log_has(&a, "graph: reachable again after"));
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	emu_stop(&e);
}

static const struct cu_test intake_tests[] = {
	{ "Graph unreachable: /readyz 503 and graph_up 0, then recovered",
	    test_graph_unreachable_visible },
	{ "a change dated 2999 does not stop intake",
	    test_watermark_future_change },
	{ "a decision whose connection dies is read back, never resent",
	    test_no_blind_resend },
	{ NULL, NULL },
};

static const struct cu_test store_tests[] = {
	{ "one daemon per database, through symlinks and hard links",
	    test_lock_follows_the_file },
	{ "a damaged database is refused at start",
	    test_damaged_store_refused },
	{ "disk full: degraded, then recovered by itself",
	    test_disk_full_recovers },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "intake", setup, NULL, intake_tests },
	{ "store", setup, NULL, store_tests },
	{ "decide", setup_decide, NULL, decide_tests },
	{ "badread", setup, NULL, badread_tests },
	{ "attention", setup, NULL, attention_tests },
	{ NULL, NULL, NULL, NULL },
};
