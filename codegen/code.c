/* SPDX-License-Identifier: Apache-2.0 */
/* The signed code: one implementation, used to mint and to verify. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "yima/code.h"
#include "yima/dl.h"
#include "yima/err.h"
#include "yima/keyring.h"

#include "err-private.h"

const char yima_crockford[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static const char tag_prefix[5] = { 'Y', 'I', 'M', 'A', '1' };
static const char *const kind_names[] = {
	NULL, "item", "inner", "box", "pallet", "channel"
};

const char *
yima_kind_name(int kind)
{
	if (kind < YIMA_KIND_ITEM || kind > YIMA_KIND_CHANNEL)
		return NULL;
	return kind_names[kind];
}

int
yima_kind_parse(const char *name, enum yima_kind *kind)
{
	int k;

	for (k = YIMA_KIND_ITEM; k <= YIMA_KIND_CHANNEL; k++) {
		if (strcmp(name, kind_names[k]) == 0) {
			*kind = (enum yima_kind)k;
			return 0;
		}
	}
	return YIMA_EINVAL;
}

void
yima_base32_encode(const uint8_t in[YIMA_PAYLOAD_LEN],
    char out[YIMA_CODE_LEN + 1])
{
	uint64_t v;
	int g, i;

	/* 120 bits = 3 groups of 40 bits = 3 x 8 characters. */
	for (g = 0; g < 3; g++) {
		v = 0;
		for (i = 0; i < 5; i++)
			v = (v << 8) | in[g * 5 + i];
		for (i = 7; i >= 0; i--) {
			out[g * 8 + i] = yima_crockford[v & 31];
			v >>= 5;
		}
	}
	out[YIMA_CODE_LEN] = '\0';
}

/* Crockford value of a character, or -1: case-insensitive, I L -> 1, O -> 0. */
static int
b32_value(unsigned char ch)
{
	const char *p;

	ch = (unsigned char)toupper(ch);
	if (ch == 'I' || ch == 'L')
		return 1;
	if (ch == 'O')
		return 0;
	if (ch == '\0' || (p = strchr(yima_crockford, ch)) == NULL)
		return -1;
	return (int)(p - yima_crockford);
}

int
yima_base32_decode(const char *s, size_t len, uint8_t out[YIMA_PAYLOAD_LEN],
    char *why)
{
	uint64_t v;
	int g, i, d;
	unsigned char ch;

	if (len != YIMA_CODE_LEN)
		return yima_why_(why, YIMA_EINVAL,
		    "wrong length: %zu characters, a code has %d", len,
		    YIMA_CODE_LEN);
	for (g = 0; g < 3; g++) {
		v = 0;
		for (i = 0; i < 8; i++) {
			ch = (unsigned char)s[g * 8 + i];
			if ((d = b32_value(ch)) < 0) {
				if (isgraph(ch))
					return yima_why_(why, YIMA_EINVAL,
					    "character '%c' at position %d is "
					    "not in the code alphabet", ch,
					    g * 8 + i + 1);
				return yima_why_(why, YIMA_EINVAL,
				    "byte 0x%02x at position %d is not in the "
				    "code alphabet", ch, g * 8 + i + 1);
			}
			v = (v << 5) | (uint64_t)d;
		}
		for (i = 4; i >= 0; i--) {
			out[g * 5 + i] = (uint8_t)(v & 0xff);
			v >>= 8;
		}
	}
	return 0;
}

void
yima_code_pack(const struct yima_code *c, uint8_t out[YIMA_PAYLOAD_LEN])
{
	int i;

	out[0] = (uint8_t)(((c->version & 0xf) << 4) | (c->kind & 0xf));
	out[1] = (uint8_t)c->key_id;
	for (i = 0; i < 6; i++)
		out[2 + i] = (uint8_t)(c->serial >> (8 * (5 - i)));
	memcpy(out + 8, c->tag, YIMA_TAG_LEN);
}

int
yima_code_unpack(const uint8_t in[YIMA_PAYLOAD_LEN], struct yima_code *c,
    char *why)
{
	unsigned version = in[0] >> 4, kind = in[0] & 0xf;
	uint64_t serial = 0;
	int i;

	if (version != YIMA_CODE_VERSION)
		return yima_why_(why, YIMA_EINVAL,
		    "unknown format version %u", version);
	if (yima_kind_name((int)kind) == NULL)
		return yima_why_(why, YIMA_EINVAL, "unknown kind %u", kind);
	for (i = 0; i < 6; i++)
		serial = (serial << 8) | in[2 + i];
	c->version = version;
	c->kind = (enum yima_kind)kind;
	c->key_id = in[1];
	c->serial = serial;
	memcpy(c->tag, in + 8, YIMA_TAG_LEN);
	return 0;
}

/* The full HMAC over "YIMA1" || the first 8 payload bytes. */
static void
compute_tag(const struct yima_mac *mac, const uint8_t head[8],
    uint8_t full[YIMA_MAC_LEN])
{
	uint8_t msg[sizeof(tag_prefix) + 8];

	memcpy(msg, tag_prefix, sizeof(tag_prefix));
	memcpy(msg + sizeof(tag_prefix), head, 8);
	yima_mac_compute(mac, msg, sizeof(msg), full);
}

void
yima_code_sign(const struct yima_mac *mac, struct yima_code *c)
{
	uint8_t p[YIMA_PAYLOAD_LEN], full[YIMA_MAC_LEN];

	yima_code_pack(c, p);
	compute_tag(mac, p, full);
	memcpy(c->tag, full, YIMA_TAG_LEN);
}

void
yima_code_make(const struct yima_mac *mac, enum yima_kind kind,
    unsigned key_id, uint64_t serial, char out[YIMA_CODE_LEN + 1])
{
	uint8_t p[YIMA_PAYLOAD_LEN], full[YIMA_MAC_LEN];
	int i;

	p[0] = (uint8_t)((YIMA_CODE_VERSION << 4) | kind);
	p[1] = (uint8_t)key_id;
	for (i = 0; i < 6; i++)
		p[2 + i] = (uint8_t)(serial >> (8 * (5 - i)));
	compute_tag(mac, p, full);
	memcpy(p + 8, full, YIMA_TAG_LEN);
	yima_base32_encode(p, out);
}

static int
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
	    ch == '\v' || ch == '\f';
}

static int
is_host_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '.' || ch == '-' ||
	    ch == ':';
}

int
yima_code_locate(const char *text, size_t len, const char **code, char *why)
{
	const char *p, *end;
	size_t n;

	if (text == NULL)
		return yima_why_(why, YIMA_EINVAL, "no code given");
	if (len > YIMA_CODE_TEXT_MAX)
		return yima_why_(why, YIMA_EINVAL, "not a code: longer than "
		    "%d characters", YIMA_CODE_TEXT_MAX);
	p = text;
	end = text + len;
	while (p < end && is_space(*p))
		p++;
	while (end > p && is_space(end[-1]))
		end--;
	n = (size_t)(end - p);
	if (n == 0)
		return yima_why_(why, YIMA_EINVAL, "empty code");
	if (n >= 7 && strncasecmp(p, "http://", 7) == 0)
		p += 7;
	else if (n >= 8 && strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else if (n == YIMA_CODE_LEN) {
		*code = p;
		return 0;
	} else
		return yima_why_(why, YIMA_EINVAL,
		    "not a code: expected %d characters or an "
		    "https://DOMAIN/C/CODE URL, got %zu characters",
		    YIMA_CODE_LEN, n);
	/* p is past the scheme: HOST "/C/" CODE, nothing else. */
	n = 0;
	while (p + n < end && p[n] != '/') {
		if (!is_host_char(p[n]))
			return yima_why_(why, YIMA_EINVAL,
			    "not a yima URL: bad character in the host name");
		n++;
	}
	if (n == 0 || n > YIMA_DOMAIN_MAX)
		return yima_why_(why, YIMA_EINVAL,
		    "not a yima URL: missing or overlong host name");
	p += n;
	if (end - p < 3 || p[0] != '/' || (p[1] != 'C' && p[1] != 'c') ||
	    p[2] != '/')
		return yima_why_(why, YIMA_EINVAL,
		    "not a yima URL: the path must be /C/CODE");
	p += 3;
	if (end - p != YIMA_CODE_LEN)
		return yima_why_(why, YIMA_EINVAL,
		    "wrong length: %td characters after /C/, a code has %d",
		    end - p, YIMA_CODE_LEN);
	*code = p;
	return 0;
}

int
yima_code_verify(const struct yima_keyring *kr, const char *text, size_t len,
    struct yima_code *out, char *why)
{
	uint8_t p[YIMA_PAYLOAD_LEN], full[YIMA_MAC_LEN];
	char gtin[YIMA_GTIN_LEN + 1], dl[YIMA_DL_LEN + 1];
	const struct yima_mac *mac;
	struct yima_code c;
	const char *s;
	int rc;

	/* A GS1 Digital Link code, or else the /C/ form. */
	if ((rc = yima_dl_locate(text, len, gtin, dl, why)) == 0)
		return yima_dl_verify(kr, gtin, dl, out, why);
	if (rc != 1)
		return rc;
	if ((rc = yima_code_locate(text, len, &s, why)) != 0)
		return rc;
	if ((rc = yima_base32_decode(s, YIMA_CODE_LEN, p, why)) != 0)
		return rc;
	if ((rc = yima_code_unpack(p, &c, why)) != 0)
		return rc;
	if ((mac = yima_keyring_mac(kr, c.key_id)) == NULL)
		return yima_why_(why, YIMA_ENOKEY, "unknown key id %u",
		    c.key_id);
	compute_tag(mac, p, full);
	if (!yima_mac_equal(full, c.tag, YIMA_TAG_LEN))
		return yima_why_(why, YIMA_EBADTAG,
		    "signature does not match (forged or mistyped code)");
	if (out != NULL) {
		*out = c;
		out->gtin[0] = '\0';
	}
	return 0;
}

int
yima_domain_normalize(const char *domain, char *out, char *why)
{
	size_t i, n, label = 0;
	const char *colon;
	unsigned long port = 0;
	char ch;

	n = strlen(domain);
	if (n == 0 || n > YIMA_DOMAIN_MAX)
		return yima_why_(why, YIMA_EINVAL,
		    "domain must have 1 to %d characters", YIMA_DOMAIN_MAX);
	colon = strchr(domain, ':');
	if (colon != NULL) {
		if (colon[1] == '\0' || strspn(colon + 1, "0123456789") !=
		    strlen(colon + 1) || strlen(colon + 1) > 5 ||
		    (port = strtoul(colon + 1, NULL, 10)) == 0 ||
		    port > 65535)
			return yima_why_(why, YIMA_EINVAL,
			    "domain: bad port after ':'");
		n = (size_t)(colon - domain);
	}
	for (i = 0; i <= n; i++) {
		ch = i < n ? domain[i] : '.';
		if (ch == '.') {
			if (label == 0 || domain[i - 1] == '-' ||
			    domain[i - label] == '-')
				return yima_why_(why, YIMA_EINVAL,
				    "domain: empty label or a label that "
				    "starts or ends with '-'");
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)ch) && ch != '-')
			return yima_why_(why, YIMA_EINVAL,
			    "domain: only letters, digits, '-' and '.' are "
			    "allowed (got '%c')", isgraph((unsigned char)ch) ?
			    ch : '?');
		if (++label > 63)
			return yima_why_(why, YIMA_EINVAL,
			    "domain: a label is longer than 63 characters");
	}
	for (i = 0; domain[i] != '\0'; i++)
		out[i] = (char)toupper((unsigned char)domain[i]);
	out[i] = '\0';
	return 0;
}

size_t
yima_code_url(const char *domain, const char code[YIMA_CODE_LEN], char *out)
{
	size_t n = strlen(domain);

	memcpy(out, "HTTPS://", 8);
	memcpy(out + 8, domain, n);
	memcpy(out + 8 + n, "/C/", 3);
	memcpy(out + 11 + n, code, YIMA_CODE_LEN);
	out[11 + n + YIMA_CODE_LEN] = '\0';
	return 11 + n + YIMA_CODE_LEN;
}
