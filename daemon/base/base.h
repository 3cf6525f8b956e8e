/* base/: logging, limits, the clock (and the test clock), crash points,
 * signing, counters and the JSON accessor; below every other room. */
#ifndef BASE_H
#define BASE_H

#include <stddef.h>
#include <stdint.h>

#include "counters.h"
#include "json.h"
#include "limits.h"
#include "log.h"

/* crash.c: APPROVALD_CRASH_AT=<label>:<n> for crash-safety tests */
void crash_point(const char *label);
int crash_audit_fail(void);
long crash_max_pages(void);
/* Test builds only: `cap` lowered to APPROVALD_TEST_BACKOFF_MAX_MS, so a
 * test sees a bounded retry run to its end in seconds; `cap` otherwise. */
long crash_backoff_cap(long cap);

/* sign.c: HMAC-SHA256 and base64url for hooks, notifications and links */
#define SIGN_MAC_LEN 32
int sign_hmac(const void *key, size_t keylen, const void *msg, size_t len,
    unsigned char out[SIGN_MAC_LEN]);
int sign_timestamped(const void *key, size_t keylen, int64_t t,
    const char *body, size_t len, char out[2 * SIGN_MAC_LEN + 1]);
char *sign_b64url(const void *data, size_t len);
unsigned char *sign_b64url_decode(const char *s, size_t n, size_t *outlen);

/* testclock.c: the daemon's clock, the wall clock plus the test clock's
 * offset (seconds added by `clock advance` in test builds started with
 * APPROVALD_TEST_CLOCK=1; always 0 in the product) */
int64_t clock_now(void);
extern int64_t testclock_offset;
int testclock_enabled(void);
void testclock_advance(int64_t secs);

#endif
