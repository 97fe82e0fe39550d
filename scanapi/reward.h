/* SPDX-License-Identifier: Apache-2.0 */
/* Rewards: the claim a genuine scan makes, tiers, and the draw. */
#ifndef API_REWARD_H
#define API_REWARD_H

#include <stddef.h>
#include <stdint.h>

#include "yima/mac.h"
#include "yima/store.h"

#include "verdict.h"

#define API_TIERS_MAX	8

struct api_tier {
	char	name[32];
	int64_t	threshold;	/* growth value from which it holds */
	double	multiplier;	/* on a claim's points */
};

struct api_reward_cfg {
	struct api_tier	tiers[API_TIERS_MAX];	/* ascending thresholds */
	int		ntiers;
	int		tier_days;	/* growth counts this far back (365) */
	double		travel_kmh;	/* claims implying more are held */
	int64_t		day_offset_ms;	/* days begin at 00:00 UTC+8 */
	const struct yima_mac *variant_key;	/* places consumers in A/B
						   arms (borrowed; NULL: a
						   fixed one, for tests) */
};

/* What a claim came to; reason NULL when granted. */
struct api_reward {
	int		 considered;	/* the scan could claim */
	const char	*reason;	/* no_campaign, out_of_region, ... */
	int64_t		 campaign, claim;
	int		 type;		/* prize won: enum yima_prize_type,
					   0 none */
	int64_t		 amount;	/* of the prize */
	char		 prize[129];
	int64_t		 points;	/* credited for the claim */
	int64_t		 points_balance;
	const char	*tier;
	char		 voucher[21];
	int64_t		 commission;	/* points paid to the channel */
	int		 has_arm;	/* an A/B test showed its offer */
	int64_t		 arm_campaign;
	int		 arm;		/* the variant's index */
	struct yima_variant offer;	/* its name and landing offer */
};

/* A consumer's standing, derived from the ledger. */
struct api_member {
	int64_t		 points, cents, bottles;	/* balances */
	int64_t		 growth;
	const char	*tier;
	double		 multiplier;
	const char	*next_tier;	/* NULL at the top */
	int64_t		 next_at;	/* growth it needs */
};

struct api_rewards;

/* Tiers 0/500/2000/5000 (x1, x1.2, x1.5, x2), 365 days, 900 km/h. */
void api_reward_defaults(struct api_reward_cfg *cfg);
/*
 * Parses "name:threshold:multiplier,..." (ascending thresholds, the first
 * 0) into cfg's tiers. Returns 0 or YIMA_EINVAL with why.
 */
int api_tiers_parse(const char *spec, struct api_reward_cfg *cfg, char *why);
/* The tier for a growth value; *next (may be NULL) the one above. */
const struct api_tier *api_tier_of(const struct api_reward_cfg *cfg,
    int64_t growth, const struct api_tier **next);

/* The engine belongs to one thread (the scan writer). */
int api_rewards_new(const struct api_reward_cfg *cfg,
    struct api_rewards **out);
void api_rewards_free(struct api_rewards *rw);
/* Test hook: draws use fn (64 random bits) instead of the CSPRNG. */
void api_rewards_set_rng(struct api_rewards *rw, uint64_t (*fn)(void *ctx),
    void *ctx);

/*
 * Before a batch's claims, after api_verdict_ahead: brings the campaigns
 * up to date, and, when one is running, reads what the claims of the n
 * scans will ask (yima_tx_claims_ahead), so that a batch of claims costs
 * a few statements, not several per claim. Optional: without it each
 * claim asks for itself.
 */
int api_reward_ahead(struct api_rewards *rw, struct yima_tx *tx,
    const struct api_scan_in *const *in, size_t n);

/*
 * Claims the reward of a scan just recorded by api_verdict_record, in the
 * same write transaction: only a genuine scan of a claiming code claims,
 * once per code. Fills rew. Returns 0 or a store error.
 */
int api_reward_claim(struct api_rewards *rw, struct yima_tx *tx,
    const struct api_scan_in *in, const struct api_scan_out *out,
    struct api_reward *rew);

/*
 * Reviews held claim id (write transaction): released, it is granted the
 * points a claim of its campaign (and arm) earns at the consumer's tier
 * now, moved to their account (no draw is run again); rejected, it
 * earns nothing. Either keeps reason and reviewer. Fills out with the
 * claim as it is then. YIMA_ENOENT no such claim, YIMA_EEXIST not held.
 */
int api_reward_review(const struct api_reward_cfg *cfg, struct yima_tx *tx,
    int64_t id, int release, const char *reason, const char *reviewer,
    int64_t now, struct yima_claim *out);

/* The standing of consumer at now. */
int api_member_get(const struct api_reward_cfg *cfg, struct yima_tx *tx,
    const char *consumer, int64_t now, struct api_member *out);

/* The /24 (IPv4) or /48 (IPv6) network of a client address. */
void api_network_of(const char *client, char *out, size_t len);
/*
 * The index of the prize tier u (in [0, 1)) lands on among arm's (0 the
 * campaign's own, else variant arm - 1's), or -1 for none.
 */
int api_reward_pick(const struct yima_campaign *c, int arm, double u);
/*
 * The arm (variant index) of c's A/B test consumer is in: fixed by
 * HMAC(key, campaign id ":" consumer), so every node and scan agree.
 */
int api_variant_pick(const struct yima_mac *key,
    const struct yima_campaign *c, const char *consumer);

#endif /* API_REWARD_H */
