/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audience's reports: A/B tests (which arm works better), channel
 * funnels (which store or salesperson converts) and lifecycle segments
 * (who is slipping away), each read from counters (audience.c, reward.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yima/err.h"

#include "audience.h"
#include "log.h"
#include "routes.h"

#define DAY_MS		(24LL * 3600 * 1000)
#define SPAN_MAX	366
#define SWEEP_BATCH	10000
#define SWEEPS_MAX	3	/* a report waits for 30,000 moves at most */

static enum MHD_Result
unavailable(struct api_req *r)
{
	return api_reply_error(r, 503, "unavailable",
	    "the store is unavailable");
}

static double
ratio(int64_t a, int64_t b)
{
	return b > 0 ? round((double)a / (double)b * 10000) / 10000 : 0;
}

/* ---- experiments ---- */

struct arms {
	struct yima_ab_arm	 a[YIMA_VARIANTS_MAX];
};

static void
arm_seen(void *ctx, const struct yima_ab_arm *a)
{
	struct arms *x = ctx;

	if (a->arm >= 0 && a->arm < YIMA_VARIANTS_MAX)
		x->a[a->arm] = *a;
}

/*
 * The difference of proportions x2/n2 - x1/n1, its 95% confidence
 * interval (unpooled) and the two-sided p-value of the two-proportion
 * z-test (pooled). NULL when an arm has nobody.
 */
static json_t *
compare(int64_t x1, int64_t n1, int64_t x2, int64_t n2, double *p_out)
{
	double p1, p2, d, pp, se, seu, z, p;

	*p_out = 1;
	if (n1 <= 0 || n2 <= 0)
		return json_null();
	p1 = (double)x1 / (double)n1;
	p2 = (double)x2 / (double)n2;
	d = p2 - p1;
	pp = (double)(x1 + x2) / (double)(n1 + n2);
	se = sqrt(pp * (1 - pp) * (1.0 / (double)n1 + 1.0 / (double)n2));
	seu = sqrt(p1 * (1 - p1) / (double)n1 + p2 * (1 - p2) / (double)n2);
	z = se > 0 ? d / se : 0;
	p = se > 0 ? erfc(fabs(z) / sqrt(2.0)) : 1;
	*p_out = p;
	return json_pack("{s:f,s:[f,f],s:f,s:f}", "difference",
	    round(d * 1e6) / 1e6, "ci95", round((d - 1.959964 * seu) * 1e6) /
	    1e6, round((d + 1.959964 * seu) * 1e6) / 1e6, "z",
	    round(z * 1e4) / 1e4, "p_value", p);
}

/* GET /api/v1/reports/experiments/{campaign} (admin). */
enum MHD_Result
api_route_report_experiment(struct api_req *r)
{
	struct yima_campaign *c;
	struct yima_token t;
	struct yima_tx *tx = NULL;
	struct yima_ab_arm *a, *first;
	struct arms x;
	enum MHD_Result res;
	json_t *rows, *o;
	char as_of[40];
	double p, pr, best_rate = -1;
	int64_t id;
	size_t i;
	int rc, best = -1, enough = 1, winner = 0;
	int ab_min = API_LIVE(r->srv->cfg.ab_min);	/* one value a report */

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((id = api_path_id(r)) == 0)
		return api_reply_error(r, 404, "not_found", "no such campaign");
	if ((c = malloc(sizeof(*c))) == NULL)
		return unavailable(r);
	memset(&x, 0, sizeof(x));
	if ((rc = yima_tx_begin(r->srv->st, 0, &tx)) == 0 &&
	    (rc = yima_tx_campaign_get(tx, id, c)) == 0)
		rc = yima_tx_ab_arms(tx, id, arm_seen, &x);
	yima_tx_rollback(tx);
	if (rc == YIMA_ENOENT || (rc == 0 && c->nvariants == 0)) {
		free(c);
		return api_reply_error(r, 404, "not_found", rc ? "no such "
		    "campaign" : "the campaign has no variants (no A/B test)");
	}
	if (rc != 0) {
		free(c);
		return unavailable(r);
	}
	rows = json_array();
	first = &x.a[0];
	for (i = 0; i < c->nvariants; i++) {
		a = &x.a[i];
		if (a->exposed < ab_min)
			enough = 0;
		o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:f,s:I,s:f,s:I,s:I}",
		    "variant", c->variants[i].name, "weight",
		    (json_int_t)c->variants[i].weight, "exposed",
		    (json_int_t)a->exposed, "claimers", (json_int_t)a->claimers,
		    "claims", (json_int_t)a->claims, "claim_rate",
		    ratio(a->claimers, a->exposed), "repeat_buyers",
		    (json_int_t)a->repeaters, "repeat_rate",
		    ratio(a->repeaters, a->exposed), "cost_cents",
		    (json_int_t)a->cents, "points", (json_int_t)a->points);
		json_object_set_new(o, "cost_per_claim_cents", a->claims > 0 ?
		    json_real(round((double)a->cents / (double)a->claims *
		    100) / 100) : json_null());
		json_object_set_new(o, "cost_per_repeat_buyer_cents",
		    a->repeaters > 0 ? json_real(round((double)a->cents /
		    (double)a->repeaters * 100) / 100) : json_null());
		if (i > 0) {
			json_object_set_new(o, "vs_first", json_pack("{s:o,s:o}",
			    "claim_rate", compare(first->claimers,
			    first->exposed, a->claimers, a->exposed, &p),
			    "repeat_rate", compare(first->repeaters,
			    first->exposed, a->repeaters, a->exposed, &pr)));
		}
		if (a->exposed > 0 && ratio(a->claimers, a->exposed) >
		    best_rate) {
			best_rate = ratio(a->claimers, a->exposed);
			best = (int)i;
		}
		json_array_append_new(rows, o);
	}
	o = json_pack("{s:I,s:s,s:s,s:i,s:o,s:n}", "campaign", (json_int_t)id,
	    "name", c->name, "metric", "claim_rate", "ab_min",
	    ab_min, "variants", rows, "winner");
	/*
	 * A winner only when the test has its size, and the best arm beats
	 * every other one at p < 0.05 / (arms - 1) (Bonferroni: k - 1 tests).
	 */
	for (i = 0, winner = enough && best >= 0; winner && i < c->nvariants;
	    i++) {
		if ((int)i == best)
			continue;
		json_decref(compare(x.a[i].claimers, x.a[i].exposed,
		    x.a[best].claimers, x.a[best].exposed, &p));
		winner = p < 0.05 / (double)(c->nvariants - 1) &&
		    ratio(x.a[i].claimers, x.a[i].exposed) < best_rate;
	}
	if (winner)
		json_object_set_new(o, "winner",
		    json_string(c->variants[best].name));
	api_rfc3339(api_now_ms(), as_of, sizeof(as_of));
	json_object_set_new(o, "as_of", json_string(as_of));
	free(c);
	return api_reply_json(r, 200, o);
}

/* ---- channel funnels ---- */

struct funnel {
	json_t		*rows;
	int64_t		 scans, bound, claimed, repeats, commission;
};

static void
funnel_row(void *ctx, const struct yima_funnel_row *f)
{
	struct funnel *x = ctx;
	char serial[24];

	snprintf(serial, sizeof(serial), "%llu",
	    (unsigned long long)f->channel.serial);
	json_array_append_new(x->rows, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,"
	    "s:I,s:I,s:I,s:f,s:f}", "channel", serial, "type",
	    f->channel.type, "name", f->channel.name, "dealer",
	    f->channel.dealer, "scans", (json_int_t)f->scans, "bound",
	    (json_int_t)f->bound, "claimed", (json_int_t)f->claimed,
	    "repeat_buyers", (json_int_t)f->repeats, "commission_points",
	    (json_int_t)f->commission, "claim_rate", ratio(f->claimed,
	    f->bound), "repeat_rate", ratio(f->repeats, f->claimed)));
	x->scans += f->scans;
	x->bound += f->bound;
	x->claimed += f->claimed;
	x->repeats += f->repeats;
	x->commission += f->commission;
}

/* Ranked: most consumers who claimed, then bound, then scans. */
static int
rank_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	static const char *const keys[] = { "claimed", "bound", "scans" };
	json_int_t u, v;
	size_t i;

	for (i = 0; i < 3; i++) {
		u = json_integer_value(json_object_get(x, keys[i]));
		v = json_integer_value(json_object_get(y, keys[i]));
		if (u != v)
			return u > v ? -1 : 1;
	}
	return strcmp(json_string_value(json_object_get(x, "channel")),
	    json_string_value(json_object_get(y, "channel")));
}

static int
funnel_csv(struct yima_buf *b, json_t *rows)
{
	static const char *const num[] = { "scans", "bound", "claimed",
	    "repeat_buyers", "commission_points" };
	json_t *o;
	size_t i, k;
	int rc;

	if ((rc = yima_buf_puts(b, "rank,channel,type,name,dealer,scans,"
	    "bound,claimed,repeat_buyers,commission_points,claim_rate,"
	    "repeat_rate\r\n")) != 0)
		return rc;
	json_array_foreach(rows, i, o) {
		rc = yima_buf_printf(b, "%zu,%s,%s,", i + 1,
		    json_string_value(json_object_get(o, "channel")),
		    json_string_value(json_object_get(o, "type")));
		if (rc == 0)
			rc = api_csv_field(b, json_string_value(
			    json_object_get(o, "name")));
		if (rc == 0 && (rc = yima_buf_puts(b, ",")) == 0)
			rc = api_csv_field(b, json_string_value(
			    json_object_get(o, "dealer")));
		for (k = 0; rc == 0 && k < 5; k++)
			rc = yima_buf_printf(b, ",%lld", (long long)
			    json_integer_value(json_object_get(o, num[k])));
		if (rc == 0)
			rc = yima_buf_printf(b, ",%.4f,%.4f\r\n",
			    json_real_value(json_object_get(o, "claim_rate")),
			    json_real_value(json_object_get(o,
			    "repeat_rate")));
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* GET /api/v1/reports/channels?from&to[&type][&format=csv]. */
enum MHD_Result
api_route_report_channels(struct api_req *r)
{
	static const char *const csv_hdr[] = { "Cache-Control", "no-store",
	    "Content-Disposition", "attachment; filename=\"channels.csv\"",
	    NULL };
	struct yima_token t;
	struct yima_tx *tx = NULL;
	struct yima_buf b = YIMA_BUF_INIT;
	struct funnel x;
	enum MHD_Result res;
	const char *type, *fmt;
	json_t **v, *o;
	int64_t today = (api_now_ms() + YIMA_DAY_OFFSET_MS) / DAY_MS, from, to;
	char a[16], z[16], as_of[40];
	size_t i, n;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_DEALER, &t, &res))
		return res;
	if (api_query_day(r, "to", today, &to) != 0 ||
	    api_query_day(r, "from", to - 29, &from) != 0 || from > to ||
	    to - from >= SPAN_MAX)
		return api_reply_error(r, 400, "bad_request", "from and to are "
		    "dates YYYY-MM-DD (China time), from <= to, at most %d "
		    "days", SPAN_MAX);
	type = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    "type");
	if (type != NULL && strcmp(type, "store") && strcmp(type, "staff") &&
	    strcmp(type, "dealer"))
		return api_reply_error(r, 400, "bad_request", "type is store, "
		    "staff or dealer");
	fmt = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    "format");
	if (fmt != NULL && strcmp(fmt, "json") && strcmp(fmt, "csv"))
		return api_reply_error(r, 400, "bad_request", "format is json "
		    "or csv");
	memset(&x, 0, sizeof(x));
	x.rows = json_array();
	if ((rc = yima_tx_begin(r->srv->st, 0, &tx)) == 0)
		rc = yima_tx_funnel_rows(tx, strcmp(t.role, "dealer") == 0 ?
		    t.dealer : NULL, type, from, to, funnel_row, &x);
	yima_tx_rollback(tx);
	if (rc != 0) {
		json_decref(x.rows);
		return unavailable(r);
	}
	/* Ranked in a copy of the list, then put back in that order. */
	n = json_array_size(x.rows);
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		json_decref(x.rows);
		return unavailable(r);
	}
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(x.rows, i));
	qsort(v, n, sizeof(*v), rank_cmp);
	json_array_clear(x.rows);
	for (i = 0; i < n; i++) {
		json_object_set_new(v[i], "rank", json_integer((json_int_t)i +
		    1));
		json_array_append_new(x.rows, v[i]);
	}
	free(v);
	if (fmt != NULL && strcmp(fmt, "csv") == 0) {
		rc = funnel_csv(&b, x.rows);
		json_decref(x.rows);
		if (rc != 0) {
			yima_buf_free(&b);
			return unavailable(r);
		}
		res = api_reply(r, 200, "text/csv; charset=utf-8", b.data,
		    b.len, csv_hdr);
		yima_buf_free(&b);
		return res;
	}
	api_day_text(from, a, sizeof(a));
	api_day_text(to, z, sizeof(z));
	api_rfc3339(api_now_ms(), as_of, sizeof(as_of));
	o = json_pack("{s:s,s:s,s:s,s:o,s:{s:I,s:I,s:I,s:I,s:I}}", "from", a,
	    "to", z, "as_of", as_of, "rows", x.rows, "funnel", "scans",
	    (json_int_t)x.scans, "bound", (json_int_t)x.bound, "claimed",
	    (json_int_t)x.claimed, "repeat_buyers", (json_int_t)x.repeats,
	    "commission_points", (json_int_t)x.commission);
	return api_reply_json(r, 200, o);
}

/* ---- segments ---- */

static const char *const stages[] = { "new", "active", "at_risk",
    "lapsed" };

/* Who may see a region: an admin all (under prefix), a dealer its
 * territory. */
struct scope {
	const char	*prefix;
	int		 dealer;
	char		 terr[YIMA_TERRITORY_MAX][7];
	size_t		 nterr;
};

static int
in_scope(struct scope *s, const char *region)
{
	if (strncmp(region, s->prefix, strlen(s->prefix)) != 0)
		return 0;
	return !s->dealer || (region[0] != '\0' &&
	    api_territory_holds(region, s->terr, s->nterr));
}

struct segs {
	struct scope	*scope;
	struct api_server	*srv;
	json_t			*rows, *moves, *stages, *tiers;
	int64_t			 other;	/* a dealer's cells too small */
	int			 min;
};

static void
seg_count(void *ctx, const char *region, const char *stage,
    const char *tier, int64_t n)
{
	struct segs *x = ctx;
	const char *name;
	json_t *o;

	if (!in_scope(x->scope, region))
		return;
	/* A dealer cannot single out a few shoppers of a place: small cells
	 * count in no total, only in "other" (itself sent when not small). */
	if (n < x->min) {
		x->other += n;
		return;
	}
	json_object_set_new(x->stages, stage, json_integer(
	    json_integer_value(json_object_get(x->stages, stage)) + n));
	json_object_set_new(x->tiers, tier, json_integer(
	    json_integer_value(json_object_get(x->tiers, tier)) + n));
	o = json_pack("{s:s?,s:s,s:s,s:I}", "region", region[0] ? region :
	    NULL, "stage", stage, "tier", tier, "consumers", (json_int_t)n);
	if (region[0] != '\0' && x->srv->geo != NULL &&
	    (name = yima_geo_name(x->srv->geo, region)) != NULL)
		json_object_set_new(o, "region_name", json_string(name));
	json_array_append_new(x->rows, o);
}

static void
seg_move(void *ctx, int64_t month, const char *region, const char *src,
    const char *dst, int64_t n)
{
	struct segs *x = ctx;
	char key[64], m[24];
	json_t *o;
	size_t i;

	if (!in_scope(x->scope, region) || n < x->min)
		return;
	snprintf(m, sizeof(m), "%04lld-%02lld", (long long)(month / 100),
	    (long long)(month % 100));
	snprintf(key, sizeof(key), "%s %s>%s", m, src, dst);
	/* Summed over regions: rows are few (months x moves). */
	json_array_foreach(x->moves, i, o)
		if (strcmp(json_string_value(json_object_get(o, "key")),
		    key) == 0) {
			json_object_set_new(o, "consumers", json_integer(
			    json_integer_value(json_object_get(o,
			    "consumers")) + n));
			return;
		}
	json_array_append_new(x->moves, json_pack("{s:s,s:s,s:s?,s:s,s:I}",
	    "key", key, "month", m, "from", src[0] ? src : NULL, "to", dst,
	    "consumers", (json_int_t)n));
}

/*
 * Brings stages up to now first: time moves consumers nobody scanned. The
 * writer's upkeep does the same every minute, so a sweep that fails (a
 * busy writer) or stops short leaves counts a little behind, not wrong.
 */
static void
sweep(struct api_req *r)
{
	int n = SWEEP_BATCH, i, rc = 0;

	for (i = 0; i < SWEEPS_MAX && n == SWEEP_BATCH && rc == 0; i++)
		rc = api_audience_sweep(r->srv->st, api_now_ms(), SWEEP_BATCH,
		    &n);
}

/* The scope of a request: region=PREFIX, and a dealer's territory. */
static int
scope_of(struct api_req *r, const struct yima_token *t, struct scope *s,
    char prefix[7], enum MHD_Result *res)
{
	const char *v = MHD_lookup_connection_value(r->conn,
	    MHD_GET_ARGUMENT_KIND, "region");
	struct yima_tx *tx;
	int rc;

	memset(s, 0, sizeof(*s));
	prefix[0] = '\0';
	if (v != NULL && api_region_arg(v, prefix) != 0) {
		*res = api_reply_error(r, 400, "bad_request", "region is a "
		    "GB/T 2260 code or prefix (2, 4 or 6 digits)");
		return -1;
	}
	s->prefix = prefix;
	if (strcmp(t->role, "dealer") != 0)
		return 0;
	s->dealer = 1;
	if ((rc = yima_tx_begin(r->srv->st, 0, &tx)) == 0)
		rc = yima_tx_territory_of(tx, t->dealer, s->terr,
		    YIMA_TERRITORY_MAX, &s->nterr, NULL);
	yima_tx_rollback(tx);
	if (rc != 0) {
		*res = unavailable(r);
		return -1;
	}
	return 0;
}

/* GET /api/v1/reports/segments?region=PREFIX. */
enum MHD_Result
api_route_report_segments(struct api_req *r)
{
	struct yima_token t;
	struct yima_tx *tx = NULL;
	struct scope sc;
	struct segs x;
	enum MHD_Result res;
	json_t *o;
	char prefix[7], as_of[40];
	int64_t now, month;
	size_t i;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_DEALER, &t, &res))
		return res;
	if (scope_of(r, &t, &sc, prefix, &res) != 0)
		return res;
	sweep(r);
	now = api_now_ms();
	month = api_month_of(now);
	/* The moves of this month and the eleven before. */
	month = month % 100 == 12 ? month - 11 : (month / 100 - 1) * 100 +
	    month % 100 + 1;
	memset(&x, 0, sizeof(x));
	x.scope = &sc;
	x.srv = r->srv;
	x.min = sc.dealer ? API_LIVE(r->srv->cfg.min_report_count) : 1;
	x.rows = json_array();
	x.moves = json_array();
	x.stages = json_object();
	x.tiers = json_object();
	for (i = 0; i < 4; i++)
		json_object_set_new(x.stages, stages[i], json_integer(0));
	if ((rc = yima_tx_begin(r->srv->st, 0, &tx)) == 0 &&
	    (rc = yima_tx_segment_counts(tx, "", seg_count, &x)) == 0)
		rc = yima_tx_segment_moves(tx, "", month, seg_move, &x);
	yima_tx_rollback(tx);
	json_array_foreach(x.moves, i, o)
		json_object_del(o, "key");
	api_rfc3339(now, as_of, sizeof(as_of));
	o = json_pack("{s:s,s:s?,s:o,s:o,s:o,s:o}", "as_of", as_of, "region",
	    prefix[0] ? prefix : NULL, "stages", x.stages, "tiers", x.tiers,
	    "rows", x.rows, "moves", x.moves);
	if (o != NULL && sc.dealer && x.other >= x.min)
		json_object_set_new(o, "other", json_integer(x.other));
	if (rc != 0) {
		json_decref(o);
		return unavailable(r);
	}
	return api_reply_json(r, 200, o);
}

struct listing {
	struct scope		*scope;
	struct yima_buf		 b;
	size_t			 n;		/* rows read */
	char			 last[25];	/* the last id read */
	int			 err;
};

static void
list_row(void *ctx, const struct yima_segment *s)
{
	struct listing *x = ctx;
	char day[16];

	x->n++;
	memcpy(x->last, s->consumer, sizeof(x->last));
	if (!in_scope(x->scope, s->region))
		return;
	api_day_text((s->last_at + YIMA_DAY_OFFSET_MS) / DAY_MS, day,
	    sizeof(day));
	if (yima_buf_printf(&x->b, "%s,%s,", s->consumer, s->stage) != 0 ||
	    api_csv_field(&x->b, s->tier) != 0 ||
	    yima_buf_printf(&x->b, ",%s,%s\r\n", s->region, day) != 0)
		x->err = 1;
}

#define LIST_MAX	100000	/* consumers a listing answers at once */

/*
 * GET /api/v1/admin/segments/{stage}/consumers[?region][&after=ID]
 * [&limit=N] (admin; logged): a page of ids at most, a Link to the next.
 */
enum MHD_Result
api_route_segment_consumers(struct api_req *r)
{
	char link[160];
	const char *csv_hdr[] = { "Cache-Control", "no-store",
	    "Content-Disposition", "attachment; filename=\"consumers.csv\"",
	    NULL, NULL, NULL };
	struct yima_token t;
	struct yima_tx *tx = NULL;
	struct listing x;
	struct scope sc;
	enum MHD_Result res;
	const char *fmt, *after;
	char prefix[7], msg[256];
	long limit = LIST_MAX;
	size_t i;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	for (i = 0; i < 4; i++)
		if (strcmp(r->param, stages[i]) == 0)
			break;
	if (i == 4)
		return api_reply_error(r, 404, "not_found", "the stages are "
		    "new, active, at_risk and lapsed");
	fmt = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    "format");
	if (fmt != NULL && strcmp(fmt, "csv") != 0)
		return api_reply_error(r, 400, "bad_request", "format is csv");
	after = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    "after");
	if (after != NULL && (strlen(after) != API_CONSUMER_ID_LEN ||
	    strspn(after, "0123456789abcdef") != API_CONSUMER_ID_LEN))
		return api_reply_error(r, 400, "bad_request", "after is a "
		    "consumer id (24 hex) from the page before");
	if (api_query_limit(r, LIST_MAX, &limit) != 0)
		return api_reply_error(r, 400, "bad_request", "limit is 1 to "
		    "%d", LIST_MAX);
	if (scope_of(r, &t, &sc, prefix, &res) != 0)
		return res;
	sweep(r);
	memset(&x, 0, sizeof(x));
	x.scope = &sc;
	if (yima_buf_puts(&x.b, "consumer,stage,tier,region,last_scan\r\n"))
		x.err = 1;
	if ((rc = yima_tx_begin(r->srv->st, 0, &tx)) == 0)
		rc = yima_tx_segment_list(tx, stages[i], prefix, after ?
		    after : "", (int)limit, list_row, &x);
	yima_tx_rollback(tx);
	if (rc != 0 || x.err) {
		yima_buf_free(&x.b);
		return unavailable(r);
	}
	/* Who took which list of people, for the record. */
	snprintf(msg, sizeof(msg), "token %lld (%s) listed %zu %s consumers"
	    "%s%s", (long long)t.id, t.name, x.n, stages[i], prefix[0] ?
	    " under region " : "", prefix);
	api_log_event(r->srv->log, "segment_export", msg);
	/* A full page may have more after it. */
	if (x.n == (size_t)limit) {
		snprintf(link, sizeof(link), "</api/v1/admin/segments/%s/"
		    "consumers?format=csv&limit=%ld&after=%s%s%s>; rel=\"next\"",
		    stages[i], limit, x.last, prefix[0] ? "&region=" : "",
		    prefix);
		csv_hdr[4] = "Link";
		csv_hdr[5] = link;
	}
	res = api_reply(r, 200, "text/csv; charset=utf-8", x.b.data, x.b.len,
	    csv_hdr);
	yima_buf_free(&x.b);
	return res;
}
