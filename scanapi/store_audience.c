/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's audience (written once: db.h): who saw which arm of an A/B
 * test, whom each channel code brought, each consumer's lifecycle row,
 * and their counters, kept in the scan's transaction. Counters have a
 * row per node (rollups' rule), so nodes never wait on one another's.
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

/* ---- A/B arms ---- */

static int
arm_add(struct yima_tx *tx, int64_t campaign, const struct yima_ab_arm *d)
{
	return done(api_exec(tx, "INSERT INTO ab_arms (campaign, variant, node,"
	    " exposed, claimers, claims, repeaters, cents, points) VALUES ($1,"
	    " $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (campaign, variant,"
	    " node) DO UPDATE SET exposed = ab_arms.exposed + excluded.exposed,"
	    " claimers = ab_arms.claimers + excluded.claimers,"
	    " claims = ab_arms.claims + excluded.claims,"
	    " repeaters = ab_arms.repeaters + excluded.repeaters,"
	    " cents = ab_arms.cents + excluded.cents,"
	    " points = ab_arms.points + excluded.points", "iiiiiiiii",
	    campaign, (int64_t)d->arm, (int64_t)tx->node, d->exposed,
	    d->claimers, d->claims, d->repeaters, d->cents, d->points));
}

int
api_sql_ab_expose(struct yima_tx *tx, int64_t campaign, const char *consumer,
    int arm, uint64_t item, int64_t at, int genuine, int *out)
{
	struct yima_ab_arm d;
	struct api_dbq *q;
	int64_t first = 0, n;
	uint64_t was_item = 0;
	int rc, tries, repeat = 0;

	memset(&d, 0, sizeof(d));
	for (tries = 0; tries < 2; tries++) {
		if ((rc = api_q(tx, &q, "SELECT variant, at, item, repeat_at"
		    " FROM ab_consumers WHERE campaign = $1 AND consumer = $2",
		    "iT", campaign, consumer)) != 0)
			return rc;
		if ((rc = api_row(q)) == 1) {
			*out = (int)api_col_int(q, 0);
			first = api_col_int(q, 1);
			was_item = (uint64_t)api_col_int(q, 2);
			repeat = !api_col_null(q, 3);
		}
		api_end(q);
		if (rc < 0)
			return rc;
		if (rc == 1)
			break;
		/* First seen: another node may see them at the same time. */
		n = api_exec(tx, "INSERT INTO ab_consumers (campaign, consumer,"
		    " variant, at, item) VALUES ($1, $2, $3, $4, $5)"
		    " ON CONFLICT (campaign, consumer) DO NOTHING", "iTiiu",
		    campaign, consumer, (int64_t)arm, at, item);
		if (n < 0)
			return (int)n;
		if (n == 1) {
			*out = d.arm = arm;
			d.exposed = 1;
			return arm_add(tx, campaign, &d);
		}
	}
	if (tries == 2)
		return YIMA_EDB;
	if (!genuine || repeat || was_item == item || at > first +
	    YIMA_REPEAT_MS)
		return 0;
	if ((n = api_exec(tx, "UPDATE ab_consumers SET repeat_at = $3"
	    " WHERE campaign = $1 AND consumer = $2 AND repeat_at IS NULL",
	    "iTi", campaign, consumer, at)) <= 0)
		return (int)n;
	d.arm = *out;
	d.repeaters = 1;
	return arm_add(tx, campaign, &d);
}

int
api_sql_ab_claim(struct yima_tx *tx, int64_t campaign, const char *consumer,
    int arm, int64_t cents, int64_t points, int64_t at)
{
	struct yima_ab_arm d;
	int64_t n;

	memset(&d, 0, sizeof(d));
	if ((n = api_exec(tx, "UPDATE ab_consumers SET claimed_at = $3"
	    " WHERE campaign = $1 AND consumer = $2 AND claimed_at IS NULL",
	    "iTi", campaign, consumer, at)) < 0)
		return (int)n;
	d.arm = arm;
	d.claimers = n;
	d.claims = 1;
	d.cents = cents;
	d.points = points;
	return arm_add(tx, campaign, &d);
}

int
api_sql_ab_arms(struct yima_tx *tx, int64_t campaign,
    void (*fn)(void *ctx, const struct yima_ab_arm *a), void *ctx)
{
	struct yima_ab_arm a;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT variant, SUM(exposed), SUM(claimers),"
	    " SUM(claims), SUM(repeaters), SUM(cents), SUM(points)"
	    " FROM ab_arms WHERE campaign = $1 GROUP BY variant"
	    " ORDER BY variant", "i", campaign)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		a.arm = (int)api_col_int(q, 0);
		a.exposed = api_col_int(q, 1);
		a.claimers = api_col_int(q, 2);
		a.claims = api_col_int(q, 3);
		a.repeaters = api_col_int(q, 4);
		a.cents = api_col_int(q, 5);
		a.points = api_col_int(q, 6);
		fn(ctx, &a);
	}
	api_end(q);
	return rc;
}

/* ---- channel funnels ---- */

static int
funnel_add(struct yima_tx *tx, int64_t day, uint64_t channel,
    const struct yima_funnel_row *d)
{
	return done(api_exec(tx, "INSERT INTO channel_funnel (day, channel,"
	    " node, scans, bound, claimed, repeats, commission) VALUES ($1, $2,"
	    " $3, $4, $5, $6, $7, $8) ON CONFLICT (day, channel, node)"
	    " DO UPDATE SET scans = channel_funnel.scans + excluded.scans,"
	    " bound = channel_funnel.bound + excluded.bound,"
	    " claimed = channel_funnel.claimed + excluded.claimed,"
	    " repeats = channel_funnel.repeats + excluded.repeats,"
	    " commission = channel_funnel.commission + excluded.commission",
	    "iuiiiiii", day, channel, (int64_t)tx->node, d->scans, d->bound,
	    d->claimed, d->repeats, d->commission));
}

int
api_sql_funnel_scan(struct yima_tx *tx, uint64_t channel,
    const char *consumer, int64_t day)
{
	struct yima_funnel_row d;
	int64_t n = 0;

	memset(&d, 0, sizeof(d));
	if (consumer[0] != '\0' && (n = api_exec(tx, "INSERT INTO"
	    " channel_consumers (channel, consumer, day) VALUES ($1, $2, $3)"
	    " ON CONFLICT (channel, consumer) DO NOTHING", "uTi", channel,
	    consumer, day)) < 0)
		return (int)n;
	d.scans = 1;
	d.bound = n;
	return funnel_add(tx, day, channel, &d);
}

int
api_sql_funnel_buy(struct yima_tx *tx, uint64_t channel, const char *consumer,
    uint64_t item, int64_t at, int claimed, int64_t commission, int64_t day)
{
	struct yima_funnel_row d;
	int64_t bday;
	int rc = YIMA_ENOENT;

	memset(&d, 0, sizeof(d));
	/* Bound, claimed, bought again count under the day of binding. */
	if (claimed && (rc = api_one(tx, &bday, "UPDATE channel_consumers"
	    " SET claimed_at = $3, item = $4 WHERE channel = $1 AND consumer"
	    " = $2 AND claimed_at IS NULL RETURNING day", "uTiu", channel,
	    consumer, at, item)) == 0)
		d.claimed = 1;
	else if (rc == YIMA_ENOENT && (rc = api_one(tx, &bday, "UPDATE"
	    " channel_consumers SET repeat_at = $3 WHERE channel = $1"
	    " AND consumer = $2 AND claimed_at IS NOT NULL AND repeat_at IS"
	    " NULL AND item <> $4 AND claimed_at >= CAST($3 AS BIGINT) - $5"
	    " RETURNING day", "uTiui", channel, consumer, at, item,
	    (int64_t)YIMA_REPEAT_MS)) == 0)
		d.repeats = 1;
	if (rc != 0 && rc != YIMA_ENOENT)
		return rc;
	if (rc == 0 && (rc = funnel_add(tx, bday, channel, &d)) != 0)
		return rc;
	if (commission <= 0)
		return 0;
	memset(&d, 0, sizeof(d));
	d.commission = commission;
	return funnel_add(tx, day, channel, &d);
}

int
api_sql_funnel_rows(struct yima_tx *tx, const char *root, const char *type,
    int64_t from, int64_t to,
    void (*fn)(void *ctx, const struct yima_funnel_row *r), void *ctx)
{
	struct yima_funnel_row r;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "WITH RECURSIVE sub(id) AS (SELECT id"
	    " FROM dealers WHERE id = $4 UNION SELECT d.id FROM dealers d"
	    " JOIN sub ON d.parent = sub.id) SELECT c.serial, c.dealer, c.type,"
	    " c.name, SUM(f.scans), SUM(f.bound), SUM(f.claimed),"
	    " SUM(f.repeats), SUM(f.commission)"
	    " FROM channel_funnel f JOIN channels c ON c.serial = f.channel"
	    " WHERE f.day BETWEEN $1 AND $2"
	    " AND (CAST($3 AS TEXT) IS NULL OR c.type = $3)"
	    " AND (CAST($4 AS TEXT) IS NULL OR c.dealer IN (SELECT id FROM sub))"
	    " GROUP BY c.serial, c.dealer, c.type, c.name ORDER BY c.serial",
	    "iitt", from, to, type, root)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		memset(&r, 0, sizeof(r));
		r.channel.serial = (uint64_t)api_col_int(q, 0);
		api_col_text(q, 1, r.channel.dealer, sizeof(r.channel.dealer));
		api_col_text(q, 2, r.channel.type, sizeof(r.channel.type));
		api_col_text(q, 3, r.channel.name, sizeof(r.channel.name));
		r.scans = api_col_int(q, 4);
		r.bound = api_col_int(q, 5);
		r.claimed = api_col_int(q, 6);
		r.repeats = api_col_int(q, 7);
		r.commission = api_col_int(q, 8);
		fn(ctx, &r);
	}
	api_end(q);
	return rc;
}

/* ---- lifecycle stages ---- */

/* The region is under prefix p ("" all, unknown too). */
#define UNDER(p)	"substr(region, 1, length(CAST(" p " AS TEXT))) = " p

#define SEGMENT_COLS "consumer, region, tier, stage, first_at, last_at," \
	" item, gaps, due_at"

static void
segment_row(struct api_dbq *q, struct yima_segment *s)
{
	memset(s, 0, sizeof(*s));
	api_col_text(q, 0, s->consumer, sizeof(s->consumer));
	api_col_text(q, 1, s->region, sizeof(s->region));
	api_col_text(q, 2, s->tier, sizeof(s->tier));
	api_col_text(q, 3, s->stage, sizeof(s->stage));
	s->first_at = api_col_int(q, 4);
	s->last_at = api_col_int(q, 5);
	s->item = (uint64_t)api_col_int(q, 6);
	api_col_text(q, 7, s->gaps, sizeof(s->gaps));
	s->due_at = api_col_int(q, 8);
}

static int
segments_each(struct api_dbq *q,
    void (*fn)(void *ctx, const struct yima_segment *s), void *ctx)
{
	struct yima_segment s;
	int rc;

	while ((rc = api_row(q)) == 1) {
		segment_row(q, &s);
		fn(ctx, &s);
	}
	api_end(q);
	return rc;
}

int
api_sql_segment_get(struct yima_tx *tx, const char *consumer,
    struct yima_segment *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " SEGMENT_COLS " FROM segments"
	    " WHERE consumer = $1", "T", consumer)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1)
		segment_row(q, out);
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_ENOENT : rc;
}

int
api_sql_segment_put(struct yima_tx *tx, const struct yima_segment *s,
    const struct yima_segment *was, int *changed)
{
	int64_t n;

	if (was == NULL)
		n = api_exec(tx, "INSERT INTO segments (" SEGMENT_COLS ")"
		    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
		    " ON CONFLICT (consumer) DO NOTHING", "TTTTiiuTi",
		    s->consumer, s->region, s->tier, s->stage, s->first_at,
		    s->last_at, s->item, s->gaps, s->due_at);
	else
		n = api_exec(tx, "UPDATE segments SET region = $2, tier = $3,"
		    " stage = $4, first_at = $5, last_at = $6, item = $7,"
		    " gaps = $8, due_at = $9 WHERE consumer = $1"
		    " AND last_at = $10 AND due_at = $11", "TTTTiiuTiii",
		    s->consumer, s->region, s->tier, s->stage, s->first_at,
		    s->last_at, s->item, s->gaps, s->due_at, was->last_at,
		    was->due_at);
	if (n < 0)
		return (int)n;
	*changed = n == 1;
	return 0;
}

int
api_sql_segment_count(struct yima_tx *tx, const char *region,
    const char *stage, const char *tier, int64_t delta)
{
	return done(api_exec(tx, "INSERT INTO segment_counts (region, stage,"
	    " tier, node, n) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (region,"
	    " stage, tier, node) DO UPDATE SET n = segment_counts.n"
	    " + excluded.n", "TTTii", region, stage, tier, (int64_t)tx->node,
	    delta));
}

int
api_sql_segment_move(struct yima_tx *tx, int64_t month, const char *region,
    const char *src, const char *dst, int64_t n)
{
	return done(api_exec(tx, "INSERT INTO segment_moves (month, region,"
	    " src, dst, node, n) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT"
	    " (month, region, src, dst, node) DO UPDATE SET n ="
	    " segment_moves.n + excluded.n", "iTTTii", month, region, src, dst,
	    (int64_t)tx->node, n));
}

int
api_sql_segment_due(struct yima_tx *tx, int64_t now, int max,
    void (*fn)(void *ctx, const struct yima_segment *s), void *ctx)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " SEGMENT_COLS " FROM segments"
	    " WHERE due_at <= $1 ORDER BY due_at LIMIT $2", "ii", now,
	    (int64_t)max)) != 0)
		return rc;
	return segments_each(q, fn, ctx);
}

int
api_sql_segment_counts(struct yima_tx *tx, const char *prefix,
    void (*fn)(void *ctx, const char *region, const char *stage,
    const char *tier, int64_t n), void *ctx)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT region, stage, tier, SUM(n)"
	    " FROM segment_counts WHERE " UNDER("$1")
	    " GROUP BY region, stage, tier HAVING SUM(n) <> 0"
	    " ORDER BY region, stage, tier", "T", prefix)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1)
		fn(ctx, api_col_str(q, 0), api_col_str(q, 1),
		    api_col_str(q, 2), api_col_int(q, 3));
	api_end(q);
	return rc;
}

int
api_sql_segment_moves(struct yima_tx *tx, const char *prefix,
    int64_t from_month, void (*fn)(void *ctx, int64_t month,
    const char *region, const char *src, const char *dst, int64_t n),
    void *ctx)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT month, region, src, dst, SUM(n)"
	    " FROM segment_moves WHERE " UNDER("$1") " AND month >= $2"
	    " GROUP BY month, region, src, dst HAVING SUM(n) <> 0"
	    " ORDER BY month, region, src, dst", "Ti", prefix,
	    from_month)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1)
		fn(ctx, api_col_int(q, 0), api_col_str(q, 1),
		    api_col_str(q, 2), api_col_str(q, 3), api_col_int(q, 4));
	api_end(q);
	return rc;
}

int
api_sql_segment_list(struct yima_tx *tx, const char *stage,
    const char *prefix, const char *after, int limit,
    void (*fn)(void *ctx, const struct yima_segment *s), void *ctx)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " SEGMENT_COLS " FROM segments"
	    " WHERE stage = $1 AND " UNDER("$2") " AND consumer > $3"
	    " AND consumer NOT LIKE 'erased%' ORDER BY consumer LIMIT $4",
	    "TTTi", stage, prefix, after, (int64_t)limit)) != 0)
		return rc;
	return segments_each(q, fn, ctx);
}

/* ---- consumers' rights ---- */

#define STAGES	"('new', 'active', 'at_risk', 'lapsed')"

int
api_sql_consumer_audience(struct yima_tx *tx, const char *consumer,
    void (*fn)(void *ctx, const char *kind, int64_t id, int64_t n,
    int64_t at), void *ctx)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT 'experiment', campaign, variant, at"
	    " FROM ab_consumers WHERE consumer = $1 UNION ALL"
	    " SELECT 'channel', channel, 0, day * $2 - $3 FROM"
	    " channel_consumers WHERE consumer = $1 ORDER BY 1, 2", "Tii",
	    consumer, (int64_t)24 * 3600 * 1000, YIMA_DAY_OFFSET_MS)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1)
		fn(ctx, api_col_str(q, 0), api_col_int(q, 1), api_col_int(q, 2),
		    api_col_int(q, 3));
	api_end(q);
	return rc;
}

int
api_sql_audience_drop(struct yima_tx *tx, int64_t before, int max, int *most)
{
	/* A batch of the consumers past retention, by the stage index. */
#define GONE	"SELECT consumer FROM segments WHERE stage IN " STAGES \
	" AND last_at < $1 ORDER BY stage, last_at, consumer LIMIT $2"
	int64_t day = (before + YIMA_DAY_OFFSET_MS) / (24 * 3600 * 1000);
	int64_t n[3];
	int i;

	/* Exposures whose every date (shown, claimed, bought again) is past
	 * retention; bindings made before it. */
	n[0] = api_exec(tx, "DELETE FROM ab_consumers WHERE (campaign,"
	    " consumer) IN (SELECT campaign, consumer FROM ab_consumers"
	    " WHERE at < $1 AND (claimed_at IS NULL OR claimed_at < $1) AND"
	    " (repeat_at IS NULL OR repeat_at < $1) LIMIT $2)", "ii", before,
	    (int64_t)max);
	if (n[0] >= 0)
		n[1] = api_exec(tx, "DELETE FROM channel_consumers WHERE"
		    " (channel, consumer) IN (SELECT channel, consumer FROM"
		    " channel_consumers WHERE day < $1 LIMIT $2)", "ii", day,
		    (int64_t)max);
	if (n[0] < 0 || n[1] < 0)
		return (int)(n[0] < 0 ? n[0] : n[1]);
	/* Their counts go down first, then the rows: the same batch. */
	if ((n[2] = api_exec(tx, "INSERT INTO segment_counts (region, stage,"
	    " tier, node, n) SELECT region, stage, tier, $3, -COUNT(*) FROM"
	    " segments WHERE consumer IN (" GONE ") GROUP BY region, stage,"
	    " tier ON CONFLICT (region, stage, tier, node) DO UPDATE SET n ="
	    " segment_counts.n + excluded.n", "iii", before, (int64_t)max,
	    (int64_t)tx->node)) < 0 || (n[2] = api_exec(tx, "DELETE FROM"
	    " segments WHERE consumer IN (" GONE ")", "ii", before,
	    (int64_t)max)) < 0)
		return (int)n[2];
#undef GONE
	*most = 0;
	for (i = 0; i < 3; i++)
		if (n[i] > *most)
			*most = (int)n[i];
	return 0;
}
