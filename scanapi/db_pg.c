/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PostgreSQL driver (db.h), on libpq. A statement is prepared once
 * per connection, found by the address of its text; parameters go as
 * text, and PostgreSQL infers their types from the statement (write
 * CAST($1 AS BIGINT) where nothing else says). A statement that may fail
 * with the transaction going on runs under a savepoint, since PostgreSQL
 * would otherwise abort the whole transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "db.h"

#define CACHE		512	/* statements prepared per connection */
#define PARAMS_MAX	32

struct pgq_conn {
	PGconn		*pq;
	const char	*prepared[CACHE];	/* named "d" and the index */
	int64_t		 last_id;	/* an INSERT ... RETURNING id's */
};

struct pg_q {
	const struct api_db_ops *d;
	struct pgq_conn	*c;
	const char	*sql;
	int		 slot;		/* in prepared[], or -1 */
	int		 n;		/* parameters */
	const char	*val[PARAMS_MAX];
	char		 num[PARAMS_MAX][32];
	char		*owned[PARAMS_MAX];
	PGresult	*res;
	int		 row;
	unsigned char	*blob;
};

#define Q(x)	((struct pg_q *)(x))

void *
api_pgq_conn_new(void *pq)
{
	struct pgq_conn *c = yima_calloc(1, sizeof(*c));

	if (c != NULL)
		c->pq = pq;
	return c;
}

void
api_pgq_conn_reset(void *conn, void *pq)
{
	struct pgq_conn *c = conn;

	memset(c->prepared, 0, sizeof(c->prepared));
	c->pq = pq;
}

void
api_pgq_conn_free(void *conn)
{
	yima_free(conn);
}

/* Records a failed result and maps its SQLSTATE; clears res. */
static int
pgq_err(struct pgq_conn *c, PGresult *res, const char *sql)
{
	const char *state = res != NULL ? PQresultErrorField(res,
	    PG_DIAG_SQLSTATE) : NULL;
	int rc;
	const char *m = res != NULL && PQresultErrorMessage(res)[0] ?
	    PQresultErrorMessage(res) : PQerrorMessage(c->pq);

	/* The message's first line, then the statement. */
	api_store_seterr("%.*s (in: %.60s)", (int)strcspn(m, "\n"), m, sql);
	rc = api_pg_sqlstate(state);
	PQclear(res);
	return rc;
}

int
api_pg_sqlstate(const char *state)
{
	if (state == NULL)
		return YIMA_EDB;
	if (strcmp(state, "23505") == 0)
		return YIMA_EEXIST;
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
		return YIMA_EINVAL;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return YIMA_EBUSY;
	return YIMA_EDB;
}

static int
pgq_prep(void *conn, const char *sql, int once, struct api_dbq **out)
{
	struct pgq_conn *c = conn;
	struct pg_q *q;
	uintptr_t h = ((uintptr_t)sql >> 3) * 0x9e3779b97f4a7c15u;
	size_t i, k;

	if ((q = yima_calloc(1, sizeof(*q))) == NULL)
		return YIMA_ENOMEM;
	q->d = &api_db_pg;
	q->c = c;
	q->sql = sql;
	q->slot = -1;
	q->row = -1;
	for (i = 0; i < (once ? 0 : CACHE); i++) {
		k = (h + i) & (CACHE - 1);
		if (c->prepared[k] == sql || c->prepared[k] == NULL) {
			q->slot = (int)k;
			break;
		}
	}
	*out = (struct api_dbq *)q;
	return 0;
}

static void
pgq_set(struct api_dbq *q, int i, const char *v)
{
	if (i < 1 || i > PARAMS_MAX)
		return;
	Q(q)->val[i - 1] = v;
	if (i > Q(q)->n)
		Q(q)->n = i;
}

static void
pgq_bind_null(struct api_dbq *q, int i)
{
	pgq_set(q, i, NULL);
}

static void
pgq_bind_int(struct api_dbq *q, int i, int64_t v)
{
	if (i < 1 || i > PARAMS_MAX)
		return;
	snprintf(Q(q)->num[i - 1], 32, "%lld", (long long)v);
	pgq_set(q, i, Q(q)->num[i - 1]);
}

static void
pgq_bind_dbl(struct api_dbq *q, int i, double v)
{
	if (i < 1 || i > PARAMS_MAX)
		return;
	snprintf(Q(q)->num[i - 1], 32, "%.17g", v);
	pgq_set(q, i, Q(q)->num[i - 1]);
}

static void
pgq_bind_text(struct api_dbq *q, int i, const char *t)
{
	pgq_set(q, i, t);
}

/* A bytea as text: \x and hex. */
static void
pgq_bind_blob(struct api_dbq *q, int i, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = p;
	char *t;
	size_t k;

	if (i < 1 || i > PARAMS_MAX ||
	    (t = yima_malloc(2 * n + 3)) == NULL)
		return;	/* a NULL in its place: the statement refuses it */
	t[0] = '\\';
	t[1] = 'x';
	for (k = 0; k < n; k++) {
		t[2 + 2 * k] = hex[b[k] >> 4];
		t[3 + 2 * k] = hex[b[k] & 15];
	}
	t[2 + 2 * n] = '\0';
	yima_free(Q(q)->owned[i - 1]);
	Q(q)->owned[i - 1] = t;
	pgq_set(q, i, t);
}

static int
pgq_simple(struct pgq_conn *c, const char *sql)
{
	PGresult *res = PQexec(c->pq, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return pgq_err(c, res, sql);
	PQclear(res);
	return 0;
}

static int
pgq_exec(struct api_dbq *q, int guarded)
{
	struct pgq_conn *c = Q(q)->c;
	PGresult *res;
	ExecStatusType st;
	char name[16], keep[API_STORE_ERR_MAX];
	int rc;

	if (guarded && (rc = pgq_simple(c, "SAVEPOINT q")) != 0)
		return rc;
	if (Q(q)->slot >= 0 && c->prepared[Q(q)->slot] == NULL) {
		snprintf(name, sizeof(name), "d%d", Q(q)->slot);
		res = PQprepare(c->pq, name, Q(q)->sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = pgq_err(c, res, Q(q)->sql);
			goto undo;
		}
		PQclear(res);
		c->prepared[Q(q)->slot] = Q(q)->sql;
	}
	if (Q(q)->slot >= 0) {
		snprintf(name, sizeof(name), "d%d", Q(q)->slot);
		res = PQexecPrepared(c->pq, name, Q(q)->n, Q(q)->val, NULL,
		    NULL, 0);
	} else
		res = PQexecParams(c->pq, Q(q)->sql, Q(q)->n, NULL, Q(q)->val,
		    NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		rc = pgq_err(c, res, Q(q)->sql);
		goto undo;
	}
	Q(q)->res = res;
	if (strncmp(Q(q)->sql, "INSERT ", 7) == 0 && PQntuples(res) > 0 &&
	    PQnfields(res) > 0)
		c->last_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (guarded && (rc = pgq_simple(c, "RELEASE q")) != 0)
		return rc;
	return 0;
undo:
	if (guarded) {
		memcpy(keep, api_store_err, sizeof(keep));
		if (pgq_simple(c, "ROLLBACK TO q") != 0 ||
		    pgq_simple(c, "RELEASE q") != 0)
			return YIMA_EDB;
		memcpy(api_store_err, keep, sizeof(keep));
	}
	return rc;
}

static int
pgq_step(struct api_dbq *q)
{
	if (Q(q)->res == NULL)
		return 0;
	return ++Q(q)->row < PQntuples(Q(q)->res);
}

static int
pgq_isnull(struct api_dbq *q, int col)
{
	return col >= PQnfields(Q(q)->res) ||
	    PQgetisnull(Q(q)->res, Q(q)->row, col);
}

static int64_t
pgq_col_int(struct api_dbq *q, int col)
{
	const char *v = PQgetvalue(Q(q)->res, Q(q)->row, col);

	if (v[0] == 't' && v[1] == '\0')	/* a boolean */
		return 1;
	return strtoll(v, NULL, 10);
}

static double
pgq_col_dbl(struct api_dbq *q, int col)
{
	return strtod(PQgetvalue(Q(q)->res, Q(q)->row, col), NULL);
}

static const char *
pgq_col_text(struct api_dbq *q, int col)
{
	return PQgetvalue(Q(q)->res, Q(q)->row, col);
}

static const void *
pgq_col_blob(struct api_dbq *q, int col, size_t *len)
{
	PQfreemem(Q(q)->blob);
	Q(q)->blob = PQunescapeBytea((const unsigned char *)PQgetvalue(
	    Q(q)->res, Q(q)->row, col), len);
	if (Q(q)->blob == NULL)
		*len = 0;
	return Q(q)->blob;
}

static int64_t
pgq_changes(struct api_dbq *q)
{
	return Q(q)->res != NULL ? strtoll(PQcmdTuples(Q(q)->res), NULL, 10) :
	    0;
}

static int64_t
pgq_last_id(void *conn)
{
	return ((struct pgq_conn *)conn)->last_id;
}

static void
pgq_end(struct api_dbq *q)
{
	int i;

	PQclear(Q(q)->res);
	PQfreemem(Q(q)->blob);
	for (i = 0; i < PARAMS_MAX; i++)
		yima_free(Q(q)->owned[i]);
	yima_free(q);
}

const struct api_db_ops api_db_pg = {
	"postgresql", pgq_prep, pgq_bind_null, pgq_bind_int, pgq_bind_dbl,
	pgq_bind_text, pgq_bind_blob, pgq_exec, pgq_step, pgq_isnull,
	pgq_col_int, pgq_col_dbl, pgq_col_text, pgq_col_blob, pgq_changes,
	pgq_last_id, pgq_end
};
