/* SPDX-License-Identifier: Apache-2.0 */
/* The PostgreSQL back-end (libpq): see store-ops.h. */
#include "yima/err.h"

#include "../codegen/err-private.h"
#include "store-ops.h"

int
api_pg_open(const char *url, const struct yima_store_opts *opts,
    struct yima_store **out, char *why)
{
	(void)url;
	(void)opts;
	(void)out;
	return yima_why_(why, YIMA_EINVAL, "PostgreSQL is not supported yet");
}
