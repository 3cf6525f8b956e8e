/* Graph calls with tokens: 401 → one forced refresh; reads retried with
 * backoff and jitter on throttling, 5xx and transport errors. Every answer
 * is counted by endpoint class and status; the answer to a call that
 * decides (approve, deny, cancel) is also appended to the audit trail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include <json-c/json.h>

#include "json.h"
#include "limits.h"
#include "log.h"
#include "net.h"

/* Endpoint classes: a small fixed set of metric labels, never raw URLs.
 * Patterns are paths after the Graph base, '*' standing for one segment. */
#define PERM "beta/identityGovernance/permissionsManagement/"
#define GRP  "v1.0/identityGovernance/privilegedAccess/group/"

static const struct call_endpoint call_endpoints[] = {
	{ "GET", PERM "permissionsRequestChanges", "permissions_changes", 0,
	    REQ_SRC_MAX, 0 },
	{ "GET", PERM "scheduledPermissionsRequests", "permissions_requests", 0,
	    REQ_SRC_MAX, 0 },
	{ "GET", PERM "scheduledPermissionsApprovals/*/steps",
	    "permissions_steps", 0, REQ_SRC_MAX, 0 },
	{ "PATCH", PERM "scheduledPermissionsApprovals/*/steps/*",
	    "permissions_decide", 1, REQ_SRC_PERMISSIONS, 4 },
	{ "POST", PERM "scheduledPermissionsRequests/*/cancelAll",
	    "permissions_cancel", 1, REQ_SRC_PERMISSIONS, 4 },
	{ "GET", GRP "assignmentScheduleRequests", "group_requests", 0,
	    REQ_SRC_MAX, 0 },
	{ "GET",
	    GRP "assignmentScheduleRequests/filterByCurrentUser(on='approver')",
	    "group_requests", 0, REQ_SRC_MAX, 0 },
	{ "GET", GRP "assignmentScheduleRequests/*", "group_request", 0,
	    REQ_SRC_MAX, 0 },
	{ "GET", GRP "assignmentApprovals/*", "group_approval", 0, REQ_SRC_MAX,
	    0 },
	{ "GET", GRP "assignmentApprovals/*/stages", "group_approval", 0,
	    REQ_SRC_MAX, 0 },
	{ "PATCH", GRP "assignmentApprovals/*/stages/*", "group_decide", 1,
	    REQ_SRC_GROUP, 5 },
	{ "POST", GRP "assignmentScheduleRequests/*/cancel", "group_cancel", 1,
	    REQ_SRC_GROUP, 5 },
	{ "GET", "v1.0/users/*", "directory_user", 0, REQ_SRC_MAX, 0 },
	{ "GET", "v1.0/users/*/manager", "directory_manager", 0, REQ_SRC_MAX,
	    0 },
	{ "POST", "v1.0/users/*/checkMemberGroups", "directory_member_groups",
	    0, REQ_SRC_MAX, 0 },
	{ "GET", "v1.0/groups/*/transitiveMembers", "directory_members", 0,
	    REQ_SRC_MAX, 0 },
	{ NULL, "v1.0/subscriptions", "subscriptions", 0, REQ_SRC_MAX, 0 },
	{ NULL, "v1.0/subscriptions/*", "subscriptions", 0, REQ_SRC_MAX, 0 },
};
static const struct call_endpoint call_other = { NULL, NULL, "other", 0,
	REQ_SRC_MAX, 0 };

/* Does `path` (no leading '/', query stripped) match `pat`? The segment
 * `idseg` goes to id (when id is not NULL). */
static int
call_match(const char *pat, const char *path, int idseg, char *id, size_t len)
{
	size_t pl, sl;
	int seg = 0;

	for (;;) {
		pl = strcspn(pat, "/");
		sl = strcspn(path, "/");
		if (sl == 0 || !((pl == 1 && *pat == '*') ||
		                   (pl == sl && strncmp(pat, path, pl) == 0)))
			return 0;
		if (id != NULL && seg == idseg)
			snprintf(id, len, "%.*s", (int)sl, path);
		seg++;
		pat += pl;
		path += sl;
		if (*pat == '\0' || *path == '\0')
			return *pat == '\0' && *path == '\0';
		pat++;
		path++;
	}
}

/* The endpoint class of a call (never NULL); the id of a deciding call
 * (URL-escaped, as sent) into id. */
const struct call_endpoint *
call_endpoint(struct daemon *d, const char *method, const char *url, char *id,
    size_t idlen)
{
	size_t bl = strlen(d->graph_base), i;
	char path[1024];

	if (id != NULL && idlen > 0)
		id[0] = '\0';
	if (strncmp(url, d->graph_base, bl) != 0 || url[bl] != '/')
		return &call_other;
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(url + bl + 1, "?#"),
	    url + bl + 1);
	for (i = 0; i < sizeof(call_endpoints) / sizeof(call_endpoints[0]);
	     i++) {
		const struct call_endpoint *e = &call_endpoints[i];

		if ((e->method == NULL || strcmp(e->method, method) == 0) &&
		    call_match(e->pattern, path, e->decides ? e->id_seg : -1,
		        id, idlen))
			return e;
	}
	return &call_other;
}

struct call {
	struct daemon *d;
	enum token_kind kind;
	char *method, *url, *body, *bearer;
	int retried_401;
	int attempts;
	int token_wait; /* queued in the token manager */
	struct event *retry_ev;
	adapter_body_cb cb;
	void *arg;
	struct call *prev, *next; /* d->calls */
};

static void call_start(struct call *c);

/* Take c out of d->calls; call_free then finds it unlinked. (call_free
 * unlinks through c->d, which the static analyzer cannot tie to d.) */
static void
call_unlink(struct daemon *d, struct call *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (d->calls == c)
		d->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void
call_free(struct call *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (c->d != NULL && c->d->calls == c)
		c->d->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->bearer != NULL) {
		explicit_bzero(c->bearer, strlen(c->bearer));
		free(c->bearer);
	}
	if (c->retry_ev != NULL)
		event_free(c->retry_ev);
	free(c->method);
	free(c->url);
	/* A body may carry a secret (a subscription's clientState). */
	if (c->body != NULL) {
		explicit_bzero(c->body, strlen(c->body));
		free(c->body);
	}
	free(c);
}

/* Retry-After of the answer being delivered (-1 when none). */
double
call_retry_after(struct daemon *d)
{
	return d->graph_reach.retry_after;
}

static void
call_done_ra(struct call *c, long status, const char *body, const char *err,
    double retry_after)
{
	struct graph_reach *g = &c->d->graph_reach;

	g->retry_after = retry_after;
	c->cb(c->arg, status, body, err);
	g->retry_after = -1;
	call_free(c);
}

static void
call_done(struct call *c, long status, const char *body, const char *err)
{
	call_done_ra(c, status, body, err, -1);
}

/* `base` doubled `attempt` times, capped at `cap`, then jittered into
 * [half, whole] (any unit). */
long
backoff_jitter(long base, long cap, int attempt)
{
	unsigned int r = 0;

	cap = crash_backoff_cap(cap);
	if (base > cap)
		base = cap;
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

/* Note one answer (status 0: no answer) for reachability; one log line
 * per change of state, not per call. */
static void
call_reach(struct daemon *d, long status)
{
	struct graph_reach *g = &d->graph_reach;
	int64_t now = clock_now();

	if (status > 0 && status < 500) {
		if (g->down_logged)
			log_info("graph: reachable again after %llds",
			    (long long)(now - g->down_since));
		g->down_since = 0;
		g->down_logged = 0;
		g->last_ok = now;
		return;
	}
	if (g->down_since == 0)
		g->down_since = now;
	(void)call_graph_down_since(d);
}

int64_t
call_graph_down_since(struct daemon *d)
{
	struct graph_reach *g = &d->graph_reach;
	int64_t now = clock_now();

	if (g->down_since == 0 || now - g->down_since < GRAPH_DOWN_AFTER_S)
		return 0;
	if (!g->down_logged) {
		/* The change of state, seen by a call or by /readyz. */
		g->down_logged = 1;
		log_warnx("graph: unreachable for %llds (no answer or 5xx "
		          "only); /readyz answers 503",
		    (long long)(now - g->down_since));
	}
	return g->down_since;
}

int64_t
call_graph_last_ok(struct daemon *d)
{
	return d->graph_reach.last_ok;
}

/* One line for a call that failed for good: what, Graph's error.code
 * (https://learn.microsoft.com/graph/errors, the JSON error object) and
 * the request-id / client-request-id pair support asks for. */
static void
call_log_failure(struct call *c, const struct call_endpoint *ep,
    const struct graph_resp *resp)
{
	struct json_object *o = NULL, *err, *code;
	const char *cs = NULL;

	if (resp->body != NULL && resp->len > 0 &&
	    (o = parse_json(resp->body, resp->len)) != NULL &&
	    json_object_object_get_ex(o, "error", &err) &&
	    json_object_object_get_ex(err, "code", &code) &&
	    json_object_is_type(code, json_type_string))
		cs = json_object_get_string(code);
	log_warnx("graph: %s %s failed: %ld%s%.64s%s%.200s (request-id %s, "
	          "client-request-id %s)",
	    c->method, ep->name, resp->status, cs ? " " : "",
	    cs && graph_header_value_ok(cs) ? cs : "", resp->error ? ": " : "",
	    resp->error ? resp->error : "",
	    resp->request_id && resp->request_id[0] ? resp->request_id : "-",
	    resp->client_request_id && resp->client_request_id[0]
	        ? resp->client_request_id
	        : "-");
	json_object_put(o);
}

static void
call_response(void *arg, const struct graph_resp *resp)
{
	struct call *c = arg;
	int idempotent = strcmp(c->method, "GET") == 0;
	const struct call_endpoint *ep;
	struct timeval tv;
	char st[16], id[256];
	long ms;

	ep = call_endpoint(c->d, c->method, c->url, id, sizeof(id));
	snprintf(st, sizeof(st), "%ld", resp->status);
	metrics_graph_call(c->d, ep->name, resp->status > 0 ? st : "error");
	call_reach(c->d, resp->status);
	if (ep->decides && c->d->graph_audit != NULL)
		c->d->graph_audit(c->d, ep, id, c->method, c->body,
		    resp->status, resp->error);

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
	if (resp->status == 0 || resp->status >= 400)
		call_log_failure(c, ep, resp);
	call_done_ra(
	    c, resp->status, resp->body, resp->error, resp->retry_after);
}

enum graph_outcome
graph_outcome(long status)
{
	if (status == 204)
		return GRAPH_OUTCOME_OK;
	if (status == 429 || status == 503)
		return GRAPH_OUTCOME_THROTTLED;
	if (status == 409)
		return GRAPH_OUTCOME_CONFLICT;
	if (status == 400 || status == 403 || status == 404)
		return GRAPH_OUTCOME_REFUSED;
	return GRAPH_OUTCOME_UNKNOWN;
}

const char *
graph_outcome_name(enum graph_outcome o)
{
	static const char *const names[GRAPH_OUTCOME_MAX] = {
		[GRAPH_OUTCOME_OK] = "ok",
		[GRAPH_OUTCOME_THROTTLED] = "throttled",
		[GRAPH_OUTCOME_CONFLICT] = "conflict",
		[GRAPH_OUTCOME_REFUSED] = "refused",
		[GRAPH_OUTCOME_UNKNOWN] = "unknown",
	};

	return (unsigned)o < GRAPH_OUTCOME_MAX ? names[o] : "unknown";
}

#define CALL_NO_TOKEN "no token: "

int
call_err_no_token(const char *err)
{
	return err != NULL &&
	       strncmp(err, CALL_NO_TOKEN, sizeof(CALL_NO_TOKEN) - 1) == 0;
}

const char *
call_error_summary(const char *body, char *buf, size_t n)
{
	struct json_object *o, *err, *code, *msg;
	const char *cs = NULL, *ms = NULL;
	size_t i;

	buf[0] = '\0';
	if (body == NULL || (o = parse_json(body, strlen(body))) == NULL)
		return buf;
	if (json_object_object_get_ex(o, "error", &err)) {
		if (json_object_object_get_ex(err, "code", &code) &&
		    json_object_is_type(code, json_type_string))
			cs = json_object_get_string(code);
		if (json_object_object_get_ex(err, "message", &msg) &&
		    json_object_is_type(msg, json_type_string))
			ms = json_object_get_string(msg);
	}
	if (cs != NULL || ms != NULL)
		snprintf(buf, n, "%.64s%s%.160s", cs ? cs : "",
		    cs && ms ? ": " : "", ms ? ms : "");
	json_object_put(o);
	/* Graph's text goes into logs and the journal: printable only. */
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = ' ';
	return buf;
}

static void
call_token(void *arg, const char *bearer, const char *err)
{
	struct call *c = arg;
	char why[256];

	c->token_wait = 0;
	if (bearer == NULL) {
		snprintf(
		    why, sizeof(why), CALL_NO_TOKEN "%s", err ? err : "none");
		call_done(c, 0, NULL, why);
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
	c->token_wait = 1;
	token_get(c->d->tokens, c->kind, call_token, c);
}

void
daemon_graph(struct daemon *d, enum token_kind kind, const char *method,
    const char *url, const char *body, adapter_body_cb cb, void *arg)
{
	struct call *c;

	if (d->net != NULL) {
		d->net->call(d, kind, method, url, body, cb, arg);
		return;
	}
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
	c->next = d->calls;
	if (d->calls != NULL)
		d->calls->prev = c;
	d->calls = c;
	call_start(c);
}

/*
 * The loop has ended: every read still in flight (on the wire or waiting
 * to retry) is answered "shutting down" now, while its owner's state is
 * alive, so the owner frees its context (a status 0 read decides
 * nothing). A call still waiting for a token is answered by token_free;
 * writes are left to their owners, which track them.
 */
void
daemon_graph_drain(struct daemon *d)
{
	struct call *c;
	adapter_body_cb cb;
	void *arg;
	int n = 0;

	while (n++ < CALL_DRAIN_MAX) {
		for (c = d->calls; c != NULL; c = c->next)
			if (!c->token_wait && strcmp(c->method, "GET") == 0)
				break;
		if (c == NULL)
			return;
		cb = c->cb;
		arg = c->arg;
		call_unlink(d, c);
		call_free(c);
		cb(arg, 0, NULL, "shutting down");
	}
}

void
daemon_graph_free(struct daemon *d)
{
	struct call *c;

	while ((c = d->calls) != NULL) {
		d->calls = c->next; /* the head, unlinked where it is read */
		if (c->next != NULL)
			c->next->prev = NULL;
		c->prev = c->next = NULL;
		call_free(c);
	}
}
