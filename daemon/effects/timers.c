/* Durable timers: rows in the store, mirrored as libevent timers. A
 * deadline that passed while the daemon was down fires once at start. */
#include <stdlib.h>
#include <string.h>

#include "effects.h"
#include "log.h"

struct timer_ev {
	struct timer_ev *next;
	struct daemon *d;
	char *key;
	int kind;
	uint32_t stage;
	int64_t at;
	struct event *ev;
};

static void
timers_unlink(struct daemon *d, struct timer_ev *t)
{
	struct timer_ev **pp;

	for (pp = &d->timers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	event_free(t->ev);
	free(t->key);
	free(t);
}

static void
timers_fire(evutil_socket_t fd, short what, void *arg)
{
	struct timer_ev *t = arg;
	struct daemon *d = t->d;
	struct store_request r;
	struct sm_event ev;
	static const enum sm_event_kind kinds[SM_T_MAX] = {
		[SM_T_ESCALATE] = SM_E_TIMER_ESCALATE,
		[SM_T_DENY] = SM_E_TIMER_DENY,
		[SM_T_REMIND] = SM_E_TIMER_REMIND,
	};

	memset(&r, 0, sizeof(r));
	if (t->kind < 0 || t->kind >= SM_T_MAX || store_begin(d->store) == -1 ||
	    store_request_get(d->store, t->key, &r) != 0 ||
	    store_timer_delete(d->store, t->key, t->kind) == -1) {
		log_warnx("timer %s: cannot load request", t->key);
		store_request_clear(&r);
		timers_unlink(d, t);
		return;
	}
	batch_dirty(d);
	memset(&ev, 0, sizeof(ev));
	ev.kind = kinds[t->kind];
	ev.u.timer.stage = t->stage;
	d->eng->event(d, &r, &ev, sm_timer_name(t->kind));
	store_request_clear(&r);
	timers_unlink(d, t);
}

void
timers_arm(
    struct daemon *d, const char *key, int kind, uint32_t stage, int64_t at)
{
	struct timer_ev *t, *o;
	struct timeval tv = { 0, 0 };
	int64_t now = clock_now();

	for (o = d->timers; o != NULL; o = o->next)
		if (o->kind == kind && strcmp(o->key, key) == 0) {
			timers_unlink(d, o);
			break;
		}
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->key = strdup(key)) == NULL ||
	    (t->ev = evtimer_new(d->base, timers_fire, t)) == NULL) {
		if (t != NULL)
			free(t->key);
		free(t);
		log_warnx(
		    "timer %s: cannot arm; it fires at the next start", key);
		return;
	}
	t->d = d;
	t->kind = kind;
	t->stage = stage;
	t->at = at;
	if (at > now)
		tv.tv_sec = (time_t)(at - now);
	evtimer_add(t->ev, &tv);
	t->next = d->timers;
	d->timers = t;
}

void
timers_cancel(struct daemon *d, const char *key)
{
	struct timer_ev *t, *next;

	for (t = d->timers; t != NULL; t = next) {
		next = t->next;
		if (strcmp(t->key, key) == 0)
			timers_unlink(d, t);
	}
}

static int
timers_load_one(void *arg, const struct store_timer *st)
{
	timers_arm(arg, st->key, st->kind, st->stage, st->at);
	return 0;
}

int
timers_load(struct daemon *d)
{
	return store_timer_each(d->store, timers_load_one, d);
}

void
timers_free(struct daemon *d)
{
	while (d->timers != NULL)
		timers_unlink(d, d->timers);
}
