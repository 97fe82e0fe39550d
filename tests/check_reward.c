/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rewards: the engine against a real store (seeded draws, pools,
 * budgets, tiers), then the real server over loopback HTTP (races,
 * vouchers, commission, payouts, anti-fraud, the ledger check).
 */
#define _GNU_SOURCE	/* asprintf */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>

#include "yima/err.h"
#include "yima/store.h"

#include "../scanapi/db.h"
#include "../scanapi/routes.h"
#include "../scanapi/reward.h"
#include "srvutil.h"
#include "testutil.h"

Suite *reward_suite(void);

#define DAY	(24LL * 3600 * 1000)
#define NBIG	1000	/* inner codes of the big batch */
#define NRACE	64
/* Far inside any campaign of these tests: 2026-06-01T00:00:00Z. */
#define T0	1780272000000LL

/* ---- the engine, on a store of its own ---- */

static char *tmp;
static struct yima_store *st;
static struct api_rewards *rw;
static struct api_reward_cfg rcfg;

static uint64_t
xorshift(void *ctx)
{
	uint64_t *s = ctx;

	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t seed;
static int engine_pg;	/* the engine's store is PostgreSQL */

/* The engine on SQLite, or (pg) PostgreSQL on an emptied database. */
static void
engine_open(int pg)
{
	tmp = tu_mkdtemp();
	engine_pg = pg;
	st = tu_store_open(tmp, pg);
	api_reward_defaults(&rcfg);
	ck_assert_int_eq(api_rewards_new(&rcfg, &rw), 0);
	seed = 0x9e3779b97f4a7c15ULL;
	api_rewards_set_rng(rw, xorshift, &seed);
}

static void
engine_setup(void)
{
	engine_open(0);
}

/* The same engine on PostgreSQL (YIMA_TEST_PG). */
static void
engine_setup_pg(void)
{
	engine_open(1);
}

static void
engine_teardown(void)
{
	api_rewards_free(rw);
	yima_store_close(st);
	tu_rmtree(tmp);
	free(tmp);
}

/* A campaign over all GTINs and regions, 2020 to 2030, no limits. */
static void
campaign_init(struct yima_campaign *c, int64_t points)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->name, "test");
	c->start = 1577836800000LL;
	c->end = 1893456000000LL;
	strcpy(c->status, "active");
	c->claim_kind = YIMA_KIND_INNER;
	c->points = points;
	c->budget = c->daily_budget = YIMA_NONE;
	c->per_day = c->per_consumer = c->per_network_hour = YIMA_NONE;
}

static void
prize_add(struct yima_campaign *c, const char *name, int type,
    int64_t amount, int64_t count, double p)
{
	struct yima_prize *z = &c->prizes[c->nprizes++];

	snprintf(z->name, sizeof(z->name), "%s", name);
	z->type = type;
	z->amount = amount;
	z->count = count;
	z->probability = p;
}

static int64_t
campaign_put(struct yima_campaign *c)
{
	struct yima_tx *tx;

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_campaign_create(tx, c, "{}"), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	return c->id;
}

/* One genuine inner scan of serial by consumer at, claimed. */
static void
claim(uint64_t serial, const char *consumer, int64_t at,
    struct api_reward *rew)
{
	struct api_scan_in in;
	struct api_scan_out out;
	struct yima_tx *tx;

	memset(&in, 0, sizeof(in));
	memset(&out, 0, sizeof(out));
	in.at = at;
	in.valid = 1;
	in.code.kind = YIMA_KIND_INNER;
	in.code.serial = serial;
	snprintf(in.consumer, sizeof(in.consumer), "%s", consumer);
	strcpy(in.client, "192.0.2.7");
	out.verdict = YIMA_V_GENUINE;
	out.registered = 1;
	out.scan_id = (int64_t)serial;
	strcpy(out.range.gtin, "06901234567892");
	strcpy(out.range.batch, "00000000000000000000000000000001");
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(api_reward_claim(rw, tx, &in, &out, rew), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
}

/* The integer a query on the engine's database answers; -1 no row. */
static long long edb_int(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static long long
edb_int(const char *fmt, ...)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;
	char *sql, *path;
	va_list ap;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&sql, fmt, ap), 0);
	va_end(ap);
	if (engine_pg) {
		v = tu_pg_int(sql);
		free(sql);
		return v;
	}
	path = tu_path(tmp, "store.db");
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	free(sql);
	free(path);
	return v;
}

static void
ck_problem(void *ctx, const char *problem)
{
	(void)ctx;
	ck_abort_msg("ledger check: %s", problem);
}

/* The ledger check finds nothing; returns the movements. */
static int64_t
ledger_ok(void)
{
	struct yima_tx *tx;
	int64_t rows, problems;

	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_ledger_check(tx, ck_problem, NULL, &rows,
	    &problems), 0);
	yima_tx_rollback(tx);
	ck_assert_int_eq(problems, 0);
	return rows;
}

START_TEST(test_pick)
{
	struct yima_campaign c;

	campaign_init(&c, 0);
	ck_assert_int_eq(api_reward_pick(&c, 0, 0.0), -1);
	prize_add(&c, "a", YIMA_PRIZE_CASH, 1, 1, 0.25);
	prize_add(&c, "b", YIMA_PRIZE_POINTS, 1, 1, 0.5);
	ck_assert_int_eq(api_reward_pick(&c, 0, 0.0), 0);
	ck_assert_int_eq(api_reward_pick(&c, 0, 0.2499), 0);
	ck_assert_int_eq(api_reward_pick(&c, 0, 0.25), 1);
	ck_assert_int_eq(api_reward_pick(&c, 0, 0.7499), 1);
	ck_assert_int_eq(api_reward_pick(&c, 0, 0.75), -1);
	ck_assert_int_eq(api_reward_pick(&c, 0, 0.9999), -1);
}
END_TEST

/*
 * 20,000 seeded draws: each tier's share within 5 standard deviations
 * of its probability. Seeded, the counts are fixed: this cannot flake,
 * and a draw that ignored the odds would be far outside.
 */
START_TEST(test_draw_odds)
{
	struct yima_campaign c;
	struct api_reward rew;
	char cid[25];
	int i, n = 20000, cash = 0, voucher = 0, points = 0, none = 0;
	double sd;

	campaign_init(&c, 0);
	prize_add(&c, "red packet", YIMA_PRIZE_CASH, 888, 1000000, 0.05);
	prize_add(&c, "another bottle", YIMA_PRIZE_VOUCHER, 1, 1000000, 0.02);
	prize_add(&c, "points", YIMA_PRIZE_POINTS, 50, 1000000, 0.3);
	campaign_put(&c);
	for (i = 0; i < n; i++) {
		snprintf(cid, sizeof(cid), "%024d", i);
		claim((uint64_t)i + 1, cid, T0 + i, &rew);
		ck_assert_ptr_null(rew.reason);
		switch (rew.type) {
		case YIMA_PRIZE_CASH: cash++; break;
		case YIMA_PRIZE_VOUCHER: voucher++; break;
		case YIMA_PRIZE_POINTS: points++; break;
		default: none++;
		}
	}
	sd = 5 * sqrt(n * 0.05 * 0.95);
	ck_assert_msg(fabs(cash - n * 0.05) < sd, "cash %d of %d", cash, n);
	sd = 5 * sqrt(n * 0.02 * 0.98);
	ck_assert_msg(fabs(voucher - n * 0.02) < sd, "vouchers %d", voucher);
	sd = 5 * sqrt(n * 0.3 * 0.7);
	ck_assert_msg(fabs(points - n * 0.3) < sd, "points %d", points);
	ck_assert_int_eq(cash + voucher + points + none, n);
	ck_assert_int_eq(edb_int("SELECT COUNT(*) FROM payouts"), cash);
	ledger_ok();
}
END_TEST

/* A pool of 10: ten prizes, then pool_empty, never below zero. */
/* Items 1..n with cap codes n+1..2n, imported into the engine's store. */
static void
engine_import(uint64_t n)
{
	struct yima_manifest m;
	struct yima_tx *tx;
	int created;

	memset(&m, 0, sizeof(m));
	strcpy(m.batch, "00000000000000000000000000000001");
	m.kind = YIMA_KIND_ITEM;
	m.key_id = 1;
	m.first_serial = 1;
	m.count = n;
	m.inner = 1;
	m.inner_first = n + 1;
	strcpy(m.gtin, "06901234567892");
	strcpy(m.domain, "YIMA.EXAMPLE.COM");
	strcpy(m.created, "2026-11-23T00:00:00Z");
	memset(m.codes_sha256, 'a', 64);
	memset(m.hmac, 'b', 64);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_batch_import(tx, &m, m.hmac, &created), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
}

/*
 * A group commit of n first scans of cap codes first.. at at.., by the
 * consumers base + i % 5, each claiming, as the writer runs it (ahead:
 * its reads ahead, its writes held). The claims' points go to pts (n);
 * returns the statements it ran.
 */
static uint64_t
claim_batch(uint64_t first, size_t n, int64_t at, int base, int ahead,
    int64_t *pts)
{
	struct api_verdict_cfg vc;
	struct api_scan_in *in;
	const struct api_scan_in **p;
	struct api_scan_out out;
	struct api_reward rew;
	struct yima_tx *tx;
	uint64_t s0;
	size_t i;

	memset(&vc, 0, sizeof(vc));
	api_verdict_defaults(&vc);
	in = calloc(n, sizeof(*in));
	p = calloc(n, sizeof(*p));
	ck_assert(in != NULL && p != NULL);
	for (i = 0; i < n; i++) {
		in[i].at = at + (int64_t)i;
		in[i].valid = 1;
		in[i].code.kind = YIMA_KIND_INNER;
		in[i].code.serial = first + i;
		in[i].located = 1;
		in[i].lat = 31.23;
		in[i].lon = 121.47;
		in[i].accuracy = -1;
		snprintf(in[i].consumer, sizeof(in[i].consumer), "%024x",
		    base + (int)(i % 5));
		strcpy(in[i].client, "192.0.2.7");
		p[i] = &in[i];
	}
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	s0 = api_db_statements();
	if (ahead) {
		ck_assert_int_eq(api_verdict_ahead(tx, p, n), 0);
		ck_assert_int_eq(api_reward_ahead(rw, tx, p, n), 0);
	}
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(api_verdict_record(tx, &vc, &in[i], &out), 0);
		ck_assert_int_eq(out.verdict, YIMA_V_GENUINE);
		ck_assert_int_eq(api_reward_claim(rw, tx, &in[i], &out, &rew),
		    0);
		ck_assert_ptr_null(rew.reason);
		ck_assert_int_gt(rew.claim, 0);
		if (pts != NULL)
			pts[i] = rew.points;
	}
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	s0 = api_db_statements() - s0;
	free(in);
	free(p);
	return s0;
}

/*
 * Claims read ahead and held are the claims made one by one: the same
 * points (tiers from the growth before each claim, with movements at the
 * window's very edges), balances and ledger. And a batch of them costs
 * the statements of one (PostgreSQL; SQLite writes each claim's rows).
 */
START_TEST(test_claims_ahead)
{
	struct yima_campaign c;
	struct yima_movement m;
	struct yima_tx *tx;
	int64_t a[40], b[40], first = 0, last = 0;
	int64_t days = (int64_t)rcfg.tier_days * DAY;
	uint64_t one, many, per;
	int i, k, r;

	engine_import(1000);
	campaign_init(&c, 100);
	campaign_put(&c);
	/* The same past for consumers 0x100.. and 0x200..: a credit at the
	 * window's start edge, one inside, one at its end edge. */
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	for (k = 0; k < 2; k++)
		for (i = 0; i < 5; i++) {
			memset(&m, 0, sizeof(m));
			snprintf(m.account, sizeof(m.account), "consumer:%024x",
			    0x100 * (k + 1) + i);
			strcpy(m.kind, "commission");	/* (no claim) */
			strcpy(m.unit, "points");
			m.amount = 150;
			m.at = T0 - days + 2 + i;
			ck_assert_int_eq(yima_tx_ledger_add(tx, &m, 0, NULL), 0);
			m.amount = 200;
			m.at = T0 - 100 * DAY;
			ck_assert_int_eq(yima_tx_ledger_add(tx, &m, 0, NULL), 0);
			m.amount = 40;
			m.at = T0 + 30;
			ck_assert_int_eq(yima_tx_ledger_add(tx, &m, 0, NULL), 0);
		}
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	/* Two rounds: 40 claims each, read ahead (0x100) or not (0x200). */
	for (r = 0; r < 2; r++) {
		claim_batch(1001 + 80 * (uint64_t)r, 40, T0 + 1000 * r, 0x100, 1,
		    a);
		claim_batch(1041 + 80 * (uint64_t)r, 40, T0 + 1000 * r, 0x200, 0,
		    b);
		for (i = 0; i < 40; i++)
			ck_assert_msg(a[i] == b[i], "round %d claim %d: %lld "
			    "points read ahead, %lld one by one", r, i,
			    (long long)a[i], (long long)b[i]);
		if (r == 0) {
			first = a[0];
			last = a[39];
		}
	}
	ck_assert_int_lt(first, last);	/* tiers did change */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(edb_int("SELECT amount FROM balances WHERE"
		    " account = 'consumer:%024x' AND unit = 'points'", 0x100 + i),
		    edb_int("SELECT amount FROM balances WHERE account ="
		    " 'consumer:%024x' AND unit = 'points'", 0x200 + i));
	ck_assert_int_eq(ledger_ok(), 30 + 160);	/* a movement a claim */
	/* Statements: a batch of 1 and of 150. */
	per = engine_pg ? 0 : 5;	/* SQLite: scan, state, claim, 2 ledger */
	one = claim_batch(1161, 1, T0 + 5000, 0x300, 1, NULL);
	many = claim_batch(1162, 150, T0 + 6000, 0x300, 1, NULL);
	ck_assert_msg(many == one + 149 * per, "a batch of 1 claim ran %llu "
	    "statements, of 150 %llu", (unsigned long long)one,
	    (unsigned long long)many);
	ledger_ok();
}
END_TEST

START_TEST(test_pool_empty)
{
	struct yima_campaign c;
	struct api_reward rew;
	char cid[25];
	int i, won = 0;

	campaign_init(&c, 0);
	prize_add(&c, "red packet", YIMA_PRIZE_CASH, 100, 10, 1.0);
	campaign_put(&c);
	for (i = 0; i < 30; i++) {
		snprintf(cid, sizeof(cid), "%024d", i);
		claim((uint64_t)i + 1, cid, T0 + i, &rew);
		if (rew.reason == NULL) {
			ck_assert_int_eq(rew.type, YIMA_PRIZE_CASH);
			won++;
		} else
			ck_assert_str_eq(rew.reason, "pool_empty");
	}
	ck_assert_int_eq(won, 10);
	ck_assert_int_eq(edb_int("SELECT remaining FROM prizes"), 0);
	ck_assert_int_eq(edb_int("SELECT COUNT(*) FROM claims"
	    " WHERE status = 'pool_empty'"), 20);
	ledger_ok();
}
END_TEST

/* The budget pays up to itself exactly, then says budget_exhausted. */
START_TEST(test_budget)
{
	struct yima_campaign c;
	struct api_reward rew;
	char cid[25];
	int i, won = 0;

	campaign_init(&c, 0);
	c.budget = 5000;
	prize_add(&c, "red packet", YIMA_PRIZE_CASH, 1000, 100, 1.0);
	campaign_put(&c);
	for (i = 0; i < 8; i++) {
		snprintf(cid, sizeof(cid), "%024d", i);
		claim((uint64_t)i + 1, cid, T0 + i, &rew);
		if (i < 5) {
			ck_assert_ptr_null(rew.reason);
			won++;
		} else
			ck_assert_str_eq(rew.reason, "budget_exhausted");
	}
	ck_assert_int_eq(won, 5);
	ck_assert_int_eq(edb_int("SELECT spent FROM campaigns"), 5000);
	/* A prize not paid for went back to the pool. */
	ck_assert_int_eq(edb_int("SELECT remaining FROM prizes"), 95);
	ledger_ok();
}
END_TEST

/* A daily budget stops a day's payouts; the next day pays again. */
START_TEST(test_daily_budget)
{
	struct yima_campaign c;
	struct api_reward rew;
	char cid[25];
	int i, day, won[2] = { 0, 0 };

	campaign_init(&c, 0);
	c.budget = 100000;
	c.daily_budget = 2500;
	prize_add(&c, "red packet", YIMA_PRIZE_CASH, 1000, 100, 1.0);
	campaign_put(&c);
	for (day = 0; day < 2; day++)
		for (i = 0; i < 4; i++) {
			snprintf(cid, sizeof(cid), "%024d", day * 10 + i);
			claim((uint64_t)(day * 10 + i + 1), cid,
			    T0 + day * DAY + i, &rew);
			if (rew.reason == NULL)
				won[day]++;
			else
				ck_assert_str_eq(rew.reason,
				    "budget_exhausted");
		}
	ck_assert_int_eq(won[0], 2);
	ck_assert_int_eq(won[1], 2);
	ck_assert_int_eq(edb_int("SELECT spent FROM campaigns"), 4000);
	ck_assert_int_eq(edb_int("SELECT MAX(spent) FROM campaign_days"),
	    2000);
	ledger_ok();
}
END_TEST

/* Per-consumer limits: per day, then per campaign. */
START_TEST(test_consumer_limits)
{
	struct yima_campaign c;
	struct api_reward rew;
	int i, granted = 0;

	campaign_init(&c, 10);
	c.per_day = 2;
	c.per_consumer = 3;
	campaign_put(&c);
	for (i = 0; i < 6; i++) {
		/* Three on day 0, three on day 1, one consumer. */
		claim((uint64_t)i + 1, "c1", T0 + (i / 3) * DAY + i, &rew);
		if (rew.reason == NULL)
			granted++;
		else
			ck_assert_str_eq(rew.reason, "limit_reached");
	}
	ck_assert_int_eq(granted, 3);
	ck_assert_int_eq(edb_int("SELECT amount FROM balances"
	    " WHERE account = 'consumer:c1' AND unit = 'points'"), 30);
	ledger_ok();
}
END_TEST

/* Thresholds 0/500/2000/5000 and the multiplier they bring. */
START_TEST(test_tiers)
{
	static const struct { int64_t growth; const char *tier; } t[] = {
		{ 0, "member" }, { 499, "member" }, { 500, "silver" },
		{ 1999, "silver" }, { 2000, "gold" }, { 4999, "gold" },
		{ 5000, "diamond" }, { 1000000, "diamond" },
	};
	struct yima_campaign c;
	struct api_reward rew;
	struct api_member m;
	struct yima_tx *tx;
	const struct api_tier *next;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_str_eq(api_tier_of(&rcfg, t[i].growth, &next)->name,
		    t[i].tier);
	ck_assert_ptr_null(next);
	campaign_init(&c, 100);
	campaign_put(&c);
	/* Five claims of 100 reach silver; the sixth earns 120. */
	for (i = 0; i < 5; i++) {
		claim(i + 1, "c1", T0 + (int64_t)i, &rew);
		ck_assert_int_eq(rew.points, 100);
	}
	ck_assert_str_eq(rew.tier, "silver");
	claim(6, "c1", T0 + 6, &rew);
	ck_assert_int_eq(rew.points, 120);
	ck_assert_int_eq(rew.points_balance, 620);
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(api_member_get(&rcfg, tx, "c1", T0 + 10, &m), 0);
	yima_tx_rollback(tx);
	ck_assert_str_eq(m.tier, "silver");
	ck_assert_int_eq(m.growth, 620);
	ck_assert_str_eq(m.next_tier, "gold");
	ck_assert_int_eq(m.next_at, 2000);
	ledger_ok();
}
END_TEST

/* Growth older than the tier period lapses: the tier with it. */
START_TEST(test_tier_expiry)
{
	struct yima_campaign c;
	struct api_reward rew;
	struct api_member m;
	struct yima_tx *tx;
	int i;

	campaign_init(&c, 300);
	campaign_put(&c);
	/* 600 points 400 days before T0, 300 points 10 days before. */
	for (i = 0; i < 2; i++)
		claim((uint64_t)i + 1, "c1", T0 - 400 * DAY + i, &rew);
	ck_assert_str_eq(rew.tier, "silver");
	claim(3, "c1", T0 - 10 * DAY, &rew);
	/* At claim time the old growth had lapsed: no silver bonus. */
	ck_assert_int_eq(rew.points, 300);
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(api_member_get(&rcfg, tx, "c1", T0, &m), 0);
	ck_assert_int_eq(m.points, 900);	/* points do not lapse */
	ck_assert_int_eq(m.growth, 300);
	ck_assert_str_eq(m.tier, "member");
	ck_assert_int_eq(api_member_get(&rcfg, tx, "c1", T0 - 300 * DAY, &m),
	    0);
	ck_assert_int_eq(m.growth, 600);
	ck_assert_str_eq(m.tier, "silver");
	yima_tx_rollback(tx);
}
END_TEST

START_TEST(test_tiers_parse)
{
	static const char *const bad[] = { "", "a", "a:0", "a:1:1",
	    "a:0:1,b:0:2", "a:0:1,b:500:x", "a:0:-1", "a:0:1,b:400:1,c:300:1",
	    ":0:1", "a:0:1,b:1:1,c:2:1,d:3:1,e:4:1,f:5:1,g:6:1,h:7:1,i:8:1" };
	struct api_reward_cfg cfg;
	char why[YIMA_WHY_MAX];
	size_t i;

	api_reward_defaults(&cfg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		ck_assert_msg(api_tiers_parse(bad[i], &cfg, why) == YIMA_EINVAL,
		    "accepted \"%s\"", bad[i]);
		ck_assert_msg(why[0] != '\0', "no reason for \"%s\"", bad[i]);
	}
	ck_assert_int_eq(cfg.ntiers, 4);	/* unchanged by failures */
	ck_assert_int_eq(api_tiers_parse("basic:0:1,vip:100:3", &cfg, why), 0);
	ck_assert_int_eq(cfg.ntiers, 2);
	ck_assert_str_eq(api_tier_of(&cfg, 100, NULL)->name, "vip");
	ck_assert(api_tier_of(&cfg, 100, NULL)->multiplier == 3.0);
}
END_TEST

START_TEST(test_network_and_time)
{
	static const struct { const char *in, *net; } n[] = {
		{ "203.0.113.77", "203.0.113.0/24" },
		{ "::ffff:198.51.100.9", "198.51.100.0/24" },
		{ "2001:db8:abcd:12::1", "2001:db8:abcd::/48" },
		{ "::1", "::/48" },
	};
	static const struct { const char *s; int64_t ms; } t[] = {
		{ "2026-12-01T00:00:00+08:00", 1796054400000LL },
		{ "2026-11-30T16:00:00Z", 1796054400000LL },
		{ "2026-11-30T16:00:00.250Z", 1796054400250LL },
		{ "2027-02-28T23:59:59-05:30", 1803878999000LL },
		{ "2024-02-29T00:00:00Z", 1709164800000LL },
	};
	static const char *const bad[] = { "2026-12-01", "2026-12-01T00:00:00",
	    "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
	    "2026-12-01T24:00:00Z", "2026-12-01T00:00:00+8:00",
	    "2026-12-01T00:00:00Zjunk", "2026-12-01 00:00:00Z",
	    "2026-12-01T00:00:00.Z" };
	char out[64];
	int64_t ms;
	size_t i;

	for (i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		api_network_of(n[i].in, out, sizeof(out));
		ck_assert_str_eq(out, n[i].net);
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(api_rfc3339_parse(t[i].s, &ms) == 0, "%s",
		    t[i].s);
		ck_assert_msg(ms == t[i].ms, "%s: %lld", t[i].s, (long long)ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(api_rfc3339_parse(bad[i], &ms) == -1,
		    "accepted %s", bad[i]);
}
END_TEST

/* ---- the real server ---- */

static char big[NBIG][25];	/* inner codes of the big batch */
static char big_batch[33];
static char store_tok[64], dealer_tok[64];

static void
server_case_setup(void)
{
	static const char *const prod[] = { "--gtin", GTIN, "--inner", NULL };
	char *dir, *path, *csv, *line, *save, *f;
	int n = 0;

	case_setup();
	dir = mint(T.kr, T.root, "big", "item", NBIG, prod, NULL);
	import(T.db, T.kr, dir);
	read_batch_id(dir, big_batch);
	path = tu_path(dir, "inner.csv");
	ck_assert_ptr_nonnull(csv = tu_read_file(path, NULL));
	line = strtok_r(csv, "\n", &save);	/* the header */
	while ((line = strtok_r(NULL, "\n", &save)) != NULL && n < NBIG) {
		ck_assert_ptr_nonnull(f = strchr(line, ','));
		memcpy(big[n], f + 1, 24);
		big[n][24] = '\0';
		n++;
	}
	ck_assert_int_eq(n, NBIG);
	free(csv);
	free(path);
	free(dir);
	ck_assert_int_gt(token_create(T.db, "dealer", "S-1", store_tok,
	    sizeof(store_tok)), 0);
	ck_assert_int_gt(token_create(T.db, "dealer", "D-1", dealer_tok,
	    sizeof(dealer_tok)), 0);
}

static void
server_case_teardown(void)
{
	case_teardown();
}

/* Runs `yima-scanapi ledger check` on the test's database. */
static int
ledger_check(char **out)
{
	return run(scanapi_bin(), out, NULL, "ledger", "check", "--db", E.db,
	    (char *)NULL);
}

static void
assert_ledger_ok(void)
{
	char *out = NULL;
	int rc = ledger_check(&out);

	ck_assert_msg(rc == 0, "ledger check exited %d: %s", rc, out);
	ck_assert_ptr_nonnull(strstr(out, " 0 problems"));
	free(out);
}

/* Many scans from many threads at once. */
struct crowd {
	const char	*(*code)(int i);	/* the code of request i */
	int		 n;			/* requests */
	atomic_int	 next;
	pthread_barrier_t bar;
	int		*status;
	char		(*reason)[24];		/* "" when rewarded */
	char		(*verdict)[16];
};

static void *
crowd_run(void *arg)
{
	struct crowd *c = arg;
	struct http_req q = { "POST", "/api/v1/scans", "application/json",
	    NULL, NULL, NULL, 0 };
	struct http_resp p;
	char body[96];
	json_t *rew;
	int i;

	pthread_barrier_wait(&c->bar);
	while ((i = atomic_fetch_add(&c->next, 1)) < c->n) {
		snprintf(body, sizeof(body), "{\"code\":\"%s\"}", c->code(i));
		q.body = body;
		c->status[i] = http(E.port, &q, &p);
		rew = json_object_get(p.json, "reward");
		if (json_is_object(rew))
			c->reason[i][0] = '\0';
		else
			snprintf(c->reason[i], sizeof(c->reason[i]), "%s",
			    json_string_value(json_object_get(p.json,
			    "reward_reason")) ? json_string_value(
			    json_object_get(p.json, "reward_reason")) :
			    "null");
		snprintf(c->verdict[i], sizeof(c->verdict[i]), "%s",
		    jstr(p.json, "verdict") ? jstr(p.json, "verdict") : "");
		http_free(&p);
	}
	return NULL;
}

/* n requests over threads; with all_ok every one must be answered 200. */
static void
crowd(struct crowd *c, const char *(*code)(int), int n, int threads,
    int all_ok)
{
	pthread_t th[64];
	int i;

	ck_assert_int_le(threads, 64);
	memset(c, 0, sizeof(*c));
	c->code = code;
	c->n = n;
	c->status = calloc((size_t)n, sizeof(*c->status));
	c->reason = calloc((size_t)n, sizeof(*c->reason));
	c->verdict = calloc((size_t)n, sizeof(*c->verdict));
	ck_assert(c->status && c->reason && c->verdict);
	ck_assert_int_eq(pthread_barrier_init(&c->bar, NULL,
	    (unsigned)threads), 0);
	for (i = 0; i < threads; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, crowd_run, c), 0);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&c->bar);
	for (i = 0; all_ok && i < n; i++)
		ck_assert_msg(c->status[i] == 200, "request %d: status %d", i,
		    c->status[i]);
}

static void
crowd_free(struct crowd *c)
{
	free(c->status);
	free(c->reason);
	free(c->verdict);
}

static const char *
code_0(int i)
{
	(void)i;
	return big[0];
}

static const char *
code_i(int i)
{
	return big[i % NBIG];
}

static const char lottery[] = "{\"name\":\"CNY lottery\","
    "\"start\":\"2026-01-01T00:00:00+08:00\","
    "\"end\":\"2030-02-28T23:59:59+08:00\","
    "\"gtins\":[\"" GTIN "\"],\"points\":10,"
    "\"prizes\":[{\"name\":\"红包 8.88\",\"type\":\"cash\",\"amount\":888,"
    "\"count\":1000,\"probability\":0.5}]}";

/* 64 claims of one code at once: one genuine, one reward. */
START_TEST(test_claim_race)
{
	struct crowd c;
	int i, rewarded = 0, genuine = 0;

	srv_start(open_flags);
	campaign(lottery);
	crowd(&c, code_0, NRACE, NRACE, 1);
	for (i = 0; i < NRACE; i++) {
		if (c.reason[i][0] == '\0')
			rewarded++;
		if (strcmp(c.verdict[i], "genuine") == 0) {
			genuine++;
			ck_assert_msg(c.reason[i][0] == '\0', "the genuine "
			    "scan got no reward: %s", c.reason[i]);
		} else
			ck_assert_str_eq(c.reason[i], "null");
	}
	ck_assert_int_eq(genuine, 1);
	ck_assert_int_eq(rewarded, 1);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM claims"), 1);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM ledger WHERE kind ="
	    " 'claim'"), 1);
	crowd_free(&c);
	srv_stop();
	assert_ledger_ok();
}
END_TEST

/* A pool of 10 prizes under 1,000 concurrent claims of 1,000 codes. */
START_TEST(test_pool_race)
{
	struct crowd c;
	int i, won = 0, empty = 0;

	srv_start(open_flags);
	campaign("{\"name\":\"ten\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"prizes\":[{\"name\":\"top\","
	    "\"type\":\"cash\",\"amount\":10000,\"count\":10,"
	    "\"probability\":1}]}");
	crowd(&c, code_i, NBIG, 32, 1);
	for (i = 0; i < NBIG; i++) {
		ck_assert_str_eq(c.verdict[i], "genuine");
		if (c.reason[i][0] == '\0')
			won++;
		else if (strcmp(c.reason[i], "pool_empty") == 0)
			empty++;
	}
	ck_assert_int_eq(won, 10);
	ck_assert_int_eq(empty, NBIG - 10);
	ck_assert_int_eq(db_int("SELECT remaining FROM prizes"), 0);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM payouts"), 10);
	ck_assert_int_eq(db_int("SELECT spent FROM campaigns"), 100000);
	crowd_free(&c);
	srv_stop();
	assert_ledger_ok();
}
END_TEST

/* A script with 1,000 leaked codes from one network gets 200 rewards. */
START_TEST(test_leaked_codes)
{
	struct crowd c;
	int i, won = 0, limited = 0;

	srv_start(open_flags);
	campaign("{\"name\":\"leak\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"points\":5,"
	    "\"limits\":{\"per_network_per_hour\":200}}");
	crowd(&c, code_i, NBIG, 16, 1);
	for (i = 0; i < NBIG; i++) {
		if (c.reason[i][0] == '\0')
			won++;
		else {
			ck_assert_str_eq(c.reason[i], "rate_limited");
			limited++;
		}
	}
	ck_assert_int_eq(won, 200);
	ck_assert_int_eq(limited, NBIG - 200);
	/* Every refusal is on record with its reason and network. */
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM claims WHERE status ="
	    " 'rate_limited' AND network = '127.0.0.0/24'"), NBIG - 200);
	crowd_free(&c);
	srv_stop();
	assert_ledger_ok();
}
END_TEST

/* Scans code as cid (NULL: a new consumer); the answer in p. */
static void
scan_ok2(const char *code, const char *cid, struct http_resp *p)
{
	ck_assert_msg(scan(code, cid, p) == 200, "scan: %d %s", p->status,
	    p->body);
}

struct bad_campaign {
	const char	*json;
	const char	*field;		/* named in the message */
};

#define CSTART "\"start\":\"2026-01-01T00:00:00Z\""
#define CEND "\"end\":\"2027-01-01T00:00:00Z\""

static const struct bad_campaign bad_campaigns[] = {
	{ "{" CSTART "," CEND "}", "\"name\"" },
	{ "{\"name\":\"\"," CSTART "," CEND "}", "\"name\"" },
	{ "{\"name\":\"x\",\"start\":\"2026-01-01\"," CEND "}", "\"start\"" },
	{ "{\"name\":\"x\"," CSTART ",\"end\":\"2025-01-01T00:00:00Z\"}",
	    "\"end\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"gtins\":[\"123\"]}",
	    "\"gtins\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"gtins\":\"" GTIN "\"}",
	    "\"gtins\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"regions\":[\"4\"]}",
	    "\"regions\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"claim_kind\":\"box\"}",
	    "\"claim_kind\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"points\":-1}", "\"points\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"points\":1.5}", "\"points\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"budget_cents\":\"9\"}",
	    "\"budget_cents\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"daily_budget_cents\":-5}",
	    "\"daily_budget_cents\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"limits\":[]}", "\"limits\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"limits\":"
	    "{\"per_consumer\":-1}}", "\"limits.per_consumer\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"prizes\":[{\"name\":\"a\","
	    "\"type\":\"gold\",\"amount\":1,\"count\":1,\"probability\":0.1}]}",
	    "\"prizes[0].type\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"prizes\":[{\"name\":\"a\","
	    "\"type\":\"cash\",\"amount\":0,\"count\":1,\"probability\":0.1}]}",
	    "\"prizes[0].amount\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"prizes\":[{\"name\":\"a\","
	    "\"type\":\"cash\",\"amount\":1,\"count\":1,\"probability\":0.6},"
	    "{\"name\":\"b\",\"type\":\"cash\",\"amount\":1,\"count\":1,"
	    "\"probability\":0.6}]}", "\"prizes\"" },
	{ "{\"name\":\"x\"," CSTART "," CEND ",\"prizes\":[{\"name\":\"a\","
	    "\"type\":\"points\",\"amount\":1,\"probability\":0.1}]}",
	    "\"prizes[0].count\"" },
};

START_TEST(test_campaign_api)
{
	struct http_resp p;
	json_error_t jerr;
	long long id;
	size_t i;
	char path[64], *fp, *fp2;

	srv_start(open_flags);
	for (i = 0; i < sizeof(bad_campaigns) / sizeof(bad_campaigns[0]);
	    i++) {
		call("POST", "/api/v1/admin/campaigns", T.admin,
		    json_loads(bad_campaigns[i].json, 0, &jerr), &p);
		assert_error(&p, 400, bad_campaigns[i].json);
		ck_assert_msg(strstr(jstr(p.json, "error.message"),
		    bad_campaigns[i].field) != NULL, "%s: message %s does not "
		    "name %s", bad_campaigns[i].json, jstr(p.json,
		    "error.message"), bad_campaigns[i].field);
		http_free(&p);
	}
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM campaigns"), 0);
	/* Only an admin: no token 401, ops and dealers 403. */
	refused("POST", "/api/v1/admin/campaigns", NULL, json_loads(lottery, 0,
	    NULL), 401, "no token");
	refused("POST", "/api/v1/admin/campaigns", T.ops, json_loads(lottery, 0,
	    NULL), 403, "ops");
	refused("GET", "/api/v1/admin/campaigns", dealer_tok, NULL, 403,
	    "dealer");
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM campaigns"), 0);
	/* The contract's example, as given. */
	id = campaign("{\"name\":\"CNY lottery\",\"start\":"
	    "\"2026-12-01T00:00:00+08:00\",\"end\":\"2027-02-28T23:59:59+08:00\","
	    "\"gtins\":[\"06901234567892\"],\"regions\":[\"44\"],"
	    "\"claim_kind\":\"inner\",\"points\":10,\"budget_cents\":1000000,"
	    "\"daily_budget_cents\":100000,\"limits\":{\"per_consumer_per_day\":"
	    "3,\"per_consumer\":20,\"per_network_per_hour\":200},\"prizes\":"
	    "[{\"name\":\"红包 8.88\",\"type\":\"cash\",\"amount\":888,"
	    "\"count\":1000,\"probability\":0.05},{\"name\":\"再来一瓶\","
	    "\"type\":\"voucher\",\"amount\":1,\"count\":500,"
	    "\"probability\":0.02}]}");
	snprintf(path, sizeof(path), "/api/v1/admin/campaigns/%lld", id);
	ck_assert_int_eq(call("GET", path, T.admin, NULL, &p), 200);
	ck_assert_str_eq(jstr(p.json, "start"), "2026-11-30T16:00:00.000Z");
	ck_assert_str_eq(jstr(p.json, "status"), "active");
	ck_assert_int_eq(jint(p.json, "limits.per_network_per_hour"), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "prizes")), 2);
	ck_assert_int_eq(jint(json_array_get(jget(p.json, "prizes"), 1),
	    "remaining"), 500);
	http_free(&p);
	/* Pause, resume, end; ending is final. */
	fp = db_fingerprint();
	call("PATCH", path, T.admin, json_pack("{s:s}", "status", "over"),
	    &p);
	assert_error(&p, 400, "bad status");
	ck_assert_ptr_nonnull(strstr(jstr(p.json, "error.message"),
	    "\"status\""));
	http_free(&p);
	ck_assert_int_eq(call("PATCH", path, T.admin, json_pack("{s:s}",
	    "status", "paused"), &p), 200);
	ck_assert_str_eq(jstr(p.json, "status"), "paused");
	http_free(&p);
	ck_assert_int_eq(call("PATCH", path, T.admin, json_pack("{s:s}",
	    "status", "ended"), &p), 200);
	http_free(&p);
	call("PATCH", path, T.admin, json_pack("{s:s}", "status", "active"),
	    &p);
	assert_error(&p, 409, "reopen");
	http_free(&p);
	refused("PATCH", "/api/v1/admin/campaigns/999", T.admin,
	    json_pack("{s:s}", "status", "paused"), 404, "unknown campaign");
	refused("GET", "/api/v1/admin/campaigns/x1", T.admin, NULL, 404,
	    "bad id");
	ck_assert_int_eq(call("GET", "/api/v1/admin/campaigns", T.admin, NULL,
	    &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "campaigns")), 1);
	http_free(&p);
	fp2 = db_fingerprint();
	ck_assert_str_eq(fp, fp2);
	free(fp);
	free(fp2);
	srv_stop();
}
END_TEST

/* Scope: paused campaigns, outer codes, other GTINs, regions. */
START_TEST(test_scope)
{
	struct http_resp p;
	char path[64];
	long long id;

	srv_start(open_flags);
	/* No campaign at all: a cap code is told so. */
	scan_ok2(big[0], NULL, &p);
	ck_assert(json_is_null(jget(p.json, "reward")));
	ck_assert_str_eq(jstr(p.json, "reward_reason"), "no_campaign");
	http_free(&p);
	id = campaign("{\"name\":\"south\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"points\":7,\"gtins\":[\"" GTIN
	    "\"],\"regions\":[\"440000\"]}");
	/* Beijing is outside Guangdong; an unlocated scan too. */
	ck_assert_int_eq(scan_at(big[1], NULL, 39.9042, 116.4074, &p), 200);
	ck_assert_str_eq(jstr(p.json, "reward_reason"), "out_of_region");
	http_free(&p);
	scan_ok2(big[2], NULL, &p);
	ck_assert_str_eq(jstr(p.json, "reward_reason"), "out_of_region");
	http_free(&p);
	ck_assert_int_eq(scan_at(big[3], NULL, 23.1291, 113.2644, &p), 200);
	ck_assert_str_eq(jstr(p.json, "reward.type"), "points");
	ck_assert_int_eq(jint(p.json, "reward.amount"), 7);
	ck_assert_int_eq(jint(p.json, "reward.points_balance"), 7);
	ck_assert_str_eq(jstr(p.json, "reward.tier"), "member");
	http_free(&p);
	/* A repeat never claims; an outer code points to the cap. */
	ck_assert_int_eq(scan_at(big[3], NULL, 23.1291, 113.2644, &p), 200);
	ck_assert_str_eq(jstr(p.json, "verdict"), "repeat");
	ck_assert(json_is_null(jget(p.json, "reward")));
	http_free(&p);
	ck_assert_int_eq(scan_at(T.b1.codes[0], NULL, 23.1291, 113.2644, &p),
	    200);
	ck_assert_str_eq(jstr(p.json, "verdict"), "genuine");
	ck_assert_str_eq(jstr(p.json, "reward_reason"),
	    "inner_code_required");
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/admin/campaigns/%lld", id);
	ck_assert_int_eq(call("PATCH", path, T.admin, json_pack("{s:s}",
	    "status", "paused"), &p), 200);
	http_free(&p);
	ck_assert_int_eq(scan_at(big[4], NULL, 23.1291, 113.2644, &p), 200);
	ck_assert_str_eq(jstr(p.json, "reward_reason"), "no_campaign");
	http_free(&p);
	/* The small inner batch has no GTIN: out of this campaign. */
	ck_assert_int_eq(call("PATCH", path, T.admin, json_pack("{s:s}",
	    "status", "active"), &p), 200);
	http_free(&p);
	scan_ok2(T.inner.codes[0], NULL, &p);
	ck_assert_str_eq(jstr(p.json, "reward_reason"), "no_campaign");
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM claims WHERE status ="
	    " 'granted'"), 1);
	srv_stop();
	assert_ledger_ok();
}
END_TEST

static long long
balance(const char *account, const char *unit)
{
	long long v = db_int("SELECT amount FROM balances WHERE account = '%s'"
	    " AND unit = '%s'", account, unit);

	return v < 0 ? 0 : v;
}

/* "Another bottle": a voucher a store redeems once. */
START_TEST(test_voucher)
{
	struct http_resp p;
	char path[96], vid[21], cid[128];

	srv_start(open_flags);
	dealer_add("S-1", "store", NULL, NULL);
	dealer_add("D-1", "dealer", NULL, NULL);
	campaign("{\"name\":\"bottle\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"prizes\":[{\"name\":"
	    "\"再来一瓶\",\"type\":\"voucher\",\"amount\":1,\"count\":5,"
	    "\"probability\":1}]}");
	scan_ok2(big[0], NULL, &p);
	ck_assert_str_eq(jstr(p.json, "reward.type"), "voucher");
	ck_assert_int_eq(jint(p.json, "reward.amount"), 1);
	ck_assert_ptr_nonnull(jstr(p.json, "reward.voucher"));
	ck_assert_uint_eq(strlen(jstr(p.json, "reward.voucher")), 20);
	snprintf(vid, sizeof(vid), "%s", jstr(p.json, "reward.voucher"));
	snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/vouchers/%s/redeem", vid);
	/* Not a store, not a dealer, no token: refused, nothing changes. */
	refused("POST", path, dealer_tok, NULL, 403,
	    "a dealer that is not a store");
	refused("POST", path, T.admin, NULL, 403, "admin");
	refused("POST", path, NULL, NULL, 401, "no token");
	refused("POST", "/api/v1/vouchers/AAAAAAAAAAAAAAAAAAAA/redeem",
	    store_tok, NULL, 404, "unknown voucher");
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM vouchers"
	    " WHERE redeemed_at IS NOT NULL"), 0);
	ck_assert_int_eq(call("POST", path, store_tok, NULL, &p), 200);
	ck_assert_str_eq(jstr(p.json, "store"), "S-1");
	ck_assert_int_eq(jint(p.json, "bottles"), 1);
	http_free(&p);
	call("POST", path, store_tok, NULL, &p);
	assert_error(&p, 409, "twice");
	ck_assert_str_eq(jstr(p.json, "error.code"), "already_redeemed");
	http_free(&p);
	ck_assert_int_eq(balance("store:S-1", "bottles"), 1);
	snprintf(path, sizeof(path), "consumer:%.24s", cid);
	ck_assert_int_eq(balance(path, "bottles"), 0);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM ledger"
	    " WHERE kind = 'reimbursement'"), 1);
	srv_stop();
	assert_ledger_ok();
}
END_TEST

/* A consumer brought by a salesperson: commission once per claim. */
START_TEST(test_commission)
{
	struct http_resp p;
	char acct[64], cid[128];

	srv_start(open_flags);
	dealer_add("S-1", "store", NULL, NULL);
	ck_assert_msg(call("POST", "/api/v1/admin/channels", T.admin,
	    json_pack("{s:s,s:s,s:s,s:s}", "code", T.ch.codes[0], "dealer",
	    "S-1", "name", "Ms Li", "type", "staff"), &p) == 201,
	    "channel: %d %s", p.status, p.body);
	http_free(&p);
	campaign("{\"name\":\"c\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"points\":10,"
	    "\"commission\":3}");
	/* Without a channel: no commission. */
	scan_ok2(big[0], NULL, &p);
	ck_assert_int_eq(jint(p.json, "reward.points"), 10);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM ledger"
	    " WHERE kind = 'commission'"), 0);
	scan_ok2(T.ch.codes[0], NULL, &p);
	snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
	http_free(&p);
	scan_ok2(big[1], cid, &p);
	ck_assert_str_eq(jstr(p.json, "channel.type"), "staff");
	ck_assert_int_eq(jint(p.json, "reward.points"), 10);
	http_free(&p);
	/* The same code again, and by another consumer: no more. */
	scan_ok2(big[1], cid, &p);
	ck_assert(json_is_null(jget(p.json, "reward")));
	http_free(&p);
	scan_ok2(big[1], NULL, &p);
	http_free(&p);
	scan_ok2(big[2], cid, &p);
	ck_assert_int_eq(jint(p.json, "reward.points"), 10);
	http_free(&p);
	snprintf(acct, sizeof(acct), "channel:%lld", T.ch.serials[0]);
	ck_assert_int_eq(balance(acct, "points"), 6);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM ledger"
	    " WHERE kind = 'commission'"), 2);
	srv_stop();
	assert_ledger_ok();
}
END_TEST

/*
 * Held claims reviewed: released, one earns its campaign's points (the
 * ledger agrees); rejected, one earns nothing; each once, with a reason,
 * by an admin only.
 */
START_TEST(test_claim_review)
{
	struct http_resp p;
	char cid[128], path[96], acct[64];
	long long held[2];
	int i;

	srv_start(open_flags);
	campaign("{\"name\":\"f\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"points\":10}");
	ck_assert_int_eq(scan_at(big[0], NULL, 39.9042, 116.4074, &p), 200);
	snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
	http_free(&p);
	/* Guangzhou, then Beijing, moments later: both held. */
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(scan_at(big[1 + i], cid, i ? 39.9042 : 23.1291,
		    i ? 116.4074 : 113.2644, &p), 200);
		ck_assert_str_eq(jstr(p.json, "reward_reason"), "held");
		http_free(&p);
	}
	ck_assert_int_eq(call("GET", "/api/v1/admin/claims?status=held",
	    T.admin, NULL, &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "claims")), 2);
	held[0] = jint(p.json, "claims.1.id");
	held[1] = jint(p.json, "claims.0.id");
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/admin/claims/%lld/release",
	    held[0]);
	refused("POST", path, T.admin, json_pack("{s:s}", "reason", ""), 400,
	    "no reason");
	refused("POST", path, T.dealer, json_pack("{s:s}", "reason", "ok"), 403,
	    "a dealer reviews");
	snprintf(acct, sizeof(acct), "consumer:%.24s", cid);
	ck_assert_int_eq(balance(acct, "points"), 10);
	ck_assert_int_eq(call("POST", path, T.admin, json_pack("{s:s}",
	    "reason", "they took a train; receipt seen"), &p), 200);
	ck_assert_str_eq(jstr(p.json, "status"), "granted");
	ck_assert_int_eq(jint(p.json, "points"), 10);
	http_free(&p);
	ck_assert_int_eq(balance(acct, "points"), 20);
	refused("POST", path, T.admin, json_pack("{s:s}", "reason", "again"),
	    409, "released twice");
	snprintf(path, sizeof(path), "/api/v1/admin/claims/%lld/reject",
	    held[1]);
	ck_assert_int_eq(call("POST", path, T.admin, json_pack("{s:s}",
	    "reason", "shared code"), &p), 200);
	ck_assert_str_eq(jstr(p.json, "status"), "rejected");
	ck_assert_int_eq(jint(p.json, "points"), 0);
	http_free(&p);
	ck_assert_int_eq(balance(acct, "points"), 20);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM claims WHERE review ="
	    " 'shared code' AND reviewed_by LIKE '%%token%%'"), 1);
	refused("POST", "/api/v1/admin/claims/99999/reject", T.admin,
	    json_pack("{s:s}", "reason", "x"), 404, "no such claim");
	srv_stop();
	assert_ledger_ok();
}
END_TEST

/* The claims the scan report counts today, and the channel funnel's buyers. */
static void
counts_now(long long *claims, long long *claimed, long long *commission)
{
	struct http_resp p;
	json_t *o;
	size_t i;

	*claims = 0;
	ck_assert_int_eq(call("GET", "/api/v1/reports/scans?by=day", T.admin,
	    NULL, &p), 200);
	json_array_foreach(jget(p.json, "rows"), i, o)
		*claims += jint(o, "claims");
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/reports/channels", T.admin,
	    NULL, &p), 200);
	*claimed = jint(p.json, "funnel.claimed");
	*commission = 0;
	json_array_foreach(jget(p.json, "rows"), i, o)
		*commission += jint(o, "commission_points");
	http_free(&p);
}

/*
 * A released claim does what its scan would have done: the scan report
 * counts it, and the store the consumer came by earns its commission and
 * counts a buyer in its funnel.
 */
START_TEST(test_release_counts)
{
	struct http_resp p;
	char cid[128], path[96], acct[64];
	long long claims, claimed, paid, id;

	srv_start(open_flags);
	dealer_add("S-2", "store", NULL, NULL);
	ck_assert_int_eq(call("POST", "/api/v1/admin/channels", T.admin,
	    json_pack("{s:s,s:s,s:s,s:s}", "code", T.ch.codes[0], "dealer",
	    "S-2", "name", "counter", "type", "store"), &p), 201);
	http_free(&p);
	campaign("{\"name\":\"r\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"points\":10,"
	    "\"commission\":4}");
	/* Beijing, before the store: granted, no channel. */
	ck_assert_int_eq(scan_at(big[0], NULL, 39.9042, 116.4074, &p), 200);
	snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
	http_free(&p);
	scan_ok2(T.ch.codes[0], cid, &p);
	http_free(&p);
	/* Guangzhou moments later, brought by the store: held. */
	ck_assert_int_eq(scan_at(big[1], cid, 23.1291, 113.2644, &p), 200);
	ck_assert_str_eq(jstr(p.json, "reward_reason"), "held");
	http_free(&p);
	counts_now(&claims, &claimed, &paid);
	ck_assert_int_eq(claims, 1);
	ck_assert_int_eq(claimed, 0);
	ck_assert_int_eq(paid, 0);
	snprintf(acct, sizeof(acct), "channel:%lld", T.ch.serials[0]);
	ck_assert_int_eq(balance(acct, "points"), 0);
	ck_assert_int_eq(call("GET", "/api/v1/admin/claims?status=held",
	    T.admin, NULL, &p), 200);
	id = jint(p.json, "claims.0.id");
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/admin/claims/%lld/release", id);
	ck_assert_int_eq(call("POST", path, T.admin, json_pack("{s:s}",
	    "reason", "a flight; ticket seen"), &p), 200);
	http_free(&p);
	counts_now(&claims, &claimed, &paid);
	ck_assert_int_eq(claims, 2);
	ck_assert_int_eq(claimed, 1);
	ck_assert_int_eq(paid, 4);
	ck_assert_int_eq(balance(acct, "points"), 4);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM ledger WHERE kind ="
	    " 'commission' AND claim = %lld", id), 1);
	/* Another bottle in Guangzhou: granted, a repeat buyer of the store
	 * the release made a buyer, and commission once more. */
	ck_assert_int_eq(scan_at(big[2], cid, 23.1291, 113.2644, &p), 200);
	ck_assert_ptr_nonnull(jget(p.json, "reward.points"));
	http_free(&p);
	counts_now(&claims, &claimed, &paid);
	ck_assert_int_eq(claims, 3);
	ck_assert_int_eq(claimed, 1);
	ck_assert_int_eq(paid, 8);
	ck_assert_int_eq(call("GET", "/api/v1/reports/channels", T.admin,
	    NULL, &p), 200);
	ck_assert_int_eq(jint(p.json, "funnel.repeat_buyers"), 1);
	http_free(&p);
	srv_stop();
	assert_ledger_ok();
}
END_TEST

/* Impossible travel is held; frozen consumers and batches win nothing. */
START_TEST(test_antifraud)
{
	struct http_resp p;
	char cid[128];
	int i;

	srv_start(open_flags);
	campaign("{\"name\":\"f\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"points\":10}");
	ck_assert_int_eq(scan_at(big[0], NULL, 39.9042, 116.4074, &p), 200);
	ck_assert_ptr_nonnull(jget(p.json, "reward.points"));
	snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
	http_free(&p);
	/* Guangzhou a moment later: ~1,900 km. */
	ck_assert_int_eq(scan_at(big[1], cid, 23.1291, 113.2644, &p), 200);
	ck_assert_str_eq(jstr(p.json, "verdict"), "genuine");
	ck_assert_str_eq(jstr(p.json, "reward_reason"), "held");
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/admin/claims?status=held",
	    T.admin, NULL, &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "claims")), 1);
	ck_assert_int_eq(strncmp(jstr(json_array_get(jget(p.json, "claims"),
	    0), "consumer"), cid, 24), 0);
	http_free(&p);
	refused("GET", "/api/v1/admin/claims?status=held", T.ops, NULL, 403,
	    "claims by ops");
	refused("GET", "/api/v1/admin/claims?limit=0", T.admin, NULL, 400,
	    "limit 0");
	/* Freeze the consumer (by the signed id); thaw; freeze the batch. */
	refused("POST", "/api/v1/admin/freezes", T.admin, json_pack("{s:s}",
	    "consumer", "nobody"), 400, "bad consumer");
	refused("POST", "/api/v1/admin/freezes", T.admin, json_pack("{s:s,s:s}",
	    "consumer", cid, "batch", "x"), 400, "both");
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM freezes"), 0);
	ck_assert_int_eq(call("POST", "/api/v1/admin/freezes", T.admin,
	    json_pack("{s:s,s:s}", "consumer", cid, "reason", "review"), &p),
	    200);
	http_free(&p);
	ck_assert_int_eq(scan_at(big[2], cid, 39.9042, 116.4074, &p), 200);
	ck_assert_str_eq(jstr(p.json, "reward_reason"), "frozen");
	http_free(&p);
	ck_assert_int_eq(call("POST", "/api/v1/admin/freezes", T.admin,
	    json_pack("{s:s,s:b}", "consumer", cid, "frozen", 0), &p), 200);
	http_free(&p);
	ck_assert_int_eq(scan_at(big[3], cid, 39.9042, 116.4074, &p), 200);
	ck_assert_ptr_nonnull(jget(p.json, "reward.points"));
	http_free(&p);
	ck_assert_int_eq(call("POST", "/api/v1/admin/freezes", T.admin,
	    json_pack("{s:s}", "batch", big_batch), &p), 200);
	http_free(&p);
	for (i = 4; i < 6; i++) {
		scan_ok2(big[i], NULL, &p);
		ck_assert_str_eq(jstr(p.json, "reward_reason"), "frozen");
		http_free(&p);
	}
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM claims WHERE status ="
	    " 'frozen'"), 3);
	srv_stop();
	assert_ledger_ok();
}
END_TEST

/* Cash prizes listed for the payment system, marked paid once. */
START_TEST(test_payouts)
{
	struct http_resp p;
	const char *csv, *nl;
	long long id1, id2, id3;
	int i;

	srv_start(open_flags);
	campaign("{\"name\":\"cash\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"prizes\":[{\"name\":\"rp\","
	    "\"type\":\"cash\",\"amount\":888,\"count\":3,\"probability\":1}]}");
	for (i = 0; i < 3; i++) {
		scan_ok2(big[i], NULL, &p);
		ck_assert_str_eq(jstr(p.json, "reward.type"), "cash");
		http_free(&p);
	}
	ck_assert_int_eq(call("GET", "/api/v1/admin/payouts?status=pending"
	    "&format=csv", T.admin, NULL, &p), 200);
	ck_assert_ptr_nonnull(strstr(p.raw, "Content-Type: text/csv"));
	csv = p.body;
	ck_assert_int_eq(strncmp(csv, "id,claim,campaign,consumer,cents,"
	    "created_at,paid_at\r\n", 50), 0);
	for (i = 0, nl = csv; (nl = strstr(nl, "\r\n")) != NULL; nl += 2)
		i++;
	ck_assert_int_eq(i, 4);		/* the header and three rows */
	ck_assert_ptr_nonnull(strstr(csv, ",888,"));
	http_free(&p);
	/* Text through the CSV helper, numbers as they are: it parses. */
	ck_assert_int_eq(csv_check("/api/v1/admin/payouts?format=csv",
	    T.admin, "nnntntt", NULL, 0), 0);
	ck_assert_int_eq(call("GET", "/api/v1/admin/payouts", T.admin, NULL,
	    &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "payouts")), 3);
	id1 = jint(json_array_get(jget(p.json, "payouts"), 0), "id");
	id2 = jint(json_array_get(jget(p.json, "payouts"), 1), "id");
	http_free(&p);
	refused("GET", "/api/v1/admin/payouts?status=owed", T.admin, NULL, 400,
	    "bad status");
	refused("GET", "/api/v1/admin/payouts", T.ops, NULL, 403, "ops");
	/* An unknown id in the list: nothing is marked. */
	call("POST", "/api/v1/admin/payouts/mark-paid", T.admin,
	    json_pack("{s:[I,I]}", "ids", (json_int_t)id1, (json_int_t)999),
	    &p);
	assert_error(&p, 404, "unknown payout");
	http_free(&p);
	refused("POST", "/api/v1/admin/payouts/mark-paid", T.admin,
	    json_pack("{s:[s]}", "ids", "1"), 400, "string id");
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM payouts"
	    " WHERE paid_at IS NOT NULL"), 0);
	ck_assert_int_eq(call("POST", "/api/v1/admin/payouts/mark-paid",
	    T.admin, json_pack("{s:[I,I]}", "ids", (json_int_t)id1,
	    (json_int_t)id2), &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "paid")), 2);
	http_free(&p);
	/* Named twice in one list: paid once, not also "already". */
	ck_assert_int_eq(call("GET", "/api/v1/admin/payouts?status=pending",
	    T.admin, NULL, &p), 200);
	id3 = jint(json_array_get(jget(p.json, "payouts"), 0), "id");
	http_free(&p);
	ck_assert_int_eq(call("POST", "/api/v1/admin/payouts/mark-paid",
	    T.admin, json_pack("{s:[I,I]}", "ids", (json_int_t)id3,
	    (json_int_t)id3), &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "paid")), 1);
	ck_assert_int_eq(json_array_size(jget(p.json, "already_paid")), 0);
	http_free(&p);
	/* Paid is final: again, it is only reported. */
	ck_assert_int_eq(call("POST", "/api/v1/admin/payouts/mark-paid",
	    T.admin, json_pack("{s:[I]}", "ids", (json_int_t)id1), &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "paid")), 0);
	ck_assert_int_eq(json_array_size(jget(p.json, "already_paid")), 1);
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/admin/payouts?status=pending",
	    T.admin, NULL, &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "payouts")), 0);
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/admin/payouts?status=paid",
	    T.admin, NULL, &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "payouts")), 3);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM ledger"
	    " WHERE kind = 'payout'"), 3);
	srv_stop();
	assert_ledger_ok();
}
END_TEST

#define NCONS	5

struct member {
	char		cid[64];
	long long	points, cash, bottles;
	char		vouchers[40][21];
	int		nvouchers, redeemed;
};

/* Adds what a scan answer says was won to the member's tally. */
static void
won(struct member *m, const struct http_resp *p)
{
	const char *type = jstr(p->json, "reward.type");

	ck_assert_msg(type != NULL, "no reward: %s", p->body);
	m->points += jint(p->json, "reward.points");
	if (strcmp(type, "cash") == 0)
		m->cash += jint(p->json, "reward.amount");
	if (strcmp(type, "voucher") == 0) {
		ck_assert_int_lt(m->nvouchers, 40);
		m->bottles++;
		snprintf(m->vouchers[m->nvouchers++], 21, "%s",
		    jstr(p->json, "reward.voucher"));
	}
	ck_assert_int_eq(jint(p->json, "reward.points_balance"), m->points);
}

/*
 * A seeded mix of claims, redemptions (some refused, some replayed),
 * voucher redemptions and payouts: every balance the API shows equals
 * the sum of what the answers said, and the ledger check agrees.
 */
START_TEST(test_mixed_ledger)
{
	static struct member m[NCONS];
	struct http_resp p;
	json_t *list, *o;
	char path[128], key[32], last_key[32] = "";
	long long cost[2] = { 30, 500 }, item[2], last_item = 0;
	int next = 0, op, k, i, last_k = 0;
	size_t j;
	unsigned rs = 42;

	srv_start(open_flags);
	dealer_add("S-1", "store", NULL, NULL);
	campaign("{\"name\":\"mix\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"points\":10,\"prizes\":["
	    "{\"name\":\"rp\",\"type\":\"cash\",\"amount\":100,\"count\":1000,"
	    "\"probability\":0.3},{\"name\":\"pts\",\"type\":\"points\","
	    "\"amount\":50,\"count\":1000,\"probability\":0.2},{\"name\":"
	    "\"bottle\",\"type\":\"voucher\",\"amount\":1,\"count\":1000,"
	    "\"probability\":0.1}]}");
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(call("POST", "/api/v1/admin/catalogue",
		    T.admin, json_pack("{s:s,s:I}", "name", i ? "bag" : "cup",
		    "points", (json_int_t)cost[i]), &p), 201);
		item[i] = jint(p.json, "id");
		http_free(&p);
	}
	memset(m, 0, sizeof(m));
	for (i = 0; i < NCONS; i++) {
		scan_ok2(big[next++], NULL, &p);
		snprintf(m[i].cid, sizeof(m[i].cid), "%s", jstr(p.json,
		    "consumer"));
		won(&m[i], &p);
		http_free(&p);
	}
	for (op = 0; op < 260; op++) {
		k = (int)(rand_r(&rs) % NCONS);
		switch (rand_r(&rs) % 10) {
		case 0: case 1: case 2: case 3: case 4: case 5:
			scan_ok2(big[next++], m[k].cid, &p);
			won(&m[k], &p);
			http_free(&p);
			break;
		case 6: case 7:
			i = (int)(rand_r(&rs) % 2);
			/* Now and then the same key again: spent once. */
			if (last_key[0] != '\0' && rand_r(&rs) % 4 == 0) {
				ck_assert_int_eq(call("POST",
				    "/api/v1/redemptions", NULL, json_pack(
				    "{s:s,s:I,s:s}", "consumer", m[last_k].cid,
				    "item", (json_int_t)last_item, "key",
				    last_key), &p), 200);
				ck_assert_int_eq(jint(p.json,
				    "points_balance"), m[last_k].points);
				http_free(&p);
				break;
			}
			snprintf(key, sizeof(key), "op-%d", op);
			call("POST", "/api/v1/redemptions", NULL, json_pack(
			    "{s:s,s:I,s:s}", "consumer", m[k].cid, "item",
			    (json_int_t)item[i], "key", key), &p);
			if (m[k].points >= cost[i]) {
				ck_assert_msg(p.status == 201, "redeem: %d %s",
				    p.status, p.body);
				m[k].points -= cost[i];
				snprintf(last_key, sizeof(last_key), "%s", key);
				last_k = k;
				last_item = item[i];
			} else
				assert_error(&p, 409, "insufficient points");
			http_free(&p);
			break;
		case 8:
			if (m[k].redeemed == m[k].nvouchers)
				break;
			snprintf(path, sizeof(path),
			    "/api/v1/vouchers/%s/redeem",
			    m[k].vouchers[m[k].redeemed++]);
			ck_assert_int_eq(call("POST", path, store_tok, NULL,
			    &p), 200);
			http_free(&p);
			m[k].bottles--;
			break;
		default:
			ck_assert_int_eq(call("GET", "/api/v1/admin/payouts",
			    T.admin, NULL, &p), 200);
			list = jget(p.json, "payouts");
			if (json_array_size(list) == 0) {
				http_free(&p);
				break;
			}
			o = json_array_get(list, rand_r(&rs) %
			    json_array_size(list));
			for (i = 0; i < NCONS; i++)
				if (strncmp(m[i].cid, jstr(o, "consumer"), 24)
				    == 0)
					m[i].cash -= jint(o, "cents");
			k = (int)jint(o, "id");
			http_free(&p);
			ck_assert_int_eq(call("POST",
			    "/api/v1/admin/payouts/mark-paid", T.admin,
			    json_pack("{s:[i]}", "ids", k), &p), 200);
			http_free(&p);
		}
	}
	for (i = 0; i < NCONS; i++) {
		snprintf(path, sizeof(path), "X-Yima-Consumer: %.63s\r\n",
		    m[i].cid);
		ck_assert_int_eq(get("/api/v1/consumers/me", path, &p), 200);
		ck_assert_int_eq(jint(p.json, "points"), m[i].points);
		ck_assert_int_eq(jint(p.json, "cash_pending_cents"), m[i].cash);
		ck_assert_int_eq(jint(p.json, "vouchers_bottles"),
		    m[i].bottles);
		ck_assert(json_array_size(jget(p.json, "history")) > 0);
		for (j = 0; j < json_array_size(jget(p.json, "history")); j++)
			ck_assert_ptr_nonnull(jstr(json_array_get(jget(p.json,
			    "history"), j), "kind"));
		http_free(&p);
	}
	get("/api/v1/consumers/me", NULL, &p);
	assert_error(&p, 401, "no consumer");
	http_free(&p);
	get("/api/v1/consumers/me", "X-Yima-Consumer: 00ff\r\n", &p);
	assert_error(&p, 401, "forged consumer");
	http_free(&p);
	srv_stop();
	assert_ledger_ok();
}
END_TEST

/* The check is not a rubber stamp: a moved balance is found. */
START_TEST(test_ledger_tamper)
{
	struct http_resp p;
	char *out = NULL;
	int rc;

	srv_start(open_flags);
	campaign(lottery);
	scan_ok2(big[0], NULL, &p);
	http_free(&p);
	srv_stop();
	assert_ledger_ok();
	ck_assert_int_eq(db_int("UPDATE balances SET amount = amount + 1"
	    " WHERE unit = 'points' RETURNING 1"), 1);
	rc = ledger_check(&out);
	ck_assert_int_ne(rc, 0);
	ck_assert_msg(strstr(out, "balance consumer:") != NULL &&
	    strstr(out, " 1 problems") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(db_int("UPDATE balances SET amount = amount - 1"
	    " WHERE unit = 'points' RETURNING 1"), 1);
	assert_ledger_ok();
	/* A claim that says it granted more than it moved. */
	ck_assert_int_eq(db_int("UPDATE claims SET points = points + 5"
	    " RETURNING 1"), 1);
	rc = ledger_check(&out);
	ck_assert_int_ne(rc, 0);
	ck_assert_msg(strstr(out, "points granted") != NULL, "%s", out);
	free(out);
}
END_TEST

/* Redemptions: keys checked, one spend per key, never below zero. */
START_TEST(test_redemption_keys)
{
	struct http_resp p;
	struct http_req q = { "POST", "/api/v1/redemptions",
	    "application/json", NULL, NULL, NULL, 0 };
	char cid[64], hdr[160], body[160];
	long long item, id;

	srv_start(open_flags);
	campaign("{\"name\":\"k\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"points\":100}");
	ck_assert_int_eq(call("POST", "/api/v1/admin/catalogue", T.admin,
	    json_pack("{s:s,s:i}", "name", "cup", "points", 30), &p), 201);
	item = jint(p.json, "id");
	http_free(&p);
	scan_ok2(big[0], NULL, &p);
	snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
	ck_assert_int_eq(jint(p.json, "reward.points_balance"), 100);
	http_free(&p);
	snprintf(body, sizeof(body), "{\"consumer\":\"%s\",\"item\":%lld}",
	    cid, item);
	q.body = body;
	/* A key that is not printable ASCII: 400, nothing spent. */
	q.headers = "Idempotency-Key: k\xff\r\n";
	ck_assert_int_eq(http(E.port, &q, &p), 400);
	ck_assert_ptr_nonnull(strstr(jstr(p.json, "error.message"),
	    "Idempotency-Key"));
	http_free(&p);
	q.headers = NULL;
	ck_assert_int_eq(http(E.port, &q, &p), 400);	/* no key */
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM redemptions"), 0);
	q.headers = "Idempotency-Key: order-1\r\n";
	ck_assert_int_eq(http(E.port, &q, &p), 201);
	id = jint(p.json, "redemption");
	ck_assert_int_eq(jint(p.json, "points_balance"), 70);
	http_free(&p);
	ck_assert_int_eq(http(E.port, &q, &p), 200);
	ck_assert_int_eq(jint(p.json, "redemption"), id);
	ck_assert_int_eq(jint(p.json, "points_balance"), 70);
	http_free(&p);
	/* The same key for another item is a conflict. */
	snprintf(body, sizeof(body), "{\"consumer\":\"%s\",\"item\":%lld}",
	    cid, item + 1);
	ck_assert_int_eq(http(E.port, &q, &p), 409);
	http_free(&p);
	ck_assert_int_eq(http(E.port, &q, &p), 409);
	http_free(&p);
	q.headers = "Idempotency-Key: order-2\r\n";
	ck_assert_int_eq(http(E.port, &q, &p), 404);	/* no such item */
	http_free(&p);
	/* 70 points buy two cups; the third is refused. */
	snprintf(body, sizeof(body), "{\"consumer\":\"%s\",\"item\":%lld}",
	    cid, item);
	ck_assert_int_eq(http(E.port, &q, &p), 201);
	http_free(&p);
	q.headers = "Idempotency-Key: order-3\r\n";
	ck_assert_int_eq(http(E.port, &q, &p), 201);
	http_free(&p);
	snprintf(hdr, sizeof(hdr), "Idempotency-Key: order-4\r\n");
	q.headers = hdr;
	http(E.port, &q, &p);
	assert_error(&p, 409, "insufficient");
	ck_assert_str_eq(jstr(p.json, "error.code"), "insufficient_points");
	http_free(&p);
	snprintf(hdr, sizeof(hdr), "consumer:%.24s", cid);
	ck_assert_int_eq(balance(hdr, "points"), 10);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM redemptions"), 3);
	srv_stop();
	assert_ledger_ok();
}
END_TEST

/*
 * One claim that fails (its serial was claimed behind the service's
 * back) is answered 503 alone; the scans sharing its transaction are
 * stored, and the prize it drew goes back.
 */
START_TEST(test_bad_claim_alone)
{
	struct crowd c;
	int i, ok = 0, failed = 0;

	srv_start(open_flags);
	campaign("{\"name\":\"b\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"prizes\":[{\"name\":\"p\","
	    "\"type\":\"points\",\"amount\":5,\"count\":1000,"
	    "\"probability\":1}]}");
	ck_assert_int_eq(db_int("INSERT INTO claims (serial, at, status,"
	    " points) SELECT serial, 0, 'granted', 0 FROM (SELECT MIN(first)"
	    " AS serial FROM serial_ranges WHERE kind = 2 AND batch = '%s')"
	    " RETURNING 1", big_batch), 1);
	crowd(&c, code_i, 200, 16, 0);
	for (i = 0; i < 200; i++) {
		ck_assert_msg(c.status[i] == 200 || (i == 0 &&
		    c.status[i] == 503), "request %d: %d", i, c.status[i]);
		if (c.status[i] == 200)
			ok++;
		else
			failed++;
	}
	ck_assert_int_eq(failed, 1);
	ck_assert_int_eq(ok, 199);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans"), 199);
	ck_assert_int_eq(db_int("SELECT count - remaining FROM prizes"), 199);
	/* The batch ran again without it: its first run's counts are gone. */
	ck_assert_int_eq(db_int("SELECT SUM(claims) FROM rollups"), 199);
	ck_assert_int_eq(db_int("SELECT SUM(claims) FROM rollup_regions"), 199);
	ck_assert_int_eq(db_int("SELECT SUM(claims) FROM rollup_skus"), 199);
	ck_assert_int_eq(db_int("SELECT SUM(claims) FROM rollup_gtins"), 199);
	crowd_free(&c);
	srv_stop();
	assert_ledger_ok();
}
END_TEST

/* ---- consumers' rights: export and erasure ---- */

#define A_LAT	30.654321	/* consumer A's place (Chengdu) */
#define A_LON	104.065432
#define B_LAT	31.234567	/* consumer B's (Shanghai) */
#define B_LON	121.476543

/* The scan report by region, rows only, as JSON text (malloc'd). */
static char *
report_rows(void)
{
	struct http_resp p;
	char *text;

	ck_assert_int_eq(call("GET", "/api/v1/reports/scans?by=region",
	    T.admin, NULL, &p), 200);
	ck_assert_int_gt(json_array_size(jget(p.json, "rows")), 0);
	text = json_dumps(jget(p.json, "rows"), JSON_COMPACT |
	    JSON_SORT_KEYS);
	http_free(&p);
	return text;
}

/*
 * Every text cell of every table, and every number: none may hold id
 * (24 hex) or the place (lat, lon) of an erased consumer.
 */
static void
assert_nowhere(const char *id, double lat, double lon)
{
	sqlite3 *db = db_open();
	sqlite3_stmt *t = NULL, *s = NULL;
	const char *name, *text;
	char *sql;
	double v;
	int i, tables = 0;

	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT name FROM"
	    " sqlite_master WHERE type = 'table'", -1, &t, NULL), SQLITE_OK);
	while (sqlite3_step(t) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(t, 0);
		ck_assert_int_ge(asprintf(&sql, "SELECT * FROM \"%s\"", name),
		    0);
		ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL),
		    SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW)
			for (i = 0; i < sqlite3_column_count(s); i++) {
				if (sqlite3_column_type(s, i) == SQLITE_FLOAT) {
					v = sqlite3_column_double(s, i);
					ck_assert_msg(fabs(v - lat) > 1e-9 &&
					    fabs(v - lon) > 1e-9, "%s.%s holds "
					    "the erased place %f", name,
					    sqlite3_column_name(s, i), v);
				}
				if (sqlite3_column_type(s, i) != SQLITE_TEXT)
					continue;
				text = (const char *)sqlite3_column_text(s, i);
				ck_assert_msg(strstr(text, id) == NULL, "%s.%s "
				    "holds the erased id: %s", name,
				    sqlite3_column_name(s, i), text);
			}
		sqlite3_finalize(s);
		free(sql);
		tables++;
	}
	sqlite3_finalize(t);
	sqlite3_close(db);
	ck_assert_int_gt(tables, 20);
}

/*
 * A consumer exports what is kept about them (and nothing of another
 * consumer), then erases it: no table holds their id, places or client
 * addresses afterwards, reports count as before, the ledger still
 * checks, the id is refused, and another consumer keeps everything.
 */
START_TEST(test_export_erase)
{
	struct http_resp p;
	char a[128], b[128], a24[25], *before, *after, cookie[160];
	long long a_scan[3], b_scan, item, b_points, i;
	json_t *x, *o;
	size_t j;

	srv_start(open_flags);
	campaign("{\"name\":\"cash\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"points\":10,\"prizes\":[{"
	    "\"name\":\"rp\",\"type\":\"cash\",\"amount\":888,\"count\":3,"
	    "\"probability\":1}]}");
	ck_assert_int_eq(scan_at(big[0], NULL, A_LAT, A_LON, &p), 200);
	snprintf(a, sizeof(a), "%s", jstr(p.json, "consumer"));
	snprintf(a24, sizeof(a24), "%.24s", a);
	a_scan[0] = jint(p.json, "scan_id");
	http_free(&p);
	ck_assert_int_eq(scan_at(big[1], a, A_LAT, A_LON, &p), 200);
	a_scan[1] = jint(p.json, "scan_id");
	http_free(&p);
	ck_assert_int_eq(scan_at(T.b1.codes[0], a, A_LAT, A_LON, &p), 200);
	a_scan[2] = jint(p.json, "scan_id");
	ck_assert_ptr_nonnull(jstr(p.json, "region.code"));
	http_free(&p);
	ck_assert_int_eq(scan_at(big[2], NULL, B_LAT, B_LON, &p), 200);
	snprintf(b, sizeof(b), "%s", jstr(p.json, "consumer"));
	b_scan = jint(p.json, "scan_id");
	http_free(&p);
	ck_assert_int_eq(scan_at(T.b1.codes[1], b, B_LAT, B_LON, &p), 200);
	http_free(&p);
	/* A spends 5 points: a redemption, kept by the ledger. */
	ck_assert_int_eq(call("POST", "/api/v1/admin/catalogue", T.admin,
	    json_pack("{s:s,s:i}", "name", "cup", "points", 5), &p), 201);
	item = jint(p.json, "id");
	http_free(&p);
	ck_assert_int_eq(call("POST", "/api/v1/redemptions", NULL, json_pack(
	    "{s:s,s:I,s:s}", "consumer", a, "item", (json_int_t)item, "key",
	    "k1"), &p), 201);
	http_free(&p);

	/* The export: A's three scans, two claims and account; not B's. */
	ck_assert_int_eq(as_consumer("GET", "/api/v1/consumers/me/export", a,
	    NULL, &p), 200);
	x = p.json;
	ck_assert_str_eq(jstr(x, "consumer"), a24);
	ck_assert_int_eq(jint(x, "points"), 15);
	ck_assert_int_eq(jint(x, "cash_pending_cents"), 2 * 888);
	ck_assert(json_is_false(jget(x, "truncated")));
	ck_assert_int_eq(jint(x, "retention_days.places"), 180);
	ck_assert_int_eq(jint(x, "retention_days.consumer_ids"), 365);
	ck_assert_int_eq(json_array_size(jget(x, "scans")), 3);
	json_array_foreach(jget(x, "scans"), j, o) {
		ck_assert_ptr_nonnull(jstr(o, "at"));
		ck_assert_str_eq(jstr(o, "verdict"), "genuine");
		ck_assert_ptr_nonnull(jstr(o, "region.code"));
		ck_assert_ptr_nonnull(jstr(o, "region.name"));
	}
	/* Newest first: the bottle's outer code, then the two caps. */
	ck_assert_str_eq(jstr(json_array_get(jget(x, "scans"), 0), "kind"),
	    "item");
	ck_assert_int_eq(jint(json_array_get(jget(x, "scans"), 0), "serial"),
	    T.b1.serials[0]);
	ck_assert_int_eq(json_array_size(jget(x, "claims")), 2);
	json_array_foreach(jget(x, "claims"), j, o) {
		ck_assert_str_eq(jstr(o, "status"), "granted");
		ck_assert_int_eq(jint(o, "points"), 10);
	}
	/* claims 2 x (points, prize), the redemption */
	ck_assert_int_eq(json_array_size(jget(x, "movements")), 5);
	/* No place, no address, nothing of B. */
	ck_assert_ptr_null(strstr(p.body, "\"lat\""));
	ck_assert_ptr_null(strstr(p.body, "127.0.0.1"));
	ck_assert_ptr_null(strstr(p.body, "30.65"));
	ck_assert_msg(strstr(p.body, b) == NULL && strstr(p.body,
	    T.b1.codes[1]) == NULL, "B in A's export: %s", p.body);
	http_free(&p);
	get("/api/v1/consumers/me/export", NULL, &p);
	assert_error(&p, 401, "export without an id");
	http_free(&p);
	get("/api/v1/consumers/me/export", "X-Yima-Consumer: 00ff\r\n", &p);
	assert_error(&p, 401, "export with a forged id");
	http_free(&p);
	ck_assert_int_eq(as_consumer("GET", "/api/v1/consumers/me", b, NULL,
	    &p), 200);
	b_points = jint(p.json, "points");
	http_free(&p);

	/* Erasure needs the consumer's id and a confirmation. */
	before = report_rows();
	refused("DELETE", "/api/v1/consumers/me", NULL, json_pack("{s:b}",
	    "confirm", 1), 401, "erase without an id");
	as_consumer("DELETE", "/api/v1/consumers/me", a, "{}", &p);
	assert_error(&p, 400, "erase without confirm");
	http_free(&p);
	as_consumer("DELETE", "/api/v1/consumers/me", a, "{\"confirm\":1}",
	    &p);
	assert_error(&p, 400, "confirm not true");
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE consumer ="
	    " '%s'", a24), 3);
	ck_assert_int_eq(as_consumer("DELETE", "/api/v1/consumers/me", a,
	    "{\"confirm\":true}", &p), 200);
	ck_assert(json_is_true(jget(p.json, "erased")));
	ck_assert_int_eq(jint(p.json, "scans"), 3);
	ck_assert_int_eq(jint(p.json, "claims"), 2);
	ck_assert_int_eq(jint(p.json, "movements"), 5);
	ck_assert_int_eq(http_header(&p, "Set-Cookie", cookie,
	    sizeof(cookie)), 1);
	ck_assert_ptr_nonnull(strstr(cookie, "yima_cid=;"));
	ck_assert_ptr_nonnull(strstr(cookie, "Max-Age=0"));
	http_free(&p);
	after = report_rows();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);

	/* The id is refused everywhere from now on. */
	as_consumer("GET", "/api/v1/consumers/me", a, NULL, &p);
	assert_error(&p, 403, "me, erased");
	ck_assert_str_eq(jstr(p.json, "error.code"), "consumer_erased");
	http_free(&p);
	as_consumer("GET", "/api/v1/consumers/me/export", a, NULL, &p);
	assert_error(&p, 403, "export, erased");
	ck_assert_str_eq(jstr(p.json, "error.code"), "consumer_erased");
	http_free(&p);
	as_consumer("DELETE", "/api/v1/consumers/me", a, "{\"confirm\":true}",
	    &p);
	assert_error(&p, 403, "erased twice");
	ck_assert_str_eq(jstr(p.json, "error.code"), "consumer_erased");
	http_free(&p);
	call("POST", "/api/v1/redemptions", NULL, json_pack("{s:s,s:I,s:s}",
	    "consumer", a, "item", (json_int_t)item, "key", "k2"), &p);
	assert_error(&p, 403, "redemption, erased");
	ck_assert_str_eq(jstr(p.json, "error.code"), "consumer_erased");
	http_free(&p);
	refused("POST", "/api/v1/admin/freezes", T.admin, json_pack("{s:s}",
	    "consumer", a24), 409, "freeze, erased");
	/* A scan with it (the cookie): recorded under a fresh id, whose
	 * account starts empty; the erased points do not come back. */
	snprintf(cookie, sizeof(cookie), "Cookie: yima_cid=%s\r\n", a);
	ck_assert_int_eq(scan_obj(json_pack("{s:s}", "code", big[3]), cookie,
	    &p), 200);
	ck_assert_str_eq(jstr(p.json, "verdict"), "genuine");
	ck_assert_ptr_nonnull(jstr(p.json, "consumer"));
	ck_assert_str_ne(jstr(p.json, "consumer"), a);
	ck_assert_int_eq(jint(p.json, "reward.points_balance"), 10);
	ck_assert_int_eq(http_header(&p, "Set-Cookie", cookie,
	    sizeof(cookie)), 1);
	ck_assert_ptr_null(strstr(cookie, a));
	http_free(&p);
	/* B is untouched. */
	ck_assert_int_eq(as_consumer("GET", "/api/v1/consumers/me", b, NULL,
	    &p), 200);
	ck_assert_int_eq(jint(p.json, "points"), b_points);
	http_free(&p);
	ck_assert_int_eq(as_consumer("GET", "/api/v1/consumers/me/export", b,
	    NULL, &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "scans")), 2);
	http_free(&p);
	/* The cash still owed stays, owed to the erased account. */
	ck_assert_int_eq(call("GET", "/api/v1/admin/payouts", T.admin, NULL,
	    &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "payouts")), 3);
	for (i = j = 0; j < 3; j++)
		i += strncmp(jstr(json_array_get(jget(p.json, "payouts"), j),
		    "consumer"), "erased", 6) == 0;
	ck_assert_int_eq(i, 2);
	http_free(&p);
	srv_stop();

	/* The database itself: A's rows keep their region, nothing else. */
	assert_nowhere(a24, A_LAT, A_LON);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE id ="
		    " %lld AND consumer IS NULL AND lat IS NULL AND lon IS NULL"
		    " AND accuracy IS NULL AND client IS NULL AND region IS NOT"
		    " NULL", a_scan[i]), 1);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM claims WHERE consumer"
	    " LIKE 'erased%%' AND network IS NULL AND lat IS NULL"), 2);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM code_state WHERE"
	    " first_lat IS NOT NULL AND first_lat < 31"), 0);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM erased_consumers"), 1);
	ck_assert_int_eq(db_int("SELECT amount FROM balances WHERE account"
	    " LIKE 'consumer:erased%%' AND unit = 'points'"), 15);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE id = %lld"
	    " AND consumer = '%.24s' AND client = '127.0.0.1' AND lat = %f",
	    b_scan, b, B_LAT), 1);
	assert_ledger_ok();
}
END_TEST

/* An export is bounded: the newest 10,000 scans, and says it was cut. */
START_TEST(test_export_truncated)
{
	struct http_resp p;
	char a[128];

	srv_start(open_flags);
	ck_assert_int_eq(scan(T.b1.codes[0], NULL, &p), 200);
	snprintf(a, sizeof(a), "%s", jstr(p.json, "consumer"));
	http_free(&p);
	srv_stop();
	ck_assert_int_eq(db_int("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL"
	    " SELECT i + 1 FROM n WHERE i < 10000) INSERT INTO scans (at,"
	    " serial, kind, verdict, consumer) SELECT (SELECT MAX(at) FROM"
	    " scans) + i, %lld, 1, 2, '%.24s' FROM n RETURNING 1",
	    T.b1.serials[0], a), 1);
	srv_start(open_flags);
	ck_assert_int_eq(as_consumer("GET", "/api/v1/consumers/me/export", a,
	    NULL, &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "scans")), 10000);
	ck_assert(json_is_true(jget(p.json, "truncated")));
	ck_assert_str_eq(jstr(json_array_get(jget(p.json, "scans"), 0),
	    "verdict"), "repeat");
	ck_assert_str_eq(jstr(json_array_get(jget(p.json, "scans"), 9999),
	    "verdict"), "repeat");
	http_free(&p);
	srv_stop();
}
END_TEST

/* The consumer's page shows the prize, or why there is none. */
START_TEST(test_landing_reward)
{
	char *dom;

	srv_start(open_flags);
	campaign("{\"name\":\"page\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"points\":10,\"prizes\":"
	    "[{\"name\":\"红包 8.88\",\"type\":\"cash\",\"amount\":888,"
	    "\"count\":5,\"probability\":1}]}");
	dom = browse("zh-CN", big[0]);
	ck_assert_msg(strstr(dom, "¥8.88") != NULL, "no prize shown: %.2000s",
	    strstr(dom, "id=\"rc\"") ? strstr(dom, "id=\"rc\"") : dom);
	ck_assert_ptr_nonnull(strstr(dom, "红包 8.88"));
	ck_assert_ptr_nonnull(strstr(dom, "积分余额 10"));
	free(dom);
	/* The outer code of a bottle: open the cap. */
	dom = browse("en-US", T.b1.codes[0]);
	ck_assert_msg(strstr(dom, "Open the cap and scan the code inside")
	    != NULL, "no reason shown: %.2000s", strstr(dom, "id=\"rc\"") ?
	    strstr(dom, "id=\"rc\"") : dom);
	free(dom);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM payouts"), 1);
	srv_stop();
}
END_TEST

/* The engine's tests that run on both back-ends. */
static void
add_engine_both(TCase *tc)
{
	tcase_add_test(tc, test_claims_ahead);
	tcase_add_test(tc, test_pool_empty);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_daily_budget);
	tcase_add_test(tc, test_consumer_limits);
	tcase_add_test(tc, test_tiers);
	tcase_add_test(tc, test_tier_expiry);
}

Suite *
reward_suite(void)
{
	Suite *s = suite_create("reward");
	TCase *tc;

	tc = tcase_create("engine");
	tcase_add_checked_fixture(tc, engine_setup, engine_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pick);
	tcase_add_test(tc, test_draw_odds);
	add_engine_both(tc);
	tcase_add_test(tc, test_tiers_parse);
	tcase_add_test(tc, test_network_and_time);
	suite_add_tcase(s, tc);
	/* The engine's store calls on PostgreSQL too (one suite, two). */
	if (tu_pg_url() != NULL) {
		tc = tcase_create("engine-postgresql");
		tcase_add_checked_fixture(tc, engine_setup_pg, engine_teardown);
		tcase_set_timeout(tc, 120);
		add_engine_both(tc);
		suite_add_tcase(s, tc);
	}
	tc = tcase_create("server");
	tcase_add_unchecked_fixture(tc, server_case_setup,
	    server_case_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_campaign_api);
	tcase_add_test(tc, test_scope);
	tcase_add_test(tc, test_claim_race);
	tcase_add_test(tc, test_pool_race);
	tcase_add_test(tc, test_leaked_codes);
	tcase_add_test(tc, test_voucher);
	tcase_add_test(tc, test_commission);
	tcase_add_test(tc, test_antifraud);
	tcase_add_test(tc, test_claim_review);
	tcase_add_test(tc, test_release_counts);
	tcase_add_test(tc, test_payouts);
	tcase_add_test(tc, test_mixed_ledger);
	tcase_add_test(tc, test_ledger_tamper);
	tcase_add_test(tc, test_landing_reward);
	tcase_add_test(tc, test_redemption_keys);
	tcase_add_test(tc, test_bad_claim_alone);
	tcase_add_test(tc, test_export_erase);
	tcase_add_test(tc, test_export_truncated);
	suite_add_tcase(s, tc);
	return s;
}
