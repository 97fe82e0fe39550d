/* SPDX-License-Identifier: Apache-2.0 */
/* Pages and operator routes: the landing page, /healthz, /metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "../codegen/err-private.h"
#include "epcis_push.h"
#include "routes.h"

#define PAGE_MAX	(64 * 1024)
#define LANG_SLOT	"{{LANG}}"


/* 'sha256-...' of the text between open and close tags, for the CSP. */
static int
block_hash(const char *page, const char *open, const char *close,
    char *out, size_t len)
{
	unsigned char md[32], b64[64];
	const char *a, *b;
	unsigned int n;

	if ((a = strstr(page, open)) == NULL ||
	    (b = strstr(a + strlen(open), close)) == NULL)
		return -1;
	a += strlen(open);
	if (EVP_Digest(a, (size_t)(b - a), md, &n, EVP_sha256(), NULL) != 1)
		return -1;
	EVP_EncodeBlock(b64, md, (int)n);
	snprintf(out, len, "'sha256-%s'", b64);
	return 0;
}

int
api_web_load(struct api_server *srv, char *why)
{
	char path[4096], style[80], script[80];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/landing.html", srv->cfg.web);
	if ((f = fopen(path, "rb")) == NULL)
		return yima_why_(why, YIMA_EIO, "cannot open %s (set --web "
		    "to the directory of the pages)", path);
	if ((srv->landing = yima_malloc(PAGE_MAX + 1)) == NULL) {
		fclose(f);
		return yima_why_(why, YIMA_ENOMEM, "out of memory");
	}
	n = fread(srv->landing, 1, PAGE_MAX + 1, f);
	fclose(f);
	if (n > PAGE_MAX)
		return yima_why_(why, YIMA_EINVAL, "%s is larger than %d "
		    "bytes", path, PAGE_MAX);
	srv->landing[n] = '\0';
	srv->landing_len = n;
	if (block_hash(srv->landing, "<style>", "</style>", style,
	    sizeof(style)) != 0 ||
	    block_hash(srv->landing, "<script>", "</script>", script,
	    sizeof(script)) != 0 || strstr(srv->landing, LANG_SLOT) == NULL)
		return yima_why_(why, YIMA_EINVAL, "%s needs one <style>, one "
		    "<script> and a %s slot", path, LANG_SLOT);
	snprintf(srv->landing_csp, sizeof(srv->landing_csp),
	    "default-src 'none'; style-src %s; script-src %s; "
	    "connect-src 'self'; img-src 'self' data: https:; base-uri 'none'; "
	    "form-action 'none'; frame-ancestors 'none'", style, script);
	return 0;
}

/* "zh" or "en" from Accept-Language: the preferred of the two. */
static const char *
language(const char *al)
{
	const char *p = al, *q;
	double best = -1, w;
	const char *pick = "en";
	int zh;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		zh = strncasecmp(p, "zh", 2) == 0;
		if (zh || strncasecmp(p, "en", 2) == 0) {
			w = 1.0;
			q = strchr(p, ',');
			if ((p = strstr(p, ";q=")) != NULL &&
			    (q == NULL || p < q))
				w = strtod(p + 3, NULL);
			if (w > 0 && w > best) {
				best = w;
				pick = zh ? "zh" : "en";
			}
			p = q;
		} else
			p = strchr(p, ',');
	}
	return pick;
}

enum MHD_Result
api_route_landing(struct api_req *r)
{
	return api_landing_reply(r, NULL);
}

enum MHD_Result
api_landing_reply(struct api_req *r, const char *link)
{
	struct api_server *srv = r->srv;
	const char *hdr[] = {
		"Content-Security-Policy", srv->landing_csp,
		"Permissions-Policy", "geolocation=(self)",
		"Referrer-Policy", "no-referrer",
		"Cache-Control", "public, max-age=300",
		"Vary", "Accept-Language",
		NULL, NULL,
		NULL, NULL,
		NULL
	};
	const char *lang, *slot;
	enum MHD_Result res;
	char *page;
	size_t pre;

	if (!api_rate_ok(r, &res))
		return res;
	/* As a resolver's page: its linkset, readable from any origin. */
	if (link != NULL) {
		hdr[9] = "Accept, Accept-Language";
		hdr[10] = "Link";
		hdr[11] = link;
		hdr[12] = "Access-Control-Allow-Origin";
		hdr[13] = "*";
	}
	lang = language(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Accept-Language"));
	slot = strstr(srv->landing, LANG_SLOT);
	pre = (size_t)(slot - srv->landing);
	if ((page = yima_malloc(srv->landing_len + 1)) == NULL)
		return MHD_NO;
	memcpy(page, srv->landing, pre);
	memcpy(page + pre, lang, 2);
	memcpy(page + pre + 2, slot + strlen(LANG_SLOT),
	    srv->landing_len - pre - strlen(LANG_SLOT) + 1);
	res = api_reply(r, 200, "text/html; charset=utf-8", page,
	    srv->landing_len - strlen(LANG_SLOT) + 2, hdr);
	yima_free(page);
	return res;
}

enum MHD_Result
api_route_healthz(struct api_req *r)
{
	static const char ok[] = "{\"status\":\"ok\"}";
	static const char *const hdr[] = { "Cache-Control", "no-store",
	    NULL };
	struct yima_tx *tx;

	if (yima_tx_begin(r->srv->st, 0, &tx) != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	yima_tx_rollback(tx);
	return api_reply(r, 200, "application/json", ok, sizeof(ok) - 1, hdr);
}

enum MHD_Result
api_route_metrics(struct api_req *r)
{
	static const char *const hdr[] = { "Cache-Control", "no-store",
	    NULL };
	struct yima_buf b = YIMA_BUF_INIT;
	enum MHD_Result res;

	if (api_metrics_render(&r->srv->metrics, r->http->route_names,
	    api_scanq_depth(r->srv->q), atomic_load(&r->http->inflight),
	    &b) != 0 || (r->srv->push != NULL &&
	    api_push_metrics(r->srv->push, &b) != 0)) {
		yima_buf_free(&b);
		return MHD_NO;
	}
	res = api_reply(r, 200, "text/plain; version=0.0.4", b.data, b.len,
	    hdr);
	yima_buf_free(&b);
	return res;
}
