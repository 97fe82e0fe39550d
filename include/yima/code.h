/* SPDX-License-Identifier: Apache-2.0 */
/* The signed code: payload layout, Crockford base32, signing, URLs. */
#ifndef YIMA_CODE_H
#define YIMA_CODE_H

#include <stddef.h>
#include <stdint.h>

#include "yima/mac.h"

/*
 * Payload, 15 bytes (DESIGN §3):
 *   0     high nibble format version (1), low nibble kind
 *   1     key id
 *   2-7   serial, 48-bit big-endian
 *   8-14  tag: first 7 bytes of HMAC-SHA256(key, "YIMA1" || bytes 0-7)
 * written as 24 Crockford base32 characters, most significant bit first.
 */
#define YIMA_CODE_VERSION	1
#define YIMA_PAYLOAD_LEN	15
#define YIMA_TAG_LEN		7
#define YIMA_CODE_LEN		24
#define YIMA_SERIAL_MAX		((UINT64_C(1) << 48) - 1)
#define YIMA_DOMAIN_MAX		64
#define YIMA_CODE_TEXT_MAX	512	/* longest scanned text looked at */
/* "HTTPS://" domain "/C/" code, plus NUL */
#define YIMA_URL_MAX		(8 + YIMA_DOMAIN_MAX + 3 + YIMA_CODE_LEN + 1)

enum yima_kind {
	YIMA_KIND_ITEM = 1,	/* outer code on the bottle */
	YIMA_KIND_INNER = 2,	/* cap-inside code (盖内码), claims rewards */
	YIMA_KIND_BOX = 3,
	YIMA_KIND_PALLET = 4,
	YIMA_KIND_CHANNEL = 5	/* dealer, store or salesperson */
};

struct yima_code {
	unsigned	version;	/* YIMA_CODE_VERSION */
	enum yima_kind	kind;
	unsigned	key_id;		/* 0-255 */
	uint64_t	serial;		/* 0 .. YIMA_SERIAL_MAX */
	uint8_t		tag[YIMA_TAG_LEN];
	char		gtin[15];	/* a Digital Link code's (dl.h), or "" */
};

struct yima_keyring;

/* The 32 characters of Crockford base32, in order. */
extern const char yima_crockford[33];

/* "item", "inner", "box", "pallet", "channel", or NULL if unknown. */
const char *yima_kind_name(int kind);
/* Parses a kind name; returns 0 or YIMA_EINVAL. */
int yima_kind_parse(const char *name, enum yima_kind *kind);

/* Writes 24 characters (and a NUL) for a 15-byte payload. */
void yima_base32_encode(const uint8_t in[YIMA_PAYLOAD_LEN],
    char out[YIMA_CODE_LEN + 1]);
/*
 * Decodes exactly 24 characters, case-insensitively, reading I and L as 1
 * and O as 0. Returns 0, or YIMA_EINVAL with why naming the first bad
 * character or the wrong length.
 */
int yima_base32_decode(const char *s, size_t len,
    uint8_t out[YIMA_PAYLOAD_LEN], char *why);

/* Packs version, kind, key id, serial and tag into 15 bytes. */
void yima_code_pack(const struct yima_code *c, uint8_t out[YIMA_PAYLOAD_LEN]);
/*
 * Unpacks 15 bytes. Returns 0, or YIMA_EINVAL for an unknown version or
 * kind (why says which). The tag is not checked here.
 */
int yima_code_unpack(const uint8_t in[YIMA_PAYLOAD_LEN], struct yima_code *c,
    char *why);

/* Computes c->tag with mac (the key of c->key_id). */
void yima_code_sign(const struct yima_mac *mac, struct yima_code *c);

/*
 * Mints one code: signs (kind, key_id, serial) with mac and writes the 24
 * characters and a NUL to out. The caller guarantees kind, key_id and
 * serial are in range. This is the minting hot path.
 */
void yima_code_make(const struct yima_mac *mac, enum yima_kind kind,
    unsigned key_id, uint64_t serial, char out[YIMA_CODE_LEN + 1]);

/*
 * Finds the code in scanned text: surrounding white space is trimmed; the
 * text is either the bare 24-character code or a URL
 * "https://HOST/C/CODE" (scheme http or https, any case). On success
 * *code points at the 24 characters inside text. Text longer than
 * YIMA_CODE_TEXT_MAX is refused unread.
 * Returns 0 or YIMA_EINVAL with why (filled on every failure).
 */
int yima_code_locate(const char *text, size_t len, const char **code,
    char *why);

/*
 * Verifies scanned text, a /C/ code (see yima_code_locate) or a GS1
 * Digital Link code (dl.h): decodes it, checks version and kind, looks
 * up the key id in kr and compares the tag in constant time. On success
 * *out (may be NULL) receives the fields (gtin "" for a /C/ code).
 * Returns 0, YIMA_EINVAL (malformed), YIMA_ENOKEY (unknown key id) or
 * YIMA_EBADTAG (wrong tag); why says which in words.
 */
int yima_code_verify(const struct yima_keyring *kr, const char *text,
    size_t len, struct yima_code *out, char *why);

/*
 * Checks and normalises a domain for URLs: host name labels of letters,
 * digits and '-', separated by '.', optionally ":port"; at most
 * YIMA_DOMAIN_MAX characters. Writes the upper-case form to out
 * (YIMA_DOMAIN_MAX + 1 bytes). Returns 0 or YIMA_EINVAL with why.
 */
int yima_domain_normalize(const char *domain, char *out, char *why);

/*
 * Writes "HTTPS://" domain "/C/" code to out (YIMA_URL_MAX bytes), domain
 * as given (normalise it first). Returns the length.
 */
size_t yima_code_url(const char *domain, const char code[YIMA_CODE_LEN],
    char *out);

#endif /* YIMA_CODE_H */
