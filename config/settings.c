/*
 * approvald.yaml: a table of dotted key paths drives parsing, defaults,
 * validation and the dump. Secret files are only named here, never read
 * (the daemon reads them with cfg_read_secret()).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

enum stype {
	S_STR,
	S_URL,
	S_PATH,
	S_DUR,
	S_AGE,    /* a duration of 0 .. MEMBERSHIP_MAX_AGE_S */
	S_RETAIN, /* a duration of at least RETAIN_MIN_S; unset: forever */
	S_UINT,
	S_BYTES,
	S_BOOL,
	S_LISTEN,
	S_LOGLEVEL,
	S_LOGFMT
};

struct sfield {
	const char *path;
	enum stype type;
	size_t off;
	const char *def; /* default (string form) or NULL */
};

/* A membership answer is never reused longer than this at decision time
 * (decisions.membership_max_age). */
#define MEMBERSHIP_MAX_AGE_S 300
/* Settled requests are kept at least a day (retention.settled). */
#define RETAIN_MIN_S    86400
#define OPERATOR_MAX_AS 64 /* principals per operators entry */
#define OPERATORS_MAX   256

#define F(p, t, m, d)                                                          \
	{                                                                      \
		p, t, offsetof(struct settings, m), d                          \
	}

static const struct sfield fields[] = {
	F("graph.url", S_URL, graph_url, "https://graph.microsoft.com"),
	F("graph.login_url", S_URL, login_url,
	    "https://login.microsoftonline.com"),
	F("graph.tenant", S_STR, tenant, NULL),
	F("graph.client_id", S_STR, client_id, NULL),
	F("graph.client_secret_file", S_PATH, client_secret_file, NULL),
	F("graph.client_certificate_file", S_PATH, client_cert_file, NULL),
	F("graph.client_key_file", S_PATH, client_key_file, NULL),
	F("graph.approver_token_file", S_PATH, approver_token_file, NULL),
	F("graph.approver_client_id", S_STR, approver_client_id, NULL),
	F("graph.assertion_alg", S_STR, assertion_alg, "PS256"),
	F("graph.ca_file", S_PATH, ca_file, NULL),
	F("graph.timeout", S_DUR, graph_timeout, "PT30S"),
	F("graph.max_inflight", S_UINT, max_inflight, "16"),
	/* Permissions Management was retired by Microsoft on 2025-10-01
	 * (entra-docs: docs/permissions-management/
	 * how-to-offboard-permissions-management.md): off unless asked for
	 * (the demo and the emulator still speak it). */
	F("sources.permissions.enabled", S_BOOL,
	    source_enabled[REQ_SRC_PERMISSIONS], "false"),
	F("sources.permissions.poll_interval", S_DUR,
	    poll_interval[REQ_SRC_PERMISSIONS], "PT30S"),
	F("sources.group.enabled", S_BOOL, source_enabled[REQ_SRC_GROUP],
	    "false"),
	F("sources.group.poll_interval", S_DUR, poll_interval[REQ_SRC_GROUP],
	    "PT30S"),
	F("sources.access-package.enabled", S_BOOL,
	    source_enabled[REQ_SRC_ACCESS_PACKAGE], "false"),
	F("sources.access-package.poll_interval", S_DUR,
	    poll_interval[REQ_SRC_ACCESS_PACKAGE], "PT1M"),
	F("sources.overlap", S_DUR, poll_overlap, "PT2M"),
	F("policy", S_PATH, policy_path, "policy.yaml"),
	F("state", S_PATH, state_path, "/var/lib/approvald/state.db"),
	F("control_socket", S_PATH, control_socket,
	    "/run/approvald/control.sock"),
	F("http.listen", S_LISTEN, listen, NULL),
	F("http.hook_secret_file", S_PATH, hook_secret_file, NULL),
	F("http.graph_client_state_file", S_PATH, graph_client_state_file,
	    NULL),
	F("http.max_connections", S_UINT, http_max_conns, "256"),
	F("http.max_connections_per_peer", S_UINT, http_max_peer_conns, "16"),
	F("http.timeout", S_DUR, http_timeout, "PT10S"),
	F("http.max_header_bytes", S_BYTES, http_max_header, "8192"),
	F("http.max_body_bytes", S_BYTES, http_max_body, "262144"),
	F("http.rate_limit", S_UINT, http_rate, "20"),
	F("http.rate_burst", S_UINT, http_burst, "40"),
	F("http.notification_url", S_URL, notification_url, NULL),
	F("http.subscription_lifetime", S_DUR, subscription_lifetime, "P2D"),
	F("decision_links.base_url", S_URL, decision_base_url, NULL),
	F("decision_links.secret_file", S_PATH, decision_secret_file, NULL),
	F("decision_links.ttl", S_DUR, decision_link_ttl, "P1D"),
	F("decisions.membership_max_age", S_AGE, membership_max_age, "PT1M"),
	/* no default: settled requests are kept forever */
	F("retention.settled", S_RETAIN, retention_settled, NULL),
	F("log.level", S_LOGLEVEL, log_level, "info"),
	F("log.format", S_LOGFMT, log_format, "text"),
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Names of notification events, in enum sm_notify_kind order. */
static const char *const notify_events[] = { "pending", "reminder", "escalated",
	"approved", "rejected", "timed_out", "canceled", "attention" };
#define NEVENTS (sizeof(notify_events) / sizeof(notify_events[0]))

static const char *const log_levels[] = { "error", "warn", "info", "debug" };
static const char *const log_formats[] = { "text", "json" };
static const char *const notify_formats[] = { "json", "slack", "teams" };

struct sctx {
	struct yctx y;
	struct settings *s;
	char *dir;
	unsigned char seen[NFIELDS];
};

/* 1 when `s` is a GUID in its 8-4-4-4-12 hex form. */
static int
settings_is_guid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23
		        ? s[i] != '-'
		        : !isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* graph.approver_client_id: the application (client) id, a GUID, of the
 * public client the approver signs in to (device code flow,
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code;
 * public vs confidential:
 * https://learn.microsoft.com/entra/identity-platform/msal-client-applications).
 * graph.assertion_alg: PS256 (with x5t#S256) or RS256 (with x5t),
 * https://learn.microsoft.com/entra/identity-platform/certificate-credentials.
 */
static void
settings_check_identity(
    const struct settings *s, const char *path, struct cfg_diags *diags)
{
	if (s->approver_client_id != NULL &&
	    !settings_is_guid(s->approver_client_id))
		cfg_diag_add(diags, CFG_ERROR, path, 1, 1,
		    "`graph.approver_client_id` must be an application "
		    "(client) id, a GUID");
	if (s->approver_client_id == NULL && s->approver_token_file != NULL)
		cfg_diag_add(diags, CFG_WARNING, path, 1, 1,
		    "no `graph.approver_client_id`: the approver's refresh "
		    "token is redeemed as `graph.client_id` without a "
		    "credential, so that app must allow public client flows");
	if (s->assertion_alg != NULL &&
	    strcmp(s->assertion_alg, "PS256") != 0 &&
	    strcmp(s->assertion_alg, "RS256") != 0)
		cfg_diag_add(diags, CFG_ERROR, path, 1, 1,
		    "`graph.assertion_alg` must be PS256 or RS256");
}

void
settings_free(struct settings *s)
{
	size_t i, j;

	if (s == NULL)
		return;
	for (i = 0; i < NFIELDS; i++)
		if (fields[i].type == S_STR || fields[i].type == S_URL ||
		    fields[i].type == S_PATH || fields[i].type == S_LISTEN)
			free(*(char **)((char *)s + fields[i].off));
	for (i = 0; i < s->ntargets; i++) {
		free(s->targets[i].name);
		free(s->targets[i].url);
		free(s->targets[i].secret_file);
	}
	free(s->targets);
	for (i = 0; i < s->noperators; i++) {
		free(s->operators[i].unix_name);
		for (j = 0; j < s->operators[i].nas; j++)
			free(s->operators[i].as[j]);
		free(s->operators[i].as);
	}
	free(s->operators);
	free(s->path);
	free(s);
}

static int
is_loopback(const char *host)
{
	unsigned char a[16];

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) == 1) {
		static const unsigned char one[16] = { [15] = 1 };

		return memcmp(a, one, 16) == 0;
	}
	return 0;
}

/* https://host[:port][/path], or http:// to a loopback host only. */
static int
check_url(struct sctx *c, const struct ynode *n, const char *u)
{
	char host[256];
	const char *h, *e;
	int https;

	if (strncasecmp(u, "https://", 8) == 0)
		https = 1, h = u + 8;
	else if (strncasecmp(u, "http://", 7) == 0)
		https = 0, h = u + 7;
	else {
		yerr(&c->y, n, "`%s` is not an http(s) URL", u);
		return -1;
	}
	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL)
			goto bad;
		h++;
	} else {
		e = h + strcspn(h, ":/?#");
	}
	if (e == h || (size_t)(e - h) >= sizeof(host) || strchr(u, '@'))
		goto bad;
	memcpy(host, h, (size_t)(e - h));
	host[e - h] = '\0';
	if (!https && !is_loopback(host)) {
		yerr(&c->y, n,
		    "`%s`: plain http is only allowed to a loopback host "
		    "(tokens must never travel in clear); use https",
		    u);
		return -1;
	}
	return 0;
bad:
	yerr(&c->y, n, "bad URL `%s`", u);
	return -1;
}

static int
pick(struct sctx *c, const struct ynode *n, const char *const *names, size_t nn,
    const char *what)
{
	size_t i;
	const char *sug;

	for (i = 0; i < nn; i++)
		if (strcmp(names[i], n->str) == 0)
			return (int)i;
	sug = ysuggest(n->str, names, nn);
	if (sug)
		yerr(&c->y, n, "unknown %s `%s`; did you mean `%s`?", what,
		    n->str, sug);
	else
		yerr(&c->y, n, "unknown %s `%s`", what, n->str);
	return -1;
}

static char *
resolve(struct sctx *c, const char *p)
{
	if (p[0] == '/' || c->dir == NULL)
		return strdup(p);
	return cfg_asprintf("%s/%s", c->dir, p);
}

/* Parse a scalar (YAML node or default string) into field f. */
static int
set_field(struct sctx *c, const struct sfield *f, const struct ynode *n,
    const char *str)
{
	void *dst = (char *)c->s + f->off;
	struct ynode tmp = { .type = YN_SCALAR, .plain = 1 };
	long long ll;
	int b, k;
	int64_t d;

	if (n == NULL) {
		tmp.str = (char *)str;
		n = &tmp;
	}
	if (n->type != YN_SCALAR) {
		yerr(&c->y, n, "`%s` must be a scalar", f->path);
		return -1;
	}
	switch (f->type) {
	case S_URL:
		if (check_url(c, n, n->str) < 0)
			return -1;
		/* fall through */
	case S_STR:
		if (n->str[0] == '\0') {
			yerr(&c->y, n, "`%s` must not be empty", f->path);
			return -1;
		}
		free(*(char **)dst);
		*(char **)dst = strdup(n->str);
		return 0;
	case S_PATH:
		if (n->str[0] == '\0') {
			yerr(&c->y, n, "`%s` must not be empty", f->path);
			return -1;
		}
		free(*(char **)dst);
		*(char **)dst = resolve(c, n->str);
		return 0;
	case S_LISTEN: {
		const char *colon = strrchr(n->str, ':');
		char *end;
		long port;

		if (colon == NULL || colon == n->str)
			goto badlisten;
		port = strtol(colon + 1, &end, 10);
		if (*end != '\0' || port < 0 || port > 65535)
			goto badlisten;
		free(*(char **)dst);
		*(char **)dst = strdup(n->str);
		return 0;
	badlisten:
		yerr(&c->y, n, "bad listen address `%s` (expected HOST:PORT)",
		    n->str);
		return -1;
	}
	case S_DUR:
		if (yget_dur(&c->y, n, &d) < 0)
			return -1;
		if (d <= 0) {
			yerr(
			    &c->y, n, "`%s` must be longer than zero", f->path);
			return -1;
		}
		*(int64_t *)dst = d;
		return 0;
	case S_AGE:
		if (yget_dur(&c->y, n, &d) < 0)
			return -1;
		if (d > MEMBERSHIP_MAX_AGE_S) {
			yerr(&c->y, n,
			    "`%s` must be at most PT%dM (0: always ask Graph)",
			    f->path, MEMBERSHIP_MAX_AGE_S / 60);
			return -1;
		}
		*(int64_t *)dst = d;
		return 0;
	case S_RETAIN:
		if (yget_dur(&c->y, n, &d) < 0)
			return -1;
		if (d < RETAIN_MIN_S) {
			yerr(&c->y, n,
			    "`%s` must be at least P1D (leave it out to keep "
			    "settled requests forever)",
			    f->path);
			return -1;
		}
		*(int64_t *)dst = d;
		return 0;
	case S_UINT:
		if (yget_int(&c->y, n, 1, 1024, &ll) < 0)
			return -1;
		*(unsigned *)dst = (unsigned)ll;
		return 0;
	case S_BYTES:
		/* The listener refuses headers beyond 64 KiB whatever this
		 * says (daemon/base/limits.h HTTP_HEADERS_HARD_MAX). */
		if (yget_int(&c->y, n, 1024,
		        strcmp(f->path, "http.max_header_bytes") == 0
		            ? 65536
		            : 16 * 1024 * 1024,
		        &ll) < 0)
			return -1;
		*(unsigned *)dst = (unsigned)ll;
		return 0;
	case S_BOOL:
		if (yget_bool(&c->y, n, &b) < 0)
			return -1;
		*(int *)dst = b;
		return 0;
	case S_LOGLEVEL:
		if ((k = pick(c, n, log_levels, 4, "log level")) < 0)
			return -1;
		*(int *)dst = k;
		return 0;
	case S_LOGFMT:
		if ((k = pick(c, n, log_formats, 2, "log format")) < 0)
			return -1;
		*(enum log_format *)dst = (enum log_format)k;
		return 0;
	}
	return -1;
}

static const struct ykey notify_keys[] = { { "name", YT_STR },
	{ "url", YT_STR }, { "format", YT_STR }, { "secret_file", YT_STR },
	{ "events", YT_SEQ }, { "links", YT_BOOL }, { NULL, YT_ANY } };

static int
load_notify(struct sctx *c, const struct ynode *n)
{
	const struct ykey *keys = notify_keys;
	size_t i, j;
	int errs = 0, k;

	if (n->type != YN_SEQ) {
		yerr(&c->y, n, "`notify` must be a list");
		return -1;
	}
	if (n->n > CFG_MAX_NOTIFY_TARGETS) {
		yerr(&c->y, n, "at most %d notify targets",
		    CFG_MAX_NOTIFY_TARGETS);
		return -1;
	}
	if ((c->s->targets = calloc(n->n + 1, sizeof(*c->s->targets))) == NULL)
		return -1;
	for (i = 0; i < n->n; i++) {
		const struct ynode *e = n->v[i], *v;
		struct notify_target *t = &c->s->targets[c->s->ntargets];

		if (ycheck_map(&c->y, e, keys)) {
			errs++;
			continue;
		}
		c->s->ntargets++;
		t->events = (1u << NEVENTS) - 1;
		if ((v = ymap_get(e, "name")) == NULL) {
			yerr(&c->y, e, "notify target needs a `name`");
			errs++;
		} else {
			t->name = strdup(v->str);
			for (j = 0; j + 1 < c->s->ntargets; j++)
				if (strcmp(c->s->targets[j].name, v->str) ==
				    0) {
					yerr(&c->y, v,
					    "duplicate notify target `%s`",
					    v->str);
					errs++;
				}
		}
		if ((v = ymap_get(e, "url")) == NULL) {
			yerr(&c->y, e, "notify target needs a `url`");
			errs++;
		} else if (check_url(c, v, v->str) < 0) {
			errs++;
		} else {
			t->url = strdup(v->str);
		}
		if ((v = ymap_get(e, "format")) != NULL) {
			if ((k = pick(c, v, notify_formats, 3, "format")) < 0)
				errs++;
			else
				t->format = (enum notify_format)k;
		}
		if ((v = ymap_get(e, "secret_file")) != NULL)
			t->secret_file = resolve(c, v->str);
		/* Generic JSON is always signed; chat webhooks carry their
		 * secret in the URL and have no signature to check. */
		if (t->format == NOTIFY_JSON && t->secret_file == NULL) {
			yerr(&c->y, e,
			    "notify target with format json needs a "
			    "`secret_file` (HMAC key of its signature)");
			errs++;
		} else if (t->format != NOTIFY_JSON && v != NULL) {
			yerr(&c->y, v,
			    "`secret_file` is only used by format json");
			errs++;
		}
		/* Chat channels are shared: no personal links unless asked. */
		t->links = t->format == NOTIFY_JSON;
		if ((v = ymap_get(e, "links")) != NULL &&
		    yget_bool(&c->y, v, &t->links) < 0)
			errs++;
		if ((v = ymap_get(e, "events")) != NULL) {
			t->events = 0;
			for (j = 0; j < v->n; j++) {
				if (v->v[j]->type != YN_SCALAR ||
				    (k = pick(c, v->v[j], notify_events,
				         NEVENTS, "event")) < 0) {
					errs++;
					continue;
				}
				t->events |= 1u << k;
			}
		}
	}
	return errs ? -1 : 0;
}

/* A Unix user name as useradd(8) accepts it (without the trailing '$'
 * of Samba machine accounts). */
static int
operator_user_ok(const char *u)
{
	const char *p;

	if (*u == '\0' || strlen(u) > 32 ||
	    !(islower((unsigned char)*u) || *u == '_'))
		return 0;
	for (p = u; *p; p++)
		if (!islower((unsigned char)*p) &&
		    !isdigit((unsigned char)*p) && *p != '_' && *p != '-' &&
		    *p != '.')
			return 0;
	return 1;
}

/* A principal to decide as: "*", a UPN or an object id (a GUID). */
static int
operator_as_ok(const char *a)
{
	const char *p;
	size_t i;

	if (strcmp(a, "*") == 0)
		return 1;
	if (strlen(a) >= 256)
		return 0;
	for (p = a; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return 0;
	if ((p = strchr(a, '@')) != NULL)
		return p != a && p[1] != '\0' && strchr(p + 1, '@') == NULL;
	if (strlen(a) != 36)
		return 0;
	for (i = 0; i < 36; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23)
		        ? a[i] != '-'
		        : !isxdigit((unsigned char)a[i]))
			return 0;
	return 1;
}

/*
 * operators:
 *   - { unix: alice, as: [alice@contoso.com] }
 *   - { unix: "1001", as: bob@contoso.com }
 * Who may decide as whom over the control socket.
 */
static const struct ykey operator_keys[] = { { "unix", YT_STR },
	{ "as", YT_STR_OR_SEQ }, { NULL, YT_ANY } };

static int
load_operators(struct sctx *c, const struct ynode *n)
{
	const struct ykey *keys = operator_keys;
	size_t i, j;
	int errs = 0;

	if (n->type != YN_SEQ) {
		yerr(&c->y, n,
		    "`operators` must be a list of { unix: USER|UID, as: "
		    "[PRINCIPAL, ...] }");
		return -1;
	}
	if (n->n > OPERATORS_MAX) {
		yerr(&c->y, n, "at most %d operators entries", OPERATORS_MAX);
		return -1;
	}
	if ((c->s->operators = calloc(n->n + 1, sizeof(*c->s->operators))) ==
	    NULL)
		return -1;
	for (i = 0; i < n->n; i++) {
		const struct ynode *e = n->v[i], *u, *a;
		struct operator_entry *o = &c->s->operators[c->s->noperators];
		const char *p;

		if (ycheck_map(&c->y, e, keys)) {
			errs++;
			continue;
		}
		u = ymap_get(e, "unix");
		a = ymap_get(e, "as");
		if (u == NULL || a == NULL) {
			yerr(&c->y, e, "operators entry needs `%s`",
			    u == NULL ? "unix" : "as");
			errs++;
			continue;
		}
		c->s->noperators++;
		o->uid = -1;
		for (p = u->str; isdigit((unsigned char)*p); p++)
			;
		if (*p == '\0' && p != u->str) {
			if (strlen(u->str) > 10 ||
			    strtoull(u->str, NULL, 10) >= 4294967295ULL) {
				yerr(&c->y, u, "uid `%s` is out of range",
				    u->str);
				errs++;
				continue;
			}
			o->uid = (long)strtoul(u->str, NULL, 10);
		} else if (!operator_user_ok(u->str)) {
			yerr(&c->y, u,
			    "`%s` is not a Unix user name or a numeric uid",
			    u->str);
			errs++;
			continue;
		} else
			o->unix_name = strdup(u->str);
		for (j = 0; j + 1 < c->s->noperators; j++) {
			const struct operator_entry *q = &c->s->operators[j];

			if ((o->unix_name != NULL && q->unix_name != NULL &&
			        strcmp(o->unix_name, q->unix_name) == 0) ||
			    (o->unix_name == NULL && q->unix_name == NULL &&
			        o->uid == q->uid)) {
				yerr(&c->y, u,
				    "duplicate operators entry for `%s`",
				    u->str);
				errs++;
			}
		}
		if (a->type == YN_SCALAR) {
			if ((o->as = calloc(1, sizeof(*o->as))) == NULL)
				return -1;
			if (!operator_as_ok(a->str)) {
				yerr(&c->y, a,
				    "`%s` is not a UPN, an object id or \"*\"",
				    a->str);
				errs++;
				continue;
			}
			o->as[o->nas++] = strdup(a->str);
			continue;
		}
		if (a->n == 0 || a->n > OPERATOR_MAX_AS) {
			yerr(&c->y, a,
			    "`as` must name 1 to %d principals (or \"*\")",
			    OPERATOR_MAX_AS);
			errs++;
			continue;
		}
		if ((o->as = calloc(a->n, sizeof(*o->as))) == NULL)
			return -1;
		for (j = 0; j < a->n; j++) {
			const struct ynode *x = a->v[j];

			if (x->type != YN_SCALAR) {
				yerr(&c->y, x, "`as` entries must be strings");
				errs++;
				continue;
			}
			if (!operator_as_ok(x->str)) {
				yerr(&c->y, x,
				    "`%s` is not a UPN, an object id or \"*\"",
				    x->str);
				errs++;
				continue;
			}
			o->as[o->nas++] = strdup(x->str);
		}
	}
	return errs ? -1 : 0;
}

int
settings_operator_may(const struct settings *s, unsigned long uid,
    const char *user, const char *const *names, size_t nnames)
{
	size_t i, j, k;
	int entry = 0;

	for (i = 0; i < s->noperators; i++) {
		const struct operator_entry *o = &s->operators[i];

		if (o->unix_name != NULL
		        ? user == NULL || strcmp(o->unix_name, user) != 0
		        : (unsigned long)o->uid != uid)
			continue;
		entry = 1;
		for (j = 0; j < o->nas; j++) {
			if (strcmp(o->as[j], "*") == 0)
				return 1;
			for (k = 0; k < nnames; k++)
				if (names[k] != NULL && names[k][0] != '\0' &&
				    strcasecmp(o->as[j], names[k]) == 0)
					return 1;
		}
	}
	return entry ? 0 : -1;
}

/* Walk a mapping whose keys are the next segment of field paths. */
static void
walk(struct sctx *c, const struct ynode *map, const char *prefix)
{
	const char *names[64];
	size_t nn = 0, plen = strlen(prefix), i, j;

	if (map->type != YN_MAP) {
		yerr(&c->y, map, "`%s` must be a mapping", prefix);
		return;
	}
	for (j = 0; j < NFIELDS; j++) {
		const char *rest = fields[j].path + plen, *dot;
		size_t k;

		if (strncmp(fields[j].path, prefix, plen) != 0)
			continue;
		if (plen && *rest++ != '.')
			continue;
		dot = strchr(rest, '.');
		for (k = 0; k < nn; k++)
			if (strncmp(names[k], rest,
			        dot ? (size_t)(dot - rest) : strlen(rest)) == 0)
				break;
		if (k == nn && nn < 64)
			names[nn++] = rest;
	}
	for (i = 0; i < map->n; i++) {
		const struct ynode *k = map->v[2 * i], *v = map->v[2 * i + 1];
		char full[256];
		int sub = 0;

		snprintf(full, sizeof(full), "%s%s%s", prefix, plen ? "." : "",
		    k->str);
		if (plen == 0 && strcmp(k->str, "notify") == 0) {
			load_notify(c, v);
			continue;
		}
		if (plen == 0 && strcmp(k->str, "operators") == 0) {
			load_operators(c, v);
			continue;
		}
		for (j = 0; j < NFIELDS; j++) {
			size_t fl = strlen(full);

			if (strcmp(fields[j].path, full) == 0)
				break;
			if (strncmp(fields[j].path, full, fl) == 0 &&
			    fields[j].path[fl] == '.')
				sub = 1;
		}
		if (j < NFIELDS) {
			c->seen[j] = 1;
			set_field(c, &fields[j], v, NULL);
		} else if (sub) {
			walk(c, v, full);
		} else {
			char cand[64][64];
			const char *cp[65];
			size_t m;

			for (m = 0; m < nn; m++) {
				size_t l = strcspn(names[m], ".");

				if (l >= 64)
					l = 63;
				memcpy(cand[m], names[m], l);
				cand[m][l] = '\0';
				cp[m] = cand[m];
			}
			if (plen == 0) {
				cp[m++] = "notify";
				cp[m++] = "operators";
			}
			{
				const char *s = ysuggest(k->str, cp, m);

				if (s)
					yerr(&c->y, k,
					    "unknown key `%s`; did you mean "
					    "`%s`?",
					    full, s);
				else
					yerr(
					    &c->y, k, "unknown key `%s`", full);
			}
		}
	}
}

int
settings_load_file(
    const char *path, struct settings **out, struct cfg_diags *diags)
{
	struct cfg_diags local = { 0 };
	struct sctx c;
	struct ydoc doc = { 0 };
	char *buf = NULL, *pc = NULL;
	size_t len, j, nerr0, n0;
	struct settings *s;

	*out = NULL;
	if (diags == NULL)
		diags = &local;
	nerr0 = diags->nerrors;
	n0 = diags->n;
	memset(&c, 0, sizeof(c));
	c.y.file = path;
	c.y.diags = diags;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	c.s = s;
	s->path = strdup(path);
	if ((pc = strdup(path)) != NULL)
		c.dir = dirname(pc);
	if (cfg_read_file(path, &buf, &len, diags) < 0 ||
	    ydoc_load(&doc, path, buf, len, diags) < 0)
		goto fail;
	if (doc.root == NULL || doc.root->type != YN_MAP) {
		cfg_diag_add(
		    diags, CFG_ERROR, path, 1, 1, "settings must be a mapping");
		goto fail;
	}
	walk(&c, doc.root, "");
	for (j = 0; j < NFIELDS; j++)
		if (!c.seen[j] && fields[j].def)
			set_field(&c, &fields[j], NULL, fields[j].def);
	if (s->tenant == NULL)
		cfg_diag_add(
		    diags, CFG_ERROR, path, 1, 1, "missing `graph.tenant`");
	if (s->client_id == NULL)
		cfg_diag_add(
		    diags, CFG_ERROR, path, 1, 1, "missing `graph.client_id`");
	if (s->client_secret_file == NULL &&
	    (s->client_cert_file == NULL || s->client_key_file == NULL))
		cfg_diag_add(diags, CFG_ERROR, path, 1, 1,
		    "need `graph.client_secret_file` or both "
		    "`graph.client_certificate_file` and "
		    "`graph.client_key_file`");
	if ((s->client_cert_file == NULL) != (s->client_key_file == NULL))
		cfg_diag_add(diags, CFG_ERROR, path, 1, 1,
		    "`graph.client_certificate_file` and "
		    "`graph.client_key_file` go together");
	if (s->approver_token_file == NULL)
		cfg_diag_add(diags, CFG_WARNING, path, 1, 1,
		    "no `graph.approver_token_file`: approve/deny calls "
		    "need a delegated token and will fail");
	settings_check_identity(s, path, diags);
	if (s->decision_base_url && !s->decision_secret_file)
		cfg_diag_add(diags, CFG_ERROR, path, 1, 1,
		    "`decision_links.base_url` needs "
		    "`decision_links.secret_file`");
	if (s->decision_secret_file && !s->decision_base_url)
		cfg_diag_add(diags, CFG_WARNING, path, 1, 1,
		    "`decision_links.secret_file` without "
		    "`decision_links.base_url`: no decision links are sent");
	if (s->listen && !s->hook_secret_file)
		cfg_diag_add(diags, CFG_WARNING, path, 1, 1,
		    "`http.listen` without `http.hook_secret_file`: signed "
		    "webhooks are refused");
	if (s->notification_url && (!s->listen || !s->graph_client_state_file))
		cfg_diag_add(diags, CFG_ERROR, path, 1, 1,
		    "`http.notification_url` needs `http.listen` and "
		    "`http.graph_client_state_file` (the subscriptions' "
		    "clientState)");
	cfg_diags_sort(diags, n0);
	if (diags->nerrors != nerr0)
		goto fail;
	ydoc_free(&doc);
	free(buf);
	free(pc);
	cfg_diags_free(&local);
	*out = s;
	return 0;
fail:
	ydoc_free(&doc);
	free(buf);
	free(pc);
	settings_free(s);
	cfg_diags_free(&local);
	return -1;
}

/* Normalized dump of the settings (names of secret files, never secrets). */
char *
settings_dump(const struct settings *s)
{
	struct sbuf b = { 0 };
	size_t i, j;
	char d[64];

	if (s == NULL)
		return NULL;
	for (i = 0; i < NFIELDS; i++) {
		const void *v = (const char *)s + fields[i].off;

		sb_printf(&b, "%s: ", fields[i].path);
		switch (fields[i].type) {
		case S_STR:
		case S_URL:
		case S_PATH:
		case S_LISTEN:
			if (*(char *const *)v)
				sb_yaml_str(&b, *(char *const *)v);
			else
				sb_add(&b, "null");
			break;
		case S_DUR:
		case S_AGE:
			cfg_format_duration(*(const int64_t *)v, d, sizeof(d));
			sb_add(&b, d);
			break;
		case S_RETAIN:
			if (*(const int64_t *)v <= 0) {
				sb_add(&b, "null");
				break;
			}
			cfg_format_duration(*(const int64_t *)v, d, sizeof(d));
			sb_add(&b, d);
			break;
		case S_UINT:
		case S_BYTES:
			sb_printf(&b, "%u", *(const unsigned *)v);
			break;
		case S_BOOL:
			sb_add(&b, *(const int *)v ? "true" : "false");
			break;
		case S_LOGLEVEL:
			sb_add(&b, log_levels[*(const int *)v & 3]);
			break;
		case S_LOGFMT:
			sb_add(&b, log_formats[*(const int *)v & 1]);
			break;
		}
		sb_add(&b, "\n");
	}
	sb_add(&b, s->ntargets ? "notify:\n" : "notify: []\n");
	for (i = 0; i < s->ntargets; i++) {
		const struct notify_target *t = &s->targets[i];

		sb_add(&b, "  - name: ");
		sb_yaml_str(&b, t->name ? t->name : "");
		sb_add(&b, "\n    url: ");
		sb_yaml_str(&b, t->url ? t->url : "");
		sb_printf(&b, "\n    format: %s\n    secret_file: ",
		    notify_formats[t->format]);
		if (t->secret_file)
			sb_yaml_str(&b, t->secret_file);
		else
			sb_add(&b, "null");
		sb_printf(&b, "\n    links: %s", t->links ? "true" : "false");
		sb_add(&b, "\n    events: [");
		for (j = 0; j < NEVENTS; j++)
			if (t->events & (1u << j))
				sb_printf(&b, "%s%s",
				    (t->events & ((1u << j) - 1)) ? ", " : "",
				    notify_events[j]);
		sb_add(&b, "]\n");
	}
	sb_add(&b, s->noperators ? "operators:\n" : "operators: []\n");
	for (i = 0; i < s->noperators; i++) {
		const struct operator_entry *o = &s->operators[i];

		sb_add(&b, "  - unix: ");
		if (o->unix_name != NULL)
			sb_yaml_str(&b, o->unix_name);
		else
			sb_printf(&b, "\"%ld\"", o->uid);
		sb_add(&b, "\n    as: [");
		for (j = 0; j < o->nas; j++) {
			if (j > 0)
				sb_add(&b, ", ");
			sb_yaml_str(&b, o->as[j]);
		}
		sb_add(&b, "]\n");
	}
	return sb_finish(&b);
}

/* The manual's name for a settings value type. No default: a new type is
 * a compile error here until it has a name. */
static const char *
stype_name(enum stype t)
{
	switch (t) {
	case S_STR:
		return "string";
	case S_URL:
		return "URL";
	case S_PATH:
		return "path";
	case S_DUR:
		return "ISO-8601 duration";
	case S_AGE:
		return "ISO-8601 duration, PT0S to PT5M";
	case S_RETAIN:
		return "ISO-8601 duration, at least P1D";
	case S_UINT:
		return "integer, 1 to 1024";
	case S_BYTES:
		return "bytes";
	case S_BOOL:
		return "boolean";
	case S_LISTEN:
		return "HOST:PORT";
	case S_LOGLEVEL:
		return "error | warn | info | debug";
	case S_LOGFMT:
		return "text | json";
	}
	return "value";
}

/* A list-of-mappings section (notify, operators) and its item keys. */
static const struct {
	const char *name;
	const struct ykey *keys;
} list_sections[] = {
	{ "notify", notify_keys },
	{ "operators", operator_keys },
};

int
settings_key_at(size_t i, struct cfg_key *out)
{
	static char paths[64][64];
	size_t s, k;

	if (i < NFIELDS) {
		out->path = fields[i].path;
		out->type = stype_name(fields[i].type);
		out->def = fields[i].def;
		return 1;
	}
	i -= NFIELDS;
	for (s = 0; s < sizeof(list_sections) / sizeof(list_sections[0]); s++) {
		if (i == 0) {
			out->path = list_sections[s].name;
			out->type = "list of mappings";
			out->def = "[]";
			return 1;
		}
		i--;
		for (k = 0; list_sections[s].keys[k].name != NULL; k++, i--)
			if (i == 0 && s * 16 + k < 64) {
				snprintf(paths[s * 16 + k], sizeof(paths[0]),
				    "%s[].%s", list_sections[s].name,
				    list_sections[s].keys[k].name);
				out->path = paths[s * 16 + k];
				out->type =
				    ytype_name(list_sections[s].keys[k].type);
				out->def = NULL;
				return 1;
			}
	}
	return 0;
}
