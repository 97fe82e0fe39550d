/* SPDX-License-Identifier: Apache-2.0 */
/* Online backups and restores of the embedded (SQLite) database. */
#ifndef API_BACKUP_H
#define API_BACKUP_H

/*
 * Copies the database db to out, a new file (mode 0600), in one read
 * transaction: a consistent copy while the service writes. The copy is
 * checked (PRAGMA integrity_check, a schema this program knows) and
 * synced before it appears at out. Returns 0, YIMA_EEXIST (out exists),
 * YIMA_EINVAL (db or the copy is not a sound yima database) or YIMA_EIO,
 * with why.
 */
int api_backup(const char *db, const char *out, char *why);

/*
 * Checks the backup `from` the same way and copies it into db (made if
 * missing, mode 0600) in one write transaction: db is the backup's or,
 * on failure, as it was. Stop the service first: what it holds in memory
 * (rate limits, caches) is not the backup's.
 */
int api_restore(const char *from, const char *db, char *why);

#endif /* API_BACKUP_H */
