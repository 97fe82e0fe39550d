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
#include "sketch.h"
#include "db.h"
#include "store-ops.h"
#include "tally.h"

#define RECONNECT_TRIES	5	/* attempts when a connection is lost */
#define RECONNECT_MS	50	/* the first wait, doubled each time */
#define DOWN_MS		500	/* a server found down is tried this often */
/* Concurrent migrations (nodes starting together) take turns. */
#define MIGRATE_LOCK	"7369736d61" /* any constant bigint */
#define NODE_LOCK	"1937339757" /* with a node number: serving it */
#define NODE_TRIES	20	/* a node just stopped may still be leaving */
#define NODE_MAX	999	/* rollup rows are node + 1000 k */
#define QUEUE_LOCK	"1937339758" /* with a queue: a write's turn in it */

#define PREPARED_MAX	256	/* statements prepared per connection */

struct pg_conn {
	PGconn		*pq;
	struct pg_conn	*next_free;
	char		 node[8];	/* a writer's rollup rows */
	char		*prepared[PREPARED_MAX];	/* their text; the name
							   is the index */
	int		 nprepared;
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
	struct api_tally *rollups;	/* counts to add at commit */
};

#define PT(t)	((struct pg_tx *)(t))

static const struct yima_store_ops pg_ops;

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

	api_store_seterr("%s: %s", what, res != NULL &&
	    PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res) :
	    PQerrorMessage(c->pq));
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
forget_prepared(struct pg_conn *c)
{
	while (c->nprepared > 0)
		free(c->prepared[--c->nprepared]);
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
	forget_prepared(c);	/* they went with the old session */
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
		forget_prepared(&st->conns[i]);
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
	api_tally_free(t->rollups);	/* counts not committed go with it */
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

static int rollups_flush(struct yima_tx *tx);

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

	if ((rc = rollups_flush(tx)) != 0) {
		keep_error(tx);
		return rc;
	}
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

/*
 * Runs sql with n text parameters (NULL is SQL NULL); *out the result
 * when it has rows or a command status, else an error (res cleared).
 */
static int
pg_query(struct yima_tx *tx, const char *sql, int n,
    const char *const *params, PGresult **out, const char *what)
{
	struct pg_conn *c = PT(tx)->c;
	PGresult *res;
	char name[16];
	int i;


	/*
	 * Prepared once per connection, the first time a text is run, and
	 * named by its place in the list: PostgreSQL parses and plans each
	 * statement once. Past PREPARED_MAX texts, a text runs unprepared.
	 */
	for (i = 0; i < c->nprepared && strcmp(c->prepared[i], sql) != 0; i++)
		;
	if (i == c->nprepared && i < PREPARED_MAX &&
	    (c->prepared[i] = strdup(sql)) != NULL) {
		snprintf(name, sizeof(name), "y%d", i);
		res = PQprepare(c->pq, name, sql, n, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			free(c->prepared[i]);
			return pg_error(c, res, what);
		}
		PQclear(res);
		c->nprepared++;
	}
	if (i < c->nprepared) {
		snprintf(name, sizeof(name), "y%d", i);
		res = PQexecPrepared(c->pq, name, n, params, NULL, NULL, 0);
	} else
		res = PQexecParams(c->pq, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_COMMAND_OK)
		return pg_error(c, res, what);
	*out = res;
	return 0;
}

/* Runs sql for its effect; *changed (may be NULL) the rows it touched. */
static int
pg_run(struct yima_tx *tx, const char *sql, int n,
    const char *const *params, int *changed, const char *what)
{
	PGresult *res;
	int rc;

	if ((rc = pg_query(tx, sql, n, params, &res, what)) != 0)
		return rc;
	if (changed != NULL)
		*changed = atoi(PQcmdTuples(res));
	PQclear(res);
	return 0;
}

/* An integer as a parameter, in buf (24 bytes). */
static const char *
num(char *buf, int64_t v)
{
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

static int64_t
col_int(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 :
	    strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* A text column into out (len bytes), cut at a character boundary. */
static void
col_text(PGresult *res, int row, int col, char *out, size_t len)
{
	const char *v = PQgetisnull(res, row, col) ? "" :
	    PQgetvalue(res, row, col);
	size_t n = strlen(v);

	if (n >= len) {
		n = len - 1;
		while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, v, n);
	out[n] = '\0';
}

/* ---- batches, codes and scans ---- */

/* ---- the supply chain ---- */


/* ---- rollups and reports (see the SQLite back-end for the why) ---- */

static int
pg_rollup_scan(struct yima_tx *tx, const struct yima_rollup_key *k,
    int verdict, const uint64_t *consumer)
{
	return api_tally_scan(&PT(tx)->rollups, k, verdict, consumer);
}

static int
pg_rollup_claim(struct yima_tx *tx, const struct yima_rollup_key *k)
{
	return api_tally_claim(&PT(tx)->rollups, k);
}

/* Each table's key columns ($1.. in this order) and its row's columns. */
static const struct {
	const char	*table, *key, *where;
	int		 nkey;
} rollup_tables[API_ROLLUPS] = {
	{ "rollups", "region, day, dealer, gtin, node", "region = $1 AND"
	    " day = $2 AND dealer = $3 AND gtin = $4 AND node = $5", 5 },
	{ "rollup_regions", "day, dealer, region, node",
	    "day = $1 AND dealer = $2 AND region = $3 AND node = $4", 4 },
	{ "rollup_skus", "dealer, day, gtin, node",
	    "dealer = $1 AND day = $2 AND gtin = $3 AND node = $4", 4 },
	{ "rollup_gtins", "day, gtin, node",
	    "day = $1 AND gtin = $2 AND node = $3", 3 },
};

/*
 * Adds the transaction's tally to the rollup tables, a row at a time: the
 * row's sketch is read FOR UPDATE, merged here (PostgreSQL has no sketch
 * functions) and written back with the sums.
 */
static int
rollups_flush(struct yima_tx *tx)
{
	struct api_tally_row *r;
	char sql[512], day[24], n[5][24], *hex = NULL;
	const char *p[12];	/* key (5 at most), counts, sketch */
	PGresult *res;
	size_t i, len;
	int rc = 0, t, k, nk;

	if (PT(tx)->rollups == NULL)
		return 0;
	for (i = 0; i < api_tally_count(PT(tx)->rollups); i++) {
		if ((r = api_tally_sorted(PT(tx)->rollups, i)) == NULL)
			return YIMA_ENOMEM;
		t = r->key.tag;
		num(day, r->key.day);
		/* The key, in the table's column order. */
		nk = 0;
		if (t == API_ROLLUP_FINE)
			p[nk++] = r->key.b;
		if (t == API_ROLLUP_REGIONS || t == API_ROLLUP_GTINS ||
		    t == API_ROLLUP_FINE)
			p[nk++] = day;
		if (t != API_ROLLUP_GTINS)
			p[nk++] = r->key.a;
		if (t == API_ROLLUP_SKUS)
			p[nk++] = day;
		if (t == API_ROLLUP_REGIONS)
			p[nk++] = r->key.b;
		if (t != API_ROLLUP_REGIONS)
			p[nk++] = r->key.c;
		p[nk++] = PT(tx)->c->node;
		snprintf(sql, sizeof(sql), "SELECT consumers FROM %s WHERE %s"
		    " FOR UPDATE", rollup_tables[t].table,
		    rollup_tables[t].where);
		if ((rc = pg_query(tx, sql, nk, p, &res, "rollup")) != 0)
			return rc;
		/* The stored consumers merge into this row's, written back. */
		if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
			unsigned char *old = PQunescapeBytea((const unsigned
			    char *)PQgetvalue(res, 0, 0), &len);

			PQclear(res);
			if (old == NULL)
				return YIMA_ENOMEM;
			rc = api_tally_merge(r, old, len);
			PQfreemem(old);
			if (rc != 0) {
				api_store_seterr("rollup: a "
				    "stored sketch is not one");
				return YIMA_EDB;
			}
		} else
			PQclear(res);
		for (k = 0; k < 5; k++)
			num(n[k], k == 0 ? r->scans : k == 1 ? r->genuine :
			    k == 2 ? r->repeat : k == 3 ? r->suspect :
			    r->claims);
		for (k = 0; k < 5; k++)
			p[nk + k] = n[k];
		hex = NULL;
		if (r->len > 0 && (hex = (char *)PQescapeByteaConn(
		    PT(tx)->c->pq, r->sk, r->len, &len)) == NULL)
			return YIMA_ENOMEM;
		p[nk + 5] = hex;
		snprintf(sql, sizeof(sql), "INSERT INTO %s (%s, scans, genuine,"
		    " repeat, suspect, claims, consumers) VALUES (%s, $%d, $%d,"
		    " $%d, $%d, $%d, $%d::bytea) ON CONFLICT (%s) DO UPDATE SET"
		    " scans = %s.scans + $%d, genuine = %s.genuine + $%d,"
		    " repeat = %s.repeat + $%d, suspect = %s.suspect + $%d,"
		    " claims = %s.claims + $%d, consumers = $%d::bytea",
		    rollup_tables[t].table, rollup_tables[t].key,
		    nk == 5 ? "$1, $2, $3, $4, $5" : nk == 4 ? "$1, $2, $3, $4" :
		    "$1, $2, $3", nk + 1, nk + 2, nk + 3, nk + 4, nk + 5, nk + 6,
		    rollup_tables[t].key, rollup_tables[t].table, nk + 1,
		    rollup_tables[t].table, nk + 2, rollup_tables[t].table,
		    nk + 3, rollup_tables[t].table, nk + 4,
		    rollup_tables[t].table, nk + 5, nk + 6);
		rc = pg_run(tx, sql, nk + 6, p, NULL, "rollup");
		PQfreemem(hex);
		if (rc != 0)
			return rc;
	}
	api_tally_clear(PT(tx)->rollups);
	return 0;
}

static int
pg_rollup_channel(struct yima_tx *tx, int64_t day, uint64_t channel)
{
	char a[24], b[24];
	const char *p[] = { num(a, day), num(b, (int64_t)channel),
	    PT(tx)->c->node };

	return pg_run(tx, "INSERT INTO rollup_channels (day, channel, scans,"
	    " node) VALUES ($1, $2, 1, $3) ON CONFLICT (day, channel, node)"
	    " DO UPDATE"
	    " SET scans = rollup_channels.scans + 1", 3, p, NULL,
	    "rollup channel");
}

static int
pg_report_scans(struct yima_tx *tx, const struct yima_report_q *q,
    void (*fn)(void *ctx, const struct yima_report_row *r), void *ctx)
{
	static const char *const keys[] = { "day", "region", "gtin",
	    "dealer" };
	char sql[1024], a[24], b[24], lo[8], hi[8];
	const char *p[5] = { num(a, q->from_day), num(b, q->to_day), q->root,
	    NULL, NULL };
	struct api_tally_row *w;
	struct api_tally_key k;
	struct api_tally *tl;
	const char *table;
	unsigned char *sk;
	PGresult *res = NULL;
	size_t i, len;
	int rc, j;

	table = api_report_table(q);
	if (q->region != NULL) {
		snprintf(lo, sizeof(lo), "%.6s", q->region);
		memcpy(hi, lo, sizeof(hi));
		if ((i = strlen(hi)) > 0)
			hi[i - 1]++;
		p[3] = lo;
		p[4] = hi;
	}
	snprintf(sql, sizeof(sql), "WITH RECURSIVE sub(id) AS (SELECT id"
	    " FROM dealers WHERE id = $3 UNION SELECT d.id FROM dealers d"
	    " JOIN sub ON d.parent = sub.id) SELECT %s::text, scans, genuine,"
	    " repeat, suspect, claims, consumers FROM %s"
	    " WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL%s)%s",
	    keys[q->by], table, q->root != NULL ?
	    " OR dealer IN (SELECT id FROM sub)" : "", q->region != NULL ?
	    " AND region >= $4 AND region < $5" : " AND $4::text IS NULL"
	    " AND $5::text IS NULL");
	if ((tl = api_tally_new()) == NULL)
		return YIMA_ENOMEM;
	if ((rc = pg_query(tx, sql, 5, p, &res, "report")) != 0)
		goto done;
	memset(&k, 0, sizeof(k));
	for (j = 0; j < PQntuples(res); j++) {
		if (q->by == YIMA_BY_DAY)
			k.day = col_int(res, j, 0);
		else
			col_text(res, j, 0, k.a, sizeof(k.a));
		if ((w = api_tally_row(tl, &k)) == NULL) {
			rc = YIMA_ENOMEM;
			goto done;
		}
		w->scans += col_int(res, j, 1);
		w->genuine += col_int(res, j, 2);
		w->repeat += col_int(res, j, 3);
		w->suspect += col_int(res, j, 4);
		w->claims += col_int(res, j, 5);
		if (PQgetisnull(res, j, 6))
			continue;
		sk = PQunescapeBytea((const unsigned char *)PQgetvalue(res, j,
		    6), &len);
		rc = sk == NULL ? YIMA_ENOMEM : api_tally_merge(w, sk, len) != 0 ?
		    YIMA_EDB : 0;
		PQfreemem(sk);
		if (rc != 0) {
			api_store_seterr("report: a rollup "
			    "row's consumers is not a sketch");
			goto done;
		}
	}
	rc = api_tally_report(tl, q, fn, ctx);
done:
	PQclear(res);
	api_tally_free(tl);
	return rc;
}


/* ---- consumers' rights ---- */

/* ---- rewards ---- */

/* ---- tokens and sessions ---- */

/* ---- scans, for tools and tests ---- */

/* The PostgreSQL back-end's table: every yima_tx_<name> is pg_<name>. */
#define PG_OP(name, params, args) .name = pg_##name,
static const struct yima_store_ops pg_ops = {
	.name = "postgresql",
	/* Measured: two nodes' batches of 50 conflicted in most commits
	 * (index pages), batches of 10 in none. */
	.batch_max = 16,
	.close = pg_close,
	.schema_version = pg_schema_version,
	.begin = pg_begin,
	.rollback = pg_rollback,
	STORE_TX_OPS(PG_OP)
};
#undef PG_OP
