/* Poll scheduling: one cycle per source at a time, every interval, or at
 * once when nudged (a webhook); nudges during a cycle coalesce into one. */
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "log.h"
#include "sources.h"

static void
poll_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poll_state *ps = arg;
	struct daemon *d = ps->d;

	if (d->stopping || ps->running)
		return;
	ps->running = 1;
	ps->again = 0;
	ps->failed = 0;
	ps->cycles++;
	ps->ad->poll(d);
}

static void
poll_schedule(struct poll_state *ps, int64_t seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	evtimer_add(ps->timer, &tv);
}

void
poll_init(struct daemon *d)
{
	int i;
	const struct source_adapter *ad;

	for (i = 0; i < REQ_SRC_MAX; i++) {
		struct poll_state *ps = &d->poll[i];

		if (!d->settings->source_enabled[i] ||
		    (ad = adapter_for((enum req_source)i)) == NULL)
			continue;
		ps->d = d;
		ps->ad = ad;
		ps->interval = d->settings->poll_interval[i] > 0
		                   ? d->settings->poll_interval[i]
		                   : 30;
		ps->timer = evtimer_new(d->base, poll_timer_cb, ps);
		if (ps->timer == NULL)
			fatalx("poll: cannot create timer");
		poll_schedule(ps, 0);
	}
}

void
poll_nudge(struct daemon *d, enum req_source src)
{
	struct poll_state *ps = &d->poll[src];

	if (ps->ad == NULL)
		return;
	if (ps->running) {
		ps->again = 1;
		return;
	}
	poll_schedule(ps, 0);
}

void
poll_cycle_done(struct daemon *d, enum req_source src, int ok)
{
	struct poll_state *ps = &d->poll[src];
	size_t i;

	ps->running = 0;
	for (i = 0; i < ps->nlinks; i++)
		free(ps->links[i]);
	free(ps->links);
	ps->links = NULL;
	ps->nlinks = 0;
	free(ps->max_seen_text);
	ps->max_seen_text = NULL;
	ps->max_seen = 0;
	ps->pages = ps->fetches = 0;
	if (d->stopping)
		return;
	if (!ok)
		log_warnx(
		    "poll %s: cycle incomplete; watermark kept", ps->ad->name);
	else
		ps->last_ok = clock_now();
	poll_schedule(ps, ps->again ? 0 : ps->interval);
	ps->again = 0;
}

int
poll_follow(
    struct daemon *d, enum req_source src, const char *link, adapter_body_cb cb)
{
	return poll_follow_as(d, src, link, cb, TOKEN_APP);
}

int
poll_follow_as(struct daemon *d, enum req_source src, const char *link,
    adapter_body_cb cb, enum token_kind kind)
{
	struct poll_state *ps = &d->poll[src];
	const char *name = req_source_name(src);
	size_t i;
	char **l;

	if (!graph_url_allowed(d->graph, link)) {
		log_warnx(
		    "poll %s: nextLink to a foreign origin refused", name);
		return -1;
	}
	for (i = 0; i < ps->nlinks; i++)
		if (strcmp(ps->links[i], link) == 0) {
			log_warnx("poll %s: nextLink cycle refused", name);
			return -1;
		}
	if (ps->nlinks >= GRAPH_MAX_PAGES) {
		log_warnx("poll %s: more than %d pages; stopping", name,
		    GRAPH_MAX_PAGES);
		return -1;
	}
	if ((l = realloc(ps->links, (ps->nlinks + 1) * sizeof(*l))) == NULL)
		return -1;
	ps->links = l;
	if ((l[ps->nlinks] = strdup(link)) == NULL)
		return -1;
	ps->nlinks++;
	ps->pages++;
	daemon_graph(d, kind, "GET", link, NULL, cb, d);
	return 0;
}

void
poll_free(struct daemon *d)
{
	int i;
	size_t j;

	for (i = 0; i < REQ_SRC_MAX; i++) {
		struct poll_state *ps = &d->poll[i];

		if (ps->timer)
			event_free(ps->timer);
		for (j = 0; j < ps->nlinks; j++)
			free(ps->links[j]);
		free(ps->links);
		free(ps->max_seen_text);
		lister_state_free(ps);
	}
}
