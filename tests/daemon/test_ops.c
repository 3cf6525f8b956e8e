/*
 * Issue 16, what an operator runs on: `approvald --check` finds every
 * file the daemon would fail on at start (preflight), the logs carry the
 * journald priority in both formats and go to the journal natively only
 * when stderr really is its stream (log), and the requests by source and
 * state are counted by the store as they change, not by a scan at every
 * scrape, and stay right across a restart (counts).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "cu.h"
#include "listen.h"
#include "log.h"
#include "store.h"
#include "store_sql.h"

static char tmp[256];

static int
tmp_setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/approvald-ops-XXXXXX");
	return mkdtemp(tmp) == NULL ? -1 : 0;
}

/* Write `text` to tmp/name with `mode`. */
static void
put(const char *name, const char *text, mode_t mode)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

/* ---- preflight --------------------------------------------------------- */

#define GOOD "0123456789abcdef0123456789abcdef\n"

/* Settings naming every file the daemon opens at start, under tmp. */
static struct settings *
settings_with(const char *extra)
{
	struct settings *s = NULL;
	struct cfg_diags dg;
	char yaml[4096], path[512];

	snprintf(yaml, sizeof(yaml),
	    "graph:\n"
	    "  url: http://127.0.0.1:9\n"
	    "  login_url: http://127.0.0.1:9\n"
	    "  tenant: contoso.onmicrosoft.com\n"
	    "  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n"
	    "  client_secret_file: client-secret\n"
	    "  approver_token_file: approver-token\n"
	    "  approver_client_id: e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e\n"
	    "  ca_file: ca.pem\n"
	    "policy: policy.yaml\n"
	    "http:\n"
	    "  listen: 127.0.0.1:0\n"
	    "  hook_secret_file: hook-secret\n"
	    "  graph_client_state_file: client-state\n"
	    "decision_links:\n"
	    "  base_url: http://127.0.0.1:8750\n"
	    "  secret_file: decision-secret\n"
	    "notify:\n"
	    "  - { name: secops, url: http://127.0.0.1:8752/h, format: json,\n"
	    "      secret_file: notify-secret }\n"
	    "%s",
	    extra);
	snprintf(path, sizeof(path), "%s/approvald.yaml", tmp);
	put("approvald.yaml", yaml, 0644);
	memset(&dg, 0, sizeof(dg));
	if (settings_load_file(path, &s, &dg) == -1) {
		size_t i;
		char buf[1024];

		for (i = 0; i < dg.n; i++) {
			cfg_diag_format(&dg.v[i], buf, sizeof(buf));
			fprintf(stderr, "%s\n", buf);
		}
	}
	cfg_diags_free(&dg);
	return s;
}

/* A self-signed certificate and its key in tmp/name.crt, tmp/name.key
 * (0600). */
static void
make_cert(const char *name)
{
	char path[512];
	EVP_PKEY *k;
	X509 *x;
	FILE *f;

	CU_ASSERT_FATAL((k = EVP_EC_gen("P-256")) != NULL);
	CU_ASSERT_FATAL((x = X509_new()) != NULL);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"approvald test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	CU_ASSERT_FATAL(X509_sign(x, k, EVP_sha256()) > 0);
	snprintf(path, sizeof(path), "%s/%s.crt", tmp, name);
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	PEM_write_X509(f, x);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.key", tmp, name);
	unlink(path);
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fchmod(fileno(f), 0600);
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* Every file in order, nothing missing. */
static void
good_files(void)
{
	char path[512];

	put("client-secret", "app-secret\n", 0600);
	put("approver-token", "refresh\n", 0600);
	put("hook-secret", GOOD, 0600);
	put("client-state", GOOD, 0600);
	put("decision-secret", GOOD, 0600);
	put("notify-secret", "n\n", 0400);
	/* the CA: any PEM certificate */
	make_cert("ca");
	snprintf(path, sizeof(path), "%s/ca.pem", tmp);
	unlink(path);
	CU_ASSERT_FATAL(link(strcat(strcpy(path, tmp), "/ca.crt"),
	                    strcat(strcpy(path + 256, tmp), "/ca.pem")) == 0);
}

static char *
run_check(struct settings *s, int *n, char **warn)
{
	char *out = NULL, *w = NULL;
	size_t len = 0, wlen = 0;
	FILE *f = open_memstream(&out, &len), *fw = open_memstream(&w, &wlen);

	CU_ASSERT_FATAL(f != NULL && fw != NULL);
	*n = preflight_check(s, f, fw);
	fclose(f);
	fclose(fw);
	if (warn != NULL)
		*warn = w;
	else
		free(w);
	return out;
}

/* Lines in `s`. */
static int
nlines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Every file there and right: no problem, no output. */
static void
test_preflight_passes(void)
{
	struct settings *s;
	char *out, *warn, extra[700];
	int n;

	good_files();
	snprintf(extra, sizeof(extra),
	    "state: %s/state.db\ncontrol_socket: %s/control.sock\n", tmp, tmp);
	CU_ASSERT_FATAL((s = settings_with(extra)) != NULL);
	out = run_check(s, &n, &warn);
	if (n != 0)
		fprintf(stderr, "%s", out);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_STRING_EQUAL(warn, "");
	free(out);
	free(warn);
	/* no temporary file is left behind in the state folder */
	CU_ASSERT(access(tmp, W_OK) == 0);
	settings_free(s);
}

/* Everything wrong at once: every problem reported, one line each, naming
 * the file; no secret printed. */
static void
test_preflight_every_problem(void)
{
	struct settings *s;
	char *out, extra[700], want[700];
	int n;

	good_files();
	put("client-secret", "the-app-secret\n", 0640); /* group bits */
	put("hook-secret", "\n", 0600);                 /* empty */
	put("client-state", "short-secret-value\n", 0600);
	put("decision-secret", GOOD, 0604); /* other bits */
	put("ca.pem", "not a certificate\n", 0644);
	snprintf(want, sizeof(want), "%s/notify-secret", tmp);
	unlink(want);
	/* the state's folder is a file; the socket's folder is missing */
	snprintf(extra, sizeof(extra),
	    "state: %s/client-secret/state.db\n"
	    "control_socket: %s/nowhere/control.sock\n",
	    tmp, tmp);
	CU_ASSERT_FATAL((s = settings_with(extra)) != NULL);
	out = run_check(s, &n, NULL);
	if (n != 8)
		fprintf(stderr, "%s", out);
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT_EQUAL(nlines(out), 8);
	snprintf(want, sizeof(want),
	    "%s/client-secret: graph.client_secret_file: mode 0640", tmp);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	snprintf(want, sizeof(want),
	    "%s/hook-secret: http.hook_secret_file: the secret is empty\n",
	    tmp);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	snprintf(want, sizeof(want),
	    "%s/client-state: http.graph_client_state_file: the secret is "
	    "too short (18 bytes)",
	    tmp);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	snprintf(want, sizeof(want),
	    "%s/decision-secret: decision_links.secret_file: mode 0604", tmp);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	snprintf(want, sizeof(want),
	    "%s/notify-secret: notify secops: secret_file: No such file", tmp);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	snprintf(want, sizeof(want),
	    "%s/ca.pem: graph.ca_file: no PEM certificate in it\n", tmp);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	snprintf(want, sizeof(want),
	    "%s/client-secret: state: not a directory\n", tmp);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	snprintf(want, sizeof(want),
	    "%s/nowhere: control_socket: No such file or directory\n", tmp);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NULL(strstr(out, "the-app-secret"));
	CU_ASSERT_PTR_NULL(strstr(out, "short-secret-value"));
	free(out);
	settings_free(s);
}

/* `approvalctl login` writes the refresh token later: absent is a warning
 * (the daemon starts), present but unreadable as a secret a problem. */
static void
test_preflight_approver_token(void)
{
	struct settings *s;
	char *out, *warn, extra[700], path[512];
	int n;

	good_files();
	snprintf(extra, sizeof(extra),
	    "state: %s/state.db\ncontrol_socket: %s/control.sock\n", tmp, tmp);
	snprintf(path, sizeof(path), "%s/approver-token", tmp);
	unlink(path);
	CU_ASSERT_FATAL((s = settings_with(extra)) != NULL);
	out = run_check(s, &n, &warn);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(warn, "approvalctl login"));
	free(out);
	free(warn);
	put("approver-token", "refresh\n", 0644);
	out = run_check(s, &n, NULL);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "graph.approver_token_file: mode"));
	free(out);
	settings_free(s);
}

/* A client certificate and key that parse pass; ones that do not, or a
 * key readable by others, are refused. */
static void
test_preflight_cert_key(void)
{
	struct settings *s;
	char *out, extra[900];
	int n;

	good_files();
	make_cert("client");
	snprintf(extra, sizeof(extra),
	    "state: %s/state.db\ncontrol_socket: %s/control.sock\n", tmp, tmp);
	CU_ASSERT_FATAL((s = settings_with(extra)) != NULL);
	CU_ASSERT_FATAL(
	    asprintf(&s->client_cert_file, "%s/client.crt", tmp) > 0);
	CU_ASSERT_FATAL(
	    asprintf(&s->client_key_file, "%s/client.key", tmp) > 0);
	out = run_check(s, &n, NULL);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
	CU_ASSERT(chmod(s->client_key_file, 0640) == 0);
	out = run_check(s, &n, NULL);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "graph.client_key_file: mode 0640"));
	free(out);
	settings_free(s);

	put("cert.pem", "-----BEGIN CERTIFICATE-----\nxx\n", 0644);
	put("key.pem", "-----BEGIN PRIVATE KEY-----\nxx\n", 0600);
	snprintf(extra, sizeof(extra),
	    "state: %s/state.db\ncontrol_socket: %s/control.sock\n", tmp, tmp);
	CU_ASSERT_FATAL((s = settings_with(extra)) != NULL);
	free(s->client_cert_file);
	free(s->client_key_file);
	CU_ASSERT_FATAL(asprintf(&s->client_cert_file, "%s/cert.pem", tmp) > 0);
	CU_ASSERT_FATAL(asprintf(&s->client_key_file, "%s/key.pem", tmp) > 0);
	out = run_check(s, &n, NULL);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    out, "graph.client_certificate_file: no PEM certificate in it"));
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    out, "graph.client_key_file: no unencrypted PEM private key"));
	free(out);
	settings_free(s);
}

/* ---- log --------------------------------------------------------------- */

static char journal_seen[4096];
static int journal_calls, journal_rc;

static int
journal_sink(const struct iovec *iov, int n)
{
	int i;

	journal_calls++;
	for (i = 0; i < n; i++) {
		strncat(journal_seen, iov[i].iov_base,
		    sizeof(journal_seen) - strlen(journal_seen) - 2);
		strcat(journal_seen, "\n");
	}
	return journal_rc;
}

static int saved_stderr = -1;
static char errpath[512];

/* stderr into a fresh file, then log_init. */
static void
capture(int json, const char *journal_stream)
{
	int fd;

	snprintf(errpath, sizeof(errpath), "%s/stderr", tmp);
	fflush(stderr);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd != -1);
	if (saved_stderr == -1)
		saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	if (journal_stream != NULL)
		setenv("JOURNAL_STREAM", journal_stream, 1);
	else
		unsetenv("JOURNAL_STREAM");
	log_set_journal_sink(journal_sink);
	log_init(LOG_L_DEBUG, json);
}

/* stderr back; what was written to it (heap). */
static char *
captured(void)
{
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	unsetenv("JOURNAL_STREAM");
	log_set_journal_sink(NULL);
	return cu_slurp(errpath, NULL);
}

/* JSON lines carry the journald priority next to the level; a decision is
 * one line with request, verdict, who and how. */
static void
test_log_json_priority(void)
{
	struct json_object *o, *v;
	char *out, *line, *save = NULL;
	int n = 0;

	capture(1, NULL);
	log_warnx("a warning with \"quotes\"");
	log_info("some information");
	log_decision("permissions:r1", "approve", "alex@contoso.com",
	    "decision link", "rule-a", "approving");
	out = captured();
	CU_ASSERT_FATAL(out != NULL);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save), n++) {
		o = json_tokener_parse(line);
		CU_ASSERT_FATAL(o != NULL);
		CU_ASSERT(json_object_object_get_ex(o, "PRIORITY", &v) &&
		          json_object_is_type(v, json_type_int));
		CU_ASSERT_EQUAL(json_object_get_int(v), n == 0 ? 4 : 6);
		CU_ASSERT(json_object_object_get_ex(o, "level", &v));
		CU_ASSERT_STRING_EQUAL(
		    json_object_get_string(v), n == 0 ? "warn" : "info");
		if (n == 0) {
			CU_ASSERT(json_object_object_get_ex(o, "msg", &v));
			CU_ASSERT_STRING_EQUAL(json_object_get_string(v),
			    "a warning with \"quotes\"");
		}
		if (n == 2) {
			CU_ASSERT(json_object_object_get_ex(o, "msg", &v));
			CU_ASSERT_STRING_EQUAL(
			    json_object_get_string(v), "decision");
			CU_ASSERT(json_object_object_get_ex(o, "request", &v));
			CU_ASSERT_STRING_EQUAL(
			    json_object_get_string(v), "permissions:r1");
			CU_ASSERT(json_object_object_get_ex(o, "verdict", &v));
			CU_ASSERT_STRING_EQUAL(
			    json_object_get_string(v), "approve");
			CU_ASSERT(json_object_object_get_ex(o, "who", &v));
			CU_ASSERT_STRING_EQUAL(
			    json_object_get_string(v), "alex@contoso.com");
			CU_ASSERT(json_object_object_get_ex(o, "how", &v));
			CU_ASSERT_STRING_EQUAL(
			    json_object_get_string(v), "decision link");
		}
		json_object_put(o);
	}
	CU_ASSERT_EQUAL(n, 3);
	free(out);
}

/* JOURNAL_STREAM that does not name stderr (another stream, garbage): the
 * lines stay on stderr. */
static void
test_log_journal_stream_mismatch(void)
{
	static const char *const fake[] = { "1:2", "0:0", "abc", "12:", "" };
	struct stat st;
	char *out, v[64];
	size_t i;

	for (i = 0; i < sizeof(fake) / sizeof(fake[0]); i++) {
		/* JSON with PRIORITY, text with the <N> prefix */
		journal_calls = 0;
		capture(i % 2, fake[i]);
		CU_ASSERT_EQUAL(log_journal_active(), 0);
		log_warnx("to stderr");
		out = captured();
		CU_ASSERT_EQUAL(journal_calls, 0);
		CU_ASSERT_FATAL(out != NULL);
		if (i % 2) {
			CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"PRIORITY\":4,"));
		} else {
			CU_ASSERT(strncmp(out, "<4>", 3) == 0 &&
			          strstr(out, " warn: to stderr\n") != NULL);
		}
		free(out);
	}
	/* the right device, another inode */
	CU_ASSERT_FATAL(stat(tmp, &st) == 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	capture(0, v);
	CU_ASSERT_EQUAL(log_journal_active(), 0);
	free(captured());
}

/* JOURNAL_STREAM naming stderr: native journal entries with PRIORITY and
 * the structured fields, nothing on stderr; when the journal refuses an
 * entry, the line goes to stderr after all. */
static void
test_log_journal_native(void)
{
	struct stat st;
	char *out, v[64];

	capture(1, NULL);
	CU_ASSERT_FATAL(fstat(STDERR_FILENO, &st) == 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	/* sd_journal_sendv drops entries silently when journald's socket is
	 * not there: then stay on stderr */
	if (access("/run/systemd/journal/socket", F_OK) == -1) {
		log_set_journal_sink(NULL);
		log_init(LOG_L_INFO, 1);
		CU_ASSERT_EQUAL(log_journal_active(), 0);
	}
	log_set_journal_sink(journal_sink);
	log_init(LOG_L_INFO, 1);
	CU_ASSERT_EQUAL(log_journal_active(), 1);
	journal_seen[0] = '\0';
	journal_calls = 0;
	journal_rc = 0;
	log_warnx("native");
	log_decision(
	    "group:g1", "deny", "approvald", "timeout", "rule-b", "rejecting");
	journal_rc = -1;
	log_info("refused by the journal");
	out = captured();
	CU_ASSERT_EQUAL(journal_calls, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(journal_seen, "PRIORITY=4\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(journal_seen, "PRIORITY=6\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(journal_seen, "SYSLOG_IDENTIFIER=approvald\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(journal_seen, "\"msg\":\"native\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(journal_seen, "LOG_TYPE=decision\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(journal_seen, "REQUEST=group:g1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(journal_seen, "VERDICT=deny\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(journal_seen, "HOW=timeout\n"));
	/* only the refused entry reached stderr */
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_PTR_NULL(strstr(out, "native"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "refused by the journal"));
	CU_ASSERT_EQUAL(nlines(out), 1);
	free(out);
}

/* ---- counts ------------------------------------------------------------ */

/* "source:state=n;" for every non-zero count, as the store keeps them. */
static int
kept_one(void *arg, int src, const char *state, int64_t n)
{
	char *b = arg;

	if (n != 0)
		snprintf(b + strlen(b), 2048 - strlen(b), "%d:%s=%lld;", src,
		    state, (long long)n);
	return 0;
}

/* The same, counted from the requests themselves. */
static void
counted(struct store *s, char *b)
{
	sqlite3_stmt *st = NULL;

	b[0] = '\0';
	CU_ASSERT_FATAL(sqlite3_prepare_v2(store_db(s),
	                    "SELECT source, state, count(*) FROM requests"
	                    " GROUP BY source, state ORDER BY source, state",
	                    -1, &st, NULL) == SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		snprintf(b + strlen(b), 2048 - strlen(b), "%d:%s=%lld;",
		    sqlite3_column_int(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (long long)sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
}

static void
assert_counts(struct store *s, const char *want)
{
	char kept[2048], real[2048];

	kept[0] = '\0';
	CU_ASSERT_FATAL(store_request_counts(s, kept_one, kept) == 0);
	counted(s, real);
	if (strcmp(kept, want) != 0 || strcmp(real, want) != 0)
		fprintf(
		    stderr, "kept %s, counted %s, want %s\n", kept, real, want);
	CU_ASSERT_STRING_EQUAL(kept, want);
	CU_ASSERT_STRING_EQUAL(real, want);
}

static void
put_req(struct store *s, const char *key, int src, enum sm_state state)
{
	struct store_request r;

	memset(&r, 0, sizeof(r));
	r.key = (char *)key;
	r.gid = (char *)key;
	r.source = src;
	r.sm.state = state;
	CU_ASSERT(store_request_put(s, &r) == 0);
}

/* Inserts, state changes, a re-put without change, a delete, a restart,
 * and a database from before the counts (migration 7): the kept counts
 * equal a count of the requests every time. */
static void
test_counts_follow(void)
{
	struct store *s;
	char db[512], *err = NULL;

	snprintf(db, sizeof(db), "%s/counts.db", tmp);
	unlink(db);
	CU_ASSERT_FATAL(store_open(db, &s, &err) == 0);
	assert_counts(s, "");
	CU_ASSERT(store_begin(s) == 0);
	put_req(s, "permissions:a", 0, SM_S_NEW);
	put_req(s, "permissions:b", 0, SM_S_NEW);
	put_req(s, "group:c", 1, SM_S_PENDING);
	CU_ASSERT(store_commit(s) == 0);
	assert_counts(s, "0:new=2;1:pending=1;");
	CU_ASSERT(store_begin(s) == 0);
	put_req(s, "permissions:a", 0, SM_S_APPROVING);
	put_req(s, "permissions:a", 0, SM_S_APPROVED);
	put_req(s, "permissions:b", 0, SM_S_NEW); /* unchanged */
	put_req(s, "group:c", 1, SM_S_REJECTED);
	CU_ASSERT(store_commit(s) == 0);
	assert_counts(s, "0:approved=1;0:new=1;1:rejected=1;");
	/* a rolled-back batch leaves the counts as they were */
	CU_ASSERT(store_begin(s) == 0);
	put_req(s, "permissions:b", 0, SM_S_IGNORED);
	put_req(s, "permissions:z", 0, SM_S_NEW);
	store_rollback(s);
	assert_counts(s, "0:approved=1;0:new=1;1:rejected=1;");
	CU_ASSERT(sqlite3_exec(store_db(s),
	              "DELETE FROM requests WHERE key = 'group:c'", NULL, NULL,
	              NULL) == SQLITE_OK);
	assert_counts(s, "0:approved=1;0:new=1;");
	store_close(s);

	/* restart */
	CU_ASSERT_FATAL(store_open(db, &s, &err) == 0);
	assert_counts(s, "0:approved=1;0:new=1;");
	CU_ASSERT(store_begin(s) == 0);
	put_req(s, "permissions:b", 0, SM_S_EVALUATING);
	put_req(s, "group:d", 1, SM_S_NEW);
	CU_ASSERT(store_commit(s) == 0);
	assert_counts(s, "0:approved=1;0:evaluating=1;1:new=1;");
	/* back to a database of schema 7, with requests: counted on open
	 * (migrations 11, the stored stages, 10, the waiting index, and 9,
	 * retention, undone first) */
	CU_ASSERT(sqlite3_exec(store_db(s),
	              "ALTER TABLE requests DROP COLUMN stages;"
	              "DROP INDEX requests_waiting;"
	              "DROP TABLE prune_anchor;"
	              "DROP INDEX intents_key;"
	              "DROP INDEX requests_state;"
	              "CREATE INDEX requests_state ON requests (state);"
	              "DROP TRIGGER journal_append_only_d;"
	              "CREATE TRIGGER journal_append_only_d BEFORE DELETE"
	              " ON journal BEGIN SELECT RAISE(ABORT,"
	              " 'journal is append-only'); END;"
	              "DROP TRIGGER audit_append_only_d;"
	              "CREATE TRIGGER audit_append_only_d BEFORE DELETE"
	              " ON audit BEGIN SELECT RAISE(ABORT,"
	              " 'audit is append-only'); END;"
	              "DROP TRIGGER request_counts_i;"
	              "DROP TRIGGER request_counts_u;"
	              "DROP TRIGGER request_counts_d;"
	              "DROP TABLE request_counts;"
	              "PRAGMA user_version = 7;",
	              NULL, NULL, NULL) == SQLITE_OK);
	store_close(s);
	CU_ASSERT_FATAL(store_open(db, &s, &err) == 0);
	assert_counts(s, "0:approved=1;0:evaluating=1;1:new=1;");
	store_close(s);
}

/* VM steps of every statement of the store's connection since the last
 * call (SQLITE_STMTSTATUS_VM_STEP, reset as read). */
static long
vm_steps(struct store *s)
{
	sqlite3_stmt *st = NULL;
	long n = 0;

	while ((st = sqlite3_next_stmt(store_db(s), st)) != NULL)
		n += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
	return n;
}

/* Reading the counts costs the same with 5,000 requests stored as with 5:
 * it reads the kept counts, not the requests. */
static void
test_counts_no_scan(void)
{
	struct store *s;
	char db[512], key[64], kept[2048], *err = NULL;
	long few, many;
	int i;

	snprintf(db, sizeof(db), "%s/scan.db", tmp);
	unlink(db);
	CU_ASSERT_FATAL(store_open(db, &s, &err) == 0);
	CU_ASSERT(store_begin(s) == 0);
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "permissions:%d", i);
		put_req(s, key, 0, (enum sm_state)(i % 3));
	}
	CU_ASSERT(store_commit(s) == 0);
	kept[0] = '\0';
	vm_steps(s);
	CU_ASSERT(store_request_counts(s, kept_one, kept) == 0);
	few = vm_steps(s);
	CU_ASSERT(store_begin(s) == 0);
	for (i = 5; i < 5000; i++) {
		snprintf(key, sizeof(key), "permissions:%d", i);
		put_req(s, key, 0, (enum sm_state)(i % 3));
	}
	CU_ASSERT(store_commit(s) == 0);
	kept[0] = '\0';
	vm_steps(s);
	CU_ASSERT(store_request_counts(s, kept_one, kept) == 0);
	many = vm_steps(s);
	CU_ASSERT_STRING_EQUAL(kept, "0:evaluating=1667;0:new=1667;"
	                             "0:pending=1666;");
	if (many > few)
		fprintf(stderr,
		    "VM steps: %ld with 5 requests, %ld with 5000\n", few,
		    many);
	CU_ASSERT(few > 0);
	CU_ASSERT_EQUAL(many, few);
	store_close(s);
}

static const struct cu_test preflight_tests[] = {
	{ "every file in order: no problem, no output", test_preflight_passes },
	{ "every problem at once, one line each, no secret",
	    test_preflight_every_problem },
	{ "approver token: absent warns, bad mode refused",
	    test_preflight_approver_token },
	{ "client certificate and key must parse", test_preflight_cert_key },
	{ NULL, NULL },
};

static const struct cu_test log_tests[] = {
	{ "JSON lines carry PRIORITY; a decision is one line",
	    test_log_json_priority },
	{ "JOURNAL_STREAM not naming stderr: stderr",
	    test_log_journal_stream_mismatch },
	{ "JOURNAL_STREAM naming stderr: native entries with fields",
	    test_log_journal_native },
	{ NULL, NULL },
};

static const struct cu_test counts_tests[] = {
	{ "counts follow inserts, changes, deletes, restarts, migration",
	    test_counts_follow },
	{ "reading the counts does not scan the requests",
	    test_counts_no_scan },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "preflight", tmp_setup, NULL, preflight_tests },
	{ "log", tmp_setup, NULL, log_tests },
	{ "counts", tmp_setup, NULL, counts_tests },
	{ NULL, NULL, NULL, NULL },
};
