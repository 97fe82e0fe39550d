/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's tokens and dashboard sessions (written once: db.h).
 * Only hashes of tokens and session ids are kept.
 */
#include <string.h>

#include "yima/err.h"

#include "db.h"

int
api_sql_token_create(struct yima_tx *tx, const char *hash_hex,
    const char *role, const char *dealer, const char *name, int64_t *id)
{
	return api_one(tx, id, "INSERT INTO tokens (hash, role, dealer, name,"
	    " created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id", "!TTtti",
	    hash_hex, role, dealer, name, api_store_now_ms());
}

#define TOKEN_COLS	"t.id, t.role, t.dealer, t.name, t.created_at," \
	" t.revoked_at"

static void
token_row(struct api_dbq *q, struct yima_token *t)
{
	memset(t, 0, sizeof(*t));
	t->id = api_col_int(q, 0);
	api_col_text(q, 1, t->role, sizeof(t->role));
	api_col_text(q, 2, t->dealer, sizeof(t->dealer));
	api_col_text(q, 3, t->name, sizeof(t->name));
	t->created_at = api_col_int(q, 4);
	t->revoked_at = api_col_int(q, 5);
}

/* The one token a query finds: 0, or YIMA_ENOENT. */
static int
token_one(struct api_dbq *q, struct yima_token *out)
{
	int rc = api_row(q);

	if (rc == 1)
		token_row(q, out);
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_ENOENT : rc;
}

int
api_sql_token_find(struct yima_tx *tx, const char *hash_hex,
    struct yima_token *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " TOKEN_COLS " FROM tokens t"
	    " WHERE t.hash = $1 AND t.revoked_at IS NULL", "T",
	    hash_hex)) != 0)
		return rc;
	return token_one(q, out);
}

int
api_sql_token_list(struct yima_tx *tx,
    void (*fn)(void *ctx, const struct yima_token *t), void *ctx)
{
	struct yima_token t;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " TOKEN_COLS " FROM tokens t"
	    " ORDER BY t.id", "")) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		token_row(q, &t);
		fn(ctx, &t);
	}
	api_end(q);
	return rc;
}

int
api_sql_token_revoke(struct yima_tx *tx, int64_t id)
{
	int64_t n = api_exec(tx, "UPDATE tokens SET revoked_at = $2"
	    " WHERE id = $1 AND revoked_at IS NULL", "ii", id,
	    api_store_now_ms());

	return n < 0 ? (int)n : n == 1 ? 0 : YIMA_ENOENT;
}

int
api_sql_session_create(struct yima_tx *tx, const char *hash_hex,
    int64_t token, int64_t expires)
{
	int64_t now = api_store_now_ms(), n;

	/* Expired sessions go as new ones come. */
	if ((n = api_exec(tx, "DELETE FROM sessions WHERE expires_at <= $1",
	    "i", now)) < 0)
		return (int)n;
	n = api_exec(tx, "INSERT INTO sessions (hash, token, created_at,"
	    " expires_at) VALUES ($1, $2, $3, $4)", "!Tiii", hash_hex, token,
	    now, expires);
	return n < 0 ? (int)n : 0;
}

int
api_sql_session_find(struct yima_tx *tx, const char *hash_hex, int64_t now,
    struct yima_token *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " TOKEN_COLS " FROM sessions s"
	    " JOIN tokens t ON t.id = s.token WHERE s.hash = $1"
	    " AND s.expires_at > $2 AND t.revoked_at IS NULL", "Ti",
	    hash_hex, now)) != 0)
		return rc;
	return token_one(q, out);
}

int
api_sql_session_delete(struct yima_tx *tx, const char *hash_hex)
{
	int64_t n = api_exec(tx, "DELETE FROM sessions WHERE hash = $1", "T",
	    hash_hex);

	return n < 0 ? (int)n : 0;
}

int
api_sql_scan_exists(struct yima_tx *tx, int64_t id, int *exists)
{
	int64_t one;
	int rc = api_one(tx, &one, "SELECT 1 FROM scans WHERE id = $1", "i",
	    id);

	if (rc != 0 && rc != YIMA_ENOENT)
		return rc;
	*exists = rc == 0;
	return 0;
}

int
api_sql_scan_origin(struct yima_tx *tx, int64_t id, int64_t at,
    char region[7], int *kind, uint64_t *channel)
{
	struct api_dbq *q;
	int rc;

	/* The time too: PostgreSQL looks in one month's partition. */
	if ((rc = api_q(tx, &q, "SELECT region, kind, channel FROM scans"
	    " WHERE id = $1 AND at = $2", "ii", id, at)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1) {
		api_col_text(q, 0, region, 7);
		*kind = api_col_null(q, 1) ? -1 : (int)api_col_int(q, 1);
		*channel = api_col_null(q, 2) ? 0 : (uint64_t)api_col_int(q, 2);
	}
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_ENOENT : rc;
}

/* ---- staff accounts ---- */

int
api_sql_staff_add(struct yima_tx *tx, const char *name, const char *hash,
    int64_t token)
{
	int64_t n = api_exec(tx, "INSERT INTO staff (name, hash, token,"
	    " created_at) VALUES ($1, $2, $3, $4)", "!TTii", name, hash, token,
	    api_store_now_ms());

	return n < 0 ? (int)n : 0;
}

#define STAFF_COLS	"s.name, s.hash, s.failures, s.locked_until," \
	" s.created_at, s.disabled_at, " TOKEN_COLS

static void
staff_row(struct api_dbq *q, struct yima_staff *s)
{
	memset(s, 0, sizeof(*s));
	api_col_text(q, 0, s->name, sizeof(s->name));
	api_col_text(q, 1, s->hash, sizeof(s->hash));
	s->failures = (int)api_col_int(q, 2);
	s->locked_until = api_col_int(q, 3);
	s->created_at = api_col_int(q, 4);
	s->disabled_at = api_col_null(q, 5) ? 0 : api_col_int(q, 5);
	s->token.id = api_col_int(q, 6);
	api_col_text(q, 7, s->token.role, sizeof(s->token.role));
	api_col_text(q, 8, s->token.dealer, sizeof(s->token.dealer));
	api_col_text(q, 9, s->token.name, sizeof(s->token.name));
	s->token.created_at = api_col_int(q, 10);
	s->token.revoked_at = api_col_int(q, 11);
}

int
api_sql_staff_get(struct yima_tx *tx, const char *name,
    struct yima_staff *out)
{
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " STAFF_COLS " FROM staff s JOIN"
	    " tokens t ON t.id = s.token WHERE s.name = $1", "T", name)) != 0)
		return rc;
	if ((rc = api_row(q)) == 1)
		staff_row(q, out);
	api_end(q);
	return rc == 1 ? 0 : rc == 0 ? YIMA_ENOENT : rc;
}

int
api_sql_staff_failed(struct yima_tx *tx, const char *name, int failures,
    int64_t locked_until)
{
	int64_t n = api_exec(tx, "UPDATE staff SET failures = $2,"
	    " locked_until = $3 WHERE name = $1", "Tii", name,
	    (int64_t)failures, locked_until);

	return n < 0 ? (int)n : 0;
}

int
api_sql_staff_list(struct yima_tx *tx,
    void (*fn)(void *ctx, const struct yima_staff *s), void *ctx)
{
	struct yima_staff s;
	struct api_dbq *q;
	int rc;

	if ((rc = api_q(tx, &q, "SELECT " STAFF_COLS " FROM staff s JOIN"
	    " tokens t ON t.id = s.token ORDER BY s.name", "")) != 0)
		return rc;
	while ((rc = api_row(q)) == 1) {
		staff_row(q, &s);
		s.hash[0] = '\0';	/* no one needs to see it */
		fn(ctx, &s);
	}
	api_end(q);
	return rc < 0 ? rc : 0;
}

int
api_sql_staff_disable(struct yima_tx *tx, const char *name)
{
	int64_t now = api_store_now_ms(), n;

	n = api_exec(tx, "UPDATE staff SET disabled_at = $2 WHERE name = $1"
	    " AND disabled_at IS NULL", "Ti", name, now);
	if (n <= 0)
		return n < 0 ? (int)n : YIMA_ENOENT;
	/* its token goes, and with it every session it had */
	n = api_exec(tx, "UPDATE tokens SET revoked_at = $2 WHERE id ="
	    " (SELECT token FROM staff WHERE name = $1)", "Ti", name, now);
	return n < 0 ? (int)n : 0;
}
