/*
 * approvalctl import-policy POLICY.json: convert an entitlement management
 * access package assignment policy (Graph JSON) into the equivalent
 * approvald `stages` rule, printed as a policy file on stdout.
 *
 * Subject sets map to approver sets: singleUser -> { user }, groupMembers
 * -> { group }, requestorManager -> { manager: level }. Sponsors have no
 * approvald equivalent: they are left out with a warning on stderr, which
 * is what Graph itself does when they resolve to nobody (the fallback
 * approvers apply).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ctl.h"

#define IMP_MAX_SETS 64

struct imp_set {
	char name[64];
	char kind[16]; /* user | group | manager */
	char value[128];
};

struct imp {
	struct imp_set sets[IMP_MAX_SETS];
	size_t nsets;
	int warnings;
	int failed;
};

static const char *
imp_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
imp_bool(struct json_object *o, const char *k)
{
	struct json_object *v;

	return o != NULL && json_object_object_get_ex(o, k, &v) &&
	       json_object_get_boolean(v);
}

/* Only characters that are safe in a YAML plain scalar. */
static int
imp_safe(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		        (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		        *s == '.'))
			return 0;
	return 1;
}

/* A double-quoted YAML scalar. */
static void
imp_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if ((unsigned char)*s < 0x20)
			fputc(' ', out);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

/* The approver set name for one subject set, or NULL (left out). */
static const char *
imp_subject(struct imp *im, struct json_object *s, const char *where)
{
	const char *type = imp_str(s, "@odata.type"), *v = NULL, *kind;
	char value[128], name[64];
	struct json_object *lvl;
	size_t i;

	if (type == NULL) {
		fprintf(stderr,
		    "import-policy: %s: subject set without "
		    "@odata.type\n",
		    where);
		im->failed = 1;
		return NULL;
	}
	if (strcmp(type, "#microsoft.graph.singleUser") == 0) {
		kind = "user";
		v = imp_str(s, "userId");
	} else if (strcmp(type, "#microsoft.graph.groupMembers") == 0) {
		kind = "group";
		v = imp_str(s, "groupId");
	} else if (strcmp(type, "#microsoft.graph.requestorManager") == 0) {
		int level = 1;

		if (json_object_object_get_ex(s, "managerLevel", &lvl))
			level = json_object_get_int(lvl);
		if (level != 1 && level != 2) {
			fprintf(stderr,
			    "import-policy: %s: managerLevel %d is not 1 or "
			    "2\n",
			    where, level);
			im->failed = 1;
			return NULL;
		}
		kind = "manager";
		snprintf(value, sizeof(value), "%d", level);
		v = value;
	} else {
		fprintf(stderr,
		    "import-policy: warning: %s: %s has no approvald "
		    "equivalent; left out (Graph falls back when it resolves "
		    "to nobody)\n",
		    where,
		    type +
		        (strncmp(type, "#microsoft.graph.", 17) == 0 ? 17 : 0));
		im->warnings++;
		return NULL;
	}
	if (!imp_safe(v) || strlen(v) >= sizeof(value)) {
		fprintf(stderr,
		    "import-policy: %s: %s subject without a valid "
		    "id\n",
		    where, kind);
		im->failed = 1;
		return NULL;
	}
	if (v != value)
		snprintf(value, sizeof(value), "%s", v);
	for (i = 0; i < im->nsets; i++)
		if (strcmp(im->sets[i].kind, kind) == 0 &&
		    strcmp(im->sets[i].value, value) == 0)
			return im->sets[i].name;
	if (im->nsets == IMP_MAX_SETS) {
		fprintf(stderr, "import-policy: too many subject sets\n");
		im->failed = 1;
		return NULL;
	}
	snprintf(name, sizeof(name), "%s-%.8s", kind, value);
	snprintf(im->sets[i].name, sizeof(im->sets[i].name), "%s", name);
	snprintf(im->sets[i].kind, sizeof(im->sets[i].kind), "%s", kind);
	snprintf(im->sets[i].value, sizeof(im->sets[i].value), "%s", value);
	im->nsets++;
	return im->sets[i].name;
}

/* Print `key: [a, b]` for a subject-set array; returns how many. */
static size_t
imp_list(struct imp *im, FILE *out, struct json_object *stage,
    const char *graph_key, const char *key, int always, const char *where)
{
	struct json_object *arr;
	const char *names[IMP_MAX_SETS];
	char w[160];
	size_t i, n = 0, len;

	if (json_object_object_get_ex(stage, graph_key, &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		len = json_object_array_length(arr);
		for (i = 0; i < len && n < IMP_MAX_SETS; i++) {
			const char *nm;

			snprintf(
			    w, sizeof(w), "%s %s[%zu]", where, graph_key, i);
			if ((nm = imp_subject(im,
			         json_object_array_get_idx(arr, i), w)) != NULL)
				names[n++] = nm;
		}
	}
	if (n == 0 && !always)
		return 0;
	if (out != NULL) {
		fprintf(out, "        %s: [", key);
		for (i = 0; i < n; i++)
			fprintf(out, "%s%s", i ? ", " : "", names[i]);
		fprintf(out, "]\n");
	}
	return n;
}

/* ISO-8601 duration of zero (PT0S, P0D, ...)? */
static int
imp_zero_duration(const char *d)
{
	if (d == NULL)
		return 1;
	for (; *d; d++)
		if (*d >= '1' && *d <= '9')
			return 0;
	return 1;
}

static void
imp_stage(struct imp *im, FILE *out, struct json_object *st, size_t k)
{
	const char *deny = imp_str(st, "durationBeforeAutomaticDenial");
	const char *esc = imp_str(st, "durationBeforeEscalation");
	char where[32];
	int escalate;

	snprintf(where, sizeof(where), "stage %zu", k + 1);
	fprintf(out, "      - name: stage-%zu\n", k + 1);
	imp_list(im, out, st, "primaryApprovers", "approvers", 1, where);
	imp_list(im, out, st, "fallbackPrimaryApprovers", "fallback", 0, where);
	escalate = imp_bool(st, "isEscalationEnabled") &&
	           !imp_zero_duration(esc) &&
	           imp_list(im, NULL, st, "escalationApprovers", "escalation",
	               0, where) +
	                   imp_list(im, NULL, st, "fallbackEscalationApprovers",
	                       "fallback_escalation", 0, where) >
	               0;
	if (escalate) {
		if (!imp_safe(esc)) {
			im->failed = 1;
			return;
		}
		fprintf(out, "        escalate_after: %s\n", esc);
		imp_list(
		    im, out, st, "escalationApprovers", "escalation", 1, where);
		imp_list(im, out, st, "fallbackEscalationApprovers",
		    "fallback_escalation", 0, where);
	} else if (imp_bool(st, "isEscalationEnabled")) {
		fprintf(stderr,
		    "import-policy: warning: %s: escalation enabled without a "
		    "delay or approvers; left out\n",
		    where);
		im->warnings++;
	}
	if (deny != NULL && !imp_zero_duration(deny)) {
		if (!imp_safe(deny)) {
			im->failed = 1;
			return;
		}
		fprintf(out, "        deny_after: %s\n", deny);
	}
	fprintf(out, "        approvals: 1\n");
	if (imp_bool(st, "isApproverJustificationRequired"))
		fprintf(out, "        justification: required\n");
}

int
ctl_import_policy(int argc, char **argv)
{
	struct json_object *p, *ras, *stages, *pkg;
	const char *name, *pkg_id, *pol_id;
	struct imp im;
	char *body = NULL;
	size_t len = 0, i, n;
	FILE *mem;
	int add, update;

	if (argc != 2)
		return CTL_EXIT_USAGE;
	if ((p = json_object_from_file(argv[1])) == NULL ||
	    !json_object_is_type(p, json_type_object)) {
		fprintf(
		    stderr, "import-policy: %s: not a JSON object\n", argv[1]);
		json_object_put(p);
		return CTL_EXIT_FAIL;
	}
	memset(&im, 0, sizeof(im));
	name = imp_str(p, "displayName");
	pol_id = imp_str(p, "id");
	pkg_id = json_object_object_get_ex(p, "accessPackage", &pkg)
	             ? imp_str(pkg, "id")
	             : NULL;
	if (pkg_id == NULL)
		pkg_id = imp_str(p, "accessPackageId");
	if (!json_object_object_get_ex(p, "requestApprovalSettings", &ras) ||
	    !json_object_is_type(ras, json_type_object)) {
		fprintf(stderr,
		    "import-policy: %s: no requestApprovalSettings\n", argv[1]);
		json_object_put(p);
		return CTL_EXIT_FAIL;
	}
	add = imp_bool(ras, "isApprovalRequiredForAdd");
	update = imp_bool(ras, "isApprovalRequiredForUpdate");
	if (!json_object_object_get_ex(ras, "stages", &stages) ||
	    !json_object_is_type(stages, json_type_array) ||
	    (n = json_object_array_length(stages)) == 0 || n > 3) {
		fprintf(stderr,
		    "import-policy: %s: requestApprovalSettings.stages must "
		    "hold 1 to 3 stages\n",
		    argv[1]);
		json_object_put(p);
		return CTL_EXIT_FAIL;
	}
	if (pkg_id != NULL && !imp_safe(pkg_id)) {
		fprintf(stderr, "import-policy: invalid access package id\n");
		json_object_put(p);
		return CTL_EXIT_FAIL;
	}
	/* The rule first (it names the sets), then the file around it. */
	if ((mem = open_memstream(&body, &len)) == NULL) {
		json_object_put(p);
		return CTL_EXIT_FAIL;
	}
	fprintf(mem, "rules:\n  - name: %s\n",
	    pol_id && imp_safe(pol_id) ? pol_id : "imported-access-package");
	fprintf(mem, "    when:\n      source: access-package\n");
	if (pkg_id != NULL)
		fprintf(mem, "      package: [\"%s\"]\n", pkg_id);
	if (add || update) {
		fprintf(mem, "      request_action: [");
		if (add)
			fprintf(mem, "userAdd, adminAdd");
		if (update)
			fprintf(mem, "%suserUpdate, adminUpdate, userExtend",
			    add ? ", " : "");
		fprintf(mem, "]\n");
	}
	fprintf(mem, "    decide: %s\n", add || update ? "stages" : "ignore");
	fprintf(mem, "    reason: ");
	{
		char reason[400];

		snprintf(reason, sizeof(reason),
		    "imported from access package assignment policy '%s'",
		    name ? name : "(unnamed)");
		imp_quoted(mem, reason);
	}
	fprintf(mem, "\n");
	if (add || update) {
		fprintf(mem, "    stages:\n");
		for (i = 0; i < n; i++)
			imp_stage(
			    &im, mem, json_object_array_get_idx(stages, i), i);
	} else {
		fprintf(stderr, "import-policy: warning: the policy requires "
		                "no approval; the rule leaves its requests "
		                "alone\n");
		im.warnings++;
	}
	fclose(mem);
	if (im.failed) {
		free(body);
		json_object_put(p);
		return CTL_EXIT_FAIL;
	}
	printf("# Imported by approvalctl import-policy from %s", argv[1]);
	if (name != NULL) {
		printf("\n# (");
		imp_quoted(stdout, name);
		printf(")");
	}
	printf("\nversion: 1\n\n");
	if (im.nsets > 0) {
		printf("approvers:\n");
		for (i = 0; i < im.nsets; i++)
			printf("  %s: { %s: %s }\n", im.sets[i].name,
			    im.sets[i].kind, im.sets[i].value);
		printf("\n");
	}
	fputs(body, stdout);
	printf("\ndefault:\n  decide: ignore\n");
	free(body);
	json_object_put(p);
	return CTL_EXIT_OK;
}
