/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pushing events to a partner's EPCIS repository (POST /capture): a
 * thread sends the outbox (filled in the events' own transactions) in
 * batches, oldest first, and drops a batch's entries only once it was
 * accepted; it retries with back-off, across restarts too. Every event
 * is delivered at least once, under its eventID (CBV 2.0's hash), so the
 * receiver can drop a duplicate.
 */
#ifndef API_EPCIS_PUSH_H
#define API_EPCIS_PUSH_H

#include "yima/buf.h"
#include "yima/store.h"

#include "keys.h"
#include "log.h"

#define API_PUSH_BATCH		500	/* events a request */
#define API_PUSH_KEEP_DAYS	30	/* undelivered longer: dropped */

struct api_push;

/*
 * Enables the outbox and starts pushing to url (http or https), with a
 * bearer token (may be NULL). 0, or an error with why.
 */
int api_push_start(struct yima_store *st, struct api_keys *keys,
    struct api_log *log, const char *url, const char *token,
    struct api_push **out, char *why);
/* Stops the thread (a request under way ends first) and frees p. */
void api_push_stop(struct api_push *p);
/* Appends the push's Prometheus series (outbox depth, age, failures). */
int api_push_metrics(struct api_push *p, struct yima_buf *b);

#endif /* API_EPCIS_PUSH_H */
