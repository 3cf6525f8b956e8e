/* Counters that nothing else keeps; see counters.h. */
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "counters.h"

const double metrics_bounds[METRICS_NBOUNDS] = { 0.0005, 0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 };

static struct counters C;

const struct counters *
counters_get(void)
{
	return &C;
}

static void
metrics_count(struct metrics_counter *c, const char *a, const char *b)
{
	size_t i;

	a = a != NULL ? a : "";
	b = b != NULL ? b : "";
	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].a, a) == 0 && strcmp(c->v[i].b, b) == 0) {
			c->v[i].n++;
			return;
		}
	if (c->n == METRICS_MAX_SERIES) {
		c->dropped++;
		return;
	}
	if ((c->v[c->n].a = strdup(a)) == NULL ||
	    (c->v[c->n].b = strdup(b)) == NULL) {
		free(c->v[c->n].a);
		c->dropped++;
		return;
	}
	c->v[c->n++].n = 1;
}

/* One group commit took `seconds`. */
void
metrics_commit_observe(double seconds)
{
	size_t i;

	for (i = 0; i < METRICS_NBOUNDS; i++)
		if (seconds <= metrics_bounds[i])
			C.commit_buckets[i]++;
	C.commit_count++;
	C.commit_sum += seconds;
}

/* The policy decided a request: rule and verdict names (borrowed). */
void
metrics_decision(const char *rule, const char *verdict)
{
	metrics_count(&C.decisions, rule, verdict);
}

/* A webhook was answered: hook name and result (accepted, bad_signature…). */
void
metrics_hook(const char *hook, const char *result)
{
	metrics_count(&C.hooks, hook, result);
}

/* A webhook woke the poller of `source`. */
void
metrics_nudge(const char *source)
{
	metrics_count(&C.nudges, source, "hook");
}

/* The listener refused a request or connection (rate_limited, method…). */
void
metrics_http_refused(const char *reason)
{
	metrics_count(&C.refused, reason, NULL);
}

/* Graph answered a call of endpoint class `endpoint` with `status`. */
void
metrics_graph_call(const char *endpoint, const char *status)
{
	metrics_count(&C.graph, endpoint, status);
}

/* A change from `source` carried a modification time that is unparseable
 * or beyond now + skew: kept out of the watermark. */
void
metrics_implausible_time(const char *source)
{
	metrics_count(&C.implausible, source, NULL);
}

/* A Graph answer from `source` failed validation (`what`: request,
 * status, step): it is read again later, never turned into a verdict. */
void
metrics_bad_read(const char *source, const char *what)
{
	metrics_count(&C.bad_reads, source, what);
}

/* A listener connection was accepted, or closed served / without a request. */
void
metrics_http_conn(const char *result)
{
	metrics_count(&C.conns, result, NULL);
}

void
metrics_reload_observe(int ok)
{
	C.reloads[ok ? 0 : 1]++;
	C.reload_last[ok ? 0 : 1] = clock_now();
}
