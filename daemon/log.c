/* Logging: OpenBSD-style API, text or JSON lines on stderr (journald). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static int log_level = LOG_L_INFO;
static int log_json;

static const char *const log_level_names[] = {
	[LOG_L_ERROR] = "error",
	[LOG_L_WARN] = "warn",
	[LOG_L_INFO] = "info",
	[LOG_L_DEBUG] = "debug",
};

/* journald priority prefixes (sd-daemon(3)), for the text format. */
static const char *const log_prio[] = {
	[LOG_L_ERROR] = "<3>",
	[LOG_L_WARN] = "<4>",
	[LOG_L_INFO] = "<6>",
	[LOG_L_DEBUG] = "<7>",
};

void
log_init(int level, int json)
{
	log_level = level;
	log_json = json;
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

/* Write `s` as a JSON string body (without quotes). */
static void
log_json_escape(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

static void
log_emit(int level, const char *msg)
{
	char ts[32];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (log_json) {
		fprintf(stderr,
		    "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\","
		    "\"msg\":\"",
		    ts, now.tv_nsec / 1000000, log_level_names[level]);
		log_json_escape(stderr, msg);
		fputs("\"}\n", stderr);
	} else
		fprintf(stderr, "%s%s.%03ldZ %s: %s\n", log_prio[level], ts,
		    now.tv_nsec / 1000000, log_level_names[level], msg);
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
	log_emit(level, buf);
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

	if (LOG_L_INFO > log_level)
		return;
	if (log_json) {
		/* Structured fields for machines; values are ids and names. */
		char ts[32];
		struct timespec now;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr,
		    "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\","
		    "\"msg\":\"transition\",\"request\":\"",
		    ts, now.tv_nsec / 1000000, log_level_names[LOG_L_INFO]);
		log_json_escape(stderr, request);
		fputs("\",\"rule\":\"", stderr);
		log_json_escape(stderr, rule != NULL ? rule : "-");
		fputs("\",\"from\":\"", stderr);
		log_json_escape(stderr, from);
		fputs("\",\"to\":\"", stderr);
		log_json_escape(stderr, to);
		fputs("\",\"event\":\"", stderr);
		log_json_escape(stderr, event);
		fputs("\"}\n", stderr);
		fflush(stderr);
		return;
	} else
		snprintf(buf, sizeof(buf),
		    "request %s: %s -> %s on %s (rule %s)", request, from, to,
		    event, rule != NULL ? rule : "-");
	log_emit(LOG_L_INFO, buf);
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
