/* approvalctl: shared declarations of the command table and helpers. */
#ifndef CTL_H
#define CTL_H

struct ctl_command {
	const char *name;
	int (*fn)(int argc, char **argv); /* argv[0] is the command name */
	const char *usage; /* its options are what the command accepts */
	const char *help;  /* one line */
};

/* The command table (approvalctl.c), NULL-terminated. */
const struct ctl_command *ctl_commands(void);
/* -o json given: the online commands print JSON, else tables. */
extern int ctl_output_json;
/* A completion script for `shell` (bash, zsh) on stdout (completion.c). */
int ctl_completion(int argc, char **argv);

/* Exit codes: 0 ok, 1 the checked thing failed, 2 usage error. */
#define CTL_EXIT_OK    0
#define CTL_EXIT_FAIL  1
#define CTL_EXIT_USAGE 2

/* Print the usage of every command to stderr. */
void ctl_usage(void);

/* Offline commands (offline.c). */
int ctl_check(int argc, char **argv);
int ctl_explain(int argc, char **argv);
int ctl_test(int argc, char **argv);

/* One request line to approvald's control socket; the parsed JSON reply
 * (caller puts) or NULL with the reason printed (online.c). */
struct json_object;
struct json_object *ctl_call(const char *path, const char *cmd);

/* Online commands over the control socket (online.c, decide.c). */
int ctl_status(int argc, char **argv);
int ctl_list(int argc, char **argv);
int ctl_show(int argc, char **argv);
int ctl_reload(int argc, char **argv);
int ctl_retry(int argc, char **argv);
int ctl_timeline(int argc, char **argv);
int ctl_decide(int argc, char **argv);

/* Device-code sign-in of the approver account (login.c). */
int ctl_login(int argc, char **argv);

/* Access package assignment policy -> approvald rule (import.c). */
int ctl_import_policy(int argc, char **argv);

/* Audit trail and shadow replay over a state database (audit.c, replay.c). */
int ctl_audit(int argc, char **argv);
int ctl_replay(int argc, char **argv);

/* A consistent copy of a state database, online (backup.c). */
int ctl_backup(int argc, char **argv);

#endif
