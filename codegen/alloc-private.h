/* SPDX-License-Identifier: Apache-2.0 */
/* Library allocation wrappers; test builds can make the Nth call fail. */
#ifndef YIMA_ALLOC_PRIVATE_H
#define YIMA_ALLOC_PRIVATE_H

#include <stddef.h>
#include <stdlib.h>

#ifdef YIMA_TESTING
void *yima_test_malloc_(size_t n);
void *yima_test_calloc_(size_t n, size_t sz);
void *yima_test_realloc_(void *p, size_t n);
/* Make the nth allocation from now fail (1 = the next); 0 disables. */
void yima_test_fail_alloc_(unsigned long nth);
/* Allocations attempted since the last yima_test_fail_alloc_(). */
unsigned long yima_test_alloc_count_(void);
#define yima_malloc(n)		yima_test_malloc_(n)
#define yima_calloc(n, s)	yima_test_calloc_(n, s)
#define yima_realloc(p, n)	yima_test_realloc_(p, n)
#else
#define yima_malloc(n)		malloc(n)
#define yima_calloc(n, s)	calloc(n, s)
#define yima_realloc(p, n)	realloc(p, n)
#endif
#define yima_free(p)		free(p)

#endif /* YIMA_ALLOC_PRIVATE_H */
