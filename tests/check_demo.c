/* SPDX-License-Identifier: Apache-2.0 */
/*
 * make demo as a person runs it: on a terminal (a pty of the test's), its
 * instructions apart from the service's log, serving on the port it names,
 * stopped with Ctrl-C and exiting 0; run again, it reuses the keyring,
 * batch and tokens of the first run and mints and scans nothing new.
 */
#define _GNU_SOURCE	/* asprintf, setenv */
#include <dirent.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "srvutil.h"
#include "testutil.h"

Suite *demo_suite(void);

#define OUT_MAX	(256 * 1024)

struct demo {
	char	out[OUT_MAX];	/* what the terminal showed */
	size_t	len;
	int	status;		/* make's wait status */
};

/* Reads the terminal until want shows (want NULL: until it closes). */
static int
read_until(int fd, struct demo *d, const char *want, int secs)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	time_t end = time(NULL) + secs;
	ssize_t n;

	while (time(NULL) < end) {
		if (want != NULL && strstr(d->out, want) != NULL)
			return 1;
		if (poll(&pfd, 1, 200) != 1)
			continue;
		n = read(fd, d->out + d->len, OUT_MAX - 1 - d->len);
		if (n <= 0)
			return want == NULL;	/* EIO: the terminal closed */
		d->len += (size_t)n;
		d->out[d->len] = '\0';
	}
	return 0;
}

/* make demo in dir on a new terminal; Ctrl-C once it serves. */
static void
run_demo(const char *dir, struct demo *d)
{
	const char *make = getenv("YIMA_MAKE");
	char *cmd, *at;
	struct http_resp p;
	int fd, port, i, saved = E.port;
	pid_t pid;

	ck_assert_msg(make != NULL, "YIMA_MAKE unset (make check)");
	ck_assert(asprintf(&cmd, "exec env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "
	    "DEMO_DIR=%s LISTEN=127.0.0.1:0 %s demo", dir, make) > 0);
	memset(d, 0, sizeof(*d));
	ck_assert_int_ge(pid = forkpty(&fd, NULL, NULL, NULL), 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	free(cmd);
	if (!read_until(fd, d, "Ctrl-C stops it", 180)) {
		kill(pid, SIGKILL);
		ck_abort_msg("make demo did not start:\n%s", d->out);
	}
	/* The instructions name the port it serves on. */
	read_until(fd, d, "=====\r\n", 10);
	at = strstr(d->out, "running at http://127.0.0.1:");
	ck_assert_ptr_nonnull(at);
	port = atoi(at + strlen("running at http://127.0.0.1:"));
	ck_assert_int_gt(port, 0);
	E.port = port;
	ck_assert_int_eq(get("/dashboard", NULL, &p), 200);
	http_free(&p);
	E.port = saved;
	/* Ctrl-C, as a person types it. */
	usleep(200000);
	ck_assert_int_eq(write(fd, "\003", 1), 1);
	read_until(fd, d, NULL, 30);
	for (i = 0; i < 300 && waitpid(pid, &d->status, WNOHANG) != pid; i++)
		usleep(100000);
	if (i == 300) {
		kill(pid, SIGKILL);
		waitpid(pid, &d->status, 0);
		ck_abort_msg("make demo did not stop on Ctrl-C:\n%s", d->out);
	}
	close(fd);
}

/* The token printed after label (up to the line's end). */
static void
printed(const char *out, const char *label, char *tok, size_t len)
{
	const char *p = strstr(out, label);
	size_t n;

	ck_assert_msg(p != NULL, "no %s in:\n%s", label, out);
	p += strlen(label);
	p += strspn(p, " ");
	n = strcspn(p, "\r\n");
	ck_assert_uint_lt(n, len);
	memcpy(tok, p, n);
	tok[n] = '\0';
}

START_TEST(test_demo_twice)
{
	static struct demo d1, d2;
	char *dir = tu_mkdtemp(), *log, *text, a1[128], a2[128];
	char k1[128], k2[128];
	struct dirent *e;
	DIR *dp;
	int batches = 0;

	run_demo(dir, &d1);
	ck_assert_msg(WIFEXITED(d1.status) && WEXITSTATUS(d1.status) == 0,
	    "make demo: status %d after Ctrl-C:\n%s", d1.status, d1.out);
	ck_assert_ptr_nonnull(strstr(d1.out, "minting 24 item codes"));
	ck_assert_ptr_nonnull(strstr(d1.out, "a distributor in Shanghai"));
	/* The service's log went to its file, not amid the instructions. */
	ck_assert_ptr_null(strstr(d1.out, "\"event\":\"start\""));
	log = tu_path(dir, "scanapi.log");
	text = tu_read_file(log, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "\"event\":\"stop\",\"message\":"
	    "\"SIGINT\""));
	free(text);
	ck_assert_ptr_nonnull(strstr(d1.out, log));
	ck_assert_ptr_nonnull(strstr(d1.out, "LISTEN=0.0.0.0:8080"));
	ck_assert_ptr_nonnull(strstr(d1.out, "DEMO_DOMAIN="));
	ck_assert_ptr_null(strstr(d1.out, "make: ***"));
	printed(d1.out, "   admin ", a1, sizeof(a1));
	printed(d1.out, "   distributor ", k1, sizeof(k1));

	run_demo(dir, &d2);
	ck_assert_msg(WIFEXITED(d2.status) && WEXITSTATUS(d2.status) == 0,
	    "second make demo: status %d:\n%s", d2.status, d2.out);
	ck_assert_ptr_nonnull(strstr(d2.out, "the batch of the last run"));
	ck_assert_ptr_null(strstr(d2.out, "minting"));
	ck_assert_ptr_nonnull(strstr(d2.out, "already imported"));
	ck_assert_ptr_null(strstr(d2.out, "a distributor in Shanghai"));
	printed(d2.out, "   admin ", a2, sizeof(a2));
	printed(d2.out, "   distributor ", k2, sizeof(k2));
	ck_assert_str_eq(a1, a2);
	ck_assert_str_eq(k1, k2);
	ck_assert_ptr_nonnull(dp = opendir(dir));
	while ((e = readdir(dp)) != NULL)
		batches += strncmp(e->d_name, "batch-", 6) == 0;
	closedir(dp);
	ck_assert_int_eq(batches, 1);
	free(log);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

Suite *
demo_suite(void)
{
	Suite *s = suite_create("demo");
	TCase *tc = tcase_create("demo");

	tcase_add_test(tc, test_demo_twice);
	tcase_set_timeout(tc, 600);
	suite_add_tcase(s, tc);
	return s;
}
