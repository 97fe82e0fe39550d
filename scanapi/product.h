/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Products: the checked document an admin gives for a GTIN (name, brand,
 * picture, GS1 links, names in other languages), and a small cache of
 * them that scan answers, pages and reports read (product.c).
 */
#ifndef API_PRODUCT_H
#define API_PRODUCT_H

#include <jansson.h>

#include "yima/buf.h"
#include "yima/store.h"

#define API_PRODUCT_LINKS_MAX	16
#define API_PRODUCT_NAMES_MAX	8
#define API_PRODUCT_TTL_MS	5000	/* another node's change shows by then */

/*
 * Checks body (the PUT's JSON object) for GTIN-14 gtin and fills out:
 * its name, brand and the canonical document. Returns 0, or -1 with
 * field naming the bad field (a key of body, maybe: valid while body
 * is) and rule what it must be; field NULL: out of memory.
 */
int api_product_parse(const char *gtin, json_t *body, int64_t now_ms,
    struct yima_product *out, const char **field, char rule[160]);

/*
 * A GS1 Web Vocabulary link type, as "gs1:pip" or
 * "https://gs1.org/voc/pip": its short name ("pip"), or NULL when it is
 * not one.
 */
const char *api_link_type(const char *rel);

/* 1 for text of 1..max bytes without control characters (UTF-8 as
 * jansson checked it), else 0. */
int api_text_ok(json_t *v, size_t max);
/* 1 for an http(s) URL or a path of this service of at most 512 bytes,
 * printable unquoted ASCII, else 0. */
int api_url_ok(json_t *v);

struct api_products;

int api_products_new(struct api_products **out);
void api_products_free(struct api_products *c);
/*
 * The public document of gtin's product (a new reference), or NULL when
 * it has none or the store fails. A miss reads through tx, or a read
 * transaction of its own when tx is NULL.
 */
json_t *api_products_get(struct api_products *c, struct yima_store *st,
    struct yima_tx *tx, const char *gtin);
/* Appends ,"name":...,"brand":...[,"image_url":...][,"names":{...}]. */
int api_products_answer(struct api_products *c, struct yima_store *st,
    const char *gtin, struct yima_buf *b);
/* Forgets gtin's entry: this node changed it. */
void api_products_forget(struct api_products *c, const char *gtin);

#endif /* API_PRODUCT_H */
