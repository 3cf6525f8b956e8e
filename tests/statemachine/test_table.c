/*
 * Suites `names` and `transitions`: every name table, and every state x
 * every event against a table of expected {result, next state, effects}.
 * Effects are compared exactly, in order, as rendered by fx_render():
 * "kind[:notify|:timer|:reason] ...".
 */
#include <stdio.h>
#include <string.h>

#include "cu.h"
#include "sm_test.h"

typedef const char *(*name_fn)(int);

/* Each name table, called through an int-taking adapter. */
static const char *
n_state(int i)
{
	return sm_state_name((enum sm_state)i);
}
static const char *
n_event(int i)
{
	return sm_event_name((enum sm_event_kind)i);
}
static const char *
n_effect(int i)
{
	return sm_effect_name((enum sm_effect_kind)i);
}
static const char *
n_timer(int i)
{
	return sm_timer_name((enum sm_timer_kind)i);
}
static const char *
n_notify(int i)
{
	return sm_notify_name((enum sm_notify_kind)i);
}
static const char *
n_reason(int i)
{
	return sm_reason_name((enum sm_reason)i);
}
static const char *
n_result(int i)
{
	return sm_result_name((enum sm_result)i);
}

static const struct {
	const char *table;
	name_fn fn;
	int max;
} name_tables[] = {
	{ "state", n_state, SM_S_MAX },
	{ "event", n_event, SM_E_MAX },
	{ "effect", n_effect, SM_F_MAX },
	{ "timer", n_timer, SM_T_MAX },
	{ "notify", n_notify, SM_N_MAX },
	{ "reason", n_reason, SM_R_MAX },
	{ "result", n_result, SM_RESULT_MAX },
};

#define NTABLES (sizeof(name_tables) / sizeof(name_tables[0]))

void
test_names_complete(void)
{
	size_t t;
	int i, j;

	for (t = 0; t < NTABLES; t++) {
		CU_ASSERT(name_tables[t].max > 0);
		for (i = 0; i < name_tables[t].max; i++) {
			const char *a = name_tables[t].fn(i);

			CU_ASSERT_PTR_NOT_NULL_FATAL(a);
			if (strcmp(a, "?") == 0 || a[0] == '\0')
				fprintf(stderr, "%s %d has no name\n",
				    name_tables[t].table, i);
			CU_ASSERT_STRING_NOT_EQUAL(a, "?");
			CU_ASSERT(a[0] != '\0');
			for (j = 0; j < i; j++)
				CU_ASSERT_STRING_NOT_EQUAL(
				    a, name_tables[t].fn(j));
		}
	}
}

void
test_names_out_of_range(void)
{
	static const int bad[] = { -1, -1000, 1000 };
	size_t t, k;

	for (t = 0; t < NTABLES; t++) {
		const char *m = name_tables[t].fn(name_tables[t].max);

		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_STRING_EQUAL(m, "?");
		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			const char *b = name_tables[t].fn(bad[k]);

			CU_ASSERT_PTR_NOT_NULL_FATAL(b);
			CU_ASSERT_STRING_EQUAL(b, "?");
		}
	}
}

void
test_names_roundtrip(void)
{
	int i;

	for (i = 0; i < SM_S_MAX; i++)
		CU_ASSERT_EQUAL(
		    sm_state_from_name(sm_state_name((enum sm_state)i)), i);
	CU_ASSERT_EQUAL(sm_state_from_name("?"), -1);
	CU_ASSERT_EQUAL(sm_state_from_name(""), -1);
	CU_ASSERT_EQUAL(sm_state_from_name("PENDING"), -1);
	CU_ASSERT_EQUAL(sm_state_from_name("pending "), -1);
	CU_ASSERT_EQUAL(sm_state_from_name(NULL), -1);
}

struct expect {
	enum sm_state from;
	enum sm_event_kind event;
	enum sm_result res;
	enum sm_state to;
	const char *fx;
};

/* clang-format off */
#define X(s, e, r, n, fx)	{ SM_S_##s, SM_E_##e, SM_##r, SM_S_##n, fx }
#define NO(s, e, r)		X(s, e, r, s, "")
#define VERDICTS_INVALID(s) \
	NO(s, VERDICT_APPROVE, INVALID), NO(s, VERDICT_REJECT, INVALID), \
	NO(s, VERDICT_IGNORE, INVALID), NO(s, VERDICT_STAGES, INVALID)
#define DECISIONS_REFUSED(s) \
	NO(s, DECISION_APPROVE, REFUSED), NO(s, DECISION_DENY, REFUSED), \
	NO(s, NO_APPROVER, REFUSED)
#define TIMERS_NOOP(s) \
	NO(s, TIMER_ESCALATE, NOOP), NO(s, TIMER_DENY, NOOP), NO(s, TIMER_REMIND, NOOP)
#define RESULTS_NOOP(s) \
	NO(s, RESULT_OK, NOOP), NO(s, RESULT_FAILED, NOOP), \
	NO(s, RESULT_CONFLICT, NOOP), NO(s, RESULT_UNKNOWN, NOOP)
#define CANCELS(s) \
	X(s, CANCEL, OK, CANCELING, "cancel_timers graph_cancel:operator audit")
#define TERMINAL(s) \
	NO(s, GRAPH_SUBMITTED, NOOP), NO(s, GRAPH_APPROVED, NOOP), \
	NO(s, GRAPH_COMPLETED, NOOP), NO(s, GRAPH_CANCELED, NOOP), \
	NO(s, GRAPH_REJECTED, NOOP), NO(s, GRAPH_UNKNOWN, NOOP), \
	NO(s, VERDICT_APPROVE, NOOP), NO(s, VERDICT_REJECT, NOOP), \
	NO(s, VERDICT_IGNORE, NOOP), NO(s, VERDICT_STAGES, NOOP), \
	NO(s, REEVALUATE, NOOP), NO(s, POLICY_CHANGED, NOOP), \
	NO(s, DECISION_APPROVE, NOOP), \
	NO(s, DECISION_DENY, NOOP), NO(s, NO_APPROVER, NOOP), \
	TIMERS_NOOP(s), RESULTS_NOOP(s), NO(s, CANCEL, NOOP), NO(s, RETRY, NOOP)

/* PENDING and ESCALATED differ only in escalation and where remind stays. */
#define STAGE_EXPECT(s) \
	NO(s, GRAPH_SUBMITTED, NOOP), \
	X(s, GRAPH_APPROVED, OK, s, "read_decider audit"), \
	X(s, GRAPH_COMPLETED, OK, COMPLETED, "cancel_timers audit"), \
	X(s, GRAPH_CANCELED, OK, CANCELED, "cancel_timers notify:canceled audit"), \
	X(s, GRAPH_REJECTED, OK, s, "read_decider audit"), \
	NO(s, GRAPH_UNKNOWN, NOOP), VERDICTS_INVALID(s), \
	X(s, REEVALUATE, OK, EVALUATING, "cancel_timers forget_approvers audit"), \
	X(s, POLICY_CHANGED, OK, EVALUATING, "cancel_timers forget_approvers audit"), \
	X(s, DECISION_APPROVE, OK, PENDING, \
	  "cancel_timers resolve arm_timer:deny notify:pending audit"), \
	X(s, DECISION_DENY, OK, REJECTING, "cancel_timers graph_deny:approver_deny audit"), \
	X(s, NO_APPROVER, OK, REJECTING, "cancel_timers graph_deny:no_approver audit"), \
	X(s, TIMER_DENY, OK, REJECTING, \
	  "cancel_timers graph_deny:timed_out notify:timed_out audit"), \
	X(s, TIMER_REMIND, OK, s, "notify:reminder arm_timer:remind"), \
	RESULTS_NOOP(s), CANCELS(s), NO(s, RETRY, NOOP)

/* Terminal observations where someone was told something earlier. */
#define OBSERVED_NEWS(s) \
	NO(s, GRAPH_SUBMITTED, NOOP), \
	X(s, GRAPH_COMPLETED, OK, COMPLETED, "cancel_timers audit"), \
	X(s, GRAPH_CANCELED, OK, CANCELED, "cancel_timers notify:canceled audit"), \
	X(s, GRAPH_REJECTED, OK, REJECTED, "cancel_timers notify:rejected audit"), \
	NO(s, GRAPH_UNKNOWN, NOOP)
/* ... and where nobody was. */
#define OBSERVED_QUIET(s) \
	X(s, GRAPH_APPROVED, OK, APPROVED, "cancel_timers audit"), \
	X(s, GRAPH_COMPLETED, OK, COMPLETED, "cancel_timers audit"), \
	X(s, GRAPH_CANCELED, OK, CANCELED, "cancel_timers audit"), \
	X(s, GRAPH_REJECTED, OK, REJECTED, "cancel_timers audit"), \
	NO(s, GRAPH_UNKNOWN, NOOP)
#define IN_FLIGHT_EXPECT(s) \
	OBSERVED_NEWS(s), \
	X(s, GRAPH_APPROVED, OK, APPROVED, "cancel_timers notify:approved audit"), \
	VERDICTS_INVALID(s), DECISIONS_REFUSED(s), TIMERS_NOOP(s), \
	X(s, RESULT_CONFLICT, OK, s, "readback audit"), \
	X(s, RESULT_UNKNOWN, OK, s, "readback audit"), \
	X(s, RESULT_FAILED, OK, ATTENTION, "notify:attention audit"), \
	NO(s, CANCEL, REFUSED), NO(s, RETRY, NOOP)

static const struct expect expect_tab[] = {
	X(NEW, GRAPH_SUBMITTED, OK, EVALUATING, "audit"),
	OBSERVED_QUIET(NEW), VERDICTS_INVALID(NEW), NO(NEW, REEVALUATE, INVALID),
	NO(NEW, POLICY_CHANGED, NOOP),
	DECISIONS_REFUSED(NEW), TIMERS_NOOP(NEW), RESULTS_NOOP(NEW), CANCELS(NEW),
	NO(NEW, RETRY, NOOP),

	NO(EVALUATING, GRAPH_SUBMITTED, NOOP), OBSERVED_QUIET(EVALUATING),
	X(EVALUATING, VERDICT_APPROVE, OK, APPROVING, "graph_approve audit"),
	X(EVALUATING, VERDICT_REJECT, OK, REJECTING, "graph_deny:rule audit"),
	X(EVALUATING, VERDICT_IGNORE, OK, IGNORED, "audit"),
	X(EVALUATING, VERDICT_STAGES, OK, PENDING, "resolve arm_timer:escalate "
	  "arm_timer:deny arm_timer:remind notify:pending audit"),
	NO(EVALUATING, REEVALUATE, NOOP), NO(EVALUATING, POLICY_CHANGED, NOOP),
	DECISIONS_REFUSED(EVALUATING),
	TIMERS_NOOP(EVALUATING), RESULTS_NOOP(EVALUATING), CANCELS(EVALUATING),
	NO(EVALUATING, RETRY, NOOP),

	STAGE_EXPECT(PENDING),
	X(PENDING, TIMER_ESCALATE, OK, ESCALATED, "notify:escalated resolve audit"),
	STAGE_EXPECT(ESCALATED), NO(ESCALATED, TIMER_ESCALATE, NOOP),

	IN_FLIGHT_EXPECT(APPROVING),
	X(APPROVING, REEVALUATE, OK, EVALUATING, "forget_approvers audit"),
	X(APPROVING, POLICY_CHANGED, OK, EVALUATING, "forget_approvers audit"),
	X(APPROVING, RESULT_OK, OK, APPROVED, "notify:approved audit"),
	IN_FLIGHT_EXPECT(REJECTING), NO(REJECTING, REEVALUATE, INVALID),
	NO(REJECTING, POLICY_CHANGED, NOOP),
	X(REJECTING, RESULT_OK, OK, REJECTED, "notify:rejected audit"),
	IN_FLIGHT_EXPECT(CANCELING), NO(CANCELING, REEVALUATE, INVALID),
	NO(CANCELING, POLICY_CHANGED, NOOP),
	X(CANCELING, RESULT_OK, OK, CANCELED, "notify:canceled audit"),

	OBSERVED_NEWS(APPROVED), NO(APPROVED, GRAPH_APPROVED, NOOP),
	VERDICTS_INVALID(APPROVED), NO(APPROVED, REEVALUATE, INVALID),
	NO(APPROVED, POLICY_CHANGED, NOOP),
	DECISIONS_REFUSED(APPROVED), TIMERS_NOOP(APPROVED), RESULTS_NOOP(APPROVED),
	CANCELS(APPROVED), NO(APPROVED, RETRY, NOOP),

	NO(IGNORED, GRAPH_SUBMITTED, NOOP), OBSERVED_QUIET(IGNORED),
	VERDICTS_INVALID(IGNORED), X(IGNORED, REEVALUATE, OK, EVALUATING, "audit"),
	X(IGNORED, POLICY_CHANGED, OK, EVALUATING, "audit"),
	DECISIONS_REFUSED(IGNORED), TIMERS_NOOP(IGNORED), RESULTS_NOOP(IGNORED),
	CANCELS(IGNORED), NO(IGNORED, RETRY, NOOP),

	OBSERVED_NEWS(ATTENTION),
	X(ATTENTION, GRAPH_APPROVED, OK, APPROVED, "cancel_timers notify:approved audit"),
	VERDICTS_INVALID(ATTENTION), NO(ATTENTION, REEVALUATE, INVALID),
	NO(ATTENTION, POLICY_CHANGED, NOOP),
	DECISIONS_REFUSED(ATTENTION), TIMERS_NOOP(ATTENTION),
	RESULTS_NOOP(ATTENTION), CANCELS(ATTENTION),
	X(ATTENTION, RETRY, OK, APPROVING, "graph_approve audit"),

	TERMINAL(REJECTED), TERMINAL(CANCELED), TERMINAL(COMPLETED),
};
/* clang-format on */

#define NEXPECT (sizeof(expect_tab) / sizeof(expect_tab[0]))

void
test_transitions_every_pair(void)
{
	static unsigned char seen[SM_S_MAX][SM_E_MAX];
	struct sm_request cur, next;
	struct sm_effects fx;
	struct sm_event ev;
	const char *why;
	char buf[512];
	enum sm_result res;
	size_t i;
	int s, e;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < NEXPECT; i++) {
		const struct expect *x = &expect_tab[i];

		seen[x->from][x->event]++;
		cur = mk_state(x->from);
		ev = ev_default(x->event, &cur);
		memset(&next, 0x5a, sizeof(next));
		memset(&fx, 0x5a, sizeof(fx));
		why = NULL;
		res = sm_step(&cur, &ev, T0 + 10, &next, &fx, &why);
		fx_render(&fx, buf, sizeof(buf));
		if (res != x->res || next.state != x->to ||
		    strcmp(buf, x->fx) != 0)
			fprintf(stderr,
			    "%s + %s: got %s -> %s [%s] (%s); "
			    "want %s -> %s [%s]\n",
			    sm_state_name(x->from), sm_event_name(x->event),
			    sm_result_name(res), sm_state_name(next.state), buf,
			    why ? why : "-", sm_result_name(x->res),
			    sm_state_name(x->to), x->fx);
		CU_ASSERT_EQUAL(res, x->res);
		CU_ASSERT_EQUAL(next.state, x->to);
		CU_ASSERT_STRING_EQUAL(buf, x->fx);
		CU_ASSERT_PTR_NOT_NULL(why);
		if (res != SM_OK) {
			CU_ASSERT_EQUAL(fx.n, 0);
			CU_ASSERT(memcmp(&next, &cur, sizeof(cur)) == 0);
		}
	}
	/* The table itself covers every pair exactly once. */
	for (s = 0; s < SM_S_MAX; s++)
		for (e = 0; e < SM_E_MAX; e++) {
			if (seen[s][e] != 1)
				fprintf(stderr,
				    "expect_tab: %s + %s listed %d times\n",
				    sm_state_name((enum sm_state)s),
				    sm_event_name((enum sm_event_kind)e),
				    seen[s][e]);
			CU_ASSERT_EQUAL(seen[s][e], 1);
		}
}

/*
 * A waiting stage seen decided on Graph asks for who decided: the
 * read_decider effect comes exactly from PENDING/ESCALATED with
 * graph_approved/graph_rejected, with no change to the request, and from
 * no other pair. (Found by name, so this runs against any table.)
 */
void
test_transitions_read_decider(void)
{
	struct sm_request cur, next;
	struct sm_effects fx;
	struct sm_event ev;
	enum sm_result res;
	int s, e, f, read = -1, want, got, pairs = 0;
	size_t i;

	for (f = 0; f < SM_F_MAX; f++)
		if (strcmp(sm_effect_name((enum sm_effect_kind)f),
		        "read_decider") == 0)
			read = f;
	CU_ASSERT_FATAL(read != -1);
	for (s = 0; s < SM_S_MAX; s++)
		for (e = 0; e < SM_E_MAX; e++) {
			cur = mk_state((enum sm_state)s);
			ev = ev_default((enum sm_event_kind)e, &cur);
			res = sm_step(&cur, &ev, T0 + 10, &next, &fx, NULL);
			want = (s == SM_S_PENDING || s == SM_S_ESCALATED) &&
			       (e == SM_E_GRAPH_APPROVED ||
			           e == SM_E_GRAPH_REJECTED);
			for (got = 0, i = 0; i < fx.n; i++)
				if ((int)fx.v[i].kind == read) {
					got++;
					CU_ASSERT_EQUAL(
					    fx.v[i].stage, cur.stage);
				}
			if (got != want)
				fprintf(stderr,
				    "%s + %s: read_decider %d, want %d\n",
				    sm_state_name((enum sm_state)s),
				    sm_event_name((enum sm_event_kind)e), got,
				    want);
			CU_ASSERT_EQUAL(got, want);
			if (want) {
				pairs++;
				CU_ASSERT_EQUAL(res, SM_OK);
				CU_ASSERT(
				    memcmp(&next, &cur, sizeof(cur)) == 0);
			}
		}
	CU_ASSERT_EQUAL(pairs, 4);
}

/*
 * The machine's own table: no rows from terminal states; a pair answered by
 * a NOOP/REFUSED row has no other row; at most one unguarded transition row
 * per pair, and no row after it for that pair (it would be dead).
 */
void
test_transitions_table_shape(void)
{
	static int rows[SM_S_MAX][SM_E_MAX], unguarded[SM_S_MAX][SM_E_MAX],
	    says[SM_S_MAX][SM_E_MAX], dead[SM_S_MAX][SM_E_MAX];
	struct sm_row_info ri;
	size_t i, n = 0;
	int s, e;

	memset(rows, 0, sizeof(rows));
	memset(unguarded, 0, sizeof(unguarded));
	memset(says, 0, sizeof(says));
	memset(dead, 0, sizeof(dead));
	for (i = 0; sm_table_row(i, &ri) == 0; i++, n++) {
		CU_ASSERT_FATAL((unsigned)ri.from < SM_S_MAX);
		CU_ASSERT_FATAL((unsigned)ri.event < SM_E_MAX);
		CU_ASSERT_FATAL((unsigned)ri.to < SM_S_MAX);
		CU_ASSERT(!sm_state_terminal(ri.from));
		CU_ASSERT(ri.result == SM_OK || ri.result == SM_NOOP ||
		          ri.result == SM_REFUSED);
		if (unguarded[ri.from][ri.event])
			dead[ri.from][ri.event] = 1;
		rows[ri.from][ri.event]++;
		if (ri.result != SM_OK)
			says[ri.from][ri.event]++;
		else if (!ri.guarded)
			unguarded[ri.from][ri.event]++;
	}
	CU_ASSERT(n > 100);
	CU_ASSERT_EQUAL(sm_table_row(n, &ri), -1);
	for (s = 0; s < SM_S_MAX; s++)
		for (e = 0; e < SM_E_MAX; e++) {
			if (says[s][e])
				CU_ASSERT_EQUAL(rows[s][e], 1);
			CU_ASSERT(unguarded[s][e] <= 1);
			CU_ASSERT_EQUAL(dead[s][e], 0);
		}
}

/* `next` may alias `cur`: same answer, same effects, as with two objects. */
void
test_transitions_aliasing(void)
{
	struct sm_request a, b, out;
	struct sm_effects fa, fb;
	struct sm_event ev;
	enum sm_result ra, rb;
	size_t i;

	for (i = 0; i < NEXPECT; i++) {
		a = mk_state(expect_tab[i].from);
		b = a;
		ev = ev_default(expect_tab[i].event, &a);
		ra = sm_step(&a, &ev, T0 + 10, &out, &fa, NULL);
		rb = sm_step(&b, &ev, T0 + 10, &b, &fb, NULL);
		CU_ASSERT_EQUAL(ra, rb);
		CU_ASSERT(memcmp(&out, &b, sizeof(b)) == 0);
		CU_ASSERT_EQUAL(fa.n, fb.n);
		CU_ASSERT(memcmp(fa.v, fb.v, fa.n * sizeof(fa.v[0])) == 0);
	}
}

void
test_transitions_bad_input(void)
{
	struct sm_request r = mk_state(SM_S_PENDING), next, bad;
	struct sm_event ev = ev_default(SM_E_DECISION_APPROVE, &r);
	struct sm_effects fx;
	const char *why = NULL;

	fx.n = 3;
	CU_ASSERT_EQUAL(sm_step(NULL, &ev, T0, &next, &fx, &why), SM_INVALID);
	CU_ASSERT_EQUAL(fx.n, 0);
	CU_ASSERT_EQUAL(sm_step(&r, NULL, T0, &next, &fx, NULL), SM_INVALID);
	CU_ASSERT_EQUAL(sm_step(&r, &ev, T0, NULL, &fx, NULL), SM_INVALID);
	CU_ASSERT_EQUAL(sm_step(&r, &ev, T0, &next, NULL, NULL), SM_INVALID);

	ev.kind = SM_E_MAX;
	CU_ASSERT_EQUAL(sm_step(&r, &ev, T0, &next, &fx, &why), SM_INVALID);
	CU_ASSERT_STRING_EQUAL(why, "unknown event");

	/* Corrupt stored requests are refused, never acted on. */
	ev = ev_default(SM_E_DECISION_APPROVE, &r);
	bad = r;
	bad.stage = 2; /* == nstages */
	CU_ASSERT_EQUAL(sm_step(&bad, &ev, T0, &next, &fx, &why), SM_INVALID);
	CU_ASSERT_STRING_EQUAL(why, "corrupt request");
	bad = r;
	bad.state = SM_S_MAX;
	CU_ASSERT_EQUAL(sm_step(&bad, &ev, T0, &next, &fx, &why), SM_INVALID);
	bad = r;
	bad.record[0].napprovals = SM_MAX_APPROVALS + 1;
	CU_ASSERT_EQUAL(sm_step(&bad, &ev, T0, &next, &fx, &why), SM_INVALID);
	/* The final re-check refuses what slipped past the guards: stored
	 * records naming the requestor, or an unknown requestor. */
	bad = r;
	bad.stage = 1;
	bad.record[0].napprovals = 1;
	bad.record[0].approvers[0] = who_tab[W_REQ_UPN];
	ev = ev_decision(SM_E_DECISION_APPROVE, W_BOB, 1, 1, 0, T0 + 5);
	CU_ASSERT_EQUAL(
	    sm_step(&bad, &ev, T0 + 5, &next, &fx, &why), SM_REFUSED);
	CU_ASSERT_STRING_EQUAL(why, "approval not justified");
	CU_ASSERT_EQUAL(fx.n, 0);
	bad.record[0].approvers[0] = who_tab[W_ALICE];
	CU_ASSERT_EQUAL(sm_step(&bad, &ev, T0 + 5, &next, &fx, &why), SM_OK);
	CU_ASSERT_EQUAL(next.state, SM_S_APPROVING);
	bad = mk_state(SM_S_EVALUATING);
	memset(&bad.requestor, 0, sizeof(bad.requestor));
	ev = ev_default(SM_E_VERDICT_APPROVE, &bad);
	CU_ASSERT_EQUAL(sm_step(&bad, &ev, T0, &next, &fx, &why), SM_REFUSED);
	CU_ASSERT_STRING_EQUAL(why, "approval not justified");

	/* APPROVING without a matched rule or quorum is not believed. */
	ev = ev_default(SM_E_DECISION_APPROVE, &r);
	bad = r;
	bad.state = SM_S_APPROVING;
	ev.kind = SM_E_RESULT_OK;
	CU_ASSERT_EQUAL(sm_step(&bad, &ev, T0, &next, &fx, &why), SM_INVALID);
	CU_ASSERT_EQUAL(next.state, SM_S_APPROVING);
	CU_ASSERT_EQUAL(fx.n, 0);
}
