/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: scanned text through yima_code_verify. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "yima/code.h"
#include "yima/err.h"
#include "yima/keyring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct yima_keyring *kr;
	uint8_t key[YIMA_KEY_LEN];
	struct yima_code c;
	char why[YIMA_WHY_MAX];
	uint8_t p[YIMA_PAYLOAD_LEN];

	if (kr == NULL) {
		memset(key, 0x42, sizeof(key));
		if (yima_keyring_new(&kr) != 0 ||
		    yima_keyring_add(kr, 1, key) != 0)
			return 0;
	}
	if (yima_code_verify(kr, (const char *)data, size, &c, why) == 0 &&
	    (c.key_id != 1 || c.serial > YIMA_SERIAL_MAX))
		__builtin_trap();
	if (yima_base32_decode((const char *)data, size, p, why) == 0)
		(void)yima_code_unpack(p, &c, why);
	return 0;
}
