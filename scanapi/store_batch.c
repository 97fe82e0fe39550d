/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A group commit's scans, read ahead and written behind (db.h). Before a
 * batch's scans are decided, its codes' facts (range, revocation, state,
 * channel, owner through packs), its consumers' channels and ids for its
 * scan rows are read in one statement each; the verdicts are decided in
 * C from those answers; the code states and scan rows they write wait
 * here and go in one statement per table before the transaction's next
 * other statement, or at its commit. A batch of N first scans then costs
 * the same statements as a batch of one. Their claims: store_batch_claims.c.
 *
 * What was read holds for the whole transaction: a scan transaction
 * changes code states only through here, and never revokes, packs,
 * ships or binds a channel. Exactly-once stays the database's: the
 * transaction's isolation, and the unique keys the rows go in under.
 */
#include <stdio.h>
#include <string.h>

#include "yima/buf.h"
#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "store_batch.h"

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static uint64_t
str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* The code's slot; with add, a free one made its own (else NULL). */
static struct ahead_code *
code_slot(struct api_ahead *a, uint64_t serial, int add)
{
	size_t i, mask = a->ncodes - 1;

	if (a->ncodes == 0)
		return NULL;
	for (i = mix(serial) & mask; a->codes[i].used; i = (i + 1) & mask)
		if (a->codes[i].serial == serial)
			return &a->codes[i];
	if (!add)
		return NULL;
	a->codes[i].used = 1;
	a->codes[i].serial = serial;
	return &a->codes[i];
}

struct ahead_consumer *
api_ahead_consumer(struct api_ahead *a, const char *id, int add)
{
	size_t i, mask = a->ncons - 1;

	if (a->ncons == 0 || strlen(id) > CONSUMER_MAX)
		return NULL;
	for (i = str_hash(id) & mask; a->cons[i].id[0] != '\0';
	    i = (i + 1) & mask)
		if (strcmp(a->cons[i].id, id) == 0)
			return &a->cons[i];
	if (!add)
		return NULL;
	strcpy(a->cons[i].id, id);
	return &a->cons[i];
}

/* The code's facts, if this transaction read them ahead. */
static struct ahead_code *
known(struct yima_tx *tx, uint64_t serial)
{
	struct ahead_code *c;

	if (tx->ahead == NULL || (c = code_slot(tx->ahead, serial, 0)) ==
	    NULL || !c->facts)
		return NULL;
	return c;
}

static size_t
pow2_above(size_t n)
{
	size_t s = 16;

	while (s < 2 * n)
		s *= 2;
	return s;
}

void
api_ahead_free(struct yima_tx *tx)
{
	struct api_ahead *a = tx->ahead;
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->ncons && a->cons != NULL; i++)
		yima_free(a->cons[i].moves);
	yima_free(a->codes);
	yima_free(a->cons);
	yima_free(a->ids);
	yima_buf_free(&a->scans);
	yima_free(a->frozen_batches);
	yima_free(a->claim_ids);
	yima_buf_free(&a->claim_rows);
	yima_buf_free(&a->ledger_rows);
	yima_free(a->bal);
	yima_free(a);
	tx->ahead = NULL;
}

/* A JSON string of UTF-8 text: a byte that is not UTF-8 becomes '?'. */
int
api_ahead_json_text(struct yima_buf *b, const char *s)
{
	char tmp[512];
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, len;

	if (s == NULL || *s == '\0')
		return yima_buf_puts(b, "null");
	while (*p != '\0' && i < sizeof(tmp) - 1) {
		len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 2 :
		    (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 &&
		    *p <= 0xf4 ? 4 : 0;
		for (k = 1; k < len; k++)
			if ((p[k] & 0xc0) != 0x80)
				len = 0;
		if (len == 0 || i + len >= sizeof(tmp)) {
			tmp[i++] = '?';
			p++;
			continue;
		}
		memcpy(tmp + i, p, len);
		i += len;
		p += len;
	}
	tmp[i] = '\0';
	return yima_buf_json_str(b, tmp);
}

int
api_ahead_json_dbl(struct yima_buf *b, int has, double v)
{
	return has ? yima_buf_printf(b, ",%.17g", v) : yima_buf_puts(b,
	    ",null");
}

/* The batch's serials as a list of keys (KEYS). */
static int
serial_keys(struct yima_tx *tx, struct yima_buf *b, const uint64_t *s,
    size_t n)
{
	size_t i;
	int rc = yima_buf_puts(b, api_is_pg(tx) ? "{" : "[");

	for (i = 0; i < n && rc == 0; i++)
		rc = yima_buf_printf(b, "%s%lld", i ? "," : "",
		    (long long)s[i]);
	return rc == 0 ? yima_buf_puts(b, api_is_pg(tx) ? "}" : "]") : rc;
}

/* A consumer id kept here: one a list of keys takes as it is. */
static int
plain_id(const char *id)
{
	size_t n = strspn(id, "0123456789abcdefABCDEF");

	return n > 0 && n <= CONSUMER_MAX && id[n] == '\0';
}

/* A channel's dealer, type and name in columns col.., if bound. */
static void
channel_cols(struct api_dbq *q, int col, uint64_t serial,
    struct ahead_code *c)
{
	c->channel_known = 1;
	if (!(c->has_channel = !api_col_null(q, col + 1)))
		return;
	c->channel.serial = serial;
	api_col_text(q, col, c->channel.dealer, sizeof(c->channel.dealer));
	api_col_text(q, col + 1, c->channel.type, sizeof(c->channel.type));
	api_col_text(q, col + 2, c->channel.name, sizeof(c->channel.name));
}

/* Range, batch, revocation, state and channel of each serial. */
static int
read_codes(struct yima_tx *tx, struct api_ahead *a, const char *json)
{
	struct ahead_code *c;
	struct api_dbq *q;
	int rc;

	/* (the range's first serial in k: the join is then on its key) */
	if ((rc = api_q(tx, &q, KEYS(tx, "BIGINT", "WITH i(serial) AS"
	    " (SELECT j.value FROM", "), k(serial, first) AS (SELECT serial,"
	    " (SELECT MAX(x.first) FROM serial_ranges x WHERE x.first <="
	    " i.serial) FROM i) SELECT k.serial, r.first, r.last,"
	    " r.kind, b.id, b.gtin, b.lot, b.mfg, b.expiry, (SELECT"
	    " COALESCE(v.reason, '') FROM revocations v WHERE v.first <="
	    " k.serial AND v.last >= k.serial LIMIT 1), s.scans, s.first_at,"
	    " s.first_lat, s.first_lon, s.last_loc_at, s.last_lat, s.last_lon,"
	    " c.dealer, c.type, c.name, b.first_serial + (k.serial -"
	    " b.inner_first) FROM k LEFT JOIN serial_ranges r"
	    " ON r.first = k.first AND r.last >= k.serial"
	    " LEFT JOIN batches b ON b.id = r.batch LEFT JOIN code_state s"
	    " ON s.serial = k.serial LEFT JOIN channels c"
	    " ON c.serial = k.serial"), "T", json)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		if ((c = code_slot(a, (uint64_t)api_col_int(q, 0), 1)) == NULL)
			continue;
		c->facts = 1;
		if ((c->registered = !api_col_null(q, 1))) {
			c->range.first = (uint64_t)api_col_int(q, 1);
			c->range.last = (uint64_t)api_col_int(q, 2);
			c->range.kind = (enum yima_kind)api_col_int(q, 3);
			api_col_text(q, 4, c->range.batch,
			    sizeof(c->range.batch));
			api_col_text(q, 5, c->range.gtin,
			    sizeof(c->range.gtin));
			api_col_text(q, 6, c->range.lot, sizeof(c->range.lot));
			api_col_text(q, 7, c->range.mfg, sizeof(c->range.mfg));
			api_col_text(q, 8, c->range.expiry,
			    sizeof(c->range.expiry));
		}
		c->revoked = !api_col_null(q, 9);
		api_col_text(q, 9, c->reason, sizeof(c->reason));
		if ((c->has_state = !api_col_null(q, 10))) {
			c->state.scans = (uint64_t)api_col_int(q, 10);
			c->state.first_at = api_col_int(q, 11);
			if ((c->state.first_located = !api_col_null(q, 12))) {
				c->state.first_lat = api_col_dbl(q, 12);
				c->state.first_lon = api_col_dbl(q, 13);
			}
			if ((c->state.last_located = !api_col_null(q, 14))) {
				c->state.last_loc_at = api_col_int(q, 14);
				c->state.last_lat = api_col_dbl(q, 15);
				c->state.last_lon = api_col_dbl(q, 16);
			}
		}
		channel_cols(q, 17, c->serial, c);
		/* (api_sql_item_of_inner's rule: its batch's bottle) */
		if (c->registered && c->range.kind == YIMA_KIND_INNER &&
		    !api_col_null(q, 20)) {
			c->has_item = 1;
			c->item = (uint64_t)api_col_int(q, 20);
		}
	}
	api_end(q);
	return rc;
}

/*
 * Each serial's owner: the latest owner record of it or of the case or
 * pallet it is packed in (api_sql_owner's rule, for many serials).
 */
static int
read_owners(struct yima_tx *tx, struct api_ahead *a)
{
	struct yima_buf b = YIMA_BUF_INIT;
	struct ahead_code *c;
	struct api_dbq *q;
	int64_t *best;
	size_t i;
	int rc = yima_buf_puts(&b, api_is_pg(tx) ? "{" : "[");

	/* The codes read, and the bottles of the cap codes among them (a
	 * slot each first: a bottle may not have one yet). */
	for (i = 0; i < a->ncodes; i++)
		if (a->codes[i].has_item)
			code_slot(a, a->codes[i].item, 1)->owner_known = 1;
	for (i = 0; i < a->ncodes && rc == 0; i++)
		if (a->codes[i].facts || a->codes[i].owner_known) {
			a->codes[i].owner_known = 1;
			rc = yima_buf_printf(&b, "%s%lld", b.len > 1 ? "," : "",
			    (long long)a->codes[i].serial);
		}
	if (rc != 0 || (rc = yima_buf_puts(&b, api_is_pg(tx) ? "}" : "]")) !=
	    0) {
		yima_buf_free(&b);
		return YIMA_ENOMEM;
	}
	rc = api_q(tx, &q, KEYS(tx, "BIGINT", "WITH RECURSIVE k(serial)"
	    " AS (SELECT j.value FROM", "), up(k, s, depth) AS"
	    " (SELECT serial, serial, 0 FROM k UNION ALL SELECT up.k,"
	    " p.parent, up.depth + 1 FROM up JOIN packs p ON p.unpacked_at"
	    " IS NULL AND p.first = (SELECT MAX(x.first) FROM packs x"
	    " WHERE x.unpacked_at IS NULL AND x.first <= up.s)"
	    " WHERE p.last >= up.s AND up.depth < 3)"
	    " SELECT up.k, o.dealer, o.at, up.depth FROM up JOIN owners o"
	    " ON o.first = (SELECT MAX(w.first) FROM owners w"
	    " WHERE w.first <= up.s) WHERE o.last >= up.s"), "T", b.data);
	yima_buf_free(&b);
	if (rc != 0)
		return rc;
	if ((best = yima_calloc(a->ncodes, 2 * sizeof(*best))) == NULL) {
		api_end(q);
		return YIMA_ENOMEM;
	}
	/* The latest record wins, then the nearest level (best: at, depth). */
	while ((rc = api_row(q)) == 1) {
		int64_t at = api_col_int(q, 2), depth = api_col_int(q, 3);

		if ((c = code_slot(a, (uint64_t)api_col_int(q, 0), 0)) == NULL)
			continue;
		i = (size_t)(c - a->codes);
		if (c->has_owner && (at < best[2 * i] || (at == best[2 * i] &&
		    depth >= best[2 * i + 1])))
			continue;
		c->has_owner = 1;
		best[2 * i] = at;
		best[2 * i + 1] = depth;
		api_col_text(q, 1, c->owner, sizeof(c->owner));
	}
	yima_free(best);
	api_end(q);
	return rc;
}

/* Each consumer's channel attribution, with the channel's facts. */
static int
read_consumers(struct yima_tx *tx, struct api_ahead *a,
    const char *const *ids, size_t n)
{
	struct yima_buf b = YIMA_BUF_INIT;
	struct ahead_consumer *k;
	struct ahead_code *c;
	struct api_dbq *q;
	size_t i;
	int rc = yima_buf_puts(&b, api_is_pg(tx) ? "{" : "[");

	for (i = 0; i < n && rc == 0; i++)
		if (plain_id(ids[i]) && api_ahead_consumer(a, ids[i], 1) != NULL)
			rc = yima_buf_printf(&b, "%s\"%s\"", b.len > 1 ? "," :
			    "", ids[i]);
	if (rc == 0)
		rc = yima_buf_puts(&b, api_is_pg(tx) ? "}" : "]");
	if (rc != 0) {
		yima_buf_free(&b);
		return YIMA_ENOMEM;
	}
	rc = api_q(tx, &q, KEYS(tx, "TEXT", "SELECT cc.consumer, cc.channel,"
	    " cc.until, c.dealer, c.type, c.name FROM", "JOIN"
	    " consumer_channels cc ON cc.consumer = j.value"
	    " LEFT JOIN channels c ON c.serial = cc.channel"), "T", b.data);
	yima_buf_free(&b);
	if (rc != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		if ((k = api_ahead_consumer(a, api_col_str(q, 0), 0)) == NULL)
			continue;
		k->has = 1;
		k->channel = (uint64_t)api_col_int(q, 1);
		k->until = api_col_int(q, 2);
		/* The channel's facts, unless its own code's were read. */
		if ((c = code_slot(a, k->channel, 1)) == NULL ||
		    c->channel_known)
			continue;
		channel_cols(q, 3, k->channel, c);
	}
	api_end(q);
	return rc;
}

int
api_ahead_reserve(struct yima_tx *tx, const char *sql, size_t n,
    int64_t **ids, size_t *nids)
{
	struct api_dbq *q;
	int rc;

	if ((*ids = yima_calloc(n, sizeof(**ids))) == NULL)
		return YIMA_ENOMEM;
	if ((rc = api_q(tx, &q, sql, "i", (int64_t)n)) != 0)
		return rc;
	while ((rc = api_row(q)) == 1 && *nids < n)
		(*ids)[(*nids)++] = api_col_int(q, 0);
	api_end(q);
	return rc < 0 ? rc : *nids == n ? 0 : YIMA_EDB;
}

int
api_sql_scans_ahead(struct yima_tx *tx, const struct yima_scan_ahead *in)
{
	struct yima_buf b = YIMA_BUF_INIT;
	struct api_ahead *a;
	int rc;

	api_ahead_free(tx);
	if ((a = yima_calloc(1, sizeof(*a))) == NULL)
		return YIMA_ENOMEM;
	tx->ahead = a;
	a->ncodes = pow2_above(2 * in->nserials + in->nconsumers);
	a->ncons = pow2_above(in->nconsumers);
	if ((a->codes = yima_calloc(a->ncodes, sizeof(*a->codes))) == NULL ||
	    (a->cons = yima_calloc(a->ncons, sizeof(*a->cons))) == NULL) {
		rc = YIMA_ENOMEM;
		goto fail;
	}
	if (in->nserials > 0 && ((rc = serial_keys(tx, &b, in->serials,
	    in->nserials)) != 0 || (rc = read_codes(tx, a, b.data)) != 0 ||
	    (rc = read_owners(tx, a)) != 0))
		goto fail;
	if (in->nconsumers > 0 && (rc = read_consumers(tx, a, in->consumers,
	    in->nconsumers)) != 0)
		goto fail;
	/* Ids for the held scan rows (PostgreSQL only: see WRITES). */
	if (in->scans > 0 && api_is_pg(tx) && (rc = api_ahead_reserve(tx,
	    "SELECT nextval('scans_id_seq') FROM generate_series(1, $1)",
	    in->scans, &a->ids, &a->nids)) != 0)
		goto fail;
	yima_buf_free(&b);
	return 0;
fail:
	yima_buf_free(&b);
	api_ahead_free(tx);
	return rc;
}

/* ---- the answers: each a store operation's, when read ahead ---- */

int
api_ahead_range(struct yima_tx *tx, uint64_t serial, int kind,
    struct yima_range *out)
{
	struct ahead_code *c = known(tx, serial);

	if (c == NULL)
		return API_AHEAD_NO;
	if (!c->registered || (int)c->range.kind != kind)
		return YIMA_ENOENT;
	*out = c->range;
	return 0;
}

int
api_ahead_revoked(struct yima_tx *tx, uint64_t serial, char *reason,
    size_t reasonlen)
{
	struct ahead_code *c = known(tx, serial);

	if (c == NULL)
		return API_AHEAD_NO;
	if (c->revoked && reason != NULL)
		snprintf(reason, reasonlen, "%s", c->reason);
	return c->revoked;
}

int
api_ahead_state(struct yima_tx *tx, uint64_t serial,
    struct yima_code_state *out)
{
	struct ahead_code *c = known(tx, serial);

	if (c == NULL)
		return API_AHEAD_NO;
	if (!c->has_state)
		return YIMA_ENOENT;
	*out = c->state;
	return 0;
}

int
api_ahead_owner(struct yima_tx *tx, uint64_t serial, char *dealer)
{
	struct ahead_code *c;

	if (tx->ahead == NULL || (c = code_slot(tx->ahead, serial, 0)) ==
	    NULL || !c->owner_known)
		return API_AHEAD_NO;
	if (!c->has_owner)
		return YIMA_ENOENT;
	memcpy(dealer, c->owner, sizeof(c->owner));
	return 0;
}

int
api_ahead_item_of_inner(struct yima_tx *tx, const char *batch,
    uint64_t inner, uint64_t *item)
{
	struct ahead_code *c = known(tx, inner);

	if (c == NULL || !c->registered || c->range.kind != YIMA_KIND_INNER ||
	    strcmp(c->range.batch, batch) != 0)
		return API_AHEAD_NO;
	if (!c->has_item)
		return YIMA_ENOENT;
	*item = c->item;
	return 0;
}

int
api_ahead_channel(struct yima_tx *tx, uint64_t serial,
    struct yima_channel *out)
{
	struct ahead_code *c;

	if (tx->ahead == NULL || (c = code_slot(tx->ahead, serial, 0)) ==
	    NULL || !c->channel_known)
		return API_AHEAD_NO;
	if (!c->has_channel)
		return YIMA_ENOENT;
	*out = c->channel;
	return 0;
}

int
api_ahead_consumer_channel(struct yima_tx *tx, const char *consumer,
    int64_t now, uint64_t *channel)
{
	struct ahead_consumer *k;

	if (tx->ahead == NULL || (k = api_ahead_consumer(tx->ahead, consumer, 0)) ==
	    NULL)
		return API_AHEAD_NO;
	if (!k->has || k->until <= now)
		return YIMA_ENOENT;
	*channel = k->channel;
	return 0;
}

/* What the transaction just wrote, so the next answer is the new one. */
void
api_ahead_consumer_set(struct yima_tx *tx, const char *consumer,
    uint64_t channel, int64_t until)
{
	struct ahead_consumer *k;

	if (tx->ahead == NULL || (k = api_ahead_consumer(tx->ahead, consumer, 0)) ==
	    NULL)
		return;
	k->has = 1;
	k->channel = channel;
	k->until = until;
}

/*
 * ---- the writes, held until the next other statement ----
 *
 * WRITES: how rows go in is where the engines differ most. PostgreSQL
 * takes a batch's rows as one JSON array: one statement, one round trip.
 * SQLite, in the process, takes each row through the statement it has
 * prepared, which costs less than making and reading JSON (measured
 * here: 63 us of CPU a scan row by row, 83-89 us as JSON), so on SQLite
 * nothing is held: a code state is written as it changes (and kept
 * here for the next scan of its code), a scan row as it comes.
 */

int
api_ahead_state_put(struct yima_tx *tx, uint64_t serial,
    const struct yima_code_state *s)
{
	struct ahead_code *c = known(tx, serial);

	if (c == NULL)
		return API_AHEAD_NO;
	c->state = *s;
	c->has_state = 1;
	if (!api_is_pg(tx))
		return API_AHEAD_NO;	/* and written now: see WRITES */
	if (!c->dirty)
		tx->ahead->dirty++;
	c->dirty = 1;
	return 0;
}

int
api_ahead_scan(struct yima_tx *tx, const struct yima_scan_row *r,
    int64_t *id)
{
	struct api_ahead *a = tx->ahead;
	struct yima_buf *b;
	int rc;

	if (a == NULL || a->next >= a->nids)
		return API_AHEAD_NO;
	b = &a->scans;
	*id = a->ids[a->next++];
	/* id, at, serial, kind, verdict, lat, lon, accuracy, consumer,
	 * client, code, region, near_border, channel */
	if ((rc = yima_buf_printf(b, "%s[%lld,%lld", b->len > 0 ? "," : "",
	    (long long)*id, (long long)r->at)) != 0 ||
	    (rc = r->has_serial ? yima_buf_printf(b, ",%lld",
	    (long long)r->serial) : yima_buf_puts(b, ",null")) != 0 ||
	    (rc = r->kind != 0 ? yima_buf_printf(b, ",%d", r->kind) :
	    yima_buf_puts(b, ",null")) != 0 ||
	    (rc = yima_buf_printf(b, ",%d", (int)r->verdict)) != 0 ||
	    (rc = api_ahead_json_dbl(b, r->located, r->lat)) != 0 ||
	    (rc = api_ahead_json_dbl(b, r->located, r->lon)) != 0 ||
	    (rc = api_ahead_json_dbl(b, r->located && r->accuracy >= 0,
	    r->accuracy)) != 0 ||
	    (rc = yima_buf_puts(b, ",")) != 0 ||
	    (rc = api_ahead_json_text(b, r->consumer)) != 0 ||
	    (rc = yima_buf_puts(b, ",")) != 0 ||
	    (rc = api_ahead_json_text(b, r->client)) != 0 ||
	    (rc = yima_buf_puts(b, ",")) != 0 ||
	    (rc = api_ahead_json_text(b, r->code)) != 0 ||
	    (rc = yima_buf_puts(b, ",")) != 0 ||
	    (rc = api_ahead_json_text(b, r->region)) != 0 ||
	    (rc = r->region[0] != '\0' ? yima_buf_printf(b, ",%d",
	    r->near_border) : yima_buf_puts(b, ",null")) != 0 ||
	    (rc = r->channel != 0 ? yima_buf_printf(b, ",%lld]",
	    (long long)r->channel) : yima_buf_puts(b, ",null]")) != 0)
		return YIMA_ENOMEM;
	return 0;
}

/* The code states written since the last flush, as rows. */
static int
states_json(struct api_ahead *a, struct yima_buf *b)
{
	struct ahead_code *c;
	size_t i;
	int rc = yima_buf_puts(b, "[");

	for (i = 0; i < a->ncodes && rc == 0; i++) {
		if (!(c = &a->codes[i])->dirty)
			continue;
		c->dirty = 0;
		if ((rc = yima_buf_printf(b, "%s[%lld,%llu,%lld",
		    b->len > 1 ? "," : "", (long long)c->serial,
		    (unsigned long long)c->state.scans,
		    (long long)c->state.first_at)) != 0 ||
		    (rc = api_ahead_json_dbl(b, c->state.first_located,
		    c->state.first_lat)) != 0 ||
		    (rc = api_ahead_json_dbl(b, c->state.first_located,
		    c->state.first_lon)) != 0 ||
		    (rc = c->state.last_located ? yima_buf_printf(b,
		    ",%lld", (long long)c->state.last_loc_at) :
		    yima_buf_puts(b, ",null")) != 0 ||
		    (rc = api_ahead_json_dbl(b, c->state.last_located,
		    c->state.last_lat)) != 0 ||
		    (rc = api_ahead_json_dbl(b, c->state.last_located,
		    c->state.last_lon)) != 0)
			break;
		rc = yima_buf_puts(b, "]");
	}
	a->dirty = 0;
	return rc == 0 ? yima_buf_puts(b, "]") : rc;
}

int
api_ahead_rows(struct yima_buf *b, struct yima_buf *held)
{
	int rc;

	yima_buf_reset(b);
	if ((rc = yima_buf_puts(b, "[")) != 0 ||
	    (rc = yima_buf_append(b, held->data, held->len)) != 0 ||
	    (rc = yima_buf_puts(b, "]")) != 0)
		return rc;
	yima_buf_reset(held);
	return 0;
}

/*
 * The held writes, one statement per table. (An INSERT ... SELECT needs
 * a WHERE before ON CONFLICT in SQLite, where ON would read as a join's.)
 */
int
api_ahead_flush(struct yima_tx *tx)
{
	struct api_ahead *a = tx->ahead;
	struct yima_buf b = YIMA_BUF_INIT;
	int64_t n;
	int rc = 0;

	if (a == NULL || a->flushing || (a->dirty == 0 && a->scans.len == 0 &&
	    a->claim_rows.len == 0 && a->ledger_rows.len == 0 && a->nbal == 0))
		return 0;
	a->flushing = 1;
	if (a->dirty > 0) {
		if ((rc = states_json(a, &b)) != 0)
			goto out;
		n = api_exec(tx, ROWS(tx, "INSERT INTO code_state (serial,"
		    " scans, first_at, first_lat, first_lon, last_loc_at,"
		    " last_lat, last_lon) SELECT " FIELD(0, "BIGINT") ", "
		    FIELD(1, "BIGINT") ", " FIELD(2, "BIGINT") ", "
		    FIELD(3, "DOUBLE PRECISION") ", "
		    FIELD(4, "DOUBLE PRECISION") ", " FIELD(5, "BIGINT") ", "
		    FIELD(6, "DOUBLE PRECISION") ", "
		    FIELD(7, "DOUBLE PRECISION") " FROM", "WHERE true"
		    " ON CONFLICT (serial) DO UPDATE SET scans = excluded.scans,"
		    " first_at = excluded.first_at,"
		    " first_lat = excluded.first_lat,"
		    " first_lon = excluded.first_lon,"
		    " last_loc_at = excluded.last_loc_at,"
		    " last_lat = excluded.last_lat,"
		    " last_lon = excluded.last_lon"), "T", b.data);
		if (n < 0) {
			rc = (int)n;
			goto out;
		}
	}
	if (a->scans.len > 0) {
		if ((rc = api_ahead_rows(&b, &a->scans)) != 0)
			goto out;
		n = api_exec(tx, ROWS(tx, "INSERT INTO scans (id, at, serial,"
		    " kind, verdict, lat, lon, accuracy, consumer, client, code,"
		    " region, near_border, channel) SELECT "
		    FIELD(0, "BIGINT") ", " FIELD(1, "BIGINT") ", "
		    FIELD(2, "BIGINT") ", " FIELD(3, "BIGINT") ", "
		    FIELD(4, "BIGINT") ", " FIELD(5, "DOUBLE PRECISION") ", "
		    FIELD(6, "DOUBLE PRECISION") ", "
		    FIELD(7, "DOUBLE PRECISION") ", j.value ->> 8,"
		    " j.value ->> 9, j.value ->> 10, j.value ->> 11, "
		    FIELD(12, "BIGINT") ", " FIELD(13, "BIGINT") " FROM", ""),
		    "T", b.data);
		if (n < 0) {
			rc = (int)n;
			goto out;
		}
	}
	rc = api_ahead_flush_claims(tx, a, &b);
out:
	a->flushing = 0;
	yima_buf_free(&b);
	return rc;
}
