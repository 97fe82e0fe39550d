/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Products (PUT/DELETE for admins, GET for anyone) and the GS1 Digital
 * Link resolver on /01/...: a linkset (RFC 9264) of an item's or a
 * product's links, a 307 to one link type, or the page itself.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "yima/err.h"
#include "yima/gs1.h"
#include "yima/validate.h"

#include "product.h"
#include "routes.h"

#define BASE_MAX	300	/* scheme://host[:port] */
#define LINKS_MAX	(API_PRODUCT_LINKS_MAX + 5)
/* How to read a linkset as JSON-LD (GS1-Conformant Resolver 1.2). */
#define JSONLD_CONTEXT	"<https://ref.gs1.org/standards/resolver/" \
	"linkset-context>; rel=\"http://www.w3.org/ns/json-ld#context\"; " \
	"type=\"application/ld+json\""

static const char *const cors[] = {
	"Access-Control-Allow-Origin", "*",
	"Access-Control-Expose-Headers", "Link, Location",
	"Vary", "Accept, Accept-Language",
	"Cache-Control", "no-store",
};
#define NCORS	(sizeof(cors) / sizeof(cors[0]))

/* The path's GTIN as GTIN-14; 0, or -1 after queuing 400. */
static int
gtin_param(struct api_req *r, char gtin[YIMA_GTIN_LEN + 1],
    enum MHD_Result *res)
{
	char why[YIMA_WHY_MAX];

	if (r->param_len > YIMA_GTIN_LEN ||
	    yima_gtin_normalize(r->param, gtin, why) != 0) {
		*res = api_reply_error(r, 400, "bad_gtin", "%s", r->param_len >
		    YIMA_GTIN_LEN ? "a GTIN has 8, 12, 13 or 14 digits" : why);
		return -1;
	}
	return 0;
}

enum MHD_Result
api_route_product_put(struct api_req *r)
{
	char gtin[YIMA_GTIN_LEN + 1], rule[160];
	struct yima_product *p = NULL;
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	const char *field = NULL;
	json_t *body, *doc;
	int rc, created = 0;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if (gtin_param(r, gtin, &res) != 0)
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	if ((p = malloc(sizeof(*p))) == NULL) {
		json_decref(body);
		return MHD_NO;
	}
	rc = api_product_parse(gtin, body, api_now_ms(), p, &field, rule);
	if (rc != 0) {
		free(p);
		/* field may be a key of body: answer before freeing it. */
		res = field == NULL ? MHD_NO : api_reply_error(r, 400,
		    "bad_request", "\"%.64s\" %s", field, rule);
		json_decref(body);
		return res;
	}
	json_decref(body);
	if ((rc = yima_tx_begin(r->srv->st, 1, &tx)) == 0) {
		if ((rc = yima_tx_product_put(tx, p, &created)) != 0)
			yima_tx_rollback(tx);
		else
			rc = yima_tx_commit(tx);
	}
	api_products_forget(r->srv->products, gtin);
	doc = rc == 0 ? json_loads(p->doc, 0, NULL) : NULL;
	free(p);
	if (rc != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the product could not be stored");
	return api_reply_json(r, created ? 201 : 200, doc);
}

enum MHD_Result
api_route_product_delete(struct api_req *r)
{
	char gtin[YIMA_GTIN_LEN + 1];
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if (gtin_param(r, gtin, &res) != 0)
		return res;
	if ((rc = yima_tx_begin(r->srv->st, 1, &tx)) == 0) {
		if ((rc = yima_tx_product_delete(tx, gtin)) != 0)
			yima_tx_rollback(tx);
		else
			rc = yima_tx_commit(tx);
	}
	api_products_forget(r->srv->products, gtin);
	if (rc == YIMA_ENOENT)
		return api_reply_error(r, 404, "not_found", "no product has "
		    "GTIN %s", gtin);
	if (rc != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	return api_reply(r, 204, "application/json", "", 0, NULL);
}

static void
add_product(void *ctx, const struct yima_product *p)
{
	json_t *doc = json_loads(p->doc, 0, NULL);

	if (doc != NULL)
		json_array_append_new(ctx, doc);
}

static int
fill_products(struct yima_tx *tx, json_t *list, const void *arg)
{
	(void)arg;
	return yima_tx_product_list(tx, add_product, list);
}

/* Products are what the packaging says: public to anyone. */
enum MHD_Result
api_route_products(struct api_req *r)
{
	enum MHD_Result res;

	if (!api_rate_ok(r, &res))
		return res;
	return api_reply_list(r, "products", fill_products, NULL);
}

enum MHD_Result
api_route_product_get(struct api_req *r)
{
	char gtin[YIMA_GTIN_LEN + 1];
	struct yima_product *p;
	struct yima_tx *tx;
	enum MHD_Result res;
	int rc;

	if (!api_rate_ok(r, &res))
		return res;
	if (gtin_param(r, gtin, &res) != 0)
		return res;
	if ((p = malloc(sizeof(*p))) == NULL)
		return MHD_NO;
	if ((rc = yima_tx_begin(r->srv->st, 0, &tx)) == 0) {
		rc = yima_tx_product_get(tx, gtin, p);
		yima_tx_rollback(tx);
	}
	if (rc == 0)
		res = api_reply_json(r, 200, json_loads(p->doc, 0, NULL));
	else if (rc == YIMA_ENOENT)
		res = api_reply_error(r, 404, "not_found", "no product has "
		    "GTIN %s", gtin);
	else
		res = api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	free(p);
	return res;
}

/* ---- the resolver ---- */

/* scheme://host of this request, from Host when it is a plain name. */
static void
base_of(struct api_req *r, char base[BASE_MAX])
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Host");
	size_t n = h != NULL ? strlen(h) : 0;

	if (n == 0 || n > 255 || strspn(h, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != n)
		h = "localhost";
	snprintf(base, BASE_MAX, "%s://%s", r->https ? "https" : "http", h);
}

/* An error as JSON with the resolver's CORS headers. */
static enum MHD_Result
dl_error(struct api_req *r, int status, const char *code, const char *msg)
{
	const char *hdr[NCORS + 1];

	memcpy(hdr, cors, sizeof(cors));
	hdr[NCORS] = NULL;
	return api_reply_json_hdr(r, status, json_pack("{s:{s:s,s:s}}",
	    "error", "code", code, "message", msg), hdr);
}

struct query {
	struct yima_buf	 all;	/* the query as sent, rebuilt */
	struct yima_buf	 on;	/* ... without linkType: passed on */
	int		 err;
};

static enum MHD_Result
query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct query *q = cls;
	struct yima_buf *b[2] = { &q->all, &q->on };
	int i;

	(void)kind;
	for (i = 0; i < 2; i++) {
		if (i == 1 && strcmp(key, "linkType") == 0)
			continue;
		if ((b[i]->len > 0 && yima_buf_puts(b[i], "&") != 0) ||
		    api_url_escape(b[i], key) != 0 || (value != NULL &&
		    (yima_buf_puts(b[i], "=") != 0 ||
		    api_url_escape(b[i], value) != 0)))
			q->err = 1;
	}
	return MHD_YES;
}

struct link {
	const char	*rel;	/* short name: "pip" */
	char		 href[600];
	const char	*title;
	const char	*type;	/* NULL: not said */
	const char	*lang;	/* NULL: not said */
};

static struct link *
link_add(struct link *l, size_t *n, const char *rel, const char *title,
    const char *type)
{
	l += (*n)++;
	memset(l, 0, sizeof(*l));
	l->rel = rel;
	l->title = title;
	l->type = type;
	return l;
}

/*
 * The links of an item (serial) or a product: the brand's own first,
 * then yima's. The default link has only href and title, and its target
 * is described by a descriptive link type too, as GS1 asks.
 */
static size_t
links_of(json_t *doc, const char *base, const char *gtin,
    const char *serial, struct link *l)
{
	const char *href;
	json_t *o;
	size_t n = 0, i;
	struct link *k;

	json_array_foreach(json_object_get(doc, "links"), i, o) {
		if (n == API_PRODUCT_LINKS_MAX)
			break;
		href = json_string_value(json_object_get(o, "href"));
		k = link_add(l, &n, api_link_type(json_string_value(
		    json_object_get(o, "rel"))), json_string_value(
		    json_object_get(o, "title")), NULL);
		if (k->rel == NULL || href == NULL || k->title == NULL) {
			n--;
			continue;
		}
		/* A path here is made whole: a linkset's hrefs are URLs. */
		snprintf(k->href, sizeof(k->href), "%s%s", href[0] == '/' ?
		    base : "", href);
		k->lang = json_string_value(json_object_get(o, "lang"));
	}
	if (serial != NULL) {
		k = link_add(l, &n, "defaultLink", "Is it genuine? Scan result "
		    "and rewards", NULL);
		snprintf(k->href, sizeof(k->href), "%s/01/%s/21/%s", base, gtin,
		    serial);
		k = link_add(l, &n, "verificationService", k->title,
		    "text/html");
		snprintf(k->href, sizeof(k->href), "%s", k[-1].href);
		k = link_add(l, &n, "verificationService", "Verify this item "
		    "(yima API)", "application/json");
		snprintf(k->href, sizeof(k->href),
		    "%s/api/v1/codes/01/%s/21/%s", base, gtin, serial);
	} else {
		k = link_add(l, &n, "defaultLink", "Product information",
		    NULL);
		snprintf(k->href, sizeof(k->href), "%s/01/%s", base, gtin);
	}
	k = link_add(l, &n, "pip", "Product information", "text/html");
	snprintf(k->href, sizeof(k->href), "%s/01/%s", base, gtin);
	if (doc != NULL) {
		k = link_add(l, &n, "masterData", "Product master data",
		    "application/json");
		snprintf(k->href, sizeof(k->href), "%s/api/v1/products/%s",
		    base, gtin);
	}
	return n;
}

/* The link of type want that best fits Accept-Language, or NULL. */
static const struct link *
link_pick(struct api_req *r, const struct link *l, size_t n,
    const char *want)
{
	const char *al = MHD_lookup_connection_value(r->conn,
	    MHD_HEADER_KIND, "Accept-Language");
	const struct link *first = NULL;
	size_t i;

	for (i = 0; want != NULL && i < n; i++) {
		if (strcmp(l[i].rel, want) != 0)
			continue;
		if (first == NULL)
			first = &l[i];
		if (al != NULL && l[i].lang != NULL &&
		    strncasecmp(al, l[i].lang, 2) == 0)
			return &l[i];
	}
	return first;
}

/* {"linkset":[{"anchor", "itemDescription", "https://gs1.org/voc/X":
 * [{href, title, type?, hreflang?}], ...}]} */
static json_t *
linkset(const char *anchor, json_t *doc, const char *gtin,
    const struct link *l, size_t n)
{
	json_t *set, *arr, *t;
	char key[96], desc[200];
	size_t i;

	if (doc != NULL)
		snprintf(desc, sizeof(desc), "%s", json_string_value(
		    json_object_get(doc, "name")));
	else
		snprintf(desc, sizeof(desc), "GTIN %s", gtin);
	set = json_pack("{s:s,s:s}", "anchor", anchor, "itemDescription", desc);
	for (i = 0; set != NULL && i < n; i++) {
		snprintf(key, sizeof(key), "https://gs1.org/voc/%s", l[i].rel);
		if ((arr = json_object_get(set, key)) == NULL) {
			arr = json_array();
			json_object_set_new(set, key, arr);
		}
		t = json_pack("{s:s,s:s}", "href", l[i].href, "title",
		    l[i].title);
		if (l[i].type != NULL)
			json_object_set_new(t, "type", json_string(l[i].type));
		if (l[i].lang != NULL)
			json_object_set_new(t, "hreflang", json_pack("[s]",
			    l[i].lang));
		json_array_append_new(arr, t);
	}
	return json_pack("{s:[o]}", "linkset", set);
}

static int
wants_linkset(struct api_req *r, const struct yima_gs1_dl *dl)
{
	const char *a = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Accept");

	return dl->linkset_asked || (dl->link_type[0] == '\0' && a != NULL &&
	    strstr(a, "application/linkset+json") != NULL);
}

enum MHD_Result
api_route_dl(struct api_req *r)
{
	char text[API_PARAM_MAX + API_URI_MAX + 8], why[YIMA_WHY_MAX];
	char base[BASE_MAX], anchor[BASE_MAX + 96], linkhdr[BASE_MAX + 200];
	char *loc = NULL, *body = NULL;
	const char *hdr[NCORS + 5], *serial;
	struct query q = { YIMA_BUF_INIT, YIMA_BUF_INIT, 0 };
	struct yima_buf ser = YIMA_BUF_INIT;
	const struct link *hit;
	struct link *links = NULL;
	struct yima_gs1_dl dl;
	enum MHD_Result res;
	json_t *doc = NULL, *set;
	size_t n;
	int rc;

	if (!api_rate_ok(r, &res))
		return res;
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_arg,
	    &q);
	if (q.err || r->param_len > API_PARAM_MAX || q.all.len > API_URI_MAX) {
		res = dl_error(r, 400, "bad_gs1", "the URI is too long");
		goto done;
	}
	/* A trailing slash is tolerated, as GS1 asks of a resolver. */
	n = r->param_len;
	if (n > 0 && r->param[n - 1] == '/')
		n--;
	snprintf(text, sizeof(text), "/01/%.*s%s%.*s", (int)n, r->param,
	    q.all.len ? "?" : "", (int)q.all.len, q.all.data ? q.all.data :
	    "");
	if ((rc = yima_gs1_dl_parse(text, strlen(text), &dl, why)) != 0) {
		res = dl_error(r, rc == 1 ? 404 : 400, rc == 1 ? "not_found" :
		    "bad_gs1", rc == 1 ? "not a Digital Link URI" : why);
		goto done;
	}
	if (strcmp(dl.key.ai, "01") != 0) {
		res = dl_error(r, 404, "not_found", "this resolver serves "
		    "(01) GTINs");
		goto done;
	}
	/* The serial as a path segment again: percent-encoded. */
	if ((serial = yima_gs1_dl_get(&dl, "21")) != NULL &&
	    (api_url_escape(&ser, serial) != 0 || yima_buf_append(&ser, "",
	    1) != 0)) {
		res = MHD_NO;
		goto done;
	}
	serial = serial != NULL ? ser.data : NULL;
	base_of(r, base);
	snprintf(anchor, sizeof(anchor), "%s/01/%.14s%s%.60s", base,
	    dl.key.value, serial ? "/21/" : "", serial ? serial : "");
	snprintf(linkhdr, sizeof(linkhdr), "<%s?linkType=linkset>; "
	    "rel=\"linkset\"; type=\"application/linkset+json\"", anchor);
	memcpy(hdr, cors, sizeof(cors));
	hdr[NCORS] = "Link";
	hdr[NCORS + 1] = linkhdr;
	hdr[NCORS + 2] = NULL;
	doc = api_products_get(r->srv->products, r->srv->st, NULL,
	    dl.key.value);
	if ((links = calloc(LINKS_MAX, sizeof(*links))) == NULL) {
		res = MHD_NO;
		goto done;
	}
	n = links_of(doc, base, dl.key.value, serial, links);
	if (wants_linkset(r, &dl)) {
		set = linkset(anchor, doc, dl.key.value, links, n);
		body = set != NULL ? json_dumps(set, JSON_COMPACT) : NULL;
		json_decref(set);
		hdr[NCORS + 2] = "Link";
		hdr[NCORS + 3] = JSONLD_CONTEXT;
		hdr[NCORS + 4] = NULL;
		res = body == NULL ? MHD_NO : api_reply(r, 200,
		    "application/linkset+json", body, strlen(body), hdr);
		goto done;
	}
	if (dl.link_type[0] == '\0') {	/* the page itself */
		res = api_landing_reply(r, linkhdr);
		goto done;
	}
	if ((hit = link_pick(r, links, n, api_link_type(dl.link_type))) ==
	    NULL) {
		snprintf(why, sizeof(why), "no link of type %.64s for this "
		    "%s", dl.link_type, serial ? "item" : "product");
		res = dl_error(r, 404, "no_link", why);
		goto done;
	}
	/* The query goes on to the target, less what chose the link. */
	if ((loc = malloc(strlen(hit->href) + q.on.len + 2)) == NULL) {
		res = MHD_NO;
		goto done;
	}
	sprintf(loc, "%s%s%.*s", hit->href, q.on.len == 0 ? "" :
	    strchr(hit->href, '?') ? "&" : "?", (int)q.on.len,
	    q.on.data ? q.on.data : "");
	hdr[NCORS + 2] = "Location";
	hdr[NCORS + 3] = loc;
	hdr[NCORS + 4] = NULL;
	res = api_reply(r, 307, "text/plain", "", 0, hdr);
done:
	json_decref(doc);
	free(links);
	free(body);
	free(loc);
	yima_buf_free(&q.all);
	yima_buf_free(&q.on);
	yima_buf_free(&ser);
	return res;
}

/* CORS preflight and what a resolver allows. */
enum MHD_Result
api_route_dl_options(struct api_req *r)
{
	static const char *const hdr[] = {
		"Allow", "GET, HEAD, OPTIONS",
		"Access-Control-Allow-Origin", "*",
		"Access-Control-Allow-Methods", "GET, HEAD, OPTIONS",
		"Access-Control-Allow-Headers", "Accept, Accept-Language",
		"Access-Control-Max-Age", "86400",
		NULL
	};

	return api_reply(r, 204, "text/plain", "", 0, hdr);
}

enum MHD_Result
api_route_gs1resolver(struct api_req *r)
{
	const char *hdr[NCORS + 1];
	char base[BASE_MAX];

	base_of(r, base);
	memcpy(hdr, cors, sizeof(cors));
	hdr[NCORS] = NULL;
	return api_reply_json_hdr(r, 200, json_pack("{s:s,s:s,s:[s],"
	    "s:[{s:s,s:s}],s:b,s:[],s:s}", "name", "yima", "resolverRoot", base,
	    "supportedPrimaryKeys", "01", "supportedLinkType", "namespace",
	    "https://gs1.org/voc/", "prefix", "gs1:",
	    "linkTypeDefaultCanBeLinkset", 0,
	    "supportedContextValuesEnumerated", "jsonLdContextLocation",
	    "https://ref.gs1.org/standards/resolver/linkset-context"), hdr);
}
