/*
 * The engine: Graph observation -> request record -> policy verdict ->
 * sm_step -> effects. Every transition, its journal row and the intents it
 * causes are written in the open batch; the batch is group-committed once
 * per loop turn, and only then are Graph calls and timers started.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "ident.h"
#include "limits.h"
#include "log.h"
#include "member.h"

enum post_kind {
	POST_EXEC = 0,
	POST_READBACK,
	POST_ARM,
	POST_CANCEL,
	POST_RESOLVE,
	POST_READ_DECIDER
};

struct post_action {
	enum post_kind kind;
	char *key;
	int timer;
	uint32_t stage;
	int64_t at;
};

static void
engine_post(struct daemon *d, enum post_kind kind, const char *key, int timer,
    uint32_t stage, int64_t at)
{
	struct post_action *p;

	if (d->npost == d->cappost) {
		size_t cap = d->cappost ? d->cappost * 2 : 64;

		if ((p = realloc(d->post, cap * sizeof(*p))) == NULL) {
			log_warnx(
			    "engine: out of memory queueing work for %s", key);
			return;
		}
		d->post = p;
		d->cappost = cap;
	}
	p = &d->post[d->npost];
	if ((p->key = strdup(key)) == NULL)
		return;
	p->kind = kind;
	p->timer = timer;
	p->stage = stage;
	p->at = at;
	d->npost++;
}

void
engine_post_exec(struct daemon *d, const char *key)
{
	engine_post(d, POST_EXEC, key, 0, 0, 0);
	batch_dirty(d);
}

/* The batch committed (store/batch.c calls this through d->batch):
 * notifications go out, then what the batch made durable starts. */
static void
engine_committed(struct daemon *d)
{
	size_t i, n;
	struct post_action *post;

	notify_committed(d);
	/* Detach the list: post actions may open a new batch. */
	post = d->post;
	n = d->npost;
	d->post = NULL;
	d->npost = d->cappost = 0;
	for (i = 0; i < n; i++) {
		struct post_action *p = &post[i];

		switch (p->kind) {
		case POST_EXEC:
			exec_request(d, p->key, 0);
			break;
		case POST_READBACK:
			exec_request(d, p->key, 1);
			break;
		case POST_ARM:
			timers_arm(d, p->key, p->timer, p->stage, p->at);
			break;
		case POST_CANCEL:
			timers_cancel(d, p->key);
			break;
		case POST_RESOLVE:
			approvers_resolve(d, p->key, p->stage);
			break;
		case POST_READ_DECIDER:
			decide_graph_read(d, p->key);
			break;
		}
		free(p->key);
	}
	free(post);
}

/* The batch was rolled back: its post-commit work is dropped with it. */
static void
engine_dropped(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->npost; i++)
		free(d->post[i].key);
	d->npost = 0;
}

static const char *
engine_intent_kind(enum sm_effect_kind k)
{
	/* Only the three Graph effects make intents; anything else asking
	 * for one is a bug, answered with no kind (the batch is dropped),
	 * never with a guess. */
	switch (k) {
	case SM_F_GRAPH_APPROVE:
		return intent_kind_name(INTENT_APPROVE);
	case SM_F_GRAPH_DENY:
		return intent_kind_name(INTENT_DENY);
	case SM_F_GRAPH_CANCEL:
		return intent_kind_name(INTENT_CANCEL);
	case SM_F_READBACK:
	case SM_F_READ_DECIDER:
	case SM_F_RESOLVE:
	case SM_F_FORGET_APPROVERS:
	case SM_F_ARM_TIMER:
	case SM_F_CANCEL_TIMERS:
	case SM_F_NOTIFY:
	case SM_F_AUDIT:
	case SM_F_MAX:
		break;
	}
	return NULL;
}

/* The justification sent to Graph: names the rule and the reason. */
static char *
engine_justification(const struct store_request *r, const struct sm_effect *f)
{
	char *j = NULL;
	const char *rule = r->rule ? r->rule : "-";
	const char *why = r->reason ? r->reason : "";
	int rc;

	switch (f->kind == SM_F_GRAPH_APPROVE ? SM_R_NONE : f->reason) {
	case SM_R_NONE:
		if (r->sm.nstages > 0)
			rc = asprintf(&j,
			    "approvald: approved by every stage of "
			    "rule %s",
			    rule);
		else
			rc = asprintf(
			    &j, "approvald: rule %s approved: %s", rule, why);
		break;
	case SM_R_RULE:
		rc = asprintf(&j, "approvald: rule %s rejected: %s", rule, why);
		break;
	case SM_R_APPROVER_DENY:
		rc = asprintf(
		    &j, "approvald: denied by an approver (rule %s)", rule);
		break;
	case SM_R_TIMED_OUT:
		rc = asprintf(&j,
		    "approvald: timed out waiting for approvers "
		    "(rule %s)",
		    rule);
		break;
	case SM_R_NO_APPROVER:
		rc = asprintf(
		    &j, "approvald: no eligible approver (rule %s)", rule);
		break;
	default:
		rc = asprintf(&j, "approvald: canceled by an operator");
		break;
	}
	return rc == -1 ? NULL : j; /* j is undefined when asprintf failed */
}

static int
engine_in_flight(enum sm_state s)
{
	return s == SM_S_APPROVING || s == SM_S_REJECTING ||
	       s == SM_S_CANCELING;
}

/* A request approvald had not decided (or left to humans) before. */
static int
engine_undecided(enum sm_state s)
{
	return s == SM_S_NEW || s == SM_S_EVALUATING || s == SM_S_PENDING ||
	       s == SM_S_ESCALATED || s == SM_S_IGNORED;
}

/*
 * One log line per decision, whoever made it (issue 16): the policy's
 * verdict, a person's approve or deny (over the control socket, through a
 * decision link, or in Entra: `how`), the deny timer, no eligible
 * approver, a decision seen on Graph that approvald did not make, an
 * operator's cancel. Transitions that carry out a decision (the Graph
 * call, its read-back) are not decisions and say nothing here.
 */
static void
engine_log_decision(const struct store_request *r, const struct sm_event *ev,
    enum sm_state from, enum sm_state to, const char *how)
{
	const struct sm_principal *p = &ev->u.decision.who;
	const char *verdict, *who = "approvald";

	switch (ev->kind) {
	case SM_E_VERDICT_APPROVE:
	case SM_E_VERDICT_REJECT:
	case SM_E_VERDICT_IGNORE:
	case SM_E_VERDICT_STAGES:
		verdict =
		    r->verdict != NULL ? r->verdict : sm_event_name(ev->kind);
		who = r->rule != NULL ? r->rule : "default";
		how = "policy";
		break;
	case SM_E_DECISION_APPROVE:
	case SM_E_DECISION_DENY:
		verdict =
		    ev->kind == SM_E_DECISION_APPROVE ? "approve" : "deny";
		who = p->upn[0] != '\0'  ? p->upn
		      : p->id[0] != '\0' ? p->id
		                         : "-";
		if (how == NULL)
			how = ev->u.decision.via_graph ? "Entra" : "-";
		break;
	case SM_E_TIMER_DENY:
		if (from == to)
			return;
		verdict = "deny";
		how = "timeout";
		break;
	case SM_E_NO_APPROVER:
		verdict = "deny";
		how = "no eligible approver";
		break;
	case SM_E_GRAPH_APPROVED:
	case SM_E_GRAPH_REJECTED:
		/* decided on Graph by someone else: who is not known here
		 * (decide.c reads the step first when it can) */
		if (!engine_undecided(from) || from == to)
			return;
		verdict = ev->kind == SM_E_GRAPH_APPROVED ? "approve" : "deny";
		who = "-";
		how = "Entra";
		break;
	case SM_E_CANCEL:
		verdict = "cancel";
		who = "-";
		how = "operator";
		break;
	default:
		return;
	}
	log_decision(r->key, verdict, who, how, r->rule, sm_state_name(to));
}

static int engine_step(struct daemon *d, struct store_request *r,
    const struct sm_event *ev, const char *detail, const char *how, int put);

/*
 * Feed `ev` to request `r` (loaded from the store, updated in place) and
 * write the outcome in the open batch. Returns the sm_result.
 */
int
engine_event(struct daemon *d, struct store_request *r,
    const struct sm_event *ev, const char *detail)
{
	return engine_event_by(d, r, ev, detail, NULL);
}

/* engine_event for a decision that came in by `how` ("control socket",
 * "decision link", "Entra"; borrowed, may be NULL): the decision line
 * says so. */
int
engine_event_by(struct daemon *d, struct store_request *r,
    const struct sm_event *ev, const char *detail, const char *how)
{
	return engine_step(d, r, ev, detail, how, 1);
}

/* engine_event_by; with `put` 0 the request row is left to the caller,
 * which writes it once when it is done with the request in this batch
 * (engine_observe: the observation and the verdict that follows it). */
static int
engine_step(struct daemon *d, struct store_request *r,
    const struct sm_event *ev, const char *detail, const char *how, int put)
{
	struct sm_request next;
	struct sm_effects fx;
	const char *why = NULL;
	enum sm_result res;
	enum sm_state from = r->sm.state;
	int64_t now = clock_now(), id;
	struct store_intent open;
	size_t i;
	char *just;

	res = sm_step(&r->sm, ev, now, &next, &fx, &why);
	switch (res) {
	case SM_OK:
		break;
	case SM_NOOP:
		log_debug("request %s: %s in %s: no-op%s%s", r->key,
		    sm_event_name(ev->kind), sm_state_name(from),
		    why ? ": " : "", why ? why : "");
		return res;
	case SM_REFUSED:
		log_warnx("request %s: %s refused in %s: %s", r->key,
		    sm_event_name(ev->kind), sm_state_name(from),
		    why ? why : "guard");
		return res;
	default:
		log_warnx("request %s: no transition for %s in %s (bug); "
		          "nothing done",
		    r->key, sm_event_name(ev->kind), sm_state_name(from));
		return res;
	}
	if (store_begin(d->store) == -1)
		goto fail;
	batch_dirty(d);
	for (i = 0; i < fx.n; i++) {
		const struct sm_effect *f = &fx.v[i];

		switch (f->kind) {
		case SM_F_GRAPH_APPROVE:
		case SM_F_GRAPH_DENY:
		case SM_F_GRAPH_CANCEL:
			if (engine_intent_kind(f->kind) == NULL ||
			    (just = engine_justification(r, f)) == NULL)
				goto fail;
			if (store_intent_add(d->store, r->key,
			        engine_intent_kind(f->kind), just, now,
			        &id) == -1) {
				free(just);
				goto fail;
			}
			free(just);
			d->batch.has_intent = 1;
			engine_post(d, POST_EXEC, r->key, 0, 0, 0);
			break;
		case SM_F_READBACK:
			engine_post(d, POST_READBACK, r->key, 0, 0, 0);
			break;
		case SM_F_READ_DECIDER:
			log_info("request %s: stage %u decided on Graph; "
			         "reading who decided",
			    r->key, f->stage + 1);
			engine_post(d, POST_READ_DECIDER, r->key, 0, 0, 0);
			break;
		case SM_F_ARM_TIMER:
			if (store_timer_set(d->store, r->key, f->timer,
			        f->stage, f->at) == -1)
				goto fail;
			engine_post(
			    d, POST_ARM, r->key, f->timer, f->stage, f->at);
			break;
		case SM_F_CANCEL_TIMERS:
			if (store_timer_clear(d->store, r->key) == -1)
				goto fail;
			engine_post(d, POST_CANCEL, r->key, 0, 0, 0);
			break;
		case SM_F_NOTIFY:
			log_info("request %s: notify %s (stage %u)", r->key,
			    sm_notify_name(f->notify), f->stage + 1);
			if (notify_enqueue(d, r->key, f->notify, f->stage,
			        next.stage_started, now) == -1)
				goto fail;
			break;
		case SM_F_RESOLVE:
			log_info("request %s: stage %u pending approvers",
			    r->key, f->stage + 1);
			engine_post(d, POST_RESOLVE, r->key, 0, f->stage, 0);
			break;
		case SM_F_FORGET_APPROVERS:
			if (approvers_forget(d, r->key) == -1)
				goto fail;
			break;
		case SM_F_AUDIT:
		case SM_F_MAX:
			break;
		}
	}
	/* Leaving an in-flight state settles its intent. */
	if (engine_in_flight(from) && from != next.state &&
	    store_intent_open_for(d->store, r->key, &open) == 0) {
		int rc = store_intent_close(
		    d->store, open.id, sm_event_name(ev->kind), now);

		store_intent_clear(&open);
		if (rc == -1)
			goto fail;
	}
	if (ev->kind >= SM_E_RESULT_OK && ev->kind <= SM_E_RESULT_UNKNOWN)
		d->batch.has_result = 1;
	r->sm = next;
	r->updated = now;
	if ((put && store_request_put(d->store, r) == -1) ||
	    store_journal_add(d->store, r->key, now, sm_state_name(from),
	        sm_state_name(next.state), sm_event_name(ev->kind), r->rule,
	        detail) == -1 ||
	    audit_transition(d->store, r->key, now, sm_state_name(from),
	        sm_state_name(next.state), sm_event_name(ev->kind), r->rule,
	        r->verdict, detail) == -1)
		goto fail;
	d->transitions++;
	engine_log_decision(r, ev, from, next.state, how);
	if (from != next.state)
		log_transition(r->key, r->rule, sm_state_name(from),
		    sm_state_name(next.state), sm_event_name(ev->kind));
	return res;
fail:
	/* Nothing of this batch may be acted on: drop it whole. */
	log_warnx("store: cannot record %s for %s: %s; batch dropped",
	    sm_event_name(ev->kind), r->key, store_errmsg(d->store));
	store_rollback(d->store);
	for (i = 0; i < d->npost; i++)
		free(d->post[i].key);
	d->npost = 0;
	batch_forget_marks(d);
	return SM_INVALID;
}

static void
engine_verdict_event(const struct verdict *v, struct sm_event *ev)
{
	size_t i;

	memset(ev, 0, sizeof(*ev));
	switch (v->kind) {
	case VERDICT_APPROVE:
		ev->kind = SM_E_VERDICT_APPROVE;
		break;
	case VERDICT_REJECT:
		ev->kind = SM_E_VERDICT_REJECT;
		break;
	case VERDICT_STAGES:
		ev->kind = SM_E_VERDICT_STAGES;
		ev->u.stages.nstages = (uint32_t)v->nstages;
		for (i = 0; i < v->nstages && i < SM_MAX_STAGES; i++) {
			const struct policy_stage *s = &v->stages[i];
			struct sm_stage_params *p = &ev->u.stages.params[i];

			p->approvals = s->approvals;
			p->justification_required = s->justification_required;
			p->escalate_after = s->escalate_after;
			p->deny_after = s->deny_after;
			p->remind_every = s->remind_every;
		}
		break;
	default:
		ev->kind = SM_E_VERDICT_IGNORE;
		break;
	}
}

static void
engine_set(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? strdup(v) : NULL;
}

/* Requests whose lookups failed, waiting to be evaluated again. */
struct engine_retry {
	struct engine_retry *next;
	struct daemon *d;
	char *key;
	int attempts;
	struct event *ev;
};

#define ENGINE_CHURN_SLOTS  256
#define ENGINE_CHURN_MAX    8
#define ENGINE_CHURN_WINDOW 60

/* d->engine: requests whose evaluation was put off, and how often each
 * came back to evaluating lately (engine_churn). */
struct engine_state {
	struct engine_retry *retries;
	struct {
		unsigned h;
		int64_t t0;
		int n;
	} churn[ENGINE_CHURN_SLOTS];
};

/* d->engine, allocated on first use; NULL out of memory. */
static struct engine_state *
engine_st(struct daemon *d)
{
	if (d->engine == NULL)
		d->engine = calloc(1, sizeof(*d->engine));
	return d->engine;
}

static void
engine_retry_forget(struct daemon *d, const char *key)
{
	struct engine_retry *t, **pp;

	if (d->engine == NULL)
		return;
	for (pp = &d->engine->retries; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0) {
			t = *pp;
			*pp = t->next;
			event_free(t->ev);
			free(t->key);
			free(t);
			return;
		}
}

static void
engine_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine_retry *t = arg;

	(void)fd;
	(void)what;
	/* The entry stays (with its attempt count) until a verdict. */
	engine_wake(t->d, t->key);
}

/*
 * A request sent back to evaluating over and over (the executor's read-back
 * or the policy re-check keeps disagreeing with the verdict) must not spin:
 * more than ENGINE_CHURN_MAX returns within ENGINE_CHURN_WINDOW seconds and
 * it waits on its retry timer instead of being evaluated at once. Keys
 * share slots by hash; a collision can only delay a request, never hurry
 * one.
 */

int
engine_churn(struct daemon *d, const char *key, int64_t now)
{
	struct engine_state *es = engine_st(d);
	unsigned h = 5381;
	const char *p;
	size_t i;

	if (es == NULL)
		return 1; /* out of memory: put the evaluation off */

	for (p = key; *p; p++)
		h = h * 33 + (unsigned char)*p;
	i = h % ENGINE_CHURN_SLOTS;
	if (es->churn[i].h != h ||
	    now - es->churn[i].t0 > ENGINE_CHURN_WINDOW) {
		es->churn[i].h = h;
		es->churn[i].t0 = now;
		es->churn[i].n = 0;
	}
	return ++es->churn[i].n > ENGINE_CHURN_MAX;
}

/* Evaluate `r`, just sent back to evaluating by `why`, now, or on its
 * retry timer when it keeps coming back (engine_churn). */
int
engine_reevaluate(struct daemon *d, struct store_request *r, const char *why)
{
	if (engine_churn(d, r->key, clock_now())) {
		log_warnx("request %s: sent back to evaluating more than %d "
		          "times in %d s (%s); evaluated again later",
		    r->key, ENGINE_CHURN_MAX, ENGINE_CHURN_WINDOW, why);
		engine_retry_later(d, r->key);
		return SM_NOOP;
	}
	return engine_evaluate(d, r);
}

/* Has `key` a retry timer (an earlier evaluation was put off)? */
static int
engine_retry_armed(struct daemon *d, const char *key)
{
	struct engine_retry *t;

	for (t = d->engine != NULL ? d->engine->retries : NULL; t != NULL;
	     t = t->next)
		if (strcmp(t->key, key) == 0)
			return 1;
	return 0;
}

void
engine_retry_later(struct daemon *d, const char *key)
{
	struct engine_state *es = engine_st(d);
	struct engine_retry *t;
	struct timeval tv;
	long ms;

	if (es == NULL) {
		log_warnx("request %s: out of memory arming its retry; the "
		          "reconcile pass evaluates it again",
		    key);
		return;
	}
	for (t = es->retries; t != NULL; t = t->next)
		if (strcmp(t->key, key) == 0)
			break;
	if (t == NULL) {
		if ((t = calloc(1, sizeof(*t))) == NULL ||
		    (t->key = strdup(key)) == NULL ||
		    (t->ev = evtimer_new(d->base, engine_retry_cb, t)) ==
		        NULL) {
			if (t != NULL)
				free(t->key);
			free(t);
			log_warnx("request %s: out of memory arming its retry; "
			          "the reconcile pass evaluates it again",
			    key);
			return;
		}
		t->d = d;
		t->next = es->retries;
		es->retries = t;
	}
	if (evtimer_pending(t->ev, NULL))
		return;
	ms = backoff_jitter(
	    IDENT_RETRY_BASE_MS, IDENT_RETRY_MAX_MS, t->attempts++);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(t->ev, &tv);
	log_info("request %s: not evaluated yet; retry %d in %ldms", key,
	    t->attempts, ms);
}

void
engine_wake(struct daemon *d, const char *key)
{
	struct store_request r;

	memset(&r, 0, sizeof(r));
	if (d->stopping || store_begin(d->store) == -1)
		return;
	batch_dirty(d);
	if (store_request_get(d->store, key, &r) == 0 &&
	    r.sm.state == SM_S_EVALUATING)
		engine_evaluate(d, &r);
	else
		engine_retry_forget(d, key);
	store_request_clear(&r);
}

void
engine_free(struct daemon *d)
{
	if (d->engine == NULL)
		return;
	while (d->engine->retries != NULL)
		engine_retry_forget(d, d->engine->retries->key);
	free(d->engine);
	d->engine = NULL;
}

/* The state machine's requestor: the resolved one (object id and UPN);
 * for an unverified request the raw key, which matches no approver. */
static void
engine_requestor(struct store_request *r, const struct request *q)
{
	struct sm_principal *p = &r->sm.requestor;

	memset(p, 0, sizeof(*p));
	if (q->who.id != NULL) {
		snprintf(p->id, sizeof(p->id), "%s", q->who.id);
		if (q->who.upn != NULL)
			snprintf(p->upn, sizeof(p->upn), "%s", q->who.upn);
	} else if (q->requestor_key != NULL)
		snprintf(p->upn, sizeof(p->upn), "%s", q->requestor_key);
}

/* Decide a request in EVALUATING with the current policy; `parsed` is its
 * body already normalized (consumed), or NULL to read r->body. Its identity
 * is resolved first (stored with the request, or looked up: then nothing is
 * decided until the lookup is in). SM_OK when the record was written,
 * SM_NOOP when nothing was (not evaluating, or undecidable for now: a
 * lookup or a retry timer will evaluate it again), SM_INVALID when the
 * batch failed. */
static int
engine_evaluate_parsed(
    struct daemon *d, struct store_request *r, struct request *parsed)
{
	struct request req;
	struct verdict v;
	struct sm_event ev;
	struct member_ctx mc = { d, r->key };
	char *err = NULL, *id, *stages = NULL, detail[256];
	int64_t now;
	int rc;

	if (r->sm.state != SM_S_EVALUATING) {
		if (parsed != NULL)
			request_free(parsed);
		return SM_NOOP;
	}
	memset(&req, 0, sizeof(req));
	if (parsed != NULL)
		req = *parsed;
	else if (ident_request(r, &req, &err) == -1) {
		/* A read that fails validation may be transient (issue 14,
		 * item 15): never a verdict. The request stays undecided and
		 * is evaluated again on its retry timer, with whatever body
		 * the next poll stored; logged once, then counted. */
		if (!engine_retry_armed(d, r->key))
			log_warnx("request %s: cannot be read (%s); not "
			          "decided, read again later",
			    r->key, err ? err : "no body");
		metrics_bad_read(
		    d, req_source_name((enum req_source)r->source), "request");
		free(err);
		request_free(&req);
		engine_retry_later(d, r->key);
		return SM_NOOP;
	}
	if (req.identity == REQ_ID_UNCHECKED &&
	    ident_resolve(d, r->key, &req) == 0) {
		log_debug("request %s: waiting for its identity", r->key);
		request_free(&req);
		return SM_NOOP;
	}
	if (req.identity == REQ_ID_UNCHECKED) {
		/* By construction never: identity conditions would be
		 * undecidable. Do not evaluate. */
		log_warnx("request %s: evaluation without a resolved identity "
		          "refused (bug)",
		    r->key);
		request_free(&req);
		engine_retry_later(d, r->key);
		return SM_NOOP;
	}
	/* The verdict is recorded with the identity it was reached on. */
	if ((id = ident_encode(&req)) == NULL) {
		request_free(&req);
		engine_retry_later(d, r->key);
		return SM_NOOP;
	}
	free(r->identity);
	r->identity = id;
	engine_requestor(r, &req);
	now = clock_now();
	policy_evaluate(d->policy, &req, now, member_policy_fn, &mc, &v, NULL);
	request_digest(&req, r->digest);
	if (v.kind == VERDICT_INDETERMINATE) {
		log_warnx("request %s: rule %s could not be decided; not "
		          "approved, retried later",
		    r->key, v.rule ? v.rule : "-");
		request_free(&req);
		/* A membership lookup wakes it; the timer is the backstop. */
		engine_retry_later(d, r->key);
		return SM_NOOP;
	}
	if (req.identity == REQ_ID_UNVERIFIED)
		log_info("request %s: identity unverified: %s could not be "
		         "resolved to one directory user",
		    r->key, ident_unresolved_key(&req));
	request_free(&req);
	/* The stages as this evaluation gave them, stored with the verdict:
	 * approvers, eligibility and summaries read them, never the policy
	 * evaluated again at another time (issue 15). A stages verdict that
	 * cannot be stored is not recorded: evaluated again later. */
	if (v.kind == VERDICT_STAGES &&
	    (stages = policy_stages_encode(&v, now)) == NULL) {
		log_warnx("request %s: the stages of rule %s cannot be stored; "
		          "not decided, retried later",
		    r->key, v.rule ? v.rule : "-");
		engine_retry_later(d, r->key);
		return SM_NOOP;
	}
	free(r->stages);
	r->stages = stages;
	engine_set(&r->rule, v.rule);
	engine_set(&r->verdict, verdict_name(v.kind));
	engine_set(&r->reason, v.reason);
	/* What decided, to notice when a reload decides otherwise. */
	reload_fingerprint(&v, r->fingerprint);
	engine_verdict_event(&v, &ev);
	snprintf(detail, sizeof(detail), "verdict %s by rule %s",
	    verdict_name(v.kind), v.rule ? v.rule : "default");
	d->decisions++;
	metrics_decision(d, v.rule, verdict_name(v.kind));
	rc = engine_event(d, r, &ev, detail);
	if (rc == SM_OK)
		engine_retry_forget(d, r->key);
	return rc;
}

int
engine_evaluate(struct daemon *d, struct store_request *r)
{
	return engine_evaluate_parsed(d, r, NULL);
}

int
engine_retry(struct daemon *d, const char *key, const char *who)
{
	struct store_request r;
	struct sm_event ev;
	char detail[192];
	int rc;

	memset(&r, 0, sizeof(r));
	if (store_begin(d->store) == -1)
		return -1;
	batch_dirty(d);
	if ((rc = store_request_get(d->store, key, &r)) != 0) {
		store_request_clear(&r);
		return rc == 1 ? 2 : -1;
	}
	if (r.sm.state != SM_S_ATTENTION) {
		store_request_clear(&r);
		return 1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = SM_E_RETRY;
	snprintf(detail, sizeof(detail), "retry by %s", who);
	log_info("request %s: %s", key, detail);
	if (engine_event(d, &r, &ev, detail) != SM_OK) {
		store_request_clear(&r);
		return -1;
	}
	engine_retry_forget(d, key);
	if (r.sm.state == SM_S_EVALUATING)
		engine_evaluate(d, &r);
	store_request_clear(&r);
	return 0;
}

/* Is who decided `key` on Graph being read, or to be read once the open
 * batch commits (statemachine: SM_F_READ_DECIDER)? */
static int
engine_reading_decider(struct daemon *d, const char *key)
{
	size_t i;

	for (i = 0; i < d->npost; i++)
		if (d->post[i].kind == POST_READ_DECIDER &&
		    strcmp(d->post[i].key, key) == 0)
			return 1;
	return decide_graph_reading(d, key);
}

/*
 * An observation from a poll: request `gid` of `src` has Graph status
 * `status`. With `body` NULL and the request unknown, returns 1: the caller
 * fetches it and calls again with the body. 0 done, -1 error.
 */
int
engine_observe(struct daemon *d, enum req_source src, const char *gid,
    const char *status, const char *body)
{
	const struct source_adapter *ad = adapter_for(src);
	struct store_request r;
	struct sm_event ev;
	struct sm_principal who;
	struct request req;
	char *key, *err = NULL;
	int rc, ret = -1, changed, saved, parsed = 0;

	if ((key = source_key(src, gid)) == NULL)
		return -1;
	memset(&r, 0, sizeof(r));
	if (store_begin(d->store) == -1)
		goto out;
	batch_dirty(d);
	rc = store_request_get(d->store, key, &r);
	if (rc == -1)
		goto out;
	if (rc == 1) {
		if (body == NULL) {
			ret = 1;
			goto out;
		}
		/* The requestor is set from the resolved identity when the
		 * request is evaluated, never from the body. */
		memset(&who, 0, sizeof(who));
		if (request_from_json(body, strlen(body), src, &req, &err) ==
		    0) {
			r.approval_id =
			    req.approval_id ? strdup(req.approval_id) : NULL;
			parsed = 1; /* evaluated below without a second parse */
		} else
			request_free(&req);
		free(err);
		r.key = key;
		key = NULL;
		r.source = src;
		r.gid = strdup(gid);
		if (r.approval_id == NULL)
			r.approval_id = strdup(gid);
		r.created = r.updated = clock_now();
		sm_init(&r.sm, &who);
		log_info("request %s: new (%s)", r.key, status);
	}
	/* Re-observing an unchanged status (the overlap window, granting ->
	 * granted) must not rewrite the record. */
	changed = rc == 1 || body != NULL || r.graph_status == NULL ||
	          strcmp(r.graph_status, status) != 0;
	if (body != NULL)
		engine_set(&r.body, body);
	engine_set(&r.graph_status, status);
	memset(&ev, 0, sizeof(ev));
	ev.kind = ad->observe(status);
	if (ev.kind == SM_E_GRAPH_APPROVED || ev.kind == SM_E_GRAPH_REJECTED)
		ev.u.graph.decider_reading = engine_reading_decider(d, r.key);
	rc = engine_step(d, &r, &ev, status, NULL, 0);
	if (rc == SM_INVALID && !store_in_batch(d->store))
		goto out;
	/* the row is written once, below, unless the verdict wrote it */
	changed = changed || rc == SM_OK;
	saved = 0;
	if (r.sm.state == SM_S_EVALUATING) {
		rc = engine_evaluate_parsed(d, &r, parsed ? &req : NULL);
		parsed = 0;
		if (rc == SM_INVALID && !store_in_batch(d->store))
			goto out;
		saved = rc == SM_OK;
	}
	if (!store_in_batch(d->store))
		goto out;
	/* Persist a new or changed record even when the event was a no-op. */
	if (changed && !saved && store_request_put(d->store, &r) == -1)
		goto out;
	ret = 0;
out:
	if (parsed)
		request_free(&req);
	free(key);
	store_request_clear(&r);
	return ret;
}

static const struct engine_ops engine_ops = {
	.observe = engine_observe,
	.event = engine_event,
	.evaluate = engine_evaluate,
	.reevaluate = engine_reevaluate,
	.wake = engine_wake,
	.retry_later = engine_retry_later,
	.post_exec = engine_post_exec,
	.decide = decide_submit,
	.recheck_approve = reload_recheck_approve,
};

void
engine_init(struct daemon *d)
{
	d->eng = &engine_ops;
	d->batch.committed = engine_committed;
	d->batch.dropped = engine_dropped;
}
