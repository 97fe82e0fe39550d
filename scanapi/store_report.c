/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's reports (written once: db.h): channel trends and the last
 * scan. (The rollups, with their per-node rows on PostgreSQL, are still
 * each back-end's.)
 */
#include <stdio.h>
#include <string.h>

#include "yima/err.h"

#include "db.h"

int
api_sql_last_scan(struct yima_tx *tx, int64_t *id)
{
	return api_one(tx, id, "SELECT COALESCE(MAX(id), 0) FROM scans", "");
}

/* Each store or salesperson code's scans in [$1, $2] and the $3 days
 * before, in the subtree of $4 (NULL: all). */
int
api_sql_channel_trend(struct yima_tx *tx, const char *root, int64_t from,
    int64_t to, int64_t days,
    void (*fn)(void *ctx, const struct yima_channel *c, int64_t cur,
    int64_t prev), void *ctx)
{
	struct yima_channel c;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "WITH RECURSIVE sub(id) AS (SELECT id"
	    " FROM dealers WHERE id = $4 UNION SELECT d.id FROM dealers d"
	    " JOIN sub ON d.parent = sub.id) SELECT c.serial, c.dealer, c.type,"
	    " c.name, SUM(CASE WHEN r.day >= $1 THEN r.scans ELSE 0 END),"
	    " SUM(CASE WHEN r.day < $1 THEN r.scans ELSE 0 END)"
	    " FROM rollup_channels r JOIN channels c ON c.serial = r.channel"
	    " WHERE r.day BETWEEN CAST($1 AS BIGINT) - $3 AND $2"
	    " AND c.type IN ('store', 'staff') AND (CAST($4 AS TEXT) IS NULL"
	    " OR c.dealer IN (SELECT id FROM sub))"
	    " GROUP BY c.serial, c.dealer, c.type, c.name ORDER BY c.serial",
	    "iiit", from, to, days, root)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		memset(&c, 0, sizeof(c));
		c.serial = (uint64_t)api_col_int(q, 0);
		api_col_text(q, 1, c.dealer, sizeof(c.dealer));
		api_col_text(q, 2, c.type, sizeof(c.type));
		api_col_text(q, 3, c.name, sizeof(c.name));
		fn(ctx, &c, api_col_int(q, 4), api_col_int(q, 5));
	}
	api_end(q);
	return rc;
}

/* ---- rollups: rows of the writer's own (node), read and added to ---- */

int
api_sql_rollup_channel(struct yima_tx *tx, int64_t day, uint64_t channel)
{
	int64_t n = api_exec(tx, "INSERT INTO rollup_channels (day, channel,"
	    " scans, node) VALUES ($1, $2, 1, $3) ON CONFLICT (day, channel,"
	    " node) DO UPDATE SET scans = rollup_channels.scans + 1", "iui",
	    day, channel, tx->node);

	return n < 0 ? (int)n : 0;
}

/* Copies the first column's sketch of q's row, if any, into out. */
static int
sketch_of(struct api_dbq *q, void *out, size_t max, size_t *len)
{
	const void *p;
	size_t n;
	int rc;

	*len = 0;
	if ((rc = api_row(q)) == 1 && (p = api_col_blob(q, 0, &n)) != NULL) {
		if (n > max) {
			api_store_seterr("rollup: a stored sketch is too long");
			rc = YIMA_EDB;
		} else {
			memcpy(out, p, n);
			*len = n;
		}
	}
	api_end(q);
	return rc < 0 ? rc : 0;
}

int
api_sql_rollup_sketch(struct yima_tx *tx, const struct yima_rollup_row *r,
    void *out, size_t max, size_t *len)
{
	struct api_dbq *q;
	int rc;

	switch (r->table) {
	case YIMA_ROLLUP_FINE:
		rc = api_q(tx, &q, "SELECT consumers FROM rollups WHERE region"
		    " = $1 AND day = $2 AND dealer = $3 AND gtin = $4 AND node"
		    " = $5", "TiTTi", r->region, r->day, r->dealer, r->gtin,
		    tx->node);
		break;
	case YIMA_ROLLUP_REGIONS:
		rc = api_q(tx, &q, "SELECT consumers FROM rollup_regions"
		    " WHERE day = $1 AND dealer = $2 AND region = $3 AND node"
		    " = $4", "iTTi", r->day, r->dealer, r->region, tx->node);
		break;
	case YIMA_ROLLUP_SKUS:
		rc = api_q(tx, &q, "SELECT consumers FROM rollup_skus WHERE"
		    " dealer = $1 AND day = $2 AND gtin = $3 AND node = $4",
		    "TiTi", r->dealer, r->day, r->gtin, tx->node);
		break;
	case YIMA_ROLLUP_GTINS:
		rc = api_q(tx, &q, "SELECT consumers FROM rollup_gtins WHERE"
		    " day = $1 AND gtin = $2 AND node = $3", "iTi", r->day,
		    r->gtin, tx->node);
		break;
	default:
		return YIMA_EINVAL;
	}
	return rc != 0 ? rc : sketch_of(q, out, max, len);
}

/* The sums a row takes; the sketch comes merged (rollup.c). */
#define ROLLUP_SET(t) " DO UPDATE SET scans = " t ".scans + excluded.scans," \
	" genuine = " t ".genuine + excluded.genuine," \
	" repeat = " t ".repeat + excluded.repeat," \
	" suspect = " t ".suspect + excluded.suspect," \
	" claims = " t ".claims + excluded.claims," \
	" consumers = excluded.consumers"

int
api_sql_rollup_put(struct yima_tx *tx, const struct yima_rollup_row *r)
{
	int has = r->len > 0;
	int64_t n;

	/* The sketch given is the stored one merged with the new counts. */
	switch (r->table) {
	case YIMA_ROLLUP_FINE:
		n = api_exec(tx, "INSERT INTO rollups (region, day, dealer,"
		    " gtin, node, scans, genuine, repeat, suspect, claims,"
		    " consumers) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
		    " $10, $11) ON CONFLICT (region, day, dealer, gtin, node)"
		    ROLLUP_SET("rollups"), "TiTTiiiiiib", r->region, r->day,
		    r->dealer, r->gtin, tx->node, r->scans, r->genuine,
		    r->repeat, r->suspect, r->claims, has ? r->sketch : NULL,
		    r->len);
		break;
	case YIMA_ROLLUP_REGIONS:
		n = api_exec(tx, "INSERT INTO rollup_regions (day, dealer,"
		    " region, node, scans, genuine, repeat, suspect, claims,"
		    " consumers) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
		    " $10) ON CONFLICT (day, dealer, region, node)"
		    ROLLUP_SET("rollup_regions"), "iTTiiiiiib", r->day,
		    r->dealer, r->region, tx->node, r->scans, r->genuine,
		    r->repeat, r->suspect, r->claims, has ? r->sketch : NULL,
		    r->len);
		break;
	case YIMA_ROLLUP_SKUS:
		n = api_exec(tx, "INSERT INTO rollup_skus (dealer, day, gtin,"
		    " node, scans, genuine, repeat, suspect, claims, consumers)"
		    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
		    " ON CONFLICT (dealer, day, gtin, node)"
		    ROLLUP_SET("rollup_skus"), "TiTiiiiiib", r->dealer, r->day,
		    r->gtin, tx->node, r->scans, r->genuine, r->repeat,
		    r->suspect, r->claims, has ? r->sketch : NULL, r->len);
		break;
	case YIMA_ROLLUP_GTINS:
		n = api_exec(tx, "INSERT INTO rollup_gtins (day, gtin, node,"
		    " scans, genuine, repeat, suspect, claims, consumers)"
		    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
		    " ON CONFLICT (day, gtin, node)" ROLLUP_SET("rollup_gtins"),
		    "iTiiiiiib", r->day, r->gtin, tx->node, r->scans,
		    r->genuine, r->repeat, r->suspect, r->claims, has ?
		    r->sketch : NULL, r->len);
		break;
	default:
		return YIMA_EINVAL;
	}
	return n < 0 ? (int)n : 0;
}

/*
 * A report's rows: $1..$2 days, $3 subtree root, $4..$5 the region
 * prefix's range. The table and its key column depend on the report, so
 * the statement is made per call (the '#' format: not kept prepared);
 * every parameter is used, whatever is asked.
 */
int
api_sql_rollup_rows(struct yima_tx *tx, const struct yima_report_q *q,
    const char *table, int (*fn)(void *ctx, const struct yima_rollup_row *r),
    void *ctx)
{
	static const char *const keys[] = { "day", "region", "gtin",
	    "dealer" };
	struct yima_rollup_row r;
	struct api_dbq *dq;
	char sql[1024], lo[8], hi[8];
	size_t i;
	int rc;

	if ((unsigned)q->by > YIMA_BY_DEALER)
		return YIMA_EINVAL;
	/* A prefix as a range (an index can use it; LIKE it cannot): the
	 * codes are digits, and the last digit + 1 ends the range. */
	if (q->region != NULL) {
		snprintf(lo, sizeof(lo), "%.6s", q->region);
		memcpy(hi, lo, sizeof(hi));
		if ((i = strlen(hi)) > 0)
			hi[i - 1]++;
	}
	snprintf(sql, sizeof(sql), "WITH RECURSIVE sub(id) AS (SELECT id"
	    " FROM dealers WHERE id = $3 UNION SELECT d.id FROM dealers d"
	    " JOIN sub ON d.parent = sub.id) SELECT CAST(%s AS TEXT), day,"
	    " scans, genuine, repeat, suspect, claims, consumers FROM %s"
	    " WHERE day BETWEEN $1 AND $2 AND (CAST($3 AS TEXT) IS NULL%s)%s",
	    keys[q->by], table, q->root != NULL ?
	    " OR dealer IN (SELECT id FROM sub)" : "", q->region != NULL ?
	    " AND region >= $4 AND region < $5" :
	    " AND CAST($4 AS TEXT) IS NULL AND CAST($5 AS TEXT) IS NULL");
	/* "" is a (never matching) dealer, not "all". */
	if ((rc = api_q(tx, &dq, sql, "#iiTtt", q->from_day, q->to_day,
	    q->root, q->region != NULL ? lo : NULL, q->region != NULL ? hi :
	    NULL)) != 0)
		return rc;
	memset(&r, 0, sizeof(r));
	while ((rc = api_row(dq)) == 1) {
		r.key = api_col_str(dq, 0);
		r.day = api_col_int(dq, 1);
		r.scans = api_col_int(dq, 2);
		r.genuine = api_col_int(dq, 3);
		r.repeat = api_col_int(dq, 4);
		r.suspect = api_col_int(dq, 5);
		r.claims = api_col_int(dq, 6);
		r.sketch = api_col_blob(dq, 7, &r.len);
		if ((rc = fn(ctx, &r)) != 0)
			break;
	}
	api_end(dq);
	return rc < 0 ? rc : 0;
}
