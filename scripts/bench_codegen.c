/* SPDX-License-Identifier: Apache-2.0 */
/* make bench-codegen: minting and rendering figures, one line each. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "yima/code.h"
#include "yima/err.h"
#include "yima/keyring.h"
#include "yima/mac.h"
#include "yima/mint.h"
#include "yima/qr.h"
#include "yima/render.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "bench-codegen: %s: %s\n", what, why);
	exit(1);
}

/* The tag computation exactly as minting calls it, without the rest. */
static double
bench_hmac(const struct yima_mac *mac, uint64_t n)
{
	uint8_t msg[13] = "YIMA1", out[YIMA_MAC_LEN], acc = 0;
	double t;
	uint64_t i;

	t = now();
	for (i = 0; i < n; i++) {
		msg[12] = (uint8_t)i;
		msg[11] = (uint8_t)(i >> 8);
		msg[10] = (uint8_t)(i >> 16);
		yima_mac_compute(mac, msg, sizeof(msg), out);
		acc ^= out[0];
	}
	t = now() - t;
	if (acc == 0x5a && n == 1)
		putchar(' ');	/* keeps the loop from being optimised away */
	return (double)n / t;
}

static double
bench_mint(const struct yima_keyring *kr, const char *dir, uint64_t n,
    int nosync)
{
	struct yima_mint_opts o;
	char why[YIMA_WHY_MAX], cmd[4200];
	double t;

	yima_mint_opts_init(&o);
	o.kind = YIMA_KIND_ITEM;
	o.count = n;
	o.domain = "yima.example.com";
	o.out_dir = dir;
	o.nosync = nosync;
	t = now();
	if (yima_mint(kr, &o, NULL, why) != 0)
		die("mint", why);
	t = now() - t;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		die("rm", dir);
	return (double)n / t;
}

/* mode 0: encode only; 1: encode + SVG; 2: encode + PNG (scale 4). */
static double
bench_render(const struct yima_keyring *kr, int mode, int n)
{
	struct yima_buf buf = YIMA_BUF_INIT;
	struct yima_qr *qr;
	char code[YIMA_CODE_LEN + 1], url[YIMA_URL_MAX];
	size_t len;
	double t;
	int i, rc;

	t = now();
	for (i = 0; i < n; i++) {
		yima_code_make(yima_keyring_mac(kr, 1), YIMA_KIND_ITEM, 1,
		    (uint64_t)i + 1, code);
		len = yima_code_url("YIMA.EXAMPLE.COM", code, url);
		if (yima_qr_encode(url, len, YIMA_ECC_M, &qr) != 0)
			die("encode", url);
		yima_buf_reset(&buf);
		rc = 0;
		if (mode == 1)
			rc = yima_render_svg(qr, NULL, &buf);
		else if (mode == 2)
			rc = yima_render_png(qr, 4, &buf);
		if (rc != 0)
			die("render", yima_strerror(rc));
		yima_qr_free(qr);
	}
	t = now() - t;
	yima_buf_free(&buf);
	return (double)n / t;
}

int
main(int argc, char **argv)
{
	struct yima_keyring *kr = NULL;
	char base[] = "/tmp/yima-bench.XXXXXX", kdir[4200], out[4200];
	char shm[] = "/dev/shm/yima-bench.XXXXXX", mem[4200];
	char why[YIMA_WHY_MAX], cmd[4300];
	uint64_t n = 2000000;
	double hmac, mint, mint_sync, enc, svg, png;
	int imgs = 5000;

	if (argc > 1)
		n = strtoull(argv[1], NULL, 10);
	if (mkdtemp(base) == NULL)
		die("mkdtemp", base);
	/* Memory-backed output isolates the CPU path from the disk. */
	if (mkdtemp(shm) == NULL)
		snprintf(shm, sizeof(shm), "%s", base);
	snprintf(kdir, sizeof(kdir), "%s/kr", base);
	snprintf(out, sizeof(out), "%s/batch", base);
	snprintf(mem, sizeof(mem), "%s/batch", shm);
	if (yima_keyring_create(kdir, NULL, why) != 0 ||
	    yima_keyring_open(kdir, &kr, why) != 0)
		die("keyring", why);

	hmac = bench_hmac(yima_keyring_mac(kr, 1), n);
	mint = bench_mint(kr, mem, n, 1);
	mint_sync = bench_mint(kr, out, n, 0);
	enc = bench_render(kr, 0, imgs);
	svg = bench_render(kr, 1, imgs);
	png = bench_render(kr, 2, imgs);

	printf("raw HMAC-SHA256 (precomputed key state, 13-byte msg): "
	    "%.2fM/s\n", hmac / 1e6);
	printf("mint %" PRIu64 " codes to CSV in memory (%s), one core: "
	    "%.2fM codes/s = %.2fx raw HMAC (target >= 0.5x and >= 2M/s)\n",
	    n, shm, mint / 1e6, mint / hmac);
	printf("mint %" PRIu64 " codes to CSV on disk (%s), fsync'd: %.2fM "
	    "codes/s = %.2fx raw HMAC\n", n, base, mint_sync / 1e6,
	    mint_sync / hmac);
	printf("libqrencode encode alone (ECC M, 51-char URL): %.0f/s\n", enc);
	printf("SVG (encode + render): %.0f images/s = %.2fx encode "
	    "(target >= 0.7x)\n", svg, svg / enc);
	printf("PNG 1-bit scale 4 (encode + render): %.0f images/s = %.2fx "
	    "encode (target >= 0.4x)\n", png, png / enc);

	yima_keyring_free(kr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", base, shm);
	return system(cmd) == 0 ? 0 : 1;
}
