/*
 * Graph request bodies (JSON) into the normalized struct request, and the
 * request digest. Fails closed: unknown @odata.types and inconsistent
 * bodies are errors; AWS notActions/notResources widen to "*".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "internal.h"

const char *
req_source_name(enum req_source s)
{
	static const char *const names[REQ_SRC_MAX] = {
		[REQ_SRC_PERMISSIONS] = "permissions",
		[REQ_SRC_GROUP] = "group",
		[REQ_SRC_ACCESS_PACKAGE] = "access-package",
	};
	return (unsigned)s < REQ_SRC_MAX ? names[s] : "unknown";
}

int
req_source_from_name(const char *name)
{
	int i;

	for (i = 0; name && i < REQ_SRC_MAX; i++)
		if (strcmp(req_source_name((enum req_source)i), name) == 0)
			return i;
	return -1;
}

const char *
req_cloud_name(enum req_cloud c)
{
	static const char *const names[REQ_CLOUD_MAX] = {
		[REQ_CLOUD_NONE] = "none",
		[REQ_CLOUD_AWS] = "aws",
		[REQ_CLOUD_AZURE] = "azure",
		[REQ_CLOUD_GCP] = "gcp",
	};
	return (unsigned)c < REQ_CLOUD_MAX ? names[c] : "unknown";
}

const char *
req_kind_name(enum req_kind k)
{
	static const char *const names[REQ_KIND_MAX] = {
		[REQ_KIND_NONE] = "none",
		[REQ_KIND_POLICY] = "policy",
		[REQ_KIND_ACTION] = "action",
		[REQ_KIND_ROLE] = "role",
		[REQ_KIND_GROUP] = "group",
		[REQ_KIND_PACKAGE] = "package",
	};
	return (unsigned)k < REQ_KIND_MAX ? names[k] : "unknown";
}

static void
list_free(struct req_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
request_free(struct request *r)
{
	if (r == NULL)
		return;
	free(r->id);
	free(r->approval_id);
	free(r->status);
	free(r->system_id);
	list_free(&r->actions);
	list_free(&r->roles);
	list_free(&r->policies);
	list_free(&r->resources);
	free(r->resource_id);
	free(r->requestor_id);
	free(r->requestor_upn);
	free(r->ticket_system);
	free(r->ticket_number);
	free(r->justification);
	free(r->group_id);
	free(r->access);
	free(r->request_action);
	free(r->principal_id);
	free(r->package_id);
	free(r->package_name);
	free(r->created_by);
	free(r->requestor_key);
	free(r->beneficiary_key);
	req_principal_free(&r->who);
	req_principal_free(&r->beneficiary);
	memset(r, 0, sizeof(*r));
}

void
req_principal_free(struct req_principal *p)
{
	if (p == NULL)
		return;
	free(p->id);
	free(p->upn);
	free(p->mail);
	free(p->name);
	memset(p, 0, sizeof(*p));
	p->guest = -1;
}

const char *
req_identity_name(enum req_identity st)
{
	static const char *const names[REQ_ID_MAX] = {
		[REQ_ID_UNCHECKED] = "unchecked",
		[REQ_ID_VERIFIED] = "verified",
		[REQ_ID_UNVERIFIED] = "unverified",
	};
	return (unsigned)st < REQ_ID_MAX ? names[st] : "unknown";
}

static int
principal_copy(struct req_principal *dst, const struct req_principal *src)
{
	req_principal_free(dst);
	if (src == NULL)
		return 0;
	dst->guest = src->guest;
	if ((src->id && (dst->id = strdup(src->id)) == NULL) ||
	    (src->upn && (dst->upn = strdup(src->upn)) == NULL) ||
	    (src->mail && (dst->mail = strdup(src->mail)) == NULL) ||
	    (src->name && (dst->name = strdup(src->name)) == NULL)) {
		req_principal_free(dst);
		return -1;
	}
	return 0;
}

int
request_set_identity(struct request *r, enum req_identity st,
    const struct req_principal *who, const struct req_principal *beneficiary)
{
	r->identity = REQ_ID_UNVERIFIED;
	if (principal_copy(&r->who, who) == -1 ||
	    principal_copy(&r->beneficiary, beneficiary) == -1)
		return -1;
	/* Verified means every key named a user we now know by id. */
	if (st == REQ_ID_VERIFIED &&
	    (r->who.id == NULL ||
	        (r->beneficiary_key != NULL && r->beneficiary.id == NULL)))
		st = REQ_ID_UNVERIFIED;
	r->identity = (unsigned)st < REQ_ID_MAX ? st : REQ_ID_UNVERIFIED;
	return 0;
}

struct jctx {
	char **err;
	int failed;
};

static void jerr(struct jctx *c, const char *fmt, ...) CFG_PRINTF(2, 3);

static void
jerr(struct jctx *c, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (c->failed)
		return;
	c->failed = 1;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (c->err)
		*c->err = s;
	else
		free(s);
}

static json_object *
jget(json_object *o, const char *k)
{
	json_object *v = NULL;

	if (o == NULL || !json_object_is_type(o, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(o, k, &v))
		return NULL;
	if (v == NULL || json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

/* The text of a JSON string; one holding an embedded NUL is an error, so
 * that no C string is ever a silently truncated copy of what Graph sent. */
static const char *
jtext(struct jctx *c, json_object *v, const char *what)
{
	const char *s = json_object_get_string(v);

	if (s == NULL || strlen(s) != (size_t)json_object_get_string_len(v)) {
		jerr(c, "`%s` holds an embedded NUL", what);
		return NULL;
	}
	return s;
}

/* String member or NULL; a present non-string is an error. */
static const char *
jstr(struct jctx *c, json_object *o, const char *k)
{
	json_object *v = jget(o, k);

	if (v == NULL)
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		jerr(c, "`%s` must be a string", k);
		return NULL;
	}
	return jtext(c, v, k);
}

static void
jdup(struct jctx *c, char **dst, json_object *o, const char *k)
{
	const char *s = jstr(c, o, k);

	if (s != NULL && *dst == NULL && (*dst = strdup(s)) == NULL)
		jerr(c, "out of memory");
}

static void
list_add(struct jctx *c, struct req_list *l, const char *s)
{
	char **nv;

	if (l->n >= CFG_MAX_ITEMS) {
		jerr(c, "more than %d items of one kind", CFG_MAX_ITEMS);
		return;
	}
	if ((nv = realloc(l->v, (l->n + 1) * sizeof(*nv))) == NULL ||
	    (nv[l->n] = strdup(s)) == NULL) {
		if (nv)
			l->v = nv;
		jerr(c, "out of memory");
		return;
	}
	l->v = nv;
	l->n++;
}

/* Append every string of array member k (or of {id} objects when idkey). */
static size_t
jarray(struct jctx *c, json_object *o, const char *k, struct req_list *l,
    const char *idkey)
{
	json_object *a = jget(o, k);
	size_t i, n;

	if (a == NULL)
		return 0;
	if (!json_object_is_type(a, json_type_array)) {
		jerr(c, "`%s` must be an array", k);
		return 0;
	}
	n = json_object_array_length(a);
	for (i = 0; i < n && !c->failed; i++) {
		json_object *it = json_object_array_get_idx(a, i);
		const char *s;

		if (idkey != NULL) {
			if ((s = jstr(c, it, idkey)) == NULL) {
				jerr(c, "`%s[%zu].%s` missing", k, i, idkey);
				return i;
			}
		} else if (it == NULL ||
		           !json_object_is_type(it, json_type_string)) {
			jerr(c, "`%s[%zu]` must be a string", k, i);
			return i;
		} else if ((s = jtext(c, it, k)) == NULL) {
			return i;
		}
		list_add(c, l, s);
	}
	return n;
}

/* Strip "#" and "microsoft.graph." from an @odata.type. */
static const char *
odata_type(struct jctx *c, json_object *o)
{
	const char *t = jstr(c, o, "@odata.type");

	if (t == NULL)
		return NULL;
	if (*t == '#')
		t++;
	if (strncmp(t, "microsoft.graph.", 16) == 0)
		t += 16;
	return t;
}

/* "YYYY-MM-DD" (Edm.Date) into epoch seconds of its midnight UTC; -1. */
static int64_t
parse_date(const char *s)
{
	char buf[32];

	if (s == NULL || strlen(s) != 10)
		return -1;
	snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
	return cfg_parse_timestamp(buf);
}

/* First of several spellings (the Permissions Management pages spell the
 * recurrence enums `reccurence...Type`; patternedRecurrence says `type`). */
static const char *
jstr_any(struct jctx *c, json_object *o, const char *const *keys)
{
	const char *s;

	for (; *keys != NULL; keys++)
		if ((s = jstr(c, o, *keys)) != NULL)
			return s;
	return NULL;
}

/*
 * The latest end of access a patternedRecurrence allows, in seconds after
 * `start`, each occurrence lasting `each` seconds: -1 when it has no end
 * (range noEnd, or a range we cannot read). patternedRecurrence,
 * recurrencePattern and recurrenceRange resource types
 * (microsoft-graph-docs-contrib api-reference/v1.0/resources/
 * patternedrecurrence.md, recurrencepattern.md, recurrencerange.md):
 * range.type is endDate | noEnd | numbered; pattern.type daily | weekly |
 * absoluteMonthly | relativeMonthly | absoluteYearly | relativeYearly, every
 * `interval` units. A numbered range is bounded by occurrences x the
 * longest period of its pattern, which is never less than the real span.
 */
static int64_t
recurrence_span(struct jctx *c, json_object *rec, int64_t start, int64_t each)
{
	static const char *const rtype[] = { "type", "recurrenceRangeType",
		"reccurenceRangeType", NULL };
	static const char *const ptype[] = { "type", "recurrencePatternType",
		"reccurencePatternType", NULL };
	json_object *range = jget(rec, "range"), *pat = jget(rec, "pattern");
	json_object *iv, *nv;
	const char *rt = jstr_any(c, range, rtype);
	const char *pt = jstr_any(c, pat, ptype);
	int64_t end, period, interval = 1, n;

	if (rt == NULL || strcasecmp(rt, "noEnd") == 0)
		return -1;
	if (strcasecmp(rt, "endDate") == 0) {
		if ((end = parse_date(jstr(c, range, "endDate"))) < 0)
			return -1;
		/* the last occurrence may start any time on endDate */
		end += 86400 + each;
		return end > start ? end - start : -1;
	}
	if (strcasecmp(rt, "numbered") != 0 || pt == NULL)
		return -1;
	if ((nv = jget(range, "numberOfOccurrences")) == NULL ||
	    !json_object_is_type(nv, json_type_int) ||
	    (n = json_object_get_int64(nv)) <= 0 || n > 100000)
		return -1;
	if ((iv = jget(pat, "interval")) != NULL) {
		if (!json_object_is_type(iv, json_type_int) ||
		    (interval = json_object_get_int64(iv)) <= 0 ||
		    interval > 1000)
			return -1;
	}
	if (strcasecmp(pt, "daily") == 0)
		period = 86400;
	else if (strcasecmp(pt, "weekly") == 0)
		period = 7 * 86400;
	else if (strcasecmp(pt, "absoluteMonthly") == 0 ||
	         strcasecmp(pt, "relativeMonthly") == 0)
		period = 31 * 86400;
	else if (strcasecmp(pt, "absoluteYearly") == 0 ||
	         strcasecmp(pt, "relativeYearly") == 0)
		period = 366 * 86400;
	else
		return -1;
	/* weekly patterns may hold up to 7 occurrences a period: count the
	 * occurrences as periods, which over-counts, never under. */
	return n * interval * period + each;
}

/*
 * The whole span of access a schedule asks for (requestSchedule,
 * entitlementManagementSchedule: startDateTime, expiration
 * {type, duration, endDateTime}, recurrence). expirationPattern.type
 * decides which field counts (api-reference/v1.0/resources/
 * expirationpattern.md, requestschedule.md,
 * entitlementmanagementschedule.md): afterDuration -> duration, afterDateTime -> endDateTime,
 * noExpiration -> unbounded, notSpecified -> unbounded (the tenant's
 * setting decides: nothing we can bound). Without a type the one field
 * given counts; both must agree. An unknown type, a field that contradicts
 * the type, a malformed or zero length: sched_invalid, never approved by a
 * rule. A recurrence makes the span run to the end of its range.
 */
static void
parse_schedule(struct jctx *c, json_object *si, struct request *r)
{
	json_object *ex = jget(si, "expiration");
	json_object *rec = jget(si, "recurrence");
	const char *s, *type, *ds, *es;
	int64_t t, dur = -1, end = -1, span = -1;

	r->duration = -1;
	if ((s = jstr(c, si, "startDateTime")) != NULL) {
		if ((t = cfg_parse_timestamp(s)) < 0) {
			jerr(c, "bad startDateTime `%s`", s);
			return;
		}
		r->start = t;
	}
	if (rec != NULL && !json_object_is_type(rec, json_type_object)) {
		r->sched_invalid = 1;
		return;
	}
	/* An empty recurrence object (both parts null) is no recurrence. */
	if (rec != NULL &&
	    (jget(rec, "pattern") != NULL || jget(rec, "range") != NULL))
		r->recurring = 1;
	if (ex == NULL) {
		if (r->recurring)
			r->sched_invalid =
			    1; /* repeating what, for how long? */
		return;
	}
	if (!json_object_is_type(ex, json_type_object)) {
		r->sched_invalid = 1;
		return;
	}
	type = jstr(c, ex, "type");
	ds = jstr(c, ex, "duration");
	es = jstr(c, ex, "endDateTime");
	if (ds != NULL && (dur = cfg_parse_duration(ds)) <= 0)
		r->sched_invalid = 1; /* malformed or zero */
	if (es != NULL) {
		end = cfg_parse_timestamp(es);
		if (end < 0 || r->start <= 0 || end <= r->start)
			r->sched_invalid = 1;
		else
			end -= r->start;
	}
	if (type == NULL) {
		if (ds != NULL && es != NULL && dur != end)
			r->sched_invalid = 1;
		span = ds != NULL ? dur : es != NULL ? end : -1;
	} else if (strcasecmp(type, "afterDuration") == 0) {
		if (ds == NULL || (es != NULL && end != dur))
			r->sched_invalid = 1;
		span = dur;
	} else if (strcasecmp(type, "afterDateTime") == 0) {
		if (es == NULL || (ds != NULL && end != dur))
			r->sched_invalid = 1;
		span = end;
	} else if (strcasecmp(type, "noExpiration") == 0 ||
	           strcasecmp(type, "notSpecified") == 0) {
		if (ds != NULL || es != NULL)
			r->sched_invalid = 1;
		span = -1;
	} else {
		r->sched_invalid = 1;
	}
	if (r->sched_invalid) {
		r->duration = -1;
		return;
	}
	if (r->recurring && span > 0)
		span = recurrence_span(c, rec, r->start, span);
	r->duration = span;
}

static void
parse_common(struct jctx *c, json_object *o, struct request *r)
{
	json_object *ti = jget(o, "ticketInfo");
	json_object *cb = jget(jget(o, "createdBy"), "user");
	const char *s;

	jdup(c, &r->id, o, "id");
	jdup(c, &r->justification, o, "justification");
	jdup(c, &r->ticket_number, ti, "ticketNumber");
	jdup(c, &r->ticket_system, ti, "ticketSystem");
	jdup(c, &r->created_by, cb, "id");
	if ((s = jstr(c, o, "createdDateTime")) != NULL) {
		int64_t t = cfg_parse_timestamp(s);

		if (t < 0)
			jerr(c, "bad createdDateTime `%s`", s);
		else
			r->created = t;
	}
}

static void
parse_permissions(struct jctx *c, json_object *o, struct request *r)
{
	json_object *rp = jget(o, "requestedPermissions");
	json_object *ai = jget(rp, "actionInfo");
	json_object *asi = jget(rp, "authorizationSystemInfo");
	const char *t, *at, *sys;
	enum req_cloud cloud;

	if (rp == NULL) {
		jerr(c, "missing requestedPermissions");
		return;
	}
	if ((t = odata_type(c, rp)) == NULL) {
		jerr(c, "requestedPermissions has no @odata.type");
		return;
	}
	if (strcmp(t, "awsPermissionsDefinition") == 0)
		cloud = REQ_CLOUD_AWS;
	else if (strcmp(t, "singleResourceAzurePermissionsDefinition") == 0)
		cloud = REQ_CLOUD_AZURE;
	else if (strcmp(t, "singleResourceGcpPermissionsDefinition") == 0)
		cloud = REQ_CLOUD_GCP;
	else {
		jerr(c, "unknown requestedPermissions @odata.type `%s`", t);
		return;
	}
	r->cloud = cloud;
	if ((sys = jstr(c, asi, "authorizationSystemType")) != NULL &&
	    strcasecmp(sys, req_cloud_name(cloud)) != 0) {
		jerr(c, "authorizationSystemType `%s` contradicts @odata.type",
		    sys);
		return;
	}
	jdup(c, &r->system_id, asi, "authorizationSystemId");
	jdup(c, &r->requestor_upn, jget(rp, "identityInfo"), "externalId");
	/* Graph names no creator for these requests: the identity is what the
	 * requestor typed, to be resolved against the directory. */
	jdup(c, &r->requestor_key, jget(rp, "identityInfo"), "externalId");
	if (r->created_by && (r->requestor_id = strdup(r->created_by)) == NULL)
		jerr(c, "out of memory");
	if (ai == NULL || (at = odata_type(c, ai)) == NULL) {
		jerr(c, "actionInfo with an @odata.type is required");
		return;
	}
	if (cloud == REQ_CLOUD_AWS &&
	    strcmp(at, "awsPolicyPermissionsDefinitionAction") == 0) {
		r->kind = REQ_KIND_POLICY;
		jarray(c, ai, "policies", &r->policies, "id");
	} else if (cloud == REQ_CLOUD_AWS &&
	           strcmp(at, "awsActionsPermissionsDefinitionAction") == 0) {
		json_object *sts = jget(ai, "statements");
		size_t i, n;

		r->kind = REQ_KIND_ACTION;
		if (sts == NULL || !json_object_is_type(sts, json_type_array)) {
			jerr(c, "awsActionsPermissionsDefinitionAction needs "
			        "`statements`");
			return;
		}
		n = json_object_array_length(sts);
		for (i = 0; i < n && !c->failed; i++) {
			json_object *st = json_object_array_get_idx(sts, i);
			struct req_list tmp = { 0, NULL };

			jarray(c, st, "actions", &r->actions, NULL);
			jarray(c, st, "resources", &r->resources, NULL);
			/* fail closed: a "not" list grants everything else */
			if (jarray(c, st, "notActions", &tmp, NULL) > 0)
				list_add(c, &r->actions, "*");
			list_free(&tmp);
			if (jarray(c, st, "notResources", &tmp, NULL) > 0)
				list_add(c, &r->resources, "*");
			list_free(&tmp);
		}
	} else if (cloud != REQ_CLOUD_AWS &&
	           (strcmp(at, "azureRolePermissionsDefinitionAction") == 0 ||
	               strcmp(at, "gcpRolePermissionsDefinitionAction") == 0) &&
	           (at[0] == 'a') == (cloud == REQ_CLOUD_AZURE)) {
		r->kind = REQ_KIND_ROLE;
		jarray(c, ai, "roles", &r->roles, "id");
	} else if (cloud != REQ_CLOUD_AWS &&
	           (strcmp(at, "azureActionPermissionsDefinitionAction") == 0 ||
	               strcmp(at, "gcpActionPermissionsDefinitionAction") ==
	                   0) &&
	           (at[0] == 'a') == (cloud == REQ_CLOUD_AZURE)) {
		r->kind = REQ_KIND_ACTION;
		jarray(c, ai, "actions", &r->actions, NULL);
	} else {
		jerr(c,
		    "actionInfo @odata.type `%s` is unknown or does not fit "
		    "%s",
		    at, t);
		return;
	}
	jdup(c, &r->resource_id, rp, "resourceId");
	if (r->resource_id)
		list_add(c, &r->resources, r->resource_id);
	jdup(c, &r->status, o, "statusDetail");
	parse_schedule(c, jget(o, "scheduleInfo"), r);
}

static void
parse_group(struct jctx *c, json_object *o, struct request *r)
{
	r->kind = REQ_KIND_GROUP;
	jdup(c, &r->group_id, o, "groupId");
	jdup(c, &r->access, o, "accessId");
	jdup(c, &r->request_action, o, "action");
	jdup(c, &r->principal_id, o, "principalId");
	jdup(c, &r->status, o, "status");
	jdup(c, &r->approval_id, o, "approvalId");
	if (r->principal_id)
		r->requestor_id = strdup(r->principal_id);
	else if (r->created_by)
		r->requestor_id = strdup(r->created_by);
	/* The requestor is who created the request (an admin for adminAssign),
	 * the principal the one who gains access when that is someone else. */
	if (r->created_by != NULL) {
		r->requestor_key = strdup(r->created_by);
		if (r->principal_id != NULL &&
		    strcasecmp(r->principal_id, r->created_by) != 0)
			r->beneficiary_key = strdup(r->principal_id);
	} else if (r->principal_id != NULL) {
		r->requestor_key = strdup(r->principal_id);
	}
	if (r->group_id == NULL)
		jerr(c, "group request without groupId");
	parse_schedule(c, jget(o, "scheduleInfo"), r);
}

static void
parse_package(struct jctx *c, json_object *o, struct request *r)
{
	json_object *rq = jget(o, "requestor"), *pn;

	r->kind = REQ_KIND_PACKAGE;
	jdup(c, &r->request_action, o, "requestType");
	jdup(c, &r->status, o, "state");
	jdup(c, &r->status, o, "status");
	jdup(c, &r->package_id, jget(o, "assignment"), "accessPackageId");
	jdup(c, &r->package_id, jget(o, "accessPackage"), "id");
	/* A name is decoration: one that is not a string is left out,
	 * never a reason to refuse the request. */
	if ((pn = jget(jget(o, "accessPackage"), "displayName")) != NULL &&
	    json_object_is_type(pn, json_type_string))
		jdup(c, &r->package_name, jget(o, "accessPackage"),
		    "displayName");
	jdup(c, &r->requestor_id, rq, "objectId");
	jdup(c, &r->requestor_id, rq, "id");
	jdup(c, &r->requestor_upn, rq, "principalName");
	jdup(c, &r->requestor_upn, rq, "email");
	/* Who gets the access: v1.0's assignment.target (expanded), or the
	 * beta-only assignment.targetId of bodies stored before. */
	jdup(c, &r->principal_id, jget(jget(o, "assignment"), "target"),
	    "objectId");
	jdup(c, &r->principal_id, jget(o, "assignment"), "targetId");
	if (r->requestor_id != NULL)
		r->requestor_key = strdup(r->requestor_id);
	else if (r->created_by != NULL)
		r->requestor_key = strdup(r->created_by);
	if (r->principal_id != NULL &&
	    (r->requestor_key == NULL ||
	        strcasecmp(r->principal_id, r->requestor_key) != 0))
		r->beneficiary_key = strdup(r->principal_id);
	if (r->package_id == NULL)
		jerr(c, "access package request without an access package id");
	parse_schedule(c, jget(o, "schedule"), r);
}

static int
infer_source(json_object *o)
{
	if (jget(o, "requestedPermissions"))
		return REQ_SRC_PERMISSIONS;
	if (jget(o, "groupId") || jget(o, "accessId"))
		return REQ_SRC_GROUP;
	if (jget(o, "requestType") || jget(o, "accessPackage") ||
	    jget(o, "assignment"))
		return REQ_SRC_ACCESS_PACKAGE;
	return -1;
}

int
request_from_json(const char *json, size_t len, enum req_source source,
    struct request *out, char **err)
{
	struct jctx c = { err, 0 };
	struct json_tokener *tok = NULL;
	json_object *o = NULL;
	const char *t;
	int src;

	memset(out, 0, sizeof(*out));
	out->duration = -1;
	out->who.guest = out->beneficiary.guest = -1;
	if (err)
		*err = NULL;
	if (len > CFG_MAX_FILE_SIZE) {
		jerr(&c, "request body too large");
		goto fail;
	}
	if ((tok = json_tokener_new_ex(64)) == NULL) {
		jerr(&c, "out of memory");
		goto fail;
	}
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset < (int)len) {
		size_t off = (size_t)tok->char_offset;

		while (o != NULL && off < len &&
		       strchr(" \t\r\n", json[off]) != NULL)
			off++;
		if (o == NULL || off < len) {
			jerr(&c, "bad JSON: %s",
			    o == NULL ? json_tokener_error_desc(
			                    json_tokener_get_error(tok))
			              : "trailing data");
			goto fail;
		}
	}
	if (!json_object_is_type(o, json_type_object)) {
		jerr(&c, "request body must be a JSON object");
		goto fail;
	}
	src = infer_source(o);
	if ((t = odata_type(&c, o)) != NULL) {
		if (strcmp(t, "scheduledPermissionsRequest") == 0)
			src = REQ_SRC_PERMISSIONS;
		else if (strcmp(t, "privilegedAccessGroupAssignmentScheduleRequ"
		                   "est") == 0)
			src = REQ_SRC_GROUP;
		else if (strcmp(t, "accessPackageAssignmentRequest") == 0)
			src = REQ_SRC_ACCESS_PACKAGE;
		else {
			jerr(&c, "unknown request @odata.type `%s`", t);
			goto fail;
		}
	}
	if (source != REQ_SRC_MAX) {
		if (src >= 0 && src != (int)source) {
			jerr(&c, "body is a %s request, not %s",
			    req_source_name((enum req_source)src),
			    req_source_name(source));
			goto fail;
		}
		src = (int)source;
	}
	if (src < 0) {
		jerr(&c, "cannot tell the request kind; use --source");
		goto fail;
	}
	out->source = (enum req_source)src;
	parse_common(&c, o, out);
	if (src == REQ_SRC_PERMISSIONS)
		parse_permissions(&c, o, out);
	else if (src == REQ_SRC_GROUP)
		parse_group(&c, o, out);
	else
		parse_package(&c, o, out);
	if (!c.failed && out->approval_id == NULL && out->id != NULL &&
	    (out->approval_id = strdup(out->id)) == NULL)
		jerr(&c, "out of memory");
	if (c.failed)
		goto fail;
	json_object_put(o);
	json_tokener_free(tok);
	return 0;
fail:
	if (!c.failed)
		jerr(&c, "invalid request");
	json_object_put(o);
	if (tok)
		json_tokener_free(tok);
	request_free(out);
	out->duration = -1;
	return -1;
}

static void
dg_str(EVP_MD_CTX *md, const char *name, const char *s)
{
	char hdr[96];
	int n;

	if (s == NULL)
		n = snprintf(hdr, sizeof(hdr), "%s=-\n", name);
	else
		n = snprintf(hdr, sizeof(hdr), "%s=%zu:", name, strlen(s));
	EVP_DigestUpdate(md, hdr, (size_t)n);
	if (s != NULL) {
		EVP_DigestUpdate(md, s, strlen(s));
		EVP_DigestUpdate(md, "\n", 1);
	}
}

static void
dg_list(EVP_MD_CTX *md, const char *name, const struct req_list *l)
{
	char hdr[96];
	size_t i;
	int n = snprintf(hdr, sizeof(hdr), "%s#%zu\n", name, l->n);

	EVP_DigestUpdate(md, hdr, (size_t)n);
	for (i = 0; i < l->n; i++)
		dg_str(md, name, l->v[i]);
}

static void
dg_int(EVP_MD_CTX *md, const char *name, long long v)
{
	char hdr[96];
	int n = snprintf(hdr, sizeof(hdr), "%s=%lld\n", name, v);

	EVP_DigestUpdate(md, hdr, (size_t)n);
}

/* SHA-256 over a length-prefixed serialization of policy-visible fields. */
void
request_digest(const struct request *r, char out[65])
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0, i;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	out[0] = '\0';
	if (md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return;
	}
	dg_str(md, "v", "approvald-request-1");
	dg_int(md, "source", r->source);
	dg_int(md, "cloud", r->cloud);
	dg_int(md, "kind", r->kind);
	dg_str(md, "system", r->system_id);
	dg_list(md, "actions", &r->actions);
	dg_list(md, "roles", &r->roles);
	dg_list(md, "policies", &r->policies);
	dg_list(md, "resources", &r->resources);
	dg_str(md, "resource_id", r->resource_id);
	dg_str(md, "requestor_id", r->requestor_id);
	dg_str(md, "requestor_upn", r->requestor_upn);
	dg_int(md, "start", r->start);
	dg_int(md, "duration", r->duration);
	dg_int(md, "sched_invalid", r->sched_invalid);
	dg_int(md, "recurring", r->recurring);
	/* The body's identity keys, not their resolution: the digest tells
	 * whether Graph's copy of the request changed (daemon/effects/exec.c reads it
	 * back before approving), and a fresh read is never resolved. */
	dg_str(md, "requestor_key", r->requestor_key);
	dg_str(md, "beneficiary_key", r->beneficiary_key);
	dg_str(md, "ticket_system", r->ticket_system);
	dg_str(md, "ticket_number", r->ticket_number);
	dg_str(md, "justification", r->justification);
	dg_str(md, "group", r->group_id);
	dg_str(md, "access", r->access);
	dg_str(md, "request_action", r->request_action);
	dg_str(md, "principal", r->principal_id);
	dg_str(md, "package", r->package_id);
	dg_str(md, "created_by", r->created_by);
	EVP_DigestFinal_ex(md, h, &hl);
	EVP_MD_CTX_free(md);
	for (i = 0; i < hl && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}
