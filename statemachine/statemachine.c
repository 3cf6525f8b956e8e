/*
 * The request state machine; see statemachine.h.
 *
 * One const table of rows {from, event, guard, to, action, reason, effects}.
 * sm_step() scans the rows for (state, event) in order: a row that only
 * says no (NOOP/REFUSED) answers at once; a guarded row either passes (the
 * row is taken), defers to the next row for the same pair (G_NEXT), or
 * refuses/ignores with a reason. Several rows per pair therefore express
 * branches (via Graph / last stage / next stage / quorum not yet reached).
 * No row: SM_INVALID. Terminal states answer every event with SM_NOOP by one
 * explicit rule instead of 66 identical rows.
 *
 * Fail closed: before any step that enters APPROVING or emits GRAPH_APPROVE
 * is returned, sm_approval_justified() re-checks the whole request from
 * scratch; a request restored in APPROVING that fails it is refused too.
 */
#include <string.h>

#include "statemachine.h"

/* Longest delay a stage parameter may carry (100 years, in seconds). */
#define SM_MAX_DELAY ((int64_t)100 * 366 * 24 * 3600)
/* Effect templates per row. */
#define SM_ROW_FX 6

/* What a guard says about its row. */
enum sm_guard_res {
	G_PASS,   /* take this row */
	G_NEXT,   /* not this row; try the next one for the same pair */
	G_NOOP,   /* accept and ignore */
	G_REFUSE, /* refuse */
};

/* Template arguments that are computed when the effect is emitted. */
#define ARM_STAGE        0    /* arm the current stage's timers */
#define ARM_REMIND       1    /* re-arm the reminder from now */
#define NOTIFY_BY_REASON (-1) /* rejected, or timed_out for SM_R_TIMED_OUT */

struct sm_ctx {
	const struct sm_request *cur;
	const struct sm_event *ev;
	int64_t now;
	struct sm_request *next;
	const char *why;
};

struct sm_fx_tmpl {
	int set;
	enum sm_effect_kind kind;
	int arg;
};

struct sm_row {
	enum sm_state from;
	enum sm_event_kind event;
	enum sm_guard_res (*guard)(struct sm_ctx *);
	enum sm_state to;
	void (*act)(struct sm_ctx *);
	enum sm_reason reason; /* recorded when not SM_R_NONE */
	struct sm_fx_tmpl fx[SM_ROW_FX];
	enum sm_result say; /* SM_NOOP/SM_REFUSED: the row only says no */
	const char *why;
};

static const char *const state_names[SM_S_MAX] = {
	[SM_S_NEW] = "new",
	[SM_S_EVALUATING] = "evaluating",
	[SM_S_PENDING] = "pending",
	[SM_S_ESCALATED] = "escalated",
	[SM_S_APPROVING] = "approving",
	[SM_S_APPROVED] = "approved",
	[SM_S_REJECTING] = "rejecting",
	[SM_S_REJECTED] = "rejected",
	[SM_S_CANCELING] = "canceling",
	[SM_S_CANCELED] = "canceled",
	[SM_S_COMPLETED] = "completed",
	[SM_S_IGNORED] = "ignored",
	[SM_S_ATTENTION] = "attention",
};

static const char *const event_names[SM_E_MAX] = {
	[SM_E_GRAPH_SUBMITTED] = "graph_submitted",
	[SM_E_GRAPH_APPROVED] = "graph_approved",
	[SM_E_GRAPH_COMPLETED] = "graph_completed",
	[SM_E_GRAPH_CANCELED] = "graph_canceled",
	[SM_E_GRAPH_REJECTED] = "graph_rejected",
	[SM_E_GRAPH_UNKNOWN] = "graph_unknown",
	[SM_E_VERDICT_APPROVE] = "verdict_approve",
	[SM_E_VERDICT_REJECT] = "verdict_reject",
	[SM_E_VERDICT_IGNORE] = "verdict_ignore",
	[SM_E_VERDICT_STAGES] = "verdict_stages",
	[SM_E_REEVALUATE] = "reevaluate",
	[SM_E_POLICY_CHANGED] = "policy_changed",
	[SM_E_DECISION_APPROVE] = "decision_approve",
	[SM_E_DECISION_DENY] = "decision_deny",
	[SM_E_NO_APPROVER] = "no_approver",
	[SM_E_TIMER_ESCALATE] = "timer_escalate",
	[SM_E_TIMER_DENY] = "timer_deny",
	[SM_E_TIMER_REMIND] = "timer_remind",
	[SM_E_RESULT_OK] = "result_ok",
	[SM_E_RESULT_FAILED] = "result_failed",
	[SM_E_RESULT_CONFLICT] = "result_conflict",
	[SM_E_RESULT_UNKNOWN] = "result_unknown",
	[SM_E_CANCEL] = "cancel",
	[SM_E_RETRY] = "retry",
};

static const char *const effect_names[SM_F_MAX] = {
	[SM_F_GRAPH_APPROVE] = "graph_approve",
	[SM_F_GRAPH_DENY] = "graph_deny",
	[SM_F_GRAPH_CANCEL] = "graph_cancel",
	[SM_F_READBACK] = "readback",
	[SM_F_READ_DECIDER] = "read_decider",
	[SM_F_RESOLVE] = "resolve",
	[SM_F_FORGET_APPROVERS] = "forget_approvers",
	[SM_F_ARM_TIMER] = "arm_timer",
	[SM_F_CANCEL_TIMERS] = "cancel_timers",
	[SM_F_NOTIFY] = "notify",
	[SM_F_AUDIT] = "audit",
};

static const char *const timer_names[SM_T_MAX] = {
	[SM_T_ESCALATE] = "escalate",
	[SM_T_DENY] = "deny",
	[SM_T_REMIND] = "remind",
};

static const char *const notify_names[SM_N_MAX] = {
	[SM_N_PENDING] = "pending",
	[SM_N_REMINDER] = "reminder",
	[SM_N_ESCALATED] = "escalated",
	[SM_N_APPROVED] = "approved",
	[SM_N_REJECTED] = "rejected",
	[SM_N_TIMED_OUT] = "timed_out",
	[SM_N_CANCELED] = "canceled",
	[SM_N_ATTENTION] = "attention",
};

static const char *const reason_names[SM_R_MAX] = {
	[SM_R_NONE] = "none",
	[SM_R_RULE] = "rule",
	[SM_R_APPROVER_DENY] = "approver_deny",
	[SM_R_TIMED_OUT] = "timed_out",
	[SM_R_NO_APPROVER] = "no_approver",
	[SM_R_OPERATOR] = "operator",
};

static const char *const result_names[SM_RESULT_MAX] = {
	[SM_OK] = "ok",
	[SM_NOOP] = "noop",
	[SM_REFUSED] = "refused",
	[SM_INVALID] = "invalid",
};

/* Entry `i` of a name table of `n` entries, "?" when out of range or unset. */
static const char *
name_at(const char *const *tab, size_t n, long i)
{
	if (i < 0 || (size_t)i >= n || tab[i] == NULL)
		return "?";
	return tab[i];
}

/* The sm_*_name() accessors declared in statemachine.h. */
/* clang-format off */
#define NAME_FN(fn, type, tab, max) \
	const char *fn(type v) { return name_at(tab, max, (long)v); }
NAME_FN(sm_state_name, enum sm_state, state_names, SM_S_MAX)
NAME_FN(sm_event_name, enum sm_event_kind, event_names, SM_E_MAX)
NAME_FN(sm_effect_name, enum sm_effect_kind, effect_names, SM_F_MAX)
NAME_FN(sm_timer_name, enum sm_timer_kind, timer_names, SM_T_MAX)
NAME_FN(sm_notify_name, enum sm_notify_kind, notify_names, SM_N_MAX)
NAME_FN(sm_reason_name, enum sm_reason, reason_names, SM_R_MAX)
NAME_FN(sm_result_name, enum sm_result, result_names, SM_RESULT_MAX)
/* clang-format on */

int
sm_state_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < SM_S_MAX; i++)
		if (state_names[i] != NULL && strcmp(state_names[i], name) == 0)
			return i;
	return -1;
}

int
sm_state_terminal(enum sm_state s)
{
	return s == SM_S_REJECTED || s == SM_S_CANCELED || s == SM_S_COMPLETED;
}

/* Length of an id field, never reading past SM_ID_MAX. */
static size_t
id_len(const char *s)
{
	size_t n = 0;

	while (n < SM_ID_MAX && s[n] != '\0')
		n++;
	return n;
}

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* 1 when `a` and `b` are equal non-empty strings (ASCII case folded if ci). */
static int
id_equal(const char *a, const char *b, int ci)
{
	size_t i, n = id_len(a);

	if (n == 0 || n != id_len(b))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (ci ? ascii_lower(x) != ascii_lower(y) : x != y)
			return 0;
	}
	return 1;
}

int
sm_same_principal(const struct sm_principal *a, const struct sm_principal *b)
{
	if (a == NULL || b == NULL)
		return 0;
	return id_equal(a->id, b->id, 0) || id_equal(a->upn, b->upn, 1);
}

/* 1 when `p` names someone: a non-empty object id or UPN. */
static int
has_identity(const struct sm_principal *p)
{
	return id_len(p->id) > 0 || id_len(p->upn) > 0;
}

void
sm_init(struct sm_request *r, const struct sm_principal *requestor)
{
	memset(r, 0, sizeof(*r));
	r->state = SM_S_NEW;
	if (requestor != NULL) {
		r->requestor = *requestor;
		r->requestor.id[SM_ID_MAX - 1] = '\0';
		r->requestor.upn[SM_ID_MAX - 1] = '\0';
	}
}

/* a + b for b >= 0, saturating instead of overflowing. */
static int64_t
add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	return a + b;
}

/* 1 when record `rec` holds `p` (same person). */
static int
record_has(const struct sm_stage_record *rec, const struct sm_principal *p)
{
	uint32_t i;

	for (i = 0; i < rec->napprovals && i < SM_MAX_APPROVALS; i++)
		if (sm_same_principal(&rec->approvers[i], p))
			return 1;
	return 0;
}

/*
 * The approval invariant, from scratch: an approve rule matched, or every
 * stage has its quorum of distinct approvers with an identity, none the
 * requestor, nobody in two stages; and no deny was recorded.
 */
static int
sm_approval_justified(const struct sm_request *r)
{
	uint32_t s, t, i, j;

	if (r->denied || !has_identity(&r->requestor))
		return 0;
	if (r->verdict_approve)
		return 1;
	if (r->nstages < 1 || r->nstages > SM_MAX_STAGES)
		return 0;
	for (s = 0; s < r->nstages; s++) {
		const struct sm_stage_record *rec = &r->record[s];

		if (r->params[s].approvals < 1 ||
		    rec->napprovals > SM_MAX_APPROVALS ||
		    rec->napprovals < r->params[s].approvals)
			return 0;
		for (i = 0; i < rec->napprovals; i++) {
			const struct sm_principal *p = &rec->approvers[i];

			if (!has_identity(p) ||
			    sm_same_principal(p, &r->requestor))
				return 0;
			for (j = i + 1; j < rec->napprovals; j++)
				if (sm_same_principal(p, &rec->approvers[j]))
					return 0;
			for (t = s + 1; t < r->nstages; t++)
				if (record_has(&r->record[t], p))
					return 0;
		}
	}
	return 1;
}

/* 1 when a stored request is internally consistent enough to act on. */
static int
sm_request_sane(const struct sm_request *r)
{
	uint32_t s;

	if ((unsigned)r->state >= SM_S_MAX || (unsigned)r->reason >= SM_R_MAX ||
	    r->nstages > SM_MAX_STAGES)
		return 0;
	for (s = 0; s < SM_MAX_STAGES; s++)
		if (r->record[s].napprovals > SM_MAX_APPROVALS)
			return 0;
	if (r->state == SM_S_PENDING || r->state == SM_S_ESCALATED) {
		if (r->nstages < 1 || r->stage >= r->nstages)
			return 0;
		if (r->params[r->stage].approvals < 1 ||
		    r->params[r->stage].approvals > SM_MAX_APPROVALS)
			return 0;
	}
	if (r->state == SM_S_APPROVING && !sm_approval_justified(r))
		return 0;
	return 1;
}

/* Start stage `r->stage` at `now`. */
static void
start_stage(struct sm_request *r, int64_t now)
{
	int64_t deny = r->params[r->stage].deny_after;

	r->stage_started = now;
	r->deadline = deny > 0 ? add_sat(now, deny) : 0;
}

/* Forget everything a verdict set. */
static void
clear_verdict(struct sm_request *r)
{
	r->verdict_approve = 0;
	r->nstages = 0;
	r->stage = 0;
	memset(r->params, 0, sizeof(r->params));
	memset(r->record, 0, sizeof(r->record));
	r->stage_started = 0;
	r->deadline = 0;
}

/* Guard: the stages verdict carries parameters the machine can honour. */
static enum sm_guard_res
g_stage_params(struct sm_ctx *c)
{
	uint32_t i, n = c->ev->u.stages.nstages;

	c->why = "invalid stage parameters";
	if (n < 1 || n > SM_MAX_STAGES)
		return G_REFUSE;
	for (i = 0; i < n; i++) {
		const struct sm_stage_params *p = &c->ev->u.stages.params[i];

		if (p->approvals < 1 || p->approvals > SM_MAX_APPROVALS)
			return G_REFUSE;
		if (p->escalate_after < 0 || p->escalate_after > SM_MAX_DELAY ||
		    p->deny_after < 0 || p->deny_after > SM_MAX_DELAY ||
		    p->remind_every < 0 || p->remind_every > SM_MAX_DELAY)
			return G_REFUSE;
		if (p->deny_after != 0 && p->escalate_after != 0 &&
		    p->deny_after < p->escalate_after)
			return G_REFUSE;
	}
	c->why = "stages verdict";
	return G_PASS;
}

/* Guard: a decision already effective on Graph (made in Entra). */
static enum sm_guard_res
g_via_graph(struct sm_ctx *c)
{
	if (!c->ev->u.decision.via_graph)
		return G_NEXT;
	c->why = "decided on Graph";
	return G_PASS;
}

/*
 * Guard: a waiting stage seen Approved/Denied on Graph (decided in Entra).
 * Who decided is read from the approval step first (SM_F_READ_DECIDER, no
 * state change); the daemon feeds the answer back as the stage's decision
 * (DECISION_* via_graph). Once the step was read, or cannot be, the
 * observation is taken as it stands by the next row for the pair.
 */
static enum sm_guard_res
g_decider_unread(struct sm_ctx *c)
{
	if (c->ev->u.graph.decider_read)
		return G_NEXT;
	if (c->ev->u.graph.decider_reading) {
		c->why = "reading who decided";
		return G_NOOP;
	}
	c->why = "decided on Graph; read who decided";
	return G_PASS;
}

/* Guards shared by approver decisions (approve and deny), in order. */
static enum sm_guard_res
decision_guards(struct sm_ctx *c, int approve)
{
	const struct sm_request *r = c->cur;
	const struct sm_decision *d = &c->ev->u.decision;
	uint32_t s;

	if (r->deadline != 0 && d->at >= r->deadline) {
		c->why = "after deadline";
		return G_REFUSE;
	}
	if (!d->in_stage_set) {
		c->why = "not an eligible approver";
		return G_REFUSE;
	}
	if (sm_same_principal(&d->who, &r->requestor)) {
		c->why = "requestor cannot approve own request";
		return G_REFUSE;
	}
	if (approve && d->at < r->stage_started) {
		c->why = "decision predates this stage";
		return G_REFUSE;
	}
	if (approve) {
		for (s = 0; s < r->stage && s < SM_MAX_STAGES; s++)
			if (record_has(&r->record[s], &d->who)) {
				c->why = "already approved an earlier stage";
				return G_REFUSE;
			}
		if (record_has(&r->record[r->stage], &d->who)) {
			c->why = "duplicate approval";
			return G_NOOP;
		}
	}
	if (r->params[r->stage].justification_required &&
	    !d->has_justification) {
		c->why = "justification required";
		return G_REFUSE;
	}
	if (!has_identity(&d->who)) {
		c->why = "approver has no identity";
		return G_REFUSE;
	}
	if (!has_identity(&r->requestor)) {
		c->why = "requestor has no identity";
		return G_REFUSE;
	}
	return G_PASS;
}

/* How an accepted approval leaves the stage. */
enum quorum { Q_SHORT, Q_ADVANCE, Q_LAST };

/* Check an approval and say where it leads; G_PASS only for branch `want`. */
static enum sm_guard_res
approve_branch(struct sm_ctx *c, enum quorum want)
{
	const struct sm_request *r = c->cur;
	enum sm_guard_res g;
	enum quorum q;

	if (c->ev->u.decision.via_graph)
		return G_NEXT;
	if ((g = decision_guards(c, 1)) != G_PASS)
		return g;
	if (r->record[r->stage].napprovals >= SM_MAX_APPROVALS) {
		c->why = "approval record full";
		return G_REFUSE;
	}
	if (r->record[r->stage].napprovals + 1 < r->params[r->stage].approvals)
		q = Q_SHORT;
	else if (r->stage + 1 >= r->nstages)
		q = Q_LAST;
	else
		q = Q_ADVANCE;
	if (q != want)
		return G_NEXT;
	c->why = q == Q_LAST      ? "quorum reached on the last stage"
	         : q == Q_ADVANCE ? "quorum reached; next stage"
	                          : "approval recorded; quorum not yet reached";
	return G_PASS;
}

static enum sm_guard_res
g_approve_last(struct sm_ctx *c)
{
	return approve_branch(c, Q_LAST);
}

static enum sm_guard_res
g_approve_advance(struct sm_ctx *c)
{
	return approve_branch(c, Q_ADVANCE);
}

static enum sm_guard_res
g_approve_short(struct sm_ctx *c)
{
	return approve_branch(c, Q_SHORT);
}

/* Guard: an approver's deny made through us. */
static enum sm_guard_res
g_deny(struct sm_ctx *c)
{
	enum sm_guard_res g;

	if (c->ev->u.decision.via_graph)
		return G_NEXT;
	if ((g = decision_guards(c, 0)) != G_PASS)
		return g;
	c->why = "approver denied";
	return G_PASS;
}

/*
 * Retry from attention (an operator's `approvalctl retry`): the action that
 * Graph refused is carried out again — the cancel an operator asked for,
 * the deny that was recorded, or an approve that still follows from the
 * record (sm_approval_justified, checked again on entering APPROVING).
 * Anything else starts again from the policy's verdict.
 */
static enum sm_guard_res
g_retry_cancel(struct sm_ctx *c)
{
	c->why = "retry the cancel";
	return c->cur->reason == SM_R_OPERATOR ? G_PASS : G_NEXT;
}

static enum sm_guard_res
g_retry_deny(struct sm_ctx *c)
{
	c->why = "retry the deny";
	return c->cur->denied ? G_PASS : G_NEXT;
}

static enum sm_guard_res
g_retry_approve(struct sm_ctx *c)
{
	c->why = "retry the approve";
	return sm_approval_justified(c->cur) ? G_PASS : G_NEXT;
}

/* Guard: the timer was armed for the current stage. */
static enum sm_guard_res
g_timer_current(struct sm_ctx *c)
{
	if (c->ev->u.timer.stage != c->cur->stage) {
		c->why = "stale timer (another stage)";
		return G_NOOP;
	}
	c->why = "timer";
	return G_PASS;
}

static void
a_verdict_approve(struct sm_ctx *c)
{
	clear_verdict(c->next);
	c->next->verdict_approve = 1;
}

static void
a_clear_verdict(struct sm_ctx *c)
{
	clear_verdict(c->next);
}

static void
a_start_stages(struct sm_ctx *c)
{
	struct sm_request *r = c->next;

	clear_verdict(r);
	r->nstages = c->ev->u.stages.nstages;
	memcpy(r->params, c->ev->u.stages.params,
	    r->nstages * sizeof(r->params[0]));
	start_stage(r, c->now);
}

/* Record the deciding approver on the current stage. */
static void
a_record(struct sm_ctx *c)
{
	struct sm_stage_record *rec = &c->next->record[c->next->stage];
	struct sm_principal *p = &rec->approvers[rec->napprovals++];

	*p = c->ev->u.decision.who;
	p->id[SM_ID_MAX - 1] = '\0';
	p->upn[SM_ID_MAX - 1] = '\0';
}

static void
a_record_advance(struct sm_ctx *c)
{
	a_record(c);
	c->next->stage++;
	start_stage(c->next, c->now);
}

/* clang-format off */
#define FX(k)		{ 1, SM_F_##k, 0 }
#define NOTE(n)		{ 1, SM_F_NOTIFY, SM_N_##n }
#define NOTE_DENIED	{ 1, SM_F_NOTIFY, NOTIFY_BY_REASON }
#define ARM(a)		{ 1, SM_F_ARM_TIMER, ARM_##a }
#define ROW(f, e, g, t, a, r, ...) { .from = SM_S_##f, .event = SM_E_##e, \
	.guard = g, .to = SM_S_##t, .act = a, .reason = SM_R_##r, \
	.fx = { __VA_ARGS__ }, .say = SM_OK }
#define SAY(f, e, res, w) { .from = SM_S_##f, .event = SM_E_##e, \
	.to = SM_S_##f, .say = (res), .why = (w) }
#define NOOP(f, e, w)	SAY(f, e, SM_NOOP, w)
#define REFUSE(f, e, w)	SAY(f, e, SM_REFUSED, w)

/* Graph's observed terminal word, for states where nobody was told yet. */
#define OBSERVE_QUIET(f) \
	ROW(f, GRAPH_APPROVED, NULL, APPROVED, NULL, NONE, FX(CANCEL_TIMERS), FX(AUDIT)), \
	ROW(f, GRAPH_REJECTED, NULL, REJECTED, NULL, NONE, FX(CANCEL_TIMERS), FX(AUDIT)), \
	ROW(f, GRAPH_CANCELED, NULL, CANCELED, NULL, NONE, FX(CANCEL_TIMERS), FX(AUDIT)), \
	ROW(f, GRAPH_COMPLETED, NULL, COMPLETED, NULL, NONE, FX(CANCEL_TIMERS), FX(AUDIT)), \
	NOOP(f, GRAPH_UNKNOWN, "unknown Graph status")
/* Graph's observed terminal word where it is news to someone. */
#define OBSERVE_NEWS(f) \
	ROW(f, GRAPH_REJECTED, NULL, REJECTED, NULL, NONE, FX(CANCEL_TIMERS), NOTE_DENIED, FX(AUDIT)), \
	ROW(f, GRAPH_CANCELED, NULL, CANCELED, NULL, NONE, FX(CANCEL_TIMERS), NOTE(CANCELED), FX(AUDIT)), \
	ROW(f, GRAPH_COMPLETED, NULL, COMPLETED, NULL, NONE, FX(CANCEL_TIMERS), FX(AUDIT)), \
	NOOP(f, GRAPH_UNKNOWN, "unknown Graph status")
#define OBSERVE_APPROVED_NEWS(f) \
	ROW(f, GRAPH_APPROVED, NULL, APPROVED, NULL, NONE, FX(CANCEL_TIMERS), NOTE(APPROVED), FX(AUDIT))
#define SUBMITTED_NOOP(f) NOOP(f, GRAPH_SUBMITTED, "already submitted")
#define TIMERS_STALE(f) \
	NOOP(f, TIMER_ESCALATE, "stale timer"), NOOP(f, TIMER_DENY, "stale timer"), \
	NOOP(f, TIMER_REMIND, "stale timer")
#define RESULTS_STALE(f) \
	NOOP(f, RESULT_OK, "no action in flight"), NOOP(f, RESULT_FAILED, "no action in flight"), \
	NOOP(f, RESULT_CONFLICT, "no action in flight"), NOOP(f, RESULT_UNKNOWN, "no action in flight")
#define NO_STAGE(f) \
	REFUSE(f, DECISION_APPROVE, "no stage pending"), REFUSE(f, DECISION_DENY, "no stage pending"), \
	REFUSE(f, NO_APPROVER, "no stage pending")
#define CANCEL_OK(f) \
	ROW(f, CANCEL, NULL, CANCELING, NULL, OPERATOR, FX(CANCEL_TIMERS), FX(GRAPH_CANCEL), FX(AUDIT))
#define CANCEL_BUSY(f) REFUSE(f, CANCEL, "action in flight")
#define NO_RETRY(f) NOOP(f, RETRY, "not in attention")

/* The Graph action in flight for `f` (APPROVING/REJECTING/CANCELING). */
#define IN_FLIGHT(f, done, note) \
	ROW(f, RESULT_OK, NULL, done, NULL, NONE, note, FX(AUDIT)), \
	ROW(f, RESULT_CONFLICT, NULL, f, NULL, NONE, FX(READBACK), FX(AUDIT)), \
	ROW(f, RESULT_UNKNOWN, NULL, f, NULL, NONE, FX(READBACK), FX(AUDIT)), \
	ROW(f, RESULT_FAILED, NULL, ATTENTION, NULL, NONE, NOTE(ATTENTION), FX(AUDIT)), \
	TIMERS_STALE(f), NO_STAGE(f), CANCEL_BUSY(f), SUBMITTED_NOOP(f), \
	OBSERVE_APPROVED_NEWS(f), OBSERVE_NEWS(f), NO_RETRY(f)

/* A stage waiting for approvers; `f` is PENDING or ESCALATED. The four
 * DECISION_APPROVE rows are branches: made in Entra / quorum on the last
 * stage / quorum with a stage to go / quorum not yet reached. Graph's
 * Approved/Denied reads who decided first (g_decider_unread), then falls
 * through to the observation rows. */
#define STAGE_ROWS(f) \
	ROW(f, GRAPH_APPROVED, g_decider_unread, f, NULL, NONE, \
	    FX(READ_DECIDER), FX(AUDIT)), \
	ROW(f, GRAPH_REJECTED, g_decider_unread, f, NULL, NONE, \
	    FX(READ_DECIDER), FX(AUDIT)), \
	ROW(f, DECISION_APPROVE, g_via_graph, APPROVED, NULL, NONE, \
	    FX(CANCEL_TIMERS), NOTE(APPROVED), FX(AUDIT)), \
	ROW(f, DECISION_APPROVE, g_approve_last, APPROVING, a_record, NONE, \
	    FX(CANCEL_TIMERS), FX(GRAPH_APPROVE), FX(AUDIT)), \
	ROW(f, DECISION_APPROVE, g_approve_advance, PENDING, a_record_advance, NONE, \
	    FX(CANCEL_TIMERS), FX(RESOLVE), ARM(STAGE), NOTE(PENDING), FX(AUDIT)), \
	ROW(f, DECISION_APPROVE, g_approve_short, f, a_record, NONE, FX(AUDIT)), \
	ROW(f, DECISION_DENY, g_via_graph, REJECTED, NULL, APPROVER_DENY, \
	    FX(CANCEL_TIMERS), NOTE(REJECTED), FX(AUDIT)), \
	ROW(f, DECISION_DENY, g_deny, REJECTING, NULL, APPROVER_DENY, \
	    FX(CANCEL_TIMERS), FX(GRAPH_DENY), FX(AUDIT)), \
	ROW(f, NO_APPROVER, NULL, REJECTING, NULL, NO_APPROVER, \
	    FX(CANCEL_TIMERS), FX(GRAPH_DENY), FX(AUDIT)), \
	ROW(f, TIMER_DENY, g_timer_current, REJECTING, NULL, TIMED_OUT, \
	    FX(CANCEL_TIMERS), FX(GRAPH_DENY), NOTE(TIMED_OUT), FX(AUDIT)), \
	ROW(f, TIMER_REMIND, g_timer_current, f, NULL, NONE, NOTE(REMINDER), ARM(REMIND)), \
	ROW(f, REEVALUATE, NULL, EVALUATING, a_clear_verdict, NONE, \
	    FX(CANCEL_TIMERS), FX(FORGET_APPROVERS), FX(AUDIT)), \
	ROW(f, POLICY_CHANGED, NULL, EVALUATING, a_clear_verdict, NONE, \
	    FX(CANCEL_TIMERS), FX(FORGET_APPROVERS), FX(AUDIT)), \
	RESULTS_STALE(f), CANCEL_OK(f), SUBMITTED_NOOP(f), \
	OBSERVE_APPROVED_NEWS(f), OBSERVE_NEWS(f), NO_RETRY(f)

static const struct sm_row sm_table[] = {
	/* new: seen on Graph */
	ROW(NEW, GRAPH_SUBMITTED, NULL, EVALUATING, NULL, NONE, FX(AUDIT)),
	OBSERVE_QUIET(NEW), TIMERS_STALE(NEW), RESULTS_STALE(NEW), NO_STAGE(NEW),
	NOOP(NEW, POLICY_CHANGED, "not evaluated yet"), CANCEL_OK(NEW), NO_RETRY(NEW),

	/* evaluating: waiting for the policy verdict */
	ROW(EVALUATING, VERDICT_APPROVE, NULL, APPROVING, a_verdict_approve, NONE,
	    FX(GRAPH_APPROVE), FX(AUDIT)),
	ROW(EVALUATING, VERDICT_REJECT, NULL, REJECTING, a_clear_verdict, RULE,
	    FX(GRAPH_DENY), FX(AUDIT)),
	ROW(EVALUATING, VERDICT_IGNORE, NULL, IGNORED, a_clear_verdict, NONE, FX(AUDIT)),
	ROW(EVALUATING, VERDICT_STAGES, g_stage_params, PENDING, a_start_stages, NONE,
	    FX(RESOLVE), ARM(STAGE), NOTE(PENDING), FX(AUDIT)),
	NOOP(EVALUATING, REEVALUATE, "already evaluating"),
	NOOP(EVALUATING, POLICY_CHANGED, "already evaluating"),
	SUBMITTED_NOOP(EVALUATING), OBSERVE_QUIET(EVALUATING), TIMERS_STALE(EVALUATING),
	RESULTS_STALE(EVALUATING), NO_STAGE(EVALUATING), CANCEL_OK(EVALUATING),
	NO_RETRY(EVALUATING),

	/* pending / escalated: a stage waiting for its approvers */
	ROW(PENDING, TIMER_ESCALATE, g_timer_current, ESCALATED, NULL, NONE,
	    NOTE(ESCALATED), FX(RESOLVE), FX(AUDIT)),
	STAGE_ROWS(PENDING),
	NOOP(ESCALATED, TIMER_ESCALATE, "already escalated"),
	STAGE_ROWS(ESCALATED),

	/* approving / rejecting / canceling: a Graph call in flight */
	/* approving: the daemon feeds REEVALUATE / POLICY_CHANGED only
	 * before the approve is sent (the executor's last check) */
	ROW(APPROVING, REEVALUATE, NULL, EVALUATING, a_clear_verdict, NONE,
	    FX(FORGET_APPROVERS), FX(AUDIT)),
	ROW(APPROVING, POLICY_CHANGED, NULL, EVALUATING, a_clear_verdict, NONE,
	    FX(FORGET_APPROVERS), FX(AUDIT)),
	IN_FLIGHT(APPROVING, APPROVED, NOTE(APPROVED)),
	IN_FLIGHT(REJECTING, REJECTED, NOTE_DENIED),
	NOOP(REJECTING, POLICY_CHANGED, "a deny in flight stands"),
	IN_FLIGHT(CANCELING, CANCELED, NOTE(CANCELED)),
	NOOP(CANCELING, POLICY_CHANGED, "a cancel in flight stands"),

	/* approved: the grant runs until Graph says completed; cancel revokes */
	NOOP(APPROVED, GRAPH_APPROVED, "already approved"),
	NOOP(APPROVED, POLICY_CHANGED, "already approved"),
	SUBMITTED_NOOP(APPROVED), OBSERVE_NEWS(APPROVED), TIMERS_STALE(APPROVED),
	RESULTS_STALE(APPROVED), NO_STAGE(APPROVED), CANCEL_OK(APPROVED),
	NO_RETRY(APPROVED),

	/* ignored: left to humans in Entra, still observed */
	ROW(IGNORED, REEVALUATE, NULL, EVALUATING, a_clear_verdict, NONE, FX(AUDIT)),
	ROW(IGNORED, POLICY_CHANGED, NULL, EVALUATING, a_clear_verdict, NONE, FX(AUDIT)),
	SUBMITTED_NOOP(IGNORED), OBSERVE_QUIET(IGNORED), TIMERS_STALE(IGNORED),
	RESULTS_STALE(IGNORED), NO_STAGE(IGNORED), CANCEL_OK(IGNORED),
	NO_RETRY(IGNORED),

	/* attention: Graph refused our action; an operator must look */
	NOOP(ATTENTION, POLICY_CHANGED, "an operator must look"),
	SUBMITTED_NOOP(ATTENTION), OBSERVE_APPROVED_NEWS(ATTENTION),
	OBSERVE_NEWS(ATTENTION), TIMERS_STALE(ATTENTION), RESULTS_STALE(ATTENTION),
	NO_STAGE(ATTENTION), CANCEL_OK(ATTENTION),
	ROW(ATTENTION, RETRY, g_retry_cancel, CANCELING, NULL, NONE,
	    FX(GRAPH_CANCEL), FX(AUDIT)),
	ROW(ATTENTION, RETRY, g_retry_deny, REJECTING, NULL, NONE,
	    FX(GRAPH_DENY), FX(AUDIT)),
	ROW(ATTENTION, RETRY, g_retry_approve, APPROVING, NULL, NONE,
	    FX(GRAPH_APPROVE), FX(AUDIT)),
	ROW(ATTENTION, RETRY, NULL, EVALUATING, a_clear_verdict, NONE,
	    FX(FORGET_APPROVERS), FX(AUDIT)),
};
/* clang-format on */

#define SM_NROWS (sizeof(sm_table) / sizeof(sm_table[0]))

/* Append one effect; -1 when the effect list is full. */
static int
fx_push(
    struct sm_effects *fx, enum sm_effect_kind kind, const struct sm_request *r)
{
	struct sm_effect *f;

	if (fx->n >= SM_MAX_EFFECTS)
		return -1;
	f = &fx->v[fx->n++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->stage = r->stage;
	if (kind == SM_F_GRAPH_DENY || kind == SM_F_GRAPH_CANCEL)
		f->reason = r->reason;
	return 0;
}

/* Append an ARM_TIMER effect. */
static int
fx_arm(struct sm_effects *fx, enum sm_timer_kind t, int64_t at,
    const struct sm_request *r)
{
	if (fx_push(fx, SM_F_ARM_TIMER, r) == -1)
		return -1;
	fx->v[fx->n - 1].timer = t;
	fx->v[fx->n - 1].at = at;
	return 0;
}

/* The notification a NOTIFY template stands for. */
static enum sm_notify_kind
notify_kind(int arg, const struct sm_request *r)
{
	if (arg != NOTIFY_BY_REASON)
		return (enum sm_notify_kind)arg;
	return r->reason == SM_R_TIMED_OUT ? SM_N_TIMED_OUT : SM_N_REJECTED;
}

/* Expand a row's effect templates against the next state `r`. */
static int
fx_expand(const struct sm_row *row, const struct sm_request *r, int64_t now,
    struct sm_effects *fx)
{
	const struct sm_stage_params *p = &r->params[r->stage];
	const struct sm_fx_tmpl *t;
	int64_t at;
	size_t i;

	for (i = 0; i < SM_ROW_FX && row->fx[i].set; i++) {
		t = &row->fx[i];
		if (t->kind == SM_F_ARM_TIMER && t->arg == ARM_STAGE) {
			if (p->escalate_after > 0 &&
			    fx_arm(fx, SM_T_ESCALATE,
			        add_sat(r->stage_started, p->escalate_after),
			        r) == -1)
				return -1;
			if (p->deny_after > 0 &&
			    fx_arm(fx, SM_T_DENY, r->deadline, r) == -1)
				return -1;
			if (p->remind_every > 0 &&
			    fx_arm(fx, SM_T_REMIND,
			        add_sat(r->stage_started, p->remind_every),
			        r) == -1)
				return -1;
		} else if (t->kind == SM_F_ARM_TIMER) {
			at = add_sat(now, p->remind_every);
			if (p->remind_every > 0 &&
			    (r->deadline == 0 || at < r->deadline) &&
			    fx_arm(fx, SM_T_REMIND, at, r) == -1)
				return -1;
		} else {
			if (fx_push(fx, t->kind, r) == -1)
				return -1;
			if (t->kind == SM_F_NOTIFY)
				fx->v[fx->n - 1].notify =
				    notify_kind(t->arg, r);
		}
	}
	return 0;
}

/* 1 when `fx` asks Graph to approve. */
static int
fx_approves(const struct sm_effects *fx)
{
	size_t i;

	for (i = 0; i < fx->n; i++)
		if (fx->v[i].kind == SM_F_GRAPH_APPROVE)
			return 1;
	return 0;
}

/* Find and apply the row for (cur->state, ev->kind); fills `work` on OK. */
static enum sm_result
sm_dispatch(struct sm_ctx *c, struct sm_effects *fx)
{
	const struct sm_request *cur = c->cur;
	const struct sm_row *row;
	enum sm_guard_res g;
	size_t i;

	if ((unsigned)c->ev->kind >= SM_E_MAX) {
		c->why = "unknown event";
		return SM_INVALID;
	}
	if (!sm_request_sane(cur)) {
		c->why = "corrupt request";
		return SM_INVALID;
	}
	if (sm_state_terminal(cur->state)) {
		c->why = "terminal state";
		return SM_NOOP;
	}
	for (i = 0; i < SM_NROWS; i++) {
		row = &sm_table[i];
		if (row->from != cur->state || row->event != c->ev->kind)
			continue;
		if (row->say != SM_OK) {
			c->why = row->why;
			return row->say;
		}
		c->why = "transition";
		g = row->guard != NULL ? row->guard(c) : G_PASS;
		if (g == G_NEXT)
			continue;
		if (g == G_NOOP)
			return SM_NOOP;
		if (g == G_REFUSE)
			return SM_REFUSED;
		*c->next = *cur;
		c->next->state = row->to;
		if (row->act != NULL)
			row->act(c);
		if (row->reason != SM_R_NONE) {
			c->next->reason = row->reason;
			if (row->reason != SM_R_OPERATOR)
				c->next->denied = 1;
		}
		if (fx_expand(row, c->next, c->now, fx) == -1) {
			c->why = "too many effects";
			return SM_INVALID;
		}
		if ((c->next->state == SM_S_APPROVING || fx_approves(fx)) &&
		    !sm_approval_justified(c->next)) {
			c->why = "approval not justified";
			return SM_REFUSED;
		}
		return SM_OK;
	}
	c->why = "no transition";
	return SM_INVALID;
}

enum sm_result
sm_step(const struct sm_request *cur, const struct sm_event *ev, int64_t now,
    struct sm_request *next, struct sm_effects *fx, const char **why)
{
	struct sm_request work;
	struct sm_ctx c;
	enum sm_result res;

	if (fx != NULL)
		fx->n = 0;
	if (cur == NULL || ev == NULL || next == NULL || fx == NULL) {
		if (why != NULL)
			*why = "bad arguments";
		return SM_INVALID;
	}
	c.cur = cur;
	c.ev = ev;
	c.now = now;
	c.next = &work;
	c.why = NULL;
	res = sm_dispatch(&c, fx);
	if (res == SM_OK)
		*next = work;
	else {
		fx->n = 0;
		if (next != cur)
			*next = *cur;
	}
	if (why != NULL)
		*why = c.why;
	return res;
}

int
sm_table_row(size_t i, struct sm_row_info *out)
{
	if (i >= SM_NROWS || out == NULL)
		return -1;
	out->from = sm_table[i].from;
	out->event = sm_table[i].event;
	out->to = sm_table[i].to;
	out->result = sm_table[i].say;
	out->guarded = sm_table[i].guard != NULL;
	return 0;
}
