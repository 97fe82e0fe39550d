/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Distinct-consumer sketches: exact up to API_SKETCH_EXACT consumers (a
 * sorted list of 64-bit hashes), then a HyperLogLog of 2^10 registers
 * (about 3% standard error). Stored as a blob in each rollup row, so a
 * scan updates the row it already writes instead of inserting into a
 * set at a random place.
 */
#ifndef API_SKETCH_H
#define API_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#include "yima/mac.h"

#define API_SKETCH_EXACT	128	/* hashes kept before estimating */
#define API_SKETCH_REGS		1024	/* HyperLogLog registers */
#define API_SKETCH_MAX		(1 + API_SKETCH_REGS)	/* blob bytes at most */

/*
 * The 64-bit hash consumer id s (len bytes) is counted by: keyed (key from
 * api_consumer_key(kr, "sketch")), so that the stored sketches alone link
 * no id to the cells it was counted in.
 */
uint64_t api_sketch_hash(const struct yima_mac *key, const char *s,
    size_t len);

/*
 * Adds hash h to the sketch in (len bytes; NULL or 0 is empty), writing
 * the result to out (API_SKETCH_MAX bytes). Returns its length, or 0 when
 * in is not a sketch.
 */
size_t api_sketch_add(const uint8_t *in, size_t len, uint64_t h,
    uint8_t *out);
/* Merges sketch b into a (both valid); the result in out, its length. */
size_t api_sketch_merge(const uint8_t *a, size_t alen, const uint8_t *b,
    size_t blen, uint8_t *out);
/* The same into a (API_SKETCH_MAX bytes, alen used); returns its length. */
size_t api_sketch_merge_in(uint8_t *a, size_t alen, const uint8_t *b,
    size_t blen);
/* The number of distinct hashes; *exact is 0 when it is an estimate. */
uint64_t api_sketch_count(const uint8_t *s, size_t len, int *exact);

#endif /* API_SKETCH_H */
