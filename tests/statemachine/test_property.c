/*
 * Suite `property`: reachability over the table, and a seeded randomized
 * run of event sequences (SM_SEED overrides the seed, SM_SEQUENCES the
 * count) checking invariants after every step against a shadow model that
 * is built only from the events fed and the results returned, never from
 * the machine's own bookkeeping.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "sm_test.h"

#define DEFAULT_SEED      UINT64_C(0x5eed20261122)
#define DEFAULT_SEQUENCES 100000
#define MAX_EVENTS        40
#define MAX_ARMED         64
#define SHADOW_ACC        16

/* Every non-terminal state reaches a terminal one through the table; also
 * without Graph observations, through timers, results and operator cancel
 * alone, and through unguarded rows alone. */
void
test_property_reachability(void)
{
	static const int graph_obs[SM_E_MAX] = {
		[SM_E_GRAPH_SUBMITTED] = 1,
		[SM_E_GRAPH_APPROVED] = 1,
		[SM_E_GRAPH_COMPLETED] = 1,
		[SM_E_GRAPH_CANCELED] = 1,
		[SM_E_GRAPH_REJECTED] = 1,
		[SM_E_GRAPH_UNKNOWN] = 1,
	};
	struct sm_row_info ri;
	int reach[SM_S_MAX], mode, s, changed;
	size_t i;

	for (mode = 0; mode < 3; mode++) {
		for (s = 0; s < SM_S_MAX; s++)
			reach[s] = sm_state_terminal((enum sm_state)s);
		do {
			changed = 0;
			for (i = 0; sm_table_row(i, &ri) == 0; i++) {
				if (ri.result != SM_OK || reach[ri.from] ||
				    !reach[ri.to])
					continue;
				if (mode == 1 && graph_obs[ri.event])
					continue;
				if (mode == 2 && ri.guarded)
					continue;
				reach[ri.from] = changed = 1;
			}
		} while (changed);
		for (s = 0; s < SM_S_MAX; s++) {
			if (!reach[s])
				fprintf(stderr,
				    "mode %d: %s cannot terminate\n", mode,
				    sm_state_name((enum sm_state)s));
			CU_ASSERT(reach[s]);
		}
	}
	/* The terminal states themselves have no rows out. */
	for (i = 0; sm_table_row(i, &ri) == 0; i++)
		CU_ASSERT(!sm_state_terminal(ri.from));
}

static uint64_t rng_state;

/* splitmix64 */
static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint32_t
rn(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* 1 with probability pct/100. */
static int
chance(uint32_t pct)
{
	return rn(100) < pct;
}

/* The test's own idea of "same person", written independently. */
static int
shadow_same(const struct sm_principal *a, const struct sm_principal *b)
{
	size_t i;

	if (a->id[0] != '\0' && strcmp(a->id, b->id) == 0)
		return 1;
	if (a->upn[0] == '\0' || strlen(a->upn) != strlen(b->upn))
		return 0;
	for (i = 0; a->upn[i] != '\0'; i++) {
		char x = a->upn[i], y = b->upn[i];

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return 1;
}

struct timer {
	enum sm_timer_kind kind;
	uint32_t stage;
	int64_t at;
};

/* What the fed events say about the request. */
struct shadow {
	struct sm_principal requestor;
	int verdict_approve;
	int denied;
	uint32_t nstages, stage;
	struct sm_stage_params params[SM_MAX_STAGES];
	int64_t deadline, stage_started;
	struct {
		uint32_t n;
		struct sm_principal who[SHADOW_ACC];
		int bad; /* an accepted approval broke a rule */
	} acc[SM_MAX_STAGES];
	struct timer armed[MAX_ARMED];
	size_t narmed;
};

struct stats {
	unsigned long steps, by_quorum, by_verdict, approved, refused_self,
	    terminal, policy_restarts, read_decider, result[SM_RESULT_MAX];
};

static void
shadow_reset_verdict(struct shadow *sh)
{
	sh->verdict_approve = 0;
	sh->nstages = sh->stage = 0;
	sh->deadline = 0;
	memset(sh->params, 0, sizeof(sh->params));
	memset(sh->acc, 0, sizeof(sh->acc));
}

static void
shadow_start_stage(struct shadow *sh, int64_t now)
{
	int64_t d = sh->params[sh->stage].deny_after;

	sh->stage_started = now;
	sh->deadline = d > 0 ? now + d : 0;
}

/* Number of distinct people among the accepted approvals of stage `s`. */
static uint32_t
shadow_distinct(const struct shadow *sh, uint32_t s)
{
	uint32_t i, j, n = 0;

	for (i = 0; i < sh->acc[s].n; i++) {
		for (j = 0; j < i; j++)
			if (shadow_same(&sh->acc[s].who[i], &sh->acc[s].who[j]))
				break;
		n += j == i;
	}
	return n;
}

/* An approval the machine accepted: record it and judge it independently. */
static void
shadow_approval(struct shadow *sh, const struct sm_decision *d, int64_t now)
{
	uint32_t s = sh->stage, t, i;
	int bad = 0;

	if (s >= sh->nstages || sh->acc[s].n >= SHADOW_ACC) {
		sh->acc[s < SM_MAX_STAGES ? s : 0].bad = 1;
		return;
	}
	if (!d->in_stage_set || (d->who.id[0] == '\0' && d->who.upn[0] == '\0'))
		bad = 1;
	if (sh->deadline != 0 && d->at >= sh->deadline)
		bad = 1;
	if (d->at < sh->stage_started)
		bad = 1;
	if (sh->params[s].justification_required && !d->has_justification)
		bad = 1;
	if (shadow_same(&d->who, &sh->requestor) ||
	    shadow_same(&sh->requestor, &d->who))
		bad = 1;
	for (t = 0; t < s; t++)
		for (i = 0; i < sh->acc[t].n; i++)
			if (shadow_same(&sh->acc[t].who[i], &d->who))
				bad = 1;
	sh->acc[s].bad |= bad;
	sh->acc[s].who[sh->acc[s].n++] = d->who;
	if (shadow_distinct(sh, s) >= sh->params[s].approvals &&
	    s + 1 < sh->nstages) {
		sh->stage++;
		shadow_start_stage(sh, now);
	}
}

/* Invariant (a): approving is justified by what was fed. */
static int
shadow_justified(const struct shadow *sh)
{
	uint32_t s, t, i, j;

	if (sh->denied)
		return 0;
	if (sh->requestor.id[0] == '\0' && sh->requestor.upn[0] == '\0')
		return 0;
	if (sh->verdict_approve)
		return 1;
	if (sh->nstages == 0)
		return 0;
	for (s = 0; s < sh->nstages; s++) {
		if (sh->acc[s].bad ||
		    shadow_distinct(sh, s) < sh->params[s].approvals)
			return 0;
		for (t = s + 1; t < sh->nstages; t++)
			for (i = 0; i < sh->acc[s].n; i++)
				for (j = 0; j < sh->acc[t].n; j++)
					if (shadow_same(&sh->acc[s].who[i],
					        &sh->acc[t].who[j]))
						return 0;
	}
	return 1;
}

/* Apply the timer effects of a step to the shadow's armed set. */
static void
shadow_timers(struct shadow *sh, const struct sm_effects *fx)
{
	size_t i;

	for (i = 0; i < fx->n; i++) {
		if (fx->v[i].kind == SM_F_CANCEL_TIMERS)
			sh->narmed = 0;
		else if (fx->v[i].kind == SM_F_ARM_TIMER &&
		         sh->narmed < MAX_ARMED) {
			sh->armed[sh->narmed].kind = fx->v[i].timer;
			sh->armed[sh->narmed].stage = fx->v[i].stage;
			sh->armed[sh->narmed].at = fx->v[i].at;
			sh->narmed++;
		}
	}
}

static const enum who pool[] = { W_REQ, W_REQ_UPN, W_REQ_ID, W_REQ_ALIAS,
	W_ALICE, W_ALICE_UPN, W_BOB, W_CAROL, W_DAVE, W_ERIN, W_FRANK,
	W_NOBODY };
#define NPOOL (sizeof(pool) / sizeof(pool[0]))

static void
random_stages(struct sm_event *ev)
{
	uint32_t i;

	ev->u.stages.nstages = chance(3) ? rn(SM_MAX_STAGES + 2) : 1 + rn(3);
	for (i = 0; i < SM_MAX_STAGES; i++) {
		struct sm_stage_params *p = &ev->u.stages.params[i];

		p->approvals = chance(3)    ? (chance(50) ? 0 : 9)
		               : chance(60) ? 1
		                            : 2 + rn(2);
		p->justification_required = chance(30);
		p->escalate_after = chance(50) ? 3600 * (1 + rn(12)) : 0;
		p->deny_after = chance(70) ? 3600 * (1 + rn(72)) : 0;
		p->remind_every = chance(40) ? 1800 * (1 + rn(8)) : 0;
	}
}

/* A random event, biased towards what makes sense in `st`. */
static struct sm_event
random_event(struct shadow *sh, const struct sm_request *r, int64_t *now)
{
	static const enum sm_event_kind results[] = { SM_E_RESULT_OK,
		SM_E_RESULT_OK, SM_E_RESULT_FAILED, SM_E_RESULT_CONFLICT,
		SM_E_RESULT_UNKNOWN };
	static const enum sm_event_kind verdicts[] = { SM_E_VERDICT_STAGES,
		SM_E_VERDICT_STAGES, SM_E_VERDICT_STAGES, SM_E_VERDICT_STAGES,
		SM_E_VERDICT_APPROVE, SM_E_VERDICT_REJECT,
		SM_E_VERDICT_IGNORE };
	struct sm_event ev;
	enum sm_event_kind k = (enum sm_event_kind)rn(SM_E_MAX);
	size_t i;

	memset(&ev, 0, sizeof(ev));
	if (chance(75))
		switch (r->state) {
		case SM_S_NEW:
			k = SM_E_GRAPH_SUBMITTED;
			break;
		case SM_S_EVALUATING:
			k = verdicts[rn(7)];
			break;
		case SM_S_PENDING:
		case SM_S_ESCALATED:
			k = chance(80)   ? SM_E_DECISION_APPROVE
			    : chance(15) ? SM_E_GRAPH_APPROVED + 4 * rn(2)
			    : chance(20) ? SM_E_POLICY_CHANGED
			    : chance(50) ? SM_E_TIMER_ESCALATE
			    : chance(70) ? SM_E_TIMER_REMIND
			                 : SM_E_DECISION_DENY;
			break;
		case SM_S_APPROVING:
			k = chance(10) ? SM_E_POLICY_CHANGED : results[rn(5)];
			break;
		case SM_S_REJECTING:
		case SM_S_CANCELING:
			k = results[rn(5)];
			break;
		default:
			break;
		}
	ev.kind = k;
	switch (k) {
	case SM_E_VERDICT_STAGES:
		random_stages(&ev);
		break;
	case SM_E_DECISION_APPROVE:
	case SM_E_DECISION_DENY:
		ev.u.decision.who = who_tab[pool[rn(NPOOL)]];
		ev.u.decision.in_stage_set = chance(90);
		ev.u.decision.has_justification = chance(85);
		ev.u.decision.via_graph = chance(3);
		ev.u.decision.at = *now - (chance(80) ? rn(30) : rn(600));
		if (sh->deadline != 0 && chance(10))
			ev.u.decision.at = sh->deadline - 1 + rn(3);
		break;
	case SM_E_GRAPH_APPROVED:
	case SM_E_GRAPH_REJECTED:
		ev.u.graph.decider_read = chance(50);
		ev.u.graph.decider_reading = chance(30);
		break;
	case SM_E_TIMER_ESCALATE:
	case SM_E_TIMER_DENY:
	case SM_E_TIMER_REMIND:
		ev.u.timer.stage = rn(SM_MAX_STAGES + 1);
		if (sh->narmed > 0 && chance(85)) {
			/* fire an armed timer, as the daemon would */
			i = rn((uint32_t)sh->narmed);
			ev.kind = SM_E_TIMER_ESCALATE + sh->armed[i].kind;
			ev.u.timer.stage = sh->armed[i].stage;
			if (sh->armed[i].at > *now)
				*now = sh->armed[i].at;
			sh->armed[i] = sh->armed[--sh->narmed];
		}
		break;
	default:
		break;
	}
	return ev;
}

/* Fold a successful step into the shadow model. */
static void
shadow_step(struct shadow *sh, const struct sm_request *cur,
    const struct sm_event *ev, int64_t now)
{
	switch (ev->kind) {
	case SM_E_VERDICT_STAGES:
		shadow_reset_verdict(sh);
		sh->nstages = ev->u.stages.nstages;
		memcpy(sh->params, ev->u.stages.params, sizeof(sh->params));
		shadow_start_stage(sh, now);
		break;
	case SM_E_VERDICT_APPROVE:
		shadow_reset_verdict(sh);
		sh->verdict_approve = 1;
		break;
	case SM_E_REEVALUATE:
	case SM_E_POLICY_CHANGED:
		shadow_reset_verdict(sh);
		break;
	case SM_E_VERDICT_REJECT:
	case SM_E_NO_APPROVER:
	case SM_E_TIMER_DENY:
	case SM_E_DECISION_DENY:
		sh->denied = 1;
		break;
	case SM_E_DECISION_APPROVE:
		if (!ev->u.decision.via_graph)
			shadow_approval(sh, &ev->u.decision, now);
		break;
	default:
		break;
	}
	(void)cur;
}

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
			    "property: seed 0x%" PRIx64 " sequence %lu step "  \
			    "%d: %s + %s -> %s %s (%s): violated %s\n",        \
			    seed, seq, n, sm_state_name(cur.state),            \
			    sm_event_name(ev.kind), sm_result_name(res),       \
			    sm_state_name(next.state), why ? why : "-",        \
			    #cond);                                            \
			return 0;                                              \
		}                                                              \
	} while (0)

/* One random sequence; 0 on the first violated invariant. */
static int
run_sequence(uint64_t seed, unsigned long seq, struct stats *st)
{
	struct sm_request cur, next;
	struct sm_effects fx;
	struct sm_event ev;
	struct shadow sh;
	enum sm_result res = SM_OK;
	const char *why = NULL;
	int64_t now = T0 + rn(86400);
	int n, len = 1 + (int)rn(MAX_EVENTS), after_terminal = 0;
	size_t i;
	int approve_fx;

	memset(&sh, 0, sizeof(sh));
	sh.requestor = chance(2) ? who_tab[W_NOBODY] : who_tab[W_REQ];
	sm_init(&cur, &sh.requestor);
	for (n = 0; n < len && after_terminal < 3; n++) {
		now += rn(4) == 0 ? rn(7200) : rn(60);
		ev = random_event(&sh, &cur, &now);
		res = sm_step(&cur, &ev, now, &next, &fx, &why);
		st->steps++;
		st->result[res]++;
		CHECK(why != NULL);
		CHECK(fx.n <= SM_MAX_EFFECTS);
		/* (c) no change and no effects unless SM_OK */
		if (res != SM_OK) {
			CHECK(fx.n == 0);
			CHECK(memcmp(&cur, &next, sizeof(cur)) == 0);
		}
		/* (b) terminal states are absorbing */
		if (sm_state_terminal(cur.state)) {
			CHECK(res == SM_NOOP);
			after_terminal++;
		}
		CHECK(res != SM_INVALID || ev.kind == SM_E_REEVALUATE ||
		      (ev.kind >= SM_E_VERDICT_APPROVE &&
		          ev.kind <= SM_E_VERDICT_STAGES));
		if (res == SM_REFUSED && why &&
		    strcmp(why, "requestor cannot approve own request") == 0)
			st->refused_self++;
		/* timers act only for the stage they were armed for */
		if (res == SM_OK && ev.kind >= SM_E_TIMER_ESCALATE &&
		    ev.kind <= SM_E_TIMER_REMIND)
			CHECK(ev.u.timer.stage == sh.stage);
		/* (e) a policy change never leaves a decided state, and
		 * forgets every approval and resolved set it leaves behind */
		if (ev.kind == SM_E_POLICY_CHANGED) {
			int forget = 0;

			for (i = 0; i < fx.n; i++)
				forget |= fx.v[i].kind == SM_F_FORGET_APPROVERS;
			CHECK(res != SM_INVALID);
			CHECK(res != SM_OK || next.state == SM_S_EVALUATING);
			CHECK(res != SM_OK || (cur.state == SM_S_PENDING ||
			                          cur.state == SM_S_ESCALATED ||
			                          cur.state == SM_S_APPROVING ||
			                          cur.state == SM_S_IGNORED));
			CHECK(res != SM_OK ||
			      (next.nstages == 0 && !next.verdict_approve &&
			          next.record[0].napprovals == 0 &&
			          next.record[1].napprovals == 0 &&
			          next.record[2].napprovals == 0));
			CHECK(res != SM_OK || cur.state == SM_S_IGNORED ||
			      forget);
			if (res == SM_OK && cur.state != SM_S_IGNORED)
				st->policy_restarts++;
		}
		/* (f) a waiting stage seen decided on Graph asks who decided
		 * (and changes nothing) until that was read or cannot be;
		 * no other step asks */
		{
			int waiting = cur.state == SM_S_PENDING ||
			              cur.state == SM_S_ESCALATED;
			int decided = ev.kind == SM_E_GRAPH_APPROVED ||
			              ev.kind == SM_E_GRAPH_REJECTED;
			int unread =
			    waiting && decided && !ev.u.graph.decider_read;
			int read = 0, other = 0;

			for (i = 0; i < fx.n; i++) {
				read += fx.v[i].kind == SM_F_READ_DECIDER;
				other += fx.v[i].kind != SM_F_READ_DECIDER &&
				         fx.v[i].kind != SM_F_AUDIT;
			}
			CHECK(read == (unread && !ev.u.graph.decider_reading));
			CHECK(!unread || memcmp(&cur, &next, sizeof(cur)) == 0);
			CHECK(!unread ||
			      res == (ev.u.graph.decider_reading ? SM_NOOP
			                                         : SM_OK));
			CHECK(!read || other == 0);
			CHECK(
			    !(waiting && decided && ev.u.graph.decider_read) ||
			    next.state != cur.state);
			st->read_decider += read;
		}
		if (res == SM_OK)
			shadow_step(&sh, &cur, &ev, now);
		/* (a) approval is justified by the events fed */
		approve_fx = 0;
		for (i = 0; i < fx.n; i++)
			approve_fx |= fx.v[i].kind == SM_F_GRAPH_APPROVE;
		if (approve_fx || (next.state == SM_S_APPROVING &&
		                      cur.state != SM_S_APPROVING)) {
			CHECK(shadow_justified(&sh));
			CHECK(next.denied == 0);
			if (sh.verdict_approve)
				st->by_verdict++;
			else
				st->by_quorum++;
		}
		if (next.state == SM_S_APPROVED && cur.state != SM_S_APPROVED) {
			CHECK(ev.kind == SM_E_GRAPH_APPROVED ||
			      (ev.kind == SM_E_RESULT_OK &&
			          cur.state == SM_S_APPROVING) ||
			      (ev.kind == SM_E_DECISION_APPROVE &&
			          ev.u.decision.via_graph));
			st->approved++;
		}
		CHECK(!approve_fx || next.state == SM_S_APPROVING);
		/* (d) a waiting stage with a deadline has its deny timer */
		shadow_timers(&sh, &fx);
		if (next.state == SM_S_PENDING ||
		    next.state == SM_S_ESCALATED) {
			int armed = 0;

			CHECK(next.stage == sh.stage);
			CHECK(next.deadline == sh.deadline);
			for (i = 0; i < sh.narmed; i++)
				armed |= sh.armed[i].kind == SM_T_DENY &&
				         sh.armed[i].stage == next.stage &&
				         sh.armed[i].at == next.deadline;
			CHECK(sh.params[sh.stage].deny_after == 0 || armed);
		}
		if (sm_state_terminal(next.state) &&
		    !sm_state_terminal(cur.state))
			st->terminal++;
		cur = next;
	}
	return 1;
}

void
test_property_random(void)
{
	const char *env;
	uint64_t seed = DEFAULT_SEED;
	unsigned long seq, nseq = DEFAULT_SEQUENCES;
	struct stats st;

	if ((env = getenv("SM_SEED")) != NULL && *env != '\0')
		seed = strtoull(env, NULL, 0);
	if ((env = getenv("SM_SEQUENCES")) != NULL && *env != '\0')
		nseq = strtoul(env, NULL, 0);
	printf("\nproperty: seed 0x%" PRIx64 " (SM_SEED), %lu sequences\n",
	    seed, nseq);
	memset(&st, 0, sizeof(st));
	rng_state = seed;
	for (seq = 0; seq < nseq; seq++)
		if (!run_sequence(seed, seq, &st)) {
			CU_FAIL("invariant violated; see stderr");
			return;
		}
	printf("property: %lu steps; ok %lu noop %lu refused %lu invalid %lu; "
	       "approving by quorum %lu, by rule %lu; approved %lu; "
	       "terminal %lu; self-approval refused %lu; policy restarts "
	       "%lu; read decider %lu\n",
	    st.steps, st.result[SM_OK], st.result[SM_NOOP],
	    st.result[SM_REFUSED], st.result[SM_INVALID], st.by_quorum,
	    st.by_verdict, st.approved, st.terminal, st.refused_self,
	    st.policy_restarts, st.read_decider);
	/* The run must exercise what it claims to check. */
	if (nseq >= DEFAULT_SEQUENCES) {
		CU_ASSERT(st.by_quorum > 1000);
		CU_ASSERT(st.by_verdict > 1000);
		CU_ASSERT(st.refused_self > 1000);
		CU_ASSERT(st.terminal > 10000);
		CU_ASSERT(st.policy_restarts > 1000);
		CU_ASSERT(st.read_decider > 1000);
	}
}
