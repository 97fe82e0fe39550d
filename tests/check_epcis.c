/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EPCIS 2.0, end to end: the events a day of operations leaves, as the
 * query, its pages, ndjson and the export give them, each document
 * checked by GS1's schema, the JSON-LD context and another CBV 2.0 hash
 * implementation; a dealer's view; capture; the push to a repository.
 */
#define _GNU_SOURCE	/* asprintf */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>

#include "srvutil.h"
#include "testutil.h"

Suite *epcis_suite(void);

#define SHANGHAI	31.2304, 121.4737	/* 310101 and around */
#define BEIJING		39.9042, 116.4074
#define CASE_GTIN	"16901234567899"
#define GLN		"9520123456788"

/* Writes a JSON value to a file in the test's directory; its path. */
static char *
save(const char *name, json_t *doc)
{
	char *path = tu_path(E.dir, name);

	ck_assert_int_eq(json_dump_file(doc, path, JSON_COMPACT), 0);
	return path;
}

/* The offline export, checked; the document. */
static json_t *
export_all(const char *name)
{
	char *out = NULL, *err = NULL, *path;
	json_t *doc;
	int rc;

	rc = run(scanapi_bin(), &out, &err, "epcis", "export", "--db", E.db,
	    "--keyring", T.kr, NULL);
	ck_assert_msg(rc == 0, "export: %s", err ? err : "");
	ck_assert_ptr_nonnull(doc = json_loads(out, 0, NULL));
	path = tu_path(E.dir, name);
	ck_assert_int_eq(tu_write_file(path, out, strlen(out)), 0);
	epcis_valid(path);
	free(path);
	free(out);
	free(err);
	return doc;
}

static json_t *
event_list(json_t *doc)
{
	json_t *l = jget(doc, "epcisBody.eventList");

	if (l == NULL)
		l = jget(doc, "epcisBody.queryResults.resultsBody.eventList");
	ck_assert_ptr_nonnull(l);
	return l;
}

/* "Type bizStep" of each event, one string. */
static char *
steps_of(json_t *events)
{
	json_t *ev;
	size_t i, n = 0;
	char *s = calloc(1, 65536);

	ck_assert_ptr_nonnull(s);
	json_array_foreach(events, i, ev)
		n += (size_t)snprintf(s + n, 65536 - n, "%s%s %s", i ? ", " : "",
		    jstr(ev, "type"), jstr(ev, "bizStep"));
	return s;
}

/* The eventIDs of events, in order. */
static char *
ids_of(json_t *events)
{
	json_t *ev;
	size_t i;
	char *s = NULL, *t;

	json_array_foreach(events, i, ev) {
		ck_assert_int_ge(asprintf(&t, "%s%s\n", s ? s : "",
		    jstr(ev, "eventID")), 0);
		free(s);
		s = t;
	}
	return s != NULL ? s : strdup("");
}

/* One query page; *next gets the next page's token ("" at the end). */
static json_t *
query_page(const char *args, const char *token, char *next, size_t len)
{
	struct http_resp p;
	struct http_req q = { "GET", NULL, NULL, token, NULL, NULL, 0 };
	char *path, link[2048], *t;
	json_t *doc;

	ck_assert_int_ge(asprintf(&path, "/api/v1/epcis/events?%s", args), 0);
	q.path = path;
	ck_assert_msg(http(E.port, &q, &p) == 200, "%s: %d %s", path,
	    p.status, p.body);
	next[0] = '\0';
	if (http_header(&p, "Link", link, sizeof(link))) {
		ck_assert_ptr_nonnull(t = strstr(link, "nextPageToken="));
		t += strlen("nextPageToken=");
		snprintf(next, len, "%.*s", (int)strcspn(t, ">&"), t);
		ck_assert_ptr_nonnull(strstr(link, "rel=\"next\""));
	}
	doc = json_incref(p.json);
	http_free(&p);
	free(path);
	return doc;
}

/* Every event a reader sees, page by page of limit; pages checked. */
static json_t *
query_all(const char *token, int limit, int *pages)
{
	json_t *all = json_array(), *doc;
	char args[256], next[128] = "";

	*pages = 0;
	do {
		snprintf(args, sizeof(args), "limit=%d%s%s", limit,
		    next[0] ? "&nextPageToken=" : "", next);
		doc = query_page(args, token, next, sizeof(next));
		ck_assert_pstr_eq(jstr(doc, "type"), "EPCISQueryDocument");
		json_array_extend(all, event_list(doc));
		if ((*pages)++ == 0) {
			char *f = save("page1.json", doc);

			epcis_valid(f);
			free(f);
		}
		json_decref(doc);
		ck_assert_int_lt(*pages, 1000);
	} while (next[0] != '\0');
	return all;
}

static void
ok_call(const char *method, const char *path, const char *token, json_t *o,
    int status)
{
	struct http_resp p;

	ck_assert_msg(call(method, path, token, o, &p) == status,
	    "%s %s: %d %s", method, path, p.status, p.body);
	http_free(&p);
}

/* A printed URL as an EPC: scheme and host in lower case. */
static char *
epc_of(const char *url)
{
	char *d = strdup(url), *c;
	size_t n = strcspn(url + 8, "/") + 8;

	ck_assert_ptr_nonnull(d);
	for (c = d; c < d + n; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strncmp(d + n, "/C/", 3) == 0)
		d[n + 1] = 'c';
	return d;
}

/* The day's goods: 24 bottles (Digital Link), 40 cases, a pallet. */
struct day {
	struct goods	items, cases, pallet;
	char		dealer[64];	/* d1's token */
};

static void
day_run(struct day *d)
{
	static const char *const dl[] = { "--format", "dl", "--gtin", GTIN,
	    "--lot", "L2026", "--expiry", "2028-12-31", NULL };
	static const char *const dlc[] = { "--format", "dl", "--gtin",
	    CASE_GTIN, NULL };
	struct http_resp p;
	char id[33];
	int i;

	dealer_add("d1", "distributor", NULL, "31");
	token_create(E.db, "dealer", "d1", d->dealer, sizeof(d->dealer));
	goods_mint_with("item", 24, dl, &d->items);
	msleep(3);
	goods_mint_with("box", 40, dlc, &d->cases);
	msleep(3);
	goods_mint("pallet", 1, &d->pallet);
	msleep(3);
	ok_call("POST", "/api/v1/packs", T.ops, json_pack("{s:s,s:o}",
	    "parent", d->cases.urls[0], "children", urls_json(&d->items, 0,
	    24)), 201);
	msleep(3);
	ok_call("POST", "/api/v1/packs", T.ops, json_pack("{s:s,s:o}",
	    "parent", d->pallet.codes[0], "children", urls_json(&d->cases, 0,
	    40)), 201);
	msleep(3);
	ok_call("POST", "/api/v1/shipments", T.admin, json_pack(
	    "{s:s,s:s,s:[s]}", "to", "d1", "ref", "DESADV 7/1", "codes",
	    d->pallet.codes[0]), 201);
	msleep(3);
	ok_call("POST", "/api/v1/receipts", d->dealer, json_pack(
	    "{s:s,s:[s],s:f,s:f}", "kind", "receive", "codes",
	    d->pallet.codes[0], "lat", 31.2304, "lon", 121.4737), 201);
	msleep(3);
	ok_call("POST", "/api/v1/receipts", d->dealer, json_pack(
	    "{s:s,s:[s]}", "kind", "open", "codes", d->cases.urls[0]), 201);
	/* 10 consumer scans: 8 first, a repeat, and one in Beijing */
	for (i = 0; i < 10; i++) {
		msleep(3);
		if (i < 9)
			ck_assert_int_eq(scan_at(d->items.urls[i < 8 ? i : 0],
			    "c-1", SHANGHAI, &p), 200);
		else
			ck_assert_int_eq(scan_at(d->items.urls[1], "c-2",
			    BEIJING, &p), 200);
		http_free(&p);
	}
	msleep(3);
	read_batch_id(d->items.dir, id);
	ok_call("POST", "/api/v1/admin/revocations", T.admin, json_pack(
	    "{s:s,s:s}", "batch", id, "reason", "recall"), 201);
}

static void
day_free(struct day *d)
{
	goods_free(&d->items);
	goods_free(&d->cases);
	goods_free(&d->pallet);
}

/* The event whose bizStep (and, for aggregations, type) is step. */
static json_t *
find(json_t *events, const char *type, const char *step, int nth)
{
	json_t *ev;
	size_t i;

	json_array_foreach(events, i, ev)
		if (strcmp(jstr(ev, "type"), type) == 0 &&
		    strcmp(jstr(ev, "bizStep"), step) == 0 && nth-- == 0)
			return ev;
	ck_abort_msg("no %s %s", type, step);
	return NULL;
}

#define CONSUMER	"urn:yima:epcis:BizStep-consumer_verification"

START_TEST(test_epcis_day)
{
	static const char expected[] =
	    /* the fixture's two imports, then the day */
	    "ObjectEvent commissioning, ObjectEvent commissioning, "
	    "ObjectEvent commissioning, ObjectEvent commissioning, "
	    "ObjectEvent commissioning, "
	    "AggregationEvent packing, AggregationEvent packing, "
	    "ObjectEvent shipping, ObjectEvent receiving, "
	    "AggregationEvent unpacking, "
	    "ObjectEvent " CONSUMER ", ObjectEvent " CONSUMER ", "
	    "ObjectEvent " CONSUMER ", ObjectEvent " CONSUMER ", "
	    "ObjectEvent " CONSUMER ", ObjectEvent " CONSUMER ", "
	    "ObjectEvent " CONSUMER ", ObjectEvent " CONSUMER ", "
	    "ObjectEvent " CONSUMER ", ObjectEvent " CONSUMER ", "
	    "ObjectEvent decommissioning";
	struct day d;
	json_t *doc, *doc2, *ev, *l, *all, *dl;
	char *steps, *ids, *ids2, *text, *s, *e0, *e1, last[48] = "";
	size_t i;
	int pages, genuine = 0, repeat = 0, suspect = 0;

	srv_start(NULL);
	day_run(&d);
	doc = export_all("export1.jsonld");
	l = event_list(doc);
	steps = steps_of(l);
	ck_assert_msg(strcmp(steps, expected) == 0, "events: %s", steps);
	/* in time order, China time */
	json_array_foreach(l, i, ev) {
		ck_assert_msg(strcmp(jstr(ev, "eventTime"), last) >= 0,
		    "event %zu at %s after %s", i, jstr(ev, "eventTime"), last);
		snprintf(last, sizeof(last), "%s", jstr(ev, "eventTime"));
		ck_assert_ptr_nonnull(strstr(last, "+08:00"));
		ck_assert_pstr_eq(jstr(ev, "eventTimeZoneOffset"), "+08:00");
		ck_assert_int_eq(strncmp(jstr(ev, "eventID"),
		    "ni:///sha-256;", 14), 0);
	}
	/* the same ids exported again */
	doc2 = export_all("export2.jsonld");
	ids = ids_of(l);
	ids2 = ids_of(event_list(doc2));
	ck_assert_str_eq(ids, ids2);
	json_decref(doc2);

	/* what the events say */
	ev = find(l, "ObjectEvent", "commissioning", 2);
	ck_assert_int_eq(json_array_size(jget(ev, "epcList")), 24);
	e0 = epc_of(d.items.urls[0]);
	ck_assert_str_eq(json_string_value(json_array_get(jget(ev, "epcList"),
	    0)), e0);
	ck_assert_pstr_eq(jstr(ev, "ilmd.cbvmda:lotNumber"), "L2026");
	ck_assert_pstr_eq(jstr(ev, "ilmd.cbvmda:itemExpirationDate"),
	    "2028-12-31");
	ck_assert_pstr_eq(jstr(ev, "disposition"), "active");
	ev = find(l, "AggregationEvent", "packing", 0);
	e1 = epc_of(d.cases.urls[0]);
	ck_assert_pstr_eq(jstr(ev, "parentID"), e1);
	ck_assert_pstr_eq(jstr(ev, "action"), "ADD");
	ck_assert_int_eq(json_array_size(jget(ev, "childEPCs")), 24);
	ev = find(l, "AggregationEvent", "packing", 1);
	ck_assert_int_eq(json_array_size(jget(ev, "childEPCs")), 40);
	ev = find(l, "ObjectEvent", "shipping", 0);
	ck_assert_int_eq(json_array_size(jget(ev, "epcList")), 1);
	ck_assert_pstr_eq(jstr(ev, "disposition"), "in_transit");
	ck_assert_pstr_eq(jstr(ev, "bizTransactionList.0.type"), "desadv");
	ck_assert_pstr_eq(jstr(ev, "bizTransactionList.0.bizTransaction"),
	    "https://yima.example.com/desadv/DESADV%207%2F1");
	ck_assert_pstr_eq(jstr(ev, "sourceList.0.source"),
	    "https://yima.example.com");
	ck_assert_pstr_eq(jstr(ev, "destinationList.0.type"), "owning_party");
	ck_assert_pstr_eq(jstr(ev, "destinationList.0.destination"),
	    "https://yima.example.com/party/d1");
	ev = find(l, "ObjectEvent", "receiving", 0);
	ck_assert_pstr_eq(jstr(ev, "bizLocation.id"),
	    "https://yima.example.com/party/d1");
	ev = find(l, "AggregationEvent", "unpacking", 0);
	ck_assert_pstr_eq(jstr(ev, "parentID"), e1);
	ck_assert_pstr_eq(jstr(ev, "action"), "DELETE");
	for (i = 0; i < 10; i++) {
		ev = find(l, "ObjectEvent", CONSUMER, (int)i);
		genuine += strcmp(jstr(ev, "yima:verdict"), "genuine") == 0;
		repeat += strcmp(jstr(ev, "yima:verdict"), "repeat") == 0;
		suspect += strcmp(jstr(ev, "yima:verdict"), "suspect") == 0;
		ck_assert_pstr_eq(jstr(ev, "readPoint.id"), i < 9 ?
		    "geo:31.2,121.5" : "geo:39.9,116.4");
		ck_assert_int_eq(strncmp(jstr(ev, "yima:region"), i < 9 ?
		    "31" : "11", 2), 0);
	}
	/* (Beijing minutes after Shanghai: a journey no one makes) */
	ck_assert_int_eq(genuine, 8);
	ck_assert_int_eq(repeat, 1);
	ck_assert_int_eq(suspect, 1);
	ev = find(l, "ObjectEvent", "decommissioning", 0);
	ck_assert_pstr_eq(jstr(ev, "yima:revocationReason"), "recall");
	ck_assert_pstr_eq(jstr(ev, "disposition"), "inactive");
	ck_assert_int_eq(json_array_size(jget(ev, "epcList")), 24);
	/* no consumer id, client address or exact place is published */
	ck_assert_ptr_nonnull(text = json_dumps(doc, JSON_COMPACT));
	ck_assert_ptr_null(strstr(text, "c-1"));
	ck_assert_ptr_null(strstr(text, "127.0.0.1"));
	ck_assert_ptr_null(strstr(text, "31.23"));
	ck_assert_ptr_null(strstr(text, "consumer\""));
	/* no cap-inside code either: the fixture's inner codes */
	ck_assert_ptr_null(strstr(text, T.inner.codes[0]));
	free(text);

	/* the query, page by page, gives the same events */
	all = query_all(T.admin, 4, &pages);
	ck_assert_int_ge(pages, 6);
	s = ids_of(all);
	ck_assert_str_eq(s, ids);
	free(s);
	json_decref(all);
	/* ndjson: one event a line, the same again */
	{
		struct http_resp p;
		struct http_req q = { "GET", "/api/v1/epcis/events?"
		    "format=ndjson", NULL, T.admin, NULL, NULL, 0 };
		char *line, *save_p, *f;

		ck_assert_int_eq(http(E.port, &q, &p), 200);
		dl = json_array();
		for (line = strtok_r(p.body, "\n", &save_p); line != NULL;
		    line = strtok_r(NULL, "\n", &save_p))
			json_array_append_new(dl, json_loads(line, 0, NULL));
		http_free(&p);
		s = ids_of(dl);
		ck_assert_str_eq(s, ids);
		free(s);
		doc2 = json_pack("{s:O,s:s,s:s,s:s,s:{s:o}}", "@context",
		    jget(doc, "@context"), "type", "EPCISDocument",
		    "schemaVersion", "2.0", "creationDate",
		    "2026-12-04T10:00:00.000+08:00", "epcisBody", "eventList",
		    dl);
		f = save("ndjson.jsonld", doc2);
		epcis_valid(f);
		free(f);
		json_decref(doc2);
	}
	/* filters: by type, bizStep and epc */
	{
		char next[128];
		char *args;

		doc2 = query_page("type=AggregationEvent", T.admin, next,
		    sizeof(next));
		s = steps_of(event_list(doc2));
		ck_assert_str_eq(s, "AggregationEvent packing, AggregationEvent "
		    "packing, AggregationEvent unpacking");
		free(s);
		json_decref(doc2);
		doc2 = query_page("bizStep=https://ref.gs1.org/cbv/"
		    "BizStep-shipping", T.admin, next, sizeof(next));
		ck_assert_int_eq(json_array_size(event_list(doc2)), 1);
		json_decref(doc2);
		/* a bottle: commissioning, packing, three scans, recall */
		ck_assert_int_ge(asprintf(&args, "epc=%s", e0), 0);
		doc2 = query_page(args, T.admin, next, sizeof(next));
		s = steps_of(event_list(doc2));
		ck_assert_str_eq(s, "ObjectEvent commissioning, AggregationEvent"
		    " packing, ObjectEvent " CONSUMER ", ObjectEvent " CONSUMER
		    ", ObjectEvent decommissioning");
		free(s);
		free(args);
		json_decref(doc2);
	}
	/* the dealer: its goods' events, scans only in its territory */
	{
		char next[128];

		doc2 = query_page("limit=1000", d.dealer, next, sizeof(next));
		s = steps_of(event_list(doc2));
		ck_assert_msg(strstr(s, "ObjectEvent shipping") != NULL &&
		    strstr(s, "ObjectEvent receiving") != NULL, "%s", s);
		json_array_foreach(event_list(doc2), i, ev)
			ck_assert_msg(jget(ev, "readPoint.id") == NULL ||
			    strcmp(jstr(ev, "readPoint.id"), "geo:39.9,116.4") !=
			    0, "a scan outside d1's territory: %s", s);
		/* 8 first scans and the repeat in Shanghai */
		ck_assert_ptr_nonnull(strstr(s, CONSUMER));
		/* packing twice, shipping, receiving, opening, nine scans;
		 * not the batches' (de)commissioning: other dealers' goods */
		ck_assert_int_eq((int)(json_array_size(event_list(doc2))), 2 + 1 +
		    1 + 1 + 9);
		ck_assert_ptr_null(strstr(s, "commissioning"));
		free(s);
		json_decref(doc2);
	}
	json_decref(doc);
	free(steps);
	free(ids);
	free(ids2);
	free(e0);
	free(e1);
	day_free(&d);
	srv_stop();
}
END_TEST

/* Bad queries are refused with a reason, and a stranger sees nothing. */
START_TEST(test_epcis_query_errors)
{
	static const char *const bad[] = { "limit=0", "limit=1001",
	    "limit=x", "from=yesterday",
	    ("from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z"), "type=TransformationEvent",
	    "nextPageToken=abc", "nextPageToken=1.2.3", "format=xml",
	    "epc=https://yima.example.com/c/0000", "limit=" };
	struct http_resp p;
	struct http_req q = { "GET", NULL, NULL, NULL, NULL, NULL, 0 };
	char path[256], next[128], tok[64];
	json_t *doc;
	size_t i;

	srv_start(NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/epcis/events?%s", bad[i]);
		q.path = path;
		q.token = T.admin;
		ck_assert_msg(http(E.port, &q, &p) == 400, "%s: %d", bad[i],
		    p.status);
		assert_error(&p, 400, bad[i]);
		http_free(&p);
	}
	q.path = "/api/v1/epcis/events";
	q.token = NULL;
	ck_assert_int_eq(http(E.port, &q, &p), 401);
	http_free(&p);
	q.token = T.ops;
	ck_assert_int_eq(http(E.port, &q, &p), 403);
	http_free(&p);
	/* a dealer with no goods sees no event at all */
	dealer_add("d2", "dealer", NULL, NULL);
	token_create(E.db, "dealer", "d2", tok, sizeof(tok));
	doc = query_page("limit=10", tok, next, sizeof(next));
	ck_assert_int_eq(json_array_size(event_list(doc)), 0);
	ck_assert_str_eq(next, "");
	json_decref(doc);
	srv_stop();
}
END_TEST

/* ---- capture ---- */

static json_t *
epcis_doc(json_t *events)
{
	return json_pack("{s:[s],s:s,s:s,s:s,s:{s:o}}", "@context",
	    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld", "type",
	    "EPCISDocument", "schemaVersion", "2.0", "creationDate",
	    "2026-12-04T10:00:00.000+08:00", "epcisBody", "eventList", events);
}

static json_t *
pack_event(const char *parent, json_t *children)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s}", "type",
	    "AggregationEvent", "eventTime", "2026-12-04T10:00:00.000+08:00",
	    "eventTimeZoneOffset", "+08:00", "parentID", parent, "childEPCs",
	    children, "action", "ADD", "bizStep",
	    "https://ref.gs1.org/cbv/BizStep-packing");
}

static int
capture(json_t *doc, const char *behaviour, struct http_resp *p)
{
	struct http_req q = { "POST", "/api/v1/epcis/capture",
	    "application/ld+json", T.ops, NULL, NULL, 0 };
	char hdr[96];
	char *body = json_dumps(doc, JSON_COMPACT);
	int st;

	json_decref(doc);
	if (behaviour != NULL) {
		snprintf(hdr, sizeof(hdr), "GS1-Capture-Error-Behaviour: %s\r\n",
		    behaviour);
		q.headers = hdr;
	}
	q.body = body;
	st = http(E.port, &q, p);
	free(body);
	return st;
}

/* The capture job Location names, once finished. */
static json_t *
capture_job(const struct http_resp *p)
{
	struct http_resp j;
	char loc[256];
	json_t *o;

	ck_assert(http_header(p, "Location", loc, sizeof(loc)));
	ck_assert_int_eq(strncmp(loc, "/api/v1/epcis/capture/", 22), 0);
	ck_assert_int_eq(call("GET", loc, T.ops, NULL, &j), 200);
	o = json_incref(j.json);
	http_free(&j);
	ck_assert(json_is_false(jget(o, "running")));
	return o;
}

static long long
chain_print(void)
{
	return db_int("SELECT (SELECT COUNT(*) FROM packs) * 1000003 +"
	    " (SELECT COUNT(*) FROM shipments) * 1009 +"
	    " (SELECT COUNT(*) FROM epcis_events) * 7 +"
	    " (SELECT COUNT(*) FROM receipts)");
}

START_TEST(test_epcis_capture)
{
	static const char *const dl[] = { "--format", "dl", "--gtin", GTIN,
	    NULL };
	struct goods it, bx;
	struct http_resp p;
	json_t *doc, *job, *evs, *ev, *a, *b;
	long long before;
	char *big, buf[32];
	size_t i;

	srv_start(NULL);
	goods_mint_with("item", 12, dl, &it);
	goods_mint("box", 3, &bx);
	/* GLNs are checked as GS1 does */
	ok_call("PUT", "/api/v1/admin/dealers/d1", T.admin, json_pack(
	    "{s:s,s:s,s:s}", "name", "East", "type", "distributor", "gln",
	    "9520123456780"), 400);
	ok_call("PUT", "/api/v1/admin/dealers/d1", T.admin, json_pack(
	    "{s:s,s:s,s:s}", "name", "East", "type", "distributor", "gln",
	    "952012345678"), 400);
	ok_call("PUT", "/api/v1/admin/dealers/d1", T.admin, json_pack(
	    "{s:s,s:s}", "name", "East", "type", "distributor"), 201);
	ok_call("PUT", "/api/v1/admin/dealers/d1", T.admin, json_pack(
	    "{s:s,s:s,s:s}", "name", "East", "type", "distributor", "gln",
	    GLN), 200);

	/* a packing captured equals one through /api/v1/packs */
	ck_assert_int_eq(capture(epcis_doc(json_pack("[o]", pack_event(
	    bx.urls[0], urls_json(&it, 0, 4)))), NULL, &p), 202);
	ck_assert(http_header(&p, "GS1-EPCIS-Capture-Limit", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "10000");
	job = capture_job(&p);
	ck_assert(json_is_true(jget(job, "success")));
	ck_assert_int_eq(jint(job, "applied"), 1);
	json_decref(job);
	http_free(&p);
	ok_call("POST", "/api/v1/packs", T.ops, json_pack("{s:s,s:o}",
	    "parent", bx.urls[1], "children", urls_json(&it, 4, 4)), 201);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs WHERE parent = %lld"
	    " AND last - first = 3 AND unpacked_at IS NULL", bx.serials[0]), 1);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs WHERE parent = %lld"
	    " AND last - first = 3 AND unpacked_at IS NULL", bx.serials[1]), 1);
	doc = export_all("capture.jsonld");
	evs = event_list(doc);
	a = find(evs, "AggregationEvent", "packing", 0);
	b = find(evs, "AggregationEvent", "packing", 1);
	ck_assert_int_eq(json_array_size(jget(a, "childEPCs")), 4);
	ck_assert_int_eq(json_array_size(jget(b, "childEPCs")), 4);
	json_decref(doc);

	/* rollback: one bad event (items packed elsewhere) changes nothing */
	before = chain_print();
	ck_assert_int_eq(capture(epcis_doc(json_pack("[o,o]", pack_event(
	    bx.urls[2], urls_json(&it, 8, 4)), pack_event(bx.urls[2],
	    urls_json(&it, 0, 1)))), NULL, &p), 202);
	job = capture_job(&p);
	ck_assert_msg(json_is_false(jget(job, "success")), "%s",
	    json_dumps(job, 0));
	ck_assert_pstr_eq(jstr(job, "status"), "failed");
	ck_assert_int_eq(jint(job, "errors.0.eventIndex"), 1);
	ck_assert_pstr_eq(jstr(job, "errors.0.code"), "conflict");
	json_decref(job);
	http_free(&p);
	ck_assert_int_eq(chain_print(), before);
	/* proceed: the good one goes in, the bad one is listed */
	ck_assert_int_eq(capture(epcis_doc(json_pack("[o,o]", pack_event(
	    bx.urls[2], urls_json(&it, 8, 4)), pack_event(bx.urls[2],
	    urls_json(&it, 0, 1)))), "proceed", &p), 202);
	job = capture_job(&p);
	ck_assert_pstr_eq(jstr(job, "status"), "partial");
	ck_assert_int_eq(jint(job, "applied"), 1);
	ck_assert_int_eq(jint(job, "errors.0.eventIndex"), 1);
	json_decref(job);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs WHERE parent = %lld",
	    bx.serials[2]), 1);

	/* shipping to a dealer named by its GLN, then received there */
	before = chain_print();
	ev = json_pack("{s:s,s:s,s:s,s:[s],s:s,s:s,s:s,s:[{s:s,s:s}],"
	    "s:[{s:s,s:s}]}", "type", "ObjectEvent", "eventTime",
	    "2026-12-04T10:00:00Z", "eventTimeZoneOffset", "+00:00", "epcList",
	    bx.urls[0], "action", "OBSERVE", "bizStep", "shipping",
	    "disposition", "in_transit", "bizTransactionList", "type", "desadv",
	    "bizTransaction", "urn:epcglobal:cbv:bt:9520123456788:DN-9",
	    "destinationList", "type", "owning_party", "destination",
	    "https://id.gs1.org/417/" GLN);
	ck_assert_int_eq(capture(epcis_doc(json_pack("[o]", ev)), NULL, &p),
	    202);
	job = capture_job(&p);
	ck_assert_msg(json_is_true(jget(job, "success")), "%s", p.body);
	json_decref(job);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM shipments WHERE dealer ="
	    " 'd1' AND ref = 'urn:epcglobal:cbv:bt:9520123456788:DN-9'"), 2);
	doc = export_all("gln.jsonld");
	ev = find(event_list(doc), "ObjectEvent", "shipping", 0);
	ck_assert_pstr_eq(jstr(ev, "destinationList.0.destination"),
	    "https://id.gs1.org/417/" GLN);
	ck_assert_pstr_eq(jstr(ev, "destinationList.1.destination"),
	    "https://id.gs1.org/414/" GLN);
	json_decref(doc);
	ck_assert_int_ne(chain_print(), before);

	/* malformed: 400 naming the event and field; nothing changes */
	before = chain_print();
	{
		static const char *const fields[] = { "action", "parentID",
		    "childEPCs", "bizStep", "destinationList", "type" };
		json_t *bad[6];

		bad[0] = pack_event(bx.urls[2], urls_json(&it, 11, 1));
		json_object_del(bad[0], "action");
		bad[1] = pack_event("https://yima.example.com/c/00000000000"
		    "00000000000000", urls_json(&it, 11, 1));
		bad[2] = pack_event(bx.urls[2], json_pack("[s]",
		    "https://example.com/01/09506000134352/21/x"));
		bad[3] = pack_event(bx.urls[2], urls_json(&it, 11, 1));
		json_object_set_new(bad[3], "bizStep", json_string("repairing"));
		bad[4] = json_pack("{s:s,s:s,s:s,s:[s],s:s,s:s}", "type",
		    "ObjectEvent", "eventTime", "2026-12-04T10:00:00Z",
		    "eventTimeZoneOffset", "+00:00", "epcList", bx.urls[1],
		    "action", "OBSERVE", "bizStep", "shipping");
		bad[5] = json_pack("{s:s}", "type", "TransformationEvent");
		for (i = 0; i < 6; i++) {
			ck_assert_int_eq(capture(epcis_doc(json_pack("[o,o]",
			    pack_event(bx.urls[2], urls_json(&it, 10, 1)),
			    bad[i])), NULL, &p), 400);
			ck_assert_int_eq(jint(p.json, "errors.0.eventIndex"), 1);
			ck_assert_msg(strcmp(jstr(p.json, "errors.0.field"),
			    fields[i]) == 0, "%zu: %s", i, p.body);
			http_free(&p);
		}
	}
	ck_assert_int_eq(capture(json_pack("{s:s}", "type", "EPCISDocument"),
	    NULL, &p), 400);
	http_free(&p);
	/* over the limits: 413 */
	evs = json_array();
	for (i = 0; i < 10001; i++)
		json_array_append_new(evs, json_pack("{s:s}", "type",
		    "ObjectEvent"));
	ck_assert_int_eq(capture(epcis_doc(evs), NULL, &p), 413);
	http_free(&p);
	/* a document over 16 MiB, announced: refused before it is read */
	{
		int fd = http_connect(E.port);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_ge(asprintf(&big, "POST /api/v1/epcis/capture "
		    "HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
		    "Content-Type: application/ld+json\r\nContent-Length: %d\r\n"
		    "Connection: close\r\n\r\n{", T.ops, (16 << 20) + 1), 0);
		ck_assert_int_eq(send_all(fd, big, strlen(big)), 0);
		memset(&p, 0, sizeof(p));
		http_recv(fd, &p);
		close(fd);
		assert_error(&p, 413, "16777216");
		http_free(&p);
		free(big);
	}
	ck_assert_int_eq(chain_print(), before);
	/* a dealer may not capture */
	{
		struct http_req q = { "POST", "/api/v1/epcis/capture",
		    "application/ld+json", T.dealer, NULL, "{}", 0 };

		ck_assert_int_eq(http(E.port, &q, &p), 403);
		http_free(&p);
	}
	goods_free(&it);
	goods_free(&bx);
	srv_stop();
}
END_TEST

/* ---- the push ---- */

/* A repository's capture endpoint on loopback: it fails the first
 * `fail` requests, then keeps every eventID it is sent. */
struct receiver {
	struct MHD_Daemon	*d;
	int			 port;
	pthread_mutex_t		 lock;
	int			 fail, requests, accepted, refused;
	json_t			*ids;	/* eventID -> times */
};

struct upload {
	char	*data;
	size_t	 len;
};

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **con_cls)
{
	struct receiver *rv = cls;
	struct upload *u = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result r;
	json_t *doc, *ev;
	size_t i;
	int status = 202;

	(void)version;
	if (u == NULL) {
		*con_cls = calloc(1, sizeof(*u));
		return *con_cls != NULL ? MHD_YES : MHD_NO;
	}
	if (*size > 0) {
		u->data = realloc(u->data, u->len + *size + 1);
		memcpy(u->data + u->len, data, *size);
		u->len += *size;
		u->data[u->len] = '\0';
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&rv->lock);
	rv->requests++;
	if (strcmp(method, "POST") != 0 || strcmp(url, "/capture") != 0)
		status = 404;
	else if (rv->fail > 0) {
		rv->fail--;
		status = 503;
	} else if ((doc = json_loadb(u->data ? u->data : "", u->len, 0,
	    NULL)) == NULL)
		status = 400;
	else if (strstr(u->data, "\"poison\"") != NULL) {
		/* one event it will never take */
		rv->refused++;
		status = 400;
		json_decref(doc);
	} else {
		json_array_foreach(jget(doc, "epcisBody.eventList"), i, ev) {
			const char *id = jstr(ev, "eventID");
			json_t *n = json_object_get(rv->ids, id);

			json_object_set_new(rv->ids, id, json_integer(
			    n ? json_integer_value(n) + 1 : 1));
		}
		rv->accepted++;
		json_decref(doc);
	}
	pthread_mutex_unlock(&rv->lock);
	resp = MHD_create_response_from_buffer(0, (void *)"",
	    MHD_RESPMEM_PERSISTENT);
	r = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return r;
}

static void
on_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (u != NULL) {
		free(u->data);
		free(u);
	}
	*con_cls = NULL;
}

static void
receiver_start(struct receiver *rv)
{
	const union MHD_DaemonInfo *info;

	rv->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG, (uint16_t)rv->port, NULL, NULL, on_request, rv,
	    MHD_OPTION_NOTIFY_COMPLETED, on_done, rv,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
	ck_assert_ptr_nonnull(rv->d);
	info = MHD_get_daemon_info(rv->d, MHD_DAEMON_INFO_BIND_PORT);
	rv->port = info->port;
}

/* Waits (30 s at most) until the outbox is empty. */
static void
outbox_drained(void)
{
	int i;

	for (i = 0; i < 300; i++) {
		if (db_int("SELECT COUNT(*) FROM epcis_outbox") == 0)
			return;
		msleep(100);
	}
	ck_abort_msg("the outbox still holds %lld events",
	    db_int("SELECT COUNT(*) FROM epcis_outbox"));
}

START_TEST(test_epcis_push)
{
	struct receiver rv;
	struct goods g;
	struct http_resp p;
	char url[64], *flags[4];
	json_t *doc, *ev;
	size_t i;
	int k, st;

	memset(&rv, 0, sizeof(rv));
	pthread_mutex_init(&rv.lock, NULL);
	rv.ids = json_object();
	rv.fail = 3;		/* the first attempts fail */
	receiver_start(&rv);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/capture", rv.port);
	flags[0] = "--epcis-push";
	flags[1] = url;
	flags[2] = NULL;
	srv_start((const char *const *)flags);
	goods_mint("item", 6, &g);
	for (k = 0; k < 6; k++) {
		ck_assert_int_eq(scan(g.urls[k], NULL, &p), 200);
		http_free(&p);
	}
	outbox_drained();
	pthread_mutex_lock(&rv.lock);
	ck_assert_int_ge(rv.requests, 4);	/* 3 refused, then taken */
	pthread_mutex_unlock(&rv.lock);
	/* the receiver goes away; events wait in the outbox */
	MHD_stop_daemon(rv.d);
	for (k = 0; k < 6; k++) {
		ck_assert_int_eq(scan(g.urls[k], NULL, &p), 200);
		http_free(&p);
	}
	ok_call("POST", "/api/v1/admin/revocations", T.admin, json_pack(
	    "{s:s,s:s}", "code", g.codes[5], "reason", "lost"), 201);
	ck_assert_int_ge(db_int("SELECT COUNT(*) FROM epcis_outbox"), 7);
	/* yima is killed mid-way; restarted, it pushes what waited */
	ck_assert_int_eq(kill(E.pid, SIGKILL), 0);
	st = wait_exit(E.pid, 10);
	ck_assert_int_ne(st, -1);
	E.pid = 0;
	receiver_start(&rv);
	srv_start((const char *const *)flags);
	for (k = 0; k < 3; k++) {
		ck_assert_int_eq(scan(g.urls[k], NULL, &p), 200);
		http_free(&p);
	}
	/* an event the receiver refuses is given up alone */
	ok_call("POST", "/api/v1/admin/revocations", T.admin, json_pack(
	    "{s:s,s:s}", "code", g.codes[3], "reason", "poison"), 201);
	for (k = 0; k < 3; k++) {
		ck_assert_int_eq(scan(g.urls[k], NULL, &p), 200);
		http_free(&p);
	}
	outbox_drained();
	pthread_mutex_lock(&rv.lock);
	ck_assert_int_ge(rv.refused, 1);
	pthread_mutex_unlock(&rv.lock);
	/* every event, each at least once, none missing */
	doc = export_all("pushed.jsonld");
	json_array_foreach(event_list(doc), i, ev) {
		const char *id = jstr(ev, "eventID");

		pthread_mutex_lock(&rv.lock);
		ck_assert_msg(json_object_get(rv.ids, id) != NULL ||
		    strcmp(jstr(ev, "bizStep"), "commissioning") == 0 ||
		    jstr(ev, "yima:revocationReason") != NULL,
		    "event %zu (%s) was not pushed", i, jstr(ev, "bizStep"));
		pthread_mutex_unlock(&rv.lock);
	}
	/* (the fixture's imports came before the push was enabled) */
	ck_assert_int_eq(json_object_size(rv.ids),
	    json_array_size(event_list(doc)) - 2 - 1);
	json_decref(doc);
	/* /metrics shows the outbox and the failures */
	ck_assert_int_eq(get("/metrics", NULL, &p), 200);
	ck_assert(metric(p.body, "yima_epcis_outbox_depth") == 0);
	ck_assert(metric(p.body, "yima_epcis_push_events_total") >= 3);
	ck_assert(metric(p.body, "yima_epcis_push_dropped_total") == 1);
	http_free(&p);
	srv_stop();
	/* no node pushes any more: the outbox stops filling */
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM sqlite_master WHERE"
	    " type = 'trigger' AND name LIKE 'epcis_outbox%%'"), 2);
	ck_assert_int_eq(run(scanapi_bin(), NULL, NULL, "epcis", "push-off",
	    "--db", E.db, NULL), 0);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM sqlite_master WHERE"
	    " type = 'trigger' AND name LIKE 'epcis_outbox%%'"), 0);
	srv_start(NULL);
	ck_assert_int_eq(scan(g.urls[4], NULL, &p), 200);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM epcis_outbox"), 0);
	srv_stop();
	MHD_stop_daemon(rv.d);
	json_decref(rv.ids);
	pthread_mutex_destroy(&rv.lock);
	goods_free(&g);
}
END_TEST

Suite *
epcis_suite(void)
{
	Suite *s = suite_create("epcis");
	TCase *tc = srv_tcase("epcis", 240);

	tcase_add_test(tc, test_epcis_day);
	tcase_add_test(tc, test_epcis_query_errors);
	tcase_add_test(tc, test_epcis_capture);
	tcase_add_test(tc, test_epcis_push);
	suite_add_tcase(s, tc);
	return s;
}
