/* SPDX-License-Identifier: Apache-2.0 */
/* JSON-lines logs, buffered and flushed about once a second. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "log.h"

struct api_log {
	FILE		*f;
	int		 owned;
	pthread_mutex_t	 lock;
	time_t		 flushed;
};

int
api_log_open(const char *path, struct api_log **out)
{
	struct api_log *lg;

	if ((lg = yima_calloc(1, sizeof(*lg))) == NULL)
		return YIMA_ENOMEM;
	if (path != NULL) {
		if ((lg->f = fopen(path, "a")) == NULL) {
			yima_free(lg);
			return YIMA_EIO;
		}
		lg->owned = 1;
		setvbuf(lg->f, NULL, _IOFBF, 1 << 16);
	} else
		lg->f = stderr;
	pthread_mutex_init(&lg->lock, NULL);
	*out = lg;
	return 0;
}

int
api_log_reopen(struct api_log *lg, const char *path)
{
	FILE *f, *old;

	if (!lg->owned || path == NULL)
		return 0;
	/* The new file first: a failed open keeps the old one logging. */
	if ((f = fopen(path, "a")) == NULL)
		return YIMA_EIO;
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	pthread_mutex_lock(&lg->lock);
	old = lg->f;
	lg->f = f;
	pthread_mutex_unlock(&lg->lock);
	fclose(old);		/* flushes what it held */
	return 0;
}

void
api_log_close(struct api_log *lg)
{
	if (lg == NULL)
		return;
	fflush(lg->f);
	if (lg->owned)
		fclose(lg->f);
	pthread_mutex_destroy(&lg->lock);
	yima_free(lg);
}

static void
stamp(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%.24s.%03dZ", base, (int)(ts.tv_nsec / 1000000));
}

static void
emit(struct api_log *lg, const char *line)
{
	time_t now = time(NULL);

	pthread_mutex_lock(&lg->lock);
	fputs(line, lg->f);
	if (now != lg->flushed) {
		fflush(lg->f);
		lg->flushed = now;
	}
	pthread_mutex_unlock(&lg->lock);
}

void
api_log_request(struct api_log *lg, const char *method, const char *route,
    int status, uint64_t us, const char *verdict)
{
	char line[256], t[40];

	stamp(t, sizeof(t));
	/* method, route and verdict are fixed names, never client text. */
	/* Integer formatting: this runs once per request. */
	snprintf(line, sizeof(line), "{\"time\":\"%s\",\"method\":\"%s\","
	    "\"route\":\"%s\",\"status\":%d,\"latency_ms\":%llu.%03llu%s%s%s}"
	    "\n", t, method, route, status, (unsigned long long)(us / 1000),
	    (unsigned long long)(us % 1000),
	    verdict ? ",\"verdict\":\"" : "", verdict ? verdict : "",
	    verdict ? "\"" : "");
	emit(lg, line);
}

void
api_log_event(struct api_log *lg, const char *event, const char *msg)
{
	char line[512], t[40], safe[300];
	size_t i, n = 0;

	stamp(t, sizeof(t));
	for (i = 0; msg[i] != '\0' && n < sizeof(safe) - 2; i++) {
		if (msg[i] == '"' || msg[i] == '\\')
			safe[n++] = '\\';
		safe[n++] = (msg[i] >= 0x20 && msg[i] < 0x7f) ? msg[i] : '?';
	}
	safe[n] = '\0';
	snprintf(line, sizeof(line), "{\"time\":\"%s\",\"event\":\"%s\","
	    "\"message\":\"%s\"}\n", t, event, safe);
	emit(lg, line);
	pthread_mutex_lock(&lg->lock);
	fflush(lg->f);
	pthread_mutex_unlock(&lg->lock);
}
