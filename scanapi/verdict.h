/* SPDX-License-Identifier: Apache-2.0 */
/* Verdicts: what a scan of a code means, decided inside a transaction. */
#ifndef API_VERDICT_H
#define API_VERDICT_H

#include <stdint.h>

#include "yima/code.h"
#include "yima/mac.h"
#include "yima/store.h"

#define API_CONSUMER_ID_LEN	24	/* hex characters of the stored id */
#define API_RAW_CODE_MAX	64	/* invalid input kept as evidence */

struct api_verdict_cfg {
	int	suspect_consumers;	/* distinct consumers in 24 h (3) */
	int	suspect_scans;		/* scans in 7 days (10) */
	double	suspect_kmh;		/* implied travel speed (900) */
	int	channel_days;		/* a channel scan binds (30 days) */
	int	retention_days;		/* raw places kept (180; 0 for ever) */
	int	consumer_days;		/* consumer ids of scans (365; 0 ...) */
	int	upkeep_s;		/* an idle writer's upkeep (60 s) */
	const struct yima_mac *sketch_key;	/* consumers' rollup hashes
						   (borrowed; NULL: none) */
};

struct api_scan_in {
	int64_t		at;		/* ms since the epoch */
	int		valid;		/* the code verified */
	struct yima_code code;		/* when valid */
	char		reason[128];	/* why invalid */
	char		raw[API_RAW_CODE_MAX + 1];
	int		located;
	double		lat, lon, accuracy;	/* accuracy < 0: unknown */
	char		consumer[API_CONSUMER_ID_LEN + 1];	/* "" none */
	char		client[48];	/* client address */
	char		region[7];	/* where it was scanned, "" unknown */
	const char	*region_name;	/* borrowed from the geo set */
	int		near_border;
	int		consumer_new;	/* consumer was issued just now */
};

struct api_scan_out {
	enum yima_verdict verdict;
	int64_t		scan_id;	/* 0 when not recorded */
	int		registered;	/* range is set */
	struct yima_range range;
	struct yima_code_state state;	/* after this scan */
	char		revoked_reason[256];	/* up to 200 bytes */
	const char	*suspect_reason;	/* static text or NULL */
	int		has_channel;	/* channel is set */
	struct yima_channel channel;	/* scanned, or attributed to */
	int		diverted;	/* a diversion event was recorded */
	int		counted;	/* a product scan: key is set */
	struct yima_rollup_key key;	/* day, owner, region, GTIN */
	uint64_t	item;		/* the bottle's item serial, when
					   counted (a cap code's pair) */
};

/* The defaults: 3 consumers in 24 h, 10 scans in 7 days, 900 km/h. */
void api_verdict_defaults(struct api_verdict_cfg *cfg);

/*
 * The n scans a write transaction is about to record, before the first:
 * what their verdicts need is read at once, and what they write goes in
 * together (yima_tx_scans_ahead), so a batch costs the statements of one
 * scan. Each is then recorded by api_verdict_record, as without it.
 */
int api_verdict_ahead(struct yima_tx *tx, const struct api_scan_in *const *in,
    size_t n);

/*
 * Decides the verdict of one scan and records it (write transaction):
 * the scan row, and the code's state. Returns 0 or a store error.
 */
int api_verdict_record(struct yima_tx *tx, const struct api_verdict_cfg *cfg,
    const struct api_scan_in *in, struct api_scan_out *out);

/*
 * The verdict a code has now, recording nothing (read transaction):
 * "genuine" if never scanned, "repeat" once scanned.
 */
int api_verdict_peek(struct yima_tx *tx, const struct api_scan_in *in,
    struct api_scan_out *out);

/*
 * The rollup key of a scan of serial (of kind, in range) at at in region
 * (UTC+8 day, SKU, owner of the item), and the item it is (a cap code's
 * bottle). 0 or a store error.
 */
int api_rollup_key(struct yima_tx *tx, const struct yima_range *range,
    uint64_t serial, int kind, int64_t at, const char *region,
    struct yima_rollup_key *k, uint64_t *item);

/*
 * 1 if region (a 6-digit code as scans resolve it) lies in one of the n
 * territory codes or prefixes. Both are compared at the coarser of their
 * levels: "440000" and "44" are the province; a county territory
 * matches its city, which is as fine as scans resolve.
 */
int api_territory_holds(const char *region, char (*terr)[7], size_t n);
/* 1 if region lies in the one territory code or prefix terr. */
int api_region_in(const char *region, const char *terr);

/* Great-circle distance in km between two WGS84 points. */
double api_distance_km(double lat1, double lon1, double lat2, double lon2);

#endif /* API_VERDICT_H */
