/*
 * approvalctl login: device-code sign-in of the delegated approver account
 * (the one approvald approves and denies as). Reads approvald.yaml for the
 * login URL, tenant, client id, CA file and approver_token_file; prints the
 * sign-in instructions; polls the token endpoint at the interval the server
 * asks for; writes the refresh token atomically with mode 0600. Tokens are
 * never printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "config.h"
#include "ctl.h"

#define LOGIN_MAX_BODY (256 * 1024)
/* Exit codes of a refused sign-in (README: approvalctl login). */
#define LOGIN_EXIT_DECLINED 3 /* authorization_declined */
#define LOGIN_EXIT_EXPIRED  4 /* expired_token: the code timed out */
#define LOGIN_EXIT_BADCODE  5 /* bad_verification_code */
#define LOGIN_SLOW_DOWN_S   5 /* slow_down: poll this much slower */

struct login_buf {
	char *p;
	size_t n;
};

static size_t
login_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct login_buf *b = ud;
	size_t n = size * nmemb;
	char *q;

	if (b->n + n + 1 > LOGIN_MAX_BODY ||
	    (q = realloc(b->p, b->n + n + 1)) == NULL)
		return 0;
	b->p = q;
	memcpy(b->p + b->n, ptr, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

static void
login_wipe(struct login_buf *b)
{
	if (b->p != NULL) {
		explicit_bzero(b->p, b->n);
		free(b->p);
	}
	b->p = NULL;
	b->n = 0;
}

/* POST a form; returns the HTTP status (0 on transport error). */
static long
login_post(const struct settings *s, const char *url, const char *form,
    struct login_buf *out)
{
	CURL *c = curl_easy_init();
	long status = 0;
	char errbuf[CURL_ERROR_SIZE] = "";

	if (c == NULL)
		return 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, login_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (s->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		fprintf(stderr, "approvalctl: %s: %s\n", url, errbuf);
	curl_easy_cleanup(c);
	return status;
}

static const char *
login_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v)
	                                           : NULL;
}

/* Free a parsed answer after wiping its strings (json-c's copies of the
 * device code and tokens). */
static void
login_json_put(struct json_object *o)
{
	if (o == NULL)
		return;
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v)
		{
			(void)k;
			if (json_object_is_type(v, json_type_string))
				explicit_bzero(
				    (char *)json_object_get_string(v),
				    (size_t)json_object_get_string_len(v));
		}
	}
	json_object_put(o);
}

/* Print the token endpoint's error and error_description (one line; the
 * description never holds a token). */
static void
login_print_error(const char *what, long status, struct json_object *o)
{
	const char *e = o ? login_str(o, "error") : NULL,
	           *d = o ? login_str(o, "error_description") : NULL;
	size_t n = d ? strcspn(d, "\r\n") : 0;

	fprintf(stderr, "approvalctl: %s (HTTP %ld, %s)%s%.*s\n", what, status,
	    e ? e : "no error code", d ? ": " : "", (int)n, d ? d : "");
}

/*
 * One answer of the device code poll
 * (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code
 * #expected-errors): -1 keep polling (authorization_pending, slow_down adds
 * LOGIN_SLOW_DOWN_S to *interval), else the exit code.
 */
static int
login_poll_error(long status, struct json_object *o, long *interval)
{
	const char *v = o ? login_str(o, "error") : NULL;

	if (v != NULL && strcmp(v, "authorization_pending") == 0)
		return -1;
	if (v != NULL && strcmp(v, "slow_down") == 0) {
		*interval += LOGIN_SLOW_DOWN_S;
		return -1;
	}
	if (v != NULL && strcmp(v, "authorization_declined") == 0) {
		login_print_error("the sign-in was declined", status, o);
		return LOGIN_EXIT_DECLINED;
	}
	if (v != NULL && strcmp(v, "expired_token") == 0) {
		login_print_error("the device code expired before the sign-in "
		                  "completed; run approvalctl login again",
		    status, o);
		return LOGIN_EXIT_EXPIRED;
	}
	if (v != NULL && strcmp(v, "bad_verification_code") == 0) {
		login_print_error(
		    "the token endpoint did not recognise the device code",
		    status, o);
		return LOGIN_EXIT_BADCODE;
	}
	login_print_error("sign-in failed", status, o);
	return CTL_EXIT_FAIL;
}

/* Write the refresh token: temp file 0600, fsync, rename. */
static int
login_store(const char *path, const char *token)
{
	char tmp[4096];
	int fd;
	size_t n = strlen(token);

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (fchmod(fd, 0600) == -1 || write(fd, token, n) != (ssize_t)n ||
	    fsync(fd) == -1) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
ctl_login(int argc, char **argv)
{
	struct settings *s = NULL;
	struct cfg_diags dg;
	struct login_buf b = { NULL, 0 };
	struct json_object *o = NULL;
	char url[2048], *form = NULL, *dc = NULL, *e1 = NULL, *e2 = NULL;
	const char *v, *config = NULL, *client;
	long status, interval = 5, expires = 900;
	time_t deadline;
	int rc = CTL_EXIT_FAIL, i;
	char buf[1024];

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else
			return CTL_EXIT_USAGE;
	if (config == NULL)
		config = "/etc/approvald/approvald.yaml";
	memset(&dg, 0, sizeof(dg));
	if (settings_load_file(config, &s, &dg) == -1) {
		for (i = 0; i < (int)dg.n; i++) {
			cfg_diag_format(&dg.v[i], buf, sizeof(buf));
			fprintf(stderr, "%s\n", buf);
		}
		cfg_diags_free(&dg);
		return CTL_EXIT_FAIL;
	}
	cfg_diags_free(&dg);
	if (s->approver_token_file == NULL) {
		fprintf(stderr,
		    "approvalctl: %s sets no graph.approver_token_file\n",
		    config);
		goto out;
	}
	/* The approver signs in to the public client approvald redeems the
	 * refresh token as (graph.approver_client_id; no credential). */
	client = s->approver_client_id ? s->approver_client_id : s->client_id;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(url, sizeof(url), "%s%s%s/oauth2/v2.0/devicecode",
	    s->login_url,
	    s->login_url[strlen(s->login_url) - 1] == '/' ? "" : "/",
	    s->tenant);
	e1 = curl_easy_escape(NULL, client, 0);
	if (e1 == NULL ||
	    asprintf(&form,
	        "client_id=%s&scope=https%%3A%%2F%%2F"
	        "graph.microsoft.com%%2F.default%%20offline_access",
	        e1) == -1) {
		form = NULL;
		goto out;
	}
	if ((status = login_post(s, url, form, &b)) != 200 || b.p == NULL ||
	    (o = json_tokener_parse(b.p)) == NULL ||
	    (v = login_str(o, "device_code")) == NULL) {
		login_print_error("device code request failed", status, o);
		goto out;
	}
	dc = strdup(v);
	if (login_str(o, "interval") != NULL)
		interval = strtol(login_str(o, "interval"), NULL, 10);
	if (login_str(o, "expires_in") != NULL)
		expires = strtol(login_str(o, "expires_in"), NULL, 10);
	if (interval < 1)
		interval = 1;
	printf("%s\n", login_str(o, "message")
	                   ? login_str(o, "message")
	                   : "Sign in with the code shown.");
	printf("user_code: %s\n",
	    login_str(o, "user_code") ? login_str(o, "user_code") : "?");
	fflush(stdout);
	login_json_put(o);
	o = NULL;
	login_wipe(&b);
	free(form);
	form = NULL;
	snprintf(url, sizeof(url), "%s%s%s/oauth2/v2.0/token", s->login_url,
	    s->login_url[strlen(s->login_url) - 1] == '/' ? "" : "/",
	    s->tenant);
	if (dc == NULL || (e2 = curl_easy_escape(NULL, dc, 0)) == NULL ||
	    asprintf(&form,
	        "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3A"
	        "grant-type%%3Adevice_code&client_id=%s&device_code=%s",
	        e1, e2) == -1) {
		form = NULL;
		goto out;
	}
	deadline = time(NULL) + expires;
	while (time(NULL) < deadline) {
		poll(NULL, 0, (int)(interval * 1000));
		status = login_post(s, url, form, &b);
		o = b.p ? json_tokener_parse(b.p) : NULL;
		login_wipe(&b);
		if (status == 200 && o != NULL &&
		    (v = login_str(o, "refresh_token")) != NULL) {
			if (login_store(s->approver_token_file, v) == -1) {
				fprintf(stderr, "approvalctl: %s: %s\n",
				    s->approver_token_file, strerror(errno));
				goto out;
			}
			printf("signed in; refresh token stored in %s (mode "
			       "0600)\n",
			    s->approver_token_file);
			rc = CTL_EXIT_OK;
			goto out;
		}
		if ((i = login_poll_error(status, o, &interval)) != -1) {
			rc = i;
			goto out;
		}
		login_json_put(o);
		o = NULL;
	}
	fprintf(stderr, "approvalctl: the device code expired before the "
	                "sign-in completed; run approvalctl login again\n");
	rc = LOGIN_EXIT_EXPIRED;
out:
	login_json_put(o);
	login_wipe(&b);
	if (form != NULL) {
		explicit_bzero(form, strlen(form));
		free(form);
	}
	if (dc != NULL) {
		explicit_bzero(dc, strlen(dc));
		free(dc);
	}
	curl_free(e1);
	curl_free(e2);
	settings_free(s);
	return rc;
}
