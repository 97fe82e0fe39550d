/* SPDX-License-Identifier: Apache-2.0 */
/* Distinct-consumer sketches: exact while small, then estimates. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "../scanapi/sketch.h"
#include "testutil.h"

Suite *sketch_suite(void);

static uint64_t
h(int i)
{
	char id[32];
	int n = snprintf(id, sizeof(id), "consumer-%d", i);

	return tu_sketch_hash(id, (size_t)n);
}

/* A sketch of consumers from..to-1, each added twice. */
static size_t
fill(uint8_t *s, int from, int to)
{
	uint8_t tmp[API_SKETCH_MAX];
	size_t len = 0;
	int i, k;

	for (i = from; i < to; i++)
		for (k = 0; k < 2; k++) {
			len = api_sketch_add(s, len, h(i), tmp);
			ck_assert_uint_gt(len, 0);
			memcpy(s, tmp, len);
		}
	return len;
}

START_TEST(test_exact_while_small)
{
	uint8_t s[API_SKETCH_MAX];
	size_t len;
	int exact, n;

	ck_assert_uint_eq(api_sketch_count(NULL, 0, &exact), 0);
	ck_assert(exact);
	for (n = 1; n <= API_SKETCH_EXACT; n += 31) {
		len = fill(s, 0, n);
		ck_assert_uint_eq(api_sketch_count(s, len, &exact), n);
		ck_assert(exact);
	}
	len = fill(s, 0, API_SKETCH_EXACT);
	ck_assert_uint_eq(api_sketch_count(s, len, &exact), API_SKETCH_EXACT);
	ck_assert(exact);
	len = fill(s, 0, API_SKETCH_EXACT + 1);
	api_sketch_count(s, len, &exact);
	ck_assert(!exact);
}
END_TEST

/*
 * Past the exact list: within 10% (three standard errors of 2^10
 * registers) from 500 to 1,000,000. The hashes are fixed, so the
 * estimates are too: this cannot flake; a broken estimator (a wrong
 * constant, a register rank off by one) lands far outside.
 */
START_TEST(test_estimates)
{
	static const int sizes[] = { 500, 1000, 10000, 100000, 1000000 };
	uint8_t s[API_SKETCH_MAX], tmp[API_SKETCH_MAX];
	size_t len = 0, k;
	int i = 0, exact;
	double est;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (; i < sizes[k]; i++) {
			len = api_sketch_add(s, len, h(i), tmp);
			memcpy(s, tmp, len);
		}
		est = (double)api_sketch_count(s, len, &exact);
		ck_assert(!exact);
		ck_assert_msg(fabs(est - sizes[k]) < 0.10 * sizes[k],
		    "%d consumers estimated %.0f", sizes[k], est);
	}
}
END_TEST

/* A merge counts the union, as one sketch of everything would. */
START_TEST(test_merge)
{
	uint8_t a[API_SKETCH_MAX], b[API_SKETCH_MAX], m[API_SKETCH_MAX];
	uint8_t all[API_SKETCH_MAX];
	size_t la, lb, lm, lall;
	int exact;

	/* Small and overlapping: still exact. */
	la = fill(a, 0, 50);
	lb = fill(b, 30, 90);
	lm = api_sketch_merge(a, la, b, lb, m);
	ck_assert_uint_eq(api_sketch_count(m, lm, &exact), 90);
	ck_assert(exact);
	/* Two small ones past the list together: the registers of all. */
	la = fill(a, 0, 100);
	lb = fill(b, 100, 200);
	lm = api_sketch_merge(a, la, b, lb, m);
	lall = fill(all, 0, 200);
	ck_assert_uint_eq(lm, lall);
	ck_assert_mem_eq(m, all, lm);
	/* Dense with sparse, either way round. */
	la = fill(a, 0, 3000);
	lb = fill(b, 2900, 3010);
	lm = api_sketch_merge(a, la, b, lb, m);
	lall = fill(all, 0, 3010);
	ck_assert_mem_eq(m, all, lall);
	lm = api_sketch_merge(b, lb, a, la, m);
	ck_assert_mem_eq(m, all, lall);
	/* With an empty one. */
	lm = api_sketch_merge(NULL, 0, b, lb, m);
	ck_assert_uint_eq(lm, lb);
	ck_assert_mem_eq(m, b, lb);
}
END_TEST

/* Merging in place gives the very bytes a merge into a copy gives. */
START_TEST(test_merge_in)
{
	static const int ranges[][4] = { { 0, 50, 30, 90 }, { 0, 100, 100,
	    200 }, { 0, 3000, 2900, 3010 }, { 2900, 3010, 0, 3000 },
	    { 0, 5000, 4000, 9000 } };
	uint8_t a[API_SKETCH_MAX], b[API_SKETCH_MAX], m[API_SKETCH_MAX];
	size_t la, lb, lm, i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		la = fill(a, ranges[i][0], ranges[i][1]);
		lb = fill(b, ranges[i][2], ranges[i][3]);
		lm = api_sketch_merge(a, la, b, lb, m);
		la = api_sketch_merge_in(a, la, b, lb);
		ck_assert_uint_eq(la, lm);
		ck_assert_mem_eq(a, m, lm);
	}
	/* Not a sketch: refused, the sum unchanged. */
	la = fill(a, 0, 3000);
	memcpy(m, a, la);
	b[0] = 0x7f;
	ck_assert_uint_eq(api_sketch_merge_in(a, la, b, 9), 0);
	ck_assert_mem_eq(a, m, la);
}
END_TEST

/* Bytes that are not a sketch are refused, never read past. */
START_TEST(test_not_a_sketch)
{
	static const uint8_t bad1[] = { 'X', 1, 2 };
	static const uint8_t bad2[] = { 'S', 1, 2, 3 };
	uint8_t out[API_SKETCH_MAX], dense[API_SKETCH_MAX];
	int exact;

	ck_assert_uint_eq(api_sketch_add(bad1, sizeof(bad1), 1, out), 0);
	ck_assert_uint_eq(api_sketch_add(bad2, sizeof(bad2), 1, out), 0);
	ck_assert_uint_eq(api_sketch_merge(bad2, sizeof(bad2), NULL, 0, out),
	    0);
	ck_assert_uint_eq(api_sketch_count(bad1, sizeof(bad1), &exact), 0);
	memset(dense, 0, sizeof(dense));
	dense[0] = 'D';
	ck_assert_uint_eq(api_sketch_add(dense, API_SKETCH_MAX - 1, 1, out),
	    0);
	ck_assert_uint_eq(api_sketch_add(dense, API_SKETCH_MAX, 1, out),
	    API_SKETCH_MAX);
}
END_TEST

Suite *
sketch_suite(void)
{
	Suite *s = suite_create("sketch");
	TCase *tc = tcase_create("sketch");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_exact_while_small);
	tcase_add_test(tc, test_estimates);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_merge_in);
	tcase_add_test(tc, test_not_a_sketch);
	suite_add_tcase(s, tc);
	return s;
}
