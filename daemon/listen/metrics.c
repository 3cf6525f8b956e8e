/*
 * GET /metrics in the Prometheus text format (version 0.0.4). Gauges are
 * read at scrape time (store, Graph client, tokens, pollers); counters that
 * nothing else keeps (decisions, hooks, commit latency) live here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "counters.h"
#include "listen.h"
#include "log.h"
#include "version.h"

/* A label value with \, " and newline escaped. */
static void
metrics_label(struct evbuffer *b, const char *v)
{
	for (; v != NULL && *v; v++) {
		if (*v == '\\')
			evbuffer_add(b, "\\\\", 2);
		else if (*v == '"')
			evbuffer_add(b, "\\\"", 2);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
}

static void
metrics_head(
    struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(
	    b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_pair(struct evbuffer *b, const char *name, const char *la,
    const char *va, const char *lb, const char *vb, unsigned long long n)
{
	evbuffer_add_printf(b, "%s{%s=\"", name, la);
	metrics_label(b, va);
	evbuffer_add_printf(b, "\",%s=\"", lb);
	metrics_label(b, vb);
	evbuffer_add_printf(b, "\"} %llu\n", n);
}

static void
metrics_counter_out(struct evbuffer *b, const struct metrics_counter *c,
    const char *name, const char *la, const char *lb)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		metrics_pair(b, name, la, c->v[i].a, lb, c->v[i].b, c->v[i].n);
}

static void
metrics_counter_out1(struct evbuffer *b, const struct metrics_counter *c,
    const char *name, const char *la)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		evbuffer_add_printf(b, "%s{%s=\"", name, la);
		metrics_label(b, c->v[i].a);
		evbuffer_add_printf(b, "\"} %llu\n", c->v[i].n);
	}
}

static int
metrics_request_count(void *arg, int src, const char *state, int64_t n)
{
	metrics_pair(arg, "approvald_requests", "source",
	    src >= 0 && src < REQ_SRC_MAX
	        ? req_source_name((enum req_source)src)
	        : "unknown",
	    "state", state, (unsigned long long)(n > 0 ? n : 0));
	return 0;
}

/* Read from the counts the store keeps (store_request_counts), not by
 * counting the requests table at every scrape. */
static void
metrics_requests(struct evbuffer *b, struct daemon *d)
{
	metrics_head(b, "approvald_requests", "gauge",
	    "Stored requests by source and state.");
	if (store_request_counts(d->store, metrics_request_count, b) == -1)
		log_warnx("metrics: %s", store_errmsg(d->store));
}

static void
metrics_build_reload(struct evbuffer *b, struct daemon *d)
{
	static const char *const result[2] = { "ok", "failed" };
	int i;

	metrics_head(b, "approvald_build_info", "gauge",
	    "The running approvald's version; always 1.");
	evbuffer_add_printf(b, "approvald_build_info{version=\"");
	metrics_label(b, APPROVALD_VERSION);
	evbuffer_add_printf(b, "\"} 1\n");
	metrics_head(b, "approvald_reload_total", "counter",
	    "Reloads since start (SIGHUP, approvalctl reload), by result: "
	    "failed keeps the settings and policy in force.");
	for (i = 0; i < 2; i++)
		evbuffer_add_printf(b,
		    "approvald_reload_total{result=\"%s\"} %llu\n", result[i],
		    d->counters.reloads[i]);
	metrics_head(b, "approvald_reload_last_timestamp_seconds", "gauge",
	    "When the last reload with this result ended (Unix time).");
	for (i = 0; i < 2; i++)
		if (d->counters.reload_last[i] > 0)
			evbuffer_add_printf(b,
			    "approvald_reload_last_timestamp_seconds"
			    "{result=\"%s\"} %lld\n",
			    result[i], (long long)d->counters.reload_last[i]);
}

/* What needs a person: requests in attention, the oldest request still
 * waiting per source, undelivered notifications, the next automatic
 * denial. Read through indexes (store_health_get), not by scanning. */
static void
metrics_health(struct evbuffer *b, struct daemon *d)
{
	struct store_health h;
	int64_t now = clock_now();
	int i;

	if (store_health_get(d->store, &h) == -1) {
		log_warnx("metrics: %s", store_errmsg(d->store));
		return;
	}
	metrics_head(b, "approvald_requests_attention", "gauge",
	    "Requests in attention: Graph refused approvald's action or "
	    "read-backs kept failing; `approvalctl retry` drives them again.");
	evbuffer_add_printf(
	    b, "approvald_requests_attention %lld\n", (long long)h.attention);
	metrics_head(b, "approvald_oldest_waiting_request_age_seconds", "gauge",
	    "Age of the oldest request not yet decided, by source.");
	for (i = 0; i < REQ_SRC_MAX && i < STORE_HEALTH_SOURCES; i++)
		if (h.oldest_waiting[i] > 0)
			evbuffer_add_printf(b,
			    "approvald_oldest_waiting_request_age_seconds"
			    "{source=\"%s\"} %lld\n",
			    req_source_name((enum req_source)i),
			    (long long)(now > h.oldest_waiting[i]
			                    ? now - h.oldest_waiting[i]
			                    : 0));
	metrics_head(b, "approvald_notify_outbox_pending", "gauge",
	    "Notifications not yet delivered.");
	evbuffer_add_printf(
	    b, "approvald_notify_outbox_pending %lld\n", (long long)h.outbox);
	metrics_head(b, "approvald_notify_outbox_oldest_age_seconds", "gauge",
	    "Age of the oldest undelivered notification; 0 when none.");
	evbuffer_add_printf(b,
	    "approvald_notify_outbox_oldest_age_seconds %lld\n",
	    (long long)(h.outbox > 0 && now > h.outbox_oldest
	                    ? now - h.outbox_oldest
	                    : 0));
	if (h.next_deadline > 0) {
		metrics_head(b, "approvald_next_deny_deadline_seconds", "gauge",
		    "Seconds until the earliest automatic denial of a request "
		    "still waiting for approvers (negative: overdue).");
		evbuffer_add_printf(b,
		    "approvald_next_deny_deadline_seconds %lld\n",
		    (long long)(h.next_deadline - now));
	}
}

static void
metrics_poll(struct evbuffer *b, struct daemon *d)
{
	int i;
	char key[64], *wm;
	int64_t now = clock_now(), t;

	metrics_head(b, "approvald_poll_cycles_total", "counter",
	    "Poll cycles started, by source.");
	for (i = 0; i < REQ_SRC_MAX; i++)
		if (d->poll[i].ad != NULL)
			evbuffer_add_printf(b,
			    "approvald_poll_cycles_total{source=\"%s\"} %llu\n",
			    d->poll[i].ad->name,
			    (unsigned long long)d->poll[i].cycles);
	metrics_head(b, "approvald_poll_running", "gauge",
	    "1 while a poll cycle of the source is in progress.");
	for (i = 0; i < REQ_SRC_MAX; i++)
		if (d->poll[i].ad != NULL)
			evbuffer_add_printf(b,
			    "approvald_poll_running{source=\"%s\"} %d\n",
			    d->poll[i].ad->name, d->poll[i].running ? 1 : 0);
	metrics_head(b, "approvald_poll_last_success_timestamp_seconds",
	    "gauge",
	    "When a poll cycle of the source last completed (Unix time).");
	for (i = 0; i < REQ_SRC_MAX; i++)
		if (d->poll[i].ad != NULL && d->poll[i].last_ok > 0)
			evbuffer_add_printf(b,
			    "approvald_poll_last_success_timestamp_seconds"
			    "{source=\"%s\"} %lld\n",
			    d->poll[i].ad->name, (long long)d->poll[i].last_ok);
	metrics_head(b, "approvald_poll_lag_seconds", "gauge",
	    "Seconds between now and the source's durable watermark.");
	for (i = 0; i < REQ_SRC_MAX; i++) {
		if (d->poll[i].ad == NULL)
			continue;
		snprintf(key, sizeof(key), "watermark:%s", d->poll[i].ad->name);
		wm = NULL;
		if (store_meta_get(d->store, key, &wm) != 0 || wm == NULL)
			continue;
		t = cfg_parse_timestamp(wm);
		free(wm);
		if (t > 0)
			evbuffer_add_printf(b,
			    "approvald_poll_lag_seconds{source=\"%s\"} %lld\n",
			    d->poll[i].ad->name, (long long)(now - t));
	}
}

static void
metrics_token_ok(struct evbuffer *b, struct daemon *d, enum token_kind kind,
    const char *name)
{
	struct token_health h;

	if (d->tokens == NULL)
		return;
	token_health_get(d->tokens, kind, &h);
	if (h.last_ok > 0)
		evbuffer_add_printf(b,
		    "approvald_credential_last_success_timestamp_seconds"
		    "{credential=\"%s\"} %lld\n",
		    name, (long long)h.last_ok);
}

static void
metrics_store(struct evbuffer *b, struct daemon *d)
{
	metrics_head(b, "approvald_store_degraded", "gauge",
	    "1 while writes to the state store fail (disk full, I/O error) "
	    "and the daemon retries; /readyz answers 503 meanwhile.");
	evbuffer_add_printf(b, "approvald_store_degraded %d\n",
	    d->store != NULL && store_degraded(d->store) != NULL ? 1 : 0);
	metrics_head(b, "approvald_graph_up", "gauge",
	    "0 after 60 s of nothing but transport failures and 5xx answers "
	    "from Graph; /readyz answers 503 meanwhile.");
	evbuffer_add_printf(
	    b, "approvald_graph_up %d\n", call_graph_down_since(d) == 0);
	metrics_head(b, "approvald_graph_last_success_timestamp_seconds",
	    "gauge", "When Graph last answered with anything but a 5xx.");
	evbuffer_add_printf(b,
	    "approvald_graph_last_success_timestamp_seconds %lld\n",
	    (long long)call_graph_last_ok(d));
	metrics_head(b, "approvald_credential_up", "gauge",
	    "0 while a credential is dead for readiness (refused by the token "
	    "endpoint, or failing for long); /readyz answers 503 meanwhile.");
	evbuffer_add_printf(b,
	    "approvald_credential_up{credential=\"app\"} %d\n",
	    health_cred_up(d, TOKEN_APP));
	if (d->tokens != NULL && token_has_delegated(d->tokens))
		evbuffer_add_printf(b,
		    "approvald_credential_up{credential=\"approver\"} %d\n",
		    health_cred_up(d, TOKEN_DELEGATED));
	metrics_head(b, "approvald_credential_last_success_timestamp_seconds",
	    "gauge",
	    "When the token endpoint last issued a token for the credential "
	    "(Unix time); absent until it has.");
	metrics_token_ok(b, d, TOKEN_APP, "app");
	if (d->tokens != NULL && token_has_delegated(d->tokens))
		metrics_token_ok(b, d, TOKEN_DELEGATED, "approver");
	metrics_head(b, "approvald_store_degraded_total", "counter",
	    "Times the state store became degraded since start.");
	evbuffer_add_printf(b, "approvald_store_degraded_total %llu\n",
	    health_store_episodes(d));
}

static void
metrics_commits(struct evbuffer *b, struct daemon *d)
{
	size_t i;

	metrics_head(b, "approvald_store_commit_seconds", "histogram",
	    "Group-commit latency of the state store.");
	for (i = 0; i < METRICS_NBOUNDS; i++)
		evbuffer_add_printf(b,
		    "approvald_store_commit_seconds_bucket{le=\"%g\"} %llu\n",
		    metrics_bounds[i], d->counters.commit_buckets[i]);
	evbuffer_add_printf(b,
	    "approvald_store_commit_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "approvald_store_commit_seconds_sum %.6f\n"
	    "approvald_store_commit_seconds_count %llu\n",
	    d->counters.commit_count, d->counters.commit_sum,
	    d->counters.commit_count);
}

/* What the store did since start, as of the start of this scrape (its
 * own reads not counted): the cost of a decision in statements and
 * request-row writes (bench/RESULTS.md, issue 15). */
static void
metrics_store_work(struct evbuffer *b, const struct store_stats *st)
{
	metrics_head(b, "approvald_store_statements_total", "counter",
	    "SQL statements run on the state store since start (BEGIN and "
	    "COMMIT included, trigger bodies not).");
	evbuffer_add_printf(b, "approvald_store_statements_total %llu\n",
	    (unsigned long long)st->statements);
	metrics_head(b, "approvald_store_request_writes_total", "counter",
	    "Request rows written to the state store since start.");
	evbuffer_add_printf(b, "approvald_store_request_writes_total %llu\n",
	    (unsigned long long)st->request_writes);
	metrics_head(b, "approvald_store_request_reads_total", "counter",
	    "Request rows read from the state database by key since start "
	    "(a row the store still holds from its last read or write is "
	    "not read again).");
	evbuffer_add_printf(b, "approvald_store_request_reads_total %llu\n",
	    (unsigned long long)st->request_reads);
}

static void
metrics_serve(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;
	struct evbuffer *b;
	struct graph_stats gs;
	struct store_stats ss;

	memset(&ss, 0, sizeof(ss));
	if (d->store != NULL)
		store_stats_get(d->store, &ss);
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	metrics_build_reload(b, d);
	metrics_requests(b, d);
	metrics_health(b, d);
	metrics_head(b, "approvald_decisions_total", "counter",
	    "Policy decisions by rule and verdict since start.");
	metrics_counter_out(b, &d->counters.decisions,
	    "approvald_decisions_total", "rule", "verdict");
	metrics_head(b, "approvald_transitions_total", "counter",
	    "State transitions recorded since start.");
	evbuffer_add_printf(b, "approvald_transitions_total %llu\n",
	    (unsigned long long)d->transitions);
	memset(&gs, 0, sizeof(gs));
	if (d->graph != NULL)
		graph_get_stats(d->graph, &gs);
	metrics_head(b, "approvald_graph_calls_total", "counter",
	    "Graph API answers by endpoint class and HTTP status (error: no "
	    "answer), retries included.");
	metrics_counter_out(b, &d->counters.graph,
	    "approvald_graph_calls_total", "endpoint", "status");
	metrics_head(b, "approvald_graph_transfers_total", "counter",
	    "HTTP transfers of the Graph client (token calls included), by "
	    "result class.");
	evbuffer_add_printf(b,
	    "approvald_graph_transfers_total{result=\"all\"} %lu\n"
	    "approvald_graph_transfers_total{result=\"error\"} %lu\n"
	    "approvald_graph_transfers_total{result=\"throttled\"} %lu\n",
	    gs.calls, gs.errors, gs.throttled);
	metrics_head(b, "approvald_graph_throttle_wait_seconds_total",
	    "counter", "Seconds Graph calls were held by throttling.");
	evbuffer_add_printf(b,
	    "approvald_graph_throttle_wait_seconds_total %.3f\n",
	    gs.throttle_wait);
	metrics_head(b, "approvald_graph_subscriptions", "gauge",
	    "Approver groups with a live Graph change subscription.");
	evbuffer_add_printf(
	    b, "approvald_graph_subscriptions %zu\n", subs_count(d));
	metrics_head(b, "approvald_token_refreshes_total", "counter",
	    "Access-token refreshes.");
	evbuffer_add_printf(b, "approvald_token_refreshes_total %lu\n",
	    d->tokens != NULL ? token_refreshes(d->tokens) : 0UL);
	metrics_poll(b, d);
	metrics_head(b, "approvald_poll_implausible_times_total", "counter",
	    "Changes whose modification time was unparseable or in the "
	    "future beyond the allowed skew, by source (never used for the "
	    "watermark).");
	metrics_counter_out1(b, &d->counters.implausible,
	    "approvald_poll_implausible_times_total", "source");
	metrics_head(b, "approvald_bad_reads_total", "counter",
	    "Graph answers that failed validation (an unreadable request, "
	    "a missing status, a step without id), by source and kind; each "
	    "is read again later, none becomes a verdict.");
	metrics_counter_out(b, &d->counters.bad_reads,
	    "approvald_bad_reads_total", "source", "what");
	metrics_store(b, d);
	metrics_commits(b, d);
	metrics_store_work(b, &ss);
	metrics_head(b, "approvald_hooks_total", "counter",
	    "Webhooks answered, by hook and result.");
	metrics_counter_out(
	    b, &d->counters.hooks, "approvald_hooks_total", "hook", "result");
	metrics_head(b, "approvald_poll_nudges_total", "counter",
	    "Immediate polls asked for by webhooks, by source.");
	metrics_counter_out(b, &d->counters.nudges,
	    "approvald_poll_nudges_total", "source", "by");
	metrics_head(b, "approvald_http_connections", "gauge",
	    "Open HTTP listener connections.");
	evbuffer_add_printf(
	    b, "approvald_http_connections %d\n", d->http_conns);
	metrics_head(b, "approvald_http_connections_total", "counter",
	    "Listener connections accepted, and closed served or without a "
	    "complete request.");
	metrics_counter_out1(b, &d->counters.conns,
	    "approvald_http_connections_total", "result");
	metrics_head(b, "approvald_http_refused_total", "counter",
	    "Requests and connections the listener refused, by reason.");
	metrics_counter_out1(
	    b, &d->counters.refused, "approvald_http_refused_total", "reason");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* Route GET /metrics on the daemon's listener. */
int
metrics_register(struct daemon *d, char **err)
{
	if (httpd_route(d, "/metrics", EVHTTP_REQ_GET, 0, metrics_serve, d) ==
	    -1) {
		if (asprintf(err, "http: too many routes") == -1)
			*err = NULL;
		return -1;
	}
	return 0;
}
