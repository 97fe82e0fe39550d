/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP layer (http.h): request lifecycle, routing, bodies, replies. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "../codegen/err-private.h"
#include "http.h"


/* Whether p..end starts with "/NN/value" (a GS1 AI pair); its end. */
static const char *
ai_pair(const char *p)
{
	const char *v;

	if (p[0] != '/' || p[1] < '0' || p[1] > '9' || p[2] < '0' ||
	    p[2] > '9' || p[3] != '/' || p[4] == '/' || p[4] == '\0')
		return NULL;
	for (v = p + 4; *v != '\0' && *v != '/'; v++)
		;
	return v;
}

/*
 * Matches url against a route path; on success *param and *plen (may be
 * NULL) give the segment '*' matched, or all the rest a final "**" did.
 * A '*' takes a GS1 Digital Link path too ("/01/{gtin}/21/{S}", its AI
 * pairs, with its first slash), so that every route of a code takes a
 * DL code.
 */
static int
path_match(const char *path, const char *url, const char **param,
    size_t *plen)
{
	const char *star = strchr(path, '*'), *seg_end, *q;
	size_t pre;

	if (star == NULL)
		return strcmp(path, url) == 0;
	pre = (size_t)(star - path);
	if (strncmp(path, url, pre) != 0)
		return 0;
	url += pre;
	if (strcmp(star, "**") == 0 && *url != '\0') {
		*param = url;
		*plen = strlen(url);
		return 1;
	}
	if ((seg_end = strchr(url, '/')) == NULL)
		seg_end = url + strlen(url);
	if (seg_end == url)
		return 0;
	if (strcmp(star + 1, seg_end) != 0) {
		/* "/01/" and its pairs, then what follows the '*': the
		 * param is the path with its slash, as a code reads it. */
		if (strncmp(url, "01/", 3) != 0)
			return 0;
		for (q = --url; (seg_end = ai_pair(q)) != NULL &&
		    strcmp(star + 1, seg_end) != 0; q = seg_end)
			;
		if (seg_end == NULL)
			return 0;
	}
	*param = url;
	*plen = (size_t)(seg_end - url);
	return 1;
}

/*
 * libmicrohttpd's timeout restarts with every byte, so a client sending a
 * header line now and then would hold its connection for ever. Each
 * connection therefore gets a deadline for its current request, counted
 * from its accept or its previous answer, and a reaper thread shuts down
 * the ones that pass it unanswered.
 */
struct track {
	MHD_socket	 fd;
	_Atomic uint64_t since_us;	/* start of the current request */
	_Atomic int	 answered;	/* a response is queued, or the
					   request waits for the writer */
	int		 reaped;
	struct track	*prev, *next;
};

struct api_tracker {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct track	*head;
	uint64_t	 limit_us;
	int		 stop;
	pthread_t	 thread;
};

static void *
reaper(void *arg)
{
	struct api_tracker *tk = arg;
	struct timespec ts;
	struct track *t;
	uint64_t now, since;

	pthread_mutex_lock(&tk->lock);
	while (!tk->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&tk->cond, &tk->lock, &ts);
		now = api_mono_us();
		for (t = tk->head; t != NULL; t = t->next) {
			/* since may be newer than now: never subtract then. */
			since = atomic_load(&t->since_us);
			if (!t->reaped && !atomic_load(&t->answered) &&
			    since < now && now - since > tk->limit_us) {
				/* MHD sees the socket fail and closes it. */
				shutdown(t->fd, SHUT_RDWR);
				t->reaped = 1;
			}
		}
	}
	pthread_mutex_unlock(&tk->lock);
	return NULL;
}

static struct track *
track_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct api_http *http = cls;
	struct api_tracker *tk = http->tracker;
	const union MHD_ConnectionInfo *ci;
	struct track *t = *ctx;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL || (t = yima_calloc(1, sizeof(*t))) == NULL)
			return;
		t->fd = ci->connect_fd;
		atomic_store(&t->since_us, api_mono_us());
		pthread_mutex_lock(&tk->lock);
		t->next = tk->head;
		if (tk->head != NULL)
			tk->head->prev = t;
		tk->head = t;
		pthread_mutex_unlock(&tk->lock);
		*ctx = t;
	} else if (t != NULL) {
		pthread_mutex_lock(&tk->lock);
		if (t->prev != NULL)
			t->prev->next = t->next;
		else
			tk->head = t->next;
		if (t->next != NULL)
			t->next->prev = t->prev;
		pthread_mutex_unlock(&tk->lock);
		yima_free(t);
		*ctx = NULL;
	}
}

int64_t
api_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
api_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int
api_url_escape(struct yima_buf *b, const char *s)
{
	int rc = 0;

	for (; *s != '\0' && rc == 0; s++)
		rc = isalnum((unsigned char)*s) || strchr("-._~:", *s) != NULL ?
		    yima_buf_append(b, s, 1) : yima_buf_printf(b, "%%%02X",
		    (unsigned char)*s);
	return rc;
}

void
api_rfc3339(int64_t ms, char *out, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%.24s.%03dZ", base, (int)(ms % 1000));
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
api_rfc3339_parse(const char *s, int64_t *ms)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, mo, d, h, mi, sec, n = 0, oh, om, frac = 0, digits = 0;
	int64_t off = 0, v;
	const char *p;

	if (strlen(s) > 40 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo,
	    &d, &h, &mi, &sec, &n) != 6 || n != 19 || s[4] != '-' ||
	    s[7] != '-' || (s[10] != 'T' && s[10] != 't'))
		return -1;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] || (mo == 2 && d == 29 && (y % 4 != 0 ||
	    (y % 100 == 0 && y % 400 != 0))) || h > 23 || mi > 59 ||
	    sec > 59 || h < 0 || mi < 0 || sec < 0)
		return -1;
	p = s + 19;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		if (digits == 0)
			return -1;
		while (digits < 3)
			frac *= 10, digits++;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d%n", &oh,
	    &om, &n) == 2 && n == 5 && oh <= 23 && om <= 59 && oh >= 0 &&
	    om >= 0) {
		off = ((int64_t)oh * 60 + om) * 60000 * (*p == '-' ? -1 : 1);
		p += 6;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	v = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
	*ms = v * 1000 + frac - off;
	return 0;
}

/* Finds the route; sets preset 404 or 405 when there is none. */
static const struct api_route *
match(struct api_req *r, const char *url, const char *method)
{
	const struct api_route *rt, *path_hit = NULL;
	const char *param = NULL;
	size_t i, plen = 0;

	for (i = 0; i < r->http->nroutes; i++) {
		rt = &r->http->routes[i];
		if (!path_match(rt->path, url, &param, &plen))
			continue;
		path_hit = rt;
		/* HEAD is GET without the body, which MHD leaves out. */
		if (strcmp(method, rt->method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		    strcmp(rt->method, "GET") == 0)) {
			if (param != NULL) {
				r->param_len = plen;
				snprintf(r->param, sizeof(r->param), "%.*s",
				    (int)(plen < API_PARAM_MAX ? plen :
				    API_PARAM_MAX), param);
			}
			return rt;
		}
	}
	r->preset = path_hit != NULL ? 405 : 404;
	if (path_hit != NULL)
		r->route = path_hit->id;
	return NULL;
}

static enum MHD_Result
reply(struct api_req *r, int status, const char *type, const void *data,
    size_t len, const char *const *headers, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	struct track *t;
	size_t i;

	/*
	 * A store conflict turned into this answer: nothing was kept, so
	 * the route runs again instead (see run_route()).
	 */
	if (r->rerun_ok && r->http->conflicts() != r->conflicts) {
		r->rerun = 1;
		return MHD_YES;
	}
	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data,
	    mode);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	for (i = 0; headers != NULL && headers[i] != NULL; i += 2)
		MHD_add_response_header(resp, headers[i], headers[i + 1]);
	ret = MHD_queue_response(r->conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	r->status = status;
	if ((t = track_of(r->conn)) != NULL)
		atomic_store(&t->answered, 1);
	return ret;
}

enum MHD_Result
api_reply(struct api_req *r, int status, const char *type, const void *data,
    size_t len, const char *const *headers)
{
	return reply(r, status, type, data, len, headers,
	    MHD_RESPMEM_MUST_COPY);
}

enum MHD_Result
api_reply_const(struct api_req *r, int status, const char *type,
    const void *data, size_t len, const char *const *headers)
{
	return reply(r, status, type, data, len, headers,
	    MHD_RESPMEM_PERSISTENT);
}

static const char no_memory[] = "{\"error\":{\"code\":\"internal\","
    "\"message\":\"out of memory\"}}";

enum MHD_Result
api_reply_json(struct api_req *r, int status, json_t *obj)
{
	static const char *const hdr[] = { "Cache-Control", "no-store", NULL };

	return api_reply_json_hdr(r, status, obj, hdr);
}

enum MHD_Result
api_reply_json_hdr(struct api_req *r, int status, json_t *obj,
    const char *const *hdr)
{
	enum MHD_Result ret;
	char *text;

	/* 15 digits: 0.3 stays 0.3, and a coordinate keeps its metre. */
	text = obj != NULL ? json_dumps(obj, JSON_COMPACT |
	    JSON_REAL_PRECISION(15)) : NULL;
	json_decref(obj);
	if (text == NULL)
		return api_reply(r, 500, "application/json", no_memory,
		    sizeof(no_memory) - 1, hdr);
	ret = api_reply(r, status, "application/json", text, strlen(text), hdr);
	free(text);
	return ret;
}

enum MHD_Result
api_reply_error(struct api_req *r, int status, const char *code,
    const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	if (o == NULL)
		return MHD_NO;
	return api_reply_json(r, status, o);
}

/* Deepest nesting of [ and { outside strings. */
static int
json_depth(const char *s, size_t n)
{
	int d = 0, max = 0, in_str = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = 0;
			continue;
		}
		if (s[i] == '"')
			in_str = 1;
		else if (s[i] == '{' || s[i] == '[') {
			if (++d > max)
				max = d;
		} else if (s[i] == '}' || s[i] == ']')
			d--;
	}
	return max;
}

json_t *
api_body_json(struct api_req *r, enum MHD_Result *res)
{
	const char *ct;
	json_error_t err;
	json_t *o;
	size_t n;

	ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Content-Type");
	/* JSON-LD (EPCIS documents) is JSON too */
	n = ct == NULL ? 0 : strncasecmp(ct, "application/json", 16) == 0 ?
	    16 : strncasecmp(ct, "application/ld+json", 19) == 0 ? 19 : 0;
	if (n == 0 || (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' ')) {
		*res = api_reply_error(r, 415, "unsupported_media_type",
		    "the body must be application/json");
		return NULL;
	}
	if (json_depth(r->body, r->len) > API_JSON_DEPTH) {
		*res = api_reply_error(r, 400, "bad_json",
		    "JSON nested deeper than %d levels", API_JSON_DEPTH);
		return NULL;
	}
	o = json_loadb(r->body ? r->body : "", r->len,
	    JSON_REJECT_DUPLICATES, &err);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		*res = api_reply_error(r, 400, "bad_json",
		    "the body must be a JSON object");
		return NULL;
	}
	return o;
}

static const char limited_ip[] = "{\"error\":{\"code\":\"rate_limited\","
    "\"message\":\"too many requests from this address\"}}";

int
api_rate_ok(struct api_req *r, enum MHD_Result *res)
{
	char retry[16];
	const char *hdr[] = { "Retry-After", retry, NULL };
	int secs;

	if (r->runs > 1)
		return 1;	/* taken on the first run */
	if (api_ratelimit_take(r->http->ip_rl, r->client, strlen(r->client),
	    &secs))
		return 1;
	snprintf(retry, sizeof(retry), "%d", secs);
	*res = api_reply(r, 429, "application/json", limited_ip,
	    sizeof(limited_ip) - 1, hdr);
	return 0;
}

struct hops {
	const char	*name;		/* the header's name */
	char		 buf[2 * API_HOPS_MAX];
	size_t		 len;
};

/* Joins every value of one header, in order, keeping the newest bytes. */
static enum MHD_Result
hop_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct hops *h = cls;
	size_t n, drop;

	(void)kind;
	if (key == NULL || value == NULL || strcasecmp(key, h->name) != 0)
		return MHD_YES;
	n = strlen(value);
	if (n > API_HOPS_MAX) {
		value += n - API_HOPS_MAX;
		n = API_HOPS_MAX;
	}
	if (h->len + n + 2 > sizeof(h->buf)) {
		drop = h->len + n + 2 - sizeof(h->buf);
		memmove(h->buf, h->buf + drop, h->len - drop);
		h->len -= drop;
	}
	if (h->len > 0)
		h->buf[h->len++] = ',';
	memcpy(h->buf + h->len, value, n);
	h->len += n;
	h->buf[h->len] = '\0';
	return MHD_YES;
}

/*
 * The client's address: the peer's, or, when the peer is a trusted
 * proxy, the rightmost untrusted hop its forwarding header names (what
 * a client wrote there itself stands left of what the proxies added).
 * The same proxy says whether the client came over HTTPS.
 */
static void
client_addr(struct api_req *r)
{
	const struct api_proxies *px = r->http->proxies;
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;
	const char *proto;
	struct hops h;

	strcpy(r->client, "unknown");
	ci = MHD_get_connection_info(r->conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, r->client, sizeof(r->client));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr, r->client,
		    sizeof(r->client));
	if (!api_proxies_trust(px, r->client))
		return;
	h.name = px->header == API_PROXY_XFF ? "X-Forwarded-For" :
	    "Forwarded";
	h.len = 0;
	h.buf[0] = '\0';
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, hop_header, &h);
	if (h.len > 0)
		api_proxy_client(px, h.buf, r->client, sizeof(r->client),
		    &r->https);
	if (px->header != API_PROXY_XFF)
		return;
	/* The proxy's own word is the last, whatever the client sent. */
	h.name = "X-Forwarded-Proto";
	h.len = 0;
	h.buf[0] = '\0';
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, hop_header, &h);
	proto = strrchr(h.buf, ',');
	proto = proto != NULL ? proto + 1 : h.buf;
	while (*proto == ' ' || *proto == '\t')
		proto++;
	r->https = strncasecmp(proto, "https", 5) == 0 && (proto[5] == '\0' ||
	    proto[5] == ' ' || proto[5] == '\t');
}

const char *
api_cookie_secure(const struct api_req *r)
{
	return r->https ? "; Secure" : "";
}

void
api_req_hold(struct api_req *r)
{
	struct track *t = track_of(r->conn);

	if (t != NULL)
		atomic_store(&t->answered, 1);
	atomic_store(&r->held, 1);
	MHD_suspend_connection(r->conn);
}

void
api_req_unhold(struct api_req *r)
{
	MHD_resume_connection(r->conn);
	atomic_store(&r->held, 0);
}

void
api_req_ready(struct api_req *r)
{
	atomic_store(&r->held, 2);
	MHD_resume_connection(r->conn);
}

/* Grows the body buffer to hold need bytes (doubling, within the limit). */
static int
grow_body(struct api_req *r, size_t need)
{
	size_t cap = r->cap ? r->cap : 4096;
	char *p;

	while (cap < need)
		cap *= 2;
	if (cap > r->limit + 1)
		cap = r->limit + 1;
	if ((p = yima_realloc(r->body, cap)) == NULL)
		return -1;
	r->body = p;
	r->cap = cap;
	return 0;
}

#define ROUTE_CONFLICTS_MAX	10	/* runs again after a store conflict */
#define REQ_SIZE	((sizeof(struct api_req) + 15) & ~(size_t)15)

/*
 * Runs a route. A route writes in one transaction at most, and one that
 * met a conflict with another writer kept nothing: its answer is dropped
 * (reply()) and it runs again whole, after a wait, a bounded number of
 * times; the last run's answer stands.
 */
static enum MHD_Result
run_route(struct api_req *r, const struct api_route *rt)
{
	enum MHD_Result res;

	for (r->runs = 1;; r->runs++) {
		r->conflicts = r->http->conflicts();
		r->rerun_ok = r->runs <= ROUTE_CONFLICTS_MAX;
		res = rt->fn(r);
		r->rerun_ok = 0;
		if (!r->rerun)
			return res;
		r->rerun = 0;
		r->http->conflict_wait(r->runs);
	}
}

/*
 * Called on the request line, before MHD parses the query: makes the
 * request's state. MHD 0.9.75 keeps every query argument in the
 * connection's 32 KB pool and, when a few hundred exhaust it, neither
 * answers nor closes until the timeout. A target we refuse anyway has
 * its '&'s folded (in MHD's own buffer, which it parses next) so that
 * it is one argument, and on_request() answers 414 at once. (That MHD
 * parses the query after this call, in place, holds for 0.9.75 to 1.0.)
 */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct api_http *http = cls;
	struct api_req *r;
	char *p;
	int args = 0;

	/* The route's state after the request's, aligned as malloc's. */
	if ((r = yima_calloc(1, REQ_SIZE + http->req_ext)) == NULL)
		return NULL;
	r->srv = http->app;
	r->http = http;
	r->ext = (char *)r + REQ_SIZE;
	r->conn = conn;
	r->t0_us = api_mono_us();
	atomic_fetch_add(&http->inflight, 1);
	if (uri == NULL)
		return r;	/* MHD refuses such a request line itself */
	if ((p = strchr(uri, '?')) != NULL)
		for (args = 1; (p = strchr(p, '&')) != NULL; p++)
			args++;
	if (strlen(uri) > API_URI_MAX || args > API_ARGS_MAX) {
		r->preset = 414;
		for (p = (char *)(uintptr_t)uri; *p != '\0'; p++)
			if (*p == '&')
				*p = '_';
	}
	return r;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct api_req *r = *con_cls;
	const struct api_route *rt;
	enum MHD_Result res;
	const char *cl, *te;

	(void)cls;	/* the layer is r->http, set by on_uri() */
	(void)version;
	if (r == NULL)
		return MHD_NO;	/* on_uri() ran out of memory */
	if (r->method == NULL) {
		r->method = strcmp(method, "GET") == 0 ? "GET" :
		    strcmp(method, "POST") == 0 ? "POST" :
		    strcmp(method, "PUT") == 0 ? "PUT" :
		    strcmp(method, "DELETE") == 0 ? "DELETE" :
		    strcmp(method, "PATCH") == 0 ? "PATCH" :
		    strcmp(method, "HEAD") == 0 ? "HEAD" :
		    strcmp(method, "OPTIONS") == 0 ? "OPTIONS" : "OTHER";
		client_addr(r);
		r->limit = API_BODY_MAX;
		if (r->preset == 414)
			return api_reply_error(r, 414, "uri_too_long", "the "
			    "request target is longer than %d bytes or has "
			    "more than %d arguments", API_URI_MAX,
			    API_ARGS_MAX);
		te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    "Transfer-Encoding");
		/* MHD would wait for a body it cannot delimit: say so now. */
		if (te != NULL && strcasecmp(te, "chunked") != 0)
			return api_reply_error(r, 501, "not_implemented",
			    "Transfer-Encoding other than chunked is not "
			    "supported");
		if ((rt = match(r, url, method)) != NULL) {
			r->route = rt->id;
			/* Only a caller who may send a megabyte gets to. */
			if (rt->bulk) {
				if ((r->limit = r->http->bulk_ok(r, rt->bulk,
				    &res)) == 0)
					return res;
			}
		}
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    "Content-Length");
		/* A declared oversize body is refused before it is read. */
		if (cl != NULL && strtoull(cl, NULL, 10) > r->limit) {
			r->too_big = 1;
			return api_reply_error(r, 413, "too_large",
			    "the body is larger than %zu bytes", r->limit);
		}
		/* Answer on a later call: MHD keeps the connection alive. */
		return MHD_YES;
	}
	if (r->status != 0)
		return MHD_YES;	/* answered early; the rest is discarded */
	if (*upload_size > 0) {
		if (!r->too_big && r->len + *upload_size <= r->limit) {
			if (r->len + *upload_size + 1 > r->cap &&
			    grow_body(r, r->len + *upload_size + 1) != 0)
				return MHD_NO;
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = '\0';
		} else
			r->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	if (atomic_load(&r->held) == 2) {
		atomic_store(&r->held, 3);
		return r->http->ready(r);
	}
	if (atomic_load(&r->held) != 0)
		return MHD_YES;	/* held, or already answered */
	if (r->too_big)
		return api_reply_error(r, 413, "too_large",
		    "the body is larger than %zu bytes", r->limit);
	if (r->preset == 404)
		return api_reply_error(r, 404, "not_found", "no such route");
	if (r->preset == 405)
		return api_reply_error(r, 405, "method_not_allowed",
		    "method not allowed on this route");
	return run_route(r, match(r, url, method));
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct api_http *http = cls;
	struct api_req *r = *con_cls;
	struct track *t;
	uint64_t us;

	(void)toe;
	/* A kept-alive connection starts a new deadline for its next request. */
	if ((t = track_of(conn)) != NULL) {
		atomic_store(&t->since_us, api_mono_us());
		atomic_store(&t->answered, 0);
	}
	if (r == NULL)
		return;
	us = api_mono_us() - r->t0_us;
	api_metrics_request(http->metrics, r->route, r->status, us);
	/* No method: MHD refused the request before on_request() saw it. */
	api_log_request(http->log, r->method ? r->method : "-",
	    http->route_names[r->route], r->status, us, r->verdict);
	yima_free(r->body);
	yima_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&http->inflight, 1);
}

/* Splits "host:port" ("[v6]:port" too) into a socket address. */
static int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
    char *why)
{
	char host[128];
	const char *colon;
	unsigned long port;
	char *end;
	size_t n;
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if ((colon = strrchr(s, ':')) == NULL)
		goto bad;
	n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, s, n);
	host[n] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port > 65535)
		goto bad;
	if (host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) != 1)
			goto bad;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &v4->sin_addr) != 1)
		goto bad;
	v4->sin_family = AF_INET;
	v4->sin_port = htons((uint16_t)port);
	*len = sizeof(*v4);
	return 0;
bad:
	return yima_why_(why, YIMA_EINVAL, "--listen must be ADDRESS:PORT, "
	    "e.g. 127.0.0.1:8080 or [::1]:8080");
}

/* Stops the reaper and frees the tracker (connections are gone). */
static void
tracker_free(struct api_http *http)
{
	struct api_tracker *tk = http->tracker;

	if (tk == NULL)
		return;
	pthread_mutex_lock(&tk->lock);
	tk->stop = 1;
	pthread_cond_signal(&tk->cond);
	pthread_mutex_unlock(&tk->lock);
	if (tk->thread)
		pthread_join(tk->thread, NULL);
	pthread_mutex_destroy(&tk->lock);
	pthread_cond_destroy(&tk->cond);
	yima_free(tk);
	http->tracker = NULL;
}

int
api_http_start(struct api_http *http, char *why)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *di;
	socklen_t slen;
	unsigned int flags;
	int rc;

	if ((rc = parse_listen(http->listen, &ss, &slen, why)) != 0)
		return rc;
	if ((http->tracker = yima_calloc(1, sizeof(*http->tracker))) == NULL)
		return yima_why_(why, YIMA_ENOMEM, "out of memory");
	pthread_mutex_init(&http->tracker->lock, NULL);
	pthread_cond_init(&http->tracker->cond, NULL);
	http->tracker->limit_us = (uint64_t)http->conn_timeout * 1000000;
	if (pthread_create(&http->tracker->thread, NULL, reaper,
	    http->tracker) != 0) {
		tracker_free(http);
		return yima_why_(why, YIMA_EIO, "cannot start a thread");
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	http->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, http,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)http->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)http->conn_limit,
	    /* One address may not take every connection. */
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned int)(http->conn_limit / 2),
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, http,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)http->conn_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, http,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, http,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
	    MHD_OPTION_END);
	if (http->mhd == NULL) {
		tracker_free(http);
		return yima_why_(why, YIMA_EIO, "cannot listen on %s",
		    http->listen);
	}
	di = MHD_get_daemon_info(http->mhd, MHD_DAEMON_INFO_BIND_PORT);
	http->port = di != NULL ? di->port : 0;
	return 0;
}

void
api_http_stop(struct api_http *http)
{
	uint64_t t0 = api_mono_us();
	MHD_socket s;

	if (http->mhd == NULL)
		return;
	/*
	 * Stop accepting; answer every queued scan (the writer resumes its
	 * connection, and MHD must not stop with one suspended); then give
	 * the rest in flight up to 10 s to finish.
	 */
	s = MHD_quiesce_daemon(http->mhd);
	if (s != MHD_INVALID_SOCKET)
		close(s);
	http->drain(http->app);
	while (atomic_load(&http->inflight) > 0 &&
	    api_mono_us() - t0 < 10 * 1000000ULL)
		usleep(10000);
	MHD_stop_daemon(http->mhd);
	http->mhd = NULL;
	tracker_free(http);
}

int
api_query_limit(struct api_req *r, long max, long *n)
{
	const char *v = MHD_lookup_connection_value(r->conn,
	    MHD_GET_ARGUMENT_KIND, "limit");
	size_t len = v != NULL ? strlen(v) : 0;
	long x;

	if (v == NULL)
		return 0;
	/* Digits only, and few: no sign, no space, no overflow. */
	if (len == 0 || len > 9 || strspn(v, "0123456789") != len ||
	    (x = strtol(v, NULL, 10)) < 1 || x > max)
		return -1;
	*n = x;
	return 0;
}

int64_t
api_path_id(const struct api_req *r)
{
	char *end;
	long long v;

	if (r->param_len == 0 || r->param_len > 18 ||
	    strspn(r->param, "0123456789") != r->param_len)
		return 0;
	v = strtoll(r->param, &end, 10);
	return v > 0 ? (int64_t)v : 0;
}
