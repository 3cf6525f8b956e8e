/* sources/: the adapter table, polling, the lister and one file per
 * source (its Graph paths and JSON shapes), and the parsers of what
 * Graph answers (parse.h). */
#ifndef SOURCES_H
#define SOURCES_H

#include "batch.h"
#include "parse.h"

/* A step's or stage's reviewResult as Graph reads it back ("NotReviewed",
 * "Approved", "Denied": approvalstage resource type); OTHER is any other
 * string (nothing is inferred from it), NONE an absent one. */
enum review_result {
	REVIEW_NONE = 0,
	REVIEW_NOT_REVIEWED,
	REVIEW_APPROVED,
	REVIEW_DENIED,
	REVIEW_OTHER,
	REVIEW_MAX
};
enum review_result review_result_from(const char *s);

/* What a source adapter reports about a request's current approval step. */
struct step_info {
	char *id;     /* step / stage id */
	char *status; /* InProgress, Completed, ... */
	char *review; /* NotReviewed, Approved, Denied, as read (messages) */
	enum review_result result; /* review, parsed */
	char *reviewer_id, *reviewer_upn;
	int found; /* a step exists */
	/* a stage is in progress but not assigned to approvald's account
	 * (assignedToMe false): not ours to decide */
	int not_mine;
};
void step_info_clear(struct step_info *s);

/* The result of fetching a request's approval step. */
typedef void (*adapter_step_cb)(
    void *arg, long status, const struct step_info *step, const char *err);
/* Result of fetching several requests: `items` is Graph's array (borrowed
 * for the call), `complete` says every match is in it (no further page).
 * Status 400: the server refuses such a query; fetch one by one. */
typedef void (*adapter_many_cb)(void *arg, long status,
    struct json_object *items, int complete, const char *err);

/* A source adapter: Graph paths and JSON shapes live only here. */
struct source_adapter {
	enum req_source source;
	const char *name;
	/* Start one poll cycle; the adapter feeds engine_observe(). */
	void (*poll)(struct daemon *d);
	/* Fetch one request's Graph JSON (a single object). */
	void (*fetch)(
	    struct daemon *d, const char *gid, adapter_body_cb cb, void *arg);
	/* Fetch up to fetch_many_max requests in one call (NULL: none). */
	void (*fetch_many)(struct daemon *d, char *const *gids, size_t n,
	    adapter_many_cb cb, void *arg);
	size_t fetch_many_max;
	/* Read the current approval step. */
	void (*read_step)(struct daemon *d, const char *approval_id,
	    adapter_step_cb cb, void *arg);
	/* Approve / deny a step (delegated token). */
	void (*decide)(struct daemon *d, const char *approval_id,
	    const char *step_id, int approve, const char *justification,
	    adapter_body_cb cb, void *arg);
	/* Cancel the request. */
	void (*cancel)(
	    struct daemon *d, const char *gid, adapter_body_cb cb, void *arg);
	/* Map a Graph status string to an observation event. */
	enum sm_event_kind (*observe)(const char *status);
	/* JSON member of a fetched request holding its status
	 * (NULL: "statusDetail"). */
	const char *status_field;
};

extern const struct source_adapter adapter_permissions;
extern const struct source_adapter adapter_group;
extern const struct source_adapter adapter_access;
const struct source_adapter *adapter_for(enum req_source s);
/* "source:gid", the request's key in the store (heap), or NULL. */
char *source_key(enum req_source src, const char *gid);

/* adapter.c: helpers shared by the source adapters */
const char *adapter_str(struct json_object *o, const char *k);
/* The member of array `items` whose "id" is `gid` (case-insensitive). */
struct json_object *adapter_find_id(struct json_object *items, const char *gid);
char *adapter_url(struct daemon *d, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The current step of an approval's steps/stages array into `si`. */
void adapter_step_pick(struct json_object *steps, struct step_info *si);
/* The stage approvald's account acts on (InProgress and assignedToMe),
 * else the one in progress with not_mine set, else as adapter_step_pick. */
void adapter_stage_pick(struct json_object *stages, struct step_info *si);

/* lister.c: sources polled by listing their pending requests (group,
 * access-package); a source is its paths and fields. */
struct lister_status {
	const char *name; /* Graph status value */
	enum sm_event_kind ev;
};
struct lister_source {
	enum req_source source;
	const char *prefix;         /* under the Graph base, e.g. /v1.0/... */
	const char *requests;       /* the requests collection under prefix */
	const char *approvals;      /* the approvals collection under prefix */
	const char *pending;        /* $filter listing the pending requests */
	const char *expand;         /* $expand on every request read, or NULL */
	const char *status_field;   /* member holding the Graph status */
	enum token_kind read_token; /* approval reads */
	enum token_kind cancel_token; /* cancel */
	const char *stages; /* approval's stage collection (NULL: "stages") */
	const char *cancel; /* cancel action on a request (NULL: "cancel") */
	/* statuses Graph never changes again: not followed (NULL-ended) */
	const char *const *settled;
	/* listing page callback: calls lister_page(arg, this source, ...) */
	adapter_body_cb page;
	/*
	 * Listing of what approvald's account may decide (NULL: `requests`
	 * with `pending`, app token): a path under prefix, read with the
	 * delegated token through mine_page (calls lister_mine_page). An
	 * answer of mine_cap items without a nextLink may be truncated:
	 * then the requests are also listed per scope, `requests` with
	 * "$filter=<scope_field> eq '<id>' and <pending>" (app token), for
	 * each id the scopes callback names.
	 */
	const char *mine;
	adapter_body_cb mine_page;
	size_t mine_cap;
	const char *scope_field;
	/* up to max scope ids into ids (borrowed until the call returns);
	 * *unscoped: requests outside them matter too */
	size_t (*scopes)(
	    struct daemon *d, const char **ids, size_t max, int *unscoped);
	/* When the grant of the approved request in `body` (JSON) ends,
	 * epoch seconds; 0 unknown or never (NULL: followed until Graph
	 * says it ended) */
	int64_t (*grant_end)(const char *body);
};
void lister_poll(struct daemon *d, const struct lister_source *ls);
void lister_state_free(struct poll_state *ps);
void lister_page(void *arg, const struct lister_source *ls, long status,
    const char *body, const char *err);
void lister_mine_page(void *arg, const struct lister_source *ls, long status,
    const char *body, const char *err);
void lister_fetch(struct daemon *d, const struct lister_source *ls,
    const char *gid, adapter_body_cb cb, void *arg);
void lister_read_step(struct daemon *d, const struct lister_source *ls,
    const char *approval_id, adapter_step_cb cb, void *arg);
void lister_decide(struct daemon *d, const struct lister_source *ls,
    const char *approval_id, const char *step_id, int approve,
    const char *justification, adapter_body_cb cb, void *arg);
void lister_cancel(struct daemon *d, const struct lister_source *ls,
    const char *gid, adapter_body_cb cb, void *arg);
/* Look a status up in a {NULL}-ended table; unknown: SM_E_GRAPH_UNKNOWN. */
enum sm_event_kind lister_observe(
    const struct lister_status *map, const char *status);

/* poll.c: scheduling of poll cycles */
void poll_init(struct daemon *d);
void poll_nudge(struct daemon *d, enum req_source src);
void poll_cycle_done(struct daemon *d, enum req_source src, int ok);
/* Request the next page of a listing: same origin only, no cycles, at most
 * GRAPH_MAX_PAGES; -1 (logged) when refused. */
int poll_follow(struct daemon *d, enum req_source src, const char *link,
    adapter_body_cb cb);
/* Same, read with token `kind`. */
int poll_follow_as(struct daemon *d, enum req_source src, const char *link,
    adapter_body_cb cb, enum token_kind kind);
void poll_free(struct daemon *d);

#endif
