/* SPDX-License-Identifier: Apache-2.0 */
/* Regions: grid-indexed polygons, GCJ-02, point-in-polygon by parity. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yima/err.h"
#include "yima/geo.h"

#include "../codegen/alloc-private.h"
#include "../codegen/err-private.h"

#define CELL_DEG	0.25	/* grid cell side in degrees */
#define NAME_MAX_	64

struct region {
	char		 code[7];
	int		 level;		/* 1 or 2 */
	char		 name[NAME_MAX_];
	uint32_t	 seg_first, seg_n;
	double		 minx, miny, maxx, maxy;
};

struct seg {
	double		 x1, y1, x2, y2;	/* lon, lat (GCJ-02) */
	uint32_t	 region;
};

/* A region whose boundary crosses a cell, with that cell's edges of it. */
struct cellreg {
	uint32_t	 region;
	uint32_t	 first, n;	/* into refs */
	int		 corner_in;	/* the cell's lower-left corner inside */
};

/* A region's name, shaped or not (counties may come as names only). */
struct gname {
	char		 code[7];
	char		 parent[7];	/* "" for a province */
	int		 level;
	char		 name[NAME_MAX_];
};

struct cell {
	uint32_t	 first, n;	/* into crs */
	int32_t		 full[YIMA_GEO_LEVELS];	/* region covering it, -1 */
};

struct yima_geo {
	struct region	*regions;
	size_t		 nregions;
	struct seg	*segs;
	size_t		 nsegs;
	uint32_t	*refs;		/* segment indices, per cellreg */
	struct cellreg	*crs;
	size_t		 ncrs;
	struct cell	*cells;
	int		 nx, ny;
	double		 x0, y0;
	size_t		 count[YIMA_GEO_LEVELS];
	struct gname	*names;		/* every region, by code */
	size_t		 nnames;
};

/* WGS84 to GCJ-02: the public algorithm of Chinese map datums. */
static int
outside_china(double lat, double lon)
{
	return lon < 72.004 || lon > 137.8347 || lat < 0.8293 ||
	    lat > 55.8271;
}

static double
tr_lat(double x, double y)
{
	double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y +
	    0.2 * sqrt(fabs(x));

	r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) *
	    2.0 / 3.0;
	r += (20.0 * sin(y * M_PI) + 40.0 * sin(y / 3.0 * M_PI)) * 2.0 / 3.0;
	r += (160.0 * sin(y / 12.0 * M_PI) + 320 * sin(y * M_PI / 30.0)) *
	    2.0 / 3.0;
	return r;
}

static double
tr_lon(double x, double y)
{
	double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y +
	    0.1 * sqrt(fabs(x));

	r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) *
	    2.0 / 3.0;
	r += (20.0 * sin(x * M_PI) + 40.0 * sin(x / 3.0 * M_PI)) * 2.0 / 3.0;
	r += (150.0 * sin(x / 12.0 * M_PI) + 300.0 * sin(x / 30.0 * M_PI)) *
	    2.0 / 3.0;
	return r;
}

void
yima_geo_wgs84_to_gcj02(double lat, double lon, double *glat, double *glon)
{
	const double a = 6378245.0, ee = 0.00669342162296594323;
	double dlat, dlon, rad, magic, sq;

	if (outside_china(lat, lon)) {
		*glat = lat;
		*glon = lon;
		return;
	}
	dlat = tr_lat(lon - 105.0, lat - 35.0);
	dlon = tr_lon(lon - 105.0, lat - 35.0);
	rad = lat / 180.0 * M_PI;
	magic = sin(rad);
	magic = 1 - ee * magic * magic;
	sq = sqrt(magic);
	dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sq) * M_PI);
	dlon = (dlon * 180.0) / (a / sq * cos(rad) * M_PI);
	*glat = lat + dlat;
	*glon = lon + dlon;
}

/* Even-odd parity of a horizontal ray over every ring of a region. */
static int
inside_full(const struct yima_geo *g, const struct region *r, double x,
    double y)
{
	const struct seg *s = g->segs + r->seg_first, *end = s + r->seg_n;
	int in = 0;

	if (x < r->minx || x > r->maxx || y < r->miny || y > r->maxy)
		return 0;
	for (; s < end; s++)
		if ((s->y1 > y) != (s->y2 > y) &&
		    x < (s->x2 - s->x1) * (y - s->y1) / (s->y2 - s->y1) + s->x1)
			in = !in;
	return in;
}

/* Side of p relative to the line a->b, with 0 counted as positive. */
static int
side(double ax, double ay, double bx, double by, double px, double py)
{
	return (bx - ax) * (py - ay) - (by - ay) * (px - ax) >= 0;
}

/* Does the segment c->q cross edge s? Half-open, so parity stays exact. */
static int
crosses(const struct seg *s, double cx, double cy, double qx, double qy)
{
	return side(cx, cy, qx, qy, s->x1, s->y1) !=
	    side(cx, cy, qx, qy, s->x2, s->y2) &&
	    side(s->x1, s->y1, s->x2, s->y2, cx, cy) !=
	    side(s->x1, s->y1, s->x2, s->y2, qx, qy);
}

static int
cell_of(const struct yima_geo *g, double x, double y, int *cx, int *cy)
{
	double fx = (x - g->x0) / CELL_DEG, fy = (y - g->y0) / CELL_DEG;

	if (!(fx >= 0 && fy >= 0 && fx < g->nx && fy < g->ny))
		return -1;
	*cx = (int)fx;
	*cy = (int)fy;
	return 0;
}

/* ---- loading ---- */

struct trip {
	uint32_t	cell, region, seg;
};

static int
cmp_trip(const void *a, const void *b)
{
	const struct trip *x = a, *y = b;

	if (x->cell != y->cell)
		return x->cell < y->cell ? -1 : 1;
	if (x->region != y->region)
		return x->region < y->region ? -1 : 1;
	return x->seg < y->seg ? -1 : x->seg > y->seg;
}

/* Grows an array to hold n + 1 elements of size sz. */
static int
grow(void *pp, size_t *cap, size_t n, size_t sz)
{
	void **p = pp, *q;
	size_t c = *cap ? *cap * 2 : 1024;

	if (n < *cap)
		return 0;
	if ((q = yima_realloc(*p, c * sz)) == NULL)
		return YIMA_ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

/* Parses one ring line into segments of region ri. */
static int
parse_ring(struct yima_geo *g, size_t *segcap, char *line, uint32_t ri)
{
	struct region *r = &g->regions[ri];
	double x, y, fx = 0, fy = 0, px = 0, py = 0;
	long npts, i;
	char *p = line, *end;

	npts = strtol(p, &end, 10);
	if (end == p || npts < 3 || npts > 10000000)
		return YIMA_EINVAL;
	p = end;
	for (i = 0; i < npts; i++) {
		x = strtod(p, &end);
		if (end == p)
			return YIMA_EINVAL;
		p = end;
		y = strtod(p, &end);
		if (end == p || !isfinite(x) || !isfinite(y) || x < -180 ||
		    x > 180 || y < -90 || y > 90)
			return YIMA_EINVAL;
		p = end;
		if (i == 0) {
			fx = x;
			fy = y;
		} else {
			if (grow(&g->segs, segcap, g->nsegs,
			    sizeof(*g->segs)) != 0)
				return YIMA_ENOMEM;
			g->segs[g->nsegs++] = (struct seg){ px, py, x, y, ri };
		}
		px = x;
		py = y;
		if (x < r->minx) r->minx = x;
		if (x > r->maxx) r->maxx = x;
		if (y < r->miny) r->miny = y;
		if (y > r->maxy) r->maxy = y;
	}
	/* Close the ring. */
	if (px != fx || py != fy) {
		if (grow(&g->segs, segcap, g->nsegs, sizeof(*g->segs)) != 0)
			return YIMA_ENOMEM;
		g->segs[g->nsegs++] = (struct seg){ px, py, fx, fy, ri };
	}
	return 0;
}

static int
add_name(struct yima_geo *g, size_t *cap, const char *code, int level,
    const char *name)
{
	struct gname *n;
	int rc;

	if ((rc = grow(&g->names, cap, g->nnames, sizeof(*g->names))) != 0)
		return rc;
	n = &g->names[g->nnames++];
	memset(n, 0, sizeof(*n));
	memcpy(n->code, code, 7);
	n->level = level;
	memcpy(n->name, name, strlen(name) + 1);
	return 0;
}

/* "N <code6> <level> <name>": a region known by name only, no shape. */
static int
parse_name(struct yima_geo *g, size_t *cap, const char *line)
{
	char code[16], name[256];
	int level;

	if (sscanf(line, "N %15s %d %255[^\n]", code, &level, name) != 3 ||
	    strlen(code) != 6 || strspn(code, "0123456789") != 6 ||
	    level < 1 || level > YIMA_GEO_LEVELS ||
	    strlen(name) >= NAME_MAX_)
		return YIMA_EINVAL;
	return add_name(g, cap, code, level, name);
}

static int
parse(struct yima_geo *g, FILE *f, char *why)
{
	size_t linecap = 0, regcap = 0, segcap = 0, namecap = 0;
	char *line = NULL, code[16], name[256];
	long lineno = 0, rings_left = 0;
	int level, nrings, rc = 0;
	struct region *r;
	ssize_t n;

	while ((n = getline(&line, &linecap, f)) > 0) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (rings_left > 0) {
			if ((rc = parse_ring(g, &segcap, line,
			    (uint32_t)(g->nregions - 1))) != 0)
				goto bad;
			rings_left--;
			g->regions[g->nregions - 1].seg_n =
			    (uint32_t)(g->nsegs -
			    g->regions[g->nregions - 1].seg_first);
			continue;
		}
		if (line[0] == 'N') {
			if ((rc = parse_name(g, &namecap, line)) != 0)
				goto bad;
			continue;
		}
		if (sscanf(line, "R %15s %d %d %255[^\n]", code, &level,
		    &nrings, name) != 4 || strlen(code) != 6 ||
		    strspn(code, "0123456789") != 6 || level < 1 ||
		    level > YIMA_GEO_LEVELS || nrings < 1 ||
		    strlen(name) >= NAME_MAX_) {
			rc = YIMA_EINVAL;
			goto bad;
		}
		if ((rc = grow(&g->regions, &regcap, g->nregions,
		    sizeof(*g->regions))) != 0)
			goto done;
		r = &g->regions[g->nregions++];
		memset(r, 0, sizeof(*r));
		memcpy(r->code, code, 7);
		memcpy(r->name, name, strlen(name) + 1);
		r->level = level;
		r->seg_first = (uint32_t)g->nsegs;
		r->minx = r->miny = 1e9;
		r->maxx = r->maxy = -1e9;
		g->count[level - 1]++;
		rings_left = nrings;
		if ((rc = add_name(g, &namecap, code, level, name)) != 0)
			goto done;
	}
	if (rings_left > 0 || g->nregions == 0) {
		rc = yima_why_(why, YIMA_EINVAL, "region data: %s",
		    g->nregions == 0 ? "no regions" : "truncated");
		goto done;
	}
	goto done;
bad:
	if (rc == YIMA_EINVAL)
		yima_why_(why, rc, "region data: malformed line %ld", lineno);
done:
	free(line);
	return rc;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct gname *)a)->code,
	    ((const struct gname *)b)->code);
}

static const struct gname *
find_name(const struct yima_geo *g, const char *code)
{
	struct gname key;

	if (strlen(code) != 6)
		return NULL;
	memcpy(key.code, code, 7);
	return g->nnames == 0 ? NULL : bsearch(&key, g->names, g->nnames,
	    sizeof(*g->names), cmp_name);
}

/*
 * Sorts the names and gives each its parent: a county its city, or, in a
 * municipality whose 县 part is no city of its own (Chongqing's 5002
 * counties), the municipality's one city (500100), or else the province.
 */
static int
link_names(struct yima_geo *g)
{
	const struct gname *p;
	struct gname *n;
	char c[7];
	size_t i;

	qsort(g->names, g->nnames, sizeof(*g->names), cmp_name);
	for (i = 0; i + 1 < g->nnames; i++)
		if (strcmp(g->names[i].code, g->names[i + 1].code) == 0)
			return YIMA_EINVAL;
	for (i = 0; i < g->nnames; i++) {
		n = &g->names[i];
		if (n->level == 1)
			continue;
		snprintf(c, sizeof(c), "%.2s0000", n->code);
		memcpy(n->parent, c, 7);
		if (n->level == 2)
			continue;
		snprintf(c, sizeof(c), "%.4s00", n->code);
		if ((p = find_name(g, c)) != NULL && p->level == 2) {
			memcpy(n->parent, c, 7);
			continue;
		}
		if (strncmp(n->code, "11", 2) != 0 &&
		    strncmp(n->code, "12", 2) != 0 &&
		    strncmp(n->code, "31", 2) != 0 &&
		    strncmp(n->code, "50", 2) != 0)
			continue;
		snprintf(c, sizeof(c), "%.2s0100", n->code);
		if ((p = find_name(g, c)) != NULL && p->level == 2)
			memcpy(n->parent, c, 7);
	}
	return 0;
}

/* Builds the grid: per cell, the regions crossing it and their edges. */
static int
index_grid(struct yima_geo *g)
{
	double minx = 1e9, miny = 1e9, maxx = -1e9, maxy = -1e9;
	struct trip *t = NULL;
	size_t nt = 0, tcap = 0, i, j, k;
	struct region *r;
	struct seg *s;
	int cx0, cy0, cx1, cy1, x, y, rc = YIMA_ENOMEM;
	uint32_t c;

	for (i = 0; i < g->nregions; i++) {
		r = &g->regions[i];
		if (r->minx < minx) minx = r->minx;
		if (r->miny < miny) miny = r->miny;
		if (r->maxx > maxx) maxx = r->maxx;
		if (r->maxy > maxy) maxy = r->maxy;
	}
	/* An odd offset keeps cell corners off round-number edges. */
	g->x0 = floor(minx) - 1 + 0.000123457;
	g->y0 = floor(miny) - 1 + 0.000135791;
	g->nx = (int)ceil((maxx + 1 - g->x0) / CELL_DEG);
	g->ny = (int)ceil((maxy + 1 - g->y0) / CELL_DEG);
	if ((g->cells = yima_calloc((size_t)g->nx * (size_t)g->ny,
	    sizeof(*g->cells))) == NULL)
		return YIMA_ENOMEM;
	/* Every cell a segment's bounding box touches gets the segment. */
	for (i = 0; i < g->nsegs; i++) {
		s = &g->segs[i];
		if (cell_of(g, fmin(s->x1, s->x2), fmin(s->y1, s->y2), &cx0,
		    &cy0) != 0 || cell_of(g, fmax(s->x1, s->x2),
		    fmax(s->y1, s->y2), &cx1, &cy1) != 0)
			goto done;
		for (y = cy0; y <= cy1; y++)
			for (x = cx0; x <= cx1; x++) {
				if (grow(&t, &tcap, nt, sizeof(*t)) != 0)
					goto done;
				t[nt++] = (struct trip){
				    (uint32_t)(y * g->nx + x), s->region,
				    (uint32_t)i };
			}
	}
	qsort(t, nt, sizeof(*t), cmp_trip);
	if ((g->refs = yima_malloc((nt ? nt : 1) * sizeof(*g->refs))) ==
	    NULL || (g->crs = yima_malloc((nt ? nt : 1) *
	    sizeof(*g->crs))) == NULL)
		goto done;
	for (i = 0; i < nt; i = j) {
		for (j = i; j < nt && t[j].cell == t[i].cell &&
		    t[j].region == t[i].region; j++)
			g->refs[j] = t[j].seg;
		c = t[i].cell;
		if (g->cells[c].n == 0)
			g->cells[c].first = (uint32_t)g->ncrs;
		g->cells[c].n++;
		g->crs[g->ncrs++] = (struct cellreg){ t[i].region,
		    (uint32_t)i, (uint32_t)(j - i),
		    inside_full(g, &g->regions[t[i].region],
		    g->x0 + (c % (uint32_t)g->nx) * CELL_DEG,
		    g->y0 + (c / (uint32_t)g->nx) * CELL_DEG) };
	}
	/* Cells no boundary of a region crosses: inside it or not at all. */
	for (i = 0; i < (size_t)g->nx * (size_t)g->ny; i++)
		for (k = 0; k < YIMA_GEO_LEVELS; k++)
			g->cells[i].full[k] = -1;
	for (i = 0; i < g->nregions; i++) {
		r = &g->regions[i];
		if (cell_of(g, r->minx, r->miny, &cx0, &cy0) != 0 ||
		    cell_of(g, r->maxx, r->maxy, &cx1, &cy1) != 0)
			continue;
		for (y = cy0; y <= cy1; y++)
			for (x = cx0; x <= cx1; x++) {
				struct cell *ce = &g->cells[y * g->nx + x];

				for (k = 0; k < ce->n; k++)
					if (g->crs[ce->first + k].region == i)
						break;
				if (k < ce->n)
					continue;
				if (inside_full(g, r, g->x0 + (x + 0.5) *
				    CELL_DEG, g->y0 + (y + 0.5) * CELL_DEG))
					ce->full[r->level - 1] = (int32_t)i;
			}
	}
	rc = 0;
done:
	yima_free(t);
	return rc;
}

int
yima_geo_load(const char *path, struct yima_geo **out, char *why)
{
	struct yima_geo *g;
	FILE *f;
	int rc;

	if ((f = fopen(path, "r")) == NULL)
		return yima_why_(why, YIMA_EIO, "cannot open region data %s "
		    "(run scripts/setup.sh, which installs it)", path);
	if ((g = yima_calloc(1, sizeof(*g))) == NULL) {
		fclose(f);
		return yima_why_(why, YIMA_ENOMEM, "out of memory");
	}
	rc = parse(g, f, why);
	fclose(f);
	if (rc == 0 && (rc = link_names(g)) != 0)
		yima_why_(why, rc, "region data: a code given twice");
	else if (rc == 0 && (rc = index_grid(g)) != 0)
		yima_why_(why, rc, "region data: %s", yima_strerror(rc));
	if (rc != 0) {
		if (rc == YIMA_ENOMEM)
			yima_why_(why, rc, "out of memory");
		yima_geo_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

void
yima_geo_free(struct yima_geo *g)
{
	if (g == NULL)
		return;
	yima_free(g->regions);
	yima_free(g->segs);
	yima_free(g->refs);
	yima_free(g->crs);
	yima_free(g->cells);
	yima_free(g->names);
	yima_free(g);
}

/* ---- lookup ---- */

/* Distance in km from (x, y) to segment s, locally flat. */
static double
seg_km(const struct seg *s, double x, double y)
{
	double k = cos(y * M_PI / 180.0);
	double ax = (s->x1 - x) * k, ay = s->y1 - y;
	double bx = (s->x2 - x) * k, by = s->y2 - y;
	double dx = bx - ax, dy = by - ay, t, len2 = dx * dx + dy * dy;

	t = len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0;
	if (t < 0)
		t = 0;
	if (t > 1)
		t = 1;
	ax += t * dx;
	ay += t * dy;
	return sqrt(ax * ax + ay * ay) * 111.2;
}

/* Is (x, y) within YIMA_GEO_BORDER_KM of any region's edge? */
static int
near_border(const struct yima_geo *g, double x, double y, int cx, int cy)
{
	const struct cell *ce;
	const struct cellreg *cr;
	int dx, dy;
	uint32_t k, e;

	/* Cells are ~25 km, so the 3 x 3 block holds every edge in reach. */
	for (dy = -1; dy <= 1; dy++)
		for (dx = -1; dx <= 1; dx++) {
			if (cx + dx < 0 || cy + dy < 0 || cx + dx >= g->nx ||
			    cy + dy >= g->ny)
				continue;
			ce = &g->cells[(cy + dy) * g->nx + cx + dx];
			for (k = 0; k < ce->n; k++) {
				cr = &g->crs[ce->first + k];
				for (e = 0; e < cr->n; e++)
					if (seg_km(&g->segs[g->refs[cr->first +
					    e]], x, y) < YIMA_GEO_BORDER_KM)
						return 1;
			}
		}
	return 0;
}

/* The region of a level holding (x, y) in cell (cx, cy), or -1. */
static int32_t
find_level(const struct yima_geo *g, int level, double x, double y, int cx,
    int cy)
{
	const struct cell *ce = &g->cells[cy * g->nx + cx];
	const struct cellreg *cr;
	double ox = g->x0 + cx * CELL_DEG, oy = g->y0 + cy * CELL_DEG;
	uint32_t k, e;
	int in;

	for (k = 0; k < ce->n; k++) {
		cr = &g->crs[ce->first + k];
		if (g->regions[cr->region].level != level)
			continue;
		/* The corner's state, flipped by each edge on the way. */
		in = cr->corner_in;
		for (e = 0; e < cr->n; e++)
			if (crosses(&g->segs[g->refs[cr->first + e]], ox, oy,
			    x, y))
				in = !in;
		if (in)
			return (int32_t)cr->region;
	}
	return ce->full[level - 1];
}

int
yima_geo_lookup(const struct yima_geo *g, double lat, double lon,
    struct yima_place *out)
{
	double x, y;
	int32_t ri = -1;
	int level, cx, cy;
	const struct region *r;

	if (!isfinite(lat) || !isfinite(lon) || lat < -90 || lat > 90 ||
	    lon < -180 || lon > 180)
		return YIMA_EINVAL;
	yima_geo_wgs84_to_gcj02(lat, lon, &y, &x);
	if (cell_of(g, x, y, &cx, &cy) != 0)
		return YIMA_ENOENT;
	for (level = YIMA_GEO_LEVELS; level >= 1 && ri < 0; level--)
		if (g->count[level - 1] > 0)
			ri = find_level(g, level, x, y, cx, cy);
	if (ri < 0)
		return YIMA_ENOENT;
	r = &g->regions[ri];
	memcpy(out->code, r->code, 7);
	out->level = r->level;
	out->name = r->name;
	memcpy(out->province, r->code, 2);
	memcpy(out->province + 2, "0000", 5);
	out->near_border = near_border(g, x, y, cx, cy);
	return 0;
}

int
yima_geo_known(const struct yima_geo *g, const char *prefix)
{
	size_t n = strlen(prefix), i;
	int counties = g->count[2] > 0;
	const struct region *r;

	if ((n != 2 && n != 4 && n != 6) ||
	    strspn(prefix, "0123456789") != n)
		return 0;
	for (i = 0; i < g->nregions; i++) {
		r = &g->regions[i];
		if (n == 2 && strncmp(r->code, prefix, 2) == 0)
			return 1;
		if (n == 4 && r->level >= 2 && strncmp(r->code, prefix, 4) == 0)
			return 1;
		if (n == 6 && strcmp(r->code, prefix) == 0)
			return 1;
		/* Without county shapes a county is taken on its city's word. */
		if (n == 6 && !counties && r->level == 2 &&
		    strncmp(r->code, prefix, 4) == 0)
			return 1;
	}
	return 0;
}

const char *
yima_geo_name(const struct yima_geo *g, const char *code)
{
	const struct gname *n = find_name(g, code);

	return n != NULL ? n->name : NULL;
}

int
yima_geo_parent(const struct yima_geo *g, const char *code, char out[7])
{
	const struct gname *n = find_name(g, code);

	if (n == NULL)
		return YIMA_ENOENT;
	memcpy(out, n->parent, 7);
	return 0;
}

size_t
yima_geo_children(const struct yima_geo *g, const char *parent,
    void (*fn)(void *arg, const char *code, const char *name, int level),
    void *arg)
{
	size_t i, n = 0;

	for (i = 0; i < g->nnames; i++)
		if (strcmp(g->names[i].parent, parent) == 0) {
			fn(arg, g->names[i].code, g->names[i].name,
			    g->names[i].level);
			n++;
		}
	return n;
}

size_t
yima_geo_count(const struct yima_geo *g, int level)
{
	return level >= 1 && level <= YIMA_GEO_LEVELS ? g->count[level - 1] :
	    0;
}
