/*
 * Token manager: the app token (client credentials: secret or a PS256 /
 * RS256 client assertion) and the delegated approver token (a refresh token
 * of the public client `approver_client_id`, redeemed without credential).
 * Tokens are refreshed before expiry; one refresh per kind in flight,
 * waiters queued; a forced refresh happens only when the failing token is
 * still current. Each kind is a circuit: after a failure the endpoint is not
 * asked again before an exponential back-off (1 s doubling to 5 min, with
 * jitter) and waiters are answered at once with the reason. Tokens and
 * secrets are never logged and are wiped when dropped.
 */
#ifndef TOKEN_H
#define TOKEN_H

#include <stdint.h>

struct json_object;

struct graph;
struct event_base;

enum token_kind { TOKEN_APP = 0, TOKEN_DELEGATED, TOKEN_KIND_MAX };

/* Client assertion signature: PS256 with x5t#S256 (the current docs), or
 * RS256 with x5t (https://learn.microsoft.com/entra/identity-platform/
 * certificate-credentials). */
enum token_alg { TOKEN_ALG_PS256 = 0, TOKEN_ALG_RS256 };

/* bearer is NULL on failure (err says why, never containing a secret). */
typedef void (*token_cb)(void *arg, const char *bearer, const char *err);

struct token_opts {
	const char *token_url; /* {login}/{tenant}/oauth2/v2.0/token */
	const char *client_id;
	const char *client_secret; /* or NULL */
	const char *cert_file;     /* PEM certificate, with key_file */
	const char *key_file;
	const char *refresh_token_file; /* delegated; may be NULL */
	/* public client of the refresh token (NULL: client_id) */
	const char *approver_client_id;
	enum token_alg assertion_alg;
	const char *scope; /* default https://graph.microsoft.com/.default */
};

struct token_mgr;

struct token_mgr *token_new(struct event_base *base, struct graph *g,
    const struct token_opts *o, char **err);
void token_free(struct token_mgr *t);

/* Get a valid bearer of `kind`; cb may run before token_get returns. */
void token_get(
    struct token_mgr *t, enum token_kind kind, token_cb cb, void *arg);
/* A call failed with 401 using `bearer`: drop it if it is still current so
 * the next token_get refreshes (once, however many calls failed). */
void token_invalidate(
    struct token_mgr *t, enum token_kind kind, const char *bearer);
/* 1 when a delegated identity is configured. */
int token_has_delegated(const struct token_mgr *t);
unsigned long token_refreshes(const struct token_mgr *t);

/* Health of one credential, for /readyz, metrics and `status`. `dead` is
 * 1 while the token endpoint refuses the credential (invalid_grant,
 * invalid_client, ...) or cannot be reached; `since` is when it went dead
 * (wall clock seconds, 0 when healthy); `failures` counts refusals in a
 * row; `reason` is a one-line cause that never holds a secret. */
struct token_health {
	int configured;
	int dead;
	int64_t since;
	unsigned long failures;
	int64_t last_ok; /* when a token was last obtained; 0: never */
	char reason[192];
};
void token_health_get(
    const struct token_mgr *t, enum token_kind kind, struct token_health *out);

/* The token endpoint's 200 answer `body`: *access (the access_token,
 * borrowed from *root, which the caller puts), *expires_in, and *refresh
 * (refresh_token or NULL). A token that could not be sent as a header
 * value (control characters: CR, LF, NUL, ...) is refused like a missing
 * one. 0, or -1 with a reason in *why that never holds the token. */
int token_parse(const char *body, struct json_object **root,
    const char **access, int64_t *expires_in, const char **refresh,
    const char **why);

/* Re-read the refresh token file (mode 0600, as at start) and close the
 * delegated circuit: a new sign-in takes effect on SIGHUP. 0, or -1 with
 * *err (heap) and the old token kept. */
int token_reload(struct token_mgr *t, char **err);

/* Build a signed client assertion (heap) for tests and login. */
char *token_client_assertion(const char *cert_file, const char *key_file,
    const char *client_id, const char *aud, int64_t now, enum token_alg alg,
    char **err);

#endif
