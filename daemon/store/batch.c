/*
 * The open batch and its group commit. Every room writes into the store's
 * open transaction and calls batch_dirty(); the batch commits on the next
 * loop turn, then hands over to whoever registered for it (the engine
 * starts the Graph calls, timers and lookups the batch made durable).
 */
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "batch.h"
#include "counters.h"
#include "log.h"

static int64_t
batch_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Group commit: a batch commits on the next loop turn. After a large
 * batch (STORE_COMMIT_BUSY transitions or more: the daemon is under load)
 * the next one waits until STORE_COMMIT_GAP_US have passed since that
 * commit ended, so many requests share one fsync; a trickle of requests
 * (a webhook, a human decision) commits at once. Graph calls caused by the
 * batch start only after it commits.
 */
void
batch_dirty(struct daemon *d)
{
	struct batch *B = &d->batch;
	struct timeval tv = { 0, 0 };
	int64_t wait;

	if (B->ev == NULL || event_pending(B->ev, EV_TIMEOUT, NULL))
		return;
	wait = B->last_commit_us + STORE_COMMIT_GAP_US - batch_mono_us();
	if (B->last_busy && wait > 0 && wait <= STORE_COMMIT_GAP_US)
		tv.tv_usec = (suseconds_t)wait;
	event_add(B->ev, &tv);
}

/* The batch is being redone from scratch: no intent or result in it. */
void
batch_forget_marks(struct daemon *d)
{
	d->batch.has_intent = d->batch.has_result = 0;
}

/* Commit the batch, then start what it made durable (B->committed); on a
 * failed commit the batch is rolled back whole (B->dropped). */
int
batch_commit(struct daemon *d)
{
	struct batch *B = &d->batch;
	struct timespec t0, t1;
	int crc;

	if (B->has_result)
		crash_point("reply-received");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	crc = store_commit(d->store);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	B->last_commit_us = (int64_t)t1.tv_sec * 1000000 + t1.tv_nsec / 1000;
	B->last_busy =
	    d->transitions - B->start_transitions >= STORE_COMMIT_BUSY;
	B->start_transitions = d->transitions;
	metrics_commit_observe(d, (double)(t1.tv_sec - t0.tv_sec) +
	                              (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (crc == -1) {
		log_warnx("store: commit failed: %s; the batch is dropped and "
		          "will be redone from Graph",
		    store_errmsg(d->store));
		store_rollback(d->store);
		if (B->dropped != NULL)
			B->dropped(d);
		batch_forget_marks(d);
		return -1;
	}
	if (B->has_intent)
		crash_point("intent-committed");
	batch_forget_marks(d);
	if (B->committed != NULL)
		B->committed(d);
	return 0;
}
