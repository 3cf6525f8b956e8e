/*
 * Notification bodies: generic JSON, Slack incoming webhook (text +
 * blocks) and Teams (an Adaptive Card in a message envelope). Every
 * message says what is asked, by whom, what to do and until when; stage
 * messages (pending, reminder, escalated) name the approvers who have not
 * decided yet and, when links are on, carry each one's decision link.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "effects.h"
#include "limits.h"
#include "links.h"

#define SLACK_HEADER_MAX 150 /* characters of a header block */
#define SLACK_BUTTON_MAX 75  /* characters of a button label */

/* What to do when no approver is asked, for attention and for a stage
 * message whose approvers could not be listed. */
/* clang-format off */
#define NM_OPERATOR \
	"An operator must look: Graph refused approvald's action " \
	"(`approvalctl show ", NOTIFY_ARG_KEY, "`)."
/* clang-format on */

/*
 * What each kind of notification says; one row per enum sm_notify_kind.
 * Title: "<lead>: <what is asked>". A stage message names the approvers
 * who have not decided (with their links) and says how to decide; any
 * other says what to do as todo, then the argument (nothing, ": <reason>"
 * when there is one, or the request key), then todo_end.
 */
static const struct notify_text nm_kinds[SM_N_MAX] = {
	[SM_N_PENDING] = { "Approval needed", 1, NM_OPERATOR },
	[SM_N_REMINDER] = { "Reminder: approval needed", 1, NM_OPERATOR },
	[SM_N_ESCALATED] = { "Escalated: approval needed", 1, NM_OPERATOR },
	[SM_N_APPROVED] = { "Approved", 0,
	    "Nothing to do: access was approved and is being granted.",
	    NOTIFY_ARG_NONE, "" },
	[SM_N_REJECTED] = { "Denied", 0,
	    "Nothing to do: the request was denied", NOTIFY_ARG_REASON, "." },
	[SM_N_TIMED_OUT] = { "Timed out and denied", 0,
	    "Nothing to do: nobody decided before the deadline; the "
	    "requestor must ask again.",
	    NOTIFY_ARG_NONE, "" },
	[SM_N_CANCELED] = { "Canceled", 0,
	    "Nothing to do: the request was canceled.", NOTIFY_ARG_NONE, "" },
	[SM_N_ATTENTION] = { "Needs an operator", 0, NM_OPERATOR },
};

const struct notify_text *
notify_text(enum sm_notify_kind n)
{
	if ((unsigned)n >= SM_N_MAX || nm_kinds[n].lead == NULL)
		return NULL;
	return &nm_kinds[n];
}

const struct notify_text *
notify_text_named(const char *event)
{
	const struct notify_text *t;
	int n;

	for (n = 0; n < SM_N_MAX; n++)
		if (strcmp(sm_notify_name((enum sm_notify_kind)n), event) ==
		        0 &&
		    (t = notify_text((enum sm_notify_kind)n)) != NULL)
			return t;
	return &nm_kinds[SM_N_ATTENTION];
}

struct nm_fact {
	const char *name;
	char *value; /* heap */
};

struct nm_msg {
	const char *event;
	const struct notify_text *kind;
	char title[512];
	char todo[1024];
	struct nm_fact facts[16];
	size_t nfacts;
	struct json_object *sum;       /* summary_build */
	struct json_object *approvers; /* {id, upn, escalation, decide_url} */
	struct {
		char label[128];
		const char *url; /* into approvers */
	} buttons[NOTIFY_MAX_APPROVERS];
	size_t nbuttons;
};

static struct json_object *
nm_obj(struct json_object *o, const char *k)
{
	struct json_object *v;

	return o != NULL && json_object_object_get_ex(o, k, &v) &&
	               json_object_is_type(v, json_type_object)
	           ? v
	           : NULL;
}

static void nm_fact(struct nm_msg *m, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
nm_fact(struct nm_msg *m, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *v = NULL, *p;

	if (m->nfacts >= sizeof(m->facts) / sizeof(m->facts[0]))
		return;
	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) == -1)
		v = NULL;
	va_end(ap);
	if (v == NULL)
		return;
	/* One line per fact: a value (a justification, a display name)
	 * cannot start a line that looks like a fact of its own. */
	for (p = v; *p; p++)
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
	m->facts[m->nfacts].name = name;
	m->facts[m->nfacts].value = v;
	m->nfacts++;
}

/* Title, what to do, and the facts, from the summary. */
static void
nm_texts(struct nm_msg *m)
{
	struct json_object *sum = m->sum, *stage = nm_obj(sum, "stage"),
	                   *ticket = nm_obj(sum, "ticket"), *v;
	const char *asks = summary_get(sum, "asks"),
	           *key = summary_get(sum, "key");
	const char *deadline = summary_get(stage, "deadline"),
	           *dtext = summary_get(stage, "deadline_text");
	const struct notify_text *k = m->kind;
	const char *lead, *sep = "", *arg = "";
	char when[128];
	const char *reason = summary_get(sum, "reason");
	size_t i;

	if (asks == NULL)
		asks = "(unknown)";
	/* "Fri 4 Dec 14:00 UTC (2026-12-04T14:00:00Z)" */
	if (deadline != NULL)
		snprintf(when, sizeof(when), "%s%s%s%s", dtext ? dtext : "",
		    dtext ? " (" : "", deadline, dtext ? ")" : " (UTC)");
	snprintf(m->title, sizeof(m->title), "%s: %s", k->lead, asks);
	if (m->approvers != NULL)
		snprintf(m->todo, sizeof(m->todo),
		    "Approve or deny %s%s: %s, or run "
		    "`approvalctl decide %s approve|deny --as YOU --reason "
		    "TEXT`.",
		    deadline ? "before " : "", deadline ? when : "",
		    m->nbuttons > 0 ? "open your decision link below"
		                    : "use your own decision link if you were "
		                      "sent one",
		    key ? key : "?");
	else {
		if (k->arg == NOTIFY_ARG_REASON && reason != NULL) {
			sep = ": ";
			arg = reason;
		} else if (k->arg == NOTIFY_ARG_KEY)
			arg = key ? key : "?";
		snprintf(m->todo, sizeof(m->todo), "%s%s%s%s", k->todo, sep,
		    arg, k->todo_end);
	}
	/* Approvers must know when nobody vouches for who asked. */
	if ((lead = summary_get(nm_obj(sum, "identity"), "warning")) != NULL) {
		char *todo = NULL;

		if (asprintf(&todo, "Warning: %s. %s", lead, m->todo) != -1) {
			snprintf(m->todo, sizeof(m->todo), "%s", todo);
			free(todo);
		}
		nm_fact(m, "Identity", "%s", lead);
	}
	nm_fact(m, "Requested by", "%s", summary_who(nm_obj(sum, "requestor")));
	if ((v = nm_obj(sum, "beneficiary")) != NULL)
		nm_fact(m, "For", "%s", summary_who(v));
	nm_fact(m, "Asks", "%s", asks);
	if ((lead = summary_get(sum, "duration_text")) != NULL)
		nm_fact(m, "Duration", "%s (%s)", lead,
		    summary_get(sum, "duration") ? summary_get(sum, "duration")
		                                 : "?");
	if ((lead = summary_get(sum, "justification")) != NULL)
		nm_fact(m, "Justification", "%s", lead);
	if (ticket != NULL)
		nm_fact(m, "Ticket", "%s", summary_get(ticket, "text"));
	if ((lead = summary_get(sum, "rule")) != NULL)
		nm_fact(m, "Rule", "%s", lead);
	if (stage != NULL) {
		char *names;

		/* One fact for every stage before this one (bounded). */
		if (json_object_object_get_ex(stage, "earlier", &v) &&
		    json_object_array_length(v) > 0) {
			char *all = strdup(""), *n;

			for (i = 0;
			     all != NULL && i < json_object_array_length(v);
			     i++) {
				struct json_object
				    *st = json_object_array_get_idx(v, i),
				    *by = NULL;
				const char *sn = summary_get(st, "name");

				json_object_object_get_ex(
				    st, "approved_by", &by);
				names = summary_names(by);
				if (asprintf(&n, "%s%s%d%s%s%s: approved by %s",
				        all, i ? "; " : "",
				        summary_int(st, "index", 0),
				        sn ? " (" : "", sn ? sn : "",
				        sn ? ")" : "",
				        names && *names ? names : "(nobody)") ==
				    -1)
					n = NULL;
				free(names);
				free(all);
				all = n;
			}
			if (all != NULL)
				nm_fact(m, "Earlier stages", "%s", all);
			free(all);
		}
		v = NULL;
		json_object_object_get_ex(stage, "approved_by", &v);
		names = summary_names(v);
		nm_fact(m, "Stage", "%d of %d%s%s%s: %zu of %d approval(s)%s%s",
		    summary_int(stage, "index", 0), summary_int(stage, "of", 0),
		    summary_get(stage, "name") ? " (" : "",
		    summary_get(stage, "name") ? summary_get(stage, "name")
		                               : "",
		    summary_get(stage, "name") ? ")" : "",
		    v ? json_object_array_length(v) : 0,
		    summary_int(stage, "needed", 1),
		    names && *names ? ", by " : "", names ? names : "");
		free(names);
		if (m->approvers != NULL)
			nm_fact(m, "Decide by", "%s%s",
			    deadline ? "until " : "",
			    deadline ? when : "no deadline");
	}
	nm_fact(m, "Request", "%s", key ? key : "?");
}

/* Copy at most `max` characters of `s` (cut with an ellipsis). */
static char *
nm_cut(const char *s, size_t max)
{
	size_t n = strlen(s);
	char *o;

	if (n <= max)
		return strdup(s);
	if ((o = malloc(max + 4)) == NULL)
		return NULL;
	/* Do not cut inside a UTF-8 sequence. s[n] is inside s (n < max <
	 * strlen(s)), which the analyzer loses. */
	n = max - 1;
	/* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(o, s, n);
	memcpy(o + n, "\xe2\x80\xa6", 4);
	return o;
}

/* Slack mrkdwn: escape &, < and > (everything else is literal). */
static void
nm_slack_esc(char *out, size_t len, const char *s)
{
	size_t n = 0;
	const char *r;

	for (; *s && n + 6 < len; s++) {
		r = *s == '&'   ? "&amp;"
		    : *s == '<' ? "&lt;"
		    : *s == '>' ? "&gt;"
		                : NULL;
		if (r != NULL) {
			memcpy(out + n, r, strlen(r));
			n += strlen(r);
		} else
			out[n++] = *s;
	}
	out[n] = '\0';
}

static struct json_object *
nm_text_obj(const char *type, const char *text)
{
	struct json_object *o = json_object_new_object();
	char *c = nm_cut(text, NOTIFY_MAX_TEXT);

	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "text", json_object_new_string(c ? c : ""));
	free(c);
	return o;
}

static struct json_object *
nm_slack(struct nm_msg *m)
{
	struct json_object *o = json_object_new_object(), *blocks, *b, *els,
	                   *btn;
	char buf[NOTIFY_MAX_TEXT + 1], esc[2048], *c;
	size_t i, n = 0;

	nm_slack_esc(esc, sizeof(esc), m->title);
	json_object_object_add(o, "text", json_object_new_string(esc));
	blocks = json_object_new_array();
	b = json_object_new_object();
	json_object_object_add(b, "type", json_object_new_string("header"));
	c = nm_cut(m->title, SLACK_HEADER_MAX);
	json_object_object_add(
	    b, "text", nm_text_obj("plain_text", c ? c : ""));
	free(c);
	json_object_array_add(blocks, b);
	buf[0] = '\0';
	for (i = 0; i < m->nfacts; i++) {
		nm_slack_esc(esc, sizeof(esc), m->facts[i].value);
		n = strlen(buf);
		snprintf(buf + n, sizeof(buf) - n, "*%s:* %s\n",
		    m->facts[i].name, esc);
	}
	b = json_object_new_object();
	json_object_object_add(b, "type", json_object_new_string("section"));
	json_object_object_add(b, "text", nm_text_obj("mrkdwn", buf));
	json_object_array_add(blocks, b);
	nm_slack_esc(esc, sizeof(esc), m->todo);
	b = json_object_new_object();
	json_object_object_add(b, "type", json_object_new_string("section"));
	json_object_object_add(b, "text", nm_text_obj("mrkdwn", esc));
	json_object_array_add(blocks, b);
	els = json_object_new_array();
	for (i = 0; i < m->nbuttons; i++) {
		c = nm_cut(m->buttons[i].label, SLACK_BUTTON_MAX);
		btn = json_object_new_object();
		json_object_object_add(
		    btn, "type", json_object_new_string("button"));
		json_object_object_add(
		    btn, "text", nm_text_obj("plain_text", c ? c : ""));
		json_object_object_add(
		    btn, "url", json_object_new_string(m->buttons[i].url));
		json_object_array_add(els, btn);
		free(c);
	}
	if (json_object_array_length(els) > 0) {
		b = json_object_new_object();
		json_object_object_add(
		    b, "type", json_object_new_string("actions"));
		json_object_object_add(b, "elements", els);
		json_object_array_add(blocks, b);
	} else
		json_object_put(els);
	json_object_object_add(o, "blocks", blocks);
	return o;
}

/*
 * Adaptive Card text is markdown, in TextBlock.text and in Fact.title and
 * Fact.value alike; HTML is not rendered (shown as typed)
 * (https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format,
 * https://learn.microsoft.com/adaptive-cards/create/textfeatures: a
 * CommonMark subset: bold, italic, lists, links). Escape, CommonMark's
 * way, what could make a link, emphasis, a list or a tag out of a
 * requestor's words; newlines are gone already (nm_fact). Heap.
 */
static char *
nm_md_esc(const char *s)
{
	char *o = malloc(2 * strlen(s) + 1), *p = o;

	if (o == NULL)
		return NULL;
	for (; *s; s++) {
		if (strchr("\\[]()*_`<>#~", *s) != NULL)
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return o;
}

static struct json_object *
nm_teams_block(const char *text, int bold)
{
	struct json_object *b = json_object_new_object();
	char *e = nm_md_esc(text), *c = nm_cut(e ? e : "", NOTIFY_MAX_TEXT);

	json_object_object_add(b, "type", json_object_new_string("TextBlock"));
	json_object_object_add(b, "text", json_object_new_string(c ? c : ""));
	json_object_object_add(b, "wrap", json_object_new_boolean(1));
	if (bold) {
		json_object_object_add(
		    b, "weight", json_object_new_string("Bolder"));
		json_object_object_add(
		    b, "size", json_object_new_string("Medium"));
	}
	free(c);
	free(e);
	return b;
}

/* Teams: an Adaptive Card (Workflows / incoming webhook envelope). */
static struct json_object *
nm_teams(struct nm_msg *m)
{
	struct json_object *o = json_object_new_object(), *atts, *att, *card,
	                   *body, *facts, *f, *fs, *acts, *act;
	char *c;
	size_t i;

	card = json_object_new_object();
	json_object_object_add(card, "$schema",
	    json_object_new_string(
	        "http://adaptivecards.io/schemas/adaptive-card.json"));
	json_object_object_add(
	    card, "type", json_object_new_string("AdaptiveCard"));
	json_object_object_add(card, "version", json_object_new_string("1.4"));
	body = json_object_new_array();
	json_object_array_add(body, nm_teams_block(m->title, 1));
	facts = json_object_new_array();
	for (i = 0; i < m->nfacts; i++) {
		f = json_object_new_object();
		json_object_object_add(
		    f, "title", json_object_new_string(m->facts[i].name));
		c = nm_md_esc(m->facts[i].value);
		json_object_object_add(
		    f, "value", json_object_new_string(c ? c : ""));
		free(c);
		json_object_array_add(facts, f);
	}
	fs = json_object_new_object();
	json_object_object_add(fs, "type", json_object_new_string("FactSet"));
	json_object_object_add(fs, "facts", facts);
	json_object_array_add(body, fs);
	json_object_array_add(body, nm_teams_block(m->todo, 0));
	json_object_object_add(card, "body", body);
	acts = json_object_new_array();
	for (i = 0; i < m->nbuttons; i++) {
		act = json_object_new_object();
		json_object_object_add(
		    act, "type", json_object_new_string("Action.OpenUrl"));
		json_object_object_add(
		    act, "title", json_object_new_string(m->buttons[i].label));
		json_object_object_add(
		    act, "url", json_object_new_string(m->buttons[i].url));
		json_object_array_add(acts, act);
	}
	json_object_object_add(card, "actions", acts);
	att = json_object_new_object();
	json_object_object_add(att, "contentType",
	    json_object_new_string("application/vnd.microsoft.card.adaptive"));
	json_object_object_add(att, "content", card);
	atts = json_object_new_array();
	json_object_array_add(atts, att);
	json_object_object_add(o, "type", json_object_new_string("message"));
	json_object_object_add(o, "summary", json_object_new_string(m->title));
	json_object_object_add(o, "attachments", atts);
	return o;
}

static struct json_object *
nm_json(struct nm_msg *m, int64_t delivery)
{
	struct json_object *o = json_object_new_object();
	const char *w;
	char t[32];

	summary_time(clock_now(), t, sizeof(t));
	json_object_object_add(o, "event", json_object_new_string(m->event));
	json_object_object_add(o, "delivery", json_object_new_int64(delivery));
	json_object_object_add(o, "sent_at", json_object_new_string(t));
	json_object_object_add(o, "title", json_object_new_string(m->title));
	json_object_object_add(
	    o, "what_to_do", json_object_new_string(m->todo));
	if ((w = summary_get(nm_obj(m->sum, "identity"), "warning")) != NULL)
		json_object_object_add(o, "warning", json_object_new_string(w));
	json_object_object_add(o, "request", json_object_get(m->sum));
	if (m->approvers != NULL)
		json_object_object_add(
		    o, "approvers", json_object_get(m->approvers));
	return o;
}

/* Stage messages: the undecided approvers, with links when allowed. */
static struct json_object *
nm_approvers(struct daemon *d, const struct notify_target *t,
    const struct store_request *r)
{
	struct json_object *all = summary_approvers(d, r, r->sm.stage, 0), *out,
	                   *a;
	const char *id;
	char *url;
	size_t i;

	if (all == NULL)
		return NULL;
	out = json_object_new_array();
	for (i = 0; i < json_object_array_length(all); i++) {
		if (i >= NOTIFY_MAX_APPROVERS)
			break;
		a = json_object_get(json_object_array_get_idx(all, i));
		id = summary_get(a, "id");
		if (t->links && id != NULL &&
		    (url = links_mint(d, r, id)) != NULL) {
			json_object_object_add(
			    a, "decide_url", json_object_new_string(url));
			free(url);
		}
		json_object_array_add(out, a);
	}
	json_object_put(all);
	return out;
}

char *
notify_render(struct daemon *d, const struct notify_target *t, int64_t delivery,
    const char *event, const struct store_request *r)
{
	struct nm_msg m;
	struct json_object *o = NULL;
	const char *text;
	char *body = NULL;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.event = event;
	m.kind = notify_text_named(event);
	if ((m.sum = summary_build(d, r)) == NULL)
		return NULL;
	if (m.kind->stage)
		m.approvers = nm_approvers(d, t, r);
	for (i = 0;
	     m.approvers != NULL && i < json_object_array_length(m.approvers) &&
	     m.nbuttons < NOTIFY_MAX_APPROVERS;
	     i++) {
		struct json_object *a =
		    json_object_array_get_idx(m.approvers, i);

		if ((m.buttons[m.nbuttons].url =
		            summary_get(a, "decide_url")) == NULL)
			continue;
		snprintf(m.buttons[m.nbuttons].label,
		    sizeof(m.buttons[m.nbuttons].label), "Decide as %s",
		    summary_who(a));
		m.nbuttons++;
	}
	nm_texts(&m);
	switch (t->format) {
	case NOTIFY_SLACK:
		o = nm_slack(&m);
		break;
	case NOTIFY_TEAMS:
		o = nm_teams(&m);
		break;
	default:
		o = nm_json(&m, delivery);
		break;
	}
	text = o != NULL ? json_object_to_json_string_ext(
	                       o, JSON_C_TO_STRING_PLAIN |
	                              JSON_C_TO_STRING_NOSLASHESCAPE)
	                 : NULL;
	if (text != NULL)
		body = strdup(text);
	json_object_put(o);
	json_object_put(m.sum);
	json_object_put(m.approvers);
	for (i = 0; i < m.nfacts; i++)
		free(m.facts[i].value);
	return body;
}
