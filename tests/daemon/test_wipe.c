/*
 * Issue 14: memory the Graph client frees holds no secret. A call carries a
 * canary in its bearer, its body (a token endpoint's form) and its answer
 * (a token endpoint's reply, long enough to grow the response buffer);
 * free() and realloc() of the daemon's own objects are wrapped
 * (-Wl,--wrap) and look into every block before it goes: none may still
 * hold the canary. (libcurl's and libevent's own buffers are outside
 * approvald's reach and not wrapped.)
 */
#include <malloc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "cu.h"
#include "graph.h"

#define CANARY     "canary-5e1f-not-for-freed-memory"
#define REPLY_SIZE (12 * 1024) /* > the 4 KiB first response buffer */

void __real_free(void *p);
void *__real_realloc(void *p, size_t n);
void __wrap_free(void *p);
void *__wrap_realloc(void *p, size_t n);

static int wipe_armed; /* look into blocks only while a call runs */
static int wipe_dirty; /* blocks that went with the canary in them */

static int
wipe_has_canary(void *p)
{
	return p != NULL &&
	       memmem(p, malloc_usable_size(p), CANARY, strlen(CANARY)) != NULL;
}

void
__wrap_free(void *p)
{
	if (wipe_armed && wipe_has_canary(p))
		wipe_dirty++;
	__real_free(p);
}

/* realloc may move a block and free the old one as it was */
void *
__wrap_realloc(void *p, size_t n)
{
	if (wipe_armed && wipe_has_canary(p))
		wipe_dirty++;
	return __real_realloc(p, n);
}

static struct event_base *wbase;
static struct evhttp *wsrv;
static int wport;

/* The "token endpoint": the canary, padded, whatever was asked. */
static void
wipe_serve(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();
	size_t n = 0;

	(void)arg;
	while (n + strlen(CANARY) + 1 < REPLY_SIZE) {
		evbuffer_add_printf(b, "%s ", CANARY);
		n += strlen(CANARY) + 1;
	}
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static int
wipe_init(void)
{
	struct evhttp_bound_socket *s;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	if ((wbase = event_base_new()) == NULL ||
	    (wsrv = evhttp_new(wbase)) == NULL ||
	    (s = evhttp_bind_socket_with_handle(wsrv, "127.0.0.1", 0)) ==
	        NULL ||
	    getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sin,
	        &sl) == -1)
		return -1;
	wport = ntohs(sin.sin_port);
	evhttp_set_gencb(wsrv, wipe_serve, NULL);
	return 0;
}

static int
wipe_cleanup(void)
{
	evhttp_free(wsrv);
	event_base_free(wbase);
	return 0;
}

struct wipe_answer {
	int done;
	long status;
	int canary; /* the answer held the canary */
};

static void
wipe_cb(void *arg, const struct graph_resp *r)
{
	struct wipe_answer *a = arg;

	a->done = 1;
	a->status = r->status;
	a->canary = r->body != NULL && strstr(r->body, CANARY) != NULL;
}

/* Bearer, form body and answer of a token call: no freed block keeps
 * the canary. */
static void
test_token_call_wiped(void)
{
	char origin[64], url[96];
	const char *origins[1] = { origin };
	struct graph_opts o;
	struct graph *g;
	struct wipe_answer a = { 0, 0, 0 };
	char *err = NULL;
	int i;

	snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", wport);
	snprintf(url, sizeof(url), "%s/tenant/oauth2/v2.0/token", origin);
	memset(&o, 0, sizeof(o));
	o.origins = origins;
	o.norigins = 1;
	o.allow_http = 1;
	o.max_inflight = 2;
	o.timeout = 20;
	o.quiet = 1;
	CU_ASSERT_PTR_NOT_NULL_FATAL(g = graph_new(wbase, &o, &err));
	wipe_armed = 1;
	CU_ASSERT_FATAL(graph_call(g, "POST", url, "bearer-" CANARY,
	                    "application/x-www-form-urlencoded",
	                    "grant_type=refresh_token&refresh_token=" CANARY,
	                    wipe_cb, &a) == 0);
	/* the call's own timeout bounds this */
	for (i = 0; i < 100000 && !a.done; i++)
		event_base_loop(wbase, EVLOOP_ONCE);
	graph_free(g);
	wipe_armed = 0;
	CU_ASSERT_EQUAL(a.status, 200);
	CU_ASSERT(a.canary);
	CU_ASSERT_EQUAL(wipe_dirty, 0);
}

static const struct cu_test wipe_tests[] = {
	{ "token call buffers wiped", test_token_call_wiped },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "wipe", wipe_init, wipe_cleanup, wipe_tests },
	{ NULL, NULL, NULL, NULL },
};
