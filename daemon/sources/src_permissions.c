/*
 * Source adapter `permissions`: Permissions Management (beta). The only
 * file that knows its paths and JSON shapes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "limits.h"
#include "log.h"
#include "parse.h"
#include "sources.h"

#define PERM_PREFIX "/beta/identityGovernance/permissionsManagement"

struct perm_fetch {
	struct daemon *d;
	char *gid, *change_id;
	adapter_body_cb cb;
	void *arg;
};

/*
 * New requests seen on one changes page are fetched together, up to
 * PERM_BULK ids per call, with "id eq 'a' or id eq 'b' …". A server that
 * refuses that filter (400) gets one call per request from then on.
 */
#define PERM_BULK 15

struct perm_bulk {
	struct daemon *d;
	size_t n;
	char *gid[PERM_BULK], *change_id[PERM_BULK];
};

/*
 * Changes of this poll cycle whose modificationDateTime is implausible
 * (unparseable, missing, or later than now + POLL_MAX_CLOCK_SKEW): one
 * such change used to set the watermark to 2998 and stop all intake. They
 * are applied like any other but kept out of the watermark, counted in
 * /metrics and logged once per cycle with the first one as an example
 * (poll_state's implausible, implausible_eg).
 */
#define PERM_PS(d) (&(d)->poll[REQ_SRC_PERMISSIONS])

static void perm_fetch_one(
    struct daemon *d, const char *gid, const char *change_id);
static void perm_bulk_send(struct perm_bulk *b);
static void perm_fetch_many(struct daemon *d, char *const *gids, size_t n,
    adapter_many_cb cb, void *arg);

static enum sm_event_kind
perm_observe(const char *status)
{
	if (status == NULL)
		return SM_E_GRAPH_UNKNOWN;
	if (strcmp(status, "submitted") == 0)
		return SM_E_GRAPH_SUBMITTED;
	if (strcmp(status, "approved") == 0)
		return SM_E_GRAPH_APPROVED;
	if (strcmp(status, "completed") == 0)
		return SM_E_GRAPH_COMPLETED;
	if (strcmp(status, "canceled") == 0)
		return SM_E_GRAPH_CANCELED;
	if (strcmp(status, "rejected") == 0)
		return SM_E_GRAPH_REJECTED;
	return SM_E_GRAPH_UNKNOWN;
}

/* ---- poll cycle ------------------------------------------------------ */

static void perm_page(
    void *arg, long status, const char *body, const char *err);

static int
perm_cycle_idle(struct poll_state *ps)
{
	return ps->fetches == 0 && ps->pages == 0;
}

/* A watermark that no clock could have produced: unparseable, or later
 * than now + POLL_MAX_CLOCK_SKEW. */
static int
perm_wm_implausible(int64_t t)
{
	return t < 0 || t > clock_now() + POLL_MAX_CLOCK_SKEW;
}

static void
perm_cycle_end(struct daemon *d)
{
	struct poll_state *ps = &d->poll[REQ_SRC_PERMISSIONS];
	char *old = NULL, wm[32];
	int64_t oldt = 0, t;
	struct tm tm;
	time_t tt;

	if (!perm_cycle_idle(ps))
		return;
	if (PERM_PS(d)->implausible > 0) {
		log_warnx("poll permissions: %zu changes with an implausible "
		          "modificationDateTime (%s); applied, but kept out "
		          "of the watermark",
		    PERM_PS(d)->implausible, PERM_PS(d)->implausible_eg);
		PERM_PS(d)->implausible = 0;
	}
	if (!ps->failed && ps->max_seen > 0 && store_begin(d->store) == 0) {
		if (store_meta_get(d->store, "watermark:permissions", &old) ==
		    0)
			oldt = cfg_parse_timestamp(old);
		t = ps->max_seen;
		if (t > clock_now() + POLL_MAX_CLOCK_SKEW)
			t = clock_now() + POLL_MAX_CLOCK_SKEW;
		t -= d->settings->poll_overlap;
		/* A poisoned watermark (written before this check existed) is
		 * replaced, even by an older time. */
		if (t > oldt || perm_wm_implausible(oldt)) {
			tt = (time_t)t;
			gmtime_r(&tt, &tm);
			strftime(wm, sizeof(wm), "%Y-%m-%dT%H:%M:%SZ", &tm);
			if (store_meta_set(
			        d->store, "watermark:permissions", wm) == -1)
				ps->failed = 1;
		}
		store_change_prune(d->store, clock_now() - SEEN_CHANGES_KEEP);
		free(old);
		batch_dirty(d);
	}
	poll_cycle_done(d, REQ_SRC_PERMISSIONS, !ps->failed);
}

/* A fetched request (object `o`, text `body`) is stored with the change
 * that revealed it; -1 when it could not be. */
static int
perm_store_fetched(struct daemon *d, const char *gid, const char *change_id,
    struct json_object *o, const char *body)
{
	const char *st = adapter_str(o, "statusDetail");
	struct request req;
	char *err = NULL;
	int bad;

	/* A read that fails validation (no statusDetail, a body the request
	 * parser refuses) is not stored: the change stays unseen and is
	 * fetched again on the next poll, never turned into a verdict
	 * (issue 14, item 15). */
	if (st == NULL) {
		log_warnx("poll permissions: request %s has no statusDetail; "
		          "read again later",
		    gid);
		metrics_bad_read(d, "permissions", "status");
		return -1;
	}
	memset(&req, 0, sizeof(req));
	bad = request_from_json(
	          body, strlen(body), REQ_SRC_PERMISSIONS, &req, &err) == -1;
	request_free(&req);
	if (bad) {
		log_warnx("poll permissions: request %s cannot be read (%s); "
		          "read again later",
		    gid, err ? err : "invalid");
		free(err);
		metrics_bad_read(d, "permissions", "request");
		return -1;
	}
	if (d->eng->observe(d, REQ_SRC_PERMISSIONS, gid, st, body) != 0)
		return -1;
	return store_change_mark(d->store, change_id, clock_now());
}

static void
perm_fetched(void *arg, long status, const char *body, const char *err)
{
	struct perm_fetch *f = arg;
	struct daemon *d = f->d;
	struct poll_state *ps = &d->poll[REQ_SRC_PERMISSIONS];
	struct json_object *o;

	ps->fetches--;
	if (status != 200 || body == NULL) {
		log_warnx("poll permissions: cannot fetch request %s: %ld %s",
		    f->gid, status, err ? err : "");
		ps->failed = 1;
	} else if ((o = parse_json(body, strlen(body))) == NULL ||
	           !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		log_warnx(
		    "poll permissions: request %s: malformed JSON", f->gid);
		ps->failed = 1;
	} else {
		if (perm_store_fetched(d, f->gid, f->change_id, o, body) == -1)
			ps->failed = 1;
		json_object_put(o);
	}
	free(f->gid);
	free(f->change_id);
	free(f);
	perm_cycle_end(d);
}

/* Fetch one request revealed by change `change_id`. */
static void
perm_fetch_one(struct daemon *d, const char *gid, const char *change_id)
{
	struct poll_state *ps = &d->poll[REQ_SRC_PERMISSIONS];
	struct perm_fetch *f;

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->gid = strdup(gid)) == NULL ||
	    (f->change_id = strdup(change_id)) == NULL) {
		if (f)
			free(f->gid);
		free(f);
		log_warnx("poll permissions: out of memory fetching %s", gid);
		ps->failed = 1;
		return;
	}
	f->d = d;
	ps->fetches++;
	adapter_permissions.fetch(d, gid, perm_fetched, f);
}

static void
perm_bulk_free(struct perm_bulk *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->gid[i]);
		free(b->change_id[i]);
	}
	free(b);
}

static void
perm_bulk_done(void *arg, long status, struct json_object *items, int complete,
    const char *err)
{
	struct perm_bulk *b = arg;
	struct daemon *d = b->d;
	struct poll_state *ps = &d->poll[REQ_SRC_PERMISSIONS];
	struct json_object *item;
	size_t i;

	ps->fetches--;
	if (status == 400) {
		for (i = 0; i < b->n; i++)
			perm_fetch_one(d, b->gid[i], b->change_id[i]);
	} else if (status != 200 || items == NULL) {
		log_warnx("poll permissions: cannot fetch %zu requests: %ld %s",
		    b->n, status, err ? err : "");
		ps->failed = 1;
	} else {
		for (i = 0; i < b->n; i++) {
			/* Missing from the answer: ask for it alone, which
			 * reports what happened to it. */
			if ((item = adapter_find_id(items, b->gid[i])) == NULL)
				perm_fetch_one(d, b->gid[i], b->change_id[i]);
			else if (perm_store_fetched(d, b->gid[i],
			             b->change_id[i], item,
			             json_object_to_json_string_ext(
			                 item, JSON_C_TO_STRING_PLAIN)) == -1)
				ps->failed = 1;
		}
	}
	(void)complete;
	perm_bulk_free(b);
	perm_cycle_end(d);
}

/* Fetch the requests queued in `b` (taken over). */
static void
perm_bulk_send(struct perm_bulk *b)
{
	struct daemon *d = b->d;
	struct poll_state *ps = &d->poll[REQ_SRC_PERMISSIONS];
	size_t i;

	if (PERM_PS(d)->bulk_refused || b->n == 1) {
		for (i = 0; i < b->n; i++)
			perm_fetch_one(d, b->gid[i], b->change_id[i]);
		perm_bulk_free(b);
		return;
	}
	ps->fetches++;
	perm_fetch_many(d, b->gid, b->n, perm_bulk_done, b);
}

/* Apply one change record; an unknown request joins `*bulk` to be
 * fetched. 0 ok, -1 failed. */
static int
perm_apply_change(
    struct daemon *d, struct json_object *c, struct perm_bulk **bulk)
{
	struct poll_state *ps = &d->poll[REQ_SRC_PERMISSIONS];
	struct perm_bulk *b;
	struct perm_change pc;
	const char *id, *rid, *st, *mt;
	int64_t t;
	int rc;

	if (parse_perm_change(c, &pc) == -1) {
		log_warnx("poll permissions: malformed change; skipped");
		return 0;
	}
	id = pc.id;
	rid = pc.request_id;
	st = pc.status;
	mt = pc.modified;
	if (id == NULL || rid == NULL) {
		log_warnx("poll permissions: change without id; skipped");
		return 0;
	}
	t = mt != NULL ? cfg_parse_timestamp(mt) : -1;
	if (t < 0 || t > clock_now() + POLL_MAX_CLOCK_SKEW) {
		if (PERM_PS(d)->implausible++ == 0)
			snprintf(PERM_PS(d)->implausible_eg,
			    sizeof(PERM_PS(d)->implausible_eg),
			    "change %.40s: %.40s", id,
			    mt != NULL ? mt : "none");
		metrics_implausible_time(d, "permissions");
	} else if (t > ps->max_seen)
		ps->max_seen = t;
	if (store_begin(d->store) == -1)
		return -1;
	batch_dirty(d);
	/* A change counts as seen only in the batch that stores its effect:
	 * after a crash in between it is seen again, never lost. */
	if ((rc = store_change_seen(d->store, id)) == 1)
		return 0;
	if (rc == -1)
		return -1;
	rc = d->eng->observe(
	    d, REQ_SRC_PERMISSIONS, rid, st ? st : "unknown", NULL);
	if (rc == 0)
		return store_change_mark(d->store, id, clock_now()) == -1 ? -1
		                                                          : 0;
	if (rc != 1)
		return rc;
	/* Unknown request: fetch it; the change counts once it is stored. */
	if (*bulk != NULL && (*bulk)->n == PERM_BULK) {
		perm_bulk_send(*bulk);
		*bulk = NULL;
	}
	if (*bulk == NULL) {
		if ((*bulk = calloc(1, sizeof(**bulk))) == NULL)
			return -1;
		(*bulk)->d = d;
	}
	b = *bulk;
	if ((b->gid[b->n] = strdup(rid)) == NULL ||
	    (b->change_id[b->n] = strdup(id)) == NULL) {
		free(b->gid[b->n]);
		return -1;
	}
	b->n++;
	return 0;
}

static void
perm_page(void *arg, long status, const char *body, const char *err)
{
	struct daemon *d = arg;
	struct poll_state *ps = &d->poll[REQ_SRC_PERMISSIONS];
	struct json_object *root = NULL, *value;
	struct perm_bulk *bulk = NULL;
	const char *next;
	size_t i, n;

	if (status != 200 || body == NULL) {
		log_warnx("poll permissions: changes page: %ld %s", status,
		    err ? err : "");
		ps->failed = 1;
		goto out;
	}
	if ((root = parse_page(body, strlen(body), &value, &next)) == NULL) {
		log_warnx("poll permissions: changes page is malformed");
		ps->failed = 1;
		goto out;
	}
	n = json_object_array_length(value);
	for (i = 0; i < n && !d->stopping; i++)
		if (perm_apply_change(
		        d, json_object_array_get_idx(value, i), &bulk) == -1)
			ps->failed = 1;
	if (bulk != NULL)
		perm_bulk_send(bulk);
	if (next != NULL && !d->stopping)
		if (poll_follow(d, REQ_SRC_PERMISSIONS, next, perm_page) == -1)
			ps->failed = 1;
out:
	json_object_put(root);
	ps->pages--; /* last, so a failed fetch cannot end the cycle early */
	perm_cycle_end(d);
}

static void
perm_poll(struct daemon *d)
{
	struct poll_state *ps = &d->poll[REQ_SRC_PERMISSIONS];
	char *wm = NULL, *filter = NULL, *esc = NULL, *url = NULL, buf[32];
	struct tm tm;
	time_t t;

	PERM_PS(d)->implausible = 0;
	if (store_meta_get(d->store, "watermark:permissions", &wm) == 0 &&
	    perm_wm_implausible(cfg_parse_timestamp(wm))) {
		log_warnx("poll permissions: stored watermark %.40s is "
		          "implausible; looking back as at first start",
		    wm);
		metrics_implausible_time(d, "permissions");
		free(wm);
		wm = NULL;
	}
	if (wm == NULL) {
		t = (time_t)(clock_now() - POLL_INITIAL_LOOKBACK);
		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		wm = strdup(buf);
	}
	if (wm == NULL ||
	    asprintf(&filter, "modificationDateTime gt %s", wm) == -1 ||
	    (esc = graph_escape(filter)) == NULL ||
	    (url = adapter_url(d, PERM_PREFIX,
	         "/permissionsRequestChanges?$filter=%s&$top=%d", esc,
	         GRAPH_PAGE_SIZE)) == NULL) {
		ps->failed = 1;
		poll_cycle_done(d, REQ_SRC_PERMISSIONS, 0);
		goto out;
	}
	log_debug("poll permissions: changes since %s", wm);
	ps->pages = 1;
	daemon_graph(d, TOKEN_APP, "GET", url, NULL, perm_page, d);
out:
	free(filter);
	free(esc);
	free(url);
	free(wm);
}

/* ---- request, step, decision, cancel ----------------------------------- */

static void
perm_fetch_done(void *arg, long status, const char *body, const char *err)
{
	struct perm_fetch *f = arg;
	struct json_object *root = NULL, *value, *item;
	const char *out = NULL, *next;

	if (status == 200 && body != NULL &&
	    (root = parse_page(body, strlen(body), &value, &next)) != NULL) {
		if (json_object_array_length(value) == 1) {
			item = json_object_array_get_idx(value, 0);
			out = json_object_to_json_string_ext(
			    item, JSON_C_TO_STRING_PLAIN);
			f->cb(f->arg, 200, out, NULL);
		} else
			f->cb(f->arg, 404, NULL, "request not found");
	} else if (status == 200)
		f->cb(f->arg, 0, NULL, "malformed JSON");
	else
		f->cb(f->arg, status, NULL, err);
	json_object_put(root);
	free(f->gid);
	free(f);
}

/* There is no get-by-id: list with $filter=id eq '…'. */
static void
perm_fetch(struct daemon *d, const char *gid, adapter_body_cb cb, void *arg)
{
	struct perm_fetch *f;
	char *filter = NULL, *esc = NULL, *url = NULL;

	if (strchr(gid, '\'') != NULL || (f = calloc(1, sizeof(*f))) == NULL) {
		cb(arg, 0, NULL, "bad request id");
		return;
	}
	f->d = d;
	f->cb = cb;
	f->arg = arg;
	f->gid = strdup(gid);
	if (asprintf(&filter, "id eq '%s'", gid) == -1 ||
	    (esc = graph_escape(filter)) == NULL ||
	    (url = adapter_url(d, PERM_PREFIX,
	         "/scheduledPermissionsRequests?$filter=%s", esc)) == NULL) {
		free(filter);
		free(f->gid);
		free(f);
		cb(arg, 0, NULL, "out of memory");
		return;
	}
	daemon_graph(d, TOKEN_APP, "GET", url, NULL, perm_fetch_done, f);
	free(filter);
	free(esc);
	free(url);
}

struct perm_many {
	struct daemon *d;
	adapter_many_cb cb;
	void *arg;
};

static void
perm_many_done(void *arg, long status, const char *body, const char *err)
{
	struct perm_many *m = arg;
	struct daemon *d = m->d;
	struct json_object *root = NULL, *value;
	const char *next;

	if (status == 400 && !PERM_PS(d)->bulk_refused) {
		PERM_PS(d)->bulk_refused = 1;
		log_warnx("permissions: Graph refused a filter on several ids "
		          "(%s); fetching requests one by one from now on",
		    err ? err : "400");
	}
	if (status != 200 || body == NULL)
		m->cb(m->arg, status, NULL, 0, err ? err : "no answer");
	else if ((root = parse_page(body, strlen(body), &value, &next)) == NULL)
		m->cb(m->arg, 0, NULL, 0, "malformed requests page");
	else
		m->cb(m->arg, 200, value, next == NULL, NULL);
	json_object_put(root);
	free(m);
}

/* Several requests in one call: "id eq 'a' or id eq 'b' …". A server that
 * refused that once (400) is answered 400 at once from then on. */
static void
perm_fetch_many(struct daemon *d, char *const *gids, size_t n,
    adapter_many_cb cb, void *arg)
{
	struct perm_many *m = NULL;
	char *filter = NULL, *esc = NULL, *url = NULL;
	size_t i, len = 0;
	FILE *mem;

	if (PERM_PS(d)->bulk_refused || n == 0 || n > PERM_BULK) {
		cb(arg, 400, NULL, 0, "several-id filter not used");
		return;
	}
	if ((mem = open_memstream(&filter, &len)) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		/* Ids come from Graph; a quote would end the literal. */
		if (strchr(gids[i], '\'') != NULL) {
			fclose(mem);
			goto fail;
		}
		fprintf(mem, "%sid eq '%s'", i ? " or " : "", gids[i]);
	}
	if (fclose(mem) != 0 || (esc = graph_escape(filter)) == NULL ||
	    (url = adapter_url(d, PERM_PREFIX,
	         "/scheduledPermissionsRequests?$filter=%s&$top=%zu", esc,
	         n)) == NULL ||
	    (m = calloc(1, sizeof(*m))) == NULL)
		goto fail;
	m->cb = cb;
	m->d = d;
	m->arg = arg;
	daemon_graph(d, TOKEN_APP, "GET", url, NULL, perm_many_done, m);
	free(filter);
	free(esc);
	free(url);
	return;
fail:
	free(filter);
	free(esc);
	free(url);
	cb(arg, 0, NULL, 0, "cannot build the request");
}

struct perm_step {
	struct daemon *d;
	adapter_step_cb cb;
	void *arg;
};

/* Pick the step still in progress, else the last decided one. */
static void
perm_step_done(void *arg, long status, const char *body, const char *err)
{
	struct perm_step *ps = arg;
	struct step_info si;

	memset(&si, 0, sizeof(si));
	if (status != 200 || body == NULL)
		ps->cb(ps->arg, status, NULL, err ? err : "no answer");
	else if (parse_steps(body, strlen(body), "value", &si) == -1)
		ps->cb(ps->arg, 0, NULL, "malformed steps");
	else if (si.found && si.id == NULL) {
		/* A step without id is a bad read, read again (issue 14,
		 * item 15), not "no approval step". */
		metrics_bad_read(ps->d, "permissions", "step");
		ps->cb(ps->arg, 0, NULL, "a step without id");
	} else
		ps->cb(ps->arg, 200, &si, NULL);
	step_info_clear(&si);
	free(ps);
}

static void
perm_read_step(
    struct daemon *d, const char *approval_id, adapter_step_cb cb, void *arg)
{
	struct perm_step *ps = NULL;
	char *esc = graph_escape(approval_id), *url = NULL;

	if (esc == NULL || (ps = calloc(1, sizeof(*ps))) == NULL ||
	    (url = adapter_url(d, PERM_PREFIX,
	         "/scheduledPermissionsApprovals/%s/steps", esc)) == NULL) {
		free(ps);
		free(esc);
		cb(arg, 0, NULL, "out of memory");
		return;
	}
	ps->d = d;
	ps->cb = cb;
	ps->arg = arg;
	/* Approvals are read with the delegated token: the approval entity
	 * is delegated-only where documented ("Application: Not supported",
	 * microsoft-graph-docs-contrib: api-reference/v1.0/api/
	 * approval-get.md); Permissions Management has no prose page. */
	daemon_graph(d, TOKEN_DELEGATED, "GET", url, NULL, perm_step_done, ps);
	free(esc);
	free(url);
}

/* Decisions and cancels as the listing sources make them, on this
 * source's paths (beta: approval "steps", cancel is "cancelAll", which
 * needs the requestor's or an admin's delegated token). */
static const struct lister_source perm_paths = {
	.source = REQ_SRC_PERMISSIONS,
	.prefix = PERM_PREFIX,
	.requests = "/scheduledPermissionsRequests",
	.approvals = "/scheduledPermissionsApprovals",
	.stages = "steps",
	.cancel = "cancelAll",
	.cancel_token = TOKEN_DELEGATED,
};

static void
perm_decide(struct daemon *d, const char *approval_id, const char *step_id,
    int approve, const char *justification, adapter_body_cb cb, void *arg)
{
	lister_decide(d, &perm_paths, approval_id, step_id, approve,
	    justification, cb, arg);
}

static void
perm_cancel(struct daemon *d, const char *gid, adapter_body_cb cb, void *arg)
{
	lister_cancel(d, &perm_paths, gid, cb, arg);
}

const struct source_adapter adapter_permissions = {
	.source = REQ_SRC_PERMISSIONS,
	.name = "permissions",
	.poll = perm_poll,
	.fetch = perm_fetch,
	.fetch_many = perm_fetch_many,
	.fetch_many_max = PERM_BULK,
	.read_step = perm_read_step,
	.decide = perm_decide,
	.cancel = perm_cancel,
	.observe = perm_observe,
};
