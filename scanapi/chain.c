/* SPDX-License-Identifier: Apache-2.0 */
/* The supply chain's operations (chain.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "chain.h"
#include "epcis.h"
#include "verdict.h"

#define EXPAND_MAX	200000	/* serial ranges one shipment may expand to */
#define LIST_SHOWN	20	/* codes named in an error */

void
api_op_err_clear(struct api_op_err *e)
{
	json_decref(e->codes);
	memset(e, 0, sizeof(*e));
}

static int refuse(struct api_op_err *e, int status, const char *code,
    json_t *codes, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
refuse(struct api_op_err *e, int status, const char *code, json_t *codes,
    const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	json_decref(e->codes);
	e->codes = codes;
	return -1;
}

static int
unavailable(struct api_op_err *e)
{
	return refuse(e, 503, "unavailable", NULL, "the store is unavailable");
}

static int
cmp_item(const void *a, const void *b)
{
	const struct api_item *x = a, *y = b;

	return x->code.serial < y->code.serial ? -1 :
	    x->code.serial > y->code.serial;
}

static int
cmp_span(const void *a, const void *b)
{
	const struct yima_span *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

int
api_op_codes(struct api_keys *keys, struct yima_store *st,
    struct yima_tx *tx, json_t *arr, int kinds, struct api_item **out,
    size_t *n, struct api_op_err *e)
{
	struct yima_range range;
	struct yima_tx *own = NULL;
	struct api_item *items;
	char why[YIMA_WHY_MAX];
	size_t i, count;
	json_t *v;
	int rc;

	count = json_is_array(arr) ? json_array_size(arr) : 0;
	if (count == 0 || count > API_CODES_MAX)
		return refuse(e, 400, "bad_request", NULL, "\"codes\" must be "
		    "an array of 1 to %d codes", API_CODES_MAX);
	if ((items = yima_calloc(count, sizeof(*items))) == NULL)
		return refuse(e, 503, "unavailable", NULL, "out of memory");
	/*
	 * Registered ranges never change, so a read transaction will do:
	 * no writer is held while 10,000 codes are checked.
	 */
	if (tx == NULL && yima_tx_begin(st, 0, &own) != 0) {
		rc = unavailable(e);
		goto fail;
	}
	for (i = 0; i < count; i++) {
		v = json_array_get(arr, i);
		if (!json_is_string(v) || api_keys_verify(keys,
		    json_string_value(v), json_string_length(v),
		    &items[i].code, why) != 0) {
			rc = refuse(e, 400, "invalid_code", NULL, "code %zu is "
			    "invalid%s%s", i + 1, json_is_string(v) ? ": " : "",
			    json_is_string(v) ? why : "");
			goto fail;
		}
		items[i].text = json_string_value(v);
		if ((API_K(items[i].code.kind) & kinds) == 0) {
			rc = refuse(e, 400, "wrong_kind", NULL, "code %zu is a "
			    "%s code, which cannot go here", i + 1,
			    yima_kind_name((int)items[i].code.kind));
			goto fail;
		}
		rc = yima_tx_range_find(tx != NULL ? tx : own,
		    items[i].code.serial, (int)items[i].code.kind, &range);
		if (rc == YIMA_ENOENT) {
			rc = refuse(e, 400, "unregistered", NULL, "code %zu is "
			    "not imported", i + 1);
			goto fail;
		}
		if (rc != 0) {
			rc = unavailable(e);
			goto fail;
		}
	}
	yima_tx_rollback(own);
	*out = items;
	*n = count;
	return 0;
fail:
	yima_tx_rollback(own);
	yima_free(items);
	return rc;
}

/* ---- commissioning and decommissioning ---- */

int
api_op_import(struct yima_tx *tx, const struct yima_manifest *m,
    int64_t at, int *created)
{
	int rc = yima_tx_batch_import(tx, m, m->hmac, created);

	return rc == 0 && *created ? api_epcis_commission(tx, m, at) : rc;
}

int
api_op_revoke(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *reason, int64_t at)
{
	int rc = yima_tx_revoke(tx, first, last, reason);

	return rc == 0 ? api_epcis_decommission(tx, first, last, reason, at) :
	    rc;
}

/* ---- packing ---- */

int
api_op_pack(struct yima_tx *tx, const struct api_item *parent,
    struct api_item *kids, size_t n, int64_t at, size_t *added,
    size_t *ranges, struct api_op_err *e)
{
	struct yima_span *spans = NULL;
	json_t *conflicts;
	uint64_t at_parent, first, last;
	size_t i, j, ns = 0;
	int rc, kinds;

	*added = *ranges = 0;
	if (parent->code.kind != YIMA_KIND_BOX &&
	    parent->code.kind != YIMA_KIND_PALLET)
		return refuse(e, 400, "wrong_kind", NULL, "the parent is a %s "
		    "code: only a box or a pallet holds others",
		    yima_kind_name((int)parent->code.kind));
	/* Items go into boxes; boxes (or items) onto pallets. */
	kinds = parent->code.kind == YIMA_KIND_BOX ? API_K(YIMA_KIND_ITEM) :
	    API_K(YIMA_KIND_ITEM) | API_K(YIMA_KIND_BOX);
	qsort(kids, n, sizeof(*kids), cmp_item);
	if ((conflicts = json_array()) == NULL)
		return unavailable(e);
	for (i = 0; i < n; i++) {
		if ((API_K(kids[i].code.kind) & kinds) == 0) {
			json_decref(conflicts);
			return refuse(e, 400, "wrong_kind", NULL, "a %s code "
			    "cannot go into a %s",
			    yima_kind_name((int)kids[i].code.kind),
			    yima_kind_name((int)parent->code.kind));
		}
		if (i > 0 && kids[i].code.serial == kids[i - 1].code.serial) {
			json_decref(conflicts);
			return refuse(e, 400, "bad_request", NULL,
			    "a code is listed twice");
		}
		rc = yima_tx_pack_parent(tx, kids[i].code.serial, &at_parent);
		if (rc == 0 && at_parent != parent->code.serial &&
		    json_array_size(conflicts) < LIST_SHOWN)
			json_array_append_new(conflicts,
			    json_string(kids[i].text));
		else if (rc != 0 && rc != YIMA_ENOENT) {
			json_decref(conflicts);
			return unavailable(e);
		}
		/* Already in this parent: nothing to do. */
		if (rc == 0)
			kids[i].text = NULL;
	}
	if (json_array_size(conflicts) > 0)
		return refuse(e, 409, "conflict", conflicts, "these codes are "
		    "packed elsewhere; unpack them first");
	json_decref(conflicts);
	if ((spans = yima_malloc((n + 1) * sizeof(*spans))) == NULL)
		return unavailable(e);
	/* Consecutive serials become one range. */
	for (i = 0; i < n; i = j) {
		if (kids[i].text == NULL) {
			j = i + 1;
			continue;
		}
		first = last = kids[i].code.serial;
		for (j = i + 1; j < n && kids[j].text != NULL &&
		    kids[j].code.serial == last + 1; j++)
			last++;
		if (yima_tx_pack_add(tx, parent->code.serial, first, last,
		    at) != 0)
			goto fail;
		spans[ns++] = (struct yima_span){ first, last };
		*added += (size_t)(last - first + 1);
	}
	*ranges = ns;
	if (ns > 0 && api_epcis_record(tx, "packing", at, parent->code.serial,
	    spans, ns, NULL, NULL, NULL) != 0)
		goto fail;
	yima_free(spans);
	return 0;
fail:
	yima_free(spans);
	return unavailable(e);
}

int
api_op_unpack(struct yima_tx *tx, uint64_t parent, int64_t at, int *rows,
    struct api_op_err *e)
{
	struct yima_span *kids;
	size_t cap = 64, n = 0;
	int rc;

	/* What it holds, for the event: a case a few ranges, a pallet more. */
	for (;;) {
		if ((kids = yima_malloc(cap * sizeof(*kids))) == NULL)
			return unavailable(e);
		rc = yima_tx_pack_children(tx, parent, kids, cap, &n);
		if (rc != YIMA_ERANGE || cap >= EXPAND_MAX)
			break;
		yima_free(kids);
		cap *= 8;
	}
	if (rc == 0)
		rc = yima_tx_unpack(tx, parent, at, rows);
	if (rc == 0 && *rows > 0) {
		qsort(kids, n, sizeof(*kids), cmp_span);
		rc = api_epcis_record(tx, "unpacking", at, parent, kids, n,
		    NULL, NULL, NULL);
	}
	yima_free(kids);
	if (rc != 0)
		return unavailable(e);
	if (*rows == 0)
		return refuse(e, 404, "not_found", NULL,
		    "nothing is packed in this code");
	return 0;
}

/* ---- shipping ---- */

/* Appends serial s, and what is packed in it, to the spans. */
static int
expand(struct yima_tx *tx, uint64_t s, int depth, struct yima_span *out,
    size_t max, size_t *n)
{
	struct yima_span *kids = NULL;
	size_t k, m, cap = 64;
	uint64_t x;
	int rc;

	if (*n >= max)
		return YIMA_ERANGE;
	out[(*n)++] = (struct yima_span){ s, s };
	if (depth >= 3)
		return 0;
	/* A case holds a handful of ranges; grow for a sparse pallet. */
	for (;;) {
		if ((kids = yima_malloc(cap * sizeof(*kids))) == NULL)
			return YIMA_ENOMEM;
		rc = yima_tx_pack_children(tx, s, kids, cap, &m);
		if (rc != YIMA_ERANGE || cap >= max)
			break;
		yima_free(kids);
		kids = NULL;
		cap *= 8;
	}
	for (k = 0; rc == 0 && k < m; k++)
		for (x = kids[k].first; rc == 0 && x <= kids[k].last; x++)
			rc = expand(tx, x, depth + 1, out, max, n);
	yima_free(kids);
	return rc;
}

/* Sorted serials as spans in out (n entries at most); how many. */
static size_t
items_spans(const struct api_item *it, size_t n, struct yima_span *out)
{
	size_t i, ns = 0;

	for (i = 0; i < n; i++)
		if (ns > 0 && it[i].code.serial <= out[ns - 1].last + 1) {
			if (it[i].code.serial > out[ns - 1].last)
				out[ns - 1].last = it[i].code.serial;
		} else
			out[ns++] = (struct yima_span){ it[i].code.serial,
			    it[i].code.serial };
	return ns;
}

int
api_op_ship(struct yima_tx *tx, const char *shipper, const char *to,
    const char *ref, struct api_item *it, size_t n, int64_t at,
    size_t *serials, size_t *ranges, struct api_op_err *e)
{
	struct yima_span *spans = NULL;
	struct yima_dealer d;
	json_t *notown = NULL;
	char owner[YIMA_DEALER_ID_MAX + 1];
	size_t ns = 0, i, j;
	int rc, under, res = -1;

	*serials = *ranges = 0;
	if ((rc = yima_tx_dealer_get(tx, to, &d)) != 0)
		return rc == YIMA_ENOENT ? refuse(e, 400, "bad_request", NULL,
		    "dealer %s does not exist", to) : unavailable(e);
	/* A dealer ships only its own goods, only down its own tree. */
	if (shipper[0] != '\0') {
		if (yima_tx_dealer_under(tx, shipper, to, &under) != 0)
			return unavailable(e);
		if (!under || strcmp(to, shipper) == 0)
			return refuse(e, 403, "forbidden", NULL, "a dealer "
			    "ships only to dealers below it");
		if ((notown = json_array()) == NULL)
			return unavailable(e);
		for (i = 0; i < n; i++) {
			rc = yima_tx_owner(tx, it[i].code.serial, owner);
			if (rc != 0 && rc != YIMA_ENOENT) {
				json_decref(notown);
				return unavailable(e);
			}
			if ((rc != 0 || strcmp(owner, shipper) != 0) &&
			    json_array_size(notown) < LIST_SHOWN)
				json_array_append_new(notown,
				    json_string(it[i].text));
		}
		if (json_array_size(notown) > 0)
			return refuse(e, 403, "forbidden", notown, "these goods "
			    "are not this dealer's");
		json_decref(notown);
	}
	/* Shipping a pallet ships its boxes and their items. */
	if ((spans = yima_malloc(EXPAND_MAX * sizeof(*spans))) == NULL)
		return unavailable(e);
	for (i = 0; i < n; i++)
		if ((rc = expand(tx, it[i].code.serial, 0, spans, EXPAND_MAX,
		    &ns)) != 0) {
			if (rc == YIMA_ERANGE)
				refuse(e, 400, "too_large", NULL,
				    "the shipment holds too many codes");
			else
				unavailable(e);
			goto done;
		}
	/* What a dealer's cases hold must be its own too, not its stores'. */
	for (i = 0; shipper[0] != '\0' && i < ns; i++) {
		rc = yima_tx_owner(tx, spans[i].first, owner);
		if (rc != 0 && rc != YIMA_ENOENT) {
			unavailable(e);
			goto done;
		}
		if (rc != 0 || strcmp(owner, shipper) != 0) {
			refuse(e, 403, "forbidden", NULL, "serial %llu packed "
			    "in these goods is not this dealer's",
			    (unsigned long long)spans[i].first);
			goto done;
		}
	}
	*serials = ns;
	qsort(spans, ns, sizeof(*spans), cmp_span);
	for (i = 0; i < ns; i = j) {
		for (j = i + 1; j < ns && spans[j].first <= spans[i].last + 1;
		    j++)
			if (spans[j].last > spans[i].last)
				spans[i].last = spans[j].last;
		if (yima_tx_ship(tx, spans[i].first, spans[i].last, to, ref,
		    at) != 0) {
			unavailable(e);
			goto done;
		}
		(*ranges)++;
	}
	/* The event names what was shipped, not what it holds. */
	qsort(it, n, sizeof(*it), cmp_item);
	ns = items_spans(it, n, spans);
	if (api_epcis_record(tx, "shipping", at, 0, spans, ns, to, shipper,
	    ref) != 0) {
		unavailable(e);
		goto done;
	}
	res = 0;
done:
	yima_free(spans);
	return res;
}

/* ---- receiving ---- */

/*
 * Is a receipt by dealer store evidence against owner? Only from the
 * goods' own shipping chain: the owner or a dealer below it, or a dealer
 * a shipment of the code, or of the box or pallet it is packed in now,
 * went to (the ancestors that passed it on were shipped it too). Anyone
 * else could name any bottle at any place: that is kept, 'unverified'.
 * Decided here, once, like the owner and the place: a dealer ships only
 * down its own tree, so a store that a shipment recorded later brings
 * the goods to is below the owner already, and counts.
 */
static int
in_chain(struct yima_tx *tx, uint64_t serial, const char *owner,
    const char *dealer, int *yes)
{
	uint64_t s = serial, p;
	int depth, rc;

	if ((rc = yima_tx_dealer_under(tx, owner, dealer, yes)) != 0 || *yes)
		return rc;
	for (depth = 0; depth < 4; depth++, s = p) {
		if ((rc = yima_tx_shipped_to(tx, s, dealer, yes)) != 0 || *yes)
			return rc;
		if ((rc = yima_tx_pack_parent(tx, s, &p)) == YIMA_ENOENT)
			return 0;
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* A diversion if the owner's territory excludes the receipt's place. */
static int
receipt_diversion(struct yima_tx *tx, const struct yima_receipt *rc_,
    int64_t id, char (*terr)[7])
{
	struct yima_diversion dv;
	size_t nt;
	int rc, chain;

	memset(&dv, 0, sizeof(dv));
	rc = yima_tx_owner(tx, rc_->serial, dv.owner);
	if (rc == YIMA_ENOENT)
		return 0;
	if (rc != 0 || (rc = yima_tx_territory_of(tx, dv.owner, terr,
	    YIMA_TERRITORY_MAX, &nt, NULL)) != 0)
		return rc;
	if (nt == 0 || api_territory_holds(rc_->region, terr, nt))
		return 0;
	if ((rc = in_chain(tx, rc_->serial, dv.owner, rc_->dealer,
	    &chain)) != 0)
		return rc;
	dv.receipt_id = id;
	dv.at = rc_->at;
	dv.serial = rc_->serial;
	memcpy(dv.region, rc_->region, sizeof(dv.region));
	strcpy(dv.evidence, chain ? "store" : "unverified");
	dv.uncertain = rc_->near_border;
	return yima_tx_diversion_add(tx, &dv);
}

int
api_op_receipt(struct yima_tx *tx, struct yima_receipt *rc_,
    struct api_item *it, size_t n, struct api_op_err *e)
{
	struct yima_span *spans = NULL;
	char (*terr)[7] = NULL;
	int open = strcmp(rc_->kind, "open") == 0;
	size_t i, ns;
	int64_t id;
	int rc = YIMA_ENOMEM;

	if ((terr = yima_malloc(YIMA_TERRITORY_MAX * sizeof(*terr))) == NULL ||
	    (spans = yima_malloc(n * sizeof(*spans))) == NULL)
		goto done;
	for (i = 0, rc = 0; rc == 0 && i < n; i++) {
		rc_->serial = it[i].code.serial;
		if ((rc = yima_tx_receipt_add(tx, rc_, &id)) == 0 &&
		    rc_->region[0] != '\0')
			rc = receipt_diversion(tx, rc_, id, terr);
		/* A case opened at the store: one event each. */
		if (rc == 0 && open)
			rc = api_epcis_record(tx, "opening", rc_->at,
			    rc_->serial, NULL, 0, rc_->dealer, NULL, NULL);
	}
	if (rc == 0 && !open) {
		qsort(it, n, sizeof(*it), cmp_item);
		ns = items_spans(it, n, spans);
		rc = api_epcis_record(tx, "receiving", rc_->at, 0, spans, ns,
		    rc_->dealer, NULL, NULL);
	}
done:
	yima_free(terr);
	yima_free(spans);
	return rc != 0 ? unavailable(e) : 0;
}
