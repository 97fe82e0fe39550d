/* SPDX-License-Identifier: Apache-2.0 */
/*
 * make bench-report, part 1: the bulk seed. Generates N synthetic scans
 * (default 10,000,000) over 90 days, 300 regions, 50 dealers and 200
 * SKUs with a fixed seed, and writes what the scan service's writer would
 * have written for them: the four rollup tables (counters and consumer
 * sketches, built with the service's own sketch code), one diversion
 * event per scan outside its owner's territory, store-channel rollups,
 * and the dealers with their territories; for the audience's reports, an
 * A/B test's arms, store channels' funnels, and the lifecycle row of each
 * of 3,000,000 consumers with the counts and monthly moves they add up to.
 * The scans table itself is not filled: no report reads it. scripts/bench_report.sh then times the
 * report endpoints of a real server on this database.
 *
 *   bench_report DB REGIONS_FILE [SCANS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "../scanapi/audience.h"
#include "../scanapi/sketch.h"

#define DAYS		90
#define NREGIONS	300
#define NDEALERS	50	/* 10 distributors, each with 4 dealers */
#define NSKUS		200
#define SKUS_EACH	40	/* a dealer carries 40 of them */
#define NLEAKS		3	/* where a dealer's diverted goods turn up */
#define NCONSUMERS	3000000
#define NSTORES		10	/* store channels per dealer */
#define DAY_MS		86400000LL

struct ev {
	uint16_t	dealer, region, sku;	/* region NREGIONS: unknown */
	uint8_t		verdict;	/* 1 genuine, 2 repeat, 3 suspect */
	uint8_t		claim;
	uint64_t	cons;
};

struct acc {
	int64_t		scans, v[4], claims;
	uint8_t		sk[API_SKETCH_MAX];
	size_t		len;
};

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint32_t
below(uint32_t n)
{
	return (uint32_t)((next() >> 32) % n);
}

static char regions[NREGIONS + 1][7];
static char gtins[NSKUS][15];
static char dealers[NDEALERS][8];
static uint16_t carries[NDEALERS][SKUS_EACH];
static uint16_t leaks[NDEALERS][NLEAKS];

static void
die(const char *what, sqlite3 *db)
{
	fprintf(stderr, "bench_report: %s: %s\n", what,
	    db != NULL ? sqlite3_errmsg(db) : "failed");
	exit(1);
}

static void
exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(sql, db);
}

static sqlite3_stmt *
prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		die(sql, db);
	return s;
}

static void
done(sqlite3 *db, sqlite3_stmt *s)
{
	if (sqlite3_step(s) != SQLITE_DONE)
		die("insert", db);
	sqlite3_reset(s);
}

/* City codes (level 2) from the region file: the first NREGIONS. */
static void
load_regions(const char *path)
{
	char line[512], code[16];
	int level, n = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		exit(1);
	}
	while (n < NREGIONS && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "R %15s %d", code, &level) == 2 &&
		    level == 2 && strlen(code) == 6)
			memcpy(regions[n++], code, 7);
	fclose(f);
	if (n < NREGIONS) {
		fprintf(stderr, "bench_report: %s has %d cities, not %d\n",
		    path, n, NREGIONS);
		exit(1);
	}
	regions[NREGIONS][0] = '\0';	/* unlocated */
}

/* GTIN-14 with its check digit (GS1 mod 10). */
static void
make_gtin(int i, char out[15])
{
	int k, sum = 0;

	snprintf(out, 15, "0690123450%03d", i);
	for (k = 0; k < 13; k++)
		sum += (out[k] - '0') * (k % 2 == 0 ? 3 : 1);
	out[13] = (char)('0' + (10 - sum % 10) % 10);
	out[14] = '\0';
}

static void
add(struct acc *a, const struct ev *e)
{
	uint8_t out[API_SKETCH_MAX];

	a->scans++;
	a->v[e->verdict]++;
	a->claims += e->claim;
	a->len = api_sketch_add(a->len ? a->sk : NULL, a->len, e->cons, out);
	memcpy(a->sk, out, a->len);
}

/* Sorting the day's scans by one table's key. */
static int by;
static int
cmp(const void *pa, const void *pb)
{
	const struct ev *a = pa, *b = pb;
	int k[2][3] = { { 0 } };

	switch (by) {
	case 0: /* rollups: dealer, region, sku */
		k[0][0] = a->dealer; k[0][1] = a->region; k[0][2] = a->sku;
		k[1][0] = b->dealer; k[1][1] = b->region; k[1][2] = b->sku;
		break;
	case 1: /* rollup_regions */
		k[0][0] = a->dealer; k[0][1] = a->region;
		k[1][0] = b->dealer; k[1][1] = b->region;
		break;
	case 2: /* rollup_skus */
		k[0][0] = a->dealer; k[0][1] = a->sku;
		k[1][0] = b->dealer; k[1][1] = b->sku;
		break;
	default: /* rollup_gtins */
		k[0][0] = a->sku;
		k[1][0] = b->sku;
	}
	return memcmp(k[0], k[1], sizeof(k[0])) < 0 ? -1 :
	    memcmp(k[0], k[1], sizeof(k[0])) > 0;
}

static int
same(const struct ev *a, const struct ev *b)
{
	return cmp(a, b) == 0;
}

/* Writes one table's rows for a day from the scans sorted by its key. */
static void
write_rows(sqlite3 *db, sqlite3_stmt *s, int64_t day, struct ev *ev,
    size_t n, size_t *rows)
{
	struct acc a;
	size_t i = 0, j;
	int k;

	qsort(ev, n, sizeof(*ev), cmp);
	while (i < n) {
		memset(&a, 0, sizeof(a));
		for (j = i; j < n && same(&ev[i], &ev[j]); j++)
			add(&a, &ev[j]);
		k = 1;
		sqlite3_bind_int64(s, k++, day);
		if (by <= 2)
			sqlite3_bind_text(s, k++, dealers[ev[i].dealer], -1,
			    SQLITE_STATIC);
		if (by <= 1)
			sqlite3_bind_text(s, k++, regions[ev[i].region], -1,
			    SQLITE_STATIC);
		if (by != 1)
			sqlite3_bind_text(s, k++, gtins[ev[i].sku], -1,
			    SQLITE_STATIC);
		sqlite3_bind_int64(s, k++, a.scans);
		sqlite3_bind_int64(s, k++, a.v[1]);
		sqlite3_bind_int64(s, k++, a.v[2]);
		sqlite3_bind_int64(s, k++, a.v[3]);
		sqlite3_bind_int64(s, k++, a.claims);
		sqlite3_bind_blob(s, k, a.sk, (int)a.len, SQLITE_STATIC);
		done(db, s);
		(*rows)++;
		i = j;
	}
}

/* ---- the audience ---- */

static const char *const stages[] = { "new", "active", "at_risk",
    "lapsed" };
static const char *const tiers[] = { "member", "silver", "gold",
    "diamond" };

static int
stage_index(const char *s)
{
	int i;

	for (i = 0; i < 4 && strcmp(s, stages[i]) != 0; i++)
		;
	return i;
}

#define MONTHS	14
static int64_t cells[NREGIONS + 1][4][4];
/* Moves: none>new, new>{active,at_risk,lapsed}, by month and region. */
static int64_t moves[MONTHS][NREGIONS + 1][4];

/*
 * An A/B test of two arms (campaign 1), each store channel's funnel per
 * day, and 3,000,000 consumers' lifecycle rows, stages as of now.
 */
static void
seed_audience(sqlite3 *db, int64_t today, int64_t now)
{
	struct yima_segment g;
	sqlite3_stmt *s;
	int64_t day, m0 = api_month_of(now), first_m, m;
	char sql[512];
	int d, r, t, i, k, mi;

	snprintf(sql, sizeof(sql), "INSERT INTO campaigns (id, name, start_at,"
	    " end_at, status, claim_kind, gtins, regions, points, commission,"
	    " body, created_at) VALUES (1, 'bench A/B', %lld, %lld, 'active',"
	    " %d, '', '', 10, 0, '{}', %lld)", (long long)(now - 400 * DAY_MS),
	    (long long)(now + 400 * DAY_MS), YIMA_KIND_INNER, (long long)now);
	exec(db, sql);
	exec(db, "INSERT INTO variants VALUES (1, 0, 'A', 50, NULL, 0, 'A',"
	    " '', ''), (1, 1, 'B', 50, 20, 0, 'B', '', '');"
	    "INSERT INTO ab_arms VALUES (1, 0, 0, 150000, 45000, 46000, 21000,"
	    " 0, 460000), (1, 1, 0, 150000, 47000, 48000, 22000, 0, 960000)");
	s = prep(db, "INSERT INTO channel_funnel VALUES (?1, ?2, 0, ?3, ?4,"
	    " ?5, ?6, ?7)");
	for (day = today - DAYS + 1; day <= today; day++)
		for (d = 0; d < NDEALERS * NSTORES; d++) {
			i = (int)below(200);
			sqlite3_bind_int64(s, 1, day);
			sqlite3_bind_int64(s, 2, 9000000 + d);
			sqlite3_bind_int64(s, 3, i + 20);
			sqlite3_bind_int64(s, 4, i);
			sqlite3_bind_int64(s, 5, i / 3);
			sqlite3_bind_int64(s, 6, i / 9);
			sqlite3_bind_int64(s, 7, i / 3 * 2);
			done(db, s);
		}
	sqlite3_finalize(s);
	s = prep(db, "INSERT INTO segments VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
	    " ?7, ?8, ?9)");
	for (i = 0; i < NCONSUMERS; i++) {
		memset(&g, 0, sizeof(g));
		snprintf(g.consumer, sizeof(g.consumer), "%024llx",
		    (unsigned long long)i * 2654435761ULL);
		r = below(100) < 15 ? NREGIONS : (int)below(NREGIONS);
		memcpy(g.region, regions[r], sizeof(g.region));
		t = below(100) < 70 ? 0 : below(100) < 70 ? 1 : below(2) + 2;
		snprintf(g.tier, sizeof(g.tier), "%s", tiers[t]);
		g.first_at = now - (int64_t)below(400) * DAY_MS;
		g.last_at = g.first_at + (int64_t)below((uint32_t)((now -
		    g.first_at) / DAY_MS + 1)) * DAY_MS;
		snprintf(g.gaps, sizeof(g.gaps), "%u,%u", 24 + below(2000),
		    24 + below(2000));
		snprintf(g.stage, sizeof(g.stage), "%s", api_stage_at(&g,
		    now));
		g.due_at = api_stage_due(&g, now);
		sqlite3_bind_text(s, 1, g.consumer, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, g.region, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, g.tier, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, g.stage, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, g.first_at);
		sqlite3_bind_int64(s, 6, g.last_at);
		sqlite3_bind_int64(s, 7, i + 1);
		sqlite3_bind_text(s, 8, g.gaps, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 9, g.due_at);
		done(db, s);
		k = stage_index(g.stage);
		cells[r][k][t]++;
		/* The months back from now a move fell in, if in range. */
		first_m = api_month_of(g.first_at);
		mi = (int)((m0 / 100 - first_m / 100) * 12 + m0 % 100 -
		    first_m % 100);
		if (mi < MONTHS)
			moves[mi][r][0]++;
		m = api_month_of(g.first_at + API_STAGE_NEW_MS);
		mi = (int)((m0 / 100 - m / 100) * 12 + m0 % 100 - m % 100);
		if (k > 0 && mi >= 0 && mi < MONTHS)
			moves[mi][r][k]++;
	}
	sqlite3_finalize(s);
	s = prep(db, "INSERT INTO segment_counts VALUES (?1, ?2, ?3, 0, ?4)");
	for (r = 0; r <= NREGIONS; r++)
		for (k = 0; k < 4; k++)
			for (t = 0; t < 4; t++) {
				if (cells[r][k][t] == 0)
					continue;
				sqlite3_bind_text(s, 1, regions[r], -1,
				    SQLITE_STATIC);
				sqlite3_bind_text(s, 2, stages[k], -1,
				    SQLITE_STATIC);
				sqlite3_bind_text(s, 3, tiers[t], -1,
				    SQLITE_STATIC);
				sqlite3_bind_int64(s, 4, cells[r][k][t]);
				done(db, s);
			}
	sqlite3_finalize(s);
	s = prep(db, "INSERT INTO segment_moves VALUES (?1, ?2, ?3, ?4, 0,"
	    " ?5)");
	for (mi = 0; mi < MONTHS; mi++)
		for (r = 0; r <= NREGIONS; r++)
			for (k = 0; k < 4; k++) {
				if (moves[mi][r][k] == 0)
					continue;
				m = m0 - mi / 12 * 100 - mi % 12;
				if (m % 100 <= 0 || m % 100 > 12)
					m -= 88;	/* 202600 -> 202512 */
				sqlite3_bind_int64(s, 1, m);
				sqlite3_bind_text(s, 2, regions[r], -1,
				    SQLITE_STATIC);
				sqlite3_bind_text(s, 3, k ? "new" : "", -1,
				    SQLITE_STATIC);
				sqlite3_bind_text(s, 4, k ? stages[k] : "new",
				    -1, SQLITE_STATIC);
				sqlite3_bind_int64(s, 5, moves[mi][r][k]);
				done(db, s);
			}
	sqlite3_finalize(s);
}

int
main(int argc, char **argv)
{
	static const char *const ins[] = {
		"INSERT INTO rollups (day, dealer, region, gtin, scans,"
		" genuine, repeat, suspect, claims, consumers)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
		"INSERT INTO rollup_regions (day, dealer, region, scans,"
		" genuine, repeat, suspect, claims, consumers)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
		"INSERT INTO rollup_skus (day, dealer, gtin, scans, genuine,"
		" repeat, suspect, claims, consumers)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
		"INSERT INTO rollup_gtins (day, gtin, scans, genuine, repeat,"
		" suspect, claims, consumers)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	};
	sqlite3 *db;
	sqlite3_stmt *st[4], *dv, *ch;
	struct yima_mac *key;
	struct ev *ev;
	char sql[256], cid[32];
	long long total = argc > 3 ? atoll(argv[3]) : 10000000;
	size_t per, n, rows[4] = { 0 }, diverted = 0, i, k;
	int64_t today = ((int64_t)time(NULL) * 1000 + 8 * 3600000LL) / DAY_MS;
	int64_t day;
	int d, r, t;
	double t0 = (double)clock();

	if (argc < 3 || total <= 0) {
		fprintf(stderr, "usage: bench_report DB REGIONS_FILE [SCANS]\n");
		return 2;
	}
	load_regions(argv[2]);
	/* The ids are made up: any key hashes them as the service would. */
	if (yima_mac_new((const uint8_t *)"bench", 5, &key) != 0)
		die("out of memory", NULL);
	for (i = 0; i < NSKUS; i++)
		make_gtin((int)i, gtins[i]);
	if (sqlite3_open(argv[1], &db) != SQLITE_OK)
		die(argv[1], db);
	exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;"
	    " BEGIN");
	/* 10 distributors of 4 dealers; each owns 6 cities and leaks to 3. */
	for (d = 0; d < NDEALERS; d++) {
		snprintf(dealers[d], sizeof(dealers[d]), "d%02d", d);
		snprintf(sql, sizeof(sql), "INSERT INTO dealers (id, name,"
		    " parent, type, created_at) VALUES ('%s',"
		    " 'dealer %d', %s%s%s, '%s', 0)", dealers[d], d,
		    d % 5 ? "'" : "", d % 5 ? dealers[d - d % 5] : "NULL",
		    d % 5 ? "'" : "", d % 5 ? "dealer" : "distributor");
		exec(db, sql);
		for (r = 0; r < NREGIONS / NDEALERS; r++) {
			snprintf(sql, sizeof(sql), "INSERT INTO territories"
			    " VALUES ('%s', '%s')", dealers[d],
			    regions[d * (NREGIONS / NDEALERS) + r]);
			exec(db, sql);
		}
		for (k = 0; k < SKUS_EACH; k++)
			carries[d][k] = (uint16_t)((d * 4 + k) % NSKUS);
		for (k = 0; k < NLEAKS; k++)
			leaks[d][k] = (uint16_t)((d * 6 + 6 + below(NREGIONS -
			    6)) % NREGIONS);
		for (k = 0; k < NSTORES; k++) {
			snprintf(sql, sizeof(sql), "INSERT INTO channels VALUES"
			    " (%d, '%s', 'store', 'store %d-%zu', 0)",
			    9000000 + d * NSTORES + (int)k, dealers[d], d, k);
			exec(db, sql);
		}
	}
	for (i = 0; i < 4; i++)
		st[i] = prep(db, ins[i]);
	dv = prep(db, "INSERT INTO diversions (scan_id, at, serial, owner,"
	    " region, evidence, uncertain) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " 'consumer', 0)");
	ch = prep(db, "INSERT INTO rollup_channels (day, channel, scans)"
	    " VALUES (?1, ?2, ?3)");
	per = (size_t)(total / DAYS);
	if ((ev = malloc((per + DAYS) * sizeof(*ev))) == NULL)
		die("out of memory", NULL);
	for (day = today - DAYS + 1; day <= today; day++) {
		n = per + (day == today ? (size_t)(total % DAYS) : 0);
		for (i = 0; i < n; i++) {
			struct ev *e = &ev[i];
			uint32_t x = below(1000);
			int away = x >= 150 && x < 180;

			e->dealer = (uint16_t)below(NDEALERS);
			e->sku = carries[e->dealer][below(SKUS_EACH)];
			/* 15% unlocated, 3% diverted, the rest at home. */
			if (x < 150)
				e->region = NREGIONS;
			else if (x < 180)
				e->region = leaks[e->dealer][below(NLEAKS)];
			else
				e->region = (uint16_t)(e->dealer * (NREGIONS /
				    NDEALERS) + below(NREGIONS / NDEALERS));
			x = below(100);
			e->verdict = x < 85 ? 1 : x < 97 ? 2 : 3;
			e->claim = e->verdict == 1 && below(5) == 0;
			snprintf(cid, sizeof(cid), "c%u", below(NCONSUMERS));
			e->cons = api_sketch_hash(key, cid, strlen(cid));
			if (away) {
				sqlite3_bind_int64(dv, 1, (int64_t)diverted + 1);
				sqlite3_bind_int64(dv, 2, day * DAY_MS -
				    8 * 3600000LL + below(86400) * 1000LL);
				sqlite3_bind_int64(dv, 3, 1000000 + below(
				    100000000));
				sqlite3_bind_text(dv, 4, dealers[e->dealer], -1,
				    SQLITE_STATIC);
				sqlite3_bind_text(dv, 5, regions[e->region], -1,
				    SQLITE_STATIC);
				done(db, dv);
				diverted++;
			}
		}
		/* A third of consumers came through a store. */
		for (d = 0; d < NDEALERS * NSTORES; d++) {
			sqlite3_bind_int64(ch, 1, day);
			sqlite3_bind_int64(ch, 2, 9000000 + d);
			sqlite3_bind_int64(ch, 3, (int64_t)(n / 3 / (NDEALERS *
			    NSTORES)) + below(20));
			done(db, ch);
		}
		for (t = 0; t < 4; t++) {
			by = t;
			write_rows(db, st[t], day, ev, n, &rows[t]);
		}
		if ((today - day) % 10 == 0)
			fprintf(stderr, "bench_report: seeded day %lld of %d\n",
			    (long long)(day - today + DAYS), DAYS);
	}
	seed_audience(db, today, (int64_t)time(NULL) * 1000);
	exec(db, "COMMIT");
	for (i = 0; i < 4; i++)
		sqlite3_finalize(st[i]);
	sqlite3_finalize(dv);
	sqlite3_finalize(ch);
	sqlite3_close(db);
	yima_mac_free(key);
	free(ev);
	printf("seeded %lld scans over %d days, %d regions, %d dealers, %d "
	    "SKUs in %.1f s CPU: rollups %zu rows, by region %zu, by dealer "
	    "and SKU %zu, by SKU %zu; %zu diversion events\n", total, DAYS,
	    NREGIONS, NDEALERS, NSKUS, ((double)clock() - t0) /
	    CLOCKS_PER_SEC, rows[0], rows[1], rows[2], rows[3], diverted);
	return 0;
}
