/* SPDX-License-Identifier: Apache-2.0 */
/*
 * yima's events as EPCIS 2.0 JSON-LD (epcis.h). What each operation
 * becomes (README, "EPCIS 2.0"):
 *   commissioning    ObjectEvent ADD, active, ilmd lot and expiry
 *   packing          AggregationEvent ADD
 *   unpacking        AggregationEvent DELETE
 *   shipping         ObjectEvent OBSERVE, in_transit, desadv, source and
 *                    destination (owning party, location)
 *   receiving        ObjectEvent OBSERVE at the store
 *   opening          AggregationEvent DELETE unpacking at the store
 *   decommissioning  ObjectEvent DELETE, inactive, the reason
 *   a consumer scan  ObjectEvent OBSERVE, yima's bizStep, a geo: read
 *                    point to 0.1 degree, verdict and region; never a
 *                    consumer id, an address or an exact place
 * Cap-inside codes are never named: they are the secret a reward is
 * claimed with.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "yima/buf.h"
#include "yima/dl.h"
#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "epcis.h"
#include "http.h"

#define CBV	"https://ref.gs1.org/cbv/"
#define TZ	"+08:00"
#define CHINA_MS	(8LL * 3600 * 1000)

void
api_epcis_time(int64_t ms, char *out, size_t len)
{
	int64_t local = ms + CHINA_MS;
	time_t s = (time_t)(local >= 0 ? local / 1000 : (local - 999) / 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%.24s.%03d" TZ, base,
	    (int)(local - (int64_t)s * 1000));
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

int
api_epcis_begin(struct api_epcis *x, const struct yima_keyring *kr,
    struct yima_tx *tx)
{
	int rc;

	memset(x, 0, sizeof(*x));
	x->kr = kr;
	x->tx = tx;
	if ((rc = yima_tx_brand_domain(tx, x->domain, sizeof(x->domain))) != 0)
		return rc;
	lower(x->domain);
	return 0;
}

int
api_epcis_epc(struct api_epcis *x, uint64_t serial, char *out)
{
	const struct yima_mac *mac;
	struct yima_epc_range *r = &x->range;
	char s[YIMA_CODE_LEN + 1];
	int rc;

	if (!x->has_range || serial < r->first || serial > r->last) {
		x->has_range = 0;
		if ((rc = yima_tx_epc_range(x->tx, serial, r)) != 0)
			return rc;
		lower(r->domain);
		x->has_range = 1;
	}
	if (r->kind == YIMA_KIND_INNER)
		return YIMA_EINVAL;	/* never published */
	if ((mac = yima_keyring_mac(x->kr, r->key_id)) == NULL)
		return YIMA_ENOKEY;
	if (r->dl && r->gtin[0] != '\0' && yima_dl_format(r->kind) != 0) {
		yima_dl_make(mac, r->kind, r->key_id, serial, r->gtin, s);
		snprintf(out, API_EPCIS_URI_MAX, "https://%s/01/%s/21/%s",
		    r->domain, r->gtin, s);
	} else {
		yima_code_make(mac, r->kind, r->key_id, serial, s);
		snprintf(out, API_EPCIS_URI_MAX, "https://%s/c/%s", r->domain,
		    s);
	}
	return 0;
}

/* A dealer as a party ("417") or a location ("414"): its GLN's, or ours. */
static int
dealer_uri(struct api_epcis *x, const char *id, const char *ai, char *out)
{
	int rc;

	if (!x->has_dealer || strcmp(x->dealer.id, id) != 0) {
		x->has_dealer = 0;
		if ((rc = yima_tx_dealer_get(x->tx, id, &x->dealer)) != 0)
			return rc;
		x->has_dealer = 1;
	}
	if (x->dealer.gln[0] != '\0')
		snprintf(out, API_EPCIS_URI_MAX, "https://id.gs1.org/%s/%s", ai,
		    x->dealer.gln);
	else
		snprintf(out, API_EPCIS_URI_MAX, "https://%s/party/%s",
		    x->domain, id);
	return 0;
}

/* The brand itself, as a party: its own domain. */
static void
brand_uri(struct api_epcis *x, char *out)
{
	snprintf(out, API_EPCIS_URI_MAX, "https://%s", x->domain);
}

/* The EPCs of spans "a-b,c" as an array; inner codes never appear. */
static int
epc_list(struct api_epcis *x, const char *spans, json_t **out)
{
	char uri[API_EPCIS_URI_MAX];
	unsigned long long a, b, s;
	const char *p = spans;
	char *end;
	json_t *arr = json_array();
	int rc = 0;

	while (arr != NULL && rc == 0 && *p != '\0') {
		a = b = strtoull(p, &end, 10);
		if (end == p) {
			rc = YIMA_EINVAL;
			break;
		}
		if (*end == '-')
			b = strtoull(end + 1, &end, 10);
		for (s = a; rc == 0 && s <= b; s++)
			if ((rc = api_epcis_epc(x, s, uri)) == 0)
				rc = json_array_append_new(arr,
				    json_string(uri)) == 0 ? 0 : YIMA_ENOMEM;
		p = *end == ',' ? end + 1 : end;
	}
	if (arr == NULL || rc != 0) {
		json_decref(arr);
		return arr == NULL ? YIMA_ENOMEM : rc;
	}
	*out = arr;
	return 0;
}

/* {"id": uri} */
static json_t *
id_of(const char *uri)
{
	return json_pack("{s:s}", "id", uri);
}

static int
set(json_t *o, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(o, key, v) == 0 ? 0 :
	    YIMA_ENOMEM;
}

/* A desadv reference as a URI under the brand's domain. */
static int
desadv_uri(struct api_epcis *x, const char *ref, char *out)
{
	struct yima_buf b = YIMA_BUF_INIT;
	int rc = yima_buf_printf(&b, "https://%s/desadv/", x->domain);

	if (rc == 0)
		rc = api_url_escape(&b, ref);
	if (rc == 0)
		snprintf(out, API_EPCIS_URI_MAX, "%s", b.data);
	yima_buf_free(&b);
	return rc;
}

/* The body of a supply-chain event. */
static int
chain_event(struct api_epcis *x, const struct yima_epcis_row *e, json_t *ev)
{
	const char *st = e->step;
	char uri[API_EPCIS_URI_MAX], loc[API_EPCIS_URI_MAX];
	int agg = strcmp(st, "packing") == 0 || strcmp(st, "unpacking") == 0 ||
	    strcmp(st, "opening") == 0;
	json_t *epcs = NULL, *ilmd;
	int rc;

	if ((rc = set(ev, "type", json_string(agg ? "AggregationEvent" :
	    "ObjectEvent"))) != 0)
		return rc;
	if (agg && ((rc = api_epcis_epc(x, e->parent, uri)) != 0 ||
	    (rc = set(ev, "parentID", json_string(uri))) != 0))
		return rc;
	if (e->epcs[0] != '\0' && (rc = epc_list(x, e->epcs, &epcs)) != 0)
		return rc;
	if ((epcs != NULL || !agg) && (rc = set(ev, agg ? "childEPCs" :
	    "epcList", epcs != NULL ? epcs : json_array())) != 0)
		return rc;
	if (strcmp(st, "commissioning") == 0) {
		if ((rc = set(ev, "action", json_string("ADD"))) != 0 ||
		    (rc = set(ev, "bizStep", json_string(st))) != 0 ||
		    (rc = set(ev, "disposition", json_string("active"))) != 0)
			return rc;
		/* the last EPC rendered is of this chunk's batch */
		if (x->range.lot[0] == '\0' && x->range.expiry[0] == '\0')
			return 0;
		if ((ilmd = json_object()) == NULL ||
		    (rc = set(ev, "ilmd", ilmd)) != 0)
			return YIMA_ENOMEM;
		if (x->range.lot[0] != '\0' && (rc = set(ilmd,
		    "cbvmda:lotNumber", json_string(x->range.lot))) != 0)
			return rc;
		if (x->range.expiry[0] != '\0' && (rc = set(ilmd,
		    "cbvmda:itemExpirationDate",
		    json_string(x->range.expiry))) != 0)
			return rc;
		return 0;
	}
	if (strcmp(st, "packing") == 0)
		return set(ev, "action", json_string("ADD")) != 0 ||
		    set(ev, "bizStep", json_string(st)) != 0 ||
		    set(ev, "disposition", json_string("in_progress")) != 0 ?
		    YIMA_ENOMEM : 0;
	if (strcmp(st, "unpacking") == 0)
		return set(ev, "action", json_string("DELETE")) != 0 ||
		    set(ev, "bizStep", json_string(st)) != 0 ? YIMA_ENOMEM : 0;
	if (strcmp(st, "decommissioning") == 0)
		return set(ev, "action", json_string("DELETE")) != 0 ||
		    set(ev, "bizStep", json_string(st)) != 0 ||
		    set(ev, "disposition", json_string("inactive")) != 0 ||
		    (e->detail[0] != '\0' && set(ev, "yima:revocationReason",
		    json_string(e->detail)) != 0) ? YIMA_ENOMEM : 0;
	if (strcmp(st, "shipping") == 0) {
		json_t *src, *dst;

		if (set(ev, "sourceList", src = json_array()) != 0 ||
		    set(ev, "destinationList", dst = json_array()) != 0)
			return YIMA_ENOMEM;
		if (e->source[0] != '\0') {
			if ((rc = dealer_uri(x, e->source, "417", uri)) != 0)
				return rc;
		} else
			brand_uri(x, uri);
		if (json_array_append_new(src, json_pack("{s:s,s:s}", "type",
		    "owning_party", "source", uri)) != 0 ||
		    (rc = dealer_uri(x, e->party, "417", uri)) != 0 ||
		    json_array_append_new(dst, json_pack("{s:s,s:s}", "type",
		    "owning_party", "destination", uri)) != 0 ||
		    (rc = dealer_uri(x, e->party, "414", loc)) != 0 ||
		    json_array_append_new(dst, json_pack("{s:s,s:s}", "type",
		    "location", "destination", loc)) != 0)
			return rc != 0 ? rc : YIMA_ENOMEM;
		if (set(ev, "action", json_string("OBSERVE")) != 0 ||
		    set(ev, "bizStep", json_string(st)) != 0 ||
		    set(ev, "disposition", json_string("in_transit")) != 0)
			return YIMA_ENOMEM;
		if (e->detail[0] != '\0' && (desadv_uri(x, e->detail, uri) !=
		    0 || set(ev, "bizTransactionList", json_pack("[{s:s,s:s}]",
		    "type", "desadv", "bizTransaction", uri)) != 0))
			return YIMA_ENOMEM;
		return 0;
	}
	/* receiving and opening, at the store */
	if ((rc = dealer_uri(x, e->party, "414", loc)) != 0)
		return rc;
	if (strcmp(st, "receiving") == 0)
		return set(ev, "action", json_string("OBSERVE")) != 0 ||
		    set(ev, "bizStep", json_string(st)) != 0 ||
		    set(ev, "disposition", json_string("in_progress")) != 0 ||
		    set(ev, "readPoint", id_of(loc)) != 0 ||
		    set(ev, "bizLocation", id_of(loc)) != 0 ? YIMA_ENOMEM : 0;
	if (strcmp(st, "opening") == 0)
		return set(ev, "action", json_string("DELETE")) != 0 ||
		    set(ev, "bizStep", json_string("unpacking")) != 0 ||
		    set(ev, "readPoint", id_of(loc)) != 0 ||
		    set(ev, "bizLocation", id_of(loc)) != 0 ? YIMA_ENOMEM : 0;
	return YIMA_EINVAL;
}

/* To 0.1 degree, half away from zero, as retention coarsens a place. */
static double
round1(double v)
{
	return round(v * 10) / 10;
}

static int
scan_event(struct api_epcis *x, const struct yima_epcis_row *e, json_t *ev)
{
	char uri[API_EPCIS_URI_MAX], geo[48];
	const char *v = yima_verdict_name(e->verdict);
	int rc;

	if ((rc = api_epcis_epc(x, e->serial, uri)) != 0)
		return rc;
	if (set(ev, "type", json_string("ObjectEvent")) != 0)
		return YIMA_ENOMEM;
	/* eventTime, eventTimeZoneOffset and eventID come first (caller) */
	if (set(ev, "epcList", json_pack("[s]", uri)) != 0 ||
	    set(ev, "action", json_string("OBSERVE")) != 0 ||
	    set(ev, "bizStep", json_string(API_EPCIS_NS
	    "BizStep-consumer_verification")) != 0)
		return YIMA_ENOMEM;
	if (e->located) {
		snprintf(geo, sizeof(geo), "geo:%.1f,%.1f", round1(e->lat) +
		    0.0, round1(e->lon) + 0.0);
		if (set(ev, "readPoint", id_of(geo)) != 0)
			return YIMA_ENOMEM;
	}
	if (v != NULL && set(ev, "yima:verdict", json_string(v)) != 0)
		return YIMA_ENOMEM;
	if (e->region[0] != '\0' && set(ev, "yima:region",
	    json_string(e->region)) != 0)
		return YIMA_ENOMEM;
	return 0;
}

int
api_epcis_event(struct api_epcis *x, const struct yima_epcis_row *e,
    json_t **out)
{
	char t[48], id[API_EPCIS_ID_LEN + 1];
	json_t *ev = json_object(), *body = json_object();
	const char *k;
	json_t *v;
	int rc = YIMA_ENOMEM;

	if (ev == NULL || body == NULL)
		goto fail;
	rc = e->scan ? scan_event(x, e, body) : chain_event(x, e, body);
	if (rc != 0)
		goto fail;
	/* type, time and id first, as GS1's examples read */
	api_epcis_time(e->at, t, sizeof(t));
	rc = YIMA_ENOMEM;
	if (set(ev, "type", json_incref(json_object_get(body, "type"))) != 0 ||
	    set(ev, "eventTime", json_string(t)) != 0 ||
	    set(ev, "eventTimeZoneOffset", json_string(TZ)) != 0)
		goto fail;
	json_object_foreach(body, k, v)
		if (strcmp(k, "type") != 0 && set(ev, k, json_incref(v)) != 0)
			goto fail;
	if ((rc = api_epcis_hash(ev, id)) != 0)
		goto fail;
	if (set(ev, "eventID", json_string(id)) != 0) {
		rc = YIMA_ENOMEM;
		goto fail;
	}
	json_decref(body);
	*out = ev;
	return 0;
fail:
	json_decref(body);
	json_decref(ev);
	return rc;
}

/* ---- the event hash id (CBV 2.0, 8.9) ----
 *
 * The pre-hash string: "eventType=" and the event's fields in the CBV's
 * order, each "name=value", a list as its name and its entries sorted, a
 * list entry's own fields in their order; then the extensions, sorted,
 * as "{namespace}name=value". Values are trimmed, times written in UTC
 * to the millisecond, CBV terms as their URIs, GS1 keys as canonical
 * Digital Link URIs on id.gs1.org, and numbers without padding zeros.
 * Its SHA-256 is the id. (GS1 France's epcis2.js computes the same: the
 * tests compare.)
 */

static const char *const hash_order[] = { "eventTime", "eventTimeZoneOffset",
    "certificationInfo", "epcList", "parentID", "inputEPCList", "childEPCs",
    "quantityList", "childQuantityList", "inputQuantityList",
    "outputEPCList", "outputQuantityList", "action", "transformationID",
    "bizStep", "disposition", "persistentDisposition", "readPoint",
    "bizLocation", "bizTransactionList", "sourceList", "destinationList",
    "sensorElementList", "ilmd" };

/* The prefixes an event's extension names may use. */
static const char *
prefix_ns(const char *key, size_t n)
{
	if (n == 4 && strncmp(key, "yima", 4) == 0)
		return API_EPCIS_NS;
	if (n == 6 && strncmp(key, "cbvmda", 6) == 0)
		return "urn:epcglobal:cbv:mda:";
	return NULL;
}

/* Characters GS1 allows in a serial or lot (CSET 82, less some). */
static int
dl_chars(const char *s, size_t n, size_t max)
{
	size_t i;

	if (n > max)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(c == 0x22 || c == 0x27 || c == 0x2D || c == 0x2E ||
		    (c >= 0x30 && c <= 0x39) || (c >= 0x3B && c <= 0x3F) ||
		    (c >= 0x41 && c <= 0x5A) || c == 0x5F ||
		    (c >= 0x61 && c <= 0x7A)))
			return 0;
	}
	return 1;
}

static int
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * A GS1 Digital Link URI of a key we write (00, 01 with 21 or 10, 414,
 * 417) on any host as its canonical form on id.gs1.org, into out; else
 * the text as it is.
 */
static void
dl_canonical(const char *v, char *out, size_t len)
{
	static const char *const alias[][2] = { { "/gtin/", "/01/" },
	    { "/party/", "/417/" }, { "/gln/", "/414/" }, { "/sscc/", "/00/" },
	    { "/ser/", "/21/" }, { "/lot/", "/10/" } };
	static const char *const keys[] = { "/00/", "/01/", "/414/", "/417/" };
	char u[API_EPCIS_URI_MAX * 2], *p, *q, *k;
	size_t i, n, g;

	snprintf(out, len, "%s", v);
	if (strchr(v, '.') == NULL || (strncmp(v, "https://", 8) != 0 &&
	    strncmp(v, "http://", 7) != 0) || strlen(v) >= sizeof(u) - 18)
		return;
	snprintf(u, sizeof(u), "%s", v);
	if ((p = strchr(u, '?')) != NULL)
		*p = '\0';
	for (i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if ((p = strstr(u, alias[i][0])) != NULL) {
			size_t a = strlen(alias[i][0]), b = strlen(alias[i][1]);

			memmove(p + b, p + a, strlen(p + a) + 1);
			memcpy(p, alias[i][1], b);
		}
	for (i = 0, k = NULL; k == NULL && i < sizeof(keys) / sizeof(keys[0]);
	    i++)
		k = strstr(u, keys[i]);
	if (k == NULL)
		return;
	memmove(u + 18, k, strlen(k) + 1);
	memcpy(u, "https://id.gs1.org", 18);
	p = u + 18;
	/* a GTIN-8, -12 or -13 padded to 14 digits */
	if (strncmp(p, "/01/", 4) == 0) {
		for (g = 0; p[4 + g] >= '0' && p[4 + g] <= '9'; g++)
			;
		if ((g == 8 || g == 12 || g == 13) && strlen(u) + 14 - g <
		    sizeof(u)) {
			memmove(p + 4 + 14 - g, p + 4, strlen(p + 4) + 1);
			memset(p + 4, '0', 14 - g);
		}
	}
	q = strchr(p + 1, '/');
	n = strlen(q + 1);
	if (strncmp(p, "/00/", 4) == 0 && n == 18 && digits(q + 1, 18))
		goto valid;
	if ((strncmp(p, "/414/", 5) == 0 || strncmp(p, "/417/", 5) == 0) &&
	    n == 13 && digits(q + 1, 13))
		goto valid;
	if (strncmp(p, "/01/", 4) == 0 && n >= 14 && digits(q + 1, 14)) {
		q += 15;
		if (*q == '\0')
			goto valid;
		if ((strncmp(q, "/21/", 4) == 0 || strncmp(q, "/10/", 4) == 0) &&
		    dl_chars(q + 4, strlen(q + 4), 20))
			goto valid;
	}
	return;
valid:
	snprintf(out, len, "%s", u);
}

/* One "name=value" with the value in canonical form. */
static int
field(struct yima_buf *b, const char *name, const char *v)
{
	char canon[API_EPCIS_URI_MAX * 2];
	const char *e;
	size_t n;

	while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
		v++;
	n = strlen(v);
	for (e = v + n; e > v && (e[-1] == ' ' || e[-1] == '\t' ||
	    e[-1] == '\n' || e[-1] == '\r'); e--)
		;
	n = (size_t)(e - v);
	/* numbers lose padding zeros: 007 is 07, 1.50 is 1.5 */
	if (n > 0 && strspn(v, "0123456789.") >= n) {
		while (n > 2 && *v == '0') {
			v++;
			n--;
		}
		while (n > 3 && v[n - 1] == '0' && memchr(v, '.', n) != NULL)
			n--;
		if (n > 0 && v[n - 1] == '.')
			n--;
	} else if (n < sizeof(canon) / 2 && memchr(v, '/', n) != NULL) {
		char raw[API_EPCIS_URI_MAX * 2];

		snprintf(raw, sizeof(raw), "%.*s", (int)n, v);
		dl_canonical(raw, canon, sizeof(canon));
		return yima_buf_printf(b, "%s=%s", name, canon);
	}
	return yima_buf_printf(b, "%s=%.*s", name, (int)n, v);
}

/* A CBV term ("shipping") as its URI (prefix "BizStep-", say). */
static int
cbv_field(struct yima_buf *b, const char *name, const char *prefix,
    const char *v)
{
	char uri[160];

	if (strchr(v, ':') != NULL)
		return field(b, name, v);
	snprintf(uri, sizeof(uri), CBV "%s%s", prefix, v);
	return field(b, name, uri);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Strings, sorted and joined onto out unless rc says a failure; freed. */
static int
join_sorted(struct yima_buf *out, char **s, size_t n, int rc)
{
	size_t i;

	if (rc == 0)
		qsort(s, n, sizeof(*s), cmp_str);
	for (i = 0; i < n; i++) {
		if (rc == 0 && s[i] != NULL)
			rc = yima_buf_puts(out, s[i]);
		free(s[i]);
	}
	return rc;
}

/* A string made by fn into a new heap copy. */
static char *
take_buf(struct yima_buf *b)
{
	char *s = NULL;

	if (b->data != NULL && (s = malloc(b->len + 1)) != NULL)
		memcpy(s, b->data, b->len + 1);
	yima_buf_reset(b);
	return s;
}

/* An extension "prefix:name" as "{namespace}name"; NULL when unknown. */
static int
ext_name(const char *key, char *out, size_t len)
{
	const char *c = strchr(key, ':'), *ns;

	if (c == NULL || (ns = prefix_ns(key, (size_t)(c - key))) == NULL)
		return -1;
	snprintf(out, len, "{%s}%s", ns, c + 1);
	return 0;
}

/* The sorted "{ns}name=value" of an object's extension members. */
static int
ext_fields(struct yima_buf *out, json_t *o, int top)
{
	struct yima_buf one = YIMA_BUF_INIT;
	char name[192], **s;
	const char *k;
	json_t *v;
	size_t n = 0, i;
	int rc = 0;

	if ((s = calloc(json_object_size(o) + 1, sizeof(*s))) == NULL)
		return YIMA_ENOMEM;
	json_object_foreach(o, k, v) {
		if (top) {
			for (i = 0; i < sizeof(hash_order) / sizeof(hash_order[0]);
			    i++)
				if (strcmp(k, hash_order[i]) == 0)
					break;
			if (i < sizeof(hash_order) / sizeof(hash_order[0]) ||
			    strcmp(k, "type") == 0 || strcmp(k, "eventID") == 0 ||
			    strcmp(k, "recordTime") == 0 ||
			    strcmp(k, "@context") == 0)
				continue;
		}
		if (!json_is_string(v) || ext_name(k, name, sizeof(name)) != 0) {
			rc = YIMA_EINVAL;	/* not what we write */
			break;
		}
		if ((rc = field(&one, name, json_string_value(v))) != 0 ||
		    (s[n++] = take_buf(&one)) == NULL) {
			rc = YIMA_ENOMEM;
			break;
		}
	}
	rc = join_sorted(out, s, n, rc);
	free(s);
	yima_buf_free(&one);
	return rc;
}

/* A list: its name, then its entries' strings sorted. */
static int
list_field(struct yima_buf *b, const char *name, const json_t *arr)
{
	static const char *const sdt[][3] = {
	    { "bizTransactionList", "bizTransaction", "BTT-" },
	    { "sourceList", "source", "SDT-" },
	    { "destinationList", "destination", "SDT-" } };
	struct yima_buf one = YIMA_BUF_INIT;
	const char *inner = NULL, *pre = NULL, *t, *x;
	char **s;
	size_t i, n = json_array_size(arr);
	int rc = 0;

	if (n == 0)
		return 0;
	for (i = 0; i < 3; i++)
		if (strcmp(name, sdt[i][0]) == 0) {
			inner = sdt[i][1];
			pre = sdt[i][2];
		}
	if ((s = calloc(n, sizeof(*s))) == NULL)
		return YIMA_ENOMEM;
	for (i = 0; rc == 0 && i < n; i++) {
		const json_t *v = json_array_get(arr, i);

		if (inner == NULL)
			rc = json_is_string(v) ? field(&one, "epc",
			    json_string_value(v)) : YIMA_EINVAL;
		else if ((t = json_string_value(json_object_get(v, "type"))) ==
		    NULL || (x = json_string_value(json_object_get(v,
		    inner))) == NULL)
			rc = YIMA_EINVAL;
		else if ((rc = cbv_field(&one, "type", pre, t)) == 0)
			rc = field(&one, inner, x);
		if (rc == 0 && (s[i] = take_buf(&one)) == NULL)
			rc = YIMA_ENOMEM;
	}
	rc = join_sorted(b, s, n, rc != 0 ? rc : yima_buf_puts(b, name));
	free(s);
	yima_buf_free(&one);
	return rc;
}

/* eventTime in UTC to the millisecond: "2026-12-04T10:30:00.000Z". */
static int
utc_field(struct yima_buf *b, const char *v)
{
	int64_t ms;
	char t[40];

	if (api_rfc3339_parse(v, &ms) != 0)
		return YIMA_EINVAL;
	{
		time_t sec = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
		struct tm tm;

		gmtime_r(&sec, &tm);
		strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	}
	return yima_buf_printf(b, "eventTime=%s.%03dZ", t,
	    (int)(((ms % 1000) + 1000) % 1000));
}

int
api_epcis_hash(json_t *ev, char *out)
{
	struct yima_buf b = YIMA_BUF_INIT;
	unsigned char md[SHA256_DIGEST_LENGTH];
	const char *k, *t;
	json_t *v;
	size_t i;
	int rc;

	if ((t = json_string_value(json_object_get(ev, "type"))) == NULL)
		return YIMA_EINVAL;
	rc = yima_buf_printf(&b, "eventType=%s", t);
	for (i = 0; rc == 0 && i < sizeof(hash_order) / sizeof(hash_order[0]);
	    i++) {
		k = hash_order[i];
		if ((v = json_object_get(ev, k)) == NULL)
			continue;
		if (strcmp(k, "eventTime") == 0)
			rc = json_is_string(v) ? utc_field(&b,
			    json_string_value(v)) : YIMA_EINVAL;
		else if (json_is_array(v))
			rc = list_field(&b, k, v);
		else if (strcmp(k, "readPoint") == 0 ||
		    strcmp(k, "bizLocation") == 0)
			rc = (t = json_string_value(json_object_get(v, "id"))) ==
			    NULL ? YIMA_EINVAL : yima_buf_puts(&b, k) != 0 ?
			    YIMA_ENOMEM : field(&b, "id", t);
		else if (strcmp(k, "ilmd") == 0)
			rc = yima_buf_puts(&b, "ilmd") != 0 ? YIMA_ENOMEM :
			    ext_fields(&b, v, 0);
		else if (!json_is_string(v))
			rc = YIMA_EINVAL;	/* not what we write */
		else if (strcmp(k, "bizStep") == 0)
			rc = cbv_field(&b, k, "BizStep-", json_string_value(v));
		else if (strcmp(k, "disposition") == 0)
			rc = cbv_field(&b, k, "Disp-", json_string_value(v));
		else
			rc = field(&b, k, json_string_value(v));
	}
	if (rc == 0)
		rc = ext_fields(&b, ev, 1);
	if (rc == 0) {
		SHA256((const unsigned char *)b.data, b.len, md);
		memcpy(out, "ni:///sha-256;", 14);
		for (i = 0; i < sizeof(md); i++)
			snprintf(out + 14 + 2 * i, 3, "%02x", md[i]);
		memcpy(out + 14 + 64, "?ver=CBV2.0", 12);
	}
	yima_buf_free(&b);
	return rc;
}

json_t *
api_epcis_context(void)
{
	return json_pack("[s,{s:s}]", API_EPCIS_CONTEXT, "yima",
	    API_EPCIS_NS);
}

json_t *
api_epcis_document(json_t *events, const char *query, int64_t now)
{
	char t[48];
	json_t *body;

	api_epcis_time(now, t, sizeof(t));
	body = query == NULL ? json_pack("{s:o}", "eventList", events) :
	    json_pack("{s:{s:s,s:{s:o}}}", "queryResults", "queryName", query,
	    "resultsBody", "eventList", events);
	if (body == NULL)
		return NULL;
	return json_pack("{s:o,s:s,s:s,s:s,s:o}", "@context",
	    api_epcis_context(), "type", query == NULL ? "EPCISDocument" :
	    "EPCISQueryDocument", "schemaVersion", "2.0", "creationDate", t,
	    "epcisBody", body);
}

/* ---- recording ---- */

/* Appends first..last to the spans text. */
static int
span_put(struct yima_buf *b, uint64_t first, uint64_t last)
{
	return first == last ? yima_buf_printf(b, "%s%llu", b->len > 0 ?
	    "," : "", (unsigned long long)first) : yima_buf_printf(b,
	    "%s%llu-%llu", b->len > 0 ? "," : "", (unsigned long long)first,
	    (unsigned long long)last);
}

int
api_epcis_record(struct yima_tx *tx, const char *step, int64_t at,
    uint64_t parent, const struct yima_span *spans, size_t n,
    const char *party, const char *source, const char *detail)
{
	struct yima_epcis_row e;
	struct yima_buf b = YIMA_BUF_INIT;
	uint64_t first, last, in = 0;
	size_t i;
	int rc = 0;

	memset(&e, 0, sizeof(e));
	snprintf(e.step, sizeof(e.step), "%s", step);
	e.at = at;
	e.parent = parent;
	e.party = party != NULL ? party : "";
	e.source = source != NULL ? source : "";
	e.detail = detail != NULL ? detail : "";
	e.epcs = "";
	if (n == 0)
		return yima_tx_epcis_add(tx, &e);
	/* Rows of at most YIMA_EPCIS_CHUNK EPCs. */
	for (i = 0; i < n && rc == 0; i++)
		for (first = spans[i].first; rc == 0; first = last + 1) {
			last = spans[i].last;
			if (last - first >= YIMA_EPCIS_CHUNK - in)
				last = first + (YIMA_EPCIS_CHUNK - in) - 1;
			rc = span_put(&b, first, last);
			in += last - first + 1;
			if (rc == 0 && in == YIMA_EPCIS_CHUNK) {
				e.epcs = b.data;
				rc = yima_tx_epcis_add(tx, &e);
				yima_buf_reset(&b);
				in = 0;
			}
			if (last == spans[i].last)
				break;
		}
	if (rc == 0 && in > 0) {
		e.epcs = b.data;
		rc = yima_tx_epcis_add(tx, &e);
	}
	yima_buf_free(&b);
	return rc;
}

int
api_epcis_commission(struct yima_tx *tx, const struct yima_manifest *m,
    int64_t at)
{
	struct yima_span sp = { m->first_serial, m->first_serial + m->count -
	    1 };

	/* (the cap-inside codes stay secret: they are not commissioned;
	 * channel codes name dealers and stores, not goods) */
	if (m->kind == YIMA_KIND_CHANNEL)
		return 0;
	return api_epcis_record(tx, "commissioning", at, 0, &sp, 1, NULL, NULL,
	    NULL);
}

struct clip {
	struct yima_span	*spans;
	size_t			 n, max;
	uint64_t		 first, last;
	int			 rc;
};

static void
clip_one(void *ctx, const struct yima_range *r)
{
	struct clip *c = ctx;
	struct yima_span *p;

	if (r->kind == YIMA_KIND_INNER || r->kind == YIMA_KIND_CHANNEL ||
	    c->rc != 0)
		return;
	if (c->n == c->max) {
		c->max = c->max * 2 + 16;
		if ((p = yima_realloc(c->spans, c->max * sizeof(*p))) == NULL) {
			c->rc = YIMA_ENOMEM;
			return;
		}
		c->spans = p;
	}
	c->spans[c->n++] = (struct yima_span){ r->first > c->first ?
	    r->first : c->first, r->last < c->last ? r->last : c->last };
}

int
api_epcis_decommission(struct yima_tx *tx, uint64_t first, uint64_t last,
    const char *reason, int64_t at)
{
	struct clip c = { NULL, 0, 0, first, last, 0 };
	int rc;

	if ((rc = yima_tx_ranges_in(tx, first, last, clip_one, &c)) == 0 &&
	    (rc = c.rc) == 0 && c.n > 0)
		rc = api_epcis_record(tx, "decommissioning", at, 0, c.spans,
		    c.n, NULL, NULL, reason);
	yima_free(c.spans);
	return rc;
}
