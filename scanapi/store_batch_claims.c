/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A group commit's claims, read ahead and written behind (store_batch.h):
 * its consumers' freezes, last located claims, points balances and
 * growth are read in one statement each before its claims are decided;
 * the claims' answers come from them, with the claims and movements the
 * batch makes; on PostgreSQL claims, ledger movements and balance changes
 * are held and go in one statement per table with the scans.
 */
#include <stdio.h>
#include <string.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "store_batch.h"

/* ---- claims: what a batch's claims ask, read ahead ---- */

/* The consumer an account is, if its claim facts were read ahead. */
static struct ahead_consumer *
account_of(struct yima_tx *tx, const char *account)
{
	struct ahead_consumer *k;

	if (tx->ahead == NULL || !tx->ahead->claims ||
	    strncmp(account, "consumer:", 9) != 0 ||
	    (k = api_ahead_consumer(tx->ahead, account + 9, 0)) == NULL ||
	    !k->claims)
		return NULL;
	return k;
}

static int
add_move(struct ahead_consumer *k, int64_t at, int64_t amount, int added)
{
	struct ahead_move *m;
	size_t cap;

	if (k->nmoves == k->capmoves) {
		cap = k->capmoves ? 2 * k->capmoves : 8;
		if ((m = yima_realloc(k->moves, cap * sizeof(*m))) == NULL)
			return YIMA_ENOMEM;
		k->moves = m;
		k->capmoves = cap;
	}
	k->moves[k->nmoves].at = at;
	k->moves[k->nmoves].amount = amount;
	k->moves[k->nmoves++].added = added;
	return 0;
}

/* The batch's consumers as a list of accounts ("consumer:ID"). */
static int
account_keys(struct yima_tx *tx, struct api_ahead *a, struct yima_buf *b)
{
	size_t i;
	int rc = yima_buf_puts(b, api_is_pg(tx) ? "{" : "[");

	for (i = 0; i < a->ncons && rc == 0; i++)
		if (a->cons[i].claims)
			rc = yima_buf_printf(b, "%s\"consumer:%s\"", b->len > 1 ?
			    "," : "", a->cons[i].id);
	return rc == 0 ? yima_buf_puts(b, api_is_pg(tx) ? "}" : "]") : rc;
}

/* Freezes: the consumers' own, and every batch's (an operator's few). */
static int
read_freezes(struct yima_tx *tx, struct api_ahead *a, const char *keys)
{
	struct ahead_consumer *k;
	struct api_dbq *q;
	void *p;
	int rc;

	if ((rc = api_q(tx, &q, KEYS(tx, "TEXT", "SELECT kind, id FROM freezes"
	    " WHERE kind = 'batch' OR (kind = 'consumer' AND 'consumer:' || id"
	    " IN (SELECT j.value FROM", "))"), "T", keys)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		if (strcmp(api_col_str(q, 0), "consumer") == 0) {
			if ((k = api_ahead_consumer(a, api_col_str(q, 1), 0)) != NULL)
				k->frozen = 1;
			continue;
		}
		if ((p = yima_realloc(a->frozen_batches, (a->nfrozen + 1) *
		    sizeof(*a->frozen_batches))) == NULL) {
			rc = YIMA_ENOMEM;
			break;
		}
		a->frozen_batches = p;
		api_col_text(q, 1, a->frozen_batches[a->nfrozen++], 33);
	}
	api_end(q);
	return rc;
}

/* Each consumer's last located claim (api_sql_claim_last's). */
static int
read_last_claims(struct yima_tx *tx, struct api_ahead *a, const char *keys)
{
	struct ahead_consumer *k;
	struct yima_claim c;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, KEYS(tx, "TEXT", "WITH k(consumer, at) AS"
	    " (SELECT substr(j.value, 10), (SELECT MAX(x.at) FROM claims x"
	    " WHERE x.consumer = substr(j.value, 10) AND x.lat IS NOT NULL)"
	    " FROM", ") SELECT c.id, c.serial, c.campaign, c.at, c.status,"
	    " c.lat, c.lon, c.consumer FROM k JOIN claims c"
	    " ON c.consumer = k.consumer AND c.at = k.at AND c.lat IS NOT NULL"),
	    "T", keys)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		api_claim_row(q, &c);
		if ((k = api_ahead_consumer(a, api_col_str(q, 7), 0)) == NULL ||
		    (k->has_last && k->last.id > c.id))
			continue;
		k->has_last = 1;
		k->last = c;
	}
	api_end(q);
	return rc;
}

/* Balances in points. */
static int
read_points(struct yima_tx *tx, const char *keys)
{
	struct ahead_consumer *k;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, KEYS(tx, "TEXT", "SELECT b.account, b.amount"
	    " FROM", "JOIN balances b ON b.account = j.value"
	    " AND b.unit = 'points'"), "T", keys)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1)
		if ((k = account_of(tx, api_col_str(q, 0))) != NULL)
			k->points = api_col_int(q, 1);
	api_end(q);
	return rc;
}

/* What counts to growth (api_sql_growth's rule). */
#define GROWS	" AND unit = 'points' AND amount > 0" \
	" AND kind IN ('claim', 'prize', 'commission')"

/*
 * Growth: the sum over the whole window read, and the movements at its
 * edges one by one, so that any window from an edge to an edge is
 * answered exactly (a tier counts the days before each claim). (Each
 * edge is its own part: SQLite reads an OR of ranges by scanning.)
 */
static int
read_growth(struct yima_tx *tx, struct api_ahead *a, const char *keys)
{
	struct ahead_consumer *k;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, KEYS(tx, "TEXT", "WITH k(account) AS (SELECT"
	    " j.value FROM", ") SELECT account, NULL, SUM(amount) FROM ledger"
	    " WHERE account IN (SELECT account FROM k) AND at >= $2"
	    " AND at <= $5" GROWS " GROUP BY account UNION ALL SELECT account,"
	    " at, amount FROM ledger WHERE account IN (SELECT account FROM k)"
	    " AND at >= $2 AND at < $3" GROWS " UNION ALL SELECT account, at,"
	    " amount FROM ledger WHERE account IN (SELECT account FROM k)"
	    " AND at > $4 AND at <= $5" GROWS),
	    "Tiiii", keys, a->g_from, a->g_core_from, a->g_core_to,
	    a->g_to)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		if ((k = account_of(tx, api_col_str(q, 0))) == NULL)
			continue;
		if (api_col_null(q, 1))
			k->growth = api_col_int(q, 2);
		else if ((rc = add_move(k, api_col_int(q, 1),
		    api_col_int(q, 2), 0)) != 0)
			break;
	}
	api_end(q);
	return rc;
}

int
api_sql_claims_ahead(struct yima_tx *tx, const struct yima_claims_ahead *in)
{
	struct api_ahead *a = tx->ahead;
	struct yima_buf b = YIMA_BUF_INIT;
	struct ahead_consumer *k;
	size_t i, n = 0;
	int rc;

	if (a == NULL || a->claims) {
		api_store_seterr("claims ahead: not after scans ahead, or twice");
		return YIMA_EINVAL;
	}
	a->g_from = in->growth_from;
	a->g_core_from = in->growth_core_from;
	a->g_core_to = in->growth_core_to;
	a->g_to = in->growth_to;
	for (i = 0; i < in->nconsumers; i++)
		if ((k = api_ahead_consumer(a, in->consumers[i], 0)) != NULL &&
		    !k->claims) {
			k->claims = 1;
			n++;
		}
	a->claims = 1;
	if ((rc = account_keys(tx, a, &b)) != 0 ||
	    (rc = read_freezes(tx, a, b.data)) != 0 ||
	    (n > 0 && ((rc = read_last_claims(tx, a, b.data)) != 0 ||
	    (rc = read_points(tx, b.data)) != 0 ||
	    (rc = read_growth(tx, a, b.data)) != 0)) ||
	    (in->claims > 0 && api_is_pg(tx) && (rc = api_ahead_reserve(tx,
	    "SELECT nextval(pg_get_serial_sequence('claims', 'id'))"
	    " FROM generate_series(1, $1)", in->claims, &a->claim_ids,
	    &a->nclaim_ids)) != 0)) {
		/* Nothing half read is answered from. */
		for (i = 0; i < a->ncons; i++)
			a->cons[i].claims = 0;
		a->claims = 0;
	}
	yima_buf_free(&b);
	return rc;
}

int
api_ahead_frozen(struct yima_tx *tx, const char *consumer, const char *batch,
    int *frozen)
{
	struct api_ahead *a = tx->ahead;
	struct ahead_consumer *k = NULL;
	size_t i;

	if (a == NULL || !a->claims || (consumer != NULL && ((k =
	    api_ahead_consumer(a, consumer, 0)) == NULL || !k->claims)))
		return API_AHEAD_NO;
	*frozen = k != NULL && k->frozen;
	for (i = 0; i < a->nfrozen && batch != NULL && !*frozen; i++)
		*frozen = strcmp(a->frozen_batches[i], batch) == 0;
	return 0;
}

int
api_ahead_claim_last(struct yima_tx *tx, const char *consumer,
    struct yima_claim *out)
{
	struct ahead_consumer *k;

	if (tx->ahead == NULL || !tx->ahead->claims || (k =
	    api_ahead_consumer(tx->ahead, consumer, 0)) == NULL || !k->claims)
		return API_AHEAD_NO;
	if (!k->has_last)
		return YIMA_ENOENT;
	*out = k->last;
	return 0;
}

int
api_ahead_points(struct yima_tx *tx, const char *account, const char *unit,
    int64_t *amount)
{
	struct ahead_consumer *k = account_of(tx, account);

	if (k == NULL || strcmp(unit, "points") != 0)
		return API_AHEAD_NO;
	*amount = k->points;
	return 0;
}

int
api_ahead_growth(struct yima_tx *tx, const char *account, int64_t since,
    int64_t until, int64_t *growth)
{
	struct ahead_consumer *k = account_of(tx, account);
	struct api_ahead *a = tx->ahead;
	const struct ahead_move *m;
	int64_t g;
	size_t i;

	/* Every movement read outside the window must be an edge's. */
	if (k == NULL || since < a->g_from || since > a->g_core_from ||
	    until < a->g_core_to || until > a->g_to)
		return API_AHEAD_NO;
	g = k->growth;
	for (i = 0; i < k->nmoves; i++) {
		m = &k->moves[i];
		if (m->added)
			g += m->at >= since && m->at <= until ? m->amount : 0;
		else
			g -= m->at < since || m->at > until ? m->amount : 0;
	}
	*growth = g;
	return 0;
}


/* ---- claims' writes: noted for the answers, held on PostgreSQL ---- */

/* A claim made: the consumer's last located claim may be it. */
void
api_ahead_claim_note(struct yima_tx *tx, const struct yima_claim *c,
    int64_t id)
{
	struct ahead_consumer *k;

	if (tx->ahead == NULL || !tx->ahead->claims || !c->located ||
	    (k = api_ahead_consumer(tx->ahead, c->consumer, 0)) == NULL ||
	    !k->claims)
		return;
	k->has_last = 1;
	k->last = *c;
	k->last.id = id;
}

int
api_ahead_claim_add(struct yima_tx *tx, const struct yima_claim *c,
    int64_t *id)
{
	struct api_ahead *a = tx->ahead;
	struct yima_buf *b;
	int rc;

	if (a == NULL || a->next_claim >= a->nclaim_ids)
		return API_AHEAD_NO;
	b = &a->claim_rows;
	*id = a->claim_ids[a->next_claim++];
	/* id, serial, campaign, consumer, network, at, scan_id, status,
	 * prize, points, lat, lon, variant */
	if ((rc = yima_buf_printf(b, "%s[%lld,%lld", b->len > 0 ? "," : "",
	    (long long)*id, (long long)c->serial)) != 0 ||
	    (rc = c->campaign > 0 ? yima_buf_printf(b, ",%lld",
	    (long long)c->campaign) : yima_buf_puts(b, ",null")) != 0 ||
	    (rc = yima_buf_puts(b, ",")) != 0 ||
	    (rc = api_ahead_json_text(b, c->consumer)) != 0 ||
	    (rc = yima_buf_puts(b, ",")) != 0 ||
	    (rc = api_ahead_json_text(b, c->network)) != 0 ||
	    (rc = yima_buf_printf(b, ",%lld", (long long)c->at)) != 0 ||
	    (rc = c->scan_id > 0 ? yima_buf_printf(b, ",%lld",
	    (long long)c->scan_id) : yima_buf_puts(b, ",null")) != 0 ||
	    (rc = yima_buf_puts(b, ",")) != 0 ||
	    (rc = yima_buf_json_str(b, c->status)) != 0 ||
	    (rc = c->prize > 0 ? yima_buf_printf(b, ",%lld",
	    (long long)c->prize) : yima_buf_puts(b, ",null")) != 0 ||
	    (rc = yima_buf_printf(b, ",%lld", (long long)c->points)) != 0 ||
	    (rc = api_ahead_json_dbl(b, c->located, c->lat)) != 0 ||
	    (rc = api_ahead_json_dbl(b, c->located, c->lon)) != 0 ||
	    (rc = yima_buf_puts(b, ",")) != 0 ||
	    (rc = api_ahead_json_text(b, c->variant)) != 0 ||
	    (rc = yima_buf_puts(b, "]")) != 0)
		return YIMA_ENOMEM;
	api_ahead_claim_note(tx, c, *id);
	return 0;
}

/* A movement made: the consumer's balance and growth have it. */
int
api_ahead_ledger_note(struct yima_tx *tx, const struct yima_movement *m)
{
	struct ahead_consumer *k = account_of(tx, m->account);

	if (k == NULL || strcmp(m->unit, "points") != 0)
		return 0;
	k->points += m->amount;
	if (m->amount > 0 && (strcmp(m->kind, "claim") == 0 ||
	    strcmp(m->kind, "prize") == 0 || strcmp(m->kind, "commission") ==
	    0))
		return add_move(k, m->at, m->amount, 1);
	return 0;
}

/* Held balance changes are summed per account and unit. */
static int
hold_balance(struct api_ahead *a, const struct yima_movement *m)
{
	struct ahead_balance *p;
	size_t i, cap;

	for (i = 0; i < a->nbal; i++)
		if (strcmp(a->bal[i].account, m->account) == 0 &&
		    strcmp(a->bal[i].unit, m->unit) == 0) {
			a->bal[i].amount += m->amount;
			return 0;
		}
	if (a->nbal == a->capbal) {
		cap = a->capbal ? 2 * a->capbal : 16;
		if ((p = yima_realloc(a->bal, cap * sizeof(*p))) == NULL)
			return YIMA_ENOMEM;
		a->bal = p;
		a->capbal = cap;
	}
	p = &a->bal[a->nbal++];
	snprintf(p->account, sizeof(p->account), "%s", m->account);
	snprintf(p->unit, sizeof(p->unit), "%s", m->unit);
	p->amount = m->amount;
	return 0;
}

/* A credit (no floor) in a batch that read its claims ahead. */
int
api_ahead_ledger_add(struct yima_tx *tx, const struct yima_movement *m)
{
	struct api_ahead *a = tx->ahead;
	struct yima_buf *b;
	int rc;

	if (a == NULL || !a->claims || !api_is_pg(tx))
		return API_AHEAD_NO;
	b = &a->ledger_rows;
	/* at, account, kind, unit, amount, claim, ref */
	if ((rc = yima_buf_printf(b, "%s[%lld,", b->len > 0 ? "," : "",
	    (long long)m->at)) != 0 ||
	    (rc = api_ahead_json_text(b, m->account)) != 0 ||
	    (rc = yima_buf_puts(b, ",")) != 0 ||
	    (rc = api_ahead_json_text(b, m->kind)) != 0 ||
	    (rc = yima_buf_puts(b, ",")) != 0 ||
	    (rc = api_ahead_json_text(b, m->unit)) != 0 ||
	    (rc = yima_buf_printf(b, ",%lld", (long long)m->amount)) != 0 ||
	    (rc = m->claim > 0 ? yima_buf_printf(b, ",%lld",
	    (long long)m->claim) : yima_buf_puts(b, ",null")) != 0 ||
	    (rc = yima_buf_puts(b, ",")) != 0 ||
	    (rc = api_ahead_json_text(b, m->ref)) != 0 ||
	    (rc = yima_buf_puts(b, "]")) != 0 ||
	    (rc = hold_balance(a, m)) != 0)
		return YIMA_ENOMEM;
	return api_ahead_ledger_note(tx, m);
}

/* The held claims, movements and balance changes, in that order. */
int
api_ahead_flush_claims(struct yima_tx *tx, struct api_ahead *a, struct yima_buf *b)
{
	size_t i;
	int64_t n;
	int rc;

	if (a->claim_rows.len > 0) {
		if ((rc = api_ahead_rows(b, &a->claim_rows)) != 0)
			return rc;
		if ((n = api_exec(tx, ROWS(tx, "INSERT INTO claims (id, serial,"
		    " campaign, consumer, network, at, scan_id, status, prize,"
		    " points, lat, lon, variant) SELECT " FIELD(0, "BIGINT") ", "
		    FIELD(1, "BIGINT") ", " FIELD(2, "BIGINT") ", j.value ->> 3,"
		    " j.value ->> 4, " FIELD(5, "BIGINT") ", " FIELD(6, "BIGINT")
		    ", j.value ->> 7, " FIELD(8, "BIGINT") ", " FIELD(9, "BIGINT")
		    ", " FIELD(10, "DOUBLE PRECISION") ", "
		    FIELD(11, "DOUBLE PRECISION") ", j.value ->> 12 FROM", ""),
		    "T", b->data)) < 0)
			return (int)n;
	}
	if (a->ledger_rows.len > 0) {
		if ((rc = api_ahead_rows(b, &a->ledger_rows)) != 0)
			return rc;
		if ((n = api_exec(tx, ROWS(tx, "INSERT INTO ledger (at, account,"
		    " kind, unit, amount, claim, ref) SELECT " FIELD(0, "BIGINT")
		    ", j.value ->> 1, j.value ->> 2, j.value ->> 3, "
		    FIELD(4, "BIGINT") ", " FIELD(5, "BIGINT") ", j.value ->> 6"
		    " FROM", ""), "T", b->data)) < 0)
			return (int)n;
	}
	if (a->nbal == 0)
		return 0;
	yima_buf_reset(b);
	rc = yima_buf_puts(b, "[");
	for (i = 0; i < a->nbal && rc == 0; i++)
		if ((rc = yima_buf_puts(b, i ? ",[" : "[")) != 0 ||
		    (rc = api_ahead_json_text(b, a->bal[i].account)) != 0 ||
		    (rc = yima_buf_puts(b, ",")) != 0 ||
		    (rc = api_ahead_json_text(b, a->bal[i].unit)) != 0)
			break;
		else
			rc = yima_buf_printf(b, ",%lld]",
			    (long long)a->bal[i].amount);
	if (rc != 0 || (rc = yima_buf_puts(b, "]")) != 0)
		return rc;
	a->nbal = 0;
	n = api_exec(tx, ROWS(tx, "INSERT INTO balances (account, unit, amount)"
	    " SELECT j.value ->> 0, j.value ->> 1, " FIELD(2, "BIGINT")
	    " FROM", "WHERE true ON CONFLICT (account, unit) DO UPDATE"
	    " SET amount = balances.amount + excluded.amount"), "T", b->data);
	return n < 0 ? (int)n : 0;
}
