/*
 * Executor: carries out committed intents exactly once.
 *
 * Before every approve/deny/cancel the request is read back from Graph:
 * a status that moved elsewhere, or an approval step already decided, is
 * recorded instead of acting; an approve whose policy-visible fields
 * changed is re-evaluated, and so is one that the policy in force would
 * no longer approve (reload.c), checked just before the call is sent.
 * Graph answers a decision or a cancel with 204 No Content; any other
 * answer, a 2xx included, is an unknown outcome (as timeouts, resets and
 * 5xx are): after it, or a 409, the state machine asks for another
 * read-back: nothing is ever resent blindly. Throttling (429, 503) is no
 * failure: the operation waits for Retry-After (or backs off), gives the
 * attempt back and reads back again, however often that takes. A
 * read-back that fails is tried again with a growing delay, at most
 * EXEC_READBACK_MAX times, then the request needs attention with the
 * reason; while a credential gives no token nothing reaches Graph, and
 * the operation waits for it without using that budget (the token
 * circuit paces the attempts). One operation per request at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "effects.h"
#include "limits.h"
#include "log.h"

#define EXEC_BUCKETS 4096

struct exec_op {
	struct exec_op *next; /* hash chain */
	struct daemon *d;
	char *key;
	int readback_only;
	int again, again_readback;
	int reconcile;
	int throttled; /* 429/503 answers in a row */
	int readfails; /* failed read-backs (bounded: EXEC_READBACK_MAX) */
	int64_t readfail_since;
	int tokwait; /* waits for a token in a row (not bounded) */
	struct event *delay;
};

struct exec_state {
	struct exec_op *table[EXEC_BUCKETS];
	struct exec_batch *pending[REQ_SRC_MAX];
	struct event *flush_ev;
};

/*
 * Read-backs of several requests of one source go out as one call where
 * the adapter can (fetch_many): the operations started in one loop turn —
 * typically every intent of one committed batch — are gathered and sent
 * when the turn ends.
 */
#define EXEC_BATCH_MAX 32

struct exec_batch {
	struct daemon *d;
	enum req_source source;
	size_t n;
	struct exec_op *ops[EXEC_BATCH_MAX];
	char *gids[EXEC_BATCH_MAX];
};

static unsigned
exec_hash(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % EXEC_BUCKETS;
}

static struct exec_op *
exec_find(struct exec_state *xs, const char *key)
{
	struct exec_op *op;

	if (xs == NULL)
		return NULL;
	for (op = xs->table[exec_hash(key)]; op != NULL; op = op->next)
		if (strcmp(op->key, key) == 0)
			return op;
	return NULL;
}

int
exec_busy(struct daemon *d, const char *key)
{
	struct exec_state *xs = d->exec;
	return exec_find(xs, key) != NULL;
}

size_t
exec_inflight(struct daemon *d)
{
	return d->nops;
}

static void exec_fetch(struct exec_op *op);
static void exec_start(struct exec_op *op, int first);

static void
exec_done(struct exec_op *op)
{
	struct daemon *d = op->d;
	struct exec_state *xs = d->exec;
	struct exec_op **pp;
	int again = op->again, rb = op->again_readback;
	char *key = op->key;

	for (pp = &xs->table[exec_hash(key)]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			break;
		}
	d->nops--;
	if (op->delay)
		event_free(op->delay);
	free(op);
	if (again && !d->stopping)
		exec_request(d, key, rb);
	free(key);
	if (!d->reconciled && d->nops == 0) {
		d->reconciled = 1;
		log_info("reconcile: every open intent settled with Graph");
		poll_init(d);
	}
	if (d->stopping && d->nops == 0)
		event_base_loopexit(d->base, NULL);
}

static void
exec_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	exec_fetch(arg);
}

/* Read back and act again in `ms` milliseconds. */
static void
exec_wait(struct exec_op *op, long ms)
{
	struct timeval tv;

	if (op->d->stopping) {
		exec_done(op);
		return;
	}
	if (op->delay == NULL &&
	    (op->delay = evtimer_new(op->d->base, exec_delay_cb, op)) == NULL) {
		exec_done(op);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(op->delay, &tv);
}

/* Try again later (transient read failure), with jittered backoff. */
static void
exec_retry(struct exec_op *op, int attempt)
{
	exec_wait(op, backoff_jitter(GRAPH_BACKOFF_BASE_MS,
	                  GRAPH_BACKOFF_MAX_MS, attempt));
}

/* Load the request and its open intent; 0 ok, 1 nothing to do, -1 error. */
static int
exec_load(struct exec_op *op, struct store_request *r, struct store_intent *i)
{
	int rc;

	memset(r, 0, sizeof(*r));
	memset(i, 0, sizeof(*i));
	if ((rc = store_request_get(op->d->store, op->key, r)) != 0)
		return rc;
	if ((rc = store_intent_open_for(op->d->store, op->key, i)) != 0) {
		store_request_clear(r);
		return rc;
	}
	return 0;
}

/* Feed an event to the stored request in the open batch. */
static void
exec_feed(struct exec_op *op, enum sm_event_kind kind, const char *detail)
{
	struct store_request r;
	struct sm_event ev;

	memset(&r, 0, sizeof(r));
	if (store_begin(op->d->store) == -1 ||
	    store_request_get(op->d->store, op->key, &r) != 0) {
		log_warnx("exec %s: cannot load request: %s", op->key,
		    store_errmsg(op->d->store));
		store_request_clear(&r);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	op->d->eng->event(op->d, &r, &ev, detail);
	store_request_clear(&r);
}

/*
 * No token to send a call with (the credential's circuit is open):
 * nothing reached Graph. Wait for it, logging once per operation; the
 * token manager paces its own attempts (token.c).
 */
static void
exec_token_wait(struct exec_op *op, const char *what, const char *err)
{
	if (op->tokwait++ == 0)
		log_warnx("exec %s: waiting for a token to %s (%s)", op->key,
		    what, err);
	exec_wait(op, backoff_jitter(GRAPH_BACKOFF_BASE_MS,
	                  EXEC_TOKEN_WAIT_MAX_MS, op->tokwait));
}

void
exec_token_ready(struct daemon *d)
{
	struct exec_state *xs = d->exec;
	struct exec_op *op;
	struct timeval now = { 0, 0 };
	size_t b;

	for (b = 0; b < EXEC_BUCKETS; b++)
		for (op = xs->table[b]; op != NULL; op = op->next)
			if (op->tokwait > 0 && op->delay != NULL &&
			    evtimer_pending(op->delay, NULL)) {
				op->tokwait = 0;
				evtimer_add(op->delay, &now);
			}
}

/*
 * A read-back failed (`what`: which read). Tried again with a growing
 * delay, EXEC_READBACK_MAX times in all; then the request needs attention
 * with what happened, and `approvalctl retry` drives it again. One log
 * line when it starts failing and one when it gives up.
 */
static void
exec_read_failed(
    struct exec_op *op, const char *what, long status, const char *err)
{
	char detail[512];
	int64_t now = clock_now();

	if (status == 0 && call_err_no_token(err)) {
		exec_token_wait(op, what, err);
		return;
	}
	if (op->readfails++ == 0) {
		op->readfail_since = now;
		log_warnx("exec %s: cannot %s: %ld%s%s; reading again with "
		          "back-off (at most %d times)",
		    op->key, what, status, err ? " " : "", err ? err : "",
		    EXEC_READBACK_MAX);
	} else
		log_debug("exec %s: cannot %s (%d): %ld %s", op->key, what,
		    op->readfails, status, err ? err : "");
	if (op->readfails < EXEC_READBACK_MAX) {
		exec_retry(op, op->readfails);
		return;
	}
	if (status > 0)
		snprintf(detail, sizeof(detail),
		    "could not %s: %d reads failed over %llds, the last "
		    "answered %ld%s%.200s",
		    what, op->readfails, (long long)(now - op->readfail_since),
		    status, err ? ": " : "", err ? err : "");
	else
		snprintf(detail, sizeof(detail),
		    "could not %s: %d reads failed over %llds, the last with "
		    "no answer%s%.200s",
		    what, op->readfails, (long long)(now - op->readfail_since),
		    err ? ": " : "", err ? err : "");
	log_warnx("exec %s: %s; needs attention (approvalctl retry %s)",
	    op->key, detail, op->key);
	exec_feed(op, SM_E_RESULT_FAILED, detail);
	exec_done(op);
}

/*
 * Graph did not take the call up (429, 503): no attempt is used. Wait for
 * Retry-After (seconds or HTTP-date, capped in graph.c; the gate there
 * holds every call meanwhile), or back off when there is none, then read
 * back and act again. The intent stays open, so a restart meanwhile
 * reconciles it as usual.
 */
/* The call was not taken up: give its attempt back. */
static void
exec_unattempt(struct exec_op *op)
{
	struct daemon *d = op->d;
	struct store_intent i;

	memset(&i, 0, sizeof(i));
	if (store_intent_open_for(d->store, op->key, &i) == 0) {
		if (store_begin(d->store) == 0 &&
		    store_intent_unattempt(d->store, i.id) == 0)
			batch_dirty(d);
		else
			log_warnx("exec %s: cannot give the attempt back: %s",
			    op->key, store_errmsg(d->store));
	}
	store_intent_clear(&i);
}

static void
exec_throttled(struct exec_op *op, long status)
{
	double ra = call_retry_after(op->d);
	long ms;

	if (ra >= 0)
		ms = (long)(ra * 1000.0 + 0.5);
	else
		ms = backoff_jitter(
		    GRAPH_BACKOFF_BASE_MS, GRAPH_BACKOFF_MAX_MS, op->throttled);
	if (op->throttled++ == 0)
		log_warnx("exec %s: Graph answered %ld (throttled); again in "
		          "%ldms, as long as it takes",
		    op->key, status, ms);
	else
		log_debug("exec %s: Graph answered %ld (throttled %d in a "
		          "row); again in %ldms",
		    op->key, status, op->throttled, ms);
	exec_unattempt(op);
	exec_wait(op, ms);
}

static void
exec_acted(void *arg, long status, const char *body, const char *err)
{
	struct exec_op *op = arg;
	enum sm_event_kind k;
	char detail[512], gerr[240];

	crash_point("patch-sent");
	if (graph_outcome(status) == GRAPH_OUTCOME_THROTTLED) {
		exec_throttled(op, status);
		return;
	}
	op->throttled = 0;
	if (status == 0 && call_err_no_token(err)) {
		/* Nothing was sent: not an attempt, not an unknown outcome. */
		exec_unattempt(op);
		exec_token_wait(op, "send the decision", err);
		return;
	}
	switch (graph_outcome(status)) {
	case GRAPH_OUTCOME_OK:
		k = SM_E_RESULT_OK;
		break;
	case GRAPH_OUTCOME_CONFLICT:
		k = SM_E_RESULT_CONFLICT;
		break;
	case GRAPH_OUTCOME_REFUSED:
		k = SM_E_RESULT_FAILED;
		break;
	default:
		k = SM_E_RESULT_UNKNOWN;
		break;
	}
	call_error_summary(body, gerr, sizeof(gerr));
	if (status == 0)
		snprintf(detail, sizeof(detail), "no answer from Graph%s%.200s",
		    err ? ": " : "", err ? err : "");
	else
		snprintf(detail, sizeof(detail),
		    "Graph answered %ld%s%s%s%.120s", status,
		    gerr[0] ? " " : "", gerr, err ? ": " : "", err ? err : "");
	if (k != SM_E_RESULT_OK)
		log_warnx("exec %s: %s", op->key, detail);
	exec_feed(op, k, detail);
	exec_done(op);
}

/* Send the action itself; the step is known to be undecided. */
static void
exec_act(struct exec_op *op, const char *step_id)
{
	struct daemon *d = op->d;
	struct store_request r;
	struct store_intent i;
	const struct source_adapter *ad;
	int rc, kind;

	if (exec_load(op, &r, &i) != 0) {
		exec_done(op);
		return;
	}
	ad = adapter_for(r.source);
	if ((kind = intent_kind_from_name(i.kind)) < 0) {
		/* A damaged row: never guess what to send. */
		log_warnx("exec %s: intent of unknown kind `%s`; nothing sent",
		    op->key, i.kind ? i.kind : "(none)");
		exec_feed(op, SM_E_RESULT_FAILED,
		    "the stored intent names no known action; nothing sent");
		goto out;
	}
	if (i.attempts >= INTENT_MAX_ATTEMPTS) {
		char detail[128];

		snprintf(detail, sizeof(detail),
		    "Graph did not confirm the %s after %d attempts", i.kind,
		    i.attempts);
		log_warnx("exec %s: %s; needs attention", op->key, detail);
		exec_feed(op, SM_E_RESULT_FAILED, detail);
		goto out;
	}
	/* Fail closed: the last look at the policy before Graph hears an
	 * approve; one that no longer follows from it is re-evaluated. */
	if (kind == INTENT_APPROVE &&
	    (rc = d->eng->recheck_approve(d, &r)) != 1) {
		if (rc == 0)
			goto out;
		exec_retry(op, 1);
		goto keep;
	}
	/* The intent is already durable; the attempt count only bounds
	 * retries, so it rides in the next batch. */
	if (store_begin(d->store) == -1 ||
	    store_intent_attempt(d->store, i.id) == -1) {
		exec_retry(op, 1);
		goto keep;
	}
	batch_dirty(d);
	log_debug("exec %s: %s on Graph", op->key, i.kind);
	if (kind == INTENT_CANCEL)
		ad->cancel(d, r.gid, exec_acted, op);
	else
		ad->decide(d, r.approval_id ? r.approval_id : r.gid, step_id,
		    kind == INTENT_APPROVE, i.justification, exec_acted, op);
	goto keep;
out:
	exec_done(op);
keep:
	store_request_clear(&r);
	store_intent_clear(&i);
}

static void
exec_stepped(
    void *arg, long status, const struct step_info *si, const char *err)
{
	struct exec_op *op = arg;
	char detail[256];

	if (op->reconcile)
		crash_point("reconcile");
	if (status != 200 || si == NULL) {
		if (status == 404) {
			log_warnx("exec %s: the approval is not on Graph (404)",
			    op->key);
			exec_feed(op, SM_E_RESULT_FAILED,
			    "Graph answered 404: the approval is not there");
			exec_done(op);
		} else
			exec_read_failed(
			    op, "read the approval step", status, err);
		return;
	}
	if (!si->found || si->id == NULL) {
		exec_feed(op, SM_E_RESULT_FAILED,
		    "Graph shows no approval step in progress to decide");
		exec_done(op);
		return;
	}
	if (si->result != REVIEW_NONE && si->result != REVIEW_NOT_REVIEWED) {
		snprintf(detail, sizeof(detail), "step %s by %s", si->review,
		    si->reviewer_upn  ? si->reviewer_upn
		    : si->reviewer_id ? si->reviewer_id
		                      : "unknown");
		exec_feed(op,
		    si->result == REVIEW_APPROVED ? SM_E_GRAPH_APPROVED
		    : si->result == REVIEW_DENIED ? SM_E_GRAPH_REJECTED
		                                  : SM_E_GRAPH_UNKNOWN,
		    detail);
		exec_done(op);
		return;
	}
	if (si->not_mine) {
		log_warnx("exec %s: approvald's account is not an approver of "
		          "the current Entra stage (%s); nothing sent",
		    op->key, si->id);
		exec_feed(op, SM_E_RESULT_FAILED,
		    "approvald's account is not an approver of the current "
		    "Entra stage");
		exec_done(op);
		return;
	}
	exec_act(op, si->id);
}

static void
exec_fetched(void *arg, long status, const char *body, const char *err)
{
	struct exec_op *op = arg;
	struct daemon *d = op->d;
	struct store_request r;
	struct store_intent i;
	struct json_object *o = NULL, *v;
	struct request req;
	char digest[65], *perr = NULL;
	const char *st;
	const struct source_adapter *ad;
	struct sm_event ev;

	if (status != 200 || body == NULL) {
		if (status == 404) {
			log_warnx(
			    "exec %s: request no longer on Graph", op->key);
			exec_feed(op, SM_E_RESULT_FAILED,
			    "Graph answered 404: the request is not there");
			exec_done(op);
			return;
		}
		exec_read_failed(op, "read the request back", status, err);
		return;
	}
	if (exec_load(op, &r, &i) != 0) {
		exec_done(op);
		return;
	}
	ad = adapter_for(r.source);
	if ((o = json_tokener_parse(body)) == NULL) {
		exec_read_failed(
		    op, "read the request back", status, "unreadable JSON");
		goto out;
	}
	st = json_object_object_get_ex(
	         o, ad->status_field ? ad->status_field : "statusDetail", &v)
	         ? json_object_get_string(v)
	         : NULL;
	if (ad->observe(st) != SM_E_GRAPH_SUBMITTED) {
		/* Moved on Graph: record what it says instead of acting. */
		d->eng->observe(d, r.source, r.gid, st ? st : "unknown", NULL);
		exec_done(op);
		goto out;
	}
	if (intent_kind_from_name(i.kind) == INTENT_APPROVE) {
		memset(&req, 0, sizeof(req));
		if (request_from_json(
		        body, strlen(body), r.source, &req, &perr) == -1) {
			log_warnx("exec %s: request unreadable now (%s); not "
			          "approved",
			    op->key, perr);
			free(perr);
			request_free(&req);
			digest[0] = '\0';
		} else {
			request_digest(&req, digest);
			request_free(&req);
		}
		if (strcmp(digest, r.digest) != 0) {
			log_warnx("exec %s: request changed since it was "
			          "decided; re-evaluating",
			    op->key);
			free(r.body);
			r.body = strdup(body);
			memset(&ev, 0, sizeof(ev));
			ev.kind = SM_E_REEVALUATE;
			if (store_begin(d->store) == 0 &&
			    d->eng->event(d, &r, &ev, "request changed") ==
			        SM_OK)
				d->eng->reevaluate(d, &r, "request changed");
			exec_done(op);
			goto out;
		}
	}
	if (intent_kind_from_name(i.kind) == INTENT_CANCEL)
		exec_act(op, NULL);
	else
		ad->read_step(
		    d, r.approval_id ? r.approval_id : r.gid, exec_stepped, op);
out:
	json_object_put(o);
	store_request_clear(&r);
	store_intent_clear(&i);
}

static void
exec_batch_free(struct exec_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->gids[i]);
	free(b);
}

static void
exec_many_done(void *arg, long status, struct json_object *items, int complete,
    const char *err)
{
	struct exec_batch *b = arg;
	const struct source_adapter *ad = adapter_for(b->source);
	struct json_object *item;
	size_t i;

	for (i = 0; i < b->n; i++) {
		struct exec_op *op = b->ops[i];

		/* 400 and "not in this page" both fetch the one request */
		/* NOLINTBEGIN(bugprone-branch-clone) */
		if (status == 400)
			ad->fetch(b->d, b->gids[i], exec_fetched, op);
		else if (status != 200 || items == NULL)
			exec_fetched(op, status, NULL, err);
		else if ((item = adapter_find_id(items, b->gids[i])) != NULL)
			exec_fetched(op, 200,
			    json_object_to_json_string_ext(
			        item, JSON_C_TO_STRING_PLAIN),
			    NULL);
		else if (complete)
			exec_fetched(op, 404, NULL, "request not found");
		else
			ad->fetch(b->d, b->gids[i], exec_fetched, op);
		/* NOLINTEND(bugprone-branch-clone) */
	}
	exec_batch_free(b);
}

/* Send a gathered batch (taken over). */
static void
exec_batch_send(struct exec_batch *b)
{
	const struct source_adapter *ad = adapter_for(b->source);

	if (b->n == 1) {
		ad->fetch(b->d, b->gids[0], exec_fetched, b->ops[0]);
		exec_batch_free(b);
		return;
	}
	ad->fetch_many(b->d, b->gids, b->n, exec_many_done, b);
}

static void
exec_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct exec_state *xs = d->exec;
	size_t s;
	struct exec_batch *b;

	for (s = 0; s < REQ_SRC_MAX; s++)
		if ((b = xs->pending[s]) != NULL) {
			xs->pending[s] = NULL;
			exec_batch_send(b);
		}
}

/* Gather the read-back of `op` (request `gid`); 0, or -1 to send it
 * alone. */
static int
exec_gather(struct exec_op *op, const struct source_adapter *ad,
    enum req_source src, const char *gid)
{
	struct daemon *d = op->d;
	struct exec_state *xs = d->exec;
	struct exec_batch *b = xs->pending[src];
	size_t max = ad->fetch_many_max < EXEC_BATCH_MAX ? ad->fetch_many_max
	                                                 : EXEC_BATCH_MAX;

	if (ad->fetch_many == NULL || max < 2)
		return -1;
	if (xs->flush_ev == NULL && (xs->flush_ev = event_new(d->base, -1, 0,
	                                 exec_flush_cb, d)) == NULL)
		return -1;
	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return -1;
		b->d = d;
		b->source = src;
		xs->pending[src] = b;
	}
	if ((b->gids[b->n] = strdup(gid)) == NULL)
		return -1;
	b->ops[b->n++] = op;
	if (b->n == max) {
		xs->pending[src] = NULL;
		exec_batch_send(b);
	} else if (!event_pending(xs->flush_ev, EV_TIMEOUT, NULL))
		event_active(xs->flush_ev, EV_TIMEOUT, 1);
	return 0;
}

static void
exec_fetch(struct exec_op *op)
{
	exec_start(op, 0);
}

/* Read the request back from Graph (gathered with others of its source);
 * at the start of an operation (`first`), one whose intent was attempted
 * before waits a little first: jittered, growing. */
static void
exec_start(struct exec_op *op, int first)
{
	struct store_request r;
	struct store_intent i;
	const struct source_adapter *ad;
	int rc;

	if ((rc = exec_load(op, &r, &i)) != 0) {
		if (rc == -1)
			log_warnx(
			    "exec %s: %s", op->key, store_errmsg(op->d->store));
		exec_done(op);
		return;
	}
	if (first && i.attempts > 0) {
		exec_retry(op, i.attempts);
		store_request_clear(&r);
		store_intent_clear(&i);
		return;
	}
	ad = adapter_for(r.source);
	if (exec_gather(op, ad, r.source, r.gid) == -1)
		ad->fetch(op->d, r.gid, exec_fetched, op);
	store_request_clear(&r);
	store_intent_clear(&i);
}

/* Start (or queue behind the running one) an operation for `key`. */
void
exec_request(struct daemon *d, const char *key, int readback_only)
{
	struct exec_state *xs = d->exec;
	struct exec_op *op;
	unsigned h;

	if ((op = exec_find(xs, key)) != NULL) {
		op->again = 1;
		op->again_readback |= readback_only;
		return;
	}
	if (d->stopping)
		return;
	if ((op = calloc(1, sizeof(*op))) == NULL ||
	    (op->key = strdup(key)) == NULL) {
		free(op);
		log_warnx("exec %s: out of memory; left to reconcile", key);
		return;
	}
	op->d = d;
	op->readback_only = readback_only;
	op->reconcile = !d->reconciled;
	h = exec_hash(key);
	op->next = xs->table[h];
	xs->table[h] = op;
	d->nops++;
	exec_start(op, 1);
}

static int
exec_reconcile_one(void *arg, const struct store_intent *i)
{
	struct daemon *d = arg;

	if (!exec_busy(d, i->key))
		d->eng->post_exec(d, i->key);
	return 0;
}

static int
exec_reevaluate_one(void *arg, const struct store_request *r)
{
	struct daemon *d = arg;
	struct store_request copy;

	if (store_request_get(d->store, r->key, &copy) == 0) {
		d->eng->evaluate(d, &copy);
		store_request_clear(&copy);
	}
	return 0;
}

/* Settle every open intent with Graph; re-decide undecided requests. */
void
exec_reconcile(struct daemon *d)
{
	if (store_begin(d->store) == -1)
		return;
	batch_dirty(d);
	store_intent_each_open(d->store, exec_reconcile_one, d);
	store_request_each(
	    d->store, sm_state_name(SM_S_EVALUATING), exec_reevaluate_one, d);
}

void
exec_free(struct daemon *d)
{
	struct exec_state *xs = d->exec;
	size_t b;
	struct exec_op *op, *next;

	if (xs == NULL)
		return;
	for (b = 0; b < REQ_SRC_MAX; b++)
		if (xs->pending[b] != NULL) {
			exec_batch_free(xs->pending[b]);
			xs->pending[b] = NULL;
		}
	if (xs->flush_ev != NULL) {
		event_free(xs->flush_ev);
		xs->flush_ev = NULL;
	}
	for (b = 0; b < EXEC_BUCKETS; b++) {
		for (op = xs->table[b]; op != NULL; op = next) {
			next = op->next;
			if (op->delay)
				event_free(op->delay);
			free(op->key);
			free(op);
		}
		xs->table[b] = NULL;
	}
	d->nops = 0;
	free(xs);
	d->exec = NULL;
}

/* Allocate d->exec (before any other exec_ call); -1 out of memory. */
int
exec_init(struct daemon *d)
{
	if (d->exec == NULL && (d->exec = calloc(1, sizeof(*d->exec))) == NULL)
		return -1;
	return 0;
}
