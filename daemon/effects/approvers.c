/*
 * Approvers of a stage: resolve the stage's approver sets through Graph
 * (user by id or UPN, group transitive members, manager level 1 and 2),
 * subtract the requestor, the creator and anyone who approved an earlier
 * stage, fall back when nobody is left, and persist the eligible set per
 * (request, stage). A resolution failure never widens a set and never
 * counts as "nobody": the request stays pending and resolution is retried
 * (deny_after still bounds it).
 *
 * When a group's membership changes (a Graph change notification), its
 * cached members are dropped and every waiting stage that uses the group is
 * resolved again: its stored set is cleared first (nobody may decide until
 * the new one is known) and rebuilt from Graph. Resolutions in flight when
 * a change arrives start over, and never cache what they read before it.
 *
 * Also the control commands that use the set: decide (only as a principal
 * the peer's `operators` entry names; eligibility re-checked on Graph by
 * decide_submit()), approvers, and the test clock.
 */
#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "effects.h"
#include "ident.h"
#include "limits.h"
#include "log.h"
#include "member.h"

#define APPR_CACHE_TTL   300  /* seconds a resolved set is reused */
#define APPR_CACHE_MAX   256  /* cached sets */
#define APPR_RETRY_S     15   /* seconds before a failed resolution retries */
#define APPR_MAX_MEMBERS 5000 /* principals per resolved set */
#define APPR_SETS_MAX    16   /* approver sets per list */

struct plist {
	size_t n, cap;
	struct sm_principal *v;
};

struct appr_cache {
	struct appr_cache *next;
	char *key;
	int64_t expires;
	struct plist pl;
};

struct appr_set {
	enum approver_kind kind;
	char *value;
	int level;
};

struct appr_job {
	struct daemon *d;
	char *key;
	uint32_t stage;
	int escalation; /* resolving the escalation sets */
	struct sm_principal requestor;
	char created_by[SM_ID_MAX];
	/* Who the request is by and for, as resolved (ident.c), and the raw
	 * identity keys of the body: none of them may approve. */
	struct sm_principal who, beneficiary;
	char rkey[SM_ID_MAX], bkey[SM_ID_MAX];
	int verified; /* identity verified: who.id names the requestor */
	struct sm_request sm; /* snapshot for earlier-stage approvers */
	struct appr_set sets[2][APPR_SETS_MAX]; /* primary, fallback */
	size_t nsets[2];
	int phase;        /* 0 primary/escalation, 1 fallback */
	size_t idx;       /* set being resolved */
	struct plist acc; /* members of the phase so far */
	struct plist cur; /* members of the set being resolved */
	int level_left;   /* manager hops to go */
	size_t pages;
	int refresh;  /* re-resolving after a membership change */
	uint64_t gen; /* aps->gen when (re)started */
	/* aps->forgets when started (approvers_forget) */
	uint64_t forgets;
	struct appr_job *prev, *next; /* aps->jobs */
};

struct appr_retry {
	struct appr_retry *next;
	struct daemon *d;
	char *key;
	uint32_t stage;
	int refresh;
	struct event *ev;
};

/* Groups changed since the last refresh (all: any group may have). */
struct appr_changes {
	char *v[APPR_SETS_MAX];
	size_t n;
	int all;
	struct event *ev;
};

struct appr_state {
	struct appr_cache *cache;
	size_t ncache;
	struct appr_retry *retries;
	struct appr_job *jobs;
	uint64_t gen;
	uint64_t forgets;
	struct appr_changes changed;
};
/* Jobs started and not finished: a job waiting on Graph when the daemon
 * stops is freed by approvers_free (its call is dropped unanswered). */
/* bumped by every approvers_forget() */

static void appr_next(struct appr_state *aps, struct appr_job *j);
static void appr_run(struct daemon *d, const char *key, uint32_t stage,
    int refresh, const char *group);

static int
plist_add(struct plist *l, const char *id, const char *upn)
{
	size_t i;
	struct sm_principal *v;

	if (id == NULL || id[0] == '\0')
		return 0;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].id, id) == 0)
			return 0;
	if (l->n >= APPR_MAX_MEMBERS)
		return -1;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	snprintf(l->v[l->n].id, sizeof(l->v[l->n].id), "%s", id);
	if (upn != NULL)
		snprintf(l->v[l->n].upn, sizeof(l->v[l->n].upn), "%s", upn);
	l->n++;
	return 0;
}

static int
plist_merge(struct plist *dst, const struct plist *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		if (plist_add(dst, src->v[i].id, src->v[i].upn) == -1)
			return -1;
	return 0;
}

static void
plist_clear(struct plist *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- cache ------------------------------------------------------------ */

static void
appr_cache_key(
    const struct appr_job *j, const struct appr_set *s, char *buf, size_t len)
{
	if (s->kind == APPROVER_MANAGER)
		snprintf(buf, len, "manager:%d:%s", s->level,
		    j->verified ? j->who.id : "");
	else
		snprintf(buf, len, "%s:%s",
		    s->kind == APPROVER_USER ? "user" : "group", s->value);
}

static const struct plist *
appr_cache_get(struct appr_state *aps, const char *key)
{
	struct appr_cache *c;
	int64_t now = clock_now();

	for (c = aps->cache; c != NULL; c = c->next)
		if (strcmp(c->key, key) == 0 && c->expires > now)
			return &c->pl;
	return NULL;
}

static void
appr_cache_free_one(struct appr_cache *c)
{
	free(c->key);
	plist_clear(&c->pl);
	free(c);
}

static void
appr_cache_put(struct appr_state *aps, const char *key, const struct plist *pl)
{
	struct appr_cache *c, **pp;

	/* Drop an old entry for the key and, when full, the oldest one. */
	for (pp = &aps->cache; *pp != NULL;) {
		c = *pp;
		if (strcmp(c->key, key) == 0 ||
		    (aps->ncache >= APPR_CACHE_MAX && c->next == NULL)) {
			*pp = c->next;
			appr_cache_free_one(c);
			aps->ncache--;
			continue;
		}
		pp = &c->next;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->key = strdup(key)) == NULL || plist_merge(&c->pl, pl) == -1) {
		if (c != NULL)
			appr_cache_free_one(c);
		return;
	}
	c->expires = clock_now() + APPR_CACHE_TTL;
	c->next = aps->cache;
	aps->cache = c;
	aps->ncache++;
}

/* Forget the cached members of `group` (NULL: every cached set). */
static void
appr_cache_drop(struct appr_state *aps, const char *group)
{
	struct appr_cache *c, **pp;

	for (pp = &aps->cache; *pp != NULL;) {
		c = *pp;
		if (group == NULL || (strncmp(c->key, "group:", 6) == 0 &&
		                         strcasecmp(c->key + 6, group) == 0)) {
			*pp = c->next;
			appr_cache_free_one(c);
			aps->ncache--;
			continue;
		}
		pp = &c->next;
	}
}

/* ---- jobs --------------------------------------------------------------- */

static void
appr_job_free(struct appr_state *aps, struct appr_job *j)
{
	size_t p, i;

	if (j == NULL)
		return;
	if (j->prev != NULL)
		j->prev->next = j->next;
	else if (aps->jobs == j)
		aps->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	for (p = 0; p < 2; p++)
		for (i = 0; i < j->nsets[p]; i++)
			free(j->sets[p][i].value);
	plist_clear(&j->acc);
	plist_clear(&j->cur);
	free(j->key);
	free(j);
}

static void
appr_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct appr_retry *r = arg, **pp;
	struct appr_state *aps = r->d->appr;

	(void)fd;
	(void)what;
	for (pp = &aps->retries; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	appr_run(r->d, r->key, r->stage, r->refresh, NULL);
	event_free(r->ev);
	free(r->key);
	free(r);
}

/* Resolution failed: leave the request pending, try again later (once per
 * request and stage; a refresh stays a refresh). */
static void
appr_retry_add(struct daemon *d, const char *key, uint32_t stage, int refresh,
    const char *why)
{
	struct appr_state *aps = d->appr;
	struct appr_retry *r;
	struct timeval tv = { APPR_RETRY_S, 0 };

	log_warnx("request %s: stage %u approvers not resolved (%s); "
	          "retry in %ds",
	    key, stage + 1, why, APPR_RETRY_S);
	for (r = aps->retries; r != NULL; r = r->next)
		if (r->stage == stage && strcmp(r->key, key) == 0) {
			r->refresh |= refresh;
			return;
		}
	if ((r = calloc(1, sizeof(*r))) != NULL &&
	    (r->key = strdup(key)) != NULL &&
	    (r->ev = evtimer_new(d->base, appr_retry_cb, r)) != NULL) {
		r->d = d;
		r->stage = stage;
		r->refresh = refresh;
		r->next = aps->retries;
		aps->retries = r;
		evtimer_add(r->ev, &tv);
	} else if (r != NULL) {
		free(r->key);
		free(r);
	}
}

static void
appr_fail(struct appr_state *aps, struct appr_job *j, const char *why)
{
	appr_retry_add(j->d, j->key, j->stage, j->refresh, why);
	appr_job_free(aps, j);
}

/* 1 when `p` is principal `q` (object id, or UPN case-insensitively). */
static int
appr_is(const struct sm_principal *p, const struct sm_principal *q)
{
	return (p->id[0] != '\0' && q->id[0] != '\0' &&
	           strcasecmp(p->id, q->id) == 0) ||
	       (p->upn[0] != '\0' && q->upn[0] != '\0' &&
	           strcasecmp(p->upn, q->upn) == 0);
}

/* 1 when `name` (an object id or UPN) appears in the raw identity key
 * `key` as a whole token: "rsn:alex@contoso.com" names alex@contoso.com
 * even though it resolves to nobody. */
static int
appr_key_names(const char *key, const char *name)
{
	size_t n = strlen(name);
	const char *k;

	if (key[0] == '\0' || n == 0)
		return 0;
	for (k = key; (k = strcasestr(k, name)) != NULL; k++) {
		int before = k == key || !(isalnum((unsigned char)k[-1]) ||
		                             strchr("._-'@", k[-1]));
		int after = k[n] == '\0' || !(isalnum((unsigned char)k[n]) ||
		                                strchr("._-'@", k[n]));

		if (before && after)
			return 1;
	}
	return 0;
}

/* 1 when `p` may not approve this stage of the request: the requestor, the
 * beneficiary, the creator, anyone a raw identity key names, and anyone
 * who approved an earlier stage. */
static int
appr_excluded(const struct appr_job *j, const struct sm_principal *p)
{
	uint32_t s, i;

	if (sm_same_principal(p, &j->requestor) || appr_is(p, &j->who) ||
	    appr_is(p, &j->beneficiary))
		return 1;
	if (j->created_by[0] != '\0' &&
	    (strcasecmp(p->id, j->created_by) == 0 ||
	        strcasecmp(p->upn, j->created_by) == 0))
		return 1;
	if (appr_key_names(j->rkey, p->id) || appr_key_names(j->rkey, p->upn) ||
	    appr_key_names(j->bkey, p->id) || appr_key_names(j->bkey, p->upn))
		return 1;
	for (s = 0; s < j->stage && s < SM_MAX_STAGES; s++)
		for (i = 0;
		     i < j->sm.record[s].napprovals && i < SM_MAX_APPROVALS;
		     i++)
			if (sm_same_principal(p, &j->sm.record[s].approvers[i]))
				return 1;
	return 0;
}

/* Stored eligible approvers of (key, stage); -1 on error. */
int
approvers_stage_rows(struct daemon *d, const char *key, uint32_t stage)
{
	return store_approvers_count(d->store, key, stage);
}

/* Write the eligible set (or feed NO_APPROVER) in the open batch. */
static void
appr_finish(struct appr_job *j, const struct plist *eligible)
{
	struct daemon *d = j->d;
	struct appr_state *aps = d->appr;
	struct store_request r;
	struct sm_event ev;

	memset(&r, 0, sizeof(r));
	if (store_begin(d->store) == -1 ||
	    store_request_get(d->store, j->key, &r) != 0) {
		appr_fail(aps, j, "cannot load the request");
		store_request_clear(&r);
		return;
	}
	batch_dirty(d);
	if ((r.sm.state != SM_S_PENDING && r.sm.state != SM_S_ESCALATED) ||
	    r.sm.stage != j->stage) {
		log_debug("request %s: stage %u resolved after it moved on",
		    j->key, j->stage + 1);
		goto out;
	}
	if (j->forgets != aps->forgets) {
		/* Some request's stages restarted under a new policy while
		 * this ran: what it read may be the old stage's. Fail
		 * closed: resolve the stage again from scratch. */
		log_debug("request %s: stage %u resolved across a policy "
		          "change; resolving again",
		    j->key, j->stage + 1);
		appr_run(d, j->key, j->stage, 1, NULL);
		goto out;
	}
	if (eligible->n == 0) {
		if (j->escalation) {
			log_info("request %s: stage %u escalation resolved "
			         "to nobody eligible; primaries remain",
			    j->key, j->stage + 1);
			goto release;
		}
		if (r.sm.state == SM_S_ESCALATED) {
			log_info("request %s: stage %u primaries resolved to "
			         "nobody eligible; escalation remains",
			    j->key, j->stage + 1);
			goto out;
		}
		log_warnx("request %s: stage %u: no eligible approver", j->key,
		    j->stage + 1);
		memset(&ev, 0, sizeof(ev));
		ev.kind = SM_E_NO_APPROVER;
		if (d->eng->event(d, &r, &ev, "no eligible approver") == SM_OK)
			goto release;
		goto out;
	}
	if (store_approvers_add(d->store, j->key, j->stage, eligible->v,
	        eligible->n, j->escalation) == -1) {
		log_warnx("request %s: cannot store approvers: %s", j->key,
		    store_errmsg(d->store));
		goto out;
	}
	log_info("request %s: stage %u: %zu eligible approver(s)%s", j->key,
	    j->stage + 1, eligible->n,
	    j->escalation ? " added by escalation" : "");
release:
	/* The stage's messages waited for this answer. */
	if (notify_release(d, j->key, j->stage) == -1)
		log_warnx("request %s: stage %u messages stay held", j->key,
		    j->stage + 1);
out:
	store_request_clear(&r);
	appr_job_free(aps, j);
}

static void
appr_phase_done(struct appr_state *aps, struct appr_job *j)
{
	struct plist el;
	size_t i;

	if (j->gen != aps->gen) {
		/* A membership changed while this ran: start over. */
		j->gen = aps->gen;
		j->phase = 0;
		j->idx = 0;
		plist_clear(&j->acc);
		plist_clear(&j->cur);
		appr_next(aps, j);
		return;
	}
	memset(&el, 0, sizeof(el));
	for (i = 0; i < j->acc.n; i++)
		if (!appr_excluded(j, &j->acc.v[i]) &&
		    plist_add(&el, j->acc.v[i].id, j->acc.v[i].upn) == -1) {
			plist_clear(&el);
			appr_fail(aps, j, "too many approvers");
			return;
		}
	if (el.n == 0 && j->phase == 0 && j->nsets[1] > 0) {
		log_info("request %s: stage %u: nobody eligible among the %s; "
		         "using the fallback",
		    j->key, j->stage + 1,
		    j->escalation ? "escalation approvers" : "approvers");
		plist_clear(&el);
		plist_clear(&j->acc);
		j->phase = 1;
		j->idx = 0;
		appr_next(aps, j);
		return;
	}
	appr_finish(j, &el);
	plist_clear(&el);
}

/* The set in progress is complete: cache it, add it, go on. */
static void
appr_set_done(struct appr_state *aps, struct appr_job *j)
{
	char ck[512];

	appr_cache_key(j, &j->sets[j->phase][j->idx], ck, sizeof(ck));
	if (j->gen == aps->gen) /* else it may predate a change */
		appr_cache_put(aps, ck, &j->cur);
	if (plist_merge(&j->acc, &j->cur) == -1) {
		appr_fail(aps, j, "too many approvers");
		return;
	}
	plist_clear(&j->cur);
	j->idx++;
	appr_next(aps, j);
}

/* An id or UPN that may stand in a Graph path as it is. */
int
approvers_safe_value(const char *v)
{
	const char *p;

	if (v == NULL || *v == '\0' || strlen(v) >= SM_ID_MAX)
		return 0;
	for (p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		        (*p >= '0' && *p <= '9') || strchr("@._-", *p)))
			return 0;
	return 1;
}

static void appr_get(struct appr_job *j, const char *url);

static void
appr_graph_cb(void *arg, long status, const char *body, const char *err)
{
	struct appr_job *j = arg;
	struct appr_state *aps = j->d->appr;
	const struct appr_set *s = &j->sets[j->phase][j->idx];
	struct json_object *o = NULL, *arr, *m;
	const char *id, *upn, *next, *type;
	char url[1024];
	size_t i;

	if (status == 404) {
		/* No such user / group / manager: that set is nobody. */
		plist_clear(&j->cur);
		appr_set_done(aps, j);
		return;
	}
	if (status != 200 || body == NULL ||
	    (o = json_tokener_parse(body)) == NULL) {
		char why[256];

		snprintf(why, sizeof(why), "Graph answered %ld%s%s", status,
		    err ? ": " : "", err ? err : "");
		appr_fail(aps, j, why);
		return;
	}
	switch (s->kind) {
	case APPROVER_USER:
		ident_name_put(j->d, 0, adapter_str(o, "id"),
		    adapter_str(o, "displayName"));
		if (plist_add(&j->cur, adapter_str(o, "id"),
		        adapter_str(o, "userPrincipalName")) == -1)
			goto fail;
		break;
	case APPROVER_MANAGER:
		id = adapter_str(o, "id");
		if (id == NULL || !approvers_safe_value(id))
			goto fail;
		if (--j->level_left > 0) {
			snprintf(url, sizeof(url), "%s/v1.0/users/%s/manager",
			    j->d->graph_base, id);
			json_object_put(o);
			appr_get(j, url);
			return;
		}
		ident_name_put(j->d, 0, id, adapter_str(o, "displayName"));
		if (plist_add(
		        &j->cur, id, adapter_str(o, "userPrincipalName")) == -1)
			goto fail;
		break;
	case APPROVER_GROUP:
		if (!json_object_object_get_ex(o, "value", &arr) ||
		    !json_object_is_type(arr, json_type_array))
			goto fail;
		for (i = 0; i < json_object_array_length(arr); i++) {
			m = json_object_array_get_idx(arr, i);
			type = adapter_str(m, "@odata.type");
			if (type != NULL &&
			    strcmp(type, "#microsoft.graph.user") != 0)
				continue;
			id = adapter_str(m, "id");
			upn = adapter_str(m, "userPrincipalName");
			ident_name_put(
			    j->d, 0, id, adapter_str(m, "displayName"));
			if (plist_add(&j->cur, id, upn) == -1)
				goto fail;
		}
		next = adapter_str(o, "@odata.nextLink");
		if (next != NULL) {
			size_t bl = strlen(j->d->graph_base);

			/* nextLink must stay on the Graph origin. */
			if (++j->pages > GRAPH_MAX_PAGES ||
			    strncmp(next, j->d->graph_base, bl) != 0 ||
			    next[bl] != '/' || strlen(next) >= sizeof(url))
				goto fail;
			snprintf(url, sizeof(url), "%s", next);
			json_object_put(o);
			appr_get(j, url);
			return;
		}
		break;
	default:
		goto fail;
	}
	json_object_put(o);
	appr_set_done(aps, j);
	return;
fail:
	json_object_put(o);
	appr_fail(aps, j, "unexpected Graph answer");
}

static void
appr_get(struct appr_job *j, const char *url)
{
	daemon_graph(j->d, TOKEN_APP, "GET", url, NULL, appr_graph_cb, j);
}

/* Resolve the next set of the phase, from the cache or Graph. */
static void
appr_next(struct appr_state *aps, struct appr_job *j)
{
	const struct appr_set *s;
	const struct plist *hit;
	const char *who;
	char ck[512], url[1024];

	if (j->idx >= j->nsets[j->phase]) {
		appr_phase_done(aps, j);
		return;
	}
	s = &j->sets[j->phase][j->idx];
	appr_cache_key(j, s, ck, sizeof(ck));
	if ((hit = appr_cache_get(aps, ck)) != NULL) {
		plist_clear(&j->cur);
		if (plist_merge(&j->cur, hit) == -1) {
			appr_fail(aps, j, "out of memory");
			return;
		}
		j->idx++;
		if (plist_merge(&j->acc, &j->cur) == -1) {
			appr_fail(aps, j, "too many approvers");
			return;
		}
		plist_clear(&j->cur);
		appr_next(aps, j);
		return;
	}
	plist_clear(&j->cur);
	j->pages = 0;
	switch (s->kind) {
	case APPROVER_USER:
		if (!approvers_safe_value(s->value))
			goto bad;
		snprintf(url, sizeof(url),
		    "%s/v1.0/users/%s?$select=id,userPrincipalName,"
		    "displayName",
		    j->d->graph_base, s->value);
		break;
	case APPROVER_GROUP:
		if (!approvers_safe_value(s->value))
			goto bad;
		snprintf(url, sizeof(url),
		    "%s/v1.0/groups/%s/transitiveMembers?$top=%d",
		    j->d->graph_base, s->value, GRAPH_PAGE_SIZE);
		break;
	case APPROVER_MANAGER:
		/* The manager of the resolved requestor, never of what the
		 * body says: an unverified request has no manager. */
		who = j->who.id;
		if (!j->verified || !approvers_safe_value(who)) {
			log_info("request %s: stage %u: requestor not resolved "
			         "to a directory user: no manager",
			    j->key, j->stage + 1);
			j->idx++;
			appr_next(aps, j);
			return;
		}
		if (s->level < 1 || s->level > 2)
			goto bad;
		j->level_left = s->level;
		snprintf(url, sizeof(url), "%s/v1.0/users/%s/manager",
		    j->d->graph_base, who);
		break;
	default:
		goto bad;
	}
	appr_get(j, url);
	return;
bad:
	appr_fail(aps, j, "approver set cannot be looked up");
}

static int
appr_copy_sets(struct appr_job *j, int phase, const struct approver_ref_list *l)
{
	size_t i;

	for (i = 0; i < l->n && i < APPR_SETS_MAX; i++) {
		struct appr_set *s = &j->sets[phase][i];

		s->kind = l->v[i]->kind;
		s->level = l->v[i]->level;
		if (l->v[i]->value != NULL &&
		    (s->value = strdup(l->v[i]->value)) == NULL)
			return -1;
		j->nsets[phase] = i + 1;
	}
	return l->n > APPR_SETS_MAX ? -1 : 0;
}

static void
appr_principal(struct sm_principal *dst, const struct req_principal *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->id != NULL)
		snprintf(dst->id, sizeof(dst->id), "%s", src->id);
	if (src->upn != NULL)
		snprintf(dst->upn, sizeof(dst->upn), "%s", src->upn);
}

/* Start one job on `stage` of r: the escalation sets or the primaries. */
static void
appr_job_start(struct daemon *d, const struct store_request *r,
    const struct request *req, const struct policy_stage *ps, int escalation,
    int refresh)
{
	struct appr_state *aps = d->appr;
	struct appr_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->key = strdup(r->key)) == NULL) {
		free(j);
		log_warnx(
		    "request %s: out of memory resolving approvers", r->key);
		return;
	}
	j->next = aps->jobs;
	if (aps->jobs != NULL)
		aps->jobs->prev = j;
	aps->jobs = j;
	j->d = d;
	j->stage = r->sm.stage;
	j->escalation = escalation;
	j->refresh = refresh;
	j->gen = aps->gen;
	j->forgets = aps->forgets;
	j->sm = r->sm;
	j->requestor = r->sm.requestor;
	if (req->created_by != NULL)
		snprintf(j->created_by, sizeof(j->created_by), "%s",
		    req->created_by);
	j->verified = req->identity == REQ_ID_VERIFIED;
	appr_principal(&j->who, &req->who);
	appr_principal(&j->beneficiary, &req->beneficiary);
	if (req->requestor_key != NULL)
		snprintf(j->rkey, sizeof(j->rkey), "%s", req->requestor_key);
	if (req->beneficiary_key != NULL)
		snprintf(j->bkey, sizeof(j->bkey), "%s", req->beneficiary_key);
	if (appr_copy_sets(
	        j, 0, escalation ? &ps->escalation : &ps->approvers) == -1 ||
	    appr_copy_sets(j, 1,
	        escalation ? &ps->fallback_escalation : &ps->fallback) == -1) {
		appr_fail(aps, j, "too many approver sets");
		return;
	}
	appr_next(aps, j);
}

static int
appr_refs_use(const struct approver_ref_list *l, const char *group)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i]->kind == APPROVER_GROUP && l->v[i]->value != NULL &&
		    strcasecmp(l->v[i]->value, group) == 0)
			return 1;
	return 0;
}

/* Does the stage (as far as its state uses it) draw on `group`? */
static int
appr_stage_uses(const struct policy_stage *ps, int escalated, const char *group)
{
	return appr_refs_use(&ps->approvers, group) ||
	       appr_refs_use(&ps->fallback, group) ||
	       (escalated &&
	           (appr_refs_use(&ps->escalation, group) ||
	               appr_refs_use(&ps->fallback_escalation, group)));
}

/* Clear the stored set of (key, stage) in the open batch. */
static int
appr_clear_stage(struct daemon *d, const char *key, uint32_t stage)
{
	if (store_begin(d->store) == -1)
		return -1;
	batch_dirty(d);
	return store_approvers_clear_stage(d->store, key, stage);
}

/* Forget every stored eligible set of request `key` in the open batch: its
 * stages start again under a new decision. Resolutions in flight then
 * finish by resolving again (appr_finish). 0, or -1 on a store error. */
int
approvers_forget(struct daemon *d, const char *key)
{
	struct appr_state *aps = d->appr;

	aps->forgets++;
	if (store_begin(d->store) == -1)
		return -1;
	batch_dirty(d);
	return store_approvers_forget(d->store, key);
}

/*
 * Resolve the approvers of `stage` of request `key`: the sets its state
 * asks for (the escalation sets in ESCALATED, added to the stage's set).
 * `refresh`: clear the stored set and resolve every set of the stage again,
 * only when the stage uses `group` (NULL: any).
 */
static void
appr_run(struct daemon *d, const char *key, uint32_t stage, int refresh,
    const char *group)
{
	struct store_request r;
	struct request req;
	struct policy_stages *st = NULL;
	const struct policy_stage *ps;
	const char *why = NULL;
	char *err = NULL;
	int escalated;

	memset(&r, 0, sizeof(r));
	memset(&req, 0, sizeof(req));
	if (store_request_get(d->store, key, &r) != 0)
		goto out;
	if ((r.sm.state != SM_S_PENDING && r.sm.state != SM_S_ESCALATED) ||
	    r.sm.stage != stage)
		goto out;
	escalated = r.sm.state == SM_S_ESCALATED;
	if (ident_request(&r, &req, &err) == -1) {
		appr_retry_add(
		    d, key, stage, refresh, "request cannot be read");
		goto out;
	}
	/* Decided before identities were stored: resolve it now; never
	 * evaluated without one, and nobody decides meanwhile. */
	if (req.identity == REQ_ID_UNCHECKED &&
	    ident_resolve(d, key, &req) == 0) {
		appr_retry_add(d, key, stage, refresh, "identity not resolved");
		goto out;
	}
	/* The stage definitions as the verdict that decided gave them
	 * (stored with it), never the policy evaluated again now. */
	if (stages_of(d, &r, &req, &st, &why) == -1) {
		appr_retry_add(d, key, stage, refresh, why);
		goto out;
	}
	if (stage >= st->v.nstages) {
		appr_retry_add(d, key, stage, refresh,
		    "the deciding rule has no such stage");
		goto out;
	}
	ps = &st->v.stages[stage];
	if (!refresh) {
		appr_job_start(d, &r, &req, ps, escalated, 0);
		goto out;
	}
	if (group != NULL && !appr_stage_uses(ps, escalated, group))
		goto out;
	/* Fail closed: nobody decides until the new set is stored. */
	if (appr_clear_stage(d, key, stage) == -1) {
		appr_retry_add(d, key, stage, 1, "store error");
		goto out;
	}
	log_info("request %s: stage %u approvers resolved again (%s%s)", key,
	    stage + 1, group ? "membership of group " : "every group",
	    group ? group : "");
	appr_job_start(d, &r, &req, ps, 0, 1);
	if (escalated)
		appr_job_start(d, &r, &req, ps, 1, 1);
out:
	policy_stages_free(st);
	free(err);
	request_free(&req);
	store_request_clear(&r);
}

/* Start resolving the approvers of `stage` of request `key` (after the
 * batch that asked for it committed). */
void
approvers_resolve(struct daemon *d, const char *key, uint32_t stage)
{
	appr_run(d, key, stage, 0, NULL);
}

struct appr_change {
	struct daemon *d;
	const char *group;
};

static int
appr_refresh_one(void *arg, const struct store_request *r)
{
	struct appr_change *c = arg;

	appr_run(c->d, r->key, r->sm.stage, 1, c->group);
	return 0;
}

/* Groups changed since the last refresh (all: any group may have). */

static void
appr_refresh(struct daemon *d, const char *group)
{
	struct appr_change c = { d, group };

	store_request_each(
	    d->store, sm_state_name(SM_S_PENDING), appr_refresh_one, &c);
	store_request_each(
	    d->store, sm_state_name(SM_S_ESCALATED), appr_refresh_one, &c);
}

static void
appr_changed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct appr_state *aps = d->appr;
	size_t i;

	(void)fd;
	(void)what;
	if (aps->changed.all)
		appr_refresh(d, NULL);
	for (i = 0; i < aps->changed.n; i++) {
		if (!aps->changed.all)
			appr_refresh(d, aps->changed.v[i]);
		free(aps->changed.v[i]);
	}
	aps->changed.n = 0;
	aps->changed.all = 0;
}

/*
 * The membership of `group` changed (NULL: perhaps of any group, e.g. Graph
 * notifications were missed). What is cached is dropped at once; every
 * waiting stage that uses the group is resolved again in the next loop turn
 * (changes that arrive together are coalesced), so the notification is
 * answered without waiting for the store.
 */
void
approvers_group_changed(struct daemon *d, const char *group)
{
	struct appr_state *aps = d->appr;
	size_t i;

	aps->gen++;
	appr_cache_drop(aps, group);
	eligible_group_changed(d, group);
	member_forget(d, group);
	if (group == NULL || aps->changed.n == APPR_SETS_MAX)
		aps->changed.all = 1;
	else {
		for (i = 0; i < aps->changed.n; i++)
			if (strcasecmp(aps->changed.v[i], group) == 0)
				break;
		if (i == aps->changed.n) {
			if ((aps->changed.v[i] = strdup(group)) != NULL)
				aps->changed.n++;
			else
				aps->changed.all = 1;
		}
	}
	if (aps->changed.ev == NULL && (aps->changed.ev = event_new(d->base, -1,
	                                    0, appr_changed_cb, d)) == NULL) {
		appr_changed_cb(-1, 0, d); /* no event: now, then */
		return;
	}
	if (!event_pending(aps->changed.ev, EV_TIMEOUT, NULL))
		event_active(aps->changed.ev, EV_TIMEOUT, 0);
}

static int
appr_resume_one(void *arg, const struct store_request *r)
{
	struct daemon *d = arg;
	int rows = approvers_stage_rows(d, r->key, r->sm.stage);

	/* An escalated stage without rows was being resolved again when the
	 * daemon stopped: primaries and escalation both. */
	if (r->sm.state == SM_S_ESCALATED && rows == 0)
		appr_run(d, r->key, r->sm.stage, 1, NULL);
	else if (rows == 0 || r->sm.state == SM_S_ESCALATED)
		approvers_resolve(d, r->key, r->sm.stage);
	return 0;
}

/* After a restart: resolve every waiting stage that has no stored set (and
 * redo escalations, whose additions are idempotent). */
void
approvers_resume(struct daemon *d)
{
	store_request_each(
	    d->store, sm_state_name(SM_S_PENDING), appr_resume_one, d);
	store_request_each(
	    d->store, sm_state_name(SM_S_ESCALATED), appr_resume_one, d);
}

void
approvers_free(struct daemon *d)
{
	struct appr_state *aps = d->appr;
	struct appr_job *j;
	struct appr_cache *c;
	struct appr_retry *r;

	eligible_free(d);
	if (aps == NULL)
		return;
	/* After the loop: no Graph call in flight will answer any more. */
	while ((j = aps->jobs) != NULL) {
		/* unlinked here, where the analyzer sees the list head */
		aps->jobs = j->next;
		if (j->next != NULL)
			j->next->prev = NULL;
		j->prev = j->next = NULL;
		appr_job_free(aps, j);
	}
	while ((c = aps->cache) != NULL) {
		aps->cache = c->next;
		appr_cache_free_one(c);
	}
	aps->ncache = 0;
	while ((r = aps->retries) != NULL) {
		aps->retries = r->next;
		event_free(r->ev);
		free(r->key);
		free(r);
	}
	while (aps->changed.n > 0)
		free(aps->changed.v[--aps->changed.n]);
	if (aps->changed.ev != NULL)
		event_free(aps->changed.ev);
	free(aps);
	d->appr = NULL;
}

/* Allocate d->appr (before any other approvers_ call); -1 out of memory. */
int
approvers_init(struct daemon *d)
{
	if (d->appr == NULL && (d->appr = calloc(1, sizeof(*d->appr))) == NULL)
		return -1;
	return 0;
}

/* Forget the eligible sets of finished requests (bounded per call). */
void
approvers_prune(struct daemon *d)
{
	int n;

	if (store_begin(d->store) == -1)
		return;
	batch_dirty(d);
	if (store_approvers_prune(d->store, PRUNE_BATCH, &n) == -1)
		log_warnx("approvers: cannot prune finished requests: %s",
		    store_errmsg(d->store));
	else if (n > 0)
		log_debug("approvers: pruned %d approver rows of finished "
		          "requests",
		    n);
}

/* ---- control commands ----------------------------------------------------- */

static struct json_object *
appr_reply(const char *result, const char *why)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "result", json_object_new_string(result));
	if (why != NULL)
		json_object_object_add(o, "why", json_object_new_string(why));
	return o;
}

/* Look `name` (id, or UPN case-insensitively) up in the stage's set:
 * 1 found (into *out), 0 not, -1 error. */
int
approvers_lookup(struct daemon *d, const char *key, uint32_t stage,
    const char *name, struct sm_principal *out)
{
	return store_approvers_lookup(d->store, key, stage, name, out);
}

struct appr_ctl_op {
	struct daemon *d;
	ctl_reply_cb later;
	void *arg;
};

static void
appr_ctl_decided(void *arg, enum sm_result res, const char *why,
    const char *state, enum elig_result elig)
{
	struct appr_ctl_op *op = arg;
	struct json_object *o;

	/* "ok" only once the decision is on disk (as decision links do): a
	 * crash before the commit, or a failed one, must not leave the
	 * approver believing a decision is recorded that is not. */
	if (res == SM_OK) {
		crash_point("decide-uncommitted");
		if (batch_commit(op->d) == -1) {
			log_warnx("control socket: decision on the request not "
			          "recorded: the store refused the commit");
			o = appr_reply("refused", DECIDE_NOT_STORED);
			op->later(op->arg, o);
			free(op);
			return;
		}
		crash_point("decide-committed");
	}
	if (res == SM_OK)
		o = appr_reply("ok", state);
	else {
		o = appr_reply(res == SM_NOOP ? "noop" : "refused",
		    why ? why : sm_result_name(res));
		if (elig != ELIG_YES)
			json_object_object_add(o, "membership",
			    json_object_new_string(
			        elig == ELIG_NO ? "not an approver any more"
			                        : "not verified"));
	}
	op->later(op->arg, o);
	free(op);
}

/*
 * May the socket's peer decide as `who`? Its uid (and user name) must have
 * an `operators` entry naming `who`, by the name given or, when `who` is
 * in the stage's stored set, by that principal's id or UPN. Root too: the
 * audit records who decided, and root is no exception. 0 when allowed
 * (`user` gets the peer's user name, or ""), else -1 with the refusal
 * (heap, may be NULL) in *msg.
 */
static int
appr_ctl_operator(struct daemon *d, const struct ctl_peer *peer,
    const char *key, const char *who, char *user, size_t userlen, char **msg)
{
	struct store_request r;
	struct sm_principal p;
	struct passwd pw, *res = NULL;
	const char *names[3];
	char buf[4096], id[64];
	int rc;

	*msg = NULL;
	user[0] = '\0';
	if (getpwuid_r((uid_t)peer->uid, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL)
		snprintf(user, userlen, "%s", pw.pw_name);
	names[0] = who;
	names[1] = names[2] = NULL;
	memset(&r, 0, sizeof(r));
	memset(&p, 0, sizeof(p));
	if (store_request_get(d->store, key, &r) == 0 &&
	    (r.sm.state == SM_S_PENDING || r.sm.state == SM_S_ESCALATED) &&
	    approvers_lookup(d, key, r.sm.stage, who, &p) == 1) {
		names[1] = p.id;
		names[2] = p.upn;
	}
	store_request_clear(&r);
	rc = settings_operator_may(d->settings, (unsigned long)peer->uid,
	    user[0] ? user : NULL, names, 3);
	if (rc == 1)
		return 0;
	if (user[0])
		snprintf(id, sizeof(id), "unix user '%s' (uid %ld)", user,
		    peer->uid);
	else
		snprintf(id, sizeof(id), "unix uid %ld", peer->uid);
	if (asprintf(msg, "%s may not decide as %s: %s", id, who,
	        rc == -1 ? "no operators entry"
	                 : "its operators entry does not name them") == -1)
		*msg = NULL;
	log_warnx("control socket: %s (pid %ld) may not decide as %s on %s: %s",
	    id, peer->pid, who, key,
	    rc == -1 ? "no operators entry"
	             : "its operators entry does not name them");
	return -1;
}

/* decide KEY approve|deny PRINCIPAL [REASON...] */
struct json_object *
approvers_ctl_decide(struct daemon *d, char *rest, const struct ctl_peer *peer,
    ctl_reply_cb later, void *arg, int *deferred)
{
	struct decide_in in;
	struct appr_ctl_op *op;
	struct json_object *o;
	char *save = NULL, *verb, user[256], *msg = NULL;

	memset(&in, 0, sizeof(in));
	in.key = strtok_r(rest, " \t", &save);
	verb = strtok_r(NULL, " \t", &save);
	in.who = strtok_r(NULL, " \t", &save);
	in.reason = strtok_r(NULL, "", &save);
	while (in.reason != NULL && (*in.reason == ' ' || *in.reason == '\t'))
		in.reason++;
	if (in.key == NULL || verb == NULL || in.who == NULL ||
	    (strcmp(verb, "approve") != 0 && strcmp(verb, "deny") != 0))
		return appr_reply("refused",
		    "usage: decide KEY approve|deny PRINCIPAL REASON");
	in.approve = strcmp(verb, "approve") == 0;
	in.via = DECIDE_SOCKET;
	if (strlen(in.who) >= SM_ID_MAX)
		return appr_reply("refused", "principal too long");
	if (appr_ctl_operator(
	        d, peer, in.key, in.who, user, sizeof(user), &msg) == -1) {
		o = appr_reply("refused", msg ? msg : "not an operator");
		free(msg);
		return o;
	}
	in.has_peer = 1;
	in.peer_uid = peer->uid;
	in.peer_user = user[0] ? user : NULL;
	if ((op = calloc(1, sizeof(*op))) == NULL)
		return appr_reply("refused", "out of memory");
	op->d = d;
	op->later = later;
	op->arg = arg;
	*deferred = 1;
	d->eng->decide(d, &in, appr_ctl_decided, op);
	return NULL;
}

static int
appr_ctl_list_one(void *arg, const struct store_approver *sa)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "id", json_object_new_string(sa->id));
	json_object_object_add(a, "upn", json_object_new_string(sa->upn));
	json_object_object_add(
	    a, "escalation", json_object_new_boolean(sa->escalation));
	json_object_array_add(arg, a);
	return 0;
}

/* approvers KEY [STAGE]: the stored eligible set (1-based stage). */
struct json_object *
approvers_ctl_list(struct daemon *d, char *rest)
{
	struct store_request r;
	char *save = NULL, *key, *sn;
	uint32_t stage;
	struct json_object *o, *arr;

	key = strtok_r(rest, " \t", &save);
	sn = strtok_r(NULL, " \t", &save);
	memset(&r, 0, sizeof(r));
	if (key == NULL || store_request_get(d->store, key, &r) != 0)
		return appr_reply("refused", "no such request");
	stage = sn != NULL ? (uint32_t)strtoul(sn, NULL, 10) - 1 : r.sm.stage;
	store_request_clear(&r);
	arr = json_object_new_array();
	store_approvers_each(d->store, key, stage, STORE_APPROVERS_BY_UPN,
	    appr_ctl_list_one, arr);
	o = json_object_new_object();
	json_object_object_add(o, "stage", json_object_new_int((int)stage + 1));
	json_object_object_add(o, "approvers", arr);
	return o;
}
