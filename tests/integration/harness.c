/* Integration harness; see harness.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cu.h"
#include "harness.h"

static char h_tmp[256];

const char *
h_tmpdir(void)
{
	if (h_tmp[0] == '\0') {
		snprintf(h_tmp, sizeof(h_tmp), "/tmp/approvald-it-XXXXXX");
		if (mkdtemp(h_tmp) == NULL)
			abort();
	}
	return h_tmp;
}

static long
h_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
h_spawn(
    struct proc *p, char *const argv[], const char *env_extra, const char *log)
{
	int out[2], fd;

	snprintf(p->log, sizeof(p->log), "%s", log);
	if (pipe(out) == -1)
		return -1;
	if ((p->pid = fork()) == -1)
		return -1;
	if (p->pid == 0) {
		dup2(out[1], 1);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1)
			dup2(fd, 2);
		close(out[0]);
		close(out[1]);
		if (env_extra != NULL && env_extra[0] != '\0')
			putenv((char *)env_extra);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	p->out_fd = out[0];
	return 0;
}

int
h_wait_line(struct proc *p, const char *prefix, char *outbuf, size_t len,
    int timeout_ms)
{
	char buf[1024];
	size_t n = 0;
	long deadline = h_ms() + timeout_ms;
	struct pollfd pfd = { p->out_fd, POLLIN, 0 };
	char c;

	while (h_ms() < deadline) {
		if (poll(&pfd, 1, (int)(deadline - h_ms())) <= 0)
			break;
		if (read(p->out_fd, &c, 1) <= 0)
			return -1;
		if (c != '\n') {
			if (n < sizeof(buf) - 1)
				buf[n++] = c;
			continue;
		}
		buf[n] = '\0';
		n = 0;
		if (strncmp(buf, prefix, strlen(prefix)) == 0) {
			snprintf(outbuf, len, "%s", buf);
			return 0;
		}
	}
	return -1;
}

int
h_wait_exit(struct proc *p, int timeout_ms)
{
	long deadline = h_ms() + timeout_ms;
	int status;
	pid_t r;

	if (p->pid <= 0)
		return -1;
	while (h_ms() < deadline) {
		r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid) {
			p->pid = 0;
			if (p->out_fd > 0)
				close(p->out_fd);
			p->out_fd = -1;
			return status;
		}
		poll(NULL, 0, 10);
	}
	return -1;
}

int
h_stop(struct proc *p, int sig, int timeout_ms)
{
	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	return h_wait_exit(p, timeout_ms);
}

struct h_buf {
	char *p;
	size_t n;
};

static size_t
h_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct h_buf *b = ud;
	size_t n = size * nmemb;
	char *q = realloc(b->p, b->n + n + 1);

	if (q == NULL)
		return 0;
	b->p = q;
	memcpy(b->p + b->n, ptr, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

long
h_http(const char *ca, const char *method, const char *url, const char *bearer,
    const char *body, char **resp)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct h_buf b = { NULL, 0 };
	char auth[4096];
	long status = 0;

	if (c == NULL)
		return 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (ca != NULL && ca[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, h_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (bearer != NULL) {
		snprintf(
		    auth, sizeof(auth), "Authorization: Bearer %s", bearer);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	else if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (resp != NULL)
		*resp = b.p;
	else
		free(b.p);
	return status;
}

int
emu_start(struct emu *e, const char *fixture, int tls)
{
	char line[256], log[600], *argv[12];
	const char *bin = cu_buildpath("emulator/graph-emulator");
	char binbuf[600], cert[600], key[600];
	int n = 0;

	memset(e, 0, sizeof(*e));
	snprintf(binbuf, sizeof(binbuf), "%s", bin);
	snprintf(e->fixture, sizeof(e->fixture), "%s", fixture);
	snprintf(log, sizeof(log), "%s/emulator.log", h_tmpdir());
	argv[n++] = binbuf;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--fixture";
	argv[n++] = e->fixture;
	if (tls) {
		snprintf(
		    cert, sizeof(cert), "%s", cu_buildpath("tls/server.pem"));
		snprintf(
		    key, sizeof(key), "%s", cu_buildpath("tls/server-key.pem"));
		snprintf(
		    e->ca, sizeof(e->ca), "%s", cu_buildpath("tls/ca.pem"));
		argv[n++] = "--tls-cert";
		argv[n++] = cert;
		argv[n++] = "--tls-key";
		argv[n++] = key;
		e->tls = 1;
	}
	argv[n] = NULL;
	if (h_spawn(&e->p, argv, NULL, log) == -1 ||
	    h_wait_line(&e->p, "listening on ", line, sizeof(line), 10000) ==
	        -1)
		return -1;
	snprintf(e->url, sizeof(e->url), "%s", line + strlen("listening on "));
	return 0;
}

void
emu_stop(struct emu *e)
{
	h_stop(&e->p, SIGTERM, 5000);
}

struct json_object *
emu_json(struct emu *e, const char *method, const char *path, const char *body,
    long *status)
{
	char url[1024], *resp = NULL;
	long st;
	struct json_object *o = NULL;

	snprintf(url, sizeof(url), "%s%s", e->url, path);
	st = h_http(e->ca, method, url, NULL, body, &resp);
	if (status != NULL)
		*status = st;
	if (resp != NULL)
		o = json_tokener_parse(resp);
	free(resp);
	return o;
}

char *
emu_create(struct emu *e, const char *requestor, const char *file)
{
	char *text = cu_slurp(file, NULL), *body = NULL, *id = NULL;
	struct json_object *o, *v;
	long st;

	if (text == NULL)
		return NULL;
	if (asprintf(&body, "{\"requestor\":\"%s\",\"body\":%s}", requestor,
	        text) == -1) {
		free(text);
		return NULL;
	}
	o = emu_json(e, "POST", "/_emulator/requests", body, &st);
	if (o != NULL && st == 201 && json_object_object_get_ex(o, "id", &v))
		id = strdup(json_object_get_string(v));
	json_object_put(o);
	free(text);
	free(body);
	return id;
}

char *
emu_create_tagged(struct emu *e, const char *tag, const char *requestor)
{
	char *text = cu_slurp(cu_srcpath("examples/requests/"
	                                 "permissions-request-azure-role.json"),
	         NULL),
	     *body = NULL, *key = NULL;
	struct json_object *req, *perm, *ident, *wrap, *o, *v;
	long st;

	if (text == NULL || (req = json_tokener_parse(text)) == NULL) {
		free(text);
		return NULL;
	}
	free(text);
	json_object_object_add(
	    req, "justification", json_object_new_string(tag));
	if (json_object_object_get_ex(req, "requestedPermissions", &perm) &&
	    json_object_object_get_ex(perm, "identityInfo", &ident))
		json_object_object_add(
		    ident, "externalId", json_object_new_string(requestor));
	wrap = json_object_new_object();
	json_object_object_add(
	    wrap, "requestor", json_object_new_string(requestor));
	json_object_object_add(wrap, "body", req);
	body = strdup(json_object_to_json_string(wrap));
	json_object_put(wrap);
	o = emu_json(e, "POST", "/_emulator/requests", body, &st);
	if (o != NULL && st == 201 && json_object_object_get_ex(o, "id", &v) &&
	    asprintf(&key, "permissions:%s", json_object_get_string(v)) == -1)
		key = NULL;
	json_object_put(o);
	free(body);
	return key;
}

int
emu_truth_counts(
    struct emu *e, const char *id, int *approve, int *deny, int *cancel)
{
	struct json_object *o, *reqs, *r, *v;

	*approve = *deny = *cancel = 0;
	if ((o = emu_json(e, "GET", "/_emulator/truth", NULL, NULL)) == NULL)
		return -1;
	if (json_object_object_get_ex(o, "requests", &reqs) &&
	    json_object_object_get_ex(reqs, id, &r)) {
		if (json_object_object_get_ex(r, "approve", &v))
			*approve = json_object_get_int(v);
		if (json_object_object_get_ex(r, "deny", &v))
			*deny = json_object_get_int(v);
		if (json_object_object_get_ex(r, "cancel", &v))
			*cancel = json_object_get_int(v);
	}
	json_object_put(o);
	return 0;
}

int
emu_count_calls(struct emu *e, const char *method, const char *prefix)
{
	struct json_object *o, *arr, *c, *m, *p;
	long st;
	size_t i;
	int n = 0;

	o = emu_json(e, "GET", "/_emulator/log", NULL, &st);
	if (o != NULL && json_object_object_get_ex(o, "calls", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			c = json_object_array_get_idx(arr, i);
			if (json_object_object_get_ex(c, "method", &m) &&
			    json_object_object_get_ex(c, "path", &p) &&
			    strcmp(json_object_get_string(m), method) == 0 &&
			    strncmp(json_object_get_string(p), prefix,
			        strlen(prefix)) == 0)
				n++;
		}
	json_object_put(o);
	return n;
}

int
emu_truth_total(struct emu *e)
{
	struct json_object *o, *d;
	int n = -1;

	if ((o = emu_json(e, "GET", "/_emulator/truth", NULL, NULL)) == NULL)
		return -1;
	if (json_object_object_get_ex(o, "decisions", &d))
		n = (int)json_object_array_length(d);
	json_object_put(o);
	return n;
}

int
emu_fault(struct emu *e, const char *json)
{
	long st;
	struct json_object *o =
	    emu_json(e, "POST", "/_emulator/faults", json, &st);

	json_object_put(o);
	return st >= 200 && st < 300 ? 0 : -1;
}

int
h_write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	size_t n = strlen(text);

	if (fd == -1)
		return -1;
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	fchmod(fd, mode);
	return close(fd);
}

/* The demo tenant's app secret and the approver's refresh token. */
static int
h_fixture_secrets(const char *fixture, char **secret, char **refresh,
    char **client_id, char **tenant, char **public_id)
{
	struct json_object *f = json_object_from_file(fixture), *arr, *x, *v;
	size_t i;

	*secret = *refresh = *client_id = *tenant = *public_id = NULL;
	if (f == NULL)
		return -1;
	if (json_object_object_get_ex(f, "tenantId", &v))
		*tenant = strdup(json_object_get_string(v));
	if (json_object_object_get_ex(f, "apps", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			x = json_object_array_get_idx(arr, i);
			/* the approver's public client (approvalctl) */
			if (*public_id == NULL &&
			    json_object_object_get_ex(x, "publicClient", &v) &&
			    json_object_get_boolean(v) &&
			    json_object_object_get_ex(x, "clientId", &v))
				*public_id = strdup(json_object_get_string(v));
			if (*secret == NULL && *client_id == NULL &&
			    json_object_object_get_ex(x, "clientSecret", &v)) {
				*secret = strdup(json_object_get_string(v));
				json_object_object_get_ex(x, "clientId", &v);
				*client_id = strdup(json_object_get_string(v));
			}
		}
	if (json_object_object_get_ex(f, "refreshTokens", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			x = json_object_array_get_idx(arr, i);
			if (json_object_object_get_ex(x, "user", &v) &&
			    strcmp(json_object_get_string(v),
			        "approvald@contoso.com") == 0 &&
			    json_object_object_get_ex(x, "token", &v)) {
				*refresh = strdup(json_object_get_string(v));
				break;
			}
		}
	json_object_put(f);
	return *secret && *refresh && *client_id && *tenant && *public_id ? 0
	                                                                  : -1;
}

int
ad_prepare(
    struct ad *a, struct emu *e, const char *policy, const char *extra_yaml)
{
	static int seq;
	char *secret, *refresh, *client, *tenant, *pub, path[700], *yaml = NULL;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	snprintf(a->dir, sizeof(a->dir), "%s/ad%d", h_tmpdir(), ++seq);
	mkdir(a->dir, 0700);
	snprintf(a->conf, sizeof(a->conf), "%s/approvald.yaml", a->dir);
	snprintf(a->sock, sizeof(a->sock), "%s/ctl.sock", a->dir);
	snprintf(a->state, sizeof(a->state), "%s/state.db", a->dir);
	snprintf(a->policy, sizeof(a->policy), "%s", policy);
	if (h_fixture_secrets(
	        e->fixture, &secret, &refresh, &client, &tenant, &pub) == -1)
		goto out;
	snprintf(path, sizeof(path), "%s/client-secret", a->dir);
	if (h_write_file(path, secret, 0600) == -1)
		goto out;
	snprintf(path, sizeof(path), "%s/approver-token", a->dir);
	if (h_write_file(path, refresh, 0600) == -1)
		goto out;
	if (asprintf(&yaml,
	        "graph:\n"
	        "  url: %s\n"
	        "  login_url: %s\n"
	        "  tenant: %s\n"
	        "  client_id: %s\n"
	        "  client_secret_file: client-secret\n"
	        "  approver_token_file: approver-token\n"
	        "  approver_client_id: %s\n"
	        "%s%s%s"
	        "  timeout: PT5S\n"
	        "sources:\n"
	        "  permissions: { enabled: true, poll_interval: PT1S }\n"
	        "  overlap: PT1M\n"
	        "policy: %s\n"
	        "state: state.db\n"
	        "control_socket: ctl.sock\n"
	        "log: { level: debug, format: text }\n"
	        "%s%s",
	        e->url, e->url, tenant, client, pub,
	        e->tls ? "  ca_file: " : "", e->tls ? e->ca : "",
	        e->tls ? "\n" : "", policy, extra_yaml ? extra_yaml : "",
	        extra_yaml != NULL && strstr(extra_yaml, "operators:") != NULL
	            ? ""
	            : H_OPERATORS_ROOT) == -1) {
		yaml = NULL;
		goto out;
	}
	rc = h_write_file(a->conf, yaml, 0600);
out:
	free(secret);
	free(refresh);
	free(client);
	free(tenant);
	free(pub);
	free(yaml);
	return rc;
}

int
ad_start(struct ad *a)
{
	char bin[600], log[700], *argv[4];

	/* The test build (crash points, test clock) unless a test asks for
	 * the product. */
	snprintf(bin, sizeof(bin), "%s",
	    cu_buildpath(
	        a->product ? "daemon/approvald" : "daemon/approvald-test"));
	snprintf(log, sizeof(log), "%s/approvald.log", a->dir);
	argv[0] = bin;
	argv[1] = "--config";
	argv[2] = a->conf;
	argv[3] = NULL;
	return h_spawn(&a->p, argv, a->extra_env, log);
}

int
ad_stop(struct ad *a, int sig)
{
	return h_stop(&a->p, sig, 20000);
}

struct json_object *
ad_ctl(struct ad *a, const char *cmd)
{
	struct sockaddr_un sun;
	int fd;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	ssize_t r;
	struct json_object *o = NULL;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(a->sock) >= sizeof(sun.sun_path))
		return NULL;
	memcpy(sun.sun_path, a->sock, strlen(a->sock) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    write(fd, cmd, strlen(cmd)) == -1 || write(fd, "\n", 1) == -1) {
		close(fd);
		return NULL;
	}
	for (;;) {
		if (n + 4096 > cap) {
			char *q = realloc(buf, cap + 8192);

			if (q == NULL)
				break;
			buf = q;
			cap += 8192;
		}
		if ((r = read(fd, buf + n, cap - n - 1)) <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf != NULL) {
		buf[n] = '\0';
		o = json_tokener_parse(buf);
	}
	free(buf);
	return o;
}

static int
ad_is_ready(void *arg)
{
	struct json_object *o = ad_ctl(arg, "status"), *v;
	int ready = 0;

	if (o != NULL && json_object_object_get_ex(o, "ready", &v))
		ready = json_object_get_boolean(v);
	json_object_put(o);
	return ready;
}

int
ad_wait_ready(struct ad *a, int timeout_ms)
{
	return h_until(ad_is_ready, a, timeout_ms);
}

char *
ad_state(struct ad *a, const char *key)
{
	char cmd[600];
	struct json_object *o, *v;
	char *s = NULL;

	snprintf(cmd, sizeof(cmd), "show %s", key);
	if ((o = ad_ctl(a, cmd)) == NULL)
		return NULL;
	if (json_object_object_get_ex(o, "state", &v))
		s = strdup(json_object_get_string(v));
	json_object_put(o);
	return s;
}

char *
ad_result(struct ad *a, const char *cmd)
{
	struct json_object *o, *v;
	char *res = NULL;

	if ((o = ad_ctl(a, cmd)) != NULL &&
	    json_object_object_get_ex(o, "result", &v))
		res = strdup(json_object_get_string(v));
	json_object_put(o);
	return res != NULL ? res : strdup("(no answer)");
}

int
ad_napprovers(struct ad *a, const char *key, int stage)
{
	char cmd[600];
	struct json_object *o, *v;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "approvers %s %d", key, stage);
	if ((o = ad_ctl(a, cmd)) != NULL &&
	    json_object_object_get_ex(o, "approvers", &v))
		n = (int)json_object_array_length(v);
	json_object_put(o);
	return n;
}

int
ad_restart(struct ad *a)
{
	int status = ad_stop(a, SIGKILL);

	if (status == -1 || !WIFSIGNALED(status))
		return -1;
	if (ad_start(a) == -1)
		return -1;
	return ad_wait_ready(a, 20000);
}

int
ad_write_secret(struct ad *a, const char *name, const char *text)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/%s", a->dir, name);
	return h_write_file(path, text, 0600);
}

struct state_want {
	struct ad *a;
	const char *key, *state;
};

static int
state_is(void *arg)
{
	struct state_want *w = arg;
	char *s = ad_state(w->a, w->key);
	int ok = s != NULL && (strcmp(s, w->state) == 0 ||
	                          (strcmp(w->state, "approved") == 0 &&
	                              strcmp(s, "completed") == 0));

	free(s);
	return ok;
}

int
ad_wait_state(struct ad *a, const char *key, const char *state, int timeout_ms)
{
	struct state_want w = { a, key, state };

	return h_until(state_is, &w, timeout_ms);
}

int
h_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd != -1 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == 0)
		port = ntohs(sin.sin_port);
	if (fd != -1)
		close(fd);
	return port;
}

int
h_until(int (*pred)(void *), void *arg, int timeout_ms)
{
	long deadline = h_ms() + timeout_ms;

	do {
		if (pred(arg))
			return 0;
		poll(NULL, 0, 20);
	} while (h_ms() < deadline);
	return pred(arg) ? 0 : -1;
}

int
ad_ctl_decide(struct ad *a, const char *key, const char *verb, const char *who,
    const char *reason)
{
	char bin[600], log[700], *argv[12];
	struct proc p;
	int st;

	snprintf(bin, sizeof(bin), "%s", cu_buildpath("ctl/approvalctl"));
	snprintf(log, sizeof(log), "%s/approvalctl.log", a->dir);
	argv[0] = bin;
	argv[1] = "decide";
	argv[2] = (char *)key;
	argv[3] = (char *)verb;
	argv[4] = "--as";
	argv[5] = (char *)who;
	argv[6] = "--reason";
	argv[7] = (char *)reason;
	argv[8] = "--socket";
	argv[9] = a->sock;
	argv[10] = NULL;
	memset(&p, 0, sizeof(p));
	if (h_spawn(&p, argv, NULL, log) == -1)
		return -1;
	st = h_wait_exit(&p, 20000);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
