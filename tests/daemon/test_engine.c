/*
 * The engine and the executor in one process with a fake net (d->net,
 * net.h): no sockets, no emulator, no other process. A struct daemon is
 * built by hand (event base, settings and policy from files in a temp
 * directory, a store on a temp file, engine_init); a permissions request
 * is observed, the batch commits, the loop runs until the fake net has
 * nothing left to answer, and the test asserts what "Graph" was asked and
 * what the store holds. Two daemons live side by side in one process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cu.h"
#include "listen.h"

#define ALEX_ID  "3cce9d87-3986-4f19-8335-7ed075408ca2"
#define MAXCALLS 64

struct fake_call {
	struct fake_call *next;
	char *method, *url, *body;
	adapter_body_cb cb;
	void *arg;
};

/* A daemon with its fake Graph: what was asked, and how PATCHes answer. */
struct tdaemon {
	struct daemon d;
	struct fake_call *queue, **tail;
	char *log[MAXCALLS]; /* "METHOD path body" of every call, in order */
	int ncalls;
	long patch_status[4]; /* answers to successive PATCHes (0: 204) */
	int npatch;
	char request_body[2048]; /* the request as Graph reads it back */
	char dir[64];
};

static struct tdaemon *
td_of(struct daemon *d)
{
	return (struct tdaemon *)d; /* d is the first member */
}

static void
fake_call(struct daemon *d, enum token_kind kind, const char *method,
    const char *url, const char *body, adapter_body_cb cb, void *arg)
{
	struct tdaemon *t = td_of(d);
	struct fake_call *c = calloc(1, sizeof(*c));
	const char *path = strstr(url, "/beta/")   ? strstr(url, "/beta/")
	                   : strstr(url, "/v1.0/") ? strstr(url, "/v1.0/")
	                                           : url;

	(void)kind;
	CU_ASSERT_FATAL(c != NULL);
	c->method = strdup(method);
	c->url = strdup(url);
	c->body = body != NULL ? strdup(body) : NULL;
	c->cb = cb;
	c->arg = arg;
	if (t->ncalls < MAXCALLS &&
	    asprintf(&t->log[t->ncalls], "%s %s %s", method, path,
	        body != NULL ? body : "") != -1)
		t->ncalls++;
	*t->tail = c;
	t->tail = &c->next;
}

static const struct net_ops fake_net = { fake_call };

/* Graph's answer to one call, as a tenant would give it. */
static void
fake_answer(struct tdaemon *t, struct fake_call *c)
{
	char body[4096];
	long status = 404;

	body[0] = '\0';
	if (strcmp(c->method, "PATCH") == 0 || strcmp(c->method, "POST") == 0) {
		status = t->npatch < 4 && t->patch_status[t->npatch] != 0
		             ? t->patch_status[t->npatch]
		             : 204;
		t->npatch++;
	} else if (strstr(c->url, "/users") != NULL) {
		status = 200;
		snprintf(body, sizeof(body),
		    "{\"value\":[{\"id\":\"" ALEX_ID "\","
		    "\"userPrincipalName\":\"alex@contoso.com\","
		    "\"displayName\":\"Alex Wilber\"}],"
		    "\"id\":\"" ALEX_ID "\","
		    "\"userPrincipalName\":\"alex@contoso.com\","
		    "\"displayName\":\"Alex Wilber\"}");
	} else if (strstr(c->url, "/steps") != NULL) {
		status = 200;
		snprintf(body, sizeof(body),
		    "{\"value\":[{\"id\":\"step-1\",\"status\":"
		    "\"InProgress\",\"reviewResult\":\"NotReviewed\"}]}");
	} else if (strstr(c->url, "scheduledPermissionsRequests") != NULL) {
		status = 200;
		if (strstr(c->url, "$filter=") != NULL)
			snprintf(body, sizeof(body), "{\"value\":[%s]}",
			    t->request_body);
		else
			snprintf(body, sizeof(body), "%s", t->request_body);
	}
	c->cb(c->arg, status, status == 204 || body[0] == '\0' ? NULL : body,
	    status >= 400 ? "fake" : NULL);
}

static int
timer_soon_one(const struct event_base *base, const struct event *ev, void *arg)
{
	struct timeval when, now, *soon = arg;

	(void)base;
	if (event_pending(ev, EV_TIMEOUT, &when) & EV_TIMEOUT) {
		evutil_gettimeofday(&now, NULL);
		evutil_timersub(&when, &now, &when);
		if (evutil_timercmp(&when, soon, <))
			return 1;
	}
	return 0;
}

/* 1 when a timer is due within 100 ms. */
static int
timer_soon(struct event_base *base)
{
	struct timeval soon = { 0, 100000 };

	return event_base_foreach_event(base, timer_soon_one, &soon) == 1;
}

/* Run the loop and answer every queued call until nothing is left. */
static void
pump(struct tdaemon *t)
{
	int rounds;

	for (rounds = 0; rounds < 1000; rounds++) {
		struct fake_call *c;

		event_base_loop(t->d.base, EVLOOP_NONBLOCK);
		if ((c = t->queue) == NULL) {
			/* Nothing to answer: done unless a timer that is
			 * part of the work (a back-off, capped to 1 ms here)
			 * is armed; the next poll cycle (seconds away) is not. */
			if (!timer_soon(t->d.base))
				return;
			event_base_loop(t->d.base, EVLOOP_ONCE);
			continue;
		}
		t->queue = c->next;
		if (t->queue == NULL)
			t->tail = &t->queue;
		fake_answer(t, c);
		free(c->method);
		free(c->url);
		free(c->body);
		free(c);
	}
	CU_FAIL("the fake net never went quiet");
}

static int
count(struct tdaemon *t, const char *method, const char *needle)
{
	int i, n = 0;

	for (i = 0; i < t->ncalls; i++)
		if (strncmp(t->log[i], method, strlen(method)) == 0 &&
		    strstr(t->log[i], needle) != NULL)
			n++;
	return n;
}

static void
put(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CU_ASSERT_FATAL((f = fopen(path, "w")) != NULL);
	fputs(text, f);
	fclose(f);
}

static const char settings_yaml[] =
    "graph:\n"
    "  url: http://127.0.0.1:9\n"
    "  login_url: http://127.0.0.1:9\n"
    "  tenant: contoso.onmicrosoft.com\n"
    "  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n"
    "  client_secret_file: client-secret\n"
    "policy: policy.yaml\n"
    "state: state.db\n"
    "sources:\n"
    "  permissions: { enabled: true }\n";

static void
on_commit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	batch_commit(arg);
}

/* A daemon in its own directory, deciding with `policy`. */
static void
td_open(struct tdaemon *t, const char *policy)
{
	struct cfg_diags dg;
	char path[256], *err = NULL;

	memset(t, 0, sizeof(*t));
	t->tail = &t->queue;
	snprintf(t->dir, sizeof(t->dir), "/tmp/approvald-engine-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(t->dir) != NULL);
	put(t->dir, "approvald.yaml", settings_yaml);
	put(t->dir, "policy.yaml", policy);
	put(t->dir, "client-secret", "secret\n");
	memset(&dg, 0, sizeof(dg));
	snprintf(path, sizeof(path), "%s/approvald.yaml", t->dir);
	CU_ASSERT_FATAL(settings_load_file(path, &t->d.settings, &dg) == 0);
	cfg_diags_free(&dg);
	memset(&dg, 0, sizeof(dg));
	snprintf(path, sizeof(path), "%s/policy.yaml", t->dir);
	CU_ASSERT_FATAL(policy_load_file(path, &t->d.policy, &dg) == 0);
	cfg_diags_free(&dg);
	snprintf(path, sizeof(path), "%s/state.db", t->dir);
	CU_ASSERT_FATAL(store_open(path, &t->d.store, &err) == 0);
	CU_ASSERT_FATAL((t->d.base = event_base_new()) != NULL);
	CU_ASSERT_FATAL(event_base_priority_init(t->d.base, 2) == 0);
	CU_ASSERT_FATAL(
	    (t->d.graph_base = strdup("https://graph.test")) != NULL);
	t->d.graph_reach.retry_after = -1;
	t->d.net = &fake_net;
	engine_init(&t->d);
	CU_ASSERT_FATAL(ident_init(&t->d) == 0 && approvers_init(&t->d) == 0 &&
	                exec_init(&t->d) == 0);
	/* the batch commits when the loop turns, as in main.c */
	CU_ASSERT_FATAL((t->d.batch.ev = event_new(
	                     t->d.base, -1, 0, on_commit, &t->d)) != NULL);
	event_priority_set(t->d.batch.ev, 1);
}

static void
td_close(struct tdaemon *t)
{
	char cmd[128];
	int i;

	while (t->queue != NULL) {
		struct fake_call *c = t->queue;

		t->queue = c->next;
		free(c->method);
		free(c->url);
		free(c->body);
		free(c);
	}
	exec_free(&t->d);
	timers_free(&t->d);
	approvers_free(&t->d);
	engine_free(&t->d);
	ident_free(&t->d);
	member_free(&t->d);
	decide_free(&t->d);
	notify_free(&t->d);
	poll_free(&t->d);
	store_close(t->d.store);
	policy_free(t->d.policy);
	settings_free(t->d.settings);
	counters_free(&t->d);
	free(t->d.post);
	free(t->d.graph_base);
	event_free(t->d.batch.ev);
	event_base_free(t->d.base);
	for (i = 0; i < t->ncalls; i++)
		free(t->log[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	CU_ASSERT(system(cmd) == 0);
}

/* Graph's copy of request `id` (the documented created response with
 * that id and status). */
static void
td_request(struct tdaemon *t, const char *id, const char *status)
{
	char *fx = cu_slurp(cu_srcpath("tests/daemon/fixtures/"
	                               "permissions-request.json"),
	    NULL);
	char *at;

	CU_ASSERT_FATAL(fx != NULL);
	at = strstr(fx, "\"id\": \"00000000-0000-0000-0000-000000000002\"");
	CU_ASSERT_FATAL(at != NULL);
	*at = '\0';
	snprintf(t->request_body, sizeof(t->request_body),
	    "%s\"id\": \"%s\", \"statusDetail\": \"%s\"%s", fx, id, status,
	    at + strlen("\"id\": \"00000000-0000-0000-0000-000000000002\""));
	free(fx);
}

static char *
td_state(struct tdaemon *t, const char *key)
{
	struct store_request r;
	char *s = NULL;

	memset(&r, 0, sizeof(r));
	if (store_request_get(t->d.store, key, &r) == 0)
		s = strdup(sm_state_name(r.sm.state));
	store_request_clear(&r);
	return s;
}

/* Observe request `id` as the poller would, in one batch. */
static void
td_observe(struct tdaemon *t, const char *id)
{
	CU_ASSERT_FATAL(store_begin(t->d.store) == 0);
	batch_dirty(&t->d);
	CU_ASSERT(t->d.eng->observe(&t->d, REQ_SRC_PERMISSIONS, id, "submitted",
	              t->request_body) == 0);
	pump(t);
}

static const char approve_all[] = "version: 1\n"
                                  "rules:\n"
                                  "  - name: approve-aws\n"
                                  "    when: { source: permissions }\n"
                                  "    decide: approve\n"
                                  "    reason: approved by the unit test\n"
                                  "default:\n"
                                  "  decide: ignore\n";

static const char reject_all[] = "version: 1\n"
                                 "rules:\n"
                                 "  - name: no-aws\n"
                                 "    when: { source: permissions }\n"
                                 "    decide: reject\n"
                                 "    reason: rejected by the unit test\n"
                                 "default:\n"
                                 "  decide: ignore\n";

static const char ignore_all[] = "version: 1\n"
                                 "rules: []\n"
                                 "default:\n"
                                 "  decide: ignore\n";

#define KEY1 "permissions:11111111-0000-0000-0000-000000000001"
#define ID1  "11111111-0000-0000-0000-000000000001"
#define KEY2 "permissions:22222222-0000-0000-0000-000000000002"
#define ID2  "22222222-0000-0000-0000-000000000002"

/* An auto-approve rule: exactly one approve PATCH, then approved. */
static void
test_engine_approves_once(void)
{
	struct tdaemon t;
	char *st;

	td_open(&t, approve_all);
	td_request(&t, ID1, "submitted");
	td_observe(&t, ID1);
	CU_ASSERT_EQUAL(count(&t, "PATCH", "/steps/step-1"), 1);
	CU_ASSERT_EQUAL(count(&t, "PATCH", "\"Approve\""), 1);
	CU_ASSERT_EQUAL(count(&t, "POST", "cancel"), 0);
	st = td_state(&t, KEY1);
	CU_ASSERT_STRING_EQUAL(st, "approved");
	free(st);
	/* Observed again: nothing more is sent. */
	td_observe(&t, ID1);
	CU_ASSERT_EQUAL(count(&t, "PATCH", "/steps/step-1"), 1);
	td_close(&t);
}

/* A reject rule: a deny, never an approve. */
static void
test_engine_rejects(void)
{
	struct tdaemon t;
	char *st;

	td_open(&t, reject_all);
	td_request(&t, ID1, "submitted");
	td_observe(&t, ID1);
	CU_ASSERT_EQUAL(count(&t, "PATCH", "\"Deny\""), 1);
	CU_ASSERT_EQUAL(count(&t, "PATCH", "\"Approve\""), 0);
	st = td_state(&t, KEY1);
	CU_ASSERT_STRING_EQUAL(st, "rejected");
	free(st);
	td_close(&t);
}

/* `ignore`: Graph hears nothing that decides. */
static void
test_engine_ignores(void)
{
	struct tdaemon t;
	char *st;

	td_open(&t, ignore_all);
	td_request(&t, ID1, "submitted");
	td_observe(&t, ID1);
	CU_ASSERT_EQUAL(count(&t, "PATCH", ""), 0);
	CU_ASSERT_EQUAL(count(&t, "POST", ""), 0);
	st = td_state(&t, KEY1);
	CU_ASSERT_STRING_EQUAL(st, "ignored");
	free(st);
	td_close(&t);
}

/* The executor: a 500, then 204 — the outcome is read back, never sent
 * twice blindly; a 409 (someone decided first) is read back too. */
static void
test_exec_unknown_outcome(void)
{
	struct tdaemon t;

	char *st;

	td_open(&t, approve_all);
	t.patch_status[0] = 500;
	td_request(&t, ID1, "submitted");
	td_observe(&t, ID1);
	/* The 500's outcome is unknown: Graph is read (still undecided
	 * there) before the approve goes again, once. */
	CU_ASSERT_EQUAL(count(&t, "PATCH", "\"Approve\""), 2);
	CU_ASSERT(count(&t, "GET", "scheduledPermissionsRequests") >= 2);
	st = td_state(&t, KEY1);
	CU_ASSERT_STRING_EQUAL(st, "approved");
	free(st);
	td_close(&t);
}

/* Two daemons in one process, each with its store, policy and fake net:
 * one approves, the other rejects; neither sees the other's requests or
 * calls. */
static void
test_two_daemons(void)
{
	struct tdaemon a, b;
	char *sa, *sb;

	td_open(&a, approve_all);
	td_open(&b, ignore_all);
	td_request(&a, ID1, "submitted");
	td_request(&b, ID2, "submitted");
	CU_ASSERT_FATAL(store_begin(a.d.store) == 0);
	batch_dirty(&a.d);
	CU_ASSERT_FATAL(store_begin(b.d.store) == 0);
	batch_dirty(&b.d);
	CU_ASSERT(a.d.eng->observe(&a.d, REQ_SRC_PERMISSIONS, ID1, "submitted",
	              a.request_body) == 0);
	CU_ASSERT(b.d.eng->observe(&b.d, REQ_SRC_PERMISSIONS, ID2, "submitted",
	              b.request_body) == 0);
	pump(&a);
	pump(&b);
	CU_ASSERT_EQUAL(count(&a, "", ID2), 0); /* a never saw b's request */
	CU_ASSERT_EQUAL(count(&b, "", ID1), 0);
	CU_ASSERT_EQUAL(count(&a, "PATCH", "/steps/step-1"), 1);
	CU_ASSERT_EQUAL(count(&b, "PATCH", ""), 0);
	sa = td_state(&a, KEY1);
	sb = td_state(&b, KEY2);
	CU_ASSERT_STRING_EQUAL(sa, "approved");
	CU_ASSERT_STRING_EQUAL(sb, "ignored");
	free(sa);
	free(sb);
	sa = td_state(&a, KEY2);
	sb = td_state(&b, KEY1);
	CU_ASSERT_PTR_NULL(sa); /* a knows nothing of b's request */
	CU_ASSERT_PTR_NULL(sb);
	CU_ASSERT_EQUAL(exec_inflight(&a.d), 0);
	CU_ASSERT_EQUAL(exec_inflight(&b.d), 0);
	CU_ASSERT(a.d.exec != b.d.exec);
	CU_ASSERT(a.d.engine != b.d.engine || a.d.engine == NULL);
	td_close(&a);
	td_close(&b);
}

static const struct cu_test engine_tests[] = {
	{ "an approve rule: one PATCH, approved", test_engine_approves_once },
	{ "a reject rule: a deny, no approve", test_engine_rejects },
	{ "ignore: nothing decides", test_engine_ignores },
	{ "a 500 is read back before the approve goes again",
	    test_exec_unknown_outcome },
	{ "two daemons in one process", test_two_daemons },
	{ NULL, NULL },
};

/* Back-offs capped to 1 ms (approvald_testhooks), so a retry is a turn of
 * the loop, not a wait. */
static int
engine_setup(void)
{
	return setenv("APPROVALD_TEST_BACKOFF_MAX_MS", "1", 1);
}

const struct cu_suite cu_suites[] = {
	{ "engine", engine_setup, NULL, engine_tests },
	{ NULL, NULL, NULL, NULL },
};
