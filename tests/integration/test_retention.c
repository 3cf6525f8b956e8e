/*
 * Issue 17, state lifecycle: retention, end to end against the real
 * graph-emulator with the daemon's test clock.
 *
 * Requests by alex are rejected (settled), jordan's are ignored (not
 * settled). With `retention: { settled: P2D }`, once the clock is three
 * days on, the rejected requests and every row of theirs are gone from the
 * state file, jordan's are untouched, the audit chain was pruned as a
 * prefix behind an anchor, `approvalctl audit verify` checks the rest
 * from the anchor, and an edit or a deletion that is not a prefix is still
 * caught.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <sqlite3.h>

#include "cu.h"
#include "harness.h"
#include "hookutil.h"

static char policy_path[600];
static char fixture_path[600];

#define NSETTLED 3
#define RETENTION_YAML                                                         \
	"http:\n  listen: 127.0.0.1:0\n"                                       \
	"retention:\n  settled: P2D\n"

static int
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(fixture_path, sizeof(fixture_path), "%s",
	    cu_srcpath("examples/demo-tenant.json"));
	snprintf(policy_path, sizeof(policy_path), "%s/reject-alex.yaml",
	    h_tmpdir());
	return h_write_file(policy_path,
	    "version: 1\n"
	    "rules:\n"
	    "  - name: reject-alex\n"
	    "    when: { source: permissions, requestor: [alex@contoso.com] }\n"
	    "    decide: reject\n"
	    "    reason: alex is rejected in this test\n"
	    "default:\n"
	    "  decide: ignore\n",
	    0600);
}

/* Run approvalctl audit verify on `state`; its exit code, output in *out
 * (heap). */
static int
verify(const char *state, char **out)
{
	char cmd[2048], *buf;
	size_t n = 0, k;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' audit verify --state '%s' 2>&1",
	    cu_buildpath("ctl/approvalctl"), state);
	if ((f = popen(cmd, "r")) == NULL || (buf = malloc(65536)) == NULL)
		return -1;
	while (n < 65535 && (k = fread(buf + n, 1, 65535 - n, f)) > 0)
		n += k;
	buf[n] = '\0';
	*out = buf;
	st = pclose(f);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Copy `src` to `dst` and run `sql` on the copy (an attacker's edit);
 * 0, or -1 when the edit was refused. */
static int
tamper(const char *src, const char *dst, const char *sql)
{
	sqlite3 *h = NULL;
	char q[1400];
	int rc = -1;

	unlink(dst);
	snprintf(q, sizeof(q), "VACUUM INTO '%s'", dst);
	if (sqlite3_open_v2(src, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_exec(h, q, NULL, NULL, NULL) == SQLITE_OK)
		rc = 0;
	sqlite3_close(h);
	h = NULL;
	if (rc == 0 && (sqlite3_open(dst, &h) != SQLITE_OK ||
	                   sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK))
		rc = -1;
	sqlite3_close(h);
	return rc;
}

/* Rows of `table` whose key is `key`, in the state file (read-only). */
static long long
rows_of(const char *db, const char *table, const char *key)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE key = '%s'",
	    table, key);
	return sql_count(db, sql);
}

static void
test_settled_pruned(void)
{
	static const char *const tables[] = { "requests", "journal", "intents",
		"timers", "outbox", "stage_approvers", "audit" };
	struct emu e;
	struct ad a;
	char *settled[NSETTLED], *kept, *res, *out = NULL, copy[700], tag[32],
	                                      sql[256];
	long long anchor, first, kept_journal, kept_audit;
	size_t i, t;

	CU_ASSERT_FATAL(emu_start(&e, fixture_path, 1) == 0);
	CU_ASSERT_FATAL(ad_prepare(&a, &e, policy_path, RETENTION_YAML) == 0);
	snprintf(a.extra_env, sizeof(a.extra_env), "APPROVALD_TEST_CLOCK=1");
	CU_ASSERT_FATAL(ad_start(&a) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&a, 20000) == 0);
	/* first the settled requests, so that their audit entries come
	 * first in the chain; then one that stays */
	for (i = 0; i < NSETTLED; i++) {
		snprintf(tag, sizeof(tag), "settled %zu", i);
		settled[i] = emu_create_tagged(&e, tag, "alex@contoso.com");
		CU_ASSERT_PTR_NOT_NULL_FATAL(settled[i]);
		CU_ASSERT_FATAL(
		    ad_wait_state(&a, settled[i], "rejected", 30000) == 0);
	}
	kept = emu_create_tagged(&e, "kept", "jordan@contoso.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(kept);
	CU_ASSERT_FATAL(ad_wait_state(&a, kept, "ignored", 30000) == 0);
	for (i = 0; i < NSETTLED; i++) {
		CU_ASSERT(rows_of(a.state, "journal", settled[i]) > 0);
		CU_ASSERT(rows_of(a.state, "audit", settled[i]) > 0);
	}
	kept_journal = rows_of(a.state, "journal", kept);
	kept_audit = rows_of(a.state, "audit", kept);
	CU_ASSERT(kept_journal > 0);
	CU_ASSERT(kept_audit > 0);

	/* one day on: younger than P2D, nothing goes */
	res = ad_result(&a, "clock advance 86400");
	CU_ASSERT_STRING_EQUAL(res, "ok");
	free(res);
	/* three days on: the settled requests go */
	res = ad_result(&a, "clock advance 172800");
	CU_ASSERT_STRING_EQUAL(res, "ok");
	free(res);
	CU_ASSERT_FATAL(sql_wait(a.state,
	                    "SELECT count(*) FROM requests WHERE state = "
	                    "'rejected'",
	                    0, 30000) == 0);
	CU_ASSERT(sql_wait(a.state,
	              "SELECT count(*) FROM audit WHERE seq <= (SELECT "
	              "audit_seq FROM prune_anchor)",
	              0, 30000) == 0);
	for (i = 0; i < NSETTLED; i++)
		for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
			CU_ASSERT_EQUAL(
			    rows_of(a.state, tables[t], settled[i]), 0);
			if (rows_of(a.state, tables[t], settled[i]) != 0)
				fprintf(stderr, "%s: rows of %s left\n",
				    tables[t], settled[i]);
		}
	/* the request that is not settled is untouched */
	res = ad_state(&a, kept);
	CU_ASSERT_STRING_EQUAL(res, "ignored");
	free(res);
	CU_ASSERT_EQUAL(rows_of(a.state, "requests", kept), 1);
	CU_ASSERT_EQUAL(rows_of(a.state, "journal", kept), kept_journal);
	CU_ASSERT(rows_of(a.state, "audit", kept) >= kept_audit);
	/* the audit chain now starts right after the anchor */
	anchor = sql_count(a.state, "SELECT audit_seq FROM prune_anchor");
	first = sql_count(a.state, "SELECT min(seq) FROM audit");
	CU_ASSERT(anchor > 0);
	CU_ASSERT_EQUAL(first, anchor + 1);
	CU_ASSERT_EQUAL(sql_count(a.state,
	                    "SELECT count(*) FROM audit WHERE seq = (SELECT "
	                    "audit_seq + 1 FROM prune_anchor) AND prev_hash = "
	                    "(SELECT audit_hash FROM prune_anchor)"),
	    1);
	CU_ASSERT(sql_count(a.state, "SELECT count(*) FROM audit") > 0);

	/* the daemon goes on appending to the chain after the anchor */
	free(settled[0]);
	settled[0] = emu_create_tagged(&e, "after", "alex@contoso.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(settled[0]);
	CU_ASSERT(ad_wait_state(&a, settled[0], "rejected", 30000) == 0);
	CU_ASSERT_EQUAL(verify(a.state, &out), 0);
	snprintf(sql, sizeof(sql), "from anchor seq %lld", anchor);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, sql));
	if (strstr(out, sql) == NULL)
		fprintf(stderr, "verify said: %s\n", out);
	free(out);

	/* the triggers still refuse edits and deletes behind no anchor */
	snprintf(copy, sizeof(copy), "%s/tampered.db", a.dir);
	CU_ASSERT_EQUAL(tamper(a.state, copy,
	                    "DELETE FROM audit WHERE seq = (SELECT max(seq) "
	                    "FROM audit)"),
	    -1);
	CU_ASSERT_EQUAL(tamper(a.state, copy, "DELETE FROM journal"), -1);
	CU_ASSERT_EQUAL(
	    tamper(a.state, copy,
	        "UPDATE prune_anchor SET audit_seq = audit_seq - 1"),
	    -1);
	CU_ASSERT_EQUAL(tamper(a.state, copy, "DELETE FROM prune_anchor"), -1);
	/* an entry after the anchor edited */
	CU_ASSERT_FATAL(
	    tamper(a.state, copy,
	        "DROP TRIGGER audit_append_only_u;"
	        "UPDATE audit SET detail = detail || ' ' WHERE "
	        "seq = (SELECT audit_seq + 2 FROM prune_anchor)") == 0);
	CU_ASSERT_EQUAL(verify(copy, &out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "entry was edited"));
	free(out);
	/* the first entry after the anchor deleted: not a prefix of the
	 * anchor any more */
	CU_ASSERT_FATAL(tamper(a.state, copy,
	                    "DROP TRIGGER audit_append_only_d;"
	                    "DELETE FROM audit WHERE seq = (SELECT "
	                    "audit_seq + 1 FROM prune_anchor)") == 0);
	CU_ASSERT_EQUAL(verify(copy, &out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "broken at seq"));
	free(out);
	/* an untouched copy verifies */
	CU_ASSERT_FATAL(tamper(a.state, copy, "SELECT 1") == 0);
	CU_ASSERT_EQUAL(verify(copy, &out), 0);
	free(out);

	CU_ASSERT_EQUAL(ad_stop(&a, SIGTERM), 0);
	for (i = 0; i < NSETTLED; i++)
		free(settled[i]);
	free(kept);
	emu_stop(&e);
}

static const struct cu_test retention_tests[] = {
	{ "settled requests pruned, the audit chain verified from its anchor",
	    test_settled_pruned },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "retention", setup, NULL, retention_tests },
	{ NULL, NULL, NULL, NULL },
};
