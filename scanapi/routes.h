/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The routes layer: the server's modules and settings, the table of
 * routes (routes.c) and the route handlers (routes_*.c). It uses the
 * HTTP layer (http.h) below it and the domain modules.
 */
#ifndef API_ROUTES_H
#define API_ROUTES_H

#include "yima/geo.h"
#include "yima/keyring.h"
#include "yima/store.h"

#include "auth.h"
#include "http.h"
#include "keys.h"
#include "reward.h"
#include "scanq.h"
#include "verdict.h"

enum api_route_id {
	R_NONE = 0,
	R_SCANS,
	R_CODES,
	R_BATCHES,
	R_REVOCATIONS,
	R_LANDING,
	R_HEALTHZ,
	R_METRICS,
	R_TRACE,
	R_DEALERS,
	R_TERRITORY,
	R_CHANNELS,
	R_PACKS,
	R_SHIPMENTS,
	R_RECEIPTS,
	R_REPORTS,
	R_CAMPAIGNS,
	R_CONSUMERS,
	R_REDEMPTIONS,
	R_CATALOGUE,
	R_VOUCHERS,
	R_PAYOUTS,
	R_FREEZES,
	R_CLAIMS,
	R_SESSION,
	R_DASHBOARD,
	R_PRODUCTS,
	R_RESOLVER,
	R_EPCIS,
	R_STAFF,
	R_CONSOLE,
	R_ME
};

/*
 * Reads a setting a reload may change (settings.h's [reload] ones, ints
 * stored atomically by the reload) while requests run.
 */
#define API_LIVE(v)	__atomic_load_n(&(v), __ATOMIC_RELAXED)

struct api_config {
	const char	*db;
	const char	*keyring;
	const char	*listen;	/* host:port */
	const char	*web;		/* directory of the pages */
	const char	*web_assets;	/* ECharts and the map, from setup */
	const char	*log;		/* NULL: stderr */
	const char	*regions;	/* region data; NULL: none */
	int		 threads;
	int		 db_pool;	/* read connections; 0 threads + 2 */
	int		 node;		/* PostgreSQL: this node's rollup rows */
	int		 db_writers;	/* PostgreSQL: write transactions */
	enum yima_sync	 sync;
	double		 ip_rate;	/* per second; 0 off */
	double		 consumer_rate;
	int		 conn_limit;
	int		 conn_timeout;	/* seconds */
	struct api_verdict_cfg verdict;
	int		 channel_days;	/* a channel scan binds this long */
	int		 alert_level1;	/* consumer events for level 1 */
	int		 alert_days;	/* the alert window */
	int		 trend_drop;	/* % fall week over week: alert */
	int		 trend_min;	/* scans the week before, at least */
	int		 spike_min;	/* suspect scans for a spike */
	int		 min_report_count;	/* consumers in a dealer's cell */
	int		 ab_min;	/* consumers an arm needs for a winner */
	struct api_reward_cfg reward;
	struct api_proxies proxies;	/* whose forwarding headers count */
	const char	*epcis_push;	/* a repository's capture URL */
	const char	*epcis_push_token;
};

struct api_static;
struct api_products;
struct api_push;

struct api_server {
	struct api_config	 cfg;
	struct yima_store	*st;
	struct api_keys		 keys;		/* verifies codes, manifests */
	struct yima_mac		*cid_mac;	/* signs consumer ids */
	struct yima_mac		*cid_legacy;	/* signed them before; or NULL */
	struct yima_mac		*sketch_mac;	/* hashes them for rollups */
	struct yima_mac		*variant_mac;	/* places them in A/B arms */
	struct yima_geo		*geo;		/* NULL: no region data */
	struct api_scanq	*q;
	struct api_log		*log;
	struct api_ratelimit	*ip_rl, *cid_rl;
	struct api_metrics	 metrics;
	char			*landing;	/* page with a {{LANG}} slot */
	size_t			 landing_len;
	char			 landing_csp[512];
	struct api_static	*statics;	/* the dashboard's files */
	struct api_products	*products;	/* product.h's cache */
	struct api_push		*push;		/* epcis_push.h's, or NULL */
	struct api_http		 http;
};

/* A scan request's state (the HTTP layer's r->ext): its job, its id. */
struct api_scan_req {
	struct api_job	 job;
	char		 cid_full[API_TOKEN_LEN + 16];	/* issued id */
	int		 cid_new;
};

/* Gives the HTTP layer the table of routes and the hooks it calls. */
void api_routes_install(struct api_server *srv);

/*
 * Runs fill in a read transaction and answers 200 {"key": [...]}, or
 * 503 when the store fails. fill appends to list; 0 or a store error.
 */
enum MHD_Result api_reply_list(struct api_req *r, const char *key,
    int (*fill)(struct yima_tx *tx, json_t *list, const void *arg),
    const void *arg);

/*
 * Checks the bearer token against roles (API_ROLE_* bits). Returns 1 if
 * allowed; else queues 401/403/503, stores the result in *res, returns 0.
 */
int api_require(struct api_req *r, int roles, struct yima_token *t,
    enum MHD_Result *res);

/* Route handlers (routes_*.c); called once the body is complete. */
enum MHD_Result api_route_scans(struct api_req *r);
enum MHD_Result api_route_scans_done(struct api_req *r);
enum MHD_Result api_route_codes(struct api_req *r);
enum MHD_Result api_route_batches(struct api_req *r);
enum MHD_Result api_route_revocations(struct api_req *r);
enum MHD_Result api_route_landing(struct api_req *r);
/* The landing page; link (or NULL) as a resolver's Link header. */
enum MHD_Result api_landing_reply(struct api_req *r, const char *link);
/* Products and the GS1 resolver (routes_product.c). */
enum MHD_Result api_route_product_put(struct api_req *r);
enum MHD_Result api_route_product_delete(struct api_req *r);
enum MHD_Result api_route_products(struct api_req *r);
enum MHD_Result api_route_product_get(struct api_req *r);
enum MHD_Result api_route_dl(struct api_req *r);
enum MHD_Result api_route_dl_options(struct api_req *r);
enum MHD_Result api_route_gs1resolver(struct api_req *r);
enum MHD_Result api_route_static(struct api_req *r);
/* EPCIS 2.0 (routes_epcis.c). */
enum MHD_Result api_route_epcis_events(struct api_req *r);
enum MHD_Result api_route_epcis_capture(struct api_req *r);
enum MHD_Result api_route_epcis_capture_get(struct api_req *r);
/*
 * Appends one CSV text cell to b, quoted when it must be (RFC 4180); a
 * cell a spreadsheet would take for a formula (first = + - @ tab or CR)
 * is quoted with a ' in front. Every CSV the service writes puts its
 * text through it; numbers are written as they are.
 */
int api_csv_field(struct yima_buf *b, const char *s);
enum MHD_Result api_route_whoami(struct api_req *r);
enum MHD_Result api_route_healthz(struct api_req *r);
enum MHD_Result api_route_metrics(struct api_req *r);
enum MHD_Result api_route_trace(struct api_req *r);
enum MHD_Result api_route_dealer_add(struct api_req *r);
enum MHD_Result api_route_dealer_list(struct api_req *r);
enum MHD_Result api_route_dealer_put(struct api_req *r);
enum MHD_Result api_route_territory(struct api_req *r);
enum MHD_Result api_route_channel(struct api_req *r);
enum MHD_Result api_route_pack(struct api_req *r);
enum MHD_Result api_route_unpack(struct api_req *r);
enum MHD_Result api_route_shipment(struct api_req *r);
enum MHD_Result api_route_receipt(struct api_req *r);
enum MHD_Result api_route_diversion(struct api_req *r);
enum MHD_Result api_route_report_scans(struct api_req *r);
enum MHD_Result api_route_report_alerts(struct api_req *r);
enum MHD_Result api_route_login(struct api_req *r);
enum MHD_Result api_route_logout(struct api_req *r);
enum MHD_Result api_route_staff_add(struct api_req *r);
enum MHD_Result api_route_staff_list(struct api_req *r);
enum MHD_Result api_route_staff_disable(struct api_req *r);
/*
 * Adds "region_name" and "owner_name" to rows that have a "region" code
 * or an "owner" dealer id (reports, alerts), for pages to show names.
 */
int api_name_rows(struct api_req *r, struct yima_tx *tx, json_t *rows);
/* The diversion alert level of an owner's events in a window. */
int api_diversion_level(const struct api_config *cfg, int64_t consumer,
    int64_t store);
enum MHD_Result api_route_campaign_add(struct api_req *r);
enum MHD_Result api_route_campaign_list(struct api_req *r);
enum MHD_Result api_route_campaign_get(struct api_req *r);
enum MHD_Result api_route_campaign_patch(struct api_req *r);
enum MHD_Result api_route_consumer_me(struct api_req *r);
enum MHD_Result api_route_consumer_export(struct api_req *r);
enum MHD_Result api_route_consumer_erase(struct api_req *r);
enum MHD_Result api_route_redemption(struct api_req *r);
enum MHD_Result api_route_catalogue(struct api_req *r);
enum MHD_Result api_route_catalogue_add(struct api_req *r);
enum MHD_Result api_route_voucher_redeem(struct api_req *r);
enum MHD_Result api_route_payouts(struct api_req *r);
enum MHD_Result api_route_payouts_paid(struct api_req *r);
enum MHD_Result api_route_freeze(struct api_req *r);
enum MHD_Result api_route_claims(struct api_req *r);
/* Tokens for machines, made and revoked by an admin (routes_session.c). */
enum MHD_Result api_route_token_add(struct api_req *r);
enum MHD_Result api_route_token_list(struct api_req *r);
enum MHD_Result api_route_regions(struct api_req *r);
enum MHD_Result api_route_batch_list(struct api_req *r);
enum MHD_Result api_route_channel_qr(struct api_req *r);
enum MHD_Result api_route_territory_get(struct api_req *r);
enum MHD_Result api_route_token_revoke(struct api_req *r);
enum MHD_Result api_route_claim_release(struct api_req *r);
enum MHD_Result api_route_claim_reject(struct api_req *r);
/* The audience's reports (routes_audience.c). */
enum MHD_Result api_route_report_experiment(struct api_req *r);
enum MHD_Result api_route_report_channels(struct api_req *r);
enum MHD_Result api_route_report_segments(struct api_req *r);
enum MHD_Result api_route_segment_consumers(struct api_req *r);
/* A variant's landing offer {headline, image_url?, cta?}, or null. */
json_t *api_offer_json(const struct yima_variant *v);

/* Loads web/landing.html and computes its CSP. Returns 0 or an error. */
int api_web_load(struct api_server *srv, char *why);
/*
 * Loads the dashboard's files from web and (ECharts, the map) assets; a
 * missing asset is a warning, not an error. Free with api_static_free().
 */
int api_static_load(const char *web, const char *assets,
    struct api_static **out, char *why);
void api_static_free(struct api_static *s);

#endif /* API_ROUTES_H */
