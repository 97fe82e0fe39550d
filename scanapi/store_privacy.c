/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's side of consumers' rights and retention (written once:
 * db.h): erased ids, an erasure, a consumer's scans, and the upkeep that
 * coarsens old places and drops old consumer ids.
 */
#include <stdio.h>
#include <string.h>

#include "yima/buf.h"
#include "yima/err.h"

#include "db.h"

/*
 * Which of n hashes were erased: one statement for the batch, the hashes
 * a JSON array. The bulk input is the one dialect fork: SQLite reads the
 * array with json_each (key: the index), PostgreSQL with
 * json_array_elements_text WITH ORDINALITY (from 1).
 */
int
api_sql_consumers_erased(struct yima_tx *tx, const char (*hash)[65],
    size_t n, int *erased)
{
	struct yima_buf b = YIMA_BUF_INIT;
	struct api_dbq *q;
	size_t i;
	int64_t k;
	int rc;

	if (n == 0)
		return 0;
	rc = yima_buf_puts(&b, "[");
	for (i = 0; i < n && rc == 0; i++) {
		erased[i] = 0;
		rc = yima_buf_printf(&b, "%s\"%.64s\"", i ? "," : "", hash[i]);
	}
	if (rc == 0)
		rc = yima_buf_puts(&b, "]");
	if (rc != 0) {
		yima_buf_free(&b);
		return YIMA_ENOMEM;
	}
	rc = api_q(tx, &q, API_SQL(tx, "SELECT j.key FROM json_each($1) AS j"
	    " JOIN erased_consumers e ON e.hash = j.value",
	    "SELECT j.i - 1 FROM json_array_elements_text(CAST($1 AS JSON))"
	    " WITH ORDINALITY AS j(h, i) JOIN erased_consumers e"
	    " ON e.hash = j.h"), "T", b.data);
	yima_buf_free(&b);
	if (rc != 0)
		return rc;
	while ((rc = api_row(q)) == 1)
		if ((k = api_col_int(q, 0)) >= 0 && (size_t)k < n)
			erased[k] = 1;
	api_end(q);
	return rc;
}

/*
 * An erasure's statements, in this order: the places its scans left on
 * their codes are found from the scans, so before them. $1 consumer,
 * $2 pseudonym (only where a row moves to it).
 */
static const struct {
	const char	*sql;
	int		 pseudonym;
} erase_sql[] = {
	{ "UPDATE code_state SET"
	  " first_lat = CASE WHEN (serial, first_at) IN (SELECT serial, at"
	  " FROM scans WHERE consumer = $1) THEN NULL ELSE first_lat END,"
	  " first_lon = CASE WHEN (serial, first_at) IN (SELECT serial, at"
	  " FROM scans WHERE consumer = $1) THEN NULL ELSE first_lon END,"
	  " last_lat = CASE WHEN (serial, last_loc_at) IN (SELECT serial, at"
	  " FROM scans WHERE consumer = $1) THEN NULL ELSE last_lat END,"
	  " last_lon = CASE WHEN (serial, last_loc_at) IN (SELECT serial, at"
	  " FROM scans WHERE consumer = $1) THEN NULL ELSE last_lon END,"
	  " last_loc_at = CASE WHEN (serial, last_loc_at) IN (SELECT serial,"
	  " at FROM scans WHERE consumer = $1) THEN NULL ELSE last_loc_at END"
	  " WHERE serial IN (SELECT serial FROM scans WHERE consumer = $1"
	  " AND lat IS NOT NULL)", 0 },
	{ "UPDATE scans SET consumer = NULL, lat = NULL, lon = NULL,"
	  " accuracy = NULL, client = NULL WHERE consumer = $1", 0 },
	{ "UPDATE claims SET consumer = $2, network = NULL, lat = NULL,"
	  " lon = NULL WHERE consumer = $1", 1 },
	{ "UPDATE ledger SET account = 'consumer:' || CAST($2 AS TEXT)"
	  " WHERE account = 'consumer:' || CAST($1 AS TEXT)", 1 },
	{ "UPDATE balances SET account = 'consumer:' || CAST($2 AS TEXT)"
	  " WHERE account = 'consumer:' || CAST($1 AS TEXT)", 1 },
	{ "UPDATE vouchers SET consumer = $2 WHERE consumer = $1", 1 },
	{ "UPDATE payouts SET consumer = $2 WHERE consumer = $1", 1 },
	{ "UPDATE redemptions SET consumer = $2 WHERE consumer = $1", 1 },
	{ "DELETE FROM consumer_channels WHERE consumer = $1", 0 },
	/* The audience keeps its counts: the rows move to the pseudonym. */
	{ "UPDATE ab_consumers SET consumer = $2 WHERE consumer = $1", 1 },
	{ "UPDATE channel_consumers SET consumer = $2 WHERE consumer = $1",
	  1 },
	{ "UPDATE segments SET consumer = $2 WHERE consumer = $1", 1 },
	{ "DELETE FROM freezes WHERE kind = 'consumer' AND id = $1", 0 },
};

int
api_sql_consumer_erase(struct yima_tx *tx, const char *consumer,
    const char *hash, const char *pseudonym, int64_t at,
    struct yima_erasure *out)
{
	int64_t n;
	size_t i;

	memset(out, 0, sizeof(*out));
	/* Erased once: the mark is the guard against a second erasure. */
	if ((n = api_exec(tx, "INSERT INTO erased_consumers (hash, at)"
	    " VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING", "Ti", hash,
	    at)) < 0)
		return (int)n;
	if (n == 0)
		return YIMA_EEXIST;
	for (i = 0; i < sizeof(erase_sql) / sizeof(erase_sql[0]); i++) {
		if ((n = api_exec(tx, erase_sql[i].sql,
		    erase_sql[i].pseudonym ? "TT" : "T", consumer,
		    pseudonym)) < 0)
			return (int)n;
		if (i == 1)
			out->scans = (int)n;
		else if (i == 2)
			out->claims = (int)n;
		else if (i == 3)
			out->movements = (int)n;
	}
	return 0;
}

int
api_sql_consumer_scans(struct yima_tx *tx, const char *consumer, int limit,
    void (*fn)(void *ctx, const struct yima_scan_row *r), void *ctx)
{
	struct yima_scan_row r;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT at, serial, kind, verdict, region,"
	    " channel FROM scans WHERE consumer = $1 ORDER BY at DESC, id DESC"
	    " LIMIT $2", "Ti", consumer, (int64_t)limit)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		memset(&r, 0, sizeof(r));
		r.at = api_col_int(q, 0);
		r.has_serial = !api_col_null(q, 1);
		r.serial = (uint64_t)api_col_int(q, 1);
		r.kind = (int)api_col_int(q, 2);
		r.verdict = (enum yima_verdict)api_col_int(q, 3);
		api_col_text(q, 4, r.region, sizeof(r.region));
		r.channel = (uint64_t)api_col_int(q, 5);
		fn(ctx, &r);
	}
	api_end(q);
	return rc;
}

/*
 * Retention upkeep takes the oldest scans before $1 after its watermark,
 * in id order, up to the first newer one (ids follow time: no index on
 * every scan), at most $2 ids from the first after the watermark (so a
 * gap in the ids, as rolled-back ids leave, never stalls it): the ids in
 * (lo, hi). Its statements work on those, and the watermark moves to
 * the last. Returns the scans in the batch, or an error.
 */
static int64_t
upkeep_batch(struct yima_tx *tx, const char *key, int64_t before, int max,
    int64_t *lo, int64_t *hi)
{
	struct api_dbq *q;
	int64_t n;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT wm, COALESCE((SELECT MIN(id) FROM scans"
	    " WHERE id >= f AND id < f + $3 AND at >= $2), f + $3) FROM"
	    " (SELECT wm, COALESCE((SELECT MIN(id) FROM scans WHERE id > wm),"
	    " wm + 1) AS f FROM (SELECT v AS wm FROM upkeep WHERE k = $1)"
	    " AS w) AS b", "Tii", key, before, (int64_t)max)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1) {
		*lo = api_col_int(q, 0);
		*hi = api_col_int(q, 1);
	}
	api_end(q);
	if (rc != 1)
		return rc == 0 ? YIMA_EDB : rc;
	if ((rc = api_one(tx, &n, "SELECT COUNT(*) FROM scans WHERE id > $1"
	    " AND id < $2", "ii", *lo, *hi)) != 0)
		return rc;
	return n;
}

static int
upkeep_mark(struct yima_tx *tx, const char *key, int64_t lo, int64_t hi)
{
	int64_t n = api_exec(tx, "UPDATE upkeep SET v = (SELECT MAX(id)"
	    " FROM scans WHERE id > $2 AND id < $3) WHERE k = $1 AND EXISTS"
	    " (SELECT 1 FROM scans WHERE id > $2 AND id < $3)", "Tii", key,
	    lo, hi);

	return n < 0 ? (int)n : 0;
}

/* A place to 0.1 degree (about 10 km), on both engines' types. */
#define ROUND1(x) "CAST(round(CAST(" x " AS NUMERIC), 1) AS DOUBLE PRECISION)"

/*
 * Coarsens the oldest raw scans before `before`: coordinates to 0.1
 * degree (the region code stays exact), no accuracy, no client address;
 * the same for their codes' remembered places and their claims. At most
 * max scans, so scans wait at most one batch.
 */
int
api_sql_coarsen(struct yima_tx *tx, int64_t before, int max, int *n)
{
	static const char key[] = "coarsened_through";
	int64_t lo, hi, k;
	int rc;

	*n = 0;
	if ((k = upkeep_batch(tx, key, before, max, &lo, &hi)) < 0)
		return (int)k;
	if ((rc = (int)api_exec(tx, "UPDATE scans SET lat = " ROUND1("lat")
	    ", lon = " ROUND1("lon") ", accuracy = NULL, client = NULL"
	    " WHERE id > $1 AND id < $2", "ii", lo, hi)) < 0 ||
	    (rc = (int)api_exec(tx, "UPDATE code_state SET first_lat = "
	    ROUND1("first_lat") ", first_lon = " ROUND1("first_lon") ","
	    " last_lat = CASE WHEN last_loc_at < $1 THEN " ROUND1("last_lat")
	    " ELSE last_lat END, last_lon = CASE WHEN last_loc_at < $1 THEN "
	    ROUND1("last_lon") " ELSE last_lon END WHERE first_at < $1"
	    " AND serial IN (SELECT serial FROM scans WHERE id > $2"
	    " AND id < $3)", "iii", before, lo, hi)) < 0 ||
	    (rc = (int)api_exec(tx, "UPDATE claims SET lat = " ROUND1("lat")
	    ", lon = " ROUND1("lon") " WHERE at < $1 AND serial IN (SELECT"
	    " serial FROM scans WHERE id > $2 AND id < $3)", "iii", before, lo,
	    hi)) < 0 || (rc = upkeep_mark(tx, key, lo, hi)) != 0)
		return rc;
	*n = (int)k;
	return 0;
}

/*
 * Drops the consumer ids of the oldest scans before `before`. The
 * suspect rule counts distinct consumers of the last 24 hours only, and
 * reports count them in their rollups' sketches, made at each scan.
 */
int
api_sql_consumers_drop(struct yima_tx *tx, int64_t before, int max, int *n)
{
	static const char key[] = "consumers_dropped_through";
	int64_t lo, hi, k;
	int rc;

	*n = 0;
	if ((k = upkeep_batch(tx, key, before, max, &lo, &hi)) < 0)
		return (int)k;
	if ((rc = (int)api_exec(tx, "UPDATE scans SET consumer = NULL"
	    " WHERE id > $1 AND id < $2 AND consumer IS NOT NULL", "ii", lo,
	    hi)) < 0 || (rc = upkeep_mark(tx, key, lo, hi)) != 0)
		return rc;
	*n = (int)k;
	return 0;
}
