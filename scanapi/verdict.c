/* SPDX-License-Identifier: Apache-2.0 */
/* Verdicts: genuine, repeat, suspect, revoked, unregistered, invalid. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"

#include "sketch.h"
#include "verdict.h"

#define DAY_MS		(24LL * 3600 * 1000)
#define WEEK_MS		(7 * DAY_MS)
#define EARTH_KM	6371.0

void
api_verdict_defaults(struct api_verdict_cfg *cfg)
{
	cfg->suspect_consumers = 3;
	cfg->suspect_scans = 10;
	cfg->suspect_kmh = 900.0;
	cfg->channel_days = 30;
	cfg->retention_days = 180;
	cfg->consumer_days = 365;
	cfg->upkeep_s = 60;
}

double
api_distance_km(double lat1, double lon1, double lat2, double lon2)
{
	double p1 = lat1 * M_PI / 180, p2 = lat2 * M_PI / 180;
	double dp = p2 - p1, dl = (lon2 - lon1) * M_PI / 180;
	double a = sin(dp / 2) * sin(dp / 2) +
	    cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

	return 2 * EARTH_KM * atan2(sqrt(a), sqrt(1 - a));
}

/*
 * Everything but the scan history: invalid, unregistered, revoked, and
 * the range. Returns 1 when that settles the verdict, 0 to go on, <0 on
 * a store error. A revoked code still reports its scan state.
 */
static int
classify(struct yima_tx *tx, const struct api_scan_in *in,
    struct api_scan_out *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!in->valid) {
		out->verdict = YIMA_V_INVALID;
		return 1;
	}
	rc = yima_tx_range_find(tx, in->code.serial, (int)in->code.kind,
	    &out->range);
	if (rc == YIMA_ENOENT) {
		out->verdict = YIMA_V_UNREGISTERED;
		return 1;
	}
	if (rc != 0)
		return rc;
	out->registered = 1;
	rc = yima_tx_revoked(tx, in->code.serial, out->revoked_reason,
	    sizeof(out->revoked_reason));
	if (rc < 0)
		return rc;
	if (rc == 1) {
		out->verdict = YIMA_V_REVOKED;
		rc = yima_tx_state_get(tx, in->code.serial, &out->state);
		if (rc == YIMA_ENOENT)
			memset(&out->state, 0, sizeof(out->state));
		else if (rc != 0)
			return rc;
		return 1;
	}
	return 0;
}

/* Which suspect rule a repeat scan breaks, or NULL. */
static int
suspect_rule(struct yima_tx *tx, const struct api_verdict_cfg *cfg,
    const struct api_scan_in *in, const struct yima_code_state *prev,
    const char **why)
{
	uint64_t scans, consumers;
	double km, hours;
	int rc;

	*why = NULL;
	if (in->located && prev->last_located) {
		km = api_distance_km(prev->last_lat, prev->last_lon, in->lat,
		    in->lon);
		if (in->accuracy > 0)
			km -= in->accuracy / 1000.0;
		/* At least a second apart, so two scans at once still count. */
		hours = (double)(in->at - prev->last_loc_at) / 3600000.0;
		if (hours < 1.0 / 3600)
			hours = 1.0 / 3600;
		if (km > 0 && km / hours > cfg->suspect_kmh) {
			*why = "travel";
			return 0;
		}
	}
	if ((rc = yima_tx_recent(tx, in->code.serial, in->at - DAY_MS,
	    in->consumer[0] ? in->consumer : NULL, &scans, &consumers)) != 0)
		return rc;
	if ((int64_t)consumers >= cfg->suspect_consumers) {
		*why = "consumers";
		return 0;
	}
	if ((rc = yima_tx_recent(tx, in->code.serial, in->at - WEEK_MS, NULL,
	    &scans, &consumers)) != 0)
		return rc;
	if ((int64_t)scans + 1 >= cfg->suspect_scans)
		*why = "scans";
	return 0;
}

/* Digits that carry meaning: 2 province, 4 city, 6 county. */
static size_t
level_len(const char *code)
{
	size_t n = strlen(code);

	if (n == 6 && strcmp(code + 2, "0000") == 0)
		return 2;
	if (n == 6 && strcmp(code + 4, "00") == 0)
		return 4;
	return n;
}

int
api_region_in(const char *region, const char *terr)
{
	size_t rl = level_len(region), tl = level_len(terr);

	return strncmp(region, terr, tl < rl ? tl : rl) == 0;
}

int
api_territory_holds(const char *region, char (*terr)[7], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (api_region_in(region, terr[i]))
			return 1;
	return 0;
}

/*
 * A located genuine, repeat or suspect scan of goods whose owner is known,
 * outside the owner's territory, is a diversion event. The consumer's
 * answer does not change: diversion is the brand's business.
 */
static int
diversion(struct yima_tx *tx, const struct api_scan_in *in,
    struct api_scan_out *out)
{
	struct yima_diversion d;
	char terr[YIMA_TERRITORY_MAX][7];
	size_t n;
	int rc;

	/* A cap code is opened after its bottle was seen: not twice. */
	if (in->region[0] == '\0' || in->code.kind == YIMA_KIND_INNER ||
	    (out->verdict != YIMA_V_GENUINE && out->verdict != YIMA_V_REPEAT &&
	    out->verdict != YIMA_V_SUSPECT))
		return 0;
	memset(&d, 0, sizeof(d));
	if (out->counted)
		memcpy(d.owner, out->key.dealer, sizeof(d.owner));
	else if ((rc = yima_tx_owner(tx, in->code.serial, d.owner)) ==
	    YIMA_ENOENT)
		return 0;
	else if (rc != 0)
		return rc;
	if (d.owner[0] == '\0')
		return 0;
	if ((rc = yima_tx_territory_of(tx, d.owner, terr,
	    YIMA_TERRITORY_MAX, &n, NULL)) != 0)
		return rc;
	if (n == 0 || api_territory_holds(in->region, terr, n))
		return 0;
	d.scan_id = out->scan_id;
	d.at = in->at;
	d.serial = in->code.serial;
	memcpy(d.region, in->region, sizeof(d.region));
	strcpy(d.evidence, "consumer");
	d.uncertain = in->near_border;
	out->diverted = 1;
	return yima_tx_diversion_add(tx, &d);
}

int
api_rollup_key(struct yima_tx *tx, const struct yima_range *range,
    uint64_t serial, int kind, int64_t at, const char *region,
    struct yima_rollup_key *k, uint64_t *item)
{
	int rc;

	memset(k, 0, sizeof(*k));
	k->day = (at + YIMA_DAY_OFFSET_MS) / DAY_MS;
	snprintf(k->region, sizeof(k->region), "%s", region);
	memcpy(k->gtin, range->gtin, sizeof(k->gtin));
	*item = serial;
	if (kind == YIMA_KIND_INNER) {
		rc = yima_tx_item_of_inner(tx, range->batch, serial, item);
		if (rc != 0 && rc != YIMA_ENOENT)
			return rc;
	}
	rc = yima_tx_owner(tx, *item, k->dealer);
	return rc == YIMA_ENOENT ? 0 : rc;
}

/*
 * A genuine, repeat or suspect scan of a bottle counts in the reports,
 * under its day, region, GTIN and the owner of the bottle then. A cap
 * code gets the same key (its bottle's owner) for its claim, but is not
 * a second scan of the bottle.
 */
static int
rollup(struct yima_tx *tx, const struct api_verdict_cfg *cfg,
    const struct api_scan_in *in, struct api_scan_out *out)
{
	struct yima_rollup_key *k = &out->key;
	uint64_t item, h;
	int rc;

	if ((out->verdict != YIMA_V_GENUINE && out->verdict != YIMA_V_REPEAT &&
	    out->verdict != YIMA_V_SUSPECT) || !out->registered ||
	    (in->code.kind != YIMA_KIND_ITEM &&
	    in->code.kind != YIMA_KIND_INNER))
		return 0;
	if ((rc = api_rollup_key(tx, &out->range, in->code.serial,
	    (int)in->code.kind, in->at, in->region, k, &item)) != 0)
		return rc;
	out->counted = 1;
	out->item = item;
	if (in->code.kind == YIMA_KIND_INNER)
		return 0;
	if (out->has_channel && (rc = yima_tx_rollup_channel(tx, k->day,
	    out->channel.serial)) != 0)
		return rc;
	if (in->consumer[0] == '\0' || cfg->sketch_key == NULL)
		return yima_tx_rollup_scan(tx, k, (int)out->verdict, NULL);
	h = api_sketch_hash(cfg->sketch_key, in->consumer,
	    strlen(in->consumer));
	return yima_tx_rollup_scan(tx, k, (int)out->verdict, &h);
}

/* The channel a consumer is attributed to now, into out. */
static int
attribution(struct yima_tx *tx, const struct api_scan_in *in,
    struct api_scan_out *out)
{
	uint64_t ch;
	int rc;

	if (in->consumer[0] == '\0')
		return 0;
	rc = yima_tx_consumer_channel_get(tx, in->consumer, in->at, &ch);
	if (rc == YIMA_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	rc = yima_tx_channel_get(tx, ch, &out->channel);
	if (rc == 0)
		out->has_channel = 1;
	return rc == YIMA_ENOENT ? 0 : rc;
}

static int
record(struct yima_tx *tx, const struct api_verdict_cfg *cfg,
    const struct api_scan_in *in,
    struct api_scan_out *out)
{
	struct yima_scan_row r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.at = in->at;
	r.verdict = out->verdict;
	if (in->valid) {
		r.has_serial = 1;
		r.serial = in->code.serial;
		r.kind = (int)in->code.kind;
	} else
		r.code = in->raw;
	r.located = in->located;
	r.lat = in->lat;
	r.lon = in->lon;
	r.accuracy = in->accuracy;
	r.consumer = in->consumer;
	r.client = in->client;
	memcpy(r.region, in->region, sizeof(r.region));
	r.near_border = in->near_border;
	if (out->has_channel)
		r.channel = out->channel.serial;
	if ((rc = yima_tx_scan_insert(tx, &r, &out->scan_id)) != 0 ||
	    (rc = rollup(tx, cfg, in, out)) != 0)
		return rc;
	return diversion(tx, in, out);
}

int
api_verdict_record(struct yima_tx *tx, const struct api_verdict_cfg *cfg,
    const struct api_scan_in *in, struct api_scan_out *out)
{
	struct yima_code_state *s = &out->state, prev;
	int rc;

	if ((rc = classify(tx, in, out)) < 0)
		return rc;
	if (rc == 1)
		return record(tx, cfg, in, out);
	if (in->code.kind == YIMA_KIND_CHANNEL) {
		/* A bound channel code attributes whoever scans it. */
		rc = yima_tx_channel_get(tx, in->code.serial, &out->channel);
		if (rc == 0) {
			out->has_channel = 1;
			if (in->consumer[0] != '\0' &&
			    (rc = yima_tx_consumer_channel_set(tx,
			    in->consumer, in->code.serial, in->at +
			    (int64_t)cfg->channel_days * DAY_MS)) != 0)
				return rc;
		} else if (rc != YIMA_ENOENT)
			return rc;
	} else if ((rc = attribution(tx, in, out)) != 0)
		return rc;
	rc = yima_tx_state_get(tx, in->code.serial, &prev);
	if (rc == YIMA_ENOENT) {
		out->verdict = in->code.kind == YIMA_KIND_CHANNEL ?
		    YIMA_V_CHANNEL : YIMA_V_GENUINE;
		memset(s, 0, sizeof(*s));
		s->first_at = in->at;
		if (in->located) {
			s->first_located = 1;
			s->first_lat = in->lat;
			s->first_lon = in->lon;
		}
	} else if (rc != 0)
		return rc;
	else if (in->code.kind == YIMA_KIND_CHANNEL) {
		/* A channel code binds whoever scans it; never "copied". */
		out->verdict = YIMA_V_CHANNEL;
		*s = prev;
	} else {
		if ((rc = suspect_rule(tx, cfg, in, &prev,
		    &out->suspect_reason)) != 0)
			return rc;
		out->verdict = out->suspect_reason != NULL ? YIMA_V_SUSPECT :
		    YIMA_V_REPEAT;
		*s = prev;
	}
	s->scans++;
	if (in->located) {
		s->last_located = 1;
		s->last_loc_at = in->at;
		s->last_lat = in->lat;
		s->last_lon = in->lon;
	}
	if ((rc = yima_tx_state_put(tx, in->code.serial, s)) != 0)
		return rc;
	return record(tx, cfg, in, out);
}

int
api_verdict_ahead(struct yima_tx *tx, const struct api_scan_in *const *in,
    size_t n)
{
	struct yima_scan_ahead a;
	uint64_t *serials;
	const char **cons;
	size_t i;
	int rc;

	serials = yima_calloc(n + 1, sizeof(*serials));
	cons = yima_calloc(n + 1, sizeof(*cons));
	if (serials == NULL || cons == NULL) {
		rc = YIMA_ENOMEM;
		goto out;
	}
	memset(&a, 0, sizeof(a));
	for (i = 0; i < n; i++) {
		if (in[i]->valid)
			serials[a.nserials++] = in[i]->code.serial;
		if (in[i]->consumer[0] != '\0')
			cons[a.nconsumers++] = in[i]->consumer;
	}
	a.serials = serials;
	a.consumers = cons;
	a.scans = n;	/* every scan is recorded, an invalid one too */
	rc = yima_tx_scans_ahead(tx, &a);
out:
	yima_free(serials);
	yima_free(cons);
	return rc;
}

int
api_verdict_peek(struct yima_tx *tx, const struct api_scan_in *in,
    struct api_scan_out *out)
{
	int rc;

	if ((rc = classify(tx, in, out)) < 0)
		return rc;
	if (rc == 1)
		return 0;
	rc = yima_tx_state_get(tx, in->code.serial, &out->state);
	if (rc != 0 && rc != YIMA_ENOENT)
		return rc;
	if (in->code.kind == YIMA_KIND_CHANNEL)
		out->verdict = YIMA_V_CHANNEL;
	else
		out->verdict = rc == YIMA_ENOENT ? YIMA_V_GENUINE :
		    YIMA_V_REPEAT;
	return 0;
}
