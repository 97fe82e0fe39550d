/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP layer under attack: overlong codes on every route that takes
 * one, request lines and encodings MHD cannot hold, trusted proxies and
 * the cookies' attributes. The real server over loopback.
 */
#define _GNU_SOURCE	/* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "../scanapi/routes.h"
#include "srvutil.h"
#include "testutil.h"

#define LONG_CODE	600

/* ---- 1. a 600-character code on every route that takes codes ---- */

static char long_code[LONG_CODE + 1];

struct code_route {
	const char	*method;
	const char	*path;		/* @C: the long code */
	const char	*body;		/* @C: the long code; NULL: none */
	int		 who;		/* 0 admin, 1 ops, 2 dealer, 3 none */
	int		 status;
	const char	*message;	/* the whole message, exactly */
};

#define LONG_WHY "not a code: longer than 512 characters"

static const struct code_route code_routes[] = {
	{ "POST", "/api/v1/scans", "{\"code\":\"@C\"}", 3, 400,
	    "\"code\" must be a string of 1 to 512 characters" },
	{ "GET", "/api/v1/codes/@C", NULL, 3, 400,
	    "the code is longer than 512 characters" },
	{ "GET", "/api/v1/codes/@C/trace", NULL, 0, 400,
	    "the code is invalid" },
	{ "DELETE", "/api/v1/packs/@C", NULL, 1, 400,
	    "the code is invalid" },
	{ "POST", "/api/v1/admin/revocations", "{\"code\":\"@C\"}", 0, 400,
	    "the code is invalid: " LONG_WHY },
	{ "POST", "/api/v1/admin/channels", "{\"code\":\"@C\",\"dealer\":"
	    "\"D-42\",\"type\":\"store\",\"name\":\"n\"}", 0, 400,
	    "code 1 is invalid: " LONG_WHY },
	{ "POST", "/api/v1/packs", "{\"parent\":\"@C\",\"children\":[]}", 1,
	    400, "code 1 is invalid: " LONG_WHY },
	{ "POST", "/api/v1/packs", "{\"parent\":\"@B\",\"children\":"
	    "[\"@1\",\"@C\"]}", 1, 400, "code 2 is invalid: " LONG_WHY },
	{ "POST", "/api/v1/shipments", "{\"to\":\"D-42\",\"codes\":[\"@C\"]}",
	    0, 400, "code 1 is invalid: " LONG_WHY },
	{ "POST", "/api/v1/receipts", "{\"kind\":\"receive\",\"codes\":"
	    "[\"@C\"]}", 2, 400, "code 1 is invalid: " LONG_WHY },
};

/* fmt with "@C" as the long code, "@1" an item's and "@B" a box's. */
static char *
fill(const char *fmt, const char *box)
{
	char *out, *tmp, *at;

	ck_assert_ptr_nonnull(out = strdup(fmt));
	while ((at = strchr(out, '@')) != NULL) {
		*at = '\0';
		ck_assert(asprintf(&tmp, "%s%s%s", out, at[1] == 'C' ?
		    long_code : at[1] == '1' ? T.b1.codes[0] : box, at + 2) >
		    0);
		free(out);
		out = tmp;
	}
	return out;
}

START_TEST(test_long_codes)
{
	const struct code_route *cr = &code_routes[_i];
	const char *tokens[] = { T.admin, T.ops, T.dealer, NULL };
	struct http_req q = { NULL, NULL, NULL, NULL, NULL, NULL, 0 };
	struct http_resp p;
	struct batch box;
	char *path, *body = NULL, *before, *after;

	memset(long_code, 'A', LONG_CODE);
	/* A real box for the parent, so only the child is wrong. */
	free(mint(T.kr, E.dir, "box", "box", 1, NULL, &box));
	import(E.db, T.kr, box.dir);
	path = fill(cr->path, box.codes[0]);
	if (cr->body != NULL)
		body = fill(cr->body, box.codes[0]);
	srv_start(open_flags);
	before = db_fingerprint();
	q.method = cr->method;
	q.path = path;
	q.token = tokens[cr->who];
	q.body = body;
	q.ctype = body != NULL ? "application/json" : NULL;
	ck_assert_int_eq(http(E.port, &q, &p), cr->status);
	/* Whole, valid JSON (jansson checks the UTF-8), word for word. */
	assert_error(&p, cr->status, cr->path);
	ck_assert_msg(strcmp(jstr(p.json, "error.message"), cr->message) == 0,
	    "%s %s: message %s", cr->method, cr->path, p.body);
	http_free(&p);
	after = db_fingerprint();
	ck_assert_str_eq(after, before);
	srv_stop();
	free(before);
	free(after);
	free(box.dir);
	free(path);
	free(body);
}
END_TEST

/* ---- 2. what MHD itself cannot hold is answered at once ---- */

START_TEST(test_request_limits)
{
	struct http_req q = { "GET", NULL, NULL, NULL, NULL, NULL, 0 };
	struct http_resp p;
	char *path, *log;
	size_t n;
	int i, k;

	srv_start(open_flags);
	/*
	 * A receive waits 5 s at most: without the fix the server holds
	 * such a request until its 15 s timeout, so no status comes back.
	 */
	http_timeout = 5;
	/*
	 * 700 arguments in 5 KB: MHD's pool runs out (the attack), and 65
	 * in under 1 KB: more than any route takes.
	 */
	ck_assert_ptr_nonnull(path = malloc(8192));
	q.path = path;
	for (k = 0; k < 2; k++) {
		n = (size_t)sprintf(path, "/api/v1/codes/%s?", T.b1.codes[0]);
		for (i = 0; i < (k == 0 ? 700 : API_ARGS_MAX + 1); i++)
			n += (size_t)sprintf(path + n, "a%d=b&", i);
		path[n - 1] = '\0';
		ck_assert_int_eq(http(E.port, &q, &p), 414);
		assert_error(&p, 414, "many arguments");
		ck_assert_pstr_eq(jstr(p.json, "error.code"), "uri_too_long");
		http_free(&p);
	}
	/* One argument, but longer than the limit. */
	n = (size_t)sprintf(path, "/api/v1/codes/%s?a=", T.b1.codes[0]);
	memset(path + n, 'x', 4200);
	path[n + 4200] = '\0';
	ck_assert_int_eq(http(E.port, &q, &p), 414);
	http_free(&p);
	/* Within the limits a query is read as ever. */
	n = (size_t)sprintf(path, "/api/v1/codes/%s?", T.b1.codes[0]);
	for (i = 0; i < API_ARGS_MAX; i++)
		n += (size_t)sprintf(path + n, "a%d=b&", i);
	path[n - 1] = '\0';
	ck_assert_int_eq(http(E.port, &q, &p), 200);
	http_free(&p);
	/* A body MHD cannot delimit: 501 now, not a wait. */
	q.method = "POST";
	q.path = "/api/v1/scans";
	q.ctype = "application/json";
	q.headers = "Transfer-Encoding: gzip\r\n";
	q.body = "{}";
	ck_assert_int_eq(http(E.port, &q, &p), 501);
	assert_error(&p, 501, "gzip");
	ck_assert_pstr_eq(jstr(p.json, "error.code"), "not_implemented");
	http_free(&p);
	http_timeout = 15;
	srv_stop();
	/* Each is in the log with its status. */
	ck_assert_ptr_nonnull(log = tu_read_file(E.log, NULL));
	ck_assert_msg(strstr(log, "\"status\":414") != NULL &&
	    strstr(log, "\"status\":501") != NULL, "log: %.2000s", log);
	free(log);
	free(path);
}
END_TEST

/* A chunked body is still read (only other encodings are refused). */
START_TEST(test_chunked_body)
{
	struct http_resp p;
	char *req;
	int fd;

	srv_start(open_flags);
	ck_assert(asprintf(&req, "POST /api/v1/scans HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\nContent-Type: application/json\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n%zx\r\n{\"code\":\"%s\"}"
	    "\r\n0\r\n\r\n", strlen(T.b1.codes[1]) + 12, T.b1.codes[1]) > 0);
	ck_assert_int_ge(fd = http_connect(E.port), 0);
	ck_assert_int_eq(send_all(fd, req, strlen(req)), 0);
	ck_assert_int_eq(http_recv(fd, &p), 0);
	close(fd);
	ck_assert_int_eq(p.status, 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	http_free(&p);
	free(req);
	srv_stop();
}
END_TEST

/* ---- 3. the client behind a trusted proxy ---- */

struct hop_case {
	const char	*trusted;
	int		 forwarded;	/* the Forwarded header, not XFF */
	const char	*hops;
	const char	*client;	/* what the peer's address becomes */
	int		 https;
};

static const struct hop_case hop_cases[] = {
	/* The proxy appended the peer it saw: that is the client. */
	{ "127.0.0.1", 0, "203.0.113.9", "203.0.113.9", 0 },
	/* What a client wrote itself stands left: never believed. */
	{ "127.0.0.1", 0, "1.1.1.1, 203.0.113.9", "203.0.113.9", 0 },
	/* Two proxies of ours in a row: walk past both. */
	{ "127.0.0.1,10.0.0.0/8", 0, "1.1.1.1, 198.51.100.7, 10.2.3.4",
	    "198.51.100.7", 0 },
	/* Every hop trusted: the oldest. */
	{ "127.0.0.1,10.0.0.0/8", 0, "10.9.9.9, 10.2.3.4", "10.9.9.9", 0 },
	/* Garbage stops the walk where it is. */
	{ "127.0.0.1,10.0.0.0/8", 0, "1.1.1.1, junk, 10.2.3.4", "10.2.3.4",
	    0 },
	{ "127.0.0.1", 0, "not-an-address", "127.0.0.1", 0 },
	{ "127.0.0.1", 0, "[2001:db8::7]:443", "2001:db8::7", 0 },
	{ "127.0.0.1", 0, "192.0.2.1:5555", "192.0.2.1", 0 },
	{ "::1,127.0.0.1", 0, "2001:db8::1, ::1", "2001:db8::1", 0 },
	/* RFC 7239: for= and the newest hop's proto=. */
	{ "127.0.0.1", 1, "for=1.1.1.1, for=\"[2001:db8::5]:80\";"
	    "proto=https", "2001:db8::5", 1 },
	{ "127.0.0.1", 1, "for=192.0.2.60;proto=http;by=203.0.113.43",
	    "192.0.2.60", 0 },
	{ "127.0.0.1", 1, "for=unknown", "127.0.0.1", 0 },
};

START_TEST(test_proxy_hops)
{
	const struct hop_case *hc = &hop_cases[_i];
	struct api_proxies px;
	char client[48] = "127.0.0.1", why[256];
	int https = 0;

	memset(&px, 0, sizeof(px));
	ck_assert_int_eq(api_proxies_parse(hc->trusted, &px, why), 0);
	px.header = hc->forwarded ? API_PROXY_FORWARDED : API_PROXY_XFF;
	api_proxy_client(&px, hc->hops, client, sizeof(client), &https);
	ck_assert_msg(strcmp(client, hc->client) == 0, "%s: got %s",
	    hc->hops, client);
	ck_assert_int_eq(https, hc->https);
}
END_TEST

START_TEST(test_proxy_parse)
{
	static const char *const bad[] = { "", ",", "1.2.3.4/33", "::1/129",
	    "300.1.1.1", "1.2.3.4/", "1.2.3.4/x", "1.2.3.4/-1", "host.name",
	    "1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,"
	    "1.1.1.8,1.1.1.9,1.1.1.10,1.1.1.11,1.1.1.12,1.1.1.13,1.1.1.14,"
	    "1.1.1.15,1.1.1.16,1.1.1.17", NULL };
	struct api_proxies px;
	char why[256];
	int i;

	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(api_proxies_parse(bad[i], &px, why) != 0,
		    "accepted %s", bad[i]);
	ck_assert_int_eq(api_proxies_parse("192.168.0.0/16,fd00::/8", &px,
	    why), 0);
	ck_assert_int_eq(px.n, 2);
	ck_assert(api_proxies_trust(&px, "192.168.44.1"));
	ck_assert(!api_proxies_trust(&px, "192.169.0.1"));
	ck_assert(api_proxies_trust(&px, "fd12::1"));
	ck_assert(!api_proxies_trust(&px, "fe00::1"));
	/* An IPv4 peer on an IPv6 socket is the same address. */
	ck_assert(api_proxies_trust(&px, "::ffff:192.168.1.1"));
	ck_assert_int_eq(api_proxies_parse("0.0.0.0/0", &px, why), 0);
	ck_assert(api_proxies_trust(&px, "8.8.8.8"));
	ck_assert(!api_proxies_trust(&px, "2001:db8::1"));
}
END_TEST

/* Scans code with a header; returns the status. */
static int
scan_via(const char *code, const char *headers, struct http_resp *p)
{
	return scan_obj(json_pack("{s:s}", "code", code), headers, p);
}

START_TEST(test_trusted_proxy)
{
	const char *flags[] = { "--ip-rate", "1", "--consumer-rate", "1000",
	    "--trusted-proxy", "127.0.0.1/32", NULL };
	const char *none[] = { "--ip-rate", "1", "--consumer-rate", "1000",
	    NULL };
	const char *other[] = { "--ip-rate", "1", "--consumer-rate", "1000",
	    "--trusted-proxy", "10.0.0.1", NULL };
	const char *bad[] = { "--trusted-proxy", "1.2.3.4/40", NULL };
	const char *const *untrusted[] = { none, other };
	struct http_resp p;
	int i, k;

	/*
	 * Trusted: each consumer behind the proxy has its own bucket (a
	 * burst of 2 at 1/s), and its own address is what is stored.
	 */
	srv_start(flags);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(scan_via(T.b1.codes[i], "X-Forwarded-For: "
		    "6.6.6.6, 198.51.100.1\r\n", &p), 200);
		http_free(&p);
	}
	ck_assert_int_eq(scan_via(T.b1.codes[2], "X-Forwarded-For: "
	    "198.51.100.1\r\n", &p), 429);
	http_free(&p);
	ck_assert_int_eq(scan_via(T.b1.codes[3], "X-Forwarded-For: "
	    "198.51.100.2\r\n", &p), 200);
	http_free(&p);
	srv_stop();
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE client = "
	    "'198.51.100.1'"), 2);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE client = "
	    "'198.51.100.2'"), 1);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE client = "
	    "'6.6.6.6' OR client = '127.0.0.1'"), 0);
	/* Without the flag, or from a peer not trusted: one bucket. */
	for (k = 0; k < 2; k++) {
		srv_start(untrusted[k]);
		for (i = 0; i < 3; i++) {
			ck_assert_int_eq(scan_via(T.b1.codes[4 + i],
			    i == 0 ? "X-Forwarded-For: 198.51.100.3\r\n" :
			    i == 1 ? "X-Forwarded-For: 198.51.100.4\r\n" :
			    "X-Forwarded-For: 198.51.100.5\r\n", &p),
			    i < 2 ? 200 : 429);
			http_free(&p);
		}
		srv_stop();
		msleep(1100);	/* a new server, new buckets anyway */
	}
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE client "
	    "LIKE '198.51.100.%%' AND client NOT IN ('198.51.100.1', "
	    "'198.51.100.2')"), 0);
	ck_assert_int_eq(run(scanapi_bin(), NULL, NULL, "serve", "--db", E.db,
	    "--keyring", T.kr, bad[0], bad[1], NULL), 2);
}
END_TEST

/* ---- 4. cookies: Secure only when the client used HTTPS ---- */

/* The Set-Cookie header of an answer, or fails. */
static void
cookie_of(const struct http_resp *p, char *out, size_t len)
{
	ck_assert_msg(http_header(p, "Set-Cookie", out, len), "no cookie: %s",
	    p->raw);
}

START_TEST(test_cookies)
{
	const char *flags[] = { "--ip-rate", "0", "--consumer-rate", "1000",
	    "--trusted-proxy", "127.0.0.1", NULL };
	const char *none[] = { "--ip-rate", "0", "--consumer-rate", "1000",
	    NULL };
	const char *https = "X-Forwarded-Proto: https\r\n";
	struct http_req q = { "POST", "/api/v1/session", "application/json",
	    NULL, NULL, NULL, 0 };
	struct http_resp p;
	char c[256], body[128];
	int k, secure;

	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", T.admin);
	q.body = body;
	for (k = 0; k < 4; k++) {
		/*
		 * 0: trusted and HTTPS; 1: HTTPS said by a stranger; 2: http;
		 * 3: the client's "https", then the proxy's own "http".
		 */
		srv_start(k == 1 ? none : flags);
		secure = k == 0;
		ck_assert_int_eq(scan_via(T.b1.codes[k], k < 2 ? https : k == 2 ?
		    "X-Forwarded-Proto: http\r\n" : "X-Forwarded-Proto: "
		    "https\r\nX-Forwarded-Proto: http\r\n", &p), 200);
		cookie_of(&p, c, sizeof(c));
		ck_assert_msg(strncmp(c, "yima_cid=", 9) == 0 &&
		    strstr(c, "; HttpOnly") != NULL &&
		    strstr(c, "; SameSite=Lax") != NULL &&
		    (strstr(c, "; Secure") != NULL) == secure, "%d: %s", k, c);
		http_free(&p);
		q.headers = k < 2 ? https : NULL;
		ck_assert_int_eq(http(E.port, &q, &p), 200);
		cookie_of(&p, c, sizeof(c));
		ck_assert_msg(strncmp(c, "yima_session=", 13) == 0 &&
		    strstr(c, "; HttpOnly") != NULL &&
		    strstr(c, "; SameSite=Strict") != NULL &&
		    (strstr(c, "; Secure") != NULL) == secure, "%d: %s", k, c);
		http_free(&p);
		srv_stop();
	}
}
END_TEST

Suite *http_suite(void);

Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc;

	tc = srv_tcase("hostile", 120);
	tcase_add_loop_test(tc, test_long_codes, 0,
	    (int)(sizeof(code_routes) / sizeof(code_routes[0])));
	tcase_add_test(tc, test_request_limits);
	tcase_add_test(tc, test_chunked_body);
	suite_add_tcase(s, tc);

	tc = tcase_create("proxy-unit");
	tcase_add_loop_test(tc, test_proxy_hops, 0,
	    (int)(sizeof(hop_cases) / sizeof(hop_cases[0])));
	tcase_add_test(tc, test_proxy_parse);
	suite_add_tcase(s, tc);

	tc = srv_tcase("proxy", 120);
	tcase_add_test(tc, test_trusted_proxy);
	tcase_add_test(tc, test_cookies);
	suite_add_tcase(s, tc);
	return s;
}
