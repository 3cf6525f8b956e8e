/*
 * Transitive group membership through Graph:
 *
 *   POST /v1.0/users/{id}/checkMemberGroups  {"groupIds": ["{group id}"]}
 *   -> 200 {"value": [the group ids, of those asked, the user is in]}
 *
 * (microsoftgraph/microsoft-graph-docs-contrib
 * api-reference/v1.0/api/directoryobject-checkmembergroups.md: transitive,
 * up to 20 groups per call). 404: no such user, so in no group. Answers are
 * cached for MEMBER_CACHE_TTL; a failed lookup caches nothing and its
 * waiters are retried with backoff, never answered "no".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "effects.h"
#include "log.h"
#include "member.h"

struct member_entry {
	struct member_entry *next;
	char *user, *group; /* lower-cased */
	int64_t expires;
	int in;
};

struct member_lookup {
	struct member_lookup *next;
	struct daemon *d;
	char *user, *group;
	char **waiters;
	size_t nwaiters;
};

struct member_state {
	struct member_entry *cache;
	size_t ncache;
	struct member_lookup *lookups;
};

static char *
member_lower(const char *s)
{
	char *l = strdup(s), *p;

	if (l != NULL)
		for (p = l; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	return l;
}

static void
member_entry_free(struct member_entry *e)
{
	free(e->user);
	free(e->group);
	free(e);
}

static const struct member_entry *
member_cache_get(struct member_state *mb, const char *user, const char *group)
{
	struct member_entry *e;

	for (e = mb->cache; e != NULL; e = e->next)
		if (strcmp(e->user, user) == 0 && strcmp(e->group, group) == 0)
			return e->expires > clock_now() ? e : NULL;
	return NULL;
}

static void
member_cache_put(
    struct member_state *mb, const char *user, const char *group, int in)
{
	struct member_entry *e, **pp;

	for (pp = &mb->cache; *pp != NULL;) {
		e = *pp;
		if ((strcmp(e->user, user) == 0 &&
		        strcmp(e->group, group) == 0) ||
		    (mb->ncache >= MEMBER_CACHE_MAX && e->next == NULL)) {
			*pp = e->next;
			member_entry_free(e);
			mb->ncache--;
			continue;
		}
		pp = &e->next;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->user = strdup(user)) == NULL ||
	    (e->group = strdup(group)) == NULL) {
		if (e != NULL)
			member_entry_free(e);
		return;
	}
	e->in = in;
	e->expires = clock_now() + MEMBER_CACHE_TTL;
	e->next = mb->cache;
	mb->cache = e;
	mb->ncache++;
}

void
member_forget(struct daemon *d, const char *group_id)
{
	struct member_state *mb = d->member;
	struct member_entry *e, **pp;

	if (mb == NULL)
		return;
	for (pp = &mb->cache; *pp != NULL;) {
		e = *pp;
		if (group_id == NULL || strcasecmp(e->group, group_id) == 0) {
			*pp = e->next;
			member_entry_free(e);
			mb->ncache--;
			continue;
		}
		pp = &e->next;
	}
}

static void
member_lookup_free(struct member_lookup *l)
{
	size_t i;

	for (i = 0; i < l->nwaiters; i++)
		free(l->waiters[i]);
	free(l->waiters);
	free(l->user);
	free(l->group);
	free(l);
}

/* 1 in, 0 not, -1 the answer decides nothing. */
static int
member_parse(const struct member_lookup *l, long status, const char *body)
{
	struct json_object *o, *arr, *v;
	size_t i;
	int in = -1;

	if (status == 404)
		return 0;
	if (status != 200 || body == NULL ||
	    (o = parse_json(body, strlen(body))) == NULL)
		return -1;
	if ((arr = parse_arr(o, "value")) != NULL) {
		in = 0;
		for (i = 0; i < json_object_array_length(arr); i++) {
			v = json_object_array_get_idx(arr, i);
			if (json_object_is_type(v, json_type_string) &&
			    strcasecmp(json_object_get_string(v), l->group) ==
			        0)
				in = 1;
		}
	}
	json_object_put(o);
	return in;
}

static void
member_graph_cb(void *arg, long status, const char *body, const char *err)
{
	struct member_lookup *l = arg, **pp;
	struct member_state *mb = l->d->member;
	size_t i;
	int in;

	for (pp = &mb->lookups; *pp != NULL; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	in = member_parse(l, status, body);
	if (in == -1) {
		log_warnx(
		    "membership: %s in group %s not known (Graph answered "
		    "%ld%s%s); retried",
		    l->user, l->group, status, err ? ": " : "", err ? err : "");
		for (i = 0; i < l->nwaiters; i++)
			l->d->eng->retry_later(l->d, l->waiters[i]);
	} else {
		log_debug("membership: %s %s group %s", l->user,
		    in ? "is in" : "is not in", l->group);
		member_cache_put(mb, l->user, l->group, in);
		for (i = 0; i < l->nwaiters; i++)
			l->d->eng->wake(l->d, l->waiters[i]);
	}
	member_lookup_free(l);
}

static int
member_add_waiter(struct member_lookup *l, const char *waiter)
{
	char **w;
	size_t i;

	if (waiter == NULL)
		return 0;
	for (i = 0; i < l->nwaiters; i++)
		if (strcmp(l->waiters[i], waiter) == 0)
			return 0;
	if ((w = realloc(l->waiters, (l->nwaiters + 1) * sizeof(*w))) == NULL)
		return -1;
	l->waiters = w;
	if ((w[l->nwaiters] = strdup(waiter)) == NULL)
		return -1;
	l->nwaiters++;
	return 0;
}

static void
member_lookup_start(
    struct daemon *d, const char *user, const char *group, const char *waiter)
{
	struct member_state *mb = d->member;
	struct member_lookup *l;
	struct json_object *body, *ids;
	char *eu = NULL, *url = NULL;

	for (l = mb->lookups; l != NULL; l = l->next)
		if (strcmp(l->user, user) == 0 && strcmp(l->group, group) == 0)
			break;
	if (l != NULL) {
		if (member_add_waiter(l, waiter) == -1)
			d->eng->retry_later(d, waiter);
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->user = strdup(user)) == NULL ||
	    (l->group = strdup(group)) == NULL ||
	    member_add_waiter(l, waiter) == -1 ||
	    (eu = graph_escape(user)) == NULL ||
	    asprintf(&url, "%s/v1.0/users/%s/checkMemberGroups", d->graph_base,
	        eu) == -1) {
		free(eu);
		if (l != NULL)
			member_lookup_free(l);
		if (waiter != NULL)
			d->eng->retry_later(d, waiter);
		return;
	}
	free(eu);
	l->d = d;
	l->next = mb->lookups;
	mb->lookups = l;
	body = json_object_new_object();
	ids = json_object_new_array();
	json_object_array_add(ids, json_object_new_string(group));
	json_object_object_add(body, "groupIds", ids);
	daemon_graph(d, TOKEN_APP, "POST", url,
	    json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
	    member_graph_cb, l);
	json_object_put(body);
	free(url);
}

int
member_check(struct daemon *d, const char *user_id, const char *group_id,
    const char *waiter)
{
	struct member_state *mb = d->member;
	const struct member_entry *e;
	char *u, *g;
	int in = -1;

	if (mb == NULL && (mb = d->member = calloc(1, sizeof(*mb))) == NULL)
		return -1;
	if (user_id == NULL || group_id == NULL)
		return -1;
	if ((u = member_lower(user_id)) == NULL ||
	    (g = member_lower(group_id)) == NULL) {
		free(u);
		return -1;
	}
	if ((e = member_cache_get(mb, u, g)) != NULL)
		in = e->in;
	else
		member_lookup_start(d, u, g, waiter);
	free(u);
	free(g);
	return in;
}

/* Is principal `p` in approver set `set`? 1, 0, -1 not known yet. */
static int
member_of_set(struct member_ctx *c, const struct approver_set *set,
    const struct req_principal *p)
{
	switch (set->kind) {
	case APPROVER_USER:
		return set->value != NULL &&
		       (strcasecmp(set->value, p->id) == 0 ||
		           (p->upn != NULL &&
		               strcasecmp(set->value, p->upn) == 0));
	case APPROVER_GROUP:
		return member_check(c->d, p->id, set->value, c->key);
	case APPROVER_MANAGER:
	default:
		return 0; /* nobody is their own manager */
	}
}

/*
 * requestor_in: the requestor and, when the request is for someone else,
 * the beneficiary must both be in the set (an approve rule must not grant
 * an outsider because an insider asked). Only resolved principals count:
 * an unverified request is in no set.
 */
int
member_policy_fn(
    void *ctx, const struct approver_set *set, const struct request *r)
{
	struct member_ctx *c = ctx;
	int a, b = 1;

	if (r->identity == REQ_ID_UNCHECKED)
		return -1;
	if (r->identity != REQ_ID_VERIFIED || r->who.id == NULL)
		return 0;
	a = member_of_set(c, set, &r->who);
	if (r->beneficiary.id != NULL)
		b = member_of_set(c, set, &r->beneficiary);
	if (a == 0 || b == 0)
		return 0;
	return a == 1 && b == 1 ? 1 : -1;
}

void
member_free(struct daemon *d)
{
	struct member_state *mb = d->member;
	struct member_lookup *l;

	if (mb == NULL)
		return;
	member_forget(d, NULL);
	while ((l = mb->lookups) != NULL) {
		mb->lookups = l->next;
		member_lookup_free(l);
	}
	free(mb);
	d->member = NULL;
}
