/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP layer: libmicrohttpd daemon, requests, routing, responses. */
#ifndef API_HTTP_H
#define API_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "yima/geo.h"
#include "yima/keyring.h"
#include "yima/store.h"

#include "auth.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "ratelimit.h"
#include "reward.h"
#include "scanq.h"
#include "verdict.h"

#define API_BODY_MAX	16384	/* bytes; larger bodies get 413 */
#define API_BULK_MAX	(1 << 20)	/* packs, shipments, receipts: 10,000 codes */
#define API_JSON_DEPTH	8	/* nesting allowed in a request body */
#define API_PARAM_MAX	600	/* path parameter bytes kept */
#define API_URI_MAX	4096	/* request target bytes; longer gets 414 */
#define API_ARGS_MAX	64	/* query arguments; more gets 414 */

enum api_route {
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
	R_DASHBOARD
};

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
	struct api_reward_cfg reward;
	struct api_proxies proxies;	/* whose forwarding headers count */
};

struct api_tracker;
struct api_static;

struct api_server {
	struct api_config	 cfg;
	struct yima_store	*st;
	struct api_keys		 keys;		/* verifies codes, manifests */
	struct yima_mac		*cid_mac;	/* signs consumer ids */
	struct yima_mac		*cid_legacy;	/* signed them before; or NULL */
	struct yima_mac		*sketch_mac;	/* hashes them for rollups */
	struct yima_geo		*geo;		/* NULL: no region data */
	struct MHD_Daemon	*mhd;
	struct api_scanq	*q;
	struct api_log		*log;
	struct api_ratelimit	*ip_rl, *cid_rl;
	struct api_metrics	 metrics;
	_Atomic uint64_t	 inflight;
	char			*landing;	/* page with a {{LANG}} slot */
	size_t			 landing_len;
	char			 landing_csp[512];
	struct api_static	*statics;	/* the dashboard's files */
	uint16_t		 port;		/* bound port */
	struct api_tracker	*tracker;	/* slow-client deadlines */
};

/* One request, from its first callback to its completion. */
struct api_req {
	struct api_server	*srv;
	struct MHD_Connection	*conn;
	enum api_route		 route;
	const char		*method;
	int			 status;	/* answered status, for logs */
	int			 preset;	/* 404/405/413 decided early */
	char			*body;
	size_t			 len;
	size_t			 cap;		/* bytes allocated for body */
	size_t			 limit;		/* largest body this route takes */
	int			 too_big;
	uint64_t		 t0_us;
	const char		*verdict;	/* for the log line */
	char			 param[API_PARAM_MAX + 1];
	size_t			 param_len;	/* may exceed what is kept */
	char			 client[48];
	int			 https;		/* said by a trusted proxy */
	struct api_job		 job;
	_Atomic int		 job_state;	/* 0 none, 1 queued, 2 done */
	char			 cid_full[API_TOKEN_LEN + 16];	/* issued id */
	int			 cid_new;
	int			 runs;		/* of the route, from 1 */
	int			 rerun_ok;	/* a conflict may run it again */
	int			 rerun;		/* ... and did: not answered */
	unsigned long		 conflicts;	/* the thread's, at the start */
};

/*
 * "; Secure" when the client came over HTTPS (as a trusted proxy says),
 * else "": to end a Set-Cookie value with.
 */
const char *api_cookie_secure(const struct api_req *r);

/* Starts the daemon; fills srv->port. Returns 0 or YIMA_EIO with why. */
int api_http_start(struct api_server *srv, char *why);
/* Stops accepting, lets in-flight requests finish, then stops. */
void api_http_stop(struct api_server *srv);

/* Responses: each queues one and returns the MHD result. */
enum MHD_Result api_reply(struct api_req *r, int status, const char *type,
    const void *data, size_t len, const char *const *headers);
/* The same for data that outlives the response (not copied). */
enum MHD_Result api_reply_const(struct api_req *r, int status,
    const char *type, const void *data, size_t len,
    const char *const *headers);
enum MHD_Result api_reply_json(struct api_req *r, int status, json_t *obj);
enum MHD_Result api_reply_error(struct api_req *r, int status,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Runs fill in a read transaction and answers 200 {"key": [...]}, or
 * 503 when the store fails. fill appends to list; 0 or a store error.
 */
enum MHD_Result api_reply_list(struct api_req *r, const char *key,
    int (*fill)(struct yima_tx *tx, json_t *list, const void *arg),
    const void *arg);

/*
 * Parses the body as a JSON object after checking Content-Type and
 * nesting. Returns the object, or NULL after queuing 415/400.
 */
json_t *api_body_json(struct api_req *r, enum MHD_Result *res);
/*
 * Checks the bearer token against roles (API_ROLE_* bits). Returns 1 if
 * allowed; else queues 401/403/503, stores the result in *res, returns 0.
 */
int api_require(struct api_req *r, int roles, struct yima_token *t,
    enum MHD_Result *res);
/*
 * Suspends the slow-client deadline of r's connection until its answer:
 * a scan waiting for the writer has been accepted and will be stored.
 */
void api_req_hold(struct api_req *r);
/*
 * A "YYYY-MM-DD" query argument as days since 1970-01-01; def when
 * absent. 0, or -1 when it is not a date.
 */
int api_query_day(struct api_req *r, const char *key, int64_t def,
    int64_t *day);
/* Per-address rate limit; 0 after queuing 429. */
int api_rate_ok(struct api_req *r, enum MHD_Result *res);

/* Route handlers (routes_*.c); called once the body is complete. */
enum MHD_Result api_route_scans(struct api_req *r);
enum MHD_Result api_route_scans_done(struct api_req *r);
enum MHD_Result api_route_codes(struct api_req *r);
enum MHD_Result api_route_batches(struct api_req *r);
enum MHD_Result api_route_revocations(struct api_req *r);
enum MHD_Result api_route_landing(struct api_req *r);
enum MHD_Result api_route_static(struct api_req *r);
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

/* Loads web/landing.html and computes its CSP. Returns 0 or an error. */
int api_web_load(struct api_server *srv, char *why);
/*
 * Loads the dashboard's files from web and (ECharts, the map) assets; a
 * missing asset is a warning, not an error. Free with api_static_free().
 */
int api_static_load(const char *web, const char *assets,
    struct api_static **out, char *why);
void api_static_free(struct api_static *s);

/* Milliseconds since the epoch, and a monotonic microsecond clock. */
int64_t api_now_ms(void);
uint64_t api_mono_us(void);
/* RFC 3339 UTC with milliseconds for ms since the epoch. */
void api_rfc3339(int64_t ms, char *out, size_t len);
/*
 * Parses RFC 3339 ("2026-12-01T00:00:00+08:00", fractions and Z allowed)
 * into ms since the epoch. Returns 0 or -1.
 */
int api_rfc3339_parse(const char *s, int64_t *ms);

#endif /* API_HTTP_H */
