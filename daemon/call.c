/* Graph calls with tokens: 401 → one forced refresh; reads retried with
 * backoff and jitter on throttling, 5xx and transport errors. */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "approvald.h"
#include "limits.h"
#include "log.h"

struct call {
	struct daemon *d;
	enum token_kind kind;
	char *method, *url, *body, *bearer;
	int retried_401;
	int attempts;
	struct event *retry_ev;
	adapter_body_cb cb;
	void *arg;
};

static void call_start(struct call *c);

static void
call_free(struct call *c)
{
	if (c->bearer != NULL) {
		explicit_bzero(c->bearer, strlen(c->bearer));
		free(c->bearer);
	}
	if (c->retry_ev != NULL)
		event_free(c->retry_ev);
	free(c->method);
	free(c->url);
	free(c->body);
	free(c);
}

static void
call_done(struct call *c, long status, const char *body, const char *err)
{
	c->cb(c->arg, status, body, err);
	call_free(c);
}

/* `base` doubled `attempt` times, capped at `cap`, then jittered into
 * [half, whole] (any unit). */
long
backoff_jitter(long base, long cap, int attempt)
{
	unsigned int r = 0;

	while (attempt-- > 0 && base < cap)
		base *= 2;
	if (base > cap)
		base = cap;
	RAND_bytes((unsigned char *)&r, sizeof(r));
	return base / 2 + (long)(r % (unsigned)(base / 2 + 1));
}

/* Capped exponential backoff with jitter, in milliseconds. */
static long
call_backoff_ms(int attempt)
{
	return backoff_jitter(
	    GRAPH_BACKOFF_BASE_MS, GRAPH_BACKOFF_MAX_MS, attempt);
}

static void
call_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	call_start(arg);
}

static void
call_response(void *arg, const struct graph_resp *resp)
{
	struct call *c = arg;
	int idempotent = strcmp(c->method, "GET") == 0;
	struct timeval tv;
	long ms;

	if (resp->status == 401 && !c->retried_401) {
		/* One forced refresh, then one retry. */
		c->retried_401 = 1;
		token_invalidate(c->d->tokens, c->kind, c->bearer);
		call_start(c);
		return;
	}
	if (idempotent && !c->d->stopping &&
	    (resp->status == 0 || resp->status == 429 || resp->status >= 500) &&
	    ++c->attempts < GRAPH_MAX_RETRIES) {
		/* The throttle gate already holds every call for Retry-After;
		 * without one, back off with jitter. */
		ms = resp->retry_after >= 0 ? 0 : call_backoff_ms(c->attempts);
		log_debug("graph: %s answered %ld%s%s; retry %d in %ldms",
		    c->method, resp->status, resp->error ? ": " : "",
		    resp->error ? resp->error : "", c->attempts, ms);
		if (c->retry_ev == NULL &&
		    (c->retry_ev = evtimer_new(c->d->base, call_retry_cb, c)) ==
		        NULL) {
			call_done(c, 0, NULL, "out of memory");
			return;
		}
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(c->retry_ev, &tv);
		return;
	}
	call_done(c, resp->status, resp->body, resp->error);
}

static void
call_token(void *arg, const char *bearer, const char *err)
{
	struct call *c = arg;

	if (bearer == NULL) {
		call_done(c, 0, NULL, err ? err : "no token");
		return;
	}
	if (c->bearer != NULL) {
		explicit_bzero(c->bearer, strlen(c->bearer));
		free(c->bearer);
	}
	if ((c->bearer = strdup(bearer)) == NULL) {
		call_done(c, 0, NULL, "out of memory");
		return;
	}
	if (graph_call(c->d->graph, c->method, c->url, c->bearer,
	        c->body ? "application/json" : NULL, c->body, call_response,
	        c) == -1)
		call_done(c, 0, NULL, "call refused (foreign origin)");
}

static void
call_start(struct call *c)
{
	token_get(c->d->tokens, c->kind, call_token, c);
}

void
daemon_graph(struct daemon *d, enum token_kind kind, const char *method,
    const char *url, const char *body, adapter_body_cb cb, void *arg)
{
	struct call *c;

	if (!graph_url_allowed(d->graph, url)) {
		log_warnx("graph: refusing a call outside the configured "
		          "Graph origin");
		cb(arg, 0, NULL, "foreign origin");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->method = strdup(method)) == NULL ||
	    (c->url = strdup(url)) == NULL ||
	    (body != NULL && (c->body = strdup(body)) == NULL)) {
		if (c != NULL)
			call_free(c);
		cb(arg, 0, NULL, "out of memory");
		return;
	}
	c->d = d;
	c->kind = kind;
	c->cb = cb;
	c->arg = arg;
	call_start(c);
}
