/* The daemon's test clock: an offset added to the wall clock, settable only
 * in the test binary (approvald-test) started with APPROVALD_TEST_CLOCK=1
 * (integration scenarios advance hours without sleeping). The product
 * `approvald` has no test clock. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "approvald.h"
#include "log.h"

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

static struct json_object *
testclock_reply(const char *result, const char *why)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "result", json_object_new_string(result));
	if (why != NULL)
		json_object_object_add(o, "why", json_object_new_string(why));
	return o;
}

/* clock advance SECONDS (only in a test build, see testclock.c). */
struct json_object *
testclock_ctl(struct daemon *d, char *rest)
{
	char *save = NULL, *verb, *n, *end = NULL;
	long long secs;
	struct json_object *o;

	if (!testclock_enabled())
		return testclock_reply("refused",
		    "the test clock is off (test builds only, when asked at "
		    "start)");
	verb = strtok_r(rest, " \t", &save);
	n = strtok_r(NULL, " \t", &save);
	if (verb != NULL && strcmp(verb, "advance") == 0 && n != NULL) {
		secs = strtoll(n, &end, 10);
		if (end == n || *end != '\0' || secs < 0 ||
		    secs > 10LL * 365 * 86400)
			return testclock_reply("refused", "bad SECONDS");
		testclock_offset += secs;
		log_info("test clock advanced by %llds (offset %lld)", secs,
		    (long long)testclock_offset);
		/* Re-arm every durable timer against the new time; run
		 * what waits for time (retries, pruning) now. */
		timers_load(d);
		approvers_prune(d);
		links_prune(d);
		notify_prune(d);
		retention_kick(d);
		notify_kick(d);
		subs_tick(d);
	} else if (verb != NULL && strcmp(verb, "show") != 0)
		return testclock_reply(
		    "refused", "usage: clock advance SECONDS");
	o = testclock_reply("ok", NULL);
	json_object_object_add(o, "now", json_object_new_int64(clock_now()));
	json_object_object_add(
	    o, "offset", json_object_new_int64(testclock_offset));
	return o;
}
