/* SPDX-License-Identifier: Apache-2.0 */
/* The storage interface: the only way the service touches data. */
#ifndef YIMA_STORE_H
#define YIMA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "yima/code.h"
#include "yima/manifest.h"

/*
 * A store is opened from a target (a file path selects SQLite). All work
 * happens in transactions: a write transaction (one at a time; callers
 * block until it is theirs) or a read transaction (many at once, each on
 * its own connection). Every function returns 0 or a negative yima_err;
 * yima_store_errmsg() says more about the last failure on that store.
 * No back-end type or call appears here.
 */
struct yima_store;
struct yima_tx;

enum yima_sync {
	YIMA_SYNC_NORMAL = 0,	/* durable across a process crash */
	YIMA_SYNC_FULL		/* durable across power loss too */
};

struct yima_store_opts {
	enum yima_sync	sync;
	int		readers;	/* read connections (1-64) */
	int		node;		/* PostgreSQL: this node's rollup rows
					   (0-999; nodes on one database each
					   their own, or they contend); -1
					   when serving: the lowest free one */
	int		writers;	/* PostgreSQL: write transactions at
					   once (1-16); SQLite has one */
	int		serving;	/* PostgreSQL: hold node while open; a
					   second store serving it is refused */
};

/* Verdicts, as stored (numbers are part of the schema). */
enum yima_verdict {
	YIMA_V_GENUINE = 1,
	YIMA_V_REPEAT,
	YIMA_V_SUSPECT,
	YIMA_V_REVOKED,
	YIMA_V_UNREGISTERED,
	YIMA_V_INVALID,
	YIMA_V_CHANNEL
};

/* "genuine", "repeat", ... or NULL. */
const char *yima_verdict_name(int v);

/* A registered serial range and the product it belongs to. */
struct yima_range {
	char		batch[33];
	enum yima_kind	kind;
	uint64_t	first, last;	/* inclusive */
	char		gtin[YIMA_GTIN_LEN + 1];
	char		lot[YIMA_LOT_MAX + 1];
	char		mfg[11];
	char		expiry[11];
};

/* What is known about a scanned serial. */
struct yima_code_state {
	uint64_t	scans;
	int64_t		first_at;	/* ms since the epoch */
	int		first_located;
	double		first_lat, first_lon;
	int		last_located;	/* the most recent located scan */
	int64_t		last_loc_at;
	double		last_lat, last_lon;
};

/* One scan as recorded. Text fields may be NULL. */
struct yima_scan_row {
	int64_t		at;		/* ms since the epoch */
	int		has_serial;
	uint64_t	serial;
	int		kind;		/* 0 when invalid */
	enum yima_verdict verdict;
	int		located;
	double		lat, lon, accuracy;	/* accuracy < 0: unknown */
	const char	*consumer;
	const char	*client;	/* client address */
	const char	*code;		/* raw text, only for invalid scans */
	char		 region[7];	/* GB/T 2260 code, "" when unknown */
	int		 near_border;	/* region uncertain: near a boundary */
	uint64_t	 channel;	/* attributed channel serial, 0 none */
};

struct yima_token {
	int64_t		id;
	char		role[16];	/* admin, ops, dealer */
	char		dealer[65];	/* "" unless role is dealer */
	char		name[129];
	int64_t		created_at;	/* ms */
	int64_t		revoked_at;	/* 0: active */
};

/*
 * Opens (creating if needed) and migrates the store at target. why
 * (YIMA_WHY_MAX) explains a failure. Free with yima_store_close().
 */
int yima_store_open(const char *target, const struct yima_store_opts *opts,
    struct yima_store **out, char *why);
/*
 * The most scans one write transaction should hold: PostgreSQL's
 * serializable checks see false conflicts between nodes' large batches.
 */
int yima_store_batch_max(struct yima_store *st);
/* Write transactions that may run at once (SQLite: 1). */
int yima_store_writers(struct yima_store *st);
/* Statements the process's stores have run (for /metrics). */
uint64_t yima_store_statements_total(void);
/* The node number a serving store holds (PostgreSQL; SQLite: 0). */
int yima_store_node(struct yima_store *st);
/* 1 when target names a PostgreSQL database (postgresql:// or postgres://). */
int yima_store_is_pg(const char *target);
void yima_store_close(struct yima_store *st);
/* The schema version after migrations. */
int yima_store_schema_version(struct yima_store *st);
/* The last error text of st: borrowed, valid until the next call. */
const char *yima_store_errmsg(struct yima_store *st);
/*
 * Conflicts (YIMA_EBUSY: another writer, on another node, changed what a
 * transaction read) this thread has met, counted like errno: a caller
 * that turned one into an error can tell, and run its work again. Only
 * PostgreSQL has them.
 */
unsigned long yima_store_conflicts(void);
/* Conflicts met by every thread of this process so far. */
uint64_t yima_store_conflicts_total(void);
/* Waits before run n (1, 2, ...) after a conflict: at random, up to a
 * bound that doubles each time (1 ms, 2 ms, ... 32 ms). */
void yima_store_conflict_wait(int n);

#define YIMA_STORE_RERUNS	20	/* runs again after conflicts, at most */
/*
 * Runs fn(ctx), which begins, writes and commits (or rolls back) one
 * transaction, and runs it again while it answers YIMA_EBUSY (a conflict:
 * it kept nothing), up to YIMA_STORE_RERUNS more times, after
 * yima_store_conflict_wait. Returns fn's last answer.
 */
int yima_store_rerun(int (*fn)(void *ctx), void *ctx);
/*
 * Coarsens up to max scans placed before `before` (yima_tx_coarsen) in a
 * transaction of its own, run again after conflicts; *n gets how many.
 */
int yima_store_coarsen(struct yima_store *st, int64_t before, int max,
    int *n);
/*
 * Drops the consumer ids of up to max scans recorded before `before`
 * (yima_tx_consumers_drop) in the same way; *n gets how many.
 */
int yima_store_consumers_drop(struct yima_store *st, int64_t before,
    int max, int *n);
/*
 * Forgets a batch of the audience past retention (yima_tx_audience_drop)
 * in the same way; *n gets the most forgotten of one kind (max: again).
 */
int yima_store_audience_drop(struct yima_store *st, int64_t before, int max,
    int *n);

/* Begins a transaction; write != 0 takes a writer (SQLite has one). */
int yima_tx_begin(struct yima_store *st, int write, struct yima_tx **tx);
/*
 * Begins a write that meets others on one busy row (the campaigns'
 * settings, say): it waits its turn behind every other write in the same
 * queue, on any node, instead of conflicting with them (queue > 0; a
 * PostgreSQL session lock, taken before the transaction's snapshot).
 */
#define YIMA_QUEUE_CAMPAIGNS	1
#define YIMA_QUEUE_BATCHES	2	/* scan batches */
int yima_tx_begin_queued(struct yima_store *st, int64_t queue,
    struct yima_tx **tx);
/* Commits and frees tx (durable per the store's sync mode on return). */
int yima_tx_commit(struct yima_tx *tx);
/* Rolls back and frees tx; NULL is a no-op. */
void yima_tx_rollback(struct yima_tx *tx);

/* The range holding serial with this kind, or YIMA_ENOENT. */
int yima_tx_range_find(struct yima_tx *tx, uint64_t serial, int kind,
    struct yima_range *out);
/* 1 and the reason (may be NULL) if serial is revoked, else 0. */
int yima_tx_revoked(struct yima_tx *tx, uint64_t serial, char *reason,
    size_t reasonlen);
/* The state of serial, or YIMA_ENOENT if it was never scanned. */
int yima_tx_state_get(struct yima_tx *tx, uint64_t serial,
    struct yima_code_state *out);
/* Writes the state of serial (insert or replace). Write tx only. */
int yima_tx_state_put(struct yima_tx *tx, uint64_t serial,
    const struct yima_code_state *s);
/*
 * Scans of serial recorded at or after since (ms): how many, and how many
 * distinct consumers they and consumer (may be NULL: the scan being
 * decided) make together.
 */
int yima_tx_recent(struct yima_tx *tx, uint64_t serial, int64_t since,
    const char *consumer, uint64_t *scans, uint64_t *consumers);
/* Records a scan; *id gets its unique, increasing id. Write tx only. */
int yima_tx_scan_insert(struct yima_tx *tx, const struct yima_scan_row *r,
    int64_t *id);

/*
 * A batch of scans this write transaction is about to record: its codes'
 * facts (range, revocation, state, channel, owner), its consumers'
 * channel attributions and ids for its scan rows are read now, in one
 * statement each; the operations above then answer its scans from them,
 * and the code states and scan rows they write go in together, one
 * statement per table, before the transaction's next other statement or
 * at its commit. Only for a transaction that records scans: what was
 * read holds until it ends (it must not revoke, pack or bind a channel).
 */
struct yima_scan_ahead {
	const uint64_t	*serials;	/* the batch's verified codes */
	size_t		 nserials;
	const char *const *consumers;	/* the batch's consumer ids */
	size_t		 nconsumers;
	size_t		 scans;		/* scan rows it will record */
};
int yima_tx_scans_ahead(struct yima_tx *tx, const struct yima_scan_ahead *a);
/*
 * The claims such a batch may make, after yima_tx_scans_ahead: its
 * consumers' freezes (and every batch's), last located claims, points
 * balances and growth over a window are read in one statement each, and
 * (PostgreSQL) ids for its claims; claims and credits to the ledger are
 * then held like the scans. Growth is answered exactly for a window from
 * [growth_from, growth_core_from] to [growth_core_to, growth_to]. A held
 * claim's unique serial is checked when it goes in: a batch claims only
 * codes it saw first, so it never is a duplicate.
 */
struct yima_claims_ahead {
	const char *const *consumers;	/* of the scans that may claim */
	size_t		 nconsumers;
	size_t		 claims;	/* at most */
	int64_t		 growth_from, growth_core_from;
	int64_t		 growth_core_to, growth_to;
};
int yima_tx_claims_ahead(struct yima_tx *tx,
    const struct yima_claims_ahead *a);

/*
 * Imports a verified manifest (write tx). *created is 1 when new, 0 when
 * the same manifest was imported before. YIMA_EEXIST when the batch id
 * or a serial range conflicts with another batch.
 */
int yima_tx_batch_import(struct yima_tx *tx, const struct yima_manifest *m,
    const char *hmac, int *created);
/* Revokes first..last (write tx); reason may be NULL. */
int yima_tx_revoke(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *reason);
/* A batch as imported, for lists. */
struct yima_batch_info {
	struct yima_manifest	m;	/* its fields (no codes_sha256, hmac) */
	int64_t			imported_at;	/* ms */
	int			revoked;	/* some of its codes are */
};

/*
 * Batches, newest first, at most max: batch NULL lists all, else only
 * that one (YIMA_ENOENT if unknown). fn is called for each.
 */
int yima_tx_batch_list(struct yima_tx *tx, const char *batch, size_t max,
    void (*fn)(void *ctx, const struct yima_batch_info *b), void *ctx);
/* The serial ranges of a batch, for revocation; YIMA_ENOENT if unknown. */
int yima_tx_batch_ranges(struct yima_tx *tx, const char *batch,
    struct yima_range *out, size_t max, size_t *n);

/* Stores a token's SHA-256 (hex); *id gets its id. Write tx. */
int yima_tx_token_create(struct yima_tx *tx, const char *hash_hex,
    const char *role, const char *dealer, const char *name, int64_t *id);
/* Finds an active token by hash, or YIMA_ENOENT. */
int yima_tx_token_find(struct yima_tx *tx, const char *hash_hex,
    struct yima_token *out);
/* Calls fn for every token, oldest first. */
int yima_tx_token_list(struct yima_tx *tx,
    void (*fn)(void *ctx, const struct yima_token *t), void *ctx);
/* Revokes token id; YIMA_ENOENT if there is no such active token. */
int yima_tx_token_revoke(struct yima_tx *tx, int64_t id);

/* A staff account: a name, its password's hash, the token it acts as. */
struct yima_staff {
	char		name[65];
	char		hash[160];	/* argon2id, libsodium's string */
	struct yima_token token;	/* its role and dealer */
	int		failures;	/* logins failed in a row */
	int64_t		locked_until;	/* ms; 0 not locked */
	int64_t		created_at, disabled_at;	/* disabled 0: active */
};

/* Adds an account acting as token; YIMA_EEXIST if the name is taken. */
int yima_tx_staff_add(struct yima_tx *tx, const char *name,
    const char *hash, int64_t token);
/* The account of name (disabled too), or YIMA_ENOENT. */
int yima_tx_staff_get(struct yima_tx *tx, const char *name,
    struct yima_staff *out);
/* Records a login's outcome: failures in a row and the lock. */
int yima_tx_staff_failed(struct yima_tx *tx, const char *name, int failures,
    int64_t locked_until);
int yima_tx_staff_list(struct yima_tx *tx,
    void (*fn)(void *ctx, const struct yima_staff *s), void *ctx);
/* Disables an account and revokes its token; YIMA_ENOENT if none active. */
int yima_tx_staff_disable(struct yima_tx *tx, const char *name);

/* A dashboard session (its secret's SHA-256) for token until expires. */
int yima_tx_session_create(struct yima_tx *tx, const char *hash_hex,
    int64_t token, int64_t expires);
/* The active token of an unexpired session, or YIMA_ENOENT. */
int yima_tx_session_find(struct yima_tx *tx, const char *hash_hex,
    int64_t now, struct yima_token *out);
int yima_tx_session_delete(struct yima_tx *tx, const char *hash_hex);

/* ---- the supply chain ---- */

#define YIMA_DEALER_ID_MAX	64
#define YIMA_TERRITORY_MAX	1000	/* regions in one territory */

struct yima_dealer {
	char	id[YIMA_DEALER_ID_MAX + 1];
	char	name[129];
	char	parent[YIMA_DEALER_ID_MAX + 1];	/* "" at the top */
	char	type[16];	/* distributor, dealer, store */
	char	gln[14];	/* GS1 Global Location Number, or "" */
};

struct yima_span {
	uint64_t	first, last;	/* inclusive */
};

struct yima_receipt {
	uint64_t	serial;
	char		dealer[YIMA_DEALER_ID_MAX + 1];
	const char	*kind;		/* receive, open */
	int64_t		at;
	int		located;
	double		lat, lon;
	char		region[7];
	int		near_border;
};

struct yima_diversion {
	int64_t		scan_id;	/* 0 when from a receipt */
	int64_t		receipt_id;	/* 0 when from a scan */
	int64_t		at;
	uint64_t	serial;
	char		owner[YIMA_DEALER_ID_MAX + 1];
	char		region[7];
	char		evidence[12];	/* consumer, store, unverified */
	int		uncertain;	/* near a border */
};

struct yima_channel {
	uint64_t	serial;
	char		dealer[YIMA_DEALER_ID_MAX + 1];
	char		type[16];	/* dealer, store, staff */
	char		name[129];
};

/* Adds a dealer; YIMA_EEXIST if the id is taken, YIMA_ENOENT if the
 * parent is unknown. */
int yima_tx_dealer_create(struct yima_tx *tx, const struct yima_dealer *d);
/* Sets an existing dealer's name, type and GLN; YIMA_ENOENT unknown. */
int yima_tx_dealer_update(struct yima_tx *tx, const struct yima_dealer *d);
int yima_tx_dealer_get(struct yima_tx *tx, const char *id,
    struct yima_dealer *out);
int yima_tx_dealer_list(struct yima_tx *tx,
    void (*fn)(void *ctx, const struct yima_dealer *d), void *ctx);
/* *under = 1 if id is root or below it. */
int yima_tx_dealer_under(struct yima_tx *tx, const char *root,
    const char *id, int *under);
/* Replaces a dealer's territory with n GB/T 2260 codes or prefixes. */
int yima_tx_territory_set(struct yima_tx *tx, const char *dealer,
    const char *const *regions, size_t n);
/*
 * The territory in force for dealer: its own, or that of the nearest
 * ancestor with one (from, may be NULL, names whose). *n is 0 when none;
 * YIMA_ERANGE when it holds more than max.
 */
int yima_tx_territory_of(struct yima_tx *tx, const char *dealer,
    char (*regions)[7], size_t max, size_t *n, char *from);

/* The box or pallet child is packed in now, or YIMA_ENOENT. */
int yima_tx_pack_parent(struct yima_tx *tx, uint64_t child,
    uint64_t *parent);
/* Packs children first..last into parent. */
int yima_tx_pack_add(struct yima_tx *tx, uint64_t parent, uint64_t first,
    uint64_t last, int64_t at);
/* The child ranges packed in parent now; YIMA_ERANGE if over max. */
int yima_tx_pack_children(struct yima_tx *tx, uint64_t parent,
    struct yima_span *out, size_t max, size_t *n);
/* Unpacks parent (history kept); *rows is how many ranges it held. */
int yima_tx_unpack(struct yima_tx *tx, uint64_t parent, int64_t at,
    int *rows);

/* Records a shipment of first..last to dealer, which now owns them. */
int yima_tx_ship(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *dealer, const char *ref, int64_t at);
/*
 * The dealer of the latest shipment of serial or of its current box or
 * pallet, or YIMA_ENOENT.
 */
int yima_tx_owner(struct yima_tx *tx, uint64_t serial, char *dealer);
/* *yes: whether a shipment of serial itself went to dealer. */
int yima_tx_shipped_to(struct yima_tx *tx, uint64_t serial,
    const char *dealer, int *yes);

int yima_tx_receipt_add(struct yima_tx *tx, const struct yima_receipt *r,
    int64_t *id);
int yima_tx_diversion_add(struct yima_tx *tx, const struct yima_diversion *d);
/*
 * Diversions in [from, to) (ms), of owners in root's subtree (NULL: all),
 * oldest first; with limit > 0 only the latest limit of them.
 */
int yima_tx_diversion_list(struct yima_tx *tx, const char *root,
    int64_t from, int64_t to, int limit,
    void (*fn)(void *ctx, const struct yima_diversion *d), void *ctx);
/*
 * The same counted per owner, evidence and uncertainty (d's serial, at,
 * ids and region are 0): n events of each.
 */
int yima_tx_diversion_counts(struct yima_tx *tx, const char *root,
    int64_t from, int64_t to,
    void (*fn)(void *ctx, const struct yima_diversion *d, int64_t n),
    void *ctx);

/* Binds a channel code's serial to a dealer, store or salesperson. */
int yima_tx_channel_bind(struct yima_tx *tx, uint64_t serial,
    const struct yima_channel *c);
int yima_tx_channel_get(struct yima_tx *tx, uint64_t serial,
    struct yima_channel *out);
/* Attributes consumer to channel until (ms). */
int yima_tx_consumer_channel_set(struct yima_tx *tx, const char *consumer,
    uint64_t channel, int64_t until);
/* The channel consumer is attributed to at now, or YIMA_ENOENT. */
int yima_tx_consumer_channel_get(struct yima_tx *tx, const char *consumer,
    int64_t now, uint64_t *channel);

/* One thing that happened to a serial, for a trace. */
struct yima_event {
	const char	*type;		/* shipment, receipt, scan */
	int64_t		 at;
	int64_t		 id;
	char		 dealer[YIMA_DEALER_ID_MAX + 1];	/* "" for scans */
	char		 detail[65];	/* shipment ref, receipt kind, verdict */
	char		 region[7];
};

/* The item serial a cap-inside serial of batch pairs with, or ENOENT. */
int yima_tx_item_of_inner(struct yima_tx *tx, const char *batch,
    uint64_t inner, uint64_t *item);

/* Calls fn for the serial's shipments, receipts and last 100 scans,
 * oldest first. */
int yima_tx_history(struct yima_tx *tx, uint64_t serial,
    void (*fn)(void *ctx, const struct yima_event *e), void *ctx);


/* ---- rewards ---- */

#define YIMA_PRIZES_MAX		16	/* prize tiers in one campaign */
#define YIMA_SCOPE_MAX		64	/* GTINs or regions in one campaign */
#define YIMA_ACCOUNT_MAX	80	/* "consumer:ID", "channel:N", "store:ID" */
#define YIMA_NONE		(-1)	/* a limit or budget that is not set */
#define YIMA_VARIANTS_MAX	8	/* A/B arms of one campaign */

enum yima_prize_type {
	YIMA_PRIZE_CASH = 1,	/* a red packet, in cents */
	YIMA_PRIZE_POINTS,
	YIMA_PRIZE_VOUCHER	/* "another bottle", redeemed at a store */
};

struct yima_prize {
	int64_t		id;
	char		name[129];
	int		type;		/* enum yima_prize_type */
	int64_t		amount;		/* cents, points or bottles */
	int64_t		count, remaining;
	double		probability;
	int		arm;		/* 0 the campaign's, else its arm's index + 1 */
};

/* An arm of an A/B test: its weight, points and prizes, its landing offer. */
struct yima_variant {
	char		name[33];
	int64_t		weight;		/* percent; the arms add up to 100 */
	int64_t		points;		/* per claim, or YIMA_NONE: campaign's */
	int		own_prizes;	/* draws among its prizes only */
	char		headline[129];	/* landing offer; "" none */
	char		image_url[513];
	char		cta[65];
};

struct yima_campaign {
	int64_t		id;
	char		name[129];
	int64_t		start, end;	/* ms; active in [start, end) */
	char		status[8];	/* active, paused, ended */
	int		claim_kind;	/* YIMA_KIND_INNER or YIMA_KIND_ITEM */
	int64_t		points;		/* per claim, before the tier bonus */
	int64_t		commission;	/* points to the attributed channel */
	int64_t		budget, daily_budget;	/* cents, or YIMA_NONE */
	int64_t		spent;		/* cents */
	int64_t		per_day, per_consumer, per_network_hour; /* or NONE */
	size_t		ngtins, nregions, nprizes;	/* 0 gtins: all */
	char		gtins[YIMA_SCOPE_MAX][YIMA_GTIN_LEN + 1];
	char		regions[YIMA_SCOPE_MAX][7];	/* GB/T 2260 prefixes */
	struct yima_prize prizes[YIMA_PRIZES_MAX];
	size_t		nvariants;	/* 0: no A/B test */
	struct yima_variant variants[YIMA_VARIANTS_MAX];
	int64_t		created_at;
};

/* One claim of a code: granted, held, or refused with its reason. */
struct yima_claim {
	int64_t		id;
	uint64_t	serial;
	int64_t		campaign;	/* 0: none applied */
	char		consumer[25];
	char		network[48];	/* the client's /24 or /48 */
	int64_t		at;
	int64_t		scan_id;
	char		status[24];	/* granted, held, or a reason */
	int64_t		prize;		/* prize id, 0 none */
	int64_t		points;
	int		located;
	double		lat, lon;
	char		variant[33];	/* the A/B arm, "" none */
};

/* How many granted claims a consumer and a network made. */
struct yima_claim_counts {
	int64_t		consumer_day;	/* in this campaign since day_from */
	int64_t		consumer_total;	/* in this campaign */
	int64_t		network_hour;	/* in this campaign since hour_from */
};

/* One ledger row: a movement of points, cents or bottles. */
struct yima_movement {
	int64_t		id;
	int64_t		at;
	char		account[YIMA_ACCOUNT_MAX + 1];
	char		kind[16];	/* claim, prize, commission, redemption,
					   reversal, reimbursement, payout */
	char		unit[8];	/* points, cents, bottles */
	int64_t		amount;		/* signed */
	int64_t		claim;		/* 0 none */
	char		ref[65];	/* voucher, payout or redemption id */
};

struct yima_voucher {
	char		id[21];
	int64_t		claim, campaign;
	char		consumer[25];
	char		name[129];
	int64_t		bottles;
	int64_t		created_at, redeemed_at;	/* 0: not yet */
	char		store[YIMA_DEALER_ID_MAX + 1];
};

struct yima_payout {
	int64_t		id, claim, campaign;
	char		consumer[25];
	int64_t		cents;
	int64_t		created_at, paid_at;	/* 0: pending */
};

struct yima_item {
	int64_t		id;
	char		name[129];
	int64_t		points;
};

/* A product (master data): its GTIN-14, and the checked JSON document
 * the routes wrote (name and brand repeated for reports). */
#define YIMA_PRODUCT_NAME_MAX	128
#define YIMA_PRODUCT_DOC_MAX	12288
struct yima_product {
	char		gtin[15];
	char		name[YIMA_PRODUCT_NAME_MAX + 1];
	char		brand[YIMA_PRODUCT_NAME_MAX + 1];
	char		doc[YIMA_PRODUCT_DOC_MAX + 1];
	int64_t		updated_at;	/* ms */
};

struct yima_redemption {
	int64_t		id;
	char		consumer[25];
	char		key[65];	/* the client's idempotency key */
	int64_t		item, points, at;
};

/* Creates c (id and prize ids filled in; remaining = count). */
int yima_tx_campaign_create(struct yima_tx *tx, struct yima_campaign *c,
    const char *body);
/* The campaign, prizes and spend now; YIMA_ENOENT if unknown. */
int yima_tx_campaign_get(struct yima_tx *tx, int64_t id,
    struct yima_campaign *out);
/*
 * Every campaign, oldest first; active_at > 0 keeps the active ones that
 * have not ended by then.
 */
int yima_tx_campaign_list(struct yima_tx *tx, int64_t active_at,
    void (*fn)(void *ctx, const struct yima_campaign *c), void *ctx);
int yima_tx_campaign_set_status(struct yima_tx *tx, int64_t id,
    const char *status);
/* Changes with every campaign created or changed (caches check it). */
int yima_tx_campaign_gen(struct yima_tx *tx, int64_t *gen);
/*
 * Hands out one prize of a campaign: takes it from the pool and adds
 * cents (0 for points and vouchers) to the campaign's spend and to its
 * spend on day. YIMA_ENOENT when the pool is empty, YIMA_ERANGE when the
 * budget or the day's budget would be passed; then nothing changed.
 */
int yima_tx_prize_award(struct yima_tx *tx, int64_t prize, int64_t campaign,
    int64_t day, int64_t cents);

/* Records a claim; YIMA_EEXIST if the serial was claimed before. */
int yima_tx_claim_add(struct yima_tx *tx, const struct yima_claim *c,
    int64_t *id);
/*
 * Counts granted claims in a campaign; each count stops at its number in
 * upto (0: not counted), so a busy network costs no more than its limit.
 */
int yima_tx_claim_counts(struct yima_tx *tx, int64_t campaign,
    const char *consumer, const char *network, int64_t day_from,
    int64_t hour_from, const struct yima_claim_counts *upto,
    struct yima_claim_counts *out);
/* A claim by id (all of CLAIM's fields), or YIMA_ENOENT. */
int yima_tx_claim_get(struct yima_tx *tx, int64_t id, struct yima_claim *out);
/*
 * A held claim reviewed: status granted (with its points) or rejected,
 * the reviewer's reason and name kept with it. YIMA_ENOENT when it is
 * not held (any more: two reviewers met).
 */
int yima_tx_claim_review(struct yima_tx *tx, int64_t id, const char *status,
    int64_t points, const char *reason, const char *reviewer, int64_t at);
/* The consumer's latest located claim, or YIMA_ENOENT. */
int yima_tx_claim_last(struct yima_tx *tx, const char *consumer,
    struct yima_claim *out);
/* Claims with status (NULL: all), newest first, at most limit. */
int yima_tx_claim_list(struct yima_tx *tx, const char *status, int limit,
    void (*fn)(void *ctx, const struct yima_claim *c), void *ctx);

/*
 * Appends a movement and moves the account's balance; with floor0 a
 * movement that would take the balance below zero is refused
 * (YIMA_ERANGE, nothing written). *balance (may be NULL) gets the new one.
 */
int yima_tx_ledger_add(struct yima_tx *tx, const struct yima_movement *m,
    int floor0, int64_t *balance);
int yima_tx_balance(struct yima_tx *tx, const char *account,
    const char *unit, int64_t *amount);
/* Points earned (claims, prizes, commission) in [since, until]. */
int yima_tx_growth(struct yima_tx *tx, const char *account, int64_t since,
    int64_t until, int64_t *growth);
/* The account's movements, newest first, at most limit. */
int yima_tx_ledger_list(struct yima_tx *tx, const char *account, int limit,
    void (*fn)(void *ctx, const struct yima_movement *m), void *ctx);
/*
 * Checks that balances are the sums of the ledger and that prizes,
 * spend, payouts, vouchers and redemptions agree with it; fn hears each
 * problem found. *rows gets the number of movements.
 */
int yima_tx_ledger_check(struct yima_tx *tx,
    void (*fn)(void *ctx, const char *problem), void *ctx, int64_t *rows,
    int64_t *problems);

int yima_tx_voucher_add(struct yima_tx *tx, const struct yima_voucher *v);
/*
 * Marks voucher id redeemed by store at at; out gets the voucher.
 * YIMA_ENOENT unknown, YIMA_EEXIST redeemed before (out says when).
 */
int yima_tx_voucher_redeem(struct yima_tx *tx, const char *id,
    const char *store, int64_t at, struct yima_voucher *out);

int yima_tx_payout_add(struct yima_tx *tx, const struct yima_payout *p,
    int64_t *id);
/* Payouts pending (paid 0) or paid (1), oldest first. */
int yima_tx_payout_list(struct yima_tx *tx, int paid,
    void (*fn)(void *ctx, const struct yima_payout *p), void *ctx);
/* Marks one paid; YIMA_ENOENT unknown, YIMA_EEXIST paid before. */
int yima_tx_payout_mark_paid(struct yima_tx *tx, int64_t id, int64_t at,
    struct yima_payout *out);

int yima_tx_item_create(struct yima_tx *tx, struct yima_item *it);
int yima_tx_item_get(struct yima_tx *tx, int64_t id, struct yima_item *out);
int yima_tx_item_list(struct yima_tx *tx,
    void (*fn)(void *ctx, const struct yima_item *it), void *ctx);
/* The redemption a consumer made with key, or YIMA_ENOENT. */
int yima_tx_redemption_find(struct yima_tx *tx, const char *consumer,
    const char *key, struct yima_redemption *out);
int yima_tx_redemption_add(struct yima_tx *tx, struct yima_redemption *r);

/* Stores p (created: 1 new, 0 replaced). */
int yima_tx_product_put(struct yima_tx *tx, const struct yima_product *p,
    int *created);
/* The product of a GTIN-14, or YIMA_ENOENT. */
int yima_tx_product_get(struct yima_tx *tx, const char *gtin,
    struct yima_product *out);
int yima_tx_product_list(struct yima_tx *tx,
    void (*fn)(void *ctx, const struct yima_product *p), void *ctx);
/* Deletes it, or YIMA_ENOENT. */
int yima_tx_product_delete(struct yima_tx *tx, const char *gtin);

/* ---- EPCIS 2.0 events (scanapi/epcis.c renders them) ---- */

#define YIMA_EPCIS_CHUNK	10000	/* EPCs in one event at most */

/*
 * One event as stored: a supply-chain event (epcis_events) or a
 * consumer's scan (scans), whose identifiers and document are made from
 * these facts when read. Text members are "" when absent.
 */
struct yima_epcis_row {
	int64_t		 id;		/* in its table */
	int		 scan;		/* 1: a consumer scan */
	int64_t		 at;		/* ms */
	char		 step[16];	/* commissioning, packing, unpacking,
					   shipping, receiving, opening,
					   decommissioning; "" for a scan */
	uint64_t	 parent;	/* an aggregation's; 0 none */
	const char	*epcs;		/* serial spans, "1-24,30" */
	const char	*party;		/* destination or receiving dealer */
	const char	*source;	/* shipping: the shipper, "" brand */
	const char	*detail;	/* desadv ref, revocation reason */
	/* a scan's */
	uint64_t	 serial;
	int		 kind, verdict, located;
	double		 lat, lon;
	char		 region[7];
};

struct yima_epcis_filter {
	int64_t		 from, to;	/* [from, to), ms */
	/* only rows after this one, in (at, scan, id) order */
	int		 after;
	int64_t		 after_at, after_id;
	int		 after_scan;
	int		 events, scans;	/* which kinds to list */
	const char	*step;		/* events of this step; NULL any */
	int		 has_serial;	/* rows whose spans may hold serial */
	uint64_t	 serial;
	int		 limit;		/* of each kind */
};

/* What renders a serial as an EPC: its range and batch. */
struct yima_epc_range {
	uint64_t	first, last;
	enum yima_kind	kind;
	char		batch[33];
	unsigned	key_id;
	int		dl;		/* printed as Digital Link URIs */
	char		gtin[YIMA_GTIN_LEN + 1];
	char		lot[YIMA_LOT_MAX + 1];
	char		expiry[11];
	char		domain[YIMA_DOMAIN_MAX + 1];
};

/* Records an event (lo/hi bound its spans and parent, for epc queries). */
int yima_tx_epcis_add(struct yima_tx *tx, const struct yima_epcis_row *e);
/*
 * Events and consumer scans (genuine, repeat or suspect, of items, cases
 * and pallets) in f's window, each kind in (at, id) order, up to limit
 * of each; the caller merges them. Text is valid during fn only.
 */
int yima_tx_epcis_list(struct yima_tx *tx, const struct yima_epcis_filter *f,
    void (*fn)(void *ctx, const struct yima_epcis_row *e), void *ctx);
/* The range (of any kind) holding serial, or YIMA_ENOENT. */
int yima_tx_epc_range(struct yima_tx *tx, uint64_t serial,
    struct yima_epc_range *out);
/* The registered ranges (first, last, kind only) meeting first..last. */
int yima_tx_ranges_in(struct yima_tx *tx, uint64_t first, uint64_t last,
    void (*fn)(void *ctx, const struct yima_range *r), void *ctx);
/* The domain of the first batch imported (the brand's), or YIMA_ENOENT. */
int yima_tx_brand_domain(struct yima_tx *tx, char *out, size_t len);

/* The outbox: events to push, filled once pushing is enabled. */
int yima_tx_outbox_enable(struct yima_tx *tx);
/* Stops filling it, and empties it (*dropped entries). */
int yima_tx_outbox_disable(struct yima_tx *tx, int64_t *dropped);
/*
 * The oldest max undelivered events, with their rows: fn gets each
 * outbox id and row (text valid during fn only).
 */
int yima_tx_outbox_take(struct yima_tx *tx, int max,
    void (*fn)(void *ctx, int64_t id, const struct yima_epcis_row *e),
    void *ctx);
/* Drops delivered entries. */
int yima_tx_outbox_done(struct yima_tx *tx, const int64_t *ids, size_t n);
/* Drops entries older than before; *n gets how many. */
int yima_tx_outbox_expire(struct yima_tx *tx, int64_t before, int64_t *n);
/* Entries waiting, and the time of the oldest (0 none). */
int yima_tx_outbox_stats(struct yima_tx *tx, int64_t *depth,
    int64_t *oldest_at);

/* A capture job: its outcome, errors a JSON array text (may be NULL). */
struct yima_capture {
	char		 id[33];
	int64_t		 at;
	char		 status[16];	/* running, success, failed, partial */
	int64_t		 events, applied;
	char		*errors;	/* owned: yima_free() */
};
int yima_tx_capture_put(struct yima_tx *tx, const struct yima_capture *c);
int yima_tx_capture_get(struct yima_tx *tx, const char *id,
    struct yima_capture *out);

/* Freezes (frozen 1) or thaws a "consumer" or a "batch". */
int yima_tx_freeze_set(struct yima_tx *tx, const char *kind, const char *id,
    int frozen, const char *reason);
/* 1 in *frozen if the consumer or the batch (either may be NULL) is. */
int yima_tx_frozen(struct yima_tx *tx, const char *consumer,
    const char *batch, int *frozen);

/* ---- reports: daily rollups ---- */

#define YIMA_DAY_OFFSET_MS	(8LL * 3600 * 1000)	/* days are UTC+8 */

/* What a product scan is counted under. */
struct yima_rollup_key {
	int64_t		day;		/* days since 1970-01-01, UTC+8 */
	char		dealer[YIMA_DEALER_ID_MAX + 1];	/* owner, "" none */
	char		region[7];	/* "" unknown */
	char		gtin[YIMA_GTIN_LEN + 1];	/* "" none */
};

enum yima_report_by {
	YIMA_BY_DAY = 0,
	YIMA_BY_REGION,
	YIMA_BY_SKU,
	YIMA_BY_DEALER
};

struct yima_report_q {
	int64_t		 from_day, to_day;	/* inclusive */
	enum yima_report_by by;
	const char	*root;		/* a dealer's subtree, NULL all */
	const char	*region;	/* a 2, 4 or 6 digit prefix, or NULL */
	/*
	 * Privacy, > 1: no row with fewer distinct consumers. By region
	 * such a county merges into its city, a city into its province, a
	 * province (or no region) into the `other` row; the other reports'
	 * rows under it are summed into `other`, which is left out when it
	 * is under it too.
	 */
	int		 min_consumers;
};

struct yima_report_row {
	int64_t		day;		/* YIMA_BY_DAY */
	char		key[YIMA_DEALER_ID_MAX + 1];	/* region, GTIN, dealer */
	int64_t		scans, genuine, repeat, suspect, claims;
	int64_t		consumers;	/* distinct */
	int		consumers_exact;	/* 0: an estimate (~3%) */
	int		other;		/* cells too small to show, summed */
};

/*
 * Counts a genuine, repeat or suspect scan (verdict) by a consumer under
 * k, in the scan's transaction. consumer is the keyed hash the consumer is
 * counted by (the service's api_sketch_hash), or NULL: the store never
 * sees the id.
 */
int yima_tx_rollup_scan(struct yima_tx *tx, const struct yima_rollup_key *k,
    int verdict, const uint64_t *consumer);
/* Counts a granted claim under k. */
int yima_tx_rollup_claim(struct yima_tx *tx, const struct yima_rollup_key *k);
/*
 * Where scan id (made at `at`) was, the kind of code scanned, and the
 * channel it was attributed to (0 none): what a released claim is counted
 * by. YIMA_ENOENT if no such scan.
 */
int yima_tx_scan_origin(struct yima_tx *tx, int64_t id, int64_t at,
    char region[7], int *kind, uint64_t *channel);
/* The rows of a scan report, in key order. */
int yima_tx_report_scans(struct yima_tx *tx, const struct yima_report_q *q,
    void (*fn)(void *ctx, const struct yima_report_row *r), void *ctx);
/*
 * A row of a rollup table as its writer adds to it, or as a report reads
 * it (then only key, the counts and the sketch are set). The tables:
 * YIMA_ROLLUP_FINE (region, day, dealer, GTIN), _REGIONS (day, dealer,
 * region), _SKUS (dealer, day, GTIN), _GTINS (day, GTIN). Each writer
 * adds to rows of its own (PostgreSQL: per connection; SQLite: one).
 */
enum { YIMA_ROLLUP_FINE, YIMA_ROLLUP_REGIONS, YIMA_ROLLUP_SKUS,
    YIMA_ROLLUP_GTINS };
struct yima_rollup_row {
	int		 table;
	int64_t		 day;
	const char	*dealer, *region, *gtin;
	const char	*key;		/* a report's: its by-column as text */
	int64_t		 scans, genuine, repeat, suspect, claims;
	const void	*sketch;	/* the consumers' sketch, or NULL */
	size_t		 len;
};
/* The sketch of this writer's row of r's key, copied into out (max
 * bytes); *len 0 when there is none. */
int yima_tx_rollup_sketch(struct yima_tx *tx, const struct yima_rollup_row *r,
    void *out, size_t max, size_t *len);
/* Adds r's counts to this writer's row of its key, with r's sketch. */
int yima_tx_rollup_put(struct yima_tx *tx, const struct yima_rollup_row *r);
/*
 * The raw rows of table (a rollup table's name) in q's days, dealer
 * subtree and region prefix, in table order, each with q->by's column as
 * its key (day in day); fn's error stops them and is returned.
 */
int yima_tx_rollup_rows(struct yima_tx *tx, const struct yima_report_q *q,
    const char *table, int (*fn)(void *ctx, const struct yima_rollup_row *r),
    void *ctx);
/*
 * Writes to come at commit, one slot per user: fn runs before the
 * transaction commits (its error rolls it back), end when it ends either
 * way; the slot returned holds their data (NULL at first). The rollups'
 * tally (scanapi/rollup.c) and the audience's counters (audience.c).
 */
enum { YIMA_LATER_ROLLUPS, YIMA_LATER_AUDIENCE, YIMA_LATERS };
void **yima_tx_later(struct yima_tx *tx, int slot,
    int (*fn)(struct yima_tx *), void (*end)(struct yima_tx *));
/* Counts a product scan by a consumer channel brought, on day. */
int yima_tx_rollup_channel(struct yima_tx *tx, int64_t day,
    uint64_t channel);
/*
 * Store and staff channels (of root's subtree, NULL all) with product
 * scans in days from..to (cur) and in the as many days before (prev).
 */
int yima_tx_channel_trend(struct yima_tx *tx, const char *root,
    int64_t from, int64_t to, int64_t days,
    void (*fn)(void *ctx, const struct yima_channel *c, int64_t cur,
    int64_t prev), void *ctx);
/*
 * Privacy: coarsens (0.1 degree, no accuracy, no client address) at most
 * max of the oldest scans recorded before `before` (ms) that are still
 * raw, and the places kept for their codes and claims. *n: how many.
 */
int yima_tx_coarsen(struct yima_tx *tx, int64_t before, int max, int *n);
/*
 * Privacy: drops the consumer id (NULL) of at most max of the oldest
 * scans recorded before `before` (ms) not yet seen, in id order after a
 * watermark. *n: how many scans it looked at (max: there may be more).
 */
int yima_tx_consumers_drop(struct yima_tx *tx, int64_t before, int max,
    int *n);

/* ---- consumers' rights (PIPL): export and erasure ---- */

/* What an erasure changed. */
struct yima_erasure {
	int64_t		scans;		/* lost the id, places and addresses */
	int64_t		claims;
	int64_t		movements;	/* ledger rows moved to the pseudonym */
};

/*
 * Which of n keyed hashes of consumer ids (64 hex characters each) are
 * of erased ids: erased[i] gets 1 or 0.
 */
int yima_tx_consumers_erased(struct yima_tx *tx, const char (*hash)[65],
    size_t n, int *erased);
/*
 * Erases consumer (write tx): its scans lose the id, their places and
 * client addresses (the region stays, for reports), and its codes their
 * places remembered from its scans; its claims lose their places and
 * networks; claims, vouchers, payouts, redemptions and the ledger account
 * "consumer:ID" (ledger and balances) move to pseudonym, which has no
 * link to the id, so every total stays; its channel binding and freeze
 * go; hash is recorded as erased at `at`. YIMA_EEXIST when hash was.
 */
int yima_tx_consumer_erase(struct yima_tx *tx, const char *consumer,
    const char *hash, const char *pseudonym, int64_t at,
    struct yima_erasure *out);
/*
 * A consumer's scans, newest first, at most limit; the rows have at,
 * serial, kind, verdict, region and channel (no place, no address).
 */
int yima_tx_consumer_scans(struct yima_tx *tx, const char *consumer,
    int limit, void (*fn)(void *ctx, const struct yima_scan_row *r),
    void *ctx);
/* A consumer's claims, newest first, at most limit. */
int yima_tx_consumer_claims(struct yima_tx *tx, const char *consumer,
    int limit, void (*fn)(void *ctx, const struct yima_claim *c),
    void *ctx);

/* The id of the latest scan recorded (0 none). */
int yima_tx_last_scan(struct yima_tx *tx, int64_t *id);

/* Number of scans recorded with id (tests and tools). */
int yima_tx_scan_exists(struct yima_tx *tx, int64_t id, int *exists);

/* ---- the audience: A/B arms, channel funnels, lifecycle stages ---- */

#define YIMA_REPEAT_MS	(30LL * 24 * 3600 * 1000)	/* "bought again" */

/* An arm's counters (summed over nodes). */
struct yima_ab_arm {
	int		 arm;		/* the variant's index */
	int64_t		 exposed;	/* consumers shown it */
	int64_t		 claimers;	/* of them, who claimed */
	int64_t		 claims;
	int64_t		 repeaters;	/* scanned another bottle in 30 days */
	int64_t		 cents, points;	/* what its claims cost */
};

/*
 * A scan showed consumer a campaign's arms: the consumer's arm, kept from
 * the first time (then arm, counted exposed, with item its first bottle),
 * into *out. A genuine scan of another bottle within 30 days of that first
 * one makes a repeat buyer, once.
 */
int yima_tx_ab_expose(struct yima_tx *tx, int64_t campaign,
    const char *consumer, int arm, uint64_t item, int64_t at, int genuine,
    int *out);
/* A granted claim in the consumer's arm, costing cents and points. */
int yima_tx_ab_claim(struct yima_tx *tx, int64_t campaign,
    const char *consumer, int arm, int64_t cents, int64_t points,
    int64_t at);
/* A campaign's arms, by index (an arm nobody saw is not listed). */
int yima_tx_ab_arms(struct yima_tx *tx, int64_t campaign,
    void (*fn)(void *ctx, const struct yima_ab_arm *a), void *ctx);

/* A channel code's funnel over days: bound, claimed and repeats count
 * under the day a consumer was bound (a cohort); scans and commission
 * under the day they happened. */
struct yima_funnel_row {
	struct yima_channel channel;
	int64_t		 scans, bound, claimed, repeats, commission;
};
/* A scan of channel's code (by consumer, "" none) on day: bound once. */
int yima_tx_funnel_scan(struct yima_tx *tx, uint64_t channel,
    const char *consumer, int64_t day);
/*
 * A genuine scan of bottle item by consumer, whom channel brought: its
 * first claim (claimed) marks the consumer a buyer, a later bottle within
 * 30 days of that a repeat buyer; commission points paid on day.
 */
int yima_tx_funnel_buy(struct yima_tx *tx, uint64_t channel,
    const char *consumer, uint64_t item, int64_t at, int claimed,
    int64_t commission, int64_t day);
/* Channels of type ("" any) in root's subtree (NULL all), summed over
 * days from..to, with any count; by serial. */
int yima_tx_funnel_rows(struct yima_tx *tx, const char *root,
    const char *type, int64_t from, int64_t to,
    void (*fn)(void *ctx, const struct yima_funnel_row *r), void *ctx);

/* A consumer's lifecycle: audience.c decides the stage from these. */
#define YIMA_GAPS_MAX	160
struct yima_segment {
	char		 consumer[25];
	char		 region[7];	/* of the last located scan, "" none */
	char		 tier[32];
	char		 stage[12];	/* new, active, at_risk, lapsed */
	int64_t		 first_at, last_at;	/* genuine scans, ms */
	uint64_t	 item;		/* the last bottle */
	char		 gaps[YIMA_GAPS_MAX];	/* recent gaps, hours, "a,b" */
	int64_t		 due_at;	/* the stage changes then (INT64_MAX
					   never) */
};
int yima_tx_segment_get(struct yima_tx *tx, const char *consumer,
    struct yima_segment *out);
/*
 * Writes s: a new row when was is NULL, else only if the row is still as
 * was (its last_at and due_at; another writer may have moved it):
 * *changed 1 or 0.
 */
int yima_tx_segment_put(struct yima_tx *tx, const struct yima_segment *s,
    const struct yima_segment *was, int *changed);
/* Adds delta to the consumers of a region, stage and tier. */
int yima_tx_segment_count(struct yima_tx *tx, const char *region,
    const char *stage, const char *tier, int64_t delta);
/* Counts n moves from stage src to dst in month (yyyymm, China time). */
int yima_tx_segment_move(struct yima_tx *tx, int64_t month,
    const char *region, const char *src, const char *dst, int64_t n);
/* Up to max consumers whose stage is due to change at or before now. */
int yima_tx_segment_due(struct yima_tx *tx, int64_t now, int max,
    void (*fn)(void *ctx, const struct yima_segment *s), void *ctx);
/* Counts per region (under prefix, "" all), stage and tier. */
int yima_tx_segment_counts(struct yima_tx *tx, const char *prefix,
    void (*fn)(void *ctx, const char *region, const char *stage,
    const char *tier, int64_t n), void *ctx);
/* Moves per month from month on, per region under prefix. */
int yima_tx_segment_moves(struct yima_tx *tx, const char *prefix,
    int64_t from_month, void (*fn)(void *ctx, int64_t month,
    const char *region, const char *src, const char *dst, int64_t n),
    void *ctx);
/*
 * What the audience keeps of one consumer, for their export: each A/B
 * arm they were shown (kind "experiment": id the campaign, n the arm, at
 * when first), each channel code that bound them ("channel": id its
 * serial, at the day bound, in ms).
 */
int yima_tx_consumer_audience(struct yima_tx *tx, const char *consumer,
    void (*fn)(void *ctx, const char *kind, int64_t id, int64_t n,
    int64_t at), void *ctx);
/*
 * Retention: forgets who saw which arm and whom a channel bound before
 * `before`, and the stages of consumers whose last purchase is before it
 * (their counts go down with them), at most max rows of each; *most gets
 * the largest number forgotten of one kind (max: call again).
 */
int yima_tx_audience_drop(struct yima_tx *tx, int64_t before, int max,
    int *most);
/* Up to limit consumers in stage under prefix, by id after `after` ("":
 * from the first); erased ones (their pseudonyms) are never listed. */
int yima_tx_segment_list(struct yima_tx *tx, const char *stage,
    const char *prefix, const char *after, int limit,
    void (*fn)(void *ctx, const struct yima_segment *s), void *ctx);

#endif /* YIMA_STORE_H */
