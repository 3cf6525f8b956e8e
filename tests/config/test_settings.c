/* approvald.yaml loading and secret-file checks. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tests.h"

static char tmpdir[256];

static const char *
tmpfile_with(const char *name, const char *content, mode_t mode)
{
	static char path[512];
	FILE *f;

	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config.XXXXXX");
		if (mkdtemp(tmpdir) == NULL)
			return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	if ((f = fopen(path, "w")) == NULL)
		return NULL;
	fputs(content, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static char *
diags_text(const struct cfg_diags *d)
{
	size_t i, n = 0;
	char *s = calloc(1, 65536), line[2048];

	for (i = 0; s && i < d->n; i++) {
		cfg_diag_format(&d->v[i], line, sizeof(line));
		n += (size_t)snprintf(s + n, 65536 - n, "%s\n", line);
		if (n >= 65536)
			break;
	}
	return s;
}

static void
test_example(void)
{
	struct settings *s = NULL;
	struct cfg_diags d = { 0 };
	char *dump;

	CU_ASSERT_EQUAL_FATAL(
	    settings_load_file(cu_srcpath("examples/approvald.yaml"), &s, &d),
	    0);
	CU_ASSERT_EQUAL(d.nerrors, 0);
	CU_ASSERT_STRING_EQUAL(s->graph_url, "http://127.0.0.1:8751");
	CU_ASSERT_STRING_EQUAL(s->tenant, "contoso.onmicrosoft.com");
	CU_ASSERT_STRING_EQUAL(
	    s->approver_client_id, "e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e");
	CU_ASSERT_STRING_EQUAL(s->assertion_alg, "PS256");
	CU_ASSERT_PTR_NOT_NULL(strstr(s->policy_path, "examples/policy.yaml"));
	CU_ASSERT_EQUAL(s->source_enabled[REQ_SRC_PERMISSIONS], 1);
	CU_ASSERT_EQUAL(s->source_enabled[REQ_SRC_ACCESS_PACKAGE], 1);
	CU_ASSERT_EQUAL(s->poll_interval[REQ_SRC_PERMISSIONS], 5);
	CU_ASSERT_EQUAL(s->poll_interval[REQ_SRC_ACCESS_PACKAGE], 30);
	CU_ASSERT_EQUAL(s->poll_overlap, 120);
	CU_ASSERT_EQUAL(s->graph_timeout, 30);
	CU_ASSERT_EQUAL(s->max_inflight, 16);
	CU_ASSERT_EQUAL(s->decision_link_ttl, 86400);
	CU_ASSERT_EQUAL(s->log_level, 2);
	CU_ASSERT_EQUAL(s->log_format, LOG_FORMAT_TEXT);
	CU_ASSERT_EQUAL_FATAL(s->ntargets, 1);
	CU_ASSERT_STRING_EQUAL(s->targets[0].name, "secops");
	CU_ASSERT_EQUAL(s->targets[0].format, NOTIFY_JSON);
	CU_ASSERT_EQUAL(s->targets[0].events, 0xfdu); /* all but reminder */
	CU_ASSERT_EQUAL(s->targets[0].links, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    s->targets[0].secret_file, "examples/secrets/notify-secret"));
	CU_ASSERT_EQUAL(s->membership_max_age, 60);
	CU_ASSERT_EQUAL_FATAL(s->noperators, 1);
	CU_ASSERT_STRING_EQUAL(s->operators[0].unix_name, "root");
	dump = settings_dump(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(dump, "graph.tenant: "));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(dump, "decisions.membership_max_age: PT1M\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dump, "operators:\n  - unix: root\n"));
	free(dump);
	settings_free(s);
	settings_free(NULL);
	cfg_diags_free(&d);
}

static void
test_defaults_and_relative(void)
{
	struct settings *s = NULL;
	struct cfg_diags d = { 0 };
	const char *p = tmpfile_with("min.yaml",
	    "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: "
	    "sec\n  approver_token_file: /abs/tok\n",
	    0644);
	char want[600];

	CU_ASSERT_EQUAL_FATAL(settings_load_file(p, &s, &d), 0);
	CU_ASSERT_STRING_EQUAL(s->graph_url, "https://graph.microsoft.com");
	CU_ASSERT_STRING_EQUAL(
	    s->login_url, "https://login.microsoftonline.com");
	snprintf(want, sizeof(want), "%s/sec", tmpdir);
	CU_ASSERT_STRING_EQUAL(s->client_secret_file, want);
	snprintf(want, sizeof(want), "%s/policy.yaml", tmpdir);
	CU_ASSERT_STRING_EQUAL(s->policy_path, want);
	CU_ASSERT_STRING_EQUAL(s->approver_token_file, "/abs/tok");
	CU_ASSERT_PTR_NULL(s->listen);
	CU_ASSERT_EQUAL(s->http_max_conns, 256);
	CU_ASSERT_EQUAL(s->http_max_peer_conns, 16);
	CU_ASSERT_EQUAL(s->http_timeout, 10);
	CU_ASSERT_EQUAL(s->http_max_header, 8192);
	CU_ASSERT_EQUAL(s->http_max_body, 262144);
	CU_ASSERT_EQUAL(s->http_rate, 20);
	CU_ASSERT_EQUAL(s->http_burst, 40);
	CU_ASSERT_PTR_NULL(s->notification_url);
	CU_ASSERT_EQUAL(s->subscription_lifetime, 2 * 86400);
	CU_ASSERT_EQUAL(s->poll_interval[REQ_SRC_GROUP], 30);
	CU_ASSERT_EQUAL(s->source_enabled[REQ_SRC_GROUP], 0);
	/* retired by Microsoft on 2025-10-01: off unless enabled */
	CU_ASSERT_EQUAL(s->source_enabled[REQ_SRC_PERMISSIONS], 0);
	CU_ASSERT_EQUAL(s->source_enabled[REQ_SRC_ACCESS_PACKAGE], 0);
	/* retention: off, settled requests kept forever */
	CU_ASSERT_EQUAL(s->retention_settled, 0);
	settings_free(s);
	cfg_diags_free(&d);
}

/* retention.settled: a duration of at least a day, in the dump */
static void
test_retention(void)
{
	struct settings *s = NULL;
	struct cfg_diags d = { 0 };
	const char *p = tmpfile_with("retain.yaml",
	    "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	    "retention: { settled: P180D }\n",
	    0644);
	char *dump;

	CU_ASSERT_EQUAL_FATAL(settings_load_file(p, &s, &d), 0);
	CU_ASSERT_EQUAL(s->retention_settled, 180LL * 86400);
	dump = settings_dump(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(dump, "retention.settled: P180D\n"));
	free(dump);
	settings_free(s);
	cfg_diags_free(&d);
	s = NULL;
	p = tmpfile_with("retain.yaml",
	    "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	    "retention:\n  settled: P1D\n",
	    0644);
	CU_ASSERT_EQUAL_FATAL(settings_load_file(p, &s, &d), 0);
	CU_ASSERT_EQUAL(s->retention_settled, 86400);
	settings_free(s);
	cfg_diags_free(&d);
	/* unset: kept forever, dumped as null */
	s = NULL;
	p = tmpfile_with("retain.yaml",
	    "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n",
	    0644);
	CU_ASSERT_EQUAL_FATAL(settings_load_file(p, &s, &d), 0);
	dump = settings_dump(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(dump, "retention.settled: null\n"));
	free(dump);
	settings_free(s);
	cfg_diags_free(&d);
}

/* Chat targets carry no decision links unless asked (issue 16): a
 * channel would show every approver's personal link to all its members. */
static void
test_chat_links_default(void)
{
	struct settings *s = NULL;
	struct cfg_diags d = { 0 };
	const char *p = tmpfile_with("chat.yaml",
	    "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: "
	    "s\n"
	    "notify:\n"
	    "  - { name: j, url: \"https://x/\", format: json,\n"
	    "      secret_file: k }\n"
	    "  - { name: s, url: \"https://x/\", format: slack }\n"
	    "  - { name: t, url: \"https://x/\", format: teams }\n"
	    "  - { name: s2, url: \"https://x/\", format: slack, "
	    "links: true }\n"
	    "  - { name: j2, url: \"https://x/\", format: json,\n"
	    "      secret_file: k, links: false }\n",
	    0644);

	CU_ASSERT_EQUAL_FATAL(settings_load_file(p, &s, &d), 0);
	CU_ASSERT_EQUAL_FATAL(s->ntargets, 5);
	CU_ASSERT_EQUAL(s->targets[0].links, 1);
	CU_ASSERT_EQUAL(s->targets[1].links, 0);
	CU_ASSERT_EQUAL(s->targets[2].links, 0);
	CU_ASSERT_EQUAL(s->targets[3].links, 1);
	CU_ASSERT_EQUAL(s->targets[4].links, 0);
	settings_free(s);
	cfg_diags_free(&d);
}

static const struct {
	const char *yaml;
	const char *want;
} bad[] = {
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n  "
	  "url: http://graph.example.com\n",
	    "5:8: error: `http://graph.example.com`: plain http is only "
	    "allowed "
	    "to a loopback host" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n  "
	  "url: http://[::1]:80/x\n",
	    NULL },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n  "
	  "login_url: http://127.5.0.1:9\n",
	    NULL },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n  "
	  "url: http://localhost.evil.com/\n",
	    "plain http is only allowed to a loopback host" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n  "
	  "url: ftp://x\n",
	    "is not an http(s) URL" },
	{ "graph:\n  client_id: c\n  client_secret_file: s\n",
	    "error: missing `graph.tenant`" },
	/* issue 13: the approver's public client is a GUID, the assertion
	 * alg PS256 or RS256 */
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n  "
	  "approver_client_id: approvalctl\n",
	    "error: `graph.approver_client_id` must be an application" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n  "
	  "approver_client_id: e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7\n",
	    "must be an application (client) id, a GUID" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n  "
	  "approver_client_id: e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e\n",
	    NULL },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n  "
	  "assertion_alg: HS256\n",
	    "error: `graph.assertion_alg` must be PS256 or RS256" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n  "
	  "assertion_alg: RS256\n",
	    NULL },
	{ "graph:\n  tenant: t\n  client_id: c\n",
	    "error: need `graph.client_secret_file` or both" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_certificate_file: "
	  "c.pem\n",
	    "go together" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n  "
	  "timeout: 30s\n",
	    "5:12: error: bad ISO-8601 duration `30s`" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "sources:\n  grop: { enabled: true }\n",
	    "6:3: error: unknown key `sources.grop`; did you mean `group`?" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "log: { level: verbose }\n",
	    "error: unknown log level `verbose`" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "http: { listen: localhost }\n",
	    "error: bad listen address `localhost`" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "notify:\n  - { name: a, url: \"https://x/\", format: slak }\n",
	    "error: unknown format `slak`; did you mean `slack`?" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "notify:\n  - { name: a, url: \"https://x/\", events: [pendin] }\n",
	    "error: unknown event `pendin`; did you mean `pending`?" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "notify:\n  - { name: a, url: \"https://x/\" }\n",
	    "6:5: error: notify target with format json needs a "
	    "`secret_file`" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "notify:\n  - { name: a, url: \"https://x/\", format: slack,\n"
	  "      secret_file: k }\n",
	    "7:20: error: `secret_file` is only used by format json" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "notify:\n  - { name: a, url: \"https://x/\", format: teams,\n"
	  "      evnts: [pending] }\n",
	    "7:7: error: unknown key `evnts`" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "notify:\n  - { name: a, url: \"https://x/\", format: slack,\n"
	  "      links: maybe }\n",
	    "7:14: error: expected true or false" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "notify:\n  - { name: a, url: \"http://chat.example.com/\",\n"
	  "      format: slack }\n",
	    "plain http is only allowed to a loopback host" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "notify:\n  - { name: a, url: \"https://x/\", format: slack }\n"
	  "  - { name: a, url: \"https://y/\", format: teams }\n",
	    "error: duplicate notify target `a`" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "sources: { permissions: { enabled: yes } }\n",
	    "error: expected true or false" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "http: { listen: \"127.0.0.1:0\", max_header_bytes: 70000 }\n",
	    "error: 70000 is out of range (1024..65536)" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "http: { listen: \"127.0.0.1:0\", max_connections: 0 }\n",
	    "error: 0 is out of range (1..1024)" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "http: { listen: \"127.0.0.1:0\", notification_url: "
	  "\"https://hooks.example.com/v1/hooks/graph\" }\n",
	    "error: `http.notification_url` needs `http.listen` and "
	    "`http.graph_client_state_file`" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "http: { listen: \"127.0.0.1:0\", graph_client_state_file: cs,"
	  " notification_url: \"https://hooks.example.com/v1/hooks/graph\","
	  " rate_limit: 5, rate_burst: 10, timeout: PT3S }\n",
	    NULL },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "polcy: p.yaml\n",
	    "5:1: error: unknown key `polcy`; did you mean `policy`?" },
	/* operators: who may decide as whom over the control socket */
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "operator:\n  - { unix: alice, as: alice@contoso.com }\n",
	    "5:1: error: unknown key `operator`; did you mean `operators`?" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "operators: { alice: alice@contoso.com }\n",
	    "5:12: error: `operators` must be a list of { unix: USER|UID, as: "
	    "[PRINCIPAL, ...] }" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "operators:\n  - { unix: alice, az: alice@contoso.com }\n",
	    "6:20: error: unknown key `az`; did you mean `as`?" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "operators:\n  - { unix: alice }\n",
	    "6:5: error: operators entry needs `as`" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "operators:\n  - { unix: [alice], as: alice@contoso.com }\n",
	    "6:13: error: `unix` must be a string" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "operators:\n  - { unix: alice, as: { a: b } }\n",
	    "6:24: error: `as` must be a string or list of strings" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "operators:\n  - { unix: Alice Smith, as: alice@contoso.com }\n",
	    "6:13: error: `Alice Smith` is not a Unix user name or a numeric "
	    "uid" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "operators:\n  - { unix: 4294967295, as: alice@contoso.com }\n",
	    "6:13: error: uid `4294967295` is out of range" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "operators:\n  - { unix: alice, as: [alice, \"a@b\"] }\n",
	    "6:25: error: `alice` is not a UPN, an object id or \"*\"" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "operators:\n  - { unix: alice, as: [] }\n",
	    "6:24: error: `as` must name 1 to 64 principals" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "operators:\n  - { unix: \"1001\", as: a@b }\n"
	  "  - { unix: 1001, as: c@d }\n",
	    "7:13: error: duplicate operators entry for `1001`" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "decisions: { membership_max_age: PT6M }\n",
	    "5:34: error: `decisions.membership_max_age` must be at most "
	    "PT5M" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "decisions: { membership_max_age: 60 }\n",
	    "5:34: error: bad ISO-8601 duration `60`" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "retention: { settled: PT23H59M }\n",
	    "5:23: error: `retention.settled` must be at least P1D" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "retention:\n  settled: P0D\n",
	    "6:12: error: `retention.settled` must be at least P1D" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "retention: { settled: 180 }\n",
	    "5:23: error: bad ISO-8601 duration `180`" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "retention: { setled: P180D }\n",
	    "did you mean `settled`?" },
	{ "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: s\n"
	  "decisions: { membership_max_ag: PT1M }\n",
	    "did you mean `membership_max_age`?" },
};

static void
test_bad(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct settings *s = (struct settings *)1;
		struct cfg_diags d = { 0 };
		const char *p = tmpfile_with("bad.yaml", bad[i].yaml, 0644);
		int rc = settings_load_file(p, &s, &d);
		char *txt = diags_text(&d);

		if (bad[i].want == NULL) {
			if (rc != 0)
				fprintf(stderr, "%s", txt);
			CU_ASSERT_EQUAL(rc, 0);
		} else {
			CU_ASSERT_EQUAL(rc, -1);
			CU_ASSERT_PTR_NULL(s);
			if (strstr(txt, bad[i].want) == NULL) {
				fprintf(stderr, "want `%s` in:\n%s",
				    bad[i].want, txt);
				CU_FAIL(bad[i].want);
			}
		}
		settings_free(s);
		free(txt);
		cfg_diags_free(&d);
	}
}

/* operators: by name and by uid, a list or one principal, "*"; the
 * lookup, the dump; decisions.membership_max_age 0. */
static void
test_operators(void)
{
	struct settings *s = NULL;
	struct cfg_diags d = { 0 };
	const char *p = tmpfile_with("ops.yaml",
	    "graph:\n  tenant: t\n  client_id: c\n  client_secret_file: "
	    "s\n"
	    "decisions:\n  membership_max_age: PT0S\n"
	    "operators:\n"
	    "  - unix: alice\n"
	    "    as: [alice@contoso.com, "
	    "3cce9d87-3986-4f19-8335-7ed075408ca2]\n"
	    "  - { unix: 1001, as: bob@contoso.com }\n"
	    "  - { unix: \"0\", as: \"*\" }\n",
	    0644);
	const char *alice[] = { "ALICE@contoso.com" },
	           *alice_id[] = { "3cce9d87-3986-4f19-8335-7ed075408ca2" },
	           *bob[] = { NULL, "bob@contoso.com" },
	           *ciso[] = { "ciso@contoso.com" };
	char *dump;

	CU_ASSERT_EQUAL_FATAL(settings_load_file(p, &s, &d), 0);
	CU_ASSERT_EQUAL(s->membership_max_age, 0);
	CU_ASSERT_EQUAL_FATAL(s->noperators, 3);
	CU_ASSERT_STRING_EQUAL(s->operators[0].unix_name, "alice");
	CU_ASSERT_EQUAL(s->operators[0].nas, 2);
	CU_ASSERT_PTR_NULL(s->operators[1].unix_name);
	CU_ASSERT_EQUAL(s->operators[1].uid, 1001);
	CU_ASSERT_EQUAL(s->operators[2].uid, 0);
	/* by name (any uid), case-insensitive UPN, or by object id */
	CU_ASSERT_EQUAL(settings_operator_may(s, 1000, "alice", alice, 1), 1);
	CU_ASSERT_EQUAL(
	    settings_operator_may(s, 1000, "alice", alice_id, 1), 1);
	CU_ASSERT_EQUAL(settings_operator_may(s, 1000, "alice", ciso, 1), 0);
	/* by uid, whatever the name; NULL names skipped */
	CU_ASSERT_EQUAL(settings_operator_may(s, 1001, NULL, bob, 2), 1);
	CU_ASSERT_EQUAL(settings_operator_may(s, 1001, "bob", alice, 1), 0);
	/* no entry at all */
	CU_ASSERT_EQUAL(
	    settings_operator_may(s, 1002, "mallory", alice, 1), -1);
	CU_ASSERT_EQUAL(settings_operator_may(s, 1002, NULL, alice, 1), -1);
	/* "*" */
	CU_ASSERT_EQUAL(settings_operator_may(s, 0, "root", ciso, 1), 1);
	dump = settings_dump(s);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(dump, "decisions.membership_max_age: PT0S\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(dump, "operators:\n  - unix: alice\n    as: "
	                 "[alice@contoso.com, "
	                 "\"3cce9d87-3986-4f19-8335-7ed075408ca2\"]\n"
	                 "  - unix: \"1001\"\n    as: [bob@contoso.com]\n"
	                 "  - unix: \"0\"\n    as: [\"*\"]\n"));
	free(dump);
	settings_free(s);
	cfg_diags_free(&d);
}

const struct cu_test settings_tests[] = {
	{ "operators", test_operators },
	{ "chat_links_default", test_chat_links_default },
	{ "example", test_example },
	{ "defaults_and_relative_paths", test_defaults_and_relative },
	{ "bad_settings", test_bad },
	{ "retention", test_retention },
	{ NULL, NULL },
};

static void
test_secret_modes(void)
{
	static const struct {
		const char *content;
		mode_t mode;
		int ok;
		const char *want;
	} cases[] = {
		{ "s3cret\n", 0600, 1, "s3cret" },
		{ "s3cret", 0400, 1, "s3cret" },
		{ "two\n\n", 0600, 1, "two\n" },
		{ "crlf\r\n", 0600, 1, "crlf" },
		{ "", 0600, 1, "" },
		{ "s3cret\n", 0640, 0, "readable or writable by group" },
		{ "s3cret\n", 0604, 0, "readable or writable by group" },
		{ "s3cret\n", 0620, 0, "readable or writable by group" },
	};
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p =
		    tmpfile_with("secret", cases[i].content, cases[i].mode);
		char *out = NULL, *err = NULL;
		int rc = cfg_read_secret(p, &out, &len, &err);

		CU_ASSERT_EQUAL(rc == 0, cases[i].ok);
		if (rc == 0) {
			CU_ASSERT_STRING_EQUAL(out, cases[i].want);
			CU_ASSERT_EQUAL(len, strlen(cases[i].want));
			explicit_bzero(out, len);
		} else {
			CU_ASSERT_PTR_NULL(out);
			CU_ASSERT_PTR_NOT_NULL(
			    err && strstr(err, cases[i].want));
		}
		free(out);
		free(err);
	}
}

static void
test_secret_not_regular(void)
{
	char *out = NULL, *err = NULL;
	size_t len;

	CU_ASSERT_EQUAL(cfg_read_secret("/dev/null", &out, &len, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "not a regular file"));
	free(err);
	err = NULL;
	CU_ASSERT_EQUAL(
	    cfg_read_secret(tmpdir[0] ? tmpdir : "/tmp", &out, &len, &err), -1);
	free(err);
	err = NULL;
	CU_ASSERT_EQUAL(
	    cfg_read_secret("/nonexistent/secret", &out, &len, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(err);
	free(err);
}

const struct cu_test secret_tests[] = {
	{ "modes", test_secret_modes },
	{ "not_regular", test_secret_not_regular },
	{ NULL, NULL },
};
