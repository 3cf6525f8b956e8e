/*
 * approvalctl decide KEY approve|deny --as APPROVER --reason TEXT
 * [--socket PATH]: record an approver's decision on the request's current
 * stage over the control socket. Exit 0 when recorded, 1 when refused or a
 * no-op (the daemon says why), 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ctl.h"

#define DECIDE_DEFAULT_SOCKET "/run/approvald/control.sock"
#define DECIDE_MAX_LINE       4000 /* below the daemon's CTL_MAX_LINE */

static int
decide_safe(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

int
ctl_decide(int argc, char **argv)
{
	const char *sock = getenv("APPROVALD_SOCKET"), *as = NULL, *reason = "",
	           *key = NULL, *verb = NULL;
	struct json_object *o, *v;
	char line[DECIDE_MAX_LINE];
	const char *result = NULL, *why = NULL;
	int i, n, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--as") == 0 && i + 1 < argc)
			as = argv[++i];
		else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			reason = argv[++i];
		else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (key == NULL && argv[i][0] != '-')
			key = argv[i];
		else if (verb == NULL && argv[i][0] != '-')
			verb = argv[i];
		else
			goto usage;
	}
	if (key == NULL || verb == NULL || as == NULL ||
	    (strcmp(verb, "approve") != 0 && strcmp(verb, "deny") != 0) ||
	    strpbrk(key, " \t") != NULL || strpbrk(as, " \t") != NULL ||
	    !decide_safe(key) || !decide_safe(as) || !decide_safe(reason))
		goto usage;
	n = snprintf(
	    line, sizeof(line), "decide %s %s %s %s", key, verb, as, reason);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		fprintf(stderr, "approvalctl: decide: reason too long\n");
		return CTL_EXIT_USAGE;
	}
	if ((o = ctl_call(sock ? sock : DECIDE_DEFAULT_SOCKET, line)) == NULL)
		return CTL_EXIT_FAIL;
	if (json_object_object_get_ex(o, "result", &v))
		result = json_object_get_string(v);
	if (json_object_object_get_ex(o, "why", &v))
		why = json_object_get_string(v);
	printf("%s\n",
	    json_object_to_json_string_ext(
	        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	/* Only an explicit "ok" means recorded; anything else (refused,
	 * noop, not stored, an answer without a result) is exit 1. */
	rc = result != NULL && strcmp(result, "ok") == 0 ? CTL_EXIT_OK
	                                                 : CTL_EXIT_FAIL;
	if (rc != CTL_EXIT_OK)
		fprintf(stderr, "approvalctl: decide: %s\n",
		    why != NULL ? why : "not recorded");
	json_object_put(o);
	return rc;
usage:
	return CTL_EXIT_USAGE;
}
