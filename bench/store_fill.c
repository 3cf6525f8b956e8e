/* Fill a state database with N settled requests (body, state-machine
 * record, three journal rows each), for memory and idle measurements. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

int
main(int argc, char *argv[])
{
	struct store *s;
	struct store_request r;
	char *err = NULL, key[64], gid[48];
	long i, n;
	static const char body[] =
	    "{\"id\":\"%s\",\"requestedPermissions\":{\"@odata.type\":"
	    "\"#microsoft.graph.awsPermissionsDefinition\","
	    "\"authorizationSystemInfo\":{\"authorizationSystemId\":"
	    "\"956987887735\",\"authorizationSystemType\":\"AWS\"},"
	    "\"actionInfo\":{\"@odata.type\":\"microsoft.graph."
	    "awsPolicyPermissionsDefinitionAction\",\"policies\":[{\"id\":"
	    "\"arn:aws:iam::956987887735:policy/AddUserToGroup\"}]},"
	    "\"identityInfo\":{\"externalId\":\"alex@contoso.com\","
	    "\"identityType\":\"user\"}},\"justification\":\"bench\","
	    "\"scheduleInfo\":{\"expiration\":{\"duration\":\"PT1H\"}},"
	    "\"ticketInfo\":{\"ticketNumber\":\"INC1234567\",\"ticketSystem\":"
	    "\"ServiceNow\"},\"statusDetail\":\"completed\"}";
	char b[sizeof(body) + 64];

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: store_fill STATE.db N\n");
		return 2;
	}
	if (store_open(argv[1], &s, &err) == -1) {
		fprintf(stderr, "store_fill: %s\n", err);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (i % 5000 == 0 &&
		    (store_commit(s) == -1 || store_begin(s) == -1))
			goto fail;
		snprintf(gid, sizeof(gid), "00000000-0000-4000-8000-%012ld", i);
		snprintf(key, sizeof(key), "permissions:%s", gid);
		snprintf(b, sizeof(b), body, gid);
		memset(&r, 0, sizeof(r));
		r.key = key;
		r.gid = gid;
		r.approval_id = gid;
		r.sm.state = SM_S_COMPLETED;
		r.sm.verdict_approve = 1;
		snprintf(r.sm.requestor.upn, sizeof(r.sm.requestor.upn),
		    "alex@contoso.com");
		r.graph_status = "completed";
		r.body = b;
		r.rule = "aws-policy-with-ticket";
		r.verdict = "approve";
		r.created = r.updated = 1700000000 + i;
		if (store_request_put(s, &r) == -1 ||
		    store_journal_add(s, key, r.created, "new", "evaluating",
		        "graph_submitted", NULL, "submitted") == -1 ||
		    store_journal_add(s, key, r.created, "evaluating",
		        "approving", "verdict_approve", r.rule, NULL) == -1 ||
		    store_journal_add(s, key, r.created, "approving",
		        "approved", "result_ok", r.rule,
		        "Graph answered 204") == -1)
			goto fail;
	}
	if (store_commit(s) == -1)
		goto fail;
	store_close(s);
	return 0;
fail:
	fprintf(stderr, "store_fill: %s\n", store_errmsg(s));
	store_close(s);
	return 1;
}
