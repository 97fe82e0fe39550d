/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Staff accounts: brand and dealer staff log in with a name and a
 * password (argon2id, libsodium's), each acting as a token of its own
 * (a role and a dealer scope) whose secret is never shown; bearer
 * tokens stay for machines. Failed logins lock an account for a while.
 */
#ifndef API_STAFF_H
#define API_STAFF_H

#include <stdint.h>

#include "yima/store.h"

#define API_STAFF_NAME_MAX	64
#define API_PASSWORD_MIN	10	/* bytes */
#define API_PASSWORD_MAX	128
#define API_STAFF_TRIES		5	/* failures in a row before a lock */

/* Makes libsodium ready; 0 or YIMA_EIO. Once, before threads. */
int api_staff_init(void);

/*
 * Creates an account: its token (role, dealer) and its password's hash.
 * 0, YIMA_EINVAL (why says which field), YIMA_EEXIST (the name is
 * taken), YIMA_ENOENT (no such dealer) or a store error.
 */
int api_staff_create(struct yima_store *st, const char *name,
    const char *password, const char *role, const char *dealer, char *why);

/*
 * Checks a login: 0 and *t the account's token; YIMA_ENOENT for a wrong
 * name or password or a disabled account (alike, and as slow); YIMA_EPERM
 * while the account is locked, *retry_s seconds more; or a store error.
 */
int api_staff_login(struct yima_store *st, const char *name,
    const char *password, int64_t now, struct yima_token *t, int *retry_s);

#endif /* API_STAFF_H */
