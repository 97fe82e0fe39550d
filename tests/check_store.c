/* SPDX-License-Identifier: Apache-2.0 */
/* The store suite: what every back-end must do (SQLite here). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "yima/err.h"
#include "yima/store.h"

#include "../scanapi/db.h"
#include "../scanapi/sketch.h"
#include "../scanapi/verdict.h"

#include "testutil.h"

Suite *store_suite(void);

static char *tmp;
static struct yima_store *st;

static void
setup(void)
{
	tmp = tu_mkdtemp();
	st = tu_store_open(tmp, 0);
}

/* The same tests on PostgreSQL, each on an emptied database. */
static void
setup_pg(void)
{
	tmp = tu_mkdtemp();
	st = tu_store_open(tmp, 1);
}

static void
teardown(void)
{
	yima_store_close(st);
	tu_rmtree(tmp);
	free(tmp);
}

static void
manifest(struct yima_manifest *m, const char *batch, uint64_t first,
    uint64_t count, int inner)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->batch, sizeof(m->batch), "%s", batch);
	m->kind = YIMA_KIND_ITEM;
	m->key_id = 1;
	m->first_serial = first;
	m->count = count;
	m->inner = inner;
	m->inner_first = inner ? first + count : 0;
	strcpy(m->gtin, "06901234567892");
	strcpy(m->lot, "L1");
	strcpy(m->mfg, "2026-11-01");
	strcpy(m->domain, "YIMA.EXAMPLE.COM");
	strcpy(m->created, "2026-11-23T00:00:00Z");
	memset(m->codes_sha256, 'a', 64);
	memset(m->hmac, 'b', 64);
}

static int
import(const struct yima_manifest *m, int *created)
{
	struct yima_tx *tx;
	int rc;

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	if ((rc = yima_tx_batch_import(tx, m, m->hmac, created)) != 0) {
		yima_tx_rollback(tx);
		return rc;
	}
	return yima_tx_commit(tx);
}

START_TEST(migrated)
{
	ck_assert_int_ge(yima_store_schema_version(st), 1);
}
END_TEST

extern int yima_test_schema_max;

static void dealer(struct yima_tx *tx, const char *id, const char *parent,
    const char *type);

/* Report rows "key:scans/genuine/claims/consumers " in key order. */
static void
row_text(void *ctx, const struct yima_report_row *r)
{
	char *out = ctx;

	snprintf(out + strlen(out), 512 - strlen(out), "%s%s%lld:%lld/%lld/"
	    "%lld/%lld ", r->other ? "other" : "", r->key, (long long)r->day,
	    (long long)r->scans,
	    (long long)r->genuine, (long long)r->claims,
	    (long long)r->consumers);
}

static void
reports(struct yima_store *s, char out[4][512])
{
	struct yima_report_q q;
	struct yima_tx *tx;
	int by;

	ck_assert_int_eq(yima_tx_begin(s, 0, &tx), 0);
	for (by = 0; by < 4; by++) {
		memset(&q, 0, sizeof(q));
		q.from_day = 0;
		q.to_day = 100000;
		q.by = (enum yima_report_by)by;
		out[by][0] = '\0';
		ck_assert_int_eq(yima_tx_report_scans(tx, &q, row_text,
		    out[by]), 0);
	}
	yima_tx_rollback(tx);
}

/*
 * A schema 5 database (one rollup table, keyed day first) opened by this
 * program: its rollups in the new tables, every report as it was.
 */
START_TEST(migrated_5_to_6)
{
	static const struct {
		int day;
		const char *dealer, *region, *gtin;
		int scans, genuine, claims, c0, c1;
	} rows[] = {
		{ 20400, "A", "310100", "06901234567892", 5, 4, 1, 0, 3 },
		{ 20400, "A", "310100", "06901234567885", 2, 2, 0, 2, 4 },
		{ 20400, "B", "440100", "06901234567892", 7, 6, 2, 1, 6 },
		{ 20401, "A", "330100", "06901234567892", 1, 1, 1, 5, 6 },
		{ 20401, "", "", "", 3, 0, 0, 0, 0 },
	};
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 2, 0, 1, 0 };
	struct yima_store *old, *now;
	uint8_t sk[API_SKETCH_MAX], tmpk[API_SKETCH_MAX];
	char want[4][512], got[4][512], why[YIMA_WHY_MAX], *db, id[8];
	sqlite3_stmt *ins;
	sqlite3 *raw;
	size_t len, i;
	int c;

	db = tu_path(tmp, "v5.db");
	yima_test_schema_max = 5;
	ck_assert_msg(yima_store_open(db, &o, &old, why) == 0, "%s", why);
	yima_test_schema_max = 0;
	ck_assert_int_eq(yima_store_schema_version(old), 5);
	yima_store_close(old);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "INSERT INTO rollups VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, ?7, ?8)", -1, &ins, NULL),
	    SQLITE_OK);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		len = 0;
		for (c = rows[i].c0; c < rows[i].c1; c++) {
			snprintf(id, sizeof(id), "c%d", c);
			len = api_sketch_add(len ? sk : NULL, len,
			    tu_sketch_hash(id, strlen(id)), tmpk);
			memcpy(sk, tmpk, len);
		}
		sqlite3_bind_int(ins, 1, rows[i].day);
		sqlite3_bind_text(ins, 2, rows[i].dealer, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, rows[i].region, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, rows[i].gtin, -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 5, rows[i].scans);
		sqlite3_bind_int(ins, 6, rows[i].genuine);
		sqlite3_bind_int(ins, 7, rows[i].claims);
		if (len > 0)
			sqlite3_bind_blob(ins, 8, sk, (int)len, SQLITE_STATIC);
		else
			sqlite3_bind_null(ins, 8);
		ck_assert_int_eq(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	sqlite3_close(raw);
	/* What the reports must say, summed by hand from the rows above. */
	snprintf(want[0], 512, "20400:14/12/3/6 20401:4/1/1/1 ");
	snprintf(want[1], 512, "0:3/0/0/0 3101000:7/6/1/4 3301000:1/1/1/1 "
	    "4401000:7/6/2/5 ");
	snprintf(want[2], 512, "0:3/0/0/0 069012345678850:2/2/0/2 "
	    "069012345678920:13/11/4/6 ");
	snprintf(want[3], 512, "0:3/0/0/0 A0:8/7/2/5 B0:7/6/2/5 ");
	ck_assert_msg(yima_store_open(db, &o, &now, why) == 0, "%s", why);
	ck_assert_int_ge(yima_store_schema_version(now), 7);
	reports(now, got);
	for (i = 0; i < 4; i++)
		ck_assert_str_eq(got[i], want[i]);
	yima_store_close(now);
	free(db);
}
END_TEST

START_TEST(import_same_and_conflicts)
{
	struct yima_manifest a, b;
	struct yima_range r;
	struct yima_tx *tx;
	int created = -1;

	manifest(&a, "0123456789abcdef0123456789abcdef", 100, 50, 1);
	ck_assert_int_eq(import(&a, &created), 0);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(import(&a, &created), 0);
	ck_assert_int_eq(created, 0);
	/* Same id, another manifest. */
	b = a;
	b.hmac[0] = 'c';
	ck_assert_int_eq(import(&b, &created), YIMA_EEXIST);
	/* Another id over the items, over the inner range, and at the edges. */
	manifest(&b, "ffffffffffffffffffffffffffffffff", 149, 10, 0);
	ck_assert_int_eq(import(&b, &created), YIMA_EEXIST);
	manifest(&b, "ffffffffffffffffffffffffffffffff", 199, 1, 0);
	ck_assert_int_eq(import(&b, &created), YIMA_EEXIST);
	manifest(&b, "ffffffffffffffffffffffffffffffff", 90, 11, 0);
	ck_assert_int_eq(import(&b, &created), YIMA_EEXIST);
	manifest(&b, "ffffffffffffffffffffffffffffffff", 200, 5, 0);
	ck_assert_int_eq(import(&b, &created), 0);
	manifest(&b, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", 90, 10, 0);
	ck_assert_int_eq(import(&b, &created), 0);

	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_range_find(tx, 120, YIMA_KIND_ITEM, &r), 0);
	ck_assert_str_eq(r.batch, a.batch);
	ck_assert_str_eq(r.gtin, "06901234567892");
	ck_assert_uint_eq(r.first, 100);
	ck_assert_uint_eq(r.last, 149);
	/* The inner range answers only for the inner kind. */
	ck_assert_int_eq(yima_tx_range_find(tx, 160, YIMA_KIND_ITEM, &r),
	    YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_range_find(tx, 160, YIMA_KIND_INNER, &r), 0);
	ck_assert_int_eq(yima_tx_range_find(tx, 120, YIMA_KIND_BOX, &r),
	    YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_range_find(tx, 99, YIMA_KIND_ITEM, &r), 0);
	ck_assert_str_eq(r.batch, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
	ck_assert_int_eq(yima_tx_range_find(tx, 205, YIMA_KIND_ITEM, &r),
	    YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_range_find(tx, 1, YIMA_KIND_ITEM, &r),
	    YIMA_ENOENT);
	yima_tx_rollback(tx);
}
END_TEST

START_TEST(scans_state_and_recent)
{
	struct yima_scan_row row;
	struct yima_code_state s, got;
	struct yima_tx *tx;
	uint64_t n, c;
	int64_t id, last = 0;
	int i, exists;
	static const char *consumers[] = { "a", "b", "a", NULL, "c" };

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_state_get(tx, 7, &got), YIMA_ENOENT);
	for (i = 0; i < 5; i++) {
		memset(&row, 0, sizeof(row));
		row.at = 1000 + i * 1000;
		row.has_serial = 1;
		row.serial = 7;
		row.kind = YIMA_KIND_ITEM;
		row.verdict = i == 0 ? YIMA_V_GENUINE : YIMA_V_REPEAT;
		row.consumer = consumers[i];
		row.accuracy = -1;
		ck_assert_int_eq(yima_tx_scan_insert(tx, &row, &id), 0);
		ck_assert_int_gt(id, last);
		last = id;
	}
	memset(&s, 0, sizeof(s));
	s.scans = 5;
	s.first_at = 1000;
	s.first_located = 1;
	s.first_lat = 31.5;
	s.first_lon = 121.25;
	ck_assert_int_eq(yima_tx_state_put(tx, 7, &s), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);

	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_state_get(tx, 7, &got), 0);
	ck_assert_uint_eq(got.scans, 5);
	ck_assert_int_eq(got.first_located, 1);
	ck_assert_int_eq(got.last_located, 0);
	ck_assert(got.first_lat == 31.5 && got.first_lon == 121.25);
	/* All five scans; consumers a, b, c plus a new one "d". */
	ck_assert_int_eq(yima_tx_recent(tx, 7, 0, "d", &n, &c), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(c, 4);
	/* An existing consumer is not counted twice; a window cuts. */
	ck_assert_int_eq(yima_tx_recent(tx, 7, 0, "a", &n, &c), 0);
	ck_assert_uint_eq(c, 3);
	ck_assert_int_eq(yima_tx_recent(tx, 7, 3000, NULL, &n, &c), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(c, 2);
	ck_assert_int_eq(yima_tx_scan_exists(tx, last, &exists), 0);
	ck_assert_int_eq(exists, 1);
	ck_assert_int_eq(yima_tx_scan_exists(tx, last + 1, &exists), 0);
	ck_assert_int_eq(exists, 0);
	/* A read transaction cannot write. */
	ck_assert_int_ne(yima_tx_state_put(tx, 8, &s), 0);
	yima_tx_rollback(tx);
}
END_TEST

START_TEST(revocations)
{
	struct yima_manifest m;
	struct yima_range r[4];
	struct yima_tx *tx;
	char reason[64];
	size_t n;
	int created;

	manifest(&m, "0123456789abcdef0123456789abcdef", 10, 5, 1);
	ck_assert_int_eq(import(&m, &created), 0);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_batch_ranges(tx, m.batch, r, 4, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(r[0].first, 10);
	ck_assert_uint_eq(r[1].first, 15);
	ck_assert_uint_eq(r[1].last, 19);
	ck_assert_int_eq(yima_tx_batch_ranges(tx,
	    "ffffffffffffffffffffffffffffffff", r, 4, &n), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_revoked(tx, 12, NULL, 0), 0);
	ck_assert_int_eq(yima_tx_revoke(tx, 11, 13, "recall"), 0);
	ck_assert_int_eq(yima_tx_revoke(tx, 1000, 1000, NULL), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_revoked(tx, 10, reason, sizeof(reason)), 0);
	ck_assert_int_eq(yima_tx_revoked(tx, 11, reason, sizeof(reason)), 1);
	ck_assert_str_eq(reason, "recall");
	ck_assert_int_eq(yima_tx_revoked(tx, 13, reason, sizeof(reason)), 1);
	ck_assert_int_eq(yima_tx_revoked(tx, 14, reason, sizeof(reason)), 0);
	ck_assert_int_eq(yima_tx_revoked(tx, 1000, reason, sizeof(reason)), 1);
	ck_assert_str_eq(reason, "");
	yima_tx_rollback(tx);
}
END_TEST

/*
 * A transaction reads its own writes, however a back-end saves round
 * trips (PostgreSQL reads a code's range, revocation and state at once,
 * and the campaign generation once).
 */
START_TEST(reads_after_writes)
{
	struct yima_manifest m;
	struct yima_campaign c;
	struct yima_code_state s, got;
	struct yima_range r;
	struct yima_tx *tx;
	char reason[64];
	int64_t g0, g1;
	int created;

	manifest(&m, "0123456789abcdef0123456789abcdef", 10, 5, 1);
	ck_assert_int_eq(import(&m, &created), 0);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_range_find(tx, 12, YIMA_KIND_ITEM, &r), 0);
	ck_assert_int_eq(yima_tx_revoked(tx, 12, reason, sizeof(reason)), 0);
	ck_assert_int_eq(yima_tx_state_get(tx, 12, &got), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_revoke(tx, 11, 13, "recall"), 0);
	ck_assert_int_eq(yima_tx_revoked(tx, 12, reason, sizeof(reason)), 1);
	ck_assert_str_eq(reason, "recall");
	memset(&s, 0, sizeof(s));
	s.scans = 1;
	s.first_at = 1000;
	ck_assert_int_eq(yima_tx_state_put(tx, 12, &s), 0);
	ck_assert_int_eq(yima_tx_state_get(tx, 12, &got), 0);
	ck_assert_uint_eq(got.scans, 1);
	/* Read again together, then written and read once more. */
	ck_assert_int_eq(yima_tx_range_find(tx, 12, YIMA_KIND_ITEM, &r), 0);
	ck_assert_int_eq(yima_tx_revoked(tx, 12, reason, sizeof(reason)), 1);
	ck_assert_int_eq(yima_tx_state_get(tx, 12, &got), 0);
	ck_assert_uint_eq(got.scans, 1);
	ck_assert_int_eq(got.first_at, 1000);
	s.scans = 2;
	s.last_located = 1;
	s.last_loc_at = 2000;
	s.last_lat = 31.25;
	s.last_lon = 121.5;
	ck_assert_int_eq(yima_tx_state_put(tx, 12, &s), 0);
	ck_assert_int_eq(yima_tx_state_get(tx, 12, &got), 0);
	ck_assert_uint_eq(got.scans, 2);
	ck_assert(got.last_located && got.last_lat == 31.25);
	/* Another code's state is its own. */
	ck_assert_int_eq(yima_tx_range_find(tx, 14, YIMA_KIND_ITEM, &r), 0);
	ck_assert_int_eq(yima_tx_state_get(tx, 12, &got), 0);
	ck_assert_uint_eq(got.scans, 2);
	ck_assert_int_eq(yima_tx_state_get(tx, 14, &got), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_revoked(tx, 14, reason, sizeof(reason)), 0);
	/* A new campaign moves the generation, in the same transaction. */
	ck_assert_int_eq(yima_tx_campaign_gen(tx, &g0), 0);
	memset(&c, 0, sizeof(c));
	strcpy(c.name, "gen");
	c.start = 0;
	c.end = 1;
	strcpy(c.status, "active");
	c.claim_kind = YIMA_KIND_INNER;
	c.budget = c.daily_budget = YIMA_NONE;
	c.per_day = c.per_consumer = c.per_network_hour = YIMA_NONE;
	ck_assert_int_eq(yima_tx_campaign_create(tx, &c, "{}"), 0);
	ck_assert_int_eq(yima_tx_campaign_gen(tx, &g1), 0);
	ck_assert_int_gt(g1, g0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
}
END_TEST

static void
count_tokens(void *ctx, const struct yima_token *t)
{
	int *n = ctx;

	ck_assert_int_gt(t->id, 0);
	(*n)++;
}

START_TEST(tokens)
{
	struct yima_token t;
	struct yima_tx *tx;
	int64_t id, id2;
	int n = 0;

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_token_create(tx, "h1", "admin", NULL, "me",
	    &id), 0);
	ck_assert_int_eq(yima_tx_token_create(tx, "h2", "dealer", "D1", NULL,
	    &id2), 0);
	ck_assert_int_eq(yima_tx_token_create(tx, "h1", "ops", NULL, NULL,
	    &id2), YIMA_EEXIST);
	ck_assert_int_ne(yima_tx_token_create(tx, "h3", "root", NULL, NULL,
	    &id2), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_token_find(tx, "h1", &t), 0);
	ck_assert_str_eq(t.role, "admin");
	ck_assert_str_eq(t.name, "me");
	ck_assert_int_eq(yima_tx_token_find(tx, "h2", &t), 0);
	ck_assert_str_eq(t.dealer, "D1");
	ck_assert_int_eq(yima_tx_token_find(tx, "nope", &t), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_token_list(tx, count_tokens, &n), 0);
	ck_assert_int_eq(n, 2);
	yima_tx_rollback(tx);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_token_revoke(tx, id), 0);
	ck_assert_int_eq(yima_tx_token_revoke(tx, id), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_token_find(tx, "h1", &t), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
}
END_TEST

/* Counts made in transactions: summed at commit, gone on rollback. */
START_TEST(rollups_and_report)
{
	static const struct {
		const char *dealer, *region, *gtin, *consumer;
		int verdict, claim;
	} scans[] = {
		{ "A", "310100", "G1", "c1", YIMA_V_GENUINE, 1 },
		{ "A", "310100", "G1", "c2", YIMA_V_REPEAT, 0 },
		{ "A", "330100", "G2", "c1", YIMA_V_GENUINE, 0 },
		{ "B", "440100", "G1", NULL, YIMA_V_SUSPECT, 0 },
		{ "", "", "", "c3", YIMA_V_GENUINE, 1 },
	};
	struct yima_rollup_key k;
	struct yima_tx *tx;
	char got[4][512], want[4][512];
	uint64_t h;
	size_t i;
	int run;

	/* Two transactions of the same scans, the second rolled back. */
	for (run = 0; run < 2; run++) {
		ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
		for (i = 0; i < sizeof(scans) / sizeof(scans[0]); i++) {
			memset(&k, 0, sizeof(k));
			k.day = 20400 + (int64_t)(i % 2);
			strcpy(k.dealer, scans[i].dealer);
			strcpy(k.region, scans[i].region);
			strcpy(k.gtin, scans[i].gtin);
			if (scans[i].consumer != NULL)
				h = tu_sketch_hash(scans[i].consumer, 2);
			ck_assert_int_eq(yima_tx_rollup_scan(tx, &k,
			    scans[i].verdict, scans[i].consumer != NULL ? &h :
			    NULL), 0);
			if (scans[i].claim)
				ck_assert_int_eq(yima_tx_rollup_claim(tx, &k),
				    0);
		}
		if (run == 0)
			ck_assert_int_eq(yima_tx_commit(tx), 0);
		else
			yima_tx_rollback(tx);
	}
	/* And once more committed: the rows are added to, not replaced. */
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	memset(&k, 0, sizeof(k));
	k.day = 20400;
	strcpy(k.dealer, "A");
	strcpy(k.region, "310100");
	strcpy(k.gtin, "G1");
	h = tu_sketch_hash("c9", 2);
	ck_assert_int_eq(yima_tx_rollup_scan(tx, &k, YIMA_V_GENUINE, &h), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	reports(st, got);
	/* day 20400: scans 0, 2, 4 and the last; 20401: scans 1, 3. */
	snprintf(want[0], 512, "20400:4/4/2/3 20401:2/0/0/1 ");
	snprintf(want[1], 512, "0:1/1/1/1 3101000:3/2/1/3 3301000:1/1/0/1 "
	    "4401000:1/0/0/0 ");
	snprintf(want[2], 512, "0:1/1/1/1 G10:4/2/1/3 G20:1/1/0/1 ");
	snprintf(want[3], 512, "0:1/1/1/1 A0:4/3/1/3 B0:1/0/0/0 ");
	for (i = 0; i < 4; i++)
		ck_assert_str_eq(got[i], want[i]);
	/* Filtered: a subtree (A's, with A1 under it) and a region prefix. */
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	dealer(tx, "A", NULL, "distributor");
	dealer(tx, "B", NULL, "distributor");
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	{
		struct yima_report_q q;

		memset(&q, 0, sizeof(q));
		q.to_day = 100000;
		q.by = YIMA_BY_REGION;
		q.root = "A";
		got[0][0] = '\0';
		ck_assert_int_eq(yima_tx_report_scans(tx, &q, row_text,
		    got[0]), 0);
		ck_assert_str_eq(got[0], "3101000:3/2/1/3 3301000:1/1/0/1 ");
		/* Privacy: Hangzhou's one consumer would go up into "other",
		 * which with one is not sent either. */
		q.min_consumers = 3;
		got[0][0] = '\0';
		ck_assert_int_eq(yima_tx_report_scans(tx, &q, row_text,
		    got[0]), 0);
		ck_assert_str_eq(got[0], "3101000:3/2/1/3 ");
		/* All owners, 2: the unlocated one, Hangzhou's and Guangzhou's
		 * (none) are "other" of 2, which is sent. */
		q.root = NULL;
		q.min_consumers = 2;
		got[0][0] = '\0';
		ck_assert_int_eq(yima_tx_report_scans(tx, &q, row_text,
		    got[0]), 0);
		ck_assert_str_eq(got[0], "3101000:3/2/1/3 other0:3/2/1/2 ");
		q.min_consumers = 0;
		q.by = YIMA_BY_SKU;
		q.root = NULL;
		q.region = "31";
		got[0][0] = '\0';
		ck_assert_int_eq(yima_tx_report_scans(tx, &q, row_text,
		    got[0]), 0);
		ck_assert_str_eq(got[0], "G10:3/2/1/3 ");
		q.root = "B";
		q.region = "44";
		got[0][0] = '\0';
		ck_assert_int_eq(yima_tx_report_scans(tx, &q, row_text,
		    got[0]), 0);
		ck_assert_str_eq(got[0], "G10:1/0/0/0 ");
		q.root = "";	/* a dealer no one is: nothing */
		q.region = NULL;
		got[0][0] = '\0';
		ck_assert_int_eq(yima_tx_report_scans(tx, &q, row_text,
		    got[0]), 0);
		ck_assert_str_eq(got[0], "");
	}
	yima_tx_rollback(tx);
}
END_TEST

/* A rolled-back write leaves nothing behind. */
START_TEST(rollback_discards)
{
	struct yima_manifest m;
	struct yima_range r;
	struct yima_tx *tx;
	int created;

	manifest(&m, "0123456789abcdef0123456789abcdef", 10, 5, 0);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_batch_import(tx, &m, m.hmac, &created), 0);
	yima_tx_rollback(tx);
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_range_find(tx, 10, YIMA_KIND_ITEM, &r),
	    YIMA_ENOENT);
	yima_tx_rollback(tx);
	ck_assert_int_eq(import(&m, &created), 0);
	ck_assert_int_eq(created, 1);
}
END_TEST

START_TEST(reopen_keeps_data_and_refuses_newer_schema)
{
	struct yima_store_opts o = { YIMA_SYNC_FULL, 1, 0, 1, 0 };
	struct yima_manifest m;
	struct yima_store *st2;
	char why[YIMA_WHY_MAX], *db = tu_path(tmp, "store.db");
	char *bad = tu_path(tmp, "no/such/dir/x.db");
	int created;

	manifest(&m, "0123456789abcdef0123456789abcdef", 10, 5, 0);
	ck_assert_int_eq(import(&m, &created), 0);
	yima_store_close(st);
	st = NULL;
	ck_assert_int_eq(yima_store_open(db, &o, &st2, why), 0);
	st = st2;
	ck_assert_int_eq(import(&m, &created), 0);
	ck_assert_int_eq(created, 0);
	ck_assert_int_ne(yima_store_open(bad, &o, &st2, why), 0);
	ck_assert_uint_gt(strlen(why), 5);
	o.readers = 0;
	ck_assert_int_eq(yima_store_open(db, &o, &st2, why), YIMA_EINVAL);
	/* A database from a newer program is left alone. */
	{
		sqlite3 *raw;

		ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA user_version = 999",
		    NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(raw);
	}
	o.readers = 1;
	ck_assert_int_eq(yima_store_open(db, &o, &st2, why), YIMA_EDB);
	ck_assert_ptr_nonnull(strstr(why, "newer"));
	free(db);
	free(bad);
}
END_TEST

static void
dealer(struct yima_tx *tx, const char *id, const char *parent,
    const char *type)
{
	struct yima_dealer d;

	memset(&d, 0, sizeof(d));
	snprintf(d.id, sizeof(d.id), "%s", id);
	snprintf(d.name, sizeof(d.name), "Dealer %s", id);
	snprintf(d.parent, sizeof(d.parent), "%s", parent ? parent : "");
	snprintf(d.type, sizeof(d.type), "%s", type);
	ck_assert_int_eq(yima_tx_dealer_create(tx, &d), 0);
}

START_TEST(dealers_and_territories)
{
	static const char *const gd[] = { "44", "4501" };
	static const char *const sz[] = { "440300" };
	struct yima_dealer d;
	struct yima_tx *tx;
	char regions[8][7], from[YIMA_DEALER_ID_MAX + 1];
	size_t n;
	int under;

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	dealer(tx, "D", NULL, "distributor");
	dealer(tx, "D1", "D", "dealer");
	dealer(tx, "S1", "D1", "store");
	dealer(tx, "X", NULL, "distributor");
	memset(&d, 0, sizeof(d));
	strcpy(d.id, "D1");
	strcpy(d.name, "again");
	strcpy(d.type, "dealer");
	ck_assert_int_eq(yima_tx_dealer_create(tx, &d), YIMA_EEXIST);
	strcpy(d.id, "Z");
	strcpy(d.parent, "nobody");
	ck_assert_int_eq(yima_tx_dealer_create(tx, &d), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_dealer_under(tx, "D", "S1", &under), 0);
	ck_assert_int_eq(under, 1);
	ck_assert_int_eq(yima_tx_dealer_under(tx, "D", "D", &under), 0);
	ck_assert_int_eq(under, 1);
	ck_assert_int_eq(yima_tx_dealer_under(tx, "D1", "D", &under), 0);
	ck_assert_int_eq(under, 0);
	ck_assert_int_eq(yima_tx_dealer_under(tx, "X", "S1", &under), 0);
	ck_assert_int_eq(under, 0);
	/* No territory anywhere, then inherited from the nearest. */
	ck_assert_int_eq(yima_tx_territory_of(tx, "S1", regions, 8, &n,
	    from), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(yima_tx_territory_set(tx, "D", gd, 2), 0);
	ck_assert_int_eq(yima_tx_territory_of(tx, "S1", regions, 8, &n,
	    from), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(regions[0], "44");
	ck_assert_str_eq(regions[1], "4501");
	ck_assert_str_eq(from, "D");
	ck_assert_int_eq(yima_tx_territory_set(tx, "D1", sz, 1), 0);
	ck_assert_int_eq(yima_tx_territory_of(tx, "S1", regions, 8, &n,
	    from), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(regions[0], "440300");
	ck_assert_str_eq(from, "D1");
	/* Replacing clears the old set. */
	ck_assert_int_eq(yima_tx_territory_set(tx, "D1", NULL, 0), 0);
	ck_assert_int_eq(yima_tx_territory_of(tx, "S1", regions, 8, &n,
	    from), 0);
	ck_assert_str_eq(from, "D");
	ck_assert_int_eq(yima_tx_commit(tx), 0);
}
END_TEST

/* A movement answers the balance after it; a floor refuses, writing none. */
START_TEST(ledger_balance_and_floor)
{
	struct yima_movement m = { .at = 1, .account = "c1", .kind = "claim",
	    .unit = "points", .amount = 50 };
	struct yima_tx *tx;
	int64_t bal = -1;

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_ledger_add(tx, &m, 0, &bal), 0);
	ck_assert_int_eq(bal, 50);
	m.amount = 30;
	ck_assert_int_eq(yima_tx_ledger_add(tx, &m, 1, &bal), 0);
	ck_assert_int_eq(bal, 80);
	snprintf(m.kind, sizeof(m.kind), "redemption");
	m.amount = -81;
	bal = -1;
	ck_assert_int_eq(yima_tx_ledger_add(tx, &m, 1, &bal), YIMA_ERANGE);
	ck_assert_int_eq(bal, -1);
	ck_assert_int_eq(yima_tx_balance(tx, "c1", "points", &bal), 0);
	ck_assert_int_eq(bal, 80);
	m.amount = -80;
	ck_assert_int_eq(yima_tx_ledger_add(tx, &m, 1, &bal), 0);
	ck_assert_int_eq(bal, 0);
	/* Without the floor a balance may go below zero (a reversal). */
	snprintf(m.kind, sizeof(m.kind), "reversal");
	m.amount = -5;
	ck_assert_int_eq(yima_tx_ledger_add(tx, &m, 0, &bal), 0);
	ck_assert_int_eq(bal, -5);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
}
END_TEST

START_TEST(packs_and_owners)
{
	struct yima_span sp[4];
	struct yima_tx *tx;
	char owner[YIMA_DEALER_ID_MAX + 1];
	uint64_t parent;
	size_t n;
	int rows;

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	dealer(tx, "A", NULL, "dealer");
	dealer(tx, "B", NULL, "dealer");
	ck_assert_int_eq(yima_tx_pack_add(tx, 1000, 1, 24, 1), 0);
	ck_assert_int_eq(yima_tx_pack_add(tx, 1000, 30, 30, 1), 0);
	ck_assert_int_eq(yima_tx_pack_parent(tx, 12, &parent), 0);
	ck_assert_uint_eq(parent, 1000);
	ck_assert_int_eq(yima_tx_pack_parent(tx, 25, &parent), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_pack_parent(tx, 30, &parent), 0);
	ck_assert_int_eq(yima_tx_pack_children(tx, 1000, sp, 4, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(sp[0].last, 24);
	ck_assert_int_eq(yima_tx_pack_children(tx, 1000, sp, 1, &n),
	    YIMA_ERANGE);
	ck_assert_int_eq(yima_tx_unpack(tx, 1000, 2, &rows), 0);
	ck_assert_int_eq(rows, 2);
	ck_assert_int_eq(yima_tx_pack_parent(tx, 12, &parent), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_pack_add(tx, 2000, 1, 24, 3), 0);
	ck_assert_int_eq(yima_tx_pack_parent(tx, 1, &parent), 0);
	ck_assert_uint_eq(parent, 2000);
	/* Owners: later shipments cut earlier ranges. */
	ck_assert_int_eq(yima_tx_owner(tx, 5, owner), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_ship(tx, 1, 100, "A", "r1", 10), 0);
	ck_assert_int_eq(yima_tx_ship(tx, 40, 60, "B", NULL, 11), 0);
	ck_assert_int_eq(yima_tx_owner(tx, 39, owner), 0);
	ck_assert_str_eq(owner, "A");
	ck_assert_int_eq(yima_tx_owner(tx, 40, owner), 0);
	ck_assert_str_eq(owner, "B");
	ck_assert_int_eq(yima_tx_owner(tx, 60, owner), 0);
	ck_assert_str_eq(owner, "B");
	ck_assert_int_eq(yima_tx_owner(tx, 61, owner), 0);
	ck_assert_str_eq(owner, "A");
	/* Every shipment is kept: A was shipped 40 though B owns it now. */
	ck_assert_int_eq(yima_tx_shipped_to(tx, 40, "A", &rows), 0);
	ck_assert_int_eq(rows, 1);
	ck_assert_int_eq(yima_tx_shipped_to(tx, 40, "B", &rows), 0);
	ck_assert_int_eq(rows, 1);
	ck_assert_int_eq(yima_tx_shipped_to(tx, 61, "B", &rows), 0);
	ck_assert_int_eq(rows, 0);
	ck_assert_int_eq(yima_tx_shipped_to(tx, 101, "A", &rows), 0);
	ck_assert_int_eq(rows, 0);
	ck_assert_int_eq(yima_tx_owner(tx, 101, owner), YIMA_ENOENT);
	/* Covering several ranges at once. */
	ck_assert_int_eq(yima_tx_ship(tx, 30, 70, "A", NULL, 12), 0);
	ck_assert_int_eq(yima_tx_owner(tx, 50, owner), 0);
	ck_assert_str_eq(owner, "A");
	ck_assert_int_eq(yima_tx_ship(tx, 50, 50, "B", NULL, 13), 0);
	ck_assert_int_eq(yima_tx_owner(tx, 49, owner), 0);
	ck_assert_str_eq(owner, "A");
	ck_assert_int_eq(yima_tx_owner(tx, 50, owner), 0);
	ck_assert_str_eq(owner, "B");
	ck_assert_int_eq(yima_tx_owner(tx, 51, owner), 0);
	ck_assert_str_eq(owner, "A");
	ck_assert_int_eq(yima_tx_owner(tx, 1, owner), 0);
	ck_assert_str_eq(owner, "A");
	/* A later shipment of the case the bottle is in now wins ... */
	ck_assert_int_eq(yima_tx_pack_add(tx, 3000, 2000, 2000, 4), 0);
	ck_assert_int_eq(yima_tx_ship(tx, 3000, 3000, "B", NULL, 20), 0);
	ck_assert_int_eq(yima_tx_owner(tx, 1, owner), 0);
	ck_assert_str_eq(owner, "B");
	ck_assert_int_eq(yima_tx_owner(tx, 25, owner), 0);
	ck_assert_str_eq(owner, "A");
	/* ... the nearer case on equal times ... */
	ck_assert_int_eq(yima_tx_ship(tx, 2000, 2000, "A", NULL, 20), 0);
	ck_assert_int_eq(yima_tx_owner(tx, 1, owner), 0);
	ck_assert_str_eq(owner, "A");
	/* ... and cases up to three packs up, not four. */
	ck_assert_int_eq(yima_tx_pack_add(tx, 4000, 3000, 3000, 5), 0);
	ck_assert_int_eq(yima_tx_pack_add(tx, 5000, 4000, 4000, 6), 0);
	ck_assert_int_eq(yima_tx_ship(tx, 5000, 5000, "B", NULL, 30), 0);
	ck_assert_int_eq(yima_tx_owner(tx, 1, owner), 0);
	ck_assert_str_eq(owner, "A");
	ck_assert_int_eq(yima_tx_ship(tx, 4000, 4000, "B", NULL, 25), 0);
	ck_assert_int_eq(yima_tx_owner(tx, 1, owner), 0);
	ck_assert_str_eq(owner, "B");
	ck_assert_int_eq(yima_tx_commit(tx), 0);
}
END_TEST

static void
count_div(void *ctx, const struct yima_diversion *d)
{
	int *n = ctx;

	ck_assert(d->receipt_id ? strcmp(d->evidence, "consumer") != 0 :
	    strcmp(d->evidence, "consumer") == 0);
	(*n)++;
}

/* The last event listed: the latest, when a limit keeps one. */
static void
last_div(void *ctx, const struct yima_diversion *d)
{
	*(struct yima_diversion *)ctx = *d;
}

/* "owner/evidence=n " per count, appended. */
static void
sum_div(void *ctx, const struct yima_diversion *d, int64_t n)
{
	char *out = ctx;

	snprintf(out + strlen(out), 256 - strlen(out), "%s/%s%s=%lld ",
	    d->owner, d->evidence, d->uncertain ? "?" : "", (long long)n);
}

START_TEST(diversions_and_channels)
{
	struct yima_diversion last;
	char counts[256] = "";
	struct yima_diversion d;
	struct yima_channel c, got;
	struct yima_tx *tx;
	uint64_t ch;
	int n = 0;

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	dealer(tx, "D", NULL, "distributor");
	dealer(tx, "D1", "D", "dealer");
	dealer(tx, "X", NULL, "dealer");
	memset(&d, 0, sizeof(d));
	d.scan_id = 1;
	d.at = 1000;
	d.serial = 5;
	strcpy(d.owner, "D1");
	strcpy(d.region, "310100");
	strcpy(d.evidence, "consumer");
	ck_assert_int_eq(yima_tx_diversion_add(tx, &d), 0);
	d.scan_id = 0;
	d.receipt_id = 7;
	d.at = 2000;
	strcpy(d.evidence, "store");
	ck_assert_int_eq(yima_tx_diversion_add(tx, &d), 0);
	strcpy(d.owner, "X");
	ck_assert_int_eq(yima_tx_diversion_add(tx, &d), 0);
	ck_assert_int_eq(yima_tx_diversion_list(tx, NULL, 0, 10000, 0, count_div,
	    &n), 0);
	ck_assert_int_eq(n, 3);
	n = 0;
	ck_assert_int_eq(yima_tx_diversion_list(tx, "D", 0, 10000, 0, count_div,
	    &n), 0);
	ck_assert_int_eq(n, 2);
	n = 0;
	ck_assert_int_eq(yima_tx_diversion_list(tx, "D", 1500, 10000, 0,
	    count_div, &n), 0);
	ck_assert_int_eq(n, 1);
	/* A limit keeps the latest: X's, added after D1's at the same time. */
	ck_assert_int_eq(yima_tx_diversion_list(tx, NULL, 0, 10000, 1,
	    last_div, &last), 0);
	ck_assert_str_eq(last.owner, "X");
	ck_assert_int_eq(last.at, 2000);
	ck_assert_int_eq(yima_tx_diversion_counts(tx, "D", 0, 10000, sum_div,
	    counts), 0);
	ck_assert_str_eq(counts, "D1/consumer=1 D1/store=1 ");
	d.uncertain = 1;
	ck_assert_int_eq(yima_tx_diversion_add(tx, &d), 0);
	counts[0] = '\0';
	ck_assert_int_eq(yima_tx_diversion_counts(tx, NULL, 1500, 10000,
	    sum_div, counts), 0);
	ck_assert_str_eq(counts, "D1/store=1 X/store=1 X/store?=1 ");
	/* A receipt from outside the goods' chain is kept as unverified. */
	d.uncertain = 0;
	strcpy(d.evidence, "unverified");
	ck_assert_int_eq(yima_tx_diversion_add(tx, &d), 0);
	counts[0] = '\0';
	ck_assert_int_eq(yima_tx_diversion_counts(tx, "X", 1500, 10000,
	    sum_div, counts), 0);
	ck_assert_str_eq(counts, "X/store=1 X/store?=1 X/unverified=1 ");
	memset(&c, 0, sizeof(c));
	strcpy(c.dealer, "D1");
	strcpy(c.type, "store");
	strcpy(c.name, "Shop 1");
	ck_assert_int_eq(yima_tx_channel_bind(tx, 77, &c), 0);
	ck_assert_int_eq(yima_tx_channel_get(tx, 77, &got), 0);
	ck_assert_str_eq(got.name, "Shop 1");
	ck_assert_int_eq(yima_tx_channel_get(tx, 78, &got), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_consumer_channel_set(tx, "c1", 77, 5000), 0);
	ck_assert_int_eq(yima_tx_consumer_channel_get(tx, "c1", 4999, &ch), 0);
	ck_assert_uint_eq(ch, 77);
	ck_assert_int_eq(yima_tx_consumer_channel_get(tx, "c1", 5000, &ch),
	    YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
}
END_TEST

static unsigned
mode_of(const char *path)
{
	struct stat sb;

	ck_assert_msg(stat(path, &sb) == 0, "stat %s", path);
	return (unsigned)(sb.st_mode & 07777);
}

/*
 * The database holds personal data (issue 13, defect 3): under the usual
 * umask 022 it and its -wal and -shm are 0600, and a file others may
 * read or write is refused, before anything is written to it.
 */
START_TEST(database_private)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 2, 0, 1, 0 };
	struct yima_manifest m;
	struct yima_store *st2;
	char why[YIMA_WHY_MAX], *db = tu_path(tmp, "private.db");
	char *wal = tu_path(tmp, "private.db-wal");
	char *shm = tu_path(tmp, "private.db-shm");
	char *link = tu_path(tmp, "link.db");
	char *before, *after;
	size_t n1, n2;
	mode_t old = umask(022);
	int created;

	ck_assert_msg(yima_store_open(db, &o, &st2, why) == 0, "%s", why);
	yima_store_close(st);
	st = st2;
	manifest(&m, "0123456789abcdef0123456789abcdef", 10, 5, 0);
	ck_assert_int_eq(import(&m, &created), 0);
	/* Open with a commit done: the WAL files are there. */
	ck_assert_uint_eq(mode_of(db), 0600);
	ck_assert_uint_eq(mode_of(wal), 0600);
	ck_assert_uint_eq(mode_of(shm), 0600);
	yima_store_close(st);
	st = NULL;

	ck_assert_int_eq(chmod(db, 0644), 0);
	ck_assert_ptr_nonnull(before = tu_read_file(db, &n1));
	ck_assert_int_eq(yima_store_open(db, &o, &st2, why), YIMA_EPERM);
	ck_assert_msg(strstr(why, "0644") != NULL && strstr(why, "chmod 600")
	    != NULL && strstr(why, db) != NULL, "%s", why);
	/* Refused before SQLite opened it: nothing written, no WAL made. */
	ck_assert_ptr_nonnull(after = tu_read_file(db, &n2));
	ck_assert(n1 == n2 && memcmp(before, after, n1) == 0);
	ck_assert_int_ne(access(wal, F_OK), 0);
	ck_assert_int_ne(access(shm, F_OK), 0);
	ck_assert_uint_eq(mode_of(db), 0644);
	free(before);
	free(after);
	ck_assert_int_eq(chmod(db, 0640), 0);
	ck_assert_int_eq(yima_store_open(db, &o, &st2, why), YIMA_EPERM);
	/* A -wal left by a crash is checked as well. */
	ck_assert_int_eq(chmod(db, 0600), 0);
	ck_assert_int_eq(tu_write_file(wal, "", 0), 0);
	ck_assert_int_eq(chmod(wal, 0604), 0);
	ck_assert_int_eq(yima_store_open(db, &o, &st2, why), YIMA_EPERM);
	ck_assert_msg(strstr(why, wal) != NULL, "%s", why);
	ck_assert_int_eq(unlink(wal), 0);
	/* A link, even to a private file, and another user's file. */
	ck_assert_int_eq(symlink(db, link), 0);
	ck_assert_int_eq(yima_store_open(link, &o, &st2, why), YIMA_EPERM);
	ck_assert_msg(strstr(why, "symbolic link") != NULL, "%s", why);
	if (geteuid() == 0) {	/* CI runs as root: it may give a file away */
		ck_assert_int_eq(chown(db, 65534, 65534), 0);
		ck_assert_int_eq(yima_store_open(db, &o, &st2, why),
		    YIMA_EPERM);
		ck_assert_msg(strstr(why, "another user's") != NULL, "%s",
		    why);
		ck_assert_int_eq(chown(db, 0, 0), 0);
	}
	ck_assert_msg(yima_store_open(db, &o, &st, why) == 0, "%s", why);
	umask(old);
	free(db);
	free(wal);
	free(shm);
	free(link);
}
END_TEST

#define CA	"aaaaaaaaaaaaaaaaaaaaaaaa"	/* consumer ids, as stored */
#define CB	"bbbbbbbbbbbbbbbbbbbbbbbb"
#define HA	"1111111111111111111111111111111111111111111111111111111111111111"
#define HB	"2222222222222222222222222222222222222222222222222222222222222222"
#define PSEUDO	"erased0123456789abcdef01"

static void
add_scan(struct yima_tx *tx, int64_t at, uint64_t serial,
    const char *consumer, double lat)
{
	struct yima_scan_row r;
	int64_t id;

	memset(&r, 0, sizeof(r));
	r.at = at;
	r.has_serial = 1;
	r.serial = serial;
	r.kind = YIMA_KIND_ITEM;
	r.verdict = YIMA_V_GENUINE;
	r.located = lat != 0;
	r.lat = lat;
	r.lon = 121.5;
	r.accuracy = 10;
	r.consumer = consumer;
	r.client = "198.51.100.7";
	strcpy(r.region, "310101");
	ck_assert_int_eq(yima_tx_scan_insert(tx, &r, &id), 0);
}

/* Scans: "at/serial/region " each, newest first. */
static void
scan_text(void *ctx, const struct yima_scan_row *r)
{
	char *out = ctx;

	ck_assert(r->has_serial && r->kind == YIMA_KIND_ITEM &&
	    r->verdict == YIMA_V_GENUINE);
	snprintf(out + strlen(out), 512 - strlen(out), "%lld/%llu/%s ",
	    (long long)r->at, (unsigned long long)r->serial, r->region);
}

static void
claim_text(void *ctx, const struct yima_claim *c)
{
	char *out = ctx;

	snprintf(out + strlen(out), 512 - strlen(out), "%llu/%s/%lld ",
	    (unsigned long long)c->serial, c->consumer, (long long)c->points);
}

static void
store_problem(void *ctx, const char *problem)
{
	(void)ctx;
	ck_abort_msg("ledger check: %s", problem);
}

static void
ledger_clean(void)
{
	struct yima_tx *tx;
	int64_t rows, problems;

	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_ledger_check(tx, store_problem, NULL, &rows,
	    &problems), 0);
	ck_assert_int_eq(problems, 0);
	ck_assert_int_gt(rows, 0);
	yima_tx_rollback(tx);
}

/*
 * Consumers' rights: a consumer's scans and claims are listed for an
 * export; an erasure takes the id, the places and addresses of its rows
 * and moves its accounts to a pseudonym, once; the other consumer keeps
 * everything; old scans lose their consumer ids, newer ones keep them.
 */
START_TEST(consumer_export_erase_drop)
{
	const char hashes[2][65] = { HA, HB };
	struct yima_code_state s, got;
	struct yima_movement m;
	struct yima_voucher v;
	struct yima_redemption rd;
	struct yima_claim c;
	struct yima_erasure e;
	struct yima_tx *tx;
	char text[512];
	int64_t id, bal;
	uint64_t ch;
	int erased[2], n, frozen;

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	add_scan(tx, 1000, 7, CA, 31.25);	/* A's first scan of 7 */
	add_scan(tx, 2000, 7, CB, 31.5);
	add_scan(tx, 3000, 8, CB, 30.5);
	add_scan(tx, 4000, 8, CA, 30.75);	/* A's is 8's last place */
	add_scan(tx, 5000, 9, CA, 0);		/* not located */
	memset(&s, 0, sizeof(s));
	s.scans = 2;
	s.first_at = 1000;
	s.first_located = s.last_located = 1;
	s.first_lat = 31.25;
	s.first_lon = 121.5;
	s.last_loc_at = 2000;
	s.last_lat = 31.5;
	s.last_lon = 121.5;
	ck_assert_int_eq(yima_tx_state_put(tx, 7, &s), 0);
	s.first_at = 3000;
	s.first_lat = 30.5;
	s.last_loc_at = 4000;
	s.last_lat = 30.75;
	ck_assert_int_eq(yima_tx_state_put(tx, 8, &s), 0);
	memset(&c, 0, sizeof(c));
	c.serial = 7;
	strcpy(c.consumer, CA);
	strcpy(c.network, "198.51.100.0/24");
	c.at = 1000;
	strcpy(c.status, "granted");
	c.points = 10;
	c.located = 1;
	c.lat = 31.25;
	c.lon = 121.5;
	ck_assert_int_eq(yima_tx_claim_add(tx, &c, &id), 0);
	memset(&m, 0, sizeof(m));
	m.at = 1000;
	strcpy(m.account, "consumer:" CA);
	strcpy(m.kind, "claim");
	strcpy(m.unit, "points");
	m.amount = 10;
	m.claim = id;
	ck_assert_int_eq(yima_tx_ledger_add(tx, &m, 0, NULL), 0);
	c.serial = 8;
	strcpy(c.consumer, CB);
	ck_assert_int_eq(yima_tx_claim_add(tx, &c, &id), 0);
	strcpy(m.account, "consumer:" CB);
	m.claim = id;
	ck_assert_int_eq(yima_tx_ledger_add(tx, &m, 0, NULL), 0);
	/* A's voucher: a bottle held, as the ledger says. */
	memset(&v, 0, sizeof(v));
	strcpy(v.id, "V0000000000000000001");
	v.claim = id;
	strcpy(v.consumer, CA);
	strcpy(v.name, "bottle");
	v.bottles = 1;
	v.created_at = 1000;
	ck_assert_int_eq(yima_tx_voucher_add(tx, &v), 0);
	strcpy(m.account, "consumer:" CA);
	strcpy(m.kind, "reimbursement");
	strcpy(m.unit, "bottles");
	m.amount = 1;
	m.claim = 0;
	ck_assert_int_eq(yima_tx_ledger_add(tx, &m, 0, NULL), 0);
	memset(&rd, 0, sizeof(rd));
	strcpy(rd.consumer, CA);
	strcpy(rd.key, "k1");
	rd.item = 1;
	rd.at = 1000;
	ck_assert_int_eq(yima_tx_redemption_add(tx, &rd), 0);
	ck_assert_int_eq(yima_tx_consumer_channel_set(tx, CA, 77, 1 << 30), 0);
	ck_assert_int_eq(yima_tx_freeze_set(tx, "consumer", CA, 1, "test"), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	ledger_clean();

	/* The export's lists: A's only, newest first. */
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	text[0] = '\0';
	ck_assert_int_eq(yima_tx_consumer_scans(tx, CA, 10, scan_text, text),
	    0);
	ck_assert_str_eq(text, "5000/9/310101 4000/8/310101 1000/7/310101 ");
	text[0] = '\0';
	ck_assert_int_eq(yima_tx_consumer_scans(tx, CA, 2, scan_text, text),
	    0);
	ck_assert_str_eq(text, "5000/9/310101 4000/8/310101 ");
	text[0] = '\0';
	ck_assert_int_eq(yima_tx_consumer_claims(tx, CA, 10, claim_text,
	    text), 0);
	ck_assert_str_eq(text, "7/" CA "/10 ");
	ck_assert_int_eq(yima_tx_consumers_erased(tx, hashes, 2, erased), 0);
	ck_assert(erased[0] == 0 && erased[1] == 0);
	yima_tx_rollback(tx);

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_consumer_erase(tx, CA, HA, PSEUDO, 9000, &e),
	    0);
	ck_assert_int_eq(e.scans, 3);
	ck_assert_int_eq(e.claims, 1);
	ck_assert_int_eq(e.movements, 2);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	ledger_clean();

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_consumers_erased(tx, hashes, 2, erased), 0);
	ck_assert(erased[0] == 1 && erased[1] == 0);
	/* Once: a second erasure changes nothing. */
	ck_assert_int_eq(yima_tx_consumer_erase(tx, CA, HA, "erasedffffffffffff"
	    "ffffff", 9001, &e), YIMA_EEXIST);
	yima_tx_rollback(tx);

	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	text[0] = '\0';
	ck_assert_int_eq(yima_tx_consumer_scans(tx, CA, 10, scan_text, text),
	    0);
	ck_assert_str_eq(text, "");
	ck_assert_int_eq(yima_tx_consumer_claims(tx, CA, 10, claim_text,
	    text), 0);
	ck_assert_str_eq(text, "");
	ck_assert_int_eq(yima_tx_consumer_claims(tx, PSEUDO, 10, claim_text,
	    text), 0);
	ck_assert_str_eq(text, "7/" PSEUDO "/10 ");
	/* The places A left on codes 7 (first) and 8 (last) are gone. */
	ck_assert_int_eq(yima_tx_state_get(tx, 7, &got), 0);
	ck_assert_int_eq(got.first_located, 0);
	ck_assert(got.last_located && got.last_lat == 31.5);
	ck_assert_int_eq(yima_tx_state_get(tx, 8, &got), 0);
	ck_assert(got.first_located && got.first_lat == 30.5);
	ck_assert_int_eq(got.last_located, 0);
	ck_assert_uint_eq(got.scans, 2);
	/* The accounts moved whole; A's id holds nothing. */
	ck_assert_int_eq(yima_tx_balance(tx, "consumer:" CA, "points", &bal),
	    0);
	ck_assert_int_eq(bal, 0);
	ck_assert_int_eq(yima_tx_balance(tx, "consumer:" PSEUDO, "points",
	    &bal), 0);
	ck_assert_int_eq(bal, 10);
	ck_assert_int_eq(yima_tx_balance(tx, "consumer:" PSEUDO, "bottles",
	    &bal), 0);
	ck_assert_int_eq(bal, 1);
	ck_assert_int_eq(yima_tx_redemption_find(tx, CA, "k1", &rd),
	    YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_redemption_find(tx, PSEUDO, "k1", &rd), 0);
	ck_assert_int_eq(yima_tx_consumer_channel_get(tx, CA, 0, &ch),
	    YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_frozen(tx, CA, "", &frozen), 0);
	ck_assert_int_eq(frozen, 0);
	/* B keeps everything. */
	text[0] = '\0';
	ck_assert_int_eq(yima_tx_consumer_scans(tx, CB, 10, scan_text, text),
	    0);
	ck_assert_str_eq(text, "3000/8/310101 2000/7/310101 ");
	ck_assert_int_eq(yima_tx_balance(tx, "consumer:" CB, "points", &bal),
	    0);
	ck_assert_int_eq(bal, 10);
	yima_tx_rollback(tx);

	/* Retention: B's scan at 2000 is older than 2500, its 3000 not. */
	ck_assert_int_eq(yima_store_consumers_drop(st, 2500, 100, &n), 0);
	ck_assert_int_eq(n, 2);		/* the scans at 1000 and 2000 */
	ck_assert_int_eq(yima_store_consumers_drop(st, 2500, 100, &n), 0);
	ck_assert_int_eq(n, 0);		/* past the watermark */
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	text[0] = '\0';
	ck_assert_int_eq(yima_tx_consumer_scans(tx, CB, 10, scan_text, text),
	    0);
	ck_assert_str_eq(text, "3000/8/310101 ");
	yima_tx_rollback(tx);
	/* In batches of max: one, then the rest. */
	ck_assert_int_eq(yima_store_consumers_drop(st, 1 << 30, 1, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(yima_store_consumers_drop(st, 1 << 30, 100, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	text[0] = '\0';
	ck_assert_int_eq(yima_tx_consumer_scans(tx, CB, 10, scan_text, text),
	    0);
	ck_assert_str_eq(text, "");
	yima_tx_rollback(tx);
	ledger_clean();
}
END_TEST

/* Runs one UPDATE on the test's database, whichever engine it is. */
static void
raw_update(const char *sql)
{
	char *db = tu_path(tmp, "store.db"), q[512];
	sqlite3 *raw;

	if (access(db, F_OK) == 0) {
		ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(raw, sql, NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(raw);
	} else {
		snprintf(q, sizeof(q), "WITH u AS (%s RETURNING 1) SELECT "
		    "COUNT(*) FROM u", sql);
		ck_assert_int_ge(tu_pg_int(q), 0);
	}
	free(db);
}

/*
 * Retention passes go on past a gap in the scan ids wider than their
 * batch (PostgreSQL leaves one for every rolled-back id): they once
 * looked only within max ids of the watermark and stopped for good.
 */
START_TEST(upkeep_past_gaps)
{
	struct yima_tx *tx;
	int n, i;

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	for (i = 0; i < 3; i++)
		add_scan(tx, 1000 + i, (uint64_t)(40 + i), CA, 31.25);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	raw_update("UPDATE scans SET id = id + 50000 WHERE at > 1000");
	ck_assert_int_eq(yima_store_coarsen(st, 5000, 100, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(yima_store_coarsen(st, 5000, 100, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(yima_store_consumers_drop(st, 5000, 100, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(yima_store_consumers_drop(st, 5000, 100, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(yima_store_consumers_drop(st, 5000, 100, &n), 0);
	ck_assert_int_eq(n, 0);
}
END_TEST

/* What a transaction answers about serial, as text to compare. */
static void
facts(struct yima_tx *tx, uint64_t serial, const char *consumer, int64_t at,
    char *out, size_t len)
{
	struct yima_range r;
	struct yima_code_state s;
	struct yima_channel c;
	char reason[256] = "", owner[YIMA_DEALER_ID_MAX + 1] = "";
	uint64_t ch = 0;
	int a, b, k, v, o, h, cc;

	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	memset(&c, 0, sizeof(c));
	a = yima_tx_range_find(tx, serial, YIMA_KIND_ITEM, &r);
	k = yima_tx_range_find(tx, serial, YIMA_KIND_BOX, &r);
	b = yima_tx_revoked(tx, serial, reason, sizeof(reason));
	v = yima_tx_state_get(tx, serial, &s);
	o = yima_tx_owner(tx, serial, owner);
	h = yima_tx_channel_get(tx, serial, &c);
	cc = yima_tx_consumer_channel_get(tx, consumer, at, &ch);
	snprintf(out, len, "%d %d %s %llu-%llu %s %s | %d %s | %d %llu %lld "
	    "%d %.6f %lld %d %.6f | %d %s | %d %s %s %s | %d %llu", a, k,
	    r.batch, (unsigned long long)r.first, (unsigned long long)r.last,
	    r.gtin, r.lot, b, reason, v, (unsigned long long)s.scans,
	    (long long)s.first_at, s.first_located, s.first_lat,
	    (long long)s.last_loc_at, s.last_located, s.last_lon, o, owner,
	    h, c.dealer, c.type, c.name, cc, (unsigned long long)ch);
}

/*
 * A scan batch read ahead answers every question as the store would
 * without it, and what it holds goes in before anything reads it.
 */
START_TEST(scans_ahead_answers)
{
	static const uint64_t serials[] = { 3, 10, 40, 50, 77, 500, 10 };
	static const char *const cons[] = { "c1", "c2", "c3" };
	struct yima_scan_ahead a = { serials, 7, cons, 3, 4 };
	struct yima_manifest m;
	struct yima_code_state s;
	struct yima_channel c;
	struct yima_scan_row row;
	struct yima_tx *tx;
	char want[8][3][512], got[512];
	uint64_t n, k, ch;
	int64_t id[4];
	size_t i, j;
	int created, e;

	manifest(&m, "00000000000000000000000000000001", 1, 100, 0);
	ck_assert_int_eq(import(&m, &created), 0);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	dealer(tx, "A", NULL, "dealer");
	dealer(tx, "B", NULL, "dealer");
	ck_assert_int_eq(yima_tx_revoke(tx, 50, 60, "recalled"), 0);
	memset(&s, 0, sizeof(s));
	s.scans = 2;
	s.first_at = 900;
	s.last_located = 1;
	s.last_loc_at = 950;
	s.last_lat = 30.5;
	s.last_lon = 120.25;
	ck_assert_int_eq(yima_tx_state_put(tx, 10, &s), 0);
	ck_assert_int_eq(yima_tx_pack_add(tx, 1000, 1, 24, 1), 0);
	ck_assert_int_eq(yima_tx_ship(tx, 1000, 1000, "A", "r1", 10), 0);
	ck_assert_int_eq(yima_tx_ship(tx, 40, 45, "B", NULL, 11), 0);
	memset(&c, 0, sizeof(c));
	strcpy(c.dealer, "B");
	strcpy(c.type, "store");
	strcpy(c.name, "Shop");
	ck_assert_int_eq(yima_tx_channel_bind(tx, 77, &c), 0);
	ck_assert_int_eq(yima_tx_consumer_channel_set(tx, "c1", 77, 5000), 0);
	ck_assert_int_eq(yima_tx_consumer_channel_set(tx, "c2", 77, 1500), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);

	/* Without reading ahead, then with: the same answers. */
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	for (i = 0; i < 7; i++)
		for (j = 0; j < 3; j++)
			facts(tx, serials[i], cons[j], 2000, want[i][j],
			    sizeof(want[i][j]));
	yima_tx_rollback(tx);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_scans_ahead(tx, &a), 0);
	for (i = 0; i < 7; i++)
		for (j = 0; j < 3; j++) {
			facts(tx, serials[i], cons[j], 2000, got, sizeof(got));
			ck_assert_str_eq(got, want[i][j]);
		}
	/* Held writes: the answers are the new ones, and a read of the
	 * scans (recent) finds the held rows. */
	s.scans = 3;
	ck_assert_int_eq(yima_tx_state_put(tx, 10, &s), 0);
	ck_assert_int_eq(yima_tx_state_get(tx, 10, &s), 0);
	ck_assert_uint_eq(s.scans, 3);
	for (i = 0; i < 4; i++) {
		memset(&row, 0, sizeof(row));
		row.at = 3000 + (int64_t)i;
		row.has_serial = i < 3;
		row.serial = 10;
		row.kind = i < 3 ? YIMA_KIND_ITEM : 0;
		row.verdict = i < 3 ? YIMA_V_REPEAT : YIMA_V_INVALID;
		row.located = i == 0;
		row.lat = 31.25;
		row.lon = 121.5;
		row.accuracy = -1;
		row.consumer = cons[i % 3];
		row.client = "192.0.2.1";
		row.code = i == 3 ? "HTTPS://X/\"\xc3\xa9\\\n" : NULL;
		strcpy(row.region, i == 0 ? "310101" : "");
		row.channel = i == 1 ? 77 : 0;
		ck_assert_int_eq(yima_tx_scan_insert(tx, &row, &id[i]), 0);
		ck_assert(i == 0 || id[i] > id[i - 1]);
	}
	ck_assert_int_eq(yima_tx_consumer_channel_set(tx, "c3", 77, 9000), 0);
	ck_assert_int_eq(yima_tx_consumer_channel_get(tx, "c3", 2000, &ch), 0);
	ck_assert_uint_eq(ch, 77);
	ck_assert_int_eq(yima_tx_recent(tx, 10, 0, NULL, &n, &k), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(k, 3);
	ck_assert_int_eq(yima_tx_commit(tx), 0);

	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_state_get(tx, 10, &s), 0);
	ck_assert_uint_eq(s.scans, 3);
	ck_assert_int_eq(s.last_located, 1);
	ck_assert(s.last_lat == 30.5 && s.last_lon == 120.25);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(yima_tx_scan_exists(tx, id[i], &e), 0);
		ck_assert_int_eq(e, 1);
	}
	yima_tx_rollback(tx);
	/* The invalid scan's text kept as it came: quote, accent, backslash. */
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	{
		struct api_dbq *q;

		ck_assert_int_eq(api_q(tx, &q, "SELECT code, lat, region,"
		    " channel, near_border FROM scans WHERE id = $1", "i",
		    id[3]), 0);
		ck_assert_int_eq(api_row(q), 1);
		ck_assert_str_eq(api_col_str(q, 0), "HTTPS://X/\"\xc3\xa9\\\n");
		ck_assert(api_col_null(q, 1) && api_col_null(q, 2) &&
		    api_col_null(q, 3) && api_col_null(q, 4));
		api_end(q);
		ck_assert_int_eq(api_q(tx, &q, "SELECT lat, lon, region,"
		    " near_border, consumer, channel FROM scans WHERE id = $1",
		    "i", id[0]), 0);
		ck_assert_int_eq(api_row(q), 1);
		ck_assert(api_col_dbl(q, 0) == 31.25 &&
		    api_col_dbl(q, 1) == 121.5);
		ck_assert_str_eq(api_col_str(q, 2), "310101");
		ck_assert_int_eq(api_col_int(q, 3), 0);
		ck_assert_str_eq(api_col_str(q, 4), "c1");
		ck_assert(api_col_null(q, 5));
		api_end(q);
	}
	yima_tx_rollback(tx);
}
END_TEST

/* Statements a group commit of first scans of n codes costs. */
static uint64_t
batch_statements(uint64_t first, size_t n, int consumers)
{
	struct api_verdict_cfg cfg;
	struct api_scan_in *in;
	const struct api_scan_in **p;
	struct api_scan_out out;
	struct yima_tx *tx;
	uint64_t s0;
	int64_t last = 0;
	size_t i;

	memset(&cfg, 0, sizeof(cfg));	/* no consumer sketches */
	api_verdict_defaults(&cfg);
	in = calloc(n, sizeof(*in));
	p = calloc(n, sizeof(*p));
	ck_assert(in != NULL && p != NULL);
	for (i = 0; i < n; i++) {
		in[i].at = 1780272000000LL;
		in[i].valid = 1;
		in[i].code.kind = YIMA_KIND_ITEM;
		in[i].code.serial = first + i;
		in[i].located = 1;
		in[i].lat = 31.23;
		in[i].lon = 121.47;
		in[i].accuracy = 30;
		strcpy(in[i].region, "310101");
		if (consumers)
			snprintf(in[i].consumer, sizeof(in[i].consumer),
			    "%024zx", i % 7);
		strcpy(in[i].client, "192.0.2.9");
		p[i] = &in[i];
	}
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	s0 = api_db_statements();
	ck_assert_int_eq(api_verdict_ahead(tx, p, n), 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(api_verdict_record(tx, &cfg, &in[i], &out), 0);
		ck_assert_int_eq(out.verdict, YIMA_V_GENUINE);
		ck_assert_int_gt(out.scan_id, last);
		last = out.scan_id;
	}
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	s0 = api_db_statements() - s0;
	free(in);
	free(p);
	return s0;
}

/*
 * A batch of first scans costs the statements of one scan, however many
 * it holds: its reads and its writes go one statement per table (on
 * PostgreSQL; SQLite writes row by row, in the process).
 */
START_TEST(scan_batch_statements)
{
	struct yima_manifest m;
	struct yima_code_state s;
	struct yima_tx *tx;
	uint64_t one, many;
	int created;

	struct yima_tx *t0;
	uint64_t per;	/* statements each more scan adds */

	/* SQLite writes each row through its prepared statement (no round
	 * trip): the state and the scan row, and reads nothing more. */
	ck_assert_int_eq(yima_tx_begin(st, 0, &t0), 0);
	per = api_is_pg(t0) ? 0 : 2;
	yima_tx_rollback(t0);
	manifest(&m, "00000000000000000000000000000001", 1, 1000, 0);
	ck_assert_int_eq(import(&m, &created), 0);
	one = batch_statements(1, 1, 0);
	many = batch_statements(101, 200, 0);
	ck_assert_msg(many == one + 199 * per && one > 0, "a batch of 1 first "
	    "scan ran %llu statements, of 200 %llu",
	    (unsigned long long)one, (unsigned long long)many);
	one = batch_statements(2, 1, 1);
	many = batch_statements(301, 200, 1);
	ck_assert_msg(many == one + 199 * per, "with consumers: 1 scan %llu "
	    "statements, 200 scans %llu", (unsigned long long)one,
	    (unsigned long long)many);
	/* And all 200 are stored, each code's state its first scan. */
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_state_get(tx, 500, &s), 0);
	ck_assert_uint_eq(s.scans, 1);
	ck_assert_int_eq(s.first_located, 1);
	ck_assert_int_eq(yima_tx_state_get(tx, 501, &s), YIMA_ENOENT);
	yima_tx_rollback(tx);
}
END_TEST

/* Products: put creates then replaces, get, list in GTIN order, delete. */
static void
count_products(void *ctx, const struct yima_product *p)
{
	int *n = ctx;

	ck_assert_msg(*n > 0 || strcmp(p->gtin, "00000000000017") == 0,
	    "first %s", p->gtin);
	(*n)++;
}

START_TEST(products)
{
	static struct yima_product p, got;
	struct yima_tx *tx;
	int created = -1, n = 0;

	memset(&p, 0, sizeof(p));
	strcpy(p.gtin, "06901234567892");
	strcpy(p.name, "青岛啤酒 500ml");
	strcpy(p.brand, "Brand");
	strcpy(p.doc, "{\"gtin\":\"06901234567892\",\"name\":\"x\"}");
	p.updated_at = 1000;
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_product_put(tx, &p, &created), 0);
	ck_assert_int_eq(created, 1);
	strcpy(p.brand, "Brand 2");
	p.updated_at = 2000;
	ck_assert_int_eq(yima_tx_product_put(tx, &p, &created), 0);
	ck_assert_int_eq(created, 0);
	strcpy(p.gtin, "00000000000017");
	ck_assert_int_eq(yima_tx_product_put(tx, &p, &created), 0);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_product_get(tx, "06901234567892", &got), 0);
	ck_assert_str_eq(got.name, "青岛啤酒 500ml");
	ck_assert_str_eq(got.brand, "Brand 2");
	ck_assert_str_eq(got.doc, p.doc);
	ck_assert_int_eq(got.updated_at, 2000);
	ck_assert_int_eq(yima_tx_product_get(tx, "09520123456788", &got),
	    YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_product_list(tx, count_products, &n), 0);
	ck_assert_int_eq(n, 2);
	yima_tx_rollback(tx);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_product_delete(tx, "00000000000017"), 0);
	ck_assert_int_eq(yima_tx_product_delete(tx, "00000000000017"),
	    YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
}
END_TEST

/* One suite, two back-ends: the tests of the calls both have. */
static void
add_both(TCase *tc)
{
	tcase_add_test(tc, import_same_and_conflicts);
	tcase_add_test(tc, scans_state_and_recent);
	tcase_add_test(tc, revocations);
	tcase_add_test(tc, reads_after_writes);
	tcase_add_test(tc, tokens);
	tcase_add_test(tc, rollback_discards);
	tcase_add_test(tc, rollups_and_report);
	tcase_add_test(tc, dealers_and_territories);
	tcase_add_test(tc, packs_and_owners);
	tcase_add_test(tc, ledger_balance_and_floor);
	tcase_add_test(tc, diversions_and_channels);
	tcase_add_test(tc, consumer_export_erase_drop);
	tcase_add_test(tc, upkeep_past_gaps);
	tcase_add_test(tc, scans_ahead_answers);
	tcase_add_test(tc, scan_batch_statements);
	tcase_add_test(tc, products);
}

Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("sqlite");

	/* SQLite's own: its files, pages and migrations. */
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, migrated);
	tcase_add_test(tc, migrated_5_to_6);
	tcase_add_test(tc, reopen_keeps_data_and_refuses_newer_schema);
	tcase_add_test(tc, database_private);
	add_both(tc);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	if (tu_pg_url() == NULL)
		return s;
	/* Each test's fixture drops the schema and migrates it again. */
	tc = tcase_create("postgresql");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup_pg, teardown);
	add_both(tc);
	suite_add_tcase(s, tc);
	return s;
}
