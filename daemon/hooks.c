/*
 * Webhooks in: POST /v1/hooks/evaluate (HMAC-SHA256 signed, timestamped)
 * and POST /v1/hooks/graph (Graph change notifications). Both only wake the
 * poller; they never carry decisions. Bad requests are counted and logged
 * at a bounded rate. The listener (httpd.c) has already checked the method,
 * the header size and the peer's rate.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include "approvald.h"
#include "limits.h"
#include "log.h"

#define HOOKS_MAX_GROUPS 16 /* distinct groups one notification names */
#define HOOKS_GROUP_ID   64

struct hooks_seen {
	int64_t t;
	char sig[65];
};

static struct {
	char *secret;
	size_t secret_len;
	char *client_state;
	size_t client_state_len;
	unsigned client_state_gen; /* bumped when it changes */
	struct hooks_seen seen[HOOK_REPLAY_CACHE];
	size_t seen_next;
} hooks;

static void
hooks_text(
    struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (b != NULL && text != NULL)
		evbuffer_add_printf(b, "%s\n", text);
	evhttp_send_reply(req, code, reason, b);
	if (b != NULL)
		evbuffer_free(b);
}

/* Count a refused hook; the listener logs it at a bounded rate. */
static void
hooks_bad(struct evhttp_request *req, const char *hook, const char *why)
{
	metrics_hook(hook, why);
	httpd_log_refused(req, hook, why);
}

/* The request body as a NUL-terminated heap string, or NULL when it is too
 * large (*toolarge set) or memory runs out. */
static char *
hooks_body(struct evhttp_request *req, size_t *len, int *toolarge)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *s;

	*toolarge = n > HOOK_MAX_BODY;
	if (*toolarge || (s = malloc(n + 1)) == NULL)
		return NULL;
	if (n > 0 && evbuffer_copyout(in, s, n) != (ev_ssize_t)n) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	*len = n;
	return s;
}

static void
hooks_nudge_all(struct daemon *d)
{
	int i;

	for (i = 0; i < REQ_SRC_MAX; i++)
		if (d->poll[i].ad != NULL) {
			metrics_nudge(d->poll[i].ad->name);
			poll_nudge(d, (enum req_source)i);
		}
}

/* Parse "t=<digits>,v1=<64 hex>" (any order; other fields ignored). */
static int
hooks_parse_sig(const char *h, int64_t *t, char v1[65])
{
	const char *p = h;
	int have_t = 0, have_v = 0;
	size_t i;

	while (p != NULL && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncmp(p, "t=", 2) == 0) {
			char *end;
			long long v = strtoll(p + 2, &end, 10);

			if (end == p + 2 || (*end != ',' && *end != '\0') ||
			    v <= 0)
				return -1;
			*t = v;
			have_t = 1;
		} else if (strncmp(p, "v1=", 3) == 0) {
			for (i = 0; i < 64; i++) {
				if (!isxdigit((unsigned char)p[3 + i]))
					return -1;
				v1[i] = (char)tolower((unsigned char)p[3 + i]);
			}
			if (p[3 + 64] != ',' && p[3 + 64] != '\0')
				return -1;
			v1[64] = '\0';
			have_v = 1;
		}
		p = strchr(p, ',');
	}
	return have_t && have_v ? 0 : -1;
}

/* HMAC-SHA256(secret, "<t>." || body) in lowercase hex. */
static int
hooks_sign(int64_t t, const char *body, size_t len, char out[65])
{
	return sign_timestamped(
	    hooks.secret, hooks.secret_len, t, body, len, out);
}

/* 1 when this signature was already accepted within the window; else
 * remember it and return 0. */
static int
hooks_replayed(int64_t t, const char *sig, int64_t now)
{
	size_t i;

	for (i = 0; i < HOOK_REPLAY_CACHE; i++)
		if (hooks.seen[i].t != 0 &&
		    now - hooks.seen[i].t <= HOOK_REPLAY_WINDOW &&
		    CRYPTO_memcmp(hooks.seen[i].sig, sig, 64) == 0)
			return 1;
	hooks.seen[hooks.seen_next].t = t;
	memcpy(hooks.seen[hooks.seen_next].sig, sig, 65);
	hooks.seen_next = (hooks.seen_next + 1) % HOOK_REPLAY_CACHE;
	return 0;
}

static void
hooks_evaluate(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;
	const char *h;
	char v1[65], want[65], *body = NULL;
	size_t len = 0;
	int64_t t = 0, now = engine_now();
	int toolarge, i;
	struct json_object *o = NULL, *v;
	enum req_source src = REQ_SRC_MAX;
	const char *id = NULL;

	if (hooks.secret == NULL) {
		hooks_bad(req, "evaluate", "disabled");
		hooks_text(req, 403, "Forbidden", "hook not configured");
		return;
	}
	if ((body = hooks_body(req, &len, &toolarge)) == NULL) {
		hooks_bad(req, "evaluate", toolarge ? "too_large" : "error");
		if (toolarge)
			hooks_text(req, 413, "Payload Too Large", "too large");
		else
			hooks_text(req, 500, "Internal Server Error", "error");
		return;
	}
	h = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "X-Approvald-Signature");
	if (h == NULL || hooks_parse_sig(h, &t, v1) == -1) {
		hooks_bad(req, "evaluate", "bad_signature");
		hooks_text(req, 401, "Unauthorized", "unauthorized");
		goto out;
	}
	if (t < now - HOOK_REPLAY_WINDOW || t > now + HOOK_REPLAY_WINDOW) {
		hooks_bad(req, "evaluate", "stale");
		hooks_text(req, 401, "Unauthorized", "unauthorized");
		goto out;
	}
	if (hooks_sign(t, body, len, want) == -1 ||
	    CRYPTO_memcmp(want, v1, 64) != 0) {
		hooks_bad(req, "evaluate", "bad_signature");
		hooks_text(req, 401, "Unauthorized", "unauthorized");
		goto out;
	}
	if (hooks_replayed(t, v1, now)) {
		hooks_bad(req, "evaluate", "replayed");
		hooks_text(req, 401, "Unauthorized", "unauthorized");
		goto out;
	}
	if (len > 0) {
		if ((o = json_tokener_parse(body)) == NULL ||
		    !json_object_is_type(o, json_type_object)) {
			hooks_bad(req, "evaluate", "bad_body");
			hooks_text(
			    req, 400, "Bad Request", "want a JSON object");
			goto out;
		}
		if (json_object_object_get_ex(o, "request", &v) &&
		    json_object_is_type(v, json_type_string))
			id = json_object_get_string(v);
		if (json_object_object_get_ex(o, "source", &v) &&
		    json_object_is_type(v, json_type_string))
			for (i = 0; i < REQ_SRC_MAX; i++)
				if (strcmp(json_object_get_string(v),
				        req_source_name((enum req_source)i)) ==
				    0)
					src = (enum req_source)i;
	}
	metrics_hook("evaluate", "accepted");
	if (id != NULL)
		log_debug("hooks: evaluate request %.80s", id);
	if (src != REQ_SRC_MAX && d->poll[src].ad != NULL) {
		metrics_nudge(d->poll[src].ad->name);
		poll_nudge(d, src);
	} else
		hooks_nudge_all(d);
	hooks_text(req, 202, "Accepted", "accepted");
out:
	json_object_put(o);
	free(body);
}

/* The decoded value of query parameter `name`, heap, length in *len. */
static char *
hooks_query(const char *uri, const char *name, size_t *len)
{
	const char *q = strchr(uri, '?'), *p, *end;
	size_t nl = strlen(name);
	char *raw, *dec;

	if (q == NULL)
		return NULL;
	for (p = q + 1; p != NULL && *p; p = end ? end + 1 : NULL) {
		end = strchr(p, '&');
		if (strncmp(p, name, nl) != 0 || p[nl] != '=')
			continue;
		p += nl + 1;
		raw = end ? strndup(p, (size_t)(end - p)) : strdup(p);
		if (raw == NULL)
			return NULL;
		dec = evhttp_uridecode(raw, 1, len);
		free(raw);
		return dec;
	}
	return NULL;
}

static int
hooks_client_state_ok(const char *cs)
{
	size_t n = cs != NULL ? strlen(cs) : 0;
	int eq;

	if (hooks.client_state == NULL || cs == NULL)
		return 0;
	/* Compare in constant time over the expected length. */
	eq = CRYPTO_memcmp(hooks.client_state,
	         n == hooks.client_state_len ? cs : hooks.client_state,
	         hooks.client_state_len) == 0;
	return eq && n == hooks.client_state_len;
}

/* Note the group a change notification is about ("Groups/{id}", any case,
 * perhaps followed by a path), once; past HOOKS_MAX_GROUPS only count. */
static void
hooks_group_note(struct json_object *e,
    char groups[HOOKS_MAX_GROUPS][HOOKS_GROUP_ID], size_t *n)
{
	struct json_object *v;
	const char *r, *p;
	size_t len, i;

	if (!json_object_object_get_ex(e, "resource", &v) ||
	    !json_object_is_type(v, json_type_string))
		return;
	r = json_object_get_string(v);
	if (*r == '/')
		r++;
	if (strncasecmp(r, "groups/", 7) != 0)
		return;
	r += 7;
	len = strcspn(r, "/");
	if (len == 0 || len >= HOOKS_GROUP_ID)
		return;
	for (p = r; p < r + len; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return;
	for (i = 0; i < *n && i < HOOKS_MAX_GROUPS; i++)
		if (strncasecmp(groups[i], r, len) == 0 &&
		    groups[i][len] == '\0')
			return;
	if (*n < HOOKS_MAX_GROUPS)
		snprintf(groups[*n], HOOKS_GROUP_ID, "%.*s", (int)len, r);
	(*n)++;
}

static void
hooks_graph(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;
	char *tok, *body = NULL;
	size_t len = 0, n, i;
	int toolarge, ok = 1, missed = 0, changes = 0;
	struct json_object *o = NULL, *value = NULL, *e, *v;
	struct evbuffer *b;
	char groups[HOOKS_MAX_GROUPS][HOOKS_GROUP_ID];
	size_t ngroups = 0;

	tok = hooks_query(evhttp_request_get_uri(req), "validationToken", &n);
	if (tok != NULL) {
		/* Subscription handshake: echo the decoded token verbatim. */
		metrics_hook("graph", "validation");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "text/plain");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "X-Content-Type-Options", "nosniff");
		if ((b = evbuffer_new()) != NULL)
			evbuffer_add(b, tok, n);
		evhttp_send_reply(req, 200, "OK", b);
		if (b != NULL)
			evbuffer_free(b);
		free(tok);
		return;
	}
	if ((body = hooks_body(req, &len, &toolarge)) == NULL) {
		hooks_bad(req, "graph", toolarge ? "too_large" : "error");
		if (toolarge)
			hooks_text(req, 413, "Payload Too Large", "too large");
		else
			hooks_text(req, 500, "Internal Server Error", "error");
		return;
	}
	/* Checked without any I/O, then answered 202 whatever the outcome. */
	if ((o = json_tokener_parse(body)) == NULL ||
	    !json_object_object_get_ex(o, "value", &value) ||
	    !json_object_is_type(value, json_type_array) ||
	    (n = json_object_array_length(value)) == 0) {
		hooks_bad(req, "graph", "bad_body");
		goto out;
	}
	for (i = 0; i < n && ok; i++) {
		e = json_object_array_get_idx(value, i);
		ok = json_object_object_get_ex(e, "clientState", &v) &&
		     json_object_is_type(v, json_type_string) &&
		     hooks_client_state_ok(json_object_get_string(v));
	}
	if (!ok) {
		hooks_bad(req, "graph", "bad_client_state");
		goto out;
	}
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(value, i);
		if (json_object_object_get_ex(e, "lifecycleEvent", &v)) {
			const char *ev = json_object_get_string(v);

			if (strcmp(ev, "missed") == 0)
				missed = 1;
			else {
				log_info(
				    "hooks: graph lifecycle event %.64s", ev);
				if (json_object_object_get_ex(
				        e, "subscriptionId", &v) &&
				    json_object_is_type(v, json_type_string))
					subs_lifecycle(
					    d, json_object_get_string(v), ev);
			}
			metrics_hook("graph", "lifecycle");
		} else {
			changes = 1;
			hooks_group_note(e, groups, &ngroups);
		}
	}
	metrics_hook("graph", "accepted");
	if (missed) {
		log_info("hooks: graph notifications were missed; full resync");
		approvers_group_changed(d, NULL);
	} else if (ngroups > HOOKS_MAX_GROUPS)
		approvers_group_changed(d, NULL);
	else
		for (i = 0; i < ngroups; i++)
			approvers_group_changed(d, groups[i]);
	if (missed || changes)
		hooks_nudge_all(d);
out:
	hooks_text(req, 202, "Accepted", NULL);
	json_object_put(o);
	free(body);
}

static int
hooks_secret(const char *path, char **out, size_t *len, char **err)
{
	size_t n = 0;

	*out = NULL;
	*len = 0;
	if (path == NULL)
		return 0;
	if (cfg_read_secret(path, out, &n, err) == -1)
		return -1;
	while (n > 0 && ((*out)[n - 1] == '\n' || (*out)[n - 1] == '\r'))
		(*out)[--n] = '\0';
	*len = n;
	return 0;
}

static void
hooks_wipe(char **s, size_t *len)
{
	if (*s != NULL) {
		explicit_bzero(*s, *len);
		free(*s);
	}
	*s = NULL;
	*len = 0;
}

/* Swap in a secret read from `path`; a file that cannot be read keeps the
 * old one (logged). 1 when it changed, 0 when not, -1 when kept. */
static int
hooks_swap(const char *what, const char *path, char **cur, size_t *curlen)
{
	char *s = NULL, *err = NULL;
	size_t n = 0;
	int changed;

	if (hooks_secret(path, &s, &n, &err) == -1) {
		log_warnx("reload: %s: %s; keeping the current one", what,
		    err ? err : "cannot read");
		free(err);
		return -1;
	}
	changed = n != *curlen || (s == NULL) != (*cur == NULL) ||
	          (s != NULL && CRYPTO_memcmp(s, *cur, n) != 0);
	hooks_wipe(cur, curlen);
	*cur = s;
	*curlen = n;
	return changed;
}

/* SIGHUP: read the hook secret and the clientState again (new settings). */
void
hooks_reload(struct daemon *d)
{
	if (hooks_swap("http.hook_secret_file", d->settings->hook_secret_file,
	        &hooks.secret, &hooks.secret_len) == 1)
		log_info("reload: new webhook secret in force");
	if (hooks_swap("http.graph_client_state_file",
	        d->settings->graph_client_state_file, &hooks.client_state,
	        &hooks.client_state_len) == 1) {
		hooks.client_state_gen++;
		log_info("reload: new Graph clientState in force");
	}
}

/* The clientState subscriptions carry (NULL: none), and its generation. */
const char *
hooks_client_state(void)
{
	return hooks.client_state;
}

unsigned
hooks_client_state_gen(void)
{
	return hooks.client_state_gen;
}

/* Read the hook secrets and route the hooks on the daemon's listener. */
int
hooks_register(struct daemon *d, char **err)
{
	hooks_free(d);
	if (hooks_secret(d->settings->hook_secret_file, &hooks.secret,
	        &hooks.secret_len, err) == -1 ||
	    hooks_secret(d->settings->graph_client_state_file,
	        &hooks.client_state, &hooks.client_state_len, err) == -1)
		return -1;
	if (httpd_route("/v1/hooks/evaluate", EVHTTP_REQ_POST, 1,
	        hooks_evaluate, d) == -1 ||
	    httpd_route(
	        "/v1/hooks/graph", EVHTTP_REQ_POST, 1, hooks_graph, d) == -1) {
		asprintf(err, "http: too many routes");
		return -1;
	}
	return 0;
}

void
hooks_free(struct daemon *d)
{
	(void)d;
	hooks_wipe(&hooks.secret, &hooks.secret_len);
	hooks_wipe(&hooks.client_state, &hooks.client_state_len);
}
