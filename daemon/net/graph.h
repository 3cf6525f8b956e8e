/*
 * Graph HTTP client: libcurl multi driven by the libevent loop (curl's
 * hiperfifo.c pattern). Calls are queued and started under a concurrency
 * cap and a throttle gate: after a 429/503 with Retry-After, no call starts
 * before it elapses. A bearer is only ever attached for an allowed origin;
 * redirects are never followed.
 */
#ifndef GRAPH_H
#define GRAPH_H

#include <stddef.h>

#include <curl/curl.h>
#include <event2/event.h>

struct graph;

struct graph_resp {
	long status; /* HTTP status; 0 when no answer */
	char *body;  /* NUL-terminated, may be NULL */
	size_t len;
	double retry_after; /* seconds, -1 when absent */
	int curl_code;      /* CURLcode */
	const char *error;  /* text of the transport error, or NULL */
	/* Graph's `request-id` and the echoed `client-request-id` response
	 * headers ("" when absent), for the log line of a failed call. */
	const char *request_id;
	const char *client_request_id;
};

/* Called once per call, in loop context. resp is valid during the call. */
typedef void (*graph_cb)(void *arg, const struct graph_resp *resp);

struct graph_opts {
	const char *ca_file; /* NULL: system store */
	long timeout;        /* seconds per transfer */
	unsigned max_inflight;
	int allow_http; /* plain http (loopback only, settings check) */
	const char *const *origins; /* allowed "scheme://host[:port]" list */
	size_t norigins;
	int no_throttle; /* 429/503 do not hold other calls (caller decides) */
	int quiet;       /* never log URLs (they may carry a secret) */
};

struct graph *graph_new(
    struct event_base *base, const struct graph_opts *o, char **err);
void graph_free(struct graph *g);

/*
 * Queue a call. `bearer` (may be NULL) is sent only when `url` belongs to an
 * allowed origin; otherwise the call fails at once with an error. `body` is
 * copied. Returns 0, or -1 when the URL is refused (cb is then not called).
 */
int graph_call(struct graph *g, const char *method, const char *url,
    const char *bearer, const char *ctype, const char *body, graph_cb cb,
    void *arg);

/* graph_call with extra header lines ("Name: value", NULL-terminated list,
 * copied; may be NULL). */
int graph_call_headers(struct graph *g, const char *method, const char *url,
    const char *bearer, const char *ctype, const char *const *headers,
    const char *body, graph_cb cb, void *arg);

/* The origin ("scheme://host[:port]") of `url` into out; -1 when none. */
int graph_origin(const char *url, char *out, size_t len);
/* 1 when `url` belongs to an allowed origin. */
int graph_url_allowed(const struct graph *g, const char *url);
/* Hold every call until `seconds` from now (Retry-After). */
void graph_throttle(struct graph *g, double seconds);
/* Calls queued or in flight. */
size_t graph_pending(const struct graph *g);
/* 1 when `s` may go into an HTTP header value: no control character (CR,
 * LF, NUL, any other below 0x20, DEL); refusing CR/LF keeps a value from
 * outside from adding header lines. */
int graph_header_value_ok(const char *s);
/* URL-encode `s` into a heap string. */
char *graph_escape(const char *s);

/* Counters for metrics and tests. */
struct graph_stats {
	unsigned long calls, errors, throttled;
	double throttle_wait; /* seconds spent gated */
};
void graph_get_stats(const struct graph *g, struct graph_stats *st);

#endif
