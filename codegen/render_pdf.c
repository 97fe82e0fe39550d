/* SPDX-License-Identifier: Apache-2.0 */
/* A4 PDF label sheets of vector QR symbols with their text, via libharu. */
#include <string.h>

#include <hpdf.h>

#include "yima/err.h"
#include "yima/qr.h"
#include "yima/render.h"

#include "alloc-private.h"

#define A4_W		595.276		/* points */
#define A4_H		841.89
#define PT_PER_MM	(72.0 / 25.4)
#define TEXT_GAP	2.0		/* between symbol and text, points */
#define TEXT_BAND	9.0		/* room under the symbol for the text */
#define FONT_MAX	7.0		/* text size when it fits the cell */
#define COURIER_EM	0.6		/* Courier advance width, in em */
#define SYMBOL_FILL	0.9		/* share of the cell the symbol fills */

struct yima_pdf {
	HPDF_Doc		doc;	/* owned */
	HPDF_Page		page;	/* current page, owned by doc; or NULL */
	HPDF_Font		font;	/* built-in Courier, owned by doc */
	struct yima_pdf_layout	layout;
	int			index;	/* labels on the current page */
	int			pages;	/* pages so far */
	HPDF_STATUS		err;	/* first libharu error since checked */
};

/* libharu reports errors here; we record them instead of aborting. */
static void
on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
	struct yima_pdf *pdf = user_data;

	(void)detail_no;
	if (pdf->err == HPDF_OK)
		pdf->err = error_no;
}

/* Maps and clears the recorded libharu error; 0 if there was none. */
static int
take_error(struct yima_pdf *pdf)
{
	HPDF_STATUS e = pdf->err;

	if (e == HPDF_OK)
		return 0;
	pdf->err = HPDF_OK;
	if (pdf->doc != NULL)
		HPDF_ResetError(pdf->doc);
	switch (e) {
	case HPDF_FAILD_TO_ALLOC_MEM:
		return YIMA_ENOMEM;
	case HPDF_FILE_IO_ERROR:
	case HPDF_FILE_OPEN_ERROR:
		return YIMA_EIO;
	default:
		return YIMA_ECODEC;
	}
}

static int
layout_ok(const struct yima_pdf_layout *l)
{
	/* The negated test also rejects a NaN margin. */
	if (l->cols < 1 || l->cols > 20 || l->rows < 1 || l->rows > 30)
		return 0;
	if (!(l->margin_mm >= 0.0 && l->margin_mm <= 50.0))
		return 0;
	return 1;
}

int
yima_pdf_new(const struct yima_pdf_layout *layout, struct yima_pdf **out)
{
	struct yima_pdf *pdf = NULL;
	int rc;

	if (layout == NULL || !layout_ok(layout))
		return YIMA_EINVAL;
	if ((pdf = yima_calloc(1, sizeof(*pdf))) == NULL)
		return YIMA_ENOMEM;
	pdf->layout = *layout;
	pdf->err = HPDF_OK;
	if ((pdf->doc = HPDF_New(on_error, pdf)) == NULL) {
		rc = YIMA_ENOMEM;
		goto fail;
	}
	HPDF_SetCompressionMode(pdf->doc, HPDF_COMP_ALL);
	pdf->font = HPDF_GetFont(pdf->doc, "Courier", NULL);
	if ((rc = take_error(pdf)) != 0)
		goto fail;
	if (pdf->font == NULL) {
		rc = YIMA_ECODEC;
		goto fail;
	}
	*out = pdf;
	return 0;

fail:
	yima_pdf_free(pdf);
	return rc;
}

static int
new_page(struct yima_pdf *pdf)
{
	HPDF_Page page;
	int rc;

	page = HPDF_AddPage(pdf->doc);
	if (page != NULL) {
		HPDF_Page_SetSize(page, HPDF_PAGE_SIZE_A4,
		    HPDF_PAGE_PORTRAIT);
		HPDF_Page_SetGrayFill(page, 0.0);
	}
	if ((rc = take_error(pdf)) != 0)
		return rc;
	if (page == NULL)
		return YIMA_ECODEC;
	pdf->page = page;
	pdf->index = 0;
	pdf->pages++;
	return 0;
}

/* Draws qr's dark modules as one filled path, one rectangle per run. */
static void
draw_symbol(HPDF_Page page, const struct yima_qr *qr, double left,
    double top, double module)
{
	int w, x, y, x0, runs = 0;

	w = yima_qr_width(qr);
	for (y = 0; y < w; y++) {
		x = 0;
		while (x < w) {
			if (!yima_qr_dark(qr, x, y)) {
				x++;
				continue;
			}
			x0 = x;
			while (x < w && yima_qr_dark(qr, x, y))
				x++;
			HPDF_Page_Rectangle(page,
			    (HPDF_REAL)(left + (x0 + YIMA_QUIET_ZONE) * module),
			    (HPDF_REAL)(top - (y + YIMA_QUIET_ZONE + 1) *
			    module),
			    (HPDF_REAL)((x - x0) * module),
			    (HPDF_REAL)module);
			runs++;
		}
	}
	if (runs > 0)
		HPDF_Page_Fill(page);
}

int
yima_pdf_add(struct yima_pdf *pdf, const struct yima_qr *qr,
    const char *text)
{
	const struct yima_pdf_layout *l = &pdf->layout;
	double margin, cell_w, cell_h, cell_x, cell_top, side, module;
	double left, top, font, tw;
	size_t i, len;
	int rc, full;

	len = text != NULL ? strlen(text) : 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 ||
		    (unsigned char)text[i] > 0x7e)
			return YIMA_EINVAL;
	if (pdf->page == NULL || pdf->index >= l->cols * l->rows) {
		if ((rc = new_page(pdf)) != 0)
			return rc;
	}

	margin = l->margin_mm * PT_PER_MM;
	cell_w = (A4_W - 2 * margin) / l->cols;
	cell_h = (A4_H - 2 * margin) / l->rows;
	cell_x = margin + (pdf->index % l->cols) * cell_w;
	cell_top = A4_H - margin - (pdf->index / l->cols) * cell_h;

	/* The symbol, quiet zone included, and the text band are centred. */
	side = cell_h - TEXT_BAND < cell_w ? cell_h - TEXT_BAND : cell_w;
	side *= SYMBOL_FILL;
	full = yima_qr_width(qr) + 2 * YIMA_QUIET_ZONE;
	module = side / full;
	left = cell_x + (cell_w - side) / 2;
	top = cell_top - (cell_h - side - TEXT_BAND) / 2;
	draw_symbol(pdf->page, qr, left, top, module);

	if (len > 0) {
		font = FONT_MAX;
		tw = COURIER_EM * font * (double)len;
		if (tw > cell_w * 0.95) {
			font = cell_w * 0.95 / (COURIER_EM * (double)len);
			tw = COURIER_EM * font * (double)len;
		}
		HPDF_Page_BeginText(pdf->page);
		HPDF_Page_SetFontAndSize(pdf->page, pdf->font,
		    (HPDF_REAL)font);
		HPDF_Page_TextOut(pdf->page,
		    (HPDF_REAL)(cell_x + (cell_w - tw) / 2),
		    (HPDF_REAL)(top - side - TEXT_GAP - 0.7 * font), text);
		HPDF_Page_EndText(pdf->page);
	}
	if ((rc = take_error(pdf)) != 0)
		return rc;
	pdf->index++;
	return 0;
}

int
yima_pdf_save(struct yima_pdf *pdf, const char *path)
{
	int rc;

	if (HPDF_SaveToFile(pdf->doc, path) != HPDF_OK) {
		rc = take_error(pdf);
		return rc != 0 ? rc : YIMA_ECODEC;
	}
	return take_error(pdf);
}

int
yima_pdf_pages(const struct yima_pdf *pdf)
{
	return pdf->pages;
}

void
yima_pdf_free(struct yima_pdf *pdf)
{
	if (pdf == NULL)
		return;
	if (pdf->doc != NULL)
		HPDF_Free(pdf->doc);
	yima_free(pdf);
}
