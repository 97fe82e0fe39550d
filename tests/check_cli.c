/* SPDX-License-Identifier: Apache-2.0 */
/* End-to-end tests of the yima-codegen command line, run as a subprocess. */
#define _GNU_SOURCE	/* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "testutil.h"

#define ARGS_MAX	64

static char *root;	/* per test case, removed by the unchecked teardown */
static char *tmp;	/* per test, under root */
static char *kr;	/* keyring made by keygen in tmp */

/*
 * Runs yima-codegen with the NULL-terminated args (argv[0] is added),
 * stdin read from the file in (or inherited when NULL). Returns the exit
 * status as tu_run does.
 */
static int
run_in(const char *in, char **out, char **err, const char *const *args)
{
	char *argv[ARGS_MAX + 2];
	int saved = -1, fd, rc;
	size_t n, i;

	argv[0] = strdup(tu_codegen());
	ck_assert_ptr_nonnull(argv[0]);
	for (n = 0; args[n] != NULL; n++) {
		ck_assert_uint_lt(n, ARGS_MAX);
		argv[n + 1] = strdup(args[n]);
		ck_assert_ptr_nonnull(argv[n + 1]);
	}
	argv[n + 1] = NULL;
	if (in != NULL) {
		ck_assert_int_ge(saved = dup(STDIN_FILENO), 0);
		ck_assert_int_ge(fd = open(in, O_RDONLY), 0);
		ck_assert_int_eq(dup2(fd, STDIN_FILENO), STDIN_FILENO);
		close(fd);
	}
	rc = tu_run(argv, out, err);
	if (in != NULL) {
		ck_assert_int_eq(dup2(saved, STDIN_FILENO), STDIN_FILENO);
		close(saved);
	}
	for (i = 0; i <= n; i++)
		free(argv[i]);
	return rc;
}

/* run_in() with the arguments given as a NULL-terminated list. */
#define cg(...)	cg_in(NULL, __VA_ARGS__)

/* Runs yima-codegen with stdin from the file in (NULL: inherited). */
static int
cg_in(const char *in, char **out, char **err, ...)
{
	const char *args[ARGS_MAX + 1];
	va_list ap;
	size_t n = 0;

	va_start(ap, err);
	while ((args[n] = va_arg(ap, const char *)) != NULL && n < ARGS_MAX)
		n++;
	va_end(ap);
	args[n] = NULL;
	return run_in(in, out, err, args);
}

/* Number of (non-overlapping) occurrences of needle in s. */
static int
count_str(const char *s, const char *needle)
{
	size_t nl = strlen(needle);
	int n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += nl;
	}
	return n;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static unsigned
mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path,
	    strerror(errno));
	return (unsigned)(st.st_mode & 07777);
}

/* Asserts that dir/name holds exactly want. */
static void
assert_file(const char *dir, const char *name, const char *want)
{
	char *p, *s;

	p = tu_path(dir, name);
	s = tu_read_file(p, NULL);
	ck_assert_msg(s != NULL, "cannot read %s", p);
	ck_assert_str_eq(s, want);
	free(s);
	free(p);
}

static void
put_file(const char *path, const char *text)
{
	ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
}

/*
 * Mints count codes of kind into tmp/name (extra flag may be NULL) and
 * returns codes.csv; codes[i] (24 chars + NUL) and urls[i] receive the
 * first up to max codes and URLs.
 */
static char *
mint_codes(const char *name, const char *kind, int count, const char *extra,
    char codes[][25], char urls[][128], int max)
{
	char num[16], *out, *err, *csv, *p, *line, *save, *path, *f;
	int rc, i = 0;

	snprintf(num, sizeof(num), "%d", count);
	out = tu_path(tmp, name);
	rc = cg(NULL, &err, "mint", "--keyring", kr, "--kind", kind,
	    "--count", num, "--domain", "yima.example", "--out", out,
	    "--no-sync", extra, (char *)NULL);
	ck_assert_msg(rc == 0, "mint exited %d: %s", rc, err);
	free(err);
	path = tu_path(out, "codes.csv");
	csv = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(csv);
	ck_assert_ptr_nonnull(p = strdup(csv));
	line = strtok_r(p, "\n", &save);
	ck_assert_str_eq(line, "serial,code,url");
	while ((line = strtok_r(NULL, "\n", &save)) != NULL && i < max) {
		ck_assert_ptr_nonnull(f = strchr(line, ','));
		ck_assert_uint_eq(strlen(f + 1), 25 + strlen(
		    "HTTPS://YIMA.EXAMPLE/C/") + 24);
		memcpy(codes[i], f + 1, 24);
		codes[i][24] = '\0';
		snprintf(urls[i], 128, "%s", f + 26);
		i++;
	}
	free(p);
	free(path);
	free(out);
	return csv;
}

static void
case_setup(void)
{
	root = tu_mkdtemp();
}

static void
case_teardown(void)
{
	tu_rmtree(root);
	free(root);
	root = NULL;
}

static void
test_setup(void)
{
	char *err;
	int rc;

	tmp = tu_path(root, "t.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	kr = tu_path(tmp, "kr");
	rc = cg(NULL, &err, "keygen", "--keyring", kr, (char *)NULL);
	ck_assert_msg(rc == 0, "keygen exited %d: %s", rc, err);
	free(err);
}

static void
test_teardown(void)
{
	tu_rmtree(tmp);
	free(tmp);
	free(kr);
	tmp = kr = NULL;
}

/* 1. Every bad mint value: exit 2, the flag named, nothing on disk. */

struct bad_flag {
	const char	*omit;		/* flag left out, or NULL */
	const char	*needle;	/* stderr must contain it */
	const char	*extra[5];	/* flags after the base ones */
};

#define D65 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.ccc"

static const struct bad_flag bad_flags[] = {
	{ NULL, "--count", { "--count", "0" } },
	{ NULL, "--count", { "--count", "-1" } },
	{ NULL, "--count", { "--count", "abc" } },
	{ NULL, "--count", { "--count", "1e6" } },
	{ NULL, "--count", { "--count", "+1" } },
	{ NULL, "--count", { "--count", "" } },
	{ NULL, "--count", { "--count", "1000000001" } },
	{ NULL, "--count", { "--count", "99999999999999999999999" } },
	{ NULL, "--kind", { "--kind", "inner" } },
	{ NULL, "--kind", { "--kind", "bottle" } },
	{ NULL, "--kind", { "--kind", "" } },
	{ NULL, "--domain", { "--domain", "" } },
	{ NULL, "--domain", { "--domain", "a b" } },
	{ NULL, "--domain", { "--domain", "-x.com" } },
	{ NULL, "--domain", { "--domain", "x..com" } },
	{ NULL, "--domain", { "--domain", D65 } },
	{ NULL, "--domain", { "--domain", "x.com:0" } },
	{ NULL, "--domain", { "--domain", "x.com:70000" } },
	{ NULL, "--domain", { "--domain", "\xc3\xa9.com" } },
	{ NULL, "--gtin", { "--gtin", "06901234567891" } },
	{ NULL, "--gtin", { "--gtin", "1234567" } },
	{ NULL, "--gtin", { "--gtin", "abcdefgh" } },
	{ NULL, "--mfg", { "--mfg", "2026-02-30" } },
	{ NULL, "--expiry", { "--expiry", "2026-13-01" } },
	{ NULL, "--mfg", { "--mfg", "26-01-01" } },
	{ NULL, "--mfg", { "--mfg", "1999-12-31" } },
	{ NULL, "--expiry", { "--mfg", "2026-05-01", "--expiry",
	    "2026-04-30" } },
	{ NULL, "--lot", { "--lot", "123456789012345678901" } },
	{ NULL, "--lot", { "--lot", "A,B" } },
	{ NULL, "--lot", { "--lot", "A B" } },
	{ NULL, "--line", { "--line", "123456789012345678901234567890123" } },
	{ NULL, "--ecc", { "--ecc", "X" } },
	{ NULL, "--ecc", { "--ecc", "MM" } },
	{ NULL, "--scale", { "--scale", "0" } },
	{ NULL, "--scale", { "--scale", "65" } },
	{ NULL, "--scale", { "--scale", "x" } },
	{ NULL, "--grid", { "--grid", "0x5" } },
	{ NULL, "--grid", { "--grid", "5x0" } },
	{ NULL, "--grid", { "--grid", "21x5" } },
	{ NULL, "--grid", { "--grid", "5x31" } },
	{ NULL, "--grid", { "--grid", "5" } },
	{ NULL, "--grid", { "--grid", "5x" } },
	{ NULL, "--margin", { "--margin", "-1" } },
	{ NULL, "--margin", { "--margin", "51" } },
	{ NULL, "--margin", { "--margin", "abc" } },
	{ NULL, "--margin", { "--margin", "nan" } },
	{ NULL, "--inner", { "--inner", "--kind", "box" } },
	{ "--keyring", "--keyring", { NULL } },
	{ "--kind", "--kind", { NULL } },
	{ "--count", "--count", { NULL } },
	{ "--domain", "--domain", { NULL } },
	{ "--out", "--out", { NULL } },
	{ NULL, "--bogus", { "--bogus" } },
	{ NULL, "stray", { "stray" } },
	{ NULL, "--svg", { "--svg", "--count", "1000001" } },
	{ NULL, "--png", { "--png", "--count", "1000001" } },
	{ NULL, "--pdf", { "--pdf", "--count", "100001" } },
};

START_TEST(test_mint_bad_flag)
{
	const struct bad_flag *b = &bad_flags[_i];
	const char *base[] = { "--keyring", NULL, "--kind", "item", "--count",
	    "1", "--domain", "x.com", "--out", NULL };
	const char *args[32];
	char *out, *err, *outdir, desc[256];
	size_t n = 0, i;
	int rc;

	outdir = tu_path(tmp, "out");
	base[1] = kr;
	base[9] = outdir;
	args[n++] = "mint";
	for (i = 0; i < sizeof(base) / sizeof(base[0]); i += 2) {
		if (b->omit != NULL && strcmp(b->omit, base[i]) == 0)
			continue;
		args[n++] = base[i];
		args[n++] = base[i + 1];
	}
	snprintf(desc, sizeof(desc), "row %d:", _i);
	for (i = 0; i < 5 && b->extra[i] != NULL; i++) {
		args[n++] = b->extra[i];
		snprintf(desc + strlen(desc), sizeof(desc) - strlen(desc),
		    " %s", b->extra[i]);
	}
	if (b->omit != NULL)
		snprintf(desc + strlen(desc), sizeof(desc) - strlen(desc),
		    " (without %s)", b->omit);
	args[n] = NULL;
	rc = run_in(NULL, &out, &err, args);
	ck_assert_msg(rc == 2, "%s: exit %d, want 2; stderr: %s", desc, rc,
	    err);
	ck_assert_msg(strstr(err, b->needle) != NULL,
	    "%s: stderr does not name %s: %s", desc, b->needle, err);
	ck_assert_msg(out[0] == '\0', "%s: stdout not empty: %s", desc, out);
	ck_assert_msg(!exists(outdir), "%s: %s was created", desc, outdir);
	/* No serial was reserved either. */
	assert_file(kr, "serial", "1\n");
	free(out);
	free(err);
	free(outdir);
}
END_TEST

/* The limits themselves are accepted, so the rejections above are exact. */
START_TEST(test_mint_limits_ok)
{
	char *err, *outdir;
	int rc;

	outdir = tu_path(tmp, "out");
	rc = cg(NULL, &err, "mint", "--keyring", kr, "--kind", "item",
	    "--count", "1", "--domain",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.cc",
	    "--out", outdir, "--gtin", "4006381333931", "--lot",
	    "12345678901234567890", "--line",
	    "12345678901234567890123456789012", "--mfg", "2024-02-29",
	    "--expiry", "2024-02-29", "--ecc", "h", "--scale", "64",
	    "--grid", "20x30", "--margin", "50", "--inner", "--no-sync",
	    (char *)NULL);
	ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
	free(err);
	free(outdir);
}
END_TEST

/* 2. keygen: files and modes; refusing to overwrite; rotation. */

START_TEST(test_keygen_layout)
{
	char *p, *key, *out, *err;
	size_t len, i;
	int rc;

	ck_assert_uint_eq(mode_of(kr), 0700);
	p = tu_path(kr, "keys/1.key");
	ck_assert_uint_eq(mode_of(p), 0600);
	key = tu_read_file(p, &len);
	ck_assert_ptr_nonnull(key);
	ck_assert_uint_eq(len, 65);
	for (i = 0; i < 64; i++)
		ck_assert_msg(strchr("0123456789abcdef", key[i]) != NULL &&
		    key[i] != '\0', "key byte %zu is '%c'", i, key[i]);
	ck_assert_int_eq(key[64], '\n');
	assert_file(kr, "active", "1\n");
	assert_file(kr, "serial", "1\n");

	/* A second keygen must not replace the key. */
	rc = cg(&out, &err, "keygen", "--keyring", kr, (char *)NULL);
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(err, kr) != NULL && strstr(err, "keygen") != NULL,
	    "stderr: %s", err);
	free(out);
	free(err);
	assert_file(kr, "keys/1.key", key);
	assert_file(kr, "active", "1\n");
	free(key);
	free(p);
}
END_TEST

START_TEST(test_keygen_rotate)
{
	char codes[2][25], urls[2][128], *csv, *out, *err, *k1, *k2, *p, *man;
	int rc;

	csv = mint_codes("before", "box", 1, NULL, codes, urls, 1);
	free(csv);

	rc = cg(&out, &err, "keygen", "--keyring", kr, "--rotate",
	    (char *)NULL);
	ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
	ck_assert_msg(strstr(out, "key 2") != NULL, "stdout: %s", out);
	free(out);
	free(err);
	assert_file(kr, "active", "2\n");
	p = tu_path(kr, "keys/2.key");
	ck_assert_uint_eq(mode_of(p), 0600);
	k2 = tu_read_file(p, NULL);
	free(p);
	p = tu_path(kr, "keys/1.key");
	k1 = tu_read_file(p, NULL);
	free(p);
	ck_assert_ptr_nonnull(k1);
	ck_assert_ptr_nonnull(k2);
	ck_assert_uint_eq(strlen(k2), 65);
	ck_assert_str_ne(k1, k2);
	free(k1);
	free(k2);

	/* The old code still verifies, under key 1. */
	rc = cg(&out, &err, "verify", "--keyring", kr, codes[0],
	    (char *)NULL);
	ck_assert_msg(rc == 0, "exit %d: %s%s", rc, out, err);
	ck_assert_msg(strstr(out, "valid kind=box serial=1 key_id=1") != NULL,
	    "stdout: %s", out);
	free(out);
	free(err);

	/* New codes are signed with key 2. */
	csv = mint_codes("after", "box", 1, NULL, codes + 1, urls + 1, 1);
	free(csv);
	p = tu_path(tmp, "after/manifest.json");
	man = tu_read_file(p, NULL);
	ck_assert_ptr_nonnull(man);
	ck_assert_msg(strstr(man, "\"key_id\": 2") != NULL, "manifest: %s",
	    man);
	free(man);
	free(p);
	rc = cg(&out, &err, "verify", "--keyring", kr, codes[0], codes[1],
	    (char *)NULL);
	ck_assert_msg(rc == 0, "exit %d: %s%s", rc, out, err);
	ck_assert_msg(strstr(out, "valid kind=box serial=2 key_id=2") != NULL,
	    "stdout: %s", out);
	ck_assert_int_eq(count_str(out, ": valid"), 2);
	free(out);
	free(err);
}
END_TEST

/* 3. A keyring readable by others is refused, before anything is written. */

static void
assert_refused(const char *code, const char *mode)
{
	char *out, *err, *outdir;
	int rc;

	outdir = tu_path(tmp, "loose");
	rc = cg(&out, &err, "mint", "--keyring", kr, "--kind", "item",
	    "--count", "1", "--domain", "x.com", "--out", outdir,
	    (char *)NULL);
	ck_assert_msg(rc == 1, "mint exit %d, want 1: %s", rc, err);
	ck_assert_msg(strstr(err, "chmod") != NULL &&
	    strstr(err, mode) != NULL, "mint stderr: %s", err);
	ck_assert_msg(!exists(outdir), "%s was created", outdir);
	free(out);
	free(err);

	rc = cg(&out, &err, "verify", "--keyring", kr, code, (char *)NULL);
	ck_assert_msg(rc == 1, "verify exit %d, want 1: %s", rc, err);
	ck_assert_msg(strstr(err, "chmod") != NULL &&
	    strstr(err, mode) != NULL, "verify stderr: %s", err);
	ck_assert_msg(strstr(out, "valid") == NULL, "verify stdout: %s", out);
	free(out);
	free(err);

	rc = cg(&out, &err, "keygen", "--keyring", kr, "--rotate",
	    (char *)NULL);
	ck_assert_msg(rc == 1, "rotate exit %d, want 1: %s", rc, err);
	ck_assert_msg(strstr(err, "chmod") != NULL, "rotate stderr: %s", err);
	free(out);
	free(err);
	assert_file(kr, "active", "1\n");
	assert_file(kr, "serial", "2\n");
	free(outdir);
}

START_TEST(test_loose_permissions)
{
	char codes[1][25], urls[1][128], *csv, *key;

	csv = mint_codes("ok", "item", 1, NULL, codes, urls, 1);
	free(csv);

	ck_assert_int_eq(chmod(kr, 0755), 0);
	assert_refused(codes[0], "0755");
	ck_assert_int_eq(chmod(kr, 0700), 0);

	key = tu_path(kr, "keys/1.key");
	ck_assert_int_eq(chmod(key, 0644), 0);
	assert_refused(codes[0], "0644");
	ck_assert_int_eq(chmod(key, 0600), 0);
	free(key);
}
END_TEST

/* 4. mint: a working batch; an existing directory is never overwritten. */

START_TEST(test_mint_happy)
{
	char codes[4][25], urls[4][128], want[128], *csv, *out, *err, *p;
	int rc, i;

	csv = mint_codes("batch", "box", 3, NULL, codes, urls, 4);
	ck_assert_int_eq(count_str(csv, "\n"), 4);
	ck_assert_msg(strncmp(csv, "serial,code,url\n1,", 18) == 0, "%s", csv);
	for (i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "HTTPS://YIMA.EXAMPLE/C/%.24s",
		    codes[i]);
		ck_assert_str_eq(urls[i], want);
		rc = cg(&out, &err, "verify", "--keyring", kr, codes[i],
		    (char *)NULL);
		ck_assert_msg(rc == 0, "exit %d: %s%s", rc, out, err);
		snprintf(want, sizeof(want), "valid kind=box serial=%d ",
		    i + 1);
		ck_assert_msg(strstr(out, want) != NULL, "stdout: %s", out);
		free(out);
		free(err);
	}
	free(csv);
	p = tu_path(tmp, "batch/manifest.json");
	ck_assert(exists(p));
	free(p);
	assert_file(kr, "serial", "4\n");
}
END_TEST

START_TEST(test_mint_out_not_empty)
{
	char *dir, *keep, *out, *err, *p;
	int rc;

	dir = tu_path(tmp, "full");
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	keep = tu_path(dir, "keep.txt");
	put_file(keep, "precious\n");
	rc = cg(&out, &err, "mint", "--keyring", kr, "--kind", "item",
	    "--count", "2", "--domain", "x.com", "--out", dir, "--no-sync",
	    (char *)NULL);
	ck_assert_msg(rc == 2, "exit %d, want 2: %s", rc, err);
	ck_assert_msg(strstr(err, "not empty") != NULL, "stderr: %s", err);
	free(out);
	free(err);
	assert_file(dir, "keep.txt", "precious\n");
	p = tu_path(dir, "codes.csv");
	ck_assert(!exists(p));
	free(p);
	assert_file(kr, "serial", "1\n");
	free(keep);
	free(dir);

	/* An existing empty directory is fine. */
	dir = tu_path(tmp, "empty");
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	rc = cg(&out, &err, "mint", "--keyring", kr, "--kind", "item",
	    "--count", "2", "--domain", "x.com", "--out", dir, "--no-sync",
	    (char *)NULL);
	ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
	free(out);
	free(err);
	p = tu_path(dir, "codes.csv");
	ck_assert(exists(p));
	free(p);
	free(dir);
}
END_TEST

/* 5. verify: the forms a scanner produces, bad codes, stdin, hostile input. */

START_TEST(test_verify_forms)
{
	char codes[3][25], urls[3][128], lower[25], spaced[40], bad[25];
	char *csv, *out, *err;
	int rc, i;

	csv = mint_codes("b", "item", 3, NULL, codes, urls, 3);
	free(csv);
	for (i = 0; i < 25; i++)
		lower[i] = (char)(codes[0][i] >= 'A' && codes[0][i] <= 'Z' ?
		    codes[0][i] - 'A' + 'a' : codes[0][i]);
	snprintf(spaced, sizeof(spaced), "  %s \t", codes[1]);
	rc = cg(&out, &err, "verify", "--keyring", kr, lower, spaced, urls[2],
	    (char *)NULL);
	ck_assert_msg(rc == 0, "exit %d: %s%s", rc, out, err);
	ck_assert_int_eq(count_str(out, ": valid kind=item serial="), 3);
	ck_assert_int_eq(count_str(out, "invalid"), 0);
	free(out);
	free(err);

	/* One character changed: the tag no longer matches. */
	memcpy(bad, codes[1], sizeof(bad));
	bad[23] = bad[23] == '0' ? '1' : '0';
	rc = cg(&out, &err, "verify", "--keyring", kr, bad, (char *)NULL);
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "invalid") != NULL, "stdout: %s", out);
	free(out);
	free(err);

	/* Several codes, one bad: exit 1 and exactly one invalid line. */
	rc = cg(&out, &err, "verify", "--keyring", kr, codes[0], bad, codes[2],
	    (char *)NULL);
	ck_assert_int_eq(rc, 1);
	ck_assert_int_eq(count_str(out, "\n"), 3);
	ck_assert_int_eq(count_str(out, ": invalid"), 1);
	ck_assert_int_eq(count_str(out, ": valid"), 2);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_verify_stdin)
{
	char codes[3][25], urls[3][128], *csv, *in, *out, *err, *text, *big;
	size_t len;
	int rc;

	csv = mint_codes("b", "pallet", 3, NULL, codes, urls, 3);
	free(csv);
	in = tu_path(tmp, "in.txt");

	/* All good, CRLF and a last line without a newline included. */
	ck_assert(asprintf(&text, "%s\n%s\r\n%s", codes[0], urls[1],
	    codes[2]) > 0);
	put_file(in, text);
	free(text);
	rc = cg_in(in, &out, &err, "verify", "--keyring", kr, "-",
	    (char *)NULL);
	ck_assert_msg(rc == 0, "exit %d: %s%s", rc, out, err);
	ck_assert_int_eq(count_str(out, ": valid kind=pallet"), 3);
	free(out);
	free(err);

	/* One bad line among good ones. */
	ck_assert(asprintf(&text, "%s\nNOT-A-CODE\n%s\n%s\n", codes[0],
	    codes[1], codes[2]) > 0);
	put_file(in, text);
	free(text);
	rc = cg_in(in, &out, &err, "verify", "--keyring", kr, "-",
	    (char *)NULL);
	ck_assert_int_eq(rc, 1);
	ck_assert_int_eq(count_str(out, ": valid"), 3);
	ck_assert_int_eq(count_str(out, ": invalid"), 1);
	free(out);
	free(err);

	/* An over-long line is reported once; the next line still counts. */
	len = 5000;
	ck_assert_ptr_nonnull(big = malloc(len + 64));
	memset(big, 'A', len);
	snprintf(big + len, 64, "\n%s\n", codes[0]);
	put_file(in, big);
	free(big);
	rc = cg_in(in, &out, &err, "verify", "--keyring", kr, "-",
	    (char *)NULL);
	ck_assert_int_eq(rc, 1);
	ck_assert_int_eq(count_str(out, "invalid"), 1);
	ck_assert_int_eq(count_str(out, ": valid kind=pallet serial=1 "), 1);
	ck_assert_int_eq(count_str(out, "\n"), 2);
	free(out);
	free(err);
	free(in);
}
END_TEST

START_TEST(test_verify_hostile)
{
	char *big, *out, *err, *nl;
	int rc;

	ck_assert_ptr_nonnull(big = malloc(10001));
	memset(big, 'Z', 10000);
	big[10000] = '\0';
	rc = cg(&out, &err, "verify", "--keyring", kr, big, (char *)NULL);
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "invalid") != NULL, "stdout: %.300s", out);
	ck_assert_msg(strlen(out) < 400, "output not truncated: %zu bytes",
	    strlen(out));
	ck_assert_ptr_null(strstr(out, "ZZZZZZZZZZ" "ZZZZZZZZZZ" "ZZZZZZZZZZ"
	    "ZZZZZZZZZZ" "ZZZZZZZZZZ" "ZZZZZZZZZZ" "ZZZZZZZZZZ" "ZZZZZZZZZZ"
	    "ZZZZZZZZZZ" "ZZZZZZZZZZ" "Z"));
	free(out);
	free(err);
	free(big);

	/* Terminal escapes in untrusted input are not echoed. */
	rc = cg(&out, &err, "verify", "--keyring", kr, "\x1b[2J\x07\x7f",
	    (char *)NULL);
	ck_assert_int_eq(rc, 1);
	ck_assert_ptr_null(strchr(out, '\x1b'));
	ck_assert_ptr_null(strchr(out, '\x07'));
	ck_assert_ptr_null(strchr(out, '\x7f'));
	ck_assert_ptr_nonnull(nl = strchr(out, '\n'));
	ck_assert_str_eq(nl + 1, "");
	free(out);
	free(err);
}
END_TEST

/* 6. read: PNGs from mint decode and verify; the failure cases. */

/* A valid 16x16 8-bit grey PNG, all white. */
static const unsigned char white_png[] = {
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00,
	0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
	0x00, 0x10, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x98, 0xa0, 0xbd,
	0x00, 0x00, 0x00, 0x0f, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63,
	0xf8, 0x8f, 0x06, 0x18, 0x46, 0xb6, 0x00, 0x00, 0x80, 0xf9, 0xff,
	0x01, 0x91, 0xeb, 0x20, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
	0x4e, 0x44, 0xae, 0x42, 0x60, 0x82
};

START_TEST(test_read)
{
	char codes[2][25], urls[2][128], *csv, *out, *err, *p1, *p2, *junk;
	char *white, *other;
	int rc;

	csv = mint_codes("imgs", "box", 2, "--png", codes, urls, 2);
	free(csv);
	p1 = tu_path(tmp, "imgs/png/1.png");
	p2 = tu_path(tmp, "imgs/png/2.png");
	rc = cg(&out, &err, "read", "--keyring", kr, p1, p2, (char *)NULL);
	ck_assert_msg(rc == 0, "exit %d: %s%s", rc, out, err);
	ck_assert_int_eq(count_str(out, ": valid kind=box serial="), 2);
	ck_assert_ptr_nonnull(strstr(out, urls[0]));
	ck_assert_ptr_nonnull(strstr(out, urls[1]));
	free(out);
	free(err);

	junk = tu_path(tmp, "junk.png");
	put_file(junk, "this is not a PNG\n");
	rc = cg(&out, &err, "read", "--keyring", kr, junk, (char *)NULL);
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "unreadable") != NULL, "stdout: %s", out);
	free(out);
	free(err);

	white = tu_path(tmp, "white.png");
	ck_assert_int_eq(tu_write_file(white, white_png, sizeof(white_png)),
	    0);
	rc = cg(&out, &err, "read", "--keyring", kr, white, p1, (char *)NULL);
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "no QR code found") != NULL, "stdout: %s",
	    out);
	ck_assert_int_eq(count_str(out, ": valid"), 1);
	free(out);
	free(err);

	/* Another keyring's key 1 is not this keyring's key 1. */
	other = tu_path(tmp, "other");
	rc = cg(NULL, NULL, "keygen", "--keyring", other, (char *)NULL);
	ck_assert_int_eq(rc, 0);
	rc = cg(&out, &err, "read", "--keyring", other, p1, (char *)NULL);
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "invalid") != NULL, "stdout: %s", out);
	free(out);
	free(err);

	free(other);
	free(white);
	free(junk);
	free(p1);
	free(p2);
}
END_TEST

/* 7. help, version, usage errors. */

START_TEST(test_help)
{
	static const char *const cmds[][3] = {
		{ "help", NULL, "usage:" },
		{ "--help", NULL, "usage:" },
		{ "help", "mint", "--grid" },
		{ "mint", "--help", "--grid" },
		{ "keygen", "--help", "--rotate" },
		{ "verify", "--help", "usage:" },
		{ "read", "--help", "usage:" },
		{ "version", NULL, "yima-codegen " },
	};
	char *out, *err;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		rc = cg(&out, &err, cmds[i][0], cmds[i][1], (char *)NULL);
		ck_assert_msg(rc == 0, "%s %s: exit %d", cmds[i][0],
		    cmds[i][1] ? cmds[i][1] : "", rc);
		ck_assert_msg(strstr(out, cmds[i][2]) != NULL,
		    "%s: stdout lacks %s: %s", cmds[i][0], cmds[i][2], out);
		ck_assert_msg(err[0] == '\0', "%s: stderr: %s", cmds[i][0],
		    err);
		free(out);
		free(err);
	}

	rc = cg(&out, &err, (char *)NULL);
	ck_assert_int_eq(rc, 2);
	ck_assert_msg(strstr(err, "usage:") != NULL, "stderr: %s", err);
	ck_assert_str_eq(out, "");
	free(out);
	free(err);

	rc = cg(&out, &err, "frobnicate", (char *)NULL);
	ck_assert_int_eq(rc, 2);
	ck_assert_msg(strstr(err, "frobnicate") != NULL, "stderr: %s", err);
	ck_assert_str_eq(out, "");
	free(out);
	free(err);

	rc = cg(&out, &err, "verify", "--keyring", kr, (char *)NULL);
	ck_assert_int_eq(rc, 2);
	free(out);
	free(err);
	rc = cg(&out, &err, "keygen", (char *)NULL);
	ck_assert_int_eq(rc, 2);
	free(out);
	free(err);
}
END_TEST

/* 8. Progress goes to stderr only when asked (or on a terminal). */

START_TEST(test_progress)
{
	char *out, *err, *dir;
	int rc;

	dir = tu_path(tmp, "p1");
	rc = cg(&out, &err, "mint", "--keyring", kr, "--kind", "item",
	    "--count", "200000", "--domain", "x.com", "--out", dir,
	    "--no-sync", "--progress", (char *)NULL);
	ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
	ck_assert_msg(strstr(err, "codes:") != NULL &&
	    strstr(err, "/s") != NULL && strstr(err, "200000/200000") != NULL,
	    "stderr: %s", err);
	free(out);
	free(err);
	free(dir);

	dir = tu_path(tmp, "p2");
	rc = cg(&out, &err, "mint", "--keyring", kr, "--kind", "item",
	    "--count", "200000", "--domain", "x.com", "--out", dir,
	    "--no-sync", (char *)NULL);
	ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
	ck_assert_str_eq(err, "");
	ck_assert_msg(strstr(out, "200000 item codes, serials 200001-400000")
	    != NULL, "stdout: %s", out);
	free(out);
	free(err);
	free(dir);
}
END_TEST

static TCase *
tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_set_timeout(tc, 30);
	return tc;
}

Suite *cli_suite(void);

Suite *
cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc;

	tc = tcase("mint_flags");
	tcase_add_loop_test(tc, test_mint_bad_flag, 0,
	    (int)(sizeof(bad_flags) / sizeof(bad_flags[0])));
	tcase_add_test(tc, test_mint_limits_ok);
	suite_add_tcase(s, tc);

	tc = tcase("keygen");
	tcase_add_test(tc, test_keygen_layout);
	tcase_add_test(tc, test_keygen_rotate);
	tcase_add_test(tc, test_loose_permissions);
	suite_add_tcase(s, tc);

	tc = tcase("mint");
	tcase_add_test(tc, test_mint_happy);
	tcase_add_test(tc, test_mint_out_not_empty);
	tcase_add_test(tc, test_progress);
	suite_add_tcase(s, tc);

	tc = tcase("verify");
	tcase_add_test(tc, test_verify_forms);
	tcase_add_test(tc, test_verify_stdin);
	tcase_add_test(tc, test_verify_hostile);
	suite_add_tcase(s, tc);

	tc = tcase("read");
	tcase_add_test(tc, test_read);
	suite_add_tcase(s, tc);

	tc = tcase("usage");
	tcase_add_test(tc, test_help);
	suite_add_tcase(s, tc);
	return s;
}
