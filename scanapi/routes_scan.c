/* SPDX-License-Identifier: Apache-2.0 */
/* Public routes: POST /api/v1/scans and GET /api/v1/codes/{code}. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "yima/err.h"

#include "consumer.h"
#include "http.h"

#define CODE_TEXT_MAX	512	/* longest "code" string accepted */

/* Reads the consumer id from the body or the yima_cid cookie. */
static void
consumer_of(struct api_req *r, json_t *body, struct api_scan_in *in)
{
	const struct yima_mac *mac = r->srv->cid_mac;
	json_t *v = body ? json_object_get(body, "consumer") : NULL;
	const char *c;

	if (json_is_string(v) && api_consumer_check(mac, json_string_value(v),
	    json_string_length(v), in->consumer)) {
		snprintf(r->cid_full, sizeof(r->cid_full), "%s",
		    json_string_value(v));
		return;
	}
	c = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "yima_cid");
	if (c != NULL && api_consumer_check(mac, c, strlen(c), in->consumer)) {
		snprintf(r->cid_full, sizeof(r->cid_full), "%s", c);
		return;
	}
	/* None, forged or malformed: a fresh one. */
	if (api_consumer_new(mac, r->cid_full) == 0) {
		memcpy(in->consumer, r->cid_full, API_CONSUMER_ID_LEN);
		in->consumer[API_CONSUMER_ID_LEN] = '\0';
		r->cid_new = 1;
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

	in->valid = yima_code_verify(r->srv->kr, text, len, &in->code,
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

/* Writes the answer fields every verdict shares. */
static json_t *
answer(struct api_req *r, const struct api_scan_in *in,
    const struct api_scan_out *out, int recorded)
{
	const struct yima_code_state *s = &out->state;
	char at[40];
	json_t *o, *p, *f;

	o = json_object();
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "verdict",
	    json_string(yima_verdict_name((int)out->verdict)));
	if (recorded)
		json_object_set_new(o, "scan_id", json_integer(out->scan_id));
	if (in->valid) {
		json_object_set_new(o, "kind",
		    json_string(yima_kind_name((int)in->code.kind)));
		json_object_set_new(o, "serial",
		    json_integer((json_int_t)in->code.serial));
	} else
		json_object_set_new(o, "reason", json_string(in->reason));
	if (out->registered) {
		p = json_object();
		json_object_set_new(p, "batch", json_string(out->range.batch));
		if (out->range.gtin[0])
			json_object_set_new(p, "gtin",
			    json_string(out->range.gtin));
		if (out->range.lot[0])
			json_object_set_new(p, "lot",
			    json_string(out->range.lot));
		if (out->range.mfg[0])
			json_object_set_new(p, "mfg",
			    json_string(out->range.mfg));
		if (out->range.expiry[0])
			json_object_set_new(p, "expiry",
			    json_string(out->range.expiry));
		json_object_set_new(o, "product", p);
	}
	json_object_set_new(o, "scan_count",
	    json_integer((json_int_t)s->scans));
	if (s->scans > 0) {
		f = json_object();
		api_rfc3339(s->first_at, at, sizeof(at));
		json_object_set_new(f, "at", json_string(at));
		if (s->first_located) {
			json_object_set_new(f, "lat", json_real(s->first_lat));
			json_object_set_new(f, "lon", json_real(s->first_lon));
		}
		json_object_set_new(o, "first_scan", f);
	}
	if (out->verdict == YIMA_V_REVOKED)
		json_object_set_new(o, "revoked", json_pack("{s:s}", "reason",
		    out->revoked_reason));
	if (out->suspect_reason != NULL)
		json_object_set_new(o, "suspect_reason",
		    json_string(out->suspect_reason));
	(void)r;
	return o;
}

static const char limited_consumer[] = "{\"error\":{\"code\":"
    "\"rate_limited\",\"message\":\"too many scans by this consumer\"}}";

/* Writer thread: the scan is committed (or failed); wake the request. */
static void
scan_done(struct api_job *job)
{
	struct api_req *r = job->ctx;

	atomic_store(&r->job_state, 2);
	MHD_resume_connection(r->conn);
}

enum MHD_Result
api_route_scans(struct api_req *r)
{
	struct api_scan_in *in = &r->job.in;
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
	    json_string_length(code) > CODE_TEXT_MAX) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "\"code\" must "
		    "be a string of 1 to %d characters", CODE_TEXT_MAX);
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
	in->at = api_now_ms();
	in->located = hl == 1;
	in->lat = lat;
	in->lon = lon;
	in->accuracy = ha == 1 ? acc : -1;
	snprintf(in->client, sizeof(in->client), "%s", r->client);
	consumer_of(r, body, in);
	verify_into(r, json_string_value(code), json_string_length(code), in);
	json_decref(body);
	if (in->consumer[0] && !r->cid_new &&
	    !api_ratelimit_take(r->srv->cid_rl, in->consumer,
	    strlen(in->consumer), &secs)) {
		snprintf(retry, sizeof(retry), "%d", secs);
		return api_reply(r, 429, "application/json", limited_consumer,
		    sizeof(limited_consumer) - 1, hdr);
	}
	/* Suspend until the writer has committed this scan. */
	r->job.ctx = r;
	r->job.done = scan_done;
	atomic_store(&r->job_state, 1);
	MHD_suspend_connection(r->conn);
	if (api_scanq_submit(r->srv->q, &r->job) != 0) {
		MHD_resume_connection(r->conn);
		atomic_store(&r->job_state, 0);
		return api_reply_error(r, 503, "unavailable",
		    "the server is shutting down");
	}
	return MHD_YES;
}

enum MHD_Result
api_route_scans_done(struct api_req *r)
{
	char cookie[128];
	const char *hdr[] = { "Set-Cookie", cookie, "Cache-Control", "no-store",
	    NULL };
	enum MHD_Result ret;
	json_t *o;
	char *text;

	atomic_store(&r->job_state, 3);
	if (r->job.rc != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the scan could not be stored; try again");
	r->verdict = yima_verdict_name((int)r->job.out.verdict);
	api_metrics_verdict(&r->srv->metrics, (int)r->job.out.verdict);
	if ((o = answer(r, &r->job.in, &r->job.out, 1)) == NULL)
		return MHD_NO;
	json_object_set_new(o, "consumer", json_string(r->cid_full));
	json_object_set_new(o, "reward", json_null());
	snprintf(cookie, sizeof(cookie), "yima_cid=%s; Path=/; "
	    "Max-Age=31536000; HttpOnly; SameSite=Lax", r->cid_full);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return MHD_NO;
	ret = api_reply(r, 200, "application/json", text, strlen(text), hdr);
	free(text);
	return ret;
}

enum MHD_Result
api_route_codes(struct api_req *r)
{
	struct api_scan_in in;
	struct api_scan_out out;
	struct yima_tx *tx;
	enum MHD_Result res;
	int rc;

	if (!api_rate_ok(r, &res))
		return res;
	memset(&in, 0, sizeof(in));
	if (r->param_len > CODE_TEXT_MAX)
		return api_reply_error(r, 400, "bad_request",
		    "the code is longer than %d characters", CODE_TEXT_MAX);
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
	return api_reply_json(r, 200, answer(r, &in, &out, 0));
}
