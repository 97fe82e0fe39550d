/* SPDX-License-Identifier: Apache-2.0 */
/* The limit for make bench-scan: a bare libmicrohttpd handler, configured
 * as yima-scanapi is (epoll, internal thread pool), that reads the body
 * and answers a small JSON object. Usage: bench_hello PORT THREADS */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

static const char answer[] = "{\"verdict\":\"genuine\",\"scan_id\":1}";

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	static int marker;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	if (*con_cls == NULL) {
		/* Answer on a later call, or MHD closes the connection. */
		*con_cls = &marker;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(sizeof(answer) - 1,
	    (void *)(uintptr_t)answer, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *di;
	sigset_t s;
	int sig;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_hello PORT THREADS\n");
		return 2;
	}
	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_TURBO,
	    (uint16_t)atoi(argv[1]), NULL, NULL, on_request, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)atoi(argv[2]),
	    MHD_OPTION_CONNECTION_LIMIT, 1024U, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bench_hello: cannot listen\n");
		return 1;
	}
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	fprintf(stderr, "bench_hello: listening (port %u)\n",
	    di ? di->port : 0);
	sigwait(&s, &sig);
	MHD_stop_daemon(d);
	return 0;
}
