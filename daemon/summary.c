/*
 * What a request asks for, in one JSON object shared by the notification
 * formats (notify_msg.c) and the decision page (links.c): what is asked,
 * by whom, why, the ticket, the rule, and where the stages stand (who
 * approved, how many are needed, until when).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "approvald.h"
#include "ident.h"
#include "member.h"

#define SUMMARY_ITEMS 5 /* items named in the one-line summary */

static void
summary_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(
	    o, k, v != NULL ? json_object_new_string(v) : NULL);
}

/* "2026-01-02T03:04:05Z" into buf. */
void
summary_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *
summary_cloud(enum req_cloud c)
{
	switch (c) {
	case REQ_CLOUD_AWS:
		return "AWS";
	case REQ_CLOUD_AZURE:
		return "Azure";
	case REQ_CLOUD_GCP:
		return "GCP";
	default:
		return "";
	}
}

/* Append up to SUMMARY_ITEMS of `l` to the buffer, "+N more" after. */
static void
summary_items(char *buf, size_t len, const struct req_list *l)
{
	size_t i, n = strlen(buf);

	for (i = 0; i < l->n && i < SUMMARY_ITEMS && n < len; i++)
		n += (size_t)snprintf(
		    buf + n, len - n, "%s%s", i ? ", " : "", l->v[i]);
	if (l->n > SUMMARY_ITEMS && n < len)
		snprintf(
		    buf + n, len - n, " (+%zu more)", l->n - SUMMARY_ITEMS);
}

/* One line: "Azure role 1234, 5678 on /subscriptions/... for PT1H". */
static void
summary_asks(const struct request *q, char *buf, size_t len)
{
	const struct req_list *l = NULL;
	const char *what = "access";
	char dur[64];
	size_t n;

	buf[0] = '\0';
	switch (q->kind) {
	case REQ_KIND_POLICY:
		l = &q->policies, what = "policy";
		break;
	case REQ_KIND_ACTION:
		l = &q->actions, what = "actions";
		break;
	case REQ_KIND_ROLE:
		l = &q->roles, what = "role";
		break;
	default:
		break;
	}
	if (q->source == REQ_SRC_GROUP)
		snprintf(buf, len, "%s of group %s (%s)",
		    q->access ? q->access : "member",
		    q->group_id ? q->group_id : "?",
		    q->request_action ? q->request_action : "?");
	else if (l != NULL) {
		snprintf(buf, len, "%s %s ", summary_cloud(q->cloud), what);
		summary_items(buf, len, l);
		n = strlen(buf);
		if (q->resource_id != NULL)
			snprintf(buf + n, len - n, " on %s", q->resource_id);
		else if (q->system_id != NULL)
			snprintf(buf + n, len - n, " in %s", q->system_id);
	} else
		snprintf(buf, len, "%s request %s", req_source_name(q->source),
		    q->id ? q->id : "");
	n = strlen(buf);
	if (q->duration > 0) {
		cfg_format_duration(q->duration, dur, sizeof(dur));
		snprintf(buf + n, len - n, " for %s", dur);
	}
}

static struct json_object *
summary_list(const struct req_list *l)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < l->n; i++)
		json_object_array_add(a, json_object_new_string(l->v[i]));
	return a;
}

static struct json_object *
summary_principal(const struct sm_principal *p)
{
	struct json_object *o = json_object_new_object();

	summary_str(o, "id", p->id[0] ? p->id : NULL);
	summary_str(o, "upn", p->upn[0] ? p->upn : NULL);
	return o;
}

static struct json_object *
summary_req_principal(const struct req_principal *p)
{
	struct json_object *o = json_object_new_object();

	summary_str(o, "id", p->id);
	summary_str(o, "upn", p->upn);
	summary_str(o, "mail", p->mail);
	if (p->guest >= 0)
		json_object_object_add(
		    o, "guest", json_object_new_boolean(p->guest));
	return o;
}

/* Whether the directory knows who asked: state, the body's keys, the
 * resolved principals, and for an unverified request the warning every
 * message and the decision page carry. */
static struct json_object *
summary_identity(const struct request *q)
{
	struct json_object *o = json_object_new_object();
	const char *bad = ident_unresolved_key(q);
	char warn[512];

	summary_str(o, "state", req_identity_name(q->identity));
	summary_str(o, "requestor_key", q->requestor_key);
	summary_str(o, "beneficiary_key", q->beneficiary_key);
	if (q->who.id != NULL)
		json_object_object_add(
		    o, "who", summary_req_principal(&q->who));
	if (q->beneficiary.id != NULL)
		json_object_object_add(
		    o, "beneficiary", summary_req_principal(&q->beneficiary));
	if (bad != NULL) {
		snprintf(warn, sizeof(warn),
		    "identity unverified: %s could not be resolved to one "
		    "directory user",
		    bad);
		summary_str(o, "warning", warn);
	} else if (q->identity == REQ_ID_UNCHECKED)
		summary_str(o, "warning",
		    "identity not checked yet: nobody should act on this "
		    "request");
	return o;
}

/* The current stage: index, name, quorum, who approved, deadline. */
static struct json_object *
summary_stage(const struct store_request *r, const struct verdict *v)
{
	const struct sm_request *sm = &r->sm;
	struct json_object *o = json_object_new_object(), *a, *later;
	const struct sm_stage_record *rec;
	char t[32];
	uint32_t i;

	json_object_object_add(
	    o, "index", json_object_new_int((int)sm->stage + 1));
	json_object_object_add(o, "of", json_object_new_int((int)sm->nstages));
	summary_str(o, "name",
	    v != NULL && sm->stage < v->nstages ? v->stages[sm->stage].name
	                                        : NULL);
	json_object_object_add(o, "needed",
	    json_object_new_int((int)sm->params[sm->stage].approvals));
	json_object_object_add(o, "justification_required",
	    json_object_new_boolean(
	        sm->params[sm->stage].justification_required));
	rec = &sm->record[sm->stage];
	a = json_object_new_array();
	for (i = 0; i < rec->napprovals && i < SM_MAX_APPROVALS; i++)
		json_object_array_add(a, summary_principal(&rec->approvers[i]));
	json_object_object_add(o, "approved_by", a);
	if (sm->deadline != 0) {
		summary_time(sm->deadline, t, sizeof(t));
		summary_str(o, "deadline", t);
	} else
		summary_str(o, "deadline", NULL);
	json_object_object_add(o, "escalated",
	    json_object_new_boolean(sm->state == SM_S_ESCALATED));
	later = json_object_new_array();
	for (i = sm->stage + 1; i < sm->nstages; i++)
		json_object_array_add(later,
		    json_object_new_string(
		        v != NULL && i < v->nstages && v->stages[i].name != NULL
		            ? v->stages[i].name
		            : "(unnamed)"));
	json_object_object_add(o, "later", later);
	return o;
}

/*
 * Build the summary of request `r` (borrowed). The caller owns the
 * returned object (json_object_put). NULL only when out of memory.
 */
struct json_object *
summary_build(struct daemon *d, const struct store_request *r)
{
	struct json_object *o, *t;
	struct request q;
	struct verdict v;
	char asks[1024], *err = NULL;
	int have = 0;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	memset(&q, 0, sizeof(q));
	memset(&v, 0, sizeof(v));
	if (ident_request(r, &q, &err) == 0)
		have = 1;
	free(err);
	summary_str(o, "key", r->key);
	summary_str(o, "source", req_source_name((enum req_source)r->source));
	summary_str(o, "id", r->gid);
	if (have) {
		summary_asks(&q, asks, sizeof(asks));
		summary_str(o, "asks", asks);
		summary_str(o, "cloud",
		    q.cloud != REQ_CLOUD_NONE ? req_cloud_name(q.cloud) : NULL);
		summary_str(o, "kind", req_kind_name(q.kind));
		summary_str(o, "system", q.system_id);
		summary_str(o, "resource", q.resource_id);
		json_object_object_add(o, "actions", summary_list(&q.actions));
		json_object_object_add(o, "roles", summary_list(&q.roles));
		json_object_object_add(
		    o, "policies", summary_list(&q.policies));
		json_object_object_add(
		    o, "resources", summary_list(&q.resources));
		if (q.duration > 0) {
			cfg_format_duration(q.duration, asks, sizeof(asks));
			summary_str(o, "duration", asks);
		} else
			summary_str(o, "duration", NULL);
		summary_str(o, "justification", q.justification);
		if (q.ticket_number != NULL || q.ticket_system != NULL) {
			t = json_object_new_object();
			summary_str(t, "system", q.ticket_system);
			summary_str(t, "number", q.ticket_number);
			snprintf(asks, sizeof(asks), "%s%s%s",
			    q.ticket_system ? q.ticket_system : "",
			    q.ticket_system && q.ticket_number ? " " : "",
			    q.ticket_number ? q.ticket_number : "");
			summary_str(t, "text", asks);
			json_object_object_add(o, "ticket", t);
		} else
			summary_str(o, "ticket", NULL);
		json_object_object_add(o, "identity", summary_identity(&q));
		/* The stage names, from the rule that decided, on the
		 * identity it decided on (never an unchecked one). */
		if (r->sm.nstages > 0 && q.identity != REQ_ID_UNCHECKED) {
			struct member_ctx mc = { d, NULL };

			policy_evaluate(d->policy, &q, engine_now(),
			    member_policy_fn, &mc, &v, NULL);
		}
	} else
		summary_str(o, "asks", "(the request could not be read)");
	json_object_object_add(
	    o, "requestor", summary_principal(&r->sm.requestor));
	if (have && q.beneficiary.id != NULL)
		json_object_object_add(
		    o, "beneficiary", summary_req_principal(&q.beneficiary));
	summary_str(o, "rule", r->rule);
	summary_str(o, "reason", r->reason);
	summary_str(o, "state", sm_state_name(r->sm.state));
	if (r->sm.nstages > 0 && r->sm.stage < r->sm.nstages)
		json_object_object_add(o, "stage",
		    summary_stage(r, v.kind == VERDICT_STAGES && v.rule &&
		                             r->rule &&
		                             strcmp(v.rule, r->rule) == 0
		                         ? &v
		                         : NULL));
	request_free(&q);
	return o;
}

/* Member `k` of `o` as a string, or NULL. */
const char *
summary_get(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

const char *
summary_who(struct json_object *p)
{
	const char *s = summary_get(p, "upn");

	if (s == NULL)
		s = summary_get(p, "id");
	return s != NULL ? s : "(unknown)";
}

/* Member `k` of `o` as an integer, or `def`. */
int
summary_int(struct json_object *o, const char *k, int def)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_int))
		return def;
	return json_object_get_int(v);
}

/*
 * Eligible approvers of `stage` who have not approved it yet, as an array
 * of {id, upn, escalation}; `only_primary` leaves the escalation set out.
 * Owned by the caller.
 */
struct json_object *
summary_approvers(struct daemon *d, const struct store_request *r,
    uint32_t stage, int only_primary)
{
	struct json_object *a = json_object_new_array(), *e;
	const struct sm_stage_record *rec =
	    stage < SM_MAX_STAGES ? &r->sm.record[stage] : NULL;
	struct sm_principal p;
	sqlite3_stmt *st = NULL;
	const unsigned char *id, *upn;
	uint32_t i;
	int done;

	if (a == NULL ||
	    sqlite3_prepare_v2(store_db(d->store),
	        "SELECT id, upn, escalation FROM stage_approvers WHERE "
	        "key = ?1 AND stage = ?2 ORDER BY escalation, upn, id",
	        -1, &st, NULL) != SQLITE_OK)
		return a;
	sqlite3_bind_text(st, 1, r->key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, (int)stage);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (only_primary && sqlite3_column_int(st, 2))
			continue;
		id = sqlite3_column_text(st, 0);
		upn = sqlite3_column_text(st, 1);
		memset(&p, 0, sizeof(p));
		snprintf(p.id, sizeof(p.id), "%s", id ? (const char *)id : "");
		snprintf(
		    p.upn, sizeof(p.upn), "%s", upn ? (const char *)upn : "");
		for (i = 0, done = 0;
		     rec != NULL && i < rec->napprovals && i < SM_MAX_APPROVALS;
		     i++)
			if (sm_same_principal(&p, &rec->approvers[i]))
				done = 1;
		if (done)
			continue;
		e = summary_principal(&p);
		json_object_object_add(e, "escalation",
		    json_object_new_boolean(sqlite3_column_int(st, 2)));
		json_object_array_add(a, e);
	}
	sqlite3_finalize(st);
	return a;
}
