/* graph-emulator: command line, event loop, signals. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "emu.h"

#define PURGE_INTERVAL_S 30

static void
usage(void)
{
	fprintf(stderr,
	    "usage: graph-emulator --listen ADDR:PORT --fixture FILE.json "
	    "[--log FILE]\n"
	    "       [--tls-cert FILE --tls-key FILE] [--app-cert "
	    "CLIENTID=CERT.pem]...\n"
	    "       [--token-lifetime SECONDS]\n");
	exit(2);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct emu *e = arg;

	event_base_loopexit(e->base, NULL);
}

static void
on_purge(evutil_socket_t fd, short what, void *arg)
{
	struct emu *e = arg;

	tokens_purge(e);
	req_tick(e);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "fixture", required_argument, NULL, 'f' },
		{ "log", required_argument, NULL, 'L' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "app-cert", required_argument, NULL, 'a' },
		{ "token-lifetime", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct emu e;
	const char *listen = NULL, *fixture = NULL, *logpath = NULL,
	           *cert = NULL, *key = NULL;
	char *appcerts[16], addr[64], *colon, *end, *eq;
	struct timeval purge = { PURGE_INTERVAL_S, 0 };
	int ch, nappcerts = 0, i, rc = 1;
	long port;

	memset(&e, 0, sizeof(e));
	e.cli_token_lifetime = -1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen = optarg;
			break;
		case 'f':
			fixture = optarg;
			break;
		case 'L':
			logpath = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'a':
			if (nappcerts == 16 || strchr(optarg, '=') == NULL)
				usage();
			appcerts[nappcerts++] = optarg;
			break;
		case 't':
			e.cli_token_lifetime = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || e.cli_token_lifetime <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (listen == NULL || fixture == NULL || optind != argc ||
	    (cert == NULL) != (key == NULL))
		usage();
	if ((colon = strrchr(listen, ':')) == NULL ||
	    (size_t)(colon - listen) >= sizeof(addr))
		usage();
	memcpy(addr, listen, (size_t)(colon - listen));
	addr[colon - listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (store_load(&e, fixture) < 0)
		goto out;
	for (i = 0; i < nappcerts; i++) {
		eq = strchr(appcerts[i], '=');
		*eq = '\0';
		if (store_add_app_cert(&e, appcerts[i], eq + 1) < 0)
			goto out;
	}
	if (logpath != NULL) {
		if ((e.logf = fopen(logpath, "a")) == NULL) {
			fprintf(stderr, "graph-emulator: %s: %s\n", logpath,
			    strerror(errno));
			goto out;
		}
		setvbuf(e.logf, NULL, _IOLBF, 0);
	}
	e.scheme = "http";
	if (cert != NULL) {
		if ((e.ssl = tls_server_ctx(cert, key)) == NULL)
			goto out;
		e.scheme = "https";
	}
	if ((e.base = event_base_new()) == NULL) {
		fprintf(stderr, "graph-emulator: event_base_new failed\n");
		goto out;
	}
	if (http_start(&e, addr, (int)port) < 0)
		goto out;
	if ((e.sigterm = evsignal_new(e.base, SIGTERM, on_signal, &e)) ==
	        NULL ||
	    (e.sigint = evsignal_new(e.base, SIGINT, on_signal, &e)) == NULL ||
	    (e.purge_ev = event_new(e.base, -1, EV_PERSIST, on_purge, &e)) ==
	        NULL ||
	    evsignal_add(e.sigterm, NULL) != 0 ||
	    evsignal_add(e.sigint, NULL) != 0 ||
	    event_add(e.purge_ev, &purge) != 0) {
		fprintf(stderr, "graph-emulator: cannot set up events\n");
		goto out;
	}
	printf("listening on %s://%s:%d\n", e.scheme, e.host, e.port);
	fflush(stdout);
	if (event_base_dispatch(e.base) < 0) {
		fprintf(stderr, "graph-emulator: event loop failed\n");
		goto out;
	}
	rc = 0;
out:
	if (e.base != NULL)
		subs_stop(&e);
	http_stop(&e);
	if (e.sigterm != NULL)
		event_free(e.sigterm);
	if (e.sigint != NULL)
		event_free(e.sigint);
	if (e.purge_ev != NULL)
		event_free(e.purge_ev);
	if (e.base != NULL)
		event_base_free(e.base);
	SSL_CTX_free(e.ssl);
	store_free(&e);
	if (e.logf != NULL)
		fclose(e.logf);
	return rc;
}
