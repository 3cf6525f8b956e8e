/*
 * Retention (retention.settled): settled requests (rejected, canceled,
 * completed) last updated longer ago than the setting are deleted with
 * their journal, intents, timers, outbox and approver rows, and the audit
 * chain is pruned as a prefix behind an anchor (store_retention_prune).
 *
 * Off the hot path: a libevent timer deletes at most RETENTION_BATCH
 * requests per transaction, runs again at once (RETENTION_MORE_MS) while
 * there is more to prune and every RETENTION_IDLE_S otherwise; it waits
 * while a batch is open, before the first reconcile and while the store is
 * degraded. Unset, nothing is ever deleted.
 */
#include <event2/event.h>

#include "batch.h"
#include "limits.h"
#include "log.h"

static void
retention_schedule(struct daemon *d, long ms)
{
	struct timeval tv;

	if (d->retention_ev == NULL)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_del(d->retention_ev);
	evtimer_add(d->retention_ev, &tv);
}

static void
retention_run(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct store_prune p;
	int64_t now = clock_now();

	/* unset by a reload: keep everything from now on */
	if (d->stopping || d->settings->retention_settled <= 0)
		return;
	if (!d->reconciled || store_degraded(d->store) != NULL ||
	    store_in_batch(d->store)) {
		/* the open batch commits first (this loop turn) */
		retention_schedule(d, store_in_batch(d->store)
		                          ? RETENTION_MORE_MS
		                          : RETENTION_IDLE_S * 1000L);
		return;
	}
	if (store_begin(d->store) == -1 ||
	    store_retention_prune(d->store,
	        now - d->settings->retention_settled, now, RETENTION_BATCH,
	        &p) == -1) {
		log_warnx("retention: cannot prune settled requests: %s",
		    store_errmsg(d->store));
		batch_commit(d);
		retention_schedule(d, RETENTION_IDLE_S * 1000L);
		return;
	}
	if (batch_commit(d) == -1) {
		retention_schedule(d, RETENTION_IDLE_S * 1000L);
		return;
	}
	if (p.requests > 0 || p.audit > 0)
		log_info("retention: deleted %lld settled requests and %lld "
		         "audit entries%s",
		    (long long)p.requests, (long long)p.audit,
		    p.more ? "; more to prune" : "");
	retention_schedule(
	    d, p.more ? RETENTION_MORE_MS : RETENTION_IDLE_S * 1000L);
}

/* Start the pruner when retention.settled is set (at start and after a
 * reload, which may set or unset it). 0, or -1 (memory). */
int
retention_init(struct daemon *d)
{
	if (d->settings->retention_settled <= 0 ||
	    (d->retention_ev != NULL && evtimer_pending(d->retention_ev, NULL)))
		return 0;
	if (d->retention_ev == NULL &&
	    (d->retention_ev = evtimer_new(d->base, retention_run, d)) == NULL)
		return -1;
	retention_schedule(d, RETENTION_FIRST_S * 1000L);
	return 0;
}

/* Prune now (the clock moved). */
void
retention_kick(struct daemon *d)
{
	retention_schedule(d, 0);
}

void
retention_free(struct daemon *d)
{
	if (d->retention_ev != NULL)
		event_free(d->retention_ev);
	d->retention_ev = NULL;
}
