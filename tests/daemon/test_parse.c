/*
 * Inbound bodies (daemon/sources/parse.c): every member of every body is read with
 * its type checked. The `lifecycleEvent: null` notification of issue 14
 * crashed the daemon; these cases would have caught it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <event2/event.h>

#include "cu.h"
#include "graph.h"
#include "listen.h"
#include "parse.h"
#include "token.h"

#define CS "0123456789abcdef0123456789abcdef"
#define N(extra)                                                               \
	"{\"value\":[{\"subscriptionId\":\"sub-1\",\"clientState\":\"" CS      \
	"\",\"resource\":\"Groups/g1\"" extra "}]}"

static void
test_graph_notes(void)
{
	static const struct {
		const char *body;
		enum parse_notes_result want;
		int changes, missed;
		size_t nlife, ngroups;
	} cases[] = {
		/* the crash: a valid clientState and a null lifecycleEvent */
		{ N(",\"lifecycleEvent\":null"), PARSE_NOTES_OK, 1, 0, 0, 1 },
		{ N(""), PARSE_NOTES_OK, 1, 0, 0, 1 },
		{ N(",\"lifecycleEvent\":\"missed\""), PARSE_NOTES_OK, 0, 1, 0,
		    0 },
		{ N(",\"lifecycleEvent\":\"subscriptionRemoved\""),
		    PARSE_NOTES_OK, 0, 0, 1, 0 },
		{ N(",\"lifecycleEvent\":\"reauthorizationRequired\","
		    "\"subscriptionId\":null"),
		    PARSE_NOTES_OK, 0, 0, 1, 0 },
		/* wrong types */
		{ N(",\"lifecycleEvent\":5"), PARSE_NOTES_BAD_BODY, 0, 0, 0,
		    0 },
		{ N(",\"lifecycleEvent\":{}"), PARSE_NOTES_BAD_BODY, 0, 0, 0,
		    0 },
		{ N(",\"lifecycleEvent\":[\"missed\"]"), PARSE_NOTES_BAD_BODY,
		    0, 0, 0, 0 },
		{ N(",\"lifecycleEvent\":true"), PARSE_NOTES_BAD_BODY, 0, 0, 0,
		    0 },
		{ "{\"value\":[{\"clientState\":\"" CS "\",\"resource\":7}]}",
		    PARSE_NOTES_BAD_BODY, 0, 0, 0, 0 },
		{ "{\"value\":[{\"clientState\":\"" CS
		  "\",\"resource\":null}]}",
		    PARSE_NOTES_OK, 1, 0, 0, 0 },
		{ "{\"value\":[{\"clientState\":\"" CS
		  "\",\"subscriptionId\":[],\"lifecycleEvent\":\"missed\"}]}",
		    PARSE_NOTES_BAD_BODY, 0, 0, 0, 0 },
		{ "{\"value\":[{\"clientState\":5}]}", PARSE_NOTES_BAD_BODY, 0,
		    0, 0, 0 },
		{ "{\"value\":[{\"clientState\":null}]}",
		    PARSE_NOTES_BAD_CLIENT_STATE, 0, 0, 0, 0 },
		{ "{\"value\":[{}]}", PARSE_NOTES_BAD_CLIENT_STATE, 0, 0, 0,
		    0 },
		{ "{\"value\":[{\"clientState\":\"" CS "x\"}]}",
		    PARSE_NOTES_BAD_CLIENT_STATE, 0, 0, 0, 0 },
		{ "{\"value\":[null]}", PARSE_NOTES_BAD_BODY, 0, 0, 0, 0 },
		{ "{\"value\":[1]}", PARSE_NOTES_BAD_BODY, 0, 0, 0, 0 },
		{ "{\"value\":[\"x\"]}", PARSE_NOTES_BAD_BODY, 0, 0, 0, 0 },
		{ "{\"value\":null}", PARSE_NOTES_BAD_BODY, 0, 0, 0, 0 },
		{ "{\"value\":{}}", PARSE_NOTES_BAD_BODY, 0, 0, 0, 0 },
		{ "{\"value\":[]}", PARSE_NOTES_BAD_BODY, 0, 0, 0, 0 },
		{ "[]", PARSE_NOTES_BAD_BODY, 0, 0, 0, 0 },
		{ "null", PARSE_NOTES_BAD_BODY, 0, 0, 0, 0 },
		{ "", PARSE_NOTES_BAD_BODY, 0, 0, 0, 0 },
		{ N("") "garbage", PARSE_NOTES_BAD_BODY, 0, 0, 0, 0 },
		{ N("") " \n", PARSE_NOTES_OK, 1, 0, 0, 1 },
	};
	struct graph_notes gn;
	enum parse_notes_result rc;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = parse_graph_notes(
		    cases[i].body, strlen(cases[i].body), CS, strlen(CS), &gn);
		if (rc != cases[i].want)
			fprintf(stderr, "case %zu: %s: got %d\n", i,
			    cases[i].body, (int)rc);
		CU_ASSERT_EQUAL(rc, cases[i].want);
		if (rc != PARSE_NOTES_OK)
			continue;
		CU_ASSERT_EQUAL(gn.changes, cases[i].changes);
		CU_ASSERT_EQUAL(gn.missed, cases[i].missed);
		CU_ASSERT_EQUAL(gn.nlife, cases[i].nlife);
		CU_ASSERT_EQUAL(gn.ngroups, cases[i].ngroups);
	}
	/* no clientState configured: every body is refused */
	CU_ASSERT_EQUAL(parse_graph_notes(N(""), strlen(N("")), NULL, 0, &gn),
	    PARSE_NOTES_BAD_CLIENT_STATE);
}

static void
test_validation_token(void)
{
	size_t n = 0;
	char *t = parse_validation_token(
	    "/v1/hooks/graph?x=1&validationToken=a%20b%0D%0A", &n);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT(memcmp(t, "a b\r\n", 5) == 0);
	free(t);
	CU_ASSERT_PTR_NULL(parse_validation_token("/v1/hooks/graph", &n));
	CU_ASSERT_PTR_NULL(
	    parse_validation_token("/v1/hooks/graph?validationTokenX=1", &n));
}

static void
test_evaluate(void)
{
	static const struct {
		const char *body;
		int rc;
		const char *request, *source;
	} cases[] = {
		{ "", 0, NULL, NULL },
		{ "{}", 0, NULL, NULL },
		{ "{\"request\":\"r1\",\"source\":\"group\"}", 0, "r1",
		    "group" },
		{ "{\"request\":null,\"source\":null}", 0, NULL, NULL },
		{ "{\"request\":5}", -1, NULL, NULL },
		{ "{\"source\":{}}", -1, NULL, NULL },
		{ "{\"source\":[\"group\"]}", -1, NULL, NULL },
		{ "[]", -1, NULL, NULL },
		{ "\"x\"", -1, NULL, NULL },
		{ "{", -1, NULL, NULL },
		{ "{} {}", -1, NULL, NULL },
	};
	struct json_object *o;
	const char *r, *s;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = parse_evaluate(
		    cases[i].body, strlen(cases[i].body), &o, &r, &s);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0) {
			CU_ASSERT(cases[i].request == NULL
			              ? r == NULL
			              : r != NULL &&
			                    strcmp(r, cases[i].request) == 0);
			CU_ASSERT(
			    cases[i].source == NULL
			        ? s == NULL
			        : s != NULL && strcmp(s, cases[i].source) == 0);
		} else
			CU_ASSERT_PTR_NULL(o);
		json_object_put(o);
	}
}

static void
test_decision_form(void)
{
	static const struct {
		const char *body;
		int rc, approve;
		const char *reason;
	} cases[] = {
		{ "decision=approve", 0, 1, "" },
		{ "decision=deny&reason=not%20now", 0, 0, "not now" },
		{ "reason=a%0D%0AX-Evil:%201&decision=deny", 0, 0,
		    "a  X-Evil: 1" },
		{ "decision=maybe", -1, 0, NULL },
		{ "decision=", -1, 0, NULL },
		{ "reason=x", -1, 0, NULL },
		{ "", -1, 0, NULL },
		{ "&&&=", -1, 0, NULL },
	};
	char reason[64];
	size_t i;
	int approve, rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		approve = -1;
		rc = parse_decision_form(
		    cases[i].body, &approve, reason, sizeof(reason));
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0 && cases[i].reason != NULL) {
			CU_ASSERT_EQUAL(approve, cases[i].approve);
			CU_ASSERT_STRING_EQUAL(reason, cases[i].reason);
		}
	}
}

static void
test_graph_responses(void)
{
	static const struct {
		const char *body;
		int ok;
		const char *next;
	} pages[] = {
		{ "{\"value\":[]}", 1, NULL },
		{ "{\"value\":[],\"@odata.nextLink\":\"http://x/n\"}", 1,
		    "http://x/n" },
		{ "{\"value\":[],\"@odata.nextLink\":null}", 1, NULL },
		{ "{\"value\":[],\"@odata.nextLink\":5}", 0, NULL },
		{ "{\"value\":[],\"@odata.nextLink\":{}}", 0, NULL },
		{ "{\"value\":null}", 0, NULL },
		{ "{\"value\":\"x\"}", 0, NULL },
		{ "[]", 0, NULL },
		{ "{\"value\":[]", 0, NULL },
	};
	static const struct {
		const char *json;
		int rc;
	} changes[] = {
		{ "{\"id\":\"c1\",\"permissionsRequestId\":\"r1\","
		  "\"statusDetail\":\"submitted\","
		  "\"modificationDateTime\":\"2025-01-01T00:00:00Z\"}",
		    0 },
		{ "{\"id\":\"c1\",\"statusDetail\":null}", 0 },
		{ "{\"id\":5}", -1 },
		{ "{\"id\":\"c1\",\"permissionsRequestId\":[]}", -1 },
		{ "{\"id\":\"c1\",\"modificationDateTime\":2999}", -1 },
		{ "[]", -1 },
		{ "null", -1 },
	};
	static const struct {
		const char *body, *key;
		int rc, found;
	} steps[] = {
		{ "{\"stages\":[{\"id\":\"s1\",\"reviewResult\":"
		  "\"NotReviewed\"}]}",
		    "stages", 0, 1 },
		{ "{\"stages\":[{\"id\":5,\"reviewResult\":5,"
		  "\"reviewedBy\":\"x\"}]}",
		    "stages", 0, 1 },
		{ "{\"stages\":[null,1,\"x\"]}", "stages", 0, 1 },
		{ "{\"stages\":[{\"reviewedBy\":{\"user\":5}}]}", "stages", 0,
		    1 },
		{ "{\"stages\":null}", "stages", -1, 0 },
		{ "{\"value\":{}}", "value", -1, 0 },
		{ "{\"value\":[]}", "value", 0, 0 },
	};
	struct json_object *root, *value, *c;
	struct perm_change pc;
	struct step_info si;
	const char *next;
	size_t i;

	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		root = parse_page(
		    pages[i].body, strlen(pages[i].body), &value, &next);
		CU_ASSERT_EQUAL(root != NULL, pages[i].ok);
		if (root != NULL)
			CU_ASSERT(pages[i].next == NULL
			              ? next == NULL
			              : next != NULL &&
			                    strcmp(next, pages[i].next) == 0);
		json_object_put(root);
	}
	for (i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		c = parse_json(changes[i].json, strlen(changes[i].json));
		CU_ASSERT_EQUAL(parse_perm_change(c, &pc), changes[i].rc);
		json_object_put(c);
	}
	CU_ASSERT_EQUAL(parse_perm_change(NULL, &pc), -1);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		memset(&si, 0, sizeof(si));
		CU_ASSERT_EQUAL(parse_steps(steps[i].body,
		                    strlen(steps[i].body), steps[i].key, &si),
		    steps[i].rc);
		CU_ASSERT_EQUAL(si.found, steps[i].found);
		step_info_clear(&si);
	}
}

/* Header values from outside: no control character gets into a request. */
static void
test_header_values(void)
{
	static const struct {
		const char *s;
		int ok;
	} cases[] = {
		{ "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ4In0.c2ln", 1 },
		{ "a b\t", 0 },
		{ "abc\r\nX-Evil: 1", 0 },
		{ "abc\n", 0 },
		{ "abc\r", 0 },
		{ "a\x01", 0 },
		{ "a\x7f", 0 },
		{ "", 1 },
		{ "caf\xc3\xa9", 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(graph_header_value_ok(cases[i].s), cases[i].ok);
	CU_ASSERT_EQUAL(graph_header_value_ok(NULL), 0);
}

/* A token endpoint answer with CR/LF (or NUL) in a token is a failed token
 * fetch, and the reason never quotes the token. */
static void
test_token_answers(void)
{
	static const struct {
		const char *body;
		int rc;
		int64_t expires;
		int refresh;
	} cases[] = {
		{ "{\"access_token\":\"tok-1\",\"expires_in\":3599}", 0, 3599,
		    0 },
		{ "{\"access_token\":\"tok-1\",\"expires_in\":\"120\","
		  "\"refresh_token\":\"rt-2\"}",
		    0, 120, 1 },
		{ "{\"access_token\":\"tok\\r\\nX-Evil: 1\"}", -1, 0, 0 },
		{ "{\"access_token\":\"tok\\n\"}", -1, 0, 0 },
		{ "{\"access_token\":\"tok\\u0000more\"}", -1, 0, 0 },
		{ "{\"access_token\":\"tok\\u0007\"}", -1, 0, 0 },
		{ "{\"access_token\":\"tok\",\"refresh_token\":\"r\\r\\n\"}",
		    -1, 0, 0 },
		{ "{\"access_token\":5}", -1, 0, 0 },
		{ "{\"access_token\":null}", -1, 0, 0 },
		{ "{\"access_token\":\"\"}", -1, 0, 0 },
		{ "{\"access_token\":\"tok\",\"expires_in\":{}}", -1, 0, 0 },
		{ "[]", -1, 0, 0 },
	};
	struct json_object *root;
	const char *access, *refresh, *why;
	int64_t expires;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expires = 0;
		rc = token_parse(
		    cases[i].body, &root, &access, &expires, &refresh, &why);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0) {
			CU_ASSERT_STRING_EQUAL(access, "tok-1");
			CU_ASSERT_EQUAL(expires, cases[i].expires);
			CU_ASSERT_EQUAL(refresh != NULL, cases[i].refresh);
		} else {
			CU_ASSERT_PTR_NOT_NULL(why);
			CU_ASSERT(
			    why == NULL || (strstr(why, "Evil") == NULL &&
			                       strchr(why, '\r') == NULL));
			CU_ASSERT_PTR_NULL(access);
		}
		json_object_put(root);
	}
}

static void
count_cb(void *arg, const struct graph_resp *r)
{
	(void)r;
	(*(int *)arg)++;
}

/* The Graph client refuses a bearer or header line with CR/LF before any
 * transfer exists. */
static void
test_graph_refuses_crlf(void)
{
	static const char *const origins[] = { "https://graph.microsoft.com" };
	static const char *const bad[] = { "client-request-id: 1\r\nX: 2",
		NULL };
	struct event_base *base = event_base_new();
	struct graph_opts o;
	struct graph *g;
	char *err = NULL;
	int called = 0;

	memset(&o, 0, sizeof(o));
	o.origins = origins;
	o.norigins = 1;
	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g = graph_new(base, &o, &err));
	CU_ASSERT_EQUAL(graph_call(g, "GET", "https://graph.microsoft.com/x",
	                    "tok\r\nX-Evil: 1", NULL, NULL, count_cb, &called),
	    -1);
	CU_ASSERT_EQUAL(
	    graph_call_headers(g, "GET", "https://graph.microsoft.com/x", "tok",
	        NULL, bad, NULL, count_cb, &called),
	    -1);
	CU_ASSERT_EQUAL(graph_pending(g), 0);
	CU_ASSERT_EQUAL(graph_call(g, "GET", "https://graph.microsoft.com/x",
	                    "tok", NULL, NULL, count_cb, &called),
	    0);
	CU_ASSERT_EQUAL(graph_pending(g), 1);
	graph_free(g);
	event_base_free(base);
	CU_ASSERT_EQUAL(called, 0);
}

static const struct cu_test parse_tests[] = {
	{ "Graph notifications, wrong types refused", test_graph_notes },
	{ "validation handshake token", test_validation_token },
	{ "evaluate hook body", test_evaluate },
	{ "decision-link form", test_decision_form },
	{ "Graph responses of the adapters", test_graph_responses },
	{ "header values refuse control characters", test_header_values },
	{ "token answers with CR/LF refused", test_token_answers },
	{ "Graph client refuses CR/LF headers", test_graph_refuses_crlf },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "parse", NULL, NULL, parse_tests },
	{ NULL, NULL, NULL, NULL },
};
