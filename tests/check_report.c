/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reports against the real server: a seeded run of shipments and scans
 * from known places, logged by the test itself; every number of the
 * scan report must equal the count taken from that log.
 */
#define _GNU_SOURCE	/* asprintf */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <jansson.h>
#include <math.h>

#include "yima/buf.h"

#include "../scanapi/consumer.h"
#include "../scanapi/routes.h"
#include "../scanapi/sketch.h"
#include "srvutil.h"
#include "testutil.h"

Suite *report_suite(void);

#define GTIN2	"06901234567885"
#define NB	24		/* bottles of each SKU */
#define NSCANS	160
#define NCONS	6

static struct batch b2;		/* the second SKU */
static char tok_a[64], tok_b[64];

/* WGS84 city centres and the region each resolves to. */
static const struct place {
	double		lat, lon;
	const char	*region;
} places[] = {
	{ 31.2304, 121.4737, "310100" },	/* Shanghai */
	{ 23.1291, 113.2644, "440100" },	/* Guangzhou */
	{ 39.9042, 116.4074, "110100" },	/* Beijing */
	{ 22.5431, 114.0579, "440300" },	/* Shenzhen */
	{ 30.2741, 120.1551, "330100" },	/* Hangzhou */
};
#define NPLACES ((int)(sizeof(places) / sizeof(places[0])))

/* The test's own log: one line per answered scan. */
struct logged {
	const char	*gtin;
	const char	*owner;		/* "" none */
	const char	*region;
	int		 consumer;
	char		 verdict[16];
	int		 claimed;
};

static struct logged runlog[NSCANS];
static char cids[NCONS][64];

static void
report_case_setup(void)
{
	static const char *const prod[] = { "--gtin", GTIN2, NULL };

	case_setup();
	free(mint(T.kr, T.root, "b2sku", "item", NB, prod, &b2));
	import(T.db, T.kr, b2.dir);
	ck_assert_int_gt(token_create(T.db, "dealer", "dist-A", tok_a,
	    sizeof(tok_a)), 0);
	ck_assert_int_gt(token_create(T.db, "dealer", "dist-B", tok_b,
	    sizeof(tok_b)), 0);
}

static void
report_case_teardown(void)
{
	free(b2.dir);
	case_teardown();
}

static void
ship(const char *to, const struct batch *b, int from, int n)
{
	struct http_resp p;
	json_t *codes = json_array();
	int i;

	for (i = from; i < from + n; i++)
		json_array_append_new(codes, json_string(b->codes[i]));
	ck_assert_msg(call("POST", "/api/v1/shipments", T.ops,
	    json_pack("{s:s,s:o}", "to", to, "codes", codes), &p) == 201,
	    "ship: %d %s", p.status, p.body);
	http_free(&p);
}

/* Who owns bottle i of SKU s, as shipped below. */
static const char *
owner_of(int s, int i)
{
	if (s == 0)
		return i < 10 ? "dA1" : i < 16 ? "dist-B" : "";
	return i < 8 ? "dist-A" : "";
}

/*
 * The run: dealers dist-A (Shanghai) with dA1 below it, and dist-B
 * (Guangdong); a campaign that pays points for the first scan of SKU 1;
 * NSCANS seeded scans from the places by NCONS consumers.
 */
static void
run_scans(void)
{
	struct http_resp p;
	json_error_t jerr;
	unsigned seed = 7;
	int k, s, i, c, pl;

	dealer_add("dist-A", "distributor", NULL, "31");
	dealer_add("dA1", "dealer", "dist-A", "3101");
	dealer_add("dist-B", "distributor", NULL, "44");
	ship("dA1", &T.b1, 0, 10);
	ship("dist-B", &T.b1, 10, 6);
	ship("dist-A", &b2, 0, 8);
	ck_assert_int_eq(call("POST", "/api/v1/admin/campaigns", T.admin,
	    json_loads("{\"name\":\"r\",\"start\":\"2020-01-01T00:00:00Z\","
	    "\"end\":\"2099-01-01T00:00:00Z\",\"claim_kind\":\"item\","
	    "\"gtins\":[\"" GTIN "\"],\"points\":3}", 0, &jerr), &p), 201);
	http_free(&p);
	for (k = 0; k < NSCANS; k++) {
		s = (int)(rand_r(&seed) % 2);
		i = (int)(rand_r(&seed) % NB);
		c = (int)(rand_r(&seed) % NCONS);
		pl = (int)(rand_r(&seed) % NPLACES);
		ck_assert_int_eq(scan_at(s ? b2.codes[i] : T.b1.codes[i],
		    cids[c][0] ? cids[c] : NULL, places[pl].lat,
		    places[pl].lon, &p), 200);
		if (!cids[c][0])
			snprintf(cids[c], sizeof(cids[c]), "%s",
			    jstr(p.json, "consumer"));
		ck_assert_str_eq(jstr(p.json, "region.code"),
		    places[pl].region);
		runlog[k].gtin = s ? GTIN2 : GTIN;
		runlog[k].owner = owner_of(s, i);
		runlog[k].region = places[pl].region;
		runlog[k].consumer = c;
		snprintf(runlog[k].verdict, sizeof(runlog[k].verdict), "%s",
		    jstr(p.json, "verdict"));
		runlog[k].claimed = json_is_object(jget(p.json, "reward"));
		http_free(&p);
	}
}

/* The key of a logged scan for a report by (region, sku, dealer). */
static const char *
key_of(const struct logged *l, const char *by)
{
	if (strcmp(by, "region") == 0)
		return l->region;
	if (strcmp(by, "sku") == 0)
		return l->gtin;
	if (strcmp(by, "dealer") == 0)
		return l->owner;
	return "today";
}

/* In a scope: the owners a dealer sees, and a region prefix. */
static int
in_scope(const struct logged *l, const char *const *owners,
    const char *region)
{
	int i;

	if (region != NULL && strncmp(l->region, region, strlen(region)) != 0)
		return 0;
	if (owners == NULL)
		return 1;
	for (i = 0; owners[i] != NULL; i++)
		if (strcmp(l->owner, owners[i]) == 0)
			return 1;
	return 0;
}

/* Checks every row of one report against the log. */
static void
check_report(const char *token, const char *by, const char *query,
    const char *const *owners, const char *region)
{
	struct http_resp p;
	char path[256], want_key[32];
	json_t *rows, *row, *kv;
	long long scans, genuine, repeat, suspect, claims, consumers;
	int seen[NCONS], k, c, matched = 0, nrows;
	size_t j;
	const char *key;

	snprintf(path, sizeof(path), "/api/v1/reports/scans?by=%s%s", by,
	    query);
	ck_assert_msg(call("GET", path, token, NULL, &p) == 200, "%s: %d %s",
	    path, p.status, p.body);
	rows = jget(p.json, "rows");
	ck_assert(json_is_array(rows));
	ck_assert_ptr_nonnull(jstr(p.json, "as_of"));
	ck_assert_int_eq(jint(p.json, "through_scan_id"), nscans());
	json_array_foreach(rows, j, row) {
		kv = json_object_get(row, strcmp(by, "day") == 0 ? "day" : by);
		key = json_is_null(kv) ? "" : json_string_value(kv);
		ck_assert_ptr_nonnull(key);
		scans = genuine = repeat = suspect = claims = consumers = 0;
		memset(seen, 0, sizeof(seen));
		for (k = 0; k < NSCANS; k++) {
			if (!in_scope(&runlog[k], owners, region))
				continue;
			snprintf(want_key, sizeof(want_key), "%s",
			    key_of(&runlog[k], by));
			if (strcmp(by, "day") != 0 && strcmp(want_key, key))
				continue;
			scans++;
			genuine += strcmp(runlog[k].verdict, "genuine") == 0;
			repeat += strcmp(runlog[k].verdict, "repeat") == 0;
			suspect += strcmp(runlog[k].verdict, "suspect") == 0;
			claims += runlog[k].claimed;
			c = runlog[k].consumer;
			consumers += !seen[c];
			seen[c] = 1;
		}
		ck_assert_msg(scans > 0, "%s: a row %s the log has no scan for",
		    path, key);
		ck_assert_int_eq(jint(row, "scans"), scans);
		ck_assert_int_eq(jint(row, "genuine"), genuine);
		ck_assert_int_eq(jint(row, "repeat"), repeat);
		ck_assert_int_eq(jint(row, "suspect"), suspect);
		ck_assert_int_eq(jint(row, "claims"), claims);
		ck_assert_int_eq(jint(row, "consumers"), consumers);
		ck_assert(fabs(json_real_value(json_object_get(row,
		    "first_scan_ratio")) - (double)genuine / (double)scans) <
		    0.0001);
		matched += (int)scans;
	}
	/* Every scan in scope is in exactly one row. */
	for (k = 0, nrows = 0; k < NSCANS; k++)
		nrows += in_scope(&runlog[k], owners, region);
	ck_assert_msg(matched == nrows, "%s: rows hold %d scans, the log %d",
	    path, matched, nrows);
	http_free(&p);
}

START_TEST(test_scan_report)
{
	static const char *const by[] = { "day", "region", "sku", "dealer" };
	static const char *const a_owners[] = { "dist-A", "dA1", NULL };
	static const char *const b_owners[] = { "dist-B", NULL };
	static const char *const a1_owners[] = { "dA1", NULL };
	/* Every cell as it is: test_report_privacy merges small ones. */
	static const char *const flags[] = { "--ip-rate", "0",
	    "--consumer-rate", "1000", "--min-report-count", "1", NULL };
	size_t i;

	srv_start(flags);
	run_scans();
	for (i = 0; i < 4; i++) {
		check_report(T.admin, by[i], "", NULL, NULL);
		check_report(tok_a, by[i], "", a_owners, NULL);
		check_report(tok_b, by[i], "", b_owners, NULL);
		check_report(T.admin, by[i], "&dealer=dA1", a1_owners, NULL);
		check_report(tok_a, by[i], "&dealer=dA1", a1_owners, NULL);
		check_report(T.admin, by[i], "&region=44", NULL, "44");
		check_report(T.admin, by[i], "&region=440100", NULL, "4401");
		check_report(tok_a, by[i], "&region=31", a_owners, "31");
	}
	srv_stop();
}
END_TEST

START_TEST(test_report_csv)
{
	struct http_resp p, j;
	char line[256];
	const char *s;
	json_t *row;
	size_t i;

	srv_start(open_flags);
	run_scans();
	ck_assert_int_eq(call("GET", "/api/v1/reports/scans?by=region"
	    "&format=csv", T.admin, NULL, &p), 200);
	ck_assert_ptr_nonnull(strstr(p.raw, "Content-Type: text/csv"));
	ck_assert_int_eq(call("GET", "/api/v1/reports/scans?by=region",
	    T.admin, NULL, &j), 200);
	s = p.body;
	ck_assert_int_eq(strncmp(s, "region,name,scans,genuine,repeat,"
	    "suspect,first_scan_ratio,consumers,claims\r\n", 73), 0);
	s = strstr(s, "\r\n") + 2;
	json_array_foreach(jget(j.json, "rows"), i, row) {
		/* Each region is named from the region data. */
		ck_assert_ptr_nonnull(jstr(row, "name"));
		if (strcmp(jstr(row, "region"), "440300") == 0)
			ck_assert_str_eq(jstr(row, "name"), "深圳市");
		snprintf(line, sizeof(line), "%s,%s,%lld,%lld,%lld,%lld,%.4f,"
		    "%lld,%lld\r\n", jstr(row, "region"), jstr(row, "name"),
		    jint(row, "scans"),
		    jint(row, "genuine"), jint(row, "repeat"),
		    jint(row, "suspect"), json_real_value(json_object_get(row,
		    "first_scan_ratio")), jint(row, "consumers"),
		    jint(row, "claims"));
		ck_assert_msg(strncmp(s, line, strlen(line)) == 0, "csv %s, "
		    "json %s", s, line);
		s += strlen(line);
	}
	ck_assert_str_eq(s, "");
	http_free(&p);
	http_free(&j);
	srv_stop();
}
END_TEST

/* ---- CSV: formula cells neutralised (issue 13, defect 5) ---- */

START_TEST(test_csv_field)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ "dist-A", "dist-A" },
		{ "2026-01-01", "2026-01-01" },
		{ "深圳市", "深圳市" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "two\nlines", "\"two\nlines\"" },
		{ "-A1", "\"'-A1\"" },
		{ "-2-3", "\"'-2-3\"" },
		{ "=1+1", "\"'=1+1\"" },
		{ "+86 21", "\"'+86 21\"" },
		{ "@SUM(A1:A9)", "\"'@SUM(A1:A9)\"" },
		{ "\t=1", "\"'\t=1\"" },
		{ "\r=1", "\"'\r=1\"" },
		{ "=HYPERLINK(\"http://x\",\"y\")",
		    "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
		{ "a=1", "a=1" },
	};
	struct yima_buf b = YIMA_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		yima_buf_reset(&b);
		ck_assert_int_eq(api_csv_field(&b, cases[i].in), 0);
		ck_assert_int_eq(yima_buf_puts(&b, ""), 0);
		ck_assert_msg(b.len == strlen(cases[i].out) &&
		    memcmp(b.data, cases[i].out, b.len) == 0, "%s: got %.*s, "
		    "want %s", cases[i].in, (int)b.len, b.data, cases[i].out);
	}
	yima_buf_free(&b);
}
END_TEST

/*
 * Reports by SKU name each GTIN's product (a name beginning with '=' is
 * text in the CSV); a GTIN without a product still has its row.
 */
START_TEST(test_report_sku_names)
{
	struct http_resp p;
	json_t *row;
	int i;

	srv_start(open_flags);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(scan(T.b1.codes[i], NULL, &p), 200);
		http_free(&p);
	}
	ck_assert_int_eq(call("GET", "/api/v1/reports/scans?by=sku", T.admin,
	    NULL, &p), 200);
	ck_assert_ptr_nonnull(row = jget(p.json, "rows.0"));
	ck_assert_pstr_eq(jstr(row, "sku"), GTIN);
	ck_assert_ptr_null(jget(row, "name"));
	ck_assert_int_eq(jint(row, "scans"), 3);
	http_free(&p);
	ck_assert_int_eq(call("PUT", "/api/v1/admin/products/" GTIN, T.admin,
	    json_pack("{s:s,s:s,s:{s:s}}", "name", "=青岛啤酒", "brand", "b",
	    "names", "en", "Tsingtao"), &p), 201);
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/reports/scans?by=sku", T.admin,
	    NULL, &p), 200);
	ck_assert_ptr_nonnull(row = jget(p.json, "rows.0"));
	ck_assert_pstr_eq(jstr(row, "name"), "=青岛啤酒");
	ck_assert_pstr_eq(jstr(row, "names.en"), "Tsingtao");
	ck_assert_int_eq(jint(row, "scans"), 3);
	http_free(&p);
	ck_assert_int_eq(csv_check("/api/v1/reports/scans?by=sku&format=csv",
	    T.admin, "ttnnnnnnn", "'=青岛啤酒", 1), 1);
	srv_stop();
}
END_TEST

/*
 * Dealer ids may begin with '-': in every CSV of the service such a cell
 * is text for the spreadsheet ("'-A1"), and the CSV still parses.
 */
START_TEST(test_csv_formulas)
{
	static const char *const by[] = { "day", "region", "sku", "dealer" };
	struct http_resp p;
	char path[160];
	int i;

	srv_start(open_flags);
	dealer_add("-A1", "distributor", NULL, "31");
	dealer_add("-2-3", "dealer", "-A1", "3101");
	ship("-A1", &T.b1, 0, 4);
	ship("-2-3", &T.b1, 4, 4);
	/* Shanghai is home; Guangzhou is diversion. */
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(scan_at(T.b1.codes[i], NULL, places[i % 2].lat,
		    places[i % 2].lon, &p), 200);
		http_free(&p);
	}
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/api/v1/reports/scans?by=%s"
		    "&format=csv", by[i]);
		/* region, sku: key,name,... ; the others: key,... */
		csv_check(path, T.admin, i == 1 || i == 2 ? "ttnnnnnnn" :
		    "tnnnnnnn", NULL, 0);
	}
	ck_assert_int_eq(csv_check("/api/v1/reports/scans?by=dealer"
	    "&format=csv", T.admin, "tnnnnnnn", "'-A1", 0), 1);
	ck_assert_int_eq(csv_check("/api/v1/reports/scans?by=dealer"
	    "&format=csv", T.admin, "tnnnnnnn", "'-2-3", 0), 1);
	ck_assert_int_eq(csv_check("/api/v1/reports/scans?by=dealer"
	    "&dealer=-2-3&format=csv", T.admin, "tnnnnnnn", "'-2-3", 0), 1);
	/* at,direction,serial,owner,region,evidence,uncertain,level,... */
	ck_assert_int_eq(csv_check("/api/v1/reports/diversion?format=csv",
	    T.admin, "ttntttt???", "'-A1", 3), 2);
	ck_assert_int_eq(csv_check("/api/v1/reports/diversion?format=csv",
	    T.admin, "ttntttt???", "'-2-3", 3), 2);
	srv_stop();
}
END_TEST

/*
 * A rollup row of dA1 (dist-A's) for day, in region, with the consumers
 * named by the letters of who, each scanned once: written straight into
 * the table the region reports read, with its consumer sketch.
 */
static void
cell(long long day, const char *region, const char *who)
{
	uint8_t sk[API_SKETCH_MAX], out[API_SKETCH_MAX];
	char hex[2 * API_SKETCH_MAX + 1], id[2] = "";
	size_t len = 0, i, n = strlen(who);

	for (i = 0; i < n; i++) {
		id[0] = who[i];
		len = api_sketch_add(len ? sk : NULL, len,
		    tu_sketch_hash(id, 1), out);
		memcpy(sk, out, len);
	}
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02X", sk[i]);
	ck_assert_int_eq(db_int("INSERT INTO rollup_regions (day, dealer,"
	    " region, scans, genuine, repeat, suspect, claims, consumers)"
	    " VALUES (%lld, 'dA1', '%s', %zu, %zu, 0, 0, 0, X'%s')"
	    " RETURNING 1", day, region, n, n, hex), 1);
}

/* The row of key (a region, a day or "other") in report r, or NULL. */
static json_t *
row_of(json_t *r, const char *by, const char *key)
{
	json_t *row;
	size_t i;

	json_array_foreach(jget(r, "rows"), i, row)
		if (jstr(row, by) != NULL && strcmp(jstr(row, by), key) == 0)
			return row;
	return NULL;
}

/* The rows of report r as "key:scans/consumers ..." in their order. */
static void
rows_text(json_t *r, const char *by, char *out, size_t len)
{
	json_t *row;
	size_t i, n = 0;

	out[0] = '\0';
	json_array_foreach(jget(r, "rows"), i, row)
		n += (size_t)snprintf(out + n, len - n, "%s%s:%lld/%lld",
		    i ? " " : "", jstr(row, by) ? jstr(row, by) : "null",
		    jint(row, "scans"), jint(row, "consumers"));
}

/*
 * The dealer's report at path, as JSON and as CSV: no row has fewer than
 * 3 consumers, and the CSV has the same rows (key, consumers) in order.
 * Returns the number of rows.
 */
static size_t
no_small_row(const char *path)
{
	struct http_resp p, c;
	char csv[256], line[128];
	const char *by = strstr(path, "by=") + 3, *s, *e;
	char key[8];
	json_t *row;
	size_t i, n;

	snprintf(key, sizeof(key), "%.*s", (int)strcspn(by, "&"), by);
	ck_assert_int_eq(call("GET", path, tok_a, NULL, &p), 200);
	snprintf(csv, sizeof(csv), "%s&format=csv", path);
	ck_assert_int_eq(call("GET", csv, tok_a, NULL, &c), 200);
	s = strstr(c.body, "\r\n") + 2;
	json_array_foreach(jget(p.json, "rows"), i, row) {
		ck_assert_msg(jint(row, "consumers") >= 3, "%s: row %zu has %lld"
		    " consumers", path, i, jint(row, "consumers"));
		ck_assert_ptr_nonnull(e = strstr(s, "\r\n"));
		snprintf(line, sizeof(line), "%s", jstr(row, key) ?
		    jstr(row, key) : "");
		ck_assert_msg(strncmp(s, line, strlen(line)) == 0 &&
		    s[strlen(line)] == ',', "%s csv: %s", path, c.body);
		snprintf(line, sizeof(line), ",%lld,%lld\r\n",
		    jint(row, "consumers"), jint(row, "claims"));
		s = e + 2;
		ck_assert_int_eq(strncmp(s - strlen(line), line,
		    strlen(line)), 0);
	}
	ck_assert_msg(*s == '\0', "%s: the csv has more rows: %s", path, s);
	/* Nothing says what was held back: that would tell none from one. */
	ck_assert_uint_eq(json_object_size(p.json), 6);
	n = json_array_size(jget(p.json, "rows"));
	http_free(&c);
	http_free(&p);
	return n;
}

/*
 * Privacy: a dealer's report shows no row with fewer than
 * --min-report-count (3) distinct consumers. By region a county under it
 * merges into its city, a city into its province, a province (or no
 * region) into "other"; merging unites consumer sets (one seen in two
 * cells counts once). What is still under it, "other" too, is not sent:
 * with a region filter it would be one shopper's scans in a named place.
 * Admins see all.
 */
START_TEST(test_report_privacy)
{
	static const char *const off[] = { "--min-report-count", "1", NULL };
	static const char *const by[] = { "day", "region", "sku", "dealer" };
	static const char *const in[] = { "", "&region=31", "&region=3101",
	    "&region=310101", "&region=310104", "&region=33", "&region=44",
	    "&region=11" };
	long long today = (time(NULL) * 1000LL + 8 * 3600000LL) / 86400000LL;
	struct http_resp p;
	char got[512], path[128];
	long long total = 0;
	json_t *row;
	size_t i, j;

	srv_start(open_flags);
	dealer_add("dist-A", "distributor", NULL, "31");
	dealer_add("dA1", "dealer", "dist-A", "3101");
	/* Shanghai: a county of 1 (a), one of 3; the city of a and b: with
	 * its county 2 consumers (3 if counts were added), so it goes up to
	 * the province, which with c has 3. */
	cell(today - 1, "310101", "a");
	cell(today - 1, "310104", "def");
	cell(today - 2, "310104", "g");
	cell(today - 1, "310100", "ab");
	cell(today - 1, "310000", "c");
	/* Hangzhou has 3; Ningbo 1, Guangzhou 1 (via their provinces) and
	 * an unlocated 1 are 3 in "other". */
	cell(today - 1, "330100", "hij");
	cell(today - 1, "330200", "a");
	cell(today - 1, "440100", "b");
	cell(today - 1, "", "k");
	ck_assert_int_eq(call("GET", "/api/v1/reports/scans?by=region",
	    tok_a, NULL, &p), 200);
	rows_text(p.json, "region", got, sizeof(got));
	ck_assert_str_eq(got, "310000:4/3 310104:4/4 330100:3/3 other:3/3");
	ck_assert_ptr_null(row_of(p.json, "region", "310101"));
	ck_assert_ptr_null(jget(row_of(p.json, "region", "other"), "name"));
	json_array_foreach(jget(p.json, "rows"), i, row)
		total += jint(row, "scans");
	ck_assert_int_eq(total, 14);
	http_free(&p);
	/* The admin sees every cell, the county of one included. */
	ck_assert_int_eq(call("GET", "/api/v1/reports/scans?by=region",
	    T.admin, NULL, &p), 200);
	rows_text(p.json, "region", got, sizeof(got));
	ck_assert_str_eq(got, "null:1/1 310000:1/1 310100:2/2 310101:1/1 "
	    "310104:4/4 330100:3/3 330200:1/1 440100:1/1");
	http_free(&p);
	/* A region filter narrows the cells, not the rule: by day, the day
	 * Shanghai had one consumer would be "other", so it is not sent;
	 * nor is the county of one shopper, as "other" or as itself. */
	ck_assert_int_eq(call("GET", "/api/v1/reports/scans?by=day&region=31",
	    tok_a, NULL, &p), 200);
	ck_assert_uint_eq(json_array_size(jget(p.json, "rows")), 1);
	ck_assert_ptr_null(row_of(p.json, "day", "other"));
	ck_assert_int_eq(jint(json_array_get(jget(p.json, "rows"), 0),
	    "scans"), 7);
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/reports/scans?by=region"
	    "&region=310101", tok_a, NULL, &p), 200);
	ck_assert_uint_eq(json_array_size(jget(p.json, "rows")), 0);
	http_free(&p);
	/* Every report, filtered or not, JSON and CSV alike. */
	for (i = 0; i < sizeof(by) / sizeof(by[0]); i++)
		for (j = 0; j < sizeof(in) / sizeof(in[0]); j++) {
			snprintf(path, sizeof(path), "/api/v1/reports/scans?"
			    "by=%s%s", by[i], in[j]);
			no_small_row(path);
		}
	ck_assert_uint_eq(no_small_row("/api/v1/reports/scans?by=day"), 1);
	ck_assert_uint_eq(no_small_row("/api/v1/reports/scans?by=region"
	    "&region=3101"), 1);
	srv_stop();
	/* 1 turns it off. */
	srv_start(off);
	ck_assert_int_eq(call("GET", "/api/v1/reports/scans?by=region"
	    "&region=3101", tok_a, NULL, &p), 200);
	rows_text(p.json, "region", got, sizeof(got));
	ck_assert_str_eq(got, "310100:2/2 310101:1/1 310104:4/4");
	http_free(&p);
	srv_stop();
}
END_TEST

/* The unkeyed hash rollups kept of a consumer id before (FNV-1a, mixed). */
static uint64_t
fnv_hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* 1 if the exact (sparse) sketch s holds hash h. */
static int
sketch_holds(const uint8_t *s, size_t len, uint64_t h)
{
	uint64_t v;
	size_t i, k;

	ck_assert_msg(len > 0 && s[0] == 'S' && (len - 1) % 8 == 0,
	    "not an exact sketch");
	for (i = 1; i < len; i += 8) {
		for (v = 0, k = 0; k < 8; k++)
			v = v << 8 | s[i + k];
		if (v == h)
			return 1;
	}
	return 0;
}

/*
 * Privacy: the rollups' consumer sketches hold keyed hashes. With an id
 * (its cookie; the stored id is its first 24 characters) and a copy of
 * the database, hashing the id as before finds none of its cells; the
 * keyring's "sketch" key does, and the consumers count as they did.
 */
START_TEST(test_sketch_keyed)
{
	static const char *const tables[] = { "rollups", "rollup_regions",
	    "rollup_skus", "rollup_gtins" };
	struct yima_keyring *kr;
	struct yima_mac *key;
	struct http_resp p;
	sqlite3 *db;
	sqlite3_stmt *s;
	char cid[2][API_CID_LEN + 1], sql[64];
	const uint8_t *sk;
	size_t i, len;
	int c, rows, exact;

	srv_start(open_flags);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(scan(T.b1.codes[i], i == 2 ? cid[0] : NULL,
		    &p), 200);
		if (i < 2)
			snprintf(cid[i], sizeof(cid[i]), "%s",
			    jstr(p.json, "consumer"));
		http_free(&p);
	}
	srv_stop();
	ck_assert_int_eq(yima_keyring_open(T.kr, &kr, NULL), 0);
	ck_assert_int_eq(api_consumer_key(kr, "sketch", &key, NULL), 0);
	db = db_open();
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT consumers FROM %s",
		    tables[i]);
		ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL),
		    SQLITE_OK);
		for (rows = 0; sqlite3_step(s) == SQLITE_ROW; rows++) {
			sk = sqlite3_column_blob(s, 0);
			len = (size_t)sqlite3_column_bytes(s, 0);
			ck_assert_uint_eq(api_sketch_count(sk, len, &exact), 2);
			for (c = 0; c < 2; c++) {
				ck_assert_msg(!sketch_holds(sk, len,
				    fnv_hash(cid[c], API_CONSUMER_ID_LEN)),
				    "%s: the id's unkeyed hash", tables[i]);
				ck_assert(sketch_holds(sk, len, api_sketch_hash(
				    key, cid[c], API_CONSUMER_ID_LEN)));
			}
		}
		ck_assert_int_eq(rows, 1);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	yima_mac_free(key);
	yima_keyring_free(kr);
}
END_TEST

/* The territory in force for an owner of the run. */
static const char *
territory(const char *owner)
{
	return strcmp(owner, "dA1") == 0 ? "3101" :
	    strcmp(owner, "dist-A") == 0 ? "31" : "44";
}

static int
member(const char *s, const char *const *set)
{
	int i;

	for (i = 0; set != NULL && set[i] != NULL; i++)
		if (strcmp(s, set[i]) == 0)
			return 1;
	return set == NULL;
}

/*
 * The diversion report as a dealer sees it: its own goods scanned
 * outside their territory (outgoing), others' goods scanned inside its
 * own (incoming); counted per owner and region from the log.
 */
static void
check_diversion(const char *token, const char *const *mine,
    const char *terr)
{
	struct http_resp p;
	json_t *ev;
	const char *dir, *owner, *region;
	int k, want, got, out_n = 0, in_n = 0;
	size_t i;

	ck_assert_int_eq(call("GET", "/api/v1/reports/diversion", token, NULL,
	    &p), 200);
	for (k = 0; k < NSCANS; k++) {
		const struct logged *l = &runlog[k];
		int diverted = l->owner[0] != '\0' && strncmp(l->region,
		    territory(l->owner), strlen(territory(l->owner))) != 0;

		if (!diverted)
			continue;
		if (member(l->owner, mine))
			out_n++;
		else if (terr != NULL && strncmp(l->region, terr,
		    strlen(terr)) == 0)
			in_n++;
	}
	want = out_n + in_n;
	ck_assert_int_gt(out_n, 0);	/* the run does divert goods */
	ck_assert(terr == NULL || in_n > 0);
	got = (int)json_array_size(jget(p.json, "events"));
	ck_assert_msg(got == want, "events %d, the log %d", got, want);
	json_array_foreach(jget(p.json, "events"), i, ev) {
		dir = jstr(ev, "direction");
		owner = jstr(ev, "owner");
		region = jstr(ev, "region");
		ck_assert_ptr_nonnull(dir);
		if (strcmp(dir, "outgoing") == 0) {
			ck_assert(member(owner, mine));
			ck_assert(strncmp(region, territory(owner),
			    strlen(territory(owner))) != 0);
			ck_assert(json_is_integer(json_object_get(ev, "level")));
			out_n--;
		} else {
			ck_assert_str_eq(dir, "incoming");
			ck_assert(!member(owner, mine));
			ck_assert_int_eq(strncmp(region, terr, strlen(terr)), 0);
			in_n--;
		}
	}
	ck_assert_int_eq(out_n, 0);
	ck_assert_int_eq(in_n, 0);
	http_free(&p);
}

/* The events of one direction, in order (a new array). */
static json_t *
of_dir(json_t *events, const char *dir)
{
	json_t *out = json_array(), *ev;
	size_t i;

	json_array_foreach(events, i, ev)
		if (strcmp(jstr(ev, "direction"), dir) == 0)
			json_array_append(out, ev);
	return out;
}

#define DIV_LIMIT	3

/*
 * With a limit a dealer gets the latest events of each direction, and the
 * total still counts them all (the incoming side keeps only the latest
 * while it reads: past 2 limit it lets the older go).
 */
static void
check_diversion_limit(const char *token)
{
	static const char *const dirs[] = { "outgoing", "incoming" };
	struct http_resp all, some;
	char url[64];
	json_t *a, *b;
	size_t k, i, na, nb;

	snprintf(url, sizeof(url), "/api/v1/reports/diversion?limit=%d",
	    DIV_LIMIT);
	ck_assert_int_eq(call("GET", "/api/v1/reports/diversion", token, NULL,
	    &all), 200);
	ck_assert_int_eq(call("GET", url, token, NULL, &some), 200);
	ck_assert_int_eq(jint(some.json, "total"), jint(all.json, "total"));
	for (k = 0; k < 2; k++) {
		a = of_dir(jget(all.json, "events"), dirs[k]);
		b = of_dir(jget(some.json, "events"), dirs[k]);
		na = json_array_size(a);
		nb = json_array_size(b);
		if (k == 1)
			ck_assert_msg(na > 2 * DIV_LIMIT, "%zu incoming", na);
		ck_assert_uint_eq(nb, na < DIV_LIMIT ? na : DIV_LIMIT);
		for (i = 0; i < nb; i++)
			ck_assert_msg(json_equal(json_array_get(a, na - nb + i),
			    json_array_get(b, i)), "%s %zu: not the latest",
			    dirs[k], i);
		json_decref(a);
		json_decref(b);
	}
	http_free(&all);
	http_free(&some);
}

START_TEST(test_diversion_directions)
{
	static const char *const a_owners[] = { "dist-A", "dA1", NULL };
	static const char *const b_owners[] = { "dist-B", NULL };

	srv_start(open_flags);
	run_scans();
	check_diversion(T.admin, NULL, NULL);
	check_diversion(tok_a, a_owners, "31");
	check_diversion(tok_b, b_owners, "44");
	check_diversion_limit(tok_b);
	srv_stop();
}
END_TEST

/* The alerts one token gets: "type:scope" each, in a sorted string. */
static void
assert_alerts(const char *token, const char *want)
{
	struct http_resp p;
	char got[512] = "", one[128], *list[16];
	const char *scope;
	json_t *al;
	size_t i, n = 0, k;

	ck_assert_int_eq(call("GET", "/api/v1/reports/alerts", token, NULL,
	    &p), 200);
	json_array_foreach(jget(p.json, "alerts"), i, al) {
		scope = jstr(al, "region") ? jstr(al, "region") :
		    jstr(al, "owner") ? jstr(al, "owner") :
		    jstr(al, "channel.name");
		ck_assert_ptr_nonnull(scope);
		ck_assert_ptr_nonnull(jstr(al, "why"));
		snprintf(one, sizeof(one), "%s:%s", jstr(al, "type"), scope);
		ck_assert_uint_lt(n, 16);
		list[n++] = strdup(one);
	}
	/* Sorted, so the order of the answer does not matter. */
	for (i = 0; i < n; i++)
		for (k = i + 1; k < n; k++)
			if (strcmp(list[k], list[i]) < 0) {
				char *x = list[i];

				list[i] = list[k];
				list[k] = x;
			}
	for (i = 0; i < n; i++) {
		strcat(got, i ? " " : "");
		strcat(got, list[i]);
		free(list[i]);
	}
	ck_assert_msg(strcmp(got, want) == 0, "alerts: got \"%s\", want "
	    "\"%s\": %s", got, want, p.body);
	http_free(&p);
}

/*
 * Alerts from rollups written straight into the database for the two
 * weeks before today (scans cannot be backdated through the API); the
 * default window is the 7 whole days before today.
 */
START_TEST(test_alerts)
{
	struct http_resp p;
	long long today = (time(NULL) * 1000LL + 8 * 3600000LL) / 86400000LL;
	json_t *al;
	size_t i;
	int seen = 0;

	srv_start(open_flags);
	dealer_add("dist-A", "distributor", NULL, "31");
	dealer_add("dA1", "dealer", "dist-A", "3101");
	dealer_add("S-A", "store", "dist-A", "3101");
	dealer_add("dist-B", "distributor", NULL, "44");
	/* (day, dealer, region, scans, suspect) a week ago and this week */
	ck_assert_int_eq(db_int("INSERT INTO rollups (day, dealer, region,"
	    " gtin, scans, genuine, repeat, suspect, claims, consumers) VALUES"
	    " (%lld, 'dist-B', '440100', '', 100, 100, 0, 0, 0, NULL),"
	    " (%lld, 'dist-B', '440100', '', 40, 40, 0, 0, 0, NULL),"
	    " (%lld, 'dA1', '310100', '', 100, 100, 0, 0, 0, NULL),"
	    " (%lld, 'dA1', '310100', '', 90, 90, 0, 0, 0, NULL),"
	    " (%lld, '', '110100', '', 20, 20, 0, 0, 0, NULL),"
	    " (%lld, 'dA1', '330100', '', 10, 8, 0, 2, 0, NULL),"
	    " (%lld, 'dA1', '330100', '', 20, 8, 0, 12, 0, NULL)"
	    " RETURNING 1", today - 10, today - 2, today - 8, today - 1,
	    today - 9, today - 12, today - 1), 1);
	/* The per-dimension tables the server keeps beside them. */
	ck_assert_int_eq(db_int("INSERT INTO rollup_regions SELECT day, dealer,"
	    " region, scans, genuine, repeat, suspect, claims, consumers, node"
	    " FROM rollups RETURNING 1"), 1);
	ck_assert_int_eq(db_int("INSERT INTO channels VALUES (999001, 'S-A',"
	    " 'store', 'Shop 1', 0) RETURNING 1"), 1);
	ck_assert_int_eq(db_int("INSERT INTO rollup_channels VALUES"
	    " (%lld, 999001, 80, 0), (%lld, 999001, 10, 0) RETURNING 1",
	    today - 9, today - 3), 1);
	/* Five consumer events of dist-B's goods; one store's of dA1's. */
	ck_assert_int_eq(db_int("INSERT INTO diversions (scan_id, at, serial,"
	    " owner, region, evidence, uncertain) WITH RECURSIVE n(v) AS"
	    " (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 5) SELECT v,"
	    " %lld, v, 'dist-B', '110100', 'consumer', 0 FROM n RETURNING 1",
	    (long long)time(NULL) * 1000 - 2 * 86400000LL), 1);
	ck_assert_int_eq(db_int("INSERT INTO diversions (receipt_id, at,"
	    " serial, owner, region, evidence, uncertain) VALUES (1, %lld, 9,"
	    " 'dA1', '440100', 'store', 0) RETURNING 1",
	    (long long)time(NULL) * 1000 - 2 * 86400000LL), 1);
	assert_alerts(T.admin, "diversion:dA1 diversion:dist-B "
	    "falling_trend:440100 falling_trend:Shop 1 suspect_spike:330100");
	assert_alerts(tok_a, "diversion:dA1 falling_trend:Shop 1 "
	    "suspect_spike:330100");
	assert_alerts(tok_b, "diversion:dist-B falling_trend:440100");
	/* Each says why in numbers. */
	ck_assert_int_eq(call("GET", "/api/v1/reports/alerts", T.admin, NULL,
	    &p), 200);
	json_array_foreach(jget(p.json, "alerts"), i, al)
		if (jstr(al, "region") != NULL &&
		    strcmp(jstr(al, "region"), "440100") == 0) {
			ck_assert_int_eq(jint(al, "previous"), 100);
			ck_assert_int_eq(jint(al, "current"), 40);
			ck_assert(json_real_value(json_object_get(al,
			    "change_pct")) == -60.0);
			ck_assert_ptr_nonnull(strstr(jstr(al, "why"),
			    "from 100 to 40"));
			seen++;
		}
	ck_assert_int_eq(seen, 1);
	http_free(&p);
	call("GET", "/api/v1/reports/alerts", T.ops, NULL, &p);
	assert_error(&p, 403, "ops");
	http_free(&p);
	call("GET", "/api/v1/reports/alerts?from=2026-02-30", T.admin, NULL,
	    &p);
	assert_error(&p, 400, "bad date");
	http_free(&p);
	srv_stop();
}
END_TEST

/*
 * Privacy: places older than the retention are coarsened (0.1 degree,
 * no accuracy, no client address), by the idle server and by the CLI;
 * newer ones are not; reports count the same before and after.
 */
START_TEST(test_coarsen)
{
	static const char *const flags[] = { "--ip-rate", "0",
	    "--consumer-rate", "1000", "--upkeep-seconds", "1", NULL };
	struct http_resp p;
	char *out = NULL;
	long long rows;
	int i, rc, added = 0;

	srv_start(flags);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(scan_obj(json_pack("{s:s,s:f,s:f,s:f}",
		    "code", T.b1.codes[i], "lat", 31.234567, "lon", 121.476543,
		    "accuracy", 25.0), NULL, &p), 200);
		http_free(&p);
	}
	srv_stop();
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE client IS"
	    " NOT NULL AND accuracy = 25"), 6);
	/* Three of them 200 days old. */
	ck_assert_int_eq(db_int("UPDATE scans SET at = at - 200 * 86400000"
	    " WHERE id <= 3 RETURNING 1"), 1);
	ck_assert_int_eq(db_int("UPDATE code_state SET first_at = first_at -"
	    " 200 * 86400000, last_loc_at = last_loc_at - 200 * 86400000"
	    " WHERE serial IN (SELECT serial FROM scans WHERE id <= 3)"
	    " RETURNING 1"), 1);
	/* Scans keep coming (never 1 s idle): upkeep must still run. */
	rows = nscans();
	srv_start(flags);
	for (i = 0; i < 100 && db_int("SELECT COUNT(*) FROM scans WHERE"
	    " client IS NULL") < 3; i++) {
		ck_assert_int_eq(scan(T.b1.codes[10], NULL, &p), 200);
		http_free(&p);
		added++;
		msleep(100);
	}
	srv_stop();
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE id <= 3"
	    " AND client IS NULL AND accuracy IS NULL AND lat = 31.2"
	    " AND lon = 121.5"), 3);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE id > 3"
	    " AND id <= 6 AND client IS NOT NULL AND lat = 31.234567"), 3);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM code_state WHERE"
	    " first_lat = 31.2 AND last_lat = 31.2"), 3);
	ck_assert_int_eq(nscans(), rows + added);	/* none lost */
	/* The rest by hand: everything, with --days 0. */
	rc = run(scanapi_bin(), &out, NULL, "coarsen", "--db", E.db, "--days",
	    "0", (char *)NULL);
	ck_assert_msg(rc == 0, "coarsen: %d %s", rc, out);
	ck_assert_msg(strstr(out, "coarsened ") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE client IS"
	    " NOT NULL OR accuracy IS NOT NULL"), 0);
	rc = run(scanapi_bin(), NULL, NULL, "coarsen", "--db", E.db, "--days",
	    "x", (char *)NULL);
	ck_assert_int_eq(rc, 2);
}
END_TEST

/*
 * Privacy: consumer ids of scans older than --consumer-retention-days are
 * dropped by the idle server and by the CLI; newer scans keep theirs, so
 * the suspect rule (distinct consumers in 24 h) counts as before, and
 * reports count the same.
 */
START_TEST(test_consumer_retention)
{
	static const char *const flags[] = { "--ip-rate", "0",
	    "--consumer-rate", "1000", "--upkeep-seconds", "1",
	    "--consumer-retention-days", "1", NULL };
	struct http_resp p;
	char cid[3][64], *out = NULL;
	long long n;
	int i, rc;

	srv_start(flags);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(scan(T.b1.codes[i], NULL, &p), 200);
		http_free(&p);
	}
	srv_stop();
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE consumer"
	    " IS NOT NULL"), 6);
	/* Three of them two days old. */
	ck_assert_int_eq(db_int("UPDATE scans SET at = at - 2 * 86400000"
	    " WHERE id <= 3 RETURNING 1"), 1);
	srv_start(flags);
	for (i = 0; i < 100 && db_int("SELECT COUNT(*) FROM scans WHERE"
	    " consumer IS NULL") < 3; i++)
		msleep(100);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE id <= 3"
	    " AND consumer IS NULL"), 3);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE id > 3"
	    " AND consumer IS NOT NULL"), 3);
	/* After upkeep ran: three consumers in 24 h still make a suspect. */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(scan(T.b1.codes[12], NULL, &p), 200);
		snprintf(cid[i], sizeof(cid[i]), "%s", jstr(p.json,
		    "consumer"));
		ck_assert_str_eq(jstr(p.json, "verdict"), i == 0 ? "genuine" :
		    i == 1 ? "repeat" : "suspect");
		http_free(&p);
	}
	msleep(1500);
	ck_assert_int_eq(scan(T.b1.codes[12], cid[0], &p), 200);
	ck_assert_str_eq(jstr(p.json, "verdict"), "suspect");
	ck_assert_str_eq(jstr(p.json, "suspect_reason"), "consumers");
	http_free(&p);
	srv_stop();
	/* The CLI: places alone leave the ids (serve may keep them)... */
	n = db_int("SELECT COUNT(*) FROM scans WHERE consumer IS NOT NULL");
	ck_assert_int_gt(n, 0);
	rc = run(scanapi_bin(), &out, NULL, "coarsen", "--db", E.db,
	    "--days", "0", (char *)NULL);
	ck_assert_msg(rc == 0 && strstr(out, "dropped") == NULL, "%s", out);
	free(out);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE consumer IS"
	    " NOT NULL"), n);
	/* ... and --consumer-days 0 drops every one. */
	rc = run(scanapi_bin(), &out, NULL, "coarsen", "--db", E.db,
	    "--consumer-days", "0", (char *)NULL);
	ck_assert_msg(rc == 0, "coarsen: %d %s", rc, out);
	ck_assert_msg(strstr(out, "dropped the consumer ids of ") != NULL,
	    "%s", out);
	free(out);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE consumer IS"
	    " NOT NULL"), 0);
	ck_assert_int_eq(run(scanapi_bin(), NULL, NULL, "coarsen", "--db",
	    E.db, "--consumer-days", "-1", (char *)NULL), 2);
	ck_assert_int_eq(run(scanapi_bin(), NULL, NULL, "serve", "--db",
	    E.db, "--keyring", T.kr, "--consumer-retention-days", "1.5",
	    (char *)NULL), 2);
}
END_TEST

/* GET path with a Cookie header; returns the status. */
static int
get_with_cookie(const char *path, const char *cookie, struct http_resp *p)
{
	char hdr[160];

	snprintf(hdr, sizeof(hdr), "Cookie: yima_session=%s\r\n", cookie);
	return get(path, hdr, p);
}

/* Logs in with token; the session cookie's value into out. */
static void
login(const char *token, char *out, size_t len)
{
	struct http_resp p;
	char sc[256], *semi;

	ck_assert_int_eq(call("POST", "/api/v1/session", NULL,
	    json_pack("{s:s}", "token", token), &p), 200);
	ck_assert(http_header(&p, "Set-Cookie", sc, sizeof(sc)));
	ck_assert_ptr_nonnull(strstr(sc, "; HttpOnly"));
	ck_assert_ptr_nonnull(strstr(sc, "; SameSite=Strict"));
	ck_assert_int_eq(strncmp(sc, "yima_session=yims_", 18), 0);
	ck_assert_ptr_nonnull(semi = strchr(sc, ';'));
	*semi = '\0';
	snprintf(out, len, "%.48s", sc + 13);
	http_free(&p);
}

/* A session's CSRF token, as GET /api/v1/session tells its page. */
static void
csrf_of(const char *cookie, char out[40])
{
	struct http_resp p;

	ck_assert_int_eq(get_with_cookie("/api/v1/session", cookie, &p), 200);
	ck_assert_ptr_nonnull(jstr(p.json, "csrf"));
	ck_assert_uint_eq(strlen(jstr(p.json, "csrf")), 32);
	snprintf(out, 40, "%s", jstr(p.json, "csrf"));
	http_free(&p);
}

/* The dashboard's login: a token becomes a session cookie. */
START_TEST(test_session)
{
	struct http_resp p;
	struct http_req q = { "POST", "/api/v1/admin/campaigns",
	    "application/json", NULL, NULL, "{}", 0 };
	char ca[64], cadm[64], cb[64], hdr[200], tok[64], idtxt[24];
	char csrf_a[40], csrf_adm[40];
	long long id;

	srv_start(open_flags);
	dealer_add("dist-A", "distributor", NULL, "31");
	call("POST", "/api/v1/session", NULL, json_pack("{s:s}", "token",
	    "yima_forged_forged_forged_forged_forged_forged"), &p);
	assert_error(&p, 401, "bad token");
	ck_assert(!http_header(&p, "Set-Cookie", hdr, sizeof(hdr)));
	http_free(&p);
	call("POST", "/api/v1/session", NULL, json_pack("{s:i}", "token", 1),
	    &p);
	assert_error(&p, 401, "no token string");
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM sessions"), 0);
	login(tok_a, ca, sizeof(ca));
	login(T.admin, cadm, sizeof(cadm));
	/* Only the secret's hash is kept. */
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM sessions WHERE"
	    " length(hash) = 64 AND hash NOT LIKE 'yims_%%'"), 2);
	ck_assert_int_eq(get_with_cookie("/api/v1/reports/scans", ca, &p),
	    200);
	http_free(&p);
	/* A dealer's session reads as the dealer: not another subtree. */
	get_with_cookie("/api/v1/reports/scans?dealer=dist-B", ca, &p);
	assert_error(&p, 403, "session of dealer A");
	http_free(&p);
	ck_assert_int_eq(get_with_cookie("/api/v1/admin/campaigns", cadm, &p),
	    200);
	http_free(&p);
	/* A session writes only with its page's CSRF token, even an
	 * admin's: without it, or with another session's, nothing. */
	snprintf(hdr, sizeof(hdr), "Cookie: yima_session=%s\r\n", cadm);
	q.headers = hdr;
	ck_assert_int_eq(http(E.port, &q, &p), 401);
	http_free(&p);
	csrf_of(ca, csrf_a);
	csrf_of(cadm, csrf_adm);
	ck_assert_str_ne(csrf_a, csrf_adm);
	snprintf(hdr, sizeof(hdr), "Cookie: yima_session=%s\r\nX-Yima-CSRF: "
	    "%s\r\n", cadm, csrf_a);
	ck_assert_int_eq(http(E.port, &q, &p), 401);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM campaigns"), 0);
	q.path = "/api/v1/admin/dealers";
	q.body = "{\"id\":\"by-page\",\"name\":\"p\",\"type\":\"dealer\"}";
	snprintf(hdr, sizeof(hdr), "Cookie: yima_session=%s\r\nX-Yima-CSRF: "
	    "%s\r\n", cadm, csrf_adm);
	ck_assert_int_eq(http(E.port, &q, &p), 201);
	http_free(&p);
	/* and as its role: a dealer's page may not */
	snprintf(hdr, sizeof(hdr), "Cookie: yima_session=%s\r\nX-Yima-CSRF: "
	    "%s\r\n", ca, csrf_a);
	ck_assert_int_eq(http(E.port, &q, &p), 403);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM dealers WHERE id ="
	    " 'by-page'"), 1);
	q.path = "/api/v1/admin/campaigns";
	q.body = "{}";
	get_with_cookie("/api/v1/reports/scans",
	    "yims_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &p);
	assert_error(&p, 401, "forged cookie");
	http_free(&p);
	/* A revoked token ends its sessions. */
	id = token_create(E.db, "dealer", "dist-A", tok, sizeof(tok));
	login(tok, cb, sizeof(cb));
	ck_assert_int_eq(get_with_cookie("/api/v1/reports/scans", cb, &p),
	    200);
	http_free(&p);
	snprintf(idtxt, sizeof(idtxt), "%lld", id);
	ck_assert_int_eq(run(scanapi_bin(), NULL, NULL, "token", "revoke",
	    "--db", E.db, idtxt, (char *)NULL), 0);
	get_with_cookie("/api/v1/reports/scans", cb, &p);
	assert_error(&p, 401, "revoked token's session");
	http_free(&p);
	/* Logout clears the cookie and ends the session. */
	snprintf(hdr, sizeof(hdr), "Cookie: yima_session=%s\r\n", ca);
	q.method = "DELETE";
	q.path = "/api/v1/session";
	q.body = NULL;
	q.ctype = NULL;
	ck_assert_int_eq(http(E.port, &q, &p), 200);
	ck_assert(http_header(&p, "Set-Cookie", tok, sizeof(tok)));
	ck_assert_ptr_nonnull(strstr(tok, "Max-Age=0"));
	http_free(&p);
	get_with_cookie("/api/v1/reports/scans", ca, &p);
	assert_error(&p, 401, "after logout");
	http_free(&p);
	srv_stop();
}
END_TEST

/* Every report endpoint x admin, ops, dealer A, dealer B, no token. */
START_TEST(test_report_auth)
{
	static const char *const paths[] = { "/api/v1/reports/scans",
	    "/api/v1/reports/scans?by=dealer&format=csv",
	    "/api/v1/reports/diversion", "/api/v1/reports/alerts" };
	const char *tokens[] = { T.admin, T.ops, tok_a, tok_b, NULL };
	static const int want[] = { 200, 403, 200, 200, 401 };
	struct http_resp p;
	size_t i, k;

	srv_start(open_flags);
	dealer_add("dist-A", "distributor", NULL, "31");
	dealer_add("dA1", "dealer", "dist-A", "3101");
	dealer_add("dist-B", "distributor", NULL, "44");
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		for (k = 0; k < 5; k++) {
			call("GET", paths[i], tokens[k], NULL, &p);
			ck_assert_msg(p.status == want[k], "%s as %zu: %d",
			    paths[i], k, p.status);
			http_free(&p);
		}
	/* A dealer asks only for its own subtree. */
	call("GET", "/api/v1/reports/scans?dealer=dist-B", tok_a, NULL, &p);
	assert_error(&p, 403, "another dealer's subtree");
	http_free(&p);
	call("GET", "/api/v1/reports/scans?dealer=dist-A", tok_a, NULL, &p);
	ck_assert_int_eq(p.status, 200);
	http_free(&p);
	call("GET", "/api/v1/reports/scans?dealer=nobody", T.admin, NULL, &p);
	assert_error(&p, 404, "unknown dealer");
	http_free(&p);
	/* A dealer learns nothing of ids outside its tree. */
	call("GET", "/api/v1/reports/scans?dealer=nobody", tok_a, NULL, &p);
	assert_error(&p, 403, "unknown dealer, as a dealer");
	http_free(&p);
	srv_stop();
}
END_TEST

START_TEST(test_report_bad_queries)
{
	static const char *const bad[] = { "?from=2026-13-01",
	    "?from=2026-11-20&to=2026-11-10", "?from=2025-01-01&to=2026-11-10",
	    "?by=week", "?region=4", "?region=44x", "?format=xml", "?to=",
	    "?dealer=" };
	struct http_resp p;
	char path[128];
	size_t i;

	srv_start(open_flags);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/reports/scans%s", bad[i]);
		call("GET", path, T.admin, NULL, &p);
		assert_error(&p, 400, bad[i]);
		http_free(&p);
	}
	srv_stop();
}
END_TEST

Suite *
report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("scans");

	tcase_add_unchecked_fixture(tc, report_case_setup,
	    report_case_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_scan_report);
	tcase_add_test(tc, test_report_csv);
	tcase_add_test(tc, test_report_privacy);
	tcase_add_test(tc, test_sketch_keyed);
	tcase_add_test(tc, test_report_auth);
	tcase_add_test(tc, test_diversion_directions);
	tcase_add_test(tc, test_alerts);
	tcase_add_test(tc, test_coarsen);
	tcase_add_test(tc, test_consumer_retention);
	tcase_add_test(tc, test_session);
	tcase_add_test(tc, test_report_bad_queries);
	tcase_add_test(tc, test_csv_formulas);
	tcase_add_test(tc, test_report_sku_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("csv");
	tcase_add_test(tc, test_csv_field);
	suite_add_tcase(s, tc);
	return s;
}
