/* SPDX-License-Identifier: Apache-2.0 */
/* serve's settings, from one table: flags, the configuration file, help. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "yima/err.h"

#include "../codegen/err-private.h"

#include "settings.h"

enum type { T_INT, T_NUM, T_STR, T_FN };

struct setting {
	const char	*name;	/* --name, and the file's key */
	const char	*arg;	/* N, FILE ... for the help */
	enum type	 type;
	size_t		 off;	/* in struct api_config */
	double		 lo, hi;
	const char	*def;	/* the default as typed; NULL: none */
	int		 live;	/* a reload changes it */
	/* T_FN: parses v into cfg; 0 or -1 with why */
	int		(*fn)(struct api_config *cfg, const char *v, char *why);
	const char	*help;
};

#define O(f)	offsetof(struct api_config, f)

static int
set_sync(struct api_config *cfg, const char *v, char *why)
{
	if (strcmp(v, "normal") == 0)
		cfg->sync = YIMA_SYNC_NORMAL;
	else if (strcmp(v, "full") == 0)
		cfg->sync = YIMA_SYNC_FULL;
	else
		return yima_why_(why, -1, "must be normal or full");
	return 0;
}

static int
set_tiers(struct api_config *cfg, const char *v, char *why)
{
	return api_tiers_parse(v, &cfg->reward, why) == 0 ? 0 : -1;
}

static int
set_proxies(struct api_config *cfg, const char *v, char *why)
{
	if (strcmp(v, "none") == 0) {
		cfg->proxies.n = 0;
		return 0;
	}
	return api_proxies_parse(v, &cfg->proxies, why) == 0 ? 0 : -1;
}

static int
set_header(struct api_config *cfg, const char *v, char *why)
{
	if (strcasecmp(v, "x-forwarded-for") == 0)
		cfg->proxies.header = API_PROXY_XFF;
	else if (strcasecmp(v, "forwarded") == 0)
		cfg->proxies.header = API_PROXY_FORWARDED;
	else
		return yima_why_(why, -1, "must be x-forwarded-for or "
		    "forwarded");
	return 0;
}

static int
set_regions(struct api_config *cfg, const char *v, char *why)
{
	(void)why;
	cfg->regions = strcmp(v, "none") == 0 ? NULL : v;
	return 0;
}

/* The data paths' defaults come from api_paths_find, not from here. */
static const struct setting table[] = {
	{ "db", "FILE|URL", T_STR, O(db), 0, 0, NULL, 0, NULL,
	  "the SQLite database file, or a postgresql:// or postgres:// URL "
	  "(required)" },
	{ "keyring", "DIR", T_STR, O(keyring), 0, 0, NULL, 0, NULL,
	  "the keyring made by yima-codegen keygen (required); a reload "
	  "re-reads it" },
	{ "listen", "ADDR:PORT", T_STR, O(listen), 0, 0, "127.0.0.1:8080", 0,
	  NULL, "address to listen on; port 0 picks a free one" },
	{ "web", "DIR", T_STR, O(web), 0, 0, NULL, 0, NULL,
	  "pages to serve (default: PREFIX/share/yima/web beside the "
	  "installed program, or the source tree's scanapi/web)" },
	{ "web-assets", "DIR", T_STR, O(web_assets), 0, 0, NULL, 0, NULL,
	  "ECharts and the China map for /dashboard, from scripts/setup.sh "
	  "(default: PREFIX/share/yima/assets, or the source tree's "
	  "assets/web)" },
	{ "regions", "FILE|none", T_FN, 0, 0, 0, NULL, 0, set_regions,
	  "region data from scripts/regions.sh; none stores no regions "
	  "(default: PREFIX/share/yima/regions.txt, or the source tree's "
	  "assets/regions.txt)" },
	{ "log", "FILE", T_STR, O(log), 0, 0, NULL, 0, NULL,
	  "JSON-lines request log, reopened by a reload (default: standard "
	  "error, which systemd sends to the journal)" },
	{ "threads", "N", T_INT, O(threads), 1, 64, "2", 0, NULL,
	  "HTTP worker threads" },
	{ "db-pool", "N", T_INT, O(db_pool), 1, 64, NULL, 0, NULL,
	  "read connections; the default is threads + 2, at most 64" },
	{ "db-writers", "N", T_INT, O(db_writers), 1, 16, "1", 0, NULL,
	  "PostgreSQL: scan writer threads; the write connections are one "
	  "more, shared with the other routes' writes; SQLite has one "
	  "writer" },
	{ "node-id", "N", T_INT, O(node), 0, 999, NULL, 0, NULL,
	  "PostgreSQL: pin this node's number (default: the lowest free one, "
	  "held while it serves, so identical nodes start from one command "
	  "line); a number already serving is refused" },
	{ "sync", "normal|full", T_FN, 0, 0, 0, "normal", 0, set_sync,
	  "SQLite: normal: a scan answered 200 survives a crash of the "
	  "process; full: also a power loss. PostgreSQL: the server's "
	  "synchronous_commit decides" },
	{ "ip-rate", "N", T_NUM, O(ip_rate), 0, 1e9, "20", 0, NULL,
	  "requests per second per client address on the public routes; 0 "
	  "turns the limit off" },
	{ "consumer-rate", "N", T_NUM, O(consumer_rate), 0, 1e9, "5", 0, NULL,
	  "scans per second per consumer id" },
	{ "max-conns", "N", T_INT, O(conn_limit), 16, 100000, "1024", 0, NULL,
	  "open connections at most" },
	{ "timeout", "SEC", T_INT, O(conn_timeout), 1, 3600, "15", 0, NULL,
	  "idle or slow connections are closed" },
	{ "suspect-consumers", "N", T_INT, O(verdict.suspect_consumers), 1,
	  1e6, "3", 0, NULL,
	  "a repeat is suspect with N distinct consumers in 24 h" },
	{ "suspect-scans", "N", T_INT, O(verdict.suspect_scans), 1, 1e6,
	  "10", 0, NULL, "... or N scans in 7 days" },
	{ "suspect-speed", "KMH", T_NUM, O(verdict.suspect_kmh), 1, 1e9,
	  "900", 0, NULL,
	  "... or two located scans implying travel faster than KMH" },
	{ "channel-days", "N", T_INT, O(verdict.channel_days), 1, 3650, "30",
	  0, NULL, "a channel code binds its scanner this long" },
	{ "alert-level1", "N", T_INT, O(alert_level1), 1, 1e6, "5", 1, NULL,
	  "diversion events by consumers that raise a level-1 alert in the "
	  "report window" },
	{ "tiers", "SPEC", T_FN, 0, 0, 0,
	  "member:0:1,silver:500:1.2,gold:2000:1.5,diamond:5000:2", 0,
	  set_tiers, "member tiers as name:growth:multiplier,...; growth is "
	  "points earned" },
	{ "tier-days", "N", T_INT, O(reward.tier_days), 1, 3650, "365", 0,
	  NULL, "growth counts the last N days, so a tier lapses" },
	{ "trend-drop", "PCT", T_INT, O(trend_drop), 1, 100, "30", 1, NULL,
	  "alert when scans in a region or at a store fall PCT% against the "
	  "window before" },
	{ "trend-min", "N", T_INT, O(trend_min), 1, 1e9, "50", 1, NULL,
	  "... and that window had N scans at least" },
	{ "spike-min", "N", T_INT, O(spike_min), 1, 1e9, "10", 1, NULL,
	  "alert at N suspect scans in a region, at least twice the window "
	  "before" },
	{ "min-report-count", "N", T_INT, O(min_report_count), 1, 1e6, "3", 1,
	  NULL, "a dealer's scan report shows no row with fewer distinct "
	  "consumers: a county merges into its city, a city into its "
	  "province, a province into \"other\", left out if still too few; "
	  "1 turns it off" },
	{ "ab-min", "N", T_INT, O(ab_min), 1, 1e6, "200", 1, NULL,
	  "an A/B test names a winner only when each arm has N consumers at "
	  "least" },
	{ "retention-days", "N", T_INT, O(verdict.retention_days), 0, 36500,
	  "180", 0, NULL, "raw places and client addresses of scans are kept "
	  "N days, then coarsened to 0.1 degree when the writer is idle; 0 "
	  "keeps them" },
	{ "consumer-retention-days", "N", T_INT, O(verdict.consumer_days), 0,
	  36500, "365", 0, NULL, "consumer ids of scans are kept N days, then "
	  "dropped the same way; 0 keeps them" },
	{ "upkeep-seconds", "N", T_INT, O(verdict.upkeep_s), 1, 86400, "60",
	  0, NULL, "an idle writer does such upkeep every N seconds" },
	{ "trusted-proxy", "CIDRS", T_FN, 0, 0, 0, NULL, 0, set_proxies,
	  "peers (up to 16 addresses or CIDRs, comma-separated) whose "
	  "forwarding header names the client: its rightmost address outside "
	  "them is the client for rate limits, networks and logs; they also "
	  "say whether the client used HTTPS (default: none; every peer is "
	  "the client)" },
	{ "proxy-header", "NAME", T_FN, 0, 0, 0, "x-forwarded-for", 0,
	  set_header, "x-forwarded-for (with X-Forwarded-Proto) or forwarded "
	  "(RFC 7239): the one header those proxies set" },
	{ "epcis-push", "URL", T_STR, O(epcis_push), 0, 0, NULL, 0, NULL,
	  "push each new EPCIS event to a repository's capture URL" },
	{ "epcis-push-token", "T", T_STR, O(epcis_push_token), 0, 0, NULL, 0,
	  NULL, "the bearer token for --epcis-push" },
};

#define NSET	(sizeof(table) / sizeof(table[0]))

static const struct setting *
find(const char *name)
{
	size_t i;

	for (i = 0; i < NSET; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

/* Sets s to v; a refusal names it as pre and its name ("--", ""). */
static int
apply(struct api_config *cfg, const struct setting *s, const char *v,
    const char *pre, char *why)
{
	char *p = (char *)cfg + s->off, *end, sub[YIMA_WHY_MAX];
	double d;

	switch (s->type) {
	case T_STR:
		memcpy(p, &v, sizeof(v));
		return 0;
	case T_FN:
		if (s->fn(cfg, v, sub) != 0)
			return yima_why_(why, -1, "bad value '%.40s' for %s%s: "
			    "%s", v, pre, s->name, sub);
		return 0;
	case T_INT:
	case T_NUM:
		errno = 0;
		d = strtod(v, &end);
		if (errno != 0 || end == v || *end != '\0' ||
		    isspace((unsigned char)*v) || !(d >= s->lo && d <= s->hi) ||
		    (s->type == T_INT && d != (double)(long)d))
			return yima_why_(why, -1, "bad value '%.40s' for %s%s: "
			    "%s %.0f to %.0f", v, pre, s->name, s->type == T_INT ?
			    "a whole number" : "a number", s->lo, s->hi);
		if (s->type == T_INT) {
			int n = (int)d;

			memcpy(p, &n, sizeof(n));
		} else
			memcpy(p, &d, sizeof(d));
		return 0;
	}
	return -1;
}

void
api_settings_defaults(struct api_config *cfg, const struct api_paths *p)
{
	char why[YIMA_WHY_MAX];
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	api_verdict_defaults(&cfg->verdict);
	api_reward_defaults(&cfg->reward);
	cfg->node = -1;		/* the lowest free number */
	for (i = 0; i < NSET; i++)
		if (table[i].def != NULL &&
		    apply(cfg, &table[i], table[i].def, "", why) != 0)
			abort();	/* the table's own default: a bug */
	cfg->web = p->web;
	cfg->web_assets = p->assets;
	cfg->regions = p->regions;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int
api_settings_file(struct api_config *cfg, const char *path, char **text,
    char *why)
{
	unsigned char seen[NSET];
	const struct setting *s;
	char sub[YIMA_WHY_MAX], *buf, *line, *next, *eq, *key, *val;
	size_t n;
	FILE *f;
	int lineno = 0;

	*text = NULL;
	if ((f = fopen(path, "rb")) == NULL)
		return yima_why_(why, -1, "%s: %s", path, strerror(errno));
	if ((buf = malloc(API_CONFIG_MAX + 1)) == NULL) {
		fclose(f);
		return yima_why_(why, -1, "out of memory");
	}
	n = fread(buf, 1, API_CONFIG_MAX + 1, f);
	if (ferror(f) || n > API_CONFIG_MAX || memchr(buf, '\0', n) != NULL) {
		fclose(f);
		free(buf);
		return yima_why_(why, -1, "%s: %s", path, n > API_CONFIG_MAX ?
		    "larger than 64 KiB" : "not a text file");
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	memset(seen, 0, sizeof(seen));
	for (line = buf; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL)
			return yima_why_(why, -1, "%s:%d: not key = value", path,
			    lineno);
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		if ((s = find(key)) == NULL)
			return yima_why_(why, -1, "%s:%d: unknown setting "
			    "'%.40s'", path, lineno, key);
		if (seen[s - table]++)
			return yima_why_(why, -1, "%s:%d: %s is set twice", path,
			    lineno, key);
		if (*val == '\0')
			return yima_why_(why, -1, "%s:%d: %s has no value",
			    path, lineno, key);
		if (apply(cfg, s, val, "", sub) != 0)
			return yima_why_(why, -1, "%s:%d: %s", path, lineno, sub);
	}
	return 0;
}

/* getopt's table: every setting, then --config and --help. */
#define OPT_CONFIG	(256 + (int)NSET)
#define OPT_CHECK	(257 + (int)NSET)
#define OPT_HELP	'h'

static void
options(struct option *o)
{
	size_t i;

	for (i = 0; i < NSET; i++) {
		o[i].name = table[i].name;
		o[i].has_arg = required_argument;
		o[i].flag = NULL;
		o[i].val = 256 + (int)i;
	}
	o[i++] = (struct option){ "config", required_argument, NULL,
	    OPT_CONFIG };
	o[i++] = (struct option){ "check", no_argument, NULL, OPT_CHECK };
	o[i++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	o[i] = (struct option){ NULL, 0, NULL, 0 };
}

const char *
api_settings_config_arg(int argc, char **argv)
{
	int i;

	/* Only a scan: --config's value can be the next word or =VALUE. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], "--config=", 9) == 0)
			return argv[i] + 9;
	}
	return NULL;
}

int
api_settings_args(struct api_config *cfg, int argc, char **argv,
    enum api_serve_mode *mode, char *why)
{
	struct option o[NSET + 4];
	int c;

	*mode = API_SERVE_RUN;
	options(o);
	optind = 0;		/* glibc: start afresh, also on a reload */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", o, NULL)) != -1) {
		if (c == OPT_HELP) {
			*mode = API_SERVE_HELP;
			return 0;
		}
		if (c == OPT_CHECK) {
			*mode = API_SERVE_CHECK;
			continue;
		}
		/* Read before the flags: once, and by its whole name. */
		if (c == OPT_CONFIG) {
			if (optarg != api_settings_config_arg(argc, argv))
				return yima_why_(why, -1, "--config: give it "
				    "once, as --config FILE");
			continue;
		}
		if (c == ':')
			return yima_why_(why, -1, "%s needs a value",
			    argv[optind - 1]);
		if (c < 256 || c >= 256 + (int)NSET)
			return yima_why_(why, -1, "unknown option %s",
			    argv[optind - 1]);
		if (apply(cfg, &table[c - 256], optarg, "--", why) != 0)
			return -1;
	}
	if (optind != argc)
		return yima_why_(why, -1, "unexpected argument '%.40s'",
		    argv[optind]);
	return 0;
}

void
api_settings_live(struct api_config *dst, const struct api_config *src)
{
	size_t i;
	int v;

	/* The live settings are ints the routes read with API_LIVE. */
	for (i = 0; i < NSET; i++) {
		if (!table[i].live)
			continue;
		if (table[i].type != T_INT)
			abort();	/* the table's own bug */
		memcpy(&v, (const char *)src + table[i].off, sizeof(v));
		__atomic_store_n((int *)(void *)((char *)dst + table[i].off),
		    v, __ATOMIC_RELAXED);
	}
}

/* Prints s wrapped to 78 columns, each line indented by col spaces. */
static void
wrap(FILE *f, const char *s, int col, int at)
{
	const char *w;
	int len;

	while (*s != '\0') {
		for (w = s; *w != '\0' && *w != ' '; w++)
			;
		len = (int)(w - s);
		if (at > col && at + 1 + len > 78) {
			fprintf(f, "\n%*s", col, "");
			at = col;
		} else if (at > col) {
			fputc(' ', f);
			at++;
		}
		fprintf(f, "%.*s", len, s);
		at += len;
		s = *w == ' ' ? w + 1 : w;
	}
	fputc('\n', f);
}

void
api_settings_usage(FILE *f)
{
	char head[80], help[1024], range[64];
	size_t i;
	int n;

	for (i = 0; i < NSET; i++) {
		n = snprintf(head, sizeof(head), "  --%s %s", table[i].name,
		    table[i].arg);
		range[0] = '\0';
		if (table[i].type == T_INT || table[i].type == T_NUM)
			snprintf(range, sizeof(range), " (%.0f to %.0f%s", table[i].lo,
			    table[i].hi, table[i].def ? "," : ")");
		snprintf(help, sizeof(help), "%s%s%s%s%s%s", table[i].help,
		    range, table[i].def ? range[0] ? " default " :
		    " (default " : "", table[i].def ? table[i].def : "",
		    table[i].def ? ")" : "", table[i].live ? " [reload]" : "");
		fputs(head, f);
		/* Three spaces at least part the two (scripts/man.sh). */
		if (n >= 23) {
			fputc('\n', f);
			n = 0;
		}
		fprintf(f, "%*s", 25 - n, "");
		wrap(f, help, 25, 25);
	}
}

void
api_paths_find(struct api_paths *p)
{
	/* Installed (PREFIX/bin beside PREFIX/share), or the source tree. */
	static const char *const layout[2][3] = {
		{ "share/yima/web", "share/yima/assets",
		  "share/yima/regions.txt" },
		{ "scanapi/web", "assets/web", "assets/regions.txt" },
	};
	char exe[4096], probe[4200], *slash;
	const char *base = ".";
	ssize_t n;
	int k = 1;

	/* /proc/self/exe: the program's own place, whatever the cwd. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0 && n < (ssize_t)sizeof(exe) - 1) {
		exe[n] = '\0';
		/* Two levels up: PREFIX/bin/yima-scanapi, build/yima-scanapi. */
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		base = exe[0] != '\0' ? exe : "/";
		snprintf(probe, sizeof(probe), "%s/%s", base, layout[0][0]);
		k = access(probe, F_OK) == 0 ? 0 : 1;
	}
	snprintf(p->web, sizeof(p->web), "%.4000s/%s", base, layout[k][0]);
	snprintf(p->assets, sizeof(p->assets), "%.4000s/%s", base,
	    layout[k][1]);
	snprintf(p->regions, sizeof(p->regions), "%.4000s/%s", base,
	    layout[k][2]);
}
