/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Group commit: writer threads (as many as the store takes write
 * transactions at once) record many scans per transaction.
 */
#ifndef API_SCANQ_H
#define API_SCANQ_H

#include <stdint.h>

#include "yima/store.h"

#include "consumer.h"
#include "reward.h"
#include "verdict.h"

#define API_SCANQ_BATCH	1024	/* scans per transaction at most */

struct api_job;
typedef void (*api_job_done_fn)(struct api_job *job);

/* A scan waiting for its commit; owned by the submitter throughout. */
struct api_job {
	struct api_scan_in	 in;
	struct api_scan_out	 out;
	struct api_reward	 rew;	/* the claim a genuine scan made */
	int			 rc;	/* 0: recorded and committed */
	char			 reissued[API_CID_LEN + 1];	/* a fresh
					   id for an erased one, "" none */
	api_job_done_fn		 done;	/* called by the writer thread */
	void			*ctx;
	struct api_job		*next;
};

struct api_scanq;

/*
 * Starts the writer threads, each with a reward engine of rcfg (NULL: no
 * rewards); cid_mac (borrowed; NULL: not checked) signs consumer ids, so
 * that a scan with an erased one gets a fresh one; on_commit (may be
 * NULL) hears the writer (0 to n-1), duration and size of every committed
 * transaction. Returns 0 or YIMA_ENOMEM/EIO.
 */
int api_scanq_start(struct yima_store *st, const struct api_verdict_cfg *cfg,
    const struct api_reward_cfg *rcfg, const struct yima_mac *cid_mac,
    void (*on_commit)(void *ctx, int writer, uint64_t us, int n), void *ctx,
    struct api_scanq **out);
/*
 * Queues a job; job->done is called (from the writer thread) after its
 * transaction commits or fails. Returns 0, or YIMA_EIO when stopping.
 */
int api_scanq_submit(struct api_scanq *q, struct api_job *job);
/*
 * 1 when every writer keeps up: none has had a scan waiting, nor a batch
 * in its transaction, for stall_us (systemd's watchdog asks this).
 */
int api_scanq_alive(struct api_scanq *q, uint64_t stall_us);
/* Jobs waiting now. */
uint64_t api_scanq_depth(struct api_scanq *q);
/*
 * Finishes every queued job (each gets its done call) and stops the
 * threads; later submits fail with YIMA_EIO. q stays valid.
 */
void api_scanq_drain(struct api_scanq *q);
/* Drains (if not yet) and frees q; NULL is a no-op. */
void api_scanq_stop(struct api_scanq *q);

#endif /* API_SCANQ_H */
