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
void yima_store_close(struct yima_store *st);
/* The schema version after migrations. */
int yima_store_schema_version(struct yima_store *st);
/* The last error text of st: borrowed, valid until the next call. */
const char *yima_store_errmsg(struct yima_store *st);

/* Begins a transaction; write != 0 takes the single writer. */
int yima_tx_begin(struct yima_store *st, int write, struct yima_tx **tx);
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
 * Imports a verified manifest (write tx). *created is 1 when new, 0 when
 * the same manifest was imported before. YIMA_EEXIST when the batch id
 * or a serial range conflicts with another batch.
 */
int yima_tx_batch_import(struct yima_tx *tx, const struct yima_manifest *m,
    const char *hmac, int *created);
/* Revokes first..last (write tx); reason may be NULL. */
int yima_tx_revoke(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *reason);
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

/* ---- the supply chain ---- */

#define YIMA_DEALER_ID_MAX	64
#define YIMA_TERRITORY_MAX	1000	/* regions in one territory */

struct yima_dealer {
	char	id[YIMA_DEALER_ID_MAX + 1];
	char	name[129];
	char	parent[YIMA_DEALER_ID_MAX + 1];	/* "" at the top */
	char	type[16];	/* distributor, dealer, store */
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
	char		evidence[12];	/* consumer, store */
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

int yima_tx_receipt_add(struct yima_tx *tx, const struct yima_receipt *r,
    int64_t *id);
int yima_tx_diversion_add(struct yima_tx *tx, const struct yima_diversion *d);
/* Diversions in [from, to) (ms), of owners in root's subtree (NULL: all). */
int yima_tx_diversion_list(struct yima_tx *tx, const char *root,
    int64_t from, int64_t to,
    void (*fn)(void *ctx, const struct yima_diversion *d), void *ctx);

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

/* Calls fn for the serial's shipments, receipts and last 100 scans,
 * oldest first. */
int yima_tx_history(struct yima_tx *tx, uint64_t serial,
    void (*fn)(void *ctx, const struct yima_event *e), void *ctx);

/* Number of scans recorded with id (tests and tools). */
int yima_tx_scan_exists(struct yima_tx *tx, int64_t id, int *exists);

#endif /* YIMA_STORE_H */
