/* libFuzzer target: POST /v1/hooks/graph, the change-notification body
 * (change and lifecycle notifications) and the validation handshake's
 * query string, as daemon/listen/hooks.c reads them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

#define CS "fuzz-client-state-0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct graph_notes gn;
	char *s, *tok;
	size_t n;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	parse_graph_notes(s, size, CS, strlen(CS), &gn);
	if ((tok = parse_validation_token(s, &n)) != NULL)
		free(tok);
	free(s);
	return 0;
}
