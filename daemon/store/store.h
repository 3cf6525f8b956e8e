/*
 * The durable store, behind a narrow interface (SQLite today; a PostgreSQL
 * backend for several instances later). Requests, an append-only transition
 * journal, action intents, durable timers, watermarks and seen change ids.
 *
 * Writes happen inside a batch (store_begin .. store_commit): the engine
 * group-commits every transition of one loop turn in one transaction.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "statemachine.h"

struct store;

/* A new pointer field is also copied in store.c (store_request_copy). */
struct store_request {
	char *key;  /* "<source>:<graph id>" */
	int source; /* enum req_source */
	char *gid;  /* Graph request id */
	char *approval_id;
	struct sm_request sm;
	char *graph_status; /* last observed Graph status, verbatim */
	char *body;         /* last fetched Graph JSON */
	char digest[65];    /* request_digest of body */
	char *rule, *verdict, *reason;
	char fingerprint[65]; /* reload_fingerprint of the verdict; "" none */
	int64_t created, updated;
	/* resolved identity (daemon/effects/ident.c encodes it); NULL: not yet */
	char *identity;
	/* the stages verdict's stages (policy_stages_encode); NULL: none, or
	 * recorded before they were stored (issue 15) */
	char *stages;
};

/* What an operator watches, read through indexes (store_health_get):
 * 0 where there is none. Sources are indexed by enum req_source. */
#define STORE_HEALTH_SOURCES 4
struct store_health {
	int64_t oldest_waiting[STORE_HEALTH_SOURCES]; /* created */
	int64_t attention;
	int64_t outbox, outbox_oldest; /* undelivered; oldest created */
	int64_t next_deadline;         /* earliest deny timer */
};

/* What an intent does on Graph; stored by name (intent_kind_name). */
enum intent_kind {
	INTENT_APPROVE = 0,
	INTENT_DENY,
	INTENT_CANCEL,
	INTENT_KIND_MAX
};
/* The stored name of `k`, or NULL for no kind. */
const char *intent_kind_name(enum intent_kind k);
/* The kind a stored name says, or -1 for a name that is none (a damaged
 * row: nothing is sent for it). */
int intent_kind_from_name(const char *name);

struct store_intent {
	int64_t id;
	char *key;  /* request key */
	char *kind; /* approve | deny | cancel */
	char *justification;
	int attempts;
	int64_t created;
};

struct store_timer {
	char *key;
	int kind; /* enum sm_timer_kind */
	uint32_t stage;
	int64_t at;
};

struct store_journal {
	int64_t seq, at;
	char *from, *to, *event, *rule, *detail;
};

/* Open (creating and migrating) the database; refuse when another process
 * holds it (a lock on the file itself, whatever name it is reached by) or
 * when it fails PRAGMA quick_check. Returns 0, or -1 with a heap message
 * in *err. */
int store_open(const char *path, struct store **out, char **err);
void store_close(struct store *s);
const char *store_errmsg(struct store *s);
/* What the store has done since it was opened (metrics, benchmarks). */
struct store_stats {
	uint64_t statements; /* SQL statements run, BEGIN and COMMIT
	                          * included, trigger bodies not */
	uint64_t
	    request_writes;     /* request rows written (inserted or updated) */
	uint64_t request_reads; /* request rows read by key */
};
void store_stats_get(struct store *s, struct store_stats *out);
/* 0, or -1 on a store error. */
int store_health_get(struct store *s, struct store_health *h);
/* Decode a stored requests.sm blob (offline readers). 0 or -1. */
int store_sm_unpack(const void *blob, size_t n, struct sm_request *sm);

/* Writes failing for want of space or by an I/O error: the reason ("disk
 * full"), or NULL when healthy. cb(arg) is told when it starts. */
const char *store_degraded(struct store *s);
void store_set_fault_cb(struct store *s, void (*cb)(void *), void *arg);
/* Outside a batch: checkpoint and truncate the WAL, then a probe write;
 * 0 when writes work again (no longer degraded), -1 when not. */
int store_recover(struct store *s);

/* The audit chain's head as appended in the open batch (audit.c), so
 * that each entry after the first of a batch does not read it back: 1
 * with *seq and hash (AUDIT_HASH_HEX bytes) when known, 0 when it must be
 * read. Forgotten when a batch begins, commits, rolls back or fails. */
int store_audit_head(struct store *s, int64_t *seq, char *hash, size_t n);
void store_audit_head_set(struct store *s, int64_t seq, const char *hash);

int store_begin(struct store *s);  /* no-op when a batch is open */
int store_commit(struct store *s); /* no-op when none is open */
void store_rollback(struct store *s);
int store_in_batch(struct store *s);

/* 0 found, 1 absent, -1 error. Free with store_request_clear. */
int store_request_get(
    struct store *s, const char *key, struct store_request *out);
int store_request_put(struct store *s, const struct store_request *r);
void store_request_clear(struct store_request *r);
/* Call cb for every request (optionally only in state `state`); cb returns
 * non-zero to stop. */
int store_request_each(struct store *s, const char *state,
    int (*cb)(void *, const struct store_request *), void *arg);
/* Call cb(arg, source, state, count) for every (source, state) that ever
 * had requests (count may be 0), from the counts the store keeps; read in
 * a few rows whatever the number of requests. */
int store_request_counts(
    struct store *s, int (*cb)(void *, int, const char *, int64_t), void *arg);
/* Call cb(arg, state, count) once per state that has requests. */
int store_request_count_by_state(
    struct store *s, int (*cb)(void *, const char *, int64_t), void *arg);

int store_journal_add(struct store *s, const char *key, int64_t at,
    const char *from, const char *to, const char *event, const char *rule,
    const char *detail);
int store_journal_each(struct store *s, const char *key,
    int (*cb)(void *, const struct store_journal *), void *arg);

int store_intent_add(struct store *s, const char *key, const char *kind,
    const char *justification, int64_t now, int64_t *id);
int store_intent_close(
    struct store *s, int64_t id, const char *outcome, int64_t now);
int store_intent_attempt(struct store *s, int64_t id);
/* Give back an attempt that Graph refused to take up (429/503). */
int store_intent_unattempt(struct store *s, int64_t id);
/* Open intents, oldest first. */
int store_intent_each_open(
    struct store *s, int (*cb)(void *, const struct store_intent *), void *arg);
/* 0 found, 1 none: the open intent of a request. */
int store_intent_open_for(
    struct store *s, const char *key, struct store_intent *out);
void store_intent_clear(struct store_intent *i);

int store_timer_set(
    struct store *s, const char *key, int kind, uint32_t stage, int64_t at);
int store_timer_clear(struct store *s, const char *key);
int store_timer_each(
    struct store *s, int (*cb)(void *, const struct store_timer *), void *arg);
int store_timer_delete(struct store *s, const char *key, int kind);

/* Meta values (watermarks). 0 found, 1 absent. *val heap. */
int store_meta_get(struct store *s, const char *key, char **val);
int store_meta_set(struct store *s, const char *key, const char *val);

/* 1 when change id was seen, 0 when new (and now marked), -1 error. */
int store_change_mark(struct store *s, const char *id, int64_t now);
/* 1 when change id was seen, 0 when not, -1 error (read-only). */
int store_change_seen(struct store *s, const char *id);
int store_change_prune(struct store *s, int64_t before);

/* What one retention step deleted. */
struct store_prune {
	int64_t requests; /* settled requests, with all their rows */
	int64_t audit;    /* audit entries, a prefix of the chain */
	int more;         /* there is more to prune: step again soon */
};
/*
 * Inside a batch (atomically, in a savepoint): delete at most `limit`
 * settled requests (rejected, canceled, completed) last updated before
 * `cutoff` and without an open intent, with their journal, intents,
 * timers, outbox and approver rows; then the audit prefix that belongs to
 * no stored request and is older than `cutoff`, behind the prune anchor
 * (migration 9). 0, or -1 with nothing deleted.
 */
int store_retention_prune(struct store *s, int64_t cutoff, int64_t now,
    int limit, struct store_prune *out);

/* approver_sets.c: the stored eligible approver sets, one per (request,
 * stage); writes in the caller's open batch. */
struct store_approver {
	const char *id, *upn; /* "" when NULL; valid during the callback */
	int escalation;       /* added by the stage's escalation */
};
enum store_approver_order {
	STORE_APPROVERS_BY_UPN,        /* ORDER BY upn */
	STORE_APPROVERS_BY_ESCALATION, /* primaries first, then upn, id */
};
/* Rows of (key, stage), or -1 on error. */
int store_approvers_count(struct store *s, const char *key, uint32_t stage);
/* Add v[0..n) (INSERT OR IGNORE). 0, or -1 at the first failing row. */
int store_approvers_add(struct store *s, const char *key, uint32_t stage,
    const struct sm_principal *v, size_t n, int escalation);
/* Delete the set of (key, stage), or every set of key. 0 or -1. */
int store_approvers_clear_stage(
    struct store *s, const char *key, uint32_t stage);
int store_approvers_forget(struct store *s, const char *key);
/* Delete at most `limit` rows of settled requests; *pruned gets how many.
 * 0 or -1. */
int store_approvers_prune(struct store *s, int limit, int *pruned);
/* `name` (id, or UPN case-insensitively) in the set of (key, stage): 1
 * found (into *out), 0 not, -1 error. */
int store_approvers_lookup(struct store *s, const char *key, uint32_t stage,
    const char *name, struct sm_principal *out);
/* cb for every row of (key, stage) in `order`; cb returns non-zero to
 * stop. 0, or -1 when the rows cannot be read. */
int store_approvers_each(struct store *s, const char *key, uint32_t stage,
    enum store_approver_order order,
    int (*cb)(void *, const struct store_approver *), void *arg);

/* outbox.c: the notification outbox; writes in the caller's open batch. */
struct store_outbox_row {
	int64_t id;
	const char *key, *event; /* valid during the callback */
	uint32_t stage;
	int64_t started;
	int attempts;
};
/* Queue one row for `target` unless the same (target, key, event, stage,
 * started) is queued already (reminders always are): 1 queued, 0 not,
 * -1 error. */
int store_outbox_enqueue(struct store *s, const char *target, const char *key,
    const char *event, uint32_t stage, int64_t started, int64_t now, int ready);
/* Make the held rows of (key, stage) due at `now`: how many, or -1. */
int store_outbox_release(
    struct store *s, const char *key, uint32_t stage, int64_t now);
/* Row `id`: done with `outcome` at `now`, or (outcome NULL) due again at
 * `next_at`. 0 or -1. */
int store_outbox_settle(struct store *s, int64_t id, int attempts,
    int64_t next_at, const char *outcome, int64_t now);
/* cb for the first `limit` rows of `target` due at `now`, soonest first;
 * cb returns non-zero to stop. 0 or -1. */
int store_outbox_due(struct store *s, const char *target, int64_t now,
    int limit, int (*cb)(void *, const struct store_outbox_row *), void *arg);
/* cb for every target with undelivered rows; non-zero stops. 0 or -1. */
int store_outbox_targets(
    struct store *s, int (*cb)(void *, const char *), void *arg);
/* Mark every undelivered row of `target` done ("no such target"). */
int store_outbox_drop_target(struct store *s, const char *target, int64_t now);
/* Delete at most `limit` rows delivered (or given up) before `before`;
 * at most `limit` held rows created before `before` or whose request no
 * longer waits. 0 or -1. */
int store_outbox_prune_done(struct store *s, int64_t before, int limit);
int store_outbox_prune_held(struct store *s, int64_t before, int limit);
/* The earliest due time after `now` of a ready row: 1 (into *next), 0
 * none, -1 error. */
int store_outbox_next_at(struct store *s, int64_t now, int64_t *next);

/* link_uses.c: used decision-link nonces. */
/* Mark `nonce` used: 0 now marked, 1 used already, -1 error. */
int store_link_use(struct store *s, const char *nonce, const char *key,
    int64_t used, int64_t expires);
/* 1 when `nonce` was used, 0 not, -1 error. */
int store_link_used(struct store *s, const char *nonce);
/* Forget at most `limit` nonces that expired before `before`. 0 or -1. */
int store_link_prune(struct store *s, int64_t before, int limit);

/* journal.c: cb(arg, at, detail) for every decision_approve row of `key`
 * in order; non-zero stops. 0 or -1. */
int store_journal_approvals(struct store *s, const char *key,
    int (*cb)(void *, int64_t, const char *), void *arg);

/* upkeep.c, for the benchmarks: bytes of the pages in use; checkpoint and
 * truncate the WAL; VACUUM; the old full-scan count by (source, state)
 * (*groups: rows). 0 or -1. */
int store_space_used(struct store *s, int64_t *bytes);
int store_checkpoint(struct store *s);
int store_vacuum(struct store *s);
int store_request_counts_scan(struct store *s, int64_t *groups);

#endif
