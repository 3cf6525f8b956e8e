/*
 * Policy reload: decisions taken under an earlier policy, checked against
 * the policy in force.
 *
 * After SIGHUP or `approvalctl reload` (and once at start-up, for a policy
 * edited while the daemon was stopped) every undecided request is looked at
 * again. Evaluating ones are evaluated. Waiting stages (pending, escalated)
 * and requests left to humans (ignored) keep their progress when the policy
 * decides them as before (reload_same); otherwise they start again from the
 * new verdict: SM_E_POLICY_CHANGED takes them back to evaluating, forgetting
 * every approval recorded and every resolved approver set, and the new
 * verdict follows at once: reject denies on Graph, approve approves, ignore
 * leaves the request to humans in Entra, stages start at stage 1 (their
 * approvers resolved again).
 *
 * An approve intent (approving) is never moved by the pass: its Graph call
 * may already be on the wire. The executor calls reload_recheck_approve()
 * just before it sends any approve, and sends nothing when the policy in
 * force would no longer approve the request (fail closed); the pass only
 * wakes the executor for intents nobody is working on.
 *
 * Every change is audited (policy_change, old rule -> new rule), journaled
 * (the policy_changed transition, then the new verdict's) and logged; a
 * reload is audited once more with its counts (policy_reload). The pass
 * runs in the engine's open batch and commits every RELOAD_BATCH requests
 * it started again, never a transaction per request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ident.h"
#include "limits.h"
#include "log.h"
#include "member.h"

/*
 * When is a request "decided as before"? When the rule that decides it, its
 * verdict and its stage definitions are all unchanged. The three are hashed
 * together into the fingerprint stored with every verdict
 * (requests.fingerprint, engine.c) and compared as one:
 *
 *   - the rule's name ("default" for the default);
 *   - the verdict: approve, reject, ignore or stages;
 *   - for stages, each stage in order: its approver, fallback, escalation
 *     and escalation-fallback sets by content and in order (user or group
 *     id, or manager level), its quorum (approvals), whether a
 *     justification is required, escalate_after, deny_after and
 *     remind_every.
 *
 * Not in it: the rule's conditions (they count through which rule matches),
 * its reason text, and the names of stages and approver sets (renaming
 * restarts nobody). Anything else that changed (a set's group, a quorum, a
 * timer, another rule now matching first) starts the request's stages
 * again: approvals recorded under the old definitions never count under
 * the new ones.
 *
 * A request stored before fingerprints existed is compared by rule name,
 * verdict and the stage parameters the state machine holds (quorum,
 * justification, timers), and adopts the fingerprint when they agree; one
 * stored before its stages were (issue 15) adopts them the same way.
 *
 * A stages verdict is judged at the time it was reached (stored with its
 * stages, reload_decided_at): a rule whose `schedule` has since closed
 * still decides it as before, unless the policy itself changed.
 *
 * Before an approve is sent (reload_approve_stands) a stage approval
 * stands only while the fingerprint is unchanged; an automatic approval
 * stands while the policy still approves the request, by whichever rule.
 */

/* What the policy in force says about one request. */
struct reload_view {
	int readable; /* the stored body parsed; else nothing below */
	struct verdict v;
	char fp[65]; /* reload_fingerprint(&v); "" when it failed */
};

/* The hashing lives with the verdict in config/ (verdict_fingerprint):
 * effects/ checks stored stages against it too. */
void
reload_fingerprint(const struct verdict *v, char out[65])
{
	verdict_fingerprint(v, out);
}

/*
 * When the policy is asked about `r`: when its stages verdict was reached
 * (stored with its stages), so that the time itself (a `schedule`
 * condition) never "changes" the verdict, only the policy can; now for
 * other verdicts (an approval stands while the policy approves it now) and
 * for stages recorded before their time was stored.
 */
static int64_t
reload_decided_at(const struct store_request *r)
{
	struct policy_stages *ps;
	int64_t at;

	if (r->stages == NULL ||
	    policy_stages_decode(r->stages, &ps, NULL) == -1)
		return clock_now();
	at = ps->at;
	policy_stages_free(ps);
	return at;
}

/* Evaluate the stored body of `r` against the policy in force. */
static void
reload_judge(
    struct daemon *d, const struct store_request *r, struct reload_view *w)
{
	struct request req;
	struct member_ctx mc = { d, NULL };
	char *err = NULL;
	int64_t at;

	memset(w, 0, sizeof(*w));
	memset(&req, 0, sizeof(req));
	at = reload_decided_at(r);
	/* On the identity it was decided on, with the same membership
	 * oracle: judged any other way a verdict would "change" by itself
	 * and the request would go round for ever. An identity never
	 * resolved is no verdict to compare (unreadable: left as it is). */
	if (r->body != NULL && ident_request(r, &req, &err) == 0 &&
	    req.identity != REQ_ID_UNCHECKED) {
		policy_evaluate(
		    d->policy, &req, at, member_policy_fn, &mc, &w->v, NULL);
		reload_fingerprint(&w->v, w->fp);
		w->readable = 1;
	}
	free(err);
	request_free(&req);
}

static const char *
reload_rule(const struct reload_view *w)
{
	if (!w->readable)
		return "(unreadable)";
	return w->v.rule != NULL ? w->v.rule : "default";
}

/* "rule A (verdict) -> rule B (verdict)" into buf; a change of stages only
 * is said so. */
static void
reload_describe(const struct store_request *r, const struct reload_view *w,
    char *buf, size_t len)
{
	const char *nverdict = w->readable ? verdict_name(w->v.kind) : "ignore";
	int stages_only = w->readable && w->v.kind == VERDICT_STAGES &&
	                  r->rule != NULL && r->verdict != NULL &&
	                  strcmp(r->rule, reload_rule(w)) == 0 &&
	                  strcmp(r->verdict, nverdict) == 0;

	snprintf(buf, len, "rule %s (%s) -> rule %s (%s)%s",
	    r->rule ? r->rule : "-", r->verdict ? r->verdict : "-",
	    reload_rule(w), nverdict, stages_only ? ", stages changed" : "");
}

/* 1 when the policy in force decides `r` as it was decided (see above). */
static int
reload_same(const struct store_request *r, const struct reload_view *w)
{
	const struct sm_stage_params *p;
	uint32_t i;

	if (!w->readable || w->v.kind == VERDICT_INDETERMINATE ||
	    w->fp[0] == '\0' || r->rule == NULL || r->verdict == NULL)
		return 0;
	if (r->fingerprint[0] != '\0')
		return strcmp(r->fingerprint, w->fp) == 0;
	if (strcmp(r->rule, reload_rule(w)) != 0 ||
	    strcmp(r->verdict, verdict_name(w->v.kind)) != 0)
		return 0;
	if (w->v.kind != VERDICT_STAGES)
		return 1;
	if (r->sm.nstages != w->v.nstages)
		return 0;
	for (i = 0; i < r->sm.nstages && i < SM_MAX_STAGES; i++) {
		p = &r->sm.params[i];
		if (p->approvals != w->v.stages[i].approvals ||
		    p->justification_required !=
		        w->v.stages[i].justification_required ||
		    p->escalate_after != w->v.stages[i].escalate_after ||
		    p->deny_after != w->v.stages[i].deny_after ||
		    p->remind_every != w->v.stages[i].remind_every)
			return 0;
	}
	return 1;
}

/* 1 when an approve intent of `r` may still be sent (see above). */
static int
reload_approve_stands(
    const struct store_request *r, const struct reload_view *w)
{
	if (r->sm.verdict_approve)
		return w->readable && w->v.kind == VERDICT_APPROVE;
	return reload_same(r, w);
}

/*
 * Start `r` (loaded, updated in place) again from the verdict of the policy
 * in force, in the open batch: audit old -> new, feed POLICY_CHANGED, then
 * evaluate. 1 when it was started again, 0 when its state takes no policy
 * change, -1 on a store error (nothing of it was written).
 */
static int
reload_restart(struct daemon *d, struct store_request *r,
    const struct reload_view *w, const char *why)
{
	struct sm_request next;
	struct sm_effects fx;
	struct sm_event ev;
	const char *nverdict = w->readable ? verdict_name(w->v.kind) : "ignore";
	char change[384], detail[512];
	int64_t now = clock_now();
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.kind = SM_E_POLICY_CHANGED;
	if (sm_step(&r->sm, &ev, now, &next, &fx, NULL) != SM_OK)
		return 0;
	reload_describe(r, w, change, sizeof(change));
	snprintf(detail, sizeof(detail), "%s: %s", why, change);
	if (store_begin(d->store) == -1 ||
	    audit_policy_change(d->store, r->key, now, r->rule, r->verdict,
	        reload_rule(w), nverdict, why) == -1) {
		log_warnx("request %s: cannot audit a policy change: %s",
		    r->key, store_errmsg(d->store));
		return -1;
	}
	log_info("request %s: %s", r->key, detail);
	rc = engine_event(d, r, &ev, detail);
	if (rc == SM_INVALID)
		return -1;
	if (rc != SM_OK)
		return 0;
	return engine_reevaluate(d, r, why) == SM_INVALID ? -1 : 1;
}

int
reload_recheck_approve(struct daemon *d, struct store_request *r)
{
	struct reload_view w;
	char change[384];
	int rc;

	reload_judge(d, r, &w);
	if (reload_approve_stands(r, &w))
		return 1;
	reload_describe(r, &w, change, sizeof(change));
	log_warnx("request %s: the policy in force no longer approves it as "
	          "it was approved (%s); approve not sent",
	    r->key, change);
	rc = reload_restart(d, r, &w, "policy changed before the approve");
	return rc == -1 ? -1 : 0;
}

struct reload_keys {
	char **v;
	size_t n, cap;
	int oom;
};

static int
reload_collect(void *arg, const struct store_request *r)
{
	struct reload_keys *k = arg;
	char **v;
	size_t cap;

	if (k->n == k->cap) {
		cap = k->cap ? k->cap * 2 : 64;
		if ((v = realloc(k->v, cap * sizeof(*v))) == NULL) {
			k->oom = 1;
			return 1;
		}
		k->v = v;
		k->cap = cap;
	}
	if ((k->v[k->n] = strdup(r->key)) == NULL) {
		k->oom = 1;
		return 1;
	}
	k->n++;
	return 0;
}

/* A record from before fingerprints or stored stages, decided as before:
 * store what it lacks, as the policy in force decides it (the same rule
 * and stages, by reload_same). */
static void
reload_adopt(
    struct daemon *d, struct store_request *r, const struct reload_view *w)
{
	char *stages = NULL;

	if (w->v.kind == VERDICT_STAGES && r->stages == NULL &&
	    (stages = policy_stages_encode(&w->v, clock_now())) == NULL) {
		log_warnx("request %s: cannot encode its stages", r->key);
		return;
	}
	snprintf(r->fingerprint, sizeof(r->fingerprint), "%s", w->fp);
	if (stages != NULL) {
		free(r->stages);
		r->stages = stages;
	}
	if (store_begin(d->store) == -1 || store_request_put(d->store, r) == -1)
		log_warnx("request %s: cannot store its fingerprint and "
		          "stages: %s",
		    r->key, store_errmsg(d->store));
	else
		batch_dirty(d);
}

/* One undecided request `key`; counts what became of it in `n`. Returns 1
 * when it was written to the batch. */
static int
reload_one(struct daemon *d, const char *key, int reloaded,
    struct audit_reload_counts *n)
{
	struct store_request r;
	struct reload_view w;
	char change[384];
	int rc = 0;

	memset(&r, 0, sizeof(r));
	if (store_request_get(d->store, key, &r) != 0) {
		store_request_clear(&r);
		return 0;
	}
	n->undecided++;
	switch (r.sm.state) {
	case SM_S_EVALUATING:
		/* At start-up exec_reconcile() has just evaluated it. */
		if (reloaded && store_begin(d->store) == 0 &&
		    engine_evaluate(d, &r) == SM_OK) {
			n->evaluated++;
			rc = 1;
		}
		break;
	case SM_S_APPROVING:
		reload_judge(d, &r, &w);
		if (reload_approve_stands(&r, &w)) {
			n->kept++;
			break;
		}
		/* The executor decides: it knows whether the call left. At
		 * start-up it is about to look at every open intent. */
		n->held++;
		reload_describe(&r, &w, change, sizeof(change));
		log_info("request %s: approve intent checked by the executor "
		         "before it is sent (%s)",
		    r.key, change);
		if (reloaded && !exec_busy(d, r.key))
			engine_post_exec(d, r.key);
		break;
	case SM_S_PENDING:
	case SM_S_ESCALATED:
	case SM_S_IGNORED:
		reload_judge(d, &r, &w);
		if (reload_same(&r, &w) ||
		    (!w.readable && r.sm.state == SM_S_IGNORED)) {
			n->kept++;
			if (w.readable && w.fp[0] != '\0' &&
			    (r.fingerprint[0] == '\0' ||
			        (r.stages == NULL &&
			            w.v.kind == VERDICT_STAGES))) {
				reload_adopt(d, &r, &w);
				rc = 1;
			}
			break;
		}
		if (reload_restart(d, &r, &w,
		        reloaded ? "policy reload"
		                 : "policy changed while stopped") == 1) {
			n->changed++;
			rc = 1;
		}
		break;
	default:
		break;
	}
	store_request_clear(&r);
	return rc;
}

void
reload_requests(struct daemon *d, int reloaded)
{
	static const enum sm_state undecided[] = { SM_S_EVALUATING,
		SM_S_PENDING, SM_S_ESCALATED, SM_S_IGNORED, SM_S_APPROVING };
	struct reload_keys keys;
	struct audit_reload_counts n;
	size_t i, written = 0;

	memset(&keys, 0, sizeof(keys));
	memset(&n, 0, sizeof(n));
	/* Keys first: the pass moves requests between the states listed. */
	for (i = 0; i < sizeof(undecided) / sizeof(undecided[0]); i++)
		if (store_request_each(d->store, sm_state_name(undecided[i]),
		        reload_collect, &keys) == -1 ||
		    keys.oom) {
			log_warnx("reload: cannot list the undecided requests "
			          "(%s); approvals are still checked against "
			          "the new policy before they are sent",
			    keys.oom ? "out of memory"
			             : store_errmsg(d->store));
			goto out;
		}
	for (i = 0; i < keys.n; i++) {
		written += reload_one(d, keys.v[i], reloaded, &n);
		if (written >= RELOAD_BATCH) {
			batch_commit(d);
			written = 0;
		}
	}
	if (reloaded || n.changed > 0 || n.held > 0)
		log_info("%s: undecided requests: %zu looked at, %zu kept "
		         "their progress, %zu started again from the new "
		         "policy, %zu evaluated, %zu approve intents left to "
		         "the executor's check",
		    reloaded ? "reload" : "start-up", n.undecided, n.kept,
		    n.changed, n.evaluated, n.held);
	if (!reloaded)
		goto out;
	if (store_begin(d->store) == -1 ||
	    audit_policy_reload(d->store, clock_now(), d->settings->policy_path,
	        policy_nrules(d->policy), &n) == -1)
		log_warnx("reload: cannot audit the reload: %s",
		    store_errmsg(d->store));
	else
		batch_dirty(d);
out:
	for (i = 0; i < keys.n; i++)
		free(keys.v[i]);
	free(keys.v);
}
