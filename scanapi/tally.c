/* SPDX-License-Identifier: Apache-2.0 */
/* Tallies: see tally.h. An array of rows and an open-addressing index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "tally.h"

struct api_tally {
	struct api_tally_row	*rows;
	size_t			 n, cap;
	uint32_t		*slot;		/* row index + 1; 0 empty */
	size_t			 nslot;		/* a power of two, > 2n */
	struct api_tally_row	**order;	/* for api_tally_sorted */
	int			 sorted;
};

struct api_tally *
api_tally_new(void)
{
	return yima_calloc(1, sizeof(struct api_tally));
}

void
api_tally_free(struct api_tally *t)
{
	if (t == NULL)
		return;
	yima_free(t->rows);
	yima_free(t->slot);
	yima_free(t->order);
	yima_free(t);
}

void
api_tally_clear(struct api_tally *t)
{
	t->n = 0;
	t->sorted = 0;
	if (t->slot != NULL)
		memset(t->slot, 0, t->nslot * sizeof(*t->slot));
}

/* FNV-1a over the key's fields. */
static uint64_t
hash_key(const struct api_tally_key *k)
{
	const char *parts[3] = { k->a, k->b, k->c };
	uint64_t h = 1469598103934665603ULL;
	const char *p;
	int i;

	h = (h ^ (uint64_t)k->tag) * 1099511628211ULL;
	h = (h ^ (uint64_t)k->day) * 1099511628211ULL;
	for (i = 0; i < 3; i++) {
		for (p = parts[i]; *p != '\0'; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

static int
same_key(const struct api_tally_key *x, const struct api_tally_key *y)
{
	return x->tag == y->tag && x->day == y->day &&
	    strcmp(x->a, y->a) == 0 && strcmp(x->b, y->b) == 0 &&
	    strcmp(x->c, y->c) == 0;
}

static int
reindex(struct api_tally *t, size_t nslot)
{
	uint32_t *slot;
	size_t i, j;

	if ((slot = yima_calloc(nslot, sizeof(*slot))) == NULL)
		return -1;
	for (i = 0; i < t->n; i++) {
		j = (size_t)hash_key(&t->rows[i].key) & (nslot - 1);
		while (slot[j] != 0)
			j = (j + 1) & (nslot - 1);
		slot[j] = (uint32_t)(i + 1);
	}
	yima_free(t->slot);
	t->slot = slot;
	t->nslot = nslot;
	return 0;
}

/* Room for extra more rows without moving the ones there. */
static int
reserve(struct api_tally *t, size_t extra)
{
	struct api_tally_row *rows;
	size_t cap = t->cap ? t->cap : 32;

	while (cap < t->n + extra)
		cap *= 2;
	if (cap == t->cap)
		return 0;
	if ((rows = yima_realloc(t->rows, cap * sizeof(*rows))) == NULL)
		return -1;
	t->rows = rows;
	t->cap = cap;
	return 0;
}

struct api_tally_row *
api_tally_row(struct api_tally *t, const struct api_tally_key *k)
{
	struct api_tally_row *r;
	size_t j;

	if (2 * (t->n + 1) > t->nslot &&
	    reindex(t, t->nslot ? 2 * t->nslot : 64) != 0)
		return NULL;
	j = (size_t)hash_key(k) & (t->nslot - 1);
	for (; t->slot[j] != 0; j = (j + 1) & (t->nslot - 1))
		if (same_key(&t->rows[t->slot[j] - 1].key, k))
			return &t->rows[t->slot[j] - 1];
	if (reserve(t, 1) != 0)
		return NULL;
	r = &t->rows[t->n];
	/* Only the head: the sketch bytes are written before they are read. */
	memset(r, 0, offsetof(struct api_tally_row, sk));
	r->key = *k;
	t->slot[j] = (uint32_t)++t->n;
	t->sorted = 0;
	return r;
}

int
api_tally_merge(struct api_tally_row *r, const uint8_t *s, size_t len)
{
	size_t n;

	if (s == NULL || len == 0)
		return 0;
	/* The first is taken through a merge too: it must be a sketch. */
	if (r->len == 0) {
		if ((n = api_sketch_merge(NULL, 0, s, len, r->sk)) == 0)
			return -1;
		r->len = n;
		return 0;
	}
	if ((n = api_sketch_merge_in(r->sk, r->len, s, len)) == 0)
		return -1;
	r->len = n;
	return 0;
}

void
api_tally_consumer(struct api_tally_row *r, uint64_t h)
{
	uint8_t out[API_SKETCH_MAX];

	r->len = api_sketch_add(r->len ? r->sk : NULL, r->len, h, out);
	memcpy(r->sk, out, r->len);
}

size_t
api_tally_count(const struct api_tally *t)
{
	return t->n;
}

static int
cmp_rows(const void *pa, const void *pb)
{
	const struct api_tally_key *x = &(*(struct api_tally_row *const *)pa)->key;
	const struct api_tally_key *y = &(*(struct api_tally_row *const *)pb)->key;
	int c;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if ((c = strcmp(x->a, y->a)) != 0 || (c = strcmp(x->b, y->b)) != 0)
		return c;
	return strcmp(x->c, y->c);
}

struct api_tally_row *
api_tally_sorted(struct api_tally *t, size_t i)
{
	struct api_tally_row **o;
	size_t k;

	if (!t->sorted) {
		if ((o = yima_realloc(t->order, (t->n ? t->n : 1) *
		    sizeof(*o))) == NULL)
			return NULL;
		t->order = o;
		for (k = 0; k < t->n; k++)
			o[k] = &t->rows[k];
		qsort(o, t->n, sizeof(*o), cmp_rows);
		t->sorted = 1;
	}
	return i < t->n ? t->order[i] : NULL;
}

/* The key of k in rollup table t: only the columns t has. */
static void
rollup_key(int t, const struct yima_rollup_key *k, struct api_tally_key *key)
{
	memset(key, 0, sizeof(*key));
	key->tag = t;
	key->day = k->day;
	if (t != API_ROLLUP_GTINS)
		snprintf(key->a, sizeof(key->a), "%s", k->dealer);
	if (t == API_ROLLUP_FINE || t == API_ROLLUP_REGIONS)
		snprintf(key->b, sizeof(key->b), "%s", k->region);
	if (t != API_ROLLUP_REGIONS)
		snprintf(key->c, sizeof(key->c), "%s", k->gtin);
}

/* The row of k in each rollup table. */
static int
rollup_rows(struct api_tally **t, const struct yima_rollup_key *k,
    struct api_tally_row **rows)
{
	struct api_tally_key key;
	int i;

	if (*t == NULL && (*t = api_tally_new()) == NULL)
		return YIMA_ENOMEM;
	/* Room for all first, so that adding one never moves another. */
	if (reserve(*t, API_ROLLUPS) != 0)
		return YIMA_ENOMEM;
	for (i = 0; i < API_ROLLUPS; i++) {
		rollup_key(i, k, &key);
		if ((rows[i] = api_tally_row(*t, &key)) == NULL)
			return YIMA_ENOMEM;
	}
	return 0;
}

int
api_tally_scan(struct api_tally **t, const struct yima_rollup_key *k,
    int verdict, const uint64_t *consumer)
{
	struct api_tally_row *rows[API_ROLLUPS];
	int i, rc;

	if ((rc = rollup_rows(t, k, rows)) != 0)
		return rc;
	for (i = 0; i < API_ROLLUPS; i++) {
		rows[i]->scans++;
		rows[i]->genuine += verdict == YIMA_V_GENUINE;
		rows[i]->repeat += verdict == YIMA_V_REPEAT;
		rows[i]->suspect += verdict == YIMA_V_SUSPECT;
		if (consumer != NULL)
			api_tally_consumer(rows[i], *consumer);
	}
	return 0;
}

int
api_tally_claim(struct api_tally **t, const struct yima_rollup_key *k)
{
	struct api_tally_row *rows[API_ROLLUPS];
	int i, rc;

	if ((rc = rollup_rows(t, k, rows)) != 0)
		return rc;
	for (i = 0; i < API_ROLLUPS; i++)
		rows[i]->claims++;
	return 0;
}

const char *
api_report_table(const struct yima_report_q *q)
{
	if (q->by != YIMA_BY_SKU)
		return "rollup_regions";
	if (q->region != NULL)
		return "rollups";
	return q->root != NULL ? "rollup_skus" : "rollup_gtins";
}

static uint64_t
consumers(const struct api_tally_row *r, int *exact)
{
	return api_sketch_count(r->len ? r->sk : NULL, r->len, exact);
}

/* Adds r's counters and consumers to into: sketches merge (a consumer
 * seen in both counts once), never counts added. */
static int
fold(struct api_tally_row *into, struct api_tally_row *r)
{
	into->scans += r->scans;
	into->genuine += r->genuine;
	into->repeat += r->repeat;
	into->suspect += r->suspect;
	into->claims += r->claims;
	r->merged = 1;
	return api_tally_merge(into, r->len ? r->sk : NULL, r->len);
}

/*
 * The level of a GB/T 2260 code: 3 county, 2 city, 1 province (its
 * coarser code in up), 0 not a code (the unknown region: left alone).
 */
static int
region_level(const char *r, char up[7])
{
	if (strlen(r) != 6 || strspn(r, "0123456789") != 6)
		return 0;
	snprintf(up, 7, "%.2s0000", r);
	if (strcmp(r + 2, "0000") == 0)
		return 1;
	if (strcmp(r + 4, "00") != 0)
		snprintf(up, 7, "%.4s00", r);
	return strcmp(r + 4, "00") != 0 ? 3 : 2;
}

/*
 * Merges the cells with fewer than min consumers: by region county into
 * city, city into province, province (or no region) into other; else
 * straight into other. Level by level, so a city is judged with its
 * counties in it.
 */
static int
merge_small(struct api_tally *t, const struct yima_report_q *q,
    struct api_tally_row *other, int *nother)
{
	struct api_tally_row *r, *p;
	struct api_tally_key k;
	char up[7];
	size_t i;
	int region = q->by == YIMA_BY_REGION, level, lv, exact;

	for (level = region ? 3 : 0; level >= 0; level--) {
		/* Merging adds coarser rows only: never one of this level. */
		for (i = 0; i < t->n; i++) {
			r = &t->rows[i];
			lv = region ? region_level(r->key.a, up) : 0;
			if (r->merged || lv != level ||
			    consumers(r, &exact) >= (uint64_t)q->min_consumers)
				continue;
			if (lv <= 1) {
				(*nother)++;
				if (fold(other, r) != 0)
					return YIMA_EDB;
				continue;
			}
			k = r->key;
			snprintf(k.a, sizeof(k.a), "%s", up);
			if ((p = api_tally_row(t, &k)) == NULL)
				return YIMA_ENOMEM;
			/* The rows may have moved. */
			if (fold(p, &t->rows[i]) != 0)
				return YIMA_EDB;
		}
	}
	return 0;
}

/* Hands one summed row to fn. */
static void
emit(const struct api_tally_row *w, int other,
    void (*fn)(void *ctx, const struct yima_report_row *r), void *ctx)
{
	struct yima_report_row row;

	memset(&row, 0, sizeof(row));
	row.day = w->key.day;
	snprintf(row.key, sizeof(row.key), "%s", w->key.a);
	row.scans = w->scans;
	row.genuine = w->genuine;
	row.repeat = w->repeat;
	row.suspect = w->suspect;
	row.claims = w->claims;
	row.consumers = (int64_t)consumers(w, &row.consumers_exact);
	row.other = other;
	fn(ctx, &row);
}

int
api_tally_report(struct api_tally *t, const struct yima_report_q *q,
    void (*fn)(void *ctx, const struct yima_report_row *r), void *ctx)
{
	const struct api_tally_row *w;
	struct api_tally_row *other = NULL;
	size_t i;
	int rc = 0, nother = 0, exact;

	/* A dealer's report: no row of fewer consumers, whatever its key. */
	if (q->min_consumers > 1) {
		if ((other = yima_calloc(1, sizeof(*other))) == NULL)
			return YIMA_ENOMEM;
		if ((rc = merge_small(t, q, other, &nother)) != 0)
			goto done;
	}
	for (i = 0; i < api_tally_count(t); i++) {
		if ((w = api_tally_sorted(t, i)) == NULL) {
			rc = YIMA_ENOMEM;
			goto done;
		}
		if (!w->merged)
			emit(w, 0, fn, ctx);
	}
	/*
	 * Still too few, other is not sent: with a region filter it would be
	 * one shopper's scans in a named place. Nor is it said that it was
	 * held back: that alone tells none from one in a narrow filter.
	 */
	if (nother > 0 && consumers(other, &exact) >=
	    (uint64_t)q->min_consumers)
		emit(other, 1, fn, ctx);
done:
	yima_free(other);
	return rc;
}
