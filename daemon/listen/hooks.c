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

#include "limits.h"
#include "listen.h"
#include "log.h"
#include "parse.h"

struct hooks_seen {
	int64_t t;
	char sig[65];
};

struct hooks_state {
	char *secret;
	size_t secret_len;
	char *client_state;
	size_t client_state_len;
	unsigned client_state_gen; /* bumped when it changes */
	struct hooks_seen seen[HOOK_REPLAY_CACHE];
	size_t seen_next;
};

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
hooks_bad(struct daemon *d, struct evhttp_request *req, const char *hook,
    const char *why)
{
	metrics_hook(d, hook, why);
	httpd_log_refused(d, req, hook, why);
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
			metrics_nudge(d, d->poll[i].ad->name);
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
hooks_sign(const struct hooks_state *hooks, int64_t t, const char *body,
    size_t len, char out[65])
{
	return sign_timestamped(
	    hooks->secret, hooks->secret_len, t, body, len, out);
}

/* 1 when this signature was already accepted within the window; else
 * remember it and return 0. */
static int
hooks_replayed(
    struct hooks_state *hooks, int64_t t, const char *sig, int64_t now)
{
	size_t i;

	for (i = 0; i < HOOK_REPLAY_CACHE; i++)
		if (hooks->seen[i].t != 0 &&
		    now - hooks->seen[i].t <= HOOK_REPLAY_WINDOW &&
		    CRYPTO_memcmp(hooks->seen[i].sig, sig, 64) == 0)
			return 1;
	hooks->seen[hooks->seen_next].t = t;
	memcpy(hooks->seen[hooks->seen_next].sig, sig, 65);
	hooks->seen_next = (hooks->seen_next + 1) % HOOK_REPLAY_CACHE;
	return 0;
}

static void
hooks_evaluate(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;
	struct hooks_state *hooks = d->hooks;
	const char *h;
	char v1[65], want[65], *body = NULL;
	size_t len = 0;
	int64_t t = 0, now = clock_now();
	int toolarge, i;
	struct json_object *o = NULL;
	enum req_source src = REQ_SRC_MAX;
	const char *id = NULL, *sname = NULL;

	if (hooks->secret == NULL) {
		hooks_bad(d, req, "evaluate", "disabled");
		hooks_text(req, 403, "Forbidden", "hook not configured");
		return;
	}
	if ((body = hooks_body(req, &len, &toolarge)) == NULL) {
		hooks_bad(d, req, "evaluate", toolarge ? "too_large" : "error");
		if (toolarge)
			hooks_text(req, 413, "Payload Too Large", "too large");
		else
			hooks_text(req, 500, "Internal Server Error", "error");
		return;
	}
	h = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "X-Approvald-Signature");
	if (h == NULL || hooks_parse_sig(h, &t, v1) == -1) {
		hooks_bad(d, req, "evaluate", "bad_signature");
		hooks_text(req, 401, "Unauthorized", "unauthorized");
		goto out;
	}
	if (t < now - HOOK_REPLAY_WINDOW || t > now + HOOK_REPLAY_WINDOW) {
		hooks_bad(d, req, "evaluate", "stale");
		hooks_text(req, 401, "Unauthorized", "unauthorized");
		goto out;
	}
	if (hooks_sign(hooks, t, body, len, want) == -1 ||
	    CRYPTO_memcmp(want, v1, 64) != 0) {
		hooks_bad(d, req, "evaluate", "bad_signature");
		hooks_text(req, 401, "Unauthorized", "unauthorized");
		goto out;
	}
	if (hooks_replayed(hooks, t, v1, now)) {
		hooks_bad(d, req, "evaluate", "replayed");
		hooks_text(req, 401, "Unauthorized", "unauthorized");
		goto out;
	}
	if (parse_evaluate(body, len, &o, &id, &sname) == -1) {
		hooks_bad(d, req, "evaluate", "bad_body");
		hooks_text(req, 400, "Bad Request", "want a JSON object");
		goto out;
	}
	for (i = 0; sname != NULL && i < REQ_SRC_MAX; i++)
		if (strcmp(sname, req_source_name((enum req_source)i)) == 0)
			src = (enum req_source)i;
	metrics_hook(d, "evaluate", "accepted");
	if (id != NULL)
		log_debug("hooks: evaluate request %.80s", id);
	if (src != REQ_SRC_MAX && d->poll[src].ad != NULL) {
		metrics_nudge(d, d->poll[src].ad->name);
		poll_nudge(d, src);
	} else
		hooks_nudge_all(d);
	hooks_text(req, 202, "Accepted", "accepted");
out:
	json_object_put(o);
	free(body);
}

static void
hooks_graph(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;
	struct hooks_state *hooks = d->hooks;
	char *tok, *body = NULL;
	size_t len = 0, n, i;
	int toolarge;
	struct evbuffer *b;
	struct graph_notes *gn = NULL;

	tok = parse_validation_token(evhttp_request_get_uri(req), &n);
	if (tok != NULL) {
		/* Subscription handshake: echo the decoded token verbatim. */
		metrics_hook(d, "graph", "validation");
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
	if ((body = hooks_body(req, &len, &toolarge)) == NULL ||
	    (gn = malloc(sizeof(*gn))) == NULL) {
		hooks_bad(d, req, "graph", toolarge ? "too_large" : "error");
		if (toolarge)
			hooks_text(req, 413, "Payload Too Large", "too large");
		else
			hooks_text(req, 500, "Internal Server Error", "error");
		free(body);
		return;
	}
	/* Checked without any I/O, then answered 202 whatever the outcome. */
	switch (parse_graph_notes(
	    body, len, hooks->client_state, hooks->client_state_len, gn)) {
	case PARSE_NOTES_OK:
		break;
	case PARSE_NOTES_BAD_CLIENT_STATE:
		hooks_bad(d, req, "graph", "bad_client_state");
		goto out;
	default:
		hooks_bad(d, req, "graph", "bad_body");
		goto out;
	}
	for (i = 0; i < gn->nlife; i++) {
		log_info(
		    "hooks: graph lifecycle event %.64s", gn->life[i].event);
		if (gn->life[i].sub[0] != '\0')
			subs_lifecycle(d, gn->life[i].sub, gn->life[i].event);
		metrics_hook(d, "graph", "lifecycle");
	}
	if (gn->life_dropped > 0)
		log_warnx("hooks: %zu more lifecycle events in one body were "
		          "ignored",
		    gn->life_dropped);
	if (gn->missed)
		metrics_hook(d, "graph", "lifecycle");
	metrics_hook(d, "graph", "accepted");
	if (gn->missed) {
		log_info("hooks: graph notifications were missed; full resync");
		approvers_group_changed(d, NULL);
	} else if (gn->ngroups > PARSE_MAX_GROUPS)
		approvers_group_changed(d, NULL);
	else
		for (i = 0; i < gn->ngroups; i++)
			approvers_group_changed(d, gn->groups[i]);
	if (gn->missed || gn->changes)
		hooks_nudge_all(d);
out:
	hooks_text(req, 202, "Accepted", NULL);
	free(gn);
	/* the body carries the clientState */
	explicit_bzero(body, len);
	free(body);
}

/* Read the secret in `path` (none when NULL), without its final newline;
 * an empty or short one (< HOOK_MIN_SECRET bytes) is refused with `what`
 * in the message. */
static int
hooks_secret(
    const char *what, const char *path, char **out, size_t *len, char **err)
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
	if (n < HOOK_MIN_SECRET) {
		explicit_bzero(*out, n);
		free(*out);
		*out = NULL;
		if (asprintf(err,
		        "%s %s: the secret is %s (%zu bytes); it needs at "
		        "least "
		        "%d random bytes (e.g. openssl rand -hex 32)",
		        what, path, n == 0 ? "empty" : "too short", n,
		        HOOK_MIN_SECRET) == -1)
			*err = NULL;
		return -1;
	}
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

	if (hooks_secret(what, path, &s, &n, &err) == -1) {
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
	struct hooks_state *hooks = d->hooks;

	if (hooks == NULL)
		return;
	if (hooks_swap("http.hook_secret_file", d->settings->hook_secret_file,
	        &hooks->secret, &hooks->secret_len) == 1)
		log_info("reload: new webhook secret in force");
	if (hooks_swap("http.graph_client_state_file",
	        d->settings->graph_client_state_file, &hooks->client_state,
	        &hooks->client_state_len) == 1) {
		hooks->client_state_gen++;
		log_info("reload: new Graph clientState in force");
	}
}

/* The clientState subscriptions carry (NULL: none), and its generation. */
const char *
hooks_client_state(struct daemon *d)
{
	return d->hooks != NULL ? d->hooks->client_state : NULL;
}

unsigned
hooks_client_state_gen(struct daemon *d)
{
	return d->hooks != NULL ? d->hooks->client_state_gen : 0;
}

/* Read the hook secrets and route the hooks on the daemon's listener. */
int
hooks_register(struct daemon *d, char **err)
{
	struct hooks_state *hooks;

	hooks_free(d);
	if ((hooks = d->hooks = calloc(1, sizeof(*hooks))) == NULL) {
		if (asprintf(err, "hooks: out of memory") == -1)
			*err = NULL;
		return -1;
	}
	if (hooks_secret("http.hook_secret_file", d->settings->hook_secret_file,
	        &hooks->secret, &hooks->secret_len, err) == -1 ||
	    hooks_secret("http.graph_client_state_file",
	        d->settings->graph_client_state_file, &hooks->client_state,
	        &hooks->client_state_len, err) == -1)
		return -1;
	if (httpd_route(d, "/v1/hooks/evaluate", EVHTTP_REQ_POST, 1,
	        hooks_evaluate, d) == -1 ||
	    httpd_route(d, "/v1/hooks/graph", EVHTTP_REQ_POST, 1, hooks_graph,
	        d) == -1) {
		if (asprintf(err, "http: too many routes") == -1)
			*err = NULL;
		return -1;
	}
	return 0;
}

/* `approvald --check`: the webhook secrets in settings `s` can be read and
 * are long enough; 0, or -1 with the reason in *err (heap). */
int
hooks_check(const struct settings *s, char **err)
{
	char *v = NULL;
	size_t n = 0;

	if (hooks_secret("http.hook_secret_file", s->hook_secret_file, &v, &n,
	        err) == -1)
		return -1;
	hooks_wipe(&v, &n);
	if (hooks_secret("http.graph_client_state_file",
	        s->graph_client_state_file, &v, &n, err) == -1)
		return -1;
	hooks_wipe(&v, &n);
	return 0;
}

void
hooks_free(struct daemon *d)
{
	struct hooks_state *hooks = d->hooks;

	if (hooks == NULL)
		return;
	hooks_wipe(&hooks->secret, &hooks->secret_len);
	hooks_wipe(&hooks->client_state, &hooks->client_state_len);
	free(hooks);
	d->hooks = NULL;
}
