/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store: picks the back-end from the target (a postgresql:// or
 * postgres:// URL, or a SQLite file) and passes every call to the ops
 * of the store or transaction at hand.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "yima/err.h"
#include "yima/store.h"

#include "store-ops.h"

static const char *const verdict_names[] = {
	NULL, "genuine", "repeat", "suspect", "revoked", "unregistered",
	"invalid", "channel"
};

const char *
yima_verdict_name(int v)
{
	if (v < YIMA_V_GENUINE || v > YIMA_V_CHANNEL)
		return NULL;
	return verdict_names[v];
}

void
api_scope_join(char *out, size_t len, const char *base, size_t stride,
    size_t n)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "," : "",
		    base + i * stride);
}

size_t
api_scope_split(const char *list, char *base, size_t stride, size_t max)
{
	size_t n = 0, k;
	const char *p = list, *e;

	while (p != NULL && *p != '\0' && n < max) {
		e = strchr(p, ',');
		k = e != NULL ? (size_t)(e - p) : strlen(p);
		if (k >= stride)
			k = stride - 1;
		memcpy(base + n * stride, p, k);
		base[n * stride + k] = '\0';
		n++;
		p = e != NULL ? e + 1 : NULL;
	}
	return n;
}

int
yima_store_batch_max(struct yima_store *st)
{
	return st->ops->batch_max;
}

int
yima_store_writers(struct yima_store *st)
{
	return st->writers;
}

int
yima_store_node(struct yima_store *st)
{
	return st->node;
}

int
yima_store_is_pg(const char *target)
{
	return strncmp(target, "postgresql://", 13) == 0 ||
	    strncmp(target, "postgres://", 11) == 0;
}

int
yima_store_open(const char *target, const struct yima_store_opts *opts,
    struct yima_store **out, char *why)
{
	if (yima_store_is_pg(target))
		return api_pg_open(target, opts, out, why);
	return api_sqlite_open(target, opts, out, why);
}

void
yima_store_close(struct yima_store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

int
yima_store_schema_version(struct yima_store *st)
{
	return st->ops->schema_version(st);
}

_Thread_local char api_store_err[API_STORE_ERR_MAX];

const char *
yima_store_errmsg(struct yima_store *st)
{
	(void)st;
	return api_store_err;
}

void
api_store_seterr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(api_store_err, sizeof(api_store_err), fmt, ap);
	va_end(ap);
	api_store_err[strcspn(api_store_err, "\n")] = '\0';
}

int64_t
api_store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Per thread, like errno: a request runs on one thread from start to end. */
static _Thread_local unsigned long conflicts;
static _Atomic uint64_t conflicts_total;	/* the process's, for metrics */
static _Thread_local uint64_t wait_seed;

static int
seen(int rc)
{
	if (rc == YIMA_EBUSY) {
		conflicts++;
		atomic_fetch_add_explicit(&conflicts_total, 1,
		    memory_order_relaxed);
	}
	return rc;
}

unsigned long
yima_store_conflicts(void)
{
	return conflicts;
}

uint64_t
yima_store_conflicts_total(void)
{
	return atomic_load_explicit(&conflicts_total, memory_order_relaxed);
}

#define WAIT_BASE_US	500	/* the first wait is up to twice this */
#define WAIT_CAP_US	32000

void
yima_store_conflict_wait(int n)
{
	struct timespec ts;
	uint64_t span = WAIT_BASE_US, x;

	/*
	 * A random wait up to a bound that doubles with each run ("full
	 * jitter"): writers that met stop meeting again in step, and a
	 * crowd on one row thins out instead of colliding ten times.
	 */
	while (n-- > 0 && span < WAIT_CAP_US)
		span *= 2;
	if (span > WAIT_CAP_US)
		span = WAIT_CAP_US;
	if (wait_seed == 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		wait_seed = (((uint64_t)ts.tv_nsec << 20) ^
		    (uint64_t)(uintptr_t)&ts) | 1;
	}
	x = wait_seed;	/* xorshift64: no shared state, no lock */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	wait_seed = x;
	x %= span;
	ts.tv_sec = (time_t)(x / 1000000);
	ts.tv_nsec = (long)(x % 1000000) * 1000;
	nanosleep(&ts, NULL);
}

int
yima_store_rerun(int (*fn)(void *ctx), void *ctx)
{
	int rc, runs;

	for (runs = 1; (rc = fn(ctx)) == YIMA_EBUSY &&
	    runs <= YIMA_STORE_RERUNS; runs++)
		yima_store_conflict_wait(runs);
	return rc;
}

/* A retention pass: one batch of an upkeep op in its own transaction. */
struct upkeep {
	struct yima_store	*st;
	int			(*op)(struct yima_tx *tx, int64_t before,
				    int max, int *n);
	int64_t			 before;
	int			 max, *n;
};

static int
upkeep_once(void *arg)
{
	struct upkeep *c = arg;
	struct yima_tx *tx;
	int rc;

	*c->n = 0;
	if ((rc = yima_tx_begin(c->st, 1, &tx)) != 0)
		return rc;
	if ((rc = c->op(tx, c->before, c->max, c->n)) != 0) {
		yima_tx_rollback(tx);
		return rc;
	}
	return yima_tx_commit(tx);
}

int
yima_store_coarsen(struct yima_store *st, int64_t before, int max, int *n)
{
	struct upkeep c = { st, yima_tx_coarsen, before, max, n };

	return yima_store_rerun(upkeep_once, &c);
}

int
yima_store_consumers_drop(struct yima_store *st, int64_t before, int max,
    int *n)
{
	struct upkeep c = { st, yima_tx_consumers_drop, before, max, n };

	return yima_store_rerun(upkeep_once, &c);
}

int
yima_store_audience_drop(struct yima_store *st, int64_t before, int max,
    int *n)
{
	struct upkeep c = { st, yima_tx_audience_drop, before, max, n };

	return yima_store_rerun(upkeep_once, &c);
}

int
yima_tx_begin(struct yima_store *st, int write, struct yima_tx **tx)
{
	return seen(st->ops->begin(st, write, 0, tx));
}

int
yima_tx_begin_queued(struct yima_store *st, int64_t queue,
    struct yima_tx **tx)
{
	return seen(st->ops->begin(st, 1, queue, tx));
}

static void
ends(struct yima_tx *tx)
{
	int i;

	for (i = 0; i < YIMA_LATERS; i++)
		if (tx->end[i] != NULL)
			tx->end[i](tx);
}

void
yima_tx_rollback(struct yima_tx *tx)
{
	if (tx == NULL)
		return;
	ends(tx);
	api_ahead_free(tx);
	tx->ops->rollback(tx);
}

int
yima_tx_commit(struct yima_tx *tx)
{
	int i, rc = 0;

	for (i = 0; i < YIMA_LATERS && rc == 0; i++)
		if (tx->before_commit[i] != NULL)
			rc = tx->before_commit[i](tx);
	if (rc != 0 || (rc = api_ahead_flush(tx)) != 0) {
		yima_tx_rollback(tx);
		return seen(rc);
	}
	ends(tx);
	api_ahead_free(tx);
	return seen(tx->ops->commit(tx));
}

void **
yima_tx_later(struct yima_tx *tx, int slot, int (*fn)(struct yima_tx *),
    void (*end)(struct yima_tx *))
{
	tx->before_commit[slot] = fn;
	tx->end[slot] = end;
	return &tx->later[slot];
}

#define SHARED(name, params, args) \
	int yima_tx_##name params { return seen(api_sql_##name args); }
STORE_SQL_OPS(SHARED)
#undef SHARED
