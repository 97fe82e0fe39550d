/* SPDX-License-Identifier: Apache-2.0 */
/* Digital Link codes (dl.h): one implementation, to mint and to verify. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "yima/dl.h"
#include "yima/err.h"
#include "yima/gs1.h"
#include "yima/keyring.h"

#include "err-private.h"

static const char dl_prefix[8] = { 'Y', 'I', 'M', 'A', '-', 'D', 'L', '1' };

int
yima_dl_format(enum yima_kind kind)
{
	return kind == YIMA_KIND_ITEM ? YIMA_DL_FORMAT_ITEM :
	    kind == YIMA_KIND_BOX ? YIMA_DL_FORMAT_CASE : 0;
}

/* HMAC-SHA256(key, "YIMA-DL1" || GTIN-14 || format, key id, serial). */
static void
dl_tag(const struct yima_mac *mac, const char *gtin, int format,
    unsigned key_id, uint64_t serial, uint8_t full[YIMA_MAC_LEN])
{
	uint8_t msg[sizeof(dl_prefix) + YIMA_GTIN_LEN + 7];
	int i;

	memcpy(msg, dl_prefix, sizeof(dl_prefix));
	memcpy(msg + 8, gtin, YIMA_GTIN_LEN);
	msg[22] = (uint8_t)format;
	msg[23] = (uint8_t)key_id;
	for (i = 0; i < 5; i++)
		msg[24 + i] = (uint8_t)(serial >> (8 * (4 - i)));
	yima_mac_compute(mac, msg, sizeof(msg), full);
}

/* The 100 bits, most significant first: 52 of head, 48 of tag. */
static void
encode(uint64_t head, const uint8_t tag[YIMA_DL_TAG_LEN],
    char out[YIMA_DL_LEN + 1])
{
	uint64_t t = 0;
	int i;

	for (i = 0; i < YIMA_DL_TAG_LEN; i++)
		t = (t << 8) | tag[i];
	/* head: characters 0-9 and 2 bits of 10; tag: the rest. */
	for (i = 0; i < 10; i++)
		out[i] = yima_crockford[(head >> (47 - 5 * i)) & 31];
	out[10] = yima_crockford[((head & 3) << 3) | (t >> 45)];
	for (i = 11; i < YIMA_DL_LEN; i++)
		out[i] = yima_crockford[(t >> (45 - 5 * (i - 10))) & 31];
	out[YIMA_DL_LEN] = '\0';
}

void
yima_dl_make(const struct yima_mac *mac, enum yima_kind kind,
    unsigned key_id, uint64_t serial, const char gtin[YIMA_GTIN_LEN + 1],
    char out[YIMA_DL_LEN + 1])
{
	uint8_t full[YIMA_MAC_LEN];
	int format = yima_dl_format(kind);

	dl_tag(mac, gtin, format, key_id, serial, full);
	encode((uint64_t)format << 48 | (uint64_t)key_id << 40 | serial, full,
	    out);
}

size_t
yima_dl_url(const char *domain, const char gtin[YIMA_GTIN_LEN + 1],
    const char s[YIMA_DL_LEN], char *out)
{
	int n = snprintf(out, YIMA_DL_URL_MAX, "HTTPS://%s/01/%.14s/21/%.20s",
	    domain, gtin, s);

	return n < 0 ? 0 : (size_t)n;
}

int
yima_dl_locate(const char *text, size_t len, char gtin[YIMA_GTIN_LEN + 1],
    char s[YIMA_DL_LEN + 1], char *why)
{
	struct yima_gs1_dl dl;
	const char *serial;
	int rc;

	if (text == NULL || len > YIMA_CODE_TEXT_MAX)
		return 1;
	if ((rc = yima_gs1_dl_parse(text, len, &dl, why)) != 0)
		return rc;
	if (strcmp(dl.key.ai, "01") != 0)
		return yima_why_(why, YIMA_EINVAL, "Digital Link: a yima code "
		    "is a (01) GTIN with a (21) serial, not (%s)", dl.key.ai);
	if ((serial = yima_gs1_dl_get(&dl, "21")) == NULL)
		return yima_why_(why, YIMA_EINVAL, "Digital Link: no (21) "
		    "serial: the product, not one item");
	if (strlen(serial) != YIMA_DL_LEN)
		return yima_why_(why, YIMA_EINVAL, "Digital Link: a yima (21) "
		    "serial has %d characters, not %zu", YIMA_DL_LEN,
		    strlen(serial));
	memcpy(gtin, dl.key.value, YIMA_GTIN_LEN + 1);
	memcpy(s, serial, YIMA_DL_LEN + 1);
	return 0;
}

int
yima_dl_verify(const struct yima_keyring *kr,
    const char gtin[YIMA_GTIN_LEN + 1], const char *s,
    struct yima_code *out, char *why)
{
	uint8_t tag[YIMA_DL_TAG_LEN], full[YIMA_MAC_LEN];
	const struct yima_mac *mac;
	uint64_t head = 0, t = 0;
	const char *c;
	int i, d, format;
	unsigned key_id;

	/* AI 21 is case-sensitive, and yima writes only these characters. */
	for (i = 0; i < YIMA_DL_LEN; i++) {
		if ((c = strchr(yima_crockford, s[i])) == NULL || s[i] == '\0')
			return yima_why_(why, YIMA_EINVAL, "character '%c' at "
			    "position %d of the (21) serial is not in the code "
			    "alphabet", isgraph((unsigned char)s[i]) ? s[i] : '?',
			    i + 1);
		d = (int)(c - yima_crockford);
		if (i < 10)
			head = head << 5 | (uint64_t)d;
		else if (i == 10) {
			head = head << 2 | (uint64_t)(d >> 3);
			t = (uint64_t)(d & 7);
		} else
			t = t << 5 | (uint64_t)d;
	}
	for (i = YIMA_DL_TAG_LEN - 1; i >= 0; i--, t >>= 8)
		tag[i] = (uint8_t)(t & 0xff);
	format = (int)(head >> 48);
	key_id = (unsigned)(head >> 40) & 0xff;
	if (format != YIMA_DL_FORMAT_ITEM && format != YIMA_DL_FORMAT_CASE)
		return yima_why_(why, YIMA_EINVAL, "unknown Digital Link "
		    "format %d", format);
	if ((mac = yima_keyring_mac(kr, key_id)) == NULL)
		return yima_why_(why, YIMA_ENOKEY, "unknown key id %u", key_id);
	dl_tag(mac, gtin, format, key_id, head & YIMA_DL_SERIAL_MAX, full);
	if (!yima_mac_equal(full, tag, YIMA_DL_TAG_LEN))
		return yima_why_(why, YIMA_EBADTAG, "signature does not match "
		    "(forged or mistyped code, or not this GTIN's)");
	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		out->version = YIMA_CODE_VERSION;
		out->kind = format == YIMA_DL_FORMAT_ITEM ? YIMA_KIND_ITEM :
		    YIMA_KIND_BOX;
		out->key_id = key_id;
		out->serial = head & YIMA_DL_SERIAL_MAX;
		memcpy(out->tag, tag, YIMA_DL_TAG_LEN);
		memcpy(out->gtin, gtin, YIMA_GTIN_LEN + 1);
	}
	return 0;
}
