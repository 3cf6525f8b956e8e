/*
 * Notifications out: a durable outbox and its delivery worker.
 *
 * The engine queues one outbox row per (event, target) in the same batch
 * as the transition that causes it; nothing is sent before that batch
 * commits. Pending and escalated messages wait until the stage's
 * approvers are resolved (notify_release), so they can name them and
 * carry their decision links. The worker renders each message when it
 * sends it, from the request as it stands then; a stage message whose
 * stage has moved on is dropped as obsolete.
 *
 * Delivery runs on the daemon's loop with its own curl-multi client (the
 * Graph client code with another origin allow-list, no bearer ever, no
 * redirects, no shared throttle gate). Each target has a few deliveries in
 * flight at most and its own backoff after failures, so a dead target
 * delays only its own messages, never a decision or another target.
 * Rows are retried with exponential backoff and jitter, marked when
 * delivered (receivers dedupe on X-Approvald-Delivery) and pruned later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "effects.h"
#include "limits.h"
#include "log.h"

struct nf_target {
	char *name, *url;
	enum notify_format format;
	int links;
	unsigned events;
	char *secret;
	size_t secret_len;
	unsigned inflight;
	unsigned fails;     /* consecutive failures */
	int64_t not_before; /* backoff of the whole target */
	struct notify_target conf;
};

struct nf_delivery {
	struct nf_delivery *next;
	struct daemon *d;
	int64_t id;
	int attempts;
	struct nf_target *t;
};

struct nf_row {
	int64_t id;
	char *key, *event;
	uint32_t stage;
	int64_t started;
	int attempts;
};

struct notify_state {
	struct daemon *d;
	struct graph *http;
	struct nf_target *t;
	size_t n;
	struct nf_delivery *inflight;
	struct event *ev;
	int want_run;
};

static void nf_schedule(struct notify_state *nf, int64_t ms);

static struct nf_target *
nf_target(struct notify_state *nf, const char *name)
{
	size_t i;

	for (i = 0; i < nf->n; i++)
		if (strcmp(nf->t[i].name, name) == 0)
			return &nf->t[i];
	return NULL;
}

static int
nf_in_flight(struct notify_state *nf, int64_t id)
{
	struct nf_delivery *x;

	for (x = nf->inflight; x != NULL; x = x->next)
		if (x->id == id)
			return 1;
	return 0;
}

/* Exponential backoff with jitter in seconds for the n-th failure. */
static int64_t
nf_backoff(unsigned n)
{
	return backoff_jitter(
	    NOTIFY_BACKOFF_BASE, NOTIFY_BACKOFF_MAX, (int)n - 1);
}

/* Messages about a waiting stage (obsolete once the stage moved on). */
static int
nf_stage_event(const char *event)
{
	return notify_text_named(event)->stage;
}

int
notify_enqueue(struct daemon *d, const char *key, enum sm_notify_kind n,
    uint32_t stage, int64_t started, int64_t now)
{
	struct notify_state *nf = d->notify;
	const char *event = sm_notify_name(n);
	int ready = n != SM_N_PENDING && n != SM_N_ESCALATED, queued = 0, rc;
	size_t i;

	if (nf == NULL || nf->n == 0 || (unsigned)n >= SM_N_MAX)
		return 0;
	for (i = 0; i < nf->n; i++) {
		if (!(nf->t[i].events & (1u << n)))
			continue;
		if ((rc = store_outbox_enqueue(d->store, nf->t[i].name, key,
		         event, stage, started, now, ready)) == -1) {
			log_warnx("notify: cannot queue %s for %s: %s", event,
			    key, store_errmsg(d->store));
			return -1;
		}
		queued += rc;
	}
	if (queued > 0 && ready)
		notify_kick(d);
	return 0;
}

int
notify_release(struct daemon *d, const char *key, uint32_t stage)
{
	struct notify_state *nf = d->notify;
	int rc;

	if (nf == NULL || nf->n == 0)
		return 0;
	if ((rc = store_outbox_release(d->store, key, stage, clock_now())) ==
	    -1) {
		log_warnx("notify: store: %s", store_errmsg(d->store));
		return -1;
	}
	if (rc > 0)
		notify_kick(d);
	return 0;
}

/* Mark row `id` in the open batch: done with `outcome`, or (outcome NULL)
 * due again at `next_at`. */
static void
nf_settle(struct daemon *d, int64_t id, int attempts, int64_t next_at,
    const char *outcome)
{
	if (store_begin(d->store) == -1)
		return;
	batch_dirty(d);
	if (store_outbox_settle(
	        d->store, id, attempts, next_at, outcome, clock_now()) == -1)
		log_warnx("notify: cannot mark message %lld: %s", (long long)id,
		    store_errmsg(d->store));
}

static void
nf_delivered(void *arg, const struct graph_resp *resp)
{
	struct nf_delivery *x = arg, **pp;
	struct nf_target *t = x->t;
	struct daemon *d = x->d;
	struct notify_state *nf = d->notify;
	int64_t now = clock_now(), next;
	int attempts = x->attempts + 1;
	char why[160];

	for (pp = &nf->inflight; *pp != NULL; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	t->inflight--;
	if (resp->status >= 200 && resp->status < 300) {
		t->fails = 0;
		t->not_before = 0;
		log_debug("notify: message %lld delivered to %s",
		    (long long)x->id, t->name);
		nf_settle(d, x->id, attempts, 0, "delivered");
		goto out;
	}
	if (resp->status != 0)
		snprintf(why, sizeof(why), "HTTP %ld", resp->status);
	else
		snprintf(why, sizeof(why), "%.150s",
		    resp->error ? resp->error : "no answer");
	t->fails++;
	t->not_before = now + nf_backoff(t->fails);
	if (resp->retry_after > 0 &&
	    now + (int64_t)resp->retry_after + 1 > t->not_before)
		t->not_before = now + (int64_t)resp->retry_after + 1;
	if (attempts >= NOTIFY_MAX_ATTEMPTS) {
		log_warnx("notify: message %lld to %s dropped after %d "
		          "attempts (%s)",
		    (long long)x->id, t->name, attempts, why);
		nf_settle(d, x->id, attempts, 0, "failed");
		goto out;
	}
	next = now + nf_backoff((unsigned)attempts);
	if (next < t->not_before)
		next = t->not_before;
	log_warnx("notify: message %lld to %s failed (%s); attempt %d in "
	          "%llds",
	    (long long)x->id, t->name, why, attempts + 1,
	    (long long)(next - now));
	nf_settle(d, x->id, attempts, next, NULL);
out:
	free(x);
	nf_schedule(nf, 0);
}

/* Render and send one row; 0 sent, 1 settled without sending. */
static int
nf_send(struct daemon *d, struct nf_target *t, const struct nf_row *w)
{
	struct notify_state *nf = d->notify;
	struct store_request r;
	struct nf_delivery *x = NULL;
	char *body = NULL, sighdr[160], evhdr[64], idhdr[64], sig[65];
	const char *hdrs[4];
	int rc = 1;

	memset(&r, 0, sizeof(r));
	switch (store_request_get(d->store, w->key, &r)) {
	case 0:
		break;
	case 1:
		nf_settle(d, w->id, w->attempts, 0, "request gone");
		goto out;
	default:
		log_warnx("notify: message %lld: %s", (long long)w->id,
		    store_errmsg(d->store));
		goto out; /* tried again at the next run */
	}
	if (nf_stage_event(w->event) &&
	    ((r.sm.state != SM_S_PENDING && r.sm.state != SM_S_ESCALATED) ||
	        r.sm.stage != w->stage || r.sm.stage_started != w->started)) {
		log_debug("notify: %s of %s stage %u is obsolete", w->event,
		    w->key, w->stage + 1);
		nf_settle(d, w->id, w->attempts, 0, "obsolete");
		goto out;
	}
	if ((body = notify_render(d, &t->conf, w->id, w->event, &r)) == NULL) {
		nf_settle(d, w->id, w->attempts, 0, "cannot render");
		goto out;
	}
	snprintf(evhdr, sizeof(evhdr), "X-Approvald-Event: %s", w->event);
	snprintf(idhdr, sizeof(idhdr), "X-Approvald-Delivery: %lld",
	    (long long)w->id);
	hdrs[0] = evhdr;
	hdrs[1] = idhdr;
	hdrs[2] = NULL;
	if (t->format == NOTIFY_JSON) {
		int64_t ts = clock_now();

		if (sign_timestamped(t->secret, t->secret_len, ts, body,
		        strlen(body), sig) == -1) {
			nf_settle(d, w->id, w->attempts, 0, "cannot sign");
			goto out;
		}
		snprintf(sighdr, sizeof(sighdr),
		    "X-Approvald-Signature: t=%lld,v1=%s", (long long)ts, sig);
		hdrs[2] = sighdr;
		hdrs[3] = NULL;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL)
		goto out;
	x->id = w->id;
	x->attempts = w->attempts;
	x->t = t;
	x->d = d;
	if (graph_call_headers(nf->http, "POST", t->url, NULL,
	        "application/json", hdrs, body, nf_delivered, x) == -1) {
		log_warnx("notify: target %s refused by the client", t->name);
		free(x);
		nf_settle(d, w->id, w->attempts, 0, "refused");
		goto out;
	}
	x->next = nf->inflight;
	nf->inflight = x;
	t->inflight++;
	rc = 0;
out:
	free(body);
	store_request_clear(&r);
	return rc;
}

static void
nf_row_clear(struct nf_row *w)
{
	free(w->key);
	free(w->event);
}

struct nf_due {
	struct notify_state *nf;
	struct nf_row *rows;
	size_t n;
};

static int
nf_due_cb(void *arg, const struct store_outbox_row *o)
{
	struct nf_due *q = arg;
	struct nf_row *w = &q->rows[q->n];

	if (nf_in_flight(q->nf, o->id))
		return 0;
	w->id = o->id;
	w->key = strdup(o->key);
	w->event = strdup(o->event);
	w->stage = o->stage;
	w->started = o->started;
	w->attempts = o->attempts;
	if (w->key == NULL || w->event == NULL) {
		nf_row_clear(w);
		return 1;
	}
	return ++q->n >= NOTIFY_TARGET_INFLIGHT;
}

/* Send what target `t` may send now; *wake gets the next time it wants. */
static void
nf_run_target(struct daemon *d, struct nf_target *t, int64_t now, int64_t *wake)
{
	struct notify_state *nf = d->notify;
	struct nf_row rows[NOTIFY_TARGET_INFLIGHT];
	struct nf_due q;
	size_t i;

	if (t->not_before > now) {
		if (*wake == 0 || t->not_before < *wake)
			*wake = t->not_before;
		return;
	}
	if (t->inflight >= NOTIFY_TARGET_INFLIGHT)
		return;
	/* In-flight rows are due too and come first: ask for the cap. */
	q.nf = nf;
	q.rows = rows;
	q.n = 0;
	if (store_outbox_due(d->store, t->name, now, NOTIFY_TARGET_INFLIGHT,
	        nf_due_cb, &q) == -1)
		return;
	for (i = 0; i < q.n; i++) {
		if (t->inflight < NOTIFY_TARGET_INFLIGHT && !d->stopping)
			nf_send(d, t, &rows[i]);
		nf_row_clear(&rows[i]);
	}
}

struct nf_gone {
	struct notify_state *nf;
	char **v;
	size_t n;
};

static int
nf_gone_cb(void *arg, const char *name)
{
	struct nf_gone *q = arg;
	char **g;

	if (nf_target(q->nf, name) != NULL)
		return 0;
	if ((g = realloc(q->v, (q->n + 1) * sizeof(*g))) == NULL)
		return 1;
	q->v = g;
	if ((q->v[q->n] = strdup(name)) != NULL)
		q->n++;
	return 0;
}

/* Rows of unknown targets (after a settings change) are dropped. */
static void
nf_drop_unknown(struct daemon *d)
{
	struct nf_gone q;
	size_t i;

	q.nf = d->notify;
	q.v = NULL;
	q.n = 0;
	if (store_outbox_targets(d->store, nf_gone_cb, &q) == -1)
		return;
	for (i = 0; i < q.n; i++) {
		log_warnx("notify: target %s is no longer configured; its "
		          "queued messages are dropped",
		    q.v[i]);
		if (store_begin(d->store) == 0) {
			batch_dirty(d);
			if (store_outbox_drop_target(
			        d->store, q.v[i], clock_now()) == -1)
				log_warnx("notify: store: %s",
				    store_errmsg(d->store));
		}
		free(q.v[i]);
	}
	free(q.v);
}

static void
nf_run(struct daemon *d)
{
	struct notify_state *nf = d->notify;
	int64_t now = clock_now(), wake = 0, next;
	size_t i;

	if (nf == NULL || nf->http == NULL || d->stopping)
		return;
	/* Only committed rows are read: a row of the open batch may still
	 * be rolled back. engine_commit calls notify_committed. */
	if (store_in_batch(d->store)) {
		nf->want_run = 1;
		nf_schedule(nf, NOTIFY_BATCH_RETRY_MS);
		return;
	}
	nf->want_run = 0;
	for (i = 0; i < nf->n; i++)
		nf_run_target(d, &nf->t[i], now, &wake);
	if (store_outbox_next_at(d->store, now, &next) == 1 &&
	    (wake == 0 || next < wake))
		wake = next;
	if (wake != 0)
		nf_schedule(nf, (wake > now ? wake - now : 1) * 1000);
}

static void
nf_tick(evutil_socket_t fd, short what, void *arg)
{
	nf_run(arg);
}

/* Run the worker in `ms` (0: at the next loop turn), unless sooner. */
static void
nf_schedule(struct notify_state *nf, int64_t ms)
{
	struct timeval tv, left;

	if (nf->ev == NULL)
		return;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	if (event_pending(nf->ev, EV_TIMEOUT, &left)) {
		struct timeval now, due;

		event_base_gettimeofday_cached(nf->d->base, &now);
		evutil_timeradd(&now, &tv, &due);
		if (evutil_timercmp(&left, &due, <=))
			return;
	}
	evtimer_add(nf->ev, &tv);
}

void
notify_kick(struct daemon *d)
{
	struct notify_state *nf = d->notify;

	if (nf == NULL)
		return;
	nf->want_run = 1;
	nf_schedule(nf, 0);
}

void
notify_committed(struct daemon *d)
{
	struct notify_state *nf = d->notify;
	if (nf != NULL && nf->want_run && nf->http != NULL)
		nf_run(d);
}

/* Delete delivered rows after NOTIFY_KEEP and held rows whose stage is
 * over; bounded per call. */
void
notify_prune(struct daemon *d)
{
	int64_t now = clock_now();

	if (store_begin(d->store) == -1)
		return;
	batch_dirty(d);
	if (store_outbox_prune_done(d->store, now - NOTIFY_KEEP, PRUNE_BATCH) ==
	    -1)
		log_warnx("notify: store: %s", store_errmsg(d->store));
	if (store_outbox_prune_held(
	        d->store, now - NOTIFY_UNREADY_KEEP, PRUNE_BATCH) == -1)
		log_warnx("notify: store: %s", store_errmsg(d->store));
}

/* Copy the targets of the settings and read their signing keys; start
 * the worker. Targets change at restart. -1 with *err on a bad secret. */
int
notify_init(struct daemon *d, char **err)
{
	struct notify_state *nf;
	const struct settings *s = d->settings;
	struct graph_opts o;
	char **origins = NULL;
	size_t i;
	int rc = -1;

	if ((nf = d->notify = calloc(1, sizeof(*nf))) == NULL) {
		if (asprintf(err, "notify: out of memory") == -1)
			*err = NULL;
		return -1;
	}
	nf->d = d;
	if (s->ntargets == 0)
		return 0;
	if ((nf->t = calloc(s->ntargets, sizeof(*nf->t))) == NULL ||
	    (origins = calloc(s->ntargets, sizeof(*origins))) == NULL)
		goto oom;
	memset(&o, 0, sizeof(o));
	for (i = 0; i < s->ntargets; i++) {
		const struct notify_target *c = &s->targets[i];
		struct nf_target *t = &nf->t[nf->n];

		if ((t->name = strdup(c->name)) == NULL ||
		    (t->url = strdup(c->url)) == NULL ||
		    (origins[i] = malloc(strlen(c->url) + 1)) == NULL)
			goto oom;
		nf->n++;
		t->format = c->format;
		t->events = c->events;
		t->links = c->links;
		t->conf = *c;
		t->conf.name = t->name;
		t->conf.url = t->url;
		t->conf.secret_file = NULL;
		if (graph_origin(c->url, origins[i], strlen(c->url) + 1) ==
		    -1) {
			if (asprintf(err, "notify target %s: bad URL",
			        c->name) == -1)
				*err = NULL;
			goto out;
		}
		if (strncmp(c->url, "http://", 7) == 0)
			o.allow_http = 1;
		if (c->secret_file != NULL &&
		    cfg_read_secret(
		        c->secret_file, &t->secret, &t->secret_len, err) == -1)
			goto out;
		if (c->format == NOTIFY_JSON &&
		    (t->secret == NULL || t->secret_len == 0)) {
			if (asprintf(err, "notify target %s: empty secret",
			        c->name) == -1)
				*err = NULL;
			goto out;
		}
	}
	o.ca_file = s->ca_file;
	o.timeout = NOTIFY_TIMEOUT;
	o.max_inflight = NOTIFY_MAX_INFLIGHT;
	o.origins = (const char *const *)origins;
	o.norigins = s->ntargets;
	o.no_throttle = 1;
	o.quiet = 1;
	if ((nf->http = graph_new(d->base, &o, err)) == NULL)
		goto out;
	if ((nf->ev = evtimer_new(d->base, nf_tick, d)) == NULL)
		goto oom;
	nf_drop_unknown(d);
	log_info("notify: %zu target(s)", nf->n);
	notify_kick(d);
	rc = 0;
	goto out;
oom:
	if (asprintf(err, "notify: out of memory") == -1)
		*err = NULL;
out:
	for (i = 0; origins != NULL && i < s->ntargets; i++)
		free(origins[i]);
	free(origins);
	return rc;
}

void
notify_free(struct daemon *d)
{
	struct notify_state *nf = d->notify;
	struct nf_delivery *x;
	size_t i;

	if (nf == NULL)
		return;
	/* Deliveries in flight are abandoned: their rows stay queued. */
	graph_free(nf->http);
	while ((x = nf->inflight) != NULL) {
		nf->inflight = x->next;
		free(x);
	}
	if (nf->ev != NULL)
		event_free(nf->ev);
	for (i = 0; i < nf->n; i++) {
		free(nf->t[i].name);
		free(nf->t[i].url);
		if (nf->t[i].secret != NULL) {
			explicit_bzero(nf->t[i].secret, nf->t[i].secret_len);
			free(nf->t[i].secret);
		}
	}
	free(nf->t);
	free(nf);
	d->notify = NULL;
}
