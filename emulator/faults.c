/* Fault injection by method and path glob, with a count or a rate. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"

const char *const fault_kind_names[FK_MAX] = {
	[FK_STATUS] = "status",
	[FK_DELAY] = "delay",
	[FK_RESET] = "reset",
	[FK_TRUNCATE] = "truncate",
	[FK_MALFORMED] = "malformed",
	[FK_APPLY_THEN_RESET] = "apply_then_reset",
	[FK_NOT_APPLIED] = "not_applied",
	[FK_NULL_FIELD] = "null_field",
};

const struct fault *
faults_match(struct emu *e, const char *method, const char *path)
{
	struct fault *f;
	size_t i;

	for (i = 0; i < e->nfaults; i++) {
		f = &e->faults[i];
		if (f->count == 0)
			continue;
		if (f->method[0] != '\0' && strcmp(f->method, "*") != 0 &&
		    strcasecmp(f->method, method) != 0)
			continue;
		if (fnmatch(f->path, path, 0) != 0)
			continue;
		if (f->rate < 1.0 && emu_rand01(&e->rng) >= f->rate)
			continue;
		if (f->count > 0)
			f->count--;
		f->hits++;
		return f;
	}
	return NULL;
}

int
faults_add(struct emu *e, json_object *spec, char *err, size_t errlen)
{
	struct fault f;
	json_object *v;
	const char *s;
	int k;

	memset(&f, 0, sizeof(f));
	f.count = -1;
	f.rate = 1.0;
	if (e->nfaults == EMU_MAX_FAULTS) {
		snprintf(
		    err, errlen, "too many faults (max %d)", EMU_MAX_FAULTS);
		return -1;
	}
	if (json_object_object_get_ex(spec, "method", &v) &&
	    (s = json_object_get_string(v)) != NULL)
		snprintf(f.method, sizeof(f.method), "%s", s);
	if (!json_object_object_get_ex(spec, "path", &v) ||
	    (s = json_object_get_string(v)) == NULL || *s != '/') {
		snprintf(err, errlen,
		    "'path' (a glob starting with /) is "
		    "required");
		return -1;
	}
	if (strncmp(s, "/_emulator", 10) == 0) {
		snprintf(err, errlen, "the control API cannot be faulted");
		return -1;
	}
	if (!json_object_object_get_ex(spec, "kind", &v) ||
	    (s = json_object_get_string(v)) == NULL) {
		snprintf(err, errlen, "'kind' is required");
		return -1;
	}
	for (k = 0; k < FK_MAX; k++)
		if (strcmp(fault_kind_names[k], s) == 0)
			break;
	if (k == FK_MAX) {
		snprintf(err, errlen, "unknown kind '%s'", s);
		return -1;
	}
	f.kind = (enum fault_kind)k;
	if (json_object_object_get_ex(spec, "status", &v))
		f.status = json_object_get_int(v);
	if (f.kind == FK_STATUS && (f.status < 400 || f.status > 599)) {
		snprintf(err, errlen, "'status' must be 400..599");
		return -1;
	}
	if (f.kind == FK_NOT_APPLIED && f.status == 0)
		f.status = 200;
	if (f.kind == FK_NOT_APPLIED && (f.status < 200 || f.status > 299)) {
		snprintf(err, errlen, "'status' must be 200..299");
		return -1;
	}
	if (f.kind == FK_NULL_FIELD) {
		if (!json_object_object_get_ex(spec, "field", &v) ||
		    (s = json_object_get_string(v)) == NULL || *s == '\0' ||
		    strlen(s) >= sizeof(f.field)) {
			snprintf(err, errlen,
			    "'field' (the member to null) is required");
			return -1;
		}
		snprintf(f.field, sizeof(f.field), "%s", s);
	}
	if (json_object_object_get_ex(spec, "retryAfter", &v) && v != NULL)
		snprintf(f.retry_after, sizeof(f.retry_after), "%s",
		    json_object_get_string(v));
	if (json_object_object_get_ex(spec, "delayMs", &v))
		f.delay_ms = json_object_get_int(v);
	if (f.kind == FK_DELAY &&
	    (f.delay_ms <= 0 || f.delay_ms > EMU_MAX_DELAY_MS)) {
		snprintf(
		    err, errlen, "'delayMs' must be 1..%d", EMU_MAX_DELAY_MS);
		return -1;
	}
	if (json_object_object_get_ex(spec, "count", &v) && v != NULL) {
		f.count = json_object_get_int64(v);
		if (f.count <= 0) {
			snprintf(err, errlen, "'count' must be positive");
			return -1;
		}
	}
	if (json_object_object_get_ex(spec, "rate", &v) && v != NULL) {
		f.rate = json_object_get_double(v);
		if (f.rate <= 0 || f.rate > 1) {
			snprintf(err, errlen, "'rate' must be in (0, 1]");
			return -1;
		}
	}
	json_object_object_get_ex(spec, "path", &v);
	f.path = xstrdup(json_object_get_string(v));
	f.id = ++e->fault_next_id;
	e->faults[e->nfaults++] = f;
	return f.id;
}

json_object *
faults_list(struct emu *e)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	size_t i;

	for (i = 0; i < e->nfaults; i++) {
		struct fault *f = &e->faults[i];
		json_object *x = json_object_new_object();

		json_object_object_add(x, "id", json_object_new_int(f->id));
		json_object_object_add(
		    x, "method", json_object_new_string(f->method));
		json_object_object_add(
		    x, "path", json_object_new_string(f->path));
		json_object_object_add(x, "kind",
		    json_object_new_string(fault_kind_names[f->kind]));
		json_object_object_add(
		    x, "status", json_object_new_int(f->status));
		json_object_object_add(
		    x, "retryAfter", json_object_new_string(f->retry_after));
		json_object_object_add(
		    x, "delayMs", json_object_new_int(f->delay_ms));
		json_object_object_add(
		    x, "remaining", json_object_new_int64(f->count));
		json_object_object_add(
		    x, "rate", json_object_new_double(f->rate));
		json_object_object_add(
		    x, "hits", json_object_new_int64(f->hits));
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "faults", a);
	return o;
}

void
faults_clear(struct emu *e)
{
	size_t i;

	for (i = 0; i < e->nfaults; i++)
		free(e->faults[i].path);
	e->nfaults = 0;
}
