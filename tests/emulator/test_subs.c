/*
 * graph-emulator change notifications: /v1.0/subscriptions with the
 * validation handshake, renew and delete, membership writes that deliver
 * notifications, lifecycle events from the control API. A receiver thread
 * in this process plays the subscriber.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/http.h>

#include "cu.h"
#include "harness.h"
#include "suites.h"

#define SECOPS  "1623f912-5e86-41c2-af47-39dd67582b66"
#define SAM_ID  "c5a9e3b1-7d2f-4a8c-b6e4-1f3a5c7e9b2d"
#define RCV_MAX 64

enum rcv_mode { RCV_ECHO, RCV_WRONG, RCV_FAIL };

/* What the receiver saw: one entry per request. */
struct rcv_req {
	char target[1024];
	char *body;
	char *token; /* decoded validationToken, or NULL */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd, port;
	enum rcv_mode mode;
	struct rcv_req v[RCV_MAX];
	int n;
	pthread_t th;
	int stop;
} rcv = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, -1, 0, RCV_ECHO,
	{ { "", NULL, NULL } }, 0, 0, 0 };

static char *app, *alex;

/* Read one request (headers and Content-Length body) from fd. */
static int
rcv_read(int fd, char **head, char **body)
{
	char *buf = NULL, *p, *e;
	size_t n = 0, cap = 0, need = 0, hl = 0;
	ssize_t k;

	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			if ((p = realloc(buf, cap)) == NULL)
				break;
			buf = p;
		}
		if ((k = recv(fd, buf + n, cap - n - 1, 0)) <= 0)
			break;
		n += (size_t)k;
		buf[n] = '\0';
		if (hl == 0 && (e = strstr(buf, "\r\n\r\n")) != NULL) {
			hl = (size_t)(e - buf) + 4;
			if ((p = strcasestr(buf, "\r\nContent-Length:")) !=
			        NULL &&
			    p < e)
				need = strtoul(p + 17, NULL, 10);
		}
		if (hl > 0 && n >= hl + need) {
			*head = strndup(buf, hl);
			*body = strndup(buf + hl, need);
			free(buf);
			return 0;
		}
	}
	free(buf);
	return -1;
}

static void
rcv_answer(int fd, int status, const char *ctype, const char *body, size_t len)
{
	char h[256];
	int hl = snprintf(h, sizeof(h),
	    "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n",
	    status, ctype, len);

	(void)send(fd, h, (size_t)hl, MSG_NOSIGNAL);
	if (len > 0)
		(void)send(fd, body, len, MSG_NOSIGNAL);
}

static void *
rcv_main(void *arg)
{
	int fd;
	char *head, *body, *q, target[1024];
	struct rcv_req *r;
	size_t tl;

	(void)arg;
	while ((fd = accept(rcv.fd, NULL, NULL)) != -1) {
		if (rcv_read(fd, &head, &body) == -1) {
			close(fd);
			continue;
		}
		sscanf(head, "%*s %1023s", target);
		free(head);
		pthread_mutex_lock(&rcv.mu);
		r = rcv.n < RCV_MAX ? &rcv.v[rcv.n++] : NULL;
		if (r != NULL) {
			snprintf(r->target, sizeof(r->target), "%s", target);
			r->body = body;
			r->token = NULL;
			if ((q = strstr(target, "validationToken=")) != NULL)
				r->token = evhttp_uridecode(q + 16, 0, &tl);
		} else
			free(body);
		if (r != NULL && r->token != NULL) {
			if (rcv.mode == RCV_ECHO)
				rcv_answer(fd, 200, "text/plain", r->token,
				    strlen(r->token));
			else if (rcv.mode == RCV_WRONG)
				rcv_answer(fd, 200, "text/plain", "nope", 4);
			else
				rcv_answer(fd, 500, "text/plain", "", 0);
		} else
			rcv_answer(fd, 202, "text/plain", "", 0);
		pthread_cond_broadcast(&rcv.cv);
		pthread_mutex_unlock(&rcv.mu);
		close(fd);
	}
	return NULL;
}

static void
rcv_clear(enum rcv_mode mode)
{
	int i;

	pthread_mutex_lock(&rcv.mu);
	for (i = 0; i < rcv.n; i++) {
		free(rcv.v[i].body);
		free(rcv.v[i].token);
	}
	rcv.n = 0;
	rcv.mode = mode;
	pthread_mutex_unlock(&rcv.mu);
}

/* Wait (10 s at most) until the receiver has seen `n` requests. */
static int
rcv_wait(int n)
{
	struct timespec ts;
	int ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&rcv.mu);
	while (rcv.n < n &&
	       pthread_cond_timedwait(&rcv.cv, &rcv.mu, &ts) != ETIMEDOUT)
		;
	ok = rcv.n >= n;
	pthread_mutex_unlock(&rcv.mu);
	return ok ? 0 : -1;
}

/* The body of request i as JSON (caller puts), or NULL. */
static json_object *
rcv_json(int i)
{
	json_object *o = NULL;

	pthread_mutex_lock(&rcv.mu);
	if (i < rcv.n && rcv.v[i].body != NULL)
		o = json_tokener_parse(rcv.v[i].body);
	pthread_mutex_unlock(&rcv.mu);
	return o;
}

int
subs_init(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	if ((rcv.fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(rcv.fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(rcv.fd, 16) == -1 ||
	    getsockname(rcv.fd, (struct sockaddr *)&sin, &sl) == -1)
		return -1;
	rcv.port = ntohs(sin.sin_port);
	if (pthread_create(&rcv.th, NULL, rcv_main, NULL) != 0)
		return -1;
	if (h_start(NULL) != 0)
		return -1;
	app = h_token("app:" APP_ID);
	alex = h_token("alex@contoso.com");
	return app != NULL && alex != NULL ? 0 : -1;
}

int
subs_cleanup(void)
{
	free(app);
	free(alex);
	app = alex = NULL;
	shutdown(rcv.fd, SHUT_RDWR);
	close(rcv.fd);
	pthread_join(rcv.th, NULL);
	rcv_clear(RCV_ECHO);
	h_stop();
	return 0;
}

/* ISO time `secs` from now. */
static void
iso_in(long secs, char *buf, size_t len)
{
	time_t t = time(NULL) + secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* POST a subscription to the receiver; the response (caller frees). */
static struct resp *
subscribe(const char *resource, const char *cs, long secs, const char *lpath)
{
	char body[1024], iso[40], life[256] = "";

	iso_in(secs, iso, sizeof(iso));
	if (lpath != NULL)
		snprintf(life, sizeof(life),
		    ",\"lifecycleNotificationUrl\":\"http://127.0.0.1:%d%s\"",
		    rcv.port, lpath);
	snprintf(body, sizeof(body),
	    "{\"changeType\":\"updated\",\"notificationUrl\":"
	    "\"http://127.0.0.1:%d/hook?x=1\",\"resource\":\"%s\","
	    "\"expirationDateTime\":\"%s\",\"clientState\":\"%s\"%s}",
	    rcv.port, resource, iso, cs, life);
	return h_call("POST", "/v1.0/subscriptions", app, body, NULL);
}

static int
count_subs(void)
{
	struct resp *r = h_call("GET", "/v1.0/subscriptions", app, NULL, NULL);
	int n = -1;

	if (r->status == 200)
		n = (int)json_object_array_length(
		    json_object_object_get(r->json, "value"));
	h_free(r);
	return n;
}

static long
member(const char *method, const char *tok, const char *who)
{
	char path[256], body[256];
	struct resp *r;
	long st;

	if (strcmp(method, "POST") == 0) {
		snprintf(body, sizeof(body),
		    "{\"@odata.id\":\"https://graph.microsoft.com/v1.0/"
		    "directoryObjects/%s\"}",
		    who);
		r = h_call("POST", "/v1.0/groups/" SECOPS "/members/$ref", tok,
		    body, NULL);
	} else {
		snprintf(path, sizeof(path),
		    "/v1.0/groups/" SECOPS "/members/%s/$ref", who);
		r = h_call("DELETE", path, tok, NULL, NULL);
	}
	st = r->status;
	h_free(r);
	return st;
}

static int
secops_members(void)
{
	struct resp *r =
	    h_call("GET", "/v1.0/groups/" SECOPS "/members", app, NULL, NULL);
	int n = (int)json_object_array_length(
	    json_object_object_get(r->json, "value"));

	h_free(r);
	return n;
}

/* Create (handshake seen), list, get, renew, and membership changes with
 * clientState; lifecycle events; delete. */
static void
t_subscribe_notify(void)
{
	struct resp *r;
	json_object *n;
	char id[64], path[128], body[256], iso[40];

	h_reset();
	rcv_clear(RCV_ECHO);
	r = subscribe("groups/" SECOPS, "cs-123", 3600, NULL);
	CU_ASSERT_EQUAL_FATAL(r->status, 201);
	H_ASSERT_STR(h_str(r->json, "clientState"), "cs-123");
	H_ASSERT_STR(h_str(r->json, "applicationId"), APP_ID);
	snprintf(id, sizeof(id), "%s",
	    h_str(r->json, "id") ? h_str(r->json, "id") : "");
	h_free(r);
	/* the handshake went to notificationUrl, its token decoded intact */
	CU_ASSERT_FATAL(rcv_wait(1) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(rcv.v[0].target, "/hook?x=1&"));
	CU_ASSERT(rcv.v[0].token != NULL &&
	          strncmp(rcv.v[0].token, "Validation: ", 12) == 0 &&
	          strstr(rcv.v[0].token, " <&>") != NULL);
	CU_ASSERT_EQUAL(count_subs(), 1);
	snprintf(path, sizeof(path), "/v1.0/subscriptions/%s", id);
	r = h_call("GET", path, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "resource"), "groups/" SECOPS);
	h_free(r);
	/* renew: within 41760 minutes only, and in the future */
	iso_in(7200, iso, sizeof(iso));
	snprintf(body, sizeof(body), "{\"expirationDateTime\":\"%s\"}", iso);
	r = h_call("PATCH", path, app, body, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT(h_str(r->json, "expirationDateTime") != NULL &&
	          strncmp(h_str(r->json, "expirationDateTime"), iso, 19) == 0);
	h_free(r);
	iso_in(30L * 86400, iso, sizeof(iso));
	snprintf(body, sizeof(body), "{\"expirationDateTime\":\"%s\"}", iso);
	r = h_call("PATCH", path, app, body, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	iso_in(-60, iso, sizeof(iso));
	snprintf(body, sizeof(body), "{\"expirationDateTime\":\"%s\"}", iso);
	r = h_call("PATCH", path, app, body, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);

	/* membership: only admins write; each change is notified */
	CU_ASSERT_EQUAL(member("POST", alex, SAM_ID), 403);
	CU_ASSERT_EQUAL(member("POST", app, "sam@contoso.com"), 204);
	CU_ASSERT_EQUAL(member("POST", app, SAM_ID), 400);
	CU_ASSERT_EQUAL(member("POST", app, "nobody-at-all"), 404);
	CU_ASSERT_EQUAL(secops_members(), 3);
	CU_ASSERT_FATAL(rcv_wait(2) == 0);
	n = rcv_json(1);
	H_ASSERT_STR(h_str(n, "value/0/subscriptionId"), id);
	H_ASSERT_STR(h_str(n, "value/0/clientState"), "cs-123");
	H_ASSERT_STR(h_str(n, "value/0/changeType"), "updated");
	H_ASSERT_STR(h_str(n, "value/0/resource"), "Groups/" SECOPS);
	H_ASSERT_STR(h_str(n, "value/0/resourceData/id"), SECOPS);
	H_ASSERT_STR(
	    h_str(n, "value/0/resourceData/members@delta/0/id"), SAM_ID);
	CU_ASSERT_PTR_NULL(
	    h_str(n, "value/0/resourceData/members@delta/0/@removed"));
	json_object_put(n);
	CU_ASSERT_EQUAL(member("DELETE", app, SAM_ID), 204);
	CU_ASSERT_EQUAL(member("DELETE", app, SAM_ID), 404);
	CU_ASSERT_EQUAL(secops_members(), 2);
	CU_ASSERT_FATAL(rcv_wait(3) == 0);
	n = rcv_json(2);
	H_ASSERT_STR(
	    h_str(n, "value/0/resourceData/members@delta/0/id"), SAM_ID);
	H_ASSERT_STR(
	    h_str(n, "value/0/resourceData/members@delta/0/@removed/reason"),
	    "deleted");
	json_object_put(n);

	/* lifecycle events on request */
	snprintf(body, sizeof(body),
	    "{\"subscription\":\"%s\",\"event\":\"missed\"}", id);
	r = h_call("POST", "/_emulator/lifecycle", NULL, body, NULL);
	CU_ASSERT_EQUAL(r->status, 202);
	h_free(r);
	CU_ASSERT_FATAL(rcv_wait(4) == 0);
	n = rcv_json(3);
	H_ASSERT_STR(h_str(n, "value/0/lifecycleEvent"), "missed");
	H_ASSERT_STR(h_str(n, "value/0/clientState"), "cs-123");
	json_object_put(n);
	snprintf(body, sizeof(body),
	    "{\"subscription\":\"%s\",\"event\":\"subscriptionRemoved\"}", id);
	r = h_call("POST", "/_emulator/lifecycle", NULL, body, NULL);
	CU_ASSERT_EQUAL(r->status, 202);
	h_free(r);
	CU_ASSERT_FATAL(rcv_wait(5) == 0);
	r = h_call("GET", path, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	h_free(r);
	r = h_call("POST", "/_emulator/lifecycle", NULL, body, NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	h_free(r);

	/* delete; every delivery is on record */
	r = subscribe("groups", "cs-all", 600, NULL);
	CU_ASSERT_EQUAL_FATAL(r->status, 201);
	snprintf(path, sizeof(path), "/v1.0/subscriptions/%s",
	    h_str(r->json, "id") ? h_str(r->json, "id") : "");
	h_free(r);
	r = h_call("DELETE", path, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 204);
	h_free(r);
	r = h_call("DELETE", path, app, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	h_free(r);
	CU_ASSERT_EQUAL(count_subs(), 0);
	r = h_call("GET", "/_emulator/notifications", NULL, NULL, NULL);
	CU_ASSERT_EQUAL(json_object_array_length(
	                    json_object_object_get(r->json, "deliveries")),
	    6);
	H_ASSERT_STR(h_str(r->json, "deliveries/1/kind"), "change");
	H_ASSERT_STR(h_str(r->json, "deliveries/1/status"), "202");
	h_free(r);
	/* nothing is delivered once deleted, and reset restores members */
	CU_ASSERT_EQUAL(member("POST", app, SAM_ID), 204);
	h_reset();
	CU_ASSERT_EQUAL(secops_members(), 2);
	r = h_call("GET", "/_emulator/notifications", NULL, NULL, NULL);
	CU_ASSERT_EQUAL(json_object_array_length(
	                    json_object_object_get(r->json, "deliveries")),
	    0);
	h_free(r);
}

/* A subscriber that does not echo the token, fails, or cannot be reached
 * gets no subscription; bad requests are refused before any handshake. */
static void
t_subscribe_refused(void)
{
	static const enum rcv_mode modes[] = { RCV_WRONG, RCV_FAIL };
	struct resp *r;
	char big[200], body[512];
	size_t i;
	int fd;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	h_reset();
	for (i = 0; i < 2; i++) {
		rcv_clear(modes[i]);
		r = subscribe("groups/" SECOPS, "cs", 600, NULL);
		CU_ASSERT_EQUAL(r->status, 400);
		H_ASSERT_STR(h_str(r->json, "error/code"), "ValidationError");
		h_free(r);
		CU_ASSERT_EQUAL(rcv.n, 1);
	}
	CU_ASSERT_EQUAL(count_subs(), 0);
	/* a closed port */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	                getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
	snprintf(body, sizeof(body),
	    "{\"changeType\":\"updated\",\"notificationUrl\":"
	    "\"http://127.0.0.1:%d/\",\"resource\":\"groups\","
	    "\"expirationDateTime\":\"2999-01-01T00:00:00Z\"}",
	    ntohs(sin.sin_port));
	close(fd);
	r = h_call("POST", "/v1.0/subscriptions", app, body, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	/* refused before any handshake */
	rcv_clear(RCV_ECHO);
	r = subscribe("users/" SAM_ID, "cs", 600, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	r = subscribe("groups/no-such-group", "cs", 600, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	memset(big, 'c', 129);
	big[129] = '\0';
	r = subscribe("groups/" SECOPS, big, 600, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	r = subscribe("groups/" SECOPS, "cs", 42L * 86400, NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	CU_ASSERT_EQUAL(rcv.n, 0);
	/* both URLs are validated when they differ */
	r = subscribe("groups/" SECOPS, "cs", 600, "/life");
	CU_ASSERT_EQUAL(r->status, 201);
	h_free(r);
	CU_ASSERT_EQUAL(rcv.n, 2);
	CU_ASSERT(rcv.n == 2 && strncmp(rcv.v[1].target, "/life?", 6) == 0);
	CU_ASSERT_EQUAL(count_subs(), 1);
}

static void
t_subs_clean_exit(void)
{
	CU_ASSERT_EQUAL(h_stop(), 0);
}

const struct cu_test subs_tests[] = {
	{ "subscribe_notify", t_subscribe_notify },
	{ "subscribe_refused", t_subscribe_refused },
	{ "clean_exit", t_subs_clean_exit },
	{ NULL, NULL },
};
