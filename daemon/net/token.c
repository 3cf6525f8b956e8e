/* Token manager; see token.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "config.h"
#include "graph.h"
#include "limits.h"
#include "log.h"
#include "token.h"

struct token_waiter {
	TAILQ_ENTRY(token_waiter) entry;
	token_cb cb;
	void *arg;
};
TAILQ_HEAD(token_waitq, token_waiter);

struct token_slot {
	struct token_mgr *t;
	enum token_kind kind;
	char *bearer;
	int64_t expires; /* wall clock seconds */
	int refreshing;
	unsigned long failures; /* refusals in a row */
	int64_t dead_since;     /* 0 while healthy */
	int64_t last_ok;        /* a token last obtained (wall clock); 0 */
	char dead_reason[192];
	int64_t backoff_ms; /* current back-off, 0 while healthy */
	int64_t next_try;   /* monotonic ms: circuit open before this */
	int stale;          /* reloaded while a refresh was in flight */
	struct token_waitq waiters;
};

struct token_mgr {
	struct event_base *base;
	struct graph *g;
	char *token_url, *client_id, *client_secret, *cert_file, *key_file;
	char *refresh_file, *refresh_token, *scope;
	char *approver_client_id; /* public client of the refresh token */
	/* SHA-256 of what the refresh token file holds as far as we know
	 * (read at start, written on rotation): a reload of an unchanged
	 * file keeps a rotated token we could not store */
	unsigned char file_sum[SHA256_DIGEST_LENGTH];
	enum token_alg alg;
	struct token_slot slot[TOKEN_KIND_MAX];
	unsigned long refreshes;
	int refresh_persist_warned;
};

static void
token_wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static int64_t
token_now(void)
{
	return (int64_t)time(NULL);
}

static int64_t
token_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
token_kind_name(enum token_kind k)
{
	return k == TOKEN_APP ? "app" : "delegated";
}

/* base64url without padding. */
static char *
token_b64url(const unsigned char *in, size_t len)
{
	size_t n = 4 * ((len + 2) / 3) + 1, i, j;
	char *out = malloc(n);

	if (out == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	for (i = 0, j = 0; out[i] != '\0'; i++) {
		if (out[i] == '=')
			break;
		out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	}
	out[j] = '\0';
	return out;
}

static void
token_uuid(char out[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%"
	    "02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
}

/*
 * A client assertion as
 * https://learn.microsoft.com/entra/identity-platform/certificate-credentials
 * describes it: header alg PS256 with x5t#S256 (base64url SHA-256 of the
 * DER certificate), or RS256 with x5t (SHA-1); claims aud (the token
 * endpoint), iss = sub = client_id, jti, nbf, iat, exp.
 */
char *
token_client_assertion(const char *cert_file, const char *key_file,
    const char *client_id, const char *aud, int64_t now, enum token_alg alg,
    char **err)
{
	FILE *f = NULL;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL, thumb[SHA256_DIGEST_LENGTH], *sig = NULL;
	int derlen;
	size_t siglen = 0;
	char *x5t = NULL, *h64 = NULL, *c64 = NULL, *s64 = NULL, *input = NULL;
	char *out = NULL, jti[37];
	struct json_object *hdr = NULL, *claims = NULL;
	const char *hs, *cs;

	if ((f = fopen(cert_file, "r")) == NULL ||
	    (cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		if (asprintf(err, "%s: cannot read certificate", cert_file) ==
		    -1)
			*err = NULL;
		goto fail;
	}
	fclose(f);
	if ((f = fopen(key_file, "r")) == NULL ||
	    (key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
		if (asprintf(err, "%s: cannot read private key", key_file) ==
		    -1)
			*err = NULL;
		goto fail;
	}
	fclose(f);
	f = NULL;
	if ((derlen = i2d_X509(cert, &der)) <= 0)
		goto crypto;
	if (alg == TOKEN_ALG_PS256)
		SHA256(der, (size_t)derlen, thumb);
	else
		SHA1(der, (size_t)derlen, thumb);
	if ((x5t = token_b64url(thumb, alg == TOKEN_ALG_PS256
	                                   ? SHA256_DIGEST_LENGTH
	                                   : SHA_DIGEST_LENGTH)) == NULL)
		goto crypto;
	token_uuid(jti);
	hdr = json_object_new_object();
	json_object_object_add(hdr, "alg",
	    json_object_new_string(alg == TOKEN_ALG_PS256 ? "PS256" : "RS256"));
	json_object_object_add(hdr, "typ", json_object_new_string("JWT"));
	json_object_object_add(hdr, alg == TOKEN_ALG_PS256 ? "x5t#S256" : "x5t",
	    json_object_new_string(x5t));
	claims = json_object_new_object();
	json_object_object_add(claims, "aud", json_object_new_string(aud));
	json_object_object_add(
	    claims, "iss", json_object_new_string(client_id));
	json_object_object_add(
	    claims, "sub", json_object_new_string(client_id));
	json_object_object_add(claims, "jti", json_object_new_string(jti));
	json_object_object_add(claims, "nbf", json_object_new_int64(now));
	json_object_object_add(claims, "iat", json_object_new_int64(now));
	json_object_object_add(
	    claims, "exp", json_object_new_int64(now + TOKEN_ASSERTION_TTL));
	hs = json_object_to_json_string_ext(
	    hdr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	cs = json_object_to_json_string_ext(
	    claims, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	h64 = token_b64url((const unsigned char *)hs, strlen(hs));
	c64 = token_b64url((const unsigned char *)cs, strlen(cs));
	if (h64 == NULL || c64 == NULL ||
	    asprintf(&input, "%s.%s", h64, c64) == -1) {
		input = NULL;
		goto crypto;
	}
	/* PS256: RSASSA-PSS, SHA-256, salt = hash length (RFC 7518 3.5) */
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    (alg == TOKEN_ALG_PS256 &&
	        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) !=
	                1 ||
	            EVP_PKEY_CTX_set_rsa_pss_saltlen(
	                pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) ||
	    EVP_DigestSign(md, NULL, &siglen, (unsigned char *)input,
	        strlen(input)) != 1 ||
	    (sig = malloc(siglen)) == NULL ||
	    EVP_DigestSign(
	        md, sig, &siglen, (unsigned char *)input, strlen(input)) != 1)
		goto crypto;
	if ((s64 = token_b64url(sig, siglen)) == NULL ||
	    asprintf(&out, "%s.%s", input, s64) == -1) {
		out = NULL;
		goto crypto;
	}
	goto done;
crypto:
	if (asprintf(err, "cannot sign client assertion") == -1)
		*err = NULL;
fail:
	if (f != NULL)
		fclose(f);
done:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	X509_free(cert);
	OPENSSL_free(der);
	json_object_put(hdr);
	json_object_put(claims);
	free(x5t);
	free(h64);
	free(c64);
	free(s64);
	free(input);
	free(sig);
	return out;
}

/* Persist a rotated refresh token: temp file 0600 + rename. */
static void
token_persist_refresh(struct token_mgr *t)
{
	char *tmp = NULL;
	int fd = -1;
	size_t n;

	if (t->refresh_file == NULL)
		return;
	if (asprintf(&tmp, "%s.new", t->refresh_file) == -1) {
		tmp = NULL;
		goto fail;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		goto fail;
	n = strlen(t->refresh_token);
	if (write(fd, t->refresh_token, n) != (ssize_t)n || fsync(fd) == -1)
		goto fail;
	close(fd);
	fd = -1;
	if (rename(tmp, t->refresh_file) == -1)
		goto fail;
	SHA256((const unsigned char *)t->refresh_token, n, t->file_sum);
	free(tmp);
	return;
fail:
	if (!t->refresh_persist_warned)
		log_warn("cannot store the rotated refresh token in %s; "
		         "keeping it in memory",
		    t->refresh_file);
	t->refresh_persist_warned = 1;
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
}

static void
token_flush(struct token_slot *s, const char *err)
{
	struct token_waiter *w;
	struct token_waitq q;

	TAILQ_INIT(&q);
	TAILQ_CONCAT(&q, &s->waiters, entry);
	while ((w = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, w, entry);
		w->cb(w->arg, err == NULL ? s->bearer : NULL, err);
		free(w);
	}
}

/* The token response of the identity platform: access_token, expires_in,
 * refresh_token (https://learn.microsoft.com/entra/identity-platform/
 * v2-oauth2-client-creds-grant-flow#successful-response, and
 * v2-oauth2-auth-code-flow#refresh-the-access-token). The access token
 * becomes "Authorization: Bearer ..." and the refresh token a form field
 * and a file: both must be header-safe text. */
int
token_parse(const char *body, struct json_object **root, const char **access,
    int64_t *expires_in, const char **refresh, const char **why)
{
	struct json_object *v;
	const char *a, *r;

	*root = NULL;
	*access = *refresh = NULL;
	*why = NULL;
	if (body == NULL || (*root = json_tokener_parse(body)) == NULL ||
	    !json_object_is_type(*root, json_type_object) ||
	    !json_object_object_get_ex(*root, "access_token", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (a = json_object_get_string(v)) == NULL || strlen(a) == 0 ||
	    strlen(a) > TOKEN_MAX_SIZE) {
		*why = "token endpoint: malformed answer";
		return -1;
	}
	if (!graph_header_value_ok(a) ||
	    (size_t)json_object_get_string_len(v) != strlen(a)) {
		*why = "token endpoint: the access token holds control "
		       "characters (refused)";
		return -1;
	}
	if (json_object_object_get_ex(*root, "expires_in", &v)) {
		/* a number, or (as some endpoints send it) digits in a string */
		if (!json_object_is_type(v, json_type_int) &&
		    !json_object_is_type(v, json_type_string)) {
			*why = "token endpoint: malformed expires_in";
			return -1;
		}
		*expires_in = json_object_get_int64(v);
	}
	if (json_object_object_get_ex(*root, "refresh_token", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    (r = json_object_get_string(v)) != NULL && *r != '\0') {
		if (!graph_header_value_ok(r) ||
		    (size_t)json_object_get_string_len(v) != strlen(r) ||
		    strlen(r) > TOKEN_MAX_SIZE) {
			*why =
			    "token endpoint: the refresh token holds control "
			    "characters (refused)";
			return -1;
		}
		*refresh = r;
	}
	*access = a;
	return 0;
}

/* Wipe the string values of a parsed token answer (json-c's copies of
 * access and refresh tokens) before it is freed. */
static void
token_json_wipe(struct json_object *o)
{
	if (!json_object_is_type(o, json_type_object))
		return;
	json_object_object_foreach(o, k, v)
	{
		(void)k;
		if (json_object_is_type(v, json_type_string)) {
			char *p = (char *)json_object_get_string(v);

			explicit_bzero(
			    p, (size_t)json_object_get_string_len(v));
		}
	}
}

/* A failed attempt: open the circuit for the next back-off (1 s doubling to
 * 5 min, minus up to a quarter of jitter). One log line when the credential
 * goes dead; later attempts only at debug level. */
static void
token_failed(struct token_slot *s, const char *err)
{
	uint32_t r = 0;
	int64_t wait;

	s->failures++;
	s->backoff_ms =
	    s->backoff_ms == 0 ? TOKEN_BACKOFF_MIN_MS : s->backoff_ms * 2;
	if (s->backoff_ms > TOKEN_BACKOFF_MAX_MS)
		s->backoff_ms = TOKEN_BACKOFF_MAX_MS;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0;
	wait = s->backoff_ms - (int64_t)(r % (uint32_t)(s->backoff_ms / 4 + 1));
	s->next_try = token_mono_ms() + wait;
	snprintf(s->dead_reason, sizeof(s->dead_reason), "%.180s", err);
	if (s->dead_since == 0) {
		s->dead_since = token_now();
		log_warnx("token: %s credential is dead: %s (retrying with "
		          "back-off up to %ds)",
		    token_kind_name(s->kind), err, TOKEN_BACKOFF_MAX_MS / 1000);
	} else
		log_debug("token: %s token refresh failed again (%lu in a "
		          "row): %s",
		    token_kind_name(s->kind), s->failures, err);
}

/* A token was obtained: close the circuit, one log line if it was dead. */
static void
token_healthy(struct token_slot *s)
{
	if (s->dead_since != 0)
		log_info("token: %s credential is healthy again after %lu "
		         "failures",
		    token_kind_name(s->kind), s->failures);
	s->failures = 0;
	s->dead_since = 0;
	s->dead_reason[0] = '\0';
	s->backoff_ms = 0;
	s->next_try = 0;
	s->last_ok = token_now();
}

static void token_refresh(struct token_slot *s);

static void
token_response(void *arg, const struct graph_resp *resp)
{
	struct token_slot *s = arg;
	struct token_mgr *t = s->t;
	struct json_object *root = NULL, *v;
	const char *access = NULL, *refresh = NULL, *err = NULL;
	char errbuf[256];
	int64_t expires_in = 3599;

	s->refreshing = 0;
	if (s->stale) {
		/* answers the refresh token token_reload replaced: neither its
		 * token nor its verdict are the new sign-in's */
		s->stale = 0;
		if (resp->body != NULL)
			explicit_bzero(resp->body, resp->len);
		if (!TAILQ_EMPTY(&s->waiters))
			token_refresh(s); /* the waiters get the new one */
		return;
	}
	if (resp->status == 0) {
		snprintf(errbuf, sizeof(errbuf), "token endpoint: %s",
		    resp->error ? resp->error : "no answer");
		err = errbuf;
		goto out;
	}
	if (resp->status != 200) {
		const char *code = NULL;
		long aadsts = 0;

		/* error, error_codes: https://learn.microsoft.com/entra/
		 * identity-platform/reference-error-codes */
		root = resp->body ? json_tokener_parse(resp->body) : NULL;
		if (root && json_object_object_get_ex(root, "error", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    graph_header_value_ok(json_object_get_string(v)))
			code = json_object_get_string(v);
		if (root &&
		    json_object_object_get_ex(root, "error_codes", &v) &&
		    json_object_is_type(v, json_type_array) &&
		    json_object_array_length(v) > 0)
			aadsts = (long)json_object_get_int64(
			    json_object_array_get_idx(v, 0));
		if (aadsts > 0)
			snprintf(errbuf, sizeof(errbuf),
			    "token endpoint answered %ld (%.64s, AADSTS%ld)",
			    resp->status, code ? code : "no error code",
			    aadsts);
		else
			snprintf(errbuf, sizeof(errbuf),
			    "token endpoint answered %ld (%.64s)", resp->status,
			    code ? code : "no error code");
		err = errbuf;
		goto out;
	}
	if (token_parse(
	        resp->body, &root, &access, &expires_in, &refresh, &err) == -1)
		goto out;
	if (expires_in < TOKEN_MIN_LIFETIME)
		expires_in = TOKEN_MIN_LIFETIME;
	token_wipe_free(s->bearer);
	if ((s->bearer = strdup(access)) == NULL) {
		err = "out of memory";
		goto out;
	}
	s->expires = token_now() + expires_in;
	t->refreshes++;
	if (s->kind == TOKEN_DELEGATED && refresh != NULL &&
	    strcmp(refresh, t->refresh_token) != 0) {
		char *nrt = strdup(refresh);

		if (nrt != NULL) {
			token_wipe_free(t->refresh_token);
			t->refresh_token = nrt;
			token_persist_refresh(t);
		}
	}
	log_debug("token: %s token refreshed, valid %llds",
	    s->kind == TOKEN_APP ? "app" : "delegated", (long long)expires_in);
out:
	if (err != NULL)
		token_failed(s, err);
	else
		token_healthy(s);
	if (root != NULL) {
		/* The body held a token: wipe json-c's copies too. */
		token_json_wipe(root);
		json_object_put(root);
	}
	/* and the raw answer, before graph.c frees it */
	if (resp->body != NULL)
		explicit_bzero(resp->body, resp->len);
	token_flush(s, err);
}

/* Append "&name=value" (URL-encoded value) to a heap form body. */
static int
token_form_add(char **form, const char *name, const char *value)
{
	char *e = graph_escape(value), *n = NULL;
	int rc;

	if (e == NULL)
		return -1;
	rc = asprintf(
	    &n, "%s%s%s=%s", *form ? *form : "", *form ? "&" : "", name, e);
	explicit_bzero(e, strlen(e));
	free(e);
	if (rc == -1)
		return -1;
	token_wipe_free(*form);
	*form = n;
	return 0;
}

static void
token_refresh(struct token_slot *s)
{
	struct token_mgr *t = s->t;
	char *form = NULL, *assertion = NULL, *err = NULL;
	int rc = 0;

	s->refreshing = 1;
	if (s->kind == TOKEN_DELEGATED) {
		/* The approver signed in to a public client (approvalctl
		 * login, device code flow); its refresh token is redeemed as
		 * that client and without any credential: a public client's
		 * token presented with one is refused (AADSTS700025).
		 * https://learn.microsoft.com/entra/identity-platform/
		 * v2-oauth2-auth-code-flow#refresh-the-access-token and
		 * https://learn.microsoft.com/entra/identity-platform/
		 * msal-client-applications */
		rc |= token_form_add(&form, "client_id",
		    t->approver_client_id ? t->approver_client_id
		                          : t->client_id);
		rc |= token_form_add(&form, "grant_type", "refresh_token");
		rc |= token_form_add(&form, "refresh_token", t->refresh_token);
		rc |= token_form_add(&form, "scope",
		    "https://graph.microsoft.com/.default offline_access");
		goto send;
	}
	/* https://learn.microsoft.com/entra/identity-platform/
	 * v2-oauth2-client-creds-grant-flow */
	rc |= token_form_add(&form, "client_id", t->client_id);
	rc |= token_form_add(&form, "grant_type", "client_credentials");
	rc |= token_form_add(&form, "scope", t->scope);
	if (t->client_secret != NULL)
		rc |= token_form_add(&form, "client_secret", t->client_secret);
	else if (t->cert_file != NULL) {
		assertion = token_client_assertion(t->cert_file, t->key_file,
		    t->client_id, t->token_url, token_now(), t->alg, &err);
		if (assertion == NULL) {
			log_warnx("token: %s", err);
			free(err);
			rc = -1;
		} else {
			rc |= token_form_add(&form, "client_assertion_type",
			    "urn:ietf:params:oauth:client-assertion-type:"
			    "jwt-bearer");
			rc |= token_form_add(
			    &form, "client_assertion", assertion);
		}
	}
send:
	if (rc != 0 || graph_call(t->g, "POST", t->token_url, NULL,
	                   "application/x-www-form-urlencoded", form,
	                   token_response, s) == -1) {
		s->refreshing = 0;
		token_failed(s, "cannot start token request");
		token_flush(s, "cannot start token request");
	}
	token_wipe_free(form);
	token_wipe_free(assertion);
}

void
token_get(struct token_mgr *t, enum token_kind kind, token_cb cb, void *arg)
{
	struct token_slot *s = &t->slot[kind];
	struct token_waiter *w;

	if (kind == TOKEN_DELEGATED && t->refresh_token == NULL) {
		cb(arg, NULL,
		    "no delegated approver account (approvalctl login)");
		return;
	}
	if (s->bearer != NULL &&
	    s->expires - TOKEN_REFRESH_MARGIN > token_now()) {
		cb(arg, s->bearer, NULL);
		return;
	}
	/* circuit open: answer with the reason, do not ask the endpoint */
	if (!s->refreshing && s->dead_since != 0 &&
	    token_mono_ms() < s->next_try) {
		cb(arg, NULL, s->dead_reason);
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		cb(arg, NULL, "out of memory");
		return;
	}
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&s->waiters, w, entry);
	if (!s->refreshing)
		token_refresh(s);
}

void
token_invalidate(struct token_mgr *t, enum token_kind kind, const char *bearer)
{
	struct token_slot *s = &t->slot[kind];

	if (s->bearer != NULL && bearer != NULL &&
	    strcmp(s->bearer, bearer) == 0) {
		token_wipe_free(s->bearer);
		s->bearer = NULL;
		s->expires = 0;
	}
}

int
token_reload(struct token_mgr *t, char **err)
{
	struct token_slot *s = &t->slot[TOKEN_DELEGATED];
	unsigned char sum[SHA256_DIGEST_LENGTH];
	char *rt = NULL;
	int same;

	if (t->refresh_file == NULL)
		return 0;
	if (cfg_read_secret(t->refresh_file, &rt, NULL, err) == -1)
		return -1;
	SHA256((const unsigned char *)rt, strlen(rt), sum);
	same = t->refresh_token != NULL &&
	       CRYPTO_memcmp(sum, t->file_sum, sizeof(sum)) == 0;
	explicit_bzero(sum, sizeof(sum));
	if (same && s->dead_since == 0) {
		token_wipe_free(rt);
		return 0;
	}
	if (same) {
		/* the file did not change: keep our (maybe rotated) token,
		 * only close the circuit */
		token_wipe_free(rt);
		goto closed;
	}
	token_wipe_free(t->refresh_token);
	t->refresh_token = rt;
	SHA256((const unsigned char *)rt, strlen(rt), t->file_sum);
	/* another sign-in: the cached access token may be another
	 * account's; the next token_get redeems the new refresh token */
	token_wipe_free(s->bearer);
	s->bearer = NULL;
	s->expires = 0;
	s->stale = s->refreshing;
closed:
	if (s->dead_since != 0)
		log_info("token: delegated credential reloaded from %s; "
		         "retrying now",
		    t->refresh_file);
	s->failures = 0;
	s->dead_since = 0;
	s->dead_reason[0] = '\0';
	s->backoff_ms = 0;
	s->next_try = 0;
	return 0;
}

int
token_has_delegated(const struct token_mgr *t)
{
	return t->refresh_token != NULL;
}

void
token_health_get(
    const struct token_mgr *t, enum token_kind kind, struct token_health *out)
{
	const struct token_slot *s = &t->slot[kind];

	memset(out, 0, sizeof(*out));
	out->configured = kind == TOKEN_APP || t->refresh_token != NULL;
	out->dead = s->dead_since != 0;
	out->since = s->dead_since;
	out->failures = s->failures;
	out->last_ok = s->last_ok;
	snprintf(out->reason, sizeof(out->reason), "%s", s->dead_reason);
}

unsigned long
token_refreshes(const struct token_mgr *t)
{
	return t->refreshes;
}

struct token_mgr *
token_new(struct event_base *base, struct graph *g, const struct token_opts *o,
    char **err)
{
	struct token_mgr *t;
	char *rt = NULL, *rerr = NULL;
	int i;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto oom;
	t->base = base;
	t->g = g;
	for (i = 0; i < TOKEN_KIND_MAX; i++) {
		t->slot[i].t = t;
		t->slot[i].kind = (enum token_kind)i;
		TAILQ_INIT(&t->slot[i].waiters);
	}
	if ((t->token_url = strdup(o->token_url)) == NULL ||
	    (t->client_id = strdup(o->client_id)) == NULL ||
	    (t->scope = strdup(
	         o->scope ? o->scope
	                  : "https://graph.microsoft.com/.default")) == NULL)
		goto oom;
	t->alg = o->assertion_alg;
	if (o->approver_client_id &&
	    (t->approver_client_id = strdup(o->approver_client_id)) == NULL)
		goto oom;
	if (o->client_secret &&
	    (t->client_secret = strdup(o->client_secret)) == NULL)
		goto oom;
	if (o->cert_file && ((t->cert_file = strdup(o->cert_file)) == NULL ||
	                        (t->key_file = strdup(o->key_file)) == NULL))
		goto oom;
	if (t->client_secret == NULL && t->cert_file == NULL) {
		if (asprintf(err,
		        "no client secret or certificate configured") == -1)
			*err = NULL;
		token_free(t);
		return NULL;
	}
	if (o->refresh_token_file != NULL) {
		if ((t->refresh_file = strdup(o->refresh_token_file)) == NULL)
			goto oom;
		if (access(o->refresh_token_file, F_OK) == 0) {
			if (cfg_read_secret(o->refresh_token_file, &rt, NULL,
			        &rerr) == -1) {
				if (asprintf(err, "%s", rerr) == -1)
					*err = NULL;
				free(rerr);
				token_free(t);
				return NULL;
			}
			t->refresh_token = rt;
			SHA256(
			    (const unsigned char *)rt, strlen(rt), t->file_sum);
		}
	}
	return t;
oom:
	if (asprintf(err, "token manager: out of memory") == -1)
		*err = NULL;
	token_free(t);
	return NULL;
}

void
token_free(struct token_mgr *t)
{
	int i;

	if (t == NULL)
		return;
	for (i = 0; i < TOKEN_KIND_MAX; i++) {
		token_flush(&t->slot[i], "shutting down");
		token_wipe_free(t->slot[i].bearer);
	}
	free(t->token_url);
	free(t->client_id);
	free(t->approver_client_id);
	token_wipe_free(t->client_secret);
	free(t->cert_file);
	free(t->key_file);
	free(t->refresh_file);
	token_wipe_free(t->refresh_token);
	free(t->scope);
	free(t);
}
