/* engine/: observe -> evaluate -> sm_step -> record; human decisions;
 * policy reloads against stored decisions. */
#ifndef ENGINE_H
#define ENGINE_H

#include "effects.h"

/* engine.c: request record -> policy -> sm_step -> effects */
int engine_observe(struct daemon *d, enum req_source src, const char *gid,
    const char *status, const char *body);
int engine_event(struct daemon *d, struct store_request *r,
    const struct sm_event *ev, const char *detail);
/* engine_event for a person's decision that came in by `how` ("control
 * socket", "decision link", "Entra"): its decision log line says so. */
int engine_event_by(struct daemon *d, struct store_request *r,
    const struct sm_event *ev, const char *detail, const char *how);
int engine_evaluate(struct daemon *d, struct store_request *r);
/* Evaluate request `key` again now if it is still evaluating (a lookup it
 * waited for is in). */
void engine_wake(struct daemon *d, const char *key);
/* A lookup request `key` waited for failed: evaluate it again later, with
 * a growing, jittered delay (one timer per request). */
void engine_retry_later(struct daemon *d, const char *key);
/* 1 when `key` came back to evaluating too often lately (counts it). */
int engine_churn(struct daemon *d, const char *key, int64_t now);
/* engine_evaluate, or its retry timer when the request keeps coming back. */
int engine_reevaluate(
    struct daemon *d, struct store_request *r, const char *why);
void engine_free(struct daemon *d);
/* An operator's retry of request `key` in attention (`who` goes into the
 * journal and the audit): its refused action is carried out again, or the
 * policy decides it again (statemachine: SM_E_RETRY). In the open batch:
 * the caller commits. 0 retried, 1 not in attention, 2 no such request,
 * -1 store error. */
int engine_retry(struct daemon *d, const char *key, const char *who);
void engine_post_exec(struct daemon *d, const char *key);
/* Wire the engine in: d->eng and the batch's after-commit work. */
void engine_init(struct daemon *d);

/* reload.c: decisions taken under an earlier policy, against the current
 * one */
/* Fingerprint (hex SHA-256) of what a verdict decides: rule name, verdict
 * and every stage definition; see reload.c for what is in it. */
void reload_fingerprint(const struct verdict *v, char out[65]);
/* Re-evaluate every undecided request against the current policy, in the
 * engine's batch; `reloaded`: after a reload (audited, counted), else at
 * start-up. */
void reload_requests(struct daemon *d, int reloaded);
/* exec.c, just before an approve is sent for `r` (loaded, updated in
 * place): 1 when the current policy still approves it as it was approved;
 * 0 when it does not (re-evaluated in the open batch; send nothing); -1 on
 * a store error (send nothing, try again). */
int reload_recheck_approve(struct daemon *d, struct store_request *r);

/* Record a decision in the open batch. Returns SM_OK (recorded), SM_NOOP
 * or SM_REFUSED with a static reason in *why; `state` receives the new
 * state name on SM_OK. */
enum sm_result decide_record(struct daemon *d, const struct decide_in *in,
    const char **why, char *state, size_t statelen);
/* decide_record(), after checking on Graph that a decider found in the
 * stage's stored set is still one of its approvers (eligible.c); the
 * decision is then bound to that stage. `in` is copied; `done` is called
 * once, perhaps before this returns. */
void decide_submit(struct daemon *d, const struct decide_in *in,
    decide_done_cb done, void *arg);
/* A stage turned Approved/Denied on Graph while waiting for approvers
 * (statemachine: SM_F_READ_DECIDER, carried out after the commit): read
 * the step from the loop to learn who decided, and record that as the
 * stage's decision, or else the observation as it stands. One read per
 * request at a time. */
void decide_graph_read(struct daemon *d, const char *key);
/* 1 while a read of `key`'s step is scheduled or in flight. */
int decide_graph_reading(struct daemon *d, const char *key);
void decide_graph_resume(struct daemon *d);
void decide_free(struct daemon *d);

#endif
