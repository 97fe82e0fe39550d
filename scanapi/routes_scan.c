/* SPDX-License-Identifier: Apache-2.0 */
/* Public routes: POST /api/v1/scans and GET /api/v1/codes/{code}. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "yima/err.h"

#include "consumer.h"
#include "product.h"
#include "routes.h"


/* Reads the consumer id from the body or the yima_cid cookie. */
static void
consumer_of(struct api_req *r, json_t *body, struct api_scan_in *in)
{
	const struct yima_mac *mac = r->srv->cid_mac, *old = r->srv->cid_legacy;
	json_t *v = body ? json_object_get(body, "consumer") : NULL;
	struct api_scan_req *x = r->ext;
	const char *c;

	if (json_is_string(v) && api_consumer_check(mac, old,
	    json_string_value(v), json_string_length(v), in->consumer)) {
		snprintf(x->cid_full, sizeof(x->cid_full), "%s",
		    json_string_value(v));
		return;
	}
	c = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "yima_cid");
	if (c != NULL && api_consumer_check(mac, old, c, strlen(c),
	    in->consumer)) {
		snprintf(x->cid_full, sizeof(x->cid_full), "%s", c);
		return;
	}
	/* None, forged or malformed: a fresh one. */
	if (api_consumer_new(mac, x->cid_full) == 0) {
		memcpy(in->consumer, x->cid_full, API_CONSUMER_ID_LEN);
		in->consumer[API_CONSUMER_ID_LEN] = '\0';
		in->consumer_new = 1;
		x->cid_new = 1;
	} else
		in->consumer[0] = '\0';
}

/* Verifies the scanned text into in (never fails: invalid is a verdict). */
static void
verify_into(struct api_req *r, const char *text, size_t len,
    struct api_scan_in *in)
{
	char why[YIMA_WHY_MAX];
	size_t n;

	in->valid = api_keys_verify(&r->srv->keys, text, len, &in->code,
	    why) == 0;
	if (!in->valid) {
		snprintf(in->reason, sizeof(in->reason), "%.120s", why);
		n = len < API_RAW_CODE_MAX ? len : API_RAW_CODE_MAX;
		memcpy(in->raw, text, n);
		in->raw[n] = '\0';
	}
}

/* A number field within [lo, hi]; 0 absent, 1 present, -1 bad. */
static int
number(json_t *o, const char *key, double lo, double hi, double *out)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	if (!isfinite(*out) || *out < lo || *out > hi)
		return -1;
	return 1;
}

/*
 * Writes the answer object (without its closing brace) into b, by hand:
 * this is the hot path, and a JSON library costs more than the rest.
 */
static int
answer(struct yima_buf *b, struct api_server *srv,
    const struct api_scan_in *in, const struct api_scan_out *out,
    int recorded)
{
	const struct yima_geo *geo = srv->geo;
	const struct yima_code_state *s = &out->state;
	const struct yima_range *g = &out->range;
	struct yima_place first;
	char at[40];
	int rc;

	rc = yima_buf_printf(b, "{\"verdict\":\"%s\"",
	    yima_verdict_name((int)out->verdict));
	if (rc == 0 && recorded)
		rc = yima_buf_printf(b, ",\"scan_id\":%lld",
		    (long long)out->scan_id);
	if (rc == 0 && in->valid)
		rc = yima_buf_printf(b, ",\"kind\":\"%s\",\"serial\":%llu",
		    yima_kind_name((int)in->code.kind),
		    (unsigned long long)in->code.serial);
	else if (rc == 0 && (rc = yima_buf_puts(b, ",\"reason\":")) == 0)
		rc = yima_buf_json_str(b, in->reason);
	if (rc == 0 && out->registered) {
		/* Batch ids are hex, GTINs digits, lots and dates checked
		 * text without quotes: all safe inside "...". */
		rc = yima_buf_printf(b, ",\"product\":{\"batch\":\"%s\"",
		    g->batch);
		/* Its name, brand and picture, when it has a product. */
		if (rc == 0 && g->gtin[0] && (rc = yima_buf_printf(b,
		    ",\"gtin\":\"%s\"", g->gtin)) == 0)
			rc = api_products_answer(srv->products, srv->st,
			    g->gtin, b);
		if (rc == 0 && g->lot[0] && (rc = yima_buf_puts(b,
		    ",\"lot\":")) == 0)
			rc = yima_buf_json_str(b, g->lot);
		if (rc == 0 && g->mfg[0])
			rc = yima_buf_printf(b, ",\"mfg\":\"%s\"", g->mfg);
		if (rc == 0 && g->expiry[0])
			rc = yima_buf_printf(b, ",\"expiry\":\"%s\"",
			    g->expiry);
		if (rc == 0)
			rc = yima_buf_puts(b, "}");
	}
	if (rc == 0)
		rc = yima_buf_printf(b, ",\"scan_count\":%llu",
		    (unsigned long long)s->scans);
	if (rc == 0 && s->scans > 0) {
		api_rfc3339(s->first_at, at, sizeof(at));
		rc = yima_buf_printf(b, ",\"first_scan\":{\"at\":\"%s\"", at);
		/*
		 * Its region, never its coordinates: whoever holds the
		 * code must not learn where another person stood (PIPL).
		 */
		if (rc == 0 && s->first_located && geo != NULL &&
		    yima_geo_lookup(geo, s->first_lat, s->first_lon,
		    &first) == 0 && (rc = yima_buf_printf(b, ",\"region\":"
		    "{\"code\":\"%s\",\"name\":", first.code)) == 0 &&
		    (rc = yima_buf_json_str(b, first.name)) == 0)
			rc = yima_buf_puts(b, "}");
		if (rc == 0)
			rc = yima_buf_puts(b, "}");
	}
	if (rc == 0 && out->verdict == YIMA_V_REVOKED &&
	    (rc = yima_buf_puts(b, ",\"revoked\":{\"reason\":")) == 0 &&
	    (rc = yima_buf_json_str(b, out->revoked_reason)) == 0)
		rc = yima_buf_puts(b, "}");
	if (rc == 0 && in->region[0] != '\0' &&
	    (rc = yima_buf_printf(b, ",\"region\":{\"code\":\"%s\",\"name\":",
	    in->region)) == 0 && (rc = yima_buf_json_str(b,
	    in->region_name)) == 0)
		rc = yima_buf_printf(b, ",\"near_border\":%s}",
		    in->near_border ? "true" : "false");
	if (rc == 0 && out->has_channel &&
	    (rc = yima_buf_printf(b, ",\"channel\":{\"type\":\"%s\","
	    "\"name\":", out->channel.type)) == 0 &&
	    (rc = yima_buf_json_str(b, out->channel.name)) == 0 &&
	    (rc = yima_buf_puts(b, ",\"dealer\":")) == 0 &&
	    (rc = yima_buf_json_str(b, out->channel.dealer)) == 0)
		rc = yima_buf_puts(b, "}");
	if (rc == 0 && out->suspect_reason != NULL)
		rc = yima_buf_printf(b, ",\"suspect_reason\":\"%s\"",
		    out->suspect_reason);
	return rc;
}

static const char *const reward_types[] = { "points", "cash", "points",
    "voucher" };

/* ,"reward":{...} or ,"reward":null with the reason when there is one. */
static int
reward_json(struct yima_buf *b, const struct api_reward *w)
{
	int rc;

	if (!w->considered || w->reason != NULL) {
		rc = yima_buf_puts(b, ",\"reward\":null");
		if (rc == 0 && w->reason != NULL)
			rc = yima_buf_printf(b, ",\"reward_reason\":\"%s\"",
			    w->reason);
		return rc;
	}
	/* Without a prize, the claim's points are the reward. */
	rc = yima_buf_printf(b, ",\"reward\":{\"type\":\"%s\","
	    "\"amount\":%lld", w->type == 0 && w->points == 0 ? "none" :
	    reward_types[w->type], (long long)(w->type ? w->amount :
	    w->points));
	if (rc == 0 && w->type != 0 && (rc = yima_buf_puts(b,
	    ",\"prize\":")) == 0)
		rc = yima_buf_json_str(b, w->prize);
	if (rc == 0 && (rc = yima_buf_printf(b, ",\"points\":%lld,"
	    "\"points_balance\":%lld,\"campaign\":%lld,\"tier\":",
	    (long long)w->points, (long long)w->points_balance,
	    (long long)w->campaign)) == 0)
		rc = yima_buf_json_str(b, w->tier);
	if (rc == 0 && w->voucher[0] != '\0')
		rc = yima_buf_printf(b, ",\"voucher\":\"%s\"", w->voucher);
	if (rc == 0)
		rc = yima_buf_puts(b, "}");
	return rc;
}

/* ,"variant":NAME,"offer":{...} when an A/B test showed its arm. */
static int
arm_json(struct yima_buf *b, const struct api_reward *w)
{
	json_t *offer;
	char *txt;
	int rc;

	if (!w->has_arm)
		return 0;
	if ((rc = yima_buf_puts(b, ",\"variant\":")) != 0 ||
	    (rc = yima_buf_json_str(b, w->offer.name)) != 0)
		return rc;
	if ((offer = api_offer_json(&w->offer)) == NULL ||
	    (txt = json_dumps(offer, JSON_COMPACT | JSON_ENCODE_ANY)) ==
	    NULL) {
		json_decref(offer);
		return YIMA_ENOMEM;
	}
	json_decref(offer);
	rc = yima_buf_printf(b, ",\"offer\":%s", txt);
	free(txt);
	return rc;
}

static const char limited_consumer[] = "{\"error\":{\"code\":"
    "\"rate_limited\",\"message\":\"too many scans by this consumer\"}}";

/* Writer thread: the scan is committed (or failed); wake the request. */
static void
scan_done(struct api_job *job)
{
	api_req_ready(job->ctx);
}

enum MHD_Result
api_route_scans(struct api_req *r)
{
	struct api_scan_req *x = r->ext;
	struct api_scan_in *in = &x->job.in;
	struct yima_place place;
	enum MHD_Result res;
	json_t *body, *code;
	double lat, lon, acc = -1;
	int hl, hn, ha;
	char retry[16];
	const char *hdr[] = { "Retry-After", retry, NULL };
	int secs;

	if (!api_rate_ok(r, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	code = json_object_get(body, "code");
	if (!json_is_string(code) || json_string_length(code) == 0 ||
	    json_string_length(code) > YIMA_CODE_TEXT_MAX) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "\"code\" must "
		    "be a string of 1 to %d characters", YIMA_CODE_TEXT_MAX);
	}
	hl = number(body, "lat", -90, 90, &lat);
	hn = number(body, "lon", -180, 180, &lon);
	ha = number(body, "accuracy", 0, 1e6, &acc);
	if (hl < 0 || hn < 0 || ha < 0 || hl != hn) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "\"lat\" "
		    "(-90..90) and \"lon\" (-180..180) go together; "
		    "\"accuracy\" is metres (0..1000000)");
	}
	memset(in, 0, sizeof(*in));
	memset(&x->job.rew, 0, sizeof(x->job.rew));
	x->job.reissued[0] = '\0';
	in->at = api_now_ms();
	in->located = hl == 1;
	in->lat = lat;
	in->lon = lon;
	in->accuracy = ha == 1 ? acc : -1;
	snprintf(in->client, sizeof(in->client), "%s", r->client);
	/* Where: ~1 us here, outside the writer's transaction. */
	if (in->located && r->srv->geo != NULL &&
	    yima_geo_lookup(r->srv->geo, lat, lon, &place) == 0) {
		memcpy(in->region, place.code, sizeof(in->region));
		in->region_name = place.name;
		in->near_border = place.near_border;
	}
	consumer_of(r, body, in);
	verify_into(r, json_string_value(code), json_string_length(code), in);
	json_decref(body);
	if (in->consumer[0] && !x->cid_new &&
	    !api_ratelimit_take(r->srv->cid_rl, in->consumer,
	    strlen(in->consumer), &secs)) {
		snprintf(retry, sizeof(retry), "%d", secs);
		return api_reply(r, 429, "application/json", limited_consumer,
		    sizeof(limited_consumer) - 1, hdr);
	}
	/* Held until the writer has committed this scan. */
	x->job.ctx = r;
	x->job.done = scan_done;
	api_req_hold(r);
	if (api_scanq_submit(r->srv->q, &x->job) != 0) {
		api_req_unhold(r);
		return api_reply_error(r, 503, "unavailable",
		    "the server is shutting down");
	}
	return MHD_YES;
}

enum MHD_Result
api_route_scans_done(struct api_req *r)
{
	char cookie[192];
	const char *hdr[] = { "Set-Cookie", cookie, "Cache-Control", "no-store",
	    NULL };
	struct yima_buf b = YIMA_BUF_INIT;
	struct api_scan_req *x = r->ext;
	enum MHD_Result ret;

	if (x->job.rc != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the scan could not be stored; try again");
	r->verdict = yima_verdict_name((int)x->job.out.verdict);
	api_metrics_verdict(&r->srv->metrics, (int)x->job.out.verdict);
	/* The id sent was erased: the scan was recorded under a fresh one. */
	if (x->job.reissued[0] != '\0')
		snprintf(x->cid_full, sizeof(x->cid_full), "%s",
		    x->job.reissued);
	/* The consumer id is hex: safe inside quotes. */
	if (answer(&b, r->srv, &x->job.in, &x->job.out, 1) != 0 ||
	    yima_buf_printf(&b, ",\"consumer\":\"%s\"", x->cid_full) != 0 ||
	    reward_json(&b, &x->job.rew) != 0 || arm_json(&b, &x->job.rew) !=
	    0 || yima_buf_puts(&b, "}") != 0) {
		yima_buf_free(&b);
		return MHD_NO;
	}
	snprintf(cookie, sizeof(cookie), "yima_cid=%s; Path=/; "
	    "Max-Age=31536000; HttpOnly; SameSite=Lax%s", x->cid_full,
	    api_cookie_secure(r));
	ret = api_reply(r, 200, "application/json", b.data, b.len, hdr);
	yima_buf_free(&b);
	return ret;
}

/* The state of the code now; nothing is recorded. */
enum MHD_Result
api_route_codes(struct api_req *r)
{
	static const char *const hdr[] = { "Cache-Control", "no-store",
	    "Access-Control-Allow-Origin", "*", NULL };
	struct yima_buf b = YIMA_BUF_INIT;
	struct api_scan_in in;
	struct api_scan_out out;
	struct yima_tx *tx;
	enum MHD_Result res;
	int rc;

	if (!api_rate_ok(r, &res))
		return res;
	memset(&in, 0, sizeof(in));
	if (r->param_len > YIMA_CODE_TEXT_MAX)
		return api_reply_error(r, 400, "bad_request",
		    "the code is longer than %d characters", YIMA_CODE_TEXT_MAX);
	verify_into(r, r->param, r->param_len, &in);
	if ((rc = yima_tx_begin(r->srv->st, 0, &tx)) != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	rc = api_verdict_peek(tx, &in, &out);
	yima_tx_rollback(tx);
	if (rc != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	r->verdict = yima_verdict_name((int)out.verdict);
	if (answer(&b, r->srv, &in, &out, 0) != 0 ||
	    yima_buf_puts(&b, "}") != 0) {
		yima_buf_free(&b);
		return MHD_NO;
	}
	res = api_reply(r, 200, "application/json", b.data, b.len, hdr);
	yima_buf_free(&b);
	return res;
}
