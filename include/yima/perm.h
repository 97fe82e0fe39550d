/* SPDX-License-Identifier: Apache-2.0 */
/* Private files: what holds secrets or personal data is the owner's only. */
#ifndef YIMA_PERM_H
#define YIMA_PERM_H

struct stat;

/*
 * Checks the mode in st (of path): YIMA_EPERM when the group or others
 * may read, write or enter it, with a why that gives the mode and the fix
 * ("chmod 600 PATH", or 700 for a directory); what names the thing in
 * the message ("the keyring", "the database"). Returns 0 otherwise.
 */
int yima_perm_check(const struct stat *st, const char *path,
    const char *what, char *why);

#endif /* YIMA_PERM_H */
