/*
 * Shared CUnit runner. A test executable defines `cu_suites`, a table of
 * suites terminated by an entry whose name is NULL; each suite holds a table
 * of tests terminated likewise. The runner's main() runs all suites or one
 * (`--suite NAME`), lists them (`--list`) and exits non-zero on any failure.
 */
#ifndef CU_H
#define CU_H

#include <CUnit/CUnit.h>

#ifdef __clang_analyzer__
/*
 * Static analysis only (tests/style/check-tidy.sh): a failed *_FATAL
 * assertion ends the test (CUnit longjmps out of it), which the analyzer
 * cannot see; without this it follows the failed path and reports the
 * NULL that CU_ASSERT_PTR_NOT_NULL_FATAL has just ruled out.
 */
#include <stdlib.h>
#define CU_assertImplementation(value, line, cond, file, fn, fatal)            \
	do {                                                                   \
		int cu_ok_ = (value) ? 1 : 0;                                  \
		CU_assertImplementation(cu_ok_, line, cond, file, fn, fatal);  \
		if ((fatal) && !cu_ok_)                                        \
			abort();                                               \
	} while (0)
#endif

struct cu_test {
	const char *name;
	void (*fn)(void);
};

struct cu_suite {
	const char *name;
	int (*init)(void);
	int (*cleanup)(void);
	const struct cu_test *tests;
};

extern const struct cu_suite cu_suites[];

/* Path of a file under the source tree (static buffer, valid until next call). */
const char *cu_srcpath(const char *rel);
/* Path of a file under the build tree (static buffer). */
const char *cu_buildpath(const char *rel);
/* Read a whole file into a NUL-terminated heap buffer; caller frees. */
char *cu_slurp(const char *path, size_t *lenp);

#endif
