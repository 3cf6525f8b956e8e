/* Helpers shared by the source suites of test_sources (group, import,
 * access). */
#ifndef IT_SOURCES_H
#define IT_SOURCES_H

#include "cu.h"
#include "harness.h"

/* ad_prepare, with the `sources:` block replaced by `sources_yaml`. */
int ad_prepare_sources(
    struct ad *a, struct emu *e, const char *policy, const char *sources_yaml);
/* A delegated access token for `upn` from the emulator (heap). */
char *user_token(struct emu *e, const char *upn);
/* A human decides stage `stage` (1-based; 0: the one in progress) of the
 * approval `id` under the `approvals` path in Entra: the PATCH status. */
long human_review(struct emu *e, const char *approvals, const char *upn,
    const char *id, int stage, int approve);
/* Wait for request `key` to reach `state` (or `alt`); 0 when it did. */
int wait_key_state(
    struct ad *a, const char *key, const char *state, const char *alt);
/* Truth decisions on request `id`: those made by `upn`, and all. */
void truth_callers(struct emu *e, const char *id, int *delegated_by_upn,
    const char *upn, int *total);

/* A call in the emulator's log: method, a path substring, a status. */
struct seen_call {
	struct emu *e;
	const char *method, *needle;
	long status; /* 0: any */
};
/* h_until predicate over struct seen_call. */
int log_has(void *arg);
/* `approvalctl import-policy POLICY.json`: its stdout (heap), exit status. */
char *run_import(const char *policy_json, int *status);

/* Suite `access` (test_access.c). */
int access_setup(void);
extern const struct cu_test access_tests[];

#endif
