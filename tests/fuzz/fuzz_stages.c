/* libFuzzer target: a stages verdict as stored with its request (issue 15).
 * Whatever decodes encodes again to text that decodes to the same
 * verdict (same fingerprint, same text once more). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_stages *a = NULL, *b = NULL;
	char *text, *err = NULL, *t1, *t2, fa[65], fb[65];

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (policy_stages_decode(text, &a, &err) == 0) {
		t1 = policy_stages_encode(&a->v, a->at);
		if (t1 == NULL || policy_stages_decode(t1, &b, NULL) != 0)
			abort();
		verdict_fingerprint(&a->v, fa);
		verdict_fingerprint(&b->v, fb);
		t2 = policy_stages_encode(&b->v, b->at);
		if (t2 == NULL || strcmp(fa, fb) != 0 || strcmp(t1, t2) != 0)
			abort();
		free(t1);
		free(t2);
		policy_stages_free(b);
		policy_stages_free(a);
	} else if (a != NULL)
		abort();
	free(err);
	free(text);
	return 0;
}
