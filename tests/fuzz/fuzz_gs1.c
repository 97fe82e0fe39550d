/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: any text through the GS1 Digital Link parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "yima/err.h"
#include "yima/gs1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yima_gs1_dl dl;
	char why[YIMA_WHY_MAX];
	size_t i;
	int rc;

	rc = yima_gs1_dl_parse((const char *)data, size, &dl, why);
	if (rc != 0 && rc != 1 && rc != YIMA_EINVAL)
		__builtin_trap();
	if (rc != 0)
		return 0;
	/* What it accepted keeps GS1's rules: a checked key, bounded values. */
	if (strlen(dl.key.value) == 0 || dl.nqual > YIMA_GS1_QUALS_MAX ||
	    dl.nattr > YIMA_GS1_ATTRS_MAX ||
	    !yima_gs1_check_digit(dl.key.value, strlen(dl.key.value)))
		__builtin_trap();
	for (i = 0; i < dl.nqual; i++)
		if (!yima_gs1_cset82(dl.qual[i].value, YIMA_GS1_VALUE_MAX))
			__builtin_trap();
	if (dl.query != NULL && (dl.query < (const char *)data ||
	    dl.query + dl.query_len > (const char *)data + size))
		__builtin_trap();
	return 0;
}
