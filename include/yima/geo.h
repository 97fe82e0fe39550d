/* SPDX-License-Identifier: Apache-2.0 */
/* Regions: a WGS84 position to a Chinese division code (GB/T 2260). */
#ifndef YIMA_GEO_H
#define YIMA_GEO_H

#include <stddef.h>

/*
 * Region levels: 1 province (XX0000), 2 prefecture/city (XXXX00), 3 county
 * (XXXXXX; only when the optional county shapes are installed).
 */
#define YIMA_GEO_LEVELS		3
/* A point this close to its region's edge is flagged near_border. */
#define YIMA_GEO_BORDER_KM	1.0

struct yima_geo;

struct yima_place {
	char		 code[7];	/* finest level found */
	int		 level;
	const char	*name;		/* borrowed from the geo set */
	char		 province[7];	/* its province */
	int		 near_border;	/* within ~1 km of a region boundary:
					   the data is coarse, so uncertain */
};

/*
 * Loads regions from the file written by scripts/regions.sh (GCJ-02
 * rings) and indexes them in a grid. Free with yima_geo_free().
 * Returns 0, YIMA_EIO, YIMA_EINVAL (malformed, why says where) or
 * YIMA_ENOMEM.
 */
int yima_geo_load(const char *path, struct yima_geo **out, char *why);
void yima_geo_free(struct yima_geo *g);

/*
 * Looks up a phone's WGS84 position: converts it to GCJ-02 (the data's
 * datum) and finds the finest region holding it.
 * Returns 0, YIMA_ENOENT (outside every region, e.g. outside China) or
 * YIMA_EINVAL (not a coordinate).
 */
int yima_geo_lookup(const struct yima_geo *g, double lat, double lon,
    struct yima_place *out);

/*
 * 1 if prefix (2, 4 or 6 digits) names a province, city or county; 0
 * otherwise. Without county shapes, any 6 digits under a known city pass.
 * For territories.
 */
int yima_geo_known(const struct yima_geo *g, const char *prefix);
/*
 * The name of the region with this 6-digit code, or NULL. Counties have
 * names even without county shapes (the data lists them by name).
 */
const char *yima_geo_name(const struct yima_geo *g, const char *code);
/*
 * The code of the region a region is in: "" for a province, a city's
 * province, a county's city (or its municipality: 500100 for Chongqing's
 * 5002 counties). Returns 0 or YIMA_ENOENT (no such region).
 */
int yima_geo_parent(const struct yima_geo *g, const char *code, char out[7]);
/*
 * Calls fn for each region directly under parent ("" for the provinces),
 * in code order, for pickers by name. Returns how many.
 */
size_t yima_geo_children(const struct yima_geo *g, const char *parent,
    void (*fn)(void *arg, const char *code, const char *name, int level),
    void *arg);
/* Number of regions at a level (1 to 3). */
size_t yima_geo_count(const struct yima_geo *g, int level);

/*
 * WGS84 to GCJ-02, the datum of Chinese maps. Positions outside China
 * are returned unchanged.
 */
void yima_geo_wgs84_to_gcj02(double lat, double lon, double *glat,
    double *glon);

#endif /* YIMA_GEO_H */
