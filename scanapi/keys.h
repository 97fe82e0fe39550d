/* SPDX-License-Identifier: Apache-2.0 */
/* The service's keyring: verification, reloaded on SIGHUP or on demand. */
#ifndef API_KEYS_H
#define API_KEYS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "yima/code.h"
#include "yima/keyring.h"
#include "yima/manifest.h"

#include "log.h"
#include "metrics.h"

/* An unknown key id reloads the keyring at most this often. */
#define API_KEYS_RELOAD_US	1000000

struct api_keys {
	struct yima_keyring	*kr;		/* owned */
	struct api_log		*log;		/* borrowed */
	struct api_metrics	*metrics;	/* borrowed */
	pthread_mutex_t		 lock;		/* one reload at a time */
	_Atomic uint64_t	 gen;		/* reloads finished */
	_Atomic uint64_t	 last_us;	/* last on-demand reload began */
	_Atomic int		 busy;		/* an on-demand reload runs */
};

/*
 * Opens the keyring at dir into k; log and metrics are borrowed. Returns
 * 0, or an error of yima_keyring_open (why) or YIMA_ENOMEM.
 */
int api_keys_open(struct api_keys *k, const char *dir, struct api_log *log,
    struct api_metrics *metrics, char *why);
/* Frees the keyring; k may be zeroed (never opened). */
void api_keys_close(struct api_keys *k);
/*
 * Reads the keyring's directory again now (SIGHUP) and logs the result;
 * a keyring that fails the checks keeps the keys loaded. 0 or an error.
 */
int api_keys_reload(struct api_keys *k, const char *cause);
/*
 * yima_code_verify, except that a code naming a key id the keyring lacks
 * reloads it first (at most once per API_KEYS_RELOAD_US for all callers):
 * a key rotated while the service runs verifies at once.
 */
int api_keys_verify(struct api_keys *k, const char *text, size_t len,
    struct yima_code *out, char *why);
/* yima_manifest_parse, with the same reload on an unknown key id. */
int api_keys_manifest(struct api_keys *k, const char *json, size_t len,
    struct yima_manifest *m, char *why);

#endif /* API_KEYS_H */
