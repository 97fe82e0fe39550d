/* SPDX-License-Identifier: Apache-2.0 */
/* Private files: what holds secrets or personal data is the owner's only. */
#include <sys/stat.h>

#include "yima/err.h"
#include "yima/perm.h"

#include "err-private.h"

int
yima_perm_check(const struct stat *st, const char *path, const char *what,
    char *why)
{
	if ((st->st_mode & 077) != 0)
		return yima_why_(why, YIMA_EPERM,
		    "%s has mode %04o: %s must be private (chmod %s %s)",
		    path, (unsigned)(st->st_mode & 07777), what,
		    S_ISDIR(st->st_mode) ? "700" : "600", path);
	return 0;
}
