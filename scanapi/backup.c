/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Online backups of the embedded database, with SQLite's backup API: the
 * copy is one read transaction of the source, so it is consistent while
 * the service writes (WAL: writers go on), and it is checked before it is
 * put in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "yima/err.h"

#include "../codegen/err-private.h"
#include "backup.h"
#include "schema.h"

/*
 * Whether "NULL value in T.C", said by integrity_check, is true. SQLite
 * 3.40 (Debian 12's) says it of every column after the key of a WITHOUT
 * ROWID table whose key is not its first columns (our rollups): typeof()
 * reads the rows themselves (IS NULL would be folded away on NOT NULL).
 */
static int
null_is_real(sqlite3 *db, const char *msg)
{
	char table[64], col[64];
	sqlite3_stmt *s = NULL;
	char *sql;
	int real = 1;

	if (sscanf(msg, "NULL value in %63[^.].%63s", table, col) != 2)
		return 1;
	if ((sql = sqlite3_mprintf("SELECT COUNT(*) FROM \"%w\" WHERE"
	    " typeof(\"%w\") = 'null'", table, col)) == NULL)
		return 1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		real = sqlite3_column_int64(s, 0) != 0;
	sqlite3_finalize(s);
	sqlite3_free(sql);
	return real;
}

/* Checks db is a sound yima database this program can run: 0 or EINVAL. */
static int
check(sqlite3 *db, const char *name, char *why)
{
	sqlite3_stmt *s = NULL, *c = NULL;
	const char *msg;
	int version = -1, rc = YIMA_EINVAL, step;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version < 1 || version > api_schema_version)
		return yima_why_(why, rc, "%s: not a yima database of schema 1 "
		    "to %d (it has %d)", name, api_schema_version, version);
	/* The whole check (quick_check skips the indexes' contents). */
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &c, NULL) !=
	    SQLITE_OK)
		return yima_why_(why, rc, "%s: %s", name, sqlite3_errmsg(db));
	while ((step = sqlite3_step(c)) == SQLITE_ROW) {
		msg = (const char *)sqlite3_column_text(c, 0);
		if (msg != NULL && (strcmp(msg, "ok") == 0 ||
		    !null_is_real(db, msg)))
			continue;
		yima_why_(why, rc, "%s: integrity check failed: %s", name,
		    msg != NULL ? msg : "?");
		goto done;
	}
	if (step != SQLITE_DONE) {
		yima_why_(why, rc, "%s: integrity check failed: %s", name,
		    sqlite3_errmsg(db));
		goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(c);
	return rc;
}

/* Copies all of from into to in one step: one transaction of each. */
static int
copy(sqlite3 *to, sqlite3 *from, const char *what, char *why)
{
	sqlite3_backup *b;
	int rc;

	if ((b = sqlite3_backup_init(to, "main", from, "main")) == NULL)
		return yima_why_(why, YIMA_EIO, "%s: %s", what,
		    sqlite3_errmsg(to));
	/* A writer holding the file a moment: wait, as the service does. */
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY ||
	    rc == SQLITE_LOCKED)
		sqlite3_sleep(20);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		return yima_why_(why, YIMA_EIO, "%s: %s", what,
		    sqlite3_errstr(rc));
	return 0;
}

static int
open_db(const char *path, int flags, sqlite3 **db, char *why)
{
	if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
		yima_why_(why, YIMA_EIO, "cannot open %s: %s", path,
		    *db != NULL ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return YIMA_EIO;
	}
	sqlite3_busy_timeout(*db, 5000);
	return 0;
}

int
api_backup(const char *db, const char *out, char *why)
{
	sqlite3 *src = NULL, *dst = NULL;
	char tmp[4096];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", out) >= (int)sizeof(tmp))
		return yima_why_(why, YIMA_EINVAL, "%s: path too long", out);
	if (access(out, F_OK) == 0)
		return yima_why_(why, YIMA_EEXIST, "%s exists: a backup never "
		    "overwrites a file", out);
	/* The copy holds personal data: the owner's alone, from the start. */
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
		return yima_why_(why, YIMA_EIO, "cannot create %s: %s", tmp,
		    strerror(errno));
	close(fd);
	if ((rc = open_db(db, SQLITE_OPEN_READONLY, &src, why)) != 0 ||
	    (rc = check(src, db, why)) != 0 ||
	    (rc = open_db(tmp, SQLITE_OPEN_READWRITE, &dst, why)) != 0 ||
	    (rc = copy(dst, src, "backup", why)) != 0)
		goto fail;
	/* A standalone file: no WAL beside it. */
	if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL,
	    NULL) != SQLITE_OK || (rc = check(dst, tmp, why)) != 0) {
		rc = rc != 0 ? rc : yima_why_(why, YIMA_EIO, "%s: %s", tmp,
		    sqlite3_errmsg(dst));
		goto fail;
	}
	sqlite3_close(dst);
	dst = NULL;
	sqlite3_close(src);
	src = NULL;
	if ((fd = open(tmp, O_RDONLY)) < 0 || fsync(fd) != 0) {
		rc = yima_why_(why, YIMA_EIO, "cannot sync %s: %s", tmp,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	close(fd);
	if (link(tmp, out) != 0) {	/* never over a file made meanwhile */
		rc = yima_why_(why, errno == EEXIST ? YIMA_EEXIST : YIMA_EIO,
		    "cannot create %s: %s", out, strerror(errno));
		goto fail;
	}
	unlink(tmp);
	return 0;
fail:
	sqlite3_close(dst);
	sqlite3_close(src);
	unlink(tmp);
	return rc;
}

int
api_restore(const char *from, const char *db, char *why)
{
	sqlite3 *src = NULL, *dst = NULL;
	int rc;

	if ((rc = open_db(from, SQLITE_OPEN_READONLY, &src, why)) != 0 ||
	    (rc = check(src, from, why)) != 0)
		goto done;
	/* Into the database through SQLite, not over its file: its WAL and
	 * any reader stay right, and a failure leaves it as it was. */
	if ((rc = open_db(db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &dst,
	    why)) != 0 || (rc = copy(dst, src, "restore", why)) != 0)
		goto done;
	if (chmod(db, 0600) != 0)
		rc = yima_why_(why, YIMA_EIO, "cannot chmod %s: %s", db,
		    strerror(errno));
	else
		rc = check(dst, db, why);
done:
	sqlite3_close(dst);
	sqlite3_close(src);
	return rc;
}
