/* Hash map, random ids and tokens, base64url. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "emu.h"

void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL) {
		fprintf(stderr, "graph-emulator: out of memory\n");
		abort();
	}
	return p;
}

char *
xstrdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL) {
		fprintf(stderr, "graph-emulator: out of memory\n");
		abort();
	}
	return p;
}

char *
str_lower(const char *s)
{
	char *p = xstrdup(s), *q;

	for (q = p; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	return p;
}

const char *
emu_unknown_key(json_object *o, const char *const *allowed)
{
	int i;

	json_object_object_foreach(o, key, val)
	{
		(void)val;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (allowed[i] == NULL)
			return key;
	}
	return NULL;
}

static uint32_t
hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

void
hmap_init(struct hmap *m)
{
	m->nb = 64;
	m->n = 0;
	m->b = xcalloc(m->nb, sizeof(*m->b));
}

void *
hmap_get(const struct hmap *m, const char *key)
{
	uint32_t h;
	struct hmap_ent *e;

	if (m->b == NULL)
		return NULL;
	h = hash_str(key);
	for (e = m->b[h & (m->nb - 1)]; e != NULL; e = e->next)
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e->val;
	return NULL;
}

static void
hmap_grow(struct hmap *m)
{
	size_t nb = m->nb * 2, i;
	struct hmap_ent **b = xcalloc(nb, sizeof(*b)), *e, *next;

	for (i = 0; i < m->nb; i++)
		for (e = m->b[i]; e != NULL; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

int
hmap_put(struct hmap *m, const char *key, void *val, void **old)
{
	uint32_t h = hash_str(key);
	struct hmap_ent *e;

	if (m->b == NULL)
		hmap_init(m);
	if (old != NULL)
		*old = NULL;
	for (e = m->b[h & (m->nb - 1)]; e != NULL; e = e->next)
		if (e->hash == h && strcmp(e->key, key) == 0) {
			if (old != NULL)
				*old = e->val;
			e->val = val;
			return 0;
		}
	if (m->n + 1 > m->nb)
		hmap_grow(m);
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->val = val;
	e->hash = h;
	e->next = m->b[h & (m->nb - 1)];
	m->b[h & (m->nb - 1)] = e;
	m->n++;
	return 0;
}

void *
hmap_del(struct hmap *m, const char *key)
{
	uint32_t h = hash_str(key);
	struct hmap_ent **pp, *e;
	void *v;

	if (m->b == NULL)
		return NULL;
	for (pp = &m->b[h & (m->nb - 1)]; (e = *pp) != NULL; pp = &e->next)
		if (e->hash == h && strcmp(e->key, key) == 0) {
			*pp = e->next;
			v = e->val;
			free(e->key);
			free(e);
			m->n--;
			return v;
		}
	return NULL;
}

void
hmap_prune(struct hmap *m, bool (*pred)(void *, void *), void *arg,
    void (*freefn)(void *))
{
	struct hmap_ent **pp, *e;
	size_t i;

	if (m->b == NULL)
		return;
	for (i = 0; i < m->nb; i++) {
		pp = &m->b[i];
		while ((e = *pp) != NULL) {
			if (pred == NULL || pred(e->val, arg)) {
				*pp = e->next;
				if (freefn != NULL)
					freefn(e->val);
				free(e->key);
				free(e);
				m->n--;
			} else
				pp = &e->next;
		}
	}
}

void
hmap_clear(struct hmap *m, void (*freefn)(void *))
{
	hmap_prune(m, NULL, NULL, freefn);
	free(m->b);
	m->b = NULL;
	m->nb = 0;
	m->n = 0;
}

/* xorshift64*: deterministic, seeded from the fixture. */
uint64_t
emu_rand64(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

double
emu_rand01(uint64_t *s)
{
	return (double)(emu_rand64(s) >> 11) / 9007199254740992.0;
}

static void
rand_bytes(unsigned char *b, size_t n)
{
	if (RAND_bytes(b, (int)n) != 1) {
		fprintf(stderr, "graph-emulator: RAND_bytes failed\n");
		abort();
	}
}

void
emu_guid(char buf[EMU_ID_LEN])
{
	unsigned char b[16];

	rand_bytes(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(buf, EMU_ID_LEN,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
}

void
emu_random_token(char *buf, size_t bufsz, const char *prefix, size_t n)
{
	unsigned char b[48];
	char *enc;

	if (n > sizeof(b))
		n = sizeof(b);
	rand_bytes(b, n);
	enc = b64url_encode(b, n);
	snprintf(buf, bufsz, "%s%s", prefix, enc);
	free(enc);
}

static const char b64u[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
b64url_encode(const unsigned char *in, size_t n)
{
	char *out = xcalloc(n / 3 * 4 + 5, 1), *p = out;
	size_t i;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		*p++ = b64u[v >> 18 & 63];
		*p++ = b64u[v >> 12 & 63];
		*p++ = b64u[v >> 6 & 63];
		*p++ = b64u[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		*p++ = b64u[v >> 18 & 63];
		*p++ = b64u[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*p++ = b64u[v >> 18 & 63];
		*p++ = b64u[v >> 12 & 63];
		*p++ = b64u[v >> 6 & 63];
	}
	*p = '\0';
	return out;
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

unsigned char *
b64url_decode(const char *in, size_t n, size_t *outlen)
{
	unsigned char *out = xcalloc(n / 4 * 3 + 4, 1);
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0, v;

	for (i = 0; i < n; i++) {
		if (in[i] == '=')
			break;
		if ((v = b64val(in[i])) < 0) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	*outlen = o;
	return out;
}

const char *
json_str(json_object *o, const char *k)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}
