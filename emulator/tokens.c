/*
 * Identity platform: /{tenant}/oauth2/v2.0/token and /devicecode. Access
 * tokens are opaque random strings mapped in memory to their identity.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "emu.h"

#define JWT_BEARER   "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"
#define VERIFY_URI   "https://microsoft.com/devicelogin"
#define IDT_KID      "emu-id-token-key" /* key id of the id_token key */
#define IDT_BITS     2048

static EVP_PKEY *idt_key; /* signs id_tokens; published at jwks_uri */

static void aad_error(struct call *, int status, const char *error, int code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
aad_error(struct call *c, int status, const char *error, int code,
    const char *fmt, ...)
{
	json_object *o = json_object_new_object(), *codes;
	char msg[512], desc[1024], ts[40], trace[EMU_ID_LEN], corr[EMU_ID_LEN],
	    uri[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_iso_sec(clock_real_ticks(), ts);
	ts[10] = ' ';
	emu_guid(trace);
	emu_guid(corr);
	snprintf(desc, sizeof(desc),
	    "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\n"
	    "Timestamp: %s",
	    code, msg, trace, corr, ts);
	snprintf(uri, sizeof(uri),
	    "https://login.microsoftonline.com/error?code=%d", code);
	codes = json_object_new_array();
	json_object_array_add(codes, json_object_new_int(code));
	json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(
	    o, "error_description", json_object_new_string(desc));
	json_object_object_add(o, "error_codes", codes);
	json_object_object_add(o, "timestamp", json_object_new_string(ts));
	json_object_object_add(o, "trace_id", json_object_new_string(trace));
	json_object_object_add(
	    o, "correlation_id", json_object_new_string(corr));
	json_object_object_add(o, "error_uri", json_object_new_string(uri));
	call_reply(c, status, o);
}

const struct token *
tokens_lookup(struct emu *e, const char *bearer)
{
	return hmap_get(&e->tokens, bearer);
}

static bool
token_expired(void *val, void *arg)
{
	return ((struct token *)val)->exp <= *(int64_t *)arg;
}

static bool
jti_expired(void *val, void *arg)
{
	return (int64_t)(intptr_t)val + EMU_ASSERTION_SKEW_S <
	       *(int64_t *)arg / EMU_TICKS_PER_SEC;
}

static bool
devcode_expired(void *val, void *arg)
{
	return ((struct devcode *)val)->exp + 3600 * EMU_TICKS_PER_SEC <
	       *(int64_t *)arg;
}

void
tokens_purge(struct emu *e)
{
	int64_t now = emu_now(e), real = clock_real_ticks();

	hmap_prune(&e->tokens, token_expired, &now, free);
	hmap_prune(&e->jtis, jti_expired, &real, NULL);
	hmap_prune(&e->usercodes, devcode_expired, &now, NULL);
	hmap_prune(&e->devcodes, devcode_expired, &now, free);
}

const struct token *
tokens_mint(struct emu *e, enum tok_kind kind, const char *client_id,
    const char *user_id)
{
	struct token *t;

	if (e->tokens.n >= EMU_MAX_TOKENS)
		tokens_purge(e);
	if (e->tokens.n >= EMU_MAX_TOKENS)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	t->kind = kind;
	emu_random_token(t->tok, sizeof(t->tok), "emu.", 32);
	snprintf(t->client_id, sizeof(t->client_id), "%s",
	    client_id ? client_id : "");
	snprintf(t->user_id, sizeof(t->user_id), "%s", user_id ? user_id : "");
	t->exp =
	    emu_now(e) + (int64_t)e->cfg.token_lifetime * EMU_TICKS_PER_SEC;
	hmap_put(&e->tokens, t->tok, t, NULL);
	return t;
}

static void
token_reply(struct call *c, const struct token *t, const char *scope,
    const char *refresh, json_object *extra)
{
	json_object *o = extra != NULL ? extra : json_object_new_object();
	int life = c->emu->cfg.token_lifetime;

	json_object_object_add(
	    o, "token_type", json_object_new_string("Bearer"));
	json_object_object_add(o, "scope",
	    json_object_new_string(
	        scope ? scope : "https://graph.microsoft.com/.default"));
	json_object_object_add(o, "expires_in", json_object_new_int(life));
	json_object_object_add(o, "ext_expires_in", json_object_new_int(life));
	json_object_object_add(
	    o, "access_token", json_object_new_string(t->tok));
	if (refresh != NULL)
		json_object_object_add(
		    o, "refresh_token", json_object_new_string(refresh));
	call_reply(c, 200, o);
}

static struct app *
find_app(struct call *c, const char *client_id)
{
	struct app *a = hmap_get(&c->emu->apps, client_id);

	if (a == NULL)
		aad_error(c, 400, "unauthorized_client", 700016,
		    "Application with identifier '%s' was not found in the "
		    "directory '%s'.",
		    client_id, c->emu->cfg.tenant_id);
	return a;
}

static bool
secret_ok(const struct app *a, const char *secret)
{
	size_t n = strlen(secret);

	return a->secret != NULL && strlen(a->secret) == n &&
	       CRYPTO_memcmp(a->secret, secret, n) == 0;
}

static json_object *
jwt_part(const char *s, size_t n)
{
	unsigned char *d;
	size_t dn;
	json_object *o;
	json_tokener *tok;

	if ((d = b64url_decode(s, n, &dn)) == NULL)
		return NULL;
	if ((tok = json_tokener_new()) == NULL)
		abort();
	o = json_tokener_parse_ex(tok, (const char *)d, (int)dn);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	free(d);
	return o;
}

static const char *
jget(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool
aud_ok(struct call *c, const char *tenant, json_object *aud)
{
	char base[256], want[512];
	const char *a = NULL;
	const char *tenants[2] = { tenant, c->emu->cfg.tenant_id };
	int i;

	if (aud != NULL && json_object_is_type(aud, json_type_string))
		a = json_object_get_string(aud);
	else if (aud != NULL && json_object_is_type(aud, json_type_array) &&
	         json_object_array_length(aud) == 1)
		a = json_object_get_string(json_object_array_get_idx(aud, 0));
	if (a == NULL)
		return false;
	call_base_url(c, base, sizeof(base));
	for (i = 0; i < 2; i++) {
		snprintf(want, sizeof(want), "%s/%s/oauth2/v2.0/token", base,
		    tenants[i]);
		if (strcmp(a, want) == 0)
			return true;
		snprintf(want, sizeof(want),
		    "https://login.microsoftonline.com/%s/oauth2/v2.0/token",
		    tenants[i]);
		if (strcmp(a, want) == 0)
			return true;
	}
	return false;
}

/*
 * Verify a client assertion on any grant; returns the app or answers an
 * error. The format (header alg PS256 with x5t#S256, or RS256 with x5t;
 * claims aud = the token endpoint, iss = sub = client_id, jti, nbf, exp) is
 * https://learn.microsoft.com/entra/identity-platform/certificate-credentials
 * and the AADSTS codes are those of
 * https://learn.microsoft.com/entra/identity-platform/reference-error-codes
 * (700021, 700023, 700024, 700027, 5002738, 50027).
 */
static struct app *
verify_assertion(struct call *c, const char *tenant, const char *client_id,
    const char *type, const char *jwt)
{
	struct emu *e = c->emu;
	json_object *hdr = NULL, *pl = NULL, *v;
	const char *dot1, *dot2, *alg, *iss, *sub, *jti, *x5t, *x5t256;
	unsigned char *sig = NULL;
	size_t siglen;
	struct app *a = NULL, *ret = NULL;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int64_t now = clock_real_ticks() / EMU_TICKS_PER_SEC, exp, nbf;

	if (type == NULL || strcmp(type, JWT_BEARER) != 0) {
		aad_error(c, 400, "invalid_request", 900144,
		    "The request body must contain the following parameter: "
		    "'client_assertion_type' with value '%s'.",
		    JWT_BEARER);
		return NULL;
	}
	if ((dot1 = strchr(jwt, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL ||
	    (hdr = jwt_part(jwt, (size_t)(dot1 - jwt))) == NULL ||
	    (pl = jwt_part(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL ||
	    (sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &siglen)) ==
	        NULL) {
		aad_error(c, 401, "invalid_client", 50027,
		    "JWT token is invalid or malformed.");
		goto out;
	}
	alg = jget(hdr, "alg");
	if (alg == NULL ||
	    (strcmp(alg, "RS256") != 0 && strcmp(alg, "PS256") != 0)) {
		aad_error(c, 401, "invalid_client", 5002738,
		    "Invalid JWT token. '%s' is not a supported signature "
		    "algorithm.",
		    alg ? alg : "none");
		goto out;
	}
	iss = jget(pl, "iss");
	sub = jget(pl, "sub");
	if (iss == NULL || sub == NULL || strcmp(iss, sub) != 0 ||
	    (client_id != NULL && strcmp(client_id, iss) != 0)) {
		aad_error(c, 401, "invalid_client", 700021,
		    "Client assertion application identifier doesn't match "
		    "'client_id' parameter.");
		goto out;
	}
	if ((a = find_app(c, iss)) == NULL)
		goto out;
	x5t = jget(hdr, "x5t");
	x5t256 = jget(hdr, "x5t#S256");
	/* every thumbprint the header names must be the registered
	 * certificate's (certificate-credentials: x5t#S256, or x5t) */
	if (a->cert == NULL || (x5t == NULL && x5t256 == NULL) ||
	    (x5t != NULL && strcmp(x5t, a->x5t) != 0) ||
	    (x5t256 != NULL && strcmp(x5t256, a->x5t256) != 0)) {
		aad_error(c, 401, "invalid_client", 700027,
		    "The certificate with identifier used to sign the client "
		    "assertion is not registered on application. "
		    "[Reason - The key was not found.]");
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL)
		abort();
	/* PS256: RSASSA-PSS, SHA-256, MGF1 SHA-256, salt = hash length
	 * (RFC 7518 section 3.5), as certificate-credentials documents. */
	if (EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, a->pubkey) !=
	        1 ||
	    (strcmp(alg, "PS256") == 0 &&
	        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) !=
	                1 ||
	            EVP_PKEY_CTX_set_rsa_pss_saltlen(
	                pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) ||
	    EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt,
	        (size_t)(dot2 - jwt)) != 1) {
		aad_error(c, 401, "invalid_client", 700027,
		    "Client assertion failed signature validation.");
		goto out;
	}
	json_object_object_get_ex(pl, "aud", &v);
	if (!aud_ok(c, tenant,
	        json_object_object_get_ex(pl, "aud", &v) ? v : NULL)) {
		aad_error(c, 401, "invalid_client", 700023,
		    "Client assertion audience claim does not match Realm "
		    "issuer.");
		goto out;
	}
	if (!json_object_object_get_ex(pl, "exp", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		aad_error(c, 401, "invalid_client", 50027,
		    "JWT token is invalid or malformed: 'exp' is missing.");
		goto out;
	}
	exp = json_object_get_int64(v);
	nbf = now;
	if (json_object_object_get_ex(pl, "nbf", &v))
		nbf = json_object_get_int64(v);
	if (exp < now - EMU_ASSERTION_SKEW_S ||
	    exp > now + EMU_ASSERTION_MAX_S + EMU_ASSERTION_SKEW_S ||
	    nbf > now + EMU_ASSERTION_SKEW_S) {
		aad_error(c, 401, "invalid_client", 700024,
		    "Client assertion is not within its valid time range. "
		    "Current time: %lld, assertion valid from %lld, expiry "
		    "time of assertion %lld.",
		    (long long)now, (long long)nbf, (long long)exp);
		goto out;
	}
	if ((jti = jget(pl, "jti")) == NULL || *jti == '\0') {
		aad_error(c, 401, "invalid_client", 50027,
		    "JWT token is invalid or malformed: 'jti' is missing.");
		goto out;
	}
	if (hmap_get(&e->jtis, jti) != NULL) {
		aad_error(c, 401, "invalid_client", 50027,
		    "The client assertion 'jti' has already been used "
		    "(replay).");
		goto out;
	}
	if (e->jtis.n >= EMU_MAX_JTIS)
		tokens_purge(e);
	hmap_put(&e->jtis, jti, (void *)(intptr_t)exp, NULL);
	ret = a;
out:
	EVP_MD_CTX_free(md);
	free(sig);
	if (hdr != NULL)
		json_object_put(hdr);
	if (pl != NULL)
		json_object_put(pl);
	return ret;
}

static const char *
form_get(struct evkeyvalq *f, const char *k)
{
	const char *v = evhttp_find_header(f, k);

	return v != NULL && *v != '\0' ? v : NULL;
}

static void
missing(struct call *c, const char *param)
{
	aad_error(c, 400, "invalid_request", 900144,
	    "The request body must contain the following parameter: '%s'.",
	    param);
}

static char *
new_refresh(struct emu *e, const char *user_id, const char *client_id)
{
	struct rtoken *t = xcalloc(1, sizeof(*t));
	char buf[EMU_TOKEN_LEN + 16];

	emu_random_token(buf, sizeof(buf), "emu.rt.", 32);
	t->tok = xstrdup(buf);
	snprintf(t->user_id, sizeof(t->user_id), "%s", user_id);
	snprintf(t->client_id, sizeof(t->client_id), "%s", client_id);
	if (e->cfg.refresh_lifetime > 0)
		t->exp = emu_now(e) + e->cfg.refresh_lifetime;
	hmap_put(&e->rtokens, t->tok, t, NULL);
	return t->tok;
}

/*
 * Authenticate the client of any grant against its registration. A public
 * client ("Allow public client flows", apps[].publicClient) presents no
 * credential: one presented is refused with 401 invalid_client AADSTS700025
 * ("Client is public so neither 'client_assertion' nor 'client_secret'
 * should be presented",
 * https://learn.microsoft.com/entra/identity-platform/msal-client-applications
 * and reference-error-codes). A confidential client must present one:
 * none is 401 invalid_client AADSTS7000218
 * (https://learn.microsoft.com/troubleshoot/entra/entra-id/app-integration/
 * confidential-client-application-authentication-error-aadsts7000218).
 * The client credentials grant is confidential-only
 * (https://learn.microsoft.com/entra/identity-platform/
 * v2-oauth2-client-creds-grant-flow). NULL when answered.
 */
static struct app *
grant_client(struct call *c, const char *tenant, struct evkeyvalq *f,
    bool confidential_only)
{
	const char *client_id = form_get(f, "client_id"),
	           *secret = form_get(f, "client_secret"),
	           *assertion = form_get(f, "client_assertion");
	struct app *a = NULL;

	if (client_id == NULL && assertion == NULL) {
		missing(c, "client_id");
		return NULL;
	}
	if (client_id != NULL && (a = find_app(c, client_id)) == NULL)
		return NULL;
	if (a != NULL && a->is_public &&
	    (secret != NULL || assertion != NULL)) {
		aad_error(c, 401, "invalid_client", 700025,
		    "Client is public so neither 'client_assertion' nor "
		    "'client_secret' should be presented.");
		return NULL;
	}
	if (assertion != NULL) {
		/* verified on every grant, not only client_credentials */
		if ((a = verify_assertion(c, tenant, client_id,
		         form_get(f, "client_assertion_type"), assertion)) ==
		    NULL)
			return NULL;
		if (a->is_public) {
			aad_error(c, 401, "invalid_client", 700025,
			    "Client is public so neither 'client_assertion' "
			    "nor 'client_secret' should be presented.");
			return NULL;
		}
		return a;
	}
	if (secret != NULL) {
		if (!secret_ok(a, secret)) {
			aad_error(c, 401, "invalid_client", 7000215,
			    "Invalid client secret provided. Ensure the secret "
			    "being sent in the request is the client secret "
			    "value, not the client secret ID, for a secret "
			    "added to app '%s'.",
			    a->client_id);
			return NULL;
		}
		return a;
	}
	if (!a->is_public || confidential_only) {
		aad_error(c, 401, "invalid_client", 7000218,
		    "The request body must contain the following parameter: "
		    "'client_assertion' or 'client_secret'.");
		return NULL;
	}
	return a;
}

static void
grant_client_credentials(
    struct call *c, const char *tenant, struct evkeyvalq *f)
{
	const char *scope = form_get(f, "scope");
	struct app *a;
	const struct token *t;
	size_t n;

	if (scope == NULL) {
		missing(c, "scope");
		return;
	}
	n = strlen(scope);
	if (n < 9 || strcmp(scope + n - 9, "/.default") != 0) {
		aad_error(c, 400, "invalid_scope", 1002012,
		    "The provided value for scope %s is not valid. Client "
		    "credential flows must have a scope value with /.default "
		    "suffixed to the resource identifier (application ID URI).",
		    scope);
		return;
	}
	if ((a = grant_client(c, tenant, f, true)) == NULL)
		return;
	snprintf(c->caller, sizeof(c->caller), "app:%s", a->client_id);
	if ((t = tokens_mint(c->emu, TOK_APP, a->client_id, NULL)) == NULL) {
		aad_error(c, 503, "temporarily_unavailable", 90033,
		    "Too many tokens outstanding.");
		return;
	}
	token_reply(c, t, scope, NULL, NULL);
}

/* The id_token signing key, made on first use. */
static EVP_PKEY *
idtoken_key(void)
{
	if (idt_key == NULL && (idt_key = EVP_RSA_gen(IDT_BITS)) == NULL)
		abort();
	return idt_key;
}

/* base64url of the compact JSON text of o. */
static char *
b64url_json(json_object *o)
{
	const char *s =
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	return b64url_encode((const unsigned char *)s, strlen(s));
}

/*
 * A v2.0 id_token for user u signed RS256 by the key at jwks_uri: the
 * claims of https://learn.microsoft.com/entra/identity-platform/
 * id-token-claims-reference (aud, iss, iat, nbf, exp, name, oid,
 * preferred_username, sub, tid, ver). sub is pairwise per app.
 */
static char *
idtoken_mint(struct call *c, const struct app *a, const struct user *u)
{
	struct emu *e = c->emu;
	json_object *h = json_object_new_object(),
	            *p = json_object_new_object();
	int64_t now = clock_real_ticks() / EMU_TICKS_PER_SEC;
	char base[256], iss[512], *hs, *ps, *input, *sigs, *jwt;
	unsigned char sub[32], sig[IDT_BITS / 8];
	unsigned int subn = 0;
	size_t sign = sizeof(sig);
	EVP_MD_CTX *md;

	json_object_object_add(h, "typ", json_object_new_string("JWT"));
	json_object_object_add(h, "alg", json_object_new_string("RS256"));
	json_object_object_add(h, "kid", json_object_new_string(IDT_KID));
	call_base_url(c, base, sizeof(base));
	snprintf(iss, sizeof(iss), "%s/%s/v2.0", base, e->cfg.tenant_id);
	input = NULL;
	if (asprintf(&input, "%s/%s", a->client_id, u->id) < 0 ||
	    EVP_Digest(input, strlen(input), sub, &subn, EVP_sha256(), NULL) !=
	        1)
		abort();
	free(input);
	hs = b64url_encode(sub, subn);
	json_object_object_add(p, "aud", json_object_new_string(a->client_id));
	json_object_object_add(p, "iss", json_object_new_string(iss));
	json_object_object_add(p, "iat", json_object_new_int64(now));
	json_object_object_add(p, "nbf", json_object_new_int64(now));
	json_object_object_add(
	    p, "exp", json_object_new_int64(now + e->cfg.token_lifetime));
	json_object_object_add(p, "name", json_object_new_string(u->name));
	json_object_object_add(p, "oid", json_object_new_string(u->id));
	json_object_object_add(
	    p, "preferred_username", json_object_new_string(u->upn));
	json_object_object_add(p, "sub", json_object_new_string(hs));
	json_object_object_add(
	    p, "tid", json_object_new_string(e->cfg.tenant_id));
	json_object_object_add(p, "ver", json_object_new_string("2.0"));
	free(hs);
	hs = b64url_json(h);
	ps = b64url_json(p);
	json_object_put(h);
	json_object_put(p);
	if (asprintf(&input, "%s.%s", hs, ps) < 0 ||
	    (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, idtoken_key()) !=
	        1 ||
	    EVP_DigestSign(md, sig, &sign, (const unsigned char *)input,
	        strlen(input)) != 1)
		abort();
	EVP_MD_CTX_free(md);
	sigs = b64url_encode(sig, sign);
	if (asprintf(&jwt, "%s.%s", input, sigs) < 0)
		abort();
	free(hs);
	free(ps);
	free(input);
	free(sigs);
	return jwt;
}

/* Whether the space-separated scope list s names w. */
static bool
scope_has(const char *s, const char *w)
{
	size_t n = strlen(w);

	for (; s != NULL && *s != '\0'; s += strcspn(s, " "), s += *s == ' ')
		if (strncmp(s, w, n) == 0 && (s[n] == ' ' || s[n] == '\0'))
			return true;
	return false;
}

/*
 * The OpenID fields of a delegated token answer: id_token when the scope
 * holds openid (https://learn.microsoft.com/entra/identity-platform/
 * v2-oauth2-device-code, "Successful authentication response"), and
 * client_info {uid, utid} when the request asked client_info=1, as MSAL
 * does (MSAL's ClientInfo, lib/msal-common/src/account/ClientInfo.ts in
 * AzureAD/microsoft-authentication-library-for-js). Returns NULL if none.
 */
static json_object *
oidc_fields(struct call *c, const struct app *a, const struct user *u,
    const char *scope)
{
	json_object *o = NULL, *ci;
	char *s;

	if (scope_has(scope, "openid")) {
		o = json_object_new_object();
		s = idtoken_mint(c, a, u);
		json_object_object_add(
		    o, "id_token", json_object_new_string(s));
		free(s);
	}
	if (c->client_info) {
		if (o == NULL)
			o = json_object_new_object();
		ci = json_object_new_object();
		json_object_object_add(
		    ci, "uid", json_object_new_string(u->id));
		json_object_object_add(
		    ci, "utid", json_object_new_string(c->emu->cfg.tenant_id));
		s = b64url_json(ci);
		json_object_put(ci);
		json_object_object_add(
		    o, "client_info", json_object_new_string(s));
		free(s);
	}
	return o;
}

static void
delegated_reply(
    struct call *c, const struct app *a, const char *user_id, const char *scope)
{
	struct emu *e = c->emu;
	const struct token *t;
	const struct user *u = store_user(e, user_id);

	snprintf(c->caller, sizeof(c->caller), "user:%s",
	    u != NULL ? u->upn : user_id);
	if ((t = tokens_mint(e, TOK_DELEGATED, a->client_id, user_id)) ==
	    NULL) {
		aad_error(c, 503, "temporarily_unavailable", 90033,
		    "Too many tokens outstanding.");
		return;
	}
	token_reply(c, t, scope, new_refresh(e, user_id, a->client_id),
	    u != NULL ? oidc_fields(c, a, u, scope) : NULL);
}

static void
grant_refresh(struct call *c, const char *tenant, struct evkeyvalq *f)
{
	struct emu *e = c->emu;
	const char *rt = form_get(f, "refresh_token");
	struct rtoken *t;
	struct app *a;
	int64_t now = emu_now(e);

	if (rt == NULL) {
		missing(c, "refresh_token");
		return;
	}
	if ((a = grant_client(c, tenant, f, false)) == NULL)
		return;
	/* A refresh token is bound to the client it was issued to
	 * (https://learn.microsoft.com/entra/identity-platform/
	 * refresh-tokens): another client_id gets invalid_grant. */
	if ((t = hmap_get(&e->rtokens, rt)) == NULL ||
	    strcmp(t->client_id, a->client_id) != 0) {
		aad_error(c, 400, "invalid_grant", 70000,
		    "Provided grant is invalid or malformed.");
		return;
	}
	/* revoked (revokeSignInSessions, password change): AADSTS50173
	 * (https://learn.microsoft.com/entra/identity-platform/
	 * reference-error-codes) */
	if (t->revoked) {
		aad_error(c, 400, "invalid_grant", 50173,
		    "The provided grant has expired due to it being revoked, "
		    "a fresh auth token is needed. The user might have "
		    "changed or reset their password.");
		return;
	}
	if (t->exp != 0 && t->exp <= now) {
		aad_error(c, 400, "invalid_grant", 700082,
		    "The refresh token has expired due to inactivity.");
		return;
	}
	if (t->grace_end != 0 && t->grace_end <= now) {
		aad_error(c, 400, "invalid_grant", 70000,
		    "Provided grant is invalid or malformed: the refresh token "
		    "was already redeemed and its grace period is over.");
		return;
	}
	if (t->grace_end == 0)
		t->grace_end =
		    now + (e->cfg.refresh_grace > 0 ? e->cfg.refresh_grace : 1);
	delegated_reply(c, a, t->user_id, form_get(f, "scope"));
}

static void
grant_device_code(struct call *c, const char *tenant, struct evkeyvalq *f)
{
	struct emu *e = c->emu;
	const char *dc = form_get(f, "device_code");
	struct devcode *d;
	struct app *a;

	if (dc == NULL) {
		missing(c, "device_code");
		return;
	}
	/* device code: a public client, no credential
	 * (https://learn.microsoft.com/entra/identity-platform/
	 * v2-oauth2-device-code) */
	if ((a = grant_client(c, tenant, f, false)) == NULL)
		return;
	if ((d = hmap_get(&e->devcodes, dc)) == NULL ||
	    strcmp(d->client_id, a->client_id) != 0) {
		aad_error(c, 400, "invalid_grant", 70000,
		    "Provided grant is invalid or malformed.");
		return;
	}
	if (d->redeemed) {
		aad_error(c, 400, "invalid_grant", 54005,
		    "OAuth2 Authorization code was already redeemed, please "
		    "retry with a new valid code or use an existing refresh "
		    "token.");
		return;
	}
	if (d->exp <= emu_now(e)) {
		aad_error(c, 400, "expired_token", 70020,
		    "The provided value for the input parameter 'device_code' "
		    "is not valid. This device code has expired.");
		return;
	}
	if (d->user_id[0] == '\0') {
		aad_error(c, 400, "authorization_pending", 70016,
		    "OAuth 2.0 device flow error. Authorization is pending. "
		    "Continue polling.");
		return;
	}
	d->redeemed = true;
	/* the grant carries the scopes asked at /devicecode
	 * (v2-oauth2-device-code: the token request has no scope) */
	delegated_reply(c, a, d->user_id,
	    form_get(f, "scope") != NULL ? form_get(f, "scope") : d->scope);
}

static void
devicecode(struct call *c, struct evkeyvalq *f)
{
	static const char letters[] = "BCDFGHJKLMNPQRSTVWXZ";
	struct emu *e = c->emu;
	struct devcode *d;
	struct app *a;
	json_object *o;
	unsigned char rnd[9];
	char msg[256];
	size_t i;

	if (form_get(f, "client_id") == NULL) {
		missing(c, "client_id");
		return;
	}
	if ((a = find_app(c, form_get(f, "client_id"))) == NULL)
		return;
	if (form_get(f, "scope") == NULL) {
		missing(c, "scope");
		return;
	}
	if (strlen(form_get(f, "scope")) >= EMU_MAX_SCOPE) {
		aad_error(c, 400, "invalid_scope", 70011,
		    "The provided value for the input parameter 'scope' is not "
		    "valid.");
		return;
	}
	if (e->devcodes.n >= EMU_MAX_DEVCODES)
		tokens_purge(e);
	if (e->devcodes.n >= EMU_MAX_DEVCODES) {
		aad_error(c, 503, "temporarily_unavailable", 90033,
		    "Too many pending device codes.");
		return;
	}
	d = xcalloc(1, sizeof(*d));
	emu_random_token(d->device_code, sizeof(d->device_code), "emu.dc.", 32);
	do {
		emu_random_token(msg, sizeof(msg), "", sizeof(rnd));
		for (i = 0; i < sizeof(rnd); i++)
			d->user_code[i] = letters[(unsigned char)msg[i] %
			                          (sizeof(letters) - 1)];
		d->user_code[i] = '\0';
	} while (hmap_get(&e->usercodes, d->user_code) != NULL);
	snprintf(d->client_id, sizeof(d->client_id), "%s", a->client_id);
	snprintf(d->scope, sizeof(d->scope), "%s", form_get(f, "scope"));
	d->exp =
	    emu_now(e) + (int64_t)e->cfg.devcode_lifetime * EMU_TICKS_PER_SEC;
	hmap_put(&e->devcodes, d->device_code, d, NULL);
	hmap_put(&e->usercodes, d->user_code, d, NULL);
	snprintf(msg, sizeof(msg),
	    "To sign in, use a web browser to open the page %s and enter the "
	    "code %s to authenticate.",
	    VERIFY_URI, d->user_code);
	o = json_object_new_object();
	json_object_object_add(
	    o, "user_code", json_object_new_string(d->user_code));
	json_object_object_add(
	    o, "device_code", json_object_new_string(d->device_code));
	json_object_object_add(
	    o, "verification_uri", json_object_new_string(VERIFY_URI));
	json_object_object_add(
	    o, "expires_in", json_object_new_int(e->cfg.devcode_lifetime));
	json_object_object_add(
	    o, "interval", json_object_new_int(e->cfg.devcode_interval));
	json_object_object_add(o, "message", json_object_new_string(msg));
	call_reply(c, 200, o);
}

int
tokens_devcode_complete(
    struct emu *e, const char *user_code, const char *user_id)
{
	struct devcode *d = hmap_get(&e->usercodes, user_code);

	if (d == NULL || d->redeemed || d->exp <= emu_now(e))
		return -1;
	snprintf(d->user_id, sizeof(d->user_id), "%s", user_id);
	return 0;
}

static bool
tenant_ok(struct emu *e, const char *t)
{
	return strcasecmp(t, e->cfg.tenant_id) == 0 ||
	       (e->cfg.tenant_domain != NULL &&
	           strcasecmp(t, e->cfg.tenant_domain) == 0) ||
	       strcasecmp(t, "common") == 0 ||
	       strcasecmp(t, "organizations") == 0;
}

/* Add "{base}/{tenant}{suffix}" under key k of o. */
static void
discovery_url(json_object *o, const char *k, const char *base,
    const char *tenant, const char *suffix)
{
	char url[512];

	snprintf(url, sizeof(url), "%s/%s%s", base, tenant, suffix);
	json_object_object_add(o, k, json_object_new_string(url));
}

/* Add a JSON array of the NULL-terminated strings v under key k of o. */
static void
discovery_list(json_object *o, const char *k, const char *const *v)
{
	json_object *a = json_object_new_array();

	for (; *v != NULL; v++)
		json_object_array_add(a, json_object_new_string(*v));
	json_object_object_add(o, k, a);
}

/*
 * GET /{tenant}/v2.0/.well-known/openid-configuration: the OpenID Connect
 * discovery document, with this emulator's base URL where Entra names
 * login.microsoftonline.com
 * (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc,
 * "Find your app's OpenID configuration document URI" and "Sample
 * response"). The issuer names the tenant id, as for a GUID authority.
 */
void
tokens_discovery(struct call *c, const char *tenant)
{
	static const char *const modes[] = { "query", "fragment", "form_post",
		NULL };
	static const char *const types[] = { "code", "id_token",
		"code id_token", "id_token token", NULL };
	static const char *const scopes[] = { "openid", "profile", "email",
		"offline_access", NULL };
	static const char *const auth[] = { "client_secret_post",
		"private_key_jwt", "client_secret_basic", NULL };
	static const char *const algs[] = { "RS256", NULL };
	static const char *const subj[] = { "pairwise", NULL };
	char base[256];
	json_object *o;

	if (!tenant_ok(c->emu, tenant)) {
		aad_error(c, 400, "invalid_tenant", 90002,
		    "Tenant '%s' not found.", tenant);
		return;
	}
	call_base_url(c, base, sizeof(base));
	o = json_object_new_object();
	discovery_url(o, "token_endpoint", base, tenant, "/oauth2/v2.0/token");
	discovery_list(o, "token_endpoint_auth_methods_supported", auth);
	discovery_url(o, "jwks_uri", base, tenant, "/discovery/v2.0/keys");
	discovery_list(o, "response_modes_supported", modes);
	discovery_list(o, "subject_types_supported", subj);
	discovery_list(o, "id_token_signing_alg_values_supported", algs);
	discovery_list(o, "response_types_supported", types);
	discovery_list(o, "scopes_supported", scopes);
	discovery_url(o, "issuer", base, c->emu->cfg.tenant_id, "/v2.0");
	json_object_object_add(
	    o, "request_uri_parameter_supported", json_object_new_boolean(0));
	discovery_url(o, "userinfo_endpoint", base, tenant, "/oidc/userinfo");
	discovery_url(o, "authorization_endpoint", base, tenant,
	    "/oauth2/v2.0/authorize");
	discovery_url(o, "device_authorization_endpoint", base, tenant,
	    "/oauth2/v2.0/devicecode");
	json_object_object_add(
	    o, "http_logout_supported", json_object_new_boolean(1));
	json_object_object_add(
	    o, "frontchannel_logout_supported", json_object_new_boolean(1));
	discovery_url(
	    o, "end_session_endpoint", base, tenant, "/oauth2/v2.0/logout");
	call_reply(c, 200, o);
}

/* Add the base64url big-endian bytes of RSA parameter name under k. */
static void
jwks_param(json_object *o, const char *k, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char *b;
	char *s;
	int n;

	if (EVP_PKEY_get_bn_param(idtoken_key(), name, &bn) != 1)
		abort();
	n = BN_num_bytes(bn);
	b = xcalloc((size_t)n + 1, 1);
	BN_bn2bin(bn, b);
	s = b64url_encode(b, (size_t)n);
	json_object_object_add(o, k, json_object_new_string(s));
	free(s);
	free(b);
	BN_free(bn);
}

/*
 * GET /{tenant}/discovery/v2.0/keys: the key set that signs id_tokens, the
 * jwks_uri of the discovery document
 * (https://learn.microsoft.com/entra/identity-platform/access-tokens,
 * "Validate the signature"; RFC 7517 key fields kty, use, kid, n, e).
 */
void
tokens_jwks(struct call *c, const char *tenant)
{
	json_object *o, *keys, *k;

	if (!tenant_ok(c->emu, tenant)) {
		aad_error(c, 400, "invalid_tenant", 90002,
		    "Tenant '%s' not found.", tenant);
		return;
	}
	k = json_object_new_object();
	json_object_object_add(k, "kty", json_object_new_string("RSA"));
	json_object_object_add(k, "use", json_object_new_string("sig"));
	json_object_object_add(k, "kid", json_object_new_string(IDT_KID));
	jwks_param(k, "n", OSSL_PKEY_PARAM_RSA_N);
	jwks_param(k, "e", OSSL_PKEY_PARAM_RSA_E);
	keys = json_object_new_array();
	json_object_array_add(keys, k);
	o = json_object_new_object();
	json_object_object_add(o, "keys", keys);
	call_reply(c, 200, o);
}

void
tokens_handle(struct call *c, const char *tenant, const char *what)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in);
	struct evkeyvalq form;
	const char *gt;
	char *body;

	TAILQ_INIT(&form);
	if (!tenant_ok(c->emu, tenant)) {
		aad_error(c, 400, "invalid_request", 90002,
		    "Tenant '%s' not found. Check to make sure you have the "
		    "correct tenant ID and are signing into the correct cloud.",
		    tenant);
		return;
	}
	body = xcalloc(len + 1, 1);
	if (evbuffer_copyout(in, body, len) != (ev_ssize_t)len)
		abort();
	if (len > 0 && evhttp_parse_query_str(body, &form) != 0) {
		explicit_bzero(body, len);
		free(body);
		aad_error(c, 400, "invalid_request", 900144,
		    "The request body is not valid form data.");
		return;
	}
	explicit_bzero(body, len);
	free(body);
	c->client_info = form_get(&form, "client_info") != NULL &&
	                 strcmp(form_get(&form, "client_info"), "1") == 0;
	if (strcmp(what, "devicecode") == 0)
		devicecode(c, &form);
	else if (strcmp(what, "token") != 0)
		call_error(
		    c, 404, "Request_ResourceNotFound", "No such endpoint.");
	else if ((gt = form_get(&form, "grant_type")) == NULL)
		missing(c, "grant_type");
	else if (strcmp(gt, "client_credentials") == 0)
		grant_client_credentials(c, tenant, &form);
	else if (strcmp(gt, "refresh_token") == 0)
		grant_refresh(c, tenant, &form);
	else if (strcmp(gt, DEVICE_GRANT) == 0 ||
	         strcmp(gt, "device_code") == 0)
		/* MSAL sends the short form grant_type=device_code; Entra
		 * accepts it beside the URN that
		 * https://learn.microsoft.com/entra/identity-platform/
		 * v2-oauth2-device-code documents */
		grant_device_code(c, tenant, &form);
	else
		aad_error(c, 400, "unsupported_grant_type", 70003,
		    "The app requested an unsupported grant type '%s'.", gt);
	evhttp_clear_headers(&form);
}

struct revoke_arg {
	const char *user_id;
	int n;
};

static bool
rtoken_revoke(void *val, void *arg)
{
	struct rtoken *t = val;
	struct revoke_arg *r = arg;

	if (strcmp(t->user_id, r->user_id) == 0 && !t->revoked) {
		t->revoked = true;
		r->n++;
	}
	return false; /* kept: a revoked token answers AADSTS50173 */
}

/*
 * POST /_emulator/refreshtokens {"user": U, "revoke": true}: revoke every
 * refresh token of U, as revokeSignInSessions does
 * (https://learn.microsoft.com/graph/api/user-revokesigninsessions);
 * {"user": U, "client": C}: issue a new refresh token of U for client C
 * (what a fresh sign-in would store).
 */
void
tokens_ctl_refresh(struct call *c)
{
	struct emu *e = c->emu;
	json_object *b, *o, *v;
	const struct user *u;
	const char *s;
	struct revoke_arg r = { NULL, 0 };

	if ((b = call_body(c, true)) == NULL)
		return;
	if ((s = jget(b, "user")) == NULL || (u = store_user(e, s)) == NULL) {
		call_error(c, 404, "Request_ResourceNotFound", "Unknown user.");
		return;
	}
	o = json_object_new_object();
	if (json_object_object_get_ex(b, "revoke", &v) &&
	    json_object_get_boolean(v)) {
		r.user_id = u->id;
		hmap_prune(&e->rtokens, rtoken_revoke, &r, NULL);
		json_object_object_add(o, "revoked", json_object_new_int(r.n));
	} else if ((s = jget(b, "client")) != NULL &&
	           hmap_get(&e->apps, s) != NULL) {
		json_object_object_add(o, "refresh_token",
		    json_object_new_string(new_refresh(e, u->id, s)));
	} else {
		json_object_put(o);
		call_error(c, 400, "BadRequest",
		    "Give 'revoke': true or a known 'client'.");
		return;
	}
	call_reply(c, 200, o);
}
