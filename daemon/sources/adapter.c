/* Helpers shared by the source adapters (and the approver resolver). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "parse.h"
#include "sources.h"

enum review_result
review_result_from(const char *s)
{
	static const char *const names[REVIEW_MAX] = {
		[REVIEW_NOT_REVIEWED] = "NotReviewed",
		[REVIEW_APPROVED] = "Approved",
		[REVIEW_DENIED] = "Denied",
	};
	int r;

	if (s == NULL)
		return REVIEW_NONE;
	for (r = REVIEW_NOT_REVIEWED; r <= REVIEW_DENIED; r++)
		if (strcmp(names[r], s) == 0)
			return (enum review_result)r;
	return REVIEW_OTHER;
}

/* The string member `k` of object `o`, or NULL (absent, null, not a string). */
const char *
adapter_str(struct json_object *o, const char *k)
{
	return parse_str(o, k);
}

struct json_object *
adapter_find_id(struct json_object *items, const char *gid)
{
	size_t i, n;
	const char *id;

	if (!json_object_is_type(items, json_type_array))
		return NULL;
	n = json_object_array_length(items);

	for (i = 0; i < n; i++) {
		id = adapter_str(json_object_array_get_idx(items, i), "id");
		if (id != NULL && strcasecmp(id, gid) == 0)
			return json_object_array_get_idx(items, i);
	}
	return NULL;
}

/* "<graph base><prefix><formatted tail>" as a heap string, or NULL. */
char *
adapter_url(struct daemon *d, const char *prefix, const char *fmt, ...)
{
	va_list ap;
	char *tail = NULL, *url = NULL;

	va_start(ap, fmt);
	if (vasprintf(&tail, fmt, ap) == -1)
		tail = NULL;
	va_end(ap);
	if (tail == NULL ||
	    asprintf(&url, "%s%s%s", d->graph_base, prefix, tail) == -1)
		url = NULL;
	free(tail);
	return url;
}

static char *
adapter_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/*
 * Fill `si` from the approval steps / stages array `steps`: the first one
 * not yet reviewed, else the last one (with several stages the earlier ones
 * are approved: a denial ends the approval). reviewedBy is an identity,
 * {id, userPrincipalName} or {user: {id, ...}} depending on the API.
 */
void
adapter_step_pick(struct json_object *steps, struct step_info *si)
{
	struct json_object *s, *rb, *user;
	const char *review;
	size_t i, n;

	if (!json_object_is_type(steps, json_type_array))
		return;
	n = json_object_array_length(steps);
	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(steps, i);
		review = adapter_str(s, "reviewResult");
		step_info_clear(si);
		si->found = 1;
		si->id = adapter_dup(adapter_str(s, "id"));
		si->review = adapter_dup(review);
		si->result = review_result_from(review);
		si->status = adapter_dup(adapter_str(s, "status"));
		if ((rb = parse_obj(s, "reviewedBy")) != NULL) {
			if ((user = parse_obj(rb, "user")) != NULL)
				rb = user;
			si->reviewer_id = adapter_dup(adapter_str(rb, "id"));
			si->reviewer_upn =
			    adapter_dup(adapter_str(rb, "userPrincipalName"));
		}
		if (si->result == REVIEW_NONE ||
		    si->result == REVIEW_NOT_REVIEWED)
			break;
	}
}

void
step_info_clear(struct step_info *s)
{
	free(s->id);
	free(s->status);
	free(s->review);
	free(s->reviewer_id);
	free(s->reviewer_upn);
	memset(s, 0, sizeof(*s));
}

/*
 * approvalStage: "assignedToMe: Indicates whether the stage is assigned to
 * the calling user to review"; status InProgress, Initializing, Completed,
 * Expired (microsoft-graph-docs-contrib: api-reference/v1.0/resources/
 * approvalstage.md). The stage to act on is the one in progress that is
 * assigned to approvald's account (the caller of the delegated read).
 */
void
adapter_stage_pick(struct json_object *stages, struct step_info *si)
{
	struct json_object *s, *one;
	const char *status;
	size_t i, n = json_object_array_length(stages);
	int other = -1;

	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(stages, i);
		if ((status = adapter_str(s, "status")) == NULL ||
		    strcmp(status, "InProgress") != 0)
			continue;
		if (parse_bool(s, "assignedToMe", 0))
			break;
		if (other < 0)
			other = (int)i;
	}
	if (i == n && other < 0) {
		adapter_step_pick(stages, si);
		return;
	}
	one = json_object_new_array();
	json_object_array_add(one, json_object_get(json_object_array_get_idx(
	                               stages, i < n ? i : (size_t)other)));
	adapter_step_pick(one, si);
	json_object_put(one);
	si->not_mine = i == n;
}
