/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for filling the optional `why` buffer. */
#ifndef YIMA_ERR_PRIVATE_H
#define YIMA_ERR_PRIVATE_H

/* Formats into why (YIMA_WHY_MAX bytes) if not NULL; returns err. */
int yima_why_(char *why, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* YIMA_ERR_PRIVATE_H */
