/*
 * Helpers shared by the listener and webhook integration tests: raw HTTP
 * on loopback, signed hooks, /metrics scrapes, small file edits.
 */
#ifndef HOOKUTIL_H
#define HOOKUTIL_H

#include <stddef.h>

#include "harness.h"

struct resp {
	long status;
	char ctype[128];
	char allow[128];      /* Allow header */
	char retry_after[32]; /* Retry-After header */
	char *body;           /* heap */
	size_t len;
};

/* Replace the first `from` in file `path` with `to`. */
int file_replace(const char *path, const char *from, const char *to);
/* The listener port approvald logged, or -1. */
int ad_port(struct ad *a);
void resp_free(struct resp *r);
/* A TCP connection to 127.0.0.1:port, or -1. */
int loopback_connect(int port);
/* Send raw bytes to the listener, read the whole answer (server closes). */
long raw_http(int port, const char *req, size_t reqlen, struct resp *r);
/* A request with `extra` headers (each ending in \r\n) and a body. */
long http_req(int port, const char *method, const char *path, const char *extra,
    const char *body, size_t blen, struct resp *r);
/* The X-Approvald-Signature header for body at time t with `secret`. */
void sign(
    const char *secret, long long t, const char *body, char *hdr, size_t len);
long post_evaluate(int port, const char *secret, long long t, const char *body,
    struct resp *r);
/* A metric's value from a scrape ("name{labels}"), -1 when absent. */
/* For h_until: does /readyz on `port` answer `status` with `text` in
 * its body (text NULL: any body)? */
struct readyz_wait {
	int port;
	long status;
	const char *text;
};
int readyz_is(void *arg);
double metric(int port, const char *series);
double metric0(int port, const char *series);
/* The first column of the first row of `sql` on database `db` (read
 * only), -1 on error. */
long long sql_count(const char *db, const char *sql);
/* Poll until sql_count(db, sql) is n; 0, or -1 at the timeout. */
int sql_wait(const char *db, const char *sql, long long n, int timeout_ms);

#endif
