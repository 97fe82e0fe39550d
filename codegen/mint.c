/* SPDX-License-Identifier: Apache-2.0 */
/* Minting a batch: reserve serials, sign codes, write printer files. */
#define _GNU_SOURCE	/* syncfs, sync_file_range */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "yima/dl.h"
#include "yima/err.h"
#include "yima/keyring.h"
#include "yima/mint.h"

#include "alloc-private.h"
#include "err-private.h"

#define OUT_BUF		(1 << 20)
/* A URL of either form fits. */
#define URL_MAX_	(YIMA_DL_URL_MAX > YIMA_URL_MAX ? YIMA_DL_URL_MAX : \
	YIMA_URL_MAX)
#define LINE_MAX_	(20 + 1 + YIMA_CODE_LEN + 1 + URL_MAX_ + 1)
#define WRITEBACK_STEP	(8 << 20)
#define CSV_TICK	65536	/* codes between progress calls */
#define IMG_TICK	1024
/*
 * A batch is private whatever the umask: codes not yet printed could be
 * copied onto fakes, and the inner (cap-inside) codes win prizes. The
 * operator hands the files to the printer.
 */
#define FILE_MODE	0600
#define DIR_MODE	0700

/* One CSV output: buffered, hashed as it is written. */
struct csv {
	int		 fd;
	char		*buf;
	size_t		 len;
	off_t		 written;	/* bytes written so far */
	off_t		 kicked;	/* bytes handed to writeback */
	EVP_MD_CTX	*sha;
	const char	*name;
};

/* What a mint run holds, so one cleanup path releases it all. */
struct run {
	const struct yima_mint_opts *o;
	struct yima_manifest *m;
	const struct yima_mac *mac;
	int		 dirfd;
	int		 made_dir;	/* 1: we created out_dir */
	/* What comes before a code in its URL: the batch's own codes'
	 * ("HTTPS://DOMAIN/C/" or ".../01/GTIN/21/"), and a cap code's. */
	char		 prefix[URL_MAX_], cprefix[URL_MAX_];
	size_t		 prefix_len, cprefix_len, code_len;
	char		*why;
};

void
yima_mint_opts_init(struct yima_mint_opts *o)
{
	static const struct yima_pdf_layout layout = YIMA_PDF_LAYOUT_DEFAULT;

	memset(o, 0, sizeof(*o));
	o->kind = YIMA_KIND_ITEM;
	o->ecc = YIMA_ECC_M;
	o->png_scale = 4;
	o->pdf_layout = layout;
}

static int
present(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* Puts "flag: " in front of the reason a shared checker gave. */
static int
flag_why(char *why, int rc, const char *flag)
{
	char tmp[YIMA_WHY_MAX];

	if (why == NULL)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s", why);
	return yima_why_(why, rc, "%s: %s", flag, tmp);
}

int
yima_mint_check(const struct yima_mint_opts *o, struct yima_manifest *m,
    char *why)
{
	const struct yima_pdf_layout *l = &o->pdf_layout;
	long mfg = 0, exp = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	if (yima_kind_name((int)o->kind) == NULL || o->kind == YIMA_KIND_INNER)
		return yima_why_(why, YIMA_EINVAL,
		    "--kind must be item, box, pallet or channel");
	m->kind = o->kind;
	if (o->count < 1 || o->count > YIMA_COUNT_MAX)
		return yima_why_(why, YIMA_EINVAL,
		    "--count must be from 1 to 1000000000");
	m->count = o->count;
	if (o->inner && o->kind != YIMA_KIND_ITEM)
		return yima_why_(why, YIMA_EINVAL,
		    "--inner goes only with --kind item");
	m->inner = o->inner;
	if (o->dl && (yima_dl_format(o->kind) == 0 || !present(o->gtin)))
		return yima_why_(why, YIMA_EINVAL, "--format dl is for --kind "
		    "item or box, and needs --gtin (cap, pallet and channel "
		    "codes stay in the /C/ form)");
	m->dl = o->dl;
	if (!present(o->domain))
		return yima_why_(why, YIMA_EINVAL, "--domain is required");
	if ((rc = yima_domain_normalize(o->domain, m->domain, why)) != 0)
		return flag_why(why, rc, "--domain");
	if (present(o->gtin) &&
	    (rc = yima_gtin_normalize(o->gtin, m->gtin, why)) != 0)
		return flag_why(why, rc, "--gtin");
	if (present(o->lot) && (rc = yima_text_check(o->lot, YIMA_LOT_MAX,
	    "--lot", why)) != 0)
		return rc;
	if (present(o->line) && (rc = yima_text_check(o->line, YIMA_LINE_MAX,
	    "--line", why)) != 0)
		return rc;
	if (present(o->mfg) && (rc = yima_date_parse(o->mfg, &mfg, why)) != 0)
		return flag_why(why, rc, "--mfg");
	if (present(o->expiry) &&
	    (rc = yima_date_parse(o->expiry, &exp, why)) != 0)
		return flag_why(why, rc, "--expiry");
	if (present(o->mfg) && present(o->expiry) && exp < mfg)
		return yima_why_(why, YIMA_EINVAL,
		    "--expiry %s is before --mfg %s", o->expiry, o->mfg);
	snprintf(m->lot, sizeof(m->lot), "%s", present(o->lot) ? o->lot : "");
	snprintf(m->line, sizeof(m->line), "%s",
	    present(o->line) ? o->line : "");
	snprintf(m->mfg, sizeof(m->mfg), "%s", present(o->mfg) ? o->mfg : "");
	snprintf(m->expiry, sizeof(m->expiry), "%s",
	    present(o->expiry) ? o->expiry : "");
	if ((o->svg || o->png) && o->count > YIMA_IMAGES_MAX)
		return yima_why_(why, YIMA_EINVAL,
		    "--svg/--png write one file per code: at most 1000000 "
		    "codes (use codes.csv for larger batches)");
	if (o->pdf && o->count > YIMA_PDF_MAX)
		return yima_why_(why, YIMA_EINVAL,
		    "--pdf: at most 100000 labels per batch");
	if (o->png_scale < 1 || o->png_scale > 64)
		return yima_why_(why, YIMA_EINVAL,
		    "--scale must be from 1 to 64 pixels per module");
	if (l->cols < 1 || l->cols > 20 || l->rows < 1 || l->rows > 30)
		return yima_why_(why, YIMA_EINVAL,
		    "--grid must be COLSxROWS with 1-20 columns and 1-30 rows");
	if (!(l->margin_mm >= 0 && l->margin_mm <= 50))
		return yima_why_(why, YIMA_EINVAL,
		    "--margin must be from 0 to 50 mm");
	if (o->ecc < YIMA_ECC_L || o->ecc > YIMA_ECC_H)
		return yima_why_(why, YIMA_EINVAL, "--ecc must be L, M, Q or H");
	if (!present(o->out_dir))
		return yima_why_(why, YIMA_EINVAL, "--out is required");
	return 0;
}

/* Writes the decimal digits of v; returns their number. */
static size_t
put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static int
sys_error(char *why, const char *what, const char *name)
{
	int err = errno;

	return yima_why_(why, YIMA_EIO, "%s %s: %s", what, name,
	    strerror(err));
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Creates dirfd/name, which must not exist; returns the fd or an error. */
static int
create_at(struct run *r, int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    FILE_MODE);

	return fd >= 0 ? fd : sys_error(r->why, "create", name);
}

static int
csv_open(struct run *r, struct csv *c, const char *name, const char *header)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	if ((c->fd = create_at(r, r->dirfd, name)) < 0)
		return c->fd;
	if ((c->buf = yima_malloc(OUT_BUF)) == NULL ||
	    (c->sha = EVP_MD_CTX_new()) == NULL)
		return yima_why_(r->why, YIMA_ENOMEM, "out of memory");
	if (EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL) != 1)
		return yima_why_(r->why, YIMA_EIO, "SHA-256 unavailable");
	c->len = strlen(header);
	memcpy(c->buf, header, c->len);
	return 0;
}

static int
csv_flush(struct run *r, struct csv *c)
{
	if (EVP_DigestUpdate(c->sha, c->buf, c->len) != 1)
		return yima_why_(r->why, YIMA_EIO, "SHA-256 failed");
	if (write_all(c->fd, c->buf, c->len) != 0)
		return sys_error(r->why, "write", c->name);
	c->written += (off_t)c->len;
	c->len = 0;
	/*
	 * Start writeback as we go, so the disk works while we compute and
	 * the final fsync finds little left to do.
	 */
	if (!r->o->nosync && c->written - c->kicked >= WRITEBACK_STEP) {
		sync_file_range(c->fd, c->kicked, c->written - c->kicked,
		    SYNC_FILE_RANGE_WRITE);
		c->kicked = c->written;
	}
	return 0;
}

/* Flushes, syncs and closes; writes the hex SHA-256 to hexout. */
static int
csv_finish(struct run *r, struct csv *c, char hexout[65])
{
	unsigned char md[32];
	unsigned int n;
	int rc;

	if ((rc = csv_flush(r, c)) != 0)
		return rc;
	if (EVP_DigestFinal_ex(c->sha, md, &n) != 1 || n != sizeof(md))
		return yima_why_(r->why, YIMA_EIO, "SHA-256 failed");
	yima_hex(md, n, hexout);
	if (!r->o->nosync && fsync(c->fd) != 0)
		return sys_error(r->why, "fsync", c->name);
	if (close(c->fd) != 0) {
		c->fd = -1;
		return sys_error(r->why, "close", c->name);
	}
	c->fd = -1;
	return 0;
}

static void
csv_free(struct csv *c)
{
	if (c->fd >= 0)
		close(c->fd);
	EVP_MD_CTX_free(c->sha);
	yima_free(c->buf);
	c->fd = -1;
	c->sha = NULL;
	c->buf = NULL;
}

/* Appends "key,code,PREFIXcode\n" to c: a batch code, or a cap code's. */
static void
csv_line(struct run *r, struct csv *c, uint64_t key, const char *code,
    int cap)
{
	char *p = c->buf + c->len;
	size_t n = cap ? YIMA_CODE_LEN : r->code_len;

	p += put_u64(p, key);
	*p++ = ',';
	memcpy(p, code, n);
	p += n;
	*p++ = ',';
	memcpy(p, cap ? r->cprefix : r->prefix, cap ? r->cprefix_len :
	    r->prefix_len);
	p += cap ? r->cprefix_len : r->prefix_len;
	memcpy(p, code, n);
	p += n;
	*p++ = '\n';
	c->len = (size_t)(p - c->buf);
}

/* The batch's code of serial: its /C/ code, or its Digital Link S. */
static void
batch_code(struct run *r, enum yima_kind kind, uint64_t serial,
    char code[YIMA_CODE_LEN + 1])
{
	if (r->m->dl && kind != YIMA_KIND_INNER)
		yima_dl_make(r->mac, kind, r->m->key_id, serial, r->m->gtin,
		    code);
	else
		yima_code_make(r->mac, kind, r->m->key_id, serial, code);
}

/* The hot loop: every code signed, formatted and written once. */
static int
write_csvs(struct run *r)
{
	const struct yima_manifest *m = r->m;
	struct csv codes, inner;
	char code[YIMA_CODE_LEN + 1];
	uint64_t i;
	int rc;

	memset(&inner, 0, sizeof(inner));
	inner.fd = -1;
	if ((rc = csv_open(r, &codes, "codes.csv", "serial,code,url\n")) != 0)
		goto done;
	if (m->inner && (rc = csv_open(r, &inner, "inner.csv",
	    "item_serial,inner_code,inner_url\n")) != 0)
		goto done;
	for (i = 0; i < m->count; i++) {
		batch_code(r, m->kind, m->first_serial + i, code);
		csv_line(r, &codes, m->first_serial + i, code, 0);
		if (codes.len > OUT_BUF - LINE_MAX_ &&
		    (rc = csv_flush(r, &codes)) != 0)
			goto done;
		if (m->inner) {
			yima_code_make(r->mac, YIMA_KIND_INNER, m->key_id,
			    m->inner_first + i, code);
			csv_line(r, &inner, m->first_serial + i, code, 1);
			if (inner.len > OUT_BUF - LINE_MAX_ &&
			    (rc = csv_flush(r, &inner)) != 0)
				goto done;
		}
		if (r->o->progress != NULL && (i + 1) % CSV_TICK == 0)
			r->o->progress(r->o->progress_ctx, "codes", i + 1,
			    m->count);
	}
	if ((rc = csv_finish(r, &codes, r->m->codes_sha256)) != 0 ||
	    (m->inner && (rc = csv_finish(r, &inner,
	    r->m->inner_sha256)) != 0))
		goto done;
	if (r->o->progress != NULL)
		r->o->progress(r->o->progress_ctx, "codes", m->count, m->count);
done:
	csv_free(&codes);
	csv_free(&inner);
	return rc;
}

static int
write_file_at(struct run *r, int dirfd, const char *name,
    const struct yima_buf *b)
{
	int fd, rc = 0;

	if ((fd = create_at(r, dirfd, name)) < 0)
		return fd;
	if (write_all(fd, b->data, b->len) != 0)
		rc = sys_error(r->why, "write", name);
	if (close(fd) != 0 && rc == 0)
		rc = sys_error(r->why, "close", name);
	return rc;
}

static int
open_subdir(struct run *r, const char *name)
{
	int fd;

	if (mkdirat(r->dirfd, name, DIR_MODE) != 0)
		return sys_error(r->why, "create", name);
	if ((fd = openat(r->dirfd, name, O_RDONLY | O_DIRECTORY)) < 0)
		return sys_error(r->why, "open", name);
	return fd;
}

/*
 * Images for one range of codes: one QR encoding per code feeds the SVG,
 * the PNG and the PDF label. tag is "" for the batch's codes or "inner-".
 */
static int
write_images(struct run *r, enum yima_kind kind, uint64_t first,
    const char *tag)
{
	const struct yima_mint_opts *o = r->o;
	char code[YIMA_CODE_LEN + 1], url[URL_MAX_], name[64];
	char path[4096], hri[64];
	struct yima_buf buf = YIMA_BUF_INIT;
	struct yima_pdf *pdf = NULL;
	struct yima_qr *qr = NULL;
	int svgfd = -1, pngfd = -1, fd, n, rc = 0;
	uint64_t i;
	size_t ulen;

	if (o->svg) {
		snprintf(name, sizeof(name), "%ssvg", tag);
		if ((svgfd = open_subdir(r, name)) < 0) {
			rc = svgfd;
			goto done;
		}
	}
	if (o->png) {
		snprintf(name, sizeof(name), "%spng", tag);
		if ((pngfd = open_subdir(r, name)) < 0) {
			rc = pngfd;
			goto done;
		}
	}
	if (o->pdf && (rc = yima_pdf_new(&o->pdf_layout, &pdf)) != 0) {
		yima_why_(r->why, rc, "PDF: %s", yima_strerror(rc));
		goto done;
	}
	for (i = 0; i < r->m->count; i++) {
		batch_code(r, kind, first + i, code);
		/* A DL label says its GS1 elements under the symbol. */
		if (r->m->dl && kind != YIMA_KIND_INNER) {
			ulen = yima_dl_url(r->m->domain, r->m->gtin, code, url);
			snprintf(hri, sizeof(hri), "(01) %s (21) %s",
			    r->m->gtin, code);
		} else {
			ulen = yima_code_url(r->m->domain, code, url);
			snprintf(hri, sizeof(hri), "%s", code);
		}
		if ((rc = yima_qr_encode(url, ulen, o->ecc, &qr)) != 0) {
			yima_why_(r->why, rc, "QR encoding: %s",
			    yima_strerror(rc));
			goto done;
		}
		if (o->svg) {
			yima_buf_reset(&buf);
			snprintf(name, sizeof(name), "%llu.svg",
			    (unsigned long long)(first + i));
			if ((rc = yima_render_svg(qr, hri, &buf)) != 0 ||
			    (rc = write_file_at(r, svgfd, name, &buf)) != 0)
				goto image_fail;
		}
		if (o->png) {
			yima_buf_reset(&buf);
			snprintf(name, sizeof(name), "%llu.png",
			    (unsigned long long)(first + i));
			if ((rc = yima_render_png(qr, o->png_scale, &buf)) != 0 ||
			    (rc = write_file_at(r, pngfd, name, &buf)) != 0)
				goto image_fail;
		}
		if (pdf != NULL && (rc = yima_pdf_add(pdf, qr, hri)) != 0)
			goto image_fail;
		yima_qr_free(qr);
		qr = NULL;
		if (o->progress != NULL && (i + 1) % IMG_TICK == 0)
			o->progress(o->progress_ctx, "images", i + 1,
			    r->m->count);
	}
	if (pdf != NULL) {
		/* libharu opens with fopen(): the file is made private first. */
		snprintf(name, sizeof(name), "%slabels.pdf", tag);
		if ((fd = create_at(r, r->dirfd, name)) < 0) {
			rc = fd;
			goto done;
		}
		close(fd);
		n = snprintf(path, sizeof(path), "%s/%s", o->out_dir, name);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			rc = yima_why_(r->why, YIMA_EINVAL, "path too long: "
			    "%s/%s", o->out_dir, name);
			goto done;
		}
		if ((rc = yima_pdf_save(pdf, path)) != 0) {
			yima_why_(r->why, rc, "writing %s: %s", path,
			    yima_strerror(rc));
			goto done;
		}
	}
	if (o->progress != NULL)
		o->progress(o->progress_ctx, "images", r->m->count, r->m->count);
	goto done;
image_fail:
	if (rc != YIMA_EIO)
		yima_why_(r->why, rc, "image %s: %s", name, yima_strerror(rc));
done:
	yima_qr_free(qr);
	yima_pdf_free(pdf);
	yima_buf_free(&buf);
	if (svgfd >= 0)
		close(svgfd);
	if (pngfd >= 0)
		close(pngfd);
	return rc;
}

/* Writes manifest.json last and atomically: its presence means "done". */
static int
write_manifest(struct run *r, const struct yima_keyring *kr)
{
	struct yima_buf b = YIMA_BUF_INIT;
	int rc;

	if ((rc = yima_manifest_to_json(r->m, kr, &b)) != 0) {
		yima_why_(r->why, rc, "manifest: %s", yima_strerror(rc));
		goto done;
	}
	if ((rc = write_file_at(r, r->dirfd, ".manifest.tmp", &b)) != 0)
		goto done;
	if (!r->o->nosync && syncfs(r->dirfd) != 0) {
		rc = sys_error(r->why, "sync", r->o->out_dir);
		goto done;
	}
	if (renameat(r->dirfd, ".manifest.tmp", r->dirfd, "manifest.json")
	    != 0) {
		rc = sys_error(r->why, "rename", "manifest.json");
		goto done;
	}
	if (!r->o->nosync && fsync(r->dirfd) != 0)
		rc = sys_error(r->why, "fsync", r->o->out_dir);
done:
	yima_buf_free(&b);
	return rc;
}

/* Creates out_dir, or accepts an existing empty one; never overwrites. */
static int
make_out_dir(struct run *r)
{
	const char *dir = r->o->out_dir;
	DIR *d;
	struct dirent *de;
	int fd;

	if (mkdir(dir, DIR_MODE) == 0)
		r->made_dir = 1;
	else if (errno != EEXIST)
		return sys_error(r->why, "create", dir);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return sys_error(r->why, "open", dir);
	if (!r->made_dir) {
		if ((d = opendir(dir)) == NULL) {
			close(fd);
			return sys_error(r->why, "open", dir);
		}
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				break;
		closedir(d);
		if (de != NULL) {
			close(fd);
			return yima_why_(r->why, YIMA_EEXIST,
			    "%s exists and is not empty: a batch is never "
			    "overwritten", dir);
		}
		if (fchmod(fd, DIR_MODE) != 0) {
			close(fd);
			return sys_error(r->why, "chmod", dir);
		}
	}
	r->dirfd = fd;
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static int
rm_inside(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return f->level == 0 ? 0 : rm_entry(path, st, flag, f);
}

/* Removes what a failed mint wrote, keeping a directory it did not make. */
static void
remove_output(struct run *r)
{
	nftw(r->o->out_dir, r->made_dir ? rm_entry : rm_inside, 16,
	    FTW_DEPTH | FTW_PHYS);
}

static int
batch_id(char out[33])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return YIMA_EIO;
	yima_hex(b, sizeof(b), out);
	return 0;
}

int
yima_mint(const struct yima_keyring *kr, const struct yima_mint_opts *o,
    struct yima_manifest *out, char *why)
{
	struct yima_manifest m;
	struct run r;
	uint64_t first, total;
	time_t now;
	struct tm tm;
	int rc, active;

	if ((rc = yima_mint_check(o, &m, why)) != 0)
		return rc;
	if ((active = yima_keyring_active(kr)) < 0 ||
	    yima_keyring_dir(kr) == NULL)
		return yima_why_(why, YIMA_ENOKEY,
		    "the keyring has no active key or no directory");
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.m = &m;
	r.why = why;
	r.dirfd = -1;
	r.mac = yima_keyring_mac(kr, (unsigned)active);
	m.key_id = (unsigned)active;
	r.cprefix_len = yima_code_url(m.domain, "000000000000000000000000",
	    r.cprefix) - YIMA_CODE_LEN;
	r.cprefix[r.cprefix_len] = '\0';
	if (m.dl) {
		r.code_len = YIMA_DL_LEN;
		r.prefix_len = yima_dl_url(m.domain, m.gtin,
		    "00000000000000000000", r.prefix) - YIMA_DL_LEN;
		r.prefix[r.prefix_len] = '\0';
	} else {
		r.code_len = YIMA_CODE_LEN;
		memcpy(r.prefix, r.cprefix, r.cprefix_len + 1);
		r.prefix_len = r.cprefix_len;
	}
	if ((rc = make_out_dir(&r)) != 0)
		return rc;
	/* Items and their cap-inside codes come from one reservation. */
	total = m.inner ? 2 * m.count : m.count;
	if ((rc = yima_keyring_reserve(yima_keyring_dir(kr), total, &first,
	    why)) != 0)
		goto fail;
	m.first_serial = first;
	m.inner_first = m.inner ? first + m.count : 0;
	if (m.dl && first + m.count - 1 > YIMA_DL_SERIAL_MAX) {
		rc = yima_why_(why, YIMA_ERANGE, "serials %llu.. are above "
		    "2^40-1: they cannot be minted in the Digital Link form",
		    (unsigned long long)first);
		goto fail;
	}
	if (batch_id(m.batch) != 0) {
		rc = yima_why_(why, YIMA_EIO, "OpenSSL RAND_bytes failed");
		goto fail;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(m.created, sizeof(m.created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((rc = write_csvs(&r)) != 0)
		goto fail;
	if ((o->svg || o->png || o->pdf) &&
	    ((rc = write_images(&r, m.kind, m.first_serial, "")) != 0 ||
	    (m.inner && (rc = write_images(&r, YIMA_KIND_INNER,
	    m.inner_first, "inner-")) != 0)))
		goto fail;
	if ((rc = write_manifest(&r, kr)) != 0)
		goto fail;
	close(r.dirfd);
	if (out != NULL)
		*out = m;
	return 0;
fail:
	close(r.dirfd);
	remove_output(&r);
	return rc;
}
