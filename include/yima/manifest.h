/* SPDX-License-Identifier: Apache-2.0 */
/* The batch manifest: what a mint made, signed so the service can trust it. */
#ifndef YIMA_MANIFEST_H
#define YIMA_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "yima/buf.h"
#include "yima/code.h"
#include "yima/validate.h"

#define YIMA_MANIFEST_FORMAT	"yima-batch/1"
#define YIMA_MANIFEST_MAX	65536	/* bytes; larger input is refused */
#define YIMA_COUNT_MAX		UINT64_C(1000000000)

/*
 * manifest.json holds these fields and "hmac": HMAC-SHA256, in lower-case
 * hex, keyed with yima_keyring_derive(key_id, "manifest"), over the JSON
 * object without "hmac" serialised compactly with keys sorted and
 * non-ASCII escaped (jansson JSON_COMPACT|JSON_SORT_KEYS|JSON_ENSURE_ASCII).
 * Optional text fields are "" when absent (and then left out of the JSON).
 */
struct yima_manifest {
	char		batch[33];	/* 32 hex digits, random */
	enum yima_kind	kind;
	unsigned	key_id;
	uint64_t	first_serial;
	uint64_t	count;
	int		inner;		/* 1: cap-inside codes minted too */
	uint64_t	inner_first;	/* inner code of item first+i has
					   serial inner_first+i */
	int		dl;		/* 1: the codes are Digital Link
					   URIs (dl.h), "code_form": "dl" */
	char		gtin[YIMA_GTIN_LEN + 1];
	char		lot[YIMA_LOT_MAX + 1];
	char		line[YIMA_LINE_MAX + 1];
	char		mfg[11];	/* YYYY-MM-DD */
	char		expiry[11];
	char		domain[YIMA_DOMAIN_MAX + 1];	/* upper case */
	char		created[21];	/* RFC 3339 UTC, seconds */
	char		codes_sha256[65];	/* of codes.csv */
	char		inner_sha256[65];	/* of inner.csv, if inner */
	char		hmac[65];	/* set by yima_manifest_parse */
};

struct yima_keyring;

/*
 * Appends the signed JSON of m to out. Returns 0, YIMA_ENOKEY (key_id not
 * in kr), YIMA_EINVAL or YIMA_ENOMEM.
 */
int yima_manifest_to_json(const struct yima_manifest *m,
    const struct yima_keyring *kr, struct yima_buf *out);

/*
 * Parses untrusted JSON (at most YIMA_MANIFEST_MAX bytes), validates every
 * field, and checks the HMAC with the key named by key_id.
 * On success *m is filled. Returns 0, YIMA_EINVAL (malformed: why names the
 * field), YIMA_ENOKEY, YIMA_EBADTAG (tampered) or YIMA_ENOMEM.
 */
int yima_manifest_parse(const char *json, size_t len,
    const struct yima_keyring *kr, struct yima_manifest *m, char *why);

#endif /* YIMA_MANIFEST_H */
