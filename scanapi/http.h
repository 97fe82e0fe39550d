/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP layer: libmicrohttpd daemon, requests, bounded bodies,
 * routing by a table it is given, responses. It knows no route and no
 * domain module: the routes layer (routes.h) gives it its table and the
 * hooks below, and r->srv, which it only passes along.
 */
#ifndef API_HTTP_H
#define API_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "ratelimit.h"

#define API_BODY_MAX	16384	/* bytes; larger bodies get 413 */
#define API_BULK_MAX	(1 << 20)	/* packs, shipments, receipts: 10,000 codes */
#define API_JSON_DEPTH	8	/* nesting allowed in a request body */
#define API_PARAM_MAX	600	/* path parameter bytes kept */
#define API_URI_MAX	4096	/* request target bytes; longer gets 414 */
#define API_ARGS_MAX	64	/* query arguments; more gets 414 */

struct api_req;
struct api_server;	/* the routes layer's (routes.h): passed along */
struct api_tracker;

/* A path is literal but for '*', which matches one segment: the param. */
struct api_route {
	int		 id;		/* for metrics and the log */
	const char	*method;
	const char	*path;
	enum MHD_Result	(*fn)(struct api_req *);
	int		 bulk;		/* roles that may send up to API_BULK_MAX
					   bytes (checked before the body) */
};

/* The HTTP layer's settings, services, hooks and state. */
struct api_http {
	const char	*listen;	/* host:port */
	int		 threads;
	int		 conn_limit;
	int		 conn_timeout;	/* seconds */
	const struct api_proxies *proxies;	/* whose forwarding counts */
	struct api_ratelimit *ip_rl;
	struct api_log	*log;
	struct api_metrics *metrics;
	/* The routes layer's: its table and the names of route ids. */
	const struct api_route *routes;
	size_t		 nroutes;
	const char *const *route_names;
	size_t		 req_ext;	/* bytes of route state per request */
	struct api_server *app;		/* r->srv */
	/* The bytes the bearer may send to a bulk route (roles), or 0
	 * with *res queued. */
	size_t		(*bulk_ok)(struct api_req *r, int roles,
			    enum MHD_Result *res);
	/* A held request's answer is ready (api_req_ready): answers it. */
	enum MHD_Result	(*ready)(struct api_req *r);
	/* Writer conflicts the thread met so far, and the wait before a
	 * route runs again after one. */
	unsigned long	(*conflicts)(void);
	void		(*conflict_wait)(int runs);
	/* Stopping: no request is accepted; answer the held ones. */
	void		(*drain)(struct api_server *srv);
	/* State. */
	struct MHD_Daemon *mhd;
	uint16_t	 port;		/* bound port */
	struct api_tracker *tracker;	/* slow-client deadlines */
	_Atomic uint64_t inflight;
};

/* One request, from its first callback to its completion. */
struct api_req {
	struct api_server	*srv;
	struct api_http		*http;
	struct MHD_Connection	*conn;
	int			 route;
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
	void			*ext;		/* the route's state: req_ext
						   bytes, zeroed */
	_Atomic int		 held;		/* 0 none, 1 held, 2 ready,
						   3 answered */
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

/* Starts the daemon; fills http->port. Returns 0 or YIMA_EIO with why. */
int api_http_start(struct api_http *http, char *why);
/* Stops accepting, lets in-flight requests finish, then stops. */
void api_http_stop(struct api_http *http);

/* Responses: each queues one and returns the MHD result. */
enum MHD_Result api_reply(struct api_req *r, int status, const char *type,
    const void *data, size_t len, const char *const *headers);
/* The same for data that outlives the response (not copied). */
enum MHD_Result api_reply_const(struct api_req *r, int status,
    const char *type, const void *data, size_t len,
    const char *const *headers);
enum MHD_Result api_reply_json(struct api_req *r, int status, json_t *obj);
/* The same with headers of one's own (Cache-Control too). */
enum MHD_Result api_reply_json_hdr(struct api_req *r, int status,
    json_t *obj, const char *const *hdr);
enum MHD_Result api_reply_error(struct api_req *r, int status,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Parses the body as a JSON object after checking Content-Type and
 * nesting. Returns the object, or NULL after queuing 415/400.
 */
json_t *api_body_json(struct api_req *r, enum MHD_Result *res);
/*
 * Holds r (its route answers later, from another thread): suspends the
 * slow-client deadline of its connection until the answer, since a scan
 * waiting for the writer has been accepted and will be stored. The route
 * then returns MHD_YES; the other thread calls api_req_ready(), and the
 * http->ready hook answers.
 */
void api_req_hold(struct api_req *r);
void api_req_ready(struct api_req *r);
/* Undoes api_req_hold, to answer at once after all. */
void api_req_unhold(struct api_req *r);
/*
 * A "YYYY-MM-DD" query argument as days since 1970-01-01; def when
 * absent. 0, or -1 when it is not a date.
 */
int api_query_day(struct api_req *r, const char *key, int64_t def,
    int64_t *day);
/*
 * The "limit" query argument, 1 to max, into *n (left alone when absent).
 * 0, or -1 when it is not such a number (the caller answers 400).
 */
int api_query_limit(struct api_req *r, long max, long *n);
/* The path's numeric id (the route's *), or 0 when it is not one. */
int64_t api_path_id(const struct api_req *r);
/* The day (UTC+8 days since 1970) as YYYY-MM-DD. */
void api_day_text(int64_t day, char *out, size_t len);
/* A region filter: 2, 4 or 6 digits, trailing "00" levels dropped into
 * out. 0, or -1 when v is none. */
int api_region_arg(const char *v, char out[7]);
/* Per-address rate limit; 0 after queuing 429. */
int api_rate_ok(struct api_req *r, enum MHD_Result *res);

/*
 * Appends s percent-encoded to b, for a path segment or a query value:
 * RFC 3986's unreserved characters and ':' stay. 0 or YIMA_ENOMEM.
 */
int api_url_escape(struct yima_buf *b, const char *s);

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
