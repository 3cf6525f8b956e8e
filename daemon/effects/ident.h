/*
 * Identity of a request: its body's identity keys (the requestor, and the
 * beneficiary when that is someone else) resolved against the directory
 * through Graph before the policy sees the request, cached for a bounded
 * time, and stored with the request record so that every later re-parse
 * of the body decides on the same identity.
 */
#ifndef IDENT_H
#define IDENT_H

#include "config.h"
#include "store.h"

struct daemon;
struct json_object;

#define IDENT_CACHE_TTL     300  /* seconds a resolution is reused */
#define IDENT_CACHE_MAX     4096 /* cached resolutions (keys) */
#define IDENT_RETRY_BASE_MS 1000 /* first retry of a failed lookup */
#define IDENT_RETRY_MAX_MS  60000
#define IDENT_NAME_TTL      3600 /* seconds a display name is reused */
#define IDENT_NAME_FAIL_TTL 300  /* seconds a failed name lookup stands */
#define IDENT_NAME_MAX      2048 /* cached display names */

/*
 * Parse the stored body of `r` into `out` and apply the identity stored
 * with it (left REQ_ID_UNCHECKED when none is stored, or when the stored
 * one was resolved for other keys). The one way every evaluator of a
 * stored request reads it. 0, or -1 with a heap message in *err (caller
 * frees; `out` is then cleared).
 */
int ident_request(
    const struct store_request *r, struct request *out, char **err);

/*
 * Resolve the identity keys of `q` (request `key`) from the cache: 1 when
 * every key is answered (q's identity is set), 0 when a Graph lookup is in
 * flight (engine_wake(key) follows when it completes, a retry with backoff
 * when it fails). Never leaves q verified on anything but Graph's word.
 */
int ident_resolve(struct daemon *d, const char *key, struct request *q);

/* The identity of `q` as stored text (heap), NULL when unchecked. */
char *ident_encode(const struct request *q);
/* The stored identity `text` as a JSON object for `show` (caller puts). */
struct json_object *ident_json(const char *text);
/* The key that could not be resolved to one directory user, or NULL when
 * `q` is not unverified. Borrowed from q. */
const char *ident_unresolved_key(const struct request *q);
/*
 * The display name of user (group 0) or group (group 1) `id`, borrowed
 * until the next call, or NULL when not known (yet): decoration only. A
 * miss starts a lookup on Graph when `d` is set; nothing waits for it.
 */
const char *ident_name(struct daemon *d, int group, const char *id);
/* The cached name only (even expired), never a Graph call; NULL none. */
const char *ident_name_cached(struct daemon *d, int group, const char *id);
/* Remember a display name Graph gave on another occasion. */
void ident_name_put(
    struct daemon *d, int group, const char *id, const char *name);
/* Allocate d->ident (before any other ident_ call); -1 out of memory. */
int ident_init(struct daemon *d);
void ident_free(struct daemon *d);

#endif
