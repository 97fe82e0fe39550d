/* SPDX-License-Identifier: Apache-2.0 */
/* Admin and packaging-line routes: batches imported and listed, revocations. */
#include <stdio.h>
#include <string.h>

#include "yima/err.h"
#include "yima/manifest.h"

#include "chain.h"
#include "routes.h"

#define REASON_MAX	200
#define RANGES_MAX	4	/* a batch has its range and an inner one */

enum MHD_Result
api_route_batches(struct api_req *r)
{
	struct yima_manifest m;
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	char why[YIMA_WHY_MAX];
	json_t *probe;
	int rc, created;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_OPS, &t, &res))
		return res;
	/* The same checks as any JSON body, then the manifest's own. */
	if ((probe = api_body_json(r, &res)) == NULL)
		return res;
	json_decref(probe);
	rc = api_keys_manifest(&r->srv->keys, r->body, r->len, &m, why);
	if (rc == YIMA_EBADTAG || rc == YIMA_ENOKEY)
		return api_reply_error(r, 400, "bad_manifest", "%s", why);
	if (rc != 0)
		return api_reply_error(r, 400, "bad_manifest", "%s", why);
	if ((rc = yima_tx_begin(r->srv->st, 1, &tx)) != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	rc = api_op_import(tx, &m, api_now_ms(), &created);
	if (rc == YIMA_EEXIST) {
		snprintf(why, sizeof(why), "%s",
		    yima_store_errmsg(r->srv->st));
		yima_tx_rollback(tx);
		return api_reply_error(r, 409, "conflict", "%s", why);
	}
	if (rc != 0) {
		yima_tx_rollback(tx);
		return api_reply_error(r, 503, "unavailable",
		    "the batch could not be stored");
	}
	/* A failed commit has rolled back and freed tx already. */
	if (yima_tx_commit(tx) != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the batch could not be stored");
	return api_reply_json(r, created ? 201 : 200, json_pack(
	    "{s:s,s:s,s:s,s:I,s:I,s:b}", "batch", m.batch, "kind",
	    yima_kind_name((int)m.kind), "status", created ? "imported" :
	    "already imported", "first_serial", (json_int_t)m.first_serial,
	    "count", (json_int_t)m.count, "created", created));
}

/* Reads a serial field; 1 present and valid, 0 absent, -1 invalid. */
static int
serial_of(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > YIMA_SERIAL_MAX)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

enum MHD_Result
api_route_revocations(struct api_req *r)
{
	struct yima_range ranges[RANGES_MAX];
	struct yima_token t;
	struct yima_code c;
	struct yima_tx *tx = NULL;
	enum MHD_Result res;
	json_t *body, *batch, *code, *reason, *list;
	char why[YIMA_WHY_MAX], rbuf[REASON_MAX + 1];
	const char *rs = NULL;
	uint64_t from = 0, to = 0;
	size_t n = 0, i;
	int hf, ht, forms, rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	batch = json_object_get(body, "batch");
	code = json_object_get(body, "code");
	reason = json_object_get(body, "reason");
	hf = serial_of(body, "from_serial", &from);
	ht = serial_of(body, "to_serial", &to);
	forms = (batch != NULL) + (code != NULL) + (hf != 0 || ht != 0);
	if (forms != 1 || hf < 0 || ht < 0 || hf != ht ||
	    (batch != NULL && (!json_is_string(batch) ||
	    json_string_length(batch) != 32)) ||
	    (code != NULL && !json_is_string(code)) ||
	    (reason != NULL && (!json_is_string(reason) ||
	    json_string_length(reason) > REASON_MAX)) ||
	    (hf == 1 && from > to)) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "give exactly "
		    "one of \"batch\" (32 hex), \"code\", or \"from_serial\" "
		    "<= \"to_serial\"; \"reason\" is text up to %d "
		    "characters", REASON_MAX);
	}
	/* Copied: the body (and its strings) is freed before the answer. */
	if (reason != NULL) {
		snprintf(rbuf, sizeof(rbuf), "%s", json_string_value(reason));
		rs = rbuf;
	}
	if (code != NULL) {
		if (api_keys_verify(&r->srv->keys, json_string_value(code),
		    json_string_length(code), &c, why) != 0) {
			json_decref(body);
			return api_reply_error(r, 400, "invalid_code",
			    "the code is invalid: %s", why);
		}
		from = to = c.serial;
	}
	if ((rc = yima_tx_begin(r->srv->st, 1, &tx)) != 0)
		goto unavailable;
	if (batch != NULL) {
		rc = yima_tx_batch_ranges(tx, json_string_value(batch),
		    ranges, RANGES_MAX, &n);
		if (rc == YIMA_ENOENT) {
			yima_tx_rollback(tx);
			json_decref(body);
			return api_reply_error(r, 404, "not_found",
			    "no such batch");
		}
		if (rc != 0)
			goto unavailable;
	} else {
		ranges[0].first = from;
		ranges[0].last = to;
		n = 1;
	}
	for (i = 0; i < n; i++)
		if ((rc = api_op_revoke(tx, ranges[i].first, ranges[i].last,
		    rs, api_now_ms())) != 0)
			goto unavailable;
	if ((rc = yima_tx_commit(tx)) != 0) {
		tx = NULL;
		goto unavailable;
	}
	json_decref(body);
	list = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:I,s:I}",
		    "from_serial", (json_int_t)ranges[i].first, "to_serial",
		    (json_int_t)ranges[i].last));
	return api_reply_json(r, 201, json_pack("{s:o,s:s?}", "revoked", list,
	    "reason", rs));
unavailable:
	yima_tx_rollback(tx);
	json_decref(body);
	return api_reply_error(r, 503, "unavailable",
	    "the revocation could not be stored");
}

static void
add_batch(void *ctx, const struct yima_batch_info *b)
{
	char at[40];

	api_rfc3339(b->imported_at, at, sizeof(at));
	json_array_append_new(ctx, json_pack("{s:s,s:s,s:I,s:I,s:b,s:s?,s:s?,"
	    "s:s?,s:s?,s:s?,s:s,s:s,s:s,s:b}", "batch", b->m.batch, "kind",
	    yima_kind_name((int)b->m.kind), "first_serial",
	    (json_int_t)b->m.first_serial, "count", (json_int_t)b->m.count,
	    "inner", b->m.inner, "gtin", b->m.gtin[0] ? b->m.gtin : NULL,
	    "lot", b->m.lot[0] ? b->m.lot : NULL, "line", b->m.line[0] ?
	    b->m.line : NULL, "mfg", b->m.mfg[0] ? b->m.mfg : NULL, "expiry",
	    b->m.expiry[0] ? b->m.expiry : NULL, "domain", b->m.domain,
	    "created", b->m.created, "imported_at", at, "revoked",
	    b->revoked));
}

static int
fill_batches(struct yima_tx *tx, json_t *list, const void *arg)
{
	return yima_tx_batch_list(tx, NULL, (size_t)*(const long *)arg,
	    add_batch, list);
}

/* GET /api/v1/admin/batches[?limit=N] (admin, ops): newest first. */
enum MHD_Result
api_route_batch_list(struct api_req *r)
{
	struct yima_token t;
	enum MHD_Result res;
	long limit = 100;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_OPS, &t, &res))
		return res;
	if (api_query_limit(r, 1000, &limit) != 0)
		return api_reply_error(r, 400, "bad_request",
		    "limit is 1 to 1000");
	return api_reply_list(r, "batches", fill_batches, &limit);
}
