/* net/: the HTTPS client on curl multi (graph.c), tokens (token.c) and
 * the Graph call with 401/throttle/retry handling (call.c). */
#ifndef NET_H
#define NET_H

#include "base.h"
#include "daemon.h"
#include "graph.h"
#include "token.h"

/* Result of an adapter call: HTTP status (0: no answer) and body. */
typedef void (*adapter_body_cb)(
    void *arg, long status, const char *body, const char *err);

/* call.c: `base` doubled `attempt` times, capped at `cap`, jittered into
 * [half, whole] (any unit). */
long backoff_jitter(long base, long cap, int attempt);
/* Within an adapter_body_cb fed by daemon_graph: the answer's Retry-After
 * in seconds (capped), or -1 when it had none. */
double call_retry_after(struct daemon *d);

/* call.c: what a Graph URL is, for metrics and the audit trail */
struct call_endpoint {
	const char *method;  /* NULL: any */
	const char *pattern; /* path after the Graph base; '*' one segment */
	const char *name;    /* metric label: permissions_decide, ... */
	int decides;         /* approve, deny or cancel: audited */
	int source;          /* enum req_source of a deciding call */
	int id_seg;          /* its segment holding the approval/request id */
};
const struct call_endpoint *call_endpoint(struct daemon *d, const char *method,
    const char *url, char *id, size_t idlen);

/* Graph call with the right token; retries once on 401 with a fresh token. */
/* Free the Graph calls still in flight at exit, after graph_free and
 * token_free (so none can complete); their callbacks are not run. */
void daemon_graph_free(struct daemon *d);
void daemon_graph_drain(struct daemon *d);
/* Since when Graph has been unreachable for GRAPH_DOWN_AFTER_S or more
 * (0: reachable), and the time of its last answer that was not a 5xx. */
int64_t call_graph_down_since(struct daemon *d);
/* What Graph's answer to a decision or cancel means, one mapping for the
 * executor and the audit trail: 204 No Content is the documented success
 * (approvalstage-update, ...-cancel); any other answer, 2xx included, is
 * an unknown outcome to read back, as are no answer and 5xx; 409 someone
 * decided first; 400/403/404 refused; 429/503 not taken up. */
enum graph_outcome {
	GRAPH_OUTCOME_OK = 0,
	GRAPH_OUTCOME_THROTTLED,
	GRAPH_OUTCOME_CONFLICT,
	GRAPH_OUTCOME_REFUSED,
	GRAPH_OUTCOME_UNKNOWN,
	GRAPH_OUTCOME_MAX
};
enum graph_outcome graph_outcome(long status);
const char *graph_outcome_name(enum graph_outcome o);
/* Did a call fail because no token could be had (nothing was sent)? */
int call_err_no_token(const char *err);
/* Graph's JSON error (`error.code: error.message`) in `body`, in `buf`
 * (truncated, printable); "" when there is none. Returns `buf`. */
const char *call_error_summary(const char *body, char *buf, size_t n);
int64_t call_graph_last_ok(struct daemon *d);
void daemon_graph(struct daemon *d, enum token_kind kind, const char *method,
    const char *url, const char *body, adapter_body_cb cb, void *arg);

/* Another way to Graph than curl (d->net; NULL: curl): every daemon_graph
 * call goes to `call` instead, which answers through `cb` exactly once,
 * later or at once. The engine and executor unit tests give a fake (no
 * sockets); the product leaves it NULL. */
struct net_ops {
	void (*call)(struct daemon *d, enum token_kind kind, const char *method,
	    const char *url, const char *body, adapter_body_cb cb, void *arg);
};

#endif
