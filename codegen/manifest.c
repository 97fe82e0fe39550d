/* SPDX-License-Identifier: Apache-2.0 */
/* The batch manifest: JSON with an HMAC over its canonical form. */
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "yima/dl.h"
#include "yima/err.h"
#include "yima/keyring.h"
#include "yima/manifest.h"

#include "err-private.h"

/* HMAC over the canonical text of obj (which must not hold "hmac"). */
static int
sign(json_t *obj, const struct yima_keyring *kr, unsigned key_id,
    char out[2 * YIMA_MAC_LEN + 1])
{
	uint8_t key[YIMA_KEY_LEN], tag[YIMA_MAC_LEN];
	struct yima_mac *mac = NULL;
	char *text = NULL;
	int rc;

	if ((rc = yima_keyring_derive(kr, key_id, "manifest", key)) != 0)
		return rc;
	if ((rc = yima_mac_new(key, sizeof(key), &mac)) != 0)
		goto done;
	text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII);
	if (text == NULL) {
		rc = YIMA_ENOMEM;
		goto done;
	}
	yima_mac_compute(mac, text, strlen(text), tag);
	yima_hex(tag, sizeof(tag), out);
done:
	OPENSSL_cleanse(key, sizeof(key));
	yima_mac_free(mac);
	free(text);
	return rc;
}

/* Sets key to a string, skipping empty optional strings. */
static int
set_str(json_t *obj, const char *key, const char *val)
{
	if (val[0] == '\0')
		return 0;
	return json_object_set_new(obj, key, json_string(val));
}

static int
set_int(json_t *obj, const char *key, uint64_t v)
{
	return json_object_set_new(obj, key, json_integer((json_int_t)v));
}

static json_t *
build(const struct yima_manifest *m)
{
	json_t *obj, *files, *inner = NULL;
	int bad = 0;

	if ((obj = json_object()) == NULL || (files = json_object()) == NULL) {
		json_decref(obj);
		return NULL;
	}
	bad |= json_object_set_new(obj, "format",
	    json_string(YIMA_MANIFEST_FORMAT));
	bad |= set_str(obj, "batch", m->batch);
	bad |= set_str(obj, "kind", yima_kind_name((int)m->kind));
	bad |= set_int(obj, "key_id", m->key_id);
	bad |= set_int(obj, "first_serial", m->first_serial);
	bad |= set_int(obj, "count", m->count);
	bad |= set_str(obj, "gtin", m->gtin);
	if (m->dl)
		bad |= set_str(obj, "code_form", "dl");
	bad |= set_str(obj, "lot", m->lot);
	bad |= set_str(obj, "line", m->line);
	bad |= set_str(obj, "mfg", m->mfg);
	bad |= set_str(obj, "expiry", m->expiry);
	bad |= set_str(obj, "domain", m->domain);
	bad |= set_str(obj, "created", m->created);
	bad |= set_str(files, "codes.csv", m->codes_sha256);
	if (m->inner) {
		if ((inner = json_object()) == NULL)
			bad = 1;
		else {
			bad |= set_int(inner, "first_serial", m->inner_first);
			bad |= set_int(inner, "count", m->count);
			bad |= json_object_set_new(inner, "pairing",
			    json_string("offset"));
		}
		bad |= json_object_set_new(obj, "inner", inner);
		bad |= set_str(files, "inner.csv", m->inner_sha256);
	}
	bad |= json_object_set_new(obj, "files", files);
	if (bad) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

int
yima_manifest_to_json(const struct yima_manifest *m,
    const struct yima_keyring *kr, struct yima_buf *out)
{
	char tag[2 * YIMA_MAC_LEN + 1];
	json_t *obj;
	char *text = NULL;
	int rc;

	if (yima_kind_name((int)m->kind) == NULL)
		return YIMA_EINVAL;
	if ((obj = build(m)) == NULL)
		return YIMA_ENOMEM;
	if ((rc = sign(obj, kr, m->key_id, tag)) != 0)
		goto done;
	if (json_object_set_new(obj, "hmac", json_string(tag)) != 0 ||
	    (text = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS)) ==
	    NULL) {
		rc = YIMA_ENOMEM;
		goto done;
	}
	if ((rc = yima_buf_puts(out, text)) == 0)
		rc = yima_buf_puts(out, "\n");
done:
	free(text);
	json_decref(obj);
	return rc;
}

/* Copies an optional string field of at most max characters. */
static int
get_str(json_t *obj, const char *key, int required, char *out, size_t max,
    char *why)
{
	json_t *v = json_object_get(obj, key);

	out[0] = '\0';
	if (v == NULL) {
		if (required)
			return yima_why_(why, YIMA_EINVAL,
			    "manifest: \"%s\" is missing", key);
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return yima_why_(why, YIMA_EINVAL,
		    "manifest: \"%s\" must be a string of at most %zu "
		    "characters", key, max);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int
get_u64(json_t *obj, const char *key, uint64_t max, uint64_t *out, char *why)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return yima_why_(why, YIMA_EINVAL,
		    "manifest: \"%s\" must be an integer from 0 to %llu", key,
		    (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
is_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* Checks every field's syntax and range, not the signature. */
static int
check_fields(json_t *obj, struct yima_manifest *m, char *why)
{
	char kind[16], format[32], gtin[16], domain[YIMA_DOMAIN_MAX + 1];
	char form[8];
	json_t *inner, *files;
	uint64_t v, n;
	long mfg, exp;
	int rc;

	if ((rc = get_str(obj, "format", 1, format, sizeof(format) - 1,
	    why)) != 0)
		return rc;
	if (strcmp(format, YIMA_MANIFEST_FORMAT) != 0)
		return yima_why_(why, YIMA_EINVAL,
		    "manifest: unknown format \"%s\"", format);
	if ((rc = get_str(obj, "batch", 1, m->batch, 32, why)) != 0)
		return rc;
	if (!is_hex(m->batch, 32))
		return yima_why_(why, YIMA_EINVAL,
		    "manifest: \"batch\" must be 32 hex digits");
	if ((rc = get_str(obj, "kind", 1, kind, sizeof(kind) - 1, why)) != 0)
		return rc;
	if (yima_kind_parse(kind, &m->kind) != 0 ||
	    m->kind == YIMA_KIND_INNER)
		return yima_why_(why, YIMA_EINVAL,
		    "manifest: \"kind\" must be item, box, pallet or channel");
	if ((rc = get_u64(obj, "key_id", 255, &v, why)) != 0)
		return rc;
	m->key_id = (unsigned)v;
	if ((rc = get_u64(obj, "first_serial", YIMA_SERIAL_MAX,
	    &m->first_serial, why)) != 0 ||
	    (rc = get_u64(obj, "count", YIMA_COUNT_MAX, &m->count, why)) != 0)
		return rc;
	if (m->count == 0 || m->count - 1 > YIMA_SERIAL_MAX - m->first_serial)
		return yima_why_(why, YIMA_EINVAL,
		    "manifest: the serial range is empty or too long");
	files = json_object_get(obj, "files");
	if (!json_is_object(files) || (rc = get_str(files, "codes.csv", 1,
	    m->codes_sha256, 64, why)) != 0 || !is_hex(m->codes_sha256, 64))
		return yima_why_(why, YIMA_EINVAL,
		    "manifest: \"files\" must give the SHA-256 of codes.csv");
	m->inner = 0;
	m->inner_first = 0;
	m->inner_sha256[0] = '\0';
	if ((inner = json_object_get(obj, "inner")) != NULL) {
		if (!json_is_object(inner) || m->kind != YIMA_KIND_ITEM)
			return yima_why_(why, YIMA_EINVAL,
			    "manifest: \"inner\" is only for item batches");
		if ((rc = get_u64(inner, "first_serial", YIMA_SERIAL_MAX,
		    &m->inner_first, why)) != 0 ||
		    (rc = get_u64(inner, "count", YIMA_COUNT_MAX, &n,
		    why)) != 0)
			return rc;
		if (n != m->count ||
		    m->count - 1 > YIMA_SERIAL_MAX - m->inner_first ||
		    (m->inner_first < m->first_serial + m->count &&
		    m->first_serial < m->inner_first + m->count))
			return yima_why_(why, YIMA_EINVAL,
			    "manifest: the inner range must pair one code per "
			    "item and not overlap the items");
		if (!json_is_string(json_object_get(inner, "pairing")) ||
		    strcmp(json_string_value(json_object_get(inner,
		    "pairing")), "offset") != 0)
			return yima_why_(why, YIMA_EINVAL, "manifest: "
			    "\"inner\" must say \"pairing\": \"offset\"");
		if (get_str(files, "inner.csv", 1, m->inner_sha256, 64,
		    why) != 0 || !is_hex(m->inner_sha256, 64))
			return yima_why_(why, YIMA_EINVAL, "manifest: "
			    "\"files\" must give the SHA-256 of inner.csv");
		m->inner = 1;
	}
	if ((rc = get_str(obj, "gtin", 0, gtin, 14, why)) != 0)
		return rc;
	m->gtin[0] = '\0';
	if (gtin[0] != '\0' &&
	    ((rc = yima_gtin_normalize(gtin, m->gtin, why)) != 0 ||
	    strcmp(gtin, m->gtin) != 0))
		return yima_why_(why, YIMA_EINVAL,
		    "manifest: \"gtin\" must be a valid GTIN-14");
	/* Digital Link codes: items or cases of a GTIN, 40-bit serials. */
	if ((rc = get_str(obj, "code_form", 0, form, sizeof(form) - 1,
	    why)) != 0)
		return rc;
	m->dl = strcmp(form, "dl") == 0;
	if ((form[0] != '\0' && !m->dl && strcmp(form, "c") != 0) ||
	    (m->dl && (m->gtin[0] == '\0' || yima_dl_format(m->kind) == 0 ||
	    m->first_serial + m->count - 1 > YIMA_DL_SERIAL_MAX)))
		return yima_why_(why, YIMA_EINVAL, "manifest: \"code_form\" is "
		    "\"c\" or \"dl\", and \"dl\" is for items or boxes with a "
		    "GTIN and serials below 2^40");
	if ((rc = get_str(obj, "lot", 0, m->lot, YIMA_LOT_MAX, why)) != 0 ||
	    (m->lot[0] && (rc = yima_text_check(m->lot, YIMA_LOT_MAX,
	    "manifest: \"lot\"", why)) != 0))
		return rc;
	if ((rc = get_str(obj, "line", 0, m->line, YIMA_LINE_MAX, why)) != 0 ||
	    (m->line[0] && (rc = yima_text_check(m->line, YIMA_LINE_MAX,
	    "manifest: \"line\"", why)) != 0))
		return rc;
	if ((rc = get_str(obj, "mfg", 0, m->mfg, 10, why)) != 0 ||
	    (m->mfg[0] && (rc = yima_date_parse(m->mfg, &mfg, why)) != 0))
		return rc;
	if ((rc = get_str(obj, "expiry", 0, m->expiry, 10, why)) != 0 ||
	    (m->expiry[0] && (rc = yima_date_parse(m->expiry, &exp,
	    why)) != 0))
		return rc;
	if (m->mfg[0] && m->expiry[0] && exp < mfg)
		return yima_why_(why, YIMA_EINVAL,
		    "manifest: \"expiry\" is before \"mfg\"");
	if ((rc = get_str(obj, "domain", 1, domain, YIMA_DOMAIN_MAX,
	    why)) != 0 ||
	    (rc = yima_domain_normalize(domain, m->domain, why)) != 0)
		return rc;
	return get_str(obj, "created", 1, m->created, 20, why);
}

int
yima_manifest_parse(const char *json, size_t len,
    const struct yima_keyring *kr, struct yima_manifest *m, char *why)
{
	char want[2 * YIMA_MAC_LEN + 1], got[2 * YIMA_MAC_LEN + 1];
	struct yima_manifest tmp;
	json_error_t jerr;
	json_t *obj = NULL;
	int rc;

	memset(&tmp, 0, sizeof(tmp));
	if (len > YIMA_MANIFEST_MAX)
		return yima_why_(why, YIMA_EINVAL,
		    "manifest larger than %d bytes", YIMA_MANIFEST_MAX);
	obj = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL)
		return yima_why_(why, YIMA_EINVAL,
		    "manifest is not valid JSON: %s (line %d)", jerr.text,
		    jerr.line);
	if (!json_is_object(obj)) {
		rc = yima_why_(why, YIMA_EINVAL,
		    "manifest must be a JSON object");
		goto done;
	}
	if ((rc = get_str(obj, "hmac", 1, got, 64, why)) != 0)
		goto done;
	if ((rc = check_fields(obj, &tmp, why)) != 0)
		goto done;
	if (yima_keyring_mac(kr, tmp.key_id) == NULL) {
		rc = yima_why_(why, YIMA_ENOKEY,
		    "manifest is signed with key %u, which this keyring does "
		    "not have", tmp.key_id);
		goto done;
	}
	if (json_object_del(obj, "hmac") != 0 ||
	    (rc = sign(obj, kr, tmp.key_id, want)) != 0) {
		rc = yima_why_(why, YIMA_ENOMEM, "out of memory");
		goto done;
	}
	if (strlen(got) != 64 ||
	    CRYPTO_memcmp(want, got, 2 * YIMA_MAC_LEN) != 0) {
		rc = yima_why_(why, YIMA_EBADTAG,
		    "manifest HMAC does not match: altered or not from this "
		    "keyring");
		goto done;
	}
	memcpy(tmp.hmac, got, sizeof(tmp.hmac));
	*m = tmp;
done:
	json_decref(obj);
	return rc;
}
