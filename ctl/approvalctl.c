/* approvalctl: entry point and command table. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "version.h"

static const struct ctl_command commands[] = {
	{ "check", ctl_check, "check POLICY [-v]",
	    "Validate a policy file; -v prints it normalized." },
	{ "explain", ctl_explain,
	    "explain POLICY REQUEST.json [--source S] [--json] [--at ISO] "
	    "[--directory TENANT.json]",
	    "The verdict for one request and why, rule by rule." },
	{ "test", ctl_test, "test POLICY TESTS.yaml [--directory TENANT.json]",
	    "Run a policy's unit tests; exit 1 when one fails." },
	{ "status", ctl_status, "status [-o json] [--socket PATH]",
	    "The running daemon: version, uptime, policy, credentials, polls, "
	    "requests." },
	{ "list", ctl_list, "list [--state STATE] [-o json] [--socket PATH]",
	    "Stored requests, optionally in one state." },
	{ "show", ctl_show, "show KEY [-o json] [--socket PATH]",
	    "One request as a person reads it, with its timeline." },
	{ "timeline", ctl_timeline, "timeline [-o json] [--socket PATH]",
	    "Every request with its transitions." },
	{ "reload", ctl_reload, "reload [-o json] [--socket PATH]",
	    "Re-read settings and policy (as SIGHUP); errors are printed." },
	{ "retry", ctl_retry, "retry KEY|--all [-o json] [--socket PATH]",
	    "Drive requests in attention again (audited)." },
	{ "decide", ctl_decide,
	    "decide KEY approve|deny --as APPROVER --reason TEXT "
	    "[--socket PATH]",
	    "Record a stage decision as an approver your operators entry "
	    "names." },
	{ "login", ctl_login, "login [--config approvald.yaml]",
	    "Device-code sign-in of the approver account." },
	{ "import-policy", ctl_import_policy, "import-policy POLICY.json",
	    "Turn an access package assignment policy into a stages rule." },
	{ "audit", ctl_audit,
	    "audit export|verify --state DB [--since ISO] [--format "
	    "jsonl|text]",
	    "Export or verify the audit hash chain of a state database." },
	{ "replay", ctl_replay, "replay POLICY --state DB [--since P30D|ISO]",
	    "What a policy would have decided on stored requests." },
	{ "backup", ctl_backup, "backup --state DB OUT",
	    "A consistent copy of a state database, while the daemon runs." },
	{ "completion", ctl_completion, "completion bash|zsh",
	    "A shell completion script, from this command table." },
	{ NULL, NULL, NULL, NULL },
};

/* Output format of the online commands (-o json|table). */
int ctl_output_json;

const struct ctl_command *
ctl_commands(void)
{
	return commands;
}

void
ctl_usage(void)
{
	const struct ctl_command *c;

	fprintf(stderr, "usage:\n");
	for (c = commands; c->name != NULL; c++)
		fprintf(stderr, "  approvalctl %s\n", c->usage);
	fprintf(stderr, "  approvalctl --version | --help\n");
}

static void
usage_all(FILE *f)
{
	const struct ctl_command *c;

	fprintf(f, "usage: approvalctl COMMAND [ARGS]\n\n");
	for (c = commands; c->name != NULL; c++)
		fprintf(f, "  %-14s %s\n", c->name, c->help);
	fprintf(f, "\n`approvalctl COMMAND --help` for a command's arguments; "
	           "see approvalctl(8).\n");
}

/* One usage token without its brackets. */
static size_t
opt_word(const char *t, char *out, size_t n)
{
	size_t len;

	while (*t == '[')
		t++;
	len = strcspn(t, "]|");
	if (len >= n)
		len = n - 1;
	memcpy(out, t, len);
	out[len] = '\0';
	return len;
}

/*
 * Is `arg` an option of command `c` (its usage names it), and does it take
 * a value (the usage word after it, in the same brackets)? 1 and *value,
 * or 0 when unknown. Alternatives (`KEY|--all`) count.
 */
static int
usage_option(const struct ctl_command *c, const char *arg, int *value)
{
	char u[512], w[64], *tok, *next, *save = NULL, *alt;
	size_t i;

	snprintf(u, sizeof(u), "%s", c->usage);
	for (tok = strtok_r(u, " ", &save); tok != NULL; tok = next) {
		next = strtok_r(NULL, " ", &save);
		for (alt = tok; alt != NULL;) {
			while (*alt == '[')
				alt++;
			if (*alt == '-') {
				opt_word(alt, w, sizeof(w));
				if (strcmp(w, arg) == 0) {
					i = strlen(tok);
					*value = tok[i - 1] != ']' &&
					         strchr(tok, '|') == NULL &&
					         next != NULL &&
					         next[0] != '[' &&
					         next[0] != '-';
					return 1;
				}
			}
			alt = strchr(alt, '|');
			if (alt != NULL)
				alt++;
		}
	}
	return 0;
}

static void
usage_one(FILE *f, const struct ctl_command *c)
{
	fprintf(f, "usage: approvalctl %s\n", c->usage);
}

int
main(int argc, char **argv)
{
	const struct ctl_command *c;
	const char *opt, *fmt;
	int i, j, n, value, rc;

	if (argc < 2) {
		usage_all(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("approvalctl " APPROVALD_VERSION "\n");
		return CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage_all(stdout);
		return CTL_EXIT_OK;
	}
	for (c = commands; c->name != NULL; c++)
		if (strcmp(c->name, argv[1]) == 0)
			break;
	if (c->name == NULL) {
		fprintf(stderr, "approvalctl: unknown command `%s`\n", argv[1]);
		usage_all(stderr);
		return CTL_EXIT_USAGE;
	}
	/* Table-driven, before the command runs: --help, -o, and options
	 * the command's usage does not name. */
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage_one(stdout, c);
			printf("%s\n", c->help);
			return CTL_EXIT_OK;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			continue;
		/* --output is -o's long name (kubectl): valid wherever the
		 * usage names -o; --output=FORMAT and -oFORMAT too. */
		opt = argv[i];
		if (strcmp(opt, "--output") == 0 ||
		    strncmp(opt, "--output=", 9) == 0 ||
		    (strncmp(opt, "-o", 2) == 0 && opt[2] != '\0'))
			opt = "-o";
		if (!usage_option(c, opt, &value)) {
			fprintf(stderr, "approvalctl %s: unknown option `%s`\n",
			    c->name, argv[i]);
			usage_one(stderr, c);
			return CTL_EXIT_USAGE;
		}
		if (value &&
		    (opt == argv[i] || strcmp(argv[i], "--output") == 0))
			i++;
	}
	for (i = 2; i < argc; i++)
		if (strcmp(argv[i], "-o") == 0 ||
		    strcmp(argv[i], "--output") == 0 ||
		    strncmp(argv[i], "--output=", 9) == 0 ||
		    strncmp(argv[i], "-o", 2) == 0) {
			/* the format: attached (--output=F, -oF, -o=F) or
			 * the next word */
			if (strncmp(argv[i], "--output=", 9) == 0)
				fmt = argv[i] + 9, n = 1;
			else if (strcmp(argv[i], "--output") != 0 &&
			         argv[i][2] != '\0')
				fmt = argv[i] + 2 + (argv[i][2] == '='), n = 1;
			else
				fmt = i + 1 < argc ? argv[i + 1] : NULL, n = 2;
			if (fmt == NULL || (strcmp(fmt, "json") != 0 &&
			                       strcmp(fmt, "table") != 0)) {
				fprintf(stderr,
				    "approvalctl %s: -o/--output takes json "
				    "or table\n",
				    c->name);
				return CTL_EXIT_USAGE;
			}
			ctl_output_json = strcmp(fmt, "json") == 0;
			for (j = i; j + n <= argc; j++)
				argv[j] = argv[j + n];
			argc -= n;
			i--;
		} else if (strcmp(argv[i], "--as") == 0 ||
		           strcmp(argv[i], "--reason") == 0)
			i++; /* a value, whatever it looks like */
	rc = c->fn(argc - 1, argv + 1);
	if (rc == CTL_EXIT_USAGE)
		usage_one(stderr, c);
	return rc;
}
