/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's rewards (written once: db.h): campaigns and their prizes,
 * claims, the ledger and balances, vouchers, payouts, the catalogue and
 * redemptions. What must hold however requests race is a conditional
 * write checked by the rows it changed (a prize taken while any is left,
 * a spend within budget, a balance kept at or above zero) or a unique key.
 */
#include <stdio.h>
#include <string.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "db.h"

static const char *const prize_types[] = { NULL, "cash", "points",
    "voucher" };

/* The rows a statement touched, or its error. */
static int
done(int64_t n)
{
	return n < 0 ? (int)n : 0;
}

/* 0 when a statement changed exactly one row, else its error or miss. */
static int
one_row(int64_t n, int miss)
{
	return n < 0 ? (int)n : n == 1 ? 0 : miss;
}

/* ---- campaigns ---- */

static int
bump_gen(struct yima_tx *tx)
{
	tx->memo.gen_known = 0;
	return done(api_exec(tx, "UPDATE reward_meta SET v = v + 1"
	    " WHERE k = 'campaign_gen'", ""));
}

int
api_sql_campaign_create(struct yima_tx *tx, struct yima_campaign *c,
    const char *body)
{
	char gtins[YIMA_SCOPE_MAX * (YIMA_GTIN_LEN + 1) + 1];
	char regions[YIMA_SCOPE_MAX * 7 + 1];
	struct yima_prize *p;
	struct yima_variant *v;
	size_t i;
	int rc;

	api_scope_join(gtins, sizeof(gtins), c->gtins[0], sizeof(c->gtins[0]),
	    c->ngtins);
	api_scope_join(regions, sizeof(regions), c->regions[0],
	    sizeof(c->regions[0]), c->nregions);
	c->created_at = api_store_now_ms();
	if ((rc = api_one(tx, &c->id, "INSERT INTO campaigns (name, start_at,"
	    " end_at, status, claim_kind, gtins, regions, points, commission,"
	    " budget, daily_budget, per_day, per_consumer, per_network_hour,"
	    " body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
	    " $10, $11, $12, $13, $14, $15, $16) RETURNING id",
	    "TiiTiTTiiIIIIITi", c->name, c->start, c->end, c->status[0] ?
	    c->status : "active", (int64_t)c->claim_kind, gtins, regions,
	    c->points, c->commission, c->budget, c->daily_budget, c->per_day,
	    c->per_consumer, c->per_network_hour, body, c->created_at)) != 0)
		return rc;
	for (i = 0; i < c->nprizes; i++) {
		p = &c->prizes[i];
		if ((rc = api_one(tx, &p->id, "INSERT INTO prizes (campaign,"
		    " name, type, amount, count, remaining, probability,"
		    " variant) VALUES ($1, $2, $3, $4, $5, $5, $6, $7)"
		    " RETURNING id", "iTTiidI", c->id, p->name,
		    prize_types[p->type], p->amount, p->count, p->probability,
		    p->arm > 0 ? (int64_t)p->arm - 1 : YIMA_NONE)) != 0)
			return rc;
		p->remaining = p->count;
	}
	for (i = 0; i < c->nvariants; i++) {
		v = &c->variants[i];
		if ((rc = done(api_exec(tx, "INSERT INTO variants (campaign,"
		    " idx, name, weight, points, own_prizes, headline,"
		    " image_url, cta) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
		    " $9)", "iiTiIiTTT", c->id, (int64_t)i, v->name, v->weight,
		    v->points, (int64_t)v->own_prizes, v->headline,
		    v->image_url, v->cta))) != 0)
			return rc;
	}
	return bump_gen(tx);
}

#define CAMPAIGN_COLS "id, name, start_at, end_at, status, claim_kind," \
	" gtins, regions, points, commission, budget, daily_budget, spent," \
	" per_day, per_consumer, per_network_hour, created_at"

static int
campaign_row(struct yima_tx *tx, struct api_dbq *q, struct yima_campaign *c)
{
	struct api_dbq *pq;
	struct yima_prize *p;
	struct yima_variant *v;
	const char *type;
	int rc, i;

	memset(c, 0, sizeof(*c));
	c->id = api_col_int(q, 0);
	api_col_text(q, 1, c->name, sizeof(c->name));
	c->start = api_col_int(q, 2);
	c->end = api_col_int(q, 3);
	api_col_text(q, 4, c->status, sizeof(c->status));
	c->claim_kind = (int)api_col_int(q, 5);
	c->ngtins = api_scope_split(api_col_str(q, 6), c->gtins[0],
	    sizeof(c->gtins[0]), YIMA_SCOPE_MAX);
	c->nregions = api_scope_split(api_col_str(q, 7), c->regions[0],
	    sizeof(c->regions[0]), YIMA_SCOPE_MAX);
	c->points = api_col_int(q, 8);
	c->commission = api_col_int(q, 9);
	c->budget = api_col_opt(q, 10);
	c->daily_budget = api_col_opt(q, 11);
	c->spent = api_col_int(q, 12);
	c->per_day = api_col_opt(q, 13);
	c->per_consumer = api_col_opt(q, 14);
	c->per_network_hour = api_col_opt(q, 15);
	c->created_at = api_col_int(q, 16);
	if ((rc = api_q(tx, &pq, "SELECT id, name, type, amount, count,"
	    " remaining, probability, variant FROM prizes WHERE campaign = $1"
	    " ORDER BY id", "i", c->id)) != 0)
		return rc;
	while ((rc = api_row(pq)) == 1 && c->nprizes < YIMA_PRIZES_MAX) {
		p = &c->prizes[c->nprizes++];
		p->id = api_col_int(pq, 0);
		api_col_text(pq, 1, p->name, sizeof(p->name));
		type = api_col_str(pq, 2);
		for (i = 1; i <= YIMA_PRIZE_VOUCHER; i++)
			if (strcmp(type, prize_types[i]) == 0)
				p->type = i;
		p->amount = api_col_int(pq, 3);
		p->count = api_col_int(pq, 4);
		p->remaining = api_col_int(pq, 5);
		p->probability = api_col_dbl(pq, 6);
		p->arm = api_col_null(pq, 7) ? 0 : (int)api_col_int(pq, 7) + 1;
	}
	api_end(pq);
	if (rc < 0 || (rc = api_q(tx, &pq, "SELECT name, weight, points,"
	    " own_prizes, headline, image_url, cta FROM variants"
	    " WHERE campaign = $1 ORDER BY idx", "i", c->id)) != 0)
		return rc;
	while ((rc = api_row(pq)) == 1 && c->nvariants < YIMA_VARIANTS_MAX) {
		v = &c->variants[c->nvariants++];
		api_col_text(pq, 0, v->name, sizeof(v->name));
		v->weight = api_col_int(pq, 1);
		v->points = api_col_opt(pq, 2);
		v->own_prizes = (int)api_col_int(pq, 3);
		api_col_text(pq, 4, v->headline, sizeof(v->headline));
		api_col_text(pq, 5, v->image_url, sizeof(v->image_url));
		api_col_text(pq, 6, v->cta, sizeof(v->cta));
	}
	api_end(pq);
	return rc < 0 ? rc : 0;
}

int
api_sql_campaign_get(struct yima_tx *tx, int64_t id,
    struct yima_campaign *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " CAMPAIGN_COLS " FROM campaigns"
	    " WHERE id = $1", "i", id)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1)
		rc = campaign_row(tx, q, out);
	else if (rc == 0)
		rc = YIMA_ENOENT;
	api_end(q);
	return rc;
}

int
api_sql_campaign_list(struct yima_tx *tx, int64_t active_at,
    void (*fn)(void *ctx, const struct yima_campaign *c), void *ctx)
{
	struct yima_campaign *c;
	struct api_dbq *q = NULL;
	int rc;

	if ((c = yima_malloc(sizeof(*c))) == NULL)
		return YIMA_ENOMEM;
	if ((rc = api_q(tx, &q, "SELECT " CAMPAIGN_COLS " FROM campaigns"
	    " WHERE CAST($1 AS BIGINT) = 0 OR (status = 'active'"
	    " AND end_at > $1)"
	    " ORDER BY id", "i", active_at)) != 0)
		goto out;
	while ((rc = api_row(q)) == 1) {
		if ((rc = campaign_row(tx, q, c)) != 0)
			goto out;
		fn(ctx, c);
	}
out:
	api_end(q);
	yima_free(c);
	return rc;
}

int
api_sql_campaign_set_status(struct yima_tx *tx, int64_t id,
    const char *status)
{
	int rc = one_row(api_exec(tx, "UPDATE campaigns SET status = $2"
	    " WHERE id = $1", "iT", id, status), YIMA_ENOENT);

	return rc != 0 ? rc : bump_gen(tx);
}

int
api_sql_campaign_gen(struct yima_tx *tx, int64_t *gen)
{
	int rc;

	if (!tx->memo.gen_known) {
		if ((rc = api_one(tx, &tx->memo.gen, "SELECT v FROM reward_meta"
		    " WHERE k = 'campaign_gen'", "")) != 0)
			return rc;
		tx->memo.gen_known = 1;
	}
	*gen = tx->memo.gen;
	return 0;
}

/*
 * Pool, then budget, then the day's budget; all or nothing: a step that
 * is refused (YIMA_ENOENT, YIMA_ERANGE) gives back the ones before it. A
 * statement that fails (a conflict, say) returns as it is: on PostgreSQL
 * the transaction is aborted then, and only a rollback (and a rerun) is
 * left to do.
 */
int
api_sql_prize_award(struct yima_tx *tx, int64_t prize, int64_t campaign,
    int64_t day, int64_t cents)
{
	int rc;

	if ((rc = one_row(api_exec(tx, "UPDATE prizes SET remaining ="
	    " remaining - 1 WHERE id = $1 AND remaining > 0", "i", prize),
	    YIMA_ENOENT)) != 0 || cents == 0)
		return rc;
	/* Conditional: a spend that would pass a budget changes nothing. */
	if ((rc = one_row(api_exec(tx, "UPDATE campaigns SET spent = spent"
	    " + $2 WHERE id = $1 AND (budget IS NULL OR spent + $2 <= budget)",
	    "ii", campaign, cents), YIMA_ERANGE)) != 0)
		goto pool;
	if ((rc = one_row(api_exec(tx, "INSERT INTO campaign_days (campaign,"
	    " day, spent) SELECT $1, CAST($2 AS BIGINT), CAST($3 AS BIGINT)"
	    " FROM campaigns WHERE id = $1"
	    " AND (daily_budget IS NULL OR $3 <= daily_budget)"
	    " ON CONFLICT (campaign, day) DO UPDATE"
	    " SET spent = campaign_days.spent + $3"
	    " WHERE (SELECT daily_budget FROM campaigns WHERE id = $1) IS NULL"
	    " OR campaign_days.spent + $3 <= (SELECT daily_budget"
	    " FROM campaigns WHERE id = $1)", "iii", campaign, day, cents),
	    YIMA_ERANGE)) == 0 || rc != YIMA_ERANGE)
		return rc;
	if (done(api_exec(tx, "UPDATE campaigns SET spent = spent - $2"
	    " WHERE id = $1", "ii", campaign, cents)) != 0)
		return YIMA_EDB;
pool:
	if (rc != YIMA_ERANGE)
		return rc;
	if (done(api_exec(tx, "UPDATE prizes SET remaining = remaining + 1"
	    " WHERE id = $1", "i", prize)) != 0)
		return YIMA_EDB;
	return rc;
}

/* ---- claims ---- */

int
api_sql_claim_add(struct yima_tx *tx, const struct yima_claim *c,
    int64_t *id)
{
	int rc = api_ahead_claim_add(tx, c, id);

	if (rc != API_AHEAD_NO)
		return rc;
	rc = api_one(tx, id, "INSERT INTO claims (serial, campaign, consumer,"
	    " network, at, scan_id, status, prize, points, lat, lon, variant)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
	    " RETURNING id", "!uIttiITIiDDt", c->serial, c->campaign > 0 ?
	    c->campaign : YIMA_NONE, c->consumer, c->network, c->at,
	    c->scan_id > 0 ? c->scan_id : YIMA_NONE, c->status,
	    c->prize > 0 ? c->prize : YIMA_NONE, c->points, c->located,
	    c->lat, c->located, c->lon, c->variant);
	if (rc == 0)
		api_ahead_claim_note(tx, c, *id);
	return rc;
}

int
api_sql_claim_counts(struct yima_tx *tx, int64_t campaign,
    const char *consumer, const char *network, int64_t day_from,
    int64_t hour_from, const struct yima_claim_counts *upto,
    struct yima_claim_counts *out)
{
	struct api_dbq *q;
	int rc;

	/* Each count stops at its limit: a busy consumer costs no more. */
	if ((rc = api_q(tx, &q, "SELECT"
	    " (SELECT COUNT(*) FROM (SELECT 1 FROM claims WHERE consumer = $2"
	    "  AND at >= $4 AND campaign = $1 AND status = 'granted'"
	    "  LIMIT $6) AS a),"
	    " (SELECT COUNT(*) FROM (SELECT 1 FROM claims WHERE consumer = $2"
	    "  AND campaign = $1 AND status = 'granted' LIMIT $7) AS b),"
	    " (SELECT COUNT(*) FROM (SELECT 1 FROM claims WHERE campaign = $1"
	    "  AND network = $3 AND at >= $5 AND status = 'granted'"
	    "  LIMIT $8) AS c)", "ittiiiii", campaign, consumer, network,
	    day_from, hour_from, upto->consumer_day, upto->consumer_total,
	    upto->network_hour)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1) {
		out->consumer_day = api_col_int(q, 0);
		out->consumer_total = api_col_int(q, 1);
		out->network_hour = api_col_int(q, 2);
	}
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_EDB : rc;
}

#define CLAIM_COLS	"id, serial, campaign, at, status, lat, lon"
#define CLAIM_COLS_ALL	CLAIM_COLS ", consumer, network, scan_id, prize," \
	" points, variant"

void
api_claim_row(struct api_dbq *q, struct yima_claim *c)
{
	memset(c, 0, sizeof(*c));
	c->id = api_col_int(q, 0);
	c->serial = (uint64_t)api_col_int(q, 1);
	c->campaign = api_col_int(q, 2);
	c->at = api_col_int(q, 3);
	api_col_text(q, 4, c->status, sizeof(c->status));
	if (!api_col_null(q, 5)) {
		c->located = 1;
		c->lat = api_col_dbl(q, 5);
		c->lon = api_col_dbl(q, 6);
	}
}

int
api_sql_claim_last(struct yima_tx *tx, const char *consumer,
    struct yima_claim *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_ahead_claim_last(tx, consumer, out)) != API_AHEAD_NO)
		return rc;
	if ((rc = api_q(tx, &q, "SELECT " CLAIM_COLS " FROM claims"
	    " WHERE consumer = $1 AND lat IS NOT NULL ORDER BY at DESC"
	    " LIMIT 1", "T", consumer)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1)
		api_claim_row(q, out);
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_ENOENT : rc;
}

/* Hands fn each claim of a CLAIM_COLS_ALL query; ends q. */
static int
claims_each(struct api_dbq *q, void (*fn)(void *ctx,
    const struct yima_claim *c), void *ctx)
{
	struct yima_claim c;
	int rc;

	while ((rc = api_row(q)) == 1) {
		api_claim_row(q, &c);
		api_col_text(q, 7, c.consumer, sizeof(c.consumer));
		api_col_text(q, 8, c.network, sizeof(c.network));
		c.scan_id = api_col_int(q, 9);
		c.prize = api_col_int(q, 10);
		c.points = api_col_int(q, 11);
		api_col_text(q, 12, c.variant, sizeof(c.variant));
		fn(ctx, &c);
	}
	api_end(q);
	return rc;
}

/* Copies one claim of q into out (the ctx of claims_each). */
static void
claim_copy(void *ctx, const struct yima_claim *c)
{
	*(struct yima_claim *)ctx = *c;
}

int
api_sql_claim_get(struct yima_tx *tx, int64_t id, struct yima_claim *out)
{
	struct api_dbq *q;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = api_q(tx, &q, "SELECT " CLAIM_COLS_ALL " FROM claims"
	    " WHERE id = $1", "i", id)) != 0)
		return rc;
	if ((rc = claims_each(q, claim_copy, out)) != 0)
		return rc;
	return out->id == id ? 0 : YIMA_ENOENT;
}

int
api_sql_claim_review(struct yima_tx *tx, int64_t id, const char *status,
    int64_t points, const char *reason, const char *reviewer, int64_t at)
{
	return one_row(api_exec(tx, "UPDATE claims SET status = $2, points ="
	    " $3, review = $4, reviewed_by = $5, reviewed_at = $6"
	    " WHERE id = $1 AND status = 'held'", "iTiTTi", id, status,
	    points, reason, reviewer, at), YIMA_ENOENT);
}

int
api_sql_claim_list(struct yima_tx *tx, const char *status, int limit,
    void (*fn)(void *ctx, const struct yima_claim *c), void *ctx)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " CLAIM_COLS_ALL " FROM claims"
	    " WHERE CAST($1 AS TEXT) IS NULL OR status = $1"
	    " ORDER BY id DESC LIMIT $2", "ti", status,
	    (int64_t)limit)) != 0)
		return rc;
	return claims_each(q, fn, ctx);
}

int
api_sql_consumer_claims(struct yima_tx *tx, const char *consumer, int limit,
    void (*fn)(void *ctx, const struct yima_claim *c), void *ctx)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " CLAIM_COLS_ALL " FROM claims"
	    " WHERE consumer = $1"
	    " ORDER BY at DESC, id DESC LIMIT $2", "Ti", consumer,
	    (int64_t)limit)) != 0)
		return rc;
	return claims_each(q, fn, ctx);
}

/* ---- the ledger ---- */

int
api_sql_ledger_add(struct yima_tx *tx, const struct yima_movement *m,
    int floor0, int64_t *balance)
{
	int rc;

	/* A credit in a batch that read its claims ahead may be held. */
	if (!(floor0 && m->amount < 0) && (rc = api_ahead_ledger_add(tx, m)) !=
	    API_AHEAD_NO)
		return rc != 0 ? rc : balance != NULL ? api_sql_balance(tx,
		    m->account, m->unit, balance) : 0;
	/* A debit that must not take the balance below zero is conditional. */
	if (floor0 && m->amount < 0)
		rc = one_row(api_exec(tx, "UPDATE balances SET amount = amount"
		    " + $3 WHERE account = $1 AND unit = $2 AND amount + $3 >= 0",
		    "TTi", m->account, m->unit, m->amount), YIMA_ERANGE);
	else	/* (no RETURNING: SQLite builds a table for it every call) */
		rc = done(api_exec(tx, "INSERT INTO balances (account, unit,"
		    " amount) VALUES ($1, $2, $3) ON CONFLICT (account, unit)"
		    " DO UPDATE SET amount = balances.amount + $3", "TTi",
		    m->account, m->unit, m->amount));
	if (rc != 0 || (rc = done(api_exec(tx, "INSERT INTO ledger (at,"
	    " account, kind, unit, amount, claim, ref) VALUES ($1, $2, $3, $4,"
	    " $5, $6, $7)", "iTTTiIt", m->at, m->account, m->kind, m->unit,
	    m->amount, m->claim > 0 ? m->claim : YIMA_NONE, m->ref))) != 0 ||
	    (rc = api_ahead_ledger_note(tx, m)) != 0)
		return rc;
	return balance != NULL ? api_sql_balance(tx, m->account, m->unit,
	    balance) : 0;
}

int
api_sql_balance(struct yima_tx *tx, const char *account, const char *unit,
    int64_t *amount)
{
	int rc = api_ahead_points(tx, account, unit, amount);

	if (rc != API_AHEAD_NO)
		return rc;
	rc = api_one(tx, amount, "SELECT amount FROM balances"
	    " WHERE account = $1 AND unit = $2", "TT", account, unit);

	if (rc == YIMA_ENOENT) {
		*amount = 0;
		rc = 0;
	}
	return rc;
}

int
api_sql_growth(struct yima_tx *tx, const char *account, int64_t since,
    int64_t until, int64_t *growth)
{
	int rc = api_ahead_growth(tx, account, since, until, growth);

	if (rc != API_AHEAD_NO)
		return rc;
	return api_one(tx, growth, "SELECT COALESCE(SUM(amount), 0)"
	    " FROM ledger WHERE account = $1 AND at >= $2 AND at <= $3"
	    " AND unit = 'points' AND amount > 0"
	    " AND kind IN ('claim', 'prize', 'commission')", "Tii", account,
	    since, until);
}

int
api_sql_ledger_list(struct yima_tx *tx, const char *account, int limit,
    void (*fn)(void *ctx, const struct yima_movement *m), void *ctx)
{
	struct yima_movement m;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT id, at, account, kind, unit, amount,"
	    " claim, ref FROM ledger WHERE account = $1 ORDER BY at DESC,"
	    " id DESC LIMIT $2", "Ti", account, (int64_t)limit)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		memset(&m, 0, sizeof(m));
		m.id = api_col_int(q, 0);
		m.at = api_col_int(q, 1);
		api_col_text(q, 2, m.account, sizeof(m.account));
		api_col_text(q, 3, m.kind, sizeof(m.kind));
		api_col_text(q, 4, m.unit, sizeof(m.unit));
		m.amount = api_col_int(q, 5);
		m.claim = api_col_int(q, 6);
		api_col_text(q, 7, m.ref, sizeof(m.ref));
		fn(ctx, &m);
	}
	api_end(q);
	return rc;
}

/*
 * Each query lists what is wrong, one text per row: the ledger is the
 * truth, everything else must agree with it. Sides are compared by
 * grouping their union, or a small table against an aggregate: never a
 * lookup per row, so millions of claims are checked in seconds. (format()
 * is PostgreSQL's and, since 3.38, SQLite's.)
 */
static const char *const checks[] = {
	/* balances are the sums of the movements (one sort, no join) */
	"SELECT format('balance %s %s is %s, the ledger sums to %s',"
	" account, unit, SUM(b), SUM(l)) FROM (SELECT account, unit,"
	" amount AS b, 0 AS l FROM balances UNION ALL SELECT account, unit,"
	" 0, amount FROM ledger) u GROUP BY account, unit"
	" HAVING SUM(b) != SUM(l)",
	"SELECT format('points balance of %s is below zero (%s)', account,"
	" amount) FROM balances WHERE unit = 'points' AND amount < 0",
	/* prizes handed out are the prizes taken from the pool */
	"SELECT format('prize %s: %s taken from the pool, %s claims"
	" won it', p.id, p.count - p.remaining, COALESCE(w.n, 0))"
	" FROM prizes p LEFT JOIN (SELECT prize, COUNT(*) AS n FROM claims"
	" WHERE prize IS NOT NULL GROUP BY prize) w ON w.prize = p.id"
	" WHERE p.count - p.remaining != COALESCE(w.n, 0)",
	"SELECT format('prize %s: remaining %s outside 0..%s', id,"
	" remaining, count) FROM prizes WHERE remaining < 0"
	" OR remaining > count",
	/* a campaign's spend is its cash prizes, and the sum of its days */
	"SELECT format('campaign %s: spent %s, cash prizes %s, days"
	" %s', c.id, c.spent, COALESCE(x.s, 0), COALESCE(d.s, 0))"
	" FROM campaigns c LEFT JOIN (SELECT k.campaign, SUM(l.amount) AS s"
	" FROM ledger l JOIN claims k ON k.id = l.claim WHERE l.kind = 'prize'"
	" AND l.unit = 'cents' GROUP BY k.campaign) x ON x.campaign = c.id"
	" LEFT JOIN (SELECT campaign, SUM(spent) AS s FROM campaign_days"
	" GROUP BY campaign) d ON d.campaign = c.id"
	" WHERE c.spent != COALESCE(x.s, 0) OR c.spent != COALESCE(d.s, 0)",
	"SELECT format('campaign %s: spent %s over its budget %s', id,"
	" spent, budget) FROM campaigns WHERE budget IS NOT NULL"
	" AND spent > budget",
	/* each day's spend is that day's cash prizes (days are UTC+8) */
	"SELECT format('campaign %s day %s: spent %s, cash prizes"
	" %s', campaign, day, SUM(d), SUM(l)) FROM (SELECT campaign, day,"
	" spent AS d, 0 AS l FROM campaign_days UNION ALL SELECT k.campaign,"
	" (l.at + 28800000) / 86400000, 0, l.amount FROM ledger l"
	" JOIN claims k ON k.id = l.claim WHERE l.kind = 'prize'"
	" AND l.unit = 'cents') u GROUP BY campaign, day"
	" HAVING SUM(d) != SUM(l)",
	"SELECT format('campaign %s day %s: spent %s over the daily"
	" budget %s', c.id, d.day, d.spent, c.daily_budget)"
	" FROM campaign_days d JOIN campaigns c ON c.id = d.campaign"
	" WHERE c.daily_budget IS NOT NULL AND d.spent > c.daily_budget",
	/* a granted claim moved its points, and its prize as won */
	"SELECT format('claim %s: %s points granted, %s moved', claim,"
	" SUM(g), SUM(m)) FROM (SELECT id AS claim, points AS g, 0 AS m"
	" FROM claims WHERE status = 'granted' UNION ALL SELECT claim, 0,"
	" amount FROM ledger WHERE kind = 'claim') u GROUP BY claim"
	" HAVING SUM(g) != SUM(m)",
	"SELECT format('claim %s: %s prizes won, %s moved', claim,"
	" SUM(w), SUM(m)) FROM (SELECT id AS claim, 1 AS w, 0 AS m"
	" FROM claims WHERE prize IS NOT NULL UNION ALL SELECT claim, 0, 1"
	" FROM ledger WHERE kind = 'prize') u GROUP BY claim"
	" HAVING SUM(w) != SUM(m)",
	"SELECT format('claim %s: prize movement %s, the prize is %s',"
	" l.claim, l.amount, p.amount) FROM ledger l JOIN claims k"
	" ON k.id = l.claim JOIN prizes p ON p.id = k.prize"
	" WHERE l.kind = 'prize' AND l.amount != p.amount",
	/* cash owed to a consumer is their pending payouts */
	"SELECT format('cents owed to %s: %s, pending payouts %s',"
	" account, SUM(b), SUM(p)) FROM (SELECT account, amount AS b, 0 AS p"
	" FROM balances WHERE unit = 'cents' UNION ALL SELECT 'consumer:' ||"
	" consumer, 0, cents FROM payouts WHERE paid_at IS NULL) u"
	" GROUP BY account HAVING SUM(b) != SUM(p)",
	"SELECT format('payout %s: %s cents, its prize movement %s',"
	" p.id, p.cents, COALESCE(l.a, 0)) FROM payouts p LEFT JOIN"
	" (SELECT claim, SUM(amount) AS a FROM ledger WHERE kind = 'prize'"
	" AND unit = 'cents' GROUP BY claim) l ON l.claim = p.claim"
	" WHERE COALESCE(l.a, 0) != p.cents",
	/* bottles: held by consumers until redeemed, then the store's */
	"SELECT format('bottles of %s: %s, vouchers %s', account, SUM(b),"
	" SUM(v)) FROM (SELECT account, amount AS b, 0 AS v FROM balances"
	" WHERE unit = 'bottles' UNION ALL SELECT 'consumer:' || consumer, 0,"
	" bottles FROM vouchers WHERE redeemed_at IS NULL UNION ALL"
	" SELECT 'store:' || store, 0, bottles FROM vouchers"
	" WHERE redeemed_at IS NOT NULL) u GROUP BY account"
	" HAVING SUM(b) != SUM(v)",
	/* redemptions spent exactly their points */
	"SELECT format('redemption %s: %s points, ledger %s', r.id,"
	" r.points, COALESCE(l.s, 0)) FROM redemptions r LEFT JOIN"
	" (SELECT ref, -SUM(amount) AS s FROM ledger WHERE kind = 'redemption'"
	" AND unit = 'points' GROUP BY ref) l ON l.ref = 'r' || r.id"
	" WHERE r.points != COALESCE(l.s, 0)",
	/* one grant per claim: a claim's movements are made once */
	"SELECT format('claim %s has %s claim movements', claim, COUNT(*))"
	" FROM ledger WHERE kind = 'claim' GROUP BY claim HAVING COUNT(*) > 1",
	"SELECT format('claim %s moved %s but is %s', k.id, l.unit,"
	" k.status) FROM ledger l JOIN claims k ON k.id = l.claim"
	" WHERE k.status != 'granted' LIMIT 100",
};

int
api_sql_ledger_check(struct yima_tx *tx,
    void (*fn)(void *ctx, const char *problem), void *ctx, int64_t *rows,
    int64_t *problems)
{
	struct api_dbq *q;
	size_t i;
	int rc;

	*problems = 0;
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		if ((rc = api_q(tx, &q, checks[i], "")) != 0)
			return rc;
		while ((rc = api_row(q)) == 1) {
			fn(ctx, api_col_str(q, 0));
			(*problems)++;
		}
		api_end(q);
		if (rc < 0)
			return rc;
	}
	return api_one(tx, rows, "SELECT COUNT(*) FROM ledger", "");
}

/* ---- vouchers and payouts ---- */

int
api_sql_voucher_add(struct yima_tx *tx, const struct yima_voucher *v)
{
	return done(api_exec(tx, "INSERT INTO vouchers (id, claim, campaign,"
	    " consumer, name, bottles, created_at) VALUES ($1, $2, $3, $4, $5,"
	    " $6, $7)", "!TiiTTii", v->id, v->claim, v->campaign, v->consumer,
	    v->name, v->bottles, v->created_at));
}

static int
voucher_get(struct yima_tx *tx, const char *id, struct yima_voucher *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT id, claim, campaign, consumer, name,"
	    " bottles, created_at, redeemed_at, store FROM vouchers"
	    " WHERE id = $1", "T", id)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1) {
		memset(out, 0, sizeof(*out));
		api_col_text(q, 0, out->id, sizeof(out->id));
		out->claim = api_col_int(q, 1);
		out->campaign = api_col_int(q, 2);
		api_col_text(q, 3, out->consumer, sizeof(out->consumer));
		api_col_text(q, 4, out->name, sizeof(out->name));
		out->bottles = api_col_int(q, 5);
		out->created_at = api_col_int(q, 6);
		out->redeemed_at = api_col_int(q, 7);
		api_col_text(q, 8, out->store, sizeof(out->store));
	}
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_ENOENT : rc;
}

int
api_sql_voucher_redeem(struct yima_tx *tx, const char *id, const char *store,
    int64_t at, struct yima_voucher *out)
{
	int rc;

	if ((rc = voucher_get(tx, id, out)) != 0)
		return rc;
	if (out->redeemed_at != 0)
		return YIMA_EEXIST;
	/* Conditional, so that it holds however requests race. */
	if ((rc = one_row(api_exec(tx, "UPDATE vouchers SET store = $2,"
	    " redeemed_at = $3 WHERE id = $1 AND redeemed_at IS NULL", "TTi",
	    id, store, at), YIMA_EEXIST)) != 0)
		return rc;
	out->redeemed_at = at;
	snprintf(out->store, sizeof(out->store), "%s", store);
	return 0;
}

int
api_sql_payout_add(struct yima_tx *tx, const struct yima_payout *p,
    int64_t *id)
{
	return api_one(tx, id, "INSERT INTO payouts (claim, campaign, consumer,"
	    " cents, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
	    "iiTii", p->claim, p->campaign, p->consumer, p->cents,
	    p->created_at);
}

#define PAYOUT_COLS "id, claim, campaign, consumer, cents, created_at, paid_at"

static void
payout_row(struct api_dbq *q, struct yima_payout *p)
{
	memset(p, 0, sizeof(*p));
	p->id = api_col_int(q, 0);
	p->claim = api_col_int(q, 1);
	p->campaign = api_col_int(q, 2);
	api_col_text(q, 3, p->consumer, sizeof(p->consumer));
	p->cents = api_col_int(q, 4);
	p->created_at = api_col_int(q, 5);
	p->paid_at = api_col_int(q, 6);
}

int
api_sql_payout_list(struct yima_tx *tx, int paid,
    void (*fn)(void *ctx, const struct yima_payout *p), void *ctx)
{
	struct yima_payout p;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " PAYOUT_COLS " FROM payouts"
	    " WHERE (paid_at IS NOT NULL) = (CAST($1 AS BIGINT) = 1)"
	    " ORDER BY id", "i",
	    (int64_t)(paid != 0))) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		payout_row(q, &p);
		fn(ctx, &p);
	}
	api_end(q);
	return rc;
}

int
api_sql_payout_mark_paid(struct yima_tx *tx, int64_t id, int64_t at,
    struct yima_payout *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " PAYOUT_COLS " FROM payouts"
	    " WHERE id = $1", "i", id)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1)
		payout_row(q, out);
	api_end(q);
	if (rc != 1)
		return rc == 0 ? YIMA_ENOENT : rc;
	if (out->paid_at != 0)
		return YIMA_EEXIST;
	if ((rc = one_row(api_exec(tx, "UPDATE payouts SET paid_at = $2"
	    " WHERE id = $1 AND paid_at IS NULL", "ii", id, at),
	    YIMA_EEXIST)) != 0)
		return rc;
	out->paid_at = at;
	return 0;
}

/* ---- the catalogue and redemptions ---- */

int
api_sql_item_create(struct yima_tx *tx, struct yima_item *it)
{
	return api_one(tx, &it->id, "INSERT INTO catalogue (name, points,"
	    " created_at) VALUES ($1, $2, $3) RETURNING id", "Tii", it->name,
	    it->points, api_store_now_ms());
}

int
api_sql_item_get(struct yima_tx *tx, int64_t id, struct yima_item *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT id, name, points FROM catalogue"
	    " WHERE id = $1", "i", id)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1) {
		out->id = api_col_int(q, 0);
		api_col_text(q, 1, out->name, sizeof(out->name));
		out->points = api_col_int(q, 2);
	}
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_ENOENT : rc;
}

int
api_sql_item_list(struct yima_tx *tx,
    void (*fn)(void *ctx, const struct yima_item *it), void *ctx)
{
	struct yima_item it;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT id, name, points FROM catalogue"
	    " ORDER BY id", "")) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		it.id = api_col_int(q, 0);
		api_col_text(q, 1, it.name, sizeof(it.name));
		it.points = api_col_int(q, 2);
		fn(ctx, &it);
	}
	api_end(q);
	return rc;
}

int
api_sql_redemption_find(struct yima_tx *tx, const char *consumer,
    const char *key, struct yima_redemption *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT id, item, points, at FROM redemptions"
	    " WHERE consumer = $1 AND key = $2", "TT", consumer, key)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1) {
		memset(out, 0, sizeof(*out));
		out->id = api_col_int(q, 0);
		out->item = api_col_int(q, 1);
		out->points = api_col_int(q, 2);
		out->at = api_col_int(q, 3);
		snprintf(out->consumer, sizeof(out->consumer), "%s", consumer);
		snprintf(out->key, sizeof(out->key), "%s", key);
	}
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_ENOENT : rc;
}

int
api_sql_redemption_add(struct yima_tx *tx, struct yima_redemption *r)
{
	return api_one(tx, &r->id, "INSERT INTO redemptions (consumer, key,"
	    " item, points, at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
	    "!TTiii", r->consumer, r->key, r->item, r->points, r->at);
}
