/* SPDX-License-Identifier: Apache-2.0 */
/* The keyring: secret keys on disk, and the serial counter under a lock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "yima/buf.h"
#include "yima/code.h"
#include "yima/err.h"
#include "yima/keyring.h"
#include "yima/perm.h"

#include "alloc-private.h"
#include "err-private.h"

#define FIRST_KEY_ID	1
#define FIRST_SERIAL	1
/* The counter holds the next free serial, so it can reach one past the max. */
#define SERIAL_END	(YIMA_SERIAL_MAX + 1)

/*
 * A slot, once filled, never changes until yima_keyring_free: a reload
 * fills empty slots with a release store, so readers need no lock.
 */
struct yima_keyring {
	struct yima_mac	*_Atomic macs[YIMA_KEY_IDS];	/* NULL: no key */
	uint8_t		 keys[YIMA_KEY_IDS][YIMA_KEY_LEN];
	int		 active;		/* -1: none */
	char		*dir;			/* NULL when in memory */
};

/* Builds dir/name into out (PATH_MAX-ish); YIMA_EINVAL when too long. */
static int
join(char *out, size_t outlen, const char *dir, const char *name, char *why)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= outlen)
		return yima_why_(why, YIMA_EINVAL, "path too long: %s/%s",
		    dir, name);
	return 0;
}

static int
io_error(char *why, const char *what, const char *path)
{
	int err = errno;

	if (err == ENOENT)
		return yima_why_(why, YIMA_ENOENT, "%s %s: %s", what, path,
		    strerror(err));
	if (err == EACCES || err == EPERM)
		return yima_why_(why, YIMA_EPERM, "%s %s: %s", what, path,
		    strerror(err));
	return yima_why_(why, YIMA_EIO, "%s %s: %s", what, path,
	    strerror(err));
}

static int
check_dir(const char *path, char *why)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return io_error(why, "keyring", path);
	if (!S_ISDIR(st.st_mode))
		return yima_why_(why, YIMA_EINVAL, "%s is not a directory",
		    path);
	return yima_perm_check(&st, path, "the keyring", why);
}

static int
fsync_dir(const char *dir, char *why)
{
	int fd, rc = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return io_error(why, "open", dir);
	if (fsync(fd) != 0)
		rc = io_error(why, "fsync", dir);
	close(fd);
	return rc;
}

/*
 * Replaces dir/name with data atomically and durably: temporary file,
 * fsync, rename, fsync of the directory.
 */
static int
write_durable(const char *dir, const char *name, const void *data,
    size_t len, int excl, char *why)
{
	char path[4096], tmp[4096];
	int fd = -1, rc;

	if ((rc = join(path, sizeof(path), dir, name, why)) != 0 ||
	    (rc = join(tmp, sizeof(tmp), dir, ".tmp", why)) != 0)
		return rc;
	if (excl && access(path, F_OK) == 0)
		return yima_why_(why, YIMA_EEXIST, "%s exists", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
	    0600)) < 0) {
		rc = io_error(why, "create", tmp);
		goto fail;
	}
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
		rc = io_error(why, "write", tmp);
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = io_error(why, "close", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = io_error(why, "rename", path);
		goto fail;
	}
	return fsync_dir(dir, why);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* Reads a small file (< 128 bytes) into buf as a string. */
static int
read_small(const char *path, char *buf, size_t buflen, char *why)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW)) < 0)
		return io_error(why, "open", path);
	n = read(fd, buf, buflen - 1);
	close(fd);
	if (n < 0)
		return io_error(why, "read", path);
	buf[n] = '\0';
	return 0;
}

/* Parses a decimal number followed by an optional newline, nothing else. */
static int
parse_decimal(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return YIMA_EINVAL;
	while (*p >= '0' && *p <= '9') {
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return YIMA_ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (*p == '\n')
		p++;
	if (*p != '\0')
		return YIMA_EINVAL;
	*out = v;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
yima_keyring_new(struct yima_keyring **out)
{
	struct yima_keyring *kr;

	if ((kr = yima_calloc(1, sizeof(*kr))) == NULL)
		return YIMA_ENOMEM;
	kr->active = -1;
	*out = kr;
	return 0;
}

/* Fills empty slot id with a ready mac: published last, with release. */
static void
publish(struct yima_keyring *kr, unsigned id, struct yima_mac *mac,
    const uint8_t key[YIMA_KEY_LEN])
{
	memcpy(kr->keys[id], key, YIMA_KEY_LEN);
	atomic_store_explicit(&kr->macs[id], mac, memory_order_release);
}

int
yima_keyring_add(struct yima_keyring *kr, unsigned id,
    const uint8_t key[YIMA_KEY_LEN])
{
	struct yima_mac *mac;
	int rc;

	if (id >= YIMA_KEY_IDS)
		return YIMA_EINVAL;
	if (yima_keyring_mac(kr, id) != NULL)
		return YIMA_EEXIST;
	if ((rc = yima_mac_new(key, YIMA_KEY_LEN, &mac)) != 0)
		return rc;
	publish(kr, id, mac, key);
	if (kr->active < 0)
		kr->active = (int)id;
	return 0;
}

void
yima_keyring_free(struct yima_keyring *kr)
{
	int i;

	if (kr == NULL)
		return;
	for (i = 0; i < YIMA_KEY_IDS; i++)
		yima_mac_free(atomic_load_explicit(&kr->macs[i],
		    memory_order_relaxed));
	yima_free(kr->dir);
	OPENSSL_cleanse(kr, sizeof(*kr));
	yima_free(kr);
}

const struct yima_mac *
yima_keyring_mac(const struct yima_keyring *kr, unsigned id)
{
	return id < YIMA_KEY_IDS ? atomic_load_explicit(&kr->macs[id],
	    memory_order_acquire) : NULL;
}

int
yima_keyring_active(const struct yima_keyring *kr)
{
	return kr->active;
}

const char *
yima_keyring_dir(const struct yima_keyring *kr)
{
	return kr->dir;
}

int
yima_keyring_derive(const struct yima_keyring *kr, unsigned id,
    const char *label, uint8_t out[YIMA_KEY_LEN])
{
	const struct yima_mac *mac = yima_keyring_mac(kr, id);
	char msg[128];
	int n;

	if (mac == NULL)
		return YIMA_ENOKEY;
	n = snprintf(msg, sizeof(msg), "YIMA-DERIVE:%s", label);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return YIMA_EINVAL;
	yima_mac_compute(mac, msg, (size_t)n, out);
	return 0;
}

/* Loads keys/<id>.key, checking its mode and exact format. */
static int
load_key(struct yima_keyring *kr, const char *keydir, unsigned id, char *why)
{
	char name[32], path[4096], text[80];
	uint8_t key[YIMA_KEY_LEN];
	struct stat st;
	int rc, i, hi, lo;

	snprintf(name, sizeof(name), "%u.key", id);
	if ((rc = join(path, sizeof(path), keydir, name, why)) != 0)
		return rc;
	if (lstat(path, &st) != 0)
		return io_error(why, "key", path);
	if (!S_ISREG(st.st_mode))
		return yima_why_(why, YIMA_EINVAL, "%s is not a regular file",
		    path);
	if ((rc = yima_perm_check(&st, path, "the keyring", why)) != 0)
		return rc;
	if ((rc = read_small(path, text, sizeof(text), why)) != 0)
		return rc;
	if (strlen(text) != 2 * YIMA_KEY_LEN + 1 ||
	    text[2 * YIMA_KEY_LEN] != '\n')
		goto malformed;
	for (i = 0; i < YIMA_KEY_LEN; i++) {
		hi = hexval(text[2 * i]);
		lo = hexval(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			goto malformed;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	OPENSSL_cleanse(text, sizeof(text));
	rc = yima_keyring_add(kr, id, key);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
malformed:
	OPENSSL_cleanse(text, sizeof(text));
	return yima_why_(why, YIMA_EINVAL,
	    "%s: expected 64 lower-case hex digits and a newline", path);
}

/* Key file names are "<id>.key" with id 0-255 in canonical decimal. */
static int
key_file_id(const char *name, unsigned *id)
{
	uint64_t v;
	char num[8];
	size_t n = strlen(name);

	if (n < 5 || n > 7 || strcmp(name + n - 4, ".key") != 0)
		return -1;
	memcpy(num, name, n - 4);
	num[n - 4] = '\0';
	if ((num[0] == '0' && num[1] != '\0') ||
	    parse_decimal(num, YIMA_KEY_IDS - 1, &v) != 0 ||
	    strchr(num, '\n') != NULL)
		return -1;
	*id = (unsigned)v;
	return 0;
}

int
yima_keyring_open(const char *dir, struct yima_keyring **out, char *why)
{
	struct yima_keyring *kr = NULL;
	char keydir[4096], path[4096], text[32];
	struct dirent *de;
	DIR *d = NULL;
	uint64_t active;
	unsigned id;
	int rc;

	if ((rc = check_dir(dir, why)) != 0 ||
	    (rc = join(keydir, sizeof(keydir), dir, "keys", why)) != 0 ||
	    (rc = check_dir(keydir, why)) != 0)
		return rc;
	if ((rc = yima_keyring_new(&kr)) != 0)
		return yima_why_(why, rc, "%s", yima_strerror(rc));
	if ((kr->dir = strdup(dir)) == NULL) {
		rc = yima_why_(why, YIMA_ENOMEM, "out of memory");
		goto fail;
	}
	if ((d = opendir(keydir)) == NULL) {
		rc = io_error(why, "open", keydir);
		goto fail;
	}
	while ((de = readdir(d)) != NULL) {
		if (key_file_id(de->d_name, &id) != 0)
			continue;
		if ((rc = load_key(kr, keydir, id, why)) != 0) {
			if (rc == YIMA_ENOMEM)
				yima_why_(why, rc, "out of memory");
			goto fail;
		}
	}
	if ((rc = join(path, sizeof(path), dir, "active", why)) != 0 ||
	    (rc = read_small(path, text, sizeof(text), why)) != 0)
		goto fail;
	if (parse_decimal(text, YIMA_KEY_IDS - 1, &active) != 0) {
		rc = yima_why_(why, YIMA_EINVAL,
		    "%s: expected a key id (0-255)", path);
		goto fail;
	}
	if (yima_keyring_mac(kr, (unsigned)active) == NULL) {
		rc = yima_why_(why, YIMA_ENOKEY,
		    "%s names key %" PRIu64 ", which is not in %s", path,
		    active, keydir);
		goto fail;
	}
	kr->active = (int)active;
	closedir(d);
	*out = kr;
	return 0;
fail:
	if (d != NULL)
		closedir(d);
	yima_keyring_free(kr);
	return rc;
}

int
yima_keyring_reload(struct yima_keyring *kr, int *added, char *why)
{
	struct yima_keyring *fresh = NULL;
	struct yima_mac *mac;
	unsigned id;
	int rc, n = 0;

	if (kr->dir == NULL)
		return yima_why_(why, YIMA_EINVAL, "the keyring is in memory");
	if ((rc = yima_keyring_open(kr->dir, &fresh, why)) != 0)
		return rc;
	/* All or nothing: a key changed under its id is a wrong keyring. */
	for (id = 0; id < YIMA_KEY_IDS; id++) {
		if (yima_keyring_mac(kr, id) != NULL &&
		    yima_keyring_mac(fresh, id) != NULL &&
		    CRYPTO_memcmp(kr->keys[id], fresh->keys[id],
		    YIMA_KEY_LEN) != 0) {
			rc = yima_why_(why, YIMA_EINVAL,
			    "key %u in %s/keys is not the key %u in use; a "
			    "key never changes", id, kr->dir, id);
			goto done;
		}
	}
	for (id = 0; id < YIMA_KEY_IDS; id++) {
		mac = atomic_load_explicit(&fresh->macs[id],
		    memory_order_relaxed);
		if (mac == NULL || yima_keyring_mac(kr, id) != NULL)
			continue;
		atomic_store_explicit(&fresh->macs[id], NULL,
		    memory_order_relaxed);
		publish(kr, id, mac, fresh->keys[id]);
		n++;
	}
	if (added != NULL)
		*added = n;
done:
	yima_keyring_free(fresh);
	return rc;
}

int
yima_keyring_count(const struct yima_keyring *kr)
{
	unsigned id;
	int n = 0;

	for (id = 0; id < YIMA_KEY_IDS; id++)
		n += yima_keyring_mac(kr, id) != NULL;
	return n;
}

/* Writes a fresh random key as keys/<id>.key; never overwrites one. */
static int
new_key_file(const char *dir, unsigned id, char *why)
{
	uint8_t key[YIMA_KEY_LEN];
	char text[2 * YIMA_KEY_LEN + 1], name[32], keydir[4096];
	int rc;

	if ((rc = join(keydir, sizeof(keydir), dir, "keys", why)) != 0)
		return rc;
	if (RAND_bytes(key, sizeof(key)) != 1)
		return yima_why_(why, YIMA_EIO,
		    "OpenSSL RAND_bytes failed: no randomness");
	yima_hex(key, sizeof(key), text);
	text[2 * YIMA_KEY_LEN] = '\n';
	snprintf(name, sizeof(name), "%u.key", id);
	rc = write_durable(keydir, name, text, sizeof(text), 1, why);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

static int
write_number(const char *dir, const char *name, uint64_t v, char *why)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", v);

	return write_durable(dir, name, text, (size_t)n, 0, why);
}

/* Takes the keyring's exclusive lock; returns the fd or a negative error. */
static int
lock_keyring(const char *dir, char *why)
{
	char path[4096];
	int fd, rc;

	if ((rc = join(path, sizeof(path), dir, "lock", why)) != 0)
		return rc;
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600)) < 0)
		return io_error(why, "open", path);
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			rc = io_error(why, "lock", path);
			close(fd);
			return rc;
		}
	}
	return fd;
}

int
yima_keyring_create(const char *dir, unsigned *key_id, char *why)
{
	char keydir[4096];
	struct dirent *de;
	DIR *d;
	int rc, fd;

	if (mkdir(dir, 0700) != 0) {
		if (errno != EEXIST)
			return io_error(why, "create", dir);
		/* An existing empty directory is fine; anything else is not. */
		if ((d = opendir(dir)) == NULL)
			return io_error(why, "open", dir);
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				break;
		closedir(d);
		if (de != NULL)
			return yima_why_(why, YIMA_EEXIST,
			    "%s is not empty; use --rotate to add a key to "
			    "an existing keyring", dir);
		if (chmod(dir, 0700) != 0)
			return io_error(why, "chmod", dir);
	}
	if ((rc = join(keydir, sizeof(keydir), dir, "keys", why)) != 0)
		return rc;
	if (mkdir(keydir, 0700) != 0)
		return io_error(why, "create", keydir);
	if ((fd = lock_keyring(dir, why)) < 0)
		return fd;
	if ((rc = new_key_file(dir, FIRST_KEY_ID, why)) == 0 &&
	    (rc = write_number(dir, "serial", FIRST_SERIAL, why)) == 0 &&
	    (rc = write_number(dir, "active", FIRST_KEY_ID, why)) == 0 &&
	    key_id != NULL)
		*key_id = FIRST_KEY_ID;
	close(fd);
	return rc;
}

int
yima_keyring_rotate(const char *dir, unsigned *key_id, char *why)
{
	struct yima_keyring *kr = NULL;
	int fd, rc, id, next = -1;

	if ((rc = check_dir(dir, why)) != 0)
		return rc;
	if ((fd = lock_keyring(dir, why)) < 0)
		return fd;
	if ((rc = yima_keyring_open(dir, &kr, why)) != 0)
		goto done;
	for (id = 0; id < YIMA_KEY_IDS; id++)
		if (yima_keyring_mac(kr, (unsigned)id) != NULL)
			next = id + 1;
	if (next >= YIMA_KEY_IDS) {
		rc = yima_why_(why, YIMA_ERANGE,
		    "all 256 key ids are used; this keyring cannot rotate");
		goto done;
	}
	if ((rc = new_key_file(dir, (unsigned)next, why)) != 0 ||
	    (rc = write_number(dir, "active", (uint64_t)next, why)) != 0)
		goto done;
	if (key_id != NULL)
		*key_id = (unsigned)next;
done:
	yima_keyring_free(kr);
	close(fd);
	return rc;
}

int
yima_keyring_reserve(const char *dir, uint64_t count, uint64_t *first,
    char *why)
{
	char path[4096], text[32];
	uint64_t next;
	int fd, rc;

	if (count == 0)
		return yima_why_(why, YIMA_EINVAL, "count must be at least 1");
	if ((rc = check_dir(dir, why)) != 0)
		return rc;
	if ((fd = lock_keyring(dir, why)) < 0)
		return fd;
	if ((rc = join(path, sizeof(path), dir, "serial", why)) != 0 ||
	    (rc = read_small(path, text, sizeof(text), why)) != 0)
		goto done;
	if (parse_decimal(text, SERIAL_END, &next) != 0) {
		rc = yima_why_(why, YIMA_EINVAL,
		    "%s: expected the next serial in decimal", path);
		goto done;
	}
	if (count > SERIAL_END - next) {
		rc = yima_why_(why, YIMA_ERANGE,
		    "only %" PRIu64 " serials are left in the 48-bit space",
		    SERIAL_END - next);
		goto done;
	}
	if ((rc = write_number(dir, "serial", next + count, why)) != 0)
		goto done;
	*first = next;
done:
	close(fd);
	return rc;
}
