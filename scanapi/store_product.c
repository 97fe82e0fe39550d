/* SPDX-License-Identifier: Apache-2.0 */
/* Products, the master data behind GTINs: one table, both engines. */
#include <string.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "db.h"

static void
product_row(struct api_dbq *q, struct yima_product *p)
{
	api_col_text(q, 0, p->gtin, sizeof(p->gtin));
	api_col_text(q, 1, p->name, sizeof(p->name));
	api_col_text(q, 2, p->brand, sizeof(p->brand));
	api_col_text(q, 3, p->doc, sizeof(p->doc));
	p->updated_at = api_col_int(q, 4);
}

static int64_t
product_update(struct yima_tx *tx, const struct yima_product *p)
{
	return api_exec(tx, "UPDATE products SET name = $2, brand = $3,"
	    " doc = $4, updated_at = $5 WHERE gtin = $1", "TTTTi", p->gtin,
	    p->name, p->brand, p->doc, p->updated_at);
}

int
api_sql_product_put(struct yima_tx *tx, const struct yima_product *p,
    int *created)
{
	int64_t n;

	if ((n = product_update(tx, p)) != 0) {
		*created = 0;
		return n < 0 ? (int)n : 0;
	}
	/* Two first PUTs at once: the second finds the row and replaces it. */
	n = api_exec(tx, "INSERT INTO products (gtin, name, brand, doc,"
	    " updated_at) VALUES ($1, $2, $3, $4, $5)", "!TTTTi", p->gtin,
	    p->name, p->brand, p->doc, p->updated_at);
	*created = n >= 0;
	if (n == YIMA_EEXIST)
		n = product_update(tx, p);
	return n < 0 ? (int)n : 0;
}

int
api_sql_product_get(struct yima_tx *tx, const char *gtin,
    struct yima_product *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT gtin, name, brand, doc, updated_at"
	    " FROM products WHERE gtin = $1", "T", gtin)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1)
		product_row(q, out);
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_ENOENT : rc;
}

int
api_sql_product_list(struct yima_tx *tx,
    void (*fn)(void *ctx, const struct yima_product *p), void *ctx)
{
	struct yima_product *row;	/* 12 KB: not on the stack */
	struct api_dbq *q;
	int rc;

	if ((row = yima_malloc(sizeof(*row))) == NULL)
		return YIMA_ENOMEM;
	if ((rc = api_q(tx, &q, "SELECT gtin, name, brand, doc, updated_at"
	    " FROM products ORDER BY gtin", "")) != 0) {
		yima_free(row);
		return rc;
	}
	while ((rc = api_row(q)) == 1) {
		product_row(q, row);
		fn(ctx, row);
	}
	api_end(q);
	yima_free(row);
	return rc;
}

int
api_sql_product_delete(struct yima_tx *tx, const char *gtin)
{
	int64_t n = api_exec(tx, "DELETE FROM products WHERE gtin = $1", "T",
	    gtin);

	return n < 0 ? (int)n : n == 0 ? YIMA_ENOENT : 0;
}
