/* approvalctl offline commands: check, explain, test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "config.h"
#include "ctl.h"

static void
print_diags(const struct cfg_diags *d)
{
	char buf[2048];
	size_t i;

	for (i = 0; i < d->n; i++) {
		cfg_diag_format(&d->v[i], buf, sizeof(buf));
		fprintf(stderr, "%s\n", buf);
	}
}

static struct policy *
load_policy(const char *path)
{
	struct cfg_diags d = { 0 };
	struct policy *p = NULL;

	policy_load_file(path, &p, &d);
	print_diags(&d);
	cfg_diags_free(&d);
	return p;
}

static char *
slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, r;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > CFG_MAX_FILE_SIZE * 2 ||
			    (nb = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, 4096, f);
		n += r;
		if (r < 4096)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*lenp = n;
	return buf;
}

/* Offline requestor_in oracle: the directory file answers group sets and
 * named users; manager sets cannot be told offline (-1). */
static int
offline_member(
    void *ctx, const struct approver_set *set, const struct request *r)
{
	const struct cfg_directory *dir = ctx;

	if (dir == NULL || r->who.id == NULL || set->value == NULL)
		return -1;
	switch (set->kind) {
	case APPROVER_GROUP:
		return cfg_directory_member(dir, set->value, r->who.id);
	case APPROVER_USER:
		return strcasecmp(set->value, r->who.id) == 0 ||
		       (r->who.upn && strcasecmp(set->value, r->who.upn) == 0);
	default:
		return -1;
	}
}

static struct cfg_directory *
load_directory(const char *path, int *failed)
{
	struct cfg_directory *dir = NULL;
	char *err = NULL;

	*failed = 0;
	if (path == NULL)
		return NULL;
	if (cfg_directory_load(path, &dir, &err) < 0) {
		fprintf(stderr, "%s\n", err ? err : path);
		*failed = 1;
	}
	free(err);
	return dir;
}

/* Load and normalize a request file; prints the reason on failure. */
static int
load_request(const char *path, const char *json, int source, struct request *r)
{
	char *buf = NULL, *err = NULL;
	size_t len = 0;
	int rc;

	if (json == NULL) {
		if ((buf = slurp(path, &len)) == NULL) {
			fprintf(stderr, "%s: cannot read\n", path);
			return -1;
		}
		json = buf;
	} else {
		len = strlen(json);
	}
	rc = request_from_json(json, len, (enum req_source)source, r, &err);
	if (rc < 0)
		fprintf(stderr, "%s: %s\n", path ? path : "inline request",
		    err ? err : "invalid request");
	free(err);
	free(buf);
	return rc;
}

int
ctl_check(int argc, char **argv)
{
	struct policy *p;
	const char *path = NULL;
	int verbose = 0, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (argv[i][0] == '-' || path != NULL)
			goto usage;
		else
			path = argv[i];
	}
	if (path == NULL)
		goto usage;
	if ((p = load_policy(path)) == NULL)
		return CTL_EXIT_FAIL;
	if (verbose) {
		char *s = policy_dump(p);

		fputs(s ? s : "", stdout);
		free(s);
	} else {
		printf("%s: ok (%zu rules)\n", path, policy_nrules(p));
	}
	policy_free(p);
	return CTL_EXIT_OK;
usage:
	return CTL_EXIT_USAGE;
}

static const char *
result_name(int r)
{
	return r > 0 ? "true" : r == 0 ? "false" : "unknown";
}

static json_object *
refs_json(const struct approver_ref_list *l)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < l->n; i++)
		json_object_array_add(a, json_object_new_string(l->v[i]->name));
	return a;
}

static void
explain_json(const struct verdict *v, const struct policy_trace *t)
{
	json_object *o = json_object_new_object(), *st, *tr;
	size_t i;

	json_object_object_add(
	    o, "verdict", json_object_new_string(verdict_name(v->kind)));
	json_object_object_add(o, "rule", json_object_new_string(v->rule));
	json_object_object_add(
	    o, "reason", v->reason ? json_object_new_string(v->reason) : NULL);
	st = json_object_new_array();
	for (i = 0; i < v->nstages; i++) {
		const struct policy_stage *s = &v->stages[i];
		json_object *so = json_object_new_object();

		json_object_object_add(
		    so, "name", json_object_new_string(s->name));
		json_object_object_add(
		    so, "approvers", refs_json(&s->approvers));
		json_object_object_add(so, "fallback", refs_json(&s->fallback));
		json_object_object_add(
		    so, "escalation", refs_json(&s->escalation));
		json_object_object_add(so, "fallback_escalation",
		    refs_json(&s->fallback_escalation));
		json_object_object_add(so, "escalate_after",
		    json_object_new_int64(s->escalate_after));
		json_object_object_add(
		    so, "deny_after", json_object_new_int64(s->deny_after));
		json_object_object_add(
		    so, "approvals", json_object_new_int64(s->approvals));
		json_object_object_add(so, "justification_required",
		    json_object_new_boolean(s->justification_required));
		json_object_array_add(st, so);
	}
	json_object_object_add(o, "stages", st);
	tr = json_object_new_array();
	for (i = 0; i < t->n; i++) {
		json_object *l = json_object_new_object();

		json_object_object_add(
		    l, "rule", json_object_new_string(t->v[i].rule));
		json_object_object_add(
		    l, "rule_index", json_object_new_int(t->v[i].rule_index));
		json_object_object_add(
		    l, "condition", json_object_new_string(t->v[i].cond));
		json_object_object_add(l, "result",
		    t->v[i].result < 0
		        ? NULL
		        : json_object_new_boolean(t->v[i].result));
		json_object_object_add(l, "detail",
		    json_object_new_string(
		        t->v[i].detail ? t->v[i].detail : ""));
		json_object_array_add(tr, l);
	}
	json_object_object_add(o, "trace", tr);
	printf("%s\n", json_object_to_json_string_ext(o,
	                   JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* What the policy saw, before why it decided. */
static void
explain_request(const struct request *r, int64_t now)
{
	char d[64];

	printf("identity: %s", req_identity_name(r->identity));
	if (r->identity == REQ_ID_VERIFIED)
		printf(" %s (%s)%s", r->who.upn ? r->who.upn : "-", r->who.id,
		    r->who.guest == 1 ? " guest" : "");
	else
		printf(" (key %s%s)",
		    r->requestor_key ? r->requestor_key : "none",
		    r->identity == REQ_ID_UNCHECKED ? "; no --directory" : "");
	if (r->beneficiary_key)
		printf(", beneficiary %s", r->beneficiary.upn
		                               ? r->beneficiary.upn
		                               : r->beneficiary_key);
	printf("\n");
	if (r->sched_invalid) {
		printf("schedule: invalid (never approved by a rule)\n");
	} else {
		if (r->duration < 0)
			snprintf(d, sizeof(d), "unbounded");
		else
			cfg_format_duration(r->duration, d, sizeof(d));
		printf("schedule: %s%s", d,
		    r->recurring ? " (whole recurrence)" : "");
		if (r->start > now) {
			char s[64];

			cfg_format_duration(r->start - now, s, sizeof(s));
			printf(", starts in %s", s);
		}
		printf("\n");
	}
}

static void
explain_text(const struct verdict *v, const struct policy_trace *t)
{
	size_t i;
	int last = -2;

	printf("verdict: %s\nrule: %s\n", verdict_name(v->kind), v->rule);
	if (v->reason)
		printf("reason: %s\n", v->reason);
	if (v->nstages) {
		printf("stages:");
		for (i = 0; i < v->nstages; i++)
			printf("%s %s", i ? "," : "", v->stages[i].name);
		printf("\n");
	}
	printf("trace:\n");
	for (i = 0; i < t->n; i++) {
		if (t->v[i].rule_index != last) {
			last = t->v[i].rule_index;
			if (last < 0)
				printf("  default\n");
			else
				printf(
				    "  rule %d `%s`\n", last + 1, t->v[i].rule);
		}
		printf("    %-7s %s: %s\n", result_name(t->v[i].result),
		    t->v[i].cond, t->v[i].detail ? t->v[i].detail : "");
	}
}

int
ctl_explain(int argc, char **argv)
{
	const char *ppath = NULL, *rpath = NULL;
	const char *dpath = NULL;
	struct cfg_directory *dir = NULL;
	int source = REQ_SRC_MAX, json = 0, i, rc = CTL_EXIT_FAIL, dfail;
	int64_t now = (int64_t)time(NULL);
	struct policy *p = NULL;
	struct request r;
	struct verdict v;
	struct policy_trace t = { 0 };

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--source") == 0 && i + 1 < argc) {
			if ((source = req_source_from_name(argv[++i])) < 0) {
				fprintf(stderr,
				    "unknown source `%s` "
				    "(permissions, group, "
				    "access-package)\n",
				    argv[i]);
				return CTL_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc) {
			if ((now = cfg_parse_timestamp(argv[++i])) < 0) {
				fprintf(stderr, "bad --at timestamp `%s`\n",
				    argv[i]);
				return CTL_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--directory") == 0 &&
		           i + 1 < argc) {
			dpath = argv[++i];
		} else if (argv[i][0] != '-' && ppath == NULL) {
			ppath = argv[i];
		} else if (argv[i][0] != '-' && rpath == NULL) {
			rpath = argv[i];
		} else {
			goto usage;
		}
	}
	if (rpath == NULL)
		goto usage;
	if ((p = load_policy(ppath)) == NULL)
		return CTL_EXIT_FAIL;
	dir = load_directory(dpath, &dfail);
	if (dfail || load_request(rpath, NULL, source, &r) < 0)
		goto out;
	cfg_directory_resolve(dir, &r);
	policy_evaluate(p, &r, now, offline_member, dir, &v, &t);
	if (json) {
		explain_json(&v, &t);
	} else {
		explain_request(&r, now);
		explain_text(&v, &t);
	}
	rc = CTL_EXIT_OK;
	policy_trace_free(&t);
	request_free(&r);
out:
	cfg_directory_free(dir);
	policy_free(p);
	return rc;
usage:
	return CTL_EXIT_USAGE;
}

/* Compare one case; prints a failure line and returns 0 on mismatch. */
static int
run_case(const struct policy *p, const struct policy_case *c, size_t idx,
    const struct cfg_directory *dir)
{
	struct request r;
	struct verdict v;
	char why[1024] = "";
	size_t i;
	int ok = 1;

	if (load_request(c->request_file, c->request_json, c->source, &r) < 0) {
		printf("FAIL %zu - %s: request could not be loaded\n", idx,
		    c->name);
		return 0;
	}
	cfg_directory_resolve(dir, &r);
	policy_evaluate(p, &r, c->at ? c->at : (int64_t)time(NULL),
	    offline_member, (void *)dir, &v, NULL);
	if (c->has_verdict && c->verdict != v.kind) {
		ok = 0;
		snprintf(why, sizeof(why), "expected verdict %s, got %s",
		    verdict_name(c->verdict), verdict_name(v.kind));
	} else if (c->rule && strcmp(c->rule, v.rule) != 0) {
		ok = 0;
		snprintf(why, sizeof(why), "expected rule %s, got %s", c->rule,
		    v.rule);
	} else if (c->has_stages) {
		if (c->nstages != v.nstages)
			ok = 0;
		for (i = 0; ok && i < c->nstages; i++)
			if (strcmp(c->stages[i], v.stages[i].name) != 0)
				ok = 0;
		if (!ok)
			snprintf(why, sizeof(why),
			    "expected %zu stage(s), got %zu (%s%s)", c->nstages,
			    v.nstages, v.nstages ? "first " : "none",
			    v.nstages ? v.stages[0].name : "");
	}
	if (ok)
		printf("ok   %zu - %s (%s by %s)\n", idx, c->name,
		    verdict_name(v.kind), v.rule);
	else
		printf(
		    "FAIL %zu - %s: %s (rule %s)\n", idx, c->name, why, v.rule);
	request_free(&r);
	return ok;
}

int
ctl_test(int argc, char **argv)
{
	struct cfg_diags d = { 0 };
	struct policy_case *cases = NULL;
	struct policy *p;
	struct cfg_directory *dir = NULL;
	size_t n = 0, i, pass = 0, fail = 0;
	int dfail;

	if (argc == 5 && strcmp(argv[3], "--directory") == 0) {
		dir = load_directory(argv[4], &dfail);
		if (dfail)
			return CTL_EXIT_FAIL;
		argc = 3;
	}
	if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
		cfg_directory_free(dir);
		return CTL_EXIT_USAGE;
	}
	if ((p = load_policy(argv[1])) == NULL) {
		cfg_directory_free(dir);
		return CTL_EXIT_FAIL;
	}
	if (policy_cases_load_file(argv[2], &cases, &n, &d) < 0) {
		print_diags(&d);
		cfg_diags_free(&d);
		policy_free(p);
		cfg_directory_free(dir);
		return CTL_EXIT_FAIL;
	}
	print_diags(&d);
	cfg_diags_free(&d);
	for (i = 0; i < n; i++) {
		if (run_case(p, &cases[i], i + 1, dir))
			pass++;
		else
			fail++;
	}
	printf("%zu passed, %zu failed\n", pass, fail);
	policy_cases_free(cases, n);
	policy_free(p);
	cfg_directory_free(dir);
	return fail || n == 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
