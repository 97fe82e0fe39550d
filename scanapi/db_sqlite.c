/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SQLite driver (db.h). Each connection keeps its statements
 * prepared, found by the address of their text; $N parameters become
 * SQLite's ?N when a text is prepared.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "db.h"

#define CACHE	512	/* statements kept per connection (a power of 2) */
#define SQL_MAX	8192	/* a statement's text */

struct sq_q {
	const struct api_db_ops *d;
	sqlite3		*db;
	const char	*sql;
	sqlite3_stmt	*s;
	int		 busy, cached;
};

struct sq_conn {
	sqlite3		*db;
	struct sq_q	 q[CACHE];
};

#define Q(x)	((struct sq_q *)(x))

void *
api_sqlite_conn_new(struct sqlite3 *db)
{
	struct sq_conn *c = yima_calloc(1, sizeof(*c));

	if (c != NULL)
		c->db = db;
	return c;
}

void
api_sqlite_conn_free(void *conn)
{
	struct sq_conn *c = conn;
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < CACHE; i++)
		sqlite3_finalize(c->q[i].s);
	yima_free(c);
}

static int
sq_err(sqlite3 *db, const char *sql)
{
	int code = sqlite3_extended_errcode(db);

	api_store_seterr("%s (in: %.60s)", sqlite3_errmsg(db), sql);
	if (code == SQLITE_CONSTRAINT_UNIQUE ||
	    code == SQLITE_CONSTRAINT_PRIMARYKEY)
		return YIMA_EEXIST;
	switch (code & 0xff) {
	case SQLITE_CONSTRAINT:
		return YIMA_EINVAL;
	case SQLITE_NOMEM:
		return YIMA_ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return YIMA_EBUSY;
	default:
		return YIMA_EDB;
	}
}

/* $N to ?N, outside quotes: the same length, so in place of a copy. */
static int
sq_text(const char *sql, char *out, size_t len)
{
	size_t n = strlen(sql), i;
	char quote = 0;

	if (n >= len)
		return -1;
	for (i = 0; i <= n; i++) {
		out[i] = sql[i];
		if (quote != 0) {
			if (sql[i] == quote)
				quote = 0;
		} else if (sql[i] == '\'' || sql[i] == '"')
			quote = sql[i];
		else if (sql[i] == '$' && sql[i + 1] >= '1' && sql[i + 1] <= '9')
			out[i] = '?';
	}
	return 0;
}

static int
sq_prep(void *conn, const char *sql, int once, struct api_dbq **out)
{
	struct sq_conn *c = conn;
	struct sq_q *q = NULL;
	uintptr_t h = ((uintptr_t)sql >> 3) * 0x9e3779b97f4a7c15u;
	size_t i, k;
	char text[SQL_MAX];

	for (i = 0; i < (once ? 0 : CACHE); i++) {
		k = (h + i) & (CACHE - 1);
		if (c->q[k].sql == sql && !c->q[k].busy) {
			c->q[k].busy = 1;
			*out = (struct api_dbq *)&c->q[k];
			return 0;
		}
		if (c->q[k].sql == NULL) {
			q = &c->q[k];
			break;
		}
	}
	if (sq_text(sql, text, sizeof(text)) != 0) {
		api_store_seterr("a statement is too long: %.60s", sql);
		return YIMA_EINVAL;
	}
	/* Full, or the same text running already (nested): one of its own. */
	if (q == NULL && (q = yima_calloc(1, sizeof(*q))) == NULL)
		return YIMA_ENOMEM;
	else if (q->sql == NULL && q >= c->q && q < c->q + CACHE)
		q->cached = 1;
	q->d = &api_db_sqlite;
	q->db = c->db;
	if (sqlite3_prepare_v3(c->db, text, -1, q->cached ?
	    SQLITE_PREPARE_PERSISTENT : 0, &q->s, NULL) != SQLITE_OK) {
		int rc = sq_err(c->db, sql);

		if (q->cached)
			memset(q, 0, sizeof(*q));
		else
			yima_free(q);
		return rc;
	}
	q->sql = sql;
	q->busy = 1;
	*out = (struct api_dbq *)q;
	return 0;
}

static void
sq_bind_null(struct api_dbq *q, int i)
{
	sqlite3_bind_null(Q(q)->s, i);
}

static void
sq_bind_int(struct api_dbq *q, int i, int64_t v)
{
	sqlite3_bind_int64(Q(q)->s, i, v);
}

static void
sq_bind_dbl(struct api_dbq *q, int i, double v)
{
	sqlite3_bind_double(Q(q)->s, i, v);
}

static void
sq_bind_text(struct api_dbq *q, int i, const char *t)
{
	sqlite3_bind_text(Q(q)->s, i, t, -1, SQLITE_TRANSIENT);
}

static void
sq_bind_blob(struct api_dbq *q, int i, const void *p, size_t n)
{
	sqlite3_bind_blob64(Q(q)->s, i, p, n, SQLITE_TRANSIENT);
}

/* A statement's failure undoes only it: nothing to guard. */
static int
sq_exec(struct api_dbq *q, int guarded)
{
	(void)q;
	(void)guarded;
	return 0;
}

static int
sq_step(struct api_dbq *q)
{
	switch (sqlite3_step(Q(q)->s)) {
	case SQLITE_ROW:
		return 1;
	case SQLITE_DONE:
		return 0;
	default:
		return sq_err(Q(q)->db, Q(q)->sql);
	}
}

static int
sq_isnull(struct api_dbq *q, int col)
{
	return sqlite3_column_type(Q(q)->s, col) == SQLITE_NULL;
}

static int64_t
sq_col_int(struct api_dbq *q, int col)
{
	return sqlite3_column_int64(Q(q)->s, col);
}

static double
sq_col_dbl(struct api_dbq *q, int col)
{
	return sqlite3_column_double(Q(q)->s, col);
}

static const char *
sq_col_text(struct api_dbq *q, int col)
{
	return (const char *)sqlite3_column_text(Q(q)->s, col);
}

static const void *
sq_col_blob(struct api_dbq *q, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(Q(q)->s, col);

	*len = (size_t)sqlite3_column_bytes(Q(q)->s, col);
	return p;
}

static int64_t
sq_changes(struct api_dbq *q)
{
	return sqlite3_changes64(Q(q)->db);
}

static int64_t
sq_last_id(void *conn)
{
	return sqlite3_last_insert_rowid(((struct sq_conn *)conn)->db);
}

static void
sq_end(struct api_dbq *q)
{
	if (Q(q)->cached) {
		sqlite3_reset(Q(q)->s);
		sqlite3_clear_bindings(Q(q)->s);
		Q(q)->busy = 0;
		return;
	}
	sqlite3_finalize(Q(q)->s);
	yima_free(q);
}

const struct api_db_ops api_db_sqlite = {
	"sqlite", sq_prep, sq_bind_null, sq_bind_int, sq_bind_dbl,
	sq_bind_text, sq_bind_blob, sq_exec, sq_step, sq_isnull, sq_col_int,
	sq_col_dbl, sq_col_text, sq_col_blob, sq_changes, sq_last_id, sq_end
};
