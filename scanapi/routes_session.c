/* SPDX-License-Identifier: Apache-2.0 */
/* Dashboard sessions (log in with a token or as staff, get an HttpOnly
 * cookie) and the staff accounts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yima/err.h"

#include "product.h"
#include "routes.h"
#include "staff.h"

/*
 * POST /api/v1/session {"token"} or {"name", "password"} (a staff
 * account's): becomes a session cookie the page's scripts cannot read and
 * other sites cannot send (HttpOnly, SameSite=Strict). A session reads,
 * and writes with the "csrf" token the answer gives (X-Yima-CSRF). Failed
 * staff logins lock the account for a while (429).
 */
enum MHD_Result
api_route_login(struct api_req *r)
{
	char cookie[192], secret[API_TOKEN_LEN + 1], at[40];
	const char *hdr[] = { "Set-Cookie", cookie, "Cache-Control",
	    "no-store", NULL };
	static const char locked[] = "{\"error\":{\"code\":\"locked\","
	    "\"message\":\"too many failed logins: this account is locked for "
	    "a while\"}}";
	char after[16], csrf[API_CSRF_LEN + 1];
	const char *retry_hdr[] = { "Retry-After", after, "Cache-Control",
	    "no-store", NULL };
	struct yima_token t;
	enum MHD_Result res;
	const char *tok, *name, *pw;
	json_t *body, *o;
	char *text;
	int64_t expires;
	int rc = YIMA_ENOENT, retry = 0;

	if (!api_rate_ok(r, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	tok = json_string_value(json_object_get(body, "token"));
	name = json_string_value(json_object_get(body, "name"));
	pw = json_string_value(json_object_get(body, "password"));
	if (tok != NULL)
		rc = api_session_create(r->srv->st, tok, api_now_ms(), secret,
		    &expires, &t);
	else if (name != NULL && pw != NULL && (rc = api_staff_login(
	    r->srv->st, name, pw, api_now_ms(), &t, &retry)) == 0)
		rc = api_session_open(r->srv->st, &t, api_now_ms(), secret,
		    &expires);
	else if (name == NULL || pw == NULL)
		rc = YIMA_ENOENT;
	json_decref(body);
	if (rc == YIMA_EPERM) {
		snprintf(after, sizeof(after), "%d", retry);
		return api_reply(r, 429, "application/json", locked,
		    sizeof(locked) - 1, retry_hdr);
	}
	if (rc == YIMA_ENOENT)
		return api_reply_error(r, 401, "unauthorized", "a valid "
		    "\"token\", or a staff \"name\" and \"password\", is "
		    "required");
	if (rc != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	snprintf(cookie, sizeof(cookie), "yima_session=%s; Path=/; HttpOnly; "
	    "SameSite=Strict; Max-Age=%lld%s", secret,
	    (long long)(API_SESSION_MS / 1000), api_cookie_secure(r));
	api_rfc3339(expires, at, sizeof(at));
	if (api_session_csrf(secret, csrf) != 0)
		csrf[0] = '\0';
	o = json_pack("{s:s,s:s,s:s?,s:s}", "role", t.role, "expires_at", at,
	    "dealer", t.dealer[0] ? t.dealer : NULL, "csrf", csrf);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return api_reply_error(r, 500, "no_memory", "out of memory");
	}
	json_decref(o);
	res = api_reply(r, 200, "application/json", text, strlen(text), hdr);
	free(text);
	return res;
}

/* GET /api/v1/session: who the session (or token) is, for the page. */
enum MHD_Result
api_route_whoami(struct api_req *r)
{
	struct yima_token t;
	enum MHD_Result res;

	char csrf[API_CSRF_LEN + 1];
	const char *cookie = MHD_lookup_connection_value(r->conn,
	    MHD_COOKIE_KIND, "yima_session");

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_OPS | API_ROLE_DEALER,
	    &t, &res))
		return res;
	/* a page reloaded learns its CSRF token again (no other site can
	 * read this answer) */
	if (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Authorization") != NULL || api_session_csrf(cookie, csrf) != 0)
		csrf[0] = '\0';
	return api_reply_json(r, 200, json_pack("{s:s,s:s?,s:s?}", "role",
	    t.role, "dealer", t.dealer[0] ? t.dealer : NULL, "csrf", csrf[0] ?
	    csrf : NULL));
}

/* DELETE /api/v1/session: ends the session and clears the cookie. */
enum MHD_Result
api_route_logout(struct api_req *r)
{
	static const char *const hdr[] = { "Set-Cookie", "yima_session=; "
	    "Path=/; HttpOnly; SameSite=Strict; Max-Age=0", "Cache-Control",
	    "no-store", NULL };
	static const char done[] = "{\"status\":\"logged out\"}";
	int rc;

	rc = api_session_delete(r->srv->st, MHD_lookup_connection_value(
	    r->conn, MHD_COOKIE_KIND, "yima_session"));
	if (rc != 0 && rc != YIMA_ENOENT)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	return api_reply(r, 200, "application/json", done, sizeof(done) - 1,
	    hdr);
}

/* ---- staff accounts (admin) ---- */

/* POST /api/v1/admin/staff {"name", "password", "role", "dealer"?} */
enum MHD_Result
api_route_staff_add(struct api_req *r)
{
	struct yima_token t;
	enum MHD_Result res;
	const char *name, *pw, *role, *dealer;
	char why[YIMA_WHY_MAX];
	json_t *body, *o;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	name = json_string_value(json_object_get(body, "name"));
	pw = json_string_value(json_object_get(body, "password"));
	role = json_string_value(json_object_get(body, "role"));
	dealer = json_string_value(json_object_get(body, "dealer"));
	if (name == NULL || pw == NULL || role == NULL) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "an account is "
		    "{\"name\", \"password\", \"role\": admin|ops|dealer, "
		    "\"dealer\"?}");
	}
	rc = api_staff_create(r->srv->st, name, pw, role, dealer, why);
	o = rc == 0 ? json_pack("{s:s,s:s,s:s?}", "name", name, "role", role,
	    "dealer", dealer) : NULL;
	json_decref(body);
	if (rc == YIMA_EINVAL || rc == YIMA_ENOENT)
		return api_reply_error(r, 400, "bad_request", "%s", why);
	if (rc == YIMA_EEXIST)
		return api_reply_error(r, 409, "conflict", "%s", why);
	if (rc != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	return api_reply_json(r, 201, o);
}

static void
add_staff(void *ctx, const struct yima_staff *s)
{
	char at[40];

	api_rfc3339(s->created_at, at, sizeof(at));
	json_array_append_new(ctx, json_pack("{s:s,s:s,s:s?,s:s,s:b,s:b}",
	    "name", s->name, "role", s->token.role, "dealer",
	    s->token.dealer[0] ? s->token.dealer : NULL, "created_at", at,
	    "disabled", s->disabled_at != 0, "locked", s->locked_until >
	    api_now_ms()));
}

static int
fill_staff(struct yima_tx *tx, json_t *list, const void *arg)
{
	(void)arg;
	return yima_tx_staff_list(tx, add_staff, list);
}

enum MHD_Result
api_route_staff_list(struct api_req *r)
{
	struct yima_token t;
	enum MHD_Result res;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	return api_reply_list(r, "staff", fill_staff, NULL);
}

/* DELETE /api/v1/admin/staff/{name}: disabled; its sessions end. */
enum MHD_Result
api_route_staff_disable(struct api_req *r)
{
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if (yima_tx_begin(r->srv->st, 1, &tx) != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	if ((rc = yima_tx_staff_disable(tx, r->param)) == 0)
		rc = yima_tx_commit(tx);
	else
		yima_tx_rollback(tx);
	if (rc == YIMA_ENOENT)
		return api_reply_error(r, 404, "not_found",
		    "no such active account");
	if (rc != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	return api_reply_json(r, 200, json_pack("{s:s,s:b}", "name",
	    r->param, "disabled", 1));
}

/* ---- tokens: for machines (a packaging line, a CRM) ---- */

/*
 * POST /api/v1/admin/tokens {"role", "dealer"?, "name"?} (admin): 201
 * with the secret, shown this once (only its hash is kept).
 */
enum MHD_Result
api_route_token_add(struct api_req *r)
{
	static const char *const hdr[] = { "Cache-Control", "no-store", NULL };
	char secret[API_TOKEN_LEN + 1], name[129];
	struct yima_dealer d;
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	const char *role, *dealer;
	json_t *body, *v, *o;
	int64_t id;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	role = json_string_value(json_object_get(body, "role"));
	dealer = json_string_value(json_object_get(body, "dealer"));
	v = json_object_get(body, "name");
	name[0] = '\0';
	if (role == NULL || api_role_bit(role) == 0) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "\"role\" is "
		    "admin, ops or dealer");
	}
	if ((strcmp(role, "dealer") == 0) != (dealer != NULL)) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "\"dealer\" is "
		    "given for the dealer role, and only for it");
	}
	if (v != NULL && !api_text_ok(v, 128)) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "\"name\" is text "
		    "of 1 to 128 bytes");
	}
	if (v != NULL)
		snprintf(name, sizeof(name), "%s", json_string_value(v));
	rc = 0;
	if (dealer != NULL && (rc = yima_tx_begin(r->srv->st, 0, &tx)) == 0) {
		rc = strlen(dealer) > YIMA_DEALER_ID_MAX ? YIMA_ENOENT :
		    yima_tx_dealer_get(tx, dealer, &d);
		yima_tx_rollback(tx);
	}
	if (rc == YIMA_ENOENT) {
		json_decref(body);
		return api_reply_error(r, 400, "bad_request", "\"dealer\" names "
		    "no dealer");
	}
	if (rc == 0)
		rc = api_token_create(r->srv->st, role, dealer, name[0] ? name :
		    NULL, secret, &id);
	o = rc == 0 ? json_pack("{s:I,s:s,s:s?,s:s?,s:s}", "id",
	    (json_int_t)id, "role", role, "dealer", dealer, "name", name[0] ?
	    name : NULL, "token", secret) : NULL;
	json_decref(body);
	explicit_bzero(secret, sizeof(secret));
	if (o == NULL)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	res = api_reply_json_hdr(r, 201, o, hdr);
	return res;
}

static void
add_token(void *ctx, const struct yima_token *t)
{
	char at[40];

	api_rfc3339(t->created_at, at, sizeof(at));
	json_array_append_new(ctx, json_pack("{s:I,s:s,s:s?,s:s?,s:s,s:b}",
	    "id", (json_int_t)t->id, "role", t->role, "dealer", t->dealer[0] ?
	    t->dealer : NULL, "name", t->name[0] ? t->name : NULL,
	    "created_at", at, "revoked", t->revoked_at != 0));
}

static int
fill_tokens(struct yima_tx *tx, json_t *list, const void *arg)
{
	(void)arg;
	return yima_tx_token_list(tx, add_token, list);
}

/* GET /api/v1/admin/tokens (admin): never a secret. */
enum MHD_Result
api_route_token_list(struct api_req *r)
{
	struct yima_token t;
	enum MHD_Result res;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	return api_reply_list(r, "tokens", fill_tokens, NULL);
}

/* DELETE /api/v1/admin/tokens/{id} (admin): revoked, its sessions end. */
enum MHD_Result
api_route_token_revoke(struct api_req *r)
{
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	int64_t id;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN, &t, &res))
		return res;
	if ((id = api_path_id(r)) == 0)
		return api_reply_error(r, 404, "not_found", "no such token");
	if (id == t.id)
		return api_reply_error(r, 409, "conflict", "this is the token "
		    "you are using; another admin revokes it");
	if (yima_tx_begin(r->srv->st, 1, &tx) != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	if ((rc = yima_tx_token_revoke(tx, id)) == 0)
		rc = yima_tx_commit(tx);
	else
		yima_tx_rollback(tx);
	if (rc == YIMA_ENOENT)
		return api_reply_error(r, 404, "not_found", "no such active "
		    "token");
	if (rc != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	return api_reply_json(r, 200, json_pack("{s:I,s:b}", "id",
	    (json_int_t)id, "revoked", 1));
}
