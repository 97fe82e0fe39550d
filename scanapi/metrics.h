/* SPDX-License-Identifier: Apache-2.0 */
/* Counters and histograms for /metrics (Prometheus text format). */
#ifndef API_METRICS_H
#define API_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "yima/buf.h"

#define API_ROUTES	40	/* route ids: see routes.h */
#define API_STATUSES	16	/* distinct status codes tracked */
#define API_VERDICTS	8
#define API_BUCKETS	14
#define API_WRITERS	16	/* --db-writers at most */

struct api_metrics {
	_Atomic uint64_t req[API_ROUTES][API_STATUSES];
	_Atomic uint64_t verdict[API_VERDICTS];
	_Atomic uint64_t lat_bucket[API_BUCKETS];	/* request latency */
	_Atomic uint64_t lat_count, lat_sum_us;
	_Atomic uint64_t commit_bucket[API_BUCKETS];	/* commit latency */
	_Atomic uint64_t commit_count, commit_sum_us, commit_scans;
	_Atomic uint64_t writer_scans[API_WRITERS];	/* by writer thread */
	_Atomic uint64_t keyring_reloads, keyring_errors;	/* see keys.c */
	_Atomic uint64_t keyring_keys;
	int		 writers;	/* threads to show: set before start */
	int		 node;		/* its node number: set before start */
};

void api_metrics_request(struct api_metrics *m, int route, int status,
    uint64_t us);
void api_metrics_verdict(struct api_metrics *m, int verdict);
void api_metrics_commit(struct api_metrics *m, int writer, uint64_t us,
    int scans);
/*
 * Appends the Prometheus text; route_names[i] names route i, depth is the
 * scan queue depth now. Returns 0 or YIMA_ENOMEM.
 */
int api_metrics_render(struct api_metrics *m, const char *const *route_names,
    uint64_t depth, uint64_t inflight, struct yima_buf *out);

#endif /* API_METRICS_H */
