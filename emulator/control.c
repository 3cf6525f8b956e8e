/* Control API under /_emulator/ (loopback peers only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "emu.h"

static const char *const rs_truth[RS_MAX] = {
	[RS_SUBMITTED] = "submitted",
	[RS_APPROVED_GRANTING] = "approved",
	[RS_APPROVED_GRANTED] = "approved",
	[RS_COMPLETED] = "completed",
	[RS_REJECTED] = "rejected",
	[RS_CANCELED] = "canceled",
	[RS_CANCELED_REVOKED] = "canceled",
	[RS_PENDING_APPROVAL] = "PendingApproval",
	[RS_GRANTED] = "Granted",
	[RS_PROVISIONED] = "Provisioned",
	[RS_REVOKED] = "Revoked",
	[RS_DENIED] = "Denied",
	[RS_PIM_CANCELED] = "Canceled",
	[RS_PIM_TIMED_OUT] = "TimedOut",
	[RS_AP_PENDING] = "pendingApproval",
	[RS_AP_DELIVERING] = "delivering",
	[RS_AP_DELIVERED] = "delivered",
	[RS_AP_DENIED] = "denied",
	[RS_AP_CANCELED] = "canceled",
};

static bool
loopback(struct call *c)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(c->req);
	char *addr = NULL;
	ev_uint16_t port;

	if (evcon == NULL)
		return false;
	evhttp_connection_get_peer(evcon, &addr, &port);
	return addr != NULL &&
	       (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
	           strncmp(addr, "::ffff:127.", 11) == 0);
}

static const char *
jstr(json_object *o, const char *k)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void
reply_now(struct call *c)
{
	json_object *o = json_object_new_object();
	char iso[40];

	clock_iso(emu_now(c->emu), iso);
	json_object_object_add(o, "now", json_object_new_string(iso));
	call_reply(c, 200, o);
}

static void
ctl_clock(struct call *c)
{
	struct emu *e = c->emu;
	json_object *b;
	const char *s;
	int64_t t;

	if (c->cmd == EVHTTP_REQ_GET) {
		reply_now(c);
		return;
	}
	if ((b = call_body(c, true)) == NULL)
		return;
	if ((s = jstr(b, "advance")) != NULL) {
		if (clock_parse_duration(s, &t) < 0) {
			call_error(c, 400, "BadRequest",
			    "'advance' must be an ISO 8601 duration.");
			return;
		}
		e->clock_offset += t;
	} else if ((s = jstr(b, "set")) != NULL) {
		if (clock_parse_iso(s, &t) < 0) {
			call_error(c, 400, "BadRequest",
			    "'set' must be an ISO 8601 date-time.");
			return;
		}
		e->clock_offset = t - clock_real_ticks();
	} else {
		call_error(c, 400, "BadRequest", "Give 'advance' or 'set'.");
		return;
	}
	req_tick(e);
	reply_now(c);
}

static void
ctl_token(struct call *c)
{
	struct emu *e = c->emu;
	json_object *b, *o;
	const struct user *u;
	const struct token *t;
	const char *s;

	if ((b = call_body(c, true)) == NULL)
		return;
	if ((s = jstr(b, "user")) != NULL) {
		if ((u = store_user(e, s)) == NULL) {
			call_error(c, 404, "Request_ResourceNotFound",
			    "Unknown user '%s'.", s);
			return;
		}
		t = tokens_mint(e, TOK_DELEGATED,
		    jstr(b, "client") ? jstr(b, "client") : "emulator-control",
		    u->id);
	} else if ((s = jstr(b, "app")) != NULL) {
		if (hmap_get(&e->apps, s) == NULL) {
			call_error(c, 404, "Request_ResourceNotFound",
			    "Unknown app '%s'.", s);
			return;
		}
		t = tokens_mint(e, TOK_APP, s, NULL);
	} else {
		call_error(c, 400, "BadRequest", "Give 'user' or 'app'.");
		return;
	}
	if (t == NULL) {
		call_error(c, 503, "ServiceUnavailable", "Token store full.");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(
	    o, "token_type", json_object_new_string("Bearer"));
	json_object_object_add(
	    o, "access_token", json_object_new_string(t->tok));
	json_object_object_add(
	    o, "expires_in", json_object_new_int(e->cfg.token_lifetime));
	call_reply(c, 200, o);
}

static void
ctl_faults(struct call *c)
{
	json_object *b, *o;
	char err[160];
	int id;

	if (c->cmd == EVHTTP_REQ_GET) {
		call_reply(c, 200, faults_list(c->emu));
		return;
	}
	if (c->cmd == EVHTTP_REQ_DELETE) {
		faults_clear(c->emu);
		call_reply(c, 204, NULL);
		return;
	}
	if ((b = call_body(c, true)) == NULL)
		return;
	if ((id = faults_add(c->emu, b, err, sizeof(err))) < 0) {
		call_error(c, 400, "BadRequest", "%s", err);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int(id));
	call_reply(c, 200, o);
}

static const struct emu_template *
template_for(const char *kind)
{
	size_t i;

	for (i = 0; i < emu_ntemplates; i++)
		if (strcmp(emu_templates[i].kind, kind) == 0)
			return &emu_templates[i];
	return NULL;
}

static void
ctl_generate(struct call *c)
{
	struct emu *e = c->emu;
	json_object *b, *kinds = NULL, *out, *ids, *parsed[16];
	const struct emu_template *tp[16];
	const struct user *u;
	const char *s;
	char err[256];
	struct req *r;
	size_t nk, i;
	int64_t count;

	if ((b = call_body(c, true)) == NULL)
		return;
	if (!json_object_object_get_ex(b, "count", &kinds) ||
	    (count = json_object_get_int64(kinds)) < 1 ||
	    count > EMU_MAX_GENERATE) {
		call_error(c, 400, "BadRequest", "'count' must be 1..%d.",
		    EMU_MAX_GENERATE);
		return;
	}
	if ((u = store_user(e, jstr(b, "requestor"))) == NULL) {
		call_error(c, 400, "BadRequest",
		    "'requestor' must be a known "
		    "user.");
		return;
	}
	kinds = NULL;
	json_object_object_get_ex(b, "kinds", &kinds);
	nk = kinds != NULL ? json_object_array_length(kinds) : emu_ntemplates;
	if (nk == 0 || nk > 16) {
		call_error(
		    c, 400, "BadRequest", "'kinds' must list 1..16 kinds.");
		return;
	}
	for (i = 0; i < nk; i++) {
		s = kinds != NULL ? json_object_get_string(
		                        json_object_array_get_idx(kinds, i))
		                  : emu_templates[i].kind;
		if (s == NULL || (tp[i] = template_for(s)) == NULL) {
			call_error(c, 400, "BadRequest", "Unknown kind '%s'.",
			    s ? s : "?");
			return;
		}
	}
	for (i = 0; i < nk; i++) {
		if ((parsed[i] = json_tokener_parse(tp[i]->json)) == NULL)
			abort();
		if (tp[i]->src == SRC_GROUP)
			json_object_object_add(parsed[i], "principalId",
			    json_object_new_string(u->id));
	}
	out = json_object_new_object();
	ids = json_object_new_array_ext((int)count);
	for (i = 0; i < (size_t)count; i++) {
		const struct emu_template *t = tp[i % nk];

		if (t->src == SRC_PERMISSIONS)
			r = epm_create_quiet(
			    e, parsed[i % nk], u->id, err, sizeof(err));
		else
			r = pim_create_quiet(
			    e, parsed[i % nk], u->id, false, err, sizeof(err));
		if (r == NULL)
			break;
		json_object_array_add(ids, json_object_new_string(r->id));
	}
	for (i = 0; i < nk; i++)
		json_object_put(parsed[i]);
	json_object_object_add(out, "ids", ids);
	if (json_object_array_length(ids) < (size_t)count) {
		json_object_put(out);
		call_error(c, strcmp(err, "quota") == 0 ? 507 : 400,
		    "BadRequest", "generate stopped: %s", err);
		return;
	}
	call_reply(c, 200, out);
}

static void
ctl_requests(struct call *c)
{
	struct emu *e = c->emu;
	json_object *b, *body;
	const struct user *u;
	const char *src;

	if ((b = call_body(c, true)) == NULL)
		return;
	if ((u = store_user(e, jstr(b, "requestor"))) == NULL) {
		call_error(c, 400, "BadRequest",
		    "'requestor' must be a known "
		    "user.");
		return;
	}
	if (!json_object_object_get_ex(b, "body", &body) ||
	    !json_object_is_type(body, json_type_object)) {
		call_error(c, 400, "BadRequest", "'body' must be an object.");
		return;
	}
	if ((src = jstr(b, "source")) == NULL)
		src = json_object_object_get_ex(body, "groupId", NULL) ? "group"
		      : json_object_object_get_ex(body, "requestType", NULL)
		          ? "access-package"
		          : "permissions";
	if (strcmp(src, "permissions") == 0)
		epm_create(c, body, u->id);
	else if (strcmp(src, "group") == 0)
		pim_create(c, body, u->id, false);
	else if (strcmp(src, "access-package") == 0)
		access_create(c, body, u->id);
	else
		call_error(c, 400, "BadRequest", "Unknown source '%s'.", src);
}

/* POST {"requestId", "modificationDateTime"}: a change record for a
 * permissions request dated by a backend clock running ahead (e.g. 2999). */
static void
ctl_changes(struct call *c)
{
	struct emu *e = c->emu;
	json_object *b;
	int64_t t;
	char err[160];

	if ((b = call_body(c, true)) == NULL)
		return;
	if (clock_parse_iso(jstr(b, "modificationDateTime"), &t) < 0) {
		call_error(c, 400, "BadRequest",
		    "'modificationDateTime' must be an ISO-8601 time.");
		return;
	}
	if (epm_skewed_change(e, jstr(b, "requestId"), t, err, sizeof(err)) <
	    0) {
		call_error(c, 400, "BadRequest", "%s", err);
		return;
	}
	call_reply(c, 204, NULL);
}

static void
ctl_truth(struct call *c)
{
	struct emu *e = c->emu;
	json_object *o = json_object_new_object(), *reqs, *d, *x, *v;
	const char *id, *action, *src;
	struct req *r;
	size_t i, n;
	int s;

	reqs = json_object_new_object();
	n = e->truth_decisions ? json_object_array_length(e->truth_decisions)
	                       : 0;
	for (i = 0; i < n; i++) {
		d = json_object_array_get_idx(e->truth_decisions, i);
		id = json_object_get_string(
		    json_object_object_get(d, "requestId"));
		action =
		    json_object_get_string(json_object_object_get(d, "action"));
		src =
		    json_object_get_string(json_object_object_get(d, "source"));
		if (!json_object_object_get_ex(reqs, id, &x)) {
			x = json_object_new_object();
			json_object_object_add(
			    x, "source", json_object_new_string(src));
			json_object_object_add(
			    x, "approve", json_object_new_int(0));
			json_object_object_add(
			    x, "deny", json_object_new_int(0));
			json_object_object_add(
			    x, "cancel", json_object_new_int(0));
			for (s = 0, r = NULL; s < SRC_MAX && r == NULL; s++)
				r = req_get(e, (enum src)s, id);
			json_object_object_add(x, "status",
			    json_object_new_string(
			        r ? rs_truth[r->state] : "?"));
			json_object_object_add(reqs, id, x);
		}
		v = json_object_object_get(x, action);
		json_object_set_int(v, json_object_get_int(v) + 1);
	}
	json_object_object_add(o, "decisions",
	    e->truth_decisions ? json_object_get(e->truth_decisions)
	                       : json_object_new_array());
	json_object_object_add(o, "requests", reqs);
	call_reply(c, 200, o);
}

static void
ctl_log(struct call *c)
{
	const char *s = call_query(c, "since");

	call_reply(c, 200, log_json(c->emu, s ? strtoull(s, NULL, 10) : 0));
}

static void
ctl_devicecode(struct call *c)
{
	json_object *b, *o;
	const struct user *u;
	const char *code;

	if ((b = call_body(c, true)) == NULL)
		return;
	if ((code = jstr(b, "user_code")) == NULL ||
	    (u = store_user(c->emu, jstr(b, "user"))) == NULL) {
		call_error(c, 400, "BadRequest",
		    "Give 'user_code' and a known 'user'.");
		return;
	}
	if (tokens_devcode_complete(c->emu, code, u->id) < 0) {
		call_error(c, 404, "Request_ResourceNotFound",
		    "No pending device code '%s'.", code);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "user", json_object_new_string(u->id));
	call_reply(c, 200, o);
}

static void
ctl_throttling(struct call *c)
{
	struct emu_config *cfg = &c->emu->cfg;
	json_object *b, *v, *o;

	if (c->cmd == EVHTTP_REQ_POST) {
		if ((b = call_body(c, true)) == NULL)
			return;
		if (json_object_object_get_ex(b, "enabled", &v))
			cfg->throttle_on = json_object_get_boolean(v);
		if (json_object_object_get_ex(b, "rate", &v))
			cfg->throttle_rate = json_object_get_double(v);
		if (json_object_object_get_ex(b, "burst", &v))
			cfg->throttle_burst = json_object_get_double(v);
		if (cfg->throttle_rate <= 0 || cfg->throttle_burst < 1) {
			cfg->throttle_on = false;
			call_error(c, 400, "BadRequest",
			    "rate must be > 0 and burst >= 1.");
			return;
		}
		hmap_prune(&c->emu->buckets, NULL, NULL, free);
	}
	o = json_object_new_object();
	json_object_object_add(
	    o, "enabled", json_object_new_boolean(cfg->throttle_on));
	json_object_object_add(
	    o, "rate", json_object_new_double(cfg->throttle_rate));
	json_object_object_add(
	    o, "burst", json_object_new_double(cfg->throttle_burst));
	call_reply(c, 200, o);
}

static void
ctl_stats(struct call *c)
{
	struct emu *e = c->emu;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "permissionsRequests",
	    json_object_new_int64((int64_t)e->reqs[SRC_PERMISSIONS].n));
	json_object_object_add(o, "groupRequests",
	    json_object_new_int64((int64_t)e->reqs[SRC_GROUP].n));
	json_object_object_add(o, "accessPackageRequests",
	    json_object_new_int64((int64_t)e->reqs[SRC_ACCESS_PACKAGE].n));
	json_object_object_add(
	    o, "changes", json_object_new_int64((int64_t)e->nchanges));
	json_object_object_add(
	    o, "accessTokens", json_object_new_int64((int64_t)e->tokens.n));
	json_object_object_add(o, "maxRequests",
	    json_object_new_int64((int64_t)e->cfg.max_requests));
	json_object_object_add(
	    o, "logCapacity", json_object_new_int64(EMU_LOG_CAP));
	call_reply(c, 200, o);
}

static void
ctl_reset(struct call *c)
{
	if (store_reset(c->emu) < 0) {
		call_error(c, 500, "InternalServerError", "Reset failed.");
		return;
	}
	call_reply(c, 204, NULL);
}

struct ctl {
	const char *name;
	int methods;
	void (*fn)(struct call *);
};

static const struct ctl ctls[] = {
	{ "reset", EVHTTP_REQ_POST, ctl_reset },
	{ "clock", EVHTTP_REQ_GET | EVHTTP_REQ_POST, ctl_clock },
	{ "token", EVHTTP_REQ_POST, ctl_token },
	{ "faults", EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE,
	    ctl_faults },
	{ "generate", EVHTTP_REQ_POST, ctl_generate },
	{ "requests", EVHTTP_REQ_POST, ctl_requests },
	{ "changes", EVHTTP_REQ_POST, ctl_changes },
	{ "truth", EVHTTP_REQ_GET, ctl_truth },
	{ "log", EVHTTP_REQ_GET, ctl_log },
	{ "devicecode", EVHTTP_REQ_POST, ctl_devicecode },
	{ "refreshtokens", EVHTTP_REQ_POST, tokens_ctl_refresh },
	{ "throttling", EVHTTP_REQ_GET | EVHTTP_REQ_POST, ctl_throttling },
	{ "stats", EVHTTP_REQ_GET, ctl_stats },
	{ "lifecycle", EVHTTP_REQ_POST, subs_ctl_lifecycle },
	{ "notifications", EVHTTP_REQ_GET, subs_ctl_log },
	{ NULL, 0, NULL },
};

void
control_handle(struct call *c)
{
	const struct ctl *t;

	snprintf(c->caller, sizeof(c->caller), "control");
	if (!loopback(c)) {
		call_error(c, 403, "Authorization_RequestDenied",
		    "The control API only answers loopback peers.");
		return;
	}
	if (c->segc != 2) {
		call_error(c, 404, "Request_ResourceNotFound",
		    "Unknown control endpoint.");
		return;
	}
	for (t = ctls; t->name != NULL; t++) {
		if (strcmp(t->name, c->segv[1]) != 0)
			continue;
		if ((t->methods & (int)c->cmd) == 0) {
			call_error(c, 405, "BadRequest", "Method not allowed.");
			return;
		}
		t->fn(c);
		return;
	}
	call_error(c, 404, "Request_ResourceNotFound",
	    "Unknown control endpoint '%s'.", c->segv[1]);
}
