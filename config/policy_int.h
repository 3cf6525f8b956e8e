/* Compiled policy representation shared by policy.c, stages.c, eval.c,
 * dump.c and the condition files (cond.c, cond_glob.c, cond_schedule.c). */
#ifndef CONFIG_POLICY_INT_H
#define CONFIG_POLICY_INT_H

#include <regex.h>

#include "internal.h"

/* Conditions, in evaluation order: cheap scalar tests first, the
 * membership oracle last (so it is only asked when everything else holds).
 * Each has its row in cond_table (cond.c). */
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

struct globs {
	size_t n;
	struct glob *v;
	/* The patterns the glob algebra decides on (cfg_glob.h): the rule's
	 * own, and for scopes also each one's subtree (`G/...`). */
	size_t npats;
	const char **pats;
};

/* A condition over a fixed vocabulary (source, cloud, access). */
struct pick {
	unsigned mask; /* bit (row's pick_base + word) per word named */
	size_t n;
	uint8_t *v; /* the words as written (indexes), for the dump */
};

struct rule {
	char *name;
	enum verdict_kind decide;
	char *reason;
	unsigned line, col;
	uint32_t conds; /* bit per enum cond_id present */
	struct pick source, cloud, access;
	struct globs system, request_action, group, package, requestor;
	struct globs actions, roles, policies, resources;
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
	char *canon[C_MAX]; /* each condition's dump (shadows, traces) */
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

/* Loader context shared by policy.c, stages.c and the condition files. */
struct pctx {
	struct yctx y;
	struct policy *p;
};

/* Evaluation context shared by eval.c and the condition files. */
struct ectx {
	const struct request *q;
	int64_t now;
	policy_member_fn member;
	void *mctx;
	struct policy_trace *trace;
	const struct rule *r;
	int ri;
	/* The rule approves: every condition must hold for every reading of
	 * the request (`strict`). Reject, stages and ignore rules match when a
	 * condition holds for some reading: an uncertain match never lets a
	 * request through to a later approve rule. */
	int strict;
};

/* Add a line to e->trace (not NULL) for condition id of rule e->r; C_MAX
 * for a line about the rule as a whole (shown as `default`). */
void cond_trace(struct ectx *e, enum cond_id id, int result, const char *fmt,
    ...) CFG_PRINTF(4, 5);

/* Where a condition kind keeps its compiled form in struct rule. */
enum cond_data {
	COND_OWN = 0,  /* fields of its own, freed by name in cond_free() */
	COND_GLOBS,    /* the struct globs at `at` */
	COND_PICK,     /* the struct pick at `at` */
	COND_DURATION, /* the int64_t seconds at `at` */
};

/*
 * One kind of `when` condition (cond.c). compile reads the YAML value v of
 * key k into r and reports errors at their file:line:col; eval decides one
 * request (1 holds, 0 does not, -1 cannot be decided) and adds a trace line
 * when e->trace is set; dump writes the canonical text of the compiled
 * condition (the normalized dump, shadow detection and traces read it).
 */
struct cond_kind {
	const char *name; /* key under `when:`, in messages and traces */
	enum ytype type;  /* the value's YAML shape */
	int (*compile)(struct pctx *c, enum cond_id id, const struct ynode *k,
	    const struct ynode *v, struct rule *r);
	int (*eval)(struct ectx *e, enum cond_id id);
	void (*dump)(struct sbuf *b, const struct rule *r, enum cond_id id);
	/* Per-kind data, read by the functions the kinds share. */
	const struct ykey *keys;  /* a mapping's keys (when.NAME.KEY) */
	enum cond_data data;      /* what `at` holds */
	size_t at;                /* offsetof(struct rule, ...) */
	size_t field;             /* offsetof(struct request, ...) it reads */
	const char *what;         /* that field, as traces name it */
	const char *const *vocab; /* a pick's words */
	unsigned nvocab;
	unsigned pick_base; /* mask bit of vocab[0] */
	unsigned fold;      /* clouds in which an approve rule folds case
	                       (any other rule always does) */
	unsigned only_src;  /* sources it can hold for; 0: every source */
	int scope;          /* values are scopes: each holds its subtree */
};

/* The conditions the source x cloud rule index decides (build_index() in
 * policy.c): a walk through the index does not test them again. */
#define COND_INDEXED ((1u << C_SOURCE) | (1u << C_CLOUD))

/* Indexed by enum cond_id; cond_table_len rows (C_MAX, checked). */
extern const struct cond_kind cond_table[];
extern const size_t cond_table_len;

/* The kind named `name` under `when:`, or C_MAX. */
enum cond_id cond_lookup(const char *name);
/* The `when` key table (name and shape of each kind, NULL-terminated)
 * filled into keys, for ycheck_map() and the manual's key list. */
const struct ykey *cond_keys(struct ykey keys[C_MAX + 1]);
/* Free every condition's compiled form and canonical text in r. */
void cond_free(struct rule *r);

/* Shared by the condition files: the i-th scalar of a string-or-list node
 * (or NULL), its length, a check that it holds 1..CFG_MAX_ITEMS non-empty
 * strings (reported), and "(none)" for NULL in traces. */
const struct ynode *cond_list_item(const struct ynode *n, size_t i);
size_t cond_list_len(const struct ynode *n);
int cond_check_scalars(
    struct pctx *c, const struct ynode *k, const struct ynode *n);
const char *cond_nz(const char *s);

/* Glob-list kinds (cond_glob.c). */
int cond_compile_globs(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *v, struct rule *r);
int cond_compile_request_action(struct pctx *c, enum cond_id id,
    const struct ynode *k, const struct ynode *v, struct rule *r);
void cond_dump_globs(struct sbuf *b, const struct rule *r, enum cond_id id);
int cond_eval_scalar(struct ectx *e, enum cond_id id);
int cond_eval_items(struct ectx *e, enum cond_id id);
int cond_eval_requestor(struct ectx *e, enum cond_id id);
void cond_globs_free(struct rule *r, enum cond_id id);

/* The schedule kind (cond_schedule.c). */
extern const struct ykey cond_sched_keys[];
int cond_compile_schedule(struct pctx *c, enum cond_id id,
    const struct ynode *k, const struct ynode *v, struct rule *r);
void cond_dump_schedule(struct sbuf *b, const struct rule *r, enum cond_id id);
int cond_eval_schedule(struct ectx *e, enum cond_id id);

/* Look up an approver set by the name in n; reports undefined names. */
const struct approver_set *policy_resolve_set(
    struct pctx *c, const struct ynode *n);
int policy_compile_stages(
    struct pctx *c, const struct ynode *n, struct rule *r);
int policy_compile_sets(struct pctx *c, const struct ynode *n);

/* The approver-set (0) or stage (1) key table (stages.c). */
const struct ykey *stages_schema(int which);

#endif
