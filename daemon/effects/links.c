/*
 * Decision-link tokens: minted for notifications (links_mint), checked by
 * the decision page (listen/page.c: links_parse, links_used).
 *
 * TOKEN = base64url(payload) "." base64url(HMAC-SHA256(key, first part)),
 * payload = "1\n<request key>\n<stage>\n<stage start>\n<approver id>\n
 * <expiry>\n<nonce>". The MAC covers the encoded text, and is compared as
 * text, so a token has exactly one spelling. Tokens are never logged.
 * Without a signing key (or listener) links are off, said once at start.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "effects.h"
#include "ident.h"
#include "limits.h"
#include "links.h"
#include "log.h"
#include "parse.h"

#define LINK_NONCE 16 /* random bytes */

/* d->links: the signing key in force (NULL when links are off). */
struct links_state {
	char *secret;
	size_t secret_len;
	char *base; /* decision_links.base_url without a trailing '/' */
	int64_t ttl;
};

/* ---- tokens ---------------------------------------------------------- */

/* base64url(HMAC(key, text)) as a heap string. */
static char *
lk_mac(const struct links_state *lk, const char *text, size_t len)
{
	unsigned char md[SIGN_MAC_LEN];
	char *m;

	if (sign_hmac(lk->secret, lk->secret_len, text, len, md) == -1)
		return NULL;
	m = sign_b64url(md, sizeof(md));
	explicit_bzero(md, sizeof(md));
	return m;
}

char *
links_mint(
    struct daemon *d, const struct store_request *r, const char *approver_id)
{
	unsigned char raw[LINK_NONCE];
	char *nonce = NULL, *payload = NULL, *p64 = NULL, *mac = NULL,
	     *url = NULL;
	const struct links_state *lk = d->links;
	int64_t exp;

	if (lk == NULL || lk->secret == NULL || approver_id == NULL ||
	    strchr(approver_id, '\n') != NULL || strchr(r->key, '\n') != NULL)
		return NULL;
	exp = clock_now() + lk->ttl;
	/* A link never outlives the stage's deadline. */
	if (r->sm.deadline != 0 && r->sm.deadline < exp)
		exp = r->sm.deadline;
	if (RAND_bytes(raw, sizeof(raw)) != 1 ||
	    (nonce = sign_b64url(raw, sizeof(raw))) == NULL)
		goto out;
	if (asprintf(&payload, "1\n%s\n%u\n%lld\n%s\n%lld\n%s", r->key,
	        r->sm.stage, (long long)r->sm.stage_started, approver_id,
	        (long long)exp, nonce) == -1) {
		payload = NULL;
		goto out;
	}
	if ((p64 = sign_b64url(payload, strlen(payload))) == NULL ||
	    (mac = lk_mac(lk, p64, strlen(p64))) == NULL)
		goto out;
	if (asprintf(&url, "%s" LINK_PREFIX "%s.%s", lk->base, p64, mac) == -1)
		url = NULL;
	if (url != NULL &&
	    strlen(url) - strlen(lk->base) - strlen(LINK_PREFIX) >
	        LINK_MAX_TOKEN) {
		free(url);
		url = NULL;
	}
out:
	free(nonce);
	free(payload);
	free(p64);
	free(mac);
	return url;
}

static int
lk_num(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 0)
		return -1;
	*out = v;
	return 0;
}

/* Check the MAC and read the payload; -1 for anything not minted by us. */
int
links_parse(struct daemon *d, const char *tok, struct lk_token *t)
{
	const char *dot, *p;
	char *mac = NULL, *f[8], *save = NULL, *s;
	unsigned char *payload = NULL;
	size_t n = strlen(tok), plen, nf = 0;
	int64_t v;
	int rc = -1;
	const struct links_state *lk = d->links;

	memset(t, 0, sizeof(*t));
	if (lk == NULL || lk->secret == NULL || n == 0 || n > LINK_MAX_TOKEN)
		return -1;
	for (p = tok; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			return -1;
	if ((dot = strchr(tok, '.')) == NULL || strchr(dot + 1, '.') != NULL)
		return -1;
	if ((mac = lk_mac(lk, tok, (size_t)(dot - tok))) == NULL)
		return -1;
	if (strlen(mac) != strlen(dot + 1) ||
	    CRYPTO_memcmp(mac, dot + 1, strlen(mac)) != 0)
		goto out;
	if ((payload = sign_b64url_decode(tok, (size_t)(dot - tok), &plen)) ==
	        NULL ||
	    memchr(payload, '\0', plen) != NULL)
		goto out;
	for (s = strtok_r((char *)payload, "\n", &save); s != NULL && nf < 8;
	     s = strtok_r(NULL, "\n", &save))
		f[nf++] = s;
	if (nf != 7 || strcmp(f[0], "1") != 0 ||
	    strlen(f[1]) >= sizeof(t->key) ||
	    strlen(f[4]) >= sizeof(t->approver) ||
	    strlen(f[6]) >= sizeof(t->nonce))
		goto out;
	snprintf(t->key, sizeof(t->key), "%s", f[1]);
	if (lk_num(f[2], &v) == -1 || v >= SM_MAX_STAGES)
		goto out;
	t->stage = (uint32_t)v;
	if (lk_num(f[3], &t->started) == -1 || lk_num(f[5], &t->expires) == -1)
		goto out;
	snprintf(t->approver, sizeof(t->approver), "%s", f[4]);
	snprintf(t->nonce, sizeof(t->nonce), "%s", f[6]);
	rc = 0;
out:
	free(mac);
	free(payload);
	return rc;
}

/* 1 when the nonce was used, 0 not, -1 error. */
int
links_used(struct daemon *d, const char *nonce)
{
	return store_link_used(d->store, nonce);
}

/* Forget used nonces of links that have expired anyway. */
void
links_prune(struct daemon *d)
{
	if (store_begin(d->store) == -1)
		return;
	batch_dirty(d);
	if (store_link_prune(d->store, clock_now(), PRUNE_BATCH) == -1)
		log_warnx("links: cannot prune used links: %s",
		    store_errmsg(d->store));
}

/* Read the signing key; links stay off (logged) when anything is missing. */
int
links_init(struct daemon *d)
{
	const struct settings *s = d->settings;
	struct links_state *lk;
	char *err = NULL;
	size_t n;

	links_free(d);
	if (s->decision_base_url == NULL) {
		log_info("decision links: off (no decision_links.base_url)");
		return 0;
	}
	if (d->http == NULL) {
		log_warnx("decision links: off: they need http.listen");
		return 0;
	}
	if ((lk = d->links = calloc(1, sizeof(*lk))) == NULL)
		return -1;
	if (s->decision_secret_file == NULL ||
	    cfg_read_secret(s->decision_secret_file, &lk->secret,
	        &lk->secret_len, &err) == -1) {
		log_warnx("decision links: off: no signing key (%s)",
		    err ? err : "decision_links.secret_file not set");
		free(err);
		return 0;
	}
	if (lk->secret_len < LINK_MIN_SECRET) {
		log_warnx("decision links: off: the signing key in %s is "
		          "shorter than %d bytes",
		    s->decision_secret_file, LINK_MIN_SECRET);
		links_free(d);
		return 0;
	}
	if ((lk->base = strdup(s->decision_base_url)) == NULL) {
		links_free(d);
		return -1;
	}
	n = strlen(lk->base);
	while (n > 0 && lk->base[n - 1] == '/')
		lk->base[--n] = '\0';
	lk->ttl = s->decision_link_ttl > 0 ? s->decision_link_ttl : 86400;
	log_info("decision links: on");
	return 0;
}

void
links_free(struct daemon *d)
{
	struct links_state *lk = d->links;

	if (lk == NULL)
		return;
	if (lk->secret != NULL) {
		explicit_bzero(lk->secret, lk->secret_len);
		free(lk->secret);
	}
	free(lk->base);
	free(lk);
	d->links = NULL;
}

int
links_on(struct daemon *d)
{
	return d->links != NULL && d->links->secret != NULL;
}
