/*
 * What a request asks for, in one JSON object shared by the notification
 * formats (notify_msg.c) and the decision page (links.c): what is asked,
 * by whom, why, the ticket, the rule, and where the stages stand (who
 * approved, how many are needed, until when). People, groups and access
 * packages carry their display names next to their raw ids, durations
 * and deadlines a human text next to the ISO 8601 value; names are
 * decoration (ident_name: never waited for), the raw values always stay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "effects.h"
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

/*
 * "Fri 4 Dec 14:00 UTC" into buf, without the process's locale (strftime's
 * %a and %b would follow LC_TIME).
 */
void
summary_when(int64_t t, char *buf, size_t len)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%s %d %s %02d:%02d UTC", wd[tm.tm_wday], tm.tm_mday,
	    mon[tm.tm_mon], tm.tm_hour, tm.tm_min);
}

/* "1 hour", "2 hours 30 minutes", "7 days", "45 seconds" into buf. */
void
summary_human_duration(int64_t s, char *buf, size_t len)
{
	static const struct {
		int64_t secs;
		const char *one, *many;
	} u[] = { { 86400, "day", "days" }, { 3600, "hour", "hours" },
		{ 60, "minute", "minutes" }, { 1, "second", "seconds" } };
	size_t i, n = 0;
	int64_t v;

	buf[0] = '\0';
	if (s <= 0) {
		snprintf(buf, len, "0 seconds");
		return;
	}
	for (i = 0; i < sizeof(u) / sizeof(u[0]) && n < len; i++) {
		if ((v = s / u[i].secs) == 0)
			continue;
		s -= v * u[i].secs;
		n += (size_t)snprintf(buf + n, len - n, "%s%lld %s",
		    n ? " " : "", (long long)v, v == 1 ? u[i].one : u[i].many);
	}
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
summary_asks(struct daemon *d, const struct request *q, char *buf, size_t len)
{
	const char *gname = NULL;
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
	if (q->source == REQ_SRC_GROUP) {
		if (q->group_id != NULL)
			gname = ident_name(d, 1, q->group_id);
		if (gname != NULL)
			snprintf(buf, len, "%s of group %s (%s), %s",
			    q->access ? q->access : "member", gname,
			    q->group_id,
			    q->request_action ? q->request_action : "?");
		else
			snprintf(buf, len, "%s of group %s (%s)",
			    q->access ? q->access : "member",
			    q->group_id ? q->group_id : "?",
			    q->request_action ? q->request_action : "?");
	} else if (q->kind == REQ_KIND_PACKAGE && q->package_id != NULL)
		snprintf(buf, len, "access package %s%s%s%s",
		    q->package_name ? q->package_name : "",
		    q->package_name ? " (" : "", q->package_id,
		    q->package_name ? ")" : "");
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

/* "Name (upn)", or the upn, or the id, as "display" of principal `o`. */
static void
summary_display(struct json_object *o)
{
	const char *name = summary_get(o, "name"), *upn = summary_get(o, "upn"),
	           *id = summary_get(o, "id");
	char buf[1024];

	if (upn == NULL)
		upn = id;
	if (name != NULL && upn != NULL)
		snprintf(buf, sizeof(buf), "%s (%s)", name, upn);
	else
		snprintf(buf, sizeof(buf), "%s",
		    upn    ? upn
		    : name ? name
		           : "(unknown)");
	summary_str(o, "display", buf);
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

/* {id, upn, name, display}; the name is `name` or the directory's (from
 * the cache alone unless `lookup`). */
static struct json_object *
summary_principal(struct daemon *d, const struct sm_principal *p,
    const char *name, int lookup)
{
	struct json_object *o = json_object_new_object();

	summary_str(o, "id", p->id[0] ? p->id : NULL);
	summary_str(o, "upn", p->upn[0] ? p->upn : NULL);
	if (name == NULL && p->id[0])
		name = lookup ? ident_name(d, 0, p->id)
		              : ident_name_cached(d, 0, p->id);
	summary_str(o, "name", name);
	summary_display(o);
	return o;
}

static struct json_object *
summary_req_principal(const struct req_principal *p)
{
	struct json_object *o = json_object_new_object();

	summary_str(o, "id", p->id);
	summary_str(o, "upn", p->upn);
	summary_str(o, "mail", p->mail);
	summary_str(o, "name", p->name);
	if (p->guest >= 0)
		json_object_object_add(
		    o, "guest", json_object_new_boolean(p->guest));
	summary_display(o);
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

struct summary_decided {
	const char *want;
	int64_t at;
};

static int
summary_decided_cb(void *arg, int64_t at, const char *detail)
{
	struct summary_decided *q = arg;

	if (strncmp(detail, q->want, strlen(q->want)) != 0)
		return 0;
	q->at = at;
	return 1;
}

/* When `p` approved stage `stage` (0-based): the journal's decision row
 * ("approve by WHO (stage N)..."), 0 when not found. */
static int64_t
summary_decided_at(struct daemon *d, const struct store_request *r,
    uint32_t stage, const struct sm_principal *p)
{
	char want[SM_ID_MAX + 64];
	struct summary_decided q;

	snprintf(want, sizeof(want), "approve by %s (stage %u)",
	    p->upn[0] ? p->upn : p->id, stage + 1);
	q.want = want;
	q.at = 0;
	if (store_journal_approvals(d->store, r->key, summary_decided_cb, &q) ==
	    -1)
		return 0;
	return q.at;
}

/* Who approved stage `stage`: [{id, upn, name, display, at, at_text}]. */
static struct json_object *
summary_approved_by(
    struct daemon *d, const struct store_request *r, uint32_t stage)
{
	const struct sm_stage_record *rec = &r->sm.record[stage];
	struct json_object *a = json_object_new_array(), *e;
	char t[64];
	int64_t at;
	uint32_t i;

	for (i = 0; i < rec->napprovals && i < SM_MAX_APPROVALS; i++) {
		e = summary_principal(d, &rec->approvers[i], NULL, 1);
		if ((at = summary_decided_at(d, r, stage, &rec->approvers[i])) >
		    0) {
			summary_time(at, t, sizeof(t));
			summary_str(e, "at", t);
			summary_when(at, t, sizeof(t));
			summary_str(e, "at_text", t);
		}
		json_object_array_add(a, e);
	}
	return a;
}

static const char *
summary_stage_name(const struct verdict *v, uint32_t i)
{
	return v != NULL && i < v->nstages ? v->stages[i].name : NULL;
}

/* The current stage: index, name, quorum, who approved, deadline; the
 * stages before it with who approved them and when. */
static struct json_object *
summary_stage(
    struct daemon *d, const struct store_request *r, const struct verdict *v)
{
	const struct sm_request *sm = &r->sm;
	struct json_object *o = json_object_new_object(), *later, *done, *e;
	char t[64];
	uint32_t i;

	json_object_object_add(
	    o, "index", json_object_new_int((int)sm->stage + 1));
	json_object_object_add(o, "of", json_object_new_int((int)sm->nstages));
	summary_str(o, "name", summary_stage_name(v, sm->stage));
	json_object_object_add(o, "needed",
	    json_object_new_int((int)sm->params[sm->stage].approvals));
	json_object_object_add(o, "justification_required",
	    json_object_new_boolean(
	        sm->params[sm->stage].justification_required));
	json_object_object_add(
	    o, "approved_by", summary_approved_by(d, r, sm->stage));
	if (sm->deadline != 0) {
		summary_time(sm->deadline, t, sizeof(t));
		summary_str(o, "deadline", t);
		summary_when(sm->deadline, t, sizeof(t));
		summary_str(o, "deadline_text", t);
	} else {
		summary_str(o, "deadline", NULL);
		summary_str(o, "deadline_text", NULL);
	}
	json_object_object_add(o, "escalated",
	    json_object_new_boolean(sm->state == SM_S_ESCALATED));
	done = json_object_new_array();
	for (i = 0; i < sm->stage && i < SM_MAX_STAGES; i++) {
		e = json_object_new_object();
		json_object_object_add(
		    e, "index", json_object_new_int((int)i + 1));
		summary_str(e, "name", summary_stage_name(v, i));
		json_object_object_add(
		    e, "approved_by", summary_approved_by(d, r, i));
		json_object_array_add(done, e);
	}
	json_object_object_add(o, "earlier", done);
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
	struct policy_stages *st = NULL;
	const char *why = NULL;
	char asks[1024], *err = NULL;
	int have = 0;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	memset(&q, 0, sizeof(q));
	if (ident_request(r, &q, &err) == 0)
		have = 1;
	free(err);
	summary_str(o, "key", r->key);
	summary_str(o, "source", req_source_name((enum req_source)r->source));
	summary_str(o, "id", r->gid);
	if (have) {
		summary_asks(d, &q, asks, sizeof(asks));
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
			summary_human_duration(q.duration, asks, sizeof(asks));
			summary_str(o, "duration_text", asks);
		} else {
			summary_str(o, "duration", NULL);
			summary_str(o, "duration_text", NULL);
		}
		if (q.source == REQ_SRC_GROUP && q.group_id != NULL) {
			t = json_object_new_object();
			summary_str(t, "id", q.group_id);
			summary_str(t, "name", ident_name(d, 1, q.group_id));
			json_object_object_add(o, "group", t);
		}
		if (q.package_id != NULL) {
			t = json_object_new_object();
			summary_str(t, "id", q.package_id);
			summary_str(t, "name", q.package_name);
			json_object_object_add(o, "access_package", t);
		}
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
	} else
		summary_str(o, "asks", "(the request could not be read)");
	/* The requestor's name as the directory resolved it, when it is the
	 * same user; else (or before that) the name cache's. */
	json_object_object_add(o, "requestor",
	    summary_principal(d, &r->sm.requestor,
	        have && q.who.id != NULL && q.who.name != NULL &&
	                strcasecmp(q.who.id, r->sm.requestor.id) == 0
	            ? q.who.name
	            : NULL,
	        1));
	if (have && q.beneficiary.id != NULL)
		json_object_object_add(
		    o, "beneficiary", summary_req_principal(&q.beneficiary));
	summary_str(o, "rule", r->rule);
	summary_str(o, "reason", r->reason);
	summary_str(o, "state", sm_state_name(r->sm.state));
	/* The stage names as the verdict that decided gave them (stored
	 * with it; never the policy evaluated again now). */
	if (r->sm.nstages > 0 && r->sm.stage < r->sm.nstages)
		json_object_object_add(o, "stage",
		    summary_stage(d, r,
		        stages_of(d, r, have ? &q : NULL, &st, &why) == 0
		            ? &st->v
		            : NULL));
	policy_stages_free(st);
	request_free(&q);
	return o;
}

/* Member `k` of `o` as a string, or NULL. */
const char *
summary_get(struct json_object *o, const char *k)
{
	return parse_str(o, k);
}

/* "Name (upn)", else the upn or the id: borrowed from p. */
const char *
summary_who(struct json_object *p)
{
	const char *s = summary_get(p, "display");

	if (s == NULL)
		s = summary_get(p, "upn");
	if (s == NULL)
		s = summary_get(p, "id");
	return s != NULL ? s : "(unknown)";
}

/* "A (a@x) at Fri 4 Dec 14:00 UTC, B (b@x)": the principals of array `a`
 * (heap, "" for none; NULL out of memory). */
char *
summary_names(struct json_object *a)
{
	struct json_object *e;
	char *s = strdup(""), *n;
	const char *at;
	size_t i;

	for (i = 0; s != NULL && a != NULL &&
	            json_object_is_type(a, json_type_array) &&
	            i < json_object_array_length(a);
	     i++) {
		e = json_object_array_get_idx(a, i);
		at = summary_get(e, "at_text");
		if (asprintf(&n, "%s%s%s%s%s", s, i ? ", " : "", summary_who(e),
		        at ? " at " : "", at ? at : "") == -1)
			n = NULL;
		free(s);
		s = n;
	}
	return s;
}

/* Member `k` of `o` as an integer, or `def`. */
int
summary_int(struct json_object *o, const char *k, int def)
{
	int64_t v;

	if (parse_int64(o, k, &v) == -1 || (int64_t)(int)v != v)
		return def;
	return (int)v;
}

struct summary_pending {
	struct daemon *d;
	const struct sm_stage_record *rec;
	int only_primary;
	struct json_object *a;
};

static int
summary_pending_cb(void *arg, const struct store_approver *sa)
{
	struct summary_pending *q = arg;
	const struct sm_stage_record *rec = q->rec;
	struct json_object *e;
	struct sm_principal p;
	uint32_t i;
	int done;

	if (q->only_primary && sa->escalation)
		return 0;
	memset(&p, 0, sizeof(p));
	snprintf(p.id, sizeof(p.id), "%s", sa->id);
	snprintf(p.upn, sizeof(p.upn), "%s", sa->upn);
	for (i = 0, done = 0;
	     rec != NULL && i < rec->napprovals && i < SM_MAX_APPROVALS; i++)
		if (sm_same_principal(&p, &rec->approvers[i]))
			done = 1;
	if (done)
		return 0;
	/* A set can be a large group: names from the cache only (the
	 * approver lookup put them there), never a Graph call per member. */
	e = summary_principal(q->d, &p, NULL, 0);
	json_object_object_add(
	    e, "escalation", json_object_new_boolean(sa->escalation));
	json_object_array_add(q->a, e);
	return 0;
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
	struct summary_pending q;

	q.d = d;
	q.rec = stage < SM_MAX_STAGES ? &r->sm.record[stage] : NULL;
	q.only_primary = only_primary;
	if ((q.a = json_object_new_array()) == NULL)
		return NULL;
	store_approvers_each(d->store, r->key, stage,
	    STORE_APPROVERS_BY_ESCALATION, summary_pending_cb, &q);
	return q.a;
}
