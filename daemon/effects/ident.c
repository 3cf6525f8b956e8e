/*
 * Identity resolution: a request's identity keys (config/request.c
 * request_identity keys: Permissions Management's typed externalId, PIM's
 * createdBy / principalId, an access package's requestor / target) are
 * looked up in the directory with
 *
 *   GET /v1.0/users/{id | userPrincipalName}?$select=id,userPrincipalName,
 *       mail,userType,displayName
 *
 * (microsoftgraph/microsoft-graph-docs-contrib
 * api-reference/v1.0/api/user-get.md: a user is addressed by object id or
 * userPrincipalName; 404 when no such user; userType is not a default
 * property, hence $select; a guest's UPN holds '#', sent as %23).
 *
 * The semantics are config/directory.c's: a key names a user when it is the
 * object id or the UPN (case-insensitively) of exactly one user. A key that
 * is neither an object id nor a plausible UPN (`rsn:alex@contoso.com`, a
 * path) is never sent to Graph and names nobody; a 404 names nobody. Either
 * makes the request unverified. Anything else (no answer, 429, 5xx, 403, a
 * malformed body) decides nothing: the request stays unevaluated and is
 * retried with backoff (fail closed).
 *
 * displayName only decorates messages and the decision page
 * (https://learn.microsoft.com/graph/api/user-get: a default property,
 * $select-able); nothing decides on it.
 *
 * Display names of other directory objects (approvers, a PIM for Groups
 * group) are looked up on the side, never in the way of anything: cached
 * in memory (bounded, with a TTL), a failed lookup is the raw id.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "effects.h"
#include "ident.h"
#include "log.h"

enum ident_answer { IA_USER = 0, IA_NOBODY };

struct ident_entry {
	struct ident_entry *next;
	char *key; /* lower-cased identity key */
	int64_t expires;
	enum ident_answer answer;
	struct req_principal p;
};

/* One Graph lookup in flight and the requests waiting for it. */
struct ident_lookup {
	struct ident_lookup *next;
	struct daemon *d;
	char *key; /* lower-cased */
	char **waiters;
	size_t nwaiters;
};

struct ident_state {
	struct ident_entry *cache;
	size_t ncache;
	struct ident_lookup *lookups;
	struct ident_name *names;
	size_t nnames;
	struct ident_name_lookup *name_lookups;
};

static char *
ident_lower(const char *s)
{
	char *l = strdup(s), *p;

	if (l != NULL)
		for (p = l; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return l;
}

/* An Entra object id: 8-4-4-4-12 hex digits. */
static int
ident_is_guid(const char *s)
{
	static const int len[] = { 8, 4, 4, 4, 12 };
	size_t g, i;

	for (g = 0; g < 5; g++) {
		for (i = 0; i < (size_t)len[g]; i++, s++)
			if (!isxdigit((unsigned char)*s))
				return 0;
		if (*s != (g < 4 ? '-' : '\0'))
			return 0;
		if (g < 4)
			s++;
	}
	return 1;
}

/* A plausible userPrincipalName: local@domain, one '@', the characters
 * Entra allows in a UPN (guests' "#EXT#" included), no '$' first (Graph
 * reads /users/$x as a system query option), short enough to store. */
static int
ident_is_upn(const char *s)
{
	const char *at = strchr(s, '@'), *p;

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') ||
	    *s == '$' || *s == '.' || strlen(s) >= SM_ID_MAX)
		return 0;
	for (p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("@.-_'!#^~+&", *p))
			return 0;
	return strchr(at + 1, '.') != NULL;
}

/* 1 when `key` may be looked up in the directory at all. */
static int
ident_plausible(const char *key)
{
	return key != NULL && (ident_is_guid(key) || ident_is_upn(key));
}

/* ---- cache ------------------------------------------------------------ */

static void
ident_entry_free(struct ident_entry *e)
{
	free(e->key);
	req_principal_free(&e->p);
	free(e);
}

static const struct ident_entry *
ident_cache_get(struct ident_state *idst, const char *lkey)
{
	struct ident_entry *e;
	int64_t now = clock_now();

	for (e = idst->cache; e != NULL; e = e->next)
		if (strcmp(e->key, lkey) == 0)
			return e->expires > now ? e : NULL;
	return NULL;
}

/* Remember an answer for `lkey` (the newest first; the oldest goes when
 * the cache is full). */
static void
ident_cache_put(struct ident_state *idst, const char *lkey, enum ident_answer a,
    const struct req_principal *p)
{
	struct ident_entry *e, **pp;

	for (pp = &idst->cache; *pp != NULL;) {
		e = *pp;
		if (strcmp(e->key, lkey) == 0 ||
		    (idst->ncache >= IDENT_CACHE_MAX && e->next == NULL)) {
			*pp = e->next;
			ident_entry_free(e);
			idst->ncache--;
			continue;
		}
		pp = &e->next;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->key = strdup(lkey)) == NULL) {
		free(e);
		return;
	}
	e->p.guest = -1;
	if (p != NULL &&
	    ((p->id && (e->p.id = strdup(p->id)) == NULL) ||
	        (p->upn && (e->p.upn = strdup(p->upn)) == NULL) ||
	        (p->mail && (e->p.mail = strdup(p->mail)) == NULL) ||
	        (p->name && (e->p.name = strdup(p->name)) == NULL))) {
		ident_entry_free(e);
		return;
	}
	if (p != NULL)
		e->p.guest = p->guest;
	e->answer = a;
	e->expires = clock_now() + IDENT_CACHE_TTL;
	e->next = idst->cache;
	idst->cache = e;
	idst->ncache++;
}

/* ---- lookups ------------------------------------------------------------ */

static void
ident_lookup_free(struct ident_lookup *l)
{
	size_t i;

	for (i = 0; i < l->nwaiters; i++)
		free(l->waiters[i]);
	free(l->waiters);
	free(l->key);
	free(l);
}

/* Graph's answer for one key: a user (into *p, borrowed from o), nobody,
 * or -1 when it decides nothing. */
static int
ident_parse(const char *lkey, long status, struct json_object *o,
    struct req_principal *p)
{
	const char *type;

	memset(p, 0, sizeof(*p));
	p->guest = -1;
	if (status == 404)
		return IA_NOBODY;
	if (status != 200 || o == NULL ||
	    !json_object_is_type(o, json_type_object) ||
	    (p->id = (char *)adapter_str(o, "id")) == NULL || *p->id == '\0')
		return -1;
	p->upn = (char *)adapter_str(o, "userPrincipalName");
	p->mail = (char *)adapter_str(o, "mail");
	p->name = (char *)adapter_str(o, "displayName");
	/* The key must be this user's id or UPN, nothing looser. */
	if (strcasecmp(p->id, lkey) != 0 &&
	    (p->upn == NULL || strcasecmp(p->upn, lkey) != 0))
		return IA_NOBODY;
	type = adapter_str(o, "userType");
	p->guest = (type != NULL && strcasecmp(type, "Guest") == 0) ||
	           (p->upn != NULL && strstr(p->upn, "#EXT#") != NULL);
	return IA_USER;
}

static void
ident_graph_cb(void *arg, long status, const char *body, const char *err)
{
	struct ident_lookup *l = arg, **pp;
	struct json_object *o = NULL;
	struct req_principal p;
	struct daemon *d = l->d;
	struct ident_state *idst = d->ident;
	size_t i;
	int a;

	for (pp = &idst->lookups; *pp != NULL; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	if (status == 200 && body != NULL)
		o = json_tokener_parse(body);
	a = ident_parse(l->key, status, o, &p);
	if (a == -1) {
		log_warnx("identity: %s not resolved (Graph answered %ld%s%s); "
		          "%zu request(s) stay unevaluated and are retried",
		    l->key, status, err ? ": " : "", err ? err : "",
		    l->nwaiters);
		for (i = 0; i < l->nwaiters; i++)
			d->eng->retry_later(d, l->waiters[i]);
	} else {
		log_debug("identity: %s is %s", l->key,
		    a == IA_USER ? (p.upn ? p.upn : p.id) : "nobody");
		ident_cache_put(idst, l->key, (enum ident_answer)a,
		    a == IA_USER ? &p : NULL);
		for (i = 0; i < l->nwaiters; i++)
			d->eng->wake(d, l->waiters[i]);
	}
	json_object_put(o);
	ident_lookup_free(l);
}

/* Look `lkey` up (or join the lookup in flight) on behalf of request
 * `waiter`. */
static void
ident_lookup_start(struct daemon *d, const char *lkey, const char *waiter)
{
	struct ident_state *idst = d->ident;
	struct ident_lookup *l;
	char **w, *esc, *url = NULL;
	size_t i;

	for (l = idst->lookups; l != NULL; l = l->next)
		if (strcmp(l->key, lkey) == 0)
			break;
	if (l == NULL) {
		if ((l = calloc(1, sizeof(*l))) == NULL ||
		    (l->key = strdup(lkey)) == NULL) {
			free(l);
			d->eng->retry_later(d, waiter);
			return;
		}
		l->d = d;
		if ((esc = graph_escape(lkey)) == NULL ||
		    asprintf(&url,
		        "%s/v1.0/users/%s?$select=id,userPrincipalName,mail,"
		        "userType,displayName",
		        d->graph_base, esc) == -1)
			url = NULL;
		free(esc);
		if (url == NULL) {
			ident_lookup_free(l);
			d->eng->retry_later(d, waiter);
			return;
		}
		l->next = idst->lookups;
		idst->lookups = l;
		/* The waiter goes in first: the callback may run at once. */
		if ((l->waiters = calloc(1, sizeof(char *))) != NULL &&
		    (l->waiters[0] = strdup(waiter)) != NULL)
			l->nwaiters = 1;
		else
			d->eng->retry_later(d, waiter);
		daemon_graph(d, TOKEN_APP, "GET", url, NULL, ident_graph_cb, l);
		free(url);
		return;
	}
	for (i = 0; i < l->nwaiters; i++)
		if (strcmp(l->waiters[i], waiter) == 0)
			return;
	if ((w = realloc(l->waiters, (l->nwaiters + 1) * sizeof(*w))) == NULL ||
	    (w[l->nwaiters] = strdup(waiter)) == NULL) {
		if (w != NULL)
			l->waiters = w;
		d->eng->retry_later(d, waiter);
		return;
	}
	l->waiters = w;
	l->nwaiters++;
}

/* One key: 1 answered (*e NULL: nobody), 0 lookup started. */
static int
ident_key(struct daemon *d, const char *key, const char *waiter,
    const struct ident_entry **e)
{
	struct ident_state *idst = d->ident;
	char *lkey;
	int rc = 1;

	*e = NULL;
	if (!ident_plausible(key))
		return 1; /* never a Graph path: nobody */
	if ((lkey = ident_lower(key)) == NULL) {
		d->eng->retry_later(d, waiter);
		return 0;
	}
	if ((*e = ident_cache_get(idst, lkey)) == NULL) {
		ident_lookup_start(d, lkey, waiter);
		rc = 0;
	} else if ((*e)->answer != IA_USER)
		*e = NULL;
	free(lkey);
	return rc;
}

int
ident_resolve(struct daemon *d, const char *key, struct request *q)
{
	const struct ident_entry *who = NULL, *ben = NULL;
	int ok;

	/* The group's name for the messages, looked up on the side. */
	if (q->source == REQ_SRC_GROUP)
		(void)ident_name(d, 1, q->group_id);
	ok = ident_key(d, q->requestor_key, key, &who);
	if (q->beneficiary_key != NULL &&
	    ident_key(d, q->beneficiary_key, key, &ben) == 0)
		ok = 0;
	if (!ok)
		return 0;
	if (request_set_identity(q,
	        who != NULL && (q->beneficiary_key == NULL || ben != NULL)
	            ? REQ_ID_VERIFIED
	            : REQ_ID_UNVERIFIED,
	        who ? &who->p : NULL, ben ? &ben->p : NULL) == -1) {
		req_principal_free(&q->who);
		req_principal_free(&q->beneficiary);
		q->identity = REQ_ID_UNCHECKED;
		d->eng->retry_later(d, key);
		return 0;
	}
	return 1;
}

/* ---- display names (decoration) ----------------------------------------- */

/*
 * Display names of users and groups by object id, for messages and the
 * decision page only:
 *
 *   GET /v1.0/users/{id}?$select=id,displayName
 *   (https://learn.microsoft.com/graph/api/user-get)
 *   GET /v1.0/groups/{id}?$select=id,displayName
 *   (https://learn.microsoft.com/graph/api/group-get)
 *
 * A name is looked up at most once per IDENT_NAME_TTL; a failed lookup is
 * remembered as "no name" for IDENT_NAME_FAIL_TTL (the raw id is shown)
 * and is never retried in anyone's way.
 */
struct ident_name {
	struct ident_name *next;
	char *key;  /* "u:" or "g:" and the lower-cased id */
	char *name; /* NULL: unknown */
	int64_t expires;
};

struct ident_name_lookup {
	struct ident_name_lookup *next;
	struct daemon *d;
	char *key;
};

static void
ident_name_free(struct ident_name *e)
{
	free(e->key);
	free(e->name);
	free(e);
}

static void
ident_name_store(
    struct ident_state *idst, const char *key, const char *name, int64_t ttl)
{
	struct ident_name *e, **pp;

	for (pp = &idst->names; *pp != NULL;) {
		e = *pp;
		if (strcmp(e->key, key) == 0 ||
		    (idst->nnames >= IDENT_NAME_MAX && e->next == NULL)) {
			*pp = e->next;
			ident_name_free(e);
			idst->nnames--;
			continue;
		}
		pp = &e->next;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->key = strdup(key)) == NULL ||
	    (name != NULL && (e->name = strdup(name)) == NULL)) {
		if (e != NULL)
			free(e->key);
		free(e);
		return;
	}
	e->expires = clock_now() + ttl;
	e->next = idst->names;
	idst->names = e;
	idst->nnames++;
}

/* "u:id" / "g:id" into buf; -1 when `id` is no object id. */
static int
ident_name_key(int group, const char *id, char *buf, size_t len)
{
	char *p;

	if (id == NULL || !ident_is_guid(id))
		return -1;
	snprintf(buf, len, "%s:%s", group ? "g" : "u", id);
	for (p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

static void
ident_name_cb(void *arg, long status, const char *body, const char *err)
{
	struct ident_name_lookup *l = arg, **pp;
	struct ident_state *idst = l->d->ident;
	struct json_object *o = NULL;
	const char *name = NULL, *id;

	(void)err;
	for (pp = &idst->name_lookups; *pp != NULL; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	if (status == 200 && body != NULL &&
	    (o = json_tokener_parse(body)) != NULL &&
	    (id = adapter_str(o, "id")) != NULL &&
	    strcasecmp(id, l->key + 2) == 0)
		name = adapter_str(o, "displayName");
	if (name != NULL && *name == '\0')
		name = NULL;
	ident_name_store(idst, l->key, name,
	    name != NULL ? IDENT_NAME_TTL : IDENT_NAME_FAIL_TTL);
	json_object_put(o);
	free(l->key);
	free(l);
}

/* The cached display name of (group, id), even expired; NULL none. Never
 * a Graph call (a large group's members are named from the cache). */
const char *
ident_name_cached(struct daemon *d, int group, const char *id)
{
	struct ident_state *idst = d != NULL ? d->ident : NULL;
	struct ident_name *e;
	char key[64];

	if (idst == NULL || ident_name_key(group, id, key, sizeof(key)) == -1)
		return NULL;
	for (e = idst->names; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e->name;
	return NULL;
}

const char *
ident_name(struct daemon *d, int group, const char *id)
{
	struct ident_state *idst = d != NULL ? d->ident : NULL;
	struct ident_name *e;
	struct ident_name_lookup *l;
	char key[64], *url = NULL;
	int64_t now = clock_now();

	if (idst == NULL || ident_name_key(group, id, key, sizeof(key)) == -1)
		return NULL;
	for (e = idst->names; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0) {
			if (e->expires > now)
				return e->name;
			break;
		}
	for (l = idst->name_lookups; l != NULL; l = l->next)
		if (strcmp(l->key, key) == 0)
			break;
	if (l == NULL && (l = calloc(1, sizeof(*l))) != NULL) {
		l->d = d;
		if ((l->key = strdup(key)) == NULL ||
		    asprintf(&url, "%s/v1.0/%s/%s?$select=id,displayName",
		        d->graph_base, group ? "groups" : "users",
		        key + 2) == -1) {
			free(l->key);
			free(l);
		} else {
			l->next = idst->name_lookups;
			idst->name_lookups = l;
			daemon_graph(
			    d, TOKEN_APP, "GET", url, NULL, ident_name_cb, l);
			free(url);
		}
	}
	/* Until the answer: an expired name is still better than none. */
	for (e = idst->names; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e->name;
	return NULL;
}

void
ident_name_put(struct daemon *d, int group, const char *id, const char *name)
{
	struct ident_state *idst = d->ident;
	char key[64];

	if (name == NULL || *name == '\0' ||
	    ident_name_key(group, id, key, sizeof(key)) == -1)
		return;
	ident_name_store(idst, key, name, IDENT_NAME_TTL);
}

/* ---- stored form (config/identity.c) ------------------------------------ */

char *
ident_encode(const struct request *q)
{
	return request_identity_encode(q);
}

int
ident_request(const struct store_request *r, struct request *out, char **err)
{
	*err = NULL;
	if (r->body == NULL) {
		memset(out, 0, sizeof(*out));
		*err = strdup("no body");
		return -1;
	}
	if (request_from_json(r->body, strlen(r->body),
	        (enum req_source)r->source, out, err) == -1) {
		request_free(out);
		return -1;
	}
	(void)request_identity_apply(out, r->identity);
	return 0;
}

struct json_object *
ident_json(const char *text)
{
	struct json_object *o = text ? json_tokener_parse(text) : NULL;

	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = json_object_new_object();
		json_object_object_add(o, "state",
		    json_object_new_string(
		        req_identity_name(REQ_ID_UNCHECKED)));
	}
	return o;
}

const char *
ident_unresolved_key(const struct request *q)
{
	if (q->identity != REQ_ID_UNVERIFIED)
		return NULL;
	if (q->who.id == NULL)
		return q->requestor_key ? q->requestor_key : "(no identity)";
	return q->beneficiary_key ? q->beneficiary_key : "(no identity)";
}

void
ident_free(struct daemon *d)
{
	struct ident_state *idst = d->ident;
	struct ident_entry *e;
	struct ident_lookup *l;
	struct ident_name *n;
	struct ident_name_lookup *nl;

	if (idst == NULL)
		return;
	while ((e = idst->cache) != NULL) {
		idst->cache = e->next;
		ident_entry_free(e);
	}
	idst->ncache = 0;
	while ((n = idst->names) != NULL) {
		idst->names = n->next;
		ident_name_free(n);
	}
	idst->nnames = 0;
	while ((nl = idst->name_lookups) != NULL) {
		idst->name_lookups = nl->next;
		free(nl->key);
		free(nl);
	}
	/* After the loop: no Graph call in flight will answer any more. */
	while ((l = idst->lookups) != NULL) {
		idst->lookups = l->next;
		ident_lookup_free(l);
	}
	free(idst);
	d->ident = NULL;
}

/* The caches and lookups of d->ident; -1 out of memory. */
int
ident_init(struct daemon *d)
{
	if (d->ident == NULL &&
	    (d->ident = calloc(1, sizeof(*d->ident))) == NULL)
		return -1;
	return 0;
}
