/* SPDX-License-Identifier: Apache-2.0 */
/* Signed consumer ids: random id, HMAC tag, both in hex. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "yima/buf.h"
#include "yima/err.h"

#include "consumer.h"
#include "verdict.h"

#define ID_BYTES	12
#define TAG_BYTES	12

/* The MAC derived from key id for label. */
static int
key_of(const struct yima_keyring *kr, unsigned id, const char *label,
    struct yima_mac **out)
{
	uint8_t key[YIMA_KEY_LEN];
	int rc;

	if ((rc = yima_keyring_derive(kr, id, label, key)) != 0)
		return rc;
	rc = yima_mac_new(key, sizeof(key), out);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int
api_consumer_key(const struct yima_keyring *kr, const char *label,
    struct yima_mac **out, struct yima_mac **legacy)
{
	unsigned id, active = (unsigned)yima_keyring_active(kr);
	int rc;

	/*
	 * The first key, not the active one: keys are only ever added, so
	 * ids issued before a rotation still verify after a restart, and a
	 * consumer counts as one in the rollups across it. Ids signed from
	 * the active key, as earlier versions did, still pass (legacy).
	 */
	for (id = 0; id < YIMA_KEY_IDS && yima_keyring_mac(kr, id) == NULL;
	    id++)
		;
	if (legacy != NULL)
		*legacy = NULL;
	if ((rc = key_of(kr, id, label, out)) != 0)
		return rc;
	if (legacy != NULL && active != id &&
	    (rc = key_of(kr, active, label, legacy)) != 0) {
		yima_mac_free(*out);
		*out = NULL;
	}
	return rc;
}

static void
tag_of(const struct yima_mac *mac, const char *idhex,
    char taghex[2 * TAG_BYTES + 1])
{
	uint8_t full[YIMA_MAC_LEN];

	yima_mac_compute(mac, idhex, 2 * ID_BYTES, full);
	yima_hex(full, TAG_BYTES, taghex);
}

int
api_consumer_new(const struct yima_mac *mac, char *out)
{
	unsigned char id[ID_BYTES];
	struct timespec ts;
	uint64_t ms;
	int i;

	/*
	 * The millisecond it was made first (48 bits, as UUIDv7 does): new
	 * ids sort last, so the index of scans by consumer grows at its end.
	 * With random ids, or a random tail within one second, each scan of
	 * a batch wrote its own index page: a third of a scan on SQLite.
	 * 48 random bits and the tag keep an id unguessable.
	 */
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (i = 0; i < 6; i++)
		id[i] = (unsigned char)(ms >> (40 - 8 * i));
	if (RAND_bytes(id + 6, sizeof(id) - 6) != 1)
		return YIMA_EIO;
	yima_hex(id, sizeof(id), out);
	tag_of(mac, out, out + 2 * ID_BYTES);
	out[API_CID_LEN] = '\0';
	return 0;
}

int
api_consumer_check(const struct yima_mac *mac, const struct yima_mac *legacy,
    const char *s, size_t len, char *id)
{
	char want[2 * TAG_BYTES + 1];
	size_t i;

	if (len != API_CID_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	tag_of(mac, s, want);
	if (CRYPTO_memcmp(want, s + 2 * ID_BYTES, 2 * TAG_BYTES) != 0) {
		if (legacy == NULL)
			return 0;
		tag_of(legacy, s, want);
		if (CRYPTO_memcmp(want, s + 2 * ID_BYTES, 2 * TAG_BYTES) != 0)
			return 0;
	}
	memcpy(id, s, API_CONSUMER_ID_LEN);
	id[API_CONSUMER_ID_LEN] = '\0';
	return 1;
}

void
api_consumer_hash(const struct yima_mac *mac, const char *id, char out[65])
{
	char msg[8 + API_CONSUMER_ID_LEN] = "erased:";
	uint8_t md[YIMA_MAC_LEN];

	/* A message of its own: the hash kept is never the id's tag. */
	memcpy(msg + 7, id, API_CONSUMER_ID_LEN);
	yima_mac_compute(mac, msg, 7 + API_CONSUMER_ID_LEN, md);
	yima_hex(md, sizeof(md), out);
}

int
api_consumer_pseudonym(char *out)
{
	unsigned char r[(API_CONSUMER_ID_LEN - 6) / 2];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return YIMA_EIO;
	memcpy(out, "erased", 6);
	yima_hex(r, sizeof(r), out + 6);
	out[API_CONSUMER_ID_LEN] = '\0';
	return 0;
}
