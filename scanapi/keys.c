/* SPDX-License-Identifier: Apache-2.0 */
/* The service's keyring: verification, reloaded on SIGHUP or on demand. */
#include <stdio.h>
#include <string.h>

#include "yima/err.h"

#include "http.h"
#include "keys.h"

int
api_keys_open(struct api_keys *k, const char *dir, struct api_log *log,
    struct api_metrics *metrics, char *why)
{
	int rc;

	memset(k, 0, sizeof(*k));
	if ((rc = yima_keyring_open(dir, &k->kr, why)) != 0)
		return rc;
	if (pthread_mutex_init(&k->lock, NULL) != 0) {
		yima_keyring_free(k->kr);
		k->kr = NULL;
		snprintf(why, YIMA_WHY_MAX, "out of memory");
		return YIMA_ENOMEM;
	}
	k->log = log;
	k->metrics = metrics;
	atomic_store(&metrics->keyring_keys,
	    (uint64_t)yima_keyring_count(k->kr));
	return 0;
}

void
api_keys_close(struct api_keys *k)
{
	if (k->kr == NULL)
		return;
	yima_keyring_free(k->kr);
	pthread_mutex_destroy(&k->lock);
	k->kr = NULL;
}

/* The reload itself; the caller holds k->lock. */
static int
reload_locked(struct api_keys *k, const char *cause, int quiet)
{
	char why[YIMA_WHY_MAX], msg[YIMA_WHY_MAX + 128];
	int rc, added = 0, n;

	rc = yima_keyring_reload(k->kr, &added, why);
	n = yima_keyring_count(k->kr);
	atomic_fetch_add(&k->metrics->keyring_reloads, 1);
	atomic_store(&k->metrics->keyring_keys, (uint64_t)n);
	if (rc != 0) {
		atomic_fetch_add(&k->metrics->keyring_errors, 1);
		snprintf(msg, sizeof(msg), "%s: kept %d keys: %s", cause, n,
		    why);
		api_log_event(k->log, "keyring_reload_failed", msg);
	} else if (added > 0 || !quiet) {
		snprintf(msg, sizeof(msg), "%s: %d keys, %d new", cause, n,
		    added);
		api_log_event(k->log, "keyring_reload", msg);
	}
	atomic_fetch_add(&k->gen, 1);
	return rc;
}

int
api_keys_reload(struct api_keys *k, const char *cause)
{
	int rc;

	pthread_mutex_lock(&k->lock);
	rc = reload_locked(k, cause, 0);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

/*
 * Called when a key id seen at generation seen was unknown: reloads
 * unless the last on-demand reload is too recent, so forged codes cannot
 * make every request read the disk. Callers arriving while a reload runs
 * wait for it. 1 when a reload finished since seen (try again), else 0.
 */
static int
on_demand(struct api_keys *k, uint64_t seen)
{
	uint64_t now = api_mono_us(), last;
	int again;

	/* Read last before busy: a reload sets busy before last. */
	last = atomic_load(&k->last_us);
	if (last != 0 && now - last < API_KEYS_RELOAD_US &&
	    !atomic_load(&k->busy))
		return atomic_load(&k->gen) != seen;
	pthread_mutex_lock(&k->lock);
	again = atomic_load(&k->gen) != seen;
	last = atomic_load(&k->last_us);
	now = api_mono_us();
	if (!again && (last == 0 || now - last >= API_KEYS_RELOAD_US)) {
		atomic_store(&k->busy, 1);
		atomic_store(&k->last_us, now);
		reload_locked(k, "unknown key id", 1);
		atomic_store(&k->busy, 0);
		again = 1;
	}
	pthread_mutex_unlock(&k->lock);
	return again;
}

int
api_keys_verify(struct api_keys *k, const char *text, size_t len,
    struct yima_code *out, char *why)
{
	uint64_t seen = atomic_load(&k->gen);
	int rc;

	rc = yima_code_verify(k->kr, text, len, out, why);
	if (rc == YIMA_ENOKEY && on_demand(k, seen))
		rc = yima_code_verify(k->kr, text, len, out, why);
	return rc;
}

int
api_keys_manifest(struct api_keys *k, const char *json, size_t len,
    struct yima_manifest *m, char *why)
{
	uint64_t seen = atomic_load(&k->gen);
	int rc;

	rc = yima_manifest_parse(json, len, k->kr, m, why);
	if (rc == YIMA_ENOKEY && on_demand(k, seen))
		rc = yima_manifest_parse(json, len, k->kr, m, why);
	return rc;
}
