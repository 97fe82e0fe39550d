/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The memo of a scan batch read ahead (store_batch.c: codes and scans;
 * store_batch_claims.c: their claims), private to the two.
 */
#ifndef API_STORE_BATCH_H
#define API_STORE_BATCH_H

#include "yima/buf.h"

#include "db.h"

#define CONSUMER_MAX	64	/* longer ids are asked for, not kept */

struct ahead_code {
	uint64_t	 serial;
	int		 used;		/* the slot is taken */
	int		 facts;		/* range ... owner below were read */
	int		 registered;
	struct yima_range range;
	int		 revoked;
	char		 reason[256];
	int		 has_state, dirty;
	struct yima_code_state state;
	int		 has_item;	/* a cap code's bottle */
	uint64_t	 item;
	int		 owner_known, has_owner;	/* (an item's too) */
	char		 owner[YIMA_DEALER_ID_MAX + 1];
	int		 channel_known, has_channel;
	struct yima_channel channel;
};

/* A points movement that counts to a consumer's growth (tiers). */
struct ahead_move {
	int64_t		 at, amount;
	int		 added;		/* by this transaction */
};

struct ahead_consumer {
	char		 id[CONSUMER_MAX + 1];	/* "" a free slot */
	int		 has;		/* an attribution was read */
	uint64_t	 channel;
	int64_t		 until;
	/* Claims (api_sql_claims_ahead), with this transaction's writes: */
	int		 claims;	/* what follows was read */
	int		 frozen;
	int		 has_last;	/* the last located claim */
	struct yima_claim last;
	int64_t		 points;	/* balance */
	int64_t		 growth;	/* over the read window, as read */
	struct ahead_move *moves;	/* the window's edges, and added */
	size_t		 nmoves, capmoves;
};

/* A balance change held: movements of one account and unit, summed. */
struct ahead_balance {
	char		 account[YIMA_ACCOUNT_MAX + 1];
	char		 unit[8];
	int64_t		 amount;
};

struct api_ahead {
	struct ahead_code *codes;
	size_t		 ncodes;	/* slots: a power of two */
	struct ahead_consumer *cons;
	size_t		 ncons;
	int64_t		*ids;		/* reserved for scan rows */
	size_t		 nids, next;
	size_t		 dirty;		/* code states to write */
	struct yima_buf	 scans;		/* rows to insert: "[...],[...]" */
	int		 flushing;
	/* Claims (api_sql_claims_ahead): */
	int		 claims;	/* were read ahead */
	int64_t		 g_from, g_core_from, g_core_to, g_to;	/* growth */
	char		(*frozen_batches)[33];
	size_t		 nfrozen;
	int64_t		*claim_ids;	/* reserved for held claims */
	size_t		 nclaim_ids, next_claim;
	struct yima_buf	 claim_rows, ledger_rows;
	struct ahead_balance *bal;
	size_t		 nbal, capbal;
};

/*
 * The batch's rows go in as one JSON array of arrays ($1), whose fields
 * a statement reads with ->>: the one place the engines differ is the
 * function that makes rows of an array (SQLite json_each, PostgreSQL
 * jsonb_array_elements), so each statement below is written once and
 * made in both spellings.
 */
#define ROWS(tx, head, tail) API_SQL(tx, \
	head " json_each($1) AS j " tail, \
	head " jsonb_array_elements(CAST($1 AS JSONB)) AS j(value) " tail)
#define FIELD(i, type)	"CAST(j.value ->> " #i " AS " type ")"

/*
 * A list of keys to look up ($1: j.value each) is a JSON array for
 * SQLite and an array for PostgreSQL, whose plans depend on how many rows
 * they expect of the list: of unnest about 10 (a batch), so it probes the
 * keys' indexes; of jsonb_array_elements 100, so a plan made while a
 * table was small would read all of it for every batch, until analysed.
 * Both write a list as ["a","b"] or {"a","b"}, and keys are plain text.
 */
#define KEYS(tx, type, head, tail) API_SQL(tx, \
	head " json_each($1) AS j " tail, \
	head " unnest(CAST($1 AS " type "[])) AS j(value) " tail)

/* The consumer's slot; with add, a free one made its own (else NULL). */
struct ahead_consumer *api_ahead_consumer(struct api_ahead *a,
    const char *id, int add);
/* A JSON string of UTF-8 text ("" and NULL as null); a JSON number or
 * null, after a comma. */
int api_ahead_json_text(struct yima_buf *b, const char *s);
int api_ahead_json_dbl(struct yima_buf *b, int has, double v);
/* n ids from a sequence for held rows (sql: nextval over $1 rows). */
int api_ahead_reserve(struct yima_tx *tx, const char *sql, size_t n,
    int64_t **ids, size_t *nids);
/* Held rows ("[..],[..]") as one JSON array in b; held is emptied. */
int api_ahead_rows(struct yima_buf *b, struct yima_buf *held);
/* The held claims, movements and balance changes (b: scratch). */
int api_ahead_flush_claims(struct yima_tx *tx, struct api_ahead *a,
    struct yima_buf *b);

#endif /* API_STORE_BATCH_H */
