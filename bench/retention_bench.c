/*
 * Disk use per stored request before and after retention (issue 17).
 *
 * Fills a fresh state database with N settled requests as approvald
 * leaves them (request row with its Graph body, three journal rows, a
 * closed intent, four audit entries) followed by M live ones, then prunes
 * the settled ones with store_retention_prune in RETENTION_BATCH batches,
 * one transaction each, as the daemon's retention timer does. Prints the
 * bytes in use per stored request before and after (pages in use: SQLite
 * keeps freed pages for reuse, so the file does not shrink without VACUUM),
 * the file size after VACUUM, and the longest prune transaction.
 *
 *   retention_bench STATE.db N M    (RETENTION_BATCH=n to vary the batch)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"
#include "listen.h"
#include "store.h"

static const char body[] =
    "{\"id\":\"%s\",\"requestedPermissions\":{\"@odata.type\":"
    "\"#microsoft.graph.awsPermissionsDefinition\","
    "\"authorizationSystemInfo\":{\"authorizationSystemId\":"
    "\"956987887735\",\"authorizationSystemType\":\"AWS\"},"
    "\"actionInfo\":{\"@odata.type\":\"microsoft.graph."
    "awsPolicyPermissionsDefinitionAction\",\"policies\":[{\"id\":"
    "\"arn:aws:iam::956987887735:policy/AddUserToGroup\"}]},"
    "\"identityInfo\":{\"externalId\":\"alex@contoso.com\","
    "\"identityType\":\"user\"}},\"justification\":\"bench\","
    "\"scheduleInfo\":{\"expiration\":{\"duration\":\"PT1H\"}},"
    "\"ticketInfo\":{\"ticketNumber\":\"INC1234567\",\"ticketSystem\":"
    "\"ServiceNow\"},\"statusDetail\":\"completed\"}";

static const char *const steps[][4] = {
	{ "new", "evaluating", "graph_submitted", "submitted" },
	{ "evaluating", "approving", "verdict_approve", NULL },
	{ "approving", "completed", "result_ok", "Graph answered 204" },
};

static int
put(struct store *s, long i, enum sm_state state, int64_t at)
{
	struct store_request r;
	char key[64], gid[48], b[sizeof(body) + 64], detail[512];
	int64_t id;
	size_t k;

	snprintf(gid, sizeof(gid), "00000000-0000-4000-8000-%012ld", i);
	snprintf(key, sizeof(key), "permissions:%s", gid);
	snprintf(b, sizeof(b), body, gid);
	memset(&r, 0, sizeof(r));
	r.key = key;
	r.gid = gid;
	r.approval_id = gid;
	r.sm.state = state;
	r.sm.verdict_approve = 1;
	snprintf(
	    r.sm.requestor.upn, sizeof(r.sm.requestor.upn), "alex@contoso.com");
	r.graph_status = "completed";
	r.body = b;
	r.rule = "aws-policy-with-ticket";
	r.verdict = "approve";
	r.created = r.updated = at;
	if (store_request_put(s, &r) == -1 ||
	    store_intent_add(s, key, "approve", "bench", at, &id) == -1 ||
	    store_intent_close(s, id, "ok", at) == -1)
		return -1;
	for (k = 0; k < 3; k++) {
		snprintf(detail, sizeof(detail),
		    "{\"from\":\"%s\",\"to\":\"%s\",\"event\":\"%s\","
		    "\"rule\":\"aws-policy-with-ticket\",\"verdict\":"
		    "\"approve\",\"detail\":%s%s%s}",
		    steps[k][0], steps[k][1], steps[k][2],
		    steps[k][3] ? "\"" : "", steps[k][3] ? steps[k][3] : "null",
		    steps[k][3] ? "\"" : "");
		if (store_journal_add(s, key, at, steps[k][0], steps[k][1],
		        steps[k][2], r.rule, steps[k][3]) == -1 ||
		    audit_append(s, key, at, "transition", detail) == -1)
			return -1;
	}
	snprintf(detail, sizeof(detail),
	    "{\"endpoint\":\"permissions_decide\",\"method\":\"POST\","
	    "\"action\":\"approve\",\"id\":\"%s\",\"status\":204,"
	    "\"outcome\":\"ok\",\"error\":null}",
	    gid);
	return audit_append(s, key, at, "graph_call", detail);
}

/* Pages in use (page_count - freelist_count) times the page size. */
static long long
used_bytes(struct store *s)
{
	int64_t v = 0;

	store_space_used(s, &v);
	return (long long)v;
}

static long long
file_bytes(struct store *s, const char *path)
{
	struct stat sb;

	store_checkpoint(s);
	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int
main(int argc, char *argv[])
{
	struct store *s;
	struct store_prune p;
	char *err = NULL;
	long i, n, m, batches = 0;
	long long pruned = 0, audit = 0, used0, file0, used1, file1, file2;
	double t0, t, tc, worst = 0, total = 0, commit = 0;
	const char *batch_env = getenv("RETENTION_BATCH");
	int batch = batch_env != NULL ? atoi(batch_env) : RETENTION_BATCH;

	if (argc != 4 || (n = strtol(argv[2], NULL, 10)) <= 0 ||
	    (m = strtol(argv[3], NULL, 10)) < 0) {
		fprintf(stderr, "usage: retention_bench STATE.db N M\n");
		return 2;
	}
	unlink(argv[1]);
	if (store_open(argv[1], &s, &err) == -1) {
		fprintf(stderr, "retention_bench: %s\n", err);
		return 1;
	}
	for (i = 0; i < n + m; i++) {
		if (i % 5000 == 0 &&
		    (store_commit(s) == -1 || store_begin(s) == -1))
			goto fail;
		if (put(s, i, i < n ? SM_S_COMPLETED : SM_S_PENDING,
		        1700000000 + i) == -1)
			goto fail;
	}
	if (store_commit(s) == -1)
		goto fail;
	used0 = used_bytes(s);
	file0 = file_bytes(s, argv[1]);
	do {
		if (store_begin(s) == -1)
			goto fail;
		t0 = now_ms();
		if (store_retention_prune(
		        s, 1700000000 + n + m + 1, 1800000000, batch, &p) == -1)
			goto fail;
		tc = now_ms();
		if (store_commit(s) == -1)
			goto fail;
		t = now_ms() - t0;
		commit += now_ms() - tc;
		total += t;
		if (t > worst)
			worst = t;
		batches++;
		pruned += p.requests;
		audit += p.audit;
	} while (p.more);
	used1 = used_bytes(s);
	file1 = file_bytes(s, argv[1]);
	if (store_vacuum(s) == -1)
		goto fail;
	file2 = file_bytes(s, argv[1]);
	printf("stored=%ld settled=%ld live=%ld\n", n + m, n, m);
	printf("before: file=%lld B in_use=%lld B per_request=%.0f B\n", file0,
	    used0, (double)used0 / (double)(n + m));
	printf("pruned: requests=%lld audit_entries=%lld in %ld transactions;"
	       " total %.0f ms (commits %.0f ms), longest %.1f ms\n",
	    pruned, audit, batches, total, commit, worst);
	printf("after: file=%lld B in_use=%lld B per_remaining_request=%.0f B;"
	       " after VACUUM file=%lld B\n",
	    file1, used1, m > 0 ? (double)used1 / (double)m : 0.0, file2);
	store_close(s);
	return 0;
fail:
	fprintf(stderr, "retention_bench: %s\n", store_errmsg(s));
	store_close(s);
	return 1;
}
