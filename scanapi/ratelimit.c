/* SPDX-License-Identifier: Apache-2.0 */
/* Token buckets in a fixed table: bounded memory whatever the traffic. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "ratelimit.h"

#define SLOTS	4096
#define STRIPES	64
#define KEY_MAX	48

struct slot {
	uint64_t	hash;
	double		tokens;
	double		last;	/* seconds */
};

struct api_ratelimit {
	double		rate, burst;
	pthread_mutex_t	lock[STRIPES];
	struct slot	slot[SLOTS];
};

/* FNV-1a: keys are addresses and ids, not attacker-chosen hash floods. */
static uint64_t
hash(const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len && i < KEY_MAX; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ULL;
	}
	return h | 1;	/* 0 marks an empty slot */
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
api_ratelimit_new(double rate, struct api_ratelimit **out)
{
	struct api_ratelimit *rl;
	int i;

	if ((rl = yima_calloc(1, sizeof(*rl))) == NULL)
		return YIMA_ENOMEM;
	rl->rate = rate;
	rl->burst = (rate > 1 ? rate : 1) * 2;
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_init(&rl->lock[i], NULL);
	*out = rl;
	return 0;
}

void
api_ratelimit_free(struct api_ratelimit *rl)
{
	int i;

	if (rl == NULL)
		return;
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_destroy(&rl->lock[i]);
	yima_free(rl);
}

int
api_ratelimit_take(struct api_ratelimit *rl, const char *key, size_t len,
    int *retry)
{
	uint64_t h;
	struct slot *s;
	double t;
	int ok, idx;

	if (rl->rate <= 0)
		return 1;
	h = hash(key, len);
	idx = (int)(h % SLOTS);
	s = &rl->slot[idx];
	t = now_s();
	pthread_mutex_lock(&rl->lock[idx % STRIPES]);
	if (s->hash != h) {
		s->hash = h;
		s->tokens = rl->burst;
		s->last = t;
	}
	s->tokens += (t - s->last) * rl->rate;
	if (s->tokens > rl->burst)
		s->tokens = rl->burst;
	s->last = t;
	ok = s->tokens >= 1.0;
	if (ok)
		s->tokens -= 1.0;
	else if (retry != NULL) {
		/* Bounded first: a tiny rate must not overflow an int. */
		t = ceil((1.0 - s->tokens) / rl->rate);
		*retry = t > 3600 ? 3600 : (int)t;
	}
	pthread_mutex_unlock(&rl->lock[idx % STRIPES]);
	if (!ok && retry != NULL && *retry < 1)
		*retry = 1;
	return ok;
}
