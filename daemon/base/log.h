/*
 * Logging in the OpenBSD log.c shape: text or JSON lines on stderr, or the
 * journal's native protocol when stderr is connected to the journal
 * (JOURNAL_STREAM), with the priority and structured fields either way.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/uio.h>

enum { LOG_L_ERROR = 0, LOG_L_WARN, LOG_L_INFO, LOG_L_DEBUG };

/* A structured field: a lower-case name ("request") and its value. */
struct log_field {
	const char *key;
	const char *value;
};

/* Level and format; looks at JOURNAL_STREAM (systemd.exec(5)): when it
 * names stderr's device and inode (and the journal's socket is there),
 * lines go to the journal natively. */
void log_init(int level, int json);
void log_setlevel(int level);
int log_getlevel(void);
/* 1 when lines go to the journal natively (see log_init). */
int log_journal_active(void);
/* Tests: send journal entries through `fn` (NULL: sd_journal_sendv); set
 * before log_init, which then does not look for the journal's socket. */
void log_set_journal_sink(int (*fn)(const struct iovec *, int));
/* The journald priority (syslog(3) LOG_ERR...) of a LOG_L_ level. */
int log_priority(int level);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* One structured line: `event` is the JSON "msg" ("transition"), `text`
 * the prose of the text format; fields are borrowed. */
void log_fields(int level, const char *event, const char *text,
    const struct log_field *f, size_t n);
/* A structured transition line: request, rule, old -> new state. */
void log_transition(const char *request, const char *rule, const char *from,
    const char *to, const char *event);
/* One line per decision, whoever made it: request, verdict (approve,
 * reject, deny, ignore, stages, cancel), who (a rule, a person, approvald),
 * how (policy, control socket, decision link, Entra, timeout...), the
 * rule in force and the state the request is in afterwards. */
void log_decision(const char *request, const char *verdict, const char *who,
    const char *how, const char *rule, const char *state);
__attribute__((noreturn)) void fatal(const char *, ...)
    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *, ...)
    __attribute__((format(printf, 1, 2)));

#endif
