/* Compiled policy representation shared by policy.c, eval.c and dump.c. */
#ifndef CONFIG_POLICY_INT_H
#define CONFIG_POLICY_INT_H

#include <regex.h>

#include "internal.h"

/* Conditions, in evaluation order: cheap scalar tests first, the
 * membership oracle last (so it is only asked when everything else holds). */
enum cond_id {
	C_SOURCE = 0,
	C_CLOUD,
	C_SYSTEM,
	C_REQUEST_ACTION,
	C_ACCESS,
	C_GROUP,
	C_PACKAGE,
	C_REQUESTOR,
	C_MAX_DURATION,
	C_MAX_START_DELAY,
	C_TICKET,
	C_ACTIONS,
	C_ROLES,
	C_POLICIES,
	C_RESOURCES,
	C_JUSTIFICATION,
	C_SCHEDULE,
	C_REQUESTOR_IN,
	C_MAX
};

extern const char *const cond_names[C_MAX];

struct globs {
	size_t n;
	struct glob *v;
	/* The patterns the glob algebra decides on (cfg_glob.h): the rule's
	 * own, and for scopes also each one's subtree (`G/...`). */
	size_t npats;
	const char **pats;
};

struct rule {
	char *name;
	enum verdict_kind decide;
	char *reason;
	unsigned line, col;
	uint32_t conds; /* bit per enum cond_id present */
	unsigned src_mask, cloud_mask, access_mask;
	struct globs system, request_action, group, package, requestor;
	struct globs items[4]; /* actions, roles, policies, resources */
	int64_t max_duration;
	int64_t max_start_delay;
	char *ticket_system;
	char *ticket_pattern;
	regex_t ticket_re;
	int has_ticket_re;
	char *just_pattern;
	regex_t just_re;
	int has_just_re;
	size_t just_min;
	uint8_t weekdays; /* bit 0 = Sunday */
	int start_min, end_min;
	char *tz_name;
	const struct cfg_tz *tz;
	size_t nreq_in;
	const struct approver_set **req_in;
	size_t nstages;
	struct policy_stage *stages;
	char *canon[C_MAX]; /* normalized text of each condition */
};

struct policy {
	size_t nsets;
	struct approver_set *sets;
	size_t nrules;
	struct rule *rules;
	struct rule deflt;
	enum unverified_mode unverified;
	size_t nindex[REQ_SRC_MAX][REQ_CLOUD_MAX];
	uint32_t *index[REQ_SRC_MAX][REQ_CLOUD_MAX];
	size_t nzones;
	struct cfg_tz **zones;
	char **zone_names;
};

void rule_free(struct rule *r);

/* Loader context shared by policy.c and stages.c. */
struct pctx {
	struct yctx y;
	struct policy *p;
};

/* Look up an approver set by the name in n; reports undefined names. */
const struct approver_set *policy_resolve_set(
    struct pctx *c, const struct ynode *n);
int policy_compile_stages(
    struct pctx *c, const struct ynode *n, struct rule *r);
int policy_compile_sets(struct pctx *c, const struct ynode *n);

/* The approver-set (0) or stage (1) key table (stages.c). */
const struct ykey *stages_schema(int which);

#endif
