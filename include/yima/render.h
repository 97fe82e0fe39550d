/* SPDX-License-Identifier: Apache-2.0 */
/* Rendering QR symbols for printers: SVG, 1-bit PNG and PDF label sheets. */
#ifndef YIMA_RENDER_H
#define YIMA_RENDER_H

#include "yima/buf.h"
#include "yima/qr.h"

/* Quiet zone around every symbol, in modules (ISO/IEC 18004 minimum). */
#define YIMA_QUIET_ZONE 4

/*
 * Appends an SVG document for qr to out: one <path> of all dark modules,
 * with a 4-module quiet zone, one user unit per module, and a viewBox so
 * that printers scale it freely. text (NULL or "" for none; printable
 * ASCII) is written under the symbol, stretched to its width: a code's
 * human-readable text, "(01) GTIN (21) S" for a Digital Link code. On
 * failure out is unchanged. Returns 0 or YIMA_ENOMEM.
 */
int yima_render_svg(const struct yima_qr *qr, const char *text,
    struct yima_buf *out);

/*
 * Appends a 1-bit greyscale PNG (zlib level 1) of qr to out: scale pixels
 * per module (1-64), with a 4-module quiet zone. On failure out is
 * unchanged. Returns 0, YIMA_EINVAL (bad scale), YIMA_ENOMEM or
 * YIMA_ECODEC.
 */
int yima_render_png(const struct yima_qr *qr, int scale, struct yima_buf *out);

/* Layout of an A4 label sheet. */
struct yima_pdf_layout {
	int	cols;		/* labels across (1-20); dense grids give
				   modules too small for most printers */
	int	rows;		/* labels down (1-30) */
	double	margin_mm;	/* page margin on every side (0-50) */
};

#define YIMA_PDF_LAYOUT_DEFAULT { 5, 8, 10.0 }

struct yima_pdf;

/*
 * Starts a PDF of A4 label sheets. Each label holds one QR symbol drawn
 * as vector rectangles (quiet zone included) and its text underneath.
 * The caller frees it with yima_pdf_free().
 * Returns 0, YIMA_EINVAL (layout out of range), YIMA_ENOMEM or YIMA_ECODEC.
 */
int yima_pdf_new(const struct yima_pdf_layout *layout, struct yima_pdf **out);
/*
 * Adds one label (next cell; a new page when the sheet is full). text is
 * printed under the symbol (printable ASCII, e.g. the 24-character code;
 * NULL or "" prints none). Returns 0, YIMA_EINVAL (text not printable
 * ASCII), YIMA_ENOMEM or YIMA_ECODEC.
 */
int yima_pdf_add(struct yima_pdf *pdf, const struct yima_qr *qr,
    const char *text);
/*
 * Writes the document to path. A failure may leave a partial file there
 * (yima_mint removes it with the rest of a failed batch).
 * Returns 0, YIMA_EIO or YIMA_ECODEC.
 */
int yima_pdf_save(struct yima_pdf *pdf, const char *path);
/* Number of pages so far. */
int yima_pdf_pages(const struct yima_pdf *pdf);
void yima_pdf_free(struct yima_pdf *pdf);

#endif /* YIMA_RENDER_H */
