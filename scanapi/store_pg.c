/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PostgreSQL back-end (libpq), for several scanapi nodes on one
 * database. A pool of connections, each transaction on one of them;
 * writes run SERIALIZABLE, so what must happen once (a first scan, a
 * claim, a prize) is the database's to enforce across nodes, and a
 * conflict comes back as YIMA_EBUSY for the caller to run again. A lost
 * connection is reopened, with a bounded back-off, when next taken.
 *
 * Built so far: opening, the pool, migrations (one list with SQLite's,
 * scanapi/schema.c), transactions. The calls not yet ported are absent
 * from the ops table and answer "not supported on PostgreSQL yet".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "../codegen/err-private.h"
#include "schema.h"
#include "store-ops.h"

#define RECONNECT_TRIES	5	/* attempts when a connection is lost */
#define RECONNECT_MS	50	/* the first wait, doubled each time */
/* Concurrent migrations (nodes starting together) take turns. */
#define MIGRATE_LOCK	"7369736d61" /* any constant bigint */

struct pg_conn {
	PGconn		*pq;
	struct pg_conn	*next_free;
};

struct pg_store {
	struct yima_store base;
	char		*url;
	struct pg_conn	*conns;
	int		 nconns;
	struct pg_conn	*free;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 version;
};

struct pg_tx {
	struct yima_tx	 base;
	struct pg_store	*st;
	struct pg_conn	*c;
	int		 write;
};

#define PT(t)	((struct pg_tx *)(t))

static const struct yima_store_ops pg_ops;
static _Thread_local char errbuf[512];

static const char *
pg_errmsg(struct yima_store *st)
{
	(void)st;
	return errbuf;
}

/*
 * Records a failed result's text and maps its SQLSTATE: unique
 * violation YIMA_EEXIST, other constraints YIMA_EINVAL, serialization
 * failure or deadlock YIMA_EBUSY (run the transaction again), the rest
 * YIMA_EDB. Clears res.
 */
static int
pg_error(struct pg_conn *c, PGresult *res, const char *what)
{
	const char *state = res != NULL ? PQresultErrorField(res,
	    PG_DIAG_SQLSTATE) : NULL;
	int rc = YIMA_EDB;

	snprintf(errbuf, sizeof(errbuf), "%s: %s", what, res != NULL &&
	    PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res) :
	    PQerrorMessage(c->pq));
	errbuf[strcspn(errbuf, "\n")] = '\0';
	if (state != NULL) {
		if (strcmp(state, "23505") == 0)
			rc = YIMA_EEXIST;
		else if (strncmp(state, "23", 2) == 0)
			rc = YIMA_EINVAL;
		else if (strcmp(state, "40001") == 0 ||
		    strcmp(state, "40P01") == 0)
			rc = YIMA_EBUSY;
	}
	PQclear(res);
	return rc;
}

/* Runs sql (no parameters, no rows wanted): 0 or an error. */
static int
pg_exec(struct pg_conn *c, const char *sql, const char *what)
{
	PGresult *res = PQexec(c->pq, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		return pg_error(c, res, what);
	PQclear(res);
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* (Re)connects c, a few times with a growing wait. */
static int
pg_connect(struct pg_store *st, struct pg_conn *c)
{
	long wait = RECONNECT_MS;
	int i;

	for (i = 0; i < RECONNECT_TRIES; i++) {
		if (c->pq != NULL)
			PQfinish(c->pq);
		c->pq = PQconnectdb(st->url);
		/* Text in and out is UTF-8; notices are not for stderr. */
		if (c->pq != NULL && PQstatus(c->pq) == CONNECTION_OK &&
		    pg_exec(c, "SET client_encoding = 'UTF8';"
		    " SET client_min_messages = warning", "set") == 0)
			return 0;
		snprintf(errbuf, sizeof(errbuf), "connect: %s", c->pq != NULL ?
		    PQerrorMessage(c->pq) : "out of memory");
		errbuf[strcspn(errbuf, "\n")] = '\0';
		if (i + 1 < RECONNECT_TRIES)
			sleep_ms(wait);
		wait *= 2;
	}
	return YIMA_EDB;
}

/* Brings the database to api_schema_version, one node at a time. */
static int
migrate(struct pg_store *st, struct pg_conn *c, char *why)
{
	PGresult *res;
	char sql[96];
	int v, rc;

	if ((rc = pg_exec(c, "BEGIN", "migration")) != 0 ||
	    (rc = pg_exec(c, "SELECT pg_advisory_xact_lock(x'" MIGRATE_LOCK
	    "'::bigint)", "migration lock")) != 0 ||
	    (rc = pg_exec(c, "CREATE TABLE IF NOT EXISTS yima_schema"
	    " (version INTEGER NOT NULL)", "migration")) != 0)
		goto fail;
	res = PQexec(c->pq, "SELECT version FROM yima_schema");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = pg_error(c, res, "schema version");
		goto fail;
	}
	v = PQntuples(res) > 0 ? atoi(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	if (v > api_schema_version) {
		pg_exec(c, "ROLLBACK", "rollback");
		return yima_why_(why, YIMA_EDB, "the database has schema "
		    "version %d, newer than this program (%d)", v,
		    api_schema_version);
	}
	for (; v < api_schema_version; v++)
		if ((rc = pg_exec(c, api_migrations[v].pg, "migration")) != 0)
			goto fail;
	snprintf(sql, sizeof(sql), "DELETE FROM yima_schema;"
	    " INSERT INTO yima_schema VALUES (%d)", v);
	if ((rc = pg_exec(c, sql, "schema version")) != 0 ||
	    (rc = pg_exec(c, "COMMIT", "migration")) != 0)
		goto fail;
	st->version = v;
	return 0;
fail:
	pg_exec(c, "ROLLBACK", "rollback");
	return yima_why_(why, rc, "migration: %s", errbuf);
}

static void
pg_close(struct yima_store *base)
{
	struct pg_store *st = (struct pg_store *)base;
	int i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nconns; i++)
		if (st->conns[i].pq != NULL)
			PQfinish(st->conns[i].pq);
	yima_free(st->conns);
	yima_free(st->url);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	yima_free(st);
}

int
api_pg_open(const char *url, const struct yima_store_opts *opts,
    struct yima_store **out, char *why)
{
	struct pg_store *st;
	int i, rc, n = opts->readers + 1;

	if (opts->readers < 1 || opts->readers > 64)
		return yima_why_(why, YIMA_EINVAL, "readers must be 1-64");
	if ((st = yima_calloc(1, sizeof(*st))) == NULL ||
	    (st->url = strdup(url)) == NULL ||
	    (st->conns = yima_calloc((size_t)n, sizeof(*st->conns))) == NULL) {
		if (st != NULL)
			yima_free(st->url);
		yima_free(st);
		return yima_why_(why, YIMA_ENOMEM, "out of memory");
	}
	st->base.ops = &pg_ops;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	for (i = 0; i < n; i++) {
		st->nconns++;
		if ((rc = pg_connect(st, &st->conns[i])) != 0) {
			rc = yima_why_(why, rc, "%s", errbuf);
			goto fail;
		}
		st->conns[i].next_free = st->free;
		st->free = &st->conns[i];
	}
	if ((rc = migrate(st, &st->conns[0], why)) != 0)
		goto fail;
	*out = &st->base;
	return 0;
fail:
	pg_close(&st->base);
	return rc;
}

static int
pg_schema_version(struct yima_store *st)
{
	return ((struct pg_store *)st)->version;
}

static void
release(struct pg_tx *t)
{
	struct pg_store *st = t->st;

	pthread_mutex_lock(&st->lock);
	t->c->next_free = st->free;
	st->free = t->c;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
	yima_free(t);
}

/*
 * A write is SERIALIZABLE: any read-then-write it does is safe against
 * other nodes' (PostgreSQL aborts one with 40001, YIMA_EBUSY). A read is
 * one snapshot (REPEATABLE READ, read only): a report is consistent.
 */
static int
pg_begin(struct yima_store *base, int write, struct yima_tx **out)
{
	struct pg_store *st = (struct pg_store *)base;
	struct pg_tx *t;
	int rc;

	if ((t = yima_calloc(1, sizeof(*t))) == NULL)
		return YIMA_ENOMEM;
	t->base.ops = &pg_ops;
	t->st = st;
	t->write = write;
	pthread_mutex_lock(&st->lock);
	while (st->free == NULL)
		pthread_cond_wait(&st->cond, &st->lock);
	t->c = st->free;
	st->free = t->c->next_free;
	pthread_mutex_unlock(&st->lock);
	/* A connection lost since its last use is opened again. */
	if (PQstatus(t->c->pq) != CONNECTION_OK &&
	    (rc = pg_connect(st, t->c)) != 0) {
		release(t);
		return rc;
	}
	rc = pg_exec(t->c, write ? "BEGIN ISOLATION LEVEL SERIALIZABLE" :
	    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin");
	if (rc != 0 && PQstatus(t->c->pq) != CONNECTION_OK &&
	    pg_connect(st, t->c) == 0)
		rc = pg_exec(t->c, write ? "BEGIN ISOLATION LEVEL "
		    "SERIALIZABLE" : "BEGIN ISOLATION LEVEL REPEATABLE READ "
		    "READ ONLY", "begin");
	if (rc != 0) {
		release(t);
		return rc;
	}
	*out = &t->base;
	return 0;
}

static void
pg_rollback(struct yima_tx *tx)
{
	if (PQtransactionStatus(PT(tx)->c->pq) != PQTRANS_IDLE)
		pg_exec(PT(tx)->c, "ROLLBACK", "rollback");
	release(PT(tx));
}

static int
pg_commit(struct yima_tx *tx)
{
	int rc;

	if ((rc = pg_exec(PT(tx)->c, "COMMIT", "commit")) != 0) {
		pg_rollback(tx);
		return rc;
	}
	release(PT(tx));
	return 0;
}

int
api_store_unsupported(struct yima_tx *tx, const char *name)
{
	snprintf(errbuf, sizeof(errbuf), "%s is not supported on %s yet",
	    name, tx->ops->name);
	return YIMA_EDB;
}

/* The PostgreSQL back-end's table; calls not ported yet are NULL. */
static const struct yima_store_ops pg_ops = {
	.name = "postgresql",
	.close = pg_close,
	.schema_version = pg_schema_version,
	.errmsg = pg_errmsg,
	.begin = pg_begin,
	.rollback = pg_rollback,
	.commit = pg_commit,
};
