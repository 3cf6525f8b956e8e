/*
 * The `schedule` condition: weekdays and hours in an IANA time zone,
 * checked against the whole grant window. Its row is in cond_table
 * (cond.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_int.h"

static const char *const weekday_names[] = { "sun", "mon", "tue", "wed", "thu",
	"fri", "sat" };

const struct ykey cond_sched_keys[] = {
	{ "weekdays", YT_SEQ },
	{ "hours", YT_STR },
	{ "timezone", YT_STR },
	{ NULL, YT_ANY },
};

static int
parse_hhmm(const char *s, int *out)
{
	if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
	        s[2] == ':' && s[3] >= '0' && s[3] <= '5' && s[4] >= '0' &&
	        s[4] <= '9'))
		return -1;
	*out = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 +
	       (s[4] - '0');
	return *out > 24 * 60 ? -1 : 0;
}

/* The policy's loaded zone named by n, loading it on first use. */
static const struct cfg_tz *
policy_zone(struct pctx *c, const struct ynode *n)
{
	struct cfg_tz *tz, **nz;
	char **nn;
	const char *err;
	size_t i;

	for (i = 0; i < c->p->nzones; i++)
		if (strcmp(c->p->zone_names[i], n->str) == 0)
			return c->p->zones[i];
	if ((tz = cfg_tz_load(n->str, &err)) == NULL) {
		yerr(&c->y, n, "%s `%s`", err, n->str);
		return NULL;
	}
	nz = realloc(c->p->zones, (c->p->nzones + 1) * sizeof(*nz));
	if (nz == NULL) {
		cfg_tz_free(tz);
		return NULL;
	}
	c->p->zones = nz;
	nn = realloc(c->p->zone_names, (c->p->nzones + 1) * sizeof(*nn));
	if (nn == NULL) {
		cfg_tz_free(tz);
		return NULL;
	}
	c->p->zone_names = nn;
	c->p->zones[c->p->nzones] = tz;
	c->p->zone_names[c->p->nzones++] = strdup(n->str);
	return tz;
}

int
cond_compile_schedule(struct pctx *c, enum cond_id id, const struct ynode *k,
    const struct ynode *n, struct rule *r)
{
	const struct ynode *v, *it;
	size_t i;
	int errs = 0, d;

	if (ycheck_map(&c->y, n, cond_table[id].keys))
		return -1;
	r->weekdays = 0x7f;
	r->start_min = 0;
	r->end_min = 24 * 60;
	if ((v = ymap_get(n, "weekdays")) != NULL) {
		r->weekdays = 0;
		if (v->n == 0) {
			yerr(&c->y, v, "`weekdays` must not be empty");
			errs++;
		}
		for (i = 0; i < v->n; i++) {
			it = v->v[i];
			for (d = 0; d < 7; d++)
				if (it->type == YN_SCALAR &&
				    strcasecmp(it->str, weekday_names[d]) == 0)
					break;
			if (d == 7) {
				yerr(&c->y, it,
				    "bad weekday (use mon, tue, wed, thu, fri, "
				    "sat, sun)");
				errs++;
				continue;
			}
			r->weekdays |= (uint8_t)(1u << d);
		}
	}
	if ((v = ymap_get(n, "hours")) != NULL) {
		if (strlen(v->str) != 11 || v->str[5] != '-' ||
		    parse_hhmm(v->str, &r->start_min) < 0 ||
		    parse_hhmm(v->str + 6, &r->end_min) < 0 ||
		    r->start_min == r->end_min || r->start_min >= 24 * 60) {
			yerr(&c->y, v, "bad hours `%s` (expected HH:MM-HH:MM)",
			    v->str);
			errs++;
		}
	}
	if ((v = ymap_get(n, "timezone")) == NULL) {
		yerr(&c->y, n,
		    "schedule needs a `timezone` (IANA name, e.g. "
		    "Europe/Paris or UTC)");
		errs++;
	} else {
		r->tz_name = strdup(v->str);
		if ((r->tz = policy_zone(c, v)) == NULL)
			errs++;
	}
	return errs ? -1 : 0;
}

/* Weekdays from Monday, hours, zone. */
void
cond_dump_schedule(struct sbuf *b, const struct rule *r, enum cond_id id)
{
	size_t i;
	int d;

	sb_add(b, "{ weekdays: [");
	for (d = 0, i = 0; d < 7; d++)
		if (r->weekdays & (1u << ((d + 1) % 7)))
			sb_printf(b, "%s%s", i++ ? ", " : "",
			    weekday_names[(d + 1) % 7]);
	sb_printf(b,
	    "], hours: \"%02d:%02d-%02d:%02d\", timezone: ", r->start_min / 60,
	    r->start_min % 60, r->end_min / 60, r->end_min % 60);
	sb_yaml_str(b, r->tz_name);
	sb_add(b, " }");
}

/* Is instant t (UTC) inside the rule's weekly hours? Also the seconds
 * until that could next change (a local midnight or an hours boundary). */
static int
sched_at(const struct rule *r, int64_t t, int64_t *next, int *wdp, int *minp)
{
	int64_t local = t + cfg_tz_offset(r->tz, t);
	int64_t days = (local >= 0 ? local : local - 86399) / 86400;
	int wd = (int)(((days % 7) + 11) % 7);
	int64_t sec = local - days * 86400;
	int mins = (int)(sec / 60), in_hours;
	int64_t b[3] = { (int64_t)r->start_min * 60, (int64_t)r->end_min * 60,
		86400 };
	int i;

	if (r->start_min < r->end_min)
		in_hours = mins >= r->start_min && mins < r->end_min;
	else
		in_hours = mins >= r->start_min || mins < r->end_min;
	*next = 86400 - sec;
	for (i = 0; i < 3; i++)
		if (b[i] > sec && b[i] - sec < *next)
			*next = b[i] - sec;
	if (*next <= 0)
		*next = 60;
	if (wdp)
		*wdp = wd;
	if (minp)
		*minp = mins;
	return in_hours && (r->weekdays & (1u << wd));
}

/*
 * schedule: checked against the grant window [start, start + duration)
 * (start: the request's startDateTime, or now when none or past). An
 * approve rule needs the whole window inside the hours; any other rule
 * matches when some instant of it is. An unbounded window never fits an
 * approve rule; for other rules eight days of it are looked at, which sees
 * every weekday. Time-zone changes inside the window move a boundary by
 * at most the change.
 */
int
cond_eval_schedule(struct ectx *e, enum cond_id id)
{
	const struct rule *r = e->r;
	const struct request *q = e->q;
	int64_t a = q->start > e->now ? q->start : e->now, b, t, step;
	int wd, mins, in, ok, steps = 0;

	if (q->duration < 0 || q->sched_invalid)
		b = e->strict ? -1 : a + 8 * 86400;
	else
		b = a + (q->duration > 0 ? q->duration : 1);
	in = sched_at(r, a, &step, &wd, &mins);
	if (b < 0) {
		ok = 0;
	} else if (e->strict) {
		ok = in;
		for (t = a + step; ok && t < b && steps < 4000; steps++) {
			ok = sched_at(r, t, &step, NULL, NULL);
			t += step;
		}
		if (steps >= 4000)
			ok = 0;
	} else {
		ok = in;
		for (t = a + step; !ok && t < b && steps < 4000; steps++) {
			ok = sched_at(r, t, &step, NULL, NULL);
			t += step;
		}
		if (steps >= 4000)
			ok = 1;
	}
	if (e->trace) {
		char d[64];

		if (b < 0)
			snprintf(d, sizeof(d), "unbounded");
		else
			cfg_format_duration(b - a, d, sizeof(d));
		cond_trace(e, id, ok,
		    "grant window from %s %02d:%02d (%s) for %s: %s %s",
		    weekday_names[wd], mins / 60, mins % 60, r->tz_name, d,
		    ok ? (e->strict ? "within" : "meets")
		       : (e->strict ? "not within" : "outside"),
		    r->canon[id]);
	}
	return ok;
}
