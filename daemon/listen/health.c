/*
 * Store health. When writes start failing for want of space or by an I/O
 * error the daemon is degraded: /readyz answers 503 with the reason and
 * approvald_store_degraded is 1. It then tries to recover by itself, with
 * capped exponential backoff and jitter (STORE_RECOVER_FIRST_MS ..
 * STORE_RECOVER_MAX_MS): checkpoint the WAL and truncate it to zero bytes,
 * then one probe write (store_recover).
 *
 * Meanwhile a batch that cannot commit is dropped whole (engine_commit)
 * and nothing it would have started is sent, so no decision is ever made
 * on Graph without its durable intent. Once writes work again, what the
 * dropped batches held is redone from durable state and from Graph: the
 * timers are re-armed from their rows, every open intent is read back
 * before anything is sent (never resent blindly), undecided requests are
 * evaluated again and the pollers look at Graph at once.
 */
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "limits.h"
#include "listen.h"
#include "log.h"

static void
health_schedule(struct daemon *d, long ms)
{
	struct timeval tv;

	if (d->health_ev == NULL || evtimer_pending(d->health_ev, NULL))
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(d->health_ev, &tv);
}

static void
health_probe(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	int src;

	if (d->stopping || store_degraded(d->store) == NULL)
		return;
	/* A batch is open: its commit runs first (this loop turn). */
	if (store_in_batch(d->store)) {
		health_schedule(d, STORE_RECOVER_FIRST_MS);
		return;
	}
	if (store_recover(d->store) == -1) {
		d->health_attempt++;
		if (d->health_attempt <= 3 || d->health_attempt % 20 == 0)
			log_warnx("store: still degraded (%s) after %d "
			          "recovery attempts: %s",
			    store_degraded(d->store), d->health_attempt,
			    store_errmsg(d->store));
		health_schedule(
		    d, backoff_jitter(STORE_RECOVER_FIRST_MS,
		           STORE_RECOVER_MAX_MS, d->health_attempt));
		return;
	}
	log_info("store: writes work again after %d recovery attempts; "
	         "redoing what the dropped batches held",
	    d->health_attempt + 1);
	d->health_attempt = 0;
	if (timers_load(d) == -1)
		log_warnx(
		    "store: cannot reload timers: %s", store_errmsg(d->store));
	if (d->reconciled)
		exec_reconcile(d);
	for (src = 0; src < REQ_SRC_MAX; src++)
		poll_nudge(d, (enum req_source)src);
}

/* The store says writes fail (store_failed): degraded until a probe
 * write succeeds. */
static void
health_fault(void *arg)
{
	struct daemon *d = arg;

	d->health_episodes++;
	d->health_attempt = 0;
	log_warnx("store: writes fail (%s): degraded, /readyz answers 503; "
	          "nothing is sent to Graph that is not durable first; "
	          "retrying with backoff",
	    store_degraded(d->store));
	health_schedule(d, STORE_RECOVER_FIRST_MS);
}

int
health_init(struct daemon *d)
{
	if ((d->health_ev = evtimer_new(d->base, health_probe, d)) == NULL)
		return -1;
	store_set_fault_cb(d->store, health_fault, d);
	return 0;
}

void
health_free(struct daemon *d)
{
	if (d->store != NULL)
		store_set_fault_cb(d->store, NULL, NULL);
	if (d->health_ev != NULL)
		event_free(d->health_ev);
	d->health_ev = NULL;
}

/* Is credential `kind` dead for readiness: refused outright by the
 * token endpoint (invalid_grant, invalid_client: nothing changes until
 * someone acts), or failing HEALTH_CRED_FAILURES times in a row, or for
 * HEALTH_CRED_DEAD_S (a transient failure alone does not flap /readyz)?
 * `h` gets its health. */
static int
health_cred_dead(struct daemon *d, enum token_kind kind, struct token_health *h)
{
	if (d->tokens == NULL)
		return 0;
	token_health_get(d->tokens, kind, h);
	if (!h->configured || !h->dead)
		return 0;
	return strstr(h->reason, "invalid_grant") != NULL ||
	       strstr(h->reason, "invalid_client") != NULL ||
	       h->failures >= HEALTH_CRED_FAILURES ||
	       (int64_t)time(NULL) - h->since >= HEALTH_CRED_DEAD_S;
}

/* 1 when credential `kind` (app, approver) is configured and not dead for
 * readiness; for the approvald_credential_up metric. */
int
health_cred_up(struct daemon *d, enum token_kind kind)
{
	struct token_health h;

	return !health_cred_dead(d, kind, &h);
}

/* Why the daemon is not fit to decide although it runs ("store degraded:
 * disk full", "approver credential dead: ..."), or NULL. The text is
 * static. */
const char *
health_reason(struct daemon *d)
{
	char *buf = d->health_why;
	struct token_health h;
	const char *why;
	int64_t since;

	if (d->store != NULL && (why = store_degraded(d->store)) != NULL) {
		snprintf(buf, sizeof(d->health_why), "store degraded: %s", why);
		return buf;
	}
	if ((since = call_graph_down_since(d)) != 0) {
		snprintf(buf, sizeof(d->health_why),
		    "Graph unreachable since %llds (no answer or 5xx only)",
		    (long long)(clock_now() - since));
		return buf;
	}
	if (health_cred_dead(d, TOKEN_APP, &h)) {
		snprintf(buf, sizeof(d->health_why),
		    "app credential dead since %lds: %s; nothing is read "
		    "from Graph",
		    (long)((int64_t)time(NULL) - h.since), h.reason);
		return buf;
	}
	if (health_cred_dead(d, TOKEN_DELEGATED, &h)) {
		snprintf(buf, sizeof(d->health_why),
		    "approver credential dead since %lds: %s; nothing is "
		    "approved or denied (approvalctl login, then SIGHUP)",
		    (long)((int64_t)time(NULL) - h.since), h.reason);
		return buf;
	}
	return NULL;
}

/* Times the store became degraded since start. */
unsigned long long
health_store_episodes(struct daemon *d)
{
	return d->health_episodes;
}
