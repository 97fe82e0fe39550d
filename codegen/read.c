/* SPDX-License-Identifier: Apache-2.0 */
/* Reading printed codes back: PNG files to grey pixels, then zbar QR. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <png.h>
#include <zbar.h>

#include "yima/err.h"
#include "yima/read.h"

#include "alloc-private.h"
#include "err-private.h"

#define SIDE_MAX	16384	/* pixels; larger images are refused */

int
yima_read_gray(const unsigned char *pixels, int width, int height,
    yima_read_fn fn, void *ctx, int *nfound)
{
	zbar_image_scanner_t *scanner = NULL;
	zbar_image_t *img = NULL;
	const zbar_symbol_t *sym;
	int n = 0, rc;

	if (pixels == NULL || width < 1 || height < 1 ||
	    width > SIDE_MAX || height > SIDE_MAX)
		return YIMA_EINVAL;
	if ((scanner = zbar_image_scanner_create()) == NULL ||
	    (img = zbar_image_create()) == NULL) {
		rc = YIMA_ENOMEM;
		goto fail;
	}
	zbar_image_scanner_set_config(scanner, 0, ZBAR_CFG_ENABLE, 0);
	zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
	zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(img, (unsigned int)width, (unsigned int)height);
	/* Borrowed pixels: no cleanup handler, zbar does not free them. */
	zbar_image_set_data(img, pixels,
	    (unsigned long)width * (unsigned long)height, NULL);
	if (zbar_scan_image(scanner, img) < 0) {
		rc = YIMA_ECODEC;
		goto fail;
	}
	for (sym = zbar_image_first_symbol(img); sym != NULL;
	    sym = zbar_symbol_next(sym)) {
		if (zbar_symbol_get_type(sym) != ZBAR_QRCODE)
			continue;
		if (fn != NULL)
			fn(ctx, zbar_symbol_get_data(sym),
			    zbar_symbol_get_data_length(sym));
		n++;
	}
	rc = 0;
	if (nfound != NULL)
		*nfound = n;

fail:
	if (img != NULL)
		zbar_image_destroy(img);
	if (scanner != NULL)
		zbar_image_scanner_destroy(scanner);
	return rc;
}

/* State of one PNG read, kept outside the frame that calls setjmp(). */
struct png_in {
	FILE		*f;		/* owned */
	png_structp	 png;		/* owned, with info */
	png_infop	 info;
	unsigned char	*img;		/* owned; decoded rows, rowbytes each */
	png_bytep	*rows;		/* owned; pointers into img */
	unsigned char	*gray;		/* owned; width * height, 8-bit */
	png_uint_32	 width;
	png_uint_32	 height;
	int		 err;		/* yima error when not a libpng one */
	char		 msg[128];	/* libpng's error text */
};

static void
on_error(png_structp png, png_const_charp msg)
{
	struct png_in *in = png_get_error_ptr(png);

	snprintf(in->msg, sizeof(in->msg), "%s", msg);
	png_longjmp(png, 1);
}

static void
on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/*
 * Decodes in->png into in->gray. Everything it changes lives in *in, so
 * nothing is lost when libpng longjmps back here.
 * Returns 0, or -1 (in->err set, or a libpng error in in->msg).
 */
static int
decode(struct png_in *in)
{
	png_uint_32 y, x;
	size_t rowbytes;
	int color, depth, channels;
	unsigned char *src, *dst;
	unsigned int g, a;

	if (setjmp(png_jmpbuf(in->png)))
		return -1;
	png_init_io(in->png, in->f);
	png_set_sig_bytes(in->png, 8);
	png_read_info(in->png, in->info);
	in->width = png_get_image_width(in->png, in->info);
	in->height = png_get_image_height(in->png, in->info);
	if (in->width < 1 || in->height < 1 ||
	    in->width > SIDE_MAX || in->height > SIDE_MAX) {
		in->err = YIMA_EINVAL;
		return -1;
	}
	color = png_get_color_type(in->png, in->info);
	depth = png_get_bit_depth(in->png, in->info);
	if (color == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(in->png);
	if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(in->png);
	if (png_get_valid(in->png, in->info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(in->png);
	if (depth == 16)
		png_set_strip_16(in->png);
	if (color == PNG_COLOR_TYPE_PALETTE || (color & PNG_COLOR_MASK_COLOR))
		png_set_rgb_to_gray_fixed(in->png, 1, -1, -1);
	png_set_interlace_handling(in->png);
	png_read_update_info(in->png, in->info);
	channels = png_get_channels(in->png, in->info);
	rowbytes = png_get_rowbytes(in->png, in->info);
	if ((channels != 1 && channels != 2) ||
	    png_get_bit_depth(in->png, in->info) != 8 ||
	    rowbytes < (size_t)in->width * (size_t)channels) {
		snprintf(in->msg, sizeof(in->msg), "unexpected pixel format");
		return -1;
	}

	if ((in->img = yima_malloc(rowbytes * in->height)) == NULL ||
	    (in->rows = yima_malloc(sizeof(*in->rows) * in->height)) ==
	    NULL ||
	    (in->gray = yima_malloc((size_t)in->width * in->height)) ==
	    NULL) {
		in->err = YIMA_ENOMEM;
		return -1;
	}
	for (y = 0; y < in->height; y++)
		in->rows[y] = in->img + (size_t)y * rowbytes;
	png_read_image(in->png, in->rows);
	png_read_end(in->png, NULL);

	/* Composite any alpha over white, as paper would show it. */
	dst = in->gray;
	for (y = 0; y < in->height; y++) {
		src = in->rows[y];
		if (channels == 1) {
			memcpy(dst, src, in->width);
			dst += in->width;
			continue;
		}
		for (x = 0; x < in->width; x++) {
			g = src[2 * x];
			a = src[2 * x + 1];
			*dst++ = (unsigned char)((g * a + 255 * (255 - a) +
			    127) / 255);
		}
	}
	return 0;
}

int
yima_read_png_file(const char *path, yima_read_fn fn, void *ctx,
    int *nfound, char *why)
{
	struct png_in in;
	unsigned char sig[8];
	int rc;

	memset(&in, 0, sizeof(in));
	if ((in.f = fopen(path, "rb")) == NULL) {
		rc = yima_why_(why, YIMA_EIO, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fread(sig, 1, sizeof(sig), in.f) != sizeof(sig)) {
		if (ferror(in.f)) {
			rc = yima_why_(why, YIMA_EIO, "%s: %s", path,
			    strerror(errno));
			goto fail;
		}
		rc = yima_why_(why, YIMA_EINVAL, "%s: not a PNG file", path);
		goto fail;
	}
	if (png_sig_cmp(sig, 0, sizeof(sig)) != 0) {
		rc = yima_why_(why, YIMA_EINVAL, "%s: not a PNG file", path);
		goto fail;
	}
	if ((in.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &in,
	    on_error, on_warning)) == NULL ||
	    (in.info = png_create_info_struct(in.png)) == NULL) {
		rc = yima_why_(why, YIMA_ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	if (decode(&in) != 0) {
		if (in.err == YIMA_ENOMEM)
			rc = yima_why_(why, in.err, "%s: out of memory", path);
		else if (in.err != 0)
			rc = yima_why_(why, in.err,
			    "%s: image is empty or larger than %d pixels "
			    "on a side", path, SIDE_MAX);
		else
			rc = yima_why_(why, YIMA_EINVAL, "%s: corrupt PNG (%s)",
			    path, in.msg);
		goto fail;
	}
	rc = yima_read_gray(in.gray, (int)in.width, (int)in.height, fn, ctx,
	    nfound);
	if (rc != 0)
		yima_why_(why, rc, "%s: QR decoder failed: %s", path,
		    yima_strerror(rc));

fail:
	if (in.png != NULL)
		png_destroy_read_struct(&in.png, &in.info, NULL);
	yima_free(in.gray);
	yima_free(in.rows);
	yima_free(in.img);
	if (in.f != NULL)
		fclose(in.f);
	return rc;
}
