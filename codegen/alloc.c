/* SPDX-License-Identifier: Apache-2.0 */
/* The failing allocator that test builds use to reach every ENOMEM path. */
#include "alloc-private.h"

#ifdef YIMA_TESTING
static unsigned long fail_at;	/* 0: never fail */
static unsigned long count;

void
yima_test_fail_alloc_(unsigned long nth)
{
	fail_at = nth;
	count = 0;
}

unsigned long
yima_test_alloc_count_(void)
{
	return count;
}

static int
should_fail(void)
{
	count++;
	return fail_at != 0 && count == fail_at;
}

void *
yima_test_malloc_(size_t n)
{
	return should_fail() ? NULL : malloc(n);
}

void *
yima_test_calloc_(size_t n, size_t sz)
{
	return should_fail() ? NULL : calloc(n, sz);
}

void *
yima_test_realloc_(void *p, size_t n)
{
	return should_fail() ? NULL : realloc(p, n);
}
#else
/* ISO C forbids an empty translation unit. */
typedef int yima_alloc_unused_;
#endif
