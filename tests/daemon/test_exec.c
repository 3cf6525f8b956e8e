/*
 * Issue 15: the executor driven with no socket (test_engine.c has the
 * engine). A struct daemon is built by hand (event base, settings and
 * policy from YAML in a temp dir, a store on a temp file, engine_init) and Graph is a fake
 * behind d->net that queues each call and answers it from the test's
 * script when the loop runs it. Two daemons in one process share nothing.
 */
#include "cu.h"
#include "effects.h"
#include "engine.h"
#include "net.h"
#include "store.h"
#include <event2/event.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAKE_MAX 64

struct fake_call {
	char method[8];
	char url[512];
	char *body;
	adapter_body_cb cb;
	void *arg;
};

struct fake {
	struct event *ev; /* answers the queue, one per loop turn */
	struct fake_call q[FAKE_MAX];
	size_t nq;
	struct fake_call seen[FAKE_MAX]; /* every call asked, in order */
	size_t nseen;
	/* scripted statuses for writes (PATCH/POST), in order; then 204 */
	long writes[8];
	size_t nwrites, wpos;
	/* writes: -1 is "no token" (nothing sent) */
	char *list;              /* the request read back ({"value":[...]}) */
	const char *steps_after; /* the steps once a write was answered */
};

struct td {
	struct daemon d;
	struct fake f;
	struct net_ops ops;
	char dir[64];
};

static const char *user_json =
    "{\"id\":\"5e1b0a44-7c2b-4b0f-9d4e-111111111111\","
    "\"userPrincipalName\":\"alex@contoso.com\",\"mail\":"
    "\"alex@contoso.com\",\"userType\":\"Member\",\"displayName\":\"Alex\"}";
/* approvalStep (beta, scheduledPermissionsApproval steps) */
static const char *steps_json =
    "{\"value\":[{\"id\":\"step1\",\"status\":\"InProgress\","
    "\"reviewResult\":\"NotReviewed\",\"assignedToMe\":true}]}";

static void
fake_run(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	struct fake_call c;
	long st;

	(void)fd;
	(void)what;
	while (f->nq > 0) {
		c = f->q[0];
		memmove(&f->q[0], &f->q[1], --f->nq * sizeof(f->q[0]));
		if (strcmp(c.method, "GET") != 0) {
			st = f->wpos < f->nwrites ? f->writes[f->wpos++] : 204;
			if (st == -1)
				c.cb(c.arg, 0, NULL, "no token: circuit open");
			else
				c.cb(c.arg, st, st == 204 ? "" : "{}",
				    st ? NULL : "no answer");
		} else if (strstr(c.url, "/users/") != NULL)
			c.cb(c.arg, 200, user_json, NULL);
		else if (strstr(c.url, "permissionsRequestChanges") != NULL)
			c.cb(c.arg, 200, "{\"value\":[]}", NULL);
		else if (strstr(c.url, "/steps") != NULL)
			c.cb(c.arg, 200,
			    f->wpos > 0 && f->steps_after ? f->steps_after
			                                  : steps_json,
			    NULL);
		else if (f->list != NULL)
			c.cb(c.arg, 200, f->list, NULL);
		else
			c.cb(c.arg, 404, "{}", NULL);
		free(c.body);
	}
}

static void
fake_call(struct daemon *d, enum token_kind kind, const char *method,
    const char *url, const char *body, adapter_body_cb cb, void *arg)
{
	/* the daemon is the first member of its struct td */
	struct fake *f = &((struct td *)(void *)d)->f;
	struct fake_call *c;

	(void)kind;
	CU_ASSERT_FATAL(f->nq < FAKE_MAX && f->nseen < FAKE_MAX);
	c = &f->seen[f->nseen++];
	memset(c, 0, sizeof(*c));
	snprintf(c->method, sizeof(c->method), "%s", method);
	snprintf(c->url, sizeof(c->url), "%s", url);
	c->body = body ? strdup(body) : NULL;
	f->q[f->nq] = *c;
	f->q[f->nq].body = body ? strdup(body) : NULL;
	f->q[f->nq].cb = cb;
	f->q[f->nq].arg = arg;
	f->nq++;
	event_active(f->ev, 0, 0);
}

static int
put_file(const char *dir, const char *name, const char *text)
{
	char p[128];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((fp = fopen(p, "w")) == NULL)
		return -1;
	fputs(text, fp);
	return fclose(fp);
}

static char *
slurp(const char *path)
{
	FILE *fp;
	char *b;
	long n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	if ((b = calloc(1, (size_t)n + 1)) != NULL &&
	    fread(b, 1, (size_t)n, fp) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(fp);
	return b;
}

static void
on_commit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	batch_commit(arg);
}

static const char *origins[] = { "http://127.0.0.1:9" };

static struct td *
td_new(const char *policy)
{
	struct td *t;
	struct cfg_diags dg;
	struct graph_opts go;
	char p[256], *err = NULL;
	size_t i;

	CU_ASSERT_FATAL((t = calloc(1, sizeof(*t))) != NULL);
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_engine.XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(t->dir) != NULL);
	CU_ASSERT_FATAL(put_file(t->dir, "policy.yaml", policy) == 0);
	CU_ASSERT_FATAL(
	    put_file(t->dir, "secret", "s3cret-s3cret-s3cret") == 0);
	CU_ASSERT_FATAL(put_file(t->dir, "refresh", "r") == 0);
	CU_ASSERT_FATAL(
	    put_file(t->dir, "approvald.yaml",
	        "graph:\n"
	        "  url: http://127.0.0.1:9\n"
	        "  login_url: http://127.0.0.1:9\n"
	        "  tenant: t\n"
	        "  client_id: c\n"
	        "  client_secret_file: secret\n"
	        "  approver_token_file: refresh\n"
	        "  approver_client_id: 11111111-2222-3333-4444-555555555555\n"
	        "sources:\n"
	        "  permissions: { enabled: true }\n"
	        "policy: policy.yaml\n"
	        "state: state.db\n") == 0);
	memset(&dg, 0, sizeof(dg));
	snprintf(p, sizeof(p), "%s/approvald.yaml", t->dir);
	if (settings_load_file(p, &t->d.settings, &dg) == 0)
		(void)policy_load_file(
		    t->d.settings->policy_path, &t->d.policy, &dg);
	for (i = 0; i < dg.n; i++) {
		cfg_diag_format(&dg.v[i], p, sizeof(p));
		fprintf(stderr, "%s\n", p);
	}
	CU_ASSERT_FATAL(t->d.settings != NULL && t->d.policy != NULL);
	cfg_diags_free(&dg);
	t->d.graph_reach.retry_after = -1;
	engine_init(&t->d);
	CU_ASSERT_FATAL((t->d.base = event_base_new()) != NULL);
	event_base_priority_init(t->d.base, 2);
	CU_ASSERT_FATAL(
	    store_open(t->d.settings->state_path, &t->d.store, &err) == 0);
	CU_ASSERT_FATAL(
	    (t->d.graph_base = strdup("http://127.0.0.1:9")) != NULL);
	memset(&go, 0, sizeof(go));
	go.allow_http = 1;
	go.origins = origins;
	go.norigins = 1;
	go.timeout = 5;
	go.max_inflight = 4;
	CU_ASSERT_FATAL((t->d.graph = graph_new(t->d.base, &go, &err)) != NULL);
	CU_ASSERT_FATAL(ident_init(&t->d) == 0 && approvers_init(&t->d) == 0 &&
	                exec_init(&t->d) == 0);
	t->f.ev = event_new(t->d.base, -1, 0, fake_run, &t->f);
	t->ops.call = fake_call;
	t->d.net = &t->ops;
	t->d.batch.ev = event_new(t->d.base, -1, 0, on_commit, &t->d);
	event_priority_set(t->d.batch.ev, 1);
	return t;
}

/* Run the loop until nothing is queued at the fake and no batch is open. */
static void
td_run(struct td *t)
{
	int i;

	batch_commit(&t->d);
	for (i = 0; i < 1000; i++) {
		event_base_loop(t->d.base, EVLOOP_NONBLOCK);
		if (t->f.nq == 0 && !event_pending(t->f.ev, EV_TIMEOUT, NULL))
			break;
	}
	batch_commit(&t->d);
	CU_ASSERT(t->f.nq == 0);
}

/* Run until the executor has nothing in flight, letting its back-off
 * timers fire (the loop blocks on them: no sleep). */
static void
td_run_exec(struct td *t)
{
	int i;

	td_run(t);
	for (i = 0; i < 20 && exec_inflight(&t->d) > 0; i++) {
		event_base_loop(t->d.base, EVLOOP_ONCE);
		td_run(t);
	}
	CU_ASSERT_EQUAL(exec_inflight(&t->d), 0);
}

static void
td_free(struct td *t)
{
	size_t i;
	char p[160];

	daemon_graph_drain(&t->d);
	exec_free(&t->d);
	timers_free(&t->d);
	approvers_free(&t->d);
	engine_free(&t->d);
	ident_free(&t->d);
	member_free(&t->d);
	decide_free(&t->d);
	poll_free(&t->d);
	graph_free(t->d.graph);
	daemon_graph_free(&t->d);
	store_close(t->d.store);
	policy_free(t->d.policy);
	settings_free(t->d.settings);
	free(t->d.post);
	free(t->d.graph_base);
	counters_free(&t->d);
	for (i = 0; i < t->f.nseen; i++)
		free(t->f.seen[i].body);
	for (i = 0; i < t->f.nq; i++)
		free(t->f.q[i].body);
	event_free(t->f.ev);
	free(t->f.list);
	if (t->d.batch.ev)
		event_free(t->d.batch.ev);
	event_base_free(t->d.base);
	snprintf(p, sizeof(p), "rm -rf %s", t->dir);
	(void)system(p);
	free(t);
}

static const char *approve_policy = "version: 1\n"
                                    "rules:\n"
                                    "  - name: ok\n"
                                    "    when: { source: permissions }\n"
                                    "    decide: approve\n"
                                    "    reason: test\n";

/* The request as Graph lists it: the fixture with its id and status. */
static char *
request_list(const char *gid, const char *status)
{
	char *body = slurp(FIXTURES "/permissions-request-aws-policy.json"), *s;
	struct json_object *o, *w, *a;

	if (body == NULL || (o = json_tokener_parse(body)) == NULL) {
		free(body);
		return NULL;
	}
	free(body);
	json_object_object_add(o, "id", json_object_new_string(gid));
	json_object_object_add(
	    o, "statusDetail", json_object_new_string(status));
	w = json_object_new_object();
	a = json_object_new_array();
	json_object_array_add(a, o);
	json_object_object_add(w, "value", a);
	s = strdup(json_object_to_json_string_ext(w, JSON_C_TO_STRING_PLAIN));
	json_object_put(w);
	return s;
}

/* Observe request `gid` as submitted with the fixture's body. */
static void
td_observe(struct td *t, const char *gid)
{
	char *body = slurp(FIXTURES "/permissions-request-aws-policy.json");

	CU_ASSERT_FATAL(body != NULL);
	CU_ASSERT(engine_observe(
	              &t->d, REQ_SRC_PERMISSIONS, gid, "submitted", body) == 0);
	free(body);
	free(t->f.list);
	t->f.list = request_list(gid, "submitted");
}

static int
td_state(struct td *t, const char *gid)
{
	struct store_request r;
	char key[128];
	int st = -1;

	snprintf(key, sizeof(key), "permissions:%s", gid);
	memset(&r, 0, sizeof(r));
	if (store_request_get(t->d.store, key, &r) == 0)
		st = (int)r.sm.state;
	store_request_clear(&r);
	return st;
}

/* How many calls of `method` the fake was asked whose URL has `part`. */
static size_t
td_count(struct td *t, const char *method, const char *part)
{
	size_t i, n = 0;

	for (i = 0; i < t->f.nseen; i++)
		if (strcmp(t->f.seen[i].method, method) == 0 &&
		    strstr(t->f.seen[i].url, part) != NULL)
			n++;
	return n;
}

static size_t
td_writes(struct td *t)
{
	size_t i, n = 0;

	for (i = 0; i < t->f.nseen; i++)
		if (strcmp(t->f.seen[i].method, "GET") != 0)
			n++;
	return n;
}

static const char *
td_write_body(struct td *t, size_t nth)
{
	size_t i;

	for (i = 0; i < t->f.nseen; i++)
		if (strcmp(t->f.seen[i].method, "GET") != 0 && nth-- == 0)
			return t->f.seen[i].body;
	return NULL;
}

static const char *reject_policy = "version: 1\n"
                                   "rules:\n"
                                   "  - name: no\n"
                                   "    when: { source: permissions }\n"
                                   "    decide: reject\n"
                                   "    reason: test\n";

static const char *ignore_policy = "version: 1\n"
                                   "rules:\n"
                                   "  - name: humans\n"
                                   "    when: { source: permissions }\n"
                                   "    decide: ignore\n"
                                   "    reason: test\n";

#define STEP_URL "/scheduledPermissionsApprovals/r1/steps/step1"

/*
 * An approve rule: the request is read back, its step read, and exactly
 * one PATCH sent with reviewResult Approve (approvalstep-update:
 * https://learn.microsoft.com/graph/api/approvalstep-update?view=graph-rest-beta);
 * Graph's 204 makes it approved.
 */
static void
t_approve(void)
{
	struct td *t = td_new(approve_policy);

	td_observe(t, "r1");
	td_run(t);
	CU_ASSERT_EQUAL(td_writes(t), 1);
	CU_ASSERT_EQUAL(td_count(t, "PATCH", STEP_URL), 1);
	CU_ASSERT_STRING_EQUAL(td_write_body(t, 0),
	    "{\"reviewResult\":\"Approve\",\"justification\":"
	    "\"approvald: rule ok approved: test\"}");
	CU_ASSERT_EQUAL(td_state(t, "r1"), SM_S_APPROVED);
	CU_ASSERT_EQUAL(exec_inflight(&t->d), 0);
	td_free(t);
}

static void
t_reject(void)
{
	struct td *t = td_new(reject_policy);

	td_observe(t, "r1");
	td_run(t);
	CU_ASSERT_EQUAL(td_writes(t), 1);
	CU_ASSERT_EQUAL(td_count(t, "PATCH", STEP_URL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(td_write_body(t, 0), "\"Deny\""));
	CU_ASSERT_PTR_NULL(strstr(td_write_body(t, 0), "Approve"));
	CU_ASSERT_EQUAL(td_state(t, "r1"), SM_S_REJECTED);
	td_free(t);
}

static void
t_ignore(void)
{
	struct td *t = td_new(ignore_policy);

	td_observe(t, "r1");
	td_run(t);
	CU_ASSERT_EQUAL(td_writes(t), 0);
	CU_ASSERT_EQUAL(td_count(t, "GET", "scheduledPermissions"), 0);
	CU_ASSERT_EQUAL(td_state(t, "r1"), SM_S_IGNORED);
	td_free(t);
}

/* 409: someone decided first: nothing sent again, the request is read
 * back (and the step read shows what Graph holds). */
static void
t_exec_conflict(void)
{
	struct td *t = td_new(approve_policy);
	long w[] = { 409 };

	memcpy(t->f.writes, w, sizeof(w));
	t->f.nwrites = 1;
	t->f.steps_after =
	    "{\"value\":[{\"id\":\"step1\",\"status\":\"Completed\","
	    "\"reviewResult\":\"Deny\",\"assignedToMe\":true,"
	    "\"reviewedBy\":{\"id\":\"u2\",\"userPrincipalName\":"
	    "\"bob@contoso.com\"}}]}";
	td_observe(t, "r1");
	td_run_exec(t);
	/* one approve sent; then read back, never sent again */
	CU_ASSERT_EQUAL(td_writes(t), 1);
	CU_ASSERT_EQUAL(td_count(t, "GET", "scheduledPermissionsRequests?"), 2);
	CU_ASSERT_EQUAL(td_count(t, "GET", "/r1/steps"), 2);
	CU_ASSERT_NOT_EQUAL(td_state(t, "r1"), SM_S_APPROVED);
	td_free(t);
}

/* 500: an unknown outcome: read back, then sent again (204). */
static void
t_exec_unknown(void)
{
	struct td *t = td_new(approve_policy);
	long w[] = { 500, 204 };

	memcpy(t->f.writes, w, sizeof(w));
	t->f.nwrites = 2;
	td_observe(t, "r1");
	td_run_exec(t);
	CU_ASSERT_EQUAL(td_writes(t), 2);
	CU_ASSERT_EQUAL(td_count(t, "GET", "scheduledPermissionsRequests?"), 2);
	CU_ASSERT_EQUAL(t->f.wpos, 2);
	CU_ASSERT_EQUAL(td_state(t, "r1"), SM_S_APPROVED);
	td_free(t);
}

/* No token: nothing reached Graph; the operation waits in flight until a
 * token is ready, then sends once. */
static void
t_exec_no_token(void)
{
	struct td *t = td_new(approve_policy);
	long w[] = { -1 };

	memcpy(t->f.writes, w, sizeof(w));
	t->f.nwrites = 1;
	td_observe(t, "r1");
	td_run(t);
	CU_ASSERT_EQUAL(td_state(t, "r1"), SM_S_APPROVING);
	CU_ASSERT_EQUAL(exec_inflight(&t->d), 1);
	CU_ASSERT_EQUAL(td_writes(t), 1);
	exec_token_ready(&t->d);
	td_run(t);
	/* the first never reached Graph: one approve sent in all */
	CU_ASSERT_EQUAL(td_writes(t), 2);
	CU_ASSERT_EQUAL(td_state(t, "r1"), SM_S_APPROVED);
	CU_ASSERT_EQUAL(exec_inflight(&t->d), 0);
	td_free(t);
}

/*
 * Two daemons in one process, each with its own store and fake Graph,
 * deciding at the same time: one approves r1, the other rejects r2 and
 * its token is missing. Neither sees the other's requests, in-flight
 * operations or answers (a static executor table would show the waiting
 * operation in both).
 */
static void
t_two_daemons(void)
{
	struct td *a = td_new(approve_policy), *b = td_new(reject_policy);
	long w[] = { -1 };

	memcpy(b->f.writes, w, sizeof(w));
	b->f.nwrites = 1;
	td_observe(a, "r1");
	td_observe(b, "r2");
	td_run(a);
	td_run(b);
	td_run(a);
	CU_ASSERT_EQUAL(td_state(a, "r1"), SM_S_APPROVED);
	CU_ASSERT_EQUAL(td_state(a, "r2"), -1);
	CU_ASSERT_EQUAL(td_state(b, "r2"), SM_S_REJECTING);
	CU_ASSERT_EQUAL(td_state(b, "r1"), -1);
	CU_ASSERT_EQUAL(exec_inflight(&a->d), 0);
	CU_ASSERT_EQUAL(exec_inflight(&b->d), 1);
	CU_ASSERT_FALSE(exec_busy(&a->d, "permissions:r2"));
	CU_ASSERT_TRUE(exec_busy(&b->d, "permissions:r2"));
	CU_ASSERT_EQUAL(td_count(a, "GET", "r2"), 0);
	CU_ASSERT_EQUAL(td_count(b, "GET", "r1"), 0);
	CU_ASSERT_EQUAL(td_writes(a), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(td_write_body(a, 0), "\"Approve\""));
	exec_token_ready(&b->d);
	td_run(b);
	CU_ASSERT_EQUAL(td_state(b, "r2"), SM_S_REJECTED);
	CU_ASSERT_EQUAL(td_writes(b), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(td_write_body(b, 1), "\"Deny\""));
	CU_ASSERT_EQUAL(td_writes(a), 1);
	CU_ASSERT_EQUAL(exec_inflight(&b->d), 0);
	td_free(a);
	td_free(b);
}

static const struct cu_test exec_tests[] = {
	{ "approve rule: one approve PATCH, approving", t_approve },
	{ "reject rule: a deny, no approve", t_reject },
	{ "ignore rule: nothing sent", t_ignore },
	{ "exec: 409 reads back", t_exec_conflict },
	{ "exec: 500 reads back, then 204", t_exec_unknown },
	{ "exec: no token waits", t_exec_no_token },
	{ "two daemons in one process share nothing", t_two_daemons },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "exec", NULL, NULL, exec_tests },
	{ NULL, NULL, NULL, NULL },
};
