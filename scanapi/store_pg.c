/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PostgreSQL back-end (libpq), for several scanapi nodes on one
 * database. A pool of connections, each transaction on one of them;
 * writes run SERIALIZABLE, so what must happen once (a first scan, a
 * claim, a prize) is the database's to enforce across nodes, and a
 * conflict comes back as YIMA_EBUSY for the caller to run again. A lost
 * connection is reopened, with a bounded back-off, when next taken.
 *
 * The schema is one versioned list with SQLite's (scanapi/schema.c).
 * Each call mirrors the SQLite back-end's, in PostgreSQL's words; a
 * statement a constraint may refuse runs under a savepoint, since
 * PostgreSQL would otherwise abort the whole transaction. Parameters go
 * as text, to statements each connection prepares the first time it runs
 * them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "../codegen/err-private.h"
#include "schema.h"
#include "db.h"
#include "store-ops.h"

#define RECONNECT_TRIES	5	/* attempts when a connection is lost */
#define RECONNECT_MS	50	/* the first wait, doubled each time */
#define DOWN_MS		500	/* a server found down is tried this often */
/* Concurrent migrations (nodes starting together) take turns. */
#define MIGRATE_LOCK	"7369736d61" /* any constant bigint */
#define NODE_LOCK	"1937339757" /* with a node number: serving it */
#define NODE_TRIES	20	/* a node just stopped may still be leaving */
#define NODE_MAX	999	/* rollup rows are node + 1000 k */
#define QUEUE_LOCK	"1937339758" /* with a queue: a write's turn in it */


struct pg_conn {
	PGconn		*pq;
	struct pg_conn	*next_free;
	char		 node[8];	/* a writer's rollup rows */
	void		*dbc;		/* the driver's (db.h) */
};

struct pg_store {
	struct yima_store base;
	char		*url;
	struct pg_conn	*conns;
	int		 nconns;
	struct pg_conn	*free;		/* readers */
	struct pg_conn	*wfree;		/* writers */
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond, wcond;
	int		 version;
	PGconn		*holder;	/* holds the node's lock while open */
	int		 node;		/* the node's number */
	_Atomic int64_t	 down_until;	/* monotonic ms; 0: not known down */
};

struct pg_tx {
	struct yima_tx	 base;
	struct pg_store	*st;
	struct pg_conn	*c;
	int		 write;
	int64_t		 queue;		/* holds its turn in it; 0: none */
};

#define PT(t)	((struct pg_tx *)(t))

static const struct yima_store_ops pg_ops;

/*
 * Records a failed result's text and maps its SQLSTATE as the driver
 * does (api_pg_sqlstate). Clears res.
 */
static int
pg_error(struct pg_conn *c, PGresult *res, const char *what)
{
	int rc = api_pg_sqlstate(res != NULL ? PQresultErrorField(res,
	    PG_DIAG_SQLSTATE) : NULL);

	api_store_seterr("%s: %s", what, res != NULL &&
	    PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res) :
	    PQerrorMessage(c->pq));
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

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * (Re)connects c, a few times with a growing wait. Once those all fail
 * the server is taken as down: until it answers again, one caller every
 * DOWN_MS tries once, and the others fail at once (a 503, not a request
 * held for seconds on every thread).
 */
static int
pg_connect(struct pg_store *st, struct pg_conn *c)
{
	long wait = RECONNECT_MS;
	int64_t down = atomic_load(&st->down_until), now = mono_ms();
	int i, tries = RECONNECT_TRIES;

	if (down != 0) {
		if (now < down || !atomic_compare_exchange_strong(
		    &st->down_until, &down, now + DOWN_MS)) {
			api_store_seterr("connect: the database is down; "
			    "trying again every %d ms", DOWN_MS);
			return YIMA_EDB;
		}
		tries = 1;	/* this caller's turn to try */
	}
	for (i = 0; i < tries; i++) {
		if (c->pq != NULL)
			PQfinish(c->pq);
		{
			/* An unreachable server fails in seconds, not minutes. */
			const char *const k[] = { "dbname", "connect_timeout",
			    NULL };
			const char *const v[] = { st->url, "5", NULL };

			c->pq = PQconnectdbParams(k, v, 1);
		}
		/* Text in and out is UTF-8; notices are not for stderr. */
		if (c->pq != NULL && PQstatus(c->pq) == CONNECTION_OK &&
		    pg_exec(c, "SET client_encoding = 'UTF8';"
		    " SET client_min_messages = warning", "set") == 0) {
			if (c->dbc != NULL)
				api_pgq_conn_reset(c->dbc, c->pq);
			else if ((c->dbc = api_pgq_conn_new(c->pq)) == NULL) {
				api_store_seterr("out of memory");
				return YIMA_ENOMEM;
			}
			atomic_store(&st->down_until, 0);
			return 0;
		}
		api_store_seterr("connect: %s", c->pq != NULL ?
		    PQerrorMessage(c->pq) : "out of memory");
		if (i + 1 < tries)
			sleep_ms(wait);
		wait *= 2;
	}
	atomic_store(&st->down_until, mono_ms() + DOWN_MS);
	return YIMA_EDB;
}

/*
 * The scans' monthly partitions (UTC), this month and the next 12, made
 * when missing at every start: a month whose rows already went to the
 * default partition is left there (a partition cannot take them over).
 */
static int
months_ahead(struct pg_conn *c)
{
	int rc = pg_exec(c, "DO $$ DECLARE m date; lo bigint; hi bigint;"
	    " name text; BEGIN"
	    " FOR i IN 0..12 LOOP"
	    "  m := date_trunc('month', now() AT TIME ZONE 'UTC')::date"
	    "   + make_interval(months => i);"
	    "  lo := extract(epoch FROM m::timestamp)::bigint * 1000;"
	    "  hi := extract(epoch FROM (m + interval '1 month')::timestamp)"
	    "   ::bigint * 1000;"
	    "  name := 'scans_' || to_char(m, 'YYYY_MM');"
	    "  IF to_regclass(name) IS NULL AND NOT EXISTS (SELECT 1 FROM"
	    "   scans_default WHERE at >= lo AND at < hi) THEN"
	    "   EXECUTE format('CREATE TABLE %I PARTITION OF scans FOR VALUES"
	    "    FROM (%s) TO (%s)', name, lo, hi);"
	    "  END IF;"
	    " END LOOP; END $$", "monthly partitions");

	return rc;
}

/* Brings the database to api_schema_version, one node at a time. */
static int
migrate(struct pg_store *st, struct pg_conn *c, char *why)
{
	PGresult *res;
	char sql[96];
	int v, rc;

	/*
	 * Under one lock, so nodes starting together migrate once. Every
	 * start makes the coming months' partitions: the role needs CREATE.
	 */
	if ((rc = pg_exec(c, "BEGIN", "migration")) != 0 ||
	    (rc = pg_exec(c, "SELECT pg_advisory_xact_lock(x'" MIGRATE_LOCK
	    "'::bigint)", "migration lock")) != 0)
		goto fail;
	res = PQexec(c->pq, "SELECT to_regclass('yima_schema') IS NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = pg_error(c, res, "schema version");
		goto fail;
	}
	v = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (v && (rc = pg_exec(c, "CREATE TABLE yima_schema"
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
	if ((rc = months_ahead(c)) != 0)
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
	return yima_why_(why, rc, "migration: %s", api_store_err);
}

/* 1 if the holder took node's lock, 0 if another session has it. */
static int
try_node(struct pg_store *st, int node, char *why)
{
	char sql[96];
	PGresult *res;
	int held;

	snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%s, %d)",
	    NODE_LOCK, node);
	res = PQexec(st->holder, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return yima_why_(why, YIMA_EDB, "node lock: %s",
		    PQerrorMessage(st->holder));
	}
	held = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return held;
}

/*
 * Two nodes with one number would add to the same rollup rows, and every
 * pair of their batches conflict: a serving node holds a session lock on
 * its number, on a connection of its own, while it is open (the lock
 * goes with the session, however the node ends). A node given no number
 * (node < 0) takes the lowest free one, so that identical nodes start
 * from one command line; a pinned one waits a little for a node just
 * stopped. The number held goes in st->node.
 */
static int
hold_node(struct pg_store *st, int node, char *why)
{
	const char *const k[] = { "dbname", "connect_timeout", NULL };
	const char *const v[] = { st->url, "5", NULL };
	int i, held = 0;

	st->holder = PQconnectdbParams(k, v, 1);
	if (st->holder == NULL || PQstatus(st->holder) != CONNECTION_OK)
		return yima_why_(why, YIMA_EDB, "connect: %s", st->holder ?
		    PQerrorMessage(st->holder) : "out of memory");
	for (i = 0; i < (node < 0 ? NODE_MAX + 1 : NODE_TRIES) && !held;
	    i++) {
		if (node >= 0 && i > 0)
			sleep_ms(100);
		if ((held = try_node(st, node < 0 ? i : node, why)) < 0)
			return held;
		if (held)
			st->node = node < 0 ? i : node;
	}
	if (!held && node >= 0)
		return yima_why_(why, YIMA_EEXIST, "node %d is already serving "
		    "on this database: give each node its own --node-id, or "
		    "none to take a free one", node);
	if (!held)
		return yima_why_(why, YIMA_EEXIST, "all %d node numbers are "
		    "serving on this database", NODE_MAX + 1);
	return 0;
}

static void
pg_close(struct yima_store *base)
{
	struct pg_store *st = (struct pg_store *)base;
	int i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nconns; i++) {
		api_pgq_conn_free(st->conns[i].dbc);
		if (st->conns[i].pq != NULL)
			PQfinish(st->conns[i].pq);
	}
	if (st->holder != NULL)
		PQfinish(st->holder);
	yima_free(st->conns);
	yima_free(st->url);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	pthread_cond_destroy(&st->wcond);
	yima_free(st);
}

int
api_pg_open(const char *url, const struct yima_store_opts *opts,
    struct yima_store **out, char *why)
{
	struct pg_store *st;
	int w = (opts->writers > 0 ? opts->writers : 1) + 1;
	int i, rc, n = opts->readers + w;

	if (opts->readers < 1 || opts->readers > 64)
		return yima_why_(why, YIMA_EINVAL, "readers must be 1-64");
	if (w > 17)
		return yima_why_(why, YIMA_EINVAL, "writers must be 1-16");
	/* Rollup rows are node + 1000 k: a node past 999 would share some. */
	if (opts->node > NODE_MAX)
		return yima_why_(why, YIMA_EINVAL, "node must be 0-999");
	if ((st = yima_calloc(1, sizeof(*st))) == NULL ||
	    (st->url = strdup(url)) == NULL ||
	    (st->conns = yima_calloc((size_t)n, sizeof(*st->conns))) == NULL) {
		if (st != NULL)
			yima_free(st->url);
		yima_free(st);
		return yima_why_(why, YIMA_ENOMEM, "out of memory");
	}
	st->base.ops = &pg_ops;
	st->base.writers = w - 1;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	pthread_cond_init(&st->wcond, NULL);
	/*
	 * The writers' pool, then the readers'. One write connection more
	 * than the writer threads, shared with the routes' writes, so that
	 * these seldom wait for scan batches. Connection k adds to rollup rows
	 * numbered node + 1000 k, its own: two never update the same row.
	 */
	for (i = 0; i < n; i++) {
		struct pg_conn *c = &st->conns[i];

		st->nconns++;
		if ((rc = pg_connect(st, c)) != 0) {
			rc = yima_why_(why, rc, "%s", api_store_err);
			goto fail;
		}
		c->next_free = i < w ? st->wfree : st->free;
		*(i < w ? &st->wfree : &st->free) = c;
	}
	st->node = opts->node > 0 ? opts->node : 0;	/* a command's */
	if ((rc = migrate(st, &st->conns[0], why)) != 0 ||
	    (opts->serving && (rc = hold_node(st, opts->node, why)) != 0))
		goto fail;
	st->base.node = st->node;
	for (i = 0; i < n; i++)
		snprintf(st->conns[i].node, sizeof(st->conns[i].node), "%d",
		    st->node + 1000 * (i < w ? i : 0));
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
	struct pg_conn **pool = t->write ? &st->wfree : &st->free;

	if (t->queue != 0 && PQstatus(t->c->pq) == CONNECTION_OK) {
		char sql[80];

		/* (a failure leaves it to the session's end: none is lost) */
		snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock("
		    QUEUE_LOCK ", %d)", (int)(t->queue & 0x7fffffff));
		PQclear(PQexec(t->c->pq, sql));
	}
	pthread_mutex_lock(&st->lock);
	t->c->next_free = *pool;
	*pool = t->c;
	pthread_cond_signal(t->write ? &st->wcond : &st->cond);
	pthread_mutex_unlock(&st->lock);
	yima_free(t);
}

/* Waits for the transaction's turn in its queue, if it has one. */
static int
take_turn(struct pg_tx *t)
{
	char sql[80];

	if (t->queue == 0)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(" QUEUE_LOCK
	    ", %d)", (int)(t->queue & 0x7fffffff));
	return pg_exec(t->c, sql, "queue");
}

/*
 * A write is SERIALIZABLE: any read-then-write it does is safe against
 * other nodes' (PostgreSQL aborts one with 40001, YIMA_EBUSY). A read is
 * one snapshot (REPEATABLE READ, read only): a report is consistent.
 *
 * A queued write first takes its queue's session lock, before BEGIN: the
 * snapshot comes after it, so writes in one queue see each other's
 * commits and never conflict (a lock taken inside the transaction would
 * come after the snapshot, too late; and in one query string with BEGIN
 * it would be the transaction's first statement).
 */
static int
pg_begin(struct yima_store *base, int write, int64_t queue,
    struct yima_tx **out)
{
	struct pg_store *st = (struct pg_store *)base;
	struct pg_tx *t;
	const char *begin;
	int rc;

	if ((t = yima_calloc(1, sizeof(*t))) == NULL)
		return YIMA_ENOMEM;
	t->base.ops = &pg_ops;
	t->st = st;
	t->write = write;
	{
		struct pg_conn **pool = write ? &st->wfree : &st->free;

		pthread_mutex_lock(&st->lock);
		while (*pool == NULL)
			pthread_cond_wait(write ? &st->wcond : &st->cond,
			    &st->lock);
		t->c = *pool;
		*pool = t->c->next_free;
		pthread_mutex_unlock(&st->lock);
	}
	/* A connection lost since its last use is opened again. */
	if (PQstatus(t->c->pq) != CONNECTION_OK &&
	    (rc = pg_connect(st, t->c)) != 0) {
		release(t);
		return rc;
	}
	t->base.db = &api_db_pg;
	t->base.conn = t->c->dbc;
	t->base.node = strtoll(t->c->node, NULL, 10);
	begin = write ? "BEGIN ISOLATION LEVEL SERIALIZABLE" :
	    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
	t->queue = queue > 0 ? queue : 0;	/* released whatever happens */
	if ((rc = take_turn(t)) == 0)
		rc = pg_exec(t->c, begin, "begin");
	if (rc != 0 && PQstatus(t->c->pq) != CONNECTION_OK &&
	    pg_connect(st, t->c) == 0 && (rc = take_turn(t)) == 0)
		rc = pg_exec(t->c, begin, "begin");
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


/* Rolls back, keeping the error that made it necessary. */
static void
keep_error(struct yima_tx *tx)
{
	char keep[API_STORE_ERR_MAX];

	memcpy(keep, api_store_err, sizeof(keep));
	pg_rollback(tx);
	memcpy(api_store_err, keep, API_STORE_ERR_MAX);
}

static int
pg_commit(struct yima_tx *tx)
{
	PGresult *res;
	int rc;

	/* (a connection lost in COMMIT leaves unknown whether it held: the
	 * caller answers 503, and a scan sent again is then a repeat) */
	res = PQexec(PT(tx)->c->pq, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = pg_error(PT(tx)->c, res, "commit");
		keep_error(tx);
		return rc;
	}
	/* A transaction a failed statement aborted "commits" as ROLLBACK. */
	rc = strcmp(PQcmdStatus(res), "COMMIT") == 0 ? 0 : YIMA_EDB;
	if (rc != 0)
		api_store_seterr("commit: the transaction "
		    "had failed and was rolled back");
	PQclear(res);
	release(PT(tx));
	return rc;
}

/* ---- queries ---- */

/* ---- batches, codes and scans ---- */

/* ---- the supply chain ---- */


/* ---- consumers' rights ---- */

/* ---- rewards ---- */

/* ---- tokens and sessions ---- */

/* ---- scans, for tools and tests ---- */

static const struct yima_store_ops pg_ops = {
	.name = "postgresql",
	/* Batches take turns (scanq.c): the bigger, the fewer turns. */
	.batch_max = 256,
	.close = pg_close,
	.schema_version = pg_schema_version,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
};
