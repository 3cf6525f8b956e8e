/* Counters that nothing else keeps; see counters.h. */
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "counters.h"
#include "daemon.h"

const double metrics_bounds[METRICS_NBOUNDS] = { 0.0005, 0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 };

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
metrics_commit_observe(struct daemon *d, double seconds)
{
	size_t i;

	for (i = 0; i < METRICS_NBOUNDS; i++)
		if (seconds <= metrics_bounds[i])
			d->counters.commit_buckets[i]++;
	d->counters.commit_count++;
	d->counters.commit_sum += seconds;
}

/* The policy decided a request: rule and verdict names (borrowed). */
void
metrics_decision(struct daemon *d, const char *rule, const char *verdict)
{
	metrics_count(&d->counters.decisions, rule, verdict);
}

/* A webhook was answered: hook name and result (accepted, bad_signature…). */
void
metrics_hook(struct daemon *d, const char *hook, const char *result)
{
	metrics_count(&d->counters.hooks, hook, result);
}

/* A webhook woke the poller of `source`. */
void
metrics_nudge(struct daemon *d, const char *source)
{
	metrics_count(&d->counters.nudges, source, "hook");
}

/* The listener refused a request or connection (rate_limited, method…). */
void
metrics_http_refused(struct daemon *d, const char *reason)
{
	metrics_count(&d->counters.refused, reason, NULL);
}

/* Graph answered a call of endpoint class `endpoint` with `status`. */
void
metrics_graph_call(struct daemon *d, const char *endpoint, const char *status)
{
	metrics_count(&d->counters.graph, endpoint, status);
}

/* A change from `source` carried a modification time that is unparseable
 * or beyond now + skew: kept out of the watermark. */
void
metrics_implausible_time(struct daemon *d, const char *source)
{
	metrics_count(&d->counters.implausible, source, NULL);
}

/* A Graph answer from `source` failed validation (`what`: request,
 * status, step): it is read again later, never turned into a verdict. */
void
metrics_bad_read(struct daemon *d, const char *source, const char *what)
{
	metrics_count(&d->counters.bad_reads, source, what);
}

/* A listener connection was accepted, or closed served / without a request. */
void
metrics_http_conn(struct daemon *d, const char *result)
{
	metrics_count(&d->counters.conns, result, NULL);
}

void
metrics_reload_observe(struct daemon *d, int ok)
{
	d->counters.reloads[ok ? 0 : 1]++;
	d->counters.reload_last[ok ? 0 : 1] = clock_now();
}

static void
counter_free(struct metrics_counter *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].a);
		free(c->v[i].b);
	}
	c->n = 0;
}

/* Free the label values the counters keep (at exit). */
void
counters_free(struct daemon *d)
{
	struct counters *C = &d->counters;

	counter_free(&C->decisions);
	counter_free(&C->hooks);
	counter_free(&C->nudges);
	counter_free(&C->refused);
	counter_free(&C->conns);
	counter_free(&C->graph);
	counter_free(&C->implausible);
	counter_free(&C->bad_reads);
}
