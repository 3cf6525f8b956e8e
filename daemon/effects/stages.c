/*
 * The stages of the verdict that decided a request (issue 15): approver
 * resolution, eligibility and summaries use the stages stored with the
 * verdict (requests.stages, policy_stages_encode), never the policy
 * evaluated again at another time: a rule with a `schedule` condition or a
 * membership condition may match no longer hours later, and its stages
 * must still be the ones that decided.
 *
 * The stored stages are checked against the verdict recorded with them:
 * the same rule and the same fingerprint (verdict_fingerprint), or nothing
 * (fail closed: nobody resolved, nobody's decision verified).
 *
 * A request recorded before stages were stored (requests.stages NULL)
 * keeps the earlier path: the policy in force is evaluated on the identity
 * it was decided on, and its stages are used only when the rule and, when
 * recorded, the fingerprint agree. Such a request adopts stored stages at
 * the next start-up or reload when the policy still decides it as before
 * (reload.c, reload_adopt).
 */
#include <stdlib.h>
#include <string.h>

#include "effects.h"
#include "log.h"
#include "member.h"

int
stages_of(struct daemon *d, const struct store_request *r,
    const struct request *req, struct policy_stages **out, const char **why)
{
	struct policy_stages *ps = NULL;
	struct member_ctx mc = { d, NULL };
	struct verdict v;
	char fp[65], *err = NULL, *text;

	*out = NULL;
	if (r->stages != NULL) {
		if (policy_stages_decode(r->stages, &ps, &err) == -1) {
			log_warnx("request %s: its stored stages cannot be "
			          "read: %s",
			    r->key, err ? err : "out of memory");
			free(err);
			*why = "its stored stages cannot be read";
			return -1;
		}
		verdict_fingerprint(&ps->v, fp);
		if (r->rule == NULL || strcmp(ps->v.rule, r->rule) != 0 ||
		    fp[0] == '\0' || strcmp(fp, r->fingerprint) != 0) {
			policy_stages_free(ps);
			*why =
			    "its stored stages are not the recorded verdict's";
			return -1;
		}
		*out = ps;
		return 0;
	}
	/* Recorded before stages were stored: the earlier path. */
	*why = "the deciding rule's stages are not in the current policy";
	if (req == NULL || req->identity == REQ_ID_UNCHECKED)
		return -1;
	policy_evaluate(
	    d->policy, req, clock_now(), member_policy_fn, &mc, &v, NULL);
	if (v.kind != VERDICT_STAGES || v.rule == NULL || r->rule == NULL ||
	    strcmp(v.rule, r->rule) != 0)
		return -1;
	if (r->fingerprint[0] != '\0') {
		verdict_fingerprint(&v, fp);
		if (strcmp(fp, r->fingerprint) != 0)
			return -1;
	}
	/* Owned like stored ones (the policy may be reloaded meanwhile). */
	if ((text = policy_stages_encode(&v, clock_now())) == NULL ||
	    policy_stages_decode(text, &ps, NULL) == -1) {
		free(text);
		*why = "out of memory";
		return -1;
	}
	free(text);
	*out = ps;
	return 0;
}
