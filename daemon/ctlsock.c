/*
 * Control socket for approvalctl: a unix stream socket (mode 0660: who may
 * use it is decided by the file's owner and group). One request line in,
 * one JSON document out, then the connection closes.
 *   status | list [STATE] | show KEY | reload   (anyone who can connect)
 *   retry KEY | retry --all                      (anyone who can connect;
 *                                                 audited with the uid)
 *   decide ...                                  (see approvers.c)
 * The peer's uid, gid and pid are read with SO_PEERCRED when the
 * connection is accepted: `decide` is only accepted as a principal the
 * peer's `operators` entry names, and the audit records the uid.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <json-c/json.h>

#include "ident.h"
#include "limits.h"
#include "links.h"
#include "listen.h"
#include "log.h"
#include "token.h"
#include "version.h"

/* One connection: its peer, and whether a reply is still to come. */
struct ctl_conn {
	struct daemon *d;
	struct bufferevent *bev;
	struct ctl_peer peer;
	int waiting;
};

static struct json_object *
ctlsock_time(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[32];

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return NULL;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(buf);
}

static struct json_object *
ctlsock_request_json(const struct store_request *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "key", json_object_new_string(r->key));
	json_object_object_add(
	    o, "source", json_object_new_string(req_source_name(r->source)));
	json_object_object_add(o, "id", json_object_new_string(r->gid));
	json_object_object_add(
	    o, "state", json_object_new_string(sm_state_name(r->sm.state)));
	if (r->sm.nstages > 0)
		json_object_object_add(
		    o, "stage", json_object_new_int((int)r->sm.stage + 1));
	json_object_object_add(o, "graph_status",
	    r->graph_status ? json_object_new_string(r->graph_status) : NULL);
	json_object_object_add(
	    o, "rule", r->rule ? json_object_new_string(r->rule) : NULL);
	json_object_object_add(o, "verdict",
	    r->verdict ? json_object_new_string(r->verdict) : NULL);
	json_object_object_add(
	    o, "reason", r->reason ? json_object_new_string(r->reason) : NULL);
	json_object_object_add(o, "requestor",
	    json_object_new_string(r->sm.requestor.upn[0]
	                               ? r->sm.requestor.upn
	                               : r->sm.requestor.id));
	json_object_object_add(o, "created", ctlsock_time(r->created));
	json_object_object_add(o, "updated", ctlsock_time(r->updated));
	return o;
}

static int
ctlsock_list_one(void *arg, const struct store_request *r)
{
	json_object_array_add(arg, ctlsock_request_json(r));
	return 0;
}

static int
ctlsock_journal_one(void *arg, const struct store_journal *j)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "seq", json_object_new_int64(j->seq));
	json_object_object_add(o, "at", ctlsock_time(j->at));
	json_object_object_add(o, "from", json_object_new_string(j->from));
	json_object_object_add(o, "to", json_object_new_string(j->to));
	json_object_object_add(o, "event", json_object_new_string(j->event));
	json_object_object_add(
	    o, "rule", j->rule ? json_object_new_string(j->rule) : NULL);
	json_object_object_add(
	    o, "detail", j->detail ? json_object_new_string(j->detail) : NULL);
	json_object_array_add(arg, o);
	return 0;
}

static int
ctlsock_count_one(void *arg, const char *state, int64_t n)
{
	json_object_object_add(arg, state, json_object_new_int64(n));
	return 0;
}

static struct json_object *
ctlsock_status(struct daemon *d)
{
	struct json_object *o = json_object_new_object(), *st;
	struct graph_stats gs;
	struct store_health h;
	int i;

	json_object_object_add(
	    o, "version", json_object_new_string(APPROVALD_VERSION));
	json_object_object_add(o, "ready", json_object_new_boolean(d->ready));
	json_object_object_add(o, "started", ctlsock_time(d->started));
	json_object_object_add(o, "uptime_seconds",
	    json_object_new_int64(
	        d->started > 0 ? time(NULL) - d->started : 0));
	json_object_object_add(
	    o, "policy", json_object_new_string(d->settings->policy_path));
	json_object_object_add(o, "policy_sha256",
	    d->policy_sha256[0] ? json_object_new_string(d->policy_sha256)
	                        : NULL);
	json_object_object_add(
	    o, "policy_loaded", ctlsock_time(d->policy_loaded));
	json_object_object_add(o, "policy_rules",
	    json_object_new_int64((int64_t)policy_nrules(d->policy)));
	st = json_object_new_object();
	for (i = 0; i < REQ_SRC_MAX; i++)
		if (d->poll[i].ad != NULL)
			json_object_object_add(st, d->poll[i].ad->name,
			    ctlsock_time(d->poll[i].last_ok));
	json_object_object_add(o, "last_poll", st);
	st = json_object_new_object();
	for (i = 0; i < TOKEN_KIND_MAX && d->tokens != NULL; i++) {
		struct token_health th;
		struct json_object *c;

		token_health_get(d->tokens, (enum token_kind)i, &th);
		if (!th.configured)
			continue;
		c = json_object_new_object();
		json_object_object_add(
		    c, "up", json_object_new_boolean(!th.dead));
		if (th.dead) {
			json_object_object_add(
			    c, "since", ctlsock_time(th.since));
			json_object_object_add(
			    c, "reason", json_object_new_string(th.reason));
		}
		json_object_object_add(
		    st, i == TOKEN_APP ? "app" : "approver", c);
	}
	json_object_object_add(o, "credentials", st);
	st = json_object_new_object();
	store_request_count_by_state(d->store, ctlsock_count_one, st);
	json_object_object_add(o, "requests", st);
	if (store_health_get(d->store, &h) == 0) {
		json_object_object_add(
		    o, "attention", json_object_new_int64(h.attention));
		st = json_object_new_object();
		for (i = 0; i < REQ_SRC_MAX && i < STORE_HEALTH_SOURCES; i++)
			if (h.oldest_waiting[i] > 0)
				json_object_object_add(st,
				    req_source_name((enum req_source)i),
				    ctlsock_time(h.oldest_waiting[i]));
		json_object_object_add(o, "oldest_waiting", st);
		json_object_object_add(
		    o, "outbox_pending", json_object_new_int64(h.outbox));
	}
	json_object_object_add(
	    o, "decisions", json_object_new_int64((int64_t)d->decisions));
	json_object_object_add(
	    o, "transitions", json_object_new_int64((int64_t)d->transitions));
	json_object_object_add(o, "actions_in_flight",
	    json_object_new_int64((int64_t)exec_inflight(d)));
	graph_get_stats(d->graph, &gs);
	json_object_object_add(
	    o, "graph_calls", json_object_new_int64((int64_t)gs.calls));
	json_object_object_add(
	    o, "graph_throttled", json_object_new_int64((int64_t)gs.throttled));
	json_object_object_add(o, "token_refreshes",
	    json_object_new_int64((int64_t)token_refreshes(d->tokens)));
	return o;
}

static int
ctlsock_key_one(void *arg, const struct store_request *r)
{
	json_object_array_add(arg, json_object_new_string(r->key));
	return 0;
}

/*
 * retry KEY | retry --all: each request in attention carries out its
 * refused action again (or is decided again by the policy), recorded with
 * who asked; the answer comes after the commit, so "retried" is durable.
 */
static struct json_object *
ctlsock_retry(struct daemon *d, const struct ctl_peer *peer, const char *arg)
{
	struct json_object *o, *keys, *done, *skipped;
	struct passwd pw, *res = NULL;
	char buf[1024], who[160];
	size_t i, n;
	int rc, failed = 0;

	o = json_object_new_object();
	if (arg == NULL) {
		json_object_object_add(o, "error",
		    json_object_new_string("usage: retry KEY | retry --all"));
		return o;
	}
	if (getpwuid_r((uid_t)peer->uid, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL)
		snprintf(who, sizeof(who), "unix uid %ld (%.64s)", peer->uid,
		    pw.pw_name);
	else
		snprintf(who, sizeof(who), "unix uid %ld", peer->uid);
	keys = json_object_new_array();
	if (strcmp(arg, "--all") == 0) {
		if (store_request_each(
		        d->store, "attention", ctlsock_key_one, keys) == -1) {
			json_object_put(keys);
			json_object_object_add(o, "error",
			    json_object_new_string(store_errmsg(d->store)));
			return o;
		}
	} else
		json_object_array_add(keys, json_object_new_string(arg));
	done = json_object_new_array();
	skipped = json_object_new_array();
	n = json_object_array_length(keys);
	for (i = 0; i < n && !failed; i++) {
		const char *k =
		    json_object_get_string(json_object_array_get_idx(keys, i));

		rc = engine_retry(d, k, who);
		if (rc == 0)
			json_object_array_add(done, json_object_new_string(k));
		else if (rc == 1 || rc == 2) {
			struct json_object *x = json_object_new_object();

			json_object_object_add(
			    x, "key", json_object_new_string(k));
			json_object_object_add(x, "why",
			    json_object_new_string(rc == 1
			                               ? "not in attention"
			                               : "no such request"));
			json_object_array_add(skipped, x);
		} else {
			failed = 1;
			snprintf(buf, sizeof(buf),
			    "stopped at %.200s: %.200s; the rest is not "
			    "retried",
			    k, store_errmsg(d->store));
		}
	}
	json_object_put(keys);
	if (batch_commit(d) == -1) {
		json_object_put(done);
		json_object_put(skipped);
		json_object_object_add(o, "error",
		    json_object_new_string("not recorded: the retry could not "
		                           "be stored; retry"));
		return o;
	}
	json_object_object_add(o, "retried", done);
	json_object_object_add(o, "skipped", skipped);
	if (failed)
		json_object_object_add(o, "error", json_object_new_string(buf));
	return o;
}

static void ctlsock_reply(void *arg, struct json_object *o);

static struct json_object *
ctlsock_error(const char *what)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(what));
	return o;
}

static struct json_object *
cmd_status(struct ctl_conn *c, char *rest, int *deferred)
{
	return ctlsock_status(c->d);
}

static struct json_object *
cmd_list(struct ctl_conn *c, char *rest, int *deferred)
{
	struct json_object *arr = json_object_new_array();
	char *save = NULL, *state = strtok_r(rest, " \t", &save);

	store_request_each(c->d->store, state, ctlsock_list_one, arr);
	return arr;
}

static struct json_object *
cmd_show(struct ctl_conn *c, char *rest, int *deferred)
{
	struct daemon *d = c->d;
	struct json_object *o, *arr;
	struct store_request r;
	char *save = NULL, *key = strtok_r(rest, " \t", &save);

	if (key == NULL)
		return ctlsock_error("usage: show KEY");
	memset(&r, 0, sizeof(r));
	if (store_request_get(d->store, key, &r) != 0)
		return ctlsock_error("no such request");
	o = ctlsock_request_json(&r);
	json_object_object_add(o, "identity", ident_json(r.identity));
	/* What Graph said is what approvald last recorded: the time its
	 * source last completed a poll says how fresh that is. */
	json_object_object_add(o, "source_last_poll",
	    r.source >= 0 && r.source < REQ_SRC_MAX
	        ? ctlsock_time(d->poll[r.source].last_ok)
	        : NULL);
	json_object_object_add(o, "summary", summary_build(d, &r));
	if (r.sm.nstages > 0 && r.sm.stage < r.sm.nstages &&
	    (r.sm.state == SM_S_PENDING || r.sm.state == SM_S_ESCALATED))
		json_object_object_add(
		    o, "awaiting", summary_approvers(d, &r, r.sm.stage, 0));
	arr = json_object_new_array();
	store_journal_each(d->store, key, ctlsock_journal_one, arr);
	json_object_object_add(o, "timeline", arr);
	store_request_clear(&r);
	return o;
}

static struct json_object *
cmd_retry(struct ctl_conn *c, char *rest, int *deferred)
{
	char *save = NULL;

	return ctlsock_retry(c->d, &c->peer, strtok_r(rest, " \t", &save));
}

static struct json_object *
cmd_reload(struct ctl_conn *c, char *rest, int *deferred)
{
	struct json_object *o = json_object_new_object();
	char *why = NULL;
	int rc = daemon_reload(c->d, &why);

	json_object_object_add(o, "reloaded", json_object_new_boolean(rc == 0));
	if (rc != 0)
		json_object_object_add(o, "errors",
		    json_object_new_string(
		        why != NULL && why[0] ? why : "see approvald's log"));
	free(why);
	return o;
}

static struct json_object *
cmd_decide(struct ctl_conn *c, char *rest, int *deferred)
{
	return approvers_ctl_decide(
	    c->d, rest, &c->peer, ctlsock_reply, c, deferred);
}

static struct json_object *
cmd_approvers(struct ctl_conn *c, char *rest, int *deferred)
{
	return approvers_ctl_list(c->d, rest);
}

static struct json_object *
testclock_reply(const char *result, const char *why)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "result", json_object_new_string(result));
	if (why != NULL)
		json_object_object_add(o, "why", json_object_new_string(why));
	return o;
}

/* clock advance SECONDS (only in a test build, see testclock.c). */
static struct json_object *
testclock_ctl(struct daemon *d, char *rest)
{
	char *save = NULL, *verb, *n, *end = NULL;
	long long secs;
	struct json_object *o;

	if (!testclock_enabled())
		return testclock_reply("refused",
		    "the test clock is off (test builds only, when asked at "
		    "start)");
	verb = strtok_r(rest, " \t", &save);
	n = strtok_r(NULL, " \t", &save);
	if (verb != NULL && strcmp(verb, "advance") == 0 && n != NULL) {
		secs = strtoll(n, &end, 10);
		if (end == n || *end != '\0' || secs < 0 ||
		    secs > 10LL * 365 * 86400)
			return testclock_reply("refused", "bad SECONDS");
		testclock_advance(secs);
		log_info("test clock advanced by %llds (offset %lld)", secs,
		    (long long)testclock_offset);
		/* Re-arm every durable timer against the new time; run
		 * what waits for time (retries, pruning) now. */
		timers_load(d);
		approvers_prune(d);
		links_prune(d);
		notify_prune(d);
		retention_kick(d);
		notify_kick(d);
		subs_tick(d);
	} else if (verb != NULL && strcmp(verb, "show") != 0)
		return testclock_reply(
		    "refused", "usage: clock advance SECONDS");
	o = testclock_reply("ok", NULL);
	json_object_object_add(o, "now", json_object_new_int64(clock_now()));
	json_object_object_add(
	    o, "offset", json_object_new_int64(testclock_offset));
	return o;
}

static struct json_object *
cmd_clock(struct ctl_conn *c, char *rest, int *deferred)
{
	return testclock_ctl(c->d, rest);
}

/* Every control command, one table: `name` is the line's first word; the
 * rest of the line goes to `fn`, which answers now (a JSON document the
 * caller puts) or later through ctlsock_reply (NULL and *deferred set). */
static const struct ctl_cmd {
	const char *name;
	struct json_object *(*fn)(struct ctl_conn *, char *, int *);
} ctl_cmds[] = {
	{ "status", cmd_status }, { "list", cmd_list }, { "show", cmd_show },
	{ "retry", cmd_retry }, { "reload", cmd_reload },
	{ "decide", cmd_decide }, /* approvers.c: operators, eligibility */
	{ "approvers", cmd_approvers },
	{ "clock", cmd_clock }, /* testclock.c: test builds only */
};

/* Execute one command line; returns a JSON document (caller puts), or
 * NULL when the reply comes later through ctlsock_reply(). */
static struct json_object *
ctlsock_exec(struct ctl_conn *c, char *line)
{
	struct json_object *o;
	size_t i, n;
	int deferred = 0;

	while (*line == ' ' || *line == '\t')
		line++;
	n = strcspn(line, " \t");
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (strlen(ctl_cmds[i].name) == n &&
		    strncmp(ctl_cmds[i].name, line, n) == 0)
			break;
	if (i == sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))
		return ctlsock_error("unknown command");
	c->waiting = 1;
	o = ctl_cmds[i].fn(c, line + n, &deferred);
	/* A deferred reply may have come already. */
	if (o != NULL || !deferred)
		c->waiting = 0;
	/* o is a new JSON document, not &deferred (cppcheck assumes a
	 * returned pointer may be a passed address) */
	/* cppcheck-suppress returnDanglingLifetime */
	return o;
}

static void
ctlsock_conn_free(struct ctl_conn *c)
{
	bufferevent_free(c->bev);
	c->d->ctl_clients--;
	free(c);
}

static void
ctlsock_close_cb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		ctlsock_conn_free(arg);
}

static void
ctlsock_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if (c->waiting) {
			/* The reply still comes (and is dropped then). */
			bufferevent_disable(c->bev, EV_READ | EV_WRITE);
			bufferevent_setcb(c->bev, NULL, NULL, NULL, c);
			return;
		}
		ctlsock_conn_free(c);
	}
}

/* Send the reply (put here) and close once it is written. */
static void
ctlsock_reply(void *arg, struct json_object *o)
{
	struct ctl_conn *c = arg;
	struct bufferevent *bev = c->bev;
	const char *text;
	size_t len;

	c->waiting = 0;
	text = json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (c->d->stopping || bufferevent_get_enabled(bev) == 0 ||
	    bufferevent_write(bev, text, len) == -1 ||
	    bufferevent_write(bev, "\n", 1) == -1) {
		json_object_put(o);
		ctlsock_conn_free(c);
		return;
	}
	json_object_put(o);
	bufferevent_setcb(bev, NULL, ctlsock_close_cb, ctlsock_event_cb, c);
	bufferevent_enable(bev, EV_WRITE);
}

static void
ctlsock_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct json_object *o;
	char *line;
	size_t n;

	line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > CTL_MAX_LINE)
			ctlsock_conn_free(c);
		return;
	}
	/* One command a connection: read nothing more. */
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, NULL, ctlsock_event_cb, c);
	o = ctlsock_exec(c, line);
	free(line);
	if (o != NULL)
		ctlsock_reply(c, o);
}

static void
ctlsock_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct daemon *d = arg;
	struct bufferevent *bev;
	struct timeval tv = { 10, 0 };
	struct ctl_conn *c;
	struct ucred cred;
	socklen_t credlen = sizeof(cred);

	(void)l;
	(void)sa;
	(void)salen;
	if (d->ctl_clients >= CTL_MAX_CLIENTS) {
		close(fd);
		return;
	}
	/* Who is on the other end: without it, nothing is served. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == -1 ||
	    credlen != sizeof(cred)) {
		log_warn("control socket: SO_PEERCRED");
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		free(c);
		close(fd);
		return;
	}
	c->d = d;
	c->bev = bev;
	c->peer.uid = (long)cred.uid;
	c->peer.gid = (long)cred.gid;
	c->peer.pid = (long)cred.pid;
	d->ctl_clients++;
	bufferevent_setcb(bev, ctlsock_read_cb, NULL, ctlsock_event_cb, c);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ);
}

int
ctlsock_open(struct daemon *d, const char *path, char **err)
{
	struct sockaddr_un sun;
	mode_t old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		if (asprintf(err, "control socket path too long: %s", path) ==
		    -1)
			*err = NULL;
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (unlink(path) == -1 && errno != ENOENT) {
		if (asprintf(err, "%s: %s", path, strerror(errno)) == -1)
			*err = NULL;
		return -1;
	}
	old = umask(0117);
	d->ctl = evconnlistener_new_bind(d->base, ctlsock_accept, d,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (d->ctl == NULL) {
		if (asprintf(err, "%s: %s", path, strerror(errno)) == -1)
			*err = NULL;
		return -1;
	}
	chmod(path, 0660);
	d->ctl_path = strdup(path);
	return 0;
}

void
ctlsock_close(struct daemon *d)
{
	if (d->ctl != NULL)
		evconnlistener_free(d->ctl);
	d->ctl = NULL;
	if (d->ctl_path != NULL) {
		unlink(d->ctl_path);
		free(d->ctl_path);
		d->ctl_path = NULL;
	}
}
