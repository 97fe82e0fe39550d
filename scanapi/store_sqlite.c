/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite back-end of the store: WAL, one writer, a pool of readers. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "yima/err.h"
#include "yima/store.h"

#include "../codegen/alloc-private.h"
#include "../codegen/err-private.h"

/* Versioned migrations: entry i brings the schema to version i + 1. */
static const char *const migrations[] = {
	/* 1: batches, ranges, revocations, scans, code state, tokens */
	"CREATE TABLE batches ("
	"  id TEXT PRIMARY KEY,"
	"  kind INTEGER NOT NULL,"
	"  key_id INTEGER NOT NULL,"
	"  first_serial INTEGER NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  inner_first INTEGER,"
	"  gtin TEXT, lot TEXT, line TEXT, mfg TEXT, expiry TEXT,"
	"  domain TEXT NOT NULL,"
	"  created TEXT NOT NULL,"
	"  codes_sha256 TEXT NOT NULL,"
	"  hmac TEXT NOT NULL,"
	"  imported_at INTEGER NOT NULL);"
	"CREATE TABLE serial_ranges ("
	"  first INTEGER PRIMARY KEY,"
	"  last INTEGER NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  batch TEXT NOT NULL REFERENCES batches(id));"
	"CREATE INDEX serial_ranges_batch ON serial_ranges(batch);"
	"CREATE TABLE revocations ("
	"  id INTEGER PRIMARY KEY,"
	"  first INTEGER NOT NULL,"
	"  last INTEGER NOT NULL,"
	"  reason TEXT,"
	"  at INTEGER NOT NULL);"
	"CREATE INDEX revocations_first ON revocations(first);"
	"CREATE TABLE code_state ("
	"  serial INTEGER PRIMARY KEY,"
	"  scans INTEGER NOT NULL,"
	"  first_at INTEGER NOT NULL,"
	"  first_lat REAL, first_lon REAL,"
	"  last_loc_at INTEGER, last_lat REAL, last_lon REAL);"
	/* Scan rows are never deleted (retention coarsens them), so the
	 * rowid alone gives increasing ids without AUTOINCREMENT's extra
	 * write per insert. */
	"CREATE TABLE scans ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  serial INTEGER,"
	"  kind INTEGER,"
	"  verdict INTEGER NOT NULL,"
	"  lat REAL, lon REAL, accuracy REAL,"
	"  consumer TEXT,"
	"  client TEXT,"
	"  code TEXT);"
	"CREATE INDEX scans_serial_at ON scans(serial, at)"
	"  WHERE serial IS NOT NULL;"
	"CREATE TABLE tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  hash TEXT NOT NULL UNIQUE,"
	"  role TEXT NOT NULL CHECK (role IN ('admin','ops','dealer')),"
	"  dealer TEXT,"
	"  name TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  revoked_at INTEGER);",
	/* 2: the region (GB/T 2260) a located scan resolved to */
	"ALTER TABLE scans ADD COLUMN region TEXT;"
	"ALTER TABLE scans ADD COLUMN near_border INTEGER;",
	/* 3: the supply chain: dealers, territories, packs, shipments */
	"CREATE TABLE dealers ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  parent TEXT REFERENCES dealers(id),"
	"  type TEXT NOT NULL"
	"    CHECK (type IN ('distributor','dealer','store')),"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX dealers_parent ON dealers(parent);"
	"CREATE TABLE territories ("
	"  dealer TEXT NOT NULL REFERENCES dealers(id),"
	"  region TEXT NOT NULL,"
	"  PRIMARY KEY (dealer, region));"
	/* Child serial ranges per parent; active rows never overlap. */
	"CREATE TABLE packs ("
	"  id INTEGER PRIMARY KEY,"
	"  parent INTEGER NOT NULL,"
	"  first INTEGER NOT NULL,"
	"  last INTEGER NOT NULL,"
	"  packed_at INTEGER NOT NULL,"
	"  unpacked_at INTEGER);"
	"CREATE INDEX packs_active_first ON packs(first)"
	"  WHERE unpacked_at IS NULL;"
	"CREATE INDEX packs_parent ON packs(parent);"
	/* Every shipment, as serial ranges (pallets expanded), kept. */
	"CREATE TABLE shipments ("
	"  id INTEGER PRIMARY KEY,"
	"  first INTEGER NOT NULL,"
	"  last INTEGER NOT NULL,"
	"  dealer TEXT NOT NULL REFERENCES dealers(id),"
	"  ref TEXT,"
	"  at INTEGER NOT NULL);"
	"CREATE INDEX shipments_first ON shipments(first);"
	/* The current owner of each serial: non-overlapping ranges. */
	"CREATE TABLE owners ("
	"  first INTEGER PRIMARY KEY,"
	"  last INTEGER NOT NULL,"
	"  dealer TEXT NOT NULL,"
	"  at INTEGER NOT NULL);"
	"CREATE TABLE receipts ("
	"  id INTEGER PRIMARY KEY,"
	"  serial INTEGER NOT NULL,"
	"  dealer TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('receive','open')),"
	"  at INTEGER NOT NULL,"
	"  lat REAL, lon REAL, region TEXT, near_border INTEGER);"
	"CREATE INDEX receipts_serial ON receipts(serial);"
	"CREATE TABLE diversions ("
	"  id INTEGER PRIMARY KEY,"
	"  scan_id INTEGER,"
	"  receipt_id INTEGER,"
	"  at INTEGER NOT NULL,"
	"  serial INTEGER NOT NULL,"
	"  owner TEXT NOT NULL,"
	"  region TEXT NOT NULL,"
	"  evidence TEXT NOT NULL CHECK (evidence IN ('consumer','store')),"
	"  uncertain INTEGER NOT NULL);"
	"CREATE INDEX diversions_owner_at ON diversions(owner, at);"
	"CREATE INDEX diversions_at ON diversions(at);"
	"CREATE TABLE channels ("
	"  serial INTEGER PRIMARY KEY,"
	"  dealer TEXT NOT NULL REFERENCES dealers(id),"
	"  type TEXT NOT NULL CHECK (type IN ('dealer','store','staff')),"
	"  name TEXT NOT NULL,"
	"  bound_at INTEGER NOT NULL);"
	"CREATE TABLE consumer_channels ("
	"  consumer TEXT PRIMARY KEY,"
	"  channel INTEGER NOT NULL,"
	"  until INTEGER NOT NULL);"
	"ALTER TABLE scans ADD COLUMN channel INTEGER;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

enum stmt_id {
	S_RANGE_FIND,
	S_REVOKED,
	S_STATE_GET,
	S_STATE_PUT,
	S_RECENT,
	S_SCAN_INSERT,
	S_BATCH_HMAC,
	S_RANGE_BEFORE,
	S_BATCH_INSERT,
	S_RANGE_INSERT,
	S_REVOKE_INSERT,
	S_BATCH_RANGES,
	S_TOKEN_CREATE,
	S_TOKEN_FIND,
	S_TOKEN_LIST,
	S_TOKEN_REVOKE,
	S_SCAN_EXISTS,
	S_DEALER_INSERT,
	S_DEALER_GET,
	S_DEALER_LIST,
	S_DEALER_UNDER,
	S_TERR_CLEAR,
	S_TERR_ADD,
	S_TERR_OF,
	S_PACK_ACTIVE_BEFORE,
	S_PACK_INSERT,
	S_PACK_CHILDREN,
	S_UNPACK,
	S_SHIP_INSERT,
	S_OWNER_BEFORE,
	S_OWNER_DEL,
	S_OWNER_INSERT,
	S_RECEIPT_INSERT,
	S_DIVERSION_INSERT,
	S_CHANNEL_BIND,
	S_CHANNEL_GET,
	S_CCH_SET,
	S_CCH_GET,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_RANGE_FIND] = "SELECT r.first, r.last, r.kind, b.id, b.gtin, b.lot,"
	    " b.mfg, b.expiry FROM serial_ranges r JOIN batches b"
	    " ON b.id = r.batch WHERE r.first <= ?1"
	    " ORDER BY r.first DESC LIMIT 1",
	[S_REVOKED] = "SELECT reason FROM revocations"
	    " WHERE first <= ?1 AND last >= ?1 LIMIT 1",
	[S_STATE_GET] = "SELECT scans, first_at, first_lat, first_lon,"
	    " last_loc_at, last_lat, last_lon FROM code_state WHERE serial = ?1",
	[S_STATE_PUT] = "INSERT OR REPLACE INTO code_state (serial, scans,"
	    " first_at, first_lat, first_lon, last_loc_at, last_lat, last_lon)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_RECENT] = "SELECT (SELECT COUNT(*) FROM scans"
	    " WHERE serial = ?1 AND at >= ?2), (SELECT COUNT(*) FROM"
	    " (SELECT consumer FROM scans WHERE serial = ?1 AND at >= ?2"
	    " AND consumer IS NOT NULL UNION SELECT ?3 WHERE ?3 IS NOT NULL))",
	[S_SCAN_INSERT] = "INSERT INTO scans (at, serial, kind, verdict, lat,"
	    " lon, accuracy, consumer, client, code, region, near_border,"
	    " channel) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	    " ?12, ?13)",
	[S_BATCH_HMAC] = "SELECT hmac FROM batches WHERE id = ?1",
	[S_RANGE_BEFORE] = "SELECT first, last FROM serial_ranges"
	    " WHERE first <= ?1 ORDER BY first DESC LIMIT 1",
	[S_BATCH_INSERT] = "INSERT INTO batches (id, kind, key_id,"
	    " first_serial, count, inner_first, gtin, lot, line, mfg, expiry,"
	    " domain, created, codes_sha256, hmac, imported_at) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
	[S_RANGE_INSERT] = "INSERT INTO serial_ranges (first, last, kind,"
	    " batch) VALUES (?1, ?2, ?3, ?4)",
	[S_REVOKE_INSERT] = "INSERT INTO revocations (first, last, reason, at)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[S_BATCH_RANGES] = "SELECT first, last, kind FROM serial_ranges"
	    " WHERE batch = ?1 ORDER BY first",
	[S_TOKEN_CREATE] = "INSERT INTO tokens (hash, role, dealer, name,"
	    " created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_TOKEN_FIND] = "SELECT id, role, dealer, name, created_at FROM tokens"
	    " WHERE hash = ?1 AND revoked_at IS NULL",
	[S_TOKEN_LIST] = "SELECT id, role, dealer, name, created_at, revoked_at"
	    " FROM tokens ORDER BY id",
	[S_TOKEN_REVOKE] = "UPDATE tokens SET revoked_at = ?2"
	    " WHERE id = ?1 AND revoked_at IS NULL",
	[S_SCAN_EXISTS] = "SELECT 1 FROM scans WHERE id = ?1",
	[S_DEALER_INSERT] = "INSERT INTO dealers (id, name, parent, type,"
	    " created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_DEALER_GET] = "SELECT id, name, parent, type FROM dealers"
	    " WHERE id = ?1",
	[S_DEALER_LIST] = "SELECT id, name, parent, type FROM dealers"
	    " ORDER BY id",
	/* Is ?2 in the subtree of ?1 (itself included)? */
	[S_DEALER_UNDER] = "WITH RECURSIVE up(id, parent) AS ("
	    " SELECT id, parent FROM dealers WHERE id = ?2"
	    " UNION ALL SELECT d.id, d.parent FROM dealers d"
	    " JOIN up ON d.id = up.parent)"
	    " SELECT 1 FROM up WHERE id = ?1",
	[S_TERR_CLEAR] = "DELETE FROM territories WHERE dealer = ?1",
	[S_TERR_ADD] = "INSERT OR IGNORE INTO territories (dealer, region)"
	    " VALUES (?1, ?2)",
	/* The territory of the nearest dealer up the tree that has one. */
	[S_TERR_OF] = "WITH RECURSIVE up(id, parent, depth) AS ("
	    " SELECT id, parent, 0 FROM dealers WHERE id = ?1"
	    " UNION ALL SELECT d.id, d.parent, up.depth + 1 FROM dealers d"
	    " JOIN up ON d.id = up.parent)"
	    " SELECT t.region, up.id FROM up JOIN territories t"
	    " ON t.dealer = up.id WHERE up.depth = (SELECT MIN(u.depth)"
	    " FROM up u JOIN territories t2 ON t2.dealer = u.id)"
	    " ORDER BY t.region",
	[S_PACK_ACTIVE_BEFORE] = "SELECT parent, first, last FROM packs"
	    " WHERE unpacked_at IS NULL AND first <= ?1"
	    " ORDER BY first DESC LIMIT 1",
	[S_PACK_INSERT] = "INSERT INTO packs (parent, first, last, packed_at)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[S_PACK_CHILDREN] = "SELECT first, last FROM packs"
	    " WHERE parent = ?1 AND unpacked_at IS NULL ORDER BY first",
	[S_UNPACK] = "UPDATE packs SET unpacked_at = ?2"
	    " WHERE parent = ?1 AND unpacked_at IS NULL",
	[S_SHIP_INSERT] = "INSERT INTO shipments (first, last, dealer, ref, at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_OWNER_BEFORE] = "SELECT first, last, dealer, at FROM owners"
	    " WHERE first <= ?1 ORDER BY first DESC LIMIT 1",
	[S_OWNER_DEL] = "DELETE FROM owners WHERE first = ?1",
	[S_OWNER_INSERT] = "INSERT INTO owners (first, last, dealer, at)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[S_RECEIPT_INSERT] = "INSERT INTO receipts (serial, dealer, kind, at,"
	    " lat, lon, region, near_border)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_DIVERSION_INSERT] = "INSERT INTO diversions (scan_id, receipt_id,"
	    " at, serial, owner, region, evidence, uncertain)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_CHANNEL_BIND] = "INSERT OR REPLACE INTO channels (serial, dealer,"
	    " type, name, bound_at) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_CHANNEL_GET] = "SELECT dealer, type, name FROM channels"
	    " WHERE serial = ?1",
	[S_CCH_SET] = "INSERT OR REPLACE INTO consumer_channels (consumer,"
	    " channel, until) VALUES (?1, ?2, ?3)",
	[S_CCH_GET] = "SELECT channel FROM consumer_channels"
	    " WHERE consumer = ?1 AND until > ?2",
};

struct conn {
	sqlite3		*db;
	sqlite3_stmt	*stmt[S_COUNT];	/* prepared on first use */
	struct conn	*next_free;
};

struct yima_tx {
	struct yima_store *st;
	struct conn	*c;
	int		 write;
};

struct yima_store {
	struct conn	 writer;
	pthread_mutex_t	 wlock;		/* held for a write transaction */
	struct conn	*readers;
	int		 nreaders;
	struct conn	*free_readers;
	pthread_mutex_t	 rlock;
	pthread_cond_t	 rcond;
	int		 version;
};

static _Thread_local char errbuf[256];

static const char *const verdict_names[] = {
	NULL, "genuine", "repeat", "suspect", "revoked", "unregistered",
	"invalid", "channel"
};

const char *
yima_verdict_name(int v)
{
	if (v < YIMA_V_GENUINE || v > YIMA_V_CHANNEL)
		return NULL;
	return verdict_names[v];
}

const char *
yima_store_errmsg(struct yima_store *st)
{
	(void)st;
	return errbuf;
}

/* Records the connection's error text and maps it to a yima_err. */
static int
db_error(struct conn *c, const char *what)
{
	int code = sqlite3_extended_errcode(c->db);

	snprintf(errbuf, sizeof(errbuf), "%s: %s", what, sqlite3_errmsg(c->db));
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

/* The statement, prepared once per connection, reset and unbound. */
static sqlite3_stmt *
stmt(struct conn *c, enum stmt_id id)
{
	sqlite3_stmt *s = c->stmt[id];

	if (s == NULL) {
		if (sqlite3_prepare_v3(c->db, stmt_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &c->stmt[id], NULL) != SQLITE_OK) {
			db_error(c, "prepare");
			return NULL;
		}
		return c->stmt[id];
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static void
conn_close(struct conn *c)
{
	int i;

	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	memset(c->stmt, 0, sizeof(c->stmt));
	sqlite3_close(c->db);
	c->db = NULL;
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
	if ((rc = exec(c, "PRAGMA foreign_keys = ON")) != 0)
		goto fail;
	if (!write && (rc = exec(c, "PRAGMA query_only = ON")) != 0)
		goto fail;
	if (write) {
		if ((rc = exec(c, "PRAGMA journal_mode = WAL")) != 0 ||
		    (rc = exec(c, sync == YIMA_SYNC_FULL ?
		    "PRAGMA synchronous = FULL" :
		    "PRAGMA synchronous = NORMAL")) != 0)
			goto fail;
	}
	return 0;
fail:
	yima_why_(why, rc, "%s: %s", path, errbuf);
	conn_close(c);
	return rc;
}

static int
migrate(struct yima_store *st, char *why)
{
	struct conn *c = &st->writer;
	sqlite3_stmt *s = NULL;
	char sql[64];
	int v, rc;

	if ((rc = exec(c, "BEGIN IMMEDIATE")) != 0)
		return yima_why_(why, rc, "%s", errbuf);
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
	for (; v < SCHEMA_VERSION; v++) {
		if ((rc = exec(c, migrations[v])) != 0)
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
	return yima_why_(why, rc, "migration: %s", errbuf);
}

int
yima_store_open(const char *target, const struct yima_store_opts *opts,
    struct yima_store **out, char *why)
{
	struct yima_store *st;
	int i, rc, n = opts->readers;

	if (n < 1 || n > 64)
		return yima_why_(why, YIMA_EINVAL, "readers must be 1-64");
	if ((st = yima_calloc(1, sizeof(*st))) == NULL)
		return yima_why_(why, YIMA_ENOMEM, "out of memory");
	pthread_mutex_init(&st->wlock, NULL);
	pthread_mutex_init(&st->rlock, NULL);
	pthread_cond_init(&st->rcond, NULL);
	if ((rc = conn_open(&st->writer, target, 1, opts->sync, why)) != 0)
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
	*out = st;
	return 0;
fail:
	yima_store_close(st);
	return rc;
}

void
yima_store_close(struct yima_store *st)
{
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

int
yima_store_schema_version(struct yima_store *st)
{
	return st->version;
}

int
yima_tx_begin(struct yima_store *st, int write, struct yima_tx **out)
{
	struct yima_tx *tx;
	struct conn *c;
	int rc;

	if ((tx = yima_malloc(sizeof(*tx))) == NULL)
		return YIMA_ENOMEM;
	tx->st = st;
	tx->write = write;
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
	tx->c = c;
	if ((rc = exec(c, write ? "BEGIN IMMEDIATE" : "BEGIN")) != 0) {
		tx->c = c;
		yima_tx_rollback(tx);
		return rc;
	}
	*out = tx;
	return 0;
}

static void
tx_release(struct yima_tx *tx)
{
	struct yima_store *st = tx->st;

	if (tx->write)
		pthread_mutex_unlock(&st->wlock);
	else {
		pthread_mutex_lock(&st->rlock);
		tx->c->next_free = st->free_readers;
		st->free_readers = tx->c;
		pthread_cond_signal(&st->rcond);
		pthread_mutex_unlock(&st->rlock);
	}
	yima_free(tx);
}

int
yima_tx_commit(struct yima_tx *tx)
{
	int rc;

	if ((rc = exec(tx->c, "COMMIT")) != 0) {
		yima_tx_rollback(tx);
		return rc;
	}
	tx_release(tx);
	return 0;
}

void
yima_tx_rollback(struct yima_tx *tx)
{
	if (tx == NULL)
		return;
	if (!sqlite3_get_autocommit(tx->c->db))
		sqlite3_exec(tx->c->db, "ROLLBACK", NULL, NULL, NULL);
	tx_release(tx);
}

/* Steps a statement expected to finish: 0 or an error. */
static int
step_done(struct yima_tx *tx, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_error(tx->c, what);
	return 0;
}

/* Copies a text column; a cut never splits a UTF-8 character. */
static void
col_text(sqlite3_stmt *s, int i, char *out, size_t len)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	size_t n = t != NULL ? strlen((const char *)t) : 0;

	if (n >= len) {
		n = len - 1;
		while (n > 0 && (t[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(out, t, n);
	out[n] = '\0';
}

static void
bind_text(sqlite3_stmt *s, int i, const char *t)
{
	if (t != NULL && t[0] != '\0')
		sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
}

int
yima_tx_range_find(struct yima_tx *tx, uint64_t serial, int kind,
    struct yima_range *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_RANGE_FIND)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)serial);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return YIMA_ENOENT;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return db_error(tx->c, "range");
	}
	if ((uint64_t)sqlite3_column_int64(s, 1) < serial ||
	    sqlite3_column_int(s, 2) != kind) {
		sqlite3_reset(s);
		return YIMA_ENOENT;
	}
	out->first = (uint64_t)sqlite3_column_int64(s, 0);
	out->last = (uint64_t)sqlite3_column_int64(s, 1);
	out->kind = (enum yima_kind)sqlite3_column_int(s, 2);
	col_text(s, 3, out->batch, sizeof(out->batch));
	col_text(s, 4, out->gtin, sizeof(out->gtin));
	col_text(s, 5, out->lot, sizeof(out->lot));
	col_text(s, 6, out->mfg, sizeof(out->mfg));
	col_text(s, 7, out->expiry, sizeof(out->expiry));
	sqlite3_reset(s);
	return 0;
}

int
yima_tx_revoked(struct yima_tx *tx, uint64_t serial, char *reason,
    size_t reasonlen)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_REVOKED)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)serial);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (reason != NULL)
			col_text(s, 0, reason, reasonlen);
		sqlite3_reset(s);
		return 1;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_error(tx->c, "revoked");
}

int
yima_tx_state_get(struct yima_tx *tx, uint64_t serial,
    struct yima_code_state *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_STATE_GET)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)serial);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? YIMA_ENOENT :
		    db_error(tx->c, "state");
	}
	memset(out, 0, sizeof(*out));
	out->scans = (uint64_t)sqlite3_column_int64(s, 0);
	out->first_at = sqlite3_column_int64(s, 1);
	if (sqlite3_column_type(s, 2) != SQLITE_NULL) {
		out->first_located = 1;
		out->first_lat = sqlite3_column_double(s, 2);
		out->first_lon = sqlite3_column_double(s, 3);
	}
	if (sqlite3_column_type(s, 4) != SQLITE_NULL) {
		out->last_located = 1;
		out->last_loc_at = sqlite3_column_int64(s, 4);
		out->last_lat = sqlite3_column_double(s, 5);
		out->last_lon = sqlite3_column_double(s, 6);
	}
	sqlite3_reset(s);
	return 0;
}

int
yima_tx_state_put(struct yima_tx *tx, uint64_t serial,
    const struct yima_code_state *st)
{
	sqlite3_stmt *s;

	if ((s = stmt(tx->c, S_STATE_PUT)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)serial);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)st->scans);
	sqlite3_bind_int64(s, 3, st->first_at);
	if (st->first_located) {
		sqlite3_bind_double(s, 4, st->first_lat);
		sqlite3_bind_double(s, 5, st->first_lon);
	}
	if (st->last_located) {
		sqlite3_bind_int64(s, 6, st->last_loc_at);
		sqlite3_bind_double(s, 7, st->last_lat);
		sqlite3_bind_double(s, 8, st->last_lon);
	}
	return step_done(tx, s, "state put");
}

int
yima_tx_recent(struct yima_tx *tx, uint64_t serial, int64_t since,
    const char *consumer, uint64_t *scans, uint64_t *consumers)
{
	sqlite3_stmt *s;

	if ((s = stmt(tx->c, S_RECENT)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)serial);
	sqlite3_bind_int64(s, 2, since);
	bind_text(s, 3, consumer);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		return db_error(tx->c, "recent");
	}
	*scans = (uint64_t)sqlite3_column_int64(s, 0);
	*consumers = (uint64_t)sqlite3_column_int64(s, 1);
	sqlite3_reset(s);
	return 0;
}

int
yima_tx_scan_insert(struct yima_tx *tx, const struct yima_scan_row *r,
    int64_t *id)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_SCAN_INSERT)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, r->at);
	if (r->has_serial)
		sqlite3_bind_int64(s, 2, (sqlite3_int64)r->serial);
	if (r->kind != 0)
		sqlite3_bind_int(s, 3, r->kind);
	sqlite3_bind_int(s, 4, (int)r->verdict);
	if (r->located) {
		sqlite3_bind_double(s, 5, r->lat);
		sqlite3_bind_double(s, 6, r->lon);
		if (r->accuracy >= 0)
			sqlite3_bind_double(s, 7, r->accuracy);
	}
	bind_text(s, 8, r->consumer);
	bind_text(s, 9, r->client);
	bind_text(s, 10, r->code);
	if (r->region[0] != '\0') {
		bind_text(s, 11, r->region);
		sqlite3_bind_int(s, 12, r->near_border);
	}
	if (r->channel != 0)
		sqlite3_bind_int64(s, 13, (sqlite3_int64)r->channel);
	if ((rc = step_done(tx, s, "scan insert")) != 0)
		return rc;
	*id = sqlite3_last_insert_rowid(tx->c->db);
	return 0;
}

/* YIMA_EEXIST if first..last overlaps a registered range. */
static int
range_free(struct yima_tx *tx, uint64_t first, uint64_t last)
{
	sqlite3_stmt *s;
	int rc, busy = 0;

	if ((s = stmt(tx->c, S_RANGE_BEFORE)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)last);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		busy = (uint64_t)sqlite3_column_int64(s, 1) >= first;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(tx->c, "range check");
	if (busy) {
		snprintf(errbuf, sizeof(errbuf), "serials %llu-%llu overlap "
		    "another batch", (unsigned long long)first,
		    (unsigned long long)last);
		return YIMA_EEXIST;
	}
	return 0;
}

static int
range_add(struct yima_tx *tx, uint64_t first, uint64_t count, int kind,
    const char *batch)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = range_free(tx, first, first + count - 1)) != 0)
		return rc;
	if ((s = stmt(tx->c, S_RANGE_INSERT)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)first);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)(first + count - 1));
	sqlite3_bind_int(s, 3, kind);
	sqlite3_bind_text(s, 4, batch, -1, SQLITE_TRANSIENT);
	return step_done(tx, s, "range insert");
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
yima_tx_batch_import(struct yima_tx *tx, const struct yima_manifest *m,
    const char *hmac, int *created)
{
	sqlite3_stmt *s;
	int rc, same;

	if ((s = stmt(tx->c, S_BATCH_HMAC)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_text(s, 1, m->batch, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		same = strcmp((const char *)sqlite3_column_text(s, 0),
		    hmac) == 0;
		sqlite3_reset(s);
		if (!same) {
			snprintf(errbuf, sizeof(errbuf), "batch %s exists "
			    "with a different manifest", m->batch);
			return YIMA_EEXIST;
		}
		*created = 0;
		return 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_error(tx->c, "batch lookup");
	if ((s = stmt(tx->c, S_BATCH_INSERT)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_text(s, 1, m->batch, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 2, (int)m->kind);
	sqlite3_bind_int(s, 3, (int)m->key_id);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)m->first_serial);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)m->count);
	if (m->inner)
		sqlite3_bind_int64(s, 6, (sqlite3_int64)m->inner_first);
	bind_text(s, 7, m->gtin);
	bind_text(s, 8, m->lot);
	bind_text(s, 9, m->line);
	bind_text(s, 10, m->mfg);
	bind_text(s, 11, m->expiry);
	sqlite3_bind_text(s, 12, m->domain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 13, m->created, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 14, m->codes_sha256, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 15, hmac, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 16, now_ms());
	if ((rc = step_done(tx, s, "batch insert")) != 0)
		return rc;
	if ((rc = range_add(tx, m->first_serial, m->count, (int)m->kind,
	    m->batch)) != 0)
		return rc;
	if (m->inner && (rc = range_add(tx, m->inner_first, m->count,
	    YIMA_KIND_INNER, m->batch)) != 0)
		return rc;
	*created = 1;
	return 0;
}

int
yima_tx_revoke(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *reason)
{
	sqlite3_stmt *s;

	if ((s = stmt(tx->c, S_REVOKE_INSERT)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)first);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)last);
	bind_text(s, 3, reason);
	sqlite3_bind_int64(s, 4, now_ms());
	return step_done(tx, s, "revoke");
}

int
yima_tx_batch_ranges(struct yima_tx *tx, const char *batch,
    struct yima_range *out, size_t max, size_t *n)
{
	sqlite3_stmt *s;
	size_t i = 0;
	int rc;

	if ((s = stmt(tx->c, S_BATCH_RANGES)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_text(s, 1, batch, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && i < max) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].first = (uint64_t)sqlite3_column_int64(s, 0);
		out[i].last = (uint64_t)sqlite3_column_int64(s, 1);
		out[i].kind = (enum yima_kind)sqlite3_column_int(s, 2);
		snprintf(out[i].batch, sizeof(out[i].batch), "%s", batch);
		i++;
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return YIMA_ERANGE;
	if (rc != SQLITE_DONE)
		return db_error(tx->c, "batch ranges");
	*n = i;
	return i == 0 ? YIMA_ENOENT : 0;
}

int
yima_tx_token_create(struct yima_tx *tx, const char *hash_hex,
    const char *role, const char *dealer, const char *name, int64_t *id)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_TOKEN_CREATE)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_text(s, 1, hash_hex, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, role, -1, SQLITE_TRANSIENT);
	bind_text(s, 3, dealer);
	bind_text(s, 4, name);
	sqlite3_bind_int64(s, 5, now_ms());
	if ((rc = step_done(tx, s, "token create")) != 0)
		return rc;
	*id = sqlite3_last_insert_rowid(tx->c->db);
	return 0;
}

static void
token_row(sqlite3_stmt *s, struct yima_token *t, int with_revoked)
{
	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, t->role, sizeof(t->role));
	col_text(s, 2, t->dealer, sizeof(t->dealer));
	col_text(s, 3, t->name, sizeof(t->name));
	t->created_at = sqlite3_column_int64(s, 4);
	if (with_revoked)
		t->revoked_at = sqlite3_column_int64(s, 5);
}

int
yima_tx_token_find(struct yima_tx *tx, const char *hash_hex,
    struct yima_token *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_TOKEN_FIND)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_text(s, 1, hash_hex, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		token_row(s, out, 0);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? YIMA_ENOENT : db_error(tx->c, "token");
}

int
yima_tx_token_list(struct yima_tx *tx,
    void (*fn)(void *ctx, const struct yima_token *t), void *ctx)
{
	struct yima_token t;
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_TOKEN_LIST)) == NULL)
		return YIMA_EDB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		token_row(s, &t, 1);
		fn(ctx, &t);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_error(tx->c, "token list");
}

int
yima_tx_token_revoke(struct yima_tx *tx, int64_t id)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_TOKEN_REVOKE)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now_ms());
	if ((rc = step_done(tx, s, "token revoke")) != 0)
		return rc;
	return sqlite3_changes(tx->c->db) == 1 ? 0 : YIMA_ENOENT;
}

int
yima_tx_scan_exists(struct yima_tx *tx, int64_t id, int *exists)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_SCAN_EXISTS)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(tx->c, "scan exists");
	*exists = rc == SQLITE_ROW;
	return 0;
}

/* ---- the supply chain ---- */

static void
dealer_row(sqlite3_stmt *s, struct yima_dealer *d)
{
	memset(d, 0, sizeof(*d));
	col_text(s, 0, d->id, sizeof(d->id));
	col_text(s, 1, d->name, sizeof(d->name));
	col_text(s, 2, d->parent, sizeof(d->parent));
	col_text(s, 3, d->type, sizeof(d->type));
}

int
yima_tx_dealer_create(struct yima_tx *tx, const struct yima_dealer *d)
{
	struct yima_dealer parent;
	sqlite3_stmt *s;
	int rc;

	if (d->parent[0] != '\0' &&
	    (rc = yima_tx_dealer_get(tx, d->parent, &parent)) != 0)
		return rc;
	if ((s = stmt(tx->c, S_DEALER_INSERT)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_text(s, 1, d->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, d->name, -1, SQLITE_TRANSIENT);
	bind_text(s, 3, d->parent);
	sqlite3_bind_text(s, 4, d->type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, now_ms());
	return step_done(tx, s, "dealer insert");
}

int
yima_tx_dealer_get(struct yima_tx *tx, const char *id, struct yima_dealer *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_DEALER_GET)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		dealer_row(s, out);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? YIMA_ENOENT : db_error(tx->c, "dealer");
}

int
yima_tx_dealer_list(struct yima_tx *tx,
    void (*fn)(void *ctx, const struct yima_dealer *d), void *ctx)
{
	struct yima_dealer d;
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_DEALER_LIST)) == NULL)
		return YIMA_EDB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		dealer_row(s, &d);
		fn(ctx, &d);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_error(tx->c, "dealer list");
}

int
yima_tx_dealer_under(struct yima_tx *tx, const char *root, const char *id,
    int *under)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_DEALER_UNDER)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_text(s, 1, root, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(tx->c, "dealer subtree");
	*under = rc == SQLITE_ROW;
	return 0;
}

int
yima_tx_territory_set(struct yima_tx *tx, const char *dealer,
    const char *const *regions, size_t n)
{
	sqlite3_stmt *s;
	size_t i;
	int rc;

	if ((s = stmt(tx->c, S_TERR_CLEAR)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_text(s, 1, dealer, -1, SQLITE_TRANSIENT);
	if ((rc = step_done(tx, s, "territory clear")) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if ((s = stmt(tx->c, S_TERR_ADD)) == NULL)
			return YIMA_EDB;
		sqlite3_bind_text(s, 1, dealer, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, regions[i], -1, SQLITE_TRANSIENT);
		if ((rc = step_done(tx, s, "territory add")) != 0)
			return rc;
	}
	return 0;
}

int
yima_tx_territory_of(struct yima_tx *tx, const char *dealer,
    char (*regions)[7], size_t max, size_t *n, char *from)
{
	sqlite3_stmt *s;
	size_t i = 0;
	int rc;

	if ((s = stmt(tx->c, S_TERR_OF)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_text(s, 1, dealer, -1, SQLITE_TRANSIENT);
	if (from != NULL)
		from[0] = '\0';
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && i < max) {
		col_text(s, 0, regions[i++], 7);
		if (from != NULL)
			col_text(s, 1, from, YIMA_DEALER_ID_MAX + 1);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return YIMA_ERANGE;
	if (rc != SQLITE_DONE)
		return db_error(tx->c, "territory");
	*n = i;
	return 0;
}

int
yima_tx_pack_parent(struct yima_tx *tx, uint64_t child, uint64_t *parent)
{
	sqlite3_stmt *s;
	int rc, hit = 0;

	if ((s = stmt(tx->c, S_PACK_ACTIVE_BEFORE)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)child);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW &&
	    (uint64_t)sqlite3_column_int64(s, 2) >= child) {
		*parent = (uint64_t)sqlite3_column_int64(s, 0);
		hit = 1;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(tx->c, "pack parent");
	return hit ? 0 : YIMA_ENOENT;
}

int
yima_tx_pack_add(struct yima_tx *tx, uint64_t parent, uint64_t first,
    uint64_t last, int64_t at)
{
	sqlite3_stmt *s;

	if ((s = stmt(tx->c, S_PACK_INSERT)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)parent);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)first);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)last);
	sqlite3_bind_int64(s, 4, at);
	return step_done(tx, s, "pack insert");
}

int
yima_tx_pack_children(struct yima_tx *tx, uint64_t parent,
    struct yima_span *out, size_t max, size_t *n)
{
	sqlite3_stmt *s;
	size_t i = 0;
	int rc;

	if ((s = stmt(tx->c, S_PACK_CHILDREN)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)parent);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && i < max) {
		out[i].first = (uint64_t)sqlite3_column_int64(s, 0);
		out[i].last = (uint64_t)sqlite3_column_int64(s, 1);
		i++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(tx->c, "pack children");
	*n = i;
	return rc == SQLITE_ROW ? YIMA_ERANGE : 0;
}

int
yima_tx_unpack(struct yima_tx *tx, uint64_t parent, int64_t at, int *rows)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_UNPACK)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)parent);
	sqlite3_bind_int64(s, 2, at);
	if ((rc = step_done(tx, s, "unpack")) != 0)
		return rc;
	*rows = sqlite3_changes(tx->c->db);
	return 0;
}

static int
owner_put(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *dealer, int64_t at)
{
	sqlite3_stmt *s;

	if ((s = stmt(tx->c, S_OWNER_INSERT)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)first);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)last);
	sqlite3_bind_text(s, 3, dealer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, at);
	return step_done(tx, s, "owner insert");
}

/* Owner ranges never overlap: cut what [first, last] covers, then add. */
static int
owner_set(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *dealer, int64_t at)
{
	char d[YIMA_DEALER_ID_MAX + 1];
	sqlite3_stmt *s;
	uint64_t f, l;
	int64_t dat;
	int rc, hit;

	for (;;) {
		/* The range starting at or before last, if it overlaps. */
		if ((s = stmt(tx->c, S_OWNER_BEFORE)) == NULL)
			return YIMA_EDB;
		sqlite3_bind_int64(s, 1, (sqlite3_int64)last);
		rc = sqlite3_step(s);
		hit = rc == SQLITE_ROW &&
		    (uint64_t)sqlite3_column_int64(s, 1) >= first;
		if (hit) {
			f = (uint64_t)sqlite3_column_int64(s, 0);
			l = (uint64_t)sqlite3_column_int64(s, 1);
			col_text(s, 2, d, sizeof(d));
			dat = sqlite3_column_int64(s, 3);
		}
		sqlite3_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return db_error(tx->c, "owner");
		if (!hit)
			break;
		if ((s = stmt(tx->c, S_OWNER_DEL)) == NULL)
			return YIMA_EDB;
		sqlite3_bind_int64(s, 1, (sqlite3_int64)f);
		if ((rc = step_done(tx, s, "owner delete")) != 0)
			return rc;
		/* Keep the parts outside [first, last]. */
		if (l > last && (rc = owner_put(tx, last + 1, l, d, dat)) != 0)
			return rc;
		if (f < first) {
			if ((rc = owner_put(tx, f, first - 1, d, dat)) != 0)
				return rc;
			break;
		}
	}
	return owner_put(tx, first, last, dealer, at);
}

int
yima_tx_ship(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *dealer, const char *ref, int64_t at)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_SHIP_INSERT)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)first);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)last);
	sqlite3_bind_text(s, 3, dealer, -1, SQLITE_TRANSIENT);
	bind_text(s, 4, ref);
	sqlite3_bind_int64(s, 5, at);
	if ((rc = step_done(tx, s, "shipment")) != 0)
		return rc;
	return owner_set(tx, first, last, dealer, at);
}

/* The owner range holding serial: its dealer and shipment time. */
static int
owner_of(struct yima_tx *tx, uint64_t serial, char *dealer, int64_t *at)
{
	sqlite3_stmt *s;
	int rc, hit = 0;

	if ((s = stmt(tx->c, S_OWNER_BEFORE)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)serial);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW &&
	    (uint64_t)sqlite3_column_int64(s, 1) >= serial) {
		col_text(s, 2, dealer, YIMA_DEALER_ID_MAX + 1);
		*at = sqlite3_column_int64(s, 3);
		hit = 1;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(tx->c, "owner");
	return hit ? 0 : YIMA_ENOENT;
}

/*
 * The dealer of the latest shipment of serial or of the box and pallet it
 * is packed in now: goods packed after their case was shipped belong to
 * the case's dealer.
 */
int
yima_tx_owner(struct yima_tx *tx, uint64_t serial, char *dealer)
{
	char d[YIMA_DEALER_ID_MAX + 1];
	int64_t at = 0, best = -1;
	uint64_t s = serial, p;
	int depth, rc;

	for (depth = 0; depth < 4; depth++) {
		rc = owner_of(tx, s, d, &at);
		if (rc == 0 && at > best) {
			best = at;
			memcpy(dealer, d, sizeof(d));
		} else if (rc != 0 && rc != YIMA_ENOENT)
			return rc;
		if ((rc = yima_tx_pack_parent(tx, s, &p)) == YIMA_ENOENT)
			break;
		if (rc != 0)
			return rc;
		s = p;
	}
	return best >= 0 ? 0 : YIMA_ENOENT;
}

int
yima_tx_receipt_add(struct yima_tx *tx, const struct yima_receipt *r,
    int64_t *id)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_RECEIPT_INSERT)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)r->serial);
	sqlite3_bind_text(s, 2, r->dealer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, r->kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, r->at);
	if (r->located) {
		sqlite3_bind_double(s, 5, r->lat);
		sqlite3_bind_double(s, 6, r->lon);
	}
	if (r->region[0] != '\0') {
		bind_text(s, 7, r->region);
		sqlite3_bind_int(s, 8, r->near_border);
	}
	if ((rc = step_done(tx, s, "receipt")) != 0)
		return rc;
	*id = sqlite3_last_insert_rowid(tx->c->db);
	return 0;
}

int
yima_tx_diversion_add(struct yima_tx *tx, const struct yima_diversion *d)
{
	sqlite3_stmt *s;

	if ((s = stmt(tx->c, S_DIVERSION_INSERT)) == NULL)
		return YIMA_EDB;
	if (d->scan_id > 0)
		sqlite3_bind_int64(s, 1, d->scan_id);
	if (d->receipt_id > 0)
		sqlite3_bind_int64(s, 2, d->receipt_id);
	sqlite3_bind_int64(s, 3, d->at);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)d->serial);
	sqlite3_bind_text(s, 5, d->owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 6, d->region, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 7, d->evidence, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 8, d->uncertain);
	return step_done(tx, s, "diversion");
}

int
yima_tx_diversion_list(struct yima_tx *tx, const char *root, int64_t from,
    int64_t to, void (*fn)(void *ctx, const struct yima_diversion *d),
    void *ctx)
{
	static const char sql[] = "WITH RECURSIVE sub(id) AS ("
	    " SELECT id FROM dealers WHERE id = ?1 OR ?1 IS NULL"
	    " UNION SELECT d.id FROM dealers d JOIN sub ON d.parent = sub.id)"
	    " SELECT v.scan_id, v.receipt_id, v.at, v.serial, v.owner,"
	    " v.region, v.evidence, v.uncertain FROM diversions v"
	    " WHERE v.at >= ?2 AND v.at < ?3"
	    " AND (?1 IS NULL OR v.owner IN (SELECT id FROM sub))"
	    " ORDER BY v.at, v.id";
	struct yima_diversion d;
	sqlite3_stmt *s = NULL;
	int rc;

	/* Rare and report-time: prepared per call. */
	if (sqlite3_prepare_v2(tx->c->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_error(tx->c, "diversion list");
	bind_text(s, 1, root);
	sqlite3_bind_int64(s, 2, from);
	sqlite3_bind_int64(s, 3, to);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&d, 0, sizeof(d));
		d.scan_id = sqlite3_column_int64(s, 0);
		d.receipt_id = sqlite3_column_int64(s, 1);
		d.at = sqlite3_column_int64(s, 2);
		d.serial = (uint64_t)sqlite3_column_int64(s, 3);
		col_text(s, 4, d.owner, sizeof(d.owner));
		col_text(s, 5, d.region, sizeof(d.region));
		col_text(s, 6, d.evidence, sizeof(d.evidence));
		d.uncertain = sqlite3_column_int(s, 7);
		fn(ctx, &d);
	}
	if (rc != SQLITE_DONE)
		rc = db_error(tx->c, "diversion list");
	else
		rc = 0;
	sqlite3_finalize(s);
	return rc;
}

int
yima_tx_channel_bind(struct yima_tx *tx, uint64_t serial,
    const struct yima_channel *c)
{
	sqlite3_stmt *s;

	if ((s = stmt(tx->c, S_CHANNEL_BIND)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)serial);
	sqlite3_bind_text(s, 2, c->dealer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, c->type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, c->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, now_ms());
	return step_done(tx, s, "channel bind");
}

int
yima_tx_channel_get(struct yima_tx *tx, uint64_t serial,
    struct yima_channel *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_CHANNEL_GET)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)serial);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->serial = serial;
		col_text(s, 0, out->dealer, sizeof(out->dealer));
		col_text(s, 1, out->type, sizeof(out->type));
		col_text(s, 2, out->name, sizeof(out->name));
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? YIMA_ENOENT : db_error(tx->c, "channel");
}

int
yima_tx_consumer_channel_set(struct yima_tx *tx, const char *consumer,
    uint64_t channel, int64_t until)
{
	sqlite3_stmt *s;

	if ((s = stmt(tx->c, S_CCH_SET)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_text(s, 1, consumer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)channel);
	sqlite3_bind_int64(s, 3, until);
	return step_done(tx, s, "consumer channel");
}

int
yima_tx_consumer_channel_get(struct yima_tx *tx, const char *consumer,
    int64_t now, uint64_t *channel)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(tx->c, S_CCH_GET)) == NULL)
		return YIMA_EDB;
	sqlite3_bind_text(s, 1, consumer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*channel = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? YIMA_ENOENT :
	    db_error(tx->c, "consumer channel");
}

int
yima_tx_history(struct yima_tx *tx, uint64_t serial,
    void (*fn)(void *ctx, const struct yima_event *e), void *ctx)
{
	static const char sql[] =
	    "SELECT * FROM ("
	    " SELECT 'shipment', at, id, dealer, ref, NULL FROM shipments"
	    "  WHERE first <= ?1 AND last >= ?1"
	    " UNION ALL SELECT 'receipt', at, id, dealer, kind, region"
	    "  FROM receipts WHERE serial = ?1"
	    " UNION ALL SELECT * FROM (SELECT 'scan', at, id, NULL, verdict,"
	    "  region FROM scans WHERE serial = ?1 ORDER BY at DESC LIMIT 100))"
	    " ORDER BY 2, 3";
	static const char *const types[] = { "shipment", "receipt", "scan" };
	struct yima_event e;
	sqlite3_stmt *s = NULL;
	const char *t;
	int rc, i;

	if (sqlite3_prepare_v2(tx->c->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_error(tx->c, "history");
	sqlite3_bind_int64(s, 1, (sqlite3_int64)serial);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		t = (const char *)sqlite3_column_text(s, 0);
		for (i = 0; i < 3; i++)
			if (t != NULL && strcmp(t, types[i]) == 0)
				e.type = types[i];
		e.at = sqlite3_column_int64(s, 1);
		e.id = sqlite3_column_int64(s, 2);
		col_text(s, 3, e.dealer, sizeof(e.dealer));
		if (e.type == types[2])
			snprintf(e.detail, sizeof(e.detail), "%s",
			    yima_verdict_name(sqlite3_column_int(s, 4)) ?
			    yima_verdict_name(sqlite3_column_int(s, 4)) : "");
		else
			col_text(s, 4, e.detail, sizeof(e.detail));
		col_text(s, 5, e.region, sizeof(e.region));
		if (e.type != NULL)
			fn(ctx, &e);
	}
	rc = rc == SQLITE_DONE ? 0 : db_error(tx->c, "history");
	sqlite3_finalize(s);
	return rc;
}
