/*
 * approvalctl replay POLICY --state DB [--since P30D|ISO]: shadow mode.
 * Re-decide every stored request body with another policy and print, per
 * request, where the verdict, rule or stages differ from what was decided.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "config.h"
#include "ctl.h"
#include "statemachine.h"
#include "store.h"

struct replay_sum {
	unsigned long total, same, differ, verdicts, rules, stages, skipped;
};

static const char *
replay_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : NULL;
}

/* Stage parameters of the stored decision; -1 when the blob is unknown. */
static int
replay_stored_sm(sqlite3_stmt *st, int col, struct sm_request *sm)
{
	int n = sqlite3_column_bytes(st, col);

	return store_sm_unpack(sqlite3_column_blob(st, col), (size_t)n, sm);
}

/* Describe how the new stages differ from the stored ones; 0 when equal. */
static int
replay_stages_diff(
    const struct verdict *v, const struct sm_request *sm, char *buf, size_t len)
{
	size_t i;

	if (v->nstages != sm->nstages) {
		snprintf(buf, len, "stages %u -> %zu", sm->nstages, v->nstages);
		return 1;
	}
	for (i = 0; i < v->nstages && i < SM_MAX_STAGES; i++) {
		const struct policy_stage *n = &v->stages[i];
		const struct sm_stage_params *o = &sm->params[i];

		if (n->approvals != o->approvals ||
		    n->justification_required != o->justification_required ||
		    n->escalate_after != o->escalate_after ||
		    n->deny_after != o->deny_after ||
		    n->remind_every != o->remind_every) {
			snprintf(buf, len,
			    "stage %zu: approvals %u -> %u, escalate_after "
			    "%" PRId64 " -> %" PRId64 ", deny_after %" PRId64
			    " -> %" PRId64,
			    i + 1, o->approvals, n->approvals,
			    o->escalate_after, n->escalate_after, o->deny_after,
			    n->deny_after);
			return 1;
		}
	}
	return 0;
}

static void
replay_one(const struct policy *p, sqlite3_stmt *st, struct replay_sum *s)
{
	const char *key = replay_col(st, 0), *body = replay_col(st, 2);
	const char *orule = replay_col(st, 3), *overdict = replay_col(st, 4);
	int source = sqlite3_column_int(st, 1);
	int64_t created = sqlite3_column_int64(st, 6);
	struct request req;
	struct verdict v;
	struct sm_request sm;
	char *err = NULL, stages[256];
	const char *nverdict, *nrule;
	int dv, dr, ds = 0;

	s->total++;
	if (overdict == NULL || body == NULL || source < 0 ||
	    source >= REQ_SRC_MAX) {
		s->skipped++;
		return;
	}
	memset(&req, 0, sizeof(req));
	if (request_from_json(body, strlen(body), (enum req_source)source, &req,
	        &err) == -1) {
		nverdict = "ignore";
		nrule = "(unreadable)";
		memset(&v, 0, sizeof(v));
		v.kind = VERDICT_IGNORE;
	} else {
		/* On the identity it was decided on (stored with it); no
		 * directory here, so requestor_in stays unknown. */
		(void)request_identity_apply(&req, replay_col(st, 7));
		policy_evaluate(p, &req, created, NULL, NULL, &v, NULL);
		nverdict = verdict_name(v.kind);
		nrule = v.rule != NULL ? v.rule : "default";
	}
	free(err);
	dv = strcmp(nverdict, overdict) != 0;
	dr = strcmp(nrule, orule != NULL ? orule : "default") != 0;
	if (!dv && v.kind == VERDICT_STAGES) {
		if (replay_stored_sm(st, 5, &sm) == -1) {
			snprintf(
			    stages, sizeof(stages), "stored stages unreadable");
			ds = 1;
		} else
			ds =
			    replay_stages_diff(&v, &sm, stages, sizeof(stages));
	}
	if (!dv && !dr && !ds) {
		s->same++;
		request_free(&req);
		return;
	}
	s->differ++;
	s->verdicts += (unsigned long)dv;
	s->rules += (unsigned long)dr;
	s->stages += (unsigned long)ds;
	printf("%s:", key);
	if (dv)
		printf(" verdict %s -> %s;", overdict, nverdict);
	if (dr)
		printf(" rule %s -> %s;", orule != NULL ? orule : "default",
		    nrule);
	if (ds)
		printf(" %s;", stages);
	printf("\n");
	request_free(&req);
}

/* approvalctl replay POLICY --state DB [--since P30D|ISO] */
int
ctl_replay(int argc, char **argv)
{
	const char *policy = NULL, *state = NULL, *since_arg = "P30D";
	struct cfg_diags dg = { 0 };
	struct policy *p = NULL;
	struct replay_sum sum = { 0 };
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t since, d;
	char buf[2048];
	size_t k;
	int i, rc = CTL_EXIT_FAIL, src;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			state = argv[++i];
		else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
			since_arg = argv[++i];
		else if (argv[i][0] != '-' && policy == NULL)
			policy = argv[i];
		else
			goto usage;
	}
	if (policy == NULL || state == NULL)
		goto usage;
	if ((d = cfg_parse_duration(since_arg)) >= 0)
		since = (int64_t)time(NULL) - d;
	else if ((since = cfg_parse_timestamp(since_arg)) < 0) {
		fprintf(stderr,
		    "approvalctl: --since %s: want P30D or a time\n",
		    since_arg);
		return CTL_EXIT_USAGE;
	}
	if (policy_load_file(policy, &p, &dg) == -1 || p == NULL) {
		for (k = 0; k < dg.n; k++) {
			cfg_diag_format(&dg.v[k], buf, sizeof(buf));
			fprintf(stderr, "%s\n", buf);
		}
		cfg_diags_free(&dg);
		return CTL_EXIT_FAIL;
	}
	cfg_diags_free(&dg);
	if (sqlite3_open_v2(state, &db, SQLITE_OPEN_READONLY, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	        "SELECT key, source, body, rule, verdict, sm, created, identity"
	        " FROM requests WHERE created >= ?1 ORDER BY created, key",
	        -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "approvalctl: %s: %s\n", state,
		    db ? sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	sqlite3_bind_int64(st, 1, since);
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		replay_one(p, st, &sum);
	if (src != SQLITE_DONE) {
		fprintf(
		    stderr, "approvalctl: %s: %s\n", state, sqlite3_errmsg(db));
		goto out;
	}
	printf("replay: %lu requests, %lu differ (verdict %lu, rule %lu, "
	       "stages %lu), %lu same, %lu never decided\n",
	    sum.total, sum.differ, sum.verdicts, sum.rules, sum.stages,
	    sum.same, sum.skipped);
	rc = CTL_EXIT_OK;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	policy_free(p);
	return rc;
usage:
	return CTL_EXIT_USAGE;
}
