/* SPDX-License-Identifier: Apache-2.0 */
/* Products (product.h): the document's rules, and the cache. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "http.h"
#include "product.h"

#define TEXT_MAX	128
#define DESC_MAX	2000
#define URL_MAX		512
#define SLOTS		1024	/* the cache: direct-mapped by GTIN */

/* The GS1 Web Vocabulary's link types (https://gs1.org/voc/). */
static const char *const link_types[] = {
	"activityIdeas", "allergenInfo", "appDownload", "backgroundInfo",
	"brandHomepageClinical", "brandHomepagePatient", "careersInfo",
	"certificationInfo", "consumerHandlingStorageInfo", "defaultLink",
	"defaultLinkMulti", "dpp", "epcis", "epil", "eventsInfo", "faqs",
	"handledBy", "hasRetailers", "homepage", "ingredientsInfo",
	"instructions", "jws", "leaveReview", "locationInfo", "logisticsInfo",
	"loyaltyProgram", "masterData", "menuInfo", "nutritionalInfo",
	"openingHoursInfo", "paymentLink", "pip", "productSustainabilityInfo",
	"promotion", "purchaseSuppliesOrAccessories", "quickStartGuide",
	"recallStatus", "recipeInfo", "registerProduct", "registryEntry",
	"relatedImage", "relatedVideo", "review", "safetyInfo", "scheduleTime",
	"serviceInfo", "smartLabel", "smpc", "socialMedia", "statisticInfo",
	"subscribe", "support", "sustainabilityInfo", "traceability",
	"tutorial", "userAgreement", "verificationService", "whatsInTheBox",
};

const char *
api_link_type(const char *rel)
{
	static const char *const forms[] = { "gs1:", "https://gs1.org/voc/",
	    "https://ref.gs1.org/voc/", "https://www.gs1.org/voc/" };
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (strncmp(rel, forms[i], strlen(forms[i])) == 0)
			break;
	if (i == sizeof(forms) / sizeof(forms[0]))
		return NULL;
	rel += strlen(forms[i]);
	for (i = 0; i < sizeof(link_types) / sizeof(link_types[0]); i++)
		if (strcmp(rel, link_types[i]) == 0)
			return link_types[i];
	return NULL;
}

int
api_text_ok(json_t *v, size_t max)
{
	const unsigned char *p;

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max)
		return 0;
	for (p = (const unsigned char *)json_string_value(v); *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return strlen(json_string_value(v)) == json_string_length(v);
}

int
api_url_ok(json_t *v)
{
	const char *s = json_string_value(v);
	size_t i;

	if (!json_is_string(v) || json_string_length(v) > URL_MAX)
		return 0;
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0 &&
	    (s[0] != '/' || s[1] == '/'))
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || strchr("\"<>\\^`{|}",
		    s[i]) != NULL)
			return 0;
	return i == json_string_length(v) && i > 1;
}

/* A language tag as a linkset's hreflang takes it: "zh", "en-GB". */
static int
lang_ok(const char *s)
{
	static const char az[] = "abcdefghijklmnopqrstuvwxyz";
	static const char AZ[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	size_t n = strlen(s);

	return strspn(s, az) == 2 && (n == 2 || (n == 5 && s[2] == '-' &&
	    strspn(s + 3, AZ) == 2));
}

static int
bad(const char **field, char rule[160], const char *f, const char *what)
{
	*field = f;
	snprintf(rule, 160, "%s", what);
	return -1;
}

/* links: [{"rel", "href", "title", "lang"?}], rel as "gs1:..." after. */
static int
links_of(json_t *arr, json_t *doc, const char **field, char rule[160])
{
	const char *key, *t;
	json_t *o, *v, *out;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) > API_PRODUCT_LINKS_MAX)
		return bad(field, rule, "links", "must be a list of at most 16 "
		    "links");
	out = json_array();
	json_object_set_new(doc, "links", out);
	json_array_foreach(arr, i, o) {
		if (!json_is_object(o))
			return bad(field, rule, "links", "must hold objects "
			    "{rel, href, title, lang?}");
		json_object_foreach(o, key, v)
			if (strcmp(key, "rel") && strcmp(key, "href") &&
			    strcmp(key, "title") && strcmp(key, "lang"))
				return bad(field, rule, "links", "a link has "
				    "only rel, href, title and lang");
		v = json_object_get(o, "rel");
		if (!json_is_string(v) || (t = api_link_type(
		    json_string_value(v))) == NULL)
			return bad(field, rule, "links[].rel", "must be a GS1 "
			    "link type from the GS1 Web Vocabulary, such as "
			    "gs1:pip or gs1:certificationInfo");
		if (!api_url_ok(json_object_get(o, "href")))
			return bad(field, rule, "links[].href", "must be an "
			    "http(s) URL or a path here, up to 512 characters");
		if (!api_text_ok(json_object_get(o, "title"), TEXT_MAX))
			return bad(field, rule, "links[].title", "must be text "
			    "of 1 to 128 bytes");
		v = json_object_get(o, "lang");
		if (v != NULL && (!json_is_string(v) ||
		    !lang_ok(json_string_value(v))))
			return bad(field, rule, "links[].lang", "must be a "
			    "language tag such as zh or en-GB");
		json_array_append_new(out, json_pack("{s:s+,s:O,s:O}", "rel",
		    "gs1:", t, "href", json_object_get(o, "href"), "title",
		    json_object_get(o, "title")));
		if (v != NULL)
			json_object_set(json_array_get(out, i), "lang", v);
	}
	return 0;
}

/* An unknown key, named back in the error only when short, plain ASCII. */
static const char *
named_back(const char *key)
{
	size_t n = strlen(key);

	return n <= 32 && strspn(key, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n ? key : "(a field)";
}

int
api_product_parse(const char *gtin, json_t *body, int64_t now_ms,
    struct yima_product *out, const char **field, char rule[160])
{
	static const struct {
		const char	*name;
		int		 kind;	/* 0 text, 1 long text, 2 url */
		int		 required;
	} texts[] = {
		{ "name", 0, 1 }, { "brand", 0, 1 }, { "spec", 0, 0 },
		{ "origin", 0, 0 }, { "description", 1, 0 },
		{ "image_url", 2, 0 },
	};
	const char *key;
	json_t *doc, *v, *names;
	char *text = NULL;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	snprintf(out->gtin, sizeof(out->gtin), "%s", gtin);
	out->updated_at = now_ms;
	json_object_foreach(body, key, v) {
		for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
			if (strcmp(key, texts[i].name) == 0)
				break;
		if (i == sizeof(texts) / sizeof(texts[0]) &&
		    strcmp(key, "shelf_life_days") && strcmp(key, "links") &&
		    strcmp(key, "names") && strcmp(key, "gtin"))
			return bad(field, rule, named_back(key), "is not a "
			    "product field (name, brand, spec, image_url, "
			    "description, origin, shelf_life_days, links, "
			    "names)");
	}
	v = json_object_get(body, "gtin");
	if (v != NULL && (!json_is_string(v) || strcmp(json_string_value(v),
	    gtin) != 0))
		return bad(field, rule, "gtin", "must be the path's GTIN as 14 "
		    "digits, or left out");
	doc = json_pack("{s:s}", "gtin", gtin);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		v = json_object_get(body, texts[i].name);
		if (v == NULL && !texts[i].required)
			continue;
		if (texts[i].kind == 2 ? !api_url_ok(v) :
		    !api_text_ok(v, texts[i].kind ? DESC_MAX : TEXT_MAX)) {
			bad(field, rule, texts[i].name, texts[i].kind == 2 ?
			    "must be an http(s) URL or a path here, up to 512 "
			    "characters" : texts[i].kind ? "must be text of 1 "
			    "to 2000 bytes" : "must be text of 1 to 128 bytes");
			goto done;
		}
		json_object_set(doc, texts[i].name, v);
	}
	if ((v = json_object_get(body, "shelf_life_days")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 36500) {
			bad(field, rule, "shelf_life_days", "must be a whole "
			    "number of days from 1 to 36500");
			goto done;
		}
		json_object_set(doc, "shelf_life_days", v);
	}
	if ((v = json_object_get(body, "links")) != NULL &&
	    links_of(v, doc, field, rule) != 0)
		goto done;
	if ((names = json_object_get(body, "names")) != NULL) {
		if (!json_is_object(names) || json_object_size(names) >
		    API_PRODUCT_NAMES_MAX) {
			bad(field, rule, "names", "must be an object of at most "
			    "8 names by language");
			goto done;
		}
		json_object_foreach(names, key, v)
			if (!lang_ok(key) || !api_text_ok(v, TEXT_MAX)) {
				bad(field, rule, "names", "maps a language tag "
				    "(zh, en, en-GB) to text of 1 to 128 bytes");
				goto done;
			}
		json_object_set(doc, "names", names);
	}
	snprintf(out->name, sizeof(out->name), "%s", json_string_value(
	    json_object_get(doc, "name")));
	snprintf(out->brand, sizeof(out->brand), "%s", json_string_value(
	    json_object_get(doc, "brand")));
	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
		goto done;	/* out of memory: field stays NULL */
	if (strlen(text) > YIMA_PRODUCT_DOC_MAX) {
		bad(field, rule, "product", "is longer than 12288 bytes as "
		    "JSON");
		goto done;
	}
	memcpy(out->doc, text, strlen(text) + 1);
	rc = 0;
done:
	free(text);
	json_decref(doc);
	return rc;
}

/* ---- the cache ---- */

struct slot {
	char		 gtin[15];
	int64_t		 expires;	/* ms; 0 empty */
	json_t		*doc;		/* NULL: no product */
	char		*answer;	/* ,"name":... for scan answers */
};

struct api_products {
	pthread_mutex_t	 mu;
	struct slot	 slots[SLOTS];
};

int
api_products_new(struct api_products **out)
{
	struct api_products *c;

	if ((c = yima_calloc(1, sizeof(*c))) == NULL)
		return YIMA_ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	*out = c;
	return 0;
}

static void
slot_clear(struct slot *s)
{
	json_decref(s->doc);
	yima_free(s->answer);
	memset(s, 0, sizeof(*s));
}

void
api_products_free(struct api_products *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < SLOTS; i++)
		slot_clear(&c->slots[i]);
	pthread_mutex_destroy(&c->mu);
	yima_free(c);
}

static struct slot *
slot_of(struct api_products *c, const char *gtin)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *gtin; gtin++)
		h = (h ^ (unsigned char)*gtin) * 1099511628211ULL;
	return &c->slots[h % SLOTS];
}

/* ,"name":..,"brand":..: what a scan answer says of the product. */
static char *
answer_of(json_t *doc)
{
	static const char *const keys[] = { "name", "brand", "image_url",
	    "names" };
	struct yima_buf b = YIMA_BUF_INIT;
	char *t;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (json_object_get(doc, keys[i]) == NULL)
			continue;
		t = json_dumps(json_object_get(doc, keys[i]), JSON_COMPACT |
		    JSON_ENCODE_ANY);
		if (t == NULL || yima_buf_printf(&b, ",\"%s\":%s", keys[i],
		    t) != 0) {
			free(t);
			yima_buf_free(&b);
			return NULL;
		}
		free(t);
	}
	if (yima_buf_append(&b, "", 1) != 0) {
		yima_buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* The slot of gtin filled and fresh, locked; NULL (unlocked) on failure. */
static struct slot *
fresh(struct api_products *c, struct yima_store *st, struct yima_tx *tx,
    const char *gtin)
{
	struct yima_product *p = NULL;
	struct yima_tx *own = NULL;
	struct slot *s = slot_of(c, gtin), n;
	int64_t now = api_now_ms();
	int rc;

	pthread_mutex_lock(&c->mu);
	if (s->expires > now && strcmp(s->gtin, gtin) == 0)
		return s;
	pthread_mutex_unlock(&c->mu);
	/* Read outside the lock: a slow store holds up no other GTIN. */
	memset(&n, 0, sizeof(n));
	if ((p = yima_malloc(sizeof(*p))) == NULL)
		return NULL;
	if (tx == NULL && yima_tx_begin(st, 0, &own) != 0) {
		yima_free(p);
		return NULL;
	}
	rc = yima_tx_product_get(tx != NULL ? tx : own, gtin, p);
	if (own != NULL)
		yima_tx_rollback(own);
	if (rc == 0 && ((n.doc = json_loads(p->doc, 0, NULL)) == NULL ||
	    (n.answer = answer_of(n.doc)) == NULL))
		rc = YIMA_ENOMEM;
	yima_free(p);
	if (rc != 0 && rc != YIMA_ENOENT) {
		json_decref(n.doc);
		return NULL;
	}
	snprintf(n.gtin, sizeof(n.gtin), "%s", gtin);
	n.expires = now + API_PRODUCT_TTL_MS;
	pthread_mutex_lock(&c->mu);
	slot_clear(s);
	*s = n;
	return s;
}

json_t *
api_products_get(struct api_products *c, struct yima_store *st,
    struct yima_tx *tx, const char *gtin)
{
	struct slot *s;
	json_t *doc;

	if ((s = fresh(c, st, tx, gtin)) == NULL)
		return NULL;
	doc = json_incref(s->doc);
	pthread_mutex_unlock(&c->mu);
	return doc;
}

int
api_products_answer(struct api_products *c, struct yima_store *st,
    const char *gtin, struct yima_buf *b)
{
	struct slot *s;
	int rc = 0;

	/* A store failure answers without the name: the scan is kept. */
	if ((s = fresh(c, st, NULL, gtin)) == NULL)
		return 0;
	if (s->answer != NULL)
		rc = yima_buf_puts(b, s->answer);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void
api_products_forget(struct api_products *c, const char *gtin)
{
	struct slot *s = slot_of(c, gtin);

	pthread_mutex_lock(&c->mu);
	if (strcmp(s->gtin, gtin) == 0)
		slot_clear(s);
	pthread_mutex_unlock(&c->mu);
}
