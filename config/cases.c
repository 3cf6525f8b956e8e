/* TESTS.yaml for `approvalctl test`: cases of request -> expected verdict. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "internal.h"

static const struct ykey case_keys[] = {
	{ "name", YT_STR },
	{ "request", YT_STR_OR_MAP },
	{ "source", YT_STR },
	{ "at", YT_STR },
	{ "expect", YT_MAP },
	{ NULL, YT_ANY },
};

static const struct ykey expect_keys[] = {
	{ "verdict", YT_STR },
	{ "rule", YT_STR },
	{ "stages", YT_SEQ },
	{ NULL, YT_ANY },
};

/* YAML node to json-c (plain scalars become numbers/booleans/null). */
static json_object *
y2j(const struct ynode *n)
{
	json_object *o;
	size_t i;
	char *end;

	switch (n->type) {
	case YN_SCALAR:
		if (n->plain) {
			if (strcmp(n->str, "true") == 0)
				return json_object_new_boolean(1);
			if (strcmp(n->str, "false") == 0)
				return json_object_new_boolean(0);
			if (strcmp(n->str, "null") == 0 ||
			    strcmp(n->str, "~") == 0 || n->str[0] == '\0')
				return NULL;
			if (n->str[0] != '\0') {
				long long v = strtoll(n->str, &end, 10);

				if (*end == '\0')
					return json_object_new_int64(v);
			}
		}
		return json_object_new_string(n->str);
	case YN_SEQ:
		o = json_object_new_array();
		for (i = 0; o && i < n->n; i++)
			json_object_array_add(o, y2j(n->v[i]));
		return o;
	case YN_MAP:
		o = json_object_new_object();
		for (i = 0; o && i < n->n; i++)
			json_object_object_add(
			    o, n->v[2 * i]->str, y2j(n->v[2 * i + 1]));
		return o;
	}
	return NULL;
}

void
policy_cases_free(struct policy_case *v, size_t n)
{
	size_t i, j;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].request_file);
		free(v[i].request_json);
		free(v[i].rule);
		for (j = 0; j < v[i].nstages; j++)
			free(v[i].stages[j]);
		free(v[i].stages);
	}
	free(v);
}

static int
load_case(struct yctx *c, const struct ynode *n, const char *dir,
    struct policy_case *pc)
{
	const struct ynode *v, *e;
	size_t i;
	int errs = 0;

	pc->line = n->line;
	pc->col = n->col;
	pc->source = REQ_SRC_MAX;
	if (ycheck_map(c, n, case_keys))
		errs++;
	if (n->type != YN_MAP)
		return -1;
	v = ymap_get(n, "name");
	pc->name = v && v->type == YN_SCALAR
	               ? strdup(v->str)
	               : cfg_asprintf("case at line %u", n->line);
	if ((v = ymap_get(n, "request")) == NULL) {
		yerr(c, n, "case needs a `request` (file or mapping)");
		errs++;
	} else if (v->type == YN_SCALAR) {
		pc->request_file = v->str[0] == '/'
		                       ? strdup(v->str)
		                       : cfg_asprintf("%s/%s", dir, v->str);
	} else if (v->type == YN_MAP) {
		json_object *o = y2j(v);

		pc->request_json = strdup(
		    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	if ((v = ymap_get(n, "source")) && v->type == YN_SCALAR) {
		if ((pc->source = req_source_from_name(v->str)) < 0) {
			yerr(c, v, "unknown source `%s`", v->str);
			errs++;
		}
	}
	if ((v = ymap_get(n, "at")) && v->type == YN_SCALAR) {
		if ((pc->at = cfg_parse_timestamp(v->str)) < 0) {
			yerr(c, v, "bad timestamp `%s`", v->str);
			errs++;
		}
	}
	if ((e = ymap_get(n, "expect")) == NULL || e->type != YN_MAP) {
		if (e == NULL)
			yerr(c, n, "case needs `expect`");
		return -1;
	}
	if (ycheck_map(c, e, expect_keys))
		errs++;
	if ((v = ymap_get(e, "verdict")) && v->type == YN_SCALAR) {
		for (i = 0; i < VERDICT_MAX; i++)
			if (strcmp(verdict_name((enum verdict_kind)i),
			        v->str) == 0)
				break;
		if (i == VERDICT_MAX) {
			yerr(c, v, "unknown verdict `%s`", v->str);
			errs++;
		} else {
			pc->has_verdict = 1;
			pc->verdict = (enum verdict_kind)i;
		}
	}
	if ((v = ymap_get(e, "rule")) && v->type == YN_SCALAR)
		pc->rule = strdup(v->str);
	if ((v = ymap_get(e, "stages")) && v->type == YN_SEQ) {
		pc->has_stages = 1;
		pc->stages = calloc(v->n + 1, sizeof(char *));
		for (i = 0; pc->stages && i < v->n; i++)
			if (v->v[i]->type == YN_SCALAR)
				pc->stages[pc->nstages++] =
				    strdup(v->v[i]->str);
	}
	if (!pc->has_verdict && !pc->rule && !pc->has_stages) {
		yerr(c, e, "`expect` needs verdict, rule or stages");
		errs++;
	}
	return errs ? -1 : 0;
}

int
policy_cases_load_file(const char *path, struct policy_case **out, size_t *nout,
    struct cfg_diags *diags)
{
	struct ydoc doc = { 0 };
	struct yctx c = { path, diags };
	const struct ynode *list;
	struct policy_case *v = NULL;
	char *buf = NULL, *pcopy = NULL;
	size_t len, i, nerr0 = diags->nerrors;
	const char *dir;

	*out = NULL;
	*nout = 0;
	if (cfg_read_file(path, &buf, &len, diags) < 0)
		return -1;
	if (ydoc_load(&doc, path, buf, len, diags) < 0)
		goto fail;
	list = doc.root;
	if (list && list->type == YN_MAP) {
		static const struct ykey top[] = { { "cases", YT_SEQ },
			{ NULL, YT_ANY } };

		if (ycheck_map(&c, list, top))
			goto fail;
		list = ymap_get(list, "cases");
	}
	if (list == NULL || list->type != YN_SEQ) {
		cfg_diag_add(diags, CFG_ERROR, path, 1, 1,
		    "expected a list of cases (or `cases:`)");
		goto fail;
	}
	pcopy = strdup(path);
	dir = dirname(pcopy);
	if ((v = calloc(list->n + 1, sizeof(*v))) == NULL)
		goto fail;
	for (i = 0; i < list->n; i++) {
		load_case(&c, list->v[i], dir, &v[i]);
		*nout = i + 1;
	}
	if (diags->nerrors != nerr0)
		goto fail;
	*out = v;
	free(pcopy);
	free(buf);
	ydoc_free(&doc);
	return 0;
fail:
	policy_cases_free(v, *nout);
	*nout = 0;
	free(pcopy);
	free(buf);
	ydoc_free(&doc);
	return -1;
}
