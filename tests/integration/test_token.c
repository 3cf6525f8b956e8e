/*
 * Issue 13 items 1, 7, 9: approvald's token manager against graph-emulator,
 * in process. The approver's refresh token is redeemed as the public client
 * without a credential (the emulator refuses otherwise, as Entra does);
 * client assertions PS256 (x5t#S256) and RS256 (x5t); the circuit: a
 * revoked refresh token is asked for a bounded number of times however
 * often a token is wanted, token_health_get() says why, and token_reload()
 * with a new token file makes the credential healthy again. Counts are read
 * from the emulator's log (ground truth), never timed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "cu.h"
#include "graph.h"
#include "harness.h"
#include "hookutil.h"
#include "listen.h"

#define APP_ID  "0f6b3a2e-9c1d-4e8a-b7f5-3d2c1b0a9e8f"
#define APP_SEC "demo-only-secret-approvald"
#define PUB_ID  "e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e"
#define RT      "demo-refresh-token-approvald"
#define NGETS   20 /* token wanted this often while the credential is dead */

static struct emu e;
static struct event_base *base;
static struct graph *g;
static char token_url[400], rt_file[600], fixture[600], tenant[64];
static char cert_pem[600], key_pem[600]; /* the test app certificate and key */

/* The demo tenant with the test certificate registered on approvald's
 * app, so client assertions can be verified. */
static int
write_fixture(void)
{
	struct json_object *f, *apps, *a, *v;
	size_t i;
	char path[600], link[600];

	snprintf(
	    path, sizeof(path), "%s/examples/demo-tenant.json", SOURCE_DIR);
	if ((f = json_object_from_file(path)) == NULL ||
	    !json_object_object_get_ex(f, "apps", &apps) ||
	    !json_object_object_get_ex(f, "tenantId", &v))
		return -1;
	snprintf(tenant, sizeof(tenant), "%s", json_object_get_string(v));
	snprintf(cert_pem, sizeof(cert_pem), "%s", cu_buildpath("tls/app.pem"));
	snprintf(
	    key_pem, sizeof(key_pem), "%s", cu_buildpath("tls/app-key.pem"));
	for (i = 0; i < json_object_array_length(apps); i++) {
		a = json_object_array_get_idx(apps, i);
		if (json_object_object_get_ex(a, "clientId", &v) &&
		    strcmp(json_object_get_string(v), APP_ID) == 0)
			json_object_object_add(a, "certificateFile",
			    json_object_new_string(cert_pem));
	}
	/* approvalctl login polls every second */
	{
		struct json_object *tok = json_object_new_object();

		json_object_object_add(
		    tok, "deviceCodeInterval", json_object_new_int(1));
		json_object_object_add(f, "tokens", tok);
	}
	snprintf(fixture, sizeof(fixture), "%s/token-tenant.json", h_tmpdir());
	/* the fixture names request files relative to itself */
	snprintf(path, sizeof(path), "%s/examples/requests", SOURCE_DIR);
	snprintf(link, sizeof(link), "%s/requests", h_tmpdir());
	if (symlink(path, link) == -1)
		return -1;
	i = (size_t)json_object_to_file(fixture, f);
	json_object_put(f);
	return (int)i;
}

static int
suite_init(void)
{
	static const char *origin[1];
	struct graph_opts o;
	char *err = NULL;

	if (write_fixture() != 0 || emu_start(&e, fixture, 0) != 0)
		return -1;
	snprintf(token_url, sizeof(token_url), "%s/%s/oauth2/v2.0/token", e.url,
	    tenant);
	snprintf(rt_file, sizeof(rt_file), "%s/approver-token", h_tmpdir());
	origin[0] = e.url;
	memset(&o, 0, sizeof(o));
	o.origins = origin;
	o.norigins = 1;
	o.allow_http = 1;
	o.max_inflight = 4;
	o.timeout = 10;
	o.quiet = 1;
	if ((base = event_base_new()) == NULL ||
	    (g = graph_new(base, &o, &err)) == NULL) {
		free(err);
		return -1;
	}
	return 0;
}

static int
suite_clean(void)
{
	graph_free(g);
	event_base_free(base);
	emu_stop(&e);
	return 0;
}

struct got {
	int done;
	char bearer[256];
	char err[256];
};

static void
got_cb(void *arg, const char *bearer, const char *err)
{
	struct got *r = arg;

	r->done = 1;
	snprintf(r->bearer, sizeof(r->bearer), "%s", bearer ? bearer : "");
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

/* token_get, running the loop until it answers. */
static void
get(struct token_mgr *t, enum token_kind k, struct got *r)
{
	memset(r, 0, sizeof(*r));
	token_get(t, k, got_cb, r);
	while (!r->done)
		event_base_loop(base, EVLOOP_ONCE);
}

static struct token_mgr *
mgr(const char *secret, const char *cert, enum token_alg alg)
{
	struct token_opts o;
	char *err = NULL;
	struct token_mgr *t;

	memset(&o, 0, sizeof(o));
	o.token_url = token_url;
	o.client_id = APP_ID;
	o.client_secret = secret;
	if (cert != NULL) {
		o.cert_file = cert;
		o.key_file = key_pem;
	}
	o.refresh_token_file = rt_file;
	o.approver_client_id = PUB_ID;
	o.assertion_alg = alg;
	t = token_new(base, g, &o, &err);
	free(err);
	return t;
}

/* Calls to the token endpoint in the emulator's log since `since`. */
static int
token_calls(void)
{
	struct json_object *l = emu_json(
	                       &e, "GET", "/_emulator/log", NULL, NULL),
	                   *calls, *c, *p;
	size_t i;
	int n = 0;

	if (l == NULL || !json_object_object_get_ex(l, "calls", &calls))
		return -1;
	for (i = 0; i < json_object_array_length(calls); i++) {
		c = json_object_array_get_idx(calls, i);
		if (json_object_object_get_ex(c, "path", &p) &&
		    strstr(json_object_get_string(p), "/oauth2/v2.0/token") !=
		        NULL)
			n++;
	}
	json_object_put(l);
	return n;
}

static void
reset(void)
{
	long st = 0;

	json_object_put(emu_json(&e, "POST", "/_emulator/reset", NULL, &st));
	CU_ASSERT_FATAL(st == 204);
	CU_ASSERT_FATAL(h_write_file(rt_file, RT, 0600) == 0);
}

/* The approver's refresh token is redeemed as the public client, without
 * the app's secret: the emulator answers 401 AADSTS700025 to a credential
 * and invalid_grant to approvald's own client id. */
static void
test_delegated_public(void)
{
	struct token_mgr *t;
	struct token_health h;
	struct got r;
	struct json_object *me;
	char *body = NULL, url[600];
	long st;

	reset();
	CU_ASSERT_FATAL((t = mgr(APP_SEC, NULL, TOKEN_ALG_PS256)) != NULL);
	get(t, TOKEN_DELEGATED, &r);
	CU_ASSERT_STRING_EQUAL(r.err, "");
	CU_ASSERT_FATAL(r.bearer[0] != '\0');
	/* it is the approver's token */
	snprintf(url, sizeof(url), "%s/v1.0/me", e.url);
	st = h_http(NULL, "GET", url, r.bearer, NULL, &body);
	CU_ASSERT_EQUAL(st, 200);
	me = body ? json_tokener_parse(body) : NULL;
	CU_ASSERT(me != NULL &&
	          strcmp(json_object_get_string(
	                     json_object_object_get(me, "userPrincipalName")),
	              "approvald@contoso.com") == 0);
	json_object_put(me);
	free(body);
	token_health_get(t, TOKEN_DELEGATED, &h);
	CU_ASSERT_EQUAL(h.configured, 1);
	CU_ASSERT_EQUAL(h.dead, 0);
	/* the app token still uses the secret */
	get(t, TOKEN_APP, &r);
	CU_ASSERT(r.bearer[0] != '\0');
	token_free(t);
}

/* Client assertions: PS256 with x5t#S256 (default) and RS256 with x5t are
 * both accepted by the stricter emulator. */
static void
test_assertions(void)
{
	static const enum token_alg algs[] = { TOKEN_ALG_PS256,
		TOKEN_ALG_RS256 };
	struct token_mgr *t;
	struct got r;
	size_t i;
	char *a, *err = NULL, *dot, hdr[256];
	unsigned char *dec;

	reset();
	for (i = 0; i < 2; i++) {
		t = mgr(NULL, cert_pem, algs[i]);
		CU_ASSERT_FATAL(t != NULL);
		get(t, TOKEN_APP, &r);
		CU_ASSERT_STRING_EQUAL(r.err, "");
		CU_ASSERT(r.bearer[0] != '\0');
		token_free(t);
	}
	/* the header names the algorithm and the matching thumbprint */
	a = token_client_assertion(
	    cert_pem, key_pem, APP_ID, token_url, 1000, TOKEN_ALG_PS256, &err);
	CU_ASSERT_FATAL(a != NULL);
	dot = strchr(a, '.');
	CU_ASSERT_FATAL(dot != NULL && (size_t)(dot - a) < sizeof(hdr));
	memcpy(hdr, a, (size_t)(dot - a));
	hdr[dot - a] = '\0';
	{
		size_t n;

		dec = sign_b64url_decode(hdr, strlen(hdr), &n);
	}
	CU_ASSERT_FATAL(dec != NULL);
	CU_ASSERT(strstr((char *)dec, "\"alg\":\"PS256\"") != NULL);
	CU_ASSERT(strstr((char *)dec, "\"x5t#S256\":") != NULL);
	CU_ASSERT(strstr((char *)dec, "\"x5t\":") == NULL);
	free(dec);
	free(a);
}

/* A revoked refresh token: one shared circuit, bounded attempts over
 * NGETS wants, health dead with the reason; a new token file and
 * token_reload() (what SIGHUP calls) make it healthy again. */
static void
test_circuit_and_reload(void)
{
	struct token_mgr *t;
	struct token_health h;
	struct got r;
	struct json_object *o;
	long st = 0;
	int i, before, attempts, failures = 0;
	char *err = NULL;

	reset();
	CU_ASSERT_FATAL((t = mgr(APP_SEC, NULL, TOKEN_ALG_PS256)) != NULL);
	json_object_put(emu_json(&e, "POST", "/_emulator/refreshtokens",
	    "{\"user\":\"approvald@contoso.com\",\"revoke\":true}", &st));
	CU_ASSERT_FATAL(st == 200);
	before = token_calls();
	for (i = 0; i < NGETS; i++) {
		get(t, TOKEN_DELEGATED, &r);
		failures += r.bearer[0] == '\0' && r.err[0] != '\0';
	}
	attempts = token_calls() - before;
	CU_ASSERT_EQUAL(failures, NGETS);
	/* one attempt, then the circuit answers (a second only if a whole
	 * back-off went by on a slow machine) */
	CU_ASSERT(attempts >= 1 && attempts <= 2);
	token_health_get(t, TOKEN_DELEGATED, &h);
	CU_ASSERT_EQUAL(h.configured, 1);
	CU_ASSERT_EQUAL(h.dead, 1);
	CU_ASSERT(h.since > 0);
	CU_ASSERT(h.failures >= 1 && h.failures <= 2);
	CU_ASSERT(strstr(h.reason, "invalid_grant") != NULL);
	CU_ASSERT(strstr(h.reason, "50173") != NULL);
	CU_ASSERT(strstr(r.err, "invalid_grant") != NULL);
	/* the app credential is its own circuit */
	token_health_get(t, TOKEN_APP, &h);
	CU_ASSERT_EQUAL(h.dead, 0);
	/* a token file readable by others is refused, the old one kept */
	CU_ASSERT_FATAL(h_write_file(rt_file, "whatever", 0644) == 0);
	CU_ASSERT_EQUAL(token_reload(t, &err), -1);
	free(err);
	err = NULL;
	token_health_get(t, TOKEN_DELEGATED, &h);
	CU_ASSERT_EQUAL(h.dead, 1);
	/* a new sign-in */
	o = emu_json(&e, "POST", "/_emulator/refreshtokens",
	    "{\"user\":\"approvald@contoso.com\",\"client\":\"" PUB_ID "\"}",
	    &st);
	CU_ASSERT_FATAL(st == 200 && o != NULL);
	unlink(rt_file);
	CU_ASSERT_FATAL(h_write_file(rt_file,
	                    json_object_get_string(
	                        json_object_object_get(o, "refresh_token")),
	                    0600) == 0);
	json_object_put(o);
	CU_ASSERT_EQUAL(token_reload(t, &err), 0);
	free(err);
	get(t, TOKEN_DELEGATED, &r);
	CU_ASSERT_STRING_EQUAL(r.err, "");
	CU_ASSERT(r.bearer[0] != '\0');
	token_health_get(t, TOKEN_DELEGATED, &h);
	CU_ASSERT_EQUAL(h.dead, 0);
	CU_ASSERT_EQUAL(h.failures, 0);
	CU_ASSERT_STRING_EQUAL(h.reason, "");
	token_free(t);
}

/* approvalctl login with `client` as graph.approver_client_id; spawned,
 * the user code line awaited. 0 or -1. */
static int
login_start(struct proc *p, const char *client, const char *log)
{
	char conf[700], yaml[1500], bin[600], line[256], *argv[5];

	snprintf(conf, sizeof(conf), "%s/login.yaml", h_tmpdir());
	snprintf(yaml, sizeof(yaml),
	    "graph:\n  url: %s\n  login_url: %s\n  tenant: %s\n"
	    "  client_id: " APP_ID "\n  client_secret_file: secret\n"
	    "  approver_client_id: %s\n"
	    "  approver_token_file: login-token\n"
	    "policy: p.yaml\nstate: s.db\n",
	    e.url, e.url, tenant, client);
	if (h_write_file(conf, yaml, 0600) == -1)
		return -1;
	snprintf(bin, sizeof(bin), "%s", cu_buildpath("ctl/approvalctl"));
	argv[0] = bin;
	argv[1] = "login";
	argv[2] = "--config";
	argv[3] = conf;
	argv[4] = NULL;
	memset(p, 0, sizeof(*p));
	if (h_spawn(p, argv, NULL, log) == -1)
		return -1;
	return h_wait_line(p, "user_code: ", line, sizeof(line), 20000);
}

/* 1 when the file at `path` holds `text`. */
static int
log_has(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	char buf[8192];
	size_t n;

	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, text) != NULL;
}

/* approvalctl login: the public client signs in; a confidential client
 * id is refused with Entra's error_description printed; an expired device
 * code ends with its own exit code. */
static void
test_login_errors(void)
{
	struct proc p;
	char log[700];
	int ws;
	long st = 0;

	reset();
	snprintf(log, sizeof(log), "%s/login-confidential.log", h_tmpdir());
	CU_ASSERT_FATAL(login_start(&p, APP_ID, log) == 0);
	ws = h_wait_exit(&p, 30000);
	CU_ASSERT(ws != -1 && WIFEXITED(ws) && WEXITSTATUS(ws) == 1);
	CU_ASSERT(log_has(log, "invalid_client"));
	CU_ASSERT(log_has(log, "AADSTS7000218"));
	/* the code expires (emulator clock) while the user has not signed in */
	snprintf(log, sizeof(log), "%s/login-expired.log", h_tmpdir());
	CU_ASSERT_FATAL(login_start(&p, PUB_ID, log) == 0);
	json_object_put(emu_json(
	    &e, "POST", "/_emulator/clock", "{\"advance\":\"PT16M\"}", &st));
	CU_ASSERT(st == 200);
	ws = h_wait_exit(&p, 30000);
	CU_ASSERT(ws != -1 && WIFEXITED(ws) && WEXITSTATUS(ws) == 4);
	CU_ASSERT(log_has(log, "expired_token"));
	CU_ASSERT(log_has(log, "AADSTS70020"));
}

/* Lines of the daemon's log holding `text`. */
static int
log_count(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, text) != NULL;
	fclose(f);
	return n;
}

static int
dead_logged(void *arg)
{
	return log_count(arg, "delegated credential is dead") >= 1;
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

static int
token_wait_logged(void *arg)
{
	return log_count(arg, "waiting for a token to") >= 1;
}

/* The daemon with a revoked approver token: one log line when the
 * credential goes dead (however often it is wanted); the decision waiting
 * for it neither uses its attempts nor ends in attention (it did, after
 * INTENT_MAX_ATTEMPTS "unknown outcomes" that never reached Graph); after
 * a new token file and SIGHUP it is approved once, and so is a new
 * request, with the new sign-in. Back-offs are cut to 20 ms so that the
 * old behaviour would show within a poll cycle. */
static void
test_sighup_new_token(void)
{
	struct ad a;
	struct json_object *o;
	struct readyz_wait rw;
	struct cycles_wait cw;
	char policy[700], *k1, *k2, *id2, *st1, cmd[300];
	long st = 0;
	int ap = 0, de = 0, ca = 0;

	reset();
	snprintf(policy, sizeof(policy), "%s/sighup-policy.yaml", h_tmpdir());
	CU_ASSERT_FATAL(h_write_file(policy,
	                    "version: 1\nrules:\n"
	                    "  - name: auto\n"
	                    "    when: { justification: \"^sighup\" }\n"
	                    "    decide: approve\n"
	                    "    reason: auto\n"
	                    "default:\n  decide: ignore\n",
	                    0600) == 0);
	json_object_put(emu_json(&e, "POST", "/_emulator/refreshtokens",
	    "{\"user\":\"approvald@contoso.com\",\"revoke\":true}", &st));
	CU_ASSERT_FATAL(st == 200);
	CU_ASSERT_FATAL(
	    ad_prepare(&a, &e, policy, "http:\n  listen: 127.0.0.1:0\n") == 0);
	snprintf(a.extra_env, sizeof(a.extra_env),
	    "APPROVALD_TEST_BACKOFF_MAX_MS=20");
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	CU_ASSERT_FATAL((rw.port = ad_port(&a)) > 0);
	/* a decision needs the approver's token: it goes dead */
	k1 = emu_create_tagged(&e, "sighup-1", "alex@contoso.com");
	CU_ASSERT_FATAL(k1 != NULL);
	CU_ASSERT(h_until(dead_logged, a.p.log, 30000) == 0);
	CU_ASSERT(h_until(token_wait_logged, a.p.log, 30000) == 0);
	cw.port = rw.port;
	cw.want = metric0(rw.port,
	              "approvald_poll_cycles_total{source=\"permissions\"}") +
	          2;
	CU_ASSERT(h_until(cycles_reached, &cw, 30000) == 0);
	st1 = ad_state(&a, k1);
	CU_ASSERT(st1 != NULL && strcmp(st1, "approving") == 0);
	free(st1);
	CU_ASSERT_EQUAL(metric0(rw.port, "approvald_requests_attention"), 0);
	/* visible: /readyz 503 with the reason, the metric at 0 */
	rw.status = 503;
	rw.text = "approver credential dead";
	CU_ASSERT(h_until(readyz_is, &rw, 30000) == 0);
	CU_ASSERT_EQUAL(metric0(rw.port,
	                    "approvald_credential_up{credential=\"approver\"}"),
	    0);
	CU_ASSERT_EQUAL(
	    metric0(rw.port, "approvald_credential_up{credential=\"app\"}"), 1);
	CU_ASSERT(emu_truth_counts(
	              &e, k1 + strlen("permissions:"), &ap, &de, &ca) == 0 &&
	          ap == 0);
	/* a new sign-in, then SIGHUP */
	o = emu_json(&e, "POST", "/_emulator/refreshtokens",
	    "{\"user\":\"approvald@contoso.com\",\"client\":\"" PUB_ID "\"}",
	    &st);
	CU_ASSERT_FATAL(st == 200 && o != NULL);
	CU_ASSERT_FATAL(ad_write_secret(&a, "approver-token",
	                    json_object_get_string(json_object_object_get(
	                        o, "refresh_token"))) == 0);
	json_object_put(o);
	CU_ASSERT_FATAL(kill(a.p.pid, SIGHUP) == 0);
	k2 = emu_create_tagged(&e, "sighup-2", "alex@contoso.com");
	CU_ASSERT_FATAL(k2 != NULL);
	CU_ASSERT(ad_wait_state(&a, k2, "approved", 30000) == 0);
	id2 = k2 + strlen("permissions:");
	CU_ASSERT(emu_truth_counts(&e, id2, &ap, &de, &ca) == 0 && ap == 1);
	/* the decision that waited goes out once the token is there */
	CU_ASSERT(ad_wait_state(&a, k1, "approved", 30000) == 0);
	CU_ASSERT(emu_truth_counts(
	              &e, k1 + strlen("permissions:"), &ap, &de, &ca) == 0 &&
	          ap == 1);
	CU_ASSERT_EQUAL(log_count(a.p.log, "waiting for a token to"), 1);
	/* no attempt was taken for an unknown outcome: nothing was sent */
	snprintf(cmd, sizeof(cmd), "show %s", k1);
	CU_ASSERT_FATAL((o = ad_ctl(&a, cmd)) != NULL);
	CU_ASSERT(
	    strstr(json_object_to_json_string(o), "result_unknown") == NULL);
	CU_ASSERT(strstr(json_object_to_json_string(o), "result_ok") != NULL);
	json_object_put(o);
	rw.status = 200;
	rw.text = "ready";
	CU_ASSERT(h_until(readyz_is, &rw, 30000) == 0);
	CU_ASSERT_EQUAL(metric0(rw.port,
	                    "approvald_credential_up{credential=\"approver\"}"),
	    1);
	/* one line per state change, not per attempt */
	CU_ASSERT_EQUAL(log_count(a.p.log, "delegated credential is dead"), 1);
	CU_ASSERT(log_count(a.p.log, "delegated credential reloaded") == 1);
	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	free(k1);
	free(k2);
}

static const struct cu_test token_tests[] = {
	{ "approver refresh: public client, no credential",
	    test_delegated_public },
	{ "client assertions PS256 and RS256", test_assertions },
	{ "revoked refresh token: bounded attempts, health, reload",
	    test_circuit_and_reload },
	{ "approvalctl login: error_description, exit codes",
	    test_login_errors },
	{ "approvald: SIGHUP takes a new approver token",
	    test_sighup_new_token },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "token", suite_init, suite_clean, token_tests },
	{ NULL, NULL, NULL, NULL },
};
