/*
 * Signatures shared by webhooks in (hooks.c), notifications out (notify.c)
 * and decision links (links.c): HMAC-SHA256, the "t=<unix>,v1=<hex>"
 * timestamped scheme, and base64url without padding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base.h"

static const char sign_hex[] = "0123456789abcdef";
static const char sign_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* HMAC-SHA256(key, msg) into out[32]. 0, or -1. */
int
sign_hmac(const void *key, size_t keylen, const void *msg, size_t len,
    unsigned char out[SIGN_MAC_LEN])
{
	unsigned int mdlen = 0;

	if (HMAC(EVP_sha256(), key, (int)keylen, msg, len, out, &mdlen) ==
	        NULL ||
	    mdlen != SIGN_MAC_LEN)
		return -1;
	return 0;
}

/* HMAC-SHA256(key, "<t>." || body) in lowercase hex (out: 65 bytes). */
int
sign_timestamped(const void *key, size_t keylen, int64_t t, const char *body,
    size_t len, char out[2 * SIGN_MAC_LEN + 1])
{
	unsigned char md[SIGN_MAC_LEN];
	char ts[32], *msg;
	int tl = snprintf(ts, sizeof(ts), "%lld.", (long long)t);
	size_t i;
	int rc = -1;

	if ((msg = malloc((size_t)tl + len + 1)) == NULL)
		return -1;
	memcpy(msg, ts, (size_t)tl);
	if (len > 0)
		memcpy(msg + tl, body, len);
	if (sign_hmac(key, keylen, msg, (size_t)tl + len, md) == -1)
		goto out;
	for (i = 0; i < SIGN_MAC_LEN; i++) {
		out[2 * i] = sign_hex[md[i] >> 4];
		out[2 * i + 1] = sign_hex[md[i] & 15];
	}
	out[2 * SIGN_MAC_LEN] = '\0';
	rc = 0;
out:
	free(msg);
	explicit_bzero(md, sizeof(md));
	return rc;
}

/* base64url of `len` bytes, no padding, into a heap string. */
char *
sign_b64url(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out, *o;
	size_t i;
	unsigned v;

	if ((out = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	o = out;
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		*o++ = sign_b64[v >> 18];
		*o++ = sign_b64[(v >> 12) & 63];
		*o++ = sign_b64[(v >> 6) & 63];
		*o++ = sign_b64[v & 63];
	}
	if (len - i == 1) {
		v = (unsigned)p[i] << 16;
		*o++ = sign_b64[v >> 18];
		*o++ = sign_b64[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		*o++ = sign_b64[v >> 18];
		*o++ = sign_b64[(v >> 12) & 63];
		*o++ = sign_b64[(v >> 6) & 63];
	}
	*o = '\0';
	return out;
}

/*
 * Decode unpadded base64url `s` (length n) into a heap buffer (NUL added,
 * length in *outlen). Refuses any other character and non-canonical
 * encodings (stray bits in the last character), so one text has exactly
 * one meaning. NULL when malformed.
 */
unsigned char *
sign_b64url_decode(const char *s, size_t n, size_t *outlen)
{
	unsigned char *out;
	const char *c;
	size_t i, o = 0;
	unsigned acc = 0, bits = 0, v;

	if (n % 4 == 1 || (out = malloc(n / 4 * 3 + 3)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '\0' || (c = strchr(sign_b64, s[i])) == NULL)
			goto bad;
		v = (unsigned)(c - sign_b64);
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		goto bad;
	out[o] = '\0';
	*outlen = o;
	return out;
bad:
	free(out);
	return NULL;
}
