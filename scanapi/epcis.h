/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EPCIS 2.0: what happens to goods, as GS1 writes it (JSON-LD, CBV 2.0),
 * made from the facts the store keeps (yima_epcis_row). An event's id is
 * CBV 2.0's event hash, so the same event has the same id wherever and
 * whenever it is rendered.
 */
#ifndef API_EPCIS_H
#define API_EPCIS_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "yima/keyring.h"
#include "yima/store.h"

#define API_EPCIS_CONTEXT \
	"https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
/* The prefix of yima's own terms (bizStep, verdict, region, reason). */
#define API_EPCIS_NS		"urn:yima:epcis:"
#define API_EPCIS_URI_MAX	288	/* an EPC, party, location or desadv URI */
#define API_EPCIS_PAGE_EPCS	100000	/* EPCs in one page, about */
#define API_EPCIS_CAPTURE_BYTES	16777216	/* a capture document: 16 MiB */
#define API_EPCIS_ID_LEN	89	/* "ni:///sha-256;" 64 "?ver=CBV2.0" */

/* Renders rows read in one transaction: identifiers need its batches. */
struct api_epcis {
	const struct yima_keyring	*kr;	/* borrowed: signs the EPCs */
	struct yima_tx			*tx;	/* borrowed */
	char	domain[YIMA_DOMAIN_MAX + 1];	/* the brand's, lower case */
	struct yima_epc_range	range;		/* the last one found */
	int			has_range;
	struct yima_dealer	dealer;		/* the last one found */
	int			has_dealer;
};

/* Begins rendering with tx: YIMA_ENOENT when nothing was imported yet. */
int api_epcis_begin(struct api_epcis *x, const struct yima_keyring *kr,
    struct yima_tx *tx);
/*
 * The EPC URI of serial (out: API_EPCIS_URI_MAX): "https://" and the
 * domain in lower case (RFC 3986's canonical form of the parts whose case
 * means nothing), the path as printed, since a GS1 serial's case is part
 * of it: https://d/01/GTIN/21/S, or https://d/c/CODE for a /C/ code.
 */
int api_epcis_epc(struct api_epcis *x, uint64_t serial, char *out);
/* The event of row as a new JSON object, with its eventID. */
int api_epcis_event(struct api_epcis *x, const struct yima_epcis_row *e,
    json_t **out);
/*
 * CBV 2.0's hash id of an event object (without or with eventID, which
 * it leaves out) into out (API_EPCIS_ID_LEN + 1).
 */
int api_epcis_hash(json_t *ev, char *out);
/* The @context every document and event carries. */
json_t *api_epcis_context(void);
/*
 * An EPCISDocument (query NULL) or EPCISQueryDocument of events (taken),
 * created at now.
 */
json_t *api_epcis_document(json_t *events, const char *query, int64_t now);
/* "2026-12-04T18:30:00.000+08:00": China time, as yima's events are. */
void api_epcis_time(int64_t ms, char *out, size_t len);

/*
 * Records the event of an operation in its transaction: one row, or one
 * per YIMA_EPCIS_CHUNK EPCs of spans (sorted, non-overlapping).
 */
int api_epcis_record(struct yima_tx *tx, const char *step, int64_t at,
    uint64_t parent, const struct yima_span *spans, size_t n,
    const char *party, const char *source, const char *detail);

/* Who reads: everything (root NULL), or a dealer's goods and territory. */
struct api_epcis_reader {
	const char	*root;		/* the dealer, or NULL */
	char		(*terr)[7];	/* its territory (nterr codes) */
	size_t		 nterr;
};

/* A page of events: the query, its cursor, and what it found. */
struct api_epcis_page {
	struct yima_epcis_filter f;	/* window, kinds, step, serial,
					   and the cursor: after the last
					   row looked at */
	const char	*type;		/* ObjectEvent, AggregationEvent */
	const char	*biz_step;	/* bizStep, as a term or a URI */
	int		 limit;		/* events in the page */
	int		 more;		/* a next page may hold events */
	uint64_t	 skipped;	/* rows that could not be rendered */
	json_t		*events;	/* the caller's array, filled */
};

/*
 * Fills pg->events from the cursor on with up to pg->limit events rd
 * may see (looking at a bounded number of rows), in (at, scan, id)
 * order; pg->more says whether to ask again.
 */
int api_epcis_page_fill(struct yima_tx *tx, struct api_epcis *x,
    const struct api_epcis_reader *rd, struct api_epcis_page *pg);
/*
 * Writes every event of [from, to) as one EPCISDocument to out, a page
 * per read transaction; *n gets how many, *skipped how many could not be
 * rendered (their key is gone from the keyring).
 */
int api_epcis_export(struct yima_store *st, const struct yima_keyring *kr,
    int64_t from, int64_t to, FILE *out, uint64_t *n, uint64_t *skipped);
/* A bizStep term ("shipping") or URI as its URI. */
void api_epcis_step_uri(const char *s, char *out, size_t len);

/* The commissioning of an imported batch (its items, cases or pallets). */
int api_epcis_commission(struct yima_tx *tx, const struct yima_manifest *m,
    int64_t at);
/* The decommissioning of first..last: its registered, published codes. */
int api_epcis_decommission(struct yima_tx *tx, uint64_t first,
    uint64_t last, const char *reason, int64_t at);

#endif /* API_EPCIS_H */
