/* SPDX-License-Identifier: Apache-2.0 */
/* Staff accounts (staff.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "yima/err.h"

#include "auth.h"
#include "staff.h"

#define LOCK_MS		30000	/* the first lock; it doubles, to 64 min */

/*
 * One argon2id at a time: each takes libsodium's interactive memory
 * (64 MiB), and a burst of logins must not take the machine's.
 */
static pthread_mutex_t hashing = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy[crypto_pwhash_STRBYTES];	/* for names that are none */

int
api_staff_init(void)
{
	return sodium_init() < 0 ? YIMA_EIO : 0;
}

static int
pw_hash(const char *pw, char out[crypto_pwhash_STRBYTES])
{
	int rc;

	pthread_mutex_lock(&hashing);
	rc = crypto_pwhash_str(out, pw, strlen(pw),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE);
	pthread_mutex_unlock(&hashing);
	return rc == 0 ? 0 : YIMA_ENOMEM;
}

static int
pw_ok(const char *hash, const char *pw)
{
	int rc;

	pthread_mutex_lock(&hashing);
	rc = crypto_pwhash_str_verify(hash, pw, strlen(pw));
	pthread_mutex_unlock(&hashing);
	return rc == 0;
}

static void
make_dummy(void)
{
	char pw[33];
	unsigned char r[16];
	size_t i;

	randombytes_buf(r, sizeof(r));
	for (i = 0; i < sizeof(r); i++)
		snprintf(pw + 2 * i, 3, "%02x", r[i]);
	if (pw_hash(pw, dummy) != 0)
		dummy[0] = '\0';
}

/* The same work as a real check, for a name that is no account's. */
static void
pw_waste(const char *pw)
{
	pthread_once(&dummy_once, make_dummy);
	if (dummy[0] != '\0')
		(void)pw_ok(dummy, pw);
}

/* 1-64 of A-Z a-z 0-9 _ . @ - */
static int
good_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= API_STAFF_NAME_MAX && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.@-") == n;
}

static int
refuse(char *why, const char *what)
{
	snprintf(why, YIMA_WHY_MAX, "%s", what);
	return YIMA_EINVAL;
}

int
api_staff_create(struct yima_store *st, const char *name,
    const char *password, const char *role, const char *dealer, char *why)
{
	char hash[crypto_pwhash_STRBYTES], tok[65];
	unsigned char r[32];
	struct yima_dealer d;
	struct yima_tx *tx;
	int64_t id;
	size_t i;
	int rc, is_dealer = role != NULL && strcmp(role, "dealer") == 0;

	if (!good_name(name))
		return refuse(why, "name: 1-64 of A-Z a-z 0-9 _ . @ -");
	if (strlen(password) < API_PASSWORD_MIN ||
	    strlen(password) > API_PASSWORD_MAX)
		return refuse(why, "password: 10 to 128 bytes");
	if (role == NULL || api_role_bit(role) == 0)
		return refuse(why, "role: admin, ops or dealer");
	if (is_dealer != (dealer != NULL && dealer[0] != '\0'))
		return refuse(why, "dealer: given for the dealer role, and only "
		    "for it");
	if ((rc = pw_hash(password, hash)) != 0)
		return rc;
	/* A token no secret opens: the account is the only way in. */
	randombytes_buf(r, sizeof(r));
	for (i = 0; i < sizeof(r); i++)
		snprintf(tok + 2 * i, 3, "%02x", r[i]);
	if ((rc = yima_tx_begin(st, 1, &tx)) != 0)
		return rc;
	if ((!is_dealer || (rc = yima_tx_dealer_get(tx, dealer, &d)) == 0) &&
	    (rc = yima_tx_token_create(tx, tok, role, is_dealer ? dealer : NULL,
	    name, &id)) == 0 && (rc = yima_tx_staff_add(tx, name, hash,
	    id)) == 0)
		return yima_tx_commit(tx);
	yima_tx_rollback(tx);
	if (rc == YIMA_ENOENT)
		snprintf(why, YIMA_WHY_MAX, "dealer %s does not exist", dealer);
	else if (rc == YIMA_EEXIST)
		snprintf(why, YIMA_WHY_MAX, "name %s is taken", name);
	return rc;
}

/* Writes a login's outcome. */
static int
record(struct yima_store *st, const char *name, int failures, int64_t until)
{
	struct yima_tx *tx;
	int rc;

	if ((rc = yima_tx_begin(st, 1, &tx)) != 0)
		return rc;
	if ((rc = yima_tx_staff_failed(tx, name, failures, until)) != 0) {
		yima_tx_rollback(tx);
		return rc;
	}
	return yima_tx_commit(tx);
}

int
api_staff_login(struct yima_store *st, const char *name,
    const char *password, int64_t now, struct yima_token *t, int *retry_s)
{
	struct yima_staff s;
	struct yima_tx *tx;
	int64_t until;
	int rc, n;

	*retry_s = 0;
	if (!good_name(name) || strlen(password) > API_PASSWORD_MAX) {
		pw_waste(password);
		return YIMA_ENOENT;
	}
	if ((rc = yima_tx_begin(st, 0, &tx)) != 0)
		return rc;
	rc = yima_tx_staff_get(tx, name, &s);
	yima_tx_rollback(tx);
	if (rc == YIMA_ENOENT) {
		pw_waste(password);
		return YIMA_ENOENT;
	}
	if (rc != 0)
		return rc;
	if (s.locked_until > now) {
		*retry_s = (int)((s.locked_until - now + 999) / 1000);
		return YIMA_EPERM;
	}
	if (pw_ok(s.hash, password) && s.disabled_at == 0 &&
	    s.token.revoked_at == 0) {
		*t = s.token;
		return s.failures > 0 ? record(st, name, 0, 0) : 0;
	}
	/* API_STAFF_TRIES in a row lock it: 30 s, doubling to an hour */
	n = s.failures + 1;
	until = n < API_STAFF_TRIES ? 0 : now + ((int64_t)LOCK_MS <<
	    (n - API_STAFF_TRIES < 7 ? n - API_STAFF_TRIES : 7));
	if ((rc = record(st, name, n, until)) != 0)
		return rc;
	return YIMA_ENOENT;
}
