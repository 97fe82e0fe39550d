/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for reading QR symbols back from grey pixels and PNG files. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <png.h>

#include "yima/buf.h"
#include "yima/err.h"
#include "yima/qr.h"
#include "yima/read.h"
#include "yima/render.h"

#include "../codegen/alloc-private.h"
#include "testutil.h"

Suite *read_suite(void);

#define URL	"HTTPS://YIMA.EXAMPLE.COM/C/0123456789ABCDEFGHIJKLMN"
#define SCALE	4

struct found {
	char	text[8][128];
	int	n;
};

static void
collect(void *ctx, const char *data, size_t len)
{
	struct found *f = ctx;

	ck_assert_int_lt(f->n, 8);
	ck_assert_uint_lt(len, sizeof(f->text[0]));
	memcpy(f->text[f->n], data, len);
	f->text[f->n][len] = '\0';
	f->n++;
}

static struct yima_qr *
encode(const char *text)
{
	struct yima_qr *qr = NULL;

	ck_assert_int_eq(yima_qr_encode(text, strlen(text), YIMA_ECC_M, &qr),
	    0);
	return qr;
}

/* 8-bit grey pixels of qr at SCALE with its quiet zone; malloc'd. */
static unsigned char *
gray_pixels(const struct yima_qr *qr, int *side)
{
	unsigned char *px;
	int full, x, y;

	full = (yima_qr_width(qr) + 2 * YIMA_QUIET_ZONE) * SCALE;
	ck_assert_ptr_nonnull(px = malloc((size_t)full * full));
	for (y = 0; y < full; y++)
		for (x = 0; x < full; x++)
			px[y * full + x] = yima_qr_dark(qr,
			    x / SCALE - YIMA_QUIET_ZONE,
			    y / SCALE - YIMA_QUIET_ZONE) ? 0 : 255;
	*side = full;
	return px;
}

/* A test directory, removed by teardown. */
static char *dir;

static void
setup(void)
{
	dir = tu_mkdtemp();
}

static void
teardown(void)
{
	tu_rmtree(dir);
	free(dir);
	dir = NULL;
}

/* Writes a valid 1-bit PNG of URL to name in dir; returns its path. */
static char *
write_qr_png(const char *name, struct yima_buf *b)
{
	struct yima_qr *qr;
	char *path;

	qr = encode(URL);
	ck_assert_int_eq(yima_render_png(qr, SCALE, b), 0);
	yima_qr_free(qr);
	path = tu_path(dir, name);
	ck_assert_int_eq(tu_write_file(path, b->data, b->len), 0);
	return path;
}

START_TEST(test_read_gray)
{
	struct yima_qr *qr;
	struct found f;
	unsigned char *px;
	int side, n = -1;

	qr = encode(URL);
	px = gray_pixels(qr, &side);
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(yima_read_gray(px, side, side, collect, &f, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(f.n, 1);
	ck_assert_str_eq(f.text[0], URL);
	/* fn and nfound are optional. */
	ck_assert_int_eq(yima_read_gray(px, side, side, NULL, NULL, NULL), 0);
	free(px);
	yima_qr_free(qr);
}
END_TEST

START_TEST(test_read_gray_blank)
{
	unsigned char *px;
	struct found f;
	int n = -1;

	ck_assert_ptr_nonnull(px = malloc(300 * 200));
	memset(px, 255, 300 * 200);
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(yima_read_gray(px, 300, 200, collect, &f, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(f.n, 0);
	free(px);
}
END_TEST

START_TEST(test_read_gray_bad_args)
{
	unsigned char px[16] = { 0 };
	int n = 7;

	ck_assert_int_eq(yima_read_gray(NULL, 4, 4, NULL, NULL, &n),
	    YIMA_EINVAL);
	ck_assert_int_eq(yima_read_gray(px, 0, 4, NULL, NULL, &n),
	    YIMA_EINVAL);
	ck_assert_int_eq(yima_read_gray(px, 4, -1, NULL, NULL, &n),
	    YIMA_EINVAL);
	ck_assert_int_eq(yima_read_gray(px, 16385, 1, NULL, NULL, &n),
	    YIMA_EINVAL);
	ck_assert_int_eq(n, 7);
}
END_TEST

START_TEST(test_read_png_file)
{
	struct yima_buf b = YIMA_BUF_INIT;
	char why[YIMA_WHY_MAX];
	struct found f;
	char *path;
	int n = -1;

	path = write_qr_png("qr.png", &b);
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(yima_read_png_file(path, collect, &f, &n, why), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(f.text[0], URL);
	ck_assert_int_eq(yima_read_png_file(path, NULL, NULL, NULL, NULL), 0);
	free(path);
	yima_buf_free(&b);
}
END_TEST

START_TEST(test_read_garbage)
{
	char why[YIMA_WHY_MAX];
	char *path;
	int n = 7;

	path = tu_path(dir, "garbage.png");
	ck_assert_int_eq(tu_write_file(path, "this is not a PNG image at all",
	    30), 0);
	ck_assert_int_eq(yima_read_png_file(path, NULL, NULL, &n, why),
	    YIMA_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "not a PNG file"));
	ck_assert_ptr_nonnull(strstr(why, path));
	ck_assert_int_eq(n, 7);
	/* Shorter than the signature, and empty. */
	ck_assert_int_eq(tu_write_file(path, "\x89PNG", 4), 0);
	ck_assert_int_eq(yima_read_png_file(path, NULL, NULL, &n, why),
	    YIMA_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "not a PNG file"));
	ck_assert_int_eq(tu_write_file(path, "", 0), 0);
	ck_assert_int_eq(yima_read_png_file(path, NULL, NULL, &n, NULL),
	    YIMA_EINVAL);
	free(path);
}
END_TEST

START_TEST(test_read_missing)
{
	char why[YIMA_WHY_MAX];
	char *path;

	path = tu_path(dir, "no-such-file.png");
	ck_assert_int_eq(yima_read_png_file(path, NULL, NULL, NULL, why),
	    YIMA_EIO);
	ck_assert_ptr_nonnull(strstr(why, path));
	ck_assert_ptr_nonnull(strstr(why, strerror(ENOENT)));
	/* A directory opens but cannot be read. */
	ck_assert_int_eq(yima_read_png_file(dir, NULL, NULL, NULL, why),
	    YIMA_EIO);
	free(path);
}
END_TEST

START_TEST(test_read_truncated)
{
	struct yima_buf b = YIMA_BUF_INIT;
	char why[YIMA_WHY_MAX];
	char *path, *cut;
	size_t len;
	int n = 7;

	path = write_qr_png("qr.png", &b);
	cut = tu_path(dir, "cut.png");
	/* Every cut, from just past the signature to one byte short. */
	for (len = 8; len < b.len; len += len < 64 ? 1 : 17) {
		ck_assert_int_eq(tu_write_file(cut, b.data, len), 0);
		ck_assert_int_eq(yima_read_png_file(cut, NULL, NULL, &n, why),
		    YIMA_EINVAL);
		ck_assert_ptr_nonnull(strstr(why, "corrupt PNG"));
		ck_assert_int_eq(n, 7);
	}
	ck_assert_int_eq(tu_write_file(cut, b.data, b.len / 2), 0);
	ck_assert_int_eq(yima_read_png_file(cut, NULL, NULL, &n, why),
	    YIMA_EINVAL);
	free(cut);
	free(path);
	yima_buf_free(&b);
}
END_TEST

START_TEST(test_read_corrupt)
{
	struct yima_buf b = YIMA_BUF_INIT;
	char why[YIMA_WHY_MAX];
	char *path;
	size_t i;

	path = write_qr_png("qr.png", &b);
	/* Flip one byte in each position after the signature: CRCs catch it. */
	for (i = 8; i < b.len; i++) {
		b.data[i] ^= 0x5a;
		ck_assert_int_eq(tu_write_file(path, b.data, b.len), 0);
		ck_assert_int_eq(yima_read_png_file(path, NULL, NULL, NULL,
		    why), YIMA_EINVAL);
		b.data[i] ^= 0x5a;
	}
	free(path);
	yima_buf_free(&b);
}
END_TEST

/* Writes px (fmt from libpng's simplified API) as a PNG file. */
static void
write_simple_png(const char *path, const void *px, int w, int h,
    png_uint_32 fmt)
{
	png_image img;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	img.width = (png_uint_32)w;
	img.height = (png_uint_32)h;
	img.format = fmt;
	ck_assert_int_ne(png_image_write_to_file(&img, path, 0, px, 0, NULL),
	    0);
}

START_TEST(test_read_formats)
{
	static const png_uint_32 fmts[] = {
		PNG_FORMAT_GRAY, PNG_FORMAT_RGB, PNG_FORMAT_BGRA,
		PNG_FORMAT_GA, PNG_FORMAT_LINEAR_Y, PNG_FORMAT_LINEAR_RGB_ALPHA,
	};
	char why[YIMA_WHY_MAX];
	struct yima_qr *qr;
	struct found f;
	unsigned char *gray, *px;
	char *path;
	size_t i, p, npx, c, ch;
	unsigned int v;
	int side, n, alpha;

	qr = encode(URL);
	gray = gray_pixels(qr, &side);
	npx = (size_t)side * (size_t)side;
	ck_assert_ptr_nonnull(px = malloc(npx * 4 * 2));
	path = tu_path(dir, "fmt.png");
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		ch = PNG_IMAGE_SAMPLE_CHANNELS(fmts[i]);
		for (p = 0; p < npx; p++) {
			for (c = 0; c < ch; c++) {
				/*
				 * With alpha, white is transparent black: only
				 * compositing over white makes it paper again.
				 */
				v = gray[p];
				alpha = (fmts[i] & PNG_FORMAT_FLAG_ALPHA) &&
				    (fmts[i] & PNG_FORMAT_FLAG_AFIRST ?
				    c == 0 : c == ch - 1);
				if (fmts[i] & PNG_FORMAT_FLAG_ALPHA)
					v = alpha ? 255 - gray[p] : 0;
				if (fmts[i] & PNG_FORMAT_FLAG_LINEAR)
					((uint16_t *)(void *)px)[p * ch + c] =
					    (uint16_t)(v * 257);
				else
					px[p * ch + c] = (unsigned char)v;
			}
		}
		write_simple_png(path, px, side, side, fmts[i]);
		memset(&f, 0, sizeof(f));
		n = -1;
		ck_assert_msg(yima_read_png_file(path, collect, &f, &n,
		    why) == 0, "format %zu: %s", i, why);
		ck_assert_msg(n == 1, "format %zu: %d symbols", i, n);
		ck_assert_str_eq(f.text[0], URL);
	}
	free(path);
	free(px);
	free(gray);
	yima_qr_free(qr);
}
END_TEST

START_TEST(test_read_blank_png)
{
	unsigned char *px;
	char why[YIMA_WHY_MAX];
	char *path;
	int n = -1;

	ck_assert_ptr_nonnull(px = malloc(256 * 128));
	memset(px, 255, 256 * 128);
	path = tu_path(dir, "white.png");
	write_simple_png(path, px, 256, 128, PNG_FORMAT_GRAY);
	ck_assert_int_eq(yima_read_png_file(path, NULL, NULL, &n, why), 0);
	ck_assert_int_eq(n, 0);
	free(path);
	free(px);
}
END_TEST

START_TEST(test_read_too_large)
{
	unsigned char *px;
	char why[YIMA_WHY_MAX];
	char *path;
	int n = 7;

	ck_assert_ptr_nonnull(px = malloc(16385));
	memset(px, 255, 16385);
	path = tu_path(dir, "wide.png");
	write_simple_png(path, px, 16385, 1, PNG_FORMAT_GRAY);
	ck_assert_int_eq(yima_read_png_file(path, NULL, NULL, &n, why),
	    YIMA_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "16384"));
	ck_assert_int_eq(n, 7);
	write_simple_png(path, px, 1, 16385, PNG_FORMAT_GRAY);
	ck_assert_int_eq(yima_read_png_file(path, NULL, NULL, &n, why),
	    YIMA_EINVAL);
	/* The limit itself is fine. */
	write_simple_png(path, px, 16384, 1, PNG_FORMAT_GRAY);
	ck_assert_int_eq(yima_read_png_file(path, NULL, NULL, &n, why), 0);
	ck_assert_int_eq(n, 0);
	free(path);
	free(px);
}
END_TEST

START_TEST(test_read_alloc_failures)
{
	struct yima_buf b = YIMA_BUF_INIT;
	char why[YIMA_WHY_MAX];
	unsigned long k;
	char *path;
	int rc = -1, n = -1;

	path = write_qr_png("qr.png", &b);
	for (k = 1; k < 100; k++) {
		yima_test_fail_alloc_(k);
		rc = yima_read_png_file(path, NULL, NULL, &n, why);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, YIMA_ENOMEM);
		ck_assert_ptr_nonnull(strstr(why, "out of memory"));
	}
	yima_test_fail_alloc_(0);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_gt(k, 1);
	ck_assert_int_eq(n, 1);
	free(path);
	yima_buf_free(&b);
}
END_TEST

Suite *
read_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("read");

	tc = tcase_create("gray");
	tcase_add_test(tc, test_read_gray);
	tcase_add_test(tc, test_read_gray_blank);
	tcase_add_test(tc, test_read_gray_bad_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("png");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_read_png_file);
	tcase_add_test(tc, test_read_garbage);
	tcase_add_test(tc, test_read_missing);
	tcase_add_test(tc, test_read_truncated);
	tcase_add_test(tc, test_read_corrupt);
	tcase_add_test(tc, test_read_formats);
	tcase_add_test(tc, test_read_blank_png);
	tcase_add_test(tc, test_read_too_large);
	tcase_add_test(tc, test_read_alloc_failures);
	suite_add_tcase(s, tc);

	return s;
}
