/*
 * A verdict as recorded with its request: its fingerprint, and its stages
 * in a stable, versioned encoding (issue 15).
 *
 * Version 1, one JSON object, every member required, no other member:
 *
 *   { "version": 1, "rule": "<rule name>", "at": <epoch seconds>,
 *     "stages": [ { "name": "<stage name>", "approvals": 1..8,
 *                   "justification_required": true|false,
 *                   "escalate_after": s, "deny_after": s,
 *                   "remind_every": s,
 *                   "approvers": [ SET, ... ], "fallback": [ SET, ... ],
 *                   "escalation": [ SET, ... ],
 *                   "fallback_escalation": [ SET, ... ] }, ... ] }
 *
 *   SET: { "set": "<set name>", "user": "<id or UPN>" }
 *      | { "set": "<set name>", "group": "<group id>" }
 *      | { "set": "<set name>", "manager": 1|2 }
 *
 * 1 to CFG_MAX_STAGES stages, at most POLICY_STAGES_MAX_SETS sets a list.
 * Pure: no logging, no clock; the caller says when the policy decided.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "internal.h"

#define STAGES_MAX_DURATION (10LL * 366 * 86400) /* seconds */

/* ---- fingerprint ------------------------------------------------------ */

/* Hash `name` and `v` (NULL allowed) unambiguously: length-prefixed. */
static void
fp_put(EVP_MD_CTX *md, const char *name, const char *v)
{
	char len[32];

	if (v != NULL)
		snprintf(len, sizeof(len), "=%zu:", strlen(v));
	else
		snprintf(len, sizeof(len), "=null;");
	EVP_DigestUpdate(md, name, strlen(name));
	EVP_DigestUpdate(md, len, strlen(len));
	if (v != NULL)
		EVP_DigestUpdate(md, v, strlen(v));
}

static void
fp_int(EVP_MD_CTX *md, const char *name, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	fp_put(md, name, buf);
}

static void
fp_sets(EVP_MD_CTX *md, const char *name, const struct approver_ref_list *l)
{
	size_t i;

	fp_int(md, name, (int64_t)l->n);
	for (i = 0; i < l->n; i++) {
		fp_int(md, "kind", l->v[i]->kind);
		fp_put(md, "value", l->v[i]->value);
		fp_int(md, "level", l->v[i]->level);
	}
}

void
verdict_fingerprint(const struct verdict *v, char out[65])
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0, i;
	const struct policy_stage *s;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t k;

	out[0] = '\0';
	if (md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return;
	}
	fp_put(md, "v", "approvald-verdict-1");
	fp_put(md, "rule", v->rule != NULL ? v->rule : "default");
	fp_put(md, "verdict", verdict_name(v->kind));
	if (v->kind == VERDICT_STAGES) {
		fp_int(md, "stages", (int64_t)v->nstages);
		for (k = 0; k < v->nstages; k++) {
			s = &v->stages[k];
			fp_sets(md, "approvers", &s->approvers);
			fp_sets(md, "fallback", &s->fallback);
			fp_sets(md, "escalation", &s->escalation);
			fp_sets(
			    md, "fallback_escalation", &s->fallback_escalation);
			fp_int(md, "approvals", s->approvals);
			fp_int(md, "justification", s->justification_required);
			fp_int(md, "escalate_after", s->escalate_after);
			fp_int(md, "deny_after", s->deny_after);
			fp_int(md, "remind_every", s->remind_every);
		}
	}
	if (!EVP_DigestFinal_ex(md, h, &hl))
		hl = 0;
	EVP_MD_CTX_free(md);
	for (i = 0; i < hl && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* ---- encoding --------------------------------------------------------- */

/* The four approver lists of a stage, by member name, in stage order. */
static const char *const list_names[4] = { "approvers", "fallback",
	"escalation", "fallback_escalation" };

static const struct approver_ref_list *
stage_list(const struct policy_stage *s, int i)
{
	switch (i) {
	case 0:
		return &s->approvers;
	case 1:
		return &s->fallback;
	case 2:
		return &s->escalation;
	default:
		return &s->fallback_escalation;
	}
}

static int
add(struct json_object *o, const char *k, struct json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int
add_str(struct json_object *o, const char *k, const char *v)
{
	if (v == NULL || strlen(v) > POLICY_STAGES_MAX_STR)
		return -1;
	return add(o, k, json_object_new_string(v));
}

static struct json_object *
enc_set(const struct approver_set *s)
{
	struct json_object *o = json_object_new_object();
	int rc = -1;

	if (o == NULL || add_str(o, "set", s->name) == -1)
		goto out;
	switch (s->kind) {
	case APPROVER_USER:
		rc = add_str(o, "user", s->value);
		break;
	case APPROVER_GROUP:
		rc = add_str(o, "group", s->value);
		break;
	case APPROVER_MANAGER:
		if (s->level >= 1 && s->level <= 2)
			rc = add(o, "manager", json_object_new_int(s->level));
		break;
	default:
		break;
	}
out:
	if (rc == -1) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *
enc_list(const struct approver_ref_list *l)
{
	struct json_object *a;
	size_t i;

	if (l->n > POLICY_STAGES_MAX_SETS ||
	    (a = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < l->n; i++) {
		struct json_object *s = enc_set(l->v[i]);

		if (s == NULL || json_object_array_add(a, s) != 0) {
			json_object_put(s);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

static struct json_object *
enc_stage(const struct policy_stage *s)
{
	struct json_object *o = json_object_new_object();
	int i;

	if (o == NULL || add_str(o, "name", s->name) == -1 ||
	    add(o, "approvals", json_object_new_int64(s->approvals)) == -1 ||
	    add(o, "justification_required",
	        json_object_new_boolean(s->justification_required)) == -1 ||
	    add(o, "escalate_after",
	        json_object_new_int64(s->escalate_after)) == -1 ||
	    add(o, "deny_after", json_object_new_int64(s->deny_after)) == -1 ||
	    add(o, "remind_every", json_object_new_int64(s->remind_every)) ==
	        -1)
		goto bad;
	for (i = 0; i < 4; i++)
		if (add(o, list_names[i], enc_list(stage_list(s, i))) == -1)
			goto bad;
	return o;
bad:
	json_object_put(o);
	return NULL;
}

char *
policy_stages_encode(const struct verdict *v, int64_t at)
{
	struct json_object *o, *a;
	char *text = NULL;
	const char *t;
	size_t i;

	if (v == NULL || v->kind != VERDICT_STAGES || v->nstages == 0 ||
	    v->nstages > CFG_MAX_STAGES || v->stages == NULL)
		return NULL;
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (add(o, "version", json_object_new_int(POLICY_STAGES_VERSION)) ==
	        -1 ||
	    add_str(o, "rule", v->rule != NULL ? v->rule : "default") == -1 ||
	    add(o, "at", json_object_new_int64(at)) == -1 ||
	    add(o, "stages", (a = json_object_new_array())) == -1)
		goto out;
	for (i = 0; i < v->nstages; i++) {
		struct json_object *s = enc_stage(&v->stages[i]);

		if (s == NULL || json_object_array_add(a, s) != 0) {
			json_object_put(s);
			goto out;
		}
	}
	t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (t != NULL && strlen(t) <= POLICY_STAGES_MAX_TEXT)
		text = strdup(t);
out:
	json_object_put(o);
	return text;
}

/* ---- decoding --------------------------------------------------------- */

struct dec {
	struct policy_stages *ps;
	char **err;
};

static int
dec_fail(struct dec *c, const char *fmt, const char *what)
{
	if (c->err != NULL && *c->err == NULL)
		*c->err = cfg_asprintf(fmt, what);
	return -1;
}

/* Exactly the members `keys` (NULL-terminated), nothing else. */
static int
dec_members(struct dec *c, struct json_object *o, const char *const *keys,
    const char *what)
{
	struct json_object *v;
	size_t n = 0, i;

	if (!json_object_is_type(o, json_type_object))
		return dec_fail(c, "%s is not an object", what);
	for (i = 0; keys[i] != NULL; i++)
		if (!json_object_object_get_ex(o, keys[i], &v))
			return dec_fail(c, "missing member `%s`", keys[i]);
	n = i;
	if ((size_t)json_object_object_length(o) != n)
		return dec_fail(c, "unknown member in %s", what);
	return 0;
}

static struct json_object *
get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, k, &v);
	return v;
}

static int
dec_int(struct dec *c, struct json_object *o, const char *k, int64_t min,
    int64_t max, int64_t *out)
{
	struct json_object *v = get(o, k);

	if (v == NULL || !json_object_is_type(v, json_type_int))
		return dec_fail(c, "`%s` is not an integer", k);
	errno = 0;
	*out = json_object_get_int64(v);
	if (errno != 0 || *out < min || *out > max)
		return dec_fail(c, "`%s` is out of range", k);
	return 0;
}

static int
dec_str(struct dec *c, struct json_object *o, const char *k, char **out)
{
	struct json_object *v = get(o, k);
	const char *s;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return dec_fail(c, "`%s` is not a string", k);
	s = json_object_get_string(v);
	if (s == NULL || *s == '\0' ||
	    (size_t)json_object_get_string_len(v) != strlen(s) ||
	    strlen(s) > POLICY_STAGES_MAX_STR)
		return dec_fail(c, "`%s` is empty, too long or not text", k);
	if ((*out = strdup(s)) == NULL)
		return dec_fail(c, "%s", "out of memory");
	return 0;
}

static int
dec_set(struct dec *c, struct json_object *o, struct approver_set *s)
{
	static const char *const user[] = { "set", "user", NULL };
	static const char *const group[] = { "set", "group", NULL };
	static const char *const manager[] = { "set", "manager", NULL };
	char *name = NULL, *value = NULL;
	int64_t level = 0;

	if (!json_object_is_type(o, json_type_object))
		return dec_fail(c, "%s is not an object", "an approver set");
	if (get(o, "user") != NULL) {
		if (dec_members(c, o, user, "an approver set") == -1 ||
		    dec_str(c, o, "user", &value) == -1)
			return -1;
		s->value = value;
		s->kind = APPROVER_USER;
	} else if (get(o, "group") != NULL) {
		if (dec_members(c, o, group, "an approver set") == -1 ||
		    dec_str(c, o, "group", &value) == -1)
			return -1;
		s->value = value;
		s->kind = APPROVER_GROUP;
	} else if (get(o, "manager") != NULL) {
		if (dec_members(c, o, manager, "an approver set") == -1 ||
		    dec_int(c, o, "manager", 1, 2, &level) == -1)
			return -1;
		s->kind = APPROVER_MANAGER;
		s->level = (int)level;
	} else
		return dec_fail(
		    c, "%s has no user, group or manager", "an approver set");
	if (dec_str(c, o, "set", &name) == -1)
		return -1;
	s->name = name;
	return 0;
}

static int
dec_list(struct dec *c, struct json_object *a, const char *k,
    struct approver_ref_list *l)
{
	struct policy_stages *ps = c->ps;
	size_t i, n;

	if (a == NULL || !json_object_is_type(a, json_type_array))
		return dec_fail(c, "`%s` is not a list", k);
	n = json_object_array_length(a);
	if (n > POLICY_STAGES_MAX_SETS)
		return dec_fail(c, "`%s` has too many approver sets", k);
	l->v = ps->refs + ps->nsets;
	for (i = 0; i < n; i++) {
		struct approver_set *s = &ps->sets[ps->nsets];

		/* counted: ps->nsets is what is freed */
		ps->refs[ps->nsets++] = s;
		if (dec_set(c, json_object_array_get_idx(a, i), s) == -1)
			return -1;
		l->n++;
	}
	return 0;
}

static int
dec_stage(struct dec *c, struct json_object *o, struct policy_stage *st)
{
	static const char *const keys[] = { "name", "approvals",
		"justification_required", "escalate_after", "deny_after",
		"remind_every", "approvers", "fallback", "escalation",
		"fallback_escalation", NULL };
	struct approver_ref_list *lists[4] = { &st->approvers, &st->fallback,
		&st->escalation, &st->fallback_escalation };
	struct json_object *v;
	char *name = NULL;
	int64_t n;
	int i;

	if (dec_members(c, o, keys, "a stage") == -1 ||
	    dec_str(c, o, "name", &name) == -1)
		return -1;
	st->name = name;
	if (dec_int(c, o, "approvals", 1, CFG_MAX_APPROVALS, &n) == -1)
		return -1;
	st->approvals = (uint32_t)n;
	v = get(o, "justification_required");
	if (!json_object_is_type(v, json_type_boolean))
		return dec_fail(
		    c, "`%s` is not a boolean", "justification_required");
	st->justification_required = json_object_get_boolean(v) ? 1 : 0;
	if (dec_int(c, o, "escalate_after", 0, STAGES_MAX_DURATION,
	        &st->escalate_after) == -1 ||
	    dec_int(c, o, "deny_after", 0, STAGES_MAX_DURATION,
	        &st->deny_after) == -1 ||
	    dec_int(c, o, "remind_every", 0, STAGES_MAX_DURATION,
	        &st->remind_every) == -1)
		return -1;
	for (i = 0; i < 4; i++)
		if (dec_list(c, get(o, list_names[i]), list_names[i],
		        lists[i]) == -1)
			return -1;
	if (st->approvers.n == 0 && st->fallback.n == 0)
		return dec_fail(
		    c, "stage `%s` has no approvers and no fallback", st->name);
	return 0;
}

/* Approver sets the whole document names (sized before decoding). */
static size_t
count_sets(struct json_object *stages)
{
	size_t i, n = 0, k;
	struct json_object *s, *l;

	for (i = 0; i < json_object_array_length(stages); i++) {
		s = json_object_array_get_idx(stages, i);
		if (!json_object_is_type(s, json_type_object))
			continue;
		for (k = 0; k < 4; k++)
			if ((l = get(s, list_names[k])) != NULL &&
			    json_object_is_type(l, json_type_array))
				n += json_object_array_length(l);
	}
	return n;
}

int
policy_stages_decode(const char *text, struct policy_stages **out, char **err)
{
	static const char *const keys[] = { "version", "rule", "at", "stages",
		NULL };
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL, *a;
	struct policy_stages *ps = NULL;
	struct dec c = { NULL, err };
	char *rule = NULL;
	size_t len, i, nsets;
	int64_t version;

	*out = NULL;
	if (err != NULL)
		*err = NULL;
	if (text == NULL)
		return dec_fail(&c, "%s", "no stored stages");
	len = strlen(text);
	if (len > POLICY_STAGES_MAX_TEXT)
		return dec_fail(&c, "%s", "stored stages too long");
	if ((tok = json_tokener_new_ex(16)) == NULL)
		return dec_fail(&c, "%s", "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		dec_fail(&c, "stored stages are not one JSON document: %s",
		    json_tokener_get_error(tok) != json_tokener_success
		        ? json_tokener_error_desc(json_tokener_get_error(tok))
		        : "text after it");
		goto bad;
	}
	if (!json_object_is_type(o, json_type_object)) {
		dec_fail(&c, "%s", "stored stages are not an object");
		goto bad;
	}
	/* The version first: a later version may have other members. */
	if (dec_int(&c, o, "version", POLICY_STAGES_VERSION,
	        POLICY_STAGES_VERSION, &version) == -1) {
		if (err != NULL && *err != NULL) {
			free(*err);
			*err = NULL;
		}
		dec_fail(&c, "%s", "unknown stored stages version");
		goto bad;
	}
	if (dec_members(&c, o, keys, "the stored stages") == -1)
		goto bad;
	a = get(o, "stages");
	if (!json_object_is_type(a, json_type_array)) {
		dec_fail(&c, "`%s` is not a list", "stages");
		goto bad;
	}
	if (json_object_array_length(a) == 0 ||
	    json_object_array_length(a) > CFG_MAX_STAGES) {
		dec_fail(&c, "%s", "no stages or too many stages");
		goto bad;
	}
	nsets = count_sets(a);
	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (ps->sets = calloc(nsets ? nsets : 1, sizeof(*ps->sets))) == NULL ||
	    (ps->refs = calloc(nsets ? nsets : 1, sizeof(*ps->refs))) == NULL) {
		dec_fail(&c, "%s", "out of memory");
		goto bad;
	}
	c.ps = ps;
	ps->v.kind = VERDICT_STAGES;
	ps->v.rule_index = -1;
	ps->v.stages = ps->st;
	if (dec_str(&c, o, "rule", &rule) == -1)
		goto bad;
	ps->v.rule = rule;
	if (dec_int(&c, o, "at", 0, INT64_MAX, &ps->at) == -1)
		goto bad;
	for (i = 0; i < json_object_array_length(a); i++) {
		ps->v.nstages = i + 1;
		if (dec_stage(
		        &c, json_object_array_get_idx(a, i), &ps->st[i]) == -1)
			goto bad;
	}
	json_object_put(o);
	json_tokener_free(tok);
	*out = ps;
	return 0;
bad:
	policy_stages_free(ps);
	json_object_put(o);
	json_tokener_free(tok);
	return -1;
}

void
policy_stages_free(struct policy_stages *ps)
{
	size_t i;

	if (ps == NULL)
		return;
	free((char *)ps->v.rule);
	for (i = 0; i < CFG_MAX_STAGES; i++)
		free((char *)ps->st[i].name);
	for (i = 0; i < ps->nsets; i++) {
		free((char *)ps->sets[i].name);
		free((char *)ps->sets[i].value);
	}
	free(ps->sets);
	free(ps->refs);
	free(ps);
}
