/*
 * approvalctl online commands: talk to a running approvald over its control
 * socket (one request line, one JSON document back). Who may do this is
 * decided by the socket file's mode (0660) and group.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "ctl.h"
#include "statemachine.h"

#define CTL_DEFAULT_SOCKET "/run/approvald/control.sock"

/* Take `--socket PATH` out of argv; fall back to $APPROVALD_SOCKET. */
static const char *
ctl_socket_arg(int *argc, char **argv)
{
	const char *path = getenv("APPROVALD_SOCKET");
	int i, j;

	for (i = 1; i < *argc; i++)
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < *argc) {
			path = argv[i + 1];
			for (j = i; j + 2 <= *argc; j++)
				argv[j] = argv[j + 2];
			*argc -= 2;
			break;
		}
	return path != NULL ? path : CTL_DEFAULT_SOCKET;
}

/* Send one command; returns the parsed reply or NULL (message printed). */
struct json_object *
ctl_call(const char *path, const char *cmd)
{
	struct sockaddr_un sun;
	char *buf = NULL, *q;
	size_t n = 0, cap = 0;
	ssize_t r;
	int fd;
	struct json_object *o = NULL;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "approvalctl: socket path too long\n");
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "approvalctl: %s: %s (is approvald running?)\n",
		    path, strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if (write(fd, cmd, strlen(cmd)) == -1 || write(fd, "\n", 1) == -1) {
		fprintf(stderr, "approvalctl: %s: %s\n", path, strerror(errno));
		close(fd);
		return NULL;
	}
	for (;;) {
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 65536;
			if ((q = realloc(buf, cap)) == NULL)
				break;
			buf = q;
		}
		if ((r = read(fd, buf + n, cap - n - 1)) <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf != NULL) {
		buf[n] = '\0';
		o = json_tokener_parse(buf);
	}
	free(buf);
	if (o == NULL)
		fprintf(
		    stderr, "approvalctl: no valid answer from approvald\n");
	return o;
}

static int
ctl_print(struct json_object *o)
{
	if (o == NULL)
		return CTL_EXIT_FAIL;
	printf("%s\n",
	    json_object_to_json_string_ext(
	        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return CTL_EXIT_OK;
}

static const char *
ctl_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

static const char *
ctl_or(const char *s, const char *dflt)
{
	return s != NULL ? s : dflt;
}

/* "3d 4h", "2h 5m", "42s": an uptime or an age. */
static void
ctl_age(long long s, char *buf, size_t n)
{
	if (s >= 86400)
		snprintf(buf, n, "%lldd %lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, n, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, n, "%lldm %llds", s / 60, s % 60);
	else
		snprintf(buf, n, "%llds", s);
}

/* How long ago an ISO-8601 UTC time ("2026-12-03T07:11:15Z") was, as
 * ctl_age writes it; "an unknown time" when it does not parse. */
static void
ctl_ago(const char *iso, char *buf, size_t n)
{
	int64_t t;
	time_t now = time(NULL);

	if (iso == NULL || (t = cfg_parse_timestamp(iso)) < 0) {
		snprintf(buf, n, "at an unknown time");
		return;
	}
	ctl_age(now > t ? (long long)(now - t) : 0, buf, n);
	strncat(buf, " ago", n - strlen(buf) - 1);
}

/* A principal object as "Name (upn)", its upn, or its id. */
static const char *
ctl_who(struct json_object *p)
{
	const char *d = ctl_str(p, "display");

	if (d != NULL)
		return d;
	return ctl_or(ctl_str(p, "upn"), ctl_or(ctl_str(p, "id"), "?"));
}

static void
ctl_names(struct json_object *arr, char *buf, size_t n)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; arr != NULL && json_object_is_type(arr, json_type_array) &&
	            i < json_object_array_length(arr) && len < n;
	     i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s",
		    i ? ", " : "", ctl_who(json_object_array_get_idx(arr, i)));
	if (buf[0] == '\0')
		snprintf(buf, n, "nobody yet");
}

static int
ctl_status_text(struct json_object *o)
{
	struct json_object_iterator it, end;
	struct json_object *v, *c;
	char age[64];
	const char *sep = "";

	printf("approvald %s, %s, up ", ctl_or(ctl_str(o, "version"), "?"),
	    json_object_object_get_ex(o, "ready", &v) &&
	            json_object_get_boolean(v)
	        ? "ready"
	        : "NOT READY");
	ctl_age(json_object_object_get_ex(o, "uptime_seconds", &v)
	            ? json_object_get_int64(v)
	            : 0,
	    age, sizeof(age));
	printf("%s (since %s)\n", age, ctl_or(ctl_str(o, "started"), "?"));
	printf("policy:         %s (%s rules, sha256 %s, loaded %s)\n",
	    ctl_or(ctl_str(o, "policy"), "?"),
	    ctl_or(ctl_str(o, "policy_rules"), "?"),
	    ctl_or(ctl_str(o, "policy_sha256"), "unknown"),
	    ctl_or(ctl_str(o, "policy_loaded"), "?"));
	printf("credentials:   ");
	if (json_object_object_get_ex(o, "credentials", &v))
		for (it = json_object_iter_begin(v),
		    end = json_object_iter_end(v);
		     !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it)) {
			c = json_object_iter_peek_value(&it);
			printf("%s %s %s", sep, json_object_iter_peek_name(&it),
			    json_object_object_get_ex(c, "up", &v) &&
			            json_object_get_boolean(v)
			        ? "up"
			        : "DEAD");
			if (ctl_str(c, "since") != NULL)
				printf(" since %s (%s)", ctl_str(c, "since"),
				    ctl_or(ctl_str(c, "reason"), ""));
			sep = ",";
		}
	printf("\nlast poll:     ");
	sep = "";
	if (json_object_object_get_ex(o, "last_poll", &v))
		for (it = json_object_iter_begin(v),
		    end = json_object_iter_end(v);
		     !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it)) {
			c = json_object_iter_peek_value(&it);
			printf("%s %s %s", sep, json_object_iter_peek_name(&it),
			    c != NULL ? json_object_get_string(c) : "not yet");
			if (c != NULL) {
				ctl_ago(json_object_get_string(c), age,
				    sizeof(age));
				printf(" (%s)", age);
			}
			sep = ",";
		}
	printf("\nrequests:      ");
	sep = "";
	if (json_object_object_get_ex(o, "requests", &v))
		for (it = json_object_iter_begin(v),
		    end = json_object_iter_end(v);
		     !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it)) {
			printf("%s %s %s", sep, json_object_iter_peek_name(&it),
			    json_object_get_string(
			        json_object_iter_peek_value(&it)));
			sep = ",";
		}
	printf("\nattention:      %s%s\n", ctl_or(ctl_str(o, "attention"), "?"),
	    ctl_str(o, "attention") != NULL &&
	            strcmp(ctl_str(o, "attention"), "0") != 0
	        ? " (approvalctl list --state attention; approvalctl retry)"
	        : "");
	printf("oldest waiting:");
	sep = "";
	if (json_object_object_get_ex(o, "oldest_waiting", &v))
		for (it = json_object_iter_begin(v),
		    end = json_object_iter_end(v);
		     !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it)) {
			ctl_ago(json_object_get_string(
			            json_object_iter_peek_value(&it)),
			    age, sizeof(age));
			printf("%s %s since %s (%s)", sep,
			    json_object_iter_peek_name(&it),
			    json_object_get_string(
			        json_object_iter_peek_value(&it)),
			    age);
			sep = ",";
		}
	printf("%s\n", sep[0] ? "" : " none");
	printf("outbox:         %s undelivered\n",
	    ctl_or(ctl_str(o, "outbox_pending"), "?"));
	printf("graph:          %s calls, %s throttled, %s token refreshes, "
	       "%s actions in flight\n",
	    ctl_or(ctl_str(o, "graph_calls"), "?"),
	    ctl_or(ctl_str(o, "graph_throttled"), "?"),
	    ctl_or(ctl_str(o, "token_refreshes"), "?"),
	    ctl_or(ctl_str(o, "actions_in_flight"), "?"));
	json_object_put(o);
	return CTL_EXIT_OK;
}

int
ctl_status(int argc, char **argv)
{
	const char *sock = ctl_socket_arg(&argc, argv);
	struct json_object *o;

	if (argc != 1)
		return CTL_EXIT_USAGE;
	if ((o = ctl_call(sock, "status")) == NULL)
		return CTL_EXIT_FAIL;
	return ctl_output_json ? ctl_print(o) : ctl_status_text(o);
}

int
ctl_list(int argc, char **argv)
{
	const char *sock = ctl_socket_arg(&argc, argv);
	struct json_object *o, *r;
	char cmd[256];
	size_t i, n;

	if (argc == 3 && strcmp(argv[1], "--state") == 0) {
		if (sm_state_from_name(argv[2]) < 0) {
			fprintf(stderr,
			    "approvalctl list: no state `%s` "
			    "(one of:",
			    argv[2]);
			for (i = 0; i < SM_S_MAX; i++)
				fprintf(stderr, " %s",
				    sm_state_name((enum sm_state)i));
			fprintf(stderr, ")\n");
			return CTL_EXIT_USAGE;
		}
		snprintf(cmd, sizeof(cmd), "list %s", argv[2]);
	} else if (argc == 1)
		snprintf(cmd, sizeof(cmd), "list");
	else
		return CTL_EXIT_USAGE;
	if ((o = ctl_call(sock, cmd)) == NULL)
		return CTL_EXIT_FAIL;
	if (ctl_output_json)
		return ctl_print(o);
	n = json_object_is_type(o, json_type_array)
	        ? json_object_array_length(o)
	        : 0;
	printf("%-48s %-11s %-26s %-20s %s\n", "KEY", "STATE", "REQUESTOR",
	    "UPDATED", "RULE");
	for (i = 0; i < n; i++) {
		r = json_object_array_get_idx(o, i);
		printf("%-48s %-11s %-26s %-20s %s\n",
		    ctl_or(ctl_str(r, "key"), "?"),
		    ctl_or(ctl_str(r, "state"), "?"),
		    ctl_or(ctl_str(r, "requestor"), "?"),
		    ctl_or(ctl_str(r, "updated"), "?"),
		    ctl_or(ctl_str(r, "rule"), "-"));
	}
	json_object_put(o);
	return CTL_EXIT_OK;
}

static void
ctl_timeline_rows(struct json_object *show, const char *indent)
{
	struct json_object *tl, *j;
	size_t k;

	if (!json_object_object_get_ex(show, "timeline", &tl))
		return;
	for (k = 0; k < json_object_array_length(tl); k++) {
		j = json_object_array_get_idx(tl, k);
		printf("%s%s  %-11s -> %-11s %-18s %s\n", indent,
		    ctl_or(ctl_str(j, "at"), "?"),
		    ctl_or(ctl_str(j, "from"), "?"),
		    ctl_or(ctl_str(j, "to"), "?"),
		    ctl_or(ctl_str(j, "event"), "?"),
		    ctl_or(ctl_str(j, "detail"), ""));
	}
}

/* One request as a person reads it. */
static void
ctl_show_text(struct json_object *o)
{
	struct json_object *sum = NULL, *st = NULL, *v, *e;
	char names[1024], ago[64];
	size_t i;

	json_object_object_get_ex(o, "summary", &sum);
	json_object_object_get_ex(sum, "stage", &st);
	printf("%s  %s", ctl_or(ctl_str(o, "key"), "?"),
	    ctl_or(ctl_str(o, "state"), "?"));
	if (st != NULL)
		printf(" (stage %s of %s%s%s)",
		    ctl_or(ctl_str(st, "index"), "?"),
		    ctl_or(ctl_str(st, "of"), "?"),
		    ctl_str(st, "name") ? ": " : "",
		    ctl_or(ctl_str(st, "name"), ""));
	printf("\n");
	if (json_object_object_get_ex(sum, "requestor", &v))
		printf("  who:        %s\n", ctl_who(v));
	if (json_object_object_get_ex(sum, "beneficiary", &v) && v != NULL)
		printf("  for:        %s\n", ctl_who(v));
	printf("  asks:       %s\n", ctl_or(ctl_str(sum, "asks"), "?"));
	if (ctl_str(sum, "duration_text") != NULL ||
	    ctl_str(sum, "duration") != NULL)
		printf(
		    "  how long:   %s\n", ctl_or(ctl_str(sum, "duration_text"),
		                              ctl_str(sum, "duration")));
	printf(
	    "  why:        %s\n", ctl_or(ctl_str(sum, "justification"), "-"));
	if (json_object_object_get_ex(sum, "ticket", &v) && v != NULL)
		printf("  ticket:     %s\n", ctl_or(ctl_str(v, "text"), "-"));
	if (json_object_object_get_ex(sum, "identity", &v) &&
	    ctl_str(v, "warning") != NULL)
		printf("  WARNING:    %s\n", ctl_str(v, "warning"));
	printf("  decided:    %s by rule %s%s%s\n",
	    ctl_or(ctl_str(o, "verdict"), "-"), ctl_or(ctl_str(o, "rule"), "-"),
	    ctl_str(o, "reason") ? ": " : "", ctl_or(ctl_str(o, "reason"), ""));
	if (st != NULL) {
		if (json_object_object_get_ex(st, "earlier", &v))
			for (i = 0; i < json_object_array_length(v); i++) {
				e = json_object_array_get_idx(v, i);
				json_object_object_get_ex(e, "approved_by", &e);
				ctl_names(e, names, sizeof(names));
				printf("  stage %zu:    approved by %s\n",
				    i + 1, names);
			}
		json_object_object_get_ex(st, "approved_by", &v);
		ctl_names(v, names, sizeof(names));
		printf("  stage %s:    needs %s, approved by %s\n",
		    ctl_or(ctl_str(st, "index"), "?"),
		    ctl_or(ctl_str(st, "needed"), "?"), names);
		if (json_object_object_get_ex(o, "awaiting", &v)) {
			ctl_names(v, names, sizeof(names));
			printf("  awaiting:   %s\n", names);
		}
		if (ctl_str(st, "deadline") != NULL)
			printf("  by:         %s (%s), else denied\n",
			    ctl_or(ctl_str(st, "deadline_text"), ""),
			    ctl_str(st, "deadline"));
	}
	/* Graph's status is what approvald last read: a decided request is
	 * not read again, so it may be stale; say so and how old it is,
	 * never present it as live. The request's row was last written
	 * `updated` (the reading is that old or older); its source's last
	 * completed poll says whether approvald still looks. */
	ctl_ago(ctl_str(o, "updated"), ago, sizeof(ago));
	printf("  Graph:      %s (a last-read value, not live: as approvald "
	       "last recorded it, %s)\n",
	    ctl_or(ctl_str(o, "graph_status"), "?"), ago);
	if (ctl_str(o, "source_last_poll") != NULL) {
		ctl_ago(ctl_str(o, "source_last_poll"), ago, sizeof(ago));
		printf("  polled:     %s (%s)\n",
		    ctl_str(o, "source_last_poll"), ago);
	} else
		printf("  polled:     no poll of its source has completed "
		       "yet\n");
	printf("  created:    %s, updated %s\n",
	    ctl_or(ctl_str(o, "created"), "?"),
	    ctl_or(ctl_str(o, "updated"), "?"));
	printf("  timeline:\n");
	ctl_timeline_rows(o, "    ");
}

int
ctl_show(int argc, char **argv)
{
	const char *sock = ctl_socket_arg(&argc, argv);
	struct json_object *o;
	char cmd[1024];

	if (argc != 2 || strchr(argv[1], ' ') || strchr(argv[1], '\n'))
		return CTL_EXIT_USAGE;
	snprintf(cmd, sizeof(cmd), "show %s", argv[1]);
	if ((o = ctl_call(sock, cmd)) == NULL)
		return CTL_EXIT_FAIL;
	if (ctl_str(o, "error") != NULL) {
		fprintf(stderr, "approvalctl show: %s: %s\n", argv[1],
		    ctl_str(o, "error"));
		json_object_put(o);
		return CTL_EXIT_FAIL;
	}
	if (ctl_output_json)
		return ctl_print(o);
	ctl_show_text(o);
	json_object_put(o);
	return CTL_EXIT_OK;
}

int
ctl_reload(int argc, char **argv)
{
	const char *sock = ctl_socket_arg(&argc, argv);
	struct json_object *o, *v;
	int ok;

	if (argc != 1)
		return CTL_EXIT_USAGE;
	if ((o = ctl_call(sock, "reload")) == NULL)
		return CTL_EXIT_FAIL;
	ok = json_object_object_get_ex(o, "reloaded", &v) &&
	     json_object_get_boolean(v);
	if (ctl_output_json) {
		ctl_print(o);
		return ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
	}
	if (ok)
		printf("reloaded\n");
	else
		fprintf(stderr,
		    "%sreload refused: the old settings and policy stay in "
		    "force\n",
		    ctl_or(ctl_str(o, "errors"), ""));
	json_object_put(o);
	return ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

/*
 * retry KEY | retry --all: requests in attention carry out their refused
 * action again. Prints each retried key (stdout) and each skipped one with
 * why (stderr); exit 1 when nothing named was retried or the daemon could
 * not record it.
 */
int
ctl_retry(int argc, char **argv)
{
	const char *sock = ctl_socket_arg(&argc, argv);
	struct json_object *o, *v, *x, *k, *w;
	char cmd[1024];
	size_t i, n = 0;
	int rc = CTL_EXIT_OK;

	if (argc != 2 || argv[1][0] == '\0' || strchr(argv[1], ' ') ||
	    strchr(argv[1], '\n') ||
	    (argv[1][0] == '-' && strcmp(argv[1], "--all") != 0)) {
		return CTL_EXIT_USAGE;
	}
	snprintf(cmd, sizeof(cmd), "retry %s", argv[1]);
	if ((o = ctl_call(sock, cmd)) == NULL)
		return CTL_EXIT_FAIL;
	if (ctl_output_json) {
		rc = json_object_object_get_ex(o, "error", &v) ||
		             (json_object_object_get_ex(o, "skipped", &v) &&
		                 json_object_array_length(v) > 0)
		         ? CTL_EXIT_FAIL
		         : CTL_EXIT_OK;
		ctl_print(o);
		return rc;
	}
	if (json_object_object_get_ex(o, "retried", &v))
		for (n = 0; n < json_object_array_length(v); n++)
			printf("retried %s\n",
			    json_object_get_string(
			        json_object_array_get_idx(v, n)));
	if (json_object_object_get_ex(o, "skipped", &v))
		for (i = 0; i < json_object_array_length(v); i++) {
			x = json_object_array_get_idx(v, i);
			if (json_object_object_get_ex(x, "key", &k) &&
			    json_object_object_get_ex(x, "why", &w))
				fprintf(stderr, "approvalctl: %s: %s\n",
				    json_object_get_string(k),
				    json_object_get_string(w));
			rc = CTL_EXIT_FAIL;
		}
	if (json_object_object_get_ex(o, "error", &v)) {
		fprintf(stderr, "approvalctl: %s\n", json_object_get_string(v));
		rc = CTL_EXIT_FAIL;
	}
	if (n == 0 && rc == CTL_EXIT_OK && strcmp(argv[1], "--all") == 0)
		printf("no request needs attention\n");
	json_object_put(o);
	return rc;
}

/* Every request with its transitions, for people. */
int
ctl_timeline(int argc, char **argv)
{
	const char *sock = ctl_socket_arg(&argc, argv);
	struct json_object *list, *r, *show, *all, *sum, *who;
	char cmd[1024];
	size_t i;

	if (argc != 1)
		return CTL_EXIT_USAGE;
	if ((list = ctl_call(sock, "list")) == NULL)
		return CTL_EXIT_FAIL;
	all = json_object_new_array();
	for (i = 0; i < json_object_array_length(list); i++) {
		r = json_object_array_get_idx(list, i);
		snprintf(
		    cmd, sizeof(cmd), "show %s", ctl_or(ctl_str(r, "key"), ""));
		if ((show = ctl_call(sock, cmd)) == NULL)
			continue;
		if (ctl_output_json) {
			json_object_array_add(all, show);
			continue;
		}
		if (json_object_object_get_ex(show, "summary", &sum) &&
		    json_object_object_get_ex(sum, "requestor", &who))
			printf("\n%s  (requestor %s)\n",
			    ctl_or(ctl_str(show, "key"), "?"), ctl_who(who));
		else
			printf("\n%s  (requestor %s)\n",
			    ctl_or(ctl_str(show, "key"), "?"),
			    ctl_or(ctl_str(show, "requestor"), "?"));
		printf("  decided: %s by rule %s%s%s\n",
		    ctl_or(ctl_str(show, "verdict"), "-"),
		    ctl_or(ctl_str(show, "rule"), "-"),
		    ctl_str(show, "reason") ? " — " : "",
		    ctl_or(ctl_str(show, "reason"), ""));
		ctl_timeline_rows(show, "  ");
		printf("  now: %s (Graph: %s when approvald last read it)\n",
		    ctl_or(ctl_str(show, "state"), "?"),
		    ctl_or(ctl_str(show, "graph_status"), "?"));
		json_object_put(show);
	}
	json_object_put(list);
	if (ctl_output_json)
		return ctl_print(all);
	json_object_put(all);
	return CTL_EXIT_OK;
}
