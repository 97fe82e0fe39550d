/* SPDX-License-Identifier: Apache-2.0 */
/* Rewards: campaigns in scope, limits, the draw, the ledger's movements. */
#include <arpa/inet.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "yima/err.h"

#include "../codegen/alloc-private.h"
#include "../codegen/err-private.h"
#include "reward.h"

#define DAY_MS		(24LL * 3600 * 1000)
#define HOUR_MS		(3600LL * 1000)

struct api_rewards {
	struct api_reward_cfg	 cfg;
	uint64_t		(*rng)(void *);
	void			*rng_ctx;
	int64_t			 gen;	/* of the cached campaigns; -1 none */
	struct yima_campaign	*camps;	/* active or not yet ended */
	size_t			 n, cap;
	int			 oom;
	struct yima_mac		*own_key;	/* when cfg gave none */
};

static const struct api_tier default_tiers[] = {
	{ "member", 0, 1.0 }, { "silver", 500, 1.2 }, { "gold", 2000, 1.5 },
	{ "diamond", 5000, 2.0 },
};

void
api_reward_defaults(struct api_reward_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->tiers, default_tiers, sizeof(default_tiers));
	cfg->ntiers = (int)(sizeof(default_tiers) / sizeof(default_tiers[0]));
	cfg->tier_days = 365;
	cfg->travel_kmh = 900;
	cfg->day_offset_ms = 8 * HOUR_MS;
}

int
api_tiers_parse(const char *spec, struct api_reward_cfg *cfg, char *why)
{
	struct api_tier t[API_TIERS_MAX];
	char buf[512], *item, *save, *end;
	char *name, *th, *mul;
	int n = 0;

	if (strlen(spec) >= sizeof(buf))
		return yima_why_(why, YIMA_EINVAL, "--tiers is too long");
	strcpy(buf, spec);
	for (item = strtok_r(buf, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (n == API_TIERS_MAX)
			return yima_why_(why, YIMA_EINVAL, "at most %d tiers",
			    API_TIERS_MAX);
		name = item;
		if ((th = strchr(name, ':')) == NULL ||
		    (mul = strchr(th + 1, ':')) == NULL)
			return yima_why_(why, YIMA_EINVAL, "tier \"%s\" is not "
			    "name:threshold:multiplier", item);
		*th++ = '\0';
		*mul++ = '\0';
		if (name[0] == '\0' || strlen(name) >= sizeof(t[n].name))
			return yima_why_(why, YIMA_EINVAL, "a tier name has 1 "
			    "to %zu characters", sizeof(t[n].name) - 1);
		snprintf(t[n].name, sizeof(t[n].name), "%s", name);
		t[n].threshold = strtoll(th, &end, 10);
		if (*th == '\0' || *end != '\0' || t[n].threshold < 0 ||
		    (n == 0 && t[n].threshold != 0) ||
		    (n > 0 && t[n].threshold <= t[n - 1].threshold))
			return yima_why_(why, YIMA_EINVAL, "tier \"%s\": "
			    "thresholds start at 0 and rise", name);
		t[n].multiplier = strtod(mul, &end);
		if (*mul == '\0' || *end != '\0' || !isfinite(t[n].multiplier) ||
		    t[n].multiplier < 0 || t[n].multiplier > 100)
			return yima_why_(why, YIMA_EINVAL, "tier \"%s\": the "
			    "multiplier is a number from 0 to 100", name);
		n++;
	}
	if (n == 0)
		return yima_why_(why, YIMA_EINVAL, "--tiers names no tier");
	memcpy(cfg->tiers, t, sizeof(t[0]) * (size_t)n);
	cfg->ntiers = n;
	return 0;
}

const struct api_tier *
api_tier_of(const struct api_reward_cfg *cfg, int64_t growth,
    const struct api_tier **next)
{
	int i = 0;

	while (i + 1 < cfg->ntiers && growth >= cfg->tiers[i + 1].threshold)
		i++;
	if (next != NULL)
		*next = i + 1 < cfg->ntiers ? &cfg->tiers[i + 1] : NULL;
	return &cfg->tiers[i];
}

static uint64_t
csprng(void *ctx)
{
	uint64_t v = 0;

	(void)ctx;
	/* RAND_bytes fails only when the system cannot seed it. */
	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		abort();
	return v;
}

int
api_rewards_new(const struct api_reward_cfg *cfg, struct api_rewards **out)
{
	struct api_rewards *rw;

	if ((rw = yima_calloc(1, sizeof(*rw))) == NULL)
		return YIMA_ENOMEM;
	rw->cfg = *cfg;
	rw->rng = csprng;
	rw->gen = -1;
	if (cfg->variant_key == NULL) {
		if (yima_mac_new((const uint8_t *)"yima-variant", 12,
		    &rw->own_key) != 0) {
			yima_free(rw);
			return YIMA_ENOMEM;
		}
		rw->cfg.variant_key = rw->own_key;
	}
	*out = rw;
	return 0;
}

void
api_rewards_free(struct api_rewards *rw)
{
	if (rw == NULL)
		return;
	yima_free(rw->camps);
	yima_mac_free(rw->own_key);
	yima_free(rw);
}

void
api_rewards_set_rng(struct api_rewards *rw, uint64_t (*fn)(void *), void *ctx)
{
	rw->rng = fn != NULL ? fn : csprng;
	rw->rng_ctx = ctx;
}

static void
cache_add(void *ctx, const struct yima_campaign *c)
{
	struct api_rewards *rw = ctx;
	struct yima_campaign *nc;
	size_t cap;

	if (rw->n == rw->cap) {
		cap = rw->cap ? rw->cap * 2 : 8;
		if ((nc = yima_realloc(rw->camps, cap * sizeof(*nc))) == NULL) {
			rw->oom = 1;
			return;
		}
		rw->camps = nc;
		rw->cap = cap;
	}
	rw->camps[rw->n++] = *c;
}

/* Reloads the campaigns when any changed (one query otherwise). */
static int
campaigns(struct api_rewards *rw, struct yima_tx *tx, int64_t now)
{
	int64_t gen;
	int rc;

	if ((rc = yima_tx_campaign_gen(tx, &gen)) != 0)
		return rc;
	if (gen == rw->gen)
		return 0;
	rw->n = 0;
	rw->oom = 0;
	if ((rc = yima_tx_campaign_list(tx, now, cache_add, rw)) != 0)
		return rc;
	if (rw->oom)
		return YIMA_ENOMEM;
	rw->gen = gen;
	return 0;
}

static int
has_gtin(const struct yima_campaign *c, const char *gtin)
{
	size_t i;

	if (c->ngtins == 0)
		return 1;
	for (i = 0; i < c->ngtins; i++)
		if (strcmp(c->gtins[i], gtin) == 0)
			return 1;
	return 0;
}

static int
has_region(const struct yima_campaign *c, const char *region)
{
	size_t i;

	if (c->nregions == 0)
		return 1;
	/* "440000", "44" and "4403" hold a scan in 440300 alike. */
	for (i = 0; i < c->nregions; i++)
		if (region[0] != '\0' && api_region_in(region, c->regions[i]))
			return 1;
	return 0;
}

int
api_reward_pick(const struct yima_campaign *c, int arm, double u)
{
	double cum = 0;
	size_t i;

	for (i = 0; i < c->nprizes; i++) {
		if (c->prizes[i].arm != arm)
			continue;
		cum += c->prizes[i].probability;
		if (u < cum)
			return (int)i;
	}
	return -1;
}

int
api_variant_pick(const struct yima_mac *key, const struct yima_campaign *c,
    const char *consumer)
{
	uint8_t md[YIMA_MAC_LEN];
	char msg[64];
	uint64_t u = 0;
	int64_t cum = 0;
	size_t i;
	int n;

	n = snprintf(msg, sizeof(msg), "%lld:%s", (long long)c->id, consumer);
	yima_mac_compute(key, msg, (size_t)n, md);
	for (i = 0; i < 8; i++)
		u = u << 8 | md[i];
	u %= 100;
	for (i = 0; i + 1 < c->nvariants; i++) {
		cum += c->variants[i].weight;
		if ((int64_t)u < cum)
			break;
	}
	return (int)i;
}

void
api_network_of(const char *client, char *out, size_t len)
{
	unsigned char a[16];
	char txt[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, client, a) == 1) {
		snprintf(out, len, "%u.%u.%u.0/24", a[0], a[1], a[2]);
		return;
	}
	if (inet_pton(AF_INET6, client, a) == 1) {
		/* An IPv4 client seen through an IPv6 socket is IPv4. */
		if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
			snprintf(out, len, "%u.%u.%u.0/24", a[12], a[13],
			    a[14]);
			return;
		}
		memset(a + 6, 0, 10);
		inet_ntop(AF_INET6, a, txt, sizeof(txt));
		snprintf(out, len, "%s/48", txt);
		return;
	}
	snprintf(out, len, "%s", client);
}

/*
 * The campaign this scan claims in, or NULL with the reason none does.
 * Returns 0 or a store error.
 */
static const struct yima_campaign *
scope(struct api_rewards *rw, const struct api_scan_in *in,
    const struct api_scan_out *out, const char **reason)
{
	const struct yima_campaign *c;
	int kind = (int)in->code.kind, other_kind = 0, region_miss = 0;
	size_t i;

	*reason = "no_campaign";
	for (i = 0; i < rw->n; i++) {
		c = &rw->camps[i];
		if (strcmp(c->status, "active") != 0 || in->at < c->start ||
		    in->at >= c->end || !has_gtin(c, out->range.gtin))
			continue;
		if (c->claim_kind != kind) {
			other_kind = 1;
			continue;
		}
		if (!has_region(c, in->region)) {
			region_miss = 1;
			continue;
		}
		return c;
	}
	if (region_miss)
		*reason = "out_of_region";
	else if (other_kind && kind == YIMA_KIND_ITEM)
		*reason = "inner_code_required";
	return NULL;
}

/* Limits, freezes and travel: the reason to refuse or hold, or NULL. */
static int
guard(struct api_rewards *rw, struct yima_tx *tx,
    const struct yima_campaign *c, const struct api_scan_in *in,
    const struct api_scan_out *out, const char *network, const char **why)
{
	struct yima_claim_counts n, upto;
	struct yima_claim last;
	int64_t day0;
	double km, hours;
	int frozen, rc;

	*why = NULL;
	if ((rc = yima_tx_frozen(tx, in->consumer[0] ? in->consumer : NULL,
	    out->range.batch, &frozen)) != 0)
		return rc;
	if (frozen) {
		*why = "frozen";
		return 0;
	}
	day0 = (in->at + rw->cfg.day_offset_ms) / DAY_MS * DAY_MS -
	    rw->cfg.day_offset_ms;
	/* A limit of n needs counting to n only; no limit, not at all. */
	memset(&n, 0, sizeof(n));
	upto.consumer_day = c->per_day != YIMA_NONE ? c->per_day : 0;
	upto.consumer_total = c->per_consumer != YIMA_NONE ?
	    c->per_consumer : 0;
	upto.network_hour = c->per_network_hour != YIMA_NONE ?
	    c->per_network_hour : 0;
	if ((upto.consumer_day | upto.consumer_total | upto.network_hour) !=
	    0 && (rc = yima_tx_claim_counts(tx, c->id, in->consumer, network,
	    day0, in->at - HOUR_MS, &upto, &n)) != 0)
		return rc;
	if (c->per_network_hour != YIMA_NONE &&
	    n.network_hour >= c->per_network_hour) {
		*why = "rate_limited";
		return 0;
	}
	if ((c->per_day != YIMA_NONE && n.consumer_day >= c->per_day) ||
	    (c->per_consumer != YIMA_NONE &&
	    n.consumer_total >= c->per_consumer)) {
		*why = "limit_reached";
		return 0;
	}
	if (!in->located || in->consumer[0] == '\0')
		return 0;
	rc = yima_tx_claim_last(tx, in->consumer, &last);
	if (rc == YIMA_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	km = api_distance_km(last.lat, last.lon, in->lat, in->lon);
	if (in->accuracy > 0)
		km -= in->accuracy / 1000.0;
	hours = (double)(in->at - last.at) / 3600000.0;
	if (hours < 1.0 / 3600)
		hours = 1.0 / 3600;
	if (km > 0 && km / hours > rw->cfg.travel_kmh)
		*why = "held";
	return 0;
}

/* Base32 (Crockford) of 100 random bits: a voucher nobody can guess. */
static int
voucher_id(char out[21])
{
	static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned char r[20];
	int i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return YIMA_EIO;
	for (i = 0; i < 20; i++)
		out[i] = digits[r[i] & 31];
	out[20] = '\0';
	return 0;
}

static int
move(struct yima_tx *tx, const char *account, const char *kind,
    const char *unit, int64_t amount, int64_t at, int64_t claim,
    const char *ref, int64_t *balance)
{
	struct yima_movement m;

	memset(&m, 0, sizeof(m));
	m.at = at;
	snprintf(m.account, sizeof(m.account), "%s", account);
	snprintf(m.kind, sizeof(m.kind), "%s", kind);
	snprintf(m.unit, sizeof(m.unit), "%s", unit);
	m.amount = amount;
	m.claim = claim;
	if (ref != NULL)
		snprintf(m.ref, sizeof(m.ref), "%s", ref);
	return yima_tx_ledger_add(tx, &m, 0, balance);
}

/* The draw: a prize taken from the pool and paid for, or none. */
static int
draw(struct api_rewards *rw, struct yima_tx *tx,
    const struct yima_campaign *c, int arm, const struct api_scan_in *in,
    const struct yima_prize **won, const char **why)
{
	const struct yima_prize *p;
	int64_t day;
	double u;
	int i, rc;

	*won = NULL;
	*why = NULL;
	if (c->nprizes == 0)
		return 0;
	u = (double)(rw->rng(rw->rng_ctx) >> 11) * 0x1.0p-53;
	if ((i = api_reward_pick(c, arm, u)) < 0)
		return 0;
	p = &c->prizes[i];
	day = (in->at + rw->cfg.day_offset_ms) / DAY_MS;
	/* The database keeps the bounds: pool and budgets, all or none. */
	rc = yima_tx_prize_award(tx, p->id, c->id, day,
	    p->type == YIMA_PRIZE_CASH ? p->amount : 0);
	if (rc == YIMA_ENOENT)
		*why = "pool_empty";
	else if (rc == YIMA_ERANGE)
		*why = "budget_exhausted";
	else if (rc != 0)
		return rc;
	else
		*won = p;
	return 0;
}

/*
 * Commission to the store or salesperson the consumer came by, for claim:
 * the campaign's, into *paid (left alone when none is due).
 */
static int
commission(struct yima_tx *tx, const struct yima_campaign *c,
    const struct yima_channel *ch, int64_t at, int64_t claim, int64_t *paid)
{
	char ref[32];
	int rc;

	if (c->commission <= 0 || (strcmp(ch->type, "store") != 0 &&
	    strcmp(ch->type, "staff") != 0))
		return 0;
	snprintf(ref, sizeof(ref), "channel:%llu",
	    (unsigned long long)ch->serial);
	if ((rc = move(tx, ref, "commission", "points", c->commission, at,
	    claim, NULL, NULL)) != 0)
		return rc;
	*paid = c->commission;
	return 0;
}

/* The ledger movements of a granted claim, and what the answer shows. */
static int
pay(struct api_rewards *rw, struct yima_tx *tx,
    const struct yima_campaign *c, const struct yima_prize *p,
    const struct api_scan_in *in, const struct api_scan_out *out,
    int64_t base, int64_t growth, struct api_reward *rew)
{
	char acct[YIMA_ACCOUNT_MAX + 1], ref[32];
	struct yima_voucher v;
	struct yima_payout po;
	int64_t id;
	int rc = 0;

	snprintf(acct, sizeof(acct), "consumer:%s", in->consumer);
	if (base > 0 && (rc = move(tx, acct, "claim", "points", base, in->at,
	    rew->claim, NULL, NULL)) != 0)
		return rc;
	if (p != NULL && p->type == YIMA_PRIZE_POINTS)
		rc = move(tx, acct, "prize", "points", p->amount, in->at,
		    rew->claim, NULL, NULL);
	else if (p != NULL && p->type == YIMA_PRIZE_CASH) {
		memset(&po, 0, sizeof(po));
		po.claim = rew->claim;
		po.campaign = c->id;
		memcpy(po.consumer, in->consumer, sizeof(po.consumer));
		po.cents = p->amount;
		po.created_at = in->at;
		if ((rc = yima_tx_payout_add(tx, &po, &id)) != 0)
			return rc;
		snprintf(ref, sizeof(ref), "p%lld", (long long)id);
		rc = move(tx, acct, "prize", "cents", p->amount, in->at,
		    rew->claim, ref, NULL);
	} else if (p != NULL && p->type == YIMA_PRIZE_VOUCHER) {
		memset(&v, 0, sizeof(v));
		if ((rc = voucher_id(v.id)) != 0)
			return rc;
		v.claim = rew->claim;
		v.campaign = c->id;
		memcpy(v.consumer, in->consumer, sizeof(v.consumer));
		snprintf(v.name, sizeof(v.name), "%s", p->name);
		v.bottles = p->amount;
		v.created_at = in->at;
		if ((rc = yima_tx_voucher_add(tx, &v)) != 0)
			return rc;
		memcpy(rew->voucher, v.id, sizeof(rew->voucher));
		rc = move(tx, acct, "prize", "bottles", p->amount, in->at,
		    rew->claim, v.id, NULL);
	}
	if (rc != 0)
		return rc;
	if (out->has_channel && (rc = commission(tx, c, &out->channel, in->at,
	    rew->claim, &rew->commission)) != 0)
		return rc;
	if (out->counted && (rc = yima_tx_rollup_claim(tx, &out->key)) != 0)
		return rc;
	if ((rc = yima_tx_balance(tx, acct, "points",
	    &rew->points_balance)) != 0)
		return rc;
	/* The growth before this claim, and the points it earned. */
	rew->tier = api_tier_of(&rw->cfg, growth + rew->points, NULL)->name;
	return 0;
}

int
api_reward_ahead(struct api_rewards *rw, struct yima_tx *tx,
    const struct api_scan_in *const *in, size_t n)
{
	struct yima_claims_ahead a;
	const char **cons;
	int64_t lo = INT64_MAX, hi = INT64_MIN, days;
	size_t i;
	int rc;

	if (n == 0 || (rc = campaigns(rw, tx, in[0]->at)) != 0 || rw->n == 0)
		return n == 0 ? 0 : rc;
	if ((cons = yima_calloc(n, sizeof(*cons))) == NULL)
		return YIMA_ENOMEM;
	memset(&a, 0, sizeof(a));
	/* The scans that may claim: a verified item or cap code's. */
	for (i = 0; i < n; i++) {
		if (!in[i]->valid || (in[i]->code.kind != YIMA_KIND_INNER &&
		    in[i]->code.kind != YIMA_KIND_ITEM))
			continue;
		a.claims++;
		lo = in[i]->at < lo ? in[i]->at : lo;
		hi = in[i]->at > hi ? in[i]->at : hi;
		if (in[i]->consumer[0] != '\0')
			cons[a.nconsumers++] = in[i]->consumer;
	}
	/* Growth is asked over the tier's days before each claim. */
	days = (int64_t)rw->cfg.tier_days * DAY_MS;
	a.consumers = cons;
	rc = 0;
	if (a.claims > 0) {
		a.growth_from = lo - days;
		a.growth_core_from = hi - days;
		a.growth_core_to = lo;
		a.growth_to = hi;
		rc = yima_tx_claims_ahead(tx, &a);
	}
	yima_free(cons);
	return rc;
}

/*
 * The A/B arm a scan of a bottle shows its consumer: of the campaign it
 * claims in when that one has variants, else of the first running one
 * with variants for the product, outer and cap codes alike.
 */
static int
expose(struct api_rewards *rw, struct yima_tx *tx,
    const struct api_scan_in *in, const struct api_scan_out *out,
    const struct yima_campaign *claim, struct api_reward *rew)
{
	const struct yima_campaign *c = NULL;
	size_t i;
	int arm, rc;

	if (in->consumer[0] == '\0')
		return 0;
	if (claim != NULL && claim->nvariants > 0)
		c = claim;
	for (i = 0; c == NULL && i < rw->n; i++)
		if (rw->camps[i].nvariants > 0 &&
		    strcmp(rw->camps[i].status, "active") == 0 &&
		    in->at >= rw->camps[i].start && in->at < rw->camps[i].end &&
		    has_gtin(&rw->camps[i], out->range.gtin) &&
		    has_region(&rw->camps[i], in->region))
			c = &rw->camps[i];
	if (c == NULL)
		return 0;
	arm = api_variant_pick(rw->cfg.variant_key, c, in->consumer);
	if ((rc = yima_tx_ab_expose(tx, c->id, in->consumer, arm, out->item,
	    in->at, out->verdict == YIMA_V_GENUINE, &arm)) != 0)
		return rc;
	if (arm < 0 || (size_t)arm >= c->nvariants)
		arm = 0;	/* an arm the campaign no longer has */
	rew->has_arm = 1;
	rew->arm_campaign = c->id;
	rew->arm = arm;
	rew->offer = c->variants[arm];
	return 0;
}

int
api_reward_claim(struct api_rewards *rw, struct yima_tx *tx,
    const struct api_scan_in *in, const struct api_scan_out *out,
    struct api_reward *rew)
{
	const struct yima_campaign *c;
	const struct yima_prize *p = NULL;
	const struct yima_variant *arm = NULL;
	const char *why = NULL, *miss = NULL;
	struct yima_claim cl;
	char acct[YIMA_ACCOUNT_MAX + 1];
	int64_t growth = 0, base = 0;
	int rc;

	memset(rew, 0, sizeof(*rew));
	if (!in->valid || !out->registered || (in->code.kind !=
	    YIMA_KIND_INNER && in->code.kind != YIMA_KIND_ITEM) ||
	    (out->verdict != YIMA_V_GENUINE && out->verdict != YIMA_V_REPEAT))
		return 0;
	if ((rc = campaigns(rw, tx, in->at)) != 0)
		return rc;
	c = scope(rw, in, out, &why);
	if ((rc = expose(rw, tx, in, out, c, rew)) != 0 ||
	    out->verdict != YIMA_V_GENUINE)
		return rc;
	if (c == NULL && in->code.kind == YIMA_KIND_ITEM) {
		/* An outer code claims nothing; its cap code may. */
		if (rw->n > 0) {
			rew->considered = 1;
			rew->reason = why;
		}
		return 0;
	}
	rew->considered = 1;
	memset(&cl, 0, sizeof(cl));
	cl.serial = in->code.serial;
	memcpy(cl.consumer, in->consumer, sizeof(cl.consumer));
	api_network_of(in->client, cl.network, sizeof(cl.network));
	cl.at = in->at;
	cl.scan_id = out->scan_id;
	cl.located = in->located;
	cl.lat = in->lat;
	cl.lon = in->lon;
	if (c != NULL) {
		cl.campaign = c->id;
		rew->campaign = c->id;
		/* The claim is in the consumer's arm of its A/B test. */
		if (rew->has_arm && rew->arm_campaign == c->id) {
			arm = &rew->offer;
			memcpy(cl.variant, arm->name, sizeof(cl.variant));
		}
		/* Points need an account: no consumer id, no claim. */
		if (in->consumer[0] == '\0')
			why = "no_consumer";
		else if ((rc = guard(rw, tx, c, in, out, cl.network,
		    &why)) != 0)
			return rc;
	}
	if (why == NULL) {
		snprintf(acct, sizeof(acct), "consumer:%s", in->consumer);
		if ((rc = yima_tx_growth(tx, acct, in->at -
		    (int64_t)rw->cfg.tier_days * DAY_MS, in->at, &growth)) != 0)
			return rc;
		base = llround((double)(arm != NULL && arm->points !=
		    YIMA_NONE ? arm->points : c->points) *
		    api_tier_of(&rw->cfg, growth, NULL)->multiplier);
		if ((rc = draw(rw, tx, c, arm != NULL && arm->own_prizes ?
		    rew->arm + 1 : 0, in, &p, &miss)) != 0)
			return rc;
		/* A claim that brings nothing says why, if the pool or the
		 * budget is the reason. */
		if (p == NULL && base == 0 && miss != NULL)
			why = miss;
	}
	snprintf(cl.status, sizeof(cl.status), "%s", why ? why : "granted");
	cl.prize = p != NULL ? p->id : 0;
	cl.points = base;
	rc = yima_tx_claim_add(tx, &cl, &rew->claim);
	if (rc == YIMA_EEXIST) {
		/*
		 * Claimed before, though the scan was the first: cannot
		 * happen while first scans are unique. A prize drawn must
		 * go back, and only failing the transaction does that.
		 */
		rew->reason = "already_claimed";
		return p != NULL ? YIMA_EDB : 0;
	}
	if (rc != 0)
		return rc;
	if ((rew->reason = why) != NULL)
		return 0;
	rew->points = base;
	if (p != NULL) {
		rew->type = p->type;
		rew->amount = p->amount;
		snprintf(rew->prize, sizeof(rew->prize), "%s", p->name);
		if (p->type == YIMA_PRIZE_POINTS)
			rew->points += p->amount;
	}
	if (arm != NULL && (rc = yima_tx_ab_claim(tx, c->id, in->consumer,
	    rew->arm, p != NULL && p->type == YIMA_PRIZE_CASH ? p->amount : 0,
	    rew->points, in->at)) != 0)
		return rc;
	return pay(rw, tx, c, p, in, out, base, growth, rew);
}

int
api_member_get(const struct api_reward_cfg *cfg, struct yima_tx *tx,
    const char *consumer, int64_t now, struct api_member *out)
{
	const struct api_tier *t, *next;
	char acct[YIMA_ACCOUNT_MAX + 1];
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(acct, sizeof(acct), "consumer:%s", consumer);
	if ((rc = yima_tx_balance(tx, acct, "points", &out->points)) != 0 ||
	    (rc = yima_tx_balance(tx, acct, "cents", &out->cents)) != 0 ||
	    (rc = yima_tx_balance(tx, acct, "bottles", &out->bottles)) != 0 ||
	    (rc = yima_tx_growth(tx, acct, now - (int64_t)cfg->tier_days *
	    DAY_MS, now, &out->growth)) != 0)
		return rc;
	t = api_tier_of(cfg, out->growth, &next);
	out->tier = t->name;
	out->multiplier = t->multiplier;
	if (next != NULL) {
		out->next_tier = next->name;
		out->next_at = next->threshold;
	}
	return 0;
}

/*
 * What the scan would have done had its claim not been held: the claim
 * counted in the reports under the scan's day, region and SKU (and the
 * bottle's owner now, at release); commission to the channel the consumer
 * came by, paid now; the channel's funnel counting the consumer a buyer.
 */
static int
released(struct yima_tx *tx, const struct yima_campaign *c,
    const struct yima_claim *cl, int64_t now)
{
	struct yima_rollup_key k;
	struct yima_range range;
	struct yima_channel ch;
	uint64_t channel, item = cl->serial;
	int64_t paid = 0;
	char region[7];
	int kind, rc;

	if ((rc = yima_tx_scan_origin(tx, cl->scan_id, cl->at, region, &kind,
	    &channel)) != 0)
		return rc == YIMA_ENOENT ? 0 : rc;	/* no scan: nothing */
	/* A code no longer in a range counts in no report, but its channel
	 * is still paid. */
	if ((rc = yima_tx_range_find(tx, cl->serial, kind, &range)) == 0 &&
	    (rc = api_rollup_key(tx, &range, cl->serial, kind, cl->at, region,
	    &k, &item)) == 0)
		rc = yima_tx_rollup_claim(tx, &k);
	if (rc != 0 && rc != YIMA_ENOENT)
		return rc;
	if (channel == 0)
		return 0;
	if ((rc = yima_tx_channel_get(tx, channel, &ch)) != 0)
		return rc == YIMA_ENOENT ? 0 : rc;
	if ((rc = commission(tx, c, &ch, now, cl->id, &paid)) != 0)
		return rc;
	return yima_tx_funnel_buy(tx, channel, cl->consumer, item, cl->at, 1,
	    paid, (now + YIMA_DAY_OFFSET_MS) / DAY_MS);
}

int
api_reward_review(const struct api_reward_cfg *cfg, struct yima_tx *tx,
    int64_t id, int release, const char *reason, const char *reviewer,
    int64_t now, struct yima_claim *out)
{
	struct yima_campaign *c = NULL;
	char acct[YIMA_ACCOUNT_MAX + 1];
	int64_t base, growth, points = 0;
	size_t i, arm = SIZE_MAX;
	int rc;

	if ((rc = yima_tx_claim_get(tx, id, out)) != 0)
		return rc;
	/* An erased consumer's claim pays no one: rejecting it is all. */
	if (strcmp(out->status, "held") != 0 || (release &&
	    strncmp(out->consumer, "erased", 6) == 0))
		return YIMA_EEXIST;
	if (release) {
		if ((c = yima_malloc(sizeof(*c))) == NULL)
			return YIMA_ENOMEM;
		if ((rc = yima_tx_campaign_get(tx, out->campaign, c)) != 0)
			goto done;
		base = c->points;
		for (i = 0; i < c->nvariants; i++)
			if (strcmp(c->variants[i].name, out->variant) == 0) {
				arm = i;
				if (c->variants[i].points != YIMA_NONE)
					base = c->variants[i].points;
			}
		snprintf(acct, sizeof(acct), "consumer:%s", out->consumer);
		if ((rc = yima_tx_growth(tx, acct, now -
		    (int64_t)cfg->tier_days * DAY_MS, now, &growth)) != 0)
			goto done;
		points = llround((double)base * api_tier_of(cfg, growth,
		    NULL)->multiplier);
	}
	rc = yima_tx_claim_review(tx, id, release ? "granted" : "rejected",
	    points, reason, reviewer, now);
	if (rc == YIMA_ENOENT)
		rc = YIMA_EEXIST;	/* reviewed by another meanwhile */
	if (rc == 0 && points > 0)
		rc = move(tx, acct, "claim", "points", points, now, id,
		    "release", NULL);
	/* Its A/B arm counts it, as it would have at the scan. */
	if (rc == 0 && arm != SIZE_MAX)
		rc = yima_tx_ab_claim(tx, c->id, out->consumer, (int)arm, 0,
		    points, now);
	if (rc == 0 && release)
		rc = released(tx, c, out, now);
	if (rc == 0) {
		snprintf(out->status, sizeof(out->status), "%s", release ?
		    "granted" : "rejected");
		out->points = points;
	}
done:
	yima_free(c);
	return rc;
}
