/* store/: what the daemon writes through the store besides store.h's
 * tables: the open batch and its group commit, the audit rows, retention.
 */
#ifndef BATCH_H
#define BATCH_H

#include "audit_chain.h"
#include "net.h"
#include "store.h"

void batch_dirty(struct daemon *d);
int batch_commit(struct daemon *d);
void batch_forget_marks(struct daemon *d);

struct call_endpoint;
/* audit.c: the audit hash chain, appended in the open batch */
int audit_append(struct store *s, const char *key, int64_t at, const char *kind,
    const char *detail);
int audit_transition(struct store *s, const char *key, int64_t at,
    const char *from, const char *to, const char *event, const char *rule,
    const char *verdict, const char *detail);
/* The answer to a Graph call that decides (approve, deny, cancel): endpoint,
 * status, outcome; in the open batch. Logged when it cannot be written
 * (the call has happened either way). */
void audit_graph_call(struct daemon *d, const struct call_endpoint *ep,
    const char *id, const char *method, const char *body, long status,
    const char *err);
/* A request's decision changed with the policy (reload.c): old rule and
 * verdict -> new ones, and when it was noticed. */
int audit_policy_change(struct store *s, const char *key, int64_t at,
    const char *old_rule, const char *old_verdict, const char *new_rule,
    const char *new_verdict, const char *why);
/* What a policy reload did to the undecided requests (reload.c). */
struct audit_reload_counts {
	size_t undecided; /* looked at */
	size_t kept;      /* verdict and stages unchanged: progress kept */
	size_t changed;   /* started again from the new verdict */
	size_t evaluated; /* were evaluating: evaluated */
	size_t held;      /* approve intents left to the executor's check */
};
int audit_policy_reload(struct store *s, int64_t at, const char *path,
    size_t rules, const struct audit_reload_counts *n);
/* A human decision (decide.c): who, how it came in, stage, reason, and
 * for the control socket the peer's uid and user name (peer_uid < 0:
 * none; peer_user may be NULL). */
int audit_decision(struct store *s, const char *key, int64_t at,
    const char *verdict, const char *who, const char *how, uint32_t stage,
    const char *reason, long peer_uid, const char *peer_user);

/* retention.c: settled requests deleted after retention.settled */
int retention_init(struct daemon *d);
void retention_kick(struct daemon *d);
void retention_free(struct daemon *d);

#endif
