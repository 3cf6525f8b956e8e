/* graph-emulator: identity platform, control API, faults, throttling, TLS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "cu.h"
#include "emu.h"
#include "harness.h"
#include "suites.h"

#define TOKEN_URL "/" TENANT "/oauth2/v2.0/token"
#define SCOPE     "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
#define FORM      "application/x-www-form-urlencoded"
/* the demo tenant's public client (approvalctl) */
#define PUB_ID "e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e"
#define JWT_TYPE                                                               \
	"&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-"         \
	"assertion-type%3Ajwt-bearer&client_assertion="

int
ident_init(void)
{
	static const char *const args[] = { "--app-cert",
		/* one argument, joined on purpose */
		/* NOLINTNEXTLINE(bugprone-suspicious-missing-comma) */
		APP_ID "=" EMU_TLS "/app.pem", "--token-lifetime", "120",
		NULL };

	return h_start(args);
}

int
ident_cleanup(void)
{
	h_stop();
	return 0;
}

static struct resp *
token_call(const char *form)
{
	return h_call("POST", TOKEN_URL, NULL, form, FORM);
}

static void
t_client_secret(void)
{
	struct resp *r, *g;

	h_reset();
	r = token_call("grant_type=client_credentials&client_id=" APP_ID
	               "&client_secret=" APP_SEC "&" SCOPE);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "token_type"), "Bearer");
	H_ASSERT_STR(h_str(r->json, "expires_in"), "120");
	CU_ASSERT_PTR_NULL(h_str(r->json, "refresh_token"));
	g = h_call("GET", "/v1.0/users/alex@contoso.com",
	    h_str(r->json, "access_token"), NULL, NULL);
	CU_ASSERT_EQUAL(g->status, 200);
	h_free(g);
	h_free(r);
	r = token_call("grant_type=client_credentials&client_id=" APP_ID
	               "&client_secret=wrong&" SCOPE);
	CU_ASSERT_EQUAL(r->status, 401);
	H_ASSERT_STR(h_str(r->json, "error"), "invalid_client");
	H_ASSERT_STR(h_str(r->json, "error_codes/0"), "7000215");
	CU_ASSERT_EQUAL(
	    strncmp(h_str(r->json, "error_description"), "AADSTS7000215:", 14),
	    0);
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "trace_id"));
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "correlation_id"));
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "timestamp"));
	h_free(r);
	r = token_call(
	    "grant_type=client_credentials&client_id=" APP_ID "&" SCOPE);
	CU_ASSERT_EQUAL(r->status, 401);
	H_ASSERT_STR(h_str(r->json, "error_codes/0"), "7000218");
	h_free(r);
	r = token_call("grant_type=client_credentials&client_id=nope"
	               "&client_secret=x&" SCOPE);
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error"), "unauthorized_client");
	h_free(r);
	r = token_call("client_id=" APP_ID);
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error"), "invalid_request");
	h_free(r);
	r = token_call("grant_type=password&client_id=" APP_ID);
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error"), "unsupported_grant_type");
	h_free(r);
	r = token_call("grant_type=client_credentials&client_id=" APP_ID
	               "&client_secret=" APP_SEC "&scope=User.Read");
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error"), "invalid_scope");
	h_free(r);
	r = h_call("POST", "/other-tenant/oauth2/v2.0/token", NULL,
	    "grant_type=client_credentials", FORM);
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error_codes/0"), "90002");
	h_free(r);
}

static void
t_refresh(void)
{
	struct resp *r, *r2;
	char form[512], *rt;

	h_reset();
	r = token_call("grant_type=refresh_token&client_id=" PUB_ID
	               "&refresh_token=demo-refresh-token-approvald"
	               "&scope=offline_access");
	CU_ASSERT_EQUAL_FATAL(r->status, 200);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h_str(r->json, "refresh_token"));
	CU_ASSERT_STRING_NOT_EQUAL(
	    h_str(r->json, "refresh_token"), "demo-refresh-token-approvald");
	rt = strdup(h_str(r->json, "refresh_token"));
	/* the delegated token is the bot's */
	r2 = h_call(
	    "GET", "/v1.0/me", h_str(r->json, "access_token"), NULL, NULL);
	H_ASSERT_STR(
	    h_str(r2->json, "userPrincipalName"), "approvald@contoso.com");
	h_free(r2);
	h_free(r);
	/* the rotated token works; the old one still within its grace */
	snprintf(form, sizeof(form),
	    "grant_type=refresh_token&client_id=" PUB_ID "&refresh_token=%s",
	    rt);
	r = token_call(form);
	CU_ASSERT_EQUAL(r->status, 200);
	h_free(r);
	r = token_call("grant_type=refresh_token&client_id=" PUB_ID
	               "&refresh_token=demo-refresh-token-approvald");
	CU_ASSERT_EQUAL(r->status, 200);
	h_free(r);
	r = token_call("grant_type=refresh_token&client_id=" PUB_ID
	               "&refresh_token=bogus");
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error"), "invalid_grant");
	H_ASSERT_STR(h_str(r->json, "error_codes/0"), "70000");
	h_free(r);
	/* 91 days later: the used fixture token is past its grace, the
	 * issued one expired */
	h_free(h_call(
	    "POST", "/_emulator/clock", NULL, "{\"advance\":\"P91D\"}", NULL));
	r = token_call("grant_type=refresh_token&client_id=" PUB_ID
	               "&refresh_token=demo-refresh-token-approvald");
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error_codes/0"), "70000");
	h_free(r);
	r = token_call(form);
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error_codes/0"), "700082");
	h_free(r);
	free(rt);
	/* reset reissues the fixture's refresh token */
	h_reset();
	r = token_call("grant_type=refresh_token&client_id=" PUB_ID
	               "&refresh_token=demo-refresh-token-approvald");
	CU_ASSERT_EQUAL(r->status, 200);
	h_free(r);
}

/* Entra's public/confidential client rules on delegated grants
 * (AADSTS700025, AADSTS7000218), refresh tokens bound to their client,
 * and a revoked refresh token (AADSTS50173). */
static void
t_public_client(void)
{
	struct resp *r;
	char form[512];

	h_reset();
	/* a credential on a public client's request */
	r = token_call("grant_type=refresh_token&client_id=" PUB_ID
	               "&client_secret=" APP_SEC
	               "&refresh_token=demo-refresh-token-approvald");
	CU_ASSERT_EQUAL(r->status, 401);
	H_ASSERT_STR(h_str(r->json, "error"), "invalid_client");
	H_ASSERT_STR(h_str(r->json, "error_codes/0"), "700025");
	CU_ASSERT_EQUAL(
	    strncmp(h_str(r->json, "error_description"), "AADSTS700025:", 13),
	    0);
	h_free(r);
	r = token_call(
	    "grant_type=refresh_token&client_id=" PUB_ID
	    "&refresh_token=demo-refresh-token-approvald" JWT_TYPE "a.b.c");
	CU_ASSERT_EQUAL(r->status, 401);
	H_ASSERT_STR(h_str(r->json, "error_codes/0"), "700025");
	h_free(r);
	/* a confidential client without one */
	r = token_call("grant_type=refresh_token&client_id=" APP_ID
	               "&refresh_token=demo-refresh-token-approvald");
	CU_ASSERT_EQUAL(r->status, 401);
	H_ASSERT_STR(h_str(r->json, "error"), "invalid_client");
	H_ASSERT_STR(h_str(r->json, "error_codes/0"), "7000218");
	h_free(r);
	/* the public client's refresh token presented by another client */
	r = token_call("grant_type=refresh_token&client_id=" APP_ID
	               "&client_secret=" APP_SEC
	               "&refresh_token=demo-refresh-token-approvald");
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error"), "invalid_grant");
	h_free(r);
	/* device code: public without credential only */
	r = h_call("POST", "/" TENANT "/oauth2/v2.0/devicecode", NULL,
	    "client_id=" PUB_ID "&scope=offline_access", FORM);
	CU_ASSERT_EQUAL_FATAL(r->status, 200);
	snprintf(form, sizeof(form),
	    "grant_type=urn:ietf:params:oauth:grant-type:device_code"
	    "&client_id=" PUB_ID "&client_secret=x&device_code=%s",
	    h_str(r->json, "device_code"));
	h_free(r);
	r = token_call(form);
	CU_ASSERT_EQUAL(r->status, 401);
	H_ASSERT_STR(h_str(r->json, "error_codes/0"), "700025");
	h_free(r);
	r = token_call("grant_type=urn:ietf:params:oauth:grant-type:device_code"
	               "&client_id=" APP_ID "&device_code=x");
	CU_ASSERT_EQUAL(r->status, 401);
	H_ASSERT_STR(h_str(r->json, "error_codes/0"), "7000218");
	h_free(r);
	/* revoked sessions: the refresh token is refused, a new sign-in
	 * (issued by the control API) works */
	r = h_call("POST", "/_emulator/refreshtokens", NULL,
	    "{\"user\":\"approvald@contoso.com\",\"revoke\":true}", NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT(h_str(r->json, "revoked") != NULL &&
	          atoi(h_str(r->json, "revoked")) >= 1);
	h_free(r);
	r = token_call("grant_type=refresh_token&client_id=" PUB_ID
	               "&refresh_token=demo-refresh-token-approvald");
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error"), "invalid_grant");
	H_ASSERT_STR(h_str(r->json, "error_codes/0"), "50173");
	h_free(r);
	r = h_call("POST", "/_emulator/refreshtokens", NULL,
	    "{\"user\":\"approvald@contoso.com\",\"client\":\"" PUB_ID "\"}",
	    NULL);
	CU_ASSERT_EQUAL_FATAL(r->status, 200);
	snprintf(form, sizeof(form),
	    "grant_type=refresh_token&client_id=" PUB_ID "&refresh_token=%s",
	    h_str(r->json, "refresh_token"));
	h_free(r);
	r = token_call(form);
	CU_ASSERT_EQUAL(r->status, 200);
	h_free(r);
}

static void
t_device_code(void)
{
	struct resp *r;
	char form[512], body[256], *dc, *uc;

	h_reset();
	r = h_call("POST", "/" TENANT "/oauth2/v2.0/devicecode", NULL,
	    "client_id=e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e&scope=offline_"
	    "access",
	    FORM);
	CU_ASSERT_EQUAL_FATAL(r->status, 200);
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "verification_uri"));
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "message"));
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "interval"));
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "expires_in"));
	dc = strdup(h_str(r->json, "device_code"));
	uc = strdup(h_str(r->json, "user_code"));
	h_free(r);
	snprintf(form, sizeof(form),
	    "grant_type=urn:ietf:params:oauth:grant-type:device_code"
	    "&client_id=e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e&device_code=%s",
	    dc);
	r = token_call(form);
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error"), "authorization_pending");
	h_free(r);
	snprintf(body, sizeof(body),
	    "{\"user_code\":\"%s\",\"user\":\"approvald@contoso.com\"}", uc);
	r = h_call("POST", "/_emulator/devicecode", NULL, body, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	h_free(r);
	r = token_call(form);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_PTR_NOT_NULL(h_str(r->json, "refresh_token"));
	h_free(r);
	r = token_call(form);
	CU_ASSERT_EQUAL(r->status, 400);
	H_ASSERT_STR(h_str(r->json, "error"), "invalid_grant");
	h_free(r);
	r = h_call("POST", "/_emulator/devicecode", NULL,
	    "{\"user_code\":\"NOPE\",\"user\":\"alex@contoso.com\"}", NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	h_free(r);
	free(dc);
	free(uc);
	/* expiry on the emulator clock */
	r = h_call("POST", "/" TENANT "/oauth2/v2.0/devicecode", NULL,
	    "client_id=e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e&scope=x", FORM);
	snprintf(form, sizeof(form),
	    "grant_type=urn:ietf:params:oauth:grant-type:device_code"
	    "&client_id=e4c2a0b8-6f4d-4b2a-9e8c-7a5f3d1b9c7e&device_code=%s",
	    h_str(r->json, "device_code"));
	h_free(r);
	h_free(h_call(
	    "POST", "/_emulator/clock", NULL, "{\"advance\":\"PT16M\"}", NULL));
	r = token_call(form);
	H_ASSERT_STR(h_str(r->json, "error"), "expired_token");
	h_free(r);
}

/* A client assertion signed with `alg` (RS256 or PS256), the thumbprint
 * under header `x5t_name` (x5t or x5t#S256). */
static char *
jwt_alg(EVP_PKEY *key, const char *alg, const char *x5t_name, const char *x5t,
    const char *aud, long exp_off, const char *jti)
{
	char hdr[256], pl[1024], *h64, *p64, *s64, *signing, *out;
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	long now = (long)time(NULL);

	snprintf(hdr, sizeof(hdr),
	    "{\"alg\":\"%s\",\"typ\":\"JWT\",\"%s\":\"%s\"}", alg, x5t_name,
	    x5t);
	snprintf(pl, sizeof(pl),
	    "{\"aud\":\"%s\",\"iss\":\"" APP_ID "\",\"sub\":\"" APP_ID
	    "\",\"jti\":\"%s\",\"nbf\":%ld,\"iat\":%ld,\"exp\":%ld}",
	    aud, jti, now, now, now + exp_off);
	h64 = b64url_encode((unsigned char *)hdr, strlen(hdr));
	p64 = b64url_encode((unsigned char *)pl, strlen(pl));
	signing = malloc(strlen(h64) + strlen(p64) + 2);
	sprintf(signing, "%s.%s", h64, p64);
	if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    (strcmp(alg, "PS256") == 0 &&
	        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) !=
	                1 ||
	            EVP_PKEY_CTX_set_rsa_pss_saltlen(
	                pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)signing,
	        strlen(signing)) != 1)
		abort();
	s64 = b64url_encode(sig, siglen);
	out = malloc(strlen(signing) + strlen(s64) + 2);
	sprintf(out, "%s.%s", signing, s64);
	free(h64);
	free(p64);
	free(s64);
	free(signing);
	EVP_MD_CTX_free(md);
	return out;
}

static char *
jwt(EVP_PKEY *key, const char *x5t, const char *aud, long exp_off,
    const char *jti)
{
	return jwt_alg(key, "RS256", "x5t", x5t, aud, exp_off, jti);
}

static long
assert_with(const char *assertion, char *code, size_t len)
{
	char *form = malloc(strlen(assertion) + 512);
	struct resp *r;
	long st;

	sprintf(form,
	    "grant_type=client_credentials&client_id=" APP_ID "&%s"
	    "&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-"
	    "assertion-type%%3Ajwt-bearer&client_assertion=%s",
	    SCOPE, assertion);
	r = token_call(form);
	st = r->status;
	snprintf(code, len, "%s",
	    h_str(r->json, "error_codes/0") ? h_str(r->json, "error_codes/0")
	                                    : "");
	h_free(r);
	free(form);
	return st;
}

static void
t_client_assertion(void)
{
	FILE *f;
	X509 *cert;
	EVP_PKEY *key, *other;
	unsigned char *der = NULL, md[SHA_DIGEST_LENGTH];
	char *x5t, aud[256], *a, code[32];
	int len;

	h_reset();
	f = fopen(EMU_TLS "/app.pem", "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	f = fopen(EMU_TLS "/app-key.pem", "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	len = i2d_X509(cert, &der);
	SHA1(der, (size_t)len, md);
	x5t = b64url_encode(md, sizeof(md));
	snprintf(aud, sizeof(aud), "%s" TOKEN_URL, h_base());
	a = jwt(key, x5t, aud, 300, "jti-1");
	CU_ASSERT_EQUAL(assert_with(a, code, sizeof(code)), 200);
	/* replayed jti */
	CU_ASSERT_EQUAL(assert_with(a, code, sizeof(code)), 401);
	free(a);
	/* signed by another key */
	other = EVP_RSA_gen(2048);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	a = jwt(other, x5t, aud, 300, "jti-2");
	CU_ASSERT_EQUAL(assert_with(a, code, sizeof(code)), 401);
	CU_ASSERT_STRING_EQUAL(code, "700027");
	free(a);
	/* wrong audience */
	a = jwt(key, x5t, "https://example.com/token", 300, "jti-3");
	CU_ASSERT_EQUAL(assert_with(a, code, sizeof(code)), 401);
	CU_ASSERT_STRING_EQUAL(code, "700023");
	free(a);
	/* expiry more than 10 minutes ahead, and already expired */
	a = jwt(key, x5t, aud, 3600, "jti-4");
	CU_ASSERT_EQUAL(assert_with(a, code, sizeof(code)), 401);
	CU_ASSERT_STRING_EQUAL(code, "700024");
	free(a);
	a = jwt(key, x5t, aud, -600, "jti-5");
	CU_ASSERT_EQUAL(assert_with(a, code, sizeof(code)), 401);
	CU_ASSERT_STRING_EQUAL(code, "700024");
	free(a);
	/* unknown certificate thumbprint */
	a = jwt(key, "AAAA", aud, 300, "jti-6");
	CU_ASSERT_EQUAL(assert_with(a, code, sizeof(code)), 401);
	CU_ASSERT_STRING_EQUAL(code, "700027");
	free(a);
	CU_ASSERT_EQUAL(assert_with("not.a.jwt", code, sizeof(code)), 401);
	/* PS256 with x5t#S256, as certificate-credentials now documents */
	{
		unsigned char md256[SHA256_DIGEST_LENGTH];
		char *x5t256, *p;

		SHA256(der, (size_t)len, md256);
		x5t256 = b64url_encode(md256, sizeof(md256));
		a = jwt_alg(key, "PS256", "x5t#S256", x5t256, aud, 300, "ps-1");
		CU_ASSERT_EQUAL(assert_with(a, code, sizeof(code)), 200);
		/* replayed */
		CU_ASSERT_EQUAL(assert_with(a, code, sizeof(code)), 401);
		CU_ASSERT_STRING_EQUAL(code, "50027");
		free(a);
		/* tampered claims: the signature no longer verifies */
		a = jwt_alg(key, "PS256", "x5t#S256", x5t256, aud, 300, "ps-2");
		p = strchr(a, '.') + 3;
		*p = *p == 'A' ? 'B' : 'A';
		CU_ASSERT_EQUAL(assert_with(a, code, sizeof(code)), 401);
		free(a);
		/* signed by another key with the registered thumbprint */
		a = jwt_alg(
		    other, "PS256", "x5t#S256", x5t256, aud, 300, "ps-3");
		CU_ASSERT_EQUAL(assert_with(a, code, sizeof(code)), 401);
		CU_ASSERT_STRING_EQUAL(code, "700027");
		free(a);
		/* a wrong x5t#S256 next to a right x5t */
		a = jwt_alg(key, "PS256", "x5t#S256", x5t, aud, 300, "ps-5");
		CU_ASSERT_EQUAL(assert_with(a, code, sizeof(code)), 401);
		CU_ASSERT_STRING_EQUAL(code, "700027");
		free(a);
		/* HS256 and none are not accepted */
		a = jwt_alg(key, "HS256", "x5t#S256", x5t256, aud, 300, "ps-6");
		CU_ASSERT_EQUAL(assert_with(a, code, sizeof(code)), 401);
		CU_ASSERT_STRING_EQUAL(code, "5002738");
		free(a);
		free(x5t256);
	}
	/* the assertion is verified on delegated grants too: a forged one
	 * on a refresh token grant is refused before the grant is read */
	{
		char *form;
		struct resp *r;

		a = jwt(other, x5t, aud, 300, "jti-7");
		form = malloc(strlen(a) + 512);
		sprintf(form,
		    "grant_type=refresh_token&client_id=" APP_ID
		    "&refresh_token=demo-refresh-token-approvald%s%s",
		    JWT_TYPE, a);
		r = token_call(form);
		CU_ASSERT_EQUAL(r->status, 401);
		H_ASSERT_STR(h_str(r->json, "error_codes/0"), "700027");
		h_free(r);
		free(form);
		free(a);
	}
	OPENSSL_free(der);
	free(x5t);
	EVP_PKEY_free(other);
	EVP_PKEY_free(key);
	X509_free(cert);
}

static void
t_control(void)
{
	struct resp *r;
	char *alex = h_token("alex@contoso.com"), *body, path[256];
	const char *id;

	h_reset();
	CU_ASSERT_PTR_NULL(h_token("nobody@contoso.com"));
	CU_ASSERT_PTR_NULL(h_token("app:unknown"));
	body = h_fixture("permissions-request-gcp-action.json");
	{
		char *wrapped = malloc(strlen(body) + 128);

		sprintf(wrapped,
		    "{\"requestor\":\"sam@contoso.com\",\"body\":%s}", body);
		r = h_call("POST", "/_emulator/requests", NULL, wrapped, NULL);
		free(wrapped);
	}
	CU_ASSERT_EQUAL(r->status, 201);
	id = h_str(r->json, "id");
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	snprintf(path, sizeof(path),
	    EPM "scheduledPermissionsRequests/%s/cancelAll", id);
	h_free(r);
	free(body);
	/* alex is not the requestor of sam's request */
	r = h_call("POST", path, alex, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 403);
	h_free(r);
	r = h_call("GET", "/_emulator/log", NULL, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "calls/0/method"), "POST");
	H_ASSERT_STR(h_str(r->json, "calls/0/status"), "403");
	H_ASSERT_STR(h_str(r->json, "calls/0/caller"), "user:alex@contoso.com");
	h_free(r);
	r = h_call("GET", "/_emulator/log?since=1", NULL, NULL, NULL);
	CU_ASSERT_EQUAL(
	    json_object_array_length(json_object_object_get(r->json, "calls")),
	    0);
	h_free(r);
	r = h_call("POST", "/_emulator/generate", NULL,
	    "{\"count\":14,\"requestor\":\"alex@contoso.com\"}", NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_EQUAL(
	    json_object_array_length(json_object_object_get(r->json, "ids")),
	    14);
	h_free(r);
	r = h_call("GET", "/_emulator/stats", NULL, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "permissionsRequests"), "13");
	H_ASSERT_STR(h_str(r->json, "groupRequests"), "2");
	h_free(r);
	r = h_call("POST", "/_emulator/generate", NULL,
	    "{\"count\":1,\"requestor\":\"alex@contoso.com\",\"kinds\":[\"x\"]"
	    "}",
	    NULL);
	CU_ASSERT_EQUAL(r->status, 400);
	h_free(r);
	h_reset();
	r = h_call("GET", "/_emulator/stats", NULL, NULL, NULL);
	H_ASSERT_STR(h_str(r->json, "permissionsRequests"), "0");
	h_free(r);
	r = h_call("GET", "/_emulator/truth", NULL, NULL, NULL);
	CU_ASSERT_EQUAL(json_object_array_length(
	                    json_object_object_get(r->json, "decisions")),
	    0);
	h_free(r);
	r = h_call("GET", "/_emulator/nothing", NULL, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 404);
	h_free(r);
	free(alex);
}

static void
t_clean_exit(void)
{
	CU_ASSERT_EQUAL(h_stop(), 0);
}

const struct cu_test ident_tests[] = {
	{ "client_secret", t_client_secret },
	{ "refresh", t_refresh },
	{ "device_code", t_device_code },
	{ "public_client", t_public_client },
	{ "client_assertion", t_client_assertion },
	{ "control", t_control },
	{ "clean_exit", t_clean_exit },
	{ NULL, NULL },
};

/* ---- faults and throttling ---- */

int
faults_init(void)
{
	return h_start(NULL);
}

int
faults_cleanup(void)
{
	h_stop();
	return 0;
}

static int
add_fault(const char *spec)
{
	struct resp *r = h_call("POST", "/_emulator/faults", NULL, spec, NULL);
	int id = r->status == 200 && h_str(r->json, "id")
	             ? atoi(h_str(r->json, "id"))
	             : -1;

	h_free(r);
	return id;
}

static int
count_requests(const char *tok)
{
	struct resp *r =
	    h_call("GET", EPM "scheduledPermissionsRequests", tok, NULL, NULL);
	int n = (int)json_object_array_length(
	    json_object_object_get(r->json, "value"));

	h_free(r);
	return n;
}

static void
t_fault_kinds(void)
{
	char *alex, *bot, *body, path[256], *id, *step;
	struct resp *r;
	int i, hits = 0;

	h_reset();
	alex = h_token("alex@contoso.com");
	bot = h_token("approvald@contoso.com");
	body = h_fixture("permissions-request-aws-policy.json");
	/* status: not applied, then expires after count */
	CU_ASSERT(
	    add_fault(
	        "{\"method\":\"POST\",\"path\":\"/beta/*/"
	        "scheduledPermissionsRequests\",\"kind\":\"status\","
	        "\"status\":503,\"retryAfter\":\"1.5\",\"count\":1}") > 0);
	r = h_call(
	    "POST", EPM "scheduledPermissionsRequests", alex, body, NULL);
	CU_ASSERT_EQUAL(r->status, 503);
	CU_ASSERT_STRING_EQUAL(r->retry_after, "1.5");
	H_ASSERT_STR(h_str(r->json, "error/code"), "ServiceUnavailable");
	h_free(r);
	CU_ASSERT_EQUAL(count_requests(bot), 0);
	r = h_call(
	    "POST", EPM "scheduledPermissionsRequests", alex, body, NULL);
	CU_ASSERT_EQUAL(r->status, 201);
	id = strdup(h_str(r->json, "id"));
	h_free(r);
	/* reset: no answer, not applied */
	add_fault("{\"path\":\"/beta/*/scheduledPermissionsRequests\","
	          "\"method\":\"POST\",\"kind\":\"reset\",\"count\":1}");
	r = h_call(
	    "POST", EPM "scheduledPermissionsRequests", alex, body, NULL);
	CU_ASSERT_NOT_EQUAL(r->curl_rc, CURLE_OK);
	h_free(r);
	CU_ASSERT_EQUAL(count_requests(bot), 1);
	/* malformed: 200 with broken JSON, not applied */
	add_fault("{\"path\":\"/beta/*/scheduledPermissionsRequests\","
	          "\"method\":\"POST\",\"kind\":\"malformed\",\"count\":1}");
	r = h_call(
	    "POST", EPM "scheduledPermissionsRequests", alex, body, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_PTR_NULL(r->json);
	h_free(r);
	CU_ASSERT_EQUAL(count_requests(bot), 1);
	/* truncate: short body */
	add_fault("{\"path\":\"/v1.0/users/*\",\"kind\":\"truncate\","
	          "\"count\":1}");
	r = h_call("GET", "/v1.0/users/alex@contoso.com", bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->curl_rc, CURLE_PARTIAL_FILE);
	h_free(r);
	/* delay: the real answer, later */
	add_fault("{\"path\":\"/v1.0/users/*\",\"kind\":\"delay\","
	          "\"delayMs\":200,\"count\":1}");
	r = h_call("GET", "/v1.0/users/alex@contoso.com", bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	H_ASSERT_STR(h_str(r->json, "id"), ALEX_ID);
	h_free(r);
	/* apply_then_reset: decision takes effect, no answer */
	snprintf(
	    path, sizeof(path), EPM "scheduledPermissionsApprovals/%s", id);
	r = h_call("GET", path, bot, NULL, NULL);
	step = strdup(h_str(r->json, "steps/0/id"));
	h_free(r);
	add_fault("{\"method\":\"PATCH\",\"path\":\"/beta/identityGovernance/"
	          "permissionsManagement/scheduledPermissionsApprovals/*\","
	          "\"kind\":\"apply_then_reset\",\"count\":1}");
	snprintf(path, sizeof(path),
	    EPM "scheduledPermissionsApprovals/%s/steps/%s", id, step);
	r = h_call("PATCH", path, bot, "{\"reviewResult\":\"Approve\"}", NULL);
	CU_ASSERT_NOT_EQUAL(r->curl_rc, CURLE_OK);
	h_free(r);
	r = h_call("PATCH", path, bot, "{\"reviewResult\":\"Approve\"}", NULL);
	CU_ASSERT_EQUAL(r->status, 409);
	h_free(r);
	r = h_call("GET", "/_emulator/truth", NULL, NULL, NULL);
	snprintf(path, sizeof(path), "requests/%s/approve", id);
	H_ASSERT_STR(h_str(r->json, path), "1");
	h_free(r);
	/* the log records the reset calls with status 0 */
	r = h_call("GET", "/_emulator/log", NULL, NULL, NULL);
	{
		json_object *calls = json_object_object_get(r->json, "calls");
		int zeros = 0;

		for (i = 0; i < (int)json_object_array_length(calls); i++)
			if (H_STRCMP(h_str(json_object_array_get_idx(
			                       calls, (size_t)i),
			                 "status"),
			        "0") == 0)
				zeros++;
		CU_ASSERT_EQUAL(zeros, 2);
	}
	h_free(r);
	/* rate: seeded, some but not all calls hit */
	add_fault("{\"path\":\"/v1.0/groups/*\",\"kind\":\"status\","
	          "\"status\":500,\"rate\":0.5}");
	for (i = 0; i < 40; i++) {
		r = h_call("GET",
		    "/v1.0/groups/1623f912-5e86-41c2-af47-39dd67582b66", bot,
		    NULL, NULL);
		hits += r->status == 500;
		h_free(r);
	}
	CU_ASSERT(hits > 0 && hits < 40);
	r = h_call("GET", "/_emulator/faults", NULL, NULL, NULL);
	CU_ASSERT_EQUAL(
	    json_object_array_length(json_object_object_get(r->json, "faults")),
	    7);
	h_free(r);
	r = h_call("DELETE", "/_emulator/faults", NULL, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 204);
	h_free(r);
	CU_ASSERT_EQUAL(add_fault("{\"path\":\"/x\",\"kind\":\"bogus\"}"), -1);
	CU_ASSERT_EQUAL(add_fault("{\"path\":\"/_emulator/*\",\"kind\":"
	                          "\"reset\"}"),
	    -1);
	free(step);
	free(id);
	free(body);
	free(alex);
	free(bot);
}

static void
t_throttling(void)
{
	char *bot;
	struct resp *r;
	int i;

	h_reset();
	bot = h_token("approvald@contoso.com");
	r = h_call("POST", "/_emulator/throttling", NULL,
	    "{\"enabled\":true,\"rate\":0.01,\"burst\":2}", NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	h_free(r);
	for (i = 0; i < 2; i++) {
		r = h_call(
		    "GET", "/v1.0/users/alex@contoso.com", bot, NULL, NULL);
		CU_ASSERT_EQUAL(r->status, 200);
		h_free(r);
	}
	r = h_call("GET", "/v1.0/users/alex@contoso.com", bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 429);
	H_ASSERT_STR(h_str(r->json, "error/code"), "TooManyRequests");
	CU_ASSERT_PTR_NOT_NULL(strchr(r->retry_after, '.'));
	CU_ASSERT(atof(r->retry_after) > 0);
	h_free(r);
	h_free(h_call("POST", "/_emulator/throttling", NULL,
	    "{\"enabled\":false}", NULL));
	r = h_call("GET", "/v1.0/users/alex@contoso.com", bot, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	h_free(r);
	free(bot);
}

const struct cu_test faults_tests[] = {
	{ "fault_kinds", t_fault_kinds },
	{ "throttling", t_throttling },
	{ "clean_exit", t_clean_exit },
	{ NULL, NULL },
};

/* ---- TLS ---- */

int
tls_init(void)
{
	static const char *const args[] = { "--tls-cert", EMU_TLS "/server.pem",
		"--tls-key", EMU_TLS "/server-key.pem", NULL };

	return h_start(args);
}

int
tls_cleanup(void)
{
	h_ca_file = NULL;
	h_stop();
	return 0;
}

static void
t_tls(void)
{
	struct resp *r;
	char *tok;

	CU_ASSERT_EQUAL(strncmp(h_base(), "https://127.0.0.1:", 18), 0);
	/* verification on, without our CA: refused */
	h_ca_file = NULL;
	r = h_call("POST", "/_emulator/reset", NULL, NULL, NULL);
	CU_ASSERT_EQUAL(r->curl_rc, CURLE_PEER_FAILED_VERIFICATION);
	h_free(r);
	h_ca_file = EMU_TLS "/ca.pem";
	h_reset();
	r = token_call("grant_type=client_credentials&client_id=" APP_ID
	               "&client_secret=" APP_SEC "&" SCOPE);
	CU_ASSERT_EQUAL_FATAL(r->status, 200);
	tok = strdup(h_str(r->json, "access_token"));
	h_free(r);
	r = h_call("GET",
	    "/v1.0/groups/d2f4a6c8-3e5b-4d7f-a1c3-5e7a9c1e3f5b/members?$top=1",
	    tok, NULL, NULL);
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_EQUAL(
	    strncmp(h_str(r->json, "@odata.nextLink"), "https://", 8), 0);
	h_free(r);
	free(tok);
}

const struct cu_test tls_tests[] = {
	{ "https_verified", t_tls },
	{ "clean_exit", t_clean_exit },
	{ NULL, NULL },
};
