/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the keyring: files, permissions, rotation, serial reservation. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "yima/code.h"
#include "yima/err.h"
#include "yima/keyring.h"

#include "../codegen/alloc-private.h"
#include "testutil.h"

Suite *keyring_suite(void);

static char *tmp;
static char *kdir;

static void
setup(void)
{
	tmp = tu_mkdtemp();
	kdir = tu_path(tmp, "kr");
	ck_assert_int_eq(yima_keyring_create(kdir, NULL, NULL), 0);
}

static void
teardown(void)
{
	tu_rmtree(tmp);
	free(kdir);
	free(tmp);
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static char *
read_rel(const char *rel)
{
	char *p = tu_path(kdir, rel), *s = tu_read_file(p, NULL);

	ck_assert_msg(s != NULL, "cannot read %s", p);
	free(p);
	return s;
}

START_TEST(create_layout)
{
	char *s, *p;
	unsigned id;
	size_t i;

	ck_assert_uint_eq(mode_of(kdir), 0700);
	p = tu_path(kdir, "keys/1.key");
	ck_assert_uint_eq(mode_of(p), 0600);
	free(p);
	s = read_rel("keys/1.key");
	ck_assert_uint_eq(strlen(s), 65);
	for (i = 0; i < 64; i++)
		ck_assert_ptr_nonnull(strchr("0123456789abcdef", s[i]));
	ck_assert_int_eq(s[64], '\n');
	free(s);
	s = read_rel("active");
	ck_assert_str_eq(s, "1\n");
	free(s);
	s = read_rel("serial");
	ck_assert_str_eq(s, "1\n");
	free(s);
	/* A second create must not overwrite the secrets. */
	ck_assert_int_eq(yima_keyring_create(kdir, &id, NULL), YIMA_EEXIST);
}
END_TEST

START_TEST(two_keyrings_differ)
{
	char *other = tu_path(tmp, "kr2"), *a, *b, *p;

	ck_assert_int_eq(yima_keyring_create(other, NULL, NULL), 0);
	a = read_rel("keys/1.key");
	p = tu_path(other, "keys/1.key");
	b = tu_read_file(p, NULL);
	ck_assert_str_ne(a, b);
	free(a);
	free(b);
	free(p);
	free(other);
}
END_TEST

START_TEST(rotate_keeps_old_keys)
{
	struct yima_keyring *kr;
	struct yima_code c;
	char code[YIMA_CODE_LEN + 1], *s;
	unsigned id;

	ck_assert_int_eq(yima_keyring_open(kdir, &kr, NULL), 0);
	ck_assert_int_eq(yima_keyring_active(kr), 1);
	yima_code_make(yima_keyring_mac(kr, 1), YIMA_KIND_ITEM, 1, 5, code);
	yima_keyring_free(kr);

	ck_assert_int_eq(yima_keyring_rotate(kdir, &id, NULL), 0);
	ck_assert_uint_eq(id, 2);
	s = read_rel("active");
	ck_assert_str_eq(s, "2\n");
	free(s);
	ck_assert_int_eq(yima_keyring_open(kdir, &kr, NULL), 0);
	ck_assert_int_eq(yima_keyring_active(kr), 2);
	ck_assert_int_eq(yima_code_verify(kr, code, 24, &c, NULL), 0);
	ck_assert_uint_eq(c.key_id, 1);
	ck_assert_ptr_nonnull(yima_keyring_mac(kr, 2));
	ck_assert_ptr_null(yima_keyring_mac(kr, 3));
	yima_keyring_free(kr);
}
END_TEST

START_TEST(loose_permissions_refused)
{
	struct yima_keyring *kr = NULL;
	char why[YIMA_WHY_MAX], *key = tu_path(kdir, "keys/1.key");
	uint64_t first;

	ck_assert_int_eq(chmod(kdir, 0755), 0);
	ck_assert_int_eq(yima_keyring_open(kdir, &kr, why), YIMA_EPERM);
	ck_assert_ptr_nonnull(strstr(why, "0755"));
	ck_assert_int_eq(yima_keyring_reserve(kdir, 1, &first, why),
	    YIMA_EPERM);
	ck_assert_int_eq(yima_keyring_rotate(kdir, NULL, why), YIMA_EPERM);
	ck_assert_int_eq(chmod(kdir, 0700), 0);
	ck_assert_int_eq(chmod(key, 0640), 0);
	ck_assert_int_eq(yima_keyring_open(kdir, &kr, why), YIMA_EPERM);
	ck_assert_ptr_nonnull(strstr(why, "chmod 600"));
	ck_assert_int_eq(chmod(key, 0600), 0);
	ck_assert_int_eq(yima_keyring_open(kdir, &kr, why), 0);
	yima_keyring_free(kr);
	free(key);
}
END_TEST

START_TEST(malformed_files_refused)
{
	struct yima_keyring *kr = NULL;
	char why[YIMA_WHY_MAX], *key = tu_path(kdir, "keys/1.key");
	char *active = tu_path(kdir, "active"), *orig;
	static const char *bad_keys[] = {
		"", "00\n",
		"000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f\n",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fff\n",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",
	};
	size_t i;

	orig = tu_read_file(key, NULL);
	for (i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		ck_assert_int_eq(tu_write_file(key, bad_keys[i],
		    strlen(bad_keys[i])), 0);
		ck_assert_int_eq(chmod(key, 0600), 0);
		ck_assert_int_eq(yima_keyring_open(kdir, &kr, why),
		    YIMA_EINVAL);
	}
	ck_assert_int_eq(tu_write_file(key, orig, strlen(orig)), 0);
	ck_assert_int_eq(tu_write_file(active, "7\n", 2), 0);
	ck_assert_int_eq(yima_keyring_open(kdir, &kr, why), YIMA_ENOKEY);
	ck_assert_int_eq(tu_write_file(active, "x\n", 2), 0);
	ck_assert_int_eq(yima_keyring_open(kdir, &kr, why), YIMA_EINVAL);
	ck_assert_int_eq(tu_write_file(active, "1\n", 2), 0);
	ck_assert_int_eq(yima_keyring_open(kdir, &kr, why), 0);
	yima_keyring_free(kr);
	ck_assert_int_eq(yima_keyring_open("/nonexistent/kr", &kr, why),
	    YIMA_ENOENT);
	free(orig);
	free(key);
	free(active);
}
END_TEST

START_TEST(reserve_sequential_and_bounded)
{
	char why[YIMA_WHY_MAX], *s, *serial = tu_path(kdir, "serial");
	char text[40];
	uint64_t first;

	ck_assert_int_eq(yima_keyring_reserve(kdir, 10, &first, why), 0);
	ck_assert_uint_eq(first, 1);
	ck_assert_int_eq(yima_keyring_reserve(kdir, 5, &first, why), 0);
	ck_assert_uint_eq(first, 11);
	s = read_rel("serial");
	ck_assert_str_eq(s, "16\n");
	free(s);
	ck_assert_int_eq(yima_keyring_reserve(kdir, 0, &first, why),
	    YIMA_EINVAL);
	/* Near the end of the 48-bit space: the last serial, then none. */
	snprintf(text, sizeof(text), "%" PRIu64 "\n", YIMA_SERIAL_MAX - 1);
	ck_assert_int_eq(tu_write_file(serial, text, strlen(text)), 0);
	ck_assert_int_eq(yima_keyring_reserve(kdir, 3, &first, why),
	    YIMA_ERANGE);
	s = read_rel("serial");
	ck_assert_str_eq(s, text);	/* unchanged by the refusal */
	free(s);
	ck_assert_int_eq(yima_keyring_reserve(kdir, 2, &first, why), 0);
	ck_assert_uint_eq(first, YIMA_SERIAL_MAX - 1);
	ck_assert_int_eq(yima_keyring_reserve(kdir, 1, &first, why),
	    YIMA_ERANGE);
	ck_assert_int_eq(tu_write_file(serial, "12x\n", 4), 0);
	ck_assert_int_eq(yima_keyring_reserve(kdir, 1, &first, why),
	    YIMA_EINVAL);
	free(serial);
}
END_TEST

#define PROCS	4
#define ROUNDS	50
#define CHUNK	7

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Processes racing for serials get disjoint ranges that leave no gap. */
START_TEST(reserve_concurrent_processes)
{
	uint64_t firsts[PROCS * ROUNDS], first;
	int fds[2], i, j, status;
	pid_t pids[PROCS];
	ssize_t n;
	size_t got = 0;

	ck_assert_int_eq(pipe(fds), 0);
	for (i = 0; i < PROCS; i++) {
		ck_assert_int_ge(pids[i] = fork(), 0);
		if (pids[i] == 0) {
			close(fds[0]);
			for (j = 0; j < ROUNDS; j++) {
				if (yima_keyring_reserve(kdir, CHUNK, &first,
				    NULL) != 0 ||
				    write(fds[1], &first, sizeof(first)) !=
				    sizeof(first))
					_exit(1);
			}
			_exit(0);
		}
	}
	close(fds[1]);
	while ((n = read(fds[0], &firsts[got], sizeof(uint64_t))) > 0 &&
	    got < PROCS * ROUNDS)
		got++;
	close(fds[0]);
	for (i = 0; i < PROCS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_uint_eq(got, PROCS * ROUNDS);
	qsort(firsts, got, sizeof(firsts[0]), cmp_u64);
	for (i = 0; i < (int)got; i++)
		ck_assert_uint_eq(firsts[i], 1 + (uint64_t)i * CHUNK);
}
END_TEST

START_TEST(derive_separates_purposes)
{
	struct yima_keyring *kr;
	uint8_t a[YIMA_KEY_LEN], b[YIMA_KEY_LEN], c[YIMA_KEY_LEN];

	ck_assert_int_eq(yima_keyring_open(kdir, &kr, NULL), 0);
	ck_assert_int_eq(yima_keyring_derive(kr, 1, "manifest", a), 0);
	ck_assert_int_eq(yima_keyring_derive(kr, 1, "manifest", b), 0);
	ck_assert_int_eq(yima_keyring_derive(kr, 1, "consumer", c), 0);
	ck_assert_mem_eq(a, b, sizeof(a));
	ck_assert(memcmp(a, c, sizeof(a)) != 0);
	ck_assert_int_eq(yima_keyring_derive(kr, 9, "manifest", a),
	    YIMA_ENOKEY);
	yima_keyring_free(kr);
}
END_TEST

/* A reload adds rotated keys; the active key and loaded keys stay. */
START_TEST(reload_adds_rotated_keys)
{
	struct yima_keyring *kr, *mem;
	const struct yima_mac *mac1;
	struct yima_code c;
	char why[YIMA_WHY_MAX], code[YIMA_CODE_LEN + 1];
	uint8_t key[YIMA_KEY_LEN];
	int added = -1;

	ck_assert_int_eq(yima_keyring_open(kdir, &kr, NULL), 0);
	mac1 = yima_keyring_mac(kr, 1);
	ck_assert_int_eq(yima_keyring_reload(kr, &added, why), 0);
	ck_assert_int_eq(added, 0);
	ck_assert_int_eq(yima_keyring_rotate(kdir, NULL, NULL), 0);
	ck_assert_int_eq(yima_keyring_rotate(kdir, NULL, NULL), 0);
	ck_assert_ptr_null(yima_keyring_mac(kr, 3));
	ck_assert_int_eq(yima_keyring_reload(kr, &added, why), 0);
	ck_assert_int_eq(added, 2);
	ck_assert_int_eq(yima_keyring_count(kr), 3);
	/* The loaded key is the same object: readers may hold it. */
	ck_assert_ptr_eq(yima_keyring_mac(kr, 1), mac1);
	ck_assert_int_eq(yima_keyring_active(kr), 1);
	/* A code of key 3, minted from a fresh open, verifies. */
	ck_assert_int_eq(yima_keyring_open(kdir, &mem, NULL), 0);
	yima_code_make(yima_keyring_mac(mem, 3), YIMA_KIND_ITEM, 3, 9, code);
	yima_keyring_free(mem);
	ck_assert_int_eq(yima_code_verify(kr, code, 24, &c, NULL), 0);
	ck_assert_uint_eq(c.key_id, 3);
	yima_keyring_free(kr);
	/* An in-memory keyring has nothing to reload. */
	memset(key, 1, sizeof(key));
	ck_assert_int_eq(yima_keyring_new(&mem), 0);
	ck_assert_int_eq(yima_keyring_add(mem, 1, key), 0);
	ck_assert_int_eq(yima_keyring_reload(mem, NULL, why), YIMA_EINVAL);
	yima_keyring_free(mem);
}
END_TEST

/* A reload that finds a bad keyring changes nothing. */
START_TEST(reload_refuses_bad_keyring)
{
	struct yima_keyring *kr;
	char why[YIMA_WHY_MAX], *k2 = tu_path(kdir, "keys/2.key");
	char *k1 = tu_path(kdir, "keys/1.key"), *orig;
	int added = -1;
	unsigned long n;
	int rc;

	ck_assert_int_eq(yima_keyring_open(kdir, &kr, NULL), 0);
	ck_assert_int_eq(yima_keyring_rotate(kdir, NULL, NULL), 0);
	ck_assert_int_eq(chmod(k2, 0644), 0);
	ck_assert_int_eq(yima_keyring_reload(kr, &added, why), YIMA_EPERM);
	ck_assert_ptr_nonnull(strstr(why, "chmod 600"));
	ck_assert_int_eq(added, -1);
	ck_assert_ptr_null(yima_keyring_mac(kr, 2));
	ck_assert_int_eq(chmod(k2, 0600), 0);
	/* Key 1 replaced on disk: not taken, and key 2 not either. */
	orig = read_rel("keys/1.key");
	ck_assert_int_eq(tu_write_file(k1, "00000000000000000000000000000000"
	    "00000000000000000000000000000000\n", 65), 0);
	ck_assert_int_eq(chmod(k1, 0600), 0);
	ck_assert_int_eq(yima_keyring_reload(kr, &added, why), YIMA_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "key 1"));
	ck_assert_ptr_null(yima_keyring_mac(kr, 2));
	ck_assert_int_eq(tu_write_file(k1, orig, strlen(orig)), 0);
	ck_assert_int_eq(chmod(k1, 0600), 0);
	/* Out of memory at any step: an error, no change, no leak. */
	for (n = 1; n < 40; n++) {
		yima_test_fail_alloc_(n);
		rc = yima_keyring_reload(kr, &added, why);
		yima_test_fail_alloc_(0);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, YIMA_ENOMEM);
		ck_assert_ptr_null(yima_keyring_mac(kr, 2));
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(added, 1);
	ck_assert_ptr_nonnull(yima_keyring_mac(kr, 2));
	yima_keyring_free(kr);
	free(orig);
	free(k1);
	free(k2);
}
END_TEST

Suite *
keyring_suite(void)
{
	Suite *s = suite_create("keyring");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_layout);
	tcase_add_test(tc, two_keyrings_differ);
	tcase_add_test(tc, rotate_keeps_old_keys);
	tcase_add_test(tc, loose_permissions_refused);
	tcase_add_test(tc, malformed_files_refused);
	tcase_add_test(tc, reserve_sequential_and_bounded);
	tcase_add_test(tc, reserve_concurrent_processes);
	tcase_add_test(tc, derive_separates_purposes);
	tcase_add_test(tc, reload_adds_rotated_keys);
	tcase_add_test(tc, reload_refuses_bad_keyring);
	suite_add_tcase(s, tc);
	return s;
}
