/*
 * approvald: automates approval of just-in-time privileged access requests
 * in Microsoft Entra. One libevent loop owns everything.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/evp.h>
#include <systemd/sd-daemon.h>

#include "ident.h"
#include "limits.h"
#include "links.h"
#include "listen.h"
#include "log.h"
#include "member.h"
#include "version.h"

/*
 * Keep tokens and secrets out of core dumps (issue 14): the process is not
 * dumpable (no core, no ptrace or /proc/PID/mem by same-uid processes) and
 * its core size limit is 0. Test builds too: the tests check what ships,
 * and the sanitizers report to the log, not through a core. 0, or -1 when
 * the process stays dumpable; the limit is belt and braces (a seccomp
 * filter may refuse setrlimit; the unit sets LimitCORE=0 itself).
 */
static int
no_core_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -1;
	(void)setrlimit(RLIMIT_CORE, &rl);
	return 0;
}

#define USAGE                                                                  \
	"usage: approvald --config FILE [--check [-q | --quiet]]\n"            \
	"       approvald --version | --help\n"

static void
usage(void)
{
	fprintf(stderr, USAGE);
	exit(2);
}

/* Every diagnostic; with `quiet` the errors only. */
static void
print_diags(const struct cfg_diags *dg, int quiet)
{
	char buf[2048];
	size_t i;

	for (i = 0; i < dg->n; i++) {
		if (quiet && dg->v[i].severity != CFG_ERROR)
			continue;
		cfg_diag_format(&dg->v[i], buf, sizeof(buf));
		fprintf(stderr, "%s\n", buf);
	}
}

/* The warnings of a configuration that loaded, through the log once it is
 * set up (its format and the journal's priority apply to them too). */
static char **start_warnings;
static size_t nstart_warnings;

static void
keep_warnings(const struct cfg_diags *dg)
{
	char buf[2048], **v;
	size_t i;

	for (i = 0; i < dg->n; i++) {
		if (dg->v[i].severity == CFG_ERROR)
			continue;
		cfg_diag_format(&dg->v[i], buf, sizeof(buf));
		if ((v = reallocarray(start_warnings, nstart_warnings + 1,
		         sizeof(*v))) == NULL) {
			fprintf(stderr, "%s\n", buf);
			continue;
		}
		start_warnings = v;
		if ((v[nstart_warnings] = strdup(buf)) == NULL)
			fprintf(stderr, "%s\n", buf);
		else
			nstart_warnings++;
	}
}

static void
log_start_warnings(void)
{
	size_t i;

	for (i = 0; i < nstart_warnings; i++) {
		log_warnx("%s", start_warnings[i]);
		free(start_warnings[i]);
	}
	free(start_warnings);
	start_warnings = NULL;
	nstart_warnings = 0;
}

/* Load settings and policy; 0 ok, -1 with every error printed. Warnings
 * are printed too unless `quiet`; with `quiet` 2 (the daemon starting)
 * they are kept for log_start_warnings instead. */
static int
load_config(
    const char *path, struct settings **sp, struct policy **pp, int quiet)
{
	struct cfg_diags dg;
	int rc = -1;

	memset(&dg, 0, sizeof(dg));
	*sp = NULL;
	*pp = NULL;
	if (settings_load_file(path, sp, &dg) == -1)
		goto out;
	if ((*sp)->policy_path == NULL) {
		fprintf(stderr, "%s: no policy file configured\n", path);
		goto out;
	}
	if (policy_load_file((*sp)->policy_path, pp, &dg) == -1)
		goto out;
	rc = 0;
out:
	print_diags(&dg, quiet);
	if (rc == 0 && quiet == 2)
		keep_warnings(&dg);
	cfg_diags_free(&dg);
	if (rc == -1) {
		settings_free(*sp);
		*sp = NULL;
	}
	return rc;
}

/* SHA-256 of the policy file in force (approvalctl status shows it, so an
 * operator sees which file the daemon decides by); "" when unreadable. */
static void
policy_digest(struct daemon *d)
{
	unsigned char buf[8192], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx;
	FILE *f;
	size_t n;
	int ok = 1;

	d->policy_sha256[0] = '\0';
	if ((f = fopen(d->settings->policy_path, "re")) == NULL)
		return;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		ok = 0;
	while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		ok = EVP_DigestUpdate(ctx, buf, n) == 1;
	if (ok && !ferror(f) && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1)
		for (i = 0; i < mdlen && i < 32; i++)
			snprintf(d->policy_sha256 + 2 * i, 3, "%02x", md[i]);
	EVP_MD_CTX_free(ctx);
	fclose(f);
}

/* SIGHUP / `approvalctl reload`: swap the policy only when it loads.
 * On a refusal, *why (when not NULL) gets the diagnostics, one per line
 * (heap; the caller frees). */
int
daemon_reload(struct daemon *d, char **why)
{
	struct settings *s;
	struct policy *p;
	struct cfg_diags dg;
	char buf[2048], *err = NULL;
	size_t i, wlen = 0;
	FILE *w = NULL;

	if (why != NULL) {
		*why = NULL;
		w = open_memstream(why, &wlen);
	}
	sd_notify(0, "RELOADING=1");
	memset(&dg, 0, sizeof(dg));
	if (settings_load_file(d->config_path, &s, &dg) == -1 ||
	    policy_load_file(s->policy_path, &p, &dg) == -1) {
		for (i = 0; i < dg.n; i++) {
			cfg_diag_format(&dg.v[i], buf, sizeof(buf));
			log_warnx("reload: %s", buf);
			if (w != NULL)
				fprintf(w, "%s\n", buf);
		}
		if (w != NULL)
			fclose(w);
		log_warnx("reload refused: keeping the current settings and "
		          "policy");
		cfg_diags_free(&dg);
		if (s != NULL && s != d->settings)
			settings_free(s);
		sd_notify(0, "READY=1");
		metrics_reload_observe(d, 0);
		return -1;
	}
	cfg_diags_free(&dg);
	if (w != NULL) {
		fclose(w);
		free(*why);
		*why = NULL;
	}
	policy_free(d->policy);
	d->policy = p;
	d->policy_loaded = time(NULL);
	/* Live settings: log level and poll intervals; the rest at restart. */
	log_setlevel(s->log_level);
	for (i = 0; i < REQ_SRC_MAX; i++)
		if (d->poll[i].ad != NULL && s->poll_interval[i] > 0)
			d->poll[i].interval = s->poll_interval[i];
	settings_free(d->settings);
	d->settings = s;
	policy_digest(d);
	/* Webhook secrets are re-read (a bad file keeps the old one); the
	 * subscriptions follow the new policy, URL and clientState. */
	hooks_reload(d);
	if (retention_init(d) == -1)
		log_warnx("reload: retention: out of memory");
	/* A new `approvalctl login` takes effect now (the token file is
	 * re-read; a bad one keeps the current token). */
	if (d->tokens != NULL && token_reload(d->tokens, &err) == -1) {
		log_warnx("reload: approver token: %s (keeping the current "
		          "one)",
		    err);
		free(err);
	} else if (d->tokens != NULL)
		exec_token_ready(d);
	if (d->ready)
		subs_sync(d);
	log_info("reload: policy %s (%zu rules) in force", s->policy_path,
	    policy_nrules(p));
	/* What the old policy decided and the new one would not. */
	reload_requests(d, 1);
	sd_notify(0, "READY=1");
	metrics_reload_observe(d, 1);
	return 0;
}

/*
 * Permissions Management was retired by Microsoft on 2025-10-01 (entra-docs:
 * docs/permissions-management/how-to-offboard-permissions-management.md).
 * The source stays for the emulator and the demo; enabled against the real
 * Graph host it is said once, at start.
 */
static void
warn_retired_source(const struct settings *s, const char *origin)
{
	static const char real[] = "graph.microsoft.com";
	const char *host = strstr(origin, "://");
	size_t n;

	if (!s->source_enabled[REQ_SRC_PERMISSIONS] || host == NULL)
		return;
	host += 3;
	n = strcspn(host, ":/");
	if (n == sizeof(real) - 1 && strncasecmp(host, real, n) == 0)
		log_warnx("sources.permissions: Microsoft retired Entra "
		          "Permissions Management on 2025-10-01; %s will not "
		          "answer its requests (disable the source)",
		    real);
}

static void
on_hup(evutil_socket_t fd, short what, void *arg)
{
	daemon_reload(arg, NULL);
}

static void
on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	log_warnx("shutdown: %zu actions still in flight after %ds; their "
	          "intents are reconciled at the next start",
	    exec_inflight(d), DRAIN_TIMEOUT);
	event_base_loopexit(d->base, NULL);
}

static void
on_term(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { DRAIN_TIMEOUT, 0 };

	if (d->stopping)
		return;
	d->stopping = 1;
	sd_notify(0, "STOPPING=1");
	log_info("shutdown: finishing %zu in-flight actions", exec_inflight(d));
	batch_commit(d);
	if (exec_inflight(d) == 0) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	d->drain_ev = evtimer_new(d->base, on_drain_timeout, d);
	if (d->drain_ev != NULL)
		evtimer_add(d->drain_ev, &tv);
}

static void
on_commit(evutil_socket_t fd, short what, void *arg)
{
	batch_commit(arg);
}

static void
on_reconcile(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (d->reconciled && !d->stopping) {
		exec_reconcile(d);
		approvers_prune(d);
		links_prune(d);
		notify_prune(d);
	}
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

static void on_first_token(void *arg, const char *bearer, const char *err);

static void
retry_first_token(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (!d->stopping)
		token_get(d->tokens, TOKEN_APP, on_first_token, d);
}

static void
on_first_token(void *arg, const char *bearer, const char *err)
{
	struct daemon *d = arg;
	struct timeval tv = { 5, 0 };

	if (bearer == NULL) {
		/* Not ready until the identity platform answers. */
		log_warnx("startup: no app token yet (%s); retrying in 5s",
		    err ? err : "unknown");
		event_base_once(
		    d->base, -1, EV_TIMEOUT, retry_first_token, d, &tv);
		return;
	}
	d->ready = 1;
	sd_notify(0, "READY=1\nSTATUS=deciding");
	log_info("ready");
	subs_sync(d);
}

/*
 * approvald --check: the configuration loads (every error printed) and
 * preflight_check finds everything the daemon opens at start. Without
 * `quiet`, warnings, the normalized settings and policy and a last "is
 * valid" line; with it, nothing unless something is wrong (for
 * ExecStartPre, which would put ~200 lines in the journal at every
 * start). 0 when the daemon would start, 1 when not.
 */
static int
check_config(struct daemon *d, const char *config, int quiet)
{
	char go[512], *dump;
	int n;

	n = preflight_check(d->settings, stderr, quiet ? NULL : stderr);
	if (!quiet && graph_origin(d->settings->graph_url, go, sizeof(go)) == 0)
		warn_retired_source(d->settings, go);
	if (n > 0)
		fprintf(stderr,
		    "approvald: %s: %d problem%s; the daemon would not start\n",
		    config, n, n == 1 ? "" : "s");
	else if (!quiet) {
		if ((dump = settings_dump(d->settings)) != NULL)
			printf("%s", dump);
		free(dump);
		if ((dump = policy_dump(d->policy)) != NULL)
			printf("%s", dump);
		free(dump);
		printf("approvald: configuration %s is valid\n", config);
	}
	policy_free(d->policy);
	settings_free(d->settings);
	return n > 0 ? 1 : 0;
}

/* Who has routes on the listener, besides its own /healthz and /readyz. */
static const httpd_routes_fn routes[] = {
	metrics_register, /* GET /metrics */
	hooks_register,   /* POST /v1/hooks/evaluate, /v1/hooks/graph */
	links_register,   /* GET, POST /v1/decide/TOKEN */
	NULL,
};

int
main(int argc, char *argv[])
{
	struct daemon d;
	const char *config = NULL;
	int check = 0, quiet = 0, i;
	char *err = NULL, *secret = NULL, *token_url = NULL;
	char go[512], lo[512];
	const char *origins[2];
	struct graph_opts gopts;
	struct token_opts topts;
	struct event_config *ecfg;
	struct timeval tv;
	uint64_t wd_usec;

	/* Before any secret is read, --check included. */
	if (no_core_dumps() == -1) {
		fprintf(stderr, "approvald: cannot turn core dumps off: %s\n",
		    strerror(errno));
		return 1;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("approvald " APPROVALD_VERSION "\n");
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			printf(USAGE "See approvald(8).\n");
			return 0;
		}
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--check") == 0)
			check = 1;
		else if (strcmp(argv[i], "-q") == 0 ||
		         strcmp(argv[i], "--quiet") == 0)
			quiet = 1;
		else
			usage();
	}
	if (config == NULL || (quiet && !check))
		usage();
	memset(&d, 0, sizeof(d));
	d.graph_reach.retry_after = -1;
	engine_init(&d);
	d.graph_audit = audit_graph_call;
	d.config_path = (char *)config;
	if (load_config(config, &d.settings, &d.policy, check ? quiet : 2) ==
	    -1) {
		fprintf(stderr, "approvald: configuration has errors\n");
		return 1;
	}
	if (check)
		return check_config(&d, config, quiet);
	log_init(
	    d.settings->log_level, d.settings->log_format == LOG_FORMAT_JSON);
	log_start_warnings();
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl: global init failed");
	if ((ecfg = event_config_new()) == NULL ||
	    (d.base = event_base_new_with_config(ecfg)) == NULL)
		fatalx("libevent: cannot create the event base");
	event_config_free(ecfg);
	event_base_priority_init(d.base, 2);

	/* Store first: nothing runs without durable state. */
	if (store_open(d.settings->state_path, &d.store, &err) == -1)
		fatalx("store: %s", err);
	if (graph_origin(d.settings->graph_url, go, sizeof(go)) == -1 ||
	    graph_origin(d.settings->login_url, lo, sizeof(lo)) == -1)
		fatalx("graph: bad base URL");
	warn_retired_source(d.settings, go);
	if (asprintf(&d.graph_base, "%s", d.settings->graph_url) == -1)
		fatalx("out of memory");
	if (d.graph_base[strlen(d.graph_base) - 1] == '/')
		d.graph_base[strlen(d.graph_base) - 1] = '\0';
	origins[0] = go;
	origins[1] = lo;
	memset(&gopts, 0, sizeof(gopts));
	gopts.ca_file = d.settings->ca_file;
	gopts.timeout = (long)d.settings->graph_timeout;
	gopts.max_inflight = d.settings->max_inflight;
	gopts.allow_http =
	    strncmp(go, "http://", 7) == 0 || strncmp(lo, "http://", 7) == 0;
	gopts.origins = origins;
	gopts.norigins = 2;
	if ((d.graph = graph_new(d.base, &gopts, &err)) == NULL)
		fatalx("%s", err);
	if (d.settings->client_secret_file != NULL &&
	    cfg_read_secret(
	        d.settings->client_secret_file, &secret, NULL, &err) == -1)
		fatalx("client secret: %s", err);
	if (asprintf(&token_url, "%s%s%s/oauth2/v2.0/token",
	        d.settings->login_url,
	        d.settings->login_url[strlen(d.settings->login_url) - 1] == '/'
	            ? ""
	            : "/",
	        d.settings->tenant) == -1)
		fatalx("out of memory");
	memset(&topts, 0, sizeof(topts));
	topts.token_url = token_url;
	topts.client_id = d.settings->client_id;
	topts.client_secret = secret;
	topts.cert_file = d.settings->client_cert_file;
	topts.key_file = d.settings->client_key_file;
	topts.refresh_token_file = d.settings->approver_token_file;
	topts.approver_client_id = d.settings->approver_client_id;
	topts.assertion_alg =
	    d.settings->assertion_alg != NULL &&
	            strcmp(d.settings->assertion_alg, "RS256") == 0
	        ? TOKEN_ALG_RS256
	        : TOKEN_ALG_PS256;
	if ((d.tokens = token_new(d.base, d.graph, &topts, &err)) == NULL)
		fatalx("tokens: %s", err);
	if (secret != NULL) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	if (!token_has_delegated(d.tokens))
		log_warnx("no delegated approver account: approve/deny cannot "
		          "be sent (run approvalctl login)");

	if (ident_init(&d) == -1 || approvers_init(&d) == -1 ||
	    exec_init(&d) == -1)
		fatalx("out of memory");
	d.batch.ev = event_new(d.base, -1, 0, on_commit, &d);
	event_priority_set(d.batch.ev, 1); /* after the turn's other work */
	d.reconcile_ev = event_new(d.base, -1, EV_PERSIST, on_reconcile, &d);
	tv.tv_sec = RECONCILE_INTERVAL;
	tv.tv_usec = 0;
	event_add(d.reconcile_ev, &tv);
	d.sig_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	d.sig_term = evsignal_new(d.base, SIGTERM, on_term, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, on_term, &d);
	event_add(d.sig_hup, NULL);
	event_add(d.sig_term, NULL);
	event_add(d.sig_int, NULL);
	if (sd_watchdog_enabled(0, &wd_usec) > 0) {
		d.watchdog_ev =
		    event_new(d.base, -1, EV_PERSIST, on_watchdog, &d);
		tv.tv_sec = (time_t)(wd_usec / 2000000);
		tv.tv_usec = (suseconds_t)((wd_usec / 2) % 1000000);
		event_add(d.watchdog_ev, &tv);
	}
	if (d.settings->listen != NULL &&
	    httpd_open(&d, d.settings->listen, routes, &err) == -1)
		fatalx("%s", err);
	if (d.settings->control_socket != NULL &&
	    ctlsock_open(&d, d.settings->control_socket, &err) == -1)
		fatalx("control socket: %s", err);
	if (links_init(&d) == -1)
		fatalx("decision links: out of memory");
	if (notify_init(&d, &err) == -1)
		fatalx("%s", err);
	if (health_init(&d) == -1)
		fatalx("store health: out of memory");
	if (retention_init(&d) == -1)
		fatalx("retention: out of memory");

	d.started = d.policy_loaded = time(NULL);
	policy_digest(&d);
	log_info("approvald " APPROVALD_VERSION
	         " starting: policy %s (%zu rules), state %s",
	    d.settings->policy_path, policy_nrules(d.policy),
	    d.settings->state_path);
	/* Settle what a previous life left open before any new work. */
	if (timers_load(&d) == -1)
		fatalx("store: cannot load timers: %s", store_errmsg(d.store));
	exec_reconcile(&d);
	reload_requests(&d, 0); /* the policy may have changed meanwhile */
	approvers_resume(&d);
	decide_graph_resume(&d);
	batch_commit(&d);
	if (d.nops == 0) {
		d.reconciled = 1;
		poll_init(&d);
	}
	token_get(d.tokens, TOKEN_APP, on_first_token, &d);

	event_base_dispatch(d.base);

	log_info("approvald stopping");
	daemon_graph_drain(&d);
	batch_commit(&d);
	exec_free(&d);
	health_free(&d);
	retention_free(&d);
	timers_free(&d);
	approvers_free(&d);
	engine_free(&d);
	ident_free(&d);
	member_free(&d);
	decide_free(&d);
	notify_free(&d);
	links_free(&d);
	subs_free(&d);
	poll_free(&d);
	httpd_close(&d);
	ctlsock_close(&d);
	token_free(d.tokens);
	graph_free(d.graph);
	daemon_graph_free(&d);
	store_close(d.store);
	policy_free(d.policy);
	settings_free(d.settings);
	free(d.post);
	free(d.graph_base);
	counters_free(&d);
	free(token_url);
	if (d.batch.ev)
		event_free(d.batch.ev);
	if (d.reconcile_ev)
		event_free(d.reconcile_ev);
	if (d.watchdog_ev)
		event_free(d.watchdog_ev);
	if (d.drain_ev)
		event_free(d.drain_ev);
	event_free(d.sig_hup);
	event_free(d.sig_term);
	event_free(d.sig_int);
	event_base_free(d.base);
	curl_global_cleanup();
	return 0;
}
