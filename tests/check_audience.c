/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audience: lifecycle stages and channel funnels against a real
 * store at chosen times (both back-ends), then A/B tests, funnels and
 * segments through the real server and their reports.
 */
#define _GNU_SOURCE	/* asprintf */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <jansson.h>
#include <sqlite3.h>

#include "yima/err.h"
#include "yima/store.h"

#include "../scanapi/audience.h"
#include "../scanapi/reward.h"
#include "srvutil.h"
#include "testutil.h"

Suite *audience_suite(void);

#define DAY	(24LL * 3600 * 1000)
#define HOUR	(3600LL * 1000)
/* 2026-06-01T00:00:00Z, a month's first day in China time too. */
#define T0	1780272000000LL
#define HANGZHOU	30.2741, 120.1551	/* 330100 */
#define SHANGHAI	31.2304, 121.4737	/* 310100 */

/* ---- the store, at chosen times ---- */

static char *tmp;
static struct yima_store *st;

static void
engine_setup(void)
{
	tmp = tu_mkdtemp();
	st = tu_store_open(tmp, 0);
}

static void
engine_setup_pg(void)
{
	tmp = tu_mkdtemp();
	st = tu_store_open(tmp, 1);
}

static void
engine_teardown(void)
{
	yima_store_close(st);
	tu_rmtree(tmp);
	free(tmp);
}

/*
 * A genuine scan of bottle item (or, kind channel, of channel code
 * channel) by consumer at at in region, whom channel brought (0 none),
 * with its claim rew (NULL none), counted as the writer counts it.
 */
static void
record(const char *consumer, int kind, uint64_t item, int64_t at,
    const char *region, uint64_t channel, const struct api_reward *rew)
{
	struct api_scan_in in;
	struct api_scan_out out;
	struct yima_tx *tx;

	memset(&in, 0, sizeof(in));
	memset(&out, 0, sizeof(out));
	in.at = at;
	in.valid = 1;
	in.code.kind = (enum yima_kind)kind;
	in.code.serial = kind == YIMA_KIND_CHANNEL ? channel : item;
	snprintf(in.consumer, sizeof(in.consumer), "%s", consumer);
	snprintf(in.region, sizeof(in.region), "%s", region);
	out.verdict = kind == YIMA_KIND_CHANNEL ? YIMA_V_CHANNEL :
	    YIMA_V_GENUINE;
	out.registered = 1;
	out.counted = kind != YIMA_KIND_CHANNEL;
	out.item = item;
	out.has_channel = channel != 0;
	out.channel.serial = channel;
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(api_audience_record(tx, "member", &in, &out, rew), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
}

static void
buy(const char *consumer, uint64_t item, int64_t at, const char *region)
{
	record(consumer, YIMA_KIND_ITEM, item, at, region, 0, NULL);
}

static struct yima_segment seg_;

static const struct yima_segment *
seg(const char *consumer)
{
	struct yima_tx *tx;

	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_segment_get(tx, consumer, &seg_), 0);
	yima_tx_rollback(tx);
	return &seg_;
}

static void
sweep(int64_t now)
{
	int n;

	ck_assert_int_eq(api_audience_sweep(st, now, 2, &n), 0);
	while (n == 2)
		ck_assert_int_eq(api_audience_sweep(st, now, 2, &n), 0);
}

struct tally {
	char	 key[64][48];
	int64_t	 n[64];
	int	 len;
};

static void
tally_add(struct tally *t, const char *key, int64_t n)
{
	int i;

	for (i = 0; i < t->len; i++)
		if (strcmp(t->key[i], key) == 0)
			break;
	if (i == t->len) {
		ck_assert_int_lt(t->len, 64);
		snprintf(t->key[t->len++], sizeof(t->key[0]), "%s", key);
	}
	t->n[i] += n;
}

static int64_t
tally_get(const struct tally *t, const char *key)
{
	int i;

	for (i = 0; i < t->len; i++)
		if (strcmp(t->key[i], key) == 0)
			return t->n[i];
	return 0;
}

static void
count_cell(void *ctx, const char *region, const char *stage,
    const char *tier, int64_t n)
{
	char k[48];

	snprintf(k, sizeof(k), "%s", stage);
	tally_add(ctx, k, n);
	snprintf(k, sizeof(k), "%s/%s", region, tier);
	tally_add(ctx, k, n);
}

static void
count_move(void *ctx, int64_t month, const char *region, const char *src,
    const char *dst, int64_t n)
{
	char k[48];

	(void)region;
	snprintf(k, sizeof(k), "%s>%s", src, dst);
	tally_add(ctx, k, n);
	snprintf(k, sizeof(k), "%lld %s>%s", (long long)month, src, dst);
	tally_add(ctx, k, n);
}

static void
counts(const char *prefix, struct tally *t)
{
	struct yima_tx *tx;

	memset(t, 0, sizeof(*t));
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_segment_counts(tx, prefix, count_cell, t),
	    0);
	ck_assert_int_eq(yima_tx_segment_moves(tx, prefix, 0, count_move, t),
	    0);
	yima_tx_rollback(tx);
}

/* The stage rules alone: new, at risk after twice the median gap (30
 * days at least), lapsed after 90 days; when each is due. */
START_TEST(test_stage_rules)
{
	struct yima_segment s;

	memset(&s, 0, sizeof(s));
	s.first_at = s.last_at = T0;
	ck_assert_str_eq(api_stage_at(&s, T0), "new");
	ck_assert_str_eq(api_stage_at(&s, T0 + 30 * DAY - 1), "new");
	/* One scan, no gap: at risk once 30 days pass, lapsed at 90. */
	ck_assert_str_eq(api_stage_at(&s, T0 + 30 * DAY), "at_risk");
	ck_assert_str_eq(api_stage_at(&s, T0 + 90 * DAY), "lapsed");
	ck_assert_int_eq(api_stage_due(&s, T0), T0 + 30 * DAY);
	ck_assert_int_eq(api_stage_due(&s, T0 + 30 * DAY), T0 + 90 * DAY);
	ck_assert_int_eq(api_stage_due(&s, T0 + 90 * DAY), INT64_MAX);
	/* Gaps of 10, 10 and 40 days: median 10, so 30 days; 20, 30 and
	 * 25: median 25, so 50 days. */
	s.last_at = T0 + 60 * DAY;
	strcpy(s.gaps, "240,240,960");
	ck_assert_str_eq(api_stage_at(&s, T0 + 89 * DAY), "active");
	ck_assert_str_eq(api_stage_at(&s, T0 + 90 * DAY), "at_risk");
	strcpy(s.gaps, "480,720,600");
	ck_assert_str_eq(api_stage_at(&s, T0 + 109 * DAY), "active");
	ck_assert_str_eq(api_stage_at(&s, T0 + 110 * DAY), "at_risk");
	ck_assert_int_eq(api_stage_due(&s, T0 + 60 * DAY), T0 + 110 * DAY);
	/* A median of 50 days puts at risk past lapsed: never at risk. */
	strcpy(s.gaps, "1200");
	ck_assert_str_eq(api_stage_at(&s, T0 + 149 * DAY), "active");
	ck_assert_str_eq(api_stage_at(&s, T0 + 150 * DAY), "lapsed");
	ck_assert_int_eq(api_stage_due(&s, T0 + 60 * DAY), T0 + 150 * DAY);
	/* Months are China's: 16:00 UTC on the 30th is the next month. */
	ck_assert_int_eq(api_month_of(T0), 202606);
	ck_assert_int_eq(api_month_of(T0 + 29 * DAY + 15 * HOUR), 202606);
	ck_assert_int_eq(api_month_of(T0 + 29 * DAY + 16 * HOUR), 202607);
}
END_TEST

/*
 * Three consumers over 200 days, scans and time alone moving them: each
 * scan moves one consumer; a sweep moves those time moved; the counts
 * per stage and the moves per month follow, and add up.
 */
START_TEST(test_stage_moves)
{
	struct api_reward rew;
	struct yima_tx *tx;
	struct tally t;
	int i, most;

	/* A: every 10 days, then again on day 70. B: once. C: day 0 and
	 * day 50 (a 50-day habit). */
	buy("aaaaaaaaaaaaaaaaaaaaaaaa", 1, T0, "330106");
	buy("bbbbbbbbbbbbbbbbbbbbbbbb", 2, T0 + HOUR, "310101");
	buy("cccccccccccccccccccccccc", 3, T0 + 2 * HOUR, "330106");
	buy("aaaaaaaaaaaaaaaaaaaaaaaa", 4, T0 + 10 * DAY, "330106");
	/* The same bottle again (its cap code, say): no gap counted. */
	buy("aaaaaaaaaaaaaaaaaaaaaaaa", 4, T0 + 10 * DAY + 60000, "330106");
	buy("aaaaaaaaaaaaaaaaaaaaaaaa", 5, T0 + 20 * DAY, "330106");
	ck_assert_str_eq(seg("aaaaaaaaaaaaaaaaaaaaaaaa")->gaps, "240,240");
	ck_assert_str_eq(seg_.stage, "new");
	ck_assert_int_eq(seg_.due_at, T0 + 30 * DAY);
	counts("", &t);
	ck_assert_int_eq(tally_get(&t, "new"), 3);
	ck_assert_int_eq(tally_get(&t, ">new"), 3);
	/* C comes back on day 50: time made them at risk on day 30 (one
	 * scan, 30 days), the scan makes them active. */
	buy("cccccccccccccccccccccccc", 6, T0 + 50 * DAY, "330106");
	ck_assert_str_eq(seg("cccccccccccccccccccccccc")->stage, "active");
	counts("", &t);
	ck_assert_int_eq(tally_get(&t, "new>at_risk"), 1);
	ck_assert_int_eq(tally_get(&t, "at_risk>active"), 1);
	ck_assert_int_eq(tally_get(&t, "202607 new>at_risk"), 1);
	/* Day 60: A active on day 30, at risk on day 50; B at risk. */
	sweep(T0 + 60 * DAY);
	counts("", &t);
	ck_assert_int_eq(tally_get(&t, "new"), 0);
	ck_assert_int_eq(tally_get(&t, "at_risk"), 2);
	ck_assert_int_eq(tally_get(&t, "active"), 1);
	ck_assert_int_eq(tally_get(&t, "new>active"), 1);
	ck_assert_int_eq(tally_get(&t, "active>at_risk"), 1);
	ck_assert_int_eq(tally_get(&t, "new>at_risk"), 2);
	/* A claims on day 70 as silver: active, and the tier cell moves. */
	memset(&rew, 0, sizeof(rew));
	rew.claim = 1;
	rew.tier = "silver";
	record("aaaaaaaaaaaaaaaaaaaaaaaa", YIMA_KIND_ITEM, 7, T0 + 70 * DAY,
	    "330106", 0, &rew);
	counts("33", &t);
	ck_assert_int_eq(tally_get(&t, "330106/silver"), 1);
	ck_assert_int_eq(tally_get(&t, "330106/member"), 1);
	ck_assert_int_eq(tally_get(&t, "active"), 2);
	ck_assert_int_eq(tally_get(&t, "310101/member"), 0);
	/* Day 200: all lapsed. A: gaps 10, 10, 50 days, so at risk on day
	 * 100, lapsed on 160; B lapsed on 90; C (a 50-day habit) lapsed on
	 * day 140 without being at risk first. */
	sweep(T0 + 200 * DAY);
	ck_assert_str_eq(seg("aaaaaaaaaaaaaaaaaaaaaaaa")->gaps, "240,240,1200");
	ck_assert_int_eq(seg_.due_at, INT64_MAX);
	counts("", &t);
	ck_assert_int_eq(tally_get(&t, "lapsed"), 3);
	ck_assert_int_eq(tally_get(&t, "active"), 0);
	ck_assert_int_eq(tally_get(&t, "at_risk"), 0);
	ck_assert_int_eq(tally_get(&t, "active>lapsed"), 1);
	ck_assert_int_eq(tally_get(&t, "at_risk>lapsed"), 2);
	ck_assert_int_eq(tally_get(&t, "active>at_risk"), 2);
	ck_assert_int_eq(tally_get(&t, "at_risk>active"), 2);
	/* 13 moves in all: 6 of A, 3 of B, 4 of C. */
	ck_assert_int_eq(tally_get(&t, ">new") + tally_get(&t, "new>active") +
	    tally_get(&t, "new>at_risk") + tally_get(&t, "active>at_risk") +
	    tally_get(&t, "at_risk>active") + tally_get(&t, "active>lapsed") +
	    tally_get(&t, "at_risk>lapsed"), 13);
	/* A sweep with nothing due moves nobody. */
	sweep(T0 + 200 * DAY);
	counts("", &t);
	ck_assert_int_eq(tally_get(&t, "lapsed"), 3);
	/* Retention: the lapsed whose last purchase is past it go, and
	 * their counts with them (A bought on day 70), in batches (of one
	 * here: B and C, then nothing left). */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
		ck_assert_int_eq(yima_tx_audience_drop(tx, T0 + 60 * DAY, 1,
		    &most), 0);
		ck_assert_int_eq(yima_tx_commit(tx), 0);
		ck_assert_int_eq(most, i < 2 ? 1 : 0);
		counts("", &t);
		ck_assert_int_eq(tally_get(&t, "lapsed"), i < 1 ? 2 : 1);
	}
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_segment_get(tx, "bbbbbbbbbbbbbbbbbbbbbbbb",
	    &seg_), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_segment_get(tx, "aaaaaaaaaaaaaaaaaaaaaaaa",
	    &seg_), 0);
	yima_tx_rollback(tx);
}
END_TEST

struct funnel_sum {
	int		 rows;
	struct yima_funnel_row f;
};

static void
funnel_add(void *ctx, const struct yima_funnel_row *r)
{
	struct funnel_sum *s = ctx;

	s->rows++;
	s->f = *r;
}

static void
funnel(const char *root, const char *type, int64_t from, int64_t to,
    struct funnel_sum *s)
{
	struct yima_tx *tx;

	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_funnel_rows(tx, root, type, from, to,
	    funnel_add, s), 0);
	yima_tx_rollback(tx);
}

/* A store's code: scans, consumers bound once, their first claim, a
 * second bottle within 30 days of it; commission on the claim's day. */
START_TEST(test_funnel_store)
{
	struct yima_dealer d;
	struct yima_channel c;
	struct api_reward rew;
	struct funnel_sum s;
	struct yima_tx *tx;
	int64_t day0 = (T0 + YIMA_DAY_OFFSET_MS) / DAY;

	memset(&d, 0, sizeof(d));
	strcpy(d.id, "S-1");
	strcpy(d.name, "Shop");
	strcpy(d.type, "store");
	memset(&c, 0, sizeof(c));
	strcpy(c.dealer, "S-1");
	strcpy(c.type, "store");
	strcpy(c.name, "Shop counter");
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_dealer_create(tx, &d), 0);
	ck_assert_int_eq(yima_tx_channel_bind(tx, 900, &c), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	record("xxxxxxxxxxxxxxxxxxxxxxxx", YIMA_KIND_CHANNEL, 0, T0, "", 900,
	    NULL);
	record("xxxxxxxxxxxxxxxxxxxxxxxx", YIMA_KIND_CHANNEL, 0, T0 + HOUR, "",
	    900, NULL);
	record("yyyyyyyyyyyyyyyyyyyyyyyy", YIMA_KIND_CHANNEL, 0, T0 + DAY, "",
	    900, NULL);
	record("", YIMA_KIND_CHANNEL, 0, T0 + DAY, "", 900, NULL);
	memset(&rew, 0, sizeof(rew));
	rew.claim = 1;
	rew.tier = "member";
	rew.commission = 3;
	/* X claims on day 2, buys again on day 7: a repeat buyer. */
	record("xxxxxxxxxxxxxxxxxxxxxxxx", YIMA_KIND_ITEM, 11, T0 + 2 * DAY, "",
	    900, &rew);
	record("xxxxxxxxxxxxxxxxxxxxxxxx", YIMA_KIND_ITEM, 12, T0 + 7 * DAY, "",
	    900, NULL);
	record("xxxxxxxxxxxxxxxxxxxxxxxx", YIMA_KIND_ITEM, 13, T0 + 8 * DAY, "",
	    900, NULL);
	/* Y buys without a claim (not yet a buyer), claims on day 40, and
	 * buys again on day 80: 40 days later, not a repeat. */
	record("yyyyyyyyyyyyyyyyyyyyyyyy", YIMA_KIND_ITEM, 21, T0 + 3 * DAY, "",
	    900, NULL);
	rew.commission = 0;
	record("yyyyyyyyyyyyyyyyyyyyyyyy", YIMA_KIND_ITEM, 22, T0 + 40 * DAY,
	    "", 900, &rew);
	record("yyyyyyyyyyyyyyyyyyyyyyyy", YIMA_KIND_ITEM, 23, T0 + 80 * DAY,
	    "", 900, NULL);
	funnel(NULL, NULL, day0, day0 + 100, &s);
	ck_assert_int_eq(s.rows, 1);
	ck_assert_str_eq(s.f.channel.name, "Shop counter");
	ck_assert_int_eq((long long)s.f.channel.serial, 900);
	ck_assert_int_eq(s.f.scans, 4);
	ck_assert_int_eq(s.f.bound, 2);
	ck_assert_int_eq(s.f.claimed, 2);
	ck_assert_int_eq(s.f.repeats, 1);
	ck_assert_int_eq(s.f.commission, 3);
	/* Cohorts: day 0's consumer (X) claimed and came back. */
	funnel(NULL, NULL, day0, day0, &s);
	ck_assert_int_eq(s.f.bound, 1);
	ck_assert_int_eq(s.f.claimed, 1);
	ck_assert_int_eq(s.f.repeats, 1);
	ck_assert_int_eq(s.f.scans, 2);
	funnel(NULL, NULL, day0 + 1, day0 + 1, &s);
	ck_assert_int_eq(s.f.bound, 1);
	ck_assert_int_eq(s.f.claimed, 1);
	ck_assert_int_eq(s.f.repeats, 0);
	funnel(NULL, "staff", day0, day0 + 100, &s);
	ck_assert_int_eq(s.rows, 0);
	funnel("S-1", "store", day0, day0 + 100, &s);
	ck_assert_int_eq(s.rows, 1);
	funnel("D-9", NULL, day0, day0 + 100, &s);
	ck_assert_int_eq(s.rows, 0);
}
END_TEST

static void
arms_into(void *ctx, const struct yima_ab_arm *a)
{
	struct yima_ab_arm **p = ctx;

	*(*p)++ = *a;
}

/* The A/B arms' store: a consumer keeps the arm first given, is exposed
 * once, a buyer once, a repeat buyer once. */
START_TEST(test_arms_store)
{
	struct yima_ab_arm a[2], *p = a;
	struct yima_tx *tx;
	int arm, most;

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_ab_expose(tx, 7, "c1", 1, 100, T0, 1, &arm),
	    0);
	ck_assert_int_eq(arm, 1);
	/* Later asked with another arm (a new key, say): it keeps its own. */
	ck_assert_int_eq(yima_tx_ab_expose(tx, 7, "c1", 0, 100, T0 + HOUR, 1,
	    &arm), 0);
	ck_assert_int_eq(arm, 1);
	ck_assert_int_eq(yima_tx_ab_claim(tx, 7, "c1", 1, 88, 10, T0), 0);
	ck_assert_int_eq(yima_tx_ab_claim(tx, 7, "c1", 1, 0, 10, T0 + HOUR),
	    0);
	/* Another bottle: on day 31 too late; a repeat scan is none. */
	ck_assert_int_eq(yima_tx_ab_expose(tx, 7, "c1", 0, 101, T0 + 31 * DAY,
	    1, &arm), 0);
	ck_assert_int_eq(yima_tx_ab_expose(tx, 7, "c2", 0, 200, T0, 1, &arm),
	    0);
	ck_assert_int_eq(yima_tx_ab_expose(tx, 7, "c2", 0, 201, T0 + DAY, 0,
	    &arm), 0);
	ck_assert_int_eq(yima_tx_ab_expose(tx, 7, "c2", 0, 202, T0 + 2 * DAY,
	    1, &arm), 0);
	ck_assert_int_eq(yima_tx_ab_expose(tx, 7, "c2", 0, 203, T0 + 3 * DAY,
	    1, &arm), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	memset(a, 0, sizeof(a));
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_ab_arms(tx, 7, arms_into, &p), 0);
	yima_tx_rollback(tx);
	ck_assert_int_eq(p - a, 2);
	ck_assert_int_eq(a[0].arm, 0);
	ck_assert_int_eq(a[0].exposed, 1);
	ck_assert_int_eq(a[0].repeaters, 1);
	ck_assert_int_eq(a[0].claims, 0);
	ck_assert_int_eq(a[1].arm, 1);
	ck_assert_int_eq(a[1].exposed, 1);
	ck_assert_int_eq(a[1].claimers, 1);
	ck_assert_int_eq(a[1].claims, 2);
	ck_assert_int_eq(a[1].repeaters, 0);
	ck_assert_int_eq(a[1].cents, 88);
	ck_assert_int_eq(a[1].points, 20);
	/* Retention forgets who saw what (both exposures, every date past
	 * it): seen again, exposed again. */
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_audience_drop(tx, T0 + 60 * DAY, 100, &most),
	    0);
	ck_assert_int_eq(most, 2);
	ck_assert_int_eq(yima_tx_ab_expose(tx, 7, "c2", 0, 300, T0 + 40 * DAY,
	    1, &arm), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	memset(a, 0, sizeof(a));
	p = a;
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_ab_arms(tx, 7, arms_into, &p), 0);
	yima_tx_rollback(tx);
	ck_assert_int_eq(a[0].exposed, 2);
}
END_TEST

/* ---- the real server ---- */

/* Bottles with cap codes (pairs by index), minted and imported. */
struct bottles {
	struct goods	 g;
	char		(*caps)[25];
};

static void
bottles_mint(int n, struct bottles *b)
{
	static const char *const extra[] = { "--gtin", GTIN, "--inner",
	    NULL };
	char *path, *csv, *line, *save, *f;
	int i = 0;

	goods_mint_with("item", n, extra, &b->g);
	ck_assert_ptr_nonnull(b->caps = calloc((size_t)n, sizeof(*b->caps)));
	path = tu_path(b->g.dir, "inner.csv");
	ck_assert_ptr_nonnull(csv = tu_read_file(path, NULL));
	line = strtok_r(csv, "\n", &save);	/* the header */
	while ((line = strtok_r(NULL, "\n", &save)) != NULL && i < n) {
		ck_assert_ptr_nonnull(f = strchr(line, ','));
		snprintf(b->caps[i++], sizeof(b->caps[0]), "%.24s", f + 1);
	}
	ck_assert_int_eq(i, n);
	free(csv);
	free(path);
}

static void
bottles_free(struct bottles *b)
{
	goods_free(&b->g);
	free(b->caps);
}

/* A scan that must answer 200; its consumer id into cid (if not NULL). */
static void
scan_ok(const char *code, const char *as, char cid[128],
    struct http_resp *p)
{
	ck_assert_msg(scan(code, as, p) == 200, "scan %s: %d %s", code,
	    p->status, p->body);
	if (cid != NULL)
		snprintf(cid, 128, "%s", jstr(p->json, "consumer"));
}

#define AB_HEAD "{\"name\":\"AB\",\"start\":\"2026-01-01T00:00:00Z\"," \
	"\"end\":\"2030-01-01T00:00:00Z\",\"points\":10,\"variants\":"
#define AB_GOOD AB_HEAD "[{\"name\":\"A\",\"weight\":50,\"landing\":" \
	"{\"headline\":\"满100减10\",\"image_url\":\"/img/a.png\"," \
	"\"cta\":\"领取\"}},{\"name\":\"B\",\"weight\":50,\"points\":20," \
	"\"prizes\":[{\"name\":\"红包\",\"type\":\"cash\",\"amount\":88," \
	"\"count\":1000,\"probability\":1}],\"landing\":{\"headline\":" \
	"\"Red packet\"}}]}"

/* Two-sided p of the two-proportion z-test, as a statistician would. */
static double
z_p(double x1, double n1, double x2, double n2)
{
	double pp = (x1 + x2) / (n1 + n2);
	double se = sqrt(pp * (1 - pp) * (1 / n1 + 1 / n2));

	return se > 0 ? erfc(fabs(x2 / n2 - x1 / n1) / se / sqrt(2)) : 1;
}

/*
 * A campaign with two arms: malformed arms are refused by field and make
 * nothing; each consumer gets one arm for good (across a restart), its
 * offer on outer and cap codes, its points and prizes; claims carry the
 * arm; the experiment report counts what the test saw.
 */
START_TEST(test_variants)
{
	static const struct {
		const char	*variants, *field;
	} bad[] = {
		{ "[{\"name\":\"A\",\"weight\":100}]", "\"variants\"" },
		{ "{}", "\"variants\"" },
		{ "[{\"name\":\"A\",\"weight\":50},{\"name\":\"B\","
		  "\"weight\":40}]", "\"variants\"" },
		{ "[{\"name\":\"A\",\"weight\":50},{\"name\":\"A\","
		  "\"weight\":50}]", "\"variants[1].name\"" },
		{ "[{\"name\":\"\",\"weight\":50},{\"name\":\"B\","
		  "\"weight\":50}]", "\"variants[0].name\"" },
		{ "[{\"name\":\"A\",\"weight\":0},{\"name\":\"B\","
		  "\"weight\":100}]", "\"variants[0].weight\"" },
		{ "[{\"name\":\"A\",\"weight\":50,\"foo\":1},{\"name\":\"B\","
		  "\"weight\":50}]", "\"variants[0]\"" },
		{ "[{\"name\":\"A\",\"weight\":50,\"landing\":{\"headline\":"
		  "\"x\",\"image_url\":\"javascript:alert(1)\"}},{\"name\":"
		  "\"B\",\"weight\":50}]", "\"variants[0].landing.image_url\"" },
		{ "[{\"name\":\"A\",\"weight\":50,\"landing\":{\"headline\":"
		  "\"x\\u0007\"}},{\"name\":\"B\",\"weight\":50}]",
		  "\"variants[0].landing.headline\"" },
		{ "[{\"name\":\"A\",\"weight\":50},{\"name\":\"B\",\"weight\":"
		  "50,\"prizes\":[{\"name\":\"p\",\"type\":\"cash\",\"amount\":"
		  "1,\"count\":1,\"probability\":1.5}]}]",
		  "\"variants[1].prizes[0].probability\"" },
		{ "[{\"name\":\"A\",\"weight\":50,\"points\":-1},{\"name\":"
		  "\"B\",\"weight\":50}]", "\"variants[0].points\"" },
	};
	struct bottles b;
	struct http_resp p;
	const char *arm;
	char body[1024], cid[40][128], arms[40][2], path[96], *dom;
	long long id, plain;
	int i, n[2] = { 0, 0 }, cl[2] = { 0, 0 }, rep[2] = { 0, 0 }, k;
	json_t *v;

	srv_start(open_flags);
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		snprintf(body, sizeof(body), AB_HEAD "%s}", bad[i].variants);
		ck_assert_int_eq(post("/api/v1/admin/campaigns", T.admin, body,
		    &p), 400);
		ck_assert_msg(strstr(jstr(p.json, "error.message"),
		    bad[i].field) == jstr(p.json, "error.message"),
		    "%s: %s", bad[i].variants, p.body);
		http_free(&p);
	}
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM campaigns"), 0);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM variants"), 0);
	bottles_mint(80, &b);
	id = campaign(AB_GOOD);
	snprintf(path, sizeof(path), "/api/v1/admin/campaigns/%lld", id);
	ck_assert_int_eq(call("GET", path, T.admin, NULL, &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "prizes")), 0);
	v = jget(p.json, "variants");
	ck_assert_int_eq(json_array_size(v), 2);
	ck_assert_str_eq(jstr(json_array_get(v, 0), "landing.image_url"),
	    "/img/a.png");
	ck_assert_int_eq(jint(json_array_get(v, 1), "points"), 20);
	ck_assert_int_eq(jint(json_array_get(v, 1), "prizes.0.amount"), 88);
	http_free(&p);
	for (i = 0; i < 40; i++) {
		/* The outer code shows the arm and its offer (no claim). */
		scan_ok(b.g.codes[i], NULL, cid[i], &p);
		ck_assert_ptr_nonnull(arm = jstr(p.json, "variant"));
		ck_assert(strcmp(arm, "A") == 0 || strcmp(arm, "B") == 0);
		arms[i][0] = arm[0];
		arms[i][1] = '\0';
		k = arm[0] - 'A';
		n[k]++;
		ck_assert_str_eq(jstr(p.json, "offer.headline"), k == 0 ?
		    "满100减10" : "Red packet");
		ck_assert_str_eq(jstr(p.json, "reward_reason"),
		    "inner_code_required");
		http_free(&p);
		/* Two in three open the cap and claim in their arm. */
		if (i % 3 != 0) {
			scan_ok(b.caps[i], cid[i], NULL, &p);
			ck_assert_str_eq(jstr(p.json, "variant"), arms[i]);
			ck_assert_int_eq(jint(p.json, "reward.points"), k == 0 ?
			    10 : 20);
			ck_assert_str_eq(jstr(p.json, "reward.type"), k == 0 ?
			    "points" : "cash");
			if (k == 1)
				ck_assert_int_eq(jint(p.json,
				    "reward.amount"), 88);
			cl[k]++;
			http_free(&p);
		}
		/* One in four buys another bottle: a repeat buyer. */
		if (i % 4 == 0) {
			scan_ok(b.g.codes[40 + i], cid[i], NULL, &p);
			ck_assert_str_eq(jstr(p.json, "variant"), arms[i]);
			rep[k]++;
			http_free(&p);
		}
	}
	/* 2^-39 that every consumer fell in one arm. */
	ck_assert(n[0] > 0 && n[1] > 0);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM claims WHERE variant ="
	    " 'A' AND status = 'granted'"), cl[0]);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM claims WHERE variant ="
	    " 'B' AND status = 'granted'"), cl[1]);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM payouts"), cl[1]);
	snprintf(path, sizeof(path), "/api/v1/reports/experiments/%lld", id);
	ck_assert_int_eq(call("GET", path, T.admin, NULL, &p), 200);
	for (k = 0; k < 2; k++) {
		v = json_array_get(jget(p.json, "variants"), (size_t)k);
		ck_assert_str_eq(jstr(v, "variant"), k ? "B" : "A");
		ck_assert_int_eq(jint(v, "exposed"), n[k]);
		ck_assert_int_eq(jint(v, "claimers"), cl[k]);
		ck_assert_int_eq(jint(v, "claims"), cl[k]);
		ck_assert_int_eq(jint(v, "repeat_buyers"), rep[k]);
		ck_assert_int_eq(jint(v, "cost_cents"), k ? 88 * cl[k] : 0);
		ck_assert_int_eq(jint(v, "points"), (k ? 20 : 10) * cl[k]);
		ck_assert(fabs(json_real_value(jget(v, "claim_rate")) -
		    (double)cl[k] / n[k]) < 1e-4);
	}
	ck_assert(fabs(json_real_value(jget(v, "vs_first.claim_rate."
	    "difference")) - ((double)cl[1] / n[1] - (double)cl[0] / n[0])) <
	    1e-5);
	ck_assert(fabs(json_real_value(jget(v, "vs_first.claim_rate.p_value"))
	    - z_p(cl[0], n[0], cl[1], n[1])) < 1e-9);
	ck_assert(json_real_value(jget(v, "vs_first.claim_rate.ci95.0")) <=
	    json_real_value(jget(v, "vs_first.claim_rate.difference")));
	ck_assert(json_is_null(jget(p.json, "winner")));	/* < 200 each */
	http_free(&p);
	/* A consumer's export says which arm they were shown. */
	ck_assert_int_eq(as_consumer("GET", "/api/v1/consumers/me/export",
	    cid[1], NULL, &p), 200);
	ck_assert_str_eq(jstr(p.json, "audience.0.kind"), "experiment");
	ck_assert_int_eq(jint(p.json, "audience.0.campaign"), id);
	ck_assert_int_eq(jint(p.json, "audience.0.arm"), arms[1][0] - 'A');
	ck_assert_str_eq(jstr(p.json, "claims.0.variant"), arms[1]);
	http_free(&p);
	/* The landing page shows a new reader their arm's offer. */
	dom = browse("zh-CN", b.g.codes[70]);
	ck_assert_msg(strstr(dom, "<section id=\"oc\" class=\"card\">") !=
	    NULL && (strstr(dom, "满100减10</p>") != NULL ||
	    strstr(dom, "Red packet</p>") != NULL), "no offer: %.3000s", dom);
	free(dom);
	/* A restarted node puts everyone in the same arm. */
	srv_stop();
	srv_start(open_flags);
	for (i = 0; i < 4; i++) {
		scan_ok(b.g.codes[60 + i], cid[i], NULL, &p);
		ck_assert_str_eq(jstr(p.json, "variant"), arms[i]);
		http_free(&p);
	}
	/* Who may ask, and about what. */
	ck_assert_int_eq(call("GET", path, T.dealer, NULL, &p), 403);
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/reports/experiments/999",
	    T.admin, NULL, &p), 404);
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/reports/experiments/x1",
	    T.admin, NULL, &p), 404);
	http_free(&p);
	plain = campaign("{\"name\":\"plain\",\"start\":\"2026-01-01T00:00:00Z"
	    "\",\"end\":\"2030-01-01T00:00:00Z\",\"points\":1}");
	snprintf(path, sizeof(path), "/api/v1/reports/experiments/%lld",
	    plain);
	ck_assert_int_eq(call("GET", path, T.admin, NULL, &p), 404);
	http_free(&p);
	srv_stop();
	bottles_free(&b);
}
END_TEST

/* Sets a campaign's arm counters as if consumers had come. */
static void
arms_set(long long campaign, long long na, long long ca, long long nb,
    long long cb)
{
	sqlite3 *db = db_open();
	char *sql;

	ck_assert(asprintf(&sql, "DELETE FROM ab_arms WHERE campaign = %lld;"
	    "INSERT INTO ab_arms VALUES (%lld, 0, 0, %lld, %lld, %lld, 0, 0, 0),"
	    " (%lld, 1, 0, %lld, %lld, %lld, 0, 0, 0)", campaign, campaign,
	    na, ca, ca, campaign, nb, cb, cb) > 0);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	free(sql);
	sqlite3_close(db);
}

/* The third arm's counters. */
static void
arm3_set(long long campaign, long long n, long long c)
{
	sqlite3 *db = db_open();
	char *sql;

	ck_assert(asprintf(&sql, "DELETE FROM ab_arms WHERE campaign = %lld"
	    " AND variant = 2; INSERT INTO ab_arms VALUES (%lld, 2, 0, %lld,"
	    " %lld, %lld, 0, 0, 0)", campaign, campaign, n, c, c) > 0);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	free(sql);
	sqlite3_close(db);
}

static const char *
winner(long long campaign, struct http_resp *p)
{
	char path[64];

	snprintf(path, sizeof(path), "/api/v1/reports/experiments/%lld",
	    campaign);
	ck_assert_int_eq(call("GET", path, T.admin, NULL, p), 200);
	return json_is_null(jget(p->json, "winner")) ? "none" :
	    jstr(p->json, "winner");
}

/* The winner: only with p < 0.05 and --ab-min consumers in each arm. */
START_TEST(test_experiment_winner)
{
	struct http_resp p;
	long long id;

	srv_start(open_flags);
	id = campaign(AB_GOOD);
	arms_set(id, 1000, 300, 1000, 360);		/* p = 0.0045 */
	ck_assert_str_eq(winner(id, &p), "B");
	ck_assert(json_real_value(jget(p.json, "variants.1.vs_first."
	    "claim_rate.p_value")) < 0.01);
	http_free(&p);
	arms_set(id, 1000, 360, 1000, 300);
	ck_assert_str_eq(winner(id, &p), "A");
	http_free(&p);
	arms_set(id, 1000, 330, 1000, 330);
	ck_assert_str_eq(winner(id, &p), "none");
	ck_assert(json_real_value(jget(p.json, "variants.1.vs_first."
	    "claim_rate.p_value")) > 0.99);
	http_free(&p);
	arms_set(id, 1000, 300, 1000, 320);		/* p = 0.34 */
	ck_assert_str_eq(winner(id, &p), "none");
	http_free(&p);
	arms_set(id, 150, 30, 150, 75);			/* too few */
	ck_assert_str_eq(winner(id, &p), "none");
	http_free(&p);
	/* Three arms: the best must beat both others, at p < 0.025. */
	id = campaign(AB_HEAD "[{\"name\":\"A\",\"weight\":34},{\"name\":"
	    "\"B\",\"weight\":33},{\"name\":\"C\",\"weight\":33}]}");
	arms_set(id, 1000, 300, 1000, 360);
	arm3_set(id, 1000, 359);		/* B and C: no difference */
	ck_assert_str_eq(winner(id, &p), "none");
	http_free(&p);
	arm3_set(id, 1000, 300);		/* B beats A and C */
	ck_assert_str_eq(winner(id, &p), "B");
	http_free(&p);
	arms_set(id, 1000, 300, 1000, 345);	/* p = 0.031: not < 0.025 */
	arm3_set(id, 1000, 300);
	ck_assert_str_eq(winner(id, &p), "none");
	http_free(&p);
	srv_stop();
}
END_TEST

/* Binds channel code of T.ch i to a dealer; must answer 201. */
static void
bind(int i, const char *dealer, const char *type, const char *name)
{
	struct http_resp p;

	ck_assert_msg(call("POST", "/api/v1/admin/channels", T.admin,
	    json_pack("{s:s,s:s,s:s,s:s}", "code", T.ch.codes[i], "dealer",
	    dealer, "name", name, "type", type), &p) == 201, "channel: %d %s",
	    p.status, p.body);
	http_free(&p);
}

static json_t *
row_of(json_t *rows, const char *channel)
{
	json_t *o;
	size_t i;

	json_array_foreach(rows, i, o)
		if (strcmp(jstr(o, "channel"), channel) == 0)
			return o;
	return NULL;
}

/*
 * Two channel codes and their consumers: scans, bound, claimed, bought
 * again, commission; ranked; a dealer sees its subtree; CSV safe.
 */
START_TEST(test_channel_funnels)
{
	struct bottles b;
	struct http_resp p;
	char cid[8][128], tok[64], s0[24], s1[24];
	json_t *o;
	int i;

	ck_assert_int_gt(token_create(E.db, "dealer", "D-1", tok,
	    sizeof(tok)), 0);
	srv_start(open_flags);
	bottles_mint(12, &b);
	dealer_add("D-1", "distributor", NULL, NULL);
	dealer_add("S-1", "store", "D-1", NULL);
	dealer_add("S-2", "store", NULL, NULL);
	bind(0, "S-1", "store", "=Counter");
	bind(1, "S-2", "staff", "Ms Li");
	snprintf(s0, sizeof(s0), "%lld", T.ch.serials[0]);
	snprintf(s1, sizeof(s1), "%lld", T.ch.serials[1]);
	campaign("{\"name\":\"c\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"points\":10,\"commission\":3,"
	    "\"claim_kind\":\"item\"}");
	/* Five scan the counter's code, one twice; three buy, one again
	 * (each bottle claims). */
	for (i = 0; i < 5; i++) {
		scan_ok(T.ch.codes[0], NULL, cid[i], &p);
		http_free(&p);
	}
	scan_ok(T.ch.codes[0], cid[0], NULL, &p);
	http_free(&p);
	for (i = 0; i < 3; i++) {
		scan_ok(b.g.codes[i], cid[i], NULL, &p);
		ck_assert_int_eq(jint(p.json, "reward.points"), 10);
		http_free(&p);
	}
	scan_ok(b.g.codes[3], cid[0], NULL, &p);
	http_free(&p);
	/* Two scan Ms Li's badge; one buys. */
	for (i = 5; i < 7; i++) {
		scan_ok(T.ch.codes[1], NULL, cid[i], &p);
		http_free(&p);
	}
	scan_ok(b.g.codes[5], cid[5], NULL, &p);
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/reports/channels", T.admin,
	    NULL, &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "rows")), 2);
	o = json_array_get(jget(p.json, "rows"), 0);
	ck_assert_str_eq(jstr(o, "channel"), s0);
	ck_assert_int_eq(jint(o, "rank"), 1);
	ck_assert_str_eq(jstr(o, "name"), "=Counter");
	ck_assert_str_eq(jstr(o, "dealer"), "S-1");
	ck_assert_int_eq(jint(o, "scans"), 6);
	ck_assert_int_eq(jint(o, "bound"), 5);
	ck_assert_int_eq(jint(o, "claimed"), 3);
	ck_assert_int_eq(jint(o, "repeat_buyers"), 1);
	/* Four claims: consumer 0's second bottle claimed too. */
	ck_assert_int_eq(jint(o, "commission_points"), 12);
	ck_assert(fabs(json_real_value(jget(o, "claim_rate")) - 0.6) < 1e-9);
	o = row_of(jget(p.json, "rows"), s1);
	ck_assert_int_eq(jint(o, "rank"), 2);
	ck_assert_str_eq(jstr(o, "type"), "staff");
	ck_assert_int_eq(jint(o, "bound"), 2);
	ck_assert_int_eq(jint(o, "claimed"), 1);
	ck_assert_int_eq(jint(o, "commission_points"), 3);
	ck_assert_int_eq(jint(p.json, "funnel.scans"), 8);
	ck_assert_int_eq(jint(p.json, "funnel.bound"), 7);
	ck_assert_int_eq(jint(p.json, "funnel.claimed"), 4);
	ck_assert_int_eq(jint(p.json, "funnel.repeat_buyers"), 1);
	/* The commission agrees with the ledger. */
	ck_assert_int_eq(jint(p.json, "funnel.commission_points"),
	    db_int("SELECT SUM(amount) FROM ledger WHERE kind ="
	    " 'commission'"));
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/reports/channels?type=staff",
	    T.admin, NULL, &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "rows")), 1);
	http_free(&p);
	/* D-1 sees its store's code only. */
	ck_assert_int_eq(call("GET", "/api/v1/reports/channels", tok, NULL,
	    &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "rows")), 1);
	ck_assert_ptr_nonnull(row_of(jget(p.json, "rows"), s0));
	http_free(&p);
	ck_assert_int_eq(csv_check("/api/v1/reports/channels?format=csv",
	    T.admin, "nntttnnnnnnn", "'=Counter", 3), 1);
	/* Bad asks, nothing else. */
	ck_assert_int_eq(call("GET", "/api/v1/reports/channels?type=x",
	    T.admin, NULL, &p), 400);
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/reports/channels?from=2026-13-01",
	    T.admin, NULL, &p), 400);
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/reports/channels?format=xml",
	    T.admin, NULL, &p), 400);
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/reports/channels", T.ops, NULL,
	    &p), 403);
	http_free(&p);
	srv_stop();
	bottles_free(&b);
}
END_TEST

/*
 * Consumers' stages through the server: counts per region and stage, a
 * dealer's territory without small cells, an old consumer time moved
 * (the report catches up first), the CSV list for a CRM (admin only,
 * logged), and an erased consumer gone from it.
 */
START_TEST(test_segments)
{
	struct bottles b;
	struct http_resp p;
	char cid[6][128], tok[64], *log, *sql, id[25], path[160];
	const char *s, *link;
	int n;
	int64_t now = (int64_t)time(NULL) * 1000, first = now - 100 * DAY;
	sqlite3 *db;
	int i;

	ck_assert_int_gt(token_create(E.db, "dealer", "D-SH", tok,
	    sizeof(tok)), 0);
	srv_start(open_flags);
	bottles_mint(8, &b);
	dealer_add("D-SH", "distributor", NULL, "31");
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(scan_at(b.g.codes[i], NULL, i < 4 ?
		    30.2741 : 31.2304, i < 4 ? 120.1551 : 121.4737, &p), 200);
		snprintf(cid[i], sizeof(cid[i]), "%s", jstr(p.json,
		    "consumer"));
		http_free(&p);
	}
	/* A repeat of a bottle is no purchase; an unlocated one counts. */
	ck_assert_int_eq(scan(b.g.codes[0], cid[1], &p), 200);
	http_free(&p);
	scan_ok(b.g.codes[5], NULL, cid[5], &p);
	http_free(&p);
	/* A consumer of long ago: new 100 days back, never again. */
	db = db_open();
	ck_assert(asprintf(&sql, "INSERT INTO segments VALUES ('%s',"
	    " '330106', 'member', 'new', %lld, %lld, 999, '', %lld);"
	    "INSERT INTO segment_counts VALUES ('330106', 'new', 'member', 0,"
	    " 1)", "0123456789abcdef01234567", (long long)first,
	    (long long)first, (long long)(first + 30 * DAY)) > 0);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	free(sql);
	sqlite3_close(db);
	ck_assert_int_eq(call("GET", "/api/v1/reports/segments", T.admin,
	    NULL, &p), 200);
	ck_assert_int_eq(jint(p.json, "stages.new"), 6);
	ck_assert_int_eq(jint(p.json, "stages.lapsed"), 1);
	ck_assert_int_eq(jint(p.json, "stages.active"), 0);
	ck_assert_int_eq(jint(p.json, "tiers.member"), 7);
	ck_assert_ptr_nonnull(strstr(p.body, "\"from\":\"at_risk\","
	    "\"to\":\"lapsed\""));
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM segments WHERE stage ="
	    " 'lapsed'"), 1);
	ck_assert_int_eq(call("GET", "/api/v1/reports/segments?region=33",
	    T.admin, NULL, &p), 200);
	ck_assert_int_eq(jint(p.json, "stages.new"), 4);
	ck_assert_str_eq(jstr(p.json, "rows.0.region_name"), "杭州市");
	http_free(&p);
	/* Shanghai's dealer: one consumer, too few for a cell of its own,
	 * in a total, in a move or in "other". */
	ck_assert_int_eq(call("GET", "/api/v1/reports/segments", tok, NULL,
	    &p), 200);
	ck_assert_int_eq(jint(p.json, "stages.new"), 0);
	ck_assert_int_eq(json_array_size(jget(p.json, "rows")), 0);
	ck_assert_int_eq(json_array_size(jget(p.json, "moves")), 0);
	ck_assert_ptr_null(jget(p.json, "other"));
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/admin/segments/new/consumers",
	    tok, NULL, &p), 403);
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/admin/segments/gone/consumers",
	    T.admin, NULL, &p), 404);
	http_free(&p);
	ck_assert_int_eq(csv_check("/api/v1/admin/segments/new/consumers"
	    "?format=csv", T.admin, "ttt?t", "new", 1), 6);
	for (i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "%.24s", cid[i]);
		ck_assert_int_eq(csv_check("/api/v1/admin/segments/new/"
		    "consumers", T.admin, "ttt?t", id, 0), 1);
	}
	ck_assert_int_eq(csv_check("/api/v1/admin/segments/lapsed/consumers",
	    T.admin, "ttt?t", "0123456789abcdef01234567", 0), 1);
	ck_assert_ptr_nonnull(log = tu_read_file(E.log, NULL));
	ck_assert_ptr_nonnull(strstr(log, "segment_export"));
	free(log);
	/* Their export has their stage. */
	ck_assert_int_eq(as_consumer("GET", "/api/v1/consumers/me/export",
	    cid[0], NULL, &p), 200);
	ck_assert_str_eq(jstr(p.json, "lifecycle.stage"), "new");
	ck_assert_str_eq(jstr(p.json, "lifecycle.region"), "330100");
	ck_assert_int_eq(json_array_size(jget(p.json, "audience")), 0);
	http_free(&p);
	/* Erased: off the list, still counted. */
	ck_assert_int_eq(as_consumer("DELETE", "/api/v1/consumers/me", cid[0],
	    "{\"confirm\":true}", &p), 200);
	http_free(&p);
	ck_assert_int_eq(csv_check("/api/v1/admin/segments/new/consumers",
	    T.admin, "ttt?t", "new", 1), 5);
	/* Pages of 2: 2, 2 and 1, each full one linking to the next. */
	snprintf(path, sizeof(path), "/api/v1/admin/segments/new/consumers"
	    "?limit=2");
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(call("GET", path, T.admin, NULL, &p), 200);
		for (n = 0, s = p.body; (s = strstr(s, "\r\n")) != NULL; s += 2)
			n++;
		ck_assert_int_eq(n - 1, i < 2 ? 2 : 1);
		link = strstr(p.raw, "Link: <");
		ck_assert((link != NULL) == (i < 2));
		if (link != NULL)
			snprintf(path, sizeof(path), "%.*s", (int)strcspn(link +
			    7, ">"), link + 7);
		http_free(&p);
	}
	refused("GET", "/api/v1/admin/segments/new/consumers?after=xyz",
	    T.admin, NULL, 400, "a bad cursor");
	refused("GET", "/api/v1/admin/segments/new/consumers?limit=100001",
	    T.admin, NULL, 400, "a page too big");
	ck_assert_int_eq(call("GET", "/api/v1/reports/segments", T.admin,
	    NULL, &p), 200);
	ck_assert_int_eq(jint(p.json, "stages.new"), 6);
	http_free(&p);
	srv_stop();
	bottles_free(&b);
}
END_TEST

/*
 * The simulator's brand: an A/B test whose better arm is known (30% vs
 * 36% of consumers claim), one whose arms are equal, three channel codes
 * of known conversion; every report count equals its own log's, the
 * better arm wins and equal arms have no winner.
 */
START_TEST(test_simulated)
{
	static const char *const extra[] = { "--marketing", NULL };
	json_t *plan, *e, *want, *rows, *o, *v;
	struct http_resp p;
	const char *key, *w;
	char path[64];
	long long sum;
	size_t i, j;

	srv_start(open_flags);
	plan = simulate_with("7", "5", extra);
	json_array_foreach(jget(plan, "experiments"), i, e) {
		snprintf(path, sizeof(path), "/api/v1/reports/experiments/%lld",
		    jint(e, "campaign"));
		ck_assert_int_eq(call("GET", path, T.admin, NULL, &p), 200);
		json_array_foreach(jget(p.json, "variants"), j, v) {
			want = json_object_get(jget(e, "arms"), jstr(v,
			    "variant"));
			ck_assert_ptr_nonnull(want);
			ck_assert_int_eq(jint(v, "exposed"), jint(want,
			    "exposed"));
			ck_assert_int_eq(jint(v, "claimers"), jint(want,
			    "claimers"));
			ck_assert_int_eq(jint(v, "claims"), jint(want,
			    "claimers"));
			ck_assert_int_eq(jint(v, "repeat_buyers"), jint(want,
			    "repeat_buyers"));
		}
		w = json_is_null(jget(p.json, "winner")) ? NULL :
		    jstr(p.json, "winner");
		ck_assert_msg(json_is_null(jget(e, "winner")) ? w == NULL :
		    w != NULL && strcmp(w, jstr(e, "winner")) == 0,
		    "winner %s, the simulator made %s: %s", w ? w : "none",
		    json_is_null(jget(e, "winner")) ? "none" : jstr(e,
		    "winner"), p.body);
		http_free(&p);
	}
	ck_assert_int_eq(call("GET", "/api/v1/reports/channels", T.admin,
	    NULL, &p), 200);
	rows = jget(p.json, "rows");
	json_object_foreach(jget(plan, "channels"), key, want) {
		ck_assert_ptr_nonnull(o = row_of(rows, key));
		ck_assert_int_eq(jint(o, "scans"), jint(want, "scans"));
		ck_assert_int_eq(jint(o, "bound"), jint(want, "bound"));
		ck_assert_int_eq(jint(o, "claimed"), jint(want, "claimed"));
		ck_assert_int_eq(jint(o, "repeat_buyers"), jint(want,
		    "repeat_buyers"));
		ck_assert_int_eq(jint(o, "commission_points"), jint(want,
		    "commission_points"));
	}
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/reports/segments", T.admin,
	    NULL, &p), 200);
	ck_assert_int_eq(jint(p.json, "stages.new"), jint(plan,
	    "segments.new"));
	json_object_foreach(jget(plan, "segments.by_region"), key, want) {
		sum = 0;
		json_array_foreach(jget(p.json, "rows"), i, o)
			if (strcmp(json_is_null(jget(o, "region")) ? "" :
			    jstr(o, "region"), key) == 0)
				sum += jint(o, "consumers");
		ck_assert_int_eq(sum, json_integer_value(want));
	}
	http_free(&p);
	json_decref(plan);
	srv_stop();
}
END_TEST

Suite *
audience_suite(void)
{
	Suite *s = suite_create("audience");
	TCase *tc;

	tc = tcase_create("store");
	tcase_add_checked_fixture(tc, engine_setup, engine_teardown);
	tcase_add_test(tc, test_stage_rules);
	tcase_add_test(tc, test_stage_moves);
	tcase_add_test(tc, test_funnel_store);
	tcase_add_test(tc, test_arms_store);
	suite_add_tcase(s, tc);
	if (tu_pg_url() != NULL) {
		tc = tcase_create("store-postgresql");
		tcase_add_checked_fixture(tc, engine_setup_pg,
		    engine_teardown);
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, test_stage_moves);
		tcase_add_test(tc, test_funnel_store);
		tcase_add_test(tc, test_arms_store);
		suite_add_tcase(s, tc);
	}
	tc = srv_tcase("server", 180);
	tcase_add_test(tc, test_variants);
	tcase_add_test(tc, test_experiment_winner);
	tcase_add_test(tc, test_channel_funnels);
	tcase_add_test(tc, test_segments);
	tcase_add_test(tc, test_simulated);
	suite_add_tcase(s, tc);
	return s;
}
