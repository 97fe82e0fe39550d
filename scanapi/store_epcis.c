/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EPCIS events as stored (written once: db.h): supply-chain events, the
 * consumer scans that are events too, the push outbox the schema's
 * triggers fill, and capture jobs. Rendering is epcis.c's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yima/buf.h"
#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "db.h"
#include "store_batch.h"

static int
done(int64_t n)
{
	return n < 0 ? (int)n : 0;
}

/* The least and greatest serial of "a-b,c,..." (0 when none). */
static void
span_bounds(const char *s, uint64_t *lo, uint64_t *hi)
{
	unsigned long long a;
	char *end;

	*lo = UINT64_MAX;
	*hi = 0;
	while (*s != '\0') {
		a = strtoull(s, &end, 10);
		if (end == s)
			break;
		if (a < *lo)
			*lo = a;
		if (a > *hi)
			*hi = a;
		s = *end != '\0' ? end + 1 : end;
	}
	if (*lo == UINT64_MAX)
		*lo = 0;
}

int
api_sql_epcis_add(struct yima_tx *tx, const struct yima_epcis_row *e)
{
	uint64_t lo, hi;

	span_bounds(e->epcs, &lo, &hi);
	if (e->epcs[0] == '\0')
		lo = hi = e->parent;
	if (e->parent != 0 && e->parent < lo)
		lo = e->parent;
	if (e->parent > hi)
		hi = e->parent;
	return done(api_exec(tx, "INSERT INTO epcis_events (at, step, parent,"
	    " epcs, lo, hi, party, source, detail) VALUES ($1, $2, $3, $4, $5,"
	    " $6, $7, $8, $9)", "iTITuuttt", e->at, e->step, e->parent != 0 ?
	    (int64_t)e->parent : YIMA_NONE, e->epcs, lo, hi, e->party,
	    e->source, e->detail));
}

static void
event_cols(struct api_dbq *q, int c, struct yima_epcis_row *e)
{
	api_col_text(q, c, e->step, sizeof(e->step));
	e->parent = api_col_null(q, c + 1) ? 0 : (uint64_t)api_col_int(q,
	    c + 1);
	e->epcs = api_col_str(q, c + 2);
	e->party = api_col_str(q, c + 3);
	e->source = api_col_str(q, c + 4);
	e->detail = api_col_str(q, c + 5);
}

static void
scan_cols(struct api_dbq *q, int c, struct yima_epcis_row *e)
{
	e->scan = 1;
	e->serial = (uint64_t)api_col_int(q, c);
	e->kind = (int)api_col_int(q, c + 1);
	e->verdict = (int)api_col_int(q, c + 2);
	e->located = !api_col_null(q, c + 3) && !api_col_null(q, c + 4);
	e->lat = api_col_dbl(q, c + 3);
	e->lon = api_col_dbl(q, c + 4);
	api_col_text(q, c + 5, e->region, sizeof(e->region));
	e->epcs = e->party = e->source = e->detail = "";
}

int
api_sql_epcis_list(struct yima_tx *tx, const struct yima_epcis_filter *f,
    void (*fn)(void *ctx, const struct yima_epcis_row *e), void *ctx)
{
	struct yima_epcis_row e;
	struct api_dbq *q;
	int64_t at = f->after ? f->after_at : INT64_MIN;
	int64_t serial = f->has_serial ? (int64_t)f->serial : YIMA_NONE;
	int rc = 0;

	/* Events before scans at the same ms: (at, scan, id) order. */
	if (f->events && (rc = api_q(tx, &q, "SELECT id, at, step, parent,"
	    " epcs, party, source, detail FROM epcis_events WHERE at >= $1"
	    " AND at < $2 AND at >= $3 AND (at > $3 OR (at = $3 AND id > $4))"
	    " AND (CAST($5 AS TEXT) IS NULL OR step = $5)"
	    " AND (CAST($6 AS BIGINT) IS NULL OR (lo <= $6 AND hi >= $6))"
	    " ORDER BY at, id LIMIT $7", "iiiitIi", f->from, f->to, at,
	    f->after && f->after_scan ? INT64_MAX : f->after ? f->after_id :
	    INT64_MIN, f->step, serial, (int64_t)f->limit)) == 0) {
		while ((rc = api_row(q)) == 1) {
			memset(&e, 0, sizeof(e));
			e.id = api_col_int(q, 0);
			e.at = api_col_int(q, 1);
			event_cols(q, 2, &e);
			fn(ctx, &e);
		}
		api_end(q);
	}
	if (rc < 0 || !f->scans || f->step != NULL)
		return rc < 0 ? rc : 0;
	/* One code's scans through its index; else the window's by time. */
	if ((rc = f->has_serial ? api_q(tx, &q, "SELECT id, at, serial, kind,"
	    " verdict, lat, lon, region FROM scans WHERE serial = $5"
	    " AND verdict IN (1, 2, 3) AND kind IN (1, 3, 4) AND at >= $1"
	    " AND at < $2 AND at >= $3 AND (at > $3 OR (at = $3 AND id > $4))"
	    " ORDER BY at, id LIMIT $6", "iiiiIi", f->from, f->to, at,
	    f->after && f->after_scan ? f->after_id : INT64_MIN, serial,
	    (int64_t)f->limit) : api_q(tx, &q, "SELECT id, at, serial, kind,"
	    " verdict, lat, lon, region FROM scans WHERE verdict IN (1, 2, 3)"
	    " AND kind IN (1, 3, 4) AND at >= $1 AND at < $2 AND at >= $3"
	    " AND (at > $3 OR (at = $3 AND id > $4))"
	    " ORDER BY at, id LIMIT $5", "iiiii", f->from, f->to, at,
	    f->after && f->after_scan ? f->after_id : INT64_MIN,
	    (int64_t)f->limit)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		memset(&e, 0, sizeof(e));
		e.id = api_col_int(q, 0);
		e.at = api_col_int(q, 1);
		scan_cols(q, 2, &e);
		fn(ctx, &e);
	}
	api_end(q);
	return rc < 0 ? rc : 0;
}

int
api_sql_epc_range(struct yima_tx *tx, uint64_t serial,
    struct yima_epc_range *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT r.first, r.last, r.kind, b.id,"
	    " b.key_id, b.dl, b.gtin, b.lot, b.expiry, b.domain"
	    " FROM serial_ranges r JOIN batches b ON b.id = r.batch"
	    " WHERE r.first <= $1 ORDER BY r.first DESC LIMIT 1", "u",
	    serial)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1 && (uint64_t)api_col_int(q, 1) >= serial) {
		memset(out, 0, sizeof(*out));
		out->first = (uint64_t)api_col_int(q, 0);
		out->last = (uint64_t)api_col_int(q, 1);
		out->kind = (enum yima_kind)api_col_int(q, 2);
		api_col_text(q, 3, out->batch, sizeof(out->batch));
		out->key_id = (unsigned)api_col_int(q, 4);
		out->dl = api_col_int(q, 5) == 1;
		api_col_text(q, 6, out->gtin, sizeof(out->gtin));
		api_col_text(q, 7, out->lot, sizeof(out->lot));
		api_col_text(q, 8, out->expiry, sizeof(out->expiry));
		api_col_text(q, 9, out->domain, sizeof(out->domain));
	} else if (rc >= 0)
		rc = YIMA_ENOENT;
	api_end(q);
	return rc < 0 ? rc : 0;
}

int
api_sql_ranges_in(struct yima_tx *tx, uint64_t first, uint64_t last,
    void (*fn)(void *ctx, const struct yima_range *r), void *ctx)
{
	struct yima_range r;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT first, last, kind FROM serial_ranges"
	    " WHERE first <= $2 AND last >= $1 ORDER BY first", "uu", first,
	    last)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		memset(&r, 0, sizeof(r));
		r.first = (uint64_t)api_col_int(q, 0);
		r.last = (uint64_t)api_col_int(q, 1);
		r.kind = (enum yima_kind)api_col_int(q, 2);
		fn(ctx, &r);
	}
	api_end(q);
	return rc < 0 ? rc : 0;
}

int
api_sql_brand_domain(struct yima_tx *tx, char *out, size_t len)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT domain FROM batches"
	    " ORDER BY imported_at, id LIMIT 1", "")) != 0)
		return rc;
	if ((rc = api_row(q)) == 1)
		api_col_text(q, 0, out, len);
	api_end(q);
	return rc < 0 ? rc : rc == 0 ? YIMA_ENOENT : 0;
}

/* ---- the outbox ---- */

/*
 * The outbox's triggers, made when a node first pushes: from then on
 * every node's events and scans fill it, in their own transactions (a
 * trigger that checked a setting would cost every scan; measured here:
 * 5-15% of SQLite's scans/s). Two dialects: SQLite's triggers run per
 * row, PostgreSQL's per statement on its rows (migration 13's
 * functions).
 */
int
api_sql_outbox_enable(struct yima_tx *tx)
{
	int rc;

	if ((rc = done(api_exec(tx, API_SQL(tx, "CREATE TRIGGER IF NOT EXISTS"
	    " epcis_outbox_events AFTER INSERT ON epcis_events BEGIN"
	    " INSERT INTO epcis_outbox (event, at) VALUES (NEW.id, NEW.at);"
	    " END", "CREATE OR REPLACE TRIGGER epcis_outbox_events AFTER"
	    " INSERT ON epcis_events REFERENCING NEW TABLE AS new_rows FOR"
	    " EACH STATEMENT EXECUTE FUNCTION yima_outbox_events()"), "#"))) !=
	    0)
		return rc;
	return done(api_exec(tx, API_SQL(tx, "CREATE TRIGGER IF NOT EXISTS"
	    " epcis_outbox_scans AFTER INSERT ON scans WHEN NEW.verdict IN"
	    " (1, 2, 3) AND NEW.kind IN (1, 3, 4) BEGIN INSERT INTO"
	    " epcis_outbox (scan, at) VALUES (NEW.id, NEW.at); END",
	    "CREATE OR REPLACE TRIGGER epcis_outbox_scans AFTER INSERT ON"
	    " scans REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
	    " EXECUTE FUNCTION yima_outbox_scans()"), "#"));
}

/* No more pushing: the triggers go, and what waited with them. */
int
api_sql_outbox_disable(struct yima_tx *tx, int64_t *dropped)
{
	int rc;

	if ((rc = done(api_exec(tx, API_SQL(tx, "DROP TRIGGER IF EXISTS"
	    " epcis_outbox_events", "DROP TRIGGER IF EXISTS epcis_outbox_events"
	    " ON epcis_events"), "#"))) != 0 || (rc = done(api_exec(tx,
	    API_SQL(tx, "DROP TRIGGER IF EXISTS epcis_outbox_scans",
	    "DROP TRIGGER IF EXISTS epcis_outbox_scans ON scans"), "#"))) != 0)
		return rc;
	*dropped = api_exec(tx, "DELETE FROM epcis_outbox", "");
	return *dropped < 0 ? (int)*dropped : 0;
}

int
api_sql_outbox_take(struct yima_tx *tx, int max,
    void (*fn)(void *ctx, int64_t id, const struct yima_epcis_row *e),
    void *ctx)
{
	struct yima_epcis_row e;
	struct api_dbq *q;
	int rc;

	/* A scan is found by its partition key too (PostgreSQL). */
	if ((rc = api_q(tx, &q, "SELECT o.id, o.at, o.event, e.step, e.parent,"
	    " e.epcs, e.party, e.source, e.detail, o.scan, s.serial, s.kind,"
	    " s.verdict, s.lat, s.lon, s.region FROM epcis_outbox o"
	    " LEFT JOIN epcis_events e ON e.id = o.event"
	    " LEFT JOIN scans s ON s.id = o.scan AND s.at = o.at"
	    " ORDER BY o.id LIMIT $1", "i", (int64_t)max)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		memset(&e, 0, sizeof(e));
		e.at = api_col_int(q, 1);
		if (!api_col_null(q, 2)) {
			e.id = api_col_int(q, 2);
			event_cols(q, 3, &e);
		} else if (!api_col_null(q, 10)) {
			e.id = api_col_int(q, 9);
			scan_cols(q, 10, &e);
		} else
			e.epcs = e.party = e.source = e.detail = "";
		fn(ctx, api_col_int(q, 0), &e);
	}
	api_end(q);
	return rc < 0 ? rc : 0;
}

int
api_sql_outbox_done(struct yima_tx *tx, const int64_t *ids, size_t n)
{
	struct yima_buf b = YIMA_BUF_INIT;
	int pg = api_is_pg(tx), rc = 0;
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n && rc == 0; i++)
		rc = yima_buf_printf(&b, "%s%" PRId64, i == 0 ? (pg ? "{" :
		    "[") : ",", ids[i]);
	if (rc == 0)
		rc = yima_buf_puts(&b, pg ? "}" : "]");
	if (rc == 0)
		rc = done(api_exec(tx, KEYS(tx, "BIGINT", "DELETE FROM"
		    " epcis_outbox WHERE id IN (SELECT j.value FROM", ")"), "T",
		    b.data));
	yima_buf_free(&b);
	return rc;
}

int
api_sql_outbox_expire(struct yima_tx *tx, int64_t before, int64_t *n)
{
	*n = api_exec(tx, "DELETE FROM epcis_outbox WHERE at < $1", "i",
	    before);
	return *n < 0 ? (int)*n : 0;
}

int
api_sql_outbox_stats(struct yima_tx *tx, int64_t *depth, int64_t *oldest_at)
{
	struct api_dbq *q;
	int rc;

	/* the oldest by id, which its primary key answers at once */
	if ((rc = api_q(tx, &q, "SELECT COUNT(*), (SELECT at FROM epcis_outbox"
	    " ORDER BY id LIMIT 1) FROM epcis_outbox", "")) != 0)
		return rc;
	if ((rc = api_row(q)) == 1) {
		*depth = api_col_int(q, 0);
		*oldest_at = api_col_null(q, 1) ? 0 : api_col_int(q, 1);
	}
	api_end(q);
	return rc < 0 ? rc : rc == 0 ? YIMA_EDB : 0;
}

/* ---- capture jobs ---- */

int
api_sql_capture_put(struct yima_tx *tx, const struct yima_capture *c)
{
	return done(api_exec(tx, "INSERT INTO epcis_captures (id, at, status,"
	    " events, applied, errors) VALUES ($1, $2, $3, $4, $5, $6)"
	    " ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
	    " events = excluded.events, applied = excluded.applied,"
	    " errors = excluded.errors", "TiTiit", c->id, c->at, c->status,
	    c->events, c->applied, c->errors));
}

int
api_sql_capture_get(struct yima_tx *tx, const char *id,
    struct yima_capture *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT id, at, status, events, applied,"
	    " errors FROM epcis_captures WHERE id = $1", "T", id)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1) {
		memset(out, 0, sizeof(*out));
		api_col_text(q, 0, out->id, sizeof(out->id));
		out->at = api_col_int(q, 1);
		api_col_text(q, 2, out->status, sizeof(out->status));
		out->events = api_col_int(q, 3);
		out->applied = api_col_int(q, 4);
		if (!api_col_null(q, 5)) {
			const char *t = api_col_str(q, 5);
			size_t n = strlen(t) + 1;

			if ((out->errors = yima_malloc(n)) == NULL)
				rc = YIMA_ENOMEM;
			else
				memcpy(out->errors, t, n);
		}
	}
	api_end(q);
	return rc < 0 ? rc : rc == 0 ? YIMA_ENOENT : 0;
}
