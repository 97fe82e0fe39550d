/* SPDX-License-Identifier: Apache-2.0 */
/* Minting a batch: reserve serials, sign codes, write printer files. */
#ifndef YIMA_MINT_H
#define YIMA_MINT_H

#include <stdint.h>

#include "yima/code.h"
#include "yima/manifest.h"
#include "yima/qr.h"
#include "yima/render.h"

#define YIMA_IMAGES_MAX	UINT64_C(1000000)	/* --svg/--png per batch */
#define YIMA_PDF_MAX	UINT64_C(100000)	/* PDF labels per batch */

/* Called about every 64k codes (CSV) or 1k images; phase names the step. */
typedef void (*yima_progress_fn)(void *ctx, const char *phase,
    uint64_t done, uint64_t total);

struct yima_mint_opts {
	enum yima_kind	kind;		/* item, box, pallet or channel */
	uint64_t	count;		/* 1 .. YIMA_COUNT_MAX */
	const char	*domain;	/* host[:port] for the URLs */
	const char	*gtin;		/* NULL or "" when absent */
	const char	*lot;
	const char	*line;
	const char	*mfg;		/* YYYY-MM-DD */
	const char	*expiry;
	int		inner;		/* items only: cap-inside codes too */
	int		dl;		/* items or boxes with a GTIN: GS1
					   Digital Link URIs (dl.h) */
	const char	*out_dir;	/* created; must not exist or be empty */
	int		svg, png, pdf;	/* image outputs wanted */
	enum yima_ecc	ecc;
	int		png_scale;	/* pixels per module */
	struct yima_pdf_layout pdf_layout;
	int		nosync;		/* 1: skip fsync of outputs (benchmarks) */
	yima_progress_fn progress;	/* may be NULL */
	void		*progress_ctx;
};

/* Fills o with the defaults: ECC M, PNG scale 4, default PDF layout. */
void yima_mint_opts_init(struct yima_mint_opts *o);

/*
 * Validates every option without touching the disk and fills the
 * attribute fields of m (normalised GTIN, upper-case domain, ...).
 * Returns 0 or YIMA_EINVAL with why naming the option.
 */
int yima_mint_check(const struct yima_mint_opts *o, struct yima_manifest *m,
    char *why);

/*
 * Mints one batch signed with kr's active key. Serials are reserved in
 * the keyring directory kr was opened from (and synced) before any code
 * is written. Writes into o->out_dir: codes.csv ("serial,code,url"),
 * inner.csv ("item_serial,inner_code,inner_url") with --inner, svg/ and
 * png/ (one file per serial), labels.pdf, the inner-* equivalents, and
 * last manifest.json: a directory without it is an unfinished batch.
 * On failure everything it created is removed (the reserved serials are
 * simply never used). On success *m (may be NULL) is the manifest.
 * Returns 0 or a negative yima_err with why.
 */
int yima_mint(const struct yima_keyring *kr, const struct yima_mint_opts *o,
    struct yima_manifest *m, char *why);

#endif /* YIMA_MINT_H */
