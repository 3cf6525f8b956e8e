/*
 * HTTP listener (evhttp, libevent 2.1): /healthz, /readyz and the routes
 * other modules register (/metrics, /v1/hooks/..., the decision links under
 * /v1/decide/), behind hardened limits. A route ending in '/' serves every
 * path under it.
 *
 * libevent 2.1 has no connection limit, no absolute request deadline and
 * answers oversized headers itself (413), so this file adds them:
 *
 * - Connections are counted through evhttp_set_bevcb(): we create each
 *   connection's bufferevent and keep one reference of our own. When
 *   evhttp is done with a connection it frees the bufferevent, which clears
 *   its callbacks; a sweep (on the connection's close callback, and once a
 *   second while any is open) drops our reference, which closes the socket.
 * - At the cap, evhttp's listener is paused and a second listener on the
 *   same socket answers 503 and closes; below it, evhttp accepts again.
 * - Per peer address at most http.max_connections_per_peer: evhttp 2.1
 *   tells nothing at accept, so a new connection's peer is read from its
 *   socket (getpeername) right after (sweep, or its first request). Over
 *   the cap, the peer's connection that has waited longest for a request
 *   is cut (never one being served): one address trickling or reopening
 *   connections (slowloris) holds at most that many slots, and a new
 *   connection from it, such as a health probe, still gets in. An IPv6
 *   peer is its /64 (one host commonly holds a whole one).
 * - The sweep also shuts down (shutdown(2), evhttp then closes) a
 *   connection that has not sent a complete request within http.timeout of
 *   its start or of its previous request: a slow sender cannot hold a slot
 *   by trickling bytes past evhttp's idle timeout.
 * - evhttp's own header limit is a hard backstop (HTTP_HEADERS_HARD_MAX,
 *   refused by libevent itself with 400 or 413, uncounted: no approvald
 *   code sees such a request); http.max_header_bytes below it is checked
 *   here and answered 431 (414 when the request line alone is too long).
 * - Only the registered methods of a route are served (405 with Allow);
 *   webhooks, decision links and unknown paths are rate limited per peer
 *   address (token
 *   bucket, 429 with Retry-After); every refusal is counted in /metrics and
 *   logged at a bounded rate.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "limits.h"
#include "listen.h"
#include "log.h"

#define HTTPD_MAX_ROUTES 16
#define HTTPD_SETS       256 /* rate-limit buckets: sets of ... */
#define HTTPD_WAYS       4   /* ... peers each, least recently used out */
#define HTTPD_PEER_MAX   64

struct httpd_route {
	const char *path;
	int methods; /* EVHTTP_REQ_* mask */
	int limited; /* subject to the per-peer rate limit */
	httpd_handler fn;
	void *arg;
};

struct httpd_conn {
	struct bufferevent *bev; /* one reference is ours */
	double started;          /* accept, or the latest request */
	unsigned requests;
	int bound;    /* close callback set */
	int over;     /* accepted beyond the cap (one accept batch): 503 */
	int cut;      /* shut down: deadline or per-peer cap */
	int admitted; /* peer read and checked against the per-peer cap */
	int busy;     /* a request is being served */
	uint64_t seq; /* accepted or last answered: the lowest goes first */
	char peer[INET6_ADDRSTRLEN + 3]; /* IPv6: the /64 */
};

struct httpd_bucket {
	char peer[HTTPD_PEER_MAX];
	double tokens, last;
};

struct httpd_state {
	struct daemon *d;
	struct httpd_route routes[HTTPD_MAX_ROUTES];
	size_t nroutes;
	struct httpd_conn *conns;
	size_t nconns, capconns;
	struct evconnlistener *lev;      /* evhttp's */
	struct evconnlistener *overflow; /* answers 503 at the cap */
	struct event *sweep_ev;
	int paused;
	uint64_t seq;
	struct httpd_bucket buckets[HTTPD_SETS][HTTPD_WAYS];
	int64_t log_window;
	unsigned log_count;
	unsigned long suppressed;
};

static double
httpd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
httpd_reply(
    struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (b != NULL)
		evbuffer_add_printf(b, "%s\n", text);
	evhttp_send_reply(req, code, reason, b);
	if (b != NULL)
		evbuffer_free(b);
}

/* Log a refused request, at most HTTP_LOG_BURST lines a minute (the rest
 * are counted and summed up in the next window). */
static void
httpd_log(struct httpd_state *httpd, const char *peer, const char *what,
    const char *why)
{
	int64_t now = clock_now();

	if (now - httpd->log_window >= 60) {
		if (httpd->suppressed > 0)
			log_warnx("http: %lu more refused requests were not "
			          "logged",
			    httpd->suppressed);
		httpd->log_window = now;
		httpd->log_count = 0;
		httpd->suppressed = 0;
	}
	if (httpd->log_count >= HTTP_LOG_BURST) {
		httpd->suppressed++;
		return;
	}
	httpd->log_count++;
	log_warnx("http: %s from %s refused: %s", what, peer, why);
}

static const char *
httpd_peer(struct evhttp_request *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	char *p = NULL;
	ev_uint16_t port = 0;

	if (c != NULL)
		evhttp_connection_get_peer(c, &p, &port);
	return p != NULL ? p : "?";
}

void
httpd_log_refused(struct daemon *d, struct evhttp_request *req,
    const char *what, const char *why)
{
	struct httpd_state *httpd = d->httpd;

	httpd_log(httpd, httpd_peer(req), what, why);
}

static const char *
httpd_method(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	default:
		return "request";
	}
}

/* Refuse `req` with `code`, counted under `why`; the connection closes. */
static void
httpd_refuse(struct httpd_state *httpd, struct evhttp_request *req, int code,
    const char *reason, const char *why)
{
	metrics_http_refused(httpd->d, why);
	httpd_log(httpd, httpd_peer(req), httpd_method(req), why);
	evhttp_add_header(
	    evhttp_request_get_output_headers(req), "Connection", "close");
	httpd_reply(req, code, reason, reason);
}

/* ---- connections ------------------------------------------------------ */

static void
httpd_pause(struct httpd_state *httpd, int on)
{
	if (httpd->lev == NULL || httpd->overflow == NULL ||
	    httpd->paused == on)
		return;
	httpd->paused = on;
	if (on) {
		evconnlistener_disable(httpd->lev);
		evconnlistener_enable(httpd->overflow);
		httpd_log(httpd, "-", "connection",
		    "connection cap reached; refusing new ones");
	} else {
		evconnlistener_disable(httpd->overflow);
		evconnlistener_enable(httpd->lev);
	}
}

static struct httpd_conn *
httpd_conn_find(struct httpd_state *httpd, struct bufferevent *bev)
{
	size_t i;

	for (i = 0; bev != NULL && i < httpd->nconns; i++)
		if (httpd->conns[i].bev == bev)
			return &httpd->conns[i];
	return NULL;
}

static void
httpd_sweep_arm(struct httpd_state *httpd)
{
	struct timeval tv = { 1, 0 };

	if (httpd->sweep_ev != NULL && !evtimer_pending(httpd->sweep_ev, NULL))
		evtimer_add(httpd->sweep_ev, &tv);
}

/* Drop the connections evhttp has freed (ours was the last reference). */
static void
httpd_reap(struct httpd_state *httpd)
{
	bufferevent_data_cb rcb, wcb;
	bufferevent_event_cb ecb;
	void *cbarg;
	size_t i = 0;

	while (i < httpd->nconns) {
		struct httpd_conn *c = &httpd->conns[i];

		bufferevent_getcb(c->bev, &rcb, &wcb, &ecb, &cbarg);
		if (rcb == NULL && wcb == NULL && ecb == NULL) {
			metrics_http_conn(httpd->d,
			    c->requests > 0 ? "served" : "no_request");
			bufferevent_decref(c->bev);
			httpd->conns[i] = httpd->conns[--httpd->nconns];
			httpd->d->http_conns--;
			continue;
		}
		i++;
	}
}

/* The address of `sa` as text ("?" when neither IPv4 nor IPv6). */
static void
httpd_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	snprintf(buf, len, "?");
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
		    (socklen_t)len);
}

/* Shut connection c down (evhttp then closes it), counted under `why`. */
static void
httpd_cut(struct httpd_state *httpd, struct httpd_conn *c, const char *why,
    const char *text)
{
	evutil_socket_t fd;

	c->cut = 1;
	metrics_http_refused(httpd->d, why);
	httpd_log(httpd, c->peer[0] ? c->peer : "-", "connection", text);
	if ((fd = bufferevent_getfd(c->bev)) >= 0)
		shutdown(fd, SHUT_RDWR);
}

/* More than http.max_connections_per_peer open from c's peer: cut the
 * peer's connection waiting longest for a request, never one being served
 * (c itself only when all the others are). */
static void
httpd_peer_cap(struct httpd_state *httpd, const struct httpd_conn *c)
{
	struct httpd_conn *o, *victim = NULL;
	unsigned n = 0;
	size_t i;

	for (i = 0; i < httpd->nconns; i++) {
		o = &httpd->conns[i];
		if (!o->admitted || o->cut || strcmp(o->peer, c->peer) != 0)
			continue;
		n++;
		if (!o->busy && (victim == NULL || o->seq < victim->seq))
			victim = o;
	}
	if (n > httpd->d->settings->http_max_peer_conns && victim != NULL)
		httpd_cut(httpd, victim, "peer_cap",
		    "more than http.max_connections_per_peer open");
}

/* Read the peer of a new connection (once evhttp gave it its socket) and
 * hold it to the per-peer cap. */
static void
httpd_admit(struct httpd_state *httpd, struct httpd_conn *c)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6;
	socklen_t sl = sizeof(ss);
	evutil_socket_t fd;

	if (c->admitted || (fd = bufferevent_getfd(c->bev)) < 0)
		return;
	c->admitted = 1;
	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		ss.ss_family = AF_UNSPEC; /* "?": one shared peer */
	sin6 = (struct sockaddr_in6 *)&ss;
	if (ss.ss_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		/* one IPv6 host commonly holds a whole /64: one peer */
		memset(&sin6->sin6_addr.s6_addr[8], 0, 8);
		httpd_addr(
		    (struct sockaddr *)&ss, c->peer, sizeof(c->peer) - 3);
		strcat(c->peer, "/64");
	} else
		httpd_addr((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
	httpd_peer_cap(httpd, c);
}

/* Drop connections evhttp has freed, admit new ones (per-peer cap), cut
 * those past their deadline. */
static void
httpd_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct httpd_state *httpd = d->httpd;
	double now = httpd_now();
	size_t i;

	httpd_reap(httpd);
	for (i = 0; i < httpd->nconns; i++)
		httpd_admit(httpd, &httpd->conns[i]);
	for (i = 0; i < httpd->nconns; i++) {
		struct httpd_conn *c = &httpd->conns[i];

		/* One second of slack lets evhttp's idle timeout close an
		 * idle connection first. */
		if (!c->cut &&
		    now - c->started > (double)d->settings->http_timeout + 1)
			httpd_cut(httpd, c, "deadline",
			    "no complete request within http.timeout");
	}
	if ((unsigned)d->http_conns < d->settings->http_max_conns)
		httpd_pause(httpd, 0);
	if (httpd->nconns > 0)
		httpd_sweep_arm(httpd);
}

static void
httpd_sweep_soon(struct httpd_state *httpd)
{
	if (httpd->sweep_ev != NULL)
		event_active(httpd->sweep_ev, EV_TIMEOUT, 0);
}

/* evhttp is about to free this connection: sweep right after. */
static void
httpd_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct httpd_state *httpd = arg;

	(void)evcon;
	httpd_sweep_soon(httpd);
}

/* evhttp accepted a connection: make its bufferevent and count it. */
static struct bufferevent *
httpd_bevcb(struct event_base *base, void *arg)
{
	struct daemon *d = arg;
	struct httpd_state *httpd = d->httpd;
	struct bufferevent *bev;
	struct httpd_conn *v;

	/* Connections cut a moment ago and closed by evhttp since no longer
	 * count against the cap. */
	httpd_reap(httpd);
	if (httpd->nconns == httpd->capconns) {
		size_t cap = httpd->capconns ? httpd->capconns * 2 : 16;

		if ((v = realloc(httpd->conns, cap * sizeof(*v))) == NULL)
			return NULL; /* evhttp makes an uncounted one */
		httpd->conns = v;
		httpd->capconns = cap;
	}
	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return NULL;
	bufferevent_incref(bev);
	v = &httpd->conns[httpd->nconns++];
	memset(v, 0, sizeof(*v));
	v->bev = bev;
	v->started = httpd_now();
	v->seq = ++httpd->seq;
	d->http_conns++;
	metrics_http_conn(httpd->d, "accepted");
	if ((unsigned)d->http_conns >= d->settings->http_max_conns)
		httpd_pause(httpd, 1);
	/* Accepted in the same batch as the one that hit the cap: its
	 * request is answered 503. */
	if ((unsigned)d->http_conns > d->settings->http_max_conns)
		v->over = 1;
	/* evhttp gives it its socket once we return: admit it right after */
	httpd_sweep_soon(httpd);
	return bev;
}

/* At the cap: answer 503 and close, without reading the request. */
static void
httpd_overflow(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
	                           "Retry-After: 1\r\n"
	                           "Content-Type: text/plain\r\n"
	                           "Content-Length: 12\r\n"
	                           "Connection: close\r\n\r\n"
	                           "server busy\n";
	struct daemon *d = arg;
	char peer[INET6_ADDRSTRLEN];

	(void)l;
	(void)salen;
	httpd_addr(sa, peer, sizeof(peer));
	metrics_http_refused(d, "connection_cap");
	httpd_log(d->httpd, peer, "connection", "connection cap reached");
	(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(fd, SHUT_WR);
	close(fd);
}

/* ---- rate limit ------------------------------------------------------- */

static unsigned
httpd_hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* Take a token from `peer`'s bucket: 0, or -1 with the seconds until the
 * next one in *wait. */
static int
httpd_take(struct httpd_state *httpd, const char *peer, double *wait)
{
	struct settings *s = httpd->d->settings;
	struct httpd_bucket *set =
	    httpd->buckets[httpd_hash(peer) % HTTPD_SETS];
	struct httpd_bucket *b = NULL;
	double now = httpd_now(), rate = s->http_rate, burst = s->http_burst;
	int i;

	for (i = 0; i < HTTPD_WAYS && b == NULL; i++)
		if (strcmp(set[i].peer, peer) == 0)
			b = &set[i];
	if (b == NULL) {
		b = &set[0];
		for (i = 1; i < HTTPD_WAYS; i++)
			if (set[i].last < b->last)
				b = &set[i];
		snprintf(b->peer, sizeof(b->peer), "%s", peer);
		b->tokens = burst;
		b->last = now;
	}
	b->tokens += (now - b->last) * rate;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last = now;
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return 0;
	}
	*wait = (1 - b->tokens) / rate;
	return -1;
}

/* ---- dispatch --------------------------------------------------------- */

static const char *const httpd_method_names[] = { "GET", "POST", "HEAD", "PUT",
	"DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH" };

static void
httpd_allow(struct evhttp_request *req, int methods)
{
	char allow[128] = "";
	size_t i;

	for (i = 0; i < sizeof(httpd_method_names) / sizeof(char *); i++)
		if (methods & (1 << i))
			snprintf(allow + strlen(allow),
			    sizeof(allow) - strlen(allow), "%s%s",
			    allow[0] ? ", " : "", httpd_method_names[i]);
	evhttp_add_header(
	    evhttp_request_get_output_headers(req), "Allow", allow);
}

/* Bytes of the request line and headers as received (give or take the
 * spelling of the version and of whitespace). */
static size_t
httpd_header_bytes(struct evhttp_request *req, size_t *line)
{
	struct evkeyval *h;
	size_t n;

	*line = strlen(evhttp_request_get_uri(req)) + sizeof("CONNECT ") +
	        sizeof(" HTTP/1.1\r\n");
	n = *line;
	TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
	n += strlen(h->key) + strlen(h->value) + 4;
	return n + 2;
}

/* A route's path is exact, or (ending in '/') every path under it. */
static int
httpd_match(const struct httpd_route *rt, const char *path)
{
	size_t n = strlen(rt->path);

	if (n > 0 && rt->path[n - 1] == '/')
		return strncmp(rt->path, path, n) == 0;
	return strcmp(rt->path, path) == 0;
}

/* A reply was sent in full: the connection waits for its next request
 * (and is the peer's last to be cut). */
static void
httpd_req_done(struct evhttp_request *req, void *arg)
{
	struct httpd_state *httpd = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct httpd_conn *c = httpd_conn_find(httpd,
	    evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL);

	if (c != NULL) {
		c->busy = 0;
		c->seq = ++httpd->seq;
	}
}

static void
httpd_dispatch(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;
	struct httpd_state *httpd = d->httpd;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const struct httpd_route *rt = NULL;
	struct httpd_conn *c;
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	size_t i, line;
	double wait;
	long secs;
	char ra[32];

	c = httpd_conn_find(httpd,
	    evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL);
	if (c != NULL) {
		httpd_admit(httpd, c);
		c->busy = 1;
		evhttp_request_set_on_complete_cb(req, httpd_req_done, httpd);
		if (!c->bound) {
			evhttp_connection_set_closecb(
			    evcon, httpd_conn_closed, httpd);
			c->bound = 1;
		}
		c->started = httpd_now();
		c->requests++;
		if (c->over) {
			httpd_refuse(httpd, req, 503, "Service Unavailable",
			    "connection_cap");
			return;
		}
		if (c->cut) {
			/* cut (and counted) already: never served */
			evhttp_add_header(
			    evhttp_request_get_output_headers(req),
			    "Connection", "close");
			httpd_reply(req, 503, "Service Unavailable",
			    "Service Unavailable");
			return;
		}
	}
	if (httpd_header_bytes(req, &line) > d->settings->http_max_header) {
		if (line > d->settings->http_max_header)
			httpd_refuse(
			    httpd, req, 414, "URI Too Long", "uri_too_long");
		else
			httpd_refuse(httpd, req, 431,
			    "Request Header Fields Too Large",
			    "headers_too_large");
		return;
	}
	for (i = 0; path != NULL && i < httpd->nroutes && rt == NULL; i++)
		if (httpd_match(&httpd->routes[i], path))
			rt = &httpd->routes[i];
	if ((rt == NULL || rt->limited) &&
	    httpd_take(httpd, httpd_peer(req), &wait) == -1) {
		secs = (long)wait;
		snprintf(ra, sizeof(ra), "%ld", secs + ((double)secs < wait));
		evhttp_add_header(
		    evhttp_request_get_output_headers(req), "Retry-After", ra);
		httpd_refuse(
		    httpd, req, 429, "Too Many Requests", "rate_limited");
		return;
	}
	if (rt == NULL) {
		metrics_http_refused(httpd->d, "not_found");
		httpd_reply(req, 404, "Not Found", "not found");
		return;
	}
	if ((rt->methods & (int)evhttp_request_get_command(req)) == 0) {
		httpd_allow(req, rt->methods);
		httpd_refuse(httpd, req, 405, "Method Not Allowed", "method");
		return;
	}
	rt->fn(req, rt->arg);
}

/* Serve `path` (exact; ending in '/': every path under it) with fn for
 * `methods` (EVHTTP_REQ_* mask); `limited` puts it behind the per-peer rate
 * limit. 0, or -1 when the table is full. */
int
httpd_route(struct daemon *d, const char *path, int methods, int limited,
    httpd_handler fn, void *arg)
{
	struct httpd_state *httpd = d->httpd;
	struct httpd_route *r;

	if (httpd->nroutes == HTTPD_MAX_ROUTES)
		return -1;
	r = &httpd->routes[httpd->nroutes++];
	r->path = path;
	r->methods = methods;
	r->limited = limited;
	r->fn = fn;
	r->arg = arg;
	return 0;
}

static void
httpd_healthz(struct evhttp_request *req, void *arg)
{
	httpd_reply(req, 200, "OK", "ok");
}

static void
httpd_readyz(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;
	const char *why;

	if (d->ready && !d->stopping && (why = health_reason(d)) != NULL)
		httpd_reply(req, 503, "Service Unavailable", why);
	else if (d->ready && !d->stopping)
		httpd_reply(req, 200, "OK", "ready");
	else
		httpd_reply(req, 503, "Service Unavailable", "not ready");
}

/* Bind "HOST:PORT" (port 0 picks one and the log says which). */
static struct evhttp_bound_socket *
httpd_bind(struct daemon *d, const char *listen, char **err)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	long port;
	size_t hl;
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (colon == NULL || (hl = (size_t)(colon - listen)) >= sizeof(host) ||
	    (port = strtol(colon + 1, NULL, 10)) < 0 || port > 65535) {
		if (asprintf(err, "http.listen %s: want HOST:PORT", listen) ==
		    -1)
			*err = NULL;
		return NULL;
	}
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2) {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	if ((bound = evhttp_bind_socket_with_handle(
	         d->http, host, (ev_uint16_t)port)) == NULL) {
		if (asprintf(err, "http: cannot listen on %s", listen) == -1)
			*err = NULL;
		return NULL;
	}
	sl = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(evhttp_bound_socket_get_fd(bound),
	        (struct sockaddr *)&ss, &sl) == 0 &&
	    ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		log_info("http: listening on %s:%u", host,
		    (unsigned)ntohs(sin->sin_port));
	} else
		log_info("http: listening on %s", listen);
	return bound;
}

int
httpd_open(struct daemon *d, const char *listen, const httpd_routes_fn *routes,
    char **err)
{
	struct httpd_state *httpd;
	const struct settings *s = d->settings;
	struct evhttp_bound_socket *bound;
	size_t i;

	if ((httpd = d->httpd = calloc(1, sizeof(*httpd))) == NULL) {
		if (asprintf(err, "http: out of memory") == -1)
			*err = NULL;
		return -1;
	}
	httpd->d = d;
	if ((d->http = evhttp_new(d->base)) == NULL) {
		if (asprintf(err, "http: cannot create server") == -1)
			*err = NULL;
		return -1;
	}
	evhttp_set_max_headers_size(d->http, HTTP_HEADERS_HARD_MAX);
	evhttp_set_max_body_size(d->http, s->http_max_body);
	evhttp_set_timeout(d->http, (int)s->http_timeout);
	/* Every method reaches httpd_dispatch, which answers 405 itself. */
	evhttp_set_allowed_methods(d->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	        EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_bevcb(d->http, httpd_bevcb, d);
	evhttp_set_gencb(d->http, httpd_dispatch, d);
	httpd_route(d, "/healthz", EVHTTP_REQ_GET, 0, httpd_healthz, d);
	httpd_route(d, "/readyz", EVHTTP_REQ_GET, 0, httpd_readyz, d);
	for (i = 0; routes != NULL && routes[i] != NULL; i++)
		if (routes[i](d, err) == -1)
			goto fail;
	if ((httpd->sweep_ev = evtimer_new(d->base, httpd_sweep, d)) == NULL) {
		if (asprintf(err, "http: cannot create the sweep timer") == -1)
			*err = NULL;
		goto fail;
	}
	if ((bound = httpd_bind(d, listen, err)) == NULL)
		goto fail;
	httpd->lev = evhttp_bound_socket_get_listener(bound);
	httpd->overflow = evconnlistener_new(d->base, httpd_overflow, d,
	    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_DISABLED, 0,
	    evhttp_bound_socket_get_fd(bound));
	if (httpd->overflow == NULL) {
		if (asprintf(
		        err, "http: cannot create the overflow listener") == -1)
			*err = NULL;
		goto fail;
	}
	return 0;
fail:
	httpd_close(d);
	return -1;
}

void
httpd_close(struct daemon *d)
{
	struct httpd_state *httpd = d->httpd;
	size_t i;

	if (httpd == NULL)
		return;
	if (httpd->overflow != NULL)
		evconnlistener_free(httpd->overflow);
	httpd->overflow = NULL;
	httpd->lev = NULL;
	if (d->http != NULL)
		evhttp_free(d->http); /* frees every connection */
	d->http = NULL;
	for (i = 0; i < httpd->nconns; i++)
		bufferevent_decref(httpd->conns[i].bev);
	free(httpd->conns);
	httpd->conns = NULL;
	httpd->nconns = httpd->capconns = 0;
	d->http_conns = 0;
	if (httpd->sweep_ev != NULL)
		event_free(httpd->sweep_ev);
	httpd->sweep_ev = NULL;
	free(httpd);
	d->httpd = NULL;
	hooks_free(d);
}
