/* Inbound bodies, parsed without I/O; see parse.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include "json.h"
#include "limits.h"
#include "parse.h"
#include "sources.h"

/* ---- Graph change notifications --------------------------------------- */

/* Constant-time comparison over the expected length. */
static int
parse_client_state_ok(const char *want, size_t wantlen, const char *got)
{
	size_t n;

	if (want == NULL || got == NULL)
		return 0;
	n = strlen(got);
	return (CRYPTO_memcmp(want, n == wantlen ? got : want, wantlen) == 0) &
	       (n == wantlen);
}

/* Note the group a change notification is about ("Groups/{id}", any case,
 * perhaps followed by a path), once; past PARSE_MAX_GROUPS only count. */
static void
parse_group_note(const char *r, struct graph_notes *out)
{
	const char *p;
	size_t len, i;

	if (r == NULL)
		return;
	if (*r == '/')
		r++;
	if (strncasecmp(r, "groups/", 7) != 0)
		return;
	r += 7;
	len = strcspn(r, "/");
	if (len == 0 || len >= PARSE_GROUP_ID)
		return;
	for (p = r; p < r + len; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return;
	for (i = 0; i < out->ngroups && i < PARSE_MAX_GROUPS; i++)
		if (strncasecmp(out->groups[i], r, len) == 0 &&
		    out->groups[i][len] == '\0')
			return;
	if (out->ngroups < PARSE_MAX_GROUPS)
		snprintf(out->groups[out->ngroups], PARSE_GROUP_ID, "%.*s",
		    (int)len, r);
	out->ngroups++;
}

/*
 * The body is a changeNotificationCollection: {"value": [changeNotification,
 * ...]} (https://learn.microsoft.com/graph/api/resources/
 * changenotificationcollection). Each changeNotification carries the
 * subscription's clientState, and lifecycleEvent (missed,
 * subscriptionRemoved, reauthorizationRequired) only when it is a lifecycle
 * notification (https://learn.microsoft.com/graph/api/resources/
 * changenotification, https://learn.microsoft.com/graph/
 * change-notifications-lifecycle-events). An optional property may come as
 * JSON null: treated as absent. Any other wrong type refuses the body.
 */
enum parse_notes_result
parse_graph_notes(const char *body, size_t len, const char *cs, size_t cslen,
    struct graph_notes *out)
{
	struct json_object *o, *value, *e;
	const char *ev, *sub;
	enum parse_notes_result rc = PARSE_NOTES_BAD_BODY;
	size_t i, n;

	memset(out, 0, sizeof(*out));
	if ((o = parse_json(body, len)) == NULL ||
	    (value = parse_arr(o, "value")) == NULL ||
	    (n = json_object_array_length(value)) == 0)
		goto out;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(value, i);
		if (!json_object_is_type(e, json_type_object) ||
		    parse_not_str(e, "clientState") ||
		    parse_not_str(e, "lifecycleEvent") ||
		    parse_not_str(e, "subscriptionId") ||
		    parse_not_str(e, "resource"))
			goto out;
	}
	/* Every item is checked before any is acted on. */
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(value, i);
		if (!parse_client_state_ok(
		        cs, cslen, parse_str(e, "clientState"))) {
			rc = PARSE_NOTES_BAD_CLIENT_STATE;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(value, i);
		if ((ev = parse_str(e, "lifecycleEvent")) == NULL) {
			out->changes = 1;
			parse_group_note(parse_str(e, "resource"), out);
		} else if (strcmp(ev, "missed") == 0)
			out->missed = 1;
		else if (out->nlife < PARSE_MAX_LIFE) {
			sub = parse_str(e, "subscriptionId");
			snprintf(out->life[out->nlife].event, PARSE_LIFE_TEXT,
			    "%s", ev);
			/* a longer id is no subscription of ours */
			if (sub != NULL && strlen(sub) < PARSE_LIFE_TEXT)
				snprintf(out->life[out->nlife].sub,
				    PARSE_LIFE_TEXT, "%s", sub);
			out->nlife++;
		} else
			out->life_dropped++;
	}
	rc = PARSE_NOTES_OK;
out:
	json_object_put(o);
	return rc;
}

/* Graph validates a notification URL with POST ?validationToken=...; the
 * answer is the decoded token as text/plain within 10 s
 * (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks
 * #notificationurl-validation). */
char *
parse_validation_token(const char *uri, size_t *len)
{
	const char *q = uri != NULL ? strchr(uri, '?') : NULL, *p, *end;
	static const char name[] = "validationToken";
	size_t nl = sizeof(name) - 1;
	char *raw, *dec;

	if (q == NULL)
		return NULL;
	for (p = q + 1; p != NULL && *p; p = end ? end + 1 : NULL) {
		end = strchr(p, '&');
		if (strncmp(p, name, nl) != 0 || p[nl] != '=')
			continue;
		p += nl + 1;
		raw = end ? strndup(p, (size_t)(end - p)) : strdup(p);
		if (raw == NULL)
			return NULL;
		dec = evhttp_uridecode(raw, 1, len);
		free(raw);
		return dec;
	}
	return NULL;
}

/* ---- evaluate hook ------------------------------------------------------ */

int
parse_evaluate(const char *body, size_t len, struct json_object **root,
    const char **request, const char **source)
{
	*root = NULL;
	*request = *source = NULL;
	if (len == 0)
		return 0;
	if ((*root = parse_json(body, len)) == NULL ||
	    !json_object_is_type(*root, json_type_object) ||
	    parse_not_str(*root, "request") || parse_not_str(*root, "source")) {
		json_object_put(*root);
		*root = NULL;
		return -1;
	}
	*request = parse_str(*root, "request");
	*source = parse_str(*root, "source");
	return 0;
}

/* ---- decision form ------------------------------------------------------ */

/* Reason text from the form: control characters become spaces. */
static int
parse_reason(const char *in, char *out, size_t len)
{
	size_t n = 0;

	if (len == 0 || strlen(in) > LINK_MAX_REASON * 4) /* UTF-8 bytes */
		return -1;
	for (; *in && n + 1 < len; in++)
		out[n++] = (unsigned char)*in < 0x20 || *in == 0x7f ? ' ' : *in;
	out[n] = '\0';
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
	return 0;
}

int
parse_decision_form(const char *body, int *approve, char *reason, size_t rlen)
{
	struct evkeyvalq form;
	const char *verb, *r;
	int rc = -1;

	TAILQ_INIT(&form);
	if (rlen == 0)
		return -1;
	reason[0] = '\0';
	if (body == NULL || evhttp_parse_query_str(body, &form) == -1 ||
	    (verb = evhttp_find_header(&form, "decision")) == NULL ||
	    (strcmp(verb, "approve") != 0 && strcmp(verb, "deny") != 0))
		goto out;
	if ((r = evhttp_find_header(&form, "reason")) != NULL &&
	    parse_reason(r, reason, rlen) == -1)
		goto out;
	*approve = strcmp(verb, "approve") == 0;
	rc = 0;
out:
	evhttp_clear_headers(&form);
	return rc;
}

/* ---- Graph responses ---------------------------------------------------- */

/* Collections are {"value": [...]} with "@odata.nextLink" on every page but
 * the last (https://learn.microsoft.com/graph/paging). */
struct json_object *
parse_page(
    const char *body, size_t len, struct json_object **value, const char **next)
{
	struct json_object *root = parse_json(body, len);

	*value = NULL;
	*next = NULL;
	if (root == NULL || (*value = parse_arr(root, "value")) == NULL ||
	    parse_not_str(root, "@odata.nextLink")) {
		json_object_put(root);
		*value = NULL;
		return NULL;
	}
	*next = parse_str(root, "@odata.nextLink");
	return root;
}

/* A permissionsRequestChange: id, permissionsRequestId, statusDetail,
 * modificationDateTime (https://learn.microsoft.com/graph/api/resources/
 * permissionsrequestchange?view=graph-rest-beta). */
int
parse_perm_change(struct json_object *c, struct perm_change *out)
{
	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(c, json_type_object) ||
	    parse_not_str(c, "id") ||
	    parse_not_str(c, "permissionsRequestId") ||
	    parse_not_str(c, "statusDetail") ||
	    parse_not_str(c, "modificationDateTime"))
		return -1;
	out->id = parse_str(c, "id");
	out->request_id = parse_str(c, "permissionsRequestId");
	out->status = parse_str(c, "statusDetail");
	out->modified = parse_str(c, "modificationDateTime");
	return 0;
}

/* Steps of a scheduledPermissionsApproval ({"value": [approvalStep]}) or
 * the stages of an approval ({"stages": [approvalStage]},
 * https://learn.microsoft.com/graph/api/resources/approval). */
int
parse_steps(const char *body, size_t len, const char *key, struct step_info *si)
{
	struct json_object *root = parse_json(body, len), *steps;
	int rc = -1;

	if (root != NULL && (steps = parse_arr(root, key)) != NULL) {
		adapter_step_pick(steps, si);
		rc = 0;
	}
	json_object_put(root);
	return rc;
}

/* The stages of an approval, read explicitly ({"value": [approvalStage]},
 * approval-list-stages): the one to act on (adapter_stage_pick). */
int
parse_stages(const char *body, size_t len, struct step_info *si)
{
	struct json_object *root = parse_json(body, len), *stages;
	int rc = -1;

	if (root != NULL && (stages = parse_arr(root, "value")) != NULL) {
		adapter_stage_pick(stages, si);
		rc = 0;
	}
	json_object_put(root);
	return rc;
}
