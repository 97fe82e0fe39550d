/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Report rollups, the domain's side. A transaction's product scans and
 * claims are summed in a tally in memory and added to the rollup tables
 * once per row just before it commits (a group commit of many scans of
 * one place and product writes four rows, not four per scan); each row's
 * stored consumer sketch is read, merged here and written back. A report
 * sums its table's rows here too. The store only reads and writes rows
 * (store_report.c): the sums and sketches are tally.c's and sketch.c's.
 */
#include <string.h>

#include "yima/err.h"
#include "yima/store.h"

#include "tally.h"

static void
end(struct yima_tx *tx)
{
	void **t = yima_tx_later(tx, YIMA_LATER_ROLLUPS, NULL, NULL);

	api_tally_free(*t);	/* counts not committed go with it */
	*t = NULL;
}

/* The tally's rows as rows of their tables (sorted: table by table). */
static int
flush(struct yima_tx *tx)
{
	struct api_tally *t = *yima_tx_later(tx, YIMA_LATER_ROLLUPS, flush,
	    end);
	struct api_tally_row *r;
	struct yima_rollup_row w;
	uint8_t old[API_SKETCH_MAX];
	size_t i, len;
	int rc;

	for (i = 0; t != NULL && i < api_tally_count(t); i++) {
		if ((r = api_tally_sorted(t, i)) == NULL)
			return YIMA_ENOMEM;
		memset(&w, 0, sizeof(w));
		w.table = r->key.tag;
		w.day = r->key.day;
		w.dealer = r->key.a;
		w.region = r->key.b;
		w.gtin = r->key.c;
		if ((rc = yima_tx_rollup_sketch(tx, &w, old, sizeof(old),
		    &len)) != 0)
			return rc;
		if (len > 0 && api_tally_merge(r, old, len) != 0)
			return YIMA_EDB;	/* a stored sketch is not one */
		w.scans = r->scans;
		w.genuine = r->genuine;
		w.repeat = r->repeat;
		w.suspect = r->suspect;
		w.claims = r->claims;
		w.sketch = r->len > 0 ? r->sk : NULL;
		w.len = r->len;
		if ((rc = yima_tx_rollup_put(tx, &w)) != 0)
			return rc;
	}
	return 0;
}

int
yima_tx_rollup_scan(struct yima_tx *tx, const struct yima_rollup_key *k,
    int verdict, const uint64_t *consumer)
{
	return api_tally_scan((struct api_tally **)yima_tx_later(tx,
	    YIMA_LATER_ROLLUPS, flush, end), k, verdict, consumer);
}

int
yima_tx_rollup_claim(struct yima_tx *tx, const struct yima_rollup_key *k)
{
	return api_tally_claim((struct api_tally **)yima_tx_later(tx,
	    YIMA_LATER_ROLLUPS, flush, end), k);
}

/* A report's row, summed under its key. */
static int
add(void *ctx, const struct yima_rollup_row *r)
{
	const struct yima_report_q *q = ((void **)ctx)[1];
	struct api_tally *t = ((void **)ctx)[0];
	struct api_tally_row *a;
	struct api_tally_key k;

	memset(&k, 0, sizeof(k));
	if (q->by == YIMA_BY_DAY)
		k.day = r->day;
	else
		strncpy(k.a, r->key, sizeof(k.a) - 1);
	if ((a = api_tally_row(t, &k)) == NULL)
		return YIMA_ENOMEM;
	a->scans += r->scans;
	a->genuine += r->genuine;
	a->repeat += r->repeat;
	a->suspect += r->suspect;
	a->claims += r->claims;
	if (r->len > 0 && api_tally_merge(a, r->sketch, r->len) != 0)
		return YIMA_EDB;	/* a row's consumers is not a sketch */
	return 0;
}

/*
 * The report: the rows streamed in table order and summed here (GROUP BY
 * would sort every row with its 1 KB sketch).
 */
int
yima_tx_report_scans(struct yima_tx *tx, const struct yima_report_q *q,
    void (*fn)(void *ctx, const struct yima_report_row *r), void *ctx)
{
	struct api_tally *t;
	void *c[2];
	int rc;

	if ((t = api_tally_new()) == NULL)
		return YIMA_ENOMEM;
	c[0] = t;
	c[1] = (void *)(uintptr_t)q;
	if ((rc = yima_tx_rollup_rows(tx, q, api_report_table(q), add, c)) == 0)
		rc = api_tally_report(t, q, fn, ctx);
	api_tally_free(t);
	return rc;
}
