/*
 * The request state machine: pure C, no I/O, no clock, no logging.
 *
 * One request's workflow state (struct sm_request) is advanced by events
 * (struct sm_event) through sm_step(), which returns the next state and the
 * effects the daemon must carry out (Graph calls, timers, notifications,
 * audit). Transitions come from one const table of {from, event, guard, to,
 * effects} rows; an unlisted (state, event) pair is an explicit error.
 *
 * Approver identities are resolved by the daemon (I/O); the machine is told
 * whether a deciding principal belongs to the current stage's resolved set
 * (sm_decision.in_stage_set) and applies every other guard itself:
 * self-approval (object id, and UPN case-insensitively), one person per
 * request across stages, distinct approvers for quorum, required
 * justification, deadlines, terminal states.
 */
#ifndef STATEMACHINE_H
#define STATEMACHINE_H

#include <stddef.h>
#include <stdint.h>

#define SM_MAX_STAGES    3   /* stages per request */
#define SM_MAX_APPROVALS 8   /* approvals recorded per stage (quorum cap) */
#define SM_MAX_EFFECTS   8   /* effects one step may emit */
#define SM_ID_MAX        128 /* object id / UPN, including NUL */

/* Workflow states. The stage index is data (sm_request.stage), not state. */
enum sm_state {
	SM_S_NEW = 0,    /* seen on Graph, not yet evaluated */
	SM_S_EVALUATING, /* waiting for the policy verdict */
	SM_S_PENDING,    /* stage `stage` waiting for its approvers */
	SM_S_ESCALATED,  /* stage `stage` escalated: escalation set added */
	SM_S_APPROVING,  /* approve intent recorded; Graph call in flight */
	SM_S_APPROVED,   /* Graph approved (by us or elsewhere); grant runs */
	SM_S_REJECTING,  /* deny intent recorded; Graph call in flight */
	SM_S_REJECTED,   /* terminal: denied on Graph */
	SM_S_CANCELING,  /* cancel intent recorded; Graph call in flight */
	SM_S_CANCELED,   /* terminal: canceled on Graph */
	SM_S_COMPLETED,  /* terminal: grant ended / request completed */
	SM_S_IGNORED,    /* policy says: leave to humans in Entra; observed */
	SM_S_ATTENTION,  /* Graph refused our action; an operator must look */
	SM_S_MAX
};

/* Events, flattened: one kind per (class, value) so the table is total. */
enum sm_event_kind {
	/* observed Graph status of the request */
	SM_E_GRAPH_SUBMITTED = 0,
	SM_E_GRAPH_APPROVED,
	SM_E_GRAPH_COMPLETED,
	SM_E_GRAPH_CANCELED,
	SM_E_GRAPH_REJECTED,
	SM_E_GRAPH_UNKNOWN, /* unknownFutureValue or any unknown string */
	/* policy verdict */
	SM_E_VERDICT_APPROVE,
	SM_E_VERDICT_REJECT,
	SM_E_VERDICT_IGNORE,
	SM_E_VERDICT_STAGES,
	SM_E_REEVALUATE,     /* request changed on Graph before an approve */
	SM_E_POLICY_CHANGED, /* a reloaded policy decides the request
				otherwise: start again from its verdict */
	/* approver decision on the current stage */
	SM_E_DECISION_APPROVE,
	SM_E_DECISION_DENY,
	SM_E_NO_APPROVER, /* stage resolved to nobody eligible, fallback too */
	/* timers */
	SM_E_TIMER_ESCALATE,
	SM_E_TIMER_DENY,
	SM_E_TIMER_REMIND,
	/* result of the Graph action in flight */
	SM_E_RESULT_OK,
	SM_E_RESULT_FAILED,   /* refused: 400/403/404 — will not succeed */
	SM_E_RESULT_CONFLICT, /* 409: someone else decided; read back */
	SM_E_RESULT_UNKNOWN,  /* timeout, reset, 5xx: outcome unknown */
	/* operator */
	SM_E_CANCEL,
	SM_E_RETRY, /* attention: carry out the refused action again */
	SM_E_MAX
};

enum sm_effect_kind {
	SM_F_GRAPH_APPROVE = 0, /* PATCH the current step: Approve */
	SM_F_GRAPH_DENY,        /* PATCH the current step: Deny */
	SM_F_GRAPH_CANCEL,      /* cancel the request on Graph */
	SM_F_READBACK,          /* read the request's state back from Graph */
	SM_F_READ_DECIDER,      /* read the step: who decided on Graph */
	SM_F_RESOLVE,           /* resolve approvers of stage `stage` */
	SM_F_FORGET_APPROVERS,  /* drop every stage's resolved approvers */
	SM_F_ARM_TIMER,         /* arm timer `timer` at `at` */
	SM_F_CANCEL_TIMERS,     /* cancel every timer of the request */
	SM_F_NOTIFY,            /* send notification `notify` */
	SM_F_AUDIT,             /* record the transition in the audit trail */
	SM_F_MAX
};

enum sm_timer_kind { SM_T_ESCALATE = 0, SM_T_DENY, SM_T_REMIND, SM_T_MAX };

enum sm_notify_kind {
	SM_N_PENDING = 0,
	SM_N_REMINDER,
	SM_N_ESCALATED,
	SM_N_APPROVED,
	SM_N_REJECTED,
	SM_N_TIMED_OUT,
	SM_N_CANCELED,
	SM_N_ATTENTION,
	SM_N_MAX
};

/* Why a request is (being) denied; carried into the Graph justification. */
enum sm_reason {
	SM_R_NONE = 0,
	SM_R_RULE,          /* a reject rule (or reject default) matched */
	SM_R_APPROVER_DENY, /* an eligible approver denied */
	SM_R_TIMED_OUT,     /* deny_after elapsed */
	SM_R_NO_APPROVER,   /* no eligible approver, fallback included */
	SM_R_OPERATOR,      /* canceled by an operator */
	SM_R_MAX
};

/* Outcome of one sm_step() call. */
enum sm_result {
	SM_OK = 0,  /* transition taken (possibly to the same state) */
	SM_NOOP,    /* accepted and ignored: late event after a terminal
			 state, duplicate observation, stale timer */
	SM_REFUSED, /* a guard refused (self-approval, ineligible, ...);
			 state unchanged, `why` says which guard */
	SM_INVALID, /* no row for (state, event): a programming error */
	SM_RESULT_MAX
};

struct sm_principal {
	char id[SM_ID_MAX];  /* Entra object id; may be empty */
	char upn[SM_ID_MAX]; /* userPrincipalName; may be empty */
};

struct sm_stage_params {
	uint32_t approvals;         /* quorum of distinct approvers, >= 1 */
	int justification_required; /* approver must give a reason */
	int64_t escalate_after;     /* seconds after stage start; 0: none */
	int64_t deny_after;         /* seconds after stage start; 0: none */
	int64_t remind_every;       /* seconds; 0: no reminders */
};

struct sm_stage_record {
	uint32_t napprovals;
	struct sm_principal approvers[SM_MAX_APPROVALS]; /* distinct */
};

/* Everything the machine knows about one request. Plain data: the daemon
 * stores and restores it; zero-initialised means SM_S_NEW. */
struct sm_request {
	enum sm_state state;
	struct sm_principal requestor;
	uint32_t nstages; /* from the stages verdict; 0 otherwise */
	uint32_t stage;   /* current stage index, < nstages */
	struct sm_stage_params params[SM_MAX_STAGES];
	struct sm_stage_record record[SM_MAX_STAGES];
	int64_t stage_started; /* when the current stage began */
	int64_t deadline;      /* current stage's deny time; 0: none */
	int verdict_approve;   /* an approve rule matched */
	int denied;            /* a deny was recorded */
	enum sm_reason reason; /* why denying / denied */
};

struct sm_decision {
	struct sm_principal who;
	int in_stage_set; /* who is in the stage's resolved eligible set
				   (primaries, fallback or escalation) */
	int has_justification;
	int via_graph; /* decided in Entra; already effective there */
	int64_t at;    /* when it was made */
};

struct sm_event {
	enum sm_event_kind kind;
	union {
		struct { /* SM_E_VERDICT_STAGES */
			uint32_t nstages;
			struct sm_stage_params params[SM_MAX_STAGES];
		} stages;
		struct sm_decision decision; /* SM_E_DECISION_* */
		/* SM_E_GRAPH_APPROVED / _REJECTED: a waiting stage's step
		 * is read first to learn who decided (SM_F_READ_DECIDER);
		 * decider_read: it was read, or cannot be: take the
		 * observation as it stands; decider_reading: a read is in
		 * flight. */
		struct {
			int decider_read;
			int decider_reading;
		} graph;
		struct {                /* SM_E_TIMER_* */
			uint32_t stage; /* stage the timer was armed for */
		} timer;
	} u;
};

struct sm_effect {
	enum sm_effect_kind kind;
	enum sm_timer_kind timer;   /* SM_F_ARM_TIMER */
	int64_t at;                 /* SM_F_ARM_TIMER: absolute time */
	uint32_t stage;             /* stage the effect concerns */
	enum sm_notify_kind notify; /* SM_F_NOTIFY */
	enum sm_reason reason;      /* SM_F_GRAPH_DENY / _CANCEL */
};

struct sm_effects {
	size_t n;
	struct sm_effect v[SM_MAX_EFFECTS];
};

/*
 * Advance `cur` by `ev` at time `now` (seconds since the epoch, passed in).
 * On SM_OK writes the next state to `next` and the effects to `fx`; on any
 * other result `next` is a copy of `cur` and `fx` is empty. `why`, when not
 * NULL, receives a static string naming the guard or rule consulted.
 * `cur` and `next` may be the same object.
 */
enum sm_result sm_step(const struct sm_request *cur, const struct sm_event *ev,
    int64_t now, struct sm_request *next, struct sm_effects *fx,
    const char **why);

/* Initialise a request in SM_S_NEW for `requestor`. */
void sm_init(struct sm_request *r, const struct sm_principal *requestor);

/* 1 when `s` is terminal (absorbing): rejected, canceled, completed. */
int sm_state_terminal(enum sm_state s);

/* 1 when `a` and `b` denote the same person: equal non-empty object ids, or
 * equal non-empty UPNs compared case-insensitively (ASCII). */
int sm_same_principal(
    const struct sm_principal *a, const struct sm_principal *b);

/* Names, from designated-initializer tables sized by the _MAX sentinels. */
const char *sm_state_name(enum sm_state s);
const char *sm_event_name(enum sm_event_kind e);
const char *sm_effect_name(enum sm_effect_kind f);
const char *sm_timer_name(enum sm_timer_kind t);
const char *sm_notify_name(enum sm_notify_kind n);
const char *sm_reason_name(enum sm_reason r);
const char *sm_result_name(enum sm_result r);

/* Parse a state name back (for the store); -1 when unknown. */
int sm_state_from_name(const char *name);

/* One row of the transition table, as seen from outside (tests, docs).
 * `result` is SM_OK for a transition row (taken when its guard, if any,
 * passes) or SM_NOOP/SM_REFUSED for a row that only answers. Terminal states
 * have no rows: every event there is SM_NOOP by one explicit rule. */
struct sm_row_info {
	enum sm_state from;
	enum sm_event_kind event;
	enum sm_state to;
	enum sm_result result;
	int guarded;
};

/* Copy row `i` of the transition table to `out`; -1 past the end. */
int sm_table_row(size_t i, struct sm_row_info *out);

#endif
