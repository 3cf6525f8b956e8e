/* effects/: what decisions cause: the executor, durable timers, approver
 * resolution and eligibility, identities, notifications, link tokens. */
#ifndef EFFECTS_H
#define EFFECTS_H

#include "ident.h"
#include "links.h"
#include "member.h"
#include "sources.h"

/* exec.c: carry out intents exactly once */
void exec_request(struct daemon *d, const char *key, int readback_only);
void exec_reconcile(struct daemon *d);
int exec_busy(struct daemon *d, const char *key);
size_t exec_inflight(struct daemon *d);
/* A credential may give tokens again (a new sign-in was loaded): the
 * operations waiting for one try now instead of at their next back-off. */
void exec_token_ready(struct daemon *d);
void exec_free(struct daemon *d);
/* Allocate d->exec (before any other exec_ call); -1 out of memory. */
int exec_init(struct daemon *d);

/* timers.c: durable timers mirrored as libevent timers */
int timers_load(struct daemon *d);
void timers_arm(
    struct daemon *d, const char *key, int kind, uint32_t stage, int64_t at);
void timers_cancel(struct daemon *d, const char *key);
void timers_free(struct daemon *d);

/* stages.c: the stages of the verdict that decided `r`, as stored with it
 * (or, recorded before they were, from the policy in force on `req`, which
 * may be NULL); 0 and *out (policy_stages_free), or -1 and *why. */
int stages_of(struct daemon *d, const struct store_request *r,
    const struct request *req, struct policy_stages **out, const char **why);

/* approvers.c: resolve, persist and check a stage's eligible approvers */
void approvers_resolve(struct daemon *d, const char *key, uint32_t stage);
void approvers_resume(struct daemon *d);
/* Forget every stored eligible set of `key` in the open batch (its stages
 * start again); 0 or -1. */
int approvers_forget(struct daemon *d, const char *key);
/* Group `group`'s membership changed (NULL: any group's may have). */
void approvers_group_changed(struct daemon *d, const char *group);
void approvers_free(struct daemon *d);
/* Allocate d->appr (before any other approvers_ call); -1 out of memory. */
int approvers_init(struct daemon *d);
/* 1 when `name` (id, or UPN case-insensitively) is in the stored set of
 * (key, stage), copied to *out; 0 not, -1 error. */
int approvers_lookup(struct daemon *d, const char *key, uint32_t stage,
    const char *name, struct sm_principal *out);
/* Stored eligible approvers of (key, stage); -1 on error. */
int approvers_safe_value(const char *v);
int approvers_stage_rows(struct daemon *d, const char *key, uint32_t stage);
/* Forget the eligible sets of finished requests (bounded per call). */
void approvers_prune(struct daemon *d);
struct json_object;
/* The control socket's peer, from SO_PEERCRED. */
struct ctl_peer {
	long uid, gid, pid;
};
/* A reply that comes later (the caller puts it). */
typedef void (*ctl_reply_cb)(void *arg, struct json_object *reply);
/* Control commands (ctlsock.c's table; `rest` is the line after the
 * command word, modified; the caller puts the reply). `decide KEY
 * approve|deny --as WHO --reason TEXT` answers later through `later` (NULL
 * returned, *deferred set) once the decision is committed: it first checks
 * that the peer may decide as that principal (settings `operators`) and
 * the principal's membership on Graph. `approvers KEY [STAGE]` answers
 * now. */
struct json_object *approvers_ctl_decide(struct daemon *d, char *rest,
    const struct ctl_peer *peer, ctl_reply_cb later, void *arg, int *deferred);
struct json_object *approvers_ctl_list(struct daemon *d, char *rest);

/* summary.c: what a request asks, for messages and the decision page */
struct json_object *summary_build(
    struct daemon *d, const struct store_request *r);
struct json_object *summary_approvers(struct daemon *d,
    const struct store_request *r, uint32_t stage, int only_primary);
const char *summary_get(struct json_object *o, const char *k);
/* A principal object's "Name (upn)", else its UPN, else its id, else
 * "(unknown)". */
const char *summary_who(struct json_object *p);
int summary_int(struct json_object *o, const char *k, int def);
/* The principals of array `a`, comma-separated, each with when it
 * approved if known (heap). */
char *summary_names(struct json_object *a);
void summary_time(int64_t t, char *buf, size_t len);
/* "Fri 4 Dec 14:00 UTC"; "2 hours 30 minutes": locale-free. */
void summary_when(int64_t t, char *buf, size_t len);
void summary_human_duration(int64_t s, char *buf, size_t len);

/* notify.c: the durable outbox and its delivery worker */
int notify_init(struct daemon *d, char **err);
/* In the open batch: queue event `n` of request `key` for every target
 * that wants it. 0, or -1 (the caller drops the batch). */
int notify_enqueue(struct daemon *d, const char *key, enum sm_notify_kind n,
    uint32_t stage, int64_t started, int64_t now);
/* In the open batch: the approvers of (key, stage) are known (or known to
 * be nobody); its held pending/escalated messages may go. */
int notify_release(struct daemon *d, const char *key, uint32_t stage);
/* engine_commit: the batch is durable; deliver what waited for it. */
void notify_committed(struct daemon *d);
void notify_kick(struct daemon *d);
void notify_prune(struct daemon *d);
void notify_free(struct daemon *d);

/* notify_msg.c: message bodies (heap) in a target's format */
/* What follows a notification's todo text. */
enum notify_arg {
	NOTIFY_ARG_NONE = 0,
	NOTIFY_ARG_REASON, /* ": <reason>", when the request has one */
	NOTIFY_ARG_KEY,    /* the request key */
};
/* What one kind of notification says (one row per enum sm_notify_kind). */
struct notify_text {
	const char *lead;     /* title: "<lead>: <what is asked>" */
	int stage;            /* about a waiting stage: asks its approvers */
	const char *todo;     /* what to do when no approver is asked, */
	enum notify_arg arg;  /* then this, */
	const char *todo_end; /* then this */
};
/* The row of kind `n`; NULL when there is none. */
const struct notify_text *notify_text(enum sm_notify_kind n);
/* The row of the kind named `event` (sm_notify_name); attention's row for
 * a name that is no kind. */
const struct notify_text *notify_text_named(const char *event);
char *notify_render(struct daemon *d, const struct notify_target *t,
    int64_t delivery, const char *event, const struct store_request *r);
/* `why` (static) says why not; called once, perhaps before the call
 * returns. */
typedef void (*eligible_cb)(void *arg, enum elig_result res, const char *why);
/* Check `who` (in the stored set of r's current stage) against the stage's
 * approver sets now: groups (transitive, Graph checkMemberGroups, cached
 * at most decisions.membership_max_age), managers (read again), users. */
void eligible_check(struct daemon *d, const struct store_request *r,
    const struct sm_principal *who, eligible_cb cb, void *arg);
/* Forget cached membership answers about `group` (NULL: all). */
void eligible_group_changed(struct daemon *d, const char *group);
/* Answer checks in flight "could not verify" and drop the cache. */
void eligible_free(struct daemon *d);

#endif
