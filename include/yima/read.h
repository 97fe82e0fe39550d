/* SPDX-License-Identifier: Apache-2.0 */
/* Reading printed codes back: decode QR symbols in images with zbar. */
#ifndef YIMA_READ_H
#define YIMA_READ_H

#include <stddef.h>

/* Called once per decoded symbol; data is borrowed for the call only. */
typedef void (*yima_read_fn)(void *ctx, const char *data, size_t len);

/*
 * Decodes every QR symbol in an 8-bit greyscale image (width*height bytes,
 * row-major) and calls fn for each. Only the QR symbology is enabled.
 * *nfound (may be NULL) receives the number of symbols, on success only.
 * Returns 0, YIMA_EINVAL (a side of 0 or over 16384 pixels), YIMA_ENOMEM
 * or YIMA_ECODEC.
 */
int yima_read_gray(const unsigned char *pixels, int width, int height,
    yima_read_fn fn, void *ctx, int *nfound);

/*
 * Reads a PNG file (any bit depth or colour type; converted to 8-bit grey,
 * images larger than 16384 pixels on a side are refused) and decodes it as
 * yima_read_gray() does. why (YIMA_WHY_MAX bytes, may be NULL) says what
 * went wrong. Returns 0, YIMA_EIO, YIMA_EINVAL (not a PNG or too large),
 * YIMA_ENOMEM or YIMA_ECODEC.
 */
int yima_read_png_file(const char *path, yima_read_fn fn, void *ctx,
    int *nfound, char *why);

#endif /* YIMA_READ_H */
