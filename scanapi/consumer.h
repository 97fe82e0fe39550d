/* SPDX-License-Identifier: Apache-2.0 */
/* Signed consumer ids: unguessable, unforgeable, issued by the server. */
#ifndef API_CONSUMER_H
#define API_CONSUMER_H

#include <stddef.h>

#include "yima/keyring.h"
#include "yima/mac.h"

/* 12 random bytes and a 12-byte tag, in lower-case hex. */
#define API_CID_LEN	48

/*
 * Makes a MAC from the first key for label: "consumer" signs consumer ids,
 * "sketch" hashes them for the rollups (api_sketch_hash). legacy (may be
 * NULL) gets the one from the active key, which signed ids before (NULL
 * when it is the first). Free both with yima_mac_free().
 */
int api_consumer_key(const struct yima_keyring *kr, const char *label,
    struct yima_mac **out, struct yima_mac **legacy);
/* Issues a fresh id into out (API_CID_LEN + 1). Returns 0 or YIMA_EIO. */
int api_consumer_new(const struct yima_mac *mac, char *out);
/*
 * 1 if s (len bytes) is an id this server signed with mac (or legacy,
 * may be NULL), else 0. On success the stored part (the first 24 hex
 * characters) is copied to id (25 bytes).
 */
int api_consumer_check(const struct yima_mac *mac,
    const struct yima_mac *legacy, const char *s, size_t len, char *id);

/*
 * The keyed hash an erased id is remembered by (64 hex and a NUL): it
 * names no one, and without the keyring it links to nothing.
 */
void api_consumer_hash(const struct yima_mac *mac, const char *id,
    char out[65]);
/*
 * A random pseudonym an erased id's accounts move to ("erased" and 18
 * hex, API_CONSUMER_ID_LEN characters and a NUL): never a valid id.
 * Returns 0 or YIMA_EIO.
 */
int api_consumer_pseudonym(char *out);

#endif /* API_CONSUMER_H */
