/* SPDX-License-Identifier: Apache-2.0 */
/* JSON-lines logs: one line per request, never a secret or a full code. */
#ifndef API_LOG_H
#define API_LOG_H

#include <stdint.h>

struct api_log;

/* Opens path for appending, or stderr when path is NULL. */
int api_log_open(const char *path, struct api_log **out);
void api_log_close(struct api_log *lg);
/* Opens path again (after logrotate moved it); 0, or YIMA_EIO and the old
 * file is kept. stderr is left as it is. */
int api_log_reopen(struct api_log *lg, const char *path);
/* One request: route name, status, latency, verdict (may be NULL). */
void api_log_request(struct api_log *lg, const char *method,
    const char *route, int status, uint64_t us, const char *verdict);
/* A server event ("start", "stop", ...) with a message. */
void api_log_event(struct api_log *lg, const char *event, const char *msg);

#endif /* API_LOG_H */
