/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of minting and the manifest: files, pairing, tamper, crashes. */
#define _GNU_SOURCE	/* asprintf */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <openssl/evp.h>

#include "yima/code.h"
#include "yima/dl.h"
#include "yima/err.h"
#include "yima/keyring.h"
#include "yima/manifest.h"
#include "yima/mint.h"
#include "yima/read.h"

#include "testutil.h"

Suite *mint_suite(void);

static char *tmp;
static char *kdir;
static struct yima_keyring *kr;

static void
setup(void)
{
	tmp = tu_mkdtemp();
	kdir = tu_path(tmp, "kr");
	ck_assert_int_eq(yima_keyring_create(kdir, NULL, NULL), 0);
	ck_assert_int_eq(yima_keyring_open(kdir, &kr, NULL), 0);
}

static void
teardown(void)
{
	yima_keyring_free(kr);
	tu_rmtree(tmp);
	free(kdir);
	free(tmp);
}

static void
opts_for(struct yima_mint_opts *o, const char *out, uint64_t count)
{
	yima_mint_opts_init(o);
	o->kind = YIMA_KIND_ITEM;
	o->count = count;
	o->domain = "yima.example.com";
	o->out_dir = out;
}

static int
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void
sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n, i;

	ck_assert_int_eq(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/* Splits a CSV text into lines in place; returns the count. */
static size_t
lines_of(char *text, char **lines, size_t max)
{
	size_t n = 0;
	char *p = text, *nl;

	while (*p != '\0' && n < max) {
		ck_assert_ptr_nonnull(nl = strchr(p, '\n'));
		*nl = '\0';
		lines[n++] = p;
		p = nl + 1;
	}
	return n;
}

START_TEST(csv_and_manifest)
{
	char *out = tu_path(tmp, "b"), *p, *csv, *inner, *lines[64], *il[64];
	char hex[65], url[YIMA_URL_MAX], code[32], icode[32], *mj;
	struct yima_mint_opts o;
	struct yima_manifest m, back;
	struct yima_code c;
	unsigned long long serial, iserial;
	size_t n, len, i;

	opts_for(&o, out, 20);
	o.inner = 1;
	o.gtin = "6901234567892";
	o.lot = "L2026-11";
	o.line = "LINE-3";
	o.mfg = "2026-11-01";
	o.expiry = "2028-10-31";
	ck_assert_int_eq(yima_mint(kr, &o, &m, NULL), 0);
	ck_assert_uint_eq(m.first_serial, 1);
	ck_assert_uint_eq(m.inner_first, 21);
	ck_assert_str_eq(m.gtin, "06901234567892");
	ck_assert_str_eq(m.domain, "YIMA.EXAMPLE.COM");

	p = tu_path(out, "codes.csv");
	ck_assert_ptr_nonnull(csv = tu_read_file(p, &len));
	free(p);
	sha256_hex(csv, len, hex);
	ck_assert_str_eq(hex, m.codes_sha256);
	n = lines_of(csv, lines, 64);
	ck_assert_uint_eq(n, 21);
	ck_assert_str_eq(lines[0], "serial,code,url");
	p = tu_path(out, "inner.csv");
	ck_assert_ptr_nonnull(inner = tu_read_file(p, &len));
	free(p);
	sha256_hex(inner, len, hex);
	ck_assert_str_eq(hex, m.inner_sha256);
	ck_assert_uint_eq(lines_of(inner, il, 64), 21);
	ck_assert_str_eq(il[0], "item_serial,inner_code,inner_url");
	for (i = 1; i < n; i++) {
		ck_assert_int_eq(sscanf(lines[i], "%llu,%24[^,],%99s", &serial,
		    code, url), 3);
		ck_assert_uint_eq(serial, i);
		ck_assert_int_eq(yima_code_verify(kr, code, 24, &c, NULL), 0);
		ck_assert_uint_eq(c.serial, serial);
		ck_assert_int_eq(c.kind, YIMA_KIND_ITEM);
		ck_assert_str_eq(url + strlen(url) - 24, code);
		ck_assert_int_eq(strncmp(url, "HTTPS://YIMA.EXAMPLE.COM/C/",
		    27), 0);
		/* The cap-inside code pairs by offset and is its own code. */
		ck_assert_int_eq(sscanf(il[i], "%llu,%24[^,],", &iserial,
		    icode), 2);
		ck_assert_uint_eq(iserial, serial);
		ck_assert_int_eq(yima_code_verify(kr, icode, 24, &c, NULL), 0);
		ck_assert_int_eq(c.kind, YIMA_KIND_INNER);
		ck_assert_uint_eq(c.serial, m.inner_first + i - 1);
		ck_assert_str_ne(icode, code);
	}
	p = tu_path(out, "manifest.json");
	ck_assert_ptr_nonnull(mj = tu_read_file(p, &len));
	free(p);
	ck_assert_int_eq(yima_manifest_parse(mj, len, kr, &back, NULL), 0);
	ck_assert_str_eq(back.batch, m.batch);
	ck_assert_uint_eq(back.first_serial, m.first_serial);
	ck_assert_uint_eq(back.count, m.count);
	ck_assert_uint_eq(back.inner_first, m.inner_first);
	ck_assert_int_eq(back.inner, 1);
	ck_assert_int_eq(back.kind, YIMA_KIND_ITEM);
	ck_assert_uint_eq(back.key_id, m.key_id);
	ck_assert_str_eq(back.gtin, m.gtin);
	ck_assert_str_eq(back.lot, "L2026-11");
	ck_assert_str_eq(back.line, "LINE-3");
	ck_assert_str_eq(back.mfg, "2026-11-01");
	ck_assert_str_eq(back.expiry, "2028-10-31");
	ck_assert_str_eq(back.domain, m.domain);
	ck_assert_str_eq(back.created, m.created);
	ck_assert_str_eq(back.codes_sha256, m.codes_sha256);
	ck_assert_str_eq(back.inner_sha256, m.inner_sha256);
	ck_assert_ptr_null(strstr(mj, "\"key\""));
	free(mj);
	free(csv);
	free(inner);
	free(out);
}
END_TEST

/* Replaces the first occurrence of from by to in s (same buffer). */
static int
replace(char *s, size_t cap, const char *from, const char *to)
{
	char *p = strstr(s, from), *rest;
	size_t fl = strlen(from), tl = strlen(to);

	if (p == NULL || strlen(s) - fl + tl + 1 > cap)
		return -1;
	rest = strdup(p + fl);
	ck_assert_ptr_nonnull(rest);
	memcpy(p, to, tl);
	strcpy(p + tl, rest);
	free(rest);
	return 0;
}

START_TEST(manifest_tamper_detected)
{
	char *out = tu_path(tmp, "b"), *p, *orig, buf[8192], why[YIMA_WHY_MAX];
	struct yima_mint_opts o;
	struct yima_manifest m, back;
	struct yima_keyring *other;
	uint8_t key[32];
	size_t len, i;
	static const char *edits[][2] = {
		{ "\"count\": 5", "\"count\": 6" },
		{ "\"first_serial\": 1,", "\"first_serial\": 2," },
		{ "\"lot\": \"A1\"", "\"lot\": \"A2\"" },
		{ "\"kind\": \"item\"", "\"kind\": \"box\"" },
		{ "\"domain\": \"YIMA", "\"domain\": \"EVIL" },
		{ "\"format\"", "\"extra\": 1, \"format\"" },
	};

	opts_for(&o, out, 5);
	o.lot = "A1";
	ck_assert_int_eq(yima_mint(kr, &o, &m, NULL), 0);
	p = tu_path(out, "manifest.json");
	ck_assert_ptr_nonnull(orig = tu_read_file(p, &len));
	free(p);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", orig);
		ck_assert_msg(replace(buf, sizeof(buf), edits[i][0],
		    edits[i][1]) == 0, "no '%s' in manifest", edits[i][0]);
		ck_assert_int_eq(yima_manifest_parse(buf, strlen(buf), kr,
		    &back, why), YIMA_EBADTAG);
	}
	/* Not signed by this keyring, or by a key it lacks. */
	memset(key, 5, sizeof(key));
	ck_assert_int_eq(yima_keyring_new(&other), 0);
	ck_assert_int_eq(yima_keyring_add(other, 1, key), 0);
	ck_assert_int_eq(yima_manifest_parse(orig, len, other, &back, why),
	    YIMA_EBADTAG);
	yima_keyring_free(other);
	snprintf(buf, sizeof(buf), "%s", orig);
	ck_assert_int_eq(replace(buf, sizeof(buf), "\"key_id\": 1",
	    "\"key_id\": 9"), 0);
	ck_assert_int_eq(yima_manifest_parse(buf, strlen(buf), kr, &back,
	    why), YIMA_ENOKEY);
	/* Malformed documents are refused with a reason, never a crash. */
	ck_assert_int_eq(yima_manifest_parse("[]", 2, kr, &back, why),
	    YIMA_EINVAL);
	ck_assert_int_eq(yima_manifest_parse("{", 1, kr, &back, why),
	    YIMA_EINVAL);
	snprintf(buf, sizeof(buf), "%s", orig);
	ck_assert_int_eq(replace(buf, sizeof(buf), "\"count\": 5",
	    "\"count\": 5, \"count\": 5"), 0);
	ck_assert_int_eq(yima_manifest_parse(buf, strlen(buf), kr, &back,
	    why), YIMA_EINVAL);
	snprintf(buf, sizeof(buf), "%s", orig);
	ck_assert_int_eq(replace(buf, sizeof(buf), "\"count\": 5",
	    "\"count\": -5"), 0);
	ck_assert_int_eq(yima_manifest_parse(buf, strlen(buf), kr, &back,
	    why), YIMA_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "count"));
	ck_assert_int_eq(yima_manifest_parse(orig, YIMA_MANIFEST_MAX + 1, kr,
	    &back, why), YIMA_EINVAL);
	/* Every truncation (bar the final newline) is refused. */
	for (i = 0; i + 1 < len; i++)
		ck_assert_int_ne(yima_manifest_parse(orig, i, kr, &back, NULL),
		    0);
	ck_assert_int_eq(yima_manifest_parse(orig, len, kr, &back, why), 0);
	free(orig);
	free(out);
}
END_TEST

START_TEST(out_dir_never_overwritten)
{
	char *out = tu_path(tmp, "b"), *f = tu_path(out, "keep.txt"), *s;
	char *empty = tu_path(tmp, "empty"), *bad = tu_path(tmp, "no/such");
	char why[YIMA_WHY_MAX], *serial = tu_path(kdir, "serial");
	struct yima_mint_opts o;

	ck_assert_int_eq(mkdir(out, 0755), 0);
	ck_assert_int_eq(tu_write_file(f, "precious", 8), 0);
	opts_for(&o, out, 3);
	ck_assert_int_eq(yima_mint(kr, &o, NULL, why), YIMA_EEXIST);
	ck_assert_ptr_nonnull(strstr(why, "not empty"));
	ck_assert_ptr_nonnull(s = tu_read_file(f, NULL));
	ck_assert_str_eq(s, "precious");
	free(s);
	/* The refusal reserved nothing. */
	ck_assert_ptr_nonnull(s = tu_read_file(serial, NULL));
	ck_assert_str_eq(s, "1\n");
	free(s);
	/* A missing parent is an error that leaves nothing behind. */
	opts_for(&o, bad, 3);
	ck_assert_int_eq(yima_mint(kr, &o, NULL, why), YIMA_EIO);
	ck_assert(!exists(bad));
	/* An existing empty directory is fine. */
	ck_assert_int_eq(mkdir(empty, 0755), 0);
	opts_for(&o, empty, 3);
	ck_assert_int_eq(yima_mint(kr, &o, NULL, why), 0);
	free(out);
	free(f);
	free(empty);
	free(bad);
	free(serial);
}
END_TEST

/* A write failure mid-mint (file size limit) removes the partial batch. */
START_TEST(failure_mid_mint_cleans_up)
{
	char *out = tu_path(tmp, "b"), why[YIMA_WHY_MAX];
	struct yima_mint_opts o;
	struct rlimit rl = { 256 * 1024, 256 * 1024 };
	int status;
	pid_t pid;

	opts_for(&o, out, 100000);
	o.nosync = 1;
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		_exit(yima_mint(kr, &o, NULL, why) == YIMA_EIO &&
		    strstr(why, "codes.csv") != NULL ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(!exists(out));
	free(out);
}
END_TEST

static uint64_t
last_serial_in(const char *csvpath)
{
	char *s = tu_read_file(csvpath, NULL), *p;
	unsigned long long v = 0;

	ck_assert_ptr_nonnull(s);
	/* The last complete line. */
	p = strrchr(s, '\n');
	ck_assert_ptr_nonnull(p);
	*p = '\0';
	p = strrchr(s, '\n');
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p + 1, "%llu,", &v), 1);
	free(s);
	return v;
}

static off_t
size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* SIGKILL half-way: the next mint starts after everything reserved. */
START_TEST(killed_mint_never_reuses_serials)
{
	char *out = tu_path(tmp, "killed"), *csv = tu_path(out, "codes.csv");
	char *out2 = tu_path(tmp, "next"), *mf = tu_path(out, "manifest.json");
	struct yima_mint_opts o;
	struct yima_manifest m;
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	uint64_t last;
	int status, i;
	pid_t pid;

	opts_for(&o, out, 200000000);
	o.nosync = 1;
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0)
		_exit(yima_mint(kr, &o, NULL, NULL) == 0 ? 0 : 1);
	for (i = 0; i < 2000 && size_of(csv) < 4 * 1024 * 1024; i++)
		nanosleep(&ts, NULL);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	ck_assert_msg(size_of(csv) > 0, "the killed mint wrote nothing");
	ck_assert(!exists(mf));		/* unfinished batch is recognisable */
	last = last_serial_in(csv);
	ck_assert_uint_gt(last, 1000);

	opts_for(&o, out2, 10);
	ck_assert_int_eq(yima_mint(kr, &o, &m, NULL), 0);
	ck_assert_uint_gt(m.first_serial, last);
	ck_assert_uint_eq(m.first_serial, 200000001);
	free(out);
	free(out2);
	free(csv);
	free(mf);
}
END_TEST

/* Two processes minting at once get disjoint serial ranges. */
START_TEST(concurrent_mints_disjoint)
{
	char *outs[2], *p, *j;
	struct yima_manifest m[2];
	struct yima_mint_opts o;
	pid_t pid[2];
	int i, status;
	size_t len;

	for (i = 0; i < 2; i++) {
		ck_assert(asprintf(&outs[i], "%s/c%d", tmp, i) > 0);
		ck_assert_int_ge(pid[i] = fork(), 0);
		if (pid[i] == 0) {
			opts_for(&o, outs[i], 50000);
			o.nosync = 1;
			o.kind = i ? YIMA_KIND_BOX : YIMA_KIND_ITEM;
			_exit(yima_mint(kr, &o, NULL, NULL) == 0 ? 0 : 1);
		}
	}
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		p = tu_path(outs[i], "manifest.json");
		ck_assert_ptr_nonnull(j = tu_read_file(p, &len));
		ck_assert_int_eq(yima_manifest_parse(j, len, kr, &m[i], NULL),
		    0);
		ck_assert_uint_eq(m[i].count, 50000);
		free(p);
		free(j);
		free(outs[i]);
	}
	ck_assert(m[0].first_serial + 50000 <= m[1].first_serial ||
	    m[1].first_serial + 50000 <= m[0].first_serial);
	ck_assert_uint_eq(m[0].first_serial + m[1].first_serial,
	    1 + 50001);
}
END_TEST

struct found {
	char	text[256];
	int	n;
};

static void
on_symbol(void *ctx, const char *data, size_t len)
{
	struct found *f = ctx;

	if (len < sizeof(f->text)) {
		memcpy(f->text, data, len);
		f->text[len] = '\0';
	}
	f->n++;
}

/* png/SERIAL.png of batch out holds one symbol, url, which verifies. */
static void
png_verifies(const char *out, unsigned long long serial, const char *url,
    struct yima_code *c)
{
	char name[64], *p, why[YIMA_WHY_MAX];
	struct found f;
	int nfound;

	snprintf(name, sizeof(name), "png/%llu.png", serial);
	p = tu_path(out, name);
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(yima_read_png_file(p, on_symbol, &f, &nfound, why),
	    0);
	free(p);
	ck_assert_int_eq(nfound, 1);
	ck_assert_str_eq(f.text, url);
	ck_assert_int_eq(yima_code_verify(kr, f.text, strlen(f.text), c, why),
	    0);
	ck_assert_uint_eq(c->serial, serial);
}

/* Mint, print to PNG, read back with zbar, verify: the whole loop. */
START_TEST(png_roundtrip_and_pdf)
{
	char *out = tu_path(tmp, "b"), *p, *csv, *lines[16], *pdf, *svg;
	char name[64], code[32], url[YIMA_URL_MAX], why[YIMA_WHY_MAX];
	struct yima_mint_opts o;
	struct yima_manifest m;
	struct yima_code c;
	struct found f;
	unsigned long long serial;
	size_t n, i, len;
	int nfound;

	opts_for(&o, out, 6);
	o.png = o.svg = o.pdf = 1;
	o.inner = 1;
	ck_assert_int_eq(yima_mint(kr, &o, &m, why), 0);
	p = tu_path(out, "codes.csv");
	ck_assert_ptr_nonnull(csv = tu_read_file(p, NULL));
	free(p);
	n = lines_of(csv, lines, 16);
	ck_assert_uint_eq(n, 7);
	for (i = 1; i < n; i++) {
		ck_assert_int_eq(sscanf(lines[i], "%llu,%24[^,],%99s", &serial,
		    code, url), 3);
		png_verifies(out, serial, url, &c);
		snprintf(name, sizeof(name), "svg/%llu.svg", serial);
		p = tu_path(out, name);
		ck_assert_ptr_nonnull(svg = tu_read_file(p, NULL));
		ck_assert_ptr_nonnull(strstr(svg, "<svg"));
		free(svg);
		free(p);
		snprintf(name, sizeof(name), "inner-png/%llu.png",
		    (unsigned long long)(m.inner_first + i - 1));
		p = tu_path(out, name);
		memset(&f, 0, sizeof(f));
		ck_assert_int_eq(yima_read_png_file(p, on_symbol, &f, &nfound,
		    why), 0);
		ck_assert_int_eq(yima_code_verify(kr, f.text, strlen(f.text),
		    &c, why), 0);
		ck_assert_int_eq(c.kind, YIMA_KIND_INNER);
		free(p);
	}
	p = tu_path(out, "labels.pdf");
	ck_assert_ptr_nonnull(pdf = tu_read_file(p, &len));
	ck_assert_uint_gt(len, 1000);
	ck_assert_int_eq(memcmp(pdf, "%PDF-", 5), 0);
	free(pdf);
	free(p);
	p = tu_path(out, "inner-labels.pdf");
	ck_assert(exists(p));
	free(p);
	free(csv);
	free(out);
}
END_TEST

/*
 * --format dl: items as GS1 Digital Link URIs, each S the one dl.h makes
 * for its GTIN, read back from its PNG with zbar and verified; cap codes
 * stay /C/; the manifest says so and parses back; pallets, and items
 * without a GTIN, are refused.
 */
START_TEST(dl_mint_roundtrip)
{
	char *out = tu_path(tmp, "dl"), *p, *csv, *lines[16], *svg;
	char s[32], url[160], want[YIMA_DL_URL_MAX];
	char why[YIMA_WHY_MAX], *json;
	struct yima_mint_opts o;
	struct yima_manifest m, back;
	struct yima_code c;
	unsigned long long serial;
	size_t n, i, len;

	opts_for(&o, out, 5);
	o.gtin = "9520123456788";
	o.dl = o.png = o.svg = o.inner = o.pdf = 1;
	ck_assert_msg(yima_mint(kr, &o, &m, why) == 0, "%s", why);
	ck_assert_int_eq(m.dl, 1);
	p = tu_path(out, "codes.csv");
	ck_assert_ptr_nonnull(csv = tu_read_file(p, NULL));
	free(p);
	n = lines_of(csv, lines, 16);
	ck_assert_uint_eq(n, 6);
	for (i = 1; i < n; i++) {
		ck_assert_int_eq(sscanf(lines[i], "%llu,%31[^,],%159s", &serial,
		    s, url), 3);
		ck_assert_uint_eq(strlen(s), YIMA_DL_LEN);
		yima_dl_url("YIMA.EXAMPLE.COM", "09520123456788", s, want);
		ck_assert_str_eq(url, want);
		png_verifies(out, serial, url, &c);
		ck_assert_int_eq(c.kind, YIMA_KIND_ITEM);
		ck_assert_str_eq(c.gtin, "09520123456788");
		/* The SVG label says its GS1 elements under the symbol. */
		snprintf(want, sizeof(want), "svg/%llu.svg", serial);
		p = tu_path(out, want);
		ck_assert_ptr_nonnull(svg = tu_read_file(p, NULL));
		snprintf(want, sizeof(want), ">(01) 09520123456788 (21) %s"
		    "</text>", s);
		ck_assert_msg(strstr(svg, want) != NULL, "%s", svg);
		free(svg);
		free(p);
	}
	free(csv);
	p = tu_path(out, "inner.csv");
	ck_assert_ptr_nonnull(csv = tu_read_file(p, NULL));
	ck_assert_ptr_nonnull(strstr(csv, "HTTPS://YIMA.EXAMPLE.COM/C/"));
	free(csv);
	free(p);
	p = tu_path(out, "manifest.json");
	ck_assert_ptr_nonnull(json = tu_read_file(p, &len));
	ck_assert_int_eq(yima_manifest_parse(json, len, kr, &back, why), 0);
	ck_assert_int_eq(back.dl, 1);
	free(json);
	free(p);
	free(out);
	out = tu_path(tmp, "dl2");
	opts_for(&o, out, 5);
	o.dl = 1;
	ck_assert_int_eq(yima_mint(kr, &o, &m, why), YIMA_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "--gtin"));
	o.gtin = "9520123456788";
	o.kind = YIMA_KIND_PALLET;
	ck_assert_int_eq(yima_mint(kr, &o, &m, why), YIMA_EINVAL);
	free(out);
}
END_TEST

/*
 * The fit of a DL item code, measured from its PNG (one pixel a module,
 * a quiet zone of 4): QR version 3 at ECC M with a domain of 12
 * characters, version 4 with one of 41.
 */
START_TEST(dl_qr_versions)
{
	static const struct { const char *domain; int version; } fit[] = {
		{ "ABCDEFGH.COM", 3 },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJK.COM", 4 },
	};
	char *out, *p, name[64], why[YIMA_WHY_MAX];
	unsigned char *png;
	struct yima_mint_opts o;
	struct yima_manifest m;
	size_t i, len;
	unsigned w;

	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "fit%zu", i);
		out = tu_path(tmp, name);
		opts_for(&o, out, 1);
		o.domain = fit[i].domain;
		o.gtin = "9520123456788";
		o.dl = o.png = 1;
		o.png_scale = 1;
		ck_assert_msg(yima_mint(kr, &o, &m, why) == 0, "%s", why);
		snprintf(name, sizeof(name), "png/%llu.png",
		    (unsigned long long)m.first_serial);
		p = tu_path(out, name);
		ck_assert_ptr_nonnull(png = (unsigned char *)tu_read_file(p,
		    &len));
		ck_assert_uint_ge(len, 24);
		/* IHDR: the width, big-endian, at byte 16. */
		w = (unsigned)png[16] << 24 | (unsigned)png[17] << 16 |
		    (unsigned)png[18] << 8 | png[19];
		ck_assert_msg((w - 8 - 17) / 4 == (unsigned)fit[i].version,
		    "%s: %u modules", fit[i].domain, w - 8);
		free(png);
		free(p);
		free(out);
	}
}
END_TEST

START_TEST(check_rejects_bad_options)
{
	struct yima_mint_opts o;
	struct yima_manifest m;
	char why[YIMA_WHY_MAX];

	opts_for(&o, "x", 1);
	ck_assert_int_eq(yima_mint_check(&o, &m, why), 0);
	o.inner = 1;
	o.kind = YIMA_KIND_BOX;
	ck_assert_int_eq(yima_mint_check(&o, &m, why), YIMA_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "--inner"));
	opts_for(&o, "x", 1);
	o.kind = YIMA_KIND_INNER;
	ck_assert_int_eq(yima_mint_check(&o, &m, why), YIMA_EINVAL);
	opts_for(&o, "x", YIMA_COUNT_MAX + 1);
	ck_assert_int_eq(yima_mint_check(&o, &m, why), YIMA_EINVAL);
	opts_for(&o, "x", 1);
	o.mfg = "2026-05-02";
	o.expiry = "2026-05-01";
	ck_assert_int_eq(yima_mint_check(&o, &m, why), YIMA_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "--expiry"));
	opts_for(&o, "x", 1);
	o.gtin = "06901234567891";
	ck_assert_int_eq(yima_mint_check(&o, &m, why), YIMA_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "check digit"));
	opts_for(&o, "x", YIMA_IMAGES_MAX + 1);
	o.png = 1;
	ck_assert_int_eq(yima_mint_check(&o, &m, why), YIMA_EINVAL);
	opts_for(&o, "", 1);
	ck_assert_int_eq(yima_mint_check(&o, &m, why), YIMA_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "--out"));
}
END_TEST

/* What walk_modes found: entries seen, and the first with a wrong mode. */
static int modes_seen;
static char modes_bad[512];

static int
walk_mode(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	unsigned want = flag == FTW_D ? 0700 : 0600;

	(void)f;
	modes_seen++;
	if ((flag != FTW_D && flag != FTW_F) ||
	    (unsigned)(st->st_mode & 07777) != want) {
		if (modes_bad[0] == '\0')
			snprintf(modes_bad, sizeof(modes_bad), "%s: mode %04o "
			    "(type %d), want %04o", path,
			    (unsigned)(st->st_mode & 07777), flag, want);
	}
	return 0;
}

/* Every directory under (and with) dir is 0700, every file 0600. */
static void
assert_private_tree(const char *dir, int min_entries)
{
	modes_seen = 0;
	modes_bad[0] = '\0';
	ck_assert_int_eq(nftw(dir, walk_mode, 16, FTW_PHYS), 0);
	ck_assert_msg(modes_bad[0] == '\0', "%s", modes_bad);
	ck_assert_int_ge(modes_seen, min_entries);
}

/*
 * Under the usual umask 022 a batch is still private: its codes, the
 * prize-winning inner codes, their images and PDFs (issue 13, defect 3).
 */
START_TEST(batch_files_private)
{
	char *out = tu_path(tmp, "b"), *empty = tu_path(tmp, "empty");
	char why[YIMA_WHY_MAX];
	struct yima_mint_opts o;
	mode_t old = umask(022);

	opts_for(&o, out, 3);
	o.png = o.svg = o.pdf = 1;
	o.inner = 1;
	o.nosync = 1;
	ck_assert_msg(yima_mint(kr, &o, NULL, why) == 0, "%s", why);
	/* the dir, 4 image dirs of 3, 2 CSVs, 2 PDFs, the manifest */
	assert_private_tree(out, 1 + 4 * 4 + 2 + 2 + 1);
	/* An existing empty directory the user made 0755 is made private. */
	ck_assert_int_eq(mkdir(empty, 0755), 0);
	opts_for(&o, empty, 2);
	o.inner = 1;
	o.nosync = 1;
	ck_assert_msg(yima_mint(kr, &o, NULL, why) == 0, "%s", why);
	assert_private_tree(empty, 1 + 2 + 1);
	umask(old);
	free(out);
	free(empty);
}
END_TEST

Suite *
mint_suite(void)
{
	Suite *s = suite_create("mint");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, csv_and_manifest);
	tcase_add_test(tc, dl_mint_roundtrip);
	tcase_add_test(tc, dl_qr_versions);
	tcase_add_test(tc, manifest_tamper_detected);
	tcase_add_test(tc, out_dir_never_overwritten);
	tcase_add_test(tc, failure_mid_mint_cleans_up);
	tcase_add_test(tc, killed_mint_never_reuses_serials);
	tcase_add_test(tc, concurrent_mints_disjoint);
	tcase_add_test(tc, png_roundtrip_and_pdf);
	tcase_add_test(tc, check_rejects_bad_options);
	tcase_add_test(tc, batch_files_private);
	suite_add_tcase(s, tc);
	return s;
}
