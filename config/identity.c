/*
 * The stored form of a request's resolved identity (JSON text), so that a
 * request re-read from the state database decides on the identity it was
 * first decided on: the daemon keeps it with the request, `approvalctl
 * replay` reads it back.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "internal.h"

static void
id_str(json_object *o, const char *k, const char *v)
{
	if (v != NULL)
		json_object_object_add(o, k, json_object_new_string(v));
}

static json_object *
id_principal(const struct req_principal *p)
{
	json_object *o = json_object_new_object();

	id_str(o, "id", p->id);
	id_str(o, "upn", p->upn);
	id_str(o, "mail", p->mail);
	id_str(o, "name", p->name);
	if (p->guest >= 0)
		json_object_object_add(
		    o, "guest", json_object_new_boolean(p->guest));
	return o;
}

char *
request_identity_encode(const struct request *q)
{
	json_object *o;
	char *s;

	if (q->identity == REQ_ID_UNCHECKED ||
	    (o = json_object_new_object()) == NULL)
		return NULL;
	id_str(o, "state", req_identity_name(q->identity));
	id_str(o, "requestor_key", q->requestor_key);
	id_str(o, "beneficiary_key", q->beneficiary_key);
	if (q->who.id != NULL)
		json_object_object_add(o, "who", id_principal(&q->who));
	if (q->beneficiary.id != NULL)
		json_object_object_add(
		    o, "beneficiary", id_principal(&q->beneficiary));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static const char *
id_get(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
id_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Borrowed strings from `o`; 1 when k names a principal with an id. */
static int
id_read(json_object *o, const char *k, struct req_principal *p)
{
	json_object *v, *g;

	memset(p, 0, sizeof(*p));
	p->guest = -1;
	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_object) ||
	    (p->id = (char *)id_get(v, "id")) == NULL)
		return 0;
	p->upn = (char *)id_get(v, "upn");
	p->mail = (char *)id_get(v, "mail");
	/* Rows stored before display names were kept have none. */
	p->name = (char *)id_get(v, "name");
	if (json_object_object_get_ex(v, "guest", &g) &&
	    json_object_is_type(g, json_type_boolean))
		p->guest = json_object_get_boolean(g);
	return 1;
}

int
request_identity_apply(struct request *q, const char *text)
{
	json_object *o;
	struct req_principal who, ben;
	const char *st;
	enum req_identity id;
	int hw, hb, rc = -1;

	if (text == NULL || (o = json_tokener_parse(text)) == NULL)
		return -1;
	if (!json_object_is_type(o, json_type_object) ||
	    (st = id_get(o, "state")) == NULL ||
	    !id_same(id_get(o, "requestor_key"), q->requestor_key) ||
	    !id_same(id_get(o, "beneficiary_key"), q->beneficiary_key))
		goto out;
	if (strcmp(st, "verified") == 0)
		id = REQ_ID_VERIFIED;
	else if (strcmp(st, "unverified") == 0)
		id = REQ_ID_UNVERIFIED;
	else
		goto out;
	hw = id_read(o, "who", &who);
	hb = id_read(o, "beneficiary", &ben);
	if (request_set_identity(q, id, hw ? &who : NULL, hb ? &ben : NULL) ==
	    -1) {
		req_principal_free(&q->who);
		req_principal_free(&q->beneficiary);
		q->identity = REQ_ID_UNCHECKED;
		goto out;
	}
	rc = 0;
out:
	json_object_put(o);
	return rc;
}
