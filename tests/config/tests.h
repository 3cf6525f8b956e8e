/* Shared declarations of the config/ test files. */
#ifndef TESTS_CONFIG_H
#define TESTS_CONFIG_H

#include "cu.h"

extern const struct cu_test iso8601_tests[];
extern const struct cu_test request_tests[];
extern const struct cu_test eval_tests[];
extern const struct cu_test load_tests[];
extern const struct cu_test golden_tests[];
extern const struct cu_test settings_tests[];
extern const struct cu_test secret_tests[];
extern const struct cu_test safety_tests[];
extern const struct cu_test diff_tests[];
extern const struct cu_test glob_tests[];
extern const struct cu_test cond_tests[];
extern const struct cu_test verdict_tests[];

#endif
