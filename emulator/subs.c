/*
 * Change notifications: /v1.0/subscriptions (create with the validation
 * handshake, list, get, renew, delete), group membership writes
 * (members/$ref) that deliver change notifications, and lifecycle events
 * on request through the control API.
 *
 * Like Graph: creating a subscription POSTs notificationUrl (and
 * lifecycleNotificationUrl) with ?validationToken=... and needs a 200
 * text/plain echo of the decoded token within 10 s, else 400. Unlike
 * Graph: it only delivers to http:// URLs (no TLS client) and delivers
 * each notification once, without retries; every delivery is recorded for
 * GET /_emulator/notifications.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "emu.h"

#define SUBS_MAX_MINUTES  41760 /* group subscriptions: 29 days */
#define SUBS_CLIENT_STATE 128
#define SUBS_MAX          100 /* subscriptions held */
#define SUBS_VALIDATE_S   10  /* validation answer deadline */
#define SUBS_DELIVER_S    3   /* notification answer deadline */
#define SUBS_DELIVERIES   1000
#define SUBS_TOKEN_LEN    160

struct sub {
	char id[EMU_ID_LEN];
	char *resource;
	char *group_id; /* NULL: every group */
	char *change_type;
	char *url, *lifecycle_url;
	char *client_state; /* NULL: none */
	char *app_id;
	int64_t expires; /* ticks */
};

/* One outgoing POST (a validation or a notification) in flight. */
struct delivery {
	struct delivery *next;
	struct emu *e;
	struct evhttp_connection *conn;
	char sub_id[EMU_ID_LEN];
	char kind[24];
	char *url;
	/* validation of a subscription being created */
	struct sub *pending;
	struct call *call; /* detached, answered when done */
	char token[SUBS_TOKEN_LEN];
	int step; /* 0 notificationUrl, 1 lifecycleNotificationUrl */
};

static void subs_validate(
    struct emu *e, struct sub *s, struct call *c, int step);

static void
sub_free(void *p)
{
	struct sub *s = p;

	if (s == NULL)
		return;
	free(s->resource);
	free(s->group_id);
	free(s->change_type);
	free(s->url);
	free(s->lifecycle_url);
	free(s->client_state);
	free(s->app_id);
	free(s);
}

static json_object *
sub_json(struct emu *e, const struct sub *s)
{
	json_object *o = json_object_new_object();
	char iso[40];

	clock_iso(s->expires, iso);
	json_object_object_add(o, "id", json_object_new_string(s->id));
	json_object_object_add(
	    o, "resource", json_object_new_string(s->resource));
	json_object_object_add(
	    o, "applicationId", json_object_new_string(s->app_id));
	json_object_object_add(
	    o, "changeType", json_object_new_string(s->change_type));
	json_object_object_add(o, "clientState",
	    s->client_state ? json_object_new_string(s->client_state) : NULL);
	json_object_object_add(
	    o, "notificationUrl", json_object_new_string(s->url));
	json_object_object_add(o, "lifecycleNotificationUrl",
	    s->lifecycle_url ? json_object_new_string(s->lifecycle_url) : NULL);
	json_object_object_add(
	    o, "expirationDateTime", json_object_new_string(iso));
	json_object_object_add(
	    o, "creatorId", json_object_new_string(s->app_id));
	return o;
}

/* ---- outgoing POSTs ------------------------------------------------- */

static void
delivery_unlink(struct delivery *d)
{
	struct delivery **pp;

	for (pp = &d->e->deliveries; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			return;
		}
}

static void
delivery_record(struct emu *e, const char *sub, const char *kind,
    const char *url, int status)
{
	json_object *o = json_object_new_object();

	if (e->delivery_log == NULL)
		e->delivery_log = json_object_new_array();
	if (json_object_array_length(e->delivery_log) >= SUBS_DELIVERIES)
		json_object_array_del_idx(e->delivery_log, 0, 1);
	json_object_object_add(
	    o, "subscriptionId", json_object_new_string(sub));
	json_object_object_add(o, "kind", json_object_new_string(kind));
	json_object_object_add(o, "url", json_object_new_string(url));
	json_object_object_add(o, "status", json_object_new_int(status));
	json_object_array_add(e->delivery_log, o);
}

static void
delivery_free(struct delivery *d)
{
	free(d->url);
	free(d);
}

/* The answer to a validation: 200, text/plain, the token verbatim. */
static bool
validation_ok(struct delivery *d, struct evhttp_request *req)
{
	struct evbuffer *b;
	const char *ct;
	size_t n = strlen(d->token);

	if (req == NULL || evhttp_request_get_response_code(req) != 200)
		return false;
	ct = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type");
	if (ct == NULL || strncasecmp(ct, "text/plain", 10) != 0)
		return false;
	b = evhttp_request_get_input_buffer(req);
	return evbuffer_get_length(b) == n &&
	       memcmp(evbuffer_pullup(b, -1), d->token, n) == 0;
}

static void
delivery_done(struct evhttp_request *req, void *arg)
{
	struct delivery *d = arg;
	struct emu *e = d->e;
	int status = req != NULL ? evhttp_request_get_response_code(req) : 0;
	struct sub *s;

	delivery_unlink(d);
	delivery_record(e, d->sub_id, d->kind, d->url, status);
	if ((s = d->pending) != NULL) {
		if (!validation_ok(d, req)) {
			call_error(d->call, 400, "ValidationError",
			    "Subscription validation request failed. "
			    "Notification endpoint must respond with 200 OK "
			    "to validation request.");
			call_detached_free(d->call);
			sub_free(s);
		} else if (d->step == 0 && s->lifecycle_url != NULL &&
		           strcmp(s->lifecycle_url, s->url) != 0) {
			subs_validate(e, s, d->call, 1);
		} else if (e->subs.n >= SUBS_MAX) {
			call_error(d->call, 403, "ExtensionError",
			    "Too many subscriptions.");
			call_detached_free(d->call);
			sub_free(s);
		} else {
			hmap_put(&e->subs, s->id, s, NULL);
			call_reply(d->call, 201, sub_json(e, s));
			call_detached_free(d->call);
		}
	}
	delivery_free(d);
}

/* POST `body` (ctype) to the http:// URL `url` (+ query `q`); the answer
 * goes to delivery_done. -1 when the URL cannot be used. */
static int
deliver(struct emu *e, struct delivery *d, const char *q, const char *ctype,
    const char *body, int timeout)
{
	struct evhttp_uri *u = evhttp_uri_parse(d->url);
	struct evhttp_request *req = NULL;
	const char *host, *path, *query;
	char *target = NULL, hostport[300];
	int port, rc = -1;

	if (u == NULL || evhttp_uri_get_scheme(u) == NULL ||
	    strcasecmp(evhttp_uri_get_scheme(u), "http") != 0 ||
	    (host = evhttp_uri_get_host(u)) == NULL)
		goto out;
	port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	if (asprintf(&target, "%s%s%s%s%s",
	        path != NULL && *path != '\0' ? path : "/",
	        query != NULL || q != NULL ? "?" : "", query ? query : "",
	        query != NULL && q != NULL ? "&" : "", q ? q : "") == -1) {
		target = NULL;
		goto out;
	}
	if ((d->conn = evhttp_connection_base_new(
	         e->base, NULL, host, (ev_uint16_t)port)) == NULL ||
	    (req = evhttp_request_new(delivery_done, d)) == NULL)
		goto out;
	evhttp_connection_set_timeout(d->conn, timeout);
	evhttp_connection_free_on_completion(d->conn);
	snprintf(hostport, sizeof(hostport), "%s:%d", host, port);
	evhttp_add_header(
	    evhttp_request_get_output_headers(req), "Host", hostport);
	evhttp_add_header(
	    evhttp_request_get_output_headers(req), "Content-Type", ctype);
	if (body != NULL)
		evbuffer_add(
		    evhttp_request_get_output_buffer(req), body, strlen(body));
	/* Linked first: a connect that fails at once answers (and frees d)
	 * before evhttp_make_request returns. */
	d->next = e->deliveries;
	e->deliveries = d;
	if (evhttp_make_request(d->conn, req, EVHTTP_REQ_POST, target) != 0) {
		delivery_unlink(d);
		req = NULL; /* owned by the connection now */
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		if (req != NULL)
			evhttp_request_free(req);
		if (d->conn != NULL)
			evhttp_connection_free(d->conn);
		d->conn = NULL;
	}
	free(target);
	if (u != NULL)
		evhttp_uri_free(u);
	return rc;
}

/* POST a notification (JSON) for subscription s to `url`. */
static void
notify(struct emu *e, const struct sub *s, const char *url, const char *kind,
    json_object *value)
{
	struct delivery *d = xcalloc(1, sizeof(*d));
	json_object *o = json_object_new_object(), *a = json_object_new_array();

	d->e = e;
	snprintf(d->sub_id, sizeof(d->sub_id), "%s", s->id);
	snprintf(d->kind, sizeof(d->kind), "%s", kind);
	d->url = xstrdup(url);
	json_object_array_add(a, value);
	json_object_object_add(o, "value", a);
	if (deliver(e, d, NULL, "application/json",
	        json_object_to_json_string_ext(
	            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	        SUBS_DELIVER_S) == -1) {
		delivery_record(e, s->id, kind, url, 0);
		delivery_free(d);
	}
	json_object_put(o);
}

/* The common fields of a notification about subscription s. */
static json_object *
note_head(struct emu *e, const struct sub *s)
{
	json_object *o = json_object_new_object();
	char iso[40];

	clock_iso(s->expires, iso);
	json_object_object_add(
	    o, "subscriptionId", json_object_new_string(s->id));
	json_object_object_add(
	    o, "subscriptionExpirationDateTime", json_object_new_string(iso));
	json_object_object_add(
	    o, "tenantId", json_object_new_string(e->cfg.tenant_id));
	if (s->client_state != NULL)
		json_object_object_add(
		    o, "clientState", json_object_new_string(s->client_state));
	return o;
}

static void
subs_validate(struct emu *e, struct sub *s, struct call *c, int step)
{
	struct delivery *d = xcalloc(1, sizeof(*d));
	char *enc, *q = NULL, rid[EMU_ID_LEN];

	d->e = e;
	d->pending = s;
	d->call = c;
	d->step = step;
	snprintf(d->sub_id, sizeof(d->sub_id), "%s", s->id);
	snprintf(d->kind, sizeof(d->kind), "validation");
	d->url = xstrdup(step == 0 ? s->url : s->lifecycle_url);
	/* Like Graph's: spaces and punctuation that must be URL-decoded. */
	emu_guid(rid);
	snprintf(d->token, sizeof(d->token),
	    "Validation: Testing client application reachability for "
	    "subscription Request-Id: %s <&>",
	    rid);
	if ((enc = evhttp_uriencode(d->token, -1, 0)) == NULL ||
	    asprintf(&q, "validationToken=%s", enc) == -1)
		abort();
	free(enc);
	if (deliver(e, d, q, "text/plain", NULL, SUBS_VALIDATE_S) == -1) {
		delivery_record(e, s->id, d->kind, d->url, 0);
		call_error(c, 400, "ValidationError",
		    "Subscription validation request failed. The emulator "
		    "only delivers to http:// URLs it can reach.");
		call_detached_free(c);
		sub_free(s);
		delivery_free(d);
	}
	free(q);
}

/* ---- Graph routes ------------------------------------------------------ */

/* "groups/{id}", "/groups/{id}" or "groups": the group id (heap) into
 * *gid (NULL for every group); false when not a supported resource. */
static bool
parse_resource(struct emu *e, const char *r, char **gid)
{
	const char *p;

	*gid = NULL;
	if (*r == '/')
		r++;
	if (strcasecmp(r, "groups") == 0)
		return true;
	if (strncasecmp(r, "groups/", 7) != 0)
		return false;
	p = r + 7;
	if (*p == '\0' || strchr(p, '/') != NULL || store_group(e, p) == NULL)
		return false;
	*gid = xstrdup(p);
	return true;
}

static bool
change_type_ok(const char *ct)
{
	char *dup = xstrdup(ct), *t, *save = NULL;
	bool ok = *ct != '\0';

	for (t = strtok_r(dup, ",", &save); t != NULL && ok;
	     t = strtok_r(NULL, ",", &save))
		ok = strcmp(t, "created") == 0 || strcmp(t, "updated") == 0 ||
		     strcmp(t, "deleted") == 0;
	free(dup);
	return ok;
}

/* Parse and bound expirationDateTime; answers 400 itself. */
static bool
expiry_ok(struct call *c, const char *iso, int64_t *out)
{
	int64_t now = emu_now(c->emu);

	if (iso == NULL || clock_parse_iso(iso, out) < 0) {
		call_error(c, 400, "InvalidRequest",
		    "expirationDateTime must be an ISO 8601 date-time.");
		return false;
	}
	if (*out <= now) {
		call_error(c, 400, "InvalidRequest",
		    "Subscription expiration must be in the future.");
		return false;
	}
	if (*out > now + (int64_t)SUBS_MAX_MINUTES * 60 * EMU_TICKS_PER_SEC) {
		call_error(c, 400, "InvalidRequest",
		    "Subscription expiration can only be %d minutes in the "
		    "future.",
		    SUBS_MAX_MINUTES);
		return false;
	}
	return true;
}

static bool
url_ok(const char *u)
{
	return u != NULL && (strncasecmp(u, "http://", 7) == 0 ||
	                        strncasecmp(u, "https://", 8) == 0);
}

static void
post_subscription(struct call *c, char **caps)
{
	struct emu *e = c->emu;
	json_object *b;
	const char *ct, *url, *lurl, *res, *cs, *exp;
	struct sub *s;
	char *gid = NULL;
	int64_t expires;

	(void)caps;
	if ((b = call_body(c, true)) == NULL)
		return;
	ct = json_str(b, "changeType");
	url = json_str(b, "notificationUrl");
	lurl = json_str(b, "lifecycleNotificationUrl");
	res = json_str(b, "resource");
	cs = json_str(b, "clientState");
	exp = json_str(b, "expirationDateTime");
	if (ct == NULL || !change_type_ok(ct)) {
		call_error(c, 400, "InvalidRequest",
		    "changeType must list created, updated or deleted.");
		return;
	}
	if (!url_ok(url) || (lurl != NULL && !url_ok(lurl))) {
		call_error(c, 400, "InvalidRequest",
		    "notificationUrl must be an http(s) URL.");
		return;
	}
	if (res == NULL || !parse_resource(e, res, &gid)) {
		call_error(c, 400, "InvalidRequest",
		    "Resource '%s' is not supported or does not exist.",
		    res ? res : "");
		return;
	}
	if (cs != NULL && strlen(cs) > SUBS_CLIENT_STATE) {
		free(gid);
		call_error(c, 400, "InvalidRequest",
		    "clientState must be at most %d characters.",
		    SUBS_CLIENT_STATE);
		return;
	}
	if (!expiry_ok(c, exp, &expires)) {
		free(gid);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	emu_guid(s->id);
	s->resource = xstrdup(res);
	s->group_id = gid;
	s->change_type = xstrdup(ct);
	s->url = xstrdup(url);
	s->lifecycle_url = lurl != NULL ? xstrdup(lurl) : NULL;
	s->client_state = cs != NULL ? xstrdup(cs) : NULL;
	s->app_id = xstrdup(c->tok->client_id);
	s->expires = expires;
	subs_validate(e, s, call_detach(c), 0);
}

static void
list_subscriptions(struct call *c, char **caps)
{
	struct emu *e = c->emu;
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	size_t i;
	struct hmap_ent *h;

	(void)caps;
	for (i = 0; i < e->subs.nb; i++)
		for (h = e->subs.b[i]; h != NULL; h = h->next)
			json_object_array_add(a, sub_json(e, h->val));
	json_object_object_add(o, "value", a);
	call_reply(c, 200, o);
}

static struct sub *
sub_find(struct call *c, const char *id)
{
	struct sub *s = hmap_get(&c->emu->subs, id);

	if (s == NULL)
		call_error(
		    c, 404, "ResourceNotFound", "The object was not found.");
	return s;
}

static void
get_subscription(struct call *c, char **caps)
{
	struct sub *s = sub_find(c, caps[0]);

	if (s != NULL)
		call_reply(c, 200, sub_json(c->emu, s));
}

static void
patch_subscription(struct call *c, char **caps)
{
	struct sub *s = sub_find(c, caps[0]);
	json_object *b;
	int64_t expires;

	if (s == NULL || (b = call_body(c, true)) == NULL ||
	    !expiry_ok(c, json_str(b, "expirationDateTime"), &expires))
		return;
	s->expires = expires;
	call_reply(c, 200, sub_json(c->emu, s));
}

static void
delete_subscription(struct call *c, char **caps)
{
	struct sub *s = sub_find(c, caps[0]);

	if (s == NULL)
		return;
	sub_free(hmap_del(&c->emu->subs, s->id));
	call_reply(c, 204, NULL);
}

/* Notify every live subscription on group `gid` of a membership change. */
static void
subs_member_changed(
    struct emu *e, const char *gid, const char *member, bool removed)
{
	struct hmap_ent *h;
	size_t i;
	int64_t now = emu_now(e);

	for (i = 0; i < e->subs.nb; i++)
		for (h = e->subs.b[i]; h != NULL; h = h->next) {
			struct sub *s = h->val;
			json_object *o, *rd, *delta, *m, *rm;
			char res[EMU_ID_LEN + 16];

			if (s->expires <= now ||
			    (s->group_id != NULL &&
			        strcmp(s->group_id, gid) != 0) ||
			    strstr(s->change_type, "updated") == NULL)
				continue;
			snprintf(res, sizeof(res), "Groups/%s", gid);
			o = note_head(e, s);
			json_object_object_add(
			    o, "changeType", json_object_new_string("updated"));
			json_object_object_add(
			    o, "resource", json_object_new_string(res));
			rd = json_object_new_object();
			json_object_object_add(rd, "@odata.type",
			    json_object_new_string("#Microsoft.Graph.Group"));
			json_object_object_add(
			    rd, "@odata.id", json_object_new_string(res));
			json_object_object_add(
			    rd, "id", json_object_new_string(gid));
			json_object_object_add(rd, "organizationId",
			    json_object_new_string(e->cfg.tenant_id));
			delta = json_object_new_array();
			m = json_object_new_object();
			json_object_object_add(
			    m, "id", json_object_new_string(member));
			if (removed) {
				rm = json_object_new_object();
				json_object_object_add(rm, "reason",
				    json_object_new_string("deleted"));
				json_object_object_add(m, "@removed", rm);
			}
			json_object_array_add(delta, m);
			json_object_object_add(rd, "members@delta", delta);
			json_object_object_add(o, "resourceData", rd);
			notify(e, s, s->url, "change", o);
		}
}

/* Writing membership needs an admin app or an admin user. */
static bool
may_write_directory(struct call *c)
{
	const struct app *a;

	if (c->tok->kind == TOK_APP) {
		a = hmap_get(&c->emu->apps, c->tok->client_id);
		if (a != NULL && a->admin)
			return true;
	} else if (c->user != NULL && store_is_admin(c->emu, c->user->id))
		return true;
	call_error(c, 403, "Authorization_RequestDenied",
	    "Insufficient privileges to complete the operation.");
	return false;
}

/* POST /groups/{id}/members/$ref {"@odata.id": ".../directoryObjects/{id}"} */
static void
add_member(struct call *c, char **caps)
{
	struct emu *e = c->emu;
	const struct group *g = store_group(e, caps[0]);
	const struct user *u;
	const char *ref, *id;
	json_object *b;

	if (!may_write_directory(c))
		return;
	if (g == NULL) {
		call_error(c, 404, "Request_ResourceNotFound",
		    "Resource '%s' does not exist.", caps[0]);
		return;
	}
	if ((b = call_body(c, true)) == NULL)
		return;
	if ((ref = json_str(b, "@odata.id")) == NULL ||
	    (id = strrchr(ref, '/')) == NULL || id[1] == '\0') {
		call_error(c, 400, "BadRequest",
		    "Give '@odata.id' as .../directoryObjects/{id}.");
		return;
	}
	id++;
	if ((u = store_user(e, id)) != NULL)
		id = u->id;
	else if (store_group(e, id) == NULL || strcmp(id, g->id) == 0) {
		call_error(c, 404, "Request_ResourceNotFound",
		    "Resource '%s' does not exist or one of its queried "
		    "reference-property objects are not present.",
		    id);
		return;
	}
	if (store_group_add(e, g->id, id) != 0) {
		call_error(c, 400, "Request_BadRequest",
		    "One or more added object references already exist for "
		    "the following modified properties: 'members'.");
		return;
	}
	subs_member_changed(e, g->id, id, false);
	call_reply(c, 204, NULL);
}

/* DELETE /groups/{id}/members/{member}/$ref */
static void
remove_member(struct call *c, char **caps)
{
	struct emu *e = c->emu;
	const struct user *u = store_user(e, caps[1]);
	const char *id = u != NULL ? u->id : caps[1];

	if (!may_write_directory(c))
		return;
	if (store_group(e, caps[0]) == NULL ||
	    store_group_remove(e, caps[0], id) != 0) {
		call_error(c, 404, "Request_ResourceNotFound",
		    "Resource '%s' does not exist or one of its queried "
		    "reference-property objects are not present.",
		    caps[1]);
		return;
	}
	subs_member_changed(e, caps[0], id, true);
	call_reply(c, 204, NULL);
}

const struct route subs_routes[] = {
	{ "v1.0/subscriptions", M_GET, list_subscriptions },
	{ "v1.0/subscriptions", M_POST, post_subscription },
	{ "v1.0/subscriptions/*", M_GET, get_subscription },
	{ "v1.0/subscriptions/*", M_PATCH, patch_subscription },
	{ "v1.0/subscriptions/*", M_DELETE, delete_subscription },
	{ "beta/subscriptions", M_GET, list_subscriptions },
	{ "beta/subscriptions", M_POST, post_subscription },
	{ "beta/subscriptions/*", M_GET, get_subscription },
	{ "beta/subscriptions/*", M_PATCH, patch_subscription },
	{ "beta/subscriptions/*", M_DELETE, delete_subscription },
	{ "v1.0/groups/*/members/$ref", M_POST, add_member },
	{ "v1.0/groups/*/members/*/$ref", M_DELETE, remove_member },
	{ NULL, 0, NULL },
};

/* ---- control API --------------------------------------------------------- */

/* POST /_emulator/lifecycle {"subscription": ID, "event": EVENT}: deliver a
 * lifecycle notification (subscriptionRemoved also removes it). */
void
subs_ctl_lifecycle(struct call *c)
{
	struct emu *e = c->emu;
	json_object *b, *o;
	const char *ev;
	struct sub *s;

	if ((b = call_body(c, true)) == NULL)
		return;
	ev = json_str(b, "event");
	if (ev == NULL || (strcmp(ev, "missed") != 0 &&
	                      strcmp(ev, "reauthorizationRequired") != 0 &&
	                      strcmp(ev, "subscriptionRemoved") != 0)) {
		call_error(c, 400, "BadRequest",
		    "'event' must be missed, reauthorizationRequired or "
		    "subscriptionRemoved.");
		return;
	}
	if ((s = hmap_get(&e->subs, json_str(b, "subscription") != NULL
	                                ? json_str(b, "subscription")
	                                : "")) == NULL) {
		call_error(c, 404, "Request_ResourceNotFound",
		    "Unknown subscription.");
		return;
	}
	o = note_head(e, s);
	json_object_object_add(o, "lifecycleEvent", json_object_new_string(ev));
	notify(e, s, s->lifecycle_url ? s->lifecycle_url : s->url, ev, o);
	if (strcmp(ev, "subscriptionRemoved") == 0)
		sub_free(hmap_del(&e->subs, s->id));
	call_reply(c, 202, NULL);
}

/* GET /_emulator/notifications: every delivery, oldest first. */
void
subs_ctl_log(struct call *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "deliveries",
	    c->emu->delivery_log ? json_object_get(c->emu->delivery_log)
	                         : json_object_new_array());
	call_reply(c, 200, o);
}

/* Forget every subscription and delivery record (reset). */
void
subs_reset(struct emu *e)
{
	hmap_clear(&e->subs, sub_free);
	if (e->delivery_log != NULL)
		json_object_put(e->delivery_log);
	e->delivery_log = NULL;
}

/* Drop the POSTs in flight (shutdown, while the event base lives). */
void
subs_stop(struct emu *e)
{
	struct delivery *d;

	while ((d = e->deliveries) != NULL) {
		e->deliveries = d->next;
		if (d->conn != NULL)
			evhttp_connection_free(d->conn);
		if (d->pending != NULL) {
			call_error(d->call, 503, "ServiceUnavailable",
			    "Shutting down.");
			call_detached_free(d->call);
			sub_free(d->pending);
		}
		delivery_free(d);
	}
	subs_reset(e);
}
