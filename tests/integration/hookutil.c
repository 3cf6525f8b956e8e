/* Helpers shared by the listener and webhook integration tests. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include "cu.h"
#include "hookutil.h"

/* Replace the first `from` in file `path` with `to`. */
int
file_replace(const char *path, const char *from, const char *to)
{
	char *t = cu_slurp(path, NULL), *p, *out;
	int rc = -1;

	if (t == NULL || (p = strstr(t, from)) == NULL)
		goto out;
	*p = '\0';
	if (asprintf(&out, "%s%s%s", t, to, p + strlen(from)) == -1)
		goto out;
	rc = h_write_file(path, out, 0600);
	free(out);
out:
	free(t);
	return rc;
}

struct portwait {
	struct ad *a;
	int port;
};

static int
port_known(void *arg)
{
	struct portwait *pw = arg;
	char *log = cu_slurp(pw->a->p.log, NULL), *p;

	if (log == NULL)
		return 0;
	p = strstr(log, "http: listening on 127.0.0.1:");
	if (p != NULL)
		pw->port = atoi(p + strlen("http: listening on 127.0.0.1:"));
	free(log);
	return pw->port > 0;
}

int
ad_port(struct ad *a)
{
	struct portwait pw = { a, 0 };

	return h_until(port_known, &pw, 10000) == 0 ? pw.port : -1;
}

void
resp_free(struct resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Send raw bytes to the listener, read the whole answer (server closes). */
int
loopback_connect(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

long
raw_http(int port, const char *req, size_t reqlen, struct resp *r)
{
	struct pollfd pfd;
	char *buf = NULL, *p, *h;
	size_t n = 0, cap = 0, off = 0;
	ssize_t k;
	int fd;

	memset(r, 0, sizeof(*r));
	if ((fd = loopback_connect(port)) == -1)
		return 0;
	while (off < reqlen) {
		k = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (k <= 0)
			break; /* the server may answer before reading it all */
		off += (size_t)k;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, 10000) <= 0)
			break;
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			if ((p = realloc(buf, cap)) == NULL)
				break;
			buf = p;
		}
		k = recv(fd, buf + n, cap - n - 1, 0);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (buf == NULL)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %ld", &r->status) != 1)
		r->status = 0;
	if ((h = strcasestr(buf, "\r\nContent-Type: ")) != NULL)
		sscanf(h + 16, "%127[^\r\n]", r->ctype);
	if ((h = strcasestr(buf, "\r\nAllow: ")) != NULL)
		sscanf(h + 9, "%127[^\r\n]", r->allow);
	if ((h = strcasestr(buf, "\r\nRetry-After: ")) != NULL)
		sscanf(h + 15, "%31[^\r\n]", r->retry_after);
	if ((p = strstr(buf, "\r\n\r\n")) != NULL) {
		r->len = n - (size_t)(p + 4 - buf);
		if ((r->body = malloc(r->len + 1)) != NULL) {
			memcpy(r->body, p + 4, r->len);
			r->body[r->len] = '\0';
		}
	}
	free(buf);
	return r->status;
}

/* A request with `extra` headers (each ending in \r\n) and a body. */
long
http_req(int port, const char *method, const char *path, const char *extra,
    const char *body, size_t blen, struct resp *r)
{
	char *req;
	int hl;
	long st;

	memset(r, 0, sizeof(*r));
	hl = asprintf(&req,
	    "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
	    "Content-Length: %zu\r\n%s\r\n",
	    method, path, blen, extra ? extra : "");
	if (hl == -1)
		return 0;
	if (blen > 0) {
		char *full = malloc((size_t)hl + blen);

		if (full == NULL) {
			free(req);
			return 0;
		}
		memcpy(full, req, (size_t)hl);
		memcpy(full + hl, body, blen);
		st = raw_http(port, full, (size_t)hl + blen, r);
		free(full);
	} else
		st = raw_http(port, req, (size_t)hl, r);
	free(req);
	return st;
}

/* The X-Approvald-Signature header for body at time t with `secret`. */
void
sign(const char *secret, long long t, const char *body, char *hdr, size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0, i;
	char *msg, hex[65];

	CU_ASSERT_FATAL(asprintf(&msg, "%lld.%s", t, body) != -1);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg,
	    strlen(msg), md, &mdlen);
	free(msg);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(hdr, len, "X-Approvald-Signature: t=%lld,v1=%s\r\n", t, hex);
}

long
post_evaluate(
    int port, const char *secret, long long t, const char *body, struct resp *r)
{
	char hdr[256];

	sign(secret, t, body, hdr, sizeof(hdr));
	return http_req(
	    port, "POST", "/v1/hooks/evaluate", hdr, body, strlen(body), r);
}

/* A metric's value from a scrape ("name{labels}"), -1 when absent. */
double
metric(int port, const char *series)
{
	struct resp r;
	char *p, want[512];
	double v = -1;

	if (http_req(port, "GET", "/metrics", NULL, NULL, 0, &r) != 200 ||
	    r.body == NULL) {
		resp_free(&r);
		return -1;
	}
	snprintf(want, sizeof(want), "\n%s ", series);
	if ((p = strstr(r.body, want)) != NULL)
		v = strtod(p + strlen(want), NULL);
	resp_free(&r);
	return v;
}

double
metric0(int port, const char *series)
{
	double v = metric(port, series);

	return v < 0 ? 0 : v;
}

long long
sql_count(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

struct sql_want {
	const char *db, *sql;
	long long n;
};

static int
sql_is(void *arg)
{
	struct sql_want *w = arg;

	return sql_count(w->db, w->sql) == w->n;
}

int
sql_wait(const char *db, const char *sql, long long n, int timeout_ms)
{
	struct sql_want w = { db, sql, n };

	return h_until(sql_is, &w, timeout_ms);
}

int
readyz_is(void *arg)
{
	struct readyz_wait *w = arg;
	struct resp r;
	int ok;

	memset(&r, 0, sizeof(r));
	ok = http_req(w->port, "GET", "/readyz", NULL, NULL, 0, &r) ==
	         w->status &&
	     (w->text == NULL ||
	         (r.body != NULL && strstr(r.body, w->text) != NULL));
	resp_free(&r);
	return ok;
}
