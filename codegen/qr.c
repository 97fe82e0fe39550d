/* SPDX-License-Identifier: Apache-2.0 */
/* QR symbol encoding: an owned wrapper around libqrencode's QRcode. */
#include <errno.h>
#include <string.h>

#include <qrencode.h>

#include "yima/err.h"
#include "yima/qr.h"

#include "alloc-private.h"

/* Longest text accepted; a version 40-L symbol holds 2953 bytes. */
#define QR_TEXT_MAX	2048

struct yima_qr {
	QRcode	*code;		/* owned; freed with QRcode_free() */
};

int
yima_qr_ecc_parse(const char *s, enum yima_ecc *ecc)
{
	if (s == NULL || s[0] == '\0' || s[1] != '\0')
		return YIMA_EINVAL;
	switch (s[0]) {
	case 'L':
	case 'l':
		*ecc = YIMA_ECC_L;
		return 0;
	case 'M':
	case 'm':
		*ecc = YIMA_ECC_M;
		return 0;
	case 'Q':
	case 'q':
		*ecc = YIMA_ECC_Q;
		return 0;
	case 'H':
	case 'h':
		*ecc = YIMA_ECC_H;
		return 0;
	default:
		return YIMA_EINVAL;
	}
}

const char *
yima_qr_ecc_name(enum yima_ecc ecc)
{
	switch (ecc) {
	case YIMA_ECC_L:	return "L";
	case YIMA_ECC_M:	return "M";
	case YIMA_ECC_Q:	return "Q";
	case YIMA_ECC_H:	return "H";
	default:		return "?";
	}
}

int
yima_qr_encode(const char *text, size_t len, enum yima_ecc ecc,
    struct yima_qr **out)
{
	/* libqrencode wants a C string; the text is short, so copy on stack. */
	char tmp[QR_TEXT_MAX + 1];
	struct yima_qr *qr = NULL;
	QRecLevel level;
	int rc;

	switch (ecc) {
	case YIMA_ECC_L:	level = QR_ECLEVEL_L; break;
	case YIMA_ECC_M:	level = QR_ECLEVEL_M; break;
	case YIMA_ECC_Q:	level = QR_ECLEVEL_Q; break;
	case YIMA_ECC_H:	level = QR_ECLEVEL_H; break;
	default:		return YIMA_EINVAL;
	}
	if (text == NULL || len == 0 || len > QR_TEXT_MAX ||
	    memchr(text, '\0', len) != NULL)
		return YIMA_EINVAL;
	memcpy(tmp, text, len);
	tmp[len] = '\0';

	if ((qr = yima_malloc(sizeof(*qr))) == NULL) {
		rc = YIMA_ENOMEM;
		goto fail;
	}
	errno = 0;
	if ((qr->code = QRcode_encodeString(tmp, 0, level, QR_MODE_8, 1)) ==
	    NULL) {
		if (errno == ENOMEM)
			rc = YIMA_ENOMEM;
		else if (errno == ERANGE)
			rc = YIMA_EINVAL;
		else
			rc = YIMA_ECODEC;
		goto fail;
	}
	*out = qr;
	return 0;

fail:
	yima_free(qr);
	return rc;
}

void
yima_qr_free(struct yima_qr *qr)
{
	if (qr == NULL)
		return;
	QRcode_free(qr->code);
	yima_free(qr);
}

int
yima_qr_version(const struct yima_qr *qr)
{
	return qr->code->version;
}

int
yima_qr_width(const struct yima_qr *qr)
{
	return qr->code->width;
}

int
yima_qr_dark(const struct yima_qr *qr, int x, int y)
{
	int w = qr->code->width;

	if (x < 0 || y < 0 || x >= w || y >= w)
		return 0;
	return qr->code->data[(size_t)y * (size_t)w + (size_t)x] & 1;
}
