/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Group commit: many scans, one transaction, then every answer. As many
 * writer threads as the store takes write transactions at once (SQLite
 * one, PostgreSQL --db-writers), each with its own queue and reward
 * engine. A code goes to the writer of its block of 4,096 serials: two
 * writers then seldom touch the same index pages, where PostgreSQL's
 * serializable checks would see conflicts that are not there.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "audience.h"
#include "scanq.h"

#define LANE_SHIFT	12	/* serials per writer block: 4,096 */

struct api_writer {
	struct api_scanq	*q;
	struct api_rewards	*rw;	/* this thread's; NULL: no rewards */
	pthread_t		 thread;
	pthread_cond_t		 cond;
	struct api_job		*head, *tail;	/* under q->lock */
	uint64_t		 waiting_since;	/* head's wait began, us; 0 */
	uint64_t		 busy_since;	/* its batch began, us; 0 idle */
	int			 upkeep;	/* this one does the upkeep */
	struct api_job		*held[API_SCANQ_BATCH];	/* with an id */
	char			 hash[API_SCANQ_BATCH][65];	/* theirs */
	int			 erased[API_SCANQ_BATCH];
	const struct api_scan_in *ins[API_SCANQ_BATCH];	/* the batch's */
};

struct api_scanq {
	struct yima_store	*st;
	struct api_verdict_cfg	 cfg;
	const struct yima_mac	*cid_mac;
	char			 tier0[32];	/* the lowest tier's name */
	struct api_writer	*w;
	int			 lanes;	/* writers made */
	int			 nw;	/* writer threads running */
	pthread_mutex_t		 lock;
	uint64_t		 depth;
	int			 stopping;
	uint64_t		 upkeep_due;	/* monotonic us */
	int			 batch_max;	/* the store's, for a batch */
	void			(*on_commit)(void *, int, uint64_t, int);
	void			*ctx;
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

#define RETRIES_MAX	3	/* jobs a batch may drop before it fails */

/*
 * An erased consumer id is never recorded again: the batch's ids are
 * looked up at once, and a scan with an erased one is recorded under a
 * fresh id, which its answer gives (the erased account stays as it is).
 */
static int
screen(struct api_writer *w, struct yima_tx *tx, struct api_job *batch)
{
	const struct yima_mac *mac = w->q->cid_mac;
	struct api_job *j;
	size_t i, n = 0;
	int rc;

	if (mac == NULL)
		return 0;
	for (j = batch; j != NULL && n < API_SCANQ_BATCH; j = j->next)
		if (j->in.consumer[0] != '\0' && !j->in.consumer_new) {
			api_consumer_hash(mac, j->in.consumer, w->hash[n]);
			w->held[n++] = j;
		}
	if (n == 0)
		return 0;
	if ((rc = yima_tx_consumers_erased(tx,
	    (const char (*)[65])w->hash, n, w->erased)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (!w->erased[i])
			continue;
		j = w->held[i];
		if (api_consumer_new(mac, j->reissued) != 0)
			return YIMA_EIO;
		memcpy(j->in.consumer, j->reissued, API_CONSUMER_ID_LEN);
		j->in.consumer[API_CONSUMER_ID_LEN] = '\0';
		j->in.consumer_new = 1;
	}
	return 0;
}

/* The batch's reads ahead, and its writes held to go in together. */
static int
ahead(struct api_writer *w, struct yima_tx *tx, struct api_job *batch)
{
	size_t n = 0;

	int rc;

	for (; batch != NULL && n < API_SCANQ_BATCH; batch = batch->next)
		w->ins[n++] = &batch->in;
	if ((rc = api_verdict_ahead(tx, w->ins, n)) != 0)
		return rc;
	return w->rw != NULL ? api_reward_ahead(w->rw, tx, w->ins, n) : 0;
}

/*
 * Records a batch in one transaction. A job whose scan or claim fails
 * is dropped (answered with its error) and the rest run again, so one
 * bad claim does not cost a thousand scans; a failure no job explains
 * (begin, commit) fails the whole batch, and none is kept.
 */
static void
run_batch(struct api_writer *w, struct api_job *batch)
{
	struct api_scanq *q = w->q;
	struct api_rewards *rw = w->rw;
	struct yima_tx *tx = NULL;
	struct api_job *j, *next, **link, *bad;
	uint64_t t0 = now_us();
	int rc, n, drops = 0, conflicts = 0;

again:
	bad = NULL;
	n = 0;
	/*
	 * Batches take turns (PostgreSQL; every node's): two at once nearly
	 * always met on an index page (the rollups' of the day, say) and one
	 * ran again, which cost more than the wait. Measured with two nodes
	 * on this machine: 5.7k scans/s and no conflict in turns, 5.3k and
	 * 1,600 conflicts in 5 s side by side. A batch's answers come once
	 * it commits either way.
	 */
	if ((rc = yima_tx_begin_queued(q->st, YIMA_QUEUE_BATCHES, &tx)) == 0 &&
	    ((rc = screen(w, tx, batch)) != 0 || (rc = ahead(w, tx,
	    batch)) != 0))
		yima_tx_rollback(tx);
	else if (rc == 0) {
		for (j = batch; j != NULL && rc == 0; j = j->next) {
			rc = api_verdict_record(tx, &q->cfg, &j->in, &j->out);
			if (rc == 0 && rw != NULL)
				rc = api_reward_claim(rw, tx, &j->in,
				    &j->out, &j->rew);
			if (rc == 0)
				rc = api_audience_record(tx, q->tier0, &j->in,
				    &j->out, rw != NULL ? &j->rew : NULL);
			if (rc != 0)
				bad = j;
			n++;
		}
		if (rc == 0)
			rc = yima_tx_commit(tx);
		else
			yima_tx_rollback(tx);
	}
	/*
	 * Another writer (a node on the same PostgreSQL) changed what this
	 * batch read: nothing of it was kept, so it runs again whole, after
	 * a short wait that grows.
	 */
	if (rc == YIMA_EBUSY && conflicts++ < YIMA_STORE_RERUNS) {
		yima_store_conflict_wait(conflicts);
		goto again;
	}
	if (bad != NULL && drops++ < RETRIES_MAX) {
		for (link = &batch; *link != bad; link = &(*link)->next)
			;
		*link = bad->next;
		bad->rc = rc;
		bad->done(bad);
		if (batch != NULL)
			goto again;
		return;
	}
	if (q->on_commit != NULL && rc == 0)
		q->on_commit(q->ctx, (int)(w - q->w), now_us() - t0, n);
	/* What no job explains is the operator's to see (thread's message). */
	if (rc != 0 && bad == NULL)
		fprintf(stderr, "yima-scanapi: writer: a batch of %d scans "
		    "failed: %s\n", n, yima_store_errmsg(q->st));
	/* Answer only now: every 200 is a committed scan. */
	for (j = batch; j != NULL; j = next) {
		next = j->next;
		j->rc = rc;
		j->done(j);
	}
}

#define COARSEN_BATCH	10000	/* scans an upkeep transaction takes */

/*
 * Upkeep while no scan waits: raw places older than the retention are
 * coarsened, and consumer ids older than theirs dropped, one batch each
 * per idle wake-up, so scans never wait long.
 */
static void
upkeep(struct api_scanq *q)
{
	int64_t now = (int64_t)time(NULL) * 1000, day = 24 * 3600 * 1000;
	int n;

	/* Other writers' batches may meet it: it runs again (the store's). */
	if (q->cfg.retention_days > 0)
		yima_store_coarsen(q->st, now - (int64_t)q->cfg.retention_days *
		    day, COARSEN_BATCH, &n);
	if (q->cfg.consumer_days > 0) {
		yima_store_consumers_drop(q->st, now -
		    (int64_t)q->cfg.consumer_days * day, COARSEN_BATCH, &n);
		yima_store_audience_drop(q->st, now -
		    (int64_t)q->cfg.consumer_days * day, COARSEN_BATCH, &n);
	}
	/* Consumers whose stage time changed, nobody scanning. */
	api_audience_sweep(q->st, now, COARSEN_BATCH, &n);
}

/*
 * Upkeep once it is due, busy or idle (a steady trickle of scans must
 * not put it off for ever). Called and returns with q->lock held.
 */
static void
upkeep_if_due(struct api_writer *w)
{
	struct api_scanq *q = w->q;
	uint64_t now = now_us();

	if (!w->upkeep || now < q->upkeep_due)
		return;
	q->upkeep_due = now + (uint64_t)q->cfg.upkeep_s * 1000000;
	pthread_mutex_unlock(&q->lock);
	upkeep(q);
	pthread_mutex_lock(&q->lock);
}

static void *
writer(void *arg)
{
	struct api_writer *w = arg;
	struct api_scanq *q = w->q;
	struct api_job *batch, *last;
	struct timespec ts;
	int n;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (w->head == NULL && !q->stopping) {
			/* The condition waits on the monotonic clock. */
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += q->cfg.upkeep_s;
			if (pthread_cond_timedwait(&w->cond, &q->lock, &ts) !=
			    0 && w->head == NULL && !q->stopping)
				upkeep_if_due(w);
		}
		if (w->head == NULL)
			break;
		/* Take up to API_SCANQ_BATCH jobs in arrival order. */
		batch = last = w->head;
		for (n = 1; n < API_SCANQ_BATCH && n < q->batch_max &&
		    last->next != NULL; n++)
			last = last->next;
		w->head = last->next;
		if (w->head == NULL)
			w->tail = NULL;
		last->next = NULL;
		q->depth -= (uint64_t)n;
		/* What is left has waited only from now for this writer. */
		w->busy_since = now_us();
		w->waiting_since = w->head != NULL ? w->busy_since : 0;
		pthread_mutex_unlock(&q->lock);
		run_batch(w, batch);
		pthread_mutex_lock(&q->lock);
		w->busy_since = 0;
		upkeep_if_due(w);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int
api_scanq_alive(struct api_scanq *q, uint64_t stall_us)
{
	uint64_t now;
	int i, ok = 1;

	pthread_mutex_lock(&q->lock);
	now = now_us();		/* after the lock: no stamp is newer */
	for (i = 0; i < q->lanes; i++)
		if ((q->w[i].waiting_since != 0 &&
		    now - q->w[i].waiting_since >= stall_us) ||
		    (q->w[i].busy_since != 0 &&
		    now - q->w[i].busy_since >= stall_us))
			ok = 0;
	pthread_mutex_unlock(&q->lock);
	return ok;
}

int
api_scanq_start(struct yima_store *st, const struct api_verdict_cfg *cfg,
    const struct api_reward_cfg *rcfg, const struct yima_mac *cid_mac,
    void (*on_commit)(void *, int, uint64_t, int), void *ctx,
    struct api_scanq **out)
{
	struct api_scanq *q;
	pthread_condattr_t ca;
	int i, n = yima_store_writers(st), rc = YIMA_ENOMEM;

	if ((q = yima_calloc(1, sizeof(*q))) == NULL)
		return YIMA_ENOMEM;
	if ((q->w = yima_calloc((size_t)n, sizeof(*q->w))) == NULL) {
		yima_free(q);
		return YIMA_ENOMEM;
	}
	q->st = st;
	q->batch_max = yima_store_batch_max(st);
	q->cfg = *cfg;
	q->cid_mac = cid_mac;
	snprintf(q->tier0, sizeof(q->tier0), "%s", rcfg != NULL ?
	    rcfg->tiers[0].name : "member");
	q->on_commit = on_commit;
	q->ctx = ctx;
	q->upkeep_due = now_us() + (uint64_t)q->cfg.upkeep_s * 1000000;
	q->lanes = n;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (i = 0; i < n; i++) {
		q->w[i].q = q;
		q->w[i].upkeep = i == 0;
		pthread_cond_init(&q->w[i].cond, &ca);
	}
	pthread_condattr_destroy(&ca);
	for (i = 0; i < n; i++) {
		if (rcfg != NULL && api_rewards_new(rcfg, &q->w[i].rw) != 0)
			goto fail;
		if (pthread_create(&q->w[i].thread, NULL, writer, &q->w[i]) !=
		    0) {
			rc = YIMA_EIO;
			goto fail;
		}
		pthread_mutex_lock(&q->lock);
		q->nw++;
		pthread_mutex_unlock(&q->lock);
	}
	*out = q;
	return 0;
fail:
	api_scanq_stop(q);
	return rc;
}

int
api_scanq_submit(struct api_scanq *q, struct api_job *job)
{
	struct api_writer *w = &q->w[job->in.valid ? (job->in.code.serial >>
	    LANE_SHIFT) % (uint64_t)q->lanes : 0];

	job->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->stopping) {
		pthread_mutex_unlock(&q->lock);
		return YIMA_EIO;
	}
	if (w->tail != NULL)
		w->tail->next = job;
	else {
		w->head = job;
		w->waiting_since = now_us();
	}
	w->tail = job;
	q->depth++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

uint64_t
api_scanq_depth(struct api_scanq *q)
{
	uint64_t d;

	pthread_mutex_lock(&q->lock);
	d = q->depth;
	pthread_mutex_unlock(&q->lock);
	return d;
}

void
api_scanq_drain(struct api_scanq *q)
{
	int i, n;

	if (q == NULL)
		return;
	/* The threads to join are taken under the lock: each joined once. */
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	for (i = 0; i < q->lanes; i++)
		pthread_cond_signal(&q->w[i].cond);
	n = q->nw;
	q->nw = 0;
	pthread_mutex_unlock(&q->lock);
	for (i = 0; i < n; i++)
		pthread_join(q->w[i].thread, NULL);
}

void
api_scanq_stop(struct api_scanq *q)
{
	int i;

	if (q == NULL)
		return;
	api_scanq_drain(q);
	for (i = 0; i < q->lanes; i++) {
		api_rewards_free(q->w[i].rw);
		pthread_cond_destroy(&q->w[i].cond);
	}
	yima_free(q->w);
	pthread_mutex_destroy(&q->lock);
	yima_free(q);
}
