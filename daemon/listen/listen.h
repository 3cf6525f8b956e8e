/* listen/: the HTTP server (routes given by its callers), hooks,
 * subscriptions, the decision page, metrics and health. */
#ifndef LISTEN_H
#define LISTEN_H

#include "engine.h"

/* httpd.c: the hardened listener (/healthz, /readyz and registered routes) */
struct evhttp_request;
typedef void (*httpd_handler)(struct evhttp_request *, void *);
/* A module's routes on the listener, registered by httpd_open before it
 * binds; -1 with *err (heap). */
typedef int (*httpd_routes_fn)(struct daemon *d, char **err);
/* Listen on `listen` with /healthz, /readyz and the routes of every
 * function in `routes` (NULL-ended; given by main.c: the server knows no
 * other module). */
int httpd_open(struct daemon *d, const char *listen,
    const httpd_routes_fn *routes, char **err);
void httpd_close(struct daemon *d);
int httpd_route(struct daemon *d, const char *path, int methods, int limited,
    httpd_handler fn, void *arg);
/* Log a refused request of `what` at a bounded rate (with the peer). */
void httpd_log_refused(struct daemon *d, struct evhttp_request *req,
    const char *what, const char *why);

/* metrics.c: GET /metrics and the counters behind it */
int metrics_register(struct daemon *d, char **err);

/* hooks.c: POST /v1/hooks/evaluate and /v1/hooks/graph */
int hooks_register(struct daemon *d, char **err);
void hooks_reload(struct daemon *d);
const char *hooks_client_state(struct daemon *d);
unsigned hooks_client_state_gen(struct daemon *d);
void hooks_free(struct daemon *d);
int hooks_check(const struct settings *s, char **err);

/* subs.c: Graph subscriptions to the approver groups' membership */
void subs_sync(struct daemon *d);
void subs_tick(struct daemon *d);
void subs_lifecycle(struct daemon *d, const char *id, const char *event);
size_t subs_count(struct daemon *d);
void subs_free(struct daemon *d);

/* health.c: a degraded store (writes failing: disk full, I/O error),
 * recovered by itself with backoff; /readyz and /metrics show it */
int health_init(struct daemon *d);
void health_free(struct daemon *d);
const char *health_reason(struct daemon *d);
int health_cred_up(struct daemon *d, enum token_kind kind);
unsigned long long health_store_episodes(struct daemon *d);

/* page.c: the decision page, GET/POST /v1/decide/TOKEN (links.h mints) */
/* Register GET/POST /v1/decide/ with the listener; -1 with *err. */
int links_register(struct daemon *d, char **err);

#endif
