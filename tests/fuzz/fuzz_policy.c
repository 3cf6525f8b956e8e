/* libFuzzer target: the policy loader, dump and evaluation. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char req[] =
	    "{\"groupId\":\"g\",\"accessId\":\"member\",\"action\":"
	    "\"selfActivate\",\"principalId\":\"p\",\"justification\":\"x\"}";
	struct cfg_diags d = { 0 };
	struct policy *p = NULL;
	struct request r;
	struct verdict v;
	struct policy_trace t = { 0 };

	if (policy_load_buffer("fuzz.yaml", (const char *)data, size, &p, &d) ==
	    0) {
		char *s = policy_dump(p);

		free(s);
		if (request_from_json(
		        req, sizeof(req) - 1, REQ_SRC_MAX, &r, NULL) == 0) {
			policy_evaluate(
			    p, &r, 1700000000, NULL, NULL, &v, NULL);
			policy_evaluate(p, &r, 1700000000, NULL, NULL, &v, &t);
			policy_trace_free(&t);
			request_free(&r);
		}
		policy_free(p);
	}
	cfg_diags_free(&d);
	return 0;
}
