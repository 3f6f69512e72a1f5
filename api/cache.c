/*
 * The response cache seen from HTTP; see cache.h. Decides per request; the
 * store itself (core/response_cache.c) knows nothing of requests.
 */
#include "api/cache.h"

#include <stdlib.h>
#include <string.h>

#include "api/compress.h"
#include "core/metrics.h"
#include "core/response_cache.h"

static const char JSON_TYPE[] = "application/json; charset=utf-8";

static int method_is_read(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

static int method_is_write(const char *method)
{
	return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH") ||
	       !strcmp(method, "DELETE");
}

/*
 * 1 if the If-None-Match list names etag (or is "*"). Weak comparison, as RFC
 * 9110 13.1.2 wants for GET: a W/ prefix is ignored. A malformed list matches
 * nothing, so the full answer goes out.
 */
static int etag_listed(const char *list, const char *etag)
{
	size_t etag_len = strlen(etag);
	const char *p = list;

	while (*p) {
		p += strspn(p, " \t,");
		if (!*p)
			break;
		if (*p == '*')
			return 1;
		if (!strncmp(p, "W/", 2))
			p += 2;
		if (*p != '"')
			return 0;
		const char *end = strchr(p + 1, '"');
		if (!end)
			return 0;
		if ((size_t)(end + 1 - p) == etag_len && !strncmp(p, etag, etag_len))
			return 1;
		p = end + 1;
	}
	return 0;
}

/*
 * The answer is a 200 with etag (of the plain body): ETag, and a 304 without
 * a body if the client already has it (in either form). could_encode: the
 * answer qualifies for gzip (Vary); encode: it goes, or would go, out gzip
 * (weak ETag, also on the 304). Returns 1 if it became a 304.
 */
static int reply_validated(struct http_ctx *ctx, const char *etag, int could_encode, int encode)
{
	const char *if_none_match = http_header(ctx, "If-None-Match");
	http_set_header(ctx, "ETag", etag);
	if (could_encode)
		http_compress_headers(ctx, encode);
	if (if_none_match && etag_listed(if_none_match, etag)) {
		ulfius_set_empty_body_response(ctx->resp, 304);
		u_map_remove_from_key(ctx->resp->map_header, "Content-Type");
		return 1;
	}
	return 0;
}

/*
 * Compress the plain body about to be sent and keep the result next to the
 * stored entry, so that no later hit compresses it again. If zlib fails the
 * plain body goes out (with its Vary and weak ETag, which still match).
 */
static void compress_and_keep(struct http_ctx *ctx, const char *key, const char *etag)
{
	char *gz;
	size_t len;
	if (http_gzip(ctx->resp->binary_body, ctx->resp->binary_body_length, &gz, &len))
		return;
	response_cache_put_gzip(ctx->app->cache, key, etag, gz, len);
	http_compress_set_body(ctx, gz, len);
}

int http_cache_serve(struct http_ctx *ctx, struct http_cache_request *cr)
{
	struct response_cache *cache = ctx->app->cache;
	struct cached_response hit;

	memset(cr, 0, sizeof(*cr));
	cr->cacheable = (ctx->route->flags & ROUTE_CACHED) && method_is_read(ctx->req->http_verb);
	cr->shared = cr->cacheable && cache && !http_header(ctx, "Authorization");
	if (!cr->shared)
		return 0;
	/* Before any database read: an answer that overlaps a write is then never stored. */
	cr->generation = response_cache_generation(cache);
	const char *url = ctx->req->http_url ? ctx->req->http_url : ctx->req->url_path;
	/* The answer's absolute links carry the scheme and host the client used: both key it. */
	cr->key = http_absolute_url(ctx, url ? url : "");
	int accepted = http_compress_accepted(ctx);
	if (!response_cache_lookup(cache, cr->key, accepted, &hit)) {
		metrics_count(ctx->app->metrics, METRIC_CACHE_MISSES);
		return 0;
	}
	metrics_count(ctx->app->metrics, METRIC_CACHE_HITS);
	ctx->resp->status = 200;
	http_set_header(ctx, "Content-Type", JSON_TYPE);
	if (hit.gzip) {
		/* Kept because it qualified when stored: sent as it is. */
		if (!reply_validated(ctx, hit.etag, 1, 1)) {
			http_compress_set_body(ctx, hit.body, hit.len);
			hit.body = NULL;
		}
	} else {
		ulfius_set_binary_body_response(ctx->resp, 200, hit.body, hit.len);
		int could_encode = http_compress_applies(ctx);
		if (!reply_validated(ctx, hit.etag, could_encode, could_encode && accepted) &&
		    could_encode && accepted)
			compress_and_keep(ctx, cr->key, hit.etag);
	}
	response_cache_hit_release(&hit);
	ctx->replied = 1;
	cr->hit = 1;
	return 1;
}

void http_cache_complete(struct http_ctx *ctx, struct http_cache_request *cr)
{
	struct _u_response *resp = ctx->resp;
	const char *method = ctx->req->http_verb;
	char etag[RESPONSE_CACHE_ETAG_SIZE];

	if (cr->hit)
		goto out;
	if (cr->cacheable && resp->status == 200) {
		response_cache_etag(resp->binary_body, resp->binary_body_length, etag);
		if (cr->shared)
			response_cache_put(ctx->app->cache, cr->key, cr->generation,
					   resp->binary_body, resp->binary_body_length, etag);
		int could_encode = http_compress_applies(ctx);
		int encode = could_encode && http_compress_accepted(ctx);
		/* Unshared answers are compressed by the dispatcher's last step. */
		if (!reply_validated(ctx, etag, could_encode, encode) && encode && cr->shared)
			compress_and_keep(ctx, cr->key, etag);
	} else if (method_is_write(method) && !(ctx->route->flags & ROUTE_KEEPS_CACHE) &&
		   (resp->status < 400 || resp->status >= 500)) {
		/* Before ulfius sends the answer: the client's next read sees the write. */
		response_cache_invalidate(ctx->app->cache);
	}
out:
	free(cr->key);
	cr->key = NULL;
}
