/*
 * Transitive group membership of directory users, answered from a bounded
 * cache filled through Graph's checkMemberGroups. Shared by whatever must
 * know whether a user is in a group: the policy's `requestor_in` (through
 * member_policy_fn) and approver eligibility.
 */
#ifndef MEMBER_H
#define MEMBER_H

#include "config.h"

struct daemon;

#define MEMBER_CACHE_TTL 300  /* seconds an answer is reused */
#define MEMBER_CACHE_MAX 4096 /* cached (user, group) answers */

/*
 * Is user `user_id` (an object id) a transitive member of group `group_id`?
 * 1 yes, 0 no, -1 not known yet: a lookup is started (or joined) and, when
 * `waiter` is not NULL, engine_wake(waiter) follows when it succeeds and
 * engine_retry_later(waiter) when it fails.
 */
int member_check(struct daemon *d, const char *user_id, const char *group_id,
    const char *waiter);

/* Forget cached answers about `group_id` (NULL: every answer), e.g. when a
 * change notification says its membership changed. */
void member_forget(struct daemon *d, const char *group_id);

/* The daemon's `requestor_in` oracle (policy_member_fn) and its context:
 * the request key that waits when an answer is not known yet. */
struct member_ctx {
	struct daemon *d;
	const char *key;
};
int member_policy_fn(
    void *ctx, const struct approver_set *set, const struct request *r);

void member_free(struct daemon *d);

#endif
