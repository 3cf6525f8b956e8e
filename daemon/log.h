/* Logging in the OpenBSD log.c shape: text or JSON lines on stderr. */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

enum { LOG_L_ERROR = 0, LOG_L_WARN, LOG_L_INFO, LOG_L_DEBUG };

void log_init(int level, int json);
void log_setlevel(int level);
int log_getlevel(void);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* A structured transition line: request, rule, old -> new state. */
void log_transition(const char *request, const char *rule, const char *from,
    const char *to, const char *event);
__attribute__((noreturn)) void fatal(const char *, ...)
    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *, ...)
    __attribute__((format(printf, 1, 2)));

#endif
