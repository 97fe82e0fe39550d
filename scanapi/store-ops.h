/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store behind include/yima/store.h: its operations are SQL written
 * once (store_*.c, on the drivers of db.h); under them, an engine's
 * connections, pool, transactions and migrations (store_sqlite.c,
 * store_pg.c), whose store and transaction begin with these heads.
 */
#ifndef API_STORE_OPS_H
#define API_STORE_OPS_H

#include "yima/store.h"

struct api_db_ops;

/*
 * The operations written once in SQL both engines run (db.h), one list
 * per module: each is api_sql_<name>, which yima_tx_<name> calls.
 */
#define STORE_SQL_AUTH(X)	/* store_auth.c */ \
	X(token_create, (struct yima_tx *tx, const char *hash_hex, const char \
	    *role, const char *dealer, const char *name, int64_t *id), (tx, \
	    hash_hex, role, dealer, name, id)) \
	X(token_find, (struct yima_tx *tx, const char *hash_hex, struct \
	    yima_token *out), (tx, hash_hex, out)) \
	X(token_list, (struct yima_tx *tx, void (*fn)(void *ctx, const struct \
	    yima_token *t), void *ctx), (tx, fn, ctx)) \
	X(token_revoke, (struct yima_tx *tx, int64_t id), (tx, id)) \
	X(session_create, (struct yima_tx *tx, const char *hash_hex, int64_t \
	    token, int64_t expires), (tx, hash_hex, token, expires)) \
	X(session_find, (struct yima_tx *tx, const char *hash_hex, int64_t now, \
	    struct yima_token *out), (tx, hash_hex, now, out)) \
	X(session_delete, (struct yima_tx *tx, const char *hash_hex), (tx, \
	    hash_hex)) \
	X(scan_exists, (struct yima_tx *tx, int64_t id, int *exists), (tx, id, \
	    exists)) \
	X(scan_origin, (struct yima_tx *tx, int64_t id, int64_t at, char \
	    region[7], int *kind, uint64_t *channel), (tx, id, at, region, \
	    kind, channel)) \
	X(staff_add, (struct yima_tx *tx, const char *name, const char *hash, \
	    int64_t token), (tx, name, hash, token)) \
	X(staff_get, (struct yima_tx *tx, const char *name, struct yima_staff \
	    *out), (tx, name, out)) \
	X(staff_failed, (struct yima_tx *tx, const char *name, int failures, \
	    int64_t locked_until), (tx, name, failures, locked_until)) \
	X(staff_list, (struct yima_tx *tx, void (*fn)(void *ctx, const struct \
	    yima_staff *s), void *ctx), (tx, fn, ctx)) \
	X(staff_disable, (struct yima_tx *tx, const char *name), (tx, name))
#define STORE_SQL_CODES(X)	/* store_codes.c */ \
	X(range_find, (struct yima_tx *tx, uint64_t serial, int kind, struct \
	    yima_range *out), (tx, serial, kind, out)) \
	X(revoked, (struct yima_tx *tx, uint64_t serial, char *reason, size_t \
	    reasonlen), (tx, serial, reason, reasonlen)) \
	X(state_get, (struct yima_tx *tx, uint64_t serial, struct \
	    yima_code_state *out), (tx, serial, out)) \
	X(state_put, (struct yima_tx *tx, uint64_t serial, const struct \
	    yima_code_state *s), (tx, serial, s)) \
	X(recent, (struct yima_tx *tx, uint64_t serial, int64_t since, const \
	    char *consumer, uint64_t *scans, uint64_t *consumers), (tx, serial, \
	    since, consumer, scans, consumers)) \
	X(scan_insert, (struct yima_tx *tx, const struct yima_scan_row *r, \
	    int64_t *id), (tx, r, id)) \
	X(batch_import, (struct yima_tx *tx, const struct yima_manifest *m, \
	    const char *hmac, int *created), (tx, m, hmac, created)) \
	X(revoke, (struct yima_tx *tx, uint64_t first, uint64_t last, const \
	    char *reason), (tx, first, last, reason)) \
	X(batch_ranges, (struct yima_tx *tx, const char *batch, struct \
	    yima_range *out, size_t max, size_t *n), (tx, batch, out, max, n)) \
	X(batch_list, (struct yima_tx *tx, const char *batch, size_t max, \
	    void (*fn)(void *ctx, const struct yima_batch_info *b), void *ctx), \
	    (tx, batch, max, fn, ctx)) \
	/* store_batch.c */ \
	X(scans_ahead, (struct yima_tx *tx, const struct yima_scan_ahead *a), \
	    (tx, a)) \
	X(claims_ahead, (struct yima_tx *tx, const struct yima_claims_ahead \
	    *a), (tx, a))
#define STORE_SQL_CHAIN(X)	/* store_chain.c */ \
	X(dealer_create, (struct yima_tx *tx, const struct yima_dealer *d), \
	    (tx, d)) \
	X(dealer_update, (struct yima_tx *tx, const struct yima_dealer *d), \
	    (tx, d)) \
	X(dealer_get, (struct yima_tx *tx, const char *id, struct yima_dealer \
	    *out), (tx, id, out)) \
	X(dealer_list, (struct yima_tx *tx, void (*fn)(void *ctx, const struct \
	    yima_dealer *d), void *ctx), (tx, fn, ctx)) \
	X(dealer_under, (struct yima_tx *tx, const char *root, const char *id, \
	    int *under), (tx, root, id, under)) \
	X(territory_set, (struct yima_tx *tx, const char *dealer, const char \
	    *const *regions, size_t n), (tx, dealer, regions, n)) \
	X(territory_of, (struct yima_tx *tx, const char *dealer, char \
	    (*regions)[7], size_t max, size_t *n, char *from), (tx, dealer, \
	    regions, max, n, from)) \
	X(pack_parent, (struct yima_tx *tx, uint64_t child, uint64_t *parent), \
	    (tx, child, parent)) \
	X(pack_add, (struct yima_tx *tx, uint64_t parent, uint64_t first, \
	    uint64_t last, int64_t at), (tx, parent, first, last, at)) \
	X(pack_children, (struct yima_tx *tx, uint64_t parent, struct yima_span \
	    *out, size_t max, size_t *n), (tx, parent, out, max, n)) \
	X(unpack, (struct yima_tx *tx, uint64_t parent, int64_t at, int *rows), \
	    (tx, parent, at, rows)) \
	X(ship, (struct yima_tx *tx, uint64_t first, uint64_t last, const char \
	    *dealer, const char *ref, int64_t at), (tx, first, last, dealer, \
	    ref, at)) \
	X(owner, (struct yima_tx *tx, uint64_t serial, char *dealer), (tx, \
	    serial, dealer)) \
	X(shipped_to, (struct yima_tx *tx, uint64_t serial, const char \
	    *dealer, int *yes), (tx, serial, dealer, yes)) \
	X(receipt_add, (struct yima_tx *tx, const struct yima_receipt *r, \
	    int64_t *id), (tx, r, id)) \
	X(diversion_add, (struct yima_tx *tx, const struct yima_diversion *d), \
	    (tx, d)) \
	X(diversion_list, (struct yima_tx *tx, const char *root, int64_t from, \
	    int64_t to, int limit, void (*fn)(void *ctx, const struct \
	    yima_diversion *d), void *ctx), (tx, root, from, to, limit, fn, \
	    ctx)) \
	X(diversion_counts, (struct yima_tx *tx, const char *root, int64_t \
	    from, int64_t to, void (*fn)(void *ctx, const struct yima_diversion \
	    *d, int64_t n), void *ctx), (tx, root, from, to, fn, ctx)) \
	X(channel_bind, (struct yima_tx *tx, uint64_t serial, const struct \
	    yima_channel *c), (tx, serial, c)) \
	X(channel_get, (struct yima_tx *tx, uint64_t serial, struct \
	    yima_channel *out), (tx, serial, out)) \
	X(consumer_channel_set, (struct yima_tx *tx, const char *consumer, \
	    uint64_t channel, int64_t until), (tx, consumer, channel, until)) \
	X(consumer_channel_get, (struct yima_tx *tx, const char *consumer, \
	    int64_t now, uint64_t *channel), (tx, consumer, now, channel)) \
	X(item_of_inner, (struct yima_tx *tx, const char *batch, uint64_t \
	    inner, uint64_t *item), (tx, batch, inner, item)) \
	X(history, (struct yima_tx *tx, uint64_t serial, void (*fn)(void *ctx, \
	    const struct yima_event *e), void *ctx), (tx, serial, fn, ctx)) \
	X(freeze_set, (struct yima_tx *tx, const char *kind, const char *id, \
	    int frozen, const char *reason), (tx, kind, id, frozen, reason)) \
	X(frozen, (struct yima_tx *tx, const char *consumer, const char *batch, \
	    int *frozen), (tx, consumer, batch, frozen))
#define STORE_SQL_REWARD(X)	/* store_reward.c */ \
	X(campaign_create, (struct yima_tx *tx, struct yima_campaign *c, const \
	    char *body), (tx, c, body)) \
	X(campaign_get, (struct yima_tx *tx, int64_t id, struct yima_campaign \
	    *out), (tx, id, out)) \
	X(campaign_list, (struct yima_tx *tx, int64_t active_at, void \
	    (*fn)(void *ctx, const struct yima_campaign *c), void *ctx), (tx, \
	    active_at, fn, ctx)) \
	X(campaign_set_status, (struct yima_tx *tx, int64_t id, const char \
	    *status), (tx, id, status)) \
	X(campaign_gen, (struct yima_tx *tx, int64_t *gen), (tx, gen)) \
	X(prize_award, (struct yima_tx *tx, int64_t prize, int64_t campaign, \
	    int64_t day, int64_t cents), (tx, prize, campaign, day, cents)) \
	X(claim_add, (struct yima_tx *tx, const struct yima_claim *c, int64_t \
	    *id), (tx, c, id)) \
	X(claim_counts, (struct yima_tx *tx, int64_t campaign, const char \
	    *consumer, const char *network, int64_t day_from, int64_t \
	    hour_from, const struct yima_claim_counts *upto, struct \
	    yima_claim_counts *out), (tx, campaign, consumer, network, \
	    day_from, hour_from, upto, out)) \
	X(claim_get, (struct yima_tx *tx, int64_t id, struct yima_claim *out), \
	    (tx, id, out)) \
	X(claim_review, (struct yima_tx *tx, int64_t id, const char *status, \
	    int64_t points, const char *reason, const char *reviewer, int64_t \
	    at), (tx, id, status, points, reason, reviewer, at)) \
	X(claim_last, (struct yima_tx *tx, const char *consumer, struct \
	    yima_claim *out), (tx, consumer, out)) \
	X(claim_list, (struct yima_tx *tx, const char *status, int limit, void \
	    (*fn)(void *ctx, const struct yima_claim *c), void *ctx), (tx, \
	    status, limit, fn, ctx)) \
	X(ledger_add, (struct yima_tx *tx, const struct yima_movement *m, int \
	    floor0, int64_t *balance), (tx, m, floor0, balance)) \
	X(balance, (struct yima_tx *tx, const char *account, const char *unit, \
	    int64_t *amount), (tx, account, unit, amount)) \
	X(growth, (struct yima_tx *tx, const char *account, int64_t since, \
	    int64_t until, int64_t *growth), (tx, account, since, until, \
	    growth)) \
	X(ledger_list, (struct yima_tx *tx, const char *account, int limit, \
	    void (*fn)(void *ctx, const struct yima_movement *m), void *ctx), \
	    (tx, account, limit, fn, ctx)) \
	X(ledger_check, (struct yima_tx *tx, void (*fn)(void *ctx, const char \
	    *problem), void *ctx, int64_t *rows, int64_t *problems), (tx, fn, \
	    ctx, rows, problems)) \
	X(voucher_add, (struct yima_tx *tx, const struct yima_voucher *v), (tx, \
	    v)) \
	X(voucher_redeem, (struct yima_tx *tx, const char *id, const char \
	    *store, int64_t at, struct yima_voucher *out), (tx, id, store, at, \
	    out)) \
	X(payout_add, (struct yima_tx *tx, const struct yima_payout *p, int64_t \
	    *id), (tx, p, id)) \
	X(payout_list, (struct yima_tx *tx, int paid, void (*fn)(void *ctx, \
	    const struct yima_payout *p), void *ctx), (tx, paid, fn, ctx)) \
	X(payout_mark_paid, (struct yima_tx *tx, int64_t id, int64_t at, struct \
	    yima_payout *out), (tx, id, at, out)) \
	X(item_create, (struct yima_tx *tx, struct yima_item *it), (tx, it)) \
	X(item_get, (struct yima_tx *tx, int64_t id, struct yima_item *out), \
	    (tx, id, out)) \
	X(item_list, (struct yima_tx *tx, void (*fn)(void *ctx, const struct \
	    yima_item *it), void *ctx), (tx, fn, ctx)) \
	X(redemption_find, (struct yima_tx *tx, const char *consumer, const \
	    char *key, struct yima_redemption *out), (tx, consumer, key, out)) \
	X(redemption_add, (struct yima_tx *tx, struct yima_redemption *r), (tx, \
	    r)) \
	X(consumer_claims, (struct yima_tx *tx, const char *consumer, int \
	    limit, void (*fn)(void *ctx, const struct yima_claim *c), void \
	    *ctx), (tx, consumer, limit, fn, ctx))
#define STORE_SQL_REPORT(X)	/* store_report.c */ \
	X(rollup_sketch, (struct yima_tx *tx, const struct yima_rollup_row \
	    *r, void *out, size_t max, size_t *len), (tx, r, out, max, len)) \
	X(rollup_put, (struct yima_tx *tx, const struct yima_rollup_row *r), \
	    (tx, r)) \
	X(rollup_rows, (struct yima_tx *tx, const struct yima_report_q *q, \
	    const char *table, int (*fn)(void *ctx, const struct \
	    yima_rollup_row *r), void *ctx), (tx, q, table, fn, ctx)) \
	X(last_scan, (struct yima_tx *tx, int64_t *id), (tx, id)) \
	X(channel_trend, (struct yima_tx *tx, const char *root, int64_t from, \
	    int64_t to, int64_t days, void (*fn)(void *ctx, const struct \
	    yima_channel *c, int64_t cur, int64_t prev), void *ctx), (tx, root, \
	    from, to, days, fn, ctx)) \
	X(rollup_channel, (struct yima_tx *tx, int64_t day, uint64_t channel), \
	    (tx, day, channel))
#define STORE_SQL_PRIVACY(X)	/* store_privacy.c */ \
	X(coarsen, (struct yima_tx *tx, int64_t before, int max, int *n), (tx, \
	    before, max, n)) \
	X(consumers_drop, (struct yima_tx *tx, int64_t before, int max, int \
	    *n), (tx, before, max, n)) \
	X(consumers_erased, (struct yima_tx *tx, const char (*hash)[65], \
	    size_t n, int *erased), (tx, hash, n, erased)) \
	X(consumer_erase, (struct yima_tx *tx, const char *consumer, const \
	    char *hash, const char *pseudonym, int64_t at, struct yima_erasure \
	    *out), (tx, consumer, hash, pseudonym, at, out)) \
	X(consumer_scans, (struct yima_tx *tx, const char *consumer, int \
	    limit, void (*fn)(void *ctx, const struct yima_scan_row *r), void \
	    *ctx), (tx, consumer, limit, fn, ctx))
#define STORE_SQL_PRODUCT(X)	/* store_product.c */ \
	X(product_put, (struct yima_tx *tx, const struct yima_product *p, int \
	    *created), (tx, p, created)) \
	X(product_get, (struct yima_tx *tx, const char *gtin, struct \
	    yima_product *out), (tx, gtin, out)) \
	X(product_list, (struct yima_tx *tx, void (*fn)(void *ctx, const \
	    struct yima_product *p), void *ctx), (tx, fn, ctx)) \
	X(product_delete, (struct yima_tx *tx, const char *gtin), (tx, gtin))
#define STORE_SQL_EPCIS(X)	/* store_epcis.c */ \
	X(epcis_add, (struct yima_tx *tx, const struct yima_epcis_row *e), \
	    (tx, e)) \
	X(epcis_list, (struct yima_tx *tx, const struct yima_epcis_filter *f, \
	    void (*fn)(void *ctx, const struct yima_epcis_row *e), void *ctx), \
	    (tx, f, fn, ctx)) \
	X(epc_range, (struct yima_tx *tx, uint64_t serial, struct \
	    yima_epc_range *out), (tx, serial, out)) \
	X(ranges_in, (struct yima_tx *tx, uint64_t first, uint64_t last, void \
	    (*fn)(void *ctx, const struct yima_range *r), void *ctx), (tx, \
	    first, last, fn, ctx)) \
	X(brand_domain, (struct yima_tx *tx, char *out, size_t len), (tx, out, \
	    len)) \
	X(outbox_enable, (struct yima_tx *tx), (tx)) \
	X(outbox_disable, (struct yima_tx *tx, int64_t *dropped), (tx, \
	    dropped)) \
	X(outbox_take, (struct yima_tx *tx, int max, void (*fn)(void *ctx, \
	    int64_t id, const struct yima_epcis_row *e), void *ctx), (tx, max, \
	    fn, ctx)) \
	X(outbox_done, (struct yima_tx *tx, const int64_t *ids, size_t n), \
	    (tx, ids, n)) \
	X(outbox_expire, (struct yima_tx *tx, int64_t before, int64_t *n), \
	    (tx, before, n)) \
	X(outbox_stats, (struct yima_tx *tx, int64_t *depth, int64_t \
	    *oldest_at), (tx, depth, oldest_at)) \
	X(capture_put, (struct yima_tx *tx, const struct yima_capture *c), \
	    (tx, c)) \
	X(capture_get, (struct yima_tx *tx, const char *id, struct \
	    yima_capture *out), (tx, id, out))
#define STORE_SQL_AUDIENCE(X)	/* store_audience.c */ \
	X(ab_expose, (struct yima_tx *tx, int64_t campaign, const char \
	    *consumer, int arm, uint64_t item, int64_t at, int genuine, int \
	    *out), (tx, campaign, consumer, arm, item, at, genuine, out)) \
	X(ab_claim, (struct yima_tx *tx, int64_t campaign, const char \
	    *consumer, int arm, int64_t cents, int64_t points, int64_t at), \
	    (tx, campaign, consumer, arm, cents, points, at)) \
	X(ab_arms, (struct yima_tx *tx, int64_t campaign, void (*fn)(void \
	    *ctx, const struct yima_ab_arm *a), void *ctx), (tx, campaign, fn, \
	    ctx)) \
	X(funnel_scan, (struct yima_tx *tx, uint64_t channel, const char \
	    *consumer, int64_t day), (tx, channel, consumer, day)) \
	X(funnel_buy, (struct yima_tx *tx, uint64_t channel, const char \
	    *consumer, uint64_t item, int64_t at, int claimed, int64_t \
	    commission, int64_t day), (tx, channel, consumer, item, at, \
	    claimed, commission, day)) \
	X(funnel_rows, (struct yima_tx *tx, const char *root, const char \
	    *type, int64_t from, int64_t to, void (*fn)(void *ctx, const \
	    struct yima_funnel_row *r), void *ctx), (tx, root, type, from, to, \
	    fn, ctx)) \
	X(segment_get, (struct yima_tx *tx, const char *consumer, struct \
	    yima_segment *out), (tx, consumer, out)) \
	X(segment_put, (struct yima_tx *tx, const struct yima_segment *s, \
	    const struct yima_segment *was, int *changed), (tx, s, was, \
	    changed)) \
	X(segment_count, (struct yima_tx *tx, const char *region, const char \
	    *stage, const char *tier, int64_t delta), (tx, region, stage, \
	    tier, delta)) \
	X(segment_move, (struct yima_tx *tx, int64_t month, const char \
	    *region, const char *src, const char *dst, int64_t n), (tx, month, \
	    region, src, dst, n)) \
	X(segment_due, (struct yima_tx *tx, int64_t now, int max, void \
	    (*fn)(void *ctx, const struct yima_segment *s), void *ctx), (tx, \
	    now, max, fn, ctx)) \
	X(segment_counts, (struct yima_tx *tx, const char *prefix, void \
	    (*fn)(void *ctx, const char *region, const char *stage, const char \
	    *tier, int64_t n), void *ctx), (tx, prefix, fn, ctx)) \
	X(segment_moves, (struct yima_tx *tx, const char *prefix, int64_t \
	    from_month, void (*fn)(void *ctx, int64_t month, const char \
	    *region, const char *src, const char *dst, int64_t n), void *ctx), \
	    (tx, prefix, from_month, fn, ctx)) \
	X(consumer_audience, (struct yima_tx *tx, const char *consumer, void \
	    (*fn)(void *ctx, const char *kind, int64_t id, int64_t n, int64_t \
	    at), void *ctx), (tx, consumer, fn, ctx)) \
	X(audience_drop, (struct yima_tx *tx, int64_t before, int max, int \
	    *most), (tx, before, max, most)) \
	X(segment_list, (struct yima_tx *tx, const char *stage, const char \
	    *prefix, const char *after, int limit, void (*fn)(void *ctx, const \
	    struct yima_segment *s), void *ctx), (tx, stage, prefix, after, \
	    limit, fn, ctx))
#define STORE_SQL_OPS(X) STORE_SQL_AUTH(X) STORE_SQL_CODES(X) \
	STORE_SQL_CHAIN(X) STORE_SQL_REWARD(X) STORE_SQL_REPORT(X) \
	STORE_SQL_PRIVACY(X) STORE_SQL_PRODUCT(X) STORE_SQL_EPCIS(X) \
	STORE_SQL_AUDIENCE(X)

#define STORE_SQL_DECL(name, params, args) int api_sql_##name params;
STORE_SQL_OPS(STORE_SQL_DECL)
#undef STORE_SQL_DECL

struct yima_store_ops {
	const char	*name;		/* "sqlite", "postgresql" */
	int		 batch_max;	/* scans a write transaction holds */
	void		(*close)(struct yima_store *st);
	int		(*schema_version)(struct yima_store *st);
	int		(*begin)(struct yima_store *st, int write,
			    int64_t queue, struct yima_tx **tx);
	int		(*commit)(struct yima_tx *tx);
	void		(*rollback)(struct yima_tx *tx);
};

/* The heads: a back-end's own structs start with these. */
struct yima_store {
	const struct yima_store_ops *ops;
	int		 writers;	/* write transactions at once */
	int		 node;		/* the node number it serves as */
};

/*
 * What a transaction read of one code and has not written since: its
 * range comes with its revocation and state in one statement, which a
 * scan asks for next (store_codes.c).
 */
struct api_code_memo {
	int		 valid;
	uint64_t	 serial;
	uint64_t	 writes;	/* the transaction's when read */
	int		 revoked;
	char		 reason[256];
	int		 has_state;
	struct yima_code_state state;
	/* The campaigns' generation, asked at every genuine scan: read once
	 * a transaction, forgotten when it changes a campaign. */
	int		 gen_known;
	int64_t		 gen;
};

struct yima_tx {
	const struct yima_store_ops *ops;
	const struct api_db_ops *db;	/* its connection's driver (db.h) */
	void		*conn;
	uint64_t	 writes;	/* statements but SELECTs run in it */
	struct api_code_memo memo;
	struct api_ahead *ahead;	/* a scan batch's (store_batch.c) */
	int64_t		 node;		/* the writer's own rollup rows */
	/* Writes to come at commit (yima_tx_later), and their data. */
	int		(*before_commit[YIMA_LATERS])(struct yima_tx *tx);
	void		(*end[YIMA_LATERS])(struct yima_tx *tx);
	void		*later[YIMA_LATERS];
};

/*
 * A scan batch read ahead (store_batch.c): each answers as the store
 * operation it stands for would, or API_AHEAD_NO when it was not read
 * ahead; a write is held, and api_ahead_flush writes what is held (the
 * drivers call it before any other statement, the commit before it
 * commits).
 */
#define API_AHEAD_NO	2
int api_ahead_range(struct yima_tx *tx, uint64_t serial, int kind,
    struct yima_range *out);
int api_ahead_revoked(struct yima_tx *tx, uint64_t serial, char *reason,
    size_t reasonlen);
int api_ahead_state(struct yima_tx *tx, uint64_t serial,
    struct yima_code_state *out);
int api_ahead_owner(struct yima_tx *tx, uint64_t serial, char *dealer);
int api_ahead_item_of_inner(struct yima_tx *tx, const char *batch,
    uint64_t inner, uint64_t *item);
int api_ahead_channel(struct yima_tx *tx, uint64_t serial,
    struct yima_channel *out);
int api_ahead_consumer_channel(struct yima_tx *tx, const char *consumer,
    int64_t now, uint64_t *channel);
void api_ahead_consumer_set(struct yima_tx *tx, const char *consumer,
    uint64_t channel, int64_t until);
int api_ahead_state_put(struct yima_tx *tx, uint64_t serial,
    const struct yima_code_state *s);
int api_ahead_scan(struct yima_tx *tx, const struct yima_scan_row *r,
    int64_t *id);
int api_ahead_frozen(struct yima_tx *tx, const char *consumer,
    const char *batch, int *frozen);
int api_ahead_claim_last(struct yima_tx *tx, const char *consumer,
    struct yima_claim *out);
int api_ahead_points(struct yima_tx *tx, const char *account,
    const char *unit, int64_t *amount);
int api_ahead_growth(struct yima_tx *tx, const char *account, int64_t since,
    int64_t until, int64_t *growth);
/* A claim or a movement: held (0), or API_AHEAD_NO, and then, once
 * written, noted so that the answers above have it. */
int api_ahead_claim_add(struct yima_tx *tx, const struct yima_claim *c,
    int64_t *id);
void api_ahead_claim_note(struct yima_tx *tx, const struct yima_claim *c,
    int64_t id);
int api_ahead_ledger_add(struct yima_tx *tx, const struct yima_movement *m);
int api_ahead_ledger_note(struct yima_tx *tx, const struct yima_movement *m);
int api_ahead_flush(struct yima_tx *tx);
void api_ahead_free(struct yima_tx *tx);

struct api_dbq;
/* A claim of CLAIM_COLS (id, serial, campaign, at, status, lat, lon). */
void api_claim_row(struct api_dbq *q, struct yima_claim *c);

/*
 * A campaign's scope lists are stored as one comma-separated text: n
 * fixed-size strings (stride bytes apart) joined into out (len bytes),
 * and split back, at most max.
 */
void api_scope_join(char *out, size_t len, const char *base, size_t stride,
    size_t n);
size_t api_scope_split(const char *list, char *base, size_t stride,
    size_t max);

/*
 * The calling thread's last error text, which yima_store_errmsg() gives
 * (a store is shared by threads; each failure is its own thread's).
 */
#define API_STORE_ERR_MAX	512
extern _Thread_local char api_store_err[API_STORE_ERR_MAX];
/* Sets it, up to the first line break. */
void api_store_seterr(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Now, in ms since 1970 (UTC): what the back-ends stamp rows with. */
int64_t api_store_now_ms(void);

/* The back-ends' openers, for yima_store_open. */
int api_sqlite_open(const char *path, const struct yima_store_opts *opts,
    struct yima_store **out, char *why);
int api_pg_open(const char *url, const struct yima_store_opts *opts,
    struct yima_store **out, char *why);

#endif /* API_STORE_OPS_H */
