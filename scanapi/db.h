/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's drivers: what the store needs of an SQL engine, and no more.
 * The store's operations are SQL written once (store_*.c), in what both
 * SQLite and PostgreSQL accept: parameters are $1, $2, ...; a driver
 * prepares a statement once per connection (keyed by the text's address,
 * so the text must be a constant), binds, steps, and maps the engine's
 * errors to yima_err:
 *   unique violation YIMA_EEXIST, other constraint YIMA_EINVAL,
 *   serialization failure or deadlock YIMA_EBUSY, the rest YIMA_EDB.
 * A statement's failure is the statement's alone on both engines (the
 * PostgreSQL driver runs one that may fail under a savepoint), so the
 * store may go on after a refused insert as it would on SQLite.
 *
 * Parameters are given by a format, a character each:
 *   i int64_t      u uint64_t     d double      t text, NULL or "" as NULL
 *   T text, "" kept                n NULL (takes no argument)
 *   I int64_t, YIMA_NONE as NULL   D int, double: NULL unless the int
 *   b const void *, size_t: a blob
 * and a format that begins with '!' marks a statement a constraint may
 * refuse with the transaction going on (a duplicate insert, say), one
 * that begins with '#' a text made at run time: prepared for this run
 * only, never kept (the text need not be a constant then).
 */
#ifndef API_DB_H
#define API_DB_H

#include <stddef.h>
#include <stdint.h>

#include "store-ops.h"

struct api_dbq;		/* a running statement: the driver's own */

struct api_db_ops {
	const char	*name;		/* "sqlite", "postgresql" */
	/* The statement, prepared once per connection (or, once, for this
	 * run only: a text made at run time). */
	int		(*prep)(void *conn, const char *sql, int once,
			    struct api_dbq **q);
	void		(*bind_null)(struct api_dbq *q, int i);
	void		(*bind_int)(struct api_dbq *q, int i, int64_t v);
	void		(*bind_dbl)(struct api_dbq *q, int i, double v);
	void		(*bind_text)(struct api_dbq *q, int i, const char *t);
	void		(*bind_blob)(struct api_dbq *q, int i, const void *p,
			    size_t n);
	/* Sends it (PostgreSQL; SQLite runs at the first step). */
	int		(*exec)(struct api_dbq *q, int guarded);
	/* 1 a row is current, 0 no more rows, or an error. */
	int		(*step)(struct api_dbq *q);
	int		(*isnull)(struct api_dbq *q, int col);
	int64_t		(*col_int)(struct api_dbq *q, int col);
	double		(*col_dbl)(struct api_dbq *q, int col);
	const char	*(*col_text)(struct api_dbq *q, int col);
	/* Its bytes and length, valid until the next step. */
	const void	*(*col_blob)(struct api_dbq *q, int col, size_t *len);
	int64_t		(*changes)(struct api_dbq *q);
	/* The id the last INSERT made: SQLite's rowid, or the first column
	 * of the last statement's row (PostgreSQL: RETURNING id). */
	int64_t		(*last_id)(void *conn);
	void		(*end)(struct api_dbq *q);
};

/*
 * Runs sql with parameters from fmt; its rows are read with api_row and
 * the api_col_* calls, and api_end finishes it (always: after an error
 * too, and a NULL q is ignored).
 */
int api_q(struct yima_tx *tx, struct api_dbq **q, const char *sql,
    const char *fmt, ...);
int api_row(struct api_dbq *q);
void api_end(struct api_dbq *q);

int api_col_null(struct api_dbq *q, int col);
int64_t api_col_int(struct api_dbq *q, int col);
/* YIMA_NONE for NULL. */
int64_t api_col_opt(struct api_dbq *q, int col);
double api_col_dbl(struct api_dbq *q, int col);
/* "" for NULL. */
const char *api_col_str(struct api_dbq *q, int col);
/* Into out (len bytes), cut at a UTF-8 character boundary. */
void api_col_text(struct api_dbq *q, int col, char *out, size_t len);
const void *api_col_blob(struct api_dbq *q, int col, size_t *len);

/* Runs a statement for its effect: the rows it changed, or an error. */
int64_t api_exec(struct yima_tx *tx, const char *sql, const char *fmt, ...);
/* The first column of the first row: 0, or YIMA_ENOENT for no row. */
int api_one(struct yima_tx *tx, int64_t *out, const char *sql,
    const char *fmt, ...);

/* The id the transaction's last INSERT made (see api_db_ops.last_id). */
int64_t api_last_id(struct yima_tx *tx);
/* Whether a query finds a row: 1, 0, or an error. */
int api_found(struct yima_tx *tx, const char *sql, const char *fmt, ...);

/* Which engine the transaction runs on, for the few dialect forks. */
int api_is_pg(const struct yima_tx *tx);
#define API_SQL(tx, sqlite, pg)	(api_is_pg(tx) ? (pg) : (sqlite))

/* Statements this thread has run (every driver counts): for the tests. */
uint64_t api_db_statements(void);
extern _Thread_local uint64_t api_db_nstatements;

/* The drivers, and the per-connection state the back-ends make for them. */
extern const struct api_db_ops api_db_sqlite, api_db_pg;
struct sqlite3;
struct pg_conn;
void *api_sqlite_conn_new(struct sqlite3 *db);
void api_sqlite_conn_free(void *conn);
void *api_pgq_conn_new(void *pq);
void api_pgq_conn_reset(void *conn, void *pq);	/* after a reconnect */
void api_pgq_conn_free(void *conn);
/* A PostgreSQL SQLSTATE as a yima_err (see above; NULL: YIMA_EDB). */
int api_pg_sqlstate(const char *state);


#endif /* API_DB_H */
