/*
 * Entitlement management (v1.0): access packages, their assignment
 * policies, assignment requests and the approvals of those requests, with
 * Graph's own stage behaviour (seed 002):
 *
 * - a stage's eligible approvers are its primaries (singleUser,
 *   groupMembers, requestorManager level 1 or 2; sponsors resolve to nobody
 *   here) minus the requestor, or its fallback approvers when that leaves
 *   nobody, resolved when the stage starts;
 * - after durationBeforeEscalation without a decision the escalation
 *   approvers (or their fallback) are added; primaries may still decide;
 * - after durationBeforeAutomaticDenial without a decision the request is
 *   denied (status Expired), on the emulator clock;
 * - one approval completes a stage; any denial ends the request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"

#define EM            "v1.0/identityGovernance/entitlementManagement/"
#define AP_MAX_STAGES 3
#define AP_MAX_JUST   500

enum subj_kind { SUBJ_USER, SUBJ_GROUP, SUBJ_MANAGER, SUBJ_NOBODY };

struct subj {
	enum subj_kind kind;
	char *id;  /* user / group id */
	int level; /* manager level */
};

struct subjects {
	struct subj *v;
	size_t n;
};

struct ap_stage_pol {
	int64_t deny_after;     /* 0: never */
	int64_t escalate_after; /* 0: no escalation */
	bool justification;
	struct subjects primary, fallback, escalation, fallback_escalation;
};

struct ap_policy {
	char *id;
	char *package_id;
	json_object *obj; /* as loaded, with its id (owned) */
	bool approval_add, approval_update;
	/* requestorSettings: who may ask on behalf of another user
	 * (accessPackageAssignmentRequestorSettings: onBehalfRequestors,
	 * targetManager / singleUser subject sets) */
	bool on_behalf_add;
	int on_behalf_manager; /* targetManager managerLevel; 0 none */
	char *on_behalf_users[8];
	size_t n_on_behalf_users;
	size_t nstages;
	struct ap_stage_pol stages[AP_MAX_STAGES];
};

struct ap_package {
	char *id;
	json_object *obj; /* {id, displayName, description} (owned) */
};

struct access {
	struct ap_package *pkgs;
	size_t npkgs;
	struct ap_policy *pols;
	size_t npols;
	int64_t delivery_delay;
};

struct ap_stage_run {
	char id[EMU_ID_LEN];
	enum step_status status;
	enum review review;
	char reviewer_id[EMU_ID_LEN + 64];
	int64_t started, reviewed;
	char *justification;
	char **approvers; /* eligible now: ids of users */
	size_t napprovers;
	bool escalated;
};

struct ap_req {
	const struct ap_policy *pol;
	char target_id[EMU_ID_LEN + 64]; /* the requestor: who gains access */
	size_t nstarted;                 /* stages begun; current is last */
	struct ap_stage_run st[AP_MAX_STAGES];
};

static const char *const ap_state[RS_MAX] = {
	[RS_AP_PENDING] = "pendingApproval",
	[RS_AP_DELIVERING] = "delivering",
	[RS_AP_DELIVERED] = "delivered",
	[RS_AP_DENIED] = "denied",
	[RS_AP_CANCELED] = "canceled",
};

static const char *const ap_status[RS_MAX] = {
	[RS_AP_PENDING] = "PendingApproval",
	[RS_AP_DELIVERING] = "Delivering",
	[RS_AP_DELIVERED] = "Delivered",
	[RS_AP_DENIED] = "Denied",
	[RS_AP_CANCELED] = "Canceled",
};

/* requestType values a caller may create; the rest are Graph's own. */
static const char *const req_types[] = { "userAdd", "userExtend", "userUpdate",
	"userRemove", "adminAdd", "adminUpdate", "adminRemove", NULL };

/* Navigation properties, returned only when $expand names them. */
static const char *const navs[] = { "accessPackage", "requestor", "assignment",
	NULL };
/* The one nested expansion: the assignment's target. */
#define EXPAND_ASSIGNMENT_TARGET (1u << 8)

static const char *const step_status_names[] = { "InProgress", "Completed",
	"Expired" };
static const char *const review_names[] = { "NotReviewed", "Approved",
	"Denied" };

static const char *
jstr(json_object *o, const char *k)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
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

static bool
jbool(json_object *o, const char *k)
{
	json_object *v;

	return o != NULL && json_object_object_get_ex(o, k, &v) &&
	       json_object_get_boolean(v);
}

static void
set_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(
	    o, k, v != NULL ? json_object_new_string(v) : NULL);
}

static json_object *
copy(json_object *o)
{
	json_object *c = NULL;

	if (o != NULL && json_object_deep_copy(o, &c, NULL) != 0)
		abort();
	return c;
}

/* ---- fixture ----------------------------------------------------------- */

static void
subjects_free(struct subjects *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].id);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Parse a subjectSet array; -1 with a message on stderr. */
static int
subjects_load(struct emu *e, json_object *stage, const char *key,
    struct subjects *out, const char *where)
{
	json_object *a, *s, *lv;
	const char *t;
	size_t i, n;
	struct subj *x;

	memset(out, 0, sizeof(*out));
	if (!json_object_object_get_ex(stage, key, &a) || a == NULL)
		return 0;
	if (!json_object_is_type(a, json_type_array)) {
		fprintf(stderr,
		    "graph-emulator: fixture: %s: %s must be an "
		    "array\n",
		    where, key);
		return -1;
	}
	n = json_object_array_length(a);
	out->v = xcalloc(n, sizeof(*out->v));
	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(a, i);
		x = &out->v[out->n++];
		if ((t = jstr(s, "@odata.type")) == NULL)
			goto bad;
		if (*t == '#')
			t++;
		if (strncmp(t, "microsoft.graph.", 16) == 0)
			t += 16;
		if (strcmp(t, "singleUser") == 0) {
			x->kind = SUBJ_USER;
			if (store_user(e, jstr(s, "userId")) == NULL)
				goto bad;
			x->id = xstrdup(store_user(e, jstr(s, "userId"))->id);
		} else if (strcmp(t, "groupMembers") == 0) {
			x->kind = SUBJ_GROUP;
			if (store_group(e, jstr(s, "groupId")) == NULL)
				goto bad;
			x->id = xstrdup(jstr(s, "groupId"));
		} else if (strcmp(t, "requestorManager") == 0) {
			x->kind = SUBJ_MANAGER;
			x->level = 1;
			if (json_object_object_get_ex(s, "managerLevel", &lv) &&
			    lv != NULL)
				x->level = json_object_get_int(lv);
			if (x->level != 1 && x->level != 2)
				goto bad;
		} else if (strcmp(t, "internalSponsors") == 0 ||
		           strcmp(t, "externalSponsors") == 0 ||
		           strcmp(t, "targetUserSponsors") == 0)
			x->kind = SUBJ_NOBODY; /* no sponsors in the emulator */
		else
			goto bad;
	}
	return 0;
bad:
	fprintf(stderr,
	    "graph-emulator: fixture: %s: %s[%zu] is not a known subject "
	    "set with a known user, group or manager level\n",
	    where, key, i);
	return -1;
}

static int
duration_load(json_object *o, const char *k, int64_t *out, const char *where)
{
	const char *s = jstr(o, k);

	*out = 0;
	if (s == NULL)
		return 0;
	if (clock_parse_duration(s, out) < 0) {
		fprintf(stderr, "graph-emulator: fixture: %s: bad %s %s\n",
		    where, k, s);
		return -1;
	}
	return 0;
}

/* requestorSettings.onBehalfRequestors: targetManager and singleUser. */
static void
policy_on_behalf(struct ap_policy *p, json_object *rs)
{
	json_object *arr, *s;
	const char *t;
	size_t i;

	p->on_behalf_add = jbool(rs, "enableOnBehalfRequestorsToAddAccess");
	if (!json_object_object_get_ex(rs, "onBehalfRequestors", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(arr); i++) {
		s = json_object_array_get_idx(arr, i);
		if ((t = jstr(s, "@odata.type")) == NULL)
			continue;
		if (strcmp(t, "#microsoft.graph.targetManager") == 0 &&
		    json_object_object_get_ex(s, "managerLevel", &s))
			p->on_behalf_manager = json_object_get_int(s);
		else if (strcmp(t, "#microsoft.graph.singleUser") == 0 &&
		         jstr(s, "userId") != NULL && p->n_on_behalf_users < 8)
			p->on_behalf_users[p->n_on_behalf_users++] =
			    xstrdup(jstr(s, "userId"));
	}
}

/* May `caller` ask for access for `target` under policy `p`? */
static bool
policy_may_ask_for(struct emu *e, const struct ap_policy *p,
    const struct user *caller, const struct user *target)
{
	const struct user *m = target;
	size_t i;
	int level;

	if (!p->on_behalf_add)
		return false;
	for (i = 0; i < p->n_on_behalf_users; i++)
		if (strcasecmp(p->on_behalf_users[i], caller->id) == 0)
			return true;
	for (level = 1; level <= p->on_behalf_manager && level <= 4; level++) {
		if (m->manager_id == NULL ||
		    (m = store_user(e, m->manager_id)) == NULL)
			return false;
		if (strcmp(m->id, caller->id) == 0)
			return true;
	}
	return false;
}

static int
policy_load(struct emu *e, struct ap_policy *p, json_object *o)
{
	struct access *ac = e->access;
	json_object *ras, *stages, *st;
	const char *pkg = jstr(jobj(o, "accessPackage"), "id");
	char where[160];
	size_t i, k;

	p->obj = o;
	p->id = xstrdup(jstr(o, "id"));
	if (p->id == NULL || pkg == NULL) {
		fprintf(stderr, "graph-emulator: fixture: an assignment policy "
		                "needs an id and accessPackage.id\n");
		return -1;
	}
	for (k = 0; k < ac->npkgs; k++)
		if (strcmp(ac->pkgs[k].id, pkg) == 0)
			break;
	if (k == ac->npkgs) {
		fprintf(stderr,
		    "graph-emulator: fixture: policy %s: access package %s is "
		    "not in accessPackages\n",
		    p->id, pkg);
		return -1;
	}
	p->package_id = xstrdup(pkg);
	policy_on_behalf(p, jobj(o, "requestorSettings"));
	ras = jobj(o, "requestApprovalSettings");
	p->approval_add = jbool(ras, "isApprovalRequiredForAdd");
	p->approval_update = jbool(ras, "isApprovalRequiredForUpdate");
	if (!json_object_object_get_ex(ras, "stages", &stages) ||
	    stages == NULL)
		return 0;
	if (!json_object_is_type(stages, json_type_array) ||
	    json_object_array_length(stages) > AP_MAX_STAGES) {
		fprintf(stderr,
		    "graph-emulator: fixture: policy %s: at most %d "
		    "stages\n",
		    p->id, AP_MAX_STAGES);
		return -1;
	}
	p->nstages = json_object_array_length(stages);
	for (i = 0; i < p->nstages; i++) {
		struct ap_stage_pol *sp = &p->stages[i];

		st = json_object_array_get_idx(stages, i);
		snprintf(
		    where, sizeof(where), "policy %s stage %zu", p->id, i + 1);
		if (duration_load(st, "durationBeforeAutomaticDenial",
		        &sp->deny_after, where) < 0 ||
		    duration_load(st, "durationBeforeEscalation",
		        &sp->escalate_after, where) < 0 ||
		    subjects_load(
		        e, st, "primaryApprovers", &sp->primary, where) < 0 ||
		    subjects_load(e, st, "fallbackPrimaryApprovers",
		        &sp->fallback, where) < 0 ||
		    subjects_load(e, st, "escalationApprovers", &sp->escalation,
		        where) < 0 ||
		    subjects_load(e, st, "fallbackEscalationApprovers",
		        &sp->fallback_escalation, where) < 0)
			return -1;
		if (!jbool(st, "isEscalationEnabled"))
			sp->escalate_after = 0;
		sp->justification =
		    jbool(st, "isApproverJustificationRequired");
	}
	return 0;
}

/* An assignmentPolicies[] entry: inline, or {"file": path, ...overrides}. */
static json_object *
policy_json(struct emu *e, json_object *entry)
{
	const char *f = jstr(entry, "file");
	json_object *o;
	char path[4096];

	if (f == NULL)
		return copy(entry);
	if (f[0] == '/')
		snprintf(path, sizeof(path), "%s", f);
	else
		snprintf(path, sizeof(path), "%s/%s", e->fixture_dir, f);
	if ((o = json_object_from_file(path)) == NULL ||
	    !json_object_is_type(o, json_type_object)) {
		fprintf(stderr, "graph-emulator: fixture: %s: %s\n", path,
		    json_util_get_last_err());
		json_object_put(o);
		return NULL;
	}
	json_object_object_foreach(entry, k, v)
	{
		if (strcmp(k, "file") != 0)
			json_object_object_add(o, k, copy(v));
	}
	return o;
}

int
access_load(struct emu *e, json_object *root)
{
	struct access *ac;
	json_object *arr, *o, *lc;
	size_t i, n;

	ac = e->access = xcalloc(1, sizeof(*ac));
	if (json_object_object_get_ex(root, "lifecycle", &lc) &&
	    duration_load(
	        lc, "deliveryDelay", &ac->delivery_delay, "lifecycle") < 0)
		return -1;
	if (json_object_object_get_ex(root, "accessPackages", &arr)) {
		n = json_object_array_length(arr);
		ac->pkgs = xcalloc(n, sizeof(*ac->pkgs));
		for (i = 0; i < n; i++) {
			struct ap_package *p = &ac->pkgs[ac->npkgs];

			o = json_object_array_get_idx(arr, i);
			if (jstr(o, "id") == NULL) {
				fprintf(stderr, "graph-emulator: fixture: an "
				                "access package needs an id\n");
				return -1;
			}
			p->id = xstrdup(jstr(o, "id"));
			p->obj = json_object_new_object();
			set_str(p->obj, "id", p->id);
			set_str(p->obj, "displayName", jstr(o, "displayName"));
			set_str(p->obj, "description", jstr(o, "description"));
			json_object_object_add(
			    p->obj, "isHidden", json_object_new_boolean(false));
			ac->npkgs++;
		}
	}
	if (json_object_object_get_ex(root, "assignmentPolicies", &arr)) {
		n = json_object_array_length(arr);
		ac->pols = xcalloc(n, sizeof(*ac->pols));
		for (i = 0; i < n; i++) {
			o = policy_json(e, json_object_array_get_idx(arr, i));
			if (o == NULL)
				return -1;
			if (policy_load(e, &ac->pols[ac->npols++], o) < 0)
				return -1;
		}
	}
	return 0;
}

void
access_free(struct emu *e)
{
	struct access *ac = e->access;
	size_t i, k;

	if (ac == NULL)
		return;
	for (i = 0; i < ac->npkgs; i++) {
		free(ac->pkgs[i].id);
		json_object_put(ac->pkgs[i].obj);
	}
	for (i = 0; i < ac->npols; i++) {
		struct ap_policy *p = &ac->pols[i];

		for (k = 0; k < p->nstages; k++) {
			subjects_free(&p->stages[k].primary);
			subjects_free(&p->stages[k].fallback);
			subjects_free(&p->stages[k].escalation);
			subjects_free(&p->stages[k].fallback_escalation);
		}
		free(p->id);
		free(p->package_id);
		while (p->n_on_behalf_users > 0)
			free(p->on_behalf_users[--p->n_on_behalf_users]);
		json_object_put(p->obj);
	}
	free(ac->pkgs);
	free(ac->pols);
	free(ac);
	e->access = NULL;
}

static const struct ap_package *
package_get(struct emu *e, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < e->access->npkgs; i++)
		if (strcasecmp(e->access->pkgs[i].id, id) == 0)
			return &e->access->pkgs[i];
	return NULL;
}

static const struct ap_policy *
policy_get(struct emu *e, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < e->access->npols; i++)
		if (strcasecmp(e->access->pols[i].id, id) == 0)
			return &e->access->pols[i];
	return NULL;
}

/* ---- stages ------------------------------------------------------------ */

void
access_req_free(struct ap_req *a)
{
	size_t i, k;

	if (a == NULL)
		return;
	for (i = 0; i < a->nstarted; i++) {
		for (k = 0; k < a->st[i].napprovers; k++)
			free(a->st[i].approvers[k]);
		free(a->st[i].approvers);
		free(a->st[i].justification);
	}
	free(a);
}

static void
approver_add(struct ap_stage_run *st, const char *id, const char *requestor)
{
	size_t i;

	if (strcmp(id, requestor) == 0)
		return;
	for (i = 0; i < st->napprovers; i++)
		if (strcmp(st->approvers[i], id) == 0)
			return;
	st->approvers = realloc(
	    st->approvers, (st->napprovers + 1) * sizeof(*st->approvers));
	if (st->approvers == NULL)
		abort();
	st->approvers[st->napprovers++] = xstrdup(id);
}

/* Add the users of subject sets `s` (minus the requestor); how many. */
static size_t
resolve(struct emu *e, const struct subjects *s, const char *requestor,
    struct ap_stage_run *st)
{
	size_t before = st->napprovers, i, k, n;
	const struct user *u;
	const char **m;
	int lvl;

	for (i = 0; i < s->n; i++) {
		switch (s->v[i].kind) {
		case SUBJ_USER:
			approver_add(st, s->v[i].id, requestor);
			break;
		case SUBJ_GROUP:
			m = store_transitive(e, store_group(e, s->v[i].id), &n);
			for (k = 0; k < n; k++)
				if (store_user(e, m[k]) != NULL)
					approver_add(st,
					    store_user(e, m[k])->id, requestor);
			free(m);
			break;
		case SUBJ_MANAGER:
			u = store_user(e, requestor);
			for (lvl = 0; u != NULL && lvl < s->v[i].level; lvl++)
				u = store_user(e, u->manager_id);
			if (u != NULL)
				approver_add(st, u->id, requestor);
			break;
		case SUBJ_NOBODY:
			break;
		}
	}
	return st->napprovers - before;
}

static void
sync(struct emu *e, struct req *r)
{
	char iso[40];

	set_str(r->obj, "state", ap_state[r->state]);
	set_str(r->obj, "status",
	    r->state == RS_AP_PENDING && r->ap->nstarted > 0 &&
	            r->ap->st[r->ap->nstarted - 1].escalated
	        ? "PendingApprovalEscalated"
	        : ap_status[r->state]);
	if (r->state == RS_AP_DELIVERED || r->state == RS_AP_DENIED ||
	    r->state == RS_AP_CANCELED) {
		clock_iso(emu_now(e), iso);
		set_str(r->obj, "completedDateTime", iso);
	}
}

/* The next stage timer of a pending request (escalation or denial). */
static void
schedule_stage(struct emu *e, struct req *r)
{
	const struct ap_stage_run *st = &r->ap->st[r->ap->nstarted - 1];
	const struct ap_stage_pol *sp =
	    &r->ap->pol->stages[r->ap->nstarted - 1];
	int64_t due = 0;

	if (sp->escalate_after > 0 && !st->escalated)
		due = st->started + sp->escalate_after;
	if (sp->deny_after > 0 &&
	    (due == 0 || st->started + sp->deny_after < due))
		due = st->started + sp->deny_after;
	req_schedule(e, r, due);
}

static void
stage_start(struct emu *e, struct req *r, size_t k)
{
	struct ap_req *a = r->ap;
	struct ap_stage_run *st = &a->st[k];
	const struct ap_stage_pol *sp = &a->pol->stages[k];

	a->nstarted = k + 1;
	emu_guid(st->id);
	snprintf(r->step_id, sizeof(r->step_id), "%s", st->id);
	st->status = STEP_INPROGRESS;
	st->review = REV_NOT_REVIEWED;
	st->started = emu_now(e);
	if (resolve(e, &sp->primary, a->target_id, st) == 0)
		resolve(e, &sp->fallback, a->target_id, st);
	schedule_stage(e, r);
}

/* Start delivery: delivering now, delivered after the delay. */
static void
deliver(struct emu *e, struct req *r)
{
	r->state = RS_AP_DELIVERING;
	sync(e, r);
	req_schedule(e, r, emu_now(e) + e->access->delivery_delay);
	req_tick(e);
}

void
access_due(struct emu *e, struct req *r)
{
	struct ap_stage_run *st;
	const struct ap_stage_pol *sp;
	int64_t now = emu_now(e);
	char why[128];

	if (r->state == RS_AP_DELIVERING) {
		r->state = RS_AP_DELIVERED;
		sync(e, r);
		return;
	}
	if (r->state != RS_AP_PENDING || r->ap->nstarted == 0)
		return;
	st = &r->ap->st[r->ap->nstarted - 1];
	sp = &r->ap->pol->stages[r->ap->nstarted - 1];
	if (sp->deny_after > 0 && now >= st->started + sp->deny_after) {
		st->status = STEP_EXPIRED;
		r->state = RS_AP_DENIED;
		sync(e, r);
		set_str(r->obj, "status", "Expired");
		snprintf(why, sizeof(why),
		    "automatic denial: stage %zu undecided in time",
		    r->ap->nstarted);
		truth_add(e, NULL, r, "deny", why);
		return;
	}
	if (sp->escalate_after > 0 && !st->escalated &&
	    now >= st->started + sp->escalate_after) {
		st->escalated = true;
		if (resolve(e, &sp->escalation, r->ap->target_id, st) == 0)
			resolve(
			    e, &sp->fallback_escalation, r->ap->target_id, st);
		sync(e, r);
	}
	schedule_stage(e, r);
}

static bool
eligible(const struct ap_stage_run *st, const char *user_id)
{
	size_t i;

	for (i = 0; i < st->napprovers; i++)
		if (strcmp(st->approvers[i], user_id) == 0)
			return true;
	return false;
}

static json_object *
stage_json(struct emu *e, struct call *c, struct req *r, size_t k)
{
	const struct ap_stage_run *st = &r->ap->st[k];
	json_object *o = json_object_new_object(), *by = NULL;
	const struct user *u;
	char iso[40];
	bool mine;

	set_str(o, "id", st->id);
	set_str(o, "displayName", NULL);
	if (st->reviewed != 0)
		clock_iso(st->reviewed, iso);
	set_str(o, "reviewedDateTime", st->reviewed != 0 ? iso : NULL);
	set_str(o, "reviewResult", review_names[st->review]);
	set_str(o, "status", step_status_names[st->status]);
	mine = c->user != NULL && st->status == STEP_INPROGRESS &&
	       r->state == RS_AP_PENDING && eligible(st, c->user->id);
	json_object_object_add(
	    o, "assignedToMe", json_object_new_boolean(mine));
	set_str(o, "justification", st->justification);
	/* An `identity`: displayName and id (microsoft-graph-docs-contrib:
	 * api-reference/v1.0/resources/approvalstage.md, identity.md). */
	if (st->reviewer_id[0] != '\0') {
		by = json_object_new_object();
		u = store_user(e, st->reviewer_id);
		set_str(by, "id", st->reviewer_id);
		set_str(by, "displayName", u != NULL ? u->name : NULL);
	}
	json_object_object_add(o, "reviewedBy", by);
	return o;
}

/* ---- requests ---------------------------------------------------------- */

static const char *
req_type(const char *s)
{
	int i;

	for (i = 0; s != NULL && req_types[i] != NULL; i++)
		if (strcasecmp(req_types[i], s) == 0)
			return req_types[i];
	return NULL;
}

static const char *
check_schedule(json_object *s)
{
	json_object *exp, *v;
	const char *t;
	int64_t x;

	if (s == NULL)
		return NULL;
	if (!json_object_is_type(s, json_type_object))
		return "schedule must be an object.";
	if (json_object_object_get_ex(s, "startDateTime", &v) && v != NULL &&
	    (!json_object_is_type(v, json_type_string) ||
	        clock_parse_iso(json_object_get_string(v), &x) < 0))
		return "schedule.startDateTime is not a valid DateTimeOffset.";
	if ((exp = jobj(s, "expiration")) == NULL)
		return NULL;
	t = jstr(exp, "type");
	if (t != NULL && strcmp(t, "notSpecified") != 0 &&
	    strcmp(t, "noExpiration") != 0 && strcmp(t, "afterDateTime") != 0 &&
	    strcmp(t, "afterDuration") != 0)
		return "schedule.expiration.type is not a known value.";
	if (json_object_object_get_ex(exp, "duration", &v) && v != NULL &&
	    (!json_object_is_type(v, json_type_string) ||
	        clock_parse_duration(json_object_get_string(v), &x) < 0))
		return "schedule.expiration.duration is not a valid ISO 8601 "
		       "duration.";
	if (json_object_object_get_ex(exp, "endDateTime", &v) && v != NULL &&
	    (!json_object_is_type(v, json_type_string) ||
	        clock_parse_iso(json_object_get_string(v), &x) < 0))
		return "schedule.expiration.endDateTime is not a valid "
		       "DateTimeOffset.";
	return NULL;
}

static json_object *
default_schedule(void)
{
	json_object *s = json_object_new_object(), *x;

	set_str(s, "startDateTime", NULL);
	set_str(s, "recurrence", NULL);
	x = json_object_new_object();
	set_str(x, "endDateTime", NULL);
	set_str(x, "duration", NULL);
	set_str(x, "type", "notSpecified");
	json_object_object_add(s, "expiration", x);
	return s;
}

/* The domain of a user's mail (or UPN), or "". */
static const char *
user_domain(const struct user *u)
{
	const char *m = u->mail != NULL ? u->mail : u->upn, *at;

	return m != NULL && (at = strrchr(m, '@')) != NULL ? at + 1 : "";
}

/*
 * Is u a user of connected organization `org_id` (NULL: of any)? A
 * connectedOrganization names its identitySources; a
 * domainIdentitySource's domainName is the external users' domain
 * (microsoft-graph-docs-contrib: api-reference/v1.0/resources/
 * connectedorganization.md, domainidentitysource.md). The emulator's
 * fixture lists them under `connectedOrganizations`; only guests count.
 */
static bool
connected_org_user(struct emu *e, const struct user *u, const char *org_id)
{
	json_object *orgs, *org, *srcs, *src;
	const char *t, *dom;
	size_t i, k;

	if (u->user_type == NULL || strcmp(u->user_type, "Guest") != 0 ||
	    !json_object_object_get_ex(
	        e->fixture, "connectedOrganizations", &orgs) ||
	    !json_object_is_type(orgs, json_type_array))
		return false;
	for (i = 0; i < json_object_array_length(orgs); i++) {
		org = json_object_array_get_idx(orgs, i);
		if (org_id != NULL &&
		    (jstr(org, "id") == NULL ||
		        strcasecmp(jstr(org, "id"), org_id) != 0))
			continue;
		if (!json_object_object_get_ex(org, "identitySources", &srcs) ||
		    !json_object_is_type(srcs, json_type_array))
			continue;
		for (k = 0; k < json_object_array_length(srcs); k++) {
			src = json_object_array_get_idx(srcs, k);
			t = jstr(src, "@odata.type");
			dom = jstr(src, "domainName");
			if (t != NULL && strstr(t, "domainIdentitySource") &&
			    dom != NULL && strcasecmp(dom, user_domain(u)) == 0)
				return true;
		}
	}
	return false;
}

/* Is u one of the policy's specificAllowedTargets (subject sets)? */
static bool
specific_target(struct emu *e, const struct ap_policy *p, const struct user *u)
{
	json_object *arr, *s;
	const char *t;
	size_t i;

	if (!json_object_object_get_ex(
	        p->obj, "specificAllowedTargets", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return false;
	for (i = 0; i < json_object_array_length(arr); i++) {
		s = json_object_array_get_idx(arr, i);
		if ((t = jstr(s, "@odata.type")) == NULL)
			continue;
		if (strstr(t, "singleUser") && jstr(s, "userId") != NULL &&
		    strcasecmp(jstr(s, "userId"), u->id) == 0)
			return true;
		if (strstr(t, "groupMembers") && jstr(s, "groupId") != NULL &&
		    store_member_of(e, jstr(s, "groupId"), u->id))
			return true;
		if (strstr(t, "connectedOrganizationMembers") &&
		    jstr(s, "connectedOrganizationId") != NULL &&
		    connected_org_user(
		        e, u, jstr(s, "connectedOrganizationId")))
			return true;
	}
	return false;
}

/*
 * May `target` be assigned the package through policy p? The policy's
 * allowedTargetScope says who: "notSpecified, specificDirectoryUsers,
 * specificConnectedOrganizationUsers, specificDirectoryServicePrincipals,
 * allMemberUsers, allDirectoryUsers, allDirectoryServicePrincipals,
 * allConfiguredConnectedOrganizationUsers, allExternalUsers"
 * (microsoft-graph-docs-contrib: api-reference/v1.0/resources/
 * accesspackageassignmentpolicy.md). notSpecified (or absent) admits no
 * user request (administrator direct assignment only, admin is true);
 * service-principal scopes admit no user; an unknown value admits nobody.
 */
static bool
scope_admits(
    struct emu *e, const struct ap_policy *p, const struct user *u, bool admin)
{
	const char *sc = jstr(p->obj, "allowedTargetScope");
	bool guest = u->user_type != NULL && strcmp(u->user_type, "Guest") == 0;

	if (sc == NULL || strcmp(sc, "notSpecified") == 0)
		return admin;
	if (strcmp(sc, "allDirectoryUsers") == 0)
		return true;
	if (strcmp(sc, "allMemberUsers") == 0)
		return !guest;
	if (strcmp(sc, "allExternalUsers") == 0)
		return guest;
	if (strcmp(sc, "allConfiguredConnectedOrganizationUsers") == 0)
		return connected_org_user(e, u, NULL);
	if (strcmp(sc, "specificDirectoryUsers") == 0 ||
	    strcmp(sc, "specificConnectedOrganizationUsers") == 0)
		return specific_target(e, p, u);
	return false;
}

/*
 * Validate and create a request. The caller is a user (delegated) or an
 * app; *status is the HTTP status to answer on failure.
 */
static struct req *
create(struct emu *e, json_object *body, const struct user *caller, bool is_app,
    bool strict, char *err, size_t errlen, int *status)
{
	static const char *const allowed[] = { "@odata.type", "requestType",
		"assignment", "justification", "schedule", "answers", NULL };
	const char *type, *target_id, *msg, *bad;
	const struct ap_package *pkg;
	const struct ap_policy *pol;
	const struct user *target, *asker;
	json_object *as, *v, *o, *t;
	struct req *r;
	bool admin;
	char iso[40], gid[EMU_ID_LEN];
	int i;

	*status = 400;
	if ((bad = emu_unknown_key(body, allowed)) != NULL) {
		snprintf(err, errlen,
		    "The property '%s' does not exist on type "
		    "'microsoft.graph.accessPackageAssignmentRequest'.",
		    bad);
		return NULL;
	}
	if ((type = req_type(jstr(body, "requestType"))) == NULL) {
		snprintf(err, errlen,
		    "requestType is required and must be one of userAdd, "
		    "userExtend, userUpdate, userRemove, adminAdd, "
		    "adminUpdate, "
		    "adminRemove.");
		return NULL;
	}
	if ((as = jobj(body, "assignment")) == NULL ||
	    (pkg = package_get(e, jstr(as, "accessPackageId"))) == NULL) {
		snprintf(err, errlen,
		    "assignment.accessPackageId must name an access package.");
		return NULL;
	}
	if ((pol = policy_get(e, jstr(as, "assignmentPolicyId"))) == NULL) {
		if (jstr(as, "assignmentPolicyId") != NULL) {
			snprintf(err, errlen,
			    "The assignment policy '%s' was not found.",
			    jstr(as, "assignmentPolicyId"));
			return NULL;
		}
		for (i = 0; (size_t)i < e->access->npols; i++)
			if (strcmp(e->access->pols[i].package_id, pkg->id) == 0)
				break;
		if ((size_t)i == e->access->npols) {
			snprintf(err, errlen,
			    "The access package has no assignment policy.");
			return NULL;
		}
		pol = &e->access->pols[i];
	}
	if (strcmp(pol->package_id, pkg->id) != 0) {
		snprintf(err, errlen,
		    "The assignment policy does not belong to the access "
		    "package.");
		return NULL;
	}
	admin = strncmp(type, "admin", 5) == 0;
	target_id = jstr(as, "targetId");
	if (!admin) {
		if (is_app || caller == NULL) {
			*status = 403;
			snprintf(err, errlen,
			    "A %s request needs a delegated (user) token.",
			    type);
			return NULL;
		}
		target = caller;
		if (target_id != NULL &&
		    strcasecmp(target_id, caller->id) != 0) {
			/* On behalf of someone else: only an on-behalf
			 * requestor of the policy, only to add access. */
			if (strcmp(type, "userAdd") != 0 ||
			    (target = store_user(e, target_id)) == NULL ||
			    !policy_may_ask_for(e, pol, caller, target)) {
				*status = 403;
				snprintf(err, errlen,
				    "Users can only request access for "
				    "themselves.");
				return NULL;
			}
		}
	} else {
		if (!is_app &&
		    (caller == NULL || !store_is_admin(e, caller->id))) {
			*status = 403;
			snprintf(err, errlen,
			    "Only an administrator can make a %s request.",
			    type);
			return NULL;
		}
		if ((target = store_user(e, target_id)) == NULL) {
			snprintf(err, errlen,
			    "assignment.targetId must name a user.");
			return NULL;
		}
	}
	/* The error Graph answers for a target outside the scope is not
	 * documented: 403, our stricter choice. The control API
	 * (/_emulator/requests, test fixtures) is not checked. */
	if (strict && !scope_admits(e, pol, target, admin)) {
		*status = 403;
		snprintf(err, errlen,
		    "The policy '%s' (allowedTargetScope %s) does not admit "
		    "'%s'.",
		    pol->id,
		    jstr(pol->obj, "allowedTargetScope") != NULL
		        ? jstr(pol->obj, "allowedTargetScope")
		        : "notSpecified",
		    target->upn != NULL ? target->upn : target->id);
		return NULL;
	}
	v = NULL;
	json_object_object_get_ex(body, "schedule", &v);
	if ((msg = check_schedule(v)) != NULL) {
		snprintf(err, errlen, "%s", msg);
		return NULL;
	}
	if (json_object_object_get_ex(body, "justification", &v) && v != NULL &&
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "justification must be a string.");
		return NULL;
	}
	if ((r = req_new(e, SRC_ACCESS_PACKAGE)) == NULL) {
		*status = 507;
		snprintf(err, errlen, "The emulator's request store is full.");
		return NULL;
	}
	r->ap = xcalloc(1, sizeof(*r->ap));
	r->ap->pol = pol;
	snprintf(r->ap->target_id, sizeof(r->ap->target_id), "%s", target->id);
	snprintf(r->requestor_id, sizeof(r->requestor_id), "%s", target->id);
	r->requestor_is_app = false;
	r->obj = o = json_object_new_object();
	clock_iso(r->created, iso);
	set_str(o, "id", r->id);
	set_str(o, "requestType", type);
	set_str(o, "state", "submitted");
	set_str(o, "status", "Accepted");
	set_str(o, "createdDateTime", iso);
	set_str(o, "completedDateTime", NULL);
	set_str(o, "justification", jstr(body, "justification"));
	v = NULL;
	json_object_object_get_ex(body, "schedule", &v);
	json_object_object_add(
	    o, "schedule", v != NULL ? copy(v) : default_schedule());
	json_object_object_get_ex(body, "answers", &v);
	json_object_object_add(o, "answers",
	    v != NULL && json_object_is_type(v, json_type_array)
	        ? copy(v)
	        : json_object_new_array());
	json_object_object_add(o, "accessPackage", copy(pkg->obj));
	v = json_object_new_object();
	emu_guid(gid);
	set_str(v, "id", gid);
	/* The requestor is who asked (an on-behalf requestor, or the target
	 * asking for themselves or being assigned by an admin). */
	asker = !admin && caller != NULL ? caller : target;
	set_str(v, "objectId", asker->id);
	set_str(v, "displayName", asker->name);
	set_str(v, "email", asker->mail != NULL ? asker->mail : asker->upn);
	set_str(v, "principalName", asker->upn);
	set_str(v, "subjectType", "user");
	json_object_object_add(o, "requestor", v);
	/* The assignment as v1.0 has it (accessPackageAssignment: no
	 * targetId, assignmentPolicyId or accessPackageId, which are beta's):
	 * its target is a navigation property, answered only for
	 * $expand=assignment($expand=target) ("to retrieve the target of the
	 * access package assignment, include $expand=assignment($expand=
	 * target)", https://learn.microsoft.com/graph/api/
	 * accesspackageassignmentrequest-get). */
	v = json_object_new_object();
	emu_guid(gid);
	set_str(v, "id", gid);
	set_str(v, "state", NULL);
	set_str(v, "status", NULL);
	set_str(v, "expiredDateTime", NULL);
	json_object_object_add(v, "schedule", NULL);
	t = json_object_new_object();
	set_str(t, "id", target->id);
	set_str(t, "objectId", target->id);
	set_str(t, "displayName", target->name);
	set_str(t, "email", target->mail != NULL ? target->mail : target->upn);
	set_str(t, "principalName", target->upn);
	set_str(t, "subjectType", "user");
	json_object_object_add(v, "target", t);
	json_object_object_add(o, "assignment", v);
	return r;
}

/* Process a just-accepted request: to approval or to delivery. */
static void
process(struct emu *e, struct req *r)
{
	const struct ap_policy *pol = r->ap->pol;
	const char *type = jstr(r->obj, "requestType");
	bool need;

	need = pol->nstages > 0 &&
	       ((strcmp(type, "userAdd") == 0 && pol->approval_add) ||
	           ((strcmp(type, "userUpdate") == 0 ||
	                strcmp(type, "userExtend") == 0) &&
	               pol->approval_update));
	if (!need) {
		deliver(e, r);
		return;
	}
	r->state = RS_AP_PENDING;
	stage_start(e, r, 0);
	sync(e, r);
}

/* A request as the caller sees it: navigation properties when expanded. */
static json_object *
view(struct call *c, struct req *r, void *arg)
{
	unsigned expand = arg != NULL ? *(unsigned *)arg : 0;
	json_object *o = json_object_new_object();
	int i;

	(void)c;
	json_object_object_foreach(r->obj, k, v)
	{
		for (i = 0; navs[i] != NULL; i++)
			if (strcmp(navs[i], k) == 0)
				break;
		if (navs[i] != NULL && (expand & (1u << i)) == 0)
			continue;
		if (strcmp(k, "assignment") == 0 &&
		    json_object_is_type(v, json_type_object) &&
		    (expand & EXPAND_ASSIGNMENT_TARGET) == 0) {
			json_object *a = json_object_new_object();

			json_object_object_foreach(v, ak, av)
			{
				if (strcmp(ak, "target") != 0)
					json_object_object_add(
					    a, ak, json_object_get(av));
			}
			json_object_object_add(o, k, a);
			continue;
		}
		json_object_object_add(o, k, json_object_get(v));
	}
	return o;
}

/* Parse $expand into a bit set of navs; -1 after answering 400. */
static int
parse_expand(struct call *c, unsigned *out)
{
	const char *q = call_query(c, "$expand");
	char *s, *tok, *save = NULL;
	int i, rc = 0;

	*out = 0;
	if (q == NULL)
		return 0;
	s = xstrdup(q);
	for (tok = strtok_r(s, ",", &save); tok != NULL && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		tok[strcspn(tok, " ")] = '\0';
		/* assignment($expand=target): the documented nested form; any
		 * other nested option is refused as unknown. */
		if (strcasecmp(tok, "assignment($expand=target)") == 0) {
			*out |= EXPAND_ASSIGNMENT_TARGET;
			tok[strlen("assignment")] = '\0';
		}
		for (i = 0; navs[i] != NULL; i++)
			if (strcasecmp(navs[i], tok) == 0)
				break;
		if (navs[i] == NULL) {
			call_error(c, 400, "BadRequest",
			    "Could not find a navigation property named '%s' "
			    "on type "
			    "'microsoft.graph.accessPackageAssignmentRequest'.",
			    tok);
			rc = -1;
		} else
			*out |= 1u << i;
	}
	free(s);
	return rc;
}

static void
create_answer(struct call *c, json_object *body, const struct user *caller,
    bool is_app, bool strict)
{
	char err[256];
	struct req *r;
	json_object *o;
	int status;

	if ((r = create(c->emu, body, caller, is_app, strict, err, sizeof(err),
	         &status)) == NULL) {
		call_error(c, status,
		    status == 403   ? "Authorization_RequestDenied"
		    : status == 507 ? "quotaLimitReached"
		                    : "BadRequest",
		    "%s", err);
		return;
	}
	o = view(c, r, NULL);
	process(c->emu, r);
	call_reply(c, 201, o);
}

void
access_create(struct call *c, json_object *body, const char *requestor_id)
{
	create_answer(c, body, store_user(c->emu, requestor_id), false, false);
}

static void
post_request(struct call *c, char **caps)
{
	json_object *b;

	(void)caps;
	if ((b = call_body(c, true)) == NULL)
		return;
	create_answer(c, b, c->user, c->tok->kind == TOK_APP, true);
}

/*
 * Query options as documented (microsoft-graph-docs-contrib:
 * api-reference/v1.0/api/): the list "supports the $expand and $filter"
 * (entitlementmanagement-list-assignmentrequests.md), get "supports the
 * $expand" (accesspackageassignmentrequest-get.md), the approval pages
 * (approval-get.md, approval-list-stages.md, approvalstage-get.md) none.
 * Anything else ($top, $select, ...) is refused 400; $skiptoken is the
 * emulator's own nextLink.
 */
static const char *const list_opts[] = { "$filter", "$expand", "$skiptoken",
	NULL };
static const char *const get_opts[] = { "$expand", NULL };
static const char *const no_opts[] = { NULL };

static void
get_requests(struct call *c, char **caps)
{
	unsigned expand;

	(void)caps;
	if (req_query_check(c, list_opts, NULL, NULL) < 0 ||
	    parse_expand(c, &expand) < 0)
		return;
	req_list_view(c, SRC_ACCESS_PACKAGE, view, &expand);
}

static struct req *
find(struct call *c, const char *id, const char *what)
{
	struct req *r = req_get(c->emu, SRC_ACCESS_PACKAGE, id);

	if (r == NULL)
		call_error(c, 404, "Request_ResourceNotFound",
		    "%s '%s' was not found.", what, id);
	return r;
}

static void
get_request(struct call *c, char **caps)
{
	unsigned expand;
	struct req *r;

	if (req_query_check(c, get_opts, NULL, NULL) < 0 ||
	    parse_expand(c, &expand) < 0 ||
	    (r = find(c, caps[0], "Access package assignment request")) == NULL)
		return;
	call_reply(c, 200, view(c, r, &expand));
}

/* Cancel: delegated only (as documented); the requestor or an admin. */
static void
post_cancel(struct call *c, char **caps)
{
	struct emu *e = c->emu;
	struct req *r;

	if (!call_require_delegated(c) ||
	    (r = find(c, caps[0], "Access package assignment request")) == NULL)
		return;
	if (strcmp(c->user->id, r->ap->target_id) != 0 &&
	    !store_is_admin(e, c->user->id)) {
		call_error(c, 403, "Authorization_RequestDenied",
		    "Only the requestor or an administrator can cancel this "
		    "request.");
		return;
	}
	if (r->state != RS_AP_PENDING) {
		call_error(c, 400, "BadRequest",
		    "The request is '%s' and not in a cancelable state.",
		    ap_state[r->state]);
		return;
	}
	r->state = RS_AP_CANCELED;
	r->ap->st[r->ap->nstarted - 1].status = STEP_COMPLETED;
	req_schedule(e, r, 0);
	sync(e, r);
	truth_add(e, c, r, "cancel", NULL);
	call_reply(c, 204, NULL);
}

/* Approvals: delegated tokens only (as documented), 404 without one. */
static struct req *
approval(struct call *c, const char *id)
{
	struct req *r;

	if (!call_require_delegated(c) ||
	    req_query_check(c, no_opts, NULL, NULL) < 0)
		return NULL;
	r = req_get(c->emu, SRC_ACCESS_PACKAGE, id);
	if (r == NULL || r->ap->nstarted == 0) {
		call_error(c, 404, "Request_ResourceNotFound",
		    "Approval '%s' was not found.", id);
		return NULL;
	}
	return r;
}

static json_object *
stages_json(struct call *c, struct req *r)
{
	json_object *a = json_object_new_array();
	size_t k;

	for (k = 0; k < r->ap->nstarted; k++)
		json_object_array_add(a, stage_json(c->emu, c, r, k));
	return a;
}

static void
get_approval(struct call *c, char **caps)
{
	struct req *r = approval(c, caps[0]);
	json_object *o;

	if (r == NULL)
		return;
	o = json_object_new_object();
	set_str(o, "id", r->id);
	json_object_object_add(o, "stages", stages_json(c, r));
	call_reply(c, 200, o);
}

static void
get_stages(struct call *c, char **caps)
{
	struct req *r = approval(c, caps[0]);
	json_object *o;

	if (r == NULL)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "value", stages_json(c, r));
	call_reply(c, 200, o);
}

/* The review body: 1 approve, 0 deny, -1 answered 400. */
static int
review_body(struct call *c, const char **just)
{
	json_object *b, *v;
	const char *res;

	*just = NULL;
	if ((b = call_body(c, true)) == NULL || !review_body_ok(c, b))
		return -1;
	if ((res = jstr(b, "reviewResult")) == NULL) {
		call_error(c, 400, "BadRequest",
		    "The property 'reviewResult' is required.");
		return -1;
	}
	if (json_object_object_get_ex(b, "justification", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) > AP_MAX_JUST) {
			call_error(c, 400, "BadRequest",
			    "The property 'justification' must be a string of "
			    "at most %d characters.",
			    AP_MAX_JUST);
			return -1;
		}
		*just = json_object_get_string(v);
	}
	if (strcmp(res, "Approve") == 0)
		return 1;
	if (strcmp(res, "Deny") == 0)
		return 0;
	call_error(c, 400, "BadRequest",
	    "Invalid reviewResult '%s': expected Approve or Deny.", res);
	return -1;
}

/* GET or PATCH one stage: 204 / 400 / 403 / 404 / 409. */
static void
stage(struct call *c, char **caps)
{
	struct emu *e = c->emu;
	struct ap_stage_run *st;
	const struct ap_stage_pol *sp;
	const char *just;
	struct req *r;
	size_t k;
	int approve;

	if ((r = approval(c, caps[0])) == NULL)
		return;
	for (k = 0; k < r->ap->nstarted; k++)
		if (strcasecmp(r->ap->st[k].id, caps[1]) == 0)
			break;
	if (k == r->ap->nstarted) {
		call_error(c, 404, "Request_ResourceNotFound",
		    "Approval stage '%s' was not found.", caps[1]);
		return;
	}
	if (c->cmd == EVHTTP_REQ_GET) {
		call_reply(c, 200, stage_json(e, c, r, k));
		return;
	}
	st = &r->ap->st[k];
	sp = &r->ap->pol->stages[k];
	if ((approve = review_body(c, &just)) < 0)
		return;
	if (strcmp(c->user->id, r->ap->target_id) == 0) {
		call_error(c, 403, "Authorization_RequestDenied",
		    "The requestor cannot approve their own request.");
		return;
	}
	if (!eligible(st, c->user->id)) {
		call_error(c, 403, "Authorization_RequestDenied",
		    "The caller is not an approver of this stage.");
		return;
	}
	if (st->status != STEP_INPROGRESS || r->state != RS_AP_PENDING) {
		call_error(c, 409, "Conflict",
		    "The approval stage has already been completed.");
		return;
	}
	if (sp->justification && (just == NULL || *just == '\0')) {
		call_error(c, 400, "BadRequest",
		    "This stage requires a justification from the approver.");
		return;
	}
	st->status = STEP_COMPLETED;
	st->review = approve ? REV_APPROVED : REV_DENIED;
	snprintf(st->reviewer_id, sizeof(st->reviewer_id), "%s", c->user->id);
	st->reviewed = emu_now(e);
	st->justification = xstrdup(just);
	truth_add(e, c, r, approve ? "approve" : "deny", just);
	if (!approve) {
		r->state = RS_AP_DENIED;
		req_schedule(e, r, 0);
		sync(e, r);
	} else if (k + 1 < r->ap->pol->nstages) {
		stage_start(e, r, k + 1);
		sync(e, r);
	} else
		deliver(e, r);
	call_reply(c, 204, NULL);
}

/* ---- catalog reads ----------------------------------------------------- */

static void
get_packages(struct call *c, char **caps)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	size_t i;

	(void)caps;
	for (i = 0; i < c->emu->access->npkgs; i++)
		json_object_array_add(
		    a, json_object_get(c->emu->access->pkgs[i].obj));
	json_object_object_add(o, "value", a);
	call_reply(c, 200, o);
}

static void
get_package(struct call *c, char **caps)
{
	const struct ap_package *p = package_get(c->emu, caps[0]);

	if (p == NULL)
		call_error(c, 404, "Request_ResourceNotFound",
		    "Access package '%s' was not found.", caps[0]);
	else
		call_reply(c, 200, json_object_get(p->obj));
}

static void
get_policies(struct call *c, char **caps)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	size_t i;

	(void)caps;
	for (i = 0; i < c->emu->access->npols; i++)
		json_object_array_add(
		    a, json_object_get(c->emu->access->pols[i].obj));
	json_object_object_add(o, "value", a);
	call_reply(c, 200, o);
}

static void
get_policy(struct call *c, char **caps)
{
	const struct ap_policy *p = policy_get(c->emu, caps[0]);

	if (p == NULL)
		call_error(c, 404, "Request_ResourceNotFound",
		    "Assignment policy '%s' was not found.", caps[0]);
	else
		call_reply(c, 200, json_object_get(p->obj));
}

const struct route access_routes[] = {
	{ EM "assignmentRequests", M_GET, get_requests },
	{ EM "assignmentRequests", M_POST, post_request },
	{ EM "assignmentRequests/*", M_GET, get_request },
	{ EM "assignmentRequests/*/cancel", M_POST, post_cancel },
	{ EM "accessPackageAssignmentApprovals/*", M_GET, get_approval },
	{ EM "accessPackageAssignmentApprovals/*/stages", M_GET, get_stages },
	{ EM "accessPackageAssignmentApprovals/*/stages/*", M_GET | M_PATCH,
	    stage },
	{ EM "accessPackages", M_GET, get_packages },
	{ EM "accessPackages/*", M_GET, get_package },
	{ EM "assignmentPolicies", M_GET, get_policies },
	{ EM "assignmentPolicies/*", M_GET, get_policy },
	{ NULL, 0, NULL },
};
