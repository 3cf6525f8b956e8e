/* Directory reads: users, managers, groups and (transitive) members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"

static void
set_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(
	    o, k, v != NULL ? json_object_new_string(v) : NULL);
}

/* Default properties of user-get the fixture has no value for; Graph
 * answers them null. */
static const char *const user_unset[] = { "givenName", "surname", "mobilePhone",
	"officeLocation", "preferredLanguage", NULL };

/*
 * Add the default properties the tenant leaves unset as null: a user GET
 * without $select returns businessPhones, displayName, givenName, jobTitle,
 * mail, mobilePhone, officeLocation, preferredLanguage, surname,
 * userPrincipalName and id
 * (https://learn.microsoft.com/graph/api/user-get, "Response").
 */
static void
user_default_nulls(json_object *o)
{
	size_t i;

	for (i = 0; user_unset[i] != NULL; i++)
		json_object_object_add(o, user_unset[i], NULL);
}

static json_object *
user_json(const struct user *u, bool typed)
{
	json_object *o = json_object_new_object();

	if (typed)
		set_str(o, "@odata.type", "#microsoft.graph.user");
	set_str(o, "id", u->id);
	set_str(o, "displayName", u->name);
	set_str(o, "userPrincipalName", u->upn);
	set_str(o, "mail", u->mail);
	set_str(o, "jobTitle", u->job_title);
	json_object_object_add(o, "businessPhones", json_object_new_array());
	user_default_nulls(o);
	return o;
}

/* Properties a user can be $selected by (user resource type): the default
 * ones above and the non-default ones the emulator knows. */
static const char *const user_props[] = { "id", "displayName",
	"userPrincipalName", "mail", "jobTitle", "businessPhones", "userType",
	"givenName", "surname", "mobilePhone", "officeLocation",
	"preferredLanguage", NULL };

static json_object *
user_prop(const struct user *u, const char *k)
{
	if (strcmp(k, "id") == 0)
		return json_object_new_string(u->id);
	if (strcmp(k, "displayName") == 0)
		return json_object_new_string(u->name);
	if (strcmp(k, "userPrincipalName") == 0)
		return json_object_new_string(u->upn);
	if (strcmp(k, "mail") == 0)
		return u->mail ? json_object_new_string(u->mail) : NULL;
	if (strcmp(k, "jobTitle") == 0)
		return u->job_title ? json_object_new_string(u->job_title)
		                    : NULL;
	if (strcmp(k, "userType") == 0)
		return u->user_type ? json_object_new_string(u->user_type)
		                    : NULL;
	if (strcmp(k, "businessPhones") == 0)
		return json_object_new_array();
	return NULL; /* user_unset: null */
}

/*
 * GET /users/{id | userPrincipalName} (user-get.md): the default properties,
 * or with $select exactly the listed ones (userType only so); an unknown
 * property is a 400 as on Graph. Always with @odata.context.
 */
static void
user_reply(struct call *c, const struct user *u)
{
	const char *sel = call_query(c, "$select");
	char base[300], ctx[1024], name[64];
	json_object *o;
	const char *p;
	size_t n, i;

	call_base_url(c, base, sizeof(base));
	if (sel == NULL) {
		o = user_json(u, false);
		snprintf(
		    ctx, sizeof(ctx), "%s/v1.0/$metadata#users/$entity", base);
		json_object_object_add(
		    o, "@odata.context", json_object_new_string(ctx));
		call_reply(c, 200, o);
		return;
	}
	o = json_object_new_object();
	for (p = sel; *p != '\0'; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		for (i = 0; user_props[i] != NULL; i++)
			if (strcasecmp(user_props[i], name) == 0)
				break;
		if (user_props[i] == NULL || n >= sizeof(name)) {
			json_object_put(o);
			call_error(c, 400, "BadRequest",
			    "Could not find a property named '%s' on type "
			    "'microsoft.graph.user'.",
			    name);
			return;
		}
		json_object_object_add(
		    o, user_props[i], user_prop(u, user_props[i]));
	}
	snprintf(ctx, sizeof(ctx), "%s/v1.0/$metadata#users(%.200s)/$entity",
	    base, sel);
	json_object_object_add(
	    o, "@odata.context", json_object_new_string(ctx));
	call_reply(c, 200, o);
}

static json_object *
group_json(const struct group *g, bool typed)
{
	json_object *o = json_object_new_object();

	if (typed)
		set_str(o, "@odata.type", "#microsoft.graph.group");
	set_str(o, "id", g->id);
	set_str(o, "displayName", g->name);
	set_str(o, "description", g->description);
	json_object_object_add(
	    o, "securityEnabled", json_object_new_boolean(true));
	return o;
}

static void
not_found(struct call *c, const char *what)
{
	call_error(c, 404, "Request_ResourceNotFound",
	    "Resource '%s' does not exist or one of its queried "
	    "reference-property objects are not present.",
	    what);
}

static void
get_user(struct call *c, char **caps)
{
	const struct user *u = store_user(c->emu, caps[0]);

	if (u == NULL)
		not_found(c, caps[0]);
	else
		user_reply(c, u);
}

static void
get_me(struct call *c, char **caps)
{
	if (!call_require_delegated(c))
		return;
	call_reply(c, 200, user_json(c->user, false));
}

static void
get_manager(struct call *c, char **caps)
{
	const struct user *u = store_user(c->emu, caps[0]), *m;

	if (u == NULL) {
		not_found(c, caps[0]);
		return;
	}
	if (u->manager_id == NULL ||
	    (m = store_user(c->emu, u->manager_id)) == NULL) {
		not_found(c, "manager");
		return;
	}
	call_reply(c, 200, user_json(m, true));
}

/*
 * GET /groups/{id} (https://learn.microsoft.com/graph/api/group-get): the
 * properties the emulator keeps, or with $select exactly the listed ones
 * (id, displayName, description, securityEnabled); an unknown property is
 * a 400 as on Graph.
 */
static void
get_group(struct call *c, char **caps)
{
	static const char *const props[] = { "id", "displayName", "description",
		"securityEnabled", NULL };
	const struct group *g = store_group(c->emu, caps[0]);
	const char *sel = call_query(c, "$select"), *p;
	json_object *all, *o, *v;
	char name[64];
	size_t n, i;

	if (g == NULL) {
		not_found(c, caps[0]);
		return;
	}
	all = group_json(g, false);
	if (sel == NULL) {
		call_reply(c, 200, all);
		return;
	}
	o = json_object_new_object();
	for (p = sel; *p != '\0'; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		for (i = 0; props[i] != NULL; i++)
			if (strcasecmp(props[i], name) == 0)
				break;
		if (props[i] == NULL || n >= sizeof(name)) {
			json_object_put(o);
			json_object_put(all);
			call_error(c, 400, "BadRequest",
			    "Could not find a property named '%s' on type "
			    "'microsoft.graph.group'.",
			    name);
			return;
		}
		v = NULL;
		json_object_object_get_ex(all, props[i], &v);
		json_object_object_add(o, props[i], json_object_get(v));
	}
	json_object_put(all);
	call_reply(c, 200, o);
}

static void
members_page(struct call *c, const char **ids, size_t n)
{
	json_object *o, *a;
	const struct user *u;
	const struct group *g;
	size_t skip, i, k = 0;
	char *link;
	int top;

	if (call_top(c, &top) < 0 || call_skiptoken(c, &skip) < 0)
		return;
	o = json_object_new_object();
	a = json_object_new_array();
	for (i = skip; i < n && k < (size_t)top; i++, k++) {
		if ((u = store_user(c->emu, ids[i])) != NULL)
			json_object_array_add(a, user_json(u, true));
		else if ((g = store_group(c->emu, ids[i])) != NULL)
			json_object_array_add(a, group_json(g, true));
		else {
			json_object *x = json_object_new_object();

			set_str(x, "@odata.type",
			    "#microsoft.graph.directoryObject");
			set_str(x, "id", ids[i]);
			json_object_array_add(a, x);
		}
	}
	json_object_object_add(o, "value", a);
	if (i < n) {
		link = call_next_link(c, i);
		set_str(o, "@odata.nextLink", link);
		free(link);
	}
	call_reply(c, 200, o);
}

static void
get_members(struct call *c, char **caps)
{
	const struct group *g = store_group(c->emu, caps[0]);

	if (g == NULL) {
		not_found(c, caps[0]);
		return;
	}
	members_page(c, (const char **)g->members, g->nmembers);
}

static void
get_transitive(struct call *c, char **caps)
{
	const struct group *g = store_group(c->emu, caps[0]);
	const char **ids;
	size_t n;

	if (g == NULL) {
		not_found(c, caps[0]);
		return;
	}
	ids = store_transitive(c->emu, g, &n);
	members_page(c, ids, n);
	free(ids);
}

#define CHECK_GROUPS_MAX 20 /* groupIds per checkMemberGroups call */

/*
 * POST /users/{id | userPrincipalName}/checkMemberGroups, also
 * /directoryObjects/{id}/… and /me/…, body {"groupIds": [...]} (up to 20):
 * 200 with those of the listed groups the user is a member of, directly or
 * transitively (microsoft-graph-docs-contrib
 * api-reference/v1.0/api/directoryobject-checkmembergroups.md). Unknown
 * user: 404 Request_ResourceNotFound. A missing or non-string list, or
 * more than 20 ids: 400 (the codes are inferred; the page documents only
 * the limit). Ids of groups that do not exist are simply not a match.
 */
static void
check_groups(struct call *c, const struct user *u)
{
	json_object *b, *ids, *o, *a, *x;
	char base[256], ctx[320];
	const char *id;
	size_t i, n;

	if ((b = call_body(c, true)) == NULL)
		return;
	if (!json_object_object_get_ex(b, "groupIds", &ids) ||
	    !json_object_is_type(ids, json_type_array)) {
		call_error(c, 400, "Request_BadRequest",
		    "The request body must contain 'groupIds', a collection "
		    "of group ids.");
		return;
	}
	if ((n = json_object_array_length(ids)) > CHECK_GROUPS_MAX) {
		call_error(c, 400, "Request_BadRequest",
		    "A maximum of %d group ids can be checked per request.",
		    CHECK_GROUPS_MAX);
		return;
	}
	for (i = 0; i < n; i++)
		if (!json_object_is_type(
		        json_object_array_get_idx(ids, i), json_type_string)) {
			call_error(c, 400, "Request_BadRequest",
			    "Every entry of 'groupIds' must be a string.");
			return;
		}
	a = json_object_new_array();
	for (i = 0; i < n; i++) {
		x = json_object_array_get_idx(ids, i);
		id = json_object_get_string(x);
		if (store_group(c->emu, id) != NULL &&
		    store_member_of(c->emu, id, u->id))
			json_object_array_add(a, json_object_new_string(id));
	}
	call_base_url(c, base, sizeof(base));
	snprintf(
	    ctx, sizeof(ctx), "%s/v1.0/$metadata#Collection(Edm.String)", base);
	o = json_object_new_object();
	set_str(o, "@odata.context", ctx);
	json_object_object_add(o, "value", a);
	call_reply(c, 200, o);
}

static void
post_check_groups(struct call *c, char **caps)
{
	const struct user *u = store_user(c->emu, caps[0]);

	if (u == NULL)
		not_found(c, caps[0]);
	else
		check_groups(c, u);
}

static void
post_me_check_groups(struct call *c, char **caps)
{
	(void)caps;
	if (!call_require_delegated(c))
		return;
	check_groups(c, c->user);
}

const struct route dir_routes[] = {
	{ "v1.0/me", M_GET, get_me },
	{ "v1.0/users/*", M_GET, get_user },
	{ "v1.0/users/*/manager", M_GET, get_manager },
	{ "v1.0/groups/*", M_GET, get_group },
	{ "v1.0/groups/*/members", M_GET, get_members },
	{ "v1.0/groups/*/transitiveMembers", M_GET, get_transitive },
	{ "v1.0/users/*/checkMemberGroups", M_POST, post_check_groups },
	{ "v1.0/directoryObjects/*/checkMemberGroups", M_POST,
	    post_check_groups },
	{ "v1.0/me/checkMemberGroups", M_POST, post_me_check_groups },
	{ "beta/me", M_GET, get_me },
	{ "beta/users/*", M_GET, get_user },
	{ "beta/users/*/manager", M_GET, get_manager },
	{ "beta/groups/*", M_GET, get_group },
	{ "beta/groups/*/members", M_GET, get_members },
	{ "beta/groups/*/transitiveMembers", M_GET, get_transitive },
	{ "beta/users/*/checkMemberGroups", M_POST, post_check_groups },
	{ "beta/directoryObjects/*/checkMemberGroups", M_POST,
	    post_check_groups },
	{ "beta/me/checkMemberGroups", M_POST, post_me_check_groups },
	{ NULL, 0, NULL },
};
