/* SPDX-License-Identifier: Apache-2.0 */
/* Digital Link codes (dl.h): one implementation, to mint and to verify. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "yima/dl.h"
#include "yima/err.h"
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

/* A path value (between slashes), percent-decoded into out. */
static int
segment(const char *p, size_t n, char *out, size_t max, const char *ai,
    char *why)
{
	size_t i, k = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (k == max)
			return yima_why_(why, YIMA_EINVAL, "Digital Link: the "
			    "(%s) value is longer than %zu characters", ai, max);
		if (p[i] != '%') {
			out[k++] = p[i];
			continue;
		}
		if (i + 2 >= n || !isxdigit((unsigned char)p[i + 1]) ||
		    !isxdigit((unsigned char)p[i + 2]) || (p[i + 1] == '0' &&
		    p[i + 2] == '0'))
			return yima_why_(why, YIMA_EINVAL, "Digital Link: a bad "
			    "percent escape in the (%s) value", ai);
		hi = isdigit((unsigned char)p[i + 1]) ? p[i + 1] - '0' :
		    (tolower((unsigned char)p[i + 1]) - 'a' + 10);
		lo = isdigit((unsigned char)p[i + 2]) ? p[i + 2] - '0' :
		    (tolower((unsigned char)p[i + 2]) - 'a' + 10);
		out[k++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[k] = '\0';
	return 0;
}

/* The next "/AI/value" at *p (before end): ai and value (undecoded). */
static int
next_pair(const char **p, const char *end, char ai[3], const char **v,
    size_t *vn)
{
	const char *q = *p;

	if (end - q < 5 || q[0] != '/' || !isdigit((unsigned char)q[1]) ||
	    !isdigit((unsigned char)q[2]) || q[3] != '/')
		return -1;
	ai[0] = q[1];
	ai[1] = q[2];
	ai[2] = '\0';
	q += 4;
	*v = q;
	while (q < end && *q != '/')
		q++;
	*vn = (size_t)(q - *v);
	*p = q;
	return *vn > 0 ? 0 : -1;
}

int
yima_dl_locate(const char *text, size_t len, char gtin[YIMA_GTIN_LEN + 1],
    const char **s, char *why)
{
	const char *p = text, *end, *v, *key;
	char ai[3], val[YIMA_LOT_MAX + 1], digits[YIMA_GTIN_LEN + 1];
	size_t vn;
	int step = 0;	/* qualifiers in GS1's order: 22, 10, 21 */

	if (text == NULL || len > YIMA_CODE_TEXT_MAX)
		return 1;
	end = text + len;
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (end - p >= 8 && strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else if (end - p >= 7 && strncasecmp(p, "http://", 7) == 0)
		p += 7;
	else if (p == end || *p != '/')
		return 1;
	if (p < end && p[0] != '/')	/* past the host */
		while (p < end && *p != '/' && *p != '?' && *p != '#')
			p++;
	/* The query (data attributes, link types) is the resolver's. */
	for (v = p; v < end; v++)
		if (*v == '?' || *v == '#') {
			end = v;
			break;
		}
	/* A custom path may come before the primary key. */
	for (key = p; key + 4 <= end && strncmp(key, "/01/", 4) != 0; key++)
		;
	if (key + 4 > end)
		return 1;
	p = key;
	if (next_pair(&p, end, ai, &v, &vn) != 0 || vn > YIMA_GTIN_LEN)
		return yima_why_(why, YIMA_EINVAL, "Digital Link: (01) must "
		    "be a GTIN of 8, 12, 13 or 14 digits");
	memcpy(digits, v, vn);
	digits[vn] = '\0';
	if (yima_gtin_normalize(digits, gtin, why) != 0)
		return YIMA_EINVAL;
	while (p < end) {
		if (next_pair(&p, end, ai, &v, &vn) != 0)
			return yima_why_(why, YIMA_EINVAL, "Digital Link: the "
			    "path after (01) must be /AI/value pairs");
		if (strcmp(ai, "22") == 0 && step < 1)
			step = 1;
		else if (strcmp(ai, "10") == 0 && step < 2)
			step = 2;
		else if (strcmp(ai, "21") == 0 && step < 3)
			step = 3;
		else
			return yima_why_(why, YIMA_EINVAL, "Digital Link: (%s) "
			    "is not a key qualifier of (01) here: the order is "
			    "(22), (10), (21), each once", ai);
		if (step < 3) {
			if (segment(v, vn, val, YIMA_LOT_MAX, ai, why) != 0 ||
			    yima_text_check(val, YIMA_LOT_MAX, ai[0] == '1' ?
			    "Digital Link (10)" : "Digital Link (22)", why) != 0)
				return YIMA_EINVAL;
			continue;
		}
		if (p != end)
			return yima_why_(why, YIMA_EINVAL, "Digital Link: "
			    "nothing may follow the (21) serial");
		if (vn != YIMA_DL_LEN)
			return yima_why_(why, YIMA_EINVAL, "Digital Link: a "
			    "yima (21) serial has %d characters, not %zu",
			    YIMA_DL_LEN, vn);
		*s = v;
		return 0;
	}
	return yima_why_(why, YIMA_EINVAL, "Digital Link: no (21) serial: "
	    "the product, not one item");
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
