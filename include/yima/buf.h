/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer for building files and messages in memory. */
#ifndef YIMA_BUF_H
#define YIMA_BUF_H

#include <stddef.h>

struct yima_buf {
	char	*data;	/* owned; NUL-terminated after every append */
	size_t	 len;	/* bytes used, excluding the NUL */
	size_t	 cap;	/* bytes allocated */
};

#define YIMA_BUF_INIT { NULL, 0, 0 }

/* Ensures room for extra more bytes (plus a NUL). 0 or YIMA_ENOMEM. */
int yima_buf_reserve(struct yima_buf *b, size_t extra);
/* Appends n bytes. 0 or YIMA_ENOMEM (b unchanged on failure). */
int yima_buf_append(struct yima_buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string. */
int yima_buf_puts(struct yima_buf *b, const char *s);
/* Appends printf-formatted text. 0, YIMA_ENOMEM or YIMA_EINVAL. */
int yima_buf_printf(struct yima_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Appends s as a quoted JSON string: '"' and '\\' escaped, control
 * characters as \\u00XX, other bytes as they are (s must be UTF-8).
 */
int yima_buf_json_str(struct yima_buf *b, const char *s);
/* Writes n bytes as 2n lower-case hex digits and a NUL to out. */
void yima_hex(const void *in, size_t n, char *out);
/* Empties the buffer, keeping its memory. */
void yima_buf_reset(struct yima_buf *b);
/* Frees the memory; the buffer is left empty and reusable. */
void yima_buf_free(struct yima_buf *b);

#endif /* YIMA_BUF_H */
