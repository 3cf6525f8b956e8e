/* JSON from outside: parsed whole, read through typed accessors only (a
 * wrong type is absent, never dereferenced). */
#ifndef JSON_H
#define JSON_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* The JSON document in `s` (`len` bytes, nothing but whitespace after the
 * value), or NULL. The caller puts the result. */
struct json_object *parse_json(const char *s, size_t len);

/* Typed members of object `o` (NULL when `o` is not an object, the member
 * is absent, JSON null, or of another type). Borrowed from `o`. */
const char *parse_str(struct json_object *o, const char *k);
struct json_object *parse_obj(struct json_object *o, const char *k);
struct json_object *parse_arr(struct json_object *o, const char *k);
/* 1 when member `k` is present, not null and not a string. */
int parse_not_str(struct json_object *o, const char *k);
/* A boolean member, else `def`. */
int parse_bool(struct json_object *o, const char *k, int def);
/* An integer member into *out: 0, else -1 (absent or of another type). */
int parse_int64(struct json_object *o, const char *k, int64_t *out);

#endif
