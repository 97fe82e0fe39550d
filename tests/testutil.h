/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for the Check suites: temporary dirs, files, processes. */
#ifndef YIMA_TESTUTIL_H
#define YIMA_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

/* Creates a fresh directory under $TMPDIR; returns a malloc'd path. */
char *tu_mkdtemp(void);
/* YIMA_TEST_PG, or NULL when it is unset or empty (no PostgreSQL tests). */
const char *tu_pg_url(void);
/*
 * The PostgreSQL database the tests may use (YIMA_TEST_PG, whose name must
 * end in _test), emptied (its public schema dropped and made again); NULL
 * when none is named.
 */
const char *tu_pg_fresh(void);
/*
 * A store for a test: dir/store.db (SQLite), or with pg the emptied
 * PostgreSQL database; fails the test when it cannot open.
 */
struct yima_store *tu_store_open(const char *dir, int pg);
/* The first value sql answers on that database, or -1 for none. */
long long tu_pg_int(const char *sql);
/* Removes a directory tree (rm -rf). */
void tu_rmtree(const char *path);
/* Joins dir and name into a malloc'd path. */
char *tu_path(const char *dir, const char *name);
/* Reads a whole file into a malloc'd NUL-terminated buffer, or NULL. */
char *tu_read_file(const char *path, size_t *len);
/* Writes len bytes to path (mode 0644); returns 0 or -1. */
int tu_write_file(const char *path, const void *data, size_t len);
/* Path of a file in tests/data ($YIMA_TEST_DATA); malloc'd. */
char *tu_data(const char *name);
/*
 * Runs argv (argv[0] a path) with stdout and stderr captured into
 * malloc'd strings (may be NULL to discard). Returns the exit status, or
 * -1 if it did not exit normally. Fails the test if it cannot start.
 */
int tu_run(char *const argv[], char **out, char **err);
/* Path of the yima-codegen binary under test ($YIMA_CODEGEN). */
const char *tu_codegen(void);
/* The sketch hash of consumer id (len bytes) under a fixed test key. */
uint64_t tu_sketch_hash(const char *id, size_t len);

#endif /* YIMA_TESTUTIL_H */
