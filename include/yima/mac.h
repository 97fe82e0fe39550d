/* SPDX-License-Identifier: Apache-2.0 */
/* HMAC-SHA256 with the key's inner and outer states computed once. */
#ifndef YIMA_MAC_H
#define YIMA_MAC_H

#include <stddef.h>
#include <stdint.h>

#define YIMA_MAC_LEN 32

struct yima_mac;

/*
 * Prepares HMAC-SHA256 for key (any length). Per-call set-up, not SHA-256,
 * dominates short messages, so the keyed states are kept and copied.
 * The caller frees *out with yima_mac_free(), which also wipes the state.
 * Returns 0 or YIMA_ENOMEM.
 */
int yima_mac_new(const uint8_t *key, size_t keylen, struct yima_mac **out);
void yima_mac_free(struct yima_mac *mac);

/* out = HMAC-SHA256(key, msg). Thread-safe: mac is only read. */
void yima_mac_compute(const struct yima_mac *mac, const void *msg,
    size_t len, uint8_t out[YIMA_MAC_LEN]);

/* Constant-time comparison of n bytes: 1 when equal, 0 otherwise. */
int yima_mac_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif /* YIMA_MAC_H */
