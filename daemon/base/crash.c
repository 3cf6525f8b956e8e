/* Crash points for the crash-safety tests: APPROVALD_CRASH_AT=<label>:<n>
 * kills the process with SIGKILL the n-th time <label> is reached, and
 * APPROVALD_AUDIT_FAIL makes audit rows fail. Honoured only in the test
 * binary (approvald-test, built with APPROVALD_TEST_HOOKS); in the product
 * `approvald` these are no-ops and the variable names are not in it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"

void
crash_point(const char *label)
{
#ifdef APPROVALD_TEST_HOOKS
	static int parsed;
	static char want[64];
	static long n, hits;
	const char *env, *colon;

	if (!parsed) {
		parsed = 1;
		if ((env = getenv("APPROVALD_CRASH_AT")) != NULL &&
		    (colon = strrchr(env, ':')) != NULL &&
		    (size_t)(colon - env) < sizeof(want)) {
			memcpy(want, env, (size_t)(colon - env));
			want[colon - env] = '\0';
			n = strtol(colon + 1, NULL, 10);
		}
	}
	if (want[0] == '\0' || strcmp(label, want) != 0)
		return;
	if (++hits == n)
		kill(getpid(), SIGKILL);
#else
	(void)label;
#endif
}

/* 1 when the tests ask audit rows to fail (APPROVALD_AUDIT_FAIL). */
int
crash_audit_fail(void)
{
#ifdef APPROVALD_TEST_HOOKS
	return getenv("APPROVALD_AUDIT_FAIL") != NULL;
#else
	return 0;
#endif
}

/* Test builds only: a database quota in pages, read afresh from the file
 * named by APPROVALD_TEST_MAX_PAGES_FILE (so a test can fill the "disk"
 * and free it again); -1 when none, and always in the product. */
long
crash_max_pages(void)
{
#ifdef APPROVALD_TEST_HOOKS
	const char *file = getenv("APPROVALD_TEST_MAX_PAGES_FILE");
	char buf[32];
	FILE *fp;
	long n = -1;

	if (file == NULL || (fp = fopen(file, "re")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), fp) != NULL)
		n = strtol(buf, NULL, 10);
	fclose(fp);
	return n > 0 ? n : -1;
#else
	return -1;
#endif
}

long
crash_backoff_cap(long cap)
{
#ifdef APPROVALD_TEST_HOOKS
	static long test_cap = -2;
	const char *env;
	char *end;
	long v;

	if (test_cap == -2) {
		test_cap = -1;
		if ((env = getenv("APPROVALD_TEST_BACKOFF_MAX_MS")) != NULL &&
		    (v = strtol(env, &end, 10)) > 0 && *end == '\0')
			test_cap = v;
	}
	if (test_cap > 0 && test_cap < cap)
		return test_cap;
#endif
	return cap;
}
