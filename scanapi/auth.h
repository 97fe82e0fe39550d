/* SPDX-License-Identifier: Apache-2.0 */
/* Bearer tokens: issued once, stored as SHA-256, checked per request. */
#ifndef API_AUTH_H
#define API_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "yima/store.h"

#define API_TOKEN_LEN	48	/* "yima_" and 43 base64url characters */

/* Roles as bits, so a route can allow several. */
#define API_ROLE_ADMIN	1
#define API_ROLE_OPS	2
#define API_ROLE_DEALER	4

/* The bit of a role name, or 0. */
int api_role_bit(const char *role);

/*
 * Creates a token: writes the secret (API_TOKEN_LEN + 1) to out, stores
 * only its hash. Returns 0, YIMA_EINVAL (bad role or dealer) or a store
 * error.
 */
int api_token_create(struct yima_store *st, const char *role,
    const char *dealer, const char *name, char *out, int64_t *id);

/*
 * Checks an Authorization header value ("Bearer TOKEN"). Returns 0 and
 * fills *t, YIMA_ENOENT (missing, malformed, unknown or revoked) or a
 * store error.
 */
int api_token_check(struct yima_store *st, const char *header,
    struct yima_token *t);

/*
 * Dashboard sessions: a token given once at login becomes a cookie
 * ("yims_" and 43 base64url characters, API_TOKEN_LEN in all) whose
 * SHA-256 is kept; it reads as the token did, for API_SESSION_MS, and
 * writes too with its CSRF token (below).
 */
#define API_SESSION_MS	(12LL * 3600 * 1000)

/* Logs in with a raw token: fills out (API_TOKEN_LEN + 1), *expires, *t. */
int api_session_create(struct yima_store *st, const char *token, int64_t now,
    char *out, int64_t *expires, struct yima_token *t);
/* A session for token t (a staff account's, say): as above. */
int api_session_open(struct yima_store *st, const struct yima_token *t,
    int64_t now, char *out, int64_t *expires);
/* The token of a session cookie, or YIMA_ENOENT. */
int api_session_check(struct yima_store *st, const char *cookie, int64_t now,
    struct yima_token *t);
/*
 * A session writes only with its page's CSRF token in X-Yima-CSRF: given
 * at login (and by GET /api/v1/session), made from the cookie's secret,
 * so another site, which can neither read the cookie nor the answers,
 * cannot send it. Into out (API_CSRF_LEN + 1); YIMA_ENOENT for no cookie.
 */
#define API_CSRF_LEN	32
int api_session_csrf(const char *cookie, char out[API_CSRF_LEN + 1]);
/* Logs out; YIMA_ENOENT when the cookie cannot be a session. */
int api_session_delete(struct yima_store *st, const char *cookie);

#endif /* API_AUTH_H */
