/* approvalctl: entry point and command table. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "version.h"

static const struct ctl_command commands[] = {
	{ "check", ctl_check, "check POLICY [-v]" },
	{ "explain", ctl_explain,
	    "explain POLICY REQUEST.json [--source S] [--json] [--at ISO] "
	    "[--directory TENANT.json]" },
	{ "test", ctl_test,
	    "test POLICY TESTS.yaml [--directory TENANT.json]" },
	{ "status", ctl_status, "status [--socket PATH]" },
	{ "list", ctl_list, "list [--state STATE] [--socket PATH]" },
	{ "show", ctl_show, "show KEY [--socket PATH]" },
	{ "timeline", ctl_timeline, "timeline [--socket PATH]" },
	{ "reload", ctl_reload, "reload [--socket PATH]" },
	{ "retry", ctl_retry, "retry KEY|--all [--socket PATH]" },
	{ "decide", ctl_decide,
	    "decide KEY approve|deny --as APPROVER --reason TEXT" },
	{ "login", ctl_login, "login [--config approvald.yaml]" },
	{ "import-policy", ctl_import_policy, "import-policy POLICY.json" },
	{ "audit", ctl_audit,
	    "audit export|verify --state DB [--since ISO] [--format jsonl]" },
	{ "replay", ctl_replay, "replay POLICY --state DB [--since P30D]" },
	{ "backup", ctl_backup, "backup --state DB OUT" },
	{ NULL, NULL, NULL },
};

void
ctl_usage(void)
{
	const struct ctl_command *c;

	fprintf(stderr, "usage:\n");
	for (c = commands; c->name != NULL; c++)
		fprintf(stderr, "  approvalctl %s\n", c->usage);
}

int
main(int argc, char **argv)
{
	const struct ctl_command *c;

	if (argc < 2) {
		ctl_usage();
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("approvalctl " APPROVALD_VERSION "\n");
		return CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		ctl_usage();
		return CTL_EXIT_OK;
	}
	for (c = commands; c->name != NULL; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->fn(argc - 1, argv + 1);
	fprintf(stderr, "approvalctl: unknown command `%s`\n", argv[1]);
	ctl_usage();
	return CTL_EXIT_USAGE;
}
