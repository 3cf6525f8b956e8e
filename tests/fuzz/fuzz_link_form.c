/* libFuzzer target: POST /v1/decide/{token}, the urlencoded decision form,
 * as daemon/effects/links.c reads it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, reason[LINK_MAX_REASON * 4 + 1];
	size_t i, n;
	int approve;

	if (size > LINK_MAX_FORM || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (parse_decision_form(s, &approve, reason, sizeof(reason)) == 0) {
		/* what reaches the store and the audit: no control bytes */
		n = strlen(reason);
		for (i = 0; i < n; i++)
			if ((unsigned char)reason[i] < 0x20 ||
			    reason[i] == 0x7f)
				abort();
		if (approve != 0 && approve != 1)
			abort();
	}
	free(s);
	return 0;
}
