/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The table of routes and what the HTTP layer calls back into the routes
 * layer for (routes.h): bulk senders' roles, a held scan's answer, store
 * conflicts, draining at stop.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "yima/err.h"

#include "epcis.h"
#include "routes.h"

static const char *const route_names[API_ROUTES] = {
	[R_NONE] = "other",
	[R_TRACE] = "trace",
	[R_DEALERS] = "dealers",
	[R_TERRITORY] = "territory",
	[R_CHANNELS] = "channels",
	[R_PACKS] = "packs",
	[R_SHIPMENTS] = "shipments",
	[R_RECEIPTS] = "receipts",
	[R_REPORTS] = "reports",
	[R_CAMPAIGNS] = "campaigns",
	[R_CONSUMERS] = "consumers",
	[R_REDEMPTIONS] = "redemptions",
	[R_CATALOGUE] = "catalogue",
	[R_VOUCHERS] = "vouchers",
	[R_PAYOUTS] = "payouts",
	[R_FREEZES] = "freezes",
	[R_CLAIMS] = "claims",
	[R_SESSION] = "session",
	[R_DASHBOARD] = "dashboard",
	[R_PRODUCTS] = "products",
	[R_RESOLVER] = "resolver",
	[R_EPCIS] = "epcis",
	[R_STAFF] = "staff",
	[R_CONSOLE] = "console",
	[R_ME] = "me",
	[R_SCANS] = "scans",
	[R_CODES] = "codes",
	[R_BATCHES] = "batches",
	[R_REVOCATIONS] = "revocations",
	[R_LANDING] = "landing",
	[R_HEALTHZ] = "healthz",
	[R_METRICS] = "metrics",
};

static const struct api_route routes[] = {
	{ R_SCANS, "POST", "/api/v1/scans", api_route_scans, 0 },
	{ R_CODES, "GET", "/api/v1/codes/*", api_route_codes, 0 },
	{ R_TRACE, "GET", "/api/v1/codes/*/trace", api_route_trace, 0 },
	{ R_BATCHES, "POST", "/api/v1/batches", api_route_batches, 0 },
	{ R_BATCHES, "GET", "/api/v1/admin/batches", api_route_batch_list, 0 },
	{ R_REVOCATIONS, "POST", "/api/v1/admin/revocations",
	    api_route_revocations, 0 },
	{ R_DEALERS, "POST", "/api/v1/admin/dealers", api_route_dealer_add, 0 },
	{ R_DEALERS, "GET", "/api/v1/admin/dealers", api_route_dealer_list, 0 },
	{ R_DEALERS, "PUT", "/api/v1/admin/dealers/*", api_route_dealer_put, 0 },
	{ R_TERRITORY, "PUT", "/api/v1/admin/dealers/*/territory",
	    api_route_territory, 0 },
	{ R_TERRITORY, "GET", "/api/v1/admin/dealers/*/territory",
	    api_route_territory_get, 0 },
	{ R_CHANNELS, "POST", "/api/v1/admin/channels", api_route_channel, 0 },
	{ R_CHANNELS, "GET", "/api/v1/admin/channels/qr", api_route_channel_qr,
	    0 },
	{ R_PACKS, "POST", "/api/v1/packs", api_route_pack,
	    API_ROLE_ADMIN | API_ROLE_OPS },
	{ R_PACKS, "DELETE", "/api/v1/packs/*", api_route_unpack, 0 },
	{ R_SHIPMENTS, "POST", "/api/v1/shipments", api_route_shipment,
	    API_ROLE_ADMIN | API_ROLE_OPS | API_ROLE_DEALER },
	{ R_RECEIPTS, "POST", "/api/v1/receipts", api_route_receipt,
	    API_ROLE_DEALER },
	{ R_REPORTS, "GET", "/api/v1/reports/diversion", api_route_diversion, 0 },
	{ R_REPORTS, "GET", "/api/v1/reports/scans", api_route_report_scans,
	    0 },
	{ R_REPORTS, "GET", "/api/v1/reports/alerts", api_route_report_alerts,
	    0 },
	{ R_REPORTS, "GET", "/api/v1/reports/experiments/*",
	    api_route_report_experiment, 0 },
	{ R_REPORTS, "GET", "/api/v1/reports/channels",
	    api_route_report_channels, 0 },
	{ R_REPORTS, "GET", "/api/v1/reports/segments",
	    api_route_report_segments, 0 },
	{ R_REPORTS, "GET", "/api/v1/admin/segments/*/consumers",
	    api_route_segment_consumers, 0 },
	{ R_REPORTS, "GET", "/api/v1/regions", api_route_regions, 0 },
	{ R_CAMPAIGNS, "POST", "/api/v1/admin/campaigns",
	    api_route_campaign_add, 0 },
	{ R_CAMPAIGNS, "GET", "/api/v1/admin/campaigns",
	    api_route_campaign_list, 0 },
	{ R_CAMPAIGNS, "GET", "/api/v1/admin/campaigns/*",
	    api_route_campaign_get, 0 },
	{ R_CAMPAIGNS, "PATCH", "/api/v1/admin/campaigns/*",
	    api_route_campaign_patch, 0 },
	{ R_CONSUMERS, "GET", "/api/v1/consumers/me", api_route_consumer_me,
	    0 },
	{ R_CONSUMERS, "GET", "/api/v1/consumers/me/export",
	    api_route_consumer_export, 0 },
	{ R_CONSUMERS, "DELETE", "/api/v1/consumers/me",
	    api_route_consumer_erase, 0 },
	{ R_REDEMPTIONS, "POST", "/api/v1/redemptions", api_route_redemption,
	    0 },
	{ R_CATALOGUE, "GET", "/api/v1/catalogue", api_route_catalogue, 0 },
	{ R_CATALOGUE, "POST", "/api/v1/admin/catalogue",
	    api_route_catalogue_add, 0 },
	{ R_VOUCHERS, "POST", "/api/v1/vouchers/*/redeem",
	    api_route_voucher_redeem, 0 },
	{ R_PAYOUTS, "GET", "/api/v1/admin/payouts", api_route_payouts, 0 },
	{ R_PAYOUTS, "POST", "/api/v1/admin/payouts/mark-paid",
	    api_route_payouts_paid, 0 },
	{ R_FREEZES, "POST", "/api/v1/admin/freezes", api_route_freeze, 0 },
	{ R_CLAIMS, "GET", "/api/v1/admin/claims", api_route_claims, 0 },
	{ R_CLAIMS, "POST", "/api/v1/admin/claims/*/release",
	    api_route_claim_release, 0 },
	{ R_CLAIMS, "POST", "/api/v1/admin/claims/*/reject",
	    api_route_claim_reject, 0 },
	{ R_SESSION, "POST", "/api/v1/session", api_route_login, 0 },
	{ R_SESSION, "GET", "/api/v1/session", api_route_whoami, 0 },
	{ R_SESSION, "DELETE", "/api/v1/session", api_route_logout, 0 },
	{ R_STAFF, "POST", "/api/v1/admin/staff", api_route_staff_add, 0 },
	{ R_STAFF, "POST", "/api/v1/admin/tokens", api_route_token_add, 0 },
	{ R_STAFF, "GET", "/api/v1/admin/tokens", api_route_token_list, 0 },
	{ R_STAFF, "DELETE", "/api/v1/admin/tokens/*", api_route_token_revoke,
	    0 },
	{ R_STAFF, "GET", "/api/v1/admin/staff", api_route_staff_list, 0 },
	{ R_STAFF, "DELETE", "/api/v1/admin/staff/*", api_route_staff_disable,
	    0 },
	{ R_LANDING, "GET", "/c/*", api_route_landing, 0 },
	{ R_LANDING, "GET", "/C/*", api_route_landing, 0 },
	/* GS1 Digital Link: the resolver, whose default is the page (which
	 * sends the path as the code). */
	{ R_RESOLVER, "GET", "/01/**", api_route_dl, 0 },
	{ R_RESOLVER, "OPTIONS", "/01/**", api_route_dl_options, 0 },
	{ R_RESOLVER, "GET", "/.well-known/gs1resolver", api_route_gs1resolver,
	    0 },
	{ R_PRODUCTS, "GET", "/api/v1/products", api_route_products, 0 },
	{ R_PRODUCTS, "GET", "/api/v1/products/*", api_route_product_get, 0 },
	{ R_PRODUCTS, "PUT", "/api/v1/admin/products/*", api_route_product_put,
	    0 },
	{ R_PRODUCTS, "DELETE", "/api/v1/admin/products/*",
	    api_route_product_delete, 0 },
	{ R_EPCIS, "GET", "/api/v1/epcis/events", api_route_epcis_events, 0 },
	{ R_EPCIS, "POST", "/api/v1/epcis/capture", api_route_epcis_capture,
	    API_ROLE_ADMIN | API_ROLE_OPS },
	{ R_EPCIS, "GET", "/api/v1/epcis/capture/*",
	    api_route_epcis_capture_get, 0 },
	{ R_DASHBOARD, "GET", "/dashboard", api_route_static, 0 },
	{ R_DASHBOARD, "GET", "/dashboard/", api_route_static, 0 },
	{ R_DASHBOARD, "GET", "/dashboard/*", api_route_static, 0 },
	{ R_CONSOLE, "GET", "/console", api_route_static, 0 },
	{ R_CONSOLE, "GET", "/console/", api_route_static, 0 },
	{ R_CONSOLE, "GET", "/console/*", api_route_static, 0 },
	{ R_ME, "GET", "/me", api_route_static, 0 },
	{ R_ME, "GET", "/me/*", api_route_static, 0 },
	{ R_HEALTHZ, "GET", "/healthz", api_route_healthz, 0 },
	{ R_METRICS, "GET", "/metrics", api_route_metrics, 0 },
};

/*
 * Only a caller who may send a megabyte gets to (an EPCIS capture: 16
 * MiB, GS1-EPCIS-Capture-File-Size-Limit).
 */
static size_t
bulk_ok(struct api_req *r, int roles, enum MHD_Result *res)
{
	struct yima_token t;

	if (!api_require(r, roles, &t, res))
		return 0;
	return r->route == R_EPCIS ? API_EPCIS_CAPTURE_BYTES : API_BULK_MAX;
}

static void
drain(struct api_server *srv)
{
	api_scanq_drain(srv->q);
}

void
api_routes_install(struct api_server *srv)
{
	struct api_http *h = &srv->http;

	h->routes = routes;
	h->nroutes = sizeof(routes) / sizeof(routes[0]);
	h->route_names = route_names;
	h->req_ext = sizeof(struct api_scan_req);
	h->app = srv;
	h->bulk_ok = bulk_ok;
	h->ready = api_route_scans_done;
	h->conflicts = yima_store_conflicts;
	h->conflict_wait = yima_store_conflict_wait;
	h->drain = drain;
}

/* Whether X-Yima-CSRF is the session's (compared in constant time). */
static int
csrf_ok(struct api_req *r, const char *cookie)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "X-Yima-CSRF");
	char want[API_CSRF_LEN + 1];

	return v != NULL && strlen(v) == API_CSRF_LEN &&
	    api_session_csrf(cookie, want) == 0 &&
	    CRYPTO_memcmp(v, want, API_CSRF_LEN) == 0;
}

int
api_require(struct api_req *r, int roles, struct yima_token *t,
    enum MHD_Result *res)
{
	const char *h, *cookie;
	int rc;

	h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Authorization");
	cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND,
	    "yima_session");
	/* A session reads; it writes only with its page's CSRF token. */
	if (h == NULL && (strcmp(r->method, "GET") == 0 || csrf_ok(r, cookie)))
		rc = api_session_check(r->srv->st, cookie, api_now_ms(), t);
	else
		rc = api_token_check(r->srv->st, h, t);
	if (rc == YIMA_ENOENT) {
		*res = api_reply_error(r, 401, "unauthorized",
		    "a valid bearer token (or, to read, a session) is "
		    "required");
		return 0;
	}
	if (rc != 0) {
		*res = api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
		return 0;
	}
	if ((api_role_bit(t->role) & roles) == 0) {
		*res = api_reply_error(r, 403, "forbidden",
		    "this token's role may not do this");
		return 0;
	}
	return 1;
}

enum MHD_Result
api_reply_list(struct api_req *r, const char *key,
    int (*fill)(struct yima_tx *, json_t *, const void *), const void *arg)
{
	struct yima_tx *tx;
	json_t *list;
	int rc;

	if (yima_tx_begin(r->srv->st, 0, &tx) != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	list = json_array();
	rc = fill(tx, list, arg);
	yima_tx_rollback(tx);
	if (rc != 0) {
		json_decref(list);
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	}
	return api_reply_json(r, 200, json_pack("{s:o}", key, list));
}
