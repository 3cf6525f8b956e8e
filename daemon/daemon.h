/*
 * The daemon's context, wired together by main.c. Each room of daemon/
 * (base < net < store < sources < effects < engine < listen) has one
 * header that includes the rooms below it and nothing above; results
 * flow back up only through the function pointers here (engine_ops,
 * batch, graph_audit), given at init.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>

#include "config.h"
#include "counters.h"
#include "statemachine.h"

struct daemon;
struct json_object;
struct post_action;
struct evhttp;
struct evconnlistener;
struct evhttp_request;
struct timer_ev;
struct exec_op;
struct links_state;
struct hooks_state;
struct subs_state;
struct httpd_state;
struct notify_state;
struct member_state;
struct elig_state;
struct ident_state;
struct appr_state;
struct dg_state;
struct exec_state;
struct net_ops;
struct engine_state;
struct source_adapter;
struct lister_state;
struct store_request;

/* Per-source poll state. */
struct poll_state {
	struct daemon *d;
	const struct source_adapter *ad;
	struct event *timer;
	int running; /* a cycle is in progress */
	int again;   /* a nudge arrived during the cycle */
	int64_t interval;
	int failed;       /* this cycle saw a failure */
	int64_t max_seen; /* newest modification time (epoch s) */
	char *max_seen_text;
	size_t pages, fetches;
	char **links; /* nextLinks followed this cycle */
	size_t nlinks;
	uint64_t cycles;
	int64_t last_ok; /* when a cycle last completed (clock_now) */
	struct lister_state *lister; /* sources/lister.c, listed sources */
	/* permissions: Graph refused `id eq … or …` filters (one by one) */
	int bulk_refused;
	/* changes with an implausible time this cycle, and one example */
	size_t implausible;
	char implausible_eg[160];
};

struct call;
struct call_endpoint;
struct engine_ops;

/* store/batch.c: the open batch and its group commit */
struct batch {
	struct event *ev;       /* commit on the next loop turn */
	int64_t last_commit_us; /* when the last commit ended (monotonic) */
	int last_busy;          /* and whether its batch was large */
	uint64_t start_transitions;
	int has_intent, has_result; /* for the crash points */
	/* Given at init by the engine: after a commit, after a rollback. */
	void (*committed)(struct daemon *d);
	void (*dropped)(struct daemon *d);
};
/* net/call.c: Graph's reachability: since when nothing but transport
 * failures and 5xx answers came back (0: reachable), the last answer that
 * was not, and the Retry-After of the answer being delivered (-1 none). */
struct graph_reach {
	int64_t down_since, last_ok;
	int down_logged;
	double retry_after;
};

struct daemon {
	struct event_base *base;
	struct settings *settings;
	struct policy *policy;
	int64_t started;        /* wall time the daemon started */
	int64_t policy_loaded;  /* wall time the policy in force loaded */
	char policy_sha256[65]; /* of the policy file in force; "" unknown */
	struct store *store;
	struct graph *graph;
	struct call *calls;        /* Graph calls in flight (call.c) */
	const struct net_ops *net; /* NULL: curl (net.h) */
	struct token_mgr *tokens;
	struct evhttp *http;
	struct evconnlistener *ctl;
	struct batch batch;
	/* the engine, for the rooms below it (engine_init) */
	const struct engine_ops *eng;
	/* the audit of each Graph call that decides (given at init) */
	void (*graph_audit)(struct daemon *d, const struct call_endpoint *ep,
	    const char *id, const char *method, const char *body, long status,
	    const char *err);
	struct event *reconcile_ev;
	struct event *retention_ev; /* store/retention.c */
	/* listen/health.c: the degraded store's probe */
	struct event *health_ev;
	int health_attempt;
	unsigned long long health_episodes;
	char health_why[320]; /* health_reason's answer */
	struct event *watchdog_ev;
	struct event *drain_ev;
	struct event *sig_hup, *sig_term, *sig_int;
	struct poll_state poll[REQ_SRC_MAX];
	char *config_path;
	char *graph_base; /* e.g. https://graph.microsoft.com */
	int ready;
	int stopping;
	int reconciled;
	/* post-commit work of the open batch */
	struct post_action *post;
	size_t npost, cappost;
	/* in-memory durable-timer mirror and busy requests */
	struct timer_ev *timers;
	struct exec_op *ops;
	size_t nops;
	uint64_t decisions, transitions;
	/* each room's state, opaque outside its file */
	struct links_state *links;
	struct hooks_state *hooks;
	struct subs_state *subs;
	struct httpd_state *httpd;
	struct notify_state *notify;
	struct member_state *member;
	struct elig_state *elig;
	struct ident_state *ident;
	struct appr_state *appr;
	struct dg_state *dg;
	struct exec_state *exec;
	struct engine_state *engine;
	struct counters counters; /* base/counters.c */
	struct graph_reach graph_reach;
	char *ctl_path; /* ctlsock.c: unlinked at close */
	int http_conns;
	int ctl_clients;
};

/* ctlsock.c: approvalctl over a unix socket */
int ctlsock_open(struct daemon *d, const char *path, char **err);
void ctlsock_close(struct daemon *d);

/* preflight.c: approvald --check opens what the daemon opens at start;
 * each problem is one line `FILE: what: why` on `out`, warnings go to
 * `warn` (NULL: not shown). Returns the number of problems. */
int preflight_check(const struct settings *s, FILE *out, FILE *warn);

/* main.c: SIGHUP / `approvalctl reload`; swaps only when both files load. */
int daemon_reload(struct daemon *d, char **why);

/* eligible.c: is a decider still an approver of the stage, per Graph? */
enum elig_result { ELIG_YES = 0, ELIG_NO, ELIG_UNKNOWN };
/* The answer to a decision that could not be stored (a failed write or
 * commit): nothing was recorded, the decider should try again. */
#define DECIDE_NOT_STORED                                                      \
	"not recorded: the decision could not be stored; retry"

/* decide.c: one path for every human decision (socket, link, Entra) */
enum decide_via { DECIDE_SOCKET = 0, DECIDE_LINK, DECIDE_GRAPH };
struct decide_in {
	const char *key;
	int approve;
	const char *who;    /* object id or UPN as given */
	const char *reason; /* may be NULL or empty */
	enum decide_via via;
	int bind_stage;    /* the decision is for exactly this stage: */
	uint32_t stage;    /* index */
	int64_t started;   /* and its start time (links) */
	const char *nonce; /* links: single-use nonce, stored on success */
	int64_t nonce_expires;
	int has_peer;          /* control socket: the peer (SO_PEERCRED) */
	long peer_uid;         /* its uid */
	const char *peer_user; /* its user name, or NULL */
};
/* What decide_submit() did: `res` and `why` as decide_record() answers,
 * `state` the new state on SM_OK (else ""); `elig` ELIG_NO or
 * ELIG_UNKNOWN when the decider's membership refused it. */
typedef void (*decide_done_cb)(void *arg, enum sm_result res, const char *why,
    const char *state, enum elig_result elig);
/*
 * How the rooms below the engine (sources, effects) hand results back to
 * it: function pointers given at init (engine_init sets d->eng), never
 * calls by name; a unit test can give its own.
 */
struct engine_ops {
	int (*observe)(struct daemon *d, enum req_source src, const char *gid,
	    const char *status, const char *body);
	int (*event)(struct daemon *d, struct store_request *r,
	    const struct sm_event *ev, const char *detail);
	int (*evaluate)(struct daemon *d, struct store_request *r);
	int (*reevaluate)(
	    struct daemon *d, struct store_request *r, const char *why);
	void (*wake)(struct daemon *d, const char *key);
	void (*retry_later)(struct daemon *d, const char *key);
	void (*post_exec)(struct daemon *d, const char *key);
	void (*decide)(struct daemon *d, const struct decide_in *in,
	    decide_done_cb done, void *arg);
	int (*recheck_approve)(struct daemon *d, struct store_request *r);
};

#endif
