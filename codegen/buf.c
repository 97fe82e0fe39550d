/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "yima/buf.h"
#include "yima/err.h"

#include "alloc-private.h"

int
yima_buf_reserve(struct yima_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return YIMA_ENOMEM;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = yima_realloc(b->data, cap)) == NULL)
		return YIMA_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
yima_buf_append(struct yima_buf *b, const void *p, size_t n)
{
	if (yima_buf_reserve(b, n) != 0)
		return YIMA_ENOMEM;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
yima_buf_puts(struct yima_buf *b, const char *s)
{
	return yima_buf_append(b, s, strlen(s));
}

int
yima_buf_printf(struct yima_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	/* Format straight into the free space; measure only if it is short. */
	if (yima_buf_reserve(b, 64) != 0)
		return YIMA_ENOMEM;
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return YIMA_EINVAL;
	}
	if ((size_t)n >= room) {
		if (yima_buf_reserve(b, (size_t)n) != 0) {
			b->data[b->len] = '\0';
			return YIMA_ENOMEM;
		}
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
}

int
yima_buf_json_str(struct yima_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(s), i;
	char *p;

	/* Worst case every byte becomes \u00XX. */
	if (n > (SIZE_MAX - 2) / 6 || yima_buf_reserve(b, 6 * n + 2) != 0)
		return YIMA_ENOMEM;
	p = b->data + b->len;
	*p++ = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(p, "\\u00", 4);
			p[4] = hex[c >> 4];
			p[5] = hex[c & 15];
			p += 6;
		} else
			*p++ = (char)c;
	}
	*p++ = '"';
	*p = '\0';
	b->len = (size_t)(p - b->data);
	return 0;
}

void
yima_hex(const void *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = in;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void
yima_buf_reset(struct yima_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
yima_buf_free(struct yima_buf *b)
{
	yima_free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
