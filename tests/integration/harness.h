/*
 * Integration harness: start the real graph-emulator and approvald on
 * loopback, talk to them (HTTP via libcurl, the control socket), and wait
 * on observable conditions with a deadline (never a fixed sleep).
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

struct proc {
	pid_t pid;
	int out_fd;    /* child's stdout */
	char log[512]; /* child's stderr */
};

struct emu {
	struct proc p;
	char url[300]; /* http(s)://127.0.0.1:PORT */
	char fixture[512];
	int tls;
	char ca[512];
};

struct ad {
	struct proc p;
	char dir[512]; /* private temp folder */
	char conf[600], sock[600], state[600], policy[600];
	char extra_env[256]; /* e.g. APPROVALD_CRASH_AT=... */
	int product;         /* start daemon/approvald, not approvald-test */
};

/* Write `text` to `path` with `mode` (created or truncated); 0 or -1. */
int h_write_file(const char *path, const char *text, mode_t mode);

/* Temp folder for this test run (made once). */
const char *h_tmpdir(void);

int h_spawn(
    struct proc *p, char *const argv[], const char *env_extra, const char *log);
/* Wait for a line on the child's stdout starting with prefix. */
int h_wait_line(
    struct proc *p, const char *prefix, char *out, size_t len, int timeout_ms);
/* Wait for exit; returns the raw wait status or -1 on timeout. */
int h_wait_exit(struct proc *p, int timeout_ms);
/* Signal and wait; returns the raw wait status or -1. */
int h_stop(struct proc *p, int sig, int timeout_ms);

/* HTTP: returns status (0 on transport error); *body heap (may be NULL). */
long h_http(const char *ca, const char *method, const char *url,
    const char *bearer, const char *body, char **resp);

int emu_start(struct emu *e, const char *fixture, int tls);
void emu_stop(struct emu *e);
/* JSON from an emulator path ("/_emulator/truth"); caller puts. */
struct json_object *emu_json(struct emu *e, const char *method,
    const char *path, const char *body, long *status);
/* POST a request body file as `requestor`; returns the new id (heap). */
char *emu_create(struct emu *e, const char *requestor, const char *file);
/* A permissions request (the Azure role fixture) by `requestor` with
 * justification `tag`; its daemon key "permissions:<id>" (heap). */
char *emu_create_tagged(struct emu *e, const char *tag, const char *requestor);
/* Per-request effective decision counts from the truth log. */
int emu_truth_counts(
    struct emu *e, const char *id, int *approve, int *deny, int *cancel);
/* Calls the emulator has logged (on arrival) with `method` and a path
 * starting with `prefix`. */
int emu_count_calls(struct emu *e, const char *method, const char *prefix);
/* Total effective decisions (approve + deny + cancel) across requests. */
int emu_truth_total(struct emu *e);
/* Add a fault (JSON text); 0 ok. */
int emu_fault(struct emu *e, const char *json);

/* The `operators` entry every stack gets unless its extra YAML has its
 * own: the tests (uid 0) may decide as anyone over the control socket. */
#define H_OPERATORS_ROOT "operators:\n  - { unix: \"0\", as: \"*\" }\n"

/* Write approvald.yaml and secrets for emulator e with policy file (and
 * H_OPERATORS_ROOT unless extra_yaml has an `operators:`). */
int ad_prepare(
    struct ad *a, struct emu *e, const char *policy, const char *extra_yaml);
int ad_start(struct ad *a);
/* Kill -9 (or TERM) and wait. */
int ad_stop(struct ad *a, int sig);
/* One control-socket command; JSON reply (caller puts) or NULL. */
struct json_object *ad_ctl(struct ad *a, const char *cmd);
int ad_wait_ready(struct ad *a, int timeout_ms);
/* State of request key ("permissions:<id>") or NULL (heap). */
char *ad_state(struct ad *a, const char *key);

/* The "result" member of a control command's reply (heap; "(no answer)"
 * when there is none). */
char *ad_result(struct ad *a, const char *cmd);
/* Run `approvalctl decide KEY VERB --as WHO --reason R` against a's socket;
 * its exit code, or -1. */
int ad_ctl_decide(struct ad *a, const char *key, const char *verb,
    const char *who, const char *reason);
/* Stored eligible approvers of `stage` (1-based) of `key`; -1 unknown. */
int ad_napprovers(struct ad *a, const char *key, int stage);
/* kill -9, start again and wait until ready; 0, or -1 when the daemon did
 * not die by the signal or did not come back. */
int ad_restart(struct ad *a);
/* Write `text` to file `name` in the daemon's folder, mode 0600. */
int ad_write_secret(struct ad *a, const char *name, const char *text);
/* Poll until request `key` is in `state` ("approved" also accepts
 * "completed", which follows on its own); 0, or -1 at the timeout. */
int ad_wait_state(
    struct ad *a, const char *key, const char *state, int timeout_ms);

/* A TCP port free on loopback right now (for a listener that must be
 * named before it starts), or -1. */
int h_free_port(void);

/* Poll pred(arg) every few ms until true or timeout; 0 when true. */
int h_until(int (*pred)(void *), void *arg, int timeout_ms);

#endif
