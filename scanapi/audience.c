/* SPDX-License-Identifier: Apache-2.0 */
/* The audience: channel funnels and consumers' lifecycle stages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "audience.h"

#define HOUR_MS		(3600LL * 1000)
#define DAY_MS		(24 * HOUR_MS)
#define NEVER		INT64_MAX

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* At risk after twice the consumer's median gap, at least 30 days. */
static int64_t
risk_after(const struct yima_segment *s)
{
	int64_t g[API_STAGE_GAPS], least = 30 * DAY_MS;
	const char *p;
	char *end;
	size_t n = 0;

	for (p = s->gaps; *p != '\0' && n < API_STAGE_GAPS;
	    p = *end == ',' ? end + 1 : end) {
		g[n] = strtoll(p, &end, 10);
		if (end == p)
			break;
		n++;
	}
	if (n == 0)
		return least;
	qsort(g, n, sizeof(g[0]), cmp64);
	/* Of an even count, the upper middle: a little more patience. */
	return 2 * g[n / 2] * HOUR_MS > least ? 2 * g[n / 2] * HOUR_MS : least;
}

const char *
api_stage_at(const struct yima_segment *s, int64_t t)
{
	if (t - s->first_at < API_STAGE_NEW_MS)
		return "new";
	if (t - s->last_at >= API_STAGE_LAPSED_MS)
		return "lapsed";
	if (t - s->last_at >= risk_after(s))
		return "at_risk";
	return "active";
}

int64_t
api_stage_due(const struct yima_segment *s, int64_t t)
{
	int64_t c[3], best = NEVER;
	int i;

	c[0] = s->first_at + API_STAGE_NEW_MS;
	c[1] = s->last_at + risk_after(s);
	c[2] = s->last_at + API_STAGE_LAPSED_MS;
	for (i = 0; i < 3; i++)
		if (c[i] > t && c[i] < best)
			best = c[i];
	return best;
}

int64_t
api_month_of(int64_t t)
{
	time_t secs = (time_t)((t + YIMA_DAY_OFFSET_MS) / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	return (int64_t)(tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
}

static const char *const stage_names[] = { "new", "active", "at_risk",
    "lapsed" };

/* The static name of stage text (moves outlive the row they came of). */
static const char *
stage_name(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(stage_names) / sizeof(stage_names[0]); i++)
		if (strcmp(s, stage_names[i]) == 0)
			return stage_names[i];
	return "";
}

/* A stage's moves up to t, without a scan: at most new, active, at risk,
 * lapsed. */
struct moves {
	int		 n;
	int64_t		 at[4];
	const char	*src[4], *dst[4];
};

static void
advance(struct yima_segment *s, int64_t upto, struct moves *m)
{
	const char *st;
	int64_t t;

	while (s->due_at <= upto && m->n < 4) {
		t = s->due_at;
		st = api_stage_at(s, t);
		if (strcmp(st, s->stage) != 0) {
			m->at[m->n] = t;
			m->src[m->n] = stage_name(s->stage);
			m->dst[m->n++] = st;
		}
		snprintf(s->stage, sizeof(s->stage), "%s", st);
		s->due_at = api_stage_due(s, t);
	}
}

/*
 * The transaction's changes to the counts and moves, summed in memory
 * and written once per key just before it commits: a batch of scans by
 * new consumers of one place writes two rows, not two per scan.
 */
struct delta {
	int64_t		 month;		/* a move's; 0 for a count */
	char		 region[7];
	const char	*a, *b;		/* stage and "", or src and dst */
	char		 tier[32];
	int64_t		 n;
};

struct deltas {
	struct delta	*d;
	size_t		 n, cap;
};

static void
deltas_end(struct yima_tx *tx)
{
	void **slot = yima_tx_later(tx, YIMA_LATER_AUDIENCE, NULL, NULL);
	struct deltas *ds = *slot;

	if (ds != NULL)
		yima_free(ds->d);
	yima_free(ds);
	*slot = NULL;
}

static int
deltas_flush(struct yima_tx *tx)
{
	struct deltas *ds = *yima_tx_later(tx, YIMA_LATER_AUDIENCE,
	    deltas_flush, deltas_end);
	struct delta *d;
	size_t i;
	int rc = 0;

	for (i = 0; ds != NULL && i < ds->n && rc == 0; i++) {
		d = &ds->d[i];
		if (d->n == 0)
			continue;
		rc = d->month == 0 ? yima_tx_segment_count(tx, d->region, d->a,
		    d->tier, d->n) : yima_tx_segment_move(tx, d->month,
		    d->region, d->a, d->b, d->n);
	}
	return rc;
}

/* Adds n under a key (its stage names static: kept by address). */
static int
delta_add(struct yima_tx *tx, int64_t month, const char *region,
    const char *a, const char *b, const char *tier, int64_t n)
{
	void **slot = yima_tx_later(tx, YIMA_LATER_AUDIENCE, deltas_flush,
	    deltas_end);
	struct deltas *ds = *slot;
	struct delta *d;
	size_t i, cap;

	if (ds == NULL && (ds = *slot = yima_calloc(1, sizeof(*ds))) == NULL)
		return YIMA_ENOMEM;
	for (i = 0; i < ds->n; i++) {
		d = &ds->d[i];
		if (d->month == month && strcmp(d->a, a) == 0 &&
		    strcmp(d->b, b) == 0 && strcmp(d->region, region) == 0 &&
		    strcmp(d->tier, tier) == 0) {
			d->n += n;
			return 0;
		}
	}
	if (ds->n == ds->cap) {
		cap = ds->cap ? ds->cap * 2 : 32;
		if ((d = yima_realloc(ds->d, cap * sizeof(*d))) == NULL)
			return YIMA_ENOMEM;
		ds->d = d;
		ds->cap = cap;
	}
	d = &ds->d[ds->n++];
	memset(d, 0, sizeof(*d));
	d->month = month;
	snprintf(d->region, sizeof(d->region), "%s", region);
	d->a = a;
	d->b = b;
	snprintf(d->tier, sizeof(d->tier), "%s", tier);
	d->n = n;
	return 0;
}

/* The counts and moves of a row that went from was to s (was NULL: new). */
static int
counted(struct yima_tx *tx, const struct yima_segment *was,
    const struct yima_segment *s, const struct moves *m)
{
	int i, rc;

	for (i = 0; i < m->n; i++)
		if ((rc = delta_add(tx, api_month_of(m->at[i]), s->region,
		    m->src[i], m->dst[i], "", 1)) != 0)
			return rc;
	if (was != NULL && strcmp(was->region, s->region) == 0 &&
	    strcmp(was->stage, s->stage) == 0 &&
	    strcmp(was->tier, s->tier) == 0)
		return 0;
	if (was != NULL && (rc = delta_add(tx, 0, was->region,
	    stage_name(was->stage), "", was->tier, -1)) != 0)
		return rc;
	return delta_add(tx, 0, s->region, stage_name(s->stage), "", s->tier,
	    1);
}

/* Appends a gap (hours, up to 100 years' worth), keeping the last
 * API_STAGE_GAPS: at most 15 of 7 characters and commas fit. */
static void
gap_add(struct yima_segment *s, int64_t hours)
{
	char buf[YIMA_GAPS_MAX + 16];
	const char *p;
	size_t n = 0;

	for (p = s->gaps; *p != '\0'; p++)
		n += *p == ',';
	p = s->gaps;
	if (s->gaps[0] != '\0' && n + 1 >= API_STAGE_GAPS)
		p = strchr(p, ',') + 1;		/* the oldest goes */
	if (hours > 999999)
		hours = 999999;
	snprintf(buf, sizeof(buf), "%s%s%lld", p, *p ? "," : "",
	    (long long)hours);
	if (strlen(buf) < sizeof(s->gaps))
		memcpy(s->gaps, buf, strlen(buf) + 1);
}

/* A genuine scan of a bottle by a consumer moves their stage. */
static int
stage_scan(struct yima_tx *tx, const char *tier0,
    const struct api_scan_in *in, const struct api_scan_out *out,
    const struct api_reward *rew)
{
	struct yima_segment was, s;
	struct moves m;
	const char *st;
	int64_t now;
	int rc, changed, fresh;

	memset(&m, 0, sizeof(m));
	rc = yima_tx_segment_get(tx, in->consumer, &was);
	if (rc != 0 && rc != YIMA_ENOENT)
		return rc;
	if ((fresh = rc == YIMA_ENOENT)) {
		memset(&s, 0, sizeof(s));
		snprintf(s.consumer, sizeof(s.consumer), "%s", in->consumer);
		snprintf(s.tier, sizeof(s.tier), "%s", tier0);
		s.first_at = s.last_at = in->at;
	} else {
		s = was;
		/* What time did to them before this scan. */
		advance(&s, in->at, &m);
		/* Another bottle is a purchase (its cap code is not). */
		if (out->item != s.item && in->at > s.last_at) {
			if (in->at - s.last_at >= HOUR_MS)
				gap_add(&s, (in->at - s.last_at) / HOUR_MS);
			s.last_at = in->at;
		}
	}
	s.item = out->item;
	if (in->region[0] != '\0')
		memcpy(s.region, in->region, sizeof(s.region));
	if (rew != NULL && rew->tier != NULL)
		snprintf(s.tier, sizeof(s.tier), "%s", rew->tier);
	/* A scan older than the last purchase (out of order) is judged at
	 * that purchase: stages never go back in time. */
	now = in->at > s.last_at ? in->at : s.last_at;
	st = api_stage_at(&s, now);
	if (m.n < 4 && strcmp(st, s.stage) != 0) {
		m.at[m.n] = now;
		m.src[m.n] = stage_name(s.stage);
		m.dst[m.n++] = st;
	}
	snprintf(s.stage, sizeof(s.stage), "%s", st);
	s.due_at = api_stage_due(&s, now);
	if ((rc = yima_tx_segment_put(tx, &s, fresh ? NULL : &was,
	    &changed)) != 0)
		return rc;
	if (!changed)
		return YIMA_EBUSY;	/* another node moved them first */
	return counted(tx, fresh ? NULL : &was, &s, &m);
}

int
api_audience_record(struct yima_tx *tx, const char *tier0,
    const struct api_scan_in *in, const struct api_scan_out *out,
    const struct api_reward *rew)
{
	int64_t day = (in->at + YIMA_DAY_OFFSET_MS) / DAY_MS;
	int claimed, rc;

	if (!in->valid)
		return 0;
	if (in->code.kind == YIMA_KIND_CHANNEL)
		return out->has_channel ? yima_tx_funnel_scan(tx,
		    out->channel.serial, in->consumer, day) : 0;
	if (in->consumer[0] == '\0' || !out->counted ||
	    out->verdict != YIMA_V_GENUINE)
		return 0;
	claimed = rew != NULL && rew->claim > 0 && rew->reason == NULL;
	if (out->has_channel && (rc = yima_tx_funnel_buy(tx,
	    out->channel.serial, in->consumer, out->item, in->at, claimed,
	    rew != NULL ? rew->commission : 0, day)) != 0)
		return rc;
	return stage_scan(tx, tier0, in, out, claimed ? rew : NULL);
}

/* ---- the sweep ---- */

struct due {
	struct yima_segment	*rows;
	size_t			 n, max;
};

static void
due_add(void *ctx, const struct yima_segment *s)
{
	struct due *d = ctx;

	if (d->n < d->max)
		d->rows[d->n++] = *s;
}

struct sweep {
	struct yima_store	*st;
	int64_t			 now;
	int			 max, *n;
};

static int
sweep_once(void *arg)
{
	struct sweep *w = arg;
	struct yima_segment s;
	struct yima_tx *tx;
	struct moves m;
	struct due d;
	size_t i;
	int rc, changed;

	*w->n = 0;
	d.n = 0;
	d.max = (size_t)w->max;
	if ((d.rows = yima_calloc(d.max, sizeof(*d.rows))) == NULL)
		return YIMA_ENOMEM;
	if ((rc = yima_tx_begin(w->st, 1, &tx)) != 0)
		goto out;
	rc = yima_tx_segment_due(tx, w->now, w->max, due_add, &d);
	for (i = 0; rc == 0 && i < d.n; i++) {
		s = d.rows[i];
		memset(&m, 0, sizeof(m));
		advance(&s, w->now, &m);
		if ((rc = yima_tx_segment_put(tx, &s, &d.rows[i],
		    &changed)) == 0 && changed)
			rc = counted(tx, &d.rows[i], &s, &m);
	}
	if (rc != 0) {
		yima_tx_rollback(tx);
		goto out;
	}
	if ((rc = yima_tx_commit(tx)) == 0)
		*w->n = (int)d.n;
out:
	yima_free(d.rows);
	return rc;
}

int
api_audience_sweep(struct yima_store *st, int64_t now, int max, int *n)
{
	struct sweep w = { st, now, max, n };

	return yima_store_rerun(sweep_once, &w);
}
