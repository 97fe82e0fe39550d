/* SPDX-License-Identifier: Apache-2.0 */
/* Token-bucket rate limits keyed by client address or consumer id. */
#ifndef API_RATELIMIT_H
#define API_RATELIMIT_H

#include <stddef.h>

struct api_ratelimit;

/*
 * A limiter allowing rate requests per second per key, with a burst of
 * max(rate, 1) * 2. rate 0 turns it off (every request allowed).
 * Keys share 4096 slots; a new key takes over a slot with a full bucket.
 * Returns 0 or YIMA_ENOMEM.
 */
int api_ratelimit_new(double rate, struct api_ratelimit **out);
void api_ratelimit_free(struct api_ratelimit *rl);
/*
 * Takes one token for key; 1 if allowed, 0 if not, and then *retry (may
 * be NULL) is the whole seconds until a token is back (at least 1).
 */
int api_ratelimit_take(struct api_ratelimit *rl, const char *key, size_t len,
    int *retry);

#endif /* API_RATELIMIT_H */
