/* SPDX-License-Identifier: Apache-2.0 */
/* Counters and histograms for /metrics, lock-free. */
#include <inttypes.h>

#include "yima/store.h"

#include "metrics.h"

/* Upper bounds of the latency buckets, in microseconds (last: +Inf). */
static const uint64_t bounds_us[API_BUCKETS - 1] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000
};

static const int statuses[API_STATUSES] = {
	200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 413, 415, 429, 500,
	503, 0
};

static int
status_slot(int status)
{
	int i;

	for (i = 0; i < API_STATUSES - 1; i++)
		if (statuses[i] == status)
			return i;
	return API_STATUSES - 1;	/* any other */
}

static int
bucket(uint64_t us)
{
	int i;

	for (i = 0; i < API_BUCKETS - 1; i++)
		if (us <= bounds_us[i])
			return i;
	return API_BUCKETS - 1;
}

void
api_metrics_request(struct api_metrics *m, int route, int status, uint64_t us)
{
	if (route < 0 || route >= API_ROUTES)
		route = 0;
	atomic_fetch_add_explicit(&m->req[route][status_slot(status)], 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&m->lat_bucket[bucket(us)], 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&m->lat_count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->lat_sum_us, us, memory_order_relaxed);
}

void
api_metrics_verdict(struct api_metrics *m, int verdict)
{
	if (verdict > 0 && verdict < API_VERDICTS)
		atomic_fetch_add_explicit(&m->verdict[verdict], 1,
		    memory_order_relaxed);
}

void
api_metrics_commit(struct api_metrics *m, int writer, uint64_t us,
    int scans)
{
	if (writer >= 0 && writer < API_WRITERS)
		atomic_fetch_add_explicit(&m->writer_scans[writer],
		    (uint64_t)scans, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->commit_bucket[bucket(us)], 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&m->commit_count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->commit_sum_us, us, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->commit_scans, (uint64_t)scans,
	    memory_order_relaxed);
}

static int
histogram(struct yima_buf *out, const char *name, _Atomic uint64_t *b,
    uint64_t count, uint64_t sum_us)
{
	uint64_t cum = 0;
	int i, rc = 0;

	for (i = 0; i < API_BUCKETS && rc == 0; i++) {
		cum += atomic_load_explicit(&b[i], memory_order_relaxed);
		if (i < API_BUCKETS - 1)
			rc = yima_buf_printf(out, "%s_bucket{le=\"%g\"} %"
			    PRIu64 "\n", name, (double)bounds_us[i] / 1e6, cum);
		else
			rc = yima_buf_printf(out, "%s_bucket{le=\"+Inf\"} %"
			    PRIu64 "\n", name, cum);
	}
	if (rc == 0)
		rc = yima_buf_printf(out, "%s_sum %.6f\n%s_count %" PRIu64 "\n",
		    name, (double)sum_us / 1e6, name, count);
	return rc;
}

int
api_metrics_render(struct api_metrics *m, const char *const *route_names,
    uint64_t depth, uint64_t inflight, struct yima_buf *out)
{
	uint64_t v;
	int r, s, rc;

	rc = yima_buf_puts(out, "# HELP yima_requests_total HTTP requests "
	    "by route and status.\n# TYPE yima_requests_total counter\n");
	for (r = 0; r < API_ROUTES && rc == 0; r++) {
		for (s = 0; s < API_STATUSES && rc == 0; s++) {
			v = atomic_load_explicit(&m->req[r][s],
			    memory_order_relaxed);
			if (v == 0 || route_names[r] == NULL)
				continue;
			if (statuses[s] != 0)
				rc = yima_buf_printf(out, "yima_requests_total"
				    "{route=\"%s\",status=\"%d\"} %" PRIu64
				    "\n", route_names[r], statuses[s], v);
			else
				rc = yima_buf_printf(out, "yima_requests_total"
				    "{route=\"%s\",status=\"other\"} %" PRIu64
				    "\n", route_names[r], v);
		}
	}
	if (rc == 0)
		rc = yima_buf_puts(out, "# HELP yima_scans_total Scans by "
		    "verdict.\n# TYPE yima_scans_total counter\n");
	for (r = 1; r < API_VERDICTS && rc == 0; r++)
		rc = yima_buf_printf(out, "yima_scans_total{verdict=\"%s\"} %"
		    PRIu64 "\n", yima_verdict_name(r),
		    atomic_load_explicit(&m->verdict[r], memory_order_relaxed));
	if (rc == 0)
		rc = yima_buf_puts(out, "# HELP yima_request_seconds Request "
		    "latency.\n# TYPE yima_request_seconds histogram\n");
	if (rc == 0)
		rc = histogram(out, "yima_request_seconds", m->lat_bucket,
		    atomic_load(&m->lat_count), atomic_load(&m->lat_sum_us));
	if (rc == 0)
		rc = yima_buf_puts(out, "# HELP yima_commit_seconds Duration of "
		    "a group commit.\n# TYPE yima_commit_seconds histogram\n");
	if (rc == 0)
		rc = histogram(out, "yima_commit_seconds", m->commit_bucket,
		    atomic_load(&m->commit_count),
		    atomic_load(&m->commit_sum_us));
	if (rc == 0)
		rc = yima_buf_printf(out, "# HELP yima_committed_scans_total "
		    "Scans committed.\n# TYPE yima_committed_scans_total "
		    "counter\nyima_committed_scans_total %" PRIu64 "\n"
		    "# HELP yima_scan_queue_depth Scans waiting for the writer.\n"
		    "# TYPE yima_scan_queue_depth gauge\n"
		    "yima_scan_queue_depth %" PRIu64 "\n"
		    "# HELP yima_requests_in_flight Requests being served.\n"
		    "# TYPE yima_requests_in_flight gauge\n"
		    "yima_requests_in_flight %" PRIu64 "\n"
		    "# HELP yima_store_conflicts_total Transactions another "
		    "writer made run again (PostgreSQL).\n"
		    "# TYPE yima_store_conflicts_total counter\n"
		    "yima_store_conflicts_total %" PRIu64 "\n"
		    "# HELP yima_store_statements_total SQL statements run.\n"
		    "# TYPE yima_store_statements_total counter\n"
		    "yima_store_statements_total %" PRIu64 "\n",
		    atomic_load(&m->commit_scans), depth, inflight,
		    yima_store_conflicts_total(), yima_store_statements_total());
	/* How evenly the serial blocks spread scans over the writers. */
	if (rc == 0)
		rc = yima_buf_puts(out, "# HELP yima_writer_scans_total Scans "
		    "committed by each writer thread.\n"
		    "# TYPE yima_writer_scans_total counter\n");
	for (r = 0; r < m->writers && r < API_WRITERS && rc == 0; r++)
		rc = yima_buf_printf(out, "yima_writer_scans_total"
		    "{writer=\"%d\"} %" PRIu64 "\n", r,
		    atomic_load(&m->writer_scans[r]));
	if (rc == 0)
		rc = yima_buf_printf(out, "# HELP yima_keyring_reloads_total "
		    "Keyring reloads (SIGHUP, or a code or manifest naming an "
		    "unknown key id).\n"
		    "# TYPE yima_keyring_reloads_total counter\n"
		    "yima_keyring_reloads_total %" PRIu64 "\n"
		    "# HELP yima_keyring_reload_errors_total Reloads that found "
		    "a bad keyring and kept the keys loaded.\n"
		    "# TYPE yima_keyring_reload_errors_total counter\n"
		    "yima_keyring_reload_errors_total %" PRIu64 "\n"
		    "# HELP yima_keyring_keys Keys codes are verified with.\n"
		    "# TYPE yima_keyring_keys gauge\n"
		    "yima_keyring_keys %" PRIu64 "\n"
		    "# HELP yima_node The node number this node serves as "
		    "(PostgreSQL; taken at start unless --node-id pins it).\n"
		    "# TYPE yima_node gauge\nyima_node %d\n",
		    atomic_load(&m->keyring_reloads),
		    atomic_load(&m->keyring_errors),
		    atomic_load(&m->keyring_keys), m->node);
	return rc;
}
