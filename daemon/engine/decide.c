/*
 * Human decisions, one path for all of them: `approvalctl decide` over the
 * control socket, a signed decision link (links.c), and a decision made in
 * Entra itself. The first two come through decide_submit(): a decider in
 * the stage's stored set is checked on Graph first (eligible.c: still one
 * of the stage's approvers?), and the decision is bound to the stage that
 * was checked. Eligibility, self-approval, one person per request,
 * quorum, required justification and the deadline are the state
 * machine's guards; this file only finds who is deciding, binds a link to
 * its stage and records how the decision came in: a `decision` audit row
 * (who, how, stage, reason) before the transition it causes, in its batch;
 * a refused decision is not audited as one.
 *
 * Entra: when a waiting stage turns Approved/Denied on Graph, the state
 * machine asks for the step (SM_F_READ_DECIDER: the engine schedules the
 * read once the observation is committed; decide_graph_resume after a
 * restart). It is read to learn who decided, and that is recorded as the
 * stage's decision (via_graph: already effective, never sent again). If
 * the step cannot be read, the plain observation is recorded instead;
 * nothing is lost and nothing is decided twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "log.h"

struct dg_op {
	struct dg_op *next;
	struct daemon *d;
	char *key;
};

struct dg_state {
	struct dg_op *ops;
};

static const char *const decide_via_names[] = {
	[DECIDE_SOCKET] = "control socket",
	[DECIDE_LINK] = "decision link",
	[DECIDE_GRAPH] = "Entra",
};

/* Fill `p` from a name as given: the stage's stored approver when it is
 * one (*found 1), else an id or a UPN (by the '@'). -1 on store error. */
static int
decide_principal(struct daemon *d, const struct store_request *r,
    const char *who, struct sm_principal *p, int *found)
{
	memset(p, 0, sizeof(*p));
	*found = 0;
	if (r->sm.state == SM_S_PENDING || r->sm.state == SM_S_ESCALATED) {
		*found = approvers_lookup(d, r->key, r->sm.stage, who, p);
		if (*found == -1)
			return -1;
	}
	if (!*found) {
		if (strchr(who, '@') != NULL)
			snprintf(p->upn, sizeof(p->upn), "%s", who);
		else
			snprintf(p->id, sizeof(p->id), "%s", who);
	}
	return 0;
}

/* Audit who decided and how, then feed the decision to the machine; both
 * in the open batch (a failing engine_event drops the batch, the audit
 * row with it). */
static enum sm_result
decide_apply(struct daemon *d, struct store_request *r,
    const struct sm_event *ev, enum decide_via via, const char *reason,
    const char *detail, const struct decide_in *in)
{
	const struct sm_principal *p = &ev->u.decision.who;

	if (audit_decision(d->store, r->key, clock_now(),
	        ev->kind == SM_E_DECISION_APPROVE ? "approve" : "deny",
	        p->upn[0] ? p->upn : p->id, decide_via_names[via], r->sm.stage,
	        reason, in != NULL && in->has_peer ? in->peer_uid : -1,
	        in != NULL && in->has_peer ? in->peer_user : NULL) == -1) {
		log_warnx("request %s: cannot audit the decision: %s", r->key,
		    store_errmsg(d->store));
		return SM_INVALID;
	}
	return engine_event_by(d, r, ev, detail, decide_via_names[via]);
}

/* Store a decision link's nonce: 0, 1 when already used, -1 error. */
static int
decide_use_nonce(struct daemon *d, const struct decide_in *in, int64_t now)
{
	return store_link_use(
	    d->store, in->nonce, in->key, now, in->nonce_expires);
}

enum sm_result
decide_record(struct daemon *d, const struct decide_in *in, const char **why,
    char *state, size_t statelen)
{
	struct store_request r;
	struct sm_event ev;
	struct sm_request next;
	struct sm_effects fx;
	char detail[768];
	enum sm_result res = SM_REFUSED;
	int64_t now = clock_now();
	int found, u;

	*why = NULL;
	if (state != NULL && statelen > 0)
		state[0] = '\0';
	memset(&r, 0, sizeof(r));
	if (strlen(in->who) >= SM_ID_MAX) {
		*why = "principal too long";
		return SM_REFUSED;
	}
	if (store_request_get(d->store, in->key, &r) != 0) {
		*why = "no such request";
		return SM_REFUSED;
	}
	if (in->bind_stage &&
	    ((r.sm.state != SM_S_PENDING && r.sm.state != SM_S_ESCALATED) ||
	        r.sm.stage != in->stage || r.sm.stage_started != in->started)) {
		*why = "the request no longer waits for this stage";
		goto out;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = in->approve ? SM_E_DECISION_APPROVE : SM_E_DECISION_DENY;
	ev.u.decision.at = now;
	ev.u.decision.has_justification =
	    in->reason != NULL && in->reason[0] != '\0';
	if (decide_principal(d, &r, in->who, &ev.u.decision.who, &found) ==
	    -1) {
		*why = DECIDE_NOT_STORED;
		goto out;
	}
	if (!found &&
	    (r.sm.state == SM_S_PENDING || r.sm.state == SM_S_ESCALATED) &&
	    approvers_stage_rows(d, in->key, r.sm.stage) <= 0) {
		*why = "approvers of this stage are not resolved yet";
		goto out;
	}
	ev.u.decision.in_stage_set = found;
	/* Ask the pure machine first, to answer with its reason. */
	res = sm_step(&r.sm, &ev, now, &next, &fx, why);
	if (res != SM_OK) {
		log_info("request %s: %s by %s via %s: %s (%s)", in->key,
		    in->approve ? "approve" : "deny", in->who,
		    decide_via_names[in->via], sm_result_name(res),
		    *why ? *why : "-");
		if (*why == NULL)
			*why = sm_result_name(res);
		goto out;
	}
	snprintf(detail, sizeof(detail), "%s by %s (stage %u) via %s: %s",
	    in->approve ? "approve" : "deny",
	    ev.u.decision.who.upn[0] ? ev.u.decision.who.upn
	                             : ev.u.decision.who.id,
	    r.sm.stage + 1, decide_via_names[in->via],
	    in->reason ? in->reason : "");
	if (store_begin(d->store) == -1) {
		*why = DECIDE_NOT_STORED;
		res = SM_REFUSED;
		goto out;
	}
	batch_dirty(d);
	if (in->nonce != NULL && (u = decide_use_nonce(d, in, now)) != 0) {
		*why = u == 1 ? "link already used" : DECIDE_NOT_STORED;
		res = SM_REFUSED;
		goto out;
	}
	res = decide_apply(d, &r, &ev, in->via, in->reason, detail, in);
	if (res == SM_OK) {
		*why = "recorded";
		if (state != NULL)
			snprintf(
			    state, statelen, "%s", sm_state_name(r.sm.state));
	} else {
		*why = DECIDE_NOT_STORED;
		res = SM_REFUSED;
	}
out:
	store_request_clear(&r);
	return res;
}

/* ---- eligibility first ---------------------------------------------- */

struct decide_op {
	struct daemon *d;
	struct decide_in in; /* its strings point into this op */
	char *key, *who, *reason, *nonce, *peer_user;
	decide_done_cb done;
	void *arg;
};

static void
decide_op_free(struct decide_op *op)
{
	free(op->key);
	free(op->who);
	free(op->reason);
	free(op->nonce);
	free(op->peer_user);
	free(op);
}

/* Record now and answer. */
static void
decide_now(struct daemon *d, const struct decide_in *in, decide_done_cb done,
    void *arg)
{
	const char *why = NULL;
	char state[32];
	enum sm_result res;

	res = decide_record(d, in, &why, state, sizeof(state));
	done(arg, res, why, res == SM_OK ? state : "", ELIG_YES);
}

static void
decide_checked(void *arg, enum elig_result elig, const char *why)
{
	struct decide_op *op = arg;

	if (elig != ELIG_YES) {
		log_info("request %s: %s by %s via %s: refused (%s)",
		    op->in.key, op->in.approve ? "approve" : "deny", op->in.who,
		    decide_via_names[op->in.via],
		    elig == ELIG_NO ? "no longer in the stage's approver sets"
		                    : "membership could not be verified");
		op->done(op->arg, SM_REFUSED, why, "", elig);
	} else
		decide_now(op->d, &op->in, op->done, op->arg);
	decide_op_free(op);
}

static char *
decide_dup(const char *s, int *fail)
{
	char *c;

	if (s == NULL)
		return NULL;
	if ((c = strdup(s)) == NULL)
		*fail = 1;
	return c;
}

void
decide_submit(struct daemon *d, const struct decide_in *in, decide_done_cb done,
    void *arg)
{
	struct store_request r;
	struct sm_principal p;
	struct decide_op *op = NULL;
	int fail = 0;

	memset(&r, 0, sizeof(r));
	/* Not waiting, another stage, or not in the stored set: the
	 * machine answers at once (refused or no-op). */
	if (strlen(in->who) >= SM_ID_MAX ||
	    store_request_get(d->store, in->key, &r) != 0 ||
	    (r.sm.state != SM_S_PENDING && r.sm.state != SM_S_ESCALATED) ||
	    (in->bind_stage && (r.sm.stage != in->stage ||
	                           r.sm.stage_started != in->started)) ||
	    approvers_lookup(d, in->key, r.sm.stage, in->who, &p) != 1) {
		store_request_clear(&r);
		decide_now(d, in, done, arg);
		return;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL) {
		store_request_clear(&r);
		done(arg, SM_REFUSED, "out of memory", "", ELIG_UNKNOWN);
		return;
	}
	op->d = d;
	op->in = *in;
	op->done = done;
	op->arg = arg;
	op->in.key = op->key = decide_dup(in->key, &fail);
	op->in.who = op->who = decide_dup(in->who, &fail);
	op->in.reason = op->reason = decide_dup(in->reason, &fail);
	op->in.nonce = op->nonce = decide_dup(in->nonce, &fail);
	op->in.peer_user = op->peer_user = decide_dup(in->peer_user, &fail);
	if (fail) {
		store_request_clear(&r);
		decide_op_free(op);
		done(arg, SM_REFUSED, "out of memory", "", ELIG_UNKNOWN);
		return;
	}
	/* What was checked is this stage: the decision is bound to it. */
	op->in.bind_stage = 1;
	op->in.stage = r.sm.stage;
	op->in.started = r.sm.stage_started;
	eligible_check(d, &r, &p, decide_checked, op);
	store_request_clear(&r);
}

/* ---- decisions made in Entra ---------------------------------------- */

static void
dg_free(struct dg_state *dgs, struct dg_op *op)
{
	struct dg_op **pp;

	for (pp = &dgs->ops; *pp != NULL; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			break;
		}
	free(op->key);
	free(op);
}

/* Record what Graph says about request `key`: the reviewer's decision
 * when the step names one, else the plain observation. */
static void
dg_record(struct daemon *d, const char *key, const struct step_info *si,
    const char *why_plain)
{
	struct store_request r;
	struct sm_event ev;
	struct sm_request next;
	struct sm_effects fx;
	const struct source_adapter *ad;
	enum sm_event_kind k;
	char detail[512];
	const char *who, *why = NULL;
	int found = 0;

	memset(&r, 0, sizeof(r));
	if (store_begin(d->store) == -1 ||
	    store_request_get(d->store, key, &r) != 0)
		goto out;
	batch_dirty(d);
	ad = adapter_for((enum req_source)r.source);
	k = ad->observe(r.graph_status);
	if ((r.sm.state != SM_S_PENDING && r.sm.state != SM_S_ESCALATED) ||
	    (k != SM_E_GRAPH_APPROVED && k != SM_E_GRAPH_REJECTED))
		goto out;
	memset(&ev, 0, sizeof(ev));
	who = si == NULL                 ? NULL
	      : si->reviewer_upn != NULL ? si->reviewer_upn
	                                 : si->reviewer_id;
	if (who != NULL &&
	    si->result ==
	        (k == SM_E_GRAPH_APPROVED ? REVIEW_APPROVED : REVIEW_DENIED) &&
	    strlen(who) < SM_ID_MAX &&
	    decide_principal(d, &r, who, &ev.u.decision.who, &found) == 0) {
		if (si->reviewer_id != NULL && ev.u.decision.who.id[0] == '\0')
			snprintf(ev.u.decision.who.id,
			    sizeof(ev.u.decision.who.id), "%s",
			    si->reviewer_id);
		ev.kind = k == SM_E_GRAPH_APPROVED ? SM_E_DECISION_APPROVE
		                                   : SM_E_DECISION_DENY;
		ev.u.decision.via_graph = 1;
		ev.u.decision.in_stage_set = found;
		ev.u.decision.at = clock_now();
		/* reviewedBy is an identity {id, displayName} (microsoft-
		 * graph-docs-contrib: api-reference/v1.0/resources/
		 * approvalstage.md): an approver of the stage is named by
		 * the UPN we resolved, anyone else by their object id. */
		snprintf(detail, sizeof(detail), "%s by %s (stage %u) via %s%s",
		    k == SM_E_GRAPH_APPROVED ? "approve" : "deny",
		    ev.u.decision.who.upn[0] ? ev.u.decision.who.upn : who,
		    r.sm.stage + 1, decide_via_names[DECIDE_GRAPH],
		    found ? "" : "; not an eligible approver of this stage");
		if (!found)
			log_warnx("request %s: decided in Entra by %s, who is "
			          "not an eligible approver of stage %u; "
			          "recorded as it stands on Graph",
			    key, who, r.sm.stage + 1);
		/* Asked first, so a refused decision is not audited. */
		if (sm_step(&r.sm, &ev, clock_now(), &next, &fx, &why) ==
		        SM_OK &&
		    decide_apply(
		        d, &r, &ev, DECIDE_GRAPH, NULL, detail, NULL) == SM_OK)
			goto out;
		if (store_begin(d->store) == -1)
			goto out;
		batch_dirty(d);
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = k;
	ev.u.graph.decider_read = 1; /* the table's fallback row */
	snprintf(detail, sizeof(detail), "%s (%s)",
	    r.graph_status ? r.graph_status : "?", why_plain);
	engine_event(d, &r, &ev, detail);
out:
	store_request_clear(&r);
}

static void
dg_stepped(void *arg, long status, const struct step_info *si, const char *err)
{
	struct dg_op *op = arg;

	if (status == 200 && si != NULL && si->found)
		dg_record(op->d, op->key, si, "the step names no reviewer");
	else {
		if (status != 0)
			log_warnx("request %s: decided on Graph; the step "
			          "cannot be read (HTTP %ld): recorded as "
			          "observed",
			    op->key, status);
		else
			log_warnx("request %s: decided on Graph; the step "
			          "cannot be read (%s): recorded as observed",
			    op->key, err ? err : "no answer");
		dg_record(op->d, op->key, NULL, "step not read");
	}
	dg_free(op->d->dg, op);
}

static void
dg_start(evutil_socket_t fd, short what, void *arg)
{
	struct dg_op *op = arg;
	struct store_request r;

	memset(&r, 0, sizeof(r));
	if (op->d->stopping ||
	    store_request_get(op->d->store, op->key, &r) != 0) {
		dg_free(op->d->dg, op);
		return;
	}
	adapter_for((enum req_source)r.source)
	    ->read_step(
	        op->d, r.approval_id ? r.approval_id : r.gid, dg_stepped, op);
	store_request_clear(&r);
}

/* Read the step of `key` from the loop (never inside the caller). */
static void
dg_schedule(struct daemon *d, const char *key)
{
	struct dg_state *dgs = d->dg;
	struct dg_op *op;
	struct timeval tv = { 0, 0 };

	if (dgs == NULL && (dgs = d->dg = calloc(1, sizeof(*dgs))) == NULL) {
		log_warnx("request %s: out of memory reading who decided on "
		          "Graph; read at the next start",
		    key);
		return;
	}
	for (op = dgs->ops; op != NULL; op = op->next)
		if (strcmp(op->key, key) == 0)
			return;
	if ((op = calloc(1, sizeof(*op))) == NULL ||
	    (op->key = strdup(key)) == NULL) {
		free(op);
		return;
	}
	op->d = d;
	if (event_base_once(d->base, -1, EV_TIMEOUT, dg_start, op, &tv) == -1) {
		free(op->key);
		free(op);
		return;
	}
	op->next = dgs->ops;
	dgs->ops = op;
}

void
decide_graph_read(struct daemon *d, const char *key)
{
	dg_schedule(d, key);
}

int
decide_graph_reading(struct daemon *d, const char *key)
{
	struct dg_op *op;

	for (op = d->dg != NULL ? d->dg->ops : NULL; op != NULL; op = op->next)
		if (strcmp(op->key, key) == 0)
			return 1;
	return 0;
}

static int
dg_resume_one(void *arg, const struct store_request *r)
{
	struct daemon *d = arg;
	enum sm_event_kind k =
	    adapter_for((enum req_source)r->source)->observe(r->graph_status);

	if (k == SM_E_GRAPH_APPROVED || k == SM_E_GRAPH_REJECTED)
		dg_schedule(d, r->key);
	return 0;
}

/* After a restart: stages seen decided on Graph but not yet recorded. */
void
decide_graph_resume(struct daemon *d)
{
	store_request_each(
	    d->store, sm_state_name(SM_S_PENDING), dg_resume_one, d);
	store_request_each(
	    d->store, sm_state_name(SM_S_ESCALATED), dg_resume_one, d);
}

/* Reads in flight are dropped: resumed at the next start. */
void
decide_free(struct daemon *d)
{
	struct dg_state *dgs = d->dg;

	if (dgs == NULL)
		return;
	while (dgs->ops != NULL) {
		struct dg_op *op = dgs->ops;

		dgs->ops = op->next;
		free(op->key);
		free(op);
	}
	free(dgs);
	d->dg = NULL;
}
