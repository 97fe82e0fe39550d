/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audience: whom each channel code brings and how far they go (a
 * funnel), and each consumer's lifecycle stage (new, active, at_risk,
 * lapsed) from their genuine scans, kept as scans come so that reports
 * read counters. (A/B arms are the reward engine's: reward.c.)
 */
#ifndef API_AUDIENCE_H
#define API_AUDIENCE_H

#include <stdint.h>

#include "yima/store.h"

#include "reward.h"
#include "verdict.h"

#define API_STAGE_NEW_MS	(30LL * 24 * 3600 * 1000)
#define API_STAGE_LAPSED_MS	(90LL * 24 * 3600 * 1000)
#define API_STAGE_GAPS		15	/* gaps a median is taken over */

/*
 * Counts a scan just recorded (and its claim, rew; NULL none) in the
 * channel funnels and the consumer's stage, in its write transaction.
 * tier0 is the lowest tier's name. YIMA_EBUSY when another writer moved
 * the consumer meanwhile (the batch runs again).
 */
int api_audience_record(struct yima_tx *tx, const char *tier0,
    const struct api_scan_in *in, const struct api_scan_out *out,
    const struct api_reward *rew);

/*
 * Moves the consumers whose stage time has changed (nobody scanned) up
 * to now, at most max of them, in one transaction; *n how many.
 */
int api_audience_sweep(struct yima_store *st, int64_t now, int max, int *n);

/* The stage of s at t, with no scan after s->last_at. */
const char *api_stage_at(const struct yima_segment *s, int64_t t);
/* The next time after t the stage of s changes with no scan: INT64_MAX
 * when never. */
int64_t api_stage_due(const struct yima_segment *s, int64_t t);
/* yyyymm of ms t in China time. */
int64_t api_month_of(int64_t t);

#endif /* API_AUDIENCE_H */
