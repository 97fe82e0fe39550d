/* SPDX-License-Identifier: Apache-2.0 */
/* Pushing the outbox to a partner's EPCIS repository (epcis_push.h). */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "epcis.h"
#include "http.h"
#include "epcis_push.h"

#define BACKOFF_MIN_MS	500
#define BACKOFF_MAX_MS	60000
#define IDLE_MS		1000	/* an empty outbox is looked at again */
#define TIMEOUT_S	30	/* one request, at most */
#define DAY_MS		(24LL * 3600 * 1000)
#define STATS_MS	2000	/* the outbox counted at most this often */

struct api_push {
	struct yima_store	*st;
	struct api_keys		*keys;
	struct api_log		*log;
	char			*url;
	char			*auth;		/* "Authorization: Bearer ..." */
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	int			 stop;
	int			 batch;		/* events a request now */
	int64_t			 stats_at;	/* outbox counted last, ms */
	_Atomic uint64_t	 sent, batches, failures, dropped;
	_Atomic int64_t		 depth, oldest_at;
};

/* Waits ms, or less when stopped; 1 when stopping. */
static int
pause_ms(struct api_push *p, int64_t ms)
{
	struct timespec ts;
	int stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&p->lock);
	while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock,
	    &ts) == 0)
		;
	stop = p->stop;
	pthread_mutex_unlock(&p->lock);
	return stop;
}

/* A batch: the outbox ids taken, the events rendered from them. */
struct batch {
	struct api_push	*p;
	struct api_epcis x;
	int64_t		*ids;
	size_t		 n;
	json_t		*events;
	int		 rc;
};

static void
take(void *ctx, int64_t id, const struct yima_epcis_row *e)
{
	struct batch *b = ctx;
	json_t *ev;
	int rc;

	b->ids[b->n++] = id;
	if (b->rc != 0 || (!e->scan && e->step[0] == '\0'))
		return;		/* its row is gone: nothing to send */
	if ((rc = api_epcis_event(&b->x, e, &ev)) == 0)
		json_array_append_new(b->events, ev);
	else if (rc != YIMA_ENOKEY && rc != YIMA_ENOENT && rc != YIMA_EINVAL)
		b->rc = rc;	/* the store's trouble: the batch waits */
	else {
		/* never renderable (a key gone): kept out of the way */
		atomic_fetch_add(&b->p->dropped, 1);
		api_log_event(b->p->log, "epcis_push",
		    "an event could not be rendered and was dropped");
	}
}

static size_t
discard(char *data, size_t size, size_t n, void *ctx)
{
	(void)data;
	(void)ctx;
	return size * n;
}

/* POSTs a document; 0 when the receiver took it (2xx). */
static int
post(struct api_push *p, const char *body, long *status, char *why)
{
	struct curl_slist *h = NULL;
	CURL *c;
	CURLcode cc;
	int rc = -1;

	*status = 0;
	if ((c = curl_easy_init()) == NULL)
		return -1;
	h = curl_slist_append(h, "Content-Type: application/ld+json");
	h = curl_slist_append(h, "GS1-EPCIS-Version: 2.0.0");
	if (p->auth != NULL)
		h = curl_slist_append(h, p->auth);
	curl_easy_setopt(c, CURLOPT_URL, p->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if ((cc = curl_easy_perform(c)) != CURLE_OK)
		snprintf(why, YIMA_WHY_MAX, "%s", curl_easy_strerror(cc));
	else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		if (*status >= 200 && *status < 300)
			rc = 0;
		else
			snprintf(why, YIMA_WHY_MAX, "the receiver answered %ld",
			    *status);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

static int
drop_done(struct api_push *p, const int64_t *ids, size_t n)
{
	struct yima_tx *tx;
	int rc;

	if ((rc = yima_tx_begin(p->st, 1, &tx)) != 0)
		return rc;
	if ((rc = yima_tx_outbox_done(tx, ids, n)) != 0) {
		yima_tx_rollback(tx);
		return rc;
	}
	return yima_tx_commit(tx);
}

/*
 * A receiver that refuses a document (4xx, not 408 or 429) may refuse a
 * part of it: the batches halve, down to one event, and a single event
 * it refuses is given up (logged, counted), so one bad event does not
 * hold back every other. 1: given up; 0: try again, smaller.
 */
static int
refused(struct api_push *p, long status, size_t n)
{
	if (status < 400 || status > 499 || status == 408 || status == 429)
		return 0;
	if (n > 1) {
		p->batch = (int)(n / 2);
		return 0;
	}
	atomic_fetch_add(&p->dropped, 1);
	api_log_event(p->log, "epcis_push", "the receiver refused an event "
	    "on its own; it was given up");
	return 1;
}

/*
 * One batch: 1 sent (or nothing to send), 0 the outbox is empty, or an
 * error (the batch stays for the next try).
 */
static int
push_once(struct api_push *p, char *why)
{
	struct batch b;
	struct yima_tx *tx = NULL;
	int64_t depth = 0, oldest = 0;
	char *text = NULL;
	json_t *doc = NULL;
	long status = 200;
	int rc;

	memset(&b, 0, sizeof(b));
	b.p = p;
	snprintf(why, YIMA_WHY_MAX, "the store is unavailable");
	if ((b.ids = yima_malloc(API_PUSH_BATCH * sizeof(*b.ids))) == NULL ||
	    (b.events = json_array()) == NULL) {
		rc = YIMA_ENOMEM;
		goto done;
	}
	if ((rc = yima_tx_begin(p->st, 0, &tx)) != 0)
		goto done;
	/* the figures for /metrics: counting a long backlog costs, so at
	 * most every STATS_MS while catching up */
	if (api_now_ms() - p->stats_at >= STATS_MS || atomic_load(&p->depth) <=
	    API_PUSH_BATCH) {
		if ((rc = yima_tx_outbox_stats(tx, &depth, &oldest)) != 0)
			goto done;
		atomic_store(&p->depth, depth);
		atomic_store(&p->oldest_at, oldest);
		p->stats_at = api_now_ms();
		if (depth == 0)
			goto done;
	}
	if ((rc = api_epcis_begin(&b.x, p->keys->kr, tx)) != 0 ||
	    (rc = yima_tx_outbox_take(tx, p->batch, take, &b)) != 0 ||
	    (rc = b.rc) != 0)
		goto done;
	yima_tx_rollback(tx);
	tx = NULL;
	if (json_array_size(b.events) > 0) {
		doc = api_epcis_document(b.events, NULL, api_now_ms());
		b.events = NULL;
		if (doc == NULL || (text = json_dumps(doc, JSON_COMPACT)) ==
		    NULL) {
			rc = YIMA_ENOMEM;
			goto done;
		}
		if (post(p, text, &status, why) != 0 && !refused(p, status,
		    b.n)) {
			rc = YIMA_EIO;
			goto done;
		}
		if (status >= 200 && status < 300) {
			atomic_fetch_add(&p->sent, json_array_size(
			    json_object_get(json_object_get(doc, "epcisBody"),
			    "eventList")));
			atomic_fetch_add(&p->batches, 1);
		}
	}
	/* Delivered (or refused for good): a crash before this sends the
	 * batch again. */
	if (status >= 200 && status < 300 && p->batch < API_PUSH_BATCH)
		p->batch *= 2;
	rc = drop_done(p, b.ids, b.n);
	if (rc == 0)
		atomic_store(&p->depth, atomic_load(&p->depth) > (int64_t)b.n ?
		    atomic_load(&p->depth) - (int64_t)b.n : 0);
done:
	yima_tx_rollback(tx);
	json_decref(doc);
	json_decref(b.events);
	free(text);
	yima_free(b.ids);
	return rc != 0 ? rc : b.n > 0;
}

/* Undelivered for API_PUSH_KEEP_DAYS: the receiver is gone; let go. */
static void
expire(struct api_push *p)
{
	struct yima_tx *tx;
	int64_t n = 0;
	char msg[96];

	if (yima_tx_begin(p->st, 1, &tx) != 0)
		return;
	if (yima_tx_outbox_expire(tx, api_now_ms() - API_PUSH_KEEP_DAYS * DAY_MS,
	    &n) != 0 || yima_tx_commit(tx) != 0) {
		yima_tx_rollback(tx);
		return;
	}
	if (n > 0) {
		atomic_fetch_add(&p->dropped, (uint64_t)n);
		snprintf(msg, sizeof(msg), "%" PRId64 " events undelivered for "
		    "%d days left the outbox", n, API_PUSH_KEEP_DAYS);
		api_log_event(p->log, "epcis_push", msg);
	}
}

static void *
run(void *arg)
{
	struct api_push *p = arg;
	char why[YIMA_WHY_MAX], msg[YIMA_WHY_MAX + 64];
	int64_t backoff = 0, last_expire = 0;
	unsigned char r;
	int rc;

	for (;;) {
		if (api_now_ms() - last_expire > 3600 * 1000) {
			expire(p);
			last_expire = api_now_ms();
		}
		rc = push_once(p, why);
		if (rc == 1) {
			backoff = 0;
			pthread_mutex_lock(&p->lock);
			rc = p->stop;
			pthread_mutex_unlock(&p->lock);
			if (rc)
				break;
			continue;
		}
		if (rc == 0) {
			backoff = 0;
			if (pause_ms(p, IDLE_MS))
				break;
			continue;
		}
		atomic_fetch_add(&p->failures, 1);
		/* doubling, to a minute, with jitter: nodes do not march */
		backoff = backoff == 0 ? BACKOFF_MIN_MS : backoff * 2;
		if (backoff > BACKOFF_MAX_MS)
			backoff = BACKOFF_MAX_MS;
		snprintf(msg, sizeof(msg), "push failed (%s); again in %lld ms",
		    why, (long long)backoff);
		api_log_event(p->log, "epcis_push", msg);
		if (RAND_bytes(&r, 1) != 1)
			r = 0;
		if (pause_ms(p, backoff / 2 + backoff * r / 512))
			break;
	}
	return NULL;
}

int
api_push_start(struct yima_store *st, struct api_keys *keys,
    struct api_log *log, const char *url, const char *token,
    struct api_push **out, char *why)
{
	struct api_push *p;
	struct yima_tx *tx;
	size_t n;
	int rc;

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		snprintf(why, YIMA_WHY_MAX, "--epcis-push must be an http:// or "
		    "https:// URL");
		return YIMA_EINVAL;
	}
	if (token != NULL && (strlen(token) > 4096 ||
	    strpbrk(token, "\r\n") != NULL)) {
		snprintf(why, YIMA_WHY_MAX, "--epcis-push-token must be one line "
		    "of at most 4096 bytes");
		return YIMA_EINVAL;
	}
	if ((p = yima_calloc(1, sizeof(*p))) == NULL)
		return YIMA_ENOMEM;
	p->st = st;
	p->keys = keys;
	p->log = log;
	p->batch = API_PUSH_BATCH;
	n = strlen(url) + 1;
	if ((p->url = yima_malloc(n)) == NULL)
		goto nomem;
	memcpy(p->url, url, n);
	if (token != NULL) {
		n = strlen(token) + 32;
		if ((p->auth = yima_malloc(n)) == NULL)
			goto nomem;
		snprintf(p->auth, n, "Authorization: Bearer %s", token);
	}
	/* From now on, events go to the outbox too (on every node). */
	if ((rc = yima_tx_begin(st, 1, &tx)) == 0) {
		if ((rc = yima_tx_outbox_enable(tx)) == 0)
			rc = yima_tx_commit(tx);
		else
			yima_tx_rollback(tx);
	}
	if (rc != 0) {
		snprintf(why, YIMA_WHY_MAX, "the outbox could not be enabled");
		goto fail;
	}
	/* (thread-safe since curl 7.84: other threads run already) */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(why, YIMA_WHY_MAX, "libcurl cannot start");
		rc = YIMA_EIO;
		goto fail;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		curl_global_cleanup();
		snprintf(why, YIMA_WHY_MAX, "no thread for the push");
		rc = YIMA_ENOMEM;
		goto fail;
	}
	*out = p;
	return 0;
nomem:
	rc = YIMA_ENOMEM;
	snprintf(why, YIMA_WHY_MAX, "out of memory");
fail:
	yima_free(p->url);
	yima_free(p->auth);
	yima_free(p);
	return rc;
}

void
api_push_stop(struct api_push *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	curl_global_cleanup();
	yima_free(p->url);
	yima_free(p->auth);
	yima_free(p);
}

int
api_push_metrics(struct api_push *p, struct yima_buf *b)
{
	int64_t oldest = atomic_load(&p->oldest_at);

	return yima_buf_printf(b,
	    "# HELP yima_epcis_outbox_depth Events waiting to be pushed.\n"
	    "# TYPE yima_epcis_outbox_depth gauge\n"
	    "yima_epcis_outbox_depth %" PRId64 "\n"
	    "# HELP yima_epcis_outbox_oldest_seconds Age of the oldest.\n"
	    "# TYPE yima_epcis_outbox_oldest_seconds gauge\n"
	    "yima_epcis_outbox_oldest_seconds %.3f\n"
	    "# HELP yima_epcis_push_events_total Events the receiver took.\n"
	    "# TYPE yima_epcis_push_events_total counter\n"
	    "yima_epcis_push_events_total %" PRIu64 "\n"
	    "# HELP yima_epcis_push_failures_total Pushes that failed.\n"
	    "# TYPE yima_epcis_push_failures_total counter\n"
	    "yima_epcis_push_failures_total %" PRIu64 "\n"
	    "# HELP yima_epcis_push_dropped_total Events given up on.\n"
	    "# TYPE yima_epcis_push_dropped_total counter\n"
	    "yima_epcis_push_dropped_total %" PRIu64 "\n",
	    atomic_load(&p->depth), oldest > 0 ? (double)(api_now_ms() - oldest) /
	    1000 : 0.0, atomic_load(&p->sent), atomic_load(&p->failures),
	    atomic_load(&p->dropped));
}
