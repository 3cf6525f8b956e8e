/*
 * Issue 6 end to end: webhooks in, /metrics, the audit hash chain and
 * shadow replay, with the real approvald and graph-emulator on loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include "config.h"
#include "cu.h"
#include "harness.h"
#include "hookutil.h"

#define HOOK_SECRET  "test-hook-secret-0123456789abcdef"
#define CLIENT_STATE "client-state-abcdef-0123456789abcdef"
#define NSEED        6

static const char *const seed_files[NSEED] = {
	"permissions-request-aws-policy.json",
	"permissions-request-aws-action.json",
	"permissions-request-azure-action.json",
	"permissions-request-azure-role.json",
	"permissions-request-gcp-action.json",
	"permissions-request-gcp-role.json",
};

static char policy_path[600], fixture_path[600];

/* ---- helpers ------------------------------------------------------- */

static const char *
req_path(const char *name)
{
	static char buf[700];

	snprintf(buf, sizeof(buf), "examples/requests/%s", name);
	return cu_srcpath(buf);
}

/* Start an approvald with an HTTP listener and polls every hour: only the
 * first poll and webhooks wake the poller. */
static int
start_ad(struct ad *a, struct emu *e, const char *policy, const char *env)
{
	char path[700];

	if (ad_prepare(a, e, policy,
	        "http:\n"
	        "  listen: 127.0.0.1:0\n"
	        "  hook_secret_file: hook-secret\n"
	        "  graph_client_state_file: client-state\n") == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/hook-secret", a->dir);
	if (h_write_file(path, HOOK_SECRET "\n", 0600) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/client-state", a->dir);
	if (h_write_file(path, CLIENT_STATE "\n", 0600) == -1)
		return -1;
	if (file_replace(a->conf, "poll_interval: PT1S", "poll_interval: PT1H"))
		return -1;
	if (env != NULL && strcmp(env, "json") == 0) {
		if (file_replace(a->conf, "format: text", "format: json"))
			return -1;
		env = NULL;
	}
	if (env != NULL)
		snprintf(a->extra_env, sizeof(a->extra_env), "%s", env);
	if (ad_start(a) == -1)
		return -1;
	return ad_wait_ready(a, 20000);
}

/* What `policy` decides for a request file. */
static enum verdict_kind
oracle(const char *policy, const char *file, const char **rule,
    struct verdict *out, struct policy **keep)
{
	struct policy *p = NULL;
	struct cfg_diags dg;
	struct request r;
	struct verdict v;
	char *text = cu_slurp(file, NULL), *err = NULL;

	memset(&dg, 0, sizeof(dg));
	memset(&r, 0, sizeof(r));
	CU_ASSERT_FATAL(text != NULL);
	CU_ASSERT_FATAL(policy_load_file(policy, &p, &dg) == 0);
	CU_ASSERT_FATAL(request_from_json(text, strlen(text),
	                    REQ_SRC_PERMISSIONS, &r, &err) == 0);
	/* As the daemon does: the identity resolved against the tenant. */
	{
		struct cfg_directory *dir = NULL;

		CU_ASSERT_FATAL(
		    cfg_directory_load(fixture_path, &dir, &err) == 0);
		cfg_directory_resolve(dir, &r);
		cfg_directory_free(dir);
	}
	policy_evaluate(p, &r, (int64_t)time(NULL), NULL, NULL, &v, NULL);
	if (rule != NULL)
		*rule = v.rule ? strdup(v.rule) : NULL;
	if (out != NULL)
		*out = v;
	request_free(&r);
	if (keep != NULL)
		*keep = p;
	else
		policy_free(p);
	cfg_diags_free(&dg);
	free(text);
	return v.kind;
}

struct state_wait {
	struct ad *a;
	const char *key;
	const char *want1, *want2;
};

static int
state_is(void *arg)
{
	struct state_wait *w = arg;
	char *s = ad_state(w->a, w->key);
	int ok = s != NULL && (strcmp(s, w->want1) == 0 ||
	                          (w->want2 && strcmp(s, w->want2) == 0));

	free(s);
	return ok;
}

struct idle_wait {
	int port;
	double cycles;
};

static int
poll_idle(void *arg)
{
	struct idle_wait *w = arg;

	return metric(w->port,
	           "approvald_poll_running{source=\"permissions\"}") == 0 &&
	       metric(w->port,
	           "approvald_poll_cycles_total{source=\"permissions\"}") >=
	           w->cycles;
}

/* Run approvalctl; stdout into *out (heap); returns the wait status. */
static int
ctl(char **out, const char *a1, const char *a2, const char *a3, const char *a4,
    const char *a5, const char *a6)
{
	char cmd[4096], *buf = NULL;
	size_t n = 0, cap = 0, k;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' %s %s %s %s %s %s 2>/dev/null",
	    cu_buildpath("ctl/approvalctl"), a1, a2, a3 ? a3 : "", a4 ? a4 : "",
	    a5 ? a5 : "", a6 ? a6 : "");
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *nbuf = realloc(buf, cap);

			CU_ASSERT_FATAL(nbuf != NULL);
			buf = nbuf;
		}
		if ((k = fread(buf + n, 1, 4096, f)) == 0)
			break;
		n += k;
	}
	buf[n] = '\0';
	*out = buf;
	return pclose(f);
}

static int
exit_code(int status)
{
	return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
setup(void)
{
	snprintf(policy_path, sizeof(policy_path), "%s",
	    cu_srcpath("tests/integration/flow-policy.yaml"));
	snprintf(fixture_path, sizeof(fixture_path), "%s",
	    cu_srcpath("examples/demo-tenant.json"));
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* ---- hooks and metrics: one emulator and daemon for the suite ------- */

static struct emu hk_emu;
static struct ad hk_ad;
static int hk_port = -1;

static int
hooks_init(void)
{
	setup();
	if (emu_start(&hk_emu, fixture_path, 1) != 0)
		return -1;
	if (start_ad(&hk_ad, &hk_emu, policy_path, "json") != 0)
		return -1;
	return (hk_port = ad_port(&hk_ad)) > 0 ? 0 : -1;
}

static int
hooks_cleanup(void)
{
	int rc = ad_stop(&hk_ad, SIGTERM);

	emu_stop(&hk_emu);
	return rc == 0 ? 0 : -1;
}

#define DECIDE_204                                                             \
	"approvald_graph_calls_total{endpoint=\"permissions_decide\","         \
	"status=\"204\"}"

/* A signed hook makes the (hourly) poller pick up and decide a new
 * request at once; /metrics reflects the decision. */
static void
test_evaluate_wakes_poll(void)
{
	struct idle_wait iw = { hk_port, 1 };
	struct state_wait sw;
	struct resp r;
	const char *file = NULL, *rule = NULL;
	char key[256], body[512], series[512], *id;
	double before, nudges, decides;
	int i, ap, dn, cn;

	for (i = 0; i < NSEED && file == NULL; i++)
		if (oracle(policy_path, req_path(seed_files[i]), NULL, NULL,
		        NULL) == VERDICT_APPROVE)
			file = req_path(seed_files[i]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	oracle(policy_path, file, &rule, NULL, NULL);
	CU_ASSERT_FATAL(h_until(poll_idle, &iw, 20000) == 0);
	snprintf(series, sizeof(series),
	    "approvald_decisions_total{rule=\"%s\",verdict=\"approve\"}", rule);
	before = metric0(hk_port, series);
	nudges = metric0(hk_port,
	    "approvald_poll_nudges_total{source=\"permissions\",by=\"hook\"}");
	decides = metric0(hk_port, DECIDE_204);
	id = emu_create(&hk_emu, "alex@contoso.com", file);
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	snprintf(body, sizeof(body), "{\"request\":\"%s\"}", id);
	CU_ASSERT_EQUAL(post_evaluate(hk_port, HOOK_SECRET,
	                    (long long)time(NULL), body, &r),
	    202);
	resp_free(&r);
	snprintf(key, sizeof(key), "permissions:%s", id);
	sw.a = &hk_ad;
	sw.key = key;
	sw.want1 = "approved";
	sw.want2 = "completed";
	CU_ASSERT(h_until(state_is, &sw, 20000) == 0);
	CU_ASSERT_EQUAL(emu_truth_counts(&hk_emu, id, &ap, &dn, &cn), 0);
	CU_ASSERT_EQUAL(ap, 1);
	CU_ASSERT_EQUAL(dn + cn, 0);
	/* Metrics follow from the scenario. */
	CU_ASSERT_EQUAL(metric0(hk_port, series), before + 1);
	CU_ASSERT_EQUAL(metric0(hk_port, "approvald_poll_nudges_total{source="
	                                 "\"permissions\",by=\"hook\"}"),
	    nudges + 1);
	CU_ASSERT(
	    metric0(hk_port, "approvald_requests{source=\"permissions\","
	                     "state=\"approved\"}") +
	        metric0(hk_port, "approvald_requests{source="
	                         "\"permissions\",state=\"completed\"}") >=
	    1);
	CU_ASSERT(
	    metric0(hk_port, "approvald_store_commit_seconds_count") >= 1);
	CU_ASSERT_EQUAL(metric0(hk_port, DECIDE_204), decides + 1);
	CU_ASSERT(
	    metric0(hk_port, "approvald_graph_calls_total{endpoint="
	                     "\"permissions_changes\",status=\"200\"}") >= 1);
	CU_ASSERT(metric0(hk_port,
	              "approvald_graph_transfers_total{result=\"all\"}") >= 2);
	CU_ASSERT(metric0(hk_port, "approvald_hooks_total{hook=\"evaluate\","
	                           "result=\"accepted\"}") >= 1);
	/* JSON logs: every line an object; the transition carries fields */
	{
		char *log = cu_slurp(hk_ad.p.log, NULL), *line, *save = NULL;
		char want[600];
		int lines = 0, bad = 0;

		CU_ASSERT_FATAL(log != NULL);
		snprintf(want, sizeof(want),
		    "\"msg\":\"transition\",\"request\":\"%s\","
		    "\"rule\":\"%s\",\"from\":\"approving\","
		    "\"to\":\"approved\"",
		    key, rule);
		CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
		for (line = strtok_r(log, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			struct json_object *o = json_tokener_parse(line);

			lines++;
			bad += o == NULL ||
			       !json_object_is_type(o, json_type_object);
			json_object_put(o);
		}
		CU_ASSERT(lines > 10);
		CU_ASSERT_EQUAL(bad, 0);
		free(log);
	}
	free(id);
	free((char *)rule);
}

static double
hooks_count(const char *hook, const char *result)
{
	char s[256];

	snprintf(s, sizeof(s),
	    "approvald_hooks_total{hook=\"%s\",result=\"%s\"}", hook, result);
	return metric0(hk_port, s);
}

static void
test_evaluate_signatures(void)
{
	struct resp r;
	long long now = (long long)time(NULL);
	double acc = hooks_count("evaluate", "accepted");
	double bad = hooks_count("evaluate", "bad_signature");
	double stale = hooks_count("evaluate", "stale");
	double replay = hooks_count("evaluate", "replayed");
	double badbody = hooks_count("evaluate", "bad_body");
	const char *body = "{\"source\":\"permissions\"}";
	char hdr[256], req[1024];

	/* good */
	CU_ASSERT_EQUAL(
	    post_evaluate(hk_port, HOOK_SECRET, now, body, &r), 202);
	resp_free(&r);
	/* the same request again: a replay */
	CU_ASSERT_EQUAL(
	    post_evaluate(hk_port, HOOK_SECRET, now, body, &r), 401);
	resp_free(&r);
	/* empty body, good signature */
	CU_ASSERT_EQUAL(post_evaluate(hk_port, HOOK_SECRET, now, "", &r), 202);
	resp_free(&r);
	/* wrong secret */
	CU_ASSERT_EQUAL(
	    post_evaluate(hk_port, "wrong", now + 1, body, &r), 401);
	resp_free(&r);
	/* signed body differs from the one sent */
	sign(HOOK_SECRET, now, "{}", hdr, sizeof(hdr));
	CU_ASSERT_EQUAL(
	    http_req(hk_port, "POST", "/v1/hooks/evaluate", hdr, "{ }", 3, &r),
	    401);
	resp_free(&r);
	/* stale and future timestamps, correctly signed: a minute outside the
	 * 300 s window, so a slow run (ASan) cannot drift back inside it */
	CU_ASSERT_EQUAL(
	    post_evaluate(hk_port, HOOK_SECRET, now - 360, body, &r), 401);
	resp_free(&r);
	CU_ASSERT_EQUAL(
	    post_evaluate(hk_port, HOOK_SECRET, now + 360, body, &r), 401);
	resp_free(&r);
	/* missing and malformed headers */
	CU_ASSERT_EQUAL(http_req(hk_port, "POST", "/v1/hooks/evaluate", NULL,
	                    body, strlen(body), &r),
	    401);
	resp_free(&r);
	snprintf(
	    req, sizeof(req), "X-Approvald-Signature: t=%lld,v1=zz\r\n", now);
	CU_ASSERT_EQUAL(http_req(hk_port, "POST", "/v1/hooks/evaluate", req,
	                    body, strlen(body), &r),
	    401);
	resp_free(&r);
	/* good signature over a body that is not a JSON object */
	CU_ASSERT_EQUAL(
	    post_evaluate(hk_port, HOOK_SECRET, now, "[1]", &r), 400);
	resp_free(&r);
	CU_ASSERT_EQUAL(hooks_count("evaluate", "accepted"), acc + 2);
	CU_ASSERT_EQUAL(hooks_count("evaluate", "bad_signature"), bad + 4);
	CU_ASSERT_EQUAL(hooks_count("evaluate", "stale"), stale + 2);
	CU_ASSERT_EQUAL(hooks_count("evaluate", "replayed"), replay + 1);
	CU_ASSERT_EQUAL(hooks_count("evaluate", "bad_body"), badbody + 1);
}

static void
test_limits_methods(void)
{
	struct resp r;
	size_t big = 70 * 1024;
	char *body = malloc(big + 1), *hdr = malloc(10 * 1024), sig[256];
	double toolarge = hooks_count("evaluate", "too_large");
	double method =
	    metric0(hk_port, "approvald_http_refused_total{reason=\"method\"}");
	double big_headers = metric0(hk_port,
	    "approvald_http_refused_total{reason=\"headers_too_large\"}");

	CU_ASSERT_FATAL(body != NULL && hdr != NULL);
	memset(body, ' ', big);
	body[0] = '{';
	body[big - 1] = '}';
	body[big] = '\0';
	/* above the hook limit, below the listener's: the hook says 413 */
	sign(HOOK_SECRET, (long long)time(NULL), body, sig, sizeof(sig));
	CU_ASSERT_EQUAL(
	    http_req(hk_port, "POST", "/v1/hooks/evaluate", sig, body, big, &r),
	    413);
	resp_free(&r);
	CU_ASSERT_EQUAL(hooks_count("evaluate", "too_large"), toolarge + 1);
	/* above the listener's body limit: refused before any hook code */
	CU_ASSERT_EQUAL(
	    raw_http(hk_port,
	        "POST /v1/hooks/graph HTTP/1.1\r\nHost: x\r\n"
	        "Content-Length: 1000000\r\n\r\n",
	        strlen("POST /v1/hooks/graph HTTP/1.1\r\nHost: x\r\n"
	               "Content-Length: 1000000\r\n\r\n"),
	        &r),
	    413);
	resp_free(&r);
	/* headers above http.max_header_bytes: 431, and counted */
	memset(hdr, 'a', 9 * 1024);
	/* a prefix written in place; the terminator comes with "\r\n" */
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(hdr, "X-Big: ", 7);
	memcpy(hdr + 9 * 1024, "\r\n", 3);
	CU_ASSERT_EQUAL(
	    http_req(hk_port, "POST", "/v1/hooks/evaluate", hdr, "", 0, &r),
	    431);
	resp_free(&r);
	CU_ASSERT_EQUAL(metric0(hk_port, "approvald_http_refused_total{"
	                                 "reason=\"headers_too_large\"}"),
	    big_headers + 1);
	/* only the documented methods */
	CU_ASSERT_EQUAL(
	    http_req(hk_port, "GET", "/v1/hooks/evaluate", NULL, NULL, 0, &r),
	    405);
	resp_free(&r);
	CU_ASSERT_EQUAL(
	    http_req(hk_port, "GET", "/v1/hooks/graph", NULL, NULL, 0, &r),
	    405);
	resp_free(&r);
	CU_ASSERT_EQUAL(
	    http_req(hk_port, "POST", "/metrics", NULL, NULL, 0, &r), 405);
	resp_free(&r);
	CU_ASSERT_EQUAL(
	    http_req(hk_port, "PUT", "/v1/hooks/evaluate", NULL, "{}", 2, &r),
	    405);
	CU_ASSERT_PTR_NOT_NULL(r.body);
	resp_free(&r);
	CU_ASSERT_EQUAL(
	    http_req(hk_port, "DELETE", "/v1/hooks/graph", NULL, NULL, 0, &r),
	    405);
	resp_free(&r);
	CU_ASSERT_EQUAL(
	    metric0(hk_port, "approvald_http_refused_total{reason=\"method\"}"),
	    method + 5);
	/* and the listener still serves */
	CU_ASSERT_EQUAL(
	    http_req(hk_port, "GET", "/healthz", NULL, NULL, 0, &r), 200);
	resp_free(&r);
	free(body);
	free(hdr);
}

static void
test_graph_validation(void)
{
	struct resp r;
	char *path;
	size_t i, n = 16 * 1024;

	CU_ASSERT_EQUAL(http_req(hk_port, "POST",
	                    "/v1/hooks/graph?validationToken="
	                    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
	                    NULL, NULL, 0, &r),
	    200);
	CU_ASSERT_STRING_EQUAL(r.ctype, "text/plain");
	CU_ASSERT_EQUAL(r.len, strlen("<script>alert(1)</script>"));
	CU_ASSERT(
	    r.body != NULL && strcmp(r.body, "<script>alert(1)</script>") == 0);
	resp_free(&r);
	/* %00 is echoed as the byte it encodes, nothing cut or added */
	CU_ASSERT_EQUAL(
	    http_req(hk_port, "POST", "/v1/hooks/graph?validationToken=a%00b+c",
	        NULL, NULL, 0, &r),
	    200);
	CU_ASSERT_EQUAL(r.len, 5);
	CU_ASSERT(r.body != NULL && memcmp(r.body, "a\0b c", 5) == 0);
	resp_free(&r);
	/* 16 KB: more than the header limit; refused, the listener lives */
	path = malloc(n + 64);
	CU_ASSERT_FATAL(path != NULL);
	strcpy(path, "/v1/hooks/graph?validationToken=");
	for (i = strlen(path); i < n + 32; i++)
		path[i] = 'x';
	path[i] = '\0';
	CU_ASSERT_EQUAL(
	    http_req(hk_port, "POST", path, NULL, NULL, 0, &r), 414);
	resp_free(&r);
	free(path);
	/* a 4 KB token within the limits is echoed whole */
	path = malloc(4096 + 64);
	CU_ASSERT_FATAL(path != NULL);
	strcpy(path, "/v1/hooks/graph?validationToken=");
	for (i = strlen(path);
	     i < strlen("/v1/hooks/graph?validationToken=") + 4096; i++)
		path[i] = 'y';
	path[i] = '\0';
	CU_ASSERT_EQUAL(
	    http_req(hk_port, "POST", path, NULL, NULL, 0, &r), 200);
	CU_ASSERT_EQUAL(r.len, 4096);
	resp_free(&r);
	free(path);
	CU_ASSERT_EQUAL(
	    http_req(hk_port, "GET", "/healthz", NULL, NULL, 0, &r), 200);
	resp_free(&r);
}

static long
post_graph(const char *body, struct resp *r)
{
	return http_req(hk_port, "POST", "/v1/hooks/graph",
	    "Content-Type: application/json\r\n", body, strlen(body), r);
}

#define NOTE(cs, res)                                                          \
	"{\"subscriptionId\":\"s1\",\"clientState\":\"" cs "\","               \
	"\"changeType\":\"updated\",\"resource\":\"groups/" res "/members\"}"

static void
test_graph_notifications(void)
{
	const char *nudge =
	    "approvald_poll_nudges_total{source=\"permissions\",by=\"hook\"}";
	const char *good = "{\"value\":[" NOTE(CLIENT_STATE, "g1") "]}";
	const char *reordered = "{\"value\":[" NOTE(
	    CLIENT_STATE, "g2") "," NOTE(CLIENT_STATE, "g1") "]}";
	const char *wrong = "{\"value\":[" NOTE(
	    "client-state-abcdef-0123456789abcdeX", "g1") "]}";
	const char *shorter = "{\"value\":[" NOTE("client", "g1") "]}";
	const char *mixed =
	    "{\"value\":[" NOTE(CLIENT_STATE, "g1") "," NOTE("nope", "g2") "]}";
	const char *missed = "{\"value\":[{\"subscriptionId\":\"s1\","
	                     "\"clientState\":\"" CLIENT_STATE "\","
	                     "\"lifecycleEvent\":\"missed\"}]}";
	const char *reauth =
	    "{\"value\":[{\"subscriptionId\":\"s1\","
	    "\"clientState\":\"" CLIENT_STATE "\","
	    "\"lifecycleEvent\":\"reauthorizationRequired\"}]}";
	struct resp good_r, bad_r, r;
	double n0 = metric0(hk_port, nudge);
	double acc = hooks_count("graph", "accepted");
	double rej = hooks_count("graph", "bad_client_state");
	double life = hooks_count("graph", "lifecycle");

	/* a good notification and a wrong clientState look the same */
	CU_ASSERT_EQUAL(post_graph(good, &good_r), 202);
	CU_ASSERT_EQUAL(metric0(hk_port, nudge), n0 + 1);
	CU_ASSERT_EQUAL(post_graph(wrong, &bad_r), 202);
	CU_ASSERT_EQUAL(good_r.len, bad_r.len);
	CU_ASSERT(good_r.len == 0 ||
	          memcmp(good_r.body, bad_r.body, good_r.len) == 0);
	CU_ASSERT_STRING_EQUAL(good_r.ctype, bad_r.ctype);
	resp_free(&good_r);
	resp_free(&bad_r);
	CU_ASSERT_EQUAL(post_graph(shorter, &r), 202);
	resp_free(&r);
	CU_ASSERT_EQUAL(post_graph(mixed, &r), 202);
	resp_free(&r);
	/* none of them had an effect */
	CU_ASSERT_EQUAL(metric0(hk_port, nudge), n0 + 1);
	CU_ASSERT_EQUAL(hooks_count("graph", "bad_client_state"), rej + 3);
	/* duplicate and reordered notifications: accepted, one nudge each
	 * (the poller coalesces them) */
	CU_ASSERT_EQUAL(post_graph(good, &r), 202);
	resp_free(&r);
	CU_ASSERT_EQUAL(post_graph(reordered, &r), 202);
	resp_free(&r);
	CU_ASSERT_EQUAL(metric0(hk_port, nudge), n0 + 3);
	/* lifecycle: missed resyncs (nudges every poller), others only log */
	CU_ASSERT_EQUAL(post_graph(missed, &r), 202);
	resp_free(&r);
	CU_ASSERT_EQUAL(metric0(hk_port, nudge), n0 + 4);
	CU_ASSERT_EQUAL(post_graph(reauth, &r), 202);
	resp_free(&r);
	CU_ASSERT_EQUAL(metric0(hk_port, nudge), n0 + 4);
	CU_ASSERT_EQUAL(hooks_count("graph", "lifecycle"), life + 2);
	CU_ASSERT_EQUAL(hooks_count("graph", "accepted"), acc + 5);
	/* garbage is answered 202 too, and counted */
	CU_ASSERT_EQUAL(post_graph("not json", &r), 202);
	resp_free(&r);
	CU_ASSERT(hooks_count("graph", "bad_body") >= 1);
}

/* ---- audit trail and replay: a settled history ---------------------- */

struct seeds {
	struct ad *a;
	char *id[NSEED];
	const char *want[NSEED];
};

static int
seeds_settled(void *arg)
{
	struct seeds *s = arg;
	struct state_wait w;
	char key[256];
	int i;

	for (i = 0; i < NSEED; i++) {
		snprintf(key, sizeof(key), "permissions:%s", s->id[i]);
		w.a = s->a;
		w.key = key;
		w.want1 = s->want[i];
		w.want2 =
		    strcmp(s->want[i], "approved") == 0 ? "completed" : NULL;
		if (!state_is(&w))
			return 0;
	}
	return 1;
}

/* Run the example seeds through a daemon until settled, then stop it. */
static void
history(struct emu *e, struct ad *a, struct seeds *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->a = a;
	CU_ASSERT_FATAL(emu_start(e, fixture_path, 1) == 0);
	for (i = 0; i < NSEED; i++) {
		switch (oracle(
		    policy_path, req_path(seed_files[i]), NULL, NULL, NULL)) {
		case VERDICT_APPROVE:
			s->want[i] = "approved";
			break;
		case VERDICT_REJECT:
			s->want[i] = "rejected";
			break;
		case VERDICT_STAGES:
			s->want[i] = "pending";
			break;
		default:
			s->want[i] = "ignored";
			break;
		}
		s->id[i] =
		    emu_create(e, "alex@contoso.com", req_path(seed_files[i]));
		CU_ASSERT_PTR_NOT_NULL_FATAL(s->id[i]);
	}
	CU_ASSERT_FATAL(start_ad(a, e, policy_path, NULL) == 0);
	CU_ASSERT_FATAL(h_until(seeds_settled, s, 30000) == 0);
	CU_ASSERT_EQUAL_FATAL(ad_stop(a, SIGTERM), 0);
}

static void
seeds_free(struct seeds *s)
{
	int i;

	for (i = 0; i < NSEED; i++)
		free(s->id[i]);
}

/* Copy `src` to `dst` and run `sql` on the copy (an attacker's edit). */
static int
tamper(const char *src, const char *dst, const char *sql)
{
	sqlite3 *h = NULL;
	char *q;
	int rc = -1;

	unlink(dst);
	if (asprintf(&q, "VACUUM INTO '%s'", dst) == -1)
		return -1;
	if (sqlite3_open_v2(src, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_exec(h, q, NULL, NULL, NULL) == SQLITE_OK)
		rc = 0;
	sqlite3_close(h);
	free(q);
	h = NULL;
	if (rc == 0 && (sqlite3_open(dst, &h) != SQLITE_OK ||
	                   sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK))
		rc = -1;
	sqlite3_close(h);
	return rc;
}

static size_t
count_lines(const char *s, const char *prefix)
{
	size_t n = 0;
	const char *p = s;

	while (p != NULL && *p) {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return n;
}

static void
expect_broken(
    const char *state, const char *copy, const char *sql, const char *where)
{
	char *out = NULL;

	CU_ASSERT_FATAL(tamper(state, copy, sql) == 0);
	CU_ASSERT_EQUAL(exit_code(ctl(&out, "audit", "verify", "--state", copy,
	                    NULL, NULL)),
	    1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, where));
	if (strstr(out, where) == NULL)
		fprintf(stderr, "verify said: %s (want %s)\n", out, where);
	free(out);
}

static void
test_audit_chain(void)
{
	struct emu e;
	struct ad a;
	struct seeds s;
	char *out = NULL, copy[700];
	long long n, nj;
	int i, decided;

	history(&e, &a, &s);
	n = sql_count(a.state, "SELECT count(*) FROM audit");
	nj = sql_count(a.state, "SELECT count(*) FROM journal");
	CU_ASSERT(n >= NSEED * 2);
	/* one audit entry per journalled transition */
	CU_ASSERT_EQUAL(
	    sql_count(a.state,
	        "SELECT count(*) FROM audit WHERE kind = 'transition'"),
	    nj);
	/* and one per Graph call that decided, on the request it decided:
	 * the approved and rejected seeds */
	for (i = 0, decided = 0; i < NSEED; i++)
		decided += strcmp(s.want[i], "approved") == 0 ||
		           strcmp(s.want[i], "rejected") == 0;
	CU_ASSERT(decided >= 2);
	CU_ASSERT_EQUAL(sql_count(a.state,
	                    "SELECT count(*) FROM audit WHERE kind = "
	                    "'graph_call' AND key IN (SELECT key FROM requests)"
	                    " AND json_extract(detail, '$.outcome') = 'ok'"
	                    " AND json_extract(detail, '$.status') = 204"),
	    decided);
	CU_ASSERT_EQUAL(sql_count(a.state,
	                    "SELECT count(DISTINCT key) FROM audit WHERE kind ="
	                    " 'graph_call' AND json_extract(detail, "
	                    "'$.endpoint') = 'permissions_decide'"),
	    decided);
	CU_ASSERT_EQUAL(n, nj + decided);
	CU_ASSERT_EQUAL(exit_code(ctl(&out, "audit", "verify", "--state",
	                    a.state, NULL, NULL)),
	    0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "entries verified"));
	free(out);
	CU_ASSERT_EQUAL(exit_code(ctl(&out, "audit", "export", "--state",
	                    a.state, "--format", "jsonl")),
	    0);
	CU_ASSERT_EQUAL((long long)count_lines(out, "{\"seq\":"), n);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "{\"seq\":1,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"kind\":\"transition\""));
	free(out);
	CU_ASSERT_EQUAL(exit_code(ctl(&out, "audit", "export", "--state",
	                    a.state, "--since", "2999-01-01T00:00:00Z")),
	    0);
	CU_ASSERT_EQUAL(count_lines(out, "{"), 0);
	free(out);
	/* the daemon's own triggers refuse edits */
	snprintf(copy, sizeof(copy), "%s/tampered.db", a.dir);
	CU_ASSERT_FATAL(
	    tamper(a.state, copy,
	        "UPDATE audit SET detail = '{}' WHERE seq = 1") == -1);
	expect_broken(a.state, copy,
	    "DROP TRIGGER audit_append_only_u;"
	    "UPDATE audit SET detail = detail || ' ' WHERE seq = 3",
	    "broken at seq 3: entry was edited");
	expect_broken(a.state, copy,
	    "DROP TRIGGER audit_append_only_d;"
	    "DELETE FROM audit WHERE seq = 4",
	    "broken at seq 4");
	expect_broken(a.state, copy,
	    "DROP TRIGGER audit_append_only_u;"
	    "CREATE TEMP TABLE t AS SELECT * FROM audit WHERE seq IN (2, 3);"
	    "UPDATE audit SET"
	    " at = (SELECT at FROM t WHERE t.seq = 5 - audit.seq),"
	    " key = (SELECT key FROM t WHERE t.seq = 5 - audit.seq),"
	    " kind = (SELECT kind FROM t WHERE t.seq = 5 - audit.seq),"
	    " detail = (SELECT detail FROM t WHERE t.seq = 5 - audit.seq),"
	    " prev_hash = (SELECT prev_hash FROM t WHERE t.seq = 5 - "
	    "audit.seq),"
	    " hash = (SELECT hash FROM t WHERE t.seq = 5 - audit.seq)"
	    " WHERE seq IN (2, 3)",
	    "broken at seq 2");
	/* an untouched copy still verifies */
	CU_ASSERT_FATAL(tamper(a.state, copy, "SELECT 1") == 0);
	CU_ASSERT_EQUAL(exit_code(ctl(&out, "audit", "verify", "--state", copy,
	                    NULL, NULL)),
	    0);
	free(out);
	seeds_free(&s);
	emu_stop(&e);
}

/* When the audit row cannot be written, nothing is acted on. */
static void
test_audit_fail_closed(void)
{
	struct emu e;
	struct ad a;
	struct resp r;
	struct idle_wait iw;
	char *id[NSEED];
	int i, port;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	for (i = 0; i < NSEED; i++) {
		id[i] =
		    emu_create(&e, "alex@contoso.com", req_path(seed_files[i]));
		CU_ASSERT_PTR_NOT_NULL_FATAL(id[i]);
	}
	CU_ASSERT_FATAL(
	    start_ad(&a, &e, policy_path, "APPROVALD_AUDIT_FAIL=1") == 0);
	CU_ASSERT_FATAL((port = ad_port(&a)) > 0);
	iw.port = port;
	iw.cycles = 1;
	CU_ASSERT_FATAL(h_until(poll_idle, &iw, 20000) == 0);
	/* a second full cycle, woken by a hook */
	CU_ASSERT_EQUAL(
	    post_evaluate(port, HOOK_SECRET, (long long)time(NULL), "", &r),
	    202);
	resp_free(&r);
	iw.cycles = 2;
	CU_ASSERT(h_until(poll_idle, &iw, 20000) == 0);
	CU_ASSERT_EQUAL(emu_truth_total(&e), 0);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	CU_ASSERT_EQUAL(sql_count(a.state, "SELECT count(*) FROM journal"), 0);
	CU_ASSERT_EQUAL(sql_count(a.state, "SELECT count(*) FROM audit"), 0);
	CU_ASSERT_EQUAL(sql_count(a.state, "SELECT count(*) FROM intents"), 0);
	for (i = 0; i < NSEED; i++)
		free(id[i]);
	emu_stop(&e);
}

/* Does `p2` decide the file differently from `p1` (verdict, rule, stages)? */
static int
differs(const char *p1, const char *p2, const char *file)
{
	struct verdict a, b;
	struct policy *pa = NULL, *pb = NULL;
	size_t i;
	int d;

	oracle(p1, file, NULL, &a, &pa);
	oracle(p2, file, NULL, &b, &pb);
	d = a.kind != b.kind || strcmp(a.rule ? a.rule : "default",
	                            b.rule ? b.rule : "default") != 0;
	if (!d && a.kind == VERDICT_STAGES) {
		d = a.nstages != b.nstages;
		for (i = 0; !d && i < a.nstages; i++)
			d = a.stages[i].approvals != b.stages[i].approvals ||
			    a.stages[i].deny_after != b.stages[i].deny_after ||
			    a.stages[i].escalate_after !=
			        b.stages[i].escalate_after ||
			    a.stages[i].remind_every !=
			        b.stages[i].remind_every ||
			    a.stages[i].justification_required !=
			        b.stages[i].justification_required;
	}
	policy_free(pa);
	policy_free(pb);
	return d;
}

static void
test_replay(void)
{
	struct emu e;
	struct ad a;
	struct seeds s;
	char *out = NULL, changed[700], bad[700], want[128];
	int i, expect = 0;

	history(&e, &a, &s);
	/* the same policy: no differences */
	CU_ASSERT_EQUAL(exit_code(ctl(&out, "replay", policy_path, "--state",
	                    a.state, "--since", "P1D")),
	    0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(count_lines(out, "permissions:"), 0);
	snprintf(want, sizeof(want), "replay: %d requests, 0 differ", NSEED);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	free(out);
	out = NULL;
	/* a changed policy: an approve rule narrowed, a stage deadline moved */
	snprintf(changed, sizeof(changed), "%s/changed.yaml", a.dir);
	{
		char *t = cu_slurp(policy_path, NULL);

		CU_ASSERT_FATAL(
		    t != NULL && h_write_file(changed, t, 0600) == 0);
		free(t);
	}
	CU_ASSERT_FATAL(file_replace(changed, "max_duration: PT4H",
	                    "max_duration: PT1M") == 0);
	CU_ASSERT_FATAL(
	    file_replace(changed, "deny_after: P2D", "deny_after: P3D") == 0);
	CU_ASSERT_EQUAL(exit_code(ctl(&out, "replay", changed, "--state",
	                    a.state, NULL, NULL)),
	    0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	for (i = 0; i < NSEED; i++) {
		char key[256];
		int d = differs(policy_path, changed, req_path(seed_files[i]));

		snprintf(key, sizeof(key), "permissions:%s:", s.id[i]);
		expect += d;
		CU_ASSERT_EQUAL(strstr(out, key) != NULL, d);
	}
	CU_ASSERT(expect >= 2);
	CU_ASSERT_EQUAL((int)count_lines(out, "permissions:"), expect);
	snprintf(want, sizeof(want), "replay: %d requests, %d differ", NSEED,
	    expect);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "verdict approve -> "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "deny_after 172800 -> 259200"));
	free(out);
	/* a bad policy: non-zero, nothing replayed */
	snprintf(bad, sizeof(bad), "%s/bad.yaml", a.dir);
	CU_ASSERT_FATAL(h_write_file(bad, "version: 1\nrules: [\n", 0600) == 0);
	CU_ASSERT_NOT_EQUAL(
	    exit_code(ctl(&out, "replay", bad, "--state", a.state, NULL, NULL)),
	    0);
	CU_ASSERT_EQUAL(count_lines(out, "replay:"), 0);
	free(out);
	seeds_free(&s);
	emu_stop(&e);
}

static const struct cu_test hook_tests[] = {
	{ "evaluate_wakes_poll", test_evaluate_wakes_poll },
	{ "evaluate_signatures", test_evaluate_signatures },
	{ "limits_methods", test_limits_methods },
	{ "graph_validation", test_graph_validation },
	{ "graph_notifications", test_graph_notifications },
	{ NULL, NULL },
};

static const struct cu_test audit_tests[] = {
	{ "chain", test_audit_chain },
	{ "fail_closed", test_audit_fail_closed },
	{ NULL, NULL },
};

static const struct cu_test replay_tests[] = {
	{ "replay", test_replay },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "hooks", hooks_init, hooks_cleanup, hook_tests },
	{ "audit", setup, NULL, audit_tests },
	{ "replay", setup, NULL, replay_tests },
	{ NULL, NULL, NULL, NULL },
};
