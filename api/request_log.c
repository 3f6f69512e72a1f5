/*
 * Request ids and the access-log line; see request_log.h. Only the choice of
 * the id and what goes into the line live here; core/log.c formats it.
 */
#include "api/request_log.h"

#include <string.h>

#include "api/http.h"
#include "core/util.h"

/* 16 random bytes: as unlikely to repeat as a UUID v4, and shorter to read. */
#define REQUEST_ID_RANDOM_BYTES 16

/* 1 if text is what we take from a client: 1 to 128 visible ASCII characters. */
static int request_id_is_valid(const char *text)
{
	size_t len = 0;
	for (; text[len]; len++) {
		unsigned char c = (unsigned char)text[len];
		if (len == LOG_REQUEST_ID_MAX || c < 0x21 || c > 0x7E)
			return 0;
	}
	return len > 0;
}

void request_id_choose(const char *incoming, char out[REQUEST_ID_SIZE])
{
	unsigned char random[REQUEST_ID_RANDOM_BYTES];

	if (incoming && request_id_is_valid(incoming)) {
		memcpy(out, incoming, strlen(incoming) + 1);
		return;
	}
	random_bytes(random, sizeof(random));
	hex_encode(random, sizeof(random), out);
}

void request_log_begin(struct http_ctx *ctx)
{
	request_id_choose(http_header(ctx, REQUEST_ID_HEADER), ctx->request_id);
	http_set_header(ctx, REQUEST_ID_HEADER, ctx->request_id);
	log_set_request_id(ctx->request_id);
}

void request_log_end(const struct http_ctx *ctx, double elapsed_ms)
{
	char addr[64];

	http_client_ip(ctx, addr);
	struct log_request line = {
		.method = ctx->req->http_verb,
		.path = ctx->req->url_path ? ctx->req->url_path : "/",
		.status = (long)ctx->resp->status,
		.ms = elapsed_ms,
		.user_id = ctx->user.authenticated ? ctx->user.id : NULL,
		.remote_addr = addr,
	};
	log_request(&line);
	log_set_request_id(NULL);
}
