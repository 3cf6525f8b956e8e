/* CUnit runner shared by every test executable; see cu.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cu.h"

static char cu_pathbuf[4096];

static const char *
cu_env_path(const char *var, const char *fallback, const char *rel)
{
	const char *base = getenv(var);

	if (base == NULL)
		base = fallback;
	snprintf(cu_pathbuf, sizeof(cu_pathbuf), "%s/%s", base, rel);
	return cu_pathbuf;
}

const char *
cu_srcpath(const char *rel)
{
	return cu_env_path("APPROVALD_SOURCE_DIR", SOURCE_DIR, rel);
}

const char *
cu_buildpath(const char *rel)
{
	return cu_env_path("APPROVALD_BUILD_DIR", BUILD_DIR, rel);
}

char *
cu_slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto fail;
	if ((buf = malloc((size_t)n + 1)) == NULL)
		goto fail;
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto fail;
	}
	buf[n] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)n;
fail:
	fclose(f);
	return buf;
}

static int
cu_register(const struct cu_suite *s)
{
	CU_pSuite suite;
	const struct cu_test *t;

	if ((suite = CU_add_suite(s->name, s->init, s->cleanup)) == NULL)
		return -1;
	for (t = s->tests; t->name != NULL; t++)
		if (CU_add_test(suite, t->name, t->fn) == NULL)
			return -1;
	return 0;
}

int
main(int argc, char *argv[])
{
	const struct cu_suite *s;
	const char *only = NULL;
	unsigned int failures, run;
	int found = 0;

	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (s = cu_suites; s->name != NULL; s++)
			printf("%s\n", s->name);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--suite") == 0)
		only = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "usage: %s [--list | --suite NAME]\n", argv[0]);
		return 2;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (s = cu_suites; s->name != NULL; s++) {
		if (only != NULL && strcmp(only, s->name) != 0)
			continue;
		found = 1;
		if (cu_register(s) == -1) {
			fprintf(stderr, "cannot register suite %s: %s\n",
			    s->name, CU_get_error_msg());
			CU_cleanup_registry();
			return 2;
		}
	}
	if (!found) {
		fprintf(stderr, "no suite named %s\n", only);
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures =
	    CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	if (run == 0) {
		fprintf(stderr, "no test ran\n");
		return 1;
	}
	return failures > 0 ? 1 : 0;
}
