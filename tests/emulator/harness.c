/* Test harness: spawn graph-emulator, read its port, drive it with curl. */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"

static pid_t h_pid = -1;
static char h_url[128];
const char *h_ca_file;

int
h_start(const char *const *extra)
{
	const char *argv[32];
	int p[2], n = 0, i;
	size_t ul;
	char line[256];
	FILE *f;

	argv[n++] = EMU_BIN;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--fixture";
	argv[n++] = EMU_SRC "/examples/demo-tenant.json";
	for (i = 0; extra != NULL && extra[i] != NULL && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	if (pipe(p) != 0)
		return -1;
	if ((h_pid = fork()) < 0)
		return -1;
	if (h_pid == 0) {
		/* die with the test process, even if it crashes */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(EMU_BIN, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	if ((f = fdopen(p[0], "r")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (strncmp(line, "listening on ", 13) != 0)
		return -1;
	ul = strnlen(line + 13, sizeof(h_url) - 1);
	memcpy(h_url, line + 13, ul);
	h_url[ul] = '\0';
	return 0;
}

int
h_stop(void)
{
	int st;

	if (h_pid <= 0)
		return -1;
	kill(h_pid, SIGTERM);
	if (waitpid(h_pid, &st, 0) != h_pid)
		return -1;
	h_pid = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

const char *
h_base(void)
{
	return h_url;
}

static size_t
on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct resp *r = arg;
	char *nb = realloc(r->body, r->len + sz * n + 1);

	if (nb == NULL)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, sz * n);
	r->len += sz * n;
	r->body[r->len] = '\0';
	return sz * n;
}

static void
hdr_copy(char *dst, size_t len, const char *v)
{
	size_t n;

	while (*v == ' ')
		v++;
	n = strnlen(v, len - 1);
	memcpy(dst, v, n);
	dst[n] = '\0';
	dst[strcspn(dst, "\r\n")] = '\0';
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = sz * n;
	char buf[256];

	if (len >= sizeof(buf))
		return len;
	memcpy(buf, p, len);
	buf[len] = '\0';
	if (strncasecmp(buf, "Retry-After:", 12) == 0)
		hdr_copy(r->retry_after, sizeof(r->retry_after), buf + 12);
	else if (strncasecmp(buf, "request-id:", 11) == 0)
		hdr_copy(r->request_id, sizeof(r->request_id), buf + 11);
	else if (strncasecmp(buf, "client-request-id:", 18) == 0)
		hdr_copy(r->client_request_id, sizeof(r->client_request_id),
		    buf + 18);
	return len;
}

struct resp *
h_call_hdr(const char *method, const char *path, const char *token,
    const char *body, const char *ctype, const char *hdr)
{
	struct resp *r = calloc(1, sizeof(*r));
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[2048], buf[512];

	if (r == NULL || c == NULL)
		abort();
	if (strncmp(path, "http", 4) == 0)
		snprintf(url, sizeof(url), "%s", path);
	else
		snprintf(url, sizeof(url), "%s%s", h_url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (h_ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, h_ca_file);
	if (token != NULL) {
		snprintf(buf, sizeof(buf), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, buf);
	}
	if (body != NULL) {
		snprintf(buf, sizeof(buf), "Content-Type: %s",
		    ctype ? ctype : "application/json");
		h = curl_slist_append(h, buf);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (hdr != NULL)
		h = curl_slist_append(h, hdr);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	r->curl_rc = (int)curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body != NULL)
		r->json = json_tokener_parse(r->body);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r;
}

struct resp *
h_call(const char *method, const char *path, const char *token,
    const char *body, const char *ctype)
{
	return h_call_hdr(method, path, token, body, ctype, NULL);
}

void
h_free(struct resp *r)
{
	if (r == NULL)
		return;
	if (r->json != NULL)
		json_object_put(r->json);
	free(r->body);
	free(r);
}

void
h_reset(void)
{
	h_free(h_call("POST", "/_emulator/reset", NULL, NULL, NULL));
}

char *
h_token(const char *who)
{
	char body[256];
	struct resp *r;
	char *t = NULL;

	if (strncmp(who, "app:", 4) == 0)
		snprintf(body, sizeof(body), "{\"app\":\"%s\"}", who + 4);
	else
		snprintf(body, sizeof(body), "{\"user\":\"%s\"}", who);
	r = h_call("POST", "/_emulator/token", NULL, body, NULL);
	if (r->status == 200 && h_str(r->json, "access_token") != NULL)
		t = strdup(h_str(r->json, "access_token"));
	h_free(r);
	return t;
}

const char *
h_str(json_object *o, const char *path)
{
	char buf[256], *seg, *save = NULL, *end;
	long idx;

	if (o == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = strtok_r(buf, "/", &save); seg != NULL && o != NULL;
	     seg = strtok_r(NULL, "/", &save)) {
		idx = strtol(seg, &end, 10);
		if (*end == '\0' && json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)idx);
		else if (!json_object_object_get_ex(o, seg, &o))
			return NULL;
	}
	return o != NULL ? json_object_get_string(o) : NULL;
}

char *
h_fixture(const char *name)
{
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(
	    path, sizeof(path), "%s/tests/emulator/fixtures/%s", EMU_SRC, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

char *
h_create_epm(const char *fixture, const char *token)
{
	char *body = h_fixture(fixture), *id = NULL;
	struct resp *r;

	if (body == NULL)
		return NULL;
	r = h_call(
	    "POST", EPM "scheduledPermissionsRequests", token, body, NULL);
	if (r->status == 201 && h_str(r->json, "id") != NULL)
		id = strdup(h_str(r->json, "id"));
	h_free(r);
	free(body);
	return id;
}
