/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: untrusted manifest JSON through yima_manifest_parse. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "yima/err.h"
#include "yima/keyring.h"
#include "yima/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct yima_keyring *kr;
	uint8_t key[YIMA_KEY_LEN];
	struct yima_manifest m;
	char why[YIMA_WHY_MAX];

	if (kr == NULL) {
		memset(key, 0x42, sizeof(key));
		if (yima_keyring_new(&kr) != 0 ||
		    yima_keyring_add(kr, 1, key) != 0)
			return 0;
	}
	(void)yima_manifest_parse((const char *)data, size, kr, &m, why);
	return 0;
}
