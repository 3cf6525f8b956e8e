/* Suite table of the config/ tests. */
#include <stddef.h>

#include "tests.h"

const struct cu_suite cu_suites[] = {
	{ "iso8601", NULL, NULL, iso8601_tests },
	{ "request", NULL, NULL, request_tests },
	{ "eval", NULL, NULL, eval_tests },
	{ "load", NULL, NULL, load_tests },
	{ "golden", NULL, NULL, golden_tests },
	{ "settings", NULL, NULL, settings_tests },
	{ "secret", NULL, NULL, secret_tests },
	{ "safety", NULL, NULL, safety_tests },
	{ "differential", NULL, NULL, diff_tests },
	{ "glob", NULL, NULL, glob_tests },
	{ "cond", NULL, NULL, cond_tests },
	{ "stored_stages", NULL, NULL, verdict_tests },
	{ NULL, NULL, NULL, NULL },
};
