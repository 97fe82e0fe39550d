/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's batches, codes and scans (written once: db.h). A scan asks
 * for its code's range, revocation and state in turn: the first question
 * reads all three in one statement, and the answers wait in the
 * transaction's memo until it writes anything.
 */
#include <stdio.h>
#include <string.h>

#include "yima/err.h"

#include "db.h"

static int
done(int64_t n)
{
	return n < 0 ? (int)n : 0;
}

/* The code state in columns col.. (scans, first_at, ...), if any. */
static int
state_cols(struct api_dbq *q, int col, struct yima_code_state *out)
{
	memset(out, 0, sizeof(*out));
	if (api_col_null(q, col))
		return YIMA_ENOENT;
	out->scans = (uint64_t)api_col_int(q, col);
	out->first_at = api_col_int(q, col + 1);
	if (!api_col_null(q, col + 2)) {
		out->first_located = 1;
		out->first_lat = api_col_dbl(q, col + 2);
		out->first_lon = api_col_dbl(q, col + 3);
	}
	if (!api_col_null(q, col + 4)) {
		out->last_located = 1;
		out->last_loc_at = api_col_int(q, col + 4);
		out->last_lat = api_col_dbl(q, col + 5);
		out->last_lon = api_col_dbl(q, col + 6);
	}
	return 0;
}

#define STATE_COLS	"s.scans, s.first_at, s.first_lat, s.first_lon," \
	" s.last_loc_at, s.last_lat, s.last_lon"
/* A revocation covering $1: its reason ('' for none), or NULL. */
#define REVOKED_COL	"(SELECT COALESCE(reason, '') FROM revocations" \
	" WHERE first <= $1 AND last >= $1 LIMIT 1)"

/* The memo, if it holds serial and nothing was written since. */
static struct api_code_memo *
memo(struct yima_tx *tx, uint64_t serial)
{
	struct api_code_memo *m = &tx->memo;

	return m->valid && m->serial == serial && m->writes == tx->writes ?
	    m : NULL;
}

int
api_sql_range_find(struct yima_tx *tx, uint64_t serial, int kind,
    struct yima_range *out)
{
	struct api_code_memo *m = &tx->memo;
	struct api_dbq *q;
	int rc;

	if ((rc = api_ahead_range(tx, serial, kind, out)) != API_AHEAD_NO)
		return rc;
	if ((rc = api_q(tx, &q, "SELECT r.first, r.last, r.kind, b.id, b.gtin,"
	    " b.lot, b.mfg, b.expiry, " REVOKED_COL ", " STATE_COLS
	    " FROM serial_ranges r JOIN batches b ON b.id = r.batch"
	    " LEFT JOIN code_state s ON s.serial = $1"
	    " WHERE r.first <= $1 ORDER BY r.first DESC LIMIT 1", "u",
	    serial)) != 0)
		return rc;
	if ((rc = api_row(q)) != 1) {
		api_end(q);
		return rc == 0 ? YIMA_ENOENT : rc;
	}
	if ((uint64_t)api_col_int(q, 1) < serial || api_col_int(q, 2) != kind) {
		api_end(q);
		return YIMA_ENOENT;
	}
	out->first = (uint64_t)api_col_int(q, 0);
	out->last = (uint64_t)api_col_int(q, 1);
	out->kind = (enum yima_kind)api_col_int(q, 2);
	api_col_text(q, 3, out->batch, sizeof(out->batch));
	api_col_text(q, 4, out->gtin, sizeof(out->gtin));
	api_col_text(q, 5, out->lot, sizeof(out->lot));
	api_col_text(q, 6, out->mfg, sizeof(out->mfg));
	api_col_text(q, 7, out->expiry, sizeof(out->expiry));
	m->serial = serial;
	m->writes = tx->writes;
	m->revoked = !api_col_null(q, 8);
	api_col_text(q, 8, m->reason, sizeof(m->reason));
	m->has_state = state_cols(q, 9, &m->state) == 0;
	m->valid = 1;
	api_end(q);
	return 0;
}

int
api_sql_revoked(struct yima_tx *tx, uint64_t serial, char *reason,
    size_t reasonlen)
{
	struct api_code_memo *m = memo(tx, serial);
	struct api_dbq *q;
	int rc;

	if ((rc = api_ahead_revoked(tx, serial, reason, reasonlen)) !=
	    API_AHEAD_NO)
		return rc;
	if (m != NULL) {
		if (m->revoked && reason != NULL)
			snprintf(reason, reasonlen, "%s", m->reason);
		return m->revoked;
	}
	if ((rc = api_q(tx, &q, "SELECT reason FROM revocations"
	    " WHERE first <= $1 AND last >= $1 LIMIT 1", "u", serial)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1 && reason != NULL)
		api_col_text(q, 0, reason, reasonlen);
	api_end(q);
	return rc;
}

int
api_sql_state_get(struct yima_tx *tx, uint64_t serial,
    struct yima_code_state *out)
{
	struct api_code_memo *m = memo(tx, serial);
	struct api_dbq *q;
	int rc;

	if ((rc = api_ahead_state(tx, serial, out)) != API_AHEAD_NO)
		return rc;
	if (m != NULL) {
		*out = m->state;
		return m->has_state ? 0 : YIMA_ENOENT;
	}
	if ((rc = api_q(tx, &q, "SELECT " STATE_COLS " FROM code_state s"
	    " WHERE s.serial = $1", "u", serial)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1)
		rc = state_cols(q, 0, out);
	else if (rc == 0)
		rc = YIMA_ENOENT;
	api_end(q);
	return rc;
}

int
api_sql_state_put(struct yima_tx *tx, uint64_t serial,
    const struct yima_code_state *s)
{
	int rc;

	if ((rc = api_ahead_state_put(tx, serial, s)) != API_AHEAD_NO)
		return rc;
	return done(api_exec(tx, "INSERT INTO code_state (serial, scans,"
	    " first_at, first_lat, first_lon, last_loc_at, last_lat, last_lon)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (serial)"
	    " DO UPDATE SET scans = excluded.scans, first_at = excluded.first_at,"
	    " first_lat = excluded.first_lat, first_lon = excluded.first_lon,"
	    " last_loc_at = excluded.last_loc_at, last_lat = excluded.last_lat,"
	    " last_lon = excluded.last_lon", "uuiDDIDD", serial, s->scans,
	    s->first_at, s->first_located, s->first_lat, s->first_located,
	    s->first_lon, s->last_located ? s->last_loc_at : YIMA_NONE,
	    s->last_located, s->last_lat, s->last_located, s->last_lon));
}

int
api_sql_recent(struct yima_tx *tx, uint64_t serial, int64_t since,
    const char *consumer, uint64_t *scans, uint64_t *consumers)
{
	struct api_dbq *q;
	int rc;

	/* The scans since, and the consumers among them and this one. */
	if ((rc = api_q(tx, &q, "SELECT (SELECT COUNT(*) FROM scans"
	    " WHERE serial = $1 AND at >= $2), (SELECT COUNT(*) FROM"
	    " (SELECT consumer FROM scans WHERE serial = $1 AND at >= $2"
	    " AND consumer IS NOT NULL UNION SELECT CAST($3 AS TEXT)"
	    " WHERE CAST($3 AS TEXT) IS NOT NULL) AS c)", "uit", serial,
	    since, consumer)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1) {
		*scans = (uint64_t)api_col_int(q, 0);
		*consumers = (uint64_t)api_col_int(q, 1);
	}
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_EDB : rc;
}

int
api_sql_scan_insert(struct yima_tx *tx, const struct yima_scan_row *r,
    int64_t *id)
{
	int region = r->region[0] != '\0';
	int64_t n;

	if ((n = api_ahead_scan(tx, r, id)) != API_AHEAD_NO)
		return (int)n;
	/*
	 * The one statement with a dialect each: SQLite's RETURNING fills a
	 * table on every call, and the scan insert is the hottest statement,
	 * so SQLite gives the id as its last rowid instead.
	 */
	n = api_exec(tx, API_SQL(tx, "INSERT INTO scans (at, serial,"
	    " kind, verdict, lat, lon, accuracy, consumer, client, code, region,"
	    " near_border, channel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
	    " $10, $11, $12, $13)", "INSERT INTO scans (at, serial, kind,"
	    " verdict, lat, lon, accuracy, consumer, client, code, region,"
	    " near_border, channel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
	    " $10, $11, $12, $13) RETURNING id"), "iIIiDDDttttII", r->at,
	    r->has_serial ? (int64_t)r->serial : YIMA_NONE,
	    r->kind != 0 ? (int64_t)r->kind : YIMA_NONE, (int64_t)r->verdict,
	    r->located, r->lat, r->located, r->lon,
	    r->located && r->accuracy >= 0, r->accuracy, r->consumer,
	    r->client, r->code, r->region, region ?
	    (int64_t)r->near_border : YIMA_NONE, r->channel != 0 ?
	    (int64_t)r->channel : YIMA_NONE);
	if (n < 0)
		return (int)n;
	*id = api_last_id(tx);
	return 0;
}

/* YIMA_EEXIST if first..last overlaps a registered range. */
static int
range_add(struct yima_tx *tx, uint64_t first, uint64_t count, int kind,
    const char *batch)
{
	uint64_t last = first + count - 1;
	int rc = api_found(tx, "SELECT 1 FROM serial_ranges WHERE last >= $2"
	    " AND first = (SELECT MAX(first) FROM serial_ranges"
	    " WHERE first <= $1)", "uu", last, first);

	if (rc < 0)
		return rc;
	if (rc == 1) {
		api_store_seterr("serials %llu-%llu overlap another batch",
		    (unsigned long long)first, (unsigned long long)last);
		return YIMA_EEXIST;
	}
	return done(api_exec(tx, "INSERT INTO serial_ranges (first, last, kind,"
	    " batch) VALUES ($1, $2, $3, $4)", "uuiT", first, last,
	    (int64_t)kind, batch));
}

int
api_sql_batch_import(struct yima_tx *tx, const struct yima_manifest *m,
    const char *hmac, int *created)
{
	struct api_dbq *q;
	int rc, same = 0;

	if ((rc = api_q(tx, &q, "SELECT hmac FROM batches WHERE id = $1", "T",
	    m->batch)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1)
		same = strcmp(api_col_str(q, 0), hmac) == 0;
	api_end(q);
	if (rc < 0)
		return rc;
	if (rc == 1 && !same) {
		api_store_seterr("batch %s exists with a different manifest",
		    m->batch);
		return YIMA_EEXIST;
	}
	if (rc == 1) {
		*created = 0;
		return 0;
	}
	if ((rc = done(api_exec(tx, "INSERT INTO batches (id, kind, key_id,"
	    " first_serial, count, inner_first, gtin, lot, line, mfg, expiry,"
	    " domain, created, codes_sha256, hmac, imported_at, dl) VALUES ($1,"
	    " $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
	    " $17)", "TiiuuItttttTTTTii", m->batch, (int64_t)m->kind,
	    (int64_t)m->key_id, m->first_serial, m->count, m->inner ?
	    (int64_t)m->inner_first : YIMA_NONE, m->gtin, m->lot, m->line,
	    m->mfg, m->expiry, m->domain, m->created, m->codes_sha256, hmac,
	    api_store_now_ms(), (int64_t)m->dl))) != 0)
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
api_sql_revoke(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *reason)
{
	return done(api_exec(tx, "INSERT INTO revocations (first, last,"
	    " reason, at) VALUES ($1, $2, $3, $4)", "uuti", first, last,
	    reason, api_store_now_ms()));
}

int
api_sql_batch_list(struct yima_tx *tx, const char *batch, size_t max,
    void (*fn)(void *ctx, const struct yima_batch_info *b), void *ctx)
{
	struct yima_batch_info b;
	struct api_dbq *q;
	size_t n = 0;
	int rc;

	/* A revocation is a range: any that meets one of the batch's. */
	if ((rc = api_q(tx, &q, "SELECT b.id, b.kind, b.key_id,"
	    " b.first_serial, b.count, b.inner_first, b.dl, b.gtin, b.lot,"
	    " b.line, b.mfg, b.expiry, b.domain, b.created, b.imported_at,"
	    " CASE WHEN EXISTS (SELECT 1 FROM serial_ranges r JOIN revocations"
	    " v ON v.first <= r.last AND v.last >= r.first WHERE r.batch ="
	    " b.id) THEN 1 ELSE 0 END FROM batches b"
	    " WHERE CAST($1 AS TEXT) IS NULL OR b.id = $1"
	    " ORDER BY b.imported_at DESC, b.first_serial DESC LIMIT $2", "ti", batch,
	    (int64_t)max)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		memset(&b, 0, sizeof(b));
		api_col_text(q, 0, b.m.batch, sizeof(b.m.batch));
		b.m.kind = (enum yima_kind)api_col_int(q, 1);
		b.m.key_id = (unsigned)api_col_int(q, 2);
		b.m.first_serial = (uint64_t)api_col_int(q, 3);
		b.m.count = (uint64_t)api_col_int(q, 4);
		b.m.inner = !api_col_null(q, 5);
		b.m.inner_first = b.m.inner ? (uint64_t)api_col_int(q, 5) : 0;
		b.m.dl = api_col_null(q, 6) ? 0 : api_col_int(q, 6) != 0;
		api_col_text(q, 7, b.m.gtin, sizeof(b.m.gtin));
		api_col_text(q, 8, b.m.lot, sizeof(b.m.lot));
		api_col_text(q, 9, b.m.line, sizeof(b.m.line));
		api_col_text(q, 10, b.m.mfg, sizeof(b.m.mfg));
		api_col_text(q, 11, b.m.expiry, sizeof(b.m.expiry));
		api_col_text(q, 12, b.m.domain, sizeof(b.m.domain));
		api_col_text(q, 13, b.m.created, sizeof(b.m.created));
		b.imported_at = api_col_int(q, 14);
		b.revoked = api_col_int(q, 15) != 0;
		fn(ctx, &b);
		n++;
	}
	api_end(q);
	if (rc < 0)
		return rc;
	return batch != NULL && n == 0 ? YIMA_ENOENT : 0;
}

int
api_sql_batch_ranges(struct yima_tx *tx, const char *batch,
    struct yima_range *out, size_t max, size_t *n)
{
	struct api_dbq *q;
	size_t i = 0;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT first, last, kind FROM serial_ranges"
	    " WHERE batch = $1 ORDER BY first", "T", batch)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1 && i < max) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].first = (uint64_t)api_col_int(q, 0);
		out[i].last = (uint64_t)api_col_int(q, 1);
		out[i].kind = (enum yima_kind)api_col_int(q, 2);
		snprintf(out[i].batch, sizeof(out[i].batch), "%s", batch);
		i++;
	}
	api_end(q);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return YIMA_ERANGE;
	*n = i;
	return i == 0 ? YIMA_ENOENT : 0;
}
