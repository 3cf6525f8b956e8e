/* Helpers shared by the state machine test suites. */
#ifndef SM_TEST_H
#define SM_TEST_H

#include "statemachine.h"

#define T0 ((int64_t)1700000000) /* when test requests are created */

/* Well-known principals; see sm_test.c for who is who. */
enum who {
	W_REQ,       /* the requestor: id and UPN */
	W_REQ_UPN,   /* the requestor by UPN only, different case */
	W_REQ_ID,    /* the requestor by object id only */
	W_REQ_ALIAS, /* another object id, the requestor's UPN */
	W_ALICE,
	W_ALICE_UPN, /* alice by UPN only, upper case */
	W_BOB,
	W_CAROL,
	W_DAVE,
	W_ERIN,
	W_FRANK,
	W_NOBODY, /* neither id nor UPN */
	W_MAX
};

extern const struct sm_principal who_tab[W_MAX];

/* The stage parameters of the default PENDING request (2 stages). */
extern const struct sm_stage_params default_stages[2];

/* A request driven through the machine into state `s` at time T0. */
struct sm_request mk_state(enum sm_state s);
/* A request in PENDING with `n` stages of `params`. */
struct sm_request mk_pending(uint32_t n, const struct sm_stage_params *params);
/* A plausible event of kind `k` for request `r` (decisions by alice). */
struct sm_event ev_default(enum sm_event_kind k, const struct sm_request *r);
/* A decision event. */
struct sm_event ev_decision(enum sm_event_kind k, enum who w, int in_set,
    int justified, int via_graph, int64_t at);
/* A timer event for `stage`. */
struct sm_event ev_timer(enum sm_event_kind k, uint32_t stage);
/* Render effects as "kind[:detail] ..." (detail: notify, timer, reason). */
const char *fx_render(const struct sm_effects *fx, char *buf, size_t n);
/* Step `r` in place, asserting the result; returns the result. */
enum sm_result step_expect(struct sm_request *r, const struct sm_event *ev,
    int64_t now, enum sm_result want, struct sm_effects *fx, const char **why);

void test_names_complete(void);
void test_names_out_of_range(void);
void test_names_roundtrip(void);
void test_transitions_every_pair(void);
void test_transitions_table_shape(void);
void test_transitions_aliasing(void);
void test_transitions_bad_input(void);
void test_transitions_read_decider(void);
void test_guards_sequences(void);
void test_guards_same_principal(void);
void test_guards_stage_params(void);
void test_guards_timer_times(void);
void test_guards_notify_by_reason(void);
void test_guards_retry(void);
void test_property_random(void);
void test_property_reachability(void);

#endif
