/* Graph HTTP client on curl multi + libevent; see graph.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "graph.h"
#include "limits.h"
#include "log.h"

struct graph_xfer {
	TAILQ_ENTRY(graph_xfer) entry;
	struct graph *g;
	CURL *easy;
	struct curl_slist *headers;
	struct curl_slist *extra; /* caller's header lines */
	char *method, *url, *body, *bearer, *ctype;
	char *buf;
	size_t len, cap;
	int too_big;
	double retry_after;
	char request_id[GRAPH_REQUEST_ID_MAX];
	char client_request_id[GRAPH_REQUEST_ID_MAX];
	char errbuf[CURL_ERROR_SIZE];
	graph_cb cb;
	void *arg;
	double queued_at, started_at;
};
TAILQ_HEAD(graph_xferq, graph_xfer);

struct graph_sock {
	struct event *ev;
	curl_socket_t fd;
};

struct graph {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;       /* curl's timeout */
	struct event *gate;        /* throttle gate / queue kick */
	struct graph_xferq queue;  /* not started */
	struct graph_xferq active; /* in curl's hands */
	size_t queued, inflight;
	unsigned max_inflight;
	long timeout;
	int allow_http;
	int no_throttle, quiet;
	char *ca_file;
	char **origins;
	size_t norigins;
	double not_before; /* monotonic seconds */
	struct graph_stats stats;
	/* finished easy handles, reset, for the next transfers: creating one
	 * per call costs more than the call's own work on loopback */
	CURL *idle[GRAPH_EASY_POOL];
	size_t nidle;
};

static void graph_start_queued(struct graph *g);

static double
graph_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Zero every header line of `l` (an Authorization value), then free it. */
static void
graph_slist_wipe_free(struct curl_slist *l)
{
	struct curl_slist *h;

	for (h = l; h != NULL; h = h->next)
		if (h->data != NULL)
			explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(l);
}

/* Request and response bodies carry secrets and tokens (the token
 * endpoint's form and answer): zeroed before they are freed. */
static void
graph_xfer_free(struct graph_xfer *x)
{
	if (x == NULL)
		return;
	if (x->easy != NULL && x->g != NULL && x->g->nidle < GRAPH_EASY_POOL) {
		/* Every option, header list and credential is dropped by the
		 * reset; graph_setup() sets them all again. */
		curl_easy_reset(x->easy);
		x->g->idle[x->g->nidle++] = x->easy;
	} else if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	graph_slist_wipe_free(x->headers);
	graph_slist_wipe_free(x->extra);
	if (x->bearer != NULL) {
		explicit_bzero(x->bearer, strlen(x->bearer));
		free(x->bearer);
	}
	free(x->method);
	free(x->url);
	if (x->body != NULL) {
		explicit_bzero(x->body, strlen(x->body));
		free(x->body);
	}
	free(x->ctype);
	if (x->buf != NULL) {
		explicit_bzero(x->buf, x->cap);
		free(x->buf);
	}
	free(x);
}

/* Deliver the result of a finished (or refused) transfer and free it. */
static void
graph_finish(struct graph_xfer *x, CURLcode code)
{
	struct graph *g = x->g;
	struct graph_resp r;

	memset(&r, 0, sizeof(r));
	r.curl_code = code;
	r.retry_after = x->retry_after;
	if (x->easy != NULL)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
	if (code != CURLE_OK) {
		r.error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(code);
		if (x->too_big)
			r.error = "response body too large";
		r.status = 0;
		g->stats.errors++;
	}
	r.body = x->buf;
	r.len = x->len;
	r.request_id = x->request_id;
	r.client_request_id = x->client_request_id;
	if ((r.status == 429 || r.status == 503) && r.retry_after > 0 &&
	    !g->no_throttle) {
		g->stats.throttled++;
		graph_throttle(g, r.retry_after);
	}
	if (log_getlevel() >= LOG_L_DEBUG && !g->quiet)
		log_debug("graph: %s %.60s -> %ld in %.1fms (queued %.1fms)",
		    x->method,
		    x->url + (strlen(x->url) > 60 ? strlen(x->url) - 60 : 0),
		    r.status, (graph_now() - x->started_at) * 1e3,
		    (x->started_at - x->queued_at) * 1e3);
	x->cb(x->arg, &r);
	graph_xfer_free(x);
}

/* curl: collect finished transfers (after every socket_action). */
static void
graph_check_multi_info(struct graph *g)
{
	CURLMsg *msg;
	int left;
	struct graph_xfer *x;

	while ((msg = curl_multi_info_read(g->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &x);
		curl_multi_remove_handle(g->multi, msg->easy_handle);
		TAILQ_REMOVE(&g->active, x, entry);
		g->inflight--;
		graph_finish(x, msg->data.result);
	}
	graph_start_queued(g);
}

static void
graph_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct graph *g = arg;
	int action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(g->multi, fd, action, &running);
	graph_check_multi_info(g);
}

static void
graph_timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct graph *g = arg;
	int running;

	curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	graph_check_multi_info(g);
}

/* curl asks for a timeout: only (re)arm the libevent timer here. */
static int
graph_curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct graph *g = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(g->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(g->timer, &tv);
	return 0;
}

/* curl tells which events it wants on a socket: only update libevent. */
static int
graph_curl_sock_cb(
    CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct graph *g = userp;
	struct graph_sock *gs = socketp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (gs != NULL) {
			event_free(gs->ev);
			free(gs);
		}
		curl_multi_assign(g->multi, s, NULL);
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	       ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (gs == NULL) {
		if ((gs = calloc(1, sizeof(*gs))) == NULL)
			return -1;
		gs->fd = s;
		curl_multi_assign(g->multi, s, gs);
	} else
		event_free(gs->ev);
	gs->ev = event_new(g->base, s, kind, graph_event_cb, g);
	if (gs->ev == NULL || event_add(gs->ev, NULL) == -1)
		return -1;
	return 0;
}

static size_t
graph_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct graph_xfer *x = userdata;
	size_t n = size * nmemb, cap;
	char *p;

	if (x->len + n + 1 > GRAPH_MAX_BODY) {
		x->too_big = 1;
		return 0;
	}
	if (x->len + n + 1 > x->cap) {
		cap = x->cap ? x->cap : 4096;
		while (cap < x->len + n + 1)
			cap *= 2;
		/* not realloc: the old block is zeroed before it is freed */
		if ((p = malloc(cap)) == NULL)
			return 0;
		if (x->buf != NULL) {
			memcpy(p, x->buf, x->len);
			explicit_bzero(x->buf, x->cap);
			free(x->buf);
		}
		x->buf = p;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, ptr, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return n;
}

/* Copy the value of header line `ptr` (n bytes) named `name` (with its
 * colon) into out, trimmed; 1 when the line is that header. Only printable
 * ASCII is kept, so a value from outside never carries a control
 * character into a log line. */
static int
graph_header_copy(
    const char *ptr, size_t n, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name), i, o = 0;

	if (n <= nl || strncasecmp(ptr, name, nl) != 0)
		return 0;
	for (i = nl; i < n && (ptr[i] == ' ' || ptr[i] == '\t'); i++)
		;
	for (; i < n && o + 1 < len; i++)
		if (ptr[i] > 0x20 && ptr[i] < 0x7f)
			out[o++] = ptr[i];
	out[o] = '\0';
	return 1;
}

static size_t
graph_header_cb(char *ptr, size_t size, size_t nitems, void *userdata)
{
	struct graph_xfer *x = userdata;
	size_t n = size * nitems;
	char val[64];
	size_t vl;
	char *end;
	double v;

	/* Graph names every answer with `request-id` and echoes our
	 * `client-request-id`; support needs both for a failed call
	 * (https://learn.microsoft.com/graph/best-practices-concept,
	 * "Reliability and support"). */
	if (graph_header_copy(
	        ptr, n, "request-id:", x->request_id, sizeof(x->request_id)) ||
	    graph_header_copy(ptr, n, "client-request-id:",
	        x->client_request_id, sizeof(x->client_request_id)))
		return n;
	if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
		vl = n - 12 < sizeof(val) - 1 ? n - 12 : sizeof(val) - 1;
		memcpy(val, ptr + 12, vl);
		val[vl] = '\0';
		v = strtod(val, &end);
		while (
		    *end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (end == val || *end != '\0') {
			/* Not delay-seconds: an HTTP-date (RFC 9110 10.2.3),
			 * counted from our clock; a past date means now. */
			time_t when = curl_getdate(val, NULL);

			v = when == (time_t)-1  ? -1
			    : when > time(NULL) ? (double)(when - time(NULL))
			                        : 0;
		}
		if (v >= 0)
			x->retry_after = v > GRAPH_MAX_RETRY_AFTER
			                     ? GRAPH_MAX_RETRY_AFTER
			                     : v;
	}
	return n;
}

/* A random (version 4) GUID into out. */
static void
graph_crid(char *out, size_t len)
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, len,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
}

static int
graph_setup(struct graph *g, struct graph_xfer *x)
{
	char hdr[TOKEN_MAX_SIZE + 64];
	struct curl_slist *h;

	if (g->nidle > 0)
		x->easy = g->idle[--g->nidle];
	else if ((x->easy = curl_easy_init()) == NULL)
		return -1;
#define SET(opt, val)                                                          \
	do {                                                                   \
		if (curl_easy_setopt(x->easy, opt, val) != CURLE_OK)           \
			return -1;                                             \
	} while (0)
	SET(CURLOPT_URL, x->url);
	SET(CURLOPT_PRIVATE, x);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_PROTOCOLS_STR, g->allow_http ? "http,https" : "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_CONNECTTIMEOUT, (long)GRAPH_CONNECT_TIMEOUT);
	SET(CURLOPT_TIMEOUT, g->timeout);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (g->ca_file != NULL)
		SET(CURLOPT_CAINFO, g->ca_file);
	/*
	 * The trust store is the CA file (graph.ca_file, else the system
	 * bundle that libcurl was built with), never also the CA folder
	 * libcurl may be built with: that is what graph.ca_file says, and
	 * without a CA folder libcurl 7.87+ keeps the loaded store in the
	 * multi handle (CURLOPT_CA_CACHE_TIMEOUT, 24 h) instead of loading
	 * the file again for every new connection, which every decision
	 * makes (below): a fifth of the daemon's CPU (issue 15). See
	 * https://curl.se/libcurl/c/CURLOPT_CA_CACHE_TIMEOUT.html
	 */
	SET(CURLOPT_CAPATH, NULL);
	SET(CURLOPT_WRITEFUNCTION, graph_write_cb);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, graph_header_cb);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_USERAGENT, "approvald/0.1");
	SET(CURLOPT_CUSTOMREQUEST, x->method);
	if (strcmp(x->method, "GET") == 0)
		SET(CURLOPT_HTTPGET, 1L);
	else if (strcmp(x->method, "HEAD") != 0) {
		/*
		 * Never resent by the transport. libcurl (7.88,
		 * Curl_retry_request in lib/transfer.c) sends a request again
		 * on a fresh connection, body and all, when a *reused*
		 * connection closes before any byte of the answer ("Connection
		 * died, retrying a fresh connect"): for a PATCH or POST that
		 * Graph may have applied, that is a blind second decision. No
		 * option turns it off in 7.88, so a non-idempotent call gets a
		 * connection no other transfer has used or will use: a fresh
		 * one (FRESH_CONNECT), closed after it (FORBID_REUSE), over
		 * HTTP/1.1 so no other stream can be multiplexed onto it and
		 * mark it reused. A connection lost there is an unknown
		 * outcome, settled by reading back (exec.c). It costs one
		 * connection setup per decision.
		 */
		SET(CURLOPT_FRESH_CONNECT, 1L);
		SET(CURLOPT_FORBID_REUSE, 1L);
		SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	}
	if (x->body != NULL) {
		SET(CURLOPT_POSTFIELDS, x->body);
		SET(CURLOPT_POSTFIELDSIZE, (long)strlen(x->body));
	} else if (strcmp(x->method, "POST") == 0) {
		SET(CURLOPT_POSTFIELDS, "");
		SET(CURLOPT_POSTFIELDSIZE, 0L);
	}
#undef SET
	h = curl_slist_append(NULL, "Accept: application/json");
	if (h == NULL)
		return -1;
	x->headers = h;
	/* A client-request-id of our own on every call, echoed by Graph
	 * next to its request-id (https://learn.microsoft.com/graph/
	 * best-practices-concept, "Reliability and support"). */
	graph_crid(x->client_request_id, sizeof(x->client_request_id));
	snprintf(
	    hdr, sizeof(hdr), "client-request-id: %s", x->client_request_id);
	if ((h = curl_slist_append(x->headers, hdr)) == NULL)
		return -1;
	x->headers = h;
	if ((h = curl_slist_append(
	         x->headers, "return-client-request-id: true")) == NULL)
		return -1;
	x->headers = h;
	if (x->ctype != NULL)
		snprintf(hdr, sizeof(hdr), "Content-Type: %s", x->ctype);
	else
		/* No body, no type: libcurl would otherwise label a POST's
		 * empty body application/x-www-form-urlencoded (its default
		 * for POSTFIELDS); "Content-Type:" with no value drops the
		 * header (CURLOPT_HTTPHEADER). Graph's actions without a
		 * request body ("Do not supply a request body for this
		 * method", e.g.
		 * https://learn.microsoft.com/graph/api/privilegedaccessgroupassignmentschedulerequest-cancel)
		 * get no Content-Type at all. */
		snprintf(hdr, sizeof(hdr), "Content-Type:");
	if ((h = curl_slist_append(x->headers, hdr)) == NULL)
		return -1;
	x->headers = h;
	for (h = x->extra; h != NULL; h = h->next) {
		struct curl_slist *n = curl_slist_append(x->headers, h->data);

		if (n == NULL)
			return -1;
		x->headers = n;
	}
	if (x->bearer != NULL) {
		/* Bearer header built in a buffer wiped right after: the
		 * bytes written, not the whole 64 KiB (issue 15). */
		int n = snprintf(
		    hdr, sizeof(hdr), "Authorization: Bearer %s", x->bearer);

		if (n < 0 || (size_t)n >= sizeof(hdr)) {
			explicit_bzero(hdr, sizeof(hdr));
			return -1;
		}
		h = curl_slist_append(x->headers, hdr);
		explicit_bzero(hdr, (size_t)n + 1);
		if (h == NULL)
			return -1;
		x->headers = h;
	}
	if (curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers) !=
	    CURLE_OK)
		return -1;
	return 0;
}

static void
graph_gate_cb(evutil_socket_t fd, short what, void *arg)
{
	graph_start_queued(arg);
}

/* Start queued transfers while under the cap and past the throttle gate. */
static void
graph_start_queued(struct graph *g)
{
	struct graph_xfer *x;
	double now = graph_now(), wait;
	struct timeval tv;

	if (g->not_before > now) {
		wait = g->not_before - now;
		tv.tv_sec = (time_t)wait;
		tv.tv_usec =
		    (suseconds_t)((wait - (double)tv.tv_sec) * 1e6) + 1;
		evtimer_add(g->gate, &tv);
		return;
	}
	while (g->inflight < g->max_inflight &&
	       (x = TAILQ_FIRST(&g->queue)) != NULL) {
		TAILQ_REMOVE(&g->queue, x, entry);
		g->queued--;
		if (graph_setup(g, x) == -1 ||
		    curl_multi_add_handle(g->multi, x->easy) != CURLM_OK) {
			snprintf(x->errbuf, sizeof(x->errbuf),
			    "cannot set up transfer");
			graph_finish(x, CURLE_FAILED_INIT);
			continue;
		}
		x->started_at = graph_now();
		TAILQ_INSERT_TAIL(&g->active, x, entry);
		g->inflight++;
		g->stats.calls++;
	}
}

void
graph_throttle(struct graph *g, double seconds)
{
	double until = graph_now() + seconds;

	if (until > g->not_before) {
		g->stats.throttle_wait += seconds;
		g->not_before = until;
	}
}

/* The origin ("scheme://host[:port]") of `url` into out; -1 when none. */
int
graph_origin(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://");
	size_t n;

	if (p == NULL)
		return -1;
	p += 3;
	n = (size_t)(p - url) + strcspn(p, "/?#");
	if (n >= len)
		return -1;
	memcpy(out, url, n);
	out[n] = '\0';
	return 0;
}

/* Origin of an URL ("scheme://host[:port]") is one of the allowed ones. */
int
graph_url_allowed(const struct graph *g, const char *url)
{
	size_t i, n;

	for (i = 0; i < g->norigins; i++) {
		n = strlen(g->origins[i]);
		if (strncasecmp(url, g->origins[i], n) == 0 &&
		    (url[n] == '/' || url[n] == '\0' || url[n] == '?'))
			return 1;
	}
	return 0;
}

int
graph_call(struct graph *g, const char *method, const char *url,
    const char *bearer, const char *ctype, const char *body, graph_cb cb,
    void *arg)
{
	return graph_call_headers(
	    g, method, url, bearer, ctype, NULL, body, cb, arg);
}

int
graph_call_headers(struct graph *g, const char *method, const char *url,
    const char *bearer, const char *ctype, const char *const *headers,
    const char *body, graph_cb cb, void *arg)
{
	struct graph_xfer *x;
	struct curl_slist *h;
	const char *const *h0;

	if (!graph_url_allowed(g, url)) {
		log_warnx("graph: refusing call to a foreign origin");
		return -1;
	}
	/* Header values from outside (the bearer, the caller's lines) never
	 * carry a control character into the request. */
	if ((bearer != NULL && !graph_header_value_ok(bearer)) ||
	    (ctype != NULL && !graph_header_value_ok(ctype)) ||
	    !graph_header_value_ok(url) || !graph_header_value_ok(method)) {
		log_warnx("graph: refusing a call whose header values hold "
		          "control characters");
		return -1;
	}
	for (h0 = headers; h0 != NULL && *h0 != NULL; h0++)
		if (!graph_header_value_ok(*h0)) {
			log_warnx("graph: refusing a header line with control "
			          "characters");
			return -1;
		}
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->g = g;
	x->cb = cb;
	x->arg = arg;
	x->retry_after = -1;
	x->method = strdup(method);
	x->url = strdup(url);
	x->body = body ? strdup(body) : NULL;
	x->ctype = ctype ? strdup(ctype) : NULL;
	x->bearer = bearer ? strdup(bearer) : NULL;
	if (x->method == NULL || x->url == NULL || (body && !x->body) ||
	    (ctype && !x->ctype) || (bearer && !x->bearer)) {
		graph_xfer_free(x);
		return -1;
	}
	for (; headers != NULL && *headers != NULL; headers++) {
		if ((h = curl_slist_append(x->extra, *headers)) == NULL) {
			graph_xfer_free(x);
			return -1;
		}
		x->extra = h;
	}
	x->queued_at = graph_now();
	TAILQ_INSERT_TAIL(&g->queue, x, entry);
	g->queued++;
	/* Start from the loop, never from inside a caller's callback chain. */
	if (!evtimer_pending(g->gate, NULL)) {
		struct timeval tv = { 0, 0 };

		evtimer_add(g->gate, &tv);
	}
	return 0;
}

size_t
graph_pending(const struct graph *g)
{
	return g->queued + g->inflight;
}

void
graph_get_stats(const struct graph *g, struct graph_stats *st)
{
	*st = g->stats;
}

int
graph_header_value_ok(const char *s)
{
	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

char *
graph_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *r;

	if (e == NULL)
		return NULL;
	r = strdup(e);
	curl_free(e);
	return r;
}

struct graph *
graph_new(struct event_base *base, const struct graph_opts *o, char **err)
{
	struct graph *g;
	size_t i;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		goto oom;
	g->base = base;
	TAILQ_INIT(&g->queue);
	TAILQ_INIT(&g->active);
	g->max_inflight = o->max_inflight ? o->max_inflight : 16;
	if (g->max_inflight > GRAPH_MAX_INFLIGHT)
		g->max_inflight = GRAPH_MAX_INFLIGHT;
	g->timeout = o->timeout > 0 ? o->timeout : 30;
	g->allow_http = o->allow_http;
	g->no_throttle = o->no_throttle;
	g->quiet = o->quiet;
	if (o->ca_file && (g->ca_file = strdup(o->ca_file)) == NULL)
		goto oom;
	if ((g->origins = calloc(o->norigins + 1, sizeof(char *))) == NULL)
		goto oom;
	for (i = 0; i < o->norigins; i++) {
		if ((g->origins[i] = strdup(o->origins[i])) == NULL)
			goto oom;
		g->norigins++;
	}
	if ((g->multi = curl_multi_init()) == NULL)
		goto oom;
	g->timer = evtimer_new(base, graph_timer_event_cb, g);
	g->gate = evtimer_new(base, graph_gate_cb, g);
	if (g->timer == NULL || g->gate == NULL)
		goto oom;
	curl_multi_setopt(
	    g->multi, CURLMOPT_SOCKETFUNCTION, graph_curl_sock_cb);
	curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g);
	curl_multi_setopt(
	    g->multi, CURLMOPT_TIMERFUNCTION, graph_curl_timer_cb);
	curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g);
	curl_multi_setopt(
	    g->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)g->max_inflight);
	curl_multi_setopt(
	    g->multi, CURLMOPT_MAXCONNECTS, (long)g->max_inflight);
	return g;
oom:
	if (asprintf(err, "graph client: out of memory") == -1)
		*err = NULL;
	graph_free(g);
	return NULL;
}

void
graph_free(struct graph *g)
{
	struct graph_xfer *x;
	size_t i;

	if (g == NULL)
		return;
	while ((x = TAILQ_FIRST(&g->queue)) != NULL) {
		TAILQ_REMOVE(&g->queue, x, entry);
		graph_xfer_free(x);
	}
	while ((x = TAILQ_FIRST(&g->active)) != NULL) {
		TAILQ_REMOVE(&g->active, x, entry);
		curl_multi_remove_handle(g->multi, x->easy);
		graph_xfer_free(x);
	}
	while (g->nidle > 0)
		curl_easy_cleanup(g->idle[--g->nidle]);
	if (g->multi != NULL)
		curl_multi_cleanup(g->multi);
	if (g->timer)
		event_free(g->timer);
	if (g->gate)
		event_free(g->gate);
	for (i = 0; i < g->norigins; i++)
		free(g->origins[i]);
	free(g->origins);
	free(g->ca_file);
	free(g);
}
