/*
 * graph-emulator internals: a local stand-in for Microsoft Graph and the
 * Microsoft identity platform. One struct emu owns every piece of state;
 * every handler receives a struct call describing one HTTP exchange.
 */
#ifndef EMU_H
#define EMU_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Bounds an outsider can push against. */
#define EMU_MAX_BODY         (1024 * 1024)
#define EMU_MAX_HEADERS      (64 * 1024)
#define EMU_CONN_TIMEOUT     60
#define EMU_MAX_SEGS         16
#define EMU_LOG_CAP          65536
#define EMU_MAX_REQUESTS     50000 /* per source, default */
#define EMU_MAX_TOKENS       500000
#define EMU_MAX_JTIS         100000
#define EMU_MAX_DEVCODES     10000
#define EMU_MAX_SCOPE        1024 /* scope list kept for a device code */
#define EMU_MAX_FAULTS       64
#define EMU_MAX_SKEWED       16 /* change records dated by a wrong clock */
#define EMU_MAX_GENERATE     100000
#define EMU_MAX_DELAY_MS     60000
#define EMU_PAGE_DEFAULT     100
#define EMU_PAGE_MAX         999
#define EMU_ID_LEN           37
#define EMU_TOKEN_LEN        64
#define EMU_ASSERTION_MAX_S  600 /* exp at most 10 min ahead */
#define EMU_ASSERTION_SKEW_S 60

/* Clock ticks are 100 ns units since the Unix epoch (ISO "7 digits"). */
#define EMU_TICKS_PER_SEC 10000000LL

/* ---- hash map (string keys, chained) ---- */
struct hmap_ent {
	char *key;
	void *val;
	uint32_t hash;
	struct hmap_ent *next;
};

struct hmap {
	struct hmap_ent **b;
	size_t nb;
	size_t n;
};

void hmap_init(struct hmap *);
/* Value stored under key, or NULL. */
void *hmap_get(const struct hmap *, const char *key);
/* Store val under a copy of key, replacing (and returning via *old) any. */
int hmap_put(struct hmap *, const char *key, void *val, void **old);
/* Remove key; returns the value that was stored or NULL. */
void *hmap_del(struct hmap *, const char *key);
/* Remove every entry, calling freefn (if any) on each value. */
void hmap_clear(struct hmap *, void (*freefn)(void *));
/* Remove entries for which pred returns true, freeing their values. */
void hmap_prune(struct hmap *, bool (*pred)(void *val, void *arg), void *arg,
    void (*freefn)(void *));

/* ---- utilities (util.c) ---- */
void *xcalloc(size_t, size_t);
char *xstrdup(const char *);
uint64_t emu_rand64(uint64_t *state);
double emu_rand01(uint64_t *state);
/* Fill buf with a random RFC 4122 v4 GUID (cryptographic RNG). */
void emu_guid(char buf[EMU_ID_LEN]);
/* Random opaque token: prefix + base64url of n random bytes. */
void emu_random_token(char *buf, size_t bufsz, const char *prefix, size_t n);
/* base64url (no padding) encode; returns malloc'd string. */
char *b64url_encode(const unsigned char *, size_t);
/* base64url decode (padding optional); returns malloc'd buffer. */
unsigned char *b64url_decode(const char *, size_t, size_t *outlen);
/* The first member of o not in the NULL-terminated list, or NULL. */
const char *emu_unknown_key(json_object *o, const char *const *allowed);
/* Case-insensitive ASCII lowercase copy into a fresh string. */
char *str_lower(const char *);
/* The string member k of object o, or NULL (absent or not a string). */
const char *json_str(json_object *o, const char *k);

/* ---- clock (clock.c) ---- */
int64_t clock_real_ticks(void);
/* Format ticks as ISO 8601 UTC with 7 fractional digits. */
void clock_iso(int64_t ticks, char buf[40]);
/* Format ticks as ISO 8601 UTC without fraction (e.g. 2023-02-06T12:15:00Z). */
void clock_iso_sec(int64_t ticks, char buf[40]);
/* Parse an ISO 8601 date-time; -1 on error. */
int clock_parse_iso(const char *, int64_t *ticks);
/* Parse an ISO 8601 duration (PnYnMnWnDTnHnMnS); -1 on error. */
int clock_parse_duration(const char *, int64_t *ticks);

/* ---- identities ---- */
enum src { SRC_PERMISSIONS, SRC_GROUP, SRC_ACCESS_PACKAGE, SRC_MAX };
extern const char *const src_names[SRC_MAX];

struct user {
	char *id;
	char *upn;
	char *name;
	char *manager_id;
	char *mail;
	char *job_title;
	char *user_type; /* Member | Guest */
};

struct group {
	char *id;
	char *name;
	char *description;
	bool requires_approval;
	char **members;
	size_t nmembers;
};

struct app {
	char *client_id;
	char *name;
	char *secret;
	bool admin;
	bool is_public;
	X509 *cert;
	char *x5t;
	char *x5t256;
	EVP_PKEY *pubkey;
};

struct approver_rule {
	char *user_id;
	char *group_id;
	unsigned sources; /* bitmask of 1 << enum src */
};

enum tok_kind { TOK_APP, TOK_DELEGATED };

struct token {
	char tok[EMU_TOKEN_LEN];
	enum tok_kind kind;
	char client_id[EMU_ID_LEN + 64];
	char user_id[EMU_ID_LEN + 64];
	int64_t exp;
};

struct rtoken {
	char *tok;
	char user_id[EMU_ID_LEN + 64];
	char client_id[EMU_ID_LEN + 64];
	int64_t exp;       /* 0: never */
	int64_t grace_end; /* 0: unused; else valid until */
	bool revoked;      /* /_emulator/refreshtokens revoke */
};

struct devcode {
	char device_code[EMU_TOKEN_LEN];
	char user_code[16];
	char client_id[EMU_ID_LEN + 64];
	char user_id[EMU_ID_LEN + 64]; /* empty while pending */
	char scope[EMU_MAX_SCOPE]; /* scopes the device code was asked for */
	int64_t exp;
	bool redeemed;
};

/* ---- requests ---- */
struct ap_req;
struct access;

enum rstate {
	RS_SUBMITTED,         /* EPM pending */
	RS_APPROVED_GRANTING, /* EPM approved, being granted */
	RS_APPROVED_GRANTED,  /* EPM approved, active */
	RS_COMPLETED,         /* EPM duration over */
	RS_REJECTED,          /* EPM denied */
	RS_CANCELED,          /* EPM canceled while pending */
	RS_CANCELED_REVOKED,  /* EPM canceled after approval */
	RS_PENDING_APPROVAL,  /* PIM */
	RS_GRANTED,           /* PIM approved, provisioning */
	RS_PROVISIONED,       /* PIM active */
	RS_REVOKED,           /* PIM expired */
	RS_DENIED,            /* PIM denied */
	RS_PIM_CANCELED,      /* PIM canceled */
	RS_PIM_TIMED_OUT,     /* PIM approval expired after 24 h */
	RS_AP_PENDING,        /* access package: pendingApproval */
	RS_AP_DELIVERING,     /* access package: approved, delivering */
	RS_AP_DELIVERED,      /* access package: delivered */
	RS_AP_DENIED,         /* access package: denied (or timed out) */
	RS_AP_CANCELED,       /* access package: canceled */
	RS_MAX
};

enum step_status { STEP_INPROGRESS, STEP_COMPLETED, STEP_EXPIRED };
enum review { REV_NOT_REVIEWED, REV_APPROVED, REV_DENIED };

struct req {
	enum src src;
	enum rstate state;
	char id[EMU_ID_LEN];
	char step_id[EMU_ID_LEN];
	json_object *obj; /* the resource as returned (owned) */
	char requestor_id[EMU_ID_LEN + 64];
	bool requestor_is_app;
	char *ticket;
	int64_t created;
	int64_t start;
	int64_t duration; /* 0: none */
	int64_t due;      /* next lifecycle transition, 0: none */
	uint32_t gen;
	enum step_status step_status;
	enum review review;
	char reviewer_id[EMU_ID_LEN + 64];
	int64_t reviewed;
	char *review_justification;
	struct ap_req *ap; /* access package stages (access.c), or NULL */
};

struct reqlist {
	struct req **v;
	size_t n;
	size_t cap;
	struct hmap byid;
};

struct change {
	char id[EMU_ID_LEN];
	int64_t t;
	struct req *r;
	const char *status;
	const char *occurrence; /* NULL: null */
};

struct timer_ent {
	int64_t due;
	struct req *r;
	uint32_t gen;
};

/* ---- faults ---- */
enum fault_kind {
	FK_STATUS,
	FK_DELAY,
	FK_RESET,
	FK_TRUNCATE,
	FK_MALFORMED,
	FK_APPLY_THEN_RESET,
	FK_NOT_APPLIED,
	FK_NULL_FIELD, /* a 2xx JSON answer with one member set to null */
	FK_MAX
};
extern const char *const fault_kind_names[FK_MAX];

struct fault {
	int id;
	char method[16];
	char *path;
	enum fault_kind kind;
	int status;
	char retry_after[32];
	int delay_ms;
	char field[64]; /* null_field: the member nulled */
	long count;     /* remaining; -1 unlimited */
	double rate;
	long hits;
};

/* ---- call log ---- */
struct logent {
	uint64_t seq;
	char method[8];
	char path[200];
	int status;
	char caller[200];
	int64_t t;
	int filter_ids; /* ids asked for by an "id eq … or id eq …" filter */
};

struct bucket {
	double tokens;
	double last; /* monotonic seconds */
};

struct emu_config {
	char *tenant_id;
	char *tenant_domain;
	uint64_t seed;
	int token_lifetime;         /* seconds */
	int64_t refresh_lifetime;   /* ticks, 0 never */
	int64_t refresh_grace;      /* ticks */
	int devcode_lifetime;       /* seconds */
	int devcode_interval;       /* seconds */
	int64_t granting_delay;     /* ticks */
	int64_t provisioning_delay; /* ticks */
	size_t max_requests;
	bool throttle_on;
	double throttle_rate;
	double throttle_burst;
};

struct emu {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct event *sigterm, *sigint, *purge_ev;
	SSL_CTX *ssl;
	const char *scheme;
	char host[64];
	int port;
	FILE *logf;
	int cli_token_lifetime; /* -1: from fixture */
	json_object *fixture;
	char *fixture_dir;

	struct emu_config cfg;
	struct hmap users;     /* id -> struct user */
	struct hmap users_upn; /* lowercase upn -> struct user (borrowed) */
	struct hmap groups;    /* id -> struct group */
	struct hmap apps;      /* client id -> struct app */
	struct approver_rule *approvers;
	size_t napprovers;
	char **admins; /* user ids */
	size_t nadmins;

	struct hmap tokens;    /* access token -> struct token */
	struct hmap rtokens;   /* refresh token -> struct rtoken */
	struct hmap devcodes;  /* device code -> struct devcode */
	struct hmap usercodes; /* user code -> struct devcode (borrowed) */
	struct hmap jtis;      /* jti -> (intptr) expiry seconds */
	struct hmap buckets;   /* client -> struct bucket */

	struct reqlist reqs[SRC_MAX];
	struct change *changes;
	size_t nchanges, capchanges;
	struct hmap changes_byid; /* id -> (index + 1) */
	int64_t last_change;
	/* Change records written by a backend whose clock runs ahead
	 * (POST /_emulator/changes): dated after every other change, so they
	 * sort last, after the ordered log above. */
	struct change skewed[EMU_MAX_SKEWED];
	size_t nskewed;
	struct timer_ent *timers;
	size_t ntimers, captimers;

	json_object *truth_decisions; /* array */
	uint64_t truth_seq;

	struct logent *log;
	uint64_t log_seq; /* last seq assigned */

	struct fault faults[EMU_MAX_FAULTS];
	size_t nfaults;
	int fault_next_id;
	uint64_t rng;

	int64_t clock_offset;

	struct access *access; /* access packages and policies (access.c) */

	struct delayed *delayed; /* replies held back by delay faults */

	struct hmap subs;            /* id -> struct sub (subs.c) */
	struct delivery *deliveries; /* notification POSTs in flight */
	json_object *delivery_log;   /* array, GET /_emulator/notifications */
};

/* ---- one HTTP exchange ---- */
struct call {
	struct emu *emu;
	struct evhttp_request *req;
	enum evhttp_cmd_type cmd;
	const char *method;
	char *path; /* raw path (owned) */
	char *segv[EMU_MAX_SEGS];
	int segc;
	struct evkeyvalq q;
	bool q_ok;
	json_object *body;
	bool body_parsed;
	const struct token *tok;
	const struct user *user; /* caller user for delegated tokens */
	char caller[200];
	char request_id[EMU_ID_LEN];
	char client_request_id[128];
	enum fault_kind post_fault; /* FK_MAX: none */
	int delay_ms;
	char null_field[64]; /* FK_NULL_FIELD */
	bool replied;
	int filter_ids;   /* see struct logent */
	bool client_info; /* token request asked client_info=1 */
};

typedef void (*route_fn)(struct call *, char **caps);

#define M_GET    EVHTTP_REQ_GET
#define M_POST   EVHTTP_REQ_POST
#define M_PATCH  EVHTTP_REQ_PATCH
#define M_DELETE EVHTTP_REQ_DELETE

struct route {
	const char *pattern; /* segments, '*' captures one */
	int methods;
	route_fn fn;
};

/* ---- http.c ---- */
int http_start(struct emu *, const char *addr, int port);
void http_stop(struct emu *);
/* Reply with a JSON body (steals body; NULL sends no body). */
void call_reply(struct call *, int status, json_object *body);
/* Reply with the Graph error envelope. */
void call_error(struct call *, int status, const char *code, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
/* Reply with raw bytes and a content type. */
void call_reply_raw(struct call *, int status, const char *ctype,
    const char *data, size_t len, const char *extra_hdr, const char *extra_val);
/* Parsed JSON request body or NULL (answers 400 itself when required). */
json_object *call_body(struct call *, bool required);
/* Decoded query parameter or NULL. */
const char *call_query(struct call *, const char *key);
/* Request header or NULL. */
const char *call_header(struct call *, const char *key);
/* Base URL of this server as the client sees it (scheme://host[:port]). */
void call_base_url(struct call *, char *buf, size_t len);
/* 403 unless the caller holds a delegated token; returns true when ok. */
bool call_require_delegated(struct call *);
/* Answer later: a heap copy of the exchange (the original counts as
 * answered); reply with call_reply/call_error, then call_detached_free. */
struct call *call_detach(struct call *);
void call_detached_free(struct call *);
/* Parse $top; answers 400 and returns -1 on error. */
int call_top(struct call *, int *top);
/* Build an absolute nextLink for the current path with $skiptoken. */
char *call_next_link(struct call *, size_t skip);
/* Decode the $skiptoken query parameter into an offset; -1 on error. */
int call_skiptoken(struct call *, size_t *skip);

/* ---- store.c ---- */
int store_load(struct emu *, const char *path);
/* Back to the fixture's initial state. */
int store_reset(struct emu *);
void store_free(struct emu *);
const struct user *store_user(struct emu *, const char *id_or_upn);
const struct group *store_group(struct emu *, const char *id);
bool store_is_approver(struct emu *, const char *user_id, enum src);
bool store_is_admin(struct emu *, const char *user_id);
/* Is principal eligible for access_id (member|owner) of group (PIM)? */
bool store_pim_eligible(struct emu *, const char *group_id,
    const char *principal_id, const char *access_id);
/* Is user a (transitive) member of group? */
bool store_member_of(struct emu *, const char *group_id, const char *user_id);
/* Transitive members of a group as a malloc'd array of ids (borrowed). */
const char **store_transitive(struct emu *, const struct group *, size_t *n);
/* Add / remove a direct member of a group: 0, or -1 when it already is /
 * is not one. */
int store_group_add(struct emu *, const char *group_id, const char *member);
int store_group_remove(struct emu *, const char *group_id, const char *member);
/* Apply a loaded fixture's refresh tokens, apps' certs etc. */
int store_add_app_cert(struct emu *, const char *client_id, const char *pem);

/* ---- reqs.c (shared request store, lifecycle, truth) ---- */
struct req *req_new(struct emu *, enum src);
struct req *req_get(struct emu *, enum src, const char *id);
void req_free_all(struct emu *);
/* Append a permissionsRequestChanges record for r. */
void req_change(
    struct emu *, struct req *, const char *status, const char *occurrence);
/* Append a change record for a permissions request dated `t`, later than
 * every change so far (a backend clock running ahead); 0, or -1 with the
 * reason in err. */
int epm_skewed_change(
    struct emu *, const char *id, int64_t t, char *err, size_t errlen);
void req_schedule(struct emu *, struct req *, int64_t due);
/* Run lifecycle transitions that became due. */
void req_tick(struct emu *);
int64_t emu_now(struct emu *);
/* Append a ground-truth decision (c NULL: made by Graph itself). */
void truth_add(struct emu *, struct call *, struct req *, const char *action,
    const char *justification);
/* Step/stage JSON of r relative to the caller. */
json_object *req_step_json(struct emu *, struct call *, struct req *);
/* Is the body of an approval decision only reviewResult/justification?
 * Answers 400 and returns false otherwise. */
bool review_body_ok(struct call *, json_object *body);
/* Refuse (400, -1) a $query option not in opts (NULL-terminated, "$x")
 * and a $select property not in props (type: the entity's name). */
int req_query_check(struct call *, const char *const *opts,
    const char *const *props, const char *type);
/* o as $select asks (a new reference; all of o without $select). */
json_object *req_select(struct call *, json_object *o);
/* Record a review on the (single) step; returns 0 or answers the error. */
int req_review(struct emu *, struct call *, struct req *, const char *step_id);
/* Answer {"value":[r's step]}. */
void req_steps_reply(struct call *, struct req *);
/* GET or PATCH step `step_id` of r (`noun`: "step" or "stage" in the 404
 * message): 1 approved, 0 denied by the PATCH; -1 answered (a GET, or a
 * refused PATCH). The caller replies 204 after applying a decision. */
int req_step_call(
    struct call *, struct req *, const char *step_id, const char *noun);
/* A parsed $filter: clauses joined by "and". */
enum fop { FOP_EQ, FOP_NE, FOP_GT, FOP_GE, FOP_LT, FOP_LE };
#define EMU_FILTER_MAX 32
struct filter {
	size_t n;
	bool any; /* clauses joined by 'or' (else by 'and'; never mixed) */
	char *field[EMU_FILTER_MAX];
	char *val[EMU_FILTER_MAX];
	enum fop op[EMU_FILTER_MAX];
};
/* Parse "$filter" (NULL: empty); -1 with a message in err. */
int filter_parse(const char *s, struct filter *f, char *err, size_t errlen);
void filter_free(struct filter *);
/* Does object o satisfy every clause, or any with 'or' (fields may be a/b
 * paths)? */
bool filter_match(const struct filter *, json_object *o);
/* Generic list answer over a source with $filter/$top/$skiptoken. */
void req_list(struct call *, enum src);
/* The same, each item rendered by view(c, r, arg) (NULL: r->obj). */
void req_list_view(struct call *, enum src,
    json_object *(*view)(struct call *, struct req *, void *), void *arg);
int reqs_init(struct emu *);

/* ---- tokens.c ---- */
void tokens_handle(struct call *, const char *tenant, const char *what);
/* OpenID Connect discovery document of a tenant. */
void tokens_discovery(struct call *, const char *tenant);
/* JSON Web Key Set of the id_token signing key. */
void tokens_jwks(struct call *, const char *tenant);
const struct token *tokens_lookup(struct emu *, const char *bearer);
/* Mint an access token; returns the token (owned by the store). */
const struct token *tokens_mint(
    struct emu *, enum tok_kind, const char *client_id, const char *user_id);
/* Complete a pending device code sign-in; -1 if unknown/expired. */
int tokens_devcode_complete(
    struct emu *, const char *user_code, const char *user_id);
void tokens_purge(struct emu *);
/* Control: revoke a user's refresh tokens, or issue one for a client. */
void tokens_ctl_refresh(struct call *);

/* ---- epm.c / pim.c / directory.c ---- */
extern const struct route epm_routes[];
extern const struct route pim_routes[];
extern const struct route dir_routes[];
extern const struct route subs_routes[];
/* subs.c: control API, reset and shutdown of change notifications */
void subs_ctl_lifecycle(struct call *);
void subs_ctl_log(struct call *);
void subs_reset(struct emu *);
void subs_stop(struct emu *);
/* Validate and create a request as caller; answers 201 or an error. */
void epm_create(struct call *, json_object *body, const char *requestor_id);
void pim_create(struct call *, json_object *body, const char *requestor_id,
    bool requestor_is_app);
/* Create a request from a template without answering; NULL on error. */
struct req *epm_create_quiet(struct emu *, json_object *body,
    const char *requestor_id, char *err, size_t errlen);
struct req *pim_create_quiet(struct emu *, json_object *body,
    const char *requestor_id, bool is_app, char *err, size_t errlen);
/* Lifecycle transition hooks. */
void epm_due(struct emu *, struct req *);
void pim_due(struct emu *, struct req *);
void epm_sync(struct emu *, struct req *);
void pim_sync(struct emu *, struct req *);

/* ---- access.c: entitlement management (v1.0) ---- */
extern const struct route access_routes[];
/* Load accessPackages and assignmentPolicies from the fixture. */
int access_load(struct emu *, json_object *root);
void access_free(struct emu *);
void access_req_free(struct ap_req *);
void access_due(struct emu *, struct req *);
/* Create a request as user requestor_id; answers 201 or an error. */
void access_create(struct call *, json_object *body, const char *requestor_id);

/* ---- control.c ---- */
void control_handle(struct call *);

/* ---- faults.c ---- */
/* First fault matching method/path that fires (consumes count); or NULL. */
const struct fault *faults_match(
    struct emu *, const char *method, const char *path);
int faults_add(struct emu *, json_object *spec, char *err, size_t errlen);
json_object *faults_list(struct emu *);
void faults_clear(struct emu *);

/* ---- throttle / log (http.c) ---- */
void log_clear(struct emu *);
json_object *log_json(struct emu *, uint64_t since);

/* ---- tls.c ---- */
SSL_CTX *tls_server_ctx(const char *cert, const char *key);
void tls_setup(struct emu *);

/* ---- templates.c (generated) ---- */
struct emu_template {
	const char *kind;
	enum src src;
	const char *json;
};
extern const struct emu_template emu_templates[];
extern const size_t emu_ntemplates;

#endif
