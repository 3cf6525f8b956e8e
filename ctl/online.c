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

#include "ctl.h"

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

int
ctl_status(int argc, char **argv)
{
	const char *sock = ctl_socket_arg(&argc, argv);

	if (argc != 1)
		return CTL_EXIT_USAGE;
	return ctl_print(ctl_call(sock, "status"));
}

int
ctl_list(int argc, char **argv)
{
	const char *sock = ctl_socket_arg(&argc, argv);
	char cmd[256];

	if (argc == 3 && strcmp(argv[1], "--state") == 0)
		snprintf(cmd, sizeof(cmd), "list %s", argv[2]);
	else if (argc == 1)
		snprintf(cmd, sizeof(cmd), "list");
	else
		return CTL_EXIT_USAGE;
	return ctl_print(ctl_call(sock, cmd));
}

int
ctl_show(int argc, char **argv)
{
	const char *sock = ctl_socket_arg(&argc, argv);
	char cmd[1024];

	if (argc != 2 || strchr(argv[1], ' ') || strchr(argv[1], '\n'))
		return CTL_EXIT_USAGE;
	snprintf(cmd, sizeof(cmd), "show %s", argv[1]);
	return ctl_print(ctl_call(sock, cmd));
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
	json_object_put(o);
	printf("%s\n", ok ? "reloaded"
	                  : "reload refused: see approvald's log; the old "
	                    "policy stays in force");
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
		fprintf(stderr, "usage: approvalctl retry KEY | --all "
		                "[--socket PATH]\n");
		return CTL_EXIT_USAGE;
	}
	snprintf(cmd, sizeof(cmd), "retry %s", argv[1]);
	if ((o = ctl_call(sock, cmd)) == NULL)
		return CTL_EXIT_FAIL;
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

static const char *
ctl_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

/* Every request with its transitions, for people. */
int
ctl_timeline(int argc, char **argv)
{
	const char *sock = ctl_socket_arg(&argc, argv);
	struct json_object *list, *r, *show, *tl, *j, *v;
	char cmd[1024], ts[32];
	size_t i, k;
	time_t t;
	struct tm tm;

	if (argc != 1)
		return CTL_EXIT_USAGE;
	if ((list = ctl_call(sock, "list")) == NULL)
		return CTL_EXIT_FAIL;
	for (i = 0; i < json_object_array_length(list); i++) {
		r = json_object_array_get_idx(list, i);
		snprintf(cmd, sizeof(cmd), "show %s", ctl_str(r, "key"));
		if ((show = ctl_call(sock, cmd)) == NULL)
			continue;
		printf("\n%s  (requestor %s)\n", ctl_str(show, "key"),
		    ctl_str(show, "requestor") ? ctl_str(show, "requestor")
		                               : "?");
		printf("  decided: %s by rule %s%s%s\n",
		    ctl_str(show, "verdict") ? ctl_str(show, "verdict") : "-",
		    ctl_str(show, "rule") ? ctl_str(show, "rule") : "-",
		    ctl_str(show, "reason") ? " — " : "",
		    ctl_str(show, "reason") ? ctl_str(show, "reason") : "");
		if (json_object_object_get_ex(show, "timeline", &tl))
			for (k = 0; k < json_object_array_length(tl); k++) {
				j = json_object_array_get_idx(tl, k);
				json_object_object_get_ex(j, "at", &v);
				t = (time_t)json_object_get_int64(v);
				gmtime_r(&t, &tm);
				strftime(ts, sizeof(ts), "%H:%M:%SZ", &tm);
				printf("  %s  %-11s -> %-11s %-18s %s\n", ts,
				    ctl_str(j, "from"), ctl_str(j, "to"),
				    ctl_str(j, "event"),
				    ctl_str(j, "detail") ? ctl_str(j, "detail")
				                         : "");
			}
		printf("  now: %s (Graph: %s)\n", ctl_str(show, "state"),
		    ctl_str(show, "graph_status")
		        ? ctl_str(show, "graph_status")
		        : "?");
		json_object_put(show);
	}
	json_object_put(list);
	return CTL_EXIT_OK;
}
