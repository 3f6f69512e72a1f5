/*
 * gzip content coding of answers (COMPRESS_MIN_BYTES): who asked for it
 * (Accept-Encoding), which answers may have it, and the headers that go with
 * it. The dispatcher calls http_compress_reply() last; the response cache
 * (api/cache.c) uses the parts to keep and serve the gzip form it stored.
 *
 * An answer is compressed when all of these hold: the setting is not 0, the
 * body is in memory (not a streamed file), at least COMPRESS_MIN_BYTES long,
 * of a textual type (JSON, any text type, OpenAPI YAML), the status carries a body
 * (not 1xx, 204 or 304), it is not yet encoded, and it is not marked
 * Cache-Control: no-store (the token endpoints: BREACH, see docs/security.md).
 * Such an answer gets Vary: Accept-Encoding whether or not it was compressed
 * for this client; a compressed one gets Content-Encoding: gzip and its ETag
 * made weak (as Django's GZipMiddleware), so If-None-Match with either form
 * still matches (api/cache.c compares weakly).
 */
#ifndef DEVSEARCH_API_COMPRESS_H
#define DEVSEARCH_API_COMPRESS_H

#include <stddef.h>

#include "api/http.h"

/*
 * 1 if an Accept-Encoding header value accepts gzip: "gzip" (or "x-gzip") with
 * a q above 0, or else "*" with a q above 0. Case-insensitive; a malformed
 * element accepts nothing. value may be NULL (no header: 0).
 */
int http_accepts_gzip(const char *value);

/* 1 if compression is on and the request's Accept-Encoding accepts gzip. */
int http_compress_accepted(const struct http_ctx *ctx);

/* 1 if the answer as it stands now could be sent compressed (the rules above). */
int http_compress_applies(const struct http_ctx *ctx);

/*
 * The gzip form of len bytes at in: 0 with *out (new buffer, caller free()s)
 * and *out_len set, or -1 (logged) with *out NULL.
 */
int http_gzip(const char *in, size_t len, char **out, size_t *out_len);

/*
 * Headers of an answer that could have been compressed: Vary gains
 * Accept-Encoding, and when encoded the ETag (if any) is made weak. Idempotent.
 */
void http_compress_headers(struct http_ctx *ctx, int encoded);

/* Replace the body with gz (stolen, len bytes) and add the headers of a gzip answer. */
void http_compress_set_body(struct http_ctx *ctx, char *gz, size_t len);

/* The dispatcher's last step: compress the answer if it applies and the client accepts gzip. */
void http_compress_reply(struct http_ctx *ctx);

#endif
