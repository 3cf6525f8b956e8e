/*
 * config: daemon settings (approvald.yaml), the policy language
 * (policy.yaml) and the normalized request record it decides on.
 *
 * Pure: never logs, never exits, never reads the clock (time is an
 * argument), does no I/O beyond reading the file it is asked to parse.
 * Errors come back as a diagnostics list of `file:line:col: message`.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CFG_MAX_FILE_SIZE (1024 * 1024) /* policy / settings file bytes */
#define CFG_MAX_DEPTH     32            /* YAML nesting */
#define CFG_MAX_NODES     100000        /* YAML nodes after alias expansion */
#define CFG_MAX_RULES     10000
#define CFG_MAX_STAGES    3
#define CFG_MAX_APPROVALS 8   /* quorum cap per stage */
#define CFG_MAX_ITEMS     256 /* items of one kind in a request */
/* A stage without deny_after is denied after this long (14 days). */
#define CFG_STAGE_DENY_MAX (14 * 86400)

#define CFG_MAX_NOTIFY_TARGETS 16 /* notify targets in approvald.yaml */

/* ---- diagnostics ------------------------------------------------------ */

enum cfg_severity { CFG_ERROR = 0, CFG_WARNING };

struct cfg_diag {
	enum cfg_severity severity;
	char *file;
	unsigned line, col; /* 1-based; 0 when not tied to a place */
	char *message;
};

struct cfg_diags {
	size_t n, cap;
	struct cfg_diag *v;
	size_t nerrors;
};

void cfg_diags_free(struct cfg_diags *d);
/* Format diagnostic i as "file:line:col: error: message" into buf. */
int cfg_diag_format(const struct cfg_diag *d, char *buf, size_t len);

/* ---- the normalized request record ------------------------------------ */

enum req_source {
	REQ_SRC_PERMISSIONS = 0,
	REQ_SRC_GROUP,
	REQ_SRC_ACCESS_PACKAGE,
	REQ_SRC_MAX
};

enum req_cloud {
	REQ_CLOUD_NONE = 0, /* not a Permissions Management request */
	REQ_CLOUD_AWS,
	REQ_CLOUD_AZURE,
	REQ_CLOUD_GCP,
	REQ_CLOUD_MAX
};

enum req_kind {
	REQ_KIND_NONE = 0,
	REQ_KIND_POLICY,  /* awsPolicyPermissionsDefinitionAction */
	REQ_KIND_ACTION,  /* aws/azure/gcp actions */
	REQ_KIND_ROLE,    /* azure/gcp roles */
	REQ_KIND_GROUP,   /* PIM for Groups */
	REQ_KIND_PACKAGE, /* access package assignment */
	REQ_KIND_MAX
};

struct req_list {
	size_t n;
	char **v;
};

/*
 * Who a request is for, as the directory (Graph /users) knows them. The
 * body of a request never fills this: a requestor can type anything into
 * Permissions Management's `identityInfo.externalId`. The daemon resolves
 * the body's identity keys (request_identity_keys) against Graph before the
 * policy sees the request; the offline tools against a directory file.
 */
enum req_identity {
	REQ_ID_UNCHECKED = 0, /* nobody resolved it (offline, no directory):
				 identity conditions are undecidable */
	REQ_ID_VERIFIED,      /* each key resolved to exactly one user */
	REQ_ID_UNVERIFIED,    /* some key did not resolve to exactly one user:
				 never approved by a rule */
	REQ_ID_MAX
};

struct req_principal {
	char *id;   /* directory object id */
	char *upn;  /* userPrincipalName */
	char *mail; /* may be NULL */
	int guest;  /* 1 guest (userType Guest), 0 member, -1 unknown */
	char *name; /* displayName, may be NULL: decoration, never decides */
};

/* One request, whatever its source. Strings are heap-owned (NULL when
 * absent); request_free() releases them. */
struct request {
	enum req_source source;
	char *id;          /* Graph request id */
	char *approval_id; /* approval object id (= id for EPM and PIM) */
	char *status;      /* Graph statusDetail / status, verbatim */
	enum req_cloud cloud;
	enum req_kind kind;
	char *system_id;           /* authorizationSystemId */
	struct req_list actions;   /* requested actions (all statements) */
	struct req_list roles;     /* role ids */
	struct req_list policies;  /* policy ids / ARNs */
	struct req_list resources; /* statement resources, resourceId */
	char *resource_id;
	char *requestor_id;  /* object id when known */
	char *requestor_upn; /* UPN / externalId when known */
	int64_t start;       /* schedule start, epoch seconds; 0 = now */
	int64_t duration;    /* seconds; -1 when unbounded or unknown */
	char *ticket_system;
	char *ticket_number;
	char *justification;
	/* group source */
	char *group_id;
	char *access;         /* member | owner */
	char *request_action; /* selfActivate, adminAssign, ... */
	char *principal_id;
	/* access-package source */
	char *package_id;
	char *package_name; /* accessPackage.displayName when the body has it */
	int64_t created;    /* createdDateTime, epoch seconds; 0 unknown */
	/* added: createdBy.user.id verbatim (for adminAssign this is the
	 * admin, while requestor_id is the principal who gains access) */
	char *created_by;
	/* Identity keys from the body (what is looked up, never trusted):
	 * permissions: identityInfo.externalId; group: principalId; access
	 * package: requestor.objectId. beneficiary_key: access package
	 * assignment.targetId when it names someone other than the requestor;
	 * group: principalId when createdBy differs (an admin asked for
	 * someone else). */
	char *requestor_key;
	char *beneficiary_key;
	/* Resolved identity (request_set_identity); `who` is the requestor,
	 * `beneficiary` the person who gains access when that is another. */
	enum req_identity identity;
	struct req_principal who;
	struct req_principal beneficiary;
	/* Schedule, as Graph states it (parse_schedule): the whole span of
	 * access requested from `start`, recurrence included; `duration` -1
	 * when unbounded. sched_invalid: inconsistent, unknown or zero
	 * schedule: never approved by a rule. */
	int sched_invalid;
	int recurring;
};

/*
 * Normalize a Graph request body (JSON text) into `out`. `source` may be
 * REQ_SRC_MAX to infer it from the body. Returns 0, or -1 with a message in
 * `err` (heap, caller frees). Unknown @odata.types fail; unknown extra
 * fields are ignored.
 */
int request_from_json(const char *json, size_t len, enum req_source source,
    struct request *out, char **err);
void request_free(struct request *r);
/*
 * Record the resolved identity: `who` (the requestor) and `beneficiary`
 * (NULL when the request has no separate beneficiary) are copied. `st`
 * REQ_ID_VERIFIED needs `who` with an id. Returns 0, -1 out of memory (the
 * request is then left REQ_ID_UNVERIFIED).
 */
int request_set_identity(struct request *r, enum req_identity st,
    const struct req_principal *who, const struct req_principal *beneficiary);
void req_principal_free(struct req_principal *p);
/* The resolved identity as stored text (heap JSON), NULL when unchecked;
 * and back: applied only when it was resolved for q's own identity keys
 * (0), else q is left as it is (-1). */
char *request_identity_encode(const struct request *q);
int request_identity_apply(struct request *q, const char *text);
const char *req_identity_name(enum req_identity st);

/*
 * An offline directory (users with id, userPrincipalName, mail, userType,
 * managerId; groups with id and members), read from a JSON file in the
 * graph-emulator tenant format (examples/demo-tenant.json).
 */
struct cfg_directory;
int cfg_directory_load(
    const char *path, struct cfg_directory **out, char **err);
void cfg_directory_free(struct cfg_directory *d);
/* Resolve r's identity keys against `dir` the way the daemon does against
 * Graph: a key is an object id or a userPrincipalName (case-insensitive);
 * anything else, or no key, is unverified. NULL dir: left unchecked. */
void cfg_directory_resolve(const struct cfg_directory *dir, struct request *r);
/* 1 when user `id_or_upn` is a (transitive) member of group `group`, 0 not,
 * -1 unknown. */
int cfg_directory_member(
    const struct cfg_directory *dir, const char *group, const char *id_or_upn);
/* Stable digest (hex SHA-256 into 65 bytes) of every field of the body a
 * policy can look at: two requests with equal digests and equal resolved
 * identities decide alike. The resolution itself is not in it. */
void request_digest(const struct request *r, char out[65]);

const char *req_source_name(enum req_source s);
int req_source_from_name(const char *name); /* -1 when unknown */
const char *req_cloud_name(enum req_cloud c);
const char *req_kind_name(enum req_kind k);

/* ---- policy ---------------------------------------------------------- */

enum approver_kind {
	APPROVER_USER = 0, /* value: object id or UPN */
	APPROVER_GROUP,    /* value: group object id; transitive members */
	APPROVER_MANAGER,  /* level: 1 or 2 */
	APPROVER_KIND_MAX
};

/* A named approver set from the `approvers:` map. */
struct approver_set {
	const char *name;
	enum approver_kind kind;
	const char *value;
	int level;
};

/* A list of approver sets (by reference into the policy). */
struct approver_ref_list {
	size_t n;
	const struct approver_set **v;
};

struct policy_stage {
	const char *name;
	struct approver_ref_list approvers;
	struct approver_ref_list fallback;
	struct approver_ref_list escalation;
	struct approver_ref_list fallback_escalation;
	int64_t escalate_after; /* seconds; 0 none */
	int64_t deny_after;     /* seconds; 0 none */
	int64_t remind_every;   /* seconds; 0 none */
	uint32_t approvals;     /* >= 1 */
	int justification_required;
};

/* What a policy does with an identity-unverified request. */
enum unverified_mode {
	UNVERIFIED_IGNORE = 0, /* default: left to humans in Entra */
	UNVERIFIED_REJECT,     /* denied */
	UNVERIFIED_EVALUATE,   /* rules decide, fail closed: approve never */
	UNVERIFIED_MAX
};

enum verdict_kind {
	VERDICT_APPROVE = 0,
	VERDICT_REJECT,
	VERDICT_IGNORE,
	VERDICT_STAGES,
	VERDICT_INDETERMINATE, /* a condition could not be decided (e.g. a
				  membership lookup failed): never approve */
	VERDICT_MAX
};

struct verdict {
	enum verdict_kind kind;
	const char *rule;   /* rule name, or "default" */
	const char *reason; /* the rule's reason; may be NULL */
	int rule_index;     /* -1 for the default */
	size_t nstages;
	const struct policy_stage *stages; /* into the policy */
};

/* One line of the evaluation trace: rule `rule`, condition `cond`, result,
 * and the value compared ("actions: s3:GetObject matches s3:Get*"). */
struct trace_line {
	int rule_index;
	const char *rule;
	const char *cond;
	int result;   /* 1 true, 0 false, -1 unknown */
	char *detail; /* heap */
};

struct policy_trace {
	size_t n, cap;
	struct trace_line *v;
};
void policy_trace_free(struct policy_trace *t);

/*
 * Membership oracle for `requestor_in`: 1 if the request's requestor is in
 * approver set `set`, 0 if not, -1 when unknown (the verdict becomes
 * VERDICT_INDETERMINATE). NULL oracle: every lookup is unknown.
 */
typedef int (*policy_member_fn)(
    void *ctx, const struct approver_set *set, const struct request *r);

struct policy; /* opaque, compiled, immutable once loaded */

/*
 * Load, validate and compile a policy. Returns 0 and the policy, or -1 with
 * every error in `diags` (warnings are added in both cases). Nothing is
 * returned when there is any error.
 */
int policy_load_file(
    const char *path, struct policy **out, struct cfg_diags *diags);
/* Same from memory; `name` is used in diagnostics. */
int policy_load_buffer(const char *name, const char *buf, size_t len,
    struct policy **out, struct cfg_diags *diags);
void policy_free(struct policy *p);

/*
 * Decide `r` at time `now` (for schedule conditions). First matching rule
 * wins; the default applies when none matches. Never fails: anything that
 * cannot be decided yields VERDICT_INDETERMINATE. `trace` may be NULL.
 */
void policy_evaluate(const struct policy *p, const struct request *r,
    int64_t now, policy_member_fn member, void *member_ctx, struct verdict *out,
    struct policy_trace *trace);

/* Normalized dump (YAML) of a loaded policy, heap string. */
char *policy_dump(const struct policy *p);
/* Counts for status output. */
size_t policy_nrules(const struct policy *p);
const struct approver_set *policy_approver_set(
    const struct policy *p, const char *name);
/* The named approver sets of the policy, by index (NULL past the end). */
const struct approver_set *policy_approver_set_at(
    const struct policy *p, size_t i);

/*
 * The group ids (exact, deduplicated case-insensitively) named by the
 * `group:` conditions of rules that can see a PIM for Groups request, at
 * most `max` of them into ids (borrowed from the policy). *unscoped is set
 * when such a rule has no `group:` condition or a wildcard one, when there
 * were more than `max`, or when the default is not `ignore`: requests of
 * other groups matter too. Returns how many ids.
 */
size_t policy_group_scopes(
    const struct policy *p, const char **ids, size_t max, int *unscoped);

const char *verdict_name(enum verdict_kind k);

/*
 * A verdict's fingerprint: SHA-256 (hex) over the deciding rule's name, the
 * verdict and, for stages, every stage's approver sets by content, quorum,
 * justification and timers (not stage or set names, not conditions).
 * Stored with every verdict (requests.fingerprint); "" when hashing failed.
 */
void verdict_fingerprint(const struct verdict *v, char out[65]);

/*
 * A stages verdict as stored with its request (issue 15): approver
 * resolution, eligibility and summaries read the stages the policy gave
 * when it decided, never the policy evaluated again later. The encoding is
 * versioned JSON (POLICY_STAGES_VERSION); decoding is strict and fails
 * closed on an unknown version, a missing or unknown member, a wrong type,
 * a value out of range or more stages, sets or bytes than a policy can
 * have.
 */
#define POLICY_STAGES_VERSION  1
#define POLICY_STAGES_MAX_TEXT (256 * 1024) /* encoded bytes */
#define POLICY_STAGES_MAX_SETS 64           /* sets per list, as a policy */
#define POLICY_STAGES_MAX_STR  1024         /* a name or a set's value */

struct policy_stages {
	struct verdict v; /* kind VERDICT_STAGES; rule and stages owned */
	int64_t at;       /* when the policy decided (its evaluation time) */
	/* storage behind v */
	struct policy_stage st[CFG_MAX_STAGES];
	struct approver_set *sets;
	const struct approver_set **refs;
	size_t nsets;
};

/* Encode the stages verdict `v` reached at `at` (heap JSON text), or NULL
 * when v is not a stages verdict, exceeds the limits, or out of memory. */
char *policy_stages_encode(const struct verdict *v, int64_t at);
/* Decode `text`: 0 and *out (free with policy_stages_free), or -1 and *err
 * (heap, may be NULL when out of memory). */
int policy_stages_decode(
    const char *text, struct policy_stages **out, char **err);
void policy_stages_free(struct policy_stages *ps);

/* Parse an ISO-8601 duration (PnYnMnDTnHnMnS, weeks; Y=365d, M=30d) into
 * seconds; -1 when malformed. */
int64_t cfg_parse_duration(const char *s);
/* Format seconds as an ISO-8601 duration ("PT1H30M") into buf. */
void cfg_format_duration(int64_t s, char *buf, size_t len);
/* Parse an ISO-8601 UTC timestamp (fractional seconds allowed, Z or
 * offset) into epoch seconds; -1 when malformed. */
int64_t cfg_parse_timestamp(const char *s);

/* ---- policy unit tests (approvalctl test) ----------------------------- */

/* Added: one case of a TESTS.yaml file. */
struct policy_case {
	char *name;
	unsigned line, col; /* of the case in the tests file */
	char *request_file; /* resolved against the tests file's folder */
	char *request_json; /* inline request, as JSON text */
	int source;         /* REQ_SRC_MAX when not given */
	int64_t at;         /* evaluation time; 0 when not given */
	int has_verdict;
	enum verdict_kind verdict;
	char *rule; /* NULL: not checked */
	int has_stages;
	size_t nstages;
	char **stages;
};

/* Added: load a TESTS.yaml file (a list of cases, or `cases:`). */
int policy_cases_load_file(const char *path, struct policy_case **out,
    size_t *nout, struct cfg_diags *diags);
void policy_cases_free(struct policy_case *v, size_t n);

/* ---- daemon settings (approvald.yaml) ----------------------------------- */

enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

enum notify_format { NOTIFY_JSON = 0, NOTIFY_SLACK, NOTIFY_TEAMS };

struct notify_target {
	char *name;
	char *url;
	enum notify_format format;
	char *secret_file; /* HMAC key for NOTIFY_JSON; may be NULL */
	unsigned events;   /* bit mask of (1 << sm_notify_kind) */
	int links;         /* carry per-approver decision links (default 1) */
};

/* `operators:` one entry: a Unix user (by name, or by uid when
 * `unix` is all digits) and the principals it may decide as over the
 * control socket ("*": any). */
struct operator_entry {
	char *unix_name; /* NULL when mapped by uid */
	long uid;        /* -1 when mapped by name */
	char **as;       /* UPNs or object ids, or "*" */
	size_t nas;
};

struct settings {
	char *path; /* the file it was loaded from */
	/* Graph and identity platform */
	char *graph_url; /* default https://graph.microsoft.com */
	char *login_url; /* default https://login.microsoftonline.com */
	char *tenant;
	char *client_id;
	char *client_secret_file;
	char *client_cert_file;
	char *client_key_file;
	char *approver_token_file; /* delegated refresh token */
	/* the public client registration the approver signed in to; its
	 * refresh token is redeemed without a credential (NULL: client_id) */
	char *approver_client_id;
	char *assertion_alg; /* "PS256" (default) or "RS256" */
	char *ca_file;       /* NULL: system store */
	/* sources */
	int source_enabled[REQ_SRC_MAX];
	int64_t poll_interval[REQ_SRC_MAX]; /* seconds */
	int64_t poll_overlap;  /* seconds subtracted from the watermark */
	unsigned max_inflight; /* concurrent Graph calls */
	int64_t graph_timeout; /* seconds per call */
	/* policy and state */
	char *policy_path;
	char *state_path; /* SQLite database */
	char *control_socket;
	/* HTTP listener */
	char *listen; /* "127.0.0.1:8750"; NULL: no listener */
	char *hook_secret_file;
	char *graph_client_state_file;
	unsigned http_max_conns;      /* open connections at most */
	unsigned http_max_peer_conns; /* ... from one peer address */
	int64_t http_timeout;     /* seconds: idle, and to send one request */
	unsigned http_max_header; /* bytes of request line and headers */
	unsigned http_max_body;   /* bytes of a request body */
	unsigned http_rate;       /* requests a second per peer address */
	unsigned http_burst;      /* bucket size of that rate */
	char *notification_url;   /* /v1/hooks/graph as Graph reaches it */
	int64_t subscription_lifetime; /* seconds a subscription lasts */
	char *decision_base_url;
	char *decision_secret_file;
	int64_t decision_link_ttl;
	/* human decisions */
	int64_t membership_max_age; /* seconds a membership answer is
	                               reused at decision time; 0: never */
	struct operator_entry *operators;
	size_t noperators;
	/* retention: seconds a settled (rejected, canceled, completed)
	 * request is kept after its last update; 0: forever */
	int64_t retention_settled;
	/* notifications */
	size_t ntargets;
	struct notify_target *targets;
	/* logging */
	int log_level; /* 0 error .. 3 debug */
	enum log_format log_format;
};

/* Load and validate approvald.yaml; same error reporting as the policy.
 * Relative paths in the file are resolved against the file's folder. */
int settings_load_file(
    const char *path, struct settings **out, struct cfg_diags *diags);
void settings_free(struct settings *s);
char *settings_dump(const struct settings *s);
/*
 * May the control-socket peer (uid, and user name when resolvable: may be
 * NULL) decide as any of `names` (a principal's id and UPN as known; NULL
 * or empty entries skipped)? 1 yes, 0 it has an `operators` entry that
 * does not name any of them, -1 no entry at all. UPNs compare
 * case-insensitively.
 */
int settings_operator_may(const struct settings *s, unsigned long uid,
    const char *user, const char *const *names, size_t nnames);

/*
 * Read a secret file: refuse (return -1 with a message in err) when it is
 * not a regular file or is readable or writable by group or others. On
 * success *out is a heap NUL-terminated copy without a trailing newline;
 * wipe it with explicit_bzero before freeing.
 */
int cfg_read_secret(const char *path, char **out, size_t *lenp, char **err);

/* ---- the schema, for the manual ----------------------------------------- */

/* One key of approvald.yaml or policy.yaml, as the parser knows it. */
struct cfg_key {
	const char *path; /* dotted; `[]` marks a list item: "notify[].url" */
	const char *type; /* the value's syntax, in words */
	const char *def;  /* default in YAML form, or NULL */
};

/* The i-th key of approvald.yaml's schema (the parser's own tables);
 * returns 0 when i is past the last one. */
int settings_key_at(size_t i, struct cfg_key *out);
/* The i-th key of policy.yaml's schema; 0 when i is past the last one. */
int policy_key_at(size_t i, struct cfg_key *out);

#endif
