/*
 * Inbound bodies, parsed without I/O: webhook bodies, the decision-link
 * form and the Graph responses the source adapters read. Pure functions
 * (json-c and libevent's query parser only), so the fuzz targets in
 * tests/fuzz/ call exactly what the daemon runs. Every member is read
 * through one typed accessor: a wrong type is an error or absent, never
 * dereferenced.
 */
#ifndef PARSE_H
#define PARSE_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct step_info;

#include "json.h"

/* ---- POST /v1/hooks/graph ----------------------------------------------- */

#define PARSE_MAX_GROUPS 16 /* distinct groups one notification names */
#define PARSE_GROUP_ID   64
#define PARSE_MAX_LIFE   16 /* lifecycle events acted on per body */
#define PARSE_LIFE_TEXT  64

struct graph_notes {
	int changes; /* at least one change notification */
	int missed;  /* a `missed` lifecycle event */
	/* other lifecycle events (subscriptionRemoved, ...) */
	struct {
		char sub[PARSE_LIFE_TEXT];   /* "" when none was given */
		char event[PARSE_LIFE_TEXT]; /* as sent, truncated */
	} life[PARSE_MAX_LIFE];
	size_t nlife;        /* kept in life[] */
	size_t life_dropped; /* beyond PARSE_MAX_LIFE */
	char groups[PARSE_MAX_GROUPS][PARSE_GROUP_ID];
	size_t ngroups; /* may exceed PARSE_MAX_GROUPS: then resync all */
};

enum parse_notes_result {
	PARSE_NOTES_OK,
	PARSE_NOTES_BAD_BODY,
	PARSE_NOTES_BAD_CLIENT_STATE,
};

/* A Graph change-notification collection (change and lifecycle
 * notifications alike); every item must carry clientState `cs` (`cslen`
 * bytes; NULL: no clientState configured, every body is refused). */
enum parse_notes_result parse_graph_notes(const char *body, size_t len,
    const char *cs, size_t cslen, struct graph_notes *out);

/* The decoded `validationToken` query parameter of `uri` (heap, length in
 * *len), or NULL when there is none. */
char *parse_validation_token(const char *uri, size_t *len);

/* ---- POST /v1/hooks/evaluate -------------------------------------------- */

/* The optional {"request": "...", "source": "..."} of an evaluate hook
 * (empty body: both NULL). Pointers into *root, which the caller puts.
 * 0, or -1 when the body is not such an object. */
int parse_evaluate(const char *body, size_t len, struct json_object **root,
    const char **request, const char **source);

/* ---- POST /v1/decide/{token} -------------------------------------------- */

/* The decision form "decision=approve|deny[&reason=...]": *approve, and
 * the reason with control characters made spaces into `reason` (`rlen`
 * bytes). 0, or -1 when malformed or the reason is too long. */
int parse_decision_form(
    const char *body, int *approve, char *reason, size_t rlen);

/* ---- Graph responses ---------------------------------------------------- */

/* A collection page {"value": [...], "@odata.nextLink": "..."}: the root
 * (caller puts), its array in *value, the next link or NULL in *next. NULL
 * when malformed (a nextLink of another type included). */
struct json_object *parse_page(const char *body, size_t len,
    struct json_object **value, const char **next);

/* One permissionsRequestChanges record (strings or NULL). */
struct perm_change {
	const char *id, *request_id, *status, *modified;
};
/* 0, or -1 when `c` is not an object or a member has the wrong type. */
int parse_perm_change(struct json_object *c, struct perm_change *out);

/* The approval step in progress from a steps page ({"value": [...]}, key
 * "value") or an approval ({"stages": [...]}, key "stages"); `si` is
 * filled (the caller clears it). 0, or -1 when malformed. */
int parse_steps(
    const char *body, size_t len, const char *key, struct step_info *si);
int parse_stages(const char *body, size_t len, struct step_info *si);

#endif
