/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supply chain's operations: packing, unpacking, shipping and
 * receiving, each with its checks and its EPCIS event, in a write
 * transaction the caller owns. The routes and EPCIS capture apply them
 * alike: the same checks, the same refusals.
 */
#ifndef API_CHAIN_H
#define API_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "yima/code.h"
#include "yima/geo.h"
#include "yima/store.h"

#include "keys.h"

#define API_CODES_MAX	10000	/* codes in one pack, shipment or receipt */
#define API_K(kind)	(1 << (kind))

/* A verified code of a request. */
struct api_item {
	struct yima_code	 code;
	const char		*text;	/* borrowed */
};

/* Why an operation was refused. */
struct api_op_err {
	int		 status;	/* 400, 403, 404, 409; 503 the store */
	char		 code[24];	/* bad_request, conflict, ... */
	char		 msg[256];
	json_t		*codes;		/* the codes concerned, or NULL */
};
void api_op_err_clear(struct api_op_err *e);

/*
 * Verifies the codes of a JSON array of texts (1..API_CODES_MAX): each
 * must verify, be registered, and be of a kind in kinds (API_K bits).
 * Looked up in tx, or in a read transaction of st of its own when tx is
 * NULL. *out (caller frees) borrows arr's texts. 0 or -1 with e.
 */
int api_op_codes(struct api_keys *keys, struct yima_store *st,
    struct yima_tx *tx, json_t *arr, int kinds, struct api_item **out,
    size_t *n, struct api_op_err *e);

/* Packs kids into parent; *added codes in *ranges ranges. */
int api_op_pack(struct yima_tx *tx, const struct api_item *parent,
    struct api_item *kids, size_t n, int64_t at, size_t *added,
    size_t *ranges, struct api_op_err *e);
/* Unpacks parent: *rows ranges were in it. */
int api_op_unpack(struct yima_tx *tx, uint64_t parent, int64_t at,
    int *rows, struct api_op_err *e);
/*
 * Ships codes (and what is packed in them) to dealer to; shipper is the
 * token's dealer ("" for the brand: admin or ops), who may ship only its
 * own goods down its own tree.
 */
int api_op_ship(struct yima_tx *tx, const char *shipper, const char *to,
    const char *ref, struct api_item *it, size_t n, int64_t at,
    size_t *serials, size_t *ranges, struct api_op_err *e);
/*
 * Records a store's receipt (rc: dealer, kind receive or open, at and
 * place) of codes, and the diversions it shows.
 */
int api_op_receipt(struct yima_tx *tx, struct yima_receipt *rc,
    struct api_item *it, size_t n, struct api_op_err *e);

/*
 * Imports a verified manifest and, when it is new (*created), records
 * the commissioning of its codes. yima_tx_batch_import's errors.
 */
int api_op_import(struct yima_tx *tx, const struct yima_manifest *m,
    int64_t at, int *created);
/* Revokes first..last, and records its decommissioning. */
int api_op_revoke(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *reason, int64_t at);

#endif /* API_CHAIN_H */
