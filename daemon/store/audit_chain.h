/*
 * The audit hash chain, shared by approvald (append) and approvalctl
 * (export, verify): one definition of the canonical row.
 */
#ifndef AUDIT_CHAIN_H
#define AUDIT_CHAIN_H

#include <stdint.h>

#define AUDIT_HASH_HEX 65 /* 64 hex digits and a NUL */

/* The prev_hash of the first entry. */
extern const char audit_genesis[AUDIT_HASH_HEX];

/*
 * hash = SHA-256(prev_hash || canonical row), in lowercase hex. The
 * canonical row length-prefixes every text field so that no two rows
 * share an encoding. Returns 0, or -1 when OpenSSL fails.
 */
int audit_chain_hash(const char *prev_hash, int64_t seq, int64_t at,
    const char *key, const char *kind, const char *detail,
    char out[AUDIT_HASH_HEX]);

#endif
