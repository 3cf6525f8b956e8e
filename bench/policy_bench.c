/*
 * bench_policy RULES SRCDIR: generate a policy of RULES rules spread over
 * every source and cloud, followed by the rules of examples/policy.yaml (so
 * most fixtures are decided late in the walk), then time policy_evaluate()
 * over every fixture in examples/requests. Prints median and p99 ns per
 * decision (each sample is the mean of a batch of decisions).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"

#define BATCH   200
#define SAMPLES 2000

static const char *const fixtures[] = {
	"permissions-request-aws-policy.json",
	"permissions-request-aws-action.json",
	"permissions-request-azure-action.json",
	"permissions-request-azure-role.json",
	"permissions-request-gcp-action.json",
	"permissions-request-gcp-role.json",
	"group-request-admin-assign.json",
	"group-request-self-activate.json",
	"access-package-request.json",
};
#define NFIX (sizeof(fixtures) / sizeof(fixtures[0]))

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) || (b = malloc((size_t)n + 1)) == NULL) {
		if (f)
			fclose(f);
		return NULL;
	}
	*len = fread(b, 1, (size_t)n, f);
	b[*len] = '\0';
	fclose(f);
	return b;
}

static char *
gen_policy(int n, const char *example)
{
	size_t cap = (size_t)n * 400 + strlen(example) + 4096, off = 0;
	char *s = malloc(cap);
	const char *rules = strstr(example, "\nrules:\n");
	const char *deflt = strstr(example, "\ndefault:");
	int i;

	off += (size_t)snprintf(s + off, cap - off,
	    "version: 1\napprovers:\n"
	    "  ciso: { user: 7deff43e-1f17-44ef-9e5f-d516b0ba11d4 }\n"
	    "  secops: { group: 1623f912-5e86-41c2-af47-39dd67582b66 }\n"
	    "  manager: { manager: 1 }\nrules:\n");
	for (i = 0; i < n; i++) {
		switch (i % 6) {
		case 0:
			off += (size_t)snprintf(s + off, cap - off,
			    "  - name: r%d\n    when: { cloud: aws, system: "
			    "[\"acct-%d\"], actions: [\"svc%d:Delete*\"] }\n"
			    "    decide: reject\n",
			    i, i, i);
			break;
		case 1:
			off += (size_t)snprintf(s + off, cap - off,
			    "  - name: r%d\n    when: { cloud: aws, system: "
			    "[\"acct-%d\"], policies: [\"arn:aws:iam::%d:"
			    "policy/ReadOnly*\"], max_duration: PT4H, ticket: "
			    "{ system: ServiceNow, pattern: \"^INC[0-9]{7}$\" "
			    "} }\n    decide: approve\n",
			    i, i, i);
			break;
		case 2:
			off += (size_t)snprintf(s + off, cap - off,
			    "  - name: r%d\n    when: { cloud: azure, system: "
			    "[\"sub-%d-*\"], roles: [\"role-%d-*\"] }\n"
			    "    decide: stages\n    stages:\n      - { "
			    "approvers: [manager], fallback: [ciso] }\n",
			    i, i, i);
			break;
		case 3:
			off += (size_t)snprintf(s + off, cap - off,
			    "  - name: r%d\n    when: { cloud: gcp, system: "
			    "[\"proj-%d\"], actions: [\"svc%d.*\"] }\n"
			    "    decide: reject\n",
			    i, i, i);
			break;
		case 4:
			off += (size_t)snprintf(s + off, cap - off,
			    "  - name: r%d\n    when: { source: group, group: "
			    "[\"grp-%d\"], request_action: selfActivate }\n"
			    "    decide: approve\n",
			    i, i);
			break;
		default:
			off += (size_t)snprintf(s + off, cap - off,
			    "  - name: r%d\n    when: { source: "
			    "access-package, "
			    "package: [\"pkg-%d\"] }\n    decide: ignore\n",
			    i, i);
			break;
		}
	}
	if (rules && deflt && deflt > rules)
		off += (size_t)snprintf(s + off, cap - off, "%.*s\n",
		    (int)(deflt - rules - 8), rules + 8);
	snprintf(s + off, cap - off, "default: { decide: ignore }\n");
	return s;
}

static int
cmp64(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	struct request reqs[NFIX];
	struct cfg_diags d = { 0 };
	struct policy *p = NULL;
	static double samples[SAMPLES];
	char path[4096], *ex, *pol;
	size_t i, len, k;
	int n;
	volatile int sink = 0;

	if (argc != 3 || (n = atoi(argv[1])) < 0) {
		fprintf(stderr, "usage: bench_policy RULES SRCDIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/examples/policy.yaml", argv[2]);
	if ((ex = slurp(path, &len)) == NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		return 1;
	}
	pol = gen_policy(n, ex);
	if (policy_load_buffer("generated.yaml", pol, strlen(pol), &p, &d) <
	    0) {
		char b[1024];

		for (i = 0; i < d.n; i++) {
			cfg_diag_format(&d.v[i], b, sizeof(b));
			fprintf(stderr, "%s\n", b);
		}
		return 1;
	}
	for (i = 0; i < NFIX; i++) {
		char *buf;

		snprintf(path, sizeof(path), "%s/examples/requests/%s", argv[2],
		    fixtures[i]);
		if ((buf = slurp(path, &len)) == NULL ||
		    request_from_json(buf, len, REQ_SRC_MAX, &reqs[i], NULL) <
		        0) {
			fprintf(stderr, "bad fixture %s\n", path);
			return 1;
		}
		free(buf);
	}
	for (k = 0; k < SAMPLES; k++) {
		double t0 = now_ns();

		for (i = 0; i < BATCH; i++) {
			struct verdict v;

			policy_evaluate(p, &reqs[(k + i) % NFIX], 1700000000,
			    NULL, NULL, &v, NULL);
			sink += v.kind;
		}
		samples[k] = (now_ns() - t0) / BATCH;
	}
	qsort(samples, SAMPLES, sizeof(samples[0]), cmp64);
	printf("rules=%zu decisions=%d median_ns=%.0f p99_ns=%.0f\n",
	    policy_nrules(p), SAMPLES * BATCH, samples[SAMPLES / 2],
	    samples[SAMPLES * 99 / 100]);
	for (i = 0; i < NFIX; i++)
		request_free(&reqs[i]);
	policy_free(p);
	cfg_diags_free(&d);
	free(pol);
	free(ex);
	return sink < 0;
}
