/*
 * approvald --check opens what the daemon will open at start (issue 16),
 * so that a check that passes means the daemon starts: every secret file
 * the settings name (there, a regular file, no group or other bits, not
 * empty, long enough where a minimum applies), the client certificate and
 * key (they parse), the CA file (it holds a certificate), the state
 * database's folder (a file can be created in it) and the control
 * socket's. Each problem is one line `FILE: what is wrong`; no secret is
 * ever printed, and what was read is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "limits.h"
#include "listen.h"

struct preflight {
	FILE *out;  /* problems */
	FILE *warn; /* warnings; NULL: not shown (--quiet) */
	int problems;
};

static void
preflight_problem(
    struct preflight *p, const char *file, const char *what, const char *detail)
{
	fprintf(p->out, "%s: %s: %s\n", file, what, detail);
	p->problems++;
}

/* cfg_read_secret's message without its leading "PATH: ". */
static const char *
preflight_strip(const char *path, const char *err)
{
	size_t n = strlen(path);

	if (err == NULL)
		return "cannot be read";
	if (strncmp(err, path, n) == 0 && strncmp(err + n, ": ", 2) == 0)
		return err + n + 2;
	return err;
}

/* A secret file: read as the daemon reads it, at least `min` bytes
 * (0: any non-empty). 0 ok, -1 a problem was reported. */
static int
preflight_secret(
    struct preflight *p, const char *what, const char *path, size_t min)
{
	char *v = NULL, *err = NULL, buf[160];
	size_t n = 0;

	if (path == NULL)
		return 0;
	if (cfg_read_secret(path, &v, &n, &err) == -1) {
		preflight_problem(p, path, what, preflight_strip(path, err));
		free(err);
		return -1;
	}
	while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == '\r'))
		n--;
	explicit_bzero(v, strlen(v));
	free(v);
	if (n == 0) {
		preflight_problem(p, path, what, "the secret is empty");
		return -1;
	}
	if (n < min) {
		snprintf(buf, sizeof(buf),
		    "the secret is too short (%zu bytes); it needs at least "
		    "%zu random bytes (e.g. openssl rand -hex 32)",
		    n, min);
		preflight_problem(p, path, what, buf);
		return -1;
	}
	return 0;
}

/* A file that is not secret (certificate, CA bundle): there, a regular
 * file, readable. Returns it open for reading, or NULL (reported). */
static FILE *
preflight_open(struct preflight *p, const char *what, const char *path)
{
	struct stat st;
	FILE *f;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1) {
		preflight_problem(p, path, what, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		preflight_problem(p, path, what, "not a regular file");
		return NULL;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		preflight_problem(p, path, what, strerror(errno));
	}
	return f;
}

/* The client certificate and its key: both parse (token.c reads them the
 * same way for every client assertion). */
static void
preflight_cert_key(struct preflight *p, const struct settings *s)
{
	FILE *f;
	X509 *x;
	EVP_PKEY *k;

	if (s->client_cert_file != NULL &&
	    (f = preflight_open(p, "graph.client_certificate_file",
	         s->client_cert_file)) != NULL) {
		if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
			preflight_problem(p, s->client_cert_file,
			    "graph.client_certificate_file",
			    "no PEM certificate in it");
		X509_free(x);
		fclose(f);
	}
	if (s->client_key_file != NULL &&
	    preflight_secret(
	        p, "graph.client_key_file", s->client_key_file, 0) == 0 &&
	    (f = preflight_open(
	         p, "graph.client_key_file", s->client_key_file)) != NULL) {
		if ((k = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
			preflight_problem(p, s->client_key_file,
			    "graph.client_key_file",
			    "no unencrypted PEM private key in it");
		EVP_PKEY_free(k);
		fclose(f);
	}
}

static void
preflight_ca(struct preflight *p, const struct settings *s)
{
	FILE *f;
	X509 *x;

	if (s->ca_file == NULL ||
	    (f = preflight_open(p, "graph.ca_file", s->ca_file)) == NULL)
		return;
	if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		preflight_problem(
		    p, s->ca_file, "graph.ca_file", "no PEM certificate in it");
	X509_free(x);
	fclose(f);
}

/* The folder of `path` exists and a file can be created in it (as the
 * daemon creates the database, its WAL, or the socket): a temporary file
 * is made and removed. 0 ok, -1 a problem was reported. */
static int
preflight_folder(struct preflight *p, const char *what, const char *path)
{
	char *copy, *dir, *tmp = NULL;
	struct stat st;
	int fd, before = p->problems;

	if ((copy = strdup(path)) == NULL) {
		preflight_problem(p, path, what, "out of memory");
		return -1;
	}
	dir = dirname(copy);
	if (stat(dir, &st) == -1)
		preflight_problem(p, dir, what, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		preflight_problem(p, dir, what, "not a directory");
	else if (asprintf(&tmp, "%s/.approvald-check-XXXXXX", dir) == -1) {
		tmp = NULL;
		preflight_problem(p, dir, what, "out of memory");
	} else if ((fd = mkstemp(tmp)) == -1) {
		char buf[256];

		snprintf(buf, sizeof(buf), "cannot create a file in it: %s",
		    strerror(errno));
		preflight_problem(p, dir, what, buf);
	} else {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(copy);
	return p->problems > before ? -1 : 0;
}

/* The database itself, when there is one: a regular file the daemon can
 * read and write. */
static void
preflight_state(struct preflight *p, const struct settings *s)
{
	struct stat st;

	if (preflight_folder(p, "state", s->state_path) == -1)
		return;
	if (stat(s->state_path, &st) == -1) {
		if (errno != ENOENT)
			preflight_problem(
			    p, s->state_path, "state", strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode))
		preflight_problem(
		    p, s->state_path, "state", "not a regular file");
	else if (access(s->state_path, R_OK | W_OK) == -1)
		preflight_problem(p, s->state_path, "state", strerror(errno));
}

static void
preflight_socket(struct preflight *p, const struct settings *s)
{
	struct sockaddr_un sun;

	if (s->control_socket == NULL)
		return;
	if (strlen(s->control_socket) >= sizeof(sun.sun_path)) {
		preflight_problem(p, s->control_socket, "control_socket",
		    "path too long for a Unix socket");
		return;
	}
	preflight_folder(p, "control_socket", s->control_socket);
}

/* The refresh token is written by `approvalctl login`: the daemon starts
 * without it (approve and deny are not sent until then), but one that is
 * there must be readable as a secret. */
static void
preflight_approver_token(struct preflight *p, const struct settings *s)
{
	if (s->approver_token_file == NULL)
		return;
	if (access(s->approver_token_file, F_OK) == -1 && errno == ENOENT) {
		if (p->warn != NULL)
			fprintf(p->warn,
			    "%s: graph.approver_token_file: not there yet "
			    "(warning: approvald starts, but sends no "
			    "approve or deny until `approvalctl login`)\n",
			    s->approver_token_file);
		return;
	}
	preflight_secret(
	    p, "graph.approver_token_file", s->approver_token_file, 0);
}

int
preflight_check(const struct settings *s, FILE *out, FILE *warn)
{
	struct preflight p = { out, warn, 0 };
	char what[300];
	size_t i;

	preflight_secret(
	    &p, "graph.client_secret_file", s->client_secret_file, 0);
	preflight_cert_key(&p, s);
	preflight_approver_token(&p, s);
	preflight_ca(&p, s);
	preflight_secret(
	    &p, "http.hook_secret_file", s->hook_secret_file, HOOK_MIN_SECRET);
	preflight_secret(&p, "http.graph_client_state_file",
	    s->graph_client_state_file, HOOK_MIN_SECRET);
	preflight_secret(&p, "decision_links.secret_file",
	    s->decision_secret_file, LINK_MIN_SECRET);
	for (i = 0; i < s->ntargets; i++) {
		snprintf(what, sizeof(what), "notify %s: secret_file",
		    s->targets[i].name);
		preflight_secret(&p, what, s->targets[i].secret_file, 0);
	}
	preflight_state(&p, s);
	preflight_socket(&p, s);
	return p.problems;
}
