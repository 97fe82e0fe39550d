/* SPDX-License-Identifier: Apache-2.0 */
/* Distinct-consumer sketches: an exact list, then a HyperLogLog. */
#include <math.h>
#include <string.h>

#include "sketch.h"

#define SPARSE	'S'	/* then n 8-byte big-endian hashes, ascending */
#define DENSE	'D'	/* then API_SKETCH_REGS one-byte registers */
#define BITS	10	/* log2(API_SKETCH_REGS) */

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * An unkeyed hash (FNV) was kept before: anyone with an id and the
 * database found its cells, after erasure too. Rows from then keep theirs,
 * so a consumer counted on both sides of the change counts twice in a
 * report that spans it.
 */
uint64_t
api_sketch_hash(const struct yima_mac *key, const char *s, size_t len)
{
	uint8_t md[YIMA_MAC_LEN];

	yima_mac_compute(key, s, len, md);
	return get64(md);
}

static void
put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Hashes in a valid sparse sketch; -1 dense; -2 not a sketch. */
static long
sparse_n(const uint8_t *s, size_t len)
{
	if (s == NULL || len == 0)
		return 0;
	if (s[0] == DENSE && len == 1 + API_SKETCH_REGS)
		return -1;
	if (s[0] == SPARSE && (len - 1) % 8 == 0 &&
	    (len - 1) / 8 <= API_SKETCH_EXACT)
		return (long)((len - 1) / 8);
	return -2;
}

static void
dense_add(uint8_t *regs, uint64_t h)
{
	uint64_t rest = h << BITS | (1ULL << (BITS - 1));
	uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
	size_t i = (size_t)(h >> (64 - BITS));

	if (regs[i] < rank)
		regs[i] = rank;
}

/* out becomes dense: registers of s (sparse or dense) added. */
static void
densify(const uint8_t *s, size_t len, uint8_t *out, int fresh)
{
	long n = sparse_n(s, len), i;

	if (fresh) {
		out[0] = DENSE;
		memset(out + 1, 0, API_SKETCH_REGS);
	}
	if (n == -1) {
		/* Branch-free, so the compiler does it 16 or 32 at a time. */
		for (i = 0; i < API_SKETCH_REGS; i++)
			out[1 + i] = out[1 + i] > s[1 + i] ? out[1 + i] :
			    s[1 + i];
		return;
	}
	for (i = 0; i < n; i++)
		dense_add(out + 1, get64(s + 1 + 8 * i));
}

size_t
api_sketch_add(const uint8_t *in, size_t len, uint64_t h, uint8_t *out)
{
	long n = sparse_n(in, len), lo = 0, hi, mid;
	uint64_t v;

	if (n == -2)
		return 0;
	if (n == -1) {
		memcpy(out, in, len);
		dense_add(out + 1, h);
		return len;
	}
	for (hi = n; lo < hi; ) {
		mid = (lo + hi) / 2;
		v = get64(in + 1 + 8 * mid);
		if (v == h) {
			memcpy(out, in, len);
			return len;
		}
		if (v < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (n == API_SKETCH_EXACT) {
		densify(in, len, out, 1);
		dense_add(out + 1, h);
		return 1 + API_SKETCH_REGS;
	}
	out[0] = SPARSE;
	if (lo > 0)
		memcpy(out + 1, in + 1, 8 * (size_t)lo);
	put64(out + 1 + 8 * lo, h);
	if (n > lo)
		memcpy(out + 1 + 8 * (lo + 1), in + 1 + 8 * lo,
		    8 * (size_t)(n - lo));
	return 1 + 8 * (size_t)(n + 1);
}

size_t
api_sketch_merge(const uint8_t *a, size_t alen, const uint8_t *b,
    size_t blen, uint8_t *out)
{
	uint8_t tmp[1 + 8 * 2 * API_SKETCH_EXACT];
	long na = sparse_n(a, alen), nb = sparse_n(b, blen), i = 0, j = 0;
	size_t k = 0;
	uint64_t x, y;

	if (na == -2 || nb == -2)
		return 0;
	if (na >= 0 && nb >= 0) {
		/* Union of two ascending lists. */
		while (i < na || j < nb) {
			x = i < na ? get64(a + 1 + 8 * i) : UINT64_MAX;
			y = j < nb ? get64(b + 1 + 8 * j) : UINT64_MAX;
			put64(tmp + 1 + 8 * k++, x < y ? x : y);
			i += x <= y;
			j += y <= x;
		}
		tmp[0] = SPARSE;
		if (k <= API_SKETCH_EXACT) {
			memcpy(out, tmp, 1 + 8 * k);
			return 1 + 8 * k;
		}
		densify(tmp, 1, out, 1);	/* empty: fresh registers */
		for (i = 0; i < (long)k; i++)
			dense_add(out + 1, get64(tmp + 1 + 8 * i));
		return 1 + API_SKETCH_REGS;
	}
	densify(a, alen, out, 1);
	densify(b, blen, out, 0);
	return 1 + API_SKETCH_REGS;
}

size_t
api_sketch_merge_in(uint8_t *acc, size_t len, const uint8_t *b, size_t blen)
{
	uint8_t out[API_SKETCH_MAX];
	size_t n;

	/* A dense sum takes the other's registers where it stands. */
	if (sparse_n(acc, len) == -1 && sparse_n(b, blen) != -2) {
		densify(b, blen, acc, 0);
		return len;
	}
	if ((n = api_sketch_merge(acc, len, b, blen, out)) != 0)
		memcpy(acc, out, n);
	return n;
}

uint64_t
api_sketch_count(const uint8_t *s, size_t len, int *exact)
{
	double m = API_SKETCH_REGS, sum = 0, e;
	long n = sparse_n(s, len), i, zeros = 0;

	*exact = n >= 0;
	if (n >= 0)
		return (uint64_t)n;
	if (n == -2)
		return 0;
	for (i = 0; i < API_SKETCH_REGS; i++) {
		sum += ldexp(1.0, -s[1 + i]);
		zeros += s[1 + i] == 0;
	}
	e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
	/* Small range: linear counting is the better estimate. */
	if (e <= 2.5 * m && zeros > 0)
		e = m * log(m / (double)zeros);
	return (uint64_t)llround(e);
}
