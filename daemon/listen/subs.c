/*
 * Graph subscriptions to the membership of the policy's approver groups,
 * so that a change reaches approvers.c at once instead of after the cache
 * expires. One subscription per group (resource `groups/{id}`, changeType
 * `updated`), notificationUrl and lifecycleNotificationUrl both
 * http.notification_url (POST /v1/hooks/graph), clientState from
 * http.graph_client_state_file.
 *
 * At start every earlier subscription to our URL is deleted (its clientState
 * may be stale) and fresh ones are created; a reload creates and deletes
 * what the new policy needs, or all of them again when the URL or the
 * clientState changed. Subscriptions are renewed when less than half of
 * http.subscription_lifetime is left; one that is gone (404 on renew,
 * subscriptionRemoved) is created again and its group resolved afresh.
 * A failed create is retried a minute later. Nothing here decides: without
 * subscriptions, cached approvers simply live their TTL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "listen.h"
#include "log.h"

#define SUBS_TICK_S  60 /* seconds between renewal checks */
#define SUBS_RETRY_S 60 /* seconds before a failed create is retried */
#define SUBS_MAX     64 /* groups subscribed to */

struct subs_ent {
	char *group;
	char *id; /* NULL: not subscribed (yet) */
	int64_t expires;
	int64_t retry_at;
	int busy;   /* a create or renew is in flight */
	int resync; /* changes may have been missed: resolve the group again
	               once subscribed */
};

/* One call in flight: which group (looked up again on the answer). */
struct subs_call {
	struct subs_call *next;
	struct subs_state *subs;
	char *group;
	char *id; /* the subscription a renew or delete is about */
};

struct subs_state {
	struct daemon *d;
	struct subs_ent v[SUBS_MAX];
	size_t n;
	struct event *tick;
	struct subs_call *calls;
	char *url; /* notification URL the subscriptions carry */
	unsigned cs_gen;
	int listing; /* the first list is in flight */
	int started; /* ... and answered */
};

static void subs_create(struct subs_state *subs, struct subs_ent *e);

static struct subs_call *
subs_call_new(struct subs_state *subs, const char *group, const char *id)
{
	struct subs_call *c = calloc(1, sizeof(*c));

	if (c == NULL ||
	    (group != NULL && (c->group = strdup(group)) == NULL) ||
	    (id != NULL && (c->id = strdup(id)) == NULL)) {
		if (c != NULL) {
			free(c->group);
			free(c);
		}
		return NULL;
	}
	c->subs = subs;
	c->next = subs->calls;
	subs->calls = c;
	return c;
}

static void
subs_call_free(struct subs_state *subs, struct subs_call *c)
{
	struct subs_call **pp;

	for (pp = &subs->calls; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c->group);
	free(c->id);
	free(c);
}

static struct subs_ent *
subs_find(struct subs_state *subs, const char *group, const char *id)
{
	size_t i;

	for (i = 0; i < subs->n; i++)
		if ((group != NULL &&
		        strcasecmp(subs->v[i].group, group) == 0) ||
		    (id != NULL && subs->v[i].id != NULL &&
		        strcmp(subs->v[i].id, id) == 0))
			return &subs->v[i];
	return NULL;
}

static void
subs_iso(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *
subs_url(struct subs_state *subs, const char *id)
{
	char *u = NULL;

	if (asprintf(&u, "%s/v1.0/subscriptions%s%s", subs->d->graph_base,
	        id ? "/" : "", id ? id : "") == -1)
		return NULL;
	return u;
}

/* The subscription id and expiry of a create/renew answer. */
static int
subs_parse(const char *body, char **id, int64_t *expires)
{
	struct json_object *o = body ? json_tokener_parse(body) : NULL;
	const char *v, *x;
	int rc = -1;

	if (o != NULL && (v = adapter_str(o, "id")) != NULL &&
	    (x = adapter_str(o, "expirationDateTime")) != NULL &&
	    (*expires = cfg_parse_timestamp(x)) > 0 &&
	    (*id = strdup(v)) != NULL)
		rc = 0;
	json_object_put(o);
	return rc;
}

static void
subs_delete_done(void *arg, long status, const char *body, const char *err)
{
	struct subs_call *c = arg;
	struct subs_state *subs = c->subs;

	if (status != 204 && status != 404)
		log_warnx("subscriptions: cannot delete %s (%ld%s%s)", c->id,
		    status, err ? ": " : "", err ? err : "");
	subs_call_free(subs, c);
}

static void
subs_delete(struct subs_state *subs, const char *id)
{
	struct subs_call *c = subs_call_new(subs, NULL, id);
	char *url = subs_url(subs, id);

	if (c == NULL || url == NULL) {
		if (c != NULL)
			subs_call_free(subs, c);
		free(url);
		return;
	}
	daemon_graph(
	    subs->d, TOKEN_APP, "DELETE", url, NULL, subs_delete_done, c);
	free(url);
}

static void
subs_create_done(void *arg, long status, const char *body, const char *err)
{
	struct subs_call *c = arg;
	struct subs_state *subs = c->subs;
	struct subs_ent *e = subs_find(subs, c->group, NULL);
	char *id = NULL;
	int64_t expires = 0;

	if (status == 201 && subs_parse(body, &id, &expires) == 0) {
		if (e == NULL || e->id != NULL) {
			/* the group left the policy meanwhile */
			subs_delete(subs, id);
			free(id);
		} else {
			e->id = id;
			e->expires = expires;
			log_info("subscriptions: group %s subscribed (%s)",
			    e->group, id);
			if (e->resync) {
				e->resync = 0;
				approvers_group_changed(subs->d, e->group);
			}
		}
	} else {
		log_warnx("subscriptions: group %s not subscribed (Graph "
		          "answered %ld%s%s); retry in %ds",
		    c->group, status, err ? ": " : "", err ? err : "",
		    SUBS_RETRY_S);
		if (e != NULL)
			e->retry_at = clock_now() + SUBS_RETRY_S;
	}
	if (e != NULL)
		e->busy = 0;
	subs_call_free(subs, c);
}

static void
subs_create(struct subs_state *subs, struct subs_ent *e)
{
	struct settings *s = subs->d->settings;
	struct json_object *o;
	struct subs_call *c;
	const char *cs = hooks_client_state(subs->d);
	char iso[40], res[300], *url;

	if (cs == NULL || subs->url == NULL)
		return;
	if ((o = json_object_new_object()) == NULL ||
	    (c = subs_call_new(subs, e->group, NULL)) == NULL) {
		json_object_put(o);
		return;
	}
	subs_iso(clock_now() + s->subscription_lifetime, iso, sizeof(iso));
	snprintf(res, sizeof(res), "groups/%s", e->group);
	json_object_object_add(
	    o, "changeType", json_object_new_string("updated"));
	json_object_object_add(
	    o, "notificationUrl", json_object_new_string(subs->url));
	json_object_object_add(
	    o, "lifecycleNotificationUrl", json_object_new_string(subs->url));
	json_object_object_add(o, "resource", json_object_new_string(res));
	json_object_object_add(
	    o, "expirationDateTime", json_object_new_string(iso));
	json_object_object_add(o, "clientState", json_object_new_string(cs));
	e->busy = 1;
	if ((url = subs_url(subs, NULL)) == NULL) {
		e->busy = 0;
		subs_call_free(subs, c);
	} else
		daemon_graph(subs->d, TOKEN_APP, "POST", url,
		    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
		    subs_create_done, c);
	free(url);
	/* the body holds the clientState */
	json_object_put(o);
}

static void
subs_renew_done(void *arg, long status, const char *body, const char *err)
{
	struct subs_call *c = arg;
	struct subs_state *subs = c->subs;
	struct subs_ent *e = subs_find(subs, c->group, NULL);
	char *id = NULL;
	int64_t expires = 0;

	if (e != NULL && e->id != NULL && strcmp(e->id, c->id) == 0) {
		e->busy = 0;
		if (status == 200 && subs_parse(body, &id, &expires) == 0) {
			e->expires = expires;
			log_debug("subscriptions: %s renewed", e->id);
		} else if (status == 404) {
			/* gone: subscribe again; changes may have been missed */
			log_warnx("subscriptions: %s is gone; subscribing "
			          "group %s again",
			    e->id, e->group);
			free(e->id);
			e->id = NULL;
			e->resync = 1;
			subs_create(subs, e);
		} else
			log_warnx("subscriptions: cannot renew %s (%ld%s%s)",
			    e->id, status, err ? ": " : "", err ? err : "");
	}
	free(id);
	subs_call_free(subs, c);
}

static void
subs_renew(struct subs_state *subs, struct subs_ent *e)
{
	struct json_object *o = json_object_new_object();
	struct subs_call *c = subs_call_new(subs, e->group, e->id);
	char iso[40], *url = subs_url(subs, e->id);

	if (o == NULL || c == NULL || url == NULL) {
		if (c != NULL)
			subs_call_free(subs, c);
		json_object_put(o);
		free(url);
		return;
	}
	subs_iso(clock_now() + subs->d->settings->subscription_lifetime, iso,
	    sizeof(iso));
	json_object_object_add(
	    o, "expirationDateTime", json_object_new_string(iso));
	e->busy = 1;
	daemon_graph(subs->d, TOKEN_APP, "PATCH", url,
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
	    subs_renew_done, c);
	json_object_put(o);
	free(url);
}

/* Create what is missing, renew what is past half its life. */
void
subs_tick(struct daemon *d)
{
	struct subs_state *subs = d->subs;
	int64_t now = clock_now(), half;
	size_t i;

	if (subs == NULL || !subs->started || d->stopping)
		return;
	half = d->settings->subscription_lifetime / 2;
	for (i = 0; i < subs->n; i++) {
		struct subs_ent *e = &subs->v[i];

		if (e->busy)
			continue;
		if (e->id == NULL && now >= e->retry_at)
			subs_create(subs, e);
		else if (e->id != NULL && e->expires - now < half)
			subs_renew(subs, e);
	}
}

static void
subs_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	subs_tick(arg);
}

static void
subs_forget(struct subs_state *subs, struct subs_ent *e, int delete)
{
	if (delete &&e->id != NULL)
		subs_delete(subs, e->id);
	free(e->group);
	free(e->id);
	*e = subs->v[--subs->n];
}

/* Make the table follow the policy's group approver sets; `fresh`: every
 * subscription is deleted and made again. */
static void
subs_follow(struct daemon *d, int fresh, int resync)
{
	struct subs_state *subs = d->subs;
	const struct approver_set *a;
	size_t i, j;
	int want;

	for (i = 0; i < subs->n;) {
		for (j = 0, want = 0; !fresh && (a = policy_approver_set_at(
		                                     d->policy, j)) != NULL;
		     j++)
			want |= a->kind == APPROVER_GROUP &&
			        strcasecmp(a->value, subs->v[i].group) == 0;
		if (!want)
			subs_forget(subs, &subs->v[i], 1);
		else
			i++;
	}
	for (j = 0; (a = policy_approver_set_at(d->policy, j)) != NULL; j++) {
		if (a->kind != APPROVER_GROUP || a->value == NULL ||
		    subs_find(subs, a->value, NULL) != NULL)
			continue;
		if (subs->n == SUBS_MAX) {
			log_warnx(
			    "subscriptions: more than %d approver groups; "
			    "%s is not subscribed",
			    SUBS_MAX, a->value);
			continue;
		}
		memset(&subs->v[subs->n], 0, sizeof(subs->v[0]));
		subs->v[subs->n].resync = resync;
		if ((subs->v[subs->n].group = strdup(a->value)) != NULL)
			subs->n++;
	}
	subs_tick(d);
}

/* Delete every subscription to our URL left by an earlier life. */
static void
subs_listed(void *arg, long status, const char *body, const char *err)
{
	struct daemon *d = arg;
	struct subs_state *subs = d->subs;
	struct json_object *o = NULL, *arr, *it;
	const char *u, *id;
	size_t i, n = 0;

	if (status == 200 && body != NULL &&
	    (o = parse_json(body, strlen(body))) != NULL &&
	    (arr = parse_arr(o, "value")) != NULL)
		for (i = 0; i < json_object_array_length(arr); i++) {
			it = json_object_array_get_idx(arr, i);
			u = adapter_str(it, "notificationUrl");
			id = adapter_str(it, "id");
			if (u != NULL && id != NULL && subs->url != NULL &&
			    strcmp(u, subs->url) == 0) {
				subs_delete(subs, id);
				n++;
			}
		}
	else
		log_warnx("subscriptions: cannot list (%ld%s%s)", status,
		    err ? ": " : "", err ? err : "");
	if (n > 0)
		log_info("subscriptions: deleted %zu from an earlier start", n);
	json_object_put(o);
	subs->listing = 0;
	subs->started = 1;
	subs_follow(d, 1, 0);
}

/* Ready (first token): subscribe. Reload: follow the new settings and
 * policy. Without http.notification_url, unsubscribe. */
void
subs_sync(struct daemon *d)
{
	struct subs_state *subs = d->subs;
	const char *want = d->settings->notification_url;
	int fresh = 0;
	char *url;

	if (subs == NULL &&
	    (subs = d->subs = calloc(1, sizeof(*subs))) == NULL) {
		log_warnx("subscriptions: out of memory");
		return;
	}
	subs->d = d;
	if (subs->tick == NULL) {
		struct timeval tv = { SUBS_TICK_S, 0 };

		if ((subs->tick = event_new(
		         d->base, -1, EV_PERSIST, subs_tick_cb, d)) == NULL)
			return;
		event_add(subs->tick, &tv);
	}
	if (want == NULL) {
		while (subs->n > 0)
			subs_forget(subs, &subs->v[0], 1);
		free(subs->url);
		subs->url = NULL;
		return;
	}
	if (subs->url == NULL || strcmp(subs->url, want) != 0 ||
	    subs->cs_gen != hooks_client_state_gen(subs->d))
		fresh = 1;
	if ((url = strdup(want)) == NULL)
		return;
	free(subs->url);
	subs->url = url;
	subs->cs_gen = hooks_client_state_gen(subs->d);
	if (!subs->started) {
		char *lu;

		if (!subs->listing && (lu = subs_url(subs, NULL)) != NULL) {
			subs->listing = 1;
			daemon_graph(
			    d, TOKEN_APP, "GET", lu, NULL, subs_listed, d);
			free(lu);
		}
		return;
	}
	/* Made again (new URL or clientState): notifications sent in between
	 * were not for us. */
	subs_follow(d, fresh, fresh);
}

/* A lifecycle notification about subscription `id`. */
void
subs_lifecycle(struct daemon *d, const char *id, const char *event)
{
	struct subs_state *subs = d->subs;
	struct subs_ent *e = subs != NULL ? subs_find(subs, NULL, id) : NULL;

	if (e == NULL) {
		log_info("subscriptions: %s for unknown subscription %.64s",
		    event, id);
		return;
	}
	if (strcmp(event, "reauthorizationRequired") == 0) {
		if (!e->busy)
			subs_renew(subs, e);
	} else if (strcmp(event, "subscriptionRemoved") == 0) {
		log_warnx("subscriptions: %s was removed; subscribing group "
		          "%s again",
		    e->id, e->group);
		free(e->id);
		e->id = NULL;
		e->resync = 1;
		if (!e->busy)
			subs_create(subs, e);
	}
}

/* How many groups are subscribed (for status and tests). */
size_t
subs_count(struct daemon *d)
{
	struct subs_state *subs = d->subs;

	size_t i, n = 0;

	for (i = 0; subs != NULL && i < subs->n; i++)
		n += subs->v[i].id != NULL;
	return n;
}

void
subs_free(struct daemon *d)
{
	struct subs_state *subs = d->subs;

	if (subs == NULL)
		return;
	while (subs->n > 0)
		subs_forget(subs, &subs->v[0], 0);
	while (subs->calls != NULL)
		subs_call_free(subs, subs->calls);
	if (subs->tick != NULL)
		event_free(subs->tick);
	subs->tick = NULL;
	free(subs->url);
	free(subs);
	d->subs = NULL;
}
