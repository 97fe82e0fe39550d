/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server-test kit shared by the suites that start yima-scanapi: a
 * fixture of minted and imported batches and tokens (T), the running
 * server of one test (E), a small blocking HTTP client, JSON and direct
 * database look-ups. Suites use case_setup/case_teardown as an
 * unchecked fixture and test_setup/test_teardown as a checked one.
 */
#ifndef YIMA_SRVUTIL_H
#define YIMA_SRVUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>
#include <sqlite3.h>

#define ARGS_MAX	48
#define NB1		24	/* codes in the imported item batch */
#define NB2		4	/* codes in the batch never imported */
#define NSMALL		4	/* inner and channel batches */
#define GTIN		"06901234567892"
#define LOT		"L1"
#define MFG		"2026-01-01"
#define EXPIRY		"2027-01-01"
#define DOMAIN		"yima.example.com"
#define BODY_MAX	16384	/* the contract's request body limit */
#define PAGE_MAX	(30 * 1024)	/* the landing page's size limit */

/* Made once per test case (unchecked fixture) and copied per test. */
struct batch {
	char	*dir;			/* minted directory */
	char	 id[33];		/* batch id */
	char	 codes[NB1][25];
	char	 urls[NB1][128];
	long long serials[NB1];
	int	 n;
};

struct su_fixture {
	char		*root;		/* removed by the unchecked teardown */
	char		*kr;		/* keyring; mints append to it */
	char		*db;		/* template database */
	struct batch	 b1;		/* item, GTIN/lot/dates, imported */
	struct batch	 b2;		/* item, not imported: unregistered */
	struct batch	 inner;		/* inner codes of an imported batch */
	struct batch	 ch;		/* channel, imported */
	char		 admin[64], ops[64], dealer[64];
};
extern struct su_fixture T;

/* Per test: a copy of the database, the server's files and process. */
struct su_env {
	char	*dir;
	char	*db;
	char	*log;
	pid_t	 pid;		/* 0: not running */
	int	 port;
	int	 starts;
};
extern struct su_env E;

extern int http_timeout;	/* seconds a receive may wait */

struct http_req {
	const char	*method;
	const char	*path;
	const char	*ctype;		/* Content-Type, or NULL for none */
	const char	*token;		/* bearer token, or NULL */
	const char	*headers;	/* more lines ending in CRLF, or NULL */
	const char	*body;		/* NULL: none */
	size_t		 len;		/* of body; 0: strlen(body) */
};

struct http_resp {
	int	 status;	/* 0: no complete answer */
	char	*raw;		/* all bytes received, NUL-terminated */
	size_t	 head_len;	/* status line and headers, up to CRLFCRLF */
	char	*body;		/* into raw */
	size_t	 body_len;
	json_t	*json;		/* the body, when it is a JSON value */
};

/* The flags most tests run with: no rate limits in the way. */
extern const char *const open_flags[];

const char *scanapi_bin(void);

const char *web_dir(void);

const char *web_assets_dir(void);

/* The region data the server loads (make check sets an absolute path). */
const char *regions_file(void);

/* Runs bin with the NULL-terminated arguments; returns the exit status. */
int run(const char *bin, char **out, char **err, ...);

/* Reads codes.csv-like lines "serial,code,url" after a header. */
void read_codes(const char *dir, const char *file, struct batch *b);

void read_batch_id(const char *dir, char id[33]);

/*
 * Mints count codes of kind from keyring kr into parent/name; extra is a
 * NULL-terminated list of more flags (or NULL). Fills b when not NULL.
 */
char *mint(const char *kr, const char *parent, const char *name,
    const char *kind, int count, const char *const *extra, struct batch *b);

void keygen(const char *kr);

void import(const char *db, const char *kr, const char *dir);

/* Creates a token with the CLI; returns its id, the secret in out. */
long long token_create(const char *db, const char *role,
    const char *dealer, char *out, size_t len);

/* Copies a file, and its mode. */
void copy_file(const char *from, const char *to);

int exists(const char *path);

/*
 * Starts yima-scanapi serve on the test's database, with the NULL-
 * terminated extra flags (or NULL); waits (10 s at most) for its port.
 */
void srv_start(const char *const *extra);
/* Starts the program and arguments of args (NULL-terminated), from cwd
 * (NULL: this one), and waits for its port as srv_start does. */
void srv_exec(const char *const *args, const char *cwd);
/*
 * In a child forked from parent (its getpid()), before exec: dies with the
 * parent, stderr to errpath, stdin and stdout /dev/null. 0, or -1 (exit).
 */
int srv_child(pid_t parent, const char *errpath);

/*
 * At the exit of a test process (a failed assertion exits at once):
 * shows what the servers reported under a sanitizer, which would
 * otherwise go with the temporary directory.
 */
void show_server_reports(void);

/* Waits up to secs for pid; its status, or -1 if it is still running. */
int wait_exit(pid_t pid, int secs);

/* Sends SIGTERM without waiting (see srv_wait_stopped). */
void srv_stop_async(void);

/* Waits (15 s at most) for a server told to stop to exit 0. */
void srv_wait_stopped(void);

void srv_stop(void);

int http_connect(int port);

int send_all(int fd, const char *p, size_t n);

/* Sends one request with Connection: close. 0 or -1. */
int http_send(int fd, const struct http_req *q);

void http_free(struct http_resp *p);

/* Copies header name's first value into out; 1 if found. */
int http_header(const struct http_resp *p, const char *name, char *out,
    size_t len);

/* Reads the answer to EOF and parses it. 0, or -1 with p->status 0. */
int http_recv(int fd, struct http_resp *p);

/* One request on a new connection; returns the status (0: none). */
int http(int port, const struct http_req *q, struct http_resp *p);

int get(const char *path, const char *headers, struct http_resp *p);

int post(const char *path, const char *token, const char *body,
    struct http_resp *p);

/* POSTs obj (consumed) to /api/v1/scans. */
int scan_obj(json_t *obj, const char *headers, struct http_resp *p);

/* Scans code, as consumer cid when not NULL. */
int scan(const char *code, const char *cid, struct http_resp *p);

/* Scans code at a place, as consumer cid when not NULL. */
int scan_at(const char *code, const char *cid, double lat, double lon,
    struct http_resp *p);

/* The value at a dotted path ("first_scan.at"), or NULL. */
json_t *jget(json_t *o, const char *path);

const char *jstr(json_t *o, const char *path);

/* The integer at path; fails the test if there is none. */
long long jint(json_t *o, const char *path);

int is_hex(const char *s, size_t len);

/* An error answer: status, JSON {"error":{"code","message"}}. */
void assert_error(const struct http_resp *p, int status, const char *what);
/* Calls (see call()) and checks the call is refused with status. */
void refused(const char *method, const char *path, const char *token,
    json_t *obj, int status, const char *what);

sqlite3 *db_open(void);

/* The environment's k, or def when unset or empty. */
const char *env_or(const char *k, const char *def);

/*
 * Checks an EPCIS 2.0 document file with tests/epcis_check.mjs: GS1's
 * schema, the JSON-LD context, and each eventID against epcis2.js.
 */
void epcis_valid(const char *file);

/* A batch's manifest.json text (caller frees). */
char *manifest_of(const char *dir);

/* Codes one test mints and imports, any number of them. */
struct goods {
	char		*dir;
	char		(*codes)[25];
	char		(*urls)[128];	/* /C/ or Digital Link */
	long long	*serials;
	int		 n;
};

/* Mints count codes of kind (more flags: extra) and imports them. */
void goods_mint_with(const char *kind, int count, const char *const *extra,
    struct goods *g);
void goods_mint(const char *kind, int count, struct goods *g);
void goods_free(struct goods *g);
/* A JSON array of the n codes of g from i. */
json_t *codes_json(const struct goods *g, int i, int n);
/* The same as their URLs (what a Digital Link code is printed as). */
json_t *urls_json(const struct goods *g, int i, int n);

long long db_int(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

long long nscans(void);

/* Everything a request could change, as one comparable string. */
char *db_fingerprint(void);

void msleep(int ms);

double mono_s(void);
/*
 * Runs scripts/simulate.py (seed, alert level 1 threshold) against the
 * running server and returns its plan: what it planted and its scan log.
 */
json_t *simulate(const char *seed, const char *level1);
/* The same with more of simulate.py's flags (NULL-terminated). */
json_t *simulate_with(const char *seed, const char *level1,
    const char *const *extra);

void case_setup(void);

/* A test case with the fixtures above and a timeout in seconds. */
struct TCase;
struct TCase *srv_tcase(const char *name, int timeout);

void case_teardown(void);

void test_setup(void);

void test_teardown(void);

/* One request; obj (consumed, may be NULL) is the JSON body. */
int call(const char *method, const char *path, const char *token, json_t *obj,
    struct http_resp *p);

/*
 * Opens /c/CODE of the test's server in headless Chromium with the
 * language; returns the DOM after its scripts ran (malloc'd).
 */
char *browse(const char *lang, const char *code);

/* The text of the element with id="vt" in a dumped DOM. */
void verdict_title(const char *dom, char *out, size_t len);

/* PUT a territory: regions comma-separated ("" for none). */
int territory_put(const char *id, const char *regions, struct http_resp *p);
/* Adds a dealer (parent and territory may be NULL); must succeed. */
void dealer_add(const char *id, const char *type, const char *parent,
    const char *regions);

/*
 * Fetches a CSV route and checks it: RFC 4180 records of as many cells
 * as kinds has letters ('t' text, 'n' a number, '?' a number or empty),
 * a header first, at least one row, and no cell a spreadsheet would run
 * as a formula (= + - @ tab or CR first). Returns how many rows have
 * want (unquoted, e.g. "'-A1") in column want_col (want may be NULL).
 */
int csv_check(const char *path, const char *token, const char *kinds,
    const char *want, int want_col);

/* The value of one /metrics line ("name{labels}") in text, or -1. */
double metric(const char *text, const char *name);

/* Creates a campaign from JSON text; must answer 201. Returns its id. */
long long campaign(const char *json);
/* A request as consumer cid (X-Yima-Consumer); body may be NULL. */
int as_consumer(const char *method, const char *path, const char *cid,
    const char *body, struct http_resp *p);

/* The Digital Link S of an item of b1, with the fixture's keyring. */
void dl_serial(long long serial, char s[21]);

#endif /* YIMA_SRVUTIL_H */
