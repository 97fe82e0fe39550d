/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PostgreSQL back-end against a real server: YIMA_TEST_PG names a
 * database (scripts/pg.sh starts a throwaway one; .ci/run always does).
 * Without it only the SQLite reference of the shared calls runs, and the
 * suite says so. Each PostgreSQL test starts from an empty public schema.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>

#include "yima/buf.h"
#include "yima/err.h"
#include "yima/store.h"

#include "srvutil.h"
#include "testutil.h"

Suite *pg_suite(void);

static const char *url;

/* One statement on a connection of our own; its first value, or -1. */
static long long
sql(const char *q)
{
	return tu_pg_int(q);
}

static void
empty(void)
{
	tu_pg_fresh();
}

static struct yima_store *
open_pg(void)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 2, 0, 1, 0 };
	struct yima_store *st = NULL;
	char why[YIMA_WHY_MAX];

	ck_assert_msg(yima_store_open(url, &o, &st, why) == 0, "%s", why);
	return st;
}

/* A fresh database gets every migration once; opening again runs none. */
START_TEST(test_pg_migrate)
{
	struct yima_store *st;
	int v;

	empty();
	st = open_pg();
	v = yima_store_schema_version(st);
	ck_assert_int_ge(v, 7);
	yima_store_close(st);
	ck_assert_int_eq(sql("SELECT version FROM yima_schema"), v);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM yima_schema"), 1);
	/* The scans are partitioned by time, with a default partition. */
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM pg_partitioned_table p"
	    " JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname ="
	    " 'scans' AND p.partstrat = 'r'"), 1);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM pg_inherits i JOIN pg_class"
	    " c ON c.oid = i.inhrelid WHERE c.relname = 'scans_default'"), 1);
	/* This month and the next 12 have partitions of their own. */
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM pg_inherits i JOIN pg_class"
	    " c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent"
	    " WHERE p.relname = 'scans' AND c.relname LIKE 'scans_20%'"), 13);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM pg_class WHERE relname ="
	    " 'scans_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')"), 1);
	sql("INSERT INTO batches VALUES ('b', 1, 1, 100, 5, NULL, NULL, NULL,"
	    " NULL, NULL, NULL, 'D', 'c', 'x', 'h', 0)");
	st = open_pg();
	ck_assert_int_eq(yima_store_schema_version(st), v);
	yima_store_close(st);
	/* Nothing was created again over the data. */
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM batches"), 1);
}
END_TEST

/* A database from a newer program is refused, untouched. */
START_TEST(test_pg_newer_refused)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 2, 0, 1, 0 };
	struct yima_store *st = NULL;
	char why[YIMA_WHY_MAX];

	empty();
	yima_store_close(open_pg());
	sql("UPDATE yima_schema SET version = 999");
	ck_assert_int_eq(yima_store_open(url, &o, &st, why), YIMA_EDB);
	ck_assert_msg(strstr(why, "newer") != NULL, "%s", why);
	ck_assert_int_eq(sql("SELECT version FROM yima_schema"), 999);
}
END_TEST

static void *
opener(void *arg)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 1, 0, 1, 0 };
	struct yima_store *st = NULL;
	char why[YIMA_WHY_MAX];

	*(int *)arg = yima_store_open(url, &o, &st, why);
	yima_store_close(st);
	return NULL;
}

/* Nodes starting together: one migrates, the others wait and see it done. */
START_TEST(test_pg_concurrent_migrate)
{
	pthread_t th[4];
	int rc[4], i;

	empty();
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, opener, &rc[i]),
		    0);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(rc[i], 0);
	}
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM yima_schema"), 1);
}
END_TEST

/*
 * Transactions: a write commits, a read is read only; a connection the
 * server dropped is opened again.
 */
START_TEST(test_pg_transactions)
{
	struct yima_store *st;
	struct yima_tx *tx;
	struct yima_range r;
	int64_t rows, problems;

	empty();
	st = open_pg();
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	/* A read answers; a write inside a read transaction is refused. */
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_ledger_check(tx, NULL, NULL, &rows,
	    &problems), 0);
	ck_assert_int_eq(rows, 0);
	ck_assert_int_eq(yima_tx_revoke(tx, 1, 2, "x"), YIMA_EDB);
	ck_assert_msg(strstr(yima_store_errmsg(st), "read-only") != NULL,
	    "%s", yima_store_errmsg(st));
	yima_tx_rollback(tx);
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	ck_assert_int_eq(yima_tx_range_find(tx, 1, 1, &r), YIMA_ENOENT);
	yima_tx_rollback(tx);
	/* The server ends every session of ours; the pool reconnects. */
	ck_assert_int_ge(sql("SELECT COUNT(pg_terminate_backend(pid)) FROM"
	    " pg_stat_activity WHERE datname = current_database() AND pid <>"
	    " pg_backend_pid()"), 3);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), 0);
	yima_tx_rollback(tx);
	yima_store_close(st);
}
END_TEST

static void
count_token(void *ctx, const struct yima_token *t)
{
	int *n = ctx;

	n[0]++;
	n[1] += t->revoked_at > 0;
}

/* Tokens and sessions: the same calls, the same answers, both back-ends. */
static void
tokens_and_sessions(struct yima_store *st)
{
	struct yima_token t;
	struct yima_tx *tx;
	int64_t a, d, id;
	int n[2] = { 0, 0 }, exists = 1;

	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_token_create(tx, "aa", "admin", NULL, "one",
	    &a), 0);
	ck_assert_int_eq(yima_tx_token_create(tx, "dd", "dealer", "D-1",
	    "二号", &d), 0);
	ck_assert_int_gt(d, a);
	/* The hash is unique; a role outside the list is refused. */
	ck_assert_int_eq(yima_tx_token_create(tx, "aa", "ops", NULL, NULL,
	    &id), YIMA_EEXIST);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_token_create(tx, "xx", "root", NULL, NULL,
	    &id), YIMA_EINVAL);
	yima_tx_rollback(tx);
	ck_assert_int_eq(yima_tx_begin(st, 1, &tx), 0);
	ck_assert_int_eq(yima_tx_token_find(tx, "dd", &t), 0);
	ck_assert_int_eq(t.id, d);
	ck_assert_str_eq(t.role, "dealer");
	ck_assert_str_eq(t.dealer, "D-1");
	ck_assert_str_eq(t.name, "二号");
	ck_assert_int_gt(t.created_at, 1700000000000LL);
	ck_assert_int_eq(yima_tx_token_find(tx, "zz", &t), YIMA_ENOENT);
	/* Sessions: found while fresh, gone when expired or revoked. */
	ck_assert_int_eq(yima_tx_session_create(tx, "s1", a, 9e12), 0);
	ck_assert_int_eq(yima_tx_session_create(tx, "s2", d, 9.1e12), 0);
	ck_assert_int_eq(yima_tx_session_create(tx, "s2", d, 9.1e12),
	    YIMA_EEXIST);
	ck_assert_int_eq(yima_tx_session_find(tx, "s1", 8.9e12, &t), 0);
	ck_assert_int_eq(t.id, a);
	ck_assert_int_eq(yima_tx_session_find(tx, "s1", 9e12, &t),
	    YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_token_revoke(tx, d), 0);
	ck_assert_int_eq(yima_tx_token_revoke(tx, d), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_token_revoke(tx, 999999), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_session_find(tx, "s2", 8.9e12, &t),
	    YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_token_find(tx, "dd", &t), YIMA_ENOENT);
	ck_assert_int_eq(yima_tx_session_delete(tx, "s1"), 0);
	ck_assert_int_eq(yima_tx_token_list(tx, count_token, n), 0);
	ck_assert_int_eq(n[0], 2);
	ck_assert_int_eq(n[1], 1);
	ck_assert_int_eq(yima_tx_last_scan(tx, &id), 0);
	ck_assert_int_eq(id, 0);
	ck_assert_int_eq(yima_tx_scan_exists(tx, 1, &exists), 0);
	ck_assert_int_eq(exists, 0);
	ck_assert_int_eq(yima_tx_commit(tx), 0);
}

START_TEST(test_tokens_sessions_sqlite)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 2, 0, 1, 0 };
	struct yima_store *st;
	char why[YIMA_WHY_MAX], *dir = tu_mkdtemp(), *db = tu_path(dir, "s.db");

	ck_assert_msg(yima_store_open(db, &o, &st, why) == 0, "%s", why);
	tokens_and_sessions(st);
	yima_store_close(st);
	tu_rmtree(dir);
	free(db);
	free(dir);
}
END_TEST

/* --db-writers takes 1-16; anything else is a usage error. */
START_TEST(test_writers_flag)
{
	static const char *const bad[] = { "0", "17", "2.5", "x", NULL };
	char *err = NULL;
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		ck_assert_int_eq(run(scanapi_bin(), NULL, &err, "serve", "--db",
		    "x.db", "--keyring", "kr", "--db-writers", bad[i],
		    (char *)NULL), 2);
		ck_assert_msg(strstr(err, "bad value") != NULL &&
		    strstr(err, "--db-writers") != NULL, "%s", err);
		free(err);
		err = NULL;
	}
}
END_TEST

START_TEST(test_tokens_sessions_pg)
{
	struct yima_store *st;

	empty();
	st = open_pg();
	tokens_and_sessions(st);
	yima_store_close(st);
	/* What was committed is there for another connection to see. */
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM tokens WHERE revoked_at"
	    " IS NOT NULL"), 1);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM sessions"), 1);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM tokens WHERE name ="
	    " '二号'"), 1);
}
END_TEST

#include "../scanapi/store-ops.h"	/* struct yima_store */

/*
 * A file path opens SQLite, a URL PostgreSQL. (Each back-end's table is
 * made from store-ops.h: the compiler sees that every call is in it.)
 */
START_TEST(test_dispatch_sqlite)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 1, 0, 1, 0 };
	struct yima_store *st;
	char why[YIMA_WHY_MAX], *dir = tu_mkdtemp(), *db = tu_path(dir, "s.db");

	ck_assert_msg(yima_store_open(db, &o, &st, why) == 0, "%s", why);
	ck_assert_str_eq(st->ops->name, "sqlite");
	yima_store_close(st);
	tu_rmtree(dir);
	free(db);
	free(dir);
}
END_TEST

/*
 * A serving store holds its node number: a second is refused, another
 * number is not, a command's store (not serving) opens beside it, and a
 * closed store lets the number go.
 */
START_TEST(test_pg_node_held)
{
	struct yima_store_opts o = { YIMA_SYNC_NORMAL, 1, 5, 1, 1 };
	struct yima_store *a, *b;
	char why[YIMA_WHY_MAX];

	empty();
	ck_assert_msg(yima_store_open(url, &o, &a, why) == 0, "%s", why);
	ck_assert_int_eq(yima_store_open(url, &o, &b, why), YIMA_EEXIST);
	ck_assert_msg(strstr(why, "node 5 is already serving") != NULL, "%s",
	    why);
	o.node = 6;
	ck_assert_msg(yima_store_open(url, &o, &b, why) == 0, "%s", why);
	yima_store_close(b);
	o.node = 5;
	o.serving = 0;
	ck_assert_msg(yima_store_open(url, &o, &b, why) == 0, "%s", why);
	yima_store_close(b);
	yima_store_close(a);
	o.serving = 1;
	ck_assert_msg(yima_store_open(url, &o, &b, why) == 0, "%s", why);
	yima_store_close(b);
}
END_TEST

START_TEST(test_dispatch_pg)
{
	struct yima_store *st;

	empty();
	st = open_pg();
	ck_assert_str_eq(st->ops->name, "postgresql");
	yima_store_close(st);
}
END_TEST

/* ---- two nodes on one database ---- */

#define NODES	3
#define RACE	64	/* concurrent scans of one code */
#define CLAIMS	1000	/* concurrent claims on a 10-prize pool */

struct node {
	pid_t	pid;
	int	port;
};

/*
 * Starts yima-scanapi serve on the database; waits for its port. Every
 * node has the same command line, as replicas behind a load balancer:
 * each takes a node number itself (its stderr, with the request log,
 * goes to nodeI.err).
 */
static void
node_start_push(const char *dir, const char *kr, int i, const char *writers,
    const char *push, struct node *n)
{
	char err[4096], *text = NULL;
	pid_t parent = getpid();
	int k;

	snprintf(err, sizeof(err), "%s/node%d.err", dir, i);
	ck_assert_int_ge(n->pid = fork(), 0);
	if (n->pid == 0) {
		if (srv_child(parent, err) == 0)
			execl(scanapi_bin(), "yima-scanapi", "serve", "--db",
			    url, "--keyring", kr, "--listen", "127.0.0.1:0",
			    "--ip-rate", "0", "--consumer-rate", "0", "--web",
			    web_dir(), "--web-assets", web_assets_dir(),
			    "--regions", regions_file(), "--db-writers", writers,
			    "--trusted-proxy", "127.0.0.1",
			    push != NULL ? "--epcis-push" : (char *)NULL, push,
			    (char *)NULL);
		_exit(127);
	}
	for (k = 0, n->port = 0; k < 200 && n->port == 0; k++) {
		msleep(50);
		free(text);
		if ((text = tu_read_file(err, NULL)) != NULL &&
		    strstr(text, "(port ") != NULL)
			n->port = atoi(strstr(text, "(port ") + 6);
	}
	ck_assert_msg(n->port > 0, "node %d did not start: %s", i,
	    text ? text : "");
	free(text);
}

static void
node_start(const char *dir, const char *kr, int i, const char *writers,
    struct node *n)
{
	node_start_push(dir, kr, i, writers, NULL, n);
}

static void
node_stop(struct node *n)
{
	kill(n->pid, SIGTERM);
	ck_assert_int_eq(wait_exit(n->pid, 15), 0);
}

/*
 * The codes on lines k, k + stride, ... (n of them; line 1 is the first
 * after the header) of a codes CSV, read once.
 */
static void
codes_at(const char *dir, const char *file, int k, int stride, int n,
    char (*out)[32])
{
	char *path = tu_path(dir, file), *text = tu_read_file(path, NULL), *p;
	int line, i;

	ck_assert_ptr_nonnull(text);
	for (p = text, line = 0, i = 0; p != NULL && i < n; line++) {
		if (line >= k && (line - k) % stride == 0) {
			const char *c = strchr(p, ',') + 1;

			snprintf(out[i++], sizeof(out[0]), "%.*s",
			    (int)strcspn(c, ",\r\n"), c);
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	ck_assert_int_eq(i, n);
	free(text);
	free(path);
}

/* A race's requests and what each got. */
struct race {
	char		 (*codes)[32];
	char		 (*verdict)[16];
	int		*status, *prize;
};

static void
race_alloc(struct race *r, int n)
{
	ck_assert_ptr_nonnull(r->codes = calloc((size_t)n, sizeof(*r->codes)));
	ck_assert_ptr_nonnull(r->verdict = calloc((size_t)n,
	    sizeof(*r->verdict)));
	ck_assert_ptr_nonnull(r->status = calloc((size_t)n,
	    sizeof(*r->status)));
	ck_assert_ptr_nonnull(r->prize = calloc((size_t)n, sizeof(*r->prize)));
}

static void
race_free(struct race *r)
{
	free(r->codes);
	free(r->verdict);
	free(r->status);
	free(r->prize);
}

struct shot {
	struct node		*nodes;
	struct race		*r;
	int			 from, to;	/* requests [from, to) */
	pthread_barrier_t	*go;		/* all start together */
};

static void *
shooter(void *arg)
{
	struct shot *sh = arg;
	struct race *r = sh->r;
	struct http_req q = { "POST", "/api/v1/scans", "application/json",
	    NULL, NULL, NULL, 0 };
	struct http_resp p;
	char body[96];
	int i;

	pthread_barrier_wait(sh->go);
	for (i = sh->from; i < sh->to; i++) {
		snprintf(body, sizeof(body), "{\"code\":\"%s\"}", r->codes[i]);
		q.body = body;
		q.len = strlen(body);
		r->status[i] = http(sh->nodes[i % NODES].port, &q, &p);
		if (p.json != NULL && jstr(p.json, "verdict") != NULL)
			snprintf(r->verdict[i], 16, "%s",
			    jstr(p.json, "verdict"));
		r->prize[i] = p.json != NULL &&
		    json_is_object(jget(p.json, "reward")) &&
		    jget(p.json, "reward.prize") != NULL &&
		    !json_is_null(jget(p.json, "reward.prize"));
		http_free(&p);
	}
	return NULL;
}

/* n requests of codes over threads, alternating the nodes. */
static void
shoot(struct node *nodes, struct race *r, int n, int threads)
{
	pthread_t th[64];
	struct shot sh[64];
	pthread_barrier_t go;
	int t;

	ck_assert_int_le(threads, 64);
	pthread_barrier_init(&go, NULL, (unsigned)threads);
	for (t = 0; t < threads; t++) {
		sh[t] = (struct shot){ nodes, r, n * t / threads,
		    n * (t + 1) / threads, &go };
		ck_assert_int_eq(pthread_create(&th[t], NULL, shooter, &sh[t]),
		    0);
	}
	for (t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&go);
}

/* A campaign of 10 prizes, each claim certain to draw while any is left. */
static int64_t
pool_campaign(int port, const char *tok)
{
	static const char body[] = "{\"name\":\"pool\",\"start\":"
	    "\"2020-01-01T00:00:00Z\",\"end\":\"2099-01-01T00:00:00Z\","
	    "\"points\":1,\"prizes\":[{\"name\":\"p\",\"type\":\"cash\","
	    "\"amount\":100,\"count\":10,\"probability\":1}]}";
	struct http_req q = { "POST", "/api/v1/admin/campaigns",
	    "application/json", tok, NULL, body, 0 };
	struct http_resp p;
	int64_t id;

	ck_assert_int_eq(http(port, &q, &p), 201);
	id = jint(p.json, "id");
	http_free(&p);
	return id;
}

/* The node number a node took, from its /metrics. */
static int
node_id(const struct node *n)
{
	struct http_req q = { "GET", "/metrics", NULL, NULL, NULL, NULL, 0 };
	struct http_resp p;
	double v;

	ck_assert_int_eq(http(n->port, &q, &p), 200);
	v = metric(p.body, "yima_node");
	http_free(&p);
	ck_assert(v >= 0);
	return (int)v;
}

/* Store conflicts the nodes met, from their /metrics. */
static double
conflicts(struct node *nodes, const char *tok)
{
	struct http_req q = { "GET", "/metrics", NULL, tok, NULL, NULL, 0 };
	struct http_resp p;
	double sum = 0, v;
	int i;

	for (i = 0; i < NODES; i++) {
		ck_assert_int_eq(http(nodes[i].port, &q, &p), 200);
		ck_assert((v = metric(p.body, "yima_store_conflicts_total")) >=
		    0);
		sum += v;
		http_free(&p);
	}
	return sum;
}

struct patch {
	struct node	*nodes;
	const char	*tok;
	int64_t		 campaign;
	int		 from, to;
	int		*status;
};

/* Pauses and resumes one campaign, alternating the nodes. */
static void *
patcher(void *arg)
{
	struct patch *pa = arg;
	struct http_resp p;
	char path[64], body[32];
	int i;

	snprintf(path, sizeof(path), "/api/v1/admin/campaigns/%lld",
	    (long long)pa->campaign);
	for (i = pa->from; i < pa->to; i++) {
		struct http_req q = { "PATCH", path, "application/json",
		    pa->tok, NULL, body, 0 };

		snprintf(body, sizeof(body), "{\"status\":\"%s\"}",
		    i % 2 ? "paused" : "active");
		pa->status[i] = http(pa->nodes[i % NODES].port, &q, &p);
		http_free(&p);
	}
	return NULL;
}

/*
 * Route writes race across nodes on one busy row (each change of a
 * campaign bumps the campaigns' generation): they queue for it, so every
 * one succeeds at its first run and none conflicts (the nodes count
 * conflicts; before the queue, 64 changes ran out of reruns and one
 * answered 503).
 */
static void
route_race(struct node *nodes, const char *tok, int64_t campaign)
{
	pthread_t th[16];
	struct patch pa[16];
	int status[RACE], t, i;
	double before = conflicts(nodes, tok);

	for (t = 0; t < 16; t++) {
		pa[t] = (struct patch){ nodes, tok, campaign, RACE * t / 16,
		    RACE * (t + 1) / 16, status };
		ck_assert_int_eq(pthread_create(&th[t], NULL, patcher, &pa[t]),
		    0);
	}
	for (t = 0; t < 16; t++)
		pthread_join(th[t], NULL);
	for (i = 0; i < RACE; i++)
		ck_assert_msg(status[i] == 200, "change %d answered %d", i,
		    status[i]);
	ck_assert_msg(conflicts(nodes, tok) == before, "changes conflicted "
	    "(%.0f): they did not queue", conflicts(nodes, tok) - before);
	/* Active again, whichever change came last. */
	pa[0] = (struct patch){ nodes, tok, campaign, 0, 1, status };
	patcher(&pa[0]);
	ck_assert_int_eq(status[0], 200);
}

/*
 * Two nodes on one PostgreSQL: a first-scan race across both gives one
 * genuine; 1,000 claims across both on a 10-prize pool give 10 prizes and
 * never less than none; both nodes read the same report.
 */
/*
 * Products and the resolver on PostgreSQL: a DL bottle's scan names its
 * product, its linkset does, and so does the report by SKU.
 */
START_TEST(test_pg_products)
{
	static const char *const dl[] = { "--format", "dl", "--gtin",
	    "06901234567892", NULL };
	static const char product[] = "{\"name\":\"青岛啤酒 500ml\","
	    "\"brand\":\"b\",\"links\":[{\"rel\":\"gs1:pip\",\"href\":"
	    "\"https://brand.example/p\",\"title\":\"Product\"}]}";
	char *dir = tu_mkdtemp(), *kr = tu_path(dir, "kr"), *batch, tok[64];
	char url1[160], body[256], *csv, *text;
	const char *at;
	json_t *set;
	struct http_req q = { "PUT", "/api/v1/admin/products/06901234567892",
	    "application/json", tok, NULL, product, 0 };
	struct http_resp p;
	struct node n;

	empty();
	keygen(kr);
	batch = mint(kr, dir, "b", "item", 2, dl, NULL);
	import(url, kr, batch);
	ck_assert_int_gt(token_create(url, "admin", NULL, tok, sizeof(tok)),
	    0);
	node_start(dir, kr, 0, "2", &n);
	ck_assert_int_eq(http(n.port, &q, &p), 201);
	http_free(&p);
	/* The first bottle's URI: the third column of codes.csv. */
	csv = tu_path(batch, "codes.csv");
	ck_assert_ptr_nonnull(text = tu_read_file(csv, NULL));
	ck_assert_ptr_nonnull(at = strstr(text, "HTTPS://"));
	snprintf(url1, sizeof(url1), "%.*s", (int)strcspn(at, "\r\n"), at);
	ck_assert_ptr_nonnull(strstr(url1, "/01/06901234567892/21/"));
	free(text);
	free(csv);
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", url1);
	q.method = "POST";
	q.path = "/api/v1/scans";
	q.body = body;
	ck_assert_int_eq(http(n.port, &q, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "verdict"), "genuine");
	ck_assert_pstr_eq(jstr(p.json, "product.name"), "青岛啤酒 500ml");
	http_free(&p);
	snprintf(body, sizeof(body), "%s?linkType=linkset",
	    strstr(url1, "/01/"));
	q.method = "GET";
	q.path = body;
	q.body = NULL;
	ck_assert_int_eq(http(n.port, &q, &p), 200);
	set = jget(p.json, "linkset.0");
	ck_assert_pstr_eq(jstr(set, "itemDescription"), "青岛啤酒 500ml");
	ck_assert_pstr_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(set, "https://gs1.org/voc/pip"), 0), "href")),
	    "https://brand.example/p");
	http_free(&p);
	q.path = "/api/v1/reports/scans?by=sku";
	ck_assert_int_eq(http(n.port, &q, &p), 200);
	ck_assert_pstr_eq(jstr(p.json, "rows.0.name"), "青岛啤酒 500ml");
	http_free(&p);
	q.method = "DELETE";
	q.path = "/api/v1/admin/products/06901234567892";
	ck_assert_int_eq(http(n.port, &q, &p), 204);
	http_free(&p);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM products"), 0);
	node_stop(&n);
	free(batch);
	free(kr);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/*
 * EPCIS on PostgreSQL: the operations' events and the scans (written in
 * batches) reach the outbox through the triggers, and the export
 * validates, its ids the same as SQLite would give.
 */
START_TEST(test_pg_epcis)
{
	static const char *const dl[] = { "--format", "dl", "--gtin",
	    "06901234567892", NULL };
	char *dir = tu_mkdtemp(), *kr = tu_path(dir, "kr"), *items, *box;
	char tok[64], body[4096], (*codes)[32], *out = NULL, *err = NULL;
	char *file;
	struct http_req q = { "POST", "/api/v1/admin/dealers",
	    "application/json", tok, NULL, NULL, 0 };
	struct http_resp p;
	struct node n;
	json_t *doc;
	size_t len;
	int i;

	empty();
	keygen(kr);
	items = mint(kr, dir, "items", "item", 12, dl, NULL);
	box = mint(kr, dir, "box", "box", 1, NULL, NULL);
	import(url, kr, items);
	import(url, kr, box);
	ck_assert_int_gt(token_create(url, "admin", NULL, tok, sizeof(tok)),
	    0);
	/* A repository that is not there: the outbox keeps everything. */
	node_start_push(dir, kr, 0, "2", "http://127.0.0.1:9/capture", &n);
	q.body = "{\"id\":\"d1\",\"name\":\"d1\",\"type\":\"dealer\"}";
	ck_assert_int_eq(http(n.port, &q, &p), 201);
	http_free(&p);
	ck_assert_ptr_nonnull(codes = calloc(13, sizeof(*codes)));
	codes_at(items, "codes.csv", 1, 1, 12, codes);
	codes_at(box, "codes.csv", 1, 1, 1, codes + 12);
	len = (size_t)snprintf(body, sizeof(body), "{\"parent\":\"%s\","
	    "\"children\":[", codes[12]);
	for (i = 0; i < 4; i++)
		len += (size_t)snprintf(body + len, sizeof(body) - len,
		    "%s\"https://yima.example.com/01/06901234567892/21/%s\"",
		    i ? "," : "", codes[i]);
	snprintf(body + len, sizeof(body) - len, "]}");
	q.path = "/api/v1/packs";
	q.body = body;
	ck_assert_msg(http(n.port, &q, &p) == 201, "%s", p.body);
	http_free(&p);
	snprintf(body, sizeof(body), "{\"to\":\"d1\",\"codes\":[\"%s\"]}",
	    codes[12]);
	q.path = "/api/v1/shipments";
	ck_assert_msg(http(n.port, &q, &p) == 201, "%s", p.body);
	http_free(&p);
	for (i = 0; i < 10; i++) {
		snprintf(body, sizeof(body), "{\"code\":\"https://yima.example"
		    ".com/01/06901234567892/21/%s\"}", codes[i % 6]);
		q.path = "/api/v1/scans";
		q.token = NULL;
		ck_assert_int_eq(http(n.port, &q, &p), 200);
		http_free(&p);
	}
	/* pack, ship and ten scans; the imports came before the push */
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM epcis_outbox"), 12);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM epcis_outbox WHERE scan IS"
	    " NOT NULL"), 10);
	node_stop(&n);
	ck_assert_int_eq(run(scanapi_bin(), &out, &err, "epcis", "export",
	    "--db", url, "--keyring", kr, NULL), 0);
	ck_assert_ptr_nonnull(doc = json_loads(out, 0, NULL));
	ck_assert_int_eq(json_array_size(jget(doc, "epcisBody.eventList")),
	    14);
	file = tu_path(dir, "pg.jsonld");
	ck_assert_int_eq(tu_write_file(file, out, strlen(out)), 0);
	epcis_valid(file);
	json_decref(doc);
	free(file);
	free(out);
	free(err);
	free(codes);
	free(items);
	free(box);
	free(kr);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_pg_two_nodes)
{
	static const char *const inner[] = { "--inner", "--gtin",
	    "06901234567892", NULL };
	struct node nodes[NODES];
	char *dir = tu_mkdtemp(), *kr = tu_path(dir, "kr"), *batch, tok[64];
	char *err = NULL;
	struct http_resp r[NODES];
	struct race x;
	int i, genuine = 0, prizes = 0, ok = 0;

	empty();
	keygen(kr);
	batch = mint(kr, dir, "b", "item", CLAIMS, inner, NULL);
	import(url, kr, batch);
	ck_assert_int_gt(token_create(url, "admin", NULL, tok, sizeof(tok)),
	    0);
	/* Identical nodes take the numbers 0, 1, 2 (one each, any order). */
	for (i = 0; i < NODES; i++)
		node_start(dir, kr, i, "2", &nodes[i]);
	for (i = 0, ok = 0; i < NODES; i++)
		ok |= 1 << node_id(&nodes[i]);
	ck_assert_int_eq(ok, (1 << NODES) - 1);
	ok = 0;
	/* A node pinned to a number already serving does not start. */
	ck_assert_int_eq(run(scanapi_bin(), NULL, &err, "serve", "--db", url,
	    "--keyring", kr, "--listen", "127.0.0.1:0", "--web", web_dir(),
	    "--web-assets", web_assets_dir(), "--regions", regions_file(),
	    "--node-id", "1", (char *)NULL), 1);
	ck_assert_msg(strstr(err, "node 1 is already serving") != NULL, "%s",
	    err);
	free(err);
	race_alloc(&x, CLAIMS);
	/* The race: one bottle, 64 scans at once, half on each node. */
	codes_at(batch, "codes.csv", 1, 1, 1, x.codes);
	for (i = 1; i < RACE; i++)
		memcpy(x.codes[i], x.codes[0], sizeof(x.codes[0]));
	shoot(nodes, &x, RACE, RACE);
	for (i = 0; i < RACE; i++) {
		ck_assert_int_eq(x.status[i], 200);
		genuine += strcmp(x.verdict[i], "genuine") == 0;
	}
	ck_assert_int_eq(genuine, 1);
	route_race(nodes, tok, pool_campaign(nodes[1].port, tok));
	/* One cap code claimed 64 times at once across both: one claim. */
	codes_at(batch, "inner.csv", CLAIMS, 1, 1, x.codes);
	for (i = 1; i < RACE; i++)
		memcpy(x.codes[i], x.codes[0], sizeof(x.codes[0]));
	shoot(nodes, &x, RACE, RACE);
	for (i = 0, genuine = 0; i < RACE; i++) {
		ck_assert_int_eq(x.status[i], 200);
		genuine += strcmp(x.verdict[i], "genuine") == 0;
		prizes += x.prize[i];
	}
	ck_assert_int_eq(genuine, 1);
	ck_assert_int_eq(prizes, 1);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM claims"), 1);
	/* The pool: its last 9 prizes, every other cap code claiming once. */
	codes_at(batch, "inner.csv", 1, 1, CLAIMS - 1, x.codes);
	memset(x.prize, 0, CLAIMS * sizeof(*x.prize));
	shoot(nodes, &x, CLAIMS - 1, 32);
	for (i = 0; i < CLAIMS - 1; i++) {
		ok += x.status[i] == 200;
		prizes += x.prize[i];
	}
	ck_assert_int_eq(ok, CLAIMS - 1);
	ck_assert_int_eq(prizes, 10);
	ck_assert_int_eq(sql("SELECT remaining FROM prizes"), 0);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM claims WHERE prize IS NOT"
	    " NULL"), 10);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM claims"), CLAIMS);
	/* Both nodes read the same report. */
	for (i = 0; i < NODES; i++) {
		struct http_req q = { "GET", "/api/v1/reports/scans?by=region",
		    NULL, tok, NULL, NULL, 0 };

		ck_assert_int_eq(http(nodes[i].port, &q, &r[i]), 200);
	}
	ck_assert(json_equal(jget(r[0].json, "rows"), jget(r[1].json, "rows")));
	/* The scans went to this month's partition, not the default. */
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM scans_default"), 0);
	ck_assert_int_ge(sql("SELECT COUNT(*) FROM scans"), RACE);
	/* Each node added to rollup rows of its own (node + 1000 writer). */
	ck_assert_int_eq(sql("SELECT COUNT(DISTINCT node % 1000) FROM"
	    " rollup_gtins"), NODES);
	ck_assert_int_eq(jint(json_array_get(jget(r[0].json, "rows"), 0),
	    "scans"), RACE);
	ck_assert_int_eq(jint(json_array_get(jget(r[0].json, "rows"), 0),
	    "claims"), CLAIMS);
	/* A stopped node's number is the next node's, and its counts stay. */
	i = node_id(&nodes[1]);
	node_stop(&nodes[1]);
	node_start(dir, kr, 1, "2", &nodes[1]);
	ck_assert_int_eq(node_id(&nodes[1]), i);
	{
		struct http_req q = { "GET", "/api/v1/reports/scans?by=region",
		    NULL, tok, NULL, NULL, 0 };
		struct http_resp p;

		ck_assert_int_eq(http(nodes[1].port, &q, &p), 200);
		ck_assert(json_equal(jget(p.json, "rows"),
		    jget(r[0].json, "rows")));
		http_free(&p);
	}
	for (i = 0; i < NODES; i++) {
		http_free(&r[i]);
		node_stop(&nodes[i]);
	}
	race_free(&x);
	free(batch);
	free(kr);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

#define SPREAD		256	/* cap codes, 128 serials apart */
#define WRITERS		4
#define WRITERS_S	"4"

/*
 * One node with four writers, each on its own blocks of serials: claims
 * spread over every block still share one 10-prize pool exactly, and
 * every writer wrote.
 */
START_TEST(test_pg_writers)
{
	static const char *const inner[] = { "--inner", "--gtin",
	    "06901234567892", NULL };
	struct node nodes[NODES];
	char *dir = tu_mkdtemp(), *kr = tu_path(dir, "kr"), *batch, tok[64];
	struct http_req mq = { "GET", "/metrics", NULL, NULL, NULL, NULL, 0 };
	struct http_resp p;
	struct race x;
	char name[64];
	double v, sum = 0;
	int i, prizes = 0;

	empty();
	keygen(kr);
	batch = mint(kr, dir, "b", "item", SPREAD * 128, inner, NULL);
	import(url, kr, batch);
	ck_assert_int_gt(token_create(url, "admin", NULL, tok, sizeof(tok)),
	    0);
	node_start(dir, kr, 0, WRITERS_S, &nodes[0]);
	nodes[1] = nodes[2] = nodes[0];
	race_alloc(&x, SPREAD);
	pool_campaign(nodes[0].port, tok);
	codes_at(batch, "inner.csv", 1, 128, SPREAD, x.codes);
	shoot(nodes, &x, SPREAD, 32);
	for (i = 0; i < SPREAD; i++) {
		ck_assert_int_eq(x.status[i], 200);
		prizes += x.prize[i];
	}
	ck_assert_int_eq(prizes, 10);
	ck_assert_int_eq(sql("SELECT remaining FROM prizes"), 0);
	ck_assert_int_eq(sql("SELECT COUNT(*) FROM claims"), SPREAD);
	/*
	 * The codes span eight 4,096-serial blocks: every writer committed
	 * some of them, and together all of them.
	 */
	ck_assert_int_eq(http(nodes[0].port, &mq, &p), 200);
	for (i = 0; i < WRITERS; i++) {
		snprintf(name, sizeof(name), "yima_writer_scans_total"
		    "{writer=\"%d\"}", i);
		ck_assert_msg((v = metric(p.body, name)) > 0, "%s %g", name, v);
		sum += v;
	}
	ck_assert_double_eq(sum, SPREAD);
	snprintf(name, sizeof(name), "yima_writer_scans_total{writer=\"%d\"}",
	    WRITERS);
	ck_assert_double_eq(metric(p.body, name), -1);
	http_free(&p);
	node_stop(&nodes[0]);
	race_free(&x);
	free(batch);
	free(kr);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- failures under load ---- */

#define LOAD_CODES	3000
#define LOAD_MAX	30000	/* requests at most; codes come round again */
#define LOAD_THREADS	16

struct load {
	struct node	*nodes;
	int		 nnodes;
	char		 (*codes)[32];
	_Atomic int	 next;		/* the next request */
	_Atomic int	 stop;
	int		 status[LOAD_MAX];
	int		 node[LOAD_MAX];
	double		 sent[LOAD_MAX];	/* when sent (mono_s) */
	double		 at[LOAD_MAX];	/* when answered (mono_s) */
	long long	 scan_id[LOAD_MAX];
};

/*
 * Scans the codes in turn (a repeat scan is stored too), round robin over
 * the nodes, until told to stop: a fast machine does not run out.
 */
static void *
loader(void *arg)
{
	struct load *l = arg;
	struct http_req q = { "POST", "/api/v1/scans", "application/json",
	    NULL, NULL, NULL, 0 };
	struct http_resp p;
	char body[96];
	int i;

	while (!atomic_load(&l->stop) &&
	    (i = atomic_fetch_add(&l->next, 1)) < LOAD_MAX) {
		snprintf(body, sizeof(body), "{\"code\":\"%s\"}",
		    l->codes[i % LOAD_CODES]);
		q.body = body;
		q.len = strlen(body);
		l->node[i] = i % l->nnodes;
		l->sent[i] = mono_s();
		l->status[i] = http(l->nodes[l->node[i]].port, &q, &p);
		l->at[i] = mono_s();
		if (l->status[i] == 200)
			l->scan_id[i] = jint(p.json, "scan_id");
		http_free(&p);
		msleep(2);	/* a steady load, not a flood */
	}
	return NULL;
}

static void
load_start(struct load *l, pthread_t *th)
{
	int t;

	for (t = 0; t < LOAD_THREADS; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, loader, l), 0);
}

static void
load_stop(struct load *l, pthread_t *th)
{
	int t;

	atomic_store(&l->stop, 1);
	for (t = 0; t < LOAD_THREADS; t++)
		pthread_join(th[t], NULL);
}

/* Every scan answered 200 is in the database. Returns how many. */
static int
answered_kept(struct load *l)
{
	struct yima_buf q = YIMA_BUF_INIT;
	int i, n = 0, last = atomic_load(&l->next);

	/* One query; scan ids start at 1, so the 0 that leads matches none. */
	ck_assert_int_eq(yima_buf_puts(&q, "SELECT COUNT(*) FROM scans WHERE"
	    " id = ANY('{0"), 0);
	for (i = 0; i < last && i < LOAD_MAX; i++) {
		if (l->status[i] != 200)
			continue;
		ck_assert_int_eq(yima_buf_printf(&q, ",%lld", l->scan_id[i]),
		    0);
		n++;
	}
	ck_assert_int_eq(yima_buf_puts(&q, "}'::bigint[])"), 0);
	ck_assert_int_eq(sql(q.data), n);
	yima_buf_free(&q);
	return n;
}

/* A fresh database, LOAD_CODES bottles imported, the nodes started. */
static struct load *
load_setup(char **dir, int nnodes, struct node *nodes)
{
	struct load *l = calloc(1, sizeof(*l));
	char *kr, *batch;
	int i;

	ck_assert_ptr_nonnull(l);
	*dir = tu_mkdtemp();
	kr = tu_path(*dir, "kr");
	empty();
	keygen(kr);
	batch = mint(kr, *dir, "b", "item", LOAD_CODES, NULL, NULL);
	import(url, kr, batch);
	ck_assert_ptr_nonnull(l->codes = calloc(LOAD_CODES,
	    sizeof(*l->codes)));
	codes_at(batch, "codes.csv", 1, 1, LOAD_CODES, l->codes);
	for (i = 0; i < nnodes; i++)
		node_start(*dir, kr, i, "2", &nodes[i]);
	l->nodes = nodes;
	l->nnodes = nnodes;
	free(batch);
	free(kr);
	return l;
}

/*
 * SIGKILL one of two nodes under load: every scan either node answered
 * 200 is stored, and the other node keeps answering.
 */
START_TEST(test_pg_node_killed)
{
	struct node nodes[NODES];
	pthread_t th[LOAD_THREADS];
	struct load *l;
	char *dir;
	double killed;
	int i, after = 0;

	l = load_setup(&dir, 2, nodes);
	load_start(l, th);
	msleep(700);
	ck_assert_int_eq(kill(nodes[0].pid, SIGKILL), 0);
	killed = mono_s();
	waitpid(nodes[0].pid, NULL, 0);
	msleep(700);
	load_stop(l, th);
	for (i = 0; i < LOAD_MAX; i++)
		after += l->node[i] == 1 && l->status[i] == 200 &&
		    l->at[i] > killed;
	ck_assert_msg(after > 20, "node 1 answered %d scans after the kill",
	    after);
	ck_assert_int_gt(answered_kept(l), after);
	node_stop(&nodes[1]);
	free(l->codes);
	free(l);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* scripts/NAME, from the test data's place. */
static void
script_path(const char *name, char *out, size_t len)
{
	const char *data = getenv("YIMA_TEST_DATA");

	snprintf(out, len, "%s/../../scripts/%s", data != NULL ? data :
	    "tests/data", name);
}

/* A loopback port nothing listens on now. */
static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &n), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/*
 * nginx in front of the nodes on ports[1..3], on ports[0], as a child
 * that ends with the test (a failed check ends the test's process, and
 * nginx must not outlive it): lb.sh writes the configuration.
 */
static pid_t
lb_start(const char *dir, char (*ports)[16])
{
	char script[4096], conf[4096], err[4096], *out = NULL;
	pid_t pid, parent = getpid();
	int i, st;

	script_path("lb.sh", script, sizeof(script));
	ck_assert_msg(run(script, NULL, &out, "conf", dir, ports[0], ports[1],
	    ports[2], ports[3], (char *)NULL) == 0, "lb.sh: %s", out);
	free(out);
	snprintf(conf, sizeof(conf), "%s/nginx.conf", dir);
	snprintf(err, sizeof(err), "%s/error.log", dir);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		/* SIGTERM: nginx's master stops its workers too. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == 0 &&
		    getppid() == parent) {
			execlp("nginx", "nginx", "-c", conf, "-p", dir, "-e",
			    err, "-g", "daemon off;", (char *)NULL);
			execl("/usr/sbin/nginx", "nginx", "-c", conf, "-p", dir,
			    "-e", err, "-g", "daemon off;", (char *)NULL);
		}
		_exit(127);
	}
	/* Up when it answers (a 502 with no node behind it is an answer). */
	for (i = 0; i < 100; i++) {
		struct http_req q = { "GET", "/healthz", NULL, NULL, NULL,
		    NULL, 0 };
		struct http_resp p;

		st = http(atoi(ports[0]), &q, &p);
		http_free(&p);
		if (st > 0)
			return pid;
		msleep(50);
	}
	ck_abort_msg("nginx did not start: see %s", err);
	return -1;
}

/*
 * Three identical nodes behind Debian's nginx (scripts/lb.sh: upstream,
 * keep-alive, proxy_next_upstream), under load through it, one node
 * SIGKILLed midway: every scan answered 200 is stored, the other nodes
 * keep serving, and no request fails but those in flight when the node
 * died (a POST nginx had sent it is not sent again: it may have been
 * recorded).
 */
START_TEST(test_pg_nginx)
{
	struct node nodes[NODES], lb = { 0, 0 };
	pthread_t th[LOAD_THREADS];
	struct load *l;
	char *dir, *lbdir, port[NODES + 1][16];
	double killed;
	int i, after = 0, failed = 0, late = 0, last;

	l = load_setup(&dir, NODES, nodes);
	lbdir = tu_path(dir, "lb");
	lb.port = free_port();
	snprintf(port[0], sizeof(port[0]), "%d", lb.port);
	for (i = 0; i < NODES; i++)
		snprintf(port[i + 1], sizeof(port[i + 1]), "%d", nodes[i].port);
	lb.pid = lb_start(lbdir, port);
	l->nodes = &lb;		/* every request through nginx */
	l->nnodes = 1;
	load_start(l, th);
	msleep(700);
	ck_assert_int_eq(kill(nodes[0].pid, SIGKILL), 0);
	killed = mono_s();
	waitpid(nodes[0].pid, NULL, 0);
	msleep(3000);	/* past lb.sh's fail_timeout: nginx tries it again */
	load_stop(l, th);
	last = atomic_load(&l->next);
	for (i = 0; i < last && i < LOAD_MAX; i++) {
		after += l->status[i] == 200 && l->at[i] > killed + 0.1;
		failed += l->status[i] != 200;
		late += l->status[i] != 200 && l->sent[i] > killed + 0.05;
	}
	ck_assert_msg(after > 50, "%d scans answered after the kill", after);
	ck_assert_msg(late == 0, "%d of %d failed requests were sent after the "
	    "node died", late, failed);
	ck_assert_msg(failed <= LOAD_THREADS, "%d requests failed, more than "
	    "could be in flight", failed);
	ck_assert_int_gt(answered_kept(l), after);
	node_stop(&lb);		/* nginx: SIGTERM, exit 0 */
	node_stop(&nodes[1]);
	node_stop(&nodes[2]);
	free(l->codes);
	free(l);
	free(lbdir);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* Runs scripts/pg.sh CMD on the test cluster's directory: its status. */
static int
pg_sh(const char *cmd)
{
	const char *pgdir = getenv("YIMA_TEST_PG_DIR");
	char script[4096];

	script_path("pg.sh", script, sizeof(script));
	return run(script, NULL, NULL, cmd, pgdir, (char *)NULL);
}

static void
pg_ctl(const char *cmd)
{
	int rc = pg_sh(cmd);

	ck_assert_msg(rc == 0, "pg.sh %s exited %d", cmd, rc);
}

/*
 * After the tests (in the runner): a test that failed with the server
 * stopped does not leave it stopped for the suites after.
 */
static void
pg_up(void)
{
	if (PQping(url) == PQPING_NO_RESPONSE)
		pg_sh("resume");
}

/*
 * PostgreSQL stopped: a begin tries a few times and fails, the next fails
 * at once (the database is down), and once it is back a begin succeeds
 * again by itself.
 */
START_TEST(test_pg_down_fast)
{
	struct yima_store *st;
	struct yima_tx *tx;
	int k, rc;

	empty();
	st = open_pg();
	pg_ctl("stop");
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), YIMA_EDB);
	ck_assert_int_eq(yima_tx_begin(st, 0, &tx), YIMA_EDB);
	ck_assert_msg(strstr(yima_store_errmsg(st), "the database is down") !=
	    NULL, "%s", yima_store_errmsg(st));
	pg_ctl("resume");
	for (k = 0; k < 50 && (rc = yima_tx_begin(st, 0, &tx)) != 0; k++)
		msleep(100);
	ck_assert_msg(rc == 0, "%s", yima_store_errmsg(st));
	yima_tx_rollback(tx);
	yima_store_close(st);
}
END_TEST

/*
 * PostgreSQL stopped under load and started again: the node answers 503
 * while it is down (and does not crash), serves again by itself after,
 * and every scan it answered 200 is stored.
 */
START_TEST(test_pg_restart)
{
	struct node node;
	pthread_t th[LOAD_THREADS];
	struct load *l;
	char *dir;
	double down, up;
	int i, during = 0, later = 0, unavailable = 0;

	l = load_setup(&dir, 1, &node);
	load_start(l, th);
	msleep(500);
	/* Down from when the stop returned until the start was asked. */
	pg_ctl("stop");
	down = mono_s();
	msleep(800);
	up = mono_s();
	pg_ctl("resume");
	msleep(1500);
	load_stop(l, th);
	for (i = 0; i < LOAD_MAX; i++) {
		unavailable += l->status[i] == 503;
		during += l->status[i] == 200 && l->at[i] > down + 0.1 &&
		    l->at[i] < up - 0.1;
		later += l->status[i] == 200 && l->at[i] > up + 0.5;
	}
	ck_assert_msg(unavailable > 0, "no 503 while PostgreSQL was down");
	ck_assert_int_eq(during, 0);
	ck_assert_msg(later > 20, "%d scans answered after the restart",
	    later);
	ck_assert_int_gt(answered_kept(l), later);
	/* It did not crash: it stops cleanly. */
	node_stop(&node);
	free(l->codes);
	free(l);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

Suite *
pg_suite(void)
{
	Suite *s = suite_create("pg");
	TCase *tc, *both = tcase_create("sqlite");

	/* The shared calls on SQLite always run, as the reference. */
	tcase_add_test(both, test_tokens_sessions_sqlite);
	tcase_add_test(both, test_writers_flag);
	tcase_add_test(both, test_dispatch_sqlite);
	suite_add_tcase(s, both);
	if ((url = tu_pg_url()) == NULL) {
		fprintf(stderr, "pg: YIMA_TEST_PG is not set: the PostgreSQL "
		    "tests do not run (see the README)\n");
		return s;
	}
	tc = tcase_create("postgresql");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, pg_up);
	tcase_add_test(tc, test_pg_migrate);
	tcase_add_test(tc, test_pg_newer_refused);
	tcase_add_test(tc, test_pg_concurrent_migrate);
	tcase_add_test(tc, test_pg_transactions);
	tcase_add_test(tc, test_tokens_sessions_pg);
	tcase_add_test(tc, test_dispatch_pg);
	tcase_add_test(tc, test_pg_node_held);
	tcase_add_test(tc, test_pg_products);
	tcase_add_test(tc, test_pg_epcis);
	tcase_add_test(tc, test_pg_two_nodes);
	tcase_add_test(tc, test_pg_writers);
	tcase_add_test(tc, test_pg_node_killed);
	tcase_add_test(tc, test_pg_nginx);
	/* Restarting the server needs its directory (scripts/pg.sh). */
	if (getenv("YIMA_TEST_PG_DIR") != NULL) {
		tcase_add_test(tc, test_pg_down_fast);
		tcase_add_test(tc, test_pg_restart);
	} else
		fprintf(stderr, "pg: YIMA_TEST_PG_DIR is not set: the restart "
		    "tests do not run\n");
	suite_add_tcase(s, tc);
	return s;
}
