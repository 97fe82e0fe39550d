/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the store's SQL calls on either driver (db.h): binding by a
 * format, reading columns, and the one-line forms of both.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>

#include "yima/err.h"
#include "yima/store.h"

#include "db.h"

_Thread_local uint64_t api_db_nstatements;
static _Atomic uint64_t statements_total;	/* the process's */

uint64_t
api_db_statements(void)
{
	return api_db_nstatements;
}

uint64_t
yima_store_statements_total(void)
{
	return atomic_load_explicit(&statements_total, memory_order_relaxed);
}

int64_t
api_last_id(struct yima_tx *tx)
{
	return tx->db->last_id(tx->conn);
}

int
api_is_pg(const struct yima_tx *tx)
{
	return tx->db == &api_db_pg;
}

static int
vq(struct yima_tx *tx, struct api_dbq **out, const char *sql,
    const char *fmt, va_list ap)
{
	const struct api_db_ops *d = tx->db;
	struct api_dbq *q;
	const char *t;
	const void *p;
	int i, has, rc, guarded = 0, once = 0;
	int64_t v;
	double x;

	*out = NULL;
	/* What a scan batch holds goes first: this may read it. */
	if ((rc = api_ahead_flush(tx)) != 0)
		return rc;
	for (;; fmt++)
		if (*fmt == '!')
			guarded = 1;
		else if (*fmt == '#')
			once = 1;
		else
			break;
	if ((rc = d->prep(tx->conn, sql, once, &q)) != 0)
		return rc;
	for (i = 1; *fmt != '\0'; fmt++, i++) {
		switch (*fmt) {
		case 'i':
			d->bind_int(q, i, va_arg(ap, int64_t));
			break;
		case 'u':
			d->bind_int(q, i, (int64_t)va_arg(ap, uint64_t));
			break;
		case 'I':
			if ((v = va_arg(ap, int64_t)) == YIMA_NONE)
				d->bind_null(q, i);
			else
				d->bind_int(q, i, v);
			break;
		case 'd':
			d->bind_dbl(q, i, va_arg(ap, double));
			break;
		case 'D':
			has = va_arg(ap, int);
			x = va_arg(ap, double);
			if (has)
				d->bind_dbl(q, i, x);
			else
				d->bind_null(q, i);
			break;
		case 't':
		case 'T':
			t = va_arg(ap, const char *);
			if (t == NULL || (t[0] == '\0' && *fmt == 't'))
				d->bind_null(q, i);
			else
				d->bind_text(q, i, t);
			break;
		case 'b':
			p = va_arg(ap, const void *);
			d->bind_blob(q, i, p, va_arg(ap, size_t));
			break;
		case 'n':
			d->bind_null(q, i);
			break;
		default:
			d->end(q);
			api_store_seterr("store: bad parameter format '%c'",
			    *fmt);
			return YIMA_EINVAL;
		}
	}
	api_db_nstatements++;
	atomic_fetch_add_explicit(&statements_total, 1, memory_order_relaxed);
	/* What it read may have changed (a WITH query here only reads). */
	if (strncmp(sql, "SELECT ", 7) != 0 && strncmp(sql, "WITH ", 5) != 0)
		tx->writes++;
	if ((rc = d->exec(q, guarded)) != 0) {
		d->end(q);
		return rc;
	}
	*out = q;
	return 0;
}

/* The driver of a running statement is its first member's. */
struct api_dbq {
	const struct api_db_ops *d;
};

int
api_q(struct yima_tx *tx, struct api_dbq **q, const char *sql,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vq(tx, q, sql, fmt, ap);
	va_end(ap);
	return rc;
}

int
api_row(struct api_dbq *q)
{
	return q->d->step(q);
}

void
api_end(struct api_dbq *q)
{
	if (q != NULL)
		q->d->end(q);
}

int
api_col_null(struct api_dbq *q, int col)
{
	return q->d->isnull(q, col);
}

int64_t
api_col_int(struct api_dbq *q, int col)
{
	return q->d->isnull(q, col) ? 0 : q->d->col_int(q, col);
}

int64_t
api_col_opt(struct api_dbq *q, int col)
{
	return q->d->isnull(q, col) ? YIMA_NONE : q->d->col_int(q, col);
}

double
api_col_dbl(struct api_dbq *q, int col)
{
	return q->d->isnull(q, col) ? 0 : q->d->col_dbl(q, col);
}

const char *
api_col_str(struct api_dbq *q, int col)
{
	const char *t = q->d->isnull(q, col) ? NULL : q->d->col_text(q, col);

	return t != NULL ? t : "";
}

void
api_col_text(struct api_dbq *q, int col, char *out, size_t len)
{
	const char *t = api_col_str(q, col);
	size_t n = strlen(t);

	if (n >= len) {
		n = len - 1;
		while (n > 0 && ((unsigned char)t[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, t, n);
	out[n] = '\0';
}

const void *
api_col_blob(struct api_dbq *q, int col, size_t *len)
{
	*len = 0;
	return q->d->isnull(q, col) ? NULL : q->d->col_blob(q, col, len);
}

static int64_t
vexec(struct yima_tx *tx, const char *sql, const char *fmt, va_list ap)
{
	struct api_dbq *q;
	int64_t n;
	int rc;

	if ((rc = vq(tx, &q, sql, fmt, ap)) != 0)
		return rc;
	while ((rc = q->d->step(q)) == 1)
		;
	n = rc == 0 ? q->d->changes(q) : rc;
	q->d->end(q);
	return n;
}

int64_t
api_exec(struct yima_tx *tx, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int64_t n;

	va_start(ap, fmt);
	n = vexec(tx, sql, fmt, ap);
	va_end(ap);
	return n;
}

int
api_one(struct yima_tx *tx, int64_t *out, const char *sql,
    const char *fmt, ...)
{
	struct api_dbq *q;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vq(tx, &q, sql, fmt, ap);
	va_end(ap);
	if (rc != 0)
		return rc;
	if ((rc = api_row(q)) == 1) {
		*out = api_col_int(q, 0);
		rc = 0;
	} else if (rc == 0)
		rc = YIMA_ENOENT;
	api_end(q);
	return rc;
}

int
api_found(struct yima_tx *tx, const char *sql, const char *fmt, ...)
{
	struct api_dbq *q;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vq(tx, &q, sql, fmt, ap);
	va_end(ap);
	if (rc != 0)
		return rc;
	rc = api_row(q);
	api_end(q);
	return rc;
}
