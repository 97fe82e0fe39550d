/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dashboard: its static files as served (types, CSP, ETag, gzip), the
 * session's who-am-I, the diversion CSV, and the page itself in headless
 * Chromium (tests/browser/dashboard.mjs) over a simulator's seeded run.
 */
#define _GNU_SOURCE	/* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>
#include <zlib.h>

#include "yima/qr.h"
#include "yima/render.h"

#include "srvutil.h"
#include "testutil.h"

Suite *dashboard_suite(void);


/* gunzips in (a whole gzip member) into a malloc'd buffer. */
static char *
gunzip(const char *in, size_t len, size_t *outlen)
{
	z_stream z;
	size_t cap = len * 20 + 1024;
	char *out = malloc(cap);
	int rc;

	ck_assert_ptr_nonnull(out);
	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (unsigned char *)out;
	z.avail_out = (uInt)cap;
	rc = inflate(&z, Z_FINISH);
	*outlen = z.total_out;
	inflateEnd(&z);
	ck_assert_int_eq(rc, Z_STREAM_END);
	return out;
}

/* Each file: its type, the strict CSP, an ETag that answers 304, gzip. */
START_TEST(test_static_files)
{
	static const struct {
		const char *path, *type, *cache;
	} files[] = {
		{ "/dashboard", "text/html; charset=utf-8", "no-cache" },
		{ "/dashboard/app.js", "text/javascript; charset=utf-8",
		    "no-cache" },
		{ "/dashboard/app.css", "text/css; charset=utf-8", "no-cache" },
		{ "/dashboard/echarts.min.js", "text/javascript; charset=utf-8",
		    "public, max-age=604800" },
		{ "/dashboard/china.json", "application/json",
		    "public, max-age=604800" },
	};
	struct http_resp p, z, y;
	char v[512], etag[64], gzetag[64], hdr[160], *plain;
	size_t i, n;

	srv_start(open_flags);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		ck_assert_int_eq(get(files[i].path, NULL, &p), 200);
		ck_assert(http_header(&p, "Content-Type", v, sizeof(v)));
		ck_assert_str_eq(v, files[i].type);
		ck_assert(http_header(&p, "Cache-Control", v, sizeof(v)));
		ck_assert_str_eq(v, files[i].cache);
		ck_assert(http_header(&p, "Content-Security-Policy", v,
		    sizeof(v)));
		ck_assert_msg(strstr(v, "default-src 'none'") != NULL &&
		    strstr(v, "script-src 'self';") != NULL &&
		    strstr(v, "unsafe") == NULL, "CSP: %s", v);
		ck_assert(!http_header(&p, "Content-Encoding", v, sizeof(v)));
		ck_assert(http_header(&p, "ETag", etag, sizeof(etag)));
		ck_assert_uint_gt(p.body_len, 100);
		/* The same ETag again: 304 and no body. */
		snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", etag);
		ck_assert_int_eq(get(files[i].path, hdr, &z), 304);
		ck_assert_uint_eq(z.body_len, 0);
		http_free(&z);
		/* gzip when asked, and it unpacks to the very same bytes. */
		ck_assert_int_eq(get(files[i].path, "Accept-Encoding: br, "
		    "gzip\r\n", &z), 200);
		ck_assert(http_header(&z, "Content-Encoding", v, sizeof(v)));
		ck_assert_str_eq(v, "gzip");
		ck_assert(http_header(&z, "Vary", v, sizeof(v)));
		ck_assert_str_eq(v, "Accept-Encoding");
		/* Its own tag, which answers 304 when it comes back. */
		ck_assert(http_header(&z, "ETag", gzetag, sizeof(gzetag)));
		ck_assert_str_ne(gzetag, etag);
		snprintf(hdr, sizeof(hdr), "Accept-Encoding: gzip\r\n"
		    "If-None-Match: %s\r\n", gzetag);
		ck_assert_int_eq(get(files[i].path, hdr, &y), 304);
		http_free(&y);
		ck_assert_uint_lt(z.body_len, p.body_len);
		plain = gunzip(z.body, z.body_len, &n);
		ck_assert_uint_eq(n, p.body_len);
		ck_assert(memcmp(plain, p.body, n) == 0);
		free(plain);
		http_free(&z);
		/* q=0 refuses gzip, in any case. */
		ck_assert_int_eq(get(files[i].path, "Accept-Encoding: gzip;q=0"
		    "\r\n", &z), 200);
		ck_assert(!http_header(&z, "Content-Encoding", v, sizeof(v)));
		http_free(&z);
		ck_assert_int_eq(get(files[i].path, "Accept-Encoding: gzip; Q=0"
		    ", br\r\n", &z), 200);
		ck_assert(!http_header(&z, "Content-Encoding", v, sizeof(v)));
		http_free(&z);
		http_free(&p);
	}
	/* The page loads no inline script or style: the CSP would block it. */
	ck_assert_int_eq(get("/dashboard", NULL, &p), 200);
	ck_assert(strstr(p.body, "<script>") == NULL &&
	    strstr(p.body, "<style") == NULL && strstr(p.body, " style=") ==
	    NULL && strstr(p.body, " onclick=") == NULL);
	http_free(&p);
	ck_assert_int_eq(get("/dashboard/", NULL, &p), 200);
	ck_assert_ptr_nonnull(strstr(p.body, "/dashboard/app.js"));
	http_free(&p);
	get("/dashboard/nothing.js", NULL, &p);
	assert_error(&p, 404, "unknown file");
	http_free(&p);
	get("/dashboard/../landing.html", NULL, &p);
	ck_assert_int_eq(p.status, 404);
	http_free(&p);
	ck_assert_int_eq(call("POST", "/dashboard", T.admin, NULL, &p), 405);
	http_free(&p);
	srv_stop();
}
END_TEST

/* Without the charts installed the page is still served, and says so. */
START_TEST(test_static_no_assets)
{
	const char *flags[] = { "--ip-rate", "0", "--consumer-rate", "0",
	    "--web-assets", "/nonexistent", NULL };
	struct http_resp p;

	srv_start(flags);
	ck_assert_int_eq(get("/dashboard", NULL, &p), 200);
	http_free(&p);
	get("/dashboard/echarts.min.js", NULL, &p);
	assert_error(&p, 404, "charts not installed");
	http_free(&p);
	srv_stop();
}
END_TEST

/* GET /api/v1/session says who the cookie is, and nothing without one. */
START_TEST(test_whoami)
{
	struct http_resp p;
	char set[256], cookie[300], *semi;

	srv_start(open_flags);
	ck_assert_int_eq(call("GET", "/api/v1/session", T.dealer, NULL, &p),
	    200);
	ck_assert_str_eq(jstr(p.json, "role"), "dealer");
	ck_assert_ptr_nonnull(jstr(p.json, "dealer"));
	http_free(&p);
	get("/api/v1/session", NULL, &p);
	assert_error(&p, 401, "no session");
	http_free(&p);
	get("/api/v1/session", "Cookie: yima_session=yims_forged\r\n", &p);
	assert_error(&p, 401, "forged session");
	http_free(&p);
	ck_assert_int_eq(call("POST", "/api/v1/session", NULL, json_pack(
	    "{s:s}", "token", T.admin), &p), 200);
	ck_assert(http_header(&p, "Set-Cookie", set, sizeof(set)));
	http_free(&p);
	if ((semi = strchr(set, ';')) != NULL)
		*semi = '\0';
	snprintf(cookie, sizeof(cookie), "Cookie: %s\r\n", set);
	ck_assert_int_eq(get("/api/v1/session", cookie, &p), 200);
	ck_assert_str_eq(jstr(p.json, "role"), "admin");
	ck_assert(json_is_null(jget(p.json, "dealer")));
	http_free(&p);
	srv_stop();
}
END_TEST

/* A staff login: the status; the session's Cookie header into cookie. */
static int
staff_login(const char *name, const char *pw, char *cookie, size_t len)
{
	struct http_resp p;
	char set[256], *semi;
	int st = call("POST", "/api/v1/session", NULL, json_pack("{s:s,s:s}",
	    "name", name, "password", pw), &p);

	cookie[0] = '\0';
	if (st == 200 && http_header(&p, "Set-Cookie", set, sizeof(set))) {
		if ((semi = strchr(set, ';')) != NULL)
			*semi = '\0';
		snprintf(cookie, len, "Cookie: %s\r\n", set);
	}
	http_free(&p);
	return st;
}

/*
 * Tokens for machines, through the API: made by an admin (the secret
 * shown once, never listed), working at once, revoked at once; bad asks
 * refused by field and making nothing.
 */
START_TEST(test_tokens)
{
	struct http_resp p;
	char tok[64], path[64];
	long long id, n0;
	size_t i;
	json_t *o;

	srv_start(open_flags);
	dealer_add("D-7", "dealer", NULL, NULL);
	n0 = db_int("SELECT COUNT(*) FROM tokens");
	refused("POST", "/api/v1/admin/tokens", T.admin, json_pack("{s:s}",
	    "role", "root"), 400, "a bad role");
	refused("POST", "/api/v1/admin/tokens", T.admin, json_pack("{s:s}",
	    "role", "dealer"), 400, "a dealer token without a dealer");
	refused("POST", "/api/v1/admin/tokens", T.admin, json_pack("{s:s,s:s}",
	    "role", "dealer", "dealer", "D-404"), 400, "an unknown dealer");
	refused("POST", "/api/v1/admin/tokens", T.admin, json_pack("{s:s,s:s}",
	    "role", "ops", "name", "line\n1"), 400, "a name with a newline");
	refused("POST", "/api/v1/admin/tokens", T.ops, json_pack("{s:s}",
	    "role", "ops"), 403, "ops makes a token");
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM tokens"), n0);
	ck_assert_int_eq(call("POST", "/api/v1/admin/tokens", T.admin,
	    json_pack("{s:s,s:s,s:s}", "role", "dealer", "dealer", "D-7",
	    "name", "D-7's ERP"), &p), 201);
	ck_assert_ptr_nonnull(strstr(p.raw, "Cache-Control: no-store"));
	snprintf(tok, sizeof(tok), "%s", jstr(p.json, "token"));
	ck_assert_int_eq(strlen(tok), 48);
	id = jint(p.json, "id");
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/reports/scans", tok, NULL, &p),
	    200);
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/admin/tokens", T.admin, NULL,
	    &p), 200);
	ck_assert_ptr_null(strstr(p.body, tok));
	json_array_foreach(jget(p.json, "tokens"), i, o)
		if (jint(o, "id") == id) {
			ck_assert_str_eq(jstr(o, "dealer"), "D-7");
			ck_assert_str_eq(jstr(o, "name"), "D-7's ERP");
		}
	http_free(&p);
	refused("DELETE", "/api/v1/admin/tokens/x", T.admin, NULL, 404,
	    "a bad id");
	refused("DELETE", "/api/v1/admin/tokens/1", tok, NULL, 403,
	    "a dealer revokes");
	snprintf(path, sizeof(path), "/api/v1/admin/tokens/%lld", id);
	ck_assert_int_eq(call("DELETE", path, T.admin, NULL, &p), 200);
	http_free(&p);
	refused("DELETE", path, T.admin, NULL, 404, "revoked twice");
	refused("GET", "/api/v1/reports/scans", tok, NULL, 401,
	    "a revoked token");
	srv_stop();
}
END_TEST

/*
 * Whether list (a JSON array of {code, name[, level]}) holds code with
 * name, at level unless it is 0.
 */
static int
has_region(json_t *list, const char *code, const char *name, int level)
{
	json_t *o;
	size_t i;

	json_array_foreach(list, i, o)
		if (strcmp(jstr(o, "code"), code) == 0)
			return strcmp(jstr(o, "name"), name) == 0 &&
			    (level == 0 || jint(o, "level") == level);
	return 0;
}

/* The pickers' regions by name, the batch list, a channel code's symbol. */
START_TEST(test_regions_batches_qr)
{
	struct goods items, chans;
	struct yima_buf want = { 0 };
	struct yima_qr *qr;
	struct http_resp p;
	char path[256], *fp, *tmp;
	json_t *o;
	size_t i;
	int found = 0;

	srv_start(open_flags);
	ck_assert_int_eq(call("GET", "/api/v1/regions", T.admin, NULL, &p),
	    200);
	ck_assert_uint_ge(json_array_size(jget(p.json, "regions")), 34);
	ck_assert(has_region(jget(p.json, "regions"), "330000", "浙江省", 1));
	/* No county shapes here: scans are placed in cities. */
	ck_assert_int_eq(jint(p.json, "located_levels"), 2);
	ck_assert_ptr_nonnull(strstr(p.raw, "max-age=86400"));
	http_free(&p);
	ck_assert_int_eq(call("GET", "/api/v1/regions?parent=330000",
	    T.dealer, NULL, &p), 200);
	ck_assert_str_eq(jstr(p.json, "name"), "浙江省");
	ck_assert(has_region(jget(p.json, "regions"), "330100", "杭州市", 2));
	ck_assert(!has_region(jget(p.json, "regions"), "320100", "南京市", 2));
	http_free(&p);
	/* Counties by name though the data has no county shapes. */
	ck_assert_int_eq(call("GET", "/api/v1/regions?parent=330100",
	    T.admin, NULL, &p), 200);
	ck_assert(has_region(jget(p.json, "regions"), "330106", "西湖区", 3));
	http_free(&p);
	refused("GET", "/api/v1/regions?parent=33", T.admin, NULL, 400,
	    "a province prefix, not a code");
	refused("GET", "/api/v1/regions?parent=990000", T.admin, NULL, 404,
	    "an unknown region");
	refused("GET", "/api/v1/regions", NULL, NULL, 401, "no token");
	refused("GET", "/api/v1/regions", T.ops, NULL, 403, "ops");
	/* A territory read back with names, and whose it is. */
	dealer_add("R-P", "distributor", NULL, "33,3201,310115");
	dealer_add("R-C", "store", "R-P", NULL);
	ck_assert_int_eq(call("GET", "/api/v1/admin/dealers/R-C/territory",
	    T.admin, NULL, &p), 200);
	ck_assert_str_eq(jstr(p.json, "from"), "R-P");
	ck_assert_uint_eq(json_array_size(jget(p.json, "regions")), 3);
	ck_assert(has_region(jget(p.json, "regions"), "33", "浙江省", 0));
	ck_assert(has_region(jget(p.json, "regions"), "3201", "南京市", 0));
	ck_assert(has_region(jget(p.json, "regions"), "310115",
	    "浦东新区", 0));
	http_free(&p);
	refused("GET", "/api/v1/admin/dealers/R-X/territory", T.admin, NULL,
	    404, "an unknown dealer's territory");
	refused("GET", "/api/v1/admin/dealers/R-P/territory", T.dealer, NULL,
	    403, "a dealer reads a territory");

	/* Batches, newest first, revoked ones marked. */
	goods_mint("item", 3, &items);
	goods_mint("channel", 2, &chans);
	ck_assert_int_eq(call("GET", "/api/v1/admin/batches?limit=1",
	    T.admin, NULL, &p), 200);
	ck_assert_uint_eq(json_array_size(jget(p.json, "batches")), 1);
	http_free(&p);
	ck_assert_int_eq(call("POST", "/api/v1/admin/revocations", T.admin,
	    json_pack("{s:s,s:s}", "code", items.codes[1], "reason",
	    "stolen"), &p), 201);
	http_free(&p);
	fp = db_fingerprint();
	ck_assert_int_eq(call("GET", "/api/v1/admin/batches", T.ops, NULL,
	    &p), 200);
	json_array_foreach(jget(p.json, "batches"), i, o) {
		if (strcmp(jstr(o, "kind"), "item") == 0 &&
		    jint(o, "first_serial") == items.serials[0]) {
			ck_assert_int_eq(jint(o, "count"), 3);
			ck_assert(json_is_true(jget(o, "revoked")));
			found |= 1;
		}
		if (strcmp(jstr(o, "kind"), "channel") == 0 &&
		    jint(o, "first_serial") == chans.serials[0]) {
			ck_assert(json_is_false(jget(o, "revoked")));
			ck_assert_int_eq(strlen(jstr(o, "batch")), 32);
			ck_assert_str_eq(jstr(o, "domain"), "YIMA.EXAMPLE.COM");
			/* Newest first: the channels came after the items. */
			ck_assert_int_eq(found, 0);
			found |= 2;
		}
	}
	ck_assert_int_eq(found, 3);
	http_free(&p);
	for (i = 0; i < 3; i++) {
		static const char *const bad[] = { "limit=0", "limit=1001",
		    "limit=x" };

		snprintf(path, sizeof(path), "/api/v1/admin/batches?%s",
		    bad[i]);
		call("GET", path, T.admin, NULL, &p);
		assert_error(&p, 400, bad[i]);
		http_free(&p);
	}
	refused("GET", "/api/v1/admin/batches", T.dealer, NULL, 403,
	    "a dealer lists batches");

	/* A channel code's symbol: its batch's URL, as the batch drew it. */
	snprintf(path, sizeof(path), "/api/v1/admin/channels/qr?code=%s",
	    chans.codes[1]);
	ck_assert_int_eq(call("GET", path, T.admin, NULL, &p), 200);
	ck_assert_ptr_nonnull(strcasestr(p.raw, "Content-Type: image/svg+xml"));
	ck_assert_int_eq(yima_qr_encode(chans.urls[1], strlen(chans.urls[1]),
	    YIMA_ECC_M, &qr), 0);
	ck_assert_int_eq(yima_render_svg(qr, chans.codes[1], &want), 0);
	yima_qr_free(qr);
	ck_assert_uint_eq(p.body_len, want.len);
	ck_assert_int_eq(memcmp(p.body, want.data, want.len), 0);
	yima_buf_free(&want);
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/admin/channels/qr?code=%s",
	    items.codes[0]);
	call("GET", path, T.admin, NULL, &p);
	ck_assert_int_ge(p.status, 400);
	ck_assert_int_lt(p.status, 500);
	http_free(&p);
	call("GET", "/api/v1/admin/channels/qr?code=NOTACODE", T.admin, NULL,
	    &p);
	ck_assert_int_eq(p.status, 400);
	http_free(&p);
	refused("GET", "/api/v1/admin/channels/qr", T.admin, NULL, 400,
	    "no code");
	snprintf(path, sizeof(path), "/api/v1/admin/channels/qr?code=%s",
	    chans.codes[1]);
	refused("GET", path, T.dealer, NULL, 403,
	    "a dealer draws a channel code");
	/* Reading, refused or not, changed nothing. */
	tmp = db_fingerprint();
	ck_assert_str_eq(tmp, fp);
	free(tmp);
	free(fp);
	goods_free(&items);
	goods_free(&chans);
}
END_TEST

/* A dealer moves with its subtree; never under itself or its own. */
START_TEST(test_dealer_move)
{
	struct http_resp p;

	srv_start(open_flags);
	dealer_add("M-A", "distributor", NULL, NULL);
	dealer_add("M-B", "dealer", "M-A", NULL);
	dealer_add("M-C", "store", "M-B", NULL);
	refused("PUT", "/api/v1/admin/dealers/M-A", T.admin,
	    json_pack( "{s:s,s:s,s:s}", "name", "a", "type", "distributor",
	    "parent", "M-C"), 409, "under its own subtree");
	refused("PUT", "/api/v1/admin/dealers/M-B", T.admin,
	    json_pack( "{s:s,s:s,s:s}", "name", "b", "type", "dealer", "parent",
	    "M-B"), 409, "under itself");
	call("PUT", "/api/v1/admin/dealers/M-C", T.admin, json_pack(
	    "{s:s,s:s,s:s}", "name", "c", "type", "store", "parent", "M-Z"),
	    &p);
	assert_error(&p, 400, "under nobody");
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM dealers WHERE id = 'M-C'"
	    " AND parent = 'M-B'"), 1);
	ck_assert_int_eq(call("PUT", "/api/v1/admin/dealers/M-C", T.admin,
	    json_pack("{s:s,s:s,s:s}", "name", "c", "type", "store",
	    "parent", "M-A"), &p), 200);
	http_free(&p);
	ck_assert_int_eq(call("PUT", "/api/v1/admin/dealers/M-B", T.admin,
	    json_pack("{s:s,s:s}", "name", "b", "type", "dealer"), &p), 200);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM dealers WHERE (id ="
	    " 'M-C' AND parent = 'M-A') OR (id = 'M-B' AND parent IS NULL)"),
	    2);
	srv_stop();
}
END_TEST

/*
 * Staff accounts: made by an admin, a name and a password (argon2id)
 * for a role and a dealer scope; a session reads as that role; failed
 * logins lock the account; disabling it ends its sessions.
 */
START_TEST(test_staff)
{
	static const char *const bad[][4] = {
	    { "a b", "long enough pw", "ops", NULL },
	    { "ann", "short", "ops", NULL },
	    { "ann", "long enough pw", "boss", NULL },
	    { "ann", "long enough pw", "dealer", NULL },
	    { "ann", "long enough pw", "ops", "D-42" },
	    { "ann", "long enough pw", "dealer", "no-such-dealer" } };
	struct http_resp p;
	char cookie[300], cookie2[300], hash[200];
	json_t *o;
	size_t i;
	int k;

	srv_start(open_flags);
	dealer_add("east", "distributor", NULL, NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = json_pack("{s:s,s:s,s:s}", "name", bad[i][0], "password",
		    bad[i][1], "role", bad[i][2]);
		if (bad[i][3] != NULL)
			json_object_set_new(o, "dealer", json_string(bad[i][3]));
		ck_assert_int_eq(call("POST", "/api/v1/admin/staff", T.admin, o,
		    &p), 400);
		http_free(&p);
	}
	ck_assert_int_eq(call("POST", "/api/v1/admin/staff", T.ops, json_pack(
	    "{s:s,s:s,s:s}", "name", "ann", "password", "long enough pw",
	    "role", "ops"), &p), 403);
	http_free(&p);
	ck_assert_int_eq(call("POST", "/api/v1/admin/staff", T.admin,
	    json_pack("{s:s,s:s,s:s,s:s}", "name", "li.wei@east", "password",
	    "东方 的 password", "role", "dealer", "dealer", "east"), &p), 201);
	http_free(&p);
	ck_assert_int_eq(call("POST", "/api/v1/admin/staff", T.admin,
	    json_pack("{s:s,s:s,s:s}", "name", "li.wei@east", "password",
	    "another password", "role", "ops"), &p), 409);
	http_free(&p);
	/* only the hash is kept, and it is argon2id's */
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM staff WHERE hash LIKE"
	    " '$argon2id$%%' AND hash NOT LIKE '%%password%%'"), 1);

	/* the right password: a session that reads as a dealer of east */
	ck_assert_int_eq(staff_login("li.wei@east", "东方 的 password", cookie,
	    sizeof(cookie)), 200);
	ck_assert_int_eq(get("/api/v1/session", cookie, &p), 200);
	ck_assert_str_eq(jstr(p.json, "role"), "dealer");
	ck_assert_str_eq(jstr(p.json, "dealer"), "east");
	http_free(&p);
	ck_assert_int_eq(get("/api/v1/admin/staff", cookie, &p), 403);
	http_free(&p);
	/* a wrong password, an unknown name: the same 401 */
	ck_assert_int_eq(staff_login("li.wei@east", "not the password",
	    cookie2, sizeof(cookie2)), 401);
	ck_assert_int_eq(staff_login("nobody", "not the password", cookie2,
	    sizeof(cookie2)), 401);
	/* the right one resets the count */
	ck_assert_int_eq(staff_login("li.wei@east", "东方 的 password",
	    cookie2, sizeof(cookie2)), 200);
	ck_assert_int_eq(db_int("SELECT failures FROM staff"), 0);
	/* five wrong in a row lock it: even the right one is refused */
	for (k = 0; k < 5; k++)
		ck_assert_int_eq(staff_login("li.wei@east", "guess guess",
		    cookie2, sizeof(cookie2)), 401);
	ck_assert_int_eq(call("POST", "/api/v1/session", NULL, json_pack(
	    "{s:s,s:s}", "name", "li.wei@east", "password", "东方 的 password"),
	    &p), 429);
	ck_assert(http_header(&p, "Retry-After", hash, sizeof(hash)));
	ck_assert_int_ge(atoi(hash), 1);
	assert_error(&p, 429, "locked");
	http_free(&p);
	/* the admin's list shows it locked, and no hash */
	ck_assert_int_eq(call("GET", "/api/v1/admin/staff", T.admin, NULL, &p),
	    200);
	ck_assert_str_eq(jstr(p.json, "staff.0.name"), "li.wei@east");
	ck_assert(json_is_true(jget(p.json, "staff.0.locked")));
	ck_assert_ptr_null(strstr(p.body, "argon2"));
	http_free(&p);
	/* disabled: its session ends, and it logs in no more */
	ck_assert_int_eq(call("DELETE", "/api/v1/admin/staff/li.wei@east",
	    T.admin, NULL, &p), 200);
	http_free(&p);
	ck_assert_int_eq(get("/api/v1/session", cookie, &p), 401);
	http_free(&p);
	ck_assert_int_eq(db_int("UPDATE staff SET locked_until = 0 RETURNING"
	    " 1"), 1);
	ck_assert_int_eq(staff_login("li.wei@east", "东方 的 password", cookie2,
	    sizeof(cookie2)), 401);
	ck_assert_int_eq(call("DELETE", "/api/v1/admin/staff/li.wei@east",
	    T.admin, NULL, &p), 404);
	http_free(&p);
	srv_stop();
}
END_TEST

/* One CSV field at a time (RFC 4180: quotes doubled inside quotes). */
static char *
csv_next(char **p)
{
	char *s = *p, *o, *start;

	if (*s == '"') {
		start = o = ++s;
		for (; *s != '\0'; s++) {
			if (*s == '"' && s[1] == '"')
				*o++ = *s++;
			else if (*s == '"')
				break;
			else
				*o++ = *s;
		}
		*o = '\0';
		s++;
	} else {
		start = s;
		s += strcspn(s, ",");
	}
	if (*s == ',')
		*s++ = '\0';
	*p = s;
	return start;
}

/* The diversion CSV: a header and one row per JSON event, field for field. */
START_TEST(test_diversion_csv)
{
	static const char *const flags[] = { "--ip-rate", "0",
	    "--consumer-rate", "1000", "--alert-level1", "3", NULL };
	struct http_resp j, c;
	json_t *plan, *ev;
	char path[160], *line, *save, *f, *rest, v[128], num[32];
	size_t i = 0;

	srv_start(flags);
	plan = simulate("7", "3");
	snprintf(path, sizeof(path), "/api/v1/reports/diversion?from=%s&to=%s",
	    jstr(plan, "from"), jstr(plan, "to"));
	ck_assert_int_eq(call("GET", path, T.admin, NULL, &j), 200);
	ck_assert_uint_ge(json_array_size(jget(j.json, "events")), 8);
	strcat(path, "&format=csv");
	ck_assert_int_eq(call("GET", path, T.admin, NULL, &c), 200);
	ck_assert(http_header(&c, "Content-Type", v, sizeof(v)));
	ck_assert_str_eq(v, "text/csv; charset=utf-8");
	ck_assert(http_header(&c, "Content-Disposition", v, sizeof(v)));
	ck_assert(strstr(v, "attachment") != NULL);
	ck_assert(http_header(&c, "X-Total-Count", v, sizeof(v)));
	ck_assert_int_eq(atoll(v), json_array_size(jget(j.json, "events")));
	line = strtok_r(c.body, "\n", &save);
	ck_assert_str_eq(line, "at,direction,serial,owner,region,evidence,"
	    "uncertain,level,scan_id,receipt_id\r");
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		ck_assert(line[strlen(line) - 1] == '\r');
		line[strlen(line) - 1] = '\0';
		ev = json_array_get(jget(j.json, "events"), i++);
		ck_assert_ptr_nonnull(ev);
		rest = line;
		ck_assert_str_eq(csv_next(&rest), jstr(ev, "at"));
		ck_assert_str_eq(csv_next(&rest), jstr(ev, "direction"));
		snprintf(num, sizeof(num), "%lld", jint(ev, "serial"));
		ck_assert_str_eq(csv_next(&rest), num);
		ck_assert_str_eq(csv_next(&rest), jstr(ev, "owner"));
		ck_assert_str_eq(csv_next(&rest), jstr(ev, "region"));
		ck_assert_str_eq(csv_next(&rest), jstr(ev, "evidence"));
		ck_assert_str_eq(csv_next(&rest), json_is_true(jget(ev,
		    "uncertain")) ? "true" : "false");
		f = csv_next(&rest);
		if (jget(ev, "level") != NULL) {
			snprintf(num, sizeof(num), "%lld", jint(ev, "level"));
			ck_assert_str_eq(f, num);
		} else
			ck_assert_str_eq(f, "");
	}
	ck_assert_uint_eq(i, json_array_size(jget(j.json, "events")));
	http_free(&c);
	get("/api/v1/reports/diversion?format=xml", NULL, &c);
	ck_assert_int_eq(c.status, 401);
	http_free(&c);
	call("GET", "/api/v1/reports/diversion?format=xml", T.admin, NULL, &c);
	assert_error(&c, 400, "format xml");
	http_free(&c);
	/* A limit lists the latest events; total still counts them all. */
	ck_assert_int_eq(jint(j.json, "total"), (long long)i);
	ck_assert(json_is_false(jget(j.json, "truncated")));
	snprintf(path, sizeof(path), "/api/v1/reports/diversion?from=%s&to=%s"
	    "&limit=2", jstr(plan, "from"), jstr(plan, "to"));
	ck_assert_int_eq(call("GET", path, T.admin, NULL, &c), 200);
	ck_assert_uint_eq(json_array_size(jget(c.json, "events")), 2);
	ck_assert_int_eq(jint(c.json, "total"), (long long)i);
	ck_assert(json_is_true(jget(c.json, "truncated")));
	ck_assert_int_eq(jint(json_array_get(jget(c.json, "events"), 1),
	    "serial"), jint(json_array_get(jget(j.json, "events"), i - 1),
	    "serial"));
	ck_assert_str_eq(jstr(json_array_get(jget(c.json, "events"), 0), "at"),
	    jstr(json_array_get(jget(j.json, "events"), i - 2), "at"));
	/* The alerts (levels) still come from every event. */
	ck_assert(json_equal(jget(c.json, "alerts"), jget(j.json, "alerts")));
	http_free(&c);
	{
		static const char *const bad[] = { "0", "10001", "x", "-1",
		    "" };
		size_t b;

		for (b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			snprintf(path, sizeof(path), "/api/v1/reports/"
			    "diversion?limit=%s", bad[b]);
			call("GET", path, T.admin, NULL, &c);
			assert_error(&c, 400, bad[b]);
			http_free(&c);
		}
	}
	http_free(&j);
	json_decref(plan);
	srv_stop();
}
END_TEST

/* The last n bytes of text (a failure's message must fit Check's). */
static const char *
tail(const char *text, size_t n)
{
	if (text == NULL)
		return "";
	return strlen(text) > n ? text + strlen(text) - n : text;
}

/*
 * The console in Chromium (tests/browser/console.mjs): a brand admin,
 * logged in with a staff account, makes a product, a campaign with two
 * variants, dealers and a territory, binds a channel code, imports and
 * revokes a batch, releases and rejects held claims, marks a payout
 * paid, makes and revokes a token, at 1280 px and 390 px; the script
 * checks each result through the API; here, what it left in the store.
 */
/*
 * Runs a browser test script (env var script names it, def otherwise) in
 * node with the server's URL, the NULL-terminated envs ("K=V"), and the
 * artifacts and modules; fails with its output's end.
 */
static void
browser_run(const char *script, const char *def, const char *const *envs)
{
	char *argv[24], *out = NULL, *err = NULL, *log;
	int rc, n = 0, i;

	argv[n++] = strdup("/usr/bin/env");
	ck_assert(asprintf(&argv[n++], "YIMA_URL=http://127.0.0.1:%d",
	    E.port) > 0);
	for (i = 0; envs[i] != NULL && n < 18; i++)
		argv[n++] = strdup(envs[i]);
	ck_assert(asprintf(&argv[n++], "YIMA_ARTIFACTS=%s", env_or(
	    "YIMA_ARTIFACTS", "build/artifacts")) > 0);
	ck_assert(asprintf(&argv[n++], "YIMA_NODE_MODULES=%s", env_or(
	    "YIMA_NODE_MODULES", "assets/web/npm/node_modules")) > 0);
	ck_assert(asprintf(&argv[n++], "HOME=%s", E.dir) > 0);
	argv[n++] = strdup("node");
	argv[n++] = strdup(env_or(script, def));
	argv[n] = NULL;
	rc = tu_run(argv, &out, &err);
	log = rc != 0 ? tu_read_file(E.log, NULL) : NULL;
	ck_assert_msg(rc == 0 && strstr(out, "all checks passed") != NULL,
	    "%s failed (%d):\n%s\n%s\nthe requests' log, its end: %s",
	    argv[n - 1], rc, tail(out, 2500), tail(err, 1000), tail(log,
	    1000));
	for (i = 0; i < n; i++)
		free(argv[i]);
	free(out);
	free(err);
}

START_TEST(test_console_browser)
{
	static const char *const flags[] = { "--ip-rate", "0",
	    "--consumer-rate", "1000", NULL };
	char cid[128], *m1, *m2, *out, env[4][320];
	const char *envs[6];
	struct http_resp p;
	int i;

	srv_start(flags);
	ck_assert_int_eq(call("POST", "/api/v1/admin/staff", T.admin,
	    json_pack("{s:s,s:s,s:s}", "name", "brand.admin", "password",
	    "correct horse 1", "role", "admin"), &p), 201);
	http_free(&p);
	/* A claim paid in cash, then two held (Beijing, Guangzhou, Beijing
	 * moments apart), under a campaign of its own. */
	campaign("{\"name\":\"seed\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2030-01-01T00:00:00Z\",\"points\":5,\"claim_kind\":"
	    "\"item\",\"prizes\":[{\"name\":\"p\",\"type\":\"cash\","
	    "\"amount\":100,\"count\":1,\"probability\":1}]}");
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(scan_at(T.b1.codes[i], i ? cid : NULL,
		    i == 1 ? 23.1291 : 39.9042, i == 1 ? 113.2644 : 116.4074,
		    &p), 200);
		if (i == 0)
			snprintf(cid, sizeof(cid), "%s", jstr(p.json,
			    "consumer"));
		http_free(&p);
	}
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM claims WHERE status ="
	    " 'held'"), 2);
	m1 = mint(T.kr, E.dir, "console1", "item", 4, NULL, NULL);
	m2 = mint(T.kr, E.dir, "console2", "item", 4, NULL, NULL);
	snprintf(env[0], sizeof(env[0]), "YIMA_ADMIN=%s", T.admin);
	snprintf(env[1], sizeof(env[1]), "YIMA_GTIN=%s", GTIN);
	snprintf(env[2], sizeof(env[2]), "YIMA_CHANNEL=%s", T.ch.codes[1]);
	snprintf(env[3], sizeof(env[3]), "YIMA_MANIFESTS=%s/manifest.json,"
	    "%s/manifest.json", m1, m2);
	for (i = 0; i < 4; i++)
		envs[i] = env[i];
	envs[4] = "YIMA_STAFF=brand.admin:correct horse 1";
	envs[5] = NULL;
	browser_run("YIMA_CONSOLE_TEST", "tests/browser/console.mjs", envs);
	/* What the console did, as the store has it. */
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM channels WHERE dealer ="
	    " 'C-SHOP' AND name = '西湖店收银台'"), 1);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM territories WHERE"
	    " dealer = 'C-DIST'"), 2);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM revocations WHERE"
	    " reason = '印刷错误'"), 1);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM batches"), 5);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM claims WHERE review IS"
	    " NOT NULL"), 2);
	ck_assert_int_eq(run(scanapi_bin(), &out, NULL, "ledger", "check",
	    "--db", E.db, (char *)NULL), 0);
	free(out);
	free(m1);
	free(m2);
	srv_stop();
}
END_TEST

/* A consumer's own page (tests/browser/me.mjs), from the landing page. */
START_TEST(test_me_browser)
{
	static const char *const flags[] = { "--ip-rate", "0",
	    "--consumer-rate", "1000", NULL };
	char code[64];
	const char *envs[] = { code, "YIMA_ITEM=保温杯", NULL };
	struct http_resp p;

	srv_start(flags);
	campaign("{\"name\":\"c\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2099-01-01T00:00:00Z\",\"points\":50,\"claim_kind\":"
	    "\"item\"}");
	ck_assert_int_eq(call("POST", "/api/v1/admin/catalogue", T.admin,
	    json_pack("{s:s,s:i}", "name", "保温杯", "points", 30), &p), 201);
	http_free(&p);
	snprintf(code, sizeof(code), "YIMA_CODE=%s", T.b1.codes[5]);
	browser_run("YIMA_ME_TEST", "tests/browser/me.mjs", envs);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM erased_consumers"), 1);
	srv_stop();
}
END_TEST

/*
 * The browser test: the simulator seeds a run; the script logs in through
 * the form and checks the numbers, charts, a CSV download, both widths,
 * a dealer's view, and the landing page with location granted and denied.
 */
START_TEST(test_dashboard_browser)
{
	/* Every row, small ones too: the dealer's view is checked against
	 * the log (test_report_privacy checks what a dealer is not sent). */
	static const char *const flags[] = { "--ip-rate", "0",
	    "--consumer-rate", "1000", "--alert-level1", "3",
	    "--min-report-count", "1", NULL };
	const char *art = env_or("YIMA_ARTIFACTS", "build/artifacts");
	char *argv[] = { "/usr/bin/env", NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, "node", NULL, NULL };
	char *planpath, *out = NULL, *err = NULL, *shot, *script;
	char url[64], codes[80], png[8], cid[128];
	const char *pngs[] = { "dashboard-1280.png", "dashboard-390.png",
	    "dashboard-dealer-390.png", "landing-granted.png",
	    "landing-denied.png" };
	struct http_resp p;
	json_t *plan;
	FILE *f;
	size_t i;
	int rc;

	srv_start(flags);
	plan = simulate("11", "3");
	/* The fixture's GTIN has a product: the SKU table names it. */
	ck_assert_int_eq(call("PUT", "/api/v1/admin/products/" GTIN, T.admin,
	    json_pack("{s:s,s:s,s:{s:s}}", "name", "青岛啤酒 500ml", "brand",
	    "b", "names", "en", "Tsingtao 500ml"), &p), 201);
	http_free(&p);
	/* A store's counter code: three consumers bound, two buy. */
	ck_assert_int_eq(call("POST", "/api/v1/admin/channels", T.admin,
	    json_pack("{s:s,s:s,s:s,s:s}", "code", T.ch.codes[0], "dealer",
	    json_string_value(jget(plan, "dealers.sa")), "name", "Counter",
	    "type", "store"), &p), 201);
	http_free(&p);
	campaign("{\"name\":\"c\",\"start\":\"2026-01-01T00:00:00Z\","
	    "\"end\":\"2099-01-01T00:00:00Z\",\"points\":5,\"commission\":"
	    "1,\"claim_kind\":\"item\"}");
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(scan(T.ch.codes[0], NULL, &p), 200);
		snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
		http_free(&p);
		if (i < 2) {
			ck_assert_int_eq(scan(T.b1.codes[22 + i], cid, &p),
			    200);
			/* The plan's log has every scan the page counts. */
			json_array_append_new(jget(plan, "scans"), json_pack(
			    "{s:I,s:n,s:s,s:I,s:n,s:b}", "serial",
			    (json_int_t)T.b1.serials[22 + i], "place",
			    "verdict", jstr(p.json, "verdict"), "scan_id",
			    (json_int_t)jint(p.json, "scan_id"), "region",
			    "near_border", 0));
			http_free(&p);
		}
	}
	planpath = tu_path(E.dir, "plan.json");
	ck_assert_int_eq(json_dump_file(plan, planpath, JSON_INDENT(1)), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", E.port);
	/* Two bottles the simulator never touched, for the landing page. */
	snprintf(codes, sizeof(codes), "%s,%s", T.b1.codes[20],
	    T.b1.codes[21]);
	ck_assert(asprintf(&argv[1], "YIMA_URL=%s", url) > 0);
	ck_assert(asprintf(&argv[2], "YIMA_PLAN=%s", planpath) > 0);
	ck_assert(asprintf(&argv[3], "YIMA_ADMIN=%s", T.admin) > 0);
	ck_assert(asprintf(&argv[4], "YIMA_CODES=%s", codes) > 0);
	ck_assert(asprintf(&argv[5], "YIMA_ARTIFACTS=%s", art) > 0);
	ck_assert(asprintf(&argv[6], "YIMA_NODE_MODULES=%s", env_or(
	    "YIMA_NODE_MODULES", "assets/web/npm/node_modules")) > 0);
	ck_assert(asprintf(&argv[7], "HOME=%s", E.dir) > 0);
	ck_assert(asprintf(&script, "%s", env_or("YIMA_BROWSER_TEST",
	    "tests/browser/dashboard.mjs")) > 0);
	argv[9] = script;
	/* Screenshots from a run before are not this run's. */
	for (i = 0; i < sizeof(pngs) / sizeof(pngs[0]); i++) {
		shot = tu_path(art, pngs[i]);
		unlink(shot);
		free(shot);
	}
	rc = tu_run(argv, &out, &err);
	ck_assert_msg(rc == 0, "the browser test failed (%d):\n%s%s", rc,
	    out, err);
	ck_assert_msg(strstr(out, "all checks passed") != NULL, "%s", out);
	for (i = 0; i < sizeof(pngs) / sizeof(pngs[0]); i++) {
		shot = tu_path(art, pngs[i]);
		ck_assert_msg((f = fopen(shot, "rb")) != NULL, "no %s", shot);
		ck_assert_uint_eq(fread(png, 1, 8, f), 8);
		ck_assert(memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
		fclose(f);
		free(shot);
	}
	for (i = 1; i <= 7; i++)
		free(argv[i]);
	free(script);
	free(out);
	free(err);
	free(planpath);
	json_decref(plan);
	srv_stop();
}
END_TEST

Suite *
dashboard_suite(void)
{
	Suite *s = suite_create("dashboard");
	TCase *tc = tcase_create("dashboard");

	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_static_files);
	tcase_add_test(tc, test_static_no_assets);
	tcase_add_test(tc, test_whoami);
	tcase_add_test(tc, test_staff);
	tcase_add_test(tc, test_tokens);
	tcase_add_test(tc, test_dealer_move);
	tcase_add_test(tc, test_regions_batches_qr);
	tcase_add_test(tc, test_diversion_csv);
	tcase_add_test(tc, test_dashboard_browser);
	tcase_add_test(tc, test_console_browser);
	tcase_add_test(tc, test_me_browser);
	suite_add_tcase(s, tc);
	return s;
}
