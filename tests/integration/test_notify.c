/*
 * Notifications out and decisions in (issue 5), end to end on loopback:
 * the real approvald (test clock on) against the real graph-emulator, a
 * notification receiver in this process (libevent evhttp on its own
 * thread, port 0) and, for the browser suite, headless Chromium driven
 * through chromedriver's WebDriver API.
 *
 *   notify   JSON signature, Slack and Teams shapes (requestor text
 *            escaped), event filter, reminders to the undecided, the
 *            escalated message, retries after 500s and a kill -9
 *            (delivered exactly once), a dead target that blocks
 *            nothing, "timed out" sent once
 *   links    tampering with any byte, expiry, reuse, wrong stage,
 *            justification required, a valid approve and a valid deny;
 *            approver sets of finished requests pruned
 *   entra    a stage decided in Entra is recorded as that stage's
 *            decision; an unreadable step as the plain observation; polls
 *            during a slow read of the step record nothing
 *   browser  the decision page in Chromium (screenshots kept in the
 *            build tree: tests/integration/decision-*.png)
 *
 * Every scenario ends on the emulator's ground truth: exactly one Graph
 * decision per request, and the right one.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cu.h"
#include "harness.h"
#include "hookutil.h"
#include "notify_stack.h"

/* ==== suite notify ========================================================= */

static char *KA, *KC; /* the basic request, the timed-out one */

static int
hmac_ok(const char *sig, const char *body)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	char hex[65], *msg = NULL;
	long long t = 0;
	const char *v1;

	if (sscanf(sig, "t=%lld,", &t) != 1 || t <= 0 ||
	    (v1 = strstr(sig, "v1=")) == NULL)
		return 0;
	if (asprintf(&msg, "%lld.%s", t, body) == -1)
		return 0;
	HMAC(EVP_sha256(), NOTIFY_KEY, (int)strlen(NOTIFY_KEY),
	    (unsigned char *)msg, strlen(msg), md, &len);
	free(msg);
	for (i = 0; i < len && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return len == 32 && strncmp(v1 + 3, hex, 64) == 0 && v1[67] == '\0';
}

/* "Thu 10 Dec 06:45 UTC" is the human text of ISO 8601 `iso` (UTC),
 * computed here with timegm and fixed English names. */
static int
when_ok(const char *iso, const char *text)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	time_t t;
	char want[64];

	memset(&tm, 0, sizeof(tm));
	if (iso == NULL || text == NULL ||
	    sscanf(iso, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon,
	        &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon--;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	snprintf(want, sizeof(want), "%s %d %s %02d:%02d UTC", wd[tm.tm_wday],
	    tm.tm_mday, mon[tm.tm_mon], tm.tm_hour, tm.tm_min);
	return strcmp(want, text) == 0;
}

/* Pending: signed generic JSON with the approver's link, Slack blocks
 * with a button, a Teams Adaptive Card. Everyone is named by display
 * name next to the raw UPN, durations and deadlines in words next to
 * their ISO 8601 values (issue 16); a Teams channel gets no personal
 * decision links (links default to false for chat targets). */
static void
test_pending_shapes(void)
{
	struct rx_msg m;
	struct json_object *o, *a;
	char *bad, want[300];

	KA = create("notify-basic please");
	CU_ASSERT_PTR_NOT_NULL_FATAL(KA);
	CU_ASSERT_FATAL(wait_state(KA, "pending") == 0);
	CU_ASSERT_FATAL(rx_wait("/json", KA, "pending", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_get("/json", KA, "pending", 0, &m) == 0);
	CU_ASSERT(hmac_ok(m.sig, m.body));
	/* one changed byte of the body breaks the signature */
	bad = strdup(m.body);
	bad[strlen(bad) / 2] ^= 1;
	CU_ASSERT(!hmac_ok(m.sig, bad));
	free(bad);
	CU_ASSERT(atoi(m.delivery) > 0);
	o = json_tokener_parse(m.body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(jstr(o, "event"), "pending");
	CU_ASSERT_STRING_EQUAL(jstr(o, "request.key"), KA);
	CU_ASSERT_STRING_EQUAL(
	    jstr(o, "request.requestor.upn"), "alex@contoso.com");
	CU_ASSERT_STRING_EQUAL(
	    jstr(o, "request.justification"), "notify-basic please");
	CU_ASSERT_STRING_EQUAL(jstr(o, "request.ticket.number"), "INC1234567");
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "request.asks"), "Azure role"));
	CU_ASSERT(strlen(jstr(o, "request.stage.deadline")) == 20);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(jstr(o, "what_to_do"), "Approve or deny before"));
	a = jpath(o, "approvers");
	CU_ASSERT_FATAL(a != NULL && json_object_array_length(a) == 1);
	CU_ASSERT_STRING_EQUAL(jstr(o, "approvers.0.upn"), "ciso@contoso.com");
	/* people, not only ids */
	CU_ASSERT_STRING_EQUAL(
	    jstr(o, "request.requestor.name"), "Alex Wilber");
	CU_ASSERT_STRING_EQUAL(jstr(o, "request.requestor.display"),
	    "Alex Wilber (alex@contoso.com)");
	CU_ASSERT_STRING_EQUAL(
	    jstr(o, "request.identity.who.name"), "Alex Wilber");
	CU_ASSERT_STRING_EQUAL(jstr(o, "approvers.0.name"), "Diego Siciliani");
	CU_ASSERT_STRING_EQUAL(jstr(o, "request.duration"), "PT1H");
	CU_ASSERT_STRING_EQUAL(jstr(o, "request.duration_text"), "1 hour");
	CU_ASSERT(when_ok(jstr(o, "request.stage.deadline"),
	    jstr(o, "request.stage.deadline_text")));
	snprintf(want, sizeof(want), "before %s (%s)",
	    jstr(o, "request.stage.deadline_text"),
	    jstr(o, "request.stage.deadline"));
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "what_to_do"), want));
	snprintf(
	    want, sizeof(want), "http://127.0.0.1:%d/v1/decide/", http_port);
	CU_ASSERT(strncmp(jstr(o, "approvers.0.decide_url"), want,
	              strlen(want)) == 0);
	json_object_put(o);
	free(m.body);

	CU_ASSERT_FATAL(rx_wait("/slack", KA, "pending", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_get("/slack", KA, "pending", 0, &m) == 0);
	CU_ASSERT_STRING_EQUAL(m.sig, ""); /* chat webhooks are not signed */
	o = json_tokener_parse(m.body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "text"), "Approval needed"));
	CU_ASSERT_STRING_EQUAL(jstr(o, "blocks.0.type"), "header");
	CU_ASSERT_STRING_EQUAL(jstr(o, "blocks.1.text.type"), "mrkdwn");
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(jstr(o, "blocks.1.text.text"), "alex@contoso.com"));
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "blocks.1.text.text"),
	    "*Requested by:* Alex Wilber (alex@contoso.com)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    jstr(o, "blocks.1.text.text"), "*Duration:* 1 hour (PT1H)\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(jstr(o, "blocks.1.text.text"), "*Decide by:* until "));
	/* the channel was given links explicitly: a button per approver */
	CU_ASSERT_STRING_EQUAL(jstr(o, "blocks.3.elements.0.text.text"),
	    "Decide as Diego Siciliani (ciso@contoso.com)");
	json_object_put(o);
	free(m.body);
	bad = slack_link(KA);
	CU_ASSERT(bad != NULL && strncmp(bad, want, strlen(want)) == 0);
	free(bad);

	CU_ASSERT_FATAL(rx_wait("/teams", KA, "pending", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_get("/teams", KA, "pending", 0, &m) == 0);
	o = json_tokener_parse(m.body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(jstr(o, "type"), "message");
	CU_ASSERT_STRING_EQUAL(jstr(o, "attachments.0.contentType"),
	    "application/vnd.microsoft.card.adaptive");
	CU_ASSERT_STRING_EQUAL(
	    jstr(o, "attachments.0.content.type"), "AdaptiveCard");
	CU_ASSERT_STRING_EQUAL(
	    jstr(o, "attachments.0.content.body.1.type"), "FactSet");
	/* a channel by default: no one's personal link */
	CU_ASSERT_EQUAL(
	    json_object_array_length(jpath(o, "attachments.0.content.actions")),
	    0);
	CU_ASSERT_PTR_NULL(strstr(m.body, "/v1/decide/"));
	CU_ASSERT_PTR_NULL(strstr(m.body, "link below"));
	CU_ASSERT_STRING_EQUAL(
	    jstr(o, "attachments.0.content.body.1.facts.0.value"),
	    "Alex Wilber \\(alex@contoso.com\\)");
	json_object_put(o);
	free(m.body);
	assert_undecided(KA);
}

/* A reminder goes to the targets that want it; after the decision each
 * target has exactly the events it asked for. */
static void
test_reminder_and_filter(void)
{
	struct rx_msg m;
	struct json_object *o;

	CU_ASSERT_PTR_NOT_NULL_FATAL(KA);
	clock_advance(3700);
	CU_ASSERT_FATAL(rx_wait("/json", KA, "reminder", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_get("/json", KA, "reminder", 0, &m) == 0);
	o = json_tokener_parse(m.body);
	CU_ASSERT_STRING_EQUAL(jstr(o, "approvers.0.upn"), "ciso@contoso.com");
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "title"), "Reminder"));
	json_object_put(o);
	free(m.body);
	decide(KA, "approve", "ciso@contoso.com", "ok");
	CU_ASSERT(wait_state(KA, "approved") == 0);
	CU_ASSERT_FATAL(rx_wait("/json", KA, "approved", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_wait("/slack", KA, "approved", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_get("/json", KA, "approved", 0, &m) == 0);
	CU_ASSERT(hmac_ok(m.sig, m.body));
	o = json_tokener_parse(m.body);
	CU_ASSERT_PTR_NULL(jpath(o, "approvers")); /* nothing to decide */
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "what_to_do"), "Nothing to do"));
	json_object_put(o);
	free(m.body);
	/* the filters: slack pending + approved, teams pending only */
	CU_ASSERT_EQUAL(rx_count("/slack", KA, NULL, 0), 2);
	CU_ASSERT_EQUAL(rx_count("/slack", KA, "reminder", 0), 0);
	CU_ASSERT_EQUAL(rx_count("/teams", KA, NULL, 0), 1);
	CU_ASSERT_EQUAL(rx_count("/json", KA, "pending", 0), 1);
	CU_ASSERT_EQUAL(rx_count("/json", KA, "reminder", 0), 1);
	assert_truth(KA, 1);
}

/* A reminder names only the approvers who have not decided yet. */
static void
test_reminder_undecided(void)
{
	char *k = create("notify-quorum two [x](https://e.example) "
	                 "<https://e.example|y> & *z* <b>h</b> **B** _i_ "
	                 "# H `c` ~s~ <img src=x onerror=alert(1)>\n"
	                 "*Rule:* fake");
	struct rx_msg m;
	struct json_object *o, *a;
	const char *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	/* the requestor's words make no link or markup in chat */
	CU_ASSERT_FATAL(rx_wait("/slack", k, "pending", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_get("/slack", k, "pending", 0, &m) == 0);
	o = json_tokener_parse(m.body);
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "blocks.1.text.text"),
	    "&lt;https://e.example|y&gt; &amp; *z*"));
	CU_ASSERT_PTR_NULL(strstr(m.body, "<https://e.example"));
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "blocks.1.text.text"),
	    "&lt;b&gt;h&lt;/b&gt; **B** _i_ # H `c` ~s~ &lt;img src=x "
	    "onerror=alert(1)&gt;"));
	CU_ASSERT_PTR_NULL(strstr(m.body, "<b>"));
	CU_ASSERT_PTR_NULL(strstr(m.body, "<img"));
	/* a newline in the justification makes no fact line of its own */
	CU_ASSERT_PTR_NULL(
	    strstr(jstr(o, "blocks.1.text.text"), "\n*Rule:* fake"));
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "blocks.1.text.text"),
	    "onerror=alert(1)&gt; *Rule:* fake\n"));
	json_object_put(o);
	free(m.body);
	CU_ASSERT_FATAL(rx_wait("/teams", k, "pending", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_get("/teams", k, "pending", 0, &m) == 0);
	o = json_tokener_parse(m.body);
	CU_ASSERT_STRING_EQUAL(
	    jstr(o, "attachments.0.content.body.1.facts.3.title"),
	    "Justification");
	CU_ASSERT_STRING_EQUAL(
	    jstr(o, "attachments.0.content.body.1.facts.3.value"),
	    "notify-quorum two \\[x\\]\\(https://e.example\\) "
	    "\\<https://e.example|y\\> & \\*z\\* \\<b\\>h\\</b\\> "
	    "\\*\\*B\\*\\* \\_i\\_ \\# H \\`c\\` \\~s\\~ "
	    "\\<img src=x onerror=alert\\(1\\)\\> \\*Rule:\\* fake");
	/* no '<' in the whole card that markdown could take as a tag */
	for (p = m.body; (p = strchr(p, '<')) != NULL; p++)
		CU_ASSERT(p > m.body && p[-1] == '\\');
	json_object_put(o);
	free(m.body);
	CU_ASSERT_FATAL(rx_wait("/json", k, "pending", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_get("/json", k, "pending", 0, &m) == 0);
	o = json_tokener_parse(m.body);
	a = jpath(o, "approvers");
	CU_ASSERT(a != NULL && json_object_array_length(a) == 2);
	json_object_put(o);
	free(m.body);
	decide(k, "approve", "jordan@contoso.com", "ok");
	clock_advance(3700);
	CU_ASSERT_FATAL(rx_wait("/json", k, "reminder", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_get("/json", k, "reminder", 0, &m) == 0);
	o = json_tokener_parse(m.body);
	a = jpath(o, "approvers");
	CU_ASSERT_FATAL(a != NULL && json_object_array_length(a) == 1);
	CU_ASSERT_STRING_EQUAL(
	    jstr(o, "approvers.0.upn"), "morgan@contoso.com");
	CU_ASSERT_STRING_EQUAL(
	    jstr(o, "request.stage.approved_by.0.upn"), "jordan@contoso.com");
	/* who already approved, by name and when */
	CU_ASSERT_STRING_EQUAL(
	    jstr(o, "request.stage.approved_by.0.name"), "Jordan Miller");
	CU_ASSERT(when_ok(jstr(o, "request.stage.approved_by.0.at"),
	    jstr(o, "request.stage.approved_by.0.at_text")));
	CU_ASSERT_STRING_EQUAL(jstr(o, "approvers.0.name"), "Morgan Lee");
	json_object_put(o);
	free(m.body);
	decide(k, "approve", "morgan@contoso.com", "ok");
	CU_ASSERT(wait_state(k, "approved") == 0);
	assert_truth(k, 1);
	free(k);
}

static void
restart(void)
{
	CU_ASSERT_FATAL(ad_restart(&A) == 0);
}

/* The flaky target answers 500 three times: retried with backoff (time
 * moved on with the test clock), across a kill -9 of the daemon (the
 * outbox is durable), then delivered exactly once; a later message goes
 * through at the first try. */
static void
test_retries(void)
{
	struct rx_msg m;
	char first[32], *kb;
	int i, hits;

	CU_ASSERT_PTR_NOT_NULL_FATAL(KA);
	for (i = 1; i <= RX_FLAKY; i++) {
		CU_ASSERT_FATAL(rx_wait("/flaky", KA, "approved", 500, i) == 0);
		if (i == 1)
			restart(); /* the test clock starts over */
		clock_advance(i == 1 ? 8000 : 600);
	}
	CU_ASSERT_FATAL(rx_wait("/flaky", KA, "approved", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_get("/flaky", KA, "approved", 0, &m) == 0);
	CU_ASSERT(hmac_ok(m.sig, m.body));
	snprintf(first, sizeof(first), "%s", m.delivery);
	free(m.body);
	/* another approval: delivered at once, and the first never again */
	kb = create("notify-basic again");
	CU_ASSERT_PTR_NOT_NULL_FATAL(kb);
	CU_ASSERT_FATAL(rx_wait("/json", kb, "pending", 200, 1) == 0);
	decide(kb, "approve", CISO_ID, "ok");
	CU_ASSERT_FATAL(rx_wait("/flaky", kb, "approved", 200, 1) == 0);
	CU_ASSERT_EQUAL(rx_count("/flaky", kb, NULL, 0), 1);
	hits = rx_count("/flaky", KA, NULL, 0);
	CU_ASSERT_EQUAL(hits, RX_FLAKY + 1);
	CU_ASSERT_EQUAL(rx_count("/flaky", KA, NULL, 200), 1);
	pthread_mutex_lock(&RX.mu);
	for (i = 0; i < (int)RX.n; i++)
		if (strcmp(RX.v[i].path, "/flaky") == 0 &&
		    strstr(RX.v[i].body, KA) != NULL)
			CU_ASSERT_STRING_EQUAL(RX.v[i].delivery, first);
	pthread_mutex_unlock(&RX.mu);
	CU_ASSERT(wait_state(kb, "approved") == 0);
	assert_truth(kb, 1);
	free(kb);
}

/* "Timed out" is announced once (the timer and the deny both say it). */
static void
test_timed_out_once(void)
{
	char *kd;

	KC = create("notify-timeout nobody answers");
	CU_ASSERT_PTR_NOT_NULL_FATAL(KC);
	CU_ASSERT_FATAL(rx_wait("/json", KC, "pending", 200, 1) == 0);
	clock_advance(7300);
	CU_ASSERT_FATAL(wait_state(KC, "rejected") == 0);
	CU_ASSERT_FATAL(rx_wait("/json", KC, "timed_out", 200, 1) == 0);
	/* a later message to the same target: what was queued before it has
	 * been sent by then */
	kd = create("notify-basic sentinel");
	CU_ASSERT_PTR_NOT_NULL_FATAL(kd);
	CU_ASSERT_FATAL(rx_wait("/json", kd, "pending", 200, 1) == 0);
	decide(kd, "approve", CISO_ID, "ok");
	CU_ASSERT_FATAL(rx_wait("/json", kd, "approved", 200, 1) == 0);
	CU_ASSERT_EQUAL(rx_count("/json", KC, "timed_out", 0), 1);
	CU_ASSERT_EQUAL(rx_count("/json", KC, "rejected", 0), 0);
	CU_ASSERT_EQUAL(rx_count("/teams", KC, "rejected", 0), 0);
	CU_ASSERT_EQUAL(rx_count("/slack", KC, NULL, 0), 1); /* pending */
	assert_truth(KC, 0);
	CU_ASSERT(wait_state(kd, "approved") == 0);
	assert_truth(kd, 1);
	free(kd);
}

/* Escalation: the message waits for the escalation set, then names the
 * primary and the added approvers, each with a link that works. */
static void
test_escalated(void)
{
	char *k = create("notify-escalate slow ciso"), *url;
	struct rx_msg m;
	struct json_object *o, *a;
	size_t i;
	int added = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(rx_wait("/json", k, "pending", 200, 1) == 0);
	clock_advance(3700);
	CU_ASSERT_FATAL(rx_wait("/json", k, "escalated", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_get("/json", k, "escalated", 0, &m) == 0);
	o = json_tokener_parse(m.body);
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "title"), "Escalated"));
	CU_ASSERT(json_object_get_boolean(jpath(o, "request.stage.escalated")));
	a = jpath(o, "approvers");
	CU_ASSERT_FATAL(a != NULL && json_object_array_length(a) == 3);
	for (i = 0; i < 3; i++)
		added += json_object_get_boolean(
		    jpath(json_object_array_get_idx(a, i), "escalation"));
	CU_ASSERT_EQUAL(added, 2);
	json_object_put(o);
	free(m.body);
	CU_ASSERT_EQUAL(rx_count("/slack", k, "escalated", 0), 0);
	url = link_for(k, "escalated", 0, "morgan@contoso.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(url);
	CU_ASSERT(web_says(url, "decision=approve&reason=covering+for+ciso",
	    200, "Approval recorded"));
	CU_ASSERT(wait_state(k, "approved") == 0);
	assert_truth(k, 1);
	free(url);
	free(k);
}

/* The dead target failed every time and held up nothing. */
static void
test_dead_target(void)
{
	char *log = cu_slurp(A.p.log, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, " to dead failed ("));
	CU_ASSERT_PTR_NULL(strstr(log, "/v1/decide/")); /* no link logged */
	CU_ASSERT_PTR_NULL(strstr(log, NOTIFY_KEY));
	free(log);
	CU_ASSERT_EQUAL(emu_truth_total(&E), 6);
}

static const struct cu_test notify_tests[] = {
	{ "pending: signed JSON, Slack, Teams", test_pending_shapes },
	{ "reminder and event filters", test_reminder_and_filter },
	{ "retries after 500s and kill -9, delivered once", test_retries },
	{ "timed out announced once", test_timed_out_once },
	{ "reminder names the undecided", test_reminder_undecided },
	{ "escalated: primary and added approvers", test_escalated },
	{ "a dead target blocks nothing", test_dead_target },
	{ NULL, NULL },
};

/* ==== suite links ========================================================== */

static char *KE, *KF;

/* Every single-character change, and truncations, are refused; nothing
 * changes. */
static void
test_tamper(void)
{
	char *url, *tok, *t2, *u2;
	size_t i, n, off;
	int bad = 0;

	KE = create("links-one <b>bold</b> & \"quoted\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(KE);
	CU_ASSERT_FATAL(rx_wait("/json", KE, "pending", 200, 1) == 0);
	url = link_for(KE, "pending", 0, "ciso@contoso.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(url);
	tok = strstr(url, "/v1/decide/") + strlen("/v1/decide/");
	off = (size_t)(tok - url);
	n = strlen(tok);
	CU_ASSERT(n > 100);
	u2 = malloc(strlen(url) + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u2);
	memcpy(u2, url, strlen(url) + 1);
	t2 = u2 + off;
	for (i = 0; i < n; i++) {
		t2[i] = tok[i] == 'A' ? 'B' : 'A';
		if (!web_says(u2, NULL, 403, "not valid"))
			bad++;
		if (i % 37 == 0 && !web_says(u2, "decision=approve&reason=x",
		                       403, "not valid"))
			bad++;
		t2[i] = tok[i];
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* truncated, extended, and the two halves swapped */
	t2[n - 1] = '\0';
	CU_ASSERT(web_says(u2, NULL, 403, "not valid"));
	snprintf(t2, n + 2, "%sA", tok);
	CU_ASSERT(web_says(u2, NULL, 403, "not valid"));
	free(u2);
	CU_ASSERT(wait_state(KE, "pending") == 0);
	assert_undecided(KE);
	free(url);
}

/* How many lines of the daemon's log hold the decision line "decision:
 * request KEY: VERDICT by WHO via HOW" (issue 16: one per decision). */
static int
decision_lines(
    const char *key, const char *verdict, const char *who, const char *how)
{
	char *log = cu_slurp(A.p.log, NULL), *p, want[400];
	int n = 0;

	if (log == NULL)
		return -1;
	snprintf(want, sizeof(want), "decision: request %s: %s by %s via %s ",
	    key, verdict, who, how);
	for (p = log; (p = strstr(p, want)) != NULL; p++)
		n++;
	free(log);
	return n;
}

/* The page shows the request (escaped), its headers are strict; a
 * missing reason is refused without using the link; then a valid
 * approve; the link is single use. */
static void
test_approve_once(void)
{
	struct web w;
	char *url;

	CU_ASSERT_PTR_NOT_NULL_FATAL(KE);
	url = link_for(KE, "pending", 0, "ciso@contoso.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(url);
	CU_ASSERT_EQUAL(web(url, NULL, &w), 200);
	CU_ASSERT_STRING_EQUAL(w.csp, "default-src 'none'; style-src "
	                              "'unsafe-inline'; form-action 'self'");
	CU_ASSERT_STRING_EQUAL(w.cache, "no-store");
	CU_ASSERT_STRING_EQUAL(w.ctype, "text/html; charset=utf-8");
	CU_ASSERT_PTR_NOT_NULL(strstr(w.body, "alex@contoso.com"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.body, "Azure role"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.body, "INC1234567"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.body, "1 of 1 (ciso)"));
	/* names next to the UPNs, the duration and deadline in words */
	CU_ASSERT_PTR_NOT_NULL(strstr(w.body,
	    "<th>Requested by</th><td>Alex Wilber (alex@contoso.com)</td>"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(w.body, "<th>You decide as</th><td>Diego Siciliani "
	                   "(ciso@contoso.com)</td>"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(w.body, "<th>Duration</th><td>1 hour (PT1H)</td>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.body, "<th>Decide by</th><td>until "));
	/* phone-sized: long values wrap, nothing has a fixed width */
	CU_ASSERT_PTR_NOT_NULL(strstr(w.body, "overflow-wrap:anywhere"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.body,
	    "links-one &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;"));
	CU_ASSERT_PTR_NULL(strstr(w.body, "<b>bold"));
	CU_ASSERT_PTR_NULL(strstr(w.body, "<script"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.body, "value=\"approve\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.body, "value=\"deny\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.body, "Reason (required)"));
	free(w.body);
	/* justification required: refused, the link still works */
	CU_ASSERT(web_says(
	    url, "decision=approve&reason=", 422, "justification required"));
	CU_ASSERT(wait_state(KE, "pending") == 0);
	CU_ASSERT(web_says(
	    url, "decision=maybe&reason=hmm", 422, "choose Approve or Deny"));
	CU_ASSERT(web_says(url, "decision=approve&reason=looks+fine+to+me", 200,
	    "Approval recorded"));
	CU_ASSERT(wait_state(KE, "approved") == 0);
	CU_ASSERT(web_says(
	    url, "decision=approve&reason=again", 410, "already used"));
	CU_ASSERT(
	    web_says(url, "decision=deny&reason=no", 410, "already used"));
	CU_ASSERT(web_says(url, NULL, 410, "already used"));
	/* audited once, as a link decision; the refused tries not at all */
	CU_ASSERT(wait_decision_audit(
	              KE, "approve", "ciso@contoso.com", "decision link") == 0);
	CU_ASSERT_EQUAL(decision_audits(KE), 1);
	CU_ASSERT_EQUAL(
	    decision_lines(KE, "approve", "ciso@contoso.com", "decision link"),
	    1);
	{
		char *t = timeline(KE);

		CU_ASSERT_PTR_NOT_NULL(strstr(t,
		    "approve by ciso@contoso.com (stage 1) via decision link: "
		    "looks fine to me"));
		free(t);
	}
	assert_truth(KE, 1);
	free(url);
}

/* A stage-1 link used after stage 1 is over is refused; a stage-2
 * approver denies through their link; the sets of the finished request
 * are pruned. */
static void
test_wrong_stage_and_deny(void)
{
	char *l1, *other, *l2;

	KF = create("links-two stages");
	CU_ASSERT_PTR_NOT_NULL_FATAL(KF);
	CU_ASSERT_FATAL(rx_wait("/json", KF, "pending", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_wait("/slack", KF, "pending", 200, 1) == 0);
	l1 = link_for(KF, "pending", 0, "ciso@contoso.com");
	other = slack_link(KF); /* the CISO's too, another nonce */
	CU_ASSERT_PTR_NOT_NULL_FATAL(l1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	CU_ASSERT(strcmp(l1, other) != 0);
	CU_ASSERT(web_says(l1, "decision=approve&reason=stage+one+ok", 200,
	    "It is now waiting for the next stage"));
	CU_ASSERT_FATAL(wait_approvers(KF, 2, 2) == 0);
	CU_ASSERT(web_says(other, NULL, 409, "no longer waits for this stage"));
	CU_ASSERT(web_says(other, "decision=deny&reason=x", 409,
	    "no longer waits for this stage"));
	CU_ASSERT_FATAL(rx_wait("/json", KF, "pending", 200, 2) == 0);
	/* stage 2's messages say who approved stage 1, and when */
	{
		struct rx_msg m;
		struct json_object *o;

		CU_ASSERT_FATAL(rx_get("/json", KF, "pending", 1, &m) == 0);
		o = json_tokener_parse(m.body);
		CU_ASSERT_EQUAL(
		    json_object_get_int(jpath(o, "request.stage.index")), 2);
		CU_ASSERT_STRING_EQUAL(
		    jstr(o, "request.stage.earlier.0.approved_by.0.name"),
		    "Diego Siciliani");
		CU_ASSERT(when_ok(
		    jstr(o, "request.stage.earlier.0.approved_by.0.at"),
		    jstr(o, "request.stage.earlier.0.approved_by.0.at_text")));
		json_object_put(o);
		free(m.body);
		CU_ASSERT_FATAL(rx_wait("/slack", KF, "pending", 200, 2) == 0);
		CU_ASSERT_FATAL(rx_get("/slack", KF, "pending", 1, &m) == 0);
		o = json_tokener_parse(m.body);
		CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "blocks.1.text.text"),
		    "*Earlier stages:* 1 (ciso): approved by Diego Siciliani "
		    "(ciso@contoso.com) at "));
		json_object_put(o);
		free(m.body);
	}
	l2 = link_for(KF, "pending", 1, "jordan@contoso.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l2);
	CU_ASSERT(web_says(l2, NULL, 200, "2 of 2 (secops)"));
	/* the stage before, who approved it and when */
	CU_ASSERT(web_says(l2, NULL, 200,
	    "<th>Stage 1 (ciso)</th><td>approved by Diego Siciliani "
	    "(ciso@contoso.com) at "));
	CU_ASSERT(web_says(l2, NULL, 200, "morgan@contoso.com"));
	CU_ASSERT(web_says(
	    l2, "decision=deny&reason=not+now", 200, "Denial recorded"));
	CU_ASSERT(wait_state(KF, "rejected") == 0);
	CU_ASSERT(web_says(l2, NULL, 410, "already used"));
	CU_ASSERT(wait_decision_audit(
	              KF, "deny", "jordan@contoso.com", "decision link") == 0);
	CU_ASSERT_EQUAL(decision_audits(KF), 2); /* stage 1, stage 2 */
	assert_truth(KF, 0);
	/* finished: its approver sets go at the next prune */
	CU_ASSERT_EQUAL(napprovers(KF, 2), 2);
	clock_advance(1);
	CU_ASSERT(wait_approvers(KF, 2, 0) == 0);
	CU_ASSERT(wait_approvers(KF, 1, 0) == 0);
	free(l1);
	free(other);
	free(l2);
}

/* An expired link changes nothing; the request is still decided. */
static void
test_expired(void)
{
	char *k = create("links-one expiring"), *url;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(rx_wait("/json", k, "pending", 200, 1) == 0);
	url = link_for(k, "pending", 0, "ciso@contoso.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(url);
	CU_ASSERT(web_says(url, NULL, 200, "Approval needed"));
	clock_advance(700); /* ttl PT10M */
	CU_ASSERT(web_says(url, NULL, 410, "expired"));
	CU_ASSERT(
	    web_says(url, "decision=approve&reason=late", 410, "expired"));
	CU_ASSERT(wait_state(k, "pending") == 0);
	assert_undecided(k);
	decide(k, "approve", CISO_ID, "ok");
	CU_ASSERT(wait_state(k, "approved") == 0);
	CU_ASSERT(wait_decision_audit(
	              k, "approve", "ciso@contoso.com", "control socket") == 0);
	CU_ASSERT_EQUAL(decision_audits(k), 1);
	assert_truth(k, 1);
	free(url);
	free(k);
}

static void
test_links_total(void)
{
	CU_ASSERT_EQUAL(emu_truth_total(&E), 3);
}

static const struct cu_test link_tests[] = {
	{ "tampering with any byte", test_tamper },
	{ "page, justification, approve once", test_approve_once },
	{ "wrong stage refused, deny by link", test_wrong_stage_and_deny },
	{ "expired link", test_expired },
	{ "one Graph decision per request", test_links_total },
	{ NULL, NULL },
};

/* ==== suite entra ========================================================== */

/* A delegated token for `who` from the emulator (heap). */
static char *
emu_token(const char *who)
{
	char body[256], *tok = NULL;
	struct json_object *o, *v;
	long st;

	snprintf(body, sizeof(body), "{\"user\":\"%s\"}", who);
	o = emu_json(&E, "POST", "/_emulator/token", body, &st);
	if (o != NULL && json_object_object_get_ex(o, "access_token", &v))
		tok = strdup(json_object_get_string(v));
	json_object_put(o);
	return tok;
}

/* The URL of the request's approval step on Graph (heap). */
static char *
step_url(const char *key, const char *tok)
{
	char url[700], *resp = NULL, *u = NULL;
	struct json_object *o;

	snprintf(url, sizeof(url),
	    "%s/beta/identityGovernance/permissionsManagement/"
	    "scheduledPermissionsApprovals/%s/steps",
	    E.url, key + strlen("permissions:"));
	if (h_http(E.ca, "GET", url, tok, NULL, &resp) == 200 &&
	    (o = json_tokener_parse(resp)) != NULL) {
		if (strlen(jstr(o, "value.0.id")) > 0 &&
		    asprintf(&u, "%s/%s", url, jstr(o, "value.0.id")) == -1)
			u = NULL;
		json_object_put(o);
	}
	free(resp);
	return u;
}

/* `who` reviews the request's step on Graph (as in Entra); the HTTP
 * status. With `fault` 1, reading the steps fails from then on; with 2,
 * the next read of the steps is answered 3.5 s late (polls go on). */
static long
entra_review(const char *key, const char *who, const char *verdict, int fault)
{
	char *tok = emu_token(who), *url = tok ? step_url(key, tok) : NULL,
	     body[256];
	long st = 0;

	if (url != NULL) {
		if (fault == 1 &&
		    emu_fault(&E, "{\"method\":\"GET\",\"path\":\"/beta/"
		                  "identityGovernance/permissionsManagement/"
		                  "scheduledPermissionsApprovals/*/steps\","
		                  "\"kind\":\"status\",\"status\":403}") == -1)
			goto out;
		if (fault == 2 &&
		    emu_fault(&E, "{\"method\":\"GET\",\"path\":\"/beta/"
		                  "identityGovernance/permissionsManagement/"
		                  "scheduledPermissionsApprovals/*/steps\","
		                  "\"kind\":\"delay\",\"delayMs\":3500,"
		                  "\"count\":1}") == -1)
			goto out;
		snprintf(body, sizeof(body),
		    "{\"reviewResult\":\"%s\",\"justification\":"
		    "\"in Entra\"}",
		    verdict);
		st = h_http(E.ca, "PATCH", url, tok, body, NULL);
	}
out:
	free(url);
	free(tok);
	return st;
}

/* The caller of the request's only truth decision. */
static char *
truth_caller(const char *key)
{
	struct json_object *o, *d, *e;
	char *who = NULL;
	size_t i;

	if ((o = emu_json(&E, "GET", "/_emulator/truth", NULL, NULL)) == NULL)
		return NULL;
	if (json_object_object_get_ex(o, "decisions", &d))
		for (i = 0; i < json_object_array_length(d); i++) {
			e = json_object_array_get_idx(d, i);
			if (who == NULL &&
			    strcmp(jstr(e, "requestId"),
			        key + strlen("permissions:")) == 0)
				who = strdup(jstr(e, "caller.upn"));
		}
	json_object_put(o);
	return who;
}

static void
test_entra_approve(void)
{
	char *k = create("links-two approved in Entra"), *t, *who;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	CU_ASSERT_EQUAL(entra_review(k, "ciso@contoso.com", "Approve", 0), 204);
	CU_ASSERT(wait_state(k, "approved") == 0);
	t = timeline(k);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "decision_approve"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(t, "approve by ciso@contoso.com (stage 1) via Entra\""));
	free(t);
	CU_ASSERT(rx_wait("/json", k, "approved", 200, 1) == 0);
	assert_truth(k, 1);
	who = truth_caller(k);
	CU_ASSERT(who != NULL && strcmp(who, "ciso@contoso.com") == 0);
	free(who);
	/* a decision through us afterwards changes nothing */
	decide(k, "approve", CISO_ID, "refused");
	assert_truth(k, 1);
	CU_ASSERT(wait_decision_audit(
	              k, "approve", "ciso@contoso.com", "Entra") == 0);
	CU_ASSERT_EQUAL(decision_audits(k), 1);
	CU_ASSERT_EQUAL(
	    decision_lines(k, "approve", "ciso@contoso.com", "Entra"), 1);
	free(k);
}

static void
test_entra_deny_outsider(void)
{
	char *k = create("links-two denied in Entra"), *t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	CU_ASSERT_EQUAL(entra_review(k, "jordan@contoso.com", "Deny", 0), 204);
	CU_ASSERT(wait_state(k, "rejected") == 0);
	t = timeline(k);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "decision_deny"));
	/* Graph's reviewedBy is an identity {id, displayName}: someone who
	 * is not an approver of the stage is named by object id. */
	CU_ASSERT_PTR_NOT_NULL(strstr(t,
	    "deny by " JORDAN_ID " (stage 1) via Entra; not an eligible "
	    "approver of this stage"));
	free(t);
	CU_ASSERT(wait_decision_audit(k, "deny", JORDAN_ID, "Entra") == 0);
	assert_truth(k, 0);
	free(k);
}

/* The step cannot be read: the observation is recorded as it is, once. */
static void
test_entra_step_unreadable(void)
{
	char *k = create("links-two step unreadable"), *t;
	long st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	CU_ASSERT_EQUAL(
	    entra_review(k, "morgan@contoso.com", "Approve", 1), 204);
	CU_ASSERT(wait_state(k, "approved") == 0);
	json_object_put(emu_json(&E, "DELETE", "/_emulator/faults", NULL, &st));
	t = timeline(k);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "approved (step not read)"));
	CU_ASSERT_PTR_NULL(strstr(t, "via Entra"));
	free(t);
	/* once the transition is committed: no decision row, nobody known */
	{
		char sql[600];

		snprintf(sql, sizeof(sql),
		    "SELECT count(*) FROM audit WHERE key = '%s' AND kind = "
		    "'transition' AND json_extract(detail, '$.to') = "
		    "'approved'",
		    k);
		CU_ASSERT(sql_wait(A.state, sql, 1, WAIT_MS) == 0);
		CU_ASSERT_EQUAL(decision_audits(k), 0);
	}
	/* who decided in Entra is not known, but that it was decided is */
	CU_ASSERT_EQUAL(decision_lines(k, "approve", "-", "Entra"), 1);
	assert_truth(k, 1);
	free(k);
}

/* Polls while the step is being read write nothing (statemachine:
 * decider_reading): the observation is recorded once (pending -> pending,
 * read_decider), then the decision once. */
static void
test_entra_step_slow(void)
{
	char *k = create("links-two step read slowly"), sql[600];

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(wait_approvers(k, 1, 1) == 0);
	CU_ASSERT_EQUAL(entra_review(k, "ciso@contoso.com", "Approve", 2), 204);
	CU_ASSERT(wait_state(k, "approved") == 0);
	CU_ASSERT(wait_decision_audit(
	              k, "approve", "ciso@contoso.com", "Entra") == 0);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM audit WHERE key = '%s' AND kind = "
	    "'transition' AND json_extract(detail, '$.event') = "
	    "'graph_approved'",
	    k);
	CU_ASSERT_EQUAL(sql_count(A.state, sql), 1);
	CU_ASSERT_EQUAL(decision_audits(k), 1);
	assert_truth(k, 1);
	free(k);
}

static void
test_entra_total(void)
{
	CU_ASSERT_EQUAL(emu_truth_total(&E), 4);
}

static const struct cu_test entra_tests[] = {
	{ "approved in Entra: the stage's decision", test_entra_approve },
	{ "denied in Entra by an outsider", test_entra_deny_outsider },
	{ "step unreadable: recorded as observed", test_entra_step_unreadable },
	{ "step read slowly: polls meanwhile record nothing",
	    test_entra_step_slow },
	{ "one Graph decision per request", test_entra_total },
	{ NULL, NULL },
};

/* ==== suite groups ========================================================= */

#define PROD_ADMINS "2b5ed229-4072-478d-9504-a047ebd4b07d"

static int
groups_start(void)
{
	stack_groups = 1;
	return stack_start();
}

/* A PIM for Groups request by alex for Prod Admins (heap id). */
static char *
group_create(const char *justification)
{
	char *text, *id = NULL, *body = NULL;
	struct json_object *o, *req, *v;
	long st;

	if ((text = cu_slurp(cu_srcpath("examples/requests/"
	                                "group-request-self-activate.json"),
	         NULL)) == NULL ||
	    (req = json_tokener_parse(text)) == NULL) {
		free(text);
		return NULL;
	}
	free(text);
	json_object_object_add(
	    req, "groupId", json_object_new_string(PROD_ADMINS));
	json_object_object_add(
	    req, "justification", json_object_new_string(justification));
	if (asprintf(&body,
	        "{\"requestor\":\"alex@contoso.com\",\"source\":\"group\","
	        "\"body\":%s}",
	        json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN)) !=
	    -1) {
		o = emu_json(&E, "POST", "/_emulator/requests", body, &st);
		if (o != NULL && st == 201 &&
		    json_object_object_get_ex(o, "id", &v))
			id = strdup(json_object_get_string(v));
		json_object_put(o);
	}
	json_object_put(req);
	free(body);
	return id;
}

/* The group's name (GET /v1.0/groups/{id}?$select=id,displayName) next to
 * its id; while Graph refuses it, the raw id alone and the notification
 * goes out all the same; once Graph answers again, the name. */
static void
test_group_name(void)
{
	char *id, key[128];
	struct rx_msg m;
	struct json_object *o;
	int i, named = 0;
	long st;

	CU_ASSERT_FATAL(
	    emu_fault(&E, "{\"method\":\"GET\",\"path\":"
	                  "\"/v1.0/groups/" PROD_ADMINS "\","
	                  "\"kind\":\"status\",\"status\":403}") == 0);
	id = group_create("group-names please");
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	snprintf(key, sizeof(key), "group:%s", id);
	CU_ASSERT_FATAL(rx_wait("/json", key, "pending", 200, 1) == 0);
	CU_ASSERT_FATAL(rx_get("/json", key, "pending", 0, &m) == 0);
	o = json_tokener_parse(m.body);
	CU_ASSERT_STRING_EQUAL(jstr(o, "request.group.id"), PROD_ADMINS);
	CU_ASSERT_PTR_NULL(jpath(o, "request.group.name"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(jstr(o, "request.asks"), "of group " PROD_ADMINS " ("));
	CU_ASSERT_STRING_EQUAL(
	    jstr(o, "request.requestor.name"), "Alex Wilber");
	json_object_put(o);
	free(m.body);
	CU_ASSERT(emu_count_calls(&E, "GET", "/v1.0/groups/" PROD_ADMINS) >= 1);
	json_object_put(emu_json(&E, "DELETE", "/_emulator/faults", NULL, &st));
	/* the failure stands for a while, then the name is asked again:
	 * a reminder after that names the group */
	for (i = 1; i <= 4 && !named; i++) {
		clock_advance(3700);
		CU_ASSERT_FATAL(rx_wait("/json", key, "reminder", 200, i) == 0);
		CU_ASSERT_FATAL(
		    rx_get("/json", key, "reminder", i - 1, &m) == 0);
		o = json_tokener_parse(m.body);
		if (jpath(o, "request.group.name") != NULL) {
			named = 1;
			CU_ASSERT_STRING_EQUAL(
			    jstr(o, "request.group.name"), "Prod Admins");
			CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "request.asks"),
			    "of group Prod Admins (" PROD_ADMINS ")"));
			CU_ASSERT_PTR_NOT_NULL(
			    strstr(jstr(o, "title"), "Prod Admins"));
		}
		json_object_put(o);
		free(m.body);
	}
	CU_ASSERT(named);
	CU_ASSERT(wait_state(key, "pending") == 0);
	free(id);
}

static const struct cu_test group_tests[] = {
	{ "group name next to its id, a failed lookup falls back",
	    test_group_name },
	{ NULL, NULL },
};

/* ==== suite browser ======================================================== */

struct wd {
	struct proc p;
	char url[64];
	char session[128];
};

static struct wd W;

/* One WebDriver command; the reply's "value" (caller puts) or NULL. */
static struct json_object *
wd_cmd(const char *method, const char *path, const char *body)
{
	char url[512], *resp = NULL;
	struct json_object *o, *v = NULL;

	snprintf(url, sizeof(url), "%s%s", W.url, path);
	h_http(NULL, method, url, NULL, body, &resp);
	if (resp != NULL && (o = json_tokener_parse(resp)) != NULL) {
		if (json_object_object_get_ex(o, "value", &v))
			v = json_object_get(v);
		json_object_put(o);
	}
	free(resp);
	return v;
}

static int
wd_up(void *arg)
{
	struct json_object *v = wd_cmd("GET", "/status", NULL), *r;
	int ok = v != NULL && json_object_object_get_ex(v, "ready", &r) &&
	         json_object_get_boolean(r);

	json_object_put(v);
	return ok;
}

static char *
wd_find(const char *css)
{
	char path[256], body[256];
	struct json_object *v, *id;
	char *eid = NULL;

	snprintf(path, sizeof(path), "/session/%s/element", W.session);
	snprintf(body, sizeof(body),
	    "{\"using\":\"css selector\",\"value\":\"%s\"}", css);
	v = wd_cmd("POST", path, body);
	if (v != NULL && json_object_object_get_ex(
	                     v, "element-6066-11e4-a52e-4f735466cecf", &id))
		eid = strdup(json_object_get_string(id));
	json_object_put(v);
	return eid;
}

static char *
wd_text(const char *css)
{
	char path[256], *eid = wd_find(css), *t = NULL;
	struct json_object *v;

	if (eid == NULL)
		return NULL;
	snprintf(
	    path, sizeof(path), "/session/%s/element/%s/text", W.session, eid);
	v = wd_cmd("GET", path, NULL);
	if (v != NULL && json_object_is_type(v, json_type_string))
		t = strdup(json_object_get_string(v));
	json_object_put(v);
	free(eid);
	return t;
}

/* Save a screenshot (PNG) of the page under the build tree. */
static int
wd_screenshot(const char *name)
{
	char path[256], file[700];
	struct json_object *v = NULL;
	const char *b64;
	unsigned char *png = NULL;
	int n, rc = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/session/%s/screenshot", W.session);
	if ((v = wd_cmd("GET", path, NULL)) == NULL ||
	    !json_object_is_type(v, json_type_string))
		goto out;
	b64 = json_object_get_string(v);
	if ((png = malloc(strlen(b64))) == NULL ||
	    (n = EVP_DecodeBlock(
	         png, (const unsigned char *)b64, (int)strlen(b64))) <= 8 ||
	    memcmp(png, "\x89PNG", 4) != 0)
		goto out;
	/* EVP_DecodeBlock counts the padding as bytes */
	for (b64 += strlen(b64); *--b64 == '=';)
		n--;
	snprintf(file, sizeof(file), "%s", cu_buildpath("tests/integration"));
	snprintf(file + strlen(file), sizeof(file) - strlen(file), "/%s", name);
	if ((f = fopen(file, "wb")) == NULL)
		goto out;
	rc = fwrite(png, 1, (size_t)n, f) == (size_t)n ? 0 : -1;
	fclose(f);
	if (rc == 0)
		fprintf(stderr, "screenshot: %s\n", file);
out:
	free(png);
	json_object_put(v);
	return rc;
}

static int
browser_init(void)
{
	char bin[] = "/usr/bin/chromedriver", port[32], log[700], *argv[4];
	struct json_object *v, *s;
	int p;

	if (stack_start() == -1 || (p = h_free_port()) == -1)
		return -1;
	snprintf(port, sizeof(port), "--port=%d", p);
	snprintf(log, sizeof(log), "%s/chromedriver.log", A.dir);
	snprintf(W.url, sizeof(W.url), "http://127.0.0.1:%d", p);
	argv[0] = bin;
	argv[1] = port;
	argv[2] = NULL;
	if (access(bin, X_OK) != 0) {
		fprintf(stderr, "chromedriver not installed (make deps)\n");
		return -1;
	}
	if (h_spawn(&W.p, argv, NULL, log) == -1 ||
	    h_until(wd_up, NULL, 20000) == -1)
		return -1;
	v = wd_cmd("POST", "/session",
	    "{\"capabilities\":{\"alwaysMatch\":{\"browserName\":\"chrome\","
	    "\"goog:chromeOptions\":{\"binary\":\"/usr/bin/chromium\","
	    "\"args\":[\"--headless=new\",\"--no-sandbox\",\"--disable-gpu\","
	    "\"--disable-dev-shm-usage\",\"--window-size=1000,1000\"]}}}}");
	if (v != NULL && json_object_object_get_ex(v, "sessionId", &s))
		snprintf(W.session, sizeof(W.session), "%s",
		    json_object_get_string(s));
	json_object_put(v);
	return W.session[0] ? 0 : -1;
}

static int
browser_clean(void)
{
	char path[256];

	if (W.session[0]) {
		snprintf(path, sizeof(path), "/session/%s", W.session);
		json_object_put(wd_cmd("DELETE", path, NULL));
	}
	if (W.p.pid > 0)
		h_stop(&W.p, SIGTERM, 10000);
	return stack_stop();
}

struct twant {
	const char *css, *text;
};

static int
page_says(void *arg)
{
	struct twant *w = arg;
	char *t = wd_text(w->css);
	int ok = t != NULL && strstr(t, w->text) != NULL;

	free(t);
	return ok;
}

/* Open the link, read the page, type a reason, click Approve. */
static void
test_browser_approve(void)
{
	char *k = create("links-one in a browser"), *url, path[256], body[1200],
	     *eid, *t;
	struct twant tw;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(rx_wait("/json", k, "pending", 200, 1) == 0);
	url = link_for(k, "pending", 0, "ciso@contoso.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(url);
	snprintf(path, sizeof(path), "/session/%s/url", W.session);
	snprintf(body, sizeof(body), "{\"url\":\"%s\"}", url);
	json_object_put(wd_cmd("POST", path, body));
	tw.css = "h1";
	tw.text = "Approval needed";
	CU_ASSERT_FATAL(h_until(page_says, &tw, WAIT_MS) == 0);
	t = wd_text("table");
	CU_ASSERT(t != NULL && strstr(t, "alex@contoso.com") != NULL &&
	          strstr(t, "links-one in a browser") != NULL &&
	          strstr(t, "ciso@contoso.com") != NULL);
	free(t);
	t = wd_text("#asks");
	CU_ASSERT(t != NULL && strstr(t, "Azure role") != NULL);
	free(t);
	eid = wd_find("textarea[name=reason]");
	CU_ASSERT_PTR_NOT_NULL_FATAL(eid);
	snprintf(
	    path, sizeof(path), "/session/%s/element/%s/value", W.session, eid);
	json_object_put(wd_cmd(
	    "POST", path, "{\"text\":\"checked in a headless browser\"}"));
	free(eid);
	CU_ASSERT(wd_screenshot("decision-page.png") == 0);
	eid = wd_find("button[value=approve]");
	CU_ASSERT_PTR_NOT_NULL_FATAL(eid);
	snprintf(
	    path, sizeof(path), "/session/%s/element/%s/click", W.session, eid);
	json_object_put(wd_cmd("POST", path, "{}"));
	free(eid);
	tw.css = "#message";
	tw.text = "Recorded: you approved this request";
	CU_ASSERT(h_until(page_says, &tw, WAIT_MS) == 0);
	CU_ASSERT(wd_screenshot("decision-recorded.png") == 0);
	CU_ASSERT(wait_state(k, "approved") == 0);
	t = timeline(k);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "via decision link: checked in a "
	                                 "headless browser"));
	free(t);
	assert_truth(k, 1);
	CU_ASSERT_EQUAL(emu_truth_total(&E), 1);
	free(url);
	free(k);
}

/* The page's layout at a window of `width` px: the viewport width, the
 * document's scroll width and how many elements stick out on the right
 * (WebDriver executes the script outside the page's CSP). */
static int
wd_layout(int width, int *inner, int *scroll, int *out)
{
	char path[256], body[256];
	struct json_object *v, *o;
	int rc = -1;

	snprintf(path, sizeof(path), "/session/%s/window/rect", W.session);
	snprintf(body, sizeof(body), "{\"width\":%d,\"height\":900}", width);
	json_object_put(wd_cmd("POST", path, body));
	snprintf(path, sizeof(path), "/session/%s/execute/sync", W.session);
	v = wd_cmd("POST", path,
	    "{\"script\":\"var w=window.innerWidth,n=0;"
	    "document.querySelectorAll('body *').forEach(function(e){"
	    "if(e.getBoundingClientRect().right>w+0.5)n++;});"
	    "return JSON.stringify({w:w,"
	    "s:document.documentElement.scrollWidth,n:n});\",\"args\":[]}");
	if (v != NULL && json_object_is_type(v, json_type_string) &&
	    (o = json_tokener_parse(json_object_get_string(v))) != NULL) {
		*inner = json_object_get_int(jpath(o, "w"));
		*scroll = json_object_get_int(jpath(o, "s"));
		*out = json_object_get_int(jpath(o, "n"));
		json_object_put(o);
		rc = 0;
	}
	json_object_put(v);
	return rc;
}

/* A phone (390 px) and a desktop window: a justification that is one
 * long word and a long URL wrap instead of widening the page; the
 * screenshots are kept (decision-page-phone.png, -desktop.png). */
static void
test_browser_widths(void)
{
	char just[700], *k, *url, path[256], body[1200];
	struct twant tw;
	int inner = 0, scroll = 0, out = -1;

	snprintf(just, sizeof(just),
	    "links-one phone %0250d "
	    "https://example.com/a/very/long/path/without/any/spaces/at/all/"
	    "0123456789abcdef0123456789abcdef0123456789abcdef",
	    7);
	k = create(just);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_FATAL(rx_wait("/json", k, "pending", 200, 1) == 0);
	url = link_for(k, "pending", 0, "ciso@contoso.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(url);
	snprintf(path, sizeof(path), "/session/%s/url", W.session);
	snprintf(body, sizeof(body), "{\"url\":\"%s\"}", url);
	json_object_put(wd_cmd("POST", path, body));
	tw.css = "h1";
	tw.text = "Approval needed";
	CU_ASSERT_FATAL(h_until(page_says, &tw, WAIT_MS) == 0);
	CU_ASSERT_FATAL(wd_layout(390, &inner, &scroll, &out) == 0);
	fprintf(stderr, "phone: innerWidth %d scrollWidth %d outside %d\n",
	    inner, scroll, out);
	CU_ASSERT(inner > 300 && inner <= 390);
	CU_ASSERT(scroll <= inner);
	CU_ASSERT_EQUAL(out, 0);
	CU_ASSERT(wd_screenshot("decision-page-phone.png") == 0);
	CU_ASSERT_FATAL(wd_layout(1280, &inner, &scroll, &out) == 0);
	fprintf(stderr, "desktop: innerWidth %d scrollWidth %d outside %d\n",
	    inner, scroll, out);
	CU_ASSERT(inner > 1000);
	CU_ASSERT(scroll <= inner);
	CU_ASSERT_EQUAL(out, 0);
	CU_ASSERT(wd_screenshot("decision-page-desktop.png") == 0);
	decide(k, "deny", CISO_ID, "ok");
	CU_ASSERT(wait_state(k, "rejected") == 0);
	free(url);
	free(k);
}

static const struct cu_test browser_tests[] = {
	{ "decision page in headless Chromium", test_browser_approve },
	{ "decision page at phone and desktop width", test_browser_widths },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "notify", stack_start, stack_stop, notify_tests },
	{ "links", stack_start, stack_stop, link_tests },
	{ "entra", stack_start, stack_stop, entra_tests },
	{ "groups", groups_start, stack_stop, group_tests },
	{ "browser", browser_init, browser_clean, browser_tests },
	{ NULL, NULL, NULL, NULL },
};
