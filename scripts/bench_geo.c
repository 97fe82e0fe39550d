/* SPDX-License-Identifier: Apache-2.0 */
/* make bench-geo: region lookups per second on one core. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "yima/err.h"
#include "yima/geo.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift: the same points every run. */
static uint64_t rng = 88172645463325252ULL;

static double
uniform(double lo, double hi)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return lo + (hi - lo) * (double)(rng >> 11) / 9007199254740992.0;
}

int
main(int argc, char **argv)
{
	struct yima_geo *g;
	struct yima_place pl;
	char why[YIMA_WHY_MAX];
	const int n = 2000000;
	double *pts, t, load;
	int i, found = 0, near = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_geo REGIONS\n");
		return 2;
	}
	t = now();
	if (yima_geo_load(argv[1], &g, why) != 0) {
		fprintf(stderr, "bench-geo: %s\n", why);
		return 1;
	}
	load = now() - t;
	if ((pts = malloc(2 * (size_t)n * sizeof(*pts))) == NULL)
		return 1;
	/* Uniform over China's bounding box: inland, coast, sea, abroad. */
	for (i = 0; i < n; i++) {
		pts[2 * i] = uniform(18.0, 53.5);
		pts[2 * i + 1] = uniform(73.5, 135.0);
	}
	t = now();
	for (i = 0; i < n; i++) {
		if (yima_geo_lookup(g, pts[2 * i], pts[2 * i + 1], &pl) == 0) {
			found++;
			near += pl.near_border;
		}
	}
	t = now() - t;
	printf("bench-geo: %zu provinces, %zu cities, %zu counties, loaded in "
	    "%.0f ms\n", yima_geo_count(g, 1), yima_geo_count(g, 2),
	    yima_geo_count(g, 3), load * 1000);
	printf("lookups: %.2fM/s on one core, %.2f us each (target well "
	    "under 10 us); %d points, %.0f%% in a region, %.1f%% near a "
	    "border\n", n / t / 1e6, t / n * 1e6, n, 100.0 * found / n,
	    100.0 * near / n);
	free(pts);
	yima_geo_free(g);
	return 0;
}
