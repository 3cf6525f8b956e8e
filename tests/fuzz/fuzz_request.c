/* libFuzzer target: Graph request bodies into struct request. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request r;
	char *err = NULL, dg[65];

	if (request_from_json(
	        (const char *)data, size, REQ_SRC_MAX, &r, &err) == 0) {
		request_digest(&r, dg);
		request_free(&r);
	}
	free(err);
	return 0;
}
