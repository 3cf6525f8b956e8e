/*
 * HTTP front: routing, the Graph error envelope, bearer checks, throttling,
 * fault injection and the call log.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "emu.h"

struct delayed {
	struct delayed *next;
	struct emu *emu;
	struct evhttp_request *req;
	struct event *ev;
	int status;
	struct evbuffer *buf;
	bool reset;
};

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 507:
		return "Insufficient Storage";
	default:
		return "Status";
	}
}

static void
log_add(struct emu *e, struct call *c, int status)
{
	struct logent *l;
	char iso[40];
	json_object *o;

	l = &e->log[++e->log_seq % EMU_LOG_CAP];
	l->seq = e->log_seq;
	snprintf(l->method, sizeof(l->method), "%s", c->method);
	snprintf(l->path, sizeof(l->path), "%s", c->path ? c->path : "");
	l->status = status;
	l->filter_ids = c->filter_ids;
	snprintf(l->caller, sizeof(l->caller), "%s", c->caller);
	l->t = emu_now(e);
	if (e->logf == NULL)
		return;
	clock_iso(l->t, iso);
	o = json_object_new_object();
	json_object_object_add(
	    o, "seq", json_object_new_int64((int64_t)l->seq));
	json_object_object_add(o, "method", json_object_new_string(l->method));
	json_object_object_add(o, "path", json_object_new_string(l->path));
	json_object_object_add(o, "status", json_object_new_int(status));
	json_object_object_add(o, "caller", json_object_new_string(l->caller));
	json_object_object_add(o, "time", json_object_new_string(iso));
	fprintf(e->logf, "%s\n",
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

void
log_clear(struct emu *e)
{
	memset(e->log, 0, sizeof(*e->log) * EMU_LOG_CAP);
	e->log_seq = 0;
}

json_object *
log_json(struct emu *e, uint64_t since)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	uint64_t s = since + 1;
	struct logent *l;
	char iso[40];

	if (e->log_seq >= EMU_LOG_CAP && s <= e->log_seq - EMU_LOG_CAP)
		s = e->log_seq - EMU_LOG_CAP + 1;
	for (; s <= e->log_seq; s++) {
		json_object *x = json_object_new_object();

		l = &e->log[s % EMU_LOG_CAP];
		clock_iso(l->t, iso);
		json_object_object_add(
		    x, "seq", json_object_new_int64((int64_t)l->seq));
		json_object_object_add(
		    x, "method", json_object_new_string(l->method));
		json_object_object_add(
		    x, "path", json_object_new_string(l->path));
		json_object_object_add(
		    x, "status", json_object_new_int(l->status));
		json_object_object_add(
		    x, "caller", json_object_new_string(l->caller));
		json_object_object_add(x, "time", json_object_new_string(iso));
		if (l->filter_ids > 0)
			json_object_object_add(
			    x, "filterIds", json_object_new_int(l->filter_ids));
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "calls", a);
	json_object_object_add(
	    o, "last", json_object_new_int64((int64_t)e->log_seq));
	return o;
}

static void
delayed_unlink(struct emu *e, struct delayed *d)
{
	struct delayed **pp;

	for (pp = &e->delayed; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
}

/* Reset the connection carrying req: linger 0 then free (sends RST). */
static void
conn_reset(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	struct linger lg = { 1, 0 };
	evutil_socket_t fd;

	if (evcon == NULL) {
		evhttp_request_free(req);
		return;
	}
	if ((bev = evhttp_connection_get_bufferevent(evcon)) != NULL &&
	    (fd = bufferevent_getfd(bev)) >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	evhttp_connection_free(evcon);
}

static void
delayed_fire(evutil_socket_t fd, short what, void *arg)
{
	struct delayed *d = arg;

	delayed_unlink(d->emu, d);
	if (d->reset)
		conn_reset(d->req);
	else
		evhttp_send_reply(
		    d->req, d->status, reason_phrase(d->status), d->buf);
	if (d->buf != NULL)
		evbuffer_free(d->buf);
	event_free(d->ev);
	free(d);
}

static void
delayed_add(
    struct call *c, int status, struct evbuffer *buf, bool reset, int ms)
{
	struct emu *e = c->emu;
	struct delayed *d = xcalloc(1, sizeof(*d));
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	d->emu = e;
	d->req = c->req;
	d->status = status;
	d->reset = reset;
	if (buf != NULL) {
		if ((d->buf = evbuffer_new()) == NULL ||
		    evbuffer_add_buffer(d->buf, buf) != 0)
			abort();
	}
	if ((d->ev = evtimer_new(e->base, delayed_fire, d)) == NULL ||
	    evtimer_add(d->ev, &tv) != 0) {
		fprintf(stderr, "graph-emulator: cannot arm timer\n");
		abort();
	}
	d->next = e->delayed;
	e->delayed = d;
}

/* Answer every held reply now (shutdown). */
static void
delayed_flush(struct emu *e)
{
	struct delayed *d;

	while ((d = e->delayed) != NULL) {
		e->delayed = d->next; /* unlinked here: d is freed next */
		d->next = NULL;
		delayed_fire(-1, 0, d);
	}
}

/* FK_NULL_FIELD: `data` with member `field` set to null in the object
 * and in each object of its "value" array (heap text), or NULL when the
 * answer is not a JSON object. */
static char *
null_field_body(const char *data, size_t len, const char *field)
{
	struct json_object *o, *arr, *it;
	struct json_tokener *tok = json_tokener_new();
	char *out = NULL;
	size_t i, n;

	o = json_tokener_parse_ex(tok, data, (int)len);
	json_tokener_free(tok);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	if (json_object_object_get_ex(o, field, NULL))
		json_object_object_add(o, field, NULL);
	if (json_object_object_get_ex(o, "value", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			it = json_object_array_get_idx(arr, i);
			if (json_object_is_type(it, json_type_object) &&
			    json_object_object_get_ex(it, field, NULL))
				json_object_object_add(it, field, NULL);
		}
	}
	out =
	    xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

static void
call_send(
    struct call *c, int status, const char *ctype, const char *data, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	struct evbuffer *buf;
	char cl[32];

	char *nulled = NULL;

	if (c->replied)
		return;
	if (c->post_fault == FK_NULL_FIELD && status >= 200 && status < 300 &&
	    data != NULL &&
	    (nulled = null_field_body(data, len, c->null_field)) != NULL) {
		data = nulled;
		len = strlen(nulled);
	}
	c->replied = true;
	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "request-id", c->request_id);
	if (c->client_request_id[0] != '\0')
		evhttp_add_header(h, "client-request-id", c->client_request_id);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (!c->segc || strcmp(c->segv[0], "_emulator") != 0)
		log_add(c->emu, c,
		    c->post_fault == FK_APPLY_THEN_RESET ? 0 : status);
	if ((buf = evbuffer_new()) == NULL)
		abort();
	if (len > 0 && evbuffer_add(buf, data, len) != 0)
		abort();
	switch (c->post_fault) {
	case FK_APPLY_THEN_RESET:
		delayed_add(c, 0, NULL, true, 0);
		break;
	case FK_DELAY:
		delayed_add(c, status, buf, false, c->delay_ms);
		break;
	case FK_TRUNCATE:
		snprintf(cl, sizeof(cl), "%zu", len + 64);
		evhttp_add_header(h, "Content-Length", cl);
		evhttp_add_header(h, "Connection", "close");
		evhttp_send_reply(c->req, status, reason_phrase(status), buf);
		break;
	default:
		evhttp_send_reply(c->req, status, reason_phrase(status), buf);
		break;
	}
	evbuffer_free(buf);
	free(nulled);
}

void
call_reply_raw(struct call *c, int status, const char *ctype, const char *data,
    size_t len, const char *extra_hdr, const char *extra_val)
{
	if (extra_hdr != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(c->req),
		    extra_hdr, extra_val);
	call_send(c, status, ctype, data, len);
}

void
call_reply(struct call *c, int status, json_object *body)
{
	const char *s;

	if (body == NULL) {
		call_send(c, status, NULL, NULL, 0);
		return;
	}
	s = json_object_to_json_string_ext(
	    body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	call_send(c, status, "application/json; charset=utf-8", s, strlen(s));
	json_object_put(body);
}

static json_object *
envelope(struct call *c, const char *code, const char *msg)
{
	json_object *o = json_object_new_object(), *err, *inner;
	char iso[40];

	clock_iso_sec(clock_real_ticks(), iso);
	err = json_object_new_object();
	inner = json_object_new_object();
	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message", json_object_new_string(msg));
	json_object_object_add(inner, "date", json_object_new_string(iso));
	json_object_object_add(
	    inner, "request-id", json_object_new_string(c->request_id));
	json_object_object_add(inner, "client-request-id",
	    json_object_new_string(c->client_request_id[0] != '\0'
	                               ? c->client_request_id
	                               : c->request_id));
	json_object_object_add(err, "innerError", inner);
	json_object_object_add(o, "error", err);
	return o;
}

void
call_error(struct call *c, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	call_reply(c, status, envelope(c, code, msg));
}

struct call *
call_detach(struct call *c)
{
	struct call *d = xcalloc(1, sizeof(*d));

	d->emu = c->emu;
	d->req = c->req;
	d->cmd = c->cmd;
	d->method = c->method;
	d->path = xstrdup(c->path);
	TAILQ_INIT(&d->q);
	snprintf(d->caller, sizeof(d->caller), "%s", c->caller);
	snprintf(d->request_id, sizeof(d->request_id), "%s", c->request_id);
	snprintf(d->client_request_id, sizeof(d->client_request_id), "%s",
	    c->client_request_id);
	d->post_fault = FK_MAX;
	c->replied = true;
	return d;
}

void
call_detached_free(struct call *d)
{
	if (d == NULL)
		return;
	if (d->body != NULL)
		json_object_put(d->body);
	free(d->path);
	free(d);
}

json_object *
call_body(struct call *c, bool required)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in);
	json_tokener *tok;
	unsigned char *p;

	if (c->body_parsed) {
		if (c->body == NULL && required)
			call_error(c, 400, "BadRequest",
			    "Empty Payload. JSON content expected.");
		return c->body;
	}
	c->body_parsed = true;
	if (len == 0) {
		if (required)
			call_error(c, 400, "BadRequest",
			    "Empty Payload. JSON content expected.");
		return NULL;
	}
	if ((p = evbuffer_pullup(in, -1)) == NULL)
		abort();
	if ((tok = json_tokener_new()) == NULL)
		abort();
	c->body = json_tokener_parse_ex(tok, (const char *)p, (int)len);
	if (c->body == NULL ||
	    json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		if (c->body != NULL) {
			json_object_put(c->body);
			c->body = NULL;
		}
		json_tokener_free(tok);
		if (required)
			call_error(c, 400, "BadRequest",
			    "Unable to read JSON request payload. Please "
			    "ensure "
			    "Content-Type header is set and payload is of "
			    "valid "
			    "JSON format.");
		return NULL;
	}
	json_tokener_free(tok);
	if (required && !json_object_is_type(c->body, json_type_object)) {
		call_error(c, 400, "BadRequest",
		    "Request payload must be a "
		    "JSON object.");
		return NULL;
	}
	return c->body;
}

const char *
call_query(struct call *c, const char *key)
{
	return c->q_ok ? evhttp_find_header(&c->q, key) : NULL;
}

const char *
call_header(struct call *c, const char *key)
{
	return evhttp_find_header(
	    evhttp_request_get_input_headers(c->req), key);
}

void
call_base_url(struct call *c, char *buf, size_t len)
{
	const char *host = call_header(c, "Host"), *p;

	if (host != NULL && *host != '\0' && strlen(host) < 200) {
		for (p = host; *p != '\0'; p++)
			if (!isalnum((unsigned char)*p) &&
			    strchr(".-:[]", *p) == NULL)
				break;
		if (*p == '\0') {
			snprintf(buf, len, "%s://%s", c->emu->scheme, host);
			return;
		}
	}
	snprintf(
	    buf, len, "%s://%s:%d", c->emu->scheme, c->emu->host, c->emu->port);
}

bool
call_require_delegated(struct call *c)
{
	if (c->tok != NULL && c->tok->kind == TOK_DELEGATED && c->user != NULL)
		return true;
	call_error(c, 403, "Authorization_RequestDenied",
	    "This operation requires a delegated (user) token; application "
	    "permissions are not supported.");
	return false;
}

int
call_top(struct call *c, int *top)
{
	const char *s = call_query(c, "$top");
	char *end;
	long v;

	*top = EMU_PAGE_DEFAULT;
	if (s == NULL)
		return 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 1 || v > EMU_PAGE_MAX) {
		call_error(c, 400, "BadRequest",
		    "Invalid value '%s' for query option $top.", s);
		return -1;
	}
	*top = (int)v;
	return 0;
}

int
call_skiptoken(struct call *c, size_t *skip)
{
	const char *s = call_query(c, "$skiptoken");
	unsigned char *d;
	size_t n;
	char buf[32], *end;
	unsigned long long v;

	*skip = 0;
	if (s == NULL)
		return 0;
	if ((d = b64url_decode(s, strlen(s), &n)) == NULL || n == 0 ||
	    n >= sizeof(buf)) {
		free(d);
		goto bad;
	}
	memcpy(buf, d, n);
	buf[n] = '\0';
	free(d);
	if (strncmp(buf, "o:", 2) != 0)
		goto bad;
	v = strtoull(buf + 2, &end, 10);
	if (*end != '\0' || buf[2] == '\0')
		goto bad;
	*skip = (size_t)v;
	return 0;
bad:
	call_error(c, 400, "BadRequest", "The skip token is invalid.");
	return -1;
}

char *
call_next_link(struct call *c, size_t skip)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyval *kv;
	char base[256], tokbuf[40], *tok, *enc, *out;
	const char *sep = "?";
	size_t n;

	if (b == NULL)
		abort();
	call_base_url(c, base, sizeof(base));
	evbuffer_add_printf(b, "%s%s", base, c->path);
	if (c->q_ok)
		TAILQ_FOREACH(kv, &c->q, next)
		{
			if (strcmp(kv->key, "$skiptoken") == 0)
				continue;
			if ((enc = evhttp_uriencode(kv->value, -1, 0)) == NULL)
				abort();
			evbuffer_add_printf(b, "%s%s=%s", sep, kv->key, enc);
			free(enc);
			sep = "&";
		}
	snprintf(tokbuf, sizeof(tokbuf), "o:%zu", skip);
	tok = b64url_encode((unsigned char *)tokbuf, strlen(tokbuf));
	evbuffer_add_printf(b, "%s$skiptoken=%s", sep, tok);
	free(tok);
	n = evbuffer_get_length(b);
	out = xcalloc(n + 1, 1);
	evbuffer_remove(b, out, n);
	evbuffer_free(b);
	return out;
}

static bool
route_match(const char *pat, struct call *c, char **caps)
{
	const char *p = pat, *end;
	size_t len;
	int i = 0, nc = 0;

	while (*p != '\0') {
		end = strchr(p, '/');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (i >= c->segc)
			return false;
		if (len == 1 && *p == '*')
			caps[nc++] = c->segv[i];
		else if (strlen(c->segv[i]) != len ||
		         strncasecmp(p, c->segv[i], len) != 0)
			return false;
		i++;
		p += len;
		if (*p == '/')
			p++;
	}
	return i == c->segc;
}

/* Try a route table; returns 1 when handled, 2 on method mismatch. */
static int
route_try(struct call *c, const struct route *rt)
{
	char *caps[EMU_MAX_SEGS];
	int found = 0;

	for (; rt->pattern != NULL; rt++) {
		if (!route_match(rt->pattern, c, caps))
			continue;
		if ((rt->methods & (int)c->cmd) == 0) {
			found = 2;
			continue;
		}
		rt->fn(c, caps);
		return 1;
	}
	return found;
}

static const char *
status_code_name(int status)
{
	switch (status) {
	case 400:
		return "BadRequest";
	case 401:
		return "InvalidAuthenticationToken";
	case 403:
		return "Authorization_RequestDenied";
	case 404:
		return "Request_ResourceNotFound";
	case 409:
		return "Conflict";
	case 429:
		return "TooManyRequests";
	case 500:
		return "InternalServerError";
	case 502:
		return "BadGateway";
	case 503:
		return "ServiceUnavailable";
	case 504:
		return "GatewayTimeout";
	default:
		return "generalException";
	}
}

/* Apply a fault that pre-empts the handler; true when it answered. */
static bool
fault_pre(struct call *c, const struct fault *f)
{
	static const char broken[] = "{\"value\":[{\"id\":\"";
	static const char notapplied[] = "{}";

	switch (f->kind) {
	case FK_STATUS:
		if (f->retry_after[0] != '\0')
			evhttp_add_header(
			    evhttp_request_get_output_headers(c->req),
			    "Retry-After", f->retry_after);
		call_error(c, f->status, status_code_name(f->status),
		    "Injected fault (status %d).", f->status);
		return true;
	case FK_RESET:
		c->replied = true;
		log_add(c->emu, c, 0);
		delayed_add(c, 0, NULL, true, 0);
		return true;
	case FK_MALFORMED:
		call_reply_raw(c, 200, "application/json", broken,
		    sizeof(broken) - 1, NULL, NULL);
		return true;
	case FK_NOT_APPLIED:
		/* A success that is not one: the handler never runs. */
		call_reply_raw(c, f->status, "application/json", notapplied,
		    sizeof(notapplied) - 1, NULL, NULL);
		return true;
	default:
		c->post_fault = f->kind;
		c->delay_ms = f->delay_ms;
		snprintf(c->null_field, sizeof(c->null_field), "%s", f->field);
		return false;
	}
}

/* Token bucket per client; true when the call may proceed. */
static bool
throttle_ok(struct call *c)
{
	struct emu *e = c->emu;
	struct bucket *b;
	struct timespec ts;
	double now, need;
	char ra[32];

	if (!e->cfg.throttle_on || c->tok == NULL)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if ((b = hmap_get(&e->buckets, c->tok->client_id)) == NULL) {
		b = xcalloc(1, sizeof(*b));
		b->tokens = e->cfg.throttle_burst;
		b->last = now;
		hmap_put(&e->buckets, c->tok->client_id, b, NULL);
	}
	b->tokens += (now - b->last) * e->cfg.throttle_rate;
	if (b->tokens > e->cfg.throttle_burst)
		b->tokens = e->cfg.throttle_burst;
	b->last = now;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return true;
	}
	need = (1.0 - b->tokens) / e->cfg.throttle_rate;
	if (need < 0.001)
		need = 0.001;
	snprintf(ra, sizeof(ra), "%.3f", need);
	evhttp_add_header(
	    evhttp_request_get_output_headers(c->req), "Retry-After", ra);
	call_error(c, 429, "TooManyRequests",
	    "Too many requests from client %s; retry after %s seconds.",
	    c->tok->client_id, ra);
	return false;
}

/*
 * Graph's request bodies are JSON. A POST, PATCH or PUT naming another
 * media type is refused with 415 ("415 Unsupported Media Type: The content
 * type of the request is a format that isn't supported by the service",
 * https://learn.microsoft.com/graph/errors). Graph may let a bodiless
 * action through with another type; the docs do not say, so the emulator
 * is the stricter one: a bodiless POST sent with curl's default
 * `application/x-www-form-urlencoded` (issue 13 item 8) is refused too.
 */
static bool
media_type_ok(struct call *c)
{
	const char *ct = call_header(c, "Content-Type");
	size_t n = sizeof("application/json") - 1;

	if (ct == NULL || (strcmp(c->method, "POST") != 0 &&
	                      strcmp(c->method, "PATCH") != 0 &&
	                      strcmp(c->method, "PUT") != 0))
		return true;
	if (strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
		return true;
	call_error(c, 415, "UnsupportedMediaType",
	    "Content-Type '%.80s' is not supported: send application/json, "
	    "or no body and no Content-Type.",
	    ct);
	return false;
}

static bool
authenticate(struct call *c)
{
	struct emu *e = c->emu;
	const char *h = call_header(c, "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		call_error(c, 401, "InvalidAuthenticationToken",
		    "Access token is empty.");
		return false;
	}
	h += 7;
	while (*h == ' ')
		h++;
	if ((c->tok = tokens_lookup(e, h)) == NULL) {
		call_error(c, 401, "InvalidAuthenticationToken",
		    "Access token validation failure. Invalid audience or "
		    "unknown token.");
		return false;
	}
	if (c->tok->exp <= emu_now(e)) {
		c->tok = NULL;
		call_error(c, 401, "InvalidAuthenticationToken",
		    "Lifetime validation failed, the token is expired.");
		return false;
	}
	if (c->tok->kind == TOK_DELEGATED) {
		c->user = store_user(e, c->tok->user_id);
		snprintf(c->caller, sizeof(c->caller), "user:%s",
		    c->user != NULL ? c->user->upn : c->tok->user_id);
	} else
		snprintf(
		    c->caller, sizeof(c->caller), "app:%s", c->tok->client_id);
	return true;
}

static void
dispatch(struct call *c)
{
	struct emu *e = c->emu;
	const struct fault *f;
	int r;

	if (c->segc >= 1 && strcmp(c->segv[0], "_emulator") == 0) {
		control_handle(c);
		return;
	}
	if ((f = faults_match(e, c->method, c->path)) != NULL &&
	    fault_pre(c, f))
		return;
	if (c->segc == 4 && strcmp(c->segv[1], "oauth2") == 0 &&
	    strcmp(c->segv[2], "v2.0") == 0) {
		if (c->cmd != EVHTTP_REQ_POST) {
			call_error(c, 405, "BadRequest",
			    "The token endpoint only accepts POST.");
			return;
		}
		tokens_handle(c, c->segv[0], c->segv[3]);
		return;
	}
	if (c->segc == 4 && strcmp(c->segv[1], "v2.0") == 0 &&
	    strcmp(c->segv[2], ".well-known") == 0 &&
	    strcmp(c->segv[3], "openid-configuration") == 0 &&
	    c->cmd == EVHTTP_REQ_GET) {
		tokens_discovery(c, c->segv[0]);
		return;
	}
	if (c->segc == 4 && strcmp(c->segv[1], "discovery") == 0 &&
	    strcmp(c->segv[2], "v2.0") == 0 &&
	    strcmp(c->segv[3], "keys") == 0 && c->cmd == EVHTTP_REQ_GET) {
		tokens_jwks(c, c->segv[0]);
		return;
	}
	if (c->segc < 1 || (strcmp(c->segv[0], "beta") != 0 &&
	                       strcmp(c->segv[0], "v1.0") != 0)) {
		call_error(c, 404, "Request_ResourceNotFound",
		    "No such endpoint: %s", c->path);
		return;
	}
	if (!authenticate(c) || !throttle_ok(c) || !media_type_ok(c))
		return;
	if ((r = route_try(c, epm_routes)) == 1 ||
	    (r |= route_try(c, pim_routes)) == 1 ||
	    (r |= route_try(c, access_routes)) == 1 ||
	    (r |= route_try(c, dir_routes)) == 1 ||
	    (r |= route_try(c, subs_routes)) == 1)
		return;
	if (r & 2)
		call_error(c, 405, "BadRequest",
		    "The HTTP method '%s' is not allowed for this resource.",
		    c->method);
	else
		call_error(c, 400, "BadRequest",
		    "Resource not found for the segment '%s'.",
		    c->segv[c->segc - 1]);
}

static const char *
method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	default:
		return "OTHER";
	}
}

static void
gencb(struct evhttp_request *req, void *arg)
{
	struct emu *e = arg;
	struct call c;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path, *query, *crid;
	char *p, *seg, *save = NULL;
	int i;

	memset(&c, 0, sizeof(c));
	c.emu = e;
	c.req = req;
	c.cmd = evhttp_request_get_command(req);
	c.method = method_name(c.cmd);
	c.post_fault = FK_MAX;
	snprintf(c.caller, sizeof(c.caller), "-");
	emu_guid(c.request_id);
	TAILQ_INIT(&c.q);
	if ((crid = call_header(&c, "client-request-id")) != NULL)
		snprintf(c.client_request_id, sizeof(c.client_request_id), "%s",
		    crid);
	req_tick(e);
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	c.path = xstrdup(path != NULL && *path != '\0' ? path : "/");
	query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	if (query != NULL) {
		if (evhttp_parse_query_str(query, &c.q) != 0) {
			call_error(&c, 400, "BadRequest",
			    "The query string is malformed.");
			goto done;
		}
	}
	c.q_ok = true;
	p = xstrdup(c.path);
	for (seg = strtok_r(p, "/", &save); seg != NULL;
	     seg = strtok_r(NULL, "/", &save)) {
		if (c.segc == EMU_MAX_SEGS) {
			free(p);
			call_error(&c, 400, "BadRequest", "Too many segments.");
			goto done;
		}
		if ((c.segv[c.segc] = evhttp_uridecode(seg, 0, NULL)) == NULL)
			abort();
		c.segc++;
	}
	free(p);
	dispatch(&c);
	if (!c.replied)
		call_error(&c, 500, "InternalServerError", "No answer.");
done:
	for (i = 0; i < c.segc; i++)
		free(c.segv[i]);
	evhttp_clear_headers(&c.q);
	if (c.body != NULL)
		json_object_put(c.body);
	free(c.path);
}

int
http_start(struct emu *e, const char *addr, int port)
{
	struct sockaddr_storage ss;
	ev_socklen_t sl = sizeof(ss);
	evutil_socket_t fd;
	int one;

	if ((e->http = evhttp_new(e->base)) == NULL) {
		fprintf(stderr, "graph-emulator: evhttp_new failed\n");
		return -1;
	}
	evhttp_set_max_body_size(e->http, EMU_MAX_BODY);
	evhttp_set_max_headers_size(e->http, EMU_MAX_HEADERS);
	evhttp_set_timeout(e->http, EMU_CONN_TIMEOUT);
	evhttp_set_allowed_methods(
	    e->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH |
	                 EVHTTP_REQ_DELETE | EVHTTP_REQ_PUT | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(e->http, gencb, e);
	if (e->ssl != NULL)
		tls_setup(e);
	if ((e->sock = evhttp_bind_socket_with_handle(
	         e->http, addr, (ev_uint16_t)port)) == NULL) {
		fprintf(stderr, "graph-emulator: cannot listen on %s:%d\n",
		    addr, port);
		return -1;
	}
	fd = evhttp_bound_socket_get_fd(e->sock);
	/* Accepted sockets inherit TCP_NODELAY on Linux: without it a reply
	 * split over two TLS records waits out the peer's delayed ACK. */
	one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		perror("graph-emulator: TCP_NODELAY");
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		perror("graph-emulator: getsockname");
		return -1;
	}
	if (ss.ss_family == AF_INET) {
		e->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		e->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		fprintf(stderr, "graph-emulator: bound an unknown family\n");
		return -1;
	}
	snprintf(e->host, sizeof(e->host), "%s", addr);
	return 0;
}

void
http_stop(struct emu *e)
{
	delayed_flush(e);
	if (e->http != NULL)
		evhttp_free(e->http);
	e->http = NULL;
}
