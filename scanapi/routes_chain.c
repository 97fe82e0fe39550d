/* SPDX-License-Identifier: Apache-2.0 */
/* Supply-chain routes: dealers, territories, channels, packing, shipping,
 * receipts, traces and the diversion report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "yima/err.h"
#include "yima/geo.h"
#include "yima/validate.h"

#include "../codegen/alloc-private.h"
#include "routes.h"

#define CODES_MAX	10000	/* codes in one pack, shipment or receipt */
#define REGIONS_MAX	1000	/* regions in one territory */
#define EXPAND_MAX	200000	/* serial ranges one shipment may expand to */
#define LIST_SHOWN	20	/* codes named in an error */
#define DAY_MS		(24LL * 3600 * 1000)

/* A verified, registered code of a request. */
struct item {
	struct yima_code	 code;
	const char		*text;	/* borrowed from the body */
};

static int
cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return x->code.serial < y->code.serial ? -1 :
	    x->code.serial > y->code.serial;
}

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

/*
 * Verifies and looks up every code of a JSON array (1..CODES_MAX): each
 * must verify, be registered, and have a kind in kinds (bit per kind).
 * Returns the items (caller frees) or NULL after queuing an answer.
 */
static struct item *
codes_of(struct api_req *r, json_t *arr, int kinds, size_t *n,
    enum MHD_Result *res)
{
	struct yima_range range;
	struct yima_tx *tx = NULL;
	struct item *items;
	char why[YIMA_WHY_MAX];
	size_t i, count;
	json_t *v;
	int rc;

	count = json_is_array(arr) ? json_array_size(arr) : 0;
	if (count == 0 || count > CODES_MAX) {
		*res = api_reply_error(r, 400, "bad_request", "\"codes\" must "
		    "be an array of 1 to %d codes", CODES_MAX);
		return NULL;
	}
	if ((items = yima_calloc(count, sizeof(*items))) == NULL) {
		*res = MHD_NO;
		return NULL;
	}
	/*
	 * Registered ranges never change, so a read transaction will do:
	 * no writer is held while 10,000 codes are checked.
	 */
	if (yima_tx_begin(r->srv->st, 0, &tx) != 0) {
		*res = unavailable(r);
		goto fail;
	}
	for (i = 0; i < count; i++) {
		v = json_array_get(arr, i);
		if (!json_is_string(v) || api_keys_verify(&r->srv->keys,
		    json_string_value(v),
		    json_string_length(v), &items[i].code, why) != 0) {
			*res = api_reply_error(r, 400, "invalid_code",
			    "code %zu is invalid%s%s", i + 1,
			    json_is_string(v) ? ": " : "",
			    json_is_string(v) ? why : "");
			goto fail;
		}
		items[i].text = json_string_value(v);
		if (((1 << items[i].code.kind) & kinds) == 0) {
			*res = api_reply_error(r, 400, "wrong_kind",
			    "code %zu is a %s code, which cannot go here",
			    i + 1, yima_kind_name((int)items[i].code.kind));
			goto fail;
		}
		rc = yima_tx_range_find(tx, items[i].code.serial,
		    (int)items[i].code.kind, &range);
		if (rc == YIMA_ENOENT) {
			*res = api_reply_error(r, 400, "unregistered",
			    "code %zu is not imported", i + 1);
			goto fail;
		}
		if (rc != 0) {
			*res = unavailable(r);
			goto fail;
		}
	}
	yima_tx_rollback(tx);
	*n = count;
	return items;
fail:
	yima_tx_rollback(tx);
	yima_free(items);
	return NULL;
}

#define K(kind)	(1 << (kind))

/* ---- dealers and territories ---- */

enum MHD_Result
api_route_dealer_add(struct api_req *r)
{
	static const char *const types[] = { "distributor", "dealer", "store" };
	struct yima_dealer d;
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	const char *v;
	unsigned char rnd[6];
	json_t *body;
	size_t i;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	memset(&d, 0, sizeof(d));
	if (json_object_get(body, "id") != NULL) {
		if ((v = str_of(body, "id", YIMA_DEALER_ID_MAX)) == NULL ||
		    !good_id(v))
			goto bad;
		strcpy(d.id, v);
	} else if (RAND_bytes(rnd, sizeof(rnd)) == 1)
		snprintf(d.id, sizeof(d.id), "D%02x%02x%02x%02x%02x%02x",
		    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	if ((v = str_of(body, "name", 128)) == NULL)
		goto bad;
	strcpy(d.name, v);
	if ((v = str_of(body, "type", 15)) == NULL)
		goto bad;
	for (i = 0; i < 3 && strcmp(v, types[i]) != 0; i++)
		;
	if (i == 3)
		goto bad;
	strcpy(d.type, v);
	if (json_object_get(body, "parent") != NULL) {
		if ((v = str_of(body, "parent", YIMA_DEALER_ID_MAX)) == NULL ||
		    !good_id(v))
			goto bad;
		strcpy(d.parent, v);
	}
	json_decref(body);
	if (yima_tx_begin(r->srv->st, 1, &tx) != 0)
		return unavailable(r);
	rc = yima_tx_dealer_create(tx, &d);
	if (rc == 0)
		rc = yima_tx_commit(tx);
	else
		yima_tx_rollback(tx);
	if (rc == YIMA_EEXIST)
		return api_reply_error(r, 409, "conflict",
		    "dealer %s exists", d.id);
	if (rc == YIMA_ENOENT)
		return api_reply_error(r, 400, "bad_request",
		    "parent %s is not a dealer", d.parent);
	if (rc != 0)
		return unavailable(r);
	return api_reply_json(r, 201, json_pack("{s:s,s:s,s:s,s:s?}", "id",
	    d.id, "name", d.name, "type", d.type, "parent",
	    d.parent[0] ? d.parent : NULL));
bad:
	json_decref(body);
	return api_reply_error(r, 400, "bad_request", "a dealer is {\"id\"?: "
	    "1-64 of A-Z a-z 0-9 _ . -, \"name\": 1-128 bytes, \"parent\"?: "
	    "id, \"type\": distributor|dealer|store}");
}

static void
add_dealer(void *ctx, const struct yima_dealer *d)
{
	json_array_append_new(ctx, json_pack("{s:s,s:s,s:s,s:s?}", "id",
	    d->id, "name", d->name, "type", d->type, "parent",
	    d->parent[0] ? d->parent : NULL));
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
	struct yima_channel c;
	struct yima_dealer d;
	struct yima_token t;
	struct yima_tx *tx;
	struct item *it;
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
	it = codes_of(r, one, K(YIMA_KIND_CHANNEL), &n, &res);
	json_decref(one);
	json_decref(body);
	if (it == NULL)
		return res;
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

/* ---- packing ---- */

/* The 409 answer: the codes already packed elsewhere. */
static enum MHD_Result
conflict(struct api_req *r, json_t *codes, const char *what)
{
	return api_reply_json(r, 409, json_pack("{s:{s:s,s:s,s:o}}", "error",
	    "code", "conflict", "message", what, "codes", codes));
}

enum MHD_Result
api_route_pack(struct api_req *r)
{
	struct item *parent = NULL, *kids = NULL;
	struct yima_token t;
	struct yima_tx *tx = NULL;
	enum MHD_Result res;
	json_t *body, *one, *conflicts = NULL;
	uint64_t at_parent, first, last;
	size_t n, np, i, j, added = 0, spans = 0;
	int rc, kinds;

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
	parent = codes_of(r, one, K(YIMA_KIND_BOX) | K(YIMA_KIND_PALLET), &np,
	    &res);
	json_decref(one);
	if (parent == NULL)
		goto done;
	/* Items go into boxes; boxes (or items) onto pallets. */
	kinds = parent->code.kind == YIMA_KIND_BOX ? K(YIMA_KIND_ITEM) :
	    K(YIMA_KIND_ITEM) | K(YIMA_KIND_BOX);
	if ((kids = codes_of(r, json_object_get(body, "children"), kinds,
	    &n, &res)) == NULL)
		goto done;
	if (yima_tx_begin(r->srv->st, 1, &tx) != 0) {
		res = unavailable(r);
		goto done;
	}
	qsort(kids, n, sizeof(*kids), cmp_item);
	conflicts = json_array();
	for (i = 0; i < n; i++) {
		if (i > 0 && kids[i].code.serial == kids[i - 1].code.serial) {
			res = api_reply_error(r, 400, "bad_request",
			    "a code is listed twice");
			goto done;
		}
		rc = yima_tx_pack_parent(tx, kids[i].code.serial, &at_parent);
		if (rc == 0 && at_parent != parent->code.serial &&
		    json_array_size(conflicts) < LIST_SHOWN)
			json_array_append_new(conflicts,
			    json_string(kids[i].text));
		else if (rc != 0 && rc != YIMA_ENOENT) {
			res = unavailable(r);
			goto done;
		}
		/* Already in this parent: nothing to do. */
		if (rc == 0)
			kids[i].text = NULL;
	}
	if (json_array_size(conflicts) > 0) {
		res = conflict(r, conflicts, "these codes are packed elsewhere; "
		    "unpack them first");
		conflicts = NULL;
		goto done;
	}
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
		if ((rc = yima_tx_pack_add(tx, parent->code.serial, first,
		    last, api_now_ms())) != 0) {
			res = unavailable(r);
			goto done;
		}
		added += (size_t)(last - first + 1);
		spans++;
	}
	rc = yima_tx_commit(tx);
	tx = NULL;
	res = rc != 0 ? unavailable(r) : api_reply_json(r, 201,
	    json_pack("{s:I,s:I,s:I}", "parent",
	    (json_int_t)parent->code.serial, "packed", (json_int_t)added,
	    "ranges", (json_int_t)spans));
done:
	yima_tx_rollback(tx);
	json_decref(conflicts);
	json_decref(body);
	yima_free(parent);
	yima_free(kids);
	return res;
}

enum MHD_Result
api_route_unpack(struct api_req *r)
{
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
	if ((rc = yima_tx_unpack(tx, c.serial, api_now_ms(), &rows)) == 0 &&
	    rows > 0)
		rc = yima_tx_commit(tx);
	else
		yima_tx_rollback(tx);
	if (rc != 0)
		return unavailable(r);
	if (rows == 0)
		return api_reply_error(r, 404, "not_found",
		    "nothing is packed in this code");
	return api_reply_json(r, 200, json_pack("{s:I,s:i}", "parent",
	    (json_int_t)c.serial, "unpacked_ranges", rows));
}

/* ---- shipping and receiving ---- */

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

static int
cmp_span(const void *a, const void *b)
{
	const struct yima_span *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

enum MHD_Result
api_route_shipment(struct api_req *r)
{
	struct yima_span *spans = NULL;
	struct yima_dealer d;
	struct yima_token t;
	struct yima_tx *tx = NULL;
	struct item *it = NULL;
	enum MHD_Result res;
	json_t *body, *notown = NULL;
	char owner[YIMA_DEALER_ID_MAX + 1];
	const char *to, *ref = NULL;
	size_t n, ns = 0, i, j, ranges = 0;
	int64_t now = api_now_ms();
	int rc, under, dealer;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_OPS | API_ROLE_DEALER,
	    &t, &res))
		return res;
	dealer = strcmp(t.role, "dealer") == 0;
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
	if ((it = codes_of(r, json_object_get(body, "codes"),
	    K(YIMA_KIND_ITEM) | K(YIMA_KIND_BOX) | K(YIMA_KIND_PALLET), &n,
	    &res)) == NULL)
		goto done;
	if (yima_tx_begin(r->srv->st, 1, &tx) != 0) {
		res = unavailable(r);
		goto done;
	}
	if ((rc = yima_tx_dealer_get(tx, to, &d)) != 0) {
		res = rc == YIMA_ENOENT ? api_reply_error(r, 400,
		    "bad_request", "dealer %s does not exist", to) :
		    unavailable(r);
		goto done;
	}
	/* A dealer ships only its own goods, only down its own tree. */
	if (dealer) {
		if ((rc = yima_tx_dealer_under(tx, t.dealer, to, &under)) != 0) {
			res = unavailable(r);
			goto done;
		}
		if (!under || strcmp(to, t.dealer) == 0) {
			res = api_reply_error(r, 403, "forbidden", "a dealer "
			    "ships only to dealers below it");
			goto done;
		}
		notown = json_array();
		for (i = 0; i < n; i++) {
			rc = yima_tx_owner(tx, it[i].code.serial, owner);
			if (rc != 0 && rc != YIMA_ENOENT) {
				res = unavailable(r);
				goto done;
			}
			if ((rc != 0 || strcmp(owner, t.dealer) != 0) &&
			    json_array_size(notown) < LIST_SHOWN)
				json_array_append_new(notown,
				    json_string(it[i].text));
		}
		if (json_array_size(notown) > 0) {
			res = api_reply_json(r, 403, json_pack(
			    "{s:{s:s,s:s,s:O}}", "error", "code", "forbidden",
			    "message", "these goods are not this dealer's",
			    "codes", notown));
			goto done;
		}
	}
	/* Shipping a pallet ships its boxes and their items. */
	if ((spans = yima_malloc(EXPAND_MAX * sizeof(*spans))) == NULL) {
		res = MHD_NO;
		goto done;
	}
	for (i = 0; i < n; i++)
		if ((rc = expand(tx, it[i].code.serial, 0, spans, EXPAND_MAX,
		    &ns)) != 0) {
			res = rc == YIMA_ERANGE ? api_reply_error(r, 400,
			    "too_large", "the shipment holds too many codes") :
			    unavailable(r);
			goto done;
		}
	/* What a dealer's cases hold must be its own too, not its stores'. */
	if (dealer) {
		for (i = 0; i < ns; i++) {
			rc = yima_tx_owner(tx, spans[i].first, owner);
			if (rc != 0 && rc != YIMA_ENOENT) {
				res = unavailable(r);
				goto done;
			}
			if (rc != 0 || strcmp(owner, t.dealer) != 0) {
				res = api_reply_error(r, 403, "forbidden",
				    "serial %llu packed in these goods is not "
				    "this dealer's", (unsigned long long)
				    spans[i].first);
				goto done;
			}
		}
	}
	qsort(spans, ns, sizeof(*spans), cmp_span);
	for (i = 0; i < ns; i = j) {
		for (j = i + 1; j < ns && spans[j].first <= spans[i].last + 1;
		    j++)
			if (spans[j].last > spans[i].last)
				spans[i].last = spans[j].last;
		if ((rc = yima_tx_ship(tx, spans[i].first, spans[i].last, to,
		    ref, now)) != 0) {
			res = unavailable(r);
			goto done;
		}
		ranges++;
	}
	rc = yima_tx_commit(tx);
	tx = NULL;
	res = rc != 0 ? unavailable(r) : api_reply_json(r, 201,
	    json_pack("{s:s,s:I,s:I,s:I}", "to", to, "codes", (json_int_t)n,
	    "serials", (json_int_t)ns, "ranges", (json_int_t)ranges));
done:
	yima_tx_rollback(tx);
	json_decref(notown);
	json_decref(body);
	yima_free(spans);
	yima_free(it);
	return res;
}

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

enum MHD_Result
api_route_receipt(struct api_req *r)
{
	struct yima_receipt rc_;
	struct yima_diversion dv;
	struct yima_place pl;
	struct yima_token t;
	struct yima_tx *tx = NULL;
	struct item *it = NULL;
	enum MHD_Result res;
	json_t *body, *jl, *jo, *jk;
	char (*terr)[7] = NULL;
	size_t n, i, nt;
	int64_t id;
	int rc, chain;

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
	if ((terr = yima_malloc(YIMA_TERRITORY_MAX * sizeof(*terr))) ==
	    NULL) {
		json_decref(body);
		return MHD_NO;
	}
	if ((it = codes_of(r, json_object_get(body, "codes"),
	    K(YIMA_KIND_ITEM) | K(YIMA_KIND_BOX) | K(YIMA_KIND_PALLET), &n,
	    &res)) == NULL)
		goto done;
	if (yima_tx_begin(r->srv->st, 1, &tx) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		rc_.serial = it[i].code.serial;
		if ((rc = yima_tx_receipt_add(tx, &rc_, &id)) != 0)
			goto fail;
		if (rc_.region[0] == '\0')
			continue;
		/* Goods whose owner's territory excludes this place. */
		memset(&dv, 0, sizeof(dv));
		rc = yima_tx_owner(tx, rc_.serial, dv.owner);
		if (rc == YIMA_ENOENT)
			continue;
		if (rc != 0 || (rc = yima_tx_territory_of(tx, dv.owner, terr,
		    YIMA_TERRITORY_MAX, &nt, NULL)) != 0)
			goto fail;
		if (nt == 0 || api_territory_holds(rc_.region, terr, nt))
			continue;
		if ((rc = in_chain(tx, rc_.serial, dv.owner, rc_.dealer,
		    &chain)) != 0)
			goto fail;
		dv.receipt_id = id;
		dv.at = rc_.at;
		dv.serial = rc_.serial;
		memcpy(dv.region, rc_.region, sizeof(dv.region));
		strcpy(dv.evidence, chain ? "store" : "unverified");
		dv.uncertain = rc_.near_border;
		if ((rc = yima_tx_diversion_add(tx, &dv)) != 0)
			goto fail;
	}
	rc = yima_tx_commit(tx);
	tx = NULL;
	if (rc != 0)
		goto fail;
	res = api_reply_json(r, 201, json_pack("{s:I,s:s,s:s?}", "receipts",
	    (json_int_t)n, "kind", rc_.kind, "region",
	    rc_.region[0] ? rc_.region : NULL));
	goto done;
fail:
	res = unavailable(r);
done:
	yima_tx_rollback(tx);
	json_decref(body);
	yima_free(terr);
	yima_free(it);
	return res;
}

/* ---- trace and the diversion report ---- */

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
	return store > 0 ? 2 : consumer >= cfg->alert_level1 ? 1 : 0;
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
	const char *fmt, *lim;
	int csv, limit = 1000;
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
	lim = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    "limit");
	if (lim != NULL && (strlen(lim) > 5 || strspn(lim, "0123456789") !=
	    strlen(lim) || (limit = atoi(lim)) < 1 || limit > LIMIT_MAX))
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
	rp.limit = limit;
	rp.owners = json_object();
	rp.me = strcmp(t.role, "dealer") == 0 ? t.dealer : NULL;
	rp.tx = tx;
	/* Counted whole; listed up to the latest limit of each direction. */
	rc = yima_tx_diversion_counts(tx, rp.me, from, to, count_diversions,
	    &rp);
	if (rc == 0)
		rc = yima_tx_diversion_list(tx, rp.me, from, to, limit,
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
			    "level1_at", r->srv->cfg.alert_level1));
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
