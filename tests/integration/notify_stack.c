/* The stack of test_notify.c; see notify_stack.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include "cu.h"
#include "hookutil.h"
#include "notify_stack.h"

/* ---- the receiver ------------------------------------------------------ */

struct rx RX;

static void
rx_hdr(struct evhttp_request *req, const char *name, char *out, size_t len)
{
	const char *v =
	    evhttp_find_header(evhttp_request_get_input_headers(req), name);

	snprintf(out, len, "%s", v ? v : "");
}

static void
rx_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *uri = evhttp_request_get_uri(req);
	size_t n = evbuffer_get_length(in);
	struct rx_msg m, *v;
	int status = 200;

	memset(&m, 0, sizeof(m));
	snprintf(m.path, sizeof(m.path), "%.*s", (int)strcspn(uri, "?"), uri);
	rx_hdr(req, "X-Approvald-Event", m.event, sizeof(m.event));
	rx_hdr(req, "X-Approvald-Delivery", m.delivery, sizeof(m.delivery));
	rx_hdr(req, "X-Approvald-Signature", m.sig, sizeof(m.sig));
	if ((m.body = malloc(n + 1)) != NULL) {
		evbuffer_copyout(in, m.body, n);
		m.body[n] = '\0';
	}
	pthread_mutex_lock(&RX.mu);
	if (strcmp(m.path, "/flaky") == 0 && RX.flaky_fail > 0) {
		RX.flaky_fail--;
		status = 500;
	}
	m.status = status;
	if (RX.n == RX.cap) {
		size_t cap = RX.cap ? RX.cap * 2 : 64;

		if ((v = realloc(RX.v, cap * sizeof(*v))) != NULL) {
			RX.v = v;
			RX.cap = cap;
		}
	}
	if (RX.n < RX.cap)
		RX.v[RX.n++] = m;
	else
		free(m.body);
	pthread_mutex_unlock(&RX.mu);
	evhttp_send_reply(
	    req, status, status == 200 ? "OK" : "Server Error", NULL);
}

static void *
rx_main(void *arg)
{
	event_base_dispatch(RX.base);
	return NULL;
}

int
rx_start(void)
{
	struct evhttp_bound_socket *b;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	evthread_use_pthreads();
	pthread_mutex_init(&RX.mu, NULL);
	RX.flaky_fail = RX_FLAKY;
	if ((RX.base = event_base_new()) == NULL ||
	    (RX.http = evhttp_new(RX.base)) == NULL)
		return -1;
	evhttp_set_gencb(RX.http, rx_cb, NULL);
	if ((b = evhttp_bind_socket_with_handle(RX.http, "127.0.0.1", 0)) ==
	        NULL ||
	    getsockname(evhttp_bound_socket_get_fd(b), (struct sockaddr *)&sin,
	        &sl) == -1)
		return -1;
	RX.port = ntohs(sin.sin_port);
	if (pthread_create(&RX.th, NULL, rx_main, NULL) != 0)
		return -1;
	RX.running = 1;
	return 0;
}

void
rx_stop(void)
{
	size_t i;

	if (RX.running) {
		event_base_loopexit(RX.base, NULL);
		pthread_join(RX.th, NULL);
	}
	if (RX.http != NULL)
		evhttp_free(RX.http);
	if (RX.base != NULL)
		event_base_free(RX.base);
	for (i = 0; i < RX.n; i++)
		free(RX.v[i].body);
	free(RX.v);
	pthread_mutex_destroy(&RX.mu);
	memset(&RX, 0, sizeof(RX));
}

/* Messages to `path` about request `key` (its text appears in the body)
 * with event `event` (NULL: any) answered with `status` (0: any). */
int
rx_count(const char *path, const char *key, const char *event, int status)
{
	size_t i;
	int n = 0;

	pthread_mutex_lock(&RX.mu);
	for (i = 0; i < RX.n; i++) {
		const struct rx_msg *m = &RX.v[i];

		if (strcmp(m->path, path) == 0 &&
		    (key == NULL ||
		        (m->body != NULL && strstr(m->body, key) != NULL)) &&
		    (event == NULL || strcmp(m->event, event) == 0) &&
		    (status == 0 || m->status == status))
			n++;
	}
	pthread_mutex_unlock(&RX.mu);
	return n;
}

/* A copy of the first such message answered 200, or 0 fields. */
int
rx_get(const char *path, const char *key, const char *event, int nth,
    struct rx_msg *out)
{
	size_t i;
	int found = -1;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&RX.mu);
	for (i = 0; i < RX.n; i++) {
		const struct rx_msg *m = &RX.v[i];

		if (strcmp(m->path, path) == 0 && m->status == 200 &&
		    m->body != NULL && strstr(m->body, key) != NULL &&
		    strcmp(m->event, event) == 0 && nth-- == 0) {
			*out = *m;
			out->body = strdup(m->body);
			found = 0;
			break;
		}
	}
	pthread_mutex_unlock(&RX.mu);
	return found;
}

struct rx_want {
	const char *path, *key, *event;
	int status, n;
};

static int
rx_has(void *arg)
{
	struct rx_want *w = arg;

	return rx_count(w->path, w->key, w->event, w->status) >= w->n;
}

int
rx_wait(const char *path, const char *key, const char *event, int status, int n)
{
	struct rx_want w = { path, key, event, status, n };

	return h_until(rx_has, &w, WAIT_MS);
}

/* ---- the stack: emulator, receiver, approvald --------------------------- */

struct emu E;
struct ad A;
int http_port;
static int started;

int stack_groups;

/* Poll PIM for Groups as well as Permissions Management. */
static int
stack_add_groups(void)
{
	static const char line[] =
	    "  permissions: { enabled: true, poll_interval: PT1S }\n";
	char *text, *at, *out = NULL;
	FILE *f;
	int rc = -1;

	if ((text = cu_slurp(A.conf, NULL)) == NULL)
		return -1;
	if ((at = strstr(text, line)) != NULL &&
	    asprintf(&out,
	        "%.*s%s  group: { enabled: true, poll_interval: "
	        "PT1S }\n%s",
	        (int)(at - text), text, line, at + strlen(line)) != -1 &&
	    (f = fopen(A.conf, "w")) != NULL) {
		rc = fputs(out, f) == EOF ? -1 : 0;
		if (fclose(f) != 0)
			rc = -1;
	}
	free(out);
	free(text);
	return rc;
}

int
stack_start(void)
{
	char fixture[600], policy[600], *yaml = NULL;
	int dead = h_free_port(), rc;

	http_port = h_free_port();
	snprintf(fixture, sizeof(fixture), "%s",
	    cu_srcpath("examples/demo-tenant.json"));
	snprintf(policy, sizeof(policy), "%s",
	    cu_srcpath("tests/integration/notify-policy.yaml"));
	if (dead == -1 || http_port == -1 || rx_start() == -1 ||
	    emu_start(&E, fixture, 1) == -1)
		return -1;
	/* The tamper test sends a request per byte of a link from one peer:
	 * the per-peer limit is set out of its way (test_listener proves
	 * that decision links are limited). */
	if (asprintf(&yaml,
	        "http:\n"
	        "  listen: 127.0.0.1:%d\n"
	        "  rate_limit: 1024\n"
	        "  rate_burst: 1024\n"
	        "decision_links:\n"
	        "  base_url: http://127.0.0.1:%d/\n"
	        "  secret_file: link-secret\n"
	        "  ttl: PT10M\n"
	        "notify:\n"
	        "  - { name: all, url: \"http://127.0.0.1:%d/json\",\n"
	        "      format: json, secret_file: notify-secret }\n"
	        "  - { name: slack, url: \"http://127.0.0.1:%d/slack\",\n"
	        "      format: slack, events: [pending, approved],\n"
	        "      links: true }\n"
	        "  - { name: teams, url: \"http://127.0.0.1:%d/teams\",\n"
	        "      format: teams, events: [pending, rejected] }\n"
	        "  - { name: flaky, url: \"http://127.0.0.1:%d/flaky\",\n"
	        "      format: json, secret_file: notify-secret,\n"
	        "      events: [approved] }\n"
	        "  - { name: dead, url: \"http://127.0.0.1:%d/\",\n"
	        "      format: slack, links: false }\n",
	        http_port, http_port, RX.port, RX.port, RX.port, RX.port,
	        dead) == -1)
		return -1;
	rc = ad_prepare(&A, &E, policy, yaml);
	free(yaml);
	if (rc == 0 && stack_groups)
		rc = stack_add_groups();
	if (rc == -1 ||
	    ad_write_secret(&A, "notify-secret", NOTIFY_KEY "\n") == -1 ||
	    ad_write_secret(&A, "link-secret", LINK_KEY "\n") == -1)
		return -1;
	snprintf(A.extra_env, sizeof(A.extra_env), "APPROVALD_TEST_CLOCK=1");
	if (ad_start(&A) == -1 || ad_wait_ready(&A, 20000) == -1)
		return -1;
	started = 1;
	return 0;
}

int
stack_stop(void)
{
	if (started)
		ad_stop(&A, SIGTERM);
	started = 0;
	emu_stop(&E);
	rx_stop();
	return 0;
}

/* ---- requests, decisions, truth ------------------------------------------ */

/* A request by alex with justification `tag`; its daemon key (heap). */
char *
create(const char *tag)
{
	return emu_create_tagged(&E, tag, "alex@contoso.com");
}

int
wait_state(const char *key, const char *state)
{
	return ad_wait_state(&A, key, state, WAIT_MS);
}

void
decide(const char *key, const char *verb, const char *who, const char *want)
{
	char cmd[1024], *r;

	snprintf(cmd, sizeof(cmd), "decide %s %s %s checked by the test", key,
	    verb, who);
	r = ad_result(&A, cmd);
	CU_ASSERT_STRING_EQUAL(r, want);
	free(r);
}

void
clock_advance(long secs)
{
	char cmd[64], *r;

	snprintf(cmd, sizeof(cmd), "clock advance %ld", secs);
	r = ad_result(&A, cmd);
	CU_ASSERT_STRING_EQUAL(r, "ok");
	free(r);
}

int
napprovers(const char *key, int stage)
{
	return ad_napprovers(&A, key, stage);
}

struct nwant {
	const char *key;
	int stage, n;
};

static int
napprovers_is(void *arg)
{
	struct nwant *w = arg;

	return napprovers(w->key, w->stage) == w->n;
}

int
wait_approvers(const char *key, int stage, int n)
{
	struct nwant w = { key, stage, n };

	return h_until(napprovers_is, &w, WAIT_MS);
}

/* The request's timeline (journal details) as one string (heap). */
char *
timeline(const char *key)
{
	char cmd[600];
	struct json_object *o, *v;
	char *s = NULL;

	snprintf(cmd, sizeof(cmd), "show %s", key);
	if ((o = ad_ctl(&A, cmd)) != NULL &&
	    json_object_object_get_ex(o, "timeline", &v))
		s = strdup(json_object_to_json_string(v));
	json_object_put(o);
	return s ? s : strdup("");
}

/* Exactly one effective Graph decision for the request: `approve` or not. */
void
assert_truth(const char *key, int approve)
{
	int ap = -1, dn = -1, cn = -1;

	CU_ASSERT_EQUAL_FATAL(
	    emu_truth_counts(&E, key + strlen("permissions:"), &ap, &dn, &cn),
	    0);
	CU_ASSERT_EQUAL(ap, approve ? 1 : 0);
	CU_ASSERT_EQUAL(dn, approve ? 0 : 1);
	CU_ASSERT_EQUAL(cn, 0);
}

int
wait_decision_audit(
    const char *key, const char *verdict, const char *who, const char *how)
{
	char sql[800];

	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM audit WHERE key = '%s' AND kind = "
	    "'decision' AND json_extract(detail, '$.verdict') = '%s' AND "
	    "json_extract(detail, '$.who') = '%s' AND "
	    "json_extract(detail, '$.how') = '%s'",
	    key, verdict, who, how);
	return sql_wait(A.state, sql, 1, WAIT_MS);
}

long long
decision_audits(const char *key)
{
	char sql[600];

	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM audit WHERE key = '%s' AND kind = "
	    "'decision'",
	    key);
	return sql_count(A.state, sql);
}

void
assert_undecided(const char *key)
{
	int ap = -1, dn = -1, cn = -1;

	CU_ASSERT_EQUAL_FATAL(
	    emu_truth_counts(&E, key + strlen("permissions:"), &ap, &dn, &cn),
	    0);
	CU_ASSERT_EQUAL(ap + dn + cn, 0);
}

/* ---- JSON helpers ---------------------------------------------------------- */

struct json_object *
jpath(struct json_object *o, const char *path)
{
	char buf[256], *save = NULL, *k;
	struct json_object *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (k = strtok_r(buf, ".", &save); k != NULL && v != NULL;
	     k = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(v, json_type_array))
			v = json_object_array_get_idx(v, (size_t)atoi(k));
		else if (!json_object_object_get_ex(v, k, &v))
			v = NULL;
	}
	return v;
}

const char *
jstr(struct json_object *o, const char *path)
{
	struct json_object *v = jpath(o, path);

	return v != NULL && json_object_is_type(v, json_type_string)
	           ? json_object_get_string(v)
	           : "";
}

/* The decide_url of approver `who` (UPN) in a JSON message (heap). */
char *
link_for(const char *key, const char *event, int nth, const char *who)
{
	struct rx_msg m;
	struct json_object *o, *a, *e;
	char *url = NULL;
	size_t i;

	if (rx_get("/json", key, event, nth, &m) == -1)
		return NULL;
	if ((o = json_tokener_parse(m.body)) != NULL &&
	    (a = jpath(o, "approvers")) != NULL)
		for (i = 0; i < json_object_array_length(a); i++) {
			e = json_object_array_get_idx(a, i);
			if (url == NULL && strcasecmp(jstr(e, "upn"), who) == 0)
				url = strdup(jstr(e, "decide_url"));
		}
	json_object_put(o);
	free(m.body);
	return url;
}

/* The first button URL of a Slack message (heap). */
char *
slack_link(const char *key)
{
	struct rx_msg m;
	struct json_object *o, *blocks, *b;
	char *url = NULL;
	size_t i;

	if (rx_get("/slack", key, "pending", 0, &m) == -1)
		return NULL;
	if ((o = json_tokener_parse(m.body)) != NULL &&
	    (blocks = jpath(o, "blocks")) != NULL)
		for (i = 0; i < json_object_array_length(blocks); i++) {
			b = json_object_array_get_idx(blocks, i);
			if (url == NULL &&
			    strcmp(jstr(b, "type"), "actions") == 0)
				url = strdup(jstr(b, "elements.0.url"));
		}
	json_object_put(o);
	free(m.body);
	return url;
}

/* ---- HTTP to the decision page ------------------------------------------- */

static size_t
web_body(char *p, size_t size, size_t n, void *ud)
{
	struct web *w = ud;
	size_t len = w->body ? strlen(w->body) : 0, add = size * n;
	char *b = realloc(w->body, len + add + 1);

	if (b == NULL)
		return 0;
	memcpy(b + len, p, add);
	b[len + add] = '\0';
	w->body = b;
	return add;
}

static void
web_hdr1(const char *line, size_t n, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);

	if (n > nl && strncasecmp(line, name, nl) == 0) {
		size_t vl = n - nl;

		while (vl > 0 &&
		       (line[nl + vl - 1] == '\r' || line[nl + vl - 1] == '\n'))
			vl--;
		snprintf(out, len, "%.*s", (int)vl, line + nl);
	}
}

static size_t
web_hdr(char *p, size_t size, size_t n, void *ud)
{
	struct web *w = ud;

	web_hdr1(
	    p, size * n, "Content-Security-Policy: ", w->csp, sizeof(w->csp));
	web_hdr1(p, size * n, "Cache-Control: ", w->cache, sizeof(w->cache));
	web_hdr1(p, size * n, "Content-Type: ", w->ctype, sizeof(w->ctype));
	return size * n;
}

/* GET (form NULL) or POST a form to `url`. */
long
web(const char *url, const char *form, struct web *w)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;

	memset(w, 0, sizeof(*w));
	if (c == NULL)
		return 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, web_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, web_hdr);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, w);
	if (form != NULL) {
		h = curl_slist_append(
		    h, "Content-Type: application/x-www-form-urlencoded");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &w->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (w->body == NULL)
		w->body = strdup("");
	return w->status;
}

/* Status of GET/POST, and whether the page contains `text`. */
int
web_says(const char *url, const char *form, long status, const char *text)
{
	struct web w;
	int ok;

	web(url, form, &w);
	ok = w.status == status && w.body != NULL &&
	     strstr(w.body, text) != NULL;
	if (!ok)
		fprintf(stderr, "want %ld `%s`, got %ld: %.300s\n", status,
		    text, w.status, w.body);
	free(w.body);
	return ok;
}
