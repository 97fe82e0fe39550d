/* SPDX-License-Identifier: Apache-2.0 */
/* Bearer tokens: 32 random bytes shown once; SHA-256 kept. */
#include <string.h>

#include <openssl/sha.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "yima/buf.h"
#include "yima/err.h"

#include "auth.h"

#define SECRET_BYTES	32

int
api_role_bit(const char *role)
{
	if (strcmp(role, "admin") == 0)
		return API_ROLE_ADMIN;
	if (strcmp(role, "ops") == 0)
		return API_ROLE_OPS;
	if (strcmp(role, "dealer") == 0)
		return API_ROLE_DEALER;
	return 0;
}

static int
hash_hex(const char *token, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n;

	if (EVP_Digest(token, len, md, &n, EVP_sha256(), NULL) != 1)
		return YIMA_EIO;
	yima_hex(md, n, out);
	return 0;
}

/* A secret: prefix and 43 base64url characters of 32 random bytes. */
static int
secret(const char *prefix, char *out)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[SECRET_BYTES];
	size_t i, n;
	uint32_t acc = 0;
	int bits = 0;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return YIMA_EIO;
	n = strlen(prefix);
	memcpy(out, prefix, n);
	for (i = 0; i < sizeof(r); i++) {
		acc = (acc << 8) | r[i];
		bits += 8;
		while (bits >= 6) {
			out[n++] = b64[(acc >> (bits - 6)) & 63];
			bits -= 6;
		}
	}
	if (bits > 0)
		out[n++] = b64[(acc << (6 - bits)) & 63];
	out[n] = '\0';
	return 0;
}

int
api_token_create(struct yima_store *st, const char *role, const char *dealer,
    const char *name, char *out, int64_t *id)
{
	struct yima_tx *tx;
	char hash[65];
	int rc;

	if (api_role_bit(role) == 0 ||
	    ((strcmp(role, "dealer") == 0) != (dealer != NULL &&
	    dealer[0] != '\0')) ||
	    (dealer != NULL && strlen(dealer) > 64) ||
	    (name != NULL && strlen(name) > 128))
		return YIMA_EINVAL;
	if ((rc = secret("yima_", out)) != 0 ||
	    (rc = hash_hex(out, strlen(out), hash)) != 0)
		return rc;
	if ((rc = yima_tx_begin(st, 1, &tx)) != 0)
		return rc;
	if ((rc = yima_tx_token_create(tx, hash, role, dealer, name, id)) != 0) {
		yima_tx_rollback(tx);
		return rc;
	}
	return yima_tx_commit(tx);
}

/* The token a raw "yima_..." secret names, or YIMA_ENOENT. */
static int
token_of(struct yima_store *st, const char *tok, struct yima_token *t)
{
	struct yima_tx *tx;
	char hash[65];
	size_t len = strlen(tok);
	int rc;

	if (len != API_TOKEN_LEN || strncmp(tok, "yima_", 5) != 0)
		return YIMA_ENOENT;
	if ((rc = hash_hex(tok, len, hash)) != 0)
		return rc;
	if ((rc = yima_tx_begin(st, 0, &tx)) != 0)
		return rc;
	rc = yima_tx_token_find(tx, hash, t);
	yima_tx_rollback(tx);
	return rc;
}

int
api_session_create(struct yima_store *st, const char *token, int64_t now,
    char *out, int64_t *expires, struct yima_token *t)
{
	int rc;

	if ((rc = token_of(st, token, t)) != 0)
		return rc;
	return api_session_open(st, t, now, out, expires);
}

int
api_session_open(struct yima_store *st, const struct yima_token *t,
    int64_t now, char *out, int64_t *expires)
{
	struct yima_tx *tx;
	char hash[65];
	int rc;

	*expires = now + API_SESSION_MS;
	if ((rc = secret("yims_", out)) != 0 ||
	    (rc = hash_hex(out, strlen(out), hash)) != 0 ||
	    (rc = yima_tx_begin(st, 1, &tx)) != 0)
		return rc;
	if ((rc = yima_tx_session_create(tx, hash, t->id, *expires)) != 0) {
		yima_tx_rollback(tx);
		return rc;
	}
	return yima_tx_commit(tx);
}

/* The session's hash; YIMA_ENOENT when the cookie cannot be one. */
static int
session_hash(const char *cookie, char hash[65])
{
	if (cookie == NULL || strlen(cookie) != API_TOKEN_LEN ||
	    strncmp(cookie, "yims_", 5) != 0)
		return YIMA_ENOENT;
	return hash_hex(cookie, API_TOKEN_LEN, hash);
}

int
api_session_check(struct yima_store *st, const char *cookie, int64_t now,
    struct yima_token *t)
{
	struct yima_tx *tx;
	char hash[65];
	int rc;

	if ((rc = session_hash(cookie, hash)) != 0 ||
	    (rc = yima_tx_begin(st, 0, &tx)) != 0)
		return rc;
	rc = yima_tx_session_find(tx, hash, now, t);
	yima_tx_rollback(tx);
	return rc;
}

int
api_session_delete(struct yima_store *st, const char *cookie)
{
	struct yima_tx *tx;
	char hash[65];
	int rc;

	if ((rc = session_hash(cookie, hash)) != 0 ||
	    (rc = yima_tx_begin(st, 1, &tx)) != 0)
		return rc;
	if ((rc = yima_tx_session_delete(tx, hash)) != 0) {
		yima_tx_rollback(tx);
		return rc;
	}
	return yima_tx_commit(tx);
}

int
api_token_check(struct yima_store *st, const char *header,
    struct yima_token *t)
{
	const char *tok;

	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return YIMA_ENOENT;
	tok = header + 7;
	while (*tok == ' ')
		tok++;
	return token_of(st, tok, t);
}

int
api_session_csrf(const char *cookie, char out[API_CSRF_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char msg[API_TOKEN_LEN + 16];
	size_t i;

	if (cookie == NULL || strlen(cookie) != API_TOKEN_LEN ||
	    strncmp(cookie, "yims_", 5) != 0)
		return YIMA_ENOENT;
	snprintf(msg, sizeof(msg), "yima-csrf:%s", cookie);
	SHA256((const unsigned char *)msg, strlen(msg), md);
	for (i = 0; i < API_CSRF_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}
