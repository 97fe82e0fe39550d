/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Products and the GS1 Digital Link resolver, end to end: the real
 * server over loopback HTTP, its linksets checked against GS1's schema.
 */
#define _GNU_SOURCE	/* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <check.h>
#include <jansson.h>

#include "yima/dl.h"

#include "srvutil.h"
#include "testutil.h"

Suite *product_suite(void);

#define PRODUCT	"/api/v1/admin/products/" GTIN

static json_t *
product_body(void)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:[{s:s,s:s,s:s,s:s},"
	    "{s:s,s:s,s:s}],s:{s:s}}", "name", "青岛啤酒 经典 500ml",
	    "brand", "青岛啤酒", "spec", "500ml", "image_url",
	    "/dashboard/bottle.svg", "description", "Brewed in Qingdao.",
	    "shelf_life_days", 365, "links", "rel", "gs1:pip", "href",
	    "https://brand.example/p/500", "title", "Product page", "lang", "en",
	    "rel", "https://gs1.org/voc/certificationInfo", "href",
	    "https://brand.example/cert", "title", "Certificates", "names",
	    "en", "Tsingtao Classic 500ml");
}

static void
put_product(void)
{
	struct http_resp p;

	ck_assert_int_eq(call("PUT", PRODUCT, T.admin, product_body(), &p),
	    201);
	http_free(&p);
}

/* Every change to products: rows and their times. */
static long long
products_print(void)
{
	return db_int("SELECT COUNT(*) * 1000000007 + IFNULL(SUM(updated_at),"
	    " 0) FROM products");
}

START_TEST(test_products)
{
	static const struct {
		const char	*path, *token, *body, *what;
		int		 status;
	} bad[] = {
		{ PRODUCT, NULL, "{\"name\":\"a\",\"brand\":\"b\"}", "bearer",
		  401 },
		{ PRODUCT, "ops", "{\"name\":\"a\",\"brand\":\"b\"}", "role",
		  403 },
		{ "/api/v1/admin/products/06901234567893", "", "{\"name\":\"a\","
		  "\"brand\":\"b\"}", "check digit", 400 },
		{ "/api/v1/admin/products/690123456789", "", "{\"name\":\"a\","
		  "\"brand\":\"b\"}", "check digit", 400 },
		{ PRODUCT, "", "{\"brand\":\"b\"}", "\"name\"", 400 },
		{ PRODUCT, "", "{\"name\":\"a\"}", "\"brand\"", 400 },
		{ PRODUCT, "", "{\"name\":\"a\",\"brand\":\"b\",\"colour\":1}",
		  "\"colour\"", 400 },
		{ PRODUCT, "", "{\"name\":\"a\\u0001b\",\"brand\":\"b\"}",
		  "\"name\"", 400 },
		{ PRODUCT, "", "{\"name\":\"a\",\"brand\":\"b\",\"image_url\":"
		  "\"javascript:alert(1)\"}", "\"image_url\"", 400 },
		{ PRODUCT, "", "{\"name\":\"a\",\"brand\":\"b\",\"image_url\":"
		  "\"//evil.example/x.png\"}", "\"image_url\"", 400 },
		{ PRODUCT, "", "{\"name\":\"a\",\"brand\":\"b\",\"links\":[{"
		  "\"rel\":\"gs1:nosuchThing\",\"href\":\"https://a.b/\","
		  "\"title\":\"t\"}]}", "links[].rel", 400 },
		{ PRODUCT, "", "{\"name\":\"a\",\"brand\":\"b\",\"links\":[{"
		  "\"rel\":\"pip\",\"href\":\"https://a.b/\",\"title\":\"t\"}]}",
		  "links[].rel", 400 },
		{ PRODUCT, "", "{\"name\":\"a\",\"brand\":\"b\",\"links\":[{"
		  "\"rel\":\"gs1:pip\",\"href\":\"https://a.b/\"}]}",
		  "links[].title", 400 },
		{ PRODUCT, "", "{\"name\":\"a\",\"brand\":\"b\",\"links\":[{"
		  "\"rel\":\"gs1:pip\",\"href\":\"https://a.b/\",\"title\":\"t\","
		  "\"lang\":\"english\"}]}", "links[].lang", 400 },
		{ PRODUCT, "", "{\"name\":\"a\",\"brand\":\"b\",\"names\":"
		  "{\"english\":\"x\"}}", "\"names\"", 400 },
		{ PRODUCT, "", "{\"name\":\"a\",\"brand\":\"b\","
		  "\"shelf_life_days\":0}", "shelf_life_days", 400 },
		{ PRODUCT, "", "{\"name\":\"a\",\"brand\":\"b\",\"gtin\":"
		  "\"09520123456788\"}", "\"gtin\"", 400 },
		{ PRODUCT, "", "[1]", "object", 400 },
		{ PRODUCT, "", "{\"name\":\"a\",\"brand\":\"b\",\"颜色颜色颜色颜色"
		  "颜色颜色颜色颜色颜色颜色颜色颜色颜色颜色颜色颜色颜色颜色颜色颜色颜色颜色\":1}",
		  "(a field)", 400 },
	};
	struct http_resp p;
	struct http_req q = { "PUT", NULL, "application/json", NULL, NULL,
	    NULL, 0 };
	char *name;
	long long before;
	json_t *o;
	size_t i;

	srv_start(open_flags);
	/* A GTIN-13 in the path is stored as its GTIN-14. */
	ck_assert_int_eq(call("PUT", "/api/v1/admin/products/6901234567892",
	    T.admin, product_body(), &p), 201);
	ck_assert_pstr_eq(jstr(p.json, "gtin"), GTIN);
	ck_assert_pstr_eq(jstr(p.json, "links.0.rel"), "gs1:pip");
	ck_assert_pstr_eq(jstr(p.json, "links.1.rel"), "gs1:certificationInfo");
	http_free(&p);
	ck_assert_int_eq(call("PUT", PRODUCT, T.admin, product_body(), &p),
	    200);
	http_free(&p);
	/* Anyone reads products: what the packaging says anyway. */
	ck_assert_int_eq(get("/api/v1/products/" GTIN, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "name"), "青岛啤酒 经典 500ml");
	ck_assert_pstr_eq(jstr(p.json, "names.en"), "Tsingtao Classic 500ml");
	ck_assert_int_eq(jint(p.json, "shelf_life_days"), 365);
	http_free(&p);
	ck_assert_int_eq(get("/api/v1/products", NULL, &p), 200);
	ck_assert_int_eq(json_array_size(json_object_get(p.json, "products")),
	    1);
	http_free(&p);
	/* Refused, each naming why, and nothing changes. */
	before = products_print();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q.path = bad[i].path;
		q.token = bad[i].token == NULL ? NULL : bad[i].token[0] ?
		    T.ops : T.admin;
		q.body = bad[i].body;
		ck_assert_msg(http(E.port, &q, &p) == bad[i].status, "%s: %d "
		    "%s", bad[i].what, p.status, p.raw ? p.raw : "");
		assert_error(&p, bad[i].status, bad[i].what);
		ck_assert_msg(bad[i].status != 400 || strstr(jstr(p.json,
		    "error.message"), bad[i].what) != NULL, "%s: %s",
		    bad[i].what, p.body);
		http_free(&p);
	}
	/* Over 128 bytes of name. */
	name = malloc(200);
	memset(name, 'x', 199);
	name[199] = '\0';
	o = json_pack("{s:s,s:s}", "name", name, "brand", "b");
	ck_assert_int_eq(call("PUT", PRODUCT, T.admin, o, &p), 400);
	http_free(&p);
	free(name);
	/* Seventeen links. */
	o = json_pack("{s:s,s:s,s:[]}", "name", "a", "brand", "b", "links");
	for (i = 0; i < 17; i++)
		json_array_append_new(json_object_get(o, "links"), json_pack(
		    "{s:s,s:s,s:s}", "rel", "gs1:pip", "href", "https://a.b/",
		    "title", "t"));
	ck_assert_int_eq(call("PUT", PRODUCT, T.admin, o, &p), 400);
	http_free(&p);
	ck_assert_int_eq(products_print(), before);
	ck_assert_int_eq(get("/api/v1/products/" GTIN, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "brand"), "青岛啤酒");
	http_free(&p);
	ck_assert_int_eq(get("/api/v1/products/06901234567893", NULL, &p),
	    400);
	http_free(&p);
	/* Delete: gone, and a second delete finds nothing. */
	ck_assert_int_eq(call("DELETE", PRODUCT, T.ops, NULL, &p), 403);
	http_free(&p);
	ck_assert_int_eq(call("DELETE", PRODUCT, T.admin, NULL, &p), 204);
	http_free(&p);
	ck_assert_int_eq(get("/api/v1/products/" GTIN, NULL, &p), 404);
	http_free(&p);
	ck_assert_int_eq(call("DELETE", PRODUCT, T.admin, NULL, &p), 404);
	http_free(&p);
	ck_assert_int_eq(products_print(), 0);
	srv_stop();
}
END_TEST

/* The scan answer names the product; a GTIN without one still works. */
START_TEST(test_scan_names_product)
{
	struct http_resp p;
	char s[YIMA_DL_LEN + 1], path[128];

	srv_start(open_flags);
	ck_assert_int_eq(scan(T.b1.codes[0], NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "product.gtin"), GTIN);
	ck_assert_ptr_null(jget(p.json, "product.name"));
	http_free(&p);
	put_product();
	ck_assert_int_eq(scan(T.b1.codes[1], NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	ck_assert_pstr_eq(jstr(p.json, "product.name"), "青岛啤酒 经典 500ml");
	ck_assert_pstr_eq(jstr(p.json, "product.brand"), "青岛啤酒");
	ck_assert_pstr_eq(jstr(p.json, "product.image_url"),
	    "/dashboard/bottle.svg");
	ck_assert_pstr_eq(jstr(p.json, "product.names.en"),
	    "Tsingtao Classic 500ml");
	ck_assert_pstr_eq(jstr(p.json, "product.lot"), LOT);
	http_free(&p);
	/* The verification service: the DL path as the code. */
	dl_serial(T.b1.serials[1], s);
	snprintf(path, sizeof(path), "/api/v1/codes/01/%s/21/%s", GTIN, s);
	ck_assert_int_eq(get(path, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "repeat");
	ck_assert_pstr_eq(jstr(p.json, "product.name"), "青岛啤酒 经典 500ml");
	http_free(&p);
	srv_stop();
}
END_TEST

/* Validates a linkset against GS1's schema (python3-jsonschema). */
static void
linkset_valid(const char *body)
{
	static const char check[] = "import json, sys, jsonschema\n"
	    "schema = json.load(open(sys.argv[1]))\n"
	    "doc = json.load(open(sys.argv[2]))\n"
	    "jsonschema.Draft7Validator(schema).validate(doc)\n";
	char *schema = tu_data("gs1/gs1-linkset-schema.json"), *file, *err;
	FILE *f;
	int rc;

	ck_assert(asprintf(&file, "%s/linkset.json", E.dir) > 0);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fputs(body, f);
	fclose(f);
	rc = run("/usr/bin/python3", NULL, &err, "-c", check, schema, file,
	    NULL);
	ck_assert_msg(rc == 0, "the linkset does not validate (is "
	    "python3-jsonschema installed? scripts/setup.sh installs it): "
	    "%s\n%s", err, body);
	free(err);
	free(file);
	free(schema);
}

/* The href of the first link of type (a full GS1 URI) in a linkset. */
static const char *
link_href(json_t *ls, const char *type, size_t i)
{
	json_t *set = json_array_get(json_object_get(ls, "linkset"), 0);

	return json_string_value(json_object_get(json_array_get(
	    json_object_get(set, type), i), "href"));
}

START_TEST(test_resolver)
{
	static const struct {
		const char	*path, *why;
	} bad[] = {
		{ "/01/06901234567893/21/{S}", "check digit" },
		{ "/01/06901234567892/99/X/21/{S}", "(99)" },
		{ "/01/06901234567892/21/{S}/10/L1", "in this order" },
		{ "/01/06901234567892/17/261231/21/{S}", "query" },
		{ "/01/06901234567892/21/{S}?10=L1", "belongs in the path" },
		{ "/01/06901234567892/21/{S}?17=261399", "date" },
		{ "/01/06901234567892/21/{S}?17=261231&17=261231", "twice" },
		{ "/01/06901234567892/21/{S}?89=X", "(89)" },
		{ "/01/6901234567892/21/{S}", "14 digits" },
		{ "/01/06901234567892/21/{S}/foo", "pairs" },
		{ "/01/06901234567892/10/A%20B/21/{S}", "character set 82" },
	};
	char s[YIMA_DL_LEN + 1], path[256], hv[512], base[64];
	struct http_req q = { "GET", path, NULL, NULL, NULL, NULL, 0 };
	struct http_resp p;
	const char *at;
	long long rows;
	size_t i;

	srv_start(open_flags);
	put_product();
	dl_serial(T.b1.serials[2], s);
	/* Links are made from the request's Host (the client's says no port). */
	snprintf(base, sizeof(base), "http://127.0.0.1");
	rows = nscans();
	/* The linkset, three ways of asking; the same links each time. */
	snprintf(path, sizeof(path), "/01/%s/21/%s", GTIN, s);
	q.headers = "Accept: application/linkset+json\r\n";
	ck_assert_int_eq(http(E.port, &q, &p), 200);
	ck_assert(http_header(&p, "Content-Type", hv, sizeof(hv)));
	ck_assert_str_eq(hv, "application/linkset+json");
	ck_assert(http_header(&p, "Access-Control-Allow-Origin", hv,
	    sizeof(hv)));
	ck_assert_str_eq(hv, "*");
	ck_assert(http_header(&p, "Link", hv, sizeof(hv)));
	linkset_valid(p.body);
	snprintf(hv, sizeof(hv), "%s/01/%s/21/%s", base, GTIN, s);
	ck_assert_pstr_eq(jstr(json_array_get(json_object_get(p.json,
	    "linkset"), 0), "anchor"), hv);
	ck_assert_pstr_eq(jstr(json_array_get(json_object_get(p.json,
	    "linkset"), 0), "itemDescription"), "青岛啤酒 经典 500ml");
	ck_assert_pstr_eq(link_href(p.json, "https://gs1.org/voc/defaultLink",
	    0), hv);
	ck_assert_pstr_eq(link_href(p.json, "https://gs1.org/voc/pip", 0),
	    "https://brand.example/p/500");
	ck_assert_pstr_eq(link_href(p.json,
	    "https://gs1.org/voc/certificationInfo", 0),
	    "https://brand.example/cert");
	snprintf(hv, sizeof(hv), "%s/api/v1/codes/01/%s/21/%s", base, GTIN, s);
	ck_assert_pstr_eq(link_href(p.json,
	    "https://gs1.org/voc/verificationService", 1), hv);
	http_free(&p);
	q.headers = NULL;
	snprintf(path, sizeof(path), "/01/%s/21/%s?linkType=linkset", GTIN, s);
	ck_assert_int_eq(http(E.port, &q, &p), 200);
	linkset_valid(p.body);
	http_free(&p);
	snprintf(path, sizeof(path), "/01/%s/21/%s?linkType=all", GTIN, s);
	ck_assert_int_eq(http(E.port, &q, &p), 200);
	http_free(&p);
	/* A product without a serial, and without a product: still valid. */
	snprintf(path, sizeof(path), "/01/09520123456788?linkType=linkset");
	ck_assert_int_eq(http(E.port, &q, &p), 200);
	linkset_valid(p.body);
	http_free(&p);
	/* A serial of other characters goes back into URIs encoded (a
	 * "/" in a value cannot come in the path: MHD decodes it first). */
	snprintf(path, sizeof(path), "/01/%s/21/A%%22%%3C?linkType=linkset",
	    GTIN);
	ck_assert_int_eq(http(E.port, &q, &p), 200);
	linkset_valid(p.body);
	ck_assert_ptr_nonnull(strstr(jstr(p.json, "linkset.0.anchor"),
	    "/21/A%22%3C"));
	ck_assert(http_header(&p, "Link", hv, sizeof(hv)));
	ck_assert_ptr_null(strchr(hv + 1, '<'));
	http_free(&p);
	/* One link type: 307 there, the query passed on. */
	snprintf(path, sizeof(path), "/01/%s/21/%s?linkType=gs1:pip&foo=bar",
	    GTIN, s);
	ck_assert_int_eq(http(E.port, &q, &p), 307);
	ck_assert(http_header(&p, "Location", hv, sizeof(hv)));
	ck_assert_str_eq(hv, "https://brand.example/p/500?foo=bar");
	ck_assert(http_header(&p, "Link", hv, sizeof(hv)));
	ck_assert_ptr_nonnull(strstr(hv, "rel=\"linkset\""));
	http_free(&p);
	snprintf(path, sizeof(path), "/01/%s/21/%s?linkType=https%%3A%%2F%%2F"
	    "gs1.org%%2Fvoc%%2FverificationService&x=1", GTIN, s);
	ck_assert_int_eq(http(E.port, &q, &p), 307);
	ck_assert(http_header(&p, "Location", hv, sizeof(hv)));
	snprintf(path, sizeof(path), "%s/01/%s/21/%s?x=1", base, GTIN, s);
	ck_assert_str_eq(hv, path);
	http_free(&p);
	/* An unknown type, and a known one this item has not: 404. */
	snprintf(path, sizeof(path), "/01/%s/21/%s?linkType=gs1:nosuchlt",
	    GTIN, s);
	ck_assert_int_eq(http(E.port, &q, &p), 404);
	assert_error(&p, 404, "unknown link type");
	http_free(&p);
	snprintf(path, sizeof(path), "/01/%s/21/%s?linkType=gs1:recipeInfo",
	    GTIN, s);
	ck_assert_int_eq(http(E.port, &q, &p), 404);
	http_free(&p);
	/* Not valid GS1: 400 naming why. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		at = strstr(bad[i].path, "{S}");
		snprintf(path, sizeof(path), "%.*s%s%s", (int)(at -
		    bad[i].path), bad[i].path, s, at + 3);
		ck_assert_int_eq(http(E.port, &q, &p), 400);
		assert_error(&p, 400, bad[i].path);
		ck_assert_msg(strstr(jstr(p.json, "error.message"),
		    bad[i].why) != NULL, "%s: %s", path, p.body);
		ck_assert(http_header(&p, "Access-Control-Allow-Origin", hv,
		    sizeof(hv)));
		http_free(&p);
	}
	/* The page itself, with a lot and a query; a trailing slash too. */
	snprintf(path, sizeof(path), "/01/%s/10/%s/21/%s?17=270101", GTIN, LOT,
	    s);
	ck_assert_int_eq(http(E.port, &q, &p), 200);
	ck_assert_ptr_nonnull(strstr(p.body, "<html"));
	ck_assert(http_header(&p, "Link", hv, sizeof(hv)));
	ck_assert_ptr_nonnull(strstr(hv, "linkType=linkset"));
	http_free(&p);
	snprintf(path, sizeof(path), "/01/%s/", GTIN);
	ck_assert_int_eq(http(E.port, &q, &p), 200);
	http_free(&p);
	/* HEAD: the same status and headers, no body. */
	q.method = "HEAD";
	snprintf(path, sizeof(path), "/01/%s/21/%s", GTIN, s);
	ck_assert_int_eq(http(E.port, &q, &p), 200);
	ck_assert_uint_eq(p.body_len, 0);
	http_free(&p);
	snprintf(path, sizeof(path), "/01/%s/21/%s?linkType=gs1:pip", GTIN, s);
	ck_assert_int_eq(http(E.port, &q, &p), 307);
	ck_assert(http_header(&p, "Location", hv, sizeof(hv)));
	http_free(&p);
	/* OPTIONS: a CORS preflight's answer. */
	q.method = "OPTIONS";
	q.headers = "Origin: https://shop.example\r\n"
	    "Access-Control-Request-Method: GET\r\n";
	ck_assert_int_eq(http(E.port, &q, &p), 204);
	ck_assert(http_header(&p, "Access-Control-Allow-Methods", hv,
	    sizeof(hv)));
	ck_assert_ptr_nonnull(strstr(hv, "GET"));
	ck_assert_ptr_nonnull(strstr(hv, "HEAD"));
	ck_assert_ptr_nonnull(strstr(hv, "OPTIONS"));
	ck_assert(http_header(&p, "Access-Control-Allow-Origin", hv,
	    sizeof(hv)));
	http_free(&p);
	q.method = "GET";
	q.headers = NULL;
	/* The resolver's description. */
	snprintf(path, sizeof(path), "/.well-known/gs1resolver");
	ck_assert_int_eq(http(E.port, &q, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "resolverRoot"), base);
	ck_assert_pstr_eq(jstr(p.json, "supportedPrimaryKeys.0"), "01");
	ck_assert_pstr_eq(jstr(p.json, "supportedLinkType.0.prefix"), "gs1:");
	http_free(&p);
	/* None of it recorded a scan. */
	ck_assert_int_eq(nscans(), rows);
	srv_stop();
}
END_TEST

/* The pages in headless Chromium show the product's name and picture. */
START_TEST(test_product_browser)
{
	char s[YIMA_DL_LEN + 1], path[128], title[256], *dom;
	long long rows;

	srv_start(open_flags);
	put_product();
	rows = nscans();
	snprintf(path, sizeof(path), "/01/%s", GTIN);
	dom = browse("en-US", path);
	verdict_title(dom, title, sizeof(title));
	ck_assert_msg(strcmp(title, "Tsingtao Classic 500ml") == 0,
	    "product page title '%s'", title);
	ck_assert_ptr_nonnull(strstr(dom, "src=\"/dashboard/bottle.svg\""));
	ck_assert_ptr_nonnull(strstr(dom, "https://brand.example/cert"));
	free(dom);
	ck_assert_int_eq(nscans(), rows);
	dl_serial(T.b1.serials[3], s);
	snprintf(path, sizeof(path), "/01/%s/21/%s", GTIN, s);
	dom = browse("zh-CN", path);
	verdict_title(dom, title, sizeof(title));
	ck_assert_msg(strcmp(title, "正品") == 0, "DL title '%s'", title);
	ck_assert_ptr_nonnull(strstr(dom, "青岛啤酒 经典 500ml"));
	ck_assert_ptr_nonnull(strstr(dom, "src=\"/dashboard/bottle.svg\""));
	free(dom);
	ck_assert_int_eq(nscans(), rows + 1);
	srv_stop();
}
END_TEST

Suite *
product_suite(void)
{
	Suite *s = suite_create("product");
	TCase *tc = srv_tcase("product", 120);

	tcase_add_test(tc, test_products);
	tcase_add_test(tc, test_scan_names_product);
	tcase_add_test(tc, test_resolver);
	tcase_add_test(tc, test_product_browser);
	suite_add_tcase(s, tc);
	return s;
}
