/* Counters that nothing else keeps (decisions, hooks, Graph calls, commit
 * latency, reloads): every room counts here; listen/metrics.c reads them at
 * scrape time. */
#ifndef COUNTERS_H
#define COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_SERIES 256 /* labelled counter series kept */

struct metrics_series {
	char *a, *b; /* label values */
	unsigned long long n;
};

struct metrics_counter {
	struct metrics_series v[METRICS_MAX_SERIES];
	size_t n;
	unsigned long long dropped;
};

/* Commit latency buckets, seconds. */
#define METRICS_NBOUNDS 12
extern const double metrics_bounds[METRICS_NBOUNDS];

struct counters {
	struct metrics_counter decisions, hooks, nudges, refused, conns, graph;
	struct metrics_counter implausible, bad_reads;
	unsigned long long commit_buckets[METRICS_NBOUNDS];
	/* reloads ok [0] and failed [1]: how many, and when the last ended */
	unsigned long long reloads[2];
	int64_t reload_last[2];
	unsigned long long commit_count;
	double commit_sum;
};

struct daemon;

/* Free the label values the counters keep (at exit). */
void counters_free(struct daemon *d);

void metrics_commit_observe(struct daemon *d, double seconds);
void metrics_decision(struct daemon *d, const char *rule, const char *verdict);
void metrics_hook(struct daemon *d, const char *hook, const char *result);
void metrics_nudge(struct daemon *d, const char *source);
void metrics_http_refused(struct daemon *d, const char *reason);
void metrics_graph_call(
    struct daemon *d, const char *endpoint, const char *status);
void metrics_http_conn(struct daemon *d, const char *result);
void metrics_implausible_time(struct daemon *d, const char *source);
void metrics_bad_read(struct daemon *d, const char *source, const char *what);
/* A reload (SIGHUP or `approvalctl reload`) ended: ok 1, refused 0. */
void metrics_reload_observe(struct daemon *d, int ok);

#endif
