/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's supply chain (written once: db.h): dealers and their
 * territories, packs, shipments and owners, receipts and diversions,
 * channel codes, a code's history, freezes. Ranges of serials that never
 * overlap (active packs, owners) are found by the one starting at or
 * before a serial, MAX(first), which an index on first answers at once.
 */
#include <stdio.h>
#include <string.h>

#include "yima/err.h"

#include "db.h"

/* The rows a statement touched, or its error. */
static int
done(int64_t n)
{
	return n < 0 ? (int)n : 0;
}

/* ---- dealers ---- */

#define DEALER_COLS	"id, name, parent, type, gln"

static void
dealer_row(struct api_dbq *q, struct yima_dealer *d)
{
	memset(d, 0, sizeof(*d));
	api_col_text(q, 0, d->id, sizeof(d->id));
	api_col_text(q, 1, d->name, sizeof(d->name));
	api_col_text(q, 2, d->parent, sizeof(d->parent));
	api_col_text(q, 3, d->type, sizeof(d->type));
	api_col_text(q, 4, d->gln, sizeof(d->gln));
}

int
api_sql_dealer_create(struct yima_tx *tx, const struct yima_dealer *d)
{
	struct yima_dealer parent;
	int rc;

	if (d->parent[0] != '\0' &&
	    (rc = api_sql_dealer_get(tx, d->parent, &parent)) != 0)
		return rc;
	return done(api_exec(tx, "INSERT INTO dealers (id, name, parent, type,"
	    " gln, created_at) VALUES ($1, $2, $3, $4, $5, $6)", "!TTtTti",
	    d->id, d->name, d->parent, d->type, d->gln, api_store_now_ms()));
}

int
api_sql_dealer_update(struct yima_tx *tx, const struct yima_dealer *d)
{
	int64_t n = api_exec(tx, "UPDATE dealers SET name = $2, type = $3,"
	    " gln = $4, parent = $5 WHERE id = $1", "TTTtt", d->id, d->name,
	    d->type, d->gln, d->parent);

	return n < 0 ? (int)n : n == 0 ? YIMA_ENOENT : 0;
}

int
api_sql_dealer_get(struct yima_tx *tx, const char *id,
    struct yima_dealer *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " DEALER_COLS " FROM dealers"
	    " WHERE id = $1", "T", id)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1)
		dealer_row(q, out);
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_ENOENT : rc;
}

int
api_sql_dealer_list(struct yima_tx *tx,
    void (*fn)(void *ctx, const struct yima_dealer *d), void *ctx)
{
	struct yima_dealer d;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " DEALER_COLS " FROM dealers"
	    " ORDER BY id", "")) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		dealer_row(q, &d);
		fn(ctx, &d);
	}
	api_end(q);
	return rc;
}

int
api_sql_dealer_under(struct yima_tx *tx, const char *root, const char *id,
    int *under)
{
	/* Is $2 in the subtree of $1 (itself included)? */
	int rc = api_found(tx, "WITH RECURSIVE up(id, parent) AS ("
	    " SELECT id, parent FROM dealers WHERE id = $2"
	    " UNION ALL SELECT d.id, d.parent FROM dealers d"
	    " JOIN up ON d.id = up.parent)"
	    " SELECT 1 FROM up WHERE id = $1", "TT", root, id);

	if (rc < 0)
		return rc;
	*under = rc;
	return 0;
}

int
api_sql_territory_set(struct yima_tx *tx, const char *dealer,
    const char *const *regions, size_t n)
{
	size_t i;
	int rc;

	if ((rc = done(api_exec(tx, "DELETE FROM territories WHERE dealer = $1",
	    "T", dealer))) != 0)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = done(api_exec(tx, "INSERT INTO territories (dealer,"
		    " region) VALUES ($1, $2) ON CONFLICT DO NOTHING", "TT",
		    dealer, regions[i]))) != 0)
			return rc;
	return 0;
}

int
api_sql_territory_of(struct yima_tx *tx, const char *dealer,
    char (*regions)[7], size_t max, size_t *n, char *from)
{
	struct api_dbq *q;
	size_t i = 0;
	int rc;

	/* The territory of the nearest dealer up the tree that has one. */
	if ((rc = api_q(tx, &q, "WITH RECURSIVE up(id, parent, depth) AS ("
	    " SELECT id, parent, 0 FROM dealers WHERE id = $1"
	    " UNION ALL SELECT d.id, d.parent, up.depth + 1 FROM dealers d"
	    " JOIN up ON d.id = up.parent)"
	    " SELECT t.region, up.id FROM up JOIN territories t"
	    " ON t.dealer = up.id WHERE up.depth = (SELECT MIN(u.depth)"
	    " FROM up u JOIN territories t2 ON t2.dealer = u.id)"
	    " ORDER BY t.region", "T", dealer)) != 0)
		return rc;
	if (from != NULL)
		from[0] = '\0';
	while ((rc = api_row(q)) == 1 && i < max) {
		api_col_text(q, 0, regions[i++], 7);
		if (from != NULL)
			api_col_text(q, 1, from, YIMA_DEALER_ID_MAX + 1);
	}
	api_end(q);
	if (rc < 0)
		return rc;
	*n = i;
	return rc == 1 ? YIMA_ERANGE : 0;
}

/* ---- packs ---- */

int
api_sql_pack_parent(struct yima_tx *tx, uint64_t child, uint64_t *parent)
{
	int64_t p;
	int rc = api_one(tx, &p, "SELECT parent FROM packs"
	    " WHERE unpacked_at IS NULL AND last >= $1 AND first = (SELECT"
	    " MAX(first) FROM packs WHERE unpacked_at IS NULL AND first <= $1)",
	    "u", child);

	if (rc == 0)
		*parent = (uint64_t)p;
	return rc;
}

int
api_sql_pack_add(struct yima_tx *tx, uint64_t parent, uint64_t first,
    uint64_t last, int64_t at)
{
	return done(api_exec(tx, "INSERT INTO packs (parent, first, last,"
	    " packed_at) VALUES ($1, $2, $3, $4)", "uuui", parent, first,
	    last, at));
}

int
api_sql_pack_children(struct yima_tx *tx, uint64_t parent,
    struct yima_span *out, size_t max, size_t *n)
{
	struct api_dbq *q;
	size_t i = 0;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT first, last FROM packs"
	    " WHERE parent = $1 AND unpacked_at IS NULL ORDER BY first", "u",
	    parent)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1 && i < max) {
		out[i].first = (uint64_t)api_col_int(q, 0);
		out[i].last = (uint64_t)api_col_int(q, 1);
		i++;
	}
	api_end(q);
	if (rc < 0)
		return rc;
	*n = i;
	return rc == 1 ? YIMA_ERANGE : 0;
}

int
api_sql_unpack(struct yima_tx *tx, uint64_t parent, int64_t at, int *rows)
{
	int64_t n = api_exec(tx, "UPDATE packs SET unpacked_at = $2"
	    " WHERE parent = $1 AND unpacked_at IS NULL", "ui", parent, at);

	if (n < 0)
		return (int)n;
	*rows = (int)n;
	return 0;
}

/* ---- shipments and owners ---- */

static int
owner_put(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *dealer, int64_t at)
{
	return done(api_exec(tx, "INSERT INTO owners (first, last, dealer, at)"
	    " VALUES ($1, $2, $3, $4)", "uuTi", first, last, dealer, at));
}

/* Owner ranges never overlap: cut what [first, last] covers, then add. */
static int
owner_set(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *dealer, int64_t at)
{
	char d[YIMA_DEALER_ID_MAX + 1];
	struct api_dbq *q;
	uint64_t f = 0, l = 0;
	int64_t dat = 0;
	int rc;

	for (;;) {
		/* The range starting at or before last, if it overlaps. */
		if ((rc = api_q(tx, &q, "SELECT first, last, dealer, at"
		    " FROM owners WHERE first = (SELECT MAX(first) FROM owners"
		    " WHERE first <= $1) AND last >= $2", "uu", last,
		    first)) != 0)
			return rc;
		if ((rc = api_row(q)) == 1) {
			f = (uint64_t)api_col_int(q, 0);
			l = (uint64_t)api_col_int(q, 1);
			api_col_text(q, 2, d, sizeof(d));
			dat = api_col_int(q, 3);
		}
		api_end(q);
		if (rc <= 0) {
			if (rc < 0)
				return rc;
			break;
		}
		if ((rc = done(api_exec(tx, "DELETE FROM owners WHERE first"
		    " = $1", "u", f))) != 0)
			return rc;
		/* Keep the parts outside [first, last]. */
		if (l > last && (rc = owner_put(tx, last + 1, l, d, dat)) != 0)
			return rc;
		if (f < first) {
			if ((rc = owner_put(tx, f, first - 1, d, dat)) != 0)
				return rc;
			break;
		}
	}
	return owner_put(tx, first, last, dealer, at);
}

int
api_sql_ship(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *dealer, const char *ref, int64_t at)
{
	int rc;

	if ((rc = done(api_exec(tx, "INSERT INTO shipments (first, last,"
	    " dealer, ref, at) VALUES ($1, $2, $3, $4, $5)", "uuTti", first,
	    last, dealer, ref, at))) != 0)
		return rc;
	return owner_set(tx, first, last, dealer, at);
}

/*
 * The dealer of the latest shipment of serial or of the box and pallet it
 * is packed in now: goods packed after their case was shipped belong to
 * the case's dealer. One statement walks up to three packs up; on equal
 * times the nearer wins.
 */
int
api_sql_owner(struct yima_tx *tx, uint64_t serial, char *dealer)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_ahead_owner(tx, serial, dealer)) != API_AHEAD_NO)
		return rc;
	if ((rc = api_q(tx, &q, "WITH RECURSIVE up(s, depth) AS ("
	    " SELECT CAST($1 AS BIGINT), 0"
	    " UNION ALL SELECT k.parent, up.depth + 1 FROM up JOIN packs k"
	    " ON k.unpacked_at IS NULL AND k.first = (SELECT MAX(p.first)"
	    " FROM packs p WHERE p.unpacked_at IS NULL AND p.first <= up.s)"
	    " WHERE k.last >= up.s AND up.depth < 3)"
	    " SELECT o.dealer FROM up JOIN owners o ON o.first = (SELECT"
	    " MAX(w.first) FROM owners w WHERE w.first <= up.s)"
	    " WHERE o.last >= up.s ORDER BY o.at DESC, up.depth LIMIT 1", "u",
	    serial)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1)
		api_col_text(q, 0, dealer, YIMA_DEALER_ID_MAX + 1);
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_ENOENT : rc;
}

int
api_sql_shipped_to(struct yima_tx *tx, uint64_t serial, const char *dealer,
    int *yes)
{
	/* Shipments overlap: a dealer's own, by the index on (dealer, first). */
	int rc = api_found(tx, "SELECT 1 FROM shipments WHERE dealer = $2"
	    " AND first <= $1 AND last >= $1 LIMIT 1", "uT", serial, dealer);

	if (rc < 0)
		return rc;
	*yes = rc;
	return 0;
}

int
api_sql_receipt_add(struct yima_tx *tx, const struct yima_receipt *r,
    int64_t *id)
{
	int located = r->located, region = r->region[0] != '\0';

	return api_one(tx, id, "INSERT INTO receipts (serial, dealer, kind, at,"
	    " lat, lon, region, near_border) VALUES ($1, $2, $3, $4, $5, $6,"
	    " $7, $8) RETURNING id", "uTTiDDtI", r->serial, r->dealer, r->kind,
	    r->at, located, r->lat, located, r->lon, r->region,
	    region ? (int64_t)r->near_border : YIMA_NONE);
}

/* ---- diversions ---- */

int
api_sql_diversion_add(struct yima_tx *tx, const struct yima_diversion *d)
{
	return done(api_exec(tx, "INSERT INTO diversions (scan_id, receipt_id,"
	    " at, serial, owner, region, evidence, uncertain) VALUES ($1, $2,"
	    " $3, $4, $5, $6, $7, $8)", "IIiuTTTi",
	    d->scan_id > 0 ? d->scan_id : YIMA_NONE,
	    d->receipt_id > 0 ? d->receipt_id : YIMA_NONE, d->at, d->serial,
	    d->owner, d->region, d->evidence, (int64_t)d->uncertain));
}

/* The events in [$2, $3) of goods whose owner is in $1's subtree (NULL:
 * all). */
#define DIVERSION_SUB "WITH RECURSIVE sub(id) AS (" \
	" SELECT id FROM dealers WHERE id = $1 OR CAST($1 AS TEXT) IS NULL" \
	" UNION SELECT d.id FROM dealers d JOIN sub ON d.parent = sub.id)"
#define DIVERSION_WHERE " WHERE v.at >= $2 AND v.at < $3" \
	" AND (CAST($1 AS TEXT) IS NULL OR v.owner IN (SELECT id FROM sub))"

int
api_sql_diversion_list(struct yima_tx *tx, const char *root, int64_t from,
    int64_t to, int limit,
    void (*fn)(void *ctx, const struct yima_diversion *d), void *ctx)
{
	struct yima_diversion d;
	struct api_dbq *q;
	int rc;

	/* The latest $4 (limit <= 0: all), in time order. */
	if ((rc = api_q(tx, &q, DIVERSION_SUB " SELECT * FROM (SELECT"
	    " v.scan_id, v.receipt_id, v.at, v.serial, v.owner, v.region,"
	    " v.evidence, v.uncertain, v.id FROM diversions v" DIVERSION_WHERE
	    " ORDER BY v.at DESC, v.id DESC LIMIT $4) AS l ORDER BY 3, 9",
	    "tiii", root, from, to, limit > 0 ? (int64_t)limit :
	    INT64_MAX)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		memset(&d, 0, sizeof(d));
		d.scan_id = api_col_int(q, 0);
		d.receipt_id = api_col_int(q, 1);
		d.at = api_col_int(q, 2);
		d.serial = (uint64_t)api_col_int(q, 3);
		api_col_text(q, 4, d.owner, sizeof(d.owner));
		api_col_text(q, 5, d.region, sizeof(d.region));
		api_col_text(q, 6, d.evidence, sizeof(d.evidence));
		d.uncertain = (int)api_col_int(q, 7);
		fn(ctx, &d);
	}
	api_end(q);
	return rc;
}

int
api_sql_diversion_counts(struct yima_tx *tx, const char *root, int64_t from,
    int64_t to,
    void (*fn)(void *ctx, const struct yima_diversion *d, int64_t n),
    void *ctx)
{
	struct yima_diversion d;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, DIVERSION_SUB " SELECT v.owner, v.evidence,"
	    " v.uncertain, COUNT(*) FROM diversions v" DIVERSION_WHERE
	    " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", "tii", root, from,
	    to)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		memset(&d, 0, sizeof(d));
		api_col_text(q, 0, d.owner, sizeof(d.owner));
		api_col_text(q, 1, d.evidence, sizeof(d.evidence));
		d.uncertain = (int)api_col_int(q, 2);
		fn(ctx, &d, api_col_int(q, 3));
	}
	api_end(q);
	return rc;
}

/* ---- channel codes ---- */

int
api_sql_channel_bind(struct yima_tx *tx, uint64_t serial,
    const struct yima_channel *c)
{
	return done(api_exec(tx, "INSERT INTO channels (serial, dealer, type,"
	    " name, bound_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (serial)"
	    " DO UPDATE SET dealer = excluded.dealer, type = excluded.type,"
	    " name = excluded.name, bound_at = excluded.bound_at", "uTTTi",
	    serial, c->dealer, c->type, c->name, api_store_now_ms()));
}

int
api_sql_channel_get(struct yima_tx *tx, uint64_t serial,
    struct yima_channel *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_ahead_channel(tx, serial, out)) != API_AHEAD_NO)
		return rc;
	if ((rc = api_q(tx, &q, "SELECT dealer, type, name FROM channels"
	    " WHERE serial = $1", "u", serial)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1) {
		memset(out, 0, sizeof(*out));
		out->serial = serial;
		api_col_text(q, 0, out->dealer, sizeof(out->dealer));
		api_col_text(q, 1, out->type, sizeof(out->type));
		api_col_text(q, 2, out->name, sizeof(out->name));
	}
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_ENOENT : rc;
}

int
api_sql_consumer_channel_set(struct yima_tx *tx, const char *consumer,
    uint64_t channel, int64_t until)
{
	int rc = done(api_exec(tx, "INSERT INTO consumer_channels (consumer,"
	    " channel, until) VALUES ($1, $2, $3) ON CONFLICT (consumer)"
	    " DO UPDATE SET channel = excluded.channel,"
	    " until = excluded.until", "Tui", consumer, channel, until));

	if (rc == 0)
		api_ahead_consumer_set(tx, consumer, channel, until);
	return rc;
}

int
api_sql_consumer_channel_get(struct yima_tx *tx, const char *consumer,
    int64_t now, uint64_t *channel)
{
	int64_t v;
	int rc = api_ahead_consumer_channel(tx, consumer, now, channel);

	if (rc != API_AHEAD_NO)
		return rc;
	rc = api_one(tx, &v, "SELECT channel FROM consumer_channels"
	    " WHERE consumer = $1 AND until > $2", "Ti", consumer, now);

	if (rc == 0)
		*channel = (uint64_t)v;
	return rc;
}

int
api_sql_item_of_inner(struct yima_tx *tx, const char *batch, uint64_t inner,
    uint64_t *item)
{
	int64_t v;
	int rc = api_ahead_item_of_inner(tx, batch, inner, item);

	if (rc != API_AHEAD_NO)
		return rc;
	rc = api_one(tx, &v, "SELECT first_serial + ($2 - inner_first)"
	    " FROM batches WHERE id = $1 AND inner_first IS NOT NULL"
	    " AND $2 BETWEEN inner_first AND inner_first + count - 1", "Tu",
	    batch, inner);

	if (rc == 0)
		*item = (uint64_t)v;
	return rc;
}

/* A code's shipments, receipts and latest 100 scans, in time order. */
int
api_sql_history(struct yima_tx *tx, uint64_t serial,
    void (*fn)(void *ctx, const struct yima_event *e), void *ctx)
{
	static const char *const types[] = { "shipment", "receipt", "scan" };
	struct yima_event e;
	struct api_dbq *q;
	const char *t, *v;
	int rc, i;

	if ((rc = api_q(tx, &q, "SELECT * FROM ("
	    " SELECT 'shipment' AS type, at, id, dealer, ref AS detail,"
	    "  CAST(NULL AS TEXT) AS region FROM shipments"
	    "  WHERE first <= $1 AND last >= $1"
	    " UNION ALL SELECT 'receipt', at, id, dealer, kind, region"
	    "  FROM receipts WHERE serial = $1"
	    " UNION ALL SELECT * FROM (SELECT 'scan', at, id,"
	    "  CAST(NULL AS TEXT), CAST(verdict AS TEXT), region FROM scans"
	    "  WHERE serial = $1 ORDER BY at DESC LIMIT 100) AS s) AS h"
	    " ORDER BY 2, 3", "u", serial)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		memset(&e, 0, sizeof(e));
		t = api_col_str(q, 0);
		for (i = 0; i < 3; i++)
			if (strcmp(t, types[i]) == 0)
				e.type = types[i];
		e.at = api_col_int(q, 1);
		e.id = api_col_int(q, 2);
		api_col_text(q, 3, e.dealer, sizeof(e.dealer));
		if (e.type == types[2]) {
			v = yima_verdict_name((int)api_col_int(q, 4));
			snprintf(e.detail, sizeof(e.detail), "%s", v ? v : "");
		} else
			api_col_text(q, 4, e.detail, sizeof(e.detail));
		api_col_text(q, 5, e.region, sizeof(e.region));
		if (e.type != NULL)
			fn(ctx, &e);
	}
	api_end(q);
	return rc;
}

/* ---- freezes ---- */

int
api_sql_freeze_set(struct yima_tx *tx, const char *kind, const char *id,
    int frozen, const char *reason)
{
	if (!frozen)
		return done(api_exec(tx, "DELETE FROM freezes WHERE kind = $1"
		    " AND id = $2", "TT", kind, id));
	return done(api_exec(tx, "INSERT INTO freezes (kind, id, reason, at)"
	    " VALUES ($1, $2, $3, $4) ON CONFLICT (kind, id) DO UPDATE"
	    " SET reason = excluded.reason, at = excluded.at", "TTti", kind,
	    id, reason, api_store_now_ms()));
}

int
api_sql_frozen(struct yima_tx *tx, const char *consumer, const char *batch,
    int *frozen)
{
	int rc = api_ahead_frozen(tx, consumer, batch, frozen);

	if (rc != API_AHEAD_NO)
		return rc;
	rc = api_found(tx, "SELECT 1 FROM freezes WHERE (kind = 'consumer'"
	    " AND id = $1) OR (kind = 'batch' AND id = $2) LIMIT 1", "tt",
	    consumer, batch);

	if (rc < 0)
		return rc;
	*frozen = rc;
	return 0;
}
