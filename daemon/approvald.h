/*
 * approvald internals: the daemon context and the functions each concern
 * exports to the others (one file per concern, prefixed by its name).
 */
#ifndef APPROVALD_H
#define APPROVALD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>

#include "config.h"
#include "counters.h"
#include "graph.h"
#include "statemachine.h"
#include "store.h"
#include "token.h"

struct daemon;
struct json_object;
struct post_action;
struct evhttp;
struct evconnlistener;
struct evhttp_request;
struct timer_ev;
struct exec_op;

/* A step's or stage's reviewResult as Graph reads it back ("NotReviewed",
 * "Approved", "Denied": approvalstage resource type); OTHER is any other
 * string (nothing is inferred from it), NONE an absent one. */
enum review_result {
	REVIEW_NONE = 0,
	REVIEW_NOT_REVIEWED,
	REVIEW_APPROVED,
	REVIEW_DENIED,
	REVIEW_OTHER,
	REVIEW_MAX
};
enum review_result review_result_from(const char *s);

/* What a source adapter reports about a request's current approval step. */
struct step_info {
	char *id;     /* step / stage id */
	char *status; /* InProgress, Completed, ... */
	char *review; /* NotReviewed, Approved, Denied, as read (messages) */
	enum review_result result; /* review, parsed */
	char *reviewer_id, *reviewer_upn;
	int found; /* a step exists */
	/* a stage is in progress but not assigned to approvald's account
	 * (assignedToMe false): not ours to decide */
	int not_mine;
};
void step_info_clear(struct step_info *s);

/* Result of an adapter call: HTTP status (0: no answer) and body. */
typedef void (*adapter_body_cb)(
    void *arg, long status, const char *body, const char *err);
typedef void (*adapter_step_cb)(
    void *arg, long status, const struct step_info *step, const char *err);
/* Result of fetching several requests: `items` is Graph's array (borrowed
 * for the call), `complete` says every match is in it (no further page).
 * Status 400: the server refuses such a query; fetch one by one. */
typedef void (*adapter_many_cb)(void *arg, long status,
    struct json_object *items, int complete, const char *err);

/* A source adapter: Graph paths and JSON shapes live only here. */
struct source_adapter {
	enum req_source source;
	const char *name;
	/* Start one poll cycle; the adapter feeds engine_observe(). */
	void (*poll)(struct daemon *d);
	/* Fetch one request's Graph JSON (a single object). */
	void (*fetch)(
	    struct daemon *d, const char *gid, adapter_body_cb cb, void *arg);
	/* Fetch up to fetch_many_max requests in one call (NULL: none). */
	void (*fetch_many)(struct daemon *d, char *const *gids, size_t n,
	    adapter_many_cb cb, void *arg);
	size_t fetch_many_max;
	/* Read the current approval step. */
	void (*read_step)(struct daemon *d, const char *approval_id,
	    adapter_step_cb cb, void *arg);
	/* Approve / deny a step (delegated token). */
	void (*decide)(struct daemon *d, const char *approval_id,
	    const char *step_id, int approve, const char *justification,
	    adapter_body_cb cb, void *arg);
	/* Cancel the request. */
	void (*cancel)(
	    struct daemon *d, const char *gid, adapter_body_cb cb, void *arg);
	/* Map a Graph status string to an observation event. */
	enum sm_event_kind (*observe)(const char *status);
	/* JSON member of a fetched request holding its status
	 * (NULL: "statusDetail"). */
	const char *status_field;
};

extern const struct source_adapter adapter_permissions;
extern const struct source_adapter adapter_group;
extern const struct source_adapter adapter_access;
const struct source_adapter *adapter_for(enum req_source s);
/* "source:gid", the request's key in the store (heap), or NULL. */
char *source_key(enum req_source src, const char *gid);

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
void batch_dirty(struct daemon *d);
int batch_commit(struct daemon *d);
void batch_forget_marks(struct daemon *d);

struct daemon {
	struct event_base *base;
	struct settings *settings;
	struct policy *policy;
	int64_t started;        /* wall time the daemon started */
	int64_t policy_loaded;  /* wall time the policy in force loaded */
	char policy_sha256[65]; /* of the policy file in force; "" unknown */
	struct store *store;
	struct graph *graph;
	struct call *calls; /* Graph calls in flight (call.c) */
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
	int http_conns;
	int ctl_clients;
};

/* engine.c: request record -> policy -> sm_step -> effects */
int engine_observe(struct daemon *d, enum req_source src, const char *gid,
    const char *status, const char *body);
int engine_event(struct daemon *d, struct store_request *r,
    const struct sm_event *ev, const char *detail);
/* engine_event for a person's decision that came in by `how` ("control
 * socket", "decision link", "Entra"): its decision log line says so. */
int engine_event_by(struct daemon *d, struct store_request *r,
    const struct sm_event *ev, const char *detail, const char *how);
int engine_evaluate(struct daemon *d, struct store_request *r);
/* Evaluate request `key` again now if it is still evaluating (a lookup it
 * waited for is in). */
void engine_wake(struct daemon *d, const char *key);
/* A lookup request `key` waited for failed: evaluate it again later, with
 * a growing, jittered delay (one timer per request). */
void engine_retry_later(struct daemon *d, const char *key);
/* 1 when `key` came back to evaluating too often lately (counts it). */
int engine_churn(const char *key, int64_t now);
/* engine_evaluate, or its retry timer when the request keeps coming back. */
int engine_reevaluate(
    struct daemon *d, struct store_request *r, const char *why);
void engine_free(struct daemon *d);
/* An operator's retry of request `key` in attention (`who` goes into the
 * journal and the audit): its refused action is carried out again, or the
 * policy decides it again (statemachine: SM_E_RETRY). In the open batch:
 * the caller commits. 0 retried, 1 not in attention, 2 no such request,
 * -1 store error. */
int engine_retry(struct daemon *d, const char *key, const char *who);
void engine_post_exec(struct daemon *d, const char *key);
/* Wire the engine in: d->eng and the batch's after-commit work. */
void engine_init(struct daemon *d);

/* exec.c: carry out intents exactly once */
void exec_request(struct daemon *d, const char *key, int readback_only);
void exec_reconcile(struct daemon *d);
int exec_busy(struct daemon *d, const char *key);
size_t exec_inflight(struct daemon *d);
/* A credential may give tokens again (a new sign-in was loaded): the
 * operations waiting for one try now instead of at their next back-off. */
void exec_token_ready(struct daemon *d);
void exec_free(struct daemon *d);

/* adapter.c: helpers shared by the source adapters */
const char *adapter_str(struct json_object *o, const char *k);
/* The member of array `items` whose "id" is `gid` (case-insensitive). */
struct json_object *adapter_find_id(struct json_object *items, const char *gid);
char *adapter_url(struct daemon *d, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The current step of an approval's steps/stages array into `si`. */
void adapter_step_pick(struct json_object *steps, struct step_info *si);
/* The stage approvald's account acts on (InProgress and assignedToMe),
 * else the one in progress with not_mine set, else as adapter_step_pick. */
void adapter_stage_pick(struct json_object *stages, struct step_info *si);

/* lister.c: sources polled by listing their pending requests (group,
 * access-package); a source is its paths and fields. */
struct lister_status {
	const char *name; /* Graph status value */
	enum sm_event_kind ev;
};
struct lister_source {
	enum req_source source;
	const char *prefix;         /* under the Graph base, e.g. /v1.0/... */
	const char *requests;       /* the requests collection under prefix */
	const char *approvals;      /* the approvals collection under prefix */
	const char *pending;        /* $filter listing the pending requests */
	const char *expand;         /* $expand on every request read, or NULL */
	const char *status_field;   /* member holding the Graph status */
	enum token_kind read_token; /* approval reads */
	enum token_kind cancel_token; /* cancel */
	const char *stages; /* approval's stage collection (NULL: "stages") */
	const char *cancel; /* cancel action on a request (NULL: "cancel") */
	/* statuses Graph never changes again: not followed (NULL-ended) */
	const char *const *settled;
	/* listing page callback: calls lister_page(arg, this source, ...) */
	adapter_body_cb page;
	/*
	 * Listing of what approvald's account may decide (NULL: `requests`
	 * with `pending`, app token): a path under prefix, read with the
	 * delegated token through mine_page (calls lister_mine_page). An
	 * answer of mine_cap items without a nextLink may be truncated:
	 * then the requests are also listed per scope, `requests` with
	 * "$filter=<scope_field> eq '<id>' and <pending>" (app token), for
	 * each id the scopes callback names.
	 */
	const char *mine;
	adapter_body_cb mine_page;
	size_t mine_cap;
	const char *scope_field;
	/* up to max scope ids into ids (borrowed until the call returns);
	 * *unscoped: requests outside them matter too */
	size_t (*scopes)(
	    struct daemon *d, const char **ids, size_t max, int *unscoped);
	/* When the grant of the approved request in `body` (JSON) ends,
	 * epoch seconds; 0 unknown or never (NULL: followed until Graph
	 * says it ended) */
	int64_t (*grant_end)(const char *body);
};
void lister_poll(struct daemon *d, const struct lister_source *ls);
void lister_page(void *arg, const struct lister_source *ls, long status,
    const char *body, const char *err);
void lister_mine_page(void *arg, const struct lister_source *ls, long status,
    const char *body, const char *err);
void lister_fetch(struct daemon *d, const struct lister_source *ls,
    const char *gid, adapter_body_cb cb, void *arg);
void lister_read_step(struct daemon *d, const struct lister_source *ls,
    const char *approval_id, adapter_step_cb cb, void *arg);
void lister_decide(struct daemon *d, const struct lister_source *ls,
    const char *approval_id, const char *step_id, int approve,
    const char *justification, adapter_body_cb cb, void *arg);
void lister_cancel(struct daemon *d, const struct lister_source *ls,
    const char *gid, adapter_body_cb cb, void *arg);
/* Look a status up in a {NULL}-ended table; unknown: SM_E_GRAPH_UNKNOWN. */
enum sm_event_kind lister_observe(
    const struct lister_status *map, const char *status);

/* poll.c: scheduling of poll cycles */
void poll_init(struct daemon *d);
void poll_nudge(struct daemon *d, enum req_source src);
void poll_cycle_done(struct daemon *d, enum req_source src, int ok);
/* Request the next page of a listing: same origin only, no cycles, at most
 * GRAPH_MAX_PAGES; -1 (logged) when refused. */
int poll_follow(struct daemon *d, enum req_source src, const char *link,
    adapter_body_cb cb);
/* Same, read with token `kind`. */
int poll_follow_as(struct daemon *d, enum req_source src, const char *link,
    adapter_body_cb cb, enum token_kind kind);
void poll_free(struct daemon *d);

/* timers.c: durable timers mirrored as libevent timers */
int timers_load(struct daemon *d);
void timers_arm(
    struct daemon *d, const char *key, int kind, uint32_t stage, int64_t at);
void timers_cancel(struct daemon *d, const char *key);
void timers_free(struct daemon *d);

/* ctlsock.c: approvalctl over a unix socket */
int ctlsock_open(struct daemon *d, const char *path, char **err);
void ctlsock_close(struct daemon *d);

/* httpd.c: the hardened listener (/healthz, /readyz and registered routes) */
struct evhttp_request;
typedef void (*httpd_handler)(struct evhttp_request *, void *);
int httpd_open(struct daemon *d, const char *listen, char **err);
void httpd_close(struct daemon *d);
int httpd_route(
    const char *path, int methods, int limited, httpd_handler fn, void *arg);
/* Log a refused request of `what` at a bounded rate (with the peer). */
void httpd_log_refused(
    struct evhttp_request *req, const char *what, const char *why);

struct call_endpoint;
/* audit.c: the audit hash chain, appended in the open batch */
int audit_append(struct store *s, const char *key, int64_t at, const char *kind,
    const char *detail);
int audit_transition(struct store *s, const char *key, int64_t at,
    const char *from, const char *to, const char *event, const char *rule,
    const char *verdict, const char *detail);
/* The answer to a Graph call that decides (approve, deny, cancel): endpoint,
 * status, outcome; in the open batch. Logged when it cannot be written
 * (the call has happened either way). */
void audit_graph_call(struct daemon *d, const struct call_endpoint *ep,
    const char *id, const char *method, const char *body, long status,
    const char *err);
/* A request's decision changed with the policy (reload.c): old rule and
 * verdict -> new ones, and when it was noticed. */
int audit_policy_change(struct store *s, const char *key, int64_t at,
    const char *old_rule, const char *old_verdict, const char *new_rule,
    const char *new_verdict, const char *why);
/* What a policy reload did to the undecided requests (reload.c). */
struct audit_reload_counts {
	size_t undecided; /* looked at */
	size_t kept;      /* verdict and stages unchanged: progress kept */
	size_t changed;   /* started again from the new verdict */
	size_t evaluated; /* were evaluating: evaluated */
	size_t held;      /* approve intents left to the executor's check */
};
int audit_policy_reload(struct store *s, int64_t at, const char *path,
    size_t rules, const struct audit_reload_counts *n);
/* A human decision (decide.c): who, how it came in, stage, reason, and
 * for the control socket the peer's uid and user name (peer_uid < 0:
 * none; peer_user may be NULL). */
int audit_decision(struct store *s, const char *key, int64_t at,
    const char *verdict, const char *who, const char *how, uint32_t stage,
    const char *reason, long peer_uid, const char *peer_user);

/* metrics.c: GET /metrics and the counters behind it */
void metrics_register(struct daemon *d);

/* hooks.c: POST /v1/hooks/evaluate and /v1/hooks/graph */
int hooks_register(struct daemon *d, char **err);
void hooks_reload(struct daemon *d);
const char *hooks_client_state(void);
unsigned hooks_client_state_gen(void);
void hooks_free(struct daemon *d);
int hooks_check(const struct settings *s, char **err);

/* preflight.c: approvald --check opens what the daemon opens at start;
 * each problem is one line `FILE: what: why` on `out`, warnings go to
 * `warn` (NULL: not shown). Returns the number of problems. */
int preflight_check(const struct settings *s, FILE *out, FILE *warn);

/* subs.c: Graph subscriptions to the approver groups' membership */
void subs_sync(struct daemon *d);
void subs_tick(struct daemon *d);
void subs_lifecycle(struct daemon *d, const char *id, const char *event);
size_t subs_count(void);
void subs_free(struct daemon *d);

/* retention.c: settled requests deleted after retention.settled */
int retention_init(struct daemon *d);
void retention_kick(struct daemon *d);
void retention_free(struct daemon *d);

/* health.c: a degraded store (writes failing: disk full, I/O error),
 * recovered by itself with backoff; /readyz and /metrics show it */
int health_init(struct daemon *d);
void health_free(struct daemon *d);
const char *health_reason(struct daemon *d);
int health_cred_up(struct daemon *d, enum token_kind kind);
unsigned long long health_store_episodes(void);

/* crash.c: APPROVALD_CRASH_AT=<label>:<n> for crash-safety tests */
void crash_point(const char *label);
int crash_audit_fail(void);
long crash_max_pages(void);
/* Test builds only: `cap` lowered to APPROVALD_TEST_BACKOFF_MAX_MS, so a
 * test sees a bounded retry run to its end in seconds; `cap` otherwise. */
long crash_backoff_cap(long cap);

/* main.c: SIGHUP / `approvalctl reload`; swaps only when both files load. */
int daemon_reload(struct daemon *d, char **why);

/* reload.c: decisions taken under an earlier policy, against the current
 * one */
/* Fingerprint (hex SHA-256) of what a verdict decides: rule name, verdict
 * and every stage definition; see reload.c for what is in it. */
void reload_fingerprint(const struct verdict *v, char out[65]);
/* Re-evaluate every undecided request against the current policy, in the
 * engine's batch; `reloaded`: after a reload (audited, counted), else at
 * start-up. */
void reload_requests(struct daemon *d, int reloaded);
/* exec.c, just before an approve is sent for `r` (loaded, updated in
 * place): 1 when the current policy still approves it as it was approved;
 * 0 when it does not (re-evaluated in the open batch; send nothing); -1 on
 * a store error (send nothing, try again). */
int reload_recheck_approve(struct daemon *d, struct store_request *r);

/* call.c: `base` doubled `attempt` times, capped at `cap`, jittered into
 * [half, whole] (any unit). */
long backoff_jitter(long base, long cap, int attempt);
/* Within an adapter_body_cb fed by daemon_graph: the answer's Retry-After
 * in seconds (capped), or -1 when it had none. */
double call_retry_after(void);

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
int64_t call_graph_down_since(void);
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
int64_t call_graph_last_ok(void);
void daemon_graph(struct daemon *d, enum token_kind kind, const char *method,
    const char *url, const char *body, adapter_body_cb cb, void *arg);

/* approvers.c: resolve, persist and check a stage's eligible approvers */
void approvers_resolve(struct daemon *d, const char *key, uint32_t stage);
void approvers_resume(struct daemon *d);
/* Forget every stored eligible set of `key` in the open batch (its stages
 * start again); 0 or -1. */
int approvers_forget(struct daemon *d, const char *key);
/* Group `group`'s membership changed (NULL: any group's may have). */
void approvers_group_changed(struct daemon *d, const char *group);
void approvers_free(struct daemon *d);
/* 1 when `name` (id, or UPN case-insensitively) is in the stored set of
 * (key, stage), copied to *out; 0 not, -1 error. */
int approvers_lookup(struct daemon *d, const char *key, uint32_t stage,
    const char *name, struct sm_principal *out);
/* Stored eligible approvers of (key, stage); -1 on error. */
int approvers_safe_value(const char *v);
int approvers_stage_rows(struct daemon *d, const char *key, uint32_t stage);
/* Forget the eligible sets of finished requests (bounded per call). */
void approvers_prune(struct daemon *d);
struct json_object;
/* The control socket's peer, from SO_PEERCRED. */
struct ctl_peer {
	long uid, gid, pid;
};
/* A reply that comes later (the caller puts it). */
typedef void (*ctl_reply_cb)(void *arg, struct json_object *reply);
/* Control commands (ctlsock.c's table; `rest` is the line after the
 * command word, modified; the caller puts the reply). `decide KEY
 * approve|deny --as WHO --reason TEXT` answers later through `later` (NULL
 * returned, *deferred set) once the decision is committed: it first checks
 * that the peer may decide as that principal (settings `operators`) and
 * the principal's membership on Graph. `approvers KEY [STAGE]` answers
 * now. */
struct json_object *approvers_ctl_decide(struct daemon *d, char *rest,
    const struct ctl_peer *peer, ctl_reply_cb later, void *arg, int *deferred);
struct json_object *approvers_ctl_list(struct daemon *d, char *rest);

/* sign.c: HMAC-SHA256 and base64url for hooks, notifications and links */
#define SIGN_MAC_LEN 32
int sign_hmac(const void *key, size_t keylen, const void *msg, size_t len,
    unsigned char out[SIGN_MAC_LEN]);
int sign_timestamped(const void *key, size_t keylen, int64_t t,
    const char *body, size_t len, char out[2 * SIGN_MAC_LEN + 1]);
char *sign_b64url(const void *data, size_t len);
unsigned char *sign_b64url_decode(const char *s, size_t n, size_t *outlen);

/* summary.c: what a request asks, for messages and the decision page */
struct json_object *summary_build(
    struct daemon *d, const struct store_request *r);
struct json_object *summary_approvers(struct daemon *d,
    const struct store_request *r, uint32_t stage, int only_primary);
const char *summary_get(struct json_object *o, const char *k);
/* A principal object's "Name (upn)", else its UPN, else its id, else
 * "(unknown)". */
const char *summary_who(struct json_object *p);
int summary_int(struct json_object *o, const char *k, int def);
/* The principals of array `a`, comma-separated, each with when it
 * approved if known (heap). */
char *summary_names(struct json_object *a);
void summary_time(int64_t t, char *buf, size_t len);
/* "Fri 4 Dec 14:00 UTC"; "2 hours 30 minutes": locale-free. */
void summary_when(int64_t t, char *buf, size_t len);
void summary_human_duration(int64_t s, char *buf, size_t len);

/* notify.c: the durable outbox and its delivery worker */
int notify_init(struct daemon *d, char **err);
/* In the open batch: queue event `n` of request `key` for every target
 * that wants it. 0, or -1 (the caller drops the batch). */
int notify_enqueue(struct daemon *d, const char *key, enum sm_notify_kind n,
    uint32_t stage, int64_t started, int64_t now);
/* In the open batch: the approvers of (key, stage) are known (or known to
 * be nobody); its held pending/escalated messages may go. */
int notify_release(struct daemon *d, const char *key, uint32_t stage);
/* engine_commit: the batch is durable; deliver what waited for it. */
void notify_committed(struct daemon *d);
void notify_kick(struct daemon *d);
void notify_prune(struct daemon *d);
void notify_free(struct daemon *d);

/* notify_msg.c: message bodies (heap) in a target's format */
char *notify_render(struct daemon *d, const struct notify_target *t,
    int64_t delivery, const char *event, const struct store_request *r);

/* page.c: the decision page, GET/POST /v1/decide/TOKEN (links.h mints) */
/* Register GET/POST /v1/decide/ with the listener; -1 with *err. */
int links_register(struct daemon *d, char **err);

/* eligible.c: is a decider still an approver of the stage, per Graph? */
enum elig_result { ELIG_YES = 0, ELIG_NO, ELIG_UNKNOWN };
/* `why` (static) says why not; called once, perhaps before the call
 * returns. */
typedef void (*eligible_cb)(void *arg, enum elig_result res, const char *why);
/* Check `who` (in the stored set of r's current stage) against the stage's
 * approver sets now: groups (transitive, Graph checkMemberGroups, cached
 * at most decisions.membership_max_age), managers (read again), users. */
void eligible_check(struct daemon *d, const struct store_request *r,
    const struct sm_principal *who, eligible_cb cb, void *arg);
/* Forget cached membership answers about `group` (NULL: all). */
void eligible_group_changed(const char *group);
/* Answer checks in flight "could not verify" and drop the cache. */
void eligible_free(struct daemon *d);

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
/* Record a decision in the open batch. Returns SM_OK (recorded), SM_NOOP
 * or SM_REFUSED with a static reason in *why; `state` receives the new
 * state name on SM_OK. */
enum sm_result decide_record(struct daemon *d, const struct decide_in *in,
    const char **why, char *state, size_t statelen);
/* What decide_submit() did: `res` and `why` as decide_record() answers,
 * `state` the new state on SM_OK (else ""); `elig` ELIG_NO or
 * ELIG_UNKNOWN when the decider's membership refused it. */
typedef void (*decide_done_cb)(void *arg, enum sm_result res, const char *why,
    const char *state, enum elig_result elig);
/* decide_record(), after checking on Graph that a decider found in the
 * stage's stored set is still one of its approvers (eligible.c); the
 * decision is then bound to that stage. `in` is copied; `done` is called
 * once, perhaps before this returns. */
void decide_submit(struct daemon *d, const struct decide_in *in,
    decide_done_cb done, void *arg);
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

/* engine_observe: a stage turned Approved/Denied on Graph while waiting
 * for approvers: returns 1 when the step is read first (who decided) and
 * recorded as the stage's decision; 0: record the observation now. */
int decide_graph_defer(
    struct daemon *d, const struct store_request *r, enum sm_event_kind k);
void decide_graph_resume(struct daemon *d);
void decide_free(struct daemon *d);

/* testclock.c: the daemon's clock, the wall clock plus the test clock's
 * offset (seconds added by `clock advance` in test builds started with
 * APPROVALD_TEST_CLOCK=1; always 0 in the product) */
int64_t clock_now(void);
extern int64_t testclock_offset;
int testclock_enabled(void);
void testclock_advance(int64_t secs);

#endif
