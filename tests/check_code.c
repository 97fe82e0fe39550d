/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the code format: base32, vectors, tamper, URLs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/rand.h>

#include "yima/code.h"
#include "yima/dl.h"
#include "yima/err.h"
#include "yima/gs1.h"
#include "yima/keyring.h"

#include "../codegen/alloc-private.h"
#include "testutil.h"

Suite *code_suite(void);

struct vector {
	uint8_t		key[32];
	unsigned	key_id;
	int		kind;
	uint64_t	serial;
	char		code[32];
};

static int
unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* Loads tests/data/code_vectors.txt; returns the number of vectors. */
static size_t
load_vectors(struct vector *v, size_t max)
{
	char *path = tu_data("code_vectors.txt"), line[256], hex[80];
	unsigned long long serial;
	FILE *f;
	size_t n = 0;

	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL && n < max) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		ck_assert_int_eq(sscanf(line, "%64s %u %d %llu %31s", hex,
		    &v[n].key_id, &v[n].kind, &serial, v[n].code), 5);
		ck_assert_int_eq(unhex(hex, v[n].key, 32), 0);
		v[n].serial = serial;
		n++;
	}
	fclose(f);
	free(path);
	return n;
}

static struct yima_keyring *
keyring_with(const uint8_t *key, unsigned id)
{
	struct yima_keyring *kr;

	ck_assert_int_eq(yima_keyring_new(&kr), 0);
	ck_assert_int_eq(yima_keyring_add(kr, id, key), 0);
	return kr;
}

START_TEST(vectors_mint_and_verify)
{
	struct vector v[32];
	struct yima_keyring *kr;
	struct yima_code c;
	char code[YIMA_CODE_LEN + 1], why[YIMA_WHY_MAX];
	size_t n, i;

	n = load_vectors(v, 32);
	ck_assert_uint_ge(n, 8);
	for (i = 0; i < n; i++) {
		kr = keyring_with(v[i].key, v[i].key_id);
		yima_code_make(yima_keyring_mac(kr, v[i].key_id),
		    (enum yima_kind)v[i].kind, v[i].key_id, v[i].serial, code);
		ck_assert_str_eq(code, v[i].code);
		ck_assert_int_eq(yima_code_verify(kr, v[i].code, 24, &c, why),
		    0);
		ck_assert_uint_eq(c.serial, v[i].serial);
		ck_assert_int_eq(c.kind, v[i].kind);
		ck_assert_uint_eq(c.key_id, v[i].key_id);
		yima_keyring_free(kr);
	}
}
END_TEST

START_TEST(base32_roundtrip_and_aliases)
{
	uint8_t in[YIMA_PAYLOAD_LEN], out[YIMA_PAYLOAD_LEN];
	char s[YIMA_CODE_LEN + 1], alias[YIMA_CODE_LEN + 1];
	int i, j;

	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(RAND_bytes(in, sizeof(in)), 1);
		yima_base32_encode(in, s);
		ck_assert_uint_eq(strlen(s), 24);
		ck_assert_uint_eq(strspn(s, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"),
		    24);
		ck_assert_int_eq(yima_base32_decode(s, 24, out, NULL), 0);
		ck_assert_mem_eq(in, out, sizeof(in));
		/* Lower case, and I/L for 1 and O for 0, decode the same. */
		for (j = 0; j < 24; j++) {
			alias[j] = s[j] >= 'A' ? (char)(s[j] + 32) : s[j];
			if (s[j] == '1')
				alias[j] = (j % 2) ? 'I' : 'l';
			if (s[j] == '0')
				alias[j] = (j % 2) ? 'O' : 'o';
		}
		alias[24] = '\0';
		ck_assert_int_eq(yima_base32_decode(alias, 24, out, NULL), 0);
		ck_assert_mem_eq(in, out, sizeof(in));
	}
	/* All zero bits and all one bits. */
	memset(in, 0, sizeof(in));
	yima_base32_encode(in, s);
	ck_assert_str_eq(s, "000000000000000000000000");
	memset(in, 0xff, sizeof(in));
	yima_base32_encode(in, s);
	ck_assert_str_eq(s, "ZZZZZZZZZZZZZZZZZZZZZZZZ");
}
END_TEST

START_TEST(base32_rejects)
{
	uint8_t out[YIMA_PAYLOAD_LEN];
	char why[YIMA_WHY_MAX];
	const char *ok = "240G0000000026583TQRWDHR";
	char s[32];
	const char bad[] = "U-_ *#\x80\xff";
	size_t i;

	ck_assert_int_eq(yima_base32_decode(ok, 23, out, why), YIMA_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "length"));
	ck_assert_int_eq(yima_base32_decode(ok, 0, out, why), YIMA_EINVAL);
	for (i = 0; i < sizeof(bad) - 1; i++) {
		strcpy(s, ok);
		s[5] = bad[i];
		ck_assert_int_eq(yima_base32_decode(s, 24, out, why),
		    YIMA_EINVAL);
		ck_assert_ptr_nonnull(strstr(why, "position 6"));
	}
	memcpy(s, ok, 24);
	s[3] = '\0';
	ck_assert_int_eq(yima_base32_decode(s, 24, out, why), YIMA_EINVAL);
}
END_TEST

/* Every substitution of one character by another alphabet character. */
START_TEST(single_character_changes_are_invalid)
{
	static const char alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	struct vector v[32];
	struct yima_keyring *kr;
	char s[YIMA_CODE_LEN + 1];
	size_t n, i, pos, a, tried = 0;

	n = load_vectors(v, 32);
	for (i = 0; i < n; i++) {
		kr = keyring_with(v[i].key, v[i].key_id);
		for (pos = 0; pos < 24; pos++) {
			for (a = 0; a < 32; a++) {
				if (alpha[a] == v[i].code[pos])
					continue;
				strcpy(s, v[i].code);
				s[pos] = alpha[a];
				ck_assert_msg(yima_code_verify(kr, s, 24, NULL,
				    NULL) != 0, "%s accepted", s);
				tried++;
			}
		}
		yima_keyring_free(kr);
	}
	ck_assert_uint_eq(tried, n * 24 * 31);
}
END_TEST

START_TEST(wrong_key_kind_version)
{
	uint8_t key[32], key2[32], p[YIMA_PAYLOAD_LEN];
	struct yima_keyring *kr;
	struct yima_code c;
	char code[YIMA_CODE_LEN + 1], s[YIMA_CODE_LEN + 1];
	char why[YIMA_WHY_MAX];

	memset(key, 7, sizeof(key));
	memset(key2, 9, sizeof(key2));
	kr = keyring_with(key, 3);
	ck_assert_int_eq(yima_keyring_add(kr, 4, key2), 0);
	yima_code_make(yima_keyring_mac(kr, 3), YIMA_KIND_BOX, 3, 99, code);
	ck_assert_int_eq(yima_code_verify(kr, code, 24, &c, why), 0);
	ck_assert_int_eq(yima_base32_decode(code, 24, p, NULL), 0);
	ck_assert_int_eq(yima_code_unpack(p, &c, NULL), 0);

	/* Unknown key id: invalid, and said so. */
	c.key_id = 5;
	yima_code_pack(&c, p);
	yima_base32_encode(p, s);
	ck_assert_int_eq(yima_code_verify(kr, s, 24, NULL, why), YIMA_ENOKEY);
	ck_assert_ptr_nonnull(strstr(why, "key id 5"));
	/* Another known key id with the old tag: tag mismatch. */
	c.key_id = 4;
	yima_code_pack(&c, p);
	yima_base32_encode(p, s);
	ck_assert_int_eq(yima_code_verify(kr, s, 24, NULL, why), YIMA_EBADTAG);
	/* Another valid kind with the old tag: tag mismatch. */
	c.key_id = 3;
	c.kind = YIMA_KIND_PALLET;
	yima_code_pack(&c, p);
	yima_base32_encode(p, s);
	ck_assert_int_eq(yima_code_verify(kr, s, 24, NULL, why), YIMA_EBADTAG);
	/* Kinds 0 and 6-15 and versions other than 1 are malformed. */
	ck_assert_int_eq(yima_base32_decode(code, 24, p, NULL), 0);
	p[0] = 0x16;
	yima_base32_encode(p, s);
	ck_assert_int_eq(yima_code_verify(kr, s, 24, NULL, why), YIMA_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "kind"));
	p[0] = 0x10;
	yima_base32_encode(p, s);
	ck_assert_int_eq(yima_code_verify(kr, s, 24, NULL, why), YIMA_EINVAL);
	p[0] = 0x23;
	yima_base32_encode(p, s);
	ck_assert_int_eq(yima_code_verify(kr, s, 24, NULL, why), YIMA_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "version"));
	/* A code signed with a different secret under the same id. */
	yima_keyring_free(kr);
	kr = keyring_with(key2, 3);
	ck_assert_int_eq(yima_code_verify(kr, code, 24, NULL, why),
	    YIMA_EBADTAG);
	yima_keyring_free(kr);
}
END_TEST

/* Writes pattern to out with every "%s" replaced by code. */
static void
subst(char *out, size_t outlen, const char *pattern, const char *code)
{
	size_t n = 0, cl = strlen(code);

	while (*pattern != '\0' && n + cl + 1 < outlen) {
		if (pattern[0] == '%' && pattern[1] == 's') {
			memcpy(out + n, code, cl);
			n += cl;
			pattern += 2;
		} else
			out[n++] = *pattern++;
	}
	out[n] = '\0';
}

START_TEST(url_forms)
{
	struct yima_keyring *kr;
	struct yima_code c;
	uint8_t key[32];
	char code[YIMA_CODE_LEN + 1], lower[YIMA_CODE_LEN + 1];
	char text[512], why[YIMA_WHY_MAX];
	size_t i;
	/* %s is the code; these are all accepted. */
	static const char *good[] = {
		"%s", "  %s\n", "\t%s\r\n", "HTTPS://YIMA.EXAMPLE/C/%s",
		"https://yima.example/c/%s", "http://127.0.0.1:8080/C/%s",
		" https://x/C/%s ", "HtTpS://Sub.Yima-1.example/C/%s",
	};
	/* And these are not. */
	static const char *bad[] = {
		"", "   ", "%s/", "https://x/C/%s/", "https://x/D/%s",
		"https:///C/%s", "ftp://x/C/%s", "https://x/C/%s?a=1",
		"https://a b/C/%s", "https://x/C//%s", "https://x/%s",
		"https://x/C/%sZ", "X%s", "https://x/C/", "https://",
		"https://x@y/C/%s", "%s %s", "https://x/C/%s#f",
	};

	memset(key, 1, sizeof(key));
	kr = keyring_with(key, 1);
	yima_code_make(yima_keyring_mac(kr, 1), YIMA_KIND_ITEM, 1, 424242,
	    code);
	for (i = 0; i < 24; i++)
		lower[i] = (char)(code[i] >= 'A' ? code[i] + 32 : code[i]);
	lower[24] = '\0';
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		subst(text, sizeof(text), good[i], i % 2 ? lower : code);
		ck_assert_msg(yima_code_verify(kr, text, strlen(text), &c,
		    why) == 0, "rejected '%s': %s", text, why);
		ck_assert_uint_eq(c.serial, 424242);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		subst(text, sizeof(text), bad[i], code);
		ck_assert_msg(yima_code_verify(kr, text, strlen(text), NULL,
		    why) == YIMA_EINVAL, "accepted '%s'", text);
		ck_assert_uint_gt(strlen(why), 5);
	}
	/* A NUL byte inside the text, and NULL text. */
	memcpy(text, code, 24);
	text[10] = '\0';
	ck_assert_int_eq(yima_code_verify(kr, text, 24, NULL, why),
	    YIMA_EINVAL);
	ck_assert_int_eq(yima_code_verify(kr, NULL, 0, NULL, why),
	    YIMA_EINVAL);
	yima_keyring_free(kr);
}
END_TEST

START_TEST(huge_and_garbage_input)
{
	struct yima_keyring *kr;
	uint8_t key[32];
	char *big;
	size_t n = 1 << 20, i;

	memset(key, 2, sizeof(key));
	kr = keyring_with(key, 0);
	ck_assert_ptr_nonnull(big = malloc(n));
	for (i = 0; i < n; i++)
		big[i] = (char)(i * 131 + 7);
	for (i = 0; i < 2000; i++)
		ck_assert_int_ne(yima_code_verify(kr, big + i, 1 + i % 200,
		    NULL, NULL), 0);
	ck_assert_int_ne(yima_code_verify(kr, big, n, NULL, NULL), 0);
	memcpy(big, "https://", 8);
	memset(big + 8, 'a', n - 8);
	ck_assert_int_eq(yima_code_verify(kr, big, n, NULL, NULL),
	    YIMA_EINVAL);
	free(big);
	yima_keyring_free(kr);
}
END_TEST

START_TEST(url_build_and_domain)
{
	char dom[YIMA_DOMAIN_MAX + 1], url[YIMA_URL_MAX], why[YIMA_WHY_MAX];
	char long_label[80];
	size_t n;
	static const char *bad[] = {
		"", "a b", "-x.com", "x-.com", "x..com", ".x.com", "x.com.",
		"x.com:0", "x.com:65536", "x.com:", "x.com:8a", "x_y.com",
		"x.com/", "\xc3\xa9.com", "x.com:1:2",
	};
	size_t i;

	ck_assert_int_eq(yima_domain_normalize("yima.Example-1.com", dom,
	    why), 0);
	ck_assert_str_eq(dom, "YIMA.EXAMPLE-1.COM");
	ck_assert_int_eq(yima_domain_normalize("localhost:8080", dom, why), 0);
	ck_assert_str_eq(dom, "LOCALHOST:8080");
	n = yima_code_url("YIMA.EXAMPLE", "240G0000000026583TQRWDHR", url);
	ck_assert_str_eq(url, "HTTPS://YIMA.EXAMPLE/C/240G0000000026583TQRWDHR");
	ck_assert_uint_eq(n, strlen(url));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(yima_domain_normalize(bad[i], dom, why) ==
		    YIMA_EINVAL, "accepted domain '%s'", bad[i]);
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	ck_assert_int_eq(yima_domain_normalize(long_label, dom, why),
	    YIMA_EINVAL);
	long_label[63] = '\0';
	ck_assert_int_eq(yima_domain_normalize(long_label, dom, why), 0);
	/* The longest domain still makes a URL within YIMA_URL_MAX. */
	n = yima_code_url(dom, "240G0000000026583TQRWDHR", url);
	ck_assert_uint_lt(n, YIMA_URL_MAX);
}
END_TEST

START_TEST(kind_names)
{
	enum yima_kind k;

	ck_assert_int_eq(yima_kind_parse("inner", &k), 0);
	ck_assert_int_eq(k, YIMA_KIND_INNER);
	ck_assert_int_eq(yima_kind_parse("channel", &k), 0);
	ck_assert_int_eq(k, 5);
	ck_assert_int_eq(yima_kind_parse("Item", &k), YIMA_EINVAL);
	ck_assert_int_eq(yima_kind_parse("", &k), YIMA_EINVAL);
	ck_assert_str_eq(yima_kind_name(YIMA_KIND_PALLET), "pallet");
	ck_assert_ptr_null(yima_kind_name(0));
	ck_assert_ptr_null(yima_kind_name(6));
}
END_TEST

/* Every allocation in building a keyring fails cleanly, leaking nothing. */
/* ---- Digital Link codes ---- */

struct dl_vector {
	char		gtin[15];
	int		format;
	unsigned	key_id;
	uint64_t	serial;
	char		s[24];
};

/* tests/data/dl-vectors.txt (computed by dl_vectors.py, not this code). */
static size_t
load_dl_vectors(struct dl_vector *v, size_t max)
{
	char *path = tu_data("dl-vectors.txt"), line[256];
	unsigned long long serial;
	FILE *f = fopen(path, "r");
	size_t n = 0;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL && n < max) {
		if (line[0] == '#')
			continue;
		ck_assert_int_eq(sscanf(line, "%14s %d %u %llu %23s", v[n].gtin,
		    &v[n].format, &v[n].key_id, &serial, v[n].s), 5);
		v[n++].serial = serial;
	}
	fclose(f);
	free(path);
	return n;
}

static struct yima_keyring *
dl_keyring(unsigned id)
{
	uint8_t key[32];
	int i;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	return keyring_with(key, id);
}

/* The four vectors are among them; each mints and verifies. */
START_TEST(dl_vectors)
{
	struct dl_vector v[64];
	struct yima_keyring *kr;
	struct yima_code c;
	char s[YIMA_DL_LEN + 1], url[YIMA_DL_URL_MAX], why[YIMA_WHY_MAX];
	size_t n, i;

	n = load_dl_vectors(v, 64);
	ck_assert_uint_ge(n, 30);
	ck_assert_str_eq(v[0].s, "2080000000FR9HCAH4Y8");
	ck_assert_str_eq(v[3].s, "3ZZZZZZZZZY7JMQR73DC");
	for (i = 0; i < n; i++) {
		enum yima_kind k = v[i].format == 1 ? YIMA_KIND_ITEM :
		    YIMA_KIND_BOX;

		kr = dl_keyring(v[i].key_id);
		yima_dl_make(yima_keyring_mac(kr, v[i].key_id), k, v[i].key_id,
		    v[i].serial, v[i].gtin, s);
		ck_assert_str_eq(s, v[i].s);
		yima_dl_url("YIMA.EXAMPLE.COM", v[i].gtin, s, url);
		ck_assert_msg(yima_code_verify(kr, url, strlen(url), &c, why) ==
		    0, "%s: %s", url, why);
		ck_assert_int_eq(c.kind, k);
		ck_assert_uint_eq(c.serial, v[i].serial);
		ck_assert_uint_eq(c.key_id, v[i].key_id);
		ck_assert_str_eq(c.gtin, v[i].gtin);
		yima_keyring_free(kr);
	}
}
END_TEST

/* Every single-character change of S, and another GTIN, is invalid. */
START_TEST(dl_changes_are_invalid)
{
	struct dl_vector v[64];
	struct yima_keyring *kr;
	char url[YIMA_DL_URL_MAX], s[YIMA_DL_LEN + 1], other[15];
	size_t n, i, pos, a, tried = 0;

	n = load_dl_vectors(v, 64);
	for (i = 0; i < n; i++) {
		kr = dl_keyring(v[i].key_id);
		for (pos = 0; pos < YIMA_DL_LEN; pos++)
			for (a = 0; a < 32; a++) {
				if (yima_crockford[a] == v[i].s[pos])
					continue;
				strcpy(s, v[i].s);
				s[pos] = yima_crockford[a];
				yima_dl_url("YIMA.EXAMPLE.COM", v[i].gtin, s, url);
				ck_assert_msg(yima_code_verify(kr, url,
				    strlen(url), NULL, NULL) != 0, "%s", url);
				tried++;
			}
		/* The same S under the next vector's GTIN (a valid one). */
		strcpy(other, v[(i + 1) % n].gtin);
		if (strcmp(other, v[i].gtin) != 0) {
			yima_dl_url("YIMA.EXAMPLE.COM", other, v[i].s, url);
			ck_assert_int_eq(yima_code_verify(kr, url, strlen(url),
			    NULL, NULL), YIMA_EBADTAG);
		}
		yima_keyring_free(kr);
	}
	ck_assert_uint_eq(tried, n * YIMA_DL_LEN * 31);
}
END_TEST

/* The URI forms GS1 allows, and what breaks its syntax, with why. */
START_TEST(dl_uri_forms)
{
	static const char *const good[] = {
		"HTTPS://YIMA.EXAMPLE.COM/01/09520123456788/21/2080000000FR9HCAH4Y8",
		"https://yima.example.com/01/09520123456788/21/2080000000FR9HCAH4Y8",
		"http://Yima.Example.com/01/09520123456788/21/2080000000FR9HCAH4Y8",
		"https://x.example/some/prefix/01/09520123456788/21/2080000000FR9HCAH4Y8",
		"https://x.example/01/09520123456788/10/ABC%2F1/21/2080000000FR9HCAH4Y8",
		"https://x.example/01/09520123456788/22/V1/10/L1/21/2080000000FR9HCAH4Y8?17=271231&linkType=all",
		"/01/09520123456788/21/2080000000FR9HCAH4Y8",
		"  https://x.example/01/09520123456788/21/2080000000FR9HCAH4Y8#x \n",
	};
	static const struct { const char *uri, *why; } bad[] = {
		{ "https://x.example/01/09520123456787/21/2080000000FR9HCAH4Y8",
		  "check digit" },
		{ "https://x.example/01/0952012345678/21/2080000000FR9HCAH4Y8",
		  "GTIN" },
		{ "https://x.example/01/9520123456788/21/2080000000FR9HCAH4Y8",
		  "14 digits" },
		{ "https://x.example/01/095201234567888/21/2080000000FR9HCAH4Y8",
		  "(01)" },
		{ "https://x.example/01/09520123456788", "no (21)" },
		{ "https://x.example/01/09520123456788/x/21/2080000000FR9HCAH4Y8",
		  "pairs" },
		{ "https://x.example/01/09520123456788/21/2080000000FR9HCAH4Y8/x",
		  "pairs" },
		{ "https://x.example/01/09520123456788/21/2080000000FR9HCAH4Y8/10/L1",
		  "in this order" },
		{ "https://x.example/01/09520123456788/10/L1/22/V1/21/2080000000FR9HCAH4Y8",
		  "order" },
		{ "https://x.example/01/09520123456788/99/1/21/2080000000FR9HCAH4Y8",
		  "(99)" },
		{ "https://x.example/01/09520123456788/21/2080000000fr9hcah4y8",
		  "alphabet" },
		{ "https://x.example/01/09520123456788/21/2080000000FR9HCAH4Y",
		  "20 characters" },
		{ "https://x.example/01/09520123456788/10/A%ZZ/21/2080000000FR9HCAH4Y8",
		  "percent" },
		{ "https://x.example/01/09520123456788/10/A%00B/21/2080000000FR9HCAH4Y8",
		  "percent" },
		{ "https://x.example/01/09520123456788/10/A%2/21/2080000000FR9HCAH4Y8",
		  "percent" },
		{ "https://x.example/01/09520123456788/10/%7E%7E/21/2080000000FR9HCAH4Y8",
		  "(10)" },
	};
	struct yima_keyring *kr = dl_keyring(1);
	struct yima_code c;
	char why[YIMA_WHY_MAX];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(yima_code_verify(kr, good[i], strlen(good[i]), &c,
		    why) == 0, "%s: %s", good[i], why);
	/* Every prefix short of the serial's end, in a buffer of its own
	 * size (the fuzzer's " https://" once read past its end). */
	for (i = 0; i < 2 * 100; i++) {
		const char *u = good[i < 100 ? 0 : 7];
		size_t k = i % 100, stop = (size_t)(strstr(u, "Y8") + 1 - u);
		char *t;

		if (k >= stop)
			continue;
		ck_assert_ptr_nonnull(t = malloc(k > 0 ? k : 1));
		memcpy(t, u, k);
		ck_assert_int_ne(yima_code_verify(kr, t, k, NULL, why), 0);
		free(t);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		ck_assert_msg(yima_code_verify(kr, bad[i].uri,
		    strlen(bad[i].uri), &c, why) == YIMA_EINVAL, "%s accepted",
		    bad[i].uri);
		ck_assert_msg(strstr(why, bad[i].why) != NULL, "%s: \"%s\" "
		    "does not say %s", bad[i].uri, why, bad[i].why);
	}
	yima_keyring_free(kr);
}
END_TEST

/*
 * GS1's own examples: the Digital Link standard's (as GS1's syntax
 * engine carries them) are valid; the engine's and the resolver test
 * suite's invalid ones are refused, each for its reason.
 */
START_TEST(gs1_dl_examples)
{
	static const char *const good[] = {
		"https://id.gs1.org/01/09520123456788",
		"https://id.gs1.org/01/09520123456788/22/2A",
		"https://id.gs1.org/01/09520123456788/10/ABC123",
		"https://id.gs1.org/01/09520123456788/21/12345",
		"https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426",
		"https://id.gs1.org/01/09520123456788?3103=000195",
		"https://example.com/01/09520123456788?3103=000195&3922=0299&17=201225",
		"https://id.gs1.org/01/09520123456788?17=201225&3103=000195&3922=0299",
		"https://id.gs1.org/00/952012345678912345",
		"https://id.gs1.org/00/952012345678912345?02=09520123456788&37=25&10=ABC123",
		"https://id.gs1.org/414/9520123456788",
		"https://id.gs1.org/414/9520123456788/254/32a%2Fb",
		"https://id.gs1.org/01/09521234543213/10/ABC123/21/12345",
		"https://id.gs1.org/01/09521234543213/10/ABC123?17=261231",
		"https://example.com/products/01/09521234543213",
		"https://a/01/12312312312333/22/TEST/10/ABC/21/XYZ",
		"https://a/01/12312312312333?99=ABC&unknown=666&98=XYZ",
		"https://a/01/12312312312333/22/test/10/abc/21/xyz#fragment",
		"https://a:65535/01/12312312312333",
		"/01/09520123456788/21/12345?linkType=gs1:pip",
	};
	static const struct { const char *uri, *why; } bad[] = {
		{ "https://example.com/01/09520123456788?10=ABC123",
		  "belongs in the path" },
		{ "https://id.gs1.org/01/09520123456788/10/ABC123?17=180426&"
		  "01=09520123456788", "twice" },
		{ "https://id.gs1.org/01/09520123456788/10/ABC123?17=180426&"
		  "17=180426", "twice" },
		{ "https://example.com/01/09520123456788/89/ABC123", "(89)" },
		{ "https://example.com/01/09520123456788?17=180426&89=ABC123",
		  "(89)" },
		{ "https://a/01/12312312312333?17=", "empty" },
		{ "https://a/01/12312312312333?17=180426&999=faux", "(999)" },
		{ "https://a/stem/00/006141411234567890/", "pairs" },
		{ "https://a/01/2112345678900", "14 digits" },
		{ "https://a/01/416000336108", "14 digits" },
		{ "https://a/01/09520123456788/10/ABC/22/X", "in this order" },
		{ "https://a/01/09520123456788/21/12345/10/ABC", "in this order" },
		{ "https://a/01/09520123456788/21/1/21/2", "in this order" },
		{ "https://id.gs1.org/01/09520123456789", "check digit" },
		{ "https://a/01/09520123456788/17/261231", "query" },
		{ "https://id.gs1.org/01/09520123456788/foo", "pairs" },
		{ "https://a/01/09520123456788?17=261301", "date" },
		{ "https://a/01/09520123456788?17=250229", "date" },
		{ "https://a/01/09520123456788/10/A%20B", "character set 82" },
		{ "https://a/01/09520123456788/21/123456789012345678901",
		  "longer than 20" },
		{ "https://a/00/006141411234567891", "check digit" },
		{ "https://a/414/9520123456787", "check digit" },
		{ "https://a/00/006141411234567890/10/X", "has none" },
	};
	struct yima_gs1_dl dl;
	char why[YIMA_WHY_MAX];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(yima_gs1_dl_parse(good[i], strlen(good[i]), &dl,
		    why) == 0, "%s: %s", good[i], why);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		ck_assert_msg(yima_gs1_dl_parse(bad[i].uri, strlen(bad[i].uri),
		    &dl, why) == YIMA_EINVAL, "%s accepted", bad[i].uri);
		ck_assert_msg(strstr(why, bad[i].why) != NULL, "%s: \"%s\" "
		    "does not say %s", bad[i].uri, why, bad[i].why);
	}
	/* What the parse gives: GTIN-14, qualifiers, attributes, linkType. */
	ck_assert_int_eq(yima_gs1_dl_parse(good[4], strlen(good[4]), &dl,
	    why), 0);
	ck_assert_str_eq(dl.key.ai, "01");
	ck_assert_str_eq(dl.key.value, "09520123456788");
	ck_assert_str_eq(yima_gs1_dl_get(&dl, "10"), "ABC1");
	ck_assert_str_eq(yima_gs1_dl_get(&dl, "21"), "12345");
	ck_assert_str_eq(yima_gs1_dl_get(&dl, "17"), "180426");
	ck_assert_ptr_null(yima_gs1_dl_get(&dl, "22"));
	ck_assert_int_eq(yima_gs1_dl_parse(good[11], strlen(good[11]), &dl,
	    why), 0);
	ck_assert_str_eq(yima_gs1_dl_get(&dl, "254"), "32a/b");
	ck_assert_int_eq(yima_gs1_dl_parse(good[19], strlen(good[19]), &dl,
	    why), 0);
	ck_assert_str_eq(dl.link_type, "gs1:pip");
	ck_assert_int_eq(dl.linkset_asked, 0);
	/* No primary key at all: not a Digital Link URI. */
	ck_assert_int_eq(yima_gs1_dl_parse("https://a/b/c", 13, &dl, why), 1);
	ck_assert_int_eq(yima_gs1_dl_parse("http://a", 8, &dl, why), 1);
	ck_assert_int_eq(yima_gs1_dl_parse("ftp://a/01/09520123456788", 25,
	    &dl, why), 1);
	/* Check digits as GS1 computes them. */
	ck_assert_int_eq(yima_gs1_check_digit("09520123456788", 14), 1);
	ck_assert_int_eq(yima_gs1_check_digit("09520123456787", 14), 0);
	ck_assert_int_eq(yima_gs1_check_digit("9520123456788", 13), 1);
	ck_assert_int_eq(yima_gs1_check_digit("106141411234567897", 18), 1);
}
END_TEST

START_TEST(keyring_new_alloc_failures)
{
	struct yima_keyring *kr;
	uint8_t key[32];
	unsigned long n;
	int rc;

	memset(key, 3, sizeof(key));
	for (n = 1; n < 20; n++) {
		kr = NULL;
		yima_test_fail_alloc_(n);
		rc = yima_keyring_new(&kr);
		if (rc == 0)
			rc = yima_keyring_add(kr, 1, key);
		yima_test_fail_alloc_(0);
		yima_keyring_free(kr);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, YIMA_ENOMEM);
	}
	ck_assert_uint_gt(n, 1);
	ck_assert_uint_lt(n, 20);
}
END_TEST

Suite *
code_suite(void)
{
	Suite *s = suite_create("code");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, vectors_mint_and_verify);
	tcase_add_test(tc, base32_roundtrip_and_aliases);
	tcase_add_test(tc, base32_rejects);
	tcase_add_test(tc, single_character_changes_are_invalid);
	tcase_add_test(tc, wrong_key_kind_version);
	tcase_add_test(tc, url_forms);
	tcase_add_test(tc, huge_and_garbage_input);
	tcase_add_test(tc, url_build_and_domain);
	tcase_add_test(tc, kind_names);
	tcase_add_test(tc, keyring_new_alloc_failures);
	tcase_add_test(tc, dl_vectors);
	tcase_add_test(tc, dl_changes_are_invalid);
	tcase_add_test(tc, dl_uri_forms);
	tcase_add_test(tc, gs1_dl_examples);
	suite_add_tcase(s, tc);
	return s;
}
