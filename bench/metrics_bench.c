/*
 * What a /metrics scrape and `approvalctl status` cost with many stored
 * requests (issue 16): fills a fresh state database with N requests
 * (90 % settled, the rest waiting or in attention), then times, over R
 * rounds, the reads the scrape makes on the daemon's only thread —
 * store_request_counts (the kept counts behind approvald_requests) and
 * store_health_get (attention, oldest waiting, outbox, next deadline) —
 * next to the GROUP BY over the requests table they replaced.
 *
 *   metrics_bench STATE.db N [R]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "store.h"

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int
count_cb(void *arg, int src, const char *state, int64_t n)
{
	*(int64_t *)arg += n;
	(void)src;
	(void)state;
	return 0;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	static const char body[] = "{\"statusDetail\":\"completed\","
	                           "\"justification\":\"bench\"}";
	struct store *s;
	struct store_request r;
	struct store_health h;
	int64_t groups = 0;
	char *err = NULL, key[64], gid[48];
	long i, n, rounds;
	int64_t total;
	double *tc = NULL, *th = NULL, *tg = NULL, t0;

	if (argc < 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: metrics_bench STATE.db N [ROUNDS]\n");
		return 2;
	}
	rounds = argc > 3 ? strtol(argv[3], NULL, 10) : 50;
	if (rounds <= 0)
		rounds = 50;
	unlink(argv[1]);
	if (store_open(argv[1], &s, &err) == -1) {
		fprintf(stderr, "metrics_bench: %s\n", err);
		return 1;
	}
	t0 = now_us();
	for (i = 0; i < n; i++) {
		if (i % 20000 == 0 &&
		    (store_commit(s) == -1 || store_begin(s) == -1))
			goto fail;
		snprintf(gid, sizeof(gid), "00000000-0000-4000-8000-%012ld", i);
		snprintf(key, sizeof(key), "permissions:%s", gid);
		memset(&r, 0, sizeof(r));
		r.key = key;
		r.gid = gid;
		r.approval_id = gid;
		r.sm.state = i % 10 != 0   ? SM_S_COMPLETED
		             : i % 20 == 0 ? SM_S_PENDING
		                           : SM_S_ATTENTION;
		r.graph_status = "completed";
		r.body = (char *)body;
		r.rule = "bench";
		r.verdict = "approve";
		r.created = r.updated = 1700000000 + i;
		if (store_request_put(s, &r) == -1)
			goto fail;
	}
	if (store_commit(s) == -1)
		goto fail;
	printf("stored=%ld requests in %.1f s\n", n, (now_us() - t0) / 1e6);
	tc = calloc((size_t)rounds, sizeof(double));
	th = calloc((size_t)rounds, sizeof(double));
	tg = calloc((size_t)rounds, sizeof(double));
	if (tc == NULL || th == NULL || tg == NULL) {
		free(tc);
		free(th);
		free(tg);
		return 1;
	}
	for (i = 0; i < rounds; i++) {
		total = 0;
		t0 = now_us();
		if (store_request_counts(s, count_cb, &total) == -1)
			goto fail;
		tc[i] = now_us() - t0;
		if (total != n) {
			fprintf(stderr,
			    "metrics_bench: counts say %lld, not %ld\n",
			    (long long)total, n);
			goto fail;
		}
		t0 = now_us();
		if (store_health_get(s, &h) == -1)
			goto fail;
		th[i] = now_us() - t0;
		t0 = now_us();
		if (store_request_counts_scan(s, &groups) == -1)
			goto fail;
		tg[i] = now_us() - t0;
	}
	qsort(tc, (size_t)rounds, sizeof(double), cmp);
	qsort(th, (size_t)rounds, sizeof(double), cmp);
	qsort(tg, (size_t)rounds, sizeof(double), cmp);
	printf("attention=%lld (expected %ld)\n", (long long)h.attention,
	    n / 20 + (n % 20 > 10));
	printf("counts (approvald_requests): median %.1f us, max %.1f us\n",
	    tc[rounds / 2], tc[rounds - 1]);
	printf("health (attention, oldest waiting, outbox, deadline): median "
	       "%.1f us, max %.1f us\n",
	    th[rounds / 2], th[rounds - 1]);
	printf("old GROUP BY over requests: median %.1f us, max %.1f us\n",
	    tg[rounds / 2], tg[rounds - 1]);
	free(tc);
	free(th);
	free(tg);
	return 0;
fail:
	fprintf(stderr, "metrics_bench: %s\n", store_errmsg(s));
	free(tc);
	free(th);
	free(tg);
	return 1;
}
