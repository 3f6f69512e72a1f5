/*
 * Request ids and the access log (docs/configuration.md, "Logging"): each
 * request gets an id, taken from its X-Request-Id header when that is usable
 * or made up, echoed in the answer's X-Request-Id and written in every log
 * line of the request, the access-log line included.
 */
#ifndef DEVSEARCH_REQUEST_LOG_H
#define DEVSEARCH_REQUEST_LOG_H

#include "core/log.h"

struct http_ctx;

#define REQUEST_ID_HEADER "X-Request-Id"
/* A request id's buffer: LOG_REQUEST_ID_MAX characters and the NUL. */
#define REQUEST_ID_SIZE (LOG_REQUEST_ID_MAX + 1)

/*
 * The id of a request that sent incoming (NULL: no header) into out: incoming
 * itself when it is 1 to LOG_REQUEST_ID_MAX visible ASCII characters
 * (0x21-0x7E), else 32 new random lowercase hex digits.
 */
void request_id_choose(const char *incoming, char out[REQUEST_ID_SIZE]);

/*
 * At the start of a request: choose ctx->request_id, set it on the answer
 * (X-Request-Id), and make it this thread's log request id until
 * request_log_end().
 */
void request_log_begin(struct http_ctx *ctx);

/* At the end: the access-log line (elapsed_ms since the start), then no request id. */
void request_log_end(const struct http_ctx *ctx, double elapsed_ms);

#endif
