/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite back-end of the store: WAL, one writer, a pool of readers. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "yima/err.h"
#include "yima/perm.h"
#include "yima/store.h"

#include "../codegen/alloc-private.h"
#include "../codegen/err-private.h"
#include "sketch.h"
#include "schema.h"
#include "db.h"
#include "store-ops.h"

#define SCHEMA_VERSION api_schema_version

#ifdef YIMA_TESTING
int yima_test_schema_max;	/* tests: migrate only this far (0: all) */
#endif

static int
schema_max(void)
{
#ifdef YIMA_TESTING
	if (yima_test_schema_max > 0 && yima_test_schema_max < SCHEMA_VERSION)
		return yima_test_schema_max;
#endif
	return SCHEMA_VERSION;
}


struct conn {
	sqlite3		*db;
	struct conn	*next_free;
	void		*dbc;		/* the driver's (db.h) */
};

#define SQ(t)	((struct sq_tx *)(t))

static const struct yima_store_ops sq_ops;
static void sq_close(struct yima_store *base);
static void sq_rollback(struct yima_tx *tx);

/* A transaction and the store: the heads of store-ops.h, then ours. */
struct sq_tx {
	struct yima_tx	 base;
	struct sq_store	*st;
	struct conn	*c;
	int		 write;
};

struct sq_store {
	struct yima_store base;
	struct conn	 writer;
	pthread_mutex_t	 wlock;		/* held for a write transaction */
	struct conn	*readers;
	int		 nreaders;
	struct conn	*free_readers;
	pthread_mutex_t	 rlock;
	pthread_cond_t	 rcond;
	int		 version;
};


/* Records the connection's error text and maps it to a yima_err. */
static int
db_error(struct conn *c, const char *what)
{
	int code = sqlite3_extended_errcode(c->db);

	api_store_seterr("%s: %s", what, sqlite3_errmsg(c->db));
	if (code == SQLITE_CONSTRAINT_UNIQUE ||
	    code == SQLITE_CONSTRAINT_PRIMARYKEY)
		return YIMA_EEXIST;
	if ((code & 0xff) == SQLITE_CONSTRAINT)
		return YIMA_EINVAL;
	if ((code & 0xff) == SQLITE_NOMEM)
		return YIMA_ENOMEM;
	return YIMA_EDB;
}

static int
exec(struct conn *c, const char *sql)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(c, sql);
	return 0;
}

static void
conn_close(struct conn *c)
{
	api_sqlite_conn_free(c->dbc);
	c->dbc = NULL;
	sqlite3_close(c->db);
	c->db = NULL;
}

/*
 * yima_sketch_add(sketch, consumer): the sketch with consumer counted,
 * under the key of the function (see migration_key).
 */
static void
fn_sketch_add(sqlite3_context *cx, int argc, sqlite3_value **v)
{
	uint8_t out[API_SKETCH_MAX];
	const unsigned char *c = sqlite3_value_text(v[1]);
	size_t n;

	(void)argc;
	if (c == NULL) {
		sqlite3_result_value(cx, v[0]);
		return;
	}
	n = api_sketch_add(sqlite3_value_blob(v[0]),
	    (size_t)sqlite3_value_bytes(v[0]), api_sketch_hash(
	    sqlite3_user_data(cx), (const char *)c,
	    (size_t)sqlite3_value_bytes(v[1])), out);
	if (n == 0)
		sqlite3_result_error(cx, "not a consumer sketch", -1);
	else
		sqlite3_result_blob(cx, out, (int)n, SQLITE_TRANSIENT);
}

/* yima_sketch_merge(sketch): the union of a group's sketches. */
static void
fn_sketch_step(sqlite3_context *cx, int argc, sqlite3_value **v)
{
	uint8_t *acc = sqlite3_aggregate_context(cx, 2 + API_SKETCH_MAX +
	    sizeof(size_t)), out[API_SKETCH_MAX];
	size_t len, n;

	(void)argc;
	if (acc == NULL) {
		sqlite3_result_error_nomem(cx);
		return;
	}
	if (sqlite3_value_type(v[0]) == SQLITE_NULL)
		return;
	memcpy(&len, acc, sizeof(len));
	n = api_sketch_merge(acc + sizeof(len), len,
	    sqlite3_value_blob(v[0]), (size_t)sqlite3_value_bytes(v[0]), out);
	if (n == 0) {
		sqlite3_result_error(cx, "not a consumer sketch", -1);
		return;
	}
	memcpy(acc + sizeof(len), out, n);
	memcpy(acc, &n, sizeof(n));
}

static void
fn_sketch_final(sqlite3_context *cx)
{
	uint8_t *acc = sqlite3_aggregate_context(cx, 0);
	size_t len = 0;

	if (acc != NULL)
		memcpy(&len, acc, sizeof(len));
	if (len == 0)
		sqlite3_result_null(cx);
	else
		sqlite3_result_blob(cx, acc + sizeof(len), (int)len,
		    SQLITE_TRANSIENT);
}

static int
conn_open(struct conn *c, const char *path, int write, enum yima_sync sync,
    char *why)
{
	/* Readers open read-write but query-only: WAL needs its -shm file. */
	int flags = write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE :
	    SQLITE_OPEN_READWRITE;
	int rc;

	memset(c, 0, sizeof(*c));
	flags |= SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
		rc = yima_why_(why, YIMA_EDB, "cannot open %s: %s", path,
		    c->db ? sqlite3_errmsg(c->db) : "out of memory");
		conn_close(c);
		return rc;
	}
	sqlite3_busy_timeout(c->db, 10000);
	if ((c->dbc = api_sqlite_conn_new(c->db)) == NULL) {
		rc = yima_why_(why, YIMA_ENOMEM, "out of memory");
		conn_close(c);
		return rc;
	}
	if ((rc = exec(c, "PRAGMA foreign_keys = ON")) != 0)
		goto fail;
	if (!write && (rc = exec(c, "PRAGMA query_only = ON")) != 0)
		goto fail;
	if (write) {
		/*
		 * A new database gets 8 KB pages: a rollup row with its 1 KB
		 * sketch then fits its page instead of spilling to an overflow
		 * page, which halves a 90-day report's reads. (An existing
		 * file keeps its size; see the README to convert one.)
		 */
		if ((rc = exec(c, "PRAGMA page_size = 8192")) != 0 ||
		    (rc = exec(c, "PRAGMA journal_mode = WAL")) != 0 ||
		    (rc = exec(c, sync == YIMA_SYNC_FULL ?
		    "PRAGMA synchronous = FULL" :
		    "PRAGMA synchronous = NORMAL")) != 0)
			goto fail;
	}
	return 0;
fail:
	yima_why_(why, rc, "%s: %s", path, api_store_err);
	conn_close(c);
	return rc;
}

/*
 * The database holds consumers' places, client addresses and token
 * hashes: a new file is made 0600 whatever the umask (SQLite gives its
 * -wal and -shm the mode of the database), and a file, -wal or -shm that
 * the group or others may use is refused before SQLite touches anything.
 */
static int
private_db(const char *path, char *why)
{
	static const char *const ext[] = { "", "-wal", "-shm" };
	char side[4096];
	struct stat st;
	size_t i;
	int fd, n;

	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >=
	    0) {
		/* 0600 even under a umask that takes the owner's bits. */
		n = fchmod(fd, 0600) != 0 ? errno : 0;
		close(fd);
		if (n != 0)
			return yima_why_(why, YIMA_EIO, "cannot chmod %s: %s",
			    path, strerror(n));
	} else if (errno != EEXIST)
		return yima_why_(why, YIMA_EDB, "cannot create %s: %s", path,
		    strerror(errno));
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		n = snprintf(side, sizeof(side), "%s%s", path, ext[i]);
		if (n < 0 || (size_t)n >= sizeof(side))
			return yima_why_(why, YIMA_EINVAL, "path too long: %s",
			    path);
		if (lstat(side, &st) != 0) {
			if (i > 0 && errno == ENOENT)
				continue;
			return yima_why_(why, YIMA_EDB, "cannot open %s: %s",
			    side, strerror(errno));
		}
		/*
		 * Another user's file (made ahead in a shared directory) or
		 * a link to one would take the data whatever its mode.
		 */
		if (S_ISLNK(st.st_mode) || st.st_uid != geteuid())
			return yima_why_(why, YIMA_EPERM, "%s is %s: the "
			    "database must be a file of this user's own", side,
			    S_ISLNK(st.st_mode) ? "a symbolic link" :
			    "another user's");
		if ((n = yima_perm_check(&st, side, "the database", why)) != 0)
			return n;
	}
	return 0;
}

static void
free_mac(void *mac)
{
	yima_mac_free(mac);
}

/*
 * Migrations 5 and 6 build rollups from the scans before them, with SQL
 * functions over the sketch code (yima_sketch_add, yima_sketch_merge):
 * only there does the store meet it. Migration 5 counts consumers under a
 * key made here and forgotten: the keyring's "sketch" key is the
 * service's, not the store's, and with none the cells of those days could
 * be linked to an id. A consumer of then counts again in a report that
 * spans the migration.
 */
static int
migration_key(struct conn *c)
{
	struct yima_mac *mac = NULL;
	uint8_t key[32];
	int rc;

	if (RAND_bytes(key, sizeof(key)) != 1)
		return YIMA_EIO;
	rc = yima_mac_new(key, sizeof(key), &mac);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != 0)
		return rc;
	/* mac is freed with the function, or now if it is not made. */
	if (sqlite3_create_function_v2(c->db, "yima_sketch_add", 2,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC, mac, fn_sketch_add, NULL, NULL,
	    free_mac) != SQLITE_OK || sqlite3_create_function(c->db,
	    "yima_sketch_merge", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
	    NULL, fn_sketch_step, fn_sketch_final) != SQLITE_OK)
		return db_error(c, "functions");
	return 0;
}

static int
migrate(struct sq_store *st, char *why)
{
	struct conn *c = &st->writer;
	sqlite3_stmt *s = NULL;
	char sql[64];
	int v, rc;

	if ((rc = migration_key(c)) != 0)
		return yima_why_(why, rc, "migration: %s", rc == YIMA_EDB ?
		    api_store_err : yima_strerror(rc));
	if ((rc = exec(c, "BEGIN IMMEDIATE")) != 0)
		return yima_why_(why, rc, "%s", api_store_err);
	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &s, NULL) !=
	    SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		rc = db_error(c, "user_version");
		goto fail;
	}
	v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (v > SCHEMA_VERSION) {
		rc = yima_why_(why, YIMA_EDB, "the database has schema version "
		    "%d, newer than this program (%d)", v, SCHEMA_VERSION);
		exec(c, "ROLLBACK");
		return rc;
	}
	for (; v < schema_max(); v++) {
		if ((rc = exec(c, api_migrations[v].sqlite)) != 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((rc = exec(c, sql)) != 0)
			goto fail;
	}
	if ((rc = exec(c, "COMMIT")) != 0)
		goto fail;
	st->version = v;
	return 0;
fail:
	sqlite3_finalize(s);
	exec(c, "ROLLBACK");
	return yima_why_(why, rc, "migration: %s", api_store_err);
}

int
api_sqlite_open(const char *target, const struct yima_store_opts *opts,
    struct yima_store **out, char *why)
{
	struct sq_store *st;
	int i, rc, n = opts->readers;

	if (n < 1 || n > 64)
		return yima_why_(why, YIMA_EINVAL, "readers must be 1-64");
	if ((st = yima_calloc(1, sizeof(*st))) == NULL)
		return yima_why_(why, YIMA_ENOMEM, "out of memory");
	st->base.ops = &sq_ops;
	st->base.writers = 1;
	pthread_mutex_init(&st->wlock, NULL);
	pthread_mutex_init(&st->rlock, NULL);
	pthread_cond_init(&st->rcond, NULL);
	if ((rc = private_db(target, why)) != 0 ||
	    (rc = conn_open(&st->writer, target, 1, opts->sync, why)) != 0)
		goto fail;
	if ((rc = migrate(st, why)) != 0)
		goto fail;
	if ((st->readers = yima_calloc((size_t)n, sizeof(*st->readers))) ==
	    NULL) {
		rc = yima_why_(why, YIMA_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if ((rc = conn_open(&st->readers[i], target, 0, opts->sync,
		    why)) != 0)
			goto fail;
		st->nreaders++;
		st->readers[i].next_free = st->free_readers;
		st->free_readers = &st->readers[i];
	}
	*out = &st->base;
	return 0;
fail:
	sq_close(&st->base);
	return rc;
}

static void
sq_close(struct yima_store *base)
{
	struct sq_store *st = (struct sq_store *)base;
	int i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nreaders; i++)
		conn_close(&st->readers[i]);
	yima_free(st->readers);
	if (st->writer.db != NULL)
		conn_close(&st->writer);
	pthread_mutex_destroy(&st->wlock);
	pthread_mutex_destroy(&st->rlock);
	pthread_cond_destroy(&st->rcond);
	yima_free(st);
}

static int
sq_schema_version(struct yima_store *st)
{
	return ((struct sq_store *)st)->version;
}

static int
sq_begin(struct yima_store *base, int write, int64_t queue,
    struct yima_tx **out)
{
	struct sq_store *st = (struct sq_store *)base;
	struct sq_tx *t;
	struct yima_tx *tx;
	struct conn *c;
	int rc;

	(void)queue;	/* one writer: every write waits its turn already */
	if ((t = yima_malloc(sizeof(*t))) == NULL)
		return YIMA_ENOMEM;
	t->base.ops = &sq_ops;
	tx = &t->base;
	SQ(tx)->st = st;
	SQ(tx)->write = write;
	if (write) {
		pthread_mutex_lock(&st->wlock);
		c = &st->writer;
	} else {
		pthread_mutex_lock(&st->rlock);
		while (st->free_readers == NULL)
			pthread_cond_wait(&st->rcond, &st->rlock);
		c = st->free_readers;
		st->free_readers = c->next_free;
		pthread_mutex_unlock(&st->rlock);
	}
	SQ(tx)->c = c;
	tx->db = &api_db_sqlite;
	tx->conn = c->dbc;
	tx->writes = 0;
	tx->memo.valid = 0;
	tx->memo.gen_known = 0;
	tx->ahead = NULL;
	tx->node = 0;	/* one writer: its rollup rows are all */
	memset(tx->before_commit, 0, sizeof(tx->before_commit));
	memset(tx->end, 0, sizeof(tx->end));
	memset(tx->later, 0, sizeof(tx->later));
	if ((rc = exec(c, write ? "BEGIN IMMEDIATE" : "BEGIN")) != 0) {
		sq_rollback(tx);
		return rc;
	}
	*out = tx;
	return 0;
}


static void
tx_release(struct yima_tx *tx)
{
	struct sq_store *st = SQ(tx)->st;

	if (SQ(tx)->write)
		pthread_mutex_unlock(&st->wlock);
	else {
		pthread_mutex_lock(&st->rlock);
		SQ(tx)->c->next_free = st->free_readers;
		st->free_readers = SQ(tx)->c;
		pthread_cond_signal(&st->rcond);
		pthread_mutex_unlock(&st->rlock);
	}
	yima_free(tx);
}

static int
sq_commit(struct yima_tx *tx)
{
	int rc;

	if ((rc = exec(SQ(tx)->c, "COMMIT")) != 0) {
		sq_rollback(tx);
		return rc;
	}
	tx_release(tx);
	return 0;
}

static void
sq_rollback(struct yima_tx *tx)
{
	if (tx == NULL)
		return;
	if (!sqlite3_get_autocommit(SQ(tx)->c->db))
		sqlite3_exec(SQ(tx)->c->db, "ROLLBACK", NULL, NULL, NULL);
	tx_release(tx);
}

/* ---- the supply chain ---- */


/* ---- rewards ---- */

/* ---- reports ---- */


/* ---- consumers' rights ---- */

/* ---- dashboard sessions ---- */

static const struct yima_store_ops sq_ops = {
	.name = "sqlite",
	.batch_max = 1 << 30,	/* one writer: the bigger the better */
	.close = sq_close,
	.schema_version = sq_schema_version,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
};
