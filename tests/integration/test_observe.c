/*
 * Issue 16, what an operator sees of a running approvald, end to end
 * against graph-emulator:
 *
 * - metrics: approvald_build_info names the version; reloads are counted
 *   by result with their time (SIGHUP, a good and a broken policy); the
 *   requests by source and state stay right across a kill -9 and restart;
 * - logs: every JSON line carries PRIORITY, and every decision is one
 *   line saying who decided, how, on which request and what: the policy's
 *   verdict, an approver over the control socket, the deny timer.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cu.h"
#include "harness.h"
#include "hookutil.h"
#include "version.h"

#define REQUESTOR "alex@contoso.com"
#define CISO_ID   "7deff43e-1f17-44ef-9e5f-d516b0ba11d4"

static char policy_path[600];
static char fixture_path[600];

static const char approve_all[] =
    "version: 1\n"
    "rules:\n"
    "  - name: approve-all\n"
    "    when: { source: permissions }\n"
    "    decide: approve\n"
    "    reason: every request is approved in this test\n"
    "default:\n"
    "  decide: ignore\n";

static int
setup(void)
{
	snprintf(fixture_path, sizeof(fixture_path), "%s",
	    cu_srcpath("examples/demo-tenant.json"));
	snprintf(policy_path, sizeof(policy_path), "%s/observe-policy.yaml",
	    h_tmpdir());
	return h_write_file(policy_path, approve_all, 0600);
}

/* The decision lines of `key` in a's log, each a heap copy in v[] (at
 * most n); how many there are. */
static int
decision_lines(struct ad *a, const char *key, char **v, int n)
{
	char *log = cu_slurp(a->p.log, NULL), *line, *save = NULL, want[300];
	int found = 0;

	if (log == NULL)
		return -1;
	snprintf(
	    want, sizeof(want), "\"msg\":\"decision\",\"request\":\"%s\"", key);
	for (line = strtok_r(log, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		if (strstr(line, want) != NULL) {
			if (found < n)
				v[found] = strdup(line);
			found++;
		}
	free(log);
	return found;
}

static void
free_lines(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
}

/* Every line of a's log is a JSON object with a numeric PRIORITY. */
static void
assert_priorities(struct ad *a)
{
	char *log = cu_slurp(a->p.log, NULL), *line, *save = NULL;
	int lines = 0, bad = 0;

	CU_ASSERT_FATAL(log != NULL);
	for (line = strtok_r(log, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		struct json_object *o = json_tokener_parse(line), *p;

		lines++;
		if (o == NULL ||
		    !json_object_object_get_ex(o, "PRIORITY", &p) ||
		    !json_object_is_type(p, json_type_int)) {
			fprintf(stderr, "no PRIORITY: %s\n", line);
			bad++;
		}
		json_object_put(o);
	}
	CU_ASSERT(lines > 10);
	CU_ASSERT_EQUAL(bad, 0);
	free(log);
}

/* Requests of `source` over every state, from one scrape; -1 on error. */
static long
requests_total(int port, const char *source)
{
	struct resp r;
	char want[128], *p;
	long n = 0;

	if (http_req(port, "GET", "/metrics", NULL, NULL, 0, &r) != 200 ||
	    r.body == NULL) {
		resp_free(&r);
		return -1;
	}
	snprintf(
	    want, sizeof(want), "\napprovald_requests{source=\"%s\",", source);
	for (p = r.body; (p = strstr(p, want)) != NULL; p++)
		n += strtol(strchr(p + 1, ' ') + 1, NULL, 10);
	resp_free(&r);
	return n;
}

struct metric_at_least {
	int port;
	const char *series;
	double min;
};

static int
metric_reached(void *arg)
{
	struct metric_at_least *w = arg;

	return metric0(w->port, w->series) >= w->min;
}

/* `approvald --check --quiet` on a's configuration: its exit code (-1
 * when it did not exit), what it wrote in *out (heap). */
static int
check_quiet(struct ad *a, char **out)
{
	char bin[600], log[700], *argv[6];
	struct proc p;
	int st;

	snprintf(bin, sizeof(bin), "%s", cu_buildpath("daemon/approvald"));
	snprintf(log, sizeof(log), "%s/check.log", a->dir);
	unlink(log);
	argv[0] = bin;
	argv[1] = "--config";
	argv[2] = a->conf;
	argv[3] = "--check";
	argv[4] = "--quiet";
	argv[5] = NULL;
	memset(&p, 0, sizeof(p));
	if (h_spawn(&p, argv, NULL, log) == -1)
		return -1;
	st = h_wait_exit(&p, 20000);
	close(p.out_fd);
	*out = cu_slurp(log, NULL);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define RELOAD_OK     "approvald_reload_total{result=\"ok\"}"
#define RELOAD_FAILED "approvald_reload_total{result=\"failed\"}"

/* Build info, reloads by result, request counts across a restart, and the
 * policy's verdict as one decision line. */
static void
test_metrics_and_policy_decision(void)
{
	struct emu e;
	struct ad a;
	struct metric_at_least w;
	char yaml[128], *key, *key2, *lines[4], *out = NULL;
	int port, n;

	CU_ASSERT_FATAL((port = h_free_port()) > 0);
	snprintf(yaml, sizeof(yaml), "http:\n  listen: 127.0.0.1:%d\n", port);
	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, yaml) == 0);
	CU_ASSERT_FATAL(
	    file_replace(a.conf, "format: text", "format: json") == 0);
	/* the check passes, silently, on what the daemon starts with (the
	 * emulator's CA included) */
	CU_ASSERT_EQUAL(check_quiet(&a, &out), 0);
	CU_ASSERT(out != NULL && out[0] == '\0');
	free(out);
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);

	CU_ASSERT_EQUAL(
	    metric(port,
	        "approvald_build_info{version=\"" APPROVALD_VERSION "\"}"),
	    1);
	CU_ASSERT_EQUAL(metric(port, RELOAD_OK), 0);
	CU_ASSERT_EQUAL(metric(port, RELOAD_FAILED), 0);
	/* ready means the app token came: its time is there */
	CU_ASSERT(metric0(port, "approvald_credential_last_success_timestamp_"
	                        "seconds{credential=\"app\"}") > 1.7e9);

	key = emu_create_tagged(&e, "observed by the operator", REQUESTOR);
	CU_ASSERT_FATAL(key != NULL);
	CU_ASSERT_FATAL(ad_wait_state(&a, key, "approved", 20000) == 0);
	CU_ASSERT_EQUAL(requests_total(port, "permissions"), 1);
	/* one decision line, though the request went through three
	 * transitions (evaluating, approving, approved) */
	n = decision_lines(&a, key, lines, 4);
	CU_ASSERT_EQUAL(n, 1);
	if (n >= 1)
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(lines[0], "\"verdict\":\"approve\",\"who\":"
		                     "\"approve-all\",\"how\":\"policy\""));
	free_lines(lines, n < 4 ? n : 4);

	/* a reload that works, then one of a broken policy */
	CU_ASSERT_FATAL(kill(a.p.pid, SIGHUP) == 0);
	w.port = port;
	w.series = RELOAD_OK;
	w.min = 1;
	CU_ASSERT(h_until(metric_reached, &w, 20000) == 0);
	CU_ASSERT(metric0(port, "approvald_reload_last_timestamp_seconds"
	                        "{result=\"ok\"}") > 1.7e9);
	CU_ASSERT_FATAL(
	    h_write_file(policy_path, "version: 1\nrules: [\n", 0600) == 0);
	CU_ASSERT_FATAL(kill(a.p.pid, SIGHUP) == 0);
	w.series = RELOAD_FAILED;
	CU_ASSERT(h_until(metric_reached, &w, 20000) == 0);
	CU_ASSERT(metric0(port, "approvald_reload_last_timestamp_seconds"
	                        "{result=\"failed\"}") > 1.7e9);
	CU_ASSERT_EQUAL(metric(port, RELOAD_OK), 1);
	CU_ASSERT_FATAL(h_write_file(policy_path, approve_all, 0600) == 0);

	/* the counts survive a kill -9 and follow the next request */
	CU_ASSERT_FATAL(ad_restart(&a) == 0);
	CU_ASSERT_EQUAL(requests_total(port, "permissions"), 1);
	key2 = emu_create_tagged(&e, "after the restart", REQUESTOR);
	CU_ASSERT_FATAL(key2 != NULL);
	CU_ASSERT(ad_wait_state(&a, key2, "approved", 20000) == 0);
	CU_ASSERT_EQUAL(requests_total(port, "permissions"), 2);
	CU_ASSERT_EQUAL(sql_count(a.state, "SELECT count(*) FROM requests"
	                                   " WHERE source = 0"),
	    2);
	assert_priorities(&a);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(key);
	free(key2);
	emu_stop(&e);
}

struct resolved_wait {
	struct ad *a;
	const char *key;
};

static int
approvers_resolved(void *arg)
{
	struct resolved_wait *w = arg;

	return ad_napprovers(w->a, w->key, 1) > 0;
}

/* A person's decision over the control socket and the deny timer: each
 * one decision line after the policy's, saying who and how. */
static void
test_person_and_timer_decisions(void)
{
	struct emu e;
	struct ad a;
	struct resolved_wait rw;
	char stages[600], *ke, *kt, *lines[4], *res;
	int n;

	snprintf(stages, sizeof(stages), "%s",
	    cu_srcpath("tests/integration/stages-policy.yaml"));
	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, stages, NULL) == 0);
	CU_ASSERT_FATAL(
	    file_replace(a.conf, "format: text", "format: json") == 0);
	snprintf(a.extra_env, sizeof(a.extra_env), "APPROVALD_TEST_CLOCK=1");
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	ke = emu_create_tagged(&e, "scenario-escalate observed", REQUESTOR);
	kt = emu_create_tagged(&e, "scenario-timeout observed", REQUESTOR);
	CU_ASSERT_FATAL(ke != NULL && kt != NULL);
	rw.a = &a;
	rw.key = ke;
	CU_ASSERT_FATAL(h_until(approvers_resolved, &rw, 30000) == 0);
	rw.key = kt;
	CU_ASSERT_FATAL(h_until(approvers_resolved, &rw, 30000) == 0);

	CU_ASSERT_EQUAL(ad_ctl_decide(&a, ke, "approve", CISO_ID, "fine"), 0);
	CU_ASSERT(ad_wait_state(&a, ke, "approved", 20000) == 0);
	n = decision_lines(&a, ke, lines, 4);
	CU_ASSERT_EQUAL(n, 2);
	if (n == 2) {
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(lines[0], "\"verdict\":\"stages\",\"who\":"
		                     "\"escalation\",\"how\":\"policy\""));
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(lines[1], "\"verdict\":\"approve\""));
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(lines[1], "\"how\":\"control socket\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(lines[1], "\"who\":\"ciso@") ||
		                       strstr(lines[1], CISO_ID));
	}
	free_lines(lines, n < 4 ? n : 4);

	/* PT2H later the deny timer decides */
	res = ad_result(&a, "clock advance 7300");
	CU_ASSERT_STRING_EQUAL(res, "ok");
	free(res);
	CU_ASSERT(ad_wait_state(&a, kt, "rejected", 20000) == 0);
	n = decision_lines(&a, kt, lines, 4);
	CU_ASSERT_EQUAL(n, 2);
	if (n == 2)
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(lines[1], "\"verdict\":\"deny\",\"who\":"
		                     "\"approvald\",\"how\":\"timeout\""));
	free_lines(lines, n < 4 ? n : 4);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(ke);
	free(kt);
	emu_stop(&e);
}

static const struct cu_test observe_tests[] = {
	{ "build info, reloads, counts across a restart, policy decision",
	    test_metrics_and_policy_decision },
	{ "a person's decision and the deny timer: one line each",
	    test_person_and_timer_decisions },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "observe", setup, NULL, observe_tests },
	{ NULL, NULL, NULL, NULL },
};
