/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EPCIS 2.0 routes: the event query (and its offline twin, the export),
 * capture of packing, unpacking, shipping and receiving events about
 * yima's own codes, and the capture jobs' outcomes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "yima/buf.h"
#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "chain.h"
#include "epcis.h"
#include "routes.h"
#include "verdict.h"

#define PAGE_DEFAULT	100
#define PAGE_MAX	1000	/* events a page; ndjson: NDJSON_MAX */
#define NDJSON_MAX	10000

/* ---- the query ---- */

static const char *
arg(struct api_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    key);
}

/* "at.scan.id", the cursor after a page's last row. */
static int
token_parse(const char *s, struct yima_epcis_filter *f)
{
	long long at, id;
	int scan, n = 0;

	if (strlen(s) > 64 || sscanf(s, "%lld.%d.%lld%n", &at, &scan, &id,
	    &n) != 3 || s[n] != '\0' || at < 0 || (scan != 0 && scan != 1) ||
	    id < 0)
		return -1;
	f->after = 1;
	f->after_at = at;
	f->after_scan = scan;
	f->after_id = id;
	return 0;
}

/* The same query's next page, as a Link header's target. */
static void
next_link(struct api_req *r, const struct yima_epcis_filter *f, char *out,
    size_t len)
{
	static const char *const keys[] = { "from", "to", "type", "bizStep",
	    "epc", "limit", "format" };
	struct yima_buf b = YIMA_BUF_INIT;
	const char *v;
	size_t i;
	int rc = yima_buf_printf(&b, "</api/v1/epcis/events?nextPageToken=%"
	    PRId64 ".%d.%" PRId64, f->after_at, f->after_scan, f->after_id);

	for (i = 0; rc == 0 && i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = arg(r, keys[i])) != NULL && (rc = yima_buf_printf(&b,
		    "&%s=", keys[i])) == 0)
			rc = api_url_escape(&b, v);
	if (rc == 0)
		rc = yima_buf_puts(&b, ">; rel=\"next\"");
	/* (too long for the header: none, and the caller says so) */
	snprintf(out, len, "%s", rc == 0 && b.len < len ? b.data : "");
	yima_buf_free(&b);
}

static int
parse_time(const char *s, int64_t *ms)
{
	return s == NULL ? 0 : strlen(s) > 40 ? -1 : api_rfc3339_parse(s, ms);
}

enum MHD_Result
api_route_epcis_events(struct api_req *r)
{
	static const char *const args[] = { "from", "to", "type", "bizStep",
	    "epc", "limit", "nextPageToken", "format" };
	struct api_epcis_page pg;
	struct api_epcis_reader rd = { NULL, NULL, 0 };
	struct api_epcis x;
	struct yima_token t;
	struct yima_code c;
	struct yima_tx *tx = NULL;
	struct yima_buf nd = YIMA_BUF_INIT;
	enum MHD_Result res;
	const char *v, *fmt;
	char why[YIMA_WHY_MAX], link[4096], *line;
	const char *hdr[] = { "Cache-Control", "no-store", "Link", link,
	    NULL };
	size_t i;
	int rc, ndjson;
	long lim;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_DEALER, &t, &res))
		return res;
	memset(&pg, 0, sizeof(pg));
	pg.f.to = INT64_MAX;
	pg.f.events = pg.f.scans = 1;
	for (i = 0; i < sizeof(args) / sizeof(args[0]); i++)
		if ((v = arg(r, args[i])) != NULL && (v[0] == '\0' ||
		    strlen(v) > 512))
			return api_reply_error(r, 400, "bad_request",
			    "%s is empty or too long", args[i]);
	fmt = arg(r, "format");
	ndjson = fmt != NULL && strcmp(fmt, "ndjson") == 0;
	if (fmt != NULL && !ndjson && strcmp(fmt, "json") != 0)
		return api_reply_error(r, 400, "bad_request",
		    "format is json or ndjson");
	if (parse_time(arg(r, "from"), &pg.f.from) != 0 ||
	    parse_time(arg(r, "to"), &pg.f.to) != 0 || pg.f.from > pg.f.to)
		return api_reply_error(r, 400, "bad_request", "from and to are "
		    "RFC 3339 times, from before to");
	pg.limit = ndjson ? NDJSON_MAX : PAGE_DEFAULT;
	lim = pg.limit;
	if (api_query_limit(r, ndjson ? NDJSON_MAX : PAGE_MAX, &lim) != 0)
		return api_reply_error(r, 400, "bad_request", "limit is 1 to %d",
		    ndjson ? NDJSON_MAX : PAGE_MAX);
	pg.limit = (int)lim;
	if ((v = arg(r, "nextPageToken")) != NULL && token_parse(v, &pg.f) != 0)
		return api_reply_error(r, 400, "bad_request",
		    "nextPageToken is not one this service gave");
	if ((pg.type = arg(r, "type")) != NULL) {
		if (strcmp(pg.type, "AggregationEvent") == 0)
			pg.f.scans = 0;
		else if (strcmp(pg.type, "ObjectEvent") != 0)
			return api_reply_error(r, 400, "bad_request", "type is "
			    "ObjectEvent or AggregationEvent");
	}
	if ((pg.biz_step = arg(r, "bizStep")) != NULL) {
		char a[128];

		api_epcis_step_uri(pg.biz_step, a, sizeof(a));
		if (strcmp(a, API_EPCIS_NS "BizStep-consumer_verification") == 0)
			pg.f.events = 0;
		else
			pg.f.scans = 0;
	}
	if ((v = arg(r, "epc")) != NULL) {
		if (api_keys_verify(&r->srv->keys, v, strlen(v), &c, why) != 0)
			return api_reply_error(r, 400, "bad_request",
			    "epc is not a code of this brand: %s", why);
		pg.f.has_serial = 1;
		pg.f.serial = c.serial;
	}
	if (strcmp(t.role, "dealer") == 0) {
		rd.root = t.dealer;
		if ((rd.terr = yima_malloc(YIMA_TERRITORY_MAX *
		    sizeof(*rd.terr))) == NULL)
			return MHD_NO;
	}
	if ((pg.events = json_array()) == NULL)
		goto unavailable;
	if (yima_tx_begin(r->srv->st, 0, &tx) != 0)
		goto unavailable;
	if (rd.root != NULL && yima_tx_territory_of(tx, rd.root, rd.terr,
	    YIMA_TERRITORY_MAX, &rd.nterr, NULL) != 0)
		goto unavailable;
	rc = api_epcis_begin(&x, r->srv->keys.kr, tx);
	if (rc == 0)
		rc = api_epcis_page_fill(tx, &x, &rd, &pg);
	else if (rc == YIMA_ENOENT)
		rc = 0;		/* nothing imported: nothing happened */
	yima_tx_rollback(tx);
	tx = NULL;
	if (rc != 0)
		goto unavailable;
	link[0] = '\0';
	if (pg.more)
		next_link(r, &pg.f, link, sizeof(link));
	if (pg.more && link[0] == '\0')
		goto unavailable;
	yima_free(rd.terr);
	if (!pg.more)
		hdr[2] = NULL;
	if (!ndjson)
		return api_reply_json_hdr(r, 200, api_epcis_document(pg.events,
		    "SimpleEventQuery", api_now_ms()), hdr);
	rc = 0;
	for (i = 0; rc == 0 && i < json_array_size(pg.events); i++) {
		if ((line = json_dumps(json_array_get(pg.events, i),
		    JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
			rc = YIMA_ENOMEM;
		else
			rc = yima_buf_printf(&nd, "%s\n", line);
		free(line);
	}
	json_decref(pg.events);
	res = rc != 0 ? MHD_NO : api_reply(r, 200, "application/x-ndjson",
	    nd.data != NULL ? nd.data : "", nd.len, hdr);
	yima_buf_free(&nd);
	return res;
unavailable:
	yima_tx_rollback(tx);
	json_decref(pg.events);
	yima_free(rd.terr);
	return api_reply_error(r, 503, "unavailable",
	    "the store is unavailable");
}

/* ---- capture ---- */

#define CAPTURE_EVENTS	10000		/* GS1-EPCIS-Capture-Limit */
#define STR_(x)		#x
#define STR(x)		STR_(x)
#define ERRORS_SHOWN	100

/* One event of a capture, checked and ready to apply. */
struct cap_op {
	enum { OP_PACK, OP_UNPACK, OP_SHIP, OP_RECEIVE } op;
	struct api_item	*parent;	/* pack, unpack: one */
	struct api_item	*codes;		/* children, shipped, received */
	size_t		 n;
	char		 dealer[YIMA_DEALER_ID_MAX + 1];	/* to, at */
	char		 ref[65];
};

struct capture {
	struct api_server	*srv;
	struct cap_op		*ops;
	size_t			 nops;
	json_t			*errors;	/* [{eventIndex, ...}] */
	struct yima_dealer	*dealers;	/* for GLNs */
	size_t			 ndealers, cap;
};

static void
caps_free(struct capture *c)
{
	size_t i;

	for (i = 0; i < c->nops; i++) {
		yima_free(c->ops[i].parent);
		yima_free(c->ops[i].codes);
	}
	yima_free(c->ops);
	yima_free(c->dealers);
	json_decref(c->errors);
}

static int
cap_error(struct capture *c, size_t i, const char *field, const char *code,
    const char *msg)
{
	if (json_array_size(c->errors) < ERRORS_SHOWN)
		json_array_append_new(c->errors, json_pack("{s:I,s:s?,s:s,s:s}",
		    "eventIndex", (json_int_t)i, "field", field, "code", code,
		    "message", msg));
	return -1;
}

static void
add_dealer(void *ctx, const struct yima_dealer *d)
{
	struct capture *c = ctx;
	struct yima_dealer *p;

	if (c->ndealers == c->cap) {
		c->cap = c->cap * 2 + 16;
		if ((p = yima_realloc(c->dealers, c->cap * sizeof(*p))) ==
		    NULL) {
			c->cap = c->ndealers;
			return;
		}
		c->dealers = p;
	}
	c->dealers[c->ndealers++] = *d;
}

/*
 * The dealer a party or location URI names: https://id.gs1.org/417/GLN
 * (or 414) of a dealer's GLN, or .../party/{id} as yima writes them.
 */
static int
dealer_of(struct capture *c, const char *uri, char *out)
{
	const char *p;
	size_t i;

	if (uri == NULL)
		return -1;
	if ((p = strstr(uri, "/417/")) != NULL || (p = strstr(uri, "/414/")) !=
	    NULL) {
		p += 5;
		for (i = 0; strlen(p) == 13 && i < c->ndealers; i++)
			if (strcmp(c->dealers[i].gln, p) == 0) {
				strcpy(out, c->dealers[i].id);
				return 0;
			}
		return -1;
	}
	if ((p = strstr(uri, "/party/")) == NULL)
		return -1;
	p += 7;
	for (i = 0; i < c->ndealers; i++)
		if (strcmp(c->dealers[i].id, p) == 0) {
			strcpy(out, p);
			return 0;
		}
	return -1;
}

/* The value of the first {type: ..., key: ...} entry of type in a list. */
static const char *
typed(json_t *list, const char *type, const char *key)
{
	char a[128], b[128];
	const char *t;
	size_t i;
	json_t *v;

	snprintf(b, sizeof(b), "https://ref.gs1.org/cbv/%s", type);
	json_array_foreach(list, i, v) {
		if ((t = json_string_value(json_object_get(v, "type"))) ==
		    NULL)
			continue;
		snprintf(a, sizeof(a), "%s", t);
		if (strcmp(a, strchr(type, '-') + 1) == 0 || strcmp(a, b) == 0)
			return json_string_value(json_object_get(v, key));
	}
	return NULL;
}

/* Checks event i of a capture and turns it into an operation. */
static int
cap_parse(struct capture *c, size_t i, json_t *ev)
{
	struct cap_op *op = &c->ops[i];
	struct api_op_err e = { 0 };
	const char *type, *action, *step, *p, *ref;
	char s[128], why[300];
	json_t *one, *list;
	size_t n;
	int rc;

	memset(op, 0, sizeof(*op));
	c->nops = i + 1;
	if (!json_is_object(ev))
		return cap_error(c, i, NULL, "bad_event",
		    "an event is a JSON object");
	type = json_string_value(json_object_get(ev, "type"));
	action = json_string_value(json_object_get(ev, "action"));
	step = json_string_value(json_object_get(ev, "bizStep"));
	if (type == NULL || (strcmp(type, "ObjectEvent") != 0 &&
	    strcmp(type, "AggregationEvent") != 0))
		return cap_error(c, i, "type", "unsupported", "only "
		    "ObjectEvent and AggregationEvent are taken");
	if (action == NULL)
		return cap_error(c, i, "action", "bad_event",
		    "action is missing");
	if (step == NULL)
		return cap_error(c, i, "bizStep", "bad_event",
		    "bizStep is missing");
	if (!json_is_string(json_object_get(ev, "eventTime")))
		return cap_error(c, i, "eventTime", "bad_event",
		    "eventTime is missing");
	api_epcis_step_uri(step, s, sizeof(s));
	p = s + strlen("https://ref.gs1.org/cbv/BizStep-");
	if (strncmp(s, "https://ref.gs1.org/cbv/BizStep-", p - s) != 0)
		p = "";
	if (strcmp(type, "AggregationEvent") == 0) {
		if (strcmp(action, "ADD") == 0 && strcmp(p, "packing") == 0)
			op->op = OP_PACK;
		else if (strcmp(action, "DELETE") == 0 &&
		    strcmp(p, "unpacking") == 0)
			op->op = OP_UNPACK;
		else
			return cap_error(c, i, "bizStep", "unsupported", "an "
			    "AggregationEvent is ADD packing or DELETE "
			    "unpacking");
		if (!json_is_string(json_object_get(ev, "parentID")))
			return cap_error(c, i, "parentID", "bad_event",
			    "parentID is missing");
		one = json_pack("[O]", json_object_get(ev, "parentID"));
		rc = api_op_codes(&c->srv->keys, c->srv->st, NULL, one,
		    API_K(YIMA_KIND_BOX) | API_K(YIMA_KIND_PALLET),
		    &op->parent, &n, &e);
		json_decref(one);
		if (rc != 0)
			goto refused;
		if (op->op == OP_UNPACK)
			return 0;
		if ((rc = api_op_codes(&c->srv->keys, c->srv->st, NULL,
		    json_object_get(ev, "childEPCs"), API_K(YIMA_KIND_ITEM) |
		    API_K(YIMA_KIND_BOX), &op->codes, &op->n, &e)) != 0) {
			snprintf(why, sizeof(why), "%s", e.msg);
			api_op_err_clear(&e);
			return cap_error(c, i, "childEPCs", "bad_event", why);
		}
		return 0;
	}
	if (strcmp(action, "OBSERVE") != 0 || (strcmp(p, "shipping") != 0 &&
	    strcmp(p, "receiving") != 0))
		return cap_error(c, i, "bizStep", "unsupported", "an "
		    "ObjectEvent is OBSERVE shipping or OBSERVE receiving");
	if ((rc = api_op_codes(&c->srv->keys, c->srv->st, NULL,
	    json_object_get(ev, "epcList"), API_K(YIMA_KIND_ITEM) |
	    API_K(YIMA_KIND_BOX) | API_K(YIMA_KIND_PALLET), &op->codes,
	    &op->n, &e)) != 0) {
		snprintf(why, sizeof(why), "%s", e.msg);
		api_op_err_clear(&e);
		return cap_error(c, i, "epcList", "bad_event", why);
	}
	if (strcmp(p, "receiving") == 0) {
		op->op = OP_RECEIVE;
		if (dealer_of(c, json_string_value(json_object_get(
		    json_object_get(ev, "bizLocation"), "id")), op->dealer) != 0)
			return cap_error(c, i, "bizLocation", "bad_event",
			    "bizLocation.id must name a dealer: its GLN "
			    "(https://id.gs1.org/414/GLN) or .../party/ID");
		return 0;
	}
	op->op = OP_SHIP;
	list = json_object_get(ev, "destinationList");
	if (dealer_of(c, typed(list, "SDT-owning_party", "destination"),
	    op->dealer) != 0 && dealer_of(c, typed(list, "SDT-location",
	    "destination"), op->dealer) != 0)
		return cap_error(c, i, "destinationList", "bad_event", "the "
		    "owning_party or location destination must name a dealer: "
		    "its GLN (https://id.gs1.org/417/GLN) or .../party/ID");
	if ((ref = typed(json_object_get(ev, "bizTransactionList"),
	    "BTT-desadv", "bizTransaction")) != NULL) {
		if ((p = strrchr(ref, '/')) != NULL && p[1] != '\0')
			ref = p + 1;
		if (strlen(ref) > 64)
			return cap_error(c, i, "bizTransactionList",
			    "bad_event", "a desadv reference is at most 64 "
			    "bytes");
		snprintf(op->ref, sizeof(op->ref), "%s", ref);
	}
	return 0;
refused:
	snprintf(why, sizeof(why), "%s", e.msg);
	api_op_err_clear(&e);
	return cap_error(c, i, "parentID", "bad_event", why);
}

/* Applies operation i in tx; a refusal goes to the errors. */
static int
cap_apply(struct capture *c, struct yima_tx *tx, size_t i, int64_t now)
{
	struct cap_op *op = &c->ops[i];
	struct api_op_err e = { 0 };
	struct yima_receipt rc_;
	size_t a, b;
	int rc, rows;

	switch (op->op) {
	case OP_PACK:
		rc = api_op_pack(tx, op->parent, op->codes, op->n, now, &a, &b,
		    &e);
		break;
	case OP_UNPACK:
		rc = api_op_unpack(tx, op->parent->code.serial, now, &rows, &e);
		break;
	case OP_SHIP:
		rc = api_op_ship(tx, "", op->dealer, op->ref[0] ? op->ref :
		    NULL, op->codes, op->n, now, &a, &b, &e);
		break;
	default:
		memset(&rc_, 0, sizeof(rc_));
		rc_.kind = "receive";
		rc_.at = now;
		snprintf(rc_.dealer, sizeof(rc_.dealer), "%s", op->dealer);
		rc = api_op_receipt(tx, &rc_, op->codes, op->n, &e);
		break;
	}
	if (rc != 0 && e.status != 503) {
		size_t shown = json_array_size(c->errors);

		cap_error(c, i, NULL, e.code, e.msg);
		if (e.codes != NULL && json_array_size(c->errors) > shown)
			json_object_set(json_array_get(c->errors, shown),
			    "codes", e.codes);
	}
	rc = e.status == 503 ? YIMA_EDB : rc != 0 ? -1 : 0;
	api_op_err_clear(&e);
	return rc;
}

static json_t *
capture_json(const struct yima_capture *cp)
{
	char t[48];
	json_t *errors = NULL, *o;

	api_epcis_time(cp->at, t, sizeof(t));
	if (cp->errors != NULL)
		errors = json_loads(cp->errors, 0, NULL);
	o = json_pack("{s:s,s:s,s:b,s:b,s:s,s:I,s:I,s:o}", "captureID", cp->id,
	    "createdAt", t, "running", strcmp(cp->status, "running") == 0,
	    "success", strcmp(cp->status, "success") == 0, "status",
	    cp->status, "events", (json_int_t)cp->events, "applied",
	    (json_int_t)cp->applied, "errors", errors != NULL ? errors :
	    json_array());
	return o;
}

static int
capture_put(struct api_server *srv, const struct yima_capture *cp)
{
	struct yima_tx *tx;
	int rc;

	if ((rc = yima_tx_begin(srv->st, 1, &tx)) != 0)
		return rc;
	if ((rc = yima_tx_capture_put(tx, cp)) != 0) {
		yima_tx_rollback(tx);
		return rc;
	}
	return yima_tx_commit(tx);
}

enum MHD_Result
api_route_epcis_capture(struct api_req *r)
{
	struct capture c;
	struct yima_capture cp;
	struct yima_token t;
	struct yima_tx *tx = NULL;
	enum MHD_Result res;
	const char *beh;
	unsigned char rnd[16];
	char loc[80], *errs = NULL;
	const char *hdr[] = { "Location", loc, "Cache-Control", "no-store",
	    "GS1-EPCIS-Capture-Limit", STR(CAPTURE_EVENTS),
	    "GS1-EPCIS-Capture-File-Size-Limit", STR(API_EPCIS_CAPTURE_BYTES),
	    NULL };
	json_t *doc, *list;
	size_t i, n, bad = 0;
	int64_t now = api_now_ms();
	int proceed, rc;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_OPS, &t, &res))
		return res;
	beh = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "GS1-Capture-Error-Behaviour");
	if (beh != NULL && strcmp(beh, "rollback") != 0 &&
	    strcmp(beh, "proceed") != 0)
		return api_reply_error(r, 400, "bad_request",
		    "GS1-Capture-Error-Behaviour is rollback or proceed");
	proceed = beh != NULL && strcmp(beh, "proceed") == 0;
	if ((doc = api_body_json(r, &res)) == NULL)
		return res;
	list = json_object_get(json_object_get(doc, "epcisBody"), "eventList");
	if (!json_is_string(json_object_get(doc, "type")) ||
	    strcmp(json_string_value(json_object_get(doc, "type")),
	    "EPCISDocument") != 0 || !json_is_array(list)) {
		json_decref(doc);
		return api_reply_error(r, 400, "bad_request", "the body is an "
		    "EPCISDocument: {\"type\": \"EPCISDocument\", "
		    "\"epcisBody\": {\"eventList\": [...]}}");
	}
	if ((n = json_array_size(list)) > CAPTURE_EVENTS) {
		json_decref(doc);
		return api_reply_error(r, 413, "too_many_events", "a capture "
		    "holds at most %d events (GS1-EPCIS-Capture-Limit)",
		    CAPTURE_EVENTS);
	}
	memset(&c, 0, sizeof(c));
	memset(&cp, 0, sizeof(cp));
	c.srv = r->srv;
	if ((c.errors = json_array()) == NULL || (c.ops = yima_calloc(n + 1,
	    sizeof(*c.ops))) == NULL)
		goto unavailable;
	if (yima_tx_begin(r->srv->st, 0, &tx) != 0 ||
	    yima_tx_dealer_list(tx, add_dealer, &c) != 0)
		goto unavailable;
	yima_tx_rollback(tx);
	tx = NULL;
	/* Every event checked first: a malformed one changes nothing. */
	for (i = 0; i < n; i++)
		if (cap_parse(&c, i, json_array_get(list, i)) != 0)
			bad++;
	/* (doc stays: the operations' codes borrow its texts) */
	if (bad > 0) {
		res = api_reply_json(r, 400, json_pack("{s:s,s:s,s:i,s:I,s:O}",
		    "type", "epcisException:ValidationException", "title",
		    "events are malformed; nothing was captured", "status",
		    400, "invalid", (json_int_t)bad, "errors", c.errors));
		caps_free(&c);
		json_decref(doc);
		return res;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto unavailable;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(cp.id + 2 * i, 3, "%02x", rnd[i]);
	cp.at = now;
	cp.events = (int64_t)n;
	snprintf(cp.status, sizeof(cp.status), "running");
	if (capture_put(r->srv, &cp) != 0)
		goto unavailable;
	/* rollback: one transaction, all or nothing; proceed: one each. */
	if (!proceed && (rc = yima_tx_begin(r->srv->st, 1, &tx)) != 0)
		goto unavailable;
	for (i = 0; i < n; i++) {
		if (proceed && yima_tx_begin(r->srv->st, 1, &tx) != 0)
			goto unavailable;
		rc = cap_apply(&c, tx, i, now);
		if (rc == YIMA_EDB)
			goto unavailable;
		if (rc != 0) {
			yima_tx_rollback(tx);
			tx = NULL;
			if (!proceed)
				break;
			continue;
		}
		cp.applied++;
		if (proceed) {
			rc = yima_tx_commit(tx);
			tx = NULL;
			if (rc != 0)
				goto unavailable;
		}
	}
	if (!proceed && tx != NULL) {
		rc = yima_tx_commit(tx);
		tx = NULL;
		if (rc != 0)
			goto unavailable;
	} else if (!proceed)
		cp.applied = 0;
	snprintf(cp.status, sizeof(cp.status), "%s", cp.applied ==
	    cp.events ? "success" : cp.applied > 0 ? "partial" : "failed");
	if (json_array_size(c.errors) > 0)
		cp.errors = errs = json_dumps(c.errors, JSON_COMPACT);
	rc = capture_put(r->srv, &cp);
	cp.errors = NULL;
	free(errs);
	caps_free(&c);
	json_decref(doc);
	if (rc != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	snprintf(loc, sizeof(loc), "/api/v1/epcis/capture/%s", cp.id);
	return api_reply_json_hdr(r, 202, json_pack("{s:s,s:s,s:I,s:I}",
	    "captureID", cp.id, "status", cp.status, "events",
	    (json_int_t)cp.events, "applied", (json_int_t)cp.applied), hdr);
unavailable:
	yima_tx_rollback(tx);
	/* a job begun is not left running: it failed (if the store lets) */
	if (cp.id[0] != '\0') {
		cp.applied = proceed ? cp.applied : 0;
		snprintf(cp.status, sizeof(cp.status), "%s", cp.applied > 0 ?
		    "partial" : "failed");
		(void)capture_put(r->srv, &cp);
	}
	json_decref(doc);
	caps_free(&c);
	return api_reply_error(r, 503, "unavailable",
	    "the store is unavailable");
}

enum MHD_Result
api_route_epcis_capture_get(struct api_req *r)
{
	struct yima_capture cp;
	struct yima_token t;
	struct yima_tx *tx;
	enum MHD_Result res;
	int rc;

	if (!api_require(r, API_ROLE_ADMIN | API_ROLE_OPS, &t, &res))
		return res;
	if (r->param_len != 32 || strspn(r->param, "0123456789abcdef") != 32)
		return api_reply_error(r, 404, "not_found", "no such capture");
	if (yima_tx_begin(r->srv->st, 0, &tx) != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	rc = yima_tx_capture_get(tx, r->param, &cp);
	yima_tx_rollback(tx);
	if (rc == YIMA_ENOENT)
		return api_reply_error(r, 404, "not_found", "no such capture");
	if (rc != 0)
		return api_reply_error(r, 503, "unavailable",
		    "the store is unavailable");
	res = api_reply_json(r, 200, capture_json(&cp));
	yima_free(cp.errors);
	return res;
}
