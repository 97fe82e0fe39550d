/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for QR encoding and the SVG, PNG and PDF renderers. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <png.h>
#include <qrencode.h>

#include "yima/buf.h"
#include "yima/err.h"
#include "yima/qr.h"
#include "yima/read.h"
#include "yima/render.h"

#include "../codegen/alloc-private.h"
#include "testutil.h"

Suite *render_suite(void);

#define CODE_LEN	24
#define URL_MAX		128

static const char alnum36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/* A deterministic 24-character code of [0-9A-Z] for seed. */
static void
make_code(unsigned int seed, char code[CODE_LEN + 1])
{
	unsigned long s = seed * 2654435761UL + 1;
	int i;

	for (i = 0; i < CODE_LEN; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		code[i] = alnum36[(s >> 33) % 36];
	}
	code[CODE_LEN] = '\0';
}

static void
make_url(char url[URL_MAX], const char *domain, const char *code)
{
	ck_assert_int_lt(snprintf(url, URL_MAX, "HTTPS://%s/C/%s", domain,
	    code), URL_MAX);
}

static struct yima_qr *
encode(const char *text, enum yima_ecc ecc)
{
	struct yima_qr *qr = NULL;

	ck_assert_int_eq(yima_qr_encode(text, strlen(text), ecc, &qr), 0);
	ck_assert_ptr_nonnull(qr);
	return qr;
}

/* Collects decoded texts for the reader callbacks. */
struct found {
	char	text[64][URL_MAX];
	int	n;
};

static void
collect(void *ctx, const char *data, size_t len)
{
	struct found *f = ctx;

	ck_assert_int_lt(f->n, 64);
	ck_assert_uint_lt(len, URL_MAX);
	memcpy(f->text[f->n], data, len);
	f->text[f->n][len] = '\0';
	f->n++;
}

/* --- qr --- */

static void
check_version(const char *domain, enum yima_ecc ecc, size_t urllen)
{
	char code[CODE_LEN + 1], url[URL_MAX];
	struct yima_qr *qr;
	unsigned int seed;

	ck_assert_uint_eq(strlen(domain) + strlen("HTTPS:///C/") + CODE_LEN,
	    urllen);
	/* Letters only, digits only and mixed codes: all must fit. */
	for (seed = 0; seed < 40; seed++) {
		if (seed == 0)
			memset(code, 'Z', CODE_LEN);
		else if (seed == 1)
			memset(code, '9', CODE_LEN);
		else
			make_code(seed, code);
		code[CODE_LEN] = '\0';
		make_url(url, domain, code);
		ck_assert_uint_eq(strlen(url), urllen);
		qr = encode(url, ecc);
		ck_assert_int_eq(yima_qr_version(qr), 3);
		ck_assert_int_eq(yima_qr_width(qr), 29);
		yima_qr_free(qr);
	}
}

START_TEST(test_qr_versions)
{
	/* 51 characters: version 3 at M. */
	check_version("YIMA.EXAMPLE.COM", YIMA_ECC_M, 51);
	/* 61 characters: still version 3 at M (its alphanumeric capacity). */
	check_version("YIMA.SOME-LONGER-BRAND.COM", YIMA_ECC_M, 61);
	/* 47 characters: version 3 at Q (its alphanumeric capacity). */
	check_version("YIMA.EXA.COM", YIMA_ECC_Q, 47);
}
END_TEST

START_TEST(test_qr_one_too_many)
{
	struct yima_qr *qr;

	/* One character past the capacity moves to version 4. */
	qr = encode("HTTPS://YIMA.SOME-LONGER-BRANDX.COM/C/"
	    "0123456789ABCDEFGHIJKLMN", YIMA_ECC_M);
	ck_assert_int_eq(yima_qr_version(qr), 4);
	ck_assert_int_eq(yima_qr_width(qr), 33);
	yima_qr_free(qr);
	/* Lower case is 8-bit mode (case-sensitive): bigger symbol. */
	qr = encode("https://yima.example.com/c/0123456789abcdefghijklmn",
	    YIMA_ECC_M);
	ck_assert_int_eq(yima_qr_version(qr), 4);
	yima_qr_free(qr);
}
END_TEST

START_TEST(test_qr_ecc)
{
	static const struct {
		const char	*s;
		int		 ok;
		enum yima_ecc	 ecc;
	} cases[] = {
		{ "L", 1, YIMA_ECC_L }, { "l", 1, YIMA_ECC_L },
		{ "M", 1, YIMA_ECC_M }, { "m", 1, YIMA_ECC_M },
		{ "Q", 1, YIMA_ECC_Q }, { "q", 1, YIMA_ECC_Q },
		{ "H", 1, YIMA_ECC_H }, { "h", 1, YIMA_ECC_H },
		{ "", 0, 0 }, { "X", 0, 0 }, { "LL", 0, 0 }, { "M ", 0, 0 },
		{ " M", 0, 0 }, { "0", 0, 0 },
	};
	enum yima_ecc ecc;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ecc = YIMA_ECC_H;
		if (cases[i].ok) {
			ck_assert_int_eq(yima_qr_ecc_parse(cases[i].s, &ecc),
			    0);
			ck_assert_int_eq(ecc, cases[i].ecc);
			ck_assert_int_eq(yima_qr_ecc_name(ecc)[0],
			    toupper((unsigned char)cases[i].s[0]));
		} else {
			ck_assert_int_eq(yima_qr_ecc_parse(cases[i].s, &ecc),
			    YIMA_EINVAL);
		}
	}
	ck_assert_int_eq(yima_qr_ecc_parse(NULL, &ecc), YIMA_EINVAL);
	ck_assert_str_eq(yima_qr_ecc_name(YIMA_ECC_L), "L");
	ck_assert_str_eq(yima_qr_ecc_name(YIMA_ECC_M), "M");
	ck_assert_str_eq(yima_qr_ecc_name(YIMA_ECC_Q), "Q");
	ck_assert_str_eq(yima_qr_ecc_name(YIMA_ECC_H), "H");
}
END_TEST

START_TEST(test_qr_bad_text)
{
	struct yima_qr *qr = NULL;
	char *big;

	ck_assert_int_eq(yima_qr_encode("", 0, YIMA_ECC_M, &qr), YIMA_EINVAL);
	ck_assert_int_eq(yima_qr_encode("AB\0CD", 5, YIMA_ECC_M, &qr),
	    YIMA_EINVAL);
	ck_assert_int_eq(yima_qr_encode("A", 1, (enum yima_ecc)7, &qr),
	    YIMA_EINVAL);
	ck_assert_ptr_nonnull(big = malloc(4096));
	memset(big, 'A', 4096);
	ck_assert_int_eq(yima_qr_encode(big, 2049, YIMA_ECC_L, &qr),
	    YIMA_EINVAL);
	ck_assert_ptr_null(qr);
	/* 2048 alphanumeric characters fit at L... */
	ck_assert_int_eq(yima_qr_encode(big, 2048, YIMA_ECC_L, &qr), 0);
	ck_assert_int_eq(yima_qr_width(qr), 17 + 4 * yima_qr_version(qr));
	yima_qr_free(qr);
	qr = NULL;
	/* ...but 2048 bytes do not fit any symbol at H. */
	memset(big, 'a', 4096);
	ck_assert_int_eq(yima_qr_encode(big, 2048, YIMA_ECC_H, &qr),
	    YIMA_EINVAL);
	ck_assert_ptr_null(qr);
	free(big);
	/* Not a C string: the length is honoured, not a NUL. */
	ck_assert_int_eq(yima_qr_encode("HELLOXXXX", 5, YIMA_ECC_M, &qr), 0);
	ck_assert_int_eq(yima_qr_version(qr), 1);
	yima_qr_free(qr);
	yima_qr_free(NULL);
}
END_TEST

START_TEST(test_qr_dark_bounds)
{
	struct yima_qr *qr;
	int w, i;

	qr = encode("HELLO", YIMA_ECC_M);
	w = yima_qr_width(qr);
	ck_assert_int_eq(w, 21);
	/* Finder pattern corners are dark, their separators light. */
	ck_assert_int_eq(yima_qr_dark(qr, 0, 0), 1);
	ck_assert_int_eq(yima_qr_dark(qr, w - 1, 0), 1);
	ck_assert_int_eq(yima_qr_dark(qr, 0, w - 1), 1);
	ck_assert_int_eq(yima_qr_dark(qr, 7, 0), 0);
	ck_assert_int_eq(yima_qr_dark(qr, 1, 1), 0);
	ck_assert_int_eq(yima_qr_dark(qr, 3, 3), 1);
	/* The "dark module" of ISO/IEC 18004 sits at (8, 4V + 9). */
	ck_assert_int_eq(yima_qr_dark(qr, 8, w - 8), 1);
	for (i = -1; i <= w; i++) {
		ck_assert_int_eq(yima_qr_dark(qr, -1, i), 0);
		ck_assert_int_eq(yima_qr_dark(qr, w, i), 0);
		ck_assert_int_eq(yima_qr_dark(qr, i, -1), 0);
		ck_assert_int_eq(yima_qr_dark(qr, i, w), 0);
	}
	yima_qr_free(qr);
}
END_TEST

START_TEST(test_qr_matches_libqrencode)
{
	static const char url[] =
	    "HTTPS://YIMA.EXAMPLE.COM/C/0123456789ABCDEFGHIJKLMN";
	struct yima_qr *qr;
	QRcode *ref;
	int x, y, bad = 0;

	qr = encode(url, YIMA_ECC_Q);
	ck_assert_ptr_nonnull(ref = QRcode_encodeString(url, 0,
	    QR_ECLEVEL_Q, QR_MODE_8, 1));
	ck_assert_int_eq(yima_qr_version(qr), ref->version);
	ck_assert_int_eq(yima_qr_width(qr), ref->width);
	for (y = 0; y < ref->width; y++)
		for (x = 0; x < ref->width; x++)
			if (yima_qr_dark(qr, x, y) !=
			    (ref->data[y * ref->width + x] & 1))
				bad++;
	ck_assert_int_eq(bad, 0);
	QRcode_free(ref);
	yima_qr_free(qr);
}
END_TEST

START_TEST(test_qr_alloc_failures)
{
	struct yima_qr *qr;
	unsigned long n;
	int rc;

	for (n = 1; n < 100; n++) {
		qr = NULL;
		yima_test_fail_alloc_(n);
		rc = yima_qr_encode("HTTPS://YIMA.EXAMPLE.COM/C/ABC", 30,
		    YIMA_ECC_M, &qr);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, YIMA_ENOMEM);
		ck_assert_ptr_null(qr);
	}
	yima_test_fail_alloc_(0);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_gt(n, 1);
	yima_qr_free(qr);
}
END_TEST

/* --- svg --- */

/* Reads a decimal number at *p, advancing it; -1 if there is none. */
static long
parse_num(const char **p)
{
	long v = 0;
	int digits = 0;

	while (**p >= '0' && **p <= '9' && digits < 6) {
		v = v * 10 + (**p - '0');
		(*p)++;
		digits++;
	}
	return digits > 0 ? v : -1;
}

/*
 * Parses the SVG path of a rendered symbol back into a module grid and
 * checks it is exactly the symbol, quiet zone included.
 */
static void
check_svg(const struct yima_qr *qr, const char *svg)
{
	const char *p, *end;
	unsigned char *grid;
	long x, y, n, n2, full, vb, i;
	char want[64];
	int mx, my, runs = 0, bad = 0;

	full = yima_qr_width(qr) + 2 * YIMA_QUIET_ZONE;
	snprintf(want, sizeof(want), "viewBox=\"0 0 %ld %ld\"", full, full);
	ck_assert_ptr_nonnull(strstr(svg, want));
	ck_assert_ptr_nonnull(p = strstr(svg, "viewBox=\"0 0 "));
	p += strlen("viewBox=\"0 0 ");
	vb = parse_num(&p);
	ck_assert_int_eq(vb, yima_qr_width(qr) + 8);
	ck_assert_ptr_nonnull(strstr(svg, "<svg xmlns=\"http://www.w3.org/"
	    "2000/svg\""));
	ck_assert_ptr_nonnull(strstr(svg, "fill=\"#fff\""));
	ck_assert_ptr_nonnull(strstr(svg, "shape-rendering=\"crispEdges\""));
	ck_assert_ptr_nonnull(strstr(svg, "</svg>"));
	/* Exactly one path. */
	ck_assert_ptr_nonnull(p = strstr(svg, "<path"));
	ck_assert_ptr_null(strstr(p + 1, "<path"));
	ck_assert_ptr_nonnull(p = strstr(p, " d=\""));
	p += 4;
	ck_assert_ptr_nonnull(end = strchr(p, '"'));

	ck_assert_ptr_nonnull(grid = calloc((size_t)(full * full), 1));
	while (p < end) {
		ck_assert_int_eq(*p++, 'M');
		x = parse_num(&p);
		ck_assert_int_eq(*p++, ' ');
		y = parse_num(&p);
		ck_assert_int_eq(*p++, 'h');
		n = parse_num(&p);
		ck_assert_int_eq(strncmp(p, "v1h-", 4), 0);
		p += 4;
		n2 = parse_num(&p);
		ck_assert_int_eq(*p++, 'z');
		ck_assert_int_ge(x, 0);
		ck_assert_int_ge(y, 0);
		ck_assert_int_ge(n, 1);
		ck_assert_int_eq(n, n2);
		ck_assert_int_le(x + n, full);
		ck_assert_int_lt(y, full);
		for (i = 0; i < n; i++) {
			/* Runs never overlap. */
			ck_assert_int_eq(grid[y * full + x + i], 0);
			grid[y * full + x + i] = 1;
		}
		runs++;
	}
	ck_assert_ptr_eq(p, end);
	ck_assert_int_gt(runs, 0);
	for (my = 0; my < full; my++)
		for (mx = 0; mx < full; mx++)
			if (grid[my * full + mx] != yima_qr_dark(qr,
			    mx - YIMA_QUIET_ZONE, my - YIMA_QUIET_ZONE))
				bad++;
	ck_assert_int_eq(bad, 0);
	free(grid);
}

START_TEST(test_svg_roundtrip)
{
	static const char *texts[] = {
		"HTTPS://YIMA.EXAMPLE.COM/C/0123456789ABCDEFGHIJKLMN",
		"1",
		("https://example.org/a-longer-text/with/lower-case?and=query"
		    "&more=yes-this-makes-a-much-bigger-symbol-version"),
	};
	struct yima_buf b = YIMA_BUF_INIT;
	struct yima_qr *qr;
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		qr = encode(texts[i], YIMA_ECC_H);
		yima_buf_reset(&b);
		ck_assert_int_eq(yima_render_svg(qr, NULL, &b), 0);
		ck_assert_uint_eq(strlen(b.data), b.len);
		ck_assert_int_eq(strncmp(b.data, "<?xml", 5), 0);
		check_svg(qr, b.data);
		yima_qr_free(qr);
	}
	yima_buf_free(&b);
}
END_TEST

/* The text under the symbol: a line of its own, escaped, the QR intact. */
START_TEST(test_svg_text)
{
	static const char hri[] = "(01) 09520123456788 (21) 2080000000FR9HCAH4Y8";
	struct yima_buf b = YIMA_BUF_INIT, plain = YIMA_BUF_INIT;
	struct yima_qr *qr;
	char want[96];
	const char *t, *e, *u;
	long full;

	qr = encode("HTTPS://YIMA.EXAMPLE.COM/01/09520123456788/21/"
	    "2080000000FR9HCAH4Y8", YIMA_ECC_M);
	full = yima_qr_width(qr) + 2 * YIMA_QUIET_ZONE;
	ck_assert_int_eq(yima_render_svg(qr, hri, &b), 0);
	snprintf(want, sizeof(want), "viewBox=\"0 0 %ld %ld\"", full, full + 3);
	ck_assert_ptr_nonnull(strstr(b.data, want));
	snprintf(want, sizeof(want), ">%s</text>", hri);
	ck_assert_ptr_nonnull(strstr(b.data, want));
	snprintf(want, sizeof(want), "textLength=\"%ld\"", full - 2);
	ck_assert_ptr_nonnull(strstr(b.data, want));
	/* The symbol's path is the one without text. */
	ck_assert_int_eq(yima_render_svg(qr, "", &plain), 0);
	ck_assert_ptr_null(strstr(plain.data, "<text"));
	ck_assert_ptr_nonnull(t = strstr(plain.data, "<path"));
	ck_assert_ptr_nonnull(e = strstr(t, "/>"));
	ck_assert_ptr_nonnull(u = strstr(b.data, "<path"));
	ck_assert_int_eq(strncmp(t, u, (size_t)(e - t) + 2), 0);
	ck_assert(strstr(b.data, "<text") > u);
	yima_buf_reset(&b);
	ck_assert_int_eq(yima_render_svg(qr, "A&B <C>", &b), 0);
	ck_assert_ptr_nonnull(strstr(b.data, ">A&amp;B &lt;C&gt;</text>"));
	yima_qr_free(qr);
	yima_buf_free(&b);
	yima_buf_free(&plain);
}
END_TEST

START_TEST(test_svg_appends)
{
	struct yima_buf b = YIMA_BUF_INIT;
	struct yima_qr *qr;
	size_t first;

	qr = encode("HTTPS://YIMA.EXAMPLE.COM/C/0123456789ABCDEFGHIJKLMN",
	    YIMA_ECC_M);
	ck_assert_int_eq(yima_buf_puts(&b, "PREFIX"), 0);
	ck_assert_int_eq(yima_render_svg(qr, NULL, &b), 0);
	ck_assert_int_eq(strncmp(b.data, "PREFIX<?xml", 11), 0);
	check_svg(qr, b.data + 6);
	first = b.len - 6;
	ck_assert_int_eq(yima_render_svg(qr, NULL, &b), 0);
	ck_assert_uint_eq(b.len, 6 + 2 * first);
	ck_assert_int_eq(memcmp(b.data + 6, b.data + 6 + first, first), 0);
	yima_qr_free(qr);
	yima_buf_free(&b);
}
END_TEST

START_TEST(test_svg_alloc_failures)
{
	struct yima_buf b = YIMA_BUF_INIT;
	struct yima_qr *qr;
	unsigned long n;
	int rc = -1;

	qr = encode("HTTPS://YIMA.EXAMPLE.COM/C/0123456789ABCDEFGHIJKLMN",
	    YIMA_ECC_M);
	for (n = 1; n < 100; n++) {
		yima_test_fail_alloc_(n);
		rc = yima_render_svg(qr, NULL, &b);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, YIMA_ENOMEM);
		ck_assert_uint_eq(b.len, 0);
	}
	yima_test_fail_alloc_(0);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_gt(n, 1);
	check_svg(qr, b.data);
	yima_buf_free(&b);
	yima_qr_free(qr);
}
END_TEST

/* --- png --- */

static unsigned long
be32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
	    (unsigned long)p[2] << 8 | p[3];
}

/* Decodes png with libpng's simplified API and compares every pixel. */
static void
check_png_pixels(const struct yima_qr *qr, int scale,
    const struct yima_buf *png)
{
	png_image img;
	unsigned char *px;
	int full, x, y, want, bad = 0;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	ck_assert_int_ne(png_image_begin_read_from_memory(&img, png->data,
	    png->len), 0);
	full = (yima_qr_width(qr) + 2 * YIMA_QUIET_ZONE) * scale;
	ck_assert_uint_eq(img.width, (unsigned)full);
	ck_assert_uint_eq(img.height, (unsigned)full);
	img.format = PNG_FORMAT_GRAY;
	ck_assert_ptr_nonnull(px = malloc(PNG_IMAGE_SIZE(img)));
	ck_assert_int_ne(png_image_finish_read(&img, NULL, px, 0, NULL), 0);
	/* Count, then assert once: every Check assertion costs a write. */
	for (y = 0; y < full; y++)
		for (x = 0; x < full; x++) {
			want = yima_qr_dark(qr, x / scale - YIMA_QUIET_ZONE,
			    y / scale - YIMA_QUIET_ZONE) ? 0 : 255;
			if (px[y * full + x] != want)
				bad++;
		}
	ck_assert_int_eq(bad, 0);
	free(px);
	png_image_free(&img);
}

START_TEST(test_png_roundtrip)
{
	static const char url[] =
	    "HTTPS://YIMA.EXAMPLE.COM/C/0123456789ABCDEFGHIJKLMN";
	char *zbar[] = { "/usr/bin/zbarimg", "--raw", "-q", NULL, NULL };
	char why[YIMA_WHY_MAX];
	struct yima_buf b = YIMA_BUF_INIT;
	struct found f;
	struct yima_qr *qr;
	char *dir, *path, *out = NULL;
	int n = -1, full;

	qr = encode(url, YIMA_ECC_M);
	ck_assert_int_eq(yima_render_png(qr, 4, &b), 0);
	full = (yima_qr_width(qr) + 8) * 4;
	/* Signature, then IHDR: width, height, bit depth 1, colour type 0. */
	ck_assert_uint_gt(b.len, 33);
	ck_assert_int_eq(memcmp(b.data, "\x89PNG\r\n\x1a\n", 8), 0);
	ck_assert_uint_eq(be32((unsigned char *)b.data + 8), 13);
	ck_assert_int_eq(memcmp(b.data + 12, "IHDR", 4), 0);
	ck_assert_uint_eq(be32((unsigned char *)b.data + 16), full);
	ck_assert_uint_eq(be32((unsigned char *)b.data + 20), full);
	ck_assert_int_eq(b.data[24], 1);
	ck_assert_int_eq(b.data[25], 0);
	ck_assert_int_eq(b.data[28], 0);	/* not interlaced */
	check_png_pixels(qr, 4, &b);

	dir = tu_mkdtemp();
	path = tu_path(dir, "qr.png");
	ck_assert_int_eq(tu_write_file(path, b.data, b.len), 0);
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(yima_read_png_file(path, collect, &f, &n, why), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(f.n, 1);
	ck_assert_str_eq(f.text[0], url);

	/* An independent decoder agrees. */
	zbar[3] = path;
	ck_assert_int_eq(tu_run(zbar, &out, NULL), 0);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, "HTTPS://YIMA.EXAMPLE.COM/C/"
	    "0123456789ABCDEFGHIJKLMN\n");
	free(out);

	tu_rmtree(dir);
	free(path);
	free(dir);
	yima_buf_free(&b);
	yima_qr_free(qr);
}
END_TEST

START_TEST(test_png_scales)
{
	struct yima_buf b = YIMA_BUF_INIT;
	struct yima_qr *qr;
	int scale;

	qr = encode("HTTPS://YIMA.EXAMPLE.COM/C/ZZZZZZZZZZZZZZZZZZZZZZZZ",
	    YIMA_ECC_Q);
	for (scale = 1; scale <= 64; scale += scale < 9 ? 1 : 11) {
		yima_buf_reset(&b);
		ck_assert_int_eq(yima_render_png(qr, scale, &b), 0);
		check_png_pixels(qr, scale, &b);
	}
	yima_buf_reset(&b);
	ck_assert_int_eq(yima_render_png(qr, 64, &b), 0);
	check_png_pixels(qr, 64, &b);
	ck_assert_int_eq(yima_buf_puts(&b, "KEEP"), 0);
	ck_assert_int_eq(yima_render_png(qr, 0, &b), YIMA_EINVAL);
	ck_assert_int_eq(yima_render_png(qr, 65, &b), YIMA_EINVAL);
	ck_assert_int_eq(yima_render_png(qr, -4, &b), YIMA_EINVAL);
	ck_assert_uint_ge(b.len, 4);
	ck_assert_str_eq(b.data + b.len - 4, "KEEP");
	yima_buf_free(&b);
	yima_qr_free(qr);
}
END_TEST

START_TEST(test_png_alloc_failures)
{
	struct yima_buf b = YIMA_BUF_INIT;
	struct yima_qr *qr;
	unsigned long n;
	int rc = -1;

	qr = encode("HTTPS://YIMA.EXAMPLE.COM/C/0123456789ABCDEFGHIJKLMN",
	    YIMA_ECC_M);
	for (n = 1; n < 1000; n++) {
		yima_test_fail_alloc_(n);
		rc = yima_render_png(qr, 8, &b);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, YIMA_ENOMEM);
		ck_assert_uint_eq(b.len, 0);
	}
	yima_test_fail_alloc_(0);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_gt(n, 2);
	check_png_pixels(qr, 8, &b);
	yima_buf_free(&b);
	yima_qr_free(qr);
}
END_TEST

/* --- pdf --- */

/* A pixel rectangle of a rendered page; w == 0 means the whole page. */
struct crop {
	int	x, y, w, h;
};

/*
 * Renders one page of pdfpath at dpi (cropped to c if not NULL) and
 * decodes its symbols into f.
 */
static void
read_pdf_page(const char *dir, char *pdfpath, int page, int dpi,
    const struct crop *c, struct found *f)
{
	char pg[16], res[16], cx[16], cy[16], cw[16], ch[16];
	char why[YIMA_WHY_MAX];
	char *prefix, *png;
	char *argv[] = { "/usr/bin/pdftoppm", "-r", res, "-png", "-gray",
	    "-singlefile", "-f", pg, "-l", pg, "-x", cx, "-y", cy, "-W", cw,
	    "-H", ch, NULL, NULL, NULL };
	int n = -1, argc = 10;

	snprintf(pg, sizeof(pg), "%d", page);
	snprintf(res, sizeof(res), "%d", dpi);
	if (c != NULL) {
		snprintf(cx, sizeof(cx), "%d", c->x);
		snprintf(cy, sizeof(cy), "%d", c->y);
		snprintf(cw, sizeof(cw), "%d", c->w);
		snprintf(ch, sizeof(ch), "%d", c->h);
		argc = 18;
	}
	prefix = tu_path(dir, "page");
	png = tu_path(dir, "page.png");
	argv[argc] = pdfpath;
	argv[argc + 1] = prefix;
	argv[argc + 2] = NULL;
	ck_assert_int_eq(tu_run(argv, NULL, NULL), 0);
	memset(f, 0, sizeof(*f));
	ck_assert_msg(yima_read_png_file(png, collect, f, &n, why) == 0,
	    "%s", why);
	ck_assert_int_eq(n, f->n);
	remove(png);
	free(png);
	free(prefix);
}

/* The pixel rectangle of label i of layout l on a page rendered at dpi. */
static void
cell_crop(const struct yima_pdf_layout *l, int i, int dpi, struct crop *c)
{
	double px = dpi / 72.0, margin, cw, ch;

	margin = l->margin_mm * 72.0 / 25.4;
	cw = (595.276 - 2 * margin) / l->cols;
	ch = (841.89 - 2 * margin) / l->rows;
	c->x = (int)((margin + (i % l->cols) * cw) * px);
	c->y = (int)((margin + (i / l->cols) * ch) * px);
	c->w = (int)(cw * px);
	c->h = (int)(ch * px);
}

static int
count_text(const struct found *f, const char *text)
{
	int i, c = 0;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->text[i], text) == 0)
			c++;
	return c;
}

START_TEST(test_pdf_sheet)
{
	struct yima_pdf_layout l = { 3, 4, 10.0 };
	char codes[13][CODE_LEN + 1], urls[13][URL_MAX];
	struct yima_pdf *pdf = NULL;
	struct yima_qr *qr;
	struct found f;
	struct crop c;
	char *dir, *path, *data;
	size_t len;
	int i;

	ck_assert_int_eq(yima_pdf_new(&l, &pdf), 0);
	ck_assert_int_eq(yima_pdf_pages(pdf), 0);
	for (i = 0; i < 13; i++) {
		make_code((unsigned)i + 100, codes[i]);
		make_url(urls[i], "YIMA.EXAMPLE.COM", codes[i]);
		qr = encode(urls[i], YIMA_ECC_M);
		ck_assert_int_eq(yima_pdf_add(pdf, qr, codes[i]), 0);
		yima_qr_free(qr);
		ck_assert_int_eq(yima_pdf_pages(pdf), i < 12 ? 1 : 2);
	}
	ck_assert_int_eq(yima_pdf_pages(pdf), 2);
	dir = tu_mkdtemp();
	path = tu_path(dir, "sheet.pdf");
	ck_assert_int_eq(yima_pdf_save(pdf, path), 0);
	yima_pdf_free(pdf);

	ck_assert_ptr_nonnull(data = tu_read_file(path, &len));
	ck_assert_uint_gt(len, 100);
	ck_assert_int_eq(memcmp(data, "%PDF-", 5), 0);
	free(data);

	/*
	 * The printed vector symbols decode to the exact URLs, each in its
	 * own cell. zbar misses the odd symbol when a page holds many in a
	 * grid, so every cell is cropped and decoded alone.
	 */
	for (i = 0; i < 12; i++) {
		cell_crop(&l, i, 150, &c);
		read_pdf_page(dir, path, 1, 150, &c, &f);
		ck_assert_int_eq(f.n, 1);
		ck_assert_str_eq(f.text[0], urls[i]);
	}
	read_pdf_page(dir, path, 2, 150, NULL, &f);
	ck_assert_int_eq(f.n, 1);
	ck_assert_str_eq(f.text[0], urls[12]);

	tu_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_pdf_whole_page)
{
	/* Four labels: zbar finds them all on the uncropped page. */
	struct yima_pdf_layout l = { 2, 2, 10.0 };
	char codes[4][CODE_LEN + 1], urls[4][URL_MAX];
	struct yima_pdf *pdf = NULL;
	struct yima_qr *qr;
	struct found f;
	char *dir, *path;
	int i;

	ck_assert_int_eq(yima_pdf_new(&l, &pdf), 0);
	for (i = 0; i < 4; i++) {
		make_code((unsigned)i + 7, codes[i]);
		make_url(urls[i], "YIMA.EXAMPLE.COM", codes[i]);
		qr = encode(urls[i], YIMA_ECC_M);
		ck_assert_int_eq(yima_pdf_add(pdf, qr, codes[i]), 0);
		yima_qr_free(qr);
	}
	ck_assert_int_eq(yima_pdf_pages(pdf), 1);
	dir = tu_mkdtemp();
	path = tu_path(dir, "four.pdf");
	ck_assert_int_eq(yima_pdf_save(pdf, path), 0);
	yima_pdf_free(pdf);
	read_pdf_page(dir, path, 1, 100, NULL, &f);
	ck_assert_int_eq(f.n, 4);
	for (i = 0; i < 4; i++)
		ck_assert_msg(count_text(&f, urls[i]) == 1, "missing %s",
		    urls[i]);
	tu_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_pdf_dense_sheet)
{
	/* The densest layout still decodes at 300 dpi: 20 x 30, no margin. */
	struct yima_pdf_layout l = { 20, 30, 0.0 };
	char code[CODE_LEN + 1], url[URL_MAX];
	struct yima_pdf *pdf = NULL;
	struct yima_qr *qr;
	struct found f;
	char *dir, *path;
	int i;

	ck_assert_int_eq(yima_pdf_new(&l, &pdf), 0);
	for (i = 0; i < 601; i++) {
		make_code((unsigned)i, code);
		make_url(url, "YIMA.EXAMPLE.COM", code);
		qr = encode(url, YIMA_ECC_M);
		ck_assert_int_eq(yima_pdf_add(pdf, qr, code), 0);
		yima_qr_free(qr);
	}
	ck_assert_int_eq(yima_pdf_pages(pdf), 2);
	dir = tu_mkdtemp();
	path = tu_path(dir, "dense.pdf");
	ck_assert_int_eq(yima_pdf_save(pdf, path), 0);
	yima_pdf_free(pdf);
	read_pdf_page(dir, path, 2, 600, NULL, &f);
	make_code(600, code);
	make_url(url, "YIMA.EXAMPLE.COM", code);
	ck_assert_int_eq(f.n, 1);
	ck_assert_str_eq(f.text[0], url);
	tu_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_pdf_bad_layout)
{
	static const struct yima_pdf_layout bad[] = {
		{ 0, 4, 10.0 }, { 21, 4, 10.0 }, { -1, 4, 10.0 },
		{ 3, 0, 10.0 }, { 3, 31, 10.0 },
		{ 3, 4, -1.0 }, { 3, 4, 50.01 }, { 3, 4, NAN },
		{ 3, 4, INFINITY },
	};
	static const struct yima_pdf_layout good[] = {
		{ 1, 1, 0.0 }, { 20, 30, 50.0 }, YIMA_PDF_LAYOUT_DEFAULT,
	};
	struct yima_pdf *pdf;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pdf = NULL;
		ck_assert_int_eq(yima_pdf_new(&bad[i], &pdf), YIMA_EINVAL);
		ck_assert_ptr_null(pdf);
	}
	ck_assert_int_eq(yima_pdf_new(NULL, &pdf), YIMA_EINVAL);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		pdf = NULL;
		ck_assert_int_eq(yima_pdf_new(&good[i], &pdf), 0);
		yima_pdf_free(pdf);
	}
	yima_pdf_free(NULL);
}
END_TEST

START_TEST(test_pdf_errors)
{
	struct yima_pdf_layout l = YIMA_PDF_LAYOUT_DEFAULT;
	struct yima_pdf *pdf = NULL;
	struct yima_qr *qr;

	qr = encode("HTTPS://YIMA.EXAMPLE.COM/C/0123456789ABCDEFGHIJKLMN",
	    YIMA_ECC_M);
	ck_assert_int_eq(yima_pdf_new(&l, &pdf), 0);
	ck_assert_int_eq(yima_pdf_add(pdf, qr, "BAD\nTEXT"), YIMA_EINVAL);
	ck_assert_int_eq(yima_pdf_add(pdf, qr, "caf\xc3\xa9"), YIMA_EINVAL);
	ck_assert_int_eq(yima_pdf_add(pdf, qr, "0123456789ABCDEFGHIJKLMN"),
	    0);
	ck_assert_int_eq(yima_pdf_add(pdf, qr, ""), 0);
	ck_assert_int_eq(yima_pdf_save(pdf, "/nonexistent-dir/x/sheet.pdf"),
	    YIMA_EIO);
	/* The document is still usable after a failed save. */
	ck_assert_int_eq(yima_pdf_add(pdf, qr, "AFTER"), 0);
	ck_assert_int_eq(yima_pdf_pages(pdf), 1);
	yima_pdf_free(pdf);
	yima_qr_free(qr);
}
END_TEST

Suite *
render_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("render");

	tc = tcase_create("qr");
	tcase_add_test(tc, test_qr_versions);
	tcase_add_test(tc, test_qr_one_too_many);
	tcase_add_test(tc, test_qr_ecc);
	tcase_add_test(tc, test_qr_bad_text);
	tcase_add_test(tc, test_qr_dark_bounds);
	tcase_add_test(tc, test_qr_matches_libqrencode);
	tcase_add_test(tc, test_qr_alloc_failures);
	suite_add_tcase(s, tc);

	tc = tcase_create("svg");
	tcase_add_test(tc, test_svg_roundtrip);
	tcase_add_test(tc, test_svg_appends);
	tcase_add_test(tc, test_svg_text);
	tcase_add_test(tc, test_svg_alloc_failures);
	suite_add_tcase(s, tc);

	tc = tcase_create("png");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_png_roundtrip);
	tcase_add_test(tc, test_png_scales);
	tcase_add_test(tc, test_png_alloc_failures);
	suite_add_tcase(s, tc);

	tc = tcase_create("pdf");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pdf_sheet);
	tcase_add_test(tc, test_pdf_whole_page);
	tcase_add_test(tc, test_pdf_dense_sheet);
	tcase_add_test(tc, test_pdf_bad_layout);
	tcase_add_test(tc, test_pdf_errors);
	suite_add_tcase(s, tc);

	return s;
}
