/* SPDX-License-Identifier: Apache-2.0 */
/* Regions: synthetic edge cases, then every provincial capital. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "yima/err.h"
#include "yima/geo.h"

#include "testutil.h"

Suite *geo_suite(void);

static struct yima_geo *
load_synthetic(void)
{
	struct yima_geo *g;
	char why[YIMA_WHY_MAX], *p = tu_data("regions_test.txt");

	ck_assert_msg(yima_geo_load(p, &g, why) == 0, "%s", why);
	free(p);
	return g;
}

START_TEST(synthetic_levels_holes_islands)
{
	struct yima_geo *g = load_synthetic();
	struct yima_place pl;

	ck_assert_uint_eq(yima_geo_count(g, 1), 2);
	ck_assert_uint_eq(yima_geo_count(g, 2), 1);
	ck_assert_uint_eq(yima_geo_count(g, 3), 1);
	/* The finest level wins: county, then city, then province. */
	ck_assert_int_eq(yima_geo_lookup(g, -37, 1, &pl), 0);
	ck_assert_str_eq(pl.code, "990101");
	ck_assert_int_eq(pl.level, 3);
	ck_assert_str_eq(pl.province, "990000");
	ck_assert_int_eq(yima_geo_lookup(g, -32, 2, &pl), 0);
	ck_assert_str_eq(pl.code, "990100");
	ck_assert_int_eq(pl.level, 2);
	ck_assert_str_eq(pl.province, "990000");
	ck_assert_str_eq(pl.name, "TestCity");
	ck_assert_int_eq(pl.near_border, 0);
	ck_assert_int_eq(yima_geo_lookup(g, -32, 8, &pl), 0);
	ck_assert_str_eq(pl.code, "990000");
	ck_assert_int_eq(pl.level, 1);
	/* The lake is a hole; the island an extra ring of the province. */
	ck_assert_int_eq(yima_geo_lookup(g, -35, 5.5, &pl), YIMA_ENOENT);
	ck_assert_int_eq(yima_geo_lookup(g, -35, 6.5, &pl), 0);
	ck_assert_str_eq(pl.code, "990000");
	ck_assert_int_eq(yima_geo_lookup(g, -39, 21, &pl), 0);
	ck_assert_str_eq(pl.code, "990000");
	ck_assert_int_eq(yima_geo_lookup(g, -39, 23, &pl), YIMA_ENOENT);
	ck_assert_int_eq(yima_geo_lookup(g, -39, 11, &pl), 0);
	ck_assert_str_eq(pl.code, "980000");
	ck_assert_int_eq(yima_geo_lookup(g, 10, 10, &pl), YIMA_ENOENT);
	yima_geo_free(g);
}
END_TEST

START_TEST(synthetic_near_border)
{
	struct yima_geo *g = load_synthetic();
	struct yima_place pl;

	/* 0.004 deg of longitude at 31 S is ~0.38 km from the city's edge. */
	ck_assert_int_eq(yima_geo_lookup(g, -31, 5.004, &pl), 0);
	ck_assert_str_eq(pl.code, "990000");
	ck_assert_int_eq(pl.near_border, 1);
	ck_assert_int_eq(yima_geo_lookup(g, -31, 4.996, &pl), 0);
	ck_assert_str_eq(pl.code, "990100");
	ck_assert_int_eq(pl.near_border, 1);
	/* 0.02 deg is ~1.9 km: not near. */
	ck_assert_int_eq(yima_geo_lookup(g, -31, 5.02, &pl), 0);
	ck_assert_int_eq(pl.near_border, 0);
	/* The province's own edge, and the neighbour's. */
	ck_assert_int_eq(yima_geo_lookup(g, -30.005, 2, &pl), 0);
	ck_assert_int_eq(pl.near_border, 1);
	ck_assert_int_eq(yima_geo_lookup(g, -35, 9.995, &pl), 0);
	ck_assert_str_eq(pl.code, "990000");
	ck_assert_int_eq(pl.near_border, 1);
	ck_assert_int_eq(yima_geo_lookup(g, -35, 10.005, &pl), 0);
	ck_assert_str_eq(pl.code, "980000");
	ck_assert_int_eq(pl.near_border, 1);
	yima_geo_free(g);
}
END_TEST

START_TEST(bad_input)
{
	struct yima_geo *g = load_synthetic(), *g2;
	struct yima_place pl;
	char why[YIMA_WHY_MAX], *dir = tu_mkdtemp(), *p = tu_path(dir, "r");
	static const char *bad[] = {
		"R 99 1 1 X\n4 0 0 1 0 1 1 0 1\n",
		"R 990000 4 1 X\n4 0 0 1 0 1 1 0 1\n",
		"R 990000 1 2 X\n4 0 0 1 0 1 1 0 1\n",
		"R 990000 1 1 X\n2 0 0 1 0\n",
		"R 990000 1 1 X\n4 0 0 1 0 1 1 0\n",
		"R 990000 1 1 X\n4 0 0 1 0 1 1 0 nan\n",
		"R 990000 1 1 X\n4 0 0 1 0 1 1 0 91\n",
		"garbage\n",
		"",
		"N 990101 4 X\n",
		"N 9901 3 X\n",
		"R 990000 1 1 X\n4 0 0 1 0 1 1 0 1\nN 990000 3 Y\n",
	};
	size_t i;

	ck_assert_int_eq(yima_geo_lookup(g, NAN, 1, &pl), YIMA_EINVAL);
	ck_assert_int_eq(yima_geo_lookup(g, 1, INFINITY, &pl), YIMA_EINVAL);
	ck_assert_int_eq(yima_geo_lookup(g, 91, 1, &pl), YIMA_EINVAL);
	ck_assert_int_eq(yima_geo_lookup(g, 1, -181, &pl), YIMA_EINVAL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(tu_write_file(p, bad[i], strlen(bad[i])), 0);
		ck_assert_msg(yima_geo_load(p, &g2, why) == YIMA_EINVAL,
		    "accepted: %s", bad[i]);
		ck_assert_uint_gt(strlen(why), 5);
	}
	ck_assert_int_eq(yima_geo_load("/nonexistent", &g2, why), YIMA_EIO);
	ck_assert_int_eq(yima_geo_known(g, "99"), 1);
	ck_assert_int_eq(yima_geo_known(g, "9901"), 1);
	/* Counties are loaded here, so only a real one passes. */
	ck_assert_int_eq(yima_geo_known(g, "990101"), 1);
	ck_assert_int_eq(yima_geo_known(g, "990105"), 0);
	ck_assert_int_eq(yima_geo_known(g, "9902"), 0);
	ck_assert_int_eq(yima_geo_known(g, "97"), 0);
	ck_assert_int_eq(yima_geo_known(g, "990"), 0);
	ck_assert_int_eq(yima_geo_known(g, "99a1"), 0);
	tu_rmtree(dir);
	free(dir);
	free(p);
	yima_geo_free(g);
}
END_TEST

/* Published offsets: GCJ-02 moves Beijing ~0.0013 N, ~0.0062 E. */
START_TEST(gcj02)
{
	double la, lo;

	yima_geo_wgs84_to_gcj02(39.9042, 116.4074, &la, &lo);
	ck_assert(fabs(la - 39.9042 - 0.00128) < 0.0003);
	ck_assert(fabs(lo - 116.4074 - 0.00624) < 0.0003);
	yima_geo_wgs84_to_gcj02(35.6762, 139.6503, &la, &lo);
	ck_assert(la == 35.6762 && lo == 139.6503);	/* outside China */
}
END_TEST

/* ---- the installed China data ---- */

static struct yima_geo *china;

static void
china_setup(void)
{
	const char *p = getenv("YIMA_REGIONS");
	char why[YIMA_WHY_MAX];

	ck_assert_msg(p != NULL, "YIMA_REGIONS is not set (make check sets "
	    "it to assets/regions.txt)");
	ck_assert_msg(yima_geo_load(p, &china, why) == 0, "%s", why);
}

static void
china_teardown(void)
{
	yima_geo_free(china);
	china = NULL;
}

struct place {
	const char	*name;
	double		 lat, lon;	/* WGS84 */
	const char	*code;		/* expected, NULL: outside China */
};

static const struct place capitals[] = {
	{ "Beijing", 39.9042, 116.4074, "11" },
	{ "Tianjin", 39.0842, 117.2010, "12" },
	{ "Shijiazhuang", 38.0428, 114.5149, "130100" },
	{ "Taiyuan", 37.8706, 112.5489, "140100" },
	{ "Hohhot", 40.8424, 111.7490, "150100" },
	{ "Shenyang", 41.8057, 123.4315, "210100" },
	{ "Changchun", 43.8171, 125.3235, "220100" },
	{ "Harbin", 45.8038, 126.5350, "230100" },
	{ "Shanghai", 31.2304, 121.4737, "31" },
	{ "Nanjing", 32.0603, 118.7969, "320100" },
	{ "Hangzhou", 30.2741, 120.1551, "330100" },
	{ "Hefei", 31.8206, 117.2272, "340100" },
	{ "Fuzhou", 26.0745, 119.2965, "350100" },
	{ "Nanchang", 28.6820, 115.8579, "360100" },
	{ "Jinan", 36.6512, 117.1201, "370100" },
	{ "Zhengzhou", 34.7466, 113.6254, "410100" },
	{ "Wuhan", 30.5928, 114.3055, "420100" },
	{ "Changsha", 28.2282, 112.9388, "430100" },
	{ "Guangzhou", 23.1291, 113.2644, "440100" },
	{ "Nanning", 22.8170, 108.3665, "450100" },
	{ "Haikou", 20.0440, 110.1999, "460100" },
	{ "Chongqing", 29.5630, 106.5516, "50" },
	{ "Chengdu", 30.5728, 104.0668, "510100" },
	{ "Guiyang", 26.6470, 106.6302, "520100" },
	{ "Kunming", 25.0389, 102.7183, "530100" },
	{ "Lhasa", 29.6520, 91.1721, "540100" },
	{ "Xi'an", 34.3416, 108.9398, "610100" },
	{ "Lanzhou", 36.0611, 103.8343, "620100" },
	{ "Xining", 36.6171, 101.7782, "630100" },
	{ "Yinchuan", 38.4872, 106.2309, "640100" },
	{ "Urumqi", 43.8256, 87.6168, "650100" },
	{ "Hong Kong", 22.2793, 114.1628, "81" },
	{ "Macau", 22.1987, 113.5439, "82" },
	{ "Taipei", 25.0330, 121.5654, "71" },
	/* Islands: extra rings, which a first-ring-only test misses. */
	{ "Chongming island", 31.6231, 121.3970, "31" },
	{ "Zhoushan", 29.9853, 122.2072, "330900" },
	{ "Sanya", 18.2528, 109.5120, "460200" },
	{ "Xiamen", 24.4798, 118.0894, "350200" },
	/* The remapped former Laiwu city is part of Jinan now. */
	{ "Laiwu", 36.2144, 117.6776, "370100" },
	/* Outside China. */
	{ "Tokyo", 35.6762, 139.6503, NULL },
	{ "Seoul", 37.5665, 126.9780, NULL },
	{ "Hanoi", 21.0278, 105.8342, NULL },
	{ "Ulaanbaatar", 47.8864, 106.9057, NULL },
	{ "Pacific", 10.0, 150.0, NULL },
	{ "South Atlantic", -35.0, 5.0, NULL },
};

START_TEST(china_capitals_islands_outside)
{
	const struct place *c = &capitals[_i];
	struct yima_place pl;
	int rc;

	rc = yima_geo_lookup(china, c->lat, c->lon, &pl);
	if (c->code == NULL) {
		ck_assert_msg(rc == YIMA_ENOENT, "%s found in %s", c->name,
		    rc == 0 ? pl.code : "?");
		return;
	}
	ck_assert_msg(rc == 0, "%s not found", c->name);
	ck_assert_msg(strncmp(pl.code, c->code, strlen(c->code)) == 0,
	    "%s: got %s %s, want %s", c->name, pl.code, pl.name, c->code);
	ck_assert_int_eq(strncmp(pl.province, pl.code, 2), 0);
}
END_TEST

static void
collect(void *arg, const char *code, const char *name, int level)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 4096 - n, "%s%s/%d/%s", n ? " " : "", code, level,
	    name);
}

/* Names only (N lines): named, placed under their parent, no shape. */
START_TEST(synthetic_names)
{
	struct yima_geo *g = load_synthetic();
	struct yima_place pl;
	char list[4096] = "", parent[7];

	ck_assert_uint_eq(yima_geo_children(g, "", collect, list), 2);
	ck_assert_str_eq(list, "980000/1/Neighbour 990000/1/TestProvince");
	list[0] = '\0';
	ck_assert_uint_eq(yima_geo_children(g, "990000", collect, list), 1);
	ck_assert_str_eq(list, "990100/2/TestCity");
	list[0] = '\0';
	/* A shaped county and a named one, in code order. */
	ck_assert_uint_eq(yima_geo_children(g, "990100", collect, list), 2);
	ck_assert_str_eq(list, "990101/3/TestCounty 990102/3/NamedCounty");
	list[0] = '\0';
	/* A county whose city is no region goes under the province, not
	 * under the province's first city (98 is no municipality). */
	ck_assert_uint_eq(yima_geo_children(g, "980000", collect, list), 2);
	ck_assert_str_eq(list, "980100/2/NamedCity 980201/3/Orphan");
	ck_assert_uint_eq(yima_geo_children(g, "990101", collect, list), 0);
	ck_assert_str_eq(yima_geo_name(g, "990102"), "NamedCounty");
	ck_assert_ptr_null(yima_geo_name(g, "990103"));
	ck_assert_int_eq(yima_geo_parent(g, "990102", parent), 0);
	ck_assert_str_eq(parent, "990100");
	ck_assert_int_eq(yima_geo_parent(g, "990000", parent), 0);
	ck_assert_str_eq(parent, "");
	ck_assert_int_eq(yima_geo_parent(g, "990103", parent), YIMA_ENOENT);
	/* A name has no shape: the city answers inside it. */
	ck_assert_uint_eq(yima_geo_count(g, 3), 1);
	ck_assert_int_eq(yima_geo_lookup(g, -32, 2, &pl), 0);
	ck_assert_str_eq(pl.code, "990100");
	yima_geo_free(g);
}
END_TEST

/* The names a picker shows: provinces, a city's districts, Chongqing's 县. */
START_TEST(china_names)
{
	char list[4096] = "", parent[7];
	size_t n;

	n = yima_geo_children(china, "", collect, list);
	ck_assert_uint_ge(n, 34);
	ck_assert_ptr_nonnull(strstr(list, "330000/1/浙江省"));
	list[0] = '\0';
	ck_assert_uint_ge(yima_geo_children(china, "330000", collect, list),
	    11);
	ck_assert_ptr_nonnull(strstr(list, "330100/2/杭州市"));
	list[0] = '\0';
	ck_assert_uint_ge(yima_geo_children(china, "330100", collect, list),
	    10);
	ck_assert_ptr_nonnull(strstr(list, "330106/3/西湖区"));
	ck_assert_str_eq(yima_geo_name(china, "310115"), "浦东新区");
	ck_assert_int_eq(yima_geo_parent(china, "500229", parent), 0);
	ck_assert_str_eq(parent, "500100");
	/* Province-direct counties stand at city level; 三沙's islands are
	 * under 三沙, which the map data has no shape of. */
	ck_assert_int_eq(yima_geo_parent(china, "659008", parent), 0);
	ck_assert_str_eq(parent, "650000");
	ck_assert_int_eq(yima_geo_parent(china, "460321", parent), 0);
	ck_assert_str_eq(parent, "460300");
	ck_assert_str_eq(yima_geo_name(china, "460300"), "三沙市");
}
END_TEST

START_TEST(china_counts)
{
	ck_assert_uint_ge(yima_geo_count(china, 1), 34);
	ck_assert_uint_ge(yima_geo_count(china, 2), 330);
	ck_assert_int_eq(yima_geo_known(china, "44"), 1);
	ck_assert_int_eq(yima_geo_known(china, "4401"), 1);
	ck_assert_int_eq(yima_geo_known(china, "310115"), 1);
	ck_assert_int_eq(yima_geo_known(china, "99"), 0);
	ck_assert_int_eq(yima_geo_known(china, "371200"), 0);
}
END_TEST

Suite *
geo_suite(void)
{
	Suite *s = suite_create("geo");
	TCase *tc = tcase_create("synthetic");

	tcase_add_test(tc, synthetic_levels_holes_islands);
	tcase_add_test(tc, synthetic_near_border);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, gcj02);
	tcase_add_test(tc, synthetic_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("china");
	tcase_add_unchecked_fixture(tc, china_setup, china_teardown);
	tcase_add_loop_test(tc, china_capitals_islands_outside, 0,
	    (int)(sizeof(capitals) / sizeof(capitals[0])));
	tcase_add_test(tc, china_counts);
	tcase_add_test(tc, china_names);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
