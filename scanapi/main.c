/* SPDX-License-Identifier: Apache-2.0 */
/* yima-scanapi: the scan service, and its admin commands. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "yima/err.h"
#include "yima/keyring.h"
#include "yima/manifest.h"
#include "yima/store.h"

#include "auth.h"
#include "backup.h"
#include "chain.h"
#include "consumer.h"
#include "epcis.h"
#include "epcis_push.h"
#include "product.h"
#include "routes.h"
#include "settings.h"
#include "staff.h"

#define EXIT_FAIL	1
#define EXIT_USAGE	2


static const char *progname = "yima-scanapi";

#define warnx_(...) yima_warnx(progname, __VA_ARGS__)

static void
usage(FILE *f)
{
	fprintf(f,
"usage: %s COMMAND [OPTIONS]\n"
"\n"
"commands:\n"
"  serve [--config FILE] --db FILE|postgresql://... --keyring DIR [OPTIONS]\n"
"        [--check]\n"
"        run the scan service; SIGHUP (systemctl reload) re-reads the\n"
"        keyring, reopens --log and applies the [reload] settings;\n"
"        --check tests the settings, the keyring, pages and region data\n"
"        and exits (0: sound)\n"
"  import --db FILE --keyring DIR BATCH/manifest.json\n"
"        register a minted batch (its HMAC is checked)\n"
"  token create --db FILE --role admin|ops|dealer [--dealer ID] [--name T]\n"
"        make a bearer token; it is printed once, only its SHA-256 is kept\n"
"  token list --db FILE\n"
"  token revoke --db FILE ID\n"
"  migrate --db FILE|postgresql://...\n"
"        create or upgrade the database schema\n"
"  coarsen --db FILE [--days N] [--consumer-days N]\n"
"        coarsen now the places of scans older than N days (180), and,\n"
"        with --consumer-days, drop the consumer ids of scans older\n"
"        than that (0: all)\n"
"  epcis export --db FILE --keyring DIR [--from T] [--to T]\n"
"        write the events of [from, to) (RFC 3339 times; default: all)\n"
"        as one EPCIS 2.0 document (JSON-LD) to standard output\n"
"  epcis push-off --db FILE\n"
"        no node pushes any more: stop filling the push outbox, empty it\n"
"  backup --db FILE --out FILE\n"
"        a consistent copy of a SQLite database while the service runs,\n"
"        checked (integrity, schema) before it appears at FILE (0600)\n"
"  restore --from FILE --db FILE\n"
"        check a backup and put it in place (stop the service first)\n"
"  ledger check --db FILE\n"
"        check that balances, prizes, budgets, payouts and vouchers agree\n"
"        with the ledger; exit 1 and list what does not\n"
"  help, version\n"
"\n"
"--db is a SQLite file or a postgresql:// or postgres:// URL, for any\n"
"command: see the README for running several nodes on PostgreSQL.\n"
"\n"
"serve options:\n"
"Each is also a line \"name = value\" of the --config FILE (the package's\n"
"is /etc/yima/scanapi.conf); a flag wins over the file. [reload]: a reload\n"
"(SIGHUP, systemctl reload) applies a new value; the others need a restart.\n"
"\n", progname);
	api_settings_usage(f);
	fputs("\n"
"Exit status: 0 success, 1 failure, 2 usage error.\n", f);
}

static int
num(const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && *out >= lo &&
	    *out <= hi ? 0 : -1;
}

static int
open_store(const char *db, const struct yima_store_opts *o,
    struct yima_store **st)
{
	char why[YIMA_WHY_MAX];

	if (yima_store_open(db, o, st, why) != 0) {
		warnx_("database: %s", why);
		return -1;
	}
	return 0;
}

/* The commands other than serve: one connection each way. */
static const struct yima_store_opts cli_store = { YIMA_SYNC_NORMAL, 1, 0, 1,
    0 };

static void
on_commit(void *ctx, int writer, uint64_t us, int n)
{
	api_metrics_commit(ctx, writer, us, n);
}

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A writer with scans waiting and no batch done this long is stuck. */
#define WRITER_STALL_US	(120ULL * 1000000)

static int settings(struct api_config *cfg, int argc, char **argv,
    char **text, enum api_serve_mode *mode);

/*
 * SIGHUP: the keyring again, the log file reopened (logrotate), and the
 * settings read again, of which the [reload] ones are applied; a file
 * that no longer parses changes nothing.
 */
static void
reload(struct api_server *srv, int argc, char **argv)
{
	static struct api_config next;
	enum api_serve_mode mode;
	char *text;

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)mono_us());
	api_keys_reload(&srv->keys, "SIGHUP");
	if (api_log_reopen(srv->log, srv->cfg.log) != 0)
		api_log_event(srv->log, "reload", "cannot reopen the log file; "
		    "logging on in the old one");
	if (settings(&next, argc, argv, &text, &mode) == 0) {
		api_settings_live(&srv->cfg, &next);
		api_log_event(srv->log, "reload", "settings applied (those "
		    "marked [reload]; the others need a restart)");
	} else
		api_log_event(srv->log, "reload", "the settings do not parse "
		    "(see standard error); none changed");
	free(text);
	memset(&next, 0, sizeof(next));	/* it pointed into text */
	sd_notify(0, "READY=1");
}

static int
serve(struct api_server *srv, int argc, char **argv)
{
	struct timespec ping;
	uint64_t wd_us = 0, due, left, now;
	struct yima_store_opts so;
	char why[YIMA_WHY_MAX], msg[128];
	sigset_t sigs;
	int sig = 0, rc = EXIT_FAIL;

	/*
	 * Block the signals before any thread starts: main waits for them,
	 * so SIGHUP's reload runs in a normal thread, not a handler.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (api_staff_init() != 0) {
		warnx_("libsodium cannot start");
		return EXIT_FAIL;
	}
	if (api_log_open(srv->cfg.log, &srv->log) != 0) {
		warnx_("cannot open log %s", srv->cfg.log);
		return EXIT_FAIL;
	}
	if (api_keys_open(&srv->keys, srv->cfg.keyring, srv->log,
	    &srv->metrics, why) != 0) {
		warnx_("keyring: %s", why);
		goto done;
	}
	if (api_consumer_key(srv->keys.kr, "consumer", &srv->cid_mac,
	    &srv->cid_legacy) != 0 ||
	    api_consumer_key(srv->keys.kr, "sketch", &srv->sketch_mac,
	    NULL) != 0 ||
	    api_consumer_key(srv->keys.kr, "variant", &srv->variant_mac,
	    NULL) != 0 ||
	    api_ratelimit_new(srv->cfg.ip_rate, &srv->ip_rl) != 0 ||
	    api_ratelimit_new(srv->cfg.consumer_rate, &srv->cid_rl) != 0 ||
	    api_products_new(&srv->products) != 0) {
		warnx_("out of memory");
		goto done;
	}
	if (api_web_load(srv, why) != 0 || api_static_load(srv->cfg.web,
	    srv->cfg.web_assets, &srv->statics, why) != 0) {
		warnx_("%s", why);
		goto done;
	}
	if (srv->cfg.regions != NULL &&
	    yima_geo_load(srv->cfg.regions, &srv->geo, why) != 0) {
		warnx_("%s (or --regions none)", why);
		goto done;
	}
	/* The default pool: threads + 2, at most the stores' 64. */
	so.sync = srv->cfg.sync;
	so.readers = srv->cfg.db_pool > 0 ? srv->cfg.db_pool :
	    srv->cfg.threads < 62 ? srv->cfg.threads + 2 : 64;
	so.node = srv->cfg.node;
	so.writers = srv->cfg.db_writers;
	so.serving = 1;		/* its node's rollup rows are its own */
	if (open_store(srv->cfg.db, &so, &srv->st) != 0)
		goto done;
	/* Claims that imply travel a repeat scan may not are held too. */
	srv->cfg.reward.travel_kmh = srv->cfg.verdict.suspect_kmh;
	srv->cfg.verdict.sketch_key = srv->sketch_mac;
	srv->cfg.reward.variant_key = srv->variant_mac;
	srv->metrics.writers = yima_store_writers(srv->st);
	srv->metrics.node = yima_store_node(srv->st);
	if (api_scanq_start(srv->st, &srv->cfg.verdict, &srv->cfg.reward,
	    srv->cid_mac, on_commit, &srv->metrics, &srv->q) != 0) {
		warnx_("cannot start the writer threads");
		goto done;
	}
	srv->http.listen = srv->cfg.listen;
	srv->http.threads = srv->cfg.threads;
	srv->http.conn_limit = srv->cfg.conn_limit;
	srv->http.conn_timeout = srv->cfg.conn_timeout;
	srv->http.proxies = &srv->cfg.proxies;
	srv->http.ip_rl = srv->ip_rl;
	srv->http.log = srv->log;
	srv->http.metrics = &srv->metrics;
	api_routes_install(srv);
	if (srv->cfg.epcis_push != NULL && api_push_start(srv->st, &srv->keys,
	    srv->log, srv->cfg.epcis_push, srv->cfg.epcis_push_token,
	    &srv->push, why) != 0) {
		warnx_("%s", why);
		goto done;
	}
	if (api_http_start(&srv->http, why) != 0) {
		warnx_("%s", why);
		goto done;
	}
	snprintf(msg, sizeof(msg), "listening on port %u as node %d",
	    srv->http.port, srv->metrics.node);
	api_log_event(srv->log, "start", msg);
	if (yima_store_is_pg(srv->cfg.db))
		fprintf(stderr, "%s: node %d\n", progname, srv->metrics.node);
	fprintf(stderr, "%s: listening on %s (port %u)\n", progname,
	    srv->cfg.listen, srv->http.port);
	fflush(stderr);
	/* systemd's Type=notify: ready now; a watchdog at half its time. */
	sd_notifyf(0, "READY=1\nSTATUS=listening on port %u as node %d",
	    srv->http.port, srv->metrics.node);
	if (sd_watchdog_enabled(0, &wd_us) <= 0)
		wd_us = 0;
	due = mono_us() + wd_us / 2;
	for (;;) {
		if (wd_us) {
			/* A deadline: signals in between do not put it off. */
			now = mono_us();
			left = due > now ? due - now : 0;
			ping.tv_sec = (time_t)(left / 1000000);
			ping.tv_nsec = (long)(left % 1000000 * 1000);
			sig = sigtimedwait(&sigs, NULL, &ping);
		} else
			sig = sigwaitinfo(&sigs, NULL);
		if (wd_us && mono_us() >= due) {
			/* The main thread is alive; are the writers? */
			if (api_scanq_alive(srv->q, WRITER_STALL_US))
				sd_notify(0, "WATCHDOG=1");
			due = mono_us() + wd_us / 2;
		}
		if (sig < 0 || sig == SIGHUP) {
			if (sig == SIGHUP)
				reload(srv, argc, argv);
			continue;
		}
		break;
	}
	sd_notify(0, "STOPPING=1");
	api_log_event(srv->log, "stop", sig == SIGTERM ? "SIGTERM" :
	    "SIGINT");
	rc = 0;
done:
	api_http_stop(&srv->http);	/* drains the writer before MHD stops */
	api_push_stop(srv->push);
	api_scanq_stop(srv->q);
	yima_store_close(srv->st);
	api_ratelimit_free(srv->ip_rl);
	api_ratelimit_free(srv->cid_rl);
	yima_mac_free(srv->cid_mac);
	yima_mac_free(srv->cid_legacy);
	yima_mac_free(srv->sketch_mac);
	yima_mac_free(srv->variant_mac);
	api_keys_close(&srv->keys);
	yima_geo_free(srv->geo);
	free(srv->landing);
	api_static_free(srv->statics);
	api_products_free(srv->products);
	api_log_close(srv->log);
	return rc;
}

/*
 * The settings from their defaults, the --config file, then the flags.
 * *text keeps the file's strings. 0, or EXIT_USAGE said.
 */
static int
settings(struct api_config *cfg, int argc, char **argv, char **text,
    enum api_serve_mode *mode)
{
	static struct api_paths paths;	/* found once: cfg points into it */
	static int found;
	char why[YIMA_WHY_MAX];
	const char *conf;

	if (!found) {
		api_paths_find(&paths);
		found = 1;
	}
	api_settings_defaults(cfg, &paths);
	*text = NULL;
	if ((conf = api_settings_config_arg(argc, argv)) != NULL &&
	    api_settings_file(cfg, conf, text, why) != 0) {
		warnx_("%s", why);
		return EXIT_USAGE;
	}
	if (api_settings_args(cfg, argc, argv, mode, why) != 0) {
		warnx_("serve: %s", why);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * serve --check: the settings parse, and what serve reads at start (the
 * keyring, pages, assets, region data) loads; the database is not opened
 * (a first open creates it). 0, or EXIT_FAIL said.
 */
static int
check(struct api_server *srv)
{
	struct yima_keyring *kr = NULL;
	char why[YIMA_WHY_MAX];
	int rc = EXIT_FAIL;

	if (yima_keyring_open(srv->cfg.keyring, &kr, why) != 0) {
		warnx_("keyring: %s", why);
		goto done;
	}
	if (api_web_load(srv, why) != 0 || api_static_load(srv->cfg.web,
	    srv->cfg.web_assets, &srv->statics, why) != 0 ||
	    (srv->cfg.regions != NULL &&
	    yima_geo_load(srv->cfg.regions, &srv->geo, why) != 0)) {
		warnx_("%s", why);
		goto done;
	}
	printf("%s: the settings are sound\n", progname);
	rc = 0;
done:
	yima_keyring_free(kr);
	free(srv->landing);
	api_static_free(srv->statics);
	yima_geo_free(srv->geo);
	return rc;
}

static int
cmd_serve(int argc, char **argv)
{
	static struct api_server srv;
	struct api_config *cfg = &srv.cfg;
	enum api_serve_mode mode;
	char *text;
	int rc;

	if ((rc = settings(cfg, argc, argv, &text, &mode)) != 0)
		goto done;
	if (mode == API_SERVE_HELP) {
		usage(stdout);
		goto done;
	}
	if (cfg->db == NULL || cfg->keyring == NULL) {
		warnx_("serve: --db FILE and --keyring DIR are required (as "
		    "flags or in --config)");
		rc = EXIT_USAGE;
		goto done;
	}
	rc = mode == API_SERVE_CHECK ? check(&srv) : serve(&srv, argc, argv);
done:
	free(text);
	return rc;
}

/* --db, --keyring and a list of operands, shared by import and token. */
struct common {
	const char	*db, *keyring, *role, *dealer, *name, *from, *to;
};

static int
common_args(int argc, char **argv, struct common *c)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "keyring", required_argument, NULL, 'k' },
		{ "role", required_argument, NULL, 'r' },
		{ "dealer", required_argument, NULL, 'D' },
		{ "name", required_argument, NULL, 'n' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(c, 0, sizeof(*c));
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': c->db = optarg; break;
		case 'k': c->keyring = optarg; break;
		case 'r': c->role = optarg; break;
		case 'D': c->dealer = optarg; break;
		case 'n': c->name = optarg; break;
		case 'f': c->from = optarg; break;
		case 't': c->to = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: return EXIT_USAGE;
		}
	}
	if (c->db == NULL) {
		warnx_("--db FILE is required");
		return EXIT_USAGE;
	}
	return 0;
}

struct import {
	struct yima_store		*st;
	const struct yima_manifest	*m;
	int				 created;
	char				*why;
};

/* One try at importing m; why gets the store's word on a refusal. */
static int
import_once(void *arg)
{
	struct import *im = arg;
	struct yima_tx *tx;
	int rc;

	if ((rc = yima_tx_begin(im->st, 1, &tx)) != 0)
		return rc;
	if ((rc = api_op_import(tx, im->m, api_now_ms(), &im->created)) != 0) {
		snprintf(im->why, YIMA_WHY_MAX, "%s", yima_store_errmsg(im->st));
		yima_tx_rollback(tx);
		return rc;
	}
	return yima_tx_commit(tx);
}

static int
cmd_import(int argc, char **argv)
{
	struct yima_keyring *kr = NULL;
	struct yima_store *st = NULL;
	struct yima_manifest m;
	struct import im = { NULL, NULL, 0, NULL };
	struct common c;
	char why[YIMA_WHY_MAX], *text = NULL;
	size_t n;
	FILE *f;
	int rc, ret = EXIT_FAIL;

	if ((rc = common_args(argc, argv, &c)) != 0)
		return rc;
	if (c.keyring == NULL || optind + 1 != argc) {
		warnx_("import: --keyring DIR and one manifest.json are "
		    "required");
		return EXIT_USAGE;
	}
	if ((f = fopen(argv[optind], "rb")) == NULL) {
		warnx_("import: %s: %s", argv[optind], strerror(errno));
		return EXIT_FAIL;
	}
	text = malloc(YIMA_MANIFEST_MAX + 1);
	n = text ? fread(text, 1, YIMA_MANIFEST_MAX + 1, f) : 0;
	fclose(f);
	if (yima_keyring_open(c.keyring, &kr, why) != 0) {
		warnx_("keyring: %s", why);
		goto done;
	}
	if (text == NULL || yima_manifest_parse(text, n, kr, &m, why) != 0) {
		warnx_("import: %s: %s", argv[optind], text ? why :
		    "out of memory");
		goto done;
	}
	if (open_store(c.db, &cli_store, &st) != 0)
		goto done;
	im.st = st;
	im.m = &m;
	im.why = why;
	if ((rc = yima_store_rerun(import_once, &im)) != 0) {
		warnx_("import: %s", rc == YIMA_EEXIST ? why :
		    yima_store_errmsg(st));
		goto done;
	}
	printf("batch %s: %s (%" PRIu64 " %s codes, serials %" PRIu64 "-%"
	    PRIu64 "%s)\n", m.batch, im.created ? "imported" : "already imported",
	    m.count, yima_kind_name((int)m.kind), m.first_serial,
	    m.first_serial + m.count - 1, m.inner ? ", with inner codes" : "");
	ret = 0;
done:
	free(text);
	yima_keyring_free(kr);
	yima_store_close(st);
	return ret;
}

static void
print_token(void *ctx, const struct yima_token *t)
{
	char at[40];

	(void)ctx;
	api_rfc3339(t->created_at, at, sizeof(at));
	printf("%" PRId64 "\t%s\t%s\t%s\t%s\t%s\n", t->id, t->role,
	    t->dealer[0] ? t->dealer : "-", t->name[0] ? t->name : "-", at,
	    t->revoked_at ? "revoked" : "active");
}

static int
cmd_token(int argc, char **argv)
{
	struct yima_store *st = NULL;
	struct yima_tx *tx;
	struct common c;
	char token[API_TOKEN_LEN + 1], *end;
	const char *sub;
	int64_t id;
	int rc, ret = EXIT_FAIL;

	if (argc < 2) {
		warnx_("token: create, list or revoke");
		return EXIT_USAGE;
	}
	sub = argv[1];
	if ((rc = common_args(argc - 1, argv + 1, &c)) != 0)
		return rc;
	argc--;
	argv++;
	if (strcmp(sub, "create") == 0) {
		if (c.role == NULL || api_role_bit(c.role) == 0 ||
		    optind != argc) {
			warnx_("token create: --role admin|ops|dealer");
			return EXIT_USAGE;
		}
		if ((strcmp(c.role, "dealer") == 0) != (c.dealer != NULL)) {
			warnx_("token create: --dealer ID goes with --role "
			    "dealer, and only with it");
			return EXIT_USAGE;
		}
		if ((c.dealer && (strlen(c.dealer) == 0 ||
		    strlen(c.dealer) > 64)) || (c.name && strlen(c.name) > 128)) {
			warnx_("token create: --dealer is 1 to 64 and "
			    "--name at most 128 characters");
			return EXIT_USAGE;
		}
	} else if (strcmp(sub, "list") == 0) {
		if (optind != argc)
			return EXIT_USAGE;
	} else if (strcmp(sub, "revoke") == 0) {
		if (optind + 1 != argc || (id = strtoll(argv[optind], &end,
		    10)) <= 0 || *end != '\0') {
			warnx_("token revoke: one token ID (a number)");
			return EXIT_USAGE;
		}
	} else {
		warnx_("token: unknown command '%s'", sub);
		return EXIT_USAGE;
	}
	if (open_store(c.db, &cli_store, &st) != 0)
		return EXIT_FAIL;
	if (strcmp(sub, "create") == 0) {
		if (api_token_create(st, c.role, c.dealer, c.name, token,
		    &id) != 0) {
			warnx_("token create: %s", yima_store_errmsg(st));
			goto done;
		}
		printf("%s\n", token);
		fprintf(stderr, "token %" PRId64 " (%s) created; it is shown "
		    "only this once\n", id, c.role);
	} else if (strcmp(sub, "list") == 0) {
		if (yima_tx_begin(st, 0, &tx) != 0)
			goto done;
		rc = yima_tx_token_list(tx, print_token, NULL);
		yima_tx_rollback(tx);
		if (rc != 0)
			goto done;
	} else {
		if (yima_tx_begin(st, 1, &tx) != 0)
			goto done;
		if ((rc = yima_tx_token_revoke(tx, id)) != 0) {
			yima_tx_rollback(tx);
			warnx_("token revoke: %s", rc == YIMA_ENOENT ?
			    "no such active token" : yima_store_errmsg(st));
			goto done;
		}
		if (yima_tx_commit(tx) != 0)
			goto done;
		printf("token %" PRId64 " revoked\n", id);
	}
	ret = 0;
done:
	yima_store_close(st);
	return ret;
}

static int
cmd_migrate(int argc, char **argv)
{
	struct yima_store *st;
	struct common c;
	int rc;

	if ((rc = common_args(argc, argv, &c)) != 0)
		return rc;
	if (open_store(c.db, &cli_store, &st) != 0)
		return EXIT_FAIL;
	printf("schema version %d\n", yima_store_schema_version(st));
	yima_store_close(st);
	return 0;
}

static void
print_problem(void *ctx, const char *problem)
{
	(void)ctx;
	printf("%s\n", problem);
}

/*
 * Runs a retention pass over everything older than days in batches, each
 * its own transaction (run again when a serving node's scans meet it),
 * so a serving node keeps going. *total: the scans it took.
 */
static int
upkeep_all(struct yima_store *st, int (*pass)(struct yima_store *st,
    int64_t before, int max, int *n), double days, long long *total)
{
	int n, rc;

	*total = 0;
	do {
		if ((rc = pass(st, api_now_ms() - (int64_t)days * 86400000,
		    10000, &n)) != 0)
			return rc;
		*total += n;
	} while (n == 10000);
	return 0;
}

static int
cmd_coarsen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "days", required_argument, NULL, 'n' },
		{ "consumer-days", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct yima_store *st;
	const char *db = NULL;
	double days = 180, cdays = -1, *v;	/* ids: only when asked */
	long long total = 0, dropped = 0, audience = 0;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'n':
		case 'c':
			v = ch == 'n' ? &days : &cdays;
			if (num(optarg, 0, 36500, v) != 0 ||
			    *v != (double)(long)*v) {
				warnx_("bad value '%s' for --%s", optarg,
				    ch == 'n' ? "days" : "consumer-days");
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (db == NULL || optind != argc) {
		warnx_("coarsen: --db FILE is required");
		return EXIT_USAGE;
	}
	if (open_store(db, &cli_store, &st) != 0)
		return EXIT_FAIL;
	if ((rc = upkeep_all(st, yima_store_coarsen, days, &total)) == 0 &&
	    cdays >= 0)
		rc = upkeep_all(st, yima_store_consumers_drop, cdays, &dropped);
	/* The audience past it too: arms shown, bindings, stages. */
	if (rc == 0 && cdays >= 0)
		rc = upkeep_all(st, yima_store_audience_drop, cdays, &audience);
	if (rc != 0)
		warnx_("coarsen: %s", yima_store_errmsg(st));
	else
		printf("coarsened %lld scans older than %.0f days\n", total,
		    days);
	if (rc == 0 && cdays >= 0)
		printf("dropped the consumer ids of %lld scans older than "
		    "%.0f days, and the A/B exposures, channel bindings and "
		    "lifecycle stages past it\n", dropped, cdays);
	yima_store_close(st);
	return rc == 0 ? 0 : EXIT_FAIL;
}

static int
cmd_ledger(int argc, char **argv)
{
	struct yima_store *st;
	struct yima_tx *tx;
	struct common c;
	int64_t rows, problems;
	int rc;

	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		warnx_("usage: ledger check --db FILE");
		return EXIT_USAGE;
	}
	if ((rc = common_args(argc - 1, argv + 1, &c)) != 0)
		return rc;
	if (open_store(c.db, &cli_store, &st) != 0)
		return EXIT_FAIL;
	/* One read transaction: a consistent picture while others write. */
	if ((rc = yima_tx_begin(st, 0, &tx)) == 0) {
		rc = yima_tx_ledger_check(tx, print_problem, NULL, &rows,
		    &problems);
		yima_tx_rollback(tx);
	}
	if (rc != 0) {
		warnx_("ledger check: %s", yima_store_errmsg(st));
		yima_store_close(st);
		return EXIT_FAIL;
	}
	printf("ledger: %lld movements, %lld problems\n", (long long)rows,
	    (long long)problems);
	yima_store_close(st);
	return problems == 0 ? 0 : EXIT_FAIL;
}

/* backup --db FILE --out FILE; restore --from FILE --db FILE. */
static int
cmd_backup(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "from", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *db = NULL, *out = NULL, *from = NULL;
	int restore = strcmp(argv[0], "restore") == 0, ch, rc;
	char why[YIMA_WHY_MAX];

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'o': out = optarg; break;
		case 'f': from = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (db == NULL || optind != argc || (restore ? from == NULL ||
	    out != NULL : out == NULL || from != NULL)) {
		warnx_(restore ? "usage: restore --from FILE --db FILE" :
		    "usage: backup --db FILE --out FILE");
		return EXIT_USAGE;
	}
	if (strncmp(db, "postgres", 8) == 0) {
		warnx_("%s: PostgreSQL has its own: pg_dump, or base backups "
		    "with WAL archiving (see the README's operations)",
		    argv[0]);
		return EXIT_USAGE;
	}
	rc = restore ? api_restore(from, db, why) : api_backup(db, out, why);
	if (rc != 0) {
		warnx_("%s: %s", argv[0], why);
		return EXIT_FAIL;
	}
	printf(restore ? "restored %s into %s\n" : "backed up %s to %s\n",
	    restore ? from : db, restore ? db : out);
	return 0;
}

/* No node pushes any more: the outbox stops filling and is emptied. */
static int
push_off(const char *db)
{
	struct yima_store *st;
	struct yima_tx *tx;
	int64_t n = 0;
	int rc;

	if (open_store(db, &cli_store, &st) != 0)
		return EXIT_FAIL;
	if ((rc = yima_tx_begin(st, 1, &tx)) == 0) {
		if ((rc = yima_tx_outbox_disable(tx, &n)) == 0)
			rc = yima_tx_commit(tx);
		else
			yima_tx_rollback(tx);
	}
	if (rc != 0)
		warnx_("epcis push-off: %s", yima_store_errmsg(st));
	else
		printf("epcis push off: %lld undelivered events dropped from the "
		    "outbox\n", (long long)n);
	yima_store_close(st);
	return rc == 0 ? 0 : EXIT_FAIL;
}

static int
cmd_epcis(int argc, char **argv)
{
	struct yima_keyring *kr = NULL;
	struct yima_store *st = NULL;
	struct common c;
	int64_t from = 0, to = INT64_MAX;
	uint64_t n = 0, skipped = 0;
	char why[YIMA_WHY_MAX];
	int rc;

	if (argc < 2 || (strcmp(argv[1], "export") != 0 &&
	    strcmp(argv[1], "push-off") != 0)) {
		warnx_("usage: epcis export --db FILE --keyring DIR [--from T] "
		    "[--to T] | epcis push-off --db FILE");
		return EXIT_USAGE;
	}
	if ((rc = common_args(argc - 1, argv + 1, &c)) != 0)
		return rc;
	if (strcmp(argv[1], "push-off") == 0)
		return push_off(c.db);
	if (c.keyring == NULL) {
		warnx_("--keyring DIR is required: it signs the codes' URIs");
		return EXIT_USAGE;
	}
	if ((c.from != NULL && api_rfc3339_parse(c.from, &from) != 0) ||
	    (c.to != NULL && api_rfc3339_parse(c.to, &to) != 0) || from > to) {
		warnx_("--from and --to are RFC 3339 times, from before to");
		return EXIT_USAGE;
	}
	if (yima_keyring_open(c.keyring, &kr, why) != 0) {
		warnx_("keyring: %s", why);
		return EXIT_FAIL;
	}
	if (open_store(c.db, &cli_store, &st) != 0) {
		yima_keyring_free(kr);
		return EXIT_FAIL;
	}
	rc = api_epcis_export(st, kr, from, to, stdout, &n, &skipped);
	if (rc == 0 && fflush(stdout) != 0)
		rc = YIMA_EIO;
	if (rc != 0)
		warnx_("epcis export: %s", rc == YIMA_EIO ? "cannot write" :
		    yima_store_errmsg(st));
	else
		fprintf(stderr, "%s: %llu events\n", progname,
		    (unsigned long long)n);
	if (rc == 0 && skipped > 0)
		warnx_("%llu events left out: their codes' key is not in the "
		    "keyring", (unsigned long long)skipped);
	yima_store_close(st);
	yima_keyring_free(kr);
	return rc == 0 ? 0 : EXIT_FAIL;
}

int
main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(cmd, "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (strcmp(cmd, "token") == 0)
		return cmd_token(argc - 1, argv + 1);
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(argc - 1, argv + 1);
	if (strcmp(cmd, "ledger") == 0)
		return cmd_ledger(argc - 1, argv + 1);
	if (strcmp(cmd, "epcis") == 0)
		return cmd_epcis(argc - 1, argv + 1);
	if (strcmp(cmd, "coarsen") == 0)
		return cmd_coarsen(argc - 1, argv + 1);
	if (strcmp(cmd, "backup") == 0 || strcmp(cmd, "restore") == 0)
		return cmd_backup(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("yima-scanapi 0.1.0\n");
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	warnx_("unknown command '%s'", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
