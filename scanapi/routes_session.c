/* SPDX-License-Identifier: Apache-2.0 */
/* Dashboard sessions: log in with a token, get an HttpOnly cookie. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yima/err.h"

#include "routes.h"

/*
 * POST /api/v1/session {"token"}: the token, shown once to its holder,
 * becomes a session cookie the page's scripts cannot read and other
 * sites cannot send (HttpOnly, SameSite=Strict). A session only reads.
 */
enum MHD_Result
api_route_login(struct api_req *r)
{
	char cookie[192], secret[API_TOKEN_LEN + 1], at[40];
	const char *hdr[] = { "Set-Cookie", cookie, "Cache-Control",
	    "no-store", NULL };
	struct yima_token t;
	enum MHD_Result res;
	const char *tok;
	json_t *body, *o;
	char *text;
	int64_t expires;
	int rc;

	if (!api_rate_ok(r, &res))
		return res;
	if ((body = api_body_json(r, &res)) == NULL)
		return res;
	tok = json_string_value(json_object_get(body, "token"));
	rc = tok != NULL ? api_session_create(r->srv->st, tok, api_now_ms(),
	    secret, &expires, &t) : YIMA_ENOENT;
	json_decref(body);
	if (rc == YIMA_ENOENT)
		return api_reply_error(r, 401, "unauthorized", "\"token\" must "
		    "be a valid token");
	if (rc != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	snprintf(cookie, sizeof(cookie), "yima_session=%s; Path=/; HttpOnly; "
	    "SameSite=Strict; Max-Age=%lld%s", secret,
	    (long long)(API_SESSION_MS / 1000), api_cookie_secure(r));
	api_rfc3339(expires, at, sizeof(at));
	o = json_pack("{s:s,s:s,s:s?}", "role", t.role, "expires_at", at,
	    "dealer", t.dealer[0] ? t.dealer : NULL);
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

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_OPS | API_ROLE_DEALER,
	    &t, &res))
		return res;
	return api_reply_json(r, 200, json_pack("{s:s,s:s?}", "role", t.role,
	    "dealer", t.dealer[0] ? t.dealer : NULL));
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
