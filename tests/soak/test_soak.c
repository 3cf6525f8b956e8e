/*
 * Soak (issue 14, "Proof"): random SIGKILLs of approvald while the
 * graph-emulator holds a few hundred mixed requests -- automatic
 * approvals, policy rejections, ignored requests and two human stages
 * decided over the control socket (`approvalctl decide`) and through
 * decision links -- with Graph throttled (429 + Retry-After) and faulted
 * (5xx, resets, truncated and malformed bodies, answers that do not apply)
 * all along; approvald is started again after each kill.
 *
 * Afterwards, from the emulator's ground truth: every request the policy
 * or a human decides is decided on Graph exactly once, by approvald, the
 * way it was decided (auto-approve only where the policy approves, a
 * rejection never approved, human requests as their approvers said);
 * ignored requests are never decided; every acknowledged human decision
 * (approvalctl exit 0, link page "recorded") is applied and audited once.
 *
 * Kill moments are random (seeded PRNG, printed; SOAK_SEED replays the
 * choices), but nothing waits on a sleep: the driver waits on the
 * emulator's truth, control-socket answers and the notification receiver,
 * always with a deadline. Size: SOAK_REQUESTS, SOAK_KILLS, SOAK_KILL_GAP_MS
 * (mean time between kills); bounds: SOAK_DRIVE_MS (requests, kills and
 * decisions), SOAK_SETTLE_MS (then everything final).
 */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "cu.h"
#include "harness.h"
#include "notify_stack.h"

#define SOAK_REQUESTS  200    /* default size for make check */
#define SOAK_KILLS     15     /* default kills for make check */
#define SOAK_KILL_GAP  1200   /* mean ms between kills */
#define SOAK_SETTLE    180000 /* ms for everything to be final */
#define SOAK_DRIVE     600000 /* ms bound of the kill/decide phase */
#define SOAK_READY     30000  /* ms for a restarted daemon to be ready */
#define SOAK_BATCH     24     /* most requests generated at once */
#define SOAK_PER_ROUND 6      /* most human decisions between checks */
#define SOAK_LINK_PCT  50     /* decisions tried through a link */
#define SOAK_DENY1_PCT 20     /* human requests denied at stage 1 */
#define SOAK_DENY2_PCT 25     /* of the rest, denied at stage 2 */
#define SOAK_ACK_KILL                                                          \
	15                 /* % of acks followed at once by a kill
                                  (at most a third of the kills) */
#define SOAK_NOWAIT_PCT 25 /* % of restarts not waited for */
#define SOAK_MAX_REQ    20000
#define APPROVALD_UPN   "approvald@contoso.com"

enum soak_kind { SK_AUTO, SK_REJECT, SK_HUMAN, SK_IGNORE, SK_MAX };

static const char *const soak_template[SK_MAX] = {
	[SK_AUTO] = "aws-policy",
	[SK_REJECT] = "aws-action",
	[SK_HUMAN] = "azure-role",
	[SK_IGNORE] = "gcp-role",
};

static const char *const soak_file[SK_MAX] = {
	[SK_AUTO] = "examples/requests/permissions-request-aws-policy.json",
	[SK_REJECT] = "examples/requests/permissions-request-aws-action.json",
	[SK_HUMAN] = "examples/requests/permissions-request-azure-role.json",
	[SK_IGNORE] = "examples/requests/permissions-request-gcp-role.json",
};

static const enum verdict_kind soak_verdict[SK_MAX] = {
	[SK_AUTO] = VERDICT_APPROVE,
	[SK_REJECT] = VERDICT_REJECT,
	[SK_HUMAN] = VERDICT_STAGES,
	[SK_IGNORE] = VERDICT_IGNORE,
};

/* Mix of kinds, in percent. */
static const int soak_mix[SK_MAX] = { 30, 25, 35, 10 };

enum soak_ack { ACK_NONE, ACK_SOCKET, ACK_LINK };

/* One request the soak made, and for a human one its plan and acks. */
struct sreq {
	char id[64];
	char key[96];
	enum soak_kind kind;
	int nstages;    /* stages the plan decides: 1 (deny) or 2 */
	int approve[2]; /* planned verdict per stage */
	const char *who[2];
	enum soak_ack acked[2];
	int moved[2];  /* seen past that stage without our ack */
	char *link[2]; /* the newest link for who[stage] */
	int done;      /* seen final in the daemon */
};

struct soak {
	uint64_t seed, rng;
	int want, kills_want, gap_ms, settle_ms;
	struct sreq *r;
	int n;
	int *slot; /* open addressing: id -> index + 1 */
	size_t nslot;
	int kills, ack_kills, nowait_restarts;
	int acks[3], tries[3];
	int violations; /* pending where the plan says it cannot be */
	size_t rx_seen;
	uint64_t log_seq;
	long calls, c429, c5xx, creset;
	long next_kill;
	long drive_ms; /* kills and decisions, then settling */
};

static char policy_path[600], fixture_path[600];

/* ---- small helpers ------------------------------------------------------ */

static long
soak_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64*: the soak's only source of randomness. */
static uint64_t
soak_rand(struct soak *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ULL;
}

static int
soak_pct(struct soak *s, int pct)
{
	return (int)(soak_rand(s) % 100) < pct;
}

static long
soak_env(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtol(v, NULL, 10) : dflt;
}

static uint64_t
soak_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return h;
}

/* The soak's record of Graph id `id`, or NULL. */
static struct sreq *
soak_find(struct soak *s, const char *id)
{
	size_t i = soak_hash(id) & (s->nslot - 1);

	for (; s->slot[i] != 0; i = (i + 1) & (s->nslot - 1))
		if (strcmp(s->r[s->slot[i] - 1].id, id) == 0)
			return &s->r[s->slot[i] - 1];
	return NULL;
}

static struct sreq *
soak_find_key(struct soak *s, const char *key)
{
	const char *c = strchr(key, ':');

	return soak_find(s, c != NULL ? c + 1 : key);
}

static void
soak_index(struct soak *s, int idx)
{
	size_t i = soak_hash(s->r[idx].id) & (s->nslot - 1);

	while (s->slot[i] != 0)
		i = (i + 1) & (s->nslot - 1);
	s->slot[i] = idx + 1;
}

/* What the soak policy decides for a kind's template: the oracle. */
static enum verdict_kind
soak_oracle(enum soak_kind k)
{
	struct policy *p = NULL;
	struct cfg_directory *dir = NULL;
	struct cfg_diags dg;
	struct request r;
	struct verdict v;
	char *text = cu_slurp(cu_srcpath(soak_file[k]), NULL), *err = NULL;

	memset(&dg, 0, sizeof(dg));
	memset(&r, 0, sizeof(r));
	memset(&v, 0, sizeof(v));
	CU_ASSERT_FATAL(text != NULL);
	CU_ASSERT_FATAL(policy_load_file(policy_path, &p, &dg) == 0);
	CU_ASSERT_FATAL(request_from_json(text, strlen(text),
	                    REQ_SRC_PERMISSIONS, &r, &err) == 0);
	CU_ASSERT_FATAL(cfg_directory_load(fixture_path, &dir, &err) == 0);
	cfg_directory_resolve(dir, &r);
	policy_evaluate(p, &r, (int64_t)time(NULL), NULL, NULL, &v, NULL);
	request_free(&r);
	cfg_directory_free(dir);
	policy_free(p);
	cfg_diags_free(&dg);
	free(text);
	return v.kind;
}

/* ---- the stack ------------------------------------------------------------ */

/* Graph faults the whole soak runs under (rates drawn by the emulator's
 * seeded PRNG); throttling comes on top. */
#define EPM "/beta/identityGovernance/permissionsManagement/"
static const char *const soak_faults[] = {
	"{\"method\":\"PATCH\",\"path\":\"" EPM "scheduledPermissionsApprovals/"
	"*/steps/*\",\"kind\":\"status\",\"status\":500,\"rate\":0.05}",
	"{\"method\":\"PATCH\",\"path\":\"" EPM "scheduledPermissionsApprovals/"
	"*/steps/*\",\"kind\":\"status\",\"status\":503,\"retryAfter\":"
	"\"0.2\",\"rate\":0.05}",
	"{\"method\":\"PATCH\",\"path\":\"" EPM "scheduledPermissionsApprovals/"
	"*/steps/*\",\"kind\":\"status\",\"status\":429,\"retryAfter\":"
	"\"0.3\",\"rate\":0.05}",
	"{\"method\":\"PATCH\",\"path\":\"" EPM "scheduledPermissionsApprovals/"
	"*/steps/*\",\"kind\":\"reset\",\"rate\":0.04}",
	"{\"method\":\"PATCH\",\"path\":\"" EPM "scheduledPermissionsApprovals/"
	"*/steps/*\",\"kind\":\"apply_then_reset\",\"rate\":0.04}",
	"{\"method\":\"PATCH\",\"path\":\"" EPM "scheduledPermissionsApprovals/"
	"*/steps/*\",\"kind\":\"not_applied\",\"rate\":0.04}",
	"{\"method\":\"PATCH\",\"path\":\"" EPM "scheduledPermissionsApprovals/"
	"*/steps/*\",\"kind\":\"delay\",\"delayMs\":300,\"rate\":0.04}",
	"{\"method\":\"GET\",\"path\":\"" EPM "permissionsRequestChanges*\","
	"\"kind\":\"status\",\"status\":503,\"retryAfter\":\"0.5\","
	"\"rate\":0.05}",
	"{\"method\":\"GET\",\"path\":\"" EPM "permissionsRequestChanges*\","
	"\"kind\":\"malformed\",\"rate\":0.03}",
	"{\"method\":\"GET\",\"path\":\"" EPM "permissionsRequestChanges*\","
	"\"kind\":\"truncate\",\"rate\":0.03}",
	"{\"method\":\"GET\",\"path\":\"" EPM "scheduledPermissionsRequests*\","
	"\"kind\":\"status\",\"status\":500,\"rate\":0.05}",
	"{\"method\":\"GET\",\"path\":\"" EPM "scheduledPermissionsRequests*\","
	"\"kind\":\"reset\",\"rate\":0.03}",
	"{\"method\":\"GET\",\"path\":\"" EPM
	"scheduledPermissionsApprovals/*\","
	"\"kind\":\"status\",\"status\":502,\"rate\":0.05}",
	"{\"method\":\"*\",\"path\":\"/v1.0/users/*\",\"kind\":\"status\","
	"\"status\":503,\"rate\":0.04}",
	"{\"method\":\"*\",\"path\":\"/v1.0/groups/*\",\"kind\":\"status\","
	"\"status\":429,\"retryAfter\":\"0.2\",\"rate\":0.04}",
};

static void
soak_stack_start(void)
{
	char *yaml = NULL;
	long st;
	size_t i;

	http_port = h_free_port();
	CU_ASSERT_FATAL(http_port > 0);
	CU_ASSERT_FATAL(rx_start() == 0);
	CU_ASSERT_FATAL(emu_start(&E, fixture_path, 1) == 0);
	json_object_put(emu_json(&E, "POST", "/_emulator/throttling",
	    "{\"enabled\":true,\"rate\":60,\"burst\":30}", &st));
	CU_ASSERT_FATAL(st == 200);
	for (i = 0; i < sizeof(soak_faults) / sizeof(soak_faults[0]); i++)
		CU_ASSERT_FATAL(emu_fault(&E, soak_faults[i]) == 0);
	CU_ASSERT_FATAL(
	    asprintf(&yaml,
	        "http:\n"
	        "  listen: 127.0.0.1:%d\n"
	        "  rate_limit: 1024\n"
	        "  rate_burst: 1024\n"
	        "decision_links:\n"
	        "  base_url: http://127.0.0.1:%d/\n"
	        "  secret_file: link-secret\n"
	        "  ttl: PT1H\n"
	        "notify:\n"
	        "  - { name: all, url: \"http://127.0.0.1:%d/json\",\n"
	        "      format: json, secret_file: notify-secret,\n"
	        "      events: [pending] }\n",
	        http_port, http_port, RX.port) != -1);
	CU_ASSERT_FATAL(ad_prepare(&A, &E, policy_path, yaml) == 0);
	free(yaml);
	CU_ASSERT_FATAL(
	    ad_write_secret(&A, "notify-secret", NOTIFY_KEY "\n") == 0);
	CU_ASSERT_FATAL(ad_write_secret(&A, "link-secret", LINK_KEY "\n") == 0);
	CU_ASSERT_FATAL(ad_start(&A) == 0);
	CU_ASSERT_FATAL(ad_wait_ready(&A, SOAK_READY) == 0);
}

/* ---- driving: requests, kills, decisions ---------------------------------- */

static void
soak_plan(struct soak *s, struct sreq *q)
{
	q->approve[0] = !soak_pct(s, SOAK_DENY1_PCT);
	q->nstages = q->approve[0] ? 2 : 1;
	q->approve[1] = !soak_pct(s, SOAK_DENY2_PCT);
	q->who[0] = "ciso@contoso.com";
	q->who[1] =
	    soak_pct(s, 50) ? "jordan@contoso.com" : "morgan@contoso.com";
}

/* Generate a batch of one kind on the emulator and record it. */
static void
soak_generate(struct soak *s)
{
	int roll = (int)(soak_rand(s) % 100), k, count;
	char body[256];
	struct json_object *o, *ids;
	struct sreq *q;
	long st;
	size_t i;

	for (k = 0; k < SK_MAX - 1 && roll >= soak_mix[k]; k++)
		roll -= soak_mix[k];
	count = 1 + (int)(soak_rand(s) % SOAK_BATCH);
	if (count > s->want - s->n)
		count = s->want - s->n;
	snprintf(body, sizeof(body),
	    "{\"count\":%d,\"requestor\":\"alex@contoso.com\",\"kinds\":"
	    "[\"%s\"]}",
	    count, soak_template[k]);
	o = emu_json(&E, "POST", "/_emulator/generate", body, &st);
	CU_ASSERT_FATAL(st == 200 && o != NULL &&
	                json_object_object_get_ex(o, "ids", &ids) &&
	                json_object_array_length(ids) == (size_t)count);
	for (i = 0; i < (size_t)count; i++) {
		q = &s->r[s->n];
		memset(q, 0, sizeof(*q));
		snprintf(q->id, sizeof(q->id), "%s",
		    json_object_get_string(json_object_array_get_idx(ids, i)));
		snprintf(q->key, sizeof(q->key), "permissions:%s", q->id);
		q->kind = (enum soak_kind)k;
		if (q->kind == SK_HUMAN)
			soak_plan(s, q);
		soak_index(s, s->n++);
	}
	json_object_put(o);
}

static void
soak_schedule_kill(struct soak *s)
{
	s->next_kill = soak_ms() + (long)(soak_rand(s) % (2 * s->gap_ms + 1));
}

/* kill -9, start again; usually wait until ready, sometimes not (the next
 * kill may then land in start-up). */
static void
soak_kill(struct soak *s)
{
	int status = ad_stop(&A, SIGKILL);

	CU_ASSERT(
	    status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	s->kills++;
	CU_ASSERT_FATAL(ad_start(&A) == 0);
	if (soak_pct(s, SOAK_NOWAIT_PCT) && s->kills < s->kills_want)
		s->nowait_restarts++;
	else
		CU_ASSERT_FATAL(ad_wait_ready(&A, SOAK_READY) == 0);
	soak_schedule_kill(s);
}

/* Take the notifications that came in since last time: keep each human
 * request's newest link per stage for its planned approver. */
static void
soak_take_links(struct soak *s)
{
	struct json_object *o, *arr, *a;
	struct sreq *q;
	char *body;
	const char *id, *url;
	int stage;
	size_t i, n;

	for (;;) {
		pthread_mutex_lock(&RX.mu);
		n = RX.n;
		body = s->rx_seen < n && RX.v[s->rx_seen].body != NULL
		           ? strdup(RX.v[s->rx_seen].body)
		           : NULL;
		if (s->rx_seen < n)
			s->rx_seen++;
		pthread_mutex_unlock(&RX.mu);
		if (body == NULL) {
			if (s->rx_seen >= n)
				return;
			continue;
		}
		o = json_tokener_parse(body);
		free(body);
		id = jstr(o, "request.id");
		stage =
		    (int)json_object_get_int(jpath(o, "request.stage.index"));
		q = *id ? soak_find(s, id) : NULL;
		if (q != NULL && q->kind == SK_HUMAN && stage >= 1 &&
		    stage <= 2 && (arr = jpath(o, "approvers")) != NULL)
			for (i = 0; i < json_object_array_length(arr); i++) {
				a = json_object_array_get_idx(arr, i);
				url = jstr(a, "decide_url");
				if (*url && strcasecmp(jstr(a, "upn"),
				                q->who[stage - 1]) == 0) {
					free(q->link[stage - 1]);
					q->link[stage - 1] = strdup(url);
				}
			}
		json_object_put(o);
	}
}

/* The control socket's decide without approvalctl in between (the same
 * line approvalctl sends): its answer is read, and a kill can follow
 * within a fraction of a millisecond. 1 when the answer is "ok". */
static int
soak_ctl_decide(
    const char *key, const char *verb, const char *who, const char *reason)
{
	char cmd[512], *res;
	int ok;

	snprintf(
	    cmd, sizeof(cmd), "decide %s %s %s %s", key, verb, who, reason);
	res = ad_result(&A, cmd);
	ok = strcmp(res, "ok") == 0;
	free(res);
	return ok;
}

/* Decide stage `st` of q as planned, by link or control socket; 1 when
 * acknowledged. */
static int
soak_decide(struct soak *s, struct sreq *q, int st)
{
	const char *verb = q->approve[st] ? "approve" : "deny";
	char form[128];
	struct web w;
	int ok;

	if (q->link[st] != NULL && soak_pct(s, SOAK_LINK_PCT)) {
		s->tries[ACK_LINK]++;
		snprintf(form, sizeof(form), "decision=%s&reason=soak+link+%d",
		    verb, st + 1);
		web(q->link[st], form, &w);
		ok = w.status == 200 &&
		     (strstr(w.body, "Approval recorded") != NULL ||
		         strstr(w.body, "Denial recorded") != NULL);
		free(w.body);
		/* Unanswered (the daemon died): the link may be retried;
		 * answered but not recorded: it is spent. */
		if (!ok && w.status != 0) {
			free(q->link[st]);
			q->link[st] = NULL;
		}
		if (ok)
			q->acked[st] = ACK_LINK;
		return ok;
	}
	s->tries[ACK_SOCKET]++;
	snprintf(form, sizeof(form), "soak socket stage %d", st + 1);
	if (soak_pct(s, 50))
		ok = ad_ctl_decide(&A, q->key, verb, q->who[st], form) == 0;
	else
		ok = soak_ctl_decide(q->key, verb, q->who[st], form);
	if (ok)
		q->acked[st] = ACK_SOCKET;
	return ok;
}

static int
soak_kill_due(struct soak *s)
{
	return s->kills < s->kills_want && soak_ms() >= s->next_kill;
}

/* One pass over the requests the daemon has waiting on humans: decide
 * what is ours to decide. Returns how many were tried. */
static int
soak_decide_round(struct soak *s)
{
	struct json_object *o = ad_ctl(&A, "list pending"), *e, *v;
	struct sreq *q;
	size_t i, n;
	int tried = 0, st;

	if (o == NULL || !json_object_is_type(o, json_type_array)) {
		json_object_put(o);
		return 0;
	}
	n = json_object_array_length(o);
	for (i = 0; i < n && tried < SOAK_PER_ROUND && !soak_kill_due(s); i++) {
		e = json_object_array_get_idx(o, i);
		q = soak_find_key(s, jstr(e, "key"));
		st = json_object_object_get_ex(e, "stage", &v)
		         ? json_object_get_int(v) - 1
		         : -1;
		if (q == NULL || q->kind != SK_HUMAN || st < 0 ||
		    st >= q->nstages) {
			/* Waiting on a human where the policy or an
			 * acknowledged deny says it cannot. */
			s->violations++;
			fprintf(stderr,
			    "soak: %s pending at stage %d: not "
			    "planned\n",
			    jstr(e, "key"), st + 1);
			continue;
		}
		if (st == 1 && q->acked[0] == ACK_NONE)
			q->moved[0] = 1;
		if (q->acked[st] != ACK_NONE)
			continue;
		tried++;
		if (soak_decide(s, q, st)) {
			s->acks[q->acked[st]]++;
			if (s->kills < s->kills_want &&
			    s->ack_kills < s->kills_want / 3 &&
			    soak_pct(s, SOAK_ACK_KILL)) {
				/* Straight after the acknowledgement. */
				s->ack_kills++;
				s->next_kill = 0;
			}
		}
	}
	json_object_put(o);
	return tried;
}

/* Does a human request still wait for a decision from us? Not when it is
 * final, or waits on Graph, or waits at a stage we have an acknowledged
 * decision for (were that decision lost, the request would never become
 * final: the end state says so). Marks final requests done. */
static int
soak_human_waits(struct sreq *q, const char *state, int stage)
{
	if (strcmp(state, "approved") == 0 || strcmp(state, "completed") == 0 ||
	    strcmp(state, "rejected") == 0 || strcmp(state, "ignored") == 0) {
		q->done = 1;
		return 0;
	}
	if (q->kind != SK_HUMAN || strcmp(state, "approving") == 0 ||
	    strcmp(state, "rejecting") == 0)
		return 0;
	if (strcmp(state, "pending") != 0 || stage < 1 || stage > 2)
		return 1;
	return q->acked[stage - 1] == ACK_NONE;
}

/* How many requests still wait for a human decision from us (the full
 * list: final states too); unknown ones count. */
static int
soak_human_left(struct soak *s)
{
	struct json_object *o = ad_ctl(&A, "list"), *e, *v;
	struct sreq *q;
	size_t i, n;
	int left = 0, seen = 0, stage;

	if (o == NULL || !json_object_is_type(o, json_type_array)) {
		json_object_put(o);
		return 1;
	}
	n = json_object_array_length(o);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(o, i);
		if ((q = soak_find_key(s, jstr(e, "key"))) == NULL)
			continue;
		seen++;
		stage = json_object_object_get_ex(e, "stage", &v)
		            ? json_object_get_int(v)
		            : 0;
		left += soak_human_waits(q, jstr(e, "state"), stage);
	}
	json_object_put(o);
	return left + (s->n - seen);
}

/* Count the Graph calls seen since last time (the emulator's call log). */
static void
soak_take_log(struct soak *s)
{
	char path[64];
	struct json_object *o, *calls, *c, *v;
	size_t i, n;
	int status;

	snprintf(path, sizeof(path), "/_emulator/log?since=%llu",
	    (unsigned long long)s->log_seq);
	if ((o = emu_json(&E, "GET", path, NULL, NULL)) == NULL)
		return;
	if (json_object_object_get_ex(o, "calls", &calls)) {
		n = json_object_array_length(calls);
		for (i = 0; i < n; i++) {
			c = json_object_array_get_idx(calls, i);
			if (json_object_object_get_ex(c, "seq", &v) &&
			    (uint64_t)json_object_get_int64(v) <= s->log_seq)
				continue;
			status = json_object_object_get_ex(c, "status", &v)
			             ? json_object_get_int(v)
			             : -1;
			s->calls++;
			s->c429 += status == 429;
			s->c5xx += status >= 500;
			s->creset += status == 0;
		}
	}
	if (json_object_object_get_ex(o, "last", &v))
		s->log_seq = (uint64_t)json_object_get_int64(v);
	json_object_put(o);
}

/* Requests in, kills at random moments, human decisions as they come up:
 * until every request exists, every kill is done and nothing is left for
 * the humans to decide. */
static void
soak_drive(struct soak *s)
{
	long deadline = soak_ms() + soak_env("SOAK_DRIVE_MS", SOAK_DRIVE);
	int worked;

	soak_schedule_kill(s);
	for (;;) {
		CU_ASSERT_FATAL(soak_ms() < deadline);
		if (soak_kill_due(s)) {
			soak_kill(s);
			continue;
		}
		worked = 0;
		if (s->n < s->want && soak_pct(s, 50)) {
			soak_generate(s);
			worked = 1;
		}
		soak_take_links(s);
		worked += soak_decide_round(s);
		soak_take_log(s);
		if (worked)
			continue;
		if (s->n >= s->want && s->kills >= s->kills_want &&
		    soak_human_left(s) == 0)
			break;
		poll(NULL, 0, 20); /* nothing to do yet: look again */
	}
}

/* ---- the end state --------------------------------------------------------- */

/* Is every request final on Graph (as many decisions as it should get)
 * and in the daemon? */
static int
soak_settled(void *arg)
{
	struct soak *s = arg;
	struct json_object *o = emu_json(
	                       &E, "GET", "/_emulator/truth", NULL, NULL),
	                   *reqs, *x;
	int i, want = 0, have = 0;

	if (o == NULL || !json_object_object_get_ex(o, "requests", &reqs)) {
		json_object_put(o);
		return 0;
	}
	for (i = 0; i < s->n; i++) {
		if (s->r[i].kind == SK_IGNORE)
			continue;
		want++;
		have += json_object_object_get_ex(reqs, s->r[i].id, &x);
	}
	json_object_put(o);
	if (have != want || soak_human_left(s) != 0)
		return 0;
	for (i = 0; i < s->n; i++)
		if (!s->r[i].done)
			return 0;
	return 1;
}

/* Tallies of the end state, for the assertions and the figures. */
struct soak_tally {
	int lost, doubled, wrong, foreign, decided, approved, denied;
	int unapplied; /* acknowledged decisions not applied or audited */
	int unaudited; /* planned stage decisions with no audit row */
};

/* What Graph should have seen for q: 1 approve, 0 deny, -1 nothing. */
static int
soak_expect(const struct sreq *q)
{
	switch (q->kind) {
	case SK_AUTO:
		return 1;
	case SK_REJECT:
		return 0;
	case SK_HUMAN:
		return q->nstages == 2 && q->approve[1];
	default:
		return -1;
	}
}

/* Ground truth: one decision per decided request, the right one, by
 * approvald's account; nothing on ignored requests; no cancels. */
static void
soak_check_truth(struct soak *s, struct soak_tally *t)
{
	struct json_object *o = emu_json(
	                       &E, "GET", "/_emulator/truth", NULL, NULL),
	                   *reqs, *decs, *x, *v;
	int i, ap, dn, cn, want;
	size_t k;

	CU_ASSERT_FATAL(o != NULL &&
	                json_object_object_get_ex(o, "requests", &reqs) &&
	                json_object_object_get_ex(o, "decisions", &decs));
	for (k = 0; k < json_object_array_length(decs); k++) {
		x = json_object_array_get_idx(decs, k);
		if (strcasecmp(jstr(x, "caller.upn"), APPROVALD_UPN) != 0 ||
		    strcmp(jstr(x, "action"), "cancel") == 0)
			t->foreign++;
	}
	t->decided = (int)json_object_array_length(decs);
	for (i = 0; i < s->n; i++) {
		ap = dn = cn = 0;
		if (json_object_object_get_ex(reqs, s->r[i].id, &x)) {
			ap = json_object_object_get_ex(x, "approve", &v)
			         ? json_object_get_int(v)
			         : 0;
			dn = json_object_object_get_ex(x, "deny", &v)
			         ? json_object_get_int(v)
			         : 0;
			cn = json_object_object_get_ex(x, "cancel", &v)
			         ? json_object_get_int(v)
			         : 0;
		}
		want = soak_expect(&s->r[i]);
		t->approved += ap;
		t->denied += dn;
		if (ap + dn + cn > 1)
			t->doubled++;
		if (want >= 0 && ap + dn + cn == 0)
			t->lost++;
		if ((want == -1 && ap + dn + cn > 0) || (want == 1 && dn > 0) ||
		    (want == 0 && ap > 0) || cn > 0) {
			t->wrong++;
			fprintf(stderr,
			    "soak: %s (%s) approve %d deny %d cancel %d, "
			    "expected %s\n",
			    s->r[i].key, soak_template[s->r[i].kind], ap, dn,
			    cn,
			    want == 1   ? "approve"
			    : want == 0 ? "deny"
			                : "nothing");
		}
	}
	json_object_put(o);
}

/* The state database's `decision` audit rows: per acknowledged human
 * decision exactly one row, for its stage, verdict, approver and channel;
 * never two rows for one stage. */
static void
soak_check_audit(struct soak *s, struct soak_tally *t)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const char *how[3] = { "", "control socket", "decision link" };
	struct sreq *q;
	int i, k, rows[2], match[2], stage;
	const char *verdict, *who, *via;

	CU_ASSERT_FATAL(sqlite3_open_v2(A.state, &db, SQLITE_OPEN_READONLY,
	                    NULL) == SQLITE_OK);
	CU_ASSERT_FATAL(
	    sqlite3_prepare_v2(db,
	        "SELECT json_extract(detail, '$.stage'), "
	        "json_extract(detail, '$.verdict'), "
	        "json_extract(detail, '$.who'), json_extract(detail, '$.how') "
	        "FROM audit WHERE kind = 'decision' AND key = ?1",
	        -1, &st, NULL) == SQLITE_OK);
	for (i = 0; i < s->n; i++) {
		q = &s->r[i];
		if (q->kind != SK_HUMAN)
			continue;
		rows[0] = rows[1] = match[0] = match[1] = 0;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, q->key, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			stage = sqlite3_column_int(st, 0) - 1;
			verdict = (const char *)sqlite3_column_text(st, 1);
			who = (const char *)sqlite3_column_text(st, 2);
			via = (const char *)sqlite3_column_text(st, 3);
			if (stage < 0 || stage >= q->nstages) {
				t->wrong++;
				continue;
			}
			rows[stage]++;
			match[stage] =
			    verdict != NULL && who != NULL && via != NULL &&
			    strcmp(verdict,
			        q->approve[stage] ? "approve" : "deny") == 0 &&
			    strcasecmp(who, q->who[stage]) == 0 &&
			    strcmp(via, how[q->acked[stage]]) == 0;
		}
		for (k = 0; k < q->nstages && k < 2; k++) {
			if (rows[k] != 1) {
				fprintf(stderr,
				    "soak: %s stage %d: %d decision rows\n",
				    q->key, k + 1, rows[k]);
				t->doubled += rows[k] > 1;
				t->unaudited += rows[k] == 0;
			}
			if (q->acked[k] != ACK_NONE && !match[k]) {
				fprintf(stderr,
				    "soak: %s stage %d: acknowledged %s by %s "
				    "(%s) not applied as said\n",
				    q->key, k + 1,
				    q->approve[k] ? "approve" : "deny",
				    q->who[k], how[q->acked[k]]);
				t->unapplied++;
			}
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
soak_figures(struct soak *s, const struct soak_tally *t, long ms)
{
	int kinds[SK_MAX] = { 0 }, i;

	for (i = 0; i < s->n; i++)
		kinds[s->r[i].kind]++;
	printf("soak: seed %llu (SOAK_SEED=%llu replays the choices)\n",
	    (unsigned long long)s->seed, (unsigned long long)s->seed);
	printf("soak: %d requests (%d auto-approve, %d reject, %d two-stage "
	       "human, %d ignored), %.1f s (kills and decisions %.1f s, "
	       "settling %.1f s)\n",
	    s->n, kinds[SK_AUTO], kinds[SK_REJECT], kinds[SK_HUMAN],
	    kinds[SK_IGNORE], (double)ms / 1000, (double)s->drive_ms / 1000,
	    (double)s->settle_ms / 1000);
	printf("soak: %d SIGKILLs (%d straight after an acknowledged "
	       "decision, %d during start-up)\n",
	    s->kills, s->ack_kills, s->nowait_restarts);
	printf("soak: human decisions acknowledged: %d over the control "
	       "socket (%d tries), %d by decision link (%d tries)\n",
	    s->acks[ACK_SOCKET], s->tries[ACK_SOCKET], s->acks[ACK_LINK],
	    s->tries[ACK_LINK]);
	printf("soak: Graph saw %ld calls: %ld answered 429, %ld 5xx, %ld "
	       "reset\n",
	    s->calls, s->c429, s->c5xx, s->creset);
	printf("soak: Graph decisions %d (%d approve, %d deny)\n", t->decided,
	    t->approved, t->denied);
	printf("soak: %d kills over %d requests: %d lost, %d doubled, %d "
	       "wrong, %d acknowledged not applied, %d stage decisions "
	       "unaudited, %d not by approvald\n",
	    s->kills, s->n, t->lost, t->doubled, t->wrong, t->unapplied,
	    t->unaudited, t->foreign);
	fflush(stdout);
}

static int
soak_setup(void)
{
	snprintf(policy_path, sizeof(policy_path), "%s",
	    cu_srcpath("tests/soak/soak-policy.yaml"));
	snprintf(fixture_path, sizeof(fixture_path), "%s",
	    cu_srcpath("examples/demo-tenant.json"));
	return 0;
}

/* After a fatal assertion: nothing the soak started outlives it. */
static int
soak_cleanup(void)
{
	if (A.p.pid > 0)
		ad_stop(&A, SIGKILL);
	if (E.p.pid > 0)
		emu_stop(&E);
	if (RX.running)
		rx_stop();
	return 0;
}

static void
test_soak(void)
{
	struct soak s;
	struct soak_tally t;
	long t0 = soak_ms();
	int k, i;

	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	s.seed = (uint64_t)soak_env("SOAK_SEED", 0);
	if (s.seed == 0)
		s.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	s.rng = s.seed ? s.seed : 1;
	s.want = (int)soak_env("SOAK_REQUESTS", SOAK_REQUESTS);
	s.kills_want = (int)soak_env("SOAK_KILLS", SOAK_KILLS);
	s.gap_ms = (int)soak_env("SOAK_KILL_GAP_MS", SOAK_KILL_GAP);
	s.settle_ms = (int)soak_env("SOAK_SETTLE_MS", SOAK_SETTLE);
	printf("soak: seed %llu, %d requests, %d kills\n",
	    (unsigned long long)s.seed, s.want, s.kills_want);
	fflush(stdout);
	CU_ASSERT_FATAL(s.want > 0 && s.want <= SOAK_MAX_REQ &&
	                s.kills_want >= 0 && s.gap_ms > 0);
	for (k = 0; k < SK_MAX; k++)
		CU_ASSERT_FATAL(
		    soak_oracle((enum soak_kind)k) == soak_verdict[k]);
	s.r = calloc((size_t)s.want, sizeof(*s.r));
	for (s.nslot = 1; s.nslot < 2 * (size_t)s.want; s.nslot <<= 1)
		;
	s.slot = calloc(s.nslot, sizeof(*s.slot));
	CU_ASSERT_FATAL(s.r != NULL && s.slot != NULL);

	soak_stack_start();
	soak_drive(&s);
	s.drive_ms = soak_ms() - t0;
	if (h_until(soak_settled, &s, s.settle_ms) != 0)
		CU_FAIL("not every request final on Graph within the bound");
	s.settle_ms = (int)(soak_ms() - t0 - s.drive_ms);
	soak_take_log(&s);
	soak_check_truth(&s, &t);
	CU_ASSERT_EQUAL(ad_stop(&A, SIGTERM), 0);
	soak_check_audit(&s, &t);
	soak_figures(&s, &t, soak_ms() - t0);

	CU_ASSERT_EQUAL(s.kills, s.kills_want);
	CU_ASSERT_EQUAL(s.n, s.want);
	CU_ASSERT_EQUAL(t.lost, 0);
	CU_ASSERT_EQUAL(t.doubled, 0);
	CU_ASSERT_EQUAL(t.wrong, 0);
	CU_ASSERT_EQUAL(t.unapplied, 0);
	CU_ASSERT_EQUAL(t.unaudited, 0);
	CU_ASSERT_EQUAL(t.foreign, 0);
	CU_ASSERT_EQUAL(s.violations, 0);
	/* The soak did what it says: both channels acknowledged, Graph
	 * throttled and faulted. */
	CU_ASSERT(s.acks[ACK_SOCKET] > 0);
	CU_ASSERT(s.acks[ACK_LINK] > 0);
	CU_ASSERT(s.c429 > 0);
	CU_ASSERT(s.c5xx > 0);

	emu_stop(&E);
	rx_stop();
	for (i = 0; i < s.n; i++) {
		free(s.r[i].link[0]);
		free(s.r[i].link[1]);
	}
	free(s.r);
	free(s.slot);
}

static const struct cu_test soak_tests[] = {
	{ "random SIGKILLs, throttled and faulted Graph, human decisions",
	    test_soak },
	{ NULL, NULL },
};

const struct cu_suite cu_suites[] = {
	{ "soak", soak_setup, soak_cleanup, soak_tests },
	{ NULL, NULL, NULL, NULL },
};
