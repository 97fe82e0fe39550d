/* SPDX-License-Identifier: Apache-2.0 */
/* Tallies: rows found again by key, through growth, and sorted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../scanapi/tally.h"

Suite *tally_suite(void);

static void
key_of(int i, struct api_tally_key *k)
{
	memset(k, 0, sizeof(*k));
	k->tag = i % 4;
	k->day = 20000 + i % 7;
	snprintf(k->a, sizeof(k->a), "dealer-%d", i / 28);
	snprintf(k->b, sizeof(k->b), "%d", 110000 + i % 3);
}

/* 5,000 keys, each counted i % 5 + 1 times in a scrambled order. */
START_TEST(test_counts_and_order)
{
	struct api_tally *t = api_tally_new();
	const struct api_tally_row *r, *prev = NULL;
	struct api_tally_row *w;
	struct api_tally_key k;
	const int n = 5000;
	int i, j, rep, *seen;
	size_t x;

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(seen = calloc((size_t)n, sizeof(*seen)));
	for (rep = 0; rep < 5; rep++)
		for (j = 0; j < n; j++) {
			i = (int)((uint64_t)j * 2654435761u % (uint64_t)n);
			if (rep > i % 5)
				continue;
			key_of(i, &k);
			ck_assert_ptr_nonnull(w = api_tally_row(t, &k));
			w->scans++;
			w->claims = i;
		}
	ck_assert_uint_eq(api_tally_count(t), (size_t)n);
	for (x = 0; x < api_tally_count(t); x++) {
		ck_assert_ptr_nonnull(r = api_tally_sorted(t, x));
		i = (int)r->claims;
		key_of(i, &k);
		ck_assert(memcmp(&k, &r->key, sizeof(k)) == 0);
		ck_assert_int_eq(r->scans, i % 5 + 1);
		ck_assert_int_eq(seen[i]++, 0);
		if (prev != NULL)
			ck_assert(prev->key.tag < r->key.tag ||
			    (prev->key.tag == r->key.tag &&
			    (prev->key.day < r->key.day ||
			    (prev->key.day == r->key.day &&
			    strcmp(prev->key.a, r->key.a) <= 0))));
		prev = r;
	}
	ck_assert_ptr_null(api_tally_sorted(t, (size_t)n));
	/* Cleared: empty, and a key counts from zero again. */
	api_tally_clear(t);
	ck_assert_uint_eq(api_tally_count(t), 0);
	key_of(7, &k);
	ck_assert_ptr_nonnull(w = api_tally_row(t, &k));
	ck_assert_int_eq(w->scans, 0);
	ck_assert_uint_eq(w->len, 0);
	free(seen);
	api_tally_free(t);
}
END_TEST

/* Sketches: consumers added and sketches merged count the union. */
START_TEST(test_sketches)
{
	struct api_tally *t = api_tally_new();
	struct api_tally_row *r, *s;
	struct api_tally_key k;
	int i, exact;

	key_of(1, &k);
	r = api_tally_row(t, &k);
	for (i = 0; i < 100; i++)
		api_tally_consumer(r, (uint64_t)i * 0x9E3779B97F4A7C15ULL + 1);
	ck_assert_uint_eq(api_sketch_count(r->sk, r->len, &exact), 100);
	key_of(2, &k);
	s = api_tally_row(t, &k);
	key_of(1, &k);
	r = api_tally_row(t, &k);
	for (i = 50; i < 120; i++)
		api_tally_consumer(s, (uint64_t)i * 0x9E3779B97F4A7C15ULL + 1);
	ck_assert_int_eq(api_tally_merge(r, s->sk, s->len), 0);
	ck_assert_uint_eq(api_sketch_count(r->sk, r->len, &exact), 120);
	ck_assert(exact);
	ck_assert_int_eq(api_tally_merge(r, (const uint8_t *)"\x7fxyz", 4), -1);
	ck_assert_uint_eq(api_sketch_count(r->sk, r->len, &exact), 120);
	api_tally_free(t);
}
END_TEST

Suite *
tally_suite(void)
{
	Suite *s = suite_create("tally");
	TCase *tc = tcase_create("tally");

	tcase_add_test(tc, test_counts_and_order);
	tcase_add_test(tc, test_sketches);
	suite_add_tcase(s, tc);
	return s;
}
