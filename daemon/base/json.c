/* One JSON accessor for every room; see json.h. */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"

struct json_object *
parse_json(const char *s, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	if (s == NULL || len > INT32_MAX || (tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o != NULL && json_tokener_get_error(tok) == json_tokener_success) {
		end = json_tokener_get_parse_end(tok);
		while (end < len && isspace((unsigned char)s[end]))
			end++;
		if (end != len) {
			json_object_put(o);
			o = NULL;
		}
	} else {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static struct json_object *
parse_member(struct json_object *o, const char *k, enum json_type type)
{
	struct json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

const char *
parse_str(struct json_object *o, const char *k)
{
	struct json_object *v = parse_member(o, k, json_type_string);

	return v != NULL ? json_object_get_string(v) : NULL;
}

struct json_object *
parse_obj(struct json_object *o, const char *k)
{
	return parse_member(o, k, json_type_object);
}

struct json_object *
parse_arr(struct json_object *o, const char *k)
{
	return parse_member(o, k, json_type_array);
}

int
parse_not_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	/* json-c keeps a JSON null as a present member with a NULL value */
	return o != NULL && json_object_is_type(o, json_type_object) &&
	       json_object_object_get_ex(o, k, &v) && v != NULL &&
	       !json_object_is_type(v, json_type_string);
}

/* Member `k` of object `o` when it is a boolean, else `def`. */
int
parse_bool(struct json_object *o, const char *k, int def)
{
	struct json_object *v = parse_member(o, k, json_type_boolean);

	return v != NULL ? json_object_get_boolean(v) : def;
}

/* Member `k` of object `o` when it is an integer: 0 and *out, else -1. */
int
parse_int64(struct json_object *o, const char *k, int64_t *out)
{
	struct json_object *v = parse_member(o, k, json_type_int);

	if (v == NULL)
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}
