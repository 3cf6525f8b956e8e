/*
 * An offline directory for `approvalctl explain/test --directory`: users
 * and groups read from a tenant file in graph-emulator's format, resolved
 * the way the daemon resolves a request's identity keys against Graph
 * (GET /users/{id | userPrincipalName}: an object id or a UPN names a user,
 * anything else names nobody).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "internal.h"

struct dir_user {
	char *id, *upn, *mail, *manager;
	int guest;
};

struct dir_group {
	char *id;
	size_t n;
	char **members; /* user ids, UPNs or group ids */
};

struct cfg_directory {
	size_t nusers, ngroups;
	struct dir_user *users;
	struct dir_group *groups;
};

static char *
jdupstr(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return strdup(json_object_get_string(v));
}

void
cfg_directory_free(struct cfg_directory *d)
{
	size_t i, j;

	if (d == NULL)
		return;
	for (i = 0; i < d->nusers; i++) {
		free(d->users[i].id);
		free(d->users[i].upn);
		free(d->users[i].mail);
		free(d->users[i].manager);
	}
	for (i = 0; i < d->ngroups; i++) {
		for (j = 0; j < d->groups[i].n; j++)
			free(d->groups[i].members[j]);
		free(d->groups[i].members);
		free(d->groups[i].id);
	}
	free(d->users);
	free(d->groups);
	free(d);
}

int
cfg_directory_load(const char *path, struct cfg_directory **out, char **err)
{
	struct cfg_directory *d;
	json_object *o, *a, *v;
	size_t i, j, n;

	*out = NULL;
	*err = NULL;
	if ((o = json_object_from_file(path)) == NULL ||
	    !json_object_is_type(o, json_type_object)) {
		*err = cfg_asprintf("%s: not a JSON object (%s)", path,
		    json_util_get_last_err() ? json_util_get_last_err() : "?");
		json_object_put(o);
		return -1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto oom;
	if (json_object_object_get_ex(o, "users", &a) &&
	    json_object_is_type(a, json_type_array)) {
		n = json_object_array_length(a);
		if ((d->users = calloc(n ? n : 1, sizeof(*d->users))) == NULL)
			goto oom;
		for (i = 0; i < n; i++) {
			json_object *u = json_object_array_get_idx(a, i);
			struct dir_user *du = &d->users[d->nusers];
			char *type;

			if (!json_object_is_type(u, json_type_object))
				continue;
			du->id = jdupstr(u, "id");
			du->upn = jdupstr(u, "userPrincipalName");
			du->mail = jdupstr(u, "mail");
			du->manager = jdupstr(u, "managerId");
			type = jdupstr(u, "userType");
			/* Graph: userType Member or Guest; a guest's UPN holds
			 * #EXT# (api-reference/v1.0/resources/user.md). */
			du->guest = (type && strcasecmp(type, "Guest") == 0) ||
			            (du->upn && strstr(du->upn, "#EXT#"));
			free(type);
			if (du->id == NULL) {
				free(du->upn);
				free(du->mail);
				free(du->manager);
				memset(du, 0, sizeof(*du));
				continue;
			}
			d->nusers++;
		}
	}
	if (json_object_object_get_ex(o, "groups", &a) &&
	    json_object_is_type(a, json_type_array)) {
		n = json_object_array_length(a);
		if ((d->groups = calloc(n ? n : 1, sizeof(*d->groups))) == NULL)
			goto oom;
		for (i = 0; i < n; i++) {
			json_object *g = json_object_array_get_idx(a, i);
			struct dir_group *dg = &d->groups[d->ngroups];
			size_t m;

			if (!json_object_is_type(g, json_type_object) ||
			    (dg->id = jdupstr(g, "id")) == NULL)
				continue;
			d->ngroups++;
			if (!json_object_object_get_ex(g, "members", &v) ||
			    !json_object_is_type(v, json_type_array))
				continue;
			m = json_object_array_length(v);
			if ((dg->members = calloc(m ? m : 1, sizeof(char *))) ==
			    NULL)
				goto oom;
			for (j = 0; j < m; j++) {
				json_object *e =
				    json_object_array_get_idx(v, j);

				if (json_object_is_type(e, json_type_string))
					dg->members[dg->n++] =
					    strdup(json_object_get_string(e));
			}
		}
	}
	json_object_put(o);
	*out = d;
	return 0;
oom:
	json_object_put(o);
	cfg_directory_free(d);
	*err = cfg_asprintf("%s: out of memory", path);
	return -1;
}

/* Exactly one user with this object id or UPN, else NULL. */
static const struct dir_user *
dir_find(const struct cfg_directory *d, const char *key)
{
	const struct dir_user *hit = NULL;
	size_t i;

	if (d == NULL || key == NULL || *key == '\0')
		return NULL;
	for (i = 0; i < d->nusers; i++) {
		const struct dir_user *u = &d->users[i];

		if (strcasecmp(u->id, key) == 0 ||
		    (u->upn && strcasecmp(u->upn, key) == 0)) {
			if (hit != NULL && hit != u)
				return NULL; /* ambiguous: nobody */
			hit = u;
		}
	}
	return hit;
}

static int
dir_principal(
    const struct cfg_directory *d, const char *key, struct req_principal *p)
{
	const struct dir_user *u = dir_find(d, key);

	memset(p, 0, sizeof(*p));
	p->guest = -1;
	if (u == NULL)
		return -1;
	p->id = u->id;
	p->upn = u->upn;
	p->mail = u->mail;
	p->guest = u->guest;
	return 0;
}

void
cfg_directory_resolve(const struct cfg_directory *dir, struct request *r)
{
	struct req_principal who, ben;
	int ok;

	if (dir == NULL) {
		r->identity = REQ_ID_UNCHECKED;
		return;
	}
	ok = dir_principal(dir, r->requestor_key, &who) == 0;
	if (r->beneficiary_key != NULL &&
	    dir_principal(dir, r->beneficiary_key, &ben) != 0)
		ok = 0;
	if (r->beneficiary_key == NULL)
		memset(&ben, 0, sizeof(ben));
	(void)request_set_identity(r, ok ? REQ_ID_VERIFIED : REQ_ID_UNVERIFIED,
	    who.id ? &who : NULL,
	    r->beneficiary_key != NULL && ben.id ? &ben : NULL);
}

static int
group_has(const struct cfg_directory *d, const struct dir_group *g,
    const struct dir_user *u, unsigned depth)
{
	size_t i, k;

	if (depth > 16)
		return -1;
	for (i = 0; i < g->n; i++) {
		const char *m = g->members[i];

		if (strcasecmp(m, u->id) == 0 ||
		    (u->upn && strcasecmp(m, u->upn) == 0))
			return 1;
		for (k = 0; k < d->ngroups; k++)
			if (strcasecmp(d->groups[k].id, m) == 0 &&
			    group_has(d, &d->groups[k], u, depth + 1) == 1)
				return 1;
	}
	return 0;
}

int
cfg_directory_member(
    const struct cfg_directory *dir, const char *group, const char *id_or_upn)
{
	const struct dir_user *u = dir_find(dir, id_or_upn);
	size_t k;

	if (dir == NULL || u == NULL || group == NULL)
		return -1;
	for (k = 0; k < dir->ngroups; k++)
		if (strcasecmp(dir->groups[k].id, group) == 0)
			return group_has(dir, &dir->groups[k], u, 0);
	return -1;
}
