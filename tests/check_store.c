/* SPDX-License-Identifier: Apache-2.0 */
/* The store suite: what every back-end must do (SQLite here). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sqlite3.h>

#include "yima/err.h"
#include "yima/store.h"

#include "testutil.h"

Suite *store_suite(void);

static char *tmp;
static struct yima_store *st;

static void
setup(void)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 2 };
	char why[YIMA_WHY_MAX], *db;

	tmp = tu_mkdtemp();
	db = tu_path(tmp, "store.db");
	ck_assert_msg(yima_store_open(db, &o, &st, why) == 0, "%s", why);
	free(db);
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
	struct yima_store_opts o = { YIMA_SYNC_FULL, 1 };
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

Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("sqlite");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, migrated);
	tcase_add_test(tc, import_same_and_conflicts);
	tcase_add_test(tc, scans_state_and_recent);
	tcase_add_test(tc, revocations);
	tcase_add_test(tc, tokens);
	tcase_add_test(tc, rollback_discards);
	tcase_add_test(tc, reopen_keeps_data_and_refuses_newer_schema);
	suite_add_tcase(s, tc);
	return s;
}
