/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Backups while the service takes scans, and restores: the copy is whole,
 * checked, the owner's alone, and holds every scan answered before it
 * began; a restore refuses what is not a sound yima database.
 */
#define _GNU_SOURCE	/* asprintf */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>
#include <sqlite3.h>

#include "srvutil.h"
#include "testutil.h"

Suite *backup_suite(void);

#define LOAD	600	/* scans the load may send */

struct load {
	const struct goods	*g;
	atomic_int		 answered;	/* codes 0..answered-1 stored */
	atomic_int		 stop;
};

/* Scans the codes in order, one at a time, until told to stop. */
static void *
load_run(void *arg)
{
	struct load *l = arg;
	struct http_resp p;
	int i;

	for (i = 0; i < l->g->n && !atomic_load(&l->stop); i++) {
		if (scan(l->g->codes[i], NULL, &p) != 200) {
			http_free(&p);
			break;
		}
		http_free(&p);
		atomic_store(&l->answered, i + 1);
	}
	return NULL;
}

static long long
count(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long n = -1;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

/*
 * The problems PRAGMA integrity_check finds in path, less its false "NULL
 * value in T.C" of SQLite 3.40 (WITHOUT ROWID tables keyed on later
 * columns), each checked on the rows themselves.
 */
static int
problems(const char *path)
{
	char table[64], col[64], sql[256];
	sqlite3_stmt *s = NULL;
	const char *msg;
	sqlite3 *db = NULL;
	int n = 0;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1,
	    &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		msg = (const char *)sqlite3_column_text(s, 0);
		if (strcmp(msg, "ok") == 0)
			continue;
		if (sscanf(msg, "NULL value in %63[^.].%63s", table, col) ==
		    2) {
			snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s"
			    " WHERE typeof(%s) = 'null'", table, col);
			if (count(path, sql) == 0)
				continue;
		}
		fprintf(stderr, "%s: %s\n", path, msg);
		n++;
		break;
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

START_TEST(test_backup_under_load)
{
	struct load l = { 0 };
	struct goods g;
	struct stat sb;
	pthread_t th;
	char *out, *again, *err = NULL, *msg = NULL, sql[160];
	int before, after, i, rc;

	srv_start(open_flags);
	goods_mint("item", LOAD, &g);
	l.g = &g;
	ck_assert_int_eq(pthread_create(&th, NULL, load_run, &l), 0);
	while (atomic_load(&l.answered) < 100)
		msleep(10);
	/* Every scan answered now must be in the copy. */
	before = atomic_load(&l.answered);
	ck_assert(asprintf(&out, "%s/backup.db", E.dir) > 0);
	rc = run(scanapi_bin(), &msg, &err, "backup", "--db", E.db, "--out",
	    out, (char *)NULL);
	ck_assert_msg(rc == 0, "backup: %d %s", rc, err);
	free(msg);
	free(err);
	after = atomic_load(&l.answered);
	atomic_store(&l.stop, 1);
	pthread_join(th, NULL);
	ck_assert_int_ge(after, before);
	ck_assert_int_eq(stat(out, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(problems(out), 0);
	for (i = 0; i < before; i++) {
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM scans WHERE"
		    " serial = %lld", g.serials[i]);
		ck_assert_msg(count(out, sql) == 1, "scan %d of %d answered "
		    "before the backup is not in it", i, before);
	}
	rc = run(scanapi_bin(), &msg, &err, "ledger", "check", "--db", out,
	    (char *)NULL);
	ck_assert_msg(rc == 0, "ledger check of the copy: %s %s", msg, err);
	free(msg);
	free(err);
	/* Never over a file. */
	rc = run(scanapi_bin(), NULL, &err, "backup", "--db", E.db, "--out",
	    out, (char *)NULL);
	ck_assert_int_ne(rc, 0);
	ck_assert_ptr_nonnull(strstr(err, "exists"));
	free(err);
	srv_stop();
	/* PostgreSQL has its own tools. */
	ck_assert_int_ne(run(scanapi_bin(), NULL, NULL, "backup", "--db",
	    "postgresql://localhost/yima", "--out", out, (char *)NULL), 0);

	/* Restored into a new file: the copy's scans, nothing refused. */
	ck_assert(asprintf(&again, "%s/restored.db", E.dir) > 0);
	rc = run(scanapi_bin(), &msg, &err, "restore", "--from", out, "--db",
	    again, (char *)NULL);
	ck_assert_msg(rc == 0, "restore: %s", err);
	free(msg);
	free(err);
	ck_assert_int_eq(count(again, "SELECT COUNT(*) FROM scans"),
	    count(out, "SELECT COUNT(*) FROM scans"));
	ck_assert_int_eq(stat(again, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	free(out);
	free(again);
	goods_free(&g);
}
END_TEST

/* A restore checks first: what is not a sound yima database changes nothing. */
START_TEST(test_restore_refuses)
{
	char *junk, *other, *err = NULL;
	long long n;
	sqlite3 *db;

	srv_start(open_flags);
	srv_stop();
	n = count(E.db, "SELECT COUNT(*) FROM scans");
	ck_assert(asprintf(&junk, "%s/junk.db", E.dir) > 0);
	ck_assert_int_eq(tu_write_file(junk, "not a database at all, only "
	    "words long enough to look like a page", 64), 0);
	ck_assert_int_ne(run(scanapi_bin(), NULL, &err, "restore", "--from",
	    junk, "--db", E.db, (char *)NULL), 0);
	ck_assert_ptr_nonnull(strstr(err, "junk.db"));
	free(err);
	ck_assert(asprintf(&other, "%s/other.db", E.dir) > 0);
	ck_assert_int_eq(sqlite3_open(other, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t"
	    " VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_ne(run(scanapi_bin(), NULL, &err, "restore", "--from",
	    other, "--db", E.db, (char *)NULL), 0);
	ck_assert_ptr_nonnull(strstr(err, "not a yima database"));
	free(err);
	ck_assert_int_ne(run(scanapi_bin(), NULL, NULL, "restore", "--from",
	    "/nonexistent/x.db", "--db", E.db, (char *)NULL), 0);
	ck_assert_int_ne(run(scanapi_bin(), NULL, NULL, "restore", "--db",
	    E.db, (char *)NULL), 0);
	ck_assert_int_eq(count(E.db, "SELECT COUNT(*) FROM scans"), n);
	ck_assert_int_eq(problems(E.db), 0);
	free(junk);
	free(other);
}
END_TEST

Suite *
backup_suite(void)
{
	Suite *s = suite_create("backup");
	TCase *tc = srv_tcase("backup", 120);

	tcase_add_test(tc, test_backup_under_load);
	tcase_add_test(tc, test_restore_refuses);
	suite_add_tcase(s, tc);
	return s;
}
