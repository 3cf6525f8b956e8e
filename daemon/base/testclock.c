/* The daemon's test clock: an offset added to the wall clock, settable only
 * in the test binary (approvald-test) started with APPROVALD_TEST_CLOCK=1
 * (integration scenarios advance hours without sleeping). The product
 * `approvald` has no test clock. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"

int64_t testclock_offset;

int64_t
clock_now(void)
{
	return (int64_t)time(NULL) + testclock_offset;
}

/* 1 when `clock advance` may move the clock. */
int
testclock_enabled(void)
{
#ifdef APPROVALD_TEST_HOOKS
	const char *env = getenv("APPROVALD_TEST_CLOCK");

	return env != NULL && strcmp(env, "1") == 0;
#else
	return 0;
#endif
}

/* Move the test clock forward by `secs` (the caller checked
 * testclock_enabled()). */
void
testclock_advance(int64_t secs)
{
	testclock_offset += secs;
}
