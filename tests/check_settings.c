/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serve's settings and its life as a service: the configuration file
 * (refusals by line, flags over the file, the defaults), the man page
 * naming every option, an install into a temporary root whose serve,
 * started from / with --config alone, serves its pages, the dashboard's
 * assets and the regions; and the systemd notifications (ready, watchdog,
 * reload, stopping) with a reload that applies the live settings.
 */
#define _GNU_SOURCE	/* asprintf, setenv */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "yima/err.h"

#include "../scanapi/scanq.h"
#include "../scanapi/settings.h"
#include "srvutil.h"
#include "testutil.h"

Suite *settings_suite(void);

static const struct api_paths paths = { "/w", "/a", "/r.txt" };

/* cfg from the defaults and a file of text; 0 or -1 with why. */
static int
from_file(struct api_config *cfg, const char *text, char **keep, char *why)
{
	char *dir = tu_mkdtemp(), *path = tu_path(dir, "c.conf");
	int rc;

	ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
	api_settings_defaults(cfg, &paths);
	rc = api_settings_file(cfg, path, keep, why);
	tu_rmtree(dir);
	free(dir);
	free(path);
	return rc;
}

START_TEST(test_defaults_and_file)
{
	struct api_config c;
	char why[YIMA_WHY_MAX], *keep;

	api_settings_defaults(&c, &paths);
	ck_assert_str_eq(c.listen, "127.0.0.1:8080");
	ck_assert_str_eq(c.web, "/w");
	ck_assert_str_eq(c.regions, "/r.txt");
	ck_assert_ptr_null(c.db);
	ck_assert_int_eq(c.threads, 2);
	ck_assert_int_eq(c.db_pool, 0);
	ck_assert_int_eq(c.node, -1);
	ck_assert(c.ip_rate == 20 && c.consumer_rate == 5);
	ck_assert_int_eq(c.conn_limit, 1024);
	ck_assert_int_eq(c.verdict.suspect_scans, 10);
	ck_assert(c.verdict.suspect_kmh == 900);
	ck_assert_int_eq(c.reward.ntiers, 4);
	ck_assert_str_eq(c.reward.tiers[3].name, "diamond");
	ck_assert_int_eq(c.proxies.header, API_PROXY_XFF);
	ck_assert_int_eq(c.ab_min, 200);
	ck_assert_int_eq(c.verdict.consumer_days, 365);
	/* The table's defaults are the library's own (written in both). */
	{
		struct api_verdict_cfg v;
		struct api_reward_cfg rw;
		int i;

		api_verdict_defaults(&v);
		ck_assert_int_eq(c.verdict.suspect_consumers,
		    v.suspect_consumers);
		ck_assert_int_eq(c.verdict.suspect_scans, v.suspect_scans);
		ck_assert(c.verdict.suspect_kmh == v.suspect_kmh);
		ck_assert_int_eq(c.verdict.channel_days, v.channel_days);
		ck_assert_int_eq(c.verdict.retention_days, v.retention_days);
		ck_assert_int_eq(c.verdict.consumer_days, v.consumer_days);
		ck_assert_int_eq(c.verdict.upkeep_s, v.upkeep_s);
		api_reward_defaults(&rw);
		ck_assert_int_eq(c.reward.tier_days, rw.tier_days);
		ck_assert_int_eq(c.reward.ntiers, rw.ntiers);
		for (i = 0; i < rw.ntiers; i++) {
			ck_assert_str_eq(c.reward.tiers[i].name,
			    rw.tiers[i].name);
			ck_assert(c.reward.tiers[i].threshold ==
			    rw.tiers[i].threshold);
			ck_assert(c.reward.tiers[i].multiplier ==
			    rw.tiers[i].multiplier);
		}
	}

	ck_assert_msg(from_file(&c, "# a comment\n\n  db = /var/lib/y.db  \r\n"
	    "keyring=/k\nthreads = 8\nip-rate = 2.5\nsync = full\n"
	    "regions = none\ntrusted-proxy = 127.0.0.1,::1\n"
	    "proxy-header = forwarded\ntiers = a:0:1,b:10:2\n"
	    "\t# indented comment\nretention-days = 0\n", &keep, why) == 0,
	    "%s", why);
	ck_assert_str_eq(c.db, "/var/lib/y.db");
	ck_assert_str_eq(c.keyring, "/k");
	ck_assert_int_eq(c.threads, 8);
	ck_assert(c.ip_rate == 2.5);
	ck_assert_int_eq(c.sync, YIMA_SYNC_FULL);
	ck_assert_ptr_null(c.regions);
	ck_assert_uint_eq(c.proxies.n, 2);
	ck_assert_int_eq(c.proxies.header, API_PROXY_FORWARDED);
	ck_assert_int_eq(c.reward.ntiers, 2);
	ck_assert_int_eq(c.verdict.retention_days, 0);
	ck_assert_int_eq(c.conn_limit, 1024);	/* untouched: default */
	free(keep);
}
END_TEST

START_TEST(test_file_refused)
{
	static const struct {
		const char	*text, *why;
	} bad[] = {
		{ "threads = 2\nnope = 1\n", ":2: unknown setting 'nope'" },
		{ "threads = 2\nthreads = 3\n", ":2: threads is set twice" },
		{ "\n\nthreads 2\n", ":3: not key = value" },
		{ "db =\n", ":1: db has no value" },
		{ "threads = 0\n", ":1: bad value '0' for threads: a whole "
		  "number 1 to 64" },
		{ "threads = 2.5\n", "for threads" },
		{ "threads = 2x\n", "for threads" },
		{ "timeout = 99999\n", "for timeout" },
		{ "ip-rate = -1\n", "for ip-rate" },
		{ "ip-rate = nan\n", "for ip-rate" },
		{ "sync = sometimes\n", "must be normal or full" },
		{ "proxy-header = via\n", "x-forwarded-for or forwarded" },
		{ "trusted-proxy = 10.0.0.0/99\n", "for trusted-proxy" },
		{ "tiers = gold\n", "for tiers" },
		{ "--threads = 2\n", "unknown setting '--threads'" },
	};
	struct api_config c;
	char why[YIMA_WHY_MAX], *keep, *big;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(from_file(&c, bad[i].text, &keep, why) != 0,
		    "%s: taken", bad[i].text);
		ck_assert_msg(strstr(why, bad[i].why) != NULL,
		    "%s: '%s', want '%s'", bad[i].text, why, bad[i].why);
		free(keep);
	}
	/* Larger than 64 KiB, or not text at all. */
	big = malloc(API_CONFIG_MAX + 2);
	memset(big, '#', API_CONFIG_MAX + 1);
	big[API_CONFIG_MAX + 1] = '\0';
	ck_assert_int_ne(from_file(&c, big, &keep, why), 0);
	ck_assert_ptr_nonnull(strstr(why, "larger than 64 KiB"));
	free(big);
	api_settings_defaults(&c, &paths);
	ck_assert_int_ne(api_settings_file(&c, "/nonexistent/y.conf", &keep,
	    why), 0);
	ck_assert_ptr_nonnull(strstr(why, "No such file"));
}
END_TEST

/* A flag wins over the file; the file over the default. */
START_TEST(test_flags_over_file)
{
	char *dir = tu_mkdtemp(), *path = tu_path(dir, "c.conf"), *keep;
	char why[YIMA_WHY_MAX];
	struct api_config c;
	enum api_serve_mode mode;
	const char *text = "threads = 3\nmax-conns = 64\nlisten = 1.2.3.4:5\n";

	ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
	{
		char *argv[] = { "serve", "--threads", "5", "--config", path,
		    "--listen=127.0.0.1:0", NULL };

		ck_assert_str_eq(api_settings_config_arg(6, argv), path);
		api_settings_defaults(&c, &paths);
		ck_assert_int_eq(api_settings_file(&c, path, &keep, why), 0);
		ck_assert_msg(api_settings_args(&c, 6, argv, &mode, why) == 0,
		    "%s", why);
		ck_assert_int_eq(mode, API_SERVE_RUN);
		ck_assert_int_eq(c.threads, 5);
		ck_assert_int_eq(c.conn_limit, 64);
		ck_assert_str_eq(c.listen, "127.0.0.1:0");
		free(keep);
	}
	{
		char *argv[] = { "serve", "--threads", NULL };

		ck_assert_int_ne(api_settings_args(&c, 2, argv, &mode, why), 0);
		ck_assert_str_eq(why, "--threads needs a value");
	}
	{
		char *argv[] = { "serve", "--nope", "1", NULL };

		ck_assert_int_ne(api_settings_args(&c, 3, argv, &mode, why), 0);
		ck_assert_ptr_nonnull(strstr(why, "unknown option --nope"));
	}
	{
		char *argv[] = { "serve", "--ab-min", "0", NULL };

		ck_assert_int_ne(api_settings_args(&c, 3, argv, &mode, why), 0);
		ck_assert_str_eq(why, "bad value '0' for --ab-min: a whole "
		    "number 1 to 1000000");
	}
	{
		/* --config by a prefix, or twice, would go unread: refused. */
		char *argv[] = { "serve", "--conf", "x.conf", NULL };
		char *argv2[] = { "serve", "--config", "a", "--config=b", NULL };

		ck_assert_int_ne(api_settings_args(&c, 3, argv, &mode, why), 0);
		ck_assert_str_eq(why, "--config: give it once, as --config "
		    "FILE");
		ck_assert_int_ne(api_settings_args(&c, 4, argv2, &mode, why),
		    0);
	}
	{
		char *argv[] = { "serve", "extra", NULL };

		ck_assert_int_ne(api_settings_args(&c, 2, argv, &mode, why), 0);
	}
	{
		char *argv[] = { "serve", "--help", NULL };

		ck_assert_int_eq(api_settings_args(&c, 2, argv, &mode, why), 0);
		ck_assert_int_eq(mode, API_SERVE_HELP);
	}
	{
		char *argv[] = { "serve", "--check", "--threads", "4", NULL };

		ck_assert_int_eq(api_settings_args(&c, 4, argv, &mode, why), 0);
		ck_assert_int_eq(mode, API_SERVE_CHECK);
		ck_assert_int_eq(c.threads, 4);
	}
	tu_rmtree(dir);
	free(dir);
	free(path);
}
END_TEST

/* A reload takes the live settings and leaves every other. */
START_TEST(test_live)
{
	struct api_config now, next;

	api_settings_defaults(&now, &paths);
	api_settings_defaults(&next, &paths);
	next.threads = 9;
	next.ip_rate = 1;
	next.trend_drop = 55;
	next.ab_min = 7;
	next.min_report_count = 4;
	next.alert_level1 = 8;
	api_settings_live(&now, &next);
	ck_assert_int_eq(now.trend_drop, 55);
	ck_assert_int_eq(now.ab_min, 7);
	ck_assert_int_eq(now.min_report_count, 4);
	ck_assert_int_eq(now.alert_level1, 8);
	ck_assert_int_eq(now.threads, 2);
	ck_assert(now.ip_rate == 20);
}
END_TEST

static int job_done;

static void
on_done(struct api_job *job)
{
	(void)job;
	__atomic_store_n(&job_done, 1, __ATOMIC_SEQ_CST);
}

/*
 * The watchdog's question: a writer is stuck only when a scan has waited,
 * or its transaction run, that long; never for an idle spell before it.
 */
START_TEST(test_writer_alive)
{
	char *dir = tu_mkdtemp(), *db = tu_path(dir, "store.db");
	struct yima_store *st = tu_store_open(dir, 0);
	struct api_verdict_cfg vc;
	static struct api_job job;
	struct api_scanq *q;
	sqlite3 *lock;
	int i;

	api_verdict_defaults(&vc);
	ck_assert_int_eq(api_scanq_start(st, &vc, NULL, NULL, NULL, NULL, &q),
	    0);
	ck_assert(api_scanq_alive(q, 100000));
	usleep(300000);		/* idle longer than the stall */
	ck_assert(api_scanq_alive(q, 100000));
	/* Another connection holds the database: the writer's batch waits. */
	ck_assert_int_eq(sqlite3_open(db, &lock), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(lock, "BEGIN EXCLUSIVE", NULL, NULL,
	    NULL), SQLITE_OK);
	job.in.at = 1790000000000;
	snprintf(job.in.raw, sizeof(job.in.raw), "NOT-A-CODE");
	snprintf(job.in.reason, sizeof(job.in.reason), "test");
	job.done = on_done;
	ck_assert_int_eq(api_scanq_submit(q, &job), 0);
	ck_assert(api_scanq_alive(q, 100000));	/* just arrived */
	usleep(300000);
	ck_assert(!__atomic_load_n(&job_done, __ATOMIC_SEQ_CST));
	ck_assert(!api_scanq_alive(q, 100000));	/* stuck 0.3 s */
	ck_assert(api_scanq_alive(q, 60000000));
	sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(lock);
	for (i = 0; i < 500 && !__atomic_load_n(&job_done, __ATOMIC_SEQ_CST);
	    i++)
		usleep(10000);
	ck_assert(job_done);
	ck_assert_int_eq(job.rc, 0);
	ck_assert(api_scanq_alive(q, 100000));	/* caught up */
	api_scanq_stop(q);
	yima_store_close(st);
	tu_rmtree(dir);
	free(dir);
	free(db);
}
END_TEST

/* The --help options, one by one in the installed man page. */
static void
man_has_every_option(const char *man)
{
	char *out = NULL, *p, *q, want[80];
	size_t k;
	char *text = tu_read_file(man, NULL);
	int n = 0;

	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(run(scanapi_bin(), &out, NULL, "serve", "--help",
	    NULL), 0);
	p = strstr(out, "serve options:");
	ck_assert_ptr_nonnull(p);
	/* Each "  --name ARG  help" line: ".B \-\-name ARG" on a line. */
	while ((p = strstr(p, "\n  --")) != NULL) {
		p += 3;
		q = strstr(p, "  ");
		ck_assert(q != NULL);
		if (strchr(p, '\n') < q)
			q = strchr(p, '\n');
		k = (size_t)snprintf(want, sizeof(want), ".B ");
		for (; p < q && k + 3 < sizeof(want); p++) {
			if (*p == '-')
				want[k++] = '\\';
			want[k++] = *p;
		}
		want[k++] = '\n';
		want[k] = '\0';
		ck_assert_msg(strstr(text, want) != NULL, "man: no %s", want);
		n++;
	}
	ck_assert_int_ge(n, 35);
	ck_assert_ptr_nonnull(strstr(text, ".TH YIMA-SCANAPI 1"));
	ck_assert_ptr_nonnull(strstr(text, "[reload]"));
	free(out);
	free(text);
}

/* GET path (not compressed) answers the bytes of the installed file. */
static void
served_as(const char *path, const char *share, const char *file)
{
	struct http_resp p;
	char *installed, *want;
	size_t n;

	ck_assert_int_eq(get(path, "Accept-Encoding: identity\r\n", &p), 200);
	ck_assert(asprintf(&installed, "%s/%s", share, file) > 0);
	want = tu_read_file(installed, &n);
	ck_assert_msg(want != NULL && n == p.body_len &&
	    memcmp(want, p.body, n) == 0, "%s differs from %s", path,
	    installed);
	free(want);
	free(installed);
	http_free(&p);
}

/*
 * make install into a temporary root; its serve, from / with --config
 * alone, finds its pages, assets and regions beside itself.
 */
START_TEST(test_installed_serve)
{
	const char *make = getenv("YIMA_MAKE");
	char *root = tu_path(E.dir, "root"), *conf, *cmd, *inst, *bin, *share;
	char *p1;
	char *log = tu_path(E.dir, "install.log"), *text;
	struct http_resp p;
	int rc;

	ck_assert_msg(make != NULL, "YIMA_MAKE unset (make check)");
	/* Not the outer make's jobserver: this make is a command of ours. */
	ck_assert(asprintf(&inst, "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "
	    "%s install DESTDIR=%s PREFIX=/usr > %s 2>&1", make, root, log) >
	    0);
	rc = system(inst);
	text = tu_read_file(log, NULL);
	ck_assert_msg(rc == 0, "make install: %d\n%s", rc, text);
	free(text);
	ck_assert(asprintf(&bin, "%s/usr/bin/yima-scanapi", root) > 0);
	ck_assert(asprintf(&share, "%s/usr/share/yima", root) > 0);
	/* The package's configuration, never overwritten, and the units. */
	ck_assert(asprintf(&p1, "%s/etc/yima/scanapi.conf", root) > 0);
	ck_assert(exists(p1));
	free(p1);
	ck_assert(asprintf(&p1, "%s/usr/lib/systemd/system/"
	    "yima-scanapi@.service", root) > 0);
	text = tu_read_file(p1, NULL);
	ck_assert_ptr_nonnull(strstr(text, "ExecStart=/usr/bin/yima-scanapi "
	    "serve --config /etc/yima/scanapi-%i.conf"));
	ck_assert_ptr_nonnull(strstr(text, "Type=notify"));
	free(text);
	free(p1);
	ck_assert(asprintf(&p1, "%s/usr/share/man/man1/yima-scanapi.1", root) >
	    0);
	man_has_every_option(p1);
	free(p1);

	conf = tu_path(E.dir, "scanapi.conf");
	ck_assert(asprintf(&text, "# the test's\ndb = %s\nkeyring = %s\n"
	    "listen = 127.0.0.1:0\nlog = %s\n", E.db, T.kr, E.log) > 0);
	ck_assert_int_eq(tu_write_file(conf, text, strlen(text)), 0);
	free(text);
	/* --check: sound as it is; a keyring that is not there, refused. */
	ck_assert_int_eq(run(bin, &text, NULL, "serve", "--config", conf,
	    "--check", NULL), 0);
	ck_assert_ptr_nonnull(strstr(text, "the settings are sound"));
	free(text);
	ck_assert_int_eq(run(bin, NULL, &text, "serve", "--config", conf,
	    "--keyring", "/nonexistent", "--check", NULL), 1);
	ck_assert_ptr_nonnull(strstr(text, "keyring:"));
	free(text);
	ck_assert_int_eq(run(bin, NULL, NULL, "serve", "--config", conf,
	    "--check", "--threads", "0", NULL), 2);
	{
		const char *argv[] = { bin, "serve", "--config", conf, NULL };

		srv_exec(argv, "/");
	}
	/* A bottle's landing page, from the installed pages. */
	ck_assert(asprintf(&cmd, "/c/%s", T.b1.codes[0]) > 0);
	ck_assert_int_eq(get(cmd, NULL, &p), 200);
	ck_assert_ptr_nonnull(strstr(p.body, "<html lang="));
	http_free(&p);
	free(cmd);
	/* The dashboard's charts: the installed assets, byte for byte. */
	served_as("/dashboard/echarts.min.js", share, "assets/echarts.min.js");
	served_as("/dashboard/china.json", share, "assets/china.json");
	/* The regions, by name. */
	ck_assert_int_eq(call("GET", "/api/v1/regions?parent=330000",
	    T.admin, NULL, &p), 200);
	ck_assert_str_eq(jstr(p.json, "name"), "浙江省");
	http_free(&p);
	srv_stop();
	/* A second install keeps the operator's configuration. */
	ck_assert(asprintf(&p1, "%s/etc/yima/scanapi.conf", root) > 0);
	ck_assert_int_eq(tu_write_file(p1, "db = mine\n", 10), 0);
	ck_assert_int_eq(system(inst), 0);
	text = tu_read_file(p1, NULL);
	ck_assert_str_eq(text, "db = mine\n");
	free(text);
	free(p1);
	free(inst);
	free(conf);
	free(bin);
	free(share);
	free(log);
	tu_rmtree(root);
	free(root);
}
END_TEST

/* Waits 5 s at most for a notification holding want. */
static void
notified(int fd, const char *want)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char msg[512];
	ssize_t n;
	int i;

	for (i = 0; i < 50; i++) {
		if (poll(&pfd, 1, 100) != 1)
			continue;
		n = recv(fd, msg, sizeof(msg) - 1, 0);
		ck_assert_int_gt(n, 0);
		msg[n] = '\0';
		if (strstr(msg, want) != NULL)
			return;
	}
	ck_abort_msg("no %s notified", want);
}

/*
 * systemd's protocol on a socket of the test's: READY once listening,
 * WATCHDOG pings at half WATCHDOG_USEC, RELOADING then READY on SIGHUP
 * (the reload applying a live setting from the file), STOPPING on SIGTERM
 * and exit 0.
 */
START_TEST(test_notify_reload)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *sock = tu_path(E.dir, "notify"), *conf = tu_path(E.dir, "c.conf");
	char path[64];
	struct http_resp p;
	int fd;
	const char *flags[] = { "--config", conf, NULL };

	ck_assert_uint_lt(strlen(sock), sizeof(sa.sun_path));
	strcpy(sa.sun_path, sock);
	ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_DGRAM, 0), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(tu_write_file(conf, "ab-min = 200\n", 13), 0);
	setenv("NOTIFY_SOCKET", sock, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	srv_start(flags);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	notified(fd, "READY=1");
	notified(fd, "WATCHDOG=1");
	notified(fd, "WATCHDOG=1");

	/* The campaign whose experiment report says ab_min. */
	ck_assert_int_eq(post("/api/v1/admin/campaigns", T.admin,
	    "{\"name\":\"AB\",\"start\":\"2026-01-01T00:00:00Z\",\"end\":"
	    "\"2030-01-01T00:00:00Z\",\"points\":10,\"variants\":[{\"name\":"
	    "\"A\",\"weight\":50},{\"name\":\"B\",\"weight\":50}]}", &p), 201);
	snprintf(path, sizeof(path), "/api/v1/reports/experiments/%lld",
	    jint(p.json, "id"));
	http_free(&p);
	ck_assert_int_eq(call("GET", path, T.admin, NULL, &p), 200);
	ck_assert_int_eq(jint(p.json, "ab_min"), 200);
	http_free(&p);

	/* A live setting changed in the file; a restart-only one too. */
	ck_assert_int_eq(tu_write_file(conf, "ab-min = 50\nthreads = 9\n", 24),
	    0);
	ck_assert_int_eq(kill(E.pid, SIGHUP), 0);
	notified(fd, "RELOADING=1");
	notified(fd, "READY=1");
	ck_assert_int_eq(call("GET", path, T.admin, NULL, &p), 200);
	ck_assert_int_eq(jint(p.json, "ab_min"), 50);
	http_free(&p);
	/* A file that no longer parses changes nothing, and serving goes on. */
	ck_assert_int_eq(tu_write_file(conf, "ab-min = 0\n", 11), 0);
	ck_assert_int_eq(kill(E.pid, SIGHUP), 0);
	notified(fd, "READY=1");
	ck_assert_int_eq(call("GET", path, T.admin, NULL, &p), 200);
	ck_assert_int_eq(jint(p.json, "ab_min"), 50);
	http_free(&p);

	ck_assert_int_eq(kill(E.pid, SIGTERM), 0);
	notified(fd, "STOPPING=1");
	ck_assert_int_eq(wait_exit(E.pid, 10), 0);
	E.pid = 0;
	close(fd);
	free(sock);
	free(conf);
}
END_TEST

Suite *
settings_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *tc = tcase_create("settings");

	tcase_add_test(tc, test_defaults_and_file);
	tcase_add_test(tc, test_file_refused);
	tcase_add_test(tc, test_flags_over_file);
	tcase_add_test(tc, test_live);
	tcase_add_test(tc, test_writer_alive);
	suite_add_tcase(s, tc);
	tc = srv_tcase("service", 120);
	tcase_add_test(tc, test_installed_serve);
	tcase_add_test(tc, test_notify_reload);
	suite_add_tcase(s, tc);
	return s;
}
