/* HTTP listener (evhttp): /healthz, /readyz, hooks, metrics and decision
 * links, with hardened limits. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "approvald.h"
#include "limits.h"
#include "log.h"

static void
httpd_reply(
    struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	if (b != NULL)
		evbuffer_add_printf(b, "%s\n", text);
	evhttp_send_reply(req, code, reason, b);
	if (b != NULL)
		evbuffer_free(b);
}

static void
httpd_healthz(struct evhttp_request *req, void *arg)
{
	httpd_reply(req, 200, "OK", "ok");
}

static void
httpd_readyz(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;

	if (d->ready && !d->stopping)
		httpd_reply(req, 200, "OK", "ready");
	else
		httpd_reply(req, 503, "Service Unavailable", "not ready");
}

/* Everything not routed by exact path: decision links, else 404. */
static void
httpd_notfound(struct evhttp_request *req, void *arg)
{
	if (links_route(arg, req))
		return;
	httpd_reply(req, 404, "Not Found", "not found");
}

int
httpd_open(struct daemon *d, const char *listen, char **err)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	long port;
	size_t hl;
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (colon == NULL || (hl = (size_t)(colon - listen)) >= sizeof(host) ||
	    (port = strtol(colon + 1, NULL, 10)) < 0 || port > 65535) {
		asprintf(err, "http.listen %s: want HOST:PORT", listen);
		return -1;
	}
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2) {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	if ((d->http = evhttp_new(d->base)) == NULL) {
		asprintf(err, "http: cannot create server");
		return -1;
	}
	evhttp_set_max_headers_size(d->http, HTTP_MAX_HEADERS_SIZE);
	evhttp_set_max_body_size(d->http, HTTP_MAX_BODY_SIZE);
	evhttp_set_timeout(d->http, HTTP_TIMEOUT);
	evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_cb(d->http, "/healthz", httpd_healthz, d);
	evhttp_set_cb(d->http, "/readyz", httpd_readyz, d);
	metrics_register(d);
	if (hooks_register(d, err) == -1) {
		evhttp_free(d->http);
		d->http = NULL;
		return -1;
	}
	evhttp_set_gencb(d->http, httpd_notfound, d);
	if ((bound = evhttp_bind_socket_with_handle(
	         d->http, host, (ev_uint16_t)port)) == NULL) {
		asprintf(err, "http: cannot listen on %s", listen);
		evhttp_free(d->http);
		d->http = NULL;
		return -1;
	}
	/* Port 0 picks a free port: say which. */
	sl = sizeof(ss);
	if (getsockname(evhttp_bound_socket_get_fd(bound),
	        (struct sockaddr *)&ss, &sl) == 0 &&
	    ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		log_info("http: listening on %s:%u", host,
		    (unsigned)ntohs(sin->sin_port));
	} else
		log_info("http: listening on %s", listen);
	return 0;
}

void
httpd_close(struct daemon *d)
{
	if (d->http != NULL)
		evhttp_free(d->http);
	d->http = NULL;
	hooks_free(d);
}
