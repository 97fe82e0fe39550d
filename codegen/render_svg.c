/* SPDX-License-Identifier: Apache-2.0 */
/* SVG rendering of a QR symbol: one path of horizontal runs of dark modules. */
#include <assert.h>
#include <string.h>

#include "yima/buf.h"
#include "yima/err.h"
#include "yima/qr.h"
#include "yima/render.h"

/* Longest run command: "M999 999h999v1h-999z". */
#define RUN_MAX		24
/* Header and trailer with three-digit sizes fit easily in this. */
#define FRAME_MAX	768
#define SVG_TEXT_H	3	/* modules of height for the text */

/* Writes v in decimal at p; returns the end. Faster than printf per run. */
static char *
put_uint(char *p, unsigned int v)
{
	char tmp[10];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static char *
put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/* The label text as XML character data: printable ASCII, escaped. */
static char *
put_text(char *p, const char *t)
{
	for (; *t != '\0'; t++)
		if (*t == '&')
			p = put_str(p, "&amp;");
		else if (*t == '<')
			p = put_str(p, "&lt;");
		else if (*t == '>')
			p = put_str(p, "&gt;");
		else if (*t >= 0x20 && *t < 0x7f)
			*p++ = *t;
	return p;
}

int
yima_render_svg(const struct yima_qr *qr, const char *text,
    struct yima_buf *out)
{
	unsigned int w, full, high, x, y, x0, n;
	size_t need;
	char *p;

	w = (unsigned int)yima_qr_width(qr);
	full = w + 2 * YIMA_QUIET_ZONE;
	if (text != NULL && text[0] == '\0')
		text = NULL;
	/* The text's line: 3 modules under the quiet zone. */
	high = full + (text != NULL ? SVG_TEXT_H : 0);
	/* At most (w + 1) / 2 runs in a row: reserve once, write directly. */
	assert(w > 0 && w <= 177);
	need = FRAME_MAX + (size_t)w * ((w + 1) / 2) * RUN_MAX +
	    (text != NULL ? 5 * strlen(text) : 0);
	if (yima_buf_reserve(out, need) != 0)
		return YIMA_ENOMEM;

	p = out->data + out->len;
	p = put_str(p, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	    "viewBox=\"0 0 ");
	p = put_uint(p, full);
	*p++ = ' ';
	p = put_uint(p, high);
	p = put_str(p, "\">\n<rect width=\"");
	p = put_uint(p, full);
	p = put_str(p, "\" height=\"");
	p = put_uint(p, high);
	p = put_str(p, "\" fill=\"#fff\"/>\n"
	    "<path fill=\"#000\" shape-rendering=\"crispEdges\" d=\"");
	for (y = 0; y < w; y++) {
		x = 0;
		while (x < w) {
			if (!yima_qr_dark(qr, (int)x, (int)y)) {
				x++;
				continue;
			}
			x0 = x;
			while (x < w && yima_qr_dark(qr, (int)x, (int)y))
				x++;
			n = x - x0;
			*p++ = 'M';
			p = put_uint(p, x0 + YIMA_QUIET_ZONE);
			*p++ = ' ';
			p = put_uint(p, y + YIMA_QUIET_ZONE);
			*p++ = 'h';
			p = put_uint(p, n);
			p = put_str(p, "v1h-");
			p = put_uint(p, n);
			*p++ = 'z';
		}
	}
	p = put_str(p, "\"/>\n");
	if (text != NULL) {
		/* Stretched to the symbol's width, whatever the font. */
		p = put_str(p, "<text x=\"");
		p = put_uint(p, full / 2);
		p = put_str(p, "\" y=\"");
		p = put_uint(p, full + 1);
		p = put_str(p, "\" font-family=\"monospace\" font-size=\"2\" "
		    "text-anchor=\"middle\" textLength=\"");
		p = put_uint(p, full - 2);
		p = put_str(p, "\" lengthAdjust=\"spacingAndGlyphs\">");
		p = put_text(p, text);
		p = put_str(p, "</text>\n");
	}
	p = put_str(p, "</svg>\n");
	*p = '\0';
	out->len = (size_t)(p - out->data);
	return 0;
}
