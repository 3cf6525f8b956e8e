/* Crash points for the crash-safety tests: APPROVALD_CRASH_AT=<label>:<n>
 * kills the process with SIGKILL the n-th time <label> is reached. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "approvald.h"

void
crash_point(const char *label)
{
#ifdef APPROVALD_CRASHPOINTS
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
