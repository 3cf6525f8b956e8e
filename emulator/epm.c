/*
 * Permissions Management (beta): scheduledPermissionsRequests,
 * permissionsRequestChanges and scheduledPermissionsApprovals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"

#define EPM "beta/identityGovernance/permissionsManagement/"

static const char *const epm_status[RS_MAX] = {
	[RS_SUBMITTED] = "submitted",
	[RS_APPROVED_GRANTING] = "approved",
	[RS_APPROVED_GRANTED] = "approved",
	[RS_COMPLETED] = "completed",
	[RS_REJECTED] = "rejected",
	[RS_CANCELED] = "canceled",
	[RS_CANCELED_REVOKED] = "canceled",
};

static const char *
odata_type(json_object *o)
{
	json_object *v;
	const char *s;

	if (o == NULL || !json_object_object_get_ex(o, "@odata.type", &v) ||
	    (s = json_object_get_string(v)) == NULL)
		return NULL;
	if (*s == '#')
		s++;
	if (strncmp(s, "microsoft.graph.", 16) == 0)
		s += 16;
	return s;
}

static json_object *
jobj(json_object *o, const char *k)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

static const char *
jstr(json_object *o, const char *k)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool
str_array(json_object *o, const char *k, bool nonempty)
{
	json_object *v;
	size_t i, n;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_array))
		return false;
	n = json_object_array_length(v);
	if (nonempty && n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!json_object_is_type(
		        json_object_array_get_idx(v, i), json_type_string))
			return false;
	return true;
}

static bool
id_array(json_object *o, const char *k)
{
	json_object *v;
	size_t i, n;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) == 0)
		return false;
	for (i = 0; i < n; i++)
		if (jstr(json_object_array_get_idx(v, i), "id") == NULL)
			return false;
	return true;
}

/* Validate a permissionsDefinition; returns NULL or an error message. */
static const char *
check_definition(json_object *d)
{
	static const char *const ident_types[] = { "user", "role",
		"application", "managedIdentity", "serviceAccount", NULL };
	json_object *asi, *act, *ii, *st;
	const char *t, *at, *sys, *want, *it;
	size_t i, n;
	int k;

	if (d == NULL)
		return "The property 'requestedPermissions' is required.";
	if ((t = odata_type(d)) == NULL)
		return "requestedPermissions: '@odata.type' is required.";
	if (strcmp(t, "awsPermissionsDefinition") == 0)
		want = "AWS";
	else if (strcmp(t, "singleResourceAzurePermissionsDefinition") == 0)
		want = "AZURE";
	else if (strcmp(t, "singleResourceGcpPermissionsDefinition") == 0)
		want = "GCP";
	else
		return "requestedPermissions: unknown '@odata.type'.";
	if ((asi = jobj(d, "authorizationSystemInfo")) == NULL ||
	    jstr(asi, "authorizationSystemId") == NULL ||
	    (sys = jstr(asi, "authorizationSystemType")) == NULL)
		return "authorizationSystemInfo with authorizationSystemId and "
		       "authorizationSystemType is required.";
	if (strcasecmp(sys, want) != 0)
		return "authorizationSystemType does not match the permissions "
		       "definition type.";
	if (strcmp(want, "AWS") != 0 && jstr(d, "resourceId") == NULL)
		return "The property 'resourceId' is required.";
	if ((act = jobj(d, "actionInfo")) == NULL ||
	    (at = odata_type(act)) == NULL)
		return "actionInfo with '@odata.type' is required.";
	if (strcmp(at, "awsPolicyPermissionsDefinitionAction") == 0 &&
	    strcmp(want, "AWS") == 0) {
		if (!id_array(act, "policies"))
			return "actionInfo.policies must list at least one "
			       "policy id.";
	} else if (strcmp(at, "awsActionsPermissionsDefinitionAction") == 0 &&
	           strcmp(want, "AWS") == 0) {
		if (!json_object_object_get_ex(act, "statements", &st) ||
		    !json_object_is_type(st, json_type_array) ||
		    (n = json_object_array_length(st)) == 0)
			return "actionInfo.statements must not be empty.";
		for (i = 0; i < n; i++) {
			json_object *s = json_object_array_get_idx(st, i);

			if (!json_object_is_type(s, json_type_object) ||
			    !str_array(s, "actions", true))
				return "each statement needs a non-empty "
				       "'actions' list.";
		}
	} else if ((strcmp(at, "azureRolePermissionsDefinitionAction") == 0 &&
	               strcmp(want, "AZURE") == 0) ||
	           (strcmp(at, "gcpRolePermissionsDefinitionAction") == 0 &&
	               strcmp(want, "GCP") == 0)) {
		if (!id_array(act, "roles"))
			return "actionInfo.roles must list at least one role "
			       "id.";
	} else if ((strcmp(at, "azureActionPermissionsDefinitionAction") == 0 &&
	               strcmp(want, "AZURE") == 0) ||
	           (strcmp(at, "gcpActionPermissionsDefinitionAction") == 0 &&
	               strcmp(want, "GCP") == 0)) {
		if (!str_array(act, "actions", true))
			return "actionInfo.actions must not be empty.";
	} else
		return "actionInfo: unknown '@odata.type' for this permissions "
		       "definition.";
	if ((ii = jobj(d, "identityInfo")) == NULL ||
	    jstr(ii, "externalId") == NULL ||
	    (it = jstr(ii, "identityType")) == NULL ||
	    odata_type(jobj(ii, "source")) == NULL)
		return "identityInfo with externalId, identityType and "
		       "source.@odata.type is required.";
	for (k = 0; ident_types[k] != NULL; k++)
		if (strcmp(ident_types[k], it) == 0)
			break;
	if (ident_types[k] == NULL)
		return "identityInfo.identityType is not a known value.";
	return NULL;
}

/* Validate scheduleInfo; sets *start (0: none) and *dur (0: none). */
static const char *
check_schedule(json_object *s, int64_t *start, int64_t *dur)
{
	json_object *exp, *v;
	const char *str;
	int64_t end;

	*start = *dur = 0;
	if (s == NULL)
		return NULL;
	if (!json_object_is_type(s, json_type_object))
		return "scheduleInfo must be an object.";
	if (json_object_object_get_ex(s, "startDateTime", &v) && v != NULL &&
	    (!json_object_is_type(v, json_type_string) ||
	        clock_parse_iso(json_object_get_string(v), start) < 0))
		return "scheduleInfo.startDateTime is not a valid "
		       "DateTimeOffset.";
	if (json_object_object_get_ex(s, "expiration", &exp) && exp != NULL) {
		if (!json_object_is_type(exp, json_type_object))
			return "scheduleInfo.expiration must be an object.";
		if (json_object_object_get_ex(exp, "duration", &v) &&
		    v != NULL &&
		    ((str = json_object_get_string(v)) == NULL ||
		        !json_object_is_type(v, json_type_string) ||
		        clock_parse_duration(str, dur) < 0))
			return "scheduleInfo.expiration.duration is not a "
			       "valid "
			       "ISO 8601 duration.";
		if (json_object_object_get_ex(exp, "endDateTime", &v) &&
		    v != NULL) {
			if (!json_object_is_type(v, json_type_string) ||
			    clock_parse_iso(json_object_get_string(v), &end) <
			        0)
				return "scheduleInfo.expiration.endDateTime is "
				       "not a valid DateTimeOffset.";
			if (*dur == 0 && *start != 0 && end > *start)
				*dur = end - *start;
		}
		if ((str = jstr(exp, "type")) != NULL &&
		    strcmp(str, "notSpecified") != 0 &&
		    strcmp(str, "noExpiration") != 0 &&
		    strcmp(str, "afterDateTime") != 0 &&
		    strcmp(str, "afterDuration") != 0)
			return "scheduleInfo.expiration.type is not a known "
			       "value.";
	}
	return NULL;
}

static void
set_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(
	    o, k, v != NULL ? json_object_new_string(v) : NULL);
}

void
epm_sync(struct emu *e, struct req *r)
{
	set_str(r->obj, "statusDetail", epm_status[r->state]);
}

struct req *
epm_create_quiet(struct emu *e, json_object *body, const char *requestor_id,
    char *err, size_t errlen)
{
	static const char *const allowed[] = { "requestedPermissions",
		"justification", "notes", "scheduleInfo", "ticketInfo",
		"createdDateTime", "statusDetail", "action", "id",
		"@odata.type", NULL };
	const char *msg;
	int64_t start, dur;
	json_object *v;
	struct req *r;
	char iso[40];
	const char *bad;

	if ((bad = emu_unknown_key(body, allowed)) != NULL) {
		snprintf(err, errlen,
		    "The property '%s' does not exist on type "
		    "'microsoft.graph.scheduledPermissionsRequest'.",
		    bad);
		return NULL;
	}
	if ((msg = check_definition(jobj(body, "requestedPermissions"))) !=
	    NULL) {
		snprintf(err, errlen, "%s", msg);
		return NULL;
	}
	v = NULL;
	json_object_object_get_ex(body, "scheduleInfo", &v);
	if ((msg = check_schedule(v, &start, &dur)) != NULL) {
		snprintf(err, errlen, "%s", msg);
		return NULL;
	}
	if ((json_object_object_get_ex(body, "justification", &v) &&
	        v != NULL && !json_object_is_type(v, json_type_string)) ||
	    (json_object_object_get_ex(body, "notes", &v) && v != NULL &&
	        !json_object_is_type(v, json_type_string))) {
		snprintf(
		    err, errlen, "justification and notes must be strings.");
		return NULL;
	}
	if (json_object_object_get_ex(body, "ticketInfo", &v) && v != NULL &&
	    !json_object_is_type(v, json_type_object)) {
		snprintf(err, errlen, "ticketInfo must be an object.");
		return NULL;
	}
	if ((r = req_new(e, SRC_PERMISSIONS)) == NULL) {
		snprintf(err, errlen, "quota");
		return NULL;
	}
	if (json_object_deep_copy(body, &r->obj, NULL) != 0)
		abort();
	json_object_object_del(r->obj, "@odata.type");
	json_object_object_del(r->obj, "id");
	r->ticket = xstrdup(jstr(jobj(body, "ticketInfo"), "ticketNumber"));
	snprintf(r->requestor_id, sizeof(r->requestor_id), "%s", requestor_id);
	r->start = start;
	r->duration = dur > 0 ? dur : 3600 * EMU_TICKS_PER_SEC;
	r->state = RS_SUBMITTED;
	clock_iso(r->created, iso);
	json_object_object_add(r->obj, "@odata.type",
	    json_object_new_string(
	        "#microsoft.graph.scheduledPermissionsRequest"));
	set_str(r->obj, "id", r->id);
	set_str(r->obj, "createdDateTime", iso);
	epm_sync(e, r);
	req_change(e, r, "submitted", NULL);
	return r;
}

void
epm_create(struct call *c, json_object *body, const char *requestor_id)
{
	char err[256];
	struct req *r;

	if ((r = epm_create_quiet(
	         c->emu, body, requestor_id, err, sizeof(err))) == NULL) {
		if (strcmp(err, "quota") == 0)
			call_error(c, 507, "quotaLimitReached",
			    "The emulator's request store is full (%zu).",
			    c->emu->cfg.max_requests);
		else
			call_error(c, 400, "BadRequest", "%s", err);
		return;
	}
	call_reply(c, 201, json_object_get(r->obj));
}

void
epm_due(struct emu *e, struct req *r)
{
	int64_t now = emu_now(e), begin;

	switch (r->state) {
	case RS_APPROVED_GRANTING:
		r->state = RS_APPROVED_GRANTED;
		epm_sync(e, r);
		req_change(e, r, "approved", "granted");
		begin = r->start > now ? r->start : now;
		req_schedule(e, r, begin + r->duration);
		break;
	case RS_APPROVED_GRANTED:
		r->state = RS_COMPLETED;
		epm_sync(e, r);
		req_change(e, r, "completed", "revoked");
		break;
	default:
		break;
	}
}

static void
post_create(struct call *c, char **caps)
{
	json_object *b;

	if (!call_require_delegated(c) || (b = call_body(c, true)) == NULL)
		return;
	epm_create(c, b, c->user->id);
}

static void
get_list(struct call *c, char **caps)
{
	req_list(c, SRC_PERMISSIONS);
}

static void
post_cancel(struct call *c, char **caps)
{
	struct emu *e = c->emu;
	struct req *r = req_get(e, SRC_PERMISSIONS, caps[0]);
	const struct app *a;
	bool requestor, admin;

	if (r == NULL) {
		call_error(c, 404, "Request_ResourceNotFound",
		    "Permissions request '%s' was not found.", caps[0]);
		return;
	}
	requestor =
	    c->user != NULL && strcmp(c->user->id, r->requestor_id) == 0;
	admin = c->user != NULL && store_is_admin(e, c->user->id);
	if (c->tok->kind == TOK_APP) {
		a = hmap_get(&e->apps, c->tok->client_id);
		admin = a != NULL && a->admin;
	}
	switch (r->state) {
	case RS_SUBMITTED:
		if (!requestor) {
			call_error(c, 403, "Authorization_RequestDenied",
			    "Only the requestor can cancel a pending request.");
			return;
		}
		r->state = RS_CANCELED;
		r->step_status = STEP_COMPLETED;
		epm_sync(e, r);
		req_change(e, r, "canceled", NULL);
		break;
	case RS_APPROVED_GRANTING:
	case RS_APPROVED_GRANTED:
		if (!requestor && !admin) {
			call_error(c, 403, "Authorization_RequestDenied",
			    "Only the requestor or an administrator can cancel "
			    "an approved request.");
			return;
		}
		r->state = RS_CANCELED_REVOKED;
		req_schedule(e, r, 0);
		epm_sync(e, r);
		req_change(e, r, "canceled", "revoked");
		break;
	default:
		call_error(c, 400, "BadRequest",
		    "The request is '%s' and cannot be canceled.",
		    epm_status[r->state]);
		return;
	}
	truth_add(e, c, r, "cancel", NULL);
	call_reply(c, 204, NULL);
}

static json_object *
change_json(struct change *ch)
{
	json_object *o = json_object_new_object();
	char iso[40];

	clock_iso(ch->t, iso);
	set_str(o, "id", ch->id);
	set_str(o, "modificationDateTime", iso);
	set_str(o, "permissionsRequestId", ch->r->id);
	set_str(o, "statusDetail", ch->status);
	set_str(o, "ticketId", ch->r->ticket);
	set_str(o, "activeOccurrenceStatus", ch->occurrence);
	return o;
}

int
epm_skewed_change(
    struct emu *e, const char *id, int64_t t, char *err, size_t errlen)
{
	struct req *r = id != NULL ? req_get(e, SRC_PERMISSIONS, id) : NULL;
	struct change *ch;
	int64_t last = e->last_change;
	size_t i;

	if (r == NULL) {
		snprintf(
		    err, errlen, "no permissions request '%s'", id ? id : "");
		return -1;
	}
	for (i = 0; i < e->nskewed; i++)
		if (e->skewed[i].t > last)
			last = e->skewed[i].t;
	if (t <= last || t <= emu_now(e)) {
		snprintf(err, errlen,
		    "a skewed change must be dated after now and after "
		    "every change so far");
		return -1;
	}
	if (e->nskewed == EMU_MAX_SKEWED) {
		snprintf(err, errlen, "too many skewed changes (max %d)",
		    EMU_MAX_SKEWED);
		return -1;
	}
	ch = &e->skewed[e->nskewed++];
	emu_guid(ch->id);
	ch->t = t;
	ch->r = r;
	ch->status = epm_status[r->state];
	ch->occurrence = NULL;
	return 0;
}

static void
get_changes(struct call *c, char **caps)
{
	struct emu *e = c->emu;
	struct filter f;
	json_object *o, *a, *x;
	char err[160], *link;
	size_t skip, i, lo = 0, hi, n = 0, k;
	int64_t t;
	int top;

	if (call_top(c, &top) < 0 || call_skiptoken(c, &skip) < 0)
		return;
	if (filter_parse(call_query(c, "$filter"), &f, err, sizeof(err)) < 0) {
		call_error(c, 400, "BadRequest", "%s", err);
		return;
	}
	for (k = 0; k < f.n; k++) {
		if (strcmp(f.field[k], "modificationDateTime") != 0)
			continue;
		if (clock_parse_iso(f.val[k], &t) < 0) {
			call_error(c, 400, "BadRequest",
			    "Invalid DateTimeOffset '%s' in $filter.",
			    f.val[k]);
			filter_free(&f);
			return;
		}
		if (f.op[k] != FOP_GT && f.op[k] != FOP_GE)
			continue;
		hi = e->nchanges;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (f.op[k] == FOP_GT ? e->changes[mid].t <= t
			                      : e->changes[mid].t < t)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	o = json_object_new_object();
	a = json_object_new_array();
	for (i = skip > lo ? skip : lo; i < e->nchanges && n < (size_t)top;
	     i++) {
		x = change_json(&e->changes[i]);
		if (filter_match(&f, x)) {
			json_object_array_add(a, x);
			n++;
		} else
			json_object_put(x);
	}
	link = NULL;
	{
		char ctx[600], base[256];

		call_base_url(c, base, sizeof(base));
		snprintf(ctx, sizeof(ctx),
		    "%s/beta/$metadata#identityGovernance/"
		    "permissionsManagement/"
		    "permissionsRequestChanges",
		    base);
		set_str(o, "@odata.context", ctx);
	}
	json_object_object_add(o, "value", a);
	if (i < e->nchanges) {
		link = call_next_link(c, i);
		set_str(o, "@odata.nextLink", link);
		free(link);
	} else {
		/* Dated after everything else: they sort last, on the last
		 * page (at most EMU_MAX_SKEWED beyond $top). */
		for (k = 0; k < e->nskewed; k++) {
			x = change_json(&e->skewed[k]);
			if (filter_match(&f, x))
				json_object_array_add(a, x);
			else
				json_object_put(x);
		}
	}
	filter_free(&f);
	call_reply(c, 200, o);
}

static void
get_change(struct call *c, char **caps)
{
	uintptr_t idx = (uintptr_t)hmap_get(&c->emu->changes_byid, caps[0]);

	if (idx == 0) {
		call_error(c, 404, "Request_ResourceNotFound",
		    "Change '%s' was not found.", caps[0]);
		return;
	}
	call_reply(c, 200, change_json(&c->emu->changes[idx - 1]));
}

/*
 * scheduledPermissionsApprovals have no prose page (metadata and SDKs
 * only); they are the same `approval` entity whose reads and decisions
 * are delegated-only for PIM for Groups and entitlement management
 * ("Application: Not supported", microsoft-graph-docs-contrib:
 * api-reference/v1.0/api/approval-get.md, approvalstage-update.md). Where
 * the docs are silent the emulator is the stricter: delegated only, 403
 * for an app token.
 */
static struct req *
approval_req(struct call *c, const char *id)
{
	struct req *r;

	if (!call_require_delegated(c) ||
	    req_query_check(c, (const char *const[]){ NULL }, NULL, NULL) < 0)
		return NULL;
	if ((r = req_get(c->emu, SRC_PERMISSIONS, id)) == NULL)
		call_error(c, 404, "Request_ResourceNotFound",
		    "Approval '%s' was not found.", id);
	return r;
}

static void
get_approval(struct call *c, char **caps)
{
	struct req *r = approval_req(c, caps[0]);
	json_object *o, *a;

	if (r == NULL)
		return;
	o = json_object_new_object();
	a = json_object_new_array();
	json_object_array_add(a, req_step_json(c->emu, c, r));
	set_str(o, "id", r->id);
	json_object_object_add(o, "steps", a);
	call_reply(c, 200, o);
}

static void
get_steps(struct call *c, char **caps)
{
	struct req *r = approval_req(c, caps[0]);

	if (r != NULL)
		req_steps_reply(c, r);
}

static void
step(struct call *c, char **caps)
{
	struct emu *e = c->emu;
	struct req *r;
	int rv;

	if ((r = approval_req(c, caps[0])) == NULL ||
	    (rv = req_step_call(c, r, caps[1], "step")) < 0)
		return;
	if (rv == 1) {
		r->state = RS_APPROVED_GRANTING;
		epm_sync(e, r);
		req_change(e, r, "approved", "granting");
		req_schedule(e, r, emu_now(e) + e->cfg.granting_delay);
		req_tick(e);
	} else {
		r->state = RS_REJECTED;
		epm_sync(e, r);
		req_change(e, r, "rejected", NULL);
	}
	call_reply(c, 204, NULL);
}

const struct route epm_routes[] = {
	{ EPM "scheduledPermissionsRequests", M_GET, get_list },
	{ EPM "scheduledPermissionsRequests", M_POST, post_create },
	{ EPM "scheduledPermissionsRequests/*/cancelAll", M_POST, post_cancel },
	/* The cancel example in the quick reference omits identityGovernance. */
	{ "beta/permissionsManagement/scheduledPermissionsRequests/*/cancelAll",
	    M_POST, post_cancel },
	{ EPM "permissionsRequestChanges", M_GET, get_changes },
	{ EPM "permissionsRequestChanges/*", M_GET, get_change },
	{ EPM "scheduledPermissionsApprovals/*", M_GET, get_approval },
	{ EPM "scheduledPermissionsApprovals/*/steps", M_GET, get_steps },
	{ EPM "scheduledPermissionsApprovals/*/steps/*", M_GET | M_PATCH,
	    step },
	{ NULL, 0, NULL },
};
