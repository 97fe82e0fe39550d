/* SPDX-License-Identifier: Apache-2.0 */
/* QR symbol encoding (libqrencode) behind a small, owned type. */
#ifndef YIMA_QR_H
#define YIMA_QR_H

#include <stddef.h>

enum yima_ecc {
	YIMA_ECC_L = 0,
	YIMA_ECC_M,
	YIMA_ECC_Q,
	YIMA_ECC_H
};

struct yima_qr;

/*
 * Parses "L", "M", "Q" or "H" (any case) into *ecc.
 * Returns 0 or YIMA_EINVAL.
 */
int yima_qr_ecc_parse(const char *s, enum yima_ecc *ecc);
/* Returns "L", "M", "Q" or "H". */
const char *yima_qr_ecc_name(enum yima_ecc ecc);

/*
 * Encodes len bytes of text as the smallest QR symbol at level ecc.
 * Text made only of QR's alphanumeric set (0-9 A-Z space $%*+-./:) is
 * encoded in alphanumeric mode, which is why yima URLs are upper case.
 * On success *out is set; the caller frees it with yima_qr_free().
 * Returns 0, YIMA_EINVAL (empty, holding a NUL byte, over 2048 bytes, or
 * too long for any symbol at that level), YIMA_ENOMEM or YIMA_ECODEC.
 */
int yima_qr_encode(const char *text, size_t len, enum yima_ecc ecc,
    struct yima_qr **out);
void yima_qr_free(struct yima_qr *qr);

/* QR version (1-40) of the symbol. */
int yima_qr_version(const struct yima_qr *qr);
/* Width in modules, without quiet zone. */
int yima_qr_width(const struct yima_qr *qr);
/* 1 if module (x, y) is dark, 0 otherwise (0 outside the symbol). */
int yima_qr_dark(const struct yima_qr *qr, int x, int y);

#endif /* YIMA_QR_H */
