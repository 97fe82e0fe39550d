/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for the Check suites. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>

#include "yima/err.h"
#include "yima/store.h"

#include "../scanapi/sketch.h"
#include "testutil.h"

char *
tu_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *p;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	ck_assert(asprintf(&p, "%s/yima-test.XXXXXX", tmp) > 0);
	ck_assert_ptr_nonnull(mkdtemp(p));
	return p;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tu_rmtree(const char *path)
{
	if (path != NULL)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
tu_path(const char *dir, const char *name)
{
	char *p;

	ck_assert(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

char *
tu_read_file(const char *path, size_t *len)
{
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			ck_assert_ptr_nonnull(buf = realloc(buf, cap + 1));
		}
		if ((r = fread(buf + n, 1, cap - n, f)) == 0)
			break;
		n += r;
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

int
tu_write_file(const char *path, const void *data, size_t len)
{
	FILE *f;
	int rc = 0;

	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	if (fwrite(data, 1, len, f) != len)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

char *
tu_data(const char *name)
{
	const char *d = getenv("YIMA_TEST_DATA");

	return tu_path(d != NULL ? d : "tests/data", name);
}

const char *
tu_codegen(void)
{
	const char *p = getenv("YIMA_CODEGEN");

	return p != NULL ? p : "build/yima-codegen";
}

uint64_t
tu_sketch_hash(const char *id, size_t len)
{
	static struct yima_mac *key;	/* kept: one per test process */

	if (key == NULL)
		ck_assert_int_eq(yima_mac_new((const uint8_t *)"test", 4, &key),
		    0);
	return api_sketch_hash(key, id, len);
}

/* Reads a pipe to its end into a malloc'd string. */
static char *
slurp_fd(int fd)
{
	char *buf = NULL;
	size_t cap = 0, n = 0;
	ssize_t r;

	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			ck_assert_ptr_nonnull(buf = realloc(buf, cap + 1));
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return buf;
}

int
tu_run(char *const argv[], char **out, char **err)
{
	char errpath[] = "/tmp/yima-test-err.XXXXXX";
	int po[2], efd, status;
	pid_t pid;
	char *o;

	/* stderr goes to a file so that neither pipe can fill and block. */
	ck_assert_int_ge(efd = mkstemp(errpath), 0);
	unlink(errpath);
	ck_assert_int_eq(pipe(po), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(efd, 2);
		close(po[0]);
		close(po[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	o = slurp_fd(po[0]);
	close(po[0]);
	while (waitpid(pid, &status, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	if (out != NULL)
		*out = o;
	else
		free(o);
	if (err != NULL) {
		lseek(efd, 0, SEEK_SET);
		*err = slurp_fd(efd);
	}
	close(efd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const char *
tu_pg_url(void)
{
	const char *url = getenv("YIMA_TEST_PG");

	return url != NULL && url[0] != '\0' ? url : NULL;
}

const char *
tu_pg_fresh(void)
{
	const char *url = tu_pg_url();
	PGconn *c;
	PGresult *r;

	if (url == NULL)
		return NULL;
	/* Only a database meant for it: the tests drop everything in it. */
	ck_assert_msg(strlen(url) > 5 && strcmp(url + strlen(url) - 5,
	    "_test") == 0, "YIMA_TEST_PG must name a throwaway database whose "
	    "name ends in _test (scripts/pg.sh makes one): %s", url);
	c = PQconnectdb(url);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, "SET client_min_messages = warning;"
	    " DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s",
	    PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return url;
}

long long
tu_pg_int(const char *q)
{
	PGconn *c = PQconnectdb(tu_pg_url());
	PGresult *r;
	long long v = -1;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, q);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q,
	    PQresultErrorMessage(r));
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
	    !PQgetisnull(r, 0, 0))
		v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

struct yima_store *
tu_store_open(const char *dir, int pg)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 2, 0, 1, 0 };
	struct yima_store *st;
	char why[YIMA_WHY_MAX], *db;

	db = pg ? strdup(tu_pg_fresh()) : tu_path(dir, "store.db");
	ck_assert_ptr_nonnull(db);
	ck_assert_msg(yima_store_open(db, &o, &st, why) == 0, "%s", why);
	free(db);
	return st;
}
