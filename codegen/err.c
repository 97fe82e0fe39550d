/* SPDX-License-Identifier: Apache-2.0 */
/* Text for yima error codes. */
#include <stdarg.h>
#include <stdio.h>

#include "yima/err.h"

#include "err-private.h"

const char *
yima_strerror(int err)
{
	switch (err) {
	case YIMA_OK:		return "success";
	case YIMA_ENOMEM:	return "out of memory";
	case YIMA_EINVAL:	return "invalid argument or input";
	case YIMA_EIO:		return "input/output error";
	case YIMA_EPERM:	return "permission denied or permissions too open";
	case YIMA_ENOKEY:	return "unknown key id";
	case YIMA_EBADTAG:	return "signature does not match";
	case YIMA_EEXIST:	return "already exists";
	case YIMA_ENOENT:	return "not found";
	case YIMA_ERANGE:	return "value out of range";
	case YIMA_EDB:		return "storage error";
	case YIMA_ECODEC:	return "image or encoder error";
	case YIMA_EBUSY:	return "conflict with another writer; try again";
	default:		return "unknown error";
	}
}

int
yima_why_(char *why, int err, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL) {
		va_start(ap, fmt);
		vsnprintf(why, YIMA_WHY_MAX, fmt, ap);
		va_end(ap);
	}
	return err;
}

void
yima_warnx(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
