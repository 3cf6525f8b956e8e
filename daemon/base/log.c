/*
 * Logging: OpenBSD-style API. Lines go to stderr, text with a journald
 * priority prefix (sd-daemon(3)) or JSON with a "PRIORITY" number; when
 * stderr is the journal's stream (JOURNAL_STREAM, systemd.exec(5)), they
 * go through the journal's native protocol instead (sd_journal_sendv(3)),
 * with PRIORITY and every structured field as a journal field, so
 * `journalctl -p err` and `journalctl REQUEST=...` work in both formats.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"

#define LOG_LINE_MAX       8192 /* bytes of one formatted line */
#define LOG_FIELDS_MAX     8    /* structured fields of one line */
#define LOG_FIELD_MAX      512  /* bytes of one journal field */
#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"

static int log_level = LOG_L_INFO;
static int log_json;
static int log_journal;
static int (*log_journal_send)(const struct iovec *, int) = sd_journal_sendv;

static const char *const log_level_names[] = {
	[LOG_L_ERROR] = "error",
	[LOG_L_WARN] = "warn",
	[LOG_L_INFO] = "info",
	[LOG_L_DEBUG] = "debug",
};

/* syslog(3) priorities, as journald reads them (LOG_ERR ... LOG_DEBUG). */
static const int log_prio[] = {
	[LOG_L_ERROR] = 3,
	[LOG_L_WARN] = 4,
	[LOG_L_INFO] = 6,
	[LOG_L_DEBUG] = 7,
};

int
log_priority(int level)
{
	return level >= LOG_L_ERROR && level <= LOG_L_DEBUG ? log_prio[level]
	                                                    : 6;
}

/* Is stderr the stream JOURNAL_STREAM names ("DEVICE:INODE", decimal)? */
static int
log_stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (v == NULL || *v < '0' || *v > '9')
		return 0;
	errno = 0;
	dev = strtoull(v, &end, 10); /* "DEV:INO", both decimal */
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return 0;
	ino = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

/*
 * Native only when stderr is the journal's stream and the journal's socket
 * is there: sd_journal_sendv(3) drops entries silently without it, and a
 * line must never be lost for want of a journal (a JOURNAL_STREAM
 * inherited into a container, journald gone).
 */
void
log_init(int level, int json)
{
	log_level = level;
	log_json = json;
	log_journal = log_stderr_is_journal() &&
	              (log_journal_send != sd_journal_sendv ||
	                  access(LOG_JOURNAL_SOCKET, W_OK) == 0);
	tzset();
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

int
log_journal_active(void)
{
	return log_journal;
}

void
log_set_journal_sink(int (*fn)(const struct iovec *, int))
{
	log_journal_send = fn != NULL ? fn : sd_journal_sendv;
}

/* A bounded line being built; silently truncated when full. */
struct log_buf {
	char v[LOG_LINE_MAX];
	size_t n;
};

static void
log_add(struct log_buf *b, const char *s, size_t len)
{
	if (len > sizeof(b->v) - 1 - b->n)
		len = sizeof(b->v) - 1 - b->n;
	memcpy(b->v + b->n, s, len);
	b->n += len;
	b->v[b->n] = '\0';
}

static void
log_adds(struct log_buf *b, const char *s)
{
	log_add(b, s, strlen(s));
}

/* `s` as a JSON string body (without quotes). */
static void
log_add_json(struct log_buf *b, const char *s)
{
	char esc[8];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			log_add(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			log_add(b, esc, 6);
		} else
			log_add(b, (const char *)s, 1);
	}
}

/* The journal entry: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, LOG_TYPE for a
 * structured line, and each field upper-cased. 0, or -1 when the journal
 * did not take it. */
static int
log_to_journal(int level, const char *message, const char *event,
    const struct log_field *f, size_t n)
{
	char fb[LOG_FIELDS_MAX + 1][LOG_FIELD_MAX], prio[16], *msg = NULL;
	struct iovec iov[LOG_FIELDS_MAX + 4];
	size_t i, j, k;
	int niov = 0, rc;

	if (asprintf(&msg, "MESSAGE=%s", message) == -1)
		return -1;
	iov[niov].iov_base = msg;
	iov[niov++].iov_len = strlen(msg);
	snprintf(prio, sizeof(prio), "PRIORITY=%d", log_priority(level));
	iov[niov].iov_base = prio;
	iov[niov++].iov_len = strlen(prio);
	iov[niov].iov_base = "SYSLOG_IDENTIFIER=approvald";
	iov[niov++].iov_len = strlen("SYSLOG_IDENTIFIER=approvald");
	k = 0;
	if (event != NULL) {
		snprintf(fb[k], sizeof(fb[k]), "LOG_TYPE=%s", event);
		iov[niov].iov_base = fb[k];
		iov[niov++].iov_len = strlen(fb[k++]);
	}
	for (i = 0; i < n && i < LOG_FIELDS_MAX; i++, k++) {
		for (j = 0; j < 64 && f[i].key[j] != '\0'; j++)
			fb[k][j] = f[i].key[j] >= 'a' && f[i].key[j] <= 'z'
			               ? (char)(f[i].key[j] - 'a' + 'A')
			               : f[i].key[j];
		snprintf(fb[k] + j, sizeof(fb[k]) - j, "=%s",
		    f[i].value != NULL ? f[i].value : "-");
		iov[niov].iov_base = fb[k];
		iov[niov++].iov_len = strlen(fb[k]);
	}
	rc = log_journal_send(iov, niov);
	free(msg);
	return rc < 0 ? -1 : 0;
}

void
log_fields(int level, const char *event, const char *text,
    const struct log_field *f, size_t n)
{
	struct log_buf b;
	char ts[64];
	struct timespec now;
	struct tm tm;
	size_t i, body;

	if (level > log_level)
		return;
	if (level < LOG_L_ERROR || level > LOG_L_DEBUG)
		level = LOG_L_INFO;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03ldZ",
	    now.tv_nsec / 1000000);
	b.n = 0;
	b.v[0] = '\0';
	if (log_json) {
		log_adds(&b, "{\"time\":\"");
		log_adds(&b, ts);
		log_adds(&b, "\",\"level\":\"");
		log_adds(&b, log_level_names[level]);
		snprintf(ts, sizeof(ts), "\",\"PRIORITY\":%d,\"msg\":\"",
		    log_prio[level]);
		log_adds(&b, ts);
		log_add_json(&b, event != NULL ? event : text);
		log_adds(&b, "\"");
		for (i = 0; i < n; i++) {
			log_adds(&b, ",\"");
			log_add_json(&b, f[i].key);
			log_adds(&b, "\":\"");
			log_add_json(&b, f[i].value != NULL ? f[i].value : "-");
			log_adds(&b, "\"");
		}
		log_adds(&b, "}");
		body = 0;
	} else {
		/* the journal stamps its own time: MESSAGE starts at level */
		log_adds(&b, ts);
		log_adds(&b, " ");
		body = b.n;
		log_adds(&b, log_level_names[level]);
		log_adds(&b, ": ");
		log_adds(&b, text);
	}
	if (log_journal && log_to_journal(level, b.v + body, event, f, n) == 0)
		return;
	if (log_json)
		fprintf(stderr, "%s\n", b.v);
	else
		fprintf(stderr, "<%d>%s\n", log_prio[level], b.v);
	fflush(stderr);
}

static void
log_vlog(int level, int with_errno, const char *fmt, va_list ap)
{
	char buf[2048];
	int saved = errno;
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof(buf))
		snprintf(
		    buf + n, sizeof(buf) - (size_t)n, ": %s", strerror(saved));
	log_fields(level, NULL, buf, NULL, 0);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_L_WARN, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_L_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_L_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_L_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
log_transition(const char *request, const char *rule, const char *from,
    const char *to, const char *event)
{
	char buf[1024];
	const struct log_field f[] = {
		{ "request", request },
		{ "rule", rule != NULL ? rule : "-" },
		{ "from", from },
		{ "to", to },
		{ "event", event },
	};

	if (LOG_L_INFO > log_level)
		return;
	snprintf(buf, sizeof(buf), "request %s: %s -> %s on %s (rule %s)",
	    request, from, to, event, rule != NULL ? rule : "-");
	log_fields(LOG_L_INFO, "transition", buf, f, sizeof(f) / sizeof(f[0]));
}

void
log_decision(const char *request, const char *verdict, const char *who,
    const char *how, const char *rule, const char *state)
{
	char buf[1024];
	const struct log_field f[] = {
		{ "request", request },
		{ "verdict", verdict },
		{ "who", who != NULL ? who : "-" },
		{ "how", how },
		{ "rule", rule != NULL ? rule : "-" },
		{ "state", state },
	};

	if (LOG_L_INFO > log_level)
		return;
	snprintf(buf, sizeof(buf),
	    "decision: request %s: %s by %s via %s (rule %s); now %s", request,
	    verdict, who != NULL ? who : "-", how, rule != NULL ? rule : "-",
	    state);
	log_fields(LOG_L_INFO, "decision", buf, f, sizeof(f) / sizeof(f[0]));
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_L_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_L_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
