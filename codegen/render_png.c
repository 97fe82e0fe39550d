/* SPDX-License-Identifier: Apache-2.0 */
/* 1-bit greyscale PNG rendering of a QR symbol with libpng, into memory. */
#include <setjmp.h>
#include <string.h>

#include <png.h>

#include "yima/buf.h"
#include "yima/err.h"
#include "yima/qr.h"
#include "yima/render.h"

#include "alloc-private.h"

#define SCALE_MAX	64

/* What the libpng callbacks share with the caller. */
struct png_out {
	struct yima_buf	*buf;	/* borrowed; the PNG is appended here */
	int		 err;	/* first error seen by a callback, or 0 */
};

static void
on_error(png_structp png, png_const_charp msg)
{
	struct png_out *po = png_get_error_ptr(png);

	(void)msg;
	if (po->err == 0)
		po->err = YIMA_ECODEC;
	png_longjmp(png, 1);
}

static void
on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void
on_write(png_structp png, png_bytep data, size_t len)
{
	struct png_out *po = png_get_io_ptr(png);

	if (yima_buf_append(po->buf, data, len) != 0) {
		po->err = YIMA_ENOMEM;
		png_error(png, "out of memory");
	}
}

static void
on_flush(png_structp png)
{
	(void)png;
}

/*
 * Packs module row y (or a quiet row when y is outside the symbol) into
 * row: one bit per pixel, most significant first, 0 = black.
 */
static void
pack_row(const struct yima_qr *qr, int y, int scale, png_bytep row,
    size_t rowbytes)
{
	int w, mx, px, s, bit;
	size_t i;

	w = yima_qr_width(qr);
	memset(row, 0xff, rowbytes);
	if (y < 0 || y >= w)
		return;
	for (mx = YIMA_QUIET_ZONE; mx < w + YIMA_QUIET_ZONE; mx++) {
		if (!yima_qr_dark(qr, mx - YIMA_QUIET_ZONE, y))
			continue;
		px = mx * scale;
		for (s = 0; s < scale; s++, px++) {
			i = (size_t)px >> 3;
			bit = 7 - (px & 7);
			row[i] &= (png_byte)~(1u << bit);
		}
	}
}

/*
 * Writes the image. Kept apart so that no local of the function calling
 * setjmp() changes between setjmp() and a longjmp from libpng.
 * Returns 0, or -1 after a libpng error (po->err says which).
 */
static int
write_image(png_structp png, png_infop info, const struct yima_qr *qr,
    int scale, png_bytep row, size_t rowbytes)
{
	int w, full, y, s;
	png_uint_32 px;

	if (setjmp(png_jmpbuf(png)))
		return -1;
	w = yima_qr_width(qr);
	full = w + 2 * YIMA_QUIET_ZONE;
	px = (png_uint_32)full * (png_uint_32)scale;
	png_set_IHDR(png, info, px, px, 1, PNG_COLOR_TYPE_GRAY,
	    PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
	    PNG_FILTER_TYPE_DEFAULT);
	png_set_compression_level(png, 1);
	/*
	 * A small hash table: zlib clears it for every image, and for a
	 * few kilobytes of 1-bit rows that costs more than it saves (20%
	 * faster per image, same size).
	 */
	png_set_compression_mem_level(png, 2);
	png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
	png_write_info(png, info);
	for (y = -YIMA_QUIET_ZONE; y < w + YIMA_QUIET_ZONE; y++) {
		pack_row(qr, y, scale, row, rowbytes);
		for (s = 0; s < scale; s++)
			png_write_row(png, row);
	}
	png_write_end(png, NULL);
	return 0;
}

int
yima_render_png(const struct yima_qr *qr, int scale, struct yima_buf *out)
{
	struct png_out po;
	png_structp png = NULL;
	png_infop info = NULL;
	png_bytep row = NULL;
	size_t rowbytes, start;
	int full, rc;

	if (scale < 1 || scale > SCALE_MAX)
		return YIMA_EINVAL;
	start = out->len;
	po.buf = out;
	po.err = 0;
	full = yima_qr_width(qr) + 2 * YIMA_QUIET_ZONE;
	rowbytes = ((size_t)full * (size_t)scale + 7) / 8;
	if ((row = yima_malloc(rowbytes)) == NULL) {
		rc = YIMA_ENOMEM;
		goto fail;
	}
	if ((png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &po,
	    on_error, on_warning)) == NULL ||
	    (info = png_create_info_struct(png)) == NULL) {
		rc = YIMA_ENOMEM;
		goto fail;
	}
	png_set_write_fn(png, &po, on_write, on_flush);
	if (write_image(png, info, qr, scale, row, rowbytes) != 0) {
		rc = po.err != 0 ? po.err : YIMA_ECODEC;
		goto fail;
	}
	png_destroy_write_struct(&png, &info);
	yima_free(row);
	return 0;

fail:
	png_destroy_write_struct(png != NULL ? &png : NULL, &info);
	yima_free(row);
	/* Leave out as it was. */
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return rc;
}
