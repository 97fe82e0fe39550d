/* SPDX-License-Identifier: Apache-2.0 */
/* yima-codegen: keygen, mint, verify and read back signed QR codes. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "yima/code.h"
#include "yima/err.h"
#include "yima/keyring.h"
#include "yima/mint.h"
#include "yima/qr.h"
#include "yima/read.h"

#define EXIT_INVALID	1	/* a code did not verify, or work failed */
#define EXIT_USAGE	2	/* bad flags or values */
#define VERIFY_LINE_MAX	4096	/* longest line read from stdin */

#ifndef YIMA_VERSION
#define YIMA_VERSION "0.1.0"
#endif

static const char *progname = "yima-codegen";

static void
usage(FILE *f)
{
	fprintf(f,
"usage: %s COMMAND [OPTIONS]\n"
"\n"
"Mint signed QR codes for items, boxes, pallets and sales channels,\n"
"write them for printers, and check printed codes.\n"
"\n"
"commands:\n"
"  keygen --keyring DIR [--rotate]\n"
"        create a keyring (mode 0700, first key, serial counter), or add\n"
"        a new active key to it; old keys keep verifying\n"
"  mint --keyring DIR --kind item|box|pallet|channel --count N\n"
"       --domain D --out DIR [--gtin G] [--lot L] [--line LINE]\n"
"       [--mfg YYYY-MM-DD] [--expiry YYYY-MM-DD] [--inner] [--format c|dl]\n"
"       [--svg] [--png] [--pdf] [--ecc L|M|Q|H] [--scale PX]\n"
"       [--grid COLSxROWS] [--margin MM] [--progress] [--no-sync]\n"
"        mint one batch into a new directory: manifest.json, codes.csv,\n"
"        inner.csv (--inner), svg/, png/, labels.pdf\n"
"  verify --keyring DIR CODE|URL... (or - to read lines from stdin)\n"
"        check codes; print serial, kind, key id and valid/invalid\n"
"  read --keyring DIR IMAGE.png...\n"
"        decode QR codes in PNG images with zbar, then verify them\n"
"  help [COMMAND], version\n"
"\n"
"Exit status: 0 success, 1 an invalid code or a failure, 2 usage error.\n"
"Run '%s COMMAND --help' for the options of one command.\n",
	    progname, progname);
}

static void
mint_usage(FILE *f)
{
	fprintf(f,
"usage: %s mint --keyring DIR --kind KIND --count N --domain D --out DIR\n"
"                   [options]\n"
"  --keyring DIR      keyring made by 'keygen' (serials are reserved there)\n"
"  --kind KIND        item, box, pallet or channel\n"
"  --count N          codes in the batch, 1 to 1000000000\n"
"  --domain D         host name in the URL (HTTPS://D/C/CODE), up to 64\n"
"                     characters; up to 26 keeps an item code in a 29x29\n"
"                     QR (version 3) at ECC M, up to 12 at ECC Q\n"
"  --out DIR          new (or empty) directory for the batch\n"
"  --gtin G           GTIN-8/12/13/14 with a valid check digit\n"
"  --lot L            lot number (GS1 AI 10: up to 20 characters)\n"
"  --line LINE        packaging line (up to 32 characters)\n"
"  --mfg DATE         production date, YYYY-MM-DD\n"
"  --expiry DATE      expiry date, YYYY-MM-DD, not before --mfg\n"
"  --inner            items only: one cap-inside code per item, in\n"
"                     inner.csv (item_serial,inner_code,inner_url)\n"
"  --format c|dl      c (default): HTTPS://D/C/CODE; dl: items and boxes\n"
"                     as GS1 Digital Link URIs, HTTPS://D/01/GTIN/21/S\n"
"                     (needs --gtin; cap codes stay in the c form)\n"
"  --svg, --png       one image per code in svg/ (its text under the\n"
"                     symbol: the code, or (01) GTIN (21) S) and png/\n"
"                     (1-bit PNG, the symbol alone)\n"
"  --pdf              A4 label sheets in labels.pdf, QR drawn as vectors\n"
"  --ecc L|M|Q|H      QR error correction level (default M)\n"
"  --scale PX         PNG pixels per module, 1-64 (default 4)\n"
"  --grid CxR         PDF labels across and down (default 5x8)\n"
"  --margin MM        PDF page margin in mm (default 10)\n"
"  --progress         print progress to stderr (default: when a terminal)\n"
"  --no-sync          skip fsync of the output files (benchmarks only)\n",
	    progname);
}

#define warnx_(...) yima_warnx(progname, __VA_ARGS__)

/* Prints untrusted text safely: printable ASCII only, at most 100 bytes. */
static void
print_safe(FILE *f, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && i < 100; i++)
		fputc(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?', f);
	if (len > 100)
		fputs("...", f);
}

/* Strict unsigned decimal: digits only, no sign, no overflow. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int
open_keyring(const char *dir, struct yima_keyring **kr)
{
	char why[YIMA_WHY_MAX];

	if (yima_keyring_open(dir, kr, why) != 0) {
		warnx_("keyring: %s", why);
		return -1;
	}
	return 0;
}

static int
cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keyring", required_argument, NULL, 'k' },
		{ "rotate", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char why[YIMA_WHY_MAX];
	const char *dir = NULL;
	unsigned id;
	int c, rotate = 0;

	while ((c = getopt_long(argc, argv, "k:rh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			dir = optarg;
			break;
		case 'r':
			rotate = 1;
			break;
		case 'h':
			printf("usage: %s keygen --keyring DIR [--rotate]\n",
			    progname);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (dir == NULL || optind != argc) {
		warnx_("keygen: --keyring DIR is required (and nothing else)");
		return EXIT_USAGE;
	}
	if (rotate) {
		if (yima_keyring_rotate(dir, &id, why) != 0) {
			warnx_("keygen --rotate: %s", why);
			return EXIT_INVALID;
		}
		printf("added key %u to %s; it is now the active key\n", id,
		    dir);
		return 0;
	}
	if (yima_keyring_create(dir, &id, why) != 0) {
		warnx_("keygen: %s", why);
		return EXIT_INVALID;
	}
	printf("created keyring %s with key %u (keep it secret, back it up)\n",
	    dir, id);
	return 0;
}

struct progress {
	int		enabled;
	int		tty;
	struct timespec	start, last;
};

static double
since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void
on_progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	struct timespec now;
	double el;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (done < total && since(&p->last, &now) < 1.0)
		return;
	el = since(&p->start, &now);
	p->last = now;
	fprintf(stderr, "%s%s: %" PRIu64 "/%" PRIu64 " (%.0f%%), %.0f/s%s",
	    p->tty ? "\r" : "", phase, done, total,
	    100.0 * (double)done / (double)total,
	    el > 0 ? (double)done / el : 0.0,
	    p->tty && done < total ? "  " : "\n");
	if (done == total)
		p->start = now;
}

static int
parse_grid(const char *s, struct yima_pdf_layout *l)
{
	uint64_t c, r;
	char buf[16], *x;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((x = strchr(buf, 'x')) == NULL)
		return -1;
	*x = '\0';
	if (parse_u64(buf, 100, &c) != 0 || parse_u64(x + 1, 100, &r) != 0)
		return -1;
	l->cols = (int)c;
	l->rows = (int)r;
	return 0;
}

static int
cmd_mint(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keyring", required_argument, NULL, 'k' },
		{ "kind", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "domain", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "gtin", required_argument, NULL, 'g' },
		{ "lot", required_argument, NULL, 'l' },
		{ "line", required_argument, NULL, 'L' },
		{ "mfg", required_argument, NULL, 'm' },
		{ "expiry", required_argument, NULL, 'e' },
		{ "inner", no_argument, NULL, 'i' },
		{ "format", required_argument, NULL, 'f' },
		{ "svg", no_argument, NULL, 'S' },
		{ "png", no_argument, NULL, 'P' },
		{ "pdf", no_argument, NULL, 'F' },
		{ "ecc", required_argument, NULL, 'c' },
		{ "scale", required_argument, NULL, 's' },
		{ "grid", required_argument, NULL, 'G' },
		{ "margin", required_argument, NULL, 'M' },
		{ "progress", no_argument, NULL, 'p' },
		{ "no-sync", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct yima_mint_opts o;
	struct yima_manifest m;
	struct yima_keyring *kr = NULL;
	struct progress prog;
	char why[YIMA_WHY_MAX], *end;
	const char *keyring = NULL;
	uint64_t v;
	int c, rc;

	yima_mint_opts_init(&o);
	memset(&prog, 0, sizeof(prog));
	prog.tty = isatty(STDERR_FILENO);
	prog.enabled = prog.tty;
	o.kind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keyring = optarg; break;
		case 'd': o.domain = optarg; break;
		case 'o': o.out_dir = optarg; break;
		case 'g': o.gtin = optarg; break;
		case 'l': o.lot = optarg; break;
		case 'L': o.line = optarg; break;
		case 'm': o.mfg = optarg; break;
		case 'e': o.expiry = optarg; break;
		case 'i': o.inner = 1; break;
		case 'f':
			if (strcmp(optarg, "c") != 0 && strcmp(optarg, "dl") !=
			    0) {
				fprintf(stderr, "%s: --format must be c or dl\n",
				    progname);
				return 2;
			}
			o.dl = strcmp(optarg, "dl") == 0;
			break;
		case 'S': o.svg = 1; break;
		case 'P': o.png = 1; break;
		case 'F': o.pdf = 1; break;
		case 'p': prog.enabled = 1; break;
		case 'N': o.nosync = 1; break;
		case 'h': mint_usage(stdout); return 0;
		case 't':
			if (yima_kind_parse(optarg, &o.kind) != 0 ||
			    o.kind == YIMA_KIND_INNER) {
				warnx_("mint: --kind must be item, box, pallet "
				    "or channel (inner codes come with --inner)");
				return EXIT_USAGE;
			}
			break;
		case 'n':
			if (parse_u64(optarg, YIMA_COUNT_MAX, &v) != 0 ||
			    v == 0) {
				warnx_("mint: --count must be a whole number "
				    "from 1 to 1000000000");
				return EXIT_USAGE;
			}
			o.count = v;
			break;
		case 'c':
			if (yima_qr_ecc_parse(optarg, &o.ecc) != 0) {
				warnx_("mint: --ecc must be L, M, Q or H");
				return EXIT_USAGE;
			}
			break;
		case 's':
			if (parse_u64(optarg, 64, &v) != 0 || v == 0) {
				warnx_("mint: --scale must be 1 to 64");
				return EXIT_USAGE;
			}
			o.png_scale = (int)v;
			break;
		case 'G':
			if (parse_grid(optarg, &o.pdf_layout) != 0) {
				warnx_("mint: --grid must be COLSxROWS, e.g. "
				    "5x8");
				return EXIT_USAGE;
			}
			break;
		case 'M':
			errno = 0;
			o.pdf_layout.margin_mm = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0') {
				warnx_("mint: --margin must be a number of mm");
				return EXIT_USAGE;
			}
			break;
		default:
			mint_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		warnx_("mint: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (keyring == NULL || o.kind == 0 || o.count == 0) {
		warnx_("mint: --keyring, --kind and --count are required "
		    "(see '%s mint --help')", progname);
		return EXIT_USAGE;
	}
	/* Every value is checked before anything touches the disk. */
	if (yima_mint_check(&o, &m, why) != 0) {
		warnx_("mint: %s", why);
		return EXIT_USAGE;
	}
	if (open_keyring(keyring, &kr) != 0)
		return EXIT_INVALID;
	if (prog.enabled) {
		o.progress = on_progress;
		o.progress_ctx = &prog;
		clock_gettime(CLOCK_MONOTONIC, &prog.start);
		prog.last = prog.start;
	}
	rc = yima_mint(kr, &o, &m, why);
	yima_keyring_free(kr);
	if (rc != 0) {
		warnx_("mint: %s", why);
		return rc == YIMA_EEXIST ? EXIT_USAGE : EXIT_INVALID;
	}
	printf("batch %s: %" PRIu64 " %s codes, serials %" PRIu64 "-%" PRIu64
	    ", key %u, in %s\n", m.batch, m.count, yima_kind_name((int)m.kind),
	    m.first_serial, m.first_serial + m.count - 1, m.key_id, o.out_dir);
	if (m.inner)
		printf("  and %" PRIu64 " inner codes, serials %" PRIu64 "-%"
		    PRIu64 ", in inner.csv\n", m.count, m.inner_first,
		    m.inner_first + m.count - 1);
	return 0;
}

/* Verifies one scanned text and prints the result line; 0 when valid. */
static int
verify_one(const struct yima_keyring *kr, const char *label,
    const char *text, size_t len)
{
	char why[YIMA_WHY_MAX];
	struct yima_code c;

	print_safe(stdout, label, strlen(label));
	if (yima_code_verify(kr, text, len, &c, why) != 0) {
		printf(": invalid: %s\n", why);
		return -1;
	}
	printf(": valid kind=%s serial=%" PRIu64 " key_id=%u%s%s\n",
	    yima_kind_name((int)c.kind), c.serial, c.key_id,
	    c.gtin[0] != '\0' ? " gtin=" : "", c.gtin);
	return 0;
}

/* Shared option parsing of verify and read: --keyring DIR then operands. */
static int
keyring_args(int argc, char **argv, const char *cmd, const char *operand,
    struct yima_keyring **kr)
{
	static const struct option opts[] = {
		{ "keyring", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			dir = optarg;
			break;
		case 'h':
			printf("usage: %s %s --keyring DIR %s...\n", progname,
			    cmd, operand);
			exit(0);
		default:
			return EXIT_USAGE;
		}
	}
	if (dir == NULL || optind >= argc) {
		warnx_("%s: --keyring DIR and at least one %s are required",
		    cmd, operand);
		return EXIT_USAGE;
	}
	return open_keyring(dir, kr) == 0 ? 0 : EXIT_INVALID;
}

static int
cmd_verify(int argc, char **argv)
{
	struct yima_keyring *kr = NULL;
	char line[VERIFY_LINE_MAX + 2];
	size_t n;
	int rc, bad = 0, i;

	if ((rc = keyring_args(argc, argv, "verify", "CODE|URL", &kr)) != 0)
		return rc;
	for (i = optind; i < argc; i++) {
		if (strcmp(argv[i], "-") != 0) {
			bad |= verify_one(kr, argv[i], argv[i],
			    strlen(argv[i])) != 0;
			continue;
		}
		while (fgets(line, sizeof(line), stdin) != NULL) {
			n = strlen(line);
			if (n > VERIFY_LINE_MAX) {
				printf("(line): invalid: longer than %d "
				    "bytes\n", VERIFY_LINE_MAX);
				bad = 1;
				while (n > 0 && line[n - 1] != '\n' &&
				    fgets(line, sizeof(line), stdin) != NULL)
					n = strlen(line);
				continue;
			}
			while (n > 0 && (line[n - 1] == '\n' ||
			    line[n - 1] == '\r'))
				line[--n] = '\0';
			bad |= verify_one(kr, line, line, n) != 0;
		}
	}
	yima_keyring_free(kr);
	return bad ? EXIT_INVALID : 0;
}

struct read_ctx {
	const struct yima_keyring *kr;
	const char	*image;
	int		 bad;
};

static void
on_symbol(void *ctx, const char *data, size_t len)
{
	struct read_ctx *r = ctx;

	fputs(r->image, stdout);
	fputs(": ", stdout);
	print_safe(stdout, data, len);
	if (verify_one(r->kr, "", data, len) != 0)
		r->bad = 1;
}

static int
cmd_read(int argc, char **argv)
{
	struct yima_keyring *kr = NULL;
	char why[YIMA_WHY_MAX];
	struct read_ctx r;
	int rc, i, found;

	if ((rc = keyring_args(argc, argv, "read", "IMAGE.png", &kr)) != 0)
		return rc;
	memset(&r, 0, sizeof(r));
	r.kr = kr;
	for (i = optind; i < argc; i++) {
		r.image = argv[i];
		found = 0;
		if (yima_read_png_file(argv[i], on_symbol, &r, &found,
		    why) != 0) {
			printf("%s: unreadable: %s\n", argv[i], why);
			r.bad = 1;
		} else if (found == 0) {
			printf("%s: no QR code found\n", argv[i]);
			r.bad = 1;
		}
	}
	yima_keyring_free(kr);
	return r.bad ? EXIT_INVALID : 0;
}

int
main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	argc--;
	argv++;
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(argc, argv);
	if (strcmp(cmd, "mint") == 0)
		return cmd_mint(argc, argv);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(argc, argv);
	if (strcmp(cmd, "read") == 0)
		return cmd_read(argc, argv);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("yima-codegen %s\n", YIMA_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0) {
		if (argc > 1 && strcmp(argv[1], "mint") == 0)
			mint_usage(stdout);
		else
			usage(stdout);
		return 0;
	}
	warnx_("unknown command '%s'", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
