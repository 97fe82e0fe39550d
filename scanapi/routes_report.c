/* SPDX-License-Identifier: Apache-2.0 */
/* Report routes: scans by day, region, SKU or dealer, from the rollups. */
#include <stdio.h>
#include <string.h>

#include "yima/err.h"
#include "yima/geo.h"
#include "yima/validate.h"

#include "product.h"
#include "routes.h"

#define DAY_MS		(24LL * 3600 * 1000)
#define SPAN_MAX	366	/* days in one report */

struct report {
	enum yima_report_by	 by;
	int			 csv;
	const struct yima_geo	*geo;		/* region names; may be NULL */
	json_t			*rows;
	struct yima_buf		 out;
	int			 err;
	struct api_server	*srv;	/* SKUs named from its products */
	struct yima_tx		*tx;
};

static const char *const by_names[] = { "day", "region", "sku", "dealer" };

void
api_day_text(int64_t day, char *out, size_t len)
{
	char t[40];

	api_rfc3339(day * DAY_MS, t, sizeof(t));
	snprintf(out, len, "%.10s", t);
}

/*
 * A dealer id "-A1" or a name "=HYPERLINK(...)" would run as a formula
 * in the spreadsheet that opens the download: such a cell becomes the
 * text "'-A1" (OWASP's CSV injection advice).
 */
int
api_csv_field(struct yima_buf *b, const char *s)
{
	int formula = s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
	const char *p;
	size_t n;
	int rc;

	if (!formula && strpbrk(s, ",\"\r\n") == NULL)
		return yima_buf_puts(b, s);
	rc = yima_buf_puts(b, formula ? "\"'" : "\"");
	for (p = s; rc == 0 && *p != '\0'; p += n) {
		/* Runs without a quote as they are; a quote doubled. */
		if ((n = strcspn(p, "\"")) == 0) {
			rc = yima_buf_puts(b, "\"\"");
			n = 1;
		} else
			rc = yima_buf_append(b, p, n);
	}
	return rc == 0 ? yima_buf_puts(b, "\"") : rc;
}

/* Rows of regions and SKUs carry a name (CSV: a column). */
static int
named(enum yima_report_by by)
{
	return by == YIMA_BY_REGION || by == YIMA_BY_SKU;
}

static void
add_row(void *ctx, const struct yima_report_row *w)
{
	struct report *rp = ctx;
	char key[YIMA_DEALER_ID_MAX + 1];
	double ratio = w->scans > 0 ? (double)w->genuine / (double)w->scans :
	    0;
	const char *name = NULL;
	json_t *o, *product = NULL;

	if (w->other)	/* the cells too small to show, summed */
		snprintf(key, sizeof(key), "other");
	else if (rp->by == YIMA_BY_DAY)
		api_day_text(w->day, key, sizeof(key));
	else
		snprintf(key, sizeof(key), "%s", w->key);
	/* A region is named in the data the service locates scans with. */
	if (rp->by == YIMA_BY_REGION && rp->geo != NULL && key[0] != '\0' &&
	    !w->other)
		name = yima_geo_name(rp->geo, key);
	/* A SKU by its product's name, when it has one. */
	if (rp->by == YIMA_BY_SKU && key[0] != '\0' && !w->other &&
	    (product = api_products_get(rp->srv->products, rp->srv->st,
	    rp->tx, key)) != NULL)
		name = json_string_value(json_object_get(product, "name"));
	/* Four decimals: a ratio, not a float's last digits. */
	ratio = (double)(long long)(ratio * 10000 + 0.5) / 10000;
	if (rp->csv) {
		if (api_csv_field(&rp->out, key) != 0 || (named(rp->by) &&
		    (yima_buf_puts(&rp->out, ",") != 0 || api_csv_field(&rp->out,
		    name != NULL ? name : "") != 0)) || yima_buf_printf(&rp->out,
		    ",%lld,%lld,%lld,%lld,%.4f,%lld,%lld\r\n",
		    (long long)w->scans, (long long)w->genuine,
		    (long long)w->repeat, (long long)w->suspect, ratio,
		    (long long)w->consumers, (long long)w->claims) != 0)
			rp->err = 1;
		json_decref(product);
		return;
	}
	o = json_pack("{s:I,s:I,s:I,s:I,s:f,s:I,s:I}", "scans",
	    (json_int_t)w->scans, "genuine", (json_int_t)w->genuine, "repeat",
	    (json_int_t)w->repeat, "suspect", (json_int_t)w->suspect,
	    "first_scan_ratio", ratio, "consumers", (json_int_t)w->consumers,
	    "claims", (json_int_t)w->claims);
	if (o == NULL) {
		rp->err = 1;
		json_decref(product);
		return;
	}
	if (!w->consumers_exact)	/* past 128 consumers: ~3% error */
		json_object_set_new(o, "consumers_estimated", json_true());
	/* An unknown region, SKU or owner is null, not "". */
	json_object_set_new(o, by_names[rp->by], key[0] ? json_string(key) :
	    json_null());
	if (name != NULL)
		json_object_set_new(o, "name", json_string(name));
	if (json_object_get(product, "names") != NULL)
		json_object_set(o, "names", json_object_get(product, "names"));
	json_decref(product);
	json_array_append_new(rp->rows, o);
}

/* A query value, or NULL; *bad when present but over max bytes. */
static const char *
arg(struct api_req *r, const char *key, size_t max, int *bad)
{
	const char *v = MHD_lookup_connection_value(r->conn,
	    MHD_GET_ARGUMENT_KIND, key);

	if (v != NULL && (v[0] == '\0' || strlen(v) > max))
		*bad = 1;
	return v;
}

int
api_query_day(struct api_req *r, const char *key, int64_t def, int64_t *day)
{
	const char *v = MHD_lookup_connection_value(r->conn,
	    MHD_GET_ARGUMENT_KIND, key);
	long days;

	if (v == NULL) {
		*day = def;
		return 0;
	}
	if (strlen(v) > 10 || yima_date_parse(v, &days, NULL) != 0)
		return -1;
	*day = days;
	return 0;
}

int
api_region_arg(const char *v, char out[7])
{
	size_t n = v != NULL ? strlen(v) : 0;

	if (v == NULL || (n != 2 && n != 4 && n != 6) ||
	    strspn(v, "0123456789") != n)
		return -1;
	memcpy(out, v, n + 1);
	if (n == 6 && strcmp(out + 4, "00") == 0)
		out[n = 4] = '\0';
	if (n == 4 && strcmp(out + 2, "00") == 0)
		out[2] = '\0';
	return 0;
}

enum MHD_Result
api_route_report_scans(struct api_req *r)
{
	static const char *const csv_hdr[] = { "Cache-Control", "no-store",
	    "Content-Disposition", "attachment; filename=\"scans.csv\"", NULL };
	struct yima_report_q q;
	struct yima_token t;
	struct yima_dealer d;
	struct yima_tx *tx = NULL;
	struct report rp;
	enum MHD_Result res;
	const char *by, *dealer, *region, *fmt;
	char region_buf[7], as_of[40], a[16], b[16];
	int64_t now = api_now_ms(), today, last = 0;
	int bad = 0, under, rc, i;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_DEALER, &t, &res))
		return res;
	by = arg(r, "by", 6, &bad);
	dealer = arg(r, "dealer", YIMA_DEALER_ID_MAX, &bad);
	region = arg(r, "region", 6, &bad);
	fmt = arg(r, "format", 4, &bad);
	memset(&q, 0, sizeof(q));
	today = (now + YIMA_DAY_OFFSET_MS) / DAY_MS;
	if (bad || api_query_day(r, "to", today, &q.to_day) != 0 ||
	    api_query_day(r, "from", q.to_day - 29, &q.from_day) != 0 ||
	    q.from_day > q.to_day || q.to_day - q.from_day >= SPAN_MAX)
		return api_reply_error(r, 400, "bad_request", "from and to are "
		    "dates YYYY-MM-DD (China time), from <= to, at most %d "
		    "days", SPAN_MAX);
	for (i = 0, q.by = YIMA_BY_DAY; by != NULL && i < 4; i++)
		if (strcmp(by, by_names[i]) == 0)
			break;
	if (by != NULL && i == 4)
		return api_reply_error(r, 400, "bad_request", "by is day, "
		    "region, sku or dealer");
	if (by != NULL)
		q.by = (enum yima_report_by)i;
	if (region != NULL) {
		if (api_region_arg(region, region_buf) != 0)
			return api_reply_error(r, 400, "bad_request", "region "
			    "is a GB/T 2260 code or prefix (2, 4 or 6 digits)");
		q.region = region_buf;
	}
	if (fmt != NULL && strcmp(fmt, "json") != 0 && strcmp(fmt, "csv"))
		return api_reply_error(r, 400, "bad_request", "format is json "
		    "or csv");
	q.root = strcmp(t.role, "dealer") == 0 ? t.dealer : NULL;
	/* A dealer cannot single out a shopper; an admin sees every cell. */
	q.min_consumers = q.root != NULL ?
	    API_LIVE(r->srv->cfg.min_report_count) : 1;
	if ((rc = yima_tx_begin(r->srv->st, 0, &tx)) != 0)
		goto fail;
	if (dealer != NULL) {
		/*
		 * Admins pick any dealer (404 if unknown); a dealer only its
		 * own subtree, and learns nothing of ids outside it (403).
		 */
		under = 1;
		if (q.root != NULL && (rc = yima_tx_dealer_under(tx, q.root,
		    dealer, &under)) != 0)
			goto fail;
		if (!under) {
			yima_tx_rollback(tx);
			return api_reply_error(r, 403, "forbidden", "that dealer "
			    "is outside your own");
		}
		if ((rc = yima_tx_dealer_get(tx, dealer, &d)) == YIMA_ENOENT) {
			yima_tx_rollback(tx);
			return api_reply_error(r, 404, "not_found",
			    "no such dealer");
		}
		if (rc != 0)
			goto fail;
		q.root = dealer;
	}
	memset(&rp, 0, sizeof(rp));
	rp.by = q.by;
	rp.csv = fmt != NULL && strcmp(fmt, "csv") == 0;
	rp.rows = json_array();
	rp.geo = r->srv->geo;
	rp.srv = r->srv;
	rp.tx = tx;
	if (rp.csv && (yima_buf_puts(&rp.out, by_names[q.by]) != 0 ||
	    (named(q.by) && yima_buf_puts(&rp.out, ",name") != 0) ||
	    yima_buf_puts(&rp.out, ",scans,genuine,repeat,suspect,"
	    "first_scan_ratio,consumers,claims\r\n") != 0))
		rp.err = 1;
	/* One read transaction: the rows and as_of are one snapshot. */
	if ((rc = yima_tx_last_scan(tx, &last)) == 0) {
		now = api_now_ms();	/* the snapshot is taken by now */
		rc = yima_tx_report_scans(tx, &q, add_row, &rp);
	}
	yima_tx_rollback(tx);
	tx = NULL;
	if (rc != 0 || rp.err) {
		json_decref(rp.rows);
		yima_buf_free(&rp.out);
		goto fail;
	}
	api_rfc3339(now, as_of, sizeof(as_of));
	if (rp.csv) {
		json_decref(rp.rows);
		res = api_reply(r, 200, "text/csv; charset=utf-8", rp.out.data,
		    rp.out.len, csv_hdr);
		yima_buf_free(&rp.out);
		return res;
	}
	api_day_text(q.from_day, a, sizeof(a));
	api_day_text(q.to_day, b, sizeof(b));
	return api_reply_json(r, 200, json_pack("{s:o,s:s,s:I,s:s,s:s,s:s}",
	    "rows", rp.rows, "as_of", as_of, "through_scan_id",
	    (json_int_t)last, "from", a, "to", b, "by", by_names[q.by]));
fail:
	yima_tx_rollback(tx);
	return api_reply_error(r, 503, "unavailable",
	    "the store is unavailable");
}

/* ---- alerts ---- */

struct window_counts {
	json_t	*map;		/* region -> [scans, suspect] */
};

static void
count_region(void *ctx, const struct yima_report_row *w)
{
	struct window_counts *wc = ctx;

	if (w->key[0] != '\0')
		json_object_set_new(wc->map, w->key, json_pack("[I,I]",
		    (json_int_t)w->scans, (json_int_t)w->suspect));
}

static json_int_t
nth(json_t *map, const char *key, size_t i)
{
	return json_integer_value(json_array_get(json_object_get(map, key),
	    i));
}

/* The percentage change from prev to cur, one decimal. */
static double
change_pct(json_int_t prev, json_int_t cur)
{
	double v = prev > 0 ? 100.0 * (double)(cur - prev) / (double)prev : 0;

	return (double)(long long)(v * 10 + (v < 0 ? -0.5 : 0.5)) / 10;
}

struct alerts {
	json_t				*list;
	const struct api_config		*cfg;
	json_t				*window;
	json_t				*owners;	/* owner -> [consumer, store,
							 * unverified] */
};

static void
channel_alert(void *ctx, const struct yima_channel *c, int64_t cur,
    int64_t prev)
{
	struct alerts *al = ctx;
	char why[256];

	if (prev < API_LIVE(al->cfg->trend_min) || cur * 100 > prev *
	    (100 - API_LIVE(al->cfg->trend_drop)))
		return;
	snprintf(why, sizeof(why), "scans by consumers of %s %s fell from "
	    "%lld to %lld (%.1f%%, alert at -%d%% from %d scans)", c->type,
	    c->name, (long long)prev, (long long)cur,
	    change_pct((json_int_t)prev, (json_int_t)cur),
	    API_LIVE(al->cfg->trend_drop), API_LIVE(al->cfg->trend_min));
	json_array_append_new(al->list, json_pack("{s:s,s:{s:I,s:s,s:s,s:s},"
	    "s:I,s:I,s:f,s:O,s:s}", "type", "falling_trend", "channel",
	    "serial", (json_int_t)c->serial, "type", c->type, "name", c->name,
	    "dealer", c->dealer, "current", (json_int_t)cur, "previous",
	    (json_int_t)prev, "change_pct", change_pct((json_int_t)prev,
	    (json_int_t)cur), "window", al->window, "why", why));
}

static void
count_owner(void *ctx, const struct yima_diversion *d, int64_t n)
{
	struct alerts *al = ctx;
	size_t i = strcmp(d->evidence, "store") == 0 ? 1 :
	    strcmp(d->evidence, "unverified") == 0 ? 2 : 0;
	json_t *o;

	if (d->uncertain)
		return;
	if ((o = json_object_get(al->owners, d->owner)) == NULL) {
		o = json_pack("[i,i,i]", 0, 0, 0);
		json_object_set_new(al->owners, d->owner, o);
	}
	json_array_set_new(o, i, json_integer(json_integer_value(
	    json_array_get(o, i)) + n));
}

/*
 * Falling trends (a region's or a store's scans down --trend-drop% on
 * the window before, which had --trend-min scans), suspect spikes (at
 * least --spike-min suspect scans, twice the window before) and
 * diversion alerts, each saying why in numbers. The window is from..to
 * (default: the last 7 days), compared with as many days before it.
 */
enum MHD_Result
api_route_report_alerts(struct api_req *r)
{
	const struct api_config *cfg = &r->srv->cfg;
	struct window_counts cur, prev;
	struct yima_report_q q;
	struct yima_token t;
	struct yima_tx *tx = NULL;
	struct alerts al;
	enum MHD_Result res;
	const char *key, *root;
	json_t *v;
	json_int_t c, p, u;
	int64_t today = (api_now_ms() + YIMA_DAY_OFFSET_MS) / DAY_MS, days;
	char a[16], b[16], pa[16], pb[16], why[256];
	int rc, level;
	/* The thresholds once: a reload may change them meanwhile. */
	int drop = API_LIVE(r->srv->cfg.trend_drop);
	int tmin = API_LIVE(r->srv->cfg.trend_min);
	int smin = API_LIVE(r->srv->cfg.spike_min);

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_DEALER, &t, &res))
		return res;
	memset(&q, 0, sizeof(q));
	/* Whole days: today has not ended, so it would always fall. */
	if (api_query_day(r, "to", today - 1, &q.to_day) != 0 ||
	    api_query_day(r, "from", q.to_day - 6, &q.from_day) != 0 ||
	    q.from_day > q.to_day || q.to_day - q.from_day >= SPAN_MAX)
		return api_reply_error(r, 400, "bad_request", "from and to are "
		    "dates YYYY-MM-DD (China time), from <= to, at most %d "
		    "days", SPAN_MAX);
	root = strcmp(t.role, "dealer") == 0 ? t.dealer : NULL;
	q.root = root;
	q.by = YIMA_BY_REGION;
	days = q.to_day - q.from_day + 1;
	api_day_text(q.from_day, a, sizeof(a));
	api_day_text(q.to_day, b, sizeof(b));
	api_day_text(q.from_day - days, pa, sizeof(pa));
	api_day_text(q.from_day - 1, pb, sizeof(pb));
	memset(&al, 0, sizeof(al));
	al.cfg = cfg;
	al.list = json_array();
	al.owners = json_object();
	al.window = json_pack("{s:s,s:s,s:s,s:s}", "from", a, "to", b,
	    "previous_from", pa, "previous_to", pb);
	cur.map = json_object();
	prev.map = json_object();
	if ((rc = yima_tx_begin(r->srv->st, 0, &tx)) != 0)
		goto done;
	if ((rc = yima_tx_report_scans(tx, &q, count_region, &cur)) != 0)
		goto done;
	q.to_day = q.from_day - 1;
	q.from_day -= days;
	if ((rc = yima_tx_report_scans(tx, &q, count_region, &prev)) != 0 ||
	    (rc = yima_tx_channel_trend(tx, root, q.to_day + 1,
	    q.to_day + days, days, channel_alert, &al)) != 0 ||
	    (rc = yima_tx_diversion_counts(tx, root, (q.to_day + 1) * DAY_MS -
	    YIMA_DAY_OFFSET_MS, (q.to_day + days + 1) * DAY_MS -
	    YIMA_DAY_OFFSET_MS, count_owner, &al)) != 0)
		goto done;
	json_object_foreach(prev.map, key, v) {
		p = nth(prev.map, key, 0);
		c = nth(cur.map, key, 0);
		if (p < tmin || c * 100 > p * (100 - drop))
			continue;
		snprintf(why, sizeof(why), "scans in %s fell from %lld to %lld "
		    "(%.1f%%, alert at -%d%% from %d scans)", key,
		    (long long)p, (long long)c, change_pct(p, c),
		    drop, tmin);
		json_array_append_new(al.list, json_pack("{s:s,s:s,s:I,s:I,"
		    "s:f,s:O,s:s}", "type", "falling_trend", "region", key,
		    "current", c, "previous", p, "change_pct",
		    change_pct(p, c), "window", al.window, "why", why));
	}
	json_object_foreach(cur.map, key, v) {
		c = nth(cur.map, key, 1);
		p = nth(prev.map, key, 1);
		if (c < smin || c < 2 * p)
			continue;
		snprintf(why, sizeof(why), "%lld suspect scans in %s against "
		    "%lld before (alert at %d and twice the window before)",
		    (long long)c, key, (long long)p, smin);
		json_array_append_new(al.list, json_pack("{s:s,s:s,s:I,s:I,"
		    "s:O,s:s}", "type", "suspect_spike", "region", key,
		    "current", c, "previous", p, "window", al.window, "why",
		    why));
	}
	json_object_foreach(al.owners, key, v) {
		c = json_integer_value(json_array_get(v, 0));
		p = json_integer_value(json_array_get(v, 1));
		if ((level = api_diversion_level(cfg, c, p)) == 0)
			continue;
		u = json_integer_value(json_array_get(v, 2));
		snprintf(why, sizeof(why), "goods of %s scanned outside its "
		    "territory: %lld by consumers, %lld by stores (level 1 at "
		    "%d consumer events, level 2 with a store's; %lld "
		    "unverified)", key, (long long)c, (long long)p,
		    API_LIVE(cfg->alert_level1), (long long)u);
		json_array_append_new(al.list, json_pack("{s:s,s:s,s:i,s:I,"
		    "s:I,s:I,s:O,s:s}", "type", "diversion", "owner", key,
		    "level", level, "consumer_events", c, "store_events", p,
		    "unverified_events", u, "window", al.window, "why", why));
	}
	rc = api_name_rows(r, tx, al.list);
done:
	yima_tx_rollback(tx);
	json_decref(cur.map);
	json_decref(prev.map);
	json_decref(al.owners);
	if (rc != 0) {
		json_decref(al.list);
		json_decref(al.window);
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	}
	return api_reply_json(r, 200, json_pack("{s:o,s:o}", "alerts",
	    al.list, "window", al.window));
}

static void
add_region(void *arg, const char *code, const char *name, int level)
{
	json_array_append_new(arg, json_pack("{s:s,s:s,s:i}", "code", code,
	    "name", name, "level", level));
}

/*
 * GET /api/v1/regions[?parent=CODE] (admin, dealer): the regions under a
 * province or city by name, for pickers, and the finest level scans are
 * placed at; public facts, cached a day.
 */
enum MHD_Result
api_route_regions(struct api_req *r)
{
	static const char *const hdr[] = { "Cache-Control",
	    "private, max-age=86400", NULL };
	const struct yima_geo *geo = r->srv->geo;
	const char *v = MHD_lookup_connection_value(r->conn,
	    MHD_GET_ARGUMENT_KIND, "parent");
	struct yima_token t;
	enum MHD_Result res;
	const char *name = NULL;
	json_t *list;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_DEALER, &t, &res))
		return res;
	if (geo == NULL)
		return api_reply_error(r, 404, "not_found", "this service has "
		    "no region data (--regions)");
	if (v == NULL)
		v = "";
	else if (strlen(v) != 6 || strspn(v, "0123456789") != 6)
		return api_reply_error(r, 400, "bad_request", "parent is a "
		    "6-digit GB/T 2260 code");
	else if ((name = yima_geo_name(geo, v)) == NULL)
		return api_reply_error(r, 404, "not_found", "no region %s", v);
	if ((list = json_array()) == NULL)
		return api_reply_error(r, 503, "unavailable", "out of memory");
	yima_geo_children(geo, v, add_region, list);
	/* How fine scans are placed: counties only with their shapes. */
	return api_reply_json_hdr(r, 200, json_pack("{s:s?,s:s?,s:i,s:o}",
	    "parent", v[0] != '\0' ? v : NULL, "name", name, "located_levels",
	    yima_geo_count(geo, 3) > 0 ? 3 : 2, "regions", list), hdr);
}
