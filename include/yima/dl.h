/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Digital Link codes: a yima item or case code as a GS1 Digital Link URI,
 * HTTPS://DOMAIN/01/{GTIN-14}/21/{S}, which tills and partners read as
 * GS1 and yima verifies as its own. S (AI 21, the serial) is 100 bits as
 * 20 upper-case Crockford base32 characters, most significant first:
 *   bits 0-3    format: 1 an item, 3 a case
 *   bits 4-11   key id
 *   bits 12-51  serial (40 bits)
 *   bits 52-99  the first 6 bytes of HMAC-SHA256(key, "YIMA-DL1" ||
 *               GTIN-14 in ASCII || format, key id, serial as 5 bytes)
 * The tag covers the GTIN: a genuine serial moved onto another GTIN is
 * not genuine.
 */
#ifndef YIMA_DL_H
#define YIMA_DL_H

#include <stddef.h>
#include <stdint.h>

#include "yima/code.h"
#include "yima/validate.h"

#define YIMA_DL_LEN		20	/* characters of S */
#define YIMA_DL_TAG_LEN		6
#define YIMA_DL_SERIAL_MAX	((UINT64_C(1) << 40) - 1)
#define YIMA_DL_FORMAT_ITEM	1
#define YIMA_DL_FORMAT_CASE	3
/* "HTTPS://" domain "/01/" GTIN "/21/" S, plus NUL */
#define YIMA_DL_URL_MAX	(8 + YIMA_DOMAIN_MAX + 4 + YIMA_GTIN_LEN + 4 + \
	YIMA_DL_LEN + 1)

/* The format of a kind (item 1, box 3), or 0: it has no DL form. */
int yima_dl_format(enum yima_kind kind);

/*
 * S for (kind, key id, serial) under GTIN-14 gtin, signed with mac, into
 * out (21 bytes). The caller guarantees a DL kind and serial in range.
 */
void yima_dl_make(const struct yima_mac *mac, enum yima_kind kind,
    unsigned key_id, uint64_t serial, const char gtin[YIMA_GTIN_LEN + 1],
    char out[YIMA_DL_LEN + 1]);

/* HTTPS://DOMAIN/01/GTIN/21/S into out (YIMA_DL_URL_MAX); its length. */
size_t yima_dl_url(const char *domain, const char gtin[YIMA_GTIN_LEN + 1],
    const char s[YIMA_DL_LEN], char *out);

/*
 * Finds a DL code in scanned text: a URI (scheme and host in any case,
 * an optional path before /01/) or its path, /01/{GTIN}[/10/{lot}]/21/{S}
 * with an optional query, checked as GS1 syntax (gs1.h). Writes the GTIN
 * as GTIN-14 to gtin and S to s. Returns 0, 1 when the text is no DL URI
 * at all (no primary key path), or YIMA_EINVAL with why.
 */
int yima_dl_locate(const char *text, size_t len,
    char gtin[YIMA_GTIN_LEN + 1], char s[YIMA_DL_LEN + 1], char *why);

/*
 * Verifies S under gtin with the keyring: fills out (kind, key id,
 * serial, the tag's first 6 bytes, gtin). Returns 0, YIMA_EINVAL,
 * YIMA_ENOKEY or YIMA_EBADTAG with why.
 */
int yima_dl_verify(const struct yima_keyring *kr,
    const char gtin[YIMA_GTIN_LEN + 1], const char *s,
    struct yima_code *out, char *why);

#endif /* YIMA_DL_H */
