/* SPDX-License-Identifier: Apache-2.0 */
/* The server-test kit: see srvutil.h. */
#define _GNU_SOURCE	/* asprintf, vasprintf, prctl, MSG_NOSIGNAL */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "yima/dl.h"
#include "yima/err.h"
#include "yima/keyring.h"

#include "srvutil.h"
#include "testutil.h"

struct su_fixture T;

struct su_env E;

int http_timeout = 10;

/* ---- processes and files ---- */

const char *
scanapi_bin(void)
{
	const char *p = getenv("YIMA_SCANAPI");

	return p != NULL ? p : "build/yima-scanapi";
}

const char *
web_dir(void)
{
	const char *p = getenv("YIMA_WEB");

	return p != NULL ? p : "scanapi/web";
}

/* ECharts and the map (make check sets an absolute path). */
const char *
web_assets_dir(void)
{
	const char *p = getenv("YIMA_WEB_ASSETS");

	return p != NULL ? p : "assets/web";
}

/* The region data the server loads (make check sets an absolute path). */
const char *
regions_file(void)
{
	const char *p = getenv("YIMA_REGIONS");

	return p != NULL ? p : "assets/regions.txt";
}

/* Runs bin with the NULL-terminated arguments; returns the exit status. */
int
run(const char *bin, char **out, char **err, ...)
{
	char *argv[ARGS_MAX + 2];
	const char *a;
	va_list ap;
	int n = 1, rc, i;

	ck_assert_ptr_nonnull(argv[0] = strdup(bin));
	va_start(ap, err);
	while ((a = va_arg(ap, const char *)) != NULL) {
		ck_assert_int_lt(n, ARGS_MAX);
		ck_assert_ptr_nonnull(argv[n] = strdup(a));
		n++;
	}
	va_end(ap);
	argv[n] = NULL;
	rc = tu_run(argv, out, err);
	for (i = 0; i < n; i++)
		free(argv[i]);
	return rc;
}

/* Reads codes.csv-like lines "serial,code,url" after a header. */
void
read_codes(const char *dir, const char *file, struct batch *b)
{
	char *path, *csv, *line, *save, *f, *g;

	path = tu_path(dir, file);
	ck_assert_msg((csv = tu_read_file(path, NULL)) != NULL, "read %s",
	    path);
	line = strtok_r(csv, "\n", &save);
	ck_assert_ptr_nonnull(line);
	b->n = 0;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL && b->n < NB1) {
		ck_assert_ptr_nonnull(f = strchr(line, ','));
		ck_assert_ptr_nonnull(g = strchr(f + 1, ','));
		ck_assert_int_eq((int)(g - f - 1), 24);
		b->serials[b->n] = strtoll(line, NULL, 10);
		memcpy(b->codes[b->n], f + 1, 24);
		b->codes[b->n][24] = '\0';
		snprintf(b->urls[b->n], sizeof(b->urls[0]), "%s", g + 1);
		b->n++;
	}
	free(csv);
	free(path);
}

void
read_batch_id(const char *dir, char id[33])
{
	json_error_t jerr;
	json_t *m;
	char *path;

	path = tu_path(dir, "manifest.json");
	m = json_load_file(path, 0, &jerr);
	ck_assert_msg(m != NULL, "%s: %s", path, jerr.text);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(m, "batch")));
	snprintf(id, 33, "%s", json_string_value(json_object_get(m, "batch")));
	ck_assert_uint_eq(strlen(id), 32);
	json_decref(m);
	free(path);
}

/*
 * Mints count codes of kind from keyring kr into parent/name; extra is a
 * NULL-terminated list of more flags (or NULL). Fills b when not NULL.
 */
char *
mint(const char *kr, const char *parent, const char *name, const char *kind,
    int count, const char *const *extra, struct batch *b)
{
	const char *x[11] = { NULL };
	char num[16], *dir, *err;
	int rc, i;

	for (i = 0; extra != NULL && extra[i] != NULL; i++) {
		ck_assert_int_lt(i, 10);
		x[i] = extra[i];
	}
	snprintf(num, sizeof(num), "%d", count);
	dir = tu_path(parent, name);
	rc = run(tu_codegen(), NULL, &err, "mint", "--keyring", kr, "--kind",
	    kind, "--count", num, "--domain", DOMAIN, "--out", dir,
	    "--no-sync", x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8],
	    x[9], (char *)NULL);
	ck_assert_msg(rc == 0, "mint exited %d: %s", rc, err);
	free(err);
	if (b != NULL) {
		b->dir = strdup(dir);
		read_batch_id(dir, b->id);
		read_codes(dir, "codes.csv", b);
	}
	return dir;
}

void
keygen(const char *kr)
{
	char *err;
	int rc;

	rc = run(tu_codegen(), NULL, &err, "keygen", "--keyring", kr,
	    (char *)NULL);
	ck_assert_msg(rc == 0, "keygen exited %d: %s", rc, err);
	free(err);
}

void
import(const char *db, const char *kr, const char *dir)
{
	char *m, *err;
	int rc;

	m = tu_path(dir, "manifest.json");
	rc = run(scanapi_bin(), NULL, &err, "import", "--db", db, "--keyring",
	    kr, m, (char *)NULL);
	ck_assert_msg(rc == 0, "import exited %d: %s", rc, err);
	free(err);
	free(m);
}

/* Creates a token with the CLI; returns its id, the secret in out. */
long long
token_create(const char *db, const char *role, const char *dealer, char *out,
    size_t len)
{
	char *o, *err, *p;
	long long id;
	int rc;

	if (dealer != NULL)
		rc = run(scanapi_bin(), &o, &err, "token", "create", "--db", db,
		    "--role", role, "--dealer", dealer, (char *)NULL);
	else
		rc = run(scanapi_bin(), &o, &err, "token", "create", "--db", db,
		    "--role", role, (char *)NULL);
	ck_assert_msg(rc == 0, "token create exited %d: %s", rc, err);
	if ((p = strchr(o, '\n')) != NULL)
		*p = '\0';
	ck_assert_uint_gt(strlen(o), 16);
	ck_assert_uint_lt(strlen(o), len);
	snprintf(out, len, "%s", o);
	ck_assert_msg(sscanf(err, "token %lld", &id) == 1, "stderr: %s", err);
	free(o);
	free(err);
	return id;
}

void
copy_file(const char *from, const char *to)
{
	struct stat st;
	char *data;
	size_t n;

	ck_assert_msg((data = tu_read_file(from, &n)) != NULL, "read %s", from);
	ck_assert_int_eq(tu_write_file(to, data, n), 0);
	free(data);
	/* The same mode: a database copied 0644 would be refused. */
	ck_assert_int_eq(stat(from, &st), 0);
	ck_assert_int_eq(chmod(to, st.st_mode & 07777), 0);
}

int
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* ---- the server ---- */

int
srv_child(pid_t parent, const char *errpath)
{
	int fd;

	/* Never outlive the test, even when an assertion ends it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		return -1;
	if ((fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
	    dup2(fd, 2) < 0)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) < 0 || dup2(fd, 0) < 0 ||
	    dup2(fd, 1) < 0)
		return -1;
	/*
	 * An abort explains itself in that file: glibc's fatal messages go
	 * to stderr, not the terminal, and a sanitized server prints the
	 * stack of a SIGABRT (one was seen once, silent, at a stop).
	 */
	setenv("LIBC_FATAL_STDERR_", "1", 1);
	if (getenv("ASAN_OPTIONS") == NULL)
		setenv("ASAN_OPTIONS", "handle_abort=1", 1);
	return 0;
}

/*
 * Starts yima-scanapi serve on the test's database, with the NULL-
 * terminated extra flags (or NULL); waits (10 s at most) for its port.
 */
void
srv_start(const char *const *extra)
{
	const char *argv[ARGS_MAX + 2];
	const char *base[] = { scanapi_bin(), "serve", "--db", E.db,
	    "--keyring", T.kr, "--listen", "127.0.0.1:0", "--web", web_dir(),
	    "--log", E.log, "--regions", regions_file(), "--web-assets",
	    web_assets_dir(), NULL };
	int n = 0, i;

	for (i = 0; base[i] != NULL; i++)
		argv[n++] = base[i];
	for (i = 0; extra != NULL && extra[i] != NULL; i++) {
		ck_assert_int_lt(n, ARGS_MAX);
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	srv_exec(argv, NULL);
}

void
srv_exec(const char *const *args, const char *cwd)
{
	char *argv[ARGS_MAX + 2], *errpath, *text;
	const char *p;
	pid_t parent = getpid(), pid;
	int n, i, status, port = 0;
	struct timespec t0, t1;

	ck_assert_int_eq(E.pid, 0);
	for (n = 0; args[n] != NULL; n++) {
		ck_assert_int_lt(n, ARGS_MAX);
		argv[n] = strdup(args[n]);
	}
	argv[n] = NULL;
	ck_assert(asprintf(&errpath, "%s/serve.%d.err", E.dir, ++E.starts) >
	    0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		if (srv_child(parent, errpath) == 0 &&
		    (cwd == NULL || chdir(cwd) == 0))
			execv(argv[0], argv);
		_exit(127);
	}
	for (i = 0; i < n; i++)
		free(argv[i]);
	E.pid = pid;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		text = tu_read_file(errpath, NULL);
		if (text != NULL && (p = strstr(text, "(port ")) != NULL &&
		    strchr(p, '\n') != NULL)
			port = atoi(p + 6);
		if (port > 0) {
			ck_assert_msg(strstr(text, "listening on") != NULL,
			    "stderr: %s", text);
			free(text);
			break;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			E.pid = 0;
			ck_abort_msg("serve exited early (status %d): %s",
			    status, text != NULL ? text : "");
		}
		free(text);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 10)
			ck_abort_msg("serve did not print its port in 10 s");
		usleep(10000);
	}
	free(errpath);
	E.port = port;
}

/*
 * At the exit of a test process (a failed assertion exits at once):
 * shows what the servers reported under a sanitizer, which would
 * otherwise go with the temporary directory.
 */
void
show_server_reports(void)
{
	char path[4096], *text;
	int i;

	for (i = 1; E.dir != NULL && i <= E.starts; i++) {
		snprintf(path, sizeof(path), "%s/serve.%d.err", E.dir, i);
		if ((text = tu_read_file(path, NULL)) == NULL)
			continue;
		if (strstr(text, "Sanitizer") != NULL ||
		    strstr(text, "runtime error") != NULL)
			fprintf(stderr, "---- yima-scanapi stderr (start %d) "
			    "----\n%s\n", i, text);
		free(text);
	}
}

/* Waits up to secs for pid; its status, or -1 if it is still running. */
int
wait_exit(pid_t pid, int secs)
{
	int status, i;

	for (i = 0; i < secs * 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(10000);
	}
	return -1;
}

/* SIGTERM; the server must exit 0 within 15 s. */
/* Sends SIGTERM without waiting (see srv_wait_stopped). */
void
srv_stop_async(void)
{
	ck_assert_int_gt(E.pid, 0);
	ck_assert_int_eq(kill(E.pid, SIGTERM), 0);
}

/* Waits (15 s at most) for a server told to stop to exit 0. */
void
srv_wait_stopped(void)
{
	int status = wait_exit(E.pid, 15);

	if (status == -1) {
		kill(E.pid, SIGKILL);
		waitpid(E.pid, NULL, 0);
		E.pid = 0;
		ck_abort_msg("serve did not exit within 15 s of SIGTERM");
	}
	E.pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char path[4096], *text;
		size_t n;

		/* What the server said last: an abort explains itself there. */
		snprintf(path, sizeof(path), "%s/serve.%d.err", E.dir,
		    E.starts);
		text = tu_read_file(path, NULL);
		n = text != NULL ? strlen(text) : 0;
		ck_abort_msg("serve ended with status 0x%x after SIGTERM, not "
		    "exit 0; its stderr ends: %s", status, text == NULL ? "" :
		    text + (n > 1500 ? n - 1500 : 0));
	}
}

void
srv_stop(void)
{
	srv_stop_async();
	srv_wait_stopped();
}

/* ---- a small blocking HTTP/1.1 client (thread-safe, no assertions) ---- */



int
http_connect(int port)
{
	struct sockaddr_in sa;
	struct timeval tv;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	tv.tv_sec = http_timeout;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sends one request with Connection: close. 0 or -1. */
int
http_send(int fd, const struct http_req *q)
{
	char *head = NULL, auth[160] = "", ct[160] = "";
	size_t len = q->body == NULL ? 0 : q->len ? q->len : strlen(q->body);
	int rc;

	if (q->token != NULL)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n",
		    q->token);
	if (q->ctype != NULL)
		snprintf(ct, sizeof(ct), "Content-Type: %s\r\n", q->ctype);
	if (q->body != NULL)
		rc = asprintf(&head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "Connection: close\r\n%s%sContent-Length: %zu\r\n%s\r\n",
		    q->method, q->path, auth, ct, len,
		    q->headers ? q->headers : "");
	else
		rc = asprintf(&head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "Connection: close\r\n%s%s%s\r\n", q->method, q->path, auth,
		    ct, q->headers ? q->headers : "");
	if (rc < 0)
		return -1;
	rc = send_all(fd, head, strlen(head));
	free(head);
	/* The server may answer (413) before reading all: read anyway. */
	if (rc == 0 && len > 0)
		(void)send_all(fd, q->body, len);
	return rc;
}

void
http_free(struct http_resp *p)
{
	free(p->raw);
	json_decref(p->json);
	memset(p, 0, sizeof(*p));
}

/* Copies header name's first value into out; 1 if found. */
int
http_header(const struct http_resp *p, const char *name, char *out,
    size_t len)
{
	const char *line, *end, *v;
	size_t n = strlen(name);

	if (p->raw == NULL)
		return 0;
	line = strstr(p->raw, "\r\n");
	while (line != NULL && (size_t)(line - p->raw) < p->head_len) {
		line += 2;
		if ((end = strstr(line, "\r\n")) == NULL || end == line)
			break;
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			v = line + n + 1;
			while (*v == ' ')
				v++;
			snprintf(out, len, "%.*s", (int)(end - v), v);
			return 1;
		}
		line = end;
	}
	return 0;
}

static int
recv_answer(int fd, struct http_resp *p, int head)
{
	char *buf = NULL, *nb, *sep, cl[32], ct[128];
	size_t cap = 0, n = 0;
	ssize_t r;

	memset(p, 0, sizeof(*p));
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 16384;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				return -1;
			}
			buf = nb;
		}
		r = recv(fd, buf + n, cap - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (buf == NULL)
		return -1;
	buf[n] = '\0';
	p->raw = buf;
	if (n < 12 || strncmp(buf, "HTTP/1.", 7) != 0 ||
	    (sep = strstr(buf, "\r\n\r\n")) == NULL)
		return -1;
	p->head_len = (size_t)(sep - buf) + 2;
	p->body = sep + 4;
	p->body_len = n - (size_t)(p->body - buf);
	/* A HEAD's answer says the length of the body it leaves out. */
	if (!head && http_header(p, "Content-Length", cl, sizeof(cl)) &&
	    strtoull(cl, NULL, 10) != p->body_len)
		return -1;	/* cut short */
	p->status = atoi(buf + 9);
	if (http_header(p, "Content-Type", ct, sizeof(ct)) &&
	    (strncmp(ct, "application/json", 16) == 0 ||
	    strncmp(ct, "application/linkset+json", 24) == 0))
		p->json = json_loadb(p->body, p->body_len, JSON_DECODE_ANY,
		    NULL);
	return 0;
}

/* Reads the answer to EOF and parses it. 0, or -1 with p->status 0. */
int
http_recv(int fd, struct http_resp *p)
{
	return recv_answer(fd, p, 0);
}

/* One request on a new connection; returns the status (0: none). */
int
http(int port, const struct http_req *q, struct http_resp *p)
{
	int fd;

	memset(p, 0, sizeof(*p));
	if ((fd = http_connect(port)) < 0)
		return 0;
	if (http_send(fd, q) == 0)
		(void)recv_answer(fd, p, strcmp(q->method, "HEAD") == 0);
	close(fd);
	return p->status;
}

/* ---- request helpers for the test's server (main thread) ---- */

int
get(const char *path, const char *headers, struct http_resp *p)
{
	struct http_req q = { "GET", path, NULL, NULL, headers, NULL, 0 };

	return http(E.port, &q, p);
}

int
post(const char *path, const char *token, const char *body,
    struct http_resp *p)
{
	struct http_req q = { "POST", path, "application/json", token, NULL,
	    body, 0 };

	return http(E.port, &q, p);
}

/* POSTs obj (consumed) to /api/v1/scans. */
int
scan_obj(json_t *obj, const char *headers, struct http_resp *p)
{
	struct http_req q = { "POST", "/api/v1/scans", "application/json",
	    NULL, headers, NULL, 0 };
	char *body;
	int st;

	ck_assert_ptr_nonnull(obj);
	ck_assert_ptr_nonnull(body = json_dumps(obj, JSON_COMPACT));
	json_decref(obj);
	q.body = body;
	st = http(E.port, &q, p);
	free(body);
	return st;
}

/* Scans code, as consumer cid when not NULL. */
int
scan(const char *code, const char *cid, struct http_resp *p)
{
	json_t *o = json_pack("{s:s}", "code", code);

	if (cid != NULL)
		json_object_set_new(o, "consumer", json_string(cid));
	return scan_obj(o, NULL, p);
}

/* Scans code at a place, as consumer cid when not NULL. */
int
scan_at(const char *code, const char *cid, double lat, double lon,
    struct http_resp *p)
{
	json_t *o = json_pack("{s:s,s:f,s:f}", "code", code, "lat", lat,
	    "lon", lon);

	if (cid != NULL)
		json_object_set_new(o, "consumer", json_string(cid));
	return scan_obj(o, NULL, p);
}

/* ---- JSON ---- */

/* The value at a dotted path ("first_scan.at"), or NULL. */
json_t *
jget(json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	/* A number is an index into a list: "links.0.rel". */
	while (o != NULL && (dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_is_array(o) ? json_array_get(o, strtoul(key, NULL,
		    10)) : json_object_get(o, key);
		path = dot + 1;
	}
	if (json_is_array(o))
		return json_array_get(o, strtoul(path, NULL, 10));
	return o != NULL ? json_object_get(o, path) : NULL;
}

const char *
jstr(json_t *o, const char *path)
{
	return json_string_value(jget(o, path));
}

/* The integer at path; fails the test if there is none. */
long long
jint(json_t *o, const char *path)
{
	json_t *v = jget(o, path);

	ck_assert_msg(json_is_integer(v), "\"%s\" is not an integer", path);
	return (long long)json_integer_value(v);
}

int
is_hex(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* An error answer: status, JSON {"error":{"code","message"}}. */
void
assert_error(const struct http_resp *p, int status, const char *what)
{
	ck_assert_msg(p->status == status, "%s: status %d, want %d: %s", what,
	    p->status, status, p->body ? p->body : "(no answer)");
	ck_assert_msg(json_is_object(p->json), "%s: body is not a JSON "
	    "object: %s", what, p->body);
	ck_assert_msg(jstr(p->json, "error.code") != NULL &&
	    jstr(p->json, "error.code")[0] != '\0', "%s: no error.code: %s",
	    what, p->body);
	ck_assert_msg(jstr(p->json, "error.message") != NULL, "%s: no "
	    "error.message: %s", what, p->body);
}

void
refused(const char *method, const char *path, const char *token,
    json_t *obj, int status, const char *what)
{
	struct http_resp p;

	call(method, path, token, obj, &p);
	assert_error(&p, status, what);
	http_free(&p);
}

/* ---- the database, read directly ---- */

sqlite3 *
db_open(void)
{
	sqlite3 *db = NULL;

	ck_assert_msg(sqlite3_open_v2(E.db, &db, SQLITE_OPEN_READWRITE, NULL)
	    == SQLITE_OK, "open %s", E.db);
	sqlite3_busy_timeout(db, 10000);
	return db;
}

/* The integer the query (a printf format) answers; -1 for no row. */

long long
db_int(const char *fmt, ...)
{
	sqlite3 *db = db_open();
	sqlite3_stmt *s = NULL;
	long long v = -1;
	va_list ap;
	char *sql;
	int rc;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&sql, fmt, ap), 0);
	va_end(ap);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	rc = sqlite3_step(s);
	ck_assert_msg(rc == SQLITE_ROW || rc == SQLITE_DONE, "%s: %s", sql,
	    sqlite3_errmsg(db));
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	free(sql);
	return v;
}

long long
nscans(void)
{
	return db_int("SELECT COUNT(*) FROM scans");
}

/* Everything a request could change, as one comparable string. */
char *
db_fingerprint(void)
{
	sqlite3 *db = db_open();
	sqlite3_stmt *s = NULL;
	char *out;

	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT"
	    " (SELECT COUNT(*) FROM scans),"
	    " (SELECT IFNULL(MAX(id), 0) FROM scans),"
	    " (SELECT COUNT(*) FROM batches),"
	    " (SELECT COUNT(*) FROM serial_ranges),"
	    " (SELECT COUNT(*) FROM revocations),"
	    " (SELECT COUNT(*) FROM code_state),"
	    " (SELECT IFNULL(SUM(scans), 0) FROM code_state),"
	    " (SELECT COUNT(*) FROM tokens WHERE revoked_at IS NULL)",
	    -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert(asprintf(&out, "scans %lld max %lld batches %lld ranges "
	    "%lld revocations %lld states %lld state-scans %lld tokens %lld",
	    (long long)sqlite3_column_int64(s, 0),
	    (long long)sqlite3_column_int64(s, 1),
	    (long long)sqlite3_column_int64(s, 2),
	    (long long)sqlite3_column_int64(s, 3),
	    (long long)sqlite3_column_int64(s, 4),
	    (long long)sqlite3_column_int64(s, 5),
	    (long long)sqlite3_column_int64(s, 6),
	    (long long)sqlite3_column_int64(s, 7)) > 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return out;
}

void
msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- fixtures ---- */

TCase *
srv_tcase(const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_set_timeout(tc, timeout);
	return tc;
}

void
case_setup(void)
{
	static const char *const prod[] = { "--gtin", GTIN, "--lot", LOT,
	    "--mfg", MFG, "--expiry", EXPIRY, NULL };
	static const char *const inner[] = { "--inner", NULL };
	char *ib;
	long long dummy;

	memset(&T, 0, sizeof(T));
	T.root = tu_mkdtemp();
	T.kr = tu_path(T.root, "kr");
	T.db = tu_path(T.root, "template.db");
	keygen(T.kr);
	free(mint(T.kr, T.root, "b1", "item", NB1, prod, &T.b1));
	free(mint(T.kr, T.root, "b2", "item", NB2, NULL, &T.b2));
	ib = mint(T.kr, T.root, "bi", "item", NSMALL, inner, NULL);
	read_codes(ib, "inner.csv", &T.inner);
	read_batch_id(ib, T.inner.id);
	T.inner.dir = ib;
	free(mint(T.kr, T.root, "ch", "channel", NSMALL, NULL, &T.ch));
	import(T.db, T.kr, T.b1.dir);
	import(T.db, T.kr, T.inner.dir);
	import(T.db, T.kr, T.ch.dir);
	dummy = token_create(T.db, "admin", NULL, T.admin, sizeof(T.admin));
	dummy += token_create(T.db, "ops", NULL, T.ops, sizeof(T.ops));
	dummy += token_create(T.db, "dealer", "D-42", T.dealer,
	    sizeof(T.dealer));
	ck_assert_int_gt(dummy, 0);
}

void
case_teardown(void)
{
	tu_rmtree(T.root);
	free(T.root);
	free(T.kr);
	free(T.db);
	free(T.b1.dir);
	free(T.b2.dir);
	free(T.inner.dir);
	free(T.ch.dir);
	memset(&T, 0, sizeof(T));
}

void
test_setup(void)
{
	static int hooked;
	char *wal_from, *wal_to;

	if (!hooked++)
		atexit(show_server_reports);
	memset(&E, 0, sizeof(E));
	E.dir = tu_path(T.root, "t.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(E.dir));
	E.db = tu_path(E.dir, "scan.db");
	E.log = tu_path(E.dir, "requests.log");
	copy_file(T.db, E.db);
	ck_assert(asprintf(&wal_from, "%s-wal", T.db) > 0);
	ck_assert(asprintf(&wal_to, "%s-wal", E.db) > 0);
	if (exists(wal_from))
		copy_file(wal_from, wal_to);
	free(wal_from);
	free(wal_to);
	http_timeout = 10;
}

void
test_teardown(void)
{
	if (E.pid > 0) {
		kill(E.pid, SIGKILL);
		waitpid(E.pid, NULL, 0);
	}
	free(E.dir);
	free(E.db);
	free(E.log);
	memset(&E, 0, sizeof(E));
}

/* The flags most tests run with: no rate limits in the way. */
const char *const open_flags[] = { "--ip-rate", "0",
    "--consumer-rate", "1000", NULL };


/* One request; obj (consumed, may be NULL) is the JSON body. */
int
call(const char *method, const char *path, const char *token, json_t *obj,
    struct http_resp *p)
{
	struct http_req q = { method, path, NULL, token, NULL, NULL, 0 };
	char *body = NULL;
	int st;

	if (obj != NULL) {
		ck_assert_ptr_nonnull(body = json_dumps(obj, JSON_COMPACT));
		json_decref(obj);
		q.ctype = "application/json";
		q.body = body;
	}
	st = http(E.port, &q, p);
	free(body);
	return st;
}

/* ---- the landing page in a real headless Chromium ---- */

char *
browse(const char *lang, const char *code)
{
	char url[256], langarg[64], profile[4096 + 32], *out = NULL;
	char *argv[] = { "/usr/bin/chromium", "--headless", "--no-sandbox",
	    "--disable-gpu", "--disable-quic", "--no-first-run",
	    "--disable-background-networking", "--disable-component-update",
	    "--disable-sync", profile, langarg, "--window-size=360,740",
	    "--virtual-time-budget=15000", "--dump-dom", url, NULL };
	int rc;

	/* A code, or a path of its own (a Digital Link URI's). */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s%s", E.port,
	    code[0] == '/' ? "" : "/c/", code);
	snprintf(langarg, sizeof(langarg), "--accept-lang=%s", lang);
	snprintf(profile, sizeof(profile), "--user-data-dir=%s/chromium-%s",
	    E.dir, lang);
	rc = tu_run(argv, &out, NULL);
	ck_assert_msg(rc == 0, "chromium exited with %d (is it installed? "
	    "scripts/setup.sh installs it)", rc);
	return out;
}

/* The text of the element with id="vt" in a dumped DOM. */
void
verdict_title(const char *dom, char *out, size_t len)
{
	const char *p = strstr(dom, "id=\"vt\""), *a, *b;

	out[0] = '\0';
	if (p == NULL || (a = strchr(p, '>')) == NULL ||
	    (b = strchr(a, '<')) == NULL)
		return;
	snprintf(out, len, "%.*s", (int)(b - a - 1), a + 1);
}

/* ---- the supply chain ---- */

/* PUT a territory: regions comma-separated ("" for none). */
int
territory_put(const char *id, const char *regions, struct http_resp *p)
{
	char path[160], *list, *tok, *save;
	json_t *a = json_array();

	ck_assert_ptr_nonnull(list = strdup(regions));
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(tok));
	free(list);
	snprintf(path, sizeof(path), "/api/v1/admin/dealers/%s/territory", id);
	return call("PUT", path, T.admin, json_pack("{s:o}", "regions", a), p);
}

/* Adds a dealer (parent and territory may be NULL); must succeed. */
void
dealer_add(const char *id, const char *type, const char *parent,
    const char *regions)
{
	struct http_resp p;
	json_t *o = json_pack("{s:s,s:s,s:s}", "id", id, "name", id, "type",
	    type);

	if (parent != NULL)
		json_object_set_new(o, "parent", json_string(parent));
	ck_assert_msg(call("POST", "/api/v1/admin/dealers", T.admin, o, &p) ==
	    201, "dealer %s: %d %s", id, p.status, p.body);
	ck_assert_pstr_eq(jstr(p.json, "id"), id);
	http_free(&p);
	if (regions != NULL) {
		ck_assert_msg(territory_put(id, regions, &p) == 200,
		    "territory of %s: %d %s", id, p.status, p.body);
		http_free(&p);
	}
}

/* ---- CSV downloads ---- */

#define CELLS_MAX	16
#define CELL_MAX	160

/*
 * Reads one RFC 4180 record at *p into cells (quotes undone); returns
 * the number of cells and moves *p past its CRLF, or -1 when the text
 * is not CSV (a stray quote, a bare LF, a missing CRLF, too many cells).
 */
static int
csv_record(const char **p, char cells[CELLS_MAX][CELL_MAX])
{
	const char *s = *p;
	size_t o;
	int n = 0;

	for (;;) {
		if (n == CELLS_MAX)
			return -1;
		o = 0;
		if (*s == '"') {
			for (s++;; s++) {
				if (*s == '\0')
					return -1;
				if (*s == '"' && s[1] != '"')
					break;
				if (*s == '"')
					s++;
				if (o + 1 < CELL_MAX)
					cells[n][o++] = *s;
			}
			s++;
		} else
			for (; *s != ',' && *s != '\r' && *s != '\0'; s++) {
				if (*s == '"' || *s == '\n')
					return -1;
				if (o + 1 < CELL_MAX)
					cells[n][o++] = *s;
			}
		cells[n++][o] = '\0';
		if (*s == ',') {
			s++;
			continue;
		}
		if (s[0] != '\r' || s[1] != '\n')
			return -1;
		*p = s + 2;
		return n;
	}
}

/* A number as the service writes them: digits, maybe a dot. */
static int
csv_number(const char *cell)
{
	size_t n = strlen(cell);

	return n > 0 && strspn(cell, "0123456789.") == n &&
	    strchr(cell, '.') == strrchr(cell, '.');
}

int
csv_check(const char *path, const char *token, const char *kinds,
    const char *want, int want_col)
{
	char cells[CELLS_MAX][CELL_MAX];
	struct http_resp p;
	const char *s;
	int n, i, ncols = (int)strlen(kinds), found = 0, rows = 0;

	ck_assert_msg(call("GET", path, token, NULL, &p) == 200, "%s: %d %s",
	    path, p.status, p.body);
	ck_assert_ptr_nonnull(strstr(p.raw, "Content-Type: text/csv"));
	s = p.body;
	ck_assert_int_eq(csv_record(&s, cells), ncols);
	while (*s != '\0') {
		n = csv_record(&s, cells);
		ck_assert_msg(n == ncols, "%s: a record of %d cells, not %d: "
		    "%s", path, n, ncols, p.body);
		rows++;
		for (i = 0; i < n; i++) {
			ck_assert_msg(cells[i][0] == '\0' ||
			    strchr("=+-@\t\r", cells[i][0]) == NULL,
			    "%s: cell %d is a formula: %s", path, i, cells[i]);
			ck_assert_msg(kinds[i] == 't' || csv_number(cells[i]) ||
			    (kinds[i] == '?' && cells[i][0] == '\0'),
			    "%s: cell %d is not a number: %s", path, i,
			    cells[i]);
		}
		found += want != NULL && strcmp(cells[want_col], want) == 0;
	}
	ck_assert_msg(rows > 0, "%s: no rows", path);
	http_free(&p);
	return found;
}

/* The python3 to run scripts with, and where simulate.py is. */
static void
python_argv(char **argv, int *n, char **script)
{
	const char *data = getenv("YIMA_TEST_DATA");
	const char *sim = getenv("YIMA_SIMULATE");

	if (access("/usr/bin/python3", X_OK) == 0)
		argv[(*n)++] = strdup("/usr/bin/python3");
	else {
		argv[(*n)++] = strdup("/usr/bin/env");
		argv[(*n)++] = strdup("python3");
	}
	if (sim != NULL)
		*script = strdup(sim);
	else if (data != NULL)
		ck_assert(asprintf(script, "%s/../../scripts/simulate.py",
		    data) > 0);
	else
		*script = strdup("scripts/simulate.py");
	argv[(*n)++] = *script;
}

json_t *
simulate(const char *seed, const char *level1)
{
	return simulate_with(seed, level1, NULL);
}

json_t *
simulate_with(const char *seed, const char *level1,
    const char *const *extra)
{
	char *argv[ARGS_MAX], *script, *out, *err, *planpath, *work, url[64];
	json_error_t jerr;
	json_t *plan;
	double t0;
	int n = 0, rc, k;

	python_argv(argv, &n, &script);
	planpath = tu_path(E.dir, "plan.json");
	work = tu_path(E.dir, "sim");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", E.port);
	{
		const char *rest[] = { "--scanapi-url", url, "--admin-token",
		    T.admin, "--ops-token", T.ops, "--codegen", tu_codegen(),
		    "--keyring", T.kr, "--scanapi", scanapi_bin(), "--db",
		    E.db, "--workdir", work, "--seed", seed, "--out", planpath,
		    "--alert-level1", level1, "--regions", regions_file(),
		    NULL };

		for (k = 0; rest[k] != NULL; k++)
			argv[n++] = strdup(rest[k]);
	}
	for (k = 0; extra != NULL && extra[k] != NULL && n < ARGS_MAX - 1; k++)
		argv[n++] = strdup(extra[k]);
	argv[n] = NULL;
	t0 = mono_s();
	rc = tu_run(argv, &out, &err);
	ck_assert_msg(rc == 0, "simulate.py exited %d: %s%s", rc, out, err);
	ck_assert_msg(mono_s() - t0 < 30, "simulate.py took %.1f s",
	    mono_s() - t0);
	for (k = 0; k < n; k++)
		if (argv[k] != script)
			free(argv[k]);
	free(script);
	free(out);
	free(err);
	plan = json_load_file(planpath, 0, &jerr);
	ck_assert_msg(plan != NULL, "%s: %s", planpath, jerr.text);
	free(planpath);
	free(work);
	return plan;
}

double
metric(const char *text, const char *name)
{
	const char *p = text;
	size_t n = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

/* The Digital Link S of an item of b1, with the fixture's keyring. */
void
dl_serial(long long serial, char s[YIMA_DL_LEN + 1])
{
	struct yima_keyring *kr;
	char why[YIMA_WHY_MAX];
	unsigned id;

	ck_assert_msg(yima_keyring_open(T.kr, &kr, why) == 0, "%s", why);
	id = (unsigned)yima_keyring_active(kr);
	yima_dl_make(yima_keyring_mac(kr, id), YIMA_KIND_ITEM, id,
	    (uint64_t)serial, GTIN, s);
	yima_keyring_free(kr);
}

/* ---- goods a test mints and imports ---- */

char *
manifest_of(const char *dir)
{
	char *path, *text;

	path = tu_path(dir, "manifest.json");
	ck_assert_msg((text = tu_read_file(path, NULL)) != NULL, "%s", path);
	free(path);
	return text;
}


/* Mints count codes of kind into the test's directory; imports them. */
void
goods_mint_with(const char *kind, int count, const char *const *extra,
    struct goods *g)
{
	static int seq;
	struct http_resp p;
	char name[32], *path, *csv, *line, *save, *f, *u, *m;

	memset(g, 0, sizeof(*g));
	snprintf(name, sizeof(name), "%s.%d", kind, ++seq);
	g->dir = mint(T.kr, E.dir, name, kind, count, extra, NULL);
	ck_assert_ptr_nonnull(g->codes = calloc((size_t)count,
	    sizeof(*g->codes)));
	ck_assert_ptr_nonnull(g->urls = calloc((size_t)count,
	    sizeof(*g->urls)));
	ck_assert_ptr_nonnull(g->serials = calloc((size_t)count,
	    sizeof(*g->serials)));
	path = tu_path(g->dir, "codes.csv");
	ck_assert_ptr_nonnull(csv = tu_read_file(path, NULL));
	line = strtok_r(csv, "\n", &save);	/* the header */
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		ck_assert_int_lt(g->n, count);
		ck_assert_ptr_nonnull(f = strchr(line, ','));
		g->serials[g->n] = strtoll(line, NULL, 10);
		ck_assert_ptr_nonnull(u = strchr(f + 1, ','));
		snprintf(g->codes[g->n], sizeof(g->codes[0]), "%.*s",
		    (int)(u - f - 1), f + 1);
		snprintf(g->urls[g->n], sizeof(g->urls[0]), "%s", u + 1);
		g->n++;
	}
	ck_assert_int_eq(g->n, count);
	free(csv);
	free(path);
	m = manifest_of(g->dir);
	ck_assert_msg(post("/api/v1/batches", T.admin, m, &p) == 201,
	    "import %s: %d %s", kind, p.status, p.body);
	http_free(&p);
	free(m);
}

void
goods_mint(const char *kind, int count, struct goods *g)
{
	goods_mint_with(kind, count, NULL, g);
}

void
goods_free(struct goods *g)
{
	free(g->dir);
	free(g->codes);
	free(g->urls);
	free(g->serials);
	memset(g, 0, sizeof(*g));
}

/* A JSON array of the n codes of g from i. */
json_t *
codes_json(const struct goods *g, int i, int n)
{
	json_t *a = json_array();
	int k;

	for (k = 0; k < n; k++)
		json_array_append_new(a, json_string(g->codes[i + k]));
	return a;
}

json_t *
urls_json(const struct goods *g, int i, int n)
{
	json_t *a = json_array();
	int k;

	for (k = 0; k < n; k++)
		json_array_append_new(a, json_string(g->urls[i + k]));
	return a;
}

/* ---- the environment make check sets ---- */

const char *
env_or(const char *k, const char *def)
{
	const char *v = getenv(k);

	return v != NULL && v[0] != '\0' ? v : def;
}

/* ---- EPCIS documents ---- */


/* Runs the validators (schema, JSON-LD, event hash) on a document file. */
void
epcis_valid(const char *file)
{
	char *schema = tu_data("gs1/EPCIS-JSON-Schema.json");
	char *ctx = tu_data("gs1/epcis-context.jsonld"), *out = NULL,
	    *err = NULL;
	int rc;

	rc = run("/usr/bin/node", &out, &err, env_or("YIMA_EPCIS_CHECK",
	    "tests/epcis_check.mjs"), schema, ctx, file, NULL);
	ck_assert_msg(rc == 0, "%s does not pass (scripts/epcis.sh installs "
	    "the validators): %s %s", file, out ? out : "", err ? err : "");
	free(out);
	free(err);
	free(schema);
	free(ctx);
}


long long
campaign(const char *json)
{
	struct http_resp p;
	json_error_t jerr;
	json_t *o = json_loads(json, 0, &jerr);
	long long id;

	ck_assert_msg(o != NULL, "test JSON: %s", jerr.text);
	ck_assert_msg(call("POST", "/api/v1/admin/campaigns", T.admin, o, &p)
	    == 201, "campaign: %d %s", p.status, p.body);
	id = jint(p.json, "id");
	http_free(&p);
	return id;
}

int
as_consumer(const char *method, const char *path, const char *cid,
    const char *body, struct http_resp *p)
{
	struct http_req q = { method, path, body ? "application/json" : NULL,
	    NULL, NULL, body, 0 };
	char hdr[128];

	snprintf(hdr, sizeof(hdr), "X-Yima-Consumer: %.63s\r\n", cid);
	q.headers = hdr;
	return http(E.port, &q, p);
}
