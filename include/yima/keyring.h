/* SPDX-License-Identifier: Apache-2.0 */
/* The keyring: secret signing keys and the brand-wide serial counter. */
#ifndef YIMA_KEYRING_H
#define YIMA_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "yima/mac.h"

/*
 * On disk (DESIGN §3), a directory of mode 0700:
 *   keys/<id>.key  one 32-byte key as 64 lower-case hex digits and a
 *                  newline, mode 0600; <id> the key id in decimal (0-255)
 *   active         the id of the key new codes are signed with
 *   serial         the next free serial, in decimal
 *   lock           the file locked (flock) while a serial range is taken
 */
#define YIMA_KEY_LEN	32
#define YIMA_KEY_IDS	256

struct yima_keyring;

/*
 * Creates a keyring at dir (made with mode 0700; it must not exist or be
 * empty) with one random key (OpenSSL RAND_bytes), id 1, active, and the
 * serial counter at 1. *key_id (may be NULL) receives the id.
 * Returns 0, YIMA_EEXIST, YIMA_EIO or YIMA_EPERM with why.
 */
int yima_keyring_create(const char *dir, unsigned *key_id, char *why);

/*
 * Adds a new random key with the next id and makes it active; old keys
 * stay and keep verifying. Returns 0, YIMA_ERANGE (256 keys used),
 * YIMA_EPERM (loose permissions), YIMA_EIO or YIMA_ENOENT with why.
 */
int yima_keyring_rotate(const char *dir, unsigned *key_id, char *why);

/*
 * Loads every key of the keyring at dir, refusing one whose directory is
 * accessible to group or others or whose key files are (YIMA_EPERM).
 * The caller frees *out with yima_keyring_free().
 * Returns 0, YIMA_ENOENT, YIMA_EPERM, YIMA_EIO, YIMA_EINVAL (malformed
 * file) or YIMA_ENOMEM, with why.
 */
int yima_keyring_open(const char *dir, struct yima_keyring **out, char *why);

/*
 * Reads the keyring's directory again, with the same checks as
 * yima_keyring_open, and adds the keys it did not have (a rotation).
 * Keys already loaded never change, so yima_keyring_mac, verification
 * and derivation may run in other threads meanwhile, without a lock; the
 * active key stays the one loaded first. Reloads of one keyring must not
 * run at the same time (the caller serialises them). On failure nothing
 * changes: YIMA_EINVAL (a loaded key differs on disk, or an in-memory
 * keyring) or any error of yima_keyring_open, with why. *added (may be
 * NULL) receives the number of keys added.
 */
int yima_keyring_reload(struct yima_keyring *kr, int *added, char *why);
/* The number of keys kr holds. */
int yima_keyring_count(const struct yima_keyring *kr);

/* An empty in-memory keyring (tests, tools). Free with yima_keyring_free. */
int yima_keyring_new(struct yima_keyring **out);
/* Adds key id (0-255) to an in-memory keyring; the first key added is the
 * active one. Returns 0, YIMA_EINVAL, YIMA_EEXIST or YIMA_ENOMEM. */
int yima_keyring_add(struct yima_keyring *kr, unsigned id,
    const uint8_t key[YIMA_KEY_LEN]);
/* Wipes and frees; NULL is a no-op. */
void yima_keyring_free(struct yima_keyring *kr);

/* The prepared MAC of key id, borrowed from kr, or NULL if unknown. */
const struct yima_mac *yima_keyring_mac(const struct yima_keyring *kr,
    unsigned id);
/* The active key id, or -1 when the keyring has no key. */
int yima_keyring_active(const struct yima_keyring *kr);
/* The directory the keyring was opened from, or NULL (in-memory). */
const char *yima_keyring_dir(const struct yima_keyring *kr);

/*
 * Derives a 32-byte key for another purpose (label, e.g. "manifest") from
 * key id, so one secret never signs two kinds of message.
 * Returns 0 or YIMA_ENOKEY.
 */
int yima_keyring_derive(const struct yima_keyring *kr, unsigned id,
    const char *label, uint8_t out[YIMA_KEY_LEN]);

/*
 * Reserves count serials for one batch: under an exclusive lock on
 * dir/lock, reads the counter, writes counter+count to a temporary file,
 * fsyncs it, renames it over dir/serial and fsyncs the directory, then
 * unlocks. Only then may codes be written, so concurrent mints never
 * overlap and a mint killed half-way never causes a serial to be reused.
 * *first receives the first reserved serial.
 * Returns 0, YIMA_EINVAL (count 0), YIMA_ERANGE (the 48-bit space would
 * be exhausted), YIMA_EPERM or YIMA_EIO with why.
 */
int yima_keyring_reserve(const char *dir, uint64_t count, uint64_t *first,
    char *why);

#endif /* YIMA_KEYRING_H */
