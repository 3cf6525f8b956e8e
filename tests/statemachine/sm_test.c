/* Helpers and suite table for test_statemachine. */
#include <stdio.h>
#include <string.h>

#include "cu.h"
#include "sm_test.h"

const struct sm_principal who_tab[W_MAX] = {
	[W_REQ] = { "req-id-0001", "Requestor@Example.com" },
	[W_REQ_UPN] = { "", "REQUESTOR@example.COM" },
	[W_REQ_ID] = { "req-id-0001", "" },
	[W_REQ_ALIAS] = { "req-id-9999", "requestor@example.com" },
	[W_ALICE] = { "alice-id", "alice@example.com" },
	[W_ALICE_UPN] = { "", "ALICE@EXAMPLE.COM" },
	[W_BOB] = { "bob-id", "bob@example.com" },
	[W_CAROL] = { "carol-id", "carol@example.com" },
	[W_DAVE] = { "dave-id", "dave@example.com" },
	[W_ERIN] = { "erin-id", "erin@example.com" },
	[W_FRANK] = { "frank-id", "frank@example.com" },
	[W_NOBODY] = { "", "" },
};

const struct sm_stage_params default_stages[2] = {
	{ .approvals = 1,
	    .escalate_after = 3600,
	    .deny_after = 86400,
	    .remind_every = 1800 },
	{ .approvals = 1, .deny_after = 172800 },
};

enum sm_result
step_expect(struct sm_request *r, const struct sm_event *ev, int64_t now,
    enum sm_result want, struct sm_effects *fx, const char **why)
{
	struct sm_effects local;
	const char *w = NULL;
	enum sm_result res;

	if (fx == NULL)
		fx = &local;
	res = sm_step(r, ev, now, r, fx, &w);
	if (res != want)
		fprintf(stderr, "step %s in %s: got %s (%s), want %s\n",
		    sm_event_name(ev->kind), sm_state_name(r->state),
		    sm_result_name(res), w ? w : "-", sm_result_name(want));
	CU_ASSERT_EQUAL(res, want);
	if (why != NULL)
		*why = w;
	return res;
}

struct sm_event
ev_decision(enum sm_event_kind k, enum who w, int in_set, int justified,
    int via_graph, int64_t at)
{
	struct sm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = k;
	ev.u.decision.who = who_tab[w];
	ev.u.decision.in_stage_set = in_set;
	ev.u.decision.has_justification = justified;
	ev.u.decision.via_graph = via_graph;
	ev.u.decision.at = at;
	return ev;
}

struct sm_event
ev_timer(enum sm_event_kind k, uint32_t stage)
{
	struct sm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = k;
	ev.u.timer.stage = stage;
	return ev;
}

struct sm_event
ev_default(enum sm_event_kind k, const struct sm_request *r)
{
	struct sm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = k;
	switch (k) {
	case SM_E_VERDICT_STAGES:
		ev.u.stages.nstages = 2;
		memcpy(
		    ev.u.stages.params, default_stages, sizeof(default_stages));
		break;
	case SM_E_DECISION_APPROVE:
	case SM_E_DECISION_DENY:
		ev = ev_decision(k, W_ALICE, 1, 1, 0, T0 + 5);
		break;
	case SM_E_TIMER_ESCALATE:
	case SM_E_TIMER_DENY:
	case SM_E_TIMER_REMIND:
		ev.u.timer.stage = r->stage;
		break;
	default:
		break;
	}
	return ev;
}

/* Step `r` in place and assert SM_OK and the resulting state. */
static void
drive(struct sm_request *r, enum sm_event_kind k, enum sm_state want)
{
	struct sm_event ev = ev_default(k, r);

	step_expect(r, &ev, T0, SM_OK, NULL, NULL);
	CU_ASSERT_EQUAL(r->state, want);
}

struct sm_request
mk_pending(uint32_t n, const struct sm_stage_params *params)
{
	struct sm_request r;
	struct sm_event ev;

	sm_init(&r, &who_tab[W_REQ]);
	drive(&r, SM_E_GRAPH_SUBMITTED, SM_S_EVALUATING);
	memset(&ev, 0, sizeof(ev));
	ev.kind = SM_E_VERDICT_STAGES;
	ev.u.stages.nstages = n;
	memcpy(ev.u.stages.params, params, n * sizeof(*params));
	step_expect(&r, &ev, T0, SM_OK, NULL, NULL);
	CU_ASSERT_EQUAL(r.state, SM_S_PENDING);
	return r;
}

struct sm_request
mk_state(enum sm_state s)
{
	struct sm_request r;

	sm_init(&r, &who_tab[W_REQ]);
	switch (s) {
	case SM_S_NEW:
		break;
	case SM_S_EVALUATING:
		drive(&r, SM_E_GRAPH_SUBMITTED, SM_S_EVALUATING);
		break;
	case SM_S_PENDING:
		r = mk_pending(2, default_stages);
		break;
	case SM_S_ESCALATED:
		r = mk_state(SM_S_PENDING);
		drive(&r, SM_E_TIMER_ESCALATE, SM_S_ESCALATED);
		break;
	case SM_S_APPROVING:
		r = mk_state(SM_S_EVALUATING);
		drive(&r, SM_E_VERDICT_APPROVE, SM_S_APPROVING);
		break;
	case SM_S_APPROVED:
		r = mk_state(SM_S_APPROVING);
		drive(&r, SM_E_RESULT_OK, SM_S_APPROVED);
		break;
	case SM_S_REJECTING:
		r = mk_state(SM_S_EVALUATING);
		drive(&r, SM_E_VERDICT_REJECT, SM_S_REJECTING);
		break;
	case SM_S_REJECTED:
		r = mk_state(SM_S_REJECTING);
		drive(&r, SM_E_RESULT_OK, SM_S_REJECTED);
		break;
	case SM_S_CANCELING:
		drive(&r, SM_E_CANCEL, SM_S_CANCELING);
		break;
	case SM_S_CANCELED:
		r = mk_state(SM_S_CANCELING);
		drive(&r, SM_E_RESULT_OK, SM_S_CANCELED);
		break;
	case SM_S_COMPLETED:
		r = mk_state(SM_S_APPROVED);
		drive(&r, SM_E_GRAPH_COMPLETED, SM_S_COMPLETED);
		break;
	case SM_S_IGNORED:
		r = mk_state(SM_S_EVALUATING);
		drive(&r, SM_E_VERDICT_IGNORE, SM_S_IGNORED);
		break;
	case SM_S_ATTENTION:
		r = mk_state(SM_S_APPROVING);
		drive(&r, SM_E_RESULT_FAILED, SM_S_ATTENTION);
		break;
	default:
		CU_FAIL("mk_state: no path to this state");
	}
	CU_ASSERT_EQUAL(r.state, s);
	return r;
}

const char *
fx_render(const struct sm_effects *fx, char *buf, size_t n)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < fx->n && len < n; i++) {
		const struct sm_effect *f = &fx->v[i];
		const char *detail = NULL;

		if (f->kind == SM_F_NOTIFY)
			detail = sm_notify_name(f->notify);
		else if (f->kind == SM_F_ARM_TIMER)
			detail = sm_timer_name(f->timer);
		else if (f->kind == SM_F_GRAPH_DENY ||
		         f->kind == SM_F_GRAPH_CANCEL)
			detail = sm_reason_name(f->reason);
		len += (size_t)snprintf(buf + len, n - len, "%s%s%s%s",
		    i ? " " : "", sm_effect_name(f->kind), detail ? ":" : "",
		    detail ? detail : "");
	}
	return buf;
}

static const struct cu_test names_tests[] = {
	{ "complete_and_unique", test_names_complete },
	{ "out_of_range", test_names_out_of_range },
	{ "state_roundtrip", test_names_roundtrip },
	{ NULL, NULL },
};

static const struct cu_test transitions_tests[] = {
	{ "every_state_every_event", test_transitions_every_pair },
	{ "table_shape", test_transitions_table_shape },
	{ "aliasing", test_transitions_aliasing },
	{ "bad_input", test_transitions_bad_input },
	{ "read_decider_pairs", test_transitions_read_decider },
	{ NULL, NULL },
};

static const struct cu_test guards_tests[] = {
	{ "sequences", test_guards_sequences },
	{ "same_principal", test_guards_same_principal },
	{ "stage_params", test_guards_stage_params },
	{ "timer_times", test_guards_timer_times },
	{ "notify_by_reason", test_guards_notify_by_reason },
	{ "retry", test_guards_retry },
	{ NULL, NULL },
};

static const struct cu_test property_tests[] = {
	{ "reachability", test_property_reachability },
	{ "random_sequences", test_property_random },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "names", NULL, NULL, names_tests },
	{ "transitions", NULL, NULL, transitions_tests },
	{ "guards", NULL, NULL, guards_tests },
	{ "property", NULL, NULL, property_tests },
	{ NULL, NULL, NULL, NULL },
};
