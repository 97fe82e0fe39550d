/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PostgreSQL back-end against a real server: YIMA_TEST_PG names a
 * database (scripts/pg.sh starts a throwaway one; .ci/run always does).
 * Without it only the SQLite reference of the shared calls runs, and the
 * suite says so. Each PostgreSQL test starts from an empty public schema.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <libpq-fe.h>

#include "yima/err.h"
#include "yima/store.h"

#include "testutil.h"

Suite *pg_suite(void);

static const char *url;

/* One statement on a connection of our own; its first value, or -1. */
static long long
sql(const char *q)
{
	PGconn *c = PQconnectdb(url);
	PGresult *r;
	long long v = -1;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, q);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q,
	    PQresultErrorMessage(r));
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
	    !PQgetisnull(r, 0, 0))
		v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

static void
empty(void)
{
	sql("SET client_min_messages = warning;"
	    " DROP SCHEMA public CASCADE; CREATE SCHEMA public");
}

static struct yima_store *
open_pg(void)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 2 };
	struct yima_store *st = NULL;
	char why[YIMA_WHY_MAX];

	ck_assert_msg(yima_store_open(url, &o, &st, why) == 0, "%s", why);
	return st;
}

/* A fresh database gets every migration once; opening again runs none. */
START_TEST(test_pg_migrate)
{
	struct yima_store *st;
	int v;

	empty();
	st = open_pg();
	v = yima_store_schema_version(st);
	ck_assert_int_ge(v, 7);
	yima_store_close(st);
	ck_assert_int_eq(sql("SELECT version FROM yima_schema"), v);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM yima_schema"), 1);
	/* The scans are partitioned by time, with a default partition. */
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM pg_partitioned_table p"
	    " JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname ="
	    " 'scans' AND p.partstrat = 'r'"), 1);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM pg_inherits i JOIN pg_class"
	    " c ON c.oid = i.inhrelid WHERE c.relname = 'scans_default'"), 1);
	sql("INSERT INTO batches VALUES ('b', 1, 1, 100, 5, NULL, NULL, NULL,"
	    " NULL, NULL, NULL, 'D', 'c', 'x', 'h', 0)");
	st = open_pg();
	ck_assert_int_eq(yima_store_schema_version(st), v);
	yima_store_close(st);
	/* Nothing was created again over the data. */
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM batches"), 1);
}
END_TEST

/* A database from a newer program is refused, untouched. */
START_TEST(test_pg_newer_refused)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 2 };
	struct yima_store *st = NULL;
	char why[YIMA_WHY_MAX];

	empty();
	yima_store_close(open_pg());
	sql("UPDATE yima_schema SET version = 999");
	ck_assert_int_eq(yima_store_open(url, &o, &st, why), YIMA_EDB);
	ck_assert_msg(strstr(why, "newer") != NULL, "%s", why);
	ck_assert_int_eq(sql("SELECT version FROM yima_schema"), 999);
}
END_TEST

static void *
opener(void *arg)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 1 };
	struct yima_store *st = NULL;
	char why[YIMA_WHY_MAX];

	*(int *)arg = yima_store_open(url, &o, &st, why);
	yima_store_close(st);
	return NULL;
}

/* Nodes starting together: one migrates, the others wait and see it done. */
START_TEST(test_pg_concurrent_migrate)
{
	pthread_t th[4];
	int rc[4], i;

	empty();
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, opener, &rc[i]),
		    0);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(rc[i], 0);
	}
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM yima_schema"), 1);
}
END_TEST

/*
 * Transactions: a write commits, a read is read only; a connection the
 * server dropped is opened again.
 */
START_TEST(test_pg_transactions)
{
	struct yima_store *st;
	struct yima_tx *tx;
	struct yima_range r;
	int64_t rows, problems;

	empty();
	st = open_pg();
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	/* A read answers; a write inside a read transaction is refused. */
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_ledger_check(tx, NULL, NULL, &rows,
	    &problems), 0);
	ck_assert_int_eq(rows, 0);
	ck_assert_int_eq(yima_tx_revoke(tx, 1, 2, "x"), YIMA_EDB);
	ck_assert_msg(strstr(yima_store_errmsg(st), "read-only") != NULL,
	    "%s", yima_store_errmsg(st));
	yima_tx_rollback(tx);
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_range_find(tx, 1, 1, &r), YIMA_ENOENT);
	yima_tx_rollback(tx);
	/* The server ends every session of ours; the pool reconnects. */
	ck_assert_int_ge(sql("SELECT COUNT(pg_terminate_backend(pid)) FROM"
	    " pg_stat_activity WHERE datname = current_database() AND pid <>"
	    " pg_backend_pid()"), 3);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	yima_tx_rollback(tx);
	yima_store_close(st);
}
END_TEST

static void
count_token(void *ctx, const struct yima_token *t)
{
	int *n = ctx;

	n[0]++;
	n[1] += t->revoked_at > 0;
}

/* Tokens and sessions: the same calls, the same answers, both back-ends. */
static void
tokens_and_sessions(struct yima_store *st)
{
	struct yima_token t;
	struct yima_tx *tx;
	int64_t a, d, id;
	int n[2] = { 0, 0 }, exists = 1;

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_token_create(tx, "aa", "admin", NULL, "one",
	    &a), 0);
	ck_assert_int_eq(yima_tx_token_create(tx, "dd", "dealer", "D-1",
	    "二号", &d), 0);
	ck_assert_int_gt(d, a);
	/* The hash is unique; a role outside the list is refused. */
	ck_assert_int_eq(yima_tx_token_create(tx, "aa", "ops", NULL, NULL,
	    &id), YIMA_EEXIST);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_token_create(tx, "xx", "root", NULL, NULL,
	    &id), YIMA_EINVAL);
	yima_tx_rollback(tx);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_token_find(tx, "dd", &t), 0);
	ck_assert_int_eq(t.id, d);
	ck_assert_str_eq(t.role, "dealer");
	ck_assert_str_eq(t.dealer, "D-1");
	ck_assert_str_eq(t.name, "二号");
	ck_assert_int_gt(t.created_at, 1700000000000LL);
	ck_assert_int_eq(yima_tx_token_find(tx, "zz", &t), YIMA_ENOENT);
	/* Sessions: found while fresh, gone when expired or revoked. */
	ck_assert_int_eq(yima_tx_session_create(tx, "s1", a, 9e12), 0);
	ck_assert_int_eq(yima_tx_session_create(tx, "s2", d, 9.1e12), 0);
	ck_assert_int_eq(yima_tx_session_create(tx, "s2", d, 9.1e12),
	    YIMA_EEXIST);
	ck_assert_int_eq(yima_tx_session_find(tx, "s1", 8.9e12, &t), 0);
	ck_assert_int_eq(t.id, a);
	ck_assert_int_eq(yima_tx_session_find(tx, "s1", 9e12, &t),
	    YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_token_revoke(tx, d), 0);
	ck_assert_int_eq(yima_tx_token_revoke(tx, d), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_token_revoke(tx, 999999), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_session_find(tx, "s2", 8.9e12, &t),
	    YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_token_find(tx, "dd", &t), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_session_delete(tx, "s1"), 0);
	ck_assert_int_eq(yima_tx_token_list(tx, count_token, n), 0);
	ck_assert_int_eq(n[0], 2);
	ck_assert_int_eq(n[1], 1);
	ck_assert_int_eq(yima_tx_last_scan(tx, &id), 0);
	ck_assert_int_eq(id, 0);
	ck_assert_int_eq(yima_tx_scan_exists(tx, 1, &exists), 0);
	ck_assert_int_eq(exists, 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
}

START_TEST(test_tokens_sessions_sqlite)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 2 };
	struct yima_store *st;
	char why[YIMA_WHY_MAX], *dir = tu_mkdtemp(), *db = tu_path(dir, "s.db");

	ck_assert_msg(yima_store_open(db, &o, &st, why) == 0, "%s", why);
	tokens_and_sessions(st);
	yima_store_close(st);
	tu_rmtree(dir);
	free(db);
	free(dir);
}
END_TEST

START_TEST(test_tokens_sessions_pg)
{
	struct yima_store *st;

	empty();
	st = open_pg();
	tokens_and_sessions(st);
	yima_store_close(st);
	/* What was committed is there for another connection to see. */
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM tokens WHERE revoked_at"
	    " IS NOT NULL"), 1);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM sessions"), 1);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM tokens WHERE name ="
	    " '二号'"), 1);
}
END_TEST

#include "../scanapi/store-ops.h"

/* Every call of the store is in the back-end's table. */
static void
all_ops(struct yima_store *st)
{
#define HAS(op, params, args) \
	ck_assert_msg(st->ops->op != NULL, "no %s", #op);
	STORE_TX_OPS(HAS)
#undef HAS
	ck_assert(st->ops->begin != NULL && st->ops->rollback != NULL);
}

START_TEST(test_all_ops_sqlite)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 1 };
	struct yima_store *st;
	char why[YIMA_WHY_MAX], *dir = tu_mkdtemp(), *db = tu_path(dir, "s.db");

	ck_assert_msg(yima_store_open(db, &o, &st, why) == 0, "%s", why);
	ck_assert_str_eq(st->ops->name, "sqlite");
	all_ops(st);
	yima_store_close(st);
	tu_rmtree(dir);
	free(db);
	free(dir);
}
END_TEST

START_TEST(test_all_ops_pg)
{
	struct yima_store *st;

	empty();
	st = open_pg();
	ck_assert_str_eq(st->ops->name, "postgresql");
	all_ops(st);
	yima_store_close(st);
}
END_TEST

Suite *
pg_suite(void)
{
	Suite *s = suite_create("pg");
	TCase *tc, *both = tcase_create("sqlite");

	/* The shared calls on SQLite always run, as the reference. */
	tcase_add_test(both, test_tokens_sessions_sqlite);
	tcase_add_test(both, test_all_ops_sqlite);
	suite_add_tcase(s, both);
	url = getenv("YIMA_TEST_PG");
	if (url == NULL || url[0] == '\0') {
		fprintf(stderr, "pg: YIMA_TEST_PG is not set: the PostgreSQL "
		    "tests do not run (see the README)\n");
		return s;
	}
	tc = tcase_create("postgresql");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pg_migrate);
	tcase_add_test(tc, test_pg_newer_refused);
	tcase_add_test(tc, test_pg_concurrent_migrate);
	tcase_add_test(tc, test_pg_transactions);
	tcase_add_test(tc, test_tokens_sessions_pg);
	tcase_add_test(tc, test_all_ops_pg);
	suite_add_tcase(s, tc);
	return s;
}
