/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tallies: report counters and consumer sketches summed per key in
 * memory. A report streams its rollup rows once, in table order, and
 * sums them here instead of asking the database to sort rows with their
 * sketches (a sort copies every 1 KB sketch); the writer sums a group
 * commit's scans here and writes each rollup row once per transaction.
 * Plain C over the sketch code, so any store back-end can use it.
 */
#ifndef API_TALLY_H
#define API_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "sketch.h"
#include "yima/store.h"

/* What a tally row is counted under: a table tag, a day, three strings. */
struct api_tally_key {
	int		 tag;		/* which rollup table, for the writer */
	int64_t		 day;
	char		 a[65];		/* dealer, or the report's key */
	char		 b[7];		/* region */
	char		 c[15];		/* GTIN */
};

struct api_tally_row {
	struct api_tally_key key;
	int64_t		 scans, genuine, repeat, suspect, claims;
	int		 merged;	/* into a coarser row: not reported */
	size_t		 len;		/* of sk; 0 no consumer seen */
	uint8_t		 sk[API_SKETCH_MAX];
};

struct api_tally;

/* Returns NULL out of memory. */
struct api_tally *api_tally_new(void);
void api_tally_free(struct api_tally *t);
/* Empties it, keeping its memory for the next use. */
void api_tally_clear(struct api_tally *t);
/*
 * The row of k, created zeroed when new; NULL out of memory. Valid until
 * the next api_tally_row call.
 */
struct api_tally_row *api_tally_row(struct api_tally *t,
    const struct api_tally_key *k);
/* Merges sketch s (len bytes; NULL or 0 none) into r. -1 if s is not one. */
int api_tally_merge(struct api_tally_row *r, const uint8_t *s, size_t len);
/* Adds consumer hash h to r's sketch. */
void api_tally_consumer(struct api_tally_row *r, uint64_t h);
size_t api_tally_count(const struct api_tally *t);
/*
 * The rows sorted by (tag, day, a, b, c); for i < api_tally_count(). A row
 * may be changed (a stored sketch merged in) but not its key.
 */
struct api_tally_row *api_tally_sorted(struct api_tally *t, size_t i);

/*
 * The rollup tables a scan counts in, as tally tags: the fine (region,
 * day, owner, GTIN) table, then per (day, owner, region), per (owner,
 * day, GTIN) and per (day, GTIN). Both back-ends flush in this order.
 */
enum { API_ROLLUP_FINE, API_ROLLUP_REGIONS, API_ROLLUP_SKUS,
    API_ROLLUP_GTINS, API_ROLLUPS };

/*
 * Counts a product scan (verdict, consumer's api_sketch_hash or NULL) or a
 * claim under k in every rollup table of *t, created when NULL. 0 or
 * YIMA_ENOMEM.
 */
int api_tally_scan(struct api_tally **t, const struct yima_rollup_key *k,
    int verdict, const uint64_t *consumer);
int api_tally_claim(struct api_tally **t, const struct yima_rollup_key *k);

/*
 * A scan report (both back-ends): the smallest rollup table that has the
 * columns q asks for, and the summed rows (keyed by a, or by day) handed
 * to fn in key order, cells under q->min_consumers merged first (see
 * struct yima_report_q; an `other` row comes last). api_tally_report
 * returns 0, YIMA_ENOMEM, or YIMA_EDB when a sketch does not merge.
 */
const char *api_report_table(const struct yima_report_q *q);
int api_tally_report(struct api_tally *t, const struct yima_report_q *q,
    void (*fn)(void *ctx, const struct yima_report_row *r), void *ctx);

#endif /* API_TALLY_H */
