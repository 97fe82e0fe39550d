/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's reports (written once: db.h): channel trends and the last
 * scan. (The rollups, with their per-node rows on PostgreSQL, are still
 * each back-end's.)
 */
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
