/* Helpers shared by the source adapters (and the approver resolver). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "approvald.h"

/* The string member `k` of object `o`, or NULL (absent, null, not a string). */
const char *
adapter_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* "<graph base><prefix><formatted tail>" as a heap string, or NULL. */
char *
adapter_url(struct daemon *d, const char *prefix, const char *fmt, ...)
{
	va_list ap;
	char *tail = NULL, *url = NULL;

	va_start(ap, fmt);
	if (vasprintf(&tail, fmt, ap) == -1)
		tail = NULL;
	va_end(ap);
	if (tail == NULL ||
	    asprintf(&url, "%s%s%s", d->graph_base, prefix, tail) == -1)
		url = NULL;
	free(tail);
	return url;
}
