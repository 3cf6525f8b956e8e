/*
 * Issue 15: the engine and the executor driven with no socket. A struct
 * daemon is built by hand (event base, settings and policy from YAML in a
 * temp dir, a store on a temp file, engine_init) and Graph is a fake
 * behind d->net that queues each call and answers it from the test's
 * script when the loop runs it. Two daemons in one process share nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include "cu.h"
#include "effects.h"
#include "engine.h"
#include "net.h"
#include "store.h"

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
	const char *get_body; /* answer to a read of the request */
	long get_status;
};

struct td {
	struct daemon d;
	struct fake f;
	struct net_ops ops;
	char dir[64];
};

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
		if (strcmp(c.method, "GET") == 0 && strstr(c.url, "/users/"))
			c.cb(c.arg, 200,
			    "{\"id\":\"5e1b0a44-7c2b-4b0f-9d4e-111111111111\","
			    "\"userPrincipalName\":\"alex@contoso.com\","
			    "\"mail\":\"alex@contoso.com\",\"userType\":"
			    "\"Member\",\"displayName\":\"Alex\"}",
			    NULL);
		else if (strcmp(c.method, "GET") == 0)
			c.cb(c.arg, f->get_status,
			    f->get_status ? f->get_body : NULL,
			    f->get_status ? NULL : "no answer");
		else {
			st = f->wpos < f->nwrites ? f->writes[f->wpos++] : 204;
			c.cb(c.arg, st, st == 204 ? "" : "{}",
			    st ? NULL : "no answer");
		}
		free(c.body);
	}
}

static void
fake_call(struct daemon *d, enum token_kind kind, const char *method,
    const char *url, const char *body, adapter_body_cb cb, void *arg)
{
	struct fake *f = d->net->arg;
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
	fprintf(stderr, "fake: %s %s %s\n", method, url, body ? body : "");
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
	CU_ASSERT_FATAL(put_file(t->dir, "secret", "s3cret-s3cret-s3cret") == 0);
	CU_ASSERT_FATAL(put_file(t->dir, "refresh", "r") == 0);
	CU_ASSERT_FATAL(put_file(t->dir, "approvald.yaml",
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
	CU_ASSERT_FATAL(store_open(t->d.settings->state_path, &t->d.store,
	                    &err) == 0);
	CU_ASSERT_FATAL((t->d.graph_base = strdup("http://127.0.0.1:9")) !=
	                NULL);
	memset(&go, 0, sizeof(go));
	go.allow_http = 1;
	go.origins = origins;
	go.norigins = 1;
	go.timeout = 5;
	go.max_inflight = 4;
	CU_ASSERT_FATAL((t->d.graph = graph_new(t->d.base, &go, &err)) !=
	                NULL);
	CU_ASSERT_FATAL(ident_init(&t->d) == 0 &&
	                approvers_init(&t->d) == 0 && exec_init(&t->d) == 0);
	t->f.ev = event_new(t->d.base, -1, 0, fake_run, &t->f);
	t->f.get_status = 0;
	t->ops.call = fake_call;
	t->ops.arg = &t->f;
	t->d.net = &t->ops;
	return t;
}

static void
on_commit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	batch_commit(arg);
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
	if (t->d.batch.ev)
		event_free(t->d.batch.ev);
	event_base_free(t->d.base);
	snprintf(p, sizeof(p), "rm -rf %s", t->dir);
	(void)system(p);
	free(t);
}

static const char *approve_policy =
    "version: 1\n"
    "rules:\n"
    "  - name: ok\n"
    "    when: { source: permissions }\n"
    "    decide: approve\n"
    "    reason: test\n";

static void
t_probe(void)
{
	struct td *t = td_new(approve_policy);
	char *body = slurp(FIXTURES "/permissions-request-aws-policy.json");

	CU_ASSERT_FATAL(body != NULL);
	t->d.batch.ev = event_new(t->d.base, -1, 0, on_commit, &t->d);
	event_priority_set(t->d.batch.ev, 1);
	CU_ASSERT(engine_observe(&t->d, REQ_SRC_PERMISSIONS, "r1",
	              "submitted", body) == 0);
	td_run(t);
	{
		struct store_request r;
		memset(&r, 0, sizeof(r));
		CU_ASSERT(store_request_get(t->d.store, "permissions:r1", &r) == 0);
		fprintf(stderr, "state %d verdict %s rule %s reason %s id %s\n", r.sm.state, r.verdict, r.rule, r.reason, r.identity);
		store_request_clear(&r);
	}
	free(body);
	td_free(t);
}

static const struct cu_test engine_tests[] = {
	{ "probe", t_probe },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "engine", NULL, NULL, engine_tests },
	{ NULL, NULL, NULL, NULL },
};
