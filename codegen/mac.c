/* SPDX-License-Identifier: Apache-2.0 */
/* HMAC-SHA256 from precomputed inner and outer SHA-256 states. */

/*
 * The low-level SHA256_* calls are deprecated in OpenSSL 3, but EVP and
 * HMAC() pay a per-call set-up that costs 2-14x the hashing of a 13-byte
 * message (DESIGN §10); copying a 112-byte SHA256_CTX is what makes
 * minting millions of codes a second possible.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "yima/err.h"
#include "yima/mac.h"

#include "alloc-private.h"

struct yima_mac {
	SHA256_CTX	inner;	/* state after absorbing key ^ ipad */
	SHA256_CTX	outer;	/* state after absorbing key ^ opad */
};

int
yima_mac_new(const uint8_t *key, size_t keylen, struct yima_mac **out)
{
	uint8_t k[SHA256_CBLOCK], pad[SHA256_CBLOCK];
	struct yima_mac *m;
	size_t i;

	if ((m = yima_malloc(sizeof(*m))) == NULL)
		return YIMA_ENOMEM;
	memset(k, 0, sizeof(k));
	if (keylen > sizeof(k))
		SHA256(key, keylen, k);
	else if (keylen > 0)
		memcpy(k, key, keylen);
	for (i = 0; i < sizeof(k); i++)
		pad[i] = k[i] ^ 0x36;
	SHA256_Init(&m->inner);
	SHA256_Update(&m->inner, pad, sizeof(pad));
	for (i = 0; i < sizeof(k); i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256_Init(&m->outer);
	SHA256_Update(&m->outer, pad, sizeof(pad));
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	*out = m;
	return 0;
}

void
yima_mac_free(struct yima_mac *mac)
{
	if (mac == NULL)
		return;
	OPENSSL_cleanse(mac, sizeof(*mac));
	yima_free(mac);
}

void
yima_mac_compute(const struct yima_mac *mac, const void *msg, size_t len,
    uint8_t out[YIMA_MAC_LEN])
{
	SHA256_CTX c;
	uint8_t ih[SHA256_DIGEST_LENGTH];

	c = mac->inner;
	SHA256_Update(&c, msg, len);
	SHA256_Final(ih, &c);
	c = mac->outer;
	SHA256_Update(&c, ih, sizeof(ih));
	SHA256_Final(out, &c);
}

int
yima_mac_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
