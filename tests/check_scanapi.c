/* SPDX-License-Identifier: Apache-2.0 */
/* End-to-end tests of yima-scanapi: the real server over loopback HTTP. */
#define _GNU_SOURCE	/* asprintf, vasprintf, prctl, MSG_NOSIGNAL */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "yima/code.h"
#include "yima/dl.h"
#include "yima/err.h"
#include "yima/keyring.h"
#include "yima/mac.h"

#include "../scanapi/consumer.h"
#include "srvutil.h"
#include "testutil.h"

/* ---- 1. scans and verdicts ---- */

enum src { S_ITEM, S_URL, S_INNER, S_CHANNEL, S_UNREG, S_RAW, S_TAMPER };

struct vstep {
	enum src	 src;
	int		 idx;
	const char	*raw;		/* S_RAW: the text scanned */
	const char	*verdict;
	const char	*kind;		/* NULL: an invalid code, no kind */
	int		 count;		/* scan_count; -1: not checked */
};

static const struct vstep vsteps[] = {
	{ S_ITEM, 0, NULL, "genuine", "item", 1 },
	{ S_ITEM, 0, NULL, "repeat", "item", 2 },
	{ S_URL, 0, NULL, "repeat", "item", 3 },
	{ S_URL, 1, NULL, "genuine", "item", 1 },
	{ S_ITEM, 1, NULL, "repeat", "item", 2 },
	{ S_ITEM, 2, NULL, "genuine", "item", 1 },
	{ S_INNER, 0, NULL, "genuine", "inner", 1 },
	{ S_INNER, 0, NULL, "repeat", "inner", 2 },
	{ S_CHANNEL, 0, NULL, "channel", "channel", -1 },
	{ S_CHANNEL, 0, NULL, "channel", "channel", -1 },
	{ S_UNREG, 0, NULL, "unregistered", "item", -1 },
	{ S_RAW, 0, "garbage", "invalid", NULL, -1 },
	{ S_RAW, 0, "000000000000000000000000", "invalid", NULL, -1 },
	{ S_RAW, 0, "https://evil.example/c/ABCDEFGHJKMNPQRSTVWXYZ01",
	    "invalid", NULL, -1 },
	{ S_TAMPER, 3, NULL, "invalid", NULL, -1 },
	{ S_ITEM, 3, NULL, "genuine", "item", 1 },
};

/* The text a step scans and the batch it belongs to. */
static const char *
step_code(const struct vstep *s, char *buf, size_t len, const char **batch)
{
	*batch = NULL;
	switch (s->src) {
	case S_ITEM:
		*batch = T.b1.id;
		return T.b1.codes[s->idx];
	case S_URL:
		*batch = T.b1.id;
		return T.b1.urls[s->idx];
	case S_INNER:
		*batch = T.inner.id;
		return T.inner.codes[s->idx];
	case S_CHANNEL:
		*batch = T.ch.id;
		return T.ch.codes[s->idx];
	case S_UNREG:
		return T.b2.codes[s->idx];
	case S_TAMPER:
		/* One character changed in the middle: the tag fails. */
		snprintf(buf, len, "%s", T.b1.codes[s->idx]);
		buf[14] = buf[14] == '0' ? '1' : '0';
		return buf;
	case S_RAW:
		break;
	}
	return s->raw;
}

START_TEST(test_verdicts)
{
	struct http_resp p;
	char buf[64], cid[64] = "", first_at[NB1][40];
	const char *code, *batch, *v;
	long long last_id = 0, id, rows;
	size_t i;

	memset(first_at, 0, sizeof(first_at));
	srv_start(open_flags);
	for (i = 0; i < sizeof(vsteps) / sizeof(vsteps[0]); i++) {
		const struct vstep *s = &vsteps[i];

		code = step_code(s, buf, sizeof(buf), &batch);
		rows = nscans();
		/* One consumer throughout, so no step is "suspect". */
		scan(code, cid[0] ? cid : NULL, &p);
		ck_assert_msg(p.status == 200, "step %zu (%s): status %d: %s",
		    i, code, p.status, p.body);
		ck_assert_msg(json_is_object(p.json), "step %zu: %s", i,
		    p.body);
		ck_assert_msg((v = jstr(p.json, "verdict")) != NULL &&
		    strcmp(v, s->verdict) == 0, "step %zu (%s): verdict %s, "
		    "want %s: %s", i, code, v, s->verdict, p.body);
		/* Every verdict is recorded, invalid ones too. */
		id = jint(p.json, "scan_id");
		ck_assert_msg(id > last_id, "step %zu: scan_id %lld after %lld",
		    i, id, last_id);
		last_id = id;
		ck_assert_int_eq(nscans(), rows + 1);
		ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE id ="
		    " %lld", id), 1);
		ck_assert_msg(is_hex(jstr(p.json, "consumer"), 48),
		    "step %zu: consumer: %s", i, p.body);
		if (cid[0] == '\0')
			snprintf(cid, sizeof(cid), "%s",
			    jstr(p.json, "consumer"));
		ck_assert_str_eq(jstr(p.json, "consumer"), cid);
		ck_assert_msg(json_is_null(json_object_get(p.json, "reward")),
		    "step %zu: reward must be null: %s", i, p.body);
		if (s->kind == NULL) {
			ck_assert_ptr_null(jget(p.json, "serial"));
			ck_assert_ptr_null(jget(p.json, "product"));
			http_free(&p);
			continue;
		}
		ck_assert_pstr_eq(jstr(p.json, "kind"), s->kind);
		if (s->src == S_ITEM || s->src == S_URL)
			ck_assert_int_eq(jint(p.json, "serial"),
			    T.b1.serials[s->idx]);
		if (batch == NULL) {
			ck_assert_msg(jget(p.json, "product") == NULL ||
			    json_is_null(jget(p.json, "product")),
			    "unregistered with a product: %s", p.body);
		} else {
			ck_assert_pstr_eq(jstr(p.json, "product.batch"), batch);
		}
		if (s->src == S_ITEM || s->src == S_URL) {
			ck_assert_pstr_eq(jstr(p.json, "product.gtin"), GTIN);
			ck_assert_pstr_eq(jstr(p.json, "product.lot"), LOT);
			ck_assert_pstr_eq(jstr(p.json, "product.mfg"), MFG);
			ck_assert_pstr_eq(jstr(p.json, "product.expiry"),
			    EXPIRY);
		}
		if (s->count >= 0) {
			ck_assert_int_eq(jint(p.json, "scan_count"), s->count);
			ck_assert_msg(jstr(p.json, "first_scan.at") != NULL,
			    "step %zu: no first_scan.at: %s", i, p.body);
		}
		if (s->count > 0 && (s->src == S_ITEM || s->src == S_URL)) {
			/* first_scan stays the first one. */
			if (s->count == 1)
				snprintf(first_at[s->idx], 40, "%s",
				    jstr(p.json, "first_scan.at"));
			ck_assert_str_eq(jstr(p.json, "first_scan.at"),
			    first_at[s->idx]);
		}
		http_free(&p);
	}
	srv_stop();
}
END_TEST

/* first_scan keeps the place of the first located scan. */
/* A located scan stores the region it resolved to, and answers it. */
START_TEST(test_scan_region)
{
	static const struct {
		double		 lat, lon;
		const char	*region;	/* NULL: none */
	} at[] = {
		{ 31.2304, 121.4737, "310100" },	/* Shanghai */
		{ 23.1291, 113.2644, "440100" },	/* Guangzhou */
		{ 36.2144, 117.6776, "370100" },	/* former Laiwu */
		{ 35.6762, 139.6503, NULL },		/* Tokyo */
	};
	struct http_resp p;
	size_t i;
	long long id;

	srv_start(open_flags);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		ck_assert_int_eq(scan_at(T.b1.codes[12 + i], NULL, at[i].lat,
		    at[i].lon, &p), 200);
		id = jint(p.json, "scan_id");
		if (at[i].region == NULL) {
			ck_assert_ptr_null(jget(p.json, "region"));
			ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans "
			    "WHERE id = %lld AND region IS NULL", id), 1);
		} else {
			ck_assert_pstr_eq(jstr(p.json, "region.code"),
			    at[i].region);
			ck_assert(json_is_boolean(jget(p.json,
			    "region.near_border")));
			ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans "
			    "WHERE id = %lld AND region = '%s'", id,
			    at[i].region), 1);
		}
		http_free(&p);
	}
	/* Without a place there is no region. */
	ck_assert_int_eq(scan(T.b1.codes[20], NULL, &p), 200);
	ck_assert_ptr_null(jget(p.json, "region"));
	http_free(&p);
	srv_stop();
}
END_TEST

/* 1 if the answer's first scan lies in the region with this prefix. */
static int
first_in(json_t *o, const char *prefix)
{
	const char *code = jstr(o, "first_scan.region.code");

	return code != NULL && strncmp(code, prefix, strlen(prefix)) == 0;
}

/*
 * A GS1 Digital Link URI of an imported item is that item: genuine once,
 * then a repeat whichever form is scanned; under another GTIN (a valid
 * one) it is invalid, and so is a URI that breaks GS1's syntax.
 */
START_TEST(test_scan_digital_link)
{
	struct http_resp p;
	char s[YIMA_DL_LEN + 1], url[YIMA_DL_URL_MAX], cid[64];

	dl_serial(T.b1.serials[6], s);
	srv_start(open_flags);
	yima_dl_url("YIMA.EXAMPLE.COM", GTIN, s, url);
	ck_assert_int_eq(scan(url, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	ck_assert_int_eq(jint(p.json, "serial"), T.b1.serials[6]);
	snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
	http_free(&p);
	ck_assert_int_eq(scan(T.b1.codes[6], cid, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "repeat");
	http_free(&p);
	/* Its path alone, with a query: the same item. */
	snprintf(url, sizeof(url), "/01/%s/21/%s?linkType=all", GTIN, s);
	ck_assert_int_eq(scan(url, cid, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "repeat");
	http_free(&p);
	/* Its path opens the landing page; "/01/" alone is nothing. */
	snprintf(url, sizeof(url), "/01/%s/21/%s?x=1", GTIN, s);
	ck_assert_int_eq(get(url, NULL, &p), 200);
	ck_assert_ptr_nonnull(strstr(p.body, "<html"));
	http_free(&p);
	ck_assert_int_eq(get("/01/", NULL, &p), 404);
	http_free(&p);
	yima_dl_url("yima.example.com", "09520123456788", s, url);
	ck_assert_int_eq(scan(url, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "invalid");
	ck_assert_ptr_nonnull(strstr(jstr(p.json, "reason"), "GTIN"));
	http_free(&p);
	snprintf(url, sizeof(url), "https://x/01/06901234567893/21/%s", s);
	ck_assert_int_eq(scan(url, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "invalid");
	ck_assert_ptr_nonnull(strstr(jstr(p.json, "reason"), "check digit"));
	http_free(&p);
	srv_stop();
}
END_TEST

START_TEST(test_first_scan_place)
{
	struct http_resp p;
	json_t *o;
	char cid[64], path[128];
	const char *at;
	int i;

	srv_start(open_flags);
	o = json_pack("{s:s,s:f,s:f,s:f}", "code", T.b1.codes[5], "lat",
	    31.2304, "lon", 121.4737, "accuracy", 25.0);
	ck_assert_int_eq(scan_obj(o, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE id = %lld"
	    " AND abs(lat - 31.2304) < 1e-6 AND abs(lon - 121.4737) < 1e-6",
	    jint(p.json, "scan_id")), 1);
	snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
	at = jstr(p.json, "first_scan.at");
	ck_assert_ptr_nonnull(at);
	/* RFC 3339: 2026-01-01T00:00:00... */
	ck_assert_msg(strlen(at) >= 20 && at[4] == '-' && at[10] == 'T',
	    "first_scan.at %s", at);
	http_free(&p);
	/*
	 * Whoever scans or looks the code up later learns the first
	 * scan's region and time, never the coordinates: they are another
	 * person's position (PIPL). Twice: the scan answer and the peek.
	 */
	snprintf(path, sizeof(path), "/api/v1/codes/%s", T.b1.codes[5]);
	for (i = 0; i < 2; i++) {
		if (i == 0)
			ck_assert_int_eq(scan(T.b1.codes[5], NULL, &p), 200);
		else
			ck_assert_int_eq(get(path, NULL, &p), 200);
		ck_assert_pstr_eq(jstr(p.json, "verdict"), "repeat");
		ck_assert_ptr_null(jget(p.json, "first_scan.lat"));
		ck_assert_ptr_null(jget(p.json, "first_scan.lon"));
		ck_assert_msg(strstr(p.body, "31.23") == NULL &&
		    strstr(p.body, "121.47") == NULL, "a coordinate: %s",
		    p.body);
		ck_assert_msg(first_in(p.json, "31"), "region %s", p.body);
		ck_assert_ptr_nonnull(jstr(p.json, "first_scan.region.name"));
		http_free(&p);
	}
	/* A later scan without a place: first_scan unchanged. */
	ck_assert_int_eq(scan(T.b1.codes[5], cid, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "repeat");
	ck_assert_msg(first_in(p.json, "31"), "region %s", p.body);
	http_free(&p);
	/* A code first scanned without a place has no region. */
	ck_assert_int_eq(scan(T.b1.codes[6], cid, &p), 200);
	ck_assert_ptr_nonnull(jget(p.json, "first_scan"));
	ck_assert_ptr_null(jget(p.json, "first_scan.region"));
	http_free(&p);
	srv_stop();
}
END_TEST

/* GET /api/v1/codes/{code} tells the state now and records nothing. */
START_TEST(test_codes_peek)
{
	struct http_resp p;
	char path[256], at[40], *fp, *after;

	srv_start(open_flags);
	fp = db_fingerprint();
	snprintf(path, sizeof(path), "/api/v1/codes/%s", T.b1.codes[7]);
	ck_assert_int_eq(get(path, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	ck_assert_int_eq(jint(p.json, "scan_count"), 0);
	ck_assert_pstr_eq(jstr(p.json, "product.batch"), T.b1.id);
	ck_assert_pstr_eq(jstr(p.json, "product.gtin"), GTIN);
	ck_assert_int_eq(jint(p.json, "serial"), T.b1.serials[7]);
	ck_assert_ptr_null(jget(p.json, "scan_id"));
	http_free(&p);
	ck_assert_int_eq(get(path, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	http_free(&p);
	after = db_fingerprint();
	ck_assert_str_eq(after, fp);
	free(after);
	free(fp);
	/* Scanned twice: repeat, count 2, the first scan's time. */
	ck_assert_int_eq(scan(T.b1.codes[7], NULL, &p), 200);
	snprintf(at, sizeof(at), "%s", jstr(p.json, "first_scan.at"));
	http_free(&p);
	ck_assert_int_eq(scan(T.b1.codes[7], NULL, &p), 200);
	http_free(&p);
	fp = db_fingerprint();
	ck_assert_int_eq(get(path, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "repeat");
	ck_assert_int_eq(jint(p.json, "scan_count"), 2);
	ck_assert_pstr_eq(jstr(p.json, "first_scan.at"), at);
	http_free(&p);
	/* Invalid and unregistered codes, not recorded either. */
	ck_assert_int_eq(get("/api/v1/codes/NOTACODE", NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "invalid");
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/codes/%s", T.b2.codes[1]);
	ck_assert_int_eq(get(path, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "unregistered");
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/codes/%s", T.ch.codes[1]);
	ck_assert_int_eq(get(path, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "channel");
	http_free(&p);
	after = db_fingerprint();
	ck_assert_str_eq(after, fp);
	free(after);
	free(fp);
	srv_stop();
}
END_TEST

/* How a consumer id is presented, and whether it is kept. */
enum cid_form { CID_NONE, CID_BODY, CID_COOKIE, CID_FORGED_ID,
    CID_FORGED_TAG, CID_UPPER, CID_LONG, CID_SHORT, CID_TEXT, CID_NUMBER,
    CID_EMPTY, CID_FORGED_COOKIE, CID_FORGED_BODY_GOOD_COOKIE };

static const struct {
	enum cid_form	form;
	int		kept;	/* the answer carries the issued id */
} cid_cases[] = {
	{ CID_BODY, 1 },
	{ CID_COOKIE, 1 },
	{ CID_FORGED_BODY_GOOD_COOKIE, 1 },
	{ CID_NONE, 0 },
	{ CID_FORGED_ID, 0 },
	{ CID_FORGED_TAG, 0 },
	{ CID_UPPER, 0 },
	{ CID_LONG, 0 },
	{ CID_SHORT, 0 },
	{ CID_TEXT, 0 },
	{ CID_NUMBER, 0 },
	{ CID_EMPTY, 0 },
	{ CID_FORGED_COOKIE, 0 },
};

START_TEST(test_consumer_ids)
{
	struct http_resp p;
	char cid[64], forged[64], hdr[160], cookie[160];
	const char *got;
	long long t;
	json_t *o;
	size_t i, k;

	srv_start(open_flags);
	ck_assert_int_eq(scan(T.b1.codes[8], NULL, &p), 200);
	ck_assert_msg(is_hex(jstr(p.json, "consumer"), 48), "%s", p.body);
	snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
	/* The same id as an HttpOnly cookie. */
	ck_assert(http_header(&p, "Set-Cookie", cookie, sizeof(cookie)));
	snprintf(hdr, sizeof(hdr), "yima_cid=%s", cid);
	ck_assert_msg(strncmp(cookie, hdr, strlen(hdr)) == 0, "Set-Cookie: %s",
	    cookie);
	ck_assert_msg(strcasestr(cookie, "HttpOnly") != NULL, "Set-Cookie: %s",
	    cookie);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE consumer ="
	    " '%.24s'", cid), 1);
	/* It begins with the millisecond it was made: new ids sort last. */
	snprintf(hdr, sizeof(hdr), "%.12s", cid);
	t = strtoll(hdr, NULL, 16) / 1000;
	ck_assert_msg(llabs(t - (long long)time(NULL)) <= 60, "id %s", cid);
	for (i = 0; i < sizeof(cid_cases) / sizeof(cid_cases[0]); i++) {
		o = json_pack("{s:s}", "code", T.b1.codes[9 + i % 4]);
		hdr[0] = '\0';
		snprintf(forged, sizeof(forged), "%s", cid);
		switch (cid_cases[i].form) {
		case CID_NONE:
			break;
		case CID_BODY:
			json_object_set_new(o, "consumer", json_string(cid));
			break;
		case CID_COOKIE:
			snprintf(hdr, sizeof(hdr),
			    "Cookie: a=b; yima_cid=%s\r\n", cid);
			break;
		case CID_FORGED_BODY_GOOD_COOKIE:
			forged[0] = forged[0] == 'a' ? 'b' : 'a';
			json_object_set_new(o, "consumer", json_string(forged));
			snprintf(hdr, sizeof(hdr), "Cookie: yima_cid=%s\r\n",
			    cid);
			break;
		case CID_FORGED_ID:
			forged[0] = forged[0] == 'a' ? 'b' : 'a';
			json_object_set_new(o, "consumer", json_string(forged));
			break;
		case CID_FORGED_TAG:
			forged[47] = forged[47] == 'a' ? 'b' : 'a';
			json_object_set_new(o, "consumer", json_string(forged));
			break;
		case CID_FORGED_COOKIE:
			forged[0] = forged[0] == 'a' ? 'b' : 'a';
			snprintf(hdr, sizeof(hdr), "Cookie: yima_cid=%s\r\n",
			    forged);
			break;
		case CID_UPPER:
			for (k = 0; forged[k]; k++)
				if (forged[k] >= 'a' && forged[k] <= 'f')
					forged[k] = (char)(forged[k] - 32);
			json_object_set_new(o, "consumer", json_string(forged));
			break;
		case CID_LONG:
			strcat(forged, "0");
			json_object_set_new(o, "consumer", json_string(forged));
			break;
		case CID_SHORT:
			forged[47] = '\0';
			json_object_set_new(o, "consumer", json_string(forged));
			break;
		case CID_TEXT:
			json_object_set_new(o, "consumer",
			    json_string("' OR 1=1 --"));
			break;
		case CID_NUMBER:
			json_object_set_new(o, "consumer", json_integer(42));
			break;
		case CID_EMPTY:
			json_object_set_new(o, "consumer", json_string(""));
			break;
		}
		ck_assert_msg(scan_obj(o, hdr[0] ? hdr : NULL, &p) == 200,
		    "case %zu: %d %s", i, p.status, p.body);
		got = jstr(p.json, "consumer");
		ck_assert_msg(is_hex(got, 48), "case %zu: consumer %s", i, got);
		if (cid_cases[i].kept)
			ck_assert_msg(strcmp(got, cid) == 0, "case %zu: the "
			    "valid id %s was replaced by %s", i, cid, got);
		else
			ck_assert_msg(strcmp(got, cid) != 0 &&
			    strcmp(got, forged) != 0, "case %zu: id %s kept",
			    i, got);
		http_free(&p);
	}
	/* Three kept above, one first: four scans by cid; none forged. */
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE consumer ="
	    " '%.24s'", cid), 4);
	forged[0] = cid[0] == 'a' ? 'b' : 'a';
	memcpy(forged + 1, cid + 1, 23);
	forged[24] = '\0';
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE consumer ="
	    " '%s'", forged), 0);
	srv_stop();
}
END_TEST

/* One scenario: scans of one code, each by a consumer at a place. */
struct sus_step {
	int		 who;		/* consumer 0..3; -1 a fresh one */
	int		 located;
	double		 lat, lon;
	const char	*verdict;
};

struct sus_case {
	const char	*name;
	int		 flags;		/* 0 defaults, 1 the tight flags */
	struct sus_step	 steps[12];
	int		 n;
};

#define SH_LAT	31.2304
#define SH_LON	121.4737
#define BJ_LAT	39.9042
#define BJ_LON	116.4074

static const struct sus_case sus_cases[] = {
	{ "three consumers in 24 h", 0, {
	    { -1, 0, 0, 0, "genuine" }, { -1, 0, 0, 0, "repeat" },
	    { -1, 0, 0, 0, "suspect" }, { 0, 0, 0, 0, "suspect" } }, 4 },
	{ "two consumers only", 0, {
	    { 0, 0, 0, 0, "genuine" }, { 1, 0, 0, 0, "repeat" },
	    { 0, 0, 0, 0, "repeat" }, { 1, 0, 0, 0, "repeat" } }, 4 },
	{ "ten scans in 7 days", 0, {
	    { 0, 0, 0, 0, "genuine" }, { 0, 0, 0, 0, "repeat" },
	    { 0, 0, 0, 0, "repeat" }, { 0, 0, 0, 0, "repeat" },
	    { 0, 0, 0, 0, "repeat" }, { 0, 0, 0, 0, "repeat" },
	    { 0, 0, 0, 0, "repeat" }, { 0, 0, 0, 0, "repeat" },
	    { 0, 0, 0, 0, "repeat" }, { 0, 0, 0, 0, "suspect" },
	    { 0, 0, 0, 0, "suspect" } }, 11 },
	{ "Shanghai to Beijing at once", 0, {
	    { 0, 1, SH_LAT, SH_LON, "genuine" },
	    { 0, 1, BJ_LAT, BJ_LON, "suspect" } }, 2 },
	{ "10 m apart", 0, {
	    { 0, 1, SH_LAT, SH_LON, "genuine" },
	    { 0, 1, SH_LAT + 0.00009, SH_LON, "repeat" },
	    { 0, 0, 0, 0, "repeat" } }, 3 },
	{ "1 km in about a second", 0, {
	    { 0, 1, SH_LAT, SH_LON, "genuine" },
	    { 0, 1, SH_LAT + 0.009, SH_LON, "suspect" } }, 2 },
	{ "a place after none", 0, {
	    { 0, 0, 0, 0, "genuine" },
	    { 0, 1, BJ_LAT, BJ_LON, "repeat" } }, 2 },
	/* --suspect-consumers 2 --suspect-scans 3 --suspect-speed 5000 */
	{ "flag: two consumers", 1, {
	    { -1, 0, 0, 0, "genuine" }, { -1, 0, 0, 0, "suspect" } }, 2 },
	{ "flag: three scans", 1, {
	    { 0, 0, 0, 0, "genuine" }, { 0, 0, 0, 0, "repeat" },
	    { 0, 0, 0, 0, "suspect" } }, 3 },
	{ "flag: 1 km is under 5000 km/h", 1, {
	    { 0, 1, SH_LAT, SH_LON, "genuine" },
	    { 0, 1, SH_LAT + 0.009, SH_LON, "repeat" } }, 2 },
	{ "flag: Beijing is over 5000 km/h", 1, {
	    { 0, 1, SH_LAT, SH_LON, "genuine" },
	    { 0, 1, BJ_LAT, BJ_LON, "suspect" } }, 2 },
};

/* Runs every scenario with these flags, one fresh code each. */
static void
run_suspect(int flags)
{
	struct http_resp p;
	char cids[4][64];
	const struct sus_case *c;
	const struct sus_step *s;
	const char *v;
	size_t i;
	int k, w, next = 0;

	/* Four consumer ids, each issued by a scan of its own code. */
	for (w = 0; w < 4; w++) {
		ck_assert_int_eq(scan(T.b1.codes[NB1 - 1 - w], NULL, &p), 200);
		snprintf(cids[w], sizeof(cids[w]), "%s", jstr(p.json,
		    "consumer"));
		http_free(&p);
	}
	for (i = 0; i < sizeof(sus_cases) / sizeof(sus_cases[0]); i++) {
		c = &sus_cases[i];
		if (c->flags != flags)
			continue;
		ck_assert_int_lt(next, NB1 - 4);
		for (k = 0; k < c->n; k++) {
			s = &c->steps[k];
			if (s->located)
				scan_at(T.b1.codes[next], s->who < 0 ? NULL :
				    cids[s->who], s->lat, s->lon, &p);
			else
				scan(T.b1.codes[next], s->who < 0 ? NULL :
				    cids[s->who], &p);
			ck_assert_msg(p.status == 200, "%s, scan %d: %d %s",
			    c->name, k + 1, p.status, p.body);
			v = jstr(p.json, "verdict");
			ck_assert_msg(v != NULL && strcmp(v, s->verdict) == 0,
			    "%s, scan %d: verdict %s, want %s: %s", c->name,
			    k + 1, v, s->verdict, p.body);
			ck_assert_int_eq(jint(p.json, "scan_count"), k + 1);
			http_free(&p);
		}
		next++;
	}
}

START_TEST(test_suspect_defaults)
{
	srv_start(open_flags);
	run_suspect(0);
	srv_stop();
}
END_TEST

START_TEST(test_suspect_flags)
{
	static const char *const flags[] = { "--ip-rate", "0",
	    "--consumer-rate", "1000", "--suspect-consumers", "2",
	    "--suspect-scans", "3", "--suspect-speed", "5000", NULL };

	srv_start(flags);
	run_suspect(1);
	srv_stop();
}
END_TEST

/* ---- 2. rejected requests ---- */

enum body_kind { B_TEXT, B_VALID_SCAN, B_B2_MANIFEST, B_REVOKE_B1,
    B_DEEP9, B_BIG, B_LAT_ONLY, B_LON_ONLY, B_LAT_HIGH, B_LAT_LOW,
    B_LON_HIGH, B_LAT_TEXT };

enum auth_kind { A_NONE, A_ADMIN, A_OPS, A_DEALER, A_BOGUS, A_BASIC };

struct bad_req {
	const char	*method;
	const char	*path;
	const char	*ctype;
	enum auth_kind	 auth;
	enum body_kind	 kind;
	const char	*text;		/* B_TEXT; NULL: no body */
	int		 status;
};

static const struct bad_req bad_reqs[] = {
	/* 415: not JSON */
	{ "POST", "/api/v1/scans", "text/plain", A_NONE, B_VALID_SCAN, NULL,
	    415 },
	{ "POST", "/api/v1/scans", NULL, A_NONE, B_VALID_SCAN, NULL, 415 },
	{ "POST", "/api/v1/scans", "application/x-www-form-urlencoded", A_NONE,
	    B_TEXT, "code=x", 415 },
	{ "POST", "/api/v1/scans", "application/jsonp", A_NONE, B_VALID_SCAN,
	    NULL, 415 },
	{ "POST", "/api/v1/batches", "text/plain", A_ADMIN, B_B2_MANIFEST, NULL,
	    415 },
	/* 400: malformed JSON and bad fields */
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_TEXT,
	    "{\"code\":", 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_TEXT, "",
	    400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_TEXT,
	    "[\"x\"]", 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_TEXT,
	    "\"code\"", 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_TEXT,
	    "{\"code\":\"x\"} {}", 400 },
	{ "POST", "/api/v1/scans", "application/json; charset=utf-8", A_NONE,
	    B_TEXT, "{code:1}", 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_DEEP9, NULL,
	    400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_TEXT, "{}",
	    400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_TEXT,
	    "{\"code\":123}", 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_TEXT,
	    "{\"code\":null}", 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_TEXT,
	    "{\"code\":[\"240G000000002X5XYMHSDBZW\"]}", 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_TEXT,
	    "{\"code\":{\"code\":\"x\"}}", 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_TEXT,
	    "{\"Code\":\"x\"}", 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_LAT_ONLY,
	    NULL, 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_LON_ONLY,
	    NULL, 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_LAT_HIGH,
	    NULL, 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_LAT_LOW,
	    NULL, 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_LON_HIGH,
	    NULL, 400 },
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_LAT_TEXT,
	    NULL, 400 },
	/* 413 */
	{ "POST", "/api/v1/scans", "application/json", A_NONE, B_BIG, NULL,
	    413 },
	{ "POST", "/api/v1/batches", "application/json", A_ADMIN, B_BIG, NULL,
	    413 },
	/* 404 and 405 */
	{ "GET", "/nope", NULL, A_NONE, B_TEXT, NULL, 404 },
	{ "GET", "/", NULL, A_NONE, B_TEXT, NULL, 404 },
	{ "POST", "/api/v1/scan", "application/json", A_NONE, B_VALID_SCAN,
	    NULL, 404 },
	{ "POST", "/api/v2/scans", "application/json", A_NONE, B_VALID_SCAN,
	    NULL, 404 },
	{ "POST", "/api/v1/scans/", "application/json", A_NONE, B_VALID_SCAN,
	    NULL, 404 },
	{ "GET", "/api/v1/scans", NULL, A_NONE, B_TEXT, NULL, 405 },
	{ "PUT", "/api/v1/scans", "application/json", A_NONE, B_VALID_SCAN,
	    NULL, 405 },
	{ "DELETE", "/api/v1/scans", NULL, A_NONE, B_TEXT, NULL, 405 },
	{ "POST", "/healthz", "application/json", A_NONE, B_VALID_SCAN, NULL,
	    405 },
	{ "GET", "/api/v1/batches", NULL, A_ADMIN, B_TEXT, NULL, 405 },
	{ "GET", "/api/v1/admin/revocations", NULL, A_ADMIN, B_TEXT, NULL,
	    405 },
	{ "POST", "/api/v1/codes/240G000000002X5XYMHSDBZW", "application/json",
	    A_NONE, B_VALID_SCAN, NULL, 405 },
	/* 401 and 403 */
	{ "POST", "/api/v1/batches", "application/json", A_NONE, B_B2_MANIFEST,
	    NULL, 401 },
	{ "POST", "/api/v1/batches", "application/json", A_BOGUS, B_B2_MANIFEST,
	    NULL, 401 },
	{ "POST", "/api/v1/batches", "application/json", A_BASIC, B_B2_MANIFEST,
	    NULL, 401 },
	{ "POST", "/api/v1/batches", "application/json", A_DEALER,
	    B_B2_MANIFEST, NULL, 403 },
	{ "POST", "/api/v1/admin/revocations", "application/json", A_NONE,
	    B_REVOKE_B1, NULL, 401 },
	{ "POST", "/api/v1/admin/revocations", "application/json", A_BOGUS,
	    B_REVOKE_B1, NULL, 401 },
	{ "POST", "/api/v1/admin/revocations", "application/json", A_OPS,
	    B_REVOKE_B1, NULL, 403 },
	{ "POST", "/api/v1/admin/revocations", "application/json", A_DEALER,
	    B_REVOKE_B1, NULL, 403 },
};

/* A JSON scan body of exactly len bytes (padding in a string field). */
static char *
sized_scan_body(const char *code, size_t len)
{
	char *head, *body;
	size_t h;

	ck_assert(asprintf(&head, "{\"code\":\"%s\",\"pad\":\"", code) > 0);
	h = strlen(head);
	ck_assert_uint_gt(len, h + 2);
	ck_assert_ptr_nonnull(body = malloc(len + 1));
	memcpy(body, head, h);
	memset(body + h, 'x', len - h - 2);
	memcpy(body + len - 2, "\"}", 2);
	body[len] = '\0';
	free(head);
	return body;
}

/* A scan body nested depth levels deep (the object itself is 1). */
static char *
deep_scan_body(const char *code, int depth)
{
	char *b;
	size_t n = 0;
	int i;

	ck_assert_ptr_nonnull(b = malloc(128 + 2 * (size_t)depth));
	n += (size_t)sprintf(b, "{\"code\":\"%s\",\"x\":", code);
	for (i = 1; i < depth; i++)
		b[n++] = '[';
	b[n++] = '1';
	for (i = 1; i < depth; i++)
		b[n++] = ']';
	b[n++] = '}';
	b[n] = '\0';
	return b;
}

static char *
bad_body(const struct bad_req *b)
{
	const char *code = T.b1.codes[0];
	char *s = NULL;
	int rc = 0;

	switch (b->kind) {
	case B_TEXT:
		return b->text != NULL ? strdup(b->text) : NULL;
	case B_VALID_SCAN:
		rc = asprintf(&s, "{\"code\":\"%s\"}", code);
		break;
	case B_B2_MANIFEST:
		return manifest_of(T.b2.dir);
	case B_REVOKE_B1:
		rc = asprintf(&s, "{\"batch\":\"%s\",\"reason\":\"x\"}",
		    T.b1.id);
		break;
	case B_DEEP9:
		return deep_scan_body(code, 9);
	case B_BIG:
		return sized_scan_body(code, BODY_MAX + 1);
	case B_LAT_ONLY:
		rc = asprintf(&s, "{\"code\":\"%s\",\"lat\":31.2}", code);
		break;
	case B_LON_ONLY:
		rc = asprintf(&s, "{\"code\":\"%s\",\"lon\":121.5}", code);
		break;
	case B_LAT_HIGH:
		rc = asprintf(&s, "{\"code\":\"%s\",\"lat\":90.5,\"lon\":1}",
		    code);
		break;
	case B_LAT_LOW:
		rc = asprintf(&s, "{\"code\":\"%s\",\"lat\":-91,\"lon\":1}",
		    code);
		break;
	case B_LON_HIGH:
		rc = asprintf(&s, "{\"code\":\"%s\",\"lat\":1,\"lon\":180.5}",
		    code);
		break;
	case B_LAT_TEXT:
		rc = asprintf(&s, "{\"code\":\"%s\",\"lat\":\"31\",\"lon\":1}",
		    code);
		break;
	}
	ck_assert_int_gt(rc, 0);
	return s;
}

/* Each bad request: its status, a JSON error, and no data changed. */
START_TEST(test_bad_request)
{
	const struct bad_req *b = &bad_reqs[_i];
	struct http_req q = { b->method, b->path, b->ctype, NULL, NULL, NULL,
	    0 };
	struct http_resp p;
	char what[128], *body, *before, *after;

	srv_start(open_flags);
	switch (b->auth) {
	case A_NONE:
		break;
	case A_ADMIN:
		q.token = T.admin;
		break;
	case A_OPS:
		q.token = T.ops;
		break;
	case A_DEALER:
		q.token = T.dealer;
		break;
	case A_BOGUS:
		q.token = "yima_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
		break;
	case A_BASIC:
		q.headers = "Authorization: Basic YWRtaW46YWRtaW4=\r\n";
		break;
	}
	body = bad_body(b);
	q.body = body;
	q.len = body != NULL ? strlen(body) : 0;
	if (body != NULL && q.len == 0)
		q.body = "";	/* an empty body: Content-Length: 0 */
	snprintf(what, sizeof(what), "#%d %s %s", _i, b->method, b->path);
	before = db_fingerprint();
	http(E.port, &q, &p);
	assert_error(&p, b->status, what);
	after = db_fingerprint();
	ck_assert_msg(strcmp(before, after) == 0, "%s changed data: %s -> %s",
	    what, before, after);
	http_free(&p);
	free(body);
	free(before);
	free(after);
	srv_stop();
}
END_TEST

/* The limits themselves are allowed: 16384 bytes, 8 levels. */
START_TEST(test_limits_allowed)
{
	struct http_req q = { "POST", "/api/v1/scans", "application/json",
	    NULL, NULL, NULL, 0 };
	struct http_resp p;
	char *body, *fp;

	srv_start(open_flags);
	body = sized_scan_body(T.b1.codes[0], BODY_MAX);
	q.body = body;
	ck_assert_uint_eq(strlen(body), BODY_MAX);
	ck_assert_msg(http(E.port, &q, &p) == 200, "16384 bytes: %d %s",
	    p.status, p.body);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	http_free(&p);
	free(body);
	body = deep_scan_body(T.b1.codes[1], 8);
	q.body = body;
	ck_assert_msg(http(E.port, &q, &p) == 200, "depth 8: %d %s", p.status,
	    p.body);
	http_free(&p);
	free(body);
	/* A much larger body, announced: 413 and nothing recorded. */
	fp = db_fingerprint();
	body = sized_scan_body(T.b1.codes[2], 200000);
	q.body = body;
	http(E.port, &q, &p);
	assert_error(&p, 413, "200000 bytes");
	http_free(&p);
	free(body);
	body = db_fingerprint();
	ck_assert_str_eq(body, fp);
	free(body);
	free(fp);
	srv_stop();
}
END_TEST

/* ---- 3. batches and revocations ---- */

START_TEST(test_batches)
{
	struct http_resp p;
	char *m, *t, *fp, *after, *dir, *kr2, *kr3, *err;
	struct batch b3, b4, b5;
	static const char *const lot5[] = { "--lot", "LOT5", NULL };
	int rc;

	srv_start(open_flags);
	/* b2 is not imported: its codes are unregistered. */
	ck_assert_int_eq(scan(T.b2.codes[0], NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "unregistered");
	http_free(&p);
	m = manifest_of(T.b2.dir);
	ck_assert_int_eq(post("/api/v1/batches", T.ops, m, &p), 201);
	ck_assert_pstr_eq(jstr(p.json, "batch"), T.b2.id);
	http_free(&p);
	ck_assert_int_eq(scan(T.b2.codes[1], NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	ck_assert_pstr_eq(jstr(p.json, "product.batch"), T.b2.id);
	http_free(&p);
	/* The same manifest again: 200, nothing new. */
	fp = db_fingerprint();
	ck_assert_int_eq(post("/api/v1/batches", T.admin, m, &p), 200);
	http_free(&p);
	after = db_fingerprint();
	ck_assert_str_eq(after, fp);
	free(after);
	free(fp);
	free(m);

	/* Two keyrings from one: two batches over the same serials. */
	ck_assert(asprintf(&kr2, "%s/kr2", E.dir) > 0);
	rc = run("/bin/cp", NULL, &err, "-a", T.kr, kr2, (char *)NULL);
	ck_assert_msg(rc == 0, "cp: %s", err);
	free(err);
	free(mint(T.kr, E.dir, "b3", "item", 3, NULL, &b3));
	free(mint(kr2, E.dir, "b4", "item", 3, NULL, &b4));
	ck_assert_int_eq(b3.serials[0], b4.serials[0]);
	ck_assert_str_ne(b3.id, b4.id);
	m = manifest_of(b3.dir);
	ck_assert_int_eq(post("/api/v1/batches", T.admin, m, &p), 201);
	http_free(&p);
	free(m);
	m = manifest_of(b4.dir);
	fp = db_fingerprint();
	post("/api/v1/batches", T.admin, m, &p);
	assert_error(&p, 409, "conflicting batch");
	http_free(&p);
	after = db_fingerprint();
	ck_assert_str_eq(after, fp);
	free(after);
	free(m);

	/* Tampered manifests: 400 and nothing stored. */
	free(mint(T.kr, E.dir, "b5", "item", 3, lot5, &b5));
	m = manifest_of(b5.dir);
	ck_assert_ptr_nonnull(t = strstr(m, "\"LOT5\""));
	t[4] = '6';
	post("/api/v1/batches", T.admin, m, &p);
	assert_error(&p, 400, "tampered lot");
	http_free(&p);
	t[4] = '5';
	ck_assert_ptr_nonnull(t = strstr(m, "\"count\": 3"));
	t[9] = '4';
	post("/api/v1/batches", T.admin, m, &p);
	assert_error(&p, 400, "tampered count");
	http_free(&p);
	t[9] = '3';
	post("/api/v1/batches", T.admin, "{\"batch\":\"x\"}", &p);
	assert_error(&p, 400, "not a manifest");
	http_free(&p);
	/* Signed by a key the server does not have. */
	ck_assert(asprintf(&kr3, "%s/kr3", E.dir) > 0);
	keygen(kr3);
	dir = mint(kr3, E.dir, "foreign", "item", 2, NULL, NULL);
	t = manifest_of(dir);
	post("/api/v1/batches", T.admin, t, &p);
	assert_error(&p, 400, "foreign keyring");
	http_free(&p);
	free(t);
	free(dir);
	after = db_fingerprint();
	ck_assert_str_eq(after, fp);
	free(after);
	free(fp);
	/* The untampered one imports. */
	ck_assert_int_eq(post("/api/v1/batches", T.ops, m, &p), 201);
	http_free(&p);
	free(m);
	ck_assert_int_eq(scan(b5.codes[0], NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "product.lot"), "LOT5");
	http_free(&p);
	free(b3.dir);
	free(b4.dir);
	free(b5.dir);
	free(kr2);
	free(kr3);
	srv_stop();
}
END_TEST

/* Copies tmpl with @B the batch, @C the code, @L a too long reason. */
static void
subst(char *out, size_t len, const char *tmpl, const char *batch,
    const char *code)
{
	size_t n = 0;
	const char *r;

	for (; *tmpl != '\0'; tmpl++) {
		r = NULL;
		if (tmpl[0] == '@' && tmpl[1] == 'B')
			r = batch;
		else if (tmpl[0] == '@' && tmpl[1] == 'C')
			r = code;
		else if (tmpl[0] == '@' && tmpl[1] == 'L')
			r = "0123456789012345678901234567890123456789"
			    "0123456789012345678901234567890123456789"
			    "0123456789012345678901234567890123456789"
			    "0123456789012345678901234567890123456789"
			    "0123456789012345678901234567890123456789x";
		if (r != NULL) {
			ck_assert_uint_lt(n + strlen(r), len);
			memcpy(out + n, r, strlen(r));
			n += strlen(r);
			tmpl++;
		} else {
			ck_assert_uint_lt(n + 1, len);
			out[n++] = *tmpl;
		}
	}
	out[n] = '\0';
}

/* POSTs a revocation; the answer is 201 and echoes the reason. */
static void
post_revocation(const char *body, const char *reason)
{
	struct http_resp p;

	post("/api/v1/admin/revocations", T.admin, body, &p);
	ck_assert_msg(p.status == 201, "revocation %s: status %d: %s", body,
	    p.status, p.body ? p.body : "(no answer)");
	ck_assert_msg(json_is_array(jget(p.json, "revoked")) &&
	    json_array_size(jget(p.json, "revoked")) >= 1, "revocation %s: %s",
	    body, p.body);
	ck_assert_msg(jstr(p.json, "reason") != NULL &&
	    strcmp(jstr(p.json, "reason"), reason) == 0, "revocation %s: "
	    "reason %s", body, p.body);
	http_free(&p);
}

START_TEST(test_revocations)
{
	struct http_resp p;
	char body[512], path[128], *fp, *after;
	struct batch b6, b7;
	static const char *const bad[] = {
		"{}",
		"{\"reason\":\"x\"}",
		"{\"batch\":\"@B\",\"code\":\"@C\"}",
		"{\"from_serial\":5}",
		"{\"to_serial\":5}",
		"{\"from_serial\":6,\"to_serial\":5}",
		"{\"from_serial\":-1,\"to_serial\":5}",
		"{\"from_serial\":\"1\",\"to_serial\":\"5\"}",
		"{\"batch\":\"not-a-batch\"}",
		"{\"batch\":7}",
		"{\"code\":\"NOTACODE\"}",
		"{\"code\":\"@C\",\"reason\":5}",
		"{\"batch\":\"@B\",\"reason\":\"@L\"}",
	};
	size_t i;

	srv_start(open_flags);
	free(mint(T.kr, E.dir, "b6", "item", 5, NULL, &b6));
	free(mint(T.kr, E.dir, "b7", "item", 3, NULL, &b7));
	import(E.db, T.kr, b6.dir);
	import(E.db, T.kr, b7.dir);
	ck_assert_int_eq(scan(T.b1.codes[0], NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	http_free(&p);

	/* Bad bodies first: 400, nothing revoked. */
	fp = db_fingerprint();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		subst(body, sizeof(body), bad[i], T.b1.id, T.b1.codes[1]);
		post("/api/v1/admin/revocations", T.admin, body, &p);
		assert_error(&p, 400, body);
		http_free(&p);
	}
	after = db_fingerprint();
	ck_assert_str_eq(after, fp);
	free(after);
	free(fp);

	/* A whole batch. */
	snprintf(body, sizeof(body), "{\"batch\":\"%s\",\"reason\":\"recall "
	    "2026-04\"}", T.b1.id);
	post_revocation(body, "recall 2026-04");
	ck_assert_int_eq(scan(T.b1.codes[0], NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "revoked");
	ck_assert_pstr_eq(jstr(p.json, "revoked.reason"), "recall 2026-04");
	http_free(&p);
	ck_assert_int_eq(scan(T.b1.urls[NB1 - 1], NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "revoked");
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/codes/%s", T.b1.codes[5]);
	ck_assert_int_eq(get(path, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "revoked");
	ck_assert_pstr_eq(jstr(p.json, "revoked.reason"), "recall 2026-04");
	http_free(&p);

	/* A serial range: only b6[1..2]. */
	snprintf(body, sizeof(body), "{\"from_serial\":%lld,\"to_serial\":"
	    "%lld,\"reason\":\"stolen\"}", b6.serials[1], b6.serials[2]);
	post_revocation(body, "stolen");
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(scan(b6.codes[i], NULL, &p), 200);
		ck_assert_pstr_eq(jstr(p.json, "verdict"), i == 1 || i == 2 ?
		    "revoked" : "genuine");
		if (i == 1)
			ck_assert_pstr_eq(jstr(p.json, "revoked.reason"),
			    "stolen");
		http_free(&p);
	}

	/* One code, given as its URL. */
	snprintf(body, sizeof(body), "{\"code\":\"%s\",\"reason\":"
	    "\"damaged\"}", b7.urls[1]);
	post_revocation(body, "damaged");
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(scan(b7.codes[i], NULL, &p), 200);
		ck_assert_pstr_eq(jstr(p.json, "verdict"), i == 1 ?
		    "revoked" : "genuine");
		if (i == 1)
			ck_assert_pstr_eq(jstr(p.json, "revoked.reason"),
			    "damaged");
		http_free(&p);
	}
	free(b6.dir);
	free(b7.dir);
	srv_stop();
}
END_TEST

/* ---- 4. pages, health, metrics ---- */

static const struct {
	const char	*accept;	/* NULL: no header */
	const char	*lang;		/* NULL: zh or en */
} langs[] = {
	{ "zh-CN,zh;q=0.9,en;q=0.8", "zh" },
	{ "zh", "zh" },
	{ "zh-TW", "zh" },
	{ "zh-Hans-CN", "zh" },
	{ "en-US,en;q=0.9", "en" },
	{ "en", "en" },
	{ "en;q=0.5,zh;q=0.8", "zh" },
	{ "en-GB,zh;q=0.3", "en" },
	{ "fr-FR,en;q=0.7,zh;q=0.6", "en" },
	{ "fr-FR,zh;q=0.6,en;q=0.5", "zh" },
	{ "ZH-cn", "zh" },
	{ NULL, NULL },
	{ "de-DE", NULL },
};

/* 'sha256-...' of the text between open and close in page. */
static void
csp_hash(const char *page, const char *open, const char *close, char *out,
    size_t len)
{
	unsigned char md[32], b64[64];
	const char *a, *b;
	unsigned int n;

	ck_assert_ptr_nonnull(a = strstr(page, open));
	a += strlen(open);
	ck_assert_ptr_nonnull(b = strstr(a, close));
	ck_assert_int_eq(EVP_Digest(a, (size_t)(b - a), md, &n, EVP_sha256(),
	    NULL), 1);
	EVP_EncodeBlock(b64, md, (int)n);
	snprintf(out, len, "'sha256-%s'", (const char *)b64);
}

START_TEST(test_landing)
{
	struct http_resp p;
	char hdr[160], ct[128], csp[1024], want[128], path[128], h[80];
	const char *lang;
	size_t i;

	srv_start(open_flags);
	for (i = 0; i < sizeof(langs) / sizeof(langs[0]); i++) {
		if (langs[i].accept != NULL)
			snprintf(hdr, sizeof(hdr), "Accept-Language: %s\r\n",
			    langs[i].accept);
		snprintf(path, sizeof(path), "/%c/%s", i % 2 ? 'C' : 'c',
		    T.b1.codes[i % NB1]);
		ck_assert_msg(get(path, langs[i].accept ? hdr : NULL, &p) ==
		    200, "%s: %d", path, p.status);
		ck_assert(http_header(&p, "Content-Type", ct, sizeof(ct)));
		ck_assert_msg(strncmp(ct, "text/html", 9) == 0, "type %s", ct);
		ck_assert_uint_le(p.body_len, PAGE_MAX);
		ck_assert_uint_gt(p.body_len, 100);
		lang = strstr(p.body, "<html lang=\"zh\">") ? "zh" :
		    strstr(p.body, "<html lang=\"en\">") ? "en" : NULL;
		ck_assert_msg(lang != NULL, "no <html lang=zh|en>");
		if (langs[i].lang != NULL)
			ck_assert_msg(strcmp(lang, langs[i].lang) == 0,
			    "Accept-Language %s: lang %s, want %s",
			    langs[i].accept, lang, langs[i].lang);
		/* A strict CSP that matches the page's own blocks. */
		ck_assert(http_header(&p, "Content-Security-Policy", csp,
		    sizeof(csp)));
		ck_assert_msg(strstr(csp, "default-src 'none'") != NULL,
		    "CSP: %s", csp);
		ck_assert_msg(strstr(csp, "unsafe-inline") == NULL &&
		    strstr(csp, "unsafe-eval") == NULL && strstr(csp, " *") ==
		    NULL && strstr(csp, "http:") == NULL, "CSP: %s", csp);
		ck_assert_msg(strstr(csp, "frame-ancestors 'none'") != NULL,
		    "CSP: %s", csp);
		if (strstr(p.body, "<script>") != NULL) {
			csp_hash(p.body, "<script>", "</script>", h, sizeof(h));
			snprintf(want, sizeof(want), "script-src %s", h);
			ck_assert_msg(strstr(csp, want) != NULL, "CSP %s lacks "
			    "%s", csp, want);
		}
		if (strstr(p.body, "<style>") != NULL) {
			csp_hash(p.body, "<style>", "</style>", h, sizeof(h));
			snprintf(want, sizeof(want), "style-src %s", h);
			ck_assert_msg(strstr(csp, want) != NULL, "CSP %s lacks "
			    "%s", csp, want);
		}
		http_free(&p);
	}
	srv_stop();
}
END_TEST


START_TEST(test_health_metrics)
{
	struct http_resp p;
	char ct[128], *line, *save, *copy;
	int i;

	srv_start(open_flags);
	ck_assert_int_eq(get("/healthz", NULL, &p), 200);
	http_free(&p);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(scan(T.b1.codes[i], NULL, &p), 200);
		http_free(&p);
	}
	ck_assert_int_eq(scan("not a code", NULL, &p), 200);
	http_free(&p);
	ck_assert_int_eq(get("/metrics", NULL, &p), 200);
	ck_assert(http_header(&p, "Content-Type", ct, sizeof(ct)));
	ck_assert_msg(strncmp(ct, "text/plain", 10) == 0, "type %s", ct);
	ck_assert_msg(strstr(p.body, "yima_requests_total") != NULL, "%s",
	    p.body);
	ck_assert_msg(strstr(p.body, "yima_scans_total") != NULL, "%s", p.body);
	ck_assert_double_eq(metric(p.body,
	    "yima_scans_total{verdict=\"genuine\"}"), 3);
	ck_assert_double_eq(metric(p.body,
	    "yima_scans_total{verdict=\"invalid\"}"), 1);
	/* SQLite has one writer: it committed every scan. */
	ck_assert_double_eq(metric(p.body,
	    "yima_writer_scans_total{writer=\"0\"}"),
	    metric(p.body, "yima_committed_scans_total"));
	ck_assert_double_gt(metric(p.body, "yima_committed_scans_total"), 0);
	ck_assert_double_eq(metric(p.body,
	    "yima_writer_scans_total{writer=\"1\"}"), -1);
	/* Prometheus text: comments, or "name[{labels}] value". */
	ck_assert_ptr_nonnull(copy = strdup(p.body));
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' '), *end;

		if (line[0] == '#')
			continue;
		ck_assert_msg(sp != NULL && strncmp(line, "yima_", 5) == 0,
		    "metric line: %s", line);
		strtod(sp + 1, &end);
		ck_assert_msg(end != sp + 1 && *end == '\0', "value: %s",
		    line);
	}
	free(copy);
	http_free(&p);
	srv_stop();
}
END_TEST

/* ---- 5. rate limits, slow and idle clients ---- */

/*
 * Scans codes[from..7] as consumer cid (NULL: none) until one answers
 * 429; checks that answer and that it changed no data. Returns the index
 * limited and its Retry-After in *retry.
 */
static int
scan_until_limited(int from, const char *cid, const char *what, int *retry)
{
	struct http_resp p;
	char hdr[32], *fp, *after;
	int i, limited = -1;

	for (i = from; i < 8 && limited < 0; i++) {
		fp = db_fingerprint();
		scan(T.b1.codes[i], cid, &p);
		if (p.status == 429) {
			limited = i;
			assert_error(&p, 429, what);
			ck_assert(http_header(&p, "Retry-After", hdr,
			    sizeof(hdr)));
			*retry = atoi(hdr);
			ck_assert_int_ge(*retry, 1);
			after = db_fingerprint();
			ck_assert_str_eq(after, fp);
			free(after);
		} else
			ck_assert_msg(p.status == 200, "%d %s", p.status,
			    p.body);
		free(fp);
		http_free(&p);
	}
	ck_assert_msg(limited >= 1, "never limited (%s)", what);
	return limited;
}

START_TEST(test_ip_rate)
{
	static const char *const flags[] = { "--ip-rate", "1",
	    "--consumer-rate", "1000", NULL };
	struct http_resp p;
	char path[128];
	int retry;

	srv_start(flags);
	/* A burst of a few, then 429 with Retry-After. */
	scan_until_limited(0, NULL, "ip rate", &retry);
	snprintf(path, sizeof(path), "/api/v1/codes/%s", T.b1.codes[0]);
	get(path, NULL, &p);
	assert_error(&p, 429, "ip rate on codes");
	http_free(&p);
	/* It refills. */
	msleep(1000 * retry + 200);
	ck_assert_int_eq(scan(T.b1.codes[10], NULL, &p), 200);
	http_free(&p);
	srv_stop();
}
END_TEST

/* The most threads start: the default pool stops at the stores' 64. */
START_TEST(test_threads_max)
{
	static const char *const flags[] = { "--threads", "64", NULL };
	struct http_resp p;

	srv_start(flags);
	ck_assert_int_eq(scan(T.b1.codes[0], NULL, &p), 200);
	http_free(&p);
	srv_stop();
}
END_TEST

START_TEST(test_consumer_rate)
{
	static const char *const flags[] = { "--ip-rate", "0",
	    "--consumer-rate", "1", NULL };
	struct http_resp p;
	char cid[64], hdr[128];
	int retry;

	srv_start(flags);
	ck_assert_int_eq(scan(T.b1.codes[0], NULL, &p), 200);
	snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
	http_free(&p);
	scan_until_limited(1, cid, "consumer rate", &retry);
	/* The same id in the cookie is the same consumer. */
	snprintf(hdr, sizeof(hdr), "Cookie: yima_cid=%s\r\n", cid);
	scan_obj(json_pack("{s:s}", "code", T.b1.codes[9]), hdr, &p);
	assert_error(&p, 429, "consumer rate by cookie");
	http_free(&p);
	/* Someone else is not limited. */
	ck_assert_int_eq(scan(T.b1.codes[10], NULL, &p), 200);
	http_free(&p);
	srv_stop();
}
END_TEST

static const char *const conn_flags[] = { "--max-conns", "16",
    "--timeout", "1", "--ip-rate", "0", "--consumer-rate", "1000", NULL };

#define NCONN	16

START_TEST(test_idle_clients)
{
	struct http_resp p;
	struct pollfd pfd;
	int fds[NCONN], i, closed = 0;
	char c;

	srv_start(conn_flags);
	for (i = 0; i < NCONN; i++)
		ck_assert_int_ge(fds[i] = http_connect(E.port), 0);
	msleep(2500);
	http_timeout = 5;
	ck_assert_msg(get("/healthz", NULL, &p) == 200, "healthz with %d idle "
	    "connections: %d", NCONN, p.status);
	http_free(&p);
	ck_assert_int_eq(scan(T.b1.codes[0], NULL, &p), 200);
	http_free(&p);
	/* The server closed the idle ones. */
	for (i = 0; i < NCONN; i++) {
		pfd.fd = fds[i];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) == 1 && recv(fds[i], &c, 1, MSG_DONTWAIT)
		    <= 0)
			closed++;
		close(fds[i]);
	}
	ck_assert_int_eq(closed, NCONN);
	srv_stop();
}
END_TEST

struct drip {
	int		*fds;
	int		 n;
	atomic_int	 stop;
};

/* Sends one header line on every socket each 250 ms: slowloris. */
static void *
drip_run(void *arg)
{
	struct drip *d = arg;
	int i;

	while (!atomic_load(&d->stop)) {
		for (i = 0; i < d->n; i++)
			if (d->fds[i] >= 0)
				(void)send(d->fds[i], "X-Slow: 1\r\n", 11,
				    MSG_NOSIGNAL);
		msleep(250);
	}
	return NULL;
}

START_TEST(test_slow_clients)
{
	struct http_resp p;
	struct drip d;
	pthread_t th;
	int fds[NCONN], i;
	double t0;
	static const char start[] = "POST /api/v1/scans HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\n";

	srv_start(conn_flags);
	for (i = 0; i < NCONN; i++) {
		ck_assert_int_ge(fds[i] = http_connect(E.port), 0);
		ck_assert_int_eq(send_all(fds[i], start, sizeof(start) - 1), 0);
	}
	d.fds = fds;
	d.n = NCONN;
	atomic_init(&d.stop, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, drip_run, &d), 0);
	msleep(3000);
	/* Three times --timeout later, a normal client is served. */
	http_timeout = 4;
	t0 = mono_s();
	get("/healthz", NULL, &p);
	atomic_store(&d.stop, 1);
	pthread_join(th, NULL);
	for (i = 0; i < NCONN; i++)
		close(fds[i]);
	ck_assert_msg(p.status == 200, "with %d clients sending a header line "
	    "every 250 ms for 3 s (--timeout 1, --max-conns 16), /healthz "
	    "got %d after %.1f s: slow clients hold every connection",
	    NCONN, p.status, mono_s() - t0);
	http_free(&p);
	srv_stop();
}
END_TEST

/* ---- 6. logs, signals, tokens ---- */

START_TEST(test_log)
{
	struct http_resp p;
	char path[160], cid[64], raw[] = "ZZZZZZZZZZZZZZZZZZZZZZZZ", *m, *log;
	char *line, *save;
	json_t *o;
	int want[16], nwant = 0, got[16], ngot = 0, i, j;
	size_t k;

	srv_start(open_flags);
	want[nwant++] = scan(T.b1.codes[0], NULL, &p);
	snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
	http_free(&p);
	want[nwant++] = scan(T.b1.urls[1], cid, &p);
	http_free(&p);
	want[nwant++] = scan(raw, NULL, &p);
	http_free(&p);
	want[nwant++] = scan_at(T.b1.codes[0], cid, 31.2, 121.5, &p);
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/codes/%s", T.b1.codes[2]);
	want[nwant++] = get(path, NULL, &p);
	http_free(&p);
	snprintf(path, sizeof(path), "/c/%s", T.b1.codes[3]);
	want[nwant++] = get(path, NULL, &p);
	http_free(&p);
	snprintf(path, sizeof(path), "/C/%s", T.b1.codes[4]);
	want[nwant++] = get(path, NULL, &p);
	http_free(&p);
	snprintf(path, sizeof(path), "/nope/%s", T.b1.codes[5]);
	want[nwant++] = get(path, NULL, &p);
	http_free(&p);
	want[nwant++] = get("/api/v1/scans", NULL, &p);
	http_free(&p);
	m = manifest_of(T.b1.dir);
	want[nwant++] = post("/api/v1/batches", T.admin, m, &p);
	http_free(&p);
	free(m);
	snprintf(path, sizeof(path), "{\"code\":\"%s\"}", T.b1.codes[6]);
	want[nwant++] = post("/api/v1/admin/revocations", T.admin, path, &p);
	http_free(&p);
	want[nwant++] = get("/healthz", NULL, &p);
	http_free(&p);
	srv_stop();
	ck_assert_int_eq(want[0], 200);
	ck_assert_int_eq(want[7], 404);
	ck_assert_int_eq(want[10], 201);

	ck_assert_ptr_nonnull(log = tu_read_file(E.log, NULL));
	/* No code, URL, token or consumer id in it. */
	for (k = 0; k < 7; k++)
		ck_assert_msg(strstr(log, T.b1.codes[k]) == NULL, "code %s in "
		    "the log", T.b1.codes[k]);
	ck_assert_msg(strstr(log, raw) == NULL, "scanned text in the log");
	ck_assert_msg(strstr(log, T.admin) == NULL, "token in the log");
	ck_assert_msg(strstr(log, cid) == NULL, "consumer id in the log");
	/* JSON lines; one per request with its route and status. */
	for (line = strtok_r(log, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		o = json_loads(line, 0, NULL);
		ck_assert_msg(json_is_object(o), "not a JSON line: %s", line);
		if (json_object_get(o, "status") != NULL) {
			ck_assert_msg(json_is_integer(json_object_get(o,
			    "status")) && jstr(o, "route") != NULL &&
			    jstr(o, "route")[0] != '\0', "line: %s", line);
			ck_assert_int_lt(ngot, 16);
			got[ngot++] = (int)json_integer_value(
			    json_object_get(o, "status"));
		}
		json_decref(o);
	}
	free(log);
	ck_assert_int_eq(ngot, nwant);
	/* The same statuses, in any order. */
	for (i = 0; i < nwant; i++) {
		for (j = 0; j < ngot; j++)
			if (got[j] == want[i]) {
				got[j] = -1;
				break;
			}
		ck_assert_msg(j < ngot, "no log line with status %d", want[i]);
	}
}
END_TEST

/* SIGTERM with idle and half-sent connections open: exit 0, quickly. */
struct queued {
	const char	*code;
	int		 status;
	char		 verdict[32];
	long long	 scan_id;
};

static void *
queued_scan(void *arg)
{
	struct queued *q = arg;
	struct http_resp p;

	q->status = scan(q->code, NULL, &p);
	if (q->status == 200 && jstr(p.json, "verdict") != NULL) {
		snprintf(q->verdict, sizeof(q->verdict), "%s",
		    jstr(p.json, "verdict"));
		q->scan_id = jint(p.json, "scan_id");
	}
	http_free(&p);
	return NULL;
}

/* SIGTERM while a scan waits for the writer: it is answered and stored. */
START_TEST(test_sigterm_queued)
{
	struct queued q = { T.b1.codes[1], 0, "", 0 };
	sqlite3 *db;
	pthread_t th;

	srv_start(open_flags);
	/* Another process holds the write lock: the scan has to wait. */
	ck_assert_int_eq(sqlite3_open(E.db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(pthread_create(&th, NULL, queued_scan, &q), 0);
	msleep(400);
	srv_stop_async();
	msleep(600);
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	pthread_join(th, NULL);
	srv_wait_stopped();
	ck_assert_msg(q.status == 200, "the queued scan got %d", q.status);
	ck_assert_str_eq(q.verdict, "genuine");
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE id = %lld",
	    q.scan_id), 1);
}
END_TEST

/* Packs, shipments and receipts check the token before a big body. */
START_TEST(test_bulk_needs_token_first)
{
	static const char *const routes[] = { "/api/v1/packs",
	    "/api/v1/shipments", "/api/v1/receipts" };
	struct http_resp p;
	char *body;
	size_t i, n = 900000;

	srv_start(open_flags);
	ck_assert_ptr_nonnull(body = malloc(n + 1));
	memset(body, 'a', n);
	body[n] = '\0';
	for (i = 0; i < 3; i++) {
		post(routes[i], NULL, body, &p);
		assert_error(&p, 401, "bulk route without a token");
		http_free(&p);
		post(routes[i], T.ops, body, &p);
		ck_assert_msg(p.status == (i == 2 ? 403 : 400), "%s: %d",
		    routes[i], p.status);
		http_free(&p);
	}
	free(body);
	srv_stop();
}
END_TEST

START_TEST(test_sigterm)
{
	struct http_resp p;
	int fds[4], i;
	double t0;

	srv_start(open_flags);
	ck_assert_int_eq(scan(T.b1.codes[0], NULL, &p), 200);
	http_free(&p);
	for (i = 0; i < 4; i++) {
		ck_assert_int_ge(fds[i] = http_connect(E.port), 0);
		if (i % 2)
			ck_assert_int_eq(send_all(fds[i], "GET /heal", 9), 0);
	}
	t0 = mono_s();
	srv_stop();
	ck_assert_msg(mono_s() - t0 < 12, "SIGTERM took %.1f s",
	    mono_s() - t0);
	for (i = 0; i < 4; i++)
		close(fds[i]);
	/* The data is intact for the next start. */
	srv_start(open_flags);
	ck_assert_int_eq(scan(T.b1.codes[0], NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "repeat");
	http_free(&p);
	srv_stop();
}
END_TEST

static unsigned
mode_of(const char *path)
{
	struct stat sb;

	ck_assert_msg(stat(path, &sb) == 0, "stat %s", path);
	return (unsigned)(sb.st_mode & 07777);
}

/*
 * The database is private (issue 13, defect 3): served under umask 022
 * its -wal and -shm are 0600; on a database others may read, serve and
 * the other commands exit 1 saying how to fix it, and change nothing.
 */
START_TEST(test_db_private)
{
	char *wal, *shm, *before, *after, *out, *err, want[4200];
	struct http_resp p;
	mode_t old = umask(022);
	size_t n1, n2;
	int rc;

	ck_assert(asprintf(&wal, "%s-wal", E.db) > 0);
	ck_assert(asprintf(&shm, "%s-shm", E.db) > 0);
	ck_assert_uint_eq(mode_of(E.db), 0600);
	srv_start(open_flags);
	ck_assert_int_eq(scan(T.b1.codes[0], NULL, &p), 200);
	http_free(&p);
	ck_assert_uint_eq(mode_of(wal), 0600);
	ck_assert_uint_eq(mode_of(shm), 0600);
	srv_stop();

	ck_assert_int_eq(chmod(E.db, 0644), 0);
	ck_assert_ptr_nonnull(before = tu_read_file(E.db, &n1));
	rc = run(scanapi_bin(), &out, &err, "serve", "--db", E.db,
	    "--keyring", T.kr, "--listen", "127.0.0.1:0", "--web", web_dir(),
	    "--web-assets", web_assets_dir(), "--regions", regions_file(),
	    "--log", E.log, (char *)NULL);
	ck_assert_msg(rc == 1, "serve on a 0644 database: exit %d: %s", rc,
	    err);
	snprintf(want, sizeof(want), "chmod 600 %s", E.db);
	ck_assert_msg(strstr(err, want) != NULL && strstr(err, "0644") !=
	    NULL, "stderr: %s", err);
	ck_assert_msg(strstr(err, "listening") == NULL, "stderr: %s", err);
	free(out);
	free(err);
	rc = run(scanapi_bin(), &out, &err, "token", "create", "--db", E.db,
	    "--role", "admin", (char *)NULL);
	ck_assert_msg(rc == 1 && strstr(err, want) != NULL, "token create: "
	    "exit %d: %s", rc, err);
	ck_assert_str_eq(out, "");
	free(out);
	free(err);
	/* Nothing written: the same bytes, no WAL, the same mode. */
	ck_assert_ptr_nonnull(after = tu_read_file(E.db, &n2));
	ck_assert(n1 == n2 && memcmp(before, after, n1) == 0);
	ck_assert(!exists(wal) && !exists(shm));
	ck_assert_uint_eq(mode_of(E.db), 0644);
	free(before);
	free(after);
	/* Fixed as told, it serves again. */
	ck_assert_int_eq(chmod(E.db, 0600), 0);
	srv_start(open_flags);
	srv_stop();
	umask(old);
	free(wal);
	free(shm);
}
END_TEST

START_TEST(test_tokens)
{
	struct http_resp p;
	char tok[64], *out, *err, *m, num[32], want[64];
	long long id;
	int rc;

	srv_start(open_flags);
	m = manifest_of(T.b1.dir);
	id = token_create(E.db, "admin", NULL, tok, sizeof(tok));
	ck_assert_int_eq(post("/api/v1/batches", tok, m, &p), 200);
	http_free(&p);
	rc = run(scanapi_bin(), &out, &err, "token", "list", "--db", E.db,
	    (char *)NULL);
	ck_assert_msg(rc == 0, "token list: %s", err);
	snprintf(want, sizeof(want), "\n%lld\tadmin\t", id);
	ck_assert_msg(strstr(out, want) != NULL, "token %lld not listed: %s",
	    id, out);
	ck_assert_msg(strstr(strstr(out, want), "active") != NULL, "%s", out);
	ck_assert_msg(strstr(out, tok) == NULL, "token list shows a secret");
	free(out);
	free(err);
	snprintf(num, sizeof(num), "%lld", id);
	rc = run(scanapi_bin(), &out, &err, "token", "revoke", "--db", E.db,
	    num, (char *)NULL);
	ck_assert_msg(rc == 0, "token revoke: %s", err);
	free(out);
	free(err);
	post("/api/v1/batches", tok, m, &p);
	assert_error(&p, 401, "revoked token");
	http_free(&p);
	rc = run(scanapi_bin(), &out, &err, "token", "list", "--db", E.db,
	    (char *)NULL);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(strstr(strstr(out, want), "revoked") != NULL, "%s", out);
	free(out);
	free(err);
	/* Twice, or an unknown id: a failure. */
	rc = run(scanapi_bin(), NULL, NULL, "token", "revoke", "--db", E.db,
	    num, (char *)NULL);
	ck_assert_int_eq(rc, 1);
	rc = run(scanapi_bin(), NULL, NULL, "token", "revoke", "--db", E.db,
	    "999999", (char *)NULL);
	ck_assert_int_eq(rc, 1);
	rc = run(scanapi_bin(), NULL, NULL, "token", "create", "--db", E.db,
	    "--role", "root", (char *)NULL);
	ck_assert_int_eq(rc, 2);
	/* The others still work. */
	ck_assert_int_eq(post("/api/v1/batches", T.ops, m, &p), 200);
	http_free(&p);
	free(m);
	srv_stop();
}
END_TEST

/* ---- 7. concurrency and durability ---- */

#define NRACE	64

struct racer {
	int			 port;
	pthread_barrier_t	*bar;
	const char		*body;
	int			 status;
	char			 verdict[16];
	long long		 scan_id;
};

static void *
race_run(void *arg)
{
	struct racer *r = arg;
	struct http_req q = { "POST", "/api/v1/scans", "application/json",
	    NULL, NULL, r->body, 0 };
	struct http_resp p;
	json_t *v;
	int fd;

	fd = http_connect(r->port);
	pthread_barrier_wait(r->bar);
	if (fd < 0)
		return NULL;
	if (http_send(fd, &q) == 0 && http_recv(fd, &p) == 0) {
		r->status = p.status;
		if ((v = json_object_get(p.json, "verdict")) != NULL)
			snprintf(r->verdict, sizeof(r->verdict), "%s",
			    json_string_value(v));
		if ((v = json_object_get(p.json, "scan_id")) != NULL)
			r->scan_id = (long long)json_integer_value(v);
	}
	http_free(&p);
	close(fd);
	return NULL;
}

START_TEST(test_race)
{
	static const char *const flags[] = { "--ip-rate", "0",
	    "--consumer-rate", "100000", NULL };
	static struct racer r[NRACE];
	pthread_t th[NRACE];
	pthread_barrier_t bar;
	struct http_resp p;
	char body[128], path[128];
	int i, j, genuine = 0;

	srv_start(flags);
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", T.b1.codes[11]);
	ck_assert_int_eq(pthread_barrier_init(&bar, NULL, NRACE), 0);
	for (i = 0; i < NRACE; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].port = E.port;
		r[i].bar = &bar;
		r[i].body = body;
		ck_assert_int_eq(pthread_create(&th[i], NULL, race_run, &r[i]),
		    0);
	}
	for (i = 0; i < NRACE; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (i = 0; i < NRACE; i++) {
		ck_assert_msg(r[i].status == 200, "request %d: status %d", i,
		    r[i].status);
		if (strcmp(r[i].verdict, "genuine") == 0)
			genuine++;
		else
			ck_assert_msg(strcmp(r[i].verdict, "repeat") == 0 ||
			    strcmp(r[i].verdict, "suspect") == 0,
			    "request %d: verdict %s", i, r[i].verdict);
		ck_assert_int_gt(r[i].scan_id, 0);
		for (j = 0; j < i; j++)
			ck_assert_msg(r[i].scan_id != r[j].scan_id,
			    "scan_id %lld twice", r[i].scan_id);
	}
	ck_assert_int_eq(genuine, 1);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE serial = "
	    "%lld", T.b1.serials[11]), NRACE);
	snprintf(path, sizeof(path), "/api/v1/codes/%s", T.b1.codes[11]);
	ck_assert_int_eq(get(path, NULL, &p), 200);
	ck_assert_int_eq(jint(p.json, "scan_count"), NRACE);
	http_free(&p);
	srv_stop();
}
END_TEST

#define NLOAD	4
#define IDS_MAX	100000

struct load {
	atomic_int	 port;		/* 0 while the server is down */
	atomic_int	 stop;
	pthread_mutex_t	 lock;
	long long	*ids;		/* every scan_id answered 200 */
	size_t		 n;
	int		 who;
};

struct loader {
	struct load	*l;
	int		 idx;
};

static void *
load_run(void *arg)
{
	struct loader *me = arg;
	struct load *l = me->l;
	struct http_req q = { "POST", "/api/v1/scans", "application/json",
	    NULL, NULL, NULL, 0 };
	struct http_resp p;
	char body[128];
	json_t *v;
	int k = 0, port;

	while (!atomic_load(&l->stop)) {
		if ((port = atomic_load(&l->port)) == 0) {
			msleep(5);
			continue;
		}
		/* Eight codes shared by all: firsts and repeats. */
		snprintf(body, sizeof(body), "{\"code\":\"%s\"}",
		    T.b1.codes[12 + (me->idx + 3 * k++) % 8]);
		q.body = body;
		if (http(port, &q, &p) == 200 &&
		    json_is_integer(v = json_object_get(p.json, "scan_id"))) {
			pthread_mutex_lock(&l->lock);
			if (l->n < IDS_MAX)
				l->ids[l->n++] =
				    (long long)json_integer_value(v);
			pthread_mutex_unlock(&l->lock);
		} else
			msleep(2);
		http_free(&p);
	}
	return NULL;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

START_TEST(test_kill9)
{
	static const char *const flags[] = { "--ip-rate", "0",
	    "--consumer-rate", "100000", NULL };
	static struct load l;
	struct loader who[NLOAD];
	pthread_t th[NLOAD];
	struct http_resp p;
	sqlite3 *db;
	sqlite3_stmt *s = NULL;
	size_t at_kill, i, missing = 0;
	int status;

	memset(&l, 0, sizeof(l));
	ck_assert_ptr_nonnull(l.ids = calloc(IDS_MAX, sizeof(*l.ids)));
	pthread_mutex_init(&l.lock, NULL);
	srv_start(flags);
	atomic_store(&l.port, E.port);
	for (i = 0; i < NLOAD; i++) {
		who[i].l = &l;
		who[i].idx = (int)i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, load_run,
		    &who[i]), 0);
	}
	msleep(700);
	ck_assert_int_eq(kill(E.pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(E.pid, &status, 0), E.pid);
	atomic_store(&l.port, 0);
	E.pid = 0;
	pthread_mutex_lock(&l.lock);
	at_kill = l.n;
	pthread_mutex_unlock(&l.lock);
	srv_start(flags);
	atomic_store(&l.port, E.port);
	msleep(700);
	atomic_store(&l.stop, 1);
	for (i = 0; i < NLOAD; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(scan(T.b1.codes[12 + i], NULL, &p), 200);
		ck_assert_int_lt(l.n, IDS_MAX);
		l.ids[l.n++] = jint(p.json, "scan_id");
		http_free(&p);
	}
	srv_stop();
	ck_assert_msg(at_kill > 0, "no scan answered before the kill");
	ck_assert_msg(l.n > at_kill + 5, "no scan answered after the restart");
	/* Every id answered 200 is stored, and none was answered twice. */
	qsort(l.ids, l.n, sizeof(*l.ids), cmp_ll);
	for (i = 1; i < l.n; i++)
		ck_assert_msg(l.ids[i] != l.ids[i - 1], "scan_id %lld twice",
		    l.ids[i]);
	db = db_open();
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM scans "
	    "WHERE id = ?1", -1, &s, NULL), SQLITE_OK);
	for (i = 0; i < l.n; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, l.ids[i]);
		ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
		if (sqlite3_column_int64(s, 0) != 1)
			missing++;
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	ck_assert_msg(missing == 0, "%zu of %zu answered scans are not in the "
	    "database after kill -9", missing, l.n);
	pthread_mutex_destroy(&l.lock);
	free(l.ids);
}
END_TEST

/*
 * The landing page in a real headless Chromium: the page's script asks
 * for the location (refused headless), posts the scan and shows the
 * verdict in the language of Accept-Language; the scan is recorded.
 */
START_TEST(test_landing_browser)
{
	char title[256], s[YIMA_DL_LEN + 1], *dom;
	struct http_resp p;
	long long rows;
	int i;

	srv_start(open_flags);
	rows = nscans();
	dom = browse("zh-CN", T.b1.codes[NB1 - 1]);
	verdict_title(dom, title, sizeof(title));
	ck_assert_msg(strcmp(title, "正品") == 0, "zh title '%s'", title);
	ck_assert_ptr_nonnull(strstr(dom, "<html lang=\"zh"));
	ck_assert_ptr_nonnull(strstr(dom, "06901234567892"));
	free(dom);
	ck_assert_int_eq(nscans(), rows + 1);
	dom = browse("en-US", T.b1.codes[NB1 - 1]);
	verdict_title(dom, title, sizeof(title));
	ck_assert_msg(strcmp(title, "Scanned before") == 0, "en title '%s'",
	    title);
	free(dom);
	ck_assert_int_eq(nscans(), rows + 2);
	/* A GS1 Digital Link URI opens the same page, which scans it. */
	dl_serial(T.b1.serials[NB1 - 2], s);
	snprintf(title, sizeof(title), "/01/%s/21/%s", GTIN, s);
	dom = browse("en-US", title);
	verdict_title(dom, title, sizeof(title));
	ck_assert_msg(strcmp(title, "Genuine product") == 0, "DL title '%s'",
	    title);
	free(dom);
	ck_assert_int_eq(nscans(), rows + 3);
	/* The reasons speak the reader's language too, not the server's. */
	snprintf(title, sizeof(title), "%s", T.b1.codes[0]);
	title[YIMA_CODE_LEN - 1] = title[YIMA_CODE_LEN - 1] == '0' ? '1' : '0';
	dom = browse("zh-CN", title);
	ck_assert_ptr_nonnull(strstr(dom, "<li>原因：签名不符"));
	ck_assert_ptr_null(strstr(dom, "<li>原因：signature"));
	free(dom);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(scan(T.b1.codes[NB1 - 3], NULL, &p), 200);
		http_free(&p);
	}
	dom = browse("zh-CN", T.b1.codes[NB1 - 3]);
	verdict_title(dom, title, sizeof(title));
	ck_assert_msg(strcmp(title, "可疑码") == 0, "suspect title '%s'", title);
	/* (each scan a new consumer: the distinct-consumers rule) */
	ck_assert_ptr_nonnull(strstr(dom, "<li>原因：一天内被多人扫描"));
	free(dom);
	srv_stop();
}
END_TEST

/* ---- 8. the supply chain: dealers, packs, shipments, diversion ---- */

/* WGS84 city centres, each well inside its city (GB/T 2260). */
#define SHANGHAI	31.2304, 121.4737	/* 310100 */
#define GUANGZHOU	23.1291, 113.2644	/* 440100 */
#define BEIJING		39.9042, 116.4074	/* 110100 */
#define SHENZHEN	22.5431, 114.0579	/* 440300 */
#define HANGZHOU	30.2741, 120.1551	/* 330100 */


/* Appends the codes of b (consumed) to a; returns a. */
static json_t *
codes_cat(json_t *a, json_t *b)
{
	json_array_extend(a, b);
	json_decref(b);
	return a;
}

static int
pack(const char *parent, json_t *children, struct http_resp *p)
{
	return call("POST", "/api/v1/packs", T.ops, json_pack("{s:s,s:o}",
	    "parent", parent, "children", children), p);
}

static int
ship(const char *token, const char *to, json_t *codes, struct http_resp *p)
{
	return call("POST", "/api/v1/shipments", token, json_pack("{s:s,s:o}",
	    "to", to, "codes", codes), p);
}

/* Ships codes (consumed) with the ops token; must succeed. */
static void
ship_ok(const char *to, json_t *codes)
{
	struct http_resp p;

	ck_assert_msg(ship(T.ops, to, codes, &p) == 201, "ship to %s: %d %s",
	    to, p.status, p.body);
	http_free(&p);
}

static int
trace(const char *code, struct http_resp *p)
{
	char path[160];

	snprintf(path, sizeof(path), "/api/v1/codes/%s/trace", code);
	return call("GET", path, T.ops, NULL, p);
}

/* Asserts that the trace of code names owner (NULL: none). */
static void
assert_owner(const char *code, const char *owner)
{
	struct http_resp p;

	ck_assert_msg(trace(code, &p) == 200, "trace %s: %d %s", code,
	    p.status, p.body);
	if (owner == NULL)
		ck_assert_msg(jstr(p.json, "owner") == NULL, "%s is owned by "
		    "%s, want nobody", code, jstr(p.json, "owner"));
	else
		ck_assert_msg(jstr(p.json, "owner") != NULL &&
		    strcmp(jstr(p.json, "owner"), owner) == 0,
		    "%s is owned by %s, want %s", code,
		    jstr(p.json, "owner") ? jstr(p.json, "owner") : "nobody",
		    owner);
	http_free(&p);
}

/* Does the JSON array hold exactly the strings want (n of them)? */
static int
same_strings(json_t *arr, const char *const *want, size_t n)
{
	size_t i, j;

	if (!json_is_array(arr) || json_array_size(arr) != n)
		return 0;
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++)
			if (json_is_string(json_array_get(arr, j)) &&
			    strcmp(json_string_value(json_array_get(arr, j)),
			    want[i]) == 0)
				break;
		if (j == n)
			return 0;
	}
	return 1;
}

/* A located scan by a new consumer; must answer 200. Answer in p. */
static void
scan_ok(const char *code, double lat, double lon, struct http_resp *p)
{
	ck_assert_msg(scan_at(code, NULL, lat, lon, p) == 200, "scan: %d %s",
	    p->status, p->body);
}

static long long
ndiversions(void)
{
	return db_int("SELECT COUNT(*) FROM diversions");
}

START_TEST(test_chain_dealers)
{
	static const char *const unknown[] = { "99", "4499", "123" };
	struct http_resp p;
	json_t *o, *list, *d;
	char gen[80];
	size_t i;
	int seen = 0;

	srv_start(open_flags);
	dealer_add("dist", "distributor", NULL, NULL);
	dealer_add("da", "dealer", "dist", NULL);
	/* Without an id, the server picks one. */
	o = json_pack("{s:s,s:s,s:s}", "name", "Corner shop", "type", "store",
	    "parent", "da");
	ck_assert_int_eq(call("POST", "/api/v1/admin/dealers", T.admin, o,
	    &p), 201);
	ck_assert_ptr_nonnull(jstr(p.json, "id"));
	ck_assert_uint_gt(strlen(jstr(p.json, "id")), 0);
	snprintf(gen, sizeof(gen), "%s", jstr(p.json, "id"));
	ck_assert_pstr_eq(jstr(p.json, "parent"), "da");
	ck_assert_pstr_eq(jstr(p.json, "type"), "store");
	http_free(&p);
	/* A taken id, an unknown parent or type, a bad id, no name. */
	o = json_pack("{s:s,s:s,s:s}", "id", "da", "name", "again", "type",
	    "dealer");
	call("POST", "/api/v1/admin/dealers", T.admin, o, &p);
	assert_error(&p, 409, "duplicate dealer id");
	http_free(&p);
	o = json_pack("{s:s,s:s,s:s,s:s}", "id", "orphan", "name", "x",
	    "type", "dealer", "parent", "nobody");
	call("POST", "/api/v1/admin/dealers", T.admin, o, &p);
	assert_error(&p, 400, "unknown parent");
	http_free(&p);
	o = json_pack("{s:s,s:s,s:s}", "id", "wh", "name", "x", "type",
	    "warehouse");
	call("POST", "/api/v1/admin/dealers", T.admin, o, &p);
	assert_error(&p, 400, "unknown type");
	http_free(&p);
	o = json_pack("{s:s,s:s,s:s}", "id", "a/b", "name", "x", "type",
	    "store");
	call("POST", "/api/v1/admin/dealers", T.admin, o, &p);
	assert_error(&p, 400, "id with a slash");
	http_free(&p);
	o = json_pack("{s:s,s:s}", "id", "noname", "type", "store");
	call("POST", "/api/v1/admin/dealers", T.admin, o, &p);
	assert_error(&p, 400, "no name");
	http_free(&p);
	/* Only admins. */
	o = json_pack("{s:s,s:s,s:s}", "id", "byops", "name", "x", "type",
	    "store");
	call("POST", "/api/v1/admin/dealers", T.ops, o, &p);
	assert_error(&p, 403, "ops adds a dealer");
	http_free(&p);
	call("GET", "/api/v1/admin/dealers", NULL, NULL, &p);
	assert_error(&p, 401, "list without a token");
	http_free(&p);
	call("GET", "/api/v1/admin/dealers", T.dealer, NULL, &p);
	assert_error(&p, 403, "a dealer lists dealers");
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM dealers"), 3);
	/* The list: the three, with their parents and types. */
	ck_assert_int_eq(call("GET", "/api/v1/admin/dealers", T.admin, NULL,
	    &p), 200);
	list = jget(p.json, "dealers");
	ck_assert_msg(json_is_array(list) && json_array_size(list) == 3,
	    "dealers: %s", p.body);
	json_array_foreach(list, i, d) {
		ck_assert_msg(jstr(d, "id") != NULL && jstr(d, "type") != NULL
		    && jstr(d, "name") != NULL, "dealers: %s", p.body);
		if (strcmp(jstr(d, "id"), "dist") == 0) {
			ck_assert_pstr_eq(jstr(d, "type"), "distributor");
			ck_assert_ptr_null(jstr(d, "parent"));
			seen |= 1;
		} else if (strcmp(jstr(d, "id"), "da") == 0) {
			ck_assert_pstr_eq(jstr(d, "parent"), "dist");
			ck_assert_pstr_eq(jstr(d, "type"), "dealer");
			seen |= 2;
		} else if (strcmp(jstr(d, "id"), gen) == 0) {
			ck_assert_pstr_eq(jstr(d, "parent"), "da");
			ck_assert_pstr_eq(jstr(d, "name"), "Corner shop");
			seen |= 4;
		}
	}
	ck_assert_int_eq(seen, 7);
	http_free(&p);
	/* Territories: province, city, county and province-code forms. */
	ck_assert_int_eq(territory_put("dist", "31", &p), 200);
	http_free(&p);
	ck_assert_int_eq(territory_put("da", "3101,310115,440000", &p), 200);
	ck_assert(json_is_array(jget(p.json, "regions")));
	ck_assert_uint_eq(json_array_size(jget(p.json, "regions")), 3);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM territories WHERE "
	    "dealer = 'da'"), 3);
	/* Unknown codes are named, and nothing changes. */
	ck_assert_int_eq(territory_put("da", "31,99,4499,3101,123", &p), 400);
	ck_assert_msg(same_strings(jget(p.json, "error.regions"), unknown, 3),
	    "error.regions should name 99, 4499 and 123: %s", p.body);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM territories WHERE "
	    "dealer = 'da'"), 3);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM territories WHERE "
	    "dealer = 'da' AND region = '310115'"), 1);
	territory_put("nobody", "31", &p);
	assert_error(&p, 404, "territory of an unknown dealer");
	http_free(&p);
	call("PUT", "/api/v1/admin/dealers/da/territory", T.ops,
	    json_pack("{s:[s]}", "regions", "31"), &p);
	assert_error(&p, 403, "ops sets a territory");
	http_free(&p);
	call("PUT", "/api/v1/admin/dealers/da/territory", T.admin,
	    json_pack("{s:s}", "regions", "31"), &p);
	assert_error(&p, 400, "regions not an array");
	http_free(&p);
	/* An empty list clears it: da inherits again. */
	ck_assert_int_eq(territory_put("da", "", &p), 200);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM territories WHERE "
	    "dealer = 'da'"), 0);
	srv_stop();
}
END_TEST

START_TEST(test_chain_packs)
{
	struct http_resp p;
	struct goods it, bx, pl;
	json_t *a;
	char path[160];

	srv_start(open_flags);
	goods_mint("item", 48, &it);
	goods_mint("box", 3, &bx);
	goods_mint("pallet", 2, &pl);
	/* 24 consecutive items into a box: one range, one row. */
	ck_assert_msg(pack(bx.codes[0], codes_json(&it, 0, 24), &p) == 201,
	    "pack: %d %s", p.status, p.body);
	ck_assert_int_eq(jint(p.json, "packed"), 24);
	ck_assert_int_eq(jint(p.json, "ranges"), 1);
	ck_assert_int_eq(jint(p.json, "parent"), bx.serials[0]);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs"), 1);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs WHERE parent = "
	    "%lld AND first = %lld AND last = %lld AND unpacked_at IS NULL",
	    bx.serials[0], it.serials[0], it.serials[23]), 1);
	/* Two runs: two rows. The same again into the same box: nothing. */
	a = codes_cat(codes_json(&it, 24, 4),
	    codes_json(&it, 30, 2));
	ck_assert_int_eq(pack(bx.codes[1], a, &p), 201);
	ck_assert_int_eq(jint(p.json, "ranges"), 2);
	http_free(&p);
	ck_assert_int_eq(pack(bx.codes[1], codes_json(&it, 24, 4), &p), 201);
	ck_assert_int_eq(jint(p.json, "packed"), 0);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs"), 3);
	/* A child packed elsewhere: 409 naming it; nothing stored. */
	a = codes_cat(codes_json(&it, 23, 1),
	    codes_json(&it, 40, 2));
	pack(bx.codes[2], a, &p);
	assert_error(&p, 409, "child packed elsewhere");
	ck_assert_msg(json_is_array(jget(p.json, "error.codes")) &&
	    json_array_size(jget(p.json, "error.codes")) == 1 &&
	    strcmp(json_string_value(json_array_get(jget(p.json,
	    "error.codes"), 0)), it.codes[23]) == 0,
	    "error.codes should name %s only: %s", it.codes[23], p.body);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs"), 3);
	/* Kinds: an item holds nothing; a pallet goes in no box. */
	pack(it.codes[47], codes_json(&it, 46, 1), &p);
	assert_error(&p, 400, "an item as parent");
	http_free(&p);
	pack(bx.codes[2], codes_json(&pl, 0, 1), &p);
	assert_error(&p, 400, "a pallet into a box");
	http_free(&p);
	pack(bx.codes[2], codes_json(&bx, 1, 1), &p);
	assert_error(&p, 400, "a box into a box");
	http_free(&p);
	pack(pl.codes[0], codes_json(&pl, 1, 1), &p);
	assert_error(&p, 400, "a pallet onto a pallet");
	http_free(&p);
	pack(bx.codes[2], json_pack("[s]", T.ch.codes[0]), &p);
	assert_error(&p, 400, "a channel code into a box");
	http_free(&p);
	pack(bx.codes[2], json_pack("[s]", T.b2.codes[0]), &p);
	assert_error(&p, 400, "an unregistered child");
	http_free(&p);
	pack(bx.codes[2], json_pack("[s]", "not-a-code"), &p);
	assert_error(&p, 400, "an invalid child");
	http_free(&p);
	pack(bx.codes[2], json_array(), &p);
	assert_error(&p, 400, "no children");
	http_free(&p);
	a = codes_cat(codes_json(&it, 44, 1),
	    codes_json(&it, 44, 1));
	pack(bx.codes[2], a, &p);
	assert_error(&p, 400, "a child listed twice");
	http_free(&p);
	call("POST", "/api/v1/packs", T.dealer, json_pack("{s:s,s:[s]}",
	    "parent", bx.codes[2], "children", it.codes[44]), &p);
	assert_error(&p, 403, "a dealer packs");
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs"), 3);
	/* Boxes onto the pallet; the trace shows both parents. */
	a = codes_json(&bx, 0, 2);
	ck_assert_int_eq(pack(pl.codes[0], a, &p), 201);
	ck_assert_int_eq(jint(p.json, "packed"), 2);
	http_free(&p);
	ck_assert_int_eq(scan(it.codes[5], NULL, &p), 200);
	http_free(&p);
	ck_assert_int_eq(trace(it.codes[5], &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "kind"), "item");
	ck_assert_int_eq(jint(p.json, "serial"), it.serials[5]);
	a = jget(p.json, "parents");
	ck_assert_msg(json_is_array(a) && json_array_size(a) == 2 &&
	    json_integer_value(json_array_get(a, 0)) == bx.serials[0] &&
	    json_integer_value(json_array_get(a, 1)) == pl.serials[0],
	    "parents: %s", p.body);
	a = jget(p.json, "events");
	ck_assert_msg(json_is_array(a) && json_array_size(a) == 1,
	    "events: %s", p.body);
	ck_assert_pstr_eq(jstr(json_array_get(a, 0), "type"), "scan");
	ck_assert_pstr_eq(jstr(json_array_get(a, 0), "detail"), "genuine");
	http_free(&p);
	call("GET", "/api/v1/codes/x/trace", T.ops, NULL, &p);
	assert_error(&p, 400, "trace of an invalid code");
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/codes/%s/trace", it.codes[5]);
	call("GET", path, T.dealer, NULL, &p);
	assert_error(&p, 403, "a dealer traces");
	http_free(&p);
	/* Unpack: history kept; twice is 404; re-packing works. */
	snprintf(path, sizeof(path), "/api/v1/packs/%s", bx.codes[0]);
	ck_assert_int_eq(call("DELETE", path, T.ops, NULL, &p), 200);
	ck_assert_int_eq(jint(p.json, "unpacked_ranges"), 1);
	http_free(&p);
	call("DELETE", path, T.ops, NULL, &p);
	assert_error(&p, 404, "second unpack");
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/packs/%s", bx.codes[1]);
	call("DELETE", path, T.dealer, NULL, &p);
	assert_error(&p, 403, "a dealer unpacks");
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/packs/%s", it.codes[46]);
	call("DELETE", path, T.admin, NULL, &p);
	assert_error(&p, 404, "unpack of what holds nothing");
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs"), 4);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs WHERE parent = "
	    "%lld AND unpacked_at IS NOT NULL", bx.serials[0]), 1);
	ck_assert_int_eq(trace(it.codes[5], &p), 200);
	ck_assert_uint_eq(json_array_size(jget(p.json, "parents")), 0);
	http_free(&p);
	ck_assert_msg(pack(bx.codes[2], codes_json(&it, 0, 24), &p) == 201,
	    "re-pack: %d %s", p.status, p.body);
	http_free(&p);
	ck_assert_int_eq(trace(it.codes[5], &p), 200);
	a = jget(p.json, "parents");
	ck_assert_msg(json_array_size(a) == 1 &&
	    json_integer_value(json_array_get(a, 0)) == bx.serials[2],
	    "parents after re-pack: %s", p.body);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs WHERE "
	    "unpacked_at IS NULL"), 4);
	goods_free(&it);
	goods_free(&bx);
	goods_free(&pl);
	srv_stop();
}
END_TEST

/* A pack body of n children from g (n may repeat g's last code). */
static json_t *
many_children(const struct goods *g, int n)
{
	json_t *a = json_array();
	int k;

	for (k = 0; k < n; k++)
		json_array_append_new(a, json_string(g->codes[k < g->n ? k :
		    g->n - 1]));
	return a;
}

/* The contract: up to 10,000 children in one pack; more is a 400. */
START_TEST(test_chain_pack_max)
{
	struct http_resp p;
	struct goods it, bx;

	srv_start(open_flags);
	goods_mint("item", 10001, &it);
	goods_mint("box", 2, &bx);
	http_timeout = 60;
	pack(bx.codes[0], many_children(&it, 10001), &p);
	ck_assert_msg(p.status == 400, "10,001 children: %d, want 400: %.300s",
	    p.status, p.body);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs"), 0);
	pack(bx.codes[0], many_children(&it, 10000), &p);
	ck_assert_msg(p.status == 201, "10,000 children: %d, want 201: %.300s",
	    p.status, p.body);
	ck_assert_int_eq(jint(p.json, "packed"), 10000);
	ck_assert_int_eq(jint(p.json, "ranges"), 1);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs"), 1);
	goods_free(&it);
	goods_free(&bx);
	srv_stop();
}
END_TEST

/*
 * A pallet may hold items directly, added over several requests; one
 * holding more than 4,096 separate runs of serials must still ship.
 */
START_TEST(test_chain_ship_sparse)
{
	struct http_resp p;
	struct goods it, pl;
	json_t *a;
	int i, k;

	srv_start(open_flags);
	dealer_add("dx", "dealer", NULL, "31");
	goods_mint("item", 8400, &it);
	goods_mint("pallet", 1, &pl);
	/* Every other item: 4,200 runs of one, 500 per request. */
	for (i = 0; i < 4200; i += 500) {
		a = json_array();
		for (k = i; k < i + 500 && k < 4200; k++)
			json_array_append_new(a, json_string(it.codes[2 * k]));
		ck_assert_msg(pack(pl.codes[0], a, &p) == 201, "pack %d: %d %s",
		    i, p.status, p.body);
		http_free(&p);
	}
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM packs"), 4200);
	ship(T.ops, "dx", codes_json(&pl, 0, 1), &p);
	ck_assert_msg(p.status == 201, "shipping a pallet of 4,200 runs: %d, "
	    "want 201: %s", p.status, p.body);
	ck_assert_int_eq(jint(p.json, "serials"), 4201);
	http_free(&p);
	assert_owner(it.codes[8398], "dx");
	assert_owner(it.codes[8399], NULL);
	goods_free(&it);
	goods_free(&pl);
	srv_stop();
}
END_TEST

START_TEST(test_chain_shipments)
{
	struct http_resp p;
	struct goods it, bx, pl;
	char tda[64], tsa[64];
	json_t *ev, *e;
	size_t i;
	int k, ship_seen = 0, rcpt_seen = 0, scan_seen = 0;

	srv_start(open_flags);
	dealer_add("dist", "distributor", NULL, "31");
	dealer_add("da", "dealer", "dist", "3101");
	dealer_add("sa", "store", "da", NULL);
	dealer_add("db", "dealer", "dist", "4401");
	token_create(E.db, "dealer", "da", tda, sizeof(tda));
	token_create(E.db, "dealer", "sa", tsa, sizeof(tsa));
	goods_mint("item", 48, &it);
	goods_mint("box", 2, &bx);
	goods_mint("pallet", 1, &pl);
	ck_assert_int_eq(pack(bx.codes[0], codes_json(&it, 0, 24), &p), 201);
	http_free(&p);
	ck_assert_int_eq(pack(bx.codes[1], codes_json(&it, 24, 24), &p), 201);
	http_free(&p);
	ck_assert_int_eq(pack(pl.codes[0], codes_json(&bx, 0, 2), &p), 201);
	http_free(&p);
	/* Unknown dealer; no token; nothing shipped. */
	ship(T.ops, "nobody", codes_json(&pl, 0, 1), &p);
	assert_error(&p, 400, "ship to an unknown dealer");
	http_free(&p);
	ship(NULL, "da", codes_json(&pl, 0, 1), &p);
	assert_error(&p, 401, "ship without a token");
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM shipments"), 0);
	/* ops ships the pallet: everything on it is da's. */
	ck_assert_msg(ship(T.ops, "da", codes_json(&pl, 0, 1), &p) == 201,
	    "ship: %d %s", p.status, p.body);
	ck_assert_int_eq(jint(p.json, "serials"), 51);
	http_free(&p);
	for (k = 0; k < 48; k++)
		assert_owner(it.codes[k], "da");
	assert_owner(bx.codes[0], "da");
	assert_owner(bx.codes[1], "da");
	assert_owner(pl.codes[0], "da");
	/* da passes box 0 on to its store: its items are sa's now. */
	ck_assert_msg(ship(tda, "sa", codes_json(&bx, 0, 1), &p) == 201,
	    "dealer ships to its store: %d %s", p.status, p.body);
	http_free(&p);
	assert_owner(it.codes[0], "sa");
	assert_owner(it.codes[23], "sa");
	assert_owner(bx.codes[0], "sa");
	assert_owner(it.codes[24], "da");
	/* Goods da no longer owns: 403 naming them. */
	ship(tda, "sa", codes_json(&it, 22, 4), &p);
	assert_error(&p, 403, "dealer ships goods it does not own");
	ck_assert_msg(json_is_array(jget(p.json, "error.codes")) &&
	    json_array_size(jget(p.json, "error.codes")) == 2,
	    "error.codes should name items 22 and 23: %s", p.body);
	http_free(&p);
	/* The pallet still holds sa's box: da cannot ship it on whole. */
	ship(tda, "sa", codes_json(&pl, 0, 1), &p);
	assert_error(&p, 403, "dealer ships a pallet holding its store's box");
	http_free(&p);
	assert_owner(it.codes[0], "sa");
	assert_owner(it.codes[24], "da");
	/* Outside its subtree, or to itself: 403. */
	ship(tda, "db", codes_json(&bx, 1, 1), &p);
	assert_error(&p, 403, "dealer ships to another branch");
	http_free(&p);
	ship(tda, "dist", codes_json(&bx, 1, 1), &p);
	assert_error(&p, 403, "dealer ships up the tree");
	http_free(&p);
	ship(tsa, "da", codes_json(&it, 0, 1), &p);
	assert_error(&p, 403, "store ships to its parent");
	http_free(&p);
	assert_owner(it.codes[24], "da");
	/* Receipts: dealer tokens only. */
	call("POST", "/api/v1/receipts", T.ops, json_pack("{s:[s],s:s}",
	    "codes", it.codes[0], "kind", "receive"), &p);
	assert_error(&p, 403, "ops posts a receipt");
	http_free(&p);
	call("POST", "/api/v1/receipts", T.admin, json_pack("{s:[s],s:s}",
	    "codes", it.codes[0], "kind", "receive"), &p);
	assert_error(&p, 403, "admin posts a receipt");
	http_free(&p);
	call("POST", "/api/v1/receipts", tsa, json_pack("{s:[s],s:s}",
	    "codes", it.codes[0], "kind", "sell"), &p);
	assert_error(&p, 400, "receipt of an unknown kind");
	http_free(&p);
	call("POST", "/api/v1/receipts", tsa, json_pack("{s:[s],s:s,s:f}",
	    "codes", it.codes[0], "kind", "open", "lat", 31.0), &p);
	assert_error(&p, 400, "lat without lon");
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM receipts"), 0);
	/* At home (Shanghai, inherited from da): no diversion. */
	ck_assert_msg(call("POST", "/api/v1/receipts", tsa,
	    json_pack("{s:[s],s:s,s:f,s:f}", "codes", it.codes[0], "kind",
	    "receive", "lat", 31.2304, "lon", 121.4737), &p) == 201,
	    "receipt: %d %s", p.status, p.body);
	ck_assert_pstr_eq(jstr(p.json, "region"), "310100");
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM receipts WHERE serial = "
	    "%lld AND dealer = 'sa' AND kind = 'receive' AND region = "
	    "'310100'", it.serials[0]), 1);
	ck_assert_int_eq(ndiversions(), 0);
	/* The trace: the shipments, the receipt, a scan. */
	ck_assert_int_eq(scan(it.codes[0], NULL, &p), 200);
	http_free(&p);
	ck_assert_int_eq(trace(it.codes[0], &p), 200);
	ev = jget(p.json, "events");
	ck_assert_msg(json_is_array(ev) && json_array_size(ev) == 4,
	    "events: %s", p.body);
	json_array_foreach(ev, i, e) {
		ck_assert_msg(jstr(e, "type") != NULL, "events: %s", p.body);
		if (strcmp(jstr(e, "type"), "shipment") == 0 &&
		    jstr(e, "dealer") != NULL)
			ship_seen |= strcmp(jstr(e, "dealer"), "da") == 0 ? 1 :
			    strcmp(jstr(e, "dealer"), "sa") == 0 ? 2 : 4;
		else if (strcmp(jstr(e, "type"), "receipt") == 0 &&
		    jstr(e, "dealer") != NULL && jstr(e, "detail") != NULL)
			rcpt_seen += strcmp(jstr(e, "dealer"), "sa") == 0 &&
			    strcmp(jstr(e, "detail"), "receive") == 0;
		else if (strcmp(jstr(e, "type"), "scan") == 0)
			scan_seen++;
		ck_assert_ptr_nonnull(jstr(e, "at"));
	}
	ck_assert_msg(ship_seen == 3 && rcpt_seen == 1 && scan_seen == 1,
	    "events: %s", p.body);
	http_free(&p);
	goods_free(&it);
	goods_free(&bx);
	goods_free(&pl);
	srv_stop();
}
END_TEST

/*
 * "Owner of an item = dealer of the latest shipment of it or of any
 * parent": an item packed into a box after the box was shipped is owned
 * by the box's dealer.
 */
START_TEST(test_chain_owner_via_parent)
{
	struct http_resp p;
	struct goods it, bx;

	srv_start(open_flags);
	dealer_add("da", "dealer", NULL, "3101");
	goods_mint("item", 4, &it);
	goods_mint("box", 1, &bx);
	ck_assert_int_eq(pack(bx.codes[0], codes_json(&it, 0, 2), &p), 201);
	http_free(&p);
	ship_ok("da", codes_json(&bx, 0, 1));
	assert_owner(it.codes[0], "da");
	ck_assert_int_eq(pack(bx.codes[0], codes_json(&it, 2, 1), &p), 201);
	http_free(&p);
	ck_assert_int_eq(trace(it.codes[2], &p), 200);
	ck_assert_msg(json_integer_value(json_array_get(jget(p.json,
	    "parents"), 0)) == bx.serials[0], "parents: %s", p.body);
	http_free(&p);
	assert_owner(it.codes[2], "da");
	goods_free(&it);
	goods_free(&bx);
	srv_stop();
}
END_TEST

/* A dealer without a territory inherits the nearest ancestor's. */
START_TEST(test_chain_inherit)
{
	struct http_resp p;
	struct goods it;
	long long id;

	srv_start(open_flags);
	dealer_add("dist", "distributor", NULL, "31");
	dealer_add("db", "dealer", "dist", "4401");
	dealer_add("sb", "store", "db", NULL);
	dealer_add("sx", "store", "db", "3101");
	dealer_add("free", "dealer", NULL, NULL);
	goods_mint("item", 8, &it);
	ship_ok("sb", codes_json(&it, 0, 2));
	ship_ok("sx", codes_json(&it, 2, 2));
	ship_ok("db", codes_json(&it, 4, 1));
	ship_ok("free", codes_json(&it, 5, 1));
	/* sb is at home in Guangzhou, away in Shenzhen. */
	scan_ok(it.codes[0], GUANGZHOU, &p);
	http_free(&p);
	ck_assert_int_eq(ndiversions(), 0);
	scan_ok(it.codes[1], SHENZHEN, &p);
	id = jint(p.json, "scan_id");
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM diversions WHERE "
	    "scan_id = %lld AND owner = 'sb' AND region = '440300' AND "
	    "evidence = 'consumer' AND uncertain = 0 AND serial = %lld", id,
	    it.serials[1]), 1);
	/* sx's own territory wins over db's. */
	scan_ok(it.codes[2], SHANGHAI, &p);
	http_free(&p);
	ck_assert_int_eq(ndiversions(), 1);
	scan_ok(it.codes[3], GUANGZHOU, &p);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM diversions WHERE "
	    "owner = 'sx' AND region = '440100'"), 1);
	/* db itself; then goods of a dealer with no territory anywhere. */
	scan_ok(it.codes[4], SHENZHEN, &p);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM diversions WHERE "
	    "owner = 'db' AND region = '440300'"), 1);
	scan_ok(it.codes[5], BEIJING, &p);
	http_free(&p);
	/* Unowned goods, and scans without a place, are nobody's. */
	scan_ok(it.codes[6], BEIJING, &p);
	http_free(&p);
	ck_assert_int_eq(scan(it.codes[1], NULL, &p), 200);
	http_free(&p);
	ck_assert_int_eq(ndiversions(), 3);
	/* sb gets Shenzhen: at home there now; cleared, it inherits again. */
	ck_assert_int_eq(territory_put("sb", "4403", &p), 200);
	http_free(&p);
	scan_ok(it.codes[1], SHENZHEN, &p);
	http_free(&p);
	ck_assert_int_eq(ndiversions(), 3);
	ck_assert_int_eq(territory_put("sb", "", &p), 200);
	http_free(&p);
	scan_ok(it.codes[1], SHENZHEN, &p);
	http_free(&p);
	ck_assert_int_eq(ndiversions(), 4);
	goods_free(&it);
	srv_stop();
}
END_TEST

/*
 * The contract's own example territory lists "440000": the GB/T 2260
 * code of Guangdong province. Guangzhou (440100) lies inside it.
 */
START_TEST(test_chain_province_code)
{
	struct http_resp p;
	struct goods it;

	srv_start(open_flags);
	dealer_add("gd", "dealer", NULL, "440000");
	dealer_add("gzc", "dealer", NULL, "440100");
	goods_mint("item", 2, &it);
	ship_ok("gd", codes_json(&it, 0, 1));
	ship_ok("gzc", codes_json(&it, 1, 1));
	scan_ok(it.codes[1], GUANGZHOU, &p);
	http_free(&p);
	ck_assert_msg(ndiversions() == 0, "a scan in Guangzhou (440100) of "
	    "goods of a dealer with territory 440100 is a diversion");
	scan_ok(it.codes[0], GUANGZHOU, &p);
	http_free(&p);
	ck_assert_msg(ndiversions() == 0, "a scan in Guangzhou (440100) of "
	    "goods of a dealer with territory 440000 (Guangdong) is recorded "
	    "as a diversion");
	goods_free(&it);
	srv_stop();
}
END_TEST

/*
 * A territory may list up to 1,000 regions; the 65th must count like the
 * first. Here 64 city prefixes sort before 4401 (Guangzhou).
 */
START_TEST(test_chain_big_territory)
{
	static const char many[] = "1101,1201,1301,1302,1303,1304,1305,1306,"
	    "1307,1308,1309,1310,1311,1401,1402,1403,1404,1405,1406,1407,"
	    "1408,1409,1410,1411,1501,1502,1503,1504,1505,1506,1507,1508,"
	    "1509,1522,1525,1529,2101,2102,2103,2104,2105,2106,2107,2108,"
	    "2109,2110,2111,2112,2113,2114,2201,2202,2203,2204,2205,2206,"
	    "2207,2208,2224,2301,2302,2303,2304,2305,4401";
	struct http_resp p;
	struct goods it;

	srv_start(open_flags);
	dealer_add("big", "dealer", NULL, many);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM territories WHERE "
	    "dealer = 'big'"), 65);
	goods_mint("item", 2, &it);
	ship_ok("big", codes_json(&it, 0, 2));
	scan_ok(it.codes[0], BEIJING, &p);
	http_free(&p);
	ck_assert_int_eq(ndiversions(), 0);
	scan_ok(it.codes[1], GUANGZHOU, &p);
	http_free(&p);
	ck_assert_msg(ndiversions() == 0, "a scan in Guangzhou is a diversion "
	    "although 4401 is the 65th region of the territory");
	goods_free(&it);
	srv_stop();
}
END_TEST

/* The consumer never learns of a diversion: same fields, same verdict. */
START_TEST(test_chain_no_leak)
{
	struct http_resp home, away;
	struct goods it;
	const char *key;
	json_t *v;

	srv_start(open_flags);
	dealer_add("db", "dealer", NULL, "4401");
	goods_mint("item", 2, &it);
	ship_ok("db", codes_json(&it, 0, 2));
	scan_ok(it.codes[0], GUANGZHOU, &home);
	scan_ok(it.codes[1], BEIJING, &away);
	ck_assert_int_eq(ndiversions(), 1);
	ck_assert_int_eq(db_int("SELECT scan_id FROM diversions"),
	    jint(away.json, "scan_id"));
	ck_assert_pstr_eq(jstr(home.json, "verdict"), "genuine");
	ck_assert_pstr_eq(jstr(away.json, "verdict"), "genuine");
	ck_assert_uint_eq(json_object_size(home.json),
	    json_object_size(away.json));
	json_object_foreach(away.json, key, v) {
		ck_assert_msg(json_object_get(home.json, key) != NULL,
		    "a diverted scan answers \"%s\": %s", key, away.body);
		ck_assert_int_eq(json_typeof(v),
		    json_typeof(json_object_get(home.json, key)));
	}
	ck_assert_uint_eq(json_object_size(jget(home.json, "region")),
	    json_object_size(jget(away.json, "region")));
	ck_assert_ptr_null(strstr(away.body, "divers"));
	ck_assert_ptr_null(strstr(away.body, "owner"));
	http_free(&home);
	http_free(&away);
	goods_free(&it);
	srv_stop();
}
END_TEST

/* A receipt posted with token at a place; 201 expected. */
static void
receipt_at(const char *token, const char *code, double lat, double lon)
{
	struct http_resp p;

	ck_assert_msg(call("POST", "/api/v1/receipts", token,
	    json_pack("{s:[s],s:s,s:f,s:f}", "codes", code, "kind", "receive",
	    "lat", lat, "lon", lon), &p) == 201, "receipt: %d %s", p.status,
	    p.body);
	http_free(&p);
}

/* The evidence of the one diversion event of serial in report r. */
static const char *
evidence_of(json_t *r, long long serial)
{
	const char *e = NULL;
	json_t *ev;
	size_t i;

	json_array_foreach(jget(r, "events"), i, ev)
		if (jint(ev, "serial") == serial) {
			ck_assert_msg(e == NULL, "two events of %lld", serial);
			e = jstr(ev, "evidence");
		}
	ck_assert_msg(e != NULL, "no event of %lld", serial);
	return e;
}

/* The alert level of owner in report r (0: no alert). */
static long long
level_of(json_t *r, const char *owner)
{
	json_t *al;
	size_t i;

	json_array_foreach(jget(r, "alerts"), i, al)
		if (jstr(al, "owner") != NULL &&
		    strcmp(jstr(al, "owner"), owner) == 0)
			return jint(al, "level");
	return 0;
}

/*
 * Store evidence is weighed by who gave it: a store in another dealer's
 * tree that names dx's bottle at a place it chooses is kept, but as
 * unverified, and raises no alert; a receipt from the goods' own
 * shipping chain (a store they were shipped to, directly or in their
 * box, or the owner's own store) is store evidence: level 2.
 */
START_TEST(test_chain_receipt_chain)
{
	struct http_resp p;
	struct goods it, bx;
	char tsy[64], tsx[64], tst[64], tdx[64], path[96], day[16];
	time_t now = time(NULL) + 8 * 3600;

	srv_start(open_flags);
	dealer_add("dx", "dealer", NULL, "31");
	dealer_add("sx", "store", "dx", NULL);
	dealer_add("dy", "dealer", NULL, "44");
	dealer_add("sy", "store", "dy", NULL);
	dealer_add("dz", "dealer", NULL, "11");
	dealer_add("st", "store", "dz", NULL);
	token_create(E.db, "dealer", "sy", tsy, sizeof(tsy));
	token_create(E.db, "dealer", "sx", tsx, sizeof(tsx));
	token_create(E.db, "dealer", "st", tst, sizeof(tst));
	token_create(E.db, "dealer", "dx", tdx, sizeof(tdx));
	goods_mint("item", 6, &it);
	goods_mint("box", 1, &bx);
	ship_ok("dx", codes_json(&it, 0, 4));
	/* The attack: sy, never shipped them, "receives" dx's bottle in
	 * Guangzhou, outside dx's Shanghai. */
	receipt_at(tsy, it.codes[0], GUANGZHOU);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM receipts WHERE dealer ="
	    " 'sy'"), 1);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM diversions WHERE owner ="
	    " 'dx' AND evidence = 'unverified' AND serial = %lld",
	    it.serials[0]), 1);
	ck_assert_int_eq(call("GET", "/api/v1/reports/diversion", T.admin, NULL,
	    &p), 200);
	ck_assert_str_eq(evidence_of(p.json, it.serials[0]), "unverified");
	ck_assert_msg(level_of(p.json, "dx") == 0, "a foreign store's receipt "
	    "raised dx's alert: %s", p.body);
	http_free(&p);
	/* Nor in the alerts (their window: through today). */
	strftime(day, sizeof(day), "%Y-%m-%d", gmtime(&now));
	snprintf(path, sizeof(path), "/api/v1/reports/alerts?to=%s", day);
	ck_assert_int_eq(call("GET", path, T.admin, NULL, &p), 200);
	ck_assert_msg(strstr(p.body, "\"diversion\"") == NULL, "alerts: %s",
	    p.body);
	http_free(&p);
	/* A store dx shipped to (and so owns them now): store evidence. */
	ck_assert_int_eq(ship(tdx, "sx", codes_json(&it, 1, 1), &p), 201);
	http_free(&p);
	receipt_at(tsx, it.codes[1], GUANGZHOU);
	/* A store in another tree the goods were shipped to before dx. */
	ship_ok("st", codes_json(&it, 4, 1));
	ship_ok("dx", codes_json(&it, 4, 1));
	receipt_at(tst, it.codes[4], GUANGZHOU);
	/* ... or their box was: the item went in after. */
	ship_ok("st", codes_json(&bx, 0, 1));
	ck_assert_int_eq(pack(bx.codes[0], codes_json(&it, 5, 1), &p), 201);
	http_free(&p);
	ship_ok("dx", codes_json(&bx, 0, 1));
	receipt_at(tst, it.codes[5], GUANGZHOU);
	/* The owner itself; and st on goods it never had. */
	receipt_at(tdx, it.codes[2], GUANGZHOU);
	receipt_at(tst, it.codes[3], GUANGZHOU);
	ck_assert_int_eq(call("GET", "/api/v1/reports/diversion", T.admin, NULL,
	    &p), 200);
	ck_assert_str_eq(evidence_of(p.json, it.serials[1]), "store");
	ck_assert_str_eq(evidence_of(p.json, it.serials[4]), "store");
	ck_assert_str_eq(evidence_of(p.json, it.serials[5]), "store");
	ck_assert_str_eq(evidence_of(p.json, it.serials[2]), "store");
	ck_assert_str_eq(evidence_of(p.json, it.serials[3]), "unverified");
	ck_assert_int_eq(level_of(p.json, "sx"), 2);
	ck_assert_int_eq(level_of(p.json, "dx"), 2);
	ck_assert_int_eq(jint(p.json, "total"), 6);
	http_free(&p);
	goods_free(&it);
	goods_free(&bx);
	srv_stop();
}
END_TEST

/* The planted event matching a reported one, or NULL. */
static json_t *
planted(json_t *plan, json_t *ev, char *used)
{
	json_t *d, *pl = jget(plan, "diversions");
	size_t i;

	json_array_foreach(pl, i, d) {
		if (used[i] || jint(d, "serial") != jint(ev, "serial") ||
		    strcmp(jstr(d, "evidence"), jstr(ev, "evidence")) != 0)
			continue;
		if (jget(d, "scan_id") != NULL &&
		    (jget(ev, "scan_id") == NULL ||
		    jint(d, "scan_id") != jint(ev, "scan_id")))
			continue;
		used[i] = 1;
		return d;
	}
	return NULL;
}

/* GET the diversion report over the plan's window with token. */
static int
report(json_t *plan, const char *token, struct http_resp *p)
{
	char path[160];

	snprintf(path, sizeof(path), "/api/v1/reports/diversion?from=%s&to=%s",
	    jstr(plan, "from"), jstr(plan, "to"));
	return call("GET", path, token, NULL, p);
}

/* Is dealer in the subtree of root, per the plan's tree? */
static int
plan_under(json_t *plan, const char *root, const char *dealer)
{
	json_t *up;
	int depth;

	for (depth = 0; dealer != NULL && depth < 10; depth++) {
		if (strcmp(dealer, root) == 0)
			return 1;
		up = jget(jget(plan, "tree"), dealer);
		dealer = json_string_value(up);
	}
	return 0;
}

/* End to end: the simulator plants events; the report shows exactly them. */
START_TEST(test_chain_diversion)
{
	static const char *const flags[] = { "--ip-rate", "0",
	    "--consumer-rate", "1000", "--alert-level1", "3", NULL };
	struct http_resp p;
	json_t *plan, *ev, *d, *al, *want, *a;
	char *used, path[160];
	const char *owner, *tok, *dbid;
	size_t i, nplanted, nsub;

	srv_start(flags);
	plan = simulate("7", "3");
	nplanted = json_array_size(jget(plan, "diversions"));
	ck_assert_uint_ge(nplanted, 8);
	/* Admin: every planted event, right in every field; nothing else. */
	ck_assert_int_eq(report(plan, T.admin, &p), 200);
	ck_assert_msg(json_is_array(jget(p.json, "events")), "%s", p.body);
	ck_assert_ptr_nonnull(jstr(p.json, "from"));
	ck_assert_ptr_nonnull(jstr(p.json, "to"));
	ck_assert_ptr_nonnull(used = calloc(nplanted + 1, 1));
	json_array_foreach(jget(p.json, "events"), i, ev) {
		ck_assert_msg(jstr(ev, "owner") != NULL &&
		    jstr(ev, "region") != NULL && jstr(ev, "evidence") != NULL &&
		    json_is_integer(jget(ev, "serial")), "an event lacks "
		    "owner, region, evidence or serial: %s", p.body);
		d = planted(plan, ev, used);
		ck_assert_msg(d != NULL, "reported but not planted: %s",
		    json_dumps(ev, JSON_COMPACT));
		ck_assert_msg(strcmp(jstr(ev, "owner"), jstr(d, "owner")) == 0
		    && strcmp(jstr(ev, "region"), jstr(d, "region")) == 0 &&
		    json_is_boolean(jget(ev, "uncertain")) &&
		    json_is_true(jget(ev, "uncertain")) ==
		    json_is_true(jget(d, "uncertain")),
		    "reported %s, planted %s", json_dumps(ev, JSON_COMPACT),
		    json_dumps(d, JSON_COMPACT));
		ck_assert_ptr_nonnull(jstr(ev, "at"));
		ck_assert_msg((jget(ev, "scan_id") != NULL) ==
		    (strcmp(jstr(ev, "evidence"), "consumer") == 0) &&
		    (jget(ev, "receipt_id") != NULL) ==
		    (strcmp(jstr(ev, "evidence"), "store") == 0),
		    "scan_id/receipt_id: %s", json_dumps(ev, JSON_COMPACT));
	}
	for (i = 0; i < nplanted; i++)
		ck_assert_msg(used[i], "planted but not reported: %s",
		    json_dumps(json_array_get(jget(plan, "diversions"), i),
		    JSON_COMPACT));
	free(used);
	ck_assert_uint_eq(json_array_size(jget(p.json, "events")), nplanted);
	ck_assert_int_eq(ndiversions(), (long long)nplanted);
	/* Alerts: the planned level per owner, none where it is 0. */
	json_object_foreach(jget(plan, "alerts"), owner, want) {
		al = NULL;
		json_array_foreach(jget(p.json, "alerts"), i, a)
			if (jstr(a, "owner") != NULL &&
			    strcmp(jstr(a, "owner"), owner) == 0)
				al = a;
		if (jint(want, "level") == 0) {
			ck_assert_msg(al == NULL, "alert for %s: %s", owner,
			    p.body);
			continue;
		}
		ck_assert_msg(al != NULL, "no alert for %s: %s", owner, p.body);
		ck_assert_msg(jint(al, "level") == jint(want, "level"),
		    "alert level of %s: %lld, want %lld", owner,
		    jint(al, "level"), jint(want, "level"));
		ck_assert_int_eq(jint(al, "consumer_events"),
		    jint(want, "consumer_events"));
		ck_assert_int_eq(jint(al, "store_events"),
		    jint(want, "store_events"));
		ck_assert_int_eq(jint(al, "count"),
		    jint(want, "consumer_events") + jint(want, "store_events"));
		ck_assert(json_is_object(jget(al, "window")));
	}
	http_free(&p);
	/* A dealer's token: its subtree only. */
	json_object_foreach(jget(plan, "tokens"), dbid, a) {
		tok = json_string_value(a);
		ck_assert_int_eq(report(plan, tok, &p), 200);
		nsub = 0;
		json_array_foreach(jget(plan, "diversions"), i, d)
			nsub += plan_under(plan, dbid, jstr(d, "owner"));
		json_array_foreach(jget(p.json, "events"), i, ev)
			ck_assert_msg(plan_under(plan, dbid, jstr(ev, "owner")),
			    "%s sees an event of %s", dbid, jstr(ev, "owner"));
		ck_assert_msg(json_array_size(jget(p.json, "events")) == nsub,
		    "%s sees %zu events, want %zu", dbid,
		    json_array_size(jget(p.json, "events")), nsub);
		json_array_foreach(jget(p.json, "alerts"), i, a)
			ck_assert(plan_under(plan, dbid, jstr(a, "owner")));
		http_free(&p);
	}
	/* ops may not; bad windows are 400. */
	report(plan, T.ops, &p);
	assert_error(&p, 403, "ops reads the diversion report");
	http_free(&p);
	call("GET", "/api/v1/reports/diversion", NULL, NULL, &p);
	assert_error(&p, 401, "report without a token");
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/reports/diversion?from=%s&to=%s",
	    jstr(plan, "to"), jstr(plan, "from"));
	call("GET", path, T.admin, NULL, &p);
	assert_error(&p, 400, "from after to");
	http_free(&p);
	call("GET", "/api/v1/reports/diversion?from=2026-13-01", T.admin, NULL,
	    &p);
	assert_error(&p, 400, "a bad date");
	http_free(&p);
	/* A window with none of it: nothing. */
	ck_assert_int_eq(call("GET", "/api/v1/reports/diversion?"
	    "from=2000-01-01&to=2000-01-31", T.admin, NULL, &p), 200);
	ck_assert_uint_eq(json_array_size(jget(p.json, "events")), 0);
	ck_assert_uint_eq(json_array_size(jget(p.json, "alerts")), 0);
	http_free(&p);
	json_decref(plan);
	srv_stop();
}
END_TEST

/* Channel bindings that must be refused, and change nothing. */
static const struct {
	int		 item;		/* bind an item code, not a channel */
	const char	*dealer, *type;
	int		 ops;		/* with the ops token */
	int		 status;
	const char	*what;
} bad_binds[] = {
	{ 1, "ch-d", "staff", 0, 400, "an item code as a channel" },
	{ 0, "nobody", "store", 0, 400, "a channel of an unknown dealer" },
	{ 0, "ch-d", "kiosk", 0, 400, "a channel of an unknown type" },
	{ 0, "ch-d", "store", 1, 403, "ops binds a channel" },
};

/* A campaign of 5 points for a genuine scan of an item of GTIN. */
static void
campaign_points(void)
{
	struct http_resp p;

	ck_assert_msg(call("POST", "/api/v1/admin/campaigns", T.admin,
	    json_pack("{s:s,s:s,s:s,s:s,s:[s],s:i}", "name", "points", "start",
	    "2026-01-01T00:00:00Z", "end", "2030-01-01T00:00:00Z", "claim_kind",
	    "item", "gtins", GTIN, "points", 5), &p) == 201, "%s", p.body);
	http_free(&p);
}

/*
 * Digital Link items and boxes go the chain's way as /C/ ones do: a DL
 * box packs DL items and ships to a dealer, the items' traces (by their
 * DL paths) name it, one scanned outside the territory is diversion and
 * claims its points, the report counts it under its GTIN, and the box
 * unpacks by its DL path.
 */
START_TEST(test_chain_digital_link)
{
	static const char *const dl[] = { "--format", "dl", "--gtin", GTIN,
	    NULL };
	struct goods it, box;
	struct http_resp p;
	char path[200];
	const char *dlp;
	json_t *kids;
	int i;

	srv_start(open_flags);
	dealer_add("SH", "distributor", NULL, "31");
	goods_mint_with("item", 4, dl, &it);
	goods_mint_with("box", 1, dl, &box);
	ck_assert_ptr_nonnull(strstr(it.urls[0], "/01/" GTIN "/21/"));
	kids = json_array();
	for (i = 0; i < 3; i++)
		json_array_append_new(kids, json_string(it.urls[i]));
	ck_assert_msg(pack(box.urls[0], kids, &p) == 201, "%s", p.body);
	http_free(&p);
	ship_ok("SH", json_pack("[s]", box.urls[0]));
	for (i = 0; i < 3; i++)
		assert_owner(strstr(it.urls[i], "/01/") + 1, "SH");
	assert_owner(strstr(it.urls[3], "/01/") + 1, NULL);
	campaign_points();
	ck_assert_int_eq(scan_at(it.urls[0], NULL, GUANGZHOU, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	ck_assert_int_eq(jint(p.json, "reward.points"), 5);
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM diversions WHERE owner"
	    " = 'SH' AND serial = %lld", it.serials[0]), 1);
	ck_assert_int_eq(call("GET", "/api/v1/reports/scans?by=sku", T.admin,
	    NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "rows.0.sku"), GTIN);
	ck_assert_int_eq(jint(p.json, "rows.0.scans"), 1);
	http_free(&p);
	dlp = strstr(box.urls[0], "/01/");
	snprintf(path, sizeof(path), "/api/v1/packs%s", dlp);
	ck_assert_int_eq(call("DELETE", path, T.ops, NULL, &p), 200);
	http_free(&p);
	snprintf(path, sizeof(path), "/api/v1/codes%s/trace",
	    strstr(it.urls[1], "/01/"));
	ck_assert_int_eq(call("GET", path, T.ops, NULL, &p), 200);
	ck_assert_int_eq(json_array_size(jget(p.json, "parents")), 0);
	http_free(&p);
	goods_free(&it);
	goods_free(&box);
	srv_stop();
}
END_TEST

START_TEST(test_chain_channels)
{
	static const char *const flags[] = { "--ip-rate", "0",
	    "--consumer-rate", "1000", "--channel-days", "1", NULL };
	struct http_resp p;
	struct timeval tv;
	char cid[80];
	long long now, until, id;
	json_t *o;
	size_t i;

	srv_start(flags);
	dealer_add("ch-d", "dealer", NULL, "31");
	/* Bind: a channel code to a known dealer, by an admin. */
	o = json_pack("{s:s,s:s,s:s,s:s}", "code", T.ch.codes[0], "dealer",
	    "ch-d", "type", "staff", "name", "Wang Wei");
	ck_assert_msg(call("POST", "/api/v1/admin/channels", T.admin, o, &p) ==
	    201, "bind: %d %s", p.status, p.body);
	ck_assert_int_eq(jint(p.json, "serial"), T.ch.serials[0]);
	http_free(&p);
	for (i = 0; i < sizeof(bad_binds) / sizeof(bad_binds[0]); i++) {
		o = json_pack("{s:s,s:s,s:s,s:s}", "code",
		    bad_binds[i].item ? T.b1.codes[0] : T.ch.codes[1],
		    "dealer", bad_binds[i].dealer, "type", bad_binds[i].type,
		    "name", "x");
		call("POST", "/api/v1/admin/channels",
		    bad_binds[i].ops ? T.ops : T.admin, o, &p);
		assert_error(&p, bad_binds[i].status, bad_binds[i].what);
		http_free(&p);
	}
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM channels"), 1);
	/* Scanning it: verdict channel, the channel, the consumer bound. */
	ck_assert_int_eq(scan(T.ch.codes[0], NULL, &p), 200);
	gettimeofday(&tv, NULL);
	now = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "channel");
	ck_assert_pstr_eq(jstr(p.json, "channel.type"), "staff");
	ck_assert_pstr_eq(jstr(p.json, "channel.name"), "Wang Wei");
	ck_assert_pstr_eq(jstr(p.json, "channel.dealer"), "ch-d");
	ck_assert_ptr_nonnull(jstr(p.json, "consumer"));
	snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
	http_free(&p);
	until = db_int("SELECT until FROM consumer_channels WHERE channel = "
	    "%lld", T.ch.serials[0]);
	ck_assert_msg(llabs(until - (now + 86400000LL)) < 60000,
	    "bound until %lld, want about now + 1 day (%lld)", until,
	    now + 86400000LL);
	/* The consumer's later scans carry the channel. */
	ck_assert_int_eq(scan(T.b1.codes[3], cid, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	ck_assert_pstr_eq(jstr(p.json, "channel.type"), "staff");
	ck_assert_pstr_eq(jstr(p.json, "channel.name"), "Wang Wei");
	ck_assert_pstr_eq(jstr(p.json, "channel.dealer"), "ch-d");
	id = jint(p.json, "scan_id");
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT channel FROM scans WHERE id = %lld",
	    id), T.ch.serials[0]);
	/* Someone else's do not. */
	ck_assert_int_eq(scan(T.b1.codes[4], NULL, &p), 200);
	ck_assert_ptr_null(jget(p.json, "channel"));
	id = jint(p.json, "scan_id");
	http_free(&p);
	ck_assert_int_eq(db_int("SELECT COUNT(*) FROM scans WHERE id = %lld "
	    "AND channel IS NULL", id), 1);
	/* An unbound channel code: verdict channel, no channel. */
	ck_assert_int_eq(scan(T.ch.codes[2], NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "channel");
	ck_assert_ptr_null(jget(p.json, "channel"));
	http_free(&p);
	/* Scanned again, still a channel (never "repeat"). */
	ck_assert_int_eq(scan(T.ch.codes[0], cid, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "channel");
	http_free(&p);
	srv_stop();
}
END_TEST

/* ---- 8. keys rotated while the service runs ---- */

/* Rotates T.kr with the real yima-codegen; returns the new key id. */
static unsigned
rotate(void)
{
	char *out, *err;
	unsigned id = 0;
	int rc;

	rc = run(tu_codegen(), &out, &err, "keygen", "--keyring", T.kr,
	    "--rotate", (char *)NULL);
	ck_assert_msg(rc == 0, "keygen --rotate exited %d: %s", rc, err);
	ck_assert_msg(sscanf(out, "added key %u", &id) == 1, "%s", out);
	free(out);
	free(err);
	return id;
}

/* POSTs dir/manifest.json to /api/v1/batches as admin; the status. */
static int
import_post(const char *dir, struct http_resp *p)
{
	char *path, *body;
	int st;

	path = tu_path(dir, "manifest.json");
	ck_assert_ptr_nonnull(body = tu_read_file(path, NULL));
	st = post("/api/v1/batches", T.admin, body, p);
	free(body);
	free(path);
	return st;
}

/* One /metrics value (-1 when absent). */
static double
metric_now(const char *name)
{
	struct http_resp p;
	double v;

	ck_assert_int_eq(get("/metrics", NULL, &p), 200);
	v = metric(p.body, name);
	http_free(&p);
	return v;
}

/* Waits (10 s at most) until metric name reaches at least want. */
static void
metric_wait(const char *name, double want)
{
	int i;

	for (i = 0; i < 1000 && metric_now(name) < want; i++)
		msleep(10);
	ck_assert_msg(metric_now(name) >= want, "%s stayed at %g, not %g",
	    name, metric_now(name), want);
}

/*
 * /metrics counts the store's statements: a first scan of a fresh code
 * costs some, and the next fresh code of the same batch exactly as many
 * (after one scan that loads the campaigns; nothing else runs meanwhile).
 */
START_TEST(test_statements_metric)
{
	struct http_resp p;
	double s0, s1, s2;

	srv_start(open_flags);
	ck_assert_int_eq(scan(T.b1.codes[2], NULL, &p), 200);
	http_free(&p);
	s0 = metric_now("yima_store_statements_total");
	ck_assert_double_gt(s0, 0);
	ck_assert_int_eq(scan(T.b1.codes[0], NULL, &p), 200);
	http_free(&p);
	s1 = metric_now("yima_store_statements_total");
	ck_assert_int_eq(scan(T.b1.codes[1], NULL, &p), 200);
	http_free(&p);
	s2 = metric_now("yima_store_statements_total");
	ck_assert_double_gt(s1 - s0, 2);
	ck_assert_msg(s2 - s1 == s1 - s0, "first scans cost %g and %g "
	    "statements", s1 - s0, s2 - s1);
	srv_stop();
}
END_TEST

/* The verdict of GET /api/v1/codes/{code}, copied into out. */
static void
peek(const char *code, char *out, size_t len)
{
	struct http_resp p;
	char path[256];

	snprintf(path, sizeof(path), "/api/v1/codes/%s", code);
	ck_assert_int_eq(get(path, NULL, &p), 200);
	ck_assert_ptr_nonnull(jstr(p.json, "verdict"));
	snprintf(out, len, "%s", jstr(p.json, "verdict"));
	http_free(&p);
}

/* The key files' hex must never reach the log. */
static void
assert_log_has_no_keys(void)
{
	char *log, *kpath, *key, name[32];
	unsigned id;

	ck_assert_ptr_nonnull(log = tu_read_file(E.log, NULL));
	for (id = 0; id < YIMA_KEY_IDS; id++) {
		snprintf(name, sizeof(name), "keys/%u.key", id);
		kpath = tu_path(T.kr, name);
		if ((key = tu_read_file(kpath, NULL)) != NULL) {
			key[64] = '\0';
			ck_assert_msg(strstr(log, key) == NULL,
			    "key %u is in the log", id);
			free(key);
		}
		free(kpath);
	}
	free(log);
}

/* A batch minted with a key rotated after the start imports and scans. */
START_TEST(test_rotate_import)
{
	struct batch b;
	struct http_resp p;
	char *dir, *log;
	unsigned id;

	srv_start(open_flags);
	ck_assert_double_eq(metric_now("yima_keyring_keys"), 1);
	id = rotate();
	ck_assert_uint_gt(id, 1);
	dir = mint(T.kr, E.dir, "rotated", "item", 4, NULL, &b);
	ck_assert_msg(import_post(dir, &p) == 201, "import: %d %s", p.status,
	    p.body);
	http_free(&p);
	ck_assert_int_eq(scan(b.codes[0], NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	ck_assert_pstr_eq(jstr(p.json, "product.batch"), b.id);
	http_free(&p);
	/* One reload, by the import; the scan found the key loaded. */
	ck_assert_double_eq(metric_now("yima_keyring_reloads_total"), 1);
	ck_assert_double_eq(metric_now("yima_keyring_keys"), 2);
	ck_assert_double_eq(metric_now("yima_keyring_reload_errors_total"),
	    0);
	/* Codes of the first key still verify. */
	ck_assert_int_eq(scan(T.b1.codes[0], NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	http_free(&p);
	srv_stop();
	ck_assert_ptr_nonnull(log = tu_read_file(E.log, NULL));
	ck_assert_msg(strstr(log, "\"event\":\"keyring_reload\"") != NULL &&
	    strstr(log, "2 keys, 1 new") != NULL, "%s", log);
	free(log);
	assert_log_has_no_keys();
	free(b.dir);
	free(dir);
}
END_TEST

/*
 * A consumer's signed id outlives a rotation and a restart: it is signed
 * with a key derived from the keyring's first key, which never changes,
 * not from the active one (which would forfeit every consumer's points).
 */
START_TEST(test_rotate_consumer)
{
	struct yima_mac *mac, *legacy;
	struct yima_keyring *kr;
	struct http_resp p;
	char cid[64], old[64], why[256];

	srv_start(open_flags);
	ck_assert_int_eq(scan(T.b1.codes[9], NULL, &p), 200);
	snprintf(cid, sizeof(cid), "%s", jstr(p.json, "consumer"));
	http_free(&p);
	srv_stop();
	rotate();
	/* An id the way earlier versions signed it: from the active key. */
	ck_assert_msg(yima_keyring_open(T.kr, &kr, why) == 0, "%s", why);
	ck_assert_int_eq(api_consumer_key(kr, "consumer", &mac, &legacy), 0);
	ck_assert_ptr_nonnull(legacy);
	ck_assert_int_eq(api_consumer_new(legacy, old), 0);
	yima_mac_free(mac);
	yima_mac_free(legacy);
	yima_keyring_free(kr);
	srv_start(open_flags);
	ck_assert_int_eq(scan(T.b1.codes[9], cid, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "consumer"), cid);
	http_free(&p);
	ck_assert_int_eq(scan(T.b1.codes[10], old, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "consumer"), old);
	http_free(&p);
	srv_stop();
}
END_TEST

/* SIGHUP reloads; a keyring gone loose is refused and the keys kept. */
START_TEST(test_rotate_sighup)
{
	struct batch b, c;
	char v[32], *dir, *dir2, *kpath, name[32];
	unsigned id;

	srv_start(open_flags);
	id = rotate();
	dir = mint(T.kr, E.dir, "hup", "item", 4, NULL, &b);
	ck_assert_int_eq(kill(E.pid, SIGHUP), 0);
	metric_wait("yima_keyring_reloads_total", 1);
	ck_assert_double_eq(metric_now("yima_keyring_keys"), id);
	/* Signed with a known key, in no imported batch: unregistered. */
	peek(b.codes[0], v, sizeof(v));
	ck_assert_str_eq(v, "unregistered");
	ck_assert_double_eq(metric_now("yima_keyring_reloads_total"), 1);

	/* A key file readable by others: the reload keeps the old keys. */
	id = rotate();
	dir2 = mint(T.kr, E.dir, "hup2", "item", 4, NULL, &c);
	snprintf(name, sizeof(name), "keys/%u.key", id);
	kpath = tu_path(T.kr, name);
	ck_assert_int_eq(chmod(kpath, 0644), 0);
	ck_assert_int_eq(kill(E.pid, SIGHUP), 0);
	metric_wait("yima_keyring_reload_errors_total", 1);
	ck_assert_double_eq(metric_now("yima_keyring_keys"), id - 1);
	peek(c.codes[0], v, sizeof(v));
	ck_assert_str_eq(v, "invalid");
	peek(b.codes[0], v, sizeof(v));
	ck_assert_str_eq(v, "unregistered");
	peek(T.b1.codes[0], v, sizeof(v));
	ck_assert_str_eq(v, "genuine");
	/* Put right, the next SIGHUP takes the key. */
	ck_assert_int_eq(chmod(kpath, 0600), 0);
	ck_assert_int_eq(kill(E.pid, SIGHUP), 0);
	metric_wait("yima_keyring_keys", id);
	peek(c.codes[0], v, sizeof(v));
	ck_assert_str_eq(v, "unregistered");
	srv_stop();
	assert_log_has_no_keys();
	free(kpath);
	free(b.dir);
	free(c.dir);
	free(dir);
	free(dir2);
}
END_TEST

/* A well-formed code signed with key id, a key T.kr does not have. */
static void
forge(unsigned id, uint64_t serial, char out[YIMA_CODE_LEN + 1])
{
	uint8_t key[YIMA_KEY_LEN];
	struct yima_mac *mac;

	memset(key, 0x5a, sizeof(key));
	ck_assert_int_eq(yima_mac_new(key, sizeof(key), &mac), 0);
	yima_code_make(mac, YIMA_KIND_ITEM, id, serial, out);
	yima_mac_free(mac);
}

/* An unknown key stays invalid, and a flood reloads at most once a second. */
START_TEST(test_unknown_key_flood)
{
	struct http_resp p;
	char code[YIMA_CODE_LEN + 1], path[256];
	double t0, reloads;
	int i;

	srv_start(open_flags);
	t0 = mono_s();
	for (i = 0; i < 200; i++) {
		forge(200 + (unsigned)i % 50, (uint64_t)i + 1, code);
		ck_assert_int_eq(scan(code, NULL, &p), 200);
		ck_assert_pstr_eq(jstr(p.json, "verdict"), "invalid");
		ck_assert_msg(strstr(jstr(p.json, "reason"), "unknown key id") !=
		    NULL, "reason: %s", jstr(p.json, "reason"));
		http_free(&p);
	}
	snprintf(path, sizeof(path), "/api/v1/codes/%s", code);
	ck_assert_int_eq(get(path, NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "invalid");
	ck_assert_pstr_eq(jstr(p.json, "reason"), "unknown key id 249");
	http_free(&p);
	reloads = metric_now("yima_keyring_reloads_total");
	ck_assert_double_ge(reloads, 1);
	ck_assert_msg(reloads <= (int)(mono_s() - t0) + 1,
	    "%g reloads in %.1f s", reloads, mono_s() - t0);
	ck_assert_double_eq(metric_now("yima_scans_total{verdict=\"invalid\"}"),
	    200);
	srv_stop();
}
END_TEST

struct hup_loader {
	int		 port;
	_Atomic int	*stop;
	int		 scans, bad;
	char		 what[160];
};

static const char *_Atomic hup_new;	/* a new key's code, once minted */

static void *
hup_load_run(void *arg)
{
	struct hup_loader *l = arg;
	struct http_req q = { "POST", "/api/v1/scans", "application/json",
	    NULL, NULL, NULL, 0 };
	struct http_resp p;
	const char *code, *v;
	char body[128];
	int i = 0;

	while (!atomic_load(l->stop)) {
		code = (i++ % 2 && atomic_load(&hup_new) != NULL) ?
		    atomic_load(&hup_new) : T.b1.codes[i % NB1];
		snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
		q.body = body;
		http(l->port, &q, &p);
		v = json_string_value(json_object_get(p.json, "verdict"));
		l->scans++;
		if (p.status != 200 || v == NULL ||
		    strcmp(v, "invalid") == 0) {
			if (l->bad++ == 0)
				snprintf(l->what, sizeof(l->what),
				    "%s: %d %.100s", code, p.status,
				    p.body != NULL ? p.body : "");
		}
		http_free(&p);
	}
	return NULL;
}

/* Rotation, scans of the new key, import and SIGHUP under a scan load. */
START_TEST(test_rotate_under_load)
{
	struct hup_loader l[3];
	pthread_t th[3];
	_Atomic int stop = 0;
	struct batch b;
	struct http_resp p;
	char *dir;
	int i;

	srv_start(open_flags);
	atomic_store(&hup_new, NULL);
	for (i = 0; i < 3; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].port = E.port;
		l[i].stop = &stop;
		ck_assert_int_eq(pthread_create(&th[i], NULL, hup_load_run, &l[i]),
		    0);
	}
	msleep(200);
	rotate();
	dir = mint(T.kr, E.dir, "load", "item", 4, NULL, &b);
	/* Scanned by the threads at once: the first reload serves all. */
	atomic_store(&hup_new, b.codes[0]);
	msleep(300);
	ck_assert_msg(import_post(dir, &p) == 201, "import: %d %s", p.status,
	    p.body);
	http_free(&p);
	rotate();
	ck_assert_int_eq(kill(E.pid, SIGHUP), 0);
	metric_wait("yima_keyring_reloads_total", 2);
	msleep(300);
	atomic_store(&stop, 1);
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(l[i].bad == 0, "loader %d: %d bad of %d, first %s",
		    i, l[i].bad, l[i].scans, l[i].what);
		ck_assert_int_gt(l[i].scans, 0);
	}
	ck_assert_int_eq(scan(b.codes[1], NULL, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	http_free(&p);
	ck_assert_double_eq(metric_now("yima_scans_total{verdict=\"invalid\"}"),
	    0);
	srv_stop();
	free(b.dir);
	free(dir);
}
END_TEST

static TCase *
tcase(const char *name)
{
	return srv_tcase(name, 120);
}

Suite *scanapi_suite(void);

Suite *
scanapi_suite(void)
{
	Suite *s = suite_create("scanapi");
	TCase *tc;

	tc = tcase("scans");
	tcase_add_test(tc, test_verdicts);
	tcase_add_test(tc, test_first_scan_place);
	tcase_add_test(tc, test_scan_digital_link);
	tcase_add_test(tc, test_scan_region);
	tcase_add_test(tc, test_codes_peek);
	tcase_add_test(tc, test_consumer_ids);
	tcase_add_test(tc, test_suspect_defaults);
	tcase_add_test(tc, test_suspect_flags);
	suite_add_tcase(s, tc);

	tc = tcase("rejects");
	tcase_add_loop_test(tc, test_bad_request, 0,
	    (int)(sizeof(bad_reqs) / sizeof(bad_reqs[0])));
	tcase_add_test(tc, test_limits_allowed);
	suite_add_tcase(s, tc);

	tc = tcase("admin");
	tcase_add_test(tc, test_batches);
	tcase_add_test(tc, test_revocations);
	tcase_add_test(tc, test_tokens);
	suite_add_tcase(s, tc);

	tc = tcase("web");
	tcase_add_test(tc, test_landing);
	tcase_add_test(tc, test_landing_browser);
	tcase_add_test(tc, test_health_metrics);
	tcase_add_test(tc, test_statements_metric);
	suite_add_tcase(s, tc);

	tc = tcase("limits");
	tcase_add_test(tc, test_ip_rate);
	tcase_add_test(tc, test_threads_max);
	tcase_add_test(tc, test_consumer_rate);
	tcase_add_test(tc, test_idle_clients);
	tcase_add_test(tc, test_slow_clients);
	suite_add_tcase(s, tc);

	tc = tcase("ops");
	tcase_add_test(tc, test_log);
	tcase_add_test(tc, test_sigterm);
	tcase_add_test(tc, test_sigterm_queued);
	tcase_add_test(tc, test_bulk_needs_token_first);
	tcase_add_test(tc, test_db_private);
	suite_add_tcase(s, tc);

	tc = tcase("chain");
	tcase_add_test(tc, test_chain_dealers);
	tcase_add_test(tc, test_chain_packs);
	tcase_add_test(tc, test_chain_pack_max);
	tcase_add_test(tc, test_chain_ship_sparse);
	tcase_add_test(tc, test_chain_shipments);
	tcase_add_test(tc, test_chain_owner_via_parent);
	tcase_add_test(tc, test_chain_inherit);
	tcase_add_test(tc, test_chain_province_code);
	tcase_add_test(tc, test_chain_big_territory);
	tcase_add_test(tc, test_chain_no_leak);
	tcase_add_test(tc, test_chain_diversion);
	tcase_add_test(tc, test_chain_digital_link);
	tcase_add_test(tc, test_chain_receipt_chain);
	tcase_add_test(tc, test_chain_channels);
	suite_add_tcase(s, tc);

	tc = tcase("load");
	tcase_add_test(tc, test_race);
	tcase_add_test(tc, test_kill9);
	suite_add_tcase(s, tc);

	/* These rotate the case's keyring. */
	tc = tcase("keyring");
	tcase_add_test(tc, test_rotate_import);
	tcase_add_test(tc, test_rotate_sighup);
	tcase_add_test(tc, test_rotate_consumer);
	tcase_add_test(tc, test_unknown_key_flood);
	tcase_add_test(tc, test_rotate_under_load);
	suite_add_tcase(s, tc);
	return s;
}
