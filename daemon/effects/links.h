/* Decision-link tokens (effects/links.c); the page is listen/page.c. */
#ifndef LINKS_H
#define LINKS_H

#include <stdint.h>

#include "statemachine.h"

#define LINK_PREFIX "/v1/decide/"

struct lk_token {
	char key[512];
	uint32_t stage;
	int64_t started;
	char approver[SM_ID_MAX];
	int64_t expires;
	char nonce[64];
};

struct daemon;
struct store_request;

int links_init(struct daemon *d);
void links_free(struct daemon *d);
/* 1 when decision links are on (a signing key is loaded). */
int links_on(struct daemon *d);
/* A link for `approver_id` to decide request `r`'s current stage, or NULL
 * (links off, or a value that cannot be put in a token). */
char *links_mint(
    struct daemon *d, const struct store_request *r, const char *approver_id);
/* Check the MAC and read the payload; -1 for anything not minted by us. */
int links_parse(struct daemon *d, const char *tok, struct lk_token *t);
/* 1 when the nonce was used, 0 not, -1 error. */
int links_used(struct daemon *d, const char *nonce);
/* Forget used nonces of links that have expired anyway. */
void links_prune(struct daemon *d);

#endif
