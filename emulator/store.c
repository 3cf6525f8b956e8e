/* The fixture: tenant, users, groups, apps, approvers; reset to it. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "emu.h"

static void
user_free(void *p)
{
	struct user *u = p;

	free(u->id);
	free(u->upn);
	free(u->name);
	free(u->manager_id);
	free(u->mail);
	free(u->job_title);
	free(u->user_type);
	free(u);
}

static void group_members_clear(struct group *g);

static void
group_free(void *p)
{
	struct group *g = p;

	group_members_clear(g);
	free(g->id);
	free(g->name);
	free(g->description);
	free(g);
}

static void
app_free(void *p)
{
	struct app *a = p;

	free(a->client_id);
	free(a->name);
	if (a->secret != NULL) {
		explicit_bzero(a->secret, strlen(a->secret));
		free(a->secret);
	}
	X509_free(a->cert);
	EVP_PKEY_free(a->pubkey);
	free(a->x5t);
	free(a->x5t256);
	free(a);
}

static void
rtoken_free(void *p)
{
	struct rtoken *t = p;

	free(t->tok);
	free(t);
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool
jbool(json_object *o, const char *key, bool def)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return def;
	return json_object_get_boolean(v);
}

static int
jint(json_object *o, const char *key, int def)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return def;
	return json_object_get_int(v);
}

static int
jdur(json_object *o, const char *key, int64_t def, int64_t *out)
{
	const char *s = jstr(o, key);

	*out = def;
	if (s == NULL)
		return 0;
	if (clock_parse_duration(s, out) < 0) {
		fprintf(stderr, "graph-emulator: fixture: bad duration %s=%s\n",
		    key, s);
		return -1;
	}
	return 0;
}

const struct user *
store_user(struct emu *e, const char *key)
{
	const struct user *u;
	char *l;

	if (key == NULL)
		return NULL;
	if ((u = hmap_get(&e->users, key)) != NULL)
		return u;
	l = str_lower(key);
	u = hmap_get(&e->users_upn, l);
	free(l);
	return u;
}

const struct group *
store_group(struct emu *e, const char *id)
{
	return id != NULL ? hmap_get(&e->groups, id) : NULL;
}

const char **
store_transitive(struct emu *e, const struct group *g, size_t *np)
{
	struct hmap seen;
	const struct group **stack;
	const char **out = NULL;
	size_t nstack = 0, capstack = 16, n = 0, cap = 0, i;
	const struct group *cur, *sub;

	hmap_init(&seen);
	stack = xcalloc(capstack, sizeof(*stack));
	stack[nstack++] = g;
	hmap_put(&seen, g->id, (void *)g, NULL);
	while (nstack > 0) {
		cur = stack[--nstack];
		for (i = 0; i < cur->nmembers; i++) {
			const char *m = cur->members[i];

			if (hmap_get(&seen, m) != NULL)
				continue;
			hmap_put(&seen, m, (void *)m, NULL);
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				const char **nout =
				    realloc(out, cap * sizeof(*out));

				if (nout == NULL)
					abort();
				out = nout;
			}
			out[n++] = m;
			if ((sub = store_group(e, m)) != NULL) {
				if (nstack == capstack) {
					capstack *= 2;
					void *nstack_p = realloc(
					    stack, capstack * sizeof(*stack));

					if (nstack_p == NULL)
						abort();
					stack = nstack_p;
				}
				stack[nstack++] = sub;
			}
		}
	}
	free(stack);
	hmap_clear(&seen, NULL);
	*np = n;
	return out;
}

bool
store_member_of(struct emu *e, const char *group_id, const char *user_id)
{
	const struct group *g = store_group(e, group_id);
	const char **m;
	size_t n, i;
	bool found = false;

	if (g == NULL)
		return false;
	m = store_transitive(e, g, &n);
	for (i = 0; i < n && !found; i++)
		found = strcmp(m[i], user_id) == 0;
	free(m);
	return found;
}

bool
store_is_approver(struct emu *e, const char *user_id, enum src src)
{
	size_t i;
	const struct approver_rule *r;

	for (i = 0; i < e->napprovers; i++) {
		r = &e->approvers[i];
		if ((r->sources & (1u << src)) == 0)
			continue;
		if (r->user_id != NULL && strcmp(r->user_id, user_id) == 0)
			return true;
		if (r->group_id != NULL &&
		    store_member_of(e, r->group_id, user_id))
			return true;
	}
	return false;
}

/*
 * PIM for Groups eligibility, from the fixture's `eligibilitySchedules`
 * ({groupId, principalId (id or UPN), accessId}, the fields of
 * privilegedAccessGroupEligibilitySchedule, microsoft-graph-docs-contrib:
 * api-reference/v1.0/resources/privilegedaccessgroupeligibilityschedule.md).
 * A principal is eligible directly or through a group it (transitively)
 * belongs to that is itself eligible.
 */
bool
store_pim_eligible(struct emu *e, const char *group_id,
    const char *principal_id, const char *access_id)
{
	json_object *arr, *o;
	const struct user *u;
	const char *p, *g, *a;
	size_t i, n;

	if (e->fixture == NULL ||
	    !json_object_object_get_ex(
	        e->fixture, "eligibilitySchedules", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return false;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		g = jstr(o, "groupId");
		p = jstr(o, "principalId");
		a = jstr(o, "accessId");
		if (g == NULL || p == NULL || a == NULL ||
		    strcasecmp(g, group_id) != 0 || strcmp(a, access_id) != 0)
			continue;
		if ((u = store_user(e, p)) != NULL) {
			if (strcasecmp(u->id, principal_id) == 0)
				return true;
		} else if (strcasecmp(p, principal_id) == 0 ||
		           store_member_of(e, p, principal_id))
			return true;
	}
	return false;
}

bool
store_is_admin(struct emu *e, const char *user_id)
{
	size_t i;

	for (i = 0; i < e->nadmins; i++)
		if (strcmp(e->admins[i], user_id) == 0)
			return true;
	return false;
}

int
store_add_app_cert(struct emu *e, const char *client_id, const char *pem)
{
	struct app *a = hmap_get(&e->apps, client_id);
	unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
	FILE *f;
	int len;

	if (a == NULL) {
		fprintf(stderr, "graph-emulator: unknown app %s for cert\n",
		    client_id);
		return -1;
	}
	if ((f = fopen(pem, "r")) == NULL) {
		fprintf(stderr, "graph-emulator: cannot open %s\n", pem);
		return -1;
	}
	X509_free(a->cert);
	a->cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (a->cert == NULL) {
		fprintf(
		    stderr, "graph-emulator: %s: not a PEM certificate\n", pem);
		return -1;
	}
	if ((len = i2d_X509(a->cert, &der)) <= 0) {
		fprintf(stderr, "graph-emulator: %s: cannot encode\n", pem);
		return -1;
	}
	free(a->x5t);
	free(a->x5t256);
	SHA1(der, (size_t)len, md);
	a->x5t = b64url_encode(md, SHA_DIGEST_LENGTH);
	SHA256(der, (size_t)len, md);
	a->x5t256 = b64url_encode(md, SHA256_DIGEST_LENGTH);
	OPENSSL_free(der);
	EVP_PKEY_free(a->pubkey);
	if ((a->pubkey = X509_get_pubkey(a->cert)) == NULL) {
		fprintf(stderr, "graph-emulator: %s: no public key\n", pem);
		return -1;
	}
	return 0;
}

static int
load_sources(json_object *arr, unsigned *mask)
{
	size_t i;
	int s;
	const char *n;

	*mask = 0;
	if (arr == NULL) {
		*mask = (1u << SRC_MAX) - 1;
		return 0;
	}
	for (i = 0; i < json_object_array_length(arr); i++) {
		n = json_object_get_string(json_object_array_get_idx(arr, i));
		for (s = 0; s < SRC_MAX; s++)
			if (n != NULL && strcmp(n, src_names[s]) == 0)
				break;
		if (s == SRC_MAX) {
			fprintf(stderr,
			    "graph-emulator: fixture: unknown "
			    "source %s\n",
			    n ? n : "?");
			return -1;
		}
		*mask |= 1u << s;
	}
	return 0;
}

static void
group_members_clear(struct group *g)
{
	size_t i;

	for (i = 0; i < g->nmembers; i++)
		free(g->members[i]);
	free(g->members);
	g->members = NULL;
	g->nmembers = 0;
}

/* (Re)load a group's direct members from its fixture object o. */
static void
group_members(struct emu *e, struct group *g, json_object *o)
{
	json_object *m;
	size_t j;

	group_members_clear(g);
	if (!json_object_object_get_ex(o, "members", &m))
		return;
	g->nmembers = json_object_array_length(m);
	g->members = xcalloc(g->nmembers + 1, sizeof(char *));
	for (j = 0; j < g->nmembers; j++) {
		const struct user *u;
		const char *id =
		    json_object_get_string(json_object_array_get_idx(m, j));

		if ((u = store_user(e, id)) != NULL)
			id = u->id;
		g->members[j] = xstrdup(id ? id : "");
	}
}

int
store_group_add(struct emu *e, const char *group_id, const char *member)
{
	struct group *g = hmap_get(&e->groups, group_id);
	size_t i;

	if (g == NULL)
		return -1;
	for (i = 0; i < g->nmembers; i++)
		if (strcmp(g->members[i], member) == 0)
			return -1;
	if ((g->members = realloc(
	         g->members, (g->nmembers + 2) * sizeof(char *))) == NULL)
		abort();
	g->members[g->nmembers++] = xstrdup(member);
	g->members[g->nmembers] = NULL;
	return 0;
}

int
store_group_remove(struct emu *e, const char *group_id, const char *member)
{
	struct group *g = hmap_get(&e->groups, group_id);
	size_t i;

	for (i = 0; g != NULL && i < g->nmembers; i++)
		if (strcmp(g->members[i], member) == 0) {
			free(g->members[i]);
			g->members[i] = g->members[--g->nmembers];
			g->members[g->nmembers] = NULL;
			return 0;
		}
	return -1;
}

/* Back to the fixture's group memberships. */
static void
reset_groups(struct emu *e)
{
	json_object *arr, *o;
	struct group *g;
	size_t i;

	if (!json_object_object_get_ex(e->fixture, "groups", &arr))
		return;
	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		if ((g = hmap_get(&e->groups, jstr(o, "id"))) != NULL)
			group_members(e, g, o);
	}
}

static int
load_identities(struct emu *e, json_object *root)
{
	json_object *arr, *o, *v;
	size_t i;

	if (json_object_object_get_ex(root, "users", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			struct user *u = xcalloc(1, sizeof(*u));
			char *l;

			o = json_object_array_get_idx(arr, i);
			u->id = xstrdup(jstr(o, "id"));
			u->upn = xstrdup(jstr(o, "userPrincipalName"));
			u->name = xstrdup(jstr(o, "displayName"));
			u->manager_id = xstrdup(jstr(o, "managerId"));
			u->mail = xstrdup(jstr(o, "mail"));
			u->job_title = xstrdup(jstr(o, "jobTitle"));
			/* Graph: userType Member or Guest; an invited guest's
			 * UPN holds #EXT# (user resource type). */
			u->user_type = xstrdup(jstr(o, "userType"));
			if (u->user_type == NULL && u->upn != NULL)
				u->user_type =
				    xstrdup(strstr(u->upn, "#EXT#") ? "Guest"
				                                    : "Member");
			if (u->id == NULL || u->upn == NULL) {
				fprintf(stderr,
				    "graph-emulator: fixture: user "
				    "needs id and userPrincipalName\n");
				user_free(u);
				return -1;
			}
			if (u->name == NULL)
				u->name = xstrdup(u->upn);
			hmap_put(&e->users, u->id, u, NULL);
			l = str_lower(u->upn);
			hmap_put(&e->users_upn, l, u, NULL);
			free(l);
		}
	if (json_object_object_get_ex(root, "groups", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			struct group *g = xcalloc(1, sizeof(*g));

			o = json_object_array_get_idx(arr, i);
			g->id = xstrdup(jstr(o, "id"));
			g->name = xstrdup(jstr(o, "displayName"));
			g->description = xstrdup(jstr(o, "description"));
			g->requires_approval =
			    jbool(o, "requiresApproval", false);
			if (g->id == NULL) {
				fprintf(stderr,
				    "graph-emulator: fixture: group "
				    "needs an id\n");
				group_free(g);
				return -1;
			}
			group_members(e, g, o);
			hmap_put(&e->groups, g->id, g, NULL);
		}
	if (json_object_object_get_ex(root, "apps", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			struct app *a = xcalloc(1, sizeof(*a));
			const char *cf;
			char path[4096];

			o = json_object_array_get_idx(arr, i);
			a->client_id = xstrdup(jstr(o, "clientId"));
			a->name = xstrdup(jstr(o, "displayName"));
			a->secret = xstrdup(jstr(o, "clientSecret"));
			a->admin = jbool(o, "admin", false);
			a->is_public = jbool(o, "publicClient", false);
			if (a->client_id == NULL) {
				fprintf(stderr, "graph-emulator: fixture: app "
				                "needs clientId\n");
				app_free(a);
				return -1;
			}
			hmap_put(&e->apps, a->client_id, a, NULL);
			if ((cf = jstr(o, "certificateFile")) != NULL) {
				if (cf[0] == '/')
					snprintf(path, sizeof(path), "%s", cf);
				else
					snprintf(path, sizeof(path), "%s/%s",
					    e->fixture_dir, cf);
				if (store_add_app_cert(e, a->client_id, path) <
				    0)
					return -1;
			}
		}
	if (json_object_object_get_ex(root, "approvers", &arr)) {
		e->napprovers = json_object_array_length(arr);
		e->approvers =
		    xcalloc(e->napprovers + 1, sizeof(*e->approvers));
		for (i = 0; i < e->napprovers; i++) {
			struct approver_rule *r = &e->approvers[i];
			const struct user *u;
			const char *s;

			o = json_object_array_get_idx(arr, i);
			if ((s = jstr(o, "user")) != NULL) {
				if ((u = store_user(e, s)) == NULL) {
					fprintf(stderr,
					    "graph-emulator: fixture: "
					    "approver %s unknown\n",
					    s);
					return -1;
				}
				r->user_id = xstrdup(u->id);
			}
			if ((s = jstr(o, "group")) != NULL)
				r->group_id = xstrdup(s);
			v = NULL;
			json_object_object_get_ex(o, "sources", &v);
			if (load_sources(v, &r->sources) < 0)
				return -1;
		}
	}
	if (json_object_object_get_ex(root, "admins", &arr)) {
		e->nadmins = json_object_array_length(arr);
		e->admins = xcalloc(e->nadmins + 1, sizeof(char *));
		for (i = 0; i < e->nadmins; i++) {
			const char *s = json_object_get_string(
			    json_object_array_get_idx(arr, i));
			const struct user *u = store_user(e, s);

			if (u == NULL) {
				fprintf(stderr,
				    "graph-emulator: fixture: admin "
				    "%s unknown\n",
				    s ? s : "?");
				return -1;
			}
			e->admins[i] = xstrdup(u->id);
		}
	}
	return 0;
}

static int
load_config(struct emu *e, json_object *root)
{
	struct emu_config *c = &e->cfg;
	json_object *o;
	const char *s;

	c->tenant_id = xstrdup(jstr(root, "tenantId"));
	c->tenant_domain = xstrdup(jstr(root, "tenantDomain"));
	if (c->tenant_id == NULL) {
		fprintf(stderr, "graph-emulator: fixture: tenantId missing\n");
		return -1;
	}
	c->seed = (uint64_t)jint(root, "seed", 1);
	c->token_lifetime = 3599;
	c->devcode_lifetime = 900;
	c->devcode_interval = 5;
	c->refresh_lifetime = 90LL * 86400 * EMU_TICKS_PER_SEC;
	c->refresh_grace = 300LL * EMU_TICKS_PER_SEC;
	c->max_requests = EMU_MAX_REQUESTS;
	c->throttle_rate = 100;
	c->throttle_burst = 200;
	if (json_object_object_get_ex(root, "tokens", &o)) {
		c->token_lifetime = jint(o, "accessTokenLifetime", 3599);
		c->devcode_lifetime = jint(o, "deviceCodeLifetime", 900);
		c->devcode_interval = jint(o, "deviceCodeInterval", 5);
		if (jdur(o, "refreshTokenLifetime", c->refresh_lifetime,
		        &c->refresh_lifetime) < 0 ||
		    jdur(o, "refreshTokenGrace", c->refresh_grace,
		        &c->refresh_grace) < 0)
			return -1;
	}
	if (json_object_object_get_ex(root, "lifecycle", &o) &&
	    (jdur(o, "grantingDelay", 0, &c->granting_delay) < 0 ||
	        jdur(o, "provisioningDelay", 0, &c->provisioning_delay) < 0))
		return -1;
	if (json_object_object_get_ex(root, "limits", &o))
		c->max_requests =
		    (size_t)jint(o, "maxRequests", EMU_MAX_REQUESTS);
	if (json_object_object_get_ex(root, "throttling", &o)) {
		json_object *v;

		c->throttle_on = jbool(o, "enabled", false);
		if (json_object_object_get_ex(o, "rate", &v))
			c->throttle_rate = json_object_get_double(v);
		if (json_object_object_get_ex(o, "burst", &v))
			c->throttle_burst = json_object_get_double(v);
		if (c->throttle_rate <= 0 || c->throttle_burst < 1) {
			fprintf(stderr, "graph-emulator: fixture: throttling "
			                "needs rate > 0 and burst >= 1\n");
			return -1;
		}
	}
	if (e->cli_token_lifetime > 0)
		c->token_lifetime = e->cli_token_lifetime;
	(void)s;
	return 0;
}

/* (Re)issue the fixture's refresh tokens. */
static int
load_refresh_tokens(struct emu *e)
{
	json_object *arr, *o;
	size_t i;
	const char *tok, *user, *client;
	const struct user *u;
	struct rtoken *t;
	void *old;

	if (!json_object_object_get_ex(e->fixture, "refreshTokens", &arr))
		return 0;
	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		tok = jstr(o, "token");
		user = jstr(o, "user");
		client = jstr(o, "client");
		/* bound to the client it was issued to */
		if (tok == NULL || (u = store_user(e, user)) == NULL ||
		    client == NULL || hmap_get(&e->apps, client) == NULL) {
			fprintf(stderr,
			    "graph-emulator: fixture: refresh token "
			    "needs token, a known user and a known client\n");
			return -1;
		}
		t = xcalloc(1, sizeof(*t));
		t->tok = xstrdup(tok);
		snprintf(t->user_id, sizeof(t->user_id), "%s", u->id);
		snprintf(t->client_id, sizeof(t->client_id), "%s", client);
		hmap_put(&e->rtokens, tok, t, &old);
		if (old != NULL)
			rtoken_free(old);
	}
	return 0;
}

int
store_load(struct emu *e, const char *path)
{
	char *dup;

	if ((e->fixture = json_object_from_file(path)) == NULL) {
		fprintf(stderr, "graph-emulator: %s: %s\n", path,
		    json_util_get_last_err());
		return -1;
	}
	dup = xstrdup(path);
	e->fixture_dir = xstrdup(dirname(dup));
	free(dup);
	hmap_init(&e->users);
	hmap_init(&e->users_upn);
	hmap_init(&e->groups);
	hmap_init(&e->apps);
	hmap_init(&e->tokens);
	hmap_init(&e->rtokens);
	hmap_init(&e->devcodes);
	hmap_init(&e->usercodes);
	hmap_init(&e->jtis);
	hmap_init(&e->buckets);
	reqs_init(e);
	e->log = xcalloc(EMU_LOG_CAP, sizeof(*e->log));
	if (load_config(e, e->fixture) < 0 ||
	    load_identities(e, e->fixture) < 0 ||
	    access_load(e, e->fixture) < 0)
		return -1;
	return store_reset(e);
}

int
store_reset(struct emu *e)
{
	req_free_all(e);
	log_clear(e);
	faults_clear(e);
	subs_reset(e);
	reset_groups(e);
	e->clock_offset = 0;
	e->rng = e->cfg.seed;
	hmap_prune(&e->devcodes, NULL, NULL, free);
	hmap_prune(&e->usercodes, NULL, NULL, NULL);
	hmap_prune(&e->buckets, NULL, NULL, free);
	return load_refresh_tokens(e);
}

void
store_free(struct emu *e)
{
	size_t i;

	req_free_all(e);
	access_free(e);
	faults_clear(e);
	subs_reset(e);
	hmap_clear(&e->users_upn, NULL);
	hmap_clear(&e->users, user_free);
	hmap_clear(&e->groups, group_free);
	hmap_clear(&e->apps, app_free);
	hmap_clear(&e->tokens, free);
	hmap_clear(&e->rtokens, rtoken_free);
	hmap_clear(&e->usercodes, NULL);
	hmap_clear(&e->devcodes, free);
	hmap_clear(&e->jtis, NULL);
	hmap_clear(&e->buckets, free);
	for (i = 0; i < e->napprovers; i++) {
		free(e->approvers[i].user_id);
		free(e->approvers[i].group_id);
	}
	free(e->approvers);
	for (i = 0; i < e->nadmins; i++)
		free(e->admins[i]);
	free(e->admins);
	free(e->log);
	free(e->cfg.tenant_id);
	free(e->cfg.tenant_domain);
	free(e->fixture_dir);
	if (e->fixture != NULL)
		json_object_put(e->fixture);
}
