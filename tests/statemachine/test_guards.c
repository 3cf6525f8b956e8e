/*
 * Suite `guards`: separation of duties, eligibility, quorum, justification,
 * deadlines, late and stale events, as a table of event sequences; plus the
 * principal comparison, stage parameter validation and timer arithmetic.
 */
#include <stdio.h>
#include <string.h>

#include "cu.h"
#include "sm_test.h"

#define GSTEPS 8

struct gstep {
	enum sm_event_kind k;
	enum who w;
	int in_set, just, via;
	int read, reading; /* graph observations: decider read / reading */
	uint32_t tstage;   /* timers */
	int64_t at;        /* decision time, and `now` of the step; 0 ends */
	enum sm_result want;
	enum sm_state state;
	uint32_t stage1; /* expected stage + 1; 0: not checked */
	const char *why; /* expected `why`; NULL: not checked */
	const char *fx;  /* expected effects; NULL: not checked */
};

struct gcase {
	const char *name;
	int no_requestor; /* requestor with neither id nor UPN */
	uint32_t n;       /* stages; 0: default_stages */
	struct sm_stage_params params[SM_MAX_STAGES];
	struct gstep steps[GSTEPS];
};

#define DAY   86400
#define NOW   (T0 + 10)
#define SELF  "requestor cannot approve own request"
#define EARLY "already approved an earlier stage"

/* clang-format off */
#define DEC(kind, who, in, j, v, t) \
	.k = SM_E_##kind, .w = W_##who, .in_set = (in), .just = (j), .via = (v), .at = (t)
#define AP(who)		DEC(DECISION_APPROVE, who, 1, 1, 0, NOW)
#define DN(who)		DEC(DECISION_DENY, who, 1, 1, 0, NOW)
#define EV(kind)	.k = SM_E_##kind, .at = NOW
#define GR(kind, rd, rg)	.k = SM_E_##kind, .read = (rd), .reading = (rg), .at = NOW
#define TM(kind, st)	.k = SM_E_##kind, .tstage = (st), .at = NOW
#define EXP(r, s)	.want = SM_##r, .state = SM_S_##s
#define ONE(q, j)	.n = 1, .params = { { .approvals = (q), .justification_required = (j), \
			  .deny_after = DAY } }

static const struct gcase gcases[] = {
	{ "self-approval by object id", .steps = {
	    { AP(REQ_ID), EXP(REFUSED, PENDING), .why = SELF } } },
	{ "self-approval by UPN in another case", .steps = {
	    { AP(REQ_UPN), EXP(REFUSED, PENDING), .why = SELF } } },
	{ "self-approval by UPN under another object id", .steps = {
	    { AP(REQ_ALIAS), EXP(REFUSED, PENDING), .why = SELF } } },
	{ "self-approval, exact principal", .steps = {
	    { AP(REQ), EXP(REFUSED, PENDING), .why = SELF },
	    { DN(REQ), EXP(REFUSED, PENDING), .why = SELF } } },
	{ "an approval made before the stage began does not count", .steps = {
	    { AP(ALICE), EXP(OK, PENDING), .stage1 = 2 },
	    { DEC(DECISION_APPROVE, BOB, 1, 1, 0, NOW - 1), EXP(REFUSED, PENDING),
	      .why = "decision predates this stage" },
	    { AP(BOB), EXP(OK, APPROVING) } } },
	{ "not in the stage's eligible set", .steps = {
	    { DEC(DECISION_APPROVE, ALICE, 0, 1, 0, NOW), EXP(REFUSED, PENDING),
	      .why = "not an eligible approver" },
	    { DEC(DECISION_DENY, ALICE, 0, 1, 0, NOW), EXP(REFUSED, PENDING),
	      .why = "not an eligible approver" } } },
	{ "stage-1 approver cannot approve stage 2", .steps = {
	    { AP(ALICE), EXP(OK, PENDING), .stage1 = 2 },
	    { AP(ALICE), EXP(REFUSED, PENDING), .stage1 = 2, .why = EARLY },
	    { AP(ALICE_UPN), EXP(REFUSED, PENDING), .stage1 = 2, .why = EARLY },
	    { AP(BOB), EXP(OK, APPROVING), .fx = "cancel_timers graph_approve audit" } } },
	{ "three stages need three people", .n = 3, .params = {
	    { .approvals = 1 }, { .approvals = 1 }, { .approvals = 1 } }, .steps = {
	    { AP(ALICE), EXP(OK, PENDING), .stage1 = 2 },
	    { AP(BOB), EXP(OK, PENDING), .stage1 = 3 },
	    { AP(ALICE_UPN), EXP(REFUSED, PENDING), .why = EARLY },
	    { AP(BOB), EXP(REFUSED, PENDING), .why = EARLY },
	    { AP(CAROL), EXP(OK, APPROVING) } } },
	{ "quorum 2 needs two distinct people", ONE(2, 0), .steps = {
	    { AP(ALICE), EXP(OK, PENDING), .stage1 = 1, .fx = "audit" },
	    { AP(ALICE), EXP(NOOP, PENDING), .why = "duplicate approval" },
	    { AP(ALICE_UPN), EXP(NOOP, PENDING), .why = "duplicate approval" },
	    { AP(REQ_UPN), EXP(REFUSED, PENDING), .why = SELF },
	    { AP(BOB), EXP(OK, APPROVING) } } },
	{ "quorum 3", .n = 1, .params = { { .approvals = 3 } }, .steps = {
	    { AP(ALICE), EXP(OK, PENDING) },
	    { AP(BOB), EXP(OK, PENDING) },
	    { AP(BOB), EXP(NOOP, PENDING) },
	    { AP(ALICE_UPN), EXP(NOOP, PENDING) },
	    { AP(CAROL), EXP(OK, APPROVING) } } },
	{ "justification required", ONE(1, 1), .steps = {
	    { DEC(DECISION_APPROVE, ALICE, 1, 0, 0, NOW), EXP(REFUSED, PENDING),
	      .why = "justification required" },
	    { DEC(DECISION_DENY, ALICE, 1, 0, 0, NOW), EXP(REFUSED, PENDING),
	      .why = "justification required" },
	    { DEC(DECISION_APPROVE, ALICE, 1, 1, 0, NOW), EXP(OK, APPROVING) } } },
	{ "approval at or after the deadline", ONE(1, 0), .steps = {
	    { DEC(DECISION_APPROVE, ALICE, 1, 1, 0, T0 + DAY), EXP(REFUSED, PENDING),
	      .why = "after deadline" },
	    { DEC(DECISION_APPROVE, ALICE, 1, 1, 0, T0 + DAY + 1), EXP(REFUSED, PENDING),
	      .why = "after deadline" },
	    { DEC(DECISION_APPROVE, ALICE, 1, 1, 0, T0 + DAY - 1), EXP(OK, APPROVING) } } },
	{ "deny guards", ONE(1, 0), .steps = {
	    { DEC(DECISION_DENY, ALICE, 1, 1, 0, T0 + DAY), EXP(REFUSED, PENDING),
	      .why = "after deadline" },
	    { DN(REQ_UPN), EXP(REFUSED, PENDING), .why = SELF },
	    { DN(NOBODY), EXP(REFUSED, PENDING), .why = "approver has no identity" },
	    { DN(ALICE), EXP(OK, REJECTING),
	      .fx = "cancel_timers graph_deny:approver_deny audit" } } },
	{ "approver without identity", .steps = {
	    { AP(NOBODY), EXP(REFUSED, PENDING), .why = "approver has no identity" } } },
	{ "requestor without identity", .no_requestor = 1, .steps = {
	    { AP(ALICE), EXP(REFUSED, PENDING), .why = "requestor has no identity" } } },
	{ "late events after a terminal state", .steps = {
	    { DN(ALICE), EXP(OK, REJECTING) },
	    { EV(RESULT_OK), EXP(OK, REJECTED), .fx = "notify:rejected audit" },
	    { AP(BOB), EXP(NOOP, REJECTED), .why = "terminal state" },
	    { TM(TIMER_DENY, 0), EXP(NOOP, REJECTED) },
	    { EV(GRAPH_APPROVED), EXP(NOOP, REJECTED) },
	    { EV(CANCEL), EXP(NOOP, REJECTED) } } },
	{ "stale timers for another stage", .steps = {
	    { AP(ALICE), EXP(OK, PENDING), .stage1 = 2 },
	    { TM(TIMER_DENY, 0), EXP(NOOP, PENDING), .why = "stale timer (another stage)" },
	    { TM(TIMER_ESCALATE, 0), EXP(NOOP, PENDING) },
	    { TM(TIMER_REMIND, 0), EXP(NOOP, PENDING) },
	    { TM(TIMER_DENY, 1), EXP(OK, REJECTING),
	      .fx = "cancel_timers graph_deny:timed_out notify:timed_out audit" },
	    { EV(RESULT_OK), EXP(OK, REJECTED), .fx = "notify:timed_out audit" } } },
	{ "escalated stage still decides", .steps = {
	    { TM(TIMER_ESCALATE, 0), EXP(OK, ESCALATED) },
	    { TM(TIMER_ESCALATE, 0), EXP(NOOP, ESCALATED) },
	    { AP(REQ_UPN), EXP(REFUSED, ESCALATED), .why = SELF },
	    { AP(ALICE), EXP(OK, PENDING), .stage1 = 2 },
	    { TM(TIMER_ESCALATE, 0), EXP(NOOP, PENDING) },
	    { AP(BOB), EXP(OK, APPROVING) } } },
	{ "approved in Entra is a fact, never a Graph call", .steps = {
	    { DEC(DECISION_APPROVE, REQ, 0, 0, 1, NOW), EXP(OK, APPROVED),
	      .why = "decided on Graph", .fx = "cancel_timers notify:approved audit" } } },
	{ "approved on Graph: who decided is read first", .steps = {
	    { EV(GRAPH_APPROVED), EXP(OK, PENDING), .stage1 = 1,
	      .why = "decided on Graph; read who decided", .fx = "read_decider audit" },
	    { GR(GRAPH_APPROVED, 0, 1), EXP(NOOP, PENDING), .why = "reading who decided" },
	    { DEC(DECISION_APPROVE, ALICE, 1, 0, 1, NOW), EXP(OK, APPROVED),
	      .why = "decided on Graph", .fx = "cancel_timers notify:approved audit" } } },
	{ "denied on Graph, nobody named: taken as observed", .steps = {
	    { EV(GRAPH_REJECTED), EXP(OK, PENDING), .fx = "read_decider audit" },
	    { GR(GRAPH_REJECTED, 1, 1), EXP(OK, REJECTED),
	      .fx = "cancel_timers notify:rejected audit" } } },
	{ "escalated, approved on Graph, step unreadable", .steps = {
	    { TM(TIMER_ESCALATE, 0), EXP(OK, ESCALATED) },
	    { GR(GRAPH_APPROVED, 0, 1), EXP(NOOP, ESCALATED) },
	    { EV(GRAPH_APPROVED), EXP(OK, ESCALATED), .fx = "read_decider audit" },
	    { GR(GRAPH_APPROVED, 1, 0), EXP(OK, APPROVED),
	      .fx = "cancel_timers notify:approved audit" } } },
	{ "decider flags mean nothing outside a waiting stage", ONE(1, 0), .steps = {
	    { AP(ALICE), EXP(OK, APPROVING) },
	    { GR(GRAPH_APPROVED, 0, 1), EXP(OK, APPROVED),
	      .fx = "cancel_timers notify:approved audit" } } },
	{ "denied in Entra", .steps = {
	    { DEC(DECISION_DENY, ALICE, 0, 0, 1, NOW), EXP(OK, REJECTED),
	      .fx = "cancel_timers notify:rejected audit" } } },
	{ "a deny after partial approval wins", ONE(2, 0), .steps = {
	    { AP(ALICE), EXP(OK, PENDING) },
	    { DN(BOB), EXP(OK, REJECTING) },
	    { AP(CAROL), EXP(REFUSED, REJECTING), .why = "no stage pending" },
	    { EV(RESULT_CONFLICT), EXP(OK, REJECTING), .fx = "readback audit" },
	    { EV(GRAPH_REJECTED), EXP(OK, REJECTED) } } },
	{ "re-evaluation forgets approvals", ONE(2, 0), .steps = {
	    { AP(ALICE), EXP(OK, PENDING) },
	    { EV(REEVALUATE), EXP(OK, EVALUATING) },
	    { EV(VERDICT_STAGES), EXP(OK, PENDING), .stage1 = 1 },
	    { AP(BOB), EXP(OK, PENDING), .stage1 = 2 },
	    { AP(ALICE), EXP(OK, APPROVING) } } },
	{ "a policy change forgets approvals; stage 1 starts again", .steps = {
	    { AP(ALICE), EXP(OK, PENDING), .stage1 = 2 },
	    { EV(POLICY_CHANGED), EXP(OK, EVALUATING),
	      .fx = "cancel_timers forget_approvers audit" },
	    { EV(POLICY_CHANGED), EXP(NOOP, EVALUATING), .why = "already evaluating" },
	    { EV(VERDICT_STAGES), EXP(OK, PENDING), .stage1 = 1 },
	    { AP(BOB), EXP(OK, PENDING), .stage1 = 2 },
	    { AP(BOB), EXP(REFUSED, PENDING), .why = EARLY },
	    { AP(ALICE), EXP(OK, APPROVING) } } },
	{ "a policy change before the approve is sent", ONE(1, 0), .steps = {
	    { AP(ALICE), EXP(OK, APPROVING) },
	    { EV(POLICY_CHANGED), EXP(OK, EVALUATING), .fx = "forget_approvers audit" },
	    { EV(VERDICT_REJECT), EXP(OK, REJECTING), .fx = "graph_deny:rule audit" },
	    { EV(POLICY_CHANGED), EXP(NOOP, REJECTING), .why = "a deny in flight stands" },
	    { EV(RESULT_OK), EXP(OK, REJECTED) } } },
	{ "cancel refused while an approve is in flight", ONE(1, 0), .steps = {
	    { AP(ALICE), EXP(OK, APPROVING) },
	    { EV(CANCEL), EXP(REFUSED, APPROVING), .why = "action in flight" },
	    { EV(RESULT_UNKNOWN), EXP(OK, APPROVING), .fx = "readback audit" },
	    { EV(GRAPH_APPROVED), EXP(OK, APPROVED) },
	    { EV(CANCEL), EXP(OK, CANCELING) },
	    { EV(RESULT_OK), EXP(OK, CANCELED), .fx = "notify:canceled audit" } } },
	{ "nobody eligible", .steps = {
	    { EV(NO_APPROVER), EXP(OK, REJECTING) },
	    { EV(RESULT_FAILED), EXP(OK, ATTENTION) },
	    { AP(ALICE), EXP(REFUSED, ATTENTION) },
	    { EV(CANCEL), EXP(OK, CANCELING) },
	    { EV(RESULT_OK), EXP(OK, CANCELED) } } },
};
/* clang-format on */

#define NGCASES (sizeof(gcases) / sizeof(gcases[0]))

/* Run one sequence; stderr names the case and step of any mismatch. */
static void
run_gcase(const struct gcase *c)
{
	struct sm_principal nobody;
	struct sm_request r;
	struct sm_effects fx;
	struct sm_event ev;
	const char *why;
	enum sm_result res;
	char buf[512];
	size_t i;

	if (c->n > 0)
		r = mk_pending(c->n, c->params);
	else
		r = mk_state(SM_S_PENDING);
	if (c->no_requestor) {
		memset(&nobody, 0, sizeof(nobody));
		r.requestor = nobody;
	}
	for (i = 0; i < GSTEPS && c->steps[i].at != 0; i++) {
		const struct gstep *s = &c->steps[i];
		struct sm_request before = r;

		if (s->k >= SM_E_TIMER_ESCALATE && s->k <= SM_E_TIMER_REMIND)
			ev = ev_timer(s->k, s->tstage);
		else if (s->k == SM_E_DECISION_APPROVE ||
		         s->k == SM_E_DECISION_DENY)
			ev = ev_decision(
			    s->k, s->w, s->in_set, s->just, s->via, s->at);
		else
			ev = ev_default(s->k, &r);
		if (s->k == SM_E_GRAPH_APPROVED ||
		    s->k == SM_E_GRAPH_REJECTED) {
			ev.u.graph.decider_read = s->read;
			ev.u.graph.decider_reading = s->reading;
		}
		why = NULL;
		res = sm_step(&r, &ev, s->at, &r, &fx, &why);
		fx_render(&fx, buf, sizeof(buf));
		if (res != s->want || r.state != s->state ||
		    (s->stage1 && r.stage + 1 != s->stage1) ||
		    (s->why && (!why || strcmp(why, s->why) != 0)) ||
		    (s->fx && strcmp(buf, s->fx) != 0))
			fprintf(stderr,
			    "case \"%s\" step %zu (%s): got %s -> %s stage %u "
			    "[%s] (%s)\n",
			    c->name, i, sm_event_name(s->k),
			    sm_result_name(res), sm_state_name(r.state),
			    r.stage, buf, why ? why : "-");
		CU_ASSERT_EQUAL(res, s->want);
		CU_ASSERT_EQUAL(r.state, s->state);
		if (s->stage1)
			CU_ASSERT_EQUAL(r.stage + 1, s->stage1);
		if (s->why)
			CU_ASSERT(why != NULL && strcmp(why, s->why) == 0);
		if (s->fx)
			CU_ASSERT_STRING_EQUAL(buf, s->fx);
		if (res != SM_OK) {
			CU_ASSERT(memcmp(&before, &r, sizeof(r)) == 0);
			CU_ASSERT_EQUAL(fx.n, 0);
		}
	}
}

void
test_guards_sequences(void)
{
	size_t i;

	for (i = 0; i < NGCASES; i++)
		run_gcase(&gcases[i]);
}

void
test_guards_same_principal(void)
{
	static const struct {
		enum who a, b;
		int same;
	} cases[] = {
		{ W_REQ, W_REQ, 1 },
		{ W_REQ, W_REQ_ID, 1 },
		{ W_REQ, W_REQ_UPN, 1 },
		{ W_REQ, W_REQ_ALIAS, 1 },
		{ W_REQ_ID, W_REQ_UPN, 0 }, /* nothing in common */
		{ W_ALICE, W_ALICE_UPN, 1 },
		{ W_ALICE, W_BOB, 0 },
		{ W_REQ, W_ALICE, 0 },
		{ W_NOBODY, W_NOBODY, 0 },
		{ W_NOBODY, W_REQ, 0 },
		{ W_REQ_UPN, W_NOBODY, 0 },
	};
	struct sm_principal x, y;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(sm_same_principal(
		                    &who_tab[cases[i].a], &who_tab[cases[i].b]),
		    cases[i].same);
		CU_ASSERT_EQUAL(sm_same_principal(
		                    &who_tab[cases[i].b], &who_tab[cases[i].a]),
		    cases[i].same);
	}
	/* Object ids are compared exactly, UPNs ASCII case-insensitively. */
	memset(&x, 0, sizeof(x));
	memset(&y, 0, sizeof(y));
	strcpy(x.id, "ABC-def");
	strcpy(y.id, "abc-DEF");
	CU_ASSERT_FALSE(sm_same_principal(&x, &y));
	strcpy(x.upn, "Z@x.org");
	strcpy(y.upn, "z@X.ORG");
	CU_ASSERT_TRUE(sm_same_principal(&x, &y));
	strcpy(y.upn, "z@X.ORG.");
	CU_ASSERT_FALSE(sm_same_principal(&x, &y));
	/* Unterminated fields are read no further than SM_ID_MAX. */
	memset(x.id, 'a', sizeof(x.id));
	memset(y.id, 'a', sizeof(y.id));
	CU_ASSERT_TRUE(sm_same_principal(&x, &y));
	CU_ASSERT_FALSE(sm_same_principal(NULL, &y));
}

void
test_guards_stage_params(void)
{
	static const struct {
		uint32_t n;
		struct sm_stage_params p[SM_MAX_STAGES];
		int ok;
	} cases[] = {
		{ 0, { { .approvals = 1 } }, 0 },
		{ SM_MAX_STAGES + 1, { { .approvals = 1 } }, 0 },
		{ 1, { { .approvals = 0 } }, 0 },
		{ 1, { { .approvals = SM_MAX_APPROVALS + 1 } }, 0 },
		{ 1, { { .approvals = SM_MAX_APPROVALS } }, 1 },
		{ 2, { { .approvals = 1 }, { .approvals = 0 } }, 0 },
		{ 1,
		    { { .approvals = 1,
		        .escalate_after = 10,
		        .deny_after = 9 } },
		    0 },
		{ 1,
		    { { .approvals = 1,
		        .escalate_after = 10,
		        .deny_after = 10 } },
		    1 },
		{ 1, { { .approvals = 1, .escalate_after = 10 } }, 1 },
		{ 1, { { .approvals = 1, .deny_after = -1 } }, 0 },
		{ 1, { { .approvals = 1, .remind_every = -5 } }, 0 },
		{ 1, { { .approvals = 1, .escalate_after = INT64_MAX } }, 0 },
		{ 3,
		    { { .approvals = 1 }, { .approvals = 2 },
		        { .approvals = 3 } },
		    1 },
	};
	struct sm_request r;
	struct sm_effects fx;
	struct sm_event ev;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = mk_state(SM_S_EVALUATING);
		memset(&ev, 0, sizeof(ev));
		ev.kind = SM_E_VERDICT_STAGES;
		ev.u.stages.nstages = cases[i].n;
		memcpy(ev.u.stages.params, cases[i].p, sizeof(cases[i].p));
		why = NULL;
		if (cases[i].ok) {
			step_expect(&r, &ev, T0, SM_OK, &fx, &why);
			CU_ASSERT_EQUAL(r.state, SM_S_PENDING);
			CU_ASSERT_EQUAL(r.nstages, cases[i].n);
		} else {
			step_expect(&r, &ev, T0, SM_REFUSED, &fx, &why);
			CU_ASSERT_EQUAL(r.state, SM_S_EVALUATING);
			CU_ASSERT(why != NULL &&
			          strcmp(why, "invalid stage parameters") == 0);
		}
	}
}

/* Timers are armed at absolute times derived from the stage start. */
void
test_guards_timer_times(void)
{
	static const struct sm_stage_params p[2] = {
		{ .approvals = 1,
		    .escalate_after = 100,
		    .deny_after = 1000,
		    .remind_every = 300 },
		{ .approvals = 1, .remind_every = 50 },
	};
	struct sm_request r;
	struct sm_effects fx;
	struct sm_event ev;
	const int64_t start = T0 + 7;
	size_t i;
	int seen = 0;

	r = mk_state(SM_S_EVALUATING);
	memset(&ev, 0, sizeof(ev));
	ev.kind = SM_E_VERDICT_STAGES;
	ev.u.stages.nstages = 2;
	memcpy(ev.u.stages.params, p, sizeof(p));
	step_expect(&r, &ev, start, SM_OK, &fx, NULL);
	CU_ASSERT_EQUAL(r.stage_started, start);
	CU_ASSERT_EQUAL(r.deadline, start + 1000);
	for (i = 0; i < fx.n; i++) {
		if (fx.v[i].kind != SM_F_ARM_TIMER)
			continue;
		seen |= 1 << fx.v[i].timer;
		CU_ASSERT_EQUAL(fx.v[i].stage, 0);
		CU_ASSERT_EQUAL(fx.v[i].at,
		    start + (fx.v[i].timer == SM_T_ESCALATE  ? 100
		                : fx.v[i].timer == SM_T_DENY ? 1000
		                                             : 300));
	}
	CU_ASSERT_EQUAL(seen, 7);

	/* A reminder is re-armed only while it falls before the deadline. */
	ev = ev_timer(SM_E_TIMER_REMIND, 0);
	step_expect(&r, &ev, start + 600, SM_OK, &fx, NULL);
	CU_ASSERT_EQUAL(fx.n, 2);
	CU_ASSERT_EQUAL(fx.v[1].kind, SM_F_ARM_TIMER);
	CU_ASSERT_EQUAL(fx.v[1].timer, SM_T_REMIND);
	CU_ASSERT_EQUAL(fx.v[1].at, start + 900);
	step_expect(&r, &ev, start + 700, SM_OK, &fx, NULL);
	CU_ASSERT_EQUAL(fx.n, 1);
	CU_ASSERT_EQUAL(fx.v[0].notify, SM_N_REMINDER);

	/* The next stage starts at the approval; no deadline, no deny timer. */
	ev = ev_decision(SM_E_DECISION_APPROVE, W_ALICE, 1, 1, 0, start + 800);
	step_expect(&r, &ev, start + 800, SM_OK, &fx, NULL);
	CU_ASSERT_EQUAL(r.stage, 1);
	CU_ASSERT_EQUAL(r.stage_started, start + 800);
	CU_ASSERT_EQUAL(r.deadline, 0);
	seen = 0;
	for (i = 0; i < fx.n; i++)
		if (fx.v[i].kind == SM_F_ARM_TIMER) {
			seen++;
			CU_ASSERT_EQUAL(fx.v[i].timer, SM_T_REMIND);
			CU_ASSERT_EQUAL(fx.v[i].stage, 1);
			CU_ASSERT_EQUAL(fx.v[i].at, start + 850);
		} else if (fx.v[i].kind == SM_F_RESOLVE)
			CU_ASSERT_EQUAL(fx.v[i].stage, 1);
	CU_ASSERT_EQUAL(seen, 1);
	ev = ev_timer(SM_E_TIMER_REMIND, 1);
	step_expect(&r, &ev, start + 10000, SM_OK, &fx, NULL);
	CU_ASSERT_EQUAL(fx.n, 2);
	CU_ASSERT_EQUAL(fx.v[1].at, start + 10050);
}

/* Graph's rejection confirms a timed-out deny as timed_out, else rejected. */
void
test_guards_notify_by_reason(void)
{
	struct sm_request r;
	struct sm_effects fx;
	struct sm_event ev;
	char buf[256];

	r = mk_state(SM_S_PENDING);
	ev = ev_timer(SM_E_TIMER_DENY, 0);
	step_expect(&r, &ev, T0 + 86400, SM_OK, &fx, NULL);
	CU_ASSERT_EQUAL(r.reason, SM_R_TIMED_OUT);
	CU_ASSERT_EQUAL(r.denied, 1);
	ev.kind = SM_E_GRAPH_REJECTED;
	step_expect(&r, &ev, T0 + 86401, SM_OK, &fx, NULL);
	CU_ASSERT_STRING_EQUAL(fx_render(&fx, buf, sizeof(buf)),
	    "cancel_timers notify:timed_out audit");

	r = mk_state(SM_S_PENDING);
	ev = ev_decision(SM_E_DECISION_DENY, W_BOB, 1, 1, 0, T0 + 5);
	step_expect(&r, &ev, T0 + 5, SM_OK, &fx, NULL);
	CU_ASSERT_EQUAL(r.reason, SM_R_APPROVER_DENY);
	CU_ASSERT_EQUAL(fx.v[1].reason, SM_R_APPROVER_DENY);
	ev.kind = SM_E_RESULT_OK;
	step_expect(&r, &ev, T0 + 6, SM_OK, &fx, NULL);
	CU_ASSERT_STRING_EQUAL(
	    fx_render(&fx, buf, sizeof(buf)), "notify:rejected audit");
}

/* An operator's retry from attention carries out the refused action again:
 * the cancel asked for, the deny recorded (with its reason), an approve
 * only while the record still justifies it; else the policy decides again. */
void
test_guards_retry(void)
{
	struct sm_request r;
	struct sm_effects fx;
	struct sm_event ev;
	char buf[256];

	memset(&ev, 0, sizeof(ev));
	/* a refused approver deny is denied again, never approved */
	r = mk_state(SM_S_PENDING);
	ev = ev_decision(SM_E_DECISION_DENY, W_BOB, 1, 1, 0, T0 + 5);
	step_expect(&r, &ev, T0 + 5, SM_OK, &fx, NULL);
	ev.kind = SM_E_RESULT_FAILED;
	step_expect(&r, &ev, T0 + 6, SM_OK, &fx, NULL);
	CU_ASSERT_EQUAL(r.state, SM_S_ATTENTION);
	ev.kind = SM_E_RETRY;
	step_expect(&r, &ev, T0 + 7, SM_OK, &fx, NULL);
	CU_ASSERT_EQUAL(r.state, SM_S_REJECTING);
	CU_ASSERT_STRING_EQUAL(
	    fx_render(&fx, buf, sizeof(buf)), "graph_deny:approver_deny audit");

	/* a refused operator cancel is canceled again */
	r = mk_state(SM_S_PENDING);
	ev.kind = SM_E_CANCEL;
	step_expect(&r, &ev, T0 + 5, SM_OK, &fx, NULL);
	ev.kind = SM_E_RESULT_FAILED;
	step_expect(&r, &ev, T0 + 6, SM_OK, &fx, NULL);
	ev.kind = SM_E_RETRY;
	step_expect(&r, &ev, T0 + 7, SM_OK, &fx, NULL);
	CU_ASSERT_EQUAL(r.state, SM_S_CANCELING);
	CU_ASSERT_STRING_EQUAL(
	    fx_render(&fx, buf, sizeof(buf)), "graph_cancel:operator audit");

	/* an approve whose record no longer justifies it (its verdict gone
	 * from a corrupted or hand-edited record) is evaluated again */
	r = mk_state(SM_S_ATTENTION);
	r.verdict_approve = 0;
	ev.kind = SM_E_RETRY;
	step_expect(&r, &ev, T0 + 7, SM_OK, &fx, NULL);
	CU_ASSERT_EQUAL(r.state, SM_S_EVALUATING);
	CU_ASSERT_STRING_EQUAL(
	    fx_render(&fx, buf, sizeof(buf)), "forget_approvers audit");

	/* a second retry while the first is in flight does nothing */
	r = mk_state(SM_S_ATTENTION);
	step_expect(&r, &ev, T0 + 7, SM_OK, &fx, NULL);
	CU_ASSERT_EQUAL(r.state, SM_S_APPROVING);
	step_expect(&r, &ev, T0 + 8, SM_NOOP, &fx, NULL);
}
