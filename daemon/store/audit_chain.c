/* The audit hash chain: canonical row encoding and SHA-256 link. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit_chain.h"

const char audit_genesis[AUDIT_HASH_HEX] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static int
audit_chain_field(EVP_MD_CTX *c, const char *name, const char *v)
{
	char head[64];
	size_t n = v != NULL ? strlen(v) : 0;
	int hl = snprintf(head, sizeof(head), "\n%s=%zu:", name, n);

	if (EVP_DigestUpdate(c, head, (size_t)hl) != 1)
		return -1;
	return n > 0 && EVP_DigestUpdate(c, v, n) != 1 ? -1 : 0;
}

int
audit_chain_hash(const char *prev_hash, int64_t seq, int64_t at,
    const char *key, const char *kind, const char *detail,
    char out[AUDIT_HASH_HEX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char head[128];
	int hl, rc = -1;
	EVP_MD_CTX *c;

	if ((c = EVP_MD_CTX_new()) == NULL)
		return -1;
	hl = snprintf(head, sizeof(head),
	    "approvald-audit-v1\nseq=%" PRId64 "\nat=%" PRId64, seq, at);
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, prev_hash, strlen(prev_hash)) != 1 ||
	    EVP_DigestUpdate(c, head, (size_t)hl) != 1 ||
	    audit_chain_field(c, "key", key) == -1 ||
	    audit_chain_field(c, "kind", kind) == -1 ||
	    audit_chain_field(c, "detail", detail) == -1 ||
	    EVP_DigestFinal_ex(c, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * mdlen] = '\0';
	rc = 0;
out:
	EVP_MD_CTX_free(c);
	return rc;
}
