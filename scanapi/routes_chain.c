/* SPDX-License-Identifier: Apache-2.0 */
/* Supply-chain routes: dealers, territories, channels, packing, shipping,
 * receipts, traces and the diversion report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "yima/err.h"
#include "yima/geo.h"
#include "yima/gs1.h"
#include "yima/qr.h"
#include "yima/render.h"
#include "yima/validate.h"

#include "../codegen/alloc-private.h"
#include "chain.h"
#include "routes.h"

#define REGIONS_MAX	1000	/* regions in one territory */
#define DAY_MS		(24LL * 3600 * 1000)

static enum MHD_Result
unavailable(struct api_req *r)
{
	return api_reply_error(r, 503, "unavailable",
	    "the store is unavailable");
}

/* Text of an id field: 1-64 of [A-Za-z0-9_.-]. */
static int
good_id(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= YIMA_DEALER_ID_MAX && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == n;
}

/* A string member of at most max bytes, or NULL. */
static const char *
str_of(json_t *o, const char *key, size_t max)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/* The verified, registered codes of a JSON array (chain.h). */
static int
codes_of(struct api_req *r, json_t *arr, int kinds, struct api_item **out,
    size_t *n, struct api_op_err *e)
{
	return api_op_codes(&r->srv->keys, r->srv->st, NULL, arr, kinds, out,
	    n, e);
}

/* The answer to a refused operation. */
static enum MHD_Result
op_reply(struct api_req *r, struct api_op_err *e)
{
	enum MHD_Result res;

	if (e->status == 503)
		res = unavailable(r);
	else if (e->codes != NULL) {
		res = api_reply_json(r, e->status, json_pack("{s:{s:s,s:s,s:O}}",
		    "error", "code", e->code, "message", e->msg, "codes",
		    e->codes));
	} else
		res = api_reply_error(r, e->status, e->code, "%s", e->msg);
	api_op_err_clear(e);
	return res;
}

/* Commits tx (or rolls it back after a refusal) and answers. */
static enum MHD_Result
op_end(struct api_req *r, struct yima_tx *tx, int rc, struct api_op_err *e,
    json_t *ok)
{
	if (rc != 0) {
		yima_tx_rollback(tx);
		json_decref(ok);
		return op_reply(r, e);
	}
	if (yima_tx_commit(tx) != 0) {
		json_decref(ok);
		return unavailable(r);
	}
	return api_reply_json(r, 201, ok);
}

#define K(kind)	API_K(kind)

/* ---- dealers and territories ---- */

/*
 * A dealer from a request body: {"id"?, "name", "type", "parent"?,
 * "gln"?}; with id NULL the body names it (or one is made). 0, or -1
 * with the answer queued in *res.
 */
static int
dealer_of(struct api_req *r, json_t *body, const char *id,
    struct yima_dealer *d, enum MHD_Result *res)
{
	static const char *const types[] = { "distributor", "dealer", "store" };
	unsigned char rnd[6];
	const char *v;
	size_t i;

	memset(d, 0, sizeof(*d));
	if (id != NULL) {
		if (!good_id(id))
			goto bad;
		strcpy(d->id, id);
	} else if (json_object_get(body, "id") != NULL) {
		if ((v = str_of(body, "id", YIMA_DEALER_ID_MAX)) == NULL ||
		    !good_id(v))
			goto bad;
		strcpy(d->id, v);
	} else if (RAND_bytes(rnd, sizeof(rnd)) == 1)
		snprintf(d->id, sizeof(d->id), "D%02x%02x%02x%02x%02x%02x",
		    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	if ((v = str_of(body, "name", 128)) == NULL)
		goto bad;
	strcpy(d->name, v);
	if ((v = str_of(body, "type", 15)) == NULL)
		goto bad;
	for (i = 0; i < 3 && strcmp(v, types[i]) != 0; i++)
		;
	if (i == 3)
		goto bad;
	strcpy(d->type, v);
	if (json_object_get(body, "parent") != NULL) {
		if ((v = str_of(body, "parent", YIMA_DEALER_ID_MAX)) == NULL ||
		    !good_id(v))
			goto bad;
		strcpy(d->parent, v);
	}
	/* A GS1 Global Location Number names it in EPCIS events. */
	if (json_object_get(body, "gln") != NULL && !json_is_null(
	    json_object_get(body, "gln"))) {
		if ((v = str_of(body, "gln", 13)) == NULL || strlen(v) != 13 ||
		    strspn(v, "0123456789") != 13) {
			*res = api_reply_error(r, 400, "bad_gln", "\"gln\" is a "
			    "GLN: 13 digits");
			return -1;
		}
		if (!yima_gs1_check_digit(v, 13)) {
			*res = api_reply_error(r, 400, "bad_gln", "GLN %s has a "
			    "wrong check digit", v);
			return -1;
		}
		strcpy(d->gln, v);
	}
	return 0;
bad:
	*res = api_reply_error(r, 400, "bad_request", "a dealer is {\"id\"?: "
	    "1-64 of A-Z a-z 0-9 _ . -, \"name\": 1-128 bytes, \"parent\"?: "
	    "id, \"type\": distributor|dealer|store, \"gln\"?: 13 digits}");
	return -1;
}

static json_t *
dealer_json(const struct yima_dealer *d)
{
	return json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "id", d->id, "name",
	    d->name, "type", d->type, "parent", d->parent[0] ? d->parent :
	    NULL, "gln", d->gln[0] ? d->gln : NULL);
}

/* Creates d; the answer for a refusal or a store failure. */
static enum MHD_Result
dealer_create(struct api_req *r, struct yima_tx *tx,
    const struct yima_dealer *d)
{
	int rc = yima_tx_dealer_create(tx, d);

	if (rc == 0)
		rc = yima_tx_commit(tx);
	else
		yima_tx_rollback(tx);
	if (rc == YIMA_EEXIST)
		return api_reply_error(r, 409, "conflict",
		    "dealer %s exists", d->id);
	if (rc == YIMA_ENOENT)
		return api_reply_error(r, 400, "bad_request",
		    "parent %s is not a dealer", d->parent);
	if (rc != 0)
		return unavailable(r);
	return api_reply_json(r, 201, dealer_json(d));
}

/* An admin's dealer request (id: the path's, or NULL): 0, or -1. */
static int
dealer_req(struct api_req *r, const char *id, struct yima_dealer *d,
    enum MHD_Result *res)
{
	struct yima_token t;
	json_t *body;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, res) ||
	    (body = api_body_json(r, res)) == NULL)
		return -1;
	rc = dealer_of(r, body, id, d, res);
	json_decref(body);
	return rc;
}

enum MHD_Result
api_route_dealer_add(struct api_req *r)
{
	struct yima_dealer d;
	struct yima_tx *tx;
	enum MHD_Result res;

	if (dealer_req(r, NULL, &d, &res) != 0)
		return res;
	if (yima_tx_begin(r->srv->st, 1, &tx) != 0)
		return unavailable(r);
	return dealer_create(r, tx, &d);
}

/*
 * PUT: creates the dealer, or sets its name, type, GLN and parent: moved
 * under another (never under itself or its own subtree), its subtree
 * with it; its goods and their history stay its own.
 */
enum MHD_Result
api_route_dealer_put(struct api_req *r)
{
	struct yima_dealer d, old, up;
	struct yima_tx *tx;
	enum MHD_Result res;
	int rc, under = 0;

	if (dealer_req(r, r->param, &d, &res) != 0)
		return res;
	if (yima_tx_begin(r->srv->st, 1, &tx) != 0)
		return unavailable(r);
	if ((rc = yima_tx_dealer_get(tx, d.id, &old)) == YIMA_ENOENT)
		return dealer_create(r, tx, &d);
	if (rc == 0 && d.parent[0] != '\0' && strcmp(old.parent, d.parent) &&
	    (rc = yima_tx_dealer_get(tx, d.parent, &up)) == YIMA_ENOENT) {
		yima_tx_rollback(tx);
		return api_reply_error(r, 400, "bad_request", "\"parent\" %s "
		    "does not exist", d.parent);
	}
	if (rc == 0 && d.parent[0] != '\0' && strcmp(old.parent, d.parent) &&
	    (rc = yima_tx_dealer_under(tx, d.id, d.parent, &under)) == 0 &&
	    under) {
		yima_tx_rollback(tx);
		return api_reply_error(r, 409, "conflict", "\"parent\" %s is "
		    "%s itself or under it", d.parent, d.id);
	}
	if (rc == 0)
		rc = yima_tx_dealer_update(tx, &d);
	if (rc == 0)
		rc = yima_tx_commit(tx);
	else
		yima_tx_rollback(tx);
	if (rc != 0)
		return unavailable(r);
	return api_reply_json(r, 200, dealer_json(&d));
}

static void
add_dealer(void *ctx, const struct yima_dealer *d)
{
	json_array_append_new(ctx, dealer_json(d));
}

static int
fill_dealers(struct yima_tx *tx, json_t *list, const void *arg)
{
	(void)arg;
	return yima_tx_dealer_list(tx, add_dealer, list);
}

enum MHD_Result
api_route_dealer_list(struct api_req *r)
{
	struct yima_token t;
	enum MHD_Result res;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	return api_reply_list(r, "dealers", fill_dealers, NULL);
}

enum MHD_Result
api_route_territory(struct api_req *r)
{
	const char *codes[REGIONS_MAX];
	struct yima_dealer d;
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	json_t *body, *arr, *v, *unknown;
	size_t i, n;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	arr = json_object_get(body, "regions");
	n = json_is_array(arr) ? json_array_size(arr) : 0;
	if (!json_is_array(arr) || n > REGIONS_MAX) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "\"regions\" must "
		    "be an array of at most %d GB/T 2260 codes", REGIONS_MAX);
	}
	unknown = json_array();
	for (i = 0; i < n; i++) {
		v = json_array_get(arr, i);
		codes[i] = json_is_string(v) ? json_string_value(v) : "";
		if (!json_is_string(v) || (r->srv->geo != NULL ?
		    !yima_geo_known(r->srv->geo, codes[i]) :
		    (strlen(codes[i]) != 2 && strlen(codes[i]) != 4 &&
		    strlen(codes[i]) != 6) ||
		    strspn(codes[i], "0123456789") != strlen(codes[i])))
			json_array_append_new(unknown, json_is_string(v) &&
			    json_string_length(v) <= 16 ? json_copy(v) :
			    json_string("(not a code)"));
	}
	if (json_array_size(unknown) > 0) {
		res = api_reply_json(r, 400, json_pack("{s:{s:s,s:s,s:o}}",
		    "error", "code", "unknown_regions", "message",
		    "these are not GB/T 2260 province (2 digits), city (4) or "
		    "county (6) codes of the installed regions", "regions",
		    unknown));
		json_decref(body);
		return res;
	}
	json_decref(unknown);
	if (yima_tx_begin(r->srv->st, 1, &tx) != 0) {
		json_decref(body);
		return unavailable(r);
	}
	rc = yima_tx_dealer_get(tx, r->param, &d);
	if (rc == 0)
		rc = yima_tx_territory_set(tx, r->param, codes, n);
	if (rc == 0)
		rc = yima_tx_commit(tx);
	else
		yima_tx_rollback(tx);
	if (rc == YIMA_ENOENT) {
		json_decref(body);
		return api_reply_error(r, 404, "not_found", "no such dealer");
	}
	if (rc != 0) {
		json_decref(body);
		return unavailable(r);
	}
	res = api_reply_json(r, 200, json_pack("{s:s,s:O}", "dealer",
	    r->param, "regions", arr));
	json_decref(body);
	return res;
}

enum MHD_Result
api_route_channel(struct api_req *r)
{
	static const char *const types[] = { "dealer", "store", "staff" };
	struct api_op_err e = { 0 };
	struct yima_channel c;
	struct yima_dealer d;
	struct yima_token t;
	struct yima_tx *tx;
	struct api_item *it;
	enum MHD_Result res;
	json_t *body, *one;
	const char *v;
	size_t i, n;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	memset(&c, 0, sizeof(c));
	if ((v = str_of(body, "dealer", YIMA_DEALER_ID_MAX)) == NULL)
		goto bad;
	strcpy(c.dealer, v);
	if ((v = str_of(body, "name", 128)) == NULL)
		goto bad;
	strcpy(c.name, v);
	if ((v = str_of(body, "type", 15)) == NULL)
		goto bad;
	for (i = 0; i < 3 && strcmp(v, types[i]) != 0; i++)
		;
	if (i == 3 || !json_is_string(json_object_get(body, "code")))
		goto bad;
	strcpy(c.type, v);
	one = json_pack("[O]", json_object_get(body, "code"));
	rc = codes_of(r, one, K(YIMA_KIND_CHANNEL), &it, &n, &e);
	json_decref(one);
	json_decref(body);
	if (rc != 0)
		return op_reply(r, &e);
	c.serial = it[0].code.serial;
	yima_free(it);
	if (yima_tx_begin(r->srv->st, 1, &tx) != 0)
		return unavailable(r);
	if ((rc = yima_tx_dealer_get(tx, c.dealer, &d)) == 0)
		rc = yima_tx_channel_bind(tx, c.serial, &c);
	if (rc == 0)
		rc = yima_tx_commit(tx);
	else
		yima_tx_rollback(tx);
	if (rc == YIMA_ENOENT)
		return api_reply_error(r, 400, "bad_request",
		    "dealer %s does not exist", c.dealer);
	if (rc != 0)
		return unavailable(r);
	return api_reply_json(r, 201, json_pack("{s:I,s:s,s:s,s:s}",
	    "serial", (json_int_t)c.serial, "dealer", c.dealer, "type",
	    c.type, "name", c.name));
bad:
	json_decref(body);
	return api_reply_error(r, 400, "bad_request", "a channel is {\"code\": "
	    "a channel code, \"dealer\": id, \"type\": dealer|store|staff, "
	    "\"name\": 1-128 bytes}");
}

static void
batch_domain(void *ctx, const struct yima_batch_info *b)
{
	memcpy(ctx, b->m.domain, sizeof(b->m.domain));
}

/*
 * GET /api/v1/admin/channels/qr?code=CODE (admin): a minted channel code's
 * QR symbol as SVG, its URL on its batch's domain as the batch printed it,
 * for a console to show and a store to print again.
 */
enum MHD_Result
api_route_channel_qr(struct api_req *r)
{
	static const char *const hdr[] = { "Cache-Control",
	    "private, max-age=3600", "Content-Security-Policy",
	    "default-src 'none'", NULL };
	const char *v = MHD_lookup_connection_value(r->conn,
	    MHD_GET_ARGUMENT_KIND, "code");
	char domain[YIMA_DOMAIN_MAX + 1] = "", code[YIMA_CODE_LEN + 1];
	char url[YIMA_URL_MAX];
	uint8_t payload[YIMA_PAYLOAD_LEN];
	struct api_op_err e = { 0 };
	struct yima_buf svg = { 0 };
	struct yima_range range;
	struct yima_qr *qr = NULL;
	struct yima_token t;
	struct yima_tx *tx;
	struct api_item *it;
	enum MHD_Result res;
	json_t *one;
	size_t n;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if (v == NULL || v[0] == '\0' || strlen(v) > YIMA_CODE_TEXT_MAX)
		return api_reply_error(r, 400, "bad_request", "code is a "
		    "channel code or its URL");
	if ((one = json_pack("[s]", v)) == NULL)
		return unavailable(r);
	rc = codes_of(r, one, K(YIMA_KIND_CHANNEL), &it, &n, &e);
	json_decref(one);
	if (rc != 0)
		return op_reply(r, &e);
	yima_code_pack(&it[0].code, payload);
	yima_base32_encode(payload, code);
	if ((rc = yima_tx_begin(r->srv->st, 0, &tx)) == 0) {
		if ((rc = yima_tx_range_find(tx, it[0].code.serial,
		    YIMA_KIND_CHANNEL, &range)) == 0)
			rc = yima_tx_batch_list(tx, range.batch, 1,
			    batch_domain, domain);
		yima_tx_rollback(tx);
	}
	yima_free(it);
	if (rc != 0 || domain[0] == '\0')
		return unavailable(r);
	n = yima_code_url(domain, code, url);
	if ((rc = yima_qr_encode(url, n, YIMA_ECC_M, &qr)) != 0 ||
	    (rc = yima_render_svg(qr, code, &svg)) != 0) {
		yima_qr_free(qr);
		return api_reply_error(r, 500, "internal", "the symbol could "
		    "not be drawn: %s", yima_strerror(rc));
	}
	yima_qr_free(qr);
	res = api_reply(r, 200, "image/svg+xml", svg.data, svg.len, hdr);
	yima_buf_free(&svg);
	return res;
}

/*
 * GET /api/v1/admin/dealers/{id}/territory (admin): the territory in
 * force, with names, and whose it is (its own, or an ancestor's).
 */
enum MHD_Result
api_route_territory_get(struct api_req *r)
{
	char (*codes)[7], from[YIMA_DEALER_ID_MAX + 1] = "", full[7];
	struct yima_dealer d;
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	const char *name;
	json_t *list;
	size_t n = 0, i;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((codes = yima_calloc(YIMA_TERRITORY_MAX, sizeof(*codes))) == NULL)
		return unavailable(r);
	if ((rc = yima_tx_begin(r->srv->st, 0, &tx)) == 0) {
		if ((rc = yima_tx_dealer_get(tx, r->param, &d)) == 0)
			rc = yima_tx_territory_of(tx, r->param, codes,
			    YIMA_TERRITORY_MAX, &n, from);
		yima_tx_rollback(tx);
	}
	if (rc != 0) {
		yima_free(codes);
		return rc == YIMA_ENOENT ? api_reply_error(r, 404,
		    "not_found", "no such dealer") : unavailable(r);
	}
	list = json_array();
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof(full), "%s000000", codes[i]);
		name = r->srv->geo != NULL ? yima_geo_name(r->srv->geo, full) :
		    NULL;
		json_array_append_new(list, json_pack("{s:s,s:s?}", "code",
		    codes[i], "name", name));
	}
	yima_free(codes);
	return api_reply_json(r, 200, json_pack("{s:s,s:o,s:s?}", "dealer",
	    r->param, "regions", list, "from", n > 0 ? from : NULL));
}

/* ---- packing, shipping, receiving (chain.h) ---- */

enum MHD_Result
api_route_pack(struct api_req *r)
{
	struct api_item *parent = NULL, *kids = NULL;
	struct api_op_err e = { 0 };
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	json_t *body, *one;
	size_t n, np, added, spans;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_OPS, &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	if (!json_is_string(json_object_get(body, "parent")) ||
	    !json_is_array(json_object_get(body, "children"))) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "a pack is "
		    "{\"parent\": CODE, \"children\": [CODE, ...]}");
	}
	one = json_pack("[O]", json_object_get(body, "parent"));
	rc = codes_of(r, one, K(YIMA_KIND_BOX) | K(YIMA_KIND_PALLET), &parent,
	    &np, &e);
	if (rc == 0)
		rc = codes_of(r, json_object_get(body, "children"),
		    K(YIMA_KIND_ITEM) | K(YIMA_KIND_BOX), &kids, &n, &e);
	if (rc != 0)
		res = op_reply(r, &e);
	else if (yima_tx_begin(r->srv->st, 1, &tx) != 0)
		res = unavailable(r);
	else {
		rc = api_op_pack(tx, parent, kids, n, api_now_ms(), &added,
		    &spans, &e);
		res = op_end(r, tx, rc, &e, json_pack("{s:I,s:I,s:I}",
		    "parent", (json_int_t)parent->code.serial, "packed",
		    (json_int_t)added, "ranges", (json_int_t)spans));
	}
	json_decref(one);
	json_decref(body);
	yima_free(parent);
	yima_free(kids);
	return res;
}

enum MHD_Result
api_route_unpack(struct api_req *r)
{
	struct api_op_err e = { 0 };
	struct yima_token t;
	struct yima_code c;
	struct yima_tx *tx;
	enum MHD_Result res;
	char why[YIMA_WHY_MAX];
	int rc, rows = 0;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_OPS, &t, &res))
		return res;
	if (api_keys_verify(&r->srv->keys, r->param, r->param_len, &c,
	    why) != 0)
		return api_reply_error(r, 400, "invalid_code",
		    "the code is invalid");
	if (yima_tx_begin(r->srv->st, 1, &tx) != 0)
		return unavailable(r);
	rc = api_op_unpack(tx, c.serial, api_now_ms(), &rows, &e);
	if (rc != 0) {
		yima_tx_rollback(tx);
		return op_reply(r, &e);
	}
	if (yima_tx_commit(tx) != 0)
		return unavailable(r);
	return api_reply_json(r, 200, json_pack("{s:I,s:i}", "parent",
	    (json_int_t)c.serial, "unpacked_ranges", rows));
}

enum MHD_Result
api_route_shipment(struct api_req *r)
{
	struct api_op_err e = { 0 };
	struct yima_token t;
	struct yima_tx *tx;
	struct api_item *it = NULL;
	enum MHD_Result res;
	json_t *body;
	const char *to, *ref = NULL;
	size_t n, serials, ranges;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_OPS | API_ROLE_DEALER,
	    &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	to = str_of(body, "to", YIMA_DEALER_ID_MAX);
	if (json_object_get(body, "ref") != NULL &&
	    (ref = str_of(body, "ref", 64)) == NULL)
		to = NULL;
	if (to == NULL) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "a shipment is "
		    "{\"to\": DEALER, \"codes\": [CODE, ...], \"ref\"?: text}");
	}
	if (codes_of(r, json_object_get(body, "codes"), K(YIMA_KIND_ITEM) |
	    K(YIMA_KIND_BOX) | K(YIMA_KIND_PALLET), &it, &n, &e) != 0)
		res = op_reply(r, &e);
	else if (yima_tx_begin(r->srv->st, 1, &tx) != 0)
		res = unavailable(r);
	else {
		rc = api_op_ship(tx, strcmp(t.role, "dealer") == 0 ? t.dealer :
		    "", to, ref, it, n, api_now_ms(), &serials, &ranges, &e);
		res = op_end(r, tx, rc, &e, json_pack("{s:s,s:I,s:I,s:I}",
		    "to", to, "codes", (json_int_t)n, "serials",
		    (json_int_t)serials, "ranges", (json_int_t)ranges));
	}
	json_decref(body);
	yima_free(it);
	return res;
}

enum MHD_Result
api_route_receipt(struct api_req *r)
{
	struct api_op_err e = { 0 };
	struct yima_receipt rc_;
	struct yima_place pl;
	struct yima_token t;
	struct yima_tx *tx;
	struct api_item *it = NULL;
	enum MHD_Result res;
	json_t *body, *jl, *jo, *jk;
	size_t n;
	int rc;

	if (!api_require(r, API_ROLE_DEALER, &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	memset(&rc_, 0, sizeof(rc_));
	jk = json_object_get(body, "kind");
	jl = json_object_get(body, "lat");
	jo = json_object_get(body, "lon");
	if (!json_is_string(jk) || (strcmp(json_string_value(jk), "receive") &&
	    strcmp(json_string_value(jk), "open")) ||
	    (jl == NULL) != (jo == NULL) || (jl != NULL &&
	    (!json_is_number(jl) || !json_is_number(jo) ||
	    json_number_value(jl) < -90 || json_number_value(jl) > 90 ||
	    json_number_value(jo) < -180 || json_number_value(jo) > 180))) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "a receipt is "
		    "{\"codes\": [...], \"kind\": receive|open, \"lat\"?, "
		    "\"lon\"?}");
	}
	rc_.kind = strcmp(json_string_value(jk), "open") == 0 ? "open" :
	    "receive";
	rc_.at = api_now_ms();
	snprintf(rc_.dealer, sizeof(rc_.dealer), "%s", t.dealer);
	if (jl != NULL) {
		rc_.located = 1;
		rc_.lat = json_number_value(jl);
		rc_.lon = json_number_value(jo);
		if (r->srv->geo != NULL && yima_geo_lookup(r->srv->geo,
		    rc_.lat, rc_.lon, &pl) == 0) {
			memcpy(rc_.region, pl.code, sizeof(rc_.region));
			rc_.near_border = pl.near_border;
		}
	}
	if (codes_of(r, json_object_get(body, "codes"), K(YIMA_KIND_ITEM) |
	    K(YIMA_KIND_BOX) | K(YIMA_KIND_PALLET), &it, &n, &e) != 0)
		res = op_reply(r, &e);
	else if (yima_tx_begin(r->srv->st, 1, &tx) != 0)
		res = unavailable(r);
	else {
		rc = api_op_receipt(tx, &rc_, it, n, &e);
		res = op_end(r, tx, rc, &e, json_pack("{s:I,s:s,s:s?}",
		    "receipts", (json_int_t)n, "kind", rc_.kind, "region",
		    rc_.region[0] ? rc_.region : NULL));
	}
	json_decref(body);
	yima_free(it);
	return res;
}

/* ---- trace and the diversion report ---- */

int
api_name_rows(struct api_req *r, struct yima_tx *tx, json_t *rows)
{
	struct yima_dealer d;
	json_t *o, *names = json_object();
	const char *code, *id, *n;
	size_t i;
	int rc = 0;

	if (names == NULL)
		return YIMA_ENOMEM;
	json_array_foreach(rows, i, o) {
		if ((code = json_string_value(json_object_get(o, "region"))) !=
		    NULL && r->srv->geo != NULL && (n = yima_geo_name(
		    r->srv->geo, code)) != NULL)
			json_object_set_new(o, "region_name", json_string(n));
		if ((id = json_string_value(json_object_get(o, "owner"))) ==
		    NULL)
			continue;
		if (json_object_get(names, id) == NULL) {
			rc = yima_tx_dealer_get(tx, id, &d);
			if (rc != 0 && rc != YIMA_ENOENT)
				break;
			rc = 0;
			json_object_set_new(names, id, json_string(
			    d.id[0] != '\0' && strcmp(d.id, id) == 0 ? d.name :
			    ""));
		}
		if ((n = json_string_value(json_object_get(names, id))) !=
		    NULL && n[0] != '\0')
			json_object_set_new(o, "owner_name", json_string(n));
	}
	json_decref(names);
	return rc;
}

static void
add_event(void *ctx, const struct yima_event *e)
{
	char at[40];

	api_rfc3339(e->at, at, sizeof(at));
	/* json_pack is NULL only out of memory: the text is whole UTF-8. */
	json_array_append_new(ctx, json_pack("{s:s,s:s,s:I,s:s?,s:s?,s:s?}",
	    "type", e->type, "at", at, "id", (json_int_t)e->id, "dealer",
	    e->dealer[0] ? e->dealer : NULL, "detail",
	    e->detail[0] ? e->detail : NULL, "region",
	    e->region[0] ? e->region : NULL));
}

enum MHD_Result
api_route_trace(struct api_req *r)
{
	struct yima_token t;
	struct yima_code c;
	struct yima_tx *tx;
	enum MHD_Result res;
	char why[YIMA_WHY_MAX], owner[YIMA_DEALER_ID_MAX + 1];
	json_t *parents, *events;
	uint64_t s, p;
	int rc, depth;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_OPS, &t, &res))
		return res;
	if (api_keys_verify(&r->srv->keys, r->param, r->param_len, &c,
	    why) != 0)
		return api_reply_error(r, 400, "invalid_code",
		    "the code is invalid");
	if (yima_tx_begin(r->srv->st, 0, &tx) != 0)
		return unavailable(r);
	parents = json_array();
	events = json_array();
	for (s = c.serial, depth = 0; depth < 4 &&
	    (rc = yima_tx_pack_parent(tx, s, &p)) == 0; depth++, s = p)
		json_array_append_new(parents, json_integer((json_int_t)p));
	rc = yima_tx_owner(tx, c.serial, owner);
	if (rc == YIMA_ENOENT)
		owner[0] = '\0';
	if ((rc != 0 && rc != YIMA_ENOENT) ||
	    yima_tx_history(tx, c.serial, add_event, events) != 0) {
		yima_tx_rollback(tx);
		json_decref(parents);
		json_decref(events);
		return unavailable(r);
	}
	yima_tx_rollback(tx);
	return api_reply_json(r, 200, json_pack("{s:I,s:s,s:o,s:s?,s:o}",
	    "serial", (json_int_t)c.serial, "kind",
	    yima_kind_name((int)c.kind), "parents", parents, "owner",
	    owner[0] ? owner : NULL, "events", events));
}

struct report {
	json_t		*events;
	json_t		*in;		/* incoming events, the latest 2 limit */
	json_int_t	 nin;		/* incoming events, all of them */
	json_t		*under;		/* owner -> under me? (one query each) */
	json_t		*owners;	/* owner -> {consumer, store, unverified,
					 * uncertain} */
	int64_t		 total;		/* outgoing events, all of them */
	int		 limit;		/* events listed per direction */
	/* Incoming: others' goods seen in the territory of me. */
	int		 incoming;
	const char	*me;
	struct yima_tx	*tx;
	char		(*terr)[7];
	size_t		 nterr;
	int		 err;
};

static void
add_diversion(void *ctx, const struct yima_diversion *d)
{
	struct report *rp = ctx;
	json_t *o, *kept;
	char at[40];
	int under = 0;
	size_t i, n;

	if (rp->incoming) {
		if (!api_territory_holds(d->region, rp->terr, rp->nterr))
			return;
		if ((o = json_object_get(rp->under, d->owner)) != NULL)
			under = json_is_true(o);
		else if (yima_tx_dealer_under(rp->tx, rp->me, d->owner,
		    &under) != 0)
			rp->err = 1;
		else
			json_object_set_new(rp->under, d->owner,
			    json_boolean(under));
		if (under)
			return;	/* its own goods: outgoing, or no event */
		/* Events come in time order: the latest are kept. */
		rp->nin++;
		if ((n = json_array_size(rp->in)) >= 2 * (size_t)rp->limit) {
			if ((kept = json_array()) == NULL) {
				rp->err = 1;
				return;
			}
			for (i = n - (size_t)rp->limit; i < n; i++)
				json_array_append(kept, json_array_get(rp->in,
				    i));
			json_decref(rp->in);
			rp->in = kept;
		}
	}
	api_rfc3339(d->at, at, sizeof(at));
	o = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:b}", "at", at, "direction",
	    rp->incoming ? "incoming" : "outgoing", "serial",
	    (json_int_t)d->serial, "owner", d->owner, "region", d->region,
	    "evidence", d->evidence, "uncertain", d->uncertain);
	if (o == NULL)
		return;
	/* Consumer evidence comes from a scan, a store's from a receipt. */
	if (d->scan_id > 0)
		json_object_set_new(o, "scan_id", json_integer(d->scan_id));
	if (d->receipt_id > 0)
		json_object_set_new(o, "receipt_id",
		    json_integer(d->receipt_id));
	json_array_append_new(rp->incoming ? rp->in : rp->events, o);
}

/* An owner's events by evidence (alerts are the owner's). */
static void
count_diversions(void *ctx, const struct yima_diversion *d, int64_t n)
{
	struct report *rp = ctx;
	const char *key = d->uncertain ? "uncertain" : d->evidence;
	json_t *o;

	if ((o = json_object_get(rp->owners, d->owner)) == NULL) {
		o = json_pack("{s:i,s:i,s:i,s:i}", "consumer", 0, "store", 0,
		    "unverified", 0, "uncertain", 0);
		json_object_set_new(rp->owners, d->owner, o);
	}
	json_object_set_new(o, key, json_integer(json_integer_value(
	    json_object_get(o, key)) + n));
	rp->total += n;
}

/*
 * Level 1: enough consumer evidence; level 2 needs a store's. People
 * buy in one city and drink in another, so consumer scans alone never
 * reach level 2; uncertain and unverified events never count.
 */
int
api_diversion_level(const struct api_config *cfg, int64_t consumer,
    int64_t store)
{
	return store > 0 ? 2 : consumer >= API_LIVE(cfg->alert_level1) ? 1 :
	    0;
}

#define LIMIT_MAX	10000	/* events listed per direction */

/* The events as RFC 4180 CSV, one row each, in the JSON's order. */
static enum MHD_Result
diversion_csv(struct api_req *r, json_t *events, json_int_t total)
{
	char count[24];
	const char *const hdr[] = { "Cache-Control", "no-store",
	    "Content-Disposition", "attachment; filename=\"diversion.csv\"",
	    "X-Total-Count", count, NULL };
	static const char *const cols[] = { "at", "direction", "serial",
	    "owner", "region", "evidence", "uncertain", "level", "scan_id",
	    "receipt_id" };
	struct yima_buf b = YIMA_BUF_INIT;
	enum MHD_Result res;
	json_t *o, *v;
	char num[32];
	size_t i, k;
	int err = 0;

	/* Every event counted; the rows are the latest LIMIT_MAX a way. */
	snprintf(count, sizeof(count), "%lld", (long long)total);

	for (k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
		err |= yima_buf_puts(&b, k > 0 ? "," : "") |
		    yima_buf_puts(&b, cols[k]);
	err |= yima_buf_puts(&b, "\r\n");
	json_array_foreach(events, i, o) {
		for (k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			v = json_object_get(o, cols[k]);
			num[0] = '\0';
			if (json_is_integer(v))
				snprintf(num, sizeof(num), "%lld",
				    (long long)json_integer_value(v));
			else if (json_is_boolean(v))
				snprintf(num, sizeof(num), "%s",
				    json_is_true(v) ? "true" : "false");
			/* Text through the CSV helper; numbers as they are. */
			err |= yima_buf_puts(&b, k > 0 ? "," : "") |
			    (json_is_string(v) ? api_csv_field(&b,
			    json_string_value(v)) : yima_buf_puts(&b, num));
		}
		err |= yima_buf_puts(&b, "\r\n");
	}
	json_decref(events);
	if (err) {
		yima_buf_free(&b);
		return api_reply_error(r, 500, "no_memory", "out of memory");
	}
	res = api_reply(r, 200, "text/csv; charset=utf-8", b.data, b.len, hdr);
	yima_buf_free(&b);
	return res;
}

enum MHD_Result
api_route_diversion(struct api_req *r)
{
	const char *fmt;
	long limit = 1000;
	int csv;
	json_int_t total;
	size_t n;
	struct report rp;
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	const char *owner;
	json_t *alerts, *o;
	int64_t today = (api_now_ms() + YIMA_DAY_OFFSET_MS) / DAY_MS, from, to;
	json_int_t consumer, store, unverified;
	char a[40], b[40];
	size_t i;
	int rc, level;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_DEALER, &t, &res))
		return res;
	if (api_query_day(r, "to", today, &to) != 0 ||
	    api_query_day(r, "from", to - 6, &from) != 0 || from > to ||
	    to - from > 366)
		return api_reply_error(r, 400, "bad_request", "from and to are "
		    "dates YYYY-MM-DD, from <= to, at most a year apart");
	fmt = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    "format");
	if (fmt != NULL && strcmp(fmt, "json") != 0 && strcmp(fmt, "csv") != 0)
		return api_reply_error(r, 400, "bad_request", "format is json "
		    "or csv");
	csv = fmt != NULL && strcmp(fmt, "csv") == 0;
	if (csv)	/* a download lists all it may */
		limit = LIMIT_MAX;
	if (api_query_limit(r, LIMIT_MAX, &limit) != 0)
		return api_reply_error(r, 400, "bad_request", "limit is 1 to "
		    "%d", LIMIT_MAX);
	/* Days are China's (UTC+8), as in every report; to is inclusive. */
	from = from * DAY_MS - YIMA_DAY_OFFSET_MS;
	to = (to + 1) * DAY_MS - YIMA_DAY_OFFSET_MS;
	if (yima_tx_begin(r->srv->st, 0, &tx) != 0)
		return unavailable(r);
	memset(&rp, 0, sizeof(rp));
	rp.events = json_array();
	rp.in = json_array();
	rp.under = json_object();
	rp.limit = (int)limit;
	rp.owners = json_object();
	rp.me = strcmp(t.role, "dealer") == 0 ? t.dealer : NULL;
	rp.tx = tx;
	/* Counted whole; listed up to the latest limit of each direction. */
	rc = yima_tx_diversion_counts(tx, rp.me, from, to, count_diversions,
	    &rp);
	if (rc == 0)
		rc = yima_tx_diversion_list(tx, rp.me, from, to, (int)limit,
		    add_diversion, &rp);
	/* A dealer also sees others' goods turning up in its territory. */
	if (rc == 0 && rp.me != NULL && (rp.terr = yima_calloc(
	    YIMA_TERRITORY_MAX, sizeof(*rp.terr))) == NULL)
		rc = YIMA_ENOMEM;
	if (rc == 0 && rp.me != NULL && (rc = yima_tx_territory_of(tx, rp.me,
	    rp.terr, YIMA_TERRITORY_MAX, &rp.nterr, NULL)) == 0 &&
	    rp.nterr > 0) {
		rp.incoming = 1;
		rc = yima_tx_diversion_list(tx, NULL, from, to, 0,
		    add_diversion, &rp);
	}
	/* Names beside codes: the region's, the owner's. */
	if (rc == 0)
		rc = api_name_rows(r, tx, rp.events);
	if (rc == 0)
		rc = api_name_rows(r, tx, rp.in);
	yima_tx_rollback(tx);
	yima_free(rp.terr);
	json_decref(rp.under);
	if (rc != 0 || rp.err) {
		json_decref(rp.events);
		json_decref(rp.in);
		json_decref(rp.owners);
		return unavailable(r);
	}
	n = json_array_size(rp.in);
	for (i = n > (size_t)limit ? n - (size_t)limit : 0; i < n; i++)
		json_array_append(rp.events, json_array_get(rp.in, i));
	json_decref(rp.in);
	total = rp.total + rp.nin;
	alerts = json_array();
	/* The window as the dates asked for, both included. */
	api_rfc3339(from + YIMA_DAY_OFFSET_MS, a, sizeof(a));
	api_rfc3339(to - DAY_MS + YIMA_DAY_OFFSET_MS, b, sizeof(b));
	a[10] = b[10] = '\0';
	json_object_foreach(rp.owners, owner, o) {
		consumer = json_integer_value(json_object_get(o, "consumer"));
		store = json_integer_value(json_object_get(o, "store"));
		unverified = json_integer_value(json_object_get(o,
		    "unverified"));
		level = api_diversion_level(&r->srv->cfg, consumer, store);
		json_object_set_new(o, "level", json_integer(level));
		if (level > 0)
			json_array_append_new(alerts, json_pack(
			    "{s:s,s:i,s:I,s:I,s:I,s:I,s:{s:s,s:s},s:i}",
			    "owner", owner, "level", level, "count",
			    consumer + store, "consumer_events", consumer,
			    "store_events", store, "unverified_events",
			    unverified, "window", "from", a, "to", b,
			    "level1_at", API_LIVE(r->srv->cfg.alert_level1)));
	}
	/* Each event of one's own goods carries its owner's alert level. */
	json_array_foreach(rp.events, i, o)
		if (strcmp(json_string_value(json_object_get(o, "direction")),
		    "outgoing") == 0)
			json_object_set(o, "level", json_object_get(
			    json_object_get(rp.owners, json_string_value(
			    json_object_get(o, "owner"))), "level"));
	json_decref(rp.owners);
	if (csv) {
		json_decref(alerts);
		return diversion_csv(r, rp.events, total);
	}
	/* total counts every event; truncated: not all are listed. */
	return api_reply_json(r, 200, json_pack("{s:o,s:o,s:s,s:s,s:I,s:b}",
	    "events", rp.events, "alerts", alerts, "from", a, "to", b, "total",
	    total, "truncated", (json_int_t)json_array_size(rp.events) <
	    total));
}
