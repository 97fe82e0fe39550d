/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The static pages (the dashboard, the console, a consumer's own page):
 * read once at start, gzipped once, served from memory with an ETag,
 * cache headers and a strict CSP (no inline script or style anywhere, so
 * 'self' is all a page needs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "../codegen/err-private.h"
#include "routes.h"

#define STATIC_MAX	(8 * 1024 * 1024)	/* largest file we load */

/* Our own pages revalidate on every load; vendor files are pinned. */
#define OURS	"no-cache"
#define VENDOR	"public, max-age=604800"

static const struct {
	int		 route;		/* R_DASHBOARD or R_CONSOLE */
	const char	*name;		/* after /dashboard/; "" the page */
	int		 vendor;	/* from --web-assets, not --web */
	const char	*file;
	const char	*type;
} files[] = {
	{ R_DASHBOARD, "", 0, "dashboard.html", "text/html; charset=utf-8" },
	{ R_DASHBOARD, "app.js", 0, "dashboard.js",
	    "text/javascript; charset=utf-8" },
	{ R_DASHBOARD, "app.css", 0, "dashboard.css",
	    "text/css; charset=utf-8" },
	/* The demo product's picture, served by yima itself. */
	{ R_DASHBOARD, "bottle.svg", 0, "bottle.svg", "image/svg+xml" },
	/* Regions by name: the pickers both pages use. */
	{ R_DASHBOARD, "regions.js", 0, "regions.js",
	    "text/javascript; charset=utf-8" },
	{ R_DASHBOARD, "echarts.min.js", 1, "echarts.min.js",
	    "text/javascript; charset=utf-8" },
	{ R_DASHBOARD, "china.json", 1, "china.json", "application/json" },
	/* The brand's console: its own page and script, the same rules. */
	{ R_CONSOLE, "", 0, "console.html", "text/html; charset=utf-8" },
	{ R_CONSOLE, "app.js", 0, "console.js",
	    "text/javascript; charset=utf-8" },
	{ R_CONSOLE, "app.css", 0, "console.css",
	    "text/css; charset=utf-8" },
	{ R_CONSOLE, "regions.js", 0, "regions.js",
	    "text/javascript; charset=utf-8" },
	/* A consumer's own page, linked from the landing page. */
	{ R_ME, "", 0, "me.html", "text/html; charset=utf-8" },
	{ R_ME, "app.js", 0, "me.js", "text/javascript; charset=utf-8" },
	{ R_ME, "app.css", 0, "me.css", "text/css; charset=utf-8" },
};
#define NFILES	(sizeof(files) / sizeof(files[0]))

struct api_static {
	char		*body[NFILES];	/* NULL: not installed */
	size_t		 len[NFILES];
	unsigned char	*gz[NFILES];	/* NULL: gzip would not be smaller */
	size_t		 gzlen[NFILES];
	char		 etag[NFILES][24];
	char		 gzetag[NFILES][28];	/* the gzip body's own */
};

static const char csp[] = "default-src 'none'; script-src 'self'; "
    "style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

static int
slurp(const char *path, char **out, size_t *len, char *why)
{
	FILE *f;
	char *p;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL)
		return yima_why_(why, YIMA_EIO, "cannot open %s", path);
	if ((p = yima_malloc(STATIC_MAX + 1)) == NULL) {
		fclose(f);
		return yima_why_(why, YIMA_ENOMEM, "out of memory");
	}
	n = fread(p, 1, STATIC_MAX + 1, f);
	if (ferror(f)) {
		fclose(f);
		yima_free(p);
		return yima_why_(why, YIMA_EIO, "cannot read %s", path);
	}
	fclose(f);
	if (n > STATIC_MAX) {
		yima_free(p);
		return yima_why_(why, YIMA_EINVAL, "%s is larger than %d bytes",
		    path, STATIC_MAX);
	}
	/* Keep what the file needs, not the most any file may. */
	if ((*out = yima_realloc(p, n + 1)) == NULL)
		*out = p;
	*len = n;
	return 0;
}

/* gzip (RFC 1952) at the best level: done once, served many times. */
static int
gzip(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	z_stream z;
	unsigned char *buf;
	size_t cap = len + len / 1000 + 64;
	int rc;

	memset(&z, 0, sizeof(z));
	if ((buf = yima_malloc(cap)) == NULL)
		return -1;
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		yima_free(buf);
		return -1;
	}
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END || *outlen >= len) {
		yima_free(buf);
		*out = NULL;
		return 0;
	}
	*out = buf;
	return 0;
}

int
api_static_load(const char *web, const char *assets,
    struct api_static **out, char *why)
{
	struct api_static *s;
	unsigned char md[32];
	char path[4096];
	unsigned int n;
	size_t i;
	int rc;

	if ((s = yima_calloc(1, sizeof(*s))) == NULL)
		return yima_why_(why, YIMA_ENOMEM, "out of memory");
	for (i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", files[i].vendor ?
		    assets : web, files[i].file);
		if ((rc = slurp(path, &s->body[i], &s->len[i], why)) != 0) {
			/* The charts are installed by scripts/setup.sh. */
			if (rc == YIMA_EIO && files[i].vendor) {
				fprintf(stderr, "yima-scanapi: warning: %s: "
				    "the dashboard draws no charts (run "
				    "scripts/setup.sh or set --web-assets)\n",
				    why);
				continue;
			}
			goto fail;
		}
		if (gzip(s->body[i], s->len[i], &s->gz[i], &s->gzlen[i]) != 0 ||
		    EVP_Digest(s->body[i], s->len[i], md, &n, EVP_sha256(),
		    NULL) != 1) {
			rc = yima_why_(why, YIMA_ENOMEM, "out of memory");
			goto fail;
		}
		snprintf(s->etag[i], sizeof(s->etag[i]),
		    "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", md[0], md[1],
		    md[2], md[3], md[4], md[5], md[6], md[7]);
		snprintf(s->gzetag[i], sizeof(s->gzetag[i]), "%.17s-gz\"",
		    s->etag[i]);
	}
	*out = s;
	return 0;
fail:
	api_static_free(s);
	return rc;
}

void
api_static_free(struct api_static *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < NFILES; i++) {
		yima_free(s->body[i]);
		yima_free(s->gz[i]);
	}
	yima_free(s);
}

/* Whether Accept-Encoding takes gzip (a q of 0 refuses it). */
static int
takes_gzip(const char *ae)
{
	const char *p, *end;

	for (p = ae; p != NULL && *p != '\0'; p = end) {
		while (*p == ' ' || *p == ',')
			p++;
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		if (strncasecmp(p, "gzip", 4) == 0 && (p[4] == ';' ||
		    p[4] == ' ' || p + 4 == end)) {
			for (p += 4; p < end; p++)	/* "q" is any case */
				if ((*p == 'q' || *p == 'Q') && p[1] == '=')
					return strtod(p + 2, NULL) > 0;
			return 1;
		}
	}
	return 0;
}

enum MHD_Result
api_route_static(struct api_req *r)
{
	const struct api_static *s = r->srv->statics;
	const char *inm, *ae;
	const char *hdr[] = {
		"Content-Security-Policy", csp,
		"Referrer-Policy", "no-referrer",
		"Cache-Control", NULL,
		"ETag", NULL,
		"Vary", "Accept-Encoding",
		NULL, NULL,
		NULL
	};
	enum MHD_Result res;
	int gz;
	size_t i;

	if (!api_rate_ok(r, &res))
		return res;
	for (i = 0; i < NFILES; i++)
		if (files[i].route == r->route &&
		    strlen(files[i].name) == r->param_len &&
		    strncmp(files[i].name, r->param, r->param_len) == 0)
			break;
	if (i == NFILES || s == NULL || s->body[i] == NULL)
		return api_reply_error(r, 404, "not_found", "no such file");
	ae = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Accept-Encoding");
	gz = s->gz[i] != NULL && takes_gzip(ae);
	hdr[5] = files[i].vendor ? VENDOR : OURS;
	/* Two bodies, two tags: a cache never takes one for the other. */
	hdr[7] = gz ? s->gzetag[i] : s->etag[i];
	inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "If-None-Match");
	if (inm != NULL && strstr(inm, hdr[7]) != NULL)
		return api_reply_const(r, 304, files[i].type, "", 0, hdr);
	if (gz) {
		hdr[10] = "Content-Encoding";
		hdr[11] = "gzip";
		return api_reply_const(r, 200, files[i].type, s->gz[i],
		    s->gzlen[i], hdr);
	}
	return api_reply_const(r, 200, files[i].type, s->body[i], s->len[i],
	    hdr);
}
