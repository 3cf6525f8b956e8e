/*
 * The stack test_notify.c runs against: graph-emulator, approvald (test
 * clock on, decision links and five notification targets) and a
 * notification receiver in this process (libevent evhttp on its own
 * thread, port 0), with helpers to create, decide, wait and read pages.
 */
#ifndef NOTIFY_STACK_H
#define NOTIFY_STACK_H

#include <pthread.h>
#include <stddef.h>

#include <json-c/json.h>

#include "harness.h"

#define CISO_ID    "7deff43e-1f17-44ef-9e5f-d516b0ba11d4"
#define JORDAN_ID  "46184453-e63b-4f20-86c2-c557ed5d5df9"
#define WAIT_MS    30000
#define NOTIFY_KEY "notify-test-signing-key-0123456789"
#define LINK_KEY   "link-test-signing-key-0123456789abcdef"
#define RX_FLAKY   3 /* 500s the flaky target answers first */

/* One message the receiver got: path, X-Approvald-* headers, body, and
 * the status it answered. */
struct rx_msg {
	char path[32];
	char event[32];
	char delivery[32];
	char sig[200];
	int status;
	char *body;
};

struct rx {
	pthread_t th;
	struct event_base *base;
	struct evhttp *http;
	int port;
	pthread_mutex_t mu;
	struct rx_msg *v;
	size_t n, cap;
	int flaky_fail;
	int running;
};

extern struct rx RX;
extern struct emu E;
extern struct ad A;
extern int http_port; /* approvald's listener (decision links) */

int rx_start(void);
void rx_stop(void);
/* Messages to `path` about `key` with `event` (NULL: any) answered with
 * `status` (0: any). */
int rx_count(const char *path, const char *key, const char *event, int status);
/* Copy of the nth such message answered 200 (body heap); -1 none. */
int rx_get(const char *path, const char *key, const char *event, int nth,
    struct rx_msg *out);
int rx_wait(
    const char *path, const char *key, const char *event, int status, int n);

/* Set before stack_start: PIM for Groups requests are polled too. */
extern int stack_groups;
int stack_start(void);
int stack_stop(void);

char *create(const char *tag);
int wait_state(const char *key, const char *state);
void decide(
    const char *key, const char *verb, const char *who, const char *want);
void clock_advance(long secs);
int napprovers(const char *key, int stage);
int wait_approvers(const char *key, int stage, int n);
char *timeline(const char *key);
void assert_truth(const char *key, int approve);
/* Wait until `key` has one `decision` audit row: `verdict` by `who`, come
 * in `how`; 0, or -1. */
int wait_decision_audit(
    const char *key, const char *verdict, const char *who, const char *how);
/* `decision` audit rows of `key` (committed). */
long long decision_audits(const char *key);
void assert_undecided(const char *key);

struct json_object *jpath(struct json_object *o, const char *path);
const char *jstr(struct json_object *o, const char *path);
char *link_for(const char *key, const char *event, int nth, const char *who);
char *slack_link(const char *key);

/* A page fetched from the decision-link server. */
struct web {
	long status;
	char *body;
	char csp[256], cache[64], ctype[64];
};
long web(const char *url, const char *form, struct web *w);
int web_says(const char *url, const char *form, long status, const char *text);

#endif
