/* Normalized YAML dump of a compiled policy (approvalctl check -v). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

static void
dump_refs(struct sbuf *b, const char *key, const struct approver_ref_list *l)
{
	size_t i;

	if (l->n == 0)
		return;
	sb_printf(b, "        %s: [", key);
	for (i = 0; i < l->n; i++) {
		if (i)
			sb_add(b, ", ");
		sb_yaml_str(b, l->v[i]->name);
	}
	sb_add(b, "]\n");
}

static void
dump_dur(struct sbuf *b, const char *key, int64_t v)
{
	char d[64];

	if (v <= 0)
		return;
	cfg_format_duration(v, d, sizeof(d));
	sb_printf(b, "        %s: %s\n", key, d);
}

static void
dump_outcome(struct sbuf *b, const struct rule *r, const char *ind)
{
	size_t i;

	sb_printf(b, "%sdecide: %s\n", ind, verdict_name(r->decide));
	if (r->reason) {
		sb_printf(b, "%sreason: ", ind);
		sb_yaml_str(b, r->reason);
		sb_add(b, "\n");
	}
	if (r->nstages == 0)
		return;
	sb_printf(b, "%sstages:\n", ind);
	for (i = 0; i < r->nstages; i++) {
		const struct policy_stage *s = &r->stages[i];

		sb_add(b, "      - name: ");
		sb_yaml_str(b, s->name);
		sb_add(b, "\n");
		dump_refs(b, "approvers", &s->approvers);
		dump_refs(b, "fallback", &s->fallback);
		dump_dur(b, "escalate_after", s->escalate_after);
		dump_refs(b, "escalation", &s->escalation);
		dump_refs(b, "fallback_escalation", &s->fallback_escalation);
		dump_dur(b, "deny_after", s->deny_after);
		dump_dur(b, "remind_every", s->remind_every);
		sb_printf(b, "        approvals: %u\n", s->approvals);
		sb_printf(b, "        justification: %s\n",
		    s->justification_required ? "required" : "optional");
	}
}

char *
policy_dump(const struct policy *p)
{
	struct sbuf b = { 0 };
	size_t i;
	int id;

	if (p == NULL)
		return NULL;
	sb_add(&b, "version: 1\napprovers:\n");
	if (p->nsets == 0)
		b.n -= 1, sb_add(&b, " {}\n");
	for (i = 0; i < p->nsets; i++) {
		const struct approver_set *s = &p->sets[i];

		sb_add(&b, "  ");
		sb_yaml_str(&b, s->name);
		if (s->kind == APPROVER_MANAGER) {
			sb_printf(&b, ": { manager: %d }\n", s->level);
		} else {
			sb_add(&b, s->kind == APPROVER_USER ? ": { user: "
			                                    : ": { group: ");
			sb_yaml_str(&b, s->value);
			sb_add(&b, " }\n");
		}
	}
	sb_add(&b, p->nrules ? "rules:\n" : "rules: []\n");
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		sb_add(&b, "  - name: ");
		sb_yaml_str(&b, r->name);
		sb_add(&b, r->conds ? "\n    when:\n" : "\n    when: {}\n");
		for (id = 0; id < C_MAX; id++) {
			if (!(r->conds & (1u << id)))
				continue;
			sb_printf(&b, "      %s: ", cond_table[id].name);
			cond_table[id].dump(&b, r, (enum cond_id)id);
			sb_add(&b, "\n");
		}
		dump_outcome(&b, r, "    ");
	}
	sb_add(&b, "default:\n");
	dump_outcome(&b, &p->deflt, "  ");
	{
		static const char *const modes[UNVERIFIED_MAX] = { "ignore",
			"reject", "evaluate" };

		sb_printf(&b, "unverified_identity: %s\n",
		    (unsigned)p->unverified < UNVERIFIED_MAX
		        ? modes[p->unverified]
		        : "ignore");
	}
	return sb_finish(&b);
}
