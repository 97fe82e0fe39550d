/* SPDX-License-Identifier: Apache-2.0 */
/* Error codes shared by every yima module. */
#ifndef YIMA_ERR_H
#define YIMA_ERR_H

/*
 * Functions return 0 on success or one of these negative values.
 * Results are written through pointer parameters only on success.
 */
enum yima_err {
	YIMA_OK = 0,
	YIMA_ENOMEM = -1,	/* allocation failed */
	YIMA_EINVAL = -2,	/* bad argument or malformed input */
	YIMA_EIO = -3,		/* a system call failed; errno says which */
	YIMA_EPERM = -4,	/* permissions too loose or not allowed */
	YIMA_ENOKEY = -5,	/* unknown key id */
	YIMA_EBADTAG = -6,	/* signature (tag or HMAC) does not match */
	YIMA_EEXIST = -7,	/* target exists and must not be overwritten */
	YIMA_ENOENT = -8,	/* not found */
	YIMA_ERANGE = -9,	/* value out of range (e.g. serials exhausted) */
	YIMA_EDB = -10,		/* storage back-end failure */
	YIMA_ECODEC = -11,	/* an image, QR or PDF library failed */
	YIMA_EBUSY = -12	/* a conflict with another writer: run again */
};

/* Returns a static, human-readable text for an error code. */
const char *yima_strerror(int err);

/*
 * Functions that can say more than an error code take an optional
 * `char *why` buffer of YIMA_WHY_MAX bytes (NULL when not wanted) and fill
 * it with one sentence naming what was wrong.
 */
#define YIMA_WHY_MAX 256

/*
 * Prints "prog: message" and a newline to stderr. For the programs' own
 * messages: the library itself never prints.
 */
void yima_warnx(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* YIMA_ERR_H */
