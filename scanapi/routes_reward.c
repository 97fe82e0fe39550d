/* SPDX-License-Identifier: Apache-2.0 */
/* Reward routes: campaigns, the consumer's account, vouchers, payouts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yima/err.h"
#include "yima/validate.h"

#include "../codegen/alloc-private.h"
#include "consumer.h"
#include "product.h"
#include "routes.h"

#define NAME_MAX_	128	/* campaign, prize and item names */
#define AMOUNT_MAX	1000000000LL	/* cents, points or bottles */
#define HISTORY_MAX	50	/* movements shown to a consumer */
#define PAYOUT_IDS_MAX	1000	/* ids per mark-paid request */
#define CLAIMS_MAX	1000
#define KEY_MAX		64	/* idempotency key */
#define EXPORT_MAX	10000	/* scans, claims, movements in an export */

static const char *const prize_types[] = { NULL, "cash", "points",
    "voucher" };

static enum MHD_Result
unavailable(struct api_req *r)
{
	return api_reply_error(r, 503, "unavailable",
	    "the store is unavailable");
}

/* Commits tx, or rolls it back when rc says a step failed. */
static int
finish(struct yima_tx *tx, int rc)
{
	if (rc != 0) {
		yima_tx_rollback(tx);
		return rc;
	}
	return yima_tx_commit(tx);	/* a failure has rolled back */
}

/* ---- campaigns ---- */

/* A 400 naming the field, with the body freed. */
static enum MHD_Result
bad_field(struct api_req *r, json_t *body, const char *field,
    const char *rule)
{
	json_decref(body);
	return api_reply_error(r, 400, "bad_request", "\"%s\" %s", field,
	    rule);
}

/* A whole number in [lo, hi]: 1 present, 0 absent (or null), -1 bad. */
static int
int_of(json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi)
		return -1;
	*out = (int64_t)json_integer_value(v);
	return 1;
}

/* Text of 1..max bytes without NUL, copied into out; 0 or -1. */
static int
text_of(json_t *v, size_t max, char *out, size_t len)
{
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	snprintf(out, len, "%s", json_string_value(v));
	return 0;
}

static int
printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++)
		if (*p < 0x21 || *p > 0x7e)
			return 0;
	return 1;
}

static int
all_digits(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789") == n;
}

/*
 * Appends the prize tiers of arr to c's, for arm (0: the campaign's own,
 * else a variant's index + 1); the name of the bad field in *field
 * (fbuf, under prefix "" or "variants[i].").
 */
static int
prizes_of(json_t *arr, struct yima_campaign *c, int arm,
    const char *prefix, const char **field, char fbuf[64])
{
	struct yima_prize *p;
	const char *t;
	json_t *o, *v;
	double sum = 0;
	size_t i;
	int k;

	*field = fbuf;
	snprintf(fbuf, 64, "%sprizes", prefix);
	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || c->nprizes + json_array_size(arr) >
	    YIMA_PRIZES_MAX)
		return -1;
	json_array_foreach(arr, i, o) {
		p = &c->prizes[c->nprizes];
		p->arm = arm;
		if (!json_is_object(o)) {
			snprintf(fbuf, 64, "%sprizes[%zu]", prefix, i);
			return -1;
		}
		snprintf(fbuf, 64, "%sprizes[%zu].name", prefix, i);
		if (text_of(json_object_get(o, "name"), NAME_MAX_, p->name,
		    sizeof(p->name)) != 0)
			return -1;
		snprintf(fbuf, 64, "%sprizes[%zu].type", prefix, i);
		t = json_string_value(json_object_get(o, "type"));
		for (k = YIMA_PRIZE_CASH; t != NULL && k <= YIMA_PRIZE_VOUCHER;
		    k++)
			if (strcmp(t, prize_types[k]) == 0)
				p->type = k;
		if (p->type == 0)
			return -1;
		snprintf(fbuf, 64, "%sprizes[%zu].amount", prefix, i);
		if (int_of(o, "amount", 1, AMOUNT_MAX, &p->amount) != 1)
			return -1;
		snprintf(fbuf, 64, "%sprizes[%zu].count", prefix, i);
		if (int_of(o, "count", 0, AMOUNT_MAX, &p->count) != 1)
			return -1;
		snprintf(fbuf, 64, "%sprizes[%zu].probability", prefix, i);
		v = json_object_get(o, "probability");
		if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
		    json_number_value(v) < 0 || json_number_value(v) > 1)
			return -1;
		p->probability = json_number_value(v);
		sum += p->probability;
		c->nprizes++;
	}
	snprintf(fbuf, 64, "%sprizes", prefix);
	return sum <= 1.0 + 1e-9 ? 0 : -1;
}

static const char prizes_rule[] = "must be a list of tiers (at most 16 in "
    "a campaign) whose probabilities add up to 1 at most";
static const char prize_rule[] = "is missing or out of range (name text, "
    "type cash|points|voucher, amount >= 1, count >= 0, probability 0..1)";

/* A variant's landing offer: {headline, image_url?, cta?}. */
static int
landing_of(json_t *o, struct yima_variant *v, char *fbuf, size_t i)
{
	const char *key;
	json_t *x;

	if (o == NULL)
		return 0;
	snprintf(fbuf, 64, "variants[%zu].landing", i);
	if (!json_is_object(o))
		return -1;
	json_object_foreach(o, key, x)
		if (strcmp(key, "headline") && strcmp(key, "image_url") &&
		    strcmp(key, "cta"))
			return -1;
	snprintf(fbuf, 64, "variants[%zu].landing.headline", i);
	x = json_object_get(o, "headline");
	if (!api_text_ok(x, sizeof(v->headline) - 1))
		return -1;
	snprintf(v->headline, sizeof(v->headline), "%s", json_string_value(x));
	snprintf(fbuf, 64, "variants[%zu].landing.image_url", i);
	if ((x = json_object_get(o, "image_url")) != NULL) {
		if (!api_url_ok(x))
			return -1;
		snprintf(v->image_url, sizeof(v->image_url), "%s",
		    json_string_value(x));
	}
	snprintf(fbuf, 64, "variants[%zu].landing.cta", i);
	if ((x = json_object_get(o, "cta")) != NULL) {
		if (!api_text_ok(x, sizeof(v->cta) - 1))
			return -1;
		snprintf(v->cta, sizeof(v->cta), "%s", json_string_value(x));
	}
	return 0;
}

/*
 * variants: 2 to 8 arms [{name, weight, points?, prizes?, landing?}]
 * whose weights add up to 100. 0, or -1 with the field and its rule.
 */
static int
variants_of(json_t *arr, struct yima_campaign *c, const char **field,
    const char **rule, char fbuf[64])
{
	struct yima_variant *v;
	const char *key;
	char prefix[24];
	json_t *o, *x;
	int64_t sum = 0;
	size_t i, j;

	*field = "variants";
	*rule = "must be a list of 2 to 8 arms {name, weight, points?, "
	    "prizes?, landing?} whose weights add up to 100";
	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) < 2 ||
	    json_array_size(arr) > YIMA_VARIANTS_MAX)
		return -1;
	json_array_foreach(arr, i, o) {
		v = &c->variants[i];
		*field = fbuf;
		snprintf(fbuf, 64, "variants[%zu]", i);
		*rule = "must be an object of name, weight, points, prizes "
		    "and landing only";
		if (!json_is_object(o))
			return -1;
		json_object_foreach(o, key, x)
			if (strcmp(key, "name") && strcmp(key, "weight") &&
			    strcmp(key, "points") && strcmp(key, "prizes") &&
			    strcmp(key, "landing"))
				return -1;
		snprintf(fbuf, 64, "variants[%zu].name", i);
		*rule = "must be text of 1 to 32 bytes, unique in the campaign";
		x = json_object_get(o, "name");
		if (!api_text_ok(x, sizeof(v->name) - 1))
			return -1;
		snprintf(v->name, sizeof(v->name), "%s", json_string_value(x));
		for (j = 0; j < i; j++)
			if (strcmp(c->variants[j].name, v->name) == 0)
				return -1;
		snprintf(fbuf, 64, "variants[%zu].weight", i);
		*rule = "must be a whole percentage from 1 to 100";
		if (int_of(o, "weight", 1, 100, &v->weight) != 1)
			return -1;
		sum += v->weight;
		snprintf(fbuf, 64, "variants[%zu].points", i);
		*rule = "must be a whole number from 0 to 1000000000";
		v->points = YIMA_NONE;
		if (int_of(o, "points", 0, AMOUNT_MAX, &v->points) < 0)
			return -1;
		snprintf(prefix, sizeof(prefix), "variants[%zu].", i);
		x = json_object_get(o, "prizes");
		v->own_prizes = x != NULL;
		if (prizes_of(x, c, (int)i + 1, prefix, field, fbuf) != 0) {
			*rule = strcmp(fbuf + strlen(prefix), "prizes") == 0 ?
			    prizes_rule : prize_rule;
			return -1;
		}
		*field = fbuf;
		*rule = "must be {headline (text up to 128 bytes), image_url "
		    "(http(s) or a path), cta (text up to 64 bytes)}";
		if (landing_of(json_object_get(o, "landing"), v, fbuf, i) != 0)
			return -1;
		c->nvariants++;
	}
	*field = "variants";
	*rule = "must have weights that add up to 100";
	return sum == 100 ? 0 : -1;
}

/* Parses and checks a campaign body; NULL or the 400 already queued. */
static int
campaign_of(struct api_req *r, json_t *body, struct yima_campaign *c,
    enum MHD_Result *res)
{
	json_t *arr, *v, *lim;
	const char *s, *field, *rule;
	char fbuf[64];
	size_t i;
	int rc;

	memset(c, 0, sizeof(*c));
	c->budget = c->daily_budget = YIMA_NONE;
	c->per_day = c->per_consumer = c->per_network_hour = YIMA_NONE;
	if (text_of(json_object_get(body, "name"), NAME_MAX_, c->name,
	    sizeof(c->name)) != 0) {
		*res = bad_field(r, body, "name", "must be text of 1 to 128 "
		    "bytes");
		return -1;
	}
	s = json_string_value(json_object_get(body, "start"));
	if (s == NULL || api_rfc3339_parse(s, &c->start) != 0) {
		*res = bad_field(r, body, "start", "must be an RFC 3339 time "
		    "such as 2026-12-01T00:00:00+08:00");
		return -1;
	}
	s = json_string_value(json_object_get(body, "end"));
	if (s == NULL || api_rfc3339_parse(s, &c->end) != 0 ||
	    c->end <= c->start) {
		*res = bad_field(r, body, "end", "must be an RFC 3339 time "
		    "after \"start\"");
		return -1;
	}
	arr = json_object_get(body, "gtins");
	if (arr != NULL && (!json_is_array(arr) ||
	    json_array_size(arr) > YIMA_SCOPE_MAX)) {
		*res = bad_field(r, body, "gtins", "must be a list of at most "
		    "64 GTIN-14");
		return -1;
	}
	json_array_foreach(arr, i, v) {
		s = json_string_value(v);
		/* Stored as GTIN-14, as batches store theirs. */
		if (s == NULL || yima_gtin_normalize(s,
		    c->gtins[c->ngtins], NULL) != 0) {
			*res = bad_field(r, body, "gtins", "must hold valid "
			    "GTINs (8, 12, 13 or 14 digits, check digit)");
			return -1;
		}
		c->ngtins++;
	}
	arr = json_object_get(body, "regions");
	if (arr != NULL && (!json_is_array(arr) ||
	    json_array_size(arr) > YIMA_SCOPE_MAX)) {
		*res = bad_field(r, body, "regions", "must be a list of at "
		    "most 64 GB/T 2260 codes or prefixes");
		return -1;
	}
	json_array_foreach(arr, i, v) {
		s = json_string_value(v);
		if (s == NULL || !(all_digits(s, 2) || all_digits(s, 4) ||
		    all_digits(s, 6))) {
			*res = bad_field(r, body, "regions", "must hold 2, 4 or "
			    "6 digits (province, city, county)");
			return -1;
		}
		snprintf(c->regions[c->nregions++], sizeof(c->regions[0]),
		    "%s", s);
	}
	c->claim_kind = YIMA_KIND_INNER;
	if ((v = json_object_get(body, "claim_kind")) != NULL) {
		s = json_string_value(v);
		if (s != NULL && strcmp(s, "item") == 0)
			c->claim_kind = YIMA_KIND_ITEM;
		else if (s == NULL || strcmp(s, "inner") != 0) {
			*res = bad_field(r, body, "claim_kind", "must be "
			    "\"inner\" (the cap code) or \"item\"");
			return -1;
		}
	}
	if (int_of(body, "points", 0, AMOUNT_MAX, &c->points) < 0 ||
	    int_of(body, "commission", 0, AMOUNT_MAX, &c->commission) < 0) {
		*res = bad_field(r, body, int_of(body, "points", 0, AMOUNT_MAX,
		    &c->points) < 0 ? "points" : "commission", "must be a "
		    "whole number from 0 to 1000000000");
		return -1;
	}
	if ((rc = int_of(body, "budget_cents", 0, 1000000000000LL,
	    &c->budget)) < 0 || int_of(body, "daily_budget_cents", 0,
	    1000000000000LL, &c->daily_budget) < 0) {
		*res = bad_field(r, body, rc < 0 ? "budget_cents" :
		    "daily_budget_cents", "must be cents, a whole number "
		    "from 0");
		return -1;
	}
	lim = json_object_get(body, "limits");
	if (lim != NULL && !json_is_object(lim)) {
		*res = bad_field(r, body, "limits", "must be an object");
		return -1;
	}
	if (lim != NULL) {
		field = int_of(lim, "per_consumer_per_day", 0, AMOUNT_MAX,
		    &c->per_day) < 0 ? "limits.per_consumer_per_day" :
		    int_of(lim, "per_consumer", 0, AMOUNT_MAX,
		    &c->per_consumer) < 0 ? "limits.per_consumer" :
		    int_of(lim, "per_network_per_hour", 0, AMOUNT_MAX,
		    &c->per_network_hour) < 0 ?
		    "limits.per_network_per_hour" : NULL;
		if (field != NULL) {
			*res = bad_field(r, body, field, "must be a whole "
			    "number from 0");
			return -1;
		}
	}
	if (prizes_of(json_object_get(body, "prizes"), c, 0, "", &field,
	    fbuf) != 0) {
		*res = bad_field(r, body, field, strcmp(field, "prizes") == 0 ?
		    prizes_rule : prize_rule);
		return -1;
	}
	if (variants_of(json_object_get(body, "variants"), c, &field, &rule,
	    fbuf) != 0) {
		*res = bad_field(r, body, field, rule);
		return -1;
	}
	return 0;
}

/* The prize tiers of arm (0: the campaign's own, else variant arm - 1). */
static json_t *
prizes_json(const struct yima_campaign *c, int arm)
{
	const struct yima_prize *p;
	json_t *pz = json_array();
	size_t i;

	for (i = 0; i < c->nprizes; i++) {
		p = &c->prizes[i];
		if (p->arm != arm)
			continue;
		json_array_append_new(pz, json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,"
		    "s:f}", "id", (json_int_t)p->id, "name", p->name, "type",
		    prize_types[p->type], "amount", (json_int_t)p->amount,
		    "count", (json_int_t)p->count, "remaining",
		    (json_int_t)p->remaining, "probability", p->probability));
	}
	return pz;
}

/* A variant's landing offer as the scan answer and the campaign show it. */
json_t *
api_offer_json(const struct yima_variant *v)
{
	json_t *o;

	if (v->headline[0] == '\0')
		return json_null();
	o = json_pack("{s:s}", "headline", v->headline);
	if (o != NULL && v->image_url[0] != '\0')
		json_object_set_new(o, "image_url", json_string(v->image_url));
	if (o != NULL && v->cta[0] != '\0')
		json_object_set_new(o, "cta", json_string(v->cta));
	return o;
}

static json_t *
variants_json(const struct yima_campaign *c)
{
	const struct yima_variant *v;
	json_t *arr = json_array(), *o;
	size_t i;

	for (i = 0; i < c->nvariants; i++) {
		v = &c->variants[i];
		o = json_pack("{s:s,s:I,s:o}", "name", v->name, "weight",
		    (json_int_t)v->weight, "landing", api_offer_json(v));
		if (o != NULL && v->points != YIMA_NONE)
			json_object_set_new(o, "points",
			    json_integer(v->points));
		if (o != NULL && v->own_prizes)
			json_object_set_new(o, "prizes", prizes_json(c,
			    (int)i + 1));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *
campaign_json(const struct yima_campaign *c)
{
	json_t *o, *g, *rg, *lim;
	char a[40], b[40];
	size_t i;

	g = json_array();
	for (i = 0; i < c->ngtins; i++)
		json_array_append_new(g, json_string(c->gtins[i]));
	rg = json_array();
	for (i = 0; i < c->nregions; i++)
		json_array_append_new(rg, json_string(c->regions[i]));
	lim = json_object();
	if (c->per_day != YIMA_NONE)
		json_object_set_new(lim, "per_consumer_per_day",
		    json_integer(c->per_day));
	if (c->per_consumer != YIMA_NONE)
		json_object_set_new(lim, "per_consumer",
		    json_integer(c->per_consumer));
	if (c->per_network_hour != YIMA_NONE)
		json_object_set_new(lim, "per_network_per_hour",
		    json_integer(c->per_network_hour));
	api_rfc3339(c->start, a, sizeof(a));
	api_rfc3339(c->end, b, sizeof(b));
	o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:I,s:I,s:o,s:o}",
	    "id", (json_int_t)c->id, "name", c->name, "start", a, "end", b,
	    "status", c->status, "claim_kind", c->claim_kind == YIMA_KIND_ITEM ?
	    "item" : "inner", "gtins", g, "regions", rg, "points",
	    (json_int_t)c->points, "commission", (json_int_t)c->commission,
	    "spent_cents", (json_int_t)c->spent, "limits", lim, "prizes",
	    prizes_json(c, 0));
	if (o != NULL && c->budget != YIMA_NONE)
		json_object_set_new(o, "budget_cents", json_integer(c->budget));
	if (o != NULL && c->daily_budget != YIMA_NONE)
		json_object_set_new(o, "daily_budget_cents",
		    json_integer(c->daily_budget));
	if (o != NULL && c->nvariants > 0)
		json_object_set_new(o, "variants", variants_json(c));
	return o;
}

enum MHD_Result
api_route_campaign_add(struct api_req *r)
{
	struct yima_campaign *c;
	struct yima_token t;
	struct yima_tx *tx = NULL;
	enum MHD_Result res;
	json_t *body;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	if ((c = yima_malloc(sizeof(*c))) == NULL) {
		json_decref(body);
		return api_reply_error(r, 500, "no_memory", "out of memory");
	}
	if (campaign_of(r, body, c, &res) != 0) {
		yima_free(c);
		return res;	/* the body is freed */
	}
	json_decref(body);
	if ((rc = yima_tx_begin_queued(r->srv->st, YIMA_QUEUE_CAMPAIGNS,
	    &tx)) == 0) {
		if ((rc = yima_tx_campaign_create(tx, c, r->body)) == 0)
			rc = yima_tx_campaign_get(tx, c->id, c);
		rc = finish(tx, rc);
	}
	if (rc != 0) {
		yima_free(c);
		return unavailable(r);
	}
	res = api_reply_json(r, 201, campaign_json(c));
	yima_free(c);
	return res;
}

static void
add_campaign(void *ctx, const struct yima_campaign *c)
{
	json_array_append_new(ctx, campaign_json(c));
}

static int
fill_campaigns(struct yima_tx *tx, json_t *list, const void *arg)
{
	(void)arg;
	return yima_tx_campaign_list(tx, 0, add_campaign, list);
}

enum MHD_Result
api_route_campaign_list(struct api_req *r)
{
	struct yima_token t;
	enum MHD_Result res;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	return api_reply_list(r, "campaigns", fill_campaigns, NULL);
}


enum MHD_Result
api_route_campaign_get(struct api_req *r)
{
	struct yima_campaign *c;
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	int64_t id;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((id = api_path_id(r)) == 0)
		return api_reply_error(r, 404, "not_found", "no such campaign");
	if ((c = yima_malloc(sizeof(*c))) == NULL)
		return api_reply_error(r, 500, "no_memory", "out of memory");
	if (yima_tx_begin(r->srv->st, 0, &tx) != 0) {
		yima_free(c);
		return unavailable(r);
	}
	rc = yima_tx_campaign_get(tx, id, c);
	yima_tx_rollback(tx);
	if (rc == 0)
		res = api_reply_json(r, 200, campaign_json(c));
	else if (rc == YIMA_ENOENT)
		res = api_reply_error(r, 404, "not_found", "no such campaign");
	else
		res = unavailable(r);
	yima_free(c);
	return res;
}

enum MHD_Result
api_route_campaign_patch(struct api_req *r)
{
	struct yima_campaign *c;
	struct yima_token t;
	struct yima_tx *tx = NULL;
	enum MHD_Result res;
	const char *st;
	json_t *body;
	int64_t id;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	st = json_string_value(json_object_get(body, "status"));
	if (st == NULL || (strcmp(st, "active") != 0 &&
	    strcmp(st, "paused") != 0 && strcmp(st, "ended") != 0))
		return bad_field(r, body, "status", "must be \"active\", "
		    "\"paused\" or \"ended\"");
	if ((id = api_path_id(r)) == 0) {
		json_decref(body);
		return api_reply_error(r, 404, "not_found", "no such campaign");
	}
	if ((c = yima_malloc(sizeof(*c))) == NULL) {
		json_decref(body);
		return api_reply_error(r, 500, "no_memory", "out of memory");
	}
	/* Every change of a campaign bumps one generation row: they queue. */
	if ((rc = yima_tx_begin_queued(r->srv->st, YIMA_QUEUE_CAMPAIGNS,
	    &tx)) != 0)
		goto fail;
	if ((rc = yima_tx_campaign_get(tx, id, c)) != 0)
		goto fail;
	if (strcmp(c->status, "ended") == 0 && strcmp(st, "ended") != 0) {
		yima_tx_rollback(tx);
		json_decref(body);
		yima_free(c);
		return api_reply_error(r, 409, "ended", "the campaign has "
		    "ended; ending is final");
	}
	if ((rc = yima_tx_campaign_set_status(tx, id, st)) != 0 ||
	    (rc = yima_tx_campaign_get(tx, id, c)) != 0)
		goto fail;
	rc = yima_tx_commit(tx);
	tx = NULL;
	if (rc != 0)
		goto fail;
	json_decref(body);
	res = api_reply_json(r, 200, campaign_json(c));
	yima_free(c);
	return res;
fail:
	yima_tx_rollback(tx);
	json_decref(body);
	yima_free(c);
	if (rc == YIMA_ENOENT)
		return api_reply_error(r, 404, "not_found", "no such campaign");
	return unavailable(r);
}

/* ---- the consumer's account ---- */

/*
 * The signed consumer id: body "consumer", the X-Yima-Consumer header or
 * the yima_cid cookie. The stored id (24 hex) into out; 0 or -1.
 */
static int
consumer_id(struct api_req *r, json_t *body, char *out)
{
	const struct yima_mac *mac = r->srv->cid_mac, *old = r->srv->cid_legacy;
	json_t *v = body != NULL ? json_object_get(body, "consumer") : NULL;
	const char *c;

	if (json_is_string(v))
		return api_consumer_check(mac, old, json_string_value(v),
		    json_string_length(v), out) ? 0 : -1;
	c = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "X-Yima-Consumer");
	if (c == NULL)
		c = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND,
		    "yima_cid");
	return c != NULL && api_consumer_check(mac, old, c, strlen(c), out) ?
	    0 : -1;
}

static enum MHD_Result
no_consumer(struct api_req *r)
{
	return api_reply_error(r, 401, "no_consumer", "a signed consumer id "
	    "is needed (the yima_cid cookie, X-Yima-Consumer, or "
	    "\"consumer\")");
}

static enum MHD_Result
consumer_erased(struct api_req *r, int status)
{
	return api_reply_error(r, status, "consumer_erased", "this consumer "
	    "id was erased; it cannot be used again");
}

/*
 * A transaction for consumer cid (write or read), or NULL after the
 * answer: 503, or status (403; 409 for an admin's freeze) when the id
 * was erased, which no route writes down or reads for again.
 */
static struct yima_tx *
consumer_tx(struct api_req *r, const char *cid, int write, int status,
    enum MHD_Result *res)
{
	char hash[1][65];
	struct yima_tx *tx;
	int yes, rc;

	if (yima_tx_begin(r->srv->st, write, &tx) != 0) {
		*res = unavailable(r);
		return NULL;
	}
	api_consumer_hash(r->srv->cid_mac, cid, hash[0]);
	if ((rc = yima_tx_consumers_erased(tx, (const char (*)[65])hash, 1,
	    &yes)) == 0 && !yes)
		return tx;
	yima_tx_rollback(tx);
	*res = rc != 0 ? unavailable(r) : consumer_erased(r, status);
	return NULL;
}

static const char limited[] = "{\"error\":{\"code\":\"rate_limited\","
    "\"message\":\"too many requests by this consumer\"}}";

/* 1 if consumer cid may go on (a token of its rate); else the 429. */
static int
consumer_rate_ok(struct api_req *r, const char *cid, enum MHD_Result *res)
{
	char retry[16];
	const char *hdr[] = { "Retry-After", retry, "Cache-Control",
	    "no-store", NULL };
	int secs;

	if (api_ratelimit_take(r->srv->cid_rl, cid, strlen(cid), &secs))
		return 1;
	snprintf(retry, sizeof(retry), "%d", secs);
	*res = api_reply(r, 429, "application/json", limited,
	    sizeof(limited) - 1, hdr);
	return 0;
}

static void
add_movement(void *ctx, const struct yima_movement *m)
{
	char at[40];

	api_rfc3339(m->at, at, sizeof(at));
	json_array_append_new(ctx, json_pack("{s:s,s:s,s:s,s:I,s:s?}", "at",
	    at, "kind", m->kind, "unit", m->unit, "amount",
	    (json_int_t)m->amount, "ref", m->ref[0] ? m->ref : NULL));
}

enum MHD_Result
api_route_consumer_me(struct api_req *r)
{
	char cid[API_CONSUMER_ID_LEN + 1], acct[YIMA_ACCOUNT_MAX + 1];
	struct api_member m;
	struct yima_tx *tx;
	enum MHD_Result res;
	json_t *hist, *o;
	int rc;

	if (!api_rate_ok(r, &res))
		return res;
	if (consumer_id(r, NULL, cid) != 0)
		return no_consumer(r);
	if ((tx = consumer_tx(r, cid, 0, 403, &res)) == NULL)
		return res;
	hist = json_array();
	snprintf(acct, sizeof(acct), "consumer:%s", cid);
	if ((rc = api_member_get(&r->srv->cfg.reward, tx, cid, api_now_ms(),
	    &m)) == 0)
		rc = yima_tx_ledger_list(tx, acct, HISTORY_MAX, add_movement,
		    hist);
	yima_tx_rollback(tx);
	if (rc != 0) {
		json_decref(hist);
		return unavailable(r);
	}
	o = json_pack("{s:I,s:I,s:I,s:I,s:s,s:f,s:o}", "points",
	    (json_int_t)m.points, "cash_pending_cents", (json_int_t)m.cents,
	    "vouchers_bottles", (json_int_t)m.bottles, "growth",
	    (json_int_t)m.growth, "tier", m.tier, "multiplier", m.multiplier,
	    "history", hist);
	if (o != NULL && m.next_tier != NULL)
		json_object_set_new(o, "next_tier", json_pack("{s:s,s:I}",
		    "name", m.next_tier, "growth", (json_int_t)m.next_at));
	return api_reply_json(r, 200, o);
}

/*
 * The consumer's own data (PIPL): scans with time and region (never the
 * place or the address), claims, the account and its movements, each
 * the newest EXPORT_MAX; "truncated" says one was cut.
 */
struct export {
	const struct yima_geo	*geo;
	json_t			*list;
	int			 n;	/* rows seen */
	int			 ok;	/* every append succeeded */
};

/* Appends o (consumed) unless the list is full. */
static void
append(struct export *x, json_t *o)
{
	if (++x->n > EXPORT_MAX)
		json_decref(o);
	else if (o == NULL || json_array_append_new(x->list, o) != 0)
		x->ok = 0;
}

static void
export_scan(void *ctx, const struct yima_scan_row *s)
{
	struct export *x = ctx;
	const char *name;
	char at[40];
	json_t *o;

	api_rfc3339(s->at, at, sizeof(at));
	o = json_pack("{s:s,s:s}", "at", at, "verdict",
	    yima_verdict_name((int)s->verdict));
	if (o != NULL && s->has_serial)
		json_object_set_new(o, "kind", json_string(
		    yima_kind_name(s->kind)));
	if (o != NULL && s->has_serial)
		json_object_set_new(o, "serial", json_integer(
		    (json_int_t)s->serial));
	if (o != NULL && s->region[0] != '\0') {
		name = x->geo != NULL ? yima_geo_name(x->geo, s->region) :
		    NULL;
		json_object_set_new(o, "region", json_pack("{s:s,s:s?}",
		    "code", s->region, "name", name));
	}
	if (o != NULL && s->channel != 0)
		json_object_set_new(o, "channel", json_integer(
		    (json_int_t)s->channel));
	append(x, o);
}

static void
export_claim(void *ctx, const struct yima_claim *c)
{
	struct export *x = ctx;
	char at[40];

	api_rfc3339(c->at, at, sizeof(at));
	append(x, json_pack("{s:s,s:I,s:I,s:s,s:I,s:I,s:s?}", "at", at,
	    "serial", (json_int_t)c->serial, "campaign",
	    (json_int_t)c->campaign, "status", c->status, "points",
	    (json_int_t)c->points, "prize", (json_int_t)c->prize, "variant",
	    c->variant[0] ? c->variant : NULL));
}

/* An A/B arm shown or a channel that bound them (the audience's). */
static void
export_audience(void *ctx, const char *kind, int64_t id, int64_t n,
    int64_t at)
{
	struct export *x = ctx;
	char t[40];

	api_rfc3339(at, t, sizeof(t));
	append(x, strcmp(kind, "experiment") == 0 ? json_pack("{s:s,s:I,s:I,"
	    "s:s}", "kind", kind, "campaign", (json_int_t)id, "arm",
	    (json_int_t)n, "since", t) : json_pack("{s:s,s:I,s:s}", "kind",
	    kind, "channel", (json_int_t)id, "since", t));
}

static void
export_movement(void *ctx, const struct yima_movement *m)
{
	struct export *x = ctx;
	json_t *before = x->list;
	size_t n = json_array_size(before);

	if (++x->n > EXPORT_MAX)
		return;
	add_movement(x->list, m);
	if (json_array_size(before) != n + 1)
		x->ok = 0;
}

enum MHD_Result
api_route_consumer_export(struct api_req *r)
{
	char cid[API_CONSUMER_ID_LEN + 1], acct[YIMA_ACCOUNT_MAX + 1];
	char at[40], first[40], last[40];
	struct export xs, xc, xm, xa;
	struct yima_segment seg;
	struct api_member m;
	struct yima_tx *tx;
	enum MHD_Result res;
	json_t *o = NULL, *life = NULL;
	int rc;

	if (!api_rate_ok(r, &res))
		return res;
	if (consumer_id(r, NULL, cid) != 0)
		return no_consumer(r);
	/* A heavy read: it counts against the consumer's scan rate too. */
	if (!consumer_rate_ok(r, cid, &res))
		return res;
	if ((tx = consumer_tx(r, cid, 0, 403, &res)) == NULL)
		return res;
	memset(&xs, 0, sizeof(xs));
	xs.geo = r->srv->geo;
	xs.ok = 1;
	xc = xm = xa = xs;
	xs.list = json_array();
	xc.list = json_array();
	xm.list = json_array();
	xa.list = json_array();
	snprintf(acct, sizeof(acct), "consumer:%s", cid);
	/* One more than shown: so a cut list is told from a full one. */
	if ((rc = api_member_get(&r->srv->cfg.reward, tx, cid, api_now_ms(),
	    &m)) == 0 && (rc = yima_tx_consumer_scans(tx, cid, EXPORT_MAX + 1,
	    export_scan, &xs)) == 0 && (rc = yima_tx_consumer_claims(tx, cid,
	    EXPORT_MAX + 1, export_claim, &xc)) == 0 &&
	    (rc = yima_tx_ledger_list(tx, acct, EXPORT_MAX + 1,
	    export_movement, &xm)) == 0 && (rc = yima_tx_consumer_audience(tx,
	    cid, export_audience, &xa)) == 0 &&
	    (rc = yima_tx_segment_get(tx, cid, &seg)) == 0) {
		/* Their lifecycle stage, as the brand's reports count them. */
		api_rfc3339(seg.first_at, first, sizeof(first));
		api_rfc3339(seg.last_at, last, sizeof(last));
		life = json_pack("{s:s,s:s,s:s?,s:s,s:s}", "stage", seg.stage,
		    "tier", seg.tier, "region", seg.region[0] ? seg.region :
		    NULL, "first_purchase", first, "last_purchase", last);
	}
	if (rc == YIMA_ENOENT)
		rc = 0;
	yima_tx_rollback(tx);
	if (rc != 0 || !xs.ok || !xc.ok || !xm.ok || !xa.ok ||
	    xs.list == NULL || xc.list == NULL || xm.list == NULL ||
	    xa.list == NULL)
		goto done;
	api_rfc3339(api_now_ms(), at, sizeof(at));
	o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:s,s:O,s:O,s:O,s:b,s:{s:i,"
	    "s:i}}", "exported_at", at, "consumer", cid, "points",
	    (json_int_t)m.points, "cash_pending_cents", (json_int_t)m.cents,
	    "vouchers_bottles", (json_int_t)m.bottles, "growth",
	    (json_int_t)m.growth, "tier", m.tier, "scans", xs.list, "claims",
	    xc.list, "movements", xm.list, "truncated", xs.n > EXPORT_MAX ||
	    xc.n > EXPORT_MAX || xm.n > EXPORT_MAX, "retention_days",
	    "places", r->srv->cfg.verdict.retention_days, "consumer_ids",
	    r->srv->cfg.verdict.consumer_days);
	if (o != NULL) {
		json_object_set(o, "audience", xa.list);
		json_object_set(o, "lifecycle", life != NULL ? life :
		    json_null());
	}
done:
	json_decref(life);
	json_decref(xs.list);
	json_decref(xc.list);
	json_decref(xm.list);
	json_decref(xa.list);
	if (o == NULL)
		return unavailable(r);
	return api_reply_json(r, 200, o);
}

/*
 * Erasure (PIPL): the consumer's places, addresses and the id's link to
 * them go; the ledger keeps its totals under a pseudonym no one can
 * link to the id; the id is refused from then on. An explicit
 * {"confirm": true} guards against a client that erases by mistake.
 */
enum MHD_Result
api_route_consumer_erase(struct api_req *r)
{
	char cid[API_CONSUMER_ID_LEN + 1], hash[65], pseudo[32];
	static const char *const gone[] = { "Set-Cookie", "yima_cid=; "
	    "Path=/; Max-Age=0; HttpOnly; SameSite=Lax", "Cache-Control",
	    "no-store", NULL };
	struct yima_erasure e;
	struct yima_tx *tx = NULL;
	enum MHD_Result res;
	json_t *body, *o;
	char *text;
	int rc;

	if (!api_rate_ok(r, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	if (consumer_id(r, body, cid) != 0) {
		json_decref(body);
		return no_consumer(r);
	}
	if (!json_is_true(json_object_get(body, "confirm")))
		return bad_field(r, body, "confirm", "must be true: erasure "
		    "cannot be undone");
	json_decref(body);
	if (!consumer_rate_ok(r, cid, &res))
		return res;
	api_consumer_hash(r->srv->cid_mac, cid, hash);
	if (api_consumer_pseudonym(pseudo) != 0 ||
	    yima_tx_begin(r->srv->st, 1, &tx) != 0)
		return unavailable(r);
	rc = yima_tx_consumer_erase(tx, cid, hash, pseudo, api_now_ms(), &e);
	if (rc == YIMA_EEXIST) {
		yima_tx_rollback(tx);
		return consumer_erased(r, 403);
	}
	if (finish(tx, rc) != 0)
		return unavailable(r);
	o = json_pack("{s:b,s:I,s:I,s:I}", "erased", 1, "scans",
	    (json_int_t)e.scans, "claims", (json_int_t)e.claims, "movements",
	    (json_int_t)e.movements);
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL)
		return MHD_NO;
	res = api_reply(r, 200, "application/json", text, strlen(text), gone);
	free(text);
	return res;
}

static void
add_item(void *ctx, const struct yima_item *it)
{
	json_array_append_new(ctx, json_pack("{s:I,s:s,s:I}", "id",
	    (json_int_t)it->id, "name", it->name, "points",
	    (json_int_t)it->points));
}

static int
fill_items(struct yima_tx *tx, json_t *list, const void *arg)
{
	(void)arg;
	return yima_tx_item_list(tx, add_item, list);
}

enum MHD_Result
api_route_catalogue(struct api_req *r)
{
	enum MHD_Result res;

	if (!api_rate_ok(r, &res))
		return res;
	return api_reply_list(r, "items", fill_items, NULL);
}

enum MHD_Result
api_route_catalogue_add(struct api_req *r)
{
	struct yima_item it;
	struct yima_token t;
	struct yima_tx *tx = NULL;
	enum MHD_Result res;
	json_t *body;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	memset(&it, 0, sizeof(it));
	if (text_of(json_object_get(body, "name"), NAME_MAX_, it.name,
	    sizeof(it.name)) != 0)
		return bad_field(r, body, "name", "must be text of 1 to 128 "
		    "bytes");
	if (int_of(body, "points", 1, AMOUNT_MAX, &it.points) != 1)
		return bad_field(r, body, "points", "must be a whole number "
		    "from 1");
	json_decref(body);
	if ((rc = yima_tx_begin(r->srv->st, 1, &tx)) == 0)
		rc = finish(tx, yima_tx_item_create(tx, &it));
	if (rc != 0)
		return unavailable(r);
	return api_reply_json(r, 201, json_pack("{s:I,s:s,s:I}", "id",
	    (json_int_t)it.id, "name", it.name, "points",
	    (json_int_t)it.points));
}

enum MHD_Result
api_route_redemption(struct api_req *r)
{
	char cid[API_CONSUMER_ID_LEN + 1], key[KEY_MAX + 1], ref[32];
	char acct[YIMA_ACCOUNT_MAX + 1];
	struct yima_redemption rd;
	struct yima_movement mv;
	struct yima_item it;
	struct yima_tx *tx = NULL;
	enum MHD_Result res;
	const char *hk;
	json_t *body, *reply = NULL;
	int64_t item, bal = 0;
	int rc, status = 201;

	if (!api_rate_ok(r, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	if (consumer_id(r, body, cid) != 0) {
		json_decref(body);
		return no_consumer(r);
	}
	if (int_of(body, "item", 1, INT64_MAX, &item) != 1)
		return bad_field(r, body, "item", "must be a catalogue id");
	hk = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Idempotency-Key");
	/* Printable ASCII only: it is echoed back and may be logged. */
	if (json_object_get(body, "key") != NULL) {
		if (text_of(json_object_get(body, "key"), KEY_MAX, key,
		    sizeof(key)) != 0 || !printable(key))
			return bad_field(r, body, "key", "must be 1 to 64 "
			    "printable ASCII characters");
	} else if (hk != NULL) {
		if (strlen(hk) > KEY_MAX || !printable(hk))
			return bad_field(r, body, "Idempotency-Key", "must be 1 "
			    "to 64 printable ASCII characters");
		snprintf(key, sizeof(key), "%s", hk);
	} else
		return bad_field(r, body, "key", "(or an Idempotency-Key "
		    "header) is required");
	json_decref(body);
	if ((tx = consumer_tx(r, cid, 1, 403, &res)) == NULL)
		return res;
	/* The same key again: the same answer, nothing spent twice. */
	rc = yima_tx_redemption_find(tx, cid, key, &rd);
	if (rc == 0) {
		if (rd.item != item) {
			yima_tx_rollback(tx);
			return api_reply_error(r, 409, "key_reused", "this "
			    "key was used for another item");
		}
		status = 200;
		goto answer;
	}
	if (rc != YIMA_ENOENT)
		goto fail;
	if ((rc = yima_tx_item_get(tx, item, &it)) == YIMA_ENOENT) {
		yima_tx_rollback(tx);
		return api_reply_error(r, 404, "not_found", "no such item");
	}
	if (rc != 0)
		goto fail;
	memset(&rd, 0, sizeof(rd));
	memcpy(rd.consumer, cid, sizeof(rd.consumer));
	snprintf(rd.key, sizeof(rd.key), "%s", key);
	rd.item = item;
	rd.points = it.points;
	rd.at = api_now_ms();
	if ((rc = yima_tx_redemption_add(tx, &rd)) != 0)
		goto fail;
	memset(&mv, 0, sizeof(mv));
	mv.at = rd.at;
	snprintf(mv.account, sizeof(mv.account), "consumer:%s", cid);
	strcpy(mv.kind, "redemption");
	strcpy(mv.unit, "points");
	mv.amount = -it.points;
	snprintf(ref, sizeof(ref), "r%lld", (long long)rd.id);
	snprintf(mv.ref, sizeof(mv.ref), "%s", ref);
	rc = yima_tx_ledger_add(tx, &mv, 1, &bal);
	if (rc == YIMA_ERANGE) {
		yima_tx_rollback(tx);
		return api_reply_error(r, 409, "insufficient_points", "the "
		    "item costs %lld points; the balance is lower",
		    (long long)it.points);
	}
	if (rc != 0)
		goto fail;
answer:
	snprintf(acct, sizeof(acct), "consumer:%s", cid);
	if ((rc = yima_tx_balance(tx, acct, "points", &bal)) != 0)
		goto fail;
	/* The answer first: nothing is spent that cannot be told. */
	if ((reply = json_pack("{s:I,s:I,s:I,s:I,s:s}", "redemption",
	    (json_int_t)rd.id, "item", (json_int_t)rd.item, "points",
	    (json_int_t)rd.points, "points_balance", (json_int_t)bal, "key",
	    rd.key)) == NULL)
		goto fail;
	rc = yima_tx_commit(tx);
	tx = NULL;
	if (rc != 0)
		goto fail;
	return api_reply_json(r, status, reply);
fail:
	yima_tx_rollback(tx);
	json_decref(reply);
	return unavailable(r);
}

/* ---- vouchers and payouts ---- */

enum MHD_Result
api_route_voucher_redeem(struct api_req *r)
{
	char acct[YIMA_ACCOUNT_MAX + 1], id[21], at[40];
	struct yima_voucher v;
	struct yima_movement mv;
	struct yima_dealer d;
	struct yima_token t;
	struct yima_tx *tx = NULL;
	enum MHD_Result res;
	int rc;

	if (!api_require(r, API_ROLE_DEALER, &t, &res))
		return res;
	if (r->param_len != 20)
		return api_reply_error(r, 404, "not_found", "no such voucher");
	memcpy(id, r->param, 20);
	id[20] = '\0';
	if ((rc = yima_tx_begin(r->srv->st, 1, &tx)) != 0)
		return unavailable(r);
	if ((rc = yima_tx_dealer_get(tx, t.dealer, &d)) != 0 ||
	    strcmp(d.type, "store") != 0) {
		yima_tx_rollback(tx);
		if (rc != 0 && rc != YIMA_ENOENT)
			return unavailable(r);
		return api_reply_error(r, 403, "forbidden", "only a store "
		    "redeems vouchers");
	}
	rc = yima_tx_voucher_redeem(tx, id, t.dealer, api_now_ms(), &v);
	if (rc == YIMA_ENOENT || rc == YIMA_EEXIST) {
		yima_tx_rollback(tx);
		if (rc == YIMA_ENOENT)
			return api_reply_error(r, 404, "not_found",
			    "no such voucher");
		api_rfc3339(v.redeemed_at, at, sizeof(at));
		return api_reply_error(r, 409, "already_redeemed", "redeemed "
		    "at %s", at);
	}
	if (rc != 0)
		goto fail;
	/* The bottle leaves the consumer's account for the store's. */
	memset(&mv, 0, sizeof(mv));
	mv.at = v.redeemed_at;
	snprintf(mv.account, sizeof(mv.account), "consumer:%s", v.consumer);
	strcpy(mv.kind, "redemption");
	strcpy(mv.unit, "bottles");
	mv.amount = -v.bottles;
	mv.claim = v.claim;
	snprintf(mv.ref, sizeof(mv.ref), "%s", v.id);
	if ((rc = yima_tx_ledger_add(tx, &mv, 0, NULL)) != 0)
		goto fail;
	snprintf(acct, sizeof(acct), "store:%s", t.dealer);
	snprintf(mv.account, sizeof(mv.account), "%s", acct);
	strcpy(mv.kind, "reimbursement");
	mv.amount = v.bottles;
	if ((rc = yima_tx_ledger_add(tx, &mv, 0, NULL)) != 0)
		goto fail;
	rc = yima_tx_commit(tx);
	tx = NULL;
	if (rc != 0)
		goto fail;
	api_rfc3339(v.redeemed_at, at, sizeof(at));
	return api_reply_json(r, 200, json_pack("{s:s,s:s,s:I,s:s,s:s}",
	    "voucher", v.id, "name", v.name, "bottles", (json_int_t)v.bottles,
	    "store", t.dealer, "redeemed_at", at));
fail:
	yima_tx_rollback(tx);
	return unavailable(r);
}

struct payouts {
	json_t		*list;
	struct yima_buf	 csv;
	int		 as_csv;
	int		 err;
};

static void
add_payout(void *ctx, const struct yima_payout *p)
{
	struct payouts *ps = ctx;
	char a[40], b[40] = "";

	api_rfc3339(p->created_at, a, sizeof(a));
	if (p->paid_at != 0)
		api_rfc3339(p->paid_at, b, sizeof(b));
	if (ps->as_csv) {
		/* The texts through the CSV helper like every CSV's. */
		if (yima_buf_printf(&ps->csv, "%lld,%lld,%lld,",
		    (long long)p->id, (long long)p->claim,
		    (long long)p->campaign) != 0 ||
		    api_csv_field(&ps->csv, p->consumer) != 0 ||
		    yima_buf_printf(&ps->csv, ",%lld,", (long long)p->cents) !=
		    0 || api_csv_field(&ps->csv, a) != 0 ||
		    yima_buf_puts(&ps->csv, ",") != 0 ||
		    api_csv_field(&ps->csv, b) != 0 ||
		    yima_buf_puts(&ps->csv, "\r\n") != 0)
			ps->err = 1;
		return;
	}
	json_array_append_new(ps->list, json_pack("{s:I,s:I,s:I,s:s,s:I,s:s,"
	    "s:s?}", "id", (json_int_t)p->id, "claim", (json_int_t)p->claim,
	    "campaign", (json_int_t)p->campaign, "consumer", p->consumer,
	    "cents", (json_int_t)p->cents, "created_at", a, "paid_at",
	    p->paid_at ? b : NULL));
}

enum MHD_Result
api_route_payouts(struct api_req *r)
{
	static const char *const hdr[] = { "Cache-Control", "no-store",
	    "Content-Disposition", "attachment; filename=\"payouts.csv\"",
	    NULL };
	struct payouts ps;
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	const char *st, *fmt;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	st = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    "status");
	fmt = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    "format");
	if (st != NULL && strcmp(st, "pending") != 0 && strcmp(st, "paid"))
		return api_reply_error(r, 400, "bad_request", "status is "
		    "pending or paid");
	if (fmt != NULL && strcmp(fmt, "json") != 0 && strcmp(fmt, "csv"))
		return api_reply_error(r, 400, "bad_request", "format is json "
		    "or csv");
	memset(&ps, 0, sizeof(ps));
	ps.as_csv = fmt != NULL && strcmp(fmt, "csv") == 0;
	ps.list = json_array();
	if (ps.as_csv && yima_buf_puts(&ps.csv, "id,claim,campaign,consumer,"
	    "cents,created_at,paid_at\r\n") != 0)
		ps.err = 1;
	if (yima_tx_begin(r->srv->st, 0, &tx) != 0) {
		json_decref(ps.list);
		yima_buf_free(&ps.csv);
		return unavailable(r);
	}
	rc = yima_tx_payout_list(tx, st != NULL && strcmp(st, "paid") == 0,
	    add_payout, &ps);
	yima_tx_rollback(tx);
	if (rc != 0 || ps.err) {
		json_decref(ps.list);
		yima_buf_free(&ps.csv);
		return unavailable(r);
	}
	if (!ps.as_csv)
		return api_reply_json(r, 200, json_pack("{s:o}", "payouts",
		    ps.list));
	json_decref(ps.list);
	res = api_reply(r, 200, "text/csv; charset=utf-8", ps.csv.data,
	    ps.csv.len, hdr);
	yima_buf_free(&ps.csv);
	return res;
}

enum MHD_Result
api_route_payouts_paid(struct api_req *r)
{
	struct yima_payout p;
	struct yima_movement mv;
	struct yima_token t;
	struct yima_tx *tx = NULL;
	enum MHD_Result res;
	json_t *body, *ids, *v, *paid, *before, *unknown;
	int64_t now = api_now_ms();
	size_t i, k;
	int rc = 0;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	ids = json_object_get(body, "ids");
	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > PAYOUT_IDS_MAX)
		return bad_field(r, body, "ids", "must be a list of 1 to 1000 "
		    "payout ids");
	json_array_foreach(ids, i, v)
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return bad_field(r, body, "ids", "must hold payout ids "
			    "(whole numbers from 1)");
	paid = json_array();
	before = json_array();
	unknown = json_array();
	if ((rc = yima_tx_begin(r->srv->st, 1, &tx)) != 0)
		goto fail;
	json_array_foreach(ids, i, v) {
		for (k = 0; k < i; k++)
			if (json_integer_value(json_array_get(ids, k)) ==
			    json_integer_value(v))
				break;
		if (k < i)
			continue;	/* named twice: once is enough */
		rc = yima_tx_payout_mark_paid(tx, json_integer_value(v), now,
		    &p);
		if (rc == YIMA_ENOENT) {
			json_array_append(unknown, v);
			continue;
		}
		if (rc == YIMA_EEXIST) {
			json_array_append(before, v);
			continue;
		}
		if (rc != 0)
			goto fail;
		/* Paid out: the cash leaves the consumer's account. */
		memset(&mv, 0, sizeof(mv));
		mv.at = now;
		snprintf(mv.account, sizeof(mv.account), "consumer:%s",
		    p.consumer);
		strcpy(mv.kind, "payout");
		strcpy(mv.unit, "cents");
		mv.amount = -p.cents;
		mv.claim = p.claim;
		snprintf(mv.ref, sizeof(mv.ref), "p%lld", (long long)p.id);
		if ((rc = yima_tx_ledger_add(tx, &mv, 0, NULL)) != 0)
			goto fail;
		json_array_append(paid, v);
	}
	json_decref(body);
	if (json_array_size(unknown) > 0) {
		/* All or nothing: a list with a wrong id changes nothing. */
		yima_tx_rollback(tx);
		json_decref(paid);
		json_decref(before);
		return api_reply_json(r, 404, json_pack("{s:{s:s,s:s},s:o}",
		    "error", "code", "not_found", "message", "unknown payout "
		    "ids; nothing was marked", "unknown", unknown));
	}
	rc = yima_tx_commit(tx);
	tx = NULL;
	if (rc != 0) {
		body = NULL;
		goto fail;
	}
	json_decref(unknown);
	return api_reply_json(r, 200, json_pack("{s:o,s:o}", "paid", paid,
	    "already_paid", before));
fail:
	yima_tx_rollback(tx);
	json_decref(body);
	json_decref(paid);
	json_decref(before);
	json_decref(unknown);
	return unavailable(r);
}

/* ---- anti-fraud: freezes and the claims held or refused ---- */

enum MHD_Result
api_route_freeze(struct api_req *r)
{
	char cid[API_CONSUMER_ID_LEN + 1], id[65], reason[201] = "";
	struct yima_token t;
	struct yima_tx *tx = NULL;
	enum MHD_Result res;
	const char *kind;
	json_t *body, *c, *b, *f;
	int rc, frozen;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	c = json_object_get(body, "consumer");
	b = json_object_get(body, "batch");
	f = json_object_get(body, "frozen");
	if ((c == NULL) == (b == NULL))
		return bad_field(r, body, "consumer", "or \"batch\": give "
		    "exactly one");
	if (f != NULL && !json_is_boolean(f))
		return bad_field(r, body, "frozen", "must be true or false");
	frozen = f == NULL || json_is_true(f);
	if (json_object_get(body, "reason") != NULL &&
	    text_of(json_object_get(body, "reason"), 200, reason,
	    sizeof(reason)) != 0)
		return bad_field(r, body, "reason", "must be text of 1 to 200 "
		    "bytes");
	if (c != NULL) {
		kind = "consumer";
		/* The stored id (24 hex, as claims list it) or a signed one. */
		if (text_of(c, 64, id, sizeof(id)) != 0 ||
		    (!(strlen(id) == API_CONSUMER_ID_LEN &&
		    strspn(id, "0123456789abcdef") == API_CONSUMER_ID_LEN) &&
		    !api_consumer_check(r->srv->cid_mac,
		    r->srv->cid_legacy, id, strlen(id), cid)))
			return bad_field(r, body, "consumer", "must be a "
			    "consumer id");
		if (strlen(id) != API_CONSUMER_ID_LEN)
			snprintf(id, sizeof(id), "%s", cid);
	} else {
		kind = "batch";
		if (text_of(b, 32, id, sizeof(id)) != 0 || strlen(id) != 32 ||
		    strspn(id, "0123456789abcdef") != 32)
			return bad_field(r, body, "batch", "must be a batch id "
			    "(32 hex)");
	}
	json_decref(body);
	/* An erased id is not written down again, not even frozen. */
	if (c != NULL)
		tx = consumer_tx(r, id, 1, 409, &res);
	else if (yima_tx_begin(r->srv->st, 1, &tx) != 0)
		return unavailable(r);
	if (tx == NULL)
		return res;
	if ((rc = finish(tx, yima_tx_freeze_set(tx, kind, id, frozen,
	    reason[0] ? reason : NULL))) != 0)
		return unavailable(r);
	return api_reply_json(r, 200, json_pack("{s:s,s:s,s:b}", kind, id,
	    "kind", kind, "frozen", frozen));
}

static json_t *
claim_json(const struct yima_claim *c)
{
	char at[40];

	api_rfc3339(c->at, at, sizeof(at));
	return json_pack("{s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:s?}", "id",
	    (json_int_t)c->id, "serial", (json_int_t)c->serial, "campaign",
	    (json_int_t)c->campaign, "consumer", c->consumer, "network",
	    c->network, "at", at, "status", c->status, "scan_id",
	    (json_int_t)c->scan_id, "points", (json_int_t)c->points,
	    "variant", c->variant[0] ? c->variant : NULL);
}

static void
add_claim(void *ctx, const struct yima_claim *c)
{
	json_array_append_new(ctx, claim_json(c));
}

/*
 * POST /api/v1/admin/claims/{id}/release|reject {"reason"}: a held
 * claim reviewed (admin); the reason and who are kept with it.
 */
static enum MHD_Result
claim_review(struct api_req *r, int release)
{
	struct yima_claim c;
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	json_t *body, *v;
	char reason[201], who[160];
	int64_t id;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((id = api_path_id(r)) == 0)
		return api_reply_error(r, 404, "not_found", "no such claim");
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	v = json_object_get(body, "reason");
	if (!api_text_ok(v, 200)) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "\"reason\" is "
		    "text of 1 to 200 bytes: why the claim is %s",
		    release ? "released" : "rejected");
	}
	snprintf(reason, sizeof(reason), "%s", json_string_value(v));
	json_decref(body);
	snprintf(who, sizeof(who), "%s (token %lld)", t.name[0] ? t.name :
	    t.role, (long long)t.id);
	if (yima_tx_begin(r->srv->st, 1, &tx) != 0)
		return unavailable(r);
	rc = finish(tx, api_reward_review(&r->srv->cfg.reward, tx, id,
	    release, reason, who, api_now_ms(), &c));
	if (rc == YIMA_ENOENT)
		return api_reply_error(r, 404, "not_found", "no such claim");
	if (rc == YIMA_EEXIST)
		return api_reply_error(r, 409, "not_held", "only a held claim "
		    "is reviewed; this one is %s", strcmp(c.status, "held") ?
		    c.status : "reviewed meanwhile, or an erased consumer's "
		    "(reject it)");
	if (rc != 0)
		return unavailable(r);
	return api_reply_json(r, 200, claim_json(&c));
}

enum MHD_Result
api_route_claim_release(struct api_req *r)
{
	return claim_review(r, 1);
}

enum MHD_Result
api_route_claim_reject(struct api_req *r)
{
	return claim_review(r, 0);
}

struct claims_q {
	const char	*status;
	int		 limit;
};

static int
fill_claims(struct yima_tx *tx, json_t *list, const void *arg)
{
	const struct claims_q *q = arg;

	return yima_tx_claim_list(tx, q->status, q->limit, add_claim, list);
}

enum MHD_Result
api_route_claims(struct api_req *r)
{
	struct yima_token t;
	struct claims_q q;
	enum MHD_Result res;
	long n = 100;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	q.status = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    "status");
	if (q.status != NULL && (strlen(q.status) == 0 ||
	    strlen(q.status) > 23 || strspn(q.status,
	    "abcdefghijklmnopqrstuvwxyz_") != strlen(q.status)))
		return api_reply_error(r, 400, "bad_request", "status is a "
		    "claim status such as held or rate_limited");
	if (api_query_limit(r, CLAIMS_MAX, &n) != 0)
		return api_reply_error(r, 400, "bad_request", "limit is 1 to "
		    "%d", CLAIMS_MAX);
	q.limit = (int)n;
	return api_reply_list(r, "claims", fill_claims, &q);
}
