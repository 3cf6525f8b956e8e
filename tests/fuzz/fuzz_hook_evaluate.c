/* libFuzzer target: POST /v1/hooks/evaluate, the JSON body behind the
 * signature, as daemon/listen/hooks.c reads it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o;
	const char *r, *src;
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (parse_evaluate(s, size, &o, &r, &src) == 0) {
		/* the strings are read as the hook reads them */
		sink = (r != NULL ? strlen(r) : 0) +
		       (src != NULL ? strlen(src) : 0);
	}
	json_object_put(o);
	free(s);
	return 0;
}
