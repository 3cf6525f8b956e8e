/*
 * Decision links: GET/POST /v1/decide/TOKEN.
 *
 * TOKEN = base64url(payload) "." base64url(HMAC-SHA256(key, first part)),
 * payload = "1\n<request key>\n<stage>\n<stage start>\n<approver id>\n
 * <expiry>\n<nonce>". The MAC covers the encoded text, and is compared as
 * text, so a token has exactly one spelling. GET shows a small
 * server-rendered page (no JavaScript, strict CSP, not cached); POST
 * (a form) records the decision through decide_record(), the path the
 * control socket uses, bound to the token's stage; the nonce is stored in
 * the same batch, so a link works once. A tampered, expired, used or
 * stale link gets a page saying so and changes nothing. Tokens are never
 * logged. Without a signing key (or listener) links are off, said once
 * at start.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ident.h"
#include "limits.h"
#include "links.h"
#include "listen.h"
#include "log.h"
#include "parse.h"

/* Phone first: no fixed widths; long values (ids, URLs, a justification
 * without spaces) wrap anywhere instead of widening the page; under 36em
 * the table's names stack above their values. */
static const char lk_css[] =
    "*{box-sizing:border-box}"
    "body{font-family:system-ui,sans-serif;max-width:44em;margin:1em auto;"
    "padding:0 1em;color:#1f2328;line-height:1.4;"
    "overflow-wrap:anywhere;word-break:normal}"
    "h1{font-size:1.4em}table{border-collapse:collapse;margin:1em 0;"
    "width:100%}"
    "th{text-align:left;vertical-align:top;padding:.25em 1em .25em 0;"
    "width:11em}td{padding:.25em 0;overflow-wrap:anywhere}"
    "textarea{width:100%;min-height:5em;font:inherit}"
    "button{font-size:1.05em;padding:.45em 1.4em;margin:.8em .8em 0 0;"
    "border:0;border-radius:4px;color:#fff}"
    ".approve{background:#1a7f37}.deny{background:#cf222e}"
    ".note{background:#fff8c5;border:1px solid #d4a72c;padding:.6em}"
    ".bad{background:#ffebe9;border:1px solid #cf222e;padding:.6em}"
    ".ok{background:#dafbe1;border:1px solid #1a7f37;padding:.6em}"
    "@media (max-width:36em){th,td{display:block;width:auto}"
    "th{padding:.6em 0 0}td{padding:0 0 .25em}}";

/* ---- HTML ------------------------------------------------------------ */

static void
lk_esc(struct evbuffer *b, const char *s)
{
	for (; s != NULL && *s; s++)
		switch (*s) {
		case '&':
			evbuffer_add(b, "&amp;", 5);
			break;
		case '<':
			evbuffer_add(b, "&lt;", 4);
			break;
		case '>':
			evbuffer_add(b, "&gt;", 4);
			break;
		case '"':
			evbuffer_add(b, "&quot;", 6);
			break;
		case '\'':
			evbuffer_add(b, "&#39;", 5);
			break;
		default:
			evbuffer_add(b, s, 1);
		}
}

/* Append a printf-formatted string, HTML-escaped. */
static void lk_escf(struct evbuffer *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
lk_escf(struct evbuffer *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	lk_esc(b, s);
	free(s);
}

static void
lk_head(struct evbuffer *b, const char *title)
{
	evbuffer_add_printf(b,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\">"
	    "<title>approvald: ");
	lk_esc(b, title);
	evbuffer_add_printf(
	    b, "</title><style>%s</style></head><body>\n<h1>", lk_css);
	lk_esc(b, title);
	evbuffer_add_printf(b, "</h1>\n");
}

static void
lk_send(struct evhttp_request *req, int code, const char *reason,
    struct evbuffer *b)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evbuffer_add_printf(b, "\n</body></html>\n");
	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(h, "Content-Security-Policy",
	    "default-src 'none'; style-src 'unsafe-inline'; "
	    "form-action 'self'");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_send_reply(req, code, reason, b);
}

/* A page that only says why nothing happened (or what did). */
static void
lk_page(struct evhttp_request *req, int code, const char *reason,
    const char *title, const char *cls, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	lk_head(b, title);
	evbuffer_add_printf(b, "<p class=\"%s\" id=\"message\">", cls);
	lk_esc(b, text);
	evbuffer_add_printf(b, "</p>");
	lk_send(req, code, reason, b);
	evbuffer_free(b);
}

static void
lk_row(struct evbuffer *b, const char *name, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	evbuffer_add_printf(b, "<tr><th>");
	lk_esc(b, name);
	evbuffer_add_printf(b, "</th><td>");
	lk_esc(b, value);
	evbuffer_add_printf(b, "</td></tr>\n");
}

/* Comma-separated names of the principals in array `a`, skipping `skip`
 * (an approver id), into a heap string. */
static char *
lk_names(struct json_object *a, const char *skip)
{
	struct evbuffer *b = evbuffer_new();
	struct json_object *e;
	size_t i, n = 0, len;
	const char *w;
	char *s = NULL;

	if (b == NULL)
		return NULL;
	for (i = 0; a != NULL && i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		if (skip != NULL && summary_get(e, "id") != NULL &&
		    strcmp(summary_get(e, "id"), skip) == 0)
			continue;
		w = summary_who(e);
		evbuffer_add_printf(b, "%s%s", n++ ? ", " : "", w);
	}
	len = evbuffer_get_length(b);
	if ((s = malloc(len + 1)) != NULL) {
		evbuffer_copyout(b, s, len);
		s[len] = '\0';
	}
	evbuffer_free(b);
	return s;
}

/* The decision page for a valid link; `note` (may be NULL) says why the
 * last attempt was refused. */
static void
lk_decision_page(struct daemon *d, struct evhttp_request *req,
    const struct store_request *r, const struct sm_principal *me,
    const char *note, int code)
{
	struct json_object *sum = summary_build(d, r), *stage, *ticket, *v,
	                   *others;
	struct evbuffer *b = evbuffer_new();
	const char *deadline = NULL;
	char *names = NULL;
	int required = 0;
	size_t i;

	if (b == NULL || sum == NULL) {
		json_object_put(sum);
		if (b != NULL)
			evbuffer_free(b);
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	stage = json_object_object_get_ex(sum, "stage", &v) ? v : NULL;
	ticket = json_object_object_get_ex(sum, "ticket", &v) &&
	                 json_object_is_type(v, json_type_object)
	             ? v
	             : NULL;
	lk_head(b, "Approval needed");
	if (note != NULL) {
		evbuffer_add_printf(b, "<p class=\"bad\" id=\"message\">");
		lk_escf(b, "Not recorded: %s.", note);
		evbuffer_add_printf(b, "</p>\n");
	}
	if (json_object_object_get_ex(sum, "identity", &v) &&
	    summary_get(v, "warning") != NULL) {
		evbuffer_add_printf(b, "<p class=\"bad\" id=\"identity\">");
		lk_escf(b, "Warning: %s.", summary_get(v, "warning"));
		evbuffer_add_printf(b, "</p>\n");
	}
	evbuffer_add_printf(b, "<p id=\"asks\"><strong>");
	lk_esc(b, summary_get(sum, "asks"));
	evbuffer_add_printf(b, "</strong></p>\n<table>\n");
	json_object_object_get_ex(sum, "requestor", &v);
	lk_row(b, "Requested by", summary_who(v));
	if (json_object_object_get_ex(sum, "beneficiary", &v))
		lk_row(b, "For", summary_who(v));
	if (summary_get(sum, "duration_text") != NULL) {
		char t[256];

		snprintf(t, sizeof(t), "%s (%s)",
		    summary_get(sum, "duration_text"),
		    summary_get(sum, "duration") ? summary_get(sum, "duration")
		                                 : "?");
		lk_row(b, "Duration", t);
	}
	lk_row(b, "Justification", summary_get(sum, "justification"));
	lk_row(b, "Ticket", summary_get(ticket, "text"));
	lk_row(b, "Request", r->key);
	lk_row(b, "Rule", r->rule);
	if (stage != NULL) {
		char t[512];
		size_t got = 0;

		deadline = summary_get(stage, "deadline");
		required = json_object_object_get_ex(
		               stage, "justification_required", &v) &&
		           json_object_get_boolean(v);
		snprintf(t, sizeof(t), "%d of %d%s%s%s",
		    summary_int(stage, "index", 0), summary_int(stage, "of", 0),
		    summary_get(stage, "name") ? " (" : "",
		    summary_get(stage, "name") ? summary_get(stage, "name")
		                               : "",
		    summary_get(stage, "name") ? ")" : "");
		lk_row(b, "Stage", t);
		/* Who approved the stages before this one, and when. */
		if (json_object_object_get_ex(stage, "earlier", &v))
			for (i = 0; i < json_object_array_length(v); i++) {
				struct json_object
				    *st = json_object_array_get_idx(v, i),
				    *by = NULL;
				char h[128];

				json_object_object_get_ex(
				    st, "approved_by", &by);
				names = summary_names(by);
				snprintf(h, sizeof(h), "Stage %d%s%s%s",
				    summary_int(st, "index", 0),
				    summary_get(st, "name") ? " (" : "",
				    summary_get(st, "name")
				        ? summary_get(st, "name")
				        : "",
				    summary_get(st, "name") ? ")" : "");
				snprintf(t, sizeof(t), "approved by %s",
				    names && *names ? names : "(nobody)");
				free(names);
				lk_row(b, h, t);
			}
		v = NULL;
		if (json_object_object_get_ex(stage, "approved_by", &v))
			got = json_object_array_length(v);
		names = summary_names(v);
		snprintf(t, sizeof(t), "%zu of %d needed%s%s", got,
		    summary_int(stage, "needed", 1),
		    names && *names ? ": " : "", names ? names : "");
		free(names);
		lk_row(b, "Approvals", t);
		others = summary_approvers(d, r, r->sm.stage, 0);
		names = lk_names(others, me->id);
		lk_row(b, "Who else may decide", names);
		free(names);
		json_object_put(others);
		if (json_object_object_get_ex(stage, "later", &v) &&
		    json_object_array_length(v) > 0) {
			struct evbuffer *lb = evbuffer_new();

			for (i = 0;
			     lb != NULL && i < json_object_array_length(v); i++)
				evbuffer_add_printf(lb, "%s%s", i ? ", " : "",
				    json_object_get_string(
				        json_object_array_get_idx(v, i)));
			if (lb != NULL) {
				evbuffer_add(lb, "", 1);
				lk_row(b, "Then",
				    (const char *)evbuffer_pullup(lb, -1));
				evbuffer_free(lb);
			}
		}
		if (deadline != NULL) {
			snprintf(t, sizeof(t), "until %s (%s)",
			    summary_get(stage, "deadline_text")
			        ? summary_get(stage, "deadline_text")
			        : "?",
			    deadline);
			lk_row(b, "Decide by", t);
		} else
			lk_row(b, "Decide by", "no deadline");
	}
	{
		const char *nm = me->id[0] ? ident_name(d, 0, me->id) : NULL;
		char t[SM_ID_MAX * 2 + 8];

		snprintf(t, sizeof(t), "%s%s%s%s", nm ? nm : "", nm ? " (" : "",
		    me->upn[0] ? me->upn : me->id, nm ? ")" : "");
		lk_row(b, "You decide as", t);
	}
	evbuffer_add_printf(b,
	    "</table>\n<form method=\"post\">\n"
	    "<label for=\"reason\">Reason%s</label>\n"
	    "<textarea id=\"reason\" name=\"reason\" "
	    "maxlength=\"%d\"%s></textarea>\n"
	    "<button class=\"approve\" type=\"submit\" "
	    "name=\"decision\" value=\"approve\">Approve"
	    "</button><button class=\"deny\" type=\"submit\" "
	    "name=\"decision\" value=\"deny\">Deny</button>\n"
	    "</form>",
	    required ? " (required)" : " (optional)", LINK_MAX_REASON,
	    required ? " required" : "");
	lk_send(req, code, code == 200 ? "OK" : "Unprocessable Entity", b);
	evbuffer_free(b);
	json_object_put(sum);
}

/* ---- requests -------------------------------------------------------- */

/* Log a refused link at the listener's bounded rate (never the token). */
static void
lk_bad(struct daemon *d, struct evhttp_request *req, const char *why)
{
	httpd_log_refused(d, req, "decision link", why);
}

/* Checks shared by GET and POST. 0 with the request loaded into *r and
 * the deciding approver into *me; -1 when a page was sent. */
static int
lk_check(struct daemon *d, struct evhttp_request *req, const char *tok,
    struct lk_token *t, struct store_request *r, struct sm_principal *me)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if (links_parse(d, tok, t) == -1) {
		lk_bad(d, req, "bad signature or malformed");
		lk_page(req, 403, "Forbidden", "Invalid link", "bad",
		    "This decision link is not valid: it was changed or "
		    "truncated. Use the link exactly as you received it.");
		return -1;
	}
	if (clock_now() >= t->expires) {
		lk_bad(d, req, "expired");
		lk_page(req, 410, "Gone", "Link expired", "bad",
		    "This decision link has expired. Nothing was recorded; "
		    "ask for a new link or use approvalctl decide.");
		return -1;
	}
	if ((rc = links_used(d, t->nonce)) != 0) {
		if (rc == 1)
			lk_bad(d, req, "already used");
		lk_page(req, rc == 1 ? 410 : 500,
		    rc == 1 ? "Gone" : "Internal Server Error",
		    rc == 1 ? "Link already used" : "Error", "bad",
		    rc == 1 ? "This decision link was already used; a link "
		              "records one decision only. Nothing changed."
		            : "The decision could not be checked. Nothing was "
		              "recorded; try again later.");
		return -1;
	}
	if (store_request_get(d->store, t->key, r) != 0) {
		lk_page(req, 404, "Not Found", "Unknown request", "bad",
		    "This request is not known here. Nothing was recorded.");
		return -1;
	}
	if ((r->sm.state != SM_S_PENDING && r->sm.state != SM_S_ESCALATED) ||
	    r->sm.stage != t->stage || r->sm.stage_started != t->started) {
		char text[256];

		lk_bad(d, req, "stage moved on");
		snprintf(text, sizeof(text),
		    "This request no longer waits for this stage (it is now "
		    "%s%s). Nothing was recorded.",
		    sm_state_name(r->sm.state),
		    r->sm.state == SM_S_PENDING || r->sm.state == SM_S_ESCALATED
		        ? " in another stage"
		        : "");
		lk_page(req, 409, "Conflict", "Decision closed", "note", text);
		store_request_clear(r);
		return -1;
	}
	memset(me, 0, sizeof(*me));
	if ((rc = approvers_lookup(d, r->key, r->sm.stage, t->approver, me)) !=
	    1) {
		lk_page(req, rc == 0 ? 403 : 500,
		    rc == 0 ? "Forbidden" : "Internal Server Error",
		    "Not an approver", "bad",
		    "You are not (or no longer) an approver of this stage. "
		    "Nothing was recorded.");
		store_request_clear(r);
		return -1;
	}
	return 0;
}

/* What a state means to the approver who just decided. */
static const char *
lk_state_text(const char *state)
{
	if (strcmp(state, "pending") == 0)
		return "waiting for the next stage";
	if (strcmp(state, "approving") == 0)
		return "being approved on Graph";
	if (strcmp(state, "rejecting") == 0)
		return "being denied on Graph";
	return state;
}

/* A decision or page waiting for the decider's membership on Graph. */
struct lk_op {
	struct daemon *d;
	struct evhttp_request *req;
	struct lk_token t;
	struct sm_principal me;
	int approve;
};

/* The page for a decider whose membership refused the link. */
static void
lk_membership_page(struct evhttp_request *req, enum elig_result elig)
{
	if (elig == ELIG_NO)
		lk_page(req, 403, "Forbidden", "Not an approver", "bad",
		    "You are no longer an approver for this request. Nothing "
		    "was recorded.");
	else
		lk_page(req, 503, "Service Unavailable", "Not verified", "bad",
		    "We could not verify your membership, try again. Nothing "
		    "was recorded.");
}

static void
lk_decided(void *arg, enum sm_result res, const char *why, const char *state,
    enum elig_result elig)
{
	struct lk_op *op = arg;
	struct daemon *d = op->d;
	struct evhttp_request *req = op->req;
	struct store_request r;
	char text[512];

	if (elig != ELIG_YES) {
		lk_bad(d, req,
		    elig == ELIG_NO ? "decider no longer an approver"
		                    : "membership not verified");
		lk_membership_page(req, elig);
		free(op);
		return;
	}
	if (res == SM_OK && batch_commit(d) == -1) {
		res = SM_REFUSED;
		why = "the decision could not be stored; try again";
	}
	memset(&r, 0, sizeof(r));
	if (res == SM_OK) {
		log_info("links: %s %s stage %u by %s",
		    op->approve ? "approve" : "deny", op->t.key,
		    op->t.stage + 1, op->me.id[0] ? op->me.id : op->me.upn);
		snprintf(text, sizeof(text),
		    "Recorded: you %s this request as %s. It is now %s.",
		    op->approve ? "approved" : "denied",
		    op->me.upn[0] ? op->me.upn : op->me.id,
		    lk_state_text(state));
		lk_page(req, 200, "OK",
		    op->approve ? "Approval recorded" : "Denial recorded", "ok",
		    text);
	} else if (res == SM_NOOP) {
		snprintf(text, sizeof(text), "Nothing changed: %s.",
		    why ? why : "already recorded");
		lk_page(req, 200, "OK", "Already recorded", "note", text);
	} else if (store_request_get(d->store, op->t.key, &r) == 0)
		lk_decision_page(
		    d, req, &r, &op->me, why ? why : "refused", 422);
	else
		lk_page(req, 409, "Conflict", "Not recorded", "bad",
		    why ? why : "refused");
	store_request_clear(&r);
	free(op);
}

/* GET: the page once Graph confirms the decider is still an approver. */
static void
lk_shown(void *arg, enum elig_result elig, const char *why)
{
	struct lk_op *op = arg;
	struct store_request r;

	(void)why;
	memset(&r, 0, sizeof(r));
	if (elig != ELIG_YES) {
		lk_bad(op->d, op->req,
		    elig == ELIG_NO ? "decider no longer an approver"
		                    : "membership not verified");
		lk_membership_page(op->req, elig);
	} else if (store_request_get(op->d->store, op->t.key, &r) == 0)
		lk_decision_page(op->d, op->req, &r, &op->me, NULL, 200);
	else
		lk_page(op->req, 404, "Not Found", "Unknown request", "bad",
		    "This request is not known here. Nothing was recorded.");
	store_request_clear(&r);
	free(op);
}

static void
lk_post(struct daemon *d, struct evhttp_request *req, const char *tok)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct lk_token t;
	struct store_request r;
	struct sm_principal me;
	struct decide_in q;
	struct lk_op *op;
	const char *ct;
	char *body = NULL, clean[LINK_MAX_REASON * 4 + 1];
	size_t n = evbuffer_get_length(in);
	int approve = 0;

	ct = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type");
	if (ct == NULL ||
	    strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 ||
	    n > LINK_MAX_FORM || (body = malloc(n + 1)) == NULL) {
		lk_page(req, 400, "Bad Request", "Bad request", "bad",
		    "Send the form of the decision page. Nothing was "
		    "recorded.");
		return;
	}
	evbuffer_copyout(in, body, n);
	body[n] = '\0';
	if (lk_check(d, req, tok, &t, &r, &me) == -1) {
		free(body);
		return;
	}
	if (parse_decision_form(body, &approve, clean, sizeof(clean)) == -1) {
		lk_decision_page(d, req, &r, &me,
		    "choose Approve or Deny (and keep the reason short)", 422);
		goto out;
	}
	memset(&q, 0, sizeof(q));
	q.key = r.key;
	q.approve = approve;
	q.who = me.id[0] ? me.id : me.upn;
	q.reason = clean;
	q.via = DECIDE_LINK;
	q.bind_stage = 1;
	q.stage = t.stage;
	q.started = t.started;
	q.nonce = t.nonce;
	q.nonce_expires = t.expires;
	if ((op = calloc(1, sizeof(*op))) == NULL) {
		lk_page(req, 500, "Internal Server Error", "Error", "bad",
		    "Nothing was recorded; try again later.");
		goto out;
	}
	op->d = d;
	op->req = req;
	op->t = t;
	op->me = me;
	op->approve = q.approve;
	d->eng->decide(d, &q, lk_decided, op);
out:
	store_request_clear(&r);
	free(body);
}

/* GET/POST /v1/decide/TOKEN (the listener answers other methods 405). */
static void
links_serve(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	struct lk_token t;
	struct store_request r;
	struct sm_principal me;
	struct lk_op *op;
	char tok[LINK_MAX_TOKEN + 1];
	size_t n;

	/* The listener routed the path here: it starts with LINK_PREFIX. */
	if (path == NULL || strlen(path) < strlen(LINK_PREFIX)) {
		lk_page(req, 404, "Not Found", "Not found", "bad",
		    "There is nothing here.");
		return;
	}
	path += strlen(LINK_PREFIX);
	n = strlen(path);
	if (!links_on(d)) {
		lk_page(req, 404, "Not Found", "Decision links are off", "bad",
		    "Decision links are not enabled on this server.");
		return;
	}
	if (n > LINK_MAX_TOKEN) {
		lk_bad(d, req, "too long");
		lk_page(req, 403, "Forbidden", "Invalid link", "bad",
		    "This decision link is not valid.");
		return;
	}
	memcpy(tok, path, n);
	tok[n] = '\0';
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST)
		lk_post(d, req, tok);
	else if (lk_check(d, req, tok, &t, &r, &me) == 0) {
		if ((op = calloc(1, sizeof(*op))) == NULL)
			lk_page(req, 500, "Internal Server Error", "Error",
			    "bad", "Try again later.");
		else {
			op->d = d;
			op->req = req;
			op->t = t;
			op->me = me;
			eligible_check(d, &r, &me, lk_shown, op);
		}
		store_request_clear(&r);
	}
}

/* The listener's route: GET and POST, rate limited per peer like every
 * public endpoint (a link is guessable by nobody, but tried by anyone). */
int
links_register(struct daemon *d, char **err)
{
	if (httpd_route(d, LINK_PREFIX, EVHTTP_REQ_GET | EVHTTP_REQ_POST, 1,
	        links_serve, d) == -1) {
		if (asprintf(err, "http: too many routes") == -1)
			*err = NULL;
		return -1;
	}
	return 0;
}
